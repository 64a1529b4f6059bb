/* test_tools_sampler.c: photon sample's sampler (sampler_pick) against its definition.
 *   - temperature 0 is argmax (lowest id on ties) and draws no random number;
 *   - top-k 1 is argmax at any temperature; top-k K never leaves the K largest logits;
 *   - frequencies over many draws match softmax(logits / T) (renormalised over the top K),
 *     within 5 standard deviations;
 *   - the same seed gives the same draws; huge logit gaps give no NaN. */
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>

#include "cmd_sample.h"

#include "test_check.h"

/* Frequencies of draws against the expected softmax over the top k (k = V: all). */
static void check_distribution(const float *l, int V, float temp, int k, long draws)
{
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 7);
    int *order = malloc((size_t)V * sizeof(int));
    long *count = calloc((size_t)V, sizeof(long));
    for (long d = 0; d < draws; d++) count[sampler_pick(l, V, temp, k, rng, order)]++;
    // the expected probabilities: rank the logits by hand (V is small)
    double *p = calloc((size_t)V, sizeof(double)), sum = 0;
    for (int i = 0; i < V; i++) {
        int rank = 0;
        for (int j = 0; j < V; j++) rank += l[j] > l[i] || (l[j] == l[i] && j < i);
        if (rank < (k <= 0 ? V : k)) sum += p[i] = exp(l[i] / temp);
    }
    for (int i = 0; i < V; i++) {
        p[i] /= sum;
        double f = (double)count[i] / draws, sd = sqrt(p[i] * (1 - p[i]) / draws);
        CHECK(fabs(f - p[i]) <= 5 * sd + 1e-12, "T=%g k=%d id %d: frequency %.5f, expected %.5f (sd %.5f)", temp,
               k, i, f, p[i], sd);
    }
    free(p);
    free(count);
    free(order);
    gsl_rng_free(rng);
}

int main(void)
{
    enum { V = 50 };
    float l[V];
    int order[V];
    gsl_rng *g = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(g, 1);
    for (int i = 0; i < V; i++) l[i] = (float)(4.0 * gsl_rng_uniform(g) - 2.0);
    l[17] = 3.0f;
    l[33] = 3.0f; // a tie for the maximum: argmax takes the lower id

    // greedy: argmax, and the rng untouched (the next draw equals a fresh stream's first)
    gsl_rng *a = gsl_rng_alloc(gsl_rng_mt19937), *b = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(a, 5);
    gsl_rng_set(b, 5);
    CHECK(sampler_pick(l, V, 0.0f, 0, a, order) == 17, "greedy should pick id 17 (first of the tied maxima)");
    CHECK(sampler_pick(l, V, 0.0f, 5, a, order) == 17, "greedy ignores top-k");
    CHECK(gsl_rng_get(a) == gsl_rng_get(b), "greedy must not draw random numbers");

    // top-k 1 = argmax at any temperature; top-k K stays in the K largest
    for (int d = 0; d < 200; d++) CHECK(sampler_pick(l, V, 5.0f, 1, a, order) == 17, "top-k 1 must be argmax");
    int top5[V] = {0};
    for (int i = 0; i < V; i++) {
        int rank = 0;
        for (int j = 0; j < V; j++) rank += l[j] > l[i] || (l[j] == l[i] && j < i);
        top5[i] = rank < 5;
    }
    for (int d = 0; d < 5000; d++) {
        int t = sampler_pick(l, V, 10.0f, 5, a, order);
        CHECK(top5[t], "top-k 5 picked id %d outside the top 5", t);
        if (!top5[t]) break;
    }

    // the distribution itself
    const float small[6] = {0.5f, -1.0f, 2.0f, 0.0f, 1.0f, 1.0f};
    check_distribution(small, 6, 1.0f, 6, 200000);
    check_distribution(small, 6, 0.7f, 0, 200000);
    check_distribution(small, 6, 2.0f, 3, 200000);

    // same seed, same draws
    gsl_rng_set(a, 99);
    gsl_rng_set(b, 99);
    int same = 1;
    for (int d = 0; d < 1000; d++) same &= sampler_pick(l, V, 1.0f, 0, a, order) == sampler_pick(l, V, 1.0f, 0, b, order);
    CHECK(same, "the same seed must give the same samples");

    // no overflow: a gap of 1e4 in logits at temperature 1e-3
    float huge[3] = {1e4f, 0.0f, -1e4f};
    for (int d = 0; d < 100; d++) CHECK(sampler_pick(huge, 3, 1e-3f, 0, a, order) == 0, "huge gap must pick id 0");

    gsl_rng_free(a);
    gsl_rng_free(b);
    gsl_rng_free(g);
    if (test_failures) {
        printf("FAIL: %d sampler checks failed\n", test_failures);
        return 1;
    }
    printf("PASS: sampler (greedy, top-k, softmax frequencies, determinism)\n");
    return 0;
}
