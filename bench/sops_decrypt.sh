#!/usr/bin/env bash
# Times `coffer file decrypt` of a 10,000-key YAML file encrypted for an age key, as a user runs
# it (process start, file read, data key unwrap, 10,000 AES-GCM opens, MAC, output), best of 5.
# Usage: bench/sops_decrypt.sh [path/to/coffer]   (default: build/coffer)
set -euo pipefail
COFFER=${1:-$(dirname "$0")/../build/coffer}
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT
"$COFFER" age --keygen -o "$WORK/key.txt"
RECIPIENT=$(grep '^# public key: ' "$WORK/key.txt" | cut -d' ' -f4)
for i in $(seq 0 9999); do echo "key_$i: value-$((i * 7919))-abcdefghijklmnop"; done >"$WORK/big.yaml"
"$COFFER" file encrypt --age "$RECIPIENT" "$WORK/big.yaml" >"$WORK/big.enc.yaml"
best=""
for run in 1 2 3 4 5; do
  start=$(date +%s%N)
  SOPS_AGE_KEY_FILE="$WORK/key.txt" "$COFFER" file decrypt "$WORK/big.enc.yaml" >"$WORK/out.yaml"
  end=$(date +%s%N)
  ms=$(((end - start) / 1000000))
  if [ -z "$best" ] || [ "$ms" -lt "$best" ]; then best=$ms; fi
done
cmp -s "$WORK/out.yaml" "$WORK/big.yaml" || { echo "decrypted output differs" >&2; exit 1; }
echo "coffer file decrypt, 10,000-key YAML ($(wc -c <"$WORK/big.enc.yaml") bytes): best of 5 = ${best} ms"
