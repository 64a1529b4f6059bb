/* fedavg.c: a federated round on flat vectors, orchestrated on top of the layers: the leader's
 * record and fault injection, the drop decisions (round_policy.h), the weighted mean and the
 * broadcasts of the topology's transport (transport.h, moving codec.h's bytes), the outer step
 * (outer.h), and RoundStats (fedavg.h, doc/federation.md). */
#include "fedavg.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "transport.h"

#define TABLE_BYTES (REC_TABLE_LEN * sizeof(double))

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
    Transport *tp;      // the topology's transport (uses &topo)
    // The last fed_sync's outcome: what RoundStats points to, and the survivors and their float
    // weights for fed_mean (valid when last_valid).
    RoundOutcome last;
    int last_valid;
    // Every silo with equal weight, for fed_allreduce_mean, and its RoundStats arrays.
    int *all_surv;  // (S)
    float *all_p;   // (S)
    int *ddp_participated, *ddp_dropped; // (S) all 1, all 0
    double *ddp_weight, *ddp_norm; // (S) all 1, all 0
    // Scratch.
    double *meta;   // (S, REC_LEN) the gathered records
    double *table;  // (S, REC_TABLE_LEN) records and verdicts, as decided
    int *verdict;   // (S)
    float *avg;     // (n) θ̄
    float *poison;  // (n) a faulty silo's corrupted copy of θ_k, allocated on first use
    // The compressed path (fedavg.h), when the codec is lossy.
    CompressConfig cc;
    const Codec *codec;
    int lossy;
    long round;          // the current exchange's round (stochastic rounding's stream)
    int vec;             // which vector of the round: 0 the pseudo-gradient, 1, 2, ... fed_mean's
    float *resid;        // (n) leader: e_k (error feedback)
    float *resid_down;   // (n) outer holder: e_down (error feedback)
    float *u, *dec;      // (n) what is encoded, and its decoding
    float *prev;         // (n) θ before the outer step
    unsigned char *pay;  // (max_bytes) an encoded payload
    size_t pay_cap;
    double *hdrs;        // (S, PAYLOAD_HDR) the survivors' headers
    int *st_codec;       // (S) RoundStats' compressed-path arrays
    double *st_bytes, *st_err, *st_res;
};

/* ---------------------------------------------------------------------------------------------
 * Stats */

// Start an exchange's stats: zero the counters, point the arrays at the federation's.
static void stats_reset(Federation *f, RoundStats *st, long round, int ddp)
{
    memset(st, 0, sizeof *st);
    st->round = round;
    st->num_silos = f->S;
    st->participated = ddp ? f->ddp_participated : f->last.participated;
    st->dropped = ddp ? f->ddp_dropped : f->last.dropped;
    st->weight = ddp ? f->ddp_weight : f->last.weight;
    st->delta_norm = ddp ? f->ddp_norm : f->last.delta_norm;
    if (f->lossy && !ddp) {
        st->compressed = 1;
        st->codec = f->st_codec;
        st->payload_bytes = f->st_bytes;
        st->comp_error = f->st_err;
        st->residual_norm = f->st_res;
        for (int k = 0; k < f->S; k++) {
            f->st_codec[k] = -1;
            f->st_bytes[k] = f->st_err[k] = 0.0;
            f->st_res[k] = 0.0; // the survivors' come from their headers
        }
    }
}

// The transport adds to the stats' counters in place (the same sums in the same order).
static Traffic traffic_of(const RoundStats *st)
{
    return (Traffic){st->bytes_sent, st->bytes_recv, st->bytes_total, st->comm_seconds, st->modeled_seconds};
}

static void traffic_store(RoundStats *st, const Traffic *t)
{
    st->bytes_sent = t->bytes_sent;
    st->bytes_recv = t->bytes_recv;
    st->bytes_total = t->bytes_total;
    st->comm_seconds = t->comm_seconds;
    st->modeled_seconds = t->modeled_seconds;
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
    transport_check_count(n, n * sizeof(float));

    Federation *f = callocCheck(1, sizeof *f);
    f->topo = *t;
    f->S = t->num_silos;
    f->n = n;
    f->drop = *drop;
    f->link = *link;
    f->fault.silo = -1;
    f->codec = &codec_fp32;
    f->cc.codec = (CodecConfig){.kind = CODEC_FP32, .block = 1};
    f->active = t->is_leader || t->is_server;
    if (!f->active) return f;

    int S = f->S;
    f->holds_outer = t->with_server ? t->is_server : t->is_leader;
    if (f->holds_outer) outer_init(&f->outer, oc, n);
    f->tp = transport_create(&f->topo, link);
    f->last.participated = callocCheck((size_t)S, sizeof(int));
    f->last.dropped = callocCheck((size_t)S, sizeof(int));
    f->last.weight = callocCheck((size_t)S, sizeof(double));
    f->last.delta_norm = callocCheck((size_t)S, sizeof(double));
    f->last.surv = mallocCheck((size_t)S * sizeof(int));
    f->last.p = mallocCheck((size_t)S * sizeof(float));
    f->all_surv = mallocCheck((size_t)S * sizeof(int));
    f->all_p = mallocCheck((size_t)S * sizeof(float));
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
    f->meta = mallocCheck((size_t)S * REC_LEN * sizeof(double));
    f->table = mallocCheck((size_t)S * TABLE_BYTES);
    f->verdict = mallocCheck((size_t)S * sizeof(int));
    f->avg = mallocCheck(n * sizeof(float));
    return f;
}

void fed_set_compress(Federation *f, const CompressConfig *cc)
{
    char err[256];
    CompressConfig plain = {.codec = {.kind = CODEC_FP32, .block = 1}};
    if (!cc) cc = &plain;
    if (codec_config_check(&cc->codec, err, sizeof err) != 0) PHOTON_FATAL("fed_set_compress: %s", err);
    f->cc = *cc;
    f->codec = codec_for(&cc->codec);
    f->lossy = !f->codec->lossless;
    if (!f->active || !f->lossy || f->u) return;
    const size_t n = f->n, S = (size_t)f->S;
    size_t cap = f->codec->max_bytes(&cc->codec, n);
    transport_check_count(n, cap);
    f->pay_cap = cap ? cap : 1;
    f->pay = mallocCheck(f->pay_cap);
    f->u = mallocCheck(n * sizeof(float));
    f->dec = mallocCheck(n * sizeof(float));
    f->prev = mallocCheck(n * sizeof(float));
    if (cc->error_feedback) {
        if (f->topo.is_leader) f->resid = callocCheck(n, sizeof(float));
        if (f->holds_outer) f->resid_down = callocCheck(n, sizeof(float));
    }
    f->hdrs = callocCheck(S * PAYLOAD_HDR, sizeof(double));
    f->st_codec = mallocCheck(S * sizeof(int));
    f->st_bytes = mallocCheck(S * sizeof(double));
    f->st_err = mallocCheck(S * sizeof(double));
    f->st_res = mallocCheck(S * sizeof(double));
}

float *fed_residual(Federation *f) { return f->resid; }
float *fed_residual_down(Federation *f) { return f->resid_down; }

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
    transport_free(f->tp);
    free(f->fault_rounds);
    free(f->last.participated);
    free(f->last.dropped);
    free(f->last.weight);
    free(f->last.delta_norm);
    free(f->last.surv);
    free(f->last.p);
    free(f->all_surv);
    free(f->all_p);
    free(f->ddp_participated);
    free(f->ddp_dropped);
    free(f->ddp_weight);
    free(f->ddp_norm);
    free(f->meta);
    free(f->table);
    free(f->verdict);
    free(f->avg);
    free(f->poison);
    free(f->resid);
    free(f->resid_down);
    free(f->u);
    free(f->dec);
    free(f->prev);
    free(f->pay);
    free(f->hdrs);
    free(f->st_codec);
    free(f->st_bytes);
    free(f->st_err);
    free(f->st_res);
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

// A leader's record for the round, and the vector it reports: θ_k, or a poisoned copy of it.
static const float *leader_record(Federation *f, long round, const int *participating,
                                  const float *theta_local, double weight, const float *theta,
                                  double rec[REC_LEN])
{
    int me = f->topo.silo;
    int part = participating ? participating[me] != 0 : 1;
    const float *x = theta_local;
    if (part) {
        if (!(weight > 0.0) || !isfinite(weight))
            PHOTON_FATAL("silo %d participates in round %ld with weight %g: weights are the tokens "
                         "it processed, > 0", me, round, weight);
        if (!theta_local) PHOTON_FATAL("silo %d participates in round %ld without a model", me, round);
        if (fault_fires(&f->fault, me, round)) {
            if (!f->poison) f->poison = mallocCheck(f->n * sizeof(float));
            memcpy(f->poison, theta_local, f->n * sizeof(float));
            f->poison[(unsigned long)round % f->n] = NAN;
            x = f->poison;
        }
    }
    policy_make_record(part, weight, theta, x, f->n, rec);
    return x;
}

// The records to the deciders, their verdicts back to everyone, and what they mean (f->last).
static void agree(Federation *f, const double *rec, RoundStats *st, Traffic *tr)
{
    const TransportOps *ops = transport_ops(f->tp);
    const int S = f->S;
    if (ops->gather_records(f->tp, rec, f->meta, tr)) {
        policy_decide(&f->drop, S, f->meta, REC_LEN, f->verdict);
        for (int k = 0; k < S; k++) {
            memcpy(f->table + (size_t)k * REC_TABLE_LEN, f->meta + (size_t)k * REC_LEN, REC_LEN * sizeof(double));
            f->table[(size_t)k * REC_TABLE_LEN + REC_VERDICT] = f->verdict[k];
        }
    }
    ops->broadcast(f->tp, f->table, (size_t)S * TABLE_BYTES, tr);
    for (int k = 0; k < S; k++) f->verdict[k] = (int)f->table[(size_t)k * REC_TABLE_LEN + REC_VERDICT];
    policy_outcome(&f->drop, S, f->table, REC_TABLE_LEN, f->verdict, &f->last);
    st->participants = f->last.participants;
    st->survivors = f->last.survivors;
    st->skipped = f->last.skipped;
    st->median_norm = f->last.median_norm;
    memcpy(st->reason, f->last.reason, sizeof st->reason);
    f->last_valid = !f->last.skipped;
}

/* ---------------------------------------------------------------------------------------------
 * The compressed path (fedavg.h) */

// ‖a − b‖ (b NULL: ‖a‖) in double, serially: the same bits for any thread count.
static double diff_norm(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (b ? (double)b[i] : 0.0);
        s += d * d;
    }
    return sqrt(s);
}

// Stochastic rounding's stream for (round, who, vector): who = a silo, or S for the downlink.
static uint64_t stream_id(const Federation *f, int who)
{
    return ((uint64_t)f->round * (uint64_t)(f->S + 1) + (uint64_t)who) * 64u + (uint64_t)f->vec;
}

static int is_survivor(const Federation *f, int silo)
{
    for (int j = 0; j < f->last.survivors; j++)
        if (f->last.surv[j] == silo) return 1;
    return 0;
}

// Encode v (n) into f->pay with `stream`, decode it into f->dec; hdr gets bytes, kind, error.
static void encode_checked(Federation *f, const float *v, size_t n, uint64_t stream, double hdr[PAYLOAD_HDR])
{
    const size_t b = f->codec->encode(&f->cc.codec, v, n, stream, f->pay);
    if (b > f->pay_cap || f->codec->decode(&f->cc.codec, f->pay, b, n, f->dec) != 0)
        PHOTON_FATAL("codec %s: its own payload of %zu values does not decode (a codec bug)", f->codec->name, n);
    const double norm = diff_norm(v, NULL, n);
    hdr[HDR_BYTES] = (double)b;
    hdr[HDR_CODEC] = (double)f->cc.codec.kind;
    hdr[HDR_ERROR] = norm > 0.0 ? diff_norm(v, f->dec, n) / norm : 0.0;
    hdr[HDR_RESIDUAL] = 0.0;
}

/* Uplink: each survivor encodes its u (n; a leader's own vector), updating its residual when
 * `feedback`; the mean of the decoded payloads lands in out (n) on the aggregating ranks, every
 * survivor's header in f->hdrs. */
static void lossy_uplink(Federation *f, const float *u, float *out, size_t n, int feedback, Traffic *tr)
{
    const int me = f->topo.is_server ? -1 : f->topo.silo;
    double hdr[PAYLOAD_HDR] = {0};
    if (me >= 0 && is_survivor(f, me)) {
        encode_checked(f, u, n, stream_id(f, me), hdr);
        if (feedback && f->resid) {
            // e_k <- u_k − decode(encode(u_k)): what this round could not send.
#pragma omp parallel for schedule(static) if (n > 65536)
            for (size_t i = 0; i < n; i++) f->resid[i] = u[i] - f->dec[i];
            hdr[HDR_RESIDUAL] = diff_norm(f->resid, NULL, n);
        }
    }
    PayloadJob job = {f->last.survivors, f->last.surv, f->last.p, hdr, f->pay, &f->cc.codec, f->hdrs, out, n};
    transport_ops(f->tp)->payload_mean(f->tp, &job, tr);
}

/* Downlink: the holder(s) of the outer state encode v (n; + e_down when `feedback`, which v
 * absorbs); every rank gets the decoding in f->dec. Returns the payload's header. */
static void lossy_downlink(Federation *f, float *v, size_t n, int feedback, double hdr[PAYLOAD_HDR], Traffic *tr)
{
    const TransportOps *ops = transport_ops(f->tp);
    memset(hdr, 0, PAYLOAD_HDR * sizeof(double));
    if (f->holds_outer) {
        const int fb = feedback && f->resid_down;
        if (fb) {
#pragma omp parallel for schedule(static) if (n > 65536)
            for (size_t i = 0; i < n; i++) v[i] += f->resid_down[i];
        }
        encode_checked(f, v, n, stream_id(f, f->S), hdr);
        if (fb) {
#pragma omp parallel for schedule(static) if (n > 65536)
            for (size_t i = 0; i < n; i++) f->resid_down[i] = v[i] - f->dec[i];
            hdr[HDR_RESIDUAL] = diff_norm(f->resid_down, NULL, n);
        }
    }
    // Server topology: the header, then the payload, to every leader (allreduce: every leader
    // computed the same payload itself; nothing moves).
    ops->broadcast(f->tp, hdr, PAYLOAD_HDR * sizeof(double), tr);
    ops->broadcast(f->tp, f->pay, (size_t)hdr[HDR_BYTES], tr);
    if (!f->holds_outer && f->codec->decode(&f->cc.codec, f->pay, (size_t)hdr[HDR_BYTES], n, f->dec) != 0)
        PHOTON_FATAL("the downlink payload (%zu bytes, codec %s) does not decode as %zu values",
                     (size_t)hdr[HDR_BYTES], f->codec->name, n);
}

// The survivors' headers into the round's stats.
static void stats_from_headers(Federation *f, RoundStats *st)
{
    for (int j = 0; j < f->last.survivors; j++) {
        const int r = f->last.surv[j];
        const double *h = f->hdrs + (size_t)r * PAYLOAD_HDR;
        f->st_codec[r] = (int)h[HDR_CODEC];
        f->st_bytes[r] = h[HDR_BYTES];
        f->st_err[r] = h[HDR_ERROR];
        f->st_res[r] = h[HDR_RESIDUAL];
    }
}

/* One compressed round (after the agreement; not skipped). x: this leader's θ_k. */
static void lossy_round(Federation *f, const float *x, float *theta, RoundStats *st, Traffic *tr)
{
    const size_t n = f->n;
    const int me = f->topo.is_server ? -1 : f->topo.silo;
    f->vec = 0;
    if (me >= 0 && is_survivor(f, me)) {
        // u_k = Δ_k + e_k
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) f->u[i] = (theta[i] - x[i]) + (f->resid ? f->resid[i] : 0.0f);
    }
    lossy_uplink(f, f->u, f->avg, n, 1, tr); // f->avg = Δ̄ where it aggregates
    stats_from_headers(f, st);
    if (f->holds_outer) {
        memcpy(f->prev, theta, n * sizeof(float));
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) f->avg[i] = theta[i] - f->avg[i]; // θ̄ = θ − Δ̄
        outer_step(&f->outer, theta, f->avg, n);
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) f->u[i] = f->prev[i] - theta[i]; // U = θ − θ'
    }
    double hdr[PAYLOAD_HDR];
    lossy_downlink(f, f->u, n, 1, hdr, tr);
    const float *base = f->holds_outer ? f->prev : theta;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) theta[i] = base[i] - f->dec[i];
    st->down_bytes = hdr[HDR_BYTES];
    st->down_error = hdr[HDR_ERROR];
}

int fed_sync(Federation *f, long round, const int *participating, const float *theta_local,
             double weight, float *theta_global, RoundStats *st)
{
    require_active(f, "fed_sync");
    stats_reset(f, st, round, 0);
    const TransportOps *ops = transport_ops(f->tp);
    Traffic tr = traffic_of(st);
    double rec[REC_LEN];
    const float *x = NULL;
    if (!f->topo.is_server) x = leader_record(f, round, participating, theta_local, weight, theta_global, rec);
    agree(f, f->topo.is_server ? NULL : rec, st, &tr);
    f->round = round;
    // A dropped silo's residual may be as broken as its update: it starts again from 0.
    if (f->resid && st->dropped[f->topo.silo] != DROP_NONE) memset(f->resid, 0, f->n * sizeof(float));
    if (!st->skipped && f->lossy) {
        lossy_round(f, x, theta_global, st, &tr);
    } else if (!st->skipped) {
        MeanJob job = {f->last.survivors, f->last.surv, f->last.p, x, f->avg, f->n};
        ops->weighted_mean(f->tp, &job, &tr);
        if (f->holds_outer) outer_step(&f->outer, theta_global, f->avg, f->n);
        ops->broadcast(f->tp, theta_global, f->n * sizeof(float), &tr);
    }
    traffic_store(st, &tr);
    return st->skipped;
}

// Where the mean lands: buf, or on the server (which may pass NULL) the scratch θ̄.
static float *result_buffer(Federation *f, float *buf, size_t n, const char *what, const char *arg)
{
    if (buf || !f->topo.is_server) return buf;
    if (n > f->n) PHOTON_FATAL("%s of %zu floats on the server needs %s", what, n, arg);
    return f->avg;
}

// The weighted mean of x over (s, surv, p) into out on every leader and the server; no reference
// vector (codec.h: 0).
static void mean_everywhere(Federation *f, int s, const int *surv, const float *p, const float *x,
                            float *out, size_t n, RoundStats *st)
{
    const TransportOps *ops = transport_ops(f->tp);
    Traffic tr = traffic_of(st);
    MeanJob job = {s, surv, p, x, out, n};
    ops->weighted_mean(f->tp, &job, &tr);
    ops->broadcast(f->tp, out, n * sizeof(float), &tr);
    traffic_store(st, &tr);
}

void fed_mean(Federation *f, const float *x_local, float *x_mean, size_t n, RoundStats *st)
{
    require_active(f, "fed_mean");
    transport_check_count(n, n * sizeof(float));
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
    float *out = result_buffer(f, x_mean, n, "fed_mean", "x_mean");
    if (f->lossy) {
        // The moments themselves travel compressed (no residual), and their mean comes back down
        // through the same codec, so both topologies hold the same bits.
        Traffic tr = traffic_of(st);
        f->vec++;
        lossy_uplink(f, x_local, f->avg, n, 0, &tr);
        double hdr[PAYLOAD_HDR];
        lossy_downlink(f, f->avg, n, 0, hdr, &tr);
        if (out) memcpy(out, f->dec, n * sizeof(float));
        traffic_store(st, &tr);
        return;
    }
    mean_everywhere(f, f->last.survivors, f->last.surv, f->last.p, x_local, out, n, st);
}

void fed_allreduce_mean(Federation *f, float *g, size_t n, RoundStats *st)
{
    require_active(f, "fed_allreduce_mean");
    transport_check_count(n, n * sizeof(float));
    RoundStats scratch;
    if (!st) st = &scratch;
    stats_reset(f, st, -1, 1);
    st->participants = st->survivors = f->S;
    float *out = result_buffer(f, g, n, "fed_allreduce_mean", "g");
    mean_everywhere(f, f->S, f->all_surv, f->all_p, g, out, n, st);
}
