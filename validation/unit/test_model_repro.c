/* test_model_repro.c: properties of the GPT model that the rest of photon relies on.
 *  - layout: tensor sizes and the single contiguous allocation, with and without biases;
 *  - gpt_config_check rejects bad configs with a message naming the field;
 *  - initialisation: the GPT-2 statistics, the same weights for the same seed (and for bias 0
 *    and 1), different weights for another seed;
 *  - reproducibility: two models built with the same seed and fed the same batches have bitwise
 *    identical parameters after a few AdamW steps with clipping;
 *  - backward accumulates: two backward passes give twice the gradient;
 *  - a forward smaller than the planned (B, T) gives what a model planned for it gives. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt.h"
#include "optim.h"

#include "test_check.h"

static void test_layout(void)
{
    // V=8, maxT=4, L=1, C=4, hand-counted:
    // wte 32, wpe 16, ln1w 4, ln1b 4, qkvw 48, qkvb 12, attprojw 16, attprojb 4, ln2w 4, ln2b 4,
    // fcw 64, fcb 16, fcprojw 64, fcprojb 4, lnfw 4, lnfb 4: 300 in all, 252 without the 48 of
    // biases.
    const size_t want1[GPT_NUM_TENSORS] = {32, 16, 4, 4, 48, 12, 16, 4, 4, 4, 64, 16, 64, 4, 4, 4};
    const char *names[GPT_NUM_TENSORS] = {"wte",  "wpe",      "ln1w",     "ln1b", "qkvw", "qkvb",
                                          "attprojw", "attprojb", "ln2w", "ln2b", "fcw",  "fcb",
                                          "fcprojw",  "fcprojb",  "lnfw", "lnfb"};
    for (int bias = 0; bias <= 1; bias++) {
        GPTConfig c = {.max_seq_len = 4, .vocab_size = 8, .num_layers = 1, .num_heads = 2,
                       .channels = 4, .bias = bias};
        GPT m;
        gpt_build(&m, &c, 2, 3);
        CHECK(m.num_parameters == (bias ? 300u : 252u), "bias=%d: %zu parameters", bias,
              m.num_parameters);
        float **views = (float **)&m.params, **gviews = (float **)&m.grads;
        size_t off = 0;
        for (int i = 0; i < GPT_NUM_TENSORS; i++) {
            int is_bias = names[i][strlen(names[i]) - 1] == 'b'; // ln1b, qkvb, ... lnfb
            size_t want = is_bias && !bias ? 0 : want1[i];
            CHECK(!strcmp(gpt_tensor_name(i), names[i]), "tensor %d is %s", i, gpt_tensor_name(i));
            CHECK(m.tensor_sizes[i] == want, "bias=%d: %s has %zu elements, want %zu", bias,
                  names[i], m.tensor_sizes[i], want);
            CHECK(views[i] == m.params_memory + off, "%s is not at offset %zu", names[i], off);
            CHECK(gviews[i] == m.grads_memory + off, "grad %s is not at offset %zu", names[i], off);
            off += m.tensor_sizes[i];
        }
        CHECK(m.peak_bytes >= 2 * m.num_parameters * sizeof(float), "peak_bytes %zu", m.peak_bytes);
        CHECK(m.B == 2 && m.T == 3, "planned B, T = %d, %d", m.B, m.T);
        gpt_free(&m);
    }
    CHECK(gpt_tensor_name(GPT_NUM_TENSORS) == NULL, "name past the end");
}

static void test_config_check(void)
{
    char err[256];
    GPTConfig ok = {.max_seq_len = 16, .vocab_size = 50, .num_layers = 2, .num_heads = 4,
                    .channels = 32, .bias = 0};
    CHECK(gpt_config_check(&ok, err, sizeof err) == 0, "valid config rejected");
    struct { GPTConfig c; const char *word; } bad[] = {
        {ok, "num_heads"}, {ok, "num_layers"}, {ok, "bias"}, {ok, "vocab_size"},
        {ok, "max_seq_len"}, {ok, "channels"}};
    bad[0].c.num_heads = 5; // 32 % 5
    bad[1].c.num_layers = 0;
    bad[2].c.bias = 2;
    bad[3].c.vocab_size = -1;
    bad[4].c.max_seq_len = 0;
    bad[5].c.channels = 0;
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        err[0] = 0;
        int rc = gpt_config_check(&bad[i].c, err, sizeof err);
        CHECK(rc == -1 && strstr(err, bad[i].word), "bad %s: rc %d, message '%s'", bad[i].word,
              rc, err);
    }
}

static double tensor_std(const float *x, size_t n)
{
    double s = 0, s2 = 0;
    for (size_t i = 0; i < n; i++) {
        s += x[i];
        s2 += (double)x[i] * x[i];
    }
    return sqrt(s2 / n - (s / n) * (s / n));
}

static void test_init(void)
{
    GPTConfig c = {.max_seq_len = 32, .vocab_size = 300, .num_layers = 3, .num_heads = 4,
                   .channels = 64, .bias = 1};
    GPT a, b, nb;
    gpt_build(&a, &c, 1, 8);
    gpt_build(&b, &c, 1, 8);
    gpt_init_weights(&a, 7);
    gpt_init_weights(&b, 7);
    CHECK(!memcmp(a.params_memory, b.params_memory, a.num_parameters * sizeof(float)),
          "same seed, different weights");
    gpt_init_weights(&b, 8);
    CHECK(memcmp(a.params_memory, b.params_memory, a.num_parameters * sizeof(float)),
          "different seeds, same weights");
    // GPT-2 statistics (tens of thousands of draws: std within a few percent)
    double s_wte = tensor_std(a.params.wte, a.tensor_sizes[0]);
    double s_fc = tensor_std(a.params.fcw, a.tensor_sizes[10]);
    double s_proj = tensor_std(a.params.fcprojw, a.tensor_sizes[12]);
    double want_proj = 0.02 / sqrt(2.0 * c.num_layers);
    CHECK(fabs(s_wte - 0.02) < 0.001, "wte std %g", s_wte);
    CHECK(fabs(s_fc - 0.02) < 0.001, "fcw std %g", s_fc);
    CHECK(fabs(s_proj - want_proj) < 0.05 * want_proj, "fcprojw std %g, want %g", s_proj,
          want_proj);
    for (size_t i = 0; i < a.tensor_sizes[2]; i++) CHECK(a.params.ln1w[i] == 1.0f, "ln1w");
    for (size_t i = 0; i < a.tensor_sizes[5]; i++) CHECK(a.params.qkvb[i] == 0.0f, "qkvb");
    // bias = 0 draws the same weights: every 2-D tensor matches the bias = 1 model's
    GPTConfig c0 = c;
    c0.bias = 0;
    gpt_build(&nb, &c0, 1, 8);
    gpt_init_weights(&nb, 7);
    CHECK(!memcmp(a.params.qkvw, nb.params.qkvw, a.tensor_sizes[4] * sizeof(float)) &&
              !memcmp(a.params.fcprojw, nb.params.fcprojw, a.tensor_sizes[12] * sizeof(float)),
          "bias 0 and 1 models from one seed differ");
    gpt_free(&a);
    gpt_free(&b);
    gpt_free(&nb);
}

enum { B = 4, T = 16 };
static const GPTConfig small = {.max_seq_len = 16, .vocab_size = 64, .num_layers = 2,
                                .num_heads = 2, .channels = 32, .bias = 1};

static void make_batch(int *x, int *y, int step, int V)
{
    for (int i = 0; i < B * T; i++) {
        x[i] = (i * 7 + step * 13 + (i * i) % 5) % V;
        y[i] = (i * 3 + step * 5 + 1) % V;
    }
}

/* zero_grad, forward, backward, clip, AdamW: what a silo's inner step does */
static void train(GPT *m, int steps, float *mom, float *var)
{
    int x[B * T], y[B * T];
    for (int s = 0; s < steps; s++) {
        make_batch(x, y, s, m->config.vocab_size);
        gpt_zero_grad(m);
        gpt_forward(m, x, y, B, T);
        gpt_backward(m);
        clip_grad_norm(m->grads_memory, m->num_parameters, 1.0);
        gpt_adamw_update(m, mom, var, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, s + 1);
    }
}

static void test_reproducible(void)
{
    // two OpenMP threads whatever OMP_NUM_THREADS says, so the parallel loops are exercised
    int saved_threads = omp_get_max_threads();
    omp_set_num_threads(2);
    GPT a, b;
    gpt_build(&a, &small, B, T);
    gpt_build(&b, &small, B, T);
    gpt_init_weights(&a, 42);
    gpt_init_weights(&b, 42);
    float *init = malloc(a.num_parameters * sizeof(float));
    memcpy(init, a.params_memory, a.num_parameters * sizeof(float));
    float *ma = calloc(a.num_parameters, 4), *va = calloc(a.num_parameters, 4);
    float *mb = calloc(a.num_parameters, 4), *vb = calloc(a.num_parameters, 4);
    train(&a, 4, ma, va);
    train(&b, 4, mb, vb);
    size_t bytes = a.num_parameters * sizeof(float);
    CHECK(memcmp(init, a.params_memory, bytes), "training did not change the parameters");
    CHECK(!memcmp(a.params_memory, b.params_memory, bytes),
          "same seed and data, different parameters after 4 steps");
    CHECK(!memcmp(ma, mb, bytes) && !memcmp(va, vb, bytes), "optimizer state differs");
    CHECK(a.mean_loss == b.mean_loss, "losses differ: %.9g vs %.9g", a.mean_loss, b.mean_loss);
    free(init);
    free(ma);
    free(va);
    free(mb);
    free(vb);
    gpt_free(&a);
    gpt_free(&b);
    omp_set_num_threads(saved_threads);
}

static void test_accumulate(void)
{
    GPT m;
    gpt_build(&m, &small, B, T);
    gpt_init_weights(&m, 3);
    int x[B * T], y[B * T];
    make_batch(x, y, 0, small.vocab_size);
    gpt_zero_grad(&m);
    gpt_forward(&m, x, y, B, T);
    gpt_backward(&m);
    float *once = malloc(m.num_parameters * sizeof(float));
    memcpy(once, m.grads_memory, m.num_parameters * sizeof(float));
    gpt_forward(&m, x, y, B, T);
    gpt_backward(&m);
    double worst = 0, gmax = 0;
    for (size_t i = 0; i < m.num_parameters; i++) {
        worst = fmax(worst, fabs(m.grads_memory[i] - 2.0 * once[i]));
        gmax = fmax(gmax, fabs(once[i]));
    }
    CHECK(gmax > 0 && worst <= 1e-6 * gmax, "two backwards: max |g2 - 2 g1| = %g (max |g1| %g)",
          worst, gmax);
    gpt_zero_grad(&m);
    for (size_t i = 0; i < m.num_parameters; i++) CHECK(m.grads_memory[i] == 0.0f, "zero_grad");
    free(once);
    gpt_free(&m);
}

/* A model planned for (4, 16) run on (2, 9) matches a model planned for (2, 9). */
static void test_smaller_batch(void)
{
    const int b = 2, t = 9;
    GPT big, exact;
    gpt_build(&big, &small, B, T);
    gpt_build(&exact, &small, b, t);
    gpt_init_weights(&big, 5);
    gpt_init_weights(&exact, 5);
    int x[B * T], y[B * T];
    make_batch(x, y, 1, small.vocab_size);
    gpt_zero_grad(&big);
    gpt_zero_grad(&exact);
    gpt_forward(&big, x, y, b, t);
    gpt_forward(&exact, x, y, b, t);
    CHECK(fabsf(big.mean_loss - exact.mean_loss) <= 1e-6f * fabsf(exact.mean_loss),
          "loss %.9g vs %.9g", big.mean_loss, exact.mean_loss);
    const float *lb = gpt_logits(&big), *le = gpt_logits(&exact);
    double worst = 0;
    for (int i = 0; i < b * t * small.vocab_size; i++) worst = fmax(worst, fabs(lb[i] - le[i]));
    CHECK(worst <= 1e-5, "logits differ by %g", worst);
    gpt_backward(&big);
    gpt_backward(&exact);
    double gw = 0, gmax = 0;
    for (size_t i = 0; i < big.num_parameters; i++) {
        gw = fmax(gw, fabs(big.grads_memory[i] - exact.grads_memory[i]));
        gmax = fmax(gmax, fabs(exact.grads_memory[i]));
    }
    CHECK(gw <= 1e-5 * gmax, "gradients differ by %g (max %g)", gw, gmax);
    // without targets: the same logits, no loss
    size_t nlogits = (size_t)b * t * small.vocab_size;
    float *with = malloc(nlogits * sizeof(float));
    memcpy(with, le, nlogits * sizeof(float));
    gpt_forward(&exact, x, NULL, b, t);
    CHECK(exact.mean_loss == -1.0f, "mean_loss without targets %g", exact.mean_loss);
    CHECK(!memcmp(gpt_logits(&exact), with, nlogits * sizeof(float)),
          "logits without targets differ from logits with targets");
    free(with);
    gpt_free(&big);
    gpt_free(&exact);
}

int main(void)
{
    test_layout();
    test_config_check();
    test_init();
    test_reproducible();
    test_accumulate();
    test_smaller_batch();
    if (test_failures) {
        printf("FAIL: %d checks failed\n", test_failures);
        return 1;
    }
    printf("PASS: layout, config check, init, reproducibility, accumulation, smaller batches\n");
    return 0;
}
