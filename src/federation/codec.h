/* codec.h: how a silo's pseudo-gradient is put into bytes and back ([compress] in the deck).
 *
 * What a silo contributes to a round is its pseudo-gradient Δ_k = θ − θ_k (plus, with error
 * feedback, the residual it kept from earlier rounds; fedavg.h). A codec turns a vector of n
 * floats into a self-contained payload of at most max_bytes(n) bytes and back:
 *
 *   fp32   n IEEE floats, lossless (4n bytes)
 *   bf16   n bfloat16 values, round-to-nearest-even or stochastic (2n bytes)
 *   int8   per block of `block` values one absmax scale s = max|x|/127 (stored as bf16 or fp32,
 *          rounded UP to the storage so no value clips), then q = round(x/s) in [-127, 127]
 *          (n + ⌈n/block⌉·sb)
 *   int4   as int8 with q in [-7, 7], two values per byte, low nibble first (⌈n/2⌉ + ⌈n/block⌉·sb)
 *   topk   the k = ⌈topk_fraction·n⌉ values of largest |x| (ties: lower index first); the indices
 *          as a bitmap (⌈n/8⌉ bytes) or delta-coded LEB128 gaps, whichever is smaller (a one-byte
 *          flag says which), the kept values in index order coded by `topk_values`
 *          (fp32, bf16, int8 or int4 with the same block scales); doc/federation.md has the layout
 *
 * Exact byte layouts, and the formulas the byte counters are checked against, are in
 * doc/federation.md. Stochastic rounding draws, for value i of the vector identified by
 * `stream`, the i-th output of a counter-based generator (Random123 Philox4x32-10) keyed by
 * `seed`: identical on every run, for every thread and rank count.
 *
 * Contract for every codec: encode and decode are deterministic pure functions of their inputs
 * (no state, no thread-count dependence), so every receiver decodes bitwise the same values; n may
 * be 0 (then the buffers may be NULL). decode refuses (returns -1) a payload whose size or content
 * cannot come from encode for this n and config, rather than reading past it.
 * Adding a codec: one file filling a Codec, one line in CODEC_REGISTRY. */
#ifndef PHOTON_CODEC_H
#define PHOTON_CODEC_H

#include <stddef.h>
#include <stdint.h>

/* The registry, in CodecKind order (decks and checkpoints store the name): X(kind, name, table).
 * From least to most lossy: codec = auto (codec_choice.h) tries them in this order. */
#define CODEC_REGISTRY(X)                  \
    X(CODEC_FP32, "fp32", codec_fp32)      \
    X(CODEC_BF16, "bf16", codec_bf16)      \
    X(CODEC_INT8, "int8", codec_int8)      \
    X(CODEC_INT4, "int4", codec_int4)      \
    X(CODEC_TOPK, "topk", codec_topk)

#define CODEC_KIND_(kind, name, table) kind,
typedef enum { CODEC_REGISTRY(CODEC_KIND_) CODEC_NUM_KINDS } CodecKind;
#undef CODEC_KIND_

typedef enum { CODEC_SCALE_BF16, CODEC_SCALE_FP32 } CodecScale;
typedef enum { CODEC_ROUND_NEAREST, CODEC_ROUND_STOCHASTIC } CodecRounding;

/* NULL-terminated names tables, index = enum value: the deck, --help and doc/deck.md read them. */
extern const char *const codec_names[];          // "fp32", "bf16", "int8", "int4", "topk"
extern const char *const codec_scale_names[];    // "bf16", "fp32"
extern const char *const codec_rounding_names[]; // "nearest", "stochastic"

typedef struct {
    CodecKind kind;
    int block;               // values per absmax scale (int8, int4, and topk's int values), >= 1
    CodecScale scale;        // how a block scale is stored
    double topk_fraction;    // topk: fraction of values kept, (0, 1]
    CodecKind topk_values;   // topk: how the kept values are coded: fp32, bf16, int8 or int4
    CodecRounding rounding;  // bf16, int8, int4 (and topk's values)
    uint64_t seed;           // key of the stochastic rounding
} CodecConfig;

typedef struct {
    const char *name;
    int lossless;            // decode(encode(x)) == x bitwise for every x
    /* The most bytes encode writes for n values (the exact size for all but topk's delta-coded
     * indices, which max_bytes bounds). */
    size_t (*max_bytes)(const CodecConfig *c, size_t n);
    /* out (max_bytes(c, n)) <- x (n); returns the bytes written. stream: which vector this is
     * (stochastic rounding's counter; ignored otherwise). */
    size_t (*encode)(const CodecConfig *c, const float *x, size_t n, uint64_t stream, void *out);
    /* x (n) <- the payload in (bytes long); 0, or -1 for a payload encode could not have made
     * (x is then unspecified). */
    int (*decode)(const CodecConfig *c, const void *in, size_t bytes, size_t n, float *x);
} Codec;

#define CODEC_DECLARE_(kind, name, table) extern const Codec table;
CODEC_REGISTRY(CODEC_DECLARE_)
#undef CODEC_DECLARE_

/* The table of kind k, or NULL outside the enum. */
const Codec *codec_of(CodecKind k);
/* The codec called `name`, or NULL. */
const Codec *codec_lookup(const char *name);
/* 0, or -1 with a message naming the bad setting (block >= 1, topk_fraction in (0, 1],
 * topk_values not topk, scale and rounding in range). */
int codec_config_check(const CodecConfig *c, char *err, size_t errlen);
/* The codec of c->kind (c checked by codec_config_check). */
const Codec *codec_for(const CodecConfig *c);

/* Stochastic rounding's uniform in [0, 1) for value i of vector `stream`: the Philox draw the
 * codecs use (exposed for the tests). */
float codec_uniform(uint64_t seed, uint64_t stream, uint64_t i);

/* bf16 <-> float: round to nearest even (NaN stays NaN), and the exact widening. */
uint16_t codec_bf16_from_float(float x);
float codec_float_from_bf16(uint16_t h);

#endif
