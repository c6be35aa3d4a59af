#!/usr/bin/env bash
# `coffer exec --bundle s3://...` (and from a local file) with 5,000 values, start to child
# running, beside `coffer exec SERVICE` fetching the same values from SSM, on one Coffer server
# (its own S3 and KMS), measured with hyperfine. Figures: docs/PERFORMANCE.md.
# Usage: bench/bundle_exec.sh [--values 5000] [--runs 20]
set -euo pipefail
cd "$(dirname "$0")/.."
COFFER="${COFFER_BIN:-$PWD/build/coffer}"
exec python3 bench/bundle_exec.py --coffer "$COFFER" "$@"
