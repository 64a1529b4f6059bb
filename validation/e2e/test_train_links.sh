#!/bin/sh
# Per-silo links and codec = auto (doc/federation.md "Weak links", "Choosing the codec per silo"):
#   A. a [link] list with the same value for every silo == the single value: metrics equal
#      (modeled times included), params bitwise; a list of the wrong length is refused
#   B. codec = auto on a mixed link list (silo 0 at 0.5 Mbps, silo 1 at 1 Gbps) with a fixed
#      compute_s: the round records show silo 0 on a lossy codec and silo 1 on fp32 or bf16, each
#      with its reason, and the downlink on silo 0's (the lossiest) codec
#   C. the allreduce and server topologies train to bitwise the same weights under auto
#   D. stop after 3 rounds + --resume latest == uninterrupted, bitwise (residuals in the checkpoint)
#   E. emulate = off, measured compute time: auto runs on the measured rates, every round names
#      each silo's choice and reason (values not reproducible, so only their form is checked)
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
ckpt_setup

# A.
train 2 A.one link.bandwidth_mbps=100 link.latency_ms=5
train 2 A.list link.bandwidth_mbps=100,100 link.latency_ms=5,5
same_params A.one A.list && same_metrics A.one A.list || exit 1
check A "bandwidth_mbps = 100,100 and latency_ms = 5,5 == one value, metrics and params"
expect_error A 2 "link.bandwidth_mbps has 3 values but federation.silos = 2" train_cmd 2 A.bad link.bandwidth_mbps=1,2,3

# B.
AUTO="compress.codec=auto compress.compute_s=1 link.bandwidth_mbps=0.5,1000 link.latency_ms=1,2"
train 2 B.ar $AUTO
$PY - "$work/B.ar/metrics.jsonl" <<'PYEOF' || fail "B: round records"
import json, sys
rounds = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["type"] == "round"]
order = ["fp32", "bf16", "int8", "int4", "topk"]
for r in rounds:
    slow, fast = r["codec"]
    assert slow in ("int8", "int4", "topk"), r["codec"]
    assert fast in ("fp32", "bf16"), r["codec"]
    assert all(why.startswith(c + ":") for c, why in zip(r["codec"], r["codec_reason"])), r["codec_reason"]
    assert "5% of 1000 ms" in r["codec_reason"][0], r["codec_reason"]
    assert r["down_codec"] == slow, (r["down_codec"], slow)
    if fast == "fp32": assert r["comp_error"][1] == 0 and r["residual_norm"][1] == 0, r
print("  %d rounds: %s; %s" % (len(rounds), rounds[0]["codec"], rounds[0]["codec_reason"]))
PYEOF
check B "auto: the 0.5 Mbps silo compresses, the 1 Gbps silo sends fp32/bf16; reasons; downlink the lossiest"

# C.
train 3 C.sv $AUTO federation.topology=server
same_params B.ar C.sv || fail "C: the topologies differ under codec = auto"
check C "auto: allreduce == server, bitwise"

# D.
train 2 D.part $AUTO run.stop_after_rounds=3
train 2 D.part $AUTO --resume latest
grep -q "resumed from .*ckpt-000003.h5" "$work/log" || { cat "$work/log"; fail "D: did not resume from round 3"; }
same_params B.ar D.part && same_metrics B.ar D.part || exit 1
check D "auto: stop at round 3 + resume == uninterrupted"
expect_error D 2 "a resumed run cannot change compress.codec" train_cmd 2 D.part compress.codec=int8 --resume latest

# E.
train 2 E.off compress.codec=auto link.emulate=off
$PY - "$work/E.off/metrics.jsonl" <<'PYEOF' || fail "E: round records"
import json, sys
rounds = [json.loads(l) for l in open(sys.argv[1]) if json.loads(l)["type"] == "round"]
assert len(rounds) == 6, len(rounds)
for r in rounds:
    assert all(c in ("fp32", "bf16", "int8", "int4", "topk") for c in r["codec"]), r["codec"]
    assert all(why.startswith(c + ":") for c, why in zip(r["codec"], r["codec_reason"])), r["codec_reason"]
print("  %s; %s" % (rounds[-1]["codec"], rounds[-1]["codec_reason"]))
PYEOF
check E "auto under emulate = off with measured compute: every round records each silo's choice and reason"

echo "test_train_links: $passed passed, 0 failed"
