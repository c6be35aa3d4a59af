"""What tests/data/release-<version>-datadir holds: written by release_datadir_write.py with a
release's binary, read back by e2e_release_datadir.py with the current one. Every value here is a
made-up test value (no real secret). Changing a value means writing the data directory anew with
the release binary, which is exactly what must not be needed: edit with care."""

import json
import subprocess

EXPECTED_FILE = "expected.json"
# The data directory as one text file: a tar of its files, base64-encoded, so
# that the repository holds no database or key files (every value in it is a
# throw-away test value). unpack_datadir() restores it.
DATADIR = "release-0.1.0-datadir.tar.b64"


def unpack_datadir(path, dest):
    """Extracts the base64 tar at `path` into the directory `dest` (created, 0700; files 0600),
    refusing any member that is not a plain file directly inside it."""
    import base64
    import io
    import os
    import tarfile
    with open(path, "rb") as f:
        raw = base64.decodebytes(f.read())
    os.makedirs(dest, mode=0o700, exist_ok=True)
    with tarfile.open(fileobj=io.BytesIO(raw)) as tar:
        for m in tar.getmembers():
            if not m.isfile() or os.path.basename(m.name) != m.name or m.name in ("", ".", ".."):
                raise ValueError(f"unexpected member {m.name!r} in {path}")
            target = os.path.join(dest, m.name)
            with open(target, "wb") as out:
                out.write(tar.extractfile(m).read())
            os.chmod(target, 0o600)


def pack_datadir(src, path):
    """Writes the files of directory `src` as the base64 tar at `path` (what unpack_datadir
    reads), deterministically: sorted names, mode 0600, mtime 0."""
    import base64
    import io
    import os
    import tarfile
    buf = io.BytesIO()
    with tarfile.open(fileobj=buf, mode="w", format=tarfile.PAX_FORMAT) as tar:
        for name in sorted(os.listdir(src)):
            with open(os.path.join(src, name), "rb") as f:
                data = f.read()
            info = tarfile.TarInfo(name)
            info.size, info.mode, info.mtime = len(data), 0o600, 0
            tar.addfile(info, io.BytesIO(data))
    with open(path, "w") as f:
        f.write(base64.encodebytes(buf.getvalue()).decode())

KEY_ALIAS = "alias/compat-key"
KEY_DESCRIPTION = "compat customer key"
KEY_TAGS = {"env": "compat", "owner": "tests"}
KEY_ROTATION_DAYS = 2560
KEY_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Id": "compat-key-policy",
    "Statement": [{
        "Sid": "Enable IAM User Permissions",
        "Effect": "Allow",
        "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
        "Action": "kms:*",
        "Resource": "*",
    }],
}, separators=(",", ":"))
KMS_PLAINTEXT = "compat kms plaintext (test value)"
KMS_CONTEXT = {"purpose": "compat"}

PARAMETERS = {
    "/compat/plain": {
        "type": "String", "values": ["plain-v1", "plain-v2"],
        "description": "compat plain parameter",
        "labels": {"1": ["first"], "2": ["current", "blue"]},
        "tags": {"env": "compat", "team": "core"},
    },
    "/compat/secure-default": {
        "type": "SecureString", "values": ["test-secure-default-v1", "test-secure-default-v2"],
        "labels": {"1": ["stable"]},
        "tags": {"env": "compat"},
    },
    "/compat/secure-customer": {
        "type": "SecureString", "values": ["test-secure-customer-v1"], "key": "customer",
        "description": "sealed by the customer key",
    },
    "/compat/nested/list": {
        "type": "StringList", "values": ["a,b,c"],
    },
}

SECRETS = {
    "compat/db": {
        "description": "compat database login (test values)",
        "tags": {"env": "compat", "app": "db"},
        "versions": [
            {"id": "00000000-0000-4000-8000-000000000001",
             "string": '{"username":"test","password":"not-a-real-password-1"}'},
            {"id": "00000000-0000-4000-8000-000000000002",
             "string": '{"username":"test","password":"not-a-real-password-2"}'},
            {"id": "00000000-0000-4000-8000-000000000003",
             "string": '{"username":"test","password":"not-a-real-password-3"}'},
        ],
        # After three puts: v3 AWSCURRENT, v2 AWSPREVIOUS. Then AWSCURRENT moves back to v2
        # (AWSPREVIOUS follows to v3) and a custom label is set on v1.
        "moves": [
            {"stage": "AWSCURRENT", "to": "00000000-0000-4000-8000-000000000002",
             "from": "00000000-0000-4000-8000-000000000003"},
            {"stage": "blue", "to": "00000000-0000-4000-8000-000000000001"},
        ],
        "stages": {
            "00000000-0000-4000-8000-000000000001": ["blue"],
            "00000000-0000-4000-8000-000000000002": ["AWSCURRENT"],
            "00000000-0000-4000-8000-000000000003": ["AWSPREVIOUS"],
        },
    },
    "compat/binary": {
        "description": "compat binary secret", "key": "customer",
        "tags": {"env": "compat"},
        "versions": [
            {"id": "00000000-0000-4000-8000-00000000000a", "binary": "AAEC/2NvbXBhdA=="},
        ],
        "stages": {"00000000-0000-4000-8000-00000000000a": ["AWSCURRENT"]},
    },
}

IAM_PATH = "/compat/"
USER = "compat-user"
USER_TAGS = {"team": "core"}
USER_INLINE_POLICY_NAME = "read-compat-parameters"
USER_INLINE_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["ssm:GetParameter"],
                   "Resource": "arn:aws:ssm:us-east-1:000000000000:parameter/compat/*"}],
}, separators=(",", ":"))
GROUP = "compat-group"
MANAGED_POLICY_NAME = "compat-read-secrets"
MANAGED_POLICY_DESCRIPTION = "lets the compat group read the compat secrets"
MANAGED_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": ["secretsmanager:GetSecretValue"],
                   "Resource": "arn:aws:secretsmanager:us-east-1:000000000000:secret:compat/*"}],
}, separators=(",", ":"))
ROLE = "compat-role"
ROLE_DESCRIPTION = "compat role"
ROLE_TAGS = {"env": "compat"}
TRUST_POLICY = json.dumps({
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Principal": {"AWS": "arn:aws:iam::000000000000:root"},
                   "Action": "sts:AssumeRole"}],
}, separators=(",", ":"))


def release_version(binary):
    out = subprocess.run([binary, "version"], capture_output=True, text=True).stdout
    return out.strip()
