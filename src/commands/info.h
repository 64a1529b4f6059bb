/* info.h: `photon info FILE`: what a photon data file holds and where it came from. */
#ifndef PHOTON_INFO_H
#define PHOTON_INFO_H

// argv[0] is "info". Runs after MPI_Init; rank 0 prints. Exit status: 0 ok, 2 bad input.
int cmd_info(int argc, char **argv);

#endif
