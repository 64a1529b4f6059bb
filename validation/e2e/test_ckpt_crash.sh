#!/bin/sh
# A run killed at any moment resumes from the newest COMPLETE checkpoint, never a partial or
# damaged one, and then ends bitwise where the uninterrupted run ends (params and the
# deterministic metrics: the killed run's records after its checkpoint are not duplicated).
#   A. rank 0 dies inside the checkpoint writer (PHOTON_TEST_CRASH_AT): with the .tmp file half
#      written, complete but not renamed, and renamed but older files not yet pruned
#   B. a real kill -9 of one rank while it trains and checkpoints every round
#   C. the newest checkpoint damaged (one value changed; the file cut short): refused with the file
#      and dataset named, --resume latest falls back to the previous one
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
ckpt_setup
every="checkpoint.every_rounds=2"
train 2 full $every

for phase in write rename prune; do
  st=0; PHOTON_TEST_CRASH_AT=$phase:4 train_try 2 A.$phase $every || st=$?
  [ $st -ne 0 ] && grep -q "PHOTON_TEST_CRASH_AT=$phase:4" "$work/log" || { cat "$work/log"; echo "A: no crash at $phase"; exit 1; }
  test -f "$work/A.$phase/checkpoints/ckpt-000002.h5" || { echo "A: ckpt-000002.h5 missing"; exit 1; }
  case $phase in
    write|rename) test -f "$work/A.$phase/checkpoints/ckpt-000004.h5.tmp" && test ! -f "$work/A.$phase/checkpoints/ckpt-000004.h5" ||
                    { ls "$work/A.$phase/checkpoints"; echo "A: expected only a .tmp for round 4"; exit 1; }
                  want=ckpt-000002.h5 ;;
    prune) want=ckpt-000004.h5 ;;
  esac
  train 2 A.$phase $every --resume latest
  grep -q "resumed from .*$want" "$work/log" || { cat "$work/log"; echo "A: did not resume from $want"; exit 1; }
  test ! -f "$work/A.$phase/checkpoints/ckpt-000004.h5.tmp" || { echo "A: stale .tmp not removed"; exit 1; }
  same_params full A.$phase && same_metrics full A.$phase || exit 1
  check A "killed at checkpoint phase '$phase' of round 4: resumed from $want, == uninterrupted"
done

# B. kill -9 one rank (a child of mpirun) once the second checkpoint exists; slowed links keep
# the run going meanwhile.
slow="link.emulate=sleep link.latency_ms=100 run.steps=24 checkpoint.every_rounds=1"
train 2 B.full $slow
train_bg 2 B.part log $slow
pid=$bg
wait_until $pid 600 0.05 "B: no checkpoint appeared" test -f "$work/B.part/checkpoints/ckpt-000002.h5"
sleep 0.3
rank=$(pgrep -P $pid | head -n 1)
[ -n "$rank" ] || { echo "B: no rank process found under mpirun $pid"; exit 1; }
kill -9 $rank
st=0; wait $pid || st=$?
[ $st -ne 0 ] || { echo "B: the killed job exited 0 (finished before the kill?)"; exit 1; }
test ! -f "$work/B.part/final.h5" || { echo "B: killed run wrote final.h5"; exit 1; }
train 2 B.part $slow --resume latest
grep "resumed from" "$work/log"
same_params B.full B.part && same_metrics B.full B.part || exit 1
check B "kill -9 of a rank mid-run: resume from the newest complete checkpoint == uninterrupted"

# C. damage: change one weight of the newest checkpoint (HDF5 stays readable, the SHA-256 does not
# match), then cut a copy short.
cp -r "$work/full" "$work/C"
$PY - "$work/C/checkpoints/ckpt-000006.h5" <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    f["params"][3] = f["params"][3] + 1.0
PYEOF
expect_error "C: damaged file given by name" 2 "ckpt-000006.h5: dataset /params does not match its SHA-256" \
  train_cmd 2 C --resume "$work/C/checkpoints/ckpt-000006.h5"
train 2 C --resume latest
grep -q "skipping checkpoint: .*ckpt-000006.h5: dataset /params does not match its SHA-256" "$work/log" &&
  grep -q "resumed from .*ckpt-000004.h5" "$work/log" || { cat "$work/log"; echo "C: no fallback to round 4"; exit 1; }
same_params full C && same_metrics full C || exit 1
cp -r "$work/full" "$work/C2"
f="$work/C2/checkpoints/ckpt-000006.h5"
head -c $(($(wc -c < "$f") / 2)) "$f" > "$f.cut" && mv "$f.cut" "$f"
train 2 C2 --resume latest
grep -q "skipping checkpoint: .*ckpt-000006.h5" "$work/log" && grep -q "resumed from .*ckpt-000004.h5" "$work/log" ||
  { cat "$work/log"; echo "C: truncated checkpoint not skipped"; exit 1; }
same_params full C2 || exit 1
# Every checkpoint damaged: refused, exit 2.
for g in "$work"/C2/checkpoints/ckpt-*.h5; do printf 'garbage' > "$g"; done
expect_error "C: all damaged" 2 "no complete checkpoint to resume from" train_cmd 2 C2 --resume latest
check C "damaged checkpoints refused (file and dataset named); latest falls back to the previous complete one"
echo "test_ckpt_crash: $passed passed, 0 failed"
