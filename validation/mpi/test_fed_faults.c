/* test_fed_faults.c S SERVER OUT: dropping and skipping, on either topology (S >= 4):
 *   A. fault injection at listed rounds: the faulty silo is dropped as non-finite, the aggregate
 *      is the mean of the others (bitwise, the reference rule), the round completes, and the next
 *      round takes the silo back; fed_mean uses the survivors' weights;
 *   B. the outlier rule: a silo far from the others is dropped; not with the rule off; not with
 *      fewer than 3 finite participants;
 *   C. min_clients: too few survivors skip the round: θ and the outer optimizer's state unchanged,
 *      fed_mean moves nothing;
 *   D. probabilistic faults hit exactly the rounds fault_fires predicts;
 *   E. a faulty silo that is not sampled is not dropped (it is absent).
 * World rank 0 writes the final θ to OUT for test_fed_faults.sh to compare across topologies. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fedavg.h"
#include "test_fed_util.h"

#define N 257
#define MAXS 16

static Topology topo;
static int S;
static float *theta, *before, *ref, *xs[MAXS];
static double w[MAXS];

/* One round: silo k trained to synth_local (boosted for boost_silo), everyone calls fed_sync. */
static int run_round(Federation *f, long r, const int *part, int boost_silo, double boost, RoundStats *st)
{
    for (int k = 0; k < S; k++) {
        synth_local(xs[k], theta, N, k, r, k == boost_silo ? boost : 1.0);
        w[k] = synth_weight(k, r);
    }
    memcpy(before, theta, N * sizeof(float));
    const float *mine = topo.is_leader ? xs[topo.silo] : NULL;
    double my_w = topo.is_leader && part[topo.silo] ? w[topo.silo] : 0.0;
    return fed_sync(f, r, part, mine, my_w, theta, st);
}

/* θ must be the reference mean over `keep`. */
static void expect_mean(const int *keep, const char *what)
{
    reference_mean(ref, xs, w, keep, S, N);
    CHECK(memcmp(theta, ref, N * sizeof(float)) == 0, "%s: theta is not the mean of the kept silos", what);
}

static int all[MAXS];

static Federation *make(OuterConfig oc, double outlier, int min_clients)
{
    DropPolicy drop = {.outlier_factor = outlier, .min_clients = min_clients};
    LinkConfig link = {.bandwidth_mbps = 1000.0, .latency_ms = 1.0, .emulate = LINK_MODEL};
    return fed_create(&topo, &oc, N, &drop, &link);
}

int main(int argc, char **argv)
{
    char usage[64];
    snprintf(usage, sizeof usage, "S(4..%d) SERVER OUT", MAXS);
    int server;
    fed_test_start(&argc, &argv, 3, 4, MAXS, usage, &topo, &S, &server);
    theta = malloc(N * sizeof(float));
    before = malloc(N * sizeof(float));
    ref = malloc(N * sizeof(float));
    for (int k = 0; k < S; k++) xs[k] = malloc(N * sizeof(float));
    for (int k = 0; k < S; k++) all[k] = 1;
    const OuterConfig avg1 = {.kind = OUTER_FEDAVG, .lr = 1.0f};
    RoundStats st;
    int keep[MAXS];

    if (topo.is_leader || topo.is_server) {
        // A. Silo 2 fails at round 1.
        Federation *f = make(avg1, 0.0, 1);
        int rounds[] = {1};
        fed_set_fault(f, &(FaultConfig){.silo = 2, .rounds = rounds, .num_rounds = 1, .seed = 3});
        synth_gaussian(theta, N, 1, 0.5);
        for (long r = 0; r < 3; r++) {
            int rc = run_round(f, r, all, -1, 1.0, &st);
            CHECK(rc == 0 && !st.skipped, "A round %ld completes (%s)", r, st.reason);
            CHECK(st.participants == S, "A round %ld: %d participants", r, st.participants);
            for (int k = 0; k < S; k++) keep[k] = !(r == 1 && k == 2);
            expect_mean(keep, "A");
            if (r == 1) {
                CHECK(st.survivors == S - 1 && st.dropped[2] == DROP_NONFINITE, "A: silo 2 dropped (%d)", st.dropped[2]);
                CHECK(!isfinite(st.delta_norm[2]), "A: silo 2's norm is %g", st.delta_norm[2]);
                CHECK(strstr(st.reason, "silo 2 dropped: non-finite") != NULL, "A: reason '%s'", st.reason);
                for (int k = 0; k < S; k++) if (k != 2) CHECK(st.dropped[k] == DROP_NONE, "A: silo %d kept", k);
                // The inner-state mean follows the round's survivors.
                float *got = malloc(N * sizeof(float));
                for (int k = 0; k < S; k++) synth_gaussian(xs[k], N, 70 + (unsigned long)k, 1.0);
                reference_mean(ref, xs, w, keep, S, N);
                fed_mean(f, topo.is_leader ? xs[topo.silo] : NULL, got, N, &st);
                CHECK(memcmp(got, ref, N * sizeof(float)) == 0, "A: fed_mean over the survivors");
                free(got);
            } else {
                CHECK(st.survivors == S && st.reason[0] == '\0', "A round %ld: nobody dropped ('%s')", r, st.reason);
            }
        }
        fed_free(f);

        // B. The outlier rule: silo 1 moves 100x further than its usual.
        for (int on = 0; on <= 1; on++) {
            f = make(avg1, on ? 3.0 : 0.0, 1);
            synth_gaussian(theta, N, 2, 0.5);
            run_round(f, 0, all, 1, 100.0, &st);
            for (int k = 0; k < S; k++) keep[k] = !(on && k == 1);
            expect_mean(keep, on ? "B outlier rule on" : "B outlier rule off");
            CHECK(st.dropped[1] == (on ? DROP_OUTLIER : DROP_NONE), "B(%d): silo 1 verdict %d", on, st.dropped[1]);
            CHECK(st.survivors == (on ? S - 1 : S), "B(%d): %d survivors", on, st.survivors);
            if (on) CHECK(strstr(st.reason, "silo 1 dropped: outlier") != NULL, "B: reason '%s'", st.reason);
            // The median of the finite participants' norms, recomputed here.
            double norms[MAXS];
            for (int k = 0; k < S; k++) norms[k] = st.delta_norm[k];
            for (int i = 1; i < S; i++)
                for (int j = i; j > 0 && norms[j - 1] > norms[j]; j--) {
                    double tmp = norms[j];
                    norms[j] = norms[j - 1];
                    norms[j - 1] = tmp;
                }
            double median = S % 2 ? norms[S / 2] : 0.5 * (norms[S / 2 - 1] + norms[S / 2]);
            CHECK(fabs(st.median_norm - median) <= 1e-12 * median, "B: median %g, want %g", st.median_norm, median);
            fed_free(f);
        }
        // ... but not with two participants: the rule needs three.
        f = make(avg1, 3.0, 1);
        int two[MAXS] = {0};
        two[1] = two[3] = 1;
        synth_gaussian(theta, N, 2, 0.5);
        run_round(f, 0, two, 1, 100.0, &st);
        CHECK(st.participants == 2 && st.survivors == 2, "B: two participants, none dropped (%d survive)", st.survivors);
        expect_mean(two, "B two participants");
        fed_free(f);

        // C. min_clients = S: one fault skips the round.
        f = make((OuterConfig){.kind = OUTER_NESTEROV, .lr = 0.7f, .momentum = 0.9f}, 0.0, S);
        fed_set_fault(f, &(FaultConfig){.silo = 0, .rounds = rounds, .num_rounds = 1});
        synth_gaussian(theta, N, 3, 0.5);
        float *m_before = malloc(N * sizeof(float));
        for (long r = 0; r < 3; r++) {
            OuterOpt *o = fed_outer(f);
            if (o) memcpy(m_before, outer_state(o, "m"), N * sizeof(float));
            int rc = run_round(f, r, all, -1, 1.0, &st);
            if (r == 1) {
                CHECK(rc == 1 && st.skipped, "C: round 1 must be skipped (rc %d)", rc);
                CHECK(st.survivors == S - 1 && st.dropped[0] == DROP_NONFINITE, "C: silo 0 dropped");
                CHECK(memcmp(theta, before, N * sizeof(float)) == 0, "C: a skipped round changed theta");
                CHECK(strstr(st.reason, "round skipped") != NULL, "C: reason '%s'", st.reason);
                if (o) CHECK(o->t == 1 && memcmp(m_before, outer_state(o, "m"), N * sizeof(float)) == 0,
                             "C: a skipped round changed the outer state (t = %ld)", o->t);
                // Nothing to average with: each leader keeps its own vector, nothing travels.
                uint64_t bytes = st.bytes_total;
                float *got = malloc(N * sizeof(float));
                fed_mean(f, topo.is_leader ? xs[topo.silo] : NULL, got, N, &st);
                if (topo.is_leader) CHECK(memcmp(got, xs[topo.silo], N * sizeof(float)) == 0, "C: fed_mean after a skip");
                CHECK(st.bytes_total == bytes, "C: fed_mean after a skip moved bytes");
                free(got);
            } else {
                CHECK(rc == 0 && !st.skipped, "C round %ld proceeds", r);
                CHECK(memcmp(theta, before, N * sizeof(float)) != 0, "C round %ld: theta moved", r);
                if (o) CHECK(o->t == (r == 0 ? 1 : 2), "C round %ld: t = %ld", r, o->t);
            }
        }
        free(m_before);
        fed_free(f);

        // D. Faults drawn with probability 0.5.
        f = make(avg1, 0.0, 1);
        FaultConfig fc = {.silo = 3, .prob = 0.5, .seed = 5};
        fed_set_fault(f, &fc);
        synth_gaussian(theta, N, 4, 0.5);
        int fired = 0;
        for (long r = 0; r < 8; r++) {
            int want = fault_fires(&fc, 3, r);
            fired += want;
            run_round(f, r, all, -1, 1.0, &st);
            CHECK(st.dropped[3] == (want ? DROP_NONFINITE : DROP_NONE), "D round %ld: verdict %d, fault %d", r,
                  st.dropped[3], want);
            for (int k = 0; k < S; k++) keep[k] = !(want && k == 3);
            expect_mean(keep, "D");
        }
        CHECK(fired > 0 && fired < 8, "D: seed 5 should fire in some but not all of 8 rounds (%d)", fired);
        fed_free(f);

        // E. A faulty silo that is not sampled is absent, not dropped.
        f = make(avg1, 0.0, 1);
        int every[6] = {0, 1, 2, 3, 4, 5};
        fed_set_fault(f, &(FaultConfig){.silo = 0, .rounds = every, .num_rounds = 6});
        synth_gaussian(theta, N, 5, 0.5);
        int absent = 0, dropped = 0, part[MAXS];
        for (long r = 0; r < 6; r++) {
            fed_sample_clients(1, r, S, 2, part);
            run_round(f, r, part, -1, 1.0, &st);
            CHECK(st.participated[0] == part[0], "E round %ld", r);
            CHECK(st.dropped[0] == (part[0] ? DROP_NONFINITE : DROP_NONE), "E round %ld: verdict %d", r, st.dropped[0]);
            absent += !part[0];
            dropped += part[0];
            for (int k = 0; k < S; k++) keep[k] = part[k] && k != 0;
            if (st.survivors > 0) expect_mean(keep, "E");
        }
        CHECK(absent > 0 && dropped > 0, "E: silo 0 should be both sampled and not (%d, %d)", dropped, absent);
        fed_free(f);
    }

    if (topo.world_rank == 0) {
        FILE *out = fopen(argv[3], "wb");
        if (!out || fwrite(theta, sizeof(float), N, out) != N) CHECK(0, "cannot write %s", argv[3]);
        if (out) fclose(out);
    }
    for (int k = 0; k < S; k++) free(xs[k]);
    free(theta);
    free(before);
    free(ref);
    return fed_test_finish(&topo, "test_fed_faults", S, server);
}
