# validation/e2e/lib.sh: what the end-to-end tests share (sourced by validation/e2e/test_*.sh and
# validation/mpi/test_data_loader.sh; make check sets PHOTON_BUILDDIR and PHOTON_SRCDIR). Sets no
# shell options: each script chooses its own (set -eu or set -u). Defines
#   $B $S         the build and source trees;  $PY the Python with h5py (TORCH_PYTHON)
#   $PHOTON       the photon program;  $TOOLS the helper programs (validation/tools);  $LAUNCH
#                 validation/mpi/mpi-launch.sh;  for the data tests $PREPINFO (photon prep and
#                 info alone), $CHECKFILE (a data file against its corpus), $LOADER (the loader test)
#   need_h5py               skip (77) unless $PY imports h5py and numpy
#   work_dir NAME           make $work (removed on exit; also Open MPI's session directory)
#   fail MESSAGE...         print FAIL: MESSAGE, exit 1
#   check LABEL WHAT        print "LABEL: WHAT" and count it in $passed
#   gen_corpus DOCS SEED    the generated corpus of 5 sources (gen_corpus) in $work/corpus
#   prep_tiny OUT.h5 OPTIONS...   photon prep -q OPTIONS -o OUT.h5 on every source of $work/corpus
#   tiny_deck FILE DATA.h5 [SECTION.KEY=VALUE...]   write the tiny deck (1 layer, 2 heads, 16
#                 channels, T 8, B 2, lr 3e-3, 6 steps, H 3, no eval) with those keys added or
#                 replaced; it becomes $DECK
#   ckpt_setup    the checkpoint tests' $work: a 2-silo data file, a deck of 2 silos x 6 rounds of
#                 2 steps (nesterov, an evaluation every 2 rounds); skips without h5py
#   train_cmd NP DIR ARGS...  photon train $DECK into the run directory $work/DIR on NP ranks
#   train_try NP DIR ARGS...  the same, output in $work/log, returns photon's exit status
#   train NP DIR ARGS...      the same, and on failure shows the log and fails the test
#   train_bg NP DIR LOG ARGS...  the same in the background, output in $work/LOG; $bg is its pid
#   same_params A B [TOL]     final.h5 params of runs $work/A and $work/B: bitwise (TOL 0 or
#                             absent) or within relative TOL
#   same_metrics A B          the deterministic fields of every step/round/eval/end record agree
#                             (timings and the resume records excluded; with streaming sync also
#                             the exposed, i.e. measured-compute-dependent, communication time)
#   expect_error NAME STATUS MESSAGES COMMAND...  COMMAND must exit STATUS and its stderr must
#                 contain every line of MESSAGES (fixed strings); counts in $passed
#   launch NP PROGRAM ARGS...  PROGRAM on NP ranks through $LAUNCH; on failure says so and sets
#                             status=1 (the MPI tests' scripts go on and exit $status)
#   same_files A B            $work/A and $work/B hold the same bytes, else status=1
#   wait_until PID TRIES DELAY MESSAGE COMMAND...  poll COMMAND every DELAY s; after TRIES
#                 tries kill PID (a job in the background) and fail with MESSAGE
B=${PHOTON_BUILDDIR:?run through make check}
S=${PHOTON_SRCDIR:?run through make check}
PY=${TORCH_PYTHON:-/usr/bin/python3}
PHOTON=$B/photon
TOOLS=$B/validation/tools
LAUNCH=$S/validation/mpi/mpi-launch.sh
PREPINFO=$TOOLS/prep_info
CHECKFILE=$TOOLS/check_datafile
LOADER=$B/validation/mpi/test_data_loader
passed=0
status=0   # launch and same_files set it to 1 on a failure

need_h5py() { $PY -c 'import h5py, numpy' 2>/dev/null || { echo "SKIP: no h5py/numpy in $PY"; exit 77; }; }
work_dir() {
  work=$(mktemp -d "${TMPDIR:-/tmp}/photon-$1.XXXXXX") || exit 99
  trap 'rm -rf "$work"' EXIT
  # Open MPI's session directory inside $work: jobs of other tests (or other users' jobs) that
  # end and remove the shared /tmp/ompi.HOST.UID while this test's mpirun creates its own
  # cannot fail it ("orte_session_dir failed", seen with concurrent jobs).
  export OMPI_MCA_orte_tmpdir_base="$work" PRTE_MCA_prte_tmpdir_base="$work"
}
fail() { echo "FAIL: $*"; exit 1; }
check() { echo "$1: $2"; passed=$((passed + 1)); }

gen_corpus() { "$TOOLS/gen_corpus" "$work/corpus" "$1" "$2" >/dev/null || fail "gen_corpus $*"; }
prep_tiny() {
  out=$1; shift
  "$PHOTON" prep -q "$@" -o "$out" $(ls -d "$work"/corpus/*/) >/dev/null || fail "prep $* -o $out"
}

tiny_deck() {
  DECK=$1; data=$2; shift 2
  printf '%s\n' model.layers=1 model.heads=2 model.channels=16 model.seq_len=8 \
    optim.batch_size=2 optim.lr=3e-3 data.file="$data" run.steps=6 run.log_every=100 \
    federation.local_steps=3 eval.every=0 eval.tokens=256 "$@" | awk '
    { eq = index($0, "="); dot = index($0, "."); s = substr($0, 1, dot - 1)
      k = substr($0, dot + 1, eq - dot - 1); v = substr($0, eq + 1)
      if (!(s in nk)) { order[++ns] = s; nk[s] = 0 }
      if (!((s, k) in val)) key[s, ++nk[s]] = k
      val[s, k] = v }
    END { for (i = 1; i <= ns; i++) { s = order[i]; print "[" s "]"
            for (j = 1; j <= nk[s]; j++) print key[s, j] " = " val[s, key[s, j]] } }' > "$DECK"
}

ckpt_setup() {
  need_h5py
  work_dir ckpt
  gen_corpus 10 3
  prep_tiny "$work/two.h5" --silos 2 --partition iid --vocab-size 300
  tiny_deck "$work/base.deck" "$work/two.h5" optim.warmup_steps=2 run.steps=12 federation.silos=2 \
    federation.local_steps=2 federation.outer=nesterov federation.outer_lr=0.7 eval.every=2
}

train_cmd() { np=$1; dir=$2; shift 2; "$LAUNCH" "$np" "$PHOTON" train "$DECK" run.dir="$work/$dir" "$@"; }
train_try() { train_cmd "$@" >"$work/log" 2>&1; }
train() { train_try "$@" || { cat "$work/log"; fail "photon train $*"; }; }
# (the launcher itself in the background, not a subshell: $bg is the pid signals and pgrep -P need)
train_bg() {
  np=$1; dir=$2; log=$3; shift 3
  "$LAUNCH" "$np" "$PHOTON" train "$DECK" run.dir="$work/$dir" "$@" >"$work/$log" 2>&1 &
  bg=$!
}

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
            if "fragments" in r:  # streaming sync: the hidden part of an exchange is measured
                r.pop("modeled_comm_s")
                for x in r["fragments"]: x.pop("exposed_s")
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

expect_error() {
  name=$1; want=$2; must=$3; shift 3
  got=0; "$@" >"$work/out" 2>"$work/err" || got=$?
  [ "$got" -eq "$want" ] || { cat "$work/out" "$work/err"; fail "$name: '$*' exited $got, expected $want"; }
  printf '%s\n' "$must" | while IFS= read -r s; do
    [ -z "$s" ] && continue
    grep -qF -- "$s" "$work/err" || { cat "$work/err"; fail "$name: '$*': no message '$s'"; }
  done || exit 1
  echo "ok    $name: $(head -c 150 "$work/err" | head -1)"
  passed=$((passed + 1))
}

launch() {
  sh "$LAUNCH" "$@" || { echo "FAIL: $* (on $1 ranks)"; status=1; }
}
same_files() {
  if cmp "$work/$1" "$work/$2"; then echo "bitwise equal: $1 $2"; else echo "FAIL: $1 and $2 differ"; status=1; fi
}
wait_until() {
  wu_pid=$1; wu_tries=$2; wu_delay=$3; wu_msg=$4; shift 4; wu_n=0
  until "$@"; do
    wu_n=$((wu_n + 1)); [ $wu_n -lt "$wu_tries" ] || { kill "$wu_pid" 2>/dev/null; fail "$wu_msg"; }
    sleep "$wu_delay"
  done
}

# ---- the Slurm tests' scaffolding (validation/e2e/test_slurm.sh, validation/multihost/
# test_slurm_multinode.sh): daemons they start are killed by pid on exit; every wait is bounded.
#   slurm_setup SECONDS LOGS   $pids, an EXIT trap that kills them, the whole test's deadline
#                 SECONDS from now, and fail() that also shows the queue and the last lines of
#                 LOGS (a glob, expanded when it fails)
#   wait_for SECONDS COMMAND...  poll COMMAND until it succeeds, at most SECONDS, never past the
#                 deadline
#   start_munge   munged with its own key and socket in $work/munge
#   job_state ID, job_done ID    the job's JobState; done = ended in any state
slurm_setup() {
  pids=""
  deadline=$(($(date +%s) + $1))
  slurm_logs=$2
  trap 'for p in $pids; do kill "$p" 2>/dev/null; done; sleep 1
        for p in $pids; do kill -9 "$p" 2>/dev/null; done
        [ -n "${KEEP_WORK:-}" ] || [ -z "${work_owned:-}" ] || rm -rf "$work"' EXIT
  trap 'exit 1' INT TERM
  fail() {
    echo "FAIL: $*"
    squeue -a -o "%i %j %T %r %S %N" 2>/dev/null
    for f in $slurm_logs; do
      [ -f "$f" ] && { echo "---- $f (last 30 lines)"; tail -30 "$f"; }
    done
    exit 1
  }
}
wait_for() {
  until=$(($(date +%s) + $1)); shift
  [ $until -le $deadline ] || until=$deadline
  while [ "$(date +%s)" -lt $until ]; do "$@" >/dev/null 2>&1 && return 0; sleep 0.25; done
  return 1
}
start_munge() {
  mkdir -p "$work/munge" && chmod 700 "$work/munge"
  dd if=/dev/urandom of="$work/munge/munge.key" bs=1024 count=1 2>/dev/null
  chmod 400 "$work/munge/munge.key"
  munged -F --force --socket="$work/munge/sock" --key-file="$work/munge/munge.key" \
    --pid-file="$work/munge/pid" --log-file="$work/munge/log" --seed-file="$work/munge/seed" >/dev/null 2>&1 &
  pids="$pids $!"
  wait_for 10 test -S "$work/munge/sock" || fail "munged did not start"
}
job_state() { timeout 10 scontrol show job "$1" 2>/dev/null | sed -n 's/.*JobState=\([A-Z_]*\).*/\1/p'; }
job_done() {
  case $(job_state "$1") in COMPLETED|FAILED|CANCELLED|TIMEOUT|NODE_FAIL|OUT_OF_MEMORY|PREEMPTED|BOOT_FAIL|DEADLINE) return 0 ;; esac
  return 1
}
# slurm_conf_common PORT: the slurm.conf lines both Slurm tests share (root daemons, munge in
# $work/munge, state, pid and log files, TmpFS in $work; no cgroups, no accounting); slurmctld on
# PORT, slurmd on PORT + 1. Each test adds its cluster name, controller, nodes and partition.
slurm_conf_common() {
  cat <<CONF
SlurmUser=root
SlurmdUser=root
SlurmdParameters=config_overrides
SlurmctldPort=$1
SlurmdPort=$(($1 + 1))
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket=$work/munge/sock
StateSaveLocation=$work/state
SlurmctldPidFile=$work/slurmctld.pid
SlurmctldLogFile=$work/slurmctld.log
# (PMIx makes its step directories under TmpFS: inside $work, no leftovers of another run in /tmp)
TmpFS=$work/tmp
ProctrackType=proctrack/linuxproc
TaskPlugin=task/none
SchedulerType=sched/builtin
SelectType=select/cons_tres
SelectTypeParameters=CR_CPU
MpiDefault=none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
ReturnToService=2
KillWait=30
MinJobAge=600
CONF
}
