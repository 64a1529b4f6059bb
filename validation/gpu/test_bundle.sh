#!/bin/bash
# test_bundle.sh [BUNDLE]: the GPU bundle (validation/gpu/bundle.sh) runs from itself alone.
# In a private mount namespace, every Debian copy of a library the bundle carries is hidden: an
# empty file is bind-mounted over each (libgsl, libglib, libcrypto, ... as ldconfig names them)
# and an empty tmpfs over the folders of Open MPI, PMIx, OpenBLAS, HDF5 and hwloc. Then:
#   - each hidden file reads as empty, and Debian's own mpirun no longer starts;
#   - ldd of every program, library and plugin in the bundle resolves each dependency inside the
#     bundle, except glibc, the host's libstdc++/libgcc_s and CUDA's libraries (left to the GPU
#     machine on purpose: bundle.sh says why);
#   - photon --help, photon info of the tiny data file, `mpirun -np 2 photon train` of the tiny
#     CPU deck (2 silos federated, the bundle's mpirun) to its final weights, and test_gpu exits
#     77 (no GPU here; 0 where there is one).
# Without BUNDLE (make check: BUILD_CUDA builds only) it builds one into a scratch folder from
# $PHOTON_BUILDDIR (or build-cuda/). Exit 77 where namespaces or mounts are not permitted or no
# CUDA build can be made.
set -uo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
work=$(mktemp -d "${TMPDIR:-/tmp}/photon-test-bundle.XXXXXX")
trap 'rm -rf "$work"' EXIT
fail() { echo "FAIL: $*"; exit 1; }
[ "$(uname -m)" = x86_64 ] || { echo "SKIP: the bundle is for x86-64"; exit 77; }
unshare -m --propagation private true 2>/dev/null || { echo "SKIP: no mount namespace (unshare -m) here"; exit 77; }

bundle=${1:-}
if [ -z "$bundle" ]; then
  [ -x /usr/local/cuda/bin/nvcc ] || { echo "SKIP: no bundle given and no CUDA toolkit to build one"; exit 77; }
  bundle=$work/bundle
  # A test run by make: the build is done; keep make's job server out of this one.
  env -u MAKEFLAGS -u MFLAGS -u MAKELEVEL BUNDLE_XZ_LEVEL=-0 bash "$top/validation/gpu/bundle.sh" \
    "${PHOTON_BUILDDIR:-$top/build-cuda}" "$bundle" >"$work/bundle.log" 2>&1 ||
    { cat "$work/bundle.log"; fail "bundle.sh"; }
  tail -1 "$work/bundle.log"
fi
[ -f "$bundle/env.sh" ] || fail "$bundle: no env.sh (run validation/gpu/bundle.sh)"
# Unpacked out here: tar and xz need libraries that are hidden inside.
export PHOTON_BUNDLE_RT=$work/rt
# shellcheck disable=SC1091
source "$bundle/env.sh"
[ -f "$PHOTON_RT/.unpacked" ] || fail "env.sh did not unpack the runtime"

# What to hide: the host's file behind every library name the bundle carries, and the folders.
for f in "$PHOTON_RT"/lib/*.so*; do
  n=${f##*/}
  ldconfig -p | awk -v n="$n" '$1 == n && /x86-64/ {print $NF}'
done | xargs -r readlink -f | sort -u >"$work/hide-files"
[ -s "$work/hide-files" ] || fail "found none of the bundled libraries on this host: nothing to hide"
: >"$work/empty"
for d in /usr/lib/x86_64-linux-gnu/openmpi /usr/lib/x86_64-linux-gnu/pmix2 \
    /usr/lib/x86_64-linux-gnu/openblas-openmp /usr/lib/x86_64-linux-gnu/openblas-pthread \
    /usr/lib/x86_64-linux-gnu/openblas-serial /usr/lib/x86_64-linux-gnu/hdf5 \
    /usr/lib/x86_64-linux-gnu/hwloc /usr/share/openmpi /etc/openmpi; do
  [ -d "$d" ] && echo "$d"
done >"$work/hide-dirs"
# Listed out here: find needs libpcre2.
find "$PHOTON_RT" -type f \( -name '*.so*' -o -perm -u+x \) | while read -r f; do
  [ "$(head -c 4 "$f" | od -An -c | tr -d ' ')" = 177ELF ] && echo "$f"
done >"$work/elves"
ldd /bin/mount | awk '$2 == "=>" {print $3}' | xargs -r readlink -f >"$work/mount-deps"
echo "hiding $(wc -l <"$work/hide-files") library files and $(wc -l <"$work/hide-dirs") folders"

# Inside: only bash, awk, cat, ldd and the bundle's programs (grep, sed, tar and mount itself
# need libpcre2, which is hidden: mount's own libraries go last).
cat >"$work/inside.sh" <<'INSIDE'
set -u
work=$1
n=0; bad=0
ok() { echo "ok    $*"; n=$((n + 1)); }
no() { echo "FAIL  $*"; bad=$((bad + 1)); }
mount_deps=$(cat "$work/mount-deps")
late=
while read -r f; do
  case " $mount_deps " in *" $f "*) late="$late $f"; continue ;; esac
  mount --bind "$work/empty" "$f" || exit 77
done <"$work/hide-files"
while read -r d; do mount -t tmpfs -o size=1m none "$d" || exit 77; done <"$work/hide-dirs"
for f in $late; do mount --bind "$work/empty" "$f" || exit 77; done
# 1. the Debian copies are unreachable
shown=0
while read -r f; do [ -s "$f" ] && shown=$((shown + 1)); done <"$work/hide-files"
[ $shown -eq 0 ] && ok "$(awk 'END{print NR}' "$work/hide-files") Debian library files read as empty" || no "$shown hidden files still readable"
[ -e /usr/lib/x86_64-linux-gnu/openmpi/lib/openmpi3/mca_btl_vader.so ] && no "Open MPI's plugins still visible" || ok "Open MPI's, PMIx's, OpenBLAS's and HDF5's folders are empty"
env -u LD_LIBRARY_PATH /usr/bin/orterun --version >/dev/null 2>&1 && no "Debian's mpirun still runs" || ok "Debian's mpirun no longer runs"
# 2. ldd: everything resolves inside the bundle (glibc, libstdc++/libgcc_s, CUDA: the host's)
while read -r f; do ldd "$f" 2>&1 | awk -v f="$f" '{print f, $0}'; done <"$work/elves" >"$work/ldd"
awk -v rt="$PHOTON_RT/" '
  $3 != "=>" { next }
  { lib = $2; path = $4 }
  lib ~ /^(libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|ld-linux[-a-z0-9_]*)\.so/ { next }
  lib ~ /^(libstdc\+\+|libgcc_s)\.so/ && path !~ /^not/ { next }
  lib ~ /^(libcuda|libcudart|libcublas|libcublasLt|libnccl|libnvidia-[a-z-]*)\.so/ { next }
  index(path, rt) == 1 { inside++; next }
  { print "  " $1 ": " lib " => " path; outside++ }
  END { printf "%d %d\n", inside, outside > "/dev/stderr" }' "$work/ldd" 2>"$work/counts" >"$work/outside"
read -r inside outside <"$work/counts"
files=$(awk 'END{print NR}' "$work/elves")
if [ "${outside:-1}" -eq 0 ] && [ "${inside:-0}" -gt 100 ]; then
  ok "ldd of $files bundled files: $inside dependencies, every one inside the bundle (glibc, libstdc++, CUDA excepted)"
else
  cat "$work/outside"; no "ldd: ${outside:-?} dependencies resolve outside the bundle"
fi
# 3. the programs
cd "$work" || exit 1
photon --help >help.txt 2>&1 && [ -s help.txt ] && ok "photon --help" || { cat help.txt; no "photon --help"; }
photon info "$PHOTON_BUNDLE/data/tiny.h5" >info.txt 2>&1 && ok "photon info data/tiny.h5: $(awk '/format/{print $2, $3, $4}' info.txt)" ||
  { cat info.txt; no "photon info"; }
OMP_NUM_THREADS=1 mpirun --oversubscribe -np 2 -x OMP_NUM_THREADS --mca mca_base_component_show_load_errors 1 \
  photon train "$PHOTON_BUNDLE/decks/tiny-cpu.deck" data.file="$PHOTON_BUNDLE/data/tiny.h5" run.dir="$work/run" \
  >train.txt 2>&1
rc=$?
if [ $rc -eq 0 ] && [ -s "$work/run/final.h5" ] && awk '/"type":"end"/{e=1} END{exit !e}' "$work/run/metrics.jsonl"; then
  ok "mpirun -np 2 photon train tiny-cpu.deck (2 silos): $(awk '/^done:/ {sub(/^done: /, ""); print}' train.txt)"
else
  cat train.txt; no "mpirun -np 2 photon train (exit $rc)"
fi
awk '/mca_base_component_repository_open|unable to open/ {print; f = 1} END {exit f}' train.txt ||
  no "an MCA plugin failed to load"
test_gpu >gpu.txt 2>&1; rc=$?
case $rc in
  77) ok "test_gpu exits 77 (no GPU visible)" ;;
  0) ok "test_gpu passes (a GPU is visible)" ;;
  *) cat gpu.txt; no "test_gpu exited $rc" ;;
esac
echo "test_bundle: $n passed, $bad failed"
[ $bad -eq 0 ]
INSIDE
unshare -m --propagation private bash "$work/inside.sh" "$work"
rc=$?
[ $rc -eq 77 ] && echo "SKIP: mounts not permitted in the namespace"
exit $rc
