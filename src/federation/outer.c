/* outer.c: the outer optimizers' registry and what they share: names, setting checks, the
 * declared state buffers' life cycle, the step counter (outer.h). */
#include "outer.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"

#define OUTER_DECLARE_(kind, name, ops) extern const OuterOps ops;
OUTER_REGISTRY(OUTER_DECLARE_)
#undef OUTER_DECLARE_

#define OUTER_NAME_(kind, name, ops) [kind] = name,
const char *const outer_names[] = {OUTER_REGISTRY(OUTER_NAME_) NULL};
#undef OUTER_NAME_

#define OUTER_TABLE_(kind, name, ops) [kind] = &ops,
static const OuterOps *const registry[] = {OUTER_REGISTRY(OUTER_TABLE_)};
#undef OUTER_TABLE_

const OuterOps *outer_ops(OuterKind k)
{
    return ((int)k >= 0 && k < OUTER_NUM_KINDS) ? registry[k] : NULL;
}

int outer_kind_parse(const char *s, OuterKind *k)
{
    for (int i = 0; outer_names[i]; i++)
        if (strcmp(s, outer_names[i]) == 0) {
            *k = (OuterKind)i;
            return 0;
        }
    return -1;
}

const char *outer_kind_name(OuterKind k) { return outer_ops(k) ? outer_names[k] : "?"; }

int outer_config_check(const OuterConfig *c, char *err, size_t errlen)
{
    const OuterOps *ops = outer_ops(c->kind);
    if (!ops) {
        snprintf(err, errlen, "unknown outer optimizer %d", (int)c->kind);
        return -1;
    }
    if (!(c->lr >= 0.0f) || !isfinite(c->lr)) {
        snprintf(err, errlen, "outer learning rate must be a number >= 0, got %g", c->lr);
        return -1;
    }
    return ops->check ? ops->check(c, err, errlen) : 0;
}

int outer_check_momentum(const OuterConfig *c, char *err, size_t errlen)
{
    if (!(c->momentum >= 0.0f && c->momentum < 1.0f)) {
        snprintf(err, errlen, "outer momentum must be in [0, 1) for %s, got %g",
                 outer_kind_name(c->kind), c->momentum);
        return -1;
    }
    return 0;
}

void outer_init(OuterOpt *o, const OuterConfig *cfg, size_t n)
{
    memset(o, 0, sizeof *o);
    o->ops = outer_ops(cfg->kind);
    if (!o->ops) PHOTON_FATAL("unknown outer optimizer %d", (int)cfg->kind);
    o->cfg = *cfg;
    o->n = n;
    for (int i = 0; o->ops->state[i]; i++) {
        if (i >= OUTER_STATE_MAX) PHOTON_FATAL("outer optimizer %s declares more than %d state buffers",
                                               outer_kind_name(cfg->kind), OUTER_STATE_MAX);
        o->state[i] = callocCheck(n, sizeof(float));
    }
    if (o->ops->init) o->ops->init(o);
}

void outer_step(OuterOpt *o, float *theta, const float *theta_avg, size_t n)
{
    if (n != o->n) PHOTON_FATAL("outer_step on %zu parameters, optimizer made for %zu", n, o->n);
    o->ops->step(o, theta, theta_avg, n);
    o->t++;
}

void outer_free(OuterOpt *o)
{
    if (!o->ops) return;
    if (o->ops->free) o->ops->free(o);
    for (int i = 0; i < OUTER_STATE_MAX; i++) {
        free(o->state[i]);
        o->state[i] = NULL;
    }
}

float *outer_state(const OuterOpt *o, const char *name)
{
    for (int i = 0; o->ops && o->ops->state[i]; i++)
        if (strcmp(o->ops->state[i], name) == 0) return o->state[i];
    return NULL;
}
