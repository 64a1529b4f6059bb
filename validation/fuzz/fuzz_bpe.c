/* fuzz_bpe: the BPE tokenizer from arbitrary merges, and the decoder on arbitrary ids.
 * Input: num_merges:u16, then (left:i32, right:i32) per merge, then the rest is both a text
 * and a sequence of u32 ids. A tokenizer that loads must decode any ids without crashing, and
 * encoding the text then decoding it must give the text back (bpe.h: lossless for any bytes). */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bpe.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size < 2) return 0;
    size_t m = (size_t)(data[0] | data[1] << 8);
    data += 2;
    size -= 2;
    if (m > size / 8) m = size / 8;
    int32_t *merges = malloc(m * 8 + 8);
    if (!merges) return 0;
    memcpy(merges, data, m * 8);
    data += m * 8;
    size -= m * 8;
    char err[512] = "";
    BPE *bpe = bpe_from_merges(merges, (int)m, err, sizeof err);
    free(merges);
    if (!bpe) {
        if (!err[0]) { fprintf(stderr, "bpe_from_merges failed without a message\n"); abort(); }
        return 0;
    }
    size_t nid = size / 4, len = 0;
    uint32_t *ids = malloc(nid * 4 + 4);
    if (ids) {
        memcpy(ids, data, nid * 4);
        free(bpe_decode(bpe, ids, nid, &len));
        free(ids);
    }
    uint32_t *enc = NULL;
    const size_t n = bpe_encode(bpe, (const char *)data, size, &enc);
    for (size_t i = 0; i < n; i++)
        if (enc[i] >= (uint32_t)bpe_vocab_size(bpe)) { fprintf(stderr, "encode gave id %u\n", enc[i]); abort(); }
    char *back = bpe_decode(bpe, enc, n, &len);
    if (!back || len != size || memcmp(back, data, size)) {
        fprintf(stderr, "bpe round trip lost bytes: %zu in, %zu out\n", size, len);
        abort();
    }
    free(back);
    free(enc);
    bpe_free(bpe);
    return 0;
}
