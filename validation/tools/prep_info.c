/* prep_info.c: `photon prep` and `photon info` for the data tests, independent of the
 * command dispatcher in photon.c: prep_info prep|info ARGS... */
#include <mpi.h>
#include <stdio.h>
#include <string.h>

#include "info.h"
#include "prep.h"

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    int status = 2;
    if (argc >= 2 && !strcmp(argv[1], "prep")) status = cmd_prep(argc - 1, argv + 1);
    else if (argc >= 2 && !strcmp(argv[1], "info")) status = cmd_info(argc - 1, argv + 1);
    else fprintf(stderr, "usage: prep_info prep|info ARGS...\n");
    MPI_Finalize();
    return status;
}
