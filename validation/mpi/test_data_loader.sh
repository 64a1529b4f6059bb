#!/bin/sh
# test_data_loader.sh: the loader on a generated corpus: 3 ranks with batch 2 see exactly what
# 1 rank with batch 6 sees (disjoint across ranks, every window once per epoch, reshuffled per
# epoch), and cursor save/restore is exact, for one silo and for a union of silos.
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
set -u
work_dir data
cd "$work" || exit 99
gen_corpus 8 11
"$PREPINFO" prep -q --vocab-size 400 --silos 2 --partition iid -o data.h5 corpus || fail "prep"
"$LAUNCH" 3 "$LOADER" equiv data.h5 1 64 2 150 || fail "3 ranks x B=2 vs 1 rank x B=6"
"$LAUNCH" 2 "$LOADER" equiv data.h5 0 96 3 100 || fail "2 ranks x B=3 vs 1 rank x B=6"
"$LAUNCH" 1 "$LOADER" cursor data.h5 0 16 4 || fail "cursor, silo 0"
"$LAUNCH" 1 "$LOADER" cursor data.h5 1,0 24 4 || fail "cursor, silos 1 and 0"
echo "test_data_loader: all checks passed"
