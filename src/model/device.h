/* device.h: the trainer's GPU backend (run.device = cuda; built with ./configure --with-cuda).
 *
 * The GPU does the steps; the host keeps the run. Between round boundaries the weights, the
 * gradients and the AdamW moments live on the GPU (kernels/gpt_cuda.h) and a step never leaves
 * it: forward, backward with the silo's NCCL gradient average overlapping it, clipping and the
 * optimizer. At a round boundary device_download copies weights and moments into the host
 * model's params_memory and the trainer's moment vectors, so the federation, evaluation and
 * checkpoints run unchanged on the host; device_upload copies them back before the next round.
 *
 * One rank per GPU: a rank takes the GPU numbered by its rank among the ranks of its node
 * (MPI_Comm_split_type with MPI_COMM_TYPE_SHARED), modulo the GPUs it sees. */
#ifndef PHOTON_DEVICE_H
#define PHOTON_DEVICE_H

#include <mpi.h>
#include <nccl.h>
#include <stddef.h>

#include "gpt.h"
#include "gpt_cuda.h"

typedef struct {
    GpuModel *model;   // NULL: this rank trains on the CPU (or is the server)
    ncclComm_t nccl;   // the silo's ranks, for the gradient average; NULL for a 1-rank silo
    int device;        // CUDA device index
    char name[256];    // its name
} DeviceBackend;

/* Collective over `silo` (every rank of it calls): pick this rank's GPU, build the model for
 * batches (B, T) in `precision` (GpuPrecision), and create the silo's NCCL communicator (rank 0
 * of the silo makes the unique id, MPI_Bcast hands it out). Returns 0, or -1 with a message
 * (on every rank of the silo) when some rank of the silo has no GPU. */
int device_open(DeviceBackend *b, const GPTConfig *c, int B, int T, int precision, MPI_Comm silo,
                char *err, size_t errlen);
void device_close(DeviceBackend *b);

/* Round boundaries: host -> GPU (params, mom, var: num_parameters floats each) and back. */
void device_upload(DeviceBackend *b, const float *params, const float *mom, const float *var);
void device_download(DeviceBackend *b, float *params, float *mom, float *var);

#endif
