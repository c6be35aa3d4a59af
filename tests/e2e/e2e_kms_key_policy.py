#!/usr/bin/env python3
"""KMS key policies and IAM instance profiles (issue 11 items 1 and 3), through /usr/bin/aws and
boto3, as the calls Terraform's aws provider and a restricted caller make.

  key policy ops  get-key-policy (the default key policy, PolicyName default), list-key-policies,
                  put-key-policy, create-key --policy, MalformedPolicyDocumentException.
  matrix          app: an IAM user whose policy allows kms:* ; deployer: a role with no policy.
                  1. a key whose policy does not delegate to the account refuses app's Decrypt;
                  2. a key policy Deny beats app's IAM Allow;
                  3. a key policy naming the role lets the role's session Decrypt;
                  4. put-key-policy that would lock app out is refused (MalformedPolicyDocument)
                     unless --bypass-policy-lockout-safety-check.
                  A direct Encrypt under alias/aws/ssm is refused; SSM still reads through it.
  profiles        create-instance-profile, add-role-to-instance-profile,
                  list-instance-profiles-for-role (empty, then one), delete-role DeleteConflict,
                  remove-role-from-instance-profile, delete-instance-profile, delete-role.

Usage: e2e_kms_key_policy.py --coffer build/coffer
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

ACCT = "000000000000"
ROOT = f"arn:aws:iam::{ACCT}:root"
APP = f"arn:aws:iam::{ACCT}:user/app"
ADMIN = f"arn:aws:iam::{ACCT}:user/admin"
ROLE = f"arn:aws:iam::{ACCT}:role/deployer"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(principal, actions="kms:*", sid=None):
    s = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": actions, "Resource": "*"}
    if sid:
        s["Sid"] = sid
    return s


DEFAULT = json.dumps({"Version": "2012-10-17", "Id": "key-default-1", "Statement": [
    {"Sid": "Enable IAM User Permissions", "Effect": "Allow", "Principal": {"AWS": ROOT},
     "Action": "kms:*", "Resource": "*"}]}, separators=(",", ":"))
NO_DELEGATION = doc(allow(ADMIN), allow(ROLE, ["kms:Decrypt", "kms:DescribeKey"]))
DENY_APP = doc(allow(ROOT), {"Effect": "Deny", "Principal": {"AWS": APP},
                             "Action": "kms:Decrypt", "Resource": "*"})
ROLE_ONLY = doc(allow(ROLE))


error_of = h.error_of


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test drives Coffer's IAM users and key policies")
    if not os.access(h.AWS_V2, os.X_OK):
        h.skip(f"{h.AWS_V2} (awscli v2) is not installed")
    t = h.CofferServer(args.coffer).start()
    canary = h.new_canary()
    try:
        aws = t.aws
        # --- key policy operations through the CLI -----------------------------------------
        r = aws(["kms", "create-key", "--description", "tf"])
        ck.cli_ok(r, "create-key")
        key = json.loads(r.out)["KeyMetadata"]["Arn"]
        r = aws(["kms", "get-key-policy", "--key-id", key, "--policy-name", "default"])
        ck.cli_ok(r, "get-key-policy")
        got = json.loads(r.out) if r.rc == 0 else {}
        ck.eq(got.get("Policy"), DEFAULT, "a key created without a policy has the default policy")
        r = aws(["kms", "list-key-policies", "--key-id", key])
        ck.cli_ok(r, "list-key-policies")
        ck.eq(json.loads(r.out).get("PolicyNames") if r.rc == 0 else None, ["default"],
              "list-key-policies lists default")
        ck.cli_error(aws(["kms", "get-key-policy", "--key-id", key, "--policy-name", "other"]),
                     "NotFoundException", "GetKeyPolicy", "only the policy name default exists")
        ck.cli_error(aws(["kms", "put-key-policy", "--key-id", key, "--policy-name", "default",
                          "--policy", "{not json"]),
                     "MalformedPolicyDocumentException", "PutKeyPolicy", "malformed policy refused")
        ck.cli_ok(aws(["kms", "put-key-policy", "--key-id", key, "--policy-name", "default",
                       "--policy", DENY_APP]), "put-key-policy")
        r = aws(["kms", "get-key-policy", "--key-id", key, "--policy-name", "default"])
        ck.eq(json.loads(r.out).get("Policy") if r.rc == 0 else None, DENY_APP,
              "get-key-policy returns the policy put")
        r = aws(["kms", "create-key", "--policy", NO_DELEGATION])
        ck.cli_ok(r, "create-key --policy")
        closed = json.loads(r.out)["KeyMetadata"]["Arn"] if r.rc == 0 else key

        # --- identities: app (IAM kms:*), deployer role (no policy) ----------------------
        key_id, secret_key = h.create_user_with_policy(
            t, ck, "app",
            doc({"Effect": "Allow", "Action": ["kms:*", "ssm:GetParameter"], "Resource": "*"}))
        k = {"AccessKeyId": key_id, "SecretAccessKey": secret_key}
        app_kms = t.boto3_client("kms", access_key=k["AccessKeyId"],
                                 secret_key=k["SecretAccessKey"], max_attempts=1)
        app_ssm = t.boto3_client("ssm", access_key=k["AccessKeyId"],
                                 secret_key=k["SecretAccessKey"], max_attempts=1)
        trust = json.dumps({"Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Principal": {"AWS": ROOT}, "Action": "sts:AssumeRole"}]})
        ck.cli_ok(aws(["iam", "create-role", "--role-name", "deployer",
                       "--assume-role-policy-document", trust]), "create-role deployer")
        creds = t.boto3_client("sts").assume_role(RoleArn=ROLE, RoleSessionName="e2e")["Credentials"]
        role_kms = t.boto3_client("kms", access_key=creds["AccessKeyId"],
                                  secret_key=creds["SecretAccessKey"],
                                  aws_session_token=creds["SessionToken"], max_attempts=1)

        admin_kms = t.boto3_client("kms")
        closed_blob = admin_kms.encrypt(KeyId=closed, Plaintext=canary.encode())["CiphertextBlob"]
        deny_blob = admin_kms.encrypt(KeyId=key, Plaintext=canary.encode())["CiphertextBlob"]

        # 1. no delegation: IAM's Allow is not enough
        code, msg = error_of(app_kms.decrypt, CiphertextBlob=closed_blob)
        ck.eq(code, "AccessDeniedException", "matrix 1: key policy without delegation refuses app")
        ck.true(code is not None and "kms:Decrypt" in msg and closed in msg,
                "the refusal names kms:Decrypt and the key", str(msg)[:300])
        ck.true(canary not in str(msg), "the refusal carries no value")
        # 2. key policy Deny beats IAM Allow
        code, msg = error_of(app_kms.decrypt, CiphertextBlob=deny_blob)
        ck.eq(code, "AccessDeniedException", "matrix 2: key policy Deny beats the IAM Allow")
        ck.true(code is not None and "resource-based policy" in msg, "named as the key policy's",
                str(msg)[:300])
        code, _ = error_of(app_kms.describe_key, KeyId=key)
        ck.eq(code, None, "what the Deny does not name stays delegated to IAM")
        # 3. key policy names the role: its session decrypts without any IAM policy
        code, res = error_of(role_kms.decrypt, CiphertextBlob=closed_blob)
        ck.eq(code, None, "matrix 3: the role named by the key policy decrypts")
        ck.true(code is None and res["Plaintext"] == canary.encode(), "and gets the plaintext")
        code, _ = error_of(role_kms.decrypt, CiphertextBlob=deny_blob)
        ck.eq(code, "AccessDeniedException", "the role without IAM policy is refused elsewhere")
        # 4. lockout check
        r = aws(["kms", "create-key"], env=t.env(k["AccessKeyId"], k["SecretAccessKey"]))
        ck.cli_ok(r, "app: create-key")
        own = json.loads(r.out)["KeyMetadata"]["Arn"] if r.rc == 0 else key
        app_env = t.env(k["AccessKeyId"], k["SecretAccessKey"])
        r = aws(["kms", "put-key-policy", "--key-id", own, "--policy-name", "default",
                 "--policy", ROLE_ONLY], env=app_env)
        ck.cli_error(r, "MalformedPolicyDocumentException", "PutKeyPolicy",
                     "matrix 4: a policy that locks the caller out is refused")
        ck.true("will not allow you to update the key policy" in r.err, "with AWS's message",
                r.err[:300])
        r = aws(["kms", "get-key-policy", "--key-id", own, "--policy-name", "default"],
                env=app_env)
        ck.eq(json.loads(r.out).get("Policy") if r.rc == 0 else None, DEFAULT,
              "the refused policy changed nothing")
        ck.cli_ok(aws(["kms", "put-key-policy", "--key-id", own, "--policy-name", "default",
                       "--policy", ROLE_ONLY, "--bypass-policy-lockout-safety-check"],
                      env=app_env), "bypass-policy-lockout-safety-check stores it")
        ck.cli_error(aws(["kms", "get-key-policy", "--key-id", own, "--policy-name", "default"],
                         env=app_env),
                     "AccessDeniedException", "GetKeyPolicy", "and app is locked out after it")

        # AWS managed key: no direct use, SSM still reads through it
        code, _ = error_of(app_kms.encrypt, KeyId="alias/aws/ssm", Plaintext=b"x")
        ck.eq(code, "AccessDeniedException", "direct Encrypt under alias/aws/ssm is refused")
        t.boto3_client("ssm").put_parameter(Name="/kp/m", Value=canary, Type="SecureString")
        code, res = error_of(app_ssm.get_parameter, Name="/kp/m", WithDecryption=True)
        ck.eq(code, None, "SSM reads through alias/aws/ssm")
        if code is None:
            ck.secret_eq(res["Parameter"]["Value"], canary, "the value under alias/aws/ssm")

        # --- instance profiles --------------------------------------------------------------
        r = aws(["iam", "list-instance-profiles-for-role", "--role-name", "deployer"])
        ck.cli_ok(r, "list-instance-profiles-for-role")
        ck.eq(json.loads(r.out).get("InstanceProfiles") if r.rc == 0 else None, [],
              "no instance profiles yet")
        r = aws(["iam", "create-instance-profile", "--instance-profile-name", "web",
                 "--path", "/apps/"])
        ck.cli_ok(r, "create-instance-profile")
        ck.eq(json.loads(r.out)["InstanceProfile"]["Arn"] if r.rc == 0 else None,
              f"arn:aws:iam::{ACCT}:instance-profile/apps/web", "its ARN")
        ck.cli_ok(aws(["iam", "add-role-to-instance-profile", "--instance-profile-name", "web",
                       "--role-name", "deployer"]), "add-role-to-instance-profile")
        r = aws(["iam", "list-instance-profiles-for-role", "--role-name", "deployer"])
        profiles = json.loads(r.out).get("InstanceProfiles", []) if r.rc == 0 else []
        ck.eq([p["InstanceProfileName"] for p in profiles], ["web"], "the role lists its profile")
        ck.eq([x["RoleName"] for p in profiles for x in p.get("Roles", [])], ["deployer"],
              "the profile lists the role")
        r = aws(["iam", "get-instance-profile", "--instance-profile-name", "web"])
        ck.cli_ok(r, "get-instance-profile")
        ck.cli_error(aws(["iam", "delete-role", "--role-name", "deployer"]), "DeleteConflict",
                     "DeleteRole", "delete-role while in a profile is a DeleteConflict")
        ck.cli_error(aws(["iam", "delete-instance-profile", "--instance-profile-name", "web"]),
                     "DeleteConflict", "DeleteInstanceProfile",
                     "delete-instance-profile while it holds a role is a DeleteConflict")
        ck.cli_ok(aws(["iam", "remove-role-from-instance-profile", "--instance-profile-name",
                       "web", "--role-name", "deployer"]), "remove-role-from-instance-profile")
        ck.cli_ok(aws(["iam", "delete-instance-profile", "--instance-profile-name", "web"]),
                  "delete-instance-profile")
        ck.cli_error(aws(["iam", "get-instance-profile", "--instance-profile-name", "web"]),
                     "NoSuchEntity", "GetInstanceProfile", "the profile is gone")
        ck.cli_ok(aws(["iam", "delete-role", "--role-name", "deployer"]), "delete-role")

        t.stop()
        t.assert_no_canary_in_logs(ck, [canary])
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_kms_key_policy", body))
