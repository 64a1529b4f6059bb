/* outer_nesterov.c: Nesterov momentum as in DiLoCo and torch.optim.SGD(nesterov=True),
 * m ← μ·m + Δ; θ ← θ − lr·(Δ + μ·m) (outer.h). */
#include "outer.h"

static void nesterov_step(OuterOpt *o, float *theta, const float *theta_avg, size_t n)
{
    const float lr = o->cfg.lr, mu = o->cfg.momentum;
    float *m = o->state[0];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float d = theta[i] - theta_avg[i];
        m[i] = mu * m[i] + d;
        theta[i] -= lr * (d + mu * m[i]);
    }
}

static const char *const nesterov_state[] = {"m", NULL};

const OuterOps outer_nesterov_ops = {.state = nesterov_state, .check = outer_check_momentum,
                                     .step = nesterov_step};
