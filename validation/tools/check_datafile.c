/* check_datafile.c: checks a photon data file against the corpus it was made from.
 * usage: check_datafile FILE [--brown] [--by-source] [--silos S] [--sources K] [--docs D]
 *                            [--vocab V]
 * For every document (paths as stored, relative to the current directory):
 *   - its file still hashes to the stored SHA-256;
 *   - its stream (its silo, or its source's validation set) holds EOT at its offset, then
 *     tokens that decode to the document's text byte for byte (the file's text, or with
 *     --brown the tag-stripped text), then EOT or the end of the stream;
 * and for the file: streams are exactly their documents (no other EOTs, ids < vocab), the
 * silo and validation attributes and /sources agree with /documents, photon info's reader
 * agrees, every source has validation documents, and with --by-source no source is split
 * across silos. Prints a summary; exit 0 when everything holds, 1 otherwise.
 * For the error tests: check_datafile --set-int|--set-string FILE NAME VALUE rewrites a root
 * attribute (to make a file of another format or format version). */
#include <hdf5.h>
#include <glib.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"
#include "corpus.h"
#include "datafile.h"
#include "h5util.h"
#include "sha256.h"

#include "test_check.h"

static void *read_all(hid_t file, const char *name, hid_t mtype, size_t elem, size_t *n)
{
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0) { fprintf(stderr, "FAIL: no dataset %s\n", name); exit(1); }
    hid_t s = H5Dget_space(d);
    hssize_t m = H5Sget_simple_extent_npoints(s);
    void *buf = calloc((size_t)m + 1, elem);
    if (m > 0 && H5Dread(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        fprintf(stderr, "FAIL: cannot read %s\n", name);
        exit(1);
    }
    H5Sclose(s);
    H5Dclose(d);
    *n = (size_t)m;
    return buf;
}

typedef struct { uint32_t *tok; size_t n; } Stream;

static Stream read_stream(hid_t file, const char *group)
{
    Stream st;
    char name[1100], err[512];
    snprintf(name, sizeof name, "%s/tokens", group);
    if (datafile_read_token_dataset(file, name, &st.tok, &st.n, err, sizeof err) != 0) {
        fprintf(stderr, "FAIL: %s\n", err);
        exit(1);
    }
    return st;
}

static int set_attribute(int is_int, const char *path, const char *name, const char *value)
{
    hid_t f = H5Fopen(path, H5F_ACC_RDWR, H5P_DEFAULT);
    if (f < 0) return 1;
    if (H5Aexists(f, name) > 0) H5Adelete(f, name);
    int rc = is_int ? h5_attr_write_int(f, name, atoll(value)) : h5_attr_write_string(f, name, value);
    return H5Fclose(f) < 0 || rc != 0;
}

int main(int argc, char **argv)
{
    if (argc == 5 && (!strcmp(argv[1], "--set-int") || !strcmp(argv[1], "--set-string")))
        return set_attribute(!strcmp(argv[1], "--set-int"), argv[2], argv[3], argv[4]);
    if (argc < 2) {
        fprintf(stderr, "usage: check_datafile FILE [--brown] [--by-source] [--silos S] "
                "[--sources K] [--docs D] [--vocab V]\n");
        return 2;
    }
    const char *path = argv[1];
    int brown = 0, by_source = 0, want_silos = -1, want_sources = -1, want_docs = -1, want_vocab = -1;
    for (int i = 2; i < argc; i++) {
        if (!strcmp(argv[i], "--brown")) brown = 1;
        else if (!strcmp(argv[i], "--by-source")) by_source = 1;
        else if (!strcmp(argv[i], "--silos") && i + 1 < argc) want_silos = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--sources") && i + 1 < argc) want_sources = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--docs") && i + 1 < argc) want_docs = atoi(argv[++i]);
        else if (!strcmp(argv[i], "--vocab") && i + 1 < argc) want_vocab = atoi(argv[++i]);
        else { fprintf(stderr, "check_datafile: unknown argument %s\n", argv[i]); return 2; }
    }
    char err[2048];
    DataInfo info;
    if (datafile_read_info(path, &info, err, sizeof err) != 0) {
        fprintf(stderr, "FAIL: %s\n", err);
        return 1;
    }
    BPE *bpe = datafile_read_tokenizer(path, err, sizeof err);
    if (!bpe) { fprintf(stderr, "FAIL: %s\n", err); return 1; }
    hid_t file = datafile_open(path, H5P_DEFAULT, err, sizeof err);
    if (file < 0) { fprintf(stderr, "FAIL: %s\n", err); return 1; }
    int S = info.num_silos, K = info.num_sources;
    CHECK(want_silos < 0 || S == want_silos, "%d silos, expected %d", S, want_silos);
    CHECK(want_sources < 0 || K == want_sources, "%d sources, expected %d", K, want_sources);
    CHECK(want_docs < 0 || info.num_documents == want_docs, "%lld documents, expected %d",
          (long long)info.num_documents, want_docs);
    CHECK(want_vocab < 0 || info.vocab_size == want_vocab, "vocabulary %d, expected %d",
          info.vocab_size, want_vocab);
    CHECK(info.vocab_size == bpe_vocab_size(bpe) && info.eot_token == bpe_eot(bpe),
          "root vocab_size/eot_token disagree with /tokenizer");

    // /documents
    size_t D = 0, n;
    hid_t strtype = H5Tcopy(H5T_C_S1);
    H5Tset_size(strtype, H5T_VARIABLE);
    char **paths = read_all(file, "/documents/path", strtype, sizeof(char *), &D);
    hid_t hextype = H5Tcopy(H5T_C_S1);
    H5Tset_size(hextype, 64);
    H5Tset_strpad(hextype, H5T_STR_NULLPAD);
    char *hashes = read_all(file, "/documents/sha256", hextype, 64, &n);
    int32_t *source = read_all(file, "/documents/source", H5T_NATIVE_INT32, 4, &n);
    int32_t *silo = read_all(file, "/documents/silo", H5T_NATIVE_INT32, 4, &n);
    int64_t *tokens = read_all(file, "/documents/tokens", H5T_NATIVE_INT64, 8, &n);
    int64_t *text_bytes = read_all(file, "/documents/text_bytes", H5T_NATIVE_INT64, 8, &n);
    int64_t *offset = read_all(file, "/documents/offset", H5T_NATIVE_INT64, 8, &n);
    CHECK((int64_t)D == info.num_documents, "/documents has %zu rows, num_documents %lld", D,
          (long long)info.num_documents);

    Stream *silos = calloc((size_t)S, sizeof(Stream)), *vals = calloc((size_t)K, sizeof(Stream));
    char group[1024];
    for (int s = 0; s < S; s++) {
        snprintf(group, sizeof group, "/silos/%d", s);
        silos[s] = read_stream(file, group);
        CHECK((int64_t)silos[s].n == info.silo_tokens[s], "silo %d: %zu tokens, attribute %lld", s,
              silos[s].n, (long long)info.silo_tokens[s]);
    }
    for (int k = 0; k < K; k++) {
        snprintf(group, sizeof group, "/validation/%s", info.source_names[k]);
        vals[k] = read_stream(file, group);
        CHECK((int64_t)vals[k].n == info.val_tokens[k], "validation %s: %zu tokens, attribute %lld",
              info.source_names[k], vals[k].n, (long long)info.val_tokens[k]);
        CHECK(info.val_fraction == 0 || info.val_documents[k] >= 1,
              "source %s has no validation document", info.source_names[k]);
    }

    // Every document: hash, position, round trip.
    int64_t *expect_silo_tokens = calloc((size_t)S, sizeof(int64_t));
    int64_t *expect_silo_docs = calloc((size_t)S, sizeof(int64_t));
    int64_t *expect_mix = calloc((size_t)S * K, sizeof(int64_t));
    int64_t *expect_val = calloc((size_t)K, sizeof(int64_t));
    int *silo_of_source = malloc((size_t)K * sizeof(int));
    for (int k = 0; k < K; k++) silo_of_source[k] = -1;
    size_t total_bytes = 0, total_tokens = 0;
    uint32_t eot = (uint32_t)info.eot_token;
    for (size_t i = 0; i < D; i++) {
        gchar *bytes = NULL;
        gsize len = 0;
        if (!g_file_get_contents(paths[i], &bytes, &len, NULL)) {
            CHECK(0, "cannot read document %s", paths[i]);
            continue;
        }
        char hex[65];
        sha256_hex(bytes, len, hex);
        CHECK(!memcmp(hex, hashes + 64 * i, 64), "%s: SHA-256 differs from the stored one",
              paths[i]);
        char *text = bytes;
        size_t text_len = len;
        if (brown) text = brown_strip_tags(bytes, len, &text_len);
        CHECK((int64_t)text_len == text_bytes[i], "%s: %zu bytes of text, stored %lld", paths[i],
              text_len, (long long)text_bytes[i]);
        int k = source[i];
        CHECK(k >= 0 && k < K, "%s: source %d out of range", paths[i], k);
        CHECK(silo[i] >= -1 && silo[i] < S, "%s: silo %d out of range", paths[i], silo[i]);
        if (k < 0 || k >= K || silo[i] < -1 || silo[i] >= S) continue;
        Stream *st = silo[i] >= 0 ? &silos[silo[i]] : &vals[k];
        size_t at = (size_t)offset[i], m = (size_t)tokens[i];
        if (at + 1 + m > st->n) {
            CHECK(0, "%s: offset %zu + %zu tokens beyond its stream", paths[i], at, m);
        } else {
            CHECK(st->tok[at] == eot, "%s: no EOT at its offset", paths[i]);
            CHECK(at + 1 + m == st->n || st->tok[at + 1 + m] == eot,
                  "%s: the next document does not start right after it", paths[i]);
            size_t dl = 0;
            char *dec = bpe_decode(bpe, st->tok + at + 1, m, &dl);
            CHECK(dl == text_len && !memcmp(dec, text, dl), "%s: decoded tokens differ from the "
                  "text (round trip)", paths[i]);
            free(dec);
            for (size_t j = 0; j < m; j++)
                if (st->tok[at + 1 + j] >= eot) {
                    CHECK(0, "%s: token %zu is %u (EOT or out of range)", paths[i], j,
                          st->tok[at + 1 + j]);
                    break;
                }
        }
        if (silo[i] >= 0) {
            expect_silo_tokens[silo[i]] += 1 + m;
            expect_silo_docs[silo[i]]++;
            expect_mix[(size_t)silo[i] * K + k] += 1 + m;
            if (silo_of_source[k] < 0) silo_of_source[k] = silo[i];
            if (by_source)
                CHECK(silo_of_source[k] == silo[i], "by-source: source %s is in silos %d and %d",
                      info.source_names[k], silo_of_source[k], silo[i]);
        } else {
            expect_val[k] += 1 + m;
        }
        total_bytes += text_len;
        total_tokens += m;
        if (brown) free(text);
        g_free(bytes);
    }
    for (int s = 0; s < S; s++) {
        CHECK(expect_silo_tokens[s] == (int64_t)silos[s].n, "silo %d: documents add up to %lld "
              "tokens, the stream has %zu", s, (long long)expect_silo_tokens[s], silos[s].n);
        CHECK(expect_silo_docs[s] == info.silo_documents[s] && expect_silo_docs[s] > 0,
              "silo %d: %lld documents, attribute %lld", s, (long long)expect_silo_docs[s],
              (long long)info.silo_documents[s]);
        for (int k = 0; k < K; k++)
            CHECK(expect_mix[(size_t)s * K + k] == info.silo_source_tokens[(size_t)s * K + k],
                  "silo %d source %d: mix attribute disagrees", s, k);
    }
    for (int k = 0; k < K; k++)
        CHECK(expect_val[k] == (int64_t)vals[k].n, "validation %s: documents add up to %lld, "
              "stream %zu", info.source_names[k], (long long)expect_val[k], vals[k].n);
    // validation for all sources = the per-source streams concatenated
    uint32_t *all = NULL;
    size_t nall = 0;
    CHECK(datafile_read_validation(path, -1, &all, &nall, err, sizeof err) == 0, "%s", err);
    size_t at = 0;
    for (int k = 0; k < K && all; k++) {
        CHECK(at + vals[k].n <= nall && !memcmp(all + at, vals[k].tok, vals[k].n * 4),
              "datafile_read_validation(-1) is not the sources' streams in order");
        at += vals[k].n;
    }
    CHECK(at == nall, "datafile_read_validation(-1): %zu tokens, expected %zu", nall, at);
    free(all);

    printf("check %s: %zu documents, %d sources, %d silos, vocabulary %d, %zu bytes -> %zu "
           "tokens (%.2f bytes/token): %s\n", path, D, K, S, info.vocab_size, total_bytes,
           total_tokens, total_tokens ? (double)total_bytes / total_tokens : 0.0,
           test_failures ? "FAILED" : "OK");

    hid_t pspace = H5Screate_simple(1, (hsize_t[]){ D }, NULL);
    H5Dvlen_reclaim(strtype, pspace, H5P_DEFAULT, paths);
    H5Sclose(pspace);
    for (int s = 0; s < S; s++) free(silos[s].tok);
    for (int k = 0; k < K; k++) free(vals[k].tok);
    free(silos); free(vals); free(paths); free(hashes); free(source); free(silo); free(tokens);
    free(text_bytes); free(offset); free(expect_silo_tokens); free(expect_silo_docs);
    free(expect_mix); free(expect_val); free(silo_of_source);
    H5Tclose(strtype);
    H5Tclose(hextype);
    H5Fclose(file);
    bpe_free(bpe);
    datafile_info_free(&info);
    return test_failures ? 1 : 0;
}
