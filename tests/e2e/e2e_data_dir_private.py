#!/usr/bin/env python3
"""The data directory is private, and never sits unignored inside a git work tree.

1. File modes: started under a permissive umask (022), the dev server writes a parameter and a
   secret; every file in its data directory (coffer.db and its -wal/-shm, audit.log and its
   .head, audit.key, root.key, credentials, config) must be mode 0600 and every directory 0700,
   both while it runs and after it stops.
2. Git work tree: a --data-dir inside a git work tree that git does not ignore is refused (exit
   status non-zero, the reason on stderr, the directory not even created); the same path starts
   once the work tree's .gitignore names it; and it is refused again when git cannot be run to
   ask (PATH without git), since the server cannot tell.

Usage: e2e_data_dir_private.py --coffer build/coffer
"""

import os
import shutil
import stat
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

EXPECTED_FILES = {"coffer.db", "coffer.db-wal", "coffer.db-shm", "audit.log", "audit.log.head",
                  "audit.key", "root.key", "credentials", "config"}


def check_modes(ck, data_dir, when):
    ck.eq(stat.S_IMODE(os.stat(data_dir).st_mode), 0o700, f"{when}: data dir is 0700")
    seen = set()
    for root, dirs, files in os.walk(data_dir):
        for d in dirs:
            mode = stat.S_IMODE(os.stat(os.path.join(root, d)).st_mode)
            ck.eq(oct(mode), oct(0o700), f"{when}: directory {d} is 0700")
        for f in files:
            seen.add(f)
            mode = stat.S_IMODE(os.lstat(os.path.join(root, f)).st_mode)
            ck.eq(oct(mode), oct(0o600), f"{when}: {f} is 0600")
    return seen


def file_modes(args, ck):
    t = h.CofferServer(args.coffer)
    try:
        t.start()
        raw = t.raw()
        raw.ok("PutParameter", {"Name": "/modes/a", "Value": h.new_canary(),
                                "Type": "SecureString"})
        raw.ok("GetParameter", {"Name": "/modes/a", "WithDecryption": True})
        sm = h.RawSsm(t, service="secretsmanager", prefix="secretsmanager")
        sm.ok("CreateSecret", {"Name": "modes/s", "SecretString": h.new_canary()})
        seen = check_modes(ck, t.data_dir, "while running")
        missing = EXPECTED_FILES - seen
        ck.true(not missing, "every expected file was checked", f"missing {sorted(missing)}")
        t.stop()
        check_modes(ck, t.data_dir, "after stop")
    finally:
        t.kill9()
        t.cleanup()


def expect_refused(ck, t, what):
    """Starts `t`, which must exit non-zero saying why, without serving."""
    try:
        t.start(timeout=20)
    except RuntimeError as e:
        rc = t.proc.returncode if t.proc is not None else None
        t.proc = None
        ck.true(rc not in (None, 0), f"{what}: non-zero exit status", f"rc={rc}")
        stderr = t._tail(t.log_files[-1])
        ck.true("git" in stderr and ".gitignore" in stderr, f"{what}: stderr says why",
                f"stderr={stderr!r} ({e})")
        return
    ck.true(False, f"{what}: refused", "the server started and served")
    t.stop()


def git_work_tree(args, ck):
    git = shutil.which("git")
    if git is None:
        ck.note("git is not installed: work-tree checks skipped")
        return
    t = h.CofferServer(args.coffer)
    try:
        repo = os.path.join(t.work, "repo")
        os.mkdir(repo)
        subprocess.run([git, "init", "-q", repo], check=True)
        t.data_dir = os.path.join(repo, ".coffer-dev")

        expect_refused(ck, t, "data dir in a work tree, not ignored")
        ck.true(not os.path.exists(t.data_dir), "refused data dir was not created")

        # A .gitignore that names something else does not count.
        with open(os.path.join(repo, ".gitignore"), "w") as f:
            f.write("/build/\n")
        expect_refused(ck, t, "data dir in a work tree, .gitignore names other paths")

        with open(os.path.join(repo, ".gitignore"), "a") as f:
            f.write("/.coffer-dev/\n")
        t.start()
        ck.true(t.url is not None, "ignored data dir in a work tree starts")
        t.raw().ok("PutParameter", {"Name": "/git/a", "Value": "v", "Type": "String"})
        t.stop()

        # A nested directory of a work tree is found too (the walk goes up to the .git entry).
        t.data_dir = os.path.join(repo, "sub", "data")
        os.makedirs(os.path.join(repo, "sub"))
        expect_refused(ck, t, "nested data dir in a work tree, not ignored")

        # Git cannot be asked: refused, even though .gitignore would ignore it.
        t.data_dir = os.path.join(repo, ".coffer-dev")
        t.server_env = {"PATH": "/nonexistent"}
        expect_refused(ck, t, "git cannot be run")
    finally:
        t.kill9()
        t.cleanup()


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test inspects Coffer's data directory")
    os.umask(0o022)  # the server must not depend on a careful caller
    file_modes(args, ck)
    git_work_tree(args, ck)


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_data_dir_private", body))
