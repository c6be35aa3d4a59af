#!/usr/bin/env python3
"""SSM Parameter Store through boto3 (run with the pyenv python3 for boto3 1.43 and with Debian's
/usr/bin/python3 for boto3 1.26): every operation, paginators, modelled exceptions.

Usage: e2e_ssm_boto3.py --coffer build/coffer [--target moto]
"""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

P = "/coffer/b"


def run_suite(t, ck, canaries):
    import botocore.exceptions

    ssm = t.boto3_client("ssm")
    is_coffer = t.kind == "coffer"
    secret1, secret2 = canaries

    def expect_error(fn, code, what, aws_only=False, **kw):
        try:
            fn(**kw)
        except botocore.exceptions.ClientError as e:
            got = e.response.get("Error", {}).get("Code")
            status = e.response.get("ResponseMetadata", {}).get("HTTPStatusCode")
            ck.eq((got, status), (code, 400), what, aws_only=aws_only)
            return e
        ck.true(False, what, f"expected {code}, call succeeded", aws_only=aws_only)
        return None

    # put-parameter
    r = ssm.put_parameter(Name=f"{P}/str", Value="hello", Type="String", Description="d",
                          Tags=[{"Key": "env", "Value": "dev"}], Tier="Standard",
                          AllowedPattern="^[a-z]+$", DataType="text")
    ck.eq((r["Version"], r["Tier"]), (1, "Standard"), "put_parameter String")
    ssm.put_parameter(Name=f"{P}/list", Value="a,b,c", Type="StringList")
    ssm.put_parameter(Name=f"{P}/secure", Value=secret1, Type="SecureString")
    ssm.put_parameter(Name=f"{P}/secure_kms", Value=secret2, Type="SecureString",
                      KeyId="alias/aws/ssm")
    r = ssm.put_parameter(Name=f"{P}/str", Value="world", Overwrite=True)
    ck.eq(r["Version"], 2, "overwrite -> Version 2")

    # modelled exception classes
    try:
        ssm.get_parameter(Name=f"{P}/nope")
        ck.true(False, "client.exceptions.ParameterNotFound raised", "no exception")
    except ssm.exceptions.ParameterNotFound as e:
        ck.eq(e.response["Error"]["Code"], "ParameterNotFound",
              "client.exceptions.ParameterNotFound raised")
    try:
        ssm.put_parameter(Name=f"{P}/str", Value="x", Type="String")
        ck.true(False, "client.exceptions.ParameterAlreadyExists raised", "no exception")
    except ssm.exceptions.ParameterAlreadyExists:
        ck.true(True, "client.exceptions.ParameterAlreadyExists raised")
    expect_error(ssm.get_parameter, "ParameterVersionNotFound",
                 "name:9 -> ParameterVersionNotFound", Name=f"{P}/str:9")
    expect_error(ssm.put_parameter, "ValidationException", "value > 4096 -> ValidationException",
                 aws_only=True, Name="/coffer/x/big", Value="x" * 4097, Type="String")
    expect_error(ssm.put_parameter, "HierarchyLevelLimitExceededException", "16 levels",
                 aws_only=True, Name="".join(f"/l{i}" for i in range(16)), Value="x",
                 Type="String")
    if is_coffer:  # moto 5.2 leaves an empty entry behind here that breaks later listings
        expect_error(ssm.label_parameter_version, "ParameterNotFound", "label missing parameter",
                     Name=f"{P}/nope", Labels=["x"])

    # get-parameter variants
    p = ssm.get_parameter(Name=f"{P}/str")["Parameter"]
    ck.eq((p["Value"], p["Version"], p["Type"]), ("world", 2, "String"), "get_parameter latest")
    ck.true(isinstance(p.get("LastModifiedDate"), datetime.datetime),
            "LastModifiedDate parses to datetime", repr(p.get("LastModifiedDate")))
    p = ssm.get_parameter(Name=f"{P}/str:1")["Parameter"]
    ck.eq((p["Value"], p["Version"]), ("hello", 1), "get_parameter name:1")
    p = ssm.get_parameter(Name=f"{P}/secure", WithDecryption=True)["Parameter"]
    ck.secret_eq(p["Value"], secret1, "SecureString decrypts")
    p = ssm.get_parameter(Name=f"{P}/secure", WithDecryption=False)["Parameter"]
    ck.secret_ne(p["Value"], secret1, "SecureString without decryption hides plaintext",
                 aws_only=True)

    # labels
    r = ssm.label_parameter_version(Name=f"{P}/str", ParameterVersion=1, Labels=["prod", "1bad"])
    ck.eq(r.get("InvalidLabels"), ["1bad"], "InvalidLabels")
    p = ssm.get_parameter(Name=f"{P}/str:prod")["Parameter"]
    ck.eq(p["Version"], 1, "name:label resolves")
    r = ssm.unlabel_parameter_version(Name=f"{P}/str", ParameterVersion=1, Labels=["prod", "zz"])
    ck.eq((r.get("RemovedLabels"), r.get("InvalidLabels")), (["prod"], ["zz"]), "unlabel")

    # get-parameters
    r = ssm.get_parameters(Names=[f"{P}/str", f"{P}/secure_kms", f"{P}/missing"],
                           WithDecryption=True)
    ck.eq(sorted(x["Name"] for x in r["Parameters"]), [f"{P}/secure_kms", f"{P}/str"],
          "get_parameters found")
    ck.eq(r["InvalidParameters"], [f"{P}/missing"], "get_parameters InvalidParameters")
    ck.true([x["Value"] for x in r["Parameters"] if x["Name"] == f"{P}/secure_kms"] == [secret2],
            "get_parameters decrypts", "mismatch (not printed)")

    # paging
    for i in range(25):
        ssm.put_parameter(Name=f"{P}/many/p{i:02d}", Value=f"v{i}", Type="String")
    ssm.put_parameter(Name=f"{P}/many/sub/deep", Value="d", Type="String")
    want = [f"{P}/many/p{i:02d}" for i in range(25)]
    pag = ssm.get_paginator("get_parameters_by_path")
    pages = list(pag.paginate(Path=f"{P}/many", PaginationConfig={"PageSize": 10}))
    got = sorted(x["Name"] for pg in pages for x in pg["Parameters"])
    ck.eq(got, want, "get_parameters_by_path paginator returns all 25")
    ck.true(len(pages) >= 3, "by-path needs >= 3 pages of 10", str(len(pages)))
    got = sorted(x["Name"] for pg in pag.paginate(Path=f"{P}/many/", Recursive=True)
                 for x in pg["Parameters"])
    ck.eq(got, sorted(want + [f"{P}/many/sub/deep"]), "recursive with trailing slash")
    r = ssm.get_parameters_by_path(Path=f"{P}/many", MaxResults=10)
    ck.eq(len(r["Parameters"]), 10, "MaxResults=10 page size")
    ck.true(r.get("NextToken"), "first page has NextToken")
    if r.get("NextToken"):
        r2 = ssm.get_parameters_by_path(Path=f"{P}/many", MaxResults=10, NextToken=r["NextToken"])
        ck.true(not ({x["Name"] for x in r["Parameters"]} & {x["Name"] for x in r2["Parameters"]}),
                "second page does not repeat the first")
    dpag = ssm.get_paginator("describe_parameters")
    got = [x["Name"] for pg in dpag.paginate(
        ParameterFilters=[{"Key": "Path", "Option": "Recursive", "Values": [f"{P}/many"]}],
        PaginationConfig={"PageSize": 7}) for x in pg["Parameters"]]
    ck.eq(sorted(got), sorted(want + [f"{P}/many/sub/deep"]), "describe_parameters paginator")
    got = [x["Name"] for pg in dpag.paginate(
        ParameterFilters=[{"Key": "Name", "Option": "BeginsWith", "Values": [f"{P}/many/p2"]}])
        for x in pg["Parameters"]]
    ck.eq(sorted(got), [f"{P}/many/p2{i}" for i in range(5)], "describe Name BeginsWith")
    got = [x["Name"] for pg in dpag.paginate(
        ParameterFilters=[{"Key": "Path", "Option": "OneLevel", "Values": [P]}])
        for x in pg["Parameters"]]
    ck.eq(sorted(got), [f"{P}/list", f"{P}/secure", f"{P}/secure_kms", f"{P}/str"],
          "describe Path OneLevel")
    got = [x for pg in dpag.paginate(
        ParameterFilters=[{"Key": "Type", "Values": ["SecureString"]}]) for x in pg["Parameters"]]
    ck.eq(sorted(x["Name"] for x in got), [f"{P}/secure", f"{P}/secure_kms"], "describe Type")
    ck.true(all(x.get("KeyId") == "alias/aws/ssm" for x in got), "SecureString KeyId",
            repr([x.get("KeyId") for x in got]))
    ck.true(all(x.get("LastModifiedUser") for x in got), "describe LastModifiedUser present")

    # history paginator
    for i in range(3, 13):
        ssm.put_parameter(Name=f"{P}/str", Value="v" * i, Overwrite=True)
    hpag = ssm.get_paginator("get_parameter_history")
    vers = [x["Version"] for pg in hpag.paginate(Name=f"{P}/str", PaginationConfig={"PageSize": 5})
            for x in pg["Parameters"]]
    ck.eq(vers, list(range(1, 13)), "history paginator versions 1..12")

    # tags
    ssm.add_tags_to_resource(ResourceType="Parameter", ResourceId=f"{P}/str",
                             Tags=[{"Key": "env", "Value": "prod"}, {"Key": "o", "Value": "me"}])
    tl = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=f"{P}/str")["TagList"]
    ck.eq(sorted((x["Key"], x["Value"]) for x in tl), [("env", "prod"), ("o", "me")], "tags")
    ssm.remove_tags_from_resource(ResourceType="Parameter", ResourceId=f"{P}/str", TagKeys=["o"])
    tl = ssm.list_tags_for_resource(ResourceType="Parameter", ResourceId=f"{P}/str")["TagList"]
    ck.eq([x["Key"] for x in tl], ["env"], "tag removed")
    expect_error(ssm.list_tags_for_resource, "InvalidResourceId", "tags of missing parameter",
                 ResourceType="Parameter", ResourceId=f"{P}/nope")

    # deletes
    ssm.delete_parameter(Name=f"{P}/list")
    expect_error(ssm.delete_parameter, "ParameterNotFound", "delete missing", Name=f"{P}/list")
    r = ssm.delete_parameters(Names=[f"{P}/many/p00", f"{P}/missing"])
    ck.eq((r["DeletedParameters"], r["InvalidParameters"]), ([f"{P}/many/p00"], [f"{P}/missing"]),
          "delete_parameters")

    # auth errors
    if is_coffer:
        bad = t.boto3_client("ssm", secret_key="wrong" + t.secret_key[5:], max_attempts=1)
        expect_error(bad.get_parameter, "InvalidSignatureException", "wrong secret key",
                     Name=f"{P}/str")
        unk = t.boto3_client("ssm", access_key="AKIAUNKNOWNKEY000000", secret_key="x" * 40,
                             max_attempts=1)
        expect_error(unk.get_parameter, "UnrecognizedClientException", "unknown access key",
                     Name=f"{P}/str")


def main():
    def body(args, ck):
        try:
            import boto3
        except ImportError:
            h.skip(f"boto3 is not installed for {sys.executable}")
        print(f"python {sys.executable}, boto3 {boto3.__version__}")
        t = h.make_target(args)
        canaries = [h.new_canary(), h.new_canary()]
        try:
            run_suite(t, ck, canaries)
            if t.kind == "coffer":
                t.stop()
                t.assert_no_canary_in_logs(ck, canaries)
        finally:
            t.cleanup()

    return h.run_main("e2e_ssm_boto3", body)


if __name__ == "__main__":
    sys.exit(main())
