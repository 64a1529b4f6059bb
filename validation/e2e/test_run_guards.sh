#!/bin/sh
# The run-level guards of photon train (src/train/train_guard.c, run_lock.c, watchdog.c):
#   A. a second run on a run directory in use is refused at once, naming the first's pid and
#      host, and the first ends exactly as a run done alone (params bitwise, metrics)
#   B. a stale lock file (its process gone) is taken over with a note naming the old holder
#   C. a diverging run (SGD, lr 100, no clipping; or a NaN put in by PHOTON_TEST_NAN_AT) in
#      centralized, ddp and federated mode stops with exit status 3 naming the step, writes
#      nothing non-finite (checkpoints, no final.h5), and its last good checkpoint resumes to
#      exactly the run that never diverged; one silo's NaN is still just dropped
#   D. run.on_nonfinite = rollback finishes with finite weights, and two runs give the same bits
#   E. a SIGSTOPped rank of a 2-silo run with run.watchdog_s = 5 makes the job stop with a
#      message naming that rank, well within 120 s
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
need_h5py
work_dir run-guards
gen_corpus 10 3
prep_tiny "$work/two.h5" --silos 2 --partition iid --vocab-size 300
tiny_deck "$work/base.deck" "$work/two.h5" federation.silos=2

# Every float of every dataset of the files given is finite (checkpoints and final.h5).
all_finite() {
  $PY - "$@" <<'PYEOF'
import sys, h5py, numpy as np
bad = []
def visit(name, obj):
    if isinstance(obj, h5py.Dataset) and obj.dtype.kind == "f" and not np.isfinite(obj[...]).all():
        bad.append(name)
for p in sys.argv[1:]:
    with h5py.File(p, "r") as f:
        f.visititems(visit)
    if bad: print("  %s: non-finite %s" % (p, ", ".join(bad))); sys.exit(1)
print("  %d file(s), every float finite" % (len(sys.argv) - 1))
PYEOF
}

# A. Slowed links keep the first run going (sleeping, not computing) while the second starts.
slow="link.emulate=sleep link.latency_ms=20 federation.local_steps=1 run.steps=300"
train 2 A.alone $slow
train_bg 2 A log.first $slow
first=$bg
wait_until $first 300 0.1 "A: the first run wrote no lock file" test -s "$work/A/photon.lock"
holder=$(cat "$work/A/photon.lock")
pid=$(echo "$holder" | awk '{print $2}'); host=$(echo "$holder" | awk '{print $4}')
t0=$(date +%s)
expect_error "A: second run on a run.dir in use" 2 "run directory $work/A is in use by pid $pid on host $host since
wait for it or choose another run.dir" train_cmd 2 A $slow
t1=$(date +%s)
kill -0 $first 2>/dev/null || fail "A: the first run had ended before the second was refused (make it slower)"
[ $((t1 - t0)) -le 30 ] || fail "A: the refusal took $((t1 - t0)) s"
wait $first || { cat "$work/log.first"; fail "A: the first run failed"; }
same_params A.alone A && same_metrics A.alone A || exit 1
[ ! -s "$work/A/photon.lock" ] || fail "A: a finished run left its lock file naming it"
check A "second run refused in $((t1 - t0)) s naming pid $pid on $host; the first == a run alone"

# B. A lock file whose process is gone.
mkdir -p "$work/B"
echo "pid 999999 host gone.example since 2020-01-01T00:00:00Z" > "$work/B/photon.lock"
train 2 B
grep -q "took over the stale lock of pid 999999 on host gone.example since 2020-01-01T00:00:00Z" "$work/log" ||
  { cat "$work/log"; fail "B: no note about the stale lock"; }
train 2 B.plain
same_params B.plain B || exit 1
check B "stale lock taken over with a note; the run == a plain one"

# C. Divergence in every mode: a real one (lr 100), then a NaN put into the weights after step
# 7 (PHOTON_TEST_NAN_AT, round 2 of 4) whose last good checkpoint resumes to exactly the run
# that never diverged.
diverge="optim.optimizer=sgd optim.lr=100 optim.grad_clip=0 checkpoint.every_rounds=1 run.steps=30"
every="checkpoint.every_rounds=1 run.steps=12"
for mode in centralized ddp federated; do
  expect_error "C: $mode diverges" 3 "non-finite
stopped (exit status 3), nothing non-finite was written
the last good checkpoint is" train_cmd 2 C.$mode federation.mode=$mode $diverge
  [ $mode != federated ] || grep -q "every participating silo (2) went non-finite" "$work/err" || fail "C: no silo count"
  grep -q "round [0-9]*: .*step [0-9]* .*(loss [^,]*, gradient norm [^)]*)" "$work/err" || fail "C: the message names no step"
  test ! -e "$work/C.$mode/final.h5" || fail "C: $mode wrote final.h5"
  ls "$work/C.$mode/checkpoints/"ckpt-*.h5 >/dev/null 2>&1 || fail "C: $mode: no good checkpoint (diverged too early)"
  all_finite "$work/C.$mode/checkpoints/"ckpt-*.h5 || fail "C: $mode: a non-finite checkpoint"

  train 2 C.clean.$mode federation.mode=$mode $every
  expect_error "C: $mode NaN after step 7" 3 "round 2: 
step 8
the last good checkpoint is $work/C.nan.$mode/checkpoints/ckpt-000002.h5" \
    env PHOTON_TEST_NAN_AT=7 "$LAUNCH" 2 "$PHOTON" train "$DECK" run.dir="$work/C.nan.$mode" federation.mode=$mode $every
  test ! -e "$work/C.nan.$mode/final.h5" && test ! -e "$work/C.nan.$mode/checkpoints/ckpt-000003.h5" ||
    fail "C: $mode wrote the bad round"
  all_finite "$work/C.nan.$mode/checkpoints/"ckpt-*.h5 || fail "C: $mode: a non-finite checkpoint"
  train 2 C.nan.$mode federation.mode=$mode $every --resume latest
  grep -q "resumed from .*ckpt-000002.h5" "$work/log" || { cat "$work/log"; fail "C: $mode did not resume"; }
  same_params C.clean.$mode C.nan.$mode || exit 1
  check C "$mode: exit 3 naming the step, nothing non-finite written, the last good checkpoint resumes to the clean run"
done
# Federated: one silo's NaN is still the federation's to drop; the run goes on.
PHOTON_TEST_NAN_AT=7:1 train 2 C.onesilo $every
grep -q '"round":2,.*"dropped":\[0,1\]' "$work/C.onesilo/metrics.jsonl" || fail "C: silo 1 not dropped in round 2"
all_finite "$work/C.onesilo/final.h5" || exit 1
check C "federated, NaN in silo 1 only: dropped, the run completes"

# D. Roll back instead: deterministic, finite.
for i in 1 2; do
  PHOTON_TEST_NAN_AT=7 train 2 D$i federation.mode=ddp $every run.on_nonfinite=rollback
  grep -q "^rollback 1 of 3: round 2: step 8 .*non-finite; back to .*ckpt-000002.h5 (after round 1) with the learning rate x 0.5" \
    "$work/log" || { cat "$work/log"; fail "D: no rollback"; }
done
all_finite "$work/D1/final.h5" "$work/D1/checkpoints/"ckpt-*.h5 || fail "D: rolled-back run not finite"
same_params D1 D2 && same_metrics D1 D2 || exit 1
grep -q '"type":"rollback","round":2,"rollback":1,"to_round":2' "$work/D1/metrics.jsonl" || fail "D: no rollback record in metrics.jsonl"
! same_params C.clean.ddp D1 >/dev/null || fail "D: the rollback did not lower the learning rate"
PHOTON_TEST_NAN_AT=7 expect_error "D: max_rollbacks = 0" 3 "run.max_rollbacks reached" \
  train_cmd 2 D.max federation.mode=ddp $every run.on_nonfinite=rollback run.max_rollbacks=0
expect_error "D: rollback needs checkpoints" 2 "run.on_nonfinite = rollback reloads the last checkpoint: set checkpoint.every_rounds > 0" \
  train_cmd 2 D.nockpt run.on_nonfinite=rollback
check D "on_nonfinite = rollback: finite and bitwise deterministic"

# E. The watchdog: stop rank 1 (silo 1) of a long run; rank 0 waits for it in MPI.
timeout 120 "$LAUNCH" 2 "$PHOTON" train "$DECK" run.dir="$work/E" run.steps=99999 run.watchdog_s=5 >"$work/log" 2>&1 &
job=$!
wait_until $job 300 0.1 "E: no heartbeat of rank 1" test -s "$work/E/heartbeat/rank-00001"
victim=$(awk '{print $8}' "$work/E/heartbeat/rank-00001")
case $victim in ''|*[!0-9]*) kill $job; fail "E: no pid in rank 1's heartbeat" ;; esac
sleep 1
t0=$(date +%s)
kill -STOP "$victim"
st=0; wait $job || st=$?
t1=$(date +%s)
kill -CONT "$victim" 2>/dev/null || true
kill "$victim" 2>/dev/null || true
[ $st -ne 0 ] && [ $st -ne 124 ] || { cat "$work/log"; fail "E: the job exited $st (124: it spun until timeout)"; }
grep -q "watchdog (run.watchdog_s = 5): .*silent: world rank 1 (silo 1, host [^,]*, pid $victim)" "$work/log" ||
  { cat "$work/log"; fail "E: the message does not name rank 1"; }
check E "SIGSTOPped rank 1 (pid $victim): the job stopped after $((t1 - t0)) s (exit $st), naming it"
echo "test_run_guards: $passed passed, 0 failed"
