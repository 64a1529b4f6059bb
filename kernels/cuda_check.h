/* cuda_check.h: fail-fast wrappers for CUDA runtime, cuBLAS and NCCL calls that name the failing
 * call, file and line, and stop every rank (check.h's photon_abort, llm.c's cudaCheck). Usable
 * from C (src/model/device.c) and from CUDA C++ (kernels/). */
#ifndef PHOTON_CUDA_CHECK_H
#define PHOTON_CUDA_CHECK_H

#include <cublas_v2.h>
#include <cuda_runtime.h>
#include <nccl.h>

#ifdef __cplusplus
/* check.h uses C11's _Noreturn, which C++ does not have: declare what the kernels need. */
extern "C" [[noreturn]] void photon_abort(const char *file, int line, const char *fmt, ...);
#else
#include "check.h"
#endif

#define cudaCheck(call)                                                                    \
    do {                                                                                   \
        cudaError_t cuda_check_rc_ = (call);                                               \
        if (cuda_check_rc_ != cudaSuccess)                                                 \
            photon_abort(__FILE__, __LINE__, "%s failed: %s", #call,                       \
                         cudaGetErrorString(cuda_check_rc_));                              \
    } while (0)

#define cublasCheck(call)                                                                  \
    do {                                                                                   \
        cublasStatus_t cublas_check_rc_ = (call);                                          \
        if (cublas_check_rc_ != CUBLAS_STATUS_SUCCESS)                                     \
            photon_abort(__FILE__, __LINE__, "%s failed: %s", #call,                       \
                         cublasGetStatusString(cublas_check_rc_));                         \
    } while (0)

#define ncclCheck(call)                                                                    \
    do {                                                                                   \
        ncclResult_t nccl_check_rc_ = (call);                                              \
        if (nccl_check_rc_ != ncclSuccess)                                                 \
            photon_abort(__FILE__, __LINE__, "%s failed: %s", #call,                       \
                         ncclGetErrorString(nccl_check_rc_));                              \
    } while (0)

/* A kernel launch reports configuration errors only through cudaGetLastError. */
#define cudaLaunchCheck() cudaCheck(cudaGetLastError())

#endif
