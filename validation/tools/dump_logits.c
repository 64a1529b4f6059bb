/* dump_logits.c: photon's logits for a weights file and a token sequence, the reference
 * that the export round trips (check_export.py) are compared with.
 * usage: dump_logits CKPT OUT.bin TOKEN [TOKEN ...]
 * writes (T, V) float32 logits, T = the number of tokens (at most max_seq_len). */
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>

#include "gpt.h"
#include "weights.h"

int main(int argc, char **argv)
{
    if (argc < 4) {
        fprintf(stderr, "usage: %s CKPT OUT.bin TOKEN [TOKEN ...]\n", argv[0]);
        return 2;
    }
    MPI_Init(&argc, &argv);
    int T = argc - 3, rc = 1;
    int *tokens = malloc((size_t)T * sizeof(int));
    for (int t = 0; t < T; t++) tokens[t] = atoi(argv[3 + t]);
    char err[1024];
    GPT m;
    if (weights_load(argv[1], &m, 1, T, err, sizeof err)) {
        fprintf(stderr, "%s\n", err);
        goto done;
    }
    if (T > m.config.max_seq_len) {
        fprintf(stderr, "at most max_seq_len = %d tokens\n", m.config.max_seq_len);
        gpt_free(&m);
        goto done;
    }
    gpt_forward(&m, tokens, NULL, 1, T);
    FILE *f = fopen(argv[2], "wb");
    size_t n = (size_t)T * m.config.vocab_size;
    if (f && fwrite(gpt_logits(&m), sizeof(float), n, f) == n && fclose(f) == 0) rc = 0;
    else fprintf(stderr, "%s: cannot write\n", argv[2]);
    gpt_free(&m);
done:
    free(tokens);
    MPI_Finalize();
    return rc;
}
