/* fuzz_datafile: the data-file reader (info, token datasets, tokenizer) on a structure-aware
 * input: fuzz_h5.h builds a well-formed HDF5 file from the input (why not byte-mutated files:
 * see there), then every reader `photon info`, the loader, eval and sample use runs on it. */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

#include "datafile.h"
#include "fuzz_h5.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_h5_scratch("datafile");
    char err[1024];
    fuzz_h5_build(data, size, path); /* a part libhdf5 refused is left out: the rest is read */
    DataInfo info;
    if (datafile_read_info(path, &info, err, sizeof err) == 0) datafile_info_free(&info);
    /* What every command runs on open: the tokenizer, the checksums and the token ids. */
    (void)datafile_verify(path, 1, "fuzz", err, sizeof err);
    for (int source = -1; source < 2; source++) {
        uint32_t *tokens = NULL;
        size_t n = 0;
        if (datafile_read_validation(path, source, &tokens, &n, err, sizeof err) == 0) free(tokens);
    }
    BPE *bpe = datafile_read_tokenizer(path, err, sizeof err);
    if (bpe) {
        /* Every id of the vocabulary, and one past it, decodes. */
        const int v = bpe_vocab_size(bpe);
        uint32_t ids[2] = {(uint32_t)v - 1, (uint32_t)v};
        size_t len = 0;
        free(bpe_decode(bpe, ids, 2, &len));
        bpe_free(bpe);
    }
    hid_t f = datafile_open(path, H5P_DEFAULT, err, sizeof err);
    if (f >= 0) {
        uint32_t *tokens = NULL;
        size_t n = 0;
        if (datafile_read_token_dataset(f, "/silos/0/tokens", &tokens, &n, err, sizeof err) == 0) free(tokens);
        H5Fclose(f);
    }
    remove(path);
    return 0;
}
