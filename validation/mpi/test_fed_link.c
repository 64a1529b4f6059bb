/* test_fed_link.c S SERVER: the bytes every rank counts and the modeled link time, against the
 * formulas of doc/federation.md written out again here, for several vector sizes n, numbers of
 * participants s (client sampling) and a skipped round, for fed_sync, fed_mean and
 * fed_allreduce_mean; the per-rank counts summed over all ranks equal the reported total; with
 * LINK_OFF nothing is modeled; LINK_SLEEP makes every rank's measured time reach the modeled one. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fedavg.h"
#include "test_fed_util.h"

#define MAXS 16

static Topology topo;
static int S;

typedef struct {
    double sent, recv, total, seconds;
} Expect;

// One phase of the link model: one latency plus the busiest link's bytes; nothing moves, no cost.
static double phase(const LinkConfig *l, double busiest, double total)
{
    if (total == 0.0) return 0.0;
    return l->latency_ms * 1e-3 + busiest * 8.0 / (l->bandwidth_mbps * 1e6);
}

/* The weighted-mean exchange of n floats among `surv` (s flags) on this topology. */
static Expect mean_cost(const LinkConfig *l, size_t n, const int *surv)
{
    Expect e = {0};
    int s = 0, j_me = -1;
    for (int k = 0; k < S; k++) {
        if (surv[k] && k == topo.silo) j_me = s;
        s += surv[k];
    }
    double N4 = 4.0 * (double)n;
    if (!topo.with_server) {
        size_t cmax = (n + (size_t)s - 1) / (size_t)s;
        if (j_me >= 0) {
            double c = 4.0 * (double)(n / (size_t)s + ((size_t)j_me < n % (size_t)s));
            e.sent = (N4 - c) + (S - 1) * c; // my pieces of the others' chunks, my chunk to all
            e.recv = (s - 1) * c + (N4 - c); // the others' pieces of my chunk, the others' chunks
        } else {
            e.recv = N4;
        }
        e.total = N4 * (s - 1) + N4 * (S - 1);
        e.seconds = phase(l, 4.0 * (s - 1) * cmax, N4 * (s - 1)) + phase(l, 4.0 * (S - 1) * cmax, N4 * (S - 1));
    } else {
        if (topo.is_server) {
            e.sent = N4 * S;
            e.recv = N4 * s;
        } else {
            e.sent = j_me >= 0 ? N4 : 0.0;
            e.recv = N4;
        }
        e.total = N4 * (s + S);
        e.seconds = phase(l, N4 * s, N4 * s) + phase(l, N4 * S, N4 * S);
    }
    return e;
}

/* A round: the metadata exchange, then (unless skipped) the mean. */
static Expect sync_cost(const LinkConfig *l, size_t n, const int *surv, int skipped)
{
    Expect e = {0};
    if (!topo.with_server) {
        e.sent = e.recv = 32.0 * (S - 1);
        e.total = 32.0 * S * (S - 1);
        e.seconds = phase(l, 32.0 * (S - 1), e.total);
    } else {
        e.sent = topo.is_server ? 40.0 * S * S : 32.0;
        e.recv = topo.is_server ? 32.0 * S : 40.0 * S;
        e.total = 32.0 * S + 40.0 * S * S;
        e.seconds = phase(l, 32.0 * S, 32.0 * S) + phase(l, 40.0 * S * S, 40.0 * S * S);
    }
    if (!skipped) {
        Expect m = mean_cost(l, n, surv);
        e.sent += m.sent;
        e.recv += m.recv;
        e.total += m.total;
        e.seconds += m.seconds;
    }
    return e;
}

/* Counts of this rank against `want`; the sum over all ranks against the reported total.
 * Collective over the world (every rank calls it, inactive ranks with st = NULL). */
static void compare(const char *what, const RoundStats *st, Expect want, const LinkConfig *l)
{
    double mine[2] = {st ? (double)st->bytes_sent : 0.0, st ? (double)st->bytes_recv : 0.0}, sum[2];
    MPI_Allreduce(mine, sum, 2, MPI_DOUBLE, MPI_SUM, MPI_COMM_WORLD);
    if (!st) return;
    CHECK(mine[0] == want.sent && mine[1] == want.recv, "%s rank %d: sent %.0f recv %.0f, want %.0f %.0f", what,
          topo.world_rank, mine[0], mine[1], want.sent, want.recv);
    CHECK((double)st->bytes_total == want.total, "%s: total %llu, want %.0f", what,
          (unsigned long long)st->bytes_total, want.total);
    CHECK(sum[0] == want.total && sum[1] == want.total, "%s: ranks sent %.0f and received %.0f, want %.0f", what,
          sum[0], sum[1], want.total);
    double want_s = l->emulate == LINK_OFF ? 0.0 : want.seconds;
    CHECK(fabs(st->modeled_seconds - want_s) <= 1e-12 * want_s, "%s: modeled %.9g s, want %.9g s", what,
          st->modeled_seconds, want_s);
}

static void run_case(size_t n, int k, int min_clients, LinkEmulation emulate)
{
    int active = topo.is_leader || topo.is_server;
    LinkConfig l = {.bandwidth_mbps = 100.0, .latency_ms = 10.0, .emulate = emulate};
    DropPolicy drop = {.outlier_factor = 0.0, .min_clients = min_clients};
    OuterConfig oc = {.kind = OUTER_FEDAVG, .lr = 1.0f};
    Federation *f = active ? fed_create(&topo, &oc, n, &drop, &l) : NULL;
    float *theta = malloc(n * sizeof(float)), *x = malloc(n * sizeof(float)), *out = malloc(n * sizeof(float));
    synth_gaussian(theta, n, 3, 1.0);
    synth_local(x, theta, n, topo.silo < 0 ? 0 : topo.silo, 0, 1.0);
    int part[MAXS];
    fed_sample_clients(77, (long)n, S, k, part);
    int s = 0;
    for (int j = 0; j < S; j++) s += part[j];
    int skipped = s < min_clients;
    char what[128];
    snprintf(what, sizeof what, "n=%zu s=%d/%d%s %s", n, s, S, skipped ? " skipped" : "", link_emulation_name(emulate));

    RoundStats st;
    if (active) {
        int rc = fed_sync(f, 0, part, x, topo.is_leader ? 1000.0 : 0.0, theta, &st);
        CHECK(rc == skipped && st.skipped == skipped, "%s: rc %d", what, rc);
    }
    compare(what, active ? &st : NULL, sync_cost(&l, n, part, skipped), &l);
    if (skipped) goto done;

    // fed_mean adds its traffic to the round's.
    RoundStats round = st;
    if (active) fed_mean(f, x, out, n, &st);
    RoundStats diff = st;
    diff.bytes_sent -= round.bytes_sent;
    diff.bytes_recv -= round.bytes_recv;
    diff.bytes_total -= round.bytes_total;
    diff.modeled_seconds -= round.modeled_seconds;
    char what2[160];
    snprintf(what2, sizeof what2, "%s fed_mean", what);
    compare(what2, active ? &diff : NULL, mean_cost(&l, n, part), &l);

    // The ddp exchange: every silo, every step.
    int all[MAXS];
    for (int j = 0; j < S; j++) all[j] = 1;
    if (active) fed_allreduce_mean(f, x, n, &st);
    snprintf(what2, sizeof what2, "n=%zu fed_allreduce_mean", n);
    compare(what2, active ? &st : NULL, mean_cost(&l, n, all), &l);
done:
    fed_free(f);
    free(theta);
    free(x);
    free(out);
}

/* Per-silo links (silo k: 10·4^k Mbps, (k + 1) ms; the server at its default, the fastest and
 * nearest): a round of every silo costs the per-rank formula of link.h,
 *     max over the ranks r in a phase of latency_r + max(up_r, down_r)·8/bandwidth_r,
 * with each phase's bytes per rank written out again here; and a list with the same value for
 * every silo models bitwise the seconds of the single link. */
static double rank_time(const LinkConfig *l, int r, double bytes)
{
    double bw = r < S ? l->silo_bandwidth_mbps[r] : l->silo_bandwidth_mbps[S - 1];
    double lat = r < S ? l->silo_latency_ms[r] : l->silo_latency_ms[0];
    return bytes > 0.0 ? lat * 1e-3 + bytes * 8.0 / (bw * 1e6) : 0.0;
}

static void per_silo_case(size_t n)
{
    int active = topo.is_leader || topo.is_server;
    LinkConfig mixed = {.bandwidth_mbps = 1.0, .latency_ms = 1.0, .num_links = S, .emulate = LINK_MODEL};
    LinkConfig one = {.bandwidth_mbps = 100.0, .latency_ms = 10.0, .emulate = LINK_MODEL}, list = one;
    list.num_links = S;
    for (int k = 0; k < S; k++) {
        mixed.silo_bandwidth_mbps[k] = 10.0 * pow(4.0, k);
        mixed.silo_latency_ms[k] = k + 1.0;
        list.silo_bandwidth_mbps[k] = 100.0;
        list.silo_latency_ms[k] = 10.0;
    }
    const LinkConfig *links[3] = {&mixed, &one, &list};
    double modeled[3] = {0};
    float *theta = malloc(n * sizeof(float)), *x = malloc(n * sizeof(float));
    for (int c = 0; c < 3; c++) {
        Federation *f = active ? fed_create(&topo, &(OuterConfig){.kind = OUTER_FEDAVG, .lr = 1.0f}, n,
                                            &(DropPolicy){.min_clients = 1}, links[c]) : NULL;
        synth_gaussian(theta, n, 3, 1.0);
        synth_local(x, theta, n, topo.silo < 0 ? 0 : topo.silo, 0, 1.0);
        RoundStats st;
        if (active) {
            fed_sync(f, 0, NULL, x, 1000.0, theta, &st);
            modeled[c] = st.modeled_seconds;
        }
        fed_free(f);
    }
    free(theta);
    free(x);
    if (!active) return;
    CHECK(memcmp(&modeled[1], &modeled[2], sizeof(double)) == 0, "n=%zu: uniform list %.17g s, single link %.17g s", n,
          modeled[2], modeled[1]);

    // The mixed links, phase by phase (every silo survives; chunk j of n floats: ⌊n/S⌋ or one more).
    double want = 0.0, t;
    const double N4 = 4.0 * (double)n, TABLE = 40.0 * S;
    if (!topo.with_server) {
        t = 0.0; // the records
        for (int k = 0; k < S; k++) t = fmax(t, rank_time(&mixed, k, 32.0 * (S - 1)));
        want += t;
        double rs = 0.0, ag = 0.0;
        for (int k = 0; k < S; k++) {
            const double c = 4.0 * (double)(n / (size_t)S + ((size_t)k < n % (size_t)S));
            if (S > 1) rs = fmax(rs, rank_time(&mixed, k, fmax((S - 1) * c, N4 - c)));
            if (S > 1) ag = fmax(ag, rank_time(&mixed, k, fmax((S - 1) * c, N4 - c)));
        }
        want += rs + ag;
    } else {
        t = rank_time(&mixed, S, 32.0 * S); // the records to the server
        for (int k = 0; k < S; k++) t = fmax(t, rank_time(&mixed, k, 32.0));
        want += t;
        t = rank_time(&mixed, S, TABLE * S); // the verdicts back
        for (int k = 0; k < S; k++) t = fmax(t, rank_time(&mixed, k, TABLE));
        want += t;
        t = rank_time(&mixed, S, N4 * S); // the uploads
        for (int k = 0; k < S; k++) t = fmax(t, rank_time(&mixed, k, N4));
        want += t;
        t = rank_time(&mixed, S, N4 * S); // θ back down
        for (int k = 0; k < S; k++) t = fmax(t, rank_time(&mixed, k, N4));
        want += t;
    }
    if (S == 1 && !topo.with_server) want = 0.0;
    CHECK(fabs(modeled[0] - want) <= 1e-12 * want, "n=%zu per-silo links: modeled %.12g s, want %.12g s", n, modeled[0], want);
}

int main(int argc, char **argv)
{
    char usage[64];
    snprintf(usage, sizeof usage, "S(1..%d) SERVER", MAXS);
    int server;
    fed_test_start(&argc, &argv, 2, 1, MAXS, usage, &topo, &S, &server);
    const size_t sizes[] = {1, 5, 1000, 1001};
    const int ks[] = {1, 2, 0};
    for (int a = 0; a < 4; a++)
        for (int b = 0; b < 3; b++)
            if (ks[b] < S) run_case(sizes[a], ks[b], 1, LINK_MODEL);
    if (S >= 2) run_case(1001, 1, 2, LINK_MODEL); // 1 sampled, 2 needed: skipped, metadata only
    run_case(1000, 0, 1, LINK_OFF);
    per_silo_case(1000);
    per_silo_case(1001);

    // LINK_SLEEP: a slow link (4 Mbit/s, 20 ms) makes a 2048-float round take ~0.1-0.2 s.
    int active = topo.is_leader || topo.is_server;
    const size_t n = 2048;
    LinkConfig l = {.bandwidth_mbps = 4.0, .latency_ms = 20.0, .emulate = LINK_SLEEP};
    Federation *f = active ? fed_create(&topo, &(OuterConfig){.kind = OUTER_FEDAVG, .lr = 1.0f}, n,
                                        &(DropPolicy){.min_clients = 1}, &l) : NULL;
    float *theta = calloc(n, sizeof(float)), *x = malloc(n * sizeof(float));
    synth_local(x, theta, n, topo.silo < 0 ? 0 : topo.silo, 0, 1.0);
    if (active) {
        RoundStats st;
        fed_sync(f, 0, NULL, x, 1.0, theta, &st);
        fed_mean(f, x, x, n, &st);
        int all[MAXS];
        for (int j = 0; j < S; j++) all[j] = 1;
        Expect want = sync_cost(&l, n, all, 0), m = mean_cost(&l, n, all);
        double want_s = want.seconds + m.seconds;
        CHECK(fabs(st.modeled_seconds - want_s) <= 1e-12 * want_s, "sleep: modeled %g, want %g", st.modeled_seconds, want_s);
        CHECK(S == 1 || st.modeled_seconds > 0.05, "sleep: modeled only %g s", st.modeled_seconds);
        // The clocks are read in whole nanoseconds and summed in double: allow a microsecond.
        CHECK(st.comm_seconds >= st.modeled_seconds - 1e-6, "sleep: measured %.6f s < modeled %.6f s", st.comm_seconds,
              st.modeled_seconds);
        if (topo.world_rank == 0)
            printf("LINK_SLEEP: rank 0 measured %.4f s for a modeled %.4f s\n", st.comm_seconds, st.modeled_seconds);
    }
    fed_free(f);
    free(theta);
    free(x);

    return fed_test_finish(&topo, "test_fed_link", S, server);
}
