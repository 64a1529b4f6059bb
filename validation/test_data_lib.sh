# test_data_lib.sh: shared setup for the data tests (sourced). Gives $BUILD, $PHOTON (prep and
# info), $CHECK (data file vs corpus), $LOADER, $LAUNCH, a scratch directory $TMPD (removed on
# exit) holding the generated corpus in $TMPD/corpus, and expect_fail.
set -u
BUILD=${PHOTON_BUILDDIR:?run through make check}
SRC=${PHOTON_SRCDIR:?run through make check}
PHOTON=$BUILD/validation/test_data_photon
CHECK=$BUILD/validation/test_data_check
LOADER=$BUILD/validation/test_data_loader
LAUNCH="$SRC/validation/mpi-launch.sh"
TMPD=$(mktemp -d "${TMPDIR:-/tmp}/photon-data-test.XXXXXX")
trap 'rm -rf "$TMPD"' EXIT INT TERM
cd "$TMPD" || exit 99
fail() { echo "FAIL: $*" >&2; exit 1; }
gen_corpus() { "$BUILD/validation/test_data_gencorpus" "$TMPD/corpus" "${1:-12}" "${2:-7}" || exit 99; }

# expect_fail NAME STATUS COMMAND... : the command must exit with STATUS and its stderr must
# contain every string in $MUST (newline-separated). Counts passes in $passed.
passed=0
expect_fail() {
  name=$1; want=$2; shift 2
  "$@" >out.txt 2>err.txt
  got=$?
  [ "$got" -eq "$want" ] || { cat err.txt >&2; fail "$name: exit status $got, expected $want"; }
  printf '%s\n' "$MUST" | while IFS= read -r s; do
    [ -z "$s" ] && continue
    grep -qF -- "$s" err.txt || { cat err.txt >&2; fail "$name: message lacks '$s'"; }
  done || exit 1
  passed=$((passed + 1))
}
