#!/bin/sh
# validation/fuzz/make-seeds.sh BUILDDIR H5_SEED: regenerate the HDF5 seed corpora under
# validation/fuzz/seeds/ from files photon itself writes (a tiny generated corpus, never real
# text): a data file (prep), a final.h5 and a checkpoint (train). H5_SEED is the dump tool
# (BUILDDIR/validation/fuzz/h5_seed, built by `make` in every tree). The deck and BPE seeds are
# hand-written files; not touched. The seeds are not byte-stable (temporary paths, dates).
# The findings' reproducers (seeds/weights/huge-*, wrapping-count; doc/robustness.md) are kept.
set -eu
B=$(cd "$1" && pwd); SEED=$2
export PHOTON_BUILDDIR=$B PHOTON_SRCDIR=$(cd "$(dirname "$0")/../.." && pwd)
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
work_dir fuzz-seeds
seeds=$S/validation/fuzz/seeds
mkdir -p "$seeds/datafile" "$seeds/weights" "$seeds/ckpt"
gen_corpus 2 1
prep_tiny "$work/data.h5" --silos 2 --partition iid --vocab-size 270
tiny_deck "$work/deck" "$work/data.h5" federation.silos=2 run.steps=6 checkpoint.every_rounds=1 model.channels=8
train 2 run
"$SEED" "$work/data.h5" "$seeds/datafile/prep-2silos"
"$SEED" "$work/run/final.h5" "$seeds/weights/final"
"$SEED" "$(ls "$work"/run/checkpoints/ckpt-*.h5 | tail -1)" "$seeds/ckpt/latest"
ls -l "$seeds"/datafile "$seeds"/weights "$seeds"/ckpt
