/* outer_momentum.c: the momentum outer optimizers (outer.h), which differ only in the step they
 * take from the same buffer m:
 *   fedmom    m ← μ·m + Δ;  θ ← θ − lr·m           (heavy ball)
 *   nesterov  m ← μ·m + Δ;  θ ← θ − lr·(Δ + μ·m)   (DiLoCo; torch.optim.SGD nesterov=True) */
#include "outer.h"

static inline void momentum_step(OuterOpt *o, float *theta, const float *theta_avg, size_t n, int nesterov)
{
    const float lr = o->cfg.lr, mu = o->cfg.momentum;
    float *m = o->state[0];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float d = theta[i] - theta_avg[i];
        m[i] = mu * m[i] + d;
        if (nesterov)
            theta[i] -= lr * (d + mu * m[i]);
        else
            theta[i] -= lr * m[i];
    }
}

static void fedmom_step(OuterOpt *o, float *theta, const float *avg, size_t n) { momentum_step(o, theta, avg, n, 0); }
static void nesterov_step(OuterOpt *o, float *theta, const float *avg, size_t n) { momentum_step(o, theta, avg, n, 1); }

static const char *const momentum_state[] = {"m", NULL};

const OuterOps outer_fedmom_ops = {.state = momentum_state, .check = outer_check_momentum, .step = fedmom_step};
const OuterOps outer_nesterov_ops = {.state = momentum_state, .check = outer_check_momentum, .step = nesterov_step};
