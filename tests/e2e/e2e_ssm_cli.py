#!/usr/bin/env python3
"""Every SSM Parameter Store operation through the real AWS CLI (v2 = /usr/bin/aws 2.9.19,
v1 = pyenv aws 1.45), success and error paths, against a fresh `coffer server --dev`.

Usage: e2e_ssm_cli.py --coffer build/coffer --cli v2|v1 [--target moto]
"""

import datetime
import os
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

P = "/coffer/t"


def names(params):
    return sorted(p["Name"] for p in params)


def run_suite(t, cli, ck, canaries):
    def aws(*args, **kw):
        return t.aws(["ssm"] + list(args), cli=cli, **kw)

    is_coffer = t.kind == "coffer"
    secret1, secret2 = canaries

    # --- put-parameter: every type and option -------------------------------------------------
    r = aws("put-parameter", "--name", f"{P}/str", "--type", "String", "--value", "hello",
            "--description", "a string", "--tags", "Key=env,Value=dev", "Key=team,Value=core",
            "--tier", "Standard", "--allowed-pattern", "^[a-z]+$", "--data-type", "text")
    if ck.cli_ok(r, "put String with description/tags/tier/pattern/data-type"):
        ck.eq(r.json.get("Version"), 1, "put String -> Version 1")
        ck.eq(r.json.get("Tier"), "Standard", "put String -> Tier Standard")
    r = aws("put-parameter", "--name", f"{P}/list", "--type", "StringList", "--value", "a,b,c")
    ck.cli_ok(r, "put StringList")
    r = aws("put-parameter", "--name", f"{P}/secure", "--type", "SecureString", "--value", secret1)
    if ck.cli_ok(r, "put SecureString (default key)"):
        ck.eq(r.json.get("Version"), 1, "put SecureString -> Version 1")
    r = aws("put-parameter", "--name", f"{P}/secure_kms", "--type", "SecureString",
            "--value", secret2, "--key-id", "alias/aws/ssm", "--description", "kms")
    ck.cli_ok(r, "put SecureString --key-id alias/aws/ssm")

    # --- get-parameter ------------------------------------------------------------------------
    r = aws("get-parameter", "--name", f"{P}/str")
    if ck.cli_ok(r, "get-parameter String"):
        p = r.json["Parameter"]
        ck.eq(p.get("Name"), f"{P}/str", "get-parameter Name")
        ck.eq(p.get("Value"), "hello", "get-parameter Value")
        ck.eq(p.get("Type"), "String", "get-parameter Type")
        ck.eq(p.get("Version"), 1, "get-parameter Version")
        ck.eq(p.get("DataType"), "text", "get-parameter DataType")
        ck.true(str(p.get("ARN", "")).endswith(":parameter/coffer/t/str"),
                "get-parameter ARN ends with :parameter/coffer/t/str", repr(p.get("ARN")))
        ck.true(str(p.get("ARN", "")).startswith("arn:aws:ssm:us-east-1:"), "ARN prefix",
                repr(p.get("ARN")))
        ck.true("LastModifiedDate" in p, "get-parameter has LastModifiedDate")
    r = aws("get-parameter", "--name", f"{P}/list")
    if ck.cli_ok(r, "get-parameter StringList"):
        ck.eq(r.json["Parameter"].get("Value"), "a,b,c", "StringList value")
        ck.eq(r.json["Parameter"].get("Type"), "StringList", "StringList type")
    r = aws("get-parameter", "--name", f"{P}/secure")
    if ck.cli_ok(r, "get-parameter SecureString without decryption"):
        # moto returns "kms:<key>:<plaintext>"; AWS returns opaque ciphertext.
        ck.true(secret1 not in r.json["Parameter"].get("Value", ""),
                "SecureString without --with-decryption does not reveal the plaintext",
                "plaintext visible (not printed)", aws_only=True)
        ck.eq(r.json["Parameter"].get("Type"), "SecureString", "SecureString type")
    r = aws("get-parameter", "--name", f"{P}/secure", "--with-decryption")
    if ck.cli_ok(r, "get-parameter --with-decryption"):
        ck.secret_eq(r.json["Parameter"].get("Value"), secret1, "decrypted SecureString value")
    r = aws("get-parameter", "--name", f"{P}/secure_kms", "--with-decryption",
            "--query", "Parameter.Value", "--output", "text")
    if ck.cli_ok(r, "get-parameter --query --output text"):
        ck.secret_eq(r.out.strip(), secret2, "SecureString (alias/aws/ssm) value via --output text")

    # --- overwrite / versions -------------------------------------------------------------------
    r = aws("put-parameter", "--name", f"{P}/str", "--value", "world", "--overwrite")
    if ck.cli_ok(r, "put --overwrite without --type"):
        ck.eq(r.json.get("Version"), 2, "overwrite -> Version 2")
    r = aws("put-parameter", "--name", f"{P}/str", "--value", "again", "--type", "String")
    ck.cli_error(r, "ParameterAlreadyExists", "PutParameter", "put existing without --overwrite")
    r = aws("put-parameter", "--name", f"{P}/str", "--value", "again", "--overwrite",
            "--tags", "Key=a,Value=b")
    ck.cli_error(r, "ValidationException", "PutParameter", "--overwrite with --tags",
                 aws_only=True)
    r = aws("get-parameter", "--name", f"{P}/str:1")
    if ck.cli_ok(r, "get-parameter name:1"):
        ck.eq(r.json["Parameter"].get("Value"), "hello", "name:1 value")
        ck.eq(r.json["Parameter"].get("Version"), 1, "name:1 version")
        ck.eq(r.json["Parameter"].get("Name"), f"{P}/str", "name:1 returns bare Name")
    r = aws("get-parameter", "--name", f"{P}/str")
    if ck.cli_ok(r, "get latest after overwrite"):
        ck.eq(r.json["Parameter"].get("Value"), "world", "latest value after overwrite")
        ck.eq(r.json["Parameter"].get("Version"), 2, "latest version after overwrite")

    # --- labels ---------------------------------------------------------------------------------
    r = aws("label-parameter-version", "--name", f"{P}/str", "--parameter-version", "1",
            "--labels", "prod", "staging")
    if ck.cli_ok(r, "label-parameter-version"):
        ck.eq(r.json.get("InvalidLabels", []), [], "valid labels -> no InvalidLabels")
        ck.eq(r.json.get("ParameterVersion"), 1, "label -> ParameterVersion 1")
    r = aws("label-parameter-version", "--name", f"{P}/str", "--parameter-version", "2",
            "--labels", "1bad", "aws-bad", "ok-label")
    if ck.cli_ok(r, "label-parameter-version with invalid labels is not an error"):
        ck.eq(sorted(r.json.get("InvalidLabels", [])), ["1bad", "aws-bad"],
              "invalid labels come back in InvalidLabels")
    r = aws("label-parameter-version", "--name", f"{P}/str", "--labels", "latest-label")
    if ck.cli_ok(r, "label without --parameter-version labels the latest"):
        ck.eq(r.json.get("ParameterVersion"), 2, "label default version = latest")
    r = aws("get-parameter", "--name", f"{P}/str:prod")
    if ck.cli_ok(r, "get-parameter name:label"):
        ck.eq(r.json["Parameter"].get("Version"), 1, "name:prod -> version 1")
        ck.eq(r.json["Parameter"].get("Value"), "hello", "name:prod -> value of version 1")
    r = aws("get-parameter", "--name", f"{P}/str:nosuchlabel")
    ck.cli_error(r, "ParameterNotFound", "GetParameter", "unknown label -> ParameterNotFound")
    r = aws("get-parameter", "--name", f"{P}/str:7")
    ck.cli_error(r, "ParameterVersionNotFound", "GetParameter",
                 "unknown version -> ParameterVersionNotFound")
    r = aws("label-parameter-version", "--name", f"{P}/str", "--parameter-version", "9",
            "--labels", "x")
    ck.cli_error(r, "ParameterVersionNotFound", "LabelParameterVersion",
                 "label a missing version -> ParameterVersionNotFound")
    if is_coffer:  # moto 5.2 leaves an empty entry behind that breaks later listing calls
        r = aws("label-parameter-version", "--name", f"{P}/nope", "--labels", "x")
        ck.cli_error(r, "ParameterNotFound", "LabelParameterVersion",
                     "label a missing parameter -> ParameterNotFound")

    # --- history --------------------------------------------------------------------------------
    r = aws("get-parameter-history", "--name", f"{P}/str")
    if ck.cli_ok(r, "get-parameter-history"):
        hist = r.json.get("Parameters", [])
        ck.eq([e.get("Version") for e in hist], [1, 2], "history versions oldest first")
        if len(hist) == 2:
            ck.eq(sorted(hist[0].get("Labels", [])), ["prod", "staging"], "history v1 labels")
            ck.eq(sorted(hist[1].get("Labels", [])), ["latest-label", "ok-label"],
                  "history v2 labels")
            ck.eq(hist[0].get("Value"), "hello", "history v1 value")
            ck.eq(hist[0].get("Description"), "a string", "history carries Description")
            ck.true(hist[1].get("LastModifiedUser"), "history has LastModifiedUser")
            ck.true("LastModifiedDate" in hist[1], "history has LastModifiedDate")
    r = aws("get-parameter-history", "--name", f"{P}/secure", "--with-decryption")
    if ck.cli_ok(r, "get-parameter-history --with-decryption"):
        vals = [e.get("Value") for e in r.json.get("Parameters", [])]
        ck.true(len(vals) == 1 and vals[0] == secret1, "history decrypts SecureString",
                "mismatch (not printed)")
    if is_coffer:
        # moto 5.2 answers 200 here and leaves an empty entry that breaks later calls.
        r = aws("get-parameter-history", "--name", f"{P}/nope")
        ck.cli_error(r, "ParameterNotFound", "GetParameterHistory", "history of missing parameter")

    # --- unlabel --------------------------------------------------------------------------------
    r = aws("unlabel-parameter-version", "--name", f"{P}/str", "--parameter-version", "1",
            "--labels", "prod", "nothere")
    if ck.cli_ok(r, "unlabel-parameter-version"):
        ck.eq(r.json.get("RemovedLabels"), ["prod"], "unlabel RemovedLabels")
        ck.eq(r.json.get("InvalidLabels"), ["nothere"], "unlabel InvalidLabels")
    r = aws("get-parameter", "--name", f"{P}/str:prod")
    ck.cli_error(r, "ParameterNotFound", "GetParameter", "removed label no longer resolves")

    # --- get-parameters -------------------------------------------------------------------------
    r = aws("get-parameters", "--names", f"{P}/str", f"{P}/secure", f"{P}/missing",
            "--with-decryption")
    if ck.cli_ok(r, "get-parameters with a missing name"):
        ck.eq(names(r.json.get("Parameters", [])), [f"{P}/secure", f"{P}/str"],
              "get-parameters found names")
        ck.eq(r.json.get("InvalidParameters"), [f"{P}/missing"], "get-parameters InvalidParameters")
        sec = [p.get("Value") for p in r.json.get("Parameters", []) if p["Name"] == f"{P}/secure"]
        ck.true(sec == [secret1], "get-parameters decrypts", "mismatch (not printed)")
    r = aws("get-parameters", "--names", f"{P}/str:1", f"{P}/str:staging")
    if ck.cli_ok(r, "get-parameters with selectors"):
        ck.eq(sorted(p.get("Version") for p in r.json.get("Parameters", [])), [1, 1],
              "get-parameters selectors resolve to version 1")

    # --- many parameters for paging -------------------------------------------------------------
    raw = t.raw()
    for i in range(25):
        raw.ok("PutParameter", {"Name": f"{P}/many/p{i:02d}", "Value": f"v{i}", "Type": "String"})
    raw.ok("PutParameter", {"Name": f"{P}/many/sub/deep", "Value": "d", "Type": "String"})
    raw.ok("PutParameter", {"Name": f"{P}/many/sub/sec", "Value": secret2,
                            "Type": "SecureString"})
    expected_direct = [f"{P}/many/p{i:02d}" for i in range(25)]
    r = aws("label-parameter-version", "--name", f"{P}/many/p03", "--labels", "blue")
    ck.cli_ok(r, "label p03 blue")

    # --- get-parameters-by-path -----------------------------------------------------------------
    r = aws("get-parameters-by-path", "--path", f"{P}/many")
    if ck.cli_ok(r, "get-parameters-by-path (auto-paginated)"):
        ck.eq(names(r.json.get("Parameters", [])), expected_direct,
              "by-path non-recursive = 25 direct children")
    r = aws("get-parameters-by-path", "--path", f"{P}/many/")
    if ck.cli_ok(r, "get-parameters-by-path with trailing slash"):
        ck.eq(names(r.json.get("Parameters", [])), expected_direct, "trailing slash accepted")
    r = aws("get-parameters-by-path", "--path", f"{P}/many", "--recursive", "--with-decryption")
    if ck.cli_ok(r, "get-parameters-by-path --recursive"):
        ps = r.json.get("Parameters", [])
        ck.eq(names(ps), sorted(expected_direct + [f"{P}/many/sub/deep", f"{P}/many/sub/sec"]),
              "recursive = all 27 descendants")
        sec = [p.get("Value") for p in ps if p["Name"] == f"{P}/many/sub/sec"]
        ck.true(sec == [secret2], "by-path decrypts", "mismatch (not printed)")
    r = aws("get-parameters-by-path", "--path", "/coffer")
    if ck.cli_ok(r, "get-parameters-by-path /coffer non-recursive"):
        ck.eq(r.json.get("Parameters", []), [], "no direct children under /coffer")
    r = aws("get-parameters-by-path", "--path", "/", "--recursive")
    if ck.cli_ok(r, "get-parameters-by-path / --recursive"):
        ck.eq(len(r.json.get("Parameters", [])), 31, "Path=/ recursive returns everything")
    r = aws("get-parameters-by-path", "--path", f"{P}/many", "--parameter-filters",
            "Key=Label,Option=Equals,Values=blue")
    if ck.cli_ok(r, "get-parameters-by-path label filter"):
        ck.eq(names(r.json.get("Parameters", [])), [f"{P}/many/p03"], "label filter")
    r = aws("get-parameters-by-path", "--path", f"{P}/many", "--recursive",
            "--parameter-filters", "Key=Type,Option=Equals,Values=SecureString")
    if ck.cli_ok(r, "get-parameters-by-path type filter"):
        ck.eq(names(r.json.get("Parameters", [])), [f"{P}/many/sub/sec"], "type filter")
    # Manual paging with --max-items / --starting-token.
    seen, token, pages = [], None, 0
    while pages < 10:
        extra = ["--starting-token", token] if token else []
        r = aws("get-parameters-by-path", "--path", f"{P}/many", "--max-items", "10", *extra)
        if not ck.cli_ok(r, f"by-path page {pages}"):
            break
        pages += 1
        ps = r.json.get("Parameters", [])
        ck.true(len(ps) <= 10, "page holds at most --max-items", str(len(ps)))
        seen += [p["Name"] for p in ps]
        token = r.json.get("NextToken")
        if not token:
            break
    ck.eq(pages, 3, "25 parameters in pages of 10 -> 3 pages")
    ck.eq(sorted(seen), expected_direct, "manual paging returns every parameter exactly once")

    # --- describe-parameters --------------------------------------------------------------------
    r = aws("describe-parameters", "--parameter-filters",
            "Key=Name,Option=BeginsWith,Values=/coffer/t/many/p1")
    if ck.cli_ok(r, "describe-parameters Name BeginsWith"):
        ck.eq(names(r.json.get("Parameters", [])), [f"{P}/many/p1{i}" for i in range(10)],
              "Name BeginsWith")
    r = aws("describe-parameters", "--parameter-filters", f"Key=Path,Option=OneLevel,Values={P}")
    if ck.cli_ok(r, "describe-parameters Path OneLevel"):
        ps = r.json.get("Parameters", [])
        ck.eq(names(ps), [f"{P}/list", f"{P}/secure", f"{P}/secure_kms", f"{P}/str"],
              "Path OneLevel")
        by = {p["Name"]: p for p in ps}
        s = by.get(f"{P}/str", {})
        ck.eq(s.get("Description"), "a string", "describe Description carried over overwrite")
        ck.eq(s.get("AllowedPattern"), "^[a-z]+$", "describe AllowedPattern")
        ck.eq(s.get("Version"), 2, "describe Version")
        ck.eq(s.get("Tier"), "Standard", "describe Tier")
        ck.eq(s.get("DataType"), "text", "describe DataType")
        ck.true(s.get("LastModifiedUser"), "describe has LastModifiedUser")
        ck.true("LastModifiedDate" in s, "describe has LastModifiedDate")
        ck.true(all("Value" not in p for p in ps), "describe never returns values")
        ck.eq(by.get(f"{P}/secure", {}).get("KeyId"), "alias/aws/ssm",
              "SecureString default KeyId alias/aws/ssm")
    r = aws("describe-parameters", "--parameter-filters",
            f"Key=Path,Option=Recursive,Values={P}/many")
    if ck.cli_ok(r, "describe-parameters Path Recursive"):
        ck.eq(len(r.json.get("Parameters", [])), 27, "Path Recursive count")
    r = aws("describe-parameters", "--parameter-filters", "Key=Type,Values=SecureString")
    if ck.cli_ok(r, "describe-parameters Type filter"):
        ck.eq(names(r.json.get("Parameters", [])),
              [f"{P}/many/sub/sec", f"{P}/secure", f"{P}/secure_kms"], "Type filter")
    r = aws("describe-parameters", "--parameter-filters", "Key=KeyId,Values=alias/aws/ssm")
    if ck.cli_ok(r, "describe-parameters KeyId filter"):
        ck.eq(names(r.json.get("Parameters", [])),
              [f"{P}/many/sub/sec", f"{P}/secure", f"{P}/secure_kms"], "KeyId filter")
    r = aws("describe-parameters", "--parameter-filters", "Key=tag:team,Values=core")
    if ck.cli_ok(r, "describe-parameters tag filter"):
        ck.eq(names(r.json.get("Parameters", [])), [f"{P}/str"], "tag:team filter")
    r = aws("describe-parameters")
    if ck.cli_ok(r, "describe-parameters (auto-paginated, all)"):
        ck.eq(len(r.json.get("Parameters", [])), 31, "describe all = 31")
    seen, token, pages = [], None, 0
    while pages < 10:
        extra = ["--starting-token", token] if token else []
        r = aws("describe-parameters", "--max-items", "12", *extra)
        if not ck.cli_ok(r, f"describe page {pages}"):
            break
        pages += 1
        seen += [p["Name"] for p in r.json.get("Parameters", [])]
        token = r.json.get("NextToken")
        if not token:
            break
    ck.eq(pages, 3, "31 parameters in pages of 12 -> 3 pages")
    ck.eq(len(seen), 31, "describe paging total")
    ck.eq(len(set(seen)), 31, "describe paging has no duplicates")

    # --- tags -----------------------------------------------------------------------------------
    def tags():
        r = aws("list-tags-for-resource", "--resource-type", "Parameter", "--resource-id",
                f"{P}/str")
        ck.cli_ok(r, "list-tags-for-resource")
        return sorted((x["Key"], x["Value"]) for x in (r.json or {}).get("TagList", []))

    ck.eq(tags(), [("env", "dev"), ("team", "core")], "tags from put-parameter --tags")
    r = aws("add-tags-to-resource", "--resource-type", "Parameter", "--resource-id", f"{P}/str",
            "--tags", "Key=env,Value=prod", "Key=owner,Value=me")
    ck.cli_ok(r, "add-tags-to-resource")
    ck.eq(tags(), [("env", "prod"), ("owner", "me"), ("team", "core")],
          "add-tags overwrites same key")
    r = aws("remove-tags-from-resource", "--resource-type", "Parameter", "--resource-id",
            f"{P}/str", "--tag-keys", "team")
    ck.cli_ok(r, "remove-tags-from-resource")
    ck.eq(tags(), [("env", "prod"), ("owner", "me")], "tag removed")
    r = aws("list-tags-for-resource", "--resource-type", "Parameter", "--resource-id", f"{P}/nope")
    ck.cli_error(r, "InvalidResourceId", "ListTagsForResource", "tags of a missing parameter")
    r = aws("add-tags-to-resource", "--resource-type", "Parameter", "--resource-id", f"{P}/nope",
            "--tags", "Key=a,Value=b")
    ck.cli_error(r, "InvalidResourceId", "AddTagsToResource", "tag a missing parameter")

    # --- validation errors ----------------------------------------------------------------------
    r = aws("put-parameter", "--name", f"{P}/bad name", "--type", "String", "--value", "x")
    ck.cli_error(r, "ValidationException", "PutParameter", "name with a space", aws_only=True)
    r = aws("put-parameter", "--name", "awsreserved", "--type", "String", "--value", "x")
    ck.cli_error(r, "ValidationException", "PutParameter", "name prefixed with aws",
                 aws_only=True)
    deep = "".join(f"/l{i}" for i in range(16))
    r = aws("put-parameter", "--name", deep, "--type", "String", "--value", "x")
    ck.cli_error(r, "HierarchyLevelLimitExceededException", "PutParameter", "16 levels",
                 aws_only=True)
    r = aws("put-parameter", "--name", f"{P}/big", "--type", "String", "--value", "x" * 4097)
    ck.cli_error(r, "ValidationException", "PutParameter", "4097-char value on Standard tier",
                 aws_only=True)
    if is_coffer:  # same moto 5.2 empty-entry problem
        r = aws("put-parameter", "--name", f"{P}/notype", "--value", "x")
        ck.cli_error(r, "ValidationException", "PutParameter", "create without --type")
    r = aws("put-parameter", "--name", f"{P}/str", "--value", "UPPER", "--overwrite")
    ck.cli_error(r, "ParameterPatternMismatchException", "PutParameter",
                 "value violating AllowedPattern", aws_only=True)
    r = aws("put-parameter", "--name", f"{P}/dt", "--type", "String", "--value", "x",
            "--data-type", "bogus")
    ck.cli_error(r, "ValidationException", "PutParameter", "unknown --data-type", aws_only=True)
    r = aws("get-parameter", "--name", f"{P}/nope")
    ck.cli_error(r, "ParameterNotFound", "GetParameter", "get missing -> ParameterNotFound")
    if is_coffer:
        r = aws("put-parameter", "--name", f"{P}/badkey", "--type", "SecureString",
                "--value", "x", "--key-id", "alias/does-not-exist")
        ck.cli_error(r, "InvalidKeyId", "PutParameter", "unknown --key-id -> InvalidKeyId")

    # --- deletes --------------------------------------------------------------------------------
    r = aws("delete-parameter", "--name", f"{P}/list")
    ck.cli_ok(r, "delete-parameter")
    r = aws("get-parameter", "--name", f"{P}/list")
    ck.cli_error(r, "ParameterNotFound", "GetParameter", "deleted parameter is gone")
    r = aws("delete-parameter", "--name", f"{P}/list")
    ck.cli_error(r, "ParameterNotFound", "DeleteParameter", "delete missing -> ParameterNotFound")
    r = aws("delete-parameters", "--names", f"{P}/many/p00", f"{P}/many/p01", f"{P}/missing")
    if ck.cli_ok(r, "delete-parameters"):
        ck.eq(sorted(r.json.get("DeletedParameters", [])), [f"{P}/many/p00", f"{P}/many/p01"],
              "DeletedParameters")
        ck.eq(r.json.get("InvalidParameters"), [f"{P}/missing"], "delete InvalidParameters")
    r = aws("put-parameter", "--name", f"{P}/list", "--type", "String", "--value", "again")
    if ck.cli_ok(r, "re-create a deleted name"):
        ck.eq(r.json.get("Version"), 1, "re-created parameter starts at Version 1")

    # --- authentication errors (Coffer only: moto does not verify signatures) -------------------
    if is_coffer:
        env = t.env(access_key=t.access_key, secret_key="wrong" + t.secret_key[5:])
        r = t.aws(["ssm", "get-parameter", "--name", f"{P}/str"], cli=cli, env=env)
        ck.cli_error(r, "InvalidSignatureException", "GetParameter", "wrong secret key")
        env = t.env(access_key="AKIAUNKNOWNKEY000000", secret_key="x" * 40)
        r = t.aws(["ssm", "get-parameter", "--name", f"{P}/str"], cli=cli, env=env)
        ck.cli_error(r, "UnrecognizedClientException", "GetParameter", "unknown access key")
        old = (datetime.datetime.now(datetime.timezone.utc) - datetime.timedelta(minutes=20))
        resp = t.raw().call("GetParameter", {"Name": f"{P}/str"},
                            amz_date=old.strftime("%Y%m%dT%H%M%SZ"))
        ck.eq(resp.status, 400, "expired X-Amz-Date -> 400")
        ck.eq(resp.error_code, "InvalidSignatureException", "expired X-Amz-Date code")
        ck.true("Signature expired" in resp.message, "expired message says 'Signature expired'",
                repr(resp.message))
        resp = t.raw().call("GetParameter", {"Name": f"{P}/str"})
        ck.eq(resp.status, 200, "a fresh raw signed request still works")


def main():
    def extra(p):
        p.add_argument("--cli", choices=["v1", "v2"], default="v2")

    def body(args, ck):
        if args.cli == "v2" and not os.access(h.AWS_V2, os.X_OK):
            h.skip("/usr/bin/aws (awscli v2) not installed")
        if args.cli == "v1" and h.pyenv_shim("aws") is None:
            h.skip("pyenv aws (awscli v1) not installed")
        t = h.make_target(args)
        canaries = [h.new_canary(), h.new_canary()]
        try:
            run_suite(t, args.cli, ck, canaries)
            if t.kind == "coffer":
                t.stop()
                t.assert_no_canary_in_logs(ck, canaries)
        finally:
            t.cleanup()

    cli = "v1" if "v1" in sys.argv else "v2"
    return h.run_main(f"e2e_ssm_cli_{cli}", body, extra)


if __name__ == "__main__":
    sys.exit(main())
