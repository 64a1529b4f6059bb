#!/bin/bash
# claims.sh: doc/results.md's "Closing the gap" series: the data files (Brown by genre into 1, 2,
# 4 and 8 silos, IID and Dirichlet(0.1) into 4), then the four sweeps (benchmarks/sweeps/
# claims.toml, scaling.toml, claims-4x.toml, claims-4x-centralized.toml: 3 seeds each), their
# tables (runs/claims*/, runs/scaling/: summary.md, sweep.png), the partitions' skew
# (runs/partition-skew.md) and doc/results.md's claims tables (runs/claims-table.md,
# benchmarks/claims_table.py). Each sweep skips what is done and resumes what was interrupted:
# rerun the script to continue. About an hour on 2 cores (2026-12-03: 55 minutes).
# usage: bash benchmarks/claims.sh [SWEEP.toml ...]   (default: all four)
set -euo pipefail
cd "$(dirname "$0")/.."
. build-aux/blas-env.sh
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
brown=$(bash build-aux/fetch-brown.sh | tail -n 1)
prep() { # NAME SILOS PARTITION
  [ -f "cache/brown-$1.h5" ] || build/photon prep --format brown --vocab-size 4096 --silos "$2" --partition "$3" \
    -o "cache/brown-$1.h5" "$brown" | tail -n 1
}
prep 4silos 4 by-source; prep iid 4 iid; prep dir01 4 dirichlet:0.1
prep genre1 1 by-source; prep genre2 2 by-source; prep genre8 8 by-source
mkdir -p runs
/usr/bin/python3 benchmarks/partition_skew.py cache/brown-4silos.h5 cache/brown-iid.h5 cache/brown-dir01.h5 \
  cache/brown-genre2.h5 cache/brown-genre8.h5 | tee runs/partition-skew.md
sweeps=("$@")
[ ${#sweeps[@]} -gt 0 ] || sweeps=(benchmarks/sweeps/claims.toml benchmarks/sweeps/scaling.toml benchmarks/sweeps/claims-4x.toml
                                      benchmarks/sweeps/claims-4x-centralized.toml)
for s in "${sweeps[@]}"; do
  benchmarks/sweep run "$s" || echo "claims.sh: some runs of $s failed (see above); the table shows the rest"
  benchmarks/sweep table "$s"
done
/usr/bin/python3 benchmarks/claims_table.py runs | tee runs/claims-table.md
