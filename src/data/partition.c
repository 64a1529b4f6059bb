/* partition.c: validation hold-out and the ways of dealing documents to silos (a table of
 * deal functions, `partitions` below). */
#include "partition.h"

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

// Validation and assignment draw from different streams of the same seed, so changing the
// partition leaves the validation set as it was.
static gsl_rng *rng_new(unsigned long seed, unsigned long stream)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) PHOTON_FATAL("gsl_rng_alloc failed");
    gsl_rng_set(r, seed * 2654435761ul + stream);
    return r;
}

int partition_validation(const int *doc_source, int num_docs, char *const *source_names,
                         int num_sources, double fraction, unsigned long seed, int *silo,
                         char *err, size_t errlen)
{
    if (!(fraction >= 0 && fraction < 1)) {
        snprintf(err, errlen, "--val-fraction %g: use a fraction in [0, 1)", fraction);
        return -1;
    }
    int rc = -1;
    gsl_rng *rng = rng_new(seed, 1);
    int *docs = mallocCheck((size_t)(num_docs ? num_docs : 1) * sizeof(int));
    for (int i = 0; i < num_docs; i++) silo[i] = PARTITION_UNASSIGNED;
    for (int s = 0; s < num_sources; s++) {
        int n = 0;
        for (int i = 0; i < num_docs; i++)
            if (doc_source[i] == s) docs[n++] = i;
        if (n == 0 || fraction == 0) continue;
        long nv = lround(fraction * n);
        if (nv < 1) nv = 1;
        if (nv >= n) {
            snprintf(err, errlen, "source '%s' has %d document%s: --val-fraction %g holds out %ld, "
                     "leaving none to train on; add documents to it (or split its files), or "
                     "lower --val-fraction (0 holds out nothing)", source_names[s], n,
                     n == 1 ? "" : "s", fraction, nv);
            goto done;
        }
        gsl_ran_shuffle(rng, docs, (size_t)n, sizeof(int));
        for (long k = 0; k < nv; k++) silo[docs[k]] = PARTITION_VALIDATION;
    }
    rc = 0;
done:
    free(docs);
    gsl_rng_free(rng);
    return rc;
}

// The silo with the fewest tokens (lowest index on ties).
static int lightest(const int64_t *load, int num_silos)
{
    int best = 0;
    for (int s = 1; s < num_silos; s++)
        if (load[s] < load[best]) best = s;
    return best;
}

/* What a partition's deal function works on: the n training documents train[] (indices into
 * doc_source/doc_tokens), the silos' token loads so far, and silo[] to fill. */
typedef struct {
    const int *train;
    int n;
    const int *doc_source;
    const int64_t *doc_tokens;
    int num_sources, num_silos;
    double alpha;
    gsl_rng *rng;
    int64_t *load;
    int *silo;
} Deal;

static int deal_iid(const Deal *d, char *err, size_t errlen)
{
    const int *train = d->train, n = d->n, num_silos = d->num_silos;
    const int64_t *doc_tokens = d->doc_tokens;
    int64_t *load = d->load;
    int *silo = d->silo;
    gsl_rng *rng = d->rng;
    int *order = mallocCheck((size_t)n * sizeof(int));
    memcpy(order, train, (size_t)n * sizeof(int));
    gsl_ran_shuffle(rng, order, (size_t)n, sizeof(int));
    for (int k = 0; k < n; k++) {
        int s = lightest(load, num_silos);
        silo[order[k]] = s;
        load[s] += doc_tokens[order[k]];
    }
    free(order);
    return 0;
}

static int deal_by_source(const Deal *d, char *err, size_t errlen)
{
    const int *train = d->train, n = d->n, *doc_source = d->doc_source;
    const int num_sources = d->num_sources, num_silos = d->num_silos;
    const int64_t *doc_tokens = d->doc_tokens;
    int64_t *load = d->load;
    int *silo = d->silo;
    int64_t *src_tokens = callocCheck((size_t)num_sources, sizeof(int64_t));
    int *order = mallocCheck((size_t)num_sources * sizeof(int));
    int present = 0;
    for (int k = 0; k < n; k++) src_tokens[doc_source[train[k]]] += doc_tokens[train[k]];
    for (int s = 0; s < num_sources; s++)
        if (src_tokens[s] > 0) order[present++] = s;
    int rc = -1;
    if (present < num_silos) {
        snprintf(err, errlen, "--partition by-source needs at least as many sources as silos: "
                 "%d source%s, --silos %d; use fewer silos or another partition", present,
                 present == 1 ? "" : "s", num_silos);
        goto done;
    }
    // largest source first (lowest index on ties), each to the lightest silo
    for (int i = 1; i < present; i++) {
        int x = order[i], j = i;
        while (j > 0 && (src_tokens[order[j - 1]] < src_tokens[x] ||
                         (src_tokens[order[j - 1]] == src_tokens[x] && order[j - 1] > x))) {
            order[j] = order[j - 1];
            j--;
        }
        order[j] = x;
    }
    int *silo_of_source = mallocCheck((size_t)num_sources * sizeof(int));
    for (int i = 0; i < present; i++) {
        int s = lightest(load, num_silos);
        silo_of_source[order[i]] = s;
        load[s] += src_tokens[order[i]];
    }
    for (int k = 0; k < n; k++) silo[train[k]] = silo_of_source[doc_source[train[k]]];
    free(silo_of_source);
    rc = 0;
done:
    free(src_tokens);
    free(order);
    return rc;
}

static void fill_empty_silos(const int *train, int n, const int64_t *doc_tokens, int num_silos,
                             int64_t *load, int *silo);

static int deal_dirichlet(const Deal *d, char *err, size_t errlen)
{
    const int *train = d->train, n = d->n, *doc_source = d->doc_source;
    const int num_sources = d->num_sources, num_silos = d->num_silos;
    const int64_t *doc_tokens = d->doc_tokens;
    const double alpha = d->alpha;
    int64_t *load = d->load;
    int *silo = d->silo;
    gsl_rng *rng = d->rng;
    // p[s][k]: silo s's mix of sources
    double *p = mallocCheck((size_t)num_silos * (size_t)num_sources * sizeof(double));
    double *a = mallocCheck((size_t)num_sources * sizeof(double));
    for (int k = 0; k < num_sources; k++) a[k] = alpha;
    for (int s = 0; s < num_silos; s++) {
        gsl_ran_dirichlet(rng, (size_t)num_sources, a, p + (size_t)s * num_sources);
        for (int k = 0; k < num_sources; k++)
            if (!isfinite(p[(size_t)s * num_sources + k])) p[(size_t)s * num_sources + k] = 0;
    }
    int *docs = mallocCheck((size_t)n * sizeof(int));
    double *w = mallocCheck((size_t)num_silos * sizeof(double));
    int64_t *got = mallocCheck((size_t)num_silos * sizeof(int64_t));
    for (int k = 0; k < num_sources; k++) {
        int m = 0;
        for (int i = 0; i < n; i++)
            if (doc_source[train[i]] == k) docs[m++] = train[i];
        if (m == 0) continue;
        double sum = 0;
        for (int s = 0; s < num_silos; s++) sum += w[s] = p[(size_t)s * num_sources + k];
        for (int s = 0; s < num_silos; s++) w[s] = sum > 0 ? w[s] / sum : 1.0 / num_silos;
        gsl_ran_shuffle(rng, docs, (size_t)m, sizeof(int));
        // each document to the silo furthest below its share of the tokens dealt so far
        int64_t dealt = 0;
        memset(got, 0, (size_t)num_silos * sizeof(int64_t));
        for (int i = 0; i < m; i++) {
            dealt += doc_tokens[docs[i]];
            int best = 0;
            double best_deficit = -INFINITY;
            for (int s = 0; s < num_silos; s++) {
                double deficit = w[s] * (double)dealt - (double)got[s];
                if (deficit > best_deficit) { best_deficit = deficit; best = s; }
            }
            silo[docs[i]] = best;
            got[best] += doc_tokens[docs[i]];
            load[best] += doc_tokens[docs[i]];
        }
    }
    free(p);
    free(a);
    free(docs);
    free(w);
    free(got);
    fill_empty_silos(train, n, doc_tokens, num_silos, load, silo);
    return 0;
}

// A silo left empty takes the smallest document of the silo with the most tokens that has
// more than one document (there is one while there are at least as many documents as silos).
static void fill_empty_silos(const int *train, int n, const int64_t *doc_tokens, int num_silos,
                             int64_t *load, int *silo)
{
    int *count = callocCheck((size_t)num_silos, sizeof(int));
    for (int k = 0; k < n; k++) count[silo[train[k]]]++;
    for (int s = 0; s < num_silos; s++) {
        if (count[s] > 0) continue;
        int donor = -1;
        for (int t = 0; t < num_silos; t++)
            if (count[t] > 1 && (donor < 0 || load[t] > load[donor])) donor = t;
        if (donor < 0) PHOTON_FATAL("no silo can give a document (caller checks counts)");
        int pick = -1;
        for (int k = 0; k < n; k++)
            if (silo[train[k]] == donor && (pick < 0 || doc_tokens[train[k]] < doc_tokens[pick]))
                pick = train[k];
        silo[pick] = s;
        load[donor] -= doc_tokens[pick];
        load[s] += doc_tokens[pick];
        count[donor]--;
        count[s]++;
    }
    free(count);
}

/* The partitions, in PartitionKind order: a name, whether it takes ":ALPHA", and its deal. Adding
 * a partition: a deal function, an enum value in partition.h and a row here. */
static const struct {
    const char *name;
    int takes_alpha;
    int (*deal)(const Deal *d, char *err, size_t errlen);
} partitions[] = {
    [PARTITION_IID] = {"iid", 0, deal_iid},
    [PARTITION_BY_SOURCE] = {"by-source", 0, deal_by_source},
    [PARTITION_DIRICHLET] = {"dirichlet", 1, deal_dirichlet},
};
enum { NUM_PARTITIONS = sizeof partitions / sizeof *partitions };

int partition_parse(const char *spec, Partition *p, char *err, size_t errlen)
{
    memset(p, 0, sizeof *p);
    for (int k = 0; k < NUM_PARTITIONS; k++) {
        const size_t len = strlen(partitions[k].name);
        if (strncmp(spec, partitions[k].name, len)) continue;
        if (!partitions[k].takes_alpha && spec[len] == '\0') {
            p->kind = (PartitionKind)k;
            return 0;
        }
        if (partitions[k].takes_alpha && spec[len] == ':') {
            char *end = NULL;
            double a = strtod(spec + len + 1, &end);
            if (end != spec + len + 1 && *end == '\0' && isfinite(a) && a > 0) {
                p->kind = (PartitionKind)k;
                p->alpha = a;
                return 0;
            }
            snprintf(err, errlen, "--partition %s: ALPHA must be a number > 0, e.g. %s:0.5", spec,
                     partitions[k].name);
            return -1;
        }
    }
    char names[256] = "";
    for (int k = 0; k < NUM_PARTITIONS; k++)
        snprintf(names + strlen(names), sizeof names - strlen(names), "%s%s%s",
                 k == 0 ? "" : k == NUM_PARTITIONS - 1 ? " or " : ", ", partitions[k].name,
                 partitions[k].takes_alpha ? ":ALPHA" : "");
    snprintf(err, errlen, "--partition %s: use %s", spec, names);
    return -1;
}

void partition_format(const Partition *p, char *buf, size_t n)
{
    if (partitions[p->kind].takes_alpha) snprintf(buf, n, "%s:%g", partitions[p->kind].name, p->alpha);
    else snprintf(buf, n, "%s", partitions[p->kind].name);
}

int partition_assign(const Partition *p, const int *doc_source, const int64_t *doc_tokens,
                     int num_docs, int num_sources, int num_silos, unsigned long seed, int *silo,
                     char *err, size_t errlen)
{
    if (num_silos < 1) {
        snprintf(err, errlen, "--silos %d: need at least 1 silo", num_silos);
        return -1;
    }
    int rc = -1;
    gsl_rng *rng = rng_new(seed, 2);
    int *train = mallocCheck((size_t)(num_docs ? num_docs : 1) * sizeof(int));
    int64_t *load = callocCheck((size_t)num_silos, sizeof(int64_t));
    int n = 0;
    for (int i = 0; i < num_docs; i++)
        if (silo[i] == PARTITION_UNASSIGNED) train[n++] = i;
    if (n < num_silos) {
        snprintf(err, errlen, "%d training document%s for --silos %d: every silo needs at least "
                 "one; use fewer silos, more documents, or a smaller --val-fraction", n,
                 n == 1 ? "" : "s", num_silos);
        goto done;
    }
    const Deal deal = {.train = train, .n = n, .doc_source = doc_source, .doc_tokens = doc_tokens,
                       .num_sources = num_sources, .num_silos = num_silos, .alpha = p->alpha,
                       .rng = rng, .load = load, .silo = silo};
    if (partitions[p->kind].deal(&deal, err, errlen) != 0) goto done;
    rc = 0;
done:
    free(train);
    free(load);
    gsl_rng_free(rng);
    return rc;
}
