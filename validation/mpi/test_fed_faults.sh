#!/bin/sh
# test_fed_faults.sh: fault injection, the outlier rule and min_clients on both topologies, which
# must also end with the same weights (see test_fed_faults.c).
: "${PHOTON_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}" "${PHOTON_BUILDDIR:=.}"
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
work_dir fed
prog=$B/validation/mpi/test_fed_faults
sh "$LAUNCH" 4 "$prog" 4 0 "$work/allreduce" || status=1
sh "$LAUNCH" 5 "$prog" 4 1 "$work/server" || status=1
sh "$LAUNCH" 6 "$prog" 5 1 "$work/server5" || status=1
same_files allreduce server
exit $status
