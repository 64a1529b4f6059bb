#!/bin/sh
# test_multihost.sh: photon across real hosts joined by shaped links (network namespaces made by
# validation/multihost/netns-hosts.sh: 4 silo hosts at 100 Mbit/s, one more for the aggregator).
#
#   1. federated (allreduce topology), ddp, the server topology with its aggregator on a host of
#      its own, and 2 silos x 2 ranks on 2 hosts (each silo's ranks on one host: the every-step
#      all-reduce inside a silo stays off the links), each run across the hosts with [link]
#      emulate = off (the setting for real links), give final weights and metrics bitwise equal
#      to the same decks on one host;
#   2. what each run's inter-silo traffic really put on the hosts' links (their veth counters)
#      is at least photon's counted bytes and at most 1.10 x them plus the run's own extra
#      traffic: the final checkpoint's collective write of per-silo state (moments kept) and the
#      small collectives photon does not count (loss sums, evaluation, signals) -- bounded here
#      by the bytes of one model's state per silo;
#   3. photon's allreduce exchange alone (validation/tools/link_probe): the wire carries its
#      counted bytes plus 3-10% (Ethernet, IP and TCP headers and acknowledgements).
# Skips (77) where namespaces cannot be made (not root, no ip/tc/ethtool, a kernel without
# veth or bridges). About 40 s on 2 cores.
set -u
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
need_h5py
work_dir multihost
HOSTS=$S/validation/multihost/netns-hosts.sh
gen_corpus 12 5
prep_tiny "$work/four.h5" --silos 4 --partition by-source --vocab-size 300
# About 62,000 parameters: 0.25 MB a model, so the rounds' traffic dwarfs the startup's.
tiny_deck "$work/base.deck" "$work/four.h5" model.channels=64 model.heads=4 federation.silos=4 \
    run.steps=6 federation.local_steps=3 federation.outer=nesterov federation.outer_lr=0.7 eval.tokens=128

# ---- the same decks on this host alone
train 4 fed-local link.emulate=off
train 4 ddp-local federation.mode=ddp link.emulate=off
train 5 server-local federation.topology=server link.emulate=off
prep_tiny "$work/two.h5" --silos 2 --partition iid --vocab-size 300
train 4 two-local link.emulate=off federation.silos=2 data.file="$work/two.h5"

# ---- across the hosts: a script run by netns-hosts.sh, which reports its counters per run
cat >"$work/remote.sh" <<'EOF'
set -u
wire() { $MH_SCRIPT counters | awk 'NR > 1 { u += $2 } END { printf "%.0f\n", u }'; }
run() { # NAME NP OVERRIDES...
    name=$1; np=$2; shift 2
    u0=$(wire)
    mpirun -np "$np" $MH_MPIRUN_ARGS "$PHOTON" train "$DECK" run.dir="$work/$name" link.emulate=off "$@" \
        >"$work/$name.log" 2>&1 || { cat "$work/$name.log"; return 1; }
    echo "$name $(($(wire) - u0))" >>"$work/wire"
}
run fed-hosts 4 && run ddp-hosts 4 federation.mode=ddp || exit 1
u0=$(wire)
mpirun -np 4 $MH_MPIRUN_ARGS "$PROBE" allreduce 250000 3 100 >"$work/probe.jsonl" || exit 1
echo "probe $(($(wire) - u0))" >>"$work/wire"
EOF
cat >"$work/remote-server.sh" <<'EOF'
set -u
u0=$($MH_SCRIPT counters | awk 'NR > 1 { u += $2 } END { printf "%.0f\n", u }')
mpirun -np 5 $MH_MPIRUN_ARGS "$PHOTON" train "$DECK" run.dir="$work/server-hosts" link.emulate=off \
    federation.topology=server >"$work/server-hosts.log" 2>&1 || { cat "$work/server-hosts.log"; exit 1; }
echo "server-hosts $(($($MH_SCRIPT counters | awk 'NR > 1 { u += $2 } END { printf "%.0f\n", u }') - u0))" >>"$work/wire"
EOF
export work DECK PHOTON PROBE="$TOOLS/link_probe" OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1
rc=0
bash "$HOSTS" -n 4 -b 100 -- bash "$work/remote.sh" || rc=$?
[ $rc = 77 ] && { echo "SKIP: no network namespaces here"; exit 77; }
[ $rc = 0 ] || fail "the runs across 4 hosts failed (exit $rc)"
bash "$HOSTS" -n 4 -a -b 100 -- bash "$work/remote-server.sh" || fail "the server-topology run across 5 hosts failed"
cat >"$work/remote-two.sh" <<'EOF'
set -u
wire() { $MH_SCRIPT counters | awk 'NR > 1 { u += $2 } END { printf "%.0f\n", u }'; }
u0=$(wire)
mpirun -np 4 $MH_MPIRUN_ARGS "$PHOTON" train "$DECK" run.dir="$work/two-hosts" link.emulate=off \
    federation.silos=2 data.file="$work/two.h5" >"$work/two-hosts.log" 2>&1 || { cat "$work/two-hosts.log"; exit 1; }
echo "two-hosts $(($(wire) - u0))" >>"$work/wire"
EOF
bash "$HOSTS" -n 2 -r 2 -b 100 -- bash "$work/remote-two.sh" || fail "the run of 2 silos x 2 ranks across 2 hosts failed"
grep -q "2 silo(s) x 2 rank" "$work/two-hosts.log" || fail "the 2-host run did not have 2 silos of 2 ranks"
grep -q "4 silo(s)" "$work/fed-hosts.log" || fail "the federated run did not have 4 silos"

for r in fed ddp server two; do
    echo "$r: across hosts against one host"
    same_params $r-hosts $r-local || fail "$r: final weights across hosts differ from one host's"
    same_metrics $r-hosts $r-local || fail "$r: metrics across hosts differ from one host's"
    check "$r across hosts" "bitwise the one-host run"
done

# ---- bytes on the wire against photon's count
$PY - "$work" <<'PYEOF' || fail "wire bytes out of bounds"
import json, sys, h5py
work = sys.argv[1]
wire = dict(l.split() for l in open(work + "/wire"))
n = h5py.File(work + "/fed-local/final.h5", "r")["params"].shape[0]
ok = True
for run in ("fed-hosts", "ddp-hosts", "server-hosts", "two-hosts"):
    end = [json.loads(l) for l in open("%s/%s/metrics.jsonl" % (work, run)) if '"type":"end"' in l][-1]
    counted, w = end["inter_silo_bytes"], int(wire[run])
    extra = 4 * 3 * 4 * n  # the checkpoint's per-silo state (model, m, v) of 4 silos, 4 bytes each
    good = counted <= w <= 1.10 * counted + extra
    print("  %-12s counted %9d bytes, on the wire %9d (%.3f x; bound 1.10 x + %d)" % (run, counted, w, w / counted, extra))
    ok &= good
probe = [json.loads(l) for l in open(work + "/probe.jsonl")]
counted = sum(p["bytes1"] + p["bytes2"] for p in probe)
w = int(wire["probe"])
print("  %-12s counted %9d bytes, on the wire %9d (%.3f x; bound 1.03-1.10 x)" % ("probe", counted, w, w / counted))
ok &= 1.03 * counted <= w <= 1.10 * counted
sys.exit(0 if ok else 1)
PYEOF
check "wire bytes" "photon's counted bytes plus the protocol's overhead"
echo "PASS: $passed checks"
