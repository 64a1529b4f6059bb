/* round_policy.h: the decisions of a federated round, as pure functions (no MPI, no state).
 *
 * Who takes part (client sampling), who fails on purpose (fault injection), and who is left out
 * of the aggregate (drops) are functions of the settings, (seed, round) and the participants'
 * metadata records only. Every rank that holds the same records therefore reaches the same
 * verdicts without further communication: the allreduce topology decides on every leader, the
 * server topology on the server (and broadcasts the verdicts). fedavg.c calls these; the unit
 * test validation/test_fed_policy.c calls them on crafted records.
 *
 * A silo's record is REC_LEN doubles (one MPI datatype carries it exactly): whether it took part,
 * the tokens it processed (its weight w_k), whether ‖Δ_k‖ is finite, and ‖Δ_k‖. The decided
 * table appends the verdict: REC_TABLE_LEN doubles per silo. */
#ifndef PHOTON_ROUND_POLICY_H
#define PHOTON_ROUND_POLICY_H

#include <stddef.h>

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

/* Client sampling: `k` of the S silos take part in `round`, chosen by a GSL mt19937 seeded from
 * (seed, round): identical on every rank without communication. k <= 0 or k >= S: all. */
void fed_sample_clients(unsigned long seed, long round, int S, int k, int *participating);

/* dropped[k]: why silo k's model was left out of the round's aggregate (0: it was not). */
enum { DROP_NONE = 0, DROP_NONFINITE = 1, DROP_OUTLIER = 2 };

/* A participant's fate in a round: DROP_* for the dropped, and two more. */
enum { VERDICT_ABSENT = -1, VERDICT_KEPT = DROP_NONE, VERDICT_NONFINITE = DROP_NONFINITE,
       VERDICT_OUTLIER = DROP_OUTLIER };

/* The fields of a silo's record, and the decided table's extra column. */
enum { REC_PART, REC_WEIGHT, REC_FINITE, REC_NORM, REC_LEN };
enum { REC_VERDICT = REC_LEN, REC_TABLE_LEN };

/* A leader's record. part: it trained this round (else weight, theta and x are ignored and the
 * record says absent); x (n): what it reports (θ_k); theta (n): the round's start θ. ‖θ − x‖ is
 * summed in double in fixed blocks, so the record does not depend on the thread count. */
void policy_make_record(int part, double weight, const float *theta, const float *x, size_t n,
                        double rec[REC_LEN]);

/* The median ‖Δ‖ of the finite participants among S records `stride` doubles apart (0 if none);
 * *count (may be NULL) gets how many finite participants there are. */
double policy_median_norm(int S, const double *rec, int stride, int *count);

/* verdict[k] (S) for S records `stride` doubles apart: absent, non-finite, outlier (the rule of
 * DropPolicy) or kept. */
void policy_decide(const DropPolicy *dp, int S, const double *rec, int stride, int *verdict);

/* What a round's verdicts mean, for the stats and for the aggregation. The caller provides the
 * (S) arrays; policy_outcome fills them and the scalars. */
typedef struct {
    int *participated;   // (S) 1 if silo k took part
    int *dropped;        // (S) DROP_*
    double *weight;      // (S) its record's weight
    double *delta_norm;  // (S) its record's ‖Δ‖
    int *surv;           // (S) the survivors, ascending silo order: the canonical order
    float *p;            // (S) their weights p_j = (float)(w_j / Σ w), Σ in double, ascending
    int participants, survivors;
    int skipped;         // survivors < min_clients
    double median_norm;  // policy_median_norm
    char reason[FED_REASON_MAX]; // "" or "silo 2 dropped: ...; round skipped: ..."
} RoundOutcome;

/* Fill `o` from S records (`stride` doubles apart) and their verdicts. Deterministic: the same
 * records and verdicts give the same bits (weights, reason text) on every rank. */
void policy_outcome(const DropPolicy *dp, int S, const double *rec, int stride, const int *verdict,
                    RoundOutcome *o);

#endif
