/* h5_seed: a photon HDF5 file turned into a fuzz input (fuzz_h5.h's description), for the
 * seed corpus: h5_seed FILE.h5 OUT. With --build IN OUT.h5 it does the reverse (what the
 * harnesses do), so a seed can be looked at with h5dump. */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_h5.h"

int main(int argc, char **argv)
{
    if (argc == 4 && !strcmp(argv[1], "--build")) {
        FILE *in = fopen(argv[2], "rb");
        if (!in) { perror(argv[2]); return 1; }
        static uint8_t buf[64 << 20];
        const size_t n = fread(buf, 1, sizeof buf, in);
        fclose(in);
        return fuzz_h5_build(buf, n, argv[3]) ? 1 : 0;
    }
    if (argc != 3) { fprintf(stderr, "usage: h5_seed FILE.h5 OUT | h5_seed --build IN OUT.h5\n"); return 2; }
    FILE *out = fopen(argv[2], "wb");
    if (!out) { perror(argv[2]); return 1; }
    const int rc = fuzz_h5_dump(argv[1], out);
    if (fclose(out) || rc) { fprintf(stderr, "h5_seed: cannot dump %s\n", argv[1]); return 1; }
    return 0;
}
