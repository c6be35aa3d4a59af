#!/usr/bin/env python3
"""Checks that src/ follows the dependency graph (STYLE.md rules 1, 2 and 4).

Reads the graph that cmake/CofferTargets.cmake writes to <build>/layers.json
(module -> its declared direct deps), then scans every src/**/*.h and *.cc and
fails on:
  * an #include "x/y.h" of a module that is neither the file's own module nor
    one of its transitive deps (an upward or undeclared include);
  * an include of another module's internal/ headers;
  * a cycle in the declared graph;
  * a third-party header outside its owning module (<boost/ only in server/, ...).
Every violation is printed as file:line: message. Exit status 1 if any.

usage: check_layering.py --layers build/layers.json --src src
"""

import argparse
import json
import os
import re
import sys

INCLUDE_RE = re.compile(r'^\s*#\s*include\s*([<"])([^>"]+)[>"]')

# Third-party header prefix -> modules that may include it (a module also
# covers its subfolders: "api" allows api/awsjson).
THIRD_PARTY_OWNERS = [
    ("boost/", ["server"]),
    ("openssl/", ["crypto"]),
    ("sqlite3.h", ["storage/sqlite"]),
    ("curl/", ["client"]),
    ("etcd/", ["storage/etcd"]),
    ("CLI/", ["main"]),
    ("spdlog/", ["util"]),
    ("fmt/", ["util"]),
    ("nlohmann/", ["api", "auth", "audit", "client", "files", "agent", "cli"]),
    # server/ reads its config file (server/config.cc), files/ and agent/ their YAML documents.
    ("yaml-cpp/", ["server", "files", "agent", "cli"]),
    # OpenPGP (unseal shares to operators' keys, SOPS PGP key sources).
    ("gpgme.h", ["files"]),
]

# Single files outside a library's owning module that may include it, as
# (file relative to src/, header prefix), each with its reason.
THIRD_PARTY_FILE_EXCEPTIONS = {
    # The listener's TLS: Asio's ssl::context and Beast's ssl_stream are OpenSSL
    # underneath, and the policy Coffer sets on the context (TLS 1.2 floor,
    # cipher lists, no renegotiation, client CA names) has no Asio spelling, so
    # this one file calls libssl on the context's native handle. Key material
    # and primitives stay in crypto/.
    ("server/http_server.cc", "openssl/"),
}

# The ratchet (Bitcoin's lint style): violations that exist in the tree today,
# as (file relative to src/, included header). They are printed but do not
# fail; a new one fails, and an entry that no longer occurs should be removed.
# Keep this list short and shrinking; each entry names why it is tolerated.
KNOWN_VIOLATIONS = {
}


def within(module, owner):
    return module == owner or module.startswith(owner + "/")


def module_of(rel_dir, modules):
    """The module a directory (relative to src/) belongs to: the longest
    declared module that is a prefix of it, with internal/ folded into its
    parent; an undeclared folder is its own module."""
    parts = [p for p in rel_dir.split("/") if p]
    if "internal" in parts:
        parts = parts[: parts.index("internal")]
    for n in range(len(parts), 0, -1):
        candidate = "/".join(parts[:n])
        if candidate in modules:
            return candidate
    return "/".join(parts)


def transitive(layers):
    closure = {}

    def visit(m, stack):
        if m in closure:
            return closure[m]
        if m in stack:
            return set()
        stack.append(m)
        out = set()
        for d in layers.get(m, []):
            out.add(d)
            out |= visit(d, stack)
        stack.pop()
        closure[m] = out
        return out

    for m in layers:
        visit(m, [])
    return closure


def find_cycles(layers):
    cycles = []
    state = {}

    def dfs(m, path):
        state[m] = 1
        path.append(m)
        for d in layers.get(m, []):
            if state.get(d) == 1:
                cycles.append(path[path.index(d):] + [d])
            elif d not in state:
                dfs(d, path)
        path.pop()
        state[m] = 2

    for m in sorted(layers):
        if m not in state:
            dfs(m, [])
    return cycles


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--layers", required=True)
    parser.add_argument("--src", required=True)
    args = parser.parse_args()

    with open(args.layers) as f:
        layers = json.load(f)
    modules = set(layers)
    deps = transitive(layers)
    src = os.path.abspath(args.src)
    violations = []

    for cycle in find_cycles(layers):
        violations.append(f"{args.layers}:1: dependency cycle: {' -> '.join(cycle)}")
    for m, ds in sorted(layers.items()):
        for d in ds:
            if d not in modules:
                violations.append(f"{args.layers}:1: module {m} depends on unknown module {d}")

    for root, _, files in os.walk(src):
        for name in sorted(files):
            if not name.endswith((".h", ".cc")):
                continue
            path = os.path.join(root, name)
            rel = os.path.relpath(path, src)
            module = module_of(os.path.dirname(rel), modules)
            allowed = deps.get(module, set()) | {module}
            shown = os.path.relpath(path)
            with open(path, encoding="utf-8", errors="replace") as f:
                for lineno, line in enumerate(f, 1):
                    match = INCLUDE_RE.match(line)
                    if not match:
                        continue
                    kind, header = match.groups()
                    where = f"{shown}:{lineno}"
                    if kind == "<":
                        for prefix, owners in THIRD_PARTY_OWNERS:
                            if (rel, prefix) in THIRD_PARTY_FILE_EXCEPTIONS:
                                continue
                            if header.startswith(prefix) and not any(
                                    within(module, o) for o in owners):
                                violations.append(
                                    f"{where}: <{header}> may only be included in "
                                    f"{', '.join(o + '/' for o in owners)} (this is {module}/)")
                        continue
                    if not os.path.exists(os.path.join(src, header)):
                        continue  # not a project header (e.g. a generated or test file)
                    target = module_of(os.path.dirname(header), modules)
                    if "/internal/" in "/" + header and target != module:
                        violations.append(
                            f"{where}: includes {header}, an internal header of {target}/")
                    elif target not in allowed:
                        violations.append(
                            f"{where}: {module}/ includes {header} of {target}/, which is not "
                            f"among its declared dependencies ({', '.join(sorted(allowed - {module})) or 'none'})")

    known, new = [], []
    for v in violations:
        path, _, _ = v.partition(":")
        rel = os.path.relpath(os.path.abspath(path), src)
        if any(rel == f and h in v for f, h in KNOWN_VIOLATIONS):
            known.append(v)
        else:
            new.append(v)
    for v in known:
        print(f"known (tolerated, see KNOWN_VIOLATIONS): {v}")
    violations = new
    for v in violations:
        print(v)
    if violations:
        print(f"{len(violations)} layering violation(s)", file=sys.stderr)
        return 1
    print(f"layering ok: {len(modules)} modules")
    return 0


if __name__ == "__main__":
    sys.exit(main())
