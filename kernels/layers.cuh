/* layers.cuh: GPT-2's layers on the GPU, the CUDA counterpart of src/model/layers.c (which is the
 * oracle of validation/test_gpu.c). Same conventions: row-major tensors, shapes in comments,
 * linear weights (out, in); backward functions ACCUMULATE into parameter gradients (+=) and
 * OVERWRITE input gradients (src/model/layers.c zeroes them first and then adds, the same result).
 *
 * Activations are T = float (fp32 mode, for validation) or bf16; parameters and their gradients
 * are always float, and every sum is accumulated in float. Products go through cuBLAS with fp32
 * accumulation (CUBLAS_COMPUTE_32F, never TF32). Every launcher takes the stream to run on.
 *
 * Determinism: everything but the token-embedding gradient (atomicAdd: a token may occur at
 * many positions) adds in a fixed order, so runs differ only in that tensor's last bits. */
#ifndef PHOTON_LAYERS_CUH
#define PHOTON_LAYERS_CUH

#include "cuda_common.cuh"

#define LAYERS_THREADS 256
/* Grid-stride loops with at most this many blocks: enough to fill an H100 several times. */
#define LAYERS_MAX_BLOCKS 65535u
/* LayerNorm parameter gradients are summed over rows in this many fixed chunks, then the chunk
 * sums in order: parallel, and the same bits every run. */
#define LN_ROW_CHUNKS 32

static inline unsigned grid_for(size_t n)
{
    unsigned g = ceil_div(n, LAYERS_THREADS);
    return g < LAYERS_MAX_BLOCKS ? (g ? g : 1) : LAYERS_MAX_BLOCKS;
}

#define GRID_STRIDE_LOOP(i, n)                                                              \
    for (size_t i = (size_t)blockIdx.x * blockDim.x + threadIdx.x; i < (n);                 \
         i += (size_t)gridDim.x * blockDim.x)

/* ---- token + position embedding --------------------------------------------------------------- */

template <typename T>
__global__ void encoder_forward_kernel(T *out, const int *inp, const float *wte, const float *wpe,
                                       int Tn, int C, size_t n)
{
    GRID_STRIDE_LOOP(i, n) {
        size_t bt = i / C;
        int c = (int)(i % C), t = (int)(bt % Tn);
        out[i] = from_float<T>(wte[(size_t)inp[bt] * C + c] + wpe[(size_t)t * C + c]);
    }
}

// out (B, T, C) = wte[inp] + wpe[t]
template <typename T>
static void encoder_forward(T *out, const int *inp, const float *wte, const float *wpe, int B, int Tn,
                            int C, cudaStream_t s)
{
    size_t n = (size_t)B * Tn * C;
    encoder_forward_kernel<<<grid_for(n), LAYERS_THREADS, 0, s>>>(out, inp, wte, wpe, Tn, C, n);
    cudaLaunchCheck();
}

/* One thread per (t, c) sums over the batch in order: no two threads share an element. */
template <typename T>
__global__ void wpe_backward_kernel(float *dwpe, const T *dout, int B, int Tn, int C)
{
    GRID_STRIDE_LOOP(i, (size_t)Tn * C) {
        float s = 0.0f;
        for (int b = 0; b < B; b++) s += to_float(dout[(size_t)b * Tn * C + i]);
        dwpe[i] += s;
    }
}

template <typename T>
__global__ void wte_backward_kernel(float *dwte, const T *dout, const int *inp, int C, size_t n)
{
    GRID_STRIDE_LOOP(i, n) atomicAdd(&dwte[(size_t)inp[i / C] * C + i % C], to_float(dout[i]));
}

template <typename T>
static void encoder_backward(float *dwte, float *dwpe, const T *dout, const int *inp, int B, int Tn,
                             int C, cudaStream_t s)
{
    wpe_backward_kernel<<<grid_for((size_t)Tn * C), LAYERS_THREADS, 0, s>>>(dwpe, dout, B, Tn, C);
    cudaLaunchCheck();
    size_t n = (size_t)B * Tn * C;
    wte_backward_kernel<<<grid_for(n), LAYERS_THREADS, 0, s>>>(dwte, dout, inp, C, n);
    cudaLaunchCheck();
}

/* ---- LayerNorm: one warp per row ------------------------------------------------------------ */

template <typename T>
__global__ void layernorm_forward_kernel(T *out, float *mean, float *rstd, const T *inp,
                                         const float *weight, const float *bias, size_t N, int C)
{
    size_t row = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (row >= N) return;
    const T *x = inp + row * C;
    T *o = out + row * C;
    float s = 0.0f;
    for (int c = lane; c < C; c += 32) s += to_float(x[c]);
    float m = warp_sum(s) / C;
    float v = 0.0f;
    for (int c = lane; c < C; c += 32) {
        float d = to_float(x[c]) - m;
        v += d * d;
    }
    float r = rsqrtf(warp_sum(v) / C + 1e-5f);
    for (int c = lane; c < C; c += 32) {
        float y = (to_float(x[c]) - m) * r * weight[c];
        o[c] = from_float<T>(bias ? y + bias[c] : y);
    }
    if (lane == 0) {
        mean[row] = m;
        rstd[row] = r;
    }
}

// out (N, C) = (inp - mean) * rstd * weight + bias; mean, rstd (N) kept for backward
template <typename T>
static void layernorm_forward(T *out, float *mean, float *rstd, const T *inp, const float *weight,
                              const float *bias, size_t N, int C, cudaStream_t s)
{
    layernorm_forward_kernel<<<ceil_div(N * 32, LAYERS_THREADS), LAYERS_THREADS, 0, s>>>(
        out, mean, rstd, inp, weight, bias, N, C);
    cudaLaunchCheck();
}

template <typename T>
__global__ void layernorm_backward_input_kernel(T *dinp, const T *dout, const T *inp,
                                                const float *weight, const float *mean,
                                                const float *rstd, size_t N, int C)
{
    size_t row = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (row >= N) return;
    const T *x = inp + row * C, *d = dout + row * C;
    T *dx = dinp + row * C;
    const float m = mean[row], r = rstd[row];
    float dnorm_mean = 0.0f, dnorm_norm_mean = 0.0f;
    for (int c = lane; c < C; c += 32) {
        float dnorm = weight[c] * to_float(d[c]);
        dnorm_mean += dnorm;
        dnorm_norm_mean += dnorm * (to_float(x[c]) - m) * r;
    }
    dnorm_mean = warp_sum(dnorm_mean) / C;
    dnorm_norm_mean = warp_sum(dnorm_norm_mean) / C;
    for (int c = lane; c < C; c += 32) {
        float norm = (to_float(x[c]) - m) * r;
        float dnorm = weight[c] * to_float(d[c]);
        dx[c] = from_float<T>(to_float(dx[c]) + (dnorm - dnorm_mean - norm * dnorm_norm_mean) * r);
    }
}

/* Chunk k of the rows, column c: partial[k][c] = sum of norm*dout, partial[K + k][c] = sum of
 * dout (K = LN_ROW_CHUNKS; the partial buffer is (2K, C)). */
template <typename T>
__global__ void layernorm_backward_partial_kernel(float *partial, const T *dout, const T *inp,
                                                  const float *mean, const float *rstd, size_t N,
                                                  int C)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x, k = blockIdx.y;
    if (c >= C) return;
    size_t lo = N * k / LN_ROW_CHUNKS, hi = N * (k + 1) / LN_ROW_CHUNKS;
    float sw = 0.0f, sb = 0.0f;
    for (size_t i = lo; i < hi; i++) {
        float d = to_float(dout[i * C + c]);
        sw += (to_float(inp[i * C + c]) - mean[i]) * rstd[i] * d;
        sb += d;
    }
    partial[(size_t)k * C + c] = sw;
    partial[(size_t)(LN_ROW_CHUNKS + k) * C + c] = sb;
}

__global__ void layernorm_backward_params_kernel(float *dweight, float *dbias, const float *partial,
                                                 int C)
{
    int c = blockIdx.x * blockDim.x + threadIdx.x;
    if (c >= C) return;
    float sw = 0.0f, sb = 0.0f;
    for (int k = 0; k < LN_ROW_CHUNKS; k++) {
        sw += partial[(size_t)k * C + c];
        sb += partial[(size_t)(LN_ROW_CHUNKS + k) * C + c];
    }
    dweight[c] += sw;
    if (dbias) dbias[c] += sb;
}

// dinp (N, C) += d/dinp; dweight, dbias (C) += ...; partial: (2 * LN_ROW_CHUNKS, C) scratch
template <typename T>
static void layernorm_backward(T *dinp, float *dweight, float *dbias, float *partial, const T *dout,
                               const T *inp, const float *weight, const float *mean,
                               const float *rstd, size_t N, int C, cudaStream_t s)
{
    layernorm_backward_input_kernel<<<ceil_div(N * 32, LAYERS_THREADS), LAYERS_THREADS, 0, s>>>(
        dinp, dout, inp, weight, mean, rstd, N, C);
    cudaLaunchCheck();
    dim3 grid(ceil_div((size_t)C, LAYERS_THREADS), LN_ROW_CHUNKS);
    layernorm_backward_partial_kernel<<<grid, LAYERS_THREADS, 0, s>>>(partial, dout, inp, mean, rstd,
                                                                      N, C);
    cudaLaunchCheck();
    layernorm_backward_params_kernel<<<ceil_div((size_t)C, LAYERS_THREADS), LAYERS_THREADS, 0, s>>>(
        dweight, dbias, partial, C);
    cudaLaunchCheck();
}

/* ---- linear layers through cuBLAS ------------------------------------------------------------ */

/* cuBLAS is column-major: a row-major (R, K) matrix is a column-major (K, R) one, so every
 * product below is written for the transposes (llm.c's convention). A and B have type TA, C has
 * type TC (the weight gradients are float even when the activations are bf16). */
template <typename TA, typename TC>
static void gemm(cublasHandle_t h, cublasOperation_t ta, cublasOperation_t tb, int m, int n, int k,
                 float alpha, const TA *A, int lda, const TA *B, int ldb, float beta, TC *C, int ldc)
{
    cublasCheck(cublasGemmEx(h, ta, tb, m, n, k, &alpha, A, CudaDataType<TA>::value, lda, B,
                             CudaDataType<TA>::value, ldb, &beta, C, CudaDataType<TC>::value, ldc,
                             CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
}

template <typename T>
__global__ void bias_broadcast_kernel(T *out, const float *bias, int OC, size_t n)
{
    GRID_STRIDE_LOOP(i, n) out[i] = from_float<T>(bias[i % OC]);
}

// out (N, OC) = inp (N, C) . weight^T (C, OC) + bias (OC)
template <typename T>
static void matmul_forward(cublasHandle_t h, T *out, const T *inp, const T *weight,
                           const float *bias, size_t N, int C, int OC, cudaStream_t s)
{
    float beta = 0.0f;
    if (bias) { // start from the bias in every row and let the product add to it
        size_t n = N * OC;
        bias_broadcast_kernel<<<grid_for(n), LAYERS_THREADS, 0, s>>>(out, bias, OC, n);
        cudaLaunchCheck();
        beta = 1.0f;
    }
    gemm(h, CUBLAS_OP_T, CUBLAS_OP_N, OC, (int)N, C, 1.0f, weight, C, inp, C, beta, out, OC);
}

/* dinp (N, C) = dout (N, OC) . weight (OC, C)       (overwritten)
 * dweight (OC, C) += dout^T (OC, N) . inp (N, C)    (float)
 * dbias (OC) += dout^T (OC, N) . ones (N)           (float; ones: N ones of type T) */
template <typename T>
static void matmul_backward(cublasHandle_t h, T *dinp, float *dweight, float *dbias, const T *dout,
                            const T *inp, const T *weight, const T *ones, size_t N, int C, int OC)
{
    gemm(h, CUBLAS_OP_N, CUBLAS_OP_N, C, (int)N, OC, 1.0f, weight, C, dout, OC, 0.0f, dinp, C);
    gemm(h, CUBLAS_OP_N, CUBLAS_OP_T, C, OC, (int)N, 1.0f, inp, C, dout, OC, 1.0f, dweight, C);
    if (dbias) gemm(h, CUBLAS_OP_N, CUBLAS_OP_N, OC, 1, (int)N, 1.0f, dout, OC, ones, (int)N, 1.0f,
                    dbias, OC);
}

/* ---- causal self-attention: cuBLAS strided-batched products, fused causal softmax ----------- */

/* Moves heads between rows and per-head blocks. Row (b, t) of `rows` has stride `stride`; head
 * h's hs values start at offset + h*hs. `heads` is (B, NH, T, hs), contiguous per (b, h) for the
 * batched products. to_heads: rows -> heads, else heads -> rows. */
template <typename T>
__global__ void move_heads_kernel(T *rows, T *heads, int Tn, int NH, int hs, int stride,
                                  int offset, size_t n, bool to_heads)
{
    GRID_STRIDE_LOOP(i, n) {
        int d = (int)(i % hs);
        size_t r = i / hs;
        int t = (int)(r % Tn), h = (int)(r / Tn % NH);
        size_t b = r / Tn / NH;
        T *row = rows + (b * Tn + t) * stride + offset + (size_t)h * hs + d;
        if (to_heads) heads[i] = *row;
        else *row = heads[i];
    }
}

template <typename T>
static void move_heads(T *rows, T *heads, int B, int Tn, int NH, int hs, int stride, int offset,
                       bool to_heads, cudaStream_t s)
{
    size_t n = (size_t)B * NH * Tn * hs;
    move_heads_kernel<<<grid_for(n), LAYERS_THREADS, 0, s>>>(rows, heads, Tn, NH, hs, stride, offset,
                                                             n, to_heads);
    cudaLaunchCheck();
}

// dst (B, NH, T, hs) = the heads of src's rows
template <typename T>
static void split_heads(T *dst, const T *src, int B, int Tn, int NH, int hs, int stride, int offset,
                        cudaStream_t s)
{
    move_heads(const_cast<T *>(src), dst, B, Tn, NH, hs, stride, offset, true, s); // src only read
}

// dst's rows = the heads of src (B, NH, T, hs)
template <typename T>
static void merge_heads(T *dst, const T *src, int B, int Tn, int NH, int hs, int stride, int offset,
                        cudaStream_t s)
{
    move_heads(dst, const_cast<T *>(src), B, Tn, NH, hs, stride, offset, false, s); // src only read
}

/* One warp per row t of a (T, T) matrix, in place: softmax over entries 0..t (already scaled),
 * zero after them. Each lane reads and writes only its own entries, so in place is safe. */
template <typename T>
__global__ void softmax_causal_kernel(T *att, int Tn, size_t rows)
{
    size_t row = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows) return;
    int t = (int)(row % Tn);
    T *x = att + row * Tn;
    float maxv = -INFINITY;
    for (int j = lane; j <= t; j += 32) maxv = fmaxf(maxv, to_float(x[j]));
    maxv = warp_max(maxv);
    float sum = 0.0f;
    for (int j = lane; j <= t; j += 32) sum += expf(to_float(x[j]) - maxv);
    float inv = 1.0f / warp_sum(sum);
    for (int j = lane; j < Tn; j += 32)
        x[j] = from_float<T>(j <= t ? expf(to_float(x[j]) - maxv) * inv : 0.0f);
}

/* In place over da: dpre[t, j] = a[t, j] * (da[t, j] - sum_j' a[t, j'] da[t, j']) for j <= t,
 * zero after. The row's dot product is complete (warp_sum) before any lane writes. */
template <typename T>
__global__ void softmax_causal_backward_kernel(T *datt, const T *att, int Tn, size_t rows)
{
    size_t row = ((size_t)blockIdx.x * blockDim.x + threadIdx.x) / 32;
    int lane = threadIdx.x % 32;
    if (row >= rows) return;
    int t = (int)(row % Tn);
    const T *a = att + row * Tn;
    T *d = datt + row * Tn;
    float dot = 0.0f;
    for (int j = lane; j <= t; j += 32) dot += to_float(a[j]) * to_float(d[j]);
    dot = warp_sum(dot);
    for (int j = lane; j < Tn; j += 32)
        d[j] = from_float<T>(j <= t ? to_float(a[j]) * (to_float(d[j]) - dot) : 0.0f);
}

/* Buffers of one attention call: q, k, v, y are (B, NH, T, hs) scratch. */
template <typename T> struct AttnScratch { T *q, *k, *v, *y; };

/* out (B, T, C) = causal attention of qkv (B, T, 3C); att (B, NH, T, T) keeps the probabilities.
 * With column-major eyes, per (b, h): att^T (T, T) = k q^T, y^T (hs, T) = v^T att^T. */
template <typename T>
static void attention_forward(cublasHandle_t h, T *out, T *att, const T *qkv, AttnScratch<T> sc,
                              int B, int Tn, int C, int NH, cudaStream_t s)
{
    const int hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    const long long sQ = (long long)Tn * hs, sA = (long long)Tn * Tn;
    split_heads(sc.q, qkv, B, Tn, NH, hs, 3 * C, 0, s);
    split_heads(sc.k, qkv, B, Tn, NH, hs, 3 * C, C, s);
    split_heads(sc.v, qkv, B, Tn, NH, hs, 3 * C, 2 * C, s);
    const float zero = 0.0f, one = 1.0f;
    const cudaDataType_t dt = CudaDataType<T>::value;
    // att (T, T) = scale * q k^T, all T x T entries (the softmax ignores those above the diagonal)
    cublasCheck(cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, Tn, Tn, hs, &scale, sc.k, dt,
                                           hs, sQ, sc.q, dt, hs, sQ, &zero, att, dt, Tn, sA, B * NH,
                                           CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    size_t rows = (size_t)B * NH * Tn;
    softmax_causal_kernel<<<ceil_div(rows * 32, LAYERS_THREADS), LAYERS_THREADS, 0, s>>>(att, Tn, rows);
    cudaLaunchCheck();
    // y (T, hs) = att (T, T) . v (T, hs)
    cublasCheck(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, hs, Tn, Tn, &one, sc.v, dt,
                                           hs, sQ, att, dt, Tn, sA, &zero, sc.y, dt, hs, sQ, B * NH,
                                           CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    merge_heads(out, sc.y, B, Tn, NH, hs, C, 0, s);
}

/* dqkv (B, T, 3C) = d/dqkv (overwritten). datt: (B, NH, T, T) scratch; grads: dq, dk, dv, dy of
 * (B, NH, T, hs); sc.q, sc.k, sc.v are refilled from qkv here (forward's scratch is not kept). */
template <typename T>
static void attention_backward(cublasHandle_t h, T *dqkv, T *datt, AttnScratch<T> grads,
                               const T *dout, const T *qkv, const T *att, AttnScratch<T> sc, int B,
                               int Tn, int C, int NH, cudaStream_t s)
{
    const int hs = C / NH;
    const float scale = 1.0f / sqrtf((float)hs);
    const long long sQ = (long long)Tn * hs, sA = (long long)Tn * Tn;
    const float zero = 0.0f, one = 1.0f;
    const cudaDataType_t dt = CudaDataType<T>::value;
    split_heads(sc.q, qkv, B, Tn, NH, hs, 3 * C, 0, s);
    split_heads(sc.k, qkv, B, Tn, NH, hs, 3 * C, C, s);
    split_heads(sc.v, qkv, B, Tn, NH, hs, 3 * C, 2 * C, s);
    split_heads(grads.y, dout, B, Tn, NH, hs, C, 0, s);
    // datt (T, T) = dy (T, hs) . v^T (hs, T)
    cublasCheck(cublasGemmStridedBatchedEx(h, CUBLAS_OP_T, CUBLAS_OP_N, Tn, Tn, hs, &one, sc.v, dt,
                                           hs, sQ, grads.y, dt, hs, sQ, &zero, datt, dt, Tn, sA,
                                           B * NH, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    // dv (T, hs) = att^T (T, T) . dy (T, hs)
    cublasCheck(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_T, hs, Tn, Tn, &one, grads.y, dt,
                                           hs, sQ, att, dt, Tn, sA, &zero, grads.v, dt, hs, sQ,
                                           B * NH, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    size_t rows = (size_t)B * NH * Tn;
    softmax_causal_backward_kernel<<<ceil_div(rows * 32, LAYERS_THREADS), LAYERS_THREADS, 0, s>>>(
        datt, att, Tn, rows);
    cudaLaunchCheck();
    // dq (T, hs) = scale * dpre (T, T) . k (T, hs)
    cublasCheck(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_N, hs, Tn, Tn, &scale, sc.k, dt,
                                           hs, sQ, datt, dt, Tn, sA, &zero, grads.q, dt, hs, sQ,
                                           B * NH, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    // dk (T, hs) = scale * dpre^T (T, T) . q (T, hs)
    cublasCheck(cublasGemmStridedBatchedEx(h, CUBLAS_OP_N, CUBLAS_OP_T, hs, Tn, Tn, &scale, sc.q, dt,
                                           hs, sQ, datt, dt, Tn, sA, &zero, grads.k, dt, hs, sQ,
                                           B * NH, CUBLAS_COMPUTE_32F, CUBLAS_GEMM_DEFAULT));
    merge_heads(dqkv, grads.q, B, Tn, NH, hs, 3 * C, 0, s);
    merge_heads(dqkv, grads.k, B, Tn, NH, hs, 3 * C, C, s);
    merge_heads(dqkv, grads.v, B, Tn, NH, hs, 3 * C, 2 * C, s);
}

/* ---- GELU (tanh approximation) and the residual sum ------------------------------------------ */

#define GELU_SCALE 0.7978845608028654f // sqrt(2/pi)

template <typename T> __global__ void gelu_forward_kernel(T *out, const T *inp, size_t n)
{
    GRID_STRIDE_LOOP(i, n) {
        float x = to_float(inp[i]);
        float u = GELU_SCALE * (x + 0.044715f * x * x * x);
        out[i] = from_float<T>(0.5f * x * (1.0f + tanhf(u)));
    }
}

template <typename T>
__global__ void gelu_backward_kernel(T *dinp, const T *inp, const T *dout, size_t n)
{
    GRID_STRIDE_LOOP(i, n) {
        float x = to_float(inp[i]);
        float u = GELU_SCALE * (x + 0.044715f * x * x * x);
        float th = tanhf(u);
        float sech2 = 1.0f - th * th;
        float local = 0.5f * (1.0f + th) +
                      0.5f * x * sech2 * GELU_SCALE * (1.0f + 3.0f * 0.044715f * x * x);
        dinp[i] = from_float<T>(local * to_float(dout[i]));
    }
}

template <typename T> __global__ void residual_forward_kernel(T *out, const T *a, const T *b, size_t n)
{
    GRID_STRIDE_LOOP(i, n) out[i] = from_float<T>(to_float(a[i]) + to_float(b[i]));
}

template <typename T> static void gelu_forward(T *out, const T *inp, size_t n, cudaStream_t s)
{
    gelu_forward_kernel<<<grid_for(n), LAYERS_THREADS, 0, s>>>(out, inp, n);
    cudaLaunchCheck();
}

// dinp = gelu'(inp) * dout (overwritten)
template <typename T>
static void gelu_backward(T *dinp, const T *inp, const T *dout, size_t n, cudaStream_t s)
{
    gelu_backward_kernel<<<grid_for(n), LAYERS_THREADS, 0, s>>>(dinp, inp, dout, n);
    cudaLaunchCheck();
}

template <typename T>
static void residual_forward(T *out, const T *a, const T *b, size_t n, cudaStream_t s)
{
    residual_forward_kernel<<<grid_for(n), LAYERS_THREADS, 0, s>>>(out, a, b, n);
    cudaLaunchCheck();
}

/* ---- the classifier's softmax cross-entropy, fused: one block per row ------------------------ */

/* The probabilities are never stored: forward keeps the log-sum-exp of each row, backward
 * recomputes softmax from it while writing dlogits (src/model/layers.c's design). */
template <typename T>
__global__ void crossentropy_forward_kernel(float *losses, float *lse, const T *logits,
                                            const int *targets, int V)
{
    __shared__ float shared[32];
    const T *x = logits + (size_t)blockIdx.x * V;
    float maxv = -INFINITY;
    for (int j = threadIdx.x; j < V; j += blockDim.x) maxv = fmaxf(maxv, to_float(x[j]));
    maxv = block_reduce(maxv, shared, true);
    float sum = 0.0f;
    for (int j = threadIdx.x; j < V; j += blockDim.x) sum += expf(to_float(x[j]) - maxv);
    sum = block_reduce(sum, shared, false);
    if (threadIdx.x == 0) {
        float l = maxv + logf(sum);
        lse[blockIdx.x] = l;
        losses[blockIdx.x] = l - to_float(x[targets[blockIdx.x]]);
    }
}

template <typename T>
__global__ void crossentropy_backward_kernel(T *dlogits, const T *logits, const float *lse,
                                             const int *targets, float dloss, int V)
{
    const size_t row = blockIdx.x;
    const T *x = logits + row * V;
    T *d = dlogits + row * V;
    const float l = lse[row];
    const int target = targets[row];
    for (int j = threadIdx.x; j < V; j += blockDim.x) {
        float p = expf(to_float(x[j]) - l);
        d[j] = from_float<T>((p - (j == target ? 1.0f : 0.0f)) * dloss);
    }
}

// losses, lse (N) from logits (N, V) and targets (N)
template <typename T>
static void crossentropy_forward(float *losses, float *lse, const T *logits, const int *targets,
                                 size_t N, int V, cudaStream_t s)
{
    crossentropy_forward_kernel<<<(unsigned)N, 512, 0, s>>>(losses, lse, logits, targets, V);
    cudaLaunchCheck();
}

// dlogits (N, V) = (softmax(logits) - onehot(targets)) * dloss
template <typename T>
static void crossentropy_backward(T *dlogits, const T *logits, const float *lse, const int *targets,
                                  float dloss, size_t N, int V, cudaStream_t s)
{
    crossentropy_backward_kernel<<<(unsigned)N, 512, 0, s>>>(dlogits, logits, lse, targets, dloss, V);
    cudaLaunchCheck();
}

#endif
