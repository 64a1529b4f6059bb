#!/bin/sh
# End-to-end checks of the training modes, where the math says two runs must agree:
#   A. federated, 1 silo, fedavg lr 1.0, inner state keep  ==  centralized        (bitwise)
#   B. 2 silos, local_steps 1, SGD, no clipping, fedavg 1.0 ==  ddp, same batch     (float tolerance)
#      (clipping is per silo in federated mode and global in ddp: not the same map)
#   C. 2 ranks x batch 2 in one silo                       ==  1 rank x batch 4    (float tolerance)
#   D. topology allreduce                                  ==  topology server     (bitwise)
#   E. fault injection: the faulty silo is dropped from that round and the run completes.
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
need_h5py
work_dir train-modes
gen_corpus 10 3
prep_tiny "$work/one.h5" --silos 1 --vocab-size 300
prep_tiny "$work/two.h5" --silos 2 --partition iid --vocab-size 300
tiny_deck "$work/base.deck" "$work/one.h5" optim.warmup_steps=2

train 2 A1 federation.mode=federated federation.silos=1
train 2 A2 federation.mode=centralized
same_params A1 A2 0 || exit 1; check A "federated 1 silo == centralized"

train 2 B1 data.file="$work/two.h5" federation.silos=2 federation.local_steps=1 optim.optimizer=sgd optim.lr=0.5 optim.grad_clip=0
train 2 B2 data.file="$work/two.h5" federation.silos=2 federation.local_steps=1 optim.optimizer=sgd optim.lr=0.5 optim.grad_clip=0 federation.mode=ddp
same_params B1 B2 1e-5 || exit 1; check B "federated H=1 SGD == ddp"

train 2 C1 federation.mode=centralized optim.batch_size=2
train 1 C2 federation.mode=centralized optim.batch_size=4
same_params C1 C2 1e-5 || exit 1; check C "2 ranks x B=2 == 1 rank x B=4"

for opts in "federation.outer=fedavg" "federation.outer=nesterov federation.outer_lr=0.7 federation.inner_state=average"; do
  train 2 D1 data.file="$work/two.h5" federation.silos=2 $opts
  train 3 D2 data.file="$work/two.h5" federation.silos=2 federation.topology=server $opts
  same_params D1 D2 0 || exit 1; check D "allreduce == server ($opts)"
done

train 2 E data.file="$work/two.h5" federation.silos=2 federation.fault_silo=1 federation.fault_rounds=1
grep -q '"round":1,.*"dropped":\[0,1\]' "$work/E/metrics.jsonl" || { echo "E: silo 1 not dropped in round 1"; cat "$work/E/metrics.jsonl"; exit 1; }
grep -q '"round":0,.*"dropped":\[0,0\]' "$work/E/metrics.jsonl" || { echo "E: a silo dropped in round 0"; exit 1; }
grep -q '"type":"end"' "$work/E/metrics.jsonl" || { echo "E: run did not complete"; exit 1; }
$PY -c "import h5py,numpy,sys; sys.exit(0 if numpy.isfinite(h5py.File('$work/E/final.h5','r')['params'][...]).all() else 1)"
check E "fault injected in silo 1 at round 1: dropped, run completed, weights finite"
echo "test_train_modes: $passed passed, 0 failed"
