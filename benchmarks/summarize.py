#!/usr/bin/python3
"""summarize.py RUNS_DIR: a Markdown table of every run under RUNS_DIR (its metrics.jsonl "end"
record): tokens, final validation perplexity, inter-silo bytes and their ratio to the ddp run of
the same link, measured compute time, modeled wall time."""
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
    print("| run | tokens | final val ppl | inter-silo MB | vs ddp bytes | compute s | modeled wall s |")
    print("|---|---|---|---|---|---|---|")
    for name, r in rows:
        link = name.rsplit("-", 1)[-1]
        b = r["inter_silo_bytes"]
        ratio = "%.0fx less" % (ddp[link] / b) if link in ddp and b > 0 and not name.startswith("ddp") else "-"
        print("| %s | %d | %.2f | %.1f | %s | %.1f | %.1f |" % (
            name, r["tokens"], math.exp(r["val_loss"]), b / 1e6, ratio, r["compute_s"], r["modeled_wall_s"]))


if __name__ == "__main__":
    main()
