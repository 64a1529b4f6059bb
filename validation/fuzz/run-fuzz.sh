#!/bin/sh
# validation/fuzz/run-fuzz.sh SRCDIR BUILDDIR TARGET...: runs each harness BUILDDIR/fuzz_TARGET for
# FUZZ_SECONDS (default 30) from its seeds SRCDIR/seeds/TARGET (read only: new inputs go to a
# scratch corpus), with the deck's dictionary for deck. Prints one line per target with its
# executions; a crash, sanitizer report, leak or timeout (-timeout=10) fails it, and its
# reproducer is kept in BUILDDIR/fuzz-artifacts/. Exits 1 if any target failed.
set -u
src=$1; bld=$2; shift 2
secs=${FUZZ_SECONDS:-30}
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
export ASAN_OPTIONS=${ASAN_OPTIONS:-abort_on_error=1:detect_leaks=1:leak_check_at_exit=0:fast_unwind_on_malloc=0}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}
art=$bld/fuzz-artifacts
mkdir -p "$art"
work=$(mktemp -d "${TMPDIR:-/tmp}/photon-fuzz.XXXXXX") || exit 99
trap 'rm -rf "$work"' EXIT
failed=0
for t in "$@"; do
  mkdir -p "$work/$t"
  dict=; test -f "$src/$t.dict" && dict=-dict=$src/$t.dict
  "$bld/fuzz_$t" -max_total_time="$secs" -timeout=10 -rss_limit_mb=2048 -print_final_stats=1 \
    -artifact_prefix="$art/$t-" $dict "$work/$t" "$src/seeds/$t" >"$work/$t.log" 2>&1
  rc=$?
  execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$work/$t.log" | tail -1)
  if [ $rc -eq 0 ]; then
    echo "fuzz_$t: PASS (${secs} s, ${execs:-?} executions)"
  else
    failed=$((failed + 1))
    tail -40 "$work/$t.log"
    echo "fuzz_$t: FAIL (exit $rc after ${execs:-?} executions; reproducer in $art/$t-*)"
  fi
done
exit $((failed > 0))
