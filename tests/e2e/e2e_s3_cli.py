#!/usr/bin/env python3
"""Coffer's S3 API driven by the real aws CLI (issue 15): `aws s3 mb/ls/cp/rm/rb/presign` and
`aws s3api`, with /usr/bin/aws (v2.9.19, --cli v2) or the pyenv aws (v1, --cli v1; skipped when
absent).

  basic      mb, ls (buckets and keys), cp up and down of a small file, byte-exact.
  large      a 100 MiB file: `aws s3 cp` uploads it in 8 MiB parts (multipart) and downloads it
             in ranged GETs; the download is compared byte for byte (SHA-256).
  presign    `aws s3 presign` gives a URL that any HTTP client can GET (no credentials).
  s3api      head-object (size, ETag, SSE-KMS echoed), get-object --range, list-objects-v2
             with prefix/delimiter, put-object with a wrong --content-md5 (BadDigest, nothing
             stored), get-object of a missing key (NoSuchKey), rb of a full bucket
             (BucketNotEmpty), create of an existing bucket (BucketAlreadyOwnedByYou).
  at rest    no object's plaintext (canaries in the small and the large object) is in any file
             of the data directory; no canary in the server's log.

Usage: e2e_s3_cli.py --coffer build/coffer --cli v2|v1
"""

import base64
import hashlib
import json
import os
import struct
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

MIB = 1 << 20


def write_large(path, size_mib, canary):
    """size_mib MiB of incompressible bytes, fast: one random MiB varied per MiB, with the
    canary in every MiB."""
    base = bytearray(os.urandom(MIB))
    with open(path, "wb") as f:
        for i in range(size_mib):
            block = bytearray(base)
            block[0:8] = struct.pack(">Q", i)
            block[100:100 + len(canary)] = canary
            f.write(block)


def sha256_file(path):
    d = hashlib.sha256()
    with open(path, "rb") as f:
        for chunk in iter(lambda: f.read(MIB), b""):
            d.update(chunk)
    return d.hexdigest()


def scan_dir(root, needles):
    """Names of files under root that contain any of needles."""
    hits = []
    for dirpath, _, files in os.walk(root):
        for name in files:
            path = os.path.join(dirpath, name)
            with open(path, "rb") as f:
                data = f.read()
            if any(n in data for n in needles):
                hits.append(os.path.relpath(path, root))
    return hits


def main(args, ck):
    cli = args.cli
    if cli == "v1" and h.pyenv_shim("aws") is None:
        h.skip("the pyenv aws CLI (v1) is not installed")
    if cli == "v2" and not os.access(h.AWS_V2, os.X_OK):
        h.skip("/usr/bin/aws (v2) is not installed")
    t = h.CofferServer(args.coffer, extra_args=["--s3-max-object-size", str(200 * MIB)]).start()
    try:
        run(t, cli, ck, args.large_mib)
    finally:
        t.stop()
        t.cleanup()


def run(t, cli, ck, large_mib):
    aws = lambda argv, **kw: t.aws(argv, cli=cli, **kw)  # noqa: E731
    work = t.work
    bucket = f"e2e-{cli}-bucket"
    canary = h.new_canary().encode()
    small = os.path.join(work, "small.txt")
    with open(small, "wb") as f:
        f.write(b"hello " + canary + b"\n")

    # --- basic --------------------------------------------------------------------------------
    ck.cli_ok(aws(["s3", "mb", f"s3://{bucket}"]), "s3 mb")
    r = aws(["s3", "ls"])
    ck.cli_ok(r, "s3 ls (buckets)")
    ck.true(bucket in r.out, "s3 ls lists the bucket", r.out[:200])
    ck.cli_ok(aws(["s3", "cp", small, f"s3://{bucket}/dir/small.txt"]), "s3 cp up (small)")
    r = aws(["s3", "ls", f"s3://{bucket}/dir/"])
    ck.cli_ok(r, "s3 ls (keys)")
    ck.true("small.txt" in r.out, "s3 ls lists the key", r.out[:200])
    back = os.path.join(work, "small.back")
    ck.cli_ok(aws(["s3", "cp", f"s3://{bucket}/dir/small.txt", back]), "s3 cp down (small)")
    ck.secret_eq(open(back, "rb").read(), open(small, "rb").read(), "small object byte-exact")

    # --- large (multipart) --------------------------------------------------------------------
    large = os.path.join(work, "large.bin")
    write_large(large, large_mib, canary)
    started = time.monotonic()
    r = aws(["s3", "cp", large, f"s3://{bucket}/big/large.bin"], timeout=600)
    ck.cli_ok(r, f"s3 cp up ({large_mib} MiB, multipart)")
    up = time.monotonic() - started
    r = aws(["s3api", "head-object", "--bucket", bucket, "--key", "big/large.bin"])
    ck.cli_ok(r, "head-object of the large object")
    if r.rc == 0:
        head = json.loads(r.out)
        ck.eq(head.get("ContentLength"), large_mib * MIB, "large object size")
        ck.true(head.get("ETag", "").endswith(f'-{(large_mib + 7) // 8}"'),
                "large object has a multipart ETag", head.get("ETag"))
        ck.eq(head.get("ServerSideEncryption"), "aws:kms", "SSE-KMS echoed by head-object")
    large_back = os.path.join(work, "large.back")
    started = time.monotonic()
    ck.cli_ok(aws(["s3", "cp", f"s3://{bucket}/big/large.bin", large_back], timeout=600),
              "s3 cp down (large, ranged GETs)")
    down = time.monotonic() - started
    ck.eq(sha256_file(large_back) if os.path.exists(large_back) else None, sha256_file(large),
          "large object byte-exact after the round trip")
    ck.note(f"{large_mib} MiB upload {up:.1f} s, download {down:.1f} s ({cli})")
    os.unlink(large_back)

    # --- presign ------------------------------------------------------------------------------
    # awscli v1 presigns with SigV2 unless the profile asks for SigV4 (Coffer verifies SigV4
    # only; docs/s3.md).
    env = t.env()
    v4_config = os.path.join(work, "config-s3v4")
    with open(env["AWS_CONFIG_FILE"]) as src, open(v4_config, "w") as dst:
        dst.write(src.read() + "\ns3 =\n  signature_version = s3v4\n")
    env["AWS_CONFIG_FILE"] = v4_config
    r = aws(["s3", "presign", f"s3://{bucket}/dir/small.txt", "--expires-in", "120"], env=env)
    ck.cli_ok(r, "s3 presign")
    if r.rc == 0:
        url = r.out.strip()
        with urllib.request.urlopen(url, timeout=30) as resp:
            ck.secret_eq(resp.read(), open(small, "rb").read(), "presigned GET serves the object")
        tampered = url.replace("dir/small.txt", "dir/other.txt")
        try:
            urllib.request.urlopen(tampered, timeout=30)
            ck.true(False, "a presigned URL for another key is refused")
        except urllib.error.HTTPError as e:
            ck.eq((e.code, b"<Code>SignatureDoesNotMatch</Code>" in e.read()), (403, True),
                  "a presigned URL edited to another key: 403 SignatureDoesNotMatch")

    # --- s3api ----------------------------------------------------------------------------
    r = aws(["s3api", "get-object", "--bucket", bucket, "--key", "dir/small.txt",
             "--range", "bytes=0-4", os.path.join(work, "range.out")])
    ck.cli_ok(r, "get-object --range")
    if r.rc == 0:
        ck.eq(open(os.path.join(work, "range.out"), "rb").read(), b"hello", "range bytes")
        ck.eq(json.loads(r.out).get("ContentRange"), f"bytes 0-4/{os.path.getsize(small)}",
              "Content-Range")
    for key in ("list/a/1", "list/a/2", "list/b/3", "list/top"):
        ck.cli_ok(aws(["s3api", "put-object", "--bucket", bucket, "--key", key, "--body", small]),
                  f"put-object {key}")
    r = aws(["s3api", "list-objects-v2", "--bucket", bucket, "--prefix", "list/",
             "--delimiter", "/"])
    ck.cli_ok(r, "list-objects-v2 prefix+delimiter")
    if r.rc == 0:
        out = json.loads(r.out)
        ck.eq([c["Key"] for c in out.get("Contents", [])], ["list/top"], "listed keys")
        ck.eq([p["Prefix"] for p in out.get("CommonPrefixes", [])], ["list/a/", "list/b/"],
              "common prefixes")
    wrong_md5 = base64.b64encode(hashlib.md5(b"something else").digest()).decode()
    r = aws(["s3api", "put-object", "--bucket", bucket, "--key", "bad-md5", "--body", small,
             "--content-md5", wrong_md5])
    ck.cli_error(r, "BadDigest", "PutObject", "put-object with a wrong Content-MD5")
    r = aws(["s3api", "head-object", "--bucket", bucket, "--key", "bad-md5"])
    ck.true(r.rc != 0, "the refused object was not stored")
    r = aws(["s3api", "get-object", "--bucket", bucket, "--key", "absent",
             os.path.join(work, "absent.out")])
    ck.cli_error(r, "NoSuchKey", "GetObject", "get-object of a missing key")
    r = aws(["s3api", "create-bucket", "--bucket", bucket])
    ck.cli_error(r, "BucketAlreadyOwnedByYou", "CreateBucket", "create-bucket again")
    r = aws(["s3", "rb", f"s3://{bucket}"])
    ck.true(r.rc != 0 and "BucketNotEmpty" in r.err, "rb of a full bucket: BucketNotEmpty",
            r.err[:300])

    # --- at rest ------------------------------------------------------------------------------
    hits = scan_dir(t.data_dir, [canary])
    ck.eq(hits, [], "no object plaintext (canary) in any file of the data directory")
    t.assert_no_canary_in_logs(ck, [canary.decode()])

    # --- rm and rb ------------------------------------------------------------------------
    ck.cli_ok(aws(["s3", "rm", f"s3://{bucket}/dir/small.txt"]), "s3 rm")
    ck.cli_ok(aws(["s3", "rm", f"s3://{bucket}", "--recursive"]), "s3 rm --recursive")
    ck.cli_ok(aws(["s3", "rb", f"s3://{bucket}"]), "s3 rb of the emptied bucket")
    r = aws(["s3", "ls"])
    ck.true(bucket not in r.out, "the bucket is gone")


if __name__ == "__main__":
    def extra(p):
        p.add_argument("--cli", choices=["v1", "v2"], default="v2")
        p.add_argument("--large-mib", type=int, default=100)
    sys.exit(h.run_main("e2e_s3_cli", lambda a, c: main(a, c), extra))
