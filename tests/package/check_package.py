#!/usr/bin/env python3
"""Builds the Debian package from the built tree and checks what it installs.

1. `cpack -G DEB` of the build tree into a temporary folder makes coffer_<version>_<arch>.deb.
   The tree must be up to date (checked first with `ninja -n`): cpack builds `all` before it
   installs, and a test must not start a build; so it reuses the binary, man pages and
   completion already built.
2. Its control data (dpkg-deb -I): name, version, architecture, Depends found by dpkg-shlibdeps
   (libc6, libssl3, libsqlite3-0, ...), the conffile /etc/coffer/config.yaml and maintainer
   scripts that parse.
3. Its files and modes (dpkg-deb -c), then extracted into a scratch root (dpkg-deb -x): the
   binary runs `coffer version`; the man pages pass gzip -t, carry .TH and render with
   `man -l`; the bash completion sources and completes; the sysusers file creates the user in
   the scratch root (systemd-sysusers --root); the unit passes `systemd-analyze verify` (with
   ExecStart pointed at the extracted binary and MANPATH at the extracted man pages, so that
   Documentation=man:coffer-server(1) is checked too) and its offline security review.
4. Where systemd runs as PID 1 (/run/systemd/system), the unit (with a test config in dev
   mode) is started and answers /healthz; elsewhere the output says it was not started.

Usage: check_package.py --build BUILD_DIR --version X.Y.Z [--cpack cpack]
Exit status 0 (pass), 1 (fail), 77 (skip: cpack or dpkg-deb absent).
"""

import argparse
import glob
import gzip
import os
import re
import shutil
import subprocess
import sys
import tempfile
import time
import urllib.request

SKIP = 77

# path in the package -> (mode, kind); kind "f" file, "d" directory, "x" executable file.
EXPECTED = {
    "./usr/bin/coffer": (0o755, "f"),
    "./lib/systemd/system/coffer.service": (0o644, "f"),
    "./usr/lib/sysusers.d/coffer.conf": (0o644, "f"),
    "./etc/coffer/config.yaml": (0o640, "f"),
    "./usr/share/man/man1/coffer.1.gz": (0o644, "f"),
    "./usr/share/man/man1/coffer-server.1.gz": (0o644, "f"),
    "./usr/share/bash-completion/completions/coffer": (0o644, "f"),
    "./usr/share/doc/coffer/copyright": (0o644, "f"),
    "./usr/share/doc/coffer/README.md": (0o644, "f"),
    "./usr/share/doc/coffer/configuration.md": (0o644, "f"),
}

# The sandboxing lines the unit must keep (docs/packaging.md says why each is there).
UNIT_LINES = [
    "User=coffer", "StateDirectory=coffer", "ProtectSystem=strict",
    "ReadWritePaths=/var/lib/coffer",  # standalone-check: allow (a line of the packaged unit)
    "NoNewPrivileges=yes", "LimitCORE=0",
    "MemoryDenyWriteExecute=yes", "PrivateTmp=yes", "ProtectHome=yes", "CapabilityBoundingSet=",
    "RestrictAddressFamilies=AF_INET AF_INET6 AF_UNIX", "SystemCallFilter=@system-service",
    "UMask=0077", "ExecReload=/bin/kill -HUP $MAINPID",
    "ExecStart=/usr/bin/coffer server --config /etc/coffer/config.yaml",
]


class Checker:
    def __init__(self):
        self.failures = []
        self.passed = 0

    def true(self, cond, what, detail=""):
        if cond:
            self.passed += 1
        else:
            line = f"{what}: {detail}" if detail else what
            self.failures.append(line)
            print(f"  FAIL {line}", flush=True)
        return bool(cond)

    def eq(self, actual, expected, what):
        return self.true(actual == expected, what, f"expected {expected!r}, got {actual!r}")


def run(argv, **kw):
    kw.setdefault("capture_output", True)
    kw.setdefault("text", True)
    kw.setdefault("timeout", 120)
    return subprocess.run(argv, **kw)


def tail(text, n=1500):
    return (text or "")[-n:]


def build_package(args, ck, out_dir):
    p = run([args.cpack, "-G", "DEB", "--config", os.path.join(args.build, "CPackConfig.cmake"),
             "-B", out_dir], cwd=args.build, timeout=240)
    if not ck.true(p.returncode == 0, "cpack -G DEB succeeds", tail(p.stdout + p.stderr)):
        return None
    arch = run(["dpkg", "--print-architecture"]).stdout.strip()
    deb = os.path.join(out_dir, f"coffer_{args.version}_{arch}.deb")
    found = glob.glob(os.path.join(out_dir, "*.deb"))
    ck.true(os.path.isfile(deb), f"package is named {os.path.basename(deb)}", f"found {found}")
    return deb if os.path.isfile(deb) else None


def check_control(args, ck, deb):
    info = run(["dpkg-deb", "-f", deb]).stdout
    fields = dict(re.findall(r"^([A-Za-z-]+): (.*)$", info, re.M))
    ck.eq(fields.get("Package"), "coffer", "control: Package")
    ck.eq(fields.get("Version"), args.version, "control: Version")
    depends = fields.get("Depends", "")
    for lib in ("libc6", "libssl3", "libsqlite3-0", "libcurl4", "libyaml-cpp0.7", "libstdc++6"):
        ck.true(re.search(rf"\b{re.escape(lib)}\b", depends), f"control: Depends names {lib}",
                depends)
    ck.true("systemd | adduser" in depends, "control: Depends has systemd | adduser", depends)
    conffiles = run(["dpkg-deb", "-I", deb, "conffiles"]).stdout.split()
    ck.eq(conffiles, ["/etc/coffer/config.yaml"], "control: conffiles")
    for script in ("postinst", "prerm", "postrm"):
        body = run(["dpkg-deb", "-I", deb, script])
        ck.true(body.returncode == 0 and body.stdout.startswith("#!/bin/sh"),
                f"control: {script} present")
        parsed = run(["sh", "-n"], input=body.stdout)
        ck.true(parsed.returncode == 0, f"control: {script} parses (sh -n)", parsed.stderr)


def check_listing(ck, deb):
    listing = run(["dpkg-deb", "-c", deb]).stdout
    entries = {}
    for line in listing.splitlines():
        parts = line.split(None, 5)
        if len(parts) == 6:
            perms, owner, path = parts[0], parts[1], parts[5].split(" -> ")[0]
            entries[path.rstrip("/") if path != "./" else path] = (perms, owner)
    for path, (mode, _) in EXPECTED.items():
        got = entries.get(path)
        if not ck.true(got is not None, f"package holds {path}"):
            continue
        want = "-" + "".join(
            c if mode & (1 << (8 - i)) else "-" for i, c in enumerate("rwxrwxrwx"))
        ck.eq(got[0], want, f"{path} mode")
        ck.eq(got[1], "root/root", f"{path} owner")


def check_extracted(args, ck, root, work):
    binary = os.path.join(root, "usr/bin/coffer")
    p = run([binary, "version"])
    ck.eq((p.returncode, p.stdout.strip()), (0, f"coffer {args.version}"),
          "extracted binary runs `coffer version`")
    p = run(["file", binary]) if shutil.which("file") else None
    if p is not None:
        ck.true("not stripped" not in p.stdout, "the packaged binary is stripped", p.stdout)

    # Man pages: one for coffer and one per subcommand; gzip'd, .TH, rendered by man.
    pages = sorted(glob.glob(os.path.join(root, "usr/share/man/man1/*.1.gz")))
    ck.true(len(pages) >= 5, "man pages for coffer and its subcommands",
            str([os.path.basename(x) for x in pages]))
    for page in pages:
        ck.true(run(["gzip", "-t", page]).returncode == 0, f"{os.path.basename(page)}: gzip -t")
        with gzip.open(page, "rt") as f:
            text = f.read()
        ck.true(re.search(r"^\.TH ", text, re.M), f"{os.path.basename(page)}: has .TH")
    server_page = os.path.join(root, "usr/share/man/man1/coffer-server.1.gz")
    if shutil.which("man") and os.path.exists(server_page):
        p = run(["man", "-l", server_page], env=dict(os.environ, MANPAGER="cat", PAGER="cat",
                                                     MANWIDTH="100", LC_ALL="C.UTF-8"))
        ck.true(p.returncode == 0 and "--data-dir" in p.stdout and "--config" in p.stdout,
                "coffer-server(1) renders with man -l and lists the options", tail(p.stderr))

    # Bash completion: sources, registers, completes.
    comp = os.path.join(root, "usr/share/bash-completion/completions/coffer")
    script = (f"source {comp} && complete -p coffer && COMP_WORDS=(coffer ser) && COMP_CWORD=1 "
              "&& _coffer && echo \"reply:${COMPREPLY[*]}\" && COMP_WORDS=(coffer server --con) "
              "&& COMP_CWORD=2 && _coffer && echo \"reply:${COMPREPLY[*]}\"")
    p = run(["bash", "--norc", "--noprofile", "-c", script])
    ck.true(p.returncode == 0 and "complete -o default -F _coffer coffer" in p.stdout,
            "bash completion sources and registers _coffer", tail(p.stdout + p.stderr))
    ck.true("reply:server\n" in p.stdout and "reply:--config\n" in p.stdout,
            "bash completion completes commands and options", p.stdout)

    # The system user, created in the scratch root as postinst does on a real one.
    sysusers = shutil.which("systemd-sysusers")
    if sysusers:
        os.makedirs(os.path.join(root, "etc"), exist_ok=True)
        # A bare name is looked up in the root's sysusers.d, as postinst's call does.
        p = run([sysusers, f"--root={root}", "coffer.conf"])
        passwd = ""
        if os.path.exists(os.path.join(root, "etc/passwd")):
            with open(os.path.join(root, "etc/passwd")) as f:
                passwd = f.read()
        ck.true(p.returncode == 0 and re.search(r"^coffer:x:\d+:\d+:.*:/var/lib/coffer:", passwd,
                                                re.M),
                "systemd-sysusers creates the coffer system user", tail(p.stderr + passwd))
    else:
        print("  NOTE systemd-sysusers absent: the sysusers file was not applied")


def check_unit(ck, root, work):
    unit_path = os.path.join(root, "lib/systemd/system/coffer.service")
    with open(unit_path) as f:
        unit = f.read()
    lines = {line.strip() for line in unit.splitlines()}
    for want in UNIT_LINES:
        ck.true(want in lines, f"unit has {want}")
    analyze = shutil.which("systemd-analyze")
    if not analyze:
        print("  NOTE systemd-analyze absent: `systemd-analyze verify` skipped")
        return
    # The same unit with ExecStart pointed at the extracted binary (verify checks it exists
    # and is executable); the man page it names is looked up in the extracted tree.
    units = os.path.join(work, "units")
    os.makedirs(units)
    local = os.path.join(units, "coffer.service")
    with open(local, "w") as f:
        f.write(unit.replace("/usr/bin/coffer", os.path.join(root, "usr/bin/coffer")))
    env = dict(os.environ, MANPATH=os.path.join(root, "usr/share/man"), SYSTEMD_LOG_COLOR="0",
               LC_ALL="C.UTF-8")
    p = run([analyze, "verify", "--man=yes", local], env=env)
    problems = [line for line in (p.stdout + p.stderr).splitlines() if "coffer" in line]
    ck.true(p.returncode == 0 and not problems, "systemd-analyze verify passes",
            tail(p.stdout + p.stderr))
    p = run([analyze, "security", "--offline=yes", "--no-pager", local], env=env)
    m = re.search(r"Overall exposure level for \S+: ([\d.]+) (\w+)", p.stdout + p.stderr)
    if ck.true(m, "systemd-analyze security --offline rates the unit", tail(p.stdout + p.stderr)):
        print(f"  NOTE offline security review: exposure {m.group(1)} {m.group(2)}")
        ck.true(float(m.group(1)) <= 2.0, "sandboxing exposure is at most 2.0 (OK)",
                m.group(0))


def start_unit_under_systemd(ck, root, work):
    """A transient copy of the unit in /run/systemd/system, run in dev mode from a test config."""
    name = f"coffer-pkgtest-{os.getpid()}"
    data = f"/var/lib/{name}"  # standalone-check: allow (the unit's StateDirectory)
    config = os.path.join(work, "test-config.yaml")
    with open(config, "w") as f:
        f.write(f"dev: true\ndata-dir: {data}\nlisten: 127.0.0.1:0\n")
    os.chmod(config, 0o644)
    os.chmod(work, 0o755)
    with open(os.path.join(root, "lib/systemd/system/coffer.service")) as f:
        unit = f.read()
    unit = unit.replace("ExecStart=/usr/bin/coffer server --config /etc/coffer/config.yaml",
                        f"ExecStart={root}/usr/bin/coffer server --config {config}")
    # The scratch root has no coffer user on this host: a dynamic one, same sandbox.
    unit = unit.replace("User=coffer\n", "DynamicUser=yes\n").replace("Group=coffer\n", "")
    unit = unit.replace("StateDirectory=coffer", f"StateDirectory={name}")
    unit = unit.replace("ReadWritePaths=/var/lib/coffer",  # standalone-check: allow (the unit)
                        f"ReadWritePaths={data}")
    # The extracted binary may sit under a home directory.
    unit = unit.replace("ProtectHome=yes", "ProtectHome=read-only")
    path = f"/run/systemd/system/{name}.service"
    with open(path, "w") as f:
        f.write(unit)
    try:
        run(["systemctl", "daemon-reload"])
        p = run(["systemctl", "start", f"{name}.service"])
        ck.true(p.returncode == 0, "systemctl start of the unit", p.stderr)
        url = None
        deadline = time.monotonic() + 30
        while url is None and time.monotonic() < deadline:
            log = run(["journalctl", "-u", f"{name}.service", "-o", "cat", "--no-pager"]).stdout
            m = re.search(r"listening on (http://[\d.]+:\d+)", log)
            url = m.group(1) if m else None
            if url is None:
                time.sleep(0.2)
        if ck.true(url, "the unit's server prints its listen URL"):
            with urllib.request.urlopen(url + "/healthz", timeout=10) as r:
                ck.eq(r.status, 200, "the unit's server answers /healthz")
        p = run(["systemctl", "stop", f"{name}.service"])
        ck.true(p.returncode == 0, "systemctl stop of the unit", p.stderr)
    finally:
        run(["systemctl", "stop", f"{name}.service"])
        os.unlink(path)
        run(["systemctl", "daemon-reload"])
        state = f"/var/lib/private/{name}"  # standalone-check: allow (the test unit's state)
        shutil.rmtree(state, ignore_errors=True)


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--build", required=True)
    ap.add_argument("--version", required=True)
    ap.add_argument("--cpack", default="cpack")
    args = ap.parse_args()
    args.build = os.path.abspath(args.build)
    for tool in (args.cpack, "dpkg-deb", "dpkg"):
        if not shutil.which(tool):
            print(f"SKIP: {tool} not found")
            return SKIP
    missing = [p for p in ("coffer", "man/coffer.1.gz", "completions/coffer")
               if not os.path.exists(os.path.join(args.build, p))]
    if missing:
        print(f"FAIL: build the whole tree first (cmake --build build); missing in "
              f"{args.build}: {missing} (man pages need help2man: scripts/setup.sh)")
        return 1
    # cpack builds the preinstall target (all) before it installs: a test must not start a
    # build, so the tree must be up to date (ninja -n: "no work to do").
    if os.path.exists(os.path.join(args.build, "build.ninja")):
        p = run(["ninja", "-C", args.build, "-n"])
        if "no work to do" not in p.stdout:
            print(f"FAIL: {args.build} is not up to date; build it first (cmake --build "
                  f"{args.build}): {tail(p.stdout, 400)}")
            return 1
    ck = Checker()
    work = tempfile.mkdtemp(prefix="coffer-package-")
    try:
        deb = build_package(args, ck, os.path.join(work, "out"))
        if deb:
            check_control(args, ck, deb)
            check_listing(ck, deb)
            root = os.path.join(work, "root")
            p = run(["dpkg-deb", "-x", deb, root])
            if ck.true(p.returncode == 0, "dpkg-deb -x into a scratch root", p.stderr):
                check_extracted(args, ck, root, work)
                check_unit(ck, root, work)
                if os.path.isdir("/run/systemd/system") and os.geteuid() == 0:
                    start_unit_under_systemd(ck, root, work)
                else:
                    print("  NOTE systemd is not running as PID 1 here (no /run/systemd/system) "
                          "or not root: the unit was checked with systemd-analyze, not started")
    finally:
        if os.environ.get("COFFER_PACKAGE_KEEP"):
            print(f"kept {work}")
        else:
            shutil.rmtree(work, ignore_errors=True)
    print(f"package_deb: {ck.passed} checks passed, {len(ck.failures)} failed", flush=True)
    if ck.failures:
        print("FAILURES:")
        for f in ck.failures:
            print("  - " + f)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
