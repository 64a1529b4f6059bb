/* export.h: trained weights in formats other tools load (`photon export`, src/commands/cmd_export.c).
 *
 *   llmc         llm.c's GPT-2 model file (train_gpt2.c, gpt2_build_from_checkpoint): int32[256]
 *                header {20240326, 3 (float32), maxT, V, L, NH, C, Vp}, Vp = V rounded up to a
 *                multiple of 128, then the 16 tensors in GPTParams order as float32, wte padded
 *                to (Vp, C) with zero rows; absent biases (bias = 0 models) written as zeros.
 *   safetensors  DIR/model.safetensors + DIR/config.json in Hugging Face transformers'
 *                GPT2LMHeadModel layout: per-layer tensors transformer.h.{i}.*, Conv1D weights
 *                transposed to (in, out), LM head tied to transformer.wte.weight.
 * Files are written under a temporary name and renamed when complete. */
#ifndef PHOTON_EXPORT_H
#define PHOTON_EXPORT_H

#include <stddef.h>

#include "gpt.h"

#define LLMC_MAGIC 20240326
#define LLMC_VERSION_FP32 3
#define LLMC_VOCAB_ALIGN 128

/* 0 / -1 with a message naming the file. */
int export_llmc(const GPT *m, const char *path, char *err, size_t errlen);
int export_safetensors(const GPT *m, const char *dir, char *err, size_t errlen);

#endif
