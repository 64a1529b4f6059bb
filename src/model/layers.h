/* layers.h: the forward and backward passes of GPT-2's layers on the CPU, as free functions over
 * raw float arrays with explicit sizes (llm.c's train_gpt2.c layout). gpt.c chains them.
 *
 * Conventions
 * - Shapes are in comments, row-major, e.g. (B, T, C). N = B*T rows where a layer does not care
 *   about the batch structure.
 * - Every matrix product is a cblas_sgemm (or sgemv); the rest is OpenMP over rows or columns.
 * - Backward functions ACCUMULATE (+=) into every gradient they produce, parameters and
 *   activations alike, so the caller zeroes activation-gradient scratch before reuse. The one
 *   exception is crossentropy_backward, which starts the chain and WRITES dlogits.
 * - Reductions whose result lands in a shared array are partitioned by output element (columns
 *   of a parameter gradient), never by thread, so results do not depend on the thread count
 *   except inside OpenBLAS (which is deterministic for a fixed thread count).
 * - A NULL bias means "no bias" (GPTConfig.bias = 0); its gradient pointer is then NULL too.
 */
#ifndef PHOTON_LAYERS_H
#define PHOTON_LAYERS_H

#include <stddef.h>

/* out[b,t,:] = wte[inp[b,t],:] + wpe[t,:] */
void encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B, int T,
                     int C);
/* dwte[inp[b,t],:] += dout[b,t,:]; dwpe[t,:] += dout[b,t,:] */
void encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T,
                      int C);

/* LayerNorm over the last axis, eps 1e-5, biased variance (as torch).
 * out, inp (N, C); weight, bias (C); mean, rstd (N) saved for backward. */
void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, size_t N, int C);
void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean,
                        const float *rstd, size_t N, int C);

/* out (N, OC) = inp (N, C) . weight^T + bias; weight (OC, C) as torch.nn.Linear. */
void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, size_t N,
                    int C, int OC);
/* dinp (N, C) += dout . weight; dweight (OC, C) += dout^T . inp; dbias (OC) += column sums of
 * dout, computed as dout^T . ones with ones a vector of N 1.0f. */
void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, const float *ones, size_t N, int C,
                     int OC);

/* Causal multi-head self-attention on the fused projection qkv (B, T, 3C): q, k, v in that
 * order, heads contiguous inside each (nanoGPT's c_attn split). Per (batch, head) two sgemms read
 * straight out of qkv with leading dimension 3C.
 * out (B, T, C); att (B, NH, T, T) the softmax probabilities, zero above the diagonal. */
void attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH);
/* dqkv (B, T, 3C) +=; datt (B, NH, T, T) is scratch (overwritten). O(T^2) per head. */
void attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                        const float *att, int B, int T, int C, int NH);

/* GELU, tanh approximation (torch approximate="tanh"). n elements. */
void gelu_forward(float *out, const float *inp, size_t n);
void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n);

/* out = a + b, n elements */
void residual_forward(float *out, const float *a, const float *b, size_t n);

/* Softmax cross-entropy over logits (N, V) against targets (N):
 * losses[i] = logsumexp(logits[i,:]) - logits[i, targets[i]]; lse (N) saved for backward. */
void crossentropy_forward(float *losses, float *lse, const float *logits, const int *targets,
                          size_t N, int V);
/* dlogits (N, V) = dloss * (softmax(logits) - onehot(targets)); WRITES, does not accumulate. */
void crossentropy_backward(float *dlogits, const float *logits, const float *lse,
                           const int *targets, float dloss, size_t N, int V);

/* Zero n floats in parallel (activation-gradient scratch). */
void floats_zero(float *x, size_t n);

#endif
