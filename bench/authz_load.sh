#!/usr/bin/env bash
# Throughput of the read path with IAM policy evaluation vs the same server with authorization
# skipped (--unsafe-skip-authorization), as a non-admin user with a realistic policy set.
# Usage: bench/authz_load.sh [--duration 3] [--rounds 10] [--threads 2] [--connections 32]
#                            [--no-resource-policy]
# Needs: build/coffer (./scripts/build.sh), wrk; boto3 (pyenv or Debian python3) for the set-up.
set -euo pipefail
cd "$(dirname "$0")/.."
COFFER="${COFFER_BIN:-$PWD/build/coffer}"
PY=python3
if [ -x "$HOME/.pyenv/shims/python3" ]; then PY="$HOME/.pyenv/shims/python3"; fi
exec "$PY" bench/authz_load.py --coffer "$COFFER" "$@"
