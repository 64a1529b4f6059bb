/* outer.c: the outer optimizers of outer.h, one elementwise loop each. The loops are OpenMP
 * parallel: every element's arithmetic is independent of the others and of the thread count, so
 * results stay bitwise reproducible. */
#include "outer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

static const char *const outer_names[] = {"fedavg", "fedmom", "nesterov", "fedadam", "fedyogi"};

int outer_kind_parse(const char *s, OuterKind *k)
{
    for (int i = 0; i < (int)(sizeof outer_names / sizeof *outer_names); i++)
        if (strcmp(s, outer_names[i]) == 0) {
            *k = (OuterKind)i;
            return 0;
        }
    return -1;
}

const char *outer_kind_name(OuterKind k)
{
    if ((int)k < 0 || (int)k >= (int)(sizeof outer_names / sizeof *outer_names)) return "?";
    return outer_names[k];
}

int outer_config_check(const OuterConfig *c, char *err, size_t errlen)
{
    if ((int)c->kind < OUTER_FEDAVG || c->kind > OUTER_FEDYOGI) {
        snprintf(err, errlen, "unknown outer optimizer %d", (int)c->kind);
        return -1;
    }
    if (!(c->lr >= 0.0f) || !isfinite(c->lr)) {
        snprintf(err, errlen, "outer learning rate must be a number >= 0, got %g", c->lr);
        return -1;
    }
    if ((c->kind == OUTER_FEDMOM || c->kind == OUTER_NESTEROV) &&
        !(c->momentum >= 0.0f && c->momentum < 1.0f)) {
        snprintf(err, errlen, "outer momentum must be in [0, 1) for %s, got %g",
                 outer_kind_name(c->kind), c->momentum);
        return -1;
    }
    if (c->kind == OUTER_FEDADAM || c->kind == OUTER_FEDYOGI) {
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
    }
    return 0;
}

void outer_init(OuterOpt *o, const OuterConfig *cfg, size_t n)
{
    memset(o, 0, sizeof *o);
    o->cfg = *cfg;
    o->n = n;
    if (cfg->kind != OUTER_FEDAVG) o->m = callocCheck(n, sizeof(float));
    if (cfg->kind == OUTER_FEDADAM || cfg->kind == OUTER_FEDYOGI) {
        o->v = mallocCheck(n * sizeof(float));
        float tau2 = cfg->tau * cfg->tau;
        for (size_t i = 0; i < n; i++) o->v[i] = tau2;
    }
}

void outer_step(OuterOpt *o, float *theta, const float *theta_avg, size_t n)
{
    if (n != o->n) PHOTON_FATAL("outer_step on %zu parameters, optimizer made for %zu", n, o->n);
    const float lr = o->cfg.lr, mu = o->cfg.momentum;
    const float b1 = o->cfg.beta1, b2 = o->cfg.beta2, tau = o->cfg.tau;
    float *m = o->m, *v = o->v;
    switch (o->cfg.kind) {
    case OUTER_FEDAVG:
        // lr == 1 is plain federated averaging: copy θ̄ instead of θ − (θ − θ̄), which rounds.
        // This keeps "federated with one silo" bitwise equal to centralized training.
        if (lr == 1.0f) {
            memcpy(theta, theta_avg, n * sizeof(float));
        } else {
#pragma omp parallel for schedule(static)
            for (size_t i = 0; i < n; i++) theta[i] -= lr * (theta[i] - theta_avg[i]);
        }
        break;
    case OUTER_FEDMOM:
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            float d = theta[i] - theta_avg[i];
            m[i] = mu * m[i] + d;
            theta[i] -= lr * m[i];
        }
        break;
    case OUTER_NESTEROV:
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            float d = theta[i] - theta_avg[i];
            m[i] = mu * m[i] + d;
            theta[i] -= lr * (d + mu * m[i]);
        }
        break;
    case OUTER_FEDADAM:
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            float d = theta[i] - theta_avg[i];
            m[i] = b1 * m[i] + (1.0f - b1) * d;
            v[i] = b2 * v[i] + (1.0f - b2) * d * d;
            theta[i] -= lr * m[i] / (sqrtf(v[i]) + tau);
        }
        break;
    case OUTER_FEDYOGI:
#pragma omp parallel for schedule(static)
        for (size_t i = 0; i < n; i++) {
            float d = theta[i] - theta_avg[i];
            float d2 = d * d;
            float diff = v[i] - d2;
            float sign = (diff > 0.0f) - (diff < 0.0f);
            m[i] = b1 * m[i] + (1.0f - b1) * d;
            v[i] = v[i] - (1.0f - b2) * d2 * sign;
            theta[i] -= lr * m[i] / (sqrtf(v[i]) + tau);
        }
        break;
    default:
        PHOTON_FATAL("unknown outer optimizer %d", (int)o->cfg.kind);
    }
    o->t++;
}

void outer_free(OuterOpt *o)
{
    free(o->m);
    free(o->v);
    o->m = o->v = NULL;
}
