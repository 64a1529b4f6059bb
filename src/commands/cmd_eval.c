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
            "overall and per source, each with its standard error over the validation documents.\n"
            "  --json      one JSON object on stdout instead of the table\n"
            "  --tokens N  score about N tokens, spread evenly over the sources (default: all)\n"
            "  --no-verify skip the data file's SHA-256 checksums and token-id check (one read\n"
            "              of the whole file, made by rank 0) for huge files\n"
            "Runs as one process or under mpirun (the windows are split over the ranks).\n");
}

/* JSON has no inf or nan (json_real returns NULL for them, and json_pack then fails): a
 * non-finite loss or perplexity (a diverged model, exp overflow) is written as null. */
static json_t *real_or_null(double v) { return isfinite(v) ? json_real(v) : json_null(); }

/* Per-source and overall results as JSON; a source without validation windows gets null, a
 * standard error of fewer than two units too. */
static void print_json(const char *ckpt, const char *data, const DataInfo *info, const EvalSet *e,
                       const EvalResult *r)
{
    json_t *sources = json_array();
    for (int s = 0; s < e->num_sources; s++) {
        double tokens = (double)e->windows[EVAL_FINAL][s] * e->T;
        const double l = r->per_source[s], se = r->per_source_se[s];
        json_array_append_new(sources, json_pack("{s:s,s:I,s:o,s:o,s:o,s:o}", "name", info->source_names[s], "tokens",
                                                 (json_int_t)tokens, "val_loss", real_or_null(l), "val_ppl",
                                                 real_or_null(exp(l)), "val_loss_se", real_or_null(se),
                                                 "val_ppl_se", real_or_null(exp(l) * se)));
    }
    json_t *root = json_pack("{s:s,s:s,s:i,s:I,s:o,s:o,s:o,s:o,s:s,s:I,s:o}", "checkpoint", ckpt, "data", data,
                             "seq_len", e->T, "tokens", (json_int_t)r->tokens, "val_loss", real_or_null(r->loss),
                             "val_ppl", real_or_null(exp(r->loss)), "val_loss_se", real_or_null(r->loss_se),
                             "val_ppl_se", real_or_null(exp(r->loss) * r->loss_se), "se_unit",
                             eval_unit_names[e->unit], "se_units", (json_int_t)r->units, "sources", sources);
    char *s = root ? json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) : NULL;
    if (!s) PHOTON_FATAL("JSON encoding of the evaluation failed (a source name that is not UTF-8?)");
    printf("%s\n", s);
    free(s);
    json_decref(root);
}

/* "-" for a value that is not finite (no windows; a standard error of fewer than two units). */
static void print_value(const char *fmt, int width, double v)
{
    if (isfinite(v)) printf(fmt, width, v);
    else printf(" %*s", width, "-");
}

static void print_table(const char *ckpt, const char *data, const DataInfo *info, const EvalSet *e,
                        const EvalResult *r)
{
    printf("photon eval: %s on %s (windows of %d tokens; standard errors over %zu %ss)\n", ckpt, data, e->T, r->units,
           eval_unit_names[e->unit]);
    printf("%-24s %10s %10s %12s %10s %12s\n", "source", "tokens", "val loss", "perplexity", "loss se", "ppl se");
    for (int s = 0; s < e->num_sources; s++) {
        const double l = r->per_source[s], se = r->per_source_se[s];
        printf("%-24s %10.0f", info->source_names[s], (double)e->windows[EVAL_FINAL][s] * e->T);
        print_value(" %*.4f", 10, l);
        print_value(" %*.3f", 12, exp(l));
        print_value(" %*.4f", 10, se);
        print_value(" %*.3f", 12, exp(l) * se);
        printf("\n");
    }
    printf("%-24s %10.0f", "overall", r->tokens);
    print_value(" %*.4f", 10, r->loss);
    print_value(" %*.3f", 12, exp(r->loss));
    print_value(" %*.4f", 10, r->loss_se);
    print_value(" %*.3f", 12, exp(r->loss) * r->loss_se);
    printf("\n");
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
    /* One scope, the final one: --tokens, by default every window. */
    if (evalset_load(&e, data, info.num_sources, m.config.max_seq_len, budget, budget, err, sizeof err)) goto done;
    have_set = 1;
    size_t windows = 0;
    for (int s = 0; s < e.num_sources; s++) windows += e.windows[EVAL_FINAL][s];
    if (windows == 0) {
        snprintf(err, sizeof err, "%s: no source has %d validation tokens (a window of max_seq_len + 1): prep it "
                 "with a larger --val-fraction", data, m.config.max_seq_len + 1);
        goto done;
    }
    EvalResult r;
    eval_result_init(&r, info.num_sources);
    evalset_run(&e, EVAL_FINAL, &m, MPI_COMM_WORLD, &r);
    if (rank == 0) {
        if (e.unit == EVAL_UNIT_WINDOW) fprintf(stderr, "photon eval: note: standard errors over windows: %s\n", e.unit_note);
        if (json) print_json(ckpt, data, &info, &e, &r);
        else print_table(ckpt, data, &info, &e, &r);
        fflush(stdout);
    }
    eval_result_free(&r);
    rc = 0;
done:
    if (rc && rank == 0) fprintf(stderr, "photon eval: %s\n", err);
    if (have_set) evalset_free(&e);
    if (have_info) datafile_info_free(&info);
    if (have_model) gpt_free(&m);
    return rc;
}
