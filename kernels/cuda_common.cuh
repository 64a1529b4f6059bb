/* cuda_common.cuh: what every CUDA file of the backend shares: the check macros (cuda_check.h),
 * the element types of the two precisions and their conversions, and warp and block reductions.
 * CUDA C++ only. */
#ifndef PHOTON_CUDA_COMMON_CUH
#define PHOTON_CUDA_COMMON_CUH

#include <cuda_bf16.h>

#include "cuda_check.h"

typedef __nv_bfloat16 bf16;

/* Activations are stored as T (float or bf16); all arithmetic is in float. */
__device__ __forceinline__ float to_float(float x) { return x; }
__device__ __forceinline__ float to_float(bf16 x) { return __bfloat162float(x); }
template <typename T> __device__ __forceinline__ T from_float(float x);
template <> __device__ __forceinline__ float from_float<float>(float x) { return x; }
template <> __device__ __forceinline__ bf16 from_float<bf16>(float x) { return __float2bfloat16(x); }

/* cuBLAS's name of an element type. */
template <typename T> struct CudaDataType;
template <> struct CudaDataType<float> { static constexpr cudaDataType_t value = CUDA_R_32F; };
template <> struct CudaDataType<bf16> { static constexpr cudaDataType_t value = CUDA_R_16BF; };

__device__ __forceinline__ float warp_sum(float v)
{
    for (int o = 16; o > 0; o >>= 1) v += __shfl_xor_sync(0xffffffffu, v, o);
    return v;
}

__device__ __forceinline__ float warp_max(float v)
{
    for (int o = 16; o > 0; o >>= 1) v = fmaxf(v, __shfl_xor_sync(0xffffffffu, v, o));
    return v;
}

/* Block-wide reductions for blocks of whole warps (at most 32 of them); every thread gets the
 * result. `shared` holds 32 floats; the leading __syncthreads lets callers reuse it. */
__device__ __forceinline__ float block_reduce(float v, float *shared, bool is_max)
{
    const int lane = threadIdx.x % 32, warp = threadIdx.x / 32, nwarps = blockDim.x / 32;
    v = is_max ? warp_max(v) : warp_sum(v);
    __syncthreads();
    if (lane == 0) shared[warp] = v;
    __syncthreads();
    float r = lane < nwarps ? shared[lane] : (is_max ? -INFINITY : 0.0f);
    return is_max ? warp_max(r) : warp_sum(r);
}

static inline unsigned ceil_div(size_t n, size_t d) { return (unsigned)((n + d - 1) / d); }

#endif
