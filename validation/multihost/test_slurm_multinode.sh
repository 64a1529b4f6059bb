#!/bin/sh
# test_slurm_multinode.sh: a real multi-node Slurm on this machine, one node per network-namespace
# host (validation/multihost/netns-hosts.sh: 4 hosts at 1 Gbit/s), and photon's job scripts on it.
#
# slurmctld and munged run in the root namespace; one slurmd per host (`slurmd -N nodeK`, its own
# spool, log and pid file), each node declaring 2 CPUs and 4 GPUs (gres.conf names four character
# devices that are /dev/null: Slurm schedules them, nothing uses them). The daemons are stopped by pid (the slurmds
# with their namespaces). Then
#   1. `sbatch -N 4 jobs/cpu-multi-node.sbatch` (one silo per node, srun --mpi=pmix): its final
#      weights equal those of the same deck run by mpirun on one host, bitwise;
#   2. the same job requeued (`scontrol requeue`) after its first checkpoint: the second start
#      resumes from it and ends with bitwise the same weights;
#   3. jobs/gpu-multi-node.sbatch with PHOTON_DEVICE=cpu on 2 nodes: its srun line, block
#      distribution and per-task CUDA_VISIBLE_DEVICES run, and the run finishes with 2 silos;
#   4. jobs/scaling-study.sh -N over 1, 2 and 4 nodes and its gather job's table and plot.
# Skips (77) without Slurm, munge, its PMIx plugin, root, h5py or network namespaces. Every wait
# is bounded; about 90 s on 2 cores.
set -u
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"

if [ "${1:-}" != inner ]; then
    for tool in slurmctld slurmd munged sbatch scontrol squeue sinfo srun; do
        command -v $tool >/dev/null 2>&1 || [ -x /usr/sbin/$tool ] || { echo "SKIP: $tool not installed"; exit 77; }
    done
    pmix=""
    for d in /usr/lib/x86_64-linux-gnu/slurm-wlm /usr/lib64/slurm /usr/lib/slurm; do
        [ -f "$d/mpi_pmix.so" ] && pmix=$d
    done
    [ -n "$pmix" ] || { echo "SKIP: no Slurm PMIx plugin"; exit 77; }
    [ "$(id -u)" = 0 ] || { echo "SKIP: slurmd needs root"; exit 77; }
    need_h5py
    work_dir slurm-mn
    gen_corpus 12 5
    for s in 1 2 4; do prep_tiny "$work/d$s.h5" --silos $s --partition by-source --vocab-size 300; done
    # 4 silos x 1 rank, 12 rounds of 2 steps, a checkpoint after every round
    tiny_deck "$work/t.deck" "$work/d4.h5" run.steps=24 run.log_every=1 federation.silos=4 \
        federation.local_steps=2 eval.tokens=128 checkpoint.every_rounds=1 link.emulate=off
    train 4 ref
    export work PHOTON_SRCDIR PHOTON_BUILDDIR TORCH_PYTHON
    rc=0
    bash "$S/validation/multihost/netns-hosts.sh" -n 4 -b 1000 -- sh "$0" inner || rc=$?
    [ $rc = 77 ] && echo "SKIP: no network namespaces here"
    exit $rc
fi

# ---- inner: in the root namespace, the hosts up ($MH_HOSTS)
PATH=$PATH:/usr/sbin
# (the whole inner part at most 240 s of waiting; $work belongs to the outer part)
slurm_setup 240 "$work/*.out $work/sweep/*.out $work/slurmctld.log $work/slurmd-node0.log"
start_munge

port=$((24000 + ($$ % 2000) * 2))
mkdir -p "$work/state" "$work/tmp"
{
    slurm_conf_common $port
    cat <<CONF
ClusterName=photonmn
SlurmctldHost=$(hostname -s)($MH_CTL_ROOT)
SlurmdSpoolDir=$work/spool-%n
SlurmdPidFile=$work/slurmd-%n.pid
SlurmdLogFile=$work/slurmd-%n.log
GresTypes=gpu
MessageTimeout=10
DebugFlags=NO_CONF_HASH
CONF
    k=1
    for h in $MH_HOSTS; do
        echo "NodeName=$h NodeAddr=$(echo "$MH_CTL_ADDRS" | cut -d' ' -f$k) CPUs=2 Gres=gpu:4 State=UNKNOWN"
        k=$((k + 1))
    done
    echo "PartitionName=test Nodes=ALL Default=YES MaxTime=INFINITE State=UP OverSubscribe=YES"
} >"$work/slurm.conf"
# Four "GPUs" per node for Slurm to schedule: character devices that are /dev/null underneath
# (gres/gpu wants device files; nothing opens them).
for g in 0 1 2 3; do mknod "$work/fakegpu$g" c 1 3 || fail "mknod"; done
echo "Name=gpu File=$work/fakegpu[0-3]" >"$work/gres.conf"
export SLURM_CONF="$work/slurm.conf"
slurmctld -D -c -f "$SLURM_CONF" >"$work/slurmctld.stderr" 2>&1 &
pids="$pids $!"
# Every node its own TmpFS: the nodes share this machine's /tmp, where Slurm's PMIx plugin would
# make the same directory for a step on every node. (Only TmpFS differs between the copies; the
# "hash mismatch" that slurmctld logs for it is harmless, DebugFlags=NO_CONF_HASH silences it.)
for h in $MH_HOSTS; do
    mkdir -p "$work/spool-$h" "$work/tmp-$h"
    sed "s|^TmpFS=.*|TmpFS=$work/tmp-$h|" "$SLURM_CONF" >"$work/slurm-$h.conf"
    "$MH_SCRIPT" exec "$h" slurmd -D -N "$h" -f "$work/slurm-$h.conf" >"$work/slurmd-$h.stderr" 2>&1 &
done
all_idle() { [ "$(timeout 10 sinfo -h -o '%t %D' 2>/dev/null)" = "idle 4" ]; }
wait_for 40 all_idle || { sinfo; cat "$work/slurmctld.stderr" "$work"/slurmd-*.stderr; fail "the 4 nodes not idle in 40 s"; }
echo "slurm up: $(sinfo -h -o '%D nodes %N %t'), ports $port-$((port + 1))"

# The job's ranks: TCP between nodes over the data network only (the shaped links).
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 PHOTON="$B/photon"
export OMPI_MCA_btl_tcp_if_include=10.231.0.0/24 OMPI_MCA_btl=self,vader,tcp OMPI_MCA_oob_tcp_if_include=10.232.0.0/24
submit() { # NAME NODES SCRIPT RUN_DIR [OVERRIDES...]
    name=$1; nodes=$2; script=$3; dir=$4; shift 4
    sbatch --parsable --job-name="$name" --nodes="$nodes" --ntasks-per-node=1 --cpus-per-task=1 --time=5 \
        --output="$work/%x-%j.out" --chdir="$work" "$S/jobs/$script" "$work/t.deck" run.dir="$dir" "$@"
}
finished() { # JOBID SECONDS
    wait_for "$2" job_done "$1" || fail "job $1 did not finish in $2 s (state $(job_state "$1"))"
    [ "$(job_state "$1")" = COMPLETED ] || fail "job $1 ended $(job_state "$1")"
}

# ---- 1. sbatch -N 4: one silo per node
wire() { $MH_SCRIPT counters | awk 'NR > 1 { u += $2 } END { printf "%.0f\n", u }'; }
u0=$(wire)
j1=$(submit mn 4 cpu-multi-node.sbatch "$work/mn") || fail "sbatch -N 4"
finished "$j1" 60
u1=$(wire)
counted=$(sed -n 's/.*"type":"end".*"inter_silo_bytes":\([0-9]*\).*/\1/p' "$work/mn/metrics.jsonl")
[ -n "$counted" ] && [ $((u1 - u0)) -ge "$counted" ] ||
    fail "the job's inter-silo traffic did not cross the data network ($((u1 - u0)) bytes there, $counted counted)"
grep -q "4 silos (nodes)" "$work/mn-$j1.out" && grep -q "4 silo(s) x 1 rank" "$work/mn-$j1.out" ||
    fail "job $j1 did not run 4 silos on 4 nodes"
nodes=$(timeout 10 scontrol show job "$j1" | sed -n 's/^ *NodeList=\(.*\)/\1/p')
same_params mn ref || fail "sbatch -N 4: final weights differ from one host's run"
check "sbatch -N 4 ($nodes)" "bitwise the one-host run; $((u1 - u0)) bytes on the shaped links for $counted counted"

# ---- 2. requeued after its first checkpoint
j2=$(submit req 4 cpu-multi-node.sbatch "$work/req") || fail "sbatch"
has_ckpt() { ls "$work"/req/checkpoints/ckpt-*.h5 >/dev/null 2>&1; }
wait_for 60 has_ckpt || fail "job $j2 wrote no checkpoint in 60 s"
job_done "$j2" && fail "job $j2 finished before the requeue: make the deck longer"
scontrol requeue "$j2" || fail "scontrol requeue $j2"
pending() { [ "$(job_state "$j2")" = PENDING ]; }
wait_for 60 pending || fail "requeued job $j2 not pending again (state $(job_state "$j2"))"
scontrol update JobId="$j2" StartTime=now || fail "scontrol update StartTime"
finished "$j2" 90
[ "$(grep -c '^== .* restart' "$work/req-$j2.out")" -ge 2 ] || fail "job $j2 did not start twice"
grep -q "^resumed from .*ckpt-" "$work/req-$j2.out" || fail "job $j2: the second start did not resume"
same_params req ref || fail "requeued multi-node job: final weights differ"
check "scontrol requeue of the 4-node job" "resumed, bitwise the uninterrupted run ($(grep '^resumed from' "$work/req-$j2.out" | head -1 | sed 's/.*\(ckpt-[0-9]*\).*/\1/'))"

# ---- 3. the GPU script's launch on CPUs, 2 nodes
j3=$(PHOTON_DEVICE=cpu submit gpu 2 gpu-multi-node.sbatch "$work/gpu" data.file="$work/d2.h5" checkpoint.every_rounds=0) ||
    fail "sbatch gpu-multi-node.sbatch"
finished "$j3" 60
grep -q "2 silos (nodes) x 1 ranks (GPUs)" "$work/gpu-$j3.out" && grep -q "2 silo(s) x 1 rank" "$work/gpu-$j3.out" &&
    grep -q "^done: 24 steps" "$work/gpu-$j3.out" || fail "gpu-multi-node.sbatch did not run 2 silos to the end"
check "gpu-multi-node.sbatch, device cpu" "2 nodes x 1 task, ran to the end"

# ---- 4. the scaling study over 1, 2 and 4 nodes
SBATCH_FLAGS="--cpus-per-task=1 --time=5" sh "$S/jobs/scaling-study.sh" -N -o "$work/sweep" -s "1 2 4" -r 1 \
    -d "$work/d{S}.h5" "$work/t.deck" -- run.steps=8 checkpoint.every_rounds=0 >"$work/sweep.out" 2>&1 ||
    { cat "$work/sweep.out"; fail "scaling-study.sh -N"; }
gathered() { [ -s "$work/sweep/scaling.csv" ] && [ -s "$work/sweep/scaling.png" ]; }
wait_for 120 gathered || { cat "$work/sweep.out"; fail "the sweep's gather job wrote no table in 120 s"; }
$PY - "$work/sweep/scaling.csv" <<'PYEOF' || fail "the sweep's table"
import csv, sys
rows = list(csv.DictReader(open(sys.argv[1])))
silos = sorted(int(r["silos"]) for r in rows)
ok = silos == [1, 2, 4] and all(r["steps"] == "8" for r in rows)
print("  scaling.csv: silos %s, %s" % (silos, "8 steps each" if ok else rows))
sys.exit(0 if ok else 1)
PYEOF
check "scaling-study.sh -N over 1, 2, 4 nodes" "3 runs gathered into scaling.csv and scaling.png"
echo "PASS: $passed checks"
