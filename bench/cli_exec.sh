#!/usr/bin/env bash
# `coffer exec` of a service with 100 values (wall time from start until the child runs: the
# child is `true`) beside `/usr/bin/aws ssm get-parameters-by-path --recursive
# --with-decryption` for the same values, against the same Coffer server on 127.0.0.1, measured
# with hyperfine (Debian's package; ./scripts/setup.sh installs it). Prints both means and the
# ratio; the target is at most 1/20 of the aws CLI's time (docs/PERFORMANCE.md).
# Usage: bench/cli_exec.sh [--values 100] [--runs 30]
set -euo pipefail
cd "$(dirname "$0")/.."
COFFER="${COFFER_BIN:-$PWD/build/coffer}"
exec python3 bench/cli_exec.py --coffer "$COFFER" "$@"
