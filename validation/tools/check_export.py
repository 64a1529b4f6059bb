#!/usr/bin/env python3
"""check_export.py: photon export's files, read back independently and run.

usage: check_export.py WEIGHTS.h5 MODEL.bin SAFETENSORS_DIR LOGITS.bin TOKEN [TOKEN ...]

WEIGHTS.h5 is what was exported (final.h5 or a checkpoint), MODEL.bin its `--format llmc`
export, SAFETENSORS_DIR its `--format safetensors` export, LOGITS.bin photon's own logits
(dump_logits) for the TOKENs. Checks, failing (exit 1) on any disagreement:
  llm.c file: the header (magic 20240326, version 3, maxT, V, L, NH, C, Vp = V rounded up to
    128), the file size implied by llm.c's tensor sizes, zero padding rows of wte, zero biases
    for bias = 0 models;
  safetensors: the 8-byte header length, the JSON header (dtype F32, exactly the Hugging Face
    GPT2LMHeadModel names and shapes, contiguous data_offsets covering the data, 8-byte aligned
    data start), config.json;
  both: the re-imported tensors equal the exported parameters bitwise, and the logits of
    validation/tools/torch_gpt.py's model on the re-imported weights equal photon's (rel err <= 1e-4).
"""
import json
import os
import struct
import sys

import h5py
import numpy as np
import torch

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
from torch_gpt import GPT, NAMES, rel_err, report  # noqa: E402

TOL = 1e-4
failures = []


def expect(ok, what):
    print(("ok    " if ok else "FAIL  ") + what)
    if not ok:
        failures.append(what)
    return ok


def photon_shapes(cfg):
    L, C, V, T = cfg["num_layers"], cfg["channels"], cfg["vocab_size"], cfg["max_seq_len"]
    b = cfg["bias"]
    return {"wte": (V, C), "wpe": (T, C), "ln1w": (L, C), "ln1b": (L, C) if b else (0,),
            "qkvw": (L, 3 * C, C), "qkvb": (L, 3 * C) if b else (0,), "attprojw": (L, C, C),
            "attprojb": (L, C) if b else (0,), "ln2w": (L, C), "ln2b": (L, C) if b else (0,),
            "fcw": (L, 4 * C, C), "fcb": (L, 4 * C) if b else (0,), "fcprojw": (L, C, 4 * C),
            "fcprojb": (L, C) if b else (0,), "lnfw": (C,), "lnfb": (C,) if b else (0,)}


def split(flat, shapes):
    out, off = {}, 0
    for n in NAMES:
        k = int(np.prod(shapes[n]))
        out[n] = flat[off:off + k].reshape(shapes[n])
        off += k
    assert off == flat.size, (off, flat.size)
    return out


def logits_of(cfg, weights, tokens):
    # the re-imported files always carry biases (zeros for bias = 0): run them as a bias model
    model = GPT(dict(cfg, bias=1), weights)
    idx = torch.tensor([tokens], dtype=torch.long)
    with torch.no_grad():
        logits, _ = model(idx, torch.zeros_like(idx))
    return logits[0].numpy()


def same_params(reimported, ours, cfg, what):
    ok = True
    for n in NAMES:
        if ours[n].size == 0:  # absent bias: the file must hold zeros
            ok &= not np.any(reimported[n])
        else:
            ok &= reimported[n].shape == ours[n].shape and reimported[n].tobytes() == ours[n].tobytes()
    expect(ok, f"{what}: re-imported tensors equal the exported parameters bitwise")


def check_llmc(path, cfg, ours, tokens, ref):
    L, NH, C, V, T = (cfg[k] for k in ("num_layers", "num_heads", "channels", "vocab_size", "max_seq_len"))
    Vp = (V + 127) // 128 * 128
    raw = open(path, "rb").read()
    header = np.frombuffer(raw[:1024], dtype="<i4")
    expect(list(header[:8]) == [20240326, 3, T, V, L, NH, C, Vp] and not header[8:].any(),
           f"llmc header {list(header[:8])} == [20240326, 3, {T}, {V}, {L}, {NH}, {C}, {Vp}], rest zero")
    sizes = {"wte": (Vp, C), "wpe": (T, C), "ln1w": (L, C), "ln1b": (L, C), "qkvw": (L, 3 * C, C),
             "qkvb": (L, 3 * C), "attprojw": (L, C, C), "attprojb": (L, C), "ln2w": (L, C), "ln2b": (L, C),
             "fcw": (L, 4 * C, C), "fcb": (L, 4 * C), "fcprojw": (L, C, 4 * C), "fcprojb": (L, C),
             "lnfw": (C,), "lnfb": (C,)}
    total = sum(int(np.prod(s)) for s in sizes.values())
    if not expect(len(raw) == 1024 + 4 * total, f"llmc file size {len(raw)} == 1024 + 4 * {total}"):
        return
    w = {}
    off = 1024
    for n in NAMES:
        k = int(np.prod(sizes[n]))
        w[n] = np.frombuffer(raw[off:off + 4 * k], dtype="<f4").reshape(sizes[n])
        off += 4 * k
    expect(not w["wte"][V:].any(), f"llmc wte rows {V}..{Vp - 1} (padding) are zero")
    w["wte"] = w["wte"][:V]
    same_params(w, ours, cfg, "llmc")
    e = rel_err(logits_of(cfg, w, tokens), ref)
    expect(e <= TOL, f"llmc logits vs photon: rel err {e:.2e} <= {TOL}")


def check_safetensors(d, cfg, ours, tokens, ref):
    L, NH, C, V, T = (cfg[k] for k in ("num_layers", "num_heads", "channels", "vocab_size", "max_seq_len"))
    raw = open(os.path.join(d, "model.safetensors"), "rb").read()
    (n,) = struct.unpack("<Q", raw[:8])
    header = json.loads(raw[8:8 + n].decode("utf-8"))
    expect((8 + n) % 8 == 0, f"safetensors data starts 8-byte aligned (header {n} bytes)")
    meta = header.pop("__metadata__", {})
    expect(meta.get("format") == "pt", "safetensors __metadata__ format pt")
    want = {"transformer.wte.weight": (V, C), "transformer.wpe.weight": (T, C),
            "transformer.ln_f.weight": (C,), "transformer.ln_f.bias": (C,)}
    for i in range(L):
        h = f"transformer.h.{i}."
        want.update({h + "ln_1.weight": (C,), h + "ln_1.bias": (C,), h + "attn.c_attn.weight": (C, 3 * C),
                     h + "attn.c_attn.bias": (3 * C,), h + "attn.c_proj.weight": (C, C),
                     h + "attn.c_proj.bias": (C,), h + "ln_2.weight": (C,), h + "ln_2.bias": (C,),
                     h + "mlp.c_fc.weight": (C, 4 * C), h + "mlp.c_fc.bias": (4 * C,),
                     h + "mlp.c_proj.weight": (4 * C, C), h + "mlp.c_proj.bias": (C,)})
    expect(set(header) == set(want), f"safetensors names are GPT2LMHeadModel's ({len(want)} tensors)")
    ok = all(header[k]["dtype"] == "F32" and tuple(header[k]["shape"]) == want[k] for k in want if k in header)
    expect(ok, "safetensors dtypes F32 and shapes (Conv1D weights as (in, out))")
    spans = sorted(tuple(v["data_offsets"]) for v in header.values())
    contiguous = spans[0][0] == 0 and all(a[1] == b[0] for a, b in zip(spans, spans[1:]))
    expect(contiguous and spans[-1][1] == len(raw) - 8 - n, "safetensors data_offsets contiguous, cover the data")
    data = raw[8 + n:]

    def t(name):
        a, b = header[name]["data_offsets"]
        return np.frombuffer(data[a:b], dtype="<f4").reshape(header[name]["shape"])

    def stack(suffix, transpose=False):
        return np.stack([t(f"transformer.h.{i}.{suffix}").T if transpose else t(f"transformer.h.{i}.{suffix}")
                         for i in range(L)])

    w = {"wte": t("transformer.wte.weight"), "wpe": t("transformer.wpe.weight"),
         "ln1w": stack("ln_1.weight"), "ln1b": stack("ln_1.bias"),
         "qkvw": stack("attn.c_attn.weight", True), "qkvb": stack("attn.c_attn.bias"),
         "attprojw": stack("attn.c_proj.weight", True), "attprojb": stack("attn.c_proj.bias"),
         "ln2w": stack("ln_2.weight"), "ln2b": stack("ln_2.bias"),
         "fcw": stack("mlp.c_fc.weight", True), "fcb": stack("mlp.c_fc.bias"),
         "fcprojw": stack("mlp.c_proj.weight", True), "fcprojb": stack("mlp.c_proj.bias"),
         "lnfw": t("transformer.ln_f.weight"), "lnfb": t("transformer.ln_f.bias")}
    w = {k: np.ascontiguousarray(v) for k, v in w.items()}
    same_params(w, ours, cfg, "safetensors")
    e = rel_err(logits_of(cfg, w, tokens), ref)
    expect(e <= TOL, f"safetensors logits vs photon: rel err {e:.2e} <= {TOL}")
    c = json.load(open(os.path.join(d, "config.json")))
    expect(c.get("model_type") == "gpt2" and c.get("architectures") == ["GPT2LMHeadModel"]
           and (c["vocab_size"], c["n_positions"], c["n_embd"], c["n_layer"], c["n_head"]) == (V, T, C, L, NH)
           and c.get("activation_function") == "gelu_new" and c.get("tie_word_embeddings") is True
           and abs(c.get("layer_norm_epsilon", 0) - 1e-5) < 1e-12,
           "config.json: gpt2, shape, gelu_new, eps 1e-5, tied embeddings")


def main():
    if len(sys.argv) < 6:
        print(__doc__, file=sys.stderr)
        return 2
    torch.set_num_threads(1)
    weights, llmc, stdir, logits = sys.argv[1:5]
    tokens = [int(x) for x in sys.argv[5:]]
    with h5py.File(weights, "r") as f:
        cfg = {k: int(f.attrs[k]) for k in ("num_layers", "num_heads", "channels", "max_seq_len",
                                             "vocab_size", "bias")}
        ours = split(f["params"][...].astype(np.float32), photon_shapes(cfg))
    ref = np.fromfile(logits, dtype=np.float32).reshape(len(tokens), cfg["vocab_size"])
    print(f"{weights}: {cfg}")
    check_llmc(llmc, cfg, ours, tokens, ref)
    check_safetensors(stdir, cfg, ours, tokens, ref)
    return report(failures, "llm.c and safetensors exports re-import to photon's weights and logits")


if __name__ == "__main__":
    sys.exit(main())
