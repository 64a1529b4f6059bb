/* outer_fedavg.c: θ ← θ − lr·Δ (outer.h); no state. */
#include "outer.h"

#include <string.h>

static void fedavg_step(OuterOpt *o, float *theta, const float *theta_avg, size_t n)
{
    const float lr = o->cfg.lr;
    // lr == 1 is plain federated averaging: copy θ̄ instead of θ − (θ − θ̄), which rounds.
    // This keeps "federated with one silo" bitwise equal to centralized training.
    if (lr == 1.0f) {
        memcpy(theta, theta_avg, n * sizeof(float));
        return;
    }
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) theta[i] -= lr * (theta[i] - theta_avg[i]);
}

static const char *const fedavg_state[] = {NULL};

const OuterOps outer_fedavg_ops = {.state = fedavg_state, .step = fedavg_step};
