#!/bin/bash
# bundle.sh [BUILD_CUDA_DIR] [OUT_DIR]: everything photon's GPU check needs on a machine that has
# CUDA (driver, cudart, cuBLAS, NCCL), Python and glibc but no MPI, HDF5, OpenBLAS, GSL, GLib...
# (the lent H200: doc/performance.md, "GPU device check"). Builds the CUDA tree if needed
# (default build-cuda/ at the top: ../configure -q --with-cuda), then writes OUT_DIR (default
# gpu-bundle/ at the top, ignored by git):
#   env.sh          source it (bash): unpacks runtime.tar.xz once, then sets PATH, LD_LIBRARY_PATH
#                   and Open MPI's/PMIx's install directories to the unpacked copy
#   runtime.tar.xz  bin/ (photon, test_gpu, bench_gpu, dump_logits, gen_corpus, mpirun = orterun,
#                   orted), lib/ (the ldd closure of all of them and of the plugins, minus glibc
#                   and the CUDA/driver libraries), lib/compat/ (libstdc++, libgcc_s: used only
#                   where the host has none, since CUDA's libraries may need the host's newer
#                   one), ompi/ (MCA plugins, help files, mca-params), pmix/ (PMIx plugins, help)
#   data/tiny.h5    a 2-silo data file (photon prep of validation's generated corpus)
#   decks/          tiny-cpu.deck, tiny-cuda.deck (2 silos x 1 rank; data.file given on the
#                   command line, as device-check.sh does)
#   MANIFEST        every bundled file and where it came from
# Compressed because OpenBLAS alone is 36 MB unpacked (all its CPU kernels) and the carried tree
# has 64 MiB; packed, the bundle is a fraction of that. Prints the bundle's size.
set -euo pipefail
top=$(cd "$(dirname "$0")/../.." && pwd)
build=$(mkdir -p "${1:-$top/build-cuda}" && cd "${1:-$top/build-cuda}" && pwd)
out=${2:-$top/gpu-bundle}
say() { echo "bundle: $*"; }
die() { echo "bundle: $*" >&2; exit 1; }

# ---- build
if [ ! -f "$build/Makefile" ]; then
  [ -x "$top/configure" ] || (cd "$top" && autoreconf -fi >/dev/null 2>&1) || die "autoreconf failed"
  say "configuring $build (--with-cuda)"
  (cd "$build" && "$top/configure" -q --with-cuda) || die "configure --with-cuda failed"
fi
grep -q '^NVCC = /' "$build/Makefile" || die "$build is not configured --with-cuda"
# Program paths as the Makefile names them (validation's files may move between folders).
target() { # REGEX: the one program whose name ends in it
  local t
  t=$(grep -oE "[A-Za-z0-9_/.-]*($1)\\\$\\(EXEEXT\\)" "$build/Makefile" | sed -e 's/\$(EXEEXT)//' -e 's|^\./||' | sort -u | head -1)
  [ -n "$t" ] || die "no program matching '$1' in $build/Makefile"
  echo "$t"
}
t_gpu=$(target '/test_gpu'); t_bench=$(target '/bench_gpu')
t_logits=$(target '/dump_logits|/test_tools_logits'); t_gen=$(target '/gen_corpus|/test_data_gencorpus')
say "building photon $t_gpu $t_bench $t_logits $t_gen in $build"
make -C "$build" -s -j"${JOBS:-2}" src/libphoton.a photon "$t_gpu" "$t_bench" "$t_logits" "$t_gen" >/dev/null ||
  die "make failed"

# ---- stage the runtime
stage=$(mktemp -d "${TMPDIR:-/tmp}/photon-bundle.XXXXXX")
trap 'rm -rf "$stage"' EXIT
rt=$stage/rt
mkdir -p "$rt/bin" "$rt/lib/compat" "$rt/ompi/lib/openmpi3" "$rt/ompi/share" "$rt/ompi/etc" \
  "$rt/pmix/lib/pmix" "$rt/pmix/share"
manifest=$stage/MANIFEST
note() { echo "$1 <- $2" >>"$manifest"; }
put() { # SRC DEST: copy (following links), strip what has symbols to lose
  cp -L "$1" "$2"; chmod u+w "$2"; strip --strip-unneeded "$2" 2>/dev/null || true
  note "${2#"$rt"/}" "$1"
}
for p in "photon:photon" "$t_gpu:test_gpu" "$t_bench:bench_gpu" "$t_logits:dump_logits" "$t_gen:gen_corpus"; do
  put "$build/${p%%:*}" "$rt/bin/${p#*:}"
done
# Open MPI 4.1 (Debian 12): the launcher, its daemon (singletons and remote nodes start one),
# and the plugins for one node (shared memory, TCP). Plugins for fabrics (UCX, libfabric,
# verbs, PSM) and for OpenSHMEM are left out: they pull in large libraries the check never uses.
ompi_lib=/usr/lib/x86_64-linux-gnu/openmpi/lib
pmix_lib=/usr/lib/x86_64-linux-gnu/pmix2
[ -d "$ompi_lib/openmpi3" ] || die "no Open MPI plugins in $ompi_lib/openmpi3 (Debian 12's openmpi-bin)"
put /usr/bin/orterun "$rt/bin/orterun"; ln -s orterun "$rt/bin/mpirun"; ln -s orterun "$rt/bin/mpiexec"
put /usr/bin/orted "$rt/bin/orted"
skip_re='liboshmem|libucp|libucs|libuct|libucm|libfabric|libibverbs|libpsm|libinfinipath|librdmacm|libefa'
for f in "$ompi_lib"/openmpi3/*.so; do
  [[ $(ldd "$f") =~ $skip_re ]] && continue
  put "$f" "$rt/ompi/lib/openmpi3/${f##*/}"
done
for f in "$pmix_lib"/lib/pmix/*.so; do put "$f" "$rt/pmix/lib/pmix/${f##*/}"; done
cp -r /usr/share/openmpi "$rt/ompi/share/"; cp -r /etc/openmpi/. "$rt/ompi/etc/"
[ -d "$pmix_lib/share/pmix" ] && cp -r "$pmix_lib/share/pmix" "$rt/pmix/share/"
note "ompi/share/openmpi ompi/etc pmix/share" "/usr/share/openmpi /etc/openmpi $pmix_lib/share"

# The shared-library closure. ldd lists indirect dependencies too, so one pass over the
# programs and plugins is the closure. Left to the host: glibc (its parts must match the host's
# ld.so) and CUDA (driver, runtime, cuBLAS, NCCL: the device's own, matching its driver).
host_re='^(linux-vdso|ld-linux|libc|libm|libmvec|libpthread|libdl|librt|libresolv|libutil|libanl)\.so'
cuda_re='^(libcuda|libcudart|libcublas|libcublasLt|libnccl|libnvidia-[a-z-]*|libnvrtc|libnvJitLink)\.so'
missing=
while read -r name path; do
  [[ $name =~ $host_re || $name =~ $cuda_re ]] && continue
  [ "$path" = "not" ] && { missing="$missing $name"; continue; }
  case $name in
    libstdc++.so.*|libgcc_s.so.*) dest=$rt/lib/compat/$name ;;
    *) dest=$rt/lib/$name ;;
  esac
  [ -e "$dest" ] || put "$path" "$dest"
done < <(find "$rt/bin" "$rt/ompi/lib" "$rt/pmix/lib" -type f -exec ldd {} \; 2>/dev/null |
           awk '$2 == "=>" {print $1, $3}' | sort -u)
[ -z "$missing" ] || die "libraries not found on this machine:$missing"

# ---- data and decks (the generated corpus of validation's data tests, 2 silos)
mkdir -p "$stage/data" "$stage/decks"
"$build/$t_gen" "$stage/corpus" 12 3 >/dev/null || die "gen_corpus failed"
OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 "$build/photon" prep -q --silos 2 \
  --partition iid --vocab-size 512 -o "$stage/data/tiny.h5" $(ls -d "$stage"/corpus/*/) >/dev/null ||
  die "photon prep failed"
for dev in cpu cuda; do
  cat >"$stage/decks/tiny-$dev.deck" <<DECK
# tiny-$dev.deck: 2 silos x 1 rank, a few rounds, for validation/gpu/device-check.sh.
# Shapes as validation/gpu test_gpu's (C = 64, 4 heads, T = 32). Give data.file=PATH.
[model]
layers = 2
heads = 4
channels = 64
seq_len = 32
[optim]
batch_size = 4
lr = 3e-3
warmup_steps = 2
[data]
file = data/tiny.h5
[run]
steps = 12
log_every = 100
device = $dev
[federation]
silos = 2
local_steps = 3
[eval]
every = 1
tokens = 1024
DECK
done

# ---- env.sh
cat >"$stage/env.sh" <<'ENV'
# env.sh (bash): source it to run the bundle's programs. Unpacks runtime.tar.xz once into
# $PHOTON_BUNDLE_RT (default: a folder in /tmp named after the bundle's checksum; the bundle
# itself stays as carried) and points PATH, LD_LIBRARY_PATH and Open MPI's and PMIx's
# installation directories at it. Sets PHOTON_BUNDLE (this folder) and PHOTON_RT.
PHOTON_BUNDLE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
_sum=$(cksum <"$PHOTON_BUNDLE/runtime.tar.xz" | awk '{print $1}')
PHOTON_RT=${PHOTON_BUNDLE_RT:-${TMPDIR:-/tmp}/photon-rt-$_sum}
if [ ! -f "$PHOTON_RT/.unpacked" ]; then
  mkdir -p "$PHOTON_RT" &&
  if command -v xz >/dev/null 2>&1; then tar -xJf "$PHOTON_BUNDLE/runtime.tar.xz" -C "$PHOTON_RT"
  else python3 -c 'import sys, tarfile; tarfile.open(sys.argv[1]).extractall(sys.argv[2])' \
         "$PHOTON_BUNDLE/runtime.tar.xz" "$PHOTON_RT"; fi && touch "$PHOTON_RT/.unpacked" ||
  echo "env.sh: cannot unpack the runtime into $PHOTON_RT" >&2
fi
_ld=$PHOTON_RT/lib
# GCC's C++ runtime: the host's where it has one (CUDA's libraries may want a newer one).
case $(ldconfig -p 2>/dev/null) in *"libstdc++.so.6 "*) ;; *) _ld=$_ld:$PHOTON_RT/lib/compat ;; esac
# CUDA, where the loader would not find it: the toolkit, the driver's folder, PyTorch's wheels.
for _d in /usr/local/cuda/targets/x86_64-linux/lib /usr/local/cuda/lib64 /usr/local/nvidia/lib64 \
    $(python3 -c 'import site; print(" ".join(site.getsitepackages()))' 2>/dev/null | tr ' ' '\n' |
      while read -r s; do ls -d "$s"/nvidia/*/lib "$s"/nvidia/cu*/lib 2>/dev/null; done); do
  [ -d "$_d" ] && case ":$_ld:" in *":$_d:"*) ;; *) _ld=$_ld:$_d ;; esac
done
export PHOTON_BUNDLE PHOTON_RT
export PATH=$PHOTON_RT/bin:$PATH LD_LIBRARY_PATH=$_ld${LD_LIBRARY_PATH:+:$LD_LIBRARY_PATH}
# Open MPI 4.1 relocated: every installation directory it looks up, and its plugin path.
export OPAL_PREFIX=$PHOTON_RT/ompi OPAL_EXEC_PREFIX=$PHOTON_RT/ompi OPAL_BINDIR=$PHOTON_RT/bin \
  OPAL_LIBDIR=$PHOTON_RT/lib OPAL_PKGLIBDIR=$PHOTON_RT/ompi/lib/openmpi3 \
  OPAL_DATAROOTDIR=$PHOTON_RT/ompi/share OPAL_DATADIR=$PHOTON_RT/ompi/share \
  OPAL_PKGDATADIR=$PHOTON_RT/ompi/share/openmpi OPAL_SYSCONFDIR=$PHOTON_RT/ompi/etc \
  OPAL_LIBEXECDIR=$PHOTON_RT/bin
export OMPI_MCA_mca_base_component_path=$PHOTON_RT/ompi/lib/openmpi3
export PMIX_INSTALL_PREFIX=$PHOTON_RT/pmix PMIX_MCA_mca_base_component_path=$PHOTON_RT/pmix/lib/pmix
# One node, no fabric plugins bundled: ob1 over shared memory and TCP. No single-copy (CMA)
# transfers: sandboxed kernels (gVisor) may refuse process_vm_readv.
export OMPI_MCA_pml=ob1 OMPI_MCA_btl=self,vader,tcp OMPI_MCA_btl_vader_single_copy_mechanism=none
# The lent machines run commands as root.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
unset _sum _ld _d
ENV

# ---- pack
rm -rf "$out"; mkdir -p "$out"
tar -C "$rt" -cf - --owner=0 --group=0 --sort=name . | xz -T"${JOBS:-2}" "${BUNDLE_XZ_LEVEL:--6}" >"$out/runtime.tar.xz"
cp -r "$stage/data" "$stage/decks" "$stage/env.sh" "$manifest" "$out/"
packed=$(du -sb "$out" | awk '{print $1}'); unpacked=$(du -sb "$rt" | awk '{print $1}')
mib() { awk -v b="$1" 'BEGIN{printf "%.1f MiB", b / 1048576}'; }
say "$out: $(mib "$packed") ($(mib "$unpacked") unpacked runtime, $(find "$rt" -type f | wc -l) files)"
[ "$packed" -lt $((40 * 1048576)) ] || die "bundle over 40 MiB: the carried tree has 64 MiB in all"
