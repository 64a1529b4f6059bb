/* codec_round.c: the rounding primitives every lossy codec uses: the counter-based uniform of
 * stochastic rounding (Random123's Philox4x32-10) and the bf16 <-> float conversions. */
#include "codec.h"
#include "codec_impl.h"

#include <Random123/philox.h>

/* One Philox4x32-10 draw: the 4 words of values 4·group .. 4·group + 3 of vector `stream`. */
static philox4x32_ctr_t draw(uint64_t seed, uint64_t stream, uint64_t group)
{
    philox4x32_key_t key = {{(uint32_t)seed, (uint32_t)(seed >> 32)}};
    philox4x32_ctr_t ctr = {{(uint32_t)stream, (uint32_t)(stream >> 32), (uint32_t)group,
                             (uint32_t)(group >> 32)}};
    return philox4x32(ctr, key);
}

void codec_random_words(uint64_t seed, uint64_t stream, uint64_t first, size_t count, uint32_t *w)
{
    size_t j = 0;
    while (j < count) {
        uint64_t i = first + j;
        philox4x32_ctr_t r = draw(seed, stream, i / 4);
        for (unsigned lane = (unsigned)(i % 4); lane < 4 && j < count; lane++) w[j++] = r.v[lane];
    }
}

float codec_uniform(uint64_t seed, uint64_t stream, uint64_t i)
{
    return codec_uniform_of_word(draw(seed, stream, i / 4).v[i % 4]);
}

uint16_t codec_bf16_from_float(float x) { return codec_bf16_nearest_bits(codec_bits_of(x)); }

float codec_float_from_bf16(uint16_t h) { return codec_float_of_bits((uint32_t)h << 16); }
