/* device.c: see device.h. */
#include "device.h"

#include <stdio.h>
#include <string.h>

#include "check.h"
#include "cuda_check.h"

/* This rank's index among the ranks of its node. */
static int node_local_rank(void)
{
    MPI_Comm node;
    int rank;
    mpiCheck(MPI_Comm_split_type(MPI_COMM_WORLD, MPI_COMM_TYPE_SHARED, 0, MPI_INFO_NULL, &node));
    mpiCheck(MPI_Comm_rank(node, &rank));
    mpiCheck(MPI_Comm_free(&node));
    return rank;
}

int device_open(DeviceBackend *b, const GPTConfig *c, int B, int T, int precision, MPI_Comm silo,
                char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->device = gpu_select_device(node_local_rank());
    /* Every rank of the silo must have a GPU before any of them enters NCCL's collective set-up. */
    int failed = b->device < 0;
    if (photon_any_failed(failed, silo)) {
        snprintf(err, errlen, "run.device = cuda, but %s no CUDA device (check the driver, "
                 "CUDA_VISIBLE_DEVICES and the job's GPU allocation)",
                 failed ? "this rank sees" : "a rank of this silo sees");
        return -1;
    }
    size_t total;
    gpu_device_info(b->name, sizeof b->name, &total);
    b->model = gpu_model_build(c, B, T, (GpuPrecision)precision);
    int rank, size;
    mpiCheck(MPI_Comm_rank(silo, &rank));
    mpiCheck(MPI_Comm_size(silo, &size));
    if (size > 1) {
        ncclUniqueId id;
        if (rank == 0) ncclCheck(ncclGetUniqueId(&id));
        mpiCheck(MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, silo));
        ncclCheck(ncclCommInitRank(&b->nccl, size, id, rank));
        gpu_model_set_grad_comm(b->model, b->nccl);
    }
    return 0;
}

void device_close(DeviceBackend *b)
{
    if (b->model) gpu_model_free(b->model);
    if (b->nccl) ncclCheck(ncclCommDestroy(b->nccl));
    memset(b, 0, sizeof *b);
}

void device_upload(DeviceBackend *b, const float *params, const float *mom, const float *var)
{
    gpu_model_upload_params(b->model, params);
    gpu_model_upload_moments(b->model, mom, var);
}

void device_download(DeviceBackend *b, float *params, float *mom, float *var)
{
    gpu_model_download_params(b->model, params);
    gpu_model_download_moments(b->model, mom, var);
}
