#!/usr/bin/env python3
"""Checks the lock discipline written as COFFER_GUARDED_BY / COFFER_*_LOCKS_REQUIRED annotations.

GCC ignores the annotations (util/thread_annotations.h expands them to nothing there), so this
runs clang's -Wthread-safety over every src/**/*.cc as a syntax-only pass (-fsyntax-only: no
object files, no link) with the include paths and definitions from compile_commands.json, and
fails on any thread-safety diagnostic (-Werror=thread-safety). Other warnings are off: the GCC
build owns them.

Why syntax-only, and why libc++: the project builds with GCC 12 and libstdc++. Debian 12's
default clang (14) cannot parse libstdc++ 12's <expected>, and a clang link against libc++
would not match the GCC-built third-party C++ libraries (yaml-cpp, gtest, ...). clang 16 with
its own libc++ headers (-stdlib=libc++) parses every source, and a syntax-only pass needs no
library to link with. One libc++ compatibility switch is set:
_LIBCPP_ENABLE_CXX20_REMOVED_TYPE_TRAITS, because Boost 1.74's Asio (server/) still uses
std::result_of. The locks the analysis understands are util::Mutex, util::SharedMutex and
util::RecursiveMutex with their scoped lockers (util/mutex.h): std::mutex is no capability in
libstdc++, and std::unique_lock / std::shared_lock carry no annotations in libc++ either.

Only the sources that can hold an annotation are parsed: a source whose project includes
(followed transitively through `#include "..."` under src/) never reach util/thread_annotations.h
has no annotated declaration in view, so clang's analysis has nothing to check there. `--all`
parses every source anyway.

Needs clang++-16 and libc++-16-dev (scripts/setup.sh installs them). When clang++-16 is absent
it prints why and exits 77, which CTest reports as skipped (SKIP_RETURN_CODE).
CHECK_THREAD_SAFETY_TIMES=1 in the environment prints each source's parse time.
Exit status 0 when clean, 1 with the diagnostics, 2 on usage errors, 77 when skipped.
"""

import argparse
import concurrent.futures
import json
import os
import re
import shlex
import shutil
import subprocess
import sys
import time

SKIP = 77
# Flags from the GCC command line that carry over: include paths, definitions, the standard.
KEEP_WITH_VALUE = ("-I", "-isystem", "-iquote", "-D", "-U", "-include")
CHECK_FLAGS = [
    "-fsyntax-only",
    "-std=c++2b",
    "-stdlib=libc++",
    "-Wno-everything",  # the GCC build owns every other warning
    "-Wthread-safety",
    "-Wthread-safety-beta",
    "-Werror=thread-safety",
    "-Werror=thread-safety-beta",
    "-ferror-limit=50",
    # Boost 1.74's Asio still names std::result_of, which libc++ drops from C++20 on unless
    # asked to keep it (libstdc++, which the real build uses, still has it).
    "-D_LIBCPP_ENABLE_CXX20_REMOVED_TYPE_TRAITS",
]


def find_clang(requested):
    if requested:
        return shutil.which(requested)
    for name in ("clang++-16", "clang++-17", "clang++-18", "clang++-19"):
        path = shutil.which(name)
        if path:
            return path
    return None


def carried_flags(entry):
    """Include paths and definitions of one compile_commands.json entry."""
    args = entry.get("arguments") or shlex.split(entry["command"])
    out = []
    i = 1
    while i < len(args):
        arg = args[i]
        taken = False
        for flag in KEEP_WITH_VALUE:
            if arg == flag and i + 1 < len(args):
                out += [flag, args[i + 1]]
                i += 2
                taken = True
                break
            if arg.startswith(flag) and len(arg) > len(flag):
                out.append(arg)
                i += 1
                taken = True
                break
        if not taken:
            i += 1
    return out


ANNOTATIONS = "util/thread_annotations.h"
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def sees_annotations(path, src_root, memo):
    """True when `path` reaches util/thread_annotations.h through project includes."""
    seen = set()
    stack = [path]
    while stack:
        current = stack.pop()
        if current in seen:
            continue
        seen.add(current)
        if current in memo:
            includes = memo[current]
        else:
            try:
                with open(current, encoding="utf-8", errors="replace") as f:
                    includes = INCLUDE.findall(f.read())
            except OSError:
                includes = []
            memo[current] = includes
        for name in includes:
            if name == ANNOTATIONS:
                return True
            for base in (src_root, os.path.dirname(current)):
                candidate = os.path.join(base, name)
                if os.path.isfile(candidate):
                    stack.append(os.path.realpath(candidate))
                    break
    return False


def check_one(clang, entry):
    cmd = [clang] + CHECK_FLAGS + carried_flags(entry) + [entry["file"]]
    started = time.monotonic()
    proc = subprocess.run(cmd, cwd=entry.get("directory") or None, capture_output=True,
                          text=True)
    if os.environ.get("CHECK_THREAD_SAFETY_TIMES"):
        print(f"{time.monotonic() - started:6.1f}s {entry['file']}", flush=True)
    return entry["file"], proc.returncode, proc.stderr


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--compile-commands", required=True,
                        help="compile_commands.json of a configured build")
    parser.add_argument("--src", required=True, help="the source tree's src/ folder")
    parser.add_argument("--clang", default=None, help="clang++ to use (default: clang++-16..19)")
    parser.add_argument("--jobs", type=int, default=2, help="parallel clang processes")
    parser.add_argument("--all", action="store_true",
                        help="parse every source, also those no annotation can reach")
    parser.add_argument("files", nargs="*", help="only these sources (default: all of src/)")
    opts = parser.parse_args()

    clang = find_clang(opts.clang)
    if clang is None:
        print("SKIPPED: check_thread_safety needs clang++-16 with libc++-16-dev "
              "(apt-get install clang-16 libc++-16-dev libc++abi-16-dev, or run "
              "scripts/setup.sh); the thread-safety annotations were NOT checked.")
        return SKIP
    probe_source = ("#include <expected>\n#include <shared_mutex>\n#include <string>\n"
                    "std::expected<int, std::string> probe = 1;\n")
    probe = subprocess.run(
        [clang, "-x", "c++", "-std=c++2b", "-stdlib=libc++", "-fsyntax-only", "-"],
        input=probe_source, capture_output=True, text=True)
    if probe.returncode != 0:
        print(f"SKIPPED: {os.path.basename(clang)} cannot use libc++'s <expected> (it needs "
              "clang 16 with libc++-16-dev libc++abi-16-dev); the thread-safety annotations "
              "were NOT checked.\n" + probe.stderr.strip())
        return SKIP
    try:
        with open(opts.compile_commands, encoding="utf-8") as f:
            entries = json.load(f)
    except (OSError, ValueError) as e:
        print(f"check_thread_safety: cannot read {opts.compile_commands}: {e}")
        return 2

    src = os.path.realpath(opts.src) + os.sep
    wanted = {os.path.realpath(p) for p in opts.files}
    chosen = {}
    memo = {}
    skipped = 0
    for entry in entries:
        path = os.path.realpath(os.path.join(entry.get("directory", ""), entry["file"]))
        if not path.startswith(src) or not path.endswith(".cc"):
            continue
        if wanted and path not in wanted:
            continue
        if not wanted and not opts.all and not sees_annotations(path, src, memo):
            skipped += 1
            continue
        chosen[path] = dict(entry, file=path)
    if not chosen:
        print("check_thread_safety: no src/**/*.cc in the compile commands")
        return 2

    start = time.monotonic()
    failed = []
    with concurrent.futures.ThreadPoolExecutor(max_workers=max(1, opts.jobs)) as pool:
        for path, rc, stderr in pool.map(lambda e: check_one(clang, e), chosen.values()):
            if rc != 0:
                failed.append((os.path.relpath(path, os.path.dirname(src.rstrip(os.sep))),
                               stderr))
    elapsed = time.monotonic() - start
    for path, stderr in sorted(failed):
        print(f"--- {path}")
        print(stderr.rstrip())
    print(f"check_thread_safety: {len(chosen)} sources ({skipped} without annotations in "
          f"view not parsed), {len(failed)} failing, "
          f"{elapsed:.0f}s with {opts.jobs} jobs ({os.path.basename(clang)})")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
