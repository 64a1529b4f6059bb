/* codec_int.c: int8 and int4, one block-absmax quantizer with two value widths.
 *
 * Per block b of c->block consecutive values (the last one may be shorter), with a the largest
 * |x| over the block's finite values:
 *   s_b = the smallest value of the scale storage (fp32, or bf16) that is >= a/qmax (qmax = 127
 *         for int8, 7 for int4), so |x/s_b| <= qmax and nothing clips; s_b = 0 when a = 0.
 *   q_i = rint(x_i/s_b)          nearest: ties to even (the default rounding mode), or
 *         ⌊x_i/s_b + u_i⌋        stochastic, u_i = codec_uniform(seed, stream, i);
 *         x_i/s_b in double (exact enough that nearest's |x_i/s_b − q_i| <= 1/2 holds exactly),
 *         clamped to [−qmax, qmax]; a block with s_b = 0 divides by 1 instead (q = 0).
 *   x̂_i = (float)q_i · s_b       so |x_i − x̂_i| <= s_b/2 with nearest rounding (exactly with
 *         bf16 scales, whose product with q is exact in float; plus half an ulp of x̂ with fp32).
 * Non-finite inputs (the caller should not send them): NaN encodes as 0, ±inf as ±qmax.
 * Layout: the ⌈n/block⌉ scales (little-endian fp32 or bf16), then the values: int8 one signed
 * byte each; int4 two per byte, value 2j in the low nibble of byte j, two's complement, the high
 * nibble of a last odd byte 0. */
#include "codec.h"
#include "codec_impl.h"

#include <math.h>

static size_t num_blocks(const CodecConfig *c, size_t n) { return (n + (size_t)c->block - 1) / (size_t)c->block; }
static size_t scale_size(const CodecConfig *c) { return c->scale == CODEC_SCALE_FP32 ? 4 : 2; }
static size_t scales_bytes(const CodecConfig *c, size_t n) { return num_blocks(c, n) * scale_size(c); }

static size_t int8_max_bytes(const CodecConfig *c, size_t n) { return n + scales_bytes(c, n); }
static size_t int4_max_bytes(const CodecConfig *c, size_t n) { return (n + 1) / 2 + scales_bytes(c, n); }

// The largest |x| over the finite values (their |x| bits order as unsigned integers, which
// vectorises where a float max would not); 0 when there are none.
static float finite_absmax(const float *x, size_t len)
{
    uint32_t m = 0;
    for (size_t i = 0; i < len; i++) {
        uint32_t v = codec_bits_of(x[i]) & 0x7fffffffu;
        v &= -(uint32_t)(v < 0x7f800000u); // a mask: GCC vectorises this, not `v < inf ? v : 0`
        m = m > v ? m : v;
    }
    return codec_float_of_bits(m);
}

// The smallest value of the scale storage >= want (> 0, finite): its bits as stored.
static uint32_t scale_rounded_up(double want, CodecScale storage)
{
    float f = (float)want;
    if ((double)f < want) f = nextafterf(f, INFINITY);
    uint32_t b = codec_bits_of(f);
    if (storage == CODEC_SCALE_BF16 && (b & 0xffffu)) b = (b & 0xffff0000u) + 0x10000u;
    return b;
}

static void put_scale(unsigned char *scales, CodecScale storage, size_t b, uint32_t bits)
{
    if (storage == CODEC_SCALE_FP32)
        codec_put_le32(scales + 4 * b, bits);
    else
        codec_put_le16(scales + 2 * b, (uint16_t)(bits >> 16));
}

// The bits of stored scale b as a float's.
static uint32_t scale_bits_at(const unsigned char *scales, CodecScale storage, size_t b)
{
    return storage == CODEC_SCALE_FP32 ? codec_get_le32(scales + 4 * b)
                                       : (uint32_t)codec_get_le16(scales + 2 * b) << 16;
}

static void write_scales(const CodecConfig *c, int qmax, const float *x, size_t n, unsigned char *scales)
{
    size_t nb = num_blocks(c, n), B = (size_t)c->block;
#pragma omp parallel for schedule(static) if (n > CODEC_PARALLEL_MIN)
    for (size_t b = 0; b < nb; b++) {
        size_t lo = b * B, len = n - lo < B ? n - lo : B;
        float a = finite_absmax(x + lo, len);
        put_scale(scales, c->scale, b, a > 0 ? scale_rounded_up((double)a / qmax, c->scale) : 0);
    }
}

// The int of t clamped to [-qmax, qmax]; 0 where the input x is a NaN. The clamp is written so
// that a NaN t becomes qmax (never an out-of-range conversion), the NaN test is on x: the form
// GCC vectorises best (about 3x faster than testing t).
static inline int8_t clamped(double t, double qmax, float x)
{
    t = t < qmax ? t : qmax;
    t = t > -qmax ? t : -qmax;
    int32_t q = (int32_t)t;
    return (int8_t)(x == x ? q : 0);
}

// q <- the quantized x (len values of one block with scale s), nearest rounding. Two loops
// without a branch inside (nearest, stochastic): what GCC vectorises well.
static void quantize_nearest(const float *restrict x, size_t len, float s, int qmax, int8_t *restrict q)
{
    double d = s > 0 ? s : 1.0;
    for (size_t i = 0; i < len; i++) q[i] = clamped(rint((double)x[i] / d), qmax, x[i]);
}

// The same, stochastic rounding with the values' random words w.
static void quantize_stochastic(const float *restrict x, size_t len, float s, int qmax,
                                const uint32_t *restrict w, int8_t *restrict q)
{
    double d = s > 0 ? s : 1.0;
    for (size_t i = 0; i < len; i++)
        q[i] = clamped(floor((double)x[i] / d + (double)codec_uniform_of_word(w[i])), qmax, x[i]);
}

// q (len) <- the quantized values lo .. lo + len − 1 of x (one chunk), with the scales in place.
static void quantize_chunk(const CodecConfig *c, int qmax, const float *x, size_t lo, size_t len,
                           uint64_t stream, const unsigned char *scales, int8_t *q)
{
    uint32_t w[CODEC_CHUNK];
    int stochastic = c->rounding == CODEC_ROUND_STOCHASTIC;
    if (stochastic) codec_random_words(c->seed, stream, lo, len, w);
    size_t B = (size_t)c->block;
    for (size_t b = lo / B; b * B < lo + len; b++) {
        size_t s0 = b * B > lo ? b * B : lo, s1 = (b + 1) * B < lo + len ? (b + 1) * B : lo + len;
        float s = codec_float_of_bits(scale_bits_at(scales, c->scale, b));
        if (stochastic)
            quantize_stochastic(x + s0, s1 - s0, s, qmax, w + (s0 - lo), q + (s0 - lo));
        else
            quantize_nearest(x + s0, s1 - s0, s, qmax, q + (s0 - lo));
    }
}

// x (len) <- q · s for the values lo .. lo + len − 1 (one chunk); nonzero if a q is out of range.
static int dequantize_chunk(const CodecConfig *c, int qmax, const int8_t *q, size_t lo, size_t len,
                            const unsigned char *scales, float *x)
{
    int bad = 0;
    size_t B = (size_t)c->block;
    for (size_t b = lo / B; b * B < lo + len; b++) {
        size_t s0 = b * B > lo ? b * B : lo, s1 = (b + 1) * B < lo + len ? (b + 1) * B : lo + len;
        float s = codec_float_of_bits(scale_bits_at(scales, c->scale, b));
        const int8_t *qb = q + (s0 - lo);
        for (size_t i = 0; i < s1 - s0; i++) {
            bad |= qb[i] < -qmax || qb[i] > qmax;
            x[s0 + i] = (float)qb[i] * s;
        }
    }
    return bad;
}

// Whether every stored scale is one encode could write: finite and not negative.
static int scales_valid(const CodecConfig *c, const unsigned char *scales, size_t nb)
{
    int bad = 0;
    for (size_t b = 0; b < nb; b++) bad |= scale_bits_at(scales, c->scale, b) >= 0x7f800000u;
    return !bad;
}

static size_t int8_encode(const CodecConfig *c, const float *x, size_t n, uint64_t stream, void *out)
{
    if (n == 0) return 0; // out may be NULL
    unsigned char *scales = out;
    int8_t *q = (int8_t *)(scales + scales_bytes(c, n));
    write_scales(c, 127, x, n, scales);
    size_t chunks = (n + CODEC_CHUNK - 1) / CODEC_CHUNK;
#pragma omp parallel for schedule(static) if (n > CODEC_PARALLEL_MIN)
    for (size_t ch = 0; ch < chunks; ch++) {
        size_t lo = ch * CODEC_CHUNK, len = n - lo < CODEC_CHUNK ? n - lo : CODEC_CHUNK;
        quantize_chunk(c, 127, x, lo, len, stream, scales, q + lo);
    }
    return int8_max_bytes(c, n);
}

static int int8_decode(const CodecConfig *c, const void *in, size_t bytes, size_t n, float *x)
{
    if (bytes != int8_max_bytes(c, n)) return -1;
    if (n == 0) return 0;
    const unsigned char *scales = in;
    const int8_t *q = (const int8_t *)(scales + scales_bytes(c, n));
    if (!scales_valid(c, scales, num_blocks(c, n))) return -1;
    size_t chunks = (n + CODEC_CHUNK - 1) / CODEC_CHUNK;
    int bad = 0;
#pragma omp parallel for schedule(static) if (n > CODEC_PARALLEL_MIN) reduction(| : bad)
    for (size_t ch = 0; ch < chunks; ch++) {
        size_t lo = ch * CODEC_CHUNK, len = n - lo < CODEC_CHUNK ? n - lo : CODEC_CHUNK;
        bad |= dequantize_chunk(c, 127, q + lo, lo, len, scales, x);
    }
    return bad ? -1 : 0;
}

static size_t int4_encode(const CodecConfig *c, const float *x, size_t n, uint64_t stream, void *out)
{
    if (n == 0) return 0; // out may be NULL
    unsigned char *scales = out, *packed = scales + scales_bytes(c, n);
    write_scales(c, 7, x, n, scales);
    size_t chunks = (n + CODEC_CHUNK - 1) / CODEC_CHUNK;
#pragma omp parallel for schedule(static) if (n > CODEC_PARALLEL_MIN)
    for (size_t ch = 0; ch < chunks; ch++) {
        size_t lo = ch * CODEC_CHUNK, len = n - lo < CODEC_CHUNK ? n - lo : CODEC_CHUNK;
        int8_t q[CODEC_CHUNK];
        quantize_chunk(c, 7, x, lo, len, stream, scales, q);
        unsigned char *p = packed + lo / 2; // lo is even: chunks own whole bytes
        for (size_t j = 0; j < len / 2; j++)
            p[j] = (unsigned char)((q[2 * j] & 0xf) | (q[2 * j + 1] & 0xf) << 4);
        if (len % 2) p[len / 2] = (unsigned char)(q[len - 1] & 0xf);
    }
    return int4_max_bytes(c, n);
}

// A 4-bit two's-complement value.
static inline int8_t nibble_value(unsigned v) { return (int8_t)((int)(v ^ 8u) - 8); }

static int int4_decode(const CodecConfig *c, const void *in, size_t bytes, size_t n, float *x)
{
    if (bytes != int4_max_bytes(c, n)) return -1;
    if (n == 0) return 0;
    const unsigned char *scales = in, *packed = scales + scales_bytes(c, n);
    if (!scales_valid(c, scales, num_blocks(c, n))) return -1;
    if (n % 2 && packed[n / 2] >> 4) return -1; // the padding nibble encode leaves 0
    size_t chunks = (n + CODEC_CHUNK - 1) / CODEC_CHUNK;
    int bad = 0;
#pragma omp parallel for schedule(static) if (n > CODEC_PARALLEL_MIN) reduction(| : bad)
    for (size_t ch = 0; ch < chunks; ch++) {
        size_t lo = ch * CODEC_CHUNK, len = n - lo < CODEC_CHUNK ? n - lo : CODEC_CHUNK;
        int8_t q[CODEC_CHUNK];
        const unsigned char *p = packed + lo / 2;
        for (size_t j = 0; j < len / 2; j++) {
            q[2 * j] = nibble_value(p[j] & 0xfu);
            q[2 * j + 1] = nibble_value(p[j] >> 4);
        }
        if (len % 2) q[len - 1] = nibble_value(p[len / 2] & 0xfu);
        bad |= dequantize_chunk(c, 7, q, lo, len, scales, x);
    }
    return bad ? -1 : 0;
}

const Codec codec_int8 = {"int8", 0, int8_max_bytes, int8_encode, int8_decode};
const Codec codec_int4 = {"int4", 0, int4_max_bytes, int4_encode, int4_decode};
