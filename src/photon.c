/* photon.c: the command-line entry point. Dispatches to the subcommands. */
#include <stdio.h>
#include <string.h>

#include "config.h"

static void usage(FILE *out)
{
    fprintf(out,
            "usage: photon COMMAND [ARGS]\n"
            "\n"
            "Federated pre-training of decoder-only language models on MPI.\n"
            "\n"
            "commands:\n"
            "  train DECK [section.key=value ...]   train a model from an input deck\n"
            "\n"
            "  photon COMMAND --help   help on one command\n"
            "  photon --version        print the version\n");
}

int main(int argc, char **argv)
{
    if (argc < 2) { usage(stderr); return 2; }
    const char *cmd = argv[1];
    if (!strcmp(cmd, "--help") || !strcmp(cmd, "-h") || !strcmp(cmd, "help")) { usage(stdout); return 0; }
    if (!strcmp(cmd, "--version")) { printf("photon %s\n", PACKAGE_VERSION); return 0; }
    fprintf(stderr, "photon: unknown command '%s' (see photon --help)\n", cmd);
    return 2;
}
