/* codec_fp32.c: the lossless codec: a range travels as its own IEEE float32 values (codec.h says
 * why θ_k rather than Δ_k). */
#include "codec.h"

#include <string.h>

static size_t fp32_bytes(size_t count) { return count * sizeof(float); }

static void fp32_encode(const float *ref, const float *x, size_t offset, size_t count, void *out)
{
    (void)ref;
    if (count) memcpy(out, x + offset, count * sizeof(float)); // count 0: out may be NULL
}

static void fp32_decode(const float *ref, const void *in, size_t offset, size_t count, float *x)
{
    (void)ref;
    (void)offset;
    if (count) memcpy(x, in, count * sizeof(float)); // count 0: x may be NULL
}

const Codec codec_fp32 = {"fp32", fp32_bytes, fp32_encode, fp32_decode};
