#!/usr/bin/env python3
"""Bundles end to end (issue 15, the seed's S3 option for ECS), against a Coffer server started
here: `coffer bundle create` of 5,000 values from two services, `coffer bundle inspect`, and
`coffer exec --bundle FILE|http://URL -- CMD` in a fresh process.

  exact      the child (`env -0`) sees every value exactly: its NUL-separated environment is
             compared byte for byte with what the test wrote, and with `coffer exec` of the same
             services; hard values (newlines, quotes, '=', '$', unicode, 4 KiB) included.
  at rest    the bundle file never holds a value in the clear (a canary is scanned for).
  tamper     one byte changed in every part of the file (magic, version, name, key id, encrypted
             data key, services, names, nonce, ciphertext, tag), truncation and an appended byte:
             each fails with a clear error, exit 1, and the command never runs (it would create
             a marker file).
  key        with --bundle-key, a bundle made under any other KMS key (even one the caller may
             decrypt with) is refused by KMS (IncorrectKeyException) and nothing runs.
  access     a caller whose IAM policy lacks kms:Decrypt gets AccessDenied and nothing runs.
  url        the bundle fetched over http:// runs the same; an endless answer is cut off at
             the 64 MiB limit (not held in memory) and runs nothing.
  s3         `bundle create -o s3://BUCKET/KEY` and `exec --bundle s3://BUCKET/KEY` against
             Coffer's own S3 API (the same endpoint): the child sees every value exactly; the
             object and the data directory hold no value in the clear; a missing object
             (NoSuchKey), a bad secret key (SignatureDoesNotMatch), a caller without
             s3:GetObject (AccessDenied) and a bundle tampered with in S3 each run nothing.
No value reaches the server's log or coffer's stderr.

Usage: e2e_bundle.py --coffer build/coffer [--keys N]
"""

import http.server
import json
import os
import resource
import secrets
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

HARD = {
    "NEWLINES": "line1\nline2\n",
    "QUOTES": "it's \"quoted\" `tick`",
    "EQUALS": "a=b==c=",
    "DOLLAR": "$HOME ${PATH} $(id) $$",
    "BACKSLASH": "C:\\path\\n\\\\ end\\",
    "UNICODE": "h\u00e9llo \u65e5\u672c\u8a9e \U0001F600 \u2028",
    "SPACES": "  leading and trailing  ",
    "LONG": "x" * 4000,
}


class Coffer:
    def __init__(self, binary, target):
        self.binary = os.path.abspath(binary)
        self.t = target

    def env(self, access_key=None, secret_key=None):
        env = self.t.env(access_key, secret_key)
        env["AWS_ENDPOINT_URL"] = self.t.url
        return env

    def run(self, args, env=None, timeout=600):
        p = subprocess.run([self.binary] + list(args), capture_output=True,
                           env=env or self.env(), timeout=timeout)
        p.err = p.stderr.decode("utf-8", "replace")
        return p


def ok(ck, p, what):
    return ck.true(p.returncode == 0, what, f"rc={p.returncode} stderr={p.err.strip()[:300]}")


def env0(values):
    """What `env -0` prints for exactly `values`, in coffer's order (byte order of names)."""
    items = sorted((k.encode(), v.encode()) for k, v in values.items())
    return b"".join(k + b"=" + v + b"\0" for k, v in items)


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass

    def do_GET(self):
        if self.path != "/endless":
            return super().do_GET()
        # A hostile server: an answer without end. coffer must stop reading at its limit.
        self.send_response(200)
        self.end_headers()
        chunk = b"\0" * (1 << 20)
        try:
            for _ in range(1024):  # 1 GiB
                self.wfile.write(chunk)
        except (BrokenPipeError, ConnectionResetError):
            pass


def serve(directory):
    handler = lambda *a, **kw: QuietHandler(*a, directory=directory, **kw)  # noqa: E731
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return server


def field_offsets(data):
    """Offsets of one byte inside each part of a version-1 bundle (docs/formats/bundle.md)."""
    parts = {"magic": 0, "version": 8}
    pos = 9

    def field(name):
        nonlocal pos
        n = int.from_bytes(data[pos:pos + 4], "big")
        parts[name] = pos + 4 + n // 2 if n else pos
        pos += 4 + n

    for name in ("name", "key id", "encrypted data key", "created"):
        field(name)
    for group in ("service", "name list"):
        count = int.from_bytes(data[pos:pos + 4], "big")
        parts[f"{group} count"] = pos + 3
        pos += 4
        for i in range(count):
            field(f"{group} {i}")
    parts = {k: v for k, v in parts.items()
             if not (k.startswith("name list ") and k not in ("name list 0", "name list 4999"))}
    parts["nonce"] = pos + 5
    parts["ciphertext"] = (pos + 12 + len(data)) // 2
    parts["tag"] = len(data) - 1
    return parts


def body(args, ck):
    if args.target != "coffer":
        h.skip("bundles need Coffer's KMS and SSM (run with --target coffer)")
    t = h.CofferServer(args.coffer).start()
    web = None
    try:
        web = run(args, t, ck)
    finally:
        if web:
            web.shutdown()
        t.stop()
        logs = t.logs()
        ck.true(CANARY.encode() not in logs, "the canary never reaches the server's log")
        t.cleanup()


CANARY = h.new_canary()


def run(args, t, ck):
    c = Coffer(args.coffer, t)
    r = t.aws(["kms", "create-key", "--description", "bundles"])
    ck.cli_ok(r, "create-key")
    key_arn = json.loads(r.out)["KeyMetadata"]["Arn"]
    ck.cli_ok(t.aws(["kms", "create-alias", "--alias-name", "alias/bundles",
                     "--target-key-id", key_arn]), "create-alias")

    # --- 5,000 values over two services; the later one wins on one shared name ----------------
    n = args.keys
    shared = {"SHARED_ONLY": "from shared", "OVERRIDDEN": "shared loses"}
    app = dict(HARD)
    app["OVERRIDDEN"] = "app wins"
    app["CANARY_VALUE"] = CANARY
    while len(shared) + len(app) - 1 < n:
        i = len(app)
        app[f"KEY_{i:05d}"] = f"v{i}-" + secrets.token_urlsafe(24 + i % 64)
    for svc, values in (("shared", shared), ("app", app)):
        src = os.path.join(t.work, f"{svc}.json")
        with open(src, "w") as fh:
            json.dump(values, fh)
        ok(ck, c.run(["import", svc, src], timeout=1800), f"import {len(values)} values into {svc}")
    expected = dict(shared)
    expected.update(app)
    ck.eq(len(expected), n, "the services hold the wanted number of values")
    want = env0(expected)

    # --- create and inspect ---------------------------------------------------------------------
    bundle = os.path.join(t.work, "app.bundle")
    p = c.run(["bundle", "create", "shared", "app", "--key", "alias/bundles", "-o", bundle])
    if not ok(ck, p, "bundle create of two services"):
        return None
    with open(bundle, "rb") as fh:
        data = fh.read()
    ck.eq(oct(os.stat(bundle).st_mode & 0o777), "0o600", "the bundle file is 0600")
    if n >= 1000:
        ck.true(len(data) > 8192 * 10, "the bundle is far larger than an ECS environment allows")
    ck.true(CANARY.encode() not in data, "the bundle never holds a value in the clear")
    ck.true(HARD["LONG"].encode() not in data, "a long value is not in the clear either")
    p = c.run(["bundle", "inspect", bundle, "--output", "json"])
    ok(ck, p, "bundle inspect --output json")
    doc = json.loads(p.stdout or b"{}")
    ck.eq(doc.get("Name"), "app.bundle", "inspect: the name defaults to the file name")
    ck.eq(doc.get("KmsKeyId"), key_arn, "inspect: the key is named by its ARN")
    ck.eq(doc.get("Services"), ["shared", "app"], "inspect: the services in order")
    ck.eq(sorted(doc.get("Keys", [])), sorted(expected), "inspect: every key")
    ck.true(CANARY.encode() not in p.stdout, "inspect prints no value")
    p = c.run(["bundle", "inspect", bundle])
    ok(ck, p, "bundle inspect (text)")
    ck.true(b"OVERRIDDEN" in p.stdout and CANARY.encode() not in p.stdout,
            "inspect (text) lists keys and no value")

    # --- exec --bundle in a fresh process: byte-exact environment ---------------------------------
    p = c.run(["exec", "--pristine", "--bundle", bundle, "--", "env", "-0"])
    ok(ck, p, "exec --bundle")
    ck.secret_eq(p.stdout, want, f"the child's environment holds exactly the {n} values")
    q = c.run(["exec", "--pristine", "shared", "app", "--", "env", "-0"])
    ok(ck, q, "exec of the same services")
    ck.secret_eq(p.stdout, q.stdout, "exec --bundle equals exec of the services, byte for byte")
    ck.true(CANARY not in p.err, "exec --bundle's stderr holds no value")
    p = c.run(["exec", "--bundle", bundle, "--", "sh", "-c", 'printf %s "$HOME-$CANARY_VALUE"'])
    ok(ck, p, "exec --bundle keeps the parent's environment without --pristine")
    ck.secret_eq(p.stdout, (c.env().get("HOME", "") + "-" + CANARY).encode(),
                 "parent variables and bundle values both reach the child")
    p = c.run(["exec", "--bundle", bundle, "--", "sh", "-c", "exit 7"])
    ck.eq(p.returncode, 7, "exec --bundle exits with the child's status")
    p = c.run(["exec", "--bundle", bundle, "shared", "--", "true"])
    ck.eq(p.returncode, 2, "services together with --bundle are a usage error")

    # --- tampering anywhere: clear error, nothing runs -----------------------------------------
    marker = os.path.join(t.work, "ran")
    cmd = ["--", "sh", "-c", f"touch {marker}"]
    p = c.run(["exec", "--bundle", bundle] + cmd)
    ck.true(p.returncode == 0 and os.path.exists(marker), "control: the intact bundle runs it")
    if os.path.exists(marker):
        os.remove(marker)
    bad = os.path.join(t.work, "bad.bundle")
    cases = {f"byte in {k}": data[:o] + bytes([data[o] ^ 0x01]) + data[o + 1:]
             for k, o in field_offsets(data).items()}
    cases["truncated by one byte"] = data[:-1]
    cases["truncated to the header"] = data[:200]
    cases["one byte appended"] = data + b"\0"
    cases["empty file"] = b""
    for what, content in cases.items():
        with open(bad, "wb") as fh:
            fh.write(content)
        p = c.run(["exec", "--bundle", bad] + cmd)
        ck.eq(p.returncode, 1, f"tampered ({what}): exit 1")
        ck.true(not os.path.exists(marker), f"tampered ({what}): the command did not run")
        ck.true(p.err.startswith("coffer exec: bundle ") and len(p.err) < 600,
                f"tampered ({what}): one clear error line", p.err.strip()[:300])
        ck.true(CANARY not in p.err, f"tampered ({what}): no value in the error")
    p = c.run(["exec", "--bundle", os.path.join(t.work, "absent.bundle")] + cmd)
    ck.true(p.returncode != 0 and not os.path.exists(marker), "a missing bundle runs nothing")

    # --- --bundle-key: a bundle made under another key (one the caller may use) is refused ------
    r = t.aws(["kms", "create-key", "--description", "someone else's"])
    ck.cli_ok(r, "create-key (other)")
    other_arn = json.loads(r.out)["KeyMetadata"]["Arn"]
    forged = os.path.join(t.work, "forged.bundle")
    ok(ck, c.run(["bundle", "create", "shared", "--key", other_arn, "-o", forged, "--name",
                  "app.bundle"]), "bundle create under another key")
    p = c.run(["exec", "--bundle-key", "alias/bundles", "--bundle", forged] + cmd)
    ck.eq(p.returncode, 1, "--bundle-key: a bundle under another key exits 1")
    ck.true(not os.path.exists(marker), "--bundle-key: a bundle under another key runs nothing")
    ck.true("IncorrectKeyException" in p.err, "--bundle-key: KMS names the wrong key",
            p.err.strip()[:300])
    for expected_key in ("alias/bundles", key_arn):
        p = c.run(["exec", "--pristine", "--bundle-key", expected_key, "--bundle", bundle, "--",
                   "env", "-0"])
        ok(ck, p, f"--bundle-key {expected_key}: the right key's bundle runs")
        ck.secret_eq(p.stdout, want, f"--bundle-key {expected_key}: every value exactly")

    # --- a caller without kms:Decrypt: AccessDenied, nothing runs -------------------------------
    ak, sk = h.create_user_with_policy(t, ck, "no-decrypt", json.dumps({
        "Version": "2012-10-17",
        "Statement": [{"Effect": "Allow", "Action": ["ssm:*", "kms:DescribeKey",
                                                     "kms:GenerateDataKey"], "Resource": "*"}]}))
    p = c.run(["exec", "--bundle", bundle] + cmd, env=c.env(ak, sk))
    ck.eq(p.returncode, 1, "without kms:Decrypt: exit 1")
    ck.true("AccessDenied" in p.err, "without kms:Decrypt: the error names AccessDenied",
            p.err.strip()[:300])
    ck.true(not os.path.exists(marker), "without kms:Decrypt: the command did not run")
    p = c.run(["bundle", "create", "shared", "--key", "alias/bundles", "-o",
               os.path.join(t.work, "other.bundle")], env=c.env(ak, sk))
    ok(ck, p, "a caller with GenerateDataKey but no Decrypt can still create a bundle")

    # --- over http ----------------------------------------------------------------------------
    web = serve(t.work)
    url = f"http://127.0.0.1:{web.server_address[1]}/app.bundle"
    p = c.run(["exec", "--pristine", "--bundle", url, "--", "env", "-0"])
    ok(ck, p, "exec --bundle http://URL")
    ck.secret_eq(p.stdout, want, "the bundle fetched over http gives the same environment")
    p = c.run(["exec", "--bundle", url + ".missing"] + cmd)
    ck.true(p.returncode != 0 and not os.path.exists(marker), "a 404 URL runs nothing")
    p = c.run(["bundle", "inspect", url])
    ok(ck, p, "bundle inspect http://URL")
    endless = f"http://127.0.0.1:{web.server_address[1]}/endless"
    p = c.run(["exec", "--bundle", endless] + cmd, timeout=120)
    # ru_maxrss of waited-for children (KiB): every coffer and aws process so far; holding the
    # 1 GiB answer (the old client did, then checked its size) would show here.
    peak = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss
    ck.true(peak < 512 * 1024, "reading an endless answer holds at most the limit in memory",
            f"peak RSS of a child {peak} KiB")
    ck.eq(p.returncode, 1, "an endless answer exits 1")
    ck.true("larger than" in p.err and not os.path.exists(marker),
            "an endless answer is cut at the size limit and runs nothing", p.err.strip()[:300])

    # --- s3:// against Coffer's own S3 API (the same endpoint: AWS_ENDPOINT_URL) ---------------
    s3 = t.boto3_client("s3")
    s3.create_bucket(Bucket="bundles")
    dest = "s3://bundles/prod/myapp.bundle"
    p = c.run(["bundle", "create", "shared", "app", "--key", "alias/bundles", "-o", dest])
    ok(ck, p, "bundle create -o s3:// (Coffer's S3 API)")
    stored = s3.get_object(Bucket="bundles", Key="prod/myapp.bundle")["Body"].read()
    ck.true(len(stored) > 0 and CANARY.encode() not in stored,
            "the object in S3 holds no value in the clear")
    at_rest = []
    for dirpath, _, files in os.walk(t.data_dir):
        for name in files:
            with open(os.path.join(dirpath, name), "rb") as f:
                if CANARY.encode() in f.read():
                    at_rest.append(name)
    ck.eq(at_rest, [], "no value in the clear in the server's data directory")
    p = c.run(["bundle", "inspect", dest, "--output", "json"])
    ok(ck, p, "bundle inspect s3://")
    ck.eq(json.loads(p.stdout or b"{}").get("Name"), "myapp.bundle",
          "the name defaults to the object key's last segment")
    p = c.run(["exec", "--pristine", "--bundle", dest, "--", "env", "-0"])
    ok(ck, p, "exec --bundle s3:// in a fresh process")
    ck.secret_eq(p.stdout, want, "the bundle from s3:// gives every value exactly")
    p = c.run(["exec", "--bundle", "s3://bundles/prod/absent", "--"] + cmd[1:])
    ck.eq(p.returncode, 4, "a missing object exits 4 (not found)")
    ck.true("NoSuchKey" in p.err and not os.path.exists(marker),
            "a missing object names NoSuchKey and runs nothing", p.err.strip()[:300])
    p = c.run(["exec", "--bundle", dest, "--"] + cmd[1:],
              env=c.env(t.access_key, "not-the-secret"))
    ck.true(p.returncode == 1 and "SignatureDoesNotMatch" in p.err
            and not os.path.exists(marker),
            "an S3 refusal (SignatureDoesNotMatch) runs nothing", p.err.strip()[:300])
    # A caller allowed KMS and SSM but not s3:GetObject on the bundle: AccessDenied, nothing runs.
    no_s3 = h.create_user_with_policy(t, ck, "no-s3", json.dumps({
        "Version": "2012-10-17", "Statement": [
            {"Effect": "Allow", "Action": ["kms:Decrypt", "ssm:*"], "Resource": "*"}]}))
    p = c.run(["exec", "--bundle", dest, "--"] + cmd[1:], env=c.env(*no_s3))
    ck.true(p.returncode != 0 and "AccessDenied" in p.err and not os.path.exists(marker),
            "a caller without s3:GetObject gets AccessDenied and runs nothing",
            p.err.strip()[:300])
    s3.put_object(Bucket="bundles", Key="prod/tampered.bundle",
                  Body=stored[:-1] + bytes([stored[-1] ^ 1]))
    p = c.run(["exec", "--bundle", "s3://bundles/prod/tampered.bundle", "--"] + cmd[1:])
    ck.true(p.returncode != 0 and not os.path.exists(marker),
            "a bundle tampered with in S3 runs nothing", p.err.strip()[:300])
    for bad_url in ("s3://bundles", "s3://B/x", "s3://bundles/a//b", "s3://bundles/a/../b"):
        p = c.run(["exec", "--bundle", bad_url, "--"] + cmd[1:])
        ck.eq(p.returncode, 2, f"{bad_url} is a usage error")
    return web


def extra(p):
    p.add_argument("--keys", type=int, default=5000, help="values in the bundle")


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_bundle", body, extra))
