#!/usr/bin/env python3
"""dc_figures.py: the figures of validation/gpu/device-check.sh, read from the programs' outputs.
Each subcommand prints one JSON object on stdout and exits 1 when its check fails:

  testgpu OUT                     test_gpu's "ok/FAIL <check> rel err E (tol T)" lines, with
                                  the precision/bias block each belongs to
  losses A B TOL                  metrics.jsonl of runs A and B: every step loss and eval loss
                                  within relative TOL (max relative difference reported)
  params A B                      final.h5 params of runs A and B bitwise equal
  bench OUT PEAK_TFLOPS           bench_gpu's report(s): tokens/s, ms/step, TFLOP/s, memory;
                                  MFU recomputed against PEAK_TFLOPS (bench_gpu uses the data
                                  sheet's 989 for an H200; the lent one measures about 790)
  hf ST_DIR LOGITS TOKEN...       transformers' GPT2LMHeadModel from photon's safetensors export:
                                  its logits against photon's (dump_logits), rel err <= 1e-4
  summary RESULTS.jsonl DRY       the steps' records merged into one summary object
"""
import json
import re
import sys


def emit(obj, ok=True):
    obj["ok"] = bool(ok)
    print(json.dumps(obj))
    sys.exit(0 if ok else 1)


def testgpu(path):
    checks, block = [], ""
    pat = re.compile(r"^\s+(ok|FAIL)\s+(.+?)\s+rel err (\S+) \(tol (\S+)\)")
    device = None
    for line in open(path, errors="replace"):
        if line.startswith("test_gpu:"):
            device = line.split(":", 1)[1].strip()
        m = pat.match(line)
        if m:
            checks.append({"block": block, "check": m.group(2), "ok": m.group(1) == "ok",
                           "rel_err": float(m.group(3)), "tol": float(m.group(4))})
        elif line.strip() and not line.startswith(" "):
            block = line.strip()
    failed = [c for c in checks if not c["ok"]]
    emit({"device": device, "checks": len(checks), "failed": len(failed), "results": checks},
         bool(checks) and not failed)


def records(path):
    return [json.loads(line) for line in open(path) if line.strip()]


def losses(a, b, tol):
    ra, rb = records(a), records(b)
    sa = [r["loss"] for r in ra if r["type"] == "step"]
    sb = [r["loss"] for r in rb if r["type"] == "step"]
    ea = [r["val_loss"] for r in ra if r["type"] == "eval"]
    eb = [r["val_loss"] for r in rb if r["type"] == "eval"]
    ok = len(sa) == len(sb) > 0 and len(ea) == len(eb)
    rel = [abs(x - y) / max(abs(y), 1e-12) for x, y in zip(sa + ea, sb + eb)]
    worst = max(rel) if rel else float("inf")
    emit({"steps": len(sa), "evals": len(ea), "max_rel_diff": worst, "tol": tol,
          "final_loss": [sa[-1] if sa else None, sb[-1] if sb else None],
          "final_val_loss": [ea[-1] if ea else None, eb[-1] if eb else None]},
         ok and worst <= tol)


def params(a, b):
    import h5py
    import numpy as np
    pa = h5py.File(a, "r")["params"][...]
    pb = h5py.File(b, "r")["params"][...]
    same = pa.shape == pb.shape and pa.tobytes() == pb.tobytes()
    diff = float(np.abs(pa - pb).max()) if pa.shape == pb.shape else None
    emit({"bitwise_equal": same, "max_abs_diff": diff, "n": int(pa.size)}, same)


def bench(path, peak):
    runs, cur = [], None
    text = open(path, errors="replace").read()
    for line in text.splitlines():
        m = re.match(r"model L=(\d+) C=(\d+) NH=(\d+) T=(\d+) V=(\d+) bias=(\d): (\d+) parameters.*B=(\d+), (\w+)", line)
        if m:
            keys = ("L", "C", "NH", "T", "V", "bias", "parameters", "B")
            cur = dict(zip(keys, map(int, m.groups()[:8])), precision=m.group(9))
            runs.append(cur)
            continue
        if cur is None:
            continue
        m = re.search(r"(\d+) steps in ([\d.]+) s: (\d+) tokens/s, ([\d.]+) ms/step, last loss ([-\d.naif]+)", line)
        if m:
            cur.update(steps=int(m.group(1)), tokens_per_s=float(m.group(3)),
                       ms_per_step=float(m.group(4)), last_loss=float(m.group(5)))
        m = re.search(r"([\d.]+) TFLOP/s \(([\d.e+]+) FLOP/token\)", line)
        if m:
            cur.update(tflops=float(m.group(1)), flop_per_token=float(m.group(2)),
                       peak_tflops=peak, mfu=float(m.group(1)) / peak)
        m = re.search(r"memory: model ([\d.]+) GiB, device in use ([\d.]+) of ([\d.]+) GiB", line)
        if m:
            cur.update(model_gib=float(m.group(1)), in_use_gib=float(m.group(2)), total_gib=float(m.group(3)))
    fits = [dict(zip(("L", "C", "NH"), map(int, f[:3])), plan_gib=float(f[3]), fits=f[4] == "fits")
            for f in re.findall(r"L=(\d+) C=(\d+) NH=(\d+): plan ([\d.]+) GiB (fits|does not fit)", text)]
    dev = re.search(r"^device: (.*?), ([\d.]+) GiB", text, re.M)
    emit({"device": dev.group(1) if dev else None, "runs": runs, "ladder": fits},
         bool(runs) and all("tokens_per_s" in r for r in runs))


def hf(st_dir, logits_path, tokens):
    import numpy as np
    import torch
    from transformers import GPT2LMHeadModel
    model = GPT2LMHeadModel.from_pretrained(st_dir, torch_dtype=torch.float32).eval()
    ids = [int(t) for t in tokens]
    with torch.no_grad():
        got = model(torch.tensor([ids])).logits[0].numpy()
    want = np.fromfile(logits_path, dtype=np.float32).reshape(len(ids), -1)
    err = float(np.abs(got - want).max() / np.abs(want).max()) if got.shape == want.shape else float("inf")
    import transformers
    emit({"loader": "transformers " + transformers.__version__ + " GPT2LMHeadModel",
          "tokens": len(ids), "vocab": int(want.shape[1]), "rel_err": err, "tol": 1e-4}, err <= 1e-4)


def summary(path, dry):
    steps = {}
    for line in open(path):
        r = json.loads(line)
        steps[r.pop("step")] = r
    count = {s: sum(1 for r in steps.values() if r["status"] == s) for s in ("pass", "fail", "skip", "timeout")}
    out = {"dry_run": dry == "1", "steps": steps, "passed": count["pass"],
           "failed": count["fail"] + count["timeout"], "skipped": count["skip"]}
    try:  # photon against PyTorch compiled, same model, side by side
        p = steps["3_bench_gpu"]["figures"]["runs"][0]["tokens_per_s"]
        t = steps["3_torch_compile"]["figures"]["tokens_per_s"]
        out["photon_over_torch_tokens_per_s"] = p / t
    except (KeyError, IndexError, TypeError, ZeroDivisionError):
        pass
    emit(out)


if __name__ == "__main__":
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd == "testgpu":
        testgpu(args[0])
    elif cmd == "losses":
        losses(args[0], args[1], float(args[2]))
    elif cmd == "params":
        params(args[0], args[1])
    elif cmd == "bench":
        bench(args[0], float(args[1]))
    elif cmd == "hf":
        hf(args[0], args[1], args[2:])
    elif cmd == "summary":
        summary(args[0], args[1])
    else:
        sys.exit("dc_figures.py: unknown subcommand " + cmd)
