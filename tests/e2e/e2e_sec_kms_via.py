#!/usr/bin/env python3
"""KMS permissions behind SSM and Secrets Manager (issue 9 item 2), as the attack, with boto3.

Users and keys come from the real `aws iam` CLI (/usr/bin/aws); the attacks are boto3 calls
signed with those users' keys. The dev admin (which bypasses policies) only sets things up.

  reader    ssm:GetParameter(s)/ByPath/History, secretsmanager:GetSecretValue/BatchGet and the
            writes, with an explicit Deny on kms:*: a SecureString / secret under a customer
            managed key is refused (AccessDeniedException naming kms:Decrypt and the key ARN),
            under aws/ssm and aws/secretsmanager it reads; writes under the customer key
            (PutParameter -> kms:Encrypt, PutSecretValue -> kms:GenerateDataKey) are refused
            and change nothing.
  via       kms:Decrypt only with kms:ViaService ssm.us-east-1.amazonaws.com: reads through SSM,
            is refused through Secrets Manager and on a direct KMS Decrypt.
  tagged    everything allowed except kms:Decrypt on keys tagged env=prod (aws:ResourceTag):
            refused through SSM, Secrets Manager and direct KMS; after KMS UntagResource
            (which ListResourceTags confirms) all three read.

The audit record of a refused read names the deny. No canary value appears in the server log.

Usage: e2e_sec_kms_via.py --coffer build/coffer   (pyenv python3: boto3 with BatchGetSecretValue)
"""

import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

ACCT = "000000000000"
REGION = "us-east-1"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


SERVICE_ACTIONS = ["ssm:GetParameter", "ssm:GetParameters", "ssm:GetParametersByPath",
                   "ssm:GetParameterHistory", "ssm:PutParameter",
                   "secretsmanager:GetSecretValue", "secretsmanager:BatchGetSecretValue",
                   "secretsmanager:PutSecretValue"]
POLICIES = {
    "reader": doc({"Effect": "Allow", "Action": SERVICE_ACTIONS, "Resource": "*"},
                  {"Effect": "Deny", "Action": "kms:*", "Resource": "*"}),
    "via": doc({"Effect": "Allow", "Action": SERVICE_ACTIONS, "Resource": "*"},
               {"Effect": "Allow", "Action": "kms:Decrypt", "Resource": "*",
                "Condition": {"StringEquals": {
                    "kms:ViaService": f"ssm.{REGION}.amazonaws.com"}}}),
    "tagged": doc({"Effect": "Allow", "Action": ["ssm:*", "secretsmanager:*", "kms:*"],
                   "Resource": "*"},
                  {"Effect": "Deny", "Action": "kms:Decrypt", "Resource": "*",
                   "Condition": {"StringEquals": {"aws:ResourceTag/env": "prod"}}}),
}


error_of = h.error_of


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test drives Coffer's IAM users")
    if not os.access(h.AWS_V2, os.X_OK):
        h.skip(f"{h.AWS_V2} (awscli v2) is not installed")
    t = h.CofferServer(args.coffer).start()
    canary = h.new_canary()
    try:
        clients = {}
        for user, policy in POLICIES.items():
            key_id, secret_key = h.create_user_with_policy(t, ck, user, policy)
            clients[user] = {s: t.boto3_client(s, access_key=key_id, secret_key=secret_key,
                                               max_attempts=1)
                             for s in ("ssm", "secretsmanager", "kms")}

        admin_kms = t.boto3_client("kms")
        admin_ssm = t.boto3_client("ssm")
        admin_sm = t.boto3_client("secretsmanager")
        cmk = admin_kms.create_key(Description="app",
                                   Tags=[{"TagKey": "team", "TagValue": "app"}])["KeyMetadata"]
        key_arn = cmk["Arn"]
        tagged = admin_kms.create_key(Description="prod",
                                      Tags=[{"TagKey": "env", "TagValue": "prod"}])["KeyMetadata"]
        tagged_arn = tagged["Arn"]
        for name, key in (("/app/cmk", key_arn), ("/app/prod", tagged_arn), ("/app/default", None)):
            kw = {"KeyId": key} if key else {}
            admin_ssm.put_parameter(Name=name, Value=canary, Type="SecureString", **kw)
        for name, key in (("app/cmk", key_arn), ("app/prod", tagged_arn), ("app/default", None)):
            kw = {"KmsKeyId": key} if key else {}
            admin_sm.create_secret(Name=name, SecretString=canary, **kw)
        blob = admin_kms.encrypt(KeyId=tagged_arn, Plaintext=b"x")["CiphertextBlob"]

        # --- reader: Deny kms:* --------------------------------------------------------------
        ssm, sm = clients["reader"]["ssm"], clients["reader"]["secretsmanager"]
        code, msg = error_of(ssm.get_parameter, Name="/app/cmk", WithDecryption=True)
        ck.eq(code, "AccessDeniedException", "reader: GetParameter under a CMK is refused")
        ck.true(code is not None and "kms:Decrypt" in msg and key_arn in msg,
                "the refusal names kms:Decrypt and the key ARN", str(msg)[:300])
        ck.true(canary not in str(msg), "the refusal carries no value")
        for op, kw in (("GetParameters", {"Names": ["/app/cmk", "/app/default"]}),
                       ("GetParametersByPath", {"Path": "/app"}),
                       ("GetParameterHistory", {"Name": "/app/cmk"})):
            fn = getattr(ssm, h_snake(op))
            code, _ = error_of(fn, WithDecryption=True, **kw)
            ck.eq(code, "AccessDeniedException", f"reader: {op} WithDecryption under a CMK refused")
        code, res = error_of(ssm.get_parameter, Name="/app/cmk")
        ck.true(code is None and res["Parameter"]["Value"] != canary,
                "reader: GetParameter without decryption returns the ciphertext")
        code, res = error_of(ssm.get_parameter, Name="/app/default", WithDecryption=True)
        ck.true(code is None, "reader: GetParameter under aws/ssm is allowed", str(code))
        if code is None:
            ck.secret_eq(res["Parameter"]["Value"], canary, "reader gets the aws/ssm value")
        code, msg = error_of(sm.get_secret_value, SecretId="app/cmk")
        ck.eq(code, "AccessDeniedException", "reader: GetSecretValue under a CMK is refused")
        ck.true(code is not None and "Access to KMS is not allowed" in msg and key_arn in msg,
                "Secrets Manager's refusal words it as AWS does", str(msg)[:300])
        code, res = error_of(sm.batch_get_secret_value, SecretIdList=["app/cmk", "app/default"])
        ck.true(code is None, "reader: BatchGetSecretValue answers", str(code))
        if code is None:
            ck.eq([v["Name"] for v in res["SecretValues"]], ["app/default"],
                  "BatchGetSecretValue returns only the aws/secretsmanager value")
            ck.eq([e["ErrorCode"] for e in res["Errors"]], ["AccessDeniedException"],
                  "BatchGetSecretValue reports the CMK secret as AccessDenied")
        code, res = error_of(sm.get_secret_value, SecretId="app/default")
        ck.true(code is None, "reader: GetSecretValue under aws/secretsmanager allowed", str(code))
        # Writes under the CMK.
        code, msg = error_of(ssm.put_parameter, Name="/app/cmk", Value="overwritten",
                             Type="SecureString", Overwrite=True)
        ck.eq(code, "AccessDeniedException", "reader: PutParameter under a CMK refused")
        ck.true(code is not None and "kms:Encrypt" in msg, "the refusal names kms:Encrypt",
                str(msg)[:300])
        code, msg = error_of(ssm.put_parameter, Name="/app/new", Value="v", Type="SecureString",
                             KeyId=key_arn)
        ck.eq(code, "AccessDeniedException", "reader: PutParameter naming a CMK refused")
        ck.eq(admin_ssm.get_parameter(Name="/app/cmk")["Parameter"]["Version"], 1,
              "the refused overwrite changed nothing")
        code, _ = error_of(admin_ssm.get_parameter, Name="/app/new")
        ck.eq(code, "ParameterNotFound", "the refused create wrote nothing")
        code, msg = error_of(sm.put_secret_value, SecretId="app/cmk", SecretString="overwritten")
        ck.eq(code, "AccessDeniedException", "reader: PutSecretValue under a CMK refused")
        ck.true(code is not None and "kms:GenerateDataKey" in msg,
                "the refusal names kms:GenerateDataKey", str(msg)[:300])
        versions = admin_sm.list_secret_version_ids(SecretId="app/cmk")["Versions"]
        ck.eq(len(versions), 1, "the refused PutSecretValue added no version")
        code, _ = error_of(ssm.put_parameter, Name="/app/default", Value="v2", Type="SecureString",
                           Overwrite=True)
        ck.true(code is None, "reader: PutParameter under aws/ssm allowed", str(code))
        code, _ = error_of(sm.put_secret_value, SecretId="app/default", SecretString="v2")
        ck.true(code is None, "reader: PutSecretValue under aws/secretsmanager allowed", str(code))

        # --- via: kms:Decrypt only through SSM ------------------------------------------------
        via = clients["via"]
        code, res = error_of(via["ssm"].get_parameter, Name="/app/cmk", WithDecryption=True)
        ck.true(code is None, "via: GetParameter under the CMK through SSM allowed", str(code))
        if code is None:
            ck.secret_eq(res["Parameter"]["Value"], canary, "via gets the value")
        code, _ = error_of(via["secretsmanager"].get_secret_value, SecretId="app/cmk")
        ck.eq(code, "AccessDeniedException", "via: the SSM-only grant does not reach Secrets Manager")
        direct = admin_kms.encrypt(KeyId=key_arn, Plaintext=b"y")["CiphertextBlob"]
        code, _ = error_of(via["kms"].decrypt, CiphertextBlob=direct)
        ck.eq(code, "AccessDeniedException", "via: a direct KMS Decrypt is refused")

        # --- tagged: Deny kms:Decrypt on keys tagged env=prod ----------------------------------
        tg = clients["tagged"]
        code, _ = error_of(tg["ssm"].get_parameter, Name="/app/prod", WithDecryption=True)
        ck.eq(code, "AccessDeniedException", "tagged: SSM read under the env=prod key refused")
        code, _ = error_of(tg["secretsmanager"].get_secret_value, SecretId="app/prod")
        ck.eq(code, "AccessDeniedException", "tagged: SM read under the env=prod key refused")
        code, _ = error_of(tg["kms"].decrypt, CiphertextBlob=blob)
        ck.eq(code, "AccessDeniedException", "tagged: direct Decrypt under the env=prod key refused")
        code, _ = error_of(tg["ssm"].get_parameter, Name="/app/cmk", WithDecryption=True)
        ck.true(code is None, "tagged: a key without the tag reads", str(code))
        tags = admin_kms.list_resource_tags(KeyId=tagged_arn)["Tags"]
        ck.eq(tags, [{"TagKey": "env", "TagValue": "prod"}], "ListResourceTags shows the tag")
        admin_kms.untag_resource(KeyId=tagged_arn, TagKeys=["env"])
        admin_kms.tag_resource(KeyId=tagged_arn, Tags=[{"TagKey": "env", "TagValue": "dev"}])
        ck.eq(admin_kms.list_resource_tags(KeyId=tagged_arn)["Tags"],
              [{"TagKey": "env", "TagValue": "dev"}], "TagResource replaced the tag")
        code, _ = error_of(tg["ssm"].get_parameter, Name="/app/prod", WithDecryption=True)
        ck.true(code is None, "tagged: SSM reads once the key is env=dev", str(code))
        code, _ = error_of(tg["secretsmanager"].get_secret_value, SecretId="app/prod")
        ck.true(code is None, "tagged: SM reads once the key is env=dev", str(code))
        code, res = error_of(tg["kms"].decrypt, CiphertextBlob=blob)
        ck.true(code is None and res["Plaintext"] == b"x",
                "tagged: direct Decrypt works once the key is env=dev", str(code))
        code, _ = error_of(admin_kms.tag_resource, KeyId=tagged_arn,
                           Tags=[{"TagKey": "aws:reserved", "TagValue": "x"}])
        ck.eq(code, "TagException", "a reserved tag key is a TagException")

        t.stop()
        t.assert_no_canary_in_logs(ck, [canary])
        audit = open(os.path.join(t.data_dir, "audit.log"), "rb").read()
        ck.true(canary.encode() not in audit, "canary absent from the audit log")
        ck.true(base64.b64encode(canary.encode()) not in audit,
                "canary (base64) absent from the audit log")
        records = [json.loads(line) for line in audit.decode().splitlines() if line.strip()]
        denied = [r for r in records if r.get("operation") == "GetParameter"
                  and r.get("decision") == "explicit-deny" and r.get("resource") == key_arn]
        ck.true(len(denied) >= 1, "the audit record of the refused read names the deny on the key",
                str([(r.get("operation"), r.get("decision"), r.get("resource"))
                     for r in records if r.get("operation") == "GetParameter"])[:600])
    finally:
        t.cleanup()


def h_snake(op):
    out = ""
    for i, c in enumerate(op):
        if c.isupper() and i:
            out += "_"
        out += c.lower()
    return out


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_sec_kms_via", body))
