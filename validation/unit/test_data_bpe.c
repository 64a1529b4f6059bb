/* test_data_bpe.c: the byte-level BPE tokenizer.
 *   - GPT-2 pre-tokenization on hand-checked cases (contractions, spaces, newlines, digits,
 *     Unicode, invalid UTF-8, NUL)
 *   - training: a hand-computed merge list (counts and the lowest-pair tie-break), and on a
 *     random corpus the same merges as a naive trainer that recounts every pair each step
 *   - encoding: the same ids as applying the merges one by one in rank order (short and long
 *     pre-tokens), decode(encode(x)) == x for random bytes, EOT handling
 *   - determinism, HDF5 save/load, rejected merge lists and vocabulary sizes */
#include <gsl/gsl_rng.h>
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "bpe.h"

#include "test_check.h"

// Pre-tokens joined with '|' (the cases below contain no '|').
static void check_pretokens(const char *text, size_t len, const char *const *expect, int n)
{
    size_t *ends = NULL;
    size_t m = bpe_pretokenize(text, len, &ends);
    int ok = (int)m == n;
    size_t start = 0;
    for (int i = 0; ok && i < n; i++) {
        size_t el = strlen(expect[i]);
        if (el == 0) el = 1;   // "" stands for a single NUL byte
        ok = ends[i] - start == el && memcmp(text + start, expect[i][0] ? expect[i] : "", el) == 0;
        start = ends[i];
    }
    CHECK(ok, "pre-tokens of '%.*s': got %zu, expected %d", (int)len, text, m, n);
    if (!ok) {
        start = 0;
        for (size_t i = 0; i < m; i++) {
            fprintf(stderr, "  [%.*s]\n", (int)(ends[i] - start), text + start);
            start = ends[i];
        }
    }
    free(ends);
}

#define PRETOK(text, ...)                                                       \
    do {                                                                        \
        const char *e_[] = { __VA_ARGS__ };                                     \
        check_pretokens(text, sizeof(text) - 1, e_, sizeof e_ / sizeof e_[0]);  \
    } while (0)

static void test_pretokenizer(void)
{
    PRETOK("Hello world's  123 !!", "Hello", " world", "'s", " ", " 123", " !!");
    PRETOK("a\n\nb", "a", "\n", "\n", "b");
    PRETOK("don't we'll I'M", "don", "'t", " we", "'ll", " I", "'", "M");
    PRETOK("  hi", " ", " hi");
    PRETOK("hi  ", "hi", "  ");
    PRETOK("café 42x", "café", " 42", "x");
    PRETOK("x\xff" "y", "x", "\xff", "y");
    PRETOK("a\0b", "a", "", "b");
    PRETOK("a\xc2\xa0" "b", "a", "\xc2\xa0", "b");                // NBSP is whitespace
    PRETOK("Ωμέγα 東京🙂", "Ωμέγα", " 東京", "🙂");
    PRETOK("f(x) += 1;", "f", "(", "x", ")", " +=", " 1", ";");
}

// Texts whose merges were worked out by hand: pre-tokens "aaab", " aaab", " ab".
//   (a,a) 4 -> 256; (a,b) 3 -> 257; (256,257) 2 -> 258; then (' ',257) and (' ',258) both 1:
//   the lower pair (32,257) -> 259 first, then (32,258) -> 260; then no pair is left.
static void test_hand_merges(void)
{
    const char *texts[] = { "aaab aaab ab" };
    size_t lens[] = { strlen(texts[0]) };
    char err[512];
    BPE *bpe = bpe_train(texts, lens, 1, 300, 0, err, sizeof err);
    CHECK(bpe != NULL, "bpe_train: %s", err);
    if (!bpe) return;
    int32_t expect[] = { 97, 97, 97, 98, 256, 257, 32, 257, 32, 258 };
    CHECK(bpe_num_merges(bpe) == 5, "hand corpus: %d merges, expected 5 (no pairs left)",
          bpe_num_merges(bpe));
    CHECK(bpe_vocab_size(bpe) == 262 && bpe_eot(bpe) == 261, "vocab %d eot %d",
          bpe_vocab_size(bpe), bpe_eot(bpe));
    if (bpe_num_merges(bpe) == 5)
        CHECK(!memcmp(bpe_merges(bpe), expect, sizeof expect), "hand merges differ");
    uint32_t *ids = NULL;
    size_t n = bpe_encode(bpe, texts[0], lens[0], &ids);
    CHECK(n == 3 && ids[0] == 258 && ids[1] == 260 && ids[2] == 259,
          "encode 'aaab aaab ab': got %zu ids", n);
    free(ids);
    bpe_free(bpe);
}

// A random corpus: words from a few alphabets, digits, punctuation, spaces.
static char *random_text(gsl_rng *r, size_t n)
{
    static const char *parts[] = { "the", "an", "ab", "aab", "ba", "ing", "tion", "é", "ü", "東",
                                   "京", "🙂", "0", "1", "42", "7", ".", ",", "!", "'s", "'t" };
    static const char *gaps[] = { " ", " ", " ", "  ", "\n", "\n\n", "\t", "" };
    char *s = malloc(n + 64);
    size_t at = 0;
    while (at < n) {
        int k = 1 + (int)gsl_rng_uniform_int(r, 3);
        for (int i = 0; i < k; i++) {
            const char *p = parts[gsl_rng_uniform_int(r, sizeof parts / sizeof parts[0])];
            memcpy(s + at, p, strlen(p));
            at += strlen(p);
        }
        const char *g = gaps[gsl_rng_uniform_int(r, sizeof gaps / sizeof gaps[0])];
        memcpy(s + at, g, strlen(g));
        at += strlen(g);
    }
    s[at] = '\0';
    return s;
}

typedef struct { int32_t *sym; int len; long count; } NaiveWord;

// Recount all pairs over all words every step; best = highest count, then lowest pair.
static int naive_train(const char *text, size_t len, int num_merges, int32_t *merges)
{
    size_t *ends = NULL;
    size_t m = bpe_pretokenize(text, len, &ends);
    NaiveWord *w = calloc(m, sizeof(NaiveWord));
    int nw = 0;
    size_t start = 0;
    for (size_t i = 0; i < m; i++) {   // unique words, counted
        int L = (int)(ends[i] - start), found = -1;
        for (int j = 0; j < nw && found < 0; j++) {
            if (w[j].len != L) continue;
            int same = 1;
            for (int k = 0; k < L && same; k++) same = w[j].sym[k] == (unsigned char)text[start + k];
            if (same) found = j;
        }
        if (found >= 0) {
            w[found].count++;
        } else {
            w[nw].sym = malloc((size_t)L * sizeof(int32_t));
            for (int k = 0; k < L; k++) w[nw].sym[k] = (unsigned char)text[start + k];
            w[nw].len = L;
            w[nw].count = 1;
            nw++;
        }
        start = ends[i];
    }
    free(ends);
    int V = 256 + num_merges;
    long *count = malloc((size_t)V * V * sizeof(long));
    int done = 0;
    for (; done < num_merges; done++) {
        memset(count, 0, (size_t)V * V * sizeof(long));
        for (int j = 0; j < nw; j++)
            for (int k = 0; k + 1 < w[j].len; k++)
                count[(size_t)w[j].sym[k] * V + w[j].sym[k + 1]] += w[j].count;
        size_t best = 0;
        for (size_t p = 1; p < (size_t)V * V; p++)
            if (count[p] > count[best]) best = p;
        if (count[best] == 0) break;
        int32_t a = (int32_t)(best / V), b = (int32_t)(best % V), z = 256 + done;
        merges[2 * done] = a;
        merges[2 * done + 1] = b;
        for (int j = 0; j < nw; j++) {
            int out = 0;
            for (int k = 0; k < w[j].len;) {
                if (k + 1 < w[j].len && w[j].sym[k] == a && w[j].sym[k + 1] == b) {
                    w[j].sym[out++] = z;
                    k += 2;
                } else {
                    w[j].sym[out++] = w[j].sym[k++];
                }
            }
            w[j].len = out;
        }
    }
    for (int j = 0; j < nw; j++) free(w[j].sym);
    free(w);
    free(count);
    return done;
}

// Encoding by definition: each pre-token's bytes, then every merge in rank order.
static size_t naive_encode(const BPE *bpe, const char *text, size_t len, uint32_t *out)
{
    size_t *ends = NULL;
    size_t m = bpe_pretokenize(text, len, &ends), n = 0, start = 0;
    const int32_t *mg = bpe_merges(bpe);
    for (size_t i = 0; i < m; i++) {
        size_t L = ends[i] - start;
        uint32_t *s = out + n;
        for (size_t k = 0; k < L; k++) s[k] = (unsigned char)text[start + k];
        for (int r = 0; r < bpe_num_merges(bpe) && L > 1; r++) {
            size_t o = 0;
            for (size_t k = 0; k < L;) {
                if (k + 1 < L && s[k] == (uint32_t)mg[2 * r] && s[k + 1] == (uint32_t)mg[2 * r + 1]) {
                    s[o++] = 256u + (uint32_t)r;
                    k += 2;
                } else {
                    s[o++] = s[k++];
                }
            }
            L = o;
        }
        n += L;
        start = ends[i];
    }
    free(ends);
    return n;
}

static void test_against_naive(void)
{
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(r, 3);
    char *text = random_text(r, 20000);
    size_t len = strlen(text);
    const char *texts[] = { text };
    char err[512];
    int V = 257 + 300;
    BPE *bpe = bpe_train(texts, &len, 1, V, 0, err, sizeof err);
    CHECK(bpe != NULL, "bpe_train: %s", err);
    int32_t *naive = malloc(2 * 300 * sizeof(int32_t));
    int nm = naive_train(text, len, 300, naive);
    CHECK(bpe_num_merges(bpe) == nm, "merges: incremental %d, naive %d", bpe_num_merges(bpe), nm);
    int first_diff = -1;
    for (int i = 0; i < nm && i < bpe_num_merges(bpe) && first_diff < 0; i++)
        if (bpe_merges(bpe)[2 * i] != naive[2 * i] || bpe_merges(bpe)[2 * i + 1] != naive[2 * i + 1])
            first_diff = i;
    CHECK(first_diff < 0, "incremental and naive training differ first at merge %d", first_diff);

    // Determinism: the same texts split differently give the same merges.
    size_t half = len / 2;
    while (half < len && (text[half] & 0xC0) == 0x80) half++;
    while (half < len && text[half] != ' ') half++;   // split at a pre-token boundary
    const char *two[] = { text, text + half };
    size_t two_len[] = { half, len - half };
    BPE *again = bpe_train(two, two_len, 2, V, 0, err, sizeof err);
    CHECK(again && bpe_num_merges(again) == bpe_num_merges(bpe) &&
          !memcmp(bpe_merges(again), bpe_merges(bpe),
                  2 * sizeof(int32_t) * (size_t)bpe_num_merges(bpe)),
          "training is not deterministic");
    bpe_free(again);

    // Encoding: long pre-tokens (digit and space runs > 32 bytes) take the heap encoder.
    char *probe = malloc(len + 400);
    memcpy(probe, text, len);
    size_t pl = len;
    for (int i = 0; i < 70; i++) probe[pl++] = (char)('0' + i % 3);
    for (int i = 0; i < 80; i++) probe[pl++] = ' ';
    for (int i = 0; i < 50; i++) { memcpy(probe + pl, "ab", 2); pl += 2; }
    probe[pl++] = 'x';
    uint32_t *ids = NULL, *ref = malloc(pl * sizeof(uint32_t));
    size_t n = bpe_encode(bpe, probe, pl, &ids);
    size_t nref = naive_encode(bpe, probe, pl, ref);
    CHECK(n == nref && !memcmp(ids, ref, n * sizeof(uint32_t)),
          "bpe_encode (%zu ids) differs from applying merges in order (%zu ids)", n, nref);
    CHECK(n < pl / 2, "encoding does not compress: %zu ids for %zu bytes", n, pl);
    size_t back_len = 0;
    char *back = bpe_decode(bpe, ids, n, &back_len);
    CHECK(back_len == pl && !memcmp(back, probe, pl), "decode(encode(text)) != text");
    free(back);
    free(ids);
    free(ref);
    free(probe);

    // Lossless on random bytes: invalid UTF-8, NUL, anything.
    for (int trial = 0; trial < 50; trial++) {
        size_t bl = gsl_rng_uniform_int(r, 300);
        char *bytes = malloc(bl + 1);
        for (size_t i = 0; i < bl; i++)
            bytes[i] = trial % 2 ? (char)gsl_rng_uniform_int(r, 256)
                                 : text[gsl_rng_uniform_int(r, len)];
        uint32_t *e = NULL;
        size_t en = bpe_encode(bpe, bytes, bl, &e);
        size_t dl = 0;
        char *d = bpe_decode(bpe, e, en, &dl);
        CHECK(dl == bl && !memcmp(d, bytes, bl), "random bytes trial %d: round trip fails", trial);
        for (size_t i = 0; i < en; i++)
            CHECK(e[i] < (uint32_t)bpe_eot(bpe), "id %u >= eot in plain text", e[i]);
        free(e);
        free(d);
        free(bytes);
    }

    // EOT: decodes to its text; the same text in a document is plain text.
    uint32_t eot = (uint32_t)bpe_eot(bpe);
    size_t dl = 0;
    char *d = bpe_decode(bpe, &eot, 1, &dl);
    CHECK(dl == strlen(BPE_EOT_TEXT) && !strcmp(d, BPE_EOT_TEXT), "EOT decodes to '%s'", d);
    free(d);
    uint32_t *e = NULL;
    size_t en = bpe_encode(bpe, BPE_EOT_TEXT, strlen(BPE_EOT_TEXT), &e);
    int has_eot = 0;
    for (size_t i = 0; i < en; i++) has_eot |= e[i] == eot;
    CHECK(en > 1 && !has_eot, "literal <|endoftext|> in text became the EOT token");
    free(e);

    // HDF5 round trip of the tokenizer.
    char path[] = "/tmp/test_data_bpe_XXXXXX";
    int fd = mkstemp(path);
    close(fd);
    hid_t f = H5Fcreate(path, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    hid_t g = H5Gcreate2(f, "tokenizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    CHECK(bpe_save_h5(bpe, g) == 0, "bpe_save_h5 failed");
    H5Gclose(g);
    H5Fclose(f);
    f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    g = H5Gopen2(f, "tokenizer", H5P_DEFAULT);
    BPE *loaded = bpe_load_h5(g, err, sizeof err);
    CHECK(loaded != NULL, "bpe_load_h5: %s", err);
    if (loaded) {
        CHECK(bpe_vocab_size(loaded) == bpe_vocab_size(bpe) &&
              !memcmp(bpe_merges(loaded), bpe_merges(bpe),
                      2 * sizeof(int32_t) * (size_t)bpe_num_merges(bpe)),
              "loaded tokenizer differs");
        uint32_t *a = NULL, *b = NULL;
        size_t na = bpe_encode(bpe, text, len, &a), nb = bpe_encode(loaded, text, len, &b);
        CHECK(na == nb && !memcmp(a, b, na * sizeof(uint32_t)), "loaded tokenizer encodes differently");
        free(a);
        free(b);
        bpe_free(loaded);
    }
    H5Gclose(g);
    H5Fclose(f);
    unlink(path);

    bpe_free(bpe);
    free(naive);
    free(text);
    gsl_rng_free(r);
}

static void test_rejections(void)
{
    char err[512] = "";
    const char *t[] = { "abc" };
    size_t l[] = { 3 };
    CHECK(bpe_train(t, l, 1, 256, 0, err, sizeof err) == NULL && strstr(err, "257"),
          "vocab 256 accepted or message without the range: %s", err);
    CHECK(bpe_train(t, l, 1, 65537, 0, err, sizeof err) == NULL && strstr(err, "65536"),
          "vocab 65537 accepted: %s", err);
    BPE *tiny = bpe_train(t, l, 1, 257, 0, err, sizeof err);
    CHECK(tiny && bpe_num_merges(tiny) == 0 && bpe_eot(tiny) == 256, "vocab 257: no merges");
    bpe_free(tiny);
    int32_t forward[] = { 97, 98, 258, 97 };   // merge 1 uses id 258, defined after it
    CHECK(bpe_from_merges(forward, 2, err, sizeof err) == NULL && strstr(err, "merge 1"),
          "forward reference accepted: %s", err);
    int32_t twice[] = { 97, 98, 97, 98 };
    CHECK(bpe_from_merges(twice, 2, err, sizeof err) == NULL && strstr(err, "repeats"),
          "repeated merge accepted: %s", err);
}

int main(void)
{
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
    test_pretokenizer();
    test_hand_merges();
    test_against_naive();
    test_rejections();
    printf("test_data_bpe: %d passed, %d failed\n", test_checks - test_failures, test_failures);
    return test_failures ? 1 : 0;
}
