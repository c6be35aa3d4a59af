#!/usr/bin/env python3
"""`coffer backup` of a running server, and a restore from it (docs/backup.md).

1. A dev server gets parameters (String and SecureString, several versions) and secrets
   (boto3). A writer thread keeps overwriting parameters through the whole backup.
2. `coffer backup --data-dir DATA --out BACKUP` runs against the running server's data
   directory; it exits 0, names the files it wrote, never prints a stored value, and leaves
   BACKUP 0700 with every file 0600. A second run into the same (now non-empty) directory is
   refused, and so is a data directory without a database.
3. The server stops; a copy of BACKUP (cp -a, as docs/backup.md says) becomes the data
   directory of a new server. `coffer audit verify --data-dir` passes on it before and after
   that server runs. Every value acknowledged before the backup began reads back with its exact
   plaintext (parameters by name:version, secrets by version id), and the restored server
   accepts new writes.

Usage: e2e_backup_restore.py --coffer build/coffer
"""

import os
import shutil
import stat
import subprocess
import sys
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

PARAMS = 30
SECRETS = 5
WRITER_NAMES = 8
MIN_WRITES_BEFORE_BACKUP = 20
MAX_WRITES = 20000
EXPECTED_FILES = {"coffer.db", "audit.key", "audit.log", "audit.log.head", "root.key",
                  "credentials", "config"}


def run(argv):
    return subprocess.run(argv, capture_output=True, text=True, timeout=120)


def secrets_client(t):
    """boto3 when present; otherwise the harness's raw signed client."""
    try:
        return t.boto3_client("secretsmanager"), None
    except ImportError:
        return None, t.raw(service="secretsmanager", prefix="secretsmanager")


def seed(t, canaries):
    """Writes parameters and secrets; returns what must survive: {name:version: value} and
    {(secret, version id): value}."""
    raw = t.raw()
    params = {}
    for i in range(PARAMS):
        name = f"/bk/p{i:03d}"
        kind = "SecureString" if i % 2 == 0 else "String"
        for v in (1, 2):
            value = f"{canaries[i % len(canaries)]}-{i}-v{v}"
            payload = {"Name": name, "Value": value}
            payload.update({"Type": kind} if v == 1 else {"Overwrite": True})
            got = raw.ok("PutParameter", payload)["Version"]
            params[f"{name}:{got}"] = value
    sm, sm_raw = secrets_client(t)
    secrets = {}
    for i in range(SECRETS):
        value = f"{canaries[i % len(canaries)]}-secret-{i}"
        if sm is not None:
            r = sm.create_secret(Name=f"bk/s{i}", SecretString=value)
        else:
            r = sm_raw.ok("CreateSecret", {"Name": f"bk/s{i}", "SecretString": value})
        secrets[(f"bk/s{i}", r["VersionId"])] = value
    return params, secrets


class Writer:
    """Overwrites parameters until stopped, recording every acknowledged (name, version, value)."""

    def __init__(self, t):
        self.raw = t.raw()
        self.acked = []
        self.lock = threading.Lock()
        self.enough = threading.Event()  # MIN_WRITES_BEFORE_BACKUP acknowledged
        self.stop = threading.Event()
        self.error = None
        self.thread = threading.Thread(target=self._run)

    def _run(self):
        for seq in range(MAX_WRITES):
            if self.stop.is_set():
                break
            name = f"/bk/w/n{seq % WRITER_NAMES}"
            value = f"w-{seq}"
            payload = {"Name": name, "Value": value, "Type": "SecureString", "Overwrite": True}
            r = self.raw.call("PutParameter", payload)
            if r.status != 200:
                self.error = f"PutParameter {name}: {r.status} {r.error_code}"
                break
            with self.lock:
                self.acked.append((name, r.json["Version"], value))
                if len(self.acked) >= MIN_WRITES_BEFORE_BACKUP:
                    self.enough.set()
        self.enough.set()

    def snapshot(self):
        with self.lock:
            return list(self.acked)


def check_tree_private(ck, path):
    ck.eq(oct(stat.S_IMODE(os.stat(path).st_mode)), oct(0o700), "backup directory is 0700")
    names = set(os.listdir(path))
    for name in sorted(names):
        mode = stat.S_IMODE(os.lstat(os.path.join(path, name)).st_mode)
        ck.eq(oct(mode), oct(0o600), f"backup file {name} is 0600")
    return names


def read_back(ck, t, params, secrets, writer_acked):
    raw = t.raw()
    want = dict(params)
    # The newest acknowledged version of each writer name (older ones may have been
    # trimmed after 100 versions) must be there.
    newest = {}
    for name, version, value in writer_acked:
        if version > newest.get(name, (0, None))[0]:
            newest[name] = (version, value)
    for name, (version, value) in newest.items():
        want[f"{name}:{version}"] = value
    found, missing, wrong = 0, [], []
    sels = sorted(want)
    for i in range(0, len(sels), 10):
        batch = sels[i:i + 10]
        r = raw.ok("GetParameters", {"Names": batch, "WithDecryption": True})
        got = {f"{p['Name']}:{p['Version']}": p.get("Value") for p in r.get("Parameters", [])}
        for sel in batch:
            if sel not in got:
                missing.append(sel)
            elif got[sel] != want[sel]:
                wrong.append(sel)
            else:
                found += 1
    print(f"restored: {found} of {len(want)} parameter versions acknowledged before the backup "
          f"read back intact ({len(writer_acked)} writer acks before the backup)")
    ck.eq(missing[:10], [], f"parameter versions missing after restore ({len(missing)} total)")
    ck.eq(len(wrong), 0, "no restored parameter has a wrong value")
    sm, sm_raw = secrets_client(t)
    for (name, version_id), value in secrets.items():
        if sm is not None:
            got = sm.get_secret_value(SecretId=name, VersionId=version_id).get("SecretString")
        else:
            got = sm_raw.ok("GetSecretValue", {"SecretId": name, "VersionId": version_id}).get(
                "SecretString")
        ck.secret_eq(got, value, f"secret {name} version reads back after restore")
    return sm, sm_raw


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test backs up and restores Coffer's data directory")
    coffer = os.path.abspath(args.coffer)
    canaries = [h.new_canary() for _ in range(3)]
    t = h.CofferServer(coffer).start()
    restored = None
    try:
        params, secrets = seed(t, canaries)
        writer = Writer(t)
        writer.thread.start()
        writer.enough.wait(timeout=60)
        acked_before = writer.snapshot()
        ck.true(len(acked_before) >= MIN_WRITES_BEFORE_BACKUP and writer.error is None,
                "the writer is running when the backup starts", str(writer.error))

        backup_dir = os.path.join(t.work, "backup")
        res = run([coffer, "backup", "--data-dir", t.data_dir, "--out", backup_dir])
        writer.stop.set()
        writer.thread.join(timeout=60)
        acked_during = len(writer.snapshot()) - len(acked_before)
        print(res.stdout, end="")
        ck.eq(res.returncode, 0, "coffer backup of a running server exits 0 "
              f"(stderr: {res.stderr.strip()[:300]})")
        ck.true(writer.error is None, "the server kept serving writes during the backup",
                str(writer.error))
        print(f"writer: {acked_during} writes acknowledged while the backup ran or after")
        for c in canaries:
            ck.true(c not in res.stdout + res.stderr, "coffer backup prints no stored value")
        ck.true("backup complete" in res.stdout and "integrity ok" in res.stdout,
                "coffer backup reports the database checked and the backup complete")
        ck.true("chain intact" in res.stdout, "coffer backup verified the copied audit log")
        names = check_tree_private(ck, backup_dir)
        ck.eq(names, EXPECTED_FILES, "the backup holds the database, audit files and dev files")

        again = run([coffer, "backup", "--data-dir", t.data_dir, "--out", backup_dir])
        ck.true(again.returncode != 0 and "not empty" in again.stderr,
                "a backup into a non-empty directory is refused", again.stderr.strip()[:200])
        ck.eq(check_tree_private(ck, backup_dir), EXPECTED_FILES,
              "the refused run left the earlier backup as it was")
        empty = os.path.join(t.work, "empty-data")
        os.mkdir(empty, 0o700)
        nodb = run([coffer, "backup", "--data-dir", empty, "--out",
                    os.path.join(t.work, "backup2")])
        ck.true(nodb.returncode != 0 and "coffer.db" in nodb.stderr,
                "a data directory without a database is refused", nodb.stderr.strip()[:200])
        ck.true(not os.path.exists(os.path.join(t.work, "backup2")),
                "a refused backup creates no output directory")

        ck.eq(t.stop(), 0, "the original server stops cleanly")

        # Restore: a new data directory with the backup's files (docs/backup.md: cp -a).
        restore_dir = os.path.join(t.work, "restored")
        os.mkdir(restore_dir, 0o700)
        cp = run(["cp", "-a", backup_dir + "/.", restore_dir])
        ck.eq(cp.returncode, 0, f"cp -a of the backup (stderr: {cp.stderr.strip()[:200]})")
        v = run([coffer, "audit", "verify", "--data-dir", restore_dir])
        ck.eq(v.returncode, 0, f"the restored audit log verifies (out: {v.stdout.strip()[:300]} "
                               f"err: {v.stderr.strip()[:300]})")

        restored = h.CofferServer(coffer, data_dir=restore_dir).start()
        sm, sm_raw = read_back(ck, restored, params, secrets, acked_before)

        raw = restored.raw()
        raw.ok("PutParameter", {"Name": "/bk/after-restore", "Value": "new", "Type": "String"})
        r = raw.ok("GetParameter", {"Name": "/bk/after-restore"})
        ck.eq(r["Parameter"]["Value"], "new", "the restored server accepts writes")
        r = raw.ok("PutParameter", {"Name": "/bk/p000", "Value": "v-next", "Overwrite": True})
        ck.true(r["Version"] >= 3, "a restored parameter takes a new version", str(r))
        if sm is not None:
            sm.put_secret_value(SecretId="bk/s0", SecretString="next")
            got = sm.get_secret_value(SecretId="bk/s0")["SecretString"]
        else:
            sm_raw.ok("PutSecretValue", {"SecretId": "bk/s0", "SecretString": "next"})
            got = sm_raw.ok("GetSecretValue", {"SecretId": "bk/s0"})["SecretString"]
        ck.secret_eq(got, "next", "a restored secret takes a new value")
        ck.eq(restored.stop(), 0, "the restored server stops cleanly")
        v = run([coffer, "audit", "verify", "--data-dir", restore_dir])
        ck.eq(v.returncode, 0, "the restored server continued the audit chain "
                               f"(out: {v.stdout.strip()[:300]} err: {v.stderr.strip()[:300]})")
        t.assert_no_canary_in_logs(ck, canaries)
        restored.assert_no_canary_in_logs(ck, canaries)
    finally:
        if restored is not None:
            restored.cleanup()
        t.cleanup()


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_backup_restore", body))
