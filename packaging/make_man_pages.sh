#!/bin/sh
# Writes gzip'd man pages for coffer and each of its subcommands (at any depth) from their
# --help output, with help2man: coffer.1.gz, coffer-server.1.gz, coffer-audit-verify.1.gz ...
# The subcommands are read from the "Subcommands:" section of each --help, so a new command
# gets its page without a change here.
#
# usage: make_man_pages.sh COFFER_BINARY OUTPUT_DIR VERSION
set -eu

binary=$1
out=$2
version=$3
mkdir -p "$out"
rm -f "$out"/*.1 "$out"/*.1.gz
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT

# help2man runs "PROGRAM --help"; a one-line wrapper per command path gives it one program.
page() {  # page "audit verify" (the words after coffer; empty for coffer itself)
  words=$1
  name=coffer${words:+-$(echo "$words" | tr ' ' '-')}
  wrapper=$work/$name
  printf '#!/bin/sh\nexec "%s" %s "$@"\n' "$binary" "$words" >"$wrapper"
  chmod +x "$wrapper"
  help=$("$wrapper" --help)
  summary=$(echo "$help" | sed -n '1p' | sed 's/^coffer: //')
  subs=""
  # Commands nest two levels deep (coffer audit verify); a third would be a parsing mistake.
  if [ "$(echo "$words" | wc -w)" -lt 3 ]; then
    subs=$(echo "$help" | sed -n '/^Subcommands:/,/^$/p' | sed -n 's/^  \([a-z][a-z0-9-]*\) .*/\1/p')
  fi
  # SEE ALSO: the pages of the subcommands, and coffer(1) from every other page.
  {
    echo "[SEE ALSO]"
    for sub in $subs; do echo ".BR $name-$sub (1),"; done
    if [ -n "$words" ]; then echo ".BR coffer (1)"; fi
  } | sed '$ s/,$//' >"$work/$name.h2m"
  help2man --no-info --no-discard-stderr --version-string="$version" \
    --name="$summary" --section=1 --source="coffer $version" --manual="Coffer manual" \
    --include="$work/$name.h2m" --output="$out/$name.1" "$wrapper"
  gzip -9n "$out/$name.1"
  for sub in $subs; do
    (page "${words:+$words }$sub")  # a subshell: sh has no local variables
  done
}
page ""
