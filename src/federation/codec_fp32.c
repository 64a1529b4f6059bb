/* codec_fp32.c: the lossless codec: a vector travels as its own IEEE float32 values. */
#include "codec.h"

#include <string.h>

static size_t fp32_max_bytes(const CodecConfig *c, size_t n)
{
    (void)c;
    return n * sizeof(float);
}

static size_t fp32_encode(const CodecConfig *c, const float *x, size_t n, uint64_t stream, void *out)
{
    (void)c;
    (void)stream;
    if (n) memcpy(out, x, n * sizeof(float)); // n 0: out may be NULL
    return n * sizeof(float);
}

static int fp32_decode(const CodecConfig *c, const void *in, size_t bytes, size_t n, float *x)
{
    (void)c;
    if (bytes != n * sizeof(float)) return -1;
    if (n) memcpy(x, in, bytes); // n 0: x may be NULL
    return 0;
}

const Codec codec_fp32 = {"fp32", 1, fp32_max_bytes, fp32_encode, fp32_decode};
