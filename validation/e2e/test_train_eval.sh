#!/bin/sh
# test_train_eval.sh: what the evaluations score and the standard errors beside them.
#   - periodic "eval" records score the [eval] tokens subset, the last round's and the "end" record
#     every validation window (eval_tokens = sum over sources of floor((n_s - 1) / T) * T, n_s from
#     the file); [eval] final_tokens limits the final one like tokens;
#   - photon eval final.h5 (1 and 2 ranks) reports the end record's loss and standard errors;
#   - an oracle: PyTorch recomputes every window's token losses from final.h5, assigns each window
#     to the validation document of /documents holding its first target, and gives the loss and
#     the per-document (ratio estimator) standard error overall and per source: photon's agree;
#   - a data file without doc_offsets: the units become windows (se_unit "window"), as the oracle
#     with one unit per window.
set -eu
. "$PHOTON_SRCDIR/validation/e2e/lib.sh"
need_h5py
have_torch=1
$PY -c 'import torch' 2>/dev/null || { have_torch=0; echo "note: no torch in $PY: the PyTorch oracle is skipped"; }
work_dir eval
gen_corpus 10 3
prep_tiny "$work/d.h5" --silos 2 --partition iid --vocab-size 300 --val-fraction 0.3
tiny_deck "$work/t.deck" "$work/d.h5" federation.silos=2 federation.local_steps=2 eval.every=1 eval.tokens=256
train 2 run
train 2 small eval.final_tokens=256
"$PHOTON" eval "$work/run/final.h5" --json >"$work/e1.json" || fail "photon eval --json"
"$LAUNCH" 2 "$PHOTON" eval "$work/run/final.h5" --json >"$work/e2.json" 2>"$work/log" ||
  { cat "$work/log"; fail "photon eval under mpirun"; }
"$PHOTON" eval "$work/run/final.h5" >"$work/table" || fail "photon eval (table)"
$PY - "$work/d.h5" "$work/d-nodocs.h5" <<'PYEOF' || fail "copy without doc_offsets"
import shutil, sys, h5py
shutil.copy(sys.argv[1], sys.argv[2])
with h5py.File(sys.argv[2], "r+") as f:
    for g in f["validation"].values():
        del g["doc_offsets"]
PYEOF
"$PHOTON" eval "$work/run/final.h5" --data "$work/d-nodocs.h5" --json >"$work/ew.json" 2>"$work/ew.err" ||
  { cat "$work/ew.err"; fail "photon eval on the file without doc_offsets"; }
grep -q "standard errors over windows" "$work/ew.err" || fail "no note that the units are windows: $(cat "$work/ew.err")"

$PY - "$work" $have_torch "$S/validation/tools" <<'PYEOF' || exit 1
import json, math, sys
import h5py, numpy as np
work, have_torch = sys.argv[1], sys.argv[2] == "1"
ok = True
def check(cond, what):
    global ok
    print(("ok    " if cond else "FAIL  ") + what)
    ok &= bool(cond)
def records(run, kind):
    return [r for r in map(json.loads, open(f"{work}/{run}/metrics.jsonl")) if r["type"] == kind]
T = 8
f = h5py.File(f"{work}/d.h5", "r")
names = [n.decode() if isinstance(n, bytes) else n for n in f["sources/names"][...]]
n_s = [f[f"validation/{n}/tokens"].shape[0] for n in names]
full = sum((n - 1) // T * T for n in n_s)
sub = sum(min((n - 1) // T, 256 // len(names) // T) * T for n in n_s)
evals, end = records("run", "eval"), records("run", "end")[0]
check(len(evals) == 3 and all(e["eval_tokens"] == sub for e in evals[:-1]),
      f"periodic evaluations score the subset: {[e['eval_tokens'] for e in evals[:-1]]} == {sub}")
check(evals[-1]["eval_tokens"] == full and end["eval_tokens"] == full and sub < full,
      f"the last round's and the end record score every window: {evals[-1]['eval_tokens']}, {end['eval_tokens']} == {full}")
keys = ("val_loss", "val_ppl", "val_loss_se", "val_ppl_se", "eval_tokens", "se_unit", "per_source", "per_source_se")
check(all(end[k] == evals[-1][k] for k in keys), "the end record carries the last round's evaluation")
check(end["se_unit"] == "document" and end["se_units"] == 15 and end["val_loss_se"] > 0
      and abs(end["val_ppl_se"] - end["val_ppl"] * end["val_loss_se"]) <= 1e-3 * end["val_ppl_se"] + 1e-4,
      f"document units (15), ppl se = ppl * loss se: {end['val_ppl']} ± {end['val_ppl_se']}")
small = records("small", "end")[0]
check(small["eval_tokens"] == sub, f"final_tokens = 256 limits the final evaluation: {small['eval_tokens']} == {sub}")
e1, e2, ew = (json.load(open(f"{work}/{x}.json")) for x in ("e1", "e2", "ew"))
rel = lambda a, b, tol: abs(a - b) <= tol * abs(b)
check(e1["tokens"] == full and rel(e1["val_loss"], end["val_loss"], 1e-6) and rel(e1["val_loss_se"], end["val_loss_se"], 1e-4),
      f"photon eval: {e1['val_loss']:.6f} ± {e1['val_loss_se']:.6f} == end {end['val_loss']:.6f} ± {end['val_loss_se']:.6f}")
check(all(rel(s["val_loss_se"], end["per_source_se"][s["name"]], 1e-4) for s in e1["sources"]),
      "photon eval's per-source standard errors == the end record's")
check(rel(e2["val_loss"], e1["val_loss"], 1e-6) and rel(e2["val_loss_se"], e1["val_loss_se"], 1e-6) and e2["se_units"] == 15,
      "2 ranks == 1 rank, loss and standard error")
table = open(f"{work}/table").read().split("\n")
over = table[-2].split()
check(over[0] == "overall" and abs(float(over[4]) - e1["val_loss_se"]) <= 1e-4, f"the table's overall row has the se: {table[-2]}")
check(ew["se_unit"] == "window" and ew["se_units"] == full // T and ew["val_loss"] == e1["val_loss"],
      f"without doc_offsets: windows as units ({ew['se_units']}), the same loss")

def ratio_se(L, N):
    L, N = np.asarray(L, float), np.asarray(N, float)
    keep = N > 0
    L, N = L[keep], N[keep]
    r = L.sum() / N.sum()
    k = len(L)
    return r, (math.sqrt(k / (k - 1) * ((L - r * N) ** 2).sum()) / N.sum() if k >= 2 else None)

if have_torch:
    import torch
    sys.path.insert(0, sys.argv[3])
    from torch_gpt import GPT
    from check_export import photon_shapes, split
    torch.set_num_threads(1)
    with h5py.File(f"{work}/run/final.h5", "r") as w:
        cfg = {k: int(w.attrs[k]) for k in ("num_layers", "num_heads", "channels", "max_seq_len", "vocab_size", "bias")}
        model = GPT(cfg, split(w["params"][...], photon_shapes(cfg)))
    d = f["documents"]
    silo, source, offset, ntok = (d[k][...] for k in ("silo", "source", "offset", "tokens"))
    docL, docN, winL = {}, {}, []          # per validation document; per window
    for s, name in enumerate(names):
        stream = f[f"validation/{name}/tokens"][...].astype(np.int64)
        nw = (len(stream) - 1) // T
        x = torch.tensor(np.stack([stream[i * T:i * T + T] for i in range(nw)]))
        y = torch.tensor(np.stack([stream[i * T + 1:i * T + T + 1] for i in range(nw)]))
        with torch.no_grad():
            logits = model(x, y)[0]
            tl = torch.nn.functional.cross_entropy(logits.reshape(-1, logits.size(-1)), y.reshape(-1),
                                                   reduction="none").reshape(nw, T).double().numpy()
        mine = [j for j in range(len(silo)) if silo[j] == -1 and source[j] == s]
        for i in range(nw):
            p = i * T + 1  # the first target; a document's span is its EOT and its text
            owner = [j for j in mine if offset[j] <= p < offset[j] + 1 + ntok[j]]
            assert len(owner) == 1, (name, i, owner)
            docL[owner[0]] = docL.get(owner[0], 0.0) + tl[i].sum()
            docN[owner[0]] = docN.get(owner[0], 0.0) + T
            winL.append(tl[i].sum())
        r_s, se_s = ratio_se([docL[j] for j in mine if j in docL], [docN[j] for j in mine if j in docN])
        got = [x for x in e1["sources"] if x["name"] == name][0]
        check(rel(got["val_loss"], r_s, 1e-5) and (se_s is None and got["val_loss_se"] is None or
                                                  se_s is not None and rel(got["val_loss_se"], se_s, 1e-4)),
              f"oracle, {name}: {r_s:.6f} ± {se_s} == photon {got['val_loss']:.6f} ± {got['val_loss_se']}")
    r, se = ratio_se(list(docL.values()), list(docN.values()))
    check(len(docL) == 15 and rel(e1["val_loss"], r, 1e-5) and rel(e1["val_loss_se"], se, 1e-4),
          f"oracle, overall over {len(docL)} documents: {r:.6f} ± {se:.6f} == photon {e1['val_loss']:.6f} ± {e1['val_loss_se']:.6f}")
    rw, sew = ratio_se(winL, [T] * len(winL))
    check(rel(ew["val_loss_se"], sew, 1e-4), f"oracle, windows as units: ± {sew:.6f} == photon ± {ew['val_loss_se']:.6f}")
sys.exit(0 if ok else 1)
PYEOF
echo "PASS: test_train_eval"
