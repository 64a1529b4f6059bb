/* gpt.c: the GPT-2 model: memory layout, initialisation, and the forward and backward passes
 * chained from the layers in layers.c. See gpt.h for the contract. */
#include "gpt.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <limits.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "layers.h"
#include "optim.h"

static const char *const tensor_names[GPT_NUM_TENSORS] = {
    "wte",  "wpe",  "ln1w", "ln1b", "qkvw",    "qkvb",    "attprojw", "attprojb",
    "ln2w", "ln2b", "fcw",  "fcb",  "fcprojw", "fcprojb", "lnfw",     "lnfb"};

const char *gpt_tensor_name(int i)
{
    return i >= 0 && i < GPT_NUM_TENSORS ? tensor_names[i] : NULL;
}

int gpt_tensor_decays(int i)
{
    // wte, wpe, qkvw, attprojw, fcw, fcprojw: the 2-D weights (nanoGPT's decay group)
    return i == 0 || i == 1 || i == 4 || i == 6 || i == 10 || i == 12;
}

int gpt_config_check(const GPTConfig *c, char *err, size_t errlen)
{
    struct { const char *name; int value; } pos[] = {
        {"max_seq_len", c->max_seq_len}, {"vocab_size", c->vocab_size},
        {"num_layers", c->num_layers},   {"num_heads", c->num_heads},
        {"channels", c->channels}};
    for (size_t i = 0; i < sizeof pos / sizeof pos[0]; i++)
        if (pos[i].value < 1) {
            snprintf(err, errlen, "model %s must be at least 1, got %d", pos[i].name,
                     pos[i].value);
            return -1;
        }
    if (c->channels % c->num_heads) {
        snprintf(err, errlen,
                 "model channels (%d) must be divisible by num_heads (%d): each head gets "
                 "channels/num_heads dimensions",
                 c->channels, c->num_heads);
        return -1;
    }
    if (c->bias != 0 && c->bias != 1) {
        snprintf(err, errlen, "model bias must be 0 (no biases) or 1 (GPT-2 biases), got %d",
                 c->bias);
        return -1;
    }
    // the MLP's 4*C is an int dimension of sgemm
    if (c->channels > INT_MAX / 4) {
        snprintf(err, errlen, "model channels (%d) is too large", c->channels);
        return -1;
    }
    /* The parameter count (gpt_tensor_sizes) must not wrap around in size_t: a weights file's
     * attributes can state any shape, and a wrapped count would size the buffers wrongly.
     * 2^50 parameters is far beyond any machine. */
    const double C = c->channels, params = (double)c->num_layers * (12.0 * C * C + 13.0 * C) +
                                           ((double)c->vocab_size + c->max_seq_len + 2.0) * C;
    if (params > 0x1p50) {
        snprintf(err, errlen, "model of %.3g parameters (L=%d, C=%d, V=%d, maxT=%d) is too large", params,
                 c->num_layers, c->channels, c->vocab_size, c->max_seq_len);
        return -1;
    }
    return 0;
}

/* 64-byte aligned, zeroed: full cache lines and AVX-512 vectors, and the same vector/scalar split
 * of every loop in every run. */
static float *floats_alloc(size_t n)
{
    void *p = NULL;
    size_t bytes = (n ? n : 1) * sizeof(float);
    bytes = (bytes + 63) & ~(size_t)63;
    if (posix_memalign(&p, 64, bytes)) PHOTON_FATAL("allocation of %zu bytes failed", bytes);
    memset(p, 0, bytes);
    return p;
}

/* Point the n named views (in struct order) at consecutive slices of memory. */
static void point_views(float **views, float *memory, const size_t *sizes, int n)
{
    float *p = memory;
    for (int i = 0; i < n; i++) {
        views[i] = p;
        p += sizes[i];
    }
}

static size_t sizes_total(const size_t *sizes, int n)
{
    size_t total = 0;
    for (int i = 0; i < n; i++) total += sizes[i];
    return total;
}

/* GPTParams, GPTActivations and GPTScratch are structs of float pointers only, so they are
 * pointed as arrays of float pointers (llm.c's idiom); the asserts keep that true. */
#define NUM_ACTS ((int)(sizeof(GPTActivations) / sizeof(float *)))
#define NUM_SCRATCH ((int)(sizeof(GPTScratch) / sizeof(float *)))
_Static_assert(sizeof(GPTParams) == GPT_NUM_TENSORS * sizeof(float *), "GPTParams: 16 pointers");

void gpt_tensor_sizes(const GPTConfig *c, size_t *ps)
{
    const size_t V = c->vocab_size, maxT = c->max_seq_len, L = c->num_layers, C = c->channels,
                 bias = c->bias;
    ps[0] = V * C;          // wte
    ps[1] = maxT * C;       // wpe
    ps[2] = L * C;          // ln1w
    ps[3] = L * C * bias;   // ln1b
    ps[4] = L * 3 * C * C;  // qkvw
    ps[5] = L * 3 * C * bias; // qkvb
    ps[6] = L * C * C;      // attprojw
    ps[7] = L * C * bias;   // attprojb
    ps[8] = L * C;          // ln2w
    ps[9] = L * C * bias;   // ln2b
    ps[10] = L * 4 * C * C; // fcw
    ps[11] = L * 4 * C * bias; // fcb
    ps[12] = L * C * 4 * C; // fcprojw
    ps[13] = L * C * bias;  // fcprojb
    ps[14] = C;             // lnfw
    ps[15] = C * bias;      // lnfb
}

void gpt_build(GPT *m, const GPTConfig *c, int B, int T)
{
    char err[256];
    if (gpt_config_check(c, err, sizeof err)) PHOTON_FATAL("gpt_build: %s", err);
    if (B < 1 || T < 1 || T > c->max_seq_len)
        PHOTON_FATAL("gpt_build: batch B=%d, T=%d invalid (need B >= 1, 1 <= T <= max_seq_len = %d)",
                     B, T, c->max_seq_len);
    memset(m, 0, sizeof *m);
    m->config = *c;
    m->B = B;
    m->T = T;
    const size_t V = c->vocab_size, L = c->num_layers, NH = c->num_heads, C = c->channels;

    gpt_tensor_sizes(c, m->tensor_sizes);
    const size_t *ps = m->tensor_sizes;
    m->num_parameters = sizes_total(ps, GPT_NUM_TENSORS);
    m->params_memory = floats_alloc(m->num_parameters);
    m->grads_memory = floats_alloc(m->num_parameters);
    point_views((float **)&m->params, m->params_memory, ps, GPT_NUM_TENSORS);
    point_views((float **)&m->grads, m->grads_memory, ps, GPT_NUM_TENSORS);

    const size_t BT = (size_t)B * T;
    const size_t as[] = {
        BT * C,              // encoded
        L * BT * C,          // ln1
        L * BT,              // ln1_mean
        L * BT,              // ln1_rstd
        L * BT * 3 * C,      // qkv
        L * BT * C,          // atty
        L * B * NH * T * T,  // att
        L * BT * C,          // attproj
        L * BT * C,          // residual2
        L * BT * C,          // ln2
        L * BT,              // ln2_mean
        L * BT,              // ln2_rstd
        L * BT * 4 * C,      // fch
        L * BT * 4 * C,      // fch_gelu
        L * BT * C,          // fcproj
        L * BT * C,          // residual3
        BT * C,              // lnf
        BT,                  // lnf_mean
        BT,                  // lnf_rstd
        BT * V,              // logits
        BT,                  // losses
        BT,                  // lse
    };
    _Static_assert(sizeof as / sizeof as[0] == NUM_ACTS, "one size per activation");
    const size_t ss[] = {
        BT * V,          // dlogits
        BT * C,          // dresidual
        BT * C,          // dln
        BT * C,          // datty
        BT * 3 * C,      // dqkv
        B * NH * T * T,  // datt
        BT * 4 * C,      // dfch_gelu
        BT * 4 * C,      // dfch
        BT,              // ones
    };
    _Static_assert(sizeof ss / sizeof ss[0] == NUM_SCRATCH, "one size per scratch buffer");
    size_t nacts = sizes_total(as, NUM_ACTS), nscratch = sizes_total(ss, NUM_SCRATCH);
    m->acts_memory = floats_alloc(nacts);
    m->scratch_memory = floats_alloc(nscratch);
    point_views((float **)&m->acts, m->acts_memory, as, NUM_ACTS);
    point_views((float **)&m->scratch, m->scratch_memory, ss, NUM_SCRATCH);
    for (size_t i = 0; i < BT; i++) m->scratch.ones[i] = 1.0f;
    m->inputs = callocCheck(BT, sizeof(int));
    m->targets = callocCheck(BT, sizeof(int));
    m->mean_loss = -1.0f;
    m->peak_bytes = (2 * m->num_parameters + nacts + nscratch) * sizeof(float) +
                    2 * BT * sizeof(int);
}

void gpt_init_weights(GPT *m, unsigned long seed)
{
    const GPTConfig *c = &m->config;
    const double std = 0.02, std_residual = 0.02 / sqrt(2.0 * c->num_layers);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    if (!rng) PHOTON_FATAL("gsl_rng_alloc failed");
    gsl_rng_set(rng, seed);
    float *p = m->params_memory;
    for (int i = 0; i < GPT_NUM_TENSORS; i++) {
        size_t n = m->tensor_sizes[i];
        const char *name = tensor_names[i];
        if (gpt_tensor_decays(i)) {
            double s = (!strcmp(name, "attprojw") || !strcmp(name, "fcprojw")) ? std_residual : std;
            for (size_t j = 0; j < n; j++) p[j] = (float)gsl_ran_gaussian_ziggurat(rng, s);
        } else {
            // LayerNorm weights (ln1w ln2w lnfw) are 1; every bias is 0
            float value = (!strcmp(name, "ln1w") || !strcmp(name, "ln2w") || !strcmp(name, "lnfw"))
                              ? 1.0f : 0.0f;
            for (size_t j = 0; j < n; j++) p[j] = value;
        }
        p += n;
    }
    gsl_rng_free(rng);
}

static void check_tokens(const int *tok, size_t n, int V, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (tok[i] < 0 || tok[i] >= V)
            PHOTON_FATAL("gpt_forward: %s[%zu] = %d is not a token id of a vocabulary of %d", what,
                         i, tok[i], V);
}

void gpt_forward(GPT *m, const int *inputs, const int *targets, int B, int T)
{
    const GPTConfig *c = &m->config;
    if (B < 1 || T < 1 || B > m->B || T > m->T)
        PHOTON_FATAL("gpt_forward: batch B=%d, T=%d is outside the planned B=%d, T=%d", B, T, m->B,
                     m->T);
    const int V = c->vocab_size, L = c->num_layers, NH = c->num_heads, C = c->channels;
    const size_t BT = (size_t)B * T;
    check_tokens(inputs, BT, V, "inputs");
    memcpy(m->inputs, inputs, BT * sizeof(int));
    if (targets) {
        check_tokens(targets, BT, V, "targets");
        memcpy(m->targets, targets, BT * sizeof(int));
    }
    m->fwd_B = B;
    m->fwd_T = T;
    m->fwd_has_targets = targets != NULL;

    const GPTParams p = m->params;
    const GPTActivations a = m->acts;
    const int bias = c->bias;
    // per-layer strides of the planned layout
    const size_t sBTC = (size_t)m->B * m->T * C, sBT = (size_t)m->B * m->T,
                 sATT = (size_t)m->B * NH * m->T * m->T;

    encoder_forward(a.encoded, inputs, p.wte, p.wpe, B, T, C); // (B, T, C)
    for (int l = 0; l < L; l++) {
        const float *residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * sBTC;
        float *ln1 = a.ln1 + l * sBTC, *ln1_mean = a.ln1_mean + l * sBT,
              *ln1_rstd = a.ln1_rstd + l * sBT;
        float *qkv = a.qkv + l * 3 * sBTC, *atty = a.atty + l * sBTC, *att = a.att + l * sATT;
        float *attproj = a.attproj + l * sBTC, *residual2 = a.residual2 + l * sBTC;
        float *ln2 = a.ln2 + l * sBTC, *ln2_mean = a.ln2_mean + l * sBT,
              *ln2_rstd = a.ln2_rstd + l * sBT;
        float *fch = a.fch + l * 4 * sBTC, *fch_gelu = a.fch_gelu + l * 4 * sBTC;
        float *fcproj = a.fcproj + l * sBTC, *residual3 = a.residual3 + l * sBTC;

        layernorm_forward(ln1, ln1_mean, ln1_rstd, residual, p.ln1w + l * C,
                          bias ? p.ln1b + l * C : NULL, BT, C);
        matmul_forward(qkv, ln1, p.qkvw + (size_t)l * 3 * C * C, bias ? p.qkvb + l * 3 * C : NULL,
                       BT, C, 3 * C);
        attention_forward(atty, att, qkv, B, T, C, NH);
        matmul_forward(attproj, atty, p.attprojw + (size_t)l * C * C,
                       bias ? p.attprojb + l * C : NULL, BT, C, C);
        residual_forward(residual2, residual, attproj, BT * C);
        layernorm_forward(ln2, ln2_mean, ln2_rstd, residual2, p.ln2w + l * C,
                          bias ? p.ln2b + l * C : NULL, BT, C);
        matmul_forward(fch, ln2, p.fcw + (size_t)l * 4 * C * C, bias ? p.fcb + l * 4 * C : NULL,
                       BT, C, 4 * C);
        gelu_forward(fch_gelu, fch, BT * 4 * C);
        matmul_forward(fcproj, fch_gelu, p.fcprojw + (size_t)l * C * 4 * C,
                       bias ? p.fcprojb + l * C : NULL, BT, 4 * C, C);
        residual_forward(residual3, residual2, fcproj, BT * C);
    }
    const float *residual = a.residual3 + (L - 1) * sBTC;
    layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, residual, p.lnfw, bias ? p.lnfb : NULL, BT,
                      C);
    matmul_forward(a.logits, a.lnf, p.wte, NULL, BT, C, V); // tied LM head: (B, T, V)

    if (targets) {
        crossentropy_forward(a.losses, a.lse, a.logits, targets, BT, V);
        double sum = 0.0; // fixed order: the loss does not depend on the thread count
        for (size_t i = 0; i < BT; i++) sum += a.losses[i];
        m->mean_loss = (float)(sum / BT);
    } else {
        m->mean_loss = -1.0f;
    }
}

const float *gpt_logits(const GPT *m) { return m->acts.logits; }
const float *gpt_losses(const GPT *m) { return m->acts.losses; }

void gpt_zero_grad(GPT *m) { floats_zero(m->grads_memory, m->num_parameters); }

void gpt_backward(GPT *m)
{
    if (!m->fwd_has_targets)
        PHOTON_FATAL("gpt_backward: the last gpt_forward had no targets, so there is no loss to "
                     "differentiate");
    const GPTConfig *c = &m->config;
    const int B = m->fwd_B, T = m->fwd_T;
    const int V = c->vocab_size, L = c->num_layers, NH = c->num_heads, C = c->channels;
    const int bias = c->bias;
    const size_t BT = (size_t)B * T;
    const size_t sBTC = (size_t)m->B * m->T * C, sBT = (size_t)m->B * m->T,
                 sATT = (size_t)m->B * NH * m->T * m->T;
    const GPTParams p = m->params, g = m->grads;
    const GPTActivations a = m->acts;
    const GPTScratch s = m->scratch;

    // d(mean loss)/d(logits) = (softmax - onehot) / (B*T)
    crossentropy_backward(s.dlogits, a.logits, a.lse, m->targets, 1.0f / BT, BT, V);
    floats_zero(s.dln, BT * C);
    matmul_backward(s.dln, g.wte, NULL, s.dlogits, a.lnf, p.wte, s.ones, BT, C, V);
    floats_zero(s.dresidual, BT * C);
    layernorm_backward(s.dresidual, g.lnfw, bias ? g.lnfb : NULL, s.dln,
                       a.residual3 + (L - 1) * sBTC, p.lnfw, a.lnf_mean, a.lnf_rstd, BT, C);

    for (int l = L - 1; l >= 0; l--) {
        const float *residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * sBTC;
        const float *ln1 = a.ln1 + l * sBTC, *ln1_mean = a.ln1_mean + l * sBT,
                    *ln1_rstd = a.ln1_rstd + l * sBT;
        const float *qkv = a.qkv + l * 3 * sBTC, *atty = a.atty + l * sBTC,
                    *att = a.att + l * sATT;
        const float *residual2 = a.residual2 + l * sBTC;
        const float *ln2 = a.ln2 + l * sBTC, *ln2_mean = a.ln2_mean + l * sBT,
                    *ln2_rstd = a.ln2_rstd + l * sBT;
        const float *fch = a.fch + l * 4 * sBTC, *fch_gelu = a.fch_gelu + l * 4 * sBTC;

        // s.dresidual holds d(residual3) = d(fcproj) = the residual2 part of d(residual2)
        floats_zero(s.dfch_gelu, BT * 4 * C);
        matmul_backward(s.dfch_gelu, g.fcprojw + (size_t)l * C * 4 * C,
                        bias ? g.fcprojb + l * C : NULL, s.dresidual, fch_gelu,
                        p.fcprojw + (size_t)l * C * 4 * C, s.ones, BT, 4 * C, C);
        floats_zero(s.dfch, BT * 4 * C);
        gelu_backward(s.dfch, fch, s.dfch_gelu, BT * 4 * C);
        floats_zero(s.dln, BT * C);
        matmul_backward(s.dln, g.fcw + (size_t)l * 4 * C * C, bias ? g.fcb + l * 4 * C : NULL,
                        s.dfch, ln2, p.fcw + (size_t)l * 4 * C * C, s.ones, BT, C, 4 * C);
        layernorm_backward(s.dresidual, g.ln2w + l * C, bias ? g.ln2b + l * C : NULL, s.dln,
                           residual2, p.ln2w + l * C, ln2_mean, ln2_rstd, BT, C);

        // s.dresidual now holds d(residual2) = d(attproj) = the residual part of d(residual)
        floats_zero(s.datty, BT * C);
        matmul_backward(s.datty, g.attprojw + (size_t)l * C * C, bias ? g.attprojb + l * C : NULL,
                        s.dresidual, atty, p.attprojw + (size_t)l * C * C, s.ones, BT, C, C);
        floats_zero(s.dqkv, BT * 3 * C);
        attention_backward(s.dqkv, s.datt, s.datty, qkv, att, B, T, C, NH);
        floats_zero(s.dln, BT * C);
        matmul_backward(s.dln, g.qkvw + (size_t)l * 3 * C * C, bias ? g.qkvb + l * 3 * C : NULL,
                        s.dqkv, ln1, p.qkvw + (size_t)l * 3 * C * C, s.ones, BT, C, 3 * C);
        layernorm_backward(s.dresidual, g.ln1w + l * C, bias ? g.ln1b + l * C : NULL, s.dln,
                           residual, p.ln1w + l * C, ln1_mean, ln1_rstd, BT, C);
        // s.dresidual now holds d(residual), the output of layer l-1
    }
    encoder_backward(g.wte, g.wpe, s.dresidual, m->inputs, B, T, C);
}

void gpt_free(GPT *m)
{
    free(m->params_memory);
    free(m->grads_memory);
    free(m->acts_memory);
    free(m->scratch_memory);
    free(m->inputs);
    free(m->targets);
    memset(m, 0, sizeof *m);
}

void gpt_adamw_update(GPT *m, float *mom, float *var, float lr, float b1, float b2, float eps,
                      float wd, long t)
{
    size_t off = 0;
    for (int i = 0; i < GPT_NUM_TENSORS; i++) {
        size_t n = m->tensor_sizes[i];
        adamw_update(m->params_memory + off, m->grads_memory + off, mom + off, var + off, n, lr,
                     b1, b2, eps, gpt_tensor_decays(i) ? wd : 0.0f, t);
        off += n;
    }
}

void gpt_sgd_update(GPT *m, float lr, float wd)
{
    size_t off = 0;
    for (int i = 0; i < GPT_NUM_TENSORS; i++) {
        size_t n = m->tensor_sizes[i];
        sgd_update(m->params_memory + off, m->grads_memory + off, n, lr,
                   gpt_tensor_decays(i) ? wd : 0.0f);
        off += n;
    }
}
