/* bpe_train.c: training a byte-level BPE (bpe_train, see bpe.h) with incremental pair counts.
 *
 * Training works on unique pre-tokens ("words") with their counts, never on the running text:
 * a corpus of millions of pre-tokens has only tens of thousands of distinct ones. Each pair of
 * adjacent symbols has a count (summed over the words it occurs in, times their counts) and a
 * list of the words it occurs in. A merge rewrites only the words on its pair's list and
 * updates only the pairs next to the merged positions, so a merge costs what it changes, not
 * the size of the corpus. The best pair comes from a max-heap with lazy deletion: counts that
 * drop leave stale (too high) entries, which are refreshed when they reach the top. */
#include "bpe.h"

#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "bpe_private.h"
#include "check.h"

static double now_seconds(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

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
    pcre2_code *re = bpe_pretokenizer_compile();
    pcre2_match_data *md = pcre2_match_data_create_from_pattern(re, NULL);
    WordCounter wc = { g_hash_table_new_full(word_hash, word_equal, free, NULL),
                       g_string_chunk_new(1 << 20), 0 };
    size_t total_bytes = 0;
    double last_print = t0;
    for (int i = 0; i < num_texts; i++) {
        bpe_pretokenize_bytes(re, md, texts[i], lens[i], count_word, &wc);
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
