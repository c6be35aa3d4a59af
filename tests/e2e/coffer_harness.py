"""Shared harness for Coffer's end-to-end tests.

Starts the real `coffer server --dev` binary on port 0 with a temporary data directory (or a
moto_server for differential runs), gives each test an environment for the real AWS clients
(`/usr/bin/aws` v2, the pyenv `aws` v1, boto3), signs raw requests with SigV4 for tests that need
to control the wire, and scans the server's output for canary secret values.

Standard library only, so it runs under both Debian's python3 and the pyenv python3. Scripts exit
0 on pass, 77 on skip (CTest SKIP_RETURN_CODE) and 1 on failure.
"""

import argparse
import configparser
import datetime
import hashlib
import hmac
import http.client
import json
import os
import re
import secrets
import shutil
import signal
import subprocess
import sys
import tempfile
import time
import traceback
import urllib.parse

SKIP = 77
HERE = os.path.dirname(os.path.abspath(__file__))
REGION = "us-east-1"
AWS_V2 = "/usr/bin/aws"
DEBIAN_PYTHON = "/usr/bin/python3"


def pyenv_shim(name):
    """Path of a pyenv shim (aws, python3, moto_server) or None when pyenv is absent."""
    root = os.environ.get("PYENV_ROOT", os.path.expanduser("~/.pyenv"))
    path = os.path.join(root, "shims", name)
    return path if os.access(path, os.X_OK) else None


def skip(message):
    print(f"SKIP: {message}", flush=True)
    sys.exit(SKIP)


def read_varint(buf, pos):
    """Decodes the LEB128 varint at buf[pos]: (value, position after it). Storage records
    (docs/formats/storage-keys.md) use them; the tests that tamper with records read them."""
    shift, out = 0, 0
    while True:
        b = buf[pos]
        pos += 1
        out |= (b & 0x7F) << shift
        if not b & 0x80:
            return out, pos
        shift += 7


def new_canary():
    """A unique value that must never show up in logs or data files in plaintext."""
    return "CANARY-" + secrets.token_hex(12)


# ------------------------------------------------------------------------------------------------
# Soft assertions: collect every failure of a run, print a summary, exit 1 if any.


class Checker:
    def __init__(self, name):
        self.name = name
        self.failures = []
        self.notes = []
        self.passed = 0
        self.lenient = False  # true against moto: `aws_only` checks become notes

    def _record(self, ok, what, detail, aws_only):
        if ok:
            self.passed += 1
            return True
        line = f"{what}: {detail}" if detail else what
        if self.lenient and aws_only:
            self.notes.append("moto deviates: " + line)
        else:
            self.failures.append(line)
            print(f"  FAIL {line}", flush=True)
        return False

    def true(self, cond, what, detail="", aws_only=False):
        return self._record(bool(cond), what, detail, aws_only)

    def eq(self, actual, expected, what, aws_only=False):
        return self._record(actual == expected, what,
                            f"expected {expected!r}, got {actual!r}", aws_only)

    def secret_eq(self, actual, expected, what, aws_only=False):
        """Compares secret values without ever printing them."""
        return self._record(actual == expected, what, "secret value mismatch (not printed)",
                            aws_only)

    def secret_ne(self, actual, expected, what, aws_only=False):
        return self._record(actual != expected, what,
                            "value equals the plaintext secret (not printed)", aws_only)

    def cli_ok(self, res, what):
        return self._record(res.rc == 0, what,
                            f"rc={res.rc} stderr={res.err.strip()[:400]}", False)

    def cli_error(self, res, code, op, what, aws_only=False):
        """Asserts an AWS CLI service error: the CLI's service-error exit code (254 for v2, 255
        for v1) and `An error occurred (code) when calling the op operation` in stderr."""
        m = re.search(r"An error occurred \(([^)]+)\) when calling the (\w+) operation", res.err)
        want_rc = 255 if getattr(res, "cli", "v2") == "v1" else 254
        got = (res.rc, m.group(1) if m else None, m.group(2) if m else None)
        return self._record(got == (want_rc, code, op), what,
                            f"expected ({want_rc}, {code}, {op}), got {got}; "
                            f"stderr={res.err.strip()[:300]}", aws_only)

    def note(self, text):
        self.notes.append(text)

    def finish(self):
        for n in self.notes:
            print(f"  NOTE {n}")
        print(f"{self.name}: {self.passed} checks passed, {len(self.failures)} failed", flush=True)
        if self.failures:
            print("FAILURES:")
            for f in self.failures:
                print("  - " + f)
            return 1
        return 0


# ------------------------------------------------------------------------------------------------
# SigV4 (spec §5.1/§5.2), used for raw requests whose date or body the test controls.


def _hmac(key, msg):
    return hmac.new(key, msg.encode("utf-8"), hashlib.sha256).digest()


def sigv4_headers(method, url, headers, body, access_key, secret_key, region, service,
                  amz_date=None):
    """Returns `headers` plus X-Amz-Date and Authorization; signs every header passed in + host."""
    parsed = urllib.parse.urlsplit(url)
    if amz_date is None:
        amz_date = datetime.datetime.now(datetime.timezone.utc).strftime("%Y%m%dT%H%M%SZ")
    out = dict(headers)
    out["X-Amz-Date"] = amz_date
    signed = {k.lower(): " ".join(str(v).strip().split()) for k, v in out.items()}
    signed["host"] = parsed.netloc
    names = sorted(signed)
    canonical_headers = "".join(f"{n}:{signed[n]}\n" for n in names)
    signed_headers = ";".join(names)
    payload_hash = hashlib.sha256(body).hexdigest()
    canonical = "\n".join([method, parsed.path or "/", parsed.query, canonical_headers,
                           signed_headers, payload_hash])
    scope = f"{amz_date[:8]}/{region}/{service}/aws4_request"
    to_sign = "\n".join(["AWS4-HMAC-SHA256", amz_date, scope,
                         hashlib.sha256(canonical.encode()).hexdigest()])
    k = _hmac(("AWS4" + secret_key).encode(), amz_date[:8])
    k = _hmac(k, region)
    k = _hmac(k, service)
    k = _hmac(k, "aws4_request")
    sig = hmac.new(k, to_sign.encode(), hashlib.sha256).hexdigest()
    out["Authorization"] = (f"AWS4-HMAC-SHA256 Credential={access_key}/{scope}, "
                            f"SignedHeaders={signed_headers}, Signature={sig}")
    return out


def _self_test_sigv4():
    # Golden vector from aws-wire.md §5.5 (observed awscli 2.9.19 traffic).
    h = sigv4_headers("POST", "http://127.0.0.1:18777/",
                      {"Content-Type": "application/x-amz-json-1.1",
                       "X-Amz-Target": "AmazonSSM.GetParameter"},
                      b'{"Name": "/app/db/password"}', "AKIDEXAMPLE",
                      "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY", "us-east-1", "ssm",
                      amz_date="20261128T090727Z")
    assert h["Authorization"].endswith(
        "d57b899e12ba58b64358091adc07203ebb6e042a1c92adb2bbbaff1a95a1a3ba"), h["Authorization"]


_self_test_sigv4()


class RawResponse:
    def __init__(self, status, headers, body):
        self.status = status
        self.headers = headers
        self.body = body
        try:
            self.json = json.loads(body) if body else {}
        except ValueError:
            self.json = None

    @property
    def error_code(self):
        if not isinstance(self.json, dict):
            return None
        code = self.json.get("__type")
        return code.split("#")[-1] if code else None

    @property
    def message(self):
        if not isinstance(self.json, dict):
            return ""
        return self.json.get("message") or self.json.get("Message") or ""


def http_request(url, method="POST", headers=None, body=b"", timeout=30):
    parsed = urllib.parse.urlsplit(url)
    conn = http.client.HTTPConnection(parsed.hostname, parsed.port, timeout=timeout)
    try:
        conn.request(method, parsed.path or "/", body=body, headers=headers or {})
        r = conn.getresponse()
        data = r.read()
        return RawResponse(r.status, {k.lower(): v for k, v in r.getheaders()}, data)
    finally:
        conn.close()


class RawSsm:
    """Minimal signed AWS JSON 1.1 client: call(op, dict) -> RawResponse."""

    def __init__(self, target, access_key=None, secret_key=None, service="ssm",
                 prefix="AmazonSSM"):
        self.target = target
        self.access_key = access_key or target.access_key
        self.secret_key = secret_key or target.secret_key
        self.service = service
        self.prefix = prefix

    def call(self, op, payload, amz_date=None, raw_body=None, target_header=None):
        body = raw_body if raw_body is not None else json.dumps(payload).encode()
        headers = {"Content-Type": "application/x-amz-json-1.1",
                   "X-Amz-Target": target_header or f"{self.prefix}.{op}"}
        headers = sigv4_headers("POST", self.target.url + "/", headers, body, self.access_key,
                                self.secret_key, REGION, self.service, amz_date)
        return http_request(self.target.url + "/", headers=headers, body=body)

    def ok(self, op, payload):
        r = self.call(op, payload)
        if r.status != 200:
            raise AssertionError(f"{op} failed: {r.status} {r.error_code} {r.message[:200]}")
        return r.json


# ------------------------------------------------------------------------------------------------
# Targets: a Coffer server or a moto_server, each with credentials files and a client environment.


def _clean_env():
    env = {k: v for k, v in os.environ.items()
           if not k.startswith("AWS_") and not k.startswith("BOTO")}
    env["AWS_DEFAULT_REGION"] = REGION
    env["AWS_REGION"] = REGION
    env["AWS_PAGER"] = ""
    env["AWS_EC2_METADATA_DISABLED"] = "true"
    return env


class CliResult:
    def __init__(self, argv, rc, out, err):
        self.argv = argv
        self.rc = rc
        self.out = out
        self.err = err
        self.json = None
        if rc == 0 and out.strip():
            try:
                self.json = json.loads(out)
            except ValueError:
                self.json = None

    def __repr__(self):
        return f"CliResult(rc={self.rc}, err={self.err.strip()[:200]!r})"


class Target:
    """Common part: url, credentials, client env, CLI/boto3 helpers."""

    kind = "?"

    def __init__(self):
        self.url = None
        self.work = tempfile.mkdtemp(prefix=f"coffer-e2e-{self.kind}-")
        self.access_key = None
        self.secret_key = None
        self.credentials_file = None
        self.config_file = None
        self.ca_bundle = None  # PEM CA bundle the clients verify an https server with

    def _write_client_files(self, access_key, secret_key):
        self.access_key, self.secret_key = access_key, secret_key
        self.credentials_file = os.path.join(self.work, "client-credentials")
        with open(self.credentials_file, "w") as f:
            f.write(f"[default]\naws_access_key_id = {access_key}\n"
                    f"aws_secret_access_key = {secret_key}\n")
        self.config_file = os.path.join(self.work, "client-config")
        with open(self.config_file, "w") as f:
            f.write(f"[default]\nregion = {REGION}\noutput = json\n")

    def env(self, access_key=None, secret_key=None):
        """Environment for a client process; other keys get their own credentials file."""
        env = _clean_env()
        creds = self.credentials_file
        if access_key is not None:
            creds = os.path.join(self.work, f"creds-{secrets.token_hex(4)}")
            with open(creds, "w") as f:
                f.write(f"[default]\naws_access_key_id = {access_key}\n"
                        f"aws_secret_access_key = {secret_key}\n")
        env["AWS_SHARED_CREDENTIALS_FILE"] = creds
        env["AWS_CONFIG_FILE"] = self.config_file
        return env

    def aws(self, args, cli="v2", env=None, timeout=120, stdin=None):
        """Runs `aws --endpoint-url URL --output json ARGS` with v2 (/usr/bin/aws) or v1 (pyenv)."""
        exe = AWS_V2 if cli == "v2" else pyenv_shim("aws")
        argv = [exe, "--endpoint-url", self.url, "--output", "json"] + list(args)
        if self.ca_bundle:
            argv[3:3] = ["--ca-bundle", self.ca_bundle]
        p = subprocess.run(argv, env=env or self.env(), capture_output=True, text=True,
                           timeout=timeout, input=stdin)
        res = CliResult(argv, p.returncode, p.stdout, p.stderr)
        res.cli = cli
        return res

    def raw(self, **kw):
        return RawSsm(self, **kw)

    def boto3_client(self, service="ssm", **kw):
        import boto3  # imported lazily: the harness itself needs only the standard library
        import botocore.config
        cfg = botocore.config.Config(retries={"max_attempts": kw.pop("max_attempts", 3),
                                              "mode": "standard"})
        if self.ca_bundle:
            kw.setdefault("verify", self.ca_bundle)
        return boto3.client(service, endpoint_url=self.url, region_name=REGION,
                            aws_access_key_id=kw.pop("access_key", self.access_key),
                            aws_secret_access_key=kw.pop("secret_key", self.secret_key),
                            config=cfg, **kw)

    def logs(self):
        return b""

    def cleanup(self):
        if os.environ.get("COFFER_E2E_KEEP"):
            print(f"kept work dir {self.work}")
            return
        shutil.rmtree(self.work, ignore_errors=True)


def _wait_for_line(path, pattern, proc, timeout):
    deadline = time.monotonic() + timeout
    rx = re.compile(pattern)
    while time.monotonic() < deadline:
        try:
            with open(path, "r", errors="replace") as f:
                m = rx.search(f.read())
            if m:
                return m
        except FileNotFoundError:
            pass
        if proc.poll() is not None:
            return None
        time.sleep(0.05)
    return None


class CofferServer(Target):
    kind = "coffer"

    def __init__(self, binary, data_dir=None, extra_args=(), server_args=None, dev=True):
        """server_args, when given, replaces the default `[--dev] --data-dir D --listen
        127.0.0.1:0` (e.g. `--config FILE`); data_dir must then match the one it sets.
        dev=False starts production mode (credentials then come from `operator init`)."""
        super().__init__()
        self.dev = dev  # production mode: no --dev; credentials come from `operator init`
        self.binary = os.path.abspath(binary)
        self.data_dir = data_dir or os.path.join(self.work, "data")
        self.extra_args = list(extra_args)
        self.server_args = None if server_args is None else list(server_args)
        self.proc = None
        self.runs = 0
        self.log_files = []
        self.server_env = {}  # extra environment for the server process (e.g. libfaketime)

    def start(self, timeout=20):
        self.runs += 1
        out = os.path.join(self.work, f"stdout.{self.runs}")
        err = os.path.join(self.work, f"stderr.{self.runs}")
        self.log_files += [out, err]
        base = self.server_args
        if base is None:
            base = (["--dev"] if self.dev else []) + [
                "--data-dir", self.data_dir, "--listen", "127.0.0.1:0"]
        argv = [self.binary, "server"] + base + self.extra_args
        with open(out, "wb") as fo, open(err, "wb") as fe:
            self.proc = subprocess.Popen(argv, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL,
                                         env=dict(_clean_env(), **self.server_env))
        m = _wait_for_line(out, r"listening on (https?://127\.0\.0\.1:(\d+))", self.proc, timeout)
        if not m:
            rc = self.proc.poll()
            if rc is None:
                self.proc.kill()
                self.proc.wait()
            raise RuntimeError(f"coffer did not print 'listening on' within {timeout}s "
                               f"(rc={rc}); stderr tail: {self._tail(err)}")
        self.url = m.group(1)
        if self.dev:
            self._load_credentials()
        return self

    def _tail(self, path, n=1500):
        try:
            with open(path, "rb") as f:
                return f.read()[-n:].decode(errors="replace")
        except OSError:
            return ""

    def _load_credentials(self):
        path = os.path.join(self.data_dir, "credentials")
        cp = configparser.ConfigParser()
        if not cp.read(path) or "default" not in cp:
            raise RuntimeError(f"{path} missing or without a [default] profile")
        self._write_client_files(cp["default"]["aws_access_key_id"],
                                 cp["default"]["aws_secret_access_key"])
        # Point the clients at the server's own files (the documented contract) when present.
        self.credentials_file = path
        if os.path.exists(os.path.join(self.data_dir, "config")):
            self.config_file = os.path.join(self.data_dir, "config")

    def stop(self, expect_rc=0, timeout=20):
        """SIGTERM; returns the exit code and raises if it differs from expect_rc."""
        if self.proc is None:
            return None
        self.proc.send_signal(signal.SIGTERM)
        try:
            rc = self.proc.wait(timeout=timeout)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self.proc = None
            raise RuntimeError(f"coffer did not exit within {timeout}s of SIGTERM")
        self.proc = None
        if expect_rc is not None and rc != expect_rc:
            raise RuntimeError(f"coffer exited {rc} after SIGTERM, expected {expect_rc}; "
                               f"stderr tail: {self._tail(self.log_files[-1])}")
        return rc

    def kill9(self):
        if self.proc is not None:
            self.proc.send_signal(signal.SIGKILL)
            self.proc.wait()
            self.proc = None

    def restart(self):
        self.stop()
        return self.start()

    def logs(self):
        if self.proc is not None:
            # The server writes info lines in batches every 20 ms (util/log.h).
            time.sleep(0.1)
        data = b""
        for p in self.log_files:
            try:
                with open(p, "rb") as f:
                    data += f.read()
            except OSError:
                pass
        return data

    def assert_no_canary_in_logs(self, checker, canaries):
        logs = self.logs()
        for c in canaries:
            checker.true(c.encode() not in logs, "canary secret absent from server logs",
                         "a canary value appeared in the server's stdout/stderr")

    def cleanup(self):
        if self.proc is not None:
            self.kill9()
        super().cleanup()


class MotoServer(Target):
    kind = "moto"

    def __init__(self):
        super().__init__()
        self.proc = None

    @staticmethod
    def available():
        return pyenv_shim("moto_server") is not None

    def start(self, timeout=30):
        exe = pyenv_shim("moto_server")
        if exe is None:
            skip("moto_server (pyenv) not installed")
        err = os.path.join(self.work, "moto.err")
        with open(err, "wb") as fe:
            self.proc = subprocess.Popen([exe, "-H", "127.0.0.1", "-p", "0"],
                                         stdout=fe, stderr=subprocess.STDOUT,
                                         stdin=subprocess.DEVNULL, env=_clean_env())
        m = _wait_for_line(err, r"Running on (http://127\.0\.0\.1:(\d+))", self.proc, timeout)
        if not m:
            self.cleanup()
            raise RuntimeError("moto_server did not start")
        self.url = m.group(1)
        self._write_client_files("AKIDMOTOEXAMPLE", "motosecretkeyexample")
        return self

    def stop(self, expect_rc=None):
        if self.proc is not None:
            self.proc.terminate()
            try:
                self.proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
            self.proc = None

    def cleanup(self):
        self.stop()
        super().cleanup()


# ------------------------------------------------------------------------------------------------
# Script entry point.


def error_of(fn, **kw):
    """(code, message) of the botocore ClientError fn(**kw) raises, or (None, result)."""
    import botocore.exceptions
    try:
        return None, fn(**kw)
    except botocore.exceptions.ClientError as e:
        return e.response["Error"]["Code"], e.response["Error"].get("Message", "")


def create_user_with_policy(target, checker, user, policy):
    """Creates IAM user `user` with the inline policy `policy` (a JSON string) through
    /usr/bin/aws, as an operator would; returns its (access key id, secret key)."""
    checker.cli_ok(target.aws(["iam", "create-user", "--user-name", user]), f"create-user {user}")
    checker.cli_ok(target.aws(["iam", "put-user-policy", "--user-name", user, "--policy-name", "p",
                               "--policy-document", policy]), f"put-user-policy {user}")
    r = target.aws(["iam", "create-access-key", "--user-name", user])
    checker.cli_ok(r, f"create-access-key {user}")
    k = json.loads(r.out)["AccessKey"]
    return k["AccessKeyId"], k["SecretAccessKey"]


def parse_args(argv=None, extra=None):
    p = argparse.ArgumentParser()
    p.add_argument("--coffer", help="path to the coffer binary (build/coffer)")
    p.add_argument("--target", choices=["coffer", "moto"], default="coffer",
                   help="run against coffer (default) or moto_server (to debug the script)")
    if extra:
        extra(p)
    args = p.parse_args(argv)
    if args.target == "coffer":
        if not args.coffer:
            p.error("--coffer is required with --target coffer")
        if not os.access(args.coffer, os.X_OK):
            print(f"FAIL: coffer binary not found at {args.coffer} (build the 'coffer' target)")
            sys.exit(1)
    return args


def make_target(args):
    if args.target == "moto":
        return MotoServer().start()
    return CofferServer(args.coffer).start()


def run_main(name, body, extra_args=None):
    """Runs body(args, checker); returns the process exit code (0/1/77)."""
    args = parse_args(extra=extra_args)
    checker = Checker(name)
    checker.lenient = args.target == "moto"
    try:
        body(args, checker)
    except SystemExit:
        raise
    except Exception:  # a crash of the test itself is a failure with its traceback
        traceback.print_exc()
        checker.failures.append("test raised an exception (see traceback above)")
    return checker.finish()
