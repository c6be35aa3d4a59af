#!/usr/bin/env bash
# Quick start: install what is missing, build, and run the server in dev mode
# on the embedded store. Credentials for the admin identity are written to
# $DATA_DIR/credentials (default data dir: ./.coffer-dev, port 8080).
set -euo pipefail
cd "$(dirname "$0")/.."
./scripts/setup.sh
./scripts/build.sh
DATA_DIR="${COFFER_DATA_DIR:-$PWD/.coffer-dev}"
LISTEN="${COFFER_LISTEN:-127.0.0.1:8080}"
exec build/coffer server --dev --data-dir "$DATA_DIR" --listen "$LISTEN"
