/* fedavg.c: a federated round on flat vectors, orchestrated on top of the layers: the leader's
 * record and fault injection, the drop decisions (round_policy.h), the weighted mean and the
 * broadcasts of the topology's transport (transport.h, moving codec.h's bytes), the outer step
 * (outer.h), and RoundStats (fedavg.h, doc/federation.md). */
#include "fedavg_private.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "codec.h"
#include "transport.h"

#define TABLE_BYTES (REC_TABLE_LEN * sizeof(double))


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
    if (f->lossy && !ddp) fed_lossy_stats_reset(f, st);
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
    fed_lossy_free(f);
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
        fed_lossy_round(f, x, theta_global, st, &tr);
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

static void mean_of(Federation *f, const float *x_local, float *x_mean, size_t n, RoundStats *st, int exact)
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
    if (f->lossy && !exact) {
        Traffic tr = traffic_of(st);
        fed_lossy_mean(f, x_local, out, n, &tr);
        traffic_store(st, &tr);
        return;
    }
    mean_everywhere(f, f->last.survivors, f->last.surv, f->last.p, x_local, out, n, st);
}

void fed_mean(Federation *f, const float *x_local, float *x_mean, size_t n, RoundStats *st)
{
    mean_of(f, x_local, x_mean, n, st, 0);
}

void fed_mean_exact(Federation *f, const float *x_local, float *x_mean, size_t n, RoundStats *st)
{
    mean_of(f, x_local, x_mean, n, st, 1);
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
