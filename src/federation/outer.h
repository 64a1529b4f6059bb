/* outer.h: the server-side ("outer") optimizers of federated training, on flat float vectors.
 *
 * A round ends with θ̄, the weighted mean of the silos' models. The outer optimizer treats the
 * pseudo-gradient Δ = θ − θ̄ as a gradient and updates the global model θ. Everything is an
 * elementwise loop over the n parameters, so the same state replicated on every leader gives
 * bitwise the same θ everywhere, and saving the declared state buffers and t is all a checkpoint
 * needs.
 *
 *   fedavg    θ ← θ − lr·Δ                       (lr == 1 exactly: θ ← θ̄, a copy, bitwise)
 *   fedmom    m ← μ·m + Δ;  θ ← θ − lr·m           (heavy ball)
 *   nesterov  m ← μ·m + Δ;  θ ← θ − lr·(Δ + μ·m)   (DiLoCo; torch.optim.SGD nesterov=True)
 *   fedadam   m ← β1·m + (1−β1)·Δ;  v ← β2·v + (1−β2)·Δ²;  θ ← θ − lr·m/(√v + τ)
 *   fedyogi   as fedadam but v ← v − (1−β2)·Δ²·sign(v − Δ²)
 * fedadam/fedyogi follow Reddi et al. 2021 ("Adaptive Federated Optimization"): v starts at τ²
 * (their v_{-1} ≥ τ²) and there is no bias correction.
 *
 * Each optimizer fills an OuterOps table in its file (outer_fedavg.c; outer_momentum.c: fedmom and
 * nesterov; outer_adaptive.c: fedadam and fedyogi); the registry below names them. Adding an
 * optimizer: one file defining `const OuterOps outer_<name>_ops`, one
 * line in OUTER_REGISTRY (which gives it its OuterKind, its name for the deck, --help, metrics and
 * checkpoints, and its table). The checkpoint saves whatever state buffers the table declares. */
#ifndef PHOTON_OUTER_H
#define PHOTON_OUTER_H

#include <stddef.h>

/* The registry, in OuterKind order (the deck and checkpoints store the name, never the number;
 * append anyway): X(kind, name, table). */
#define OUTER_REGISTRY(X)                               \
    X(OUTER_FEDAVG, "fedavg", outer_fedavg_ops)         \
    X(OUTER_FEDMOM, "fedmom", outer_fedmom_ops)         \
    X(OUTER_NESTEROV, "nesterov", outer_nesterov_ops)   \
    X(OUTER_FEDADAM, "fedadam", outer_fedadam_ops)      \
    X(OUTER_FEDYOGI, "fedyogi", outer_fedyogi_ops)

#define OUTER_KIND_(kind, name, ops) kind,
typedef enum { OUTER_REGISTRY(OUTER_KIND_) OUTER_NUM_KINDS } OuterKind;
#undef OUTER_KIND_

/* The names, NULL-terminated, in OuterKind order: the one table (the deck's key reads it). */
extern const char *const outer_names[];

typedef struct {
    OuterKind kind;
    float lr;        // all
    float momentum;  // μ: fedmom, nesterov
    float beta1, beta2, tau; // fedadam, fedyogi
} OuterConfig;

#define OUTER_STATE_MAX 4

typedef struct OuterOpt OuterOpt;

/* One optimizer. outer_init allocates the declared state buffers (n floats each, zeroed) before
 * calling init; outer_free frees them after calling free. */
typedef struct {
    const char *const *state; // NULL-terminated names of its state buffers ({"m", "v", NULL});
                              // checkpoints hold them as /outer/<name>
    /* 0, or -1 with a message naming the bad setting of this optimizer (lr is checked before). NULL: none. */
    int (*check)(const OuterConfig *c, char *err, size_t errlen);
    void (*init)(OuterOpt *o); // the state's initial values beyond 0; NULL: none
    /* theta (n) in/out; theta_avg (n): θ̄. Elementwise, so bitwise the same for any thread count. */
    void (*step)(OuterOpt *o, float *theta, const float *theta_avg, size_t n);
    void (*free)(OuterOpt *o); // anything init acquired beyond the state; NULL: nothing
} OuterOps;

struct OuterOpt {
    OuterConfig cfg;
    const OuterOps *ops;
    size_t n;
    float *state[OUTER_STATE_MAX]; // (n) each, in ops->state order; NULL past the declared ones
    long t;                        // steps taken
};

/* The table of kind k, or NULL for a value outside the enum. */
const OuterOps *outer_ops(OuterKind k);
/* "fedavg", "fedmom", "nesterov", "fedadam", "fedyogi": 0, or -1 for another name. */
int outer_kind_parse(const char *s, OuterKind *k);
const char *outer_kind_name(OuterKind k);
/* 0, or -1 with a message naming the bad setting (lr >= 0; μ, β1, β2 in [0,1); τ > 0). */
int outer_config_check(const OuterConfig *cfg, char *err, size_t errlen);

void outer_init(OuterOpt *o, const OuterConfig *cfg, size_t n);
/* theta (n) in/out: the global model; theta_avg (n): the round's weighted mean θ̄. t += 1. */
void outer_step(OuterOpt *o, float *theta, const float *theta_avg, size_t n);
void outer_free(OuterOpt *o);
/* For the optimizer files: the momentum check fedmom and nesterov share (μ in [0, 1)). */
int outer_check_momentum(const OuterConfig *c, char *err, size_t errlen);

/* The state buffer called `name` (n floats), or NULL if this optimizer declares none by that name. */
float *outer_state(const OuterOpt *o, const char *name);

#endif
