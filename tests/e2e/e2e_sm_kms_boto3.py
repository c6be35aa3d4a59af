#!/usr/bin/env python3
"""Secrets Manager and KMS through boto3, breadth first: every operation of issue #3 items 1-2,
their error paths, idempotency, the recovery window, restore, staging-label moves, KMS ciphertexts
refused under another key or another EncryptionContext, and the KMS keys that protect secrets and
parameters. Run it with the pyenv python3 (boto3 1.43) and with Debian's /usr/bin/python3
(boto3 1.26, which lacks BatchGetSecretValue: that part is skipped with a message).

Against moto (`--target moto`, to check the script itself), checks marked aws_only become notes
where moto deviates from AWS.

Usage: e2e_sm_kms_boto3.py --coffer build/coffer [--target moto]
"""

import base64
import datetime
import os
import re
import sys
import uuid

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

def arn_rx(name):
    return r"arn:aws:secretsmanager:us-east-1:\d{12}:secret:" + re.escape(name) + \
        r"-[A-Za-z0-9]{6}"


LAMBDA = "arn:aws:lambda:us-east-1:000000000000:function:rotate-e2e"


def tok():
    return str(uuid.uuid4())


def unvalidated(t, service):
    """A client without botocore's client-side checks, to reach the server's own validation."""
    import boto3
    import botocore.config
    return boto3.client(service, endpoint_url=t.url, region_name=h.REGION,
                        aws_access_key_id=t.access_key, aws_secret_access_key=t.secret_key,
                        config=botocore.config.Config(parameter_validation=False,
                                                      retries={"max_attempts": 1}))


def has_member(client, operation, member, output=False):
    """Whether this botocore's model has `member` in the operation's input (or output)."""
    op = client.meta.service_model.operation_model(operation)
    shape = op.output_shape if output else op.input_shape
    return shape is not None and member in shape.members


def now_utc():
    return datetime.datetime.now(datetime.timezone.utc)


class Calls:
    """expect_error for one client family, with the canaries that must never appear in errors."""

    def __init__(self, ck, canaries):
        self.ck = ck
        self.canaries = canaries

    def error(self, fn, code, what, aws_only=False, **kw):
        import botocore.exceptions
        try:
            fn(**kw)
        except botocore.exceptions.ClientError as e:
            got = e.response.get("Error", {}).get("Code")
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            self.ck.eq(got, code, what, aws_only=aws_only)
            # moto answers some 400s of AWS with 404.
            self.ck.eq(status, 400, what + ": HTTP 400", aws_only=True)
            msg = str(e.response.get("Error", {}).get("Message", ""))
            self.ck.true(not any(c in msg for c in self.canaries), f"{what}: no secret in message",
                         "a secret value appeared in the error message (not printed)")
            return e
        self.ck.true(False, what, f"expected {code}, the call succeeded", aws_only=aws_only)
        return None


def stages_of(sm, secret_id, include_deprecated=False):
    vs = sm.list_secret_version_ids(SecretId=secret_id, IncludeDeprecated=include_deprecated)
    return {v["VersionId"]: sorted(v.get("VersionStages", [])) for v in vs["Versions"]}


# ------------------------------------------------------------------------------------------------
# Secrets Manager


def sm_create_get_put(t, ck, c, s):
    sm = t.boto3_client("secretsmanager")
    t1, t2, t3, t4 = tok(), tok(), tok(), tok()
    tags = [{"Key": "env", "Value": "dev"}, {"Key": "team", "Value": "core"}]

    # CreateSecret: ARN with the 6-character suffix, VersionId = token.
    r = sm.create_secret(Name="app/db", SecretString=s[0], Description="db creds",
                         ClientRequestToken=t1, Tags=tags)
    arn = r["ARN"]
    ck.true(re.fullmatch(arn_rx("app/db"), arn), "CreateSecret ARN has -XXXXXX",
            arn)
    ck.eq((r["Name"], r["VersionId"]), ("app/db", t1), "CreateSecret Name/VersionId")
    # ClientRequestToken idempotency: same token + same value = no-op; other value = error.
    r = sm.create_secret(Name="app/db", SecretString=s[0], Description="db creds",
                         ClientRequestToken=t1, Tags=tags)
    ck.eq((r["ARN"], r["VersionId"]), (arn, t1), "CreateSecret retry (same token+value) no-op",
          aws_only=True)
    c.error(sm.create_secret, "ResourceExistsException",
            "CreateSecret same token, other value", Name="app/db", SecretString=s[1],
            ClientRequestToken=t1)
    c.error(sm.create_secret, "ResourceExistsException", "CreateSecret existing name",
            Name="app/db", SecretString=s[1])
    c.error(sm.create_secret, "InvalidParameterException", "CreateSecret both value kinds",
            aws_only=True, Name="app/both", SecretString="x", SecretBinary=b"y")
    c.error(unvalidated(t, "secretsmanager").create_secret, "ValidationException",
            "CreateSecret short token", aws_only=True, Name="app/short", SecretString="x",
            ClientRequestToken="abc")
    c.error(sm.create_secret, "InvalidParameterException", "CreateSecret name with a space",
            aws_only=True, Name="bad name", SecretString="x")
    ck.eq(sm.list_secret_version_ids(SecretId="app/db")["Versions"][0]["VersionId"], t1,
          "failed creates left one version")

    # GetSecretValue by name, full ARN, partial ARN, VersionId, VersionStage.
    g = sm.get_secret_value(SecretId="app/db")
    ck.secret_eq(g["SecretString"], s[0], "get by name")
    ck.eq((g["ARN"], g["VersionId"], g["VersionStages"]), (arn, t1, ["AWSCURRENT"]),
          "get by name: ARN/VersionId/VersionStages")
    ck.true(isinstance(g.get("CreatedDate"), datetime.datetime), "CreatedDate is a timestamp")
    ck.true("SecretBinary" not in g, "string secret has no SecretBinary")
    ck.secret_eq(sm.get_secret_value(SecretId=arn)["SecretString"], s[0], "get by full ARN")
    partial = arn[:-7]
    ck.secret_eq(sm.get_secret_value(SecretId=partial)["SecretString"], s[0],
                 "get by partial ARN (no suffix)", aws_only=True)
    ck.secret_eq(sm.get_secret_value(SecretId="app/db", VersionId=t1)["SecretString"], s[0],
                 "get by VersionId")
    ck.secret_eq(sm.get_secret_value(SecretId="app/db", VersionStage="AWSCURRENT")
                 ["SecretString"], s[0], "get by VersionStage")
    c.error(sm.get_secret_value, "ResourceNotFoundException", "get unknown secret",
            SecretId="app/nope")
    c.error(sm.get_secret_value, "ResourceNotFoundException", "get unknown VersionId",
            SecretId="app/db", VersionId=tok())
    c.error(sm.get_secret_value, "ResourceNotFoundException", "get unknown VersionStage",
            SecretId="app/db", VersionStage="NOPE")
    c.error(sm.get_secret_value, "ResourceNotFoundException", "get by ARN with a wrong suffix",
            aws_only=True, SecretId=partial + "-ZZZZZZ")

    # PutSecretValue: AWSCURRENT moves, AWSPREVIOUS follows; idempotent retry; conflict.
    r = sm.put_secret_value(SecretId="app/db", SecretString=s[1], ClientRequestToken=t2)
    ck.eq((r["ARN"], r["VersionId"], r["VersionStages"]), (arn, t2, ["AWSCURRENT"]),
          "PutSecretValue response")
    ck.eq(stages_of(sm, "app/db"), {t1: ["AWSPREVIOUS"], t2: ["AWSCURRENT"]},
          "after put: t1 AWSPREVIOUS, t2 AWSCURRENT")
    r = sm.put_secret_value(SecretId="app/db", SecretString=s[1], ClientRequestToken=t2)
    ck.eq((r["VersionId"], r["VersionStages"]), (t2, ["AWSCURRENT"]),
          "PutSecretValue retry (same token+value) answers the same version")
    ck.eq(stages_of(sm, "app/db"), {t1: ["AWSPREVIOUS"], t2: ["AWSCURRENT"]},
          "retry changed nothing")
    c.error(sm.put_secret_value, "ResourceExistsException", "PutSecretValue same token, other "
            "value", aws_only=True, SecretId="app/db", SecretString=s[2], ClientRequestToken=t2)
    c.error(sm.put_secret_value, "ResourceNotFoundException", "PutSecretValue unknown secret",
            SecretId="app/nope", SecretString="x")
    c.error(sm.put_secret_value, "InvalidParameterException", "PutSecretValue without a value",
            aws_only=True, SecretId="app/db")
    ck.secret_eq(sm.get_secret_value(SecretId=arn, VersionStage="AWSPREVIOUS")["SecretString"],
                 s[0], "AWSPREVIOUS holds the first value")
    ck.secret_eq(sm.get_secret_value(SecretId="app/db")["SecretString"], s[1],
                 "AWSCURRENT holds the second value")
    # A put with explicit stages leaves AWSCURRENT where it is.
    r = sm.put_secret_value(SecretId="app/db", SecretString=s[2], ClientRequestToken=t3,
                            VersionStages=["staged"])
    ck.eq(r["VersionStages"], ["staged"], "put with VersionStages=[staged]")
    ck.eq(stages_of(sm, "app/db"), {t1: ["AWSPREVIOUS"], t2: ["AWSCURRENT"], t3: ["staged"]},
          "custom stage does not move AWSCURRENT")
    ck.secret_eq(sm.get_secret_value(SecretId="app/db", VersionStage="staged")["SecretString"],
                 s[2], "get by custom stage")
    c.error(sm.get_secret_value, "InvalidRequestException", "VersionId and VersionStage of "
            "different versions", SecretId="app/db", VersionId=t3, VersionStage="AWSCURRENT")

    # UpdateSecretVersionStage: moves as on AWS.
    c.error(sm.update_secret_version_stage, "InvalidParameterException",
            "moving AWSCURRENT without RemoveFromVersionId", aws_only=True, SecretId="app/db",
            VersionStage="AWSCURRENT", MoveToVersionId=t1)
    r = sm.update_secret_version_stage(SecretId="app/db", VersionStage="AWSCURRENT",
                                       MoveToVersionId=t1, RemoveFromVersionId=t2)
    ck.eq((r["ARN"], r["Name"]), (arn, "app/db"), "UpdateSecretVersionStage response")
    ck.eq(stages_of(sm, "app/db"), {t1: ["AWSCURRENT"], t2: ["AWSPREVIOUS"], t3: ["staged"]},
          "AWSCURRENT back to t1; AWSPREVIOUS follows to t2")
    ck.secret_eq(sm.get_secret_value(SecretId="app/db")["SecretString"], s[0],
                 "get follows the moved AWSCURRENT", aws_only=True)
    c.error(sm.update_secret_version_stage, "InvalidParameterException",
            "AWSCURRENT cannot just be removed", aws_only=True, SecretId="app/db",
            VersionStage="AWSCURRENT", RemoveFromVersionId=t1)
    c.error(sm.update_secret_version_stage, "InvalidParameterException",
            "RemoveFromVersionId that does not hold the label", aws_only=True,
            SecretId="app/db", VersionStage="staged", RemoveFromVersionId=t1)
    sm.update_secret_version_stage(SecretId="app/db", VersionStage="blue", MoveToVersionId=t2)
    sm.update_secret_version_stage(SecretId="app/db", VersionStage="staged",
                                   RemoveFromVersionId=t3)
    ck.eq(stages_of(sm, "app/db"), {t1: ["AWSCURRENT"], t2: ["AWSPREVIOUS", "blue"]},
          "label added, last label removed: t3 deprecated", aws_only=True)
    ck.eq(set(stages_of(sm, "app/db", include_deprecated=True)), {t1, t2, t3},
          "IncludeDeprecated lists the unlabelled version")
    c.error(sm.update_secret_version_stage, "ResourceNotFoundException",
            "UpdateSecretVersionStage unknown secret", SecretId="app/nope",
            VersionStage="x", MoveToVersionId=t1)

    # UpdateSecret: description; value (new version, same rules); token idempotency.
    r = sm.update_secret(SecretId="app/db", Description="updated")
    ck.eq((r["ARN"], r.get("VersionId")), (arn, None), "UpdateSecret metadata only: no VersionId")
    r = sm.update_secret(SecretId="app/db", SecretString=s[3], ClientRequestToken=t4)
    ck.eq(r["VersionId"], t4, "UpdateSecret with a value makes a version")
    r = sm.update_secret(SecretId="app/db", SecretString=s[3], ClientRequestToken=t4)
    ck.eq(r.get("VersionId"), t4, "UpdateSecret retry is a no-op", aws_only=True)
    c.error(sm.update_secret, "ResourceExistsException", "UpdateSecret same token, other value",
            aws_only=True, SecretId="app/db", SecretString=s[0], ClientRequestToken=t4)
    ck.eq(stages_of(sm, "app/db"), {t1: ["AWSPREVIOUS"], t2: ["blue"], t4: ["AWSCURRENT"]},
          "UpdateSecret moved AWSCURRENT/AWSPREVIOUS", aws_only=True)
    c.error(sm.update_secret, "ResourceNotFoundException", "UpdateSecret unknown",
            SecretId="app/nope", Description="x")

    # DescribeSecret.
    d = sm.describe_secret(SecretId="app/db")
    ck.eq((d["ARN"], d["Name"], d.get("Description")), (arn, "app/db", "updated"),
          "DescribeSecret ARN/Name/Description")
    ck.eq(sorted((x["Key"], x["Value"]) for x in d.get("Tags", [])),
          [("env", "dev"), ("team", "core")], "DescribeSecret Tags")
    ck.eq({k: sorted(v) for k, v in d.get("VersionIdsToStages", {}).items()},
          {t1: ["AWSPREVIOUS"], t2: ["blue"], t4: ["AWSCURRENT"]},
          "DescribeSecret VersionIdsToStages", aws_only=True)
    for field in ("CreatedDate", "LastChangedDate", "LastAccessedDate"):
        ck.true(isinstance(d.get(field), datetime.datetime), f"DescribeSecret {field}",
                repr(d.get(field)), aws_only=field == "LastAccessedDate")
    ck.true(d.get("DeletedDate") is None, "DescribeSecret: no DeletedDate")
    ck.secret_eq(sm.describe_secret(SecretId=partial)["ARN"], arn, "describe by partial ARN",
                 aws_only=True)
    c.error(sm.describe_secret, "ResourceNotFoundException", "DescribeSecret unknown",
            SecretId="app/nope")

    # Binary values and the 64 KiB limit.
    blob = bytes(range(256)) * 3 + s[4].encode()
    sm.create_secret(Name="app/bin", SecretBinary=blob)
    g = sm.get_secret_value(SecretId="app/bin")
    ck.secret_eq(g.get("SecretBinary"), blob, "binary value round trip")
    ck.true("SecretString" not in g, "binary secret has no SecretString")
    big = "A" * 65536
    sm.create_secret(Name="app/big", SecretString=big)
    ck.secret_eq(sm.get_secret_value(SecretId="app/big")["SecretString"], big,
                 "64 KiB string round trip")
    sm.put_secret_value(SecretId="app/big", SecretBinary=b"\x00" * 65536)
    ck.eq(len(sm.get_secret_value(SecretId="app/big")["SecretBinary"]), 65536,
          "64 KiB binary round trip")
    c.error(sm.put_secret_value, "ValidationException", "65537-byte value refused",
            aws_only=True, SecretId="app/big", SecretString="A" * 65537)
    c.error(sm.create_secret, "ValidationException", "65537-byte binary refused on create",
            aws_only=True, Name="app/big2", SecretBinary=b"\x01" * 65537)
    ck.eq(len(stages_of(sm, "app/big")), 2, "refused put added no version", aws_only=True)
    return arn


def sm_list_and_batch(t, ck, c):
    sm = t.boto3_client("secretsmanager")
    for i in range(5):
        sm.create_secret(Name=f"list/item{i}", SecretString=f"value-{i}",
                         Description=f"Item number {i}" + (" special" if i == 3 else ""),
                         Tags=[{"Key": "group", "Value": "even" if i % 2 == 0 else "odd"},
                               {"Key": f"k{i}", "Value": "x"}])
    pag = sm.get_paginator("list_secrets")
    pages = list(pag.paginate(Filters=[{"Key": "name", "Values": ["list/"]}],
                              PaginationConfig={"PageSize": 2}))
    names = [s["Name"] for pg in pages for s in pg["SecretList"]]
    ck.eq(sorted(names), [f"list/item{i}" for i in range(5)], "ListSecrets paginator: all 5")
    ck.eq(len(names), len(set(names)), "ListSecrets pages do not repeat")
    ck.true(len(pages) >= 3, "ListSecrets MaxResults=2 gives >= 3 pages", str(len(pages)))
    first = sm.list_secrets(MaxResults=2, Filters=[{"Key": "name", "Values": ["list/"]}])
    ck.true(first.get("NextToken"), "ListSecrets first page has NextToken")
    entry = first["SecretList"][0]
    ck.true("SecretVersionsToStages" in entry, "ListSecrets entry has SecretVersionsToStages")

    def names_for(filters, **kw):
        return sorted(s["Name"] for pg in pag.paginate(Filters=filters, **kw)
                      for s in pg["SecretList"])

    ck.eq(names_for([{"Key": "tag-value", "Values": ["even"]}]),
          ["list/item0", "list/item2", "list/item4"], "filter tag-value")
    ck.eq(names_for([{"Key": "tag-key", "Values": ["k3"]}]), ["list/item3"], "filter tag-key")
    ck.eq(names_for([{"Key": "description", "Values": ["special"]}]), ["list/item3"],
          "filter description")
    ck.eq(names_for([{"Key": "name", "Values": ["list/"]},
                     {"Key": "tag-value", "Values": ["odd"]}]),
          ["list/item1", "list/item3"], "two filters AND")
    ck.eq(names_for([{"Key": "name", "Values": ["list/item1", "list/item2"]}]),
          ["list/item1", "list/item2"], "one filter, two values OR")
    ck.eq(names_for([{"Key": "name", "Values": ["list/"]},
                     {"Key": "tag-value", "Values": ["!even"]}]),
          ["list/item1", "list/item3"], "negated filter value", aws_only=True)
    ck.eq(names_for([{"Key": "all", "Values": ["special"]}]), ["list/item3"], "filter all")
    c.error(sm.list_secrets, "ValidationException", "unknown filter key", aws_only=True,
            Filters=[{"Key": "colour", "Values": ["x"]}])
    c.error(sm.list_secrets, "InvalidNextTokenException", "garbage NextToken", aws_only=True,
            NextToken="garbage-token")

    # ListSecretVersionIds paging.
    for i in range(3):
        sm.put_secret_value(SecretId="list/item0", SecretString=f"v{i}")
    ids = []
    token = None
    while True:
        kw = {"SecretId": "list/item0", "MaxResults": 1, "IncludeDeprecated": True}
        if token:
            kw["NextToken"] = token
        r = sm.list_secret_version_ids(**kw)
        ids += [v["VersionId"] for v in r["Versions"]]
        ck.true(len(r["Versions"]) <= 1, "ListSecretVersionIds MaxResults=1", aws_only=True)
        token = r.get("NextToken")
        if not token or len(ids) > 10:
            break
    ck.eq(len(set(ids)), 4, "ListSecretVersionIds pages through 4 versions")
    c.error(sm.list_secret_version_ids, "ResourceNotFoundException",
            "ListSecretVersionIds unknown", aws_only=True, SecretId="list/nope")

    # BatchGetSecretValue (boto3 1.43; not in boto3 1.26).
    if not hasattr(sm, "batch_get_secret_value"):
        print(f"SKIP part: BatchGetSecretValue is not in boto3 "
              f"{__import__('boto3').__version__} (needs >= 1.33); run with the pyenv python3",
              flush=True)
        ck.note("BatchGetSecretValue skipped: this boto3 lacks it")
        return
    r = sm.batch_get_secret_value(SecretIdList=["list/item1", "list/item2", "list/nope"])
    got = sorted((v["Name"], v["SecretString"]) for v in r["SecretValues"])
    ck.eq(got, [("list/item1", "value-1"), ("list/item2", "value-2")],
          "BatchGetSecretValue by ids")
    ck.eq([(e.get("SecretId"), e.get("ErrorCode")) for e in r.get("Errors", [])],
          [("list/nope", "ResourceNotFoundException")], "BatchGetSecretValue Errors entry",
          aws_only=True)
    ck.true(all("ARN" in v and "VersionId" in v and "VersionStages" in v
                for v in r["SecretValues"]), "BatchGetSecretValue entries complete")
    seen = []
    token = None
    for _ in range(10):
        kw = {"Filters": [{"Key": "tag-value", "Values": ["even"]}], "MaxResults": 2}
        if token:
            kw["NextToken"] = token
        r = sm.batch_get_secret_value(**kw)
        seen += [v["Name"] for v in r["SecretValues"]]
        token = r.get("NextToken")
        if not token:
            break
    ck.eq(sorted(seen), ["list/item0", "list/item2", "list/item4"],
          "BatchGetSecretValue by filter, paged")
    c.error(sm.batch_get_secret_value, "InvalidParameterException",
            "BatchGetSecretValue ids and filters", aws_only=True, SecretIdList=["list/item1"],
            Filters=[{"Key": "name", "Values": ["list/"]}])
    c.error(sm.batch_get_secret_value, "InvalidParameterException",
            "BatchGetSecretValue with neither", aws_only=True)


def sm_delete_restore(t, ck, c, s):
    sm = t.boto3_client("secretsmanager")
    r = sm.create_secret(Name="del/a", SecretString=s[5])
    arn = r["ARN"]
    before = now_utc()
    r = sm.delete_secret(SecretId="del/a", RecoveryWindowInDays=7)
    ck.eq((r["ARN"], r["Name"]), (arn, "del/a"), "DeleteSecret response")
    delta = r["DeletionDate"] - before
    ck.true(datetime.timedelta(days=7) - datetime.timedelta(hours=1) < delta <
            datetime.timedelta(days=7, hours=1), "DeletionDate is 7 days out", str(delta))
    # A pending-deletion secret behaves as on AWS.
    c.error(sm.get_secret_value, "InvalidRequestException", "get while pending deletion",
            SecretId="del/a")
    c.error(sm.put_secret_value, "InvalidRequestException", "put while pending deletion",
            aws_only=True, SecretId="del/a", SecretString="x")
    c.error(sm.update_secret, "InvalidRequestException", "update while pending deletion",
            aws_only=True, SecretId="del/a", Description="x")
    d = sm.describe_secret(SecretId="del/a")
    ck.true(isinstance(d.get("DeletedDate"), datetime.datetime),
            "DescribeSecret shows DeletedDate", repr(d.get("DeletedDate")))
    listed = [x["Name"] for pg in sm.get_paginator("list_secrets").paginate()
              for x in pg["SecretList"]]
    ck.true("del/a" not in listed, "ListSecrets hides a pending-deletion secret")
    if has_member(sm, "ListSecrets", "IncludePlannedDeletion"):
        listed = [x["Name"] for pg in sm.get_paginator("list_secrets").paginate(
            IncludePlannedDeletion=True) for x in pg["SecretList"]]
        ck.true("del/a" in listed, "IncludePlannedDeletion lists it", aws_only=True)
    else:
        ck.note("IncludePlannedDeletion is not in this boto3's model; not checked here")
    c.error(sm.create_secret, "InvalidRequestException", "create over a pending-deletion name",
            aws_only=True, Name="del/a", SecretString="x")
    c.error(sm.delete_secret, "InvalidRequestException", "delete again while pending",
            aws_only=True, SecretId="del/a")
    r = sm.restore_secret(SecretId="del/a")
    ck.eq((r["ARN"], r["Name"]), (arn, "del/a"), "RestoreSecret response")
    ck.secret_eq(sm.get_secret_value(SecretId="del/a")["SecretString"], s[5],
                 "restored secret reads its value", aws_only=True)
    ck.true(sm.describe_secret(SecretId="del/a").get("DeletedDate") is None,
            "restored: no DeletedDate")
    r = sm.restore_secret(SecretId="del/a")
    ck.eq(r["ARN"], arn, "RestoreSecret on a live secret is a no-op")
    c.error(sm.restore_secret, "ResourceNotFoundException", "RestoreSecret unknown",
            SecretId="del/nope")
    # Recovery window rules.
    for days in (6, 31):
        c.error(sm.delete_secret, "InvalidParameterException", f"RecoveryWindowInDays={days}",
                SecretId="del/a", RecoveryWindowInDays=days)
    c.error(sm.delete_secret, "InvalidParameterException", "window with force",
            SecretId="del/a", RecoveryWindowInDays=7, ForceDeleteWithoutRecovery=True)
    r = sm.delete_secret(SecretId="del/a", RecoveryWindowInDays=30)
    ck.true(r["DeletionDate"] - before > datetime.timedelta(days=29), "30-day window")
    # Force deletion of a pending secret, then of a live one; the name is free again.
    r = sm.delete_secret(SecretId="del/a", ForceDeleteWithoutRecovery=True)
    ck.eq(r["Name"], "del/a", "force delete of a pending secret")
    c.error(sm.describe_secret, "ResourceNotFoundException", "force-deleted secret is gone",
            SecretId="del/a")
    c.error(sm.get_secret_value, "ResourceNotFoundException", "force-deleted: get fails",
            SecretId=arn)
    r = sm.create_secret(Name="del/a", SecretString=s[6])
    ck.true(r["ARN"] != arn or t.kind != "coffer", "re-created secret has a new ARN suffix",
            r["ARN"])
    ck.secret_eq(sm.get_secret_value(SecretId="del/a")["SecretString"], s[6],
                 "re-created secret reads the new value")
    c.error(sm.get_secret_value, "ResourceNotFoundException", "old ARN does not reach the "
            "re-created secret", aws_only=True, SecretId=arn)
    sm.delete_secret(SecretId="del/a", ForceDeleteWithoutRecovery=True)
    c.error(sm.delete_secret, "ResourceNotFoundException", "delete unknown",
            SecretId="del/nope")
    # Default window is 30 days.
    sm.create_secret(Name="del/b", SecretString="x")
    r = sm.delete_secret(SecretId="del/b")
    ck.true(r["DeletionDate"] - before > datetime.timedelta(days=29),
            "default recovery window is 30 days")


def sm_rotation_tags_password(t, ck, c):
    sm = t.boto3_client("secretsmanager")
    sm.create_secret(Name="rot/a", SecretString="initial")
    if t.kind != "coffer":
        ck.note("rotation part skipped: moto wants the Lambda function to exist")
        return sm_tags_password(t, ck, c)
    c.error(sm.rotate_secret, "InvalidRequestException", "RotateSecret with no hook",
            aws_only=True, SecretId="rot/a")
    r = sm.rotate_secret(SecretId="rot/a", RotationLambdaARN=LAMBDA,
                         RotationRules={"AutomaticallyAfterDays": 30}, RotateImmediately=False)
    ck.eq(r["Name"], "rot/a", "RotateSecret (not immediately)")
    d = sm.describe_secret(SecretId="rot/a")
    ck.eq((d.get("RotationEnabled"), d.get("RotationLambdaARN"),
           d.get("RotationRules", {}).get("AutomaticallyAfterDays")), (True, LAMBDA, 30),
          "DescribeSecret rotation configuration")
    if has_member(sm, "DescribeSecret", "NextRotationDate", output=True):
        ck.true(isinstance(d.get("NextRotationDate"), datetime.datetime),
                "NextRotationDate set", repr(d.get("NextRotationDate")), aws_only=True)
    r = sm.cancel_rotate_secret(SecretId="rot/a")
    ck.eq(r["Name"], "rot/a", "CancelRotateSecret")
    ck.eq(sm.describe_secret(SecretId="rot/a").get("RotationEnabled"), False,
          "rotation off after cancel")
    c.error(sm.rotate_secret, "InvalidParameterException", "both AutomaticallyAfterDays and "
            "ScheduleExpression", aws_only=True, SecretId="rot/a", RotationLambdaARN=LAMBDA,
            RotationRules={"AutomaticallyAfterDays": 30, "ScheduleExpression": "rate(10 days)"})
    c.error(sm.rotate_secret, "ResourceNotFoundException", "RotateSecret unknown",
            SecretId="rot/nope", RotationLambdaARN=LAMBDA,
            RotationRules={"AutomaticallyAfterDays": 30})
    c.error(sm.cancel_rotate_secret, "ResourceNotFoundException", "CancelRotateSecret unknown",
            SecretId="rot/nope")
    if t.kind == "coffer":
        # RotateImmediately: an AWSPENDING placeholder the rotation engine fills; cancel drops it.
        pending = tok()
        r = sm.rotate_secret(SecretId="rot/a", ClientRequestToken=pending,
                             RotationRules={"ScheduleExpression": "rate(10 days)"})
        ck.eq(r.get("VersionId"), pending, "RotateSecret immediately returns the pending id")
        ck.eq(stages_of(sm, "rot/a").get(pending), ["AWSPENDING"], "AWSPENDING placeholder")
        c.error(sm.rotate_secret, "InvalidRequestException", "second rotation while one is "
                "in progress", SecretId="rot/a")
        r = sm.cancel_rotate_secret(SecretId="rot/a")
        ck.eq(r.get("VersionId"), pending, "CancelRotateSecret names the cancelled version")
        ck.true(pending not in stages_of(sm, "rot/a", include_deprecated=True),
                "cancelled placeholder removed")

    sm_tags_password(t, ck, c)


def sm_tags_password(t, ck, c):
    sm = t.boto3_client("secretsmanager")
    sm.tag_resource(SecretId="rot/a", Tags=[{"Key": "owner", "Value": "me"},
                                            {"Key": "env", "Value": "dev"}])
    sm.tag_resource(SecretId="rot/a", Tags=[{"Key": "env", "Value": "prod"}])
    sm.untag_resource(SecretId="rot/a", TagKeys=["owner", "absent"])
    tags = sm.describe_secret(SecretId="rot/a").get("Tags", [])
    ck.eq(sorted((x["Key"], x["Value"]) for x in tags), [("env", "prod")],
          "TagResource replaces, UntagResource removes")
    c.error(sm.tag_resource, "ResourceNotFoundException", "TagResource unknown",
            SecretId="rot/nope", Tags=[{"Key": "a", "Value": "b"}])
    c.error(sm.untag_resource, "ResourceNotFoundException", "UntagResource unknown",
            SecretId="rot/nope", TagKeys=["a"])
    c.error(sm.tag_resource, "InvalidParameterException", "tag key with aws: prefix",
            aws_only=True, SecretId="rot/a", Tags=[{"Key": "aws:x", "Value": "b"}])

    # GetRandomPassword.
    p = sm.get_random_password()["RandomPassword"]
    ck.eq(len(p), 32, "GetRandomPassword default length 32")
    p = sm.get_random_password(PasswordLength=40, ExcludePunctuation=True)["RandomPassword"]
    ck.true(len(p) == 40 and p.isalnum(), "ExcludePunctuation: 40 alphanumerics")
    ck.true(any(ch.isupper() for ch in p) and any(ch.islower() for ch in p) and
            any(ch.isdigit() for ch in p), "RequireEachIncludedType (default) honoured")
    p = sm.get_random_password(PasswordLength=64, ExcludeCharacters="abcXYZ0",
                               ExcludeNumbers=True, IncludeSpace=True)["RandomPassword"]
    ck.true(len(p) == 64 and not set(p) & set("abcXYZ0123456789"),
            "ExcludeCharacters + ExcludeNumbers honoured")
    p = sm.get_random_password(PasswordLength=12, ExcludeUppercase=True, ExcludeLowercase=True,
                               ExcludePunctuation=True)["RandomPassword"]
    ck.true(p.isdigit() and len(p) == 12, "digits only")
    c.error(sm.get_random_password, "InvalidParameterException", "every class excluded",
            aws_only=True, ExcludeUppercase=True, ExcludeLowercase=True,
            ExcludePunctuation=True, ExcludeNumbers=True)
    c.error(sm.get_random_password, "ValidationException", "PasswordLength 4097",
            aws_only=True, PasswordLength=4097)


# ------------------------------------------------------------------------------------------------
# KMS


def kms_suite(t, ck, c):
    kms = t.boto3_client("kms")
    m1 = kms.create_key(Description="e2e key one",
                        Tags=[{"TagKey": "env", "TagValue": "dev"}])["KeyMetadata"]
    m2 = kms.create_key(Description="e2e key two")["KeyMetadata"]
    k1, k2, arn1, arn2 = m1["KeyId"], m2["KeyId"], m1["Arn"], m2["Arn"]
    ck.true(re.fullmatch(r"[0-9a-f-]{36}", k1), "CreateKey KeyId is a UUID", k1)
    ck.true(re.fullmatch(r"arn:aws:kms:us-east-1:\d{12}:key/" + re.escape(k1), arn1),
            "CreateKey Arn", arn1)
    ck.eq(tuple(m1.get(f) for f in ("KeyState", "Enabled", "KeyUsage", "KeySpec", "KeyManager",
                                     "Origin", "Description")),
          ("Enabled", True, "ENCRYPT_DECRYPT", "SYMMETRIC_DEFAULT", "CUSTOMER", "AWS_KMS",
           "e2e key one"), "CreateKey KeyMetadata", aws_only=True)
    c.error(kms.create_key, "UnsupportedOperationException", "asymmetric keys are refused",
            aws_only=True, KeySpec="RSA_2048", KeyUsage="SIGN_VERIFY")

    # Aliases.
    kms.create_alias(AliasName="alias/e2e-one", TargetKeyId=k1)
    kms.create_alias(AliasName="alias/e2e-two", TargetKeyId=arn2)
    alias_arn1 = arn1.split(":key/")[0] + ":alias/e2e-one"
    for ident in (k1, arn1, "alias/e2e-one", alias_arn1):
        ck.eq(kms.describe_key(KeyId=ident)["KeyMetadata"]["KeyId"], k1,
              f"DescribeKey by {ident.split(':')[-1] if ident.startswith('arn') else ident}")
    c.error(kms.describe_key, "NotFoundException", "DescribeKey unknown id",
            KeyId=str(uuid.uuid4()))
    c.error(kms.describe_key, "NotFoundException", "DescribeKey unknown alias",
            KeyId="alias/e2e-nope")
    c.error(kms.create_alias, "AlreadyExistsException", "CreateAlias duplicate",
            AliasName="alias/e2e-one", TargetKeyId=k2)
    c.error(kms.create_alias, "NotFoundException", "CreateAlias to an unknown key",
            AliasName="alias/e2e-x", TargetKeyId=str(uuid.uuid4()))
    c.error(kms.create_alias, "InvalidAliasNameException", "CreateAlias without alias/",
            aws_only=True, AliasName="e2e-bad", TargetKeyId=k1)
    al = kms.list_aliases(KeyId=k1)["Aliases"]
    ck.eq([(a["AliasName"], a.get("TargetKeyId")) for a in al], [("alias/e2e-one", k1)],
          "ListAliases KeyId filter")
    ck.eq(al[0].get("AliasArn") if al else None, alias_arn1, "ListAliases AliasArn")
    names = [a["AliasName"] for pg in kms.get_paginator("list_aliases").paginate(
        PaginationConfig={"PageSize": 1}) for a in pg["Aliases"]]
    ck.true({"alias/e2e-one", "alias/e2e-two"} <= set(names), "ListAliases paginator")
    ck.eq(len(names), len(set(names)), "ListAliases pages do not repeat")
    kms.create_alias(AliasName="alias/e2e-temp", TargetKeyId=k1)
    kms.delete_alias(AliasName="alias/e2e-temp")
    c.error(kms.describe_key, "NotFoundException", "deleted alias no longer resolves",
            KeyId="alias/e2e-temp")
    c.error(kms.delete_alias, "NotFoundException", "DeleteAlias unknown",
            AliasName="alias/e2e-temp")
    keys = [k["KeyId"] for pg in kms.get_paginator("list_keys").paginate(
        PaginationConfig={"PageSize": 1}) for k in pg["Keys"]]
    ck.true({k1, k2} <= set(keys), "ListKeys paginator finds both keys")
    ck.eq(len(keys), len(set(keys)), "ListKeys pages do not repeat")
    r = kms.list_keys(Limit=1)
    ck.true(r.get("Truncated") and r.get("NextMarker"), "ListKeys Limit=1 is truncated",
            aws_only=True)

    # Encrypt / Decrypt with EncryptionContext bound as associated data.
    pt = os.urandom(100)
    ctx = {"app": "e2e", "env": "dev"}
    e = kms.encrypt(KeyId="alias/e2e-one", Plaintext=pt, EncryptionContext=ctx)
    blob = e["CiphertextBlob"]
    ck.eq(e["KeyId"], arn1, "Encrypt answers the key ARN")
    ck.true(pt not in blob, "ciphertext does not contain the plaintext")
    d = kms.decrypt(CiphertextBlob=blob, EncryptionContext={"env": "dev", "app": "e2e"})
    ck.secret_eq(d["Plaintext"], pt, "Decrypt (key id from the blob; context order free)")
    ck.eq(d["KeyId"], arn1, "Decrypt names the key")
    ck.secret_eq(kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx, KeyId=k1)["Plaintext"],
                 pt, "Decrypt with the right KeyId")
    c.error(kms.decrypt, "IncorrectKeyException", "blob of key 1 refused under key 2",
            aws_only=True, CiphertextBlob=blob, EncryptionContext=ctx, KeyId=k2)
    c.error(kms.decrypt, "InvalidCiphertextException", "other EncryptionContext refused",
            CiphertextBlob=blob, EncryptionContext={"app": "e2e", "env": "prod"})
    c.error(kms.decrypt, "InvalidCiphertextException", "missing EncryptionContext refused",
            CiphertextBlob=blob)
    c.error(kms.decrypt, "InvalidCiphertextException", "extra EncryptionContext pair refused",
            CiphertextBlob=blob, EncryptionContext=dict(ctx, extra="1"))
    flipped = bytearray(blob)
    flipped[-5] ^= 0x01
    c.error(kms.decrypt, "InvalidCiphertextException", "altered blob refused",
            CiphertextBlob=bytes(flipped), EncryptionContext=ctx)
    c.error(kms.decrypt, "InvalidCiphertextException", "garbage blob refused",
            CiphertextBlob=b"not a ciphertext blob at all")
    c.error(kms.encrypt, "NotFoundException", "Encrypt under an unknown key",
            KeyId=str(uuid.uuid4()), Plaintext=b"x")
    c.error(kms.encrypt, "ValidationException", "Plaintext over 4096 bytes", aws_only=True,
            KeyId=k1, Plaintext=b"x" * 4097)

    # ReEncrypt: source key from the blob, new key and context.
    r = kms.re_encrypt(CiphertextBlob=blob, SourceEncryptionContext=ctx, DestinationKeyId=k2,
                       DestinationEncryptionContext={"moved": "yes"})
    ck.eq((r["SourceKeyId"], r["KeyId"]), (arn1, arn2), "ReEncrypt SourceKeyId/KeyId")
    blob2 = r["CiphertextBlob"]
    ck.secret_eq(kms.decrypt(CiphertextBlob=blob2, EncryptionContext={"moved": "yes"})
                 ["Plaintext"], pt, "re-encrypted blob decrypts under key 2")
    c.error(kms.decrypt, "IncorrectKeyException", "re-encrypted blob refused under key 1",
            aws_only=True, CiphertextBlob=blob2, EncryptionContext={"moved": "yes"}, KeyId=k1)
    c.error(kms.re_encrypt, "InvalidCiphertextException", "ReEncrypt with the wrong source "
            "context", CiphertextBlob=blob, SourceEncryptionContext={"app": "other"},
            DestinationKeyId=k2)
    c.error(kms.re_encrypt, "IncorrectKeyException", "ReEncrypt with the wrong SourceKeyId",
            aws_only=True, CiphertextBlob=blob, SourceEncryptionContext=ctx, SourceKeyId=k2,
            DestinationKeyId=k2)

    # Data keys.
    dk = kms.generate_data_key(KeyId=k1, KeySpec="AES_256", EncryptionContext={"dk": "1"})
    ck.eq((len(dk["Plaintext"]), dk["KeyId"]), (32, arn1), "GenerateDataKey AES_256")
    ck.secret_eq(kms.decrypt(CiphertextBlob=dk["CiphertextBlob"], EncryptionContext={"dk": "1"})
                 ["Plaintext"], dk["Plaintext"], "data key blob decrypts to its plaintext")
    dk = kms.generate_data_key(KeyId="alias/e2e-two", NumberOfBytes=64)
    ck.eq(len(dk["Plaintext"]), 64, "GenerateDataKey NumberOfBytes=64")
    c.error(kms.generate_data_key, "ValidationException", "GenerateDataKey with neither spec "
            "nor size", aws_only=True, KeyId=k1)
    dk = kms.generate_data_key_without_plaintext(KeyId=k1, KeySpec="AES_128")
    ck.true("Plaintext" not in dk, "WithoutPlaintext has no Plaintext")
    ck.eq(len(kms.decrypt(CiphertextBlob=dk["CiphertextBlob"])["Plaintext"]), 16,
          "WithoutPlaintext blob decrypts to 16 bytes")
    ck.eq(len(kms.generate_random(NumberOfBytes=48)["Plaintext"]), 48, "GenerateRandom")

    # Rotation: old ciphertexts keep decrypting.
    st = kms.get_key_rotation_status(KeyId=k1)
    ck.eq(st["KeyRotationEnabled"], False, "rotation off by default")
    kms.enable_key_rotation(KeyId=k1)
    st = kms.get_key_rotation_status(KeyId=k1)
    ck.eq(st["KeyRotationEnabled"], True, "EnableKeyRotation")
    if has_member(kms, "EnableKeyRotation", "RotationPeriodInDays"):
        ck.eq(st.get("RotationPeriodInDays"), 365, "default rotation period", aws_only=True)
        kms.enable_key_rotation(KeyId=k1, RotationPeriodInDays=90)
        c.error(unvalidated(t, "kms").enable_key_rotation, "ValidationException",
                "RotationPeriodInDays 10",
                aws_only=True, KeyId=k1, RotationPeriodInDays=10)
        ck.eq(kms.get_key_rotation_status(KeyId=k1).get("RotationPeriodInDays"), 90,
              "RotationPeriodInDays=90", aws_only=True)
    if hasattr(kms, "rotate_key_on_demand"):
        r = kms.rotate_key_on_demand(KeyId=k1)
        ck.eq(r["KeyId"], k1, "RotateKeyOnDemand answers the key id")
        r = kms.rotate_key_on_demand(KeyId=arn1)
        ck.secret_eq(kms.decrypt(CiphertextBlob=blob, EncryptionContext=ctx)["Plaintext"], pt,
                     "blob from before two rotations still decrypts")
        e3 = kms.encrypt(KeyId=k1, Plaintext=pt, EncryptionContext=ctx)["CiphertextBlob"]
        ck.secret_eq(kms.decrypt(CiphertextBlob=e3, EncryptionContext=ctx)["Plaintext"], pt,
                     "blob after rotation decrypts")
        ck.true(e3 != blob, "new blob differs")
        c.error(kms.rotate_key_on_demand, "NotFoundException", "RotateKeyOnDemand by alias",
                aws_only=True, KeyId="alias/e2e-one")
        c.error(kms.rotate_key_on_demand, "NotFoundException", "RotateKeyOnDemand unknown",
                KeyId=str(uuid.uuid4()))
    else:
        print(f"SKIP part: RotateKeyOnDemand is not in boto3 {__import__('boto3').__version__}",
              flush=True)
        ck.note("RotateKeyOnDemand skipped: this boto3 lacks it")
    kms.disable_key_rotation(KeyId=k1)
    ck.eq(kms.get_key_rotation_status(KeyId=k1)["KeyRotationEnabled"], False,
          "DisableKeyRotation")
    c.error(kms.get_key_rotation_status, "NotFoundException", "GetKeyRotationStatus unknown",
            KeyId=str(uuid.uuid4()))

    # Disable / enable.
    kms.disable_key(KeyId=k2)
    m = kms.describe_key(KeyId=k2)["KeyMetadata"]
    ck.eq((m["KeyState"], m["Enabled"]), ("Disabled", False), "DisableKey")
    c.error(kms.encrypt, "DisabledException", "Encrypt under a disabled key", aws_only=True,
            KeyId=k2, Plaintext=b"x")
    c.error(kms.decrypt, "DisabledException", "Decrypt under a disabled key",
            aws_only=True, CiphertextBlob=blob2, EncryptionContext={"moved": "yes"})
    c.error(kms.generate_data_key, "DisabledException", "GenerateDataKey under a disabled key",
            aws_only=True, KeyId=k2, KeySpec="AES_256")
    kms.enable_key(KeyId=k2)
    ck.eq(kms.describe_key(KeyId=k2)["KeyMetadata"]["KeyState"], "Enabled", "EnableKey")
    ck.secret_eq(kms.decrypt(CiphertextBlob=blob2, EncryptionContext={"moved": "yes"})
                 ["Plaintext"], pt, "decrypts again after EnableKey")
    c.error(kms.disable_key, "NotFoundException", "DisableKey unknown", KeyId=str(uuid.uuid4()))

    # Scheduled deletion and cancel.
    m3 = kms.create_key(Description="to delete")["KeyMetadata"]
    k3 = m3["KeyId"]
    b3 = kms.encrypt(KeyId=k3, Plaintext=b"bye")["CiphertextBlob"]
    before = now_utc()
    r = kms.schedule_key_deletion(KeyId=k3, PendingWindowInDays=7)
    ck.eq((r["KeyId"], r.get("KeyState"), r.get("PendingWindowInDays")),
          (m3["Arn"], "PendingDeletion", 7), "ScheduleKeyDeletion response", aws_only=True)
    delta = r["DeletionDate"] - before
    ck.true(datetime.timedelta(days=6, hours=23) < delta < datetime.timedelta(days=7, hours=1),
            "DeletionDate 7 days out", str(delta))
    m = kms.describe_key(KeyId=k3)["KeyMetadata"]
    ck.eq((m["KeyState"], m["Enabled"]), ("PendingDeletion", False), "DescribeKey pending")
    ck.true(isinstance(m.get("DeletionDate"), datetime.datetime), "DescribeKey DeletionDate")
    c.error(kms.encrypt, "KMSInvalidStateException", "Encrypt while pending deletion",
            aws_only=True, KeyId=k3, Plaintext=b"x")
    c.error(kms.decrypt, "KMSInvalidStateException", "Decrypt while pending deletion",
            aws_only=True, CiphertextBlob=b3)
    c.error(kms.schedule_key_deletion, "KMSInvalidStateException", "schedule twice",
            aws_only=True, KeyId=k3)
    c.error(kms.enable_key, "KMSInvalidStateException", "EnableKey while pending",
            aws_only=True, KeyId=k3)
    c.error(kms.schedule_key_deletion, "ValidationException", "PendingWindowInDays 6",
            aws_only=True, KeyId=k1, PendingWindowInDays=6)
    r = kms.cancel_key_deletion(KeyId=k3)
    ck.eq(r["KeyId"], m3["Arn"], "CancelKeyDeletion answers the key ARN", aws_only=True)
    ck.eq(kms.describe_key(KeyId=k3)["KeyMetadata"]["KeyState"], "Disabled",
          "cancelled key is Disabled (as on AWS)")
    kms.enable_key(KeyId=k3)
    ck.eq(kms.decrypt(CiphertextBlob=b3)["Plaintext"], b"bye", "cancelled key decrypts again")
    c.error(kms.cancel_key_deletion, "KMSInvalidStateException", "cancel when not pending",
            aws_only=True, KeyId=k3)
    return k1, k2


def key_links(t, ck, c, s, k1):
    """Parameters and secrets name the KMS key that protects them; default keys on first use."""
    sm = t.boto3_client("secretsmanager")
    ssm = t.boto3_client("ssm")
    kms = t.boto3_client("kms")
    before = {a["AliasName"]: a.get("TargetKeyId") for pg in
              kms.get_paginator("list_aliases").paginate() for a in pg["Aliases"]}
    sm.create_secret(Name="keys/default", SecretString=s[7])
    ssm.put_parameter(Name="/keys/default", Value=s[8], Type="SecureString")
    after = {a["AliasName"]: a.get("TargetKeyId") for pg in
             kms.get_paginator("list_aliases").paginate() for a in pg["Aliases"]}
    for alias in ("alias/aws/secretsmanager", "alias/aws/ssm"):
        ck.true(after.get(alias), f"{alias} has a key after first use", repr(after.get(alias)),
                aws_only=True)
        if t.kind == "coffer" and after.get(alias):
            m = kms.describe_key(KeyId=alias)["KeyMetadata"]
            ck.eq((m["KeyManager"], m["KeyState"]), ("AWS", "Enabled"), f"{alias} is AWS-managed")
            c.error(kms.disable_key, "UnsupportedOperationException", f"DisableKey {alias}",
                    KeyId=alias)
    ck.true(before is not None, "aliases listed before first use")
    vs = sm.list_secret_version_ids(SecretId="keys/default")["Versions"]
    ck.eq(vs[0].get("KmsKeyIds"), ["DEFAULT"], "default-key secret: KmsKeyIds [DEFAULT]",
          aws_only=True)

    sm.create_secret(Name="keys/custom", SecretString=s[9], KmsKeyId="alias/e2e-one")
    d = sm.describe_secret(SecretId="keys/custom")
    ck.eq(d.get("KmsKeyId"), "alias/e2e-one", "DescribeSecret KmsKeyId names the key",
          aws_only=True)
    vs = sm.list_secret_version_ids(SecretId="keys/custom")["Versions"]
    ck.eq(vs[0].get("KmsKeyIds"), ["alias/e2e-one"], "ListSecretVersionIds KmsKeyIds",
          aws_only=True)
    ssm.put_parameter(Name="/keys/custom", Value=s[10], Type="SecureString", KeyId=k1)
    p = ssm.describe_parameters(ParameterFilters=[{"Key": "Name",
                                                   "Values": ["/keys/custom"]}])["Parameters"]
    ck.eq([x.get("KeyId") for x in p], [k1], "describe_parameters KeyId names the key")
    ck.secret_eq(ssm.get_parameter(Name="/keys/custom", WithDecryption=True)["Parameter"]["Value"],
                 s[10], "parameter under a customer key decrypts")
    c.error(sm.create_secret, "EncryptionFailure", "CreateSecret under an unknown key",
            aws_only=True, Name="keys/bad", SecretString="x", KmsKeyId="alias/e2e-nope")

    if t.kind == "coffer":  # moto does not tie secrets to key state
        kms.disable_key(KeyId=k1)
        c.error(sm.get_secret_value, "DecryptionFailure", "secret under a disabled key",
                SecretId="keys/custom")
        c.error(sm.put_secret_value, "EncryptionFailure", "put under a disabled key",
                SecretId="keys/custom", SecretString="x")
        c.error(ssm.get_parameter, "InvalidKeyId", "SecureString under a disabled key",
                Name="/keys/custom", WithDecryption=True)
        c.error(ssm.get_parameters_by_path, "InvalidKeyId", "by path under a disabled key",
                Path="/keys", WithDecryption=True)
        ck.eq(ssm.get_parameter(Name="/keys/custom")["Parameter"]["Type"], "SecureString",
              "without decryption a SecureString reads under a disabled key")
        c.error(ssm.put_parameter, "InvalidKeyId", "PutParameter under a disabled key",
                Name="/keys/custom", Value="x", Type="SecureString", KeyId=k1, Overwrite=True)
        kms.enable_key(KeyId=k1)
        ck.secret_eq(ssm.get_parameter(Name="/keys/custom", WithDecryption=True)
                     ["Parameter"]["Value"], s[10], "parameter readable again after EnableKey")
        ck.secret_eq(sm.get_secret_value(SecretId="keys/custom")["SecretString"], s[9],
                     "readable again after EnableKey")
    # UpdateSecret KmsKeyId: values re-sealed under the new key, still readable.
    sm.update_secret(SecretId="keys/custom", KmsKeyId="alias/e2e-two")
    ck.eq(sm.describe_secret(SecretId="keys/custom").get("KmsKeyId"), "alias/e2e-two",
          "UpdateSecret KmsKeyId", aws_only=True)
    ck.secret_eq(sm.get_secret_value(SecretId="keys/custom")["SecretString"], s[9],
                 "readable after the key change")
    if t.kind == "coffer":
        kms.disable_key(KeyId=k1)
        ck.secret_eq(sm.get_secret_value(SecretId="keys/custom")["SecretString"], s[9],
                     "no longer needs the old key")
        kms.enable_key(KeyId=k1)


def main():
    def body(args, ck):
        try:
            import boto3
        except ImportError:
            h.skip(f"boto3 is not installed for {sys.executable}")
        print(f"python {sys.executable}, boto3 {boto3.__version__}")
        t = h.make_target(args)
        canaries = [h.new_canary() for _ in range(11)]
        c = Calls(ck, canaries)
        try:
            sm_create_get_put(t, ck, c, canaries)
            sm_list_and_batch(t, ck, c)
            sm_delete_restore(t, ck, c, canaries)
            sm_rotation_tags_password(t, ck, c)
            k1, _ = kms_suite(t, ck, c)
            key_links(t, ck, c, canaries, k1)
            if t.kind == "coffer":
                t.stop()
                t.assert_no_canary_in_logs(ck, canaries)
        finally:
            t.cleanup()

    return h.run_main("e2e_sm_kms_boto3", body)


if __name__ == "__main__":
    sys.exit(main())
