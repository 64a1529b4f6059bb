#!/bin/sh
# test_fed_link.sh: counted bytes and modeled times equal the formulas on both topologies, with
# silos of one and two ranks; LINK_SLEEP reaches the modeled time (see test_fed_link.c).
: "${PHOTON_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${PHOTON_BUILDDIR:=.}"
launch="$PHOTON_SRCDIR/validation/mpi/mpi-launch.sh"
prog="$PHOTON_BUILDDIR/validation/mpi/test_fed_link"
status=0
sh "$launch" 4 "$prog" 4 0 || status=1   # allreduce, 4 silos x 1
sh "$launch" 5 "$prog" 4 1 || status=1   # server, 4 silos x 1
sh "$launch" 6 "$prog" 3 0 || status=1   # allreduce, 3 silos x 2
sh "$launch" 4 "$prog" 3 1 || status=1   # server, 3 silos x 1
sh "$launch" 1 "$prog" 1 0 || status=1   # one silo: nothing crosses a weak link
exit $status
