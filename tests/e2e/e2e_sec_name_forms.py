#!/usr/bin/env python3
"""One way to name a resource (issue 10 item 1), as the attack, with boto3 and awscli v2.

The reported bypass: a user allowed ssm:* but denied it where ssm:ResourceTag/env is prod got
AccessDenied for GetParameter --name /prod/db and the plaintext for --name
arn:aws:ssm:us-east-1:000000000000:parameter/prod/db (the ARN form found no tags).

Users come from the real `aws iam` CLI (/usr/bin/aws); the attacks are boto3 calls signed with
their keys (and a sample through /usr/bin/aws). The dev admin (which bypasses policies) only
sets things up.

  ssmtag   Allow ssm:*, Deny ssm:* where ssm:ResourceTag/env = prod
  ssmawstag Allow ssm:*, Deny ssm:* where aws:ResourceTag/env = prod
  ssmres   Allow ssm:*, Deny ssm:* on arn:aws:ssm:us-east-1:000000000000:parameter/prod/db*
  smtag    Allow secretsmanager:*, Deny where secretsmanager:ResourceTag/env = prod
  smawstag Allow secretsmanager:*, Deny where aws:ResourceTag/env = prod
  smres    Allow secretsmanager:*, Deny on arn:aws:secretsmanager:...:secret:prod/db*
  kmstag   Allow kms:*, Deny kms:* where aws:ResourceTag/env = prod
  kmsres   Allow kms:*, Deny kms:* on the prod key's ARN

Each user tries each name form (SSM: /prod/db, /prod/db:1, /prod/db:blue, the ARN, the ARN with
:2 and :blue; secrets: name, full ARN, partial ARN) on each read and write operation: refused,
and the list operations (GetParametersByPath, DescribeParameters, BatchGetSecretValue by filter,
ListSecrets) leave the resource out. An ARN of another partition or account is not the local
resource. The audit record of the refused ARN read names the canonical ARN. No canary value
appears in the server log or the audit log.

Usage: e2e_sec_name_forms.py --coffer build/coffer   (pyenv python3: boto3 with BatchGetSecretValue)
"""

import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

ACCT = "000000000000"
REGION = "us-east-1"
PARAM_ARN = f"arn:aws:ssm:{REGION}:{ACCT}:parameter/prod/db"
PARTIAL_SECRET_ARN = f"arn:aws:secretsmanager:{REGION}:{ACCT}:secret:prod/db"


def doc(*statements):
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow_deny(service, resource="*", condition=None):
    deny = {"Effect": "Deny", "Action": f"{service}:*", "Resource": resource}
    if condition:
        deny["Condition"] = condition
    return doc({"Effect": "Allow", "Action": f"{service}:*", "Resource": "*"}, deny)


POLICIES = {
    "ssmtag": allow_deny("ssm", condition={"StringEquals": {"ssm:ResourceTag/env": "prod"}}),
    "ssmawstag": allow_deny("ssm", condition={"StringEquals": {"aws:ResourceTag/env": "prod"}}),
    "ssmres": allow_deny("ssm", resource=PARAM_ARN + "*"),
    "smtag": allow_deny("secretsmanager",
                        condition={"StringEquals": {"secretsmanager:ResourceTag/env": "prod"}}),
    "smawstag": allow_deny("secretsmanager",
                           condition={"StringEquals": {"aws:ResourceTag/env": "prod"}}),
    "smres": allow_deny("secretsmanager", resource=PARTIAL_SECRET_ARN + "*"),
    "kmstag": allow_deny("kms", condition={"StringEquals": {"aws:ResourceTag/env": "prod"}}),
    # "kmsres" is added once the key exists (its policy names the key's ARN).
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
        aws = t.aws
        clients, keys = {}, {}
        for user, policy in POLICIES.items():
            key_id, secret_key = h.create_user_with_policy(t, ck, user, policy)
            keys[user] = {"AccessKeyId": key_id, "SecretAccessKey": secret_key}
            service = ("ssm" if user.startswith("ssm") else
                       "kms" if user.startswith("kms") else "secretsmanager")
            clients[user] = t.boto3_client(service, access_key=key_id, secret_key=secret_key,
                                           max_attempts=1)

        admin_ssm = t.boto3_client("ssm")
        admin_sm = t.boto3_client("secretsmanager")
        admin_ssm.put_parameter(Name="/prod/db", Value=canary, Type="SecureString",
                                Tags=[{"Key": "env", "Value": "prod"}])
        admin_ssm.put_parameter(Name="/prod/db", Value=canary, Type="SecureString", Overwrite=True)
        admin_ssm.label_parameter_version(Name="/prod/db", ParameterVersion=1, Labels=["blue"])
        admin_ssm.put_parameter(Name="/prod/app", Value="app", Type="String")
        admin_ssm.put_parameter(Name="/dev/db", Value="dev", Type="String")
        full_arn = admin_sm.create_secret(Name="prod/db", SecretString=canary,
                                          Tags=[{"Key": "env", "Value": "prod"}])["ARN"]
        admin_sm.create_secret(Name="dev/db", SecretString="dev")

        # --- SSM ------------------------------------------------------------------------------
        read_forms = ["/prod/db", "/prod/db:1", "/prod/db:blue", PARAM_ARN, PARAM_ARN + ":2",
                      PARAM_ARN + ":blue"]
        for user in ("ssmtag", "ssmawstag", "ssmres"):
            ssm = clients[user]
            for form in read_forms:
                for op, fn, kw in (
                        ("GetParameter", ssm.get_parameter, {"Name": form}),
                        ("GetParameters", ssm.get_parameters, {"Names": ["/dev/db", form]}),
                        ("GetParameterHistory", ssm.get_parameter_history, {"Name": form})):
                    code, res = error_of(fn, WithDecryption=True, **kw)
                    ck.eq(code, "AccessDeniedException", f"{user}: {op} {form} is refused")
                    ck.true(canary not in json.dumps(res, default=str),
                            f"{user}: {op} {form} returns no value")
            code, res = error_of(ssm.get_parameter,
                                 Name=f"arn:aws:ssm:{REGION}:{ACCT}:parameter/dev/db")
            ck.true(code is None, f"{user}: the untagged neighbour reads by ARN", str(code))
            code, res = error_of(ssm.get_parameters_by_path, Path="/prod", WithDecryption=True)
            ck.eq([p["Name"] for p in res["Parameters"]] if code is None else code, ["/prod/app"],
                  f"{user}: GetParametersByPath leaves /prod/db out")
            code, res = error_of(ssm.describe_parameters)
            ck.eq([p["Name"] for p in res["Parameters"]] if code is None else code,
                  ["/dev/db", "/prod/app"], f"{user}: DescribeParameters leaves /prod/db out")
            for op, fn, kw in (
                    ("PutParameter", ssm.put_parameter,
                     {"Name": "/prod/db", "Value": "changed", "Overwrite": True}),
                    ("DeleteParameter", ssm.delete_parameter, {"Name": "/prod/db"}),
                    ("DeleteParameters", ssm.delete_parameters, {"Names": ["/prod/db"]}),
                    ("LabelParameterVersion", ssm.label_parameter_version,
                     {"Name": "/prod/db", "Labels": ["green"]}),
                    ("UnlabelParameterVersion", ssm.unlabel_parameter_version,
                     {"Name": "/prod/db", "ParameterVersion": 1, "Labels": ["blue"]}),
                    ("AddTagsToResource", ssm.add_tags_to_resource,
                     {"ResourceType": "Parameter", "ResourceId": "/prod/db",
                      "Tags": [{"Key": "env", "Value": "dev"}]}),
                    ("RemoveTagsFromResource", ssm.remove_tags_from_resource,
                     {"ResourceType": "Parameter", "ResourceId": "/prod/db", "TagKeys": ["env"]}),
                    ("ListTagsForResource", ssm.list_tags_for_resource,
                     {"ResourceType": "Parameter", "ResourceId": "/prod/db"})):
                code, _ = error_of(fn, **kw)
                ck.eq(code, "AccessDeniedException", f"{user}: {op} /prod/db is refused")
            for foreign in (f"arn:aws-cn:ssm:{REGION}:{ACCT}:parameter/prod/db",
                            f"arn:aws:ssm:{REGION}:111111111111:parameter/prod/db"):
                code, res = error_of(ssm.get_parameter, Name=foreign, WithDecryption=True)
                ck.eq(code, "ParameterNotFound", f"{user}: a foreign ARN names no parameter")
        history = admin_ssm.get_parameter_history(Name="/prod/db")["Parameters"]
        ck.eq([(p["Version"], p["Labels"]) for p in history], [(1, ["blue"]), (2, [])],
              "the refused writes changed no version or label")
        ck.eq(admin_ssm.list_tags_for_resource(ResourceType="Parameter",
                                               ResourceId="/prod/db")["TagList"],
              [{"Key": "env", "Value": "prod"}], "the refused writes changed no tag")

        # The same through awscli v2, for a sample: the reported command line.
        env = t.env(access_key=keys["ssmtag"]["AccessKeyId"],
                    secret_key=keys["ssmtag"]["SecretAccessKey"])
        for form in ("/prod/db", PARAM_ARN, PARAM_ARN + ":blue"):
            r = aws(["ssm", "get-parameter", "--name", form, "--with-decryption"], env=env)
            ck.true(r.rc != 0 and "AccessDenied" in r.err,
                    f"aws ssm get-parameter --name {form} is refused", r.err[:300])
            ck.true(canary not in r.out and canary not in r.err, "the CLI shows no value")
        r = aws(["ssm", "get-parameters", "--names", PARAM_ARN, "--with-decryption"], env=env)
        ck.true(r.rc != 0 and "AccessDenied" in r.err, "aws ssm get-parameters by ARN is refused",
                r.err[:300])

        # --- Secrets Manager -----------------------------------------------------------------
        secret_forms = ["prod/db", full_arn, PARTIAL_SECRET_ARN]
        rp = doc({"Effect": "Allow", "Principal": {"AWS": f"arn:aws:iam::{ACCT}:root"},
                  "Action": "secretsmanager:GetSecretValue", "Resource": "*"})
        for user in ("smtag", "smawstag", "smres"):
            sm = clients[user]
            for form in secret_forms:
                for op, kw in (
                        ("get_secret_value", {"SecretId": form}),
                        ("batch_get_secret_value", {"SecretIdList": ["dev/db", form]}),
                        ("describe_secret", {"SecretId": form}),
                        ("put_secret_value", {"SecretId": form, "SecretString": "changed"}),
                        ("update_secret", {"SecretId": form, "Description": "changed"}),
                        ("update_secret_version_stage",
                         {"SecretId": form, "VersionStage": "blue",
                          "MoveToVersionId": "aaaaaaaa-aaaa-4aaa-8aaa-aaaaaaaaaaaa"}),
                        ("delete_secret", {"SecretId": form, "ForceDeleteWithoutRecovery": True}),
                        ("restore_secret", {"SecretId": form}),
                        ("tag_resource", {"SecretId": form,
                                          "Tags": [{"Key": "env", "Value": "dev"}]}),
                        ("untag_resource", {"SecretId": form, "TagKeys": ["env"]}),
                        ("list_secret_version_ids", {"SecretId": form}),
                        ("get_resource_policy", {"SecretId": form}),
                        ("put_resource_policy", {"SecretId": form, "ResourcePolicy": rp}),
                        ("delete_resource_policy", {"SecretId": form}),
                        ("rotate_secret", {"SecretId": form, "RotationLambdaARN":
                                           f"arn:aws:lambda:{REGION}:{ACCT}:function:rot"}),
                        ("cancel_rotate_secret", {"SecretId": form})):
                    code, res = error_of(getattr(sm, op), **kw)
                    ck.eq(code, "AccessDeniedException", f"{user}: {op} {form} is refused")
                    ck.true(canary not in json.dumps(res, default=str),
                            f"{user}: {op} {form} returns no value")
            code, res = error_of(sm.batch_get_secret_value,
                                 Filters=[{"Key": "name", "Values": ["prod", "dev"]}])
            ck.eq([v["Name"] for v in res["SecretValues"]] if code is None else code, ["dev/db"],
                  f"{user}: BatchGetSecretValue by filter leaves prod/db out")
            code, res = error_of(sm.list_secrets)
            ck.eq([s["Name"] for s in res["SecretList"]] if code is None else code, ["dev/db"],
                  f"{user}: ListSecrets leaves prod/db out")
            code, _ = error_of(sm.get_secret_value, SecretId="dev/db")
            ck.true(code is None, f"{user}: the untagged neighbour reads", str(code))
            code, _ = error_of(sm.get_secret_value,
                               SecretId=f"arn:aws-cn:secretsmanager:{REGION}:{ACCT}:secret:prod/db")
            ck.true(code in ("ResourceNotFoundException", "AccessDeniedException"),
                    f"{user}: a foreign-partition ARN does not read the local secret", str(code))
        value = admin_sm.get_secret_value(SecretId="prod/db")
        ck.secret_eq(value["SecretString"], canary, "the refused writes left the value")
        described = admin_sm.describe_secret(SecretId="prod/db")
        ck.eq(described.get("Tags"), [{"Key": "env", "Value": "prod"}],
              "the refused writes left the tags")
        ck.true("DeletedDate" not in described and "Description" not in described,
                "the refused writes neither deleted nor described the secret")
        env = t.env(access_key=keys["smtag"]["AccessKeyId"],
                    secret_key=keys["smtag"]["SecretAccessKey"])
        for form in (full_arn, PARTIAL_SECRET_ARN):
            r = aws(["secretsmanager", "get-secret-value", "--secret-id", form], env=env)
            ck.true(r.rc != 0 and "AccessDenied" in r.err,
                    f"aws secretsmanager get-secret-value --secret-id {form} is refused",
                    r.err[:300])
            ck.true(canary not in r.out and canary not in r.err, "the CLI shows no value")

        # --- KMS: key id, key ARN, alias name, alias ARN name the one key -----------------------
        admin_kms = t.boto3_client("kms")
        key = admin_kms.create_key(Tags=[{"TagKey": "env", "TagValue": "prod"}])["KeyMetadata"]
        admin_kms.create_alias(AliasName="alias/prod", TargetKeyId=key["KeyId"])
        blob = admin_kms.encrypt(KeyId=key["KeyId"], Plaintext=b"hi")["CiphertextBlob"]
        other = admin_kms.create_key()["KeyMetadata"]["KeyId"]
        key_id, secret_key = h.create_user_with_policy(
            t, ck, "kmsres", allow_deny("kms", resource=key["Arn"]))
        keys["kmsres"] = {"AccessKeyId": key_id, "SecretAccessKey": secret_key}
        clients["kmsres"] = t.boto3_client("kms", access_key=key_id, secret_key=secret_key,
                                           max_attempts=1)
        key_forms = [key["KeyId"], key["Arn"], "alias/prod",
                     f"arn:aws:kms:{REGION}:{ACCT}:alias/prod"]
        for user in ("kmstag", "kmsres"):
            kms = clients[user]
            for form in key_forms:
                for op, kw in (
                        ("describe_key", {"KeyId": form}),
                        ("encrypt", {"KeyId": form, "Plaintext": b"x"}),
                        ("generate_data_key", {"KeyId": form, "KeySpec": "AES_256"}),
                        ("decrypt", {"CiphertextBlob": blob, "KeyId": form}),
                        ("disable_key", {"KeyId": form}),
                        ("schedule_key_deletion", {"KeyId": form}),
                        ("tag_resource", {"KeyId": form,
                                          "Tags": [{"TagKey": "env", "TagValue": "dev"}]}),
                        ("get_key_policy", {"KeyId": form, "PolicyName": "default"}),
                        ("update_alias", {"AliasName": "alias/prod", "TargetKeyId": form})):
                    code, _ = error_of(getattr(kms, op), **kw)
                    ck.eq(code, "AccessDeniedException", f"{user}: kms {op} {form} is refused")
            code, _ = error_of(kms.encrypt, KeyId=other, Plaintext=b"x")
            ck.true(code is None, f"{user}: another key still encrypts", str(code))
        state = admin_kms.describe_key(KeyId="alias/prod")["KeyMetadata"]
        ck.eq((state["KeyId"], state["KeyState"]), (key["KeyId"], "Enabled"),
              "the refused KMS writes left the key and its alias")
        for user in ("kmstag", "kmsres"):
            env = t.env(access_key=keys[user]["AccessKeyId"],
                        secret_key=keys[user]["SecretAccessKey"])
            for form in key_forms:
                r = aws(["kms", "encrypt", "--key-id", form, "--plaintext", "aGk="], env=env)
                ck.true(r.rc != 0 and "AccessDenied" in r.err,
                        f"{user}: aws kms encrypt --key-id {form} is refused", r.err[:300])

        t.stop()
        t.assert_no_canary_in_logs(ck, [canary])
        audit = open(os.path.join(t.data_dir, "audit.log"), "rb").read()
        ck.true(canary.encode() not in audit, "canary absent from the audit log")
        records = [json.loads(line) for line in audit.decode().splitlines() if line.strip()]
        denied = [r for r in records if r.get("operation") == "GetParameter"
                  and r.get("decision") == "explicit-deny" and r.get("resource") == PARAM_ARN]
        ck.true(len(denied) >= 3 * len(read_forms),
                "the audit records of the refused reads name the canonical ARN",
                str([(r.get("decision"), r.get("resource")) for r in records
                     if r.get("operation") == "GetParameter"])[:600])
    finally:
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_sec_name_forms", body))
