#!/usr/bin/env bash
# Load test of the SSM GetParameter read path: Coffer vs moto_server vs nginx (canned body),
# replayed with wrk on 127.0.0.1 only. Bounded: three runs of DURATION seconds (default 10).
# Usage: bench/ssm_load.sh [--duration 10] [--threads 2] [--connections 32] [--skip-moto]
# Needs: build/coffer (./scripts/build.sh), wrk and nginx-light (./scripts/setup.sh); moto_server
# from the pyenv python is optional (skipped when absent).
set -euo pipefail
cd "$(dirname "$0")/.."
COFFER="${COFFER_BIN:-$PWD/build/coffer}"
PY=python3
if [ -x "$HOME/.pyenv/shims/python3" ]; then PY="$HOME/.pyenv/shims/python3"; fi
exec "$PY" bench/ssm_load.py --coffer "$COFFER" "$@"
