/* bpe.c: byte-level BPE: GPT-2 pre-tokenization (PCRE2), the tables built from a merge list,
 * encoding, decoding, and storage in HDF5. Training is in bpe_train.c. */
#include "bpe.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe_private.h"
#include "check.h"
#include "h5util.h"

struct BPE {
    int vocab_size;     // 256 + num_merges + 1
    int eot;            // vocab_size - 1
    int num_merges;
    int32_t *merges;    // (M, 2): token 256 + r = merges[r][0] followed by merges[r][1]
    GHashTable *ranks;  // pair_key(a, b) -> rank + 1
    char *bytes;        // the bytes of every id, concatenated
    size_t *offset;     // (vocab_size + 1): id i is bytes[offset[i] .. offset[i+1])
    pcre2_code *re;     // the pre-tokenizer
};

// ------------------------------------------------------------------------------------------
// Pre-tokenization

pcre2_code *bpe_pretokenizer_compile(void)
{
    int errcode = 0;
    PCRE2_SIZE erroffset = 0;
    pcre2_code *re = pcre2_compile((PCRE2_SPTR)BPE_PRETOKEN_PATTERN, PCRE2_ZERO_TERMINATED,
                                   PCRE2_UTF | PCRE2_UCP, &errcode, &erroffset, NULL);
    if (!re) {
        PCRE2_UCHAR msg[256];
        pcre2_get_error_message(errcode, msg, sizeof msg);
        PHOTON_FATAL("pcre2_compile(GPT-2 pattern) failed at %zu: %s", (size_t)erroffset, msg);
    }
    // Without JIT (some platforms) pcre2_match interprets the pattern: slower, same result.
    pcre2_jit_compile(re, PCRE2_JIT_COMPLETE);
    return re;
}

// s[0..n) is valid UTF-8 without NUL. Every character matches one of the pattern's
// alternatives, so the matches tile the text; a gap (which cannot happen) would still be
// passed on as a pre-token, to keep encoding lossless whatever the pattern.
static void pretokenize_valid(const pcre2_code *re, pcre2_match_data *md, const char *s,
                              size_t n, PretokenFn fn, void *ctx)
{
    size_t pos = 0;
    while (pos < n) {
        int rc = pcre2_match(re, (PCRE2_SPTR)s, n, pos, PCRE2_NO_UTF_CHECK, md, NULL);
        if (rc < 0) {
            fn(s + pos, n - pos, ctx);
            return;
        }
        PCRE2_SIZE *ov = pcre2_get_ovector_pointer(md);
        if (ov[0] > pos) fn(s + pos, ov[0] - pos, ctx);
        if (ov[1] <= ov[0]) {   // an empty match: step over one character
            size_t next = (size_t)(g_utf8_next_char(s + ov[0]) - s);
            fn(s + ov[0], next - ov[0], ctx);
            pos = next;
            continue;
        }
        fn(s + ov[0], ov[1] - ov[0], ctx);
        pos = ov[1];
    }
}

// Any bytes: valid UTF-8 stretches go through the pattern; each byte that is not valid UTF-8
// (or is NUL) is a pre-token by itself.
void bpe_pretokenize_bytes(const pcre2_code *re, pcre2_match_data *md, const char *s, size_t n,
                           PretokenFn fn, void *ctx)
{
    size_t pos = 0;
    while (pos < n) {
        const gchar *end = NULL;
        g_utf8_validate_len(s + pos, n - pos, &end);
        size_t valid = (size_t)(end - (s + pos));
        if (valid) pretokenize_valid(re, md, s + pos, valid, fn, ctx);
        pos += valid;
        if (pos < n) {
            fn(s + pos, 1, ctx);
            pos++;
        }
    }
}

typedef struct { size_t *ends; size_t n, cap, base; const char *text; } EndsCtx;

static void collect_end(const char *s, size_t n, void *vctx)
{
    EndsCtx *c = vctx;
    if (c->n == c->cap) {
        c->cap = c->cap ? 2 * c->cap : 64;
        c->ends = realloc(c->ends, c->cap * sizeof(size_t));
        if (!c->ends) PHOTON_FATAL("realloc failed");
    }
    c->ends[c->n++] = (size_t)(s - c->text) + n;
}

size_t bpe_pretokenize(const char *text, size_t len, size_t **ends)
{
    pcre2_code *re = bpe_pretokenizer_compile();
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    EndsCtx c = { .text = text };
    bpe_pretokenize_bytes(re, md, text, len, collect_end, &c);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    *ends = c.ends;
    return c.n;
}

// ------------------------------------------------------------------------------------------
// Building a BPE from its merges

BPE *bpe_build(int32_t *merges, int num_merges)
{
    BPE *bpe = callocCheck(1, sizeof(BPE));
    bpe->num_merges = num_merges;
    bpe->vocab_size = 256 + num_merges + 1;
    bpe->eot = bpe->vocab_size - 1;
    bpe->merges = merges;
    bpe->ranks = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (int r = 0; r < num_merges; r++)
        g_hash_table_insert(bpe->ranks, pair_key(merges[2 * r], merges[2 * r + 1]),
                            GINT_TO_POINTER(r + 1));
    // decoding table: a merged token's bytes are its two parts' bytes
    size_t *length = mallocCheck((size_t)bpe->vocab_size * sizeof(size_t));
    for (int i = 0; i < 256; i++) length[i] = 1;
    for (int r = 0; r < num_merges; r++)
        length[256 + r] = length[merges[2 * r]] + length[merges[2 * r + 1]];
    length[bpe->eot] = strlen(BPE_EOT_TEXT);
    bpe->offset = mallocCheck(((size_t)bpe->vocab_size + 1) * sizeof(size_t));
    bpe->offset[0] = 0;
    for (int i = 0; i < bpe->vocab_size; i++) bpe->offset[i + 1] = bpe->offset[i] + length[i];
    bpe->bytes = mallocCheck(bpe->offset[bpe->vocab_size]);
    for (int i = 0; i < 256; i++) bpe->bytes[i] = (char)i;
    for (int r = 0; r < num_merges; r++) {
        int a = merges[2 * r], b = merges[2 * r + 1];
        char *dst = bpe->bytes + bpe->offset[256 + r];
        memcpy(dst, bpe->bytes + bpe->offset[a], length[a]);
        memcpy(dst + length[a], bpe->bytes + bpe->offset[b], length[b]);
    }
    memcpy(bpe->bytes + bpe->offset[bpe->eot], BPE_EOT_TEXT, length[bpe->eot]);
    free(length);
    bpe->re = bpe_pretokenizer_compile();
    return bpe;
}

BPE *bpe_from_merges(const int32_t *merges, int num_merges, char *err, size_t errlen)
{
    if (num_merges < 0 || num_merges > BPE_MAX_VOCAB - BPE_MIN_VOCAB) {
        snprintf(err, errlen, "%d merges: a vocabulary of 257..65536 ids has 0..%d merges",
                 num_merges, BPE_MAX_VOCAB - BPE_MIN_VOCAB);
        return NULL;
    }
    GHashTable *seen = g_hash_table_new(g_direct_hash, g_direct_equal);
    for (int r = 0; r < num_merges; r++) {
        int32_t a = merges[2 * r], b = merges[2 * r + 1];
        if (a < 0 || b < 0 || a >= 256 + r || b >= 256 + r) {
            snprintf(err, errlen, "merge %d (%d, %d) uses an id not defined before it (ids must "
                     "be < %d)", r, a, b, 256 + r);
            g_hash_table_destroy(seen);
            return NULL;
        }
        if (!g_hash_table_add(seen, pair_key((uint32_t)a, (uint32_t)b))) {
            snprintf(err, errlen, "merge %d (%d, %d) repeats an earlier merge", r, a, b);
            g_hash_table_destroy(seen);
            return NULL;
        }
    }
    g_hash_table_destroy(seen);
    int32_t *copy = mallocCheck((size_t)num_merges * 2 * sizeof(int32_t));
    memcpy(copy, merges, (size_t)num_merges * 2 * sizeof(int32_t));
    return bpe_build(copy, num_merges);
}

void bpe_free(BPE *bpe)
{
    if (!bpe) return;
    free(bpe->merges);
    g_hash_table_destroy(bpe->ranks);
    free(bpe->bytes);
    free(bpe->offset);
    pcre2_code_free(bpe->re);
    free(bpe);
}

int bpe_vocab_size(const BPE *bpe) { return bpe->vocab_size; }
int bpe_eot(const BPE *bpe) { return bpe->eot; }
int bpe_num_merges(const BPE *bpe) { return bpe->num_merges; }
const int32_t *bpe_merges(const BPE *bpe) { return bpe->merges; }

// ------------------------------------------------------------------------------------------
// Encoding and decoding

static inline int merge_rank(const BPE *bpe, uint32_t a, uint32_t b)
{
    return GPOINTER_TO_INT(g_hash_table_lookup(bpe->ranks, pair_key(a, b))) - 1;
}

// Short words: repeatedly merge every occurrence of the lowest-rank pair present (GPT-2's
// loop). Equivalent to applying the merges in rank order, as training did.
static size_t encode_short(const BPE *bpe, const unsigned char *p, size_t n, uint32_t *out)
{
    size_t L = n;
    for (size_t i = 0; i < n; i++) out[i] = p[i];
    while (L > 1) {
        int best = INT_MAX;
        for (size_t i = 0; i + 1 < L; i++) {
            int r = merge_rank(bpe, out[i], out[i + 1]);
            if (r >= 0 && r < best) best = r;
        }
        if (best == INT_MAX) break;
        uint32_t a = (uint32_t)bpe->merges[2 * best], b = (uint32_t)bpe->merges[2 * best + 1];
        size_t j = 0;
        for (size_t i = 0; i < L;) {
            if (i + 1 < L && out[i] == a && out[i + 1] == b) {
                out[j++] = 256u + (uint32_t)best;
                i += 2;
            } else {
                out[j++] = out[i++];
            }
        }
        L = j;
    }
    return L;
}

// Long words (long runs of spaces or digits): a linked list of symbols and a min-heap of
// (rank, position) candidates, O(n log n) instead of the short loop's O(n^2). Same result:
// equal ranks merge left to right, and a merge of rank r only creates pairs of higher rank.
typedef struct { int rank; size_t pos; } Cand;

static int cand_before(Cand x, Cand y)
{
    return x.rank != y.rank ? x.rank < y.rank : x.pos < y.pos;
}

static void cand_push(Cand *h, size_t *n, Cand c)
{
    size_t i = (*n)++;
    while (i > 0 && cand_before(c, h[(i - 1) / 2])) {
        h[i] = h[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h[i] = c;
}

static Cand cand_pop(Cand *h, size_t *n)
{
    Cand top = h[0], last = h[--*n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= *n) break;
        if (c + 1 < *n && cand_before(h[c + 1], h[c])) c++;
        if (!cand_before(h[c], last)) break;
        h[i] = h[c];
        i = c;
    }
    if (*n > 0) h[i] = last;
    return top;
}

static size_t encode_long(const BPE *bpe, const unsigned char *p, size_t n, uint32_t *out)
{
    uint32_t *sym = mallocCheck(n * sizeof(uint32_t));
    size_t *next = mallocCheck(n * sizeof(size_t)), *prev = mallocCheck(n * sizeof(size_t));
    unsigned char *alive = mallocCheck(n);
    // every merge removes a symbol and adds at most two candidates
    Cand *heap = mallocCheck((3 * n + 1) * sizeof(Cand));
    size_t hn = 0;
    const size_t NONE = SIZE_MAX;
    for (size_t i = 0; i < n; i++) {
        sym[i] = p[i];
        next[i] = i + 1 < n ? i + 1 : NONE;
        prev[i] = i > 0 ? i - 1 : NONE;
        alive[i] = 1;
    }
    for (size_t i = 0; i + 1 < n; i++) {
        int r = merge_rank(bpe, sym[i], sym[i + 1]);
        if (r >= 0) cand_push(heap, &hn, (Cand){ r, i });
    }
    while (hn > 0) {
        Cand c = cand_pop(heap, &hn);
        size_t i = c.pos, j = next[i];
        if (!alive[i] || j == NONE) continue;
        if (merge_rank(bpe, sym[i], sym[j]) != c.rank) continue;   // the pair changed
        sym[i] = 256u + (uint32_t)c.rank;
        alive[j] = 0;
        next[i] = next[j];
        if (next[j] != NONE) prev[next[j]] = i;
        if (prev[i] != NONE) {
            int r = merge_rank(bpe, sym[prev[i]], sym[i]);
            if (r >= 0) cand_push(heap, &hn, (Cand){ r, prev[i] });
        }
        if (next[i] != NONE) {
            int r = merge_rank(bpe, sym[i], sym[next[i]]);
            if (r >= 0) cand_push(heap, &hn, (Cand){ r, i });
        }
    }
    size_t m = 0;
    for (size_t i = 0; i != NONE; i = next[i]) out[m++] = sym[i];
    free(sym);
    free(next);
    free(prev);
    free(alive);
    free(heap);
    return m;
}

#define ENCODE_SHORT_MAX 32

typedef struct { const BPE *bpe; uint32_t *ids; size_t n; } EncodeCtx;

static void encode_word(const char *s, size_t n, void *vctx)
{
    EncodeCtx *c = vctx;
    const unsigned char *p = (const unsigned char *)s;
    if (n == 1) c->ids[c->n++] = p[0];
    else if (n <= ENCODE_SHORT_MAX) c->n += encode_short(c->bpe, p, n, c->ids + c->n);
    else c->n += encode_long(c->bpe, p, n, c->ids + c->n);
}

size_t bpe_encode(const BPE *bpe, const char *text, size_t len, uint32_t **out)
{
    EncodeCtx c = { bpe, mallocCheck((len ? len : 1) * sizeof(uint32_t)), 0 };
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(bpe->re, NULL);
    if (!md) PHOTON_FATAL("pcre2_match_data_create_from_pattern failed");
    bpe_pretokenize_bytes(bpe->re, md, text, len, encode_word, &c);
    pcre2_match_data_free(md);
    *out = c.ids;
    return c.n;
}

char *bpe_decode(const BPE *bpe, const uint32_t *ids, size_t n, size_t *len)
{
    size_t total = 0;
    for (size_t i = 0; i < n; i++)
        if (ids[i] < (uint32_t)bpe->vocab_size)
            total += bpe->offset[ids[i] + 1] - bpe->offset[ids[i]];
    char *s = mallocCheck(total + 1);
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        if (ids[i] >= (uint32_t)bpe->vocab_size) continue;
        size_t k = bpe->offset[ids[i] + 1] - bpe->offset[ids[i]];
        memcpy(s + at, bpe->bytes + bpe->offset[ids[i]], k);
        at += k;
    }
    s[at] = '\0';
    if (len) *len = at;
    return s;
}

// ------------------------------------------------------------------------------------------
// HDF5

int bpe_save_h5(const BPE *bpe, hid_t loc)
{
    int rc = -1;
    hsize_t dims[2] = { (hsize_t)bpe->num_merges, 2 };
    hid_t space = H5Screate_simple(2, dims, NULL), dset = H5I_INVALID_HID;
    if (space < 0) goto done;
    dset = H5Dcreate2(loc, "merges", H5T_STD_I32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (dset < 0) goto done;
    if (bpe->num_merges > 0 &&
        H5Dwrite(dset, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, bpe->merges) < 0)
        goto done;
    if (h5_attr_write_int(loc, "vocab_size", bpe->vocab_size) < 0 ||
        h5_attr_write_int(loc, "eot_token", bpe->eot) < 0 ||
        h5_attr_write_int(loc, "num_merges", bpe->num_merges) < 0 ||
        h5_attr_write_string(loc, "type", "byte-level-bpe") < 0 ||
        h5_attr_write_string(loc, "pretokenizer", BPE_PRETOKEN_PATTERN) < 0 ||
        h5_attr_write_string(loc, "eot_text", BPE_EOT_TEXT) < 0)
        goto done;
    rc = 0;
done:
    if (dset >= 0) H5Dclose(dset);
    if (space >= 0) H5Sclose(space);
    return rc;
}

BPE *bpe_load_h5(hid_t loc, char *err, size_t errlen)
{
    BPE *bpe = NULL;
    int32_t *merges = NULL;
    hid_t dset = H5I_INVALID_HID, space = H5I_INVALID_HID;
    int64_t vocab = 0, eot = 0, num_merges = 0;
    char *pattern = NULL;
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    dset = H5Dopen2(loc, "merges", H5P_DEFAULT);
    h5_quiet_end(&quiet);
    if (dset < 0) {
        snprintf(err, errlen, "no tokenizer merges dataset");
        goto done;
    }
    space = H5Dget_space(dset);
    hsize_t dims[2] = { 0, 0 };
    if (H5Sget_simple_extent_ndims(space) != 2 || H5Sget_simple_extent_dims(space, dims, NULL) < 0 ||
        dims[1] != 2) {
        snprintf(err, errlen, "tokenizer merges dataset is not (M, 2)");
        goto done;
    }
    if (h5_attr_read_int(loc, "vocab_size", &vocab, err, errlen) < 0 ||
        h5_attr_read_int(loc, "eot_token", &eot, err, errlen) < 0 ||
        h5_attr_read_int(loc, "num_merges", &num_merges, err, errlen) < 0 ||
        h5_attr_read_string(loc, "pretokenizer", &pattern, err, errlen) < 0)
        goto done;
    if (strcmp(pattern, BPE_PRETOKEN_PATTERN) != 0) {
        snprintf(err, errlen, "tokenizer pre-tokenizer pattern '%s' is not the one this photon "
                 "uses; re-run photon prep", pattern);
        goto done;
    }
    if (vocab != (int64_t)dims[0] + BPE_MIN_VOCAB || eot != vocab - 1 ||
        num_merges != (int64_t)dims[0]) {
        snprintf(err, errlen, "tokenizer attributes vocab_size=%lld eot_token=%lld num_merges=%lld "
                 "do not match %llu merges (expected vocab_size = merges + 257, eot_token = "
                 "vocab_size - 1, num_merges = merges)", (long long)vocab, (long long)eot,
                 (long long)num_merges, (unsigned long long)dims[0]);
        goto done;
    }
    merges = mallocCheck((dims[0] ? dims[0] : 1) * 2 * sizeof(int32_t));
    if (dims[0] > 0 && H5Dread(dset, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, merges) < 0) {
        snprintf(err, errlen, "cannot read the tokenizer merges");
        goto done;
    }
    bpe = bpe_from_merges(merges, (int)dims[0], err, errlen);
done:
    free(merges);
    free(pattern);
    if (space >= 0) H5Sclose(space);
    if (dset >= 0) H5Dclose(dset);
    return bpe;
}
