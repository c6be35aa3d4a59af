#!/usr/bin/env python3
"""The repository stands alone: no test, script or CMake file refers to a path outside it.

Scans the repository's files (tracked and untracked-but-not-ignored) under tests/ (but not the
vectors in tests/data/), scripts/, cmake/, bench/, hooks/, .ci/, and every CMakeLists.txt and
*.cmake, and reports, as file:line, every reference that leaves the repository:

  * the sibling folder of specs and vectors a checkout once sat beside (its test-data path);
  * an absolute path rooted anywhere but the system's own directories (/usr, /bin, /sbin, /lib*,
    /etc, /tmp, /var/tmp, /proc, /dev, /sys, /run are allowed: installed clients, scratch space,
    kernel files); e.g. /work/..., /home/..., /opt/..., /srv/..., /mnt/...;
  * a `..` that climbs above the repository root: `${PROJECT_SOURCE_DIR}/..`,
    `${CMAKE_CURRENT_SOURCE_DIR}/../..` in CMake, `$(dirname "$0")/../..` in shell, nested
    `os.path.dirname(... __file__)` or `Path(__file__).parents[n]` in Python, and bare relative
    `../` paths (taken relative to the file's own folder).

This file itself is not scanned (it names what it forbids); instead its rules run on lines that
must and must not be reported before every scan. A line may opt out with the marker
`standalone-check: allow` and a reason beside it.
Exit status 0 when clean, 1 with the list of offending lines, 2 on usage errors.
"""

import argparse
import os
import re
import subprocess
import sys

ALLOW_MARKER = "standalone-check: " + "allow"
SCANNED_DIRS = ("tests/", "scripts/", "cmake/", "bench/", "hooks/", ".ci/")
EXCLUDED_DIRS = ("tests/data/",)
SELF = "tests/tools/check_standalone.py"  # names what it forbids; its rules are self-tested
SKIPPED_SUFFIXES = (".md", ".json", ".txt")  # prose and data; CMakeLists.txt is checked below

# Top-level directories that are the system's, not somebody's checkout or home.
SYSTEM_ROOTS = {"usr", "bin", "sbin", "lib", "lib32", "lib64", "libx32", "etc", "tmp", "proc",
                "dev", "sys", "run"}
# Top-level directories where a sibling checkout, a home or mounted data would live.
FOREIGN_ROOTS = {"work", "workspace", "home", "root", "opt", "srv", "mnt", "media", "nix", "snap",
                 "var", "boot"}

SHARED_RE = re.compile(r"\.\./" + r"shared\b|\bshared/" + r"testdata\b")
# An absolute path: "/" starting a token (not inside a URL, a name or another path).
ABS_RE = re.compile(r"(?<![\w.:/~$}\-\]])/(?P<top>[A-Za-z0-9_.\-]+)(?P<rest>(?:/[^\s\"'`),;]*)?)")
CMAKE_VAR_RE = re.compile(r"\$\{(?P<var>\w+)\}(?P<segs>(?:/[^\s\"');]*)?)")
SHELL_DIR_RE = re.compile(
    r"\$\(\s*dirname\s+\"?\$(?:0|\{BASH_SOURCE(?:\[0\])?\})\"?\s*\)(?P<segs>(?:/[^\s\"');]*)?)")
PY_PARENTS_RE = re.compile(r"Path\(\s*__file__\s*\)(?:\.resolve\(\))?"
                           r"(?:\.parents\[(?P<n>\d+)\]|(?P<chain>(?:\.parent)+))")
BARE_UP_RE = re.compile(r"(?<![\w./$}\-])(?P<segs>\.\.(?:/[^\s\"'`);,]*)?)(?=[\s\"'`);,]|$)")

ROOT_VARS = {"PROJECT_SOURCE_DIR", "CMAKE_SOURCE_DIR", "coffer_SOURCE_DIR"}
FILE_DIR_VARS = {"CMAKE_CURRENT_SOURCE_DIR", "CMAKE_CURRENT_LIST_DIR"}


def climbs_out(depth, segs):
    """True when walking `segs` (a "/"-joined relative path) from `depth` levels below the
    repository root goes above it."""
    for seg in segs.split("/"):
        if seg == "..":
            depth -= 1
            if depth < 0:
                return True
        elif seg not in ("", "."):
            depth += 1
    return False


def line_problems(rel, line):
    """Every reason `line` of file `rel` (a path relative to the repository root) refers outside
    the repository."""
    if ALLOW_MARKER in line:
        return []
    file_depth = rel.count("/")  # depth of the file's folder below the root
    out = []
    if SHARED_RE.search(line):
        out.append("refers to the sibling shared folder")
    for m in ABS_RE.finditer(line):
        top, rest = m.group("top"), m.group("rest")
        if top in SYSTEM_ROOTS or (top == "var" and rest.startswith("/tmp")):
            continue
        if top in FOREIGN_ROOTS:
            out.append(f"absolute path outside the repository: /{top}{rest}")
    for m in CMAKE_VAR_RE.finditer(line):
        var, segs = m.group("var"), m.group("segs")
        base = 0 if var in ROOT_VARS else file_depth if var in FILE_DIR_VARS else None
        if base is not None and climbs_out(base, segs):
            out.append(f"${{{var}}}{segs} climbs above the repository root")
    for m in SHELL_DIR_RE.finditer(line):
        if climbs_out(file_depth, m.group("segs")):
            out.append(f"$(dirname $0){m.group('segs')} climbs above the repository root")
    if "__file__" in line:
        # os.path.dirname(os.path.abspath(__file__)) is the file's folder; each further
        # dirname goes one level up.
        nested = line.count("os.path.dirname(")
        if nested and nested - 1 > file_depth:
            out.append(f"{nested} nested os.path.dirname(__file__) climb above the repository root")
        for m in PY_PARENTS_RE.finditer(line):
            n, chain = m.group("n"), m.group("chain")
            up = int(n) if n is not None else chain.count(".parent") - 1
            if up > file_depth:
                out.append("Path(__file__) parents climb above the repository root")
    for m in BARE_UP_RE.finditer(line):
        if climbs_out(file_depth, m.group("segs")):
            out.append(f"relative path {m.group('segs')} climbs above the repository root")
    return out


def candidate_files(root):
    try:
        listed = subprocess.run(
            ["git", "-C", root, "ls-files", "-z", "--cached", "--others", "--exclude-standard"],
            check=True, capture_output=True).stdout.decode().split("\0")
        files = [f for f in listed if f]
    except (OSError, subprocess.CalledProcessError):
        files = []
        for dirpath, dirnames, filenames in os.walk(root):
            dirnames[:] = [d for d in dirnames if d != ".git" and not d.startswith("build")]
            files += [os.path.relpath(os.path.join(dirpath, f), root) for f in filenames]
    for f in sorted(set(files)):
        f = f.replace(os.sep, "/")
        if f.startswith(EXCLUDED_DIRS) or f == SELF or not os.path.isfile(os.path.join(root, f)):
            continue
        name = f.rsplit("/", 1)[-1]
        if name == "CMakeLists.txt" or name.endswith(".cmake"):
            yield f
        elif f.startswith(SCANNED_DIRS) and not name.endswith(SKIPPED_SUFFIXES):
            yield f


def scan(root):
    problems = []
    for rel in candidate_files(root):
        try:
            with open(os.path.join(root, rel), encoding="utf-8") as fh:
                lines = fh.read().splitlines()
        except (UnicodeDecodeError, OSError):
            continue  # binary files carry no paths we could act on
        for n, line in enumerate(lines, 1):
            for why in line_problems(rel, line):
                problems.append(f"{rel}:{n}: {why}: {line.strip()}")
    return problems


# The rules, checked on lines that must and must not be reported, so they cannot rot silently.
SELF_TEST = [
    ("CMakeLists.txt",
     "get_filename_component(D \"${PROJECT_SOURCE_DIR}/../" + "shared\" ABSOLUTE)", True),
    ("CMakeLists.txt", "set(D \"${PROJECT_SOURCE_DIR}/tests/data\")", False),
    ("tests/e2e/CMakeLists.txt", "set(D ${CMAKE_CURRENT_SOURCE_DIR}/../../../x)", True),
    ("tests/e2e/CMakeLists.txt", "set(D ${CMAKE_CURRENT_SOURCE_DIR}/../../hooks)", False),
    ("tests/auth/x_test.cc", "ReadFile(\"/" + "work/shared/testdata/sigv4/a.req\");", True),
    ("tests/e2e/x.py", "open('/" + "home/me/vectors.txt')", True),
    ("tests/e2e/x.py", "AWS = \"/usr/bin/aws\"; tmp = \"/tmp/coffer-x\"", False),
    ("tests/e2e/x.py", "with open(\"/proc/self/status\") as f:", False),
    ("tests/e2e/x.py", "name = \"/shared/v1\"  # a parameter name", False),
    ("tests/e2e/x.py", "url = \"http://127.0.0.1:80/" + "work/x\"", False),
    ("scripts/build.sh", "cd \"$(dirname \"$0\")/..\"", False),
    ("scripts/build.sh", "cd \"$(dirname \"$0\")/../..\"", True),
    ("tests/e2e/x.py", "REPO = os.path.dirname(os.path.dirname(os.path.dirname("
                       "os.path.abspath(__file__))))", False),
    ("tests/e2e/x.py", "UP = os.path.dirname(os.path.dirname(os.path.dirname(os.path.dirname("
                       "os.path.abspath(__file__)))))", True),
    ("tests/e2e/x.py", "ROOT = Path(__file__).resolve().parents[2]", False),
    ("tests/e2e/x.py", "UP = Path(__file__).resolve().parents[3]", True),
    ("tests/e2e/x.py", "open('../../../" + "shared/testdata/x')", True),
    ("tests/e2e/x.py", "open('../../hooks/postgresql-rotate')", False),
    ("tests/sigv4/sigv4_test.cc", "EXPECT_EQ(CanonicalUri(\"/a/./b/../c\"), \"/a/c\");", False),
    ("tests/e2e/x.py", "p = '/" + "opt/data/x'  # " + ALLOW_MARKER + ": documented example", False),
]


def self_test():
    failed = []
    for rel, line, expect in SELF_TEST:
        if bool(line_problems(rel, line)) != expect:
            failed.append(f"self-test: {rel}: expected {'a report' if expect else 'no report'} "
                          f"for: {line}")
    return failed


def main():
    default_root = os.path.dirname(os.path.dirname(os.path.dirname(os.path.abspath(__file__))))
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--root", default=default_root, help="repository root (default: this one)")
    args = ap.parse_args()
    if not os.path.isdir(args.root):
        print(f"check_standalone: no such directory: {args.root}", file=sys.stderr)
        return 2
    failures = self_test() + scan(os.path.abspath(args.root))
    for f in failures:
        print(f)
    if failures:
        print(f"check_standalone: {len(failures)} reference(s) outside the repository")
        return 1
    print("check_standalone: every test, script and CMake file stays inside the repository")
    return 0


if __name__ == "__main__":
    sys.exit(main())
