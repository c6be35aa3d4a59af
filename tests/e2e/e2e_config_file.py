#!/usr/bin/env python3
"""`coffer server --config FILE`: a YAML file whose keys are the server's long options.

1. A real server starts from a config file alone for its data directory, dev mode and account
   id, while flags on the command line override the file: the file's `listen` names a port this
   test holds (the server could not bind it) and its `region` differs from the one the signer
   uses (every request would be refused); `--listen 127.0.0.1:0 --region us-east-1` on the
   command line win, and the parameter ARN shows the file's account id with the flag's region.
2. An unknown key exits 2 naming the file, the line and the key, before anything is created; so
   do a list for a single-valued key and a non-boolean for a flag.
3. The config file the package installs (packaging/config.yaml) is accepted by the server.
4. docs/configuration.md has a row for every option of `coffer server --help`, so the keys a new
   flag brings are documented with it.

Usage: e2e_config_file.py --coffer build/coffer
"""

import os
import re
import socket
import subprocess
import sys

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402

REPO = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
ACCOUNT = "123456789012"


def write(path, text):
    with open(path, "w") as f:
        f.write(text)
    return path


def run_refused(args, argv):
    p = subprocess.run([args.coffer, "server"] + argv, capture_output=True, text=True,
                       timeout=30, stdin=subprocess.DEVNULL)
    return p.returncode, p.stderr


def file_and_overrides(args, ck):
    # A port held by this test: if the file's `listen` won, the server could not start.
    held = socket.socket()
    held.bind(("127.0.0.1", 0))
    held.listen(1)
    t = h.CofferServer(args.coffer)
    try:
        cfg = write(os.path.join(t.work, "config.yaml"),
                    "# coffer server settings\n"
                    "dev: true\n"
                    f"data-dir: {t.data_dir}\n"
                    f"listen: 127.0.0.1:{held.getsockname()[1]}\n"
                    "region: eu-west-1\n"
                    f"account-id: \"{ACCOUNT}\"\n"
                    "log-level: warn\n"
                    "oidc-jwks: []\n")
        t.server_args = ["--config", cfg, "--listen", "127.0.0.1:0", "--region", h.REGION]
        t.start()
        ck.true(t.url is not None, "server started from the config file")
        ck.true(not t.url.endswith(f":{held.getsockname()[1]}"),
                "--listen on the command line overrides the file's listen")
        raw = t.raw()
        raw.ok("PutParameter", {"Name": "/config/a", "Value": "v", "Type": "String"})
        got = raw.ok("GetParameter", {"Name": "/config/a"})
        ck.eq(got["Parameter"]["ARN"],
              f"arn:aws:ssm:{h.REGION}:{ACCOUNT}:parameter/config/a",
              "ARN: region from the command line, account id from the file")
        ck.true(os.path.exists(os.path.join(t.data_dir, "credentials")),
                "dev mode and data-dir came from the file")
        t.stop()
    finally:
        held.close()
        t.kill9()
        t.cleanup()


def refusals(args, ck):
    t = h.CofferServer(args.coffer)
    try:
        data = os.path.join(t.work, "never-created")
        bad = write(os.path.join(t.work, "bad.yaml"),
                    "# line 1\n"
                    "dev: true\n"
                    f"data-dir: {data}\n"
                    "\n"
                    "region: us-east-1\n"
                    "# the next key is misspelt\n"
                    "listn: 127.0.0.1:0\n")
        rc, err = run_refused(args, ["--config", bad])
        ck.eq(rc, 2, "unknown key: exit status 2")
        ck.true(f"coffer server: {bad}:7: unknown key 'listn'" in err,
                "unknown key: the message names file, line 7 and the key", err.strip()[:300])
        ck.true(not os.path.exists(data), "unknown key: nothing was created")

        wrong_list = write(os.path.join(t.work, "list.yaml"),
                           f"dev: true\ndata-dir: {data}\nlisten: [127.0.0.1:0, 127.0.0.1:1]\n")
        rc, err = run_refused(args, ["--config", wrong_list])
        ck.eq(rc, 2, "a list for a single value: exit status 2")
        ck.true(f"{wrong_list}:3: key 'listen' wants a single value, not a list" in err,
                "a list for a single value: named with its line", err.strip()[:300])

        wrong_bool = write(os.path.join(t.work, "bool.yaml"),
                           f"data-dir: {data}\ndev: sometimes\n")
        rc, err = run_refused(args, ["--config", wrong_bool])
        ck.eq(rc, 2, "a non-boolean flag: exit status 2")
        ck.true(f"{wrong_bool}:2: key 'dev' wants true or false" in err,
                "a non-boolean flag: named with its line", err.strip()[:300])

        rc, err = run_refused(args, ["--config", os.path.join(t.work, "absent.yaml")])
        ck.eq(rc, 2, "a missing config file: exit status 2")
        ck.true(not os.path.exists(data), "refusals created nothing")
    finally:
        t.cleanup()


def packaged_config(args, ck):
    shipped = os.path.join(REPO, "packaging", "config.yaml")
    t = h.CofferServer(args.coffer)
    try:
        # The package's own file, with the dev flags a test needs on top of it.
        t.server_args = ["--config", shipped, "--dev", "--data-dir", t.data_dir,
                         "--listen", "127.0.0.1:0"]
        t.start()
        ck.true(t.url is not None, "the packaged config.yaml is accepted")
        t.stop()
    finally:
        t.kill9()
        t.cleanup()


def documented_keys(args, ck):
    p = subprocess.run([args.coffer, "server", "--help"], capture_output=True, text=True,
                       timeout=30)
    ck.eq(p.returncode, 0, "coffer server --help")
    option = re.compile(r"^\s+(?:-\w,)?--([a-z][a-z0-9-]*)", re.M)
    keys = set(option.findall(p.stdout)) - {"help", "config"}
    ck.true({"data-dir", "listen", "dev"} <= keys, "--help lists the options", p.stdout[:300])
    with open(os.path.join(REPO, "docs", "configuration.md")) as f:
        doc = f.read()
    rows = set(re.findall(r"^\| `([a-z][a-z0-9-]*)` \|", doc, re.M))
    ck.true(not keys - rows, "docs/configuration.md has a row for every key",
            f"missing {sorted(keys - rows)}")
    ck.true(not rows - keys, "docs/configuration.md has no row for a key that does not exist",
            f"extra {sorted(rows - keys)}")


def body(args, ck):
    if args.target != "coffer":
        h.skip("this test drives the coffer binary's command line")
    file_and_overrides(args, ck)
    refusals(args, ck)
    packaged_config(args, ck)
    documented_keys(args, ck)


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_config_file", body))
