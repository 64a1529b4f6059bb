/* layers.c: GPT-2's layers on the CPU. See layers.h for the conventions (shapes, accumulation,
 * determinism). The reference for the arithmetic is llm.c's train_gpt2.c; what differs is that
 * every product goes through OpenBLAS, attention included, and that the remaining loops are
 * written so that GCC vectorises them (`omp simd`) and OpenMP splits them without races. */
#include "layers.h"

#include <cblas.h>
#include <math.h>
#include <string.h>

/* glibc's libmvec has SIMD versions of expf and tanhf (SSE to AVX-512), but <math.h> announces
 * them only under -ffast-math, which we do not want for the whole build. Announcing them here
 * lets the `omp simd` loops of softmax, cross-entropy and GELU call 8 or 16 lanes at once:
 * measured 20x faster than the scalar calls. The vector variants are deterministic (same input,
 * same bits) and within 4 ulp. libm.so on glibc pulls in libmvec as needed. */
#if defined(__x86_64__) && defined(__GLIBC__) && defined(__GNUC__) && !defined(__clang__) && \
    !defined(__FAST_MATH__)
#if __GLIBC_PREREQ(2, 35)
__attribute__((__simd__("notinbranch"))) float expf(float);
__attribute__((__simd__("notinbranch"))) float tanhf(float);
#endif
#endif

/* Column-chunk width for parameter-gradient reductions over rows: one 64-byte cache line. Each
 * chunk is owned by one thread, which sums every row in order, so the result is the same for
 * any thread count. */
#define COL_CHUNK 16

/* Rows of the attention matrix handled by one sgemm in the causal loops: row block [r0, r1)
 * needs keys [0, r1) only, which skips about 3/8 of the products at T = 256. */
#define ATT_ROW_BLOCK 64

static inline int imin(int a, int b) { return a < b ? a : b; }

void floats_zero(float *x, size_t n)
{
    const size_t chunk = 1 << 16;
    size_t nchunks = (n + chunk - 1) / chunk;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < nchunks; i++) {
        size_t lo = i * chunk, len = n - lo < chunk ? n - lo : chunk;
        memset(x + lo, 0, len * sizeof(float));
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Token + position embedding */

void encoder_forward(float *out, const int *inp, const float *wte, const float *wpe, int B, int T,
                     int C)
{
#pragma omp parallel for schedule(static)
    for (int bt = 0; bt < B * T; bt++) {
        int t = bt % T;
        float *o = out + (size_t)bt * C;
        const float *e = wte + (size_t)inp[bt] * C;
        const float *p = wpe + (size_t)t * C;
#pragma omp simd
        for (int c = 0; c < C; c++) o[c] = e[c] + p[c];
    }
}

void encoder_backward(float *dwte, float *dwpe, const float *dout, const int *inp, int B, int T,
                      int C)
{
    // The same token can occur at many (b, t): split by channels, not by rows, so that no two
    // threads add into the same element and the order of additions is fixed.
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < C; c0 += COL_CHUNK) {
        int c1 = imin(c0 + COL_CHUNK, C);
        for (int bt = 0; bt < B * T; bt++) {
            int t = bt % T;
            const float *d = dout + (size_t)bt * C;
            float *e = dwte + (size_t)inp[bt] * C;
            float *p = dwpe + (size_t)t * C;
#pragma omp simd
            for (int c = c0; c < c1; c++) {
                e[c] += d[c];
                p[c] += d[c];
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* LayerNorm */

void layernorm_forward(float *out, float *mean, float *rstd, const float *inp, const float *weight,
                       const float *bias, size_t N, int C)
{
    const float eps = 1e-5f;
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < N; i++) {
        const float *x = inp + i * C;
        float *o = out + i * C;
        float s = 0.0f;
#pragma omp simd reduction(+ : s)
        for (int c = 0; c < C; c++) s += x[c];
        float m = s / C;
        float v = 0.0f;
#pragma omp simd reduction(+ : v)
        for (int c = 0; c < C; c++) {
            float d = x[c] - m;
            v += d * d;
        }
        float r = 1.0f / sqrtf(v / C + eps);
        if (bias) {
#pragma omp simd
            for (int c = 0; c < C; c++) o[c] = (x[c] - m) * r * weight[c] + bias[c];
        } else {
#pragma omp simd
            for (int c = 0; c < C; c++) o[c] = (x[c] - m) * r * weight[c];
        }
        mean[i] = m;
        rstd[i] = r;
    }
}

void layernorm_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                        const float *inp, const float *weight, const float *mean,
                        const float *rstd, size_t N, int C)
{
    // Input gradient: independent per row.
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < N; i++) {
        const float *x = inp + i * C, *d = dout + i * C;
        float *dx = dinp + i * C;
        float m = mean[i], r = rstd[i];
        float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
#pragma omp simd reduction(+ : dnorm_mean, dnorm_norm_mean)
        for (int c = 0; c < C; c++) {
            float dnorm = weight[c] * d[c];
            dnorm_mean += dnorm;
            dnorm_norm_mean += dnorm * (x[c] - m) * r;
        }
        dnorm_mean /= C;
        dnorm_norm_mean /= C;
#pragma omp simd
        for (int c = 0; c < C; c++) {
            float norm = (x[c] - m) * r;
            float dnorm = weight[c] * d[c];
            dx[c] += (dnorm - dnorm_mean - norm * dnorm_norm_mean) * r;
        }
    }
    // Parameter gradients: sums over rows, split by columns (see COL_CHUNK).
#pragma omp parallel for schedule(static)
    for (int c0 = 0; c0 < C; c0 += COL_CHUNK) {
        int c1 = imin(c0 + COL_CHUNK, C);
        for (size_t i = 0; i < N; i++) {
            const float *x = inp + i * C, *d = dout + i * C;
            float m = mean[i], r = rstd[i];
#pragma omp simd
            for (int c = c0; c < c1; c++) dweight[c] += (x[c] - m) * r * d[c];
            if (dbias) {
#pragma omp simd
                for (int c = c0; c < c1; c++) dbias[c] += d[c];
            }
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* Linear layers */

void matmul_forward(float *out, const float *inp, const float *weight, const float *bias, size_t N,
                    int C, int OC)
{
    float beta = 0.0f;
    if (bias) {
        // Start from the bias in every row and let sgemm add the product (beta = 1).
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < N; i++) memcpy(out + i * OC, bias, (size_t)OC * sizeof(float));
        beta = 1.0f;
    }
    // out (N, OC) = inp (N, C) . weight^T (C, OC)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, (int)N, OC, C, 1.0f, inp, C, weight, C,
                beta, out, OC);
}

void matmul_backward(float *dinp, float *dweight, float *dbias, const float *dout,
                     const float *inp, const float *weight, const float *ones, size_t N, int C,
                     int OC)
{
    // dinp (N, C) += dout (N, OC) . weight (OC, C)
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, (int)N, C, OC, 1.0f, dout, OC, weight,
                C, 1.0f, dinp, C);
    // dweight (OC, C) += dout^T (OC, N) . inp (N, C)
    cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, OC, C, (int)N, 1.0f, dout, OC, inp, C,
                1.0f, dweight, C);
    // dbias (OC) += dout^T (OC, N) . ones (N)
    if (dbias)
        cblas_sgemv(CblasRowMajor, CblasTrans, (int)N, OC, 1.0f, dout, OC, ones, 1, 1.0f, dbias,
                    1);
}

/* ------------------------------------------------------------------------------------------ */
/* Causal self-attention */

/* Row t of the attention matrix: softmax over its first n = t+1 entries, zero after them. */
static void softmax_causal_row(float *row, int n, int T)
{
    float maxv = -INFINITY;
#pragma omp simd reduction(max : maxv)
    for (int j = 0; j < n; j++) maxv = row[j] > maxv ? row[j] : maxv; // not fmaxf: a libm call
    float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
    for (int j = 0; j < n; j++) {
        float e = expf(row[j] - maxv);
        row[j] = e;
        sum += e;
    }
    float inv = 1.0f / sum;
#pragma omp simd
    for (int j = 0; j < n; j++) row[j] *= inv;
    for (int j = n; j < T; j++) row[j] = 0.0f;
}

void attention_forward(float *out, float *att, const float *qkv, int B, int T, int C, int NH)
{
    const int hs = C / NH, C3 = 3 * C;
    const float scale = 1.0f / sqrtf((float)hs);
    // One (batch, head) per iteration; OpenBLAS runs single-threaded inside a parallel region.
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        const float *q = qkv + (size_t)b * T * C3 + h * hs; // (T, hs), row stride 3C
        const float *k = q + C, *v = q + 2 * C;
        float *a = att + (size_t)bh * T * T; // (T, T)
        float *o = out + (size_t)b * T * C + h * hs; // (T, hs), row stride C
        for (int r0 = 0; r0 < T; r0 += ATT_ROW_BLOCK) {
            int r1 = imin(r0 + ATT_ROW_BLOCK, T), rb = r1 - r0;
            // a[r0:r1, 0:r1] = scale * q[r0:r1] . k[0:r1]^T
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rb, r1, hs, scale,
                        q + (size_t)r0 * C3, C3, k, C3, 0.0f, a + (size_t)r0 * T, T);
            for (int t = r0; t < r1; t++) softmax_causal_row(a + (size_t)t * T, t + 1, T);
            // o[r0:r1] = a[r0:r1, 0:r1] . v[0:r1]  (a is zero above the diagonal)
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rb, hs, r1, 1.0f,
                        a + (size_t)r0 * T, T, v, C3, 0.0f, o + (size_t)r0 * C, C);
        }
    }
}

void attention_backward(float *dqkv, float *datt, const float *dout, const float *qkv,
                        const float *att, int B, int T, int C, int NH)
{
    const int hs = C / NH, C3 = 3 * C;
    const float scale = 1.0f / sqrtf((float)hs);
#pragma omp parallel for schedule(static)
    for (int bh = 0; bh < B * NH; bh++) {
        int b = bh / NH, h = bh % NH;
        const float *q = qkv + (size_t)b * T * C3 + h * hs;
        const float *k = q + C, *v = q + 2 * C;
        float *dq = dqkv + (size_t)b * T * C3 + h * hs;
        float *dk = dq + C, *dv = dq + 2 * C;
        const float *a = att + (size_t)bh * T * T;
        float *da = datt + (size_t)bh * T * T;
        const float *dout_bh = dout + (size_t)b * T * C + h * hs;
        for (int r0 = 0; r0 < T; r0 += ATT_ROW_BLOCK) {
            int r1 = imin(r0 + ATT_ROW_BLOCK, T), rb = r1 - r0;
            const float *a_blk = a + (size_t)r0 * T;
            float *da_blk = da + (size_t)r0 * T;
            const float *do_blk = dout_bh + (size_t)r0 * C;
            // da[r0:r1, 0:r1] = dout[r0:r1] . v[0:r1]^T
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasTrans, rb, r1, hs, 1.0f, do_blk, C, v,
                        C3, 0.0f, da_blk, T);
            // dv[0:r1] += a[r0:r1, 0:r1]^T . dout[r0:r1]
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hs, rb, 1.0f, a_blk, T,
                        do_blk, C, 1.0f, dv, C3);
            // softmax backward in place: dpre[t,j] = a[t,j] * (da[t,j] - sum_j' a[t,j'] da[t,j'])
            // for j <= t; zero for t < j < r1 (those entries feed the products below).
            for (int t = r0; t < r1; t++) {
                const float *ar = a + (size_t)t * T;
                float *dr = da + (size_t)t * T;
                float dot = 0.0f;
#pragma omp simd reduction(+ : dot)
                for (int j = 0; j <= t; j++) dot += ar[j] * dr[j];
#pragma omp simd
                for (int j = 0; j <= t; j++) dr[j] = ar[j] * (dr[j] - dot);
                for (int j = t + 1; j < r1; j++) dr[j] = 0.0f;
            }
            // dq[r0:r1] += scale * dpre[r0:r1, 0:r1] . k[0:r1]
            cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, rb, hs, r1, scale, da_blk, T,
                        k, C3, 1.0f, dq + (size_t)r0 * C3, C3);
            // dk[0:r1] += scale * dpre[r0:r1, 0:r1]^T . q[r0:r1]
            cblas_sgemm(CblasRowMajor, CblasTrans, CblasNoTrans, r1, hs, rb, scale, da_blk, T,
                        q + (size_t)r0 * C3, C3, 1.0f, dk, C3);
        }
    }
}

/* ------------------------------------------------------------------------------------------ */
/* GELU (tanh approximation) */

#define GELU_SCALE 0.7978845608028654f // sqrt(2/pi)

void gelu_forward(float *out, const float *inp, size_t n)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float u = GELU_SCALE * (x + 0.044715f * x * x * x);
        out[i] = 0.5f * x * (1.0f + tanhf(u));
    }
}

void gelu_backward(float *dinp, const float *inp, const float *dout, size_t n)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        float x = inp[i];
        float u = GELU_SCALE * (x + 0.044715f * x * x * x);
        float th = tanhf(u);
        float sech2 = 1.0f - th * th; // 1/cosh^2, without coshf's overflow
        float local = 0.5f * (1.0f + th) +
                      0.5f * x * sech2 * GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] += local * dout[i];
    }
}

void residual_forward(float *out, const float *a, const float *b, size_t n)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) out[i] = a[i] + b[i];
}

/* ------------------------------------------------------------------------------------------ */
/* Softmax cross-entropy, fused: the probabilities are never stored; backward recomputes them
 * from the logits and the saved log-sum-exp in the same pass that writes dlogits. */

void crossentropy_forward(float *losses, float *lse, const float *logits, const int *targets,
                          size_t N, int V)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < N; i++) {
        const float *x = logits + i * V;
        float maxv = -INFINITY;
#pragma omp simd reduction(max : maxv)
        for (int j = 0; j < V; j++) maxv = x[j] > maxv ? x[j] : maxv;
        float sum = 0.0f;
#pragma omp simd reduction(+ : sum)
        for (int j = 0; j < V; j++) sum += expf(x[j] - maxv);
        lse[i] = maxv + logf(sum);
        losses[i] = lse[i] - x[targets[i]];
    }
}

void crossentropy_backward(float *dlogits, const float *logits, const float *lse,
                           const int *targets, float dloss, size_t N, int V)
{
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < N; i++) {
        const float *x = logits + i * V;
        float *d = dlogits + i * V;
        float l = lse[i];
#pragma omp simd
        for (int j = 0; j < V; j++) d[j] = expf(x[j] - l) * dloss;
        d[targets[i]] -= dloss;
    }
}
