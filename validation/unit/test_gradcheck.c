/* test_gradcheck.c: gpt_backward against central finite differences of the loss, on a tiny model,
 * for every parameter tensor, with and without biases.
 *
 * Two checks per tensor, each in double precision around a float32 model:
 *  1. components: a sample of single parameters, (L(p+h) - L(p-h)) / 2h against the analytic
 *     gradient of that parameter;
 *  2. direction: the whole tensor moved along a random unit direction d, whose finite difference
 *     must match g.d. This sums over every element, so it catches an error in any of them (a
 *     wrong row, a missed bias), and its larger signal lets a tighter tolerance hold.
 * The loss is float32 arithmetic, so differences carry ~1e-6 of round-off; h = 1e-2 keeps that
 * below the O(h^2) truncation error of the central difference. The weights are the GPT-2 init
 * plus N(0, 0.25) noise everywhere, so that every tensor (LayerNorm weights and biases included)
 * sits away from its symmetric starting point and every gradient is far from zero.
 */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpt.h"
#include "test_check.h"

enum { B = 2, T = 8, SAMPLES = 8 };

static double mean_loss(GPT *m, const int *x, const int *y)
{
    gpt_forward(m, x, y, B, T);
    double s = 0.0; // in double: m->mean_loss is rounded to float
    for (int i = 0; i < B * T; i++) s += m->acts.losses[i];
    return s / (B * T);
}

static void check_model(int bias)
{
    const GPTConfig cfg = {.max_seq_len = T, .vocab_size = 32, .num_layers = 2, .num_heads = 2,
                           .channels = 16, .bias = bias};
    const double h = 1e-2;
    GPT m;
    gpt_build(&m, &cfg, B, T);
    gpt_init_weights(&m, 1234);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 99);
    for (size_t i = 0; i < m.num_parameters; i++)
        m.params_memory[i] += (float)gsl_ran_gaussian(rng, 0.25);
    int x[B * T], y[B * T];
    for (int i = 0; i < B * T; i++) {
        x[i] = (int)gsl_rng_uniform_int(rng, cfg.vocab_size);
        y[i] = (int)gsl_rng_uniform_int(rng, cfg.vocab_size);
    }

    gpt_zero_grad(&m);
    mean_loss(&m, x, y);
    gpt_backward(&m);

    float *dir = malloc(m.num_parameters * sizeof(float));
    printf("bias=%d\n  %-9s %8s %11s %11s %12s %12s %9s\n", bias, "tensor", "n", "max|g|",
           "err/limit", "g.d", "fd(d)", "rel err");
    size_t off = 0;
    for (int t = 0; t < GPT_NUM_TENSORS; t++) {
        size_t n = m.tensor_sizes[t];
        float *p = m.params_memory + off;
        const float *g = m.grads_memory + off;
        off += n;
        if (n == 0) continue;
        double gmax = 0.0;
        for (size_t i = 0; i < n; i++) gmax = fmax(gmax, fabs(g[i]));

        // 1. sampled components
        double worst = 0.0; // largest error / allowed error
        int bad = 0;
        for (int k = 0; k < SAMPLES && k < (int)n; k++) {
            size_t i = n <= SAMPLES ? (size_t)k : gsl_rng_uniform_int(rng, n);
            float p0 = p[i];
            p[i] = p0 + (float)h;
            double lp = mean_loss(&m, x, y);
            p[i] = p0 - (float)h;
            double lm = mean_loss(&m, x, y);
            p[i] = p0;
            double fd = (lp - lm) / (2 * h);
            double err = fabs(fd - g[i]);
            double limit = 1e-4 + 2e-2 * fabs(fd) + 2e-3 * gmax;
            worst = fmax(worst, err / limit);
            if (err > limit) {
                bad++;
                printf("  %s[%zu]: analytic %.6e, finite difference %.6e\n", gpt_tensor_name(t),
                       i, g[i], fd);
            }
        }

        // 2. random direction over the whole tensor
        double dnorm = 0.0, gd = 0.0;
        for (size_t i = 0; i < n; i++) {
            dir[i] = (float)gsl_ran_gaussian(rng, 1.0);
            dnorm += (double)dir[i] * dir[i];
        }
        dnorm = sqrt(dnorm);
        for (size_t i = 0; i < n; i++) {
            dir[i] = (float)(dir[i] / dnorm);
            gd += (double)g[i] * dir[i];
        }
        float *saved = malloc(n * sizeof(float));
        for (size_t i = 0; i < n; i++) saved[i] = p[i];
        for (size_t i = 0; i < n; i++) p[i] = saved[i] + (float)h * dir[i];
        double lp = mean_loss(&m, x, y);
        for (size_t i = 0; i < n; i++) p[i] = saved[i] - (float)h * dir[i];
        double lm = mean_loss(&m, x, y);
        for (size_t i = 0; i < n; i++) p[i] = saved[i];
        free(saved);
        double fd = (lp - lm) / (2 * h);
        double rel = fabs(fd - gd) / fmax(fabs(fd), 1e-3);
        if (rel > 1e-2) bad++;
        if (gmax < 1e-4) bad++; // a vanishing gradient would make the check vacuous

        printf("  %-9s %8zu %11.3e %11.3f %12.5e %12.5e %9.2e %s\n", gpt_tensor_name(t), n, gmax,
               worst, gd, fd, rel, bad ? "FAIL" : "ok");
        CHECK(bad == 0, "bias=%d %s: %d gradient check(s) failed", bias, gpt_tensor_name(t), bad);
    }
    free(dir);
    gsl_rng_free(rng);
    gpt_free(&m);
}

int main(void)
{
    check_model(1);
    check_model(0);
    if (test_failures) {
        printf("FAIL: %d of %d tensors' gradient checks failed\n", test_failures, test_checks);
        return 1;
    }
    printf("PASS: analytic gradients match finite differences\n");
    return 0;
}
