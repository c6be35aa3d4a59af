#!/usr/bin/env python3
"""IAM users and policies managed with the real `aws iam` CLI decide what a caller may do,
and every request lands in the hash-chained audit log that `coffer audit verify` checks.

Drives /usr/bin/aws (v2) against a dev server: creates two users (teams) with inline and
managed policies, checks allows, implicit denies, an explicit deny over an allow, list
filtering in get-parameters-by-path, then Secrets Manager and KMS round trips; finally verifies
the audit chain, edits one line and deletes another and checks that `coffer audit verify`
names the first bad record. No canary value appears in the server log or the audit log.

Usage: e2e_iam_policy_audit.py --coffer build/coffer
"""

import json
import os
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

ACCT = "000000000000"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test inspects Coffer's audit log")
    t = h.CofferServer(args.coffer).start()
    canary = h.new_canary()
    try:
        aws = t.aws
        # --- identities and policies through the real IAM CLI ---------------------------
        for user in ("alice", "bob"):
            r = aws(["iam", "create-user", "--user-name", user])
            ck.cli_ok(r, f"create-user {user}")
        r = aws(["iam", "create-group", "--group-name", "payments"])
        ck.cli_ok(r, "create-group payments")
        r = aws(["iam", "add-user-to-group", "--group-name", "payments", "--user-name", "alice"])
        ck.cli_ok(r, "add alice to payments")
        team = policy(
            {"Sid": "TeamPath", "Effect": "Allow", "Action": "ssm:*",
             "Resource": f"arn:aws:ssm:*:{ACCT}:parameter/payments/*"},
            {"Sid": "NoProdWrites", "Effect": "Deny", "Action": "ssm:PutParameter",
             "Resource": f"arn:aws:ssm:*:{ACCT}:parameter/payments/prod/*"})
        r = aws(["iam", "create-policy", "--policy-name", "payments-team",
                 "--policy-document", team])
        ck.cli_ok(r, "create-policy")
        policy_arn = json.loads(r.out)["Policy"]["Arn"] if r.rc == 0 else ""
        r = aws(["iam", "attach-group-policy", "--group-name", "payments",
                 "--policy-arn", policy_arn])
        ck.cli_ok(r, "attach-group-policy")
        r = aws(["iam", "put-user-policy", "--user-name", "bob", "--policy-name", "read-public",
                 "--policy-document", policy(
                     {"Effect": "Allow", "Action": ["ssm:GetParameter", "ssm:GetParametersByPath"],
                      # the path itself (for GetParametersByPath) and what is under it
                      "Resource": [f"arn:aws:ssm:*:{ACCT}:parameter/public",
                                   f"arn:aws:ssm:*:{ACCT}:parameter/public/*"]})])
        ck.cli_ok(r, "put-user-policy bob")
        r = aws(["iam", "get-user-policy", "--user-name", "bob", "--policy-name", "read-public"])
        ck.cli_ok(r, "get-user-policy returns the document")
        if r.rc == 0:
            doc = json.loads(r.out)["PolicyDocument"]
            ck.eq(doc["Statement"][0]["Effect"], "Allow", "policy document round-trips")
        r = aws(["iam", "put-user-policy", "--user-name", "bob", "--policy-name", "bad",
                 "--policy-document", "{not json"])
        ck.cli_error(r, "MalformedPolicyDocument", "PutUserPolicy", "malformed policy refused")

        keys = {}
        for user in ("alice", "bob"):
            r = aws(["iam", "create-access-key", "--user-name", user])
            ck.cli_ok(r, f"create-access-key {user}")
            k = json.loads(r.out)["AccessKey"]
            keys[user] = t.env(k["AccessKeyId"], k["SecretAccessKey"])

        # --- the admin seeds parameters ------------------------------------------------
        for name, value in (("/payments/dev/db", canary), ("/payments/prod/db", "p"),
                            ("/public/motd", "hello"), ("/other/x", "y")):
            ck.cli_ok(aws(["ssm", "put-parameter", "--name", name, "--type", "SecureString",
                           "--value", value]), f"admin put {name}")

        # --- alice: team path allowed, prod writes explicitly denied -------------------
        a = keys["alice"]
        r = aws(["ssm", "get-parameter", "--name", "/payments/dev/db", "--with-decryption"], env=a)
        ck.cli_ok(r, "alice reads her team's parameter")
        r = aws(["ssm", "put-parameter", "--name", "/payments/dev/new", "--type", "String",
                 "--value", "v"], env=a)
        ck.cli_ok(r, "alice writes her team's dev path")
        r = aws(["ssm", "put-parameter", "--name", "/payments/prod/db", "--value", "x",
                 "--overwrite"], env=a)
        ck.cli_error(r, "AccessDeniedException", "PutParameter", "explicit deny beats allow")
        ck.true("explicit deny" in r.err, "message names the explicit deny", r.err)
        r = aws(["ssm", "get-parameter", "--name", "/other/x"], env=a)
        ck.cli_error(r, "AccessDeniedException", "GetParameter", "alice denied outside her path")
        # --- bob: inline read-only policy, list filtered ------------------------------
        b = keys["bob"]
        r = aws(["ssm", "get-parameter", "--name", "/public/motd"], env=b)
        ck.cli_ok(r, "bob reads /public")
        r = aws(["ssm", "get-parameter", "--name", "/payments/dev/db"], env=b)
        ck.cli_error(r, "AccessDeniedException", "GetParameter", "bob denied /payments")
        r = aws(["ssm", "get-parameters-by-path", "--path", "/", "--recursive"], env=b)
        ck.cli_error(r, "AccessDeniedException", "GetParametersByPath",
                     "bob may not list the root path")
        r = aws(["ssm", "get-parameters-by-path", "--path", "/public", "--recursive"], env=b)
        ck.cli_ok(r, "bob lists /public")
        if r.rc == 0:
            names = [p["Name"] for p in json.loads(r.out)["Parameters"]]
            ck.eq(names, ["/public/motd"], "bob's listing holds only what he may read")
        r = aws(["ssm", "put-parameter", "--name", "/public/new", "--type", "String",
                 "--value", "v"], env=b)
        ck.cli_error(r, "AccessDeniedException", "PutParameter", "bob has no write")
        r = aws(["iam", "create-user", "--user-name", "mallory"], env=b)
        ck.cli_error(r, "AccessDenied", "CreateUser", "bob may not manage IAM")

        # --- Secrets Manager and KMS through the same endpoint ---------------------
        r = aws(["secretsmanager", "create-secret", "--name", "payments/db",
                 "--secret-string", canary])
        ck.cli_ok(r, "create-secret")
        r = aws(["secretsmanager", "put-secret-value", "--secret-id", "payments/db",
                 "--secret-string", "second"])
        ck.cli_ok(r, "put-secret-value")
        r = aws(["secretsmanager", "get-secret-value", "--secret-id", "payments/db",
                 "--version-stage", "AWSPREVIOUS"])
        ck.cli_ok(r, "get-secret-value AWSPREVIOUS")
        if r.rc == 0:
            ck.secret_eq(json.loads(r.out)["SecretString"], canary, "AWSPREVIOUS is the first")
        r = aws(["secretsmanager", "get-secret-value", "--secret-id", "payments/db"], env=b)
        ck.cli_error(r, "AccessDeniedException", "GetSecretValue", "bob denied the secret")
        r = aws(["kms", "create-key", "--description", "e2e"])
        ck.cli_ok(r, "kms create-key")
        key_id = json.loads(r.out)["KeyMetadata"]["KeyId"] if r.rc == 0 else ""
        pt = os.path.join(t.work, "pt.bin")
        with open(pt, "wb") as f:
            f.write(b"hello")
        r = aws(["kms", "encrypt", "--key-id", key_id, "--plaintext", f"fileb://{pt}",
                 "--encryption-context", "app=e2e", "--query", "CiphertextBlob",
                 "--output", "text"])
        ck.cli_ok(r, "kms encrypt")
        ct = os.path.join(t.work, "ct.bin")
        import base64
        with open(ct, "wb") as f:
            f.write(base64.b64decode(r.out.strip() or "AA=="))
        r = aws(["kms", "decrypt", "--ciphertext-blob", f"fileb://{ct}",
                 "--encryption-context", "app=e2e"])
        ck.cli_ok(r, "kms decrypt with the context")
        if r.rc == 0:
            ck.eq(base64.b64decode(json.loads(r.out)["Plaintext"]), b"hello", "round trip")
        r = aws(["kms", "decrypt", "--ciphertext-blob", f"fileb://{ct}"])
        ck.cli_error(r, "InvalidCiphertextException", "Decrypt", "missing context refused")

        # --- audit --------------------------------------------------------------------
        t.stop()
        log_path = os.path.join(t.data_dir, "audit.log")
        with open(log_path) as f:
            lines = f.read().splitlines()
        ck.true(len(lines) >= 30, "every request produced an audit record", str(len(lines)))
        recs = [json.loads(x) for x in lines]
        ck.true(any(r["decision"] == "explicit-deny" and "TeamPath" not in r["decided_by"]
                    and r["operation"] == "PutParameter" for r in recs),
                "the explicit deny is recorded with its statement")
        ck.true(any(r["api"] == "iam" and r["operation"] == "CreateUser" for r in recs),
                "IAM calls are audited")
        with open(log_path, "rb") as f:
            ck.true(canary.encode() not in f.read(), "no secret value in the audit log")
        verify = [args.coffer, "audit", "verify", "--data-dir", t.data_dir]
        p = subprocess.run(verify, capture_output=True, text=True)
        ck.eq(p.returncode, 0, "audit verify passes on the untouched log")
        edited = list(lines)
        edited[4] = edited[4].replace('"status":200', '"status":201', 1)
        if edited[4] == lines[4]:
            edited[4] = edited[4].replace('"api":"', '"api":"x', 1)
        with open(log_path, "w") as f:
            f.write("\n".join(edited) + "\n")
        p = subprocess.run(verify, capture_output=True, text=True)
        ck.true(p.returncode != 0 and "line 5" in p.stdout, "an edited record is named",
                p.stdout)
        deleted = lines[:7] + lines[8:]
        with open(log_path, "w") as f:
            f.write("\n".join(deleted) + "\n")
        p = subprocess.run(verify, capture_output=True, text=True)
        ck.true(p.returncode != 0 and "line 8" in p.stdout, "a deleted record is detected",
                p.stdout)
        # The newest records removed: the chain that is left is valid by itself, the head
        # file beside the log names the first missing record, and the server will not start.
        with open(log_path, "w") as f:
            f.write("\n".join(lines[:-2]) + "\n")
        p = subprocess.run(verify, capture_output=True, text=True)
        ck.true(p.returncode != 0 and f"record {len(lines) - 1} " in p.stdout
                and "missing" in p.stdout, "removing the newest records is detected", p.stdout)
        restarted = subprocess.run([args.coffer, "server", "--dev", "--data-dir", t.data_dir,
                                    "--listen", "127.0.0.1:0"],
                                   capture_output=True, text=True, timeout=30)
        ck.true(restarted.returncode != 0 and "records were removed" in restarted.stderr,
                "the server refuses to continue a log that lost its newest records",
                restarted.stderr[-300:])
        t.assert_no_canary_in_logs(ck, [canary])
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_iam_policy_audit", body))
