#!/usr/bin/env bash
# Installs every Debian package that building and testing coffer needs.
# Idempotent; runs as root, or through sudo otherwise. Nothing is downloaded
# from anywhere but Debian's archive.
set -euo pipefail

PACKAGES=(
  build-essential cmake ninja-build pkg-config ccache help2man  # help2man: man pages (packaging)
  libssl-dev libsqlite3-dev sqlite3 libboost-dev nlohmann-json3-dev libspdlog-dev libfmt-dev
  libcli11-dev libcurl4-openssl-dev libyaml-cpp-dev libgtest-dev libgmock-dev libbenchmark-dev
  python3 python3-boto3 python3-cryptography python3-psycopg2 awscli
  nginx-light wrk gnuplot-nox hyperfine  # bench/run and bench/cli_exec.sh: references, load, plots
  zsh fish  # completion tests
  etcd-server age gnupg libgpgme-dev postgresql faketime
  clang-16 libc++-16-dev libc++abi-16-dev  # tests/tools/check_thread_safety.py
)

missing=()
for p in "${PACKAGES[@]}"; do
  if ! dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed"; then
    missing+=("$p")
  fi
done
if [ ${#missing[@]} -eq 0 ]; then
  echo "setup: all ${#PACKAGES[@]} packages present"
  exit 0
fi
SUDO=""
if [ "$(id -u)" -ne 0 ]; then SUDO="sudo"; fi
echo "setup: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
$SUDO apt-get update -q
$SUDO apt-get install -y -q --no-install-recommends "${missing[@]}"
