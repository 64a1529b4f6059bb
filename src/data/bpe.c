/* bpe.c: byte-level BPE: GPT-2 pre-tokenization (PCRE2), training with incremental pair
 * counts, encoding, decoding, and storage in HDF5.
 *
 * Training works on unique pre-tokens ("words") with their counts, never on the running text:
 * a corpus of millions of pre-tokens has only tens of thousands of distinct ones. Each pair of
 * adjacent symbols has a count (summed over the words it occurs in, times their counts) and a
 * list of the words it occurs in. A merge rewrites only the words on its pair's list and
 * updates only the pairs next to the merged positions, so a merge costs what it changes, not
 * the size of the corpus. The best pair comes from a max-heap with lazy deletion: counts that
 * drop leave stale (too high) entries, which are refreshed when they reach the top. */
#include "bpe.h"

#define PCRE2_CODE_UNIT_WIDTH 8
#include <glib.h>
#include <limits.h>
#include <pcre2.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "datafile.h"

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

// Ids are < 65536, so a pair packs into 32 bits and GHashTable's direct hash.
static inline gpointer pair_key(uint32_t a, uint32_t b)
{
    return GUINT_TO_POINTER((a << 16) | b);
}

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

// ------------------------------------------------------------------------------------------
// Pre-tokenization

typedef void (*PretokenFn)(const char *s, size_t n, void *ctx);

static pcre2_code *pretokenizer_compile(void)
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
static void pretokenize_bytes(const pcre2_code *re, pcre2_match_data *md, const char *s,
                              size_t n, PretokenFn fn, void *ctx)
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
    pcre2_code *re = pretokenizer_compile();
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    EndsCtx c = { .text = text };
    pretokenize_bytes(re, md, text, len, collect_end, &c);
    pcre2_match_data_free(md);
    pcre2_code_free(re);
    *ends = c.ends;
    return c.n;
}

// ------------------------------------------------------------------------------------------
// Building a BPE from its merges

static BPE *bpe_build(int32_t *merges, int num_merges)
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
    bpe->re = pretokenizer_compile();
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
// Training: counting words

typedef struct {
    const char *p;   // bytes (in the trainer's string chunk once stored)
    size_t n;
    int64_t count;
} Word;

static guint word_hash(gconstpointer key)
{
    const Word *w = key;
    guint h = 2166136261u;   // FNV-1a
    for (size_t i = 0; i < w->n; i++) h = (h ^ (unsigned char)w->p[i]) * 16777619u;
    return h;
}

static gboolean word_equal(gconstpointer x, gconstpointer y)
{
    const Word *a = x, *b = y;
    return a->n == b->n && memcmp(a->p, b->p, a->n) == 0;
}

typedef struct {
    GHashTable *table;      // Word* -> Word* (the same)
    GStringChunk *chunk;    // the words' bytes
    int64_t pretokens;
} WordCounter;

static void count_word(const char *s, size_t n, void *vctx)
{
    WordCounter *wc = vctx;
    Word probe = { s, n, 0 };
    Word *w = g_hash_table_lookup(wc->table, &probe);
    if (!w) {
        w = mallocCheck(sizeof(Word));
        w->p = g_string_chunk_insert_len(wc->chunk, s, (gssize)n);
        w->n = n;
        w->count = 0;
        g_hash_table_add(wc->table, w);
    }
    w->count++;
    wc->pretokens++;
}

// ------------------------------------------------------------------------------------------
// Training: pairs and merges

typedef struct { int64_t count; int32_t a, b; } HeapItem;

static int heap_before(const HeapItem *x, const HeapItem *y)
{
    if (x->count != y->count) return x->count > y->count;
    if (x->a != y->a) return x->a < y->a;
    return x->b < y->b;
}

typedef struct { HeapItem *v; size_t n, cap; } Heap;

static void heap_push(Heap *h, HeapItem it)
{
    if (h->n == h->cap) {
        h->cap = h->cap ? 2 * h->cap : 1024;
        h->v = realloc(h->v, h->cap * sizeof(HeapItem));
        if (!h->v) PHOTON_FATAL("realloc of the pair heap failed");
    }
    size_t i = h->n++;
    while (i > 0 && heap_before(&it, &h->v[(i - 1) / 2])) {
        h->v[i] = h->v[(i - 1) / 2];
        i = (i - 1) / 2;
    }
    h->v[i] = it;
}

static HeapItem heap_pop(Heap *h)
{
    HeapItem top = h->v[0], last = h->v[--h->n];
    size_t i = 0;
    for (;;) {
        size_t c = 2 * i + 1;
        if (c >= h->n) break;
        if (c + 1 < h->n && heap_before(&h->v[c + 1], &h->v[c])) c++;
        if (!heap_before(&h->v[c], &last)) break;
        h->v[i] = h->v[c];
        i = c;
    }
    if (h->n > 0) h->v[i] = last;
    return top;
}

typedef struct { int32_t *v; int32_t n, cap; } IntList;

static void intlist_push(IntList *l, int32_t x)
{
    if (l->n == l->cap) {
        l->cap = l->cap ? 2 * l->cap : 4;
        l->v = realloc(l->v, (size_t)l->cap * sizeof(int32_t));
        if (!l->v) PHOTON_FATAL("realloc of a word list failed");
    }
    l->v[l->n++] = x;
}

typedef struct {
    int num_words;
    int64_t *wcount;      // (num_words)
    int64_t *wstart;      // (num_words) into sym
    int32_t *wlen;        // (num_words) current number of symbols
    int32_t *sym;         // all words' symbols
    int32_t *wstamp;      // (num_words) last merge that rewrote the word (dedupes lists)
    GHashTable *pair_id;  // pair_key -> id + 1
    int num_pairs, cap_pairs;
    int32_t *pa, *pb;     // (num_pairs)
    int64_t *pcount;      // (num_pairs)
    IntList *where;       // (num_pairs) words the pair occurs in (may be stale or repeat)
    int32_t *pstamp;      // (num_pairs) last merge that raised the count
    IntList touched;      // pairs whose count rose in this merge
    Heap heap;
    unsigned char *mark;  // scratch: positions of a word taking part in a merge
    size_t mark_cap;
} Trainer;

static int pair_lookup(Trainer *t, int32_t a, int32_t b)
{
    gpointer v = g_hash_table_lookup(t->pair_id, pair_key((uint32_t)a, (uint32_t)b));
    if (v) return GPOINTER_TO_INT(v) - 1;
    if (t->num_pairs == t->cap_pairs) {
        t->cap_pairs = t->cap_pairs ? 2 * t->cap_pairs : 4096;
        size_t c = (size_t)t->cap_pairs;
        t->pa = realloc(t->pa, c * sizeof(int32_t));
        t->pb = realloc(t->pb, c * sizeof(int32_t));
        t->pcount = realloc(t->pcount, c * sizeof(int64_t));
        t->where = realloc(t->where, c * sizeof(IntList));
        t->pstamp = realloc(t->pstamp, c * sizeof(int32_t));
        if (!t->pa || !t->pb || !t->pcount || !t->where || !t->pstamp)
            PHOTON_FATAL("realloc of the pair table (%zu pairs) failed", c);
    }
    int id = t->num_pairs++;
    t->pa[id] = a;
    t->pb[id] = b;
    t->pcount[id] = 0;
    t->where[id] = (IntList){ 0 };
    t->pstamp[id] = -1;
    g_hash_table_insert(t->pair_id, pair_key((uint32_t)a, (uint32_t)b), GINT_TO_POINTER(id + 1));
    return id;
}

static void pair_remove_count(Trainer *t, int32_t a, int32_t b, int64_t c)
{
    t->pcount[pair_lookup(t, a, b)] -= c;
}

static void pair_add_count(Trainer *t, int32_t a, int32_t b, int64_t c, int32_t word, int32_t step)
{
    int id = pair_lookup(t, a, b);
    t->pcount[id] += c;
    IntList *l = &t->where[id];
    if (l->n == 0 || l->v[l->n - 1] != word) intlist_push(l, word);
    if (t->pstamp[id] != step) {
        t->pstamp[id] = step;
        intlist_push(&t->touched, id);
    }
}

// Rewrites every word holding (a, b) with z, updating the counts of the pairs around each
// merged position: pairs touching a merged position lose the word's count, pairs touching a
// new z gain it; all other pairs of the word are unchanged.
static void trainer_merge(Trainer *t, int pid, int32_t z, int32_t step)
{
    int32_t a = t->pa[pid], b = t->pb[pid];
    IntList words = t->where[pid];
    t->where[pid] = (IntList){ 0 };
    t->touched.n = 0;
    for (int32_t k = 0; k < words.n; k++) {
        int32_t w = words.v[k];
        if (t->wstamp[w] == step) continue;
        t->wstamp[w] = step;
        int32_t *s = t->sym + t->wstart[w];
        int32_t L = t->wlen[w];
        if ((size_t)L > t->mark_cap) {
            t->mark_cap = 2 * (size_t)L;
            t->mark = realloc(t->mark, t->mark_cap);
            if (!t->mark) PHOTON_FATAL("realloc failed");
        }
        int found = 0;
        memset(t->mark, 0, (size_t)L);
        for (int32_t i = 0; i + 1 < L;) {
            if (s[i] == a && s[i + 1] == b) {
                t->mark[i] = t->mark[i + 1] = 1;
                found = 1;
                i += 2;
            } else {
                i++;
            }
        }
        if (!found) continue;   // a stale entry: an earlier merge already took the pair
        int64_t c = t->wcount[w];
        for (int32_t i = 0; i + 1 < L; i++)
            if (t->mark[i] || t->mark[i + 1]) pair_remove_count(t, s[i], s[i + 1], c);
        int32_t j = 0;
        for (int32_t i = 0; i < L;) {
            if (t->mark[i] && i + 1 < L && t->mark[i + 1] && s[i] == a && s[i + 1] == b) {
                s[j++] = z;
                i += 2;
            } else {
                s[j++] = s[i++];
            }
        }
        t->wlen[w] = j;
        for (int32_t i = 0; i + 1 < j; i++)
            if (s[i] == z || s[i + 1] == z) pair_add_count(t, s[i], s[i + 1], c, w, step);
    }
    free(words.v);
    for (int32_t k = 0; k < t->touched.n; k++) {
        int id = t->touched.v[k];
        if (t->pcount[id] > 0)
            heap_push(&t->heap, (HeapItem){ t->pcount[id], t->pa[id], t->pb[id] });
    }
}

static void trainer_free(Trainer *t)
{
    free(t->wcount);
    free(t->wstart);
    free(t->wlen);
    free(t->sym);
    free(t->wstamp);
    if (t->pair_id) g_hash_table_destroy(t->pair_id);
    for (int i = 0; i < t->num_pairs; i++) free(t->where[i].v);
    free(t->pa);
    free(t->pb);
    free(t->pcount);
    free(t->where);
    free(t->pstamp);
    free(t->touched.v);
    free(t->heap.v);
    free(t->mark);
}

static int compare_words(const void *x, const void *y)
{
    const Word *a = *(Word *const *)x, *b = *(Word *const *)y;
    size_t n = a->n < b->n ? a->n : b->n;
    int c = memcmp(a->p, b->p, n);
    if (c) return c;
    return (a->n > b->n) - (a->n < b->n);
}

BPE *bpe_train(const char *const *texts, const size_t *lens, int num_texts, int vocab_size,
               int verbose, char *err, size_t errlen)
{
    if (vocab_size < BPE_MIN_VOCAB || vocab_size > BPE_MAX_VOCAB) {
        snprintf(err, errlen, "vocabulary size %d is out of range: use %d..%d (256 bytes, the "
                 "merges, and the end-of-text token)", vocab_size, BPE_MIN_VOCAB, BPE_MAX_VOCAB);
        return NULL;
    }
    double t0 = now_seconds();
    int num_merges = vocab_size - BPE_MIN_VOCAB;

    // 1. Unique pre-tokens and their counts.
    pcre2_code *re = pretokenizer_compile();
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    WordCounter wc = { g_hash_table_new_full(word_hash, word_equal, free, NULL),
                       g_string_chunk_new(1 << 20), 0 };
    size_t total_bytes = 0;
    double last_print = t0;
    for (int i = 0; i < num_texts; i++) {
        pretokenize_bytes(re, md, texts[i], lens[i], count_word, &wc);
        total_bytes += lens[i];
        if (verbose && now_seconds() - last_print > 5.0) {
            fprintf(stderr, "bpe: counted pre-tokens of %d of %d texts (%.1f MB, %.0f s)\n",
                    i + 1, num_texts, total_bytes / 1e6, now_seconds() - t0);
            last_print = now_seconds();
        }
    }
    pcre2_match_data_free(md);
    pcre2_code_free(re);

    // Sorted, so that the trainer's internal order does not depend on hashing.
    guint nw = 0;
    Word **words = (Word **)g_hash_table_get_keys_as_array(wc.table, &nw);
    qsort(words, nw, sizeof(Word *), compare_words);
    if (verbose)
        fprintf(stderr, "bpe: %zu bytes, %lld pre-tokens, %u unique (%.2f s)\n", total_bytes,
                (long long)wc.pretokens, nw, now_seconds() - t0);

    // 2. Symbols of every word, pair counts, the heap.
    Trainer t = { 0 };
    t.num_words = (int)nw;
    t.wcount = mallocCheck(nw * sizeof(int64_t));
    t.wstart = mallocCheck(nw * sizeof(int64_t));
    t.wlen = mallocCheck(nw * sizeof(int32_t));
    t.wstamp = mallocCheck(nw * sizeof(int32_t));
    size_t total_syms = 0;
    for (guint w = 0; w < nw; w++) total_syms += words[w]->n;
    t.sym = mallocCheck(total_syms * sizeof(int32_t));
    t.pair_id = g_hash_table_new(g_direct_hash, g_direct_equal);
    size_t at = 0;
    for (guint w = 0; w < nw; w++) {
        if (words[w]->n > INT32_MAX) PHOTON_FATAL("a pre-token of %zu bytes", words[w]->n);
        t.wcount[w] = words[w]->count;
        t.wstart[w] = (int64_t)at;
        t.wlen[w] = (int32_t)words[w]->n;
        t.wstamp[w] = -1;
        for (size_t i = 0; i < words[w]->n; i++) t.sym[at + i] = (unsigned char)words[w]->p[i];
        for (size_t i = 0; i + 1 < words[w]->n; i++)
            pair_add_count(&t, t.sym[at + i], t.sym[at + i + 1], t.wcount[w], (int32_t)w, -2);
        at += words[w]->n;
    }
    g_free(words);
    g_hash_table_destroy(wc.table);
    g_string_chunk_free(wc.chunk);
    for (int id = 0; id < t.num_pairs; id++)
        heap_push(&t.heap, (HeapItem){ t.pcount[id], t.pa[id], t.pb[id] });

    // 3. Merges, best pair first.
    int32_t *merges = mallocCheck(((size_t)num_merges + 1) * 2 * sizeof(int32_t));
    int done = 0;
    last_print = now_seconds();
    double t_merge = last_print;
    while (done < num_merges && t.heap.n > 0) {
        HeapItem top = heap_pop(&t.heap);
        int pid = pair_lookup(&t, top.a, top.b);
        if (t.pcount[pid] != top.count) {   // stale: the count fell since this was pushed
            if (t.pcount[pid] > 0)
                heap_push(&t.heap, (HeapItem){ t.pcount[pid], top.a, top.b });
            continue;
        }
        if (top.count <= 0) break;
        merges[2 * done] = top.a;
        merges[2 * done + 1] = top.b;
        trainer_merge(&t, pid, 256 + done, done);
        done++;
        if (verbose && (done % 1000 == 0 || now_seconds() - last_print > 5.0)) {
            fprintf(stderr, "bpe: merge %d/%d (pair count %lld, %.1f s)\n", done, num_merges,
                    (long long)top.count, now_seconds() - t0);
            last_print = now_seconds();
        }
    }
    trainer_free(&t);
    if (verbose) {
        fprintf(stderr, "bpe: %d merges in %.2f s (%.2f s in all)\n", done,
                now_seconds() - t_merge, now_seconds() - t0);
        if (done < num_merges)
            fprintf(stderr, "bpe: the corpus has no more pairs to merge: the vocabulary has %d "
                    "ids, not %d\n", 256 + done + 1, vocab_size);
    }
    return bpe_build(merges, done);
}

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
    pretokenize_bytes(bpe->re, md, text, len, encode_word, &c);
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
    int64_t vocab = 0, eot = 0;
    char *pattern = NULL;
    H5E_BEGIN_TRY {
        dset = H5Dopen2(loc, "merges", H5P_DEFAULT);
    } H5E_END_TRY;
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
        h5_attr_read_string(loc, "pretokenizer", &pattern, err, errlen) < 0)
        goto done;
    if (strcmp(pattern, BPE_PRETOKEN_PATTERN) != 0) {
        snprintf(err, errlen, "tokenizer pre-tokenizer pattern '%s' is not the one this photon "
                 "uses; re-run photon prep", pattern);
        goto done;
    }
    if (vocab != (int64_t)dims[0] + BPE_MIN_VOCAB || eot != vocab - 1) {
        snprintf(err, errlen, "tokenizer attributes vocab_size=%lld eot_token=%lld do not match "
                 "%llu merges (expected vocab_size = merges + 257, eot_token = vocab_size - 1)",
                 (long long)vocab, (long long)eot, (unsigned long long)dims[0]);
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
