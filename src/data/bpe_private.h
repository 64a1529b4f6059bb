/* bpe_private.h: what bpe.c shares with bpe_train.c (not for other callers): the
 * pre-tokenizer, the pair key of the merge tables, and building a BPE from its merges. */
#ifndef PHOTON_BPE_PRIVATE_H
#define PHOTON_BPE_PRIVATE_H

#define PCRE2_CODE_UNIT_WIDTH 8
#include <glib.h>
#include <pcre2.h>
#include <stddef.h>
#include <stdint.h>

#include "bpe.h"

// Ids are < 65536, so a pair packs into 32 bits and GHashTable's direct hash.
static inline gpointer pair_key(uint32_t a, uint32_t b)
{
    return GUINT_TO_POINTER((a << 16) | b);
}

typedef void (*PretokenFn)(const char *s, size_t n, void *ctx);

// The GPT-2 pattern, compiled (JIT where the platform has it); fatal if PCRE2 refuses it.
pcre2_code *bpe_pretokenizer_compile(void);

// Calls fn on each pre-token of s[0..n), any bytes: valid UTF-8 stretches go through the
// pattern; each byte that is not valid UTF-8 (or is NUL) is a pre-token by itself.
void bpe_pretokenize_bytes(const pcre2_code *re, pcre2_match_data *md, const char *s, size_t n,
                           PretokenFn fn, void *ctx);

// A BPE from num_merges merges (checked by the caller); takes ownership of merges.
BPE *bpe_build(int32_t *merges, int num_merges);

#endif
