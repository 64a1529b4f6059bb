#!/bin/bash
# quickstart-run.sh: on a fresh Debian 12 machine, set up and build photon, fetch the Brown
# corpus, cut it into 4 silos by genre, and train Photon's recipe on 4 federated silos (one MPI
# rank each), then the centralized baseline on the same token budget. Prints both final
# validation perplexities and where the metrics and plots are. A few minutes on 2 cores.
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
echo "== federated: 4 silos x 1 rank, Photon's recipe ($deck)"
$mpi build/photon train "$deck" data.file="$data" run.dir=runs/quickstart-federated
echo "== centralized baseline: 4 ranks, one data-parallel group over all the data, same tokens"
$mpi build/photon train "$deck" data.file="$data" run.dir=runs/quickstart-centralized federation.mode=centralized

final() { sed -n 's/.*"type":"end".*"val_ppl":\([0-9.]*\).*"inter_silo_bytes":\([0-9]*\).*/\1 \2/p' "$1/metrics.jsonl"; }
read -r fed_ppl fed_bytes < <(final runs/quickstart-federated)
read -r cen_ppl cen_bytes < <(final runs/quickstart-centralized)
/usr/bin/python3 benchmarks/plot_runs.py -o runs/quickstart.png runs/quickstart-federated runs/quickstart-centralized >/dev/null 2>&1 || true
echo
echo "final validation perplexity:  federated (4 silos) $fed_ppl   centralized $cen_ppl"
echo "inter-silo traffic of the federated run: $((fed_bytes / 1000000)) MB"
echo "metrics: runs/quickstart-federated/metrics.jsonl, runs/quickstart-centralized/metrics.jsonl"
[ -f runs/quickstart.png ] && echo "plot:    runs/quickstart.png"
exit 0
