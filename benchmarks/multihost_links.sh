#!/bin/bash
# multihost_links.sh: photon on 4 "hosts" joined by real, bandwidth-shaped links (network
# namespaces, validation/multihost/netns-hosts.sh), measured against photon's own link model.
#
#   benchmarks/multihost_links.sh [-o OUTDIR] [-b "100 1000"] [-n STEPS] [-d DATA] [-D DECK] [-- OVERRIDES...]
#
# For each bandwidth: 4 silo hosts, one rank each, every host's link shaped to that rate in both
# directions. On them, the same deck (default inputs/brown-photon.deck, STEPS steps, default
# 100) runs as
#   federated      fp32 rounds (the deck's recipe)
#   federated-int8 the same with [compress] codec = int8
#   ddp            the baseline: gradients across the silos every step
#   probe          photon's two allreduce phases alone (validation/tools/link_probe), 5 times,
#                  and the server topology's two (a 5th host for the aggregator)
# each with link.emulate = model at the shaped rate and latency 0 and the OVERRIDES (e.g.
# link.duplex=half) (the links have no latency to
# model: netem does not work on this kernel). For each run it records the real wall time, the
# bytes each host's link really carried (its veth's counters), photon's counted bytes, its
# modeled wall time, and the measured and modeled time of the exchanges. Writes OUTDIR/runs.jsonl,
# OUTDIR/probe.jsonl, and through benchmarks/multihost_table.py OUTDIR/table.md and
# OUTDIR/modeled_vs_measured.png. About 6 minutes on 2 cores at the defaults. Needs root.
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
out=runs/multihost bws="100 1000" steps=100 data=cache/brown-4silos.h5 deck=inputs/brown-photon.deck
while getopts "o:b:n:d:D:h" opt; do
    case $opt in
        o) out=$OPTARG ;; b) bws=$OPTARG ;; n) steps=$OPTARG ;; d) data=$OPTARG ;; D) deck=$OPTARG ;;
        *) sed -n '2,22p' "$0"; exit 2 ;;
    esac
done
shift $((OPTIND - 1))
[ "${1:-}" = "--" ] && shift
export MH_OVERRIDES="$*"
[ -f "$data" ] || { echo "multihost_links.sh: no data file $data (build-aux/quickstart-run.sh makes it)" >&2; exit 2; }
PHOTON=${PHOTON:-$top/build/photon}
PROBE=${PROBE:-$top/build/validation/tools/link_probe}
[ -x "$PHOTON" ] && [ -x "$PROBE" ] || { echo "multihost_links.sh: build photon and validation/tools/link_probe first" >&2; exit 2; }
mkdir -p "$out"
out=$(cd "$out" && pwd)
: >"$out/runs.jsonl"
: >"$out/probe.jsonl"
export OMPI_ALLOW_RUN_AS_ROOT=1 OMPI_ALLOW_RUN_AS_ROOT_CONFIRM=1 OMP_NUM_THREADS=1
. "$top/build-aux/blas-env.sh"
export PHOTON PROBE deck data steps out

for bw in $bws; do
    export link_bw=$bw
    "$top/validation/multihost/netns-hosts.sh" -n 4 -b "$bw" -- bash -c '
        set -eu
        wire() { $MH_SCRIPT counters | awk "NR > 1 { u += \$2; d += \$3 } END { printf \"%.0f %.0f\\n\", u, d }"; }
        one() { # NAME OVERRIDES...
            name=$1; shift
            dir=$out/$name-$link_bw
            rm -rf "$dir"
            read -r u0 d0 < <(wire)
            t0=$(date +%s.%N)
            mpirun -np 4 $MH_MPIRUN_ARGS "$PHOTON" train "$deck" data.file="$data" run.dir="$dir" \
                run.steps=$steps eval.every=0 link.bandwidth_mbps=$link_bw link.latency_ms=0 link.emulate=model $MH_OVERRIDES "$@" >"$dir.log" 2>&1 ||
                { echo "multihost_links.sh: $name at $link_bw Mbit/s failed:"; tail -20 "$dir.log"; exit 1; }
            t1=$(date +%s.%N)
            read -r u1 d1 < <(wire)
            /usr/bin/python3 - "$dir" "$name" "$link_bw" "$(echo "$t1 - $t0" | bc)" $((u1 - u0)) $((d1 - d0)) >>"$out/runs.jsonl" <<PY
import json, sys
d, name, bw, wall, up, down = sys.argv[1:]
recs = [json.loads(l) for l in open(d + "/metrics.jsonl")]
rounds = [r for r in recs if r["type"] == "round"]
end = [r for r in recs if r["type"] == "end"][-1]
print(json.dumps({"run": name, "bandwidth_mbps": float(bw), "launch_wall_s": float(wall),
      "elapsed_s": end["elapsed_s"], "modeled_wall_s": end["modeled_wall_s"], "compute_s": end["compute_s"],
      "comm_s": sum(r["comm_s"] for r in rounds), "modeled_comm_s": sum(r["modeled_comm_s"] for r in rounds),
      "counted_bytes": end["inter_silo_bytes"], "wire_up_bytes": int(up), "wire_down_bytes": int(down),
      "val_ppl": end["val_ppl"]}))
PY
            echo "$name at $link_bw Mbit/s: done"
        }
        one federated
        one federated-int8 compress.codec=int8
        one ddp federation.mode=ddp
        n=$(sed -n "s/.* \([0-9]*\) parameters.*/\1/p" "$out/federated-$link_bw.log" | head -1)
        echo "${n:-934000}" >"$out/params"
        read -r u0 d0 < <(wire)
        mpirun -np 4 $MH_MPIRUN_ARGS "$PROBE" allreduce "${n:-934000}" 5 "$link_bw" >>"$out/probe.jsonl"
        read -r u1 d1 < <(wire)
        echo "{\"probe_wire_up_bytes\":$((u1 - u0)),\"bandwidth_mbps\":$link_bw,\"topology\":\"allreduce\"}" >>"$out/probe.jsonl"
    '
    "$top/validation/multihost/netns-hosts.sh" -n 4 -a -b "$bw" -- bash -c '
        set -eu
        wire() { $MH_SCRIPT counters | awk "NR > 1 { u += \$2 } END { printf \"%.0f\\n\", u }"; }
        u0=$(wire)
        mpirun -np 5 $MH_MPIRUN_ARGS "$PROBE" server "$(cat "$out/params")" 3 "$link_bw" >>"$out/probe.jsonl"
        echo "{\"probe_wire_up_bytes\":$(($(wire) - u0)),\"bandwidth_mbps\":$link_bw,\"topology\":\"server\"}" >>"$out/probe.jsonl"
    '
done
/usr/bin/python3 "$top/benchmarks/multihost_table.py" "$out"
