#!/bin/sh
# test_sweep.sh: benchmarks/sweep (doc/user-guide.md, "Sweeps") on the tiny deck, 2 configurations
# (one [[config]], one from a [grid]) x 2 seeds, run from the work directory (relative paths):
#   A. run --dry-run lists the 4 runs with their commands (seed keys, run.dir, checkpoint
#      frequency) and creates nothing; slurm --print writes an array of the 4 (--array=0-3%2)
#   B. run --index 3 --stop-after-rounds 1 stops that run after its first round, checkpointed,
#      without final.h5; `run` then completes all 4, resuming that one (--resume latest), whose
#      final weights and metrics equal those of photon run by hand, uninterrupted, with the
#      overrides the sweep should give it; the two seeds give different weights
#   C. a second `run` skips all 4 and touches no file (sizes, mtimes and checksums unchanged)
#   D. a configuration whose overrides changed is removed and run afresh; a failing one makes
#      the exit status 1, is named with photon's message and its log, and does not stop the
#      others; slurm --print then lists only the pending runs' indices
#   E. table: sweep.csv (a row per run, with its status), summary.csv and summary.md (mean ±
#      sample std, min, max over seeds) agree with numpy on the runs' end records; sweep.png
# Skips (77) without h5py, or without tomllib/matplotlib in /usr/bin/python3 (the sweep's Python).
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
need_h5py
/usr/bin/python3 -c 'import tomllib, matplotlib' 2>/dev/null ||
  { echo "SKIP: /usr/bin/python3 lacks tomllib (3.11) or matplotlib"; exit 77; }
SWEEP=$S/benchmarks/sweep
work_dir sweep
gen_corpus 6 3
prep_tiny "$work/d.h5" --silos 2 --partition iid --vocab-size 300
tiny_deck "$work/t.deck" "$work/d.h5" federation.silos=2
cd "$work"
cat >s.toml <<EOF
deck = "t.deck"
ranks = 2
out = "runs"
photon = "$PHOTON"
launcher = "$LAUNCH {ranks}"
seeds = [1, 2]
common = ["eval.every=1"]
checkpoint_every = 1
[[config]]
name = "fedavg"
overrides = ["federation.outer_lr=1.0"]
[grid]
"federation.outer" = ["nesterov"]
EOF
sweep() { "$SWEEP" "$@" >out 2>err; }
sweep_ok() { sweep "$@" || { cat out err; fail "sweep $* exited $?"; }; }

# ---- A. dry run, Slurm script
sweep_ok run s.toml --dry-run
[ "$(grep -c ': new$' out)" = 4 ] || { cat out; fail "A: --dry-run does not list 4 new runs"; }
grep -qF "t.deck eval.every=1 federation.outer=nesterov run.seed=2 data.seed=2 run.dir=runs/outer=nesterov/seed-2 checkpoint.every_rounds=1" out ||
  { cat out; fail "A: --dry-run: not the command of run 3"; }
[ ! -e runs ] || fail "A: --dry-run created $work/runs"
sweep_ok slurm s.toml --print --parallel 2
grep -qx '#SBATCH --array=0-3%2' out && grep -qx '#SBATCH --ntasks=2' out &&
  grep -qF "run $work/s.toml --index \"\$SLURM_ARRAY_TASK_ID\"" out || { cat out; fail "A: slurm --print"; }
sed '$d' out | cmp -s - runs/slurm/sweep-array.sbatch || fail "A: the printed script is not the one written"
check A "--dry-run lists 4 commands and runs nothing; slurm --print: --array=0-3%2"

# ---- B. an interrupted run resumes to the uninterrupted run's weights
sweep_ok run s.toml --index 3 --stop-after-rounds 1
r3=runs/outer=nesterov/seed-2
[ -f $r3/checkpoints/ckpt-000001.h5 ] && [ ! -e $r3/final.h5 ] && ! grep -q '"type":"end"' $r3/metrics.jsonl ||
  { cat out err; fail "B: run 3 did not stop after round 1 with a checkpoint"; }
[ ! -e runs/fedavg ] || fail "B: --index 3 ran other runs"
sweep_ok run s.toml
grep -q '^\[3\] outer=nesterov seed 2: resuming' out && grep -q -- '--resume latest$' $r3/log.txt &&
  grep -q 'resumed from .*ckpt-000001.h5' $r3/log.txt || { cat out $r3/log.txt; fail "B: run 3 was not resumed"; }
for r in runs/fedavg/seed-1 runs/fedavg/seed-2 runs/outer=nesterov/seed-1 $r3; do
  grep -q '"type":"end"' $r/metrics.jsonl && [ -f $r/final.h5 ] || { cat out err; fail "B: $r did not complete"; }
done
DECK=$work/t.deck
train 2 byhand eval.every=1 federation.outer=nesterov run.seed=2 data.seed=2
same_params byhand "$r3" && same_metrics byhand "$r3" || fail "B: resumed run 3 != photon by hand, uninterrupted"
! same_params runs/fedavg/seed-1 runs/fedavg/seed-2 >/dev/null || fail "B: seeds 1 and 2 gave the same weights"
check B "stopped after round 1, resumed: == uninterrupted photon with the same overrides; seeds differ"

# ---- C. a second run skips every run and leaves their files alone
listing() { find runs -path runs/slurm -prune -o -type f -printf '%p %s %T@\n' | sort; find runs -name '*.h5' -o -name '*.jsonl' | sort | xargs sha256sum; }
listing >before
sweep_ok run s.toml
[ "$(grep -c 'complete, skipped$' out)" = 4 ] && grep -q '^sweep: 4 skipped$' out || { cat out err; fail "C: not 4 skipped"; }
listing >after
cmp -s before after || { diff before after; fail "C: the second run touched files"; }
check C "a second run skips all 4; no file changed (size, mtime, sha256)"

# ---- D. a changed configuration runs afresh; a failing one is reported, the rest go on
touch runs/fedavg/seed-1/marker
old=$(sha256sum runs/fedavg/seed-1/final.h5)
cat >d.toml <<EOF
$(sed -n '1,8p' s.toml)
[[config]]
name = "broken"
overrides = ["model.heads=3"]
[[config]]
name = "fedavg"
overrides = ["federation.outer_lr=0.9"]
[grid]
"federation.outer" = ["nesterov"]
EOF
st=0; sweep run d.toml || st=$?
[ $st = 1 ] || { cat out err; fail "D: exit status $st with a failed run, expected 1"; }
grep -qF "broken seed 1: FAILED (exit status 2); log: runs/broken/seed-1/log.txt" err &&
  grep -qF "is not a multiple of model.heads = 3" err && grep -qF "failed: broken seed 2: runs/broken/seed-2/log.txt" err &&
  grep -qF "is not a multiple of model.heads = 3" runs/broken/seed-2/log.txt || { cat out err; fail "D: the failure is not reported"; }
grep -qF "fedavg seed 1: its deck, ranks or overrides changed" out && [ ! -e runs/fedavg/seed-1/marker ] &&
  [ "$(sha256sum runs/fedavg/seed-1/final.h5)" != "$old" ] && grep -q '^sweep: 2 done, 2 skipped, 2 failed$' out ||
  { cat out err; fail "D: the changed configuration was not run afresh after the failed one"; }
sweep_ok slurm d.toml --print
grep -qx '#SBATCH --array=0-1' out || { cat out; fail "D: slurm --print should list the pending runs 0-1"; }
check D "changed overrides: removed and rerun; a failure: exit 1, named, logged, the rest go on; slurm lists the pending"

# ---- E. the table, recomputed from the end records
sweep_ok table d.toml -o tab
/usr/bin/python3 - <<'PYEOF' || exit 1
import csv, json, numpy as np
def end(d):
    return [json.loads(l) for l in open(d + "/metrics.jsonl") if '"type":"end"' in l][-1]
rows = list(csv.DictReader(open("tab/sweep.csv")))
assert [(r["config"], r["seed"], r["status"]) for r in rows] == [
    ("broken", "1", "failed"), ("broken", "2", "failed"), ("fedavg", "1", "done"), ("fedavg", "2", "done"),
    ("outer=nesterov", "1", "done"), ("outer=nesterov", "2", "done")], rows
summary = {r["config"]: r for r in csv.DictReader(open("tab/summary.csv"))}
md = open("tab/summary.md").read()
assert summary["broken"]["done"] == "0" and "| broken | 0/2 |" in md
g = lambda x: f"{x:.4g}"
for name in ("fedavg", "outer=nesterov"):
    ends = [end(f"runs/{name}/seed-{s}") for s in (1, 2)]
    assert summary[name]["done"] == "2", summary[name]
    line = next(l for l in md.splitlines() if l.startswith(f"| {name} | 2/2 |"))
    for k in ("val_ppl", "inter_silo_bytes", "modeled_wall_s", "tokens", "val_loss"):
        v = np.array([e[k] for e in ends], dtype=float)
        want = (v.mean(), v.std(ddof=1), v.min(), v.max())
        got = [float(summary[name][f"{k}_{s}"]) for s in ("mean", "std", "min", "max")]
        assert np.allclose(got, want, rtol=1e-12, atol=0), (name, k, got, want)
        if k != "val_loss":
            cell = f"{g(want[0])} ± {g(want[1])} [{g(want[2])}, {g(want[3])}]"
            assert cell in line, (name, k, cell, line)
    assert ends[0]["val_ppl"] != ends[1]["val_ppl"]  # a spread to measure
png = open("tab/sweep.png", "rb").read()
assert png[:8] == b"\x89PNG\r\n\x1a\n" and len(png) > 10000, len(png)
print("  table: sweep.csv 6 rows, summary.csv and summary.md mean/std/min/max == numpy's; sweep.png")
PYEOF
check E "table: CSV, markdown and PNG agree with the end records"
echo "test_sweep: $passed passed, 0 failed"
