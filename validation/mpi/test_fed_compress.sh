#!/bin/sh
# test_fed_compress.sh: every lossy codec through the federation (test_fed_compress.c: error
# feedback telescopes, bytes equal the formulas), and the allreduce and server topologies giving
# bitwise the same θ and moments, with silos of one and of two ranks.
: "${PHOTON_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}" "${PHOTON_BUILDDIR:=.}"
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
work_dir fedc
prog=$B/validation/mpi/test_fed_compress
run() { launch "$1" "$prog" "$2" "$3" "$4" "$work/$5"; } # NP S SERVER CODEC NAME
for codec in bf16 int8 int4 topk; do
    run 3 3 0 $codec $codec-allreduce-3x1
    run 4 3 1 $codec $codec-server-3x1
    same_files $codec-allreduce-3x1 $codec-server-3x1
done
run 6 3 0 int8 int8-allreduce-3x2
run 7 3 1 int8 int8-server-3x2
same_files int8-allreduce-3x1 int8-allreduce-3x2
same_files int8-allreduce-3x1 int8-server-3x2
exit $status
