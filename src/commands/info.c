/* info.c: `photon info FILE`: format, vocabulary, silos and their source mix, validation
 * sizes, documents, provenance. */
#include "info.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "cmd_util.h"
#include "datafile.h"

static void info_usage(FILE *out)
{
    fprintf(out,
            "usage: photon info FILE [--no-verify]\n"
            "\n"
            "Prints what a photon data file (from photon prep) holds: format version, tokenizer,\n"
            "silos with their token counts and source mix, validation sizes per source, the\n"
            "documents, and provenance (the prep command, when, the corpus's content hash).\n"
            "First checks the file: its tokenizer, and every token dataset's SHA-256 checksum and\n"
            "token ids (one read of the file); --no-verify skips the checksums and ids.\n"
            "\n"
            "Exit status: 0 done, 2 bad input or usage.\n");
}

typedef struct { int source; int64_t tokens; } Share;

static int by_tokens_desc(const void *x, const void *y)
{
    const Share *a = x, *b = y;
    if (a->tokens != b->tokens) return a->tokens < b->tokens ? 1 : -1;
    return a->source - b->source;
}

static void print_info(const char *path, const DataInfo *in)
{
    int S = in->num_silos, K = in->num_sources;
    int64_t train_docs = 0, val_docs = 0, train_tokens = 0, val_tokens = 0;
    for (int s = 0; s < S; s++) {
        train_docs += in->silo_documents[s];
        train_tokens += in->silo_tokens[s];
    }
    for (int k = 0; k < K; k++) {
        val_docs += in->val_documents[k];
        val_tokens += in->val_tokens[k];
    }
    int64_t text_tokens = train_tokens + val_tokens - in->num_documents;   // less the EOTs
    printf("photon data file %s\n", path);
    printf("  format        photon-data version %d, written by photon %s\n", in->format_version,
           in->photon_version);
    printf("  created       %s\n", in->created);
    printf("  prep command  %s\n", in->prep_command);
    printf("  corpus        %lld files, %.2f MB of text; SHA-256 of the files' hashes %s\n",
           (long long)in->num_documents, in->corpus_bytes / 1e6, in->corpus_sha256);
    printf("  tokenizer     byte-level BPE, vocabulary %d (%d merges), end-of-text id %d; "
           "%.2f bytes/token\n", in->vocab_size, in->vocab_size - 257, in->eot_token,
           text_tokens > 0 ? (double)in->corpus_bytes / (double)text_tokens : 0.0);
    printf("  partition     %s into %d silo%s, seed %llu, validation fraction %g\n",
           in->partition, S, S == 1 ? "" : "s", (unsigned long long)in->seed, in->val_fraction);
    printf("  documents     %lld: %lld training, %lld validation\n", (long long)in->num_documents,
           (long long)train_docs, (long long)val_docs);
    printf("  sources       %d:", K);
    for (int k = 0; k < K; k++) printf(" %s", in->source_names[k]);
    printf("\n\nsilos (tokens count one end-of-text per document)\n");
    printf("  %4s %10s %12s  %s\n", "silo", "documents", "tokens", "source mix");
    Share *mix = mallocCheck((size_t)K * sizeof(Share));
    for (int s = 0; s < S; s++) {
        printf("  %4d %10lld %12lld  ", s, (long long)in->silo_documents[s],
               (long long)in->silo_tokens[s]);
        for (int k = 0; k < K; k++) mix[k] = (Share){ k, in->silo_source_tokens[(size_t)s * K + k] };
        qsort(mix, (size_t)K, sizeof(Share), by_tokens_desc);
        for (int k = 0; k < K && mix[k].tokens > 0; k++)
            printf("%s%s %.1f%%", k ? ", " : "", in->source_names[mix[k].source],
                   100.0 * (double)mix[k].tokens / (double)(in->silo_tokens[s] ? in->silo_tokens[s] : 1));
        printf("\n");
    }
    printf("  %4s %10lld %12lld\n", "all", (long long)train_docs, (long long)train_tokens);
    free(mix);
    printf("\nvalidation (held out before partitioning)\n");
    printf("  %-32s %10s %12s\n", "source", "documents", "tokens");
    for (int k = 0; k < K; k++)
        printf("  %-32s %10lld %12lld\n", in->source_names[k], (long long)in->val_documents[k],
               (long long)in->val_tokens[k]);
    printf("  %-32s %10lld %12lld\n", "all", (long long)val_docs, (long long)val_tokens);
}

static int info_run(int argc, char **argv)
{
    if (argc == 2 && (!strcmp(argv[1], "--help") || !strcmp(argv[1], "-h"))) {
        info_usage(stdout);
        return 0;
    }
    const char *path = NULL;
    int verify = 1, bad = 0;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--no-verify")) verify = 0;
        else if (argv[i][0] != '-' && !path) path = argv[i];
        else bad = 1;   // a stray option or a second file
    }
    if (!path || bad) {
        fprintf(stderr, "photon info: give one data file: photon info FILE [--no-verify] (see "
                "photon info --help)\n");
        return 2;
    }
    DataInfo info;
    char err[2048];
    if (datafile_read_info(path, &info, err, sizeof err) != 0 ||
        datafile_verify(path, verify, "photon info", err, sizeof err) != 0) {
        datafile_info_free(&info);   // safe after a failed read too
        fprintf(stderr, "photon info: %s\n", err);
        return 2;
    }
    print_info(path, &info);
    fflush(stdout);
    datafile_info_free(&info);
    return 0;
}

int cmd_info(int argc, char **argv) { return cmd_on_rank0(info_run, argc, argv); }
