#!/bin/sh
# The recipes of the quality work (doc/federation.md, "Recipes"), on 2 silos x 12 steps, H = 2:
#   A. federation.sync_steps = run.steps: a federated run that is synchronous throughout is the
#      ddp baseline, bitwise (weights and bytes)
#   B. sync_steps = 5: rounds [0,2) [2,4) [4,5) synchronous, then [5,7) [7,9) [9,11) [11,12) of
#      local steps; stop right at the switch (3 rounds) and one round later + --resume latest ==
#      uninterrupted, bitwise; a synchronous round moves ddp's bytes per step
#   C. inner_state = average_m moves one model's worth of state bytes a round, average two, keep
#      none (fp32, allreduce: the weights' exchange is one model's worth); average_m resumes bitwise
#   D. clipping and its firing rate: fixed at 1e-6 fires on every step, 0 never; adaptive with a
#      factor of 1e-3 on every step, 1e6 never (grad_clip 0: no first-step clip); adaptive
#      clipping resumes bitwise (its running norm is AdamW's v)
#   E. lr_scaling: sqrt against the silo's own batch is the unscaled run, bitwise; linear against
#      twice the batch halves the peak; ddp's batch is all silos'
#   F. schedules over rounds: H linear 2 -> 4 gives the hand-worked rounds; the outer lr linear
#      0.7 -> 0.1 and the momentum stepping 0.9 -> 0.5 as recorded per round
#   G. settings the recipes cannot honour are refused naming the key
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
ckpt_setup
passed=0
rounds() { $PY -c 'import json,sys; print(" ".join(str(json.loads(l)[sys.argv[2]]) for l in open(sys.argv[1]) if "\"type\":\"round\"" in l))' "$work/$1/metrics.jsonl" "$2"; }
endval() { $PY -c 'import json,sys; print([json.loads(l) for l in open(sys.argv[1]) if "\"type\":\"end\"" in l][0][sys.argv[2]])' "$work/$1/metrics.jsonl" "$2"; }

# A.
train 2 A.ddp federation.mode=ddp
train 2 A.sync federation.sync_steps=12
same_params A.ddp A.sync || fail "A: sync_steps = steps differs from ddp"
[ "$(endval A.ddp inter_silo_bytes)" = "$(endval A.sync inter_silo_bytes)" ] || fail "A: bytes differ"
[ "$(rounds A.sync synchronous)" = "1 1 1 1 1 1" ] || fail "A: rounds not all synchronous: $(rounds A.sync synchronous)"
check A "sync_steps = run.steps == ddp, bitwise, $(endval A.sync inter_silo_bytes) bytes"

# B.
train 2 B.full federation.sync_steps=5
[ "$(rounds B.full synchronous)" = "1 1 1 0 0 0 0" ] || fail "B: synchronous rounds $(rounds B.full synchronous)"
[ "$(rounds B.full local_steps)" = "2 2 1 2 2 2 1" ] || fail "B: round lengths $(rounds B.full local_steps)"
$PY - "$work/B.full/metrics.jsonl" "$work/A.ddp/metrics.jsonl" <<'PYEOF' || fail "B: bytes of the synchronous rounds"
import json, sys
r = [json.loads(l) for l in open(sys.argv[1]) if '"type":"round"' in l]
d = [json.loads(l) for l in open(sys.argv[2]) if '"type":"round"' in l]
per_step = d[0]["bytes"] / d[0]["local_steps"]
for x in r[:3]: assert x["bytes"] == per_step * x["local_steps"], (x["bytes"], per_step)
assert r[3]["bytes"] < per_step * 2, r[3]["bytes"]  # a federated round: one exchange, not two
print("  synchronous rounds: %d bytes per step (ddp's); first local round %d bytes" % (per_step, r[3]["bytes"]))
PYEOF
for stop in 3 4; do
  train 2 B.part$stop federation.sync_steps=5 run.stop_after_rounds=$stop
  train 2 B.part$stop federation.sync_steps=5 --resume latest
  same_params B.full B.part$stop && same_metrics B.full B.part$stop || fail "B: resume after round $stop"
done
check B "sync_steps = 5: the planned rounds; stop at the switch and after it + resume == uninterrupted"

# C.
train 2 C.keep
train 2 C.m federation.inner_state=average_m
train 2 C.mv federation.inner_state=average
$PY - "$work" <<'PYEOF' || fail "C: state bytes"
import json, sys
def r(n): return [json.loads(l) for l in open(sys.argv[1] + "/" + n + "/metrics.jsonl") if '"type":"round"' in l]
keep, m, mv, ddp = r("C.keep"), r("C.m"), r("C.mv"), r("A.ddp")
model = ddp[0]["bytes"] / ddp[0]["local_steps"]  # one model's worth: ddp's gradient exchange of a step
for k, a, b in zip(keep, m, mv):
    assert k["state_bytes"] == 0, k
    assert a["state_bytes"] == model and a["bytes"] == k["bytes"] + model, (a, model)
    assert b["state_bytes"] == 2 * model and b["bytes"] == k["bytes"] + 2 * model, (b, model)
print("  one model = %d bytes (the weights' exchange %d with its header): average_m adds 1x, average 2x" % (model, keep[0]["bytes"]))
PYEOF
train 2 C.part federation.inner_state=average_m run.stop_after_rounds=2
train 2 C.part federation.inner_state=average_m --resume latest
same_params C.m C.part && same_metrics C.m C.part || fail "C: average_m resume"
check C "inner state bytes: average_m 1 model, average 2, keep 0; average_m resumes bitwise"

# D.
train 2 D.fixed optim.grad_clip=1e-6
train 2 D.none optim.grad_clip=0
train 2 D.tight optim.clip=adaptive optim.clip_factor=1e-3 optim.grad_clip=1e-6
train 2 D.loose optim.clip=adaptive optim.clip_factor=1e6 optim.grad_clip=0
for x in "D.fixed 1" "D.none 0" "D.tight 1" "D.loose 0"; do
  set -- $x
  [ "$(endval "$1" clip_fraction)" = "$2.0" ] || fail "$1: clip_fraction $(endval "$1" clip_fraction), want $2"
done
[ "$(rounds D.tight clip_frac)" = "1.0 1.0 1.0 1.0 1.0 1.0" ] || fail "D: per-round clip_frac $(rounds D.tight clip_frac)"
train 2 D.adaptive optim.clip=adaptive
train 2 D.part optim.clip=adaptive run.stop_after_rounds=3
train 2 D.part optim.clip=adaptive --resume latest
same_params D.adaptive D.part && same_metrics D.adaptive D.part || fail "D: adaptive clipping resume"
check D "clip_fraction 1/0 for fixed and adaptive thresholds; adaptive clipping resumes bitwise"

# E.
train 2 E.sqrt optim.lr_scaling=sqrt optim.lr_ref_batch=2
same_params C.keep E.sqrt || fail "E: sqrt scaling against the silo's batch changed the run"
train 2 E.linear optim.lr_scaling=linear optim.lr_ref_batch=4
[ "$(endval E.linear lr_peak)" = "0.0015" ] || fail "E: linear scaling peak $(endval E.linear lr_peak)"
train 2 E.ddp federation.mode=ddp optim.lr_scaling=linear optim.lr_ref_batch=4
[ "$(endval E.ddp lr_peak)" = "0.003" ] || fail "E: ddp's batch is both silos': peak $(endval E.ddp lr_peak)"
check E "lr_scaling: sqrt at the reference batch is bitwise the unscaled run; linear halves at 2x; ddp counts all silos"

# F. H(p) = 2 + 2p rounded (half to even is not used: llround rounds half away from zero):
#    s 0 -> 2; 2 (p 1/6) -> 2.33 = 2; 4 (1/3) -> 2.67 = 3; 7 (7/12) -> 3.17 = 3; 10 (5/6) -> 3.67 = 4, cut to 2.
train 2 F federation.local_steps_schedule=linear federation.local_steps_final=4 \
  federation.outer_lr_schedule=linear federation.outer_lr_final=0.1 \
  federation.outer_momentum_schedule=step federation.outer_momentum_final=0.5
[ "$(rounds F local_steps)" = "2 2 3 3 2" ] || fail "F: round lengths $(rounds F local_steps)"
[ "$(rounds F step)" = "2 4 7 10 12" ] || fail "F: round ends $(rounds F step)"
[ "$(rounds F outer_lr)" = "0.7 0.6 0.5 0.35 0.2" ] || fail "F: outer lr $(rounds F outer_lr)"
[ "$(rounds F outer_momentum)" = "0.9 0.9 0.9 0.5 0.5" ] || fail "F: outer momentum $(rounds F outer_momentum)"
train 2 F.part federation.local_steps_schedule=linear federation.local_steps_final=4 \
  federation.outer_lr_schedule=linear federation.outer_lr_final=0.1 \
  federation.outer_momentum_schedule=step federation.outer_momentum_final=0.5 run.stop_after_rounds=3
train 2 F.part federation.local_steps_schedule=linear federation.local_steps_final=4 \
  federation.outer_lr_schedule=linear federation.outer_lr_final=0.1 \
  federation.outer_momentum_schedule=step federation.outer_momentum_final=0.5 --resume latest
same_params F F.part && same_metrics F F.part || fail "F: scheduled run resume"
check F "H 2 -> 4 linear: rounds 2 2 3 3 2; outer lr and momentum per round as scheduled; resumes bitwise"

# G.
expect_error G1 2 "federation.sync_steps = 4 needs federation.mode = federated" train_cmd 2 G federation.mode=ddp federation.sync_steps=4
expect_error G2 2 "use topology = allreduce" train_cmd 3 G federation.topology=server federation.sync_steps=4
expect_error G3 2 "exceeds run.steps" train_cmd 2 G federation.sync_steps=13
expect_error G4 2 "optim.clip = adaptive needs optim.optimizer = adamw" train_cmd 2 G optim.clip=adaptive optim.optimizer=sgd
expect_error G5 2 "set fragments = 1 and overlap_steps = 0" train_cmd 2 G federation.local_steps_schedule=step federation.local_steps=4 federation.fragments=2
echo "test_train_recipes: $passed checks passed"
