/* test_model_attention.c: the sgemm-based causal attention (row-blocked, see layers.c) against a
 * direct double-precision loop implementation (llm.c's CPU attention), forward and backward, at
 * a T long enough to need several row blocks, the last one partial. The PyTorch comparison and
 * the gradient check use T <= 32, a single block, so this is where the blocking is tested. */
#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "layers.h"
#include "test_check.h"

enum { B = 2, T = 150, C = 32, NH = 4, HS = C / NH };

/* out (B,T,C) and att (B,NH,T,T) from qkv (B,T,3C), all in double */
static void reference_forward(double *out, double *att, const float *qkv)
{
    const double scale = 1.0 / sqrt((double)HS);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const float *q = qkv + ((size_t)b * T + t) * 3 * C + h * HS;
                double *a = att + (((size_t)b * NH + h) * T + t) * T;
                double maxv = -INFINITY;
                for (int j = 0; j <= t; j++) {
                    const float *k = qkv + ((size_t)b * T + j) * 3 * C + C + h * HS;
                    double s = 0;
                    for (int i = 0; i < HS; i++) s += (double)q[i] * k[i];
                    a[j] = s * scale;
                    maxv = fmax(maxv, a[j]);
                }
                double sum = 0;
                for (int j = 0; j <= t; j++) sum += a[j] = exp(a[j] - maxv);
                for (int j = 0; j < T; j++) a[j] = j <= t ? a[j] / sum : 0.0;
                double *o = out + ((size_t)b * T + t) * C + h * HS;
                for (int i = 0; i < HS; i++) {
                    double s = 0;
                    for (int j = 0; j <= t; j++)
                        s += a[j] * qkv[((size_t)b * T + j) * 3 * C + 2 * C + h * HS + i];
                    o[i] = s;
                }
            }
}

/* dqkv (B,T,3C) from dout (B,T,C), given the forward's att */
static void reference_backward(double *dqkv, const float *dout, const float *qkv,
                               const double *att)
{
    const double scale = 1.0 / sqrt((double)HS);
    double *datt = malloc(sizeof(double) * T), *dpre = malloc(sizeof(double) * T);
    for (int b = 0; b < B; b++)
        for (int h = 0; h < NH; h++)
            for (int t = 0; t < T; t++) {
                const double *a = att + (((size_t)b * NH + h) * T + t) * T;
                const float *d = dout + ((size_t)b * T + t) * C + h * HS;
                const float *q = qkv + ((size_t)b * T + t) * 3 * C + h * HS;
                double *dq = dqkv + ((size_t)b * T + t) * 3 * C + h * HS;
                for (int j = 0; j <= t; j++) {
                    const float *v = qkv + ((size_t)b * T + j) * 3 * C + 2 * C + h * HS;
                    double *dv = dqkv + ((size_t)b * T + j) * 3 * C + 2 * C + h * HS;
                    datt[j] = 0;
                    for (int i = 0; i < HS; i++) {
                        datt[j] += (double)d[i] * v[i];
                        dv[i] += a[j] * d[i];
                    }
                }
                double dot = 0;
                for (int j = 0; j <= t; j++) dot += a[j] * datt[j];
                for (int j = 0; j <= t; j++) dpre[j] = a[j] * (datt[j] - dot);
                for (int j = 0; j <= t; j++) {
                    const float *k = qkv + ((size_t)b * T + j) * 3 * C + C + h * HS;
                    double *dk = dqkv + ((size_t)b * T + j) * 3 * C + C + h * HS;
                    for (int i = 0; i < HS; i++) {
                        dq[i] += dpre[j] * k[i] * scale;
                        dk[i] += dpre[j] * q[i] * scale;
                    }
                }
            }
    free(datt);
    free(dpre);
}

static double rel_err(const float *a, const double *b, size_t n)
{
    double diff = 0, scale = 1e-30;
    for (size_t i = 0; i < n; i++) {
        diff = fmax(diff, fabs(a[i] - b[i]));
        scale = fmax(scale, fabs(b[i]));
    }
    return diff / scale;
}

int main(void)
{
    const size_t nqkv = (size_t)B * T * 3 * C, nout = (size_t)B * T * C,
                 natt = (size_t)B * NH * T * T;
    float *qkv = malloc(nqkv * sizeof(float)), *out = malloc(nout * sizeof(float));
    float *att = malloc(natt * sizeof(float)), *datt = malloc(natt * sizeof(float));
    float *dout = malloc(nout * sizeof(float)), *dqkv = calloc(nqkv, sizeof(float));
    double *rout = calloc(nout, sizeof(double)), *ratt = calloc(natt, sizeof(double));
    double *rdqkv = calloc(nqkv, sizeof(double));
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 11);
    // std 1 scores: peaked softmax rows, not near-uniform ones that would hide index errors
    for (size_t i = 0; i < nqkv; i++) qkv[i] = (float)gsl_ran_gaussian(rng, 1.0);
    for (size_t i = 0; i < nout; i++) dout[i] = (float)gsl_ran_gaussian(rng, 1.0);

    attention_forward(out, att, qkv, B, T, C, NH);
    reference_forward(rout, ratt, qkv);
    // accumulation: start dqkv at 1 and expect reference + 1
    for (size_t i = 0; i < nqkv; i++) {
        dqkv[i] = 1.0f;
        rdqkv[i] = 1.0;
    }
    attention_backward(dqkv, datt, dout, qkv, att, B, T, C, NH);
    reference_backward(rdqkv, dout, qkv, ratt);

    double e_out = rel_err(out, rout, nout), e_att = rel_err(att, ratt, natt);
    double e_dqkv = rel_err(dqkv, rdqkv, nqkv);
    int upper_nonzero = 0;
    for (int bh = 0; bh < B * NH; bh++)
        for (int t = 0; t < T; t++)
            for (int j = t + 1; j < T; j++) upper_nonzero += att[((size_t)bh * T + t) * T + j] != 0;
    printf("B=%d T=%d C=%d NH=%d: rel err out %.2e, att %.2e, dqkv %.2e; %d nonzero above the "
           "diagonal\n",
           B, T, C, NH, e_out, e_att, e_dqkv, upper_nonzero);
    CHECK(e_out <= 1e-5, "attention output: rel err %.2e > 1e-5", e_out);
    CHECK(e_att <= 1e-5, "softmax probabilities: rel err %.2e > 1e-5", e_att);
    CHECK(e_dqkv <= 1e-5, "dqkv: rel err %.2e > 1e-5", e_dqkv);
    CHECK(upper_nonzero == 0, "%d probabilities above the diagonal (causal mask)", upper_nonzero);
    const int fail = test_failures != 0;

    free(qkv);
    free(out);
    free(att);
    free(datt);
    free(dout);
    free(dqkv);
    free(rout);
    free(ratt);
    free(rdqkv);
    gsl_rng_free(rng);
    printf("%s: blocked sgemm attention %s the direct loops\n", fail ? "FAIL" : "PASS",
           fail ? "differs from" : "matches");
    return fail;
}
