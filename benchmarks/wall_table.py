#!/usr/bin/env python3
"""wall_table.py OUT: modeled wall time of the compress_frontier.sh runs on their links, with the
compute part made common: every run is charged the same compute time (the median over the runs
of their measured compute, so that 4 ranks sharing 2 cores do not decide the comparison), plus
its own modeled inter-silo time (the link model of every exchange; doc/federation.md).

Prints (markdown): for each link setting, each run's final perplexity, bytes, modeled
communication and wall time, and the modeled wall time ddp needs to reach that run's final
perplexity (from ddp's per-round evaluations of the whole validation set; "-" if ddp never gets
there) against the run's own."""
import json, os, statistics, sys

out = sys.argv[1]

def load(name):
    p = os.path.join(out, name, "metrics.jsonl")
    if not os.path.isfile(p):
        return None
    recs = [json.loads(l) for l in open(p)]
    end = [r for r in recs if r["type"] == "end"]
    if not end:
        return None
    rounds = [r for r in recs if r["type"] == "round"]
    comm = sum(r["modeled_comm_s"] for r in rounds)
    return {"recs": recs, "end": end[-1], "rounds": rounds, "comm": comm, "compute": end[-1]["compute_s"]}

def ddp_time_to(curve, compute, ppl):
    """Modeled wall time at which ddp's evaluated perplexity first reaches ppl."""
    steps = curve["end"]["steps"]
    comm = 0.0
    evals = {r["round"]: r for r in curve["recs"] if r["type"] == "eval"}
    for r in curve["rounds"]:
        comm += r["modeled_comm_s"]
        e = evals.get(r["round"])
        if e and e["val_ppl"] <= ppl:
            return compute * r["step"] / steps + comm
    return None

settings = [("1 Gbps, 10 ms", "", "ddp-curve"), ("100 Mbps, 10 ms", "-100M", "ddp-curve-100M")]
points = ["ddp", "fp32-H20", "int8-H50", "int4-H50"]
runs = {n: load(n) for n in os.listdir(out)}
runs = {n: r for n, r in runs.items() if r}
compute = statistics.median(r["compute"] for r in runs.values())
print("Compute charged to every run: %.1f s (the median measured over %d runs).\n" % (compute, len(runs)))
for title, suffix, curve_name in settings:
    curve = runs.get(curve_name)
    print("**%s**\n" % title)
    print("| run | final val ppl | inter-silo bytes | modeled comm (s) | modeled wall (s) | ddp's modeled wall to this ppl (s) |")
    print("|---|---:|---:|---:|---:|---:|")
    for p in points:
        name = (curve_name if p == "ddp" else p + suffix)
        r = runs.get(name)
        if not r:
            continue
        ppl = r["end"]["val_ppl"]
        t = ddp_time_to(curve, compute, ppl) if curve else None
        print("| %s | %.1f | %.3g | %.1f | %.1f | %s |" % (p, ppl, r["end"]["inter_silo_bytes"], r["comm"], compute + r["comm"],
                                                        "%.1f" % t if t is not None else "-"))
    print()
mixed = sorted(n for n in runs if n.startswith("mixed-"))
mixed = [n for n in mixed if not n.startswith("mixed-server-")] + [n for n in mixed if n.startswith("mixed-server-")]
if mixed:
    print("**Mixed links: silo 0 at 10 Mbps, silos 1-3 at 1 Gbps (10 ms), H = 20 (server-: the server topology, its link 1 Gbps)**\n")
    print("| run | codecs sent (silo 0 / others, last round) | final val ppl | inter-silo bytes | modeled comm (s) | modeled wall (s) |")
    print("|---|---|---:|---:|---:|---:|")
    for n in mixed:
        r = runs[n]
        last = r["rounds"][-1]
        codecs = last.get("codec") or ["fp32"] * 4
        print("| %s | %s / %s | %.1f | %.3g | %.1f | %.1f |" % (n[6:], codecs[0], ",".join(sorted(set(codecs[1:]))),
                                                             r["end"]["val_ppl"], r["end"]["inter_silo_bytes"], r["comm"],
                                                             compute + r["comm"]))
