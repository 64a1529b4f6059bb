#!/bin/sh
# test_fuzz_seeds.sh (make check): the fuzz harnesses' HDF5 seeds stay meaningful without clang.
# Each seed in validation/fuzz/seeds/{datafile,weights,ckpt} is built into an HDF5 file (what the
# harnesses do, validation/fuzz/fuzz_h5.c) and dumped back: the description must come back byte
# for byte (the builder and the dump agree), and photon must accept the built file as the real
# one it came from (photon info for the data file, photon eval's weights check for final.h5).
set -u
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
work_dir fuzz-seeds
SEED=$B/validation/fuzz/h5_seed
for t in datafile weights ckpt; do
  for s in "$S/validation/fuzz/seeds/$t"/*; do
    "$SEED" --build "$s" "$work/built.h5" || fail "h5_seed --build $s"
    "$SEED" "$work/built.h5" "$work/again" || fail "h5_seed $s (dump)"
    cmp -s "$s" "$work/again" || fail "$s: built and dumped back, the description differs"
    check "$t/$(basename "$s")" "builds and dumps back byte for byte"
  done
done
"$SEED" --build "$S/validation/fuzz/seeds/datafile/prep-2silos" "$work/data.h5"
"$LAUNCH" 1 "$PHOTON" info "$work/data.h5" >"$work/log" 2>&1 || { cat "$work/log"; fail "photon info on the built data file"; }
grep -q 'photon-data version 1' "$work/log" || fail "photon info: no format line"
check datafile "photon info reads the built data file"
"$SEED" --build "$S/validation/fuzz/seeds/weights/final" "$work/final.h5"
"$LAUNCH" 1 "$PHOTON" eval "$work/final.h5" --data "$work/data.h5" >"$work/log" 2>&1 ||
  { cat "$work/log"; fail "photon eval on the built final.h5"; }
check weights "photon eval loads the built final.h5"
"$SEED" --build "$S/validation/fuzz/seeds/ckpt/latest" "$work/ckpt.h5"
"$LAUNCH" 1 "$PHOTON" eval "$work/ckpt.h5" --data "$work/data.h5" >"$work/log" 2>&1 ||
  { cat "$work/log"; fail "photon eval on the built checkpoint"; }
check ckpt "photon eval loads the built checkpoint"
# Findings of fuzz_weights (their inputs are seeds too): the shape attributes of a small file
# stating a huge model were allocated before the params count was checked (gpt.c: "allocation of
# ... bytes failed"), or wrapped the parameter count around in size_t.
"$SEED" --build "$S/validation/fuzz/seeds/weights/huge-model" "$work/huge.h5"
expect_error huge-model 2 "$work/huge.h5: dataset 'params' has 3112 values but the attributes (L=1, NH=1, C=65536, maxT=8, V=270, bias=1) describe a model of 51558809600 parameters" \
  "$LAUNCH" 1 "$PHOTON" eval "$work/huge.h5" --data "$work/data.h5"
"$SEED" --build "$S/validation/fuzz/seeds/weights/huge-channels" "$work/huge.h5"
expect_error huge-channels 2 "$work/huge.h5: model of 3.38e+15 parameters (L=1, C=16777216, V=270, maxT=8) is too large" \
  "$LAUNCH" 1 "$PHOTON" eval "$work/huge.h5" --data "$work/data.h5"
"$SEED" --build "$S/validation/fuzz/seeds/weights/wrapping-count" "$work/huge.h5"
expect_error wrapping-count 2 "$work/huge.h5: model of 9.07e+23 parameters (L=1048576, C=268435456, V=270, maxT=8) is too large" \
  "$LAUNCH" 1 "$PHOTON" export "$work/huge.h5" --format llmc -o "$work/export.bin"
echo "PASS: $passed checks"
