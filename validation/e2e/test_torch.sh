#!/bin/sh
# test_torch.sh: the C GPT against PyTorch autograd, with GPT-2 biases and without.
# gpt_dump writes weights, a batch, logits, loss, gradients and 10 AdamW steps to HDF5;
# torch_gpt.py recomputes them with torch and fails on any disagreement (see its header).
# Skips (77) when $TORCH_PYTHON lacks torch, h5py or numpy.
py=${TORCH_PYTHON:-/usr/bin/python3}
if ! "$py" -c 'import torch, h5py, numpy' >/dev/null 2>&1; then
    echo "SKIP: $py cannot import torch, h5py and numpy (apt-get install python3-torch python3-h5py)"
    exit 77
fi
dir=${PHOTON_BUILDDIR:-.}/validation/tools
for bias in 1 0; do
    "$dir/gpt_dump" "$dir/gpt_dump_bias$bias.h5" $bias || { echo "FAIL: gpt_dump $bias"; exit 1; }
done
exec "$py" "${PHOTON_SRCDIR:-.}/validation/tools/torch_gpt.py" "$dir/gpt_dump_bias1.h5" "$dir/gpt_dump_bias0.h5"
