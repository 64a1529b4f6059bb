#!/bin/sh
# Streaming sync ([federation] fragments, overlap_steps, mix_alpha; doc/federation.md):
#   A. fragments = 1, overlap_steps = 0 given explicitly == the default run, bitwise
#   B. 2 fragments, an overlap of 1 step (the exchange on the leaders' thread), alpha 0.5, int8 with
#      error feedback: stop after 1 round + --resume latest == uninterrupted, for the allreduce and
#      server topologies, and with 2 ranks per silo; both topologies give bitwise the same weights
#   C. the round record lists each exchange by its start: fragment f starts tau = 1 step before it
#      lands after the local steps = 2f (mod 4) (fragment 1 at 4k, fragment 0 at 4k + 2, landing on
#      the boundary), every fragment again at the last step; each exchange moves part of the model (the largest < the whole
#      model's exchange); with the overlap the exposed time is below the modeled
#   D. settings the schedule cannot honour are refused naming the key
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
ckpt_setup

# A.
train 2 A.default
train 2 A.explicit federation.fragments=1 federation.overlap_steps=0 federation.mix_alpha=0
same_params A.default A.explicit && same_metrics A.default A.explicit || exit 1
check A "fragments = 1, overlap_steps = 0 == the default run, bitwise"

# B.
S="federation.local_steps=4 federation.fragments=2 federation.overlap_steps=1 federation.mix_alpha=0.5 compress.codec=int8"
for cfg in "2|" "3|federation.topology=server" "4|"; do
  np=${cfg%%|*}; opts=${cfg#*|}
  train "$np" B$np.full $S $opts
  train "$np" B$np.part $S $opts run.stop_after_rounds=1
  train "$np" B$np.part $S $opts --resume latest
  grep -q "resumed from .*ckpt-000001.h5" "$work/log" || { cat "$work/log"; fail "B: did not resume from round 1"; }
  same_params B$np.full B$np.part && same_metrics B$np.full B$np.part || exit 1
  check B "stop after round 1 + resume == uninterrupted (np $np $opts)"
done
same_params B2.full B3.full || fail "B: the topologies differ"
check B "allreduce == server with fragments, bitwise"
PHOTON_TEST_INLINE_EXCHANGE=1 train 2 B2.inline $S
same_params B2.full B2.inline && same_metrics B2.full B2.inline || exit 1
check B "the exchanges on the leaders' threads == the same exchanges inline, bitwise"

# C.
train 2 C.whole federation.local_steps=4 compress.codec=int8
$PY - "$work/B2.full/metrics.jsonl" "$work/C.whole/metrics.jsonl" <<'PYEOF' || fail "C: the exchanges"
import json, sys
def rounds(p): return [json.loads(l) for l in open(p) if '"type":"round"' in l]
fr, whole = rounds(sys.argv[1]), rounds(sys.argv[2])
steps = [(x["fragment"], x["step"]) for r in fr for x in r["fragments"]]
assert steps == [(1, 0), (0, 2), (1, 4), (0, 6), (1, 8), (0, 10), (0, 11), (1, 11)], steps
largest = max(x["bytes"] for r in fr for x in r["fragments"])
whole_bytes = whole[0]["bytes"]
assert largest < whole_bytes, (largest, whole_bytes)
for r in fr:
    assert r["bytes"] == sum(x["bytes"] for x in r["fragments"]), r
    for x in r["fragments"]:
        assert x["exposed_s"] <= x["modeled_s"]
        if x["step"] != 11: assert x["exposed_s"] < x["modeled_s"], x
print("  exchanges %s; largest %d bytes vs %d for the whole model" % (steps, largest, whole_bytes))
PYEOF
check C "exchange schedule, partial exchanges, exposed < modeled with an overlap"

# D.
expect_error D 2 "is not a multiple of federation.fragments" train_cmd 2 D federation.local_steps=3 federation.fragments=2
expect_error D 2 "must be below local_steps/fragments" train_cmd 2 D federation.local_steps=4 federation.fragments=2 federation.overlap_steps=2
expect_error D 2 "need federation.inner_state = keep" train_cmd 2 D federation.local_steps=4 federation.fragments=2 federation.inner_state=average
expect_error D 2 "a resumed run cannot change them" train_cmd 2 B2.part $S federation.fragments=1 --resume latest
expect_error D 2 "needs compress.compute_s > 0" train_cmd 2 D federation.local_steps=4 federation.fragments=2 compress.codec=auto
check D "refused: H not a multiple of F, overlap too long, averaged moments, a resume with other fragments, auto without compute_s"
echo "$passed checks passed"
