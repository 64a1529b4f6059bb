#!/usr/bin/python3
"""claims_table.py: doc/results.md's "Closing the gap" tables from the claims sweeps' runs.

usage: claims_table.py [RUNS_DIR]        (default: runs; Debian's python3: /usr/bin/python3)
       claims_table.py --ablation SWEEP.toml [REFERENCE_CONFIG]   (default reference: ddp)

Reads the end and eval records of the runs that benchmarks/claims.sh leaves under RUNS_DIR
(claims/, claims-4x/, claims-4x-centralized/, scaling/: CONFIG/seed-N/metrics.jsonl) and
prints, in markdown:
  1. per configuration: seeds, final perplexity on the whole validation set (mean ± sample
     standard deviation over seeds [min, max]), the mean per-document standard error of one run,
     the gap to ddp paired by seed (the same seed gives both runs the same initial weights and
     data order), inter-silo bytes and their ratio to ddp's, modeled wall and compute time, and
     how often clipping fired;
  2. the claims of the papers against these measurements, with the issue's goals checked.
With --ablation: a row per configuration of one sweep (its first seed's run): what it is (its
deck and overrides, or the earlier configuration of its deck it differs from least and how),
final perplexity ± the run's per-document standard error, the gap to the reference
configuration, bytes and their ratio to the reference's, and how often clipping fired.
Missing runs are left out (a claim whose runs are missing says so); nothing is extrapolated."""
import math
import os
import statistics
import sys

from compare_runs import reach, records  # the quick start's: interpolation in log perplexity
from plot_runs import split_final  # the periodic evaluations, without the whole-set final


def load(runs, sweep, config):
    """{seed: (end record, eval records)} for the finished runs of one configuration."""
    d = os.path.join(runs, sweep, config)
    out = {}
    if not os.path.isdir(d):
        return out
    for name in sorted(os.listdir(d)):
        run = os.path.join(d, name)
        if not name.startswith("seed-") or not os.path.isfile(os.path.join(run, "metrics.jsonl")):
            continue
        ends = records(run, "end")
        if ends:
            out[int(name[5:])] = (ends[-1], records(run, "eval"))
    return out


def spread(xs):
    if not xs:
        return None
    return (statistics.fmean(xs), statistics.stdev(xs) if len(xs) > 1 else None, min(xs), max(xs))


def pm(s, digits=1, unit=""):
    if s is None:
        return "–"
    mean, sd, lo, hi = s
    sd_txt = f" ± {sd:.{digits}f}" if sd is not None else ""
    rng = f" [{lo:.{digits}f}, {hi:.{digits}f}]" if sd is not None else ""
    return f"{mean:.{digits}f}{unit}{sd_txt}{rng}"


class Row:
    def __init__(self, label, runs, sweep, config):
        self.label = label
        self.seeds = load(runs, sweep, config)

    def vals(self, key):
        return [e[key] for e, _ in self.seeds.values() if key in e]

    def ppl(self):
        return spread(self.vals("val_ppl"))

    def paired_gap(self, other):
        """Per-seed (self / other - 1) in percent over the seeds both have."""
        common = sorted(set(self.seeds) & set(other.seeds))
        return spread([100.0 * (self.seeds[s][0]["val_ppl"] / other.seeds[s][0]["val_ppl"] - 1.0)
                       for s in common])


def detail_table(rows, ref):
    """A row per configuration; gaps and byte ratios against the row ref (ddp)."""
    print("| run | seeds | final val ppl (mean ± sd [min, max]) | one run's SE | vs ddp (paired) | "
          "inter-silo MB | bytes vs ddp | modeled wall s | compute s | clipped steps |")
    print("|---|---|---|---|---|---|---|---|---|---|")
    for r in rows:
        if not r.seeds:
            print(f"| {r.label} | 0 | (not run) | | | | | | | |")
            continue
        against = ref.seeds and ref is not r
        gap = pm(r.paired_gap(ref), 1, "%") if against else "–"
        mb = statistics.fmean(r.vals("inter_silo_bytes")) / 1e6
        ratio = "–"
        if against and mb > 0:
            ratio = f"{statistics.fmean(ref.vals('inter_silo_bytes')) / 1e6 / mb:.1f}× less"
        se, clip = r.vals("val_ppl_se"), r.vals("clip_fraction")
        se_txt = f"{statistics.fmean(se):.1f}" if se else "–"
        clip_txt = f"{100 * statistics.fmean(clip):.0f}%" if clip else "–"
        print(f"| {r.label} | {len(r.seeds)} | {pm(r.ppl())} | {se_txt} | {gap} | {mb:.1f} | {ratio} | "
              f"{pm(spread(r.vals('modeled_wall_s')))} | {pm(spread(r.vals('compute_s')))} | {clip_txt} |")


def time_to(*rows):
    """(target, [modeled wall times per seed of each row]): the target is the worst last periodic
    perplexity of any run of the rows, which every run reaches (the worst at its end)."""
    periodic = [[split_final(ev)[0] for _, ev in r.seeds.values()] for r in rows]
    target = max(math.exp(ev[-1]["val_loss"]) for p in periodic for ev in p if ev)
    times = [[t for t in (reach(ev, math.log(target) + 1e-12) for ev in p) if t is not None] for p in periodic]
    return target, times


def yes(cond):
    return "yes" if cond else "no"


def mean_ppl(row):
    p = row.ppl()
    return None if p is None else p[0]


def describe(deck, ov, seen):
    """A configuration as the difference from the earlier one of the same deck that it differs
    from in the fewest keys ("as NAME, with k=v"), or as its deck and all its overrides when no
    earlier one is closer than that."""
    best = None
    for name, d, o in seen:
        if d != deck:
            continue
        diff = [k for k in ov if o.get(k) != ov[k]]
        gone = [k for k in o if k not in ov]
        n = len(diff) + len(gone)
        if n < len(ov) and (best is None or n < best[0]):
            best = (n, name, diff, gone)
    if best is None:
        return deck + (": " + ", ".join(f"`{k}={v}`" for k, v in ov.items()) if ov else "")
    _, name, diff, gone = best
    parts = [f"`{k}={ov[k]}`" for k in diff] + [f"without `{k}`" for k in gone]
    return f"as {name}, with " + ", ".join(parts) if parts else f"as {name}"


def ablation(toml_path, ref_name):
    import tomllib
    with open(toml_path, "rb") as f:
        sw = tomllib.load(f)
    out, seed = sw.get("out", "runs"), sw.get("seeds", [1])[0]
    common = set(sw.get("common", []))
    rows = []
    for c in sw.get("config", []):
        run = os.path.join(out, c["name"], f"seed-{seed}")
        end = records(run, "end") if os.path.isfile(os.path.join(run, "metrics.jsonl")) else []
        rows.append((c, end[-1] if end else None))
    ref = next((e for c, e in rows if c["name"] == ref_name), None)
    print(f"| configuration | deck and overrides (besides {', '.join(sorted(common)) or 'none'}) | "
          f"final val ppl ± SE | vs {ref_name} | inter-silo MB | bytes vs {ref_name} | clipped steps |")
    print("|---|---|---|---|---|---|---|")
    seen = []
    for c, e in rows:
        deck = os.path.basename(c.get("deck", sw.get("deck", "?")))
        ov = dict(o.split("=", 1) for o in c.get("overrides", []) if o not in common)
        what = describe(deck, ov, seen)
        seen.append((c["name"], deck, ov))
        if e is None:
            print(f"| {c['name']} | {what} | (not run) | | | | |")
            continue
        gap = f"{100 * (e['val_ppl'] / ref['val_ppl'] - 1):+.1f}%" if ref and c["name"] != ref_name else "–"
        mb = e["inter_silo_bytes"] / 1e6
        ratio = f"{ref['inter_silo_bytes'] / e['inter_silo_bytes']:.1f}× less" if ref and e["inter_silo_bytes"] and c["name"] != ref_name else "–"
        se = f" ± {e['val_ppl_se']:.1f}" if e.get("val_ppl_se") is not None else ""
        clip = f"{100 * e['clip_fraction']:.0f}%" if "clip_fraction" in e else "–"
        print(f"| {c['name']} | {what} | {e['val_ppl']:.1f}{se} | {gap} | {mb:.1f} | {ratio} | {clip} |")
    return 0


def main(argv):
    if len(argv) > 2 and argv[1] == "--ablation":
        return ablation(argv[2], argv[3] if len(argv) > 3 else "ddp")
    runs = argv[1] if len(argv) > 1 else "runs"
    R = [
        Row("recipe (federated), by genre", runs, "claims", "recipe"),
        Row("ddp", runs, "claims", "ddp"),
        Row("centralized", runs, "claims", "centralized"),
        Row("Photon's recipe (FedAvg 1.0, lr 3e-3, fp32)", runs, "claims", "photon"),
        Row("DiLoCo's recipe (Nesterov 0.7/0.9, lr 1e-3, fp32)", runs, "claims", "diloco"),
        Row("recipe with ddp's lr 3e-3 sqrt-scaled to the silo (1.5e-3)", runs, "claims", "recipe-lr-sqrt"),
        Row("recipe, IID", runs, "claims", "recipe-iid"),
        Row("recipe, Dirichlet(0.1)", runs, "claims", "recipe-dirichlet0.1"),
        Row("one-replica DiLoCo (1 silo of 4 ranks)", runs, "scaling", "one-replica"),
    ]
    R4 = [
        Row("4×: recipe (federated), by genre", runs, "claims-4x", "recipe"),
        Row("4×: ddp", runs, "claims-4x", "ddp"),
        Row("4×: centralized", runs, "claims-4x-centralized", "centralized"),
    ]
    S = [
        Row("1 silo × 1600 steps", runs, "scaling", "silos-1"),
        Row("2 silos × 800 steps", runs, "scaling", "silos-2"),
        Row("4 silos × 400 steps (the recipe)", runs, "claims", "recipe"),
        Row("8 silos × 200 steps", runs, "scaling", "silos-8"),
    ]

    print("### At 819,200 tokens (400 steps × 4 silos × 4 sequences × 128 tokens)\n")
    detail_table(R, R[1])
    print("\n### At 4× the tokens (3,276,800)\n")
    detail_table(R4, R4[1])
    print("\n### More silos, the same total tokens (each silo 1 rank × 4 sequences per step)\n")
    detail_table(S, R[1])

    rec, ddp, cen, pho, dil, _, iid, dirl, one = R
    rec4, ddp4, cen4 = R4
    print("\n### The claims against these runs\n")
    print("| claim (paper) | photon's measurement | holds here? |")
    print("|---|---|---|")

    def gap_txt(a, b):
        g = a.paired_gap(b)
        return "not run" if g is None else pm(g, 1, "%")

    def ratio(a, b):
        return statistics.fmean(b.vals("inter_silo_bytes")) / statistics.fmean(a.vals("inter_silo_bytes"))

    if rec.seeds and ddp.seeds and cen.seeds:
        g = rec.paired_gap(ddp)
        print(f"| federated reaches centralized / ddp perplexity (Photon) | recipe vs ddp {gap_txt(rec, ddp)}, "
              f"vs centralized {gap_txt(rec, cen)}, at {ratio(rec, ddp):.1f}× fewer bytes than ddp | "
              f"goal ≤ 5% of ddp: {yes(g[0] <= 5)}; ≥ 20× fewer bytes: {yes(ratio(rec, ddp) >= 20)} |")
    if rec4.seeds and ddp4.seeds:
        g = rec4.paired_gap(ddp4)
        cen_txt = f", vs centralized {gap_txt(rec4, cen4)}" if cen4.seeds else ""
        print(f"| ... and the gap shrinks with more tokens | at 4×: recipe vs ddp {gap_txt(rec4, ddp4)}{cen_txt}, "
              f"{ratio(rec4, ddp4):.1f}× fewer bytes ({len(rec4.seeds)} seed{'s' if len(rec4.seeds) > 1 else ''}) | goal ≤ 2% of ddp: "
              f"{yes(g[0] <= 2)}; ≥ 20× fewer bytes: {yes(ratio(rec4, ddp4) >= 20)} |")
    if pho.seeds and dil.seeds:
        # Photon claims to be faster than DiLoCo: the modeled wall time each takes to reach the
        # worst of their runs' last periodic perplexities (the periodic evaluations score the same
        # validation subset all along; the final one, on the whole set, is not on that curve).
        target, times = time_to(pho, dil)
        when = (f"; modeled wall s to reach ppl {target:.1f} (validation subset): Photon {pm(spread(times[0]))}, "
                f"DiLoCo {pm(spread(times[1]))}" if all(times) else "")
        print(f"| Photon's recipe beats DiLoCo's (Photon) | Photon {pm(pho.ppl())}, DiLoCo {pm(dil.ppl())}; "
              f"Photon vs DiLoCo {gap_txt(pho, dil)}{when} | "
              f"{'yes' if mean_ppl(pho) < mean_ppl(dil) else 'no'} |")
    if rec.seeds and iid.seeds and dirl.seeds:
        print(f"| robust to heterogeneous data (Photon) | recipe by genre {pm(rec.ppl())}, Dirichlet(0.1) "
              f"{pm(dirl.ppl())}, IID {pm(iid.ppl())}; genre vs IID {gap_txt(rec, iid)} | see text |")
    if one.seeds and cen.seeds:
        g = one.paired_gap(cen)
        print(f"| one-replica DiLoCo beats data-parallel (Scaling Laws for DiLoCo) | one-replica {pm(one.ppl())} "
              f"vs centralized {pm(cen.ppl())}: {gap_txt(one, cen)} | goal ≤ centralized: "
              f"{'yes' if g[0] <= 0 else 'no'} |")
    got = [r for r in S if r.seeds]
    if len(got) > 1:
        walls = ", ".join(f"{r.label.split(' ×')[0]} {statistics.fmean(r.vals('modeled_wall_s')):.1f} s "
                          f"(ppl {mean_ppl(r):.1f})" for r in got)
        target, times = time_to(*got)
        reached = ", ".join(f"{r.label.split(' ×')[0]} {pm(spread(t))}" for r, t in zip(got, times))
        print(f"| more silos, same tokens: less wall time (Photon) | modeled wall of the whole run: {walls}; "
              f"modeled wall s to reach ppl {target:.1f} (validation subset): {reached} | see text |")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
