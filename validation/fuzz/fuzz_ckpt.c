/* fuzz_ckpt: the checkpoint reader's verification (ckpt_verify: every dataset against its
 * SHA-256, the format attributes), then, as --resume and export do, the weights in it
 * (weights_read_config / weights_load: a checkpoint is a superset of final.h5). The input is
 * structure-aware (fuzz_h5.h builds a well-formed HDF5 file from it; see there why). */
#include <stdint.h>
#include <stdio.h>

#include "checkpoint.h"
#include "fuzz_h5.h"
#include "gpt.h"
#include "weights.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    const char *path = fuzz_h5_scratch("ckpt");
    char err[1024];
    fuzz_h5_build(data, size, path); /* a part libhdf5 refused is left out: the rest is read */
    if (ckpt_verify(path, err, sizeof err) == 0) {
        GPTConfig c;
        GPT m;
        if (weights_read_config(path, &c, err, sizeof err) == 0 && weights_load(path, &m, 1, 1, err, sizeof err) == 0)
            gpt_free(&m);
    }
    remove(path);
    return 0;
}
