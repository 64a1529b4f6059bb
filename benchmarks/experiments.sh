#!/bin/bash
# experiments.sh: the experiments of doc/results.md, on the Brown corpus, from one binary and
# one data file per partition, all at the same token budget. Writes runs under OUT (default
# runs/experiments), a summary table (summary.md) and plots (PNG).
#
#   bash benchmarks/experiments.sh [OUT] [STEPS]
#
# Runs (4 silos x 1 rank each, or 4 ranks for the baselines; OMP_NUM_THREADS=1, oversubscribed
# on small machines):
#   fed-genre       Photon's recipe (fedavg 1.0, small batch, high lr), silos by genre
#   fed-iid         the same, IID silos
#   diloco-genre    DiLoCo's outer optimizer (nesterov 0.7/0.9), silos by genre
#   centralized     one data-parallel group over all the data (the reference)
#   ddp-genre       silos by genre, gradients all-reduced across silos every step
#   diloco-lr3e-3, fed-lr1e-3   the two recipes with their inner learning rates swapped
# ONLY=REGEX runs only the runs whose names match (the summary and plots cover all under OUT).
# each federated/ddp run twice: links of 1 Gbps and of 100 Mbps (10 ms latency), emulate = model.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
out=${1:-runs/experiments}
steps=${2:-400}
photon=${PHOTON:-build/photon}
brown=$(bash build-aux/fetch-brown.sh | tail -n 1)
mkdir -p "$out" cache
for part in by-source iid; do
  f=cache/brown-4silos-$part.h5
  [ -f "$f" ] || "$photon" prep -q --format brown --vocab-size 4096 --silos 4 --partition $part -o "$f" "$brown"
done
. build-aux/blas-env.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
deck=inputs/brown-photon.deck
run() { # NAME DATA ARGS...
  local name=$1 data=$2; shift 2
  [[ $name =~ ${ONLY:-.} ]] || return 0
  echo "== $name"
  mpirun --oversubscribe -np 4 "$photon" train "$deck" data.file="$data" run.dir="$out/$name" run.steps="$steps" "$@" \
    eval.every=1 > "$out/$name.log" 2>&1 || { tail "$out/$name.log"; exit 1; }
  grep '^done' "$out/$name.log"
}
genre=cache/brown-4silos-by-source.h5
iid=cache/brown-4silos-iid.h5
for bw in 1000 100; do
  run fed-genre-${bw}M $genre link.bandwidth_mbps=$bw
  run ddp-genre-${bw}M $genre link.bandwidth_mbps=$bw federation.mode=ddp
  run diloco-genre-${bw}M $genre link.bandwidth_mbps=$bw federation.outer=nesterov federation.outer_lr=0.7 \
    federation.outer_momentum=0.9 optim.lr=1e-3
done
run fed-iid-1000M $iid
# Which half of each recipe matters: DiLoCo's outer optimizer with Photon's inner lr, and
# fedavg with DiLoCo's inner lr (the link only changes the modeled time: 1 Gbps).
run diloco-lr3e-3-genre-1000M $genre federation.outer=nesterov federation.outer_lr=0.7 federation.outer_momentum=0.9
run fed-lr1e-3-genre-1000M $genre optim.lr=1e-3
run centralized $genre federation.mode=centralized

/usr/bin/python3 benchmarks/summarize.py "$out" > "$out/summary.md"
/usr/bin/python3 benchmarks/plot_runs.py -o "$out/ppl-1gbps.png" --title "Brown, 4 silos, 1 Gbps links" \
  "$out/fed-genre-1000M" "$out/fed-iid-1000M" "$out/diloco-genre-1000M" "$out/ddp-genre-1000M" "$out/centralized"
/usr/bin/python3 benchmarks/plot_runs.py -o "$out/ppl-100mbps.png" --title "Brown, 4 silos, 100 Mbps links" \
  "$out/fed-genre-100M" "$out/diloco-genre-100M" "$out/ddp-genre-100M" "$out/centralized"
/usr/bin/python3 benchmarks/plot_runs.py -o "$out/recipes.png" --title "Brown, 4 silos by genre: Photon's and DiLoCo's recipes, 1 Gbps" \
  "$out/fed-genre-1000M" "$out/fed-lr1e-3-genre-1000M" "$out/diloco-genre-1000M" "$out/diloco-lr3e-3-genre-1000M" "$out/centralized"
cat "$out/summary.md"
