/* optim.cuh: the inner optimizers and the global gradient norm on the GPU, the counterparts of
 * src/model/optim.c: the same formulas on the same flat float vectors. AdamW and SGD update the float
 * master weights and, in bf16 mode, refresh the bf16 copy the products read in the same pass. */
#ifndef PHOTON_OPTIM_CUH
#define PHOTON_OPTIM_CUH

#include "cuda_common.cuh"
#include "layers.cuh"

/* Blocks of the norm's first stage: a fixed count, so the partial sums and their order (summed
 * on the host) do not depend on the device: the norm has the same bits on every run. */
#define NORM_BLOCKS 1024

/* torch.optim.AdamW's order: decoupled decay first, then the Adam step (src/model/optim.c). */
__global__ void adamw_kernel(float *p, const float *g, float *m, float *v, bf16 *p_lp, size_t n,
                             float lr, float beta1, float beta2, float eps, float decay, float bc1,
                             float bc2)
{
    GRID_STRIDE_LOOP(i, n) {
        float gi = g[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * gi;
        float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        float pi = p[i] * decay - lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
        p[i] = pi;
        if (p_lp) p_lp[i] = __float2bfloat16(pi);
    }
}

__global__ void sgd_kernel(float *p, const float *g, bf16 *p_lp, size_t n, float lr, float wd)
{
    GRID_STRIDE_LOOP(i, n) {
        float pi = p[i] - lr * (g[i] + wd * p[i]);
        p[i] = pi;
        if (p_lp) p_lp[i] = __float2bfloat16(pi);
    }
}

__global__ void to_bf16_kernel(bf16 *dst, const float *src, size_t n)
{
    GRID_STRIDE_LOOP(i, n) dst[i] = __float2bfloat16(src[i]);
}

/* partial[block] = sum of g[i]^2 over the block's grid-stride share, in double. */
__global__ void sumsq_kernel(double *partial, const float *g, size_t n)
{
    __shared__ double shared[LAYERS_THREADS];
    double s = 0.0;
    GRID_STRIDE_LOOP(i, n) s += (double)g[i] * g[i];
    shared[threadIdx.x] = s;
    __syncthreads();
    for (int half = blockDim.x / 2; half > 0; half >>= 1) {
        if (threadIdx.x < half) shared[threadIdx.x] += shared[threadIdx.x + half];
        __syncthreads();
    }
    if (threadIdx.x == 0) partial[blockIdx.x] = shared[0];
}

__global__ void scale_kernel(float *x, size_t n, float scale)
{
    GRID_STRIDE_LOOP(i, n) x[i] *= scale;
}

#endif
