/* codec_impl.h: what the codec files share and nothing else includes: the stochastic rounding's
 * random words, little-endian byte access, and the unit of parallel work. */
#ifndef PHOTON_CODEC_IMPL_H
#define PHOTON_CODEC_IMPL_H

#include <stddef.h>
#include <stdint.h>
#include <string.h>

/* Values per unit of parallel work. Work is split by value index, never by thread, so a payload
 * does not depend on the thread count. A multiple of 4 (one Philox draw covers 4 values) and of 2
 * (one int4 byte holds 2 values). */
#define CODEC_CHUNK 8192

/* OpenMP only pays above this many values; below it the loops run on the calling thread. */
#define CODEC_PARALLEL_MIN 65536

/* w[j] <- the 32-bit random word of value first + j (j < count) of vector `stream`: word
 * (i mod 4) of Philox4x32-10 keyed by seed (lo, hi), counter (stream lo, stream hi, ⌊i/4⌋ lo,
 * ⌊i/4⌋ hi). codec_uniform(seed, stream, i) is (w >> 8)·2^-24. */
void codec_random_words(uint64_t seed, uint64_t stream, uint64_t first, size_t count, uint32_t *w);

/* The IEEE bits of a float (memcpy: the compiler makes it a register move). */
static inline uint32_t codec_bits_of(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static inline float codec_float_of_bits(uint32_t b)
{
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

static inline float codec_uniform_of_word(uint32_t w) { return (float)(w >> 8) * 0x1p-24f; }

/* Round-to-nearest-even bf16 of the float with these bits; a NaN stays a (quiet) NaN. */
static inline uint16_t codec_bf16_nearest_bits(uint32_t b)
{
    if ((b & 0x7fffffffu) > 0x7f800000u) return (uint16_t)((b >> 16) | 0x0040u);
    return (uint16_t)((b + 0x7fffu + ((b >> 16) & 1u)) >> 16);
}

static inline void codec_put_le16(unsigned char *p, uint16_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
}

static inline uint16_t codec_get_le16(const unsigned char *p)
{
    return (uint16_t)(p[0] | (p[1] << 8));
}

static inline void codec_put_le32(unsigned char *p, uint32_t v)
{
    p[0] = (unsigned char)v;
    p[1] = (unsigned char)(v >> 8);
    p[2] = (unsigned char)(v >> 16);
    p[3] = (unsigned char)(v >> 24);
}

static inline uint32_t codec_get_le32(const unsigned char *p)
{
    return (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
}

#endif
