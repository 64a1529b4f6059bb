/* fedavg.c: a federated round on flat vectors: metadata, drop decisions, the canonical-order
 * weighted mean over the allreduce or server topology, the outer step, and the byte/time
 * accounting of every inter-silo exchange (fedavg.h, doc/federation.md). */
#include "fedavg.h"

#include <limits.h>
#include <stdarg.h>
#include <math.h>
#include <stdio.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>
#include <gsl/gsl_sort.h>
#include <gsl/gsl_statistics_double.h>

#include "check.h"

// Point-to-point tag of the model uploads to the server (the only p2p traffic on server_inter).
#define FED_TAG 7302

// A leader's per-round metadata record (doubles, so one MPI datatype carries it exactly).
enum { META_PART, META_WEIGHT, META_FINITE, META_NORM, META_LEN };
// The server's answer per silo: the record plus its verdict.
enum { TABLE_VERDICT = META_LEN, TABLE_LEN };
#define META_BYTES (META_LEN * sizeof(double))
#define TABLE_BYTES (TABLE_LEN * sizeof(double))

// A participant's fate in a round: DROP_* for the dropped, and two more.
enum { VERDICT_ABSENT = -1, VERDICT_KEPT = DROP_NONE, VERDICT_NONFINITE = DROP_NONFINITE,
       VERDICT_OUTLIER = DROP_OUTLIER };

// Random-stream domains: client sampling and fault injection never share a stream.
enum { STREAM_SAMPLE = 1, STREAM_FAULT = 2 };

struct Federation {
    Topology topo;
    int S;
    size_t n;
    DropPolicy drop;
    LinkConfig link;
    FaultConfig fault; // .rounds points to fault_rounds
    int *fault_rounds;
    int active;      // a leader or the server
    int holds_outer; // allreduce: every leader; server topology: the server
    OuterOpt outer;
    // The last fed_sync's survivors, for fed_mean: ascending silos and their float weights.
    int last_valid, last_s;
    int *last_surv; // (S)
    float *last_p;  // (S)
    // Every silo with equal weight, for fed_allreduce_mean.
    int *all_surv;  // (S)
    float *all_p;   // (S)
    // What RoundStats points to: the last round's per-silo outcome, and the ddp exchange's.
    int *participated, *dropped;   // (S)
    double *weight, *delta_norm;   // (S)
    int *ddp_participated, *ddp_dropped; // (S) all 1, all 0
    double *ddp_weight, *ddp_norm; // (S) all 1, all 0
    // Scratch.
    double *meta;   // (S, META_LEN)
    double *table;  // (S, TABLE_LEN)
    double *sorted; // (S)
    int *verdict;   // (S) Verdict
    int *sc, *sd, *rc, *rd; // (S) MPI_Alltoallv / MPI_Allgatherv counts and displacements
    float *recv;    // received chunks (allreduce) or one whole model (server)
    size_t recv_cap;
    float *avg;     // (n) θ̄
    float *poison;  // (n) a faulty silo's corrupted copy of θ_k, allocated on first use
};

/* ---------------------------------------------------------------------------------------------
 * Seeds, sampling, faults */

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

void fed_sample_clients(unsigned long seed, long round, int S, int k, int *participating)
{
    if (k <= 0 || k >= S) {
        for (int i = 0; i < S; i++) participating[i] = 1;
        return;
    }
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) PHOTON_FATAL("gsl_rng_alloc failed");
    gsl_rng_set(r, seed_mix(seed, round, STREAM_SAMPLE));
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
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    if (!r) PHOTON_FATAL("gsl_rng_alloc failed");
    gsl_rng_set(r, seed_mix(fc->seed, round, STREAM_FAULT));
    int fires = gsl_rng_uniform(r) < fc->prob;
    gsl_rng_free(r);
    return fires;
}

/* ---------------------------------------------------------------------------------------------
 * Stats */

// Start an exchange's stats: zero the counters, point the arrays at the federation's.
static void stats_reset(Federation *f, RoundStats *st, long round, int ddp)
{
    memset(st, 0, sizeof *st);
    st->round = round;
    st->num_silos = f->S;
    st->participated = ddp ? f->ddp_participated : f->participated;
    st->dropped = ddp ? f->ddp_dropped : f->dropped;
    st->weight = ddp ? f->ddp_weight : f->weight;
    st->delta_norm = ddp ? f->ddp_norm : f->delta_norm;
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

/* ---------------------------------------------------------------------------------------------
 * Decisions: pure functions of the gathered metadata, so every rank that holds the same records
 * reaches the same verdicts. */

// Median ‖Δ‖ of the participants whose Δ is finite; *count gets how many there are.
static double median_finite_norm(Federation *f, const double *meta, int stride, int *count)
{
    int m = 0;
    for (int k = 0; k < f->S; k++) {
        const double *r = meta + (size_t)k * stride;
        if (r[META_PART] != 0.0 && r[META_FINITE] != 0.0) f->sorted[m++] = r[META_NORM];
    }
    *count = m;
    if (m == 0) return 0.0;
    gsl_sort(f->sorted, 1, (size_t)m);
    return gsl_stats_median_from_sorted_data(f->sorted, 1, (size_t)m);
}

static void decide(Federation *f, const double *meta, int stride, int *verdict)
{
    for (int k = 0; k < f->S; k++) {
        const double *r = meta + (size_t)k * stride;
        verdict[k] = r[META_PART] == 0.0     ? VERDICT_ABSENT
                     : r[META_FINITE] == 0.0 ? VERDICT_NONFINITE
                                             : VERDICT_KEPT;
    }
    int nfinite;
    double median = median_finite_norm(f, meta, stride, &nfinite);
    if (f->drop.outlier_factor > 0.0 && nfinite >= 3 && median > 0.0) {
        double limit = f->drop.outlier_factor * median;
        for (int k = 0; k < f->S; k++)
            if (verdict[k] == VERDICT_KEPT && meta[(size_t)k * stride + META_NORM] > limit)
                verdict[k] = VERDICT_OUTLIER;
    }
}

static int min_clients(const Federation *f) { return f->drop.min_clients < 1 ? 1 : f->drop.min_clients; }

// Fill st from the records and verdicts, and remember the survivors and their weights.
static void record_round(Federation *f, const double *meta, int stride, const int *verdict,
                         RoundStats *st)
{
    int S = f->S, nfinite;
    st->median_norm = median_finite_norm(f, meta, stride, &nfinite);
    st->participants = st->survivors = 0;
    f->last_s = 0;
    double wsum = 0.0;
    for (int k = 0; k < S; k++) {
        const double *r = meta + (size_t)k * stride;
        f->participated[k] = verdict[k] != VERDICT_ABSENT;
        f->dropped[k] = verdict[k] == VERDICT_ABSENT ? DROP_NONE : verdict[k];
        f->weight[k] = r[META_WEIGHT];
        f->delta_norm[k] = r[META_NORM];
        st->participants += f->participated[k];
        if (verdict[k] == VERDICT_NONFINITE)
            reason_append(st->reason, "silo %d dropped: non-finite pseudo-gradient", k);
        if (verdict[k] == VERDICT_OUTLIER)
            reason_append(st->reason, "silo %d dropped: outlier, |delta| %.4g > %g x median %.4g",
                          k, r[META_NORM], f->drop.outlier_factor, st->median_norm);
        if (verdict[k] == VERDICT_KEPT) {
            f->last_surv[f->last_s++] = k;
            wsum += r[META_WEIGHT]; // ascending silo order: the canonical order
        }
    }
    st->survivors = f->last_s;
    st->skipped = st->survivors < min_clients(f);
    if (st->skipped)
        reason_append(st->reason, "round skipped: %d of %d participants survived, min_clients = %d",
                      st->survivors, st->participants, min_clients(f));
    for (int j = 0; j < f->last_s; j++)
        f->last_p[j] = (float)(meta[(size_t)f->last_surv[j] * stride + META_WEIGHT] / wsum);
    f->last_valid = !st->skipped;
}

/* ---------------------------------------------------------------------------------------------
 * Arithmetic */

// acc = p·x (first) or acc += p·x: the one place θ̄'s float operations happen, for both topologies.
static void accumulate(float *acc, const float *x, size_t cnt, float p, int first)
{
    if (first) {
#pragma omp parallel for schedule(static) if (cnt > 65536)
        for (size_t i = 0; i < cnt; i++) acc[i] = p * x[i];
    } else {
#pragma omp parallel for schedule(static) if (cnt > 65536)
        for (size_t i = 0; i < cnt; i++) acc[i] += p * x[i];
    }
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

static void ensure_recv(Federation *f, size_t cap)
{
    if (cap <= f->recv_cap) return;
    free(f->recv);
    f->recv = mallocCheck(cap * sizeof(float));
    f->recv_cap = cap;
}

/* ---------------------------------------------------------------------------------------------
 * Timed, counted phases */

typedef struct {
    int64_t mpi_ns; // this rank's time inside the phase's MPI calls
} Phase;

#define PHASE_MPI(ph, call)                                                                     \
    do {                                                                                        \
        int64_t phase_t0_ = link_now_ns();                                                      \
        mpiCheck(call);                                                                         \
        (ph)->mpi_ns += link_now_ns() - phase_t0_;                                              \
    } while (0)

// Close a phase: model its time, sleep the difference under LINK_SLEEP, account everything.
static void phase_end(Federation *f, Phase *ph, LinkPhase cost, RoundStats *st)
{
    double modeled = link_phase_seconds(&f->link, cost);
    int64_t slept = link_wait(&f->link, ph->mpi_ns, modeled);
    st->comm_seconds += (double)(ph->mpi_ns + slept) * 1e-9;
    st->modeled_seconds += modeled;
    st->bytes_total += cost.total_bytes;
}

static void check_count(size_t n)
{
    if (n > (size_t)INT_MAX)
        PHOTON_FATAL("vector of %zu floats exceeds one MPI message (%d elements)", n, INT_MAX);
}

/* ---------------------------------------------------------------------------------------------
 * The weighted mean, topology allreduce: a hand-made reduce-scatter (MPI_Alltoallv: chunk j of
 * every survivor's x goes to survivor j, who sums the s pieces in canonical order) then an
 * MPI_Allgatherv to every leader. x may equal out. */
static void mean_over_leaders(Federation *f, int s, const int *surv, const float *p,
                              const float *x, float *out, size_t n, RoundStats *st)
{
    int S = f->S, me = f->topo.silo, jm = -1;
    for (int j = 0; j < s; j++)
        if (surv[j] == me) jm = j;
    // Chunk j of n: base or base+1 floats, the first n % s chunks one longer.
    size_t base = n / (size_t)s, rem = n % (size_t)s;
#define CHUNK_CNT(j) (base + ((size_t)(j) < rem))
#define CHUNK_OFF(j) ((size_t)(j) * base + ((size_t)(j) < rem ? (size_t)(j) : rem))
    size_t mine = jm >= 0 ? CHUNK_CNT(jm) : 0;
    for (int r = 0; r < S; r++) f->sc[r] = f->sd[r] = f->rc[r] = f->rd[r] = 0;
    if (jm >= 0)
        for (int j = 0; j < s; j++) {
            int r = surv[j];
            f->sc[r] = (int)CHUNK_CNT(j);
            f->sd[r] = (int)CHUNK_OFF(j);
            f->rc[r] = (int)mine;
            f->rd[r] = (int)((size_t)j * mine);
        }
    ensure_recv(f, (size_t)s * mine);

    Phase ph = {0};
    PHASE_MPI(&ph, MPI_Alltoallv(x, f->sc, f->sd, MPI_FLOAT, f->recv, f->rc, f->rd, MPI_FLOAT,
                                 f->topo.leaders));
    for (int r = 0; r < S; r++)
        if (r != me) {
            st->bytes_sent += 4 * (uint64_t)f->sc[r];
            st->bytes_recv += 4 * (uint64_t)f->rc[r];
        }
    phase_end(f, &ph, link_reduce_scatter(n, s), st);

    if (jm >= 0)
        for (int j = 0; j < s; j++)
            accumulate(out + CHUNK_OFF(jm), f->recv + (size_t)j * mine, mine, p[j], j == 0);

    for (int r = 0; r < S; r++) f->rc[r] = f->rd[r] = 0;
    for (int j = 0; j < s; j++) {
        f->rc[surv[j]] = (int)CHUNK_CNT(j);
        f->rd[surv[j]] = (int)CHUNK_OFF(j);
    }
    ph = (Phase){0};
    PHASE_MPI(&ph, MPI_Allgatherv(MPI_IN_PLACE, 0, MPI_DATATYPE_NULL, out, f->rc, f->rd, MPI_FLOAT,
                                  f->topo.leaders));
    st->bytes_sent += 4 * (uint64_t)(S - 1) * mine;
    for (int r = 0; r < S; r++)
        if (r != me) st->bytes_recv += 4 * (uint64_t)f->rc[r];
    phase_end(f, &ph, link_allgather_chunks(n, s, S), st);
#undef CHUNK_CNT
#undef CHUNK_OFF
}

/* The weighted mean, topology server. Leaders: the s survivors send x; the server receives them
 * in canonical order, accumulating into out as each arrives. */
static void upload_to_server(Federation *f, int s, int i_survive, const float *x, size_t n,
                             RoundStats *st)
{
    Phase ph = {0};
    if (i_survive) {
        PHASE_MPI(&ph, MPI_Send(x, (int)n, MPI_FLOAT, 0, FED_TAG, f->topo.server_inter));
        st->bytes_sent += 4 * (uint64_t)n;
    }
    phase_end(f, &ph, link_to_server(s, 4 * n), st);
}

static void server_receive_mean(Federation *f, int s, const int *surv, const float *p, float *out,
                                size_t n, RoundStats *st)
{
    ensure_recv(f, n);
    Phase ph = {0};
    for (int j = 0; j < s; j++) {
        PHASE_MPI(&ph, MPI_Recv(f->recv, (int)n, MPI_FLOAT, surv[j], FED_TAG, f->topo.server_inter,
                                MPI_STATUS_IGNORE));
        st->bytes_recv += 4 * (uint64_t)n;
        accumulate(out, f->recv, n, p[j], j == 0);
    }
    phase_end(f, &ph, link_to_server(s, 4 * n), st);
}

// Server -> every leader (MPI_Bcast over the intercommunicator); buf is the root's or the result.
static void broadcast_from_server(Federation *f, void *buf, int count, MPI_Datatype type,
                                  size_t bytes, RoundStats *st)
{
    Phase ph = {0};
    if (f->topo.is_server) {
        PHASE_MPI(&ph, MPI_Bcast(buf, count, type, MPI_ROOT, f->topo.server_inter));
        st->bytes_sent += (uint64_t)f->S * bytes;
    } else {
        PHASE_MPI(&ph, MPI_Bcast(buf, count, type, 0, f->topo.server_inter));
        st->bytes_recv += bytes;
    }
    phase_end(f, &ph, link_from_server(f->S, bytes), st);
}

/* ---------------------------------------------------------------------------------------------
 * Create / free */

int fed_config_check(const Topology *t, const OuterConfig *oc, const DropPolicy *drop,
                     const LinkConfig *link, const FaultConfig *fault, char *err, size_t errlen)
{
    if (outer_config_check(oc, err, errlen) != 0) return -1;
    if (link_config_check(link, err, errlen) != 0) return -1;
    if (!(drop->outlier_factor >= 0.0) || !isfinite(drop->outlier_factor)) {
        snprintf(err, errlen, "outlier factor must be >= 0 (0 disables the rule), got %g",
                 drop->outlier_factor);
        return -1;
    }
    if (drop->min_clients > t->num_silos) {
        snprintf(err, errlen, "min_clients = %d exceeds the %d silos: no round could proceed",
                 drop->min_clients, t->num_silos);
        return -1;
    }
    if (fault && fault->silo >= 0) {
        if (fault->silo >= t->num_silos) {
            snprintf(err, errlen, "fault silo %d is not one of the %d silos (0..%d)", fault->silo,
                     t->num_silos, t->num_silos - 1);
            return -1;
        }
        if (!(fault->prob >= 0.0 && fault->prob <= 1.0)) {
            snprintf(err, errlen, "fault probability must be in [0, 1], got %g", fault->prob);
            return -1;
        }
        if (fault->num_rounds < 0 || (fault->num_rounds > 0 && !fault->rounds)) {
            snprintf(err, errlen, "fault rounds: %d rounds but no list", fault->num_rounds);
            return -1;
        }
    }
    return 0;
}

Federation *fed_create(const Topology *t, const OuterConfig *oc, size_t n, const DropPolicy *drop,
                       const LinkConfig *link)
{
    char err[256];
    if (fed_config_check(t, oc, drop, link, NULL, err, sizeof err) != 0) PHOTON_FATAL("fed_create: %s", err);
    if (n == 0) PHOTON_FATAL("fed_create: a model with 0 parameters");
    check_count(n);

    Federation *f = callocCheck(1, sizeof *f);
    f->topo = *t;
    f->S = t->num_silos;
    f->n = n;
    f->drop = *drop;
    f->link = *link;
    f->fault.silo = -1;
    f->active = t->is_leader || t->is_server;
    if (!f->active) return f;

    int S = f->S;
    f->holds_outer = t->with_server ? t->is_server : t->is_leader;
    if (f->holds_outer) outer_init(&f->outer, oc, n);
    f->last_surv = mallocCheck((size_t)S * sizeof(int));
    f->last_p = mallocCheck((size_t)S * sizeof(float));
    f->all_surv = mallocCheck((size_t)S * sizeof(int));
    f->all_p = mallocCheck((size_t)S * sizeof(float));
    f->participated = callocCheck((size_t)S, sizeof(int));
    f->dropped = callocCheck((size_t)S, sizeof(int));
    f->weight = callocCheck((size_t)S, sizeof(double));
    f->delta_norm = callocCheck((size_t)S, sizeof(double));
    f->ddp_participated = mallocCheck((size_t)S * sizeof(int));
    f->ddp_dropped = callocCheck((size_t)S, sizeof(int));
    f->ddp_weight = mallocCheck((size_t)S * sizeof(double));
    f->ddp_norm = callocCheck((size_t)S, sizeof(double));
    for (int k = 0; k < S; k++) {
        f->all_surv[k] = k;
        f->all_p[k] = (float)(1.0 / S);
        f->ddp_participated[k] = 1;
        f->ddp_weight[k] = 1.0;
    }
    f->meta = mallocCheck((size_t)S * META_BYTES);
    f->table = mallocCheck((size_t)S * TABLE_BYTES);
    f->sorted = mallocCheck((size_t)S * sizeof(double));
    f->verdict = mallocCheck((size_t)S * sizeof(int));
    f->sc = mallocCheck((size_t)S * sizeof(int));
    f->sd = mallocCheck((size_t)S * sizeof(int));
    f->rc = mallocCheck((size_t)S * sizeof(int));
    f->rd = mallocCheck((size_t)S * sizeof(int));
    f->avg = mallocCheck(n * sizeof(float));
    return f;
}

void fed_set_fault(Federation *f, const FaultConfig *fc)
{
    char err[256];
    if (fed_config_check(&f->topo, &(OuterConfig){.kind = OUTER_FEDAVG, .lr = 1.0f}, &f->drop,
                         &f->link, fc, err, sizeof err) != 0)
        PHOTON_FATAL("fed_set_fault: %s", err);
    free(f->fault_rounds);
    f->fault_rounds = NULL;
    f->fault = (FaultConfig){.silo = -1};
    if (!fc || fc->silo < 0) return;
    f->fault = *fc;
    if (fc->num_rounds > 0) {
        f->fault_rounds = mallocCheck((size_t)fc->num_rounds * sizeof(int));
        memcpy(f->fault_rounds, fc->rounds, (size_t)fc->num_rounds * sizeof(int));
    }
    f->fault.rounds = f->fault_rounds;
}

void fed_free(Federation *f)
{
    if (!f) return;
    if (f->holds_outer) outer_free(&f->outer);
    free(f->fault_rounds);
    free(f->participated);
    free(f->dropped);
    free(f->weight);
    free(f->delta_norm);
    free(f->ddp_participated);
    free(f->ddp_dropped);
    free(f->ddp_weight);
    free(f->ddp_norm);
    free(f->last_surv);
    free(f->last_p);
    free(f->all_surv);
    free(f->all_p);
    free(f->meta);
    free(f->table);
    free(f->sorted);
    free(f->verdict);
    free(f->sc);
    free(f->sd);
    free(f->rc);
    free(f->rd);
    free(f->recv);
    free(f->avg);
    free(f->poison);
    free(f);
}

OuterOpt *fed_outer(Federation *f) { return f->holds_outer ? &f->outer : NULL; }

static void require_active(const Federation *f, const char *what)
{
    if (!f->active)
        PHOTON_FATAL("%s is called by silo leaders and the server only (world rank %d is silo %d "
                     "rank %d)", what, f->topo.world_rank, f->topo.silo, f->topo.silo_rank);
}

/* ---------------------------------------------------------------------------------------------
 * The round */

int fed_sync(Federation *f, long round, const int *participating, const float *theta_local,
             double weight, float *theta_global, RoundStats *st)
{
    require_active(f, "fed_sync");
    stats_reset(f, st, round, 0);
    int S = f->S;
    size_t n = f->n;

    if (f->topo.is_server) {
        // Metadata up, verdicts down.
        Phase ph = {0};
        PHASE_MPI(&ph, MPI_Gather(NULL, 0, MPI_DOUBLE, f->meta, META_LEN, MPI_DOUBLE, MPI_ROOT,
                                  f->topo.server_inter));
        st->bytes_recv += (uint64_t)S * META_BYTES;
        phase_end(f, &ph, link_to_server(S, META_BYTES), st);
        decide(f, f->meta, META_LEN, f->verdict);
        for (int k = 0; k < S; k++) {
            memcpy(f->table + (size_t)k * TABLE_LEN, f->meta + (size_t)k * META_LEN, META_BYTES);
            f->table[(size_t)k * TABLE_LEN + TABLE_VERDICT] = f->verdict[k];
        }
        broadcast_from_server(f, f->table, S * TABLE_LEN, MPI_DOUBLE, (size_t)S * TABLE_BYTES, st);
        record_round(f, f->meta, META_LEN, f->verdict, st);
        if (st->skipped) return 1;
        server_receive_mean(f, f->last_s, f->last_surv, f->last_p, f->avg, n, st);
        outer_step(&f->outer, theta_global, f->avg, n);
        broadcast_from_server(f, theta_global, (int)n, MPI_FLOAT, 4 * n, st);
        return 0;
    }

    // A leader: its metadata record.
    int me = f->topo.silo;
    int part = participating ? participating[me] != 0 : 1;
    double rec[META_LEN] = {part, 0.0, 1.0, 0.0};
    const float *x = theta_local;
    if (part) {
        if (!(weight > 0.0) || !isfinite(weight))
            PHOTON_FATAL("silo %d participates in round %ld with weight %g: weights are the tokens "
                         "it processed, > 0", me, round, weight);
        if (!theta_local) PHOTON_FATAL("silo %d participates in round %ld without a model", me, round);
        if (fault_fires(&f->fault, me, round)) {
            if (!f->poison) f->poison = mallocCheck(n * sizeof(float));
            memcpy(f->poison, theta_local, n * sizeof(float));
            f->poison[(unsigned long)round % n] = NAN;
            x = f->poison;
        }
        double norm2 = delta_norm2(theta_global, x, n);
        rec[META_WEIGHT] = weight;
        rec[META_FINITE] = isfinite(norm2) ? 1.0 : 0.0;
        rec[META_NORM] = sqrt(norm2);
    }

    if (f->topo.with_server) {
        Phase ph = {0};
        PHASE_MPI(&ph, MPI_Gather(rec, META_LEN, MPI_DOUBLE, NULL, 0, MPI_DOUBLE, 0,
                                  f->topo.server_inter));
        st->bytes_sent += META_BYTES;
        phase_end(f, &ph, link_to_server(S, META_BYTES), st);
        broadcast_from_server(f, f->table, S * TABLE_LEN, MPI_DOUBLE, (size_t)S * TABLE_BYTES, st);
        for (int k = 0; k < S; k++) f->verdict[k] = (int)f->table[(size_t)k * TABLE_LEN + TABLE_VERDICT];
        record_round(f, f->table, TABLE_LEN, f->verdict, st);
        if (st->skipped) return 1;
        upload_to_server(f, f->last_s, f->verdict[me] == VERDICT_KEPT, x, n, st);
        broadcast_from_server(f, theta_global, (int)n, MPI_FLOAT, 4 * n, st);
        return 0;
    }

    Phase ph = {0};
    PHASE_MPI(&ph, MPI_Allgather(rec, META_LEN, MPI_DOUBLE, f->meta, META_LEN, MPI_DOUBLE,
                                 f->topo.leaders));
    st->bytes_sent += (uint64_t)(S - 1) * META_BYTES;
    st->bytes_recv += (uint64_t)(S - 1) * META_BYTES;
    phase_end(f, &ph, link_allgather_records(S, META_BYTES), st);
    decide(f, f->meta, META_LEN, f->verdict);
    record_round(f, f->meta, META_LEN, f->verdict, st);
    if (st->skipped) return 1;
    mean_over_leaders(f, f->last_s, f->last_surv, f->last_p, x, f->avg, n, st);
    outer_step(&f->outer, theta_global, f->avg, n);
    return 0;
}

void fed_mean(Federation *f, const float *x_local, float *x_mean, size_t n, RoundStats *st)
{
    require_active(f, "fed_mean");
    check_count(n);
    RoundStats scratch;
    if (!st) {
        st = &scratch;
        stats_reset(f, st, -1, 0);
    }
    if (!f->last_valid) {
        // Nothing to average with: every leader keeps its own vector.
        if (!f->topo.is_server && x_mean != x_local) memcpy(x_mean, x_local, n * sizeof(float));
        return;
    }
    if (f->topo.is_server) {
        float *out = x_mean;
        if (!out) {
            if (n > f->n) PHOTON_FATAL("fed_mean of %zu floats on the server needs x_mean", n);
            out = f->avg;
        }
        server_receive_mean(f, f->last_s, f->last_surv, f->last_p, out, n, st);
        broadcast_from_server(f, out, (int)n, MPI_FLOAT, 4 * n, st);
    } else if (f->topo.with_server) {
        int i_survive = 0;
        for (int j = 0; j < f->last_s; j++) i_survive |= f->last_surv[j] == f->topo.silo;
        upload_to_server(f, f->last_s, i_survive, x_local, n, st);
        broadcast_from_server(f, x_mean, (int)n, MPI_FLOAT, 4 * n, st);
    } else {
        mean_over_leaders(f, f->last_s, f->last_surv, f->last_p, x_local, x_mean, n, st);
    }
}

void fed_allreduce_mean(Federation *f, float *g, size_t n, RoundStats *st)
{
    require_active(f, "fed_allreduce_mean");
    check_count(n);
    RoundStats scratch;
    if (!st) st = &scratch;
    stats_reset(f, st, -1, 1);
    st->participants = st->survivors = f->S;
    if (f->topo.is_server) {
        float *out = g;
        if (!out) {
            if (n > f->n) PHOTON_FATAL("fed_allreduce_mean of %zu floats on the server needs g", n);
            out = f->avg;
        }
        server_receive_mean(f, f->S, f->all_surv, f->all_p, out, n, st);
        broadcast_from_server(f, out, (int)n, MPI_FLOAT, 4 * n, st);
    } else if (f->topo.with_server) {
        upload_to_server(f, f->S, 1, g, n, st);
        broadcast_from_server(f, g, (int)n, MPI_FLOAT, 4 * n, st);
    } else {
        mean_over_leaders(f, f->S, f->all_surv, f->all_p, g, g, n, st);
    }
}
