/* cmd_util.c: helpers shared by the subcommands (see cmd_util.h). */
#include "cmd_util.h"

#include <mpi.h>
#include <stdio.h>

#include "check.h"
#include "weights.h"

int cmd_on_rank0(int (*run)(int argc, char **argv), int argc, char **argv)
{
    int rank = 0, size = 1;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    int status = rank == 0 ? run(argc, argv) : 0;
    if (size > 1) mpiCheck(MPI_Bcast(&status, 1, MPI_INT, 0, MPI_COMM_WORLD));
    return status;
}

int cmd_resolve_data(const char *cmd, int rank, const char *ckpt, const char **data, char *recorded,
                     size_t len)
{
    char why[4352];
    if (weights_resolve_data_file(ckpt, data, recorded, len, why, sizeof why)) {
        if (rank == 0) fprintf(stderr, "%s: %s\n", cmd, why);
        return 2;
    }
    return 0;
}
