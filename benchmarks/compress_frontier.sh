#!/bin/bash
# compress_frontier.sh: final validation perplexity against inter-silo bytes for every codec
# ([compress]), on Brown by genre, 4 silos x 1 rank, at one token budget (doc/results.md,
# "Compression"). Writes runs under OUT (default runs/frontier), frontier.md (the table: ppl,
# bytes, the ratio to ddp's bytes) and frontier.png.
#
#   bash benchmarks/compress_frontier.sh [OUT] [STEPS]      (STEPS 400: 819,200 tokens)
#
# The federated recipe is the best one found by hand for this budget with the inner moments kept
# (nesterov 0.7 / 0.5, inner lr 1e-3; doc/results.md); H = 20 and 50; every codec with and without
# error feedback; streaming sync (F = 4) for two codecs, the server topology, a denser top-k; the
# same points on 100 Mbps links and on a mixed set (one silo at 10 Mbps, three at 1 Gbps) with
# codec = auto against every fixed codec; ddp with an evaluation every round (time to a target).
# ONLY=REGEX runs only the matching names; runs already complete are skipped. Do not edit this
# file while it runs (bash reads it as it goes).
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=${1:-runs/frontier}
steps=${2:-400}
photon=${PHOTON:-build/photon}
brown=$(bash build-aux/fetch-brown.sh | tail -n 1)
mkdir -p "$out" cache
data=cache/brown-4silos-by-source.h5
[ -f "$data" ] || "$photon" prep -q --format brown --vocab-size 4096 --silos 4 --partition by-source -o "$data" "$brown"
. build-aux/blas-env.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
recipe="federation.outer=nesterov federation.outer_lr=0.7 federation.outer_momentum=0.5 optim.lr=1e-3"
run() { # NAME ARGS...
  local name=$1; shift
  [[ $name =~ ${ONLY:-.} ]] || return 0
  if grep -q '"type":"end"' "$out/$name/metrics.jsonl" 2>/dev/null; then echo "== $name (done)"; return 0; fi
  echo "== $name"
  mpirun --oversubscribe -np "${NP:-4}" "$photon" train inputs/brown-photon.deck data.file="$data" run.dir="$out/$name" \
    run.steps="$steps" eval.every=0 eval.tokens=0 "$@" > "$out/$name.log" 2>&1 || { tail "$out/$name.log"; exit 1; }
  grep '^done' "$out/$name.log"
}
run ddp federation.mode=ddp optim.lr=1e-3 federation.local_steps=20
for H in 20 50; do
  run fp32-H$H $recipe federation.local_steps=$H
  for codec in bf16 int8 int4 "topk compress.topk_values=int8"; do
    name=$(echo "$codec" | cut -d' ' -f1)
    run $name-H$H $recipe federation.local_steps=$H compress.codec=$codec
    run $name-noef-H$H $recipe federation.local_steps=$H compress.codec=$codec compress.error_feedback=false
  done
done
# Streaming sync (4 fragments, an overlap of 2 steps) for the two best codecs; the server topology
# (uplink S payloads, downlink one per silo, instead of every payload to every leader); a denser
# top-k.
for codec in int8 int4; do
  run $codec-F4-H20 $recipe federation.local_steps=20 compress.codec=$codec federation.fragments=4 federation.overlap_steps=2
done
NP=5 run int4-server-H50 $recipe federation.local_steps=50 compress.codec=int4 federation.topology=server
run topk10-H50 $recipe federation.local_steps=50 compress.codec=topk compress.topk_fraction=0.1 compress.topk_values=int8
# ddp's curve (an evaluation of the whole validation set every round, as the other runs' final
# one), for the time to reach a perplexity.
run ddp-curve federation.mode=ddp optim.lr=1e-3 federation.local_steps=20 eval.every=1 eval.tokens=0
# 100 Mbps links (10 ms): the same bytes and weights, another modeled time.
slow="link.bandwidth_mbps=100"
run ddp-curve-100M federation.mode=ddp optim.lr=1e-3 federation.local_steps=20 eval.every=1 eval.tokens=0 $slow
run fp32-H20-100M $recipe federation.local_steps=20 $slow
run int8-H50-100M $recipe federation.local_steps=50 compress.codec=int8 $slow
run int4-H50-100M $recipe federation.local_steps=50 compress.codec=int4 $slow
# A mixed set: silo 0 at 10 Mbps, the others at 1 Gbps. codec = auto may spend half a round's
# compute (fixed at 2.4 s, about this machine's 20 steps, so that the choice is deterministic)
# on each upload.
mixed="link.bandwidth_mbps=10,1000,1000,1000 federation.local_steps=20"
run mixed-auto $recipe $mixed compress.codec=auto compress.comm_budget=0.5 compress.compute_s=2.4
for codec in fp32 bf16 int8 int4 "topk compress.topk_values=int8"; do
  run mixed-$(echo "$codec" | cut -d' ' -f1) $recipe $mixed compress.codec=$codec
done
# The same on the server topology, where each silo's payload crosses only its own uplink and the
# server's link (in the allreduce topology the slow silo's downlink carries every other payload,
# which auto's per-silo budget does not see).
for codec in auto fp32 int8 int4; do
  extra=""; [ $codec = auto ] && extra="compress.comm_budget=0.5 compress.compute_s=2.4"
  NP=5 run mixed-server-$codec $recipe $mixed federation.topology=server compress.codec=$codec $extra
done
/usr/bin/python3 benchmarks/frontier.py "$out" > "$out/frontier.md"
cat "$out/frontier.md"
