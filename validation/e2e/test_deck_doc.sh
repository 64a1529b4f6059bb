#!/bin/sh
# doc/deck.md's key reference must be exactly what the program's key table prints.
set -eu
want=$(mktemp); have=$(mktemp)
trap 'rm -f "$want" "$have"' EXIT
"$PHOTON_BUILDDIR/photon" train --help-markdown > "$want"
sed -n '/<!-- BEGIN KEYS -->/,/<!-- END KEYS -->/p' "$PHOTON_SRCDIR/doc/deck.md" | sed '1d;$d' > "$have"
if ! diff -u "$have" "$want"; then
  echo "doc/deck.md is out of date: replace its KEYS block with: photon train --help-markdown" >&2
  exit 1
fi
# Every key also appears in photon train --help.
"$PHOTON_BUILDDIR/photon" train --help | grep -q "outlier_factor"
echo "test_deck_doc: 1 passed, 0 failed"
