/* test_data_partition.c: validation hold-out and the three partitions, on synthetic documents
 * (4 sources of 40 documents of varied token counts).
 *   validation: round(F*n) per source, at least one, same for every partition, seeded; error
 *               for a source that would keep no training document
 *   iid:        balanced (silo loads differ by at most the largest document), seeded
 *   by-source:  whole sources, balanced greedily; error with fewer sources than silos
 *   dirichlet:  seeded; small alpha skews (each silo dominated by few sources), large alpha
 *               approaches the global mix; every silo gets tokens */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "partition.h"

#include "test_check.h"

#define K 4
#define PER 40
#define D (K * PER)

static int source[D];
static int64_t tokens[D];
static char *names[K] = { "alpha", "beta", "gamma", "delta" };

static void setup(void)
{
    for (int i = 0; i < D; i++) {
        source[i] = i % K;
        // sources of different sizes: gamma's documents are the largest
        tokens[i] = 50 + (i * 37) % 200 + (source[i] == 2 ? 300 : 0) + source[i] * 10;
    }
}

static void loads(const int *silo, int S, int64_t *load, int64_t *mix /* (S, K) */)
{
    memset(load, 0, (size_t)S * sizeof(int64_t));
    if (mix) memset(mix, 0, (size_t)S * K * sizeof(int64_t));
    for (int i = 0; i < D; i++)
        if (silo[i] >= 0) {
            load[silo[i]] += tokens[i];
            if (mix) mix[silo[i] * K + source[i]] += tokens[i];
        }
}

static void test_validation(void)
{
    int a[D], b[D], c[D];
    char err[512];
    CHECK(partition_validation(source, D, names, K, 0.1, 5, a, err, sizeof err) == 0, "%s", err);
    for (int k = 0; k < K; k++) {
        int nv = 0;
        for (int i = 0; i < D; i++) nv += source[i] == k && a[i] == PARTITION_VALIDATION;
        CHECK(nv == 4, "source %d: %d validation documents, expected round(0.1*40) = 4", k, nv);
    }
    CHECK(partition_validation(source, D, names, K, 0.1, 5, b, err, sizeof err) == 0 &&
          !memcmp(a, b, sizeof a), "validation is not deterministic for a seed");
    CHECK(partition_validation(source, D, names, K, 0.1, 6, c, err, sizeof err) == 0 &&
          memcmp(a, c, sizeof a) != 0, "another seed holds out the same documents");
    CHECK(partition_validation(source, D, names, K, 0.001, 5, c, err, sizeof err) == 0, "%s", err);
    for (int k = 0; k < K; k++) {
        int nv = 0;
        for (int i = 0; i < D; i++) nv += source[i] == k && c[i] == PARTITION_VALIDATION;
        CHECK(nv == 1, "a tiny fraction still holds out one document per source (got %d)", nv);
    }
    CHECK(partition_validation(source, D, names, K, 0, 5, c, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < D; i++) CHECK(c[i] == PARTITION_UNASSIGNED, "fraction 0 held out %d", i);
    // a source with one document cannot give one to validation and keep one for training
    int one_src[3] = { 0, 0, 1 };
    char *two[2] = { "big", "lonely" };
    int s3[3];
    CHECK(partition_validation(one_src, 3, two, 2, 0.05, 1, s3, err, sizeof err) != 0 &&
          strstr(err, "lonely") && strstr(err, "--val-fraction"),
          "single-document source accepted or message unclear: %s", err);
    CHECK(partition_validation(source, D, names, K, 1.0, 5, c, err, sizeof err) != 0,
          "fraction 1 accepted");
}

static void test_iid(void)
{
    int a[D], b[D];
    int64_t load[3], maxdoc = 0;
    char err[512];
    Partition p;
    CHECK(partition_parse("iid", &p, err, sizeof err) == 0, "%s", err);
    for (int i = 0; i < D; i++) if (tokens[i] > maxdoc) maxdoc = tokens[i];
    partition_validation(source, D, names, K, 0.05, 9, a, err, sizeof err);
    memcpy(b, a, sizeof a);
    CHECK(partition_assign(&p, source, tokens, D, K, 3, 9, a, err, sizeof err) == 0, "%s", err);
    CHECK(partition_assign(&p, source, tokens, D, K, 3, 9, b, err, sizeof err) == 0 &&
          !memcmp(a, b, sizeof a), "iid is not deterministic");
    loads(a, 3, load, NULL);
    int64_t lo = load[0], hi = load[0];
    for (int s = 1; s < 3; s++) { if (load[s] < lo) lo = load[s]; if (load[s] > hi) hi = load[s]; }
    CHECK(hi - lo <= maxdoc, "iid silos unbalanced: %lld..%lld tokens (largest document %lld)",
          (long long)lo, (long long)hi, (long long)maxdoc);
    for (int i = 0; i < D; i++) CHECK(a[i] >= -1 && a[i] < 3, "document %d silo %d", i, a[i]);
    // every source lands in every silo (documents are shuffled, not grouped)
    int64_t mix[3 * K];
    loads(a, 3, load, mix);
    for (int s = 0; s < 3; s++)
        for (int k = 0; k < K; k++) CHECK(mix[s * K + k] > 0, "iid silo %d has no %s", s, names[k]);
}

static void test_by_source(void)
{
    int a[D];
    int64_t load[K], mix[K * K];
    char err[512];
    Partition p;
    CHECK(partition_parse("by-source", &p, err, sizeof err) == 0, "%s", err);
    partition_validation(source, D, names, K, 0.05, 9, a, err, sizeof err);
    int saved[D];
    memcpy(saved, a, sizeof a);
    CHECK(partition_assign(&p, source, tokens, D, K, 2, 9, a, err, sizeof err) == 0, "%s", err);
    int silo_of[K] = { -1, -1, -1, -1 };
    for (int i = 0; i < D; i++) {
        if (a[i] < 0) continue;
        if (silo_of[source[i]] < 0) silo_of[source[i]] = a[i];
        CHECK(silo_of[source[i]] == a[i], "source %s split across silos", names[source[i]]);
    }
    loads(a, 2, load, mix);
    // 4 sources into 2 silos, largest first to the lightest silo: gamma (about half of all
    // tokens) goes alone to one silo, the other three to the other.
    CHECK(load[0] > 0 && load[1] > 0, "a by-source silo is empty");
    CHECK(silo_of[2] != silo_of[3], "the largest (gamma) and second largest (delta) share a silo");
    // errors: more silos than sources
    memcpy(a, saved, sizeof a);
    CHECK(partition_assign(&p, source, tokens, D, K, 5, 9, a, err, sizeof err) != 0 &&
          strstr(err, "4 sources") && strstr(err, "--silos 5"),
          "by-source with 5 silos and 4 sources: %s", err);
}

static double max_share(const int64_t *mix, const int64_t *load, int s)
{
    double m = 0;
    for (int k = 0; k < K; k++)
        if (load[s] > 0 && (double)mix[s * K + k] / (double)load[s] > m)
            m = (double)mix[s * K + k] / (double)load[s];
    return m;
}

static void test_dirichlet(void)
{
    char err[512];
    Partition p;
    CHECK(partition_parse("dirichlet:0.05", &p, err, sizeof err) == 0 && p.alpha == 0.05,
          "%s", err);
    int base[D], a[D], b[D], c[D];
    partition_validation(source, D, names, K, 0.05, 9, base, err, sizeof err);
    int S = 4;
    int64_t load[4], mix[4 * K];
    double skew_small = 0, skew_large = 0;
    // small alpha: each silo's tokens come mostly from one source (averaged over seeds)
    for (unsigned long seed = 1; seed <= 10; seed++) {
        memcpy(a, base, sizeof a);
        CHECK(partition_assign(&p, source, tokens, D, K, S, seed, a, err, sizeof err) == 0, "%s",
              err);
        loads(a, S, load, mix);
        for (int s = 0; s < S; s++) {
            CHECK(load[s] > 0, "dirichlet silo %d (seed %lu) has no tokens", s, seed);
            skew_small += max_share(mix, load, s) / (10.0 * S);
        }
    }
    Partition q;
    partition_parse("dirichlet:1000", &q, err, sizeof err);
    for (unsigned long seed = 1; seed <= 10; seed++) {
        memcpy(c, base, sizeof c);
        partition_assign(&q, source, tokens, D, K, S, seed, c, err, sizeof err);
        loads(c, S, load, mix);
        for (int s = 0; s < S; s++) skew_large += max_share(mix, load, s) / (10.0 * S);
    }
    printf("dirichlet: mean largest source share of a silo: %.3f (alpha 0.05), %.3f (alpha 1000)\n",
           skew_small, skew_large);
    int64_t all = 0, by_source[K] = { 0 };
    for (int i = 0; i < D; i++)
        if (base[i] != PARTITION_VALIDATION) {
            all += tokens[i];
            by_source[source[i]] += tokens[i];
        }
    double global = 0;
    for (int k = 0; k < K; k++)
        if ((double)by_source[k] / (double)all > global) global = (double)by_source[k] / (double)all;
    CHECK(skew_small > global + 0.25, "dirichlet:0.05 is not skewed: mean largest share %.3f, "
          "global mix %.3f", skew_small, global);
    CHECK(fabs(skew_large - global) < 0.03, "dirichlet:1000 is not near the global mix: mean "
          "largest share %.3f, global %.3f", skew_large, global);
    // seeded
    memcpy(a, base, sizeof a);
    memcpy(b, base, sizeof b);
    partition_assign(&p, source, tokens, D, K, S, 3, a, err, sizeof err);
    partition_assign(&p, source, tokens, D, K, S, 3, b, err, sizeof err);
    CHECK(!memcmp(a, b, sizeof a), "dirichlet is not deterministic for a seed");
    memcpy(b, base, sizeof b);
    partition_assign(&p, source, tokens, D, K, S, 4, b, err, sizeof err);
    CHECK(memcmp(a, b, sizeof a) != 0, "dirichlet gives the same silos for seeds 3 and 4");
    // validation documents stay held out
    for (int i = 0; i < D; i++)
        if (base[i] == PARTITION_VALIDATION) CHECK(a[i] == PARTITION_VALIDATION, "doc %d moved", i);
    // every silo gets tokens even when there are barely enough documents
    int few_src[6] = { 0, 0, 0, 0, 0, 1 }, few[6];
    int64_t few_tok[6] = { 10, 20, 30, 40, 50, 60 };
    for (unsigned long seed = 1; seed <= 20; seed++) {
        for (int i = 0; i < 6; i++) few[i] = PARTITION_UNASSIGNED;
        CHECK(partition_assign(&p, few_src, few_tok, 6, 2, 6, seed, few, err, sizeof err) == 0,
              "%s", err);
        int seen[6] = { 0 };
        for (int i = 0; i < 6; i++) if (few[i] >= 0 && few[i] < 6) seen[few[i]]++;
        for (int s = 0; s < 6; s++) CHECK(seen[s] == 1, "seed %lu: silo %d has %d documents",
                                          seed, s, seen[s]);
    }
}

static void test_parse_errors(void)
{
    char err[512];
    Partition p;
    CHECK(partition_parse("dirichlet:0", &p, err, sizeof err) != 0 && strstr(err, "ALPHA"),
          "dirichlet:0 accepted");
    CHECK(partition_parse("dirichlet:x", &p, err, sizeof err) != 0, "dirichlet:x accepted");
    CHECK(partition_parse("random", &p, err, sizeof err) != 0 && strstr(err, "by-source"),
          "random accepted");
    int s[3] = { PARTITION_UNASSIGNED, PARTITION_UNASSIGNED, PARTITION_VALIDATION };
    int src[3] = { 0, 0, 0 };
    int64_t t[3] = { 5, 5, 5 };
    partition_parse("iid", &p, err, sizeof err);
    CHECK(partition_assign(&p, src, t, 3, 1, 3, 1, s, err, sizeof err) != 0 &&
          strstr(err, "2 training documents"), "3 silos from 2 documents: %s", err);
    char buf[64];
    partition_parse("dirichlet:0.5", &p, err, sizeof err);
    partition_format(&p, buf, sizeof buf);
    CHECK(!strcmp(buf, "dirichlet:0.5"), "format gives %s", buf);
}

int main(void)
{
    setup();
    test_validation();
    test_iid();
    test_by_source();
    test_dirichlet();
    test_parse_errors();
    printf("test_data_partition: %d passed, %d failed\n", test_checks - test_failures, test_failures);
    return test_failures ? 1 : 0;
}
