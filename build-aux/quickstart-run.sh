#!/bin/bash
# quickstart-run.sh: on a fresh Debian 12 machine, set up and build photon, fetch the Brown
# corpus, cut it into 4 silos by genre, and train the default deck's federated recipe on 4 silos
# (one MPI rank each) over 100 Mbps links, then ddp over the same links and the centralized
# baseline on the same token budget. Prints the three runs' final table (perplexity, bytes,
# modeled wall time) and where the metrics and the plot are. A few minutes on 2 cores.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh build-aux/install-deps.sh
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null 2>&1
mkdir -p build
(cd build && { [ -f Makefile ] || ../configure -q; } && make -s -j"$(nproc)" >/dev/null)

brown=$(bash build-aux/fetch-brown.sh | tail -n 1)
data=cache/brown-4silos.h5
if [ ! -f "$data" ]; then
  echo "== photon prep: Brown corpus -> byte-level BPE (4096) -> 4 silos by genre"
  build/photon prep --format brown --vocab-size 4096 --silos 4 --partition by-source -o "$data" "$brown"
fi
build/photon info "$data" | sed -n '/^silos/,/^ *all/p'

. build-aux/blas-env.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
mpi="mpirun --oversubscribe -np 4"
deck=inputs/brown-federated.deck
runs="runs/quickstart-federated runs/quickstart-ddp runs/quickstart-centralized"
echo "== federated: 4 silos x 1 rank over 100 Mbps links, the recipe of doc/results.md ($deck)"
$mpi build/photon train "$deck" data.file="$data" run.dir=runs/quickstart-federated
# The baselines at their own best inner learning rate (3e-3, inputs/brown-photon.deck), on the same links.
base=inputs/brown-photon.deck
# Rounds of 10 steps, which in these modes only group the steps: the baselines evaluate at the
# federated run's steps, so that the table can say when each reached the federated perplexity.
rounds=federation.local_steps=10
echo "== ddp: the same 4 silos over the same links, gradients all-reduced across silos every step ($base)"
$mpi build/photon train "$base" data.file="$data" run.dir=runs/quickstart-ddp federation.mode=ddp link.bandwidth_mbps=100 $rounds
echo "== centralized: one data-parallel group over all the data (the ideal), same tokens ($base)"
$mpi build/photon train "$base" data.file="$data" run.dir=runs/quickstart-centralized federation.mode=centralized $rounds

/usr/bin/python3 benchmarks/plot_runs.py -o runs/quickstart.png $runs >/dev/null 2>&1 || true
echo
echo "final validation perplexity (whole validation set, ± its per-document standard error), inter-silo"
echo "traffic, modeled wall time on 100 Mbps links, and when each run's periodic evaluations (a"
echo "validation subset) first reached the federated run's last one:"
/usr/bin/python3 benchmarks/compare_runs.py $runs
echo "metrics: runs/quickstart-*/metrics.jsonl"
[ -f runs/quickstart.png ] && echo "plot:    runs/quickstart.png (perplexity against tokens and against modeled wall time)"
exit 0
