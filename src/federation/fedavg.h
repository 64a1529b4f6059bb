/* fedavg.h: one federated round on flat parameter vectors (Photon / DiLoCo).
 *
 * Every participating silo starts the round from the global model θ, runs H local steps and
 * ends at θ_k. What travels between silos is θ_k (the same bytes as the pseudo-gradient
 * Δ_k = θ − θ_k). The round's aggregate is the token-weighted mean
 *     θ̄ = Σ_k p_k θ_k,   p_k = w_k / Σ_j w_j   (w_k: tokens silo k processed)
 * over the surviving participants, and the outer optimizer (outer.h) turns Δ = θ − θ̄ into the
 * new θ. doc/federation.md describes the algorithm, both topologies and the cost formulas.
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

#include "link.h"
#include "outer.h"
#include "topology.h"

#define FED_REASON_MAX 320
#define FAULT_ROUNDS_MAX 64

/* Which participants the aggregate leaves out (see doc/federation.md, "Dropping"). Non-finite
 * pseudo-gradients are always dropped. */
typedef struct {
    // A participant whose ‖Δ_k‖ exceeds outlier_factor × the median ‖Δ‖ of the finite participants
    // is dropped. Applied only with at least 3 finite participants and a positive median (with 2,
    // "the median" is their mean and cannot single out one of them); 0 disables the rule.
    double outlier_factor;
    // The round proceeds when at least this many participants survive, else it is skipped: θ and
    // the outer optimizer's state stay as they were. Values below 1 act as 1.
    int min_clients;
} DropPolicy;

/* Fault injection, for tests and for users who want to see the drop rule work: silo `silo` reports
 * a model with a NaN in it at the listed rounds, and at any round with probability `prob` (a GSL
 * mt19937 seeded from (seed, round): the same decision on every rank, every run). The NaN is put
 * into a copy of θ_k before the metadata step, so detection runs on the real data path. A silo
 * that does not participate in a round cannot fail in it. */
typedef struct {
    int silo;          // < 0: no faults
    const int *rounds; // (num_rounds) 0-based rounds at which the silo fails (copied by fed_set_fault)
    int num_rounds;
    double prob;       // in [0, 1]: probability of failing in any other round
    unsigned long seed;
} FaultConfig;

/* Whether `silo` fails at `round` under fc (NULL: never). */
int fault_fires(const FaultConfig *fc, int silo, long round);

/* dropped[k]: why silo k's model was left out of the round's aggregate (0: it was not). */
enum { DROP_NONE = 0, DROP_NONFINITE = 1, DROP_OUTLIER = 2 };

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

/* The ddp baseline's per-step gradient exchange: g (n, in/out) becomes the equal-weight mean of
 * the S leaders' g (p = (float)(1/S) each), over the same weak links, summed in the same canonical
 * order. Server: g receives the mean, or NULL as in fed_mean. st (may be NULL): overwritten with
 * this exchange (round -1, every silo participating). */
void fed_allreduce_mean(Federation *f, float *g, size_t n, RoundStats *st);

/* Client sampling: `k` of the S silos take part in `round`, chosen by a GSL mt19937 seeded from
 * (seed, round): identical on every rank without communication. k <= 0 or k >= S: all. */
void fed_sample_clients(unsigned long seed, long round, int S, int k, int *participating);

/* The outer optimizer this rank holds (to checkpoint or restore m, v, t), or NULL if none. */
OuterOpt *fed_outer(Federation *f);

#endif
