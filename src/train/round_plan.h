/* round_plan.h: which global steps make up each round. The plan is a pure function of the deck
 * (federation.local_steps, sync_steps, local_steps_schedule and run.steps), so every rank, a
 * resumed run and the tests compute the same rounds:
 *   - the first sync_steps steps (federated mode) are synchronous rounds of local_steps steps
 *     (the last one ends at sync_steps): ddp steps, no federated average;
 *   - then rounds of H(p) local steps, H from the schedule at the round's progress p (its first
 *     step's place among the steps after sync_steps), rounded, at least 1; the last round ends
 *     at run.steps.
 * With neither (the default) round r is steps [r H, (r + 1) H): the rounds photon always had. */
#ifndef PHOTON_ROUND_PLAN_H
#define PHOTON_ROUND_PLAN_H

#include "run_config.h"

typedef struct {
    long num_rounds;
    long *first;          // (num_rounds + 1) first global step of each round; first[num_rounds] = steps
    unsigned char *sync;  // (num_rounds) 1: a synchronous (ddp) round
    double *progress;     // (num_rounds) p of the round in [0, 1) (0 for synchronous rounds)
} RoundPlan;

/* Builds the plan of `steps` global steps. Not collective. mode != federated: constant rounds. */
void round_plan_build(RoundPlan *p, const FedConfig *f, long steps);
void round_plan_free(RoundPlan *p);
static inline long round_plan_steps(const RoundPlan *p, long r) { return p->first[r + 1] - p->first[r]; }

#endif
