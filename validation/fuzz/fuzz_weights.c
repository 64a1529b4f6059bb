/* fuzz_weights: the weights reader (final.h5, and the export/eval/sample path:
 * weights_read_config, weights_load, weights_resolve_data_file) on a structure-aware input
 * (fuzz_h5.h builds a well-formed HDF5 file from it; see there why). weights_load builds
 * the model for T = 1: the reader's checks are under test, not the activations a real T needs. */
#include <stdint.h>
#include <stdio.h>

#include "fuzz_h5.h"
#include "gpt.h"
#include "weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_h5_scratch("weights");
    char err[1024], buf[1024];
    fuzz_h5_build(data, size, path); /* a part libhdf5 refused is left out: the rest is read */
    GPTConfig c;
    if (weights_read_config(path, &c, err, sizeof err) == 0) {
        GPT m;
        if (weights_load(path, &m, 1, 1, err, sizeof err) == 0) gpt_free(&m);
    }
    const char *df = NULL;
    weights_resolve_data_file(path, &df, buf, sizeof buf, err, sizeof err);
    remove(path);
    return 0;
}
