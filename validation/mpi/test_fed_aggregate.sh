#!/bin/sh
# test_fed_aggregate.sh: the weighted mean against its reference, and the allreduce and server
# topologies giving bitwise the same θ over several rounds for every outer optimizer, with partial
# participation and with silos of one and of two ranks (see test_fed_aggregate.c).
: "${PHOTON_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}" "${PHOTON_BUILDDIR:=.}"
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
work_dir fed
prog=$B/validation/mpi/test_fed_aggregate
run() { launch "$1" "$prog" "$2" "$3" "$4" "$work/$5"; } # NP S SERVER K NAME
run 4 4 0 3 allreduce-4x1     # 4 silos x 1 rank, 3 sampled per round
run 5 4 1 3 server-4x1        # the same + the server rank
run 8 4 0 3 allreduce-4x2     # 4 silos x 2 ranks
same_files allreduce-4x1 server-4x1
same_files allreduce-4x1 allreduce-4x2
run 3 3 0 0 allreduce-3x1     # everybody participates
run 7 3 1 0 server-3x2        # server, 3 silos x 2 ranks
same_files allreduce-3x1 server-3x2
run 1 1 0 0 allreduce-1x1     # one silo: the mean is its model
run 2 1 1 0 server-1x1
same_files allreduce-1x1 server-1x1
exit $status
