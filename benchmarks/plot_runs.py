#!/usr/bin/python3
"""plot_runs.py: validation perplexity of photon runs against tokens and against modeled wall time.

usage: plot_runs.py -o OUT.png RUN_DIR [RUN_DIR ...]
Reads RUN_DIR/metrics.jsonl ("eval" records); labels are the run directories' names.
Debian's python3-matplotlib; run with /usr/bin/python3."""
import argparse
import json
import math
import os
import sys

import matplotlib
matplotlib.use("Agg")
import matplotlib.pyplot as plt  # noqa: E402


def evals(run_dir):
    rows = []
    with open(os.path.join(run_dir, "metrics.jsonl")) as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") == "eval":
                rows.append(r)
    return rows


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("-o", "--output", required=True)
    ap.add_argument("--title", default="")
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    fig, (ax1, ax2) = plt.subplots(1, 2, figsize=(11, 4.2))
    for run in a.runs:
        rows = evals(run)
        if not rows:
            print(f"{run}: no eval records", file=sys.stderr)
            continue
        label = os.path.basename(os.path.normpath(run))
        tok = [r["tokens"] for r in rows]
        ppl = [math.exp(r["val_loss"]) for r in rows]
        wall = [r["modeled_wall_s"] for r in rows]
        ax1.plot(tok, ppl, marker="o", ms=3, label=label)
        ax2.plot(wall, ppl, marker="o", ms=3, label=label)
    ax1.set_xlabel("tokens")
    ax2.set_xlabel("modeled wall time (s)")
    for ax in (ax1, ax2):
        ax.set_ylabel("validation perplexity")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    if a.title:
        fig.suptitle(a.title)
    fig.tight_layout()
    fig.savefig(a.output, dpi=110)
    print(a.output)


if __name__ == "__main__":
    main()
