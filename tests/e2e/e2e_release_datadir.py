"""Stored data from before reads on: the current server, started on a copy of a data directory
written by release 0.1.0 (tests/data/release-0.1.0-datadir.tar.b64, see tests/data/README.md), serves
every parameter, secret, KMS key and IAM entity in it with the exact values, versions, labels,
stages, tags and policies the release stored, and the release's access keys still sign.
"""

import base64
import json
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

import fixtures_release_datadir as fx  # noqa: E402

DATA = os.path.join(os.path.dirname(os.path.dirname(os.path.abspath(__file__))), "data",
                    fx.DATADIR)


def tags_of(items, key="Key", value="Value"):
    return {t[key]: t[value] for t in items}


def check_kms(c, kms, exp):
    key_id = exp["key_id"]
    meta = kms.describe_key(KeyId=fx.KEY_ALIAS)["KeyMetadata"]
    c.eq(meta["KeyId"], key_id, "alias resolves to the stored key")
    c.eq(meta["Description"], fx.KEY_DESCRIPTION, "key description")
    c.eq(meta["KeyState"], "Enabled", "key state")
    c.eq(meta["KeyManager"], "CUSTOMER", "key manager")
    c.eq(tags_of(kms.list_resource_tags(KeyId=key_id)["Tags"], "TagKey", "TagValue"),
         fx.KEY_TAGS, "key tags")
    c.eq(json.loads(kms.get_key_policy(KeyId=key_id, PolicyName="default")["Policy"]),
         json.loads(fx.KEY_POLICY), "key policy")
    rot = kms.get_key_rotation_status(KeyId=key_id)
    c.eq(rot["KeyRotationEnabled"], True, "rotation enabled")
    c.eq(rot.get("RotationPeriodInDays"), fx.KEY_ROTATION_DAYS, "rotation period")
    aliases = {a["AliasName"]: a.get("TargetKeyId") for a in kms.list_aliases()["Aliases"]}
    c.eq(aliases.get(fx.KEY_ALIAS), key_id, "alias listed with its target")
    c.true(aliases.get("alias/aws/ssm"), "managed alias/aws/ssm kept its key")
    plain = kms.decrypt(CiphertextBlob=base64.b64decode(exp["ciphertext"]),
                        EncryptionContext=fx.KMS_CONTEXT)
    c.secret_eq(plain["Plaintext"].decode(), fx.KMS_PLAINTEXT, "ciphertext of the release decrypts")
    c.eq(plain["KeyId"], meta["Arn"], "decrypt names the key")
    c.eq(kms.describe_key(KeyId=exp["disabled_key_id"])["KeyMetadata"]["KeyState"], "Disabled",
         "disabled key stays disabled")
    listed = {k["KeyId"] for k in kms.list_keys()["Keys"]}
    c.true({key_id, exp["disabled_key_id"]} <= listed, "ListKeys lists the stored keys")


def check_ssm(c, ssm, exp):
    for name, spec in fx.PARAMETERS.items():
        values = spec["values"]
        latest = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]
        c.eq(latest["Version"], len(values), f"{name} latest version")
        c.eq(latest["Type"], spec["type"], f"{name} type")
        c.secret_eq(latest["Value"], values[-1], f"{name} latest value")
        for i, value in enumerate(values, start=1):
            got = ssm.get_parameter(Name=f"{name}:{i}", WithDecryption=True)["Parameter"]
            c.secret_eq(got["Value"], value, f"{name}:{i} value")
        for version, labels in spec.get("labels", {}).items():
            for label in labels:
                got = ssm.get_parameter(Name=f"{name}:{label}", WithDecryption=True)["Parameter"]
                c.eq(got["Version"], int(version), f"{name}:{label} version")
                c.secret_eq(got["Value"], values[int(version) - 1], f"{name}:{label} value")
        history = ssm.get_parameter_history(Name=name, WithDecryption=True)["Parameters"]
        c.eq([p["Version"] for p in history], list(range(1, len(values) + 1)),
             f"{name} history versions")
        c.eq({p["Version"]: sorted(p.get("Labels", [])) for p in history},
             {i: sorted(spec.get("labels", {}).get(str(i), [])) for i in
              range(1, len(values) + 1)}, f"{name} history labels")
        tags = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=name)["TagList"]
        c.eq(tags_of(tags), spec.get("tags", {}), f"{name} tags")
        desc = ssm.describe_parameters(
            ParameterFilters=[{"Key": "Name", "Values": [name]}])["Parameters"]
        c.eq(len(desc), 1, f"{name} described")
        if desc:
            c.eq(desc[0].get("Description", ""), spec.get("description", ""),
                 f"{name} description")
            if spec["type"] == "SecureString":
                want = (f"alias/compat-key" if spec.get("key") == "customer"
                        else "alias/aws/ssm")
                c.eq(desc[0].get("KeyId"), want, f"{name} key id")
    by_path = ssm.get_parameters_by_path(Path="/compat", Recursive=True,
                                         WithDecryption=True)["Parameters"]
    c.eq(sorted(p["Name"] for p in by_path), sorted(fx.PARAMETERS), "GetParametersByPath names")
    # The customer key sealed /compat/secure-customer: disabling it must refuse the read.
    enc = ssm.get_parameter(Name="/compat/secure-customer", WithDecryption=False)["Parameter"]
    c.secret_ne(enc["Value"], fx.PARAMETERS["/compat/secure-customer"]["values"][0],
                "SecureString without decryption is not the plaintext")


def check_secrets(c, sm, exp):
    listed = {s["Name"]: s for s in sm.list_secrets()["SecretList"]}
    for name, spec in fx.SECRETS.items():
        arn = exp["secret_arns"][name]
        d = sm.describe_secret(SecretId=name)
        c.eq(d["ARN"], arn, f"{name} ARN")
        c.eq(d.get("Description"), spec["description"], f"{name} description")
        c.eq(tags_of(d.get("Tags", [])), spec["tags"], f"{name} tags")
        c.eq({k: sorted(v) for k, v in d["VersionIdsToStages"].items()},
             {k: sorted(v) for k, v in spec["stages"].items()}, f"{name} version stages")
        if spec.get("key") == "customer":
            c.eq(d.get("KmsKeyId"), fx.KEY_ALIAS, f"{name} KMS key")
        c.true(name in listed, f"{name} listed")
        for v in spec["versions"]:
            got = sm.get_secret_value(SecretId=arn, VersionId=v["id"])
            if "binary" in v:
                c.secret_eq(base64.b64encode(got["SecretBinary"]).decode(), v["binary"],
                            f"{name} {v['id']} binary")
            else:
                c.secret_eq(got["SecretString"], v["string"], f"{name} {v['id']} string")
            c.eq(sorted(got["VersionStages"]), sorted(spec["stages"][v["id"]]),
                 f"{name} {v['id']} stages on read")
        for stage in ("AWSCURRENT", "AWSPREVIOUS"):
            want = [vid for vid, st in spec["stages"].items() if stage in st]
            if not want:
                continue
            got = sm.get_secret_value(SecretId=name, VersionStage=stage)
            c.eq(got["VersionId"], want[0], f"{name} {stage} version")
        ids = sm.list_secret_version_ids(SecretId=name)["Versions"]
        c.eq(sorted(v["VersionId"] for v in ids), sorted(spec["stages"]), f"{name} version ids")


def check_iam(c, iam, server, exp):
    user = iam.get_user(UserName=fx.USER)["User"]
    c.eq(user["Path"], fx.IAM_PATH, "user path")
    c.eq(tags_of(user.get("Tags", [])), fx.USER_TAGS, "user tags")
    c.eq(json.loads(_doc(iam.get_user_policy(UserName=fx.USER,
                                             PolicyName=fx.USER_INLINE_POLICY_NAME)
                         ["PolicyDocument"])),
         json.loads(fx.USER_INLINE_POLICY), "user inline policy")
    keys = iam.list_access_keys(UserName=fx.USER)["AccessKeyMetadata"]
    c.eq([k["AccessKeyId"] for k in keys], [exp["access_key_id"]], "user access key")
    groups = iam.list_groups_for_user(UserName=fx.USER)["Groups"]
    c.eq([g["GroupName"] for g in groups], [fx.GROUP], "user's groups")
    attached = iam.list_attached_group_policies(GroupName=fx.GROUP)["AttachedPolicies"]
    c.eq([p["PolicyArn"] for p in attached], [exp["policy_arn"]], "group's managed policy")
    pol = iam.get_policy(PolicyArn=exp["policy_arn"])["Policy"]
    c.eq(pol.get("Description"), fx.MANAGED_POLICY_DESCRIPTION, "managed policy description")
    ver = iam.get_policy_version(PolicyArn=exp["policy_arn"],
                                 VersionId=pol["DefaultVersionId"])["PolicyVersion"]
    c.eq(json.loads(_doc(ver["Document"])), json.loads(fx.MANAGED_POLICY), "managed policy document")
    role = iam.get_role(RoleName=fx.ROLE)["Role"]
    c.eq(role.get("Description"), fx.ROLE_DESCRIPTION, "role description")
    c.eq(json.loads(_doc(role["AssumeRolePolicyDocument"])), json.loads(fx.TRUST_POLICY),
         "role trust policy")
    c.eq(tags_of(role.get("Tags", [])), fx.ROLE_TAGS, "role tags")
    attached = iam.list_attached_role_policies(RoleName=fx.ROLE)["AttachedPolicies"]
    c.eq([p["PolicyArn"] for p in attached], [exp["policy_arn"]], "role's managed policy")

    # The user's stored access key still signs, and its policies still decide.
    kw = dict(access_key=exp["access_key_id"], secret_key=exp["secret_access_key"],
              max_attempts=1)
    sts = server.boto3_client("sts", **kw)
    c.eq(sts.get_caller_identity()["Arn"],
         f"arn:aws:iam::000000000000:user{fx.IAM_PATH}{fx.USER}", "caller identity")
    ssm = server.boto3_client("ssm", **kw)
    c.eq(ssm.get_parameter(Name="/compat/plain")["Parameter"]["Value"], "plain-v2",
         "user reads a parameter its inline policy allows")
    sm = server.boto3_client("secretsmanager", **kw)
    got = sm.get_secret_value(SecretId="compat/db")
    c.eq(got["VersionId"], "00000000-0000-4000-8000-000000000002",
         "user reads a secret its group's managed policy allows")
    code, _ = h.error_of(sm.describe_secret, SecretId="compat/db")
    c.eq(code, "AccessDeniedException", "user's other calls stay denied")


def _doc(d):
    """A policy document as boto3 returns it (a dict, or URL-encoded JSON text) as JSON text."""
    if isinstance(d, str):
        import urllib.parse
        return urllib.parse.unquote(d)
    return json.dumps(d)


def body(args, c):
    try:
        import boto3  # noqa: F401
    except ImportError:
        h.skip("boto3 is not installed for this interpreter")
    server = h.CofferServer(args.coffer)
    try:
        fx.unpack_datadir(DATA, server.data_dir)
        with open(os.path.join(server.data_dir, fx.EXPECTED_FILE)) as f:
            exp = json.load(f)
        os.remove(os.path.join(server.data_dir, fx.EXPECTED_FILE))
        server.start()
        check_kms(c, server.boto3_client("kms"), exp)
        check_ssm(c, server.boto3_client("ssm"), exp)
        check_secrets(c, server.boto3_client("secretsmanager"), exp)
        check_iam(c, server.boto3_client("iam"), server, exp)
        # Everything still reads after a restart of the new server (records it rewrote, if any,
        # read back as well).
        server.restart()
        check_ssm(c, server.boto3_client("ssm"), exp)
        check_secrets(c, server.boto3_client("secretsmanager"), exp)
        check_kms(c, server.boto3_client("kms"), exp)
        server.stop()
    finally:
        server.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_release_datadir", body))
