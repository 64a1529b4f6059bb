#!/bin/sh
# test_fed_faults.sh: fault injection, the outlier rule and min_clients on both topologies, which
# must also end with the same weights (see test_fed_faults.c).
: "${PHOTON_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${PHOTON_BUILDDIR:=.}"
launch="$PHOTON_SRCDIR/validation/mpi/mpi-launch.sh"
prog="$PHOTON_BUILDDIR/validation/mpi/test_fed_faults"
tmp=$(mktemp -d) || exit 1
trap 'rm -rf "$tmp"' EXIT
status=0
sh "$launch" 4 "$prog" 4 0 "$tmp/allreduce" || status=1
sh "$launch" 5 "$prog" 4 1 "$tmp/server" || status=1
sh "$launch" 6 "$prog" 5 1 "$tmp/server5" || status=1
if cmp "$tmp/allreduce" "$tmp/server"; then echo "bitwise equal: allreduce server"; else echo "FAIL: topologies differ"; status=1; fi
exit $status
