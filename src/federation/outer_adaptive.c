/* outer_adaptive.c: the adaptive outer optimizers of Reddi et al. 2021, fedadam and fedyogi
 * (outer.h). They differ only in the second-moment update, so they share everything else: the
 * state {m, v} with v starting at τ², the settings check, and the step's other lines. */
#include "outer.h"

#include <math.h>
#include <stdio.h>

static int adaptive_check(const OuterConfig *c, char *err, size_t errlen)
{
    if (!(c->beta1 >= 0.0f && c->beta1 < 1.0f) || !(c->beta2 >= 0.0f && c->beta2 < 1.0f)) {
        snprintf(err, errlen, "outer beta1 and beta2 must be in [0, 1) for %s, got %g and %g",
                 outer_kind_name(c->kind), c->beta1, c->beta2);
        return -1;
    }
    if (!(c->tau > 0.0f) || !isfinite(c->tau)) {
        snprintf(err, errlen, "outer tau must be a positive number for %s, got %g",
                 outer_kind_name(c->kind), c->tau);
        return -1;
    }
    return 0;
}

static void adaptive_init(OuterOpt *o)
{
    float *v = o->state[1], tau2 = o->cfg.tau * o->cfg.tau;
    for (size_t i = 0; i < o->n; i++) v[i] = tau2;
}

// yogi: v ← v − (1−β2)·Δ²·sign(v − Δ²) instead of Adam's v ← β2·v + (1−β2)·Δ².
static inline void adaptive_step(OuterOpt *o, float *theta, const float *theta_avg, size_t n, int yogi)
{
    const float lr = o->cfg.lr, b1 = o->cfg.beta1, b2 = o->cfg.beta2, tau = o->cfg.tau;
    float *m = o->state[0], *v = o->state[1];
#pragma omp parallel for schedule(static)
    for (size_t i = 0; i < n; i++) {
        float d = theta[i] - theta_avg[i];
        m[i] = b1 * m[i] + (1.0f - b1) * d;
        if (yogi) {
            float d2 = d * d;
            float diff = v[i] - d2;
            float sign = (diff > 0.0f) - (diff < 0.0f);
            v[i] = v[i] - (1.0f - b2) * d2 * sign;
        } else {
            v[i] = b2 * v[i] + (1.0f - b2) * d * d;
        }
        theta[i] -= lr * m[i] / (sqrtf(v[i]) + tau);
    }
}

static void fedadam_step(OuterOpt *o, float *theta, const float *avg, size_t n) { adaptive_step(o, theta, avg, n, 0); }
static void fedyogi_step(OuterOpt *o, float *theta, const float *avg, size_t n) { adaptive_step(o, theta, avg, n, 1); }

static const char *const adaptive_state[] = {"m", "v", NULL};

const OuterOps outer_fedadam_ops = {.state = adaptive_state, .check = adaptive_check,
                                    .init = adaptive_init, .step = fedadam_step};
const OuterOps outer_fedyogi_ops = {.state = adaptive_state, .check = adaptive_check,
                                    .init = adaptive_init, .step = fedyogi_step};
