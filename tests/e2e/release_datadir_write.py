"""Writes the data directory that e2e_release_datadir reads back (tests/data/README.md).

Not a test: run once with the binary of a release to freeze what that release stores,

    ~/.pyenv/shims/python3 tests/e2e/release_datadir_write.py --coffer build/coffer \
        --out tests/data/release-0.1.0-datadir.tar.b64

It starts `coffer server --dev` on an empty data directory, creates parameters, secrets, a KMS
key and IAM entities through boto3 (every value is a made-up test value), stops the server, and
copies the data directory to --out together with `expected.json`: what the script cannot fix in
advance (key ids, an access key, a ciphertext) for the test to check against.
"""

import argparse
import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

import fixtures_release_datadir as fx  # noqa: E402


def main():
    p = argparse.ArgumentParser()
    p.add_argument("--coffer", required=True)
    p.add_argument("--out", required=True)
    args = p.parse_args()
    if os.path.exists(args.out):
        sys.exit(f"{args.out} exists; remove it first")
    server = h.CofferServer(args.coffer).start()
    try:
        expected = populate(server)
        server.stop()
        with open(os.path.join(server.data_dir, fx.EXPECTED_FILE), "w") as f:
            json.dump(expected, f, indent=2, sort_keys=True)
            f.write("\n")
        fx.pack_datadir(server.data_dir, args.out)
    finally:
        server.cleanup()
    print(f"wrote {args.out}")


def populate(server):
    kms = server.boto3_client("kms")
    ssm = server.boto3_client("ssm")
    sm = server.boto3_client("secretsmanager")
    iam = server.boto3_client("iam")

    # KMS: a customer key with an alias, tags, a key policy and rotation settings.
    key = kms.create_key(Description=fx.KEY_DESCRIPTION, Policy=fx.KEY_POLICY,
                         Tags=[{"TagKey": k, "TagValue": v} for k, v in fx.KEY_TAGS.items()])
    key_id = key["KeyMetadata"]["KeyId"]
    kms.create_alias(AliasName=fx.KEY_ALIAS, TargetKeyId=key_id)
    kms.enable_key_rotation(KeyId=key_id, RotationPeriodInDays=fx.KEY_ROTATION_DAYS)
    blob = kms.encrypt(KeyId=fx.KEY_ALIAS, Plaintext=fx.KMS_PLAINTEXT.encode(),
                       EncryptionContext=fx.KMS_CONTEXT)["CiphertextBlob"]
    disabled = kms.create_key(Description="compat disabled key")["KeyMetadata"]["KeyId"]
    kms.disable_key(KeyId=disabled)

    # SSM: every type, two versions, labels, tags, a customer key.
    for name, spec in fx.PARAMETERS.items():
        for i, value in enumerate(spec["values"]):
            kw = dict(Name=name, Value=value, Type=spec["type"], Overwrite=i > 0)
            if spec.get("key") == "customer":
                kw["KeyId"] = fx.KEY_ALIAS
            if i == 0 and spec.get("description"):
                kw["Description"] = spec["description"]
            ssm.put_parameter(**kw)
        for version, labels in spec.get("labels", {}).items():
            ssm.label_parameter_version(Name=name, ParameterVersion=int(version), Labels=labels)
        if spec.get("tags"):
            ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=name,
                                     Tags=[{"Key": k, "Value": v}
                                           for k, v in spec["tags"].items()])

    # Secrets Manager: fixed version ids (ClientRequestToken), a staging-label move, tags.
    secret_arns = {}
    for name, spec in fx.SECRETS.items():
        kw = dict(Name=name, ClientRequestToken=spec["versions"][0]["id"],
                  Description=spec["description"],
                  Tags=[{"Key": k, "Value": v} for k, v in spec["tags"].items()])
        if spec.get("key") == "customer":
            kw["KmsKeyId"] = fx.KEY_ALIAS
        first = spec["versions"][0]
        if "binary" in first:
            kw["SecretBinary"] = base64.b64decode(first["binary"])
        else:
            kw["SecretString"] = first["string"]
        secret_arns[name] = sm.create_secret(**kw)["ARN"]
        for v in spec["versions"][1:]:
            pkw = dict(SecretId=name, ClientRequestToken=v["id"])
            if "binary" in v:
                pkw["SecretBinary"] = base64.b64decode(v["binary"])
            else:
                pkw["SecretString"] = v["string"]
            sm.put_secret_value(**pkw)
        for move in spec.get("moves", []):
            sm.update_secret_version_stage(SecretId=name, VersionStage=move["stage"],
                                           MoveToVersionId=move["to"],
                                           **({"RemoveFromVersionId": move["from"]}
                                              if move.get("from") else {}))

    # IAM: a user (tags, inline policy, access key), a group, a managed policy, a role.
    iam.create_user(UserName=fx.USER, Path=fx.IAM_PATH,
                    Tags=[{"Key": k, "Value": v} for k, v in fx.USER_TAGS.items()])
    iam.put_user_policy(UserName=fx.USER, PolicyName=fx.USER_INLINE_POLICY_NAME,
                        PolicyDocument=fx.USER_INLINE_POLICY)
    access_key = iam.create_access_key(UserName=fx.USER)["AccessKey"]
    iam.create_group(GroupName=fx.GROUP, Path=fx.IAM_PATH)
    iam.add_user_to_group(GroupName=fx.GROUP, UserName=fx.USER)
    policy_arn = iam.create_policy(PolicyName=fx.MANAGED_POLICY_NAME, Path=fx.IAM_PATH,
                                   PolicyDocument=fx.MANAGED_POLICY,
                                   Description=fx.MANAGED_POLICY_DESCRIPTION)["Policy"]["Arn"]
    iam.attach_group_policy(GroupName=fx.GROUP, PolicyArn=policy_arn)
    iam.create_role(RoleName=fx.ROLE, Path=fx.IAM_PATH, AssumeRolePolicyDocument=fx.TRUST_POLICY,
                    Description=fx.ROLE_DESCRIPTION,
                    Tags=[{"Key": k, "Value": v} for k, v in fx.ROLE_TAGS.items()])
    iam.attach_role_policy(RoleName=fx.ROLE, PolicyArn=policy_arn)

    return {
        "version": fx.release_version(server.binary),
        "key_id": key_id,
        "disabled_key_id": disabled,
        "ciphertext": base64.b64encode(blob).decode(),
        "secret_arns": secret_arns,
        "policy_arn": policy_arn,
        "access_key_id": access_key["AccessKeyId"],
        "secret_access_key": access_key["SecretAccessKey"],
    }


if __name__ == "__main__":
    main()
