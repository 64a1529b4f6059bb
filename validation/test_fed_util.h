/* test_fed_util.h: what the federation tests share besides CHECK (test_check.h): deterministic synthetic "silo models", and the canonical-order weighted mean written out
 * independently of src/federation/fedavg.c as the reference. */
#ifndef PHOTON_TEST_FED_UTIL_H
#define PHOTON_TEST_FED_UTIL_H

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "test_check.h"
#include "topology.h"

/* Gaussian vector (n), std `scale`, from its own mt19937 stream. */
static inline void synth_gaussian(float *x, size_t n, unsigned long seed, double scale)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, seed);
    for (size_t i = 0; i < n; i++) x[i] = (float)gsl_ran_gaussian(r, scale);
    gsl_rng_free(r);
}

/* What silo `silo` "trained" to in `round`, starting from theta: theta + noise, the noise's size
 * growing with the silo index (so the weighted mean is not symmetric) times `boost`. */
static inline void synth_local(float *x, const float *theta, size_t n, int silo, long round,
                               double boost)
{
    synth_gaussian(x, n, 1000003ul * (unsigned long)(silo + 1) + (unsigned long)round, 1.0);
    double scale = 0.01 * (silo + 1) * boost;
    for (size_t i = 0; i < n; i++) x[i] = theta[i] + (float)(scale * x[i]);
}

/* Tokens silo `silo` processed in `round`: unequal, so the weights matter, and odd numbers above
 * 2^24, which float cannot hold exactly, so that p_k computed any other way than the documented
 * one (in double) shows. */
static inline double synth_weight(int silo, long round) { return 30000001.0 + 12346.0 * silo + 778.0 * round; }

/* The documented aggregation rule, written out again: p_k = (float)(w_k / Σw) with Σw in double
 * over the kept silos in ascending order; out = p_first·x_first, then += p_k·x_k ascending.
 * xs: S vectors of n; keep: S flags. */
static inline void reference_mean(float *out, float *const *xs, const double *w, const int *keep,
                                  int S, size_t n)
{
    double wsum = 0.0;
    for (int k = 0; k < S; k++)
        if (keep[k]) wsum += w[k];
    int first = 1;
    for (int k = 0; k < S; k++) {
        if (!keep[k]) continue;
        float p = (float)(w[k] / wsum);
        for (size_t i = 0; i < n; i++) {
            if (first) out[i] = p * xs[k][i];
            else out[i] += p * xs[k][i];
        }
        first = 0;
    }
}

/* The same mean in double, for a tolerance check that does not share the float rule. */
static inline double reference_mean_maxerr(const float *got, float *const *xs, const double *w,
                                           const int *keep, int S, size_t n)
{
    double wsum = 0.0, maxerr = 0.0;
    for (int k = 0; k < S; k++)
        if (keep[k]) wsum += w[k];
    for (size_t i = 0; i < n; i++) {
        double m = 0.0;
        for (int k = 0; k < S; k++)
            if (keep[k]) m += w[k] / wsum * (double)xs[k][i];
        double e = fabs(m - (double)got[i]);
        if (e > maxerr) maxerr = e;
    }
    return maxerr;
}

/* The start of an MPI federation test program: MPI_Init; argv must hold `nargs` arguments, the
 * first the silo count S in [smin, smax] and the second SERVER (0/1), else the usage line (after
 * the program's name) and exit 2; then the silos, or topology_create's message and exit 2. */
static inline void fed_test_start(int *argc, char ***argv, int nargs, int smin, int smax, const char *usage,
                                  Topology *topo, int *S, int *server)
{
    MPI_Init(argc, argv);
    char **av = *argv;
    if (*argc != nargs + 1 || atoi(av[1]) < smin || atoi(av[1]) > smax) {
        fprintf(stderr, "usage: %s %s\n", av[0], usage);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    *S = atoi(av[1]);
    *server = atoi(av[2]);
    char err[512];
    if (topology_create(topo, MPI_COMM_WORLD, *S, *server, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
}
/* The end of a multi-rank federation test: frees the topology, sums the ranks' failures, prints
 * "NAME S=… TOPOLOGY: PASS|FAIL" on world rank 0, finalizes MPI; main returns the result. */
static inline int fed_test_finish(Topology *t, const char *name, int S, int server)
{
    const int rank = t->world_rank;
    topology_free(t);
    int failures = 0;
    MPI_Allreduce(&test_failures, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (rank == 0) printf("%s S=%d %s: %s\n", name, S, server ? "server" : "allreduce", failures ? "FAIL" : "PASS");
    MPI_Finalize();
    return failures ? 1 : 0;
}

#endif
