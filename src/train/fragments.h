/* fragments.h: streaming sync (Streaming DiLoCo, arXiv 2501.18512): [federation] fragments = F,
 * overlap_steps = τ, mix_alpha = α.
 *
 * The parameters are split into F fragments, layer-strided: layer l of every per-layer tensor
 * belongs to fragment l mod F, and each tensor outside the layers (wte, wpe, lnf) is cut into F
 * contiguous near-equal pieces, piece f to fragment f (doc/federation.md, "Streaming sync").
 * Fragment f's exchange lands after the local steps ≡ f·H/F (mod H) of every round (fragment 0
 * on the round boundary) and starts τ steps earlier: the fragments sync H/F steps apart, each
 * every H steps, and every exchange of a round ends inside it (nothing is in flight at a round
 * boundary, where evaluations and checkpoints happen). An exchange is one federated round (fed_sync: pseudo-gradient, codec, outer step) on
 * the fragment's values alone, with a Federation (outer state, residuals) of its own, so it moves
 * 1/F of the model. With τ > 0 it runs on a thread of each silo leader (MPI_THREAD_MULTIPLE)
 * while the main thread trains the next τ steps; when it lands its new global values go to
 * θ_global and into the local model, θ_local ← α·θ_local + (1 − α)·θ_global (α = 0: replaced).
 * At the last step every fragment with steps since its exchange syncs at once, so the run ends at
 * θ_global.
 *
 * Who calls what: every rank calls fragments_after_step after each global step, in the same
 * order (the syncs are collective over the federation's communicators and each silo). The
 * driver uses it only when F > 1 or τ > 0: F = 1 with τ = 0 is the plain round (round_sync.c). */
#ifndef PHOTON_FRAGMENTS_H
#define PHOTON_FRAGMENTS_H

#include <stddef.h>
#include <stdint.h>

#include "fedavg.h"
#include "gpt.h"

typedef struct { size_t off, cnt; } FragRange;

/* Local. The F fragments of a model of config c as ranges of the flat parameter vector:
 * ranges[f] (nranges[f] of them, ascending, adjacent ones merged), size[f] values in all. The
 * caller frees ranges[f], ranges, nranges, size. */
void fragments_plan(const GPTConfig *c, int F, FragRange ***ranges, int **nranges, size_t **size);

/* Whether fragment f's exchange starts after global step `step` (H local steps per round, F
 * fragments, merges τ steps after the start): when (step + 1 + τ) ≡ f·H/F (mod H). */
int fragment_syncs_after(long step, long H, int F, int tau, int f);

struct Trainer;
typedef struct Fragments Fragments;

/* Sets up the fragments' federations (leaders and the server) and buffers. COLLECTIVE in the
 * sense of fed_create: local, on every rank. */
Fragments *fragments_create(struct Trainer *tr);
void fragments_free(Fragments *fr);

/* One exchange's record, for the round's report. */
typedef struct {
    int fragment;
    long step;
    double bytes, modeled_s; // all ranks' bytes; the link model's time
    double exposed_s;        // the part not hidden behind the overlap (round_sync.c)
} FragExchange;
#define FRAG_LOG_MAX 128

/* After global step `step` of the round (every rank): the exchanges that land now (joined,
 * merged), then the ones that start now (all of them, inline, at the run's last step). Appends
 * each landed exchange to log (*nlog) and returns 1 with its RoundStats in *st (the round's
 * flags: drops, skips), 0 if none landed. */
int fragments_after_step(struct Trainer *tr, long round, long step, FragExchange *log, int *nlog, RoundStats *st);

/* θ_global on every worker (evaluations and final.h5 use it): swap it with the local model in
 * tr->model (call twice to swap back). */
void fragments_swap_global(struct Trainer *tr);

/* Checkpoints: the state beyond the plain round's, assembled as full-length buffers.
 * before_write: gathers the fragments' outer states and residuals into the views (holders).
 * after_read: scatters them back. state: (F, 3) int64 rows {due step, last sync step, outer t}. */
void fragments_before_write(Fragments *fr);
void fragments_after_read(Fragments *fr);
OuterOpt *fragments_outer_view(Fragments *fr);
float *fragments_residual_view(Fragments *fr);
float *fragments_residual_down_view(Fragments *fr);
int64_t *fragments_state(Fragments *fr);
int fragments_count(const Fragments *fr);

#endif
