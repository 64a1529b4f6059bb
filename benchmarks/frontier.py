#!/usr/bin/env python3
"""frontier.py OUT: the table (markdown) and plot (OUT/frontier.png) of final validation
perplexity against inter-silo bytes for every complete run under OUT (compress_frontier.sh).
The ratio is ddp's inter-silo bytes over the run's (ddp: the run named 'ddp')."""
import json, os, sys

out = sys.argv[1]
rows = []
for name in sorted(os.listdir(out)):
    p = os.path.join(out, name, "metrics.jsonl")
    if not os.path.isfile(p):
        continue
    recs = [json.loads(l) for l in open(p)]
    end = [r for r in recs if r["type"] == "end"]
    if not end:
        continue
    rounds = [r for r in recs if r["type"] == "round"]
    # The largest single exchange: a round's bytes, or with streaming sync its largest fragment's.
    # ddp exchanges gradients every step: its round records hold H exchanges each.
    ddp = any(r["type"] == "start" and r.get("mode") == "ddp" for r in recs)
    per = (rounds[0]["step"] if rounds else 1) if ddp else 1
    peak = max((max((x["bytes"] for x in r["fragments"]), default=0) if "fragments" in r else r["bytes"] / per
                for r in rounds), default=0)
    rows.append((name, end[-1]["val_ppl"], end[-1]["inter_silo_bytes"], peak, end[-1]["modeled_wall_s"]))
ddp = {r[0]: r for r in rows}.get("ddp")
print("| run | final val ppl | vs ddp ppl | inter-silo bytes | fewer bytes than ddp | largest exchange (bytes) | modeled wall (s) |")
print("|---|---:|---:|---:|---:|---:|---:|")
for name, ppl, b, peak, wall in sorted(rows, key=lambda r: -r[2]):
    ratio = "%.0fx" % (ddp[2] / b) if ddp and b > 0 else "-"
    rel = "%.3f" % (ppl / ddp[1]) if ddp else "-"
    print("| %s | %.1f | %s | %.3g | %s | %.3g | %.1f |" % (name, ppl, rel, b, ratio, peak, wall))
try:
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, ax = plt.subplots(figsize=(8, 5))
    # Runs that repeat another's weights on other links (-100M, mixed-, -curve) are left out.
    for name, ppl, b, _, _ in [r for r in rows if not any(t in r[0] for t in ("100M", "mixed", "curve"))]:
        ax.scatter(b, ppl, marker="s" if name == "ddp" else ("x" if "noef" in name else "o"))
        ax.annotate(name, (b, ppl), fontsize=7, xytext=(3, 3), textcoords="offset points")
    ax.set_xscale("log")
    ax.set_yscale("log")
    ax.set_xlabel("inter-silo bytes (whole run)")
    ax.set_ylabel("final validation perplexity")
    ax.set_title("Brown by genre, 4 silos: perplexity vs bytes (x: no error feedback)")
    fig.tight_layout()
    fig.savefig(os.path.join(out, "frontier.png"), dpi=120)
except ImportError:
    pass
