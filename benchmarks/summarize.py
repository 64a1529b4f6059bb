#!/usr/bin/python3
"""summarize.py RUNS_DIR: Markdown tables of the runs under RUNS_DIR.

1. Every run (its metrics.jsonl "end" record): tokens, final validation perplexity, inter-silo
   bytes and their ratio to the ddp run of the same link, measured compute time, modeled
   communication time, modeled wall time.
2. For each link (run names ending in -1000M, -100M): the modeled wall time and the tokens that
   each run needs to reach the final perplexity of fed-genre on that link (interpolated linearly
   in log perplexity between evaluations; "not reached" if it never gets there)."""
import json
import math
import os
import sys


def end_record(path):
    with open(path) as f:
        for line in f:
            r = json.loads(line)
            if r.get("type") == "end":
                return r
    return None


def records(path, kind):
    with open(path) as f:
        return [r for r in map(json.loads, f) if r.get("type") == kind]


def reach(evals, target, key):
    """The value of `key` where validation perplexity first reaches `target` (interpolated)."""
    prev = None
    for e in evals:
        if e["val_ppl"] <= target:
            if prev is None:
                return e[key]
            a, b = math.log(prev["val_ppl"]), math.log(e["val_ppl"])
            t = (a - math.log(target)) / (a - b) if a != b else 1.0
            return prev[key] + t * (e[key] - prev[key])
        prev = e
    return None


def time_to_target(root, names):
    links = sorted({n.rsplit("-", 1)[-1] for n in names if n.startswith("fed-genre-")}, key=lambda l: -int(l.rstrip("M")))
    for link in links:
        ref = records(os.path.join(root, "fed-genre-" + link, "metrics.jsonl"), "eval")
        if not ref:
            continue
        target = ref[-1]["val_ppl"]
        print()
        print("Reaching perplexity %.1f (fed-genre's final) on %s links:" % (target, link))
        print()
        print("| run | modeled wall s | tokens |")
        print("|---|---|---|")
        for n in names:
            if not (n.endswith("-" + link) or n == "centralized"):
                continue
            ev = records(os.path.join(root, n, "metrics.jsonl"), "eval")
            t, k = reach(ev, target, "modeled_wall_s"), reach(ev, target, "tokens")
            print("| %s | %s | %s |" % (n, "%.1f" % t if t is not None else "not reached",
                                       "%.0f" % k if k is not None else "not reached"))


def main():
    root = sys.argv[1]
    rows = []
    for name in sorted(os.listdir(root)):
        p = os.path.join(root, name, "metrics.jsonl")
        if os.path.isfile(p):
            r = end_record(p)
            if r:
                rows.append((name, r))
    ddp = {n.rsplit("-", 1)[-1]: r["inter_silo_bytes"] for n, r in rows if n.startswith("ddp")}
    print("| run | tokens | final val ppl | inter-silo MB | vs ddp bytes | compute s | modeled comm s | modeled wall s |")
    print("|---|---|---|---|---|---|---|---|")
    for name, r in rows:
        link = name.rsplit("-", 1)[-1]
        b = r["inter_silo_bytes"]
        ratio = "%.0fx less" % (ddp[link] / b) if link in ddp and b > 0 and not name.startswith("ddp") else "-"
        print("| %s | %d | %.2f | %.1f | %s | %.1f | %.1f | %.1f |" % (
            name, r["tokens"], math.exp(r["val_loss"]), b / 1e6, ratio, r["compute_s"],
            r["modeled_wall_s"] - r["compute_s"], r["modeled_wall_s"]))
    time_to_target(root, [n for n, _ in rows])


if __name__ == "__main__":
    main()
