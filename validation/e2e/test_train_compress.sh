#!/bin/sh
# Compressed federated training ([compress], doc/federation.md "Compressed rounds"):
#   A. codec = fp32 ignores every other [compress] key: bitwise the default run
#   B. int8 with error feedback, 2 silos: stop after 3 rounds + --resume latest == uninterrupted
#      (the residuals are in the checkpoint: params bitwise, metrics' deterministic fields equal),
#      for allreduce+nesterov, server+fedadam and topk (int8 values) with stochastic int4 moments
#   C. the allreduce and server topologies train to bitwise the same weights for every codec
#   D. the round record names the codec and the payload bytes match the formula
#   E. a resume under another codec or error feedback setting is refused, naming the key; a
#      checkpoint whose residual is damaged falls back to the previous one
#   F. a silo dropped for a NaN update (fault injection) clears its residual; training goes on
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
ckpt_setup

# A.
train 2 A.default
train 2 A.fp32 compress.codec=fp32 compress.error_feedback=false compress.block=7 compress.rounding=stochastic
same_params A.default A.fp32 && same_metrics A.default A.fp32 || exit 1
check A "codec = fp32 with other [compress] keys == the default run, bitwise"

# B.
i=0
for cfg in "2|compress.codec=int8" \
           "3|compress.codec=int8 federation.topology=server federation.outer=fedadam federation.outer_lr=0.01" \
           "2|compress.codec=topk compress.topk_fraction=0.1 compress.topk_values=int8 federation.inner_state=average" \
           "2|compress.codec=int4 compress.rounding=stochastic compress.block=32 compress.scale=fp32"; do
  np=${cfg%%|*}; opts=${cfg#*|}; i=$((i + 1))
  train "$np" B$i.full $opts
  train "$np" B$i.part $opts run.stop_after_rounds=3
  train "$np" B$i.part $opts --resume latest
  grep -q "resumed from .*ckpt-000003.h5" "$work/log" || { cat "$work/log"; fail "B: did not resume from round 3"; }
  same_params B$i.full B$i.part && same_metrics B$i.full B$i.part || exit 1
  check B "stop at round 3 + resume == uninterrupted ($opts)"
done
$PY - "$work/B1.part/checkpoints/ckpt-000003.h5" <<'PYEOF' || fail "B: the checkpoint lacks the residuals"
import sys, h5py, numpy as np
f = h5py.File(sys.argv[1], "r")
r, d = f["compress/residual"][...], f["compress/residual_down"][...]
assert f.attrs["codec"].decode() == "int8" and int(f.attrs["error_feedback"]) == 1
assert r.shape == (2, f["params"].shape[0]) and np.abs(r).max() > 0 and np.abs(d).max() > 0, (r.shape, np.abs(r).max())
PYEOF
check B "the checkpoint holds /compress/residual (2, n) and /compress/residual_down, non-zero"

# C. (B1 is allreduce + fedavg... use the same deck in both topologies)
for codec in bf16 int8 int4 "topk compress.topk_values=bf16"; do
  name=$(echo "$codec" | cut -d' ' -f1)
  train 2 C.$name.ar compress.codec=$codec federation.inner_state=average
  train 3 C.$name.sv compress.codec=$codec federation.inner_state=average federation.topology=server
  same_params C.$name.ar C.$name.sv || fail "C: $name: the topologies differ"
  check C "$name: allreduce == server, bitwise (moments averaged through the codec too)"
done

# D.
$PY - "$work/C.int8.ar/metrics.jsonl" <<'PYEOF' || fail "D: round record"
import json, sys, math
recs = [json.loads(l) for l in open(sys.argv[1])]
n = [r for r in recs if r["type"] == "start"][0]["parameters"]
for r in [r for r in recs if r["type"] == "round"]:
    assert r["codec"] == ["int8", "int8"], r["codec"]
    want = n + math.ceil(n / 256) * 2
    assert r["payload_bytes"] == [want, want], (r["payload_bytes"], want)
    assert all(0 < e < 0.05 for e in r["comp_error"]), r["comp_error"]
    assert r["down_bytes"] == want
print("  %d rounds: payload %d bytes each for %d parameters" % (len(recs), want, n))
PYEOF
check D "round records: codec, payload bytes = n + ceil(n/256)*2, compression error"

# E.
expect_error E 2 "a resumed run cannot change compress.codec" train_cmd 2 B1.part compress.codec=int4 --resume latest
expect_error E 2 "a resumed run cannot change it" train_cmd 2 B1.part compress.codec=int8 compress.error_feedback=false --resume latest
train 2 E.ck compress.codec=int8 checkpoint.every_rounds=2
$PY - "$work/E.ck/checkpoints/ckpt-000006.h5" <<'PYEOF'
import sys, h5py
with h5py.File(sys.argv[1], "r+") as f:
    d = f["compress/residual"]; x = d[...]; x[1, 3] += 1.0; d[...] = x
PYEOF
train 2 E.ck compress.codec=int8 checkpoint.every_rounds=2 --resume latest run.steps=12
grep -q "ckpt-000006.h5.*compress/residual" "$work/log" && grep -q "resumed from .*ckpt-000004.h5" "$work/log" || {
  cat "$work/log"; fail "E: a damaged residual must be named and skipped"; }
check E "another codec or error_feedback on resume: refused naming the key; a damaged residual: the previous checkpoint"

# F.
train 2 F compress.codec=int8 federation.fault_silo=1 federation.fault_rounds=2
$PY - "$work/F/metrics.jsonl" <<'PYEOF' || fail "F: fault round"
import json, sys
rounds = [json.loads(l) for l in open(sys.argv[1]) if '"type":"round"' in l]
r2 = rounds[2]
assert r2["dropped"] == [0, 1] and r2["codec"] == ["int8", None], (r2["dropped"], r2["codec"])
assert rounds[3]["codec"] == ["int8", "int8"]
PYEOF
check F "a silo dropped for a NaN update sends nothing that round; the next round it is back"
echo "$passed checks passed"
