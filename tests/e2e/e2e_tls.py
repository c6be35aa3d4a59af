#!/usr/bin/env python3
"""TLS on the listener (issue 12 item 2), driven with the real clients.

A CA, two server certificates (serials 1001 and 1002), a client CA and a client certificate are
made at test time with the `openssl` CLI (nothing is committed). Then:
  * `coffer server --dev --tls-cert-file --tls-key-file` prints `listening on https://...`;
  * awscli v2 (/usr/bin/aws) and v1 (pyenv, skipped if absent) put and get a parameter with
    `--ca-bundle`; boto3 under the pyenv python3 and /usr/bin/python3 with verify=ca.pem;
    without the CA bundle every client fails certificate verification;
  * `coffer kms rewrap` verifies too: --ca-bundle and $AWS_CA_BUNDLE work, nothing fails;
  * `openssl s_client`: TLS 1.0 and 1.1 are refused even when offered at SECLEVEL=0, TLS 1.2 and
    1.3 handshake and verify;
  * the certificate is replaced on disk and SIGHUP sent: a new connection gets serial 1002 while
    a keep-alive connection opened before still serves (and still has serial 1001); a broken
    certificate and SIGHUP keep serial 1002 and the server running;
  * plain HTTP on 0.0.0.0 without --insecure-http exits 2 naming both remedies; with it the
    server starts and logs a warning;
  * `--tls-client-auth require`: a client without a certificate is refused, one with a
    certificate signed by the client CA is served (python ssl and curl).

Usage: e2e_tls.py --coffer build/coffer
"""

import http.client
import json
import os
import re
import shutil
import signal
import socket
import ssl
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

BOTO3_SNIPPET = r"""
import json, sys
import boto3, botocore.config, botocore.exceptions
url, ak, sk, verify, name, value = sys.argv[1:7]
verify = True if verify == "SYSTEM" else verify
ssm = boto3.client("ssm", endpoint_url=url, region_name="us-east-1", aws_access_key_id=ak,
                   aws_secret_access_key=sk, verify=verify,
                   config=botocore.config.Config(retries={"max_attempts": 1}))
try:
    ssm.put_parameter(Name=name, Value=value, Type="SecureString", Overwrite=True)
    got = ssm.get_parameter(Name=name, WithDecryption=True)["Parameter"]["Value"]
    print(json.dumps({"ok": got == value}))
except botocore.exceptions.SSLError as e:
    print(json.dumps({"ssl_error": True}))
"""


def openssl(*args, **kw):
    return subprocess.run(["openssl", *args], capture_output=True, text=True, timeout=60, **kw)


def make_pki(d):
    def run(*args):
        p = openssl(*args, cwd=d)
        if p.returncode != 0:
            raise RuntimeError(f"openssl {' '.join(args[:2])} failed: {p.stderr[:300]}")

    def ca(name):
        run("req", "-x509", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.pem", "-days", "2",
            "-subj", f"/CN=Coffer e2e {name}")

    def leaf(ca_name, name, serial, usage):
        with open(os.path.join(d, f"{name}.ext"), "w") as f:
            f.write(f"subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage={usage}\n")
        run("req", "-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
            "-keyout", f"{name}.key", "-out", f"{name}.csr", "-subj", f"/CN={name}")
        run("x509", "-req", "-in", f"{name}.csr", "-CA", f"{ca_name}.pem", "-CAkey",
            f"{ca_name}.key", "-set_serial", serial, "-days", "2", "-extfile", f"{name}.ext",
            "-out", f"{name}.pem")

    ca("ca")
    leaf("ca", "server1", "0x1001", "serverAuth")
    leaf("ca", "server2", "0x1002", "serverAuth")
    ca("clientca")
    leaf("clientca", "client", "0x2001", "clientAuth")


def install(d, name):
    """Copies NAME.pem/NAME.key over live.pem/live.key (what the server is configured with)."""
    for ext in (".pem", ".key"):
        tmp = os.path.join(d, "live" + ext + ".tmp")
        shutil.copyfile(os.path.join(d, name + ext), tmp)
        os.replace(tmp, os.path.join(d, "live" + ext))


def s_client(port, *args, ca=None):
    argv = ["s_client", "-connect", f"127.0.0.1:{port}", "-servername", "localhost", *args]
    if ca:
        argv += ["-CAfile", ca, "-verify_return_error"]
    return openssl(*argv, stdin=subprocess.DEVNULL)


def serial_of_pem_text(text):
    p = openssl("x509", "-noout", "-serial", input=text)
    m = re.search(r"serial=([0-9A-F]+)", p.stdout)
    return m.group(1) if m else None


def serial_of_der(der):
    p = subprocess.run(["openssl", "x509", "-inform", "DER", "-noout", "-serial"], input=der,
                       capture_output=True, timeout=60)
    m = re.search(rb"serial=([0-9A-F]+)", p.stdout)
    return m.group(1).decode() if m else None


def new_connection_serial(port, ca):
    p = s_client(port, ca=ca)
    return serial_of_pem_text(p.stdout) if p.returncode == 0 else None


def wait_for_log(t, pattern, count, timeout=20):
    rx = re.compile(pattern)
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if len(rx.findall(t.logs().decode(errors="replace"))) >= count:
            return True
        time.sleep(0.05)
    return False


def check_clients(t, ck, d, ca):
    name, value = "/tls/probe", h.new_canary()
    # awscli v2 and v1 with --ca-bundle (the harness adds it), then without.
    clis = [("v2", h.AWS_V2)]
    if h.pyenv_shim("aws"):
        clis.append(("v1", h.pyenv_shim("aws")))
    else:
        print("  pyenv awscli v1 absent: its part is skipped", flush=True)
    for cli, _ in clis:
        r = t.aws(["ssm", "put-parameter", "--name", name, "--type", "SecureString", "--value",
                   value, "--overwrite"], cli=cli)
        ck.cli_ok(r, f"aws {cli} put-parameter over TLS with --ca-bundle")
        r = t.aws(["ssm", "get-parameter", "--name", name, "--with-decryption"], cli=cli)
        ck.cli_ok(r, f"aws {cli} get-parameter over TLS with --ca-bundle")
        if r.json:
            ck.secret_eq(r.json["Parameter"]["Value"], value, f"aws {cli} reads the value back")
        t.ca_bundle = None
        r = t.aws(["ssm", "get-parameter", "--name", name], cli=cli, timeout=60)
        t.ca_bundle = ca
        ck.true(r.rc != 0 and re.search(r"SSL|certificate verify failed", r.err),
                f"aws {cli} without the CA bundle fails verification",
                f"rc={r.rc} stderr={r.err.strip()[:300]}")
    # AWS_CA_BUNDLE, as the aws CLI documents it.
    env = t.env()
    env["AWS_CA_BUNDLE"] = ca
    p = subprocess.run([h.AWS_V2, "--endpoint-url", t.url, "ssm", "get-parameter", "--name", name],
                       env=env, capture_output=True, text=True, timeout=120)
    ck.eq(p.returncode, 0, "aws v2 with $AWS_CA_BUNDLE")

    # boto3 under both pythons.
    pythons = [("pyenv", h.pyenv_shim("python3")), ("debian", h.DEBIAN_PYTHON)]
    for label, py in pythons:
        if not py or subprocess.run([py, "-c", "import boto3"], capture_output=True).returncode:
            print(f"  boto3 under the {label} python3 absent: its part is skipped", flush=True)
            continue
        for verify, want in ((ca, {"ok": True}), ("SYSTEM", {"ssl_error": True})):
            p = subprocess.run([py, "-c", BOTO3_SNIPPET, t.url, t.access_key, t.secret_key,
                                verify, name, value], capture_output=True, text=True,
                               timeout=120, env=h._clean_env())
            got = json.loads(p.stdout) if p.returncode == 0 and p.stdout.strip() else p.stderr[-300:]
            ck.eq(got, want, f"boto3 ({label}) verify={'ca.pem' if verify == ca else 'system'}")
    return value


def check_coffer_cli(t, ck, binary, ca):
    """`coffer kms rewrap` verifies the server: --ca-bundle, $AWS_CA_BUNDLE, or it fails."""
    base = [binary, "kms", "rewrap", "--endpoint-url", t.url]
    env = t.env()
    p = subprocess.run(base + ["--ca-bundle", ca], env=env, capture_output=True, text=True,
                       timeout=120)
    ck.eq(p.returncode, 0, f"coffer kms rewrap --ca-bundle ({p.stderr.strip()[:200]})")
    p = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    ck.true(p.returncode != 0 and "certificate" in p.stderr.lower(),
            "coffer kms rewrap without a CA bundle fails verification",
            f"rc={p.returncode} stderr={p.stderr.strip()[:300]}")
    env["AWS_CA_BUNDLE"] = ca
    p = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    ck.eq(p.returncode, 0, "coffer kms rewrap with $AWS_CA_BUNDLE")
    env["AWS_CA_BUNDLE"] = os.path.join(t.work, "absent.pem")
    p = subprocess.run(base, env=env, capture_output=True, text=True, timeout=120)
    ck.true(p.returncode != 0 and "CA bundle" in p.stderr,
            "coffer kms rewrap with an unreadable CA bundle fails (no fallback)",
            f"rc={p.returncode} stderr={p.stderr.strip()[:300]}")


def check_protocols(t, ck, ca):
    port = int(t.url.rsplit(":", 1)[1])
    for flag in ("-tls1", "-tls1_1"):
        p = s_client(port, flag, "-cipher", "DEFAULT@SECLEVEL=0")
        ck.true(p.returncode != 0, f"s_client {flag} is refused",
                f"rc={p.returncode} out={p.stdout[-300:]}")
    for flag, version in (("-tls1_2", "TLSv1.2"), ("-tls1_3", "TLSv1.3")):
        p = s_client(port, flag, ca=ca)
        ok = p.returncode == 0 and "Verify return code: 0 (ok)" in p.stdout and version in p.stdout
        ck.true(ok, f"s_client {flag} handshakes and verifies",
                f"rc={p.returncode} out={p.stdout[-400:]} err={p.stderr[-200:]}")


def check_reload(t, ck, d, ca):
    port = int(t.url.rsplit(":", 1)[1])
    ck.eq(new_connection_serial(port, ca), "1001", "a new connection gets serial 1001 at start")
    context = ssl.create_default_context(cafile=ca)
    keep = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
    keep.request("GET", "/healthz")
    r = keep.getresponse()
    r.read()
    ck.eq(r.status, 200, "keep-alive connection: first GET /healthz")
    sock = keep.sock
    ck.eq(serial_of_der(sock.getpeercert(binary_form=True)), "1001",
          "keep-alive connection has serial 1001")

    install(d, "server2")
    t.proc.send_signal(signal.SIGHUP)
    ck.true(wait_for_log(t, r"TLS certificate reloaded", 1), "SIGHUP reload is logged")
    ck.true(t.proc.poll() is None, "the server survives SIGHUP")
    ck.eq(new_connection_serial(port, ca), "1002", "a new connection after SIGHUP gets serial 1002")

    keep.request("GET", "/healthz")
    r = keep.getresponse()
    r.read()
    ck.eq(r.status, 200, "keep-alive connection opened before the reload serves after it")
    ck.true(keep.sock is sock, "...on the same connection (no reconnect)")
    ck.eq(serial_of_der(keep.sock.getpeercert(binary_form=True)), "1001",
          "...which still has its old certificate")
    keep.close()

    # A broken certificate on disk: the reload fails and the server keeps serial 1002.
    with open(os.path.join(d, "live.pem"), "w") as f:
        f.write("-----BEGIN CERTIFICATE-----\nbroken\n")
    t.proc.send_signal(signal.SIGHUP)
    ck.true(wait_for_log(t, r"TLS reload failed", 1), "a failed reload is logged")
    ck.true(t.proc.poll() is None, "the server survives a bad reload")
    ck.eq(new_connection_serial(port, ca), "1002", "after a bad reload the old certificate stays")
    install(d, "server2")


def check_plain_http_rule(ck, binary, work):
    data = os.path.join(work, "plain-data")
    p = subprocess.run([binary, "server", "--dev", "--data-dir", data, "--listen", "0.0.0.0:0"],
                       capture_output=True, text=True, timeout=60, env=h._clean_env(),
                       stdin=subprocess.DEVNULL)
    ck.eq(p.returncode, 2, "plain HTTP on 0.0.0.0 without --insecure-http exits 2")
    ck.true("--insecure-http" in p.stderr and "--tls-cert-file" in p.stderr,
            "...and names both remedies", p.stderr.strip()[:300])

    out, err = os.path.join(work, "insecure.out"), os.path.join(work, "insecure.err")
    with open(out, "wb") as fo, open(err, "wb") as fe:
        proc = subprocess.Popen([binary, "server", "--dev", "--data-dir", data, "--listen",
                                 "0.0.0.0:0", "--insecure-http"], stdout=fo, stderr=fe,
                                stdin=subprocess.DEVNULL, env=h._clean_env())
    try:
        m = h._wait_for_line(out, r"listening on (http://0\.0\.0\.0:(\d+))", proc, 20)
        ck.true(m is not None, "with --insecure-http the server starts on 0.0.0.0")
        with open(err, errors="replace") as f:
            text = f.read()
        ck.true("INSECURE" in text, "...and logs a warning", text[-300:])
        if m:
            # SIGHUP without TLS: a logged no-op, the server keeps serving.
            proc.send_signal(signal.SIGHUP)
            deadline = time.monotonic() + 20
            while time.monotonic() < deadline and "nothing to reload" not in open(err).read():
                time.sleep(0.05)
            ck.true("nothing to reload" in open(err).read(), "SIGHUP without TLS is logged")
            ck.true(proc.poll() is None, "SIGHUP without TLS does not stop the server")
    finally:
        proc.send_signal(signal.SIGTERM)
        try:
            ck.eq(proc.wait(timeout=20), 0, "insecure server stops on SIGTERM")
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


def check_client_auth(ck, binary, d, ca):
    t = h.CofferServer(binary, extra_args=[
        "--tls-cert-file", os.path.join(d, "live.pem"), "--tls-key-file",
        os.path.join(d, "live.key"), "--tls-client-ca-file", os.path.join(d, "clientca.pem"),
        "--tls-client-auth", "require"])
    try:
        t.start()
        port = int(t.url.rsplit(":", 1)[1])

        def get(cert):
            context = ssl.create_default_context(cafile=ca)
            if cert:
                context.load_cert_chain(os.path.join(d, "client.pem"),
                                        os.path.join(d, "client.key"))
            conn = http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
            try:
                conn.request("GET", "/healthz")
                return conn.getresponse().status
            except (ssl.SSLError, OSError) as e:
                return type(e).__name__
            finally:
                conn.close()

        ck.true(get(False) != 200, "client auth required: python ssl without a cert is refused")
        ck.eq(get(True), 200, "client auth required: python ssl with a client-CA cert is served")
        base = ["curl", "-sS", "-o", "/dev/null", "-w", "%{http_code}", "--cacert", ca,
                f"https://127.0.0.1:{port}/healthz"]
        if shutil.which("curl"):
            p = subprocess.run(base, capture_output=True, text=True, timeout=60)
            ck.true(p.returncode != 0, "curl without a client cert is refused",
                    f"rc={p.returncode} out={p.stdout}")
            p = subprocess.run(base + ["--cert", os.path.join(d, "client.pem"), "--key",
                                       os.path.join(d, "client.key")],
                               capture_output=True, text=True, timeout=60)
            ck.eq((p.returncode, p.stdout), (0, "200"), "curl with a client cert is served")
        t.stop()
    finally:
        t.cleanup()


def body(args, ck):
    work = tempfile.mkdtemp(prefix="coffer-e2e-tls-")
    try:
        make_pki(work)
        install(work, "server1")
        ca = os.path.join(work, "ca.pem")
        t = h.CofferServer(args.coffer, extra_args=[
            "--tls-cert-file", os.path.join(work, "live.pem"),
            "--tls-key-file", os.path.join(work, "live.key")])
        try:
            t.start()
            ck.true(t.url.startswith("https://127.0.0.1:"), "prints listening on https://",
                    t.url)
            t.ca_bundle = ca
            canary = check_clients(t, ck, work, ca)
            check_coffer_cli(t, ck, args.coffer, ca)
            check_protocols(t, ck, ca)
            check_reload(t, ck, work, ca)
            t.assert_no_canary_in_logs(ck, [canary])
            t.stop()
        finally:
            t.cleanup()
        check_plain_http_rule(ck, args.coffer, work)
        check_client_auth(ck, args.coffer, work, ca)
    finally:
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_tls", body))
