#!/bin/sh
# test_reports.sh: the scripts that turn runs into doc/results.md's tables, on inputs whose
# answers are known by hand:
#   A. benchmarks/claims_table.py on made-up runs (end and eval records of claims/, claims-4x/,
#      scaling/): mean ± sample sd over seeds, the gap to ddp paired by seed, the byte ratio,
#      the goals' verdicts on both sides of their thresholds, the time-to-perplexity interpolated
#      in log perplexity, and runs that are missing said to be missing; --ablation on a sweep
#      file: a row per configuration with its overrides, gap and byte ratio to the reference
#   B. benchmarks/compare_runs.py (the quick start's table): the time to the target's
#      perplexity; benchmarks/plot_runs.py draws a PNG and sets a final evaluation on another
#      token count (the whole set) apart from the periodic ones
#   C. benchmarks/partition_skew.py on a data file cut by source into as many silos as sources
#      (each silo one source: effective sources 1.0, mean TV = 1 - sum of squared token shares,
#      computed here from the /documents table) and on an IID cut of the same corpus (less skewed)
# Skips (77) without h5py/numpy in $PY.
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
need_h5py
work_dir reports
cd "$work"

# run SWEEP CONFIG SEED PPL BYTES [WALL:PPL[:TOKENS] ...]: a metrics.jsonl with an eval record
# per WALL:PPL pair (scored on TOKENS validation tokens, 100 unless given) and an end record
# (val_ppl PPL, inter_silo_bytes BYTES).
run() {
  d=runs/$1/$2/seed-$3; mkdir -p "$d"; ppl=$4; bytes=$5; shift 5
  $PY - "$d/metrics.jsonl" "$ppl" "$bytes" "$@" <<'EOF'
import json, math, sys
path, ppl, nbytes, evals = sys.argv[1], float(sys.argv[2]), int(sys.argv[3]), sys.argv[4:]
with open(path, "w") as f:
    for i, e in enumerate(evals):
        wall, p, ntok = (list(map(float, e.split(":"))) + [100])[:3]
        f.write(json.dumps({"type": "eval", "step": 10 * (i + 1), "val_loss": math.log(p), "val_ppl": p,
                            "modeled_wall_s": wall, "tokens": 1000 * (i + 1), "eval_tokens": int(ntok)}) + "\n")
    f.write(json.dumps({"type": "end", "steps": 40, "tokens": 819200, "val_loss": math.log(ppl), "val_ppl": ppl,
                        "val_ppl_se": 3.0, "inter_silo_bytes": nbytes, "modeled_wall_s": 40.0,
                        "compute_s": 30.0, "clip_fraction": 0.25}) + "\n")
EOF
}
run claims ddp 1 100 25000000; run claims ddp 2 102 25000000; run claims ddp 3 98 25000000
for s in 1 2 3; do run claims centralized $s 95 0; done
run claims recipe 1 105 1000000; run claims recipe 2 102 1000000; run claims recipe 3 110 1000000
run claims photon 1 120 2000000 10:200 20:100 40:120
run claims diloco 1 150 2000000 10:300 30:150 40:400:900   # a final on the whole set
run scaling one-replica 1 93 0
# claims-4x has the recipe and ddp, not the centralized run
run claims-4x recipe 1 101.5 6000000; run claims-4x ddp 1 100 100000000
table=$(/usr/bin/python3 "$S/benchmarks/claims_table.py" runs) || fail "claims_table.py: $table"
row() { printf '%s\n' "$table" | grep -F "| $1 |" | head -n 1; }
has() { printf '%s\n' "$2" | grep -qF -- "$3" || fail "$1: wants '$3' in: $2"; }
r=$(row "recipe (federated), by genre")
# paired by seed: gaps 105/100, 102/102, 110/98 - 1 = 5, 0, 12.245 %: mean 5.748, sample sd
# 6.157 (unpaired, 105.67/100 - 1 would be 5.667); 25 MB / 1 MB
has "recipe row" "$r" "| 3 | 105.7 ± 4.0 [102.0, 110.0] | 3.0 | 5.7% ± 6.2 [0.0, 12.2] | 1.0 | 25.0× less |"
has "recipe row" "$r" "| 25% |"
has "ddp row" "$(row ddp)" "| 3 | 100.0 ± 2.0 [98.0, 102.0] |"
has "IID row" "$(row 'recipe, IID')" "| 0 | (not run) |"
check A1 "per-configuration rows: mean ± sd over seeds, paired gap to ddp, byte ratio, clipping"
has "1x goal" "$table" "vs centralized 11.2% ± 4.3 [7.4, 15.8], at 25.0× fewer bytes than ddp | goal ≤ 5% of ddp: no; ≥ 20× fewer bytes: yes |"
has "4x goal" "$table" "at 4×: recipe vs ddp 1.5%, 16.7× fewer bytes (1 seed) | goal ≤ 2% of ddp: yes; ≥ 20× fewer bytes: no |"
has "one replica" "$table" "one-replica 93.0 vs centralized 95.0 ± 0.0 [95.0, 95.0]: -2.1% | goal ≤ centralized: yes |"
check A2 "the goals' verdicts on both sides of their thresholds (5.7% no, 1.5% yes, -2.1% yes; 25× and 16.7× fewer bytes)"
# the target is the worst last periodic perplexity (DiLoCo's 150; its final on the whole set, 400,
# is not on the curve): Photon passes it between its evaluations at 10 s (ppl 200) and 20 s (ppl
# 100), at 10 + 10 * log(200/150)/log(2) = 14.15 s; DiLoCo at 30 s
has "Photon vs DiLoCo" "$table" "modeled wall s to reach ppl 150.0 (validation subset): Photon 14.2, DiLoCo 30.0 | yes |"
check A3 "time to perplexity interpolated in log perplexity (14.2 s and 30.0 s)"
cat >abl.toml <<'EOF'
deck = "a.deck"
out = "runs/abl"
seeds = [7]
common = ["eval.every=0"]
[[config]]
name = "ddp"
overrides = ["federation.mode=ddp", "eval.every=0"]
[[config]]
name = "x"
deck = "b.deck"
overrides = ["optim.lr=1e-3"]
[[config]]
name = "missing"
overrides = []
[[config]]
name = "y"
overrides = ["federation.mode=ddp", "optim.lr=2e-3"]
EOF
run abl ddp 7 100 20000000; run abl x 7 103 1000000; run abl y 7 95 20000000
abl=$(/usr/bin/python3 "$S/benchmarks/claims_table.py" --ablation abl.toml) || fail "claims_table.py --ablation: $abl"
has "ablation" "$abl" "| ddp | a.deck: \`federation.mode=ddp\` | 100.0 ± 3.0 | – | 20.0 | – | 25% |"
has "ablation" "$abl" "| x | b.deck: \`optim.lr=1e-3\` | 103.0 ± 3.0 | +3.0% | 1.0 | 20.0× less | 25% |"
has "ablation" "$abl" "| missing | a.deck | (not run) |"
has "ablation" "$abl" "| y | as ddp, with \`optim.lr=2e-3\` | 95.0 ± 3.0 | -5.0% | 20.0 | 1.0× less | 25% |"
check A4 "--ablation: a row per configuration (as its closest earlier one, with what differs), its gap and byte ratio to ddp, the missing one said"

out=$(/usr/bin/python3 "$S/benchmarks/compare_runs.py" --target runs/claims/diloco/seed-1 \
      runs/claims/photon/seed-1 runs/claims/diloco/seed-1) || fail "compare_runs.py: $out"
has "compare_runs" "$out" "| seed-1 | 120.0 ± 3.0 | 819200 | 2.0 | 40.0 | 14.2 |"
has "compare_runs" "$out" "| seed-1 | 150.0 ± 3.0 | 819200 | 2.0 | 40.0 | 30.0 |"
check B "compare_runs.py: final table and the time to the target's perplexity"
/usr/bin/python3 "$S/benchmarks/plot_runs.py" -o runs.png runs/claims/photon/seed-1 runs/claims/ddp/seed-1 >/dev/null ||
  fail "plot_runs.py"
/usr/bin/python3 - "$S/benchmarks" <<'EOF' || fail "plot_runs.py split_final"
import sys
sys.path.insert(0, sys.argv[1])
from plot_runs import split_final
png = open("runs.png", "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000, len(png)
a, b, c = ({"step": 1, "eval_tokens": 100}, {"step": 2, "eval_tokens": 100}, {"step": 3, "eval_tokens": 900})
assert split_final([a, b, c]) == ([a, b], c)      # the whole-set final is set apart
assert split_final([a, b]) == ([a, b], None)      # every evaluation on the same tokens: one curve
assert split_final([c]) == ([c], None)
EOF
check B2 "plot_runs.py: a PNG; the final evaluation on another token count is set apart from the curve"

gen_corpus 8 5
prep_tiny "$work/src.h5" --silos 5 --partition by-source --vocab-size 300
prep_tiny "$work/iid.h5" --silos 5 --partition iid --vocab-size 300
skew=$(/usr/bin/python3 "$S/benchmarks/partition_skew.py" src.h5 iid.h5) || fail "partition_skew.py: $skew"
want=$($PY - <<'EOF'
import h5py, numpy as np
with h5py.File("src.h5", "r") as f:
    d = f["documents"]
    src, silo, tok = d["source"][()], d["silo"][()], d["tokens"][()].astype(float)
train = silo >= 0
assert all(len(set(src[train & (silo == s)])) == 1 for s in range(5)), "by-source should give each silo one source here"
share = np.bincount(src[train], weights=tok[train]) / tok[train].sum()
print(f"{1 - (share ** 2).sum():.3f}")
EOF
) || fail "oracle: $want"
has "by-source skew" "$skew" "| src.h5 | by-source | 5 | $want |"
has "by-source skew" "$skew" "| 1.0 of 5 |"
tv_src=$(printf '%s\n' "$skew" | awk -F'|' '/src.h5/ { print $5 + 0 }')
tv_iid=$(printf '%s\n' "$skew" | awk -F'|' '/iid.h5/ { print $5 + 0 }')
awk -v a="$tv_iid" -v b="$tv_src" 'BEGIN { exit !(a < b) }' || fail "IID TV $tv_iid not below by-source $tv_src"
check C "partition_skew.py: by source TV $want = 1 - sum share^2, one source per silo; IID $tv_iid below it"
echo "PASS: $passed checks"
