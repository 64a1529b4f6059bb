/* gpt_cuda.cu: the GPT-2 model on one GPU: memory plan, forward and backward chained from
 * layers.cuh (the same sequence as src/model/gpt.c), gradient all-reduce over NCCL overlapping the
 * backward pass, and the optimizers of optim.cuh. See gpt_cuda.h for the contract. */
#include "gpt_cuda.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cuda_common.cuh"
#include "layers.cuh"
#include "optim.cuh"

/* Indices of the tensors in GPTParams order. */
enum { WTE, WPE, LN1W, LN1B, QKVW, QKVB, ATTPROJW, ATTPROJB, LN2W, LN2B, FCW, FCB, FCPROJW,
       FCPROJB, LNFW, LNFB };

struct GpuModel {
    GPTConfig config;
    int B, T; // planned batch
    PrecisionKind precision;
    size_t sizes[GPT_NUM_TENSORS], offsets[GPT_NUM_TENSORS];
    size_t num_parameters;
    float *params, *grads, *mom, *var; // (num_parameters) each, the params layout
    bf16 *params_lp;                   // bf16 mode: the weights the products read
    void *acts_memory;                 // activations and scratch of the activation type
    float *stats_memory;               // LayerNorm statistics, losses, lse, LayerNorm partials
    int *inputs, *targets;             // (B, T) on the device
    double *norm_partial;              // (NORM_BLOCKS)
    float *losses_host;                // (B * T)
    int fwd_B, fwd_T, fwd_has_targets;
    size_t device_bytes;
    cudaStream_t stream, comm_stream;
    cudaEvent_t grads_ready, comm_done;
    cublasHandle_t cublas;
    ncclComm_t comm; // not owned
};

/* Typed views of acts_memory and stats_memory for activation type T. Per-layer tensors are laid
 * out for the planned (B, T), as in src/model/gpt.h. */
template <typename T> struct Views {
    // saved by forward for backward
    T *encoded;   // (B, T, C)
    T *ln1;       // (L, B, T, C)
    T *qkv;       // (L, B, T, 3C)
    T *atty;      // (L, B, T, C)
    T *att;       // (L, B, NH, T, T) softmax probabilities
    T *residual2; // (L, B, T, C)
    T *ln2;       // (L, B, T, C)
    T *fch;       // (L, B, T, 4C)
    T *fch_gelu;  // (L, B, T, 4C)
    T *residual3; // (L, B, T, C)
    T *lnf;       // (B, T, C)
    T *logits;    // (B, T, V)
    float *ln1_mean, *ln1_rstd, *ln2_mean, *ln2_rstd; // (L, B, T)
    float *lnf_mean, *lnf_rstd, *losses, *lse;        // (B, T)
    // scratch
    T *proj;                 // (B, T, C) attention / MLP projection before the residual sum
    AttnScratch<T> attn;     // 4 x (B, NH, T, hs)
    T *dlogits;              // (B, T, V)
    T *dresidual, *dln, *datty; // (B, T, C)
    T *dqkv;                 // (B, T, 3C)
    T *datt;                 // (B, NH, T, T)
    T *dfch_gelu, *dfch;     // (B, T, 4C)
    AttnScratch<T> dattn;    // 4 x (B, NH, T, hs)
    T *ones;                 // (B * T) ones: bias gradients as one product
    float *ln_partial;       // (2 * LN_ROW_CHUNKS, C)
};

/* Hands out consecutive 256-byte aligned pieces of a block; with base NULL it only counts. */
struct Carver {
    char *base;
    size_t used;
    template <typename X> X *take(size_t n)
    {
        X *p = base ? (X *)(base + used) : nullptr;
        used += (n * sizeof(X) + 255) & ~(size_t)255;
        return p;
    }
};

template <typename T>
static Views<T> plan(const GpuModel *m, char *tbase, char *fbase, size_t *tbytes, size_t *fbytes)
{
    const size_t L = m->config.num_layers, C = m->config.channels, NH = m->config.num_heads,
                 V = m->config.vocab_size, BT = (size_t)m->B * m->T;
    const size_t ATT = (size_t)m->B * NH * m->T * m->T;
    Views<T> v;
    Carver t = {tbase, 0}, f = {fbase, 0};
    v.encoded = t.take<T>(BT * C);
    v.ln1 = t.take<T>(L * BT * C);
    v.qkv = t.take<T>(L * BT * 3 * C);
    v.atty = t.take<T>(L * BT * C);
    v.att = t.take<T>(L * ATT);
    v.residual2 = t.take<T>(L * BT * C);
    v.ln2 = t.take<T>(L * BT * C);
    v.fch = t.take<T>(L * BT * 4 * C);
    v.fch_gelu = t.take<T>(L * BT * 4 * C);
    v.residual3 = t.take<T>(L * BT * C);
    v.lnf = t.take<T>(BT * C);
    v.logits = t.take<T>(BT * V);
    v.proj = t.take<T>(BT * C);
    v.attn = {t.take<T>(BT * C), t.take<T>(BT * C), t.take<T>(BT * C), t.take<T>(BT * C)};
    v.dlogits = t.take<T>(BT * V);
    v.dresidual = t.take<T>(BT * C);
    v.dln = t.take<T>(BT * C);
    v.datty = t.take<T>(BT * C);
    v.dqkv = t.take<T>(BT * 3 * C);
    v.datt = t.take<T>(ATT);
    v.dfch_gelu = t.take<T>(BT * 4 * C);
    v.dfch = t.take<T>(BT * 4 * C);
    v.dattn = {t.take<T>(BT * C), t.take<T>(BT * C), t.take<T>(BT * C), t.take<T>(BT * C)};
    v.ones = t.take<T>(BT);
    v.ln1_mean = f.take<float>(L * BT);
    v.ln1_rstd = f.take<float>(L * BT);
    v.ln2_mean = f.take<float>(L * BT);
    v.ln2_rstd = f.take<float>(L * BT);
    v.lnf_mean = f.take<float>(BT);
    v.lnf_rstd = f.take<float>(BT);
    v.losses = f.take<float>(BT);
    v.lse = f.take<float>(BT);
    v.ln_partial = f.take<float>(2 * LN_ROW_CHUNKS * C);
    if (tbytes) *tbytes = t.used;
    if (fbytes) *fbytes = f.used;
    return v;
}

template <typename T> static Views<T> views(const GpuModel *m)
{
    return plan<T>(m, (char *)m->acts_memory, (char *)m->stats_memory, nullptr, nullptr);
}

template <typename T> __global__ void fill_kernel(T *x, size_t n, float value)
{
    GRID_STRIDE_LOOP(i, n) x[i] = from_float<T>(value);
}

/* ---- devices -------------------------------------------------------------------------------- */

extern "C" int gpu_device_count(void)
{
    int n = 0;
    if (cudaGetDeviceCount(&n) != cudaSuccess) {
        (void)cudaGetLastError(); // no driver or no device: not an error here, just none
        return 0;
    }
    return n;
}

extern "C" int gpu_select_device(int local_rank)
{
    int n = gpu_device_count();
    if (n == 0) return -1;
    int dev = local_rank % n;
    cudaCheck(cudaSetDevice(dev));
    return dev;
}

extern "C" void gpu_device_info(char *name, size_t namelen, size_t *total_bytes)
{
    int dev;
    cudaDeviceProp prop;
    cudaCheck(cudaGetDevice(&dev));
    cudaCheck(cudaGetDeviceProperties(&prop, dev));
    snprintf(name, namelen, "%s", prop.name);
    *total_bytes = prop.totalGlobalMem;
}

/* ---- build and free ------------------------------------------------------------------------- */

template <typename X> static X *device_alloc(GpuModel *m, size_t n)
{
    void *p = nullptr;
    size_t bytes = (n ? n : 1) * sizeof(X);
    cudaCheck(cudaMalloc(&p, bytes));
    cudaCheck(cudaMemset(p, 0, bytes));
    m->device_bytes += bytes;
    return (X *)p;
}

/* Bytes of device_alloc(n) of X. */
template <typename X> static size_t alloc_bytes(size_t n) { return (n ? n : 1) * sizeof(X); }

/* Sets the config, batch, precision and parameter layout of m (nothing allocated). */
static void plan_layout(GpuModel *m, const GPTConfig *c, int B, int T, PrecisionKind precision)
{
    m->config = *c;
    m->B = B;
    m->T = T;
    m->precision = precision;
    gpt_tensor_sizes(c, m->sizes);
    m->num_parameters = 0;
    for (int i = 0; i < GPT_NUM_TENSORS; i++) {
        m->offsets[i] = m->num_parameters;
        m->num_parameters += m->sizes[i];
    }
}

/* Activation-type and float bytes of the activations and scratch. */
static void plan_bytes(const GpuModel *m, size_t *tbytes, size_t *fbytes)
{
    if (m->precision == PRECISION_BF16) plan<bf16>(m, nullptr, nullptr, tbytes, fbytes);
    else plan<float>(m, nullptr, nullptr, tbytes, fbytes);
}

extern "C" size_t gpu_model_plan_bytes(const GPTConfig *c, int B, int T, PrecisionKind precision)
{
    GpuModel m;
    memset(&m, 0, sizeof m);
    plan_layout(&m, c, B, T, precision);
    size_t tbytes, fbytes, n = m.num_parameters, BT = (size_t)B * T;
    plan_bytes(&m, &tbytes, &fbytes);
    return 4 * alloc_bytes<float>(n) + (precision == PRECISION_BF16 ? alloc_bytes<bf16>(n) : 0) +
           alloc_bytes<char>(tbytes) + alloc_bytes<float>(fbytes / sizeof(float)) +
           2 * alloc_bytes<int>(BT) + alloc_bytes<double>(NORM_BLOCKS);
}

extern "C" GpuModel *gpu_model_build(const GPTConfig *c, int B, int T, PrecisionKind precision)
{
    char err[256];
    if (gpt_config_check(c, err, sizeof err)) photon_abort(__FILE__, __LINE__, "gpu_model_build: %s", err);
    if (B < 1 || T < 1 || T > c->max_seq_len)
        photon_abort(__FILE__, __LINE__,
                     "gpu_model_build: batch B=%d, T=%d invalid (need B >= 1, 1 <= T <= max_seq_len = %d)",
                     B, T, c->max_seq_len);
    GpuModel *m = (GpuModel *)calloc(1, sizeof *m);
    if (!m) photon_abort(__FILE__, __LINE__, "gpu_model_build: out of host memory");
    plan_layout(m, c, B, T, precision);
    const size_t n = m->num_parameters, BT = (size_t)B * T;
    m->params = device_alloc<float>(m, n);
    m->grads = device_alloc<float>(m, n);
    m->mom = device_alloc<float>(m, n);
    m->var = device_alloc<float>(m, n);
    if (precision == PRECISION_BF16) m->params_lp = device_alloc<bf16>(m, n);
    size_t tbytes, fbytes;
    plan_bytes(m, &tbytes, &fbytes);
    m->acts_memory = device_alloc<char>(m, tbytes);
    m->stats_memory = device_alloc<float>(m, fbytes / sizeof(float));
    m->inputs = device_alloc<int>(m, BT);
    m->targets = device_alloc<int>(m, BT);
    m->norm_partial = device_alloc<double>(m, NORM_BLOCKS);
    m->losses_host = (float *)malloc(BT * sizeof(float));
    if (!m->losses_host) photon_abort(__FILE__, __LINE__, "gpu_model_build: out of host memory");
    cudaCheck(cudaStreamCreate(&m->stream));
    cudaCheck(cudaStreamCreate(&m->comm_stream));
    cudaCheck(cudaEventCreateWithFlags(&m->grads_ready, cudaEventDisableTiming));
    cudaCheck(cudaEventCreateWithFlags(&m->comm_done, cudaEventDisableTiming));
    cublasCheck(cublasCreate(&m->cublas));
    cublasCheck(cublasSetStream(m->cublas, m->stream));
    // fp32 mode must match the CPU to 1e-4: no TF32 (CUBLAS_COMPUTE_32F is exact fp32 then)
    cublasCheck(cublasSetMathMode(m->cublas, CUBLAS_DEFAULT_MATH));
    if (precision == PRECISION_BF16) {
        Views<bf16> v = views<bf16>(m);
        fill_kernel<<<grid_for(BT), LAYERS_THREADS, 0, m->stream>>>(v.ones, BT, 1.0f);
    } else {
        Views<float> v = views<float>(m);
        fill_kernel<<<grid_for(BT), LAYERS_THREADS, 0, m->stream>>>(v.ones, BT, 1.0f);
    }
    cudaLaunchCheck();
    cudaCheck(cudaStreamSynchronize(m->stream));
    m->fwd_has_targets = 0;
    return m;
}

extern "C" void gpu_model_free(GpuModel *m)
{
    if (!m) return;
    cudaCheck(cudaStreamSynchronize(m->stream));
    cudaCheck(cudaStreamSynchronize(m->comm_stream));
    void *bufs[] = {m->params, m->grads, m->mom, m->var, m->params_lp, m->acts_memory,
                    m->stats_memory, m->inputs, m->targets, m->norm_partial};
    for (size_t i = 0; i < sizeof bufs / sizeof bufs[0]; i++)
        if (bufs[i]) cudaCheck(cudaFree(bufs[i]));
    cublasCheck(cublasDestroy(m->cublas));
    cudaCheck(cudaEventDestroy(m->grads_ready));
    cudaCheck(cudaEventDestroy(m->comm_done));
    cudaCheck(cudaStreamDestroy(m->stream));
    cudaCheck(cudaStreamDestroy(m->comm_stream));
    free(m->losses_host);
    free(m);
}

extern "C" size_t gpu_model_num_parameters(const GpuModel *m) { return m->num_parameters; }
extern "C" size_t gpu_model_device_bytes(const GpuModel *m) { return m->device_bytes; }

/* ---- host <-> device -------------------------------------------------------------------------- */

/* Copies wait for the model's stream first: its kernels may still be writing what is read. */
static void copy_to_device(const GpuModel *m, void *dst, const void *src, size_t bytes)
{
    cudaCheck(cudaStreamSynchronize(m->stream));
    cudaCheck(cudaMemcpy(dst, src, bytes, cudaMemcpyHostToDevice));
}

static void copy_to_host(const GpuModel *m, void *dst, const void *src, size_t bytes)
{
    cudaCheck(cudaStreamSynchronize(m->stream));
    cudaCheck(cudaMemcpy(dst, src, bytes, cudaMemcpyDeviceToHost));
}

extern "C" void gpu_model_upload_params(GpuModel *m, const float *params)
{
    const size_t n = m->num_parameters;
    copy_to_device(m, m->params, params, n * sizeof(float));
    if (m->params_lp) {
        to_bf16_kernel<<<grid_for(n), LAYERS_THREADS, 0, m->stream>>>(m->params_lp, m->params, n);
        cudaLaunchCheck();
    }
}

extern "C" void gpu_model_download_params(const GpuModel *m, float *params)
{
    copy_to_host(m, params, m->params, m->num_parameters * sizeof(float));
}

extern "C" void gpu_model_upload_grads(GpuModel *m, const float *grads)
{
    copy_to_device(m, m->grads, grads, m->num_parameters * sizeof(float));
}

extern "C" void gpu_model_download_grads(const GpuModel *m, float *grads)
{
    copy_to_host(m, grads, m->grads, m->num_parameters * sizeof(float));
}

extern "C" void gpu_model_upload_moments(GpuModel *m, const float *mom, const float *var)
{
    copy_to_device(m, m->mom, mom, m->num_parameters * sizeof(float));
    copy_to_device(m, m->var, var, m->num_parameters * sizeof(float));
}

extern "C" void gpu_model_download_moments(const GpuModel *m, float *mom, float *var)
{
    copy_to_host(m, mom, m->mom, m->num_parameters * sizeof(float));
    copy_to_host(m, var, m->var, m->num_parameters * sizeof(float));
}

extern "C" void gpu_model_synchronize(const GpuModel *m)
{
    cudaCheck(cudaStreamSynchronize(m->stream));
    cudaCheck(cudaStreamSynchronize(m->comm_stream));
}

/* ---- forward ---------------------------------------------------------------------------------- */

#define P(i) (m->params + m->offsets[i])
#define G(i) (m->grads + m->offsets[i])

/* The weights the products read: the float master in fp32 mode, its bf16 copy in bf16 mode. */
template <typename T> static const T *weights(const GpuModel *m, int i)
{
    return m->params_lp ? (const T *)(m->params_lp + m->offsets[i])
                        : (const T *)(m->params + m->offsets[i]);
}

template <typename T> static void forward_impl(GpuModel *m, int B, int Tn, int with_targets)
{
    const Views<T> a = views<T>(m);
    const int L = m->config.num_layers, NH = m->config.num_heads, C = m->config.channels,
              V = m->config.vocab_size, bias = m->config.bias;
    const size_t BT = (size_t)B * Tn, Cz = C;
    // per-layer strides of the planned layout
    const size_t sBTC = (size_t)m->B * m->T * C, sBT = (size_t)m->B * m->T,
                 sATT = (size_t)m->B * NH * m->T * m->T;
    cudaStream_t s = m->stream;
    cublasHandle_t h = m->cublas;

    encoder_forward(a.encoded, m->inputs, P(WTE), P(WPE), B, Tn, C, s); // (B, T, C)
    for (int l = 0; l < L; l++) {
        const T *residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * sBTC;
        T *ln1 = a.ln1 + l * sBTC, *qkv = a.qkv + l * 3 * sBTC, *atty = a.atty + l * sBTC;
        T *att = a.att + l * sATT, *residual2 = a.residual2 + l * sBTC, *ln2 = a.ln2 + l * sBTC;
        T *fch = a.fch + l * 4 * sBTC, *fch_gelu = a.fch_gelu + l * 4 * sBTC;
        T *residual3 = a.residual3 + l * sBTC;
        float *ln1_mean = a.ln1_mean + l * sBT, *ln1_rstd = a.ln1_rstd + l * sBT;
        float *ln2_mean = a.ln2_mean + l * sBT, *ln2_rstd = a.ln2_rstd + l * sBT;

        layernorm_forward(ln1, ln1_mean, ln1_rstd, residual, P(LN1W) + l * Cz,
                          bias ? P(LN1B) + l * Cz : nullptr, BT, C, s);
        matmul_forward(h, qkv, ln1, weights<T>(m, QKVW) + l * 3 * Cz * Cz,
                       bias ? P(QKVB) + l * 3 * Cz : nullptr, BT, C, 3 * C, s);
        attention_forward(h, atty, att, qkv, a.attn, B, Tn, C, NH, s);
        matmul_forward(h, a.proj, atty, weights<T>(m, ATTPROJW) + l * Cz * Cz,
                       bias ? P(ATTPROJB) + l * Cz : nullptr, BT, C, C, s);
        residual_forward(residual2, residual, a.proj, BT * C, s);
        layernorm_forward(ln2, ln2_mean, ln2_rstd, residual2, P(LN2W) + l * Cz,
                          bias ? P(LN2B) + l * Cz : nullptr, BT, C, s);
        matmul_forward(h, fch, ln2, weights<T>(m, FCW) + l * 4 * Cz * Cz,
                       bias ? P(FCB) + l * 4 * Cz : nullptr, BT, C, 4 * C, s);
        gelu_forward(fch_gelu, fch, BT * 4 * C, s);
        matmul_forward(h, a.proj, fch_gelu, weights<T>(m, FCPROJW) + l * 4 * Cz * Cz,
                       bias ? P(FCPROJB) + l * Cz : nullptr, BT, 4 * C, C, s);
        residual_forward(residual3, residual2, a.proj, BT * C, s);
    }
    layernorm_forward(a.lnf, a.lnf_mean, a.lnf_rstd, a.residual3 + (L - 1) * sBTC, P(LNFW),
                      bias ? P(LNFB) : nullptr, BT, C, s);
    matmul_forward(h, a.logits, a.lnf, weights<T>(m, WTE), (const float *)nullptr, BT, C, V, s); // tied head
    if (with_targets) crossentropy_forward(a.losses, a.lse, a.logits, m->targets, BT, V, s);
}

static void check_tokens(const int *tok, size_t n, int V, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (tok[i] < 0 || tok[i] >= V)
            photon_abort(__FILE__, __LINE__,
                         "gpu_model_forward: %s[%zu] = %d is not a token id of a vocabulary of %d",
                         what, i, tok[i], V);
}

extern "C" float gpu_model_forward(GpuModel *m, const int *inputs, const int *targets, int B, int T)
{
    if (B < 1 || T < 1 || B > m->B || T > m->T)
        photon_abort(__FILE__, __LINE__,
                     "gpu_model_forward: batch B=%d, T=%d is outside the planned B=%d, T=%d", B, T,
                     m->B, m->T);
    const size_t BT = (size_t)B * T;
    check_tokens(inputs, BT, m->config.vocab_size, "inputs");
    copy_to_device(m, m->inputs, inputs, BT * sizeof(int));
    if (targets) {
        check_tokens(targets, BT, m->config.vocab_size, "targets");
        copy_to_device(m, m->targets, targets, BT * sizeof(int));
    }
    m->fwd_B = B;
    m->fwd_T = T;
    m->fwd_has_targets = targets != NULL;
    if (m->precision == PRECISION_BF16) forward_impl<bf16>(m, B, T, targets != NULL);
    else forward_impl<float>(m, B, T, targets != NULL);
    if (!targets) return -1.0f;
    const float *losses = m->precision == PRECISION_BF16 ? views<bf16>(m).losses : views<float>(m).losses;
    copy_to_host(m, m->losses_host, losses, BT * sizeof(float));
    double sum = 0.0; // in order, in double, as gpt_forward
    for (size_t i = 0; i < BT; i++) sum += m->losses_host[i];
    return (float)(sum / BT);
}

extern "C" void gpu_model_download_logits(const GpuModel *m, float *logits)
{
    const size_t n = (size_t)m->fwd_B * m->fwd_T * m->config.vocab_size;
    if (m->precision == PRECISION_FP32) {
        copy_to_host(m, logits, views<float>(m).logits, n * sizeof(float));
        return;
    }
    bf16 *tmp = (bf16 *)malloc(n * sizeof(bf16));
    if (!tmp) photon_abort(__FILE__, __LINE__, "gpu_model_download_logits: out of host memory");
    copy_to_host(m, tmp, views<bf16>(m).logits, n * sizeof(bf16));
    for (size_t i = 0; i < n; i++) logits[i] = __bfloat162float(tmp[i]);
    free(tmp);
}

/* ---- backward --------------------------------------------------------------------------------- */

/* Average the gradient tensors [first, last] (their layer-l slices when per_layer) over the
 * communicator, on comm_stream, once the main stream has written them: the main stream goes on
 * with the layers below while NCCL moves these. */
static void allreduce_grads(GpuModel *m, int first, int last, int per_layer, int l)
{
    const size_t L = m->config.num_layers;
    cudaCheck(cudaEventRecord(m->grads_ready, m->stream));
    cudaCheck(cudaStreamWaitEvent(m->comm_stream, m->grads_ready, 0));
    ncclCheck(ncclGroupStart());
    for (int i = first; i <= last; i++) {
        size_t n = per_layer ? m->sizes[i] / L : m->sizes[i];
        if (n == 0) continue; // the biases of a bias = 0 model
        float *g = G(i) + (per_layer ? (size_t)l * n : 0);
        ncclCheck(ncclAllReduce(g, g, n, ncclFloat, ncclAvg, m->comm, m->comm_stream));
    }
    ncclCheck(ncclGroupEnd());
}

template <typename T> static void backward_impl(GpuModel *m)
{
    const Views<T> a = views<T>(m);
    const int B = m->fwd_B, Tn = m->fwd_T;
    const int L = m->config.num_layers, NH = m->config.num_heads, C = m->config.channels,
              V = m->config.vocab_size, bias = m->config.bias;
    const size_t BT = (size_t)B * Tn, Cz = C;
    const size_t sBTC = (size_t)m->B * m->T * C, sBT = (size_t)m->B * m->T,
                 sATT = (size_t)m->B * NH * m->T * m->T;
    cudaStream_t s = m->stream;
    cublasHandle_t h = m->cublas;

    // d(mean loss)/d(logits) = (softmax - onehot) / (B*T)
    crossentropy_backward(a.dlogits, a.logits, a.lse, m->targets, 1.0f / BT, BT, V, s);
    matmul_backward(h, a.dln, G(WTE), nullptr, a.dlogits, a.lnf, weights<T>(m, WTE), a.ones, BT, C, V);
    cudaCheck(cudaMemsetAsync(a.dresidual, 0, BT * C * sizeof(T), s));
    layernorm_backward(a.dresidual, G(LNFW), bias ? G(LNFB) : nullptr, a.ln_partial, a.dln,
                       a.residual3 + (L - 1) * sBTC, P(LNFW), a.lnf_mean, a.lnf_rstd, BT, C, s);

    for (int l = L - 1; l >= 0; l--) {
        const T *residual = l == 0 ? a.encoded : a.residual3 + (l - 1) * sBTC;
        const T *ln1 = a.ln1 + l * sBTC, *qkv = a.qkv + l * 3 * sBTC, *atty = a.atty + l * sBTC;
        const T *att = a.att + l * sATT, *residual2 = a.residual2 + l * sBTC;
        const T *ln2 = a.ln2 + l * sBTC, *fch = a.fch + l * 4 * sBTC;
        const T *fch_gelu = a.fch_gelu + l * 4 * sBTC;
        const float *ln1_mean = a.ln1_mean + l * sBT, *ln1_rstd = a.ln1_rstd + l * sBT;
        const float *ln2_mean = a.ln2_mean + l * sBT, *ln2_rstd = a.ln2_rstd + l * sBT;

        // a.dresidual holds d(residual3) = d(fcproj) = the residual2 part of d(residual2)
        matmul_backward(h, a.dfch_gelu, G(FCPROJW) + l * 4 * Cz * Cz,
                        bias ? G(FCPROJB) + l * Cz : nullptr, a.dresidual, fch_gelu,
                        weights<T>(m, FCPROJW) + l * 4 * Cz * Cz, a.ones, BT, 4 * C, C);
        gelu_backward(a.dfch, fch, a.dfch_gelu, BT * 4 * C, s);
        matmul_backward(h, a.dln, G(FCW) + l * 4 * Cz * Cz, bias ? G(FCB) + l * 4 * Cz : nullptr,
                        a.dfch, ln2, weights<T>(m, FCW) + l * 4 * Cz * Cz, a.ones, BT, C, 4 * C);
        layernorm_backward(a.dresidual, G(LN2W) + l * Cz, bias ? G(LN2B) + l * Cz : nullptr,
                           a.ln_partial, a.dln, residual2, P(LN2W) + l * Cz, ln2_mean, ln2_rstd,
                           BT, C, s);
        // a.dresidual now holds d(residual2) = d(attproj) = the residual part of d(residual)
        matmul_backward(h, a.datty, G(ATTPROJW) + l * Cz * Cz, bias ? G(ATTPROJB) + l * Cz : nullptr,
                        a.dresidual, atty, weights<T>(m, ATTPROJW) + l * Cz * Cz, a.ones, BT, C, C);
        attention_backward(h, a.dqkv, a.datt, a.dattn, a.datty, qkv, att, a.attn, B, Tn, C, NH, s);
        matmul_backward(h, a.dln, G(QKVW) + l * 3 * Cz * Cz, bias ? G(QKVB) + l * 3 * Cz : nullptr,
                        a.dqkv, ln1, weights<T>(m, QKVW) + l * 3 * Cz * Cz, a.ones, BT, C, 3 * C);
        layernorm_backward(a.dresidual, G(LN1W) + l * Cz, bias ? G(LN1B) + l * Cz : nullptr,
                           a.ln_partial, a.dln, residual, P(LN1W) + l * Cz, ln1_mean, ln1_rstd, BT,
                           C, s);
        // a.dresidual now holds d(residual), the output of layer l-1; layer l's grads are final
        if (m->comm) allreduce_grads(m, LN1W, FCPROJB, 1, l);
    }
    encoder_backward(G(WTE), G(WPE), a.dresidual, m->inputs, B, Tn, C, s);
    if (m->comm) {
        allreduce_grads(m, WTE, WPE, 0, 0);
        allreduce_grads(m, LNFW, LNFB, 0, 0);
        cudaCheck(cudaEventRecord(m->comm_done, m->comm_stream));
        cudaCheck(cudaStreamWaitEvent(m->stream, m->comm_done, 0));
    }
}

extern "C" void gpu_model_backward(GpuModel *m)
{
    if (!m->fwd_has_targets)
        photon_abort(__FILE__, __LINE__,
                     "gpu_model_backward: the last gpu_model_forward had no targets, so there is no "
                     "loss to differentiate");
    if (m->precision == PRECISION_BF16) backward_impl<bf16>(m);
    else backward_impl<float>(m);
}

extern "C" void gpu_model_set_grad_comm(GpuModel *m, ncclComm_t comm) { m->comm = comm; }

extern "C" void gpu_model_zero_grad(GpuModel *m)
{
    cudaCheck(cudaMemsetAsync(m->grads, 0, m->num_parameters * sizeof(float), m->stream));
}

/* ---- optimizer ---------------------------------------------------------------------------------- */

extern "C" double gpu_model_clip_grad_norm(GpuModel *m, double max_norm)
{
    const size_t n = m->num_parameters;
    double partial[NORM_BLOCKS];
    sumsq_kernel<<<NORM_BLOCKS, LAYERS_THREADS, 0, m->stream>>>(m->norm_partial, m->grads, n);
    cudaLaunchCheck();
    copy_to_host(m, partial, m->norm_partial, sizeof partial);
    double total = 0.0;
    for (int k = 0; k < NORM_BLOCKS; k++) total += partial[k];
    const double norm = sqrt(total);
    if (max_norm > 0.0 && norm > max_norm) {
        scale_kernel<<<grid_for(n), LAYERS_THREADS, 0, m->stream>>>(m->grads, n, (float)(max_norm / norm));
        cudaLaunchCheck();
    }
    return norm;
}

extern "C" void gpu_model_adamw_update(GpuModel *m, float lr, float beta1, float beta2, float eps,
                                       float wd, long t)
{
    // bias corrections in double, as src/model/optim.c
    const float bc1 = (float)(1.0 - pow(beta1, (double)t));
    const float bc2 = (float)(1.0 - pow(beta2, (double)t));
    for (int i = 0; i < GPT_NUM_TENSORS; i++) {
        const size_t n = m->sizes[i], off = m->offsets[i];
        if (n == 0) continue;
        const float decay = 1.0f - lr * (gpt_tensor_decays(i) ? wd : 0.0f);
        adamw_kernel<<<grid_for(n), LAYERS_THREADS, 0, m->stream>>>(
            m->params + off, m->grads + off, m->mom + off, m->var + off,
            m->params_lp ? m->params_lp + off : nullptr, n, lr, beta1, beta2, eps, decay, bc1, bc2);
        cudaLaunchCheck();
    }
}

extern "C" void gpu_model_sgd_update(GpuModel *m, float lr, float wd)
{
    for (int i = 0; i < GPT_NUM_TENSORS; i++) {
        const size_t n = m->sizes[i], off = m->offsets[i];
        if (n == 0) continue;
        sgd_kernel<<<grid_for(n), LAYERS_THREADS, 0, m->stream>>>(
            m->params + off, m->grads + off, m->params_lp ? m->params_lp + off : nullptr, n, lr,
            gpt_tensor_decays(i) ? wd : 0.0f);
        cudaLaunchCheck();
    }
}
