/* gpt.h: a GPT-2 decoder-only language model on the CPU (nanoGPT / llm.c architecture, so
 * weights exchange with them tensor for tensor).
 *
 * Token embedding wte (V, C) and learned positions wpe (maxT, C); L pre-LayerNorm blocks
 *   x = x + attn(ln1(x));  x = x + mlp(ln2(x))
 * with a fused q,k,v projection (3C, C) and an MLP fc (4C, C) -> GELU(tanh) -> fcproj (C, 4C);
 * a final LayerNorm; the LM head is tied to wte; the loss is the mean next-token cross-entropy.
 * Linear weights are stored (out, in) as torch.nn.Linear.
 *
 * ALL parameters live in ONE float allocation (params_memory) with named views into it, in the
 * order of GPTParams; gradients use a second allocation of the same layout. The federation code
 * averages and ships params_memory as one flat vector of num_parameters floats, so nothing that
 * belongs to the model may live outside it. With bias = 0 (MPT style, Photon's models) the
 * bias tensors keep their place in the layout with 0 elements.
 *
 * Activations are planned once, in gpt_build, for the largest (B, T) the model will see; a
 * forward may use any smaller B and T. Backward accumulates into the gradients (+=), so call
 * gpt_zero_grad between optimizer steps and not between micro-batches.
 *
 * Results are bitwise reproducible for a given seed, input and thread count.
 */
#ifndef PHOTON_GPT_H
#define PHOTON_GPT_H

#include <stddef.h>

typedef struct {
    int max_seq_len; // maxT: rows of wpe
    int vocab_size;  // V
    int num_layers;  // L
    int num_heads;   // NH
    int channels;    // C (divisible by NH)
    int bias;        // 1: GPT-2 biases; 0: none
} GPTConfig;

#define GPT_NUM_TENSORS 16

typedef struct {
    float *wte;      // (V, C)
    float *wpe;      // (maxT, C)
    float *ln1w;     // (L, C)
    float *ln1b;     // (L, C)       0 elements without bias
    float *qkvw;     // (L, 3*C, C)
    float *qkvb;     // (L, 3*C)     0 elements without bias
    float *attprojw; // (L, C, C)
    float *attprojb; // (L, C)       0 elements without bias
    float *ln2w;     // (L, C)
    float *ln2b;     // (L, C)       0 elements without bias
    float *fcw;      // (L, 4*C, C)
    float *fcb;      // (L, 4*C)     0 elements without bias
    float *fcprojw;  // (L, C, 4*C)
    float *fcprojb;  // (L, C)       0 elements without bias
    float *lnfw;     // (C)
    float *lnfb;     // (C)          0 elements without bias
} GPTParams;

/* What the forward pass keeps for the backward pass. Per-layer tensors are laid out for the
 * planned (B, T): layer l starts at l times the planned layer size; inside a layer the data of a
 * smaller forward (B', T') is packed. */
typedef struct {
    float *encoded;   // (B, T, C)
    float *ln1;       // (L, B, T, C)
    float *ln1_mean;  // (L, B, T)
    float *ln1_rstd;  // (L, B, T)
    float *qkv;       // (L, B, T, 3*C)
    float *atty;      // (L, B, T, C)
    float *att;       // (L, B, NH, T, T) softmax probabilities
    float *attproj;   // (L, B, T, C)
    float *residual2; // (L, B, T, C)
    float *ln2;       // (L, B, T, C)
    float *ln2_mean;  // (L, B, T)
    float *ln2_rstd;  // (L, B, T)
    float *fch;       // (L, B, T, 4*C)
    float *fch_gelu;  // (L, B, T, 4*C)
    float *fcproj;    // (L, B, T, C)
    float *residual3; // (L, B, T, C)
    float *lnf;       // (B, T, C)
    float *lnf_mean;  // (B, T)
    float *lnf_rstd;  // (B, T)
    float *logits;    // (B, T, V)
    float *losses;    // (B, T)
    float *lse;       // (B, T) log-sum-exp of each logits row
} GPTActivations;

/* Backward-pass scratch: one layer's worth, reused from the top layer down. */
typedef struct {
    float *dlogits;   // (B, T, V)
    float *dresidual; // (B, T, C) gradient of the residual stream
    float *dln;       // (B, T, C) gradient of a LayerNorm output
    float *datty;     // (B, T, C)
    float *dqkv;      // (B, T, 3*C)
    float *datt;      // (B, NH, T, T)
    float *dfch_gelu; // (B, T, 4*C)
    float *dfch;      // (B, T, 4*C)
    float *ones;      // (B*T) all 1.0f: bias gradients as one sgemv
} GPTScratch;

typedef struct GPT {
    GPTConfig config;
    size_t tensor_sizes[GPT_NUM_TENSORS]; // elements per tensor, in GPTParams order
    size_t num_parameters;
    float *params_memory;
    GPTParams params; // one allocation
    float *grads_memory;
    GPTParams grads;  // same layout
    int B, T;         // the largest batch the activations were planned for
    float mean_loss;  // of the last forward with targets
    size_t peak_bytes; // params+grads+activations+scratch
    /* private */
    float *acts_memory;
    GPTActivations acts;
    float *scratch_memory;
    GPTScratch scratch;
    int *inputs, *targets; // (B, T) copies of the last forward's batch
    int fwd_B, fwd_T;      // shape of the last forward
    int fwd_has_targets;   // 1 if the last forward computed a loss (backward needs it)
} GPT;

const char *gpt_tensor_name(int i);  // "wte", "wpe", ... (llm.c's names)
int gpt_tensor_decays(int i);        // 1 for 2-D weights: wte wpe qkvw attprojw fcw fcprojw
/* Elements of each of the GPT_NUM_TENSORS tensors, in GPTParams order (0 for the biases of a
 * bias = 0 model): the one layout every backend and the federation share. */
void gpt_tensor_sizes(const GPTConfig *c, size_t *sizes);
/* 0 if c describes a model we can build; else -1 and a message naming the field. */
int gpt_config_check(const GPTConfig *c, char *err, size_t errlen);
/* Allocate parameters, gradients, activations and scratch for batches up to (B, T), all zero.
 * T must not exceed c->max_seq_len; the config must pass gpt_config_check. */
void gpt_build(GPT *m, const GPTConfig *c, int B, int T);
/* GPT-2 initialisation from a GSL mt19937 stream seeded with seed: N(0, 0.02) for wte, wpe and
 * linear weights, N(0, 0.02/sqrt(2L)) for the residual projections attprojw and fcprojw,
 * LayerNorm weights 1, biases 0. Tensors are drawn in GPTParams order, so bias = 0 and bias = 1
 * models from the same seed have the same weights. */
void gpt_init_weights(GPT *m, unsigned long seed);
/* inputs, targets (B, T) token ids in [0, V); B <= m->B, T <= m->T. targets may be NULL (no
 * loss, and no backward possible); with targets, sets m->mean_loss (mean over B*T). */
void gpt_forward(GPT *m, const int *inputs, const int *targets, int B, int T);
const float *gpt_logits(const GPT *m); // (B, T, V) logits of the last forward
const float *gpt_losses(const GPT *m); // (B, T) token losses of the last forward with targets
void gpt_zero_grad(GPT *m);
/* d(mean_loss)/d(params) of the last forward (which needs targets), ACCUMULATED into grads. */
void gpt_backward(GPT *m);
void gpt_free(GPT *m);

/* AdamW / SGD over the whole model with weight decay on the 2-D tensors only (see
 * gpt_tensor_decays). mom, var: num_parameters floats each, in the params layout. t is the
 * 1-based count of optimizer steps taken, this one included. */
void gpt_adamw_update(GPT *m, float *mom, float *var, float lr, float b1, float b2, float eps,
                      float wd, long t);
void gpt_sgd_update(GPT *m, float lr, float wd);

#endif
