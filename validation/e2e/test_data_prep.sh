#!/bin/sh
# test_data_prep.sh: photon prep on a generated corpus of 5 sources: each partition checked
# against the corpus (round trip of every document, streams, statistics: check_datafile),
# determinism, seeds, a source map, prep on 2 ranks, and photon info's report.
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
set -u
work_dir data
cd "$work" || exit 99
gen_corpus 12 7
V=700
prep() { "$PREPINFO" prep -q --vocab-size $V "$@" || fail "prep $*"; }

prep --silos 3 --partition iid --seed 5 -o iid.h5 corpus
"$CHECKFILE" iid.h5 --silos 3 --sources 5 --docs 60 --vocab $V || fail "iid.h5"
prep --silos 2 --partition by-source --seed 5 -o bysrc.h5 corpus
"$CHECKFILE" bysrc.h5 --by-source --silos 2 --sources 5 || fail "bysrc.h5"
prep --silos 4 --partition dirichlet:0.3 --seed 5 --val-fraction 0.2 -o dir.h5 corpus
"$CHECKFILE" dir.h5 --silos 4 || fail "dir.h5"

# Determinism: the same command gives the same tokenizer, streams, documents; another seed
# gives other silos but the same tokenizer when the validation set is the same...
prep --silos 3 --partition iid --seed 5 -o iid2.h5 corpus
for g in /tokenizer /silos /validation /sources /documents; do
  h5diff -q iid.h5 iid2.h5 $g $g >/dev/null 2>&1 || fail "two identical preps differ in $g"
done
prep --silos 3 --partition iid --seed 6 -o iid3.h5 corpus
h5diff -q iid.h5 iid3.h5 /documents/silo /documents/silo >/dev/null 2>&1 && fail "seeds 5 and 6 give the same silos"
# ...and the validation set does not depend on the partition
h5diff -q iid.h5 bysrc.h5 /validation /validation >/dev/null 2>&1 || fail "validation set depends on the partition"

# by-source: every source in one silo, both silos used (check_datafile --by-source); the
# iid silos each hold every source
h5dump -a /silos/0/source_tokens iid.h5 | grep -q "(0): [1-9][0-9]*, [1-9][0-9]*, [1-9][0-9]*, [1-9][0-9]*, [1-9][0-9]*" \
  || fail "iid silo 0 does not hold every source"

# A source map: two labels across directories.
: > map.tsv
for f in corpus/english/* corpus/greek/*; do printf '%s\tletters\n' "$(pwd)/$f" >> map.tsv; done
for f in corpus/numbers/* corpus/code/* corpus/mixed/*; do printf '%s\tsymbols\n' "$f" >> map.tsv; done
prep --source-map map.tsv --silos 2 --partition by-source -o map.h5 corpus
"$CHECKFILE" map.h5 --sources 2 --by-source || fail "map.h5"

# prep started on 2 ranks: rank 0 works, both return its status
"$LAUNCH" 2 "$PREPINFO" prep -q --vocab-size 300 -o two.h5 corpus >/dev/null || fail "prep on 2 ranks"
"$CHECKFILE" two.h5 --vocab 300 || fail "two.h5"
[ -z "$(ls | grep '\.tmp\.')" ] || fail "temporary files left: $(ls)"

# --help documents every option
"$PREPINFO" prep --help > help.txt || fail "prep --help"
for o in --output --format --source-map --vocab-size --silos --partition --seed --val-fraction; do
  grep -q -- "$o" help.txt || fail "prep --help does not document $o"
done

# photon info
"$PREPINFO" info dir.h5 > info.txt || fail "info dir.h5"
cat info.txt
for s in "photon-data version 1" "vocabulary $V" "dirichlet:0.3 into 4 silos" "seed 5" \
         "prep command  photon prep -q --vocab-size $V --silos 4 --partition dirichlet:0.3" \
         "60 files" "documents     60" "english" "greek" "numbers" "code" "mixed"; do
  grep -qF -- "$s" info.txt || fail "info lacks '$s'"
done
[ "$(sed -n '/^silos/,/^$/p' info.txt | grep -c '%')" -eq 4 ] || fail "info: 4 silos with a source mix"
[ "$(sed -n '/^validation/,$p' info.txt | wc -l)" -eq 8 ] || fail "info: validation table of 5 sources + all"
echo "test_data_prep: all checks passed"
