/* cmd_eval.c: `photon eval` (see cmd_eval.h). Every rank loads the weights and the validation
 * tokens (both small next to training data); evalset_run deals the windows to the ranks. */
#include "cmd_eval.h"

#include <errno.h>
#include <jansson.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cmd_util.h"
#include "datafile.h"
#include "eval.h"
#include "weights.h"

#define EVAL_BATCH 8 // windows per forward: bounds activation memory, not the result

static void eval_usage(FILE *out)
{
    fprintf(out,
            "usage: photon eval CKPT [--data FILE.h5] [--json] [--tokens N] [--no-verify]\n\n"
            "Validation loss and perplexity of CKPT (a run's final.h5 or a checkpoint) on the held-out\n"
            "tokens of FILE.h5 (default: the data file the run trained on, as recorded in CKPT),\n"
            "overall and per source.\n"
            "  --json      one JSON object on stdout instead of the table\n"
            "  --tokens N  score about N tokens, spread evenly over the sources (default: all)\n"
            "  --no-verify skip the data file's SHA-256 checksums and token-id check (one read\n"
            "              of the whole file, made by rank 0) for huge files\n"
            "Runs as one process or under mpirun (the windows are split over the ranks).\n");
}

/* JSON has no inf or nan (json_real returns NULL for them, and json_pack then fails): a
 * non-finite loss or perplexity (a diverged model, exp overflow) is written as null. */
static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* Per-source and overall results as JSON; a source without validation windows gets null. */
static void print_json(const char *ckpt, const char *data, const DataInfo *info, const EvalSet *e,
                       const double *per_source, double overall)
{
    json_t *sources = json_array();
    double total = 0;
    for (int s = 0; s < e->num_sources; s++) {
        double tokens = (double)e->num_windows[s] * e->T;
        total += tokens;
        json_array_append_new(sources, json_pack("{s:s,s:I,s:o,s:o}", "name", info->source_names[s], "tokens",
                                                 (json_int_t)tokens, "val_loss",
                                                 real_or_null(per_source[s]), "val_ppl",
                                                 real_or_null(exp(per_source[s]))));
    }
    json_t *root = json_pack("{s:s,s:s,s:i,s:I,s:o,s:o,s:o}", "checkpoint", ckpt, "data", data, "seq_len", e->T,
                             "tokens", (json_int_t)total, "val_loss", real_or_null(overall),
                             "val_ppl", real_or_null(exp(overall)), "sources", sources);
    char *s = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) : NULL;
    if (!s) PHOTON_FATAL("JSON encoding of the evaluation failed (a source name that is not UTF-8?)");
    printf("%s\n", s);
    free(s);
    json_decref(root);
}

static void print_table(const char *ckpt, const char *data, const DataInfo *info, const EvalSet *e,
                        const double *per_source, double overall)
{
    printf("photon eval: %s on %s (windows of %d tokens)\n", ckpt, data, e->T);
    printf("%-24s %10s %10s %12s\n", "source", "tokens", "val loss", "perplexity");
    double total = 0;
    for (int s = 0; s < e->num_sources; s++) {
        double tokens = (double)e->num_windows[s] * e->T;
        total += tokens;
        if (isnan(per_source[s])) printf("%-24s %10.0f %10s %12s\n", info->source_names[s], tokens, "-", "-");
        else printf("%-24s %10.0f %10.4f %12.3f\n", info->source_names[s], tokens, per_source[s], exp(per_source[s]));
    }
    printf("%-24s %10.0f %10.4f %12.3f\n", "overall", total, overall, exp(overall));
}

int cmd_eval(int argc, char **argv)
{
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *ckpt = NULL, *data = NULL;
    int json = 0, verify = 1;
    long budget = 0;
    for (int i = 1; i < argc; i++) {
        char *end = NULL;
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (rank == 0) eval_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--data") && i + 1 < argc) {
            data = argv[++i];
        } else if (!strcmp(argv[i], "--json")) {
            json = 1;
        } else if (!strcmp(argv[i], "--no-verify")) {
            verify = 0;
        } else if (!strcmp(argv[i], "--tokens") && i + 1 < argc) {
            errno = 0;
            budget = strtol(argv[++i], &end, 10);
            if (end == argv[i] || *end || errno == ERANGE || budget < 0) { /* '' was 0, 1e30 was LONG_MAX */
                if (rank == 0) fprintf(stderr, "photon eval: --tokens wants a count >= 0 (0 = all), got '%s'\n", argv[i]);
                return 2;
            }
        } else if (argv[i][0] != '-' && !ckpt) {
            ckpt = argv[i];
        } else {
            if (rank == 0) fprintf(stderr, "photon eval: unexpected argument '%s' (photon eval --help)\n", argv[i]);
            return 2;
        }
    }
    if (!ckpt) {
        if (rank == 0) eval_usage(stderr);
        return 2;
    }
    char recorded[4096]; /* without --data: the data file the run trained on */
    if (cmd_resolve_data("photon eval", rank, ckpt, &data, recorded, sizeof recorded)) return 2;
    /* Every rank reads the same files and so reaches the same verdict: no rank waits alone in
     * evalset_run's collective. */
    char err[6144];
    GPT m;
    DataInfo info;
    EvalSet e;
    int have_model = 0, have_info = 0, have_set = 0, rc = 2;
    if (weights_load(ckpt, &m, EVAL_BATCH, 0, err, sizeof err)) goto done;
    have_model = 1;
    if (datafile_read_info(data, &info, err, sizeof err)) goto done;
    have_info = 1;
    /* The content check reads the whole file: rank 0 makes it, every rank learns the verdict. */
    if (photon_any_failed(rank == 0 && datafile_verify(data, verify, "photon eval", err, sizeof err),
                          MPI_COMM_WORLD))
        goto done;
    if (weights_check_vocab(&m.config, ckpt, info.vocab_size, data, err, sizeof err)) goto done;
    if (evalset_load(&e, data, info.num_sources, m.config.max_seq_len, budget, err, sizeof err)) goto done;
    have_set = 1;
    size_t windows = 0;
    for (int s = 0; s < e.num_sources; s++) windows += e.num_windows[s];
    if (windows == 0) {
        snprintf(err, sizeof err, "%s: no source has %d validation tokens (a window of max_seq_len + 1): prep it "
                 "with a larger --val-fraction", data, m.config.max_seq_len + 1);
        goto done;
    }
    double *per_source = mallocCheck((size_t)info.num_sources * sizeof(double));
    double overall;
    evalset_run(&e, &m, MPI_COMM_WORLD, per_source, &overall);
    if (rank == 0) {
        if (json) print_json(ckpt, data, &info, &e, per_source, overall);
        else print_table(ckpt, data, &info, &e, per_source, overall);
        fflush(stdout);
    }
    free(per_source);
    rc = 0;
done:
    if (rc && rank == 0) fprintf(stderr, "photon eval: %s\n", err);
    if (have_set) evalset_free(&e);
    if (have_info) datafile_info_free(&info);
    if (have_model) gpt_free(&m);
    return rc;
}
