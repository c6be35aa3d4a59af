#!/usr/bin/env python3
"""Secrets Manager resource policies through the real `aws secretsmanager` CLI (v2): a policy put
on a secret grants a user who has no identity policy, an explicit Deny in it beats another user's
identity Allow, deleting it takes effect on the very next call, malformed or public policies are
refused, and a policy naming a role lets that role's sessions (`aws sts assume-role`) read. Users
and keys come from `aws iam` (the dev admin bypasses policies, so it is only used to set things
up). No canary value appears in the server log.

Usage: e2e_sm_resource_policy.py --coffer build/coffer
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

ACCT = "000000000000"
SECRET = "shared/db"


def policy(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def user_arn(name):
    return f"arn:aws:iam::{ACCT}:user/{name}"


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test drives Coffer's IAM users")
    if not os.access(h.AWS_V2, os.X_OK):
        h.skip(f"{h.AWS_V2} (awscli v2) is not installed")
    t = h.CofferServer(args.coffer).start()
    canary = h.new_canary()
    try:
        aws = t.aws
        # reader: no identity policy at all. writer: may do anything in Secrets Manager.
        for user in ("reader", "writer"):
            ck.cli_ok(aws(["iam", "create-user", "--user-name", user]), f"create-user {user}")
        ck.cli_ok(aws(["iam", "put-user-policy", "--user-name", "writer", "--policy-name", "sm",
                       "--policy-document", policy({"Effect": "Allow", "Action": "secretsmanager:*",
                                                    "Resource": "*"})]),
                  "put-user-policy writer")
        env = {}
        for user in ("reader", "writer"):
            r = aws(["iam", "create-access-key", "--user-name", user])
            ck.cli_ok(r, f"create-access-key {user}")
            k = json.loads(r.out)["AccessKey"]
            env[user] = t.env(k["AccessKeyId"], k["SecretAccessKey"])

        r = aws(["secretsmanager", "create-secret", "--name", SECRET, "--secret-string", canary])
        ck.cli_ok(r, "admin create-secret")
        get = ["secretsmanager", "get-secret-value", "--secret-id", SECRET]
        r = aws(get, env=env["reader"])
        ck.cli_error(r, "AccessDeniedException", "GetSecretValue",
                     "reader without any policy is denied")

        # --- a resource policy naming the reader grants it ---------------------------------
        grant = policy({"Sid": "ReaderReads", "Effect": "Allow",
                        "Principal": {"AWS": user_arn("reader")},
                        "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
        r = aws(["secretsmanager", "put-resource-policy", "--secret-id", SECRET,
                 "--resource-policy", grant])
        ck.cli_ok(r, "put-resource-policy")
        if r.rc == 0:
            out = json.loads(r.out)
            ck.eq(sorted(out), ["ARN", "Name"], "put-resource-policy answers ARN and Name")
            ck.eq(out["Name"], SECRET, "put-resource-policy names the secret")
        r = aws(["secretsmanager", "get-resource-policy", "--secret-id", SECRET])
        ck.cli_ok(r, "get-resource-policy")
        if r.rc == 0:
            ck.eq(json.loads(json.loads(r.out)["ResourcePolicy"]), json.loads(grant),
                  "get-resource-policy returns the document")
        r = aws(get, env=env["reader"])
        ck.cli_ok(r, "reader reads the secret through the resource policy")
        if r.rc == 0:
            ck.secret_eq(json.loads(r.out)["SecretString"], canary, "reader gets the value")
        r = aws(["secretsmanager", "describe-secret", "--secret-id", SECRET], env=env["reader"])
        ck.cli_error(r, "AccessDeniedException", "DescribeSecret",
                     "the policy grants only the action it names")

        # --- an explicit Deny in it beats the writer's identity Allow ----------------------
        r = aws(get, env=env["writer"])
        ck.cli_ok(r, "writer reads through its identity policy")
        deny = policy(json.loads(grant)["Statement"][0],
                      {"Sid": "NoWriter", "Effect": "Deny",
                       "Principal": {"AWS": user_arn("writer")},
                       "Action": "secretsmanager:*", "Resource": "*"})
        ck.cli_ok(aws(["secretsmanager", "put-resource-policy", "--secret-id", SECRET,
                       "--resource-policy", deny]), "put-resource-policy with a Deny")
        r = aws(get, env=env["writer"])
        ck.cli_error(r, "AccessDeniedException", "GetSecretValue",
                     "resource policy Deny beats the identity Allow")
        ck.true("explicit deny in a resource-based policy" in r.err,
                "the message names the resource-based policy", r.err.strip()[:300])
        r = aws(["secretsmanager", "delete-resource-policy", "--secret-id", SECRET],
                env=env["writer"])
        ck.cli_error(r, "AccessDeniedException", "DeleteResourcePolicy",
                     "the denied writer cannot remove the policy either")

        # --- deleting the policy takes effect at once --------------------------------------
        r = aws(["secretsmanager", "delete-resource-policy", "--secret-id", SECRET])
        ck.cli_ok(r, "delete-resource-policy")
        r = aws(get, env=env["reader"])
        ck.cli_error(r, "AccessDeniedException", "GetSecretValue",
                     "reader is denied right after the delete")
        r = aws(get, env=env["writer"])
        ck.cli_ok(r, "writer reads again right after the delete")
        r = aws(["secretsmanager", "get-resource-policy", "--secret-id", SECRET])
        ck.cli_ok(r, "get-resource-policy without a policy")
        if r.rc == 0:
            ck.true("ResourcePolicy" not in json.loads(r.out), "no ResourcePolicy member")

        # --- refused documents -------------------------------------------------------------
        r = aws(["secretsmanager", "put-resource-policy", "--secret-id", SECRET,
                 "--resource-policy", "{not json"])
        ck.cli_error(r, "MalformedPolicyDocumentException", "PutResourcePolicy",
                     "malformed JSON refused")
        r = aws(["secretsmanager", "put-resource-policy", "--secret-id", SECRET,
                 "--resource-policy", policy({"Effect": "Allow", "Action": "secretsmanager:*",
                                              "Resource": "*"})])
        ck.cli_error(r, "MalformedPolicyDocumentException", "PutResourcePolicy",
                     "a statement without Principal refused")
        public = policy({"Effect": "Allow", "Principal": "*",
                         "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
        r = aws(["secretsmanager", "put-resource-policy", "--secret-id", SECRET,
                 "--resource-policy", public, "--block-public-policy"])
        ck.cli_error(r, "PublicPolicyException", "PutResourcePolicy",
                     "a public policy refused with --block-public-policy")
        r = aws(get, env=env["reader"])
        ck.cli_error(r, "AccessDeniedException", "GetSecretValue",
                     "refused policies changed nothing")
        r = aws(["secretsmanager", "validate-resource-policy", "--resource-policy", public])
        ck.cli_ok(r, "validate-resource-policy")
        if r.rc == 0:
            ck.eq(json.loads(r.out)["PolicyValidationPassed"], False,
                  "validation flags the public policy")

        # --- a role named in the policy: its sessions may read ------------------------------
        trust = policy({"Effect": "Allow", "Principal": {"AWS": user_arn("writer")},
                        "Action": "sts:AssumeRole"})
        ck.cli_ok(aws(["iam", "create-role", "--role-name", "app",
                       "--assume-role-policy-document", trust]), "create-role app")
        r = aws(["sts", "assume-role", "--role-arn", f"arn:aws:iam::{ACCT}:role/app",
                 "--role-session-name", "run-1"], env=env["writer"])
        ck.cli_ok(r, "writer assumes the role")
        if r.rc == 0:
            c = json.loads(r.out)["Credentials"]
            session = t.env(c["AccessKeyId"], c["SecretAccessKey"])
            with open(session["AWS_SHARED_CREDENTIALS_FILE"], "a") as f:
                f.write(f"aws_session_token = {c['SessionToken']}\n")
            by_role = policy({"Effect": "Allow",
                              "Principal": {"AWS": f"arn:aws:iam::{ACCT}:role/app"},
                              "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
            ck.cli_ok(aws(["secretsmanager", "put-resource-policy", "--secret-id", SECRET,
                           "--resource-policy", by_role]), "put-resource-policy naming the role")
            r = aws(get, env=session)
            ck.cli_ok(r, "a session of the named role reads the secret")
            if r.rc == 0:
                ck.secret_eq(json.loads(r.out)["SecretString"], canary,
                             "the session gets the value")
            r = aws(["secretsmanager", "describe-secret", "--secret-id", SECRET], env=session)
            ck.cli_error(r, "AccessDeniedException", "DescribeSecret",
                         "the role has no identity policy for other actions")
        t.stop()
        t.assert_no_canary_in_logs(ck, [canary])
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_sm_resource_policy", body))
