/* gpt_cuda.h: the GPT-2 model of src/model/gpt.h on one CUDA GPU, callable from C.
 *
 * Same GPTConfig, same math (pre-LN, fused qkv (3C, C) stored (out, in), GELU tanh, tied LM head,
 * mean cross-entropy) and the SAME flat parameter layout (GPTParams order, 0-element biases when
 * bias = 0): gpu_model_upload_params / download_params move exactly gpt.h's params_memory, so
 * the federation, checkpoints and evaluation keep working on the host vector.
 *
 * Precision: PRECISION_FP32 computes in float (products with fp32 accumulation, no TF32), for
 * validation against the CPU model; PRECISION_BF16 keeps activations and a copy of the weights in
 * bf16 for the products (fp32 accumulation) while the master weights, gradients and AdamW moments
 * stay float. Every function stops the run (photon_abort, naming the failing CUDA call) on a
 * CUDA, cuBLAS or NCCL error. Calls run on the model's stream; functions that return host data
 * wait for it.
 *
 * Built only with ./configure --with-cuda (PHOTON_CUDA). */
#ifndef PHOTON_GPT_CUDA_H
#define PHOTON_GPT_CUDA_H

#include <stddef.h>
#include <nccl.h>

#ifdef __cplusplus
extern "C" {
#endif

#include "backend_kinds.h" // PrecisionKind
#include "gpt.h"

typedef struct GpuModel GpuModel;

/* Number of visible CUDA devices; 0 where there is no driver or no device (never aborts). */
int gpu_device_count(void);
/* Bind this process to device local_rank % count; returns the device or -1 if there is none. */
int gpu_select_device(int local_rank);
/* The current device's name and its memory (bytes), for banners and benchmarks. */
void gpu_device_info(char *name, size_t namelen, size_t *total_bytes);

/* Plan everything for batches up to (B, T) on the current device; weights are zero until
 * uploaded. The config must pass gpt_config_check; T <= max_seq_len. */
GpuModel *gpu_model_build(const GPTConfig *c, int B, int T, PrecisionKind precision);
void gpu_model_free(GpuModel *m);
size_t gpu_model_num_parameters(const GpuModel *m);
size_t gpu_model_device_bytes(const GpuModel *m); // device memory the model allocated
/* What gpu_model_build would allocate, without allocating (cuBLAS's and NCCL's own buffers not
 * included): for finding the largest model that fits. */
size_t gpu_model_plan_bytes(const GPTConfig *c, int B, int T, PrecisionKind precision);

/* Host <-> device copies of the flat float vectors (num_parameters floats each). Uploading the
 * weights also refreshes the bf16 copy. */
void gpu_model_upload_params(GpuModel *m, const float *params);
void gpu_model_download_params(const GpuModel *m, float *params);
void gpu_model_upload_grads(GpuModel *m, const float *grads);
void gpu_model_download_grads(const GpuModel *m, float *grads);
void gpu_model_upload_moments(GpuModel *m, const float *mom, const float *var);
void gpu_model_download_moments(const GpuModel *m, float *mom, float *var);

/* inputs, targets: HOST (B, T) token ids, as gpt_forward. Returns the mean loss, or -1 without
 * targets (then no backward is possible). */
float gpu_model_forward(GpuModel *m, const int *inputs, const int *targets, int B, int T);
/* (B, T, V) logits of the last forward, as float. */
void gpu_model_download_logits(const GpuModel *m, float *logits);
void gpu_model_zero_grad(GpuModel *m);
/* d(mean loss)/d(params) of the last forward, ACCUMULATED into the float gradients. With a
 * gradient communicator set, the gradients are then averaged over it, layer by layer while the
 * backward pass runs on: call it once per optimizer step. */
void gpu_model_backward(GpuModel *m);
/* Average gradients over `comm` (one rank per GPU of a silo) inside gpu_model_backward;
 * NULL: no communication. The model does not own the communicator. */
void gpu_model_set_grad_comm(GpuModel *m, ncclComm_t comm);

/* As optim.h's clip_grad_norm over the whole gradient: returns the norm before clipping. */
double gpu_model_clip_grad_norm(GpuModel *m, double max_norm);
/* As gpt_adamw_update / gpt_sgd_update: decay on the 2-D tensors only; t is 1-based. */
void gpu_model_adamw_update(GpuModel *m, float lr, float beta1, float beta2, float eps, float wd,
                            long t);
void gpu_model_sgd_update(GpuModel *m, float lr, float wd);
/* Wait for everything queued on the model's streams (timing). */
void gpu_model_synchronize(const GpuModel *m);

#ifdef __cplusplus
}
#endif

#endif
