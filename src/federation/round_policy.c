/* round_policy.c: client sampling, fault injection and the drop decisions of round_policy.h. */
#include "round_policy.h"

#include <math.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "check.h"

// Random-stream domains: client sampling and fault injection never share a stream.
enum { STREAM_SAMPLE = 1, STREAM_FAULT = 2 };

// splitmix64's finalizer: (seed, round, stream) -> a well-mixed 64-bit seed. GSL's mt19937 keeps
// only the low 32 bits of its seed, so they must depend on every input bit.
static unsigned long seed_mix(unsigned long seed, long round, int stream)
{
    uint64_t z = (uint64_t)seed + 0x9E3779B97F4A7C15ull * ((uint64_t)round + 1) +
                 0xD1B54A32D192ED03ull * (uint64_t)stream;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    return (unsigned long)(z ^ (z >> 31));
}

static gsl_rng *rng_for(unsigned long seed, long round, int stream)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) PHOTON_FATAL("gsl_rng_alloc failed");
    gsl_rng_set(r, seed_mix(seed, round, stream));
    return r;
}

void fed_sample_clients(unsigned long seed, long round, int S, int k, int *participating)
{
    if (k <= 0 || k >= S) {
        for (int i = 0; i < S; i++) participating[i] = 1;
        return;
    }
    gsl_rng *r = rng_for(seed, round, STREAM_SAMPLE);
    int *all = mallocCheck((size_t)S * sizeof(int));
    int *chosen = mallocCheck((size_t)k * sizeof(int));
    for (int i = 0; i < S; i++) all[i] = i;
    gsl_ran_choose(r, chosen, (size_t)k, all, (size_t)S, sizeof(int));
    for (int i = 0; i < S; i++) participating[i] = 0;
    for (int i = 0; i < k; i++) participating[chosen[i]] = 1;
    free(chosen);
    free(all);
    gsl_rng_free(r);
}

int fault_fires(const FaultConfig *fc, int silo, long round)
{
    if (!fc || fc->silo < 0 || silo != fc->silo) return 0;
    for (int i = 0; i < fc->num_rounds; i++)
        if (fc->rounds[i] == round) return 1;
    if (fc->prob <= 0.0) return 0;
    gsl_rng *r = rng_for(fc->seed, round, STREAM_FAULT);
    int fires = gsl_rng_uniform(r) < fc->prob;
    gsl_rng_free(r);
    return fires;
}

// ‖θ − x‖² in double, summed in fixed blocks so the result does not depend on the thread count.
static double delta_norm2(const float *theta, const float *x, size_t n)
{
    enum { BLOCK = 1 << 16 };
    size_t nb = (n + BLOCK - 1) / BLOCK;
    double *part = mallocCheck((nb ? nb : 1) * sizeof(double));
#pragma omp parallel for schedule(static)
    for (size_t b = 0; b < nb; b++) {
        size_t hi = (b + 1) * BLOCK < n ? (b + 1) * BLOCK : n;
        double s = 0.0;
        for (size_t i = b * BLOCK; i < hi; i++) {
            double d = (double)theta[i] - (double)x[i];
            s += d * d;
        }
        part[b] = s;
    }
    double sum = 0.0;
    for (size_t b = 0; b < nb; b++) sum += part[b];
    free(part);
    return sum;
}

void policy_make_record(int part, double weight, const float *theta, const float *x, size_t n,
                        double rec[REC_LEN])
{
    rec[REC_PART] = part;
    rec[REC_WEIGHT] = 0.0;
    rec[REC_FINITE] = 1.0;
    rec[REC_NORM] = 0.0;
    if (!part) return;
    double norm2 = delta_norm2(theta, x, n);
    rec[REC_WEIGHT] = weight;
    rec[REC_FINITE] = isfinite(norm2) ? 1.0 : 0.0;
    rec[REC_NORM] = sqrt(norm2);
}

double policy_median_norm(int S, const double *rec, int stride, int *count)
{
    double *sorted = mallocCheck((size_t)(S > 0 ? S : 1) * sizeof(double));
    int m = 0;
    for (int k = 0; k < S; k++) {
        const double *r = rec + (size_t)k * stride;
        if (r[REC_PART] != 0.0 && r[REC_FINITE] != 0.0) sorted[m++] = r[REC_NORM];
    }
    if (count) *count = m;
    double median = 0.0;
    if (m > 0) {
        gsl_sort(sorted, 1, (size_t)m);
        median = gsl_stats_median_from_sorted_data(sorted, 1, (size_t)m);
    }
    free(sorted);
    return median;
}

void policy_decide(const DropPolicy *dp, int S, const double *rec, int stride, int *verdict)
{
    for (int k = 0; k < S; k++) {
        const double *r = rec + (size_t)k * stride;
        verdict[k] = r[REC_PART] == 0.0     ? VERDICT_ABSENT
                     : r[REC_FINITE] == 0.0 ? VERDICT_NONFINITE
                                            : VERDICT_KEPT;
    }
    int nfinite;
    double median = policy_median_norm(S, rec, stride, &nfinite);
    if (dp->outlier_factor > 0.0 && nfinite >= 3 && median > 0.0) {
        double limit = dp->outlier_factor * median;
        for (int k = 0; k < S; k++)
            if (verdict[k] == VERDICT_KEPT && rec[(size_t)k * stride + REC_NORM] > limit)
                verdict[k] = VERDICT_OUTLIER;
    }
}

static void reason_append(char *reason, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void reason_append(char *reason, const char *fmt, ...)
{
    size_t len = strlen(reason);
    if (len + 1 >= FED_REASON_MAX) return;
    if (len > 0) {
        snprintf(reason + len, FED_REASON_MAX - len, "; ");
        len = strlen(reason);
    }
    va_list ap;
    va_start(ap, fmt);
    vsnprintf(reason + len, FED_REASON_MAX - len, fmt, ap);
    va_end(ap);
}

void policy_outcome(const DropPolicy *dp, int S, const double *rec, int stride, const int *verdict,
                    RoundOutcome *o)
{
    const int min_clients = dp->min_clients < 1 ? 1 : dp->min_clients;
    o->median_norm = policy_median_norm(S, rec, stride, NULL);
    o->participants = o->survivors = 0;
    o->reason[0] = 0;
    double wsum = 0.0;
    for (int k = 0; k < S; k++) {
        const double *r = rec + (size_t)k * stride;
        o->participated[k] = verdict[k] != VERDICT_ABSENT;
        o->dropped[k] = verdict[k] == VERDICT_ABSENT ? DROP_NONE : verdict[k];
        o->weight[k] = r[REC_WEIGHT];
        o->delta_norm[k] = r[REC_NORM];
        o->participants += o->participated[k];
        if (verdict[k] == VERDICT_NONFINITE)
            reason_append(o->reason, "silo %d dropped: non-finite pseudo-gradient", k);
        if (verdict[k] == VERDICT_OUTLIER)
            reason_append(o->reason, "silo %d dropped: outlier, |delta| %.4g > %g x median %.4g",
                          k, r[REC_NORM], dp->outlier_factor, o->median_norm);
        if (verdict[k] == VERDICT_KEPT) {
            o->surv[o->survivors++] = k;
            wsum += r[REC_WEIGHT]; // ascending silo order: the canonical order
        }
    }
    o->skipped = o->survivors < min_clients;
    if (o->skipped)
        reason_append(o->reason, "round skipped: %d of %d participants survived, min_clients = %d",
                      o->survivors, o->participants, min_clients);
    for (int j = 0; j < o->survivors; j++)
        o->p[j] = (float)(rec[(size_t)o->surv[j] * stride + REC_WEIGHT] / wsum);
}
