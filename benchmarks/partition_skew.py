#!/usr/bin/python3
"""partition_skew.py: how non-IID a photon data file's silos are.

usage: partition_skew.py DATA.h5 [DATA.h5 ...]
For each file (its /documents table: source, silo, tokens) and each silo: the silo's mix of
sources (token shares) against the mix of all training tokens, as the total variation distance
TV = 1/2 sum_k |p_silo(k) - p_all(k)| (0: the same mix as the whole, 1: disjoint sources) and
the effective number of sources exp(H(p_silo)). Prints a markdown table row per file: the
token-weighted mean TV over silos, its range, and the mean effective number of sources.
Debian's python3-h5py and python3-numpy; run with /usr/bin/python3."""
import sys

import h5py
import numpy as np


def skew(path):
    with h5py.File(path, "r") as f:
        d = f["documents"]
        source, silo, tokens = d["source"][()], d["silo"][()], d["tokens"][()].astype(float)
        partition = f.attrs.get("partition", b"?")
    partition = partition.decode() if isinstance(partition, bytes) else str(partition)
    train = silo >= 0
    K, S = int(source.max()) + 1, int(silo.max()) + 1
    mix = np.zeros((S, K))
    np.add.at(mix, (silo[train], source[train]), tokens[train])
    size = mix.sum(axis=1)
    overall = mix.sum(axis=0) / mix.sum()
    p = mix / size[:, None]
    tv = 0.5 * np.abs(p - overall).sum(axis=1)
    with np.errstate(divide="ignore", invalid="ignore"):
        ent = -np.nansum(np.where(p > 0, p * np.log(p), 0.0), axis=1)
    w = size / size.sum()
    return partition, S, float((w * tv).sum()), float(tv.min()), float(tv.max()), float((w * np.exp(ent)).sum()), K


def main():
    if len(sys.argv) < 2:
        sys.exit(__doc__)
    print("| data file | partition | silos | mean TV to the overall mix | TV range | effective sources per silo (of K) |")
    print("|---|---|---|---|---|---|")
    for path in sys.argv[1:]:
        part, S, tv, lo, hi, eff, K = skew(path)
        print(f"| {path} | {part} | {S} | {tv:.3f} | {lo:.3f} to {hi:.3f} | {eff:.1f} of {K} |")


if __name__ == "__main__":
    main()
