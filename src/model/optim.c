/* optim.c: see optim.h. */
#include "optim.h"

#include <math.h>
#include <stddef.h>

const char *const inner_optimizer_names[] = {"adamw", "sgd", NULL};

void adamw_update(float *p, const float *g, float *m, float *v, size_t n, float lr, float beta1,
                  float beta2, float eps, float weight_decay, long t)
{
    // bias corrections in double: beta2^t for t in the hundreds of thousands stays accurate
    const float bc1 = (float)(1.0 - pow(beta1, (double)t));
    const float bc2 = (float)(1.0 - pow(beta2, (double)t));
    const float decay = 1.0f - lr * weight_decay;
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) {
        float gi = g[i];
        float mi = beta1 * m[i] + (1.0f - beta1) * gi;
        float vi = beta2 * v[i] + (1.0f - beta2) * gi * gi;
        m[i] = mi;
        v[i] = vi;
        // decoupled weight decay first, then the Adam step (torch's order)
        p[i] = p[i] * decay - lr * (mi / bc1) / (sqrtf(vi / bc2) + eps);
    }
}

void sgd_update(float *p, const float *g, size_t n, float lr, float weight_decay)
{
#pragma omp parallel for simd schedule(static)
    for (size_t i = 0; i < n; i++) p[i] -= lr * (g[i] + weight_decay * p[i]);
}

/* The sum of squares is split into a fixed number of contiguous pieces, whatever the thread
 * count, and the pieces are added in order: the norm is bitwise the same on 1 or 64 threads. */
#define NORM_PIECES 256

double grad_norm(const float *g, size_t n)
{
    double piece[NORM_PIECES];
#pragma omp parallel for schedule(static)
    for (int k = 0; k < NORM_PIECES; k++) {
        size_t lo = n * k / NORM_PIECES, hi = n * (k + 1) / NORM_PIECES;
        double s = 0.0;
#pragma omp simd reduction(+ : s)
        for (size_t i = lo; i < hi; i++) s += (double)g[i] * g[i];
        piece[k] = s;
    }
    double total = 0.0;
    for (int k = 0; k < NORM_PIECES; k++) total += piece[k];
    return sqrt(total);
}

double clip_grad_norm(float *g, size_t n, double max_norm)
{
    double norm = grad_norm(g, n);
    if (max_norm > 0.0 && norm > max_norm) {
        const float scale = (float)(max_norm / norm);
#pragma omp parallel for simd schedule(static)
        for (size_t i = 0; i < n; i++) g[i] *= scale;
    }
    return norm;
}

double clip_threshold(const InnerOptConfig *opt, const float *v, size_t n, long t)
{
    if (opt->clip_factor <= 0.0 || t <= 0) return opt->grad_clip;
    /* Σ v_i in double, in a fixed order (the same bits for any thread count), bias-corrected. */
    double sum = 0.0;
    for (size_t i = 0; i < n; i++) sum += v[i];
    const double correction = 1.0 - pow((double)opt->beta2, (double)t);
    return opt->clip_factor * sqrt(sum / correction);
}

float lr_at(const LRSchedule *s, long step)
{
    if (step < s->warmup_steps) return s->lr * (float)(step + 1) / (float)s->warmup_steps;
    long decay_steps = s->total_steps - s->warmup_steps;
    if (step >= s->total_steps || decay_steps <= 0) return s->lr * s->final_fraction;
    double progress = (double)(step - s->warmup_steps) / (double)decay_steps; // [0, 1)
    double coeff = 0.5 * (1.0 + cos(M_PI * progress));                      // 1 -> 0
    return (float)(s->lr * (s->final_fraction + (1.0 - s->final_fraction) * coeff));
}
