#!/usr/bin/env python3
"""gather.py: collect photon runs' results into one CSV and a plot.

usage: gather.py DIR [DIR ...] [-o OUT.csv] [--plot OUT.png]

Finds every metrics.jsonl under the DIRs (a run directory, or a directory of runs such as
jobs/scaling-study.sh's), takes its "start" record (mode, ranks, silos, parameters) and its last
"end" record (steps, tokens, val_loss, val_ppl, elapsed_s, modeled_wall_s, compute_s,
inter_silo_bytes), adds the model shape and federation settings from the run's deck.effective,
and writes one row per run. Runs without an "end" record (still running, or failed) are listed
on stderr and left out. The plot shows final validation loss against silos, one line per model
size, and modeled wall time. Exit status: 0, or 2 when no finished run was found.
"""
import argparse
import csv
import json
import os
import sys

DECK_KEYS = ["model.layers", "model.heads", "model.channels", "model.seq_len", "optim.batch_size",
             "federation.mode", "federation.local_steps", "federation.outer", "run.steps"]
START_KEYS = ["mode", "ranks", "silos", "parameters"]
END_KEYS = ["steps", "tokens", "val_loss", "val_ppl", "elapsed_s", "modeled_wall_s", "compute_s",
            "inter_silo_bytes"]


def read_deck(path):
    values, section = {}, ""
    if not os.path.exists(path):
        return values
    for line in open(path):
        line = line.split("#", 1)[0].strip()
        if line.startswith("[") and line.endswith("]"):
            section = line[1:-1].strip()
        elif "=" in line:
            k, v = line.split("=", 1)
            values[f"{section}.{k.strip()}"] = v.strip()
    return values


def read_run(metrics):
    start, end = {}, None
    for line in open(metrics):
        try:
            r = json.loads(line)
        except json.JSONDecodeError:
            continue  # a line cut by a crash
        if r.get("type") == "start" and not start:
            start = r
        elif r.get("type") == "end":
            end = r
    return start, end


def gather(dirs):
    rows, unfinished = [], []
    for root in dirs:
        for dirpath, _, files in sorted(os.walk(root)):
            if "metrics.jsonl" not in files:
                continue
            start, end = read_run(os.path.join(dirpath, "metrics.jsonl"))
            if end is None:
                unfinished.append(dirpath)
                continue
            deck = read_deck(os.path.join(dirpath, "deck.effective"))
            row = {"run": dirpath}
            row.update({k: start.get(k, "") for k in START_KEYS})
            row.update({k: deck.get(k, "") for k in DECK_KEYS})
            row.update({k: end.get(k, "") for k in END_KEYS})
            rows.append(row)
    return rows, unfinished


def plot(rows, path):
    import matplotlib
    matplotlib.use("Agg")
    import matplotlib.pyplot as plt
    fig, (a, b) = plt.subplots(1, 2, figsize=(10, 4))
    sizes = sorted({(int(r["model.layers"] or 0), int(r["model.channels"] or 0)) for r in rows})
    for L, C in sizes:
        pts = sorted((int(r["silos"]), float(r["val_loss"]), float(r["modeled_wall_s"] or 0)) for r in rows
                     if (int(r["model.layers"] or 0), int(r["model.channels"] or 0)) == (L, C))
        label = f"L={L} C={C}"
        a.plot([p[0] for p in pts], [p[1] for p in pts], "o-", label=label)
        b.plot([p[0] for p in pts], [p[2] for p in pts], "o-", label=label)
    a.set(xlabel="silos", ylabel="final validation loss", title="quality")
    b.set(xlabel="silos", ylabel="modeled wall time (s)", title="time")
    for ax in (a, b):
        ax.grid(alpha=0.3)
        ax.legend()
    fig.tight_layout()
    fig.savefig(path, dpi=120)


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("dirs", nargs="+")
    ap.add_argument("-o", "--output", default="scaling.csv")
    ap.add_argument("--plot")
    args = ap.parse_args()
    rows, unfinished = gather(args.dirs)
    for d in unfinished:
        print(f"gather.py: {d}: no end record (running or failed): left out", file=sys.stderr)
    if not rows:
        print(f"gather.py: no finished run under {' '.join(args.dirs)}", file=sys.stderr)
        return 2
    with open(args.output, "w", newline="") as f:
        w = csv.DictWriter(f, fieldnames=list(rows[0]))
        w.writeheader()
        w.writerows(rows)
    print(f"gather.py: {len(rows)} runs -> {args.output}")
    if args.plot:
        plot(rows, args.plot)
        print(f"gather.py: plot -> {args.plot}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
