/* codec_bf16.c: each value as the top 16 bits of its float (bfloat16: 8 exponent bits, 7
 * mantissa bits), little-endian, 2n bytes.
 *   nearest:    round to nearest, ties to even.
 *   stochastic: add r, the top 16 bits of value i's random word (r = ⌊codec_uniform·2^16⌋,
 *               uniform in [0, 2^16)), to the float's bits and keep the top 16: the value rounds
 *               up with probability (low 16 bits)/2^16, so the rounding is unbiased. A finite
 *               value within one bf16 step of FLT_MAX may round up to infinity.
 * Both: a NaN stays a quiet NaN with its sign, ±infinity stays ±infinity. */
#include "codec.h"
#include "codec_impl.h"

static size_t bf16_max_bytes(const CodecConfig *c, size_t n)
{
    (void)c;
    return 2 * n;
}

static void encode_nearest(const float *x, size_t n, unsigned char *out)
{
#pragma omp parallel for schedule(static) if (n > CODEC_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        codec_put_le16(out + 2 * i, codec_bf16_nearest_bits(codec_bits_of(x[i])));
}

static void encode_stochastic(const CodecConfig *c, const float *x, size_t n,
                              uint64_t stream, unsigned char *out)
{
    size_t chunks = (n + CODEC_CHUNK - 1) / CODEC_CHUNK;
#pragma omp parallel for schedule(static) if (n > CODEC_PARALLEL_MIN)
    for (size_t ch = 0; ch < chunks; ch++) {
        size_t lo = ch * CODEC_CHUNK, len = n - lo < CODEC_CHUNK ? n - lo : CODEC_CHUNK;
        uint32_t w[CODEC_CHUNK];
        codec_random_words(c->seed, stream, lo, len, w);
        for (size_t j = 0; j < len; j++) {
            uint32_t b = codec_bits_of(x[lo + j]);
            // NaN is kept as NaN (truncating could turn a NaN with only low mantissa bits into
            // infinity); infinity has zero low bits, so adding r < 2^16 leaves it unchanged.
            uint16_t h = (b & 0x7fffffffu) > 0x7f800000u ? (uint16_t)((b >> 16) | 0x0040u)
                                                          : (uint16_t)((b + (w[j] >> 16)) >> 16);
            codec_put_le16(out + 2 * (lo + j), h);
        }
    }
}

static size_t bf16_encode(const CodecConfig *c, const float *x, size_t n, uint64_t stream, void *out)
{
    if (n == 0) return 0; // out may be NULL
    if (c->rounding == CODEC_ROUND_STOCHASTIC)
        encode_stochastic(c, x, n, stream, out);
    else
        encode_nearest(x, n, out);
    return 2 * n;
}

static int bf16_decode(const CodecConfig *c, const void *in, size_t bytes, size_t n, float *x)
{
    (void)c;
    if (bytes != 2 * n) return -1;
    const unsigned char *p = in;
#pragma omp parallel for schedule(static) if (n > CODEC_PARALLEL_MIN)
    for (size_t i = 0; i < n; i++)
        x[i] = codec_float_of_bits((uint32_t)codec_get_le16(p + 2 * i) << 16);
    return 0;
}

const Codec codec_bf16 = {"bf16", 0, bf16_max_bytes, bf16_encode, bf16_decode};
