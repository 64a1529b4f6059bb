/* backend.h: where a rank's training steps run. One table of operations per device (PETSc-style:
 * backend_cpu.c, and backend_cuda.c in builds with ./configure --with-cuda); backend.c's registry
 * maps run.device (DeviceKind) to its table. The driver calls the table and never asks which
 * device it has.
 *
 * The host keeps the run. A Backend is attached to the host model (a GPT built for batches
 * (B, T)) and the host's AdamW state; the federation, evaluation and checkpoints always read and
 * write those host vectors. Between round boundaries a backend may keep its own copy (the GPU
 * does): `upload` copies the host state in before a round's steps, `download` copies it back
 * after them. On the CPU both are no-ops: the steps work on the host vectors themselves.
 *
 * A step knows nothing of the federation: it averages the gradient over the rank's data-parallel
 * group (the silo) itself, then calls the optional GradExchange hook on the host gradient vector
 * (params layout) before clipping, the place where the ddp baseline averages across silos. */
#ifndef PHOTON_BACKEND_H
#define PHOTON_BACKEND_H

#include <mpi.h>
#include <stddef.h>

#include "backend_kinds.h"
#include "gpt.h"
#include "optim.h"

/* Called inside a step, on every rank of the group, with the group's mean gradient in `grads`
 * (host memory, n floats), before clipping; it may replace it in place. */
typedef struct {
    void (*fn)(void *ctx, float *grads, size_t n);
    void *ctx;
} GradExchange;

typedef struct {
    float loss;       // the group's mean loss of this step
    double grad_norm; // before clipping
    int clipped;      // the norm exceeded this step's clipping threshold
} StepOutput;

/* What a backend is attached to; set by the caller before backend_create. */
typedef struct {
    GPT *host;               // built for batches (B, T): the weights and gradients the host sees
    float *adam_m, *adam_v;  // (num_parameters) the host's AdamW moments
    long *adam_t;            // AdamW steps taken (bias correction): the step increments it
    int B, T;
    PrecisionKind precision;
    MPI_Comm group;          // the data-parallel group (silo) whose gradients are averaged
    int group_size;
} BackendSetup;

typedef struct Backend Backend;

typedef struct {
    const char *name;
    /* Collective over setup.group. 0, or -1 with a message (on every rank of the group). */
    int (*create)(Backend *b, char *err, size_t errlen);
    void (*destroy)(Backend *b);
    /* Round boundaries: host -> backend (weights, moments) before the steps, and back after. */
    void (*upload)(Backend *b);
    void (*download)(Backend *b);
    /* One optimizer step on batch (B, T) (host token ids) with learning rate lr: zero the
     * gradients, forward, backward, group mean, exchange (NULL: none), clip, update. Collective
     * over the group (and whatever the exchange hook involves). */
    StepOutput (*step)(Backend *b, const int *inputs, const int *targets, const InnerOptConfig *opt, float lr,
                       const GradExchange *exchange);
    /* A banner line ("device: ...\n") into buf, or "" (the CPU has nothing to say). */
    void (*describe)(const Backend *b, char *buf, size_t len);
} BackendOps;

struct Backend {
    const BackendOps *ops;
    BackendSetup s;
    void *impl; // the backend's own state
};

/* The table for `kind`, or NULL with a message when this build lacks it (cuda without
 * --with-cuda). Serial, no side effects. */
const BackendOps *backend_lookup(DeviceKind kind, char *err, size_t errlen);

/* Attaches b to `setup` and creates it with `ops` (from backend_lookup). Collective over
 * setup->group. 0, or -1 with a message; b is then empty (backend_destroy is a no-op). */
int backend_create(Backend *b, const BackendOps *ops, const BackendSetup *setup, char *err, size_t errlen);
/* Releases what create made; safe on an empty (zeroed) Backend. */
void backend_destroy(Backend *b);

/* The registry's entries. */
extern const BackendOps backend_cpu_ops;
extern const BackendOps backend_cuda_ops; // only in builds with --with-cuda

#endif
