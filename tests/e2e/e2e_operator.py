#!/usr/bin/env python3
"""Production mode end to end (issue 12): init with 5 shares / threshold 3, sealed
restarts, every API refusing while sealed with its own protocol's error, unseal by three
separate `coffer operator unseal` processes, wrong and corrupt shares named as such,
rekey and rotate-root keeping every value readable, automated unseal with
--unseal-key-file and with --unseal-kms against a second Coffer acting as KMS, and no
share or admin secret in the logs or the audit log."""

import argparse
import base64
import json
import os
import shutil
import subprocess
import sys
import time
import urllib.request

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from coffer_harness import (AWS_V2, REGION, Checker, CofferServer, _clean_env,  # noqa: E402
                            new_canary, sigv4_headers)


def operator(server, args, stdin=None, env=None):
    argv = [server.binary, "operator"] + args + ["--endpoint-url", server.url]
    e = dict(env or _clean_env())
    p = subprocess.run(argv, env=e, capture_output=True, text=True, input=stdin, timeout=60)
    return p


def signed_env(server):
    e = _clean_env()
    e["AWS_SHARED_CREDENTIALS_FILE"] = server.credentials_file
    e["AWS_CONFIG_FILE"] = server.config_file
    return e


def parse_init(text):
    shares = [line.split(": ", 1)[1].strip() for line in text.splitlines()
              if line.startswith("Unseal share ")]
    akid = next(line.split("= ", 1)[1].strip() for line in text.splitlines()
                if "aws_access_key_id" in line)
    secret = next(line.split("= ", 1)[1].strip() for line in text.splitlines()
                  if "aws_secret_access_key" in line)
    return shares, akid, secret


def init_encrypted(c, server):
    """init 2/2 with share 1 encrypted to an age recipient and share 2 to a PGP key (the real
    age-keygen and gpg make the keys and decrypt); returns the decrypted shares. Without age
    or gpg, a plain init."""
    work = server.work
    if not (shutil.which("age-keygen") and shutil.which("age") and shutil.which("gpg")):
        c.note("age or gpg absent: shares not encrypted in this run")
        r = operator(server, ["init", "--shares", "2", "--threshold", "2"])
        shares, _, secret = parse_init(r.stdout)
        return shares, secret
    identity = os.path.join(work, "op1.agekey")
    subprocess.run(["age-keygen", "-o", identity], check=True, capture_output=True)
    recipient = subprocess.run(["age-keygen", "-y", identity], check=True, capture_output=True,
                               text=True).stdout.strip()
    gnupg = os.path.join(work, "gnupg")
    os.makedirs(gnupg, mode=0o700)
    genv = dict(os.environ, GNUPGHOME=gnupg)
    gpg = ["gpg", "--batch", "--pinentry-mode", "loopback", "--passphrase", ""]
    subprocess.run(gpg + ["--quick-gen-key", "Op Two <op2@example.com>", "ed25519",
                          "cert,sign", "0"], env=genv, check=True, capture_output=True)
    fpr = subprocess.run(["gpg", "--batch", "--with-colons", "--list-keys"], env=genv,
                         check=True, capture_output=True, text=True).stdout
    fpr = next(line.split(":")[9] for line in fpr.splitlines() if line.startswith("fpr:"))
    subprocess.run(gpg + ["--quick-add-key", fpr, "cv25519", "encr", "0"], env=genv, check=True,
                   capture_output=True)
    pub = os.path.join(work, "op2.asc")
    with open(pub, "wb") as f:
        f.write(subprocess.run(["gpg", "--batch", "--armor", "--export", fpr], env=genv,
                               check=True, capture_output=True).stdout)
    r = operator(server, ["init", "--shares", "2", "--threshold", "2", "--encrypt-share-to",
                          "age1notarecipient", "--encrypt-share-to", pub])
    c.true(r.returncode == 1 and "age1notarecipient" in r.stderr,
           "a bad recipient fails init before any share exists", r.stderr)
    c.eq(status(server)[0]["initialized"], False, "still uninitialized after the refusal")
    r = operator(server, ["init", "--shares", "2", "--threshold", "2",
                          "--encrypt-share-to", recipient, "--encrypt-share-to", pub])
    c.eq(r.returncode, 0, "init with shares encrypted to age and PGP recipients", r.stderr)
    blocks = r.stdout.split("Unseal share ")[1:]
    c.true(len(blocks) == 2 and "BEGIN AGE ENCRYPTED FILE" in blocks[0]
           and "BEGIN PGP MESSAGE" in blocks[1], "share 1 is age-armored, share 2 PGP-armored")
    age_text = blocks[0][blocks[0].index("-----BEGIN"):blocks[0].index("-----END AGE ENCRYPTED FILE-----") + 32]
    pgp_text = blocks[1][blocks[1].index("-----BEGIN"):blocks[1].index("-----END PGP MESSAGE-----") + 25]
    share1 = subprocess.run(["age", "-d", "-i", identity], input=age_text + "\n",
                            capture_output=True, text=True).stdout.strip()
    share2 = subprocess.run(gpg + ["--decrypt"], input=pgp_text + "\n", env=genv,
                            capture_output=True, text=True).stdout.strip()
    subprocess.run(["gpgconf", "--kill", "all"], env=genv, capture_output=True)
    akid_secret = next(line.split("= ", 1)[1].strip() for line in r.stdout.splitlines()
                       if "aws_secret_access_key" in line)
    unseal_with(c, server, [share1, share2], "shares decrypted with age and gpg")
    c.eq(status(server)[0]["sealed"], False, "the decrypted shares unseal the server")
    return [share1, share2], akid_secret


def status(server):
    p = operator(server, ["status", "--json"])
    return json.loads(p.stdout), p.returncode


def healthz(server):
    try:
        with urllib.request.urlopen(server.url + "/healthz", timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def raw_call(server, service, headers, body, method="POST", path="/"):
    """A signed raw request; returns (status, body bytes)."""
    url = server.url + path
    h = sigv4_headers(method, url, dict(headers), body, server.access_key, server.secret_key,
                      REGION, service)
    req = urllib.request.Request(url, data=body if method != "GET" else None, method=method,
                                 headers=h)
    try:
        with urllib.request.urlopen(req, timeout=10) as r:
            return r.status, r.read()
    except urllib.error.HTTPError as e:
        return e.code, e.read()


def check_refuses_everything(c, server, label):
    """Every API answers its own protocol's refusal while sealed."""
    json_calls = [("ssm", "AmazonSSM.GetParameter", {"Name": "/app/db"}),
                  ("secretsmanager", "secretsmanager.GetSecretValue", {"SecretId": "app"}),
                  ("kms", "TrentService.ListKeys", {})]
    for service, target, payload in json_calls:
        st, body = raw_call(server, service,
                            {"Content-Type": "application/x-amz-json-1.1",
                             "X-Amz-Target": target}, json.dumps(payload).encode())
        doc = json.loads(body or b"{}")
        c.eq((st, doc.get("__type")), (503, "ServiceUnavailable"),
             f"{label}: {service} {target.split('.')[-1]} refused as ServiceUnavailable (JSON)")
        c.true("sealed" in doc.get("message", ""), f"{label}: {service} message says sealed")
    for service, form in [("sts", "Action=GetCallerIdentity&Version=2011-06-15"),
                          ("iam", "Action=ListUsers&Version=2010-05-08")]:
        st, body = raw_call(server, service,
                            {"Content-Type": "application/x-www-form-urlencoded"}, form.encode())
        c.eq(st, 503, f"{label}: {service} refused with 503")
        c.true(b"<Code>ServiceUnavailable</Code>" in body,
               f"{label}: {service} answers query-XML ServiceUnavailable")
    st, body = raw_call(server, "coffer", {"Content-Type": "application/json"}, b"{}",
                        path="/v1/sys/rotate-root")
    c.eq((st, json.loads(body).get("code")), (503, "Sealed"),
         f"{label}: a signed operator call is refused as Sealed")
    st, body = healthz(server)
    c.eq((st, json.loads(body).get("status")), (503, "sealed"), f"{label}: /healthz 503 sealed")
    # The real clients see the error too (one attempt: no retries of the 503).
    r = server.aws(["ssm", "get-parameter", "--name", "/app/db", "--cli-read-timeout", "10"],
                   env=dict(signed_env(server), AWS_MAX_ATTEMPTS="1"))
    c.true(r.rc != 0 and "ServiceUnavailable" in r.err,
           f"{label}: aws v2 get-parameter fails with ServiceUnavailable", r.err[-300:])


def unseal_with(c, server, shares, label):
    last = None
    for i, share in enumerate(shares):
        # Each share comes from its own process, on stdin, as separate operators would.
        last = operator(server, ["unseal"], stdin=share + "\n")
        c.eq(last.returncode, 0, f"{label}: unseal call {i + 1} accepted", last.stderr)
    return last


def check_values(c, server, values, label):
    ssm = server.boto3_client("ssm")
    got = ssm.get_parameter(Name="/app/db", WithDecryption=True)["Parameter"]["Value"]
    c.secret_eq(got, values["param"], f"{label}: SecureString parameter reads back")
    sm = server.boto3_client("secretsmanager")
    got = sm.get_secret_value(SecretId="app/api")["SecretString"]
    c.secret_eq(got, values["secret"], f"{label}: secret reads back")
    kms = server.boto3_client("kms")
    got = kms.decrypt(CiphertextBlob=values["blob"])["Plaintext"].decode()
    c.secret_eq(got, values["kms"], f"{label}: KMS ciphertext made before decrypts")


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--coffer", required=True)
    args = ap.parse_args()
    c = Checker("e2e_operator")
    server = CofferServer(args.coffer, dev=False)
    other = CofferServer(args.coffer, dev=False)
    kms_server = CofferServer(args.coffer)  # dev: the "other KMS endpoint"
    secrets_seen = []
    try:
        server.start()
        st, code = status(server)
        c.eq((st["initialized"], st["sealed"], code), (False, True, 2),
             "a new production server is uninitialized and sealed (status exit 2)")
        c.eq(healthz(server)[0], 503, "uninitialized server: /healthz 503")
        r = operator(server, ["unseal"], stdin="x\n")
        c.true(r.returncode == 1 and "NotInitialized" in r.stderr,
               "unseal before init names NotInitialized", r.stderr)

        r = operator(server, ["init", "--shares", "5", "--threshold", "3"])
        c.eq(r.returncode, 0, "operator init 5/3", r.stderr)
        shares, akid, secret = parse_init(r.stdout)
        secrets_seen += shares + [secret]
        c.eq(len(shares), 5, "init printed 5 shares")
        c.eq(len(set(shares)), 5, "the shares differ")
        r = operator(server, ["init", "--shares", "5", "--threshold", "3"])
        c.true(r.returncode == 1 and "AlreadyInitialized" in r.stderr,
               "a second init is refused (AlreadyInitialized)", r.stderr)
        files = sorted(os.listdir(server.data_dir))
        c.true("root.key" not in files and "credentials" not in files,
               "production data dir holds no root key and no credentials", str(files))
        st, _ = status(server)
        c.true(st["sealed"], "after init the server is sealed")
        server._write_client_files(akid, secret)

        # First unseal, then data to read back after every later step.
        unseal_with(c, server, shares[:3], "first unseal")
        st, code = status(server)
        c.eq((st["sealed"], code), (False, 0), "three shares unseal (status exit 0)")
        c.eq(healthz(server)[0], 200, "unsealed: /healthz 200")
        values = {"param": new_canary(), "secret": new_canary(), "kms": new_canary()}
        secrets_seen += list(values.values())
        server.boto3_client("ssm").put_parameter(Name="/app/db", Value=values["param"],
                                                 Type="SecureString")
        server.boto3_client("secretsmanager").create_secret(Name="app/api",
                                                            SecretString=values["secret"])
        kms = server.boto3_client("kms")
        key_id = kms.create_key()["KeyMetadata"]["KeyId"]
        values["blob"] = kms.encrypt(KeyId=key_id, Plaintext=values["kms"].encode())[
            "CiphertextBlob"]

        # Restart: sealed; every API refuses.
        server.restart()
        check_refuses_everything(c, server, "after restart")

        # Wrong and corrupt shares are named; two shares do not unseal.
        other.start()
        other_shares, other_secret = init_encrypted(c, other)
        secrets_seen += other_shares + [other_secret]
        r = operator(server, ["unseal"], stdin=other_shares[0] + "\n")
        c.true(r.returncode == 1 and "InvalidShare" in r.stderr and "wrong" in r.stderr,
               "a share of another server is named wrong (InvalidShare)", r.stderr)
        raw = bytearray(base64.b64decode(shares[0]))
        raw[3] ^= 0x01
        r = operator(server, ["unseal"], stdin=base64.b64encode(bytes(raw)).decode() + "\n")
        c.true(r.returncode == 1 and "CorruptShare" in r.stderr and "corrupt" in r.stderr,
               "a share with a flipped bit is named corrupt (CorruptShare)", r.stderr)
        r = operator(server, ["unseal"], stdin=shares[0][:-6] + "\n")
        c.true(r.returncode == 1 and "CorruptShare" in r.stderr,
               "a truncated share is named corrupt", r.stderr)
        st, _ = status(server)
        c.eq(st["progress"], 0, "refused shares do not count towards progress")
        unseal_with(c, server, [shares[4], shares[1]], "two shares")
        st, _ = status(server)
        c.eq((st["sealed"], st["progress"]), (True, 2), "two shares leave it sealed (2/3)")
        check_refuses_everything(c, server, "with 2 of 3 shares")
        r = operator(server, ["unseal"], stdin=shares[1] + "\n")
        c.true(r.returncode == 1 and "already given" in r.stderr,
               "the same share twice is refused", r.stderr)
        unseal_with(c, server, [shares[3]], "third share (any order)")
        st, _ = status(server)
        c.true(not st["sealed"], "shares 5, 2, 4 unseal")
        check_values(c, server, values, "after restart and unseal")

        # Authorization of signed operator calls: a user without coffer:Seal is refused.
        iam = server.boto3_client("iam")
        iam.create_user(UserName="dev1")
        k = iam.create_access_key(UserName="dev1")["AccessKey"]
        secrets_seen.append(k["SecretAccessKey"])
        env = _clean_env()
        env["AWS_ACCESS_KEY_ID"], env["AWS_SECRET_ACCESS_KEY"] = (k["AccessKeyId"],
                                                                  k["SecretAccessKey"])
        r = operator(server, ["seal"], env=env)
        c.true(r.returncode == 1 and "AccessDenied" in r.stderr,
               "a user without coffer:Seal cannot seal", r.stderr)
        r = operator(server, ["seal"])
        c.true(r.returncode == 1 and ("credentials" in r.stderr or "Missing" in r.stderr),
               "seal without credentials is refused", r.stderr)
        c.eq(status(server)[0]["sealed"], False, "still unsealed")

        # Rotate the root key online; values stay readable, also after a restart.
        before = status(server)[0]["root_fingerprints"][0]
        r = operator(server, ["rotate-root"], env=signed_env(server))
        c.eq(r.returncode, 0, "rotate-root", r.stderr)
        after = status(server)[0]["root_fingerprints"]
        c.true(len(after) == 1 and after[0] != before, "a new root key fingerprint", str(after))
        check_values(c, server, values, "after rotate-root")

        # Rekey to 3 shares / threshold 2: old shares become wrong, new ones unseal.
        r = operator(server, ["rekey", "start", "--shares", "3", "--threshold", "2"],
                     env=signed_env(server))
        c.eq(r.returncode, 0, "rekey start", r.stderr)
        nonce = status(server)[0]["rekey"]["nonce"]
        for share in shares[:2]:
            r = operator(server, ["rekey", "submit", "--nonce", nonce], stdin=share + "\n")
            c.eq(r.returncode, 0, "rekey submit", r.stderr)
        r = operator(server, ["rekey", "submit", "--nonce", nonce], stdin=shares[2] + "\n")
        new_shares = [line.split(": ", 1)[1].strip() for line in r.stdout.splitlines()
                      if line.startswith("Unseal share ")]
        secrets_seen += new_shares
        c.eq(len(new_shares), 3, "rekey complete: three new shares")
        server.restart()
        r = operator(server, ["unseal"], stdin=shares[0] + "\n")
        c.true(r.returncode == 1 and "InvalidShare" in r.stderr,
               "after rekey an old share is wrong", r.stderr)
        unseal_with(c, server, new_shares[1:], "new shares")
        c.eq(status(server)[0]["sealed"], False, "two new shares unseal (threshold 2)")
        check_values(c, server, values, "after rekey, rotate-root and restart")

        # Online backup of the running production server; the restored copy starts sealed,
        # and the current shares unseal it.
        backup_dir = os.path.join(server.work, "backup")
        p = subprocess.run([server.binary, "backup", "--data-dir", server.data_dir,
                            "--out", backup_dir], capture_output=True, text=True, timeout=60)
        c.eq(p.returncode, 0, "coffer backup of the running production server", p.stderr)
        c.true(not os.path.exists(os.path.join(backup_dir, "root.key")),
               "the production backup holds no root key")
        restored = CofferServer(args.coffer, dev=False)
        subprocess.run(["cp", "-a", backup_dir, restored.data_dir], check=True)
        try:
            restored.start()
            restored._write_client_files(akid, secret)
            c.eq(status(restored)[0]["sealed"], True, "the restored copy starts sealed")
            unseal_with(c, restored, new_shares[:2], "restored copy")
            check_values(c, restored, values, "restored from the backup")
        finally:
            restored.cleanup()
        r = operator(server, ["seal"], env=signed_env(server))
        c.true(r.returncode == 0 and status(server)[0]["sealed"], "operator seal seals")
        check_refuses_everything(c, server, "after operator seal")

        # --unseal-key-file: refused when readable by others; enrolled at the first unseal.
        key_file = os.path.join(server.work, "unseal.key")
        with open(key_file, "w") as f:
            f.write(base64.b64encode(os.urandom(32)).decode() + "\n")
        os.chmod(key_file, 0o644)
        server.stop()
        server.extra_args = ["--unseal-key-file", key_file]
        try:
            server.start(timeout=10)
            c.true(False, "a world-readable unseal key file is refused")
        except RuntimeError as e:
            c.true("read by others" in str(e), "a world-readable unseal key file is refused",
                   str(e)[-300:])
        os.chmod(key_file, 0o600)
        server.start()
        c.eq(status(server)[0]["sealed"], True, "key file not enrolled yet: sealed")
        unseal_with(c, server, new_shares[:2], "enrolling the key file")
        server.restart()
        st, _ = status(server)
        c.eq((st["sealed"], healthz(server)[0]), (False, 200),
             "restart with --unseal-key-file serves at once")
        check_values(c, server, values, "after key-file unseal")

        # --unseal-kms against a second Coffer (dev mode) acting as KMS.
        kms_server.start()
        remote = kms_server.boto3_client("kms")
        remote_key = remote.create_key(Description="coffer unseal")["KeyMetadata"]["KeyId"]
        server.stop()
        server.extra_args = ["--unseal-kms", remote_key, "--unseal-kms-endpoint", kms_server.url]
        server.server_env = {"AWS_SHARED_CREDENTIALS_FILE": kms_server.credentials_file,
                             "AWS_CONFIG_FILE": kms_server.config_file}
        server.start()
        c.eq(status(server)[0]["sealed"], True, "--unseal-kms not enrolled yet: sealed")
        unseal_with(c, server, new_shares[1:], "enrolling KMS")
        server.restart()
        c.eq(status(server)[0]["sealed"], False,
             "restart with --unseal-kms (second Coffer as KMS) serves at once")
        check_values(c, server, values, "after KMS unseal")
        # The remote key disabled: the server starts sealed and keeps retrying; once the key
        # is enabled again it unseals by itself (first retry after 5 s).
        remote.disable_key(KeyId=remote_key)
        server.restart()
        c.eq(status(server)[0]["sealed"], True, "remote KMS key disabled: starts sealed")
        c.true(b"unseal through KMS failed" in server.logs(), "the KMS failure is logged")
        remote.enable_key(KeyId=remote_key)
        deadline = time.monotonic() + 40
        while time.monotonic() < deadline and status(server)[0]["sealed"]:
            time.sleep(0.5)
        c.eq(status(server)[0]["sealed"], False,
             "the KMS unseal is retried and succeeds once the remote key is enabled")
        # Disabled again: shares unseal it while the retries fail.
        remote.disable_key(KeyId=remote_key)
        server.restart()
        c.eq(status(server)[0]["sealed"], True, "remote KMS key disabled again: sealed")
        unseal_with(c, server, new_shares[:2], "shares after a KMS failure")
        c.eq(status(server)[0]["sealed"], False, "shares unseal when KMS cannot")
        check_values(c, server, values, "after the KMS retries")

        # Nothing secret in logs or the audit log.
        logs = server.logs() + other.logs()
        with open(os.path.join(server.data_dir, "audit.log"), "rb") as f:
            audit = f.read()
        leaked = [s for s in secrets_seen if s.encode() in logs or s.encode() in audit]
        c.eq(len(leaked), 0, "no share, admin secret or value in the logs or the audit log")
        c.true(b'"operation":"Unseal"' in audit and b'"operation":"Init"' in audit,
               "init and unseal attempts are audited")
        c.true(b'"operation":"RotateRoot"' in audit and b'"operation":"Seal"' in audit,
               "rotate-root and seal are audited")
    finally:
        for s in (server, other, kms_server):
            s.cleanup()
    return c.finish()


if __name__ == "__main__":
    sys.exit(main())
