#!/usr/bin/env python3
"""Issue 9 items 1, 4 and 5 (the wire), written as the attacks that worked before the fix.

Requests are signed with botocore's own SigV4 signer (botocore.auth.SigV4Auth), which, like
the AWS SDKs, signs over an X-Amz-Content-SHA256 header when the request carries one; the
attacks then alter or replay what was signed. Real clients (boto3, /usr/bin/aws) show the
region check as a user meets it.

  1. body swap: a signed PutParameter/GetParameter replayed with another body must be refused
     (InvalidSignatureException) and change nothing; UNSIGNED-PAYLOAD and STREAMING-* are
     refused on the JSON and query APIs.
  4. a signature scoped to another region (or service) is refused.
  5. a second Authorization header (or X-Amz-Date, X-Amz-Content-Sha256, X-Amz-Target), a JSON
     body with a repeated key and a repeated query parameter are refused with a 400.
"""

import hashlib
import http.client
import json
import os
import sys
import urllib.parse

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

try:
    import botocore.auth
    import botocore.awsrequest
    import botocore.credentials
except ImportError:  # pragma: no cover
    h.skip("botocore is not installed for this python")


def botocore_signed(target, service, region, headers, body, access_key=None, secret_key=None):
    """Headers of a request signed by botocore's SigV4Auth (POST / on the target)."""
    creds = botocore.credentials.Credentials(access_key or target.access_key,
                                             secret_key or target.secret_key)
    req = botocore.awsrequest.AWSRequest(method="POST", url=target.url + "/", data=body,
                                         headers=dict(headers))
    botocore.auth.SigV4Auth(creds, service, region).add_auth(req)
    return dict(req.headers.items())


def send(target, headers, body, extra=()):
    """Sends POST / with `headers` (a dict) plus `extra` (repeated names allowed)."""
    parsed = urllib.parse.urlsplit(target.url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=30)
    try:
        conn.putrequest("POST", "/", skip_host=True, skip_accept_encoding=True)
        for name, value in list(headers.items()) + list(extra):
            conn.putheader(name, value)
        conn.putheader("Content-Length", str(len(body)))
        conn.endheaders(body)
        r = conn.getresponse()
        return h.RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, r.read())
    finally:
        conn.close()


def json_headers(target, op, body, sha_header=None, prefix="AmazonSSM", service="ssm",
                 region=h.REGION):
    headers = {"Content-Type": "application/x-amz-json-1.1", "X-Amz-Target": f"{prefix}.{op}",
               "Host": urllib.parse.urlsplit(target.url).netloc}
    if sha_header is not None:
        headers["X-Amz-Content-SHA256"] = sha_header
    return botocore_signed(target, service, region, headers, body)


def body_swap(target, c, canary):
    ssm = target.boto3_client("ssm")
    ssm.put_parameter(Name="/sec/secret", Value=canary, Type="SecureString")

    # PutParameter /sec/a, signed over X-Amz-Content-SHA256, then replayed with a body for /sec/b.
    body_a = json.dumps({"Name": "/sec/a", "Value": "a", "Type": "String"}).encode()
    headers = json_headers(target, "PutParameter", body_a, hashlib.sha256(body_a).hexdigest())
    r = send(target, headers, body_a)
    c.eq(r.status, 200, "signed PutParameter /sec/a (with X-Amz-Content-SHA256) is served")
    body_b = json.dumps({"Name": "/sec/b", "Value": "b", "Type": "String"}).encode()
    r = send(target, headers, body_b)
    c.eq((r.status, r.error_code), (400, "InvalidSignatureException"),
         "the same signature replayed with a PutParameter body for /sec/b is refused")
    c.true("x-amz-content-sha256" in r.message, "the refusal names the header", r.message)
    try:
        ssm.get_parameter(Name="/sec/b")
        c.true(False, "/sec/b was written by the replayed request")
    except ssm.exceptions.ParameterNotFound:
        c.true(True, "/sec/b does not exist: the replay changed nothing")

    # GetParameter /sec/a, replayed with a body naming the SecureString.
    get_a = json.dumps({"Name": "/sec/a", "WithDecryption": True}).encode()
    headers = json_headers(target, "GetParameter", get_a, hashlib.sha256(get_a).hexdigest())
    c.eq(send(target, headers, get_a).status, 200, "signed GetParameter /sec/a is served")
    get_secret = json.dumps({"Name": "/sec/secret", "WithDecryption": True}).encode()
    r = send(target, headers, get_secret)
    c.eq((r.status, r.error_code), (400, "InvalidSignatureException"),
         "GetParameter replayed with another name is refused")
    c.true(canary.encode() not in r.body, "the refusal does not carry the other value")

    # The same swap without the header: the signature covers the body itself.
    headers = json_headers(target, "GetParameter", get_a)
    r = send(target, headers, get_secret)
    c.eq((r.status, r.error_code), (400, "InvalidSignatureException"),
         "without X-Amz-Content-SHA256 a swapped body fails the signature")

    # UNSIGNED-PAYLOAD and the streaming forms: AWS accepts them only for S3.
    for literal in ("UNSIGNED-PAYLOAD", "STREAMING-AWS4-HMAC-SHA256-PAYLOAD",
                    "STREAMING-UNSIGNED-PAYLOAD-TRAILER"):
        headers = json_headers(target, "GetParameter", get_secret, literal)
        r = send(target, headers, get_secret)
        c.eq((r.status, r.error_code), (400, "InvalidSignatureException"),
             f"X-Amz-Content-SHA256: {literal} is refused by SSM")
        c.true(canary.encode() not in r.body, f"{literal}: no value in the refusal")

    # The query protocol (STS, IAM) checks the same.
    form = b"Action=GetCallerIdentity&Version=2011-06-15"
    qh = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
          "Host": urllib.parse.urlsplit(target.url).netloc,
          "X-Amz-Content-SHA256": "UNSIGNED-PAYLOAD"}
    r = send(target, botocore_signed(target, "sts", h.REGION, qh, form), form)
    c.eq(r.status, 403, "STS refuses UNSIGNED-PAYLOAD (SignatureDoesNotMatch, 403)")
    c.true(b"SignatureDoesNotMatch" in r.body, "STS error code is SignatureDoesNotMatch",
           r.body[:300])
    qh["X-Amz-Content-SHA256"] = hashlib.sha256(form).hexdigest()
    signed = botocore_signed(target, "sts", h.REGION, qh, form)
    c.eq(send(target, signed, form).status, 200, "STS with a matching hash header is served")
    other = b"Action=GetCallerIdentity&Version=2011-06-15&X=1"
    c.eq(send(target, signed, other).status, 403, "STS replayed with another body is refused")


def regions(target, c):
    import boto3
    import botocore.exceptions
    for region in ("eu-west-1", "us-west-2"):
        ssm = boto3.client("ssm", endpoint_url=target.url, region_name=region,
                           aws_access_key_id=target.access_key,
                           aws_secret_access_key=target.secret_key)
        try:
            ssm.get_parameter(Name="/sec/a")
            c.true(False, f"boto3 signing for {region} was served by a us-east-1 server")
        except botocore.exceptions.ClientError as e:
            err = e.response["Error"]
            c.eq(err["Code"], "InvalidSignatureException", f"boto3 {region}: error code")
            c.true(f"not '{region}'" in err["Message"], f"boto3 {region}: message names it",
                   err["Message"])
    env = target.env()
    for cli in ("v2", "v1"):
        if cli == "v1" and not h.pyenv_shim("aws"):
            c.note("pyenv awscli v1 is absent: the v1 region check is skipped")
            continue
        res = target.aws(["--region", "eu-west-1", "ssm", "get-parameter", "--name", "/sec/a"],
                         cli=cli, env=env)
        c.cli_error(res, "InvalidSignatureException", "GetParameter",
                    f"aws cli {cli} with --region eu-west-1 is refused")
    res = target.aws(["--region", "us-east-1", "ssm", "get-parameter", "--name", "/sec/a"],
                     env=env)
    c.cli_ok(res, "aws cli v2 with the server's region is served")

    # A signature for another service, sent to SSM.
    body = json.dumps({"Name": "/sec/a"}).encode()
    headers = json_headers(target, "GetParameter", body, service="kms")
    r = send(target, headers, body)
    c.eq((r.status, r.error_code), (400, "InvalidSignatureException"),
         "a kms-scoped signature is refused by SSM")


def duplicates(target, c):
    body = json.dumps({"Name": "/sec/a"}).encode()
    headers = json_headers(target, "GetParameter", body)
    c.eq(send(target, headers, body).status, 200, "the request alone is served")
    # A second Authorization header: before the fix the first won and the request was served.
    forged = ("AWS4-HMAC-SHA256 Credential=AKIAFORGED0000000000/20260101/us-east-1/ssm/"
              "aws4_request, SignedHeaders=host;x-amz-date, Signature=" + "0" * 64)
    with_sha = json_headers(target, "GetParameter", body, hashlib.sha256(body).hexdigest())
    c.eq(send(target, with_sha, body).status, 200, "the request with its hash header is served")
    for name, value, base in (("Authorization", forged, headers),
                              ("X-Amz-Date", "20200101T000000Z", headers),
                              ("X-Amz-Content-SHA256", hashlib.sha256(b"{}").hexdigest(),
                               with_sha)):
        r = send(target, base, body, extra=[(name, value)])
        c.eq((r.status, r.error_code), (400, "IncompleteSignatureException"),
             f"a second {name} header is refused with a 400")
    # A body that names a key twice: the signature is good, the meaning is not.
    dup = b'{"Name": "/sec/a", "Name": "/sec/secret", "WithDecryption": true}'
    r = send(target, json_headers(target, "GetParameter", dup), dup)
    c.eq((r.status, r.error_code), (400, "SerializationException"),
         "a JSON body with a repeated key is refused")
    # Two X-Amz-Target headers (both signed): which operation was meant?
    two = json_headers(target, "GetParameter", body)
    r = send(target, two, body, extra=[("X-Amz-Target", "AmazonSSM.DeleteParameter")])
    c.eq(r.status, 400, "a second X-Amz-Target header is refused with a 400")
    c.eq(target.boto3_client("ssm").get_parameter(Name="/sec/a")["Parameter"]["Name"], "/sec/a",
         "the parameter is still there")
    # A query parameter given twice.
    form2 = b"Action=GetCallerIdentity&Version=2011-06-15&Version=2010-05-08"
    qh2 = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
           "Host": urllib.parse.urlsplit(target.url).netloc}
    r = send(target, botocore_signed(target, "sts", h.REGION, qh2, form2), form2)
    c.eq(r.status, 400, "STS: a repeated query parameter is refused with a 400")
    c.true(b"appears more than once" in r.body, "the refusal names the repeated parameter",
           r.body[:300])
    # The query protocol answers in its own shape.
    form = b"Action=GetCallerIdentity&Version=2011-06-15"
    qh = {"Content-Type": "application/x-www-form-urlencoded; charset=utf-8",
          "Host": urllib.parse.urlsplit(target.url).netloc}
    signed = botocore_signed(target, "sts", h.REGION, qh, form)
    r = send(target, signed, form, extra=[("Authorization", forged)])
    c.eq(r.status, 400, "STS: a second Authorization header is refused with a 400")
    c.true(b"<Code>IncompleteSignature</Code>" in r.body, "STS error code IncompleteSignature",
           r.body[:300])


def main(args, c):
    target = h.make_target(args)
    canary = h.new_canary()
    try:
        body_swap(target, c, canary)
        regions(target, c)
        duplicates(target, c)
        if isinstance(target, h.CofferServer):
            target.assert_no_canary_in_logs(c, [canary])
    finally:
        target.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_sec_wire", main))
