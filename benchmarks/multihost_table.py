#!/usr/bin/python3
"""multihost_table.py OUTDIR [OTHER ...]: the table and plot of benchmarks/multihost_links.sh's
measurements.

Reads OUTDIR/runs.jsonl and OUTDIR/probe.jsonl; writes OUTDIR/table.md (also printed) and
OUTDIR/modeled_vs_measured.png, which also shows the runs of the OTHER output directories (e.g.
the same series with link.duplex=half), each labelled by its runs' duplex setting. Bytes are MB (1e6); "wire" is what the hosts' veths carried
upwards (every frame: Ethernet, IP and TCP headers, TCP acknowledgements, and MPI traffic photon
does not count, such as the collective checkpoint write); "counted" is photon's inter_silo_bytes.
"""
import json
import sys

out = sys.argv[1]
runs = [json.loads(l) for l in open(out + "/runs.jsonl") if l.strip()]
probe = [json.loads(l) for l in open(out + "/probe.jsonl") if l.strip()]
lines = ["| run | link Mbit/s | counted MB | on the wire MB | wire / counted | exchanges measured s | modeled s | measured / modeled | wall measured s | modeled s | measured / modeled |",
         "|---|---|---|---|---|---|---|---|---|---|---|"]
for r in runs:
    lines.append("| %s | %g | %.1f | %.1f | %.3f | %.2f | %.2f | %.2f | %.1f | %.1f | %.2f |" % (
        r["run"], r["bandwidth_mbps"], r["counted_bytes"] / 1e6, r["wire_up_bytes"] / 1e6,
        r["wire_up_bytes"] / r["counted_bytes"], r["comm_s"], r["modeled_comm_s"],
        r["comm_s"] / r["modeled_comm_s"], r["elapsed_s"], r["modeled_wall_s"], r["elapsed_s"] / r["modeled_wall_s"]))
lines += ["", "| probe: photon's two phases alone, at a barrier | link Mbit/s | counted MB | on the wire MB | wire / counted | phase 1 measured / modeled (full; half duplex) | phase 2 measured / modeled (full; half duplex) |",
          "|---|---|---|---|---|---|---|"]
groups = {}
for p in probe:
    groups.setdefault((p.get("topology", "allreduce"), p["bandwidth_mbps"]), []).append(p)
med = lambda v: sorted(v)[len(v) // 2]
for (topo, bw), ps in sorted(groups.items()):
    reps = [p for p in ps if "phase1_s" in p]
    if not reps:
        continue
    wire = [p["probe_wire_up_bytes"] for p in ps if "probe_wire_up_bytes" in p][0]
    counted = sum(p["bytes1"] + p["bytes2"] for p in reps)
    def cell(ph):
        full = med([p["phase%d_s" % ph] / p["model%d_s" % ph] for p in reps])
        if not all("model%d_half_s" % ph in p for p in reps):  # (a probe from before duplex)
            return "%.2f; -" % full
        return "%.2f; %.2f" % (full, med([p["phase%d_s" % ph] / p["model%d_half_s" % ph] for p in reps]))
    names = {"allreduce": "allreduce: reduce-scatter, all-gather", "server": "server: uploads, broadcast"}
    lines.append("| %s (%d silos, %d floats, %d times) | %g | %.1f | %.1f | %.3f | %s | %s |" % (
        names[topo], reps[0]["silos"], reps[0]["floats"], len(reps), bw, counted / 1e6, wire / 1e6, wire / counted, cell(1), cell(2)))
text = "\n".join(lines) + "\n"
open(out + "/table.md", "w").write(text)
print(text)
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
except ImportError:
    sys.exit(0)
def duplex(d, r):
    try:
        log = open("%s/%s-%g.log" % (d, r["run"], r["bandwidth_mbps"])).read()
    except OSError:
        return "?"
    return "half duplex" if "half duplex" in log else "full duplex"


fig, ax = plt.subplots(figsize=(6.5, 5))
marks = {"federated": "o", "federated-int8": "s", "ddp": "^"}
hi = 0
for i, d in enumerate([out] + sys.argv[2:]):
    rs = [json.loads(l) for l in open(d + "/runs.jsonl") if l.strip()]
    for r in rs:
        colour = "C%d" % (2 * i + (r["bandwidth_mbps"] >= 500))
        ax.scatter(r["modeled_wall_s"], r["elapsed_s"], marker=marks.get(r["run"], "x"), color=colour,
                   label="%s, %g Mbit/s, model: %s" % (r["run"], r["bandwidth_mbps"], duplex(d, r)))
        hi = max(hi, r["modeled_wall_s"], r["elapsed_s"])
ax.plot([0, hi * 1.1], [0, hi * 1.1], "k--", lw=0.8, label="measured = modeled")
ax.set_xlabel("modeled wall time (s): measured compute + link model")
ax.set_ylabel("measured wall time (s) on shaped links")
ax.set_title("4 hosts (network namespaces), tbf-shaped links")
ax.legend(fontsize=6)
fig.tight_layout()
fig.savefig(out + "/modeled_vs_measured.png", dpi=120)
