/* test_fed_aggregate.c S SERVER K OUT: four federated rounds for each outer optimizer, with K of S
 * silos sampled per round (0 = all), on the allreduce (SERVER = 0) or server (SERVER = 1) topology.
 * Checks, on every leader and on the server:
 *   - with fedavg lr 1 the new θ is the weighted mean, bitwise equal to the documented float rule
 *     (test_fed_util.h's reference_mean) and within 1e-6 of the mean in double; with one silo it
 *     is that silo's model, bitwise;
 *   - the round's stats: who took part, weights, ‖Δ_k‖, nobody dropped or skipped;
 *   - fed_mean (survivors' weights) and fed_allreduce_mean (equal weights) against the reference;
 *   - every leader (and the server) ends with the same θ.
 * World rank 0 writes every optimizer's final θ to OUT; test_fed_aggregate.sh compares the files
 * of different topologies and silo sizes byte for byte. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fedavg.h"
#include "test_fed_util.h"

#define N 1037 // not a multiple of any S used, so chunks differ in size
#define ROUNDS 4

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    if (argc != 5) {
        fprintf(stderr, "usage: %s S SERVER K OUT\n", argv[0]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int S = atoi(argv[1]), server = atoi(argv[2]), K = atoi(argv[3]);
    const char *out_path = argv[4];
    Topology t;
    char err[512];
    if (topology_create(&t, MPI_COMM_WORLD, S, server, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    int active = t.is_leader || t.is_server;
    const OuterConfig configs[] = {
        {.kind = OUTER_FEDAVG, .lr = 1.0f},
        {.kind = OUTER_FEDAVG, .lr = 0.7f},
        {.kind = OUTER_FEDMOM, .lr = 0.7f, .momentum = 0.9f},
        {.kind = OUTER_NESTEROV, .lr = 0.7f, .momentum = 0.9f},
        {.kind = OUTER_FEDADAM, .lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.99f, .tau = 1e-3f},
        {.kind = OUTER_FEDYOGI, .lr = 0.01f, .beta1 = 0.9f, .beta2 = 0.99f, .tau = 1e-3f},
    };
    const int ncfg = (int)(sizeof configs / sizeof *configs);
    DropPolicy drop = {.outlier_factor = 0.0, .min_clients = 1};
    LinkConfig link = {.bandwidth_mbps = 100.0, .latency_ms = 1.0, .emulate = LINK_MODEL};

    float *theta = malloc(N * sizeof(float)), *before = malloc(N * sizeof(float));
    float *ref = malloc(N * sizeof(float)), *got = malloc(N * sizeof(float));
    float *root_theta = malloc(N * sizeof(float));
    float *xs[64];
    double w[64];
    int part[64];
    for (int k = 0; k < S; k++) xs[k] = malloc(N * sizeof(float));
    FILE *out = t.world_rank == 0 ? fopen(out_path, "wb") : NULL;
    if (t.world_rank == 0 && !out) {
        fprintf(stderr, "cannot write %s\n", out_path);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    for (int c = 0; c < ncfg; c++) {
        const OuterConfig *oc = &configs[c];
        const char *name = outer_kind_name(oc->kind);
        Federation *f = active ? fed_create(&t, oc, N, &drop, &link) : NULL;
        synth_gaussian(theta, N, 7, 0.5);
        for (long r = 0; r < ROUNDS && active; r++) {
            fed_sample_clients(11, r, S, K, part);
            int nparts = 0;
            for (int k = 0; k < S; k++) {
                // Every rank can recompute every silo's model: the reference needs them all.
                synth_local(xs[k], theta, N, k, r + 10 * c, 1.0);
                w[k] = synth_weight(k, r);
                nparts += part[k];
            }
            CHECK(nparts == (K > 0 && K < S ? K : S), "round %ld: %d sampled", r, nparts);
            memcpy(before, theta, N * sizeof(float));
            RoundStats st;
            // A silo that did not train passes no model (the API allows NULL).
            const float *mine = t.is_leader && part[t.silo] ? xs[t.silo] : NULL;
            double my_w = t.is_leader && part[t.silo] ? w[t.silo] : 0.0;
            int rc = fed_sync(f, r, part, mine, my_w, theta, &st);
            CHECK(rc == 0 && !st.skipped, "%s round %ld: rc %d skipped %d (%s)", name, r, rc, st.skipped, st.reason);
            CHECK(st.round == r && st.num_silos == S, "stats round/S");
            CHECK(st.participants == nparts && st.survivors == nparts, "%s round %ld: %d participants %d survivors, want %d",
                  name, r, st.participants, st.survivors, nparts);
            CHECK(st.reason[0] == '\0', "no reason expected, got '%s'", st.reason);
            for (int k = 0; k < S; k++) {
                CHECK(st.participated[k] == part[k] && st.dropped[k] == DROP_NONE, "silo %d flags", k);
                CHECK(st.weight[k] == (part[k] ? w[k] : 0.0), "silo %d weight %g", k, st.weight[k]);
                double n2 = 0.0;
                for (int i = 0; i < N && part[k]; i++) {
                    double d = (double)before[i] - (double)xs[k][i];
                    n2 += d * d;
                }
                CHECK(fabs(st.delta_norm[k] - sqrt(n2)) <= 1e-12 * (1.0 + sqrt(n2)), "silo %d norm %.17g want %.17g",
                      k, st.delta_norm[k], sqrt(n2));
            }
            reference_mean(ref, xs, w, part, S, N);
            if (oc->kind == OUTER_FEDAVG && oc->lr == 1.0f) {
                CHECK(memcmp(theta, ref, N * sizeof(float)) == 0, "round %ld: mean differs from the float reference", r);
                double e = reference_mean_maxerr(theta, xs, w, part, S, N);
                CHECK(e < 1e-6, "round %ld: mean off the double reference by %g", r, e);
                if (S == 1) CHECK(memcmp(theta, xs[0], N * sizeof(float)) == 0, "one silo: theta must be its model, bitwise");
            } else {
                // θ moved towards the mean: the outer step did something, and it is not the mean.
                CHECK(memcmp(theta, before, N * sizeof(float)) != 0, "%s round %ld: theta unchanged", name, r);
            }
            if (r == ROUNDS - 1) {
                // fed_mean: another vector, the same survivors and weights.
                for (int k = 0; k < S; k++) synth_gaussian(xs[k], N, 500 + (unsigned long)k, 1.0);
                reference_mean(ref, xs, w, part, S, N);
                RoundStats before_mean = st;
                fed_mean(f, t.is_leader ? xs[t.silo] : NULL, got, N, &st);
                CHECK(memcmp(got, ref, N * sizeof(float)) == 0, "fed_mean differs from the reference");
                CHECK(st.bytes_total > before_mean.bytes_total || S == 1, "fed_mean adds its bytes to the round's");
                // In place, as the training driver averages the inner moments.
                if (t.is_leader) {
                    memcpy(got, xs[t.silo], N * sizeof(float));
                    fed_mean(f, got, got, N, NULL);
                } else {
                    fed_mean(f, NULL, NULL, N, NULL);
                    memcpy(got, ref, N * sizeof(float));
                }
                CHECK(memcmp(got, ref, N * sizeof(float)) == 0, "in-place fed_mean differs from the reference");
                // fed_allreduce_mean: every silo, equal weights.
                int all[64];
                double ones[64];
                for (int k = 0; k < S; k++) {
                    all[k] = 1;
                    ones[k] = 1.0;
                    synth_gaussian(xs[k], N, 900 + (unsigned long)k, 1.0);
                }
                reference_mean(ref, xs, ones, all, S, N);
                if (t.is_leader) memcpy(got, xs[t.silo], N * sizeof(float));
                fed_allreduce_mean(f, got, N, &st);
                CHECK(memcmp(got, ref, N * sizeof(float)) == 0, "fed_allreduce_mean differs from the reference");
                CHECK(st.round == -1 && st.participants == S && st.survivors == S && st.participated[S - 1] == 1,
                      "fed_allreduce_mean stats");
            }
        }
        // Everyone that holds θ agrees with world rank 0 (a leader in every topology).
        memcpy(root_theta, theta, N * sizeof(float));
        MPI_Bcast(root_theta, N, MPI_FLOAT, 0, MPI_COMM_WORLD);
        if (active) CHECK(memcmp(root_theta, theta, N * sizeof(float)) == 0, "%s: rank %d's theta differs from rank 0's",
                          name, t.world_rank);
        if (out) fwrite(theta, sizeof(float), N, out);
        if (f) {
            OuterOpt *o = fed_outer(f);
            int holds = server ? t.is_server : t.is_leader;
            CHECK((o != NULL) == holds, "outer optimizer held by the %s", server ? "server" : "leaders");
            if (o) CHECK(o->t == ROUNDS, "%s: %ld outer steps", name, o->t);
        }
        fed_free(f);
    }
    if (out) fclose(out);

    for (int k = 0; k < S; k++) free(xs[k]);
    free(theta);
    free(before);
    free(ref);
    free(got);
    free(root_theta);
    topology_free(&t);
    int failures = 0;
    MPI_Allreduce(&test_failures, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (t.world_rank == 0)
        printf("test_fed_aggregate S=%d %s K=%d: %s\n", S, server ? "server" : "allreduce", K, failures ? "FAIL" : "PASS");
    MPI_Finalize();
    return failures ? 1 : 0;
}
