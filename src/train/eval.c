/* eval.c: validation of a model on the held-out tokens of each source, and the standard error
 * of the result from the spread of the loss over the validation documents. */
#include "eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "datafile.h"

const char *const eval_unit_names[] = {"document", "window"};

/* Windows per source for a budget of tokens: an even share, at least one ((size_t)-1 = all). */
static size_t windows_for_budget(long budget, int num_sources, int T)
{
    size_t w = budget > 0 ? (size_t)(budget / num_sources / T) : (size_t)-1;
    return w == 0 ? 1 : w;
}

/* Window w of source s (targets from position w*T + 1) belongs to the document whose span
 * [offset, next offset) holds its first target: each document owns the EOT before it, as the
 * stream does (EOT doc EOT doc ...). The offsets must start at 0, rise strictly and lie inside
 * the stream, else 1 with the reason in note. */
static int map_documents(const int64_t *off, size_t nd, size_t n, int T, size_t windows, size_t base,
                         uint32_t *unit, const char *name, char *note, size_t notelen)
{
    if (nd == 0 || off[0] != 0) {
        snprintf(note, notelen, "the documents of /validation/%s do not start at its first token", name);
        return 1;
    }
    for (size_t j = 1; j < nd; j++)
        if (off[j] <= off[j - 1] || (uint64_t)off[j] >= n) {
            snprintf(note, notelen, "/validation/%s/doc_offsets is not rising inside the stream", name);
            return 1;
        }
    size_t j = 0;
    for (size_t w = 0; w < windows; w++) {
        const int64_t p = (int64_t)(w * (size_t)T + 1);
        while (j + 1 < nd && off[j + 1] <= p) j++;
        unit[w] = (uint32_t)(base + j);
    }
    return 0;
}

/* Units: documents where every source's table fits its stream, else windows. */
static void assign_units(EvalSet *e, const char *path, const DataInfo *info, const size_t *all)
{
    const int S = e->num_sources;
    e->unit_base = callocCheck((size_t)S + 1, sizeof *e->unit_base);
    e->window_unit = callocCheck((size_t)S, sizeof *e->window_unit);
    for (int s = 0; s < S; s++) e->window_unit[s] = mallocCheck((all[s] ? all[s] : 1) * sizeof(uint32_t));
    e->unit = EVAL_UNIT_DOCUMENT;
    for (int s = 0; s < S && e->unit == EVAL_UNIT_DOCUMENT; s++) {
        int64_t *off = NULL;
        size_t nd = 0;
        char msg[512];
        if (datafile_read_validation_docs(path, s, &off, &nd, msg, sizeof msg)) {
            snprintf(e->unit_note, sizeof e->unit_note, "%s", msg);
            e->unit = EVAL_UNIT_WINDOW;
        } else if (map_documents(off, nd, (size_t)info->val_tokens[s], e->T, all[s], e->unit_base[s], e->window_unit[s],
                                 info->source_names[s], e->unit_note, sizeof e->unit_note)) {
            e->unit = EVAL_UNIT_WINDOW;
        }
        e->unit_base[s + 1] = e->unit_base[s] + nd;
        free(off);
    }
    if (e->unit == EVAL_UNIT_WINDOW)
        for (int s = 0; s < S; s++) {
            e->unit_base[s + 1] = e->unit_base[s] + all[s];
            for (size_t w = 0; w < all[s]; w++) e->window_unit[s][w] = (uint32_t)(e->unit_base[s] + w);
        }
    e->num_units = e->unit_base[S];
}

int evalset_load(EvalSet *e, const char *path, int num_sources, int T, long budget, long final_budget, char *err,
                 size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->num_sources = num_sources;
    e->T = T;
    e->tokens = callocCheck((size_t)num_sources, sizeof *e->tokens);
    for (int k = 0; k < EVAL_SCOPES; k++) e->windows[k] = callocCheck((size_t)num_sources, sizeof(size_t));
    const size_t cap[EVAL_SCOPES] = {windows_for_budget(budget, num_sources, T),
                                     windows_for_budget(final_budget, num_sources, T)};
    size_t *all = callocCheck((size_t)num_sources, sizeof *all);
    DataInfo info;
    if (datafile_read_info(path, &info, err, errlen)) {
        free(all);
        evalset_free(e);
        return -1;
    }
    int rc = -1;
    for (int s = 0; s < num_sources; s++) {
        size_t n = 0;
        if (datafile_read_validation(path, s, &e->tokens[s], &n, err, errlen)) goto done;
        /* A source without one window would score nothing: its loss would be NaN, silently. */
        if (n < (size_t)T + 1) {
            snprintf(err, errlen, "%s: validation stream /validation/%s/tokens (source %d) holds %zu tokens, "
                     "fewer than one window of seq_len + 1 = %d: prep the data with a larger --val-fraction "
                     "(or more text for that source), or lower [model] seq_len",
                     path, s < info.num_sources ? info.source_names[s] : "?", s, n, T + 1);
            goto done;
        }
        all[s] = (n - 1) / (size_t)T;
        for (int k = 0; k < EVAL_SCOPES; k++) e->windows[k][s] = all[s] < cap[k] ? all[s] : cap[k];
    }
    assign_units(e, path, &info, all);
    rc = 0;
done:
    datafile_info_free(&info);
    free(all);
    if (rc) evalset_free(e);
    return rc;
}

void evalset_free(EvalSet *e)
{
    for (int s = 0; s < e->num_sources; s++) {
        if (e->tokens) free(e->tokens[s]);
        if (e->window_unit) free(e->window_unit[s]);
    }
    free(e->tokens);
    free(e->window_unit);
    free(e->unit_base);
    for (int k = 0; k < EVAL_SCOPES; k++) free(e->windows[k]);
    memset(e, 0, sizeof *e);
}

void eval_result_init(EvalResult *r, int num_sources)
{
    memset(r, 0, sizeof *r);
    r->per_source = callocCheck((size_t)num_sources, sizeof(double));
    r->per_source_se = callocCheck((size_t)num_sources, sizeof(double));
}

void eval_result_free(EvalResult *r)
{
    free(r->per_source);
    free(r->per_source_se);
    memset(r, 0, sizeof *r);
}

size_t eval_ratio_se(const double *L, const double *N, size_t n, double *mean, double *se)
{
    double sl = 0, sn = 0;
    size_t k = 0;
    for (size_t i = 0; i < n; i++)
        if (N[i] > 0) {
            sl += L[i];
            sn += N[i];
            k++;
        }
    const double r = sn > 0 ? sl / sn : NAN;
    double ss = 0;
    for (size_t i = 0; i < n; i++)
        if (N[i] > 0) ss += (L[i] - r * N[i]) * (L[i] - r * N[i]);
    *mean = r;
    *se = k >= 2 ? sqrt((double)k / (double)(k - 1) * ss) / sn : NAN;
    return k;
}

void evalset_run(const EvalSet *e, EvalScope scope, GPT *m, MPI_Comm comm, EvalResult *r)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    const int T = e->T, B = m->B, S = e->num_sources;
    const size_t U = e->num_units;
    int *inputs = mallocCheck((size_t)B * T * sizeof(int));
    int *targets = mallocCheck((size_t)B * T * sizeof(int));
    /* sums[2s] = summed token loss of source s, sums[2s+1] = its token count */
    double *sums = callocCheck(2 * (size_t)S, sizeof(double));
    /* per unit: summed token loss, then token counts (the standard errors' input) */
    double *unit_sums = callocCheck(2 * (U ? U : 1), sizeof(double));
    double *uL = unit_sums, *uN = unit_sums + U;
    for (int s = 0; s < S; s++) {
        size_t nw = e->windows[scope][s];
        /* Batches of B windows of one source, dealt round-robin to the ranks. */
        for (size_t first = (size_t)rank * B; first < nw; first += (size_t)size * B) {
            int b = (int)(nw - first < (size_t)B ? nw - first : (size_t)B);
            for (int i = 0; i < b; i++) {
                const uint32_t *w = e->tokens[s] + (first + i) * T;
                for (int t = 0; t < T; t++) {
                    inputs[i * T + t] = (int)w[t];
                    targets[i * T + t] = (int)w[t + 1];
                }
            }
            gpt_forward(m, inputs, targets, b, T);
            sums[2 * s] += (double)m->mean_loss * b * T;
            sums[2 * s + 1] += (double)b * T;
            const float *losses = gpt_losses(m); // (b, T)
            for (int i = 0; i < b; i++) {
                const uint32_t u = e->window_unit[s][first + i];
                double l = 0;
                for (int t = 0; t < T; t++) l += losses[i * T + t];
                uL[u] += l;
                uN[u] += T;
            }
        }
    }
    /* Two reductions: the loss sums' stays what it was (its algorithm, hence its rounding, may
     * depend on the message length), whatever the number of units. */
    mpiCheck(MPI_Allreduce(MPI_IN_PLACE, sums, 2 * S, MPI_DOUBLE, MPI_SUM, comm));
    if (U) mpiCheck(MPI_Allreduce(MPI_IN_PLACE, unit_sums, (int)(2 * U), MPI_DOUBLE, MPI_SUM, comm));
    double loss = 0, count = 0, ignored;
    for (int s = 0; s < S; s++) {
        r->per_source[s] = sums[2 * s + 1] > 0 ? sums[2 * s] / sums[2 * s + 1] : NAN;
        loss += sums[2 * s];
        count += sums[2 * s + 1];
        const size_t b0 = e->unit_base[s], n = e->unit_base[s + 1] - b0;
        eval_ratio_se(uL + b0, uN + b0, n, &ignored, &r->per_source_se[s]);
    }
    r->loss = count > 0 ? loss / count : NAN;
    r->tokens = count;
    r->units = eval_ratio_se(uL, uN, U, &ignored, &r->loss_se);
    free(unit_sums);
    free(sums);
    free(inputs);
    free(targets);
}
