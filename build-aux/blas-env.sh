# blas-env.sh: sourced (sh or bash) by the scripts that run photon. OpenBLAS 0.3.21 (Debian 12)
# does not recognise recent Xeons and falls back to its SSE3 "Prescott" kernels, 4.5x slower
# sgemm than its AVX-512 ones (doc/performance.md). The kernels are chosen when the library
# loads, so the choice has to be in the environment: SkylakeX when the CPU has AVX-512 and the
# user has not chosen. mpirun passes the environment on to the ranks of this node.
if [ -z "${OPENBLAS_CORETYPE:-}" ] && grep -qw avx512f /proc/cpuinfo 2>/dev/null; then
  export OPENBLAS_CORETYPE=SkylakeX
fi
