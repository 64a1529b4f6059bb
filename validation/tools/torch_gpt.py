#!/usr/bin/env python3
"""torch_gpt.py: PyTorch autograd as the oracle for photon's CPU GPT model.

usage: torch_gpt.py DUMP.h5 [DUMP.h5 ...]

Each DUMP.h5 is written by validation/tools/gpt_dump (its header comment lists the datasets). This
script loads the initial weights into an independent torch implementation of the same
architecture (nanoGPT's GPT-2: pre-LayerNorm blocks, fused causal attention, tanh GELU, tied LM
head), recomputes the logits, the loss and every parameter gradient, then replays the 10 AdamW
steps with torch.optim.AdamW (weight decay on 2-D tensors only, global norm clipping, the
warm-up + cosine schedule) and compares. Fails (exit 1) unless
  - logits, loss and every gradient agree to relative error <= 1e-4, where
    rel(a, b) = max|a - b| / max(max|b|, 1e-30) per tensor (b = torch);
  - the learning rates agree, the gradient norms agree to 1e-3 relative and exceed max_norm (so
    clipping was exercised at every step);
  - the 10 losses agree to 1e-4 relative.
Final weights after the steps must agree to 5e-3 relative per tensor: a looser bound, because
AdamW divides by sqrt(v), which magnifies float round-off in parameters whose gradients are
near zero (measured: under 1e-3).
"""
import math
import sys

import h5py
import numpy as np
import torch
import torch.nn.functional as F

NAMES = ["wte", "wpe", "ln1w", "ln1b", "qkvw", "qkvb", "attprojw", "attprojb",
         "ln2w", "ln2b", "fcw", "fcb", "fcprojw", "fcprojb", "lnfw", "lnfb"]
DECAYED = {"wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw"}
TOL = 1e-4
TOL_FINAL = 5e-3
TOL_NORM = 1e-3


def rel_err(a, b):
    a = np.asarray(a, dtype=np.float64)
    b = np.asarray(b, dtype=np.float64)
    return float(np.max(np.abs(a - b)) / max(float(np.max(np.abs(b))), 1e-30))


class GPT(torch.nn.Module):
    """GPT-2 with the per-layer weights stacked along a leading L axis, as photon lays them out."""

    def __init__(self, cfg, weights):
        super().__init__()
        self.cfg = cfg
        self.p = torch.nn.ParameterDict(
            {n: torch.nn.Parameter(torch.tensor(np.asarray(w), dtype=torch.float32))
             for n, w in weights.items()})

    def b(self, name, l=None):
        if not self.cfg["bias"]:
            return None
        return self.p[name] if l is None else self.p[name][l]

    def forward(self, idx, targets):
        cfg, p = self.cfg, self.p
        B, T = idx.shape
        C, NH = cfg["channels"], cfg["num_heads"]
        hs = C // NH
        x = p["wte"][idx] + p["wpe"][:T]
        for l in range(cfg["num_layers"]):
            h = F.layer_norm(x, (C,), p["ln1w"][l], self.b("ln1b", l), eps=1e-5)
            qkv = F.linear(h, p["qkvw"][l], self.b("qkvb", l))
            q, k, v = qkv.split(C, dim=2)
            q = q.view(B, T, NH, hs).transpose(1, 2)
            k = k.view(B, T, NH, hs).transpose(1, 2)
            v = v.view(B, T, NH, hs).transpose(1, 2)
            att = (q @ k.transpose(-2, -1)) / math.sqrt(hs)
            mask = torch.ones(T, T, dtype=torch.bool).tril()
            att = att.masked_fill(~mask, float("-inf")).softmax(dim=-1)
            y = (att @ v).transpose(1, 2).reshape(B, T, C)
            x = x + F.linear(y, p["attprojw"][l], self.b("attprojb", l))
            h = F.layer_norm(x, (C,), p["ln2w"][l], self.b("ln2b", l), eps=1e-5)
            h = F.gelu(F.linear(h, p["fcw"][l], self.b("fcb", l)), approximate="tanh")
            x = x + F.linear(h, p["fcprojw"][l], self.b("fcprojb", l))
        x = F.layer_norm(x, (C,), p["lnfw"], self.b("lnfb"), eps=1e-5)
        logits = F.linear(x, p["wte"])  # tied LM head
        loss = F.cross_entropy(logits.view(-1, logits.size(-1)), targets.view(-1))
        return logits, loss


def lr_at(lr, warmup, total, final, step):
    if step < warmup:
        return lr * (step + 1) / warmup
    if step >= total or total - warmup <= 0:
        return lr * final
    coeff = 0.5 * (1.0 + math.cos(math.pi * (step - warmup) / (total - warmup)))
    return lr * (final + (1.0 - final) * coeff)


def check(path):
    failures = []

    def verdict(ok, what):
        if not ok:
            failures.append(what)
        return "ok" if ok else "FAIL"

    with h5py.File(path, "r") as f:
        cfg = {k: int(v) for k, v in f["config"].attrs.items()}
        names = [n for n in NAMES if n in f["init"]]
        model = GPT(cfg, {n: f["init"][n][()] for n in names})
        x = torch.tensor(f["batch/inputs"][()], dtype=torch.long)
        y = torch.tensor(f["batch/targets"][()], dtype=torch.long)
        print(f"{path}: bias={cfg['bias']}, {len(names)} tensors, "
              f"{sum(int(np.prod(f['init'][n].shape)) for n in names)} parameters")

        logits, loss = model(x, y)
        loss.backward()
        print(f"  {'quantity':<12} {'rel err':>10}")
        e = rel_err(f["forward/logits"][()], logits.detach().numpy())
        print(f"  {'logits':<12} {e:10.2e} {verdict(e <= TOL, 'logits')}")
        e = rel_err(f["forward/loss"][()], loss.item())
        print(f"  {'loss':<12} {e:10.2e} {verdict(e <= TOL, 'loss')}   "
              f"(C {float(f['forward/loss'][()]):.6f}, torch {loss.item():.6f})")
        for n in names:
            e = rel_err(f["grads"][n][()], model.p[n].grad.numpy())
            print(f"  {'d' + n:<12} {e:10.2e} {verdict(e <= TOL, 'grad ' + n)}")

        # the AdamW steps, from the same initial weights
        tr = f["train"]
        a = {k: v.item() for k, v in tr.attrs.items()}
        model = GPT(cfg, {n: f["init"][n][()] for n in names})
        decay = [model.p[n] for n in names if n in DECAYED]
        no_decay = [model.p[n] for n in names if n not in DECAYED]
        opt = torch.optim.AdamW(
            [{"params": decay, "weight_decay": a["weight_decay"]},
             {"params": no_decay, "weight_decay": 0.0}],
            lr=a["lr_peak"], betas=(a["beta1"], a["beta2"]), eps=a["eps"])
        steps = tr["loss"].shape[0]
        print(f"  {'step':>4} {'loss C':>10} {'loss torch':>10} {'rel err':>9} "
              f"{'norm C':>8} {'norm torch':>10} {'lr':>9}")
        for s in range(steps):
            lr = lr_at(a["lr_peak"], a["warmup_steps"], a["total_steps"], a["final_fraction"], s)
            for g in opt.param_groups:
                g["lr"] = lr
            opt.zero_grad()
            _, loss = model(torch.tensor(tr["inputs"][s], dtype=torch.long),
                            torch.tensor(tr["targets"][s], dtype=torch.long))
            loss.backward()
            grads = [model.p[n].grad for n in names]
            norm = math.sqrt(sum(float((g.double() ** 2).sum()) for g in grads))
            if norm > a["max_norm"]:
                for g in grads:
                    g.mul_(a["max_norm"] / norm)
            opt.step()
            lc, nc, lrc = float(tr["loss"][s]), float(tr["grad_norm"][s]), float(tr["lr"][s])
            e = abs(lc - loss.item()) / abs(loss.item())
            ok = (e <= TOL and abs(nc - norm) <= TOL_NORM * norm and nc > a["max_norm"]
                  and abs(lrc - lr) <= 1e-6 * lr)
            print(f"  {s:4d} {lc:10.6f} {loss.item():10.6f} {e:9.2e} {nc:8.4f} {norm:10.4f} "
                  f"{lr:9.3e} {verdict(ok, f'step {s}')}")
        worst = max(rel_err(tr["final"][n][()], model.p[n].detach().numpy()) for n in names)
        print(f"  final weights: worst rel err {worst:.2e} "
              f"{verdict(worst <= TOL_FINAL, 'final weights')}")
    return failures


def report(failures, what):
    """Print FAIL and every failure, or PASS: what; the exit status (1 or 0)."""
    if failures:
        print("FAIL: " + "; ".join(failures))
        return 1
    print("PASS: " + what)
    return 0


def main():
    if len(sys.argv) < 2:
        print(__doc__, file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    failures = []
    for path in sys.argv[1:]:
        failures += [f"{path}: {w}" for w in check(path)]
    return report(failures, "C model matches PyTorch (logits, loss, gradients, AdamW steps)")


if __name__ == "__main__":
    sys.exit(main())
