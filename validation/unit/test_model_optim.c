/* test_model_optim.c: the inner optimizers, gradient clipping and the learning-rate schedule
 * against values worked out by hand (the arithmetic is in the comments), plus the weight-decay
 * grouping of gpt_adamw_update / gpt_sgd_update. */
#include <math.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "gpt.h"
#include "optim.h"
#include "test_check.h"

static void expect_near(const char *what, double got, double want, double rtol)
{
    double err = fabs(got - want), lim = rtol * fmax(fabs(want), 1e-30);
    CHECK(err <= lim, "%s: got %.9g, want %.9g", what, got, want);
}

static void expect_vec(const char *what, const float *got, const double *want, int n, double rtol)
{
    char name[128];
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof name, "%s[%d]", what, i);
        if (want[i] == 0.0)
            CHECK(got[i] == 0.0f, "%s: got %.9g, want 0", name, got[i]);
        else
            expect_near(name, got[i], want[i], rtol);
    }
}

/* lr 0.1, betas (0.9, 0.999), eps 1e-8, weight decay 0.01, p0 = (1, -2, 0.5).
 * step 1, g = (0.5, -1, 0):
 *   m = 0.1 g = (0.05, -0.1, 0);  v = 0.001 g^2 = (0.00025, 0.001, 0)
 *   bias corrections 0.1 and 0.001 give mhat = g, sqrt(vhat) = |g|, so the step is
 *   lr * g/(|g|+eps) = (0.1, -0.1, 0) (eps only matters for the 0 gradient: 0/eps = 0)
 *   p = 0.999 p0 - step = (0.899, -1.898, 0.4995)
 * step 2, g = (-0.5, -1, 2):
 *   m = 0.9 m + 0.1 g = (-0.005, -0.19, 0.2)
 *   v = 0.999 v + 0.001 g^2 = (0.00049975, 0.001999, 0.004)
 *   bc1 = 1 - 0.81 = 0.19, bc2 = 1 - 0.998001 = 0.001999
 *   mhat = (-0.0263157895, -1, 1.0526315789), vhat = (0.25, 1, 2.0010005003)
 *   step = 0.1 * mhat/sqrt(vhat) = 0.1 * (-0.0526315789, -1, 0.7441368236)
 *   p = 0.999 (0.899, -1.898, 0.4995) - step = (0.9033641579, -1.796102, 0.4245868176)
 * step 3, g = 0 (momentum alone moves p):
 *   m = (-0.0045, -0.171, 0.18), v = (0.00049925025, 0.001997001, 0.003996)
 *   bc1 = 0.271, bc2 = 0.002997001
 *   mhat/sqrt(vhat) = (-0.0406842, -0.7729985, 0.5752003)
 *   p = (0.906529232, -1.71700561, 0.36664024) */
static void test_adamw(void)
{
    float p[3] = {1.0f, -2.0f, 0.5f}, m[3] = {0}, v[3] = {0};
    const float g1[3] = {0.5f, -1.0f, 0.0f}, g2[3] = {-0.5f, -1.0f, 2.0f}, g3[3] = {0};
    adamw_update(p, g1, m, v, 3, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 1);
    expect_vec("adamw step1 p", p, (const double[]){0.899, -1.898, 0.4995}, 3, 1e-6);
    expect_vec("adamw step1 m", m, (const double[]){0.05, -0.1, 0.0}, 3, 1e-6);
    // 1 - 0.999f is 0.00099998713 in float, 1.3e-5 away from 0.001: v carries that error
    expect_vec("adamw step1 v", v, (const double[]){0.00025, 0.001, 0.0}, 3, 2e-5);
    adamw_update(p, g2, m, v, 3, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 2);
    expect_vec("adamw step2 p", p, (const double[]){0.9033641579, -1.796102, 0.4245868176}, 3,
               2e-6);
    expect_vec("adamw step2 m", m, (const double[]){-0.005, -0.19, 0.2}, 3, 1e-5);
    expect_vec("adamw step2 v", v, (const double[]){0.00049975, 0.001999, 0.004}, 3, 2e-5);
    adamw_update(p, g3, m, v, 3, 0.1f, 0.9f, 0.999f, 1e-8f, 0.01f, 3);
    expect_vec("adamw step3 p", p, (const double[]){0.906529232, -1.71700561, 0.36664024}, 3,
               2e-6);
}

/* p - lr (g + wd p) with lr 0.1, wd 0.01:
 *   1 - 0.1 (0.5 + 0.01) = 0.949;  -2 - 0.1 (-1 - 0.02) = -1.898;  0.5 - 0.1 (0 + 0.005) = 0.4995 */
static void test_sgd(void)
{
    float p[3] = {1.0f, -2.0f, 0.5f};
    const float g[3] = {0.5f, -1.0f, 0.0f};
    sgd_update(p, g, 3, 0.1f, 0.01f);
    expect_vec("sgd p", p, (const double[]){0.949, -1.898, 0.4995}, 3, 1e-6);
}

static void test_clip(void)
{
    float g[3] = {3.0f, 4.0f, 0.0f}; // norm 5
    expect_near("grad_norm(3,4,0)", grad_norm(g, 3), 5.0, 1e-12);
    expect_near("clip returns the norm before clipping", clip_grad_norm(g, 3, 10.0), 5.0, 1e-12);
    expect_vec("clip above the norm leaves g", g, (const double[]){3, 4, 0}, 3, 0);
    clip_grad_norm(g, 3, 0.0);
    expect_vec("max_norm 0 leaves g", g, (const double[]){3, 4, 0}, 3, 0);
    expect_near("clip to 1 returns 5", clip_grad_norm(g, 3, 1.0), 5.0, 1e-12);
    expect_vec("clip to 1 scales by 1/5", g, (const double[]){0.6, 0.8, 0}, 3, 1e-7);
    expect_near("norm after clipping", grad_norm(g, 3), 1.0, 1e-7);

    // 1000 elements of 0.5: sum of squares 250, norm sqrt(250) = 15.811388300841896; the
    // result must not depend on the thread count (fixed pieces, added in order)
    enum { N = 1000 };
    float big[N];
    for (int i = 0; i < N; i++) big[i] = 0.5f;
    expect_near("grad_norm(1000 x 0.5)", grad_norm(big, N), 15.811388300841896, 1e-12);
    for (int i = 0; i < N; i++) big[i] = sinf(0.37f * i) * (1.0f + i % 7);
    int saved = omp_get_max_threads();
    omp_set_num_threads(1);
    double n1 = grad_norm(big, N);
    omp_set_num_threads(3);
    double n3 = grad_norm(big, N);
    omp_set_num_threads(saved);
    CHECK(!memcmp(&n1, &n3, sizeof n1), "grad_norm differs between 1 and 3 threads: %.17g vs %.17g", n1, n3);
}

/* lr 6e-4, warm-up 10 steps, cosine to 10% at step 110:
 *   step 0: 6e-4 * 1/10 = 6e-5;  step 4: 6e-4 * 5/10 = 3e-4;  step 9: 6e-4
 *   step 10: cosine starts at 6e-4
 *   step 35: progress 0.25, coeff (1 + cos(pi/4))/2 = 0.8535533906,
 *            6e-4 * (0.1 + 0.9 * 0.8535533906) = 5.209188309e-4
 *   step 60: progress 0.5, coeff 0.5, 6e-4 * 0.55 = 3.3e-4
 *   step 110 and later: 6e-4 * 0.1 = 6e-5 */
static void test_schedule(void)
{
    LRSchedule s = {.lr = 6e-4f, .warmup_steps = 10, .total_steps = 110, .final_fraction = 0.1f};
    expect_near("lr_at(0)", lr_at(&s, 0), 6e-5, 1e-6);
    expect_near("lr_at(4)", lr_at(&s, 4), 3e-4, 1e-6);
    expect_near("lr_at(9)", lr_at(&s, 9), 6e-4, 1e-6);
    expect_near("lr_at(10)", lr_at(&s, 10), 6e-4, 1e-6);
    expect_near("lr_at(35)", lr_at(&s, 35), 5.209188309e-4, 1e-6);
    expect_near("lr_at(60)", lr_at(&s, 60), 3.3e-4, 1e-6);
    expect_near("lr_at(110)", lr_at(&s, 110), 6e-5, 1e-6);
    expect_near("lr_at(5000)", lr_at(&s, 5000), 6e-5, 1e-6);
    LRSchedule constant = {.lr = 1e-3f, .warmup_steps = 4, .total_steps = 100,
                           .final_fraction = 1.0f};
    expect_near("constant lr_at(1)", lr_at(&constant, 1), 5e-4, 1e-6);
    expect_near("constant lr_at(50)", lr_at(&constant, 50), 1e-3, 1e-6);
    expect_near("constant lr_at(500)", lr_at(&constant, 500), 1e-3, 1e-6);
    LRSchedule nowarm = {.lr = 1e-3f, .warmup_steps = 0, .total_steps = 10,
                         .final_fraction = 0.0f};
    expect_near("no warm-up lr_at(0)", lr_at(&nowarm, 0), 1e-3, 1e-6);
    expect_near("no warm-up lr_at(5)", lr_at(&nowarm, 5), 5e-4, 1e-6);
    CHECK(lr_at(&nowarm, 10) == 0.0f, "final_fraction 0: lr_at(total) = %g, want 0", lr_at(&nowarm, 10));
}

/* The GPT wrappers decay exactly the 2-D tensors. With g = 0, lr 0.5, wd 0.1, one SGD step
 * multiplies decayed parameters by 1 - 0.05 = 0.95 and leaves the others; AdamW with g = 0 does
 * the same (its Adam step is 0/(0+eps) = 0). */
static void test_decay_groups(void)
{
    const GPTConfig cfg = {.max_seq_len = 4, .vocab_size = 8, .num_layers = 1, .num_heads = 1,
                           .channels = 4, .bias = 1};
    const char *decayed[] = {"wte", "wpe", "qkvw", "attprojw", "fcw", "fcprojw"};
    for (int i = 0; i < GPT_NUM_TENSORS; i++) {
        int want = 0;
        for (int k = 0; k < 6; k++) want |= !strcmp(gpt_tensor_name(i), decayed[k]);
        CHECK(gpt_tensor_decays(i) == want, "gpt_tensor_decays(%s) = %d", gpt_tensor_name(i), gpt_tensor_decays(i));
    }
    for (int opt = 0; opt < 2; opt++) {
        GPT m;
        gpt_build(&m, &cfg, 1, 4);
        for (size_t i = 0; i < m.num_parameters; i++) m.params_memory[i] = 1.0f;
        float *mom = calloc(m.num_parameters, sizeof(float));
        float *var = calloc(m.num_parameters, sizeof(float));
        if (opt == 0)
            gpt_sgd_update(&m, 0.5f, 0.1f);
        else
            gpt_adamw_update(&m, mom, var, 0.5f, 0.9f, 0.95f, 1e-8f, 0.1f, 1);
        size_t off = 0;
        for (int i = 0; i < GPT_NUM_TENSORS; i++) {
            float want = gpt_tensor_decays(i) ? 0.95f : 1.0f;
            for (size_t j = 0; j < m.tensor_sizes[i]; j++) {
                const int bad = fabsf(m.params_memory[off + j] - want) > 1e-7f;
                CHECK(!bad, "%s: %s[%zu] = %.9g, want %.9g", opt ? "adamw" : "sgd", gpt_tensor_name(i), j,
                      m.params_memory[off + j], want);
                if (bad) break; /* one report per tensor */
            }
            off += m.tensor_sizes[i];
        }
        free(mom);
        free(var);
        gpt_free(&m);
    }
}

int main(void)
{
    test_adamw();
    test_sgd();
    test_clip();
    test_schedule();
    test_decay_groups();
    if (test_failures) {
        printf("FAIL: %d of %d checks failed\n", test_failures, test_checks);
        return 1;
    }
    printf("PASS: AdamW, SGD, clipping, lr schedule, decay groups\n");
    return 0;
}
