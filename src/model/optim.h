/* optim.h: the inner (per-silo) optimizers as plain loops over flat float vectors, the gradient
 * norm and its clipping, and the learning-rate schedule. The federation's outer optimizers live
 * elsewhere; these know nothing about the model (gpt.h has the per-tensor weight-decay wrappers).
 *
 * All loops are element-wise or reduce in a fixed order, so results do not depend on the number
 * of OpenMP threads. */
#ifndef PHOTON_OPTIM_H
#define PHOTON_OPTIM_H

#include <stddef.h>

/* The inner optimizer of every silo (optim.optimizer); names: inner_optimizer_names[]
 * (NULL-terminated, index = value), read by the deck parser, --help and checkpoints. */
typedef enum { OPTIM_ADAMW, OPTIM_SGD } InnerOptimizer;
extern const char *const inner_optimizer_names[];

/* Its hyperparameters as the steps use them (deck [optim]; the schedule gives the lr). */
typedef struct {
    InnerOptimizer kind;
    float beta1, beta2, eps, weight_decay; // AdamW; weight_decay also for SGD
    double grad_clip;                      // global norm; 0 = no clipping
    /* > 0: adaptive clipping (AdamW only). The threshold is clip_factor x the running RMS of the
     * gradient norm, sqrt(sum_i v_i / (1 - beta2^t)), which AdamW's second moment already holds
     * (so it needs no state of its own, and resumes, resets and averages with v); on the first
     * step (t = 0) it is grad_clip. A spike beyond clip_factor x the recent norms is clipped; a
     * steady noisy gradient never is. */
    double clip_factor;
} InnerOptConfig;

/* The clipping threshold of the next step: grad_clip, or the adaptive one (above) from AdamW's
 * v (n) after t steps. 0 = no clipping. */
double clip_threshold(const InnerOptConfig *opt, const float *v, size_t n, long t);

/* AdamW exactly as torch.optim.AdamW: p -= lr*wd*p; m = b1*m+(1-b1)g; v = b2*v+(1-b2)g^2;
 * p -= lr * (m/(1-b1^t)) / (sqrt(v/(1-b2^t)) + eps).  t is the 1-based count of steps taken. */
void adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, long t);

/* p -= lr * (g + wd*p) */
void sgd_update(float *p, const float *g, size_t n, float lr, float weight_decay);

/* L2 norm of g, accumulated in double in a fixed order. */
double grad_norm(const float *g, size_t n);

/* Scale g by max_norm/norm if norm > max_norm (max_norm <= 0: no clipping). Returns the norm
 * before clipping. */
double clip_grad_norm(float *g, size_t n, double max_norm);

typedef struct {
    float lr;             // peak learning rate
    long warmup_steps;    // linear warm-up over steps 0 .. warmup_steps-1
    long total_steps;     // where the cosine reaches lr * final_fraction
    float final_fraction; // 1: constant after warm-up
} LRSchedule;

/* step is the 0-based GLOBAL step: step < warmup: lr*(step+1)/warmup; then cosine from lr down
 * to lr*final_fraction at total_steps (clamped after). */
float lr_at(const LRSchedule *s, long step);

#endif
