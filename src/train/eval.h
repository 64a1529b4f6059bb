/* eval.h: validation loss and perplexity of a model, overall and per source (domain). */
#ifndef PHOTON_EVAL_H
#define PHOTON_EVAL_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

#include "gpt.h"

typedef struct {
    int num_sources;
    int T;               /* window length: T inputs, T targets */
    uint32_t **tokens;   /* per source: the held-out tokens scored */
    size_t *num_windows; /* per source: windows of T+1 tokens at stride T */
} EvalSet;

/* Reads the validation tokens of every source from the data file, keeping about `budget`
 * tokens spread evenly over the sources (0 = all). Returns 0 or -1 with a message; a source whose
 * stream is shorter than one window (T + 1 tokens) is refused, naming it (its loss would be NaN). */
int evalset_load(EvalSet *e, const char *path, int num_sources, int T, long budget, char *err, size_t errlen);
void evalset_free(EvalSet *e);

/* Mean next-token loss of `m` per source and overall (token-weighted), the windows dealt to the
 * ranks of `comm` (every rank of comm must hold the same weights). per_source has num_sources
 * entries; a source without windows gets NaN. */
void evalset_run(const EvalSet *e, GPT *m, MPI_Comm comm, double *per_source, double *overall);

#endif
