#!/bin/sh
# Checkpoints and exact resume (doc/user-guide.md, "Checkpoints and resume"):
#   A. stop after 3 of 6 rounds, --resume latest  ==  uninterrupted: params bitwise, metrics'
#      deterministic fields equal; for allreduce+nesterov, server+fedadam with client sampling,
#      inner_state average, and ddp
#   B. 2 silos x 2 ranks (B=2) stopped, resumed as 2 silos x 1 rank (B=4)  ~  uninterrupted 2x2
#   C. SIGUSR1 (Slurm --signal) mid-run: finishes the round, checkpoints, exits 0; resume is bitwise
#   D. checkpoint.every_rounds / keep: which files remain
#   E. a deck change that cannot be honoured is refused (exit 2, the key named); --resume latest
#      with no checkpoint starts afresh
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
ckpt_setup

i=0
for cfg in "2|" "3|federation.topology=server federation.outer=fedadam federation.outer_lr=0.01 federation.clients_per_round=1" \
           "2|federation.inner_state=average" "2|federation.mode=ddp"; do
  np=${cfg%%|*}; opts=${cfg#*|}; i=$((i + 1))
  train "$np" A$i.full $opts
  train "$np" A$i.part $opts run.stop_after_rounds=3
  test -f "$work/A$i.part/checkpoints/ckpt-000003.h5" || { echo "A: no checkpoint after 3 rounds"; exit 1; }
  test ! -f "$work/A$i.part/final.h5" || { echo "A: a stopped run wrote final.h5"; exit 1; }
  train "$np" A$i.part $opts --resume latest
  grep -q "resumed from .*ckpt-000003.h5" "$work/log" || { cat "$work/log"; echo "A: did not resume from round 3"; exit 1; }
  same_params A$i.full A$i.part && same_metrics A$i.full A$i.part || exit 1
  check A "stop at round 3 + resume == uninterrupted (np $np $opts)"
done

# B. the silo's loader cursor and inner state carry over to a silo of another size: 2 ranks x
# B=2 and 1 rank x B=4 see the same windows (loader.h), so only float rounding differs.
train 4 B.full
train 4 B.part run.stop_after_rounds=3
train 2 B.part optim.batch_size=4 --resume latest
same_params B.full B.part 1e-5 || exit 1
check B "2 silos x 2 ranks, resumed as 2 silos x 1 rank (same global batch) ~ uninterrupted"

# C. a signal: the links are slowed so that the run is still going when it arrives.
# The signal is sent once the first round is logged (the handler is installed by then).
slow="link.emulate=sleep link.latency_ms=100 run.steps=24"
train 2 C.full $slow
train_bg 2 C.part log $slow
pid=$bg
wait_until $pid 600 0.05 "C: the run never logged a round" grep -qs '"type":"round"' "$work/C.part/metrics.jsonl"
kill -USR1 $pid
st=0; wait $pid || st=$?
[ $st -eq 0 ] || { cat "$work/log"; echo "C: exit status $st after SIGUSR1"; exit 1; }
grep -q "stopped after round .* on signal" "$work/log" || { cat "$work/log"; echo "C: the run did not stop on the signal (too fast?)"; exit 1; }
test ! -f "$work/C.part/final.h5" || { echo "C: final.h5 written although stopped"; exit 1; }
train 2 C.part $slow --resume latest
same_params C.full C.part && same_metrics C.full C.part || exit 1
check C "SIGUSR1: round finished, checkpoint, exit 0; resume == uninterrupted"

# D. every 1 round, keep 2: rounds 5 and 6 remain, no temporary file.
train 2 D checkpoint.every_rounds=1 checkpoint.keep=2
have=$(cd "$work/D/checkpoints" && ls | tr '\n' ' ')
[ "$have" = "ckpt-000005.h5 ckpt-000006.h5 " ] || { echo "D: checkpoints left: $have"; exit 1; }
train 2 D2 checkpoint.every_rounds=4 checkpoint.dir="$work/elsewhere"
have=$(cd "$work/elsewhere" && ls | tr '\n' ' ')
[ "$have" = "ckpt-000004.h5 ckpt-000006.h5 " ] || { echo "D: checkpoints left: $have"; exit 1; }
check D "every_rounds, keep and dir"

# E. refusals and a fresh start.
for change in model.layers=2 federation.local_steps=3 federation.outer=fedavg optim.optimizer=sgd federation.mode=ddp; do
  expect_error "E: $change" 2 "cannot change ${change%%=*}" train_cmd 2 A1.part $change run.steps=12 --resume latest
done
expect_error "E: missing file" 2 "nonexistent.h5: no such readable checkpoint" train_cmd 2 A1.part --resume "$work/nonexistent.h5"
train 2 E.fresh --resume latest
grep -q "no checkpoint in .*: starting a new run" "$work/log" || { cat "$work/log"; exit 1; }
same_params A1.full E.fresh || exit 1
check E "incompatible deck changes refused with the key named; --resume latest without checkpoints starts afresh"
echo "test_ckpt_resume: $passed passed, 0 failed"
