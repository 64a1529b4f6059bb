/* fedavg.h: one federated round on flat parameter vectors (Photon / DiLoCo).
 *
 * Every participating silo starts the round from the global model θ, runs H local steps and
 * ends at θ_k. What travels between silos is its pseudo-gradient Δ_k = θ − θ_k, encoded by a
 * codec (codec.h; the lossless fp32 codec carries θ_k's floats). The round's aggregate is the
 * token-weighted mean
 *     θ̄ = Σ_k p_k θ_k,   p_k = w_k / Σ_j w_j   (w_k: tokens silo k processed)
 * over the surviving participants, and the outer optimizer (outer.h) turns Δ = θ − θ̄ into the
 * new θ. doc/federation.md describes the algorithm, both topologies and the cost formulas.
 *
 * Layers: this file orchestrates a round on top of round_policy.h (sampling, faults, drop
 * decisions: pure functions), transport.h (the topology's data movement and its accounting),
 * codec.h (a silo vector's bytes) and outer.h (the outer step).
 *
 * Determinism: p_k is computed in double (Σ over survivors in ascending silo order), then used as
 * float; θ̄ is ALWAYS summed in ascending silo order with the same float operations
 *     acc = p_first·x_first;  acc += p_k·x_k  (k ascending)
 * by whichever rank owns the element, so the allreduce and server topologies give bitwise the
 * same θ̄, hence the same θ. (Starting from the first product rather than from 0.0f keeps a single
 * silo's vector bitwise, −0.0 included.)
 *
 * Who calls what: fed_create / fed_sync / fed_mean / fed_allreduce_mean on every silo leader AND
 * on the server, the same calls in the same order (they are collective over the inter-silo
 * communicators). Other ranks never call them: the training driver broadcasts the results inside
 * each silo (silo_comm). */
#ifndef PHOTON_FEDAVG_H
#define PHOTON_FEDAVG_H

#include <stddef.h>
#include <stdint.h>

#include "codec.h"
#include "codec_choice.h"
#include "link.h"
#include "outer.h"
#include "round_policy.h"
#include "topology.h"

/* [compress]: what the silos' pseudo-gradients travel as (codec.h).
 *
 * codec = fp32 keeps the exact path above (θ_k's floats by reduce-scatter, θ̄, the new θ as
 * fp32). Any lossy codec takes the compressed path, identical in both topologies:
 *   uplink    survivor k encodes u_k = Δ_k + e_k (e_k: its residual, 0 without error feedback);
 *             Δ̄ = Σ_k p_k·decode(u_k) (ascending silo order) on the aggregating ranks
 *   outer     θ̄ = θ − Δ̄; the outer optimizer gives θ'; U = θ − θ'
 *   downlink  the holder(s) of the outer state encode U + e_down (e_down: the downlink residual);
 *             every rank applies θ ← θ − decode(·)   (server: the server broadcasts the payload;
 *             allreduce: every leader computed the same payload, nothing moves)
 * Error feedback: a survivor of a round that was not skipped keeps e_k ← u_k − decode(u_k); a
 * dropped silo's residual is cleared; otherwise it is kept. The downlink's e_down likewise.
 * fed_mean (inner_state = average, average_m: the first moment) encodes the vector itself (no
 * residual) and sends the mean down the same way; fed_mean_exact (the second moment) does not. */
typedef struct {
    CodecConfig codec;
    int error_feedback;
    /* codec = auto (adaptive = 1; codec.kind is then ignored): every round each survivor encodes
     * its u_k with the codec codec_choose (codec_choice.h) picks for its own link (link.h,
     * link_of_rank) and budget comm_budget × compute time, where the compute time is compute_s
     * when > 0, else the one fed_set_round_compute gave (measured), and the bandwidth is the
     * link's configured one, or under LINK_OFF the rate this leader's last payload upload
     * measured (transport_last_upload) once there is one. Every silo then takes the compressed
     * path (fp32 chosen: a lossless payload, residual 0). The downlink uses the lossiest codec
     * any survivor chose that round (it fits the slowest link) in both topologies, so they stay
     * bitwise equal. The choice is deterministic, and with it resume and the topologies' equality,
     * exactly when compute_s > 0 and emulate != off: measured times differ run to run. The
     * header then carries the compute time and bandwidth (PAYLOAD_HDR_AUTO), so that every rank
     * recomputes each silo's choice and its reason. */
    int adaptive;
    double comm_budget; // fraction of a round's compute time one upload may take, (0, 10]
    double compute_s;   // the compute time the choice budgets against; 0 = measured
} CompressConfig;

/* One exchange's outcome. Everything but the per-rank counters (bytes_sent, bytes_recv,
 * comm_seconds) is identical on every leader and on the server. The arrays belong to the
 * Federation: valid until the next fed_sync (resp. fed_allreduce_mean) or fed_free; a RoundStats
 * needs no initialisation. */
typedef struct {
    long round;            // -1 for fed_allreduce_mean
    int num_silos;         // S: the arrays' length
    int participants;      // silos sampled this round
    int survivors;         // participants not dropped
    int skipped;           // survivors < min_clients: θ (and the outer state) unchanged
    int *participated;     // (S) 1 if silo k took part
    int *dropped;          // (S) DROP_NONE, DROP_NONFINITE or DROP_OUTLIER
    double *weight;        // (S) tokens silo k reported (0 when absent)
    double *delta_norm;    // (S) ‖θ − θ_k‖ (0 when absent; Inf or NaN when non-finite)
    double median_norm;    // median ‖Δ‖ of the finite participants (0 if none)
    char reason[FED_REASON_MAX]; // "" or e.g. "silo 2 dropped: non-finite pseudo-gradient"
    uint64_t bytes_sent, bytes_recv; // by THIS rank over inter-silo links
    uint64_t bytes_total;  // by all ranks over inter-silo links (the formulas of link.h)
    double comm_seconds;   // this rank's wall time in inter-silo MPI calls (+ LINK_SLEEP delays)
    double modeled_seconds; // the link model's time for this traffic (0 with LINK_OFF)
    double state_bytes;    // of bytes_total: the inner optimizer state's (inner_state = average, average_m; set by the driver)
    // The compressed path (compressed = 1; all zero for fp32): per silo, as its header said.
    int compressed;
    int *codec;            // (S) CodecKind of its payload (-1 when it sent none)
    double *payload_bytes; // (S) its pseudo-gradient's encoded bytes
    double *comp_error;    // (S) ‖u − decode(encode(u))‖ / ‖u‖ of what it encoded
    double *residual_norm; // (S) ‖e_k‖ after the round (0 without error feedback)
    double down_bytes;     // the downlink payload's bytes
    double down_error;     // its relative compression error
    int down_codec;        // its CodecKind
    // codec = auto: (S × CODEC_REASON_MAX) row k = why silo k's payload took codec[k] ("" when it
    // sent none); NULL otherwise.
    const char *choice_reason;
} RoundStats;

typedef struct Federation Federation;

/* 0, or -1 with a message naming the bad setting: the outer optimizer's (outer_config_check),
 * the link's (link_config_check), outlier_factor >= 0, min_clients <= S, the fault silo, rounds
 * and probability. fault may be NULL. fed_create and fed_set_fault stop the run on settings this
 * refuses, so check user input here first (the deck's ranges already imply it). */
int fed_config_check(const Topology *t, const OuterConfig *oc, const DropPolicy *drop,
                     const LinkConfig *link, const FaultConfig *fault, char *err, size_t errlen);

/* n: parameters in θ. Local (no communication); call it on the leaders and the server (on other
 * ranks it returns an object that refuses every exchange). The topology must outlive the
 * Federation. The outer optimizer lives on every leader (allreduce: replicated state) or on the
 * server only (server topology). No faults until fed_set_fault. */
Federation *fed_create(const Topology *t, const OuterConfig *oc, size_t n, const DropPolicy *drop,
                       const LinkConfig *link);
/* Choose the codec (copies cc; NULL: fp32). Call before the first exchange, on the same ranks. */
void fed_set_compress(Federation *f, const CompressConfig *cc);
/* codec = auto with compute_s = 0: the compute time of the round about to be synchronised (s,
 * e.g. its slowest worker's), which the next fed_sync's choice budgets against. Local; ignored
 * otherwise. */
void fed_set_round_compute(Federation *f, double seconds);
/* The error-feedback residuals this rank holds (n floats, to checkpoint or restore), or NULL:
 * a leader's own e_k, and the downlink's e_down on the holder(s) of the outer state. */
float *fed_residual(Federation *f);
float *fed_residual_down(Federation *f);
/* Install fault injection (copies fc and its rounds); fc->silo < 0 or fc NULL: none. */
void fed_set_fault(Federation *f, const FaultConfig *fc);
void fed_free(Federation *f);

/* One round. Leader: participating (S flags, identical on every rank; NULL = all) says which silos
 * trained this round; theta_local (n) = its silo's model after the local steps (ignored, may be
 * NULL, when not participating); weight = tokens it processed (> 0 when participating, ignored
 * otherwise); theta_global (n) = the round's start weights in, the new global model out.
 * Server: participating, theta_local and weight are ignored; theta_global is its own copy of θ,
 * in/out. st: overwritten. Returns 0 when θ was updated, 1 when the round was skipped. */
int fed_sync(Federation *f, long round, const int *participating, const float *theta_local,
             double weight, float *theta_global, RoundStats *st);

/* Weighted mean of another vector (e.g. the inner optimizer's moments, inner_state = average)
 * with the weights of the last fed_sync's survivors, by the same machinery: result in x_mean (n)
 * on every leader (x_mean may equal x_local). Only the survivors' x_local travel; the other
 * leaders just receive the mean. If the last round was skipped (or there was none) each leader
 * gets its own x_local back and nothing travels. Server: x_local ignored; x_mean (n) receives the
 * mean, or NULL for a scratch buffer (n <= the federation's n). ADDS its bytes and times to st
 * (pass the round's RoundStats), st may be NULL. */
void fed_mean(Federation *f, const float *x_local, float *x_mean, size_t n, RoundStats *st);
/* fed_mean in fp32 whatever the round's codec (the exact float rule of an uncompressed round).
 * For AdamW's second moment: an absmax codec (int8, int4, topk) flushes its small entries to
 * zero, and AdamW then steps by m/eps (measured: the default deck diverged with int8). */
void fed_mean_exact(Federation *f, const float *x_local, float *x_mean, size_t n, RoundStats *st);

/* The ddp baseline's per-step gradient exchange: g (n, in/out) becomes the equal-weight mean of
 * the S leaders' g (p = (float)(1/S) each), over the same weak links, summed in the same canonical
 * order. Server: g receives the mean, or NULL as in fed_mean. st (may be NULL): overwritten with
 * this exchange (round -1, every silo participating). */
void fed_allreduce_mean(Federation *f, float *g, size_t n, RoundStats *st);

/* The outer optimizer this rank holds (to checkpoint or restore its state and t), or NULL. */
OuterOpt *fed_outer(Federation *f);

#endif
