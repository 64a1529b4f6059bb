# test_ckpt_lib.sh: shared set-up of the checkpoint tests (sourced). Makes $work with a 2-silo
# data file and a small federated deck, and defines:
#   launch NP DIR ARGS...   run photon train on the deck into run dir $work/DIR; fails the test on error
#   try NP DIR ARGS...      the same, but returns photon's exit status (log in $work/log)
#   same_params A B [TOL]   final.h5 params of runs A and B: bitwise (TOL 0 / absent) or relative
#   same_metrics A B        the deterministic fields of every step/round/eval/end record are equal
#                           (timings and the resume records excluded)
set -eu
B=$PHOTON_BUILDDIR; S=$PHOTON_SRCDIR
PY=${TORCH_PYTHON:-/usr/bin/python3}
$PY -c 'import h5py, numpy' 2>/dev/null || { echo "no h5py/numpy in $PY: skip"; exit 77; }
work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
"$B/validation/test_data_gencorpus" "$work/corpus" 10 3 >/dev/null
"$B/photon" prep -q --silos 2 --partition iid --vocab-size 300 -o "$work/two.h5" $(ls -d "$work"/corpus/*/)
cat > "$work/base.deck" <<DECK
[model]
layers = 1
heads = 2
channels = 16
seq_len = 8
[optim]
batch_size = 2
lr = 3e-3
warmup_steps = 2
[data]
file = $work/two.h5
[run]
steps = 12
log_every = 100
[federation]
silos = 2
local_steps = 2
outer = nesterov
outer_lr = 0.7
[eval]
every = 2
tokens = 256
DECK
try() { np=$1; dir=$2; shift 2; "$S/validation/mpi-launch.sh" "$np" "$B/photon" train "$work/base.deck" run.dir="$work/$dir" "$@" >"$work/log" 2>&1; }
launch() { try "$@" || { cat "$work/log"; echo "FAILED: photon train $*"; exit 1; }; }
same_params() {
  $PY - "$work/$1/final.h5" "$work/$2/final.h5" "${3:-0}" <<'PYEOF'
import sys, h5py, numpy as np
a = h5py.File(sys.argv[1], "r")["params"][...]
b = h5py.File(sys.argv[2], "r")["params"][...]
tol = float(sys.argv[3])
if tol == 0:
    ok = a.tobytes() == b.tobytes()
    print("  params bitwise equal" if ok else "  params differ: max |a-b| = %g" % np.abs(a - b).max())
else:
    err = np.abs(a - b).max() / np.abs(b).max()
    ok = err <= tol
    print("  params: max relative difference %.3g (tolerance %g)" % (err, tol))
sys.exit(0 if ok else 1)
PYEOF
}
same_metrics() {
  $PY - "$work/$1/metrics.jsonl" "$work/$2/metrics.jsonl" <<'PYEOF'
import sys, json
TIMING = {"elapsed_s", "comm_s", "compute_s", "round_s", "modeled_wall_s"}
def load(p):
    out = []
    for line in open(p):
        r = json.loads(line)
        if r["type"] in ("step", "round", "eval", "end"):
            out.append({k: v for k, v in r.items() if k not in TIMING})
    return out
a, b = load(sys.argv[1]), load(sys.argv[2])
if a != b:
    print("  metrics differ: %d vs %d records" % (len(a), len(b)))
    for x, y in zip(a, b):
        if x != y: print("   ", x, "\n   ", y); break
    sys.exit(1)
print("  metrics: %d records, deterministic fields equal" % len(a))
PYEOF
}
