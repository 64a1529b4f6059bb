#!/bin/sh
# mpi-launch.sh NP PROGRAM [ARGS...]: the one place that knows how tests start MPI jobs.
# Oversubscribes (tests run more ranks than this machine's cores) and allows root (CI runs as
# root in containers). OMP_NUM_THREADS=1 keeps oversubscribed ranks from fighting over cores.
np=$1; shift
. "$(dirname "$0")/../../build-aux/blas-env.sh"
export ASAN_OPTIONS="${ASAN_OPTIONS-}" UBSAN_OPTIONS="${UBSAN_OPTIONS-}"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=${OMP_NUM_THREADS:-1}
export OMPI_MCA_rmaps_base_oversubscribe=1 PRTE_MCA_rmaps_default_mapping_policy=:oversubscribe
exec "${MPIEXEC:-mpirun}" --oversubscribe -np "$np" -x OMP_NUM_THREADS ${OPENBLAS_CORETYPE:+-x OPENBLAS_CORETYPE} -x ASAN_OPTIONS -x UBSAN_OPTIONS "$@"
