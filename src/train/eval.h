/* eval.h: validation loss and perplexity of a model, overall and per source (domain), with the
 * standard error of each from the spread of the loss over the validation documents. */
#ifndef PHOTON_EVAL_H
#define PHOTON_EVAL_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "gpt.h"

/* Which windows an evaluation scores: the periodic evaluations a subset ([eval] tokens), the
 * final one of a run ([eval] final_tokens, by default every window). */
typedef enum { EVAL_PERIODIC, EVAL_FINAL, EVAL_SCOPES } EvalScope;

/* What the standard error treats as independent draws: the validation documents (a window
 * belongs to the document holding its first target token), or, where the data file has no
 * usable document table, each window. */
typedef enum { EVAL_UNIT_DOCUMENT, EVAL_UNIT_WINDOW } EvalUnit;
extern const char *const eval_unit_names[]; // "document", "window"

typedef struct {
    int num_sources;
    int T;                          /* window length: T inputs, T targets */
    uint32_t **tokens;              /* per source: its whole validation stream */
    size_t *windows[EVAL_SCOPES];   /* per scope, per source: the first this many windows of T+1
                                     * tokens at stride T are scored */
    EvalUnit unit;
    char unit_note[512];            /* unit = window: why ("" otherwise) */
    size_t num_units;               /* units of all sources; source s owns [unit_base[s], unit_base[s+1]) */
    size_t *unit_base;              /* (num_sources + 1) */
    uint32_t **window_unit;         /* per source, per window of the stream: its unit */
} EvalSet;

/* Reads the validation tokens of every source from the data file. The periodic scope keeps about
 * `budget` tokens, the final scope about `final_budget`, each spread evenly over the sources
 * (0 = all). Returns 0 or -1 with a message; a source whose stream is shorter than one window
 * (T + 1 tokens) is refused, naming it (its loss would be NaN). A missing or inconsistent document
 * table is not an error: the units become windows and unit_note says why. */
int evalset_load(EvalSet *e, const char *path, int num_sources, int T, long budget, long final_budget, char *err,
                 size_t errlen);
void evalset_free(EvalSet *e);

/* One evaluation's outcome. Losses are mean next-token losses (nats); a standard error is NaN
 * where fewer than two units have scored tokens, a per-source loss NaN where the source has no
 * windows. */
typedef struct {
    double loss, loss_se;       /* overall, token-weighted */
    double tokens;              /* tokens scored (targets) */
    size_t units;               /* units with scored tokens, all sources */
    double *per_source, *per_source_se; /* (num_sources) */
} EvalResult;

void eval_result_init(EvalResult *r, int num_sources);
void eval_result_free(EvalResult *r);

/* Scores the windows of `scope` with `m`, dealt to the ranks of `comm` (every rank of comm must
 * hold the same weights); every rank gets the result. The loss sums are accumulated per batch and
 * per source as before the standard errors existed, so the losses do not depend on them. */
void evalset_run(const EvalSet *e, EvalScope scope, GPT *m, MPI_Comm comm, EvalResult *r);

/* The ratio estimator over n units with summed losses L[i] and token counts N[i] (units with
 * N[i] = 0 are left out; k = the others): *mean = sum L / sum N and
 * *se = sqrt(k/(k-1) * sum_i (L[i] - mean*N[i])^2) / sum N, the cluster (per-unit) standard error
 * of the mean. NaN mean without tokens, NaN se with k < 2. Returns k. Pure. */
size_t eval_ratio_se(const double *L, const double *N, size_t n, double *mean, double *se);

#endif
