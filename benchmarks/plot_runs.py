#!/usr/bin/python3
"""plot_runs.py: validation perplexity of photon runs against tokens and against modeled wall time.

usage: plot_runs.py -o OUT.png RUN_DIR [RUN_DIR ...]
Reads RUN_DIR/metrics.jsonl ("eval" records); labels are the run directories' names. The
periodic evaluations (on a subset of the validation set: [eval] tokens) are joined by a line;
a final evaluation on a different number of tokens (the whole set: [eval] final_tokens) is a
star of the same colour, not joined to them: the two measure different token sets.
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


def split_final(rows):
    """(periodic evaluations, the final one or None): the last record is the final evaluation
    when it was scored on a different token count than the ones before it."""
    if len(rows) > 1 and rows[-1].get("eval_tokens") != rows[-2].get("eval_tokens"):
        return rows[:-1], rows[-1]
    return rows, None


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
        rows, final = split_final(rows)
        ppl = [math.exp(r["val_loss"]) for r in rows]
        for ax, key in ((ax1, "tokens"), (ax2, "modeled_wall_s")):
            line, = ax.plot([r[key] for r in rows], ppl, marker="o", ms=3, label=label)
            if final is not None:
                ax.plot([final[key]], [math.exp(final["val_loss"])], marker="*", ms=11, ls="none",
                        color=line.get_color(), label=f"{label}: final, {final.get('eval_tokens', '?')} tokens")
    ax1.set_xlabel("tokens")
    ax2.set_xlabel("modeled wall time (s)")
    for ax in (ax1, ax2):
        ax.set_ylabel("validation perplexity")
        ax.set_yscale("log")
        ax.grid(alpha=0.3)
        ax.legend(fontsize=8)
    fig.suptitle((a.title + ": " if a.title else "") +
                 "lines: periodic evaluations on a validation subset; stars: the final one on the whole set",
                 fontsize=10)
    fig.tight_layout()
    fig.savefig(a.output, dpi=110)
    print(a.output)


if __name__ == "__main__":
    main()
