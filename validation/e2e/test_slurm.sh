#!/bin/sh
# test_slurm.sh: jobs/cpu-single-node.sbatch under a real Slurm, started here on this machine.
#
# Starts munged, slurmctld and slurmd with a one-node configuration written into a temporary
# directory (state, logs and sockets there too; ports derived from the process id; proctrack
# linuxproc, task none: no cgroups needed), then
#   1. submits the job script with a tiny deck and checks its output and final weights;
#   2. submits it again for another run directory, requeues it (`scontrol requeue`) while it
#      runs, and checks that the second start resumed from a checkpoint and finished with
#      final weights bitwise equal to the uninterrupted run's;
#   3. jobs/scaling-study.sh's sweep and jobs/gather.py; benchmarks/sweep's Slurm array.
# The daemons it started are stopped by their process ids on exit. Skips (77) without Slurm,
# munge, root, or h5py. Bounded: every wait has a deadline, the whole test at most 110 s of waiting (about 25 s
# on an idle 2-core machine).
set -u
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
for tool in slurmctld slurmd munged sbatch scontrol squeue sinfo srun; do
    command -v $tool >/dev/null 2>&1 || [ -x /usr/sbin/$tool ] || { echo "SKIP: $tool not installed (apt-get install slurm-wlm munge)"; exit 77; }
done
[ "$(id -u)" = 0 ] || { echo "SKIP: slurmd needs root"; exit 77; }
need_h5py
PATH=$PATH:/usr/sbin
work_dir slurm
work_owned=1
# (the whole test at most 110 s of waiting, even when a daemon hangs)
slurm_setup 110 "$work/*.out $work/slurmctld.log $work/slurmd.log"
start_munge

# ---- slurm, one node: this machine
host=$(hostname -s)
# nproc would honour OMP_NUM_THREADS=1 (set by make check): ask for the hardware's count; two
# ranks need two CPUs, which config_overrides lets a one-core machine declare
cpus=$(getconf _NPROCESSORS_ONLN)
[ "$cpus" -ge 2 ] || cpus=2
port=$((20000 + ($$ % 4000) * 2))
mkdir -p "$work/state" "$work/spool" "$work/tmp"
{
    slurm_conf_common $port
    cat <<CONF
ClusterName=photontest
SlurmctldHost=$host
SlurmdSpoolDir=$work/spool
SlurmdPidFile=$work/slurmd.pid
SlurmdLogFile=$work/slurmd.log
MessageTimeout=5
NodeName=$host CPUs=$cpus State=UNKNOWN
PartitionName=test Nodes=$host Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES
CONF
} >"$work/slurm.conf"
export SLURM_CONF="$work/slurm.conf"
slurmctld -D -c -f "$SLURM_CONF" >"$work/slurmctld.stderr" 2>&1 &
pids="$pids $!"
slurmd -D -f "$SLURM_CONF" >"$work/slurmd.stderr" 2>&1 &
pids="$pids $!"
node_idle() { [ "$(timeout 10 sinfo -h -n "$host" -o %t 2>/dev/null)" = idle ]; }
wait_for 30 node_idle || { cat "$work/slurmctld.stderr" "$work/slurmd.stderr"; fail "node $host not idle in 30 s"; }
echo "slurm up: node $host, $cpus CPUs, ports $port-$((port + 1))"

# ---- data and deck
gen_corpus 6 3
prep_tiny "$work/d.h5" --silos 2 --partition iid --vocab-size 300
# 2 silos x 1 rank; 16 rounds of 2 steps, a checkpoint after every round
tiny_deck "$work/t.deck" "$work/d.h5" run.steps=32 run.log_every=1 federation.silos=2 \
  federation.local_steps=2 eval.tokens=128 checkpoint.every_rounds=1

# Jobs run as root with Open MPI: its launcher needs these; PHOTON_LAUNCHER is srun when Slurm has
# its PMIx plugin, else mpirun.
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 PHOTON="$B/photon"
launcher=mpirun
for d in /usr/lib/x86_64-linux-gnu/slurm-wlm /usr/lib64/slurm /usr/lib/slurm; do
    [ -f "$d/mpi_pmix.so" ] && launcher=srun
done
export PHOTON_LAUNCHER=${PHOTON_LAUNCHER:-$launcher}
submit() { # NAME RUN_DIR [EXTRA OVERRIDES]
    name=$1; dir=$2; shift 2
    sbatch --parsable --job-name="$name" --ntasks=2 --cpus-per-task=1 --time=5 \
        --output="$work/%x-%j.out" --chdir="$work" \
        "$S/jobs/cpu-single-node.sbatch" "$work/t.deck" run.dir="$dir" "$@"
}
echo "launcher in the job: $PHOTON_LAUNCHER"

# ---- 1. an uninterrupted run
j1=$(submit ref "$work/ref") || fail "sbatch"
wait_for 60 job_done "$j1" || fail "job $j1 did not finish in 60 s (state $(job_state "$j1"))"
[ "$(job_state "$j1")" = COMPLETED ] || fail "job $j1 ended $(job_state "$j1")"
out1=$work/ref-$j1.out
grep -q "photon exited 0" "$out1" || fail "job $j1: no 'photon exited 0' in $out1"
grep -q "^done: 32 steps" "$out1" || fail "job $j1: training did not report 32 steps"
grep -q '"type":"end"' "$work/ref/metrics.jsonl" || fail "job $j1: no end record in metrics.jsonl"
[ -f "$work/ref/final.h5" ] || fail "job $j1: no final.h5"
echo "ok    job $j1 ran the deck to the end ($(grep -c '^step' "$out1") progress lines, final.h5 written)"

# ---- 2. the same run, requeued while it trains
j2=$(submit req "$work/req") || fail "sbatch"
# requeue once it has written its first checkpoint: then there is something to resume from
has_ckpt() { ls "$work"/req/checkpoints/ckpt-*.h5 >/dev/null 2>&1; }
wait_for 60 has_ckpt || fail "job $j2 wrote no checkpoint in 60 s"
job_done "$j2" && fail "job $j2 finished before the requeue: make the deck longer"
scontrol requeue "$j2" || fail "scontrol requeue $j2"
echo "requeued job $j2"
# Slurm holds a requeued job back (BeginTime about 2 minutes ahead) to let the old allocation
# drain; release it as soon as it is pending again, so the test stays short
pending() { [ "$(job_state "$j2")" = PENDING ]; }
wait_for 60 pending || fail "requeued job $j2 not pending again (state $(job_state "$j2"))"
scontrol update JobId="$j2" StartTime=now || fail "scontrol update StartTime"
wait_for 90 job_done "$j2" || fail "requeued job $j2 did not finish in 90 s (state $(job_state "$j2"))"
[ "$(job_state "$j2")" = COMPLETED ] || fail "job $j2 ended $(job_state "$j2")"
out2=$work/req-$j2.out
[ "$(grep -c '^== .* restart' "$out2")" -ge 2 ] || fail "job $j2 did not start twice"
grep -q "^resumed from .*ckpt-" "$out2" || fail "job $j2: the second start did not resume from a checkpoint"
grep -q '"type":"resume"' "$work/req/metrics.jsonl" || fail "job $j2: no resume record in metrics.jsonl"
grep "^resumed from" "$out2" | head -1 | sed 's/^/      /'
same_params ref req || fail "final weights differ"
echo "ok    requeued run's final weights == uninterrupted run's (bitwise)"

# ---- jobs/gather.py over both runs; jobs/scaling-study.sh's sweep (printed, not submitted)
$PY "$S/jobs/gather.py" "$work/ref" "$work/req" -o "$work/runs.csv" --plot "$work/runs.png" >/dev/null || fail "gather.py"
$PY - "$work/runs.csv" <<'PYEOF' || fail "gather.py's CSV"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = len(rows) == 2 and rows[0]["val_loss"] == rows[1]["val_loss"] and all(r["steps"] == "32" for r in rows)
print("ok    gather.py: 2 runs, 32 steps, equal final val_loss" if ok else f"bad CSV: {rows}")
sys.exit(0 if ok else 1)
PYEOF
[ -s "$work/runs.png" ] || fail "gather.py wrote no plot"
sh "$S/jobs/scaling-study.sh" -n -o "$work/sweep" -s "1 2" -r "1 2" "$work/t.deck" -- run.steps=4 2>"$work/sweep.txt" >/dev/null ||
    fail "scaling-study.sh -n"
[ "$(grep -c 'cpu-single-node.sbatch .*federation.silos=2 run.steps=4' "$work/sweep.txt")" = 2 ] &&
    grep -q -- '--ntasks=4 .*t-s2-r2' "$work/sweep.txt" && grep -q 'dependency=afterany' "$work/sweep.txt" ||
    { cat "$work/sweep.txt"; fail "scaling-study.sh's sweep"; }
echo "ok    scaling-study.sh -n: 4 runs (silos 1 2 x ranks 1 2) and a gather job"
# a missing data file for one of the silo counts stops the sweep before it submits anything
expect_error "scaling-study.sh with a missing data file" 2 "no data file $work/d1.h5" \
  sh "$S/jobs/scaling-study.sh" -o "$work/bad" -s "1 3" -d "$work/d{S}.h5" "$work/t.deck"
[ -z "$(timeout 10 squeue -h 2>/dev/null)" ] || fail "scaling-study.sh with a missing data file submitted jobs"
# ... and a real sweep: 1 and 2 silos (one data file each), then its gather job's table
prep_tiny "$work/d1.h5" --silos 1 --partition iid --vocab-size 300
cp "$work/d.h5" "$work/d2.h5"
# (the job script asks for 4 CPUs per task; this node has fewer)
SBATCH_FLAGS="--cpus-per-task=1 --time=5" sh "$S/jobs/scaling-study.sh" -o "$work/sweep" -s "1 2" -r 1 -d "$work/d{S}.h5" "$work/t.deck" -- run.steps=4 \
    checkpoint.every_rounds=0 >"$work/sweep.out" 2>&1 || { cat "$work/sweep.out"; fail "scaling-study.sh"; }
gathered() { [ -s "$work/sweep/scaling.csv" ] && [ -s "$work/sweep/scaling.png" ]; }
wait_for 120 gathered || { cat "$work/sweep.out" "$work"/sweep/*.out; fail "the sweep's gather job wrote no table in 120 s"; }
$PY - "$work/sweep/scaling.csv" <<'PYEOF' || { cat "$work"/sweep/*.out; fail "the sweep's table"; }
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
ok = sorted(r["silos"] for r in rows) == ["1", "2"] and all(r["steps"] == "4" for r in rows)
print("ok    scaling-study.sh: 2 runs submitted (1 and 2 silos), gathered into scaling.csv" if ok else f"bad table: {rows}")
sys.exit(0 if ok else 1)
PYEOF
queue_empty() { [ -z "$(timeout 10 squeue -h 2>/dev/null)" ]; }
# ---- benchmarks/sweep's Slurm array (validation/e2e/test_sweep.sh tests the rest of it): 2
# seeds, one task at a time (the node has 2 CPUs); each task runs `sweep run FILE --index I`
if /usr/bin/python3 -c 'import tomllib, matplotlib' 2>/dev/null; then
    case $PHOTON_LAUNCHER in srun) sl="srun --mpi=pmix -n {ranks}" ;; *) sl="mpirun -np {ranks}" ;; esac
    printf '%s\n' 'deck = "t.deck"' 'ranks = 2' 'out = "sw"' "photon = \"$B/photon\"" \
        "slurm_launcher = \"$sl\"" 'seeds = [1, 2]' 'common = ["run.steps=4"]' >"$work/sw.toml"
    (cd "$work" && "$S/benchmarks/sweep" slurm sw.toml --parallel 1 --sbatch-args "--cpus-per-task=1 --time=5") \
        >"$work/sw.out" 2>&1 || { cat "$work/sw.out"; fail "sweep slurm"; }
    grep -q "^submitted array job .*: 2 runs (--array=0-1%1)" "$work/sw.out" || { cat "$work/sw.out"; fail "sweep slurm: no array job"; }
    swept() { [ -f "$work/sw/base/seed-1/final.h5" ] && [ -f "$work/sw/base/seed-2/final.h5" ] && queue_empty; }
    wait_for 60 swept || { cat "$work"/sw/slurm/*.out; fail "the sweep's array did not complete its 2 runs in 60 s"; }
    (cd "$work" && "$S/benchmarks/sweep" run sw.toml) >"$work/sw.out" 2>&1 && grep -q "^sweep: 2 skipped$" "$work/sw.out" ||
        { cat "$work/sw.out" "$work"/sw/slurm/*.out; fail "the array's runs are not complete to sweep run"; }
    grep -qF " $(echo "$sl" | sed 's/{ranks}/2/') $B/photon train" "$work/sw/base/seed-1/log.txt" ||
        { cat "$work/sw/base/seed-1/log.txt"; fail "the array task did not use slurm_launcher"; }
    echo "ok    benchmarks/sweep slurm: an array of 2 tasks (--array=0-1%1) completed both runs; sweep run skips them"
else
    echo "note: /usr/bin/python3 lacks tomllib or matplotlib: benchmarks/sweep's Slurm array not tested"
fi

# let the gather job end before the daemons stop, or its slurmstepd outlives them
wait_for 30 queue_empty || fail "jobs still queued: $(squeue -h)"
echo "PASS: Slurm job script runs, requeues and resumes"
