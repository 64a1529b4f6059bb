/* outer_fedmom.c: heavy-ball momentum, m ← μ·m + Δ; θ ← θ − lr·m (outer.h). */
#include "outer.h"

static void fedmom_step(OuterOpt *o, float *theta, const float *theta_avg, size_t n)
{
    const float lr = o->cfg.lr, mu = o->cfg.momentum;
    float *m = o->state[0];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float d = theta[i] - theta_avg[i];
        m[i] = mu * m[i] + d;
        theta[i] -= lr * m[i];
    }
}

static const char *const fedmom_state[] = {"m", NULL};

const OuterOps outer_fedmom_ops = {.state = fedmom_state, .check = outer_check_momentum, .step = fedmom_step};
