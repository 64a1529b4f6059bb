/* fedavg_private.h: what fedavg.c (the round) and fedavg_compress.c (its compressed path, see
 * fedavg.h) share; nothing else includes it. */
#ifndef PHOTON_FEDAVG_PRIVATE_H
#define PHOTON_FEDAVG_PRIVATE_H

#include "codec.h"
#include "fedavg.h"
#include "transport.h"

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
    double *hdrs;        // (S, hdr_len) the survivors' headers
    int hdr_len;         // PAYLOAD_HDR, or PAYLOAD_HDR_AUTO with codec = auto
    int *st_codec;       // (S) RoundStats' compressed-path arrays
    double *st_bytes, *st_err, *st_res;
    // codec = auto (fedavg.h): this round's uplink settings (the kind this leader chose) and the
    // downlink's, the compute time given, the last measured upload rate (LINK_OFF), the reasons.
    CodecConfig up_cc, down_cc;
    double round_compute_s;
    double measured_mbps;   // 0: none yet
    char *st_reason;        // (S × CODEC_REASON_MAX)
};

// The transport adds to the stats' counters in place (the same sums in the same order).
static inline Traffic traffic_of(const RoundStats *st)
{
    return (Traffic){st->bytes_sent, st->bytes_recv, st->bytes_total, st->comm_seconds, st->modeled_seconds};
}

static inline void traffic_store(RoundStats *st, const Traffic *t)
{
    st->bytes_sent = t->bytes_sent;
    st->bytes_recv = t->bytes_recv;
    st->bytes_total = t->bytes_total;
    st->comm_seconds = t->comm_seconds;
    st->modeled_seconds = t->modeled_seconds;
}

/* fedavg_compress.c: the compressed path (fedavg.h, "[compress]"). */
// The lossy stats arrays of an exchange about to start (every silo: no payload yet).
void fed_lossy_stats_reset(Federation *f, RoundStats *st);
// One compressed round after the agreement (not skipped); x: this leader's θ_k.
void fed_lossy_round(Federation *f, const float *x, float *theta, RoundStats *st, Traffic *tr);
// fed_mean's compressed path: out (n, may be NULL on the server) gets the decoded mean.
void fed_lossy_mean(Federation *f, const float *x_local, float *out, size_t n, Traffic *tr);
void fed_lossy_free(Federation *f);

#endif
