#!/usr/bin/env python3
"""coffer file / coffer age end to end, with the real `age`, `age-keygen` and `gpg` binaries, an
independent decryptor (Python `cryptography` + PyYAML) and a real Coffer server for KMS keys.

Checks: every sops vector decrypts with the test PGP key (MAC checked, no_mac refused unless
--ignore-mac, exit 51 on a MAC mismatch); a file coffer encrypts for an age recipient has a data
key `age -d` opens and values + MAC the independent decryptor verifies; a PGP-wrapped data key
opens with `gpg --decrypt`; `coffer age` and `age` read each other's files (binary and armored);
KMS keys (with an encryption context) against a Coffer server; three key groups with threshold 2
open with any two keys; edit/set/unset/exec-env/exec-file/updatekeys/rotate/status/diff/merge,
.sops.yaml creation rules, --extract, --to k8s-secret and SopsSecret documents; no value in any
error output.
"""

import base64
import hashlib
import json
import os
import re
import shutil
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

HERE = os.path.dirname(os.path.abspath(__file__))
VECTORS = os.path.join(HERE, "..", "data", "sops")
FP1 = "FBC7B9E2A4F9289AC0C1D4843D16CEE4A27381B4"
CANARY = h.new_canary()

VECTOR_FILES = [
    "example.yaml", "example.json", "example.ini", "example.txt",
    "examples/all_in_one/config/secret.enc.json",
    "examples/per_file/config.enc/static_github.json",
    "functional-tests/res/format.enc.yaml", "functional-tests/res/format.enc.json",
    "functional-tests/res/format.enc.env", "functional-tests/res/format.enc.ini",
    "functional-tests/res/format-2.enc.ini", "functional-tests/res/comments.enc.yaml",
    "functional-tests/res/comments_unencrypted_comments.yaml",
    "functional-tests/res/multiple_keys.yaml",
]


class Env:
    def __init__(self, coffer, work):
        self.coffer = coffer
        self.work = work
        self.env = dict(os.environ)
        for k in list(self.env):
            if k.startswith("SOPS_") or k.startswith("AWS_"):
                del self.env[k]
        self.env["GNUPGHOME"] = os.path.join(work, "gnupg")
        self.env["HOME"] = work
        self.env["TMPDIR"] = work
        self.env["XDG_CONFIG_HOME"] = os.path.join(work, "xdg")
        os.makedirs(self.env["GNUPGHOME"], mode=0o700)

    def run(self, args, env=None, stdin=None, cwd=None, binary=False):
        e = dict(self.env)
        e.update(env or {})
        p = subprocess.run([self.coffer] + args, env=e, input=stdin, capture_output=True,
                           cwd=cwd or self.work, timeout=120, text=not binary)
        return p

    def tool(self, args, stdin=None, binary=False):
        return subprocess.run(args, env=self.env, input=stdin, capture_output=True,
                              timeout=120, text=not binary)

    def path(self, name):
        return os.path.join(self.work, name)

    def write(self, name, text, mode="w"):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        with open(p, mode) as f:
            f.write(text)
        return p

    def read(self, name):
        with open(self.path(name)) as f:
            return f.read()

    def keygen(self, name):
        p = self.path(name)
        os.makedirs(os.path.dirname(p), exist_ok=True)
        self.tool(["age-keygen", "-o", p])
        return p, self.tool(["age-keygen", "-y", p]).stdout.strip()


def eq(c, actual, expected, what, detail=""):
    c.true(actual == expected, what, f"expected {expected!r}, got {actual!r} {detail}")


def no_canary(c, p, what):
    c.true(CANARY not in (p.stderr or ""), f"{what}: no value in the error output")


# ---- an independent sops reader (not product code) --------------------------------------------

ENC_RE = re.compile(r"^ENC\[AES256_GCM,data:(.+),iv:(.+),tag:(.+),type:(.+)\]")


def independent_check(c, text, data_key, expected):
    """Decrypts every value of a YAML sops file with `cryptography` and checks the MAC; returns
    the flat {path: plaintext} for comparison with `expected`."""
    import yaml
    from cryptography.hazmat.primitives.ciphers.aead import AESGCM
    doc = yaml.safe_load(text)
    sops = doc.pop("sops")
    aes = AESGCM(data_key)
    h512 = hashlib.sha512()
    flat = {}

    def dec(value, aad):
        m = ENC_RE.match(value)
        data, iv, tag, typ = (base64.b64decode(m.group(1)), base64.b64decode(m.group(2)),
                              base64.b64decode(m.group(3)), m.group(4))
        return aes.decrypt(iv, data + tag, aad.encode()).decode(), typ

    def walk(node, path):
        if isinstance(node, dict):
            for k, v in node.items():
                walk(v, path + [k])
        elif isinstance(node, list):
            for v in node:
                walk(v, path)
        elif node is None:
            pass
        else:
            aad = ":".join(path) + ":"
            if isinstance(node, str) and node.startswith("ENC["):
                plain, _ = dec(node, aad)
            elif isinstance(node, bool):
                plain = "True" if node else "False"
            else:
                plain = str(node)
            h512.update(plain.encode())
            flat[aad] = plain

    walk(doc, [])
    mac, _ = dec(sops["mac"], sops["lastmodified"])
    eq(c, mac, h512.hexdigest().upper(), "independent decryptor: the MAC matches the values")
    for k, v in expected.items():
        c.true(flat.get(k) == v, f"independent decryptor: {k} decrypts to its value")
    return flat


# ---- checks ----------------------------------------------------------------------------------


def check_vectors(c, e):
    key = os.path.join(VECTORS, "pgp", "sops_functional_tests_key.asc")
    r = e.tool(["gpg", "--batch", "--quiet", "--import", key])
    eq(c, r.returncode, 0, "gpg --import of the sops test key", r.stderr)
    for rel in VECTOR_FILES:
        p = e.run(["file", "decrypt", os.path.join(VECTORS, rel)], binary=True)
        with open(os.path.join(VECTORS, rel + ".plain"), "rb") as f:
            want = f.read()
        eq(c, p.returncode, 0, f"vector {rel} decrypts", p.stderr)
        c.true(p.stdout == want, f"vector {rel}: exactly the expected plaintext")
    no_mac = os.path.join(VECTORS, "functional-tests/res/no_mac.yaml")
    p = e.run(["file", "decrypt", no_mac])
    c.true(p.returncode != 0 and "no MAC" in p.stderr, "no_mac.yaml refused without --ignore-mac",
           p.stderr)
    p = e.run(["file", "decrypt", "--ignore-mac", no_mac])
    eq(c, p.returncode, 0, "no_mac.yaml decrypts with --ignore-mac", p.stderr)
    # A changed value of a real sops file: MAC mismatch, exit code 51 as sops.
    with open(os.path.join(VECTORS, "example.yaml")) as f:
        text = f.read()
    e.write("tampered.yaml", text.replace("remain in clear text", "remain in clear texT"))
    p = e.run(["file", "decrypt", "tampered.yaml"])
    eq(c, p.returncode, 51, "a changed clear value of example.yaml: MAC mismatch, exit 51",
         p.stderr)
    c.true("t00m4nys3cr3tzupdated" not in p.stderr, "the MAC error names no value")


def check_age_file(c, e):
    ident, recipient = e.keygen("age/key.txt")
    plain = ("# settings\napp:\n    user: alice\n    password: " + CANARY + "\n"
             "    port: 5432\n    ratio: 2.5\n    enabled: true\n    list:\n        - x\n        - z\n"
             "public_unencrypted: visible\n")
    e.write("app.yaml", plain)
    p = e.run(["file", "encrypt", "--age", recipient, "app.yaml"])
    eq(c, p.returncode, 0, "encrypt for an age recipient", p.stderr)
    enc = p.stdout
    c.true(CANARY not in enc, "the encrypted file holds no plaintext value")
    c.true("version: 3.13.2" in enc, "metadata version is a semver sops accepts")
    e.write("app.enc.yaml", enc)
    # The data key opens with the real age, and an independent decryptor verifies everything.
    import yaml
    stanza = yaml.safe_load(enc)["sops"]["age"][0]["enc"]
    r = e.tool(["age", "-d", "-i", ident], stdin=stanza.encode(), binary=True)
    eq(c, r.returncode, 0, "age -d opens the data key stanza", r.stderr)
    eq(c, len(r.stdout), 32, "the data key is 32 bytes")
    if r.returncode == 0:
        independent_check(c, enc, r.stdout, {
            "app:user:": "alice", "app:password:": CANARY, "app:port:": "5432",
            "app:ratio:": "2.5", "app:enabled:": "True", "app:list:": "z",
            "public_unencrypted:": "visible"})
    p = e.run(["file", "decrypt", "app.enc.yaml"], env={"SOPS_AGE_KEY_FILE": ident})
    eq(c, p.returncode, 0, "decrypt with SOPS_AGE_KEY_FILE", p.stderr)
    c.true(p.stdout == plain, "decrypt gives the file back, comment kept")
    with open(ident) as f:
        key_line = [l for l in f.read().splitlines() if l.startswith("AGE-SECRET-KEY-")][0]
    p = e.run(["file", "decrypt", "app.enc.yaml"], env={"SOPS_AGE_KEY": key_line})
    eq(c, p.returncode, 0, "decrypt with SOPS_AGE_KEY", p.stderr)
    os.makedirs(os.path.join(e.env["XDG_CONFIG_HOME"], "sops", "age"), exist_ok=True)
    shutil.copy(ident, os.path.join(e.env["XDG_CONFIG_HOME"], "sops", "age", "keys.txt"))
    p = e.run(["file", "decrypt", "app.enc.yaml"])
    eq(c, p.returncode, 0, "decrypt with the default key file", p.stderr)
    os.remove(os.path.join(e.env["XDG_CONFIG_HOME"], "sops", "age", "keys.txt"))
    p = e.run(["file", "decrypt", "app.enc.yaml"])
    eq(c, p.returncode, 128, "no identity: exit 128 (could not retrieve the key)", p.stderr)
    p = e.run(["file", "decrypt", "app.enc.yaml"], env={"SOPS_AGE_KEY_CMD": f"cat '{ident}'"})
    eq(c, p.returncode, 0, "decrypt with SOPS_AGE_KEY_CMD", p.stderr)
    # --extract
    p = e.run(["file", "decrypt", "--extract", '["app"]["password"]', "app.enc.yaml"],
              env={"SOPS_AGE_KEY_FILE": ident})
    c.true(p.returncode == 0 and p.stdout == CANARY, "--extract prints the raw value")
    # Tampering through the CLI: swapped values, changed lastmodified.
    lines = enc.splitlines(keepends=True)
    ui = [i for i, l in enumerate(lines) if l.startswith("    user: ")][0]
    pi = [i for i, l in enumerate(lines) if l.startswith("    password: ")][0]
    swapped = list(lines)
    swapped[ui] = "    user: " + lines[pi].split(": ", 1)[1]
    swapped[pi] = "    password: " + lines[ui].split(": ", 1)[1]
    e.write("swapped.yaml", "".join(swapped))
    p = e.run(["file", "decrypt", "swapped.yaml"], env={"SOPS_AGE_KEY_FILE": ident})
    c.true(p.returncode != 0 and "does not authenticate" in p.stderr,
           "swapped ciphertexts are detected", p.stderr)
    no_canary(c, p, "swapped values")
    e.write("lm.yaml", re.sub(r'lastmodified: "([^"]+)Z"', r'lastmodified: "\1+00:01"', enc))
    p = e.run(["file", "decrypt", "lm.yaml"], env={"SOPS_AGE_KEY_FILE": ident})
    eq(c, p.returncode, 51, "a changed lastmodified is a MAC mismatch (exit 51)", p.stderr)
    return ident, recipient


def check_pgp_wrap(c, e):
    e.write("p.json", '{\n\t"token": "' + CANARY + '"\n}\n')
    p = e.run(["file", "encrypt", "--pgp", FP1, "p.json"])
    eq(c, p.returncode, 0, "encrypt for a PGP key of the keyring", p.stderr)
    doc = json.loads(p.stdout)
    pgp = doc["sops"]["pgp"][0]
    eq(c, pgp["fp"], FP1, "pgp entry names the primary fingerprint")
    r = e.tool(["gpg", "--batch", "--quiet", "--decrypt"], stdin=pgp["enc"].encode(), binary=True)
    c.true(r.returncode == 0 and len(r.stdout) == 32, "gpg --decrypt opens the data key", r.stderr)
    e.write("p.enc.json", p.stdout)
    p = e.run(["file", "decrypt", "p.enc.json"])
    c.true(p.returncode == 0 and CANARY in p.stdout, "decrypt through the gpg keyring", p.stderr)


def check_age_cli(c, e, ident, recipient):
    data = os.urandom(200000) + CANARY.encode()
    e.write("blob.bin", data, mode="wb")
    for armor in ([], ["-a"]):
        # coffer age -> age -d
        p = e.run(["age", "-r", recipient] + armor + ["-o", e.path("blob.age"), e.path("blob.bin")])
        eq(c, p.returncode, 0, f"coffer age encrypt {armor}", p.stderr)
        r = e.tool(["age", "-d", "-i", ident, e.path("blob.age")], binary=True)
        c.true(r.returncode == 0 and r.stdout == data, f"age -d reads coffer age's file {armor}")
        # age -e -> coffer age -d
        r = e.tool(["age", "-r", recipient] + armor + ["-o", e.path("blob2.age"), e.path("blob.bin")])
        eq(c, r.returncode, 0, f"age encrypt {armor}", r.stderr)
        p = e.run(["age", "-d", "-i", ident, e.path("blob2.age")], binary=True)
        c.true(p.returncode == 0 and p.stdout == data, f"coffer age -d reads age's file {armor}")
    # Passphrases (scrypt): coffer <-> coffer always; with the real age through a pty, whose
    # prompt cannot be fed from a pipe.
    penv = {"COFFER_AGE_PASSPHRASE": "pass " + CANARY[-6:]}
    p = e.run(["age", "-p", "-a", "-o", e.path("p.age"), e.path("blob.bin")], env=penv)
    eq(c, p.returncode, 0, "coffer age -p encrypts to a passphrase", p.stderr)
    p = e.run(["age", "-d", e.path("p.age")], env=penv, binary=True)
    c.true(p.returncode == 0 and p.stdout == data, "coffer age -d opens it with the passphrase")
    p = e.run(["age", "-d", e.path("p.age")], env={"COFFER_AGE_PASSPHRASE": "wrong"})
    c.true(p.returncode != 0 and "passphrase does not open" in p.stderr, "a wrong passphrase fails")
    if shutil.which("script"):
        feed = f"sleep 2; printf '%s\\n' '{penv['COFFER_AGE_PASSPHRASE']}'"
        r = subprocess.run(["sh", "-c", f"({feed}) | script -qec 'age -d -o {e.path('p.out')} "
                            f"{e.path('p.age')}' /dev/null"], capture_output=True, timeout=60)
        if os.path.exists(e.path("p.out")):
            with open(e.path("p.out"), "rb") as f:
                c.true(f.read() == data, "the real age -d opens coffer's passphrase file")
        else:
            c.note("could not drive age's passphrase prompt through script(1)")
    # A passphrase-protected age key file for sops files (SOPS_AGE_KEY_FILE).
    p = e.run(["age", "-p", "-a", "-o", e.path("key.age"), ident], env=penv)
    e.write("pk.yaml", "k: " + CANARY + "\n")
    e.run(["file", "encrypt", "--age", recipient, "-i", "pk.yaml"])
    p = e.run(["file", "decrypt", "pk.yaml"], env=dict(penv, SOPS_AGE_KEY_FILE=e.path("key.age")))
    c.true(p.returncode == 0 and CANARY in p.stdout, "a passphrase-protected key file opens "
           "the data key", p.stderr)
    p = e.run(["age", "--keygen"])
    key = p.stdout
    c.true(p.returncode == 0 and "AGE-SECRET-KEY-1" in key, "coffer age --keygen")
    e.write("k2.txt", key)
    r2 = e.tool(["age-keygen", "-y", e.path("k2.txt")])
    c.true(r2.returncode == 0 and r2.stdout.strip() in key, "age-keygen -y reads coffer's key")
    check_age_pq(c, e)


def check_age_pq(c, e):
    """Post-quantum hybrid keys (ML-KEM-768 + X25519): coffer age --keygen --pq, whole files, and a
    sops file with an age1pq1 recipient from .sops.yaml. Debian's age 1.1.1 predates them."""
    p = e.run(["age", "--keygen", "--pq", "-o", e.path("pq.txt")])
    key = e.read("pq.txt") if p.returncode == 0 else ""
    c.true(p.returncode == 0 and "\nAGE-SECRET-KEY-PQ-1" in key, "coffer age --keygen --pq",
           p.stderr)
    pq_recipient = key.split("# public key: ", 1)[1].split("\n", 1)[0] if key else ""
    c.true(pq_recipient.startswith("age1pq1"), "the key file names its age1pq1 recipient")
    with open(e.path("pq.bin"), "wb") as f:
        f.write(CANARY.encode() * 3)
    p = e.run(["age", "-r", pq_recipient, "-a", "-o", e.path("pq.age"), e.path("pq.bin")])
    armored = e.read("pq.age") if p.returncode == 0 else ""
    c.true(p.returncode == 0 and CANARY not in armored, "coffer age -r age1pq1... encrypts",
           p.stderr)
    p = e.run(["age", "-d", "-i", e.path("pq.txt"), e.path("pq.age")])
    c.true(p.returncode == 0 and p.stdout == CANARY * 3, "coffer age -d opens it with the PQ key",
           p.stderr)
    _, classic = e.keygen("classic.txt")
    p = e.run(["age", "-r", pq_recipient, "-r", classic, e.path("pq.bin")])
    c.true(p.returncode != 0 and "cannot be mixed" in p.stderr,
           "post-quantum and X25519 recipients are not mixed (as age refuses)", p.stderr)
    r = e.tool(["age", "-d", "-i", e.path("pq.txt"), e.path("pq.age")])
    if r.returncode == 0:
        c.true(r.stdout == CANARY * 3, "the real age opens coffer's post-quantum file")
    else:
        c.note("the installed age does not know post-quantum keys (age >= 1.3 does): " +
               r.stderr.strip().splitlines()[0][:120])
    e.write("pqcmd/.sops.yaml", f"creation_rules:\n  - age: {pq_recipient}\n")
    e.write("pqcmd/s.yaml", "password: " + CANARY + "\n")
    p = e.run(["file", "encrypt", "-i", "s.yaml"], cwd=e.path("pqcmd"))
    enc = e.read("pqcmd/s.yaml")
    c.true(p.returncode == 0 and pq_recipient in enc and CANARY not in enc,
           "a sops file for an age1pq1 recipient from .sops.yaml", p.stderr)
    p = e.run(["file", "decrypt", "s.yaml"], cwd=e.path("pqcmd"),
              env={"SOPS_AGE_KEY_FILE": e.path("pq.txt")})
    c.true(p.returncode == 0 and CANARY in p.stdout, "SOPS_AGE_KEY_FILE with a PQ key opens it",
           p.stderr)


def check_commands(c, e, ident, recipient):
    env = {"SOPS_AGE_KEY_FILE": ident}
    e.write("cmd/.sops.yaml", "creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n"
            f"    age: {recipient}\n    encrypted_regex: ^(data|stringData|password)$\n")
    e.write("cmd/secrets/s.yaml", "kind: Secret\nmetadata:\n    name: x\nstringData:\n"
            "    pw: " + CANARY + "\n    user: bob\n")
    p = e.run(["file", "encrypt", "-i", "secrets/s.yaml"], cwd=e.path("cmd"))
    eq(c, p.returncode, 0, ".sops.yaml creation rule (path_regex, age, encrypted_regex)", p.stderr)
    enc = e.read("cmd/secrets/s.yaml")
    c.true("name: x" in enc and CANARY not in enc and "encrypted_regex" in enc,
           "only the matching subtree is encrypted")
    p = e.run(["file", "status", "secrets/s.yaml"], cwd=e.path("cmd"))
    eq(c, p.stdout.strip(), '{"encrypted":true}', "status of an encrypted file")
    # set / unset keep the other ciphertexts byte for byte.
    before = enc
    p = e.run(["file", "set", "secrets/s.yaml", '["stringData"]["user"]', '"carol"'],
              cwd=e.path("cmd"), env=env)
    eq(c, p.returncode, 0, "set", p.stderr)
    after = e.read("cmd/secrets/s.yaml")
    pw_line = [l for l in before.splitlines() if l.strip().startswith("pw:")][0]
    c.true(pw_line in after, "set: the unchanged value keeps its ciphertext")
    p = e.run(["file", "unset", "secrets/s.yaml", '["stringData"]["user"]'], cwd=e.path("cmd"),
              env=env)
    eq(c, p.returncode, 0, "unset", p.stderr)
    p = e.run(["file", "decrypt", "secrets/s.yaml"], cwd=e.path("cmd"), env=env)
    c.true("user" not in p.stdout and CANARY in p.stdout, "unset removed the key")
    # edit: an unchanged edit exits 200; a change is re-encrypted.
    p = e.run(["file", "edit", "secrets/s.yaml"], cwd=e.path("cmd"), env=dict(env, EDITOR="true"))
    eq(c, p.returncode, 200, "edit without change exits 200", p.stderr)
    script = e.write("ed.sh", "#!/bin/sh\nsed -i 's/name: x/name: z/' \"$1\"\n")
    os.chmod(script, 0o700)
    p = e.run(["file", "edit", "secrets/s.yaml"], cwd=e.path("cmd"), env=dict(env, EDITOR=script))
    eq(c, p.returncode, 0, "edit with a change", p.stderr)
    edited = e.read("cmd/secrets/s.yaml")
    c.true("name: z" in edited and pw_line in edited, "edit: change applied, other ciphertexts kept")
    # exec-env / exec-file
    e.write("env.yaml", "DB_PASSWORD: " + CANARY + "\n")
    e.run(["file", "encrypt", "--age", recipient, "-i", "env.yaml"])
    p = e.run(["file", "exec-env", "env.yaml", 'test "$DB_PASSWORD" = "' + CANARY + '"'], env=env)
    eq(c, p.returncode, 0, "exec-env puts the values into the environment", p.stderr)
    p = e.run(["file", "exec-file", "env.yaml", "grep -q " + CANARY + " {}"], env=env)
    eq(c, p.returncode, 0, "exec-file gives the command a decrypted file", p.stderr)
    leftovers = [n for n in os.listdir(e.work) if n.startswith("coffer-file-")]
    eq(c, leftovers, [], "exec-file removed its temporary directory")
    # rotate: new data key, values unchanged.
    old = e.read("env.yaml")
    p = e.run(["file", "rotate", "-i", "env.yaml"], env=env)
    eq(c, p.returncode, 0, "rotate", p.stderr)
    new = e.read("env.yaml")
    c.true(new.split("\n")[0] != old.split("\n")[0], "rotate re-encrypted the value")
    p = e.run(["file", "decrypt", "env.yaml"], env=env)
    c.true(CANARY in p.stdout, "the rotated file decrypts")
    # updatekeys: the rule now names a second recipient.
    ident2, recipient2 = e.keygen("age/key2.txt")
    e.write("cmd/.sops.yaml", "creation_rules:\n  - path_regex: secrets/.*\\.yaml$\n"
            f"    age: {recipient},{recipient2}\n    encrypted_regex: ^(data|stringData)$\n")
    p = e.run(["file", "updatekeys", "-y", "secrets/s.yaml"], cwd=e.path("cmd"), env=env)
    eq(c, p.returncode, 0, "updatekeys", p.stderr)
    p = e.run(["file", "decrypt", "secrets/s.yaml"], cwd=e.path("cmd"),
              env={"SOPS_AGE_KEY_FILE": ident2})
    c.true(p.returncode == 0 and CANARY in p.stdout, "the new recipient decrypts after updatekeys")
    # k8s-secret and SopsSecret
    p = e.run(["file", "decrypt", "--to", "k8s-secret", "db", "env.yaml"], env=env)
    want = base64.b64encode(CANARY.encode()).decode()
    c.true(p.returncode == 0 and "kind: Secret" in p.stdout and want in p.stdout,
           "--to k8s-secret renders a Secret", p.stderr)
    e.write("ss.yaml", "apiVersion: isindir.github.com/v1alpha3\nkind: SopsSecret\nmetadata:\n"
            "    name: s\nspec:\n    secretTemplates:\n        - name: one\n          stringData:\n"
            "              k: " + CANARY + "\n        - name: two\n          data:\n"
            "              b: aGk=\n")
    p = e.run(["file", "encrypt", "--age", recipient, "--encrypted-regex",
               "^(data|stringData)$", "-i", "ss.yaml"])
    p = e.run(["file", "decrypt", "--to", "k8s-secret", "ss.yaml"], env=env)
    c.true(p.returncode == 0 and "name: one" in p.stdout and "name: two" in p.stdout
           and want in p.stdout and "aGk=" in p.stdout, "a SopsSecret renders one Secret per "
           "template", p.stderr)
    # diff and merge
    e.write("m.yaml", "a: 1\nb: 2\nc: 3\n")
    e.run(["file", "encrypt", "--age", recipient, "-i", "m.yaml"])
    shutil.copy(e.path("m.yaml"), e.path("base.yaml"))
    shutil.copy(e.path("m.yaml"), e.path("theirs.yaml"))
    e.run(["file", "set", "m.yaml", '["a"]', "10"], env=env)
    e.run(["file", "set", "theirs.yaml", '["c"]', "30"], env=env)
    p = e.run(["file", "diff", "base.yaml", "m.yaml"], env=env)
    c.true(p.returncode == 1 and '- ["a"]: 1' in p.stdout and '+ ["a"]: 10' in p.stdout,
           "diff shows the changed key decrypted", p.stdout + p.stderr)
    p = e.run(["file", "merge", "base.yaml", "m.yaml", "theirs.yaml"], env=env)
    eq(c, p.returncode, 0, "merge of edits to different keys", p.stderr)
    p = e.run(["file", "decrypt", "m.yaml"], env=env)
    eq(c, p.stdout, "a: 10\nb: 2\nc: 30\n", "merged file has both changes")
    e.run(["file", "set", "theirs.yaml", '["a"]', "11"], env=env)
    p = e.run(["file", "merge", "base.yaml", "m.yaml", "theirs.yaml"], env=env)
    c.true(p.returncode == 1 and "a" in p.stderr, "merge of the same key is a conflict", p.stderr)


def check_shamir(c, e):
    keys = [e.keygen(f"sh/k{i}.txt") for i in range(3)]
    groups = "".join(f"      - age: [{r}]\n" for _, r in keys)
    e.write("sh/.sops.yaml", "creation_rules:\n  - shamir_threshold: 2\n    key_groups:\n" + groups)
    e.write("sh/s.yaml", "secret: " + CANARY + "\n")
    p = e.run(["file", "encrypt", "-i", "s.yaml"], cwd=e.path("sh"))
    eq(c, p.returncode, 0, "encrypt with 3 key groups, threshold 2", p.stderr)
    for pair in ((0, 1), (0, 2), (1, 2)):
        both = e.write(f"sh/two{pair}.txt", "".join(open(keys[i][0]).read() for i in pair))
        p = e.run(["file", "decrypt", "s.yaml"], cwd=e.path("sh"), env={"SOPS_AGE_KEY_FILE": both})
        c.true(p.returncode == 0 and CANARY in p.stdout, f"groups {pair} decrypt", p.stderr)
    p = e.run(["file", "decrypt", "s.yaml"], cwd=e.path("sh"),
              env={"SOPS_AGE_KEY_FILE": keys[0][0]})
    eq(c, p.returncode, 128, "one group of three is not enough (exit 128)", p.stderr)


def check_kms(c, e, args):
    server = h.CofferServer(args.coffer).start()
    try:
        r = server.aws(["kms", "create-key"])
        c.cli_ok(r, "create a KMS key")
        arn = r.json["KeyMetadata"]["Arn"]
        kenv = server.env()
        kenv["AWS_ENDPOINT_URL"] = server.url
        e.write("k.yaml", "token: " + CANARY + "\n")
        p = e.run(["file", "encrypt", "--kms", arn, "--encryption-context", "app:web,env:prod",
                   "-i", "k.yaml"], env=kenv)
        eq(c, p.returncode, 0, "encrypt for a KMS key of a Coffer server, with a context", p.stderr)
        text = e.read("k.yaml")
        c.true("kms:" in text and arn in text and "app: web" in text, "kms entry with context")
        p = e.run(["file", "decrypt", "k.yaml"], env=kenv)
        c.true(p.returncode == 0 and CANARY in p.stdout, "decrypt through the Coffer KMS", p.stderr)
        e.write("k2.yaml", text.replace("app: web", "app: evil"))
        p = e.run(["file", "decrypt", "k2.yaml"], env=kenv)
        eq(c, p.returncode, 128, "a changed encryption context does not open the key", p.stderr)
        bad = server.env(access_key="AKIAWRONG0000000000", secret_key="x" * 40)
        bad["AWS_ENDPOINT_URL"] = server.url
        p = e.run(["file", "decrypt", "k.yaml"], env=bad)
        eq(c, p.returncode, 128, "unknown credentials do not open the key", p.stderr)
        server.assert_no_canary_in_logs(c, [CANARY])
    finally:
        server.stop()
        server.cleanup()


def body(args, c):
    for tool in ("age", "age-keygen", "gpg"):
        if not shutil.which(tool):
            h.skip(f"{tool} is not installed")
    try:
        import yaml  # noqa: F401
        from cryptography.hazmat.primitives.ciphers.aead import AESGCM  # noqa: F401
    except ImportError:
        h.skip("PyYAML and cryptography are needed for the independent decryptor")
    work = tempfile.mkdtemp(prefix="coffer-e2e-file-")
    e = Env(os.path.abspath(args.coffer), work)
    try:
        check_vectors(c, e)
        ident, recipient = check_age_file(c, e)
        check_pgp_wrap(c, e)
        check_age_cli(c, e, ident, recipient)
        check_commands(c, e, ident, recipient)
        check_shamir(c, e)
        check_kms(c, e, args)
    finally:
        subprocess.run(["gpgconf", "--homedir", e.env["GNUPGHOME"], "--kill", "all"],
                       capture_output=True)
        shutil.rmtree(work, ignore_errors=True)


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_file_sops", body))
