/* cmd_export.c: `photon export CKPT --format llmc|safetensors -o OUT` (the formats: export.h). */
#include "cmd_export.h"

#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "check.h"
#include "export.h"
#include "weights.h"

static void export_usage(FILE *out)
{
    fprintf(out,
            "usage: photon export CKPT --format llmc -o OUT.bin\n"
            "       photon export CKPT --format safetensors -o DIR\n\n"
            "Writes the weights of CKPT (a run's final.h5 or a checkpoint) for other tools:\n"
            "  llmc         llm.c's GPT-2 model file (float32, version 3); load with llm.c's\n"
            "               gpt2_build_from_checkpoint\n"
            "  safetensors  DIR/model.safetensors + DIR/config.json, Hugging Face GPT2LMHeadModel\n"
            "               names and layout (biases of bias = 0 models are zeros)\n");
}

int cmd_export(int argc, char **argv)
{
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    const char *ckpt = NULL, *format = NULL, *out = NULL;
    for (int i = 1; i < argc; i++) {
        if (!strcmp(argv[i], "--help") || !strcmp(argv[i], "-h")) {
            if (rank == 0) export_usage(stdout);
            return 0;
        } else if (!strcmp(argv[i], "--format") && i + 1 < argc) {
            format = argv[++i];
        } else if (!strcmp(argv[i], "-o") && i + 1 < argc) {
            out = argv[++i];
        } else if (argv[i][0] != '-' && !ckpt) {
            ckpt = argv[i];
        } else {
            if (rank == 0) fprintf(stderr, "photon export: unexpected argument '%s' (photon export --help)\n", argv[i]);
            return 2;
        }
    }
    if (!ckpt || !format || !out) {
        if (rank == 0) export_usage(stderr);
        return 2;
    }
    if (strcmp(format, "llmc") && strcmp(format, "safetensors")) {
        if (rank == 0) fprintf(stderr, "photon export: unknown --format '%s' (use llmc or safetensors)\n", format);
        return 2;
    }
    /* One writer; the other ranks of an mpirun wait for its verdict, so all exit alike. */
    int rc = 0;
    if (rank == 0) {
        char err[1024];
        GPT m;
        if (weights_load(ckpt, &m, 1, 1, err, sizeof err)) {
            fprintf(stderr, "photon export: %s\n", err);
            rc = -1;
        } else {
            rc = !strcmp(format, "llmc") ? export_llmc(&m, out, err, sizeof err)
                                         : export_safetensors(&m, out, err, sizeof err);
            if (rc) fprintf(stderr, "photon export: %s\n", err);
            else printf("photon export: %s (%zu parameters) -> %s (%s)\n", ckpt, m.num_parameters, out, format);
            gpt_free(&m);
        }
    }
    mpiCheck(MPI_Bcast(&rc, 1, MPI_INT, 0, MPI_COMM_WORLD));
    return rc ? 2 : 0;
}
