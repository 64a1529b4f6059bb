/* backend_cuda.c: the CUDA backend (run.device = cuda; built with ./configure --with-cuda).
 *
 * The GPU does the steps; the host keeps the run. Between round boundaries the weights, the
 * gradients and the AdamW moments live on the GPU (kernels/gpt_cuda.h) and a step never leaves
 * it: forward, backward with the silo's NCCL gradient average overlapping it, clipping and the
 * optimizer. A gradient exchange hook (the ddp baseline) stages the gradients through the host
 * model's grads_memory. upload / download move weights and moments at round boundaries.
 *
 * One rank per GPU: a rank takes the GPU numbered by its rank among the ranks of its node
 * (MPI_Comm_split_type with MPI_COMM_TYPE_SHARED), modulo the GPUs it sees. */
#include "backend.h"

#include <nccl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cuda_check.h"
#include "gpt_cuda.h"

typedef struct {
    GpuModel *model;
    ncclComm_t nccl;   // the silo's ranks, for the gradient average; NULL for a 1-rank silo
    int device;        // CUDA device index
    char name[256];    // its name
} CudaBackend;

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

static int cuda_create(Backend *b, char *err, size_t errlen)
{
    CudaBackend *g = callocCheck(1, sizeof *g);
    g->device = gpu_select_device(node_local_rank());
    /* Every rank of the silo must have a GPU before any of them enters NCCL's collective set-up. */
    int failed = g->device < 0;
    if (photon_any_failed(failed, b->s.group)) {
        snprintf(err, errlen, "run.device = cuda, but %s no CUDA device (check the driver, "
                 "CUDA_VISIBLE_DEVICES and the job's GPU allocation)",
                 failed ? "this rank sees" : "a rank of this silo sees");
        free(g);
        return -1;
    }
    size_t total;
    gpu_device_info(g->name, sizeof g->name, &total);
    g->model = gpu_model_build(&b->s.host->config, b->s.B, b->s.T, b->s.precision);
    int rank, size;
    mpiCheck(MPI_Comm_rank(b->s.group, &rank));
    mpiCheck(MPI_Comm_size(b->s.group, &size));
    if (size > 1) {
        ncclUniqueId id;
        if (rank == 0) ncclCheck(ncclGetUniqueId(&id));
        mpiCheck(MPI_Bcast(&id, (int)sizeof id, MPI_BYTE, 0, b->s.group));
        ncclCheck(ncclCommInitRank(&g->nccl, size, id, rank));
        gpu_model_set_grad_comm(g->model, g->nccl);
    }
    b->impl = g;
    return 0;
}

static void cuda_destroy(Backend *b)
{
    CudaBackend *g = b->impl;
    if (!g) return;
    if (g->model) gpu_model_free(g->model);
    if (g->nccl) ncclCheck(ncclCommDestroy(g->nccl));
    free(g);
    b->impl = NULL;
}

static void cuda_upload(Backend *b)
{
    CudaBackend *g = b->impl;
    gpu_model_upload_params(g->model, b->s.host->params_memory);
    gpu_model_upload_moments(g->model, b->s.adam_m, b->s.adam_v);
}

static void cuda_download(Backend *b)
{
    CudaBackend *g = b->impl;
    gpu_model_download_params(g->model, b->s.host->params_memory);
    gpu_model_download_moments(g->model, b->s.adam_m, b->s.adam_v);
}

/* The silo's gradient average is NCCL's, inside the backward pass; only the loss goes over MPI. */
static StepOutput cuda_step(Backend *b, const int *inputs, const int *targets, const InnerOptConfig *opt, float lr,
                            const GradExchange *exchange)
{
    CudaBackend *g = b->impl;
    gpu_model_zero_grad(g->model);
    float loss = gpu_model_forward(g->model, inputs, targets, b->s.B, b->s.T);
    gpu_model_backward(g->model);
    if (b->s.group_size > 1) {
        mpiCheck(MPI_Allreduce(MPI_IN_PLACE, &loss, 1, MPI_FLOAT, MPI_SUM, b->s.group));
        loss *= 1.0f / (float)b->s.group_size;
    }
    if (exchange) {
        float *grads = b->s.host->grads_memory;
        gpu_model_download_grads(g->model, grads);
        exchange->fn(exchange->ctx, grads, b->s.host->num_parameters);
        gpu_model_upload_grads(g->model, grads);
    }
    /* clip = adaptive is refused on cuda by the deck (the running norm would be the device's v). */
    StepOutput out = {.loss = loss, .grad_norm = gpu_model_clip_grad_norm(g->model, opt->grad_clip)};
    out.clipped = opt->grad_clip > 0.0 && out.grad_norm > opt->grad_clip;
    if (opt->kind == OPTIM_ADAMW) {
        ++*b->s.adam_t;
        gpu_model_adamw_update(g->model, lr, opt->beta1, opt->beta2, opt->eps, opt->weight_decay, *b->s.adam_t);
    } else {
        gpu_model_sgd_update(g->model, lr, opt->weight_decay);
    }
    return out;
}

static void cuda_describe(const Backend *b, char *buf, size_t len)
{
    const CudaBackend *g = b->impl;
    snprintf(buf, len, "device: cuda, %s on rank 0, %s, silo gradients over %s\n", g->name,
             b->s.precision == PRECISION_BF16 ? "bf16 (fp32 master weights)" : "fp32",
             g->nccl ? "NCCL" : "no communication (1 rank per silo)");
}

const BackendOps backend_cuda_ops = {
    .name = "cuda",
    .create = cuda_create,
    .destroy = cuda_destroy,
    .upload = cuda_upload,
    .download = cuda_download,
    .step = cuda_step,
    .describe = cuda_describe,
};
