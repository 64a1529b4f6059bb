/* eval.c: validation of a model on the held-out tokens of each source. */
#include "eval.h"

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "datafile.h"

int evalset_load(EvalSet *e, const char *path, int num_sources, int T, long budget, char *err, size_t errlen)
{
    memset(e, 0, sizeof *e);
    e->num_sources = num_sources;
    e->T = T;
    e->tokens = callocCheck((size_t)num_sources, sizeof *e->tokens);
    e->num_windows = callocCheck((size_t)num_sources, sizeof *e->num_windows);
    /* Windows per source: an even share of the budget, at least one where the source has one. */
    size_t per_source = budget > 0 ? (size_t)(budget / num_sources / T) : (size_t)-1;
    if (per_source == 0) per_source = 1;
    DataInfo info;
    if (datafile_read_info(path, &info, err, errlen)) {
        evalset_free(e);
        return -1;
    }
    for (int s = 0; s < num_sources; s++) {
        size_t n = 0;
        if (datafile_read_validation(path, s, &e->tokens[s], &n, err, errlen)) {
            datafile_info_free(&info);
            evalset_free(e);
            return -1;
        }
        /* A source without one window would score nothing: its loss would be NaN, silently. */
        if (n < (size_t)T + 1) {
            snprintf(err, errlen, "%s: validation stream /validation/%s/tokens (source %d) holds %zu tokens, "
                     "fewer than one window of seq_len + 1 = %d: prep the data with a larger --val-fraction "
                     "(or more text for that source), or lower [model] seq_len",
                     path, s < info.num_sources ? info.source_names[s] : "?", s, n, T + 1);
            datafile_info_free(&info);
            evalset_free(e);
            return -1;
        }
        size_t windows = n > (size_t)T ? (n - 1) / (size_t)T : 0;
        e->num_windows[s] = windows < per_source ? windows : per_source;
    }
    datafile_info_free(&info);
    return 0;
}

void evalset_free(EvalSet *e)
{
    if (e->tokens)
        for (int s = 0; s < e->num_sources; s++) free(e->tokens[s]);
    free(e->tokens);
    free(e->num_windows);
    memset(e, 0, sizeof *e);
}

void evalset_run(const EvalSet *e, GPT *m, MPI_Comm comm, double *per_source, double *overall)
{
    int rank, size;
    MPI_Comm_rank(comm, &rank);
    MPI_Comm_size(comm, &size);
    const int T = e->T, B = m->B;
    int *inputs = mallocCheck((size_t)B * T * sizeof(int));
    int *targets = mallocCheck((size_t)B * T * sizeof(int));
    /* sums[2s] = summed token loss of source s, sums[2s+1] = its token count */
    double *sums = callocCheck(2 * (size_t)e->num_sources, sizeof(double));
    for (int s = 0; s < e->num_sources; s++) {
        size_t nw = e->num_windows[s];
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
        }
    }
    mpiCheck(MPI_Allreduce(MPI_IN_PLACE, sums, 2 * e->num_sources, MPI_DOUBLE, MPI_SUM, comm));
    double loss = 0, count = 0;
    for (int s = 0; s < e->num_sources; s++) {
        per_source[s] = sums[2 * s + 1] > 0 ? sums[2 * s] / sums[2 * s + 1] : NAN;
        loss += sums[2 * s];
        count += sums[2 * s + 1];
    }
    *overall = count > 0 ? loss / count : NAN;
    free(sums);
    free(inputs);
    free(targets);
}
