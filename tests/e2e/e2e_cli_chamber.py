#!/usr/bin/env python3
"""coffer's chamber-style commands end to end, against a Coffer server started here (or, with
--target moto, against moto_server as a stand-in for real AWS; skipped when moto is absent).

Covers write (argument, stdin exactly, --tags), read (--version, --quiet, --output json), list
(--expand, --sort-by-*), list-services, history, delete, find (by key and --by-value), env, exec
(the child dumps its environment NUL-separated with `env -0` and the test compares bytes; later
services win; --pristine; --strict; stdin, exit status and a signal reach the child), export in
every format and import (JSON and YAML), tag, --backend secretsmanager (which can hold the empty
value SSM refuses), and a 5,000-key import/export round trip per format (--keys to change).
Every hard value (newlines, quotes, '=', '$', backslashes, unicode, empty) round-trips exactly or
the format refuses with exit code 3. No value reaches the server's log.

Usage: e2e_cli_chamber.py --coffer build/coffer [--target moto] [--keys N]
"""

import json
import os
import signal
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import coffer_harness as h  # noqa: E402
import cli_formats as fmt  # noqa: E402

HARD = {
    "newlines": "line1\nline2\n",
    "crlf": "a\r\nb",
    "quotes": "it's \"quoted\" `tick`",
    "equals": "a=b==c=",
    "dollar": "$HOME ${PATH} $(id) %{x} $$",
    "backslash": "C:\\path\\n\\\\ end\\",
    "unicode": "h\u00e9llo w\u00f6rld \u65e5\u672c\u8a9e \U0001F600 \u2028 \u0085",
    "tab": "a\tb",
    "spaces": "  leading and trailing  ",
    "hash": "#not a comment ! x",
    "Mixed-Case.key": "keys keep their case",
    "long": "x" * 3000 + "\n" + "y" * 500,
}
FORMATS = ["dotenv", "json", "yaml", "java-properties", "csv", "tsv", "tfvars", "k8s-secret",
           "ecs", "github-env"]


class Cli:
    def __init__(self, coffer, target):
        self.coffer = os.path.abspath(coffer)
        self.t = target

    def env(self, extra=None):
        env = self.t.env()
        env["AWS_ENDPOINT_URL"] = self.t.url
        env.update(extra or {})
        return env

    def run(self, args, stdin=None, env=None, text=False, timeout=300):
        p = subprocess.run([self.coffer] + list(args), input=stdin, capture_output=True,
                           env=env or self.env(), timeout=timeout)
        if text:
            p.stdout = p.stdout.decode("utf-8", "replace")
        p.err = p.stderr.decode("utf-8", "replace")
        return p


def ok(ck, p, what):
    return ck.true(p.returncode == 0, what, f"rc={p.returncode} stderr={p.err.strip()[:300]}")


def body(args, ck):
    target = h.make_target(args)
    try:
        run(args, target, ck)
    finally:
        target.stop()
        if isinstance(target, h.CofferServer):
            logs = target.logs()
            for k, v in HARD.items():
                if len(v) > 12 and k not in ("long",):
                    ck.true(v.encode() not in logs, f"value {k} absent from the server log")
        target.cleanup()


def run(args, t, ck):
    c = Cli(args.coffer, t)
    is_moto = args.target == "moto"

    # --- write and read: every hard value exactly, from stdin and as an argument ------------
    for k, v in HARD.items():
        p = c.run(["write", "app", k, "-"], stdin=v.encode())
        ok(ck, p, f"write app {k} from stdin")
    p = c.run(["write", "app", "argval", "from-argument", "--tags", "team=core", "--tags",
               "tier=1"])
    ok(ck, p, "write with an argument and --tags")
    for k, v in HARD.items():
        p = c.run(["read", "app", k, "--quiet"])
        ck.true(p.returncode == 0 and p.stdout == v.encode() + b"\n",
                f"read --quiet {k} gives the exact bytes", f"rc={p.returncode}")
    p = c.run(["read", "app", "quotes", "--output", "json"], text=True)
    ok(ck, p, "read --output json")
    doc = json.loads(p.stdout) if p.returncode == 0 else {}
    ck.secret_eq(doc.get("Value"), HARD["quotes"], "read json Value")
    ck.eq(doc.get("Version"), 1, "read json Version")
    if not is_moto:
        ck.true(doc.get("User", "").startswith("arn:aws:"), "read shows the writing user's ARN",
                repr(doc.get("User")))
    # Versions and history.
    ok(ck, c.run(["write", "app", "argval", "second"]), "overwrite")
    p = c.run(["read", "app", "argval", "--version", "1", "--quiet"])
    ck.eq(p.stdout, b"from-argument\n", "read --version 1")
    p = c.run(["read", "app", "argval", "-q"])
    ck.eq(p.stdout, b"second\n", "read newest")
    p = c.run(["history", "app", "argval"], text=True)
    ok(ck, p, "history")
    rows = [l.split("\t") for l in p.stdout.strip().split("\n")]
    ck.eq([r[:2] for r in rows], [["Event", "Version"], ["Created", "1"], ["Updated", "2"]],
          "history events")
    p = c.run(["history", "app", "argval", "--output", "json"], text=True)
    ck.eq([e["Version"] for e in json.loads(p.stdout or "[]")], [1, 2], "history --output json")
    # Not found: exit code 4, the message names service and key.
    p = c.run(["read", "app", "nope"])
    ck.eq(p.returncode, 4, "read of a missing key exits 4")
    ck.true("service app key nope" in p.err and "ParameterNotFound" in p.err,
            "the error names the service, key and cause", p.err)
    p = c.run(["read", "app", "bad/key"])
    ck.eq(p.returncode, 2, "a bad key is a usage error")

    # --- tags ----------------------------------------------------------------------------------
    p = c.run(["tag", "read", "app", "argval", "--output", "json"], text=True)
    ok(ck, p, "tag read")
    ck.eq(json.loads(p.stdout or "{}"), {"team": "core", "tier": "1"}, "tags from write --tags")
    ok(ck, c.run(["tag", "write", "app", "argval", "owner=me"]), "tag write")
    ok(ck, c.run(["tag", "delete", "app", "argval", "tier"]), "tag delete")
    p = c.run(["tag", "read", "app", "argval", "--output", "json"], text=True)
    ck.eq(json.loads(p.stdout or "{}"), {"team": "core", "owner": "me"}, "tags after changes")

    # --- list, list-services, find ------------------------------------------------------------
    p = c.run(["list", "app"], text=True)
    ok(ck, p, "list")
    keys = [l.split("\t")[0] for l in p.stdout.strip().split("\n")[1:]]
    ck.eq(keys, sorted(list(HARD) + ["argval"]), "list shows every key, sorted by name")
    p = c.run(["list", "app", "--expand", "--output", "json"], text=True)
    got = {e["Key"]: e["Value"] for e in json.loads(p.stdout or "[]")}
    ck.true(all(got.get(k) == v for k, v in HARD.items()), "list --expand values exact")
    p = c.run(["list", "app", "--sort-by-version", "--output", "json"], text=True)
    ck.eq(json.loads(p.stdout or "[]")[-1]["Key"], "argval", "--sort-by-version puts v2 last")
    ok(ck, c.run(["write", "team/web", "KEY", "w"]), "write a nested service")
    ok(ck, c.run(["write", "team/api", "KEY", "a"]), "write another nested service")
    p = c.run(["list-services", "--output", "json"], text=True)
    ck.eq(json.loads(p.stdout or "[]"), ["app", "team/api", "team/web"], "list-services")
    p = c.run(["list-services", "team/"], text=True)
    ck.eq(p.stdout, "Service\nteam/api\nteam/web\n", "list-services PREFIX")
    p = c.run(["find", "KEY", "--output", "json"], text=True)
    ck.eq(json.loads(p.stdout or "[]"), [{"Service": "team/api", "Key": "KEY"},
                                         {"Service": "team/web", "Key": "KEY"}], "find KEY")
    p = c.run(["find", "--by-value", HARD["equals"], "--output", "json"], text=True)
    ck.eq(json.loads(p.stdout or "[]"), [{"Service": "app", "Key": "equals"}], "find --by-value")
    ck.eq(c.run(["find", "nothing-has-this"]).returncode, 4, "find without a match exits 4")

    # --- env ----------------------------------------------------------------------------------
    p = c.run(["env", "app"])
    ok(ck, p, "env")
    # The shell reads back exactly what was stored.
    script = p.stdout + b'\nprintf "%s" "$UNICODE"'
    sh = subprocess.run(["sh", "-c", script.decode()], capture_output=True)
    ck.eq(sh.stdout, HARD["unicode"].encode(), "sh evaluates env output exactly")
    sh = subprocess.run(["sh", "-c", p.stdout.decode() + '\nprintf "%s" "$BACKSLASH"'],
                        capture_output=True)
    ck.eq(sh.stdout, HARD["backslash"].encode(), "backslashes survive env | sh")

    # --- exec: the child's environment, byte for byte -----------------------------------------
    ok(ck, c.run(["write", "base", "newlines", "overridden"]), "write base")
    ok(ck, c.run(["write", "base", "only-in-base", "b"]), "write base 2")
    p = c.run(["exec", "--pristine", "base", "app", "--", "env", "-0"])
    ok(ck, p, "exec --pristine env -0")
    want = {fmt.env_name(k): v for k, v in HARD.items()}
    want["ARGVAL"] = "second"
    want["ONLY_IN_BASE"] = "b"
    pairs = [x for x in p.stdout.split(b"\0") if x]
    got = dict(x.split(b"=", 1) for x in pairs)
    ck.eq(sorted(got), sorted(k.encode() for k in want), "exec: exactly the services' names")
    for k, v in want.items():
        ck.true(got.get(k.encode()) == v.encode(), f"exec: {k} byte-exact (later service wins)")
    # Without --pristine the parent's environment stays.
    p = c.run(["exec", "app", "--", "env", "-0"], env=c.env({"KEEP_ME": "yes"}))
    got = dict(x.split(b"=", 1) for x in p.stdout.split(b"\0") if x)
    ck.eq(got.get(b"KEEP_ME"), b"yes", "exec keeps the parent's environment")
    ck.eq(got.get(b"EQUALS"), HARD["equals"].encode(), "exec adds the values")
    # Exit status, stdin, signals.
    p = c.run(["exec", "app", "--", "sh", "-c", "exit 42"])
    ck.eq(p.returncode, 42, "exec passes the exit status through")
    p = c.run(["exec", "app", "--", "cat"], stdin=b"stdin reaches the child\n")
    ck.eq(p.stdout, b"stdin reaches the child\n", "exec: the child reads stdin")
    p = c.run(["exec", "app", "--", "sh", "-c", "kill -TERM $$"])
    ck.eq(p.returncode, -signal.SIGTERM, "exec: death by signal shows as such")
    child = subprocess.Popen(
        [c.coffer, "exec", "app", "--", sys.executable, "-c",
         "import signal, sys, time\n"
         "signal.signal(signal.SIGUSR1, lambda *a: sys.exit(7))\n"
         "print('ready', flush=True)\ntime.sleep(60)\n"],
        env=c.env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    line = child.stdout.readline()
    ck.eq(line, b"ready\n", "exec: the child runs")
    child.send_signal(signal.SIGUSR1)  # to the pid `coffer exec` was started as
    ck.eq(child.wait(timeout=30), 7, "exec: a signal sent to coffer reaches the child")
    # --strict: only variables the parent set to the marker are filled.
    p = c.run(["exec", "--strict", "app", "--", "env", "-0"],
              env=c.env({"EQUALS": "chamberme", "TAB": "not-the-marker"}))
    got = dict(x.split(b"=", 1) for x in p.stdout.split(b"\0") if x)
    ck.eq(got.get(b"EQUALS"), HARD["equals"].encode(), "--strict fills the marked variable")
    ck.eq(got.get(b"TAB"), b"not-the-marker", "--strict leaves other variables")
    ck.true(b"UNICODE" not in got, "--strict adds nothing unasked")
    p = c.run(["exec", "--strict", "app", "--", "true"], env=c.env({"MISSING_ONE": "chamberme"}))
    ck.eq(p.returncode, 3, "--strict with a marked variable the services lack exits 3")
    ck.true("MISSING_ONE" in p.err, "--strict names the missing variable", p.err)
    p = c.run(["exec", "app", "--", "/nonexistent/program"])
    ck.eq(p.returncode, 127, "exec of a missing program exits 127")

    # --- export of the hard values: exact in every format that can hold them ----------------
    arn_prefix = None
    for f in FORMATS:
        out = os.path.join(t.work, "export." + f)
        cmd = ["export", "app", "--format", f, "-o", out]
        p = c.run(cmd)
        values = dict(HARD, argval="second")
        holdable = all(fmt.can_hold(f, v, k) for k, v in values.items())
        if not holdable:
            ck.eq(p.returncode, 3, f"export --format {f} refuses a value it cannot hold")
            ck.true("cannot hold key" in p.err, f"{f}: the refusal names the key", p.err)
            ck.true(not os.path.exists(out), f"{f}: nothing is written when refused")
            continue
        if not ok(ck, p, f"export --format {f}"):
            continue
        with open(out, newline="") as fh:
            text = fh.read()
        ck.eq(oct(os.stat(out).st_mode & 0o777), "0o600", f"{f}: the file is 0600")
        got = fmt.READERS[f](text)
        if f == "ecs":
            arn_prefix = next(iter(got.values())).rsplit("/", 1)[0] + "/"
            exp = fmt.expected(f, values, lambda k: arn_prefix + k)
        else:
            exp = fmt.expected(f, values)
        ck.true(got == exp, f"export --format {f} round-trips every value exactly",
                f"keys differing: {sorted(k for k in set(got) | set(exp) if got.get(k) != exp.get(k))}")
    # github-env: masks on stdout before anything, for every line of every value (a service
    # without the CR value, which github-env refuses).
    no_cr = {k: v for k, v in HARD.items() if "\r" not in v}
    src = os.path.join(t.work, "no_cr.json")
    with open(src, "w") as fh:
        json.dump(no_cr, fh)
    ok(ck, c.run(["import", "gh", src]), "import the github-env service")
    gh = os.path.join(t.work, "github_env")
    p = c.run(["export", "gh", "--format", "github-env"], env=c.env({"GITHUB_ENV": gh}),
              text=True)
    ok(ck, p, "github-env to $GITHUB_ENV")
    masks = set(l[len("::add-mask::"):] for l in p.stdout.split("\n") if l)
    lines = set(l for v in no_cr.values() for l in v.split("\n") if l)
    ck.true(lines <= set(m.replace("%0A", "\n").replace("%0D", "\r").replace("%25", "%")
                         for m in masks), "::add-mask:: for every line of every value")
    ok(ck, c.run(["export", "gh", "--format", "github-env"], env=c.env({"GITHUB_ENV": gh})),
       "github-env appends")
    with open(gh, newline="") as fh:
        text = fh.read()
    ck.true(text.count("NEWLINES<<ghadelimiter_") == 2, "github-env appended twice")
    ck.true(fmt.read_github_env(text) == {fmt.env_name(k): v for k, v in no_cr.items()},
            "github-env file holds every value exactly")

    # Attack: a value that tries to smuggle another variable (NODE_OPTIONS, say) into the
    # job's environment, or to close a heredoc early with a guessed delimiter.
    evil = "legit\nNODE_OPTIONS=--require /tmp/evil.js\nghadelimiter_0\nEVIL=1\n"
    ok(ck, c.run(["write", "ghattack", "cert", "-"], stdin=evil.encode()), "write the attack")
    gh2 = os.path.join(t.work, "github_env_attack")
    p = c.run(["export", "ghattack", "--format", "github-env", "-o", gh2], text=True)
    ok(ck, p, "github-env export of the attack value")
    with open(gh2, newline="") as fh:
        parsed = fmt.read_github_env(fh.read())
    ck.eq(sorted(parsed), ["CERT"], "github-env: a value cannot add variables")
    ck.secret_eq(parsed.get("CERT"), evil, "github-env: the value arrives whole")
    ck.true("::add-mask::NODE_OPTIONS=--require /tmp/evil.js" in p.stdout,
            "github-env: every line of the value is masked")

    # --- import: JSON and YAML, exactly --------------------------------------------------------
    src = os.path.join(t.work, "import.json")
    with open(src, "w") as fh:
        json.dump(HARD, fh)
    ok(ck, c.run(["import", "copy-json", src]), "import JSON")
    yml = c.run(["export", "app", "--format", "yaml"])
    ok(ck, c.run(["import", "copy-yaml", "-"], stdin=yml.stdout), "import YAML from stdin")
    for svc in ("copy-json", "copy-yaml"):
        p = c.run(["export", svc, "--format", "json"], text=True)
        got = json.loads(p.stdout or "{}")
        ck.true(all(got.get(k) == v for k, v in HARD.items()), f"import into {svc} is exact")
    # Bad input changes nothing.
    bad = os.path.join(t.work, "bad.json")
    with open(bad, "w") as fh:
        json.dump({"good": "1", "empty": ""}, fh)
    p = c.run(["import", "refused", bad])
    ck.eq(p.returncode, 3, "SSM import with an empty value is refused")
    ck.eq(c.run(["list", "refused", "--output", "json"], text=True).stdout.strip(), "[]",
          "a refused import writes nothing")
    with open(bad, "w") as fh:
        json.dump({"good": "1", "huge": "z" * 9000}, fh)
    p = c.run(["import", "refused", bad])
    ck.eq(p.returncode, 3, "SSM import with a value over 8192 bytes is refused")
    ck.eq(c.run(["list", "refused", "--output", "json"], text=True).stdout.strip(), "[]",
          "a refused import writes nothing (size)")
    p = c.run(["write", "app", "empty", ""])
    ck.eq(p.returncode, 3, "SSM write of an empty value is refused (exit 3)")

    # An existing world-readable file is made private before values go in.
    existing = os.path.join(t.work, "existing.env")
    with open(existing, "w") as fh:
        fh.write("old\n")
    os.chmod(existing, 0o644)
    ok(ck, c.run(["export", "app", "--format", "json", "-o", existing]), "export over a file")
    ck.eq(oct(os.stat(existing).st_mode & 0o777), "0o600", "an overwritten file becomes 0600")
    # Two keys of one service that map to one variable name: refused, not one dropped.
    ok(ck, c.run(["write", "coll", "a-b", "1"]), "write a-b")
    ok(ck, c.run(["write", "coll", "a.b", "2"]), "write a.b")
    p = c.run(["exec", "coll", "--", "true"])
    ck.eq(p.returncode, 3, "exec refuses two keys mapping to one name")
    ck.true("A_B" in p.err, "the refusal names the variable", p.err)
    # Progress on stderr only when it is a terminal.
    import pty
    many = {f"k{i:04d}": f"v{i}" for i in range(150)}
    src = os.path.join(t.work, "many.json")
    with open(src, "w") as fh:
        json.dump(many, fh)
    master, slave = pty.openpty()
    proc = subprocess.Popen([c.coffer, "import", "progress", src], env=c.env(),
                            stdout=subprocess.PIPE, stderr=slave)
    os.close(slave)
    tty_err = b""
    while True:
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        tty_err += chunk
    os.close(master)
    ck.eq(proc.wait(timeout=120), 0, "import with stderr on a terminal")
    ck.true(b"imported 150/150" in tty_err, "progress shown on a terminal", repr(tty_err[-80:]))

    # --- delete ---------------------------------------------------------------------------------
    ok(ck, c.run(["delete", "app", "argval"]), "delete")
    ck.eq(c.run(["read", "app", "argval"]).returncode, 4, "deleted key is gone")
    ck.eq(c.run(["delete", "app", "argval"]).returncode, 4, "deleting it again exits 4")
    ok(ck, c.run(["write", "--lowercase", "Lower", "MiXeD", "v"]), "write --lowercase")
    ok(ck, c.run(["read", "lower", "mixed", "-q"]), "--lowercase stored lower-cased")

    # --- --kms-key-alias / COFFER_KMS_KEY_ALIAS: new values under that key ------------------
    r = t.aws(["kms", "create-key"])
    key_id = (r.json or {}).get("KeyMetadata", {}).get("KeyId")
    ck.cli_ok(t.aws(["kms", "create-alias", "--alias-name", "alias/app-key", "--target-key-id",
                     str(key_id)]), "create-alias")
    ok(ck, c.run(["write", "--kms-key-alias", "app-key", "kms", "one", "v1"]),
       "write --kms-key-alias")
    ok(ck, c.run(["write", "kms", "two", "v2"], env=c.env({"COFFER_KMS_KEY_ALIAS": "app-key"})),
       "write with COFFER_KMS_KEY_ALIAS")
    r = t.aws(["ssm", "describe-parameters", "--parameter-filters", "Key=Path,Values=/kms"])
    ids = sorted(p.get("KeyId", "") for p in (r.json or {}).get("Parameters", []))
    ck.eq(ids, ["alias/app-key", "alias/app-key"], "both values are under alias/app-key",
          aws_only=True)
    ck.eq(c.run(["read", "kms", "one", "-q"]).stdout, b"v1\n", "read back a value under the key")
    p = c.run(["write", "--kms-key-alias", "no-such-alias", "kms", "three", "v3"])
    ck.eq(p.returncode, 1, "an unknown alias is the endpoint's error", aws_only=True)
    ck.true("service kms key three" in p.err, "the error names service and key", p.err,
            aws_only=True)

    # --- the secretsmanager backend: one JSON secret per service; holds the empty value ------
    sm = ["--backend", "secretsmanager"]
    sm_values = dict(HARD, empty="")
    for k, v in sm_values.items():
        ok(ck, c.run(["write"] + sm + ["smapp", k, "-"], stdin=v.encode()), f"sm write {k}")
    p = c.run(["read"] + sm + ["smapp", "empty", "-q"])
    ck.eq(p.stdout, b"\n", "sm read of the empty value")
    p = c.run(["exec"] + sm + ["--pristine", "smapp", "--", "env", "-0"])
    got = dict(x.split(b"=", 1) for x in p.stdout.split(b"\0") if x)
    ck.true(got == {fmt.env_name(k).encode(): v.encode() for k, v in sm_values.items()},
            "sm exec: every value byte-exact, the empty one included")
    ok(ck, c.run(["delete"] + sm + ["smapp", "empty"]), "sm delete")
    p = c.run(["export"] + sm + ["smapp", "--format", "json"], text=True)
    ck.true("empty" not in json.loads(p.stdout or "{}"), "sm delete removed the key")
    p = c.run(["list-services"] + sm + ["--output", "json"], text=True)
    ck.true("smapp" in json.loads(p.stdout or "[]"), "sm list-services")

    # --- completion ------------------------------------------------------------------------------
    for shell in ("bash", "zsh", "fish"):
        p = c.run(["completion", shell], text=True)
        ck.true(p.returncode == 0 and "exec" in p.stdout, f"completion {shell}")
    p = c.run(["exec", "--help"], text=True)
    ck.true("Examples:" in p.stdout and "Exit codes" in p.stdout, "--help has examples")

    # --- 5,000 keys: import once, then a round trip through every format ---------------------
    n = args.keys
    # No CR here, so that github-env holds all of them; the hard-value run above covers CR.
    hard = [v for v in HARD.values() if "\r" not in v]
    big = {f"key-{i:05d}": f"{hard[i % len(hard)]}#{i}" for i in range(n)}
    flat = {k: v for k, v in big.items() if fmt.can_hold("tsv", v)}
    for svc, values in (("big", big), ("flat", flat)):
        src = os.path.join(t.work, svc + ".json")
        with open(src, "w") as fh:
            json.dump(values, fh)
        start = time.monotonic()
        p = c.run(["import", svc, src], timeout=1200)
        ok(ck, p, f"import of {len(values)} keys")
        ck.note(f"import of {len(values)} keys took {time.monotonic() - start:.1f} s")
        ck.eq(p.stderr, b"", "no progress output when stderr is a pipe")
    account_arn = arn_prefix.rsplit("/", 2)[0] if arn_prefix else ""
    for f in FORMATS:
        svc, values = ("flat", flat) if f == "tsv" else ("big", big)
        out = os.path.join(t.work, f"bulk.{f}")
        start = time.monotonic()
        p = c.run(["export", svc, "--format", f, "-o", out], timeout=600)
        elapsed = time.monotonic() - start
        if not ok(ck, p, f"export of {len(values)} keys as {f}"):
            continue
        with open(out, newline="") as fh:
            got = fmt.READERS[f](fh.read())
        exp = fmt.expected(f, values, lambda k, s=svc: f"{account_arn}/{s}/{k}")
        ck.true(got == exp, f"{len(values)}-key round trip through {f}",
                f"{sum(1 for k in exp if got.get(k) != exp[k])} keys differ")
        ck.note(f"export of {len(values)} keys as {f}: {elapsed:.1f} s")


def extra(p):
    p.add_argument("--keys", type=int, default=5000, help="keys in the bulk round trip")


if __name__ == "__main__":
    sys.exit(h.run_main("e2e_cli_chamber", body, extra))
