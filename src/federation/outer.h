/* outer.h: the server-side ("outer") optimizers of federated training, on flat float vectors.
 *
 * A round ends with θ̄, the weighted mean of the silos' models. The outer optimizer treats the
 * pseudo-gradient Δ = θ − θ̄ as a gradient and updates the global model θ. Everything is an
 * elementwise loop over the n parameters, so the same state (m, v, t) replicated on every leader
 * gives bitwise the same θ everywhere, and saving m, v and t is all a checkpoint needs.
 *
 *   fedavg    θ ← θ − lr·Δ                       (lr == 1 exactly: θ ← θ̄, a copy, bitwise)
 *   fedmom    m ← μ·m + Δ;  θ ← θ − lr·m           (heavy ball)
 *   nesterov  m ← μ·m + Δ;  θ ← θ − lr·(Δ + μ·m)   (DiLoCo; torch.optim.SGD nesterov=True)
 *   fedadam   m ← β1·m + (1−β1)·Δ;  v ← β2·v + (1−β2)·Δ²;  θ ← θ − lr·m/(√v + τ)
 *   fedyogi   as fedadam but v ← v − (1−β2)·Δ²·sign(v − Δ²)
 * fedadam/fedyogi follow Reddi et al. 2021 ("Adaptive Federated Optimization"): v starts at τ²
 * (their v_{-1} ≥ τ²) and there is no bias correction. */
#ifndef PHOTON_OUTER_H
#define PHOTON_OUTER_H

#include <stddef.h>

typedef enum { OUTER_FEDAVG, OUTER_FEDMOM, OUTER_NESTEROV, OUTER_FEDADAM, OUTER_FEDYOGI } OuterKind;

typedef struct {
    OuterKind kind;
    float lr;        // all
    float momentum;  // μ: fedmom, nesterov
    float beta1, beta2, tau; // fedadam, fedyogi
} OuterConfig;

typedef struct {
    OuterConfig cfg;
    size_t n;
    float *m;   // (n) first moment / momentum buffer; NULL for fedavg
    float *v;   // (n) second moment; NULL unless fedadam/fedyogi
    long t;     // steps taken
} OuterOpt;

/* "fedavg", "fedmom", "nesterov", "fedadam", "fedyogi": 0, or -1 for another name. */
int outer_kind_parse(const char *s, OuterKind *k);
const char *outer_kind_name(OuterKind k);
/* 0, or -1 with a message naming the bad setting (lr >= 0; μ, β1, β2 in [0,1); τ > 0). */
int outer_config_check(const OuterConfig *cfg, char *err, size_t errlen);

void outer_init(OuterOpt *o, const OuterConfig *cfg, size_t n);
/* theta (n) in/out: the global model; theta_avg (n): the round's weighted mean θ̄. */
void outer_step(OuterOpt *o, float *theta, const float *theta_avg, size_t n);
void outer_free(OuterOpt *o);

#endif
