/* cmd_sample.c: `photon sample` and its sampler (see cmd_sample.h). */
#include "cmd_sample.h"

#include <glib.h>
#include <jansson.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "check.h"
#include "cmd_util.h"
#include "datafile.h"
#include "weights.h"

/* Descending logit, then ascending id: a total order, so top-k is the same set on every run. */
static gint by_logit_desc(gconstpointer a, gconstpointer b, gpointer logits)
{
    const float *l = logits;
    int i = *(const int *)a, j = *(const int *)b;
    if (l[i] != l[j]) return l[i] > l[j] ? -1 : 1;
    return i < j ? -1 : i > j;
}

int sampler_pick(const float *logits, int V, float temperature, int top_k, gsl_rng *rng, int *order)
{
    if (temperature <= 0.0f) {
        int best = 0;
        for (int i = 1; i < V; i++)
            if (logits[i] > logits[best]) best = i;
        return best;
    }
    for (int i = 0; i < V; i++) order[i] = i;
    int k = top_k <= 0 || top_k > V ? V : top_k;
    if (k < V) g_qsort_with_data(order, V, sizeof(int), by_logit_desc, (gpointer)logits);
    float maxl = logits[order[0]];
    for (int i = 1; i < k; i++)
        if (logits[order[i]] > maxl) maxl = logits[order[i]];
    // softmax over the candidates, shifted by the max so exp cannot overflow
    double sum = 0;
    for (int i = 0; i < k; i++) sum += exp(((double)logits[order[i]] - maxl) / temperature);
    double u = gsl_rng_uniform(rng) * sum, cdf = 0;
    for (int i = 0; i < k; i++) {
        cdf += exp(((double)logits[order[i]] - maxl) / temperature);
        if (u < cdf) return order[i];
    }
    return order[k - 1]; // u within round-off of sum
}

static void sample_usage(FILE *out)
{
    fprintf(out,
            "usage: photon sample CKPT --prompt TEXT [--data FILE.h5] [-n TOKENS] [--temperature T]\n"
            "                     [--top-k K] [--seed S] [--json] [--no-verify]\n\n"
            "Continues TEXT with CKPT (a run's final.h5 or a checkpoint), using the tokenizer of\n"
            "FILE.h5 (default: the data file the run trained on, as recorded in CKPT).\n"
            "  -n TOKENS         tokens to generate (default 64; stops early at end of text)\n"
            "  --temperature T   softmax temperature (default 1.0); 0 = greedy (argmax)\n"
            "  --top-k K         sample among the K most likely tokens only (default 0 = all)\n"
            "  --seed S          random seed (default 1): same seed, same text\n"
            "  --json            print {prompt, prompt_base64, prompt_ids, ids, text, text_base64} as JSON\n"
            "                    (prompt, text: invalid UTF-8 shown as U+FFFD; *_base64: the exact bytes)\n"
            "  --no-verify       skip the data file's SHA-256 checksums and token-id check (one\n"
            "                    read of the whole file) for huge files\n");
}

static int parse_number(const char *s, double *v)
{
    char *end = NULL;
    *v = strtod(s, &end);
    return end != s && *end == '\0' && isfinite(*v) ? 0 : -1;
}

/* The generation itself, on one rank. ids: (EOT, prompt..., generated...); returns the number
 * generated. */
static size_t generate(GPT *m, uint32_t *ids, size_t num_prompt, size_t n, float temperature, int top_k,
                       unsigned long seed, int eot)
{
    const int V = m->config.vocab_size, maxT = m->config.max_seq_len;
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, seed);
    int *window = mallocCheck((size_t)maxT * sizeof(int));
    int *order = mallocCheck((size_t)V * sizeof(int));
    size_t len = num_prompt, made = 0;
    while (made < n) {
        // the model has maxT positions: condition on the most recent maxT tokens
        size_t start = len > (size_t)maxT ? len - (size_t)maxT : 0;
        int t = (int)(len - start);
        for (int i = 0; i < t; i++) window[i] = (int)ids[start + i];
        gpt_forward(m, window, NULL, 1, t);
        int next = sampler_pick(gpt_logits(m) + (size_t)(t - 1) * V, V, temperature, top_k, rng, order);
        ids[len++] = (uint32_t)next;
        made++;
        if (next == eot) break;
    }
    free(order);
    free(window);
    gsl_rng_free(rng);
    return made;
}

static void print_json(const char *prompt, const uint32_t *ids, size_t num_prompt, size_t made, const char *text,
                       size_t text_len)
{
    json_t *pids = json_array(), *gids = json_array();
    for (size_t i = 1; i < num_prompt; i++) json_array_append_new(pids, json_integer(ids[i]));
    for (size_t i = 0; i < made; i++) json_array_append_new(gids, json_integer(ids[num_prompt + i]));
    // Tokens are bytes: the prompt may be any bytes and a sample may cut a UTF-8 character, which
    // JSON strings cannot hold. "prompt" and "text" replace invalid sequences by U+FFFD;
    // "prompt_base64" and "text_base64" give the exact bytes.
    gchar *vprompt = g_utf8_make_valid(prompt, -1), *valid = g_utf8_make_valid(text, (gssize)text_len);
    gchar *bprompt = g_base64_encode((const guchar *)prompt, strlen(prompt));
    gchar *btext = g_base64_encode((const guchar *)text, text_len);
    json_t *root = json_pack("{s:s,s:s,s:o,s:o,s:s,s:s}", "prompt", vprompt, "prompt_base64", bprompt, "prompt_ids",
                             pids, "ids", gids, "text", valid, "text_base64", btext);
    if (!root) PHOTON_FATAL("json_pack of the sample failed");
    g_free(vprompt);
    g_free(bprompt);
    g_free(btext);
    char *s = json_dumps(root, JSON_INDENT(2) | JSON_PRESERVE_ORDER);
    printf("%s\n", s);
    free(s);
    json_decref(root);
    g_free(valid);
}

int cmd_sample(int argc, char **argv)
{
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *ckpt = NULL, *data = NULL, *prompt = NULL;
    double n = 64, temperature = 1.0, top_k = 0, seed = 1;
    int json = 0, verify = 1;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        double *num = NULL;
        if (!strcmp(a, "--help") || !strcmp(a, "-h")) {
            if (rank == 0) sample_usage(stdout);
            return 0;
        } else if (!strcmp(a, "--data") && i + 1 < argc) {
            data = argv[++i];
        } else if (!strcmp(a, "--prompt") && i + 1 < argc) {
            prompt = argv[++i];
        } else if (!strcmp(a, "--json")) {
            json = 1;
        } else if (!strcmp(a, "--no-verify")) {
            verify = 0;
        } else if ((!strcmp(a, "-n") || !strcmp(a, "--tokens")) && i + 1 < argc) {
            num = &n;
        } else if (!strcmp(a, "--temperature") && i + 1 < argc) {
            num = &temperature;
        } else if (!strcmp(a, "--top-k") && i + 1 < argc) {
            num = &top_k;
        } else if (!strcmp(a, "--seed") && i + 1 < argc) {
            num = &seed;
        } else if (a[0] != '-' && !ckpt) {
            ckpt = a;
        } else {
            if (rank == 0) fprintf(stderr, "photon sample: unexpected argument '%s' (photon sample --help)\n", a);
            return 2;
        }
        if (num && (parse_number(argv[++i], num) || *num < 0 ||
                    (num != &temperature && (*num != floor(*num) || *num > 1e9)))) {
            if (rank == 0)
                fprintf(stderr, "photon sample: %s wants a %s number >= 0, got '%s'\n", a,
                        num == &temperature ? "real" : "whole", argv[i]);
            return 2;
        }
    }
    if (!ckpt || !prompt) {
        if (rank == 0) sample_usage(stderr);
        return 2;
    }
    char recorded[4096]; /* without --data: the data file the run trained on */
    if (cmd_resolve_data("photon sample", rank, ckpt, &data, recorded, sizeof recorded)) return 2;
    /* One sampler (rank 0); the others of an mpirun wait for its verdict, so all exit alike. */
    int rc = 0;
    if (rank == 0) {
        char err[6144];
        GPT m;
        BPE *bpe = NULL;
        uint32_t *ids = NULL, *pids = NULL;
        char *text = NULL;
        int have_model = 0;
        rc = 2;
        if (weights_load(ckpt, &m, 1, 0, err, sizeof err)) goto done;
        have_model = 1;
        if (datafile_verify(data, verify, "photon sample", err, sizeof err)) goto done;
        if (!(bpe = datafile_read_tokenizer(data, err, sizeof err))) goto done;
        if (weights_check_vocab(&m.config, ckpt, bpe_vocab_size(bpe), data, err, sizeof err)) goto done;
        size_t np = bpe_encode(bpe, prompt, strlen(prompt), &pids);
        ids = mallocCheck((1 + np + (size_t)n) * sizeof(uint32_t));
        ids[0] = (uint32_t)bpe_eot(bpe);
        if (np) memcpy(ids + 1, pids, np * sizeof(uint32_t));
        size_t made = generate(&m, ids, 1 + np, (size_t)n, (float)temperature, (int)top_k, (unsigned long)seed,
                               bpe_eot(bpe));
        size_t text_len = 0;
        text = bpe_decode(bpe, ids + 1 + np, made, &text_len);
        if (json) {
            print_json(prompt, ids, 1 + np, made, text, text_len);
        } else {
            fputs(prompt, stdout);
            fwrite(text, 1, text_len, stdout);
            fputc('\n', stdout);
        }
        fflush(stdout);
        rc = 0;
    done:
        if (rc) fprintf(stderr, "photon sample: %s\n", err);
        free(text);
        free(ids);
        free(pids);
        if (bpe) bpe_free(bpe);
        if (have_model) gpt_free(&m);
    }
    mpiCheck(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
    return rc;
}
