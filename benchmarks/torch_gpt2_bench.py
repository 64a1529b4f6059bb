#!/usr/bin/env python3
"""torch_gpt2_bench.py: the anchor photon's bench_gpu is measured against, the training step a
user would write in PyTorch instead: GPT-2 (pre-LayerNorm, tanh GELU, tied embeddings, biases,
the same shapes as bench_gpu) under torch.compile, bf16 autocast, fused AdamW, flash attention
through F.scaled_dot_product_attention, on random tokens.

usage: torch_gpt2_bench.py [--layers 12] [--heads 12] [--channels 768] [--vocab 50257]
                           [--seq-len 1024] [--batch 16] [--steps 10] [--warmup 3]
                           [--device cuda] [--no-compile] [--peak-tflops 790]

One step = zero_grad + forward + backward + clip(1.0) + AdamW, as bench_gpu's. The warm-up
steps (the compilation among them) are not timed. FLOPs per token are bench_gpu's count,
6 N + 6 L C T (N every parameter, the tied embedding once), so the two MFUs compare; the peak is
the H200's dense bf16 rate measured on the lent machine (about 790 TFLOP/s), not the data
sheet's. Prints one JSON line: tokens_per_s, ms_per_step, tflops, mfu, peak_mem_gib,
compile_s (the warm-up's wall time), last_loss, and the configuration.
"""
import argparse
import json
import math
import time

import torch
import torch.nn as nn
import torch.nn.functional as F


def attention(q, k, v):
    if hasattr(F, "scaled_dot_product_attention"):  # torch >= 2.0: flash attention
        return F.scaled_dot_product_attention(q, k, v, is_causal=True)
    T = q.shape[-2]  # older torch (this script's CPU smoke run on Debian 12's 1.13)
    att = (q @ k.transpose(-2, -1)) / math.sqrt(q.shape[-1])
    att = att.masked_fill(torch.ones(T, T, dtype=torch.bool, device=q.device).triu(1), float("-inf"))
    return att.softmax(dim=-1) @ v


class Block(nn.Module):
    def __init__(self, C, NH):
        super().__init__()
        self.NH = NH
        self.ln_1, self.ln_2 = nn.LayerNorm(C), nn.LayerNorm(C)
        self.c_attn, self.c_proj = nn.Linear(C, 3 * C), nn.Linear(C, C)
        self.c_fc, self.mlp_proj = nn.Linear(C, 4 * C), nn.Linear(4 * C, C)

    def forward(self, x):
        B, T, C = x.shape
        q, k, v = self.c_attn(self.ln_1(x)).split(C, dim=2)
        q, k, v = (t.view(B, T, self.NH, C // self.NH).transpose(1, 2) for t in (q, k, v))
        y = attention(q, k, v)
        x = x + self.c_proj(y.transpose(1, 2).contiguous().view(B, T, C))
        return x + self.mlp_proj(F.gelu(self.c_fc(self.ln_2(x)), approximate="tanh"))


class GPT2(nn.Module):
    def __init__(self, L, NH, C, V, T):
        super().__init__()
        self.wte, self.wpe = nn.Embedding(V, C), nn.Embedding(T, C)
        self.h = nn.ModuleList(Block(C, NH) for _ in range(L))
        self.ln_f = nn.LayerNorm(C)
        self.lm_head = nn.Linear(C, V, bias=False)
        self.lm_head.weight = self.wte.weight  # tied, as photon's
        for name, p in self.named_parameters():
            if p.dim() == 2:
                std = 0.02 / math.sqrt(2 * L) if name.endswith(("c_proj.weight", "mlp_proj.weight")) else 0.02
                nn.init.normal_(p, 0.0, std)

    def forward(self, idx, targets):
        pos = torch.arange(idx.shape[1], device=idx.device)
        x = self.wte(idx) + self.wpe(pos)
        for block in self.h:
            x = block(x)
        logits = self.lm_head(self.ln_f(x))
        return F.cross_entropy(logits.float().view(-1, logits.shape[-1]), targets.view(-1))


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--layers", type=int, default=12)
    ap.add_argument("--heads", type=int, default=12)
    ap.add_argument("--channels", type=int, default=768)
    ap.add_argument("--vocab", type=int, default=50257)
    ap.add_argument("--seq-len", type=int, default=1024)
    ap.add_argument("--batch", type=int, default=16)
    ap.add_argument("--steps", type=int, default=10)
    ap.add_argument("--warmup", type=int, default=3)
    ap.add_argument("--device", default="cuda")
    ap.add_argument("--no-compile", action="store_true")
    ap.add_argument("--peak-tflops", type=float, default=790.0)
    a = ap.parse_args()
    dev = torch.device(a.device)
    torch.manual_seed(42)
    L, NH, C, V, T, B = a.layers, a.heads, a.channels, a.vocab, a.seq_len, a.batch
    model = GPT2(L, NH, C, V, T).to(dev)
    N = sum(p.numel() for p in model.parameters())  # the tied matrix once
    fused = {"fused": True} if dev.type == "cuda" else {}
    opt = torch.optim.AdamW(model.parameters(), lr=1e-4, betas=(0.9, 0.95), eps=1e-8,
                            weight_decay=0.1, **fused)
    step_model = model if a.no_compile else torch.compile(model)
    g = torch.Generator(device="cpu").manual_seed(1)
    inp = torch.randint(0, V, (B, T), generator=g).to(dev)
    tgt = torch.randint(0, V, (B, T), generator=g).to(dev)
    sync = torch.cuda.synchronize if dev.type == "cuda" else (lambda: None)
    if dev.type == "cuda":
        torch.cuda.reset_peak_memory_stats()

    def step():
        opt.zero_grad(set_to_none=True)
        with torch.autocast(device_type=dev.type, dtype=torch.bfloat16):
            loss = step_model(inp, tgt)
        loss.backward()
        torch.nn.utils.clip_grad_norm_(model.parameters(), 1.0)
        opt.step()
        return loss

    t0 = time.perf_counter()
    for _ in range(a.warmup):
        step()
    sync()
    compile_s = time.perf_counter() - t0
    t0 = time.perf_counter()
    for _ in range(a.steps):
        loss = step()
    last = float(loss)  # waits for the last step
    sync()
    dt = time.perf_counter() - t0
    tok_s = B * T * a.steps / dt
    flops_tok = 6.0 * N + 6.0 * L * C * T
    tflops = tok_s * flops_tok / 1e12
    out = {
        "bench": "torch", "torch": torch.__version__, "device": a.device,
        "gpu": torch.cuda.get_device_name(dev) if dev.type == "cuda" else "cpu",
        "compiled": not a.no_compile, "precision": "bf16 autocast",
        "L": L, "NH": NH, "C": C, "V": V, "T": T, "B": B, "parameters": N, "steps": a.steps,
        "tokens_per_s": tok_s, "ms_per_step": 1e3 * dt / a.steps, "tflops": tflops,
        "peak_tflops": a.peak_tflops, "mfu": tflops / a.peak_tflops,
        "peak_mem_gib": torch.cuda.max_memory_allocated(dev) / 2**30 if dev.type == "cuda" else None,
        "compile_s": compile_s, "last_loss": last,
    }
    print(json.dumps(out), flush=True)


if __name__ == "__main__":
    main()
