/* photon.c: the command-line entry point. Starts MPI and dispatches to the subcommands. */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "config.h"
#include "cmd_eval.h"
#include "cmd_sample.h"
#include "cmd_export.h"
#include "info.h"
#include "prep.h"
#include "train.h"
#include "check.h"

typedef struct {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *summary;
} Command;

static const Command commands[] = {
    {"train", cmd_train, "train DECK [section.key=value ...] [--resume [PATH|latest]]\n"
                         "                                         train from an input deck (under mpirun); resume a checkpoint"},
    {"prep", cmd_prep, "prep -o OUT.h5 [options] INPUT...      corpora -> tokenizer + per-silo token shards (HDF5)"},
    {"info", cmd_info, "info FILE.h5                           summary of a data file"},
    {"eval", cmd_eval, "eval CKPT [--data FILE.h5] [--json]    validation loss and perplexity, per source"},
    {"sample", cmd_sample, "sample CKPT --prompt TEXT [options]    text from a trained model"},
    {"export", cmd_export, "export CKPT --format llmc|safetensors -o OUT   weights for llm.c / Hugging Face"},
};
#define NUM_COMMANDS (int)(sizeof commands / sizeof commands[0])

static void usage(FILE *out)
{
    fprintf(out, "usage: photon COMMAND [ARGS]\n\nFederated pre-training of decoder-only language models on MPI.\n\ncommands:\n");
    for (int i = 0; i < NUM_COMMANDS; i++) fprintf(out, "  %s\n", commands[i].summary);
    fprintf(out, "\n  photon COMMAND --help   help on one command\n  photon --version        print the version\n"
                 "\nDocumentation: doc/user-guide.md, doc/deck.md, doc/formats.md\n");
}

int main(int argc, char **argv)
{
    /* Help and version need no MPI: they work on a login node without a launcher. */
    if (argc < 2) { usage(stderr); return 2; }
    const char *name = argv[1];
    if (!strcmp(name, "--help") || !strcmp(name, "-h") || !strcmp(name, "help")) { usage(stdout); return 0; }
    if (!strcmp(name, "--version")) { printf("photon %s\n", PACKAGE_VERSION); return 0; }
    const Command *cmd = NULL;
    for (int i = 0; i < NUM_COMMANDS; i++)
        if (!strcmp(name, commands[i].name)) cmd = &commands[i];
    if (!cmd) {
        fprintf(stderr, "photon: unknown command '%s' (photon --help lists them)\n", name);
        return 2;
    }
    /* Streaming sync runs a fragment's exchange on a thread of the silo leader while its main
     * thread trains (src/train/fragments.c): that needs MPI_THREAD_MULTIPLE where the MPI has it. */
    int provided = MPI_THREAD_SINGLE;
    MPI_Init_thread(&argc, &argv, MPI_THREAD_MULTIPLE, &provided);
    photon_mpi_thread_multiple = provided >= MPI_THREAD_MULTIPLE;
    int rc = cmd->run(argc - 1, argv + 1);
    /* Every rank returns the same status; a non-zero one still finalizes cleanly. */
    MPI_Finalize();
    return rc;
}
