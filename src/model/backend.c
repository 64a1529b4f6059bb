/* backend.c: the registry of backends (see backend.h) and the names of the device kinds. */
#include "config.h" /* PHOTON_CUDA */
#include "backend.h"

#include <stdio.h>
#include <string.h>

const char *const device_names[] = {"cpu", "cuda", NULL};
const char *const precision_names[] = {"fp32", "bf16", NULL};

/* Index = DeviceKind; NULL: not built. The one place that knows which backends a build has. */
static const BackendOps *const registry[] = {
    [DEVICE_CPU] = &backend_cpu_ops,
#ifdef PHOTON_CUDA
    [DEVICE_CUDA] = &backend_cuda_ops,
#endif
};

const BackendOps *backend_lookup(DeviceKind kind, char *err, size_t errlen)
{
    const BackendOps *ops = (size_t)kind < sizeof registry / sizeof *registry ? registry[kind] : NULL;
    if (!ops)
        snprintf(err, errlen, "run.device = %s: this photon was built without the CUDA backend (./configure --with-cuda)",
                 device_names[kind]);
    return ops;
}

int backend_create(Backend *b, const BackendOps *ops, const BackendSetup *setup, char *err, size_t errlen)
{
    memset(b, 0, sizeof *b);
    b->ops = ops;
    b->s = *setup;
    if (ops->create(b, err, errlen)) {
        memset(b, 0, sizeof *b);
        return -1;
    }
    return 0;
}

void backend_destroy(Backend *b)
{
    if (b->ops) b->ops->destroy(b);
    memset(b, 0, sizeof *b);
}
