#!/bin/sh
# test_fed_topology.sh: topology splits for every (P <= 7 ranks, S, with/without server), good and
# bad, in one 7-rank job (see test_fed_topology.c).
: "${PHOTON_SRCDIR:=$(cd "$(dirname "$0")/../.." && pwd)}"
: "${PHOTON_BUILDDIR:=.}"
exec sh "$PHOTON_SRCDIR/validation/mpi/mpi-launch.sh" 7 "$PHOTON_BUILDDIR/validation/mpi/test_fed_topology"
