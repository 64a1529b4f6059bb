#!/bin/sh
# test_fed_link.sh: counted bytes and modeled times equal the formulas on both topologies, with
# silos of one and two ranks; LINK_SLEEP reaches the modeled time (see test_fed_link.c).
: "${PHOTON_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}" "${PHOTON_BUILDDIR:=.}"
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
prog=$B/validation/mpi/test_fed_link
sh "$LAUNCH" 4 "$prog" 4 0 || status=1   # allreduce, 4 silos x 1
sh "$LAUNCH" 5 "$prog" 4 1 || status=1   # server, 4 silos x 1
sh "$LAUNCH" 6 "$prog" 3 0 || status=1   # allreduce, 3 silos x 2
sh "$LAUNCH" 4 "$prog" 3 1 || status=1   # server, 3 silos x 1
sh "$LAUNCH" 1 "$prog" 1 0 || status=1   # one silo: nothing crosses a weak link
exit $status
