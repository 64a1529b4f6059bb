/* codec.h: how a silo's contribution to a weighted mean is put into bytes.
 *
 * What a silo contributes to a round is its pseudo-gradient Δ_k = θ − θ_k, where θ is the
 * reference every receiver already holds (the round's start model; for fed_mean and
 * fed_allreduce_mean, which average vectors with no common reference, θ = 0). A codec turns a
 * RANGE [offset, offset + count) of the contribution into bytes and back, so that a
 * reduce-scatter can ship each owner its chunk; encoded_bytes(count) is the EXACT size of an
 * encoded range of `count` values (the transport sizes its MPI_BYTE messages, and the link model
 * its phases, from it).
 *
 * Lossless fp32 carries θ_k's floats directly and decode returns θ_k exactly, not θ − Δ_k:
 * θ − (θ − θ_k) rounds twice and is not θ_k in float, and the aggregate θ̄ = Σ p_k θ_k must stay
 * bitwise what it was (a single silo's θ̄ is its θ_k, so federated with one silo equals
 * centralized training). The fp32 encoding of a range is its floats themselves, so the
 * transport also moves results (θ̄, the new θ) in place, counting codec_fp32's bytes.
 * Lossy codecs (quantized, sparse) will encode Δ_k and decode θ − Δ̂_k instead; their
 * encode/decode then read `ref`, which fp32 ignores.
 *
 * Contract for every codec: encode and decode are deterministic pure functions of their inputs
 * (no state, no thread-count dependence), so every receiver decodes bitwise the same values;
 * count may be 0 (a chunk of a vector shorter than the survivor count), and then the buffers
 * may be NULL and nothing is read or written.
 * Adding a codec: one file filling a Codec, one line in codec.c's registry. */
#ifndef PHOTON_CODEC_H
#define PHOTON_CODEC_H

#include <stddef.h>

typedef struct {
    const char *name;
    /* Exact bytes of an encoded range of `count` values. */
    size_t (*encoded_bytes)(size_t count);
    /* out (encoded_bytes(count)) <- the range [offset, offset + count) of x's contribution
     * against the reference ref (NULL: 0). ref and x are whole vectors. */
    void (*encode)(const float *ref, const float *x, size_t offset, size_t count, void *out);
    /* x[0 .. count) <- the decoded range [offset, offset + count) (x is the range itself, not
     * the whole vector); ref as in encode. */
    void (*decode)(const float *ref, const void *in, size_t offset, size_t count, float *x);
} Codec;

extern const Codec codec_fp32;

/* The codec called `name`, or NULL. */
const Codec *codec_lookup(const char *name);

#endif
