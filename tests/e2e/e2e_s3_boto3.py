#!/usr/bin/env python3
"""Coffer's S3 API with boto3 (issue 15), run under Debian's python3 (boto3 1.26) and the pyenv
python3 (boto3 1.43, whose defaults add CRC32 checksums), plus the attacks on the wire written
as raw requests.

  boto3      create/head/list buckets; put/get/head/copy/delete objects with metadata, SSE-KMS
             under a customer key and Content-MD5; list_objects_v2 paginated (MaxKeys=2) with
             prefix and delimiter; upload_file/download_file of 24 MiB in 5 MiB parts
             (multipart), byte-exact; list_parts and abort of an upload (nothing left);
             delete_objects; bucket policy put/get/delete; presigned GET; EntityTooLarge over
             the server's --s3-max-object-size.
  wire       aws-chunked uploads with chunk signatures (plain and with a signed CRC32 trailer)
             and unsigned with a CRC32 trailer are stored; a tampered chunk signature, a chunk
             whose bytes were changed, a truncated body, a wrong trailing checksum, a wrong
             trailer signature and a wrong x-amz-checksum-sha256 header are each refused with
             S3's error and store nothing; UNSIGNED-PAYLOAD is accepted; a presigned URL past
             its X-Amz-Expires is refused (AccessDenied, "Request has expired"); an unsigned or
             badly signed 2 MiB body is cut at 1 MiB (413); virtual-host style addressing.
  matrix     an IAM policy allowing one prefix, an IAM policy denying one prefix, a bucket
             policy allowing one prefix (to a user with no IAM policy) and a bucket policy
             denying one prefix (to a user IAM allows everything): each allows and refuses
             exactly its prefix, for GetObject and PutObject.
  at rest    no object plaintext (canary) in any data-directory file or the server log.

Usage: e2e_s3_boto3.py --coffer build/coffer
"""

import hashlib
import json
import os
import sys
import urllib.error
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402
import s3_raw  # noqa: E402

MIB = 1 << 20
MAX_OBJECT = 40 * MIB


def main(args, ck):
    try:
        import boto3  # noqa: F401
        from boto3.s3.transfer import TransferConfig  # noqa: F401
    except ImportError:
        h.skip("boto3 is not installed for this python")
    t = h.CofferServer(args.coffer, extra_args=["--s3-max-object-size", str(MAX_OBJECT)]).start()
    try:
        import boto3
        ck.note(f"boto3 {boto3.__version__}")
        canary = h.new_canary().encode()
        basic(t, ck, canary)
        wire(t, ck, canary)
        matrix(t, ck)
        hits = []
        for dirpath, _, files in os.walk(t.data_dir):
            for name in files:
                with open(os.path.join(dirpath, name), "rb") as f:
                    if canary in f.read():
                        hits.append(name)
        ck.eq(hits, [], "no object plaintext (canary) in the data directory")
        t.assert_no_canary_in_logs(ck, [canary.decode()])
    finally:
        t.stop()
        t.cleanup()


def code_of(fn, **kw):
    return h.error_of(fn, **kw)[0]


def basic(t, ck, canary):
    from boto3.s3.transfer import TransferConfig
    s3 = t.boto3_client("s3")
    kms = t.boto3_client("kms")
    s3.create_bucket(Bucket="bkt3")
    ck.eq(code_of(s3.create_bucket, Bucket="bkt3"), "BucketAlreadyOwnedByYou", "create twice")
    ck.eq(code_of(s3.create_bucket, Bucket="Bad_Bucket"), "InvalidBucketName", "bad bucket name")
    ck.true("bkt3" in [b["Name"] for b in s3.list_buckets()["Buckets"]], "list_buckets")
    s3.head_bucket(Bucket="bkt3")
    ck.eq(code_of(s3.head_bucket, Bucket="absent-bucket"), "404", "head_bucket of a missing one")
    ck.eq(code_of(s3.get_object, Bucket="absent-bucket", Key="k"), "NoSuchBucket",
          "get_object in a missing bucket")

    body = b"value " + canary
    import base64
    md5 = base64.b64encode(hashlib.md5(body).digest()).decode()
    key_id = kms.create_key()["KeyMetadata"]["KeyId"]
    r = s3.put_object(Bucket="bkt3", Key="a/one.txt", Body=body, ContentType="text/plain",
                      Metadata={"color": "blue"}, ContentMD5=md5, ServerSideEncryption="aws:kms",
                      SSEKMSKeyId=key_id)
    ck.eq(r["ETag"], '"%s"' % hashlib.md5(body).hexdigest(), "PutObject ETag is the MD5")
    ck.true(r.get("SSEKMSKeyId", "").endswith(key_id), "PutObject echoes the SSE-KMS key")
    g = s3.get_object(Bucket="bkt3", Key="a/one.txt")
    ck.secret_eq(g["Body"].read(), body, "get_object bytes")
    ck.eq((g["ContentType"], g["Metadata"], g["ServerSideEncryption"]),
          ("text/plain", {"color": "blue"}, "aws:kms"), "get_object attributes")
    ck.true(g.get("SSEKMSKeyId", "").endswith(key_id), "get_object echoes the SSE-KMS key")
    hd = s3.head_object(Bucket="bkt3", Key="a/one.txt")
    ck.eq(hd["ContentLength"], len(body), "head_object size")
    ck.eq(code_of(s3.head_object, Bucket="bkt3", Key="nope"), "404", "head_object missing")
    ck.eq(code_of(s3.get_object, Bucket="bkt3", Key="nope"), "NoSuchKey", "get_object missing")
    ck.eq(code_of(s3.put_object, Bucket="bkt3", Key="k", Body=b"x", ServerSideEncryption="aws:kms",
                  SSEKMSKeyId="alias/absent"), "KMS.NotFoundException", "unknown SSE-KMS key")
    r = s3.get_object(Bucket="bkt3", Key="a/one.txt", Range="bytes=6-")
    ck.secret_eq(r["Body"].read(), body[6:], "ranged get_object")
    ck.eq(code_of(s3.get_object, Bucket="bkt3", Key="a/one.txt", Range="bytes=1000-"),
          "InvalidRange", "unsatisfiable range")

    s3.copy_object(Bucket="bkt3", Key="a/copy.txt", CopySource={"Bucket": "bkt3", "Key": "a/one.txt"})
    ck.secret_eq(s3.get_object(Bucket="bkt3", Key="a/copy.txt")["Body"].read(), body, "copy_object")

    for k in ("p/1", "p/2", "p/3", "p/d/4", "p/d/5", "q/6"):
        s3.put_object(Bucket="bkt3", Key=k, Body=b"x")
    keys = []
    for page in s3.get_paginator("list_objects_v2").paginate(Bucket="bkt3", Prefix="p/",
                                                             PaginationConfig={"PageSize": 2}):
        keys += [o["Key"] for o in page.get("Contents", [])]
    ck.eq(keys, ["p/1", "p/2", "p/3", "p/d/4", "p/d/5"], "paginated list_objects_v2")
    r = s3.list_objects_v2(Bucket="bkt3", Prefix="p/", Delimiter="/")
    ck.eq(([o["Key"] for o in r["Contents"]], [c["Prefix"] for c in r["CommonPrefixes"]]),
          (["p/1", "p/2", "p/3"], ["p/d/"]), "list_objects_v2 with a delimiter")
    r = s3.delete_objects(Bucket="bkt3", Delete={"Objects": [{"Key": "p/1"}, {"Key": "p/2"}]})
    ck.eq(sorted(d["Key"] for d in r.get("Deleted", [])), ["p/1", "p/2"], "delete_objects")

    # Multipart through the transfer manager: 24 MiB in 5 MiB parts.
    src = os.path.join(t.work, "up.bin")
    block = os.urandom(MIB)
    with open(src, "wb") as f:
        for i in range(24):
            f.write(bytes([i]) + canary + block[1 + len(canary):])
    cfg = TransferConfig(multipart_threshold=5 * MIB, multipart_chunksize=5 * MIB)
    s3.upload_file(src, "bkt3", "big/up.bin", Config=cfg)
    ck.true(s3.head_object(Bucket="bkt3", Key="big/up.bin")["ETag"].endswith('-5"'),
            "upload_file made a 5-part multipart object")
    dst = os.path.join(t.work, "down.bin")
    s3.download_file("bkt3", "big/up.bin", dst, Config=cfg)
    ck.eq(hashlib.sha256(open(dst, "rb").read()).hexdigest(),
          hashlib.sha256(open(src, "rb").read()).hexdigest(), "download_file byte-exact")

    up = s3.create_multipart_upload(Bucket="bkt3", Key="aborted")
    s3.upload_part(Bucket="bkt3", Key="aborted", UploadId=up["UploadId"], PartNumber=1,
                   Body=b"part " + canary)
    listed = s3.list_multipart_uploads(Bucket="bkt3").get("Uploads", [])
    ck.eq([(u["Key"], u["UploadId"]) for u in listed], [("aborted", up["UploadId"])],
          "list_multipart_uploads shows the upload in progress")
    parts = s3.list_parts(Bucket="bkt3", Key="aborted", UploadId=up["UploadId"])["Parts"]
    ck.eq([p["PartNumber"] for p in parts], [1], "list_parts")
    s3.abort_multipart_upload(Bucket="bkt3", Key="aborted", UploadId=up["UploadId"])
    ck.eq(code_of(s3.list_parts, Bucket="bkt3", Key="aborted", UploadId=up["UploadId"]),
          "NoSuchUpload", "aborted upload is gone")

    big = b"\0" * (MAX_OBJECT + 1)
    ck.eq(code_of(s3.put_object, Bucket="bkt3", Key="too-big", Body=big), "EntityTooLarge",
          "put_object over --s3-max-object-size")
    ck.eq(code_of(s3.head_object, Bucket="bkt3", Key="too-big"), "404", "nothing stored")

    # boto3 1.26 presigns with SigV2 unless asked for SigV4 (Coffer verifies SigV4 only).
    import boto3
    import botocore.config
    v4 = boto3.client("s3", endpoint_url=t.url, region_name=h.REGION,
                      aws_access_key_id=t.access_key, aws_secret_access_key=t.secret_key,
                      config=botocore.config.Config(signature_version="s3v4"))
    url = v4.generate_presigned_url("get_object", Params={"Bucket": "bkt3", "Key": "a/one.txt"},
                                    ExpiresIn=60)
    with urllib.request.urlopen(url, timeout=30) as resp:
        ck.secret_eq(resp.read(), body, "presigned GET (boto3)")

    ck.eq(code_of(s3.delete_bucket, Bucket="bkt3"), "BucketNotEmpty", "delete_bucket of a full one")
    ck.eq(code_of(s3.get_bucket_policy, Bucket="bkt3"), "NoSuchBucketPolicy", "no policy yet")
    ck.eq(code_of(s3.put_bucket_policy, Bucket="bkt3", Policy="{not json"), "MalformedPolicy",
          "malformed bucket policy")


def wire(t, ck, canary):
    base = f"{t.url}/bkt3"
    a, s = t.access_key, t.secret_key
    payload = [b"chunk-one " + canary, b"x" * 70000, b"tail"]
    joined = b"".join(payload)
    crc = s3_raw.checksum("crc32", joined)

    def stored(key):
        r = s3_raw.request(f"{base}/{key}", "GET", a, s)
        return r.body if r.status == 200 else None

    r = s3_raw.chunked_put(f"{base}/w/signed", a, s, payload)
    ck.eq(r.status, 200, "aws-chunked with chunk signatures is stored")
    ck.secret_eq(stored("w/signed"), joined, "aws-chunked content decoded exactly")
    r = s3_raw.chunked_put(f"{base}/w/signed-trailer", a, s, payload,
                           trailer=("x-amz-checksum-crc32", crc))
    ck.eq(r.status, 200, "aws-chunked with a signed CRC32 trailer is stored")
    r = s3_raw.chunked_put(f"{base}/w/unsigned-trailer", a, s, payload,
                           trailer=("x-amz-checksum-crc32", crc), signed_chunks=False)
    ck.eq(r.status, 200, "STREAMING-UNSIGNED-PAYLOAD-TRAILER with CRC32 is stored")
    ck.secret_eq(stored("w/unsigned-trailer"), joined, "unsigned-trailer content exact")

    def flip_signature(body):  # one hex digit of the second chunk's signature
        i = body.index(b";chunk-signature=", body.index(b";chunk-signature=") + 1) + 17
        return body[:i] + (b"0" if body[i:i + 1] != b"0" else b"1") + body[i + 1:]

    def flip_data(body):  # one byte of the first chunk's data, signature kept
        i = body.index(b"chunk-one ") + 2
        return body[:i] + b"X" + body[i + 1:]

    def flip_trailer_signature(body):
        i = body.index(b"x-amz-trailer-signature:") + 24
        return body[:i] + (b"0" if body[i:i + 1] != b"0" else b"1") + body[i + 1:]

    attacks = [
        ("w/bad-sig", dict(tamper=flip_signature), 403, "SignatureDoesNotMatch",
         "a tampered chunk signature"),
        ("w/bad-data", dict(tamper=flip_data), 403, "SignatureDoesNotMatch",
         "a chunk whose bytes were changed"),
        ("w/truncated", dict(tamper=lambda b: b[:len(b) // 2]), 400, "IncompleteBody",
         "a truncated aws-chunked body"),
        ("w/bad-crc", dict(trailer=("x-amz-checksum-crc32", s3_raw.checksum("crc32", b"other")),
                           signed_chunks=False), 400, "BadDigest",
         "a wrong trailing CRC32"),
        ("w/bad-trailer-sig", dict(trailer=("x-amz-checksum-crc32", crc),
                                   tamper=flip_trailer_signature),
         403, "SignatureDoesNotMatch", "a wrong trailer signature"),
    ]
    for key, kw, status, code, what in attacks:
        r = s3_raw.chunked_put(f"{base}/{key}", a, s, payload, **kw)
        ck.eq((r.status, r.code), (status, code), f"{what} is refused")
        ck.eq(stored(key), None, f"{what}: nothing stored")
    r = s3_raw.request(f"{base}/w/bad-sha", "PUT", a, s, body=b"data",
                       headers={"x-amz-checksum-sha256": s3_raw.checksum("sha256", b"nope")})
    ck.eq((r.status, r.code), (400, "BadDigest"), "a wrong x-amz-checksum-sha256 is refused")
    ck.eq(stored("w/bad-sha"), None, "wrong checksum header: nothing stored")
    hdrs, *_ = s3_raw.signed(f"{base}/w/unsigned", "PUT", a, s, payload_hash="UNSIGNED-PAYLOAD")
    r = s3_raw.send(f"{base}/w/unsigned", "PUT", hdrs, b"unsigned body")
    ck.eq(r.status, 200, "UNSIGNED-PAYLOAD is accepted for S3")
    hdrs, *_ = s3_raw.signed(f"{base}/w/lying-sha", "PUT", a, s, body=b"signed body")
    r = s3_raw.send(f"{base}/w/lying-sha", "PUT", hdrs, b"swapped body")
    ck.eq((r.status, r.code), (403, "SignatureDoesNotMatch"), "a body swapped after signing")
    ck.eq(stored("w/lying-sha"), None, "swapped body: nothing stored")

    # Only a caller whose signature verifies may send more than the 1 MiB other APIs take:
    # an unauthenticated or badly signed large body is cut at 1 MiB (413), never buffered.
    big = b"z" * (2 * MIB)
    for what, hdrs in (
            ("an unsigned 2 MiB PUT", {}),
            ("a 2 MiB PUT with a wrong signature",
             s3_raw.signed(f"{base}/w/big", "PUT", a, "wrong-secret", body=big)[0])):
        try:
            status = s3_raw.send(f"{base}/w/big", "PUT", hdrs, big).status
        except (BrokenPipeError, ConnectionResetError):
            status = "connection closed"
        ck.true(status in (413, "connection closed"), f"{what} is cut at 1 MiB", str(status))
    hdrs = s3_raw.signed(f"{base}/w/big", "PUT", a, s, body=big)[0]
    ck.eq(s3_raw.send(f"{base}/w/big", "PUT", hdrs, big).status, 200,
          "a signed 2 MiB PUT is read and stored")
    # Virtual-host style: the bucket in the Host (BUCKET.localhost), the key in the path.
    port = t.url.rsplit(":", 1)[1]
    vhost = f"http://bkt3.localhost:{port}/w/signed"
    hdrs, *_ = s3_raw.signed(vhost, "GET", a, s)
    r = s3_raw.send(vhost, "GET", hdrs, b"", connect_host="127.0.0.1")
    ck.eq((r.status, r.body == joined), (200, True), "virtual-host style GetObject")
    url = s3_raw.presign(f"{base}/w/signed", a, s, 60)
    ck.eq(s3_raw.send(url, "GET", {}, b"").status, 200, "a fresh presigned URL works")
    old = s3_raw.presign(f"{base}/w/signed", a, s, 60, amz_date="20200101T000000Z")
    r = s3_raw.send(old, "GET", {}, b"")
    ck.eq((r.status, r.code), (403, "AccessDenied"), "an expired presigned URL is refused")
    ck.true(b"Request has expired" in r.body, "expired presign says so", r.body[:200])
    r = s3_raw.send(s3_raw.presign(f"{base}/w/signed", a, "wrong-secret", 60), "GET", {}, b"")
    ck.eq((r.status, r.code), (403, "SignatureDoesNotMatch"), "a presign with a wrong key")
    r = s3_raw.send(f"{base}/w/signed", "GET", {}, b"")
    ck.eq((r.status, r.code), (403, "AccessDenied"), "an unsigned GET is refused")


def matrix(t, ck):
    s3 = t.boto3_client("s3")
    iam = t.boto3_client("iam")
    s3.create_bucket(Bucket="matrix")
    for k in ("open/a", "secret/a", "other/a"):
        s3.put_object(Bucket="matrix", Key=k, Body=b"x")

    def user(name, policy=None):
        iam.create_user(UserName=name)
        if policy:
            iam.put_user_policy(UserName=name, PolicyName="p", PolicyDocument=json.dumps(policy))
        k = iam.create_access_key(UserName=name)["AccessKey"]
        arn = iam.get_user(UserName=name)["User"]["Arn"]
        return t.boto3_client("s3", access_key=k["AccessKeyId"],
                              secret_key=k["SecretAccessKey"]), arn

    def stmt(effect, resource, principal=None):
        st = {"Effect": effect, "Action": ["s3:GetObject", "s3:PutObject"],
              "Resource": f"arn:aws:s3:::matrix/{resource}"}
        if principal:
            st["Principal"] = {"AWS": principal}
        return st

    iam_allow, _ = user("iam-allow", {"Version": "2012-10-17",
                                      "Statement": [stmt("Allow", "open/*")]})
    iam_deny, _ = user("iam-deny", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}, stmt("Deny", "secret/*")]})
    bp_allow, bp_allow_arn = user("bp-allow")
    bp_deny, bp_deny_arn = user("bp-deny", {"Version": "2012-10-17", "Statement": [
        {"Effect": "Allow", "Action": "s3:*", "Resource": "*"}]})
    policy = {"Version": "2012-10-17", "Statement": [
        stmt("Allow", "open/*", bp_allow_arn), stmt("Deny", "secret/*", bp_deny_arn)]}
    s3.put_bucket_policy(Bucket="matrix", Policy=json.dumps(policy))
    ck.eq(json.loads(s3.get_bucket_policy(Bucket="matrix")["Policy"]), policy,
          "get_bucket_policy returns the policy")

    expected = {  # client -> {prefix: allowed}
        "IAM allows open/": (iam_allow, {"open": True, "secret": False, "other": False}),
        "IAM denies secret/": (iam_deny, {"open": True, "secret": False, "other": True}),
        "bucket policy allows open/": (bp_allow, {"open": True, "secret": False,
                                                  "other": False}),
        "bucket policy denies secret/": (bp_deny, {"open": True, "secret": False,
                                                   "other": True}),
    }
    for name, (client, cells) in expected.items():
        for prefix, allowed in cells.items():
            got = code_of(client.get_object, Bucket="matrix", Key=f"{prefix}/a")
            ck.eq(got, None if allowed else "AccessDenied", f"{name}: GetObject {prefix}/a")
            got = code_of(client.put_object, Bucket="matrix", Key=f"{prefix}/new", Body=b"y")
            ck.eq(got, None if allowed else "AccessDenied", f"{name}: PutObject {prefix}/new")
    s3.delete_bucket_policy(Bucket="matrix")
    ck.eq(code_of(bp_allow.get_object, Bucket="matrix", Key="open/a"), "AccessDenied",
          "without the bucket policy its grant is gone")


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_s3_boto3", main))
