/* test_fed_codec.c: the payload codecs (codec.h) against bytes worked out by hand, the byte-count
 * formulas of doc/federation.md, the nearest-rounding error bound, stochastic rounding's mean and
 * determinism, top-k's selection and index codings, and decode's refusal of payloads encode
 * cannot make.
 *
 * The int vectors: x = (1, −2, 0.5, 0.25 | 0, 0, 0, 0 | 3, −0.75), block 4 (a short last block,
 * an all-zero one). int8, bf16 scales: block 0 has a = 2, a/127 = 2^-6·(128/127) = 2^-6·1.00787,
 * bf16 keeps 7 mantissa bits: 1 + 1/128 = 1.0078 is below it (it would clip −2), so s rounds up
 * to 2^-6·(1 + 2/128) = 65/4096 (bits 0x3C82); q = round(x·4096/65) = (63.02 → 63, −126.03 →
 * −126, 31.51 → 32, 15.75 → 16). Block 2: a/127 = 3/127 = 2^-6·1.5118 → 2^-6·(1 + 66/128) =
 * 97/4096 (0x3CC2); q = (126.68 → 127, −31.67 → −32). fp32 scales (the smallest float >= a/127,
 * exact rationals in Python): 0x3C810205 and 0x3CC18307; block 0's 1/s = 63.499993 → 63.
 * int4, bf16: 2/7 = 2^-2·1.1429 → 2^-2·(1 + 19/128) = 147/512 (0x3E93), q = (3.48 → 3, −6.97 →
 * −7, 1.74 → 2, 0.87 → 1); 3/7 = 2^-2·1.7143 → 2^-2·(1 + 92/128) = 220/512 (0x3EDC), q = (6.98 →
 * 7, −1.75 → −2); packed low nibble first: 0x93 0x12 0x00 0x00 0xE7. */
#include <math.h>
#include <omp.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec.h"
#include "test_fed_util.h"

static CodecConfig config(CodecKind kind, int block, CodecScale scale, CodecRounding rounding)
{
    CodecConfig c = {.kind = kind, .block = block, .scale = scale, .topk_fraction = 0.01,
                     .topk_values = CODEC_FP32, .rounding = rounding, .seed = 0x5eedf00dull};
    return c;
}

static uint32_t bits_of(float x)
{
    uint32_t b;
    memcpy(&b, &x, sizeof b);
    return b;
}

static float float_of(uint32_t b)
{
    float x;
    memcpy(&x, &b, sizeof x);
    return x;
}

/* The payload of x (n) under c, in a buffer of exactly max_bytes; *bytes its length. */
static unsigned char *encode(const CodecConfig *c, const float *x, size_t n, uint64_t stream,
                             size_t *bytes)
{
    const Codec *k = codec_for(c);
    size_t cap = k->max_bytes(c, n);
    unsigned char *out = malloc(cap ? cap : 1);
    *bytes = k->encode(c, x, n, stream, out);
    CHECK(*bytes <= cap, "%s: encode wrote %zu bytes, max_bytes says %zu", k->name, *bytes, cap);
    return out;
}

static uint32_t le32_of(const unsigned char *p)
{
    return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int bytes_equal(const unsigned char *got, const unsigned char *want, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++)
        if (got[i] != want[i]) {
            fprintf(stderr, "%s: byte %zu is 0x%02x, want 0x%02x\n", what, i, got[i], want[i]);
            return 0;
        }
    return 1;
}

static void test_registry(void)
{
    for (int k = 0; k < CODEC_NUM_KINDS; k++) {
        const Codec *c = codec_of((CodecKind)k);
        CHECK(c && strcmp(c->name, codec_names[k]) == 0, "kind %d is %s, names table says %s", k,
              c ? c->name : "NULL", codec_names[k]);
        CHECK(c && codec_lookup(codec_names[k]) == c, "lookup of %s", codec_names[k]);
        CHECK(c && c->lossless == (k == CODEC_FP32), "%s: lossless flag %d", codec_names[k], c->lossless);
    }
    CHECK(codec_names[CODEC_NUM_KINDS] == NULL, "names table not NULL-terminated");
    CHECK(codec_lookup("int3") == NULL, "lookup of an unknown name");
    CHECK(codec_of(CODEC_NUM_KINDS) == NULL, "codec_of outside the enum");
}

/* Philox4x32-10's known answers (Random123's kat_vectors): key and counter 0 give words
 * 6627e8d5 e169c58d bc57ac4c 9b00dbd8; key (a4093822, 299f31d0), counter (243f6a88, 85a308d3,
 * 13198a2e, 03707344) give d16cfe09 94fdcceb 5001e420 24126ea1. The uniform is word >> 8 · 2^-24. */
static void test_uniform(void)
{
    static const uint32_t zero[4] = {0x6627e8d5, 0xe169c58d, 0xbc57ac4c, 0x9b00dbd8};
    static const uint32_t pi[4] = {0xd16cfe09, 0x94fdcceb, 0x5001e420, 0x24126ea1};
    uint64_t seed = 0x299f31d0a4093822ull, stream = 0x85a308d3243f6a88ull;
    uint64_t first = 0x0370734413198a2eull * 4;
    for (int lane = 0; lane < 4; lane++) {
        float u0 = codec_uniform(0, 0, (uint64_t)lane), want0 = (float)(zero[lane] >> 8) * 0x1p-24f;
        CHECK(u0 == want0, "uniform(0, 0, %d) = %.9g, want %.9g", lane, u0, want0);
        float u = codec_uniform(seed, stream, first + (uint64_t)lane), want = (float)(pi[lane] >> 8) * 0x1p-24f;
        CHECK(u == want, "uniform(pi key, lane %d) = %.9g, want %.9g", lane, u, want);
    }
    CHECK(codec_uniform(0, 0, 4) != codec_uniform(0, 0, 0), "index 4 is the next draw");
    CHECK(codec_uniform(0, 1, 0) != codec_uniform(0, 0, 0), "another stream, another draw");
    double sum = 0;
    int in_range = 1;
    for (uint64_t i = 0; i < 100000; i++) {
        float u = codec_uniform(7, 3, i);
        in_range &= u >= 0.0f && u < 1.0f;
        sum += u;
    }
    CHECK(in_range, "a uniform outside [0, 1)");
    CHECK(fabs(sum / 100000 - 0.5) < 0.004, "mean of 1e5 uniforms %.5f", sum / 100000);
}

static void test_bf16(void)
{
    // 1 + 2^-8 is halfway between 0x3F80 and 0x3F81: even 0x3F80; 1 + 3·2^-8 halfway between
    // 0x3F81 and 0x3F82: even 0x3F82; one bit above halfway rounds up.
    static const uint32_t in[] = {0x3f800000, 0x3f808000, 0x3f818000, 0x3f808001, 0xc0200000,
                                  0x3f80ffff, 0xff800000, 0x7f800000, 0x7fc00001, 0x7f800001};
    static const uint16_t want[] = {0x3f80, 0x3f80, 0x3f82, 0x3f81, 0xc020,
                                    0x3f81, 0xff80, 0x7f80, 0x7fc0, 0x7fc0};
    for (size_t i = 0; i < sizeof in / sizeof in[0]; i++) {
        uint16_t h = codec_bf16_from_float(float_of(in[i]));
        CHECK(h == want[i], "bf16 of 0x%08x is 0x%04x, want 0x%04x", in[i], h, want[i]);
    }
    CHECK(bits_of(codec_float_from_bf16(0xc020)) == 0xc0200000, "widening of 0xc020");

    // the codec, nearest: little-endian halves
    CodecConfig c = config(CODEC_BF16, 1, CODEC_SCALE_BF16, CODEC_ROUND_NEAREST);
    float x[4] = {float_of(0x3f800000), float_of(0x3f808000), float_of(0x3f818000), -2.5f};
    static const unsigned char want_bytes[] = {0x80, 0x3f, 0x80, 0x3f, 0x82, 0x3f, 0x20, 0xc0};
    size_t bytes;
    unsigned char *p = encode(&c, x, 4, 0, &bytes);
    CHECK(bytes == 8 && bytes_equal(p, want_bytes, 8, "bf16 nearest"), "bf16 payload (%zu bytes)", bytes);
    float y[4];
    CHECK(codec_bf16.decode(&c, p, bytes, 4, y) == 0, "bf16 decode");
    CHECK(y[0] == 1.0f && y[1] == 1.0f && y[2] == float_of(0x3f820000) && y[3] == -2.5f,
          "bf16 decode: %g %g %g %g", y[0], y[1], y[2], y[3]);
    CHECK(codec_bf16.decode(&c, p, 7, 4, y) == -1, "bf16 decode of 7 bytes for 4 values");
    free(p);

    // stochastic: value i rounds up iff its low 16 bits + ⌊u_i·2^16⌋ carry
    c.rounding = CODEC_ROUND_STOCHASTIC;
    enum { N = 64 };
    float xs[N];
    for (int i = 0; i < N; i++) xs[i] = float_of(0x3f800000u + 0x1000u * (uint32_t)(i % 16) + (uint32_t)i);
    xs[5] = INFINITY;
    xs[6] = float_of(0x7f800001); // a NaN whose payload is only in the low bits
    p = encode(&c, xs, N, 9, &bytes);
    int match = 1;
    for (int i = 0; i < N; i++) {
        uint32_t r = (uint32_t)(codec_uniform(c.seed, 9, (uint64_t)i) * 65536.0f);
        uint16_t w = (uint16_t)((bits_of(xs[i]) + r) >> 16);
        if (i == 5) w = 0x7f80;
        if (i == 6) w = 0x7fc0;
        uint16_t got = (uint16_t)(p[2 * i] | p[2 * i + 1] << 8);
        if (got != w) {
            match = 0;
            fprintf(stderr, "bf16 stochastic value %d: 0x%04x, want 0x%04x\n", i, got, w);
        }
    }
    CHECK(bytes == 2 * N && match, "bf16 stochastic against codec_uniform");
    free(p);

    // unbiased: 1 + 2^-9 has low bits 0x4000, a quarter step: rounds up a quarter of the time
    enum { M = 200000 };
    float *xm = malloc(M * sizeof(float)), *ym = malloc(M * sizeof(float));
    for (int i = 0; i < M; i++) xm[i] = float_of(0x3f804000);
    p = encode(&c, xm, M, 1, &bytes);
    CHECK(codec_bf16.decode(&c, p, bytes, M, ym) == 0, "bf16 decode");
    double mean = 0;
    for (int i = 0; i < M; i++) mean += ((double)ym[i] - xm[i]) / M;
    // per value the error is −2^-9 (p 3/4) or +3·2^-9 (p 1/4): σ = √3·2^-9, 4σ/√M = 3e-5
    CHECK(fabs(mean) < 3.1e-5, "bf16 stochastic mean error %.3g", mean);
    free(p);
    free(xm);
    free(ym);
}

/* The hand-worked int vectors of the header comment. */
static const float int_x[10] = {1, -2, 0.5f, 0.25f, 0, 0, 0, 0, 3, -0.75f};

/* int_x through `codec` must give exactly want (nwant bytes) and decode to exactly want_y; returns
 * the payload (caller frees) with its size in *bytes. */
static unsigned char *check_int_vector(const Codec *codec, const CodecConfig *c, const unsigned char *want,
                                       size_t nwant, const float *want_y, const char *label, size_t *bytes)
{
    unsigned char *p = encode(c, int_x, 10, 0, bytes);
    CHECK(*bytes == nwant && bytes_equal(p, want, nwant, label), "%s payload (%zu bytes)", label, *bytes);
    float y[10];
    CHECK(codec->decode(c, p, *bytes, 10, y) == 0, "%s decode", label);
    for (int i = 0; i < 10; i++) CHECK(y[i] == want_y[i], "%s x̂[%d] = %.9g, want %.9g", label, i, y[i], want_y[i]);
    return p;
}

static void test_int8_vectors(void)
{
    CodecConfig c = config(CODEC_INT8, 4, CODEC_SCALE_BF16, CODEC_ROUND_NEAREST);
    static const unsigned char want_bf16[] = {0x82, 0x3c, 0x00, 0x00, 0xc2, 0x3c,
                                              63, (unsigned char)-126, 32, 16, 0, 0, 0, 0, 127,
                                              (unsigned char)-32};
    const float want_y[10] = {63 * 65 / 4096.0f, -126 * 65 / 4096.0f, 32 * 65 / 4096.0f,
                              16 * 65 / 4096.0f, 0, 0, 0, 0, 127 * 97 / 4096.0f, -32 * 97 / 4096.0f};
    size_t bytes;
    unsigned char *p = check_int_vector(&codec_int8, &c, want_bf16, sizeof want_bf16, want_y, "int8 bf16-scale", &bytes);
    float y[10];

    // decode refuses what encode cannot write: q = −128, a negative or NaN scale, a wrong size
    unsigned char bad[sizeof want_bf16];
    memcpy(bad, p, bytes);
    bad[7] = 0x80;
    CHECK(codec_int8.decode(&c, bad, bytes, 10, y) == -1, "int8 q = -128 accepted");
    memcpy(bad, p, bytes);
    bad[1] = 0xbc;
    CHECK(codec_int8.decode(&c, bad, bytes, 10, y) == -1, "int8 negative scale accepted");
    memcpy(bad, p, bytes);
    bad[2] = 0xc0, bad[3] = 0x7f;
    CHECK(codec_int8.decode(&c, bad, bytes, 10, y) == -1, "int8 NaN scale accepted");
    CHECK(codec_int8.decode(&c, p, bytes - 1, 10, y) == -1, "int8 short payload accepted");
    CHECK(codec_int8.decode(&c, p, bytes, 11, y) == -1, "int8 payload for another n accepted");
    free(p);

    c.scale = CODEC_SCALE_FP32;
    static const unsigned char want_fp32[] = {0x05, 0x02, 0x81, 0x3c, 0, 0, 0, 0, 0x07, 0x83, 0xc1, 0x3c,
                                              63, (unsigned char)-127, 32, 16, 0, 0, 0, 0, 127,
                                              (unsigned char)-32};
    p = encode(&c, int_x, 10, 0, &bytes);
    CHECK(bytes == sizeof want_fp32 && bytes_equal(p, want_fp32, sizeof want_fp32, "int8 fp32"),
          "int8 fp32-scale payload (%zu bytes)", bytes);
    free(p);

    // non-finite inputs: the scale ignores them, NaN encodes as 0, ±inf as ±127
    float odd[4] = {NAN, INFINITY, -INFINITY, 127};
    p = encode(&c, odd, 4, 0, &bytes);
    CHECK(bytes == 8 && le32_of(p) == 0x3f800000 && (int8_t)p[4] == 0 && (int8_t)p[5] == 127 &&
              (int8_t)p[6] == -127 && (int8_t)p[7] == 127,
          "int8 of NaN, inf, -inf, 127: scale 0x%08x, q %d %d %d %d", le32_of(p), (int8_t)p[4],
          (int8_t)p[5], (int8_t)p[6], (int8_t)p[7]);
    free(p);

    // nearest ties go to even: with a = 127 the scale is exactly 1
    float tie[4] = {127, 2.5f, -1.5f, 0.5f};
    p = encode(&c, tie, 4, 0, &bytes);
    CHECK(bytes == 8 && p[0] == 0 && p[1] == 0 && p[2] == 0x80 && p[3] == 0x3f, "scale 1.0 in fp32");
    CHECK((int8_t)p[4] == 127 && (int8_t)p[5] == 2 && (int8_t)p[6] == -2 && (int8_t)p[7] == 0,
          "ties to even: %d %d %d %d", (int8_t)p[4], (int8_t)p[5], (int8_t)p[6], (int8_t)p[7]);
    free(p);
}

static void test_int4_vectors(void)
{
    CodecConfig c = config(CODEC_INT4, 4, CODEC_SCALE_BF16, CODEC_ROUND_NEAREST);
    static const unsigned char want_bf16[] = {0x93, 0x3e, 0x00, 0x00, 0xdc, 0x3e,
                                              0x93, 0x12, 0x00, 0x00, 0xe7};
    const float want_y[10] = {3 * 147 / 512.0f, -7 * 147 / 512.0f, 2 * 147 / 512.0f, 147 / 512.0f,
                              0, 0, 0, 0, 7 * 220 / 512.0f, -2 * 220 / 512.0f};
    size_t bytes;
    unsigned char *p = check_int_vector(&codec_int4, &c, want_bf16, sizeof want_bf16, want_y, "int4 bf16-scale", &bytes);
    float y[10];
    unsigned char bad[sizeof want_bf16];
    memcpy(bad, p, bytes);
    bad[6] = 0x83; // nibble 8 = −8 is outside [−7, 7]
    CHECK(codec_int4.decode(&c, bad, bytes, 10, y) == -1, "int4 q = -8 accepted");
    free(p);

    c.scale = CODEC_SCALE_FP32;
    static const unsigned char want_fp32[] = {0x25, 0x49, 0x92, 0x3e, 0, 0, 0, 0, 0xb7, 0x6d, 0xdb, 0x3e,
                                              0x93, 0x12, 0x00, 0x00, 0xe7};
    p = encode(&c, int_x, 10, 0, &bytes);
    CHECK(bytes == sizeof want_fp32 && bytes_equal(p, want_fp32, sizeof want_fp32, "int4 fp32"),
          "int4 fp32-scale payload (%zu bytes)", bytes);
    free(p);

    // odd n: the last byte's high nibble is padding, 0, and decode insists on it
    c.scale = CODEC_SCALE_BF16;
    p = encode(&c, int_x, 9, 0, &bytes);
    CHECK(bytes == 5 + 6 && p[10] == 0x07, "int4 n = 9: %zu bytes, last byte 0x%02x", bytes, p[bytes - 1]);
    CHECK(codec_int4.decode(&c, p, bytes, 9, y) == 0, "int4 decode n = 9");
    p[10] |= 0x10;
    CHECK(codec_int4.decode(&c, p, bytes, 9, y) == -1, "int4 nonzero padding nibble accepted");
    free(p);
}

static size_t blocks_of(size_t n, int block) { return (n + (size_t)block - 1) / (size_t)block; }

/* max_bytes and encode against doc/federation.md's formulas. */
static void test_sizes(void)
{
    static const size_t ns[] = {0, 1, 2, 3, 7, 8, 9, 100, 1001, 70001};
    static const int blocks[] = {1, 3, 4, 32, 1000};
    size_t nmax = 70001;
    float *x = malloc(nmax * sizeof(float));
    synth_gaussian(x, nmax, 11, 1.0);
    for (size_t a = 0; a < sizeof ns / sizeof ns[0]; a++)
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++)
            for (int sc = CODEC_SCALE_BF16; sc <= CODEC_SCALE_FP32; sc++) {
                size_t n = ns[a], sb = sc == CODEC_SCALE_FP32 ? 4 : 2, nb = blocks_of(n, blocks[b]);
                struct { CodecKind kind; size_t want; } cases[] = {
                    {CODEC_FP32, 4 * n}, {CODEC_BF16, 2 * n},
                    {CODEC_INT8, n + nb * sb}, {CODEC_INT4, (n + 1) / 2 + nb * sb}};
                for (int k = 0; k < 4; k++) {
                    CodecConfig c = config(cases[k].kind, blocks[b], (CodecScale)sc, CODEC_ROUND_NEAREST);
                    const Codec *cd = codec_for(&c);
                    size_t bytes, mb = cd->max_bytes(&c, n);
                    unsigned char *p = encode(&c, x, n, 0, &bytes);
                    CHECK(mb == cases[k].want && bytes == mb,
                          "%s n %zu block %d scale %d: max_bytes %zu, encode %zu, want %zu",
                          cd->name, n, blocks[b], sc, mb, bytes, cases[k].want);
                    free(p);
                }
            }
    // n = 0: no bytes, NULL buffers, and any byte is too many
    unsigned char one = 0;
    for (int k = 0; k < CODEC_NUM_KINDS; k++) {
        CodecConfig c = config((CodecKind)k, 4, CODEC_SCALE_BF16, CODEC_ROUND_STOCHASTIC);
        const Codec *cd = codec_of((CodecKind)k);
        CHECK(cd->max_bytes(&c, 0) == 0 && cd->encode(&c, NULL, 0, 0, NULL) == 0, "%s: n = 0 writes bytes", cd->name);
        CHECK(cd->decode(&c, NULL, 0, 0, NULL) == 0, "%s: decode of n = 0", cd->name);
        CHECK(cd->decode(&c, &one, 1, 0, NULL) == -1, "%s: one byte for n = 0 accepted", cd->name);
    }
    free(x);
}

/* |x − x̂| <= s/2 with the stored s (plus half an ulp of x̂ for fp32 scales, where q·s rounds),
 * on Gaussian vectors whose magnitude changes by block (so the scales differ). */
static void test_error_bound(void)
{
    enum { N = 20011 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    synth_gaussian(x, N, 5, 1.0);
    for (size_t i = 0; i < N; i++) x[i] *= powf(10.0f, (float)((int)(i / 97 % 13) - 6));
    x[17] = 0, x[18] = -0.0f, x[19] = 1e-40f; // zero and a subnormal
    static const int blocks[] = {1, 7, 32, 256, N};
    for (int kind = CODEC_INT8; kind <= CODEC_INT4; kind++)
        for (size_t b = 0; b < sizeof blocks / sizeof blocks[0]; b++)
            for (int sc = CODEC_SCALE_BF16; sc <= CODEC_SCALE_FP32; sc++) {
                CodecConfig c = config((CodecKind)kind, blocks[b], (CodecScale)sc, CODEC_ROUND_NEAREST);
                const Codec *cd = codec_for(&c);
                size_t bytes;
                unsigned char *p = encode(&c, x, N, 0, &bytes);
                CHECK(cd->decode(&c, p, bytes, N, y) == 0, "%s decode", cd->name);
                size_t worst = 0;
                double worst_ratio = 0;
                for (size_t i = 0; i < N; i++) {
                    size_t blk = i / (size_t)blocks[b];
                    float s = sc == CODEC_SCALE_FP32
                                  ? float_of((uint32_t)p[4 * blk] | (uint32_t)p[4 * blk + 1] << 8 |
                                             (uint32_t)p[4 * blk + 2] << 16 | (uint32_t)p[4 * blk + 3] << 24)
                                  : float_of((uint32_t)(p[2 * blk] | p[2 * blk + 1] << 8) << 16);
                    double bound = s / 2.0 + (sc == CODEC_SCALE_FP32 ? fabs((double)y[i]) * 0x1p-24 : 0);
                    double err = fabs((double)x[i] - (double)y[i]);
                    if (err > bound && err / bound > worst_ratio) worst = i, worst_ratio = err / bound;
                }
                CHECK(worst_ratio == 0, "%s block %d scale %d: |x − x̂| = %.3g·bound at %zu", cd->name,
                      blocks[b], sc, worst_ratio, worst);
                free(p);
            }
    free(x);
    free(y);
}

/* Stochastic int rounding: unbiased, and a function of (seed, stream, index) only. */
static void test_int_stochastic(void)
{
    enum { N = 200000 };
    float *x = malloc(N * sizeof(float)), *y = malloc(N * sizeof(float));
    // one value of 127 per block makes s = 1 exactly; the others, 0.3 and −2.7, round up with
    // probability 0.3: mean error 0 with σ = √0.21 per value, 4σ/√(N·255/256) ≈ 0.0041
    for (size_t i = 0; i < N; i++) x[i] = i % 256 == 0 ? 127.0f : (i % 2 ? 0.3f : -2.7f);
    CodecConfig c = config(CODEC_INT8, 256, CODEC_SCALE_FP32, CODEC_ROUND_STOCHASTIC);
    size_t bytes;
    unsigned char *p = encode(&c, x, N, 42, &bytes);
    CHECK(codec_int8.decode(&c, p, bytes, N, y) == 0, "int8 stochastic decode");
    double mean = 0;
    int on_grid = 1;
    for (size_t i = 0; i < N; i++) {
        mean += ((double)y[i] - x[i]) / N;
        on_grid &= y[i] == floorf(x[i]) || y[i] == ceilf(x[i]);
    }
    CHECK(on_grid, "stochastic rounding went beyond a neighbour");
    CHECK(fabs(mean) < 0.0041, "int8 stochastic mean error %.4g", mean);
    // value i is ⌊x_i/s + u_i⌋ with u_i = codec_uniform(seed, stream, i)
    int match = 1;
    for (size_t i = 1; i < 300; i++)
        match &= (int8_t)p[4 * blocks_of(N, 256) + i] == (int)floor(x[i] + (double)codec_uniform(c.seed, 42, i));
    CHECK(match, "int8 stochastic values are not ⌊x/s + codec_uniform⌋");

    // the same (seed, stream) gives the same bytes, whatever the thread count; another stream or
    // seed other bytes
    c.kind = CODEC_INT4;
    c.block = 32;
    c.scale = CODEC_SCALE_BF16;
    synth_gaussian(x, N, 8, 1.0);
    omp_set_num_threads(1);
    unsigned char *a = encode(&c, x, N, 7, &bytes);
    omp_set_num_threads(4);
    unsigned char *b = encode(&c, x, N, 7, &bytes), *d = encode(&c, x, N, 8, &bytes);
    c.seed++;
    unsigned char *e = encode(&c, x, N, 7, &bytes);
    omp_set_num_threads(1);
    CHECK(memcmp(a, b, bytes) == 0, "int4 stochastic: same stream, 1 vs 4 threads, other bytes");
    CHECK(memcmp(a, d, bytes) != 0, "int4 stochastic: another stream, same bytes");
    CHECK(memcmp(a, e, bytes) != 0, "int4 stochastic: another seed, same bytes");
    free(a), free(b), free(d), free(e), free(p);
    free(x);
    free(y);
}

static CodecConfig topk_config(double fraction, CodecKind values)
{
    CodecConfig c = config(CODEC_TOPK, 4, CODEC_SCALE_BF16, CODEC_ROUND_NEAREST);
    c.topk_fraction = fraction;
    c.topk_values = values;
    return c;
}

static void test_topk_selection(void)
{
    // |x| = 3 at 1, 2 and 4: k = 2 keeps 1 and 2 (lower index first); bitmap (1 byte) beats
    // delta (4 + 2 bytes)
    float x[6] = {1, -3, 3, 2, -3, 0.5f}, y[6];
    CodecConfig c = topk_config(2.0 / 6, CODEC_FP32);
    size_t bytes;
    unsigned char *p = encode(&c, x, 6, 0, &bytes);
    CHECK(bytes == 5 + 1 + 8 && p[0] == 0 && le32_of(p + 1) == 2 && p[5] == 0x06,
          "topk ties: %zu bytes, flag %d, k %u, bitmap 0x%02x", bytes, p[0], le32_of(p + 1), p[5]);
    CHECK(codec_topk.decode(&c, p, bytes, 6, y) == 0, "topk decode");
    CHECK(y[0] == 0 && y[1] == -3 && y[2] == 3 && y[3] == 0 && y[4] == 0 && y[5] == 0,
          "topk ties decode: %g %g %g %g %g %g", y[0], y[1], y[2], y[3], y[4], y[5]);
    free(p);

    // k = ⌈f·n⌉, clamped to [1, n]; 0.01·300 is 3.0000000000000004 in double and keeps 3
    static const struct { double f; size_t n, k; } ks[] = {
        {0.01, 300, 3}, {1e-9, 5, 1}, {1.0, 7, 7}, {0.5, 7, 4}, {0.1, 3, 1}, {0.34, 3, 2}};
    float *z = calloc(300, sizeof(float));
    for (size_t t = 0; t < sizeof ks / sizeof ks[0]; t++) {
        CodecConfig ck = topk_config(ks[t].f, CODEC_FP32);
        p = encode(&ck, z, ks[t].n, 0, &bytes);
        CHECK(le32_of(p + 1) == ks[t].k, "topk f %g n %zu: k %u, want %zu", ks[t].f, ks[t].n, le32_of(p + 1), ks[t].k);
        free(p);
    }
    free(z);

    // a NaN counts as the largest magnitude
    float xn[4] = {1, NAN, -5, 2};
    c = topk_config(0.5, CODEC_FP32);
    p = encode(&c, xn, 4, 0, &bytes);
    CHECK(p[5] == 0x06, "topk with NaN keeps bitmap 0x%02x, want 0x06", p[5]);
    free(p);
}

static void test_topk_index_codings(void)
{
    // n = 1000, bitmap 125 bytes. Sparse: 100 values at 0, 10, ..., 990: gaps 0 then 10s, one
    // byte each, delta 4 + 100 < 125 wins: 5 + 104 + 400 bytes.
    enum { N = 1000 };
    float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = i % 10 == 0 ? 10.0f + (float)i : 0.001f * (float)(i % 10);
    CodecConfig c = topk_config(0.1, CODEC_FP32);
    size_t bytes;
    unsigned char *p = encode(&c, x, N, 0, &bytes);
    CHECK(bytes == 509 && p[0] == 1 && le32_of(p + 1) == 100 && le32_of(p + 5) == 100 && p[9] == 0 && p[10] == 10,
          "sparse topk: %zu bytes, flag %d, k %u, L %u", bytes, p[0], le32_of(p + 1), le32_of(p + 5));
    CHECK(codec_topk.decode(&c, p, bytes, N, y) == 0, "sparse topk decode");
    int ok = 1;
    for (int i = 0; i < N; i++) ok &= y[i] == (i % 10 == 0 ? x[i] : 0.0f);
    CHECK(ok, "sparse topk decode values");
    free(p);

    // dense: k = 500, delta >= 4 + 500 bytes, bitmap 125: 5 + 125 + 2000
    c = topk_config(0.5, CODEC_FP32);
    p = encode(&c, x, N, 0, &bytes);
    CHECK(bytes == 2130 && p[0] == 0 && le32_of(p + 1) == 500, "dense topk: %zu bytes, flag %d", bytes, p[0]);
    free(p);

    // n = 80 (bitmap 10 bytes), the k first values kept, gaps 0, 1, 1, ...: k = 6 gives delta
    // 4 + 6 = 10, a tie, so the bitmap; k = 5 gives 9 < 10, delta
    float w[80];
    for (int i = 0; i < 80; i++) w[i] = 100.0f - (float)i;
    c = topk_config(6.0 / 80, CODEC_FP32);
    p = encode(&c, w, 80, 0, &bytes);
    CHECK(p[0] == 0 && bytes == 5 + 10 + 24, "topk tie of codings: flag %d, %zu bytes", p[0], bytes);
    free(p);
    c = topk_config(5.0 / 80, CODEC_FP32);
    p = encode(&c, w, 80, 0, &bytes);
    CHECK(p[0] == 1 && bytes == 5 + 9 + 20, "topk k = 5 of 80: flag %d, %zu bytes", p[0], bytes);
    free(p);

    // multi-byte varints: indices 5, 300, 99999 of 100000: gaps 5 (0x05), 295 (0xA7 0x02),
    // 99699 (0xF3 0x8A 0x06)
    enum { M = 100000 };
    float *big = calloc(M, sizeof(float)), *out = malloc(M * sizeof(float));
    big[5] = 1, big[300] = -2, big[99999] = 3;
    c = topk_config(3.0 / M, CODEC_FP32);
    p = encode(&c, big, M, 0, &bytes);
    static const unsigned char want_ix[] = {1, 3, 0, 0, 0, 6, 0, 0, 0, 0x05, 0xa7, 0x02, 0xf3, 0x8a, 0x06};
    CHECK(bytes == 5 + 4 + 6 + 12 && bytes_equal(p, want_ix, sizeof want_ix, "varints"), "topk varints (%zu bytes)", bytes);
    CHECK(codec_topk.decode(&c, p, bytes, M, out) == 0 && out[5] == 1 && out[300] == -2 && out[99999] == 3 && out[6] == 0,
          "topk varint decode");
    free(p);
    free(big);
    free(out);
}

static void test_topk_int8_values(void)
{
    // top 5 of 10 by |x|: indices 1, 3, 5, 6, 8, values (−4, 2, −1, 0.2 | 3) in int8 blocks of 4.
    // 4/127 = 2^-5·1.00787 → bf16 2^-5·(1 + 2/128) = 130/4096 (0x3D02): q = (−126.03 → −126,
    // 63.02 → 63, −31.51 → −32, 6.30 → 6); 3 alone: 97/4096 (0x3CC2), q = 127.
    float x[10] = {0.1f, -4, 0, 2, 0, -1, 0.2f, 0, 3, 0}, y[10];
    CodecConfig c = topk_config(0.5, CODEC_INT8);
    size_t bytes;
    unsigned char *p = encode(&c, x, 10, 0, &bytes);
    static const unsigned char want[] = {0, 5, 0, 0, 0, 0x6a, 0x01, 0x02, 0x3d, 0xc2, 0x3c,
                                         (unsigned char)-126, 63, (unsigned char)-32, 6, 127};
    CHECK(bytes == sizeof want && bytes_equal(p, want, sizeof want, "topk int8"), "topk int8 payload (%zu bytes)", bytes);
    CHECK(codec_topk.max_bytes(&c, 10) == sizeof want, "topk max_bytes %zu", codec_topk.max_bytes(&c, 10));
    CHECK(codec_topk.decode(&c, p, bytes, 10, y) == 0, "topk int8 decode");
    const float want_y[10] = {0, -126 * 130 / 4096.0f, 0, 63 * 130 / 4096.0f, 0, -32 * 130 / 4096.0f,
                              6 * 130 / 4096.0f, 0, 127 * 97 / 4096.0f, 0};
    for (int i = 0; i < 10; i++) CHECK(y[i] == want_y[i], "topk int8 x̂[%d] = %.9g, want %.9g", i, y[i], want_y[i]);
    free(p);
}

/* decode refuses payloads encode cannot make, and never reads past them (ASan watches). */
static void test_topk_refusals(void)
{
    enum { N = 1000 };
    float x[N], y[N];
    synth_gaussian(x, N, 3, 1.0);
    for (int values = CODEC_FP32; values <= CODEC_INT4; values++)
        for (int sparse = 0; sparse < 2; sparse++) {
            CodecConfig c = topk_config(sparse ? 0.02 : 0.4, (CodecKind)values);
            size_t bytes;
            unsigned char *p = encode(&c, x, N, 0, &bytes);
            CHECK(p[0] == sparse, "topk %s fraction %g: flag %d", codec_names[values], c.topk_fraction, p[0]);
            CHECK(codec_topk.decode(&c, p, bytes, N, y) == 0, "topk decode of its own payload");
            int all_short_refused = 1;
            for (size_t len = 0; len < bytes; len++) {
                // a copy of exactly len bytes, so that reading past it is caught
                unsigned char *t = malloc(len ? len : 1);
                memcpy(t, p, len);
                all_short_refused &= codec_topk.decode(&c, t, len, N, y) == -1;
                free(t);
            }
            CHECK(all_short_refused, "topk %s: a truncated payload decoded", codec_names[values]);
            unsigned char *q = malloc(bytes + 1);
            memcpy(q, p, bytes);
            q[bytes] = 0;
            CHECK(codec_topk.decode(&c, q, bytes + 1, N, y) == -1, "topk: a trailing byte accepted");
            q[0] = 2;
            CHECK(codec_topk.decode(&c, q, bytes, N, y) == -1, "topk: flag 2 accepted");
            q[0] = p[0];
            q[1] = (unsigned char)(N + 1), q[2] = (unsigned char)((N + 1) >> 8);
            CHECK(codec_topk.decode(&c, q, bytes, N, y) == -1, "topk: k > n accepted");
            memcpy(q, p, bytes);
            q[1]--; // k − 1: not the k of this fraction
            CHECK(codec_topk.decode(&c, q, bytes, N, y) == -1, "topk: another k accepted");
            memcpy(q, p, bytes);
            if (sparse) {
                size_t second = 9;
                while (q[second] & 0x80) second++;
                q[second + 1] = 0; // the second gap 0: indices not increasing
                CHECK(codec_topk.decode(&c, q, bytes, N, y) == -1, "topk: a repeated index accepted");
                memcpy(q, p, bytes);
                q[5]++; // L one larger than the varints
                CHECK(codec_topk.decode(&c, q, bytes, N, y) == -1, "topk: a wrong L accepted");
                memcpy(q, p, bytes);
                q[0] = 0; // claims bitmap
                CHECK(codec_topk.decode(&c, q, bytes, N, y) == -1, "topk: delta bytes read as bitmap");
            } else {
                size_t first_zero = 5;
                while (q[first_zero] == 0xff) first_zero++;
                q[first_zero] |= (unsigned char)~q[first_zero]; // one more bit set
                CHECK(codec_topk.decode(&c, q, bytes, N, y) == -1, "topk: k + 1 bitmap bits accepted");
                memcpy(q, p, bytes);
                q[0] = 1; // claims delta
                CHECK(codec_topk.decode(&c, q, bytes, N, y) == -1, "topk: bitmap read as delta");
            }
            // random corruptions: whatever decode answers, it reads only the payload
            unsigned rng = 12345u + (unsigned)values;
            for (int t = 0; t < 300; t++) {
                memcpy(q, p, bytes);
                for (int f = 0; f < 3; f++) {
                    rng = rng * 1103515245u + 12345u;
                    q[(rng >> 8) % bytes] ^= (unsigned char)(1u << (rng >> 28 & 7));
                }
                (void)codec_topk.decode(&c, q, bytes, N, y);
            }
            free(q);
            free(p);
        }
    // the bitmap's padding bits must be 0: n = 10, bits 10..15 of byte 1
    float x10[10] = {1, 2, 3, 4, 5, 6, 7, 8, 9, 10}, y10[10];
    CodecConfig c = topk_config(0.5, CODEC_FP32);
    size_t bytes;
    unsigned char *p = encode(&c, x10, 10, 0, &bytes);
    CHECK(p[0] == 0 && p[5] == 0xe0 && p[6] == 0x03, "topk n 10 bitmap 0x%02x 0x%02x", p[5], p[6]);
    p[5] &= 0x7f, p[6] |= 0x04; // move a kept bit into the padding
    CHECK(codec_topk.decode(&c, p, bytes, 10, y10) == -1, "topk: a padding bit accepted");
    free(p);
}

static void test_fp32_lossless(void)
{
    enum { N = 1000 };
    float x[N], y[N];
    for (int i = 0; i < N; i++) x[i] = float_of(0x9e3779b9u * (uint32_t)i); // all bit patterns, NaNs too
    CodecConfig c = config(CODEC_FP32, 1, CODEC_SCALE_BF16, CODEC_ROUND_NEAREST);
    size_t bytes;
    unsigned char *p = encode(&c, x, N, 0, &bytes);
    CHECK(bytes == 4 * N && codec_fp32.decode(&c, p, bytes, N, y) == 0 && memcmp(x, y, sizeof x) == 0,
          "fp32 is not bitwise lossless");
    CHECK(codec_fp32.decode(&c, p, bytes - 4, N, y) == -1, "fp32: a short payload accepted");
    free(p);
}

int main(void)
{
    omp_set_num_threads(1);
    test_registry();
    test_uniform();
    test_bf16();
    test_int8_vectors();
    test_int4_vectors();
    test_sizes();
    test_error_bound();
    test_int_stochastic();
    test_topk_selection();
    test_topk_index_codings();
    test_topk_int8_values();
    test_topk_refusals();
    test_fp32_lossless();
    printf("test_fed_codec: %d checks, %d failures\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}
