/* codec_topk.c: the k values of largest |x|, their indices, and the values coded by
 * c->topk_values (doc/federation.md, "Payload codecs").
 *
 * k = ⌈topk_fraction·n⌉ in [1, n] (0 for n = 0); a product within a relative 1e-9 of an integer
 * counts as that integer, so that 0.01·300 (3.0000000000000004 in double) keeps 3, not 4.
 * Selection orders values by |x| as the unsigned integer of its bits without the sign (the IEEE
 * order of non-negative floats; a NaN ranks above infinity, so NaNs are kept first); equal
 * magnitudes are taken lower index first. Two radix passes of 16 bits find the k-th largest
 * magnitude, a third collects: O(n), independent of the thread count.
 * Layout (little-endian): u8 flag (0 bitmap, 1 delta), u32 k, then the indices
 *   bitmap: ⌈n/8⌉ bytes, bit i%8 of byte i/8 set when value i is kept, padding bits 0
 *   delta:  u32 L, then L bytes of LEB128 varints: the first index, then each index minus the
 *           previous one (>= 1)
 * whichever is smaller (4 + L < ⌈n/8⌉ picks delta; a tie keeps the bitmap), then the k kept
 * values in index order as c->topk_values encodes them (same block, scale, rounding, seed and
 * stream: stochastic rounding draws by the position among the kept values). n = 0: no bytes. */
#include "codec.h"
#include "codec_impl.h"

#include <math.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"

enum { FLAG_BITMAP = 0, FLAG_DELTA = 1, HEADER_BYTES = 5 };

static size_t topk_count(const CodecConfig *c, size_t n)
{
    if (n == 0) return 0;
    double p = c->topk_fraction * (double)n, r = nearbyint(p);
    double k = fabs(p - r) <= 1e-9 * (p > 1 ? p : 1) ? r : ceil(p);
    if (k < 1) k = 1;
    if (k > (double)n) k = (double)n;
    return (size_t)k;
}

static size_t bitmap_bytes(size_t n) { return (n + 7) / 8; }

static const Codec *values_codec(const CodecConfig *c) { return codec_of(c->topk_values); }

static size_t topk_max_bytes(const CodecConfig *c, size_t n)
{
    if (n == 0) return 0;
    // encode picks the smaller index coding, so the bitmap's size bounds it
    return HEADER_BYTES + bitmap_bytes(n) + values_codec(c)->max_bytes(c, topk_count(c, n));
}

static inline uint32_t magnitude_key(float x) { return codec_bits_of(x) & 0x7fffffffu; }

// idx (k, ascending) <- the indices of the k largest magnitudes, ties lower index first.
static void select_top(const float *x, size_t n, size_t k, size_t *idx)
{
    size_t *hist = callocCheck(65536, sizeof(size_t));
    for (size_t i = 0; i < n; i++) hist[magnitude_key(x[i]) >> 16]++;
    size_t above = 0; // values whose key is above the digits found so far
    uint32_t hi = 65535;
    while (above + hist[hi] < k) above += hist[hi--];
    memset(hist, 0, 65536 * sizeof(size_t));
    for (size_t i = 0; i < n; i++) {
        uint32_t key = magnitude_key(x[i]);
        if (key >> 16 == hi) hist[key & 0xffffu]++;
    }
    uint32_t lo = 65535;
    while (above + hist[lo] < k) above += hist[lo--];
    free(hist);
    uint32_t threshold = hi << 16 | lo; // the k-th largest key; `above` keys are larger
    size_t ties = k - above, j = 0;
    for (size_t i = 0; i < n; i++) {
        uint32_t key = magnitude_key(x[i]);
        if (key > threshold) {
            idx[j++] = i;
        } else if (key == threshold && ties > 0) {
            idx[j++] = i;
            ties--;
        }
    }
}

static size_t varint_length(uint64_t v)
{
    size_t len = 1;
    while (v >= 0x80) v >>= 7, len++;
    return len;
}

static size_t put_varint(unsigned char *p, uint64_t v)
{
    size_t len = 0;
    while (v >= 0x80) p[len++] = (unsigned char)(v | 0x80), v >>= 7;
    p[len++] = (unsigned char)v;
    return len;
}

// The LEB128 varint at p[*pos] (at most len bytes in all) into *v; -1 if it runs past len,
// overflows 64 bits or is not the shortest form (encode writes no trailing zero groups).
static int get_varint(const unsigned char *p, size_t len, size_t *pos, uint64_t *v)
{
    uint64_t r = 0;
    for (unsigned shift = 0;; shift += 7) {
        if (*pos >= len || shift > 63) return -1;
        unsigned char b = p[(*pos)++];
        if (shift == 63 && (b & 0x7e)) return -1;
        r |= (uint64_t)(b & 0x7f) << shift;
        if (!(b & 0x80)) {
            if (b == 0 && shift > 0) return -1;
            *v = r;
            return 0;
        }
    }
}

// Bytes of the delta coding's varints for these k indices.
static size_t delta_length(const size_t *idx, size_t k)
{
    size_t len = 0;
    for (size_t j = 0; j < k; j++) len += varint_length(j ? idx[j] - idx[j - 1] : idx[0]);
    return len;
}

static size_t topk_encode(const CodecConfig *c, const float *x, size_t n, uint64_t stream, void *out)
{
    if (n == 0) return 0; // out may be NULL
    size_t k = topk_count(c, n);
    if (k > UINT32_MAX) PHOTON_FATAL("topk keeps %zu values; the payload's u32 count holds 2^32 − 1", k);
    size_t *idx = mallocCheck(k * sizeof(size_t));
    float *vals = mallocCheck(k * sizeof(float));
    select_top(x, n, k, idx);
    for (size_t j = 0; j < k; j++) vals[j] = x[idx[j]];
    unsigned char *p = out;
    size_t L = delta_length(idx, k), used;
    int delta = 4 + L < bitmap_bytes(n);
    p[0] = delta ? FLAG_DELTA : FLAG_BITMAP;
    codec_put_le32(p + 1, (uint32_t)k);
    unsigned char *ix = p + HEADER_BYTES;
    if (delta) { // L < ⌈n/8⌉ - 4 fits in a u32 whenever k does
        codec_put_le32(ix, (uint32_t)L);
        size_t at = 4;
        for (size_t j = 0; j < k; j++) at += put_varint(ix + at, j ? idx[j] - idx[j - 1] : idx[0]);
        used = at;
    } else {
        used = bitmap_bytes(n);
        memset(ix, 0, used);
        for (size_t j = 0; j < k; j++) ix[idx[j] / 8] |= (unsigned char)(1u << (idx[j] % 8));
    }
    size_t vbytes = values_codec(c)->encode(c, vals, k, stream, ix + used);
    free(idx);
    free(vals);
    return HEADER_BYTES + used + vbytes;
}

// idx (k) <- the indices of a bitmap of n bits; -1 unless exactly k bits are set, padding is 0.
static int read_bitmap(const unsigned char *bm, size_t n, size_t k, size_t *idx)
{
    size_t j = 0;
    for (size_t byte = 0; byte < bitmap_bytes(n); byte++) {
        for (unsigned bits = bm[byte], bit = 0; bits; bits >>= 1, bit++) {
            if (!(bits & 1)) continue;
            size_t i = byte * 8 + bit;
            if (i >= n || j == k) return -1;
            idx[j++] = i;
        }
    }
    return j == k ? 0 : -1;
}

// idx (k) <- the delta coding's L bytes; -1 unless they hold exactly k strictly increasing
// indices below n.
static int read_delta(const unsigned char *p, size_t L, size_t n, size_t k, size_t *idx)
{
    size_t pos = 0;
    for (size_t j = 0; j < k; j++) {
        uint64_t gap;
        if (get_varint(p, L, &pos, &gap)) return -1;
        if (j == 0) {
            if (gap >= n) return -1;
            idx[0] = (size_t)gap;
        } else {
            if (gap == 0 || gap > n - 1 - idx[j - 1]) return -1;
            idx[j] = idx[j - 1] + (size_t)gap;
        }
    }
    return pos == L ? 0 : -1;
}

static int topk_decode(const CodecConfig *c, const void *in, size_t bytes, size_t n, float *x)
{
    if (n == 0) return bytes == 0 ? 0 : -1;
    const unsigned char *p = in;
    if (bytes < HEADER_BYTES) return -1;
    size_t k = codec_get_le32(p + 1), bm = bitmap_bytes(n), rest = bytes - HEADER_BYTES, used;
    if (p[0] > FLAG_DELTA || k != topk_count(c, n)) return -1;
    const unsigned char *ix = p + HEADER_BYTES;
    size_t *idx = mallocCheck(k * sizeof(size_t));
    float *vals = mallocCheck(k * sizeof(float));
    int rc = -1;
    if (p[0] == FLAG_BITMAP) {
        used = bm;
        // and the bitmap must be what encode picks: no shorter delta coding
        if (rest < bm || read_bitmap(ix, n, k, idx) || 4 + delta_length(idx, k) < bm) goto done;
    } else {
        if (rest < 4) goto done;
        size_t L = codec_get_le32(ix);
        used = 4 + L;
        if (L > rest - 4 || !(4 + L < bm) || read_delta(ix + 4, L, n, k, idx)) goto done;
    }
    if (values_codec(c)->decode(c, ix + used, rest - used, k, vals)) goto done;
    memset(x, 0, n * sizeof(float));
    for (size_t j = 0; j < k; j++) x[idx[j]] = vals[j];
    rc = 0;
done:
    free(idx);
    free(vals);
    return rc;
}

const Codec codec_topk = {"topk", 0, topk_max_bytes, topk_encode, topk_decode};
