#!/usr/bin/python3
"""compare_runs.py: the final table of a few photon runs side by side (the quick start's).

usage: compare_runs.py [--target RUN] RUN_DIR [RUN_DIR ...]
For each run (its metrics.jsonl): the final validation perplexity (with its standard error when
the run recorded one), tokens, inter-silo bytes, modeled wall time, and the modeled wall time
at which it first reached the --target run's (default: the first run's) last periodic
perplexity, interpolated linearly in log perplexity between its periodic evaluations ("not
reached" if it never got there). The periodic evaluations score one validation subset all run
long; the final one scores the whole set and is not on that curve (plot_runs.split_final).
Debian's python3; run with /usr/bin/python3."""
import argparse
import json
import math
import os

from plot_runs import split_final  # this script's directory is on sys.path


def records(run, kind):
    with open(os.path.join(run, "metrics.jsonl")) as f:
        return [r for r in map(json.loads, f) if r.get("type") == kind]


def reach(evals, target_loss):
    """Modeled wall time at which val_loss first falls to target_loss (None if never)."""
    prev = None
    for r in evals:
        if r["val_loss"] <= target_loss:
            if prev is None or prev["val_loss"] == r["val_loss"]:
                return r["modeled_wall_s"]
            f = (prev["val_loss"] - target_loss) / (prev["val_loss"] - r["val_loss"])
            return prev["modeled_wall_s"] + f * (r["modeled_wall_s"] - prev["modeled_wall_s"])
        prev = r
    return None


def main():
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--target", help="the run whose final perplexity the others must reach (default: the first)")
    ap.add_argument("runs", nargs="+")
    a = ap.parse_args()
    target = a.target or a.runs[0]
    goal = split_final(records(target, "eval"))[0][-1]["val_loss"]
    print(f"| run | final val ppl | tokens | inter-silo MB | modeled wall s | "
          f"wall s to ppl {math.exp(goal):.1f} (validation subset) |")
    print("|---|---|---|---|---|---|")
    for run in a.runs:
        end = records(run, "end")[0]
        se = end.get("val_ppl_se")
        ppl = f"{end['val_ppl']:.1f}" + (f" ± {se:.1f}" if se is not None else "")
        t = reach(split_final(records(run, "eval"))[0], goal + 1e-12)
        when = f"{t:.1f}" if t is not None else "not reached"
        print(f"| {os.path.basename(os.path.normpath(run))} | {ppl} | {end['tokens']:.0f} | {end['inter_silo_bytes'] / 1e6:.1f} | "
              f"{end['modeled_wall_s']:.1f} | {when} |")


if __name__ == "__main__":
    main()
