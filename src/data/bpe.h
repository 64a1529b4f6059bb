/* bpe.h: byte-level BPE tokenizer (GPT-2 style), trained by photon.
 *
 * Token ids: 0..255 are the bytes; merge r (r = 0..M-1, in the order training chose them)
 * makes token 256 + r from a pair of earlier tokens; the last id, vocab_size - 1 = 256 + M, is
 * the special end-of-text token <|endoftext|> that separates documents. Text is first cut into
 * pre-tokens by the GPT-2 pattern (PCRE2, UTF + Unicode properties, JIT); merges never cross a
 * pre-token boundary. Encoding is lossless for any bytes: bytes that are not UTF-8 (and NUL)
 * become pre-tokens of their own, and a literal "<|endoftext|>" in text is encoded as text. */
#ifndef PHOTON_BPE_H
#define PHOTON_BPE_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#define BPE_MIN_VOCAB 257      // 256 bytes + the end-of-text token, no merges
#define BPE_MAX_VOCAB 65536    // every id fits in uint16
#define BPE_EOT_TEXT "<|endoftext|>"
#define BPE_PRETOKEN_PATTERN \
    "'s|'t|'re|'ve|'m|'ll|'d| ?\\p{L}+| ?\\p{N}+| ?[^\\s\\p{L}\\p{N}]+|\\s+(?!\\S)|\\s+"

typedef struct BPE BPE;

// Trains merges over the pre-tokens of the given texts until the vocabulary has vocab_size
// ids (or no pair occurs any more: then the vocabulary is smaller, see bpe_vocab_size). Ties
// in pair counts go to the lowest pair (first id, then second). verbose: progress on stderr.
// Returns NULL with a message for a vocab_size out of range.
BPE *bpe_train(const char *const *texts, const size_t *lens, int num_texts, int vocab_size,
               int verbose, char *err, size_t errlen);
// From a merge list (M, 2), as stored: checks that every merge uses earlier ids.
BPE *bpe_from_merges(const int32_t *merges, int num_merges, char *err, size_t errlen);
void bpe_free(BPE *bpe);

int bpe_vocab_size(const BPE *bpe);
int bpe_eot(const BPE *bpe);
int bpe_num_merges(const BPE *bpe);
const int32_t *bpe_merges(const BPE *bpe);   // (M, 2), rank order

// Encodes len bytes of text into *out (malloc'd, at most len ids); returns the number of ids.
// Thread-safe: several threads may encode with one BPE.
size_t bpe_encode(const BPE *bpe, const char *text, size_t len, uint32_t **out);
// The bytes of n ids (malloc'd, NUL-terminated, *len without the NUL); the end-of-text token
// decodes to "<|endoftext|>". Ids out of range decode to nothing (a sampler's bug, not data).
char *bpe_decode(const BPE *bpe, const uint32_t *ids, size_t n, size_t *len);

// Writes /tokenizer-like content into an open group: merges (M, 2) int32 and attributes
// vocab_size, eot_token, num_merges, pretokenizer, eot_text. Returns 0 / -1.
int bpe_save_h5(const BPE *bpe, hid_t loc);
// Reads it back, checking the attributes against the merges; NULL with a message on error.
BPE *bpe_load_h5(hid_t loc, char *err, size_t errlen);

// Pre-token boundaries of text (for tests and tools): *ends (malloc'd) gets the end offset of
// each pre-token; returns their number.
size_t bpe_pretokenize(const char *text, size_t len, size_t **ends);

#endif
