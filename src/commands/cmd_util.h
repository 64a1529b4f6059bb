/* cmd_util.h: what several `photon` subcommands share. */
#ifndef PHOTON_CMD_UTIL_H
#define PHOTON_CMD_UTIL_H

#include <stddef.h>

/* Runs run(argc, argv) on rank 0 of MPI_COMM_WORLD only (a serial tool under mpirun); the
 * other ranks wait for its exit status, so that every rank exits alike. Collective; returns
 * run's status on every rank. */
int cmd_on_rank0(int (*run)(int argc, char **argv), int argc, char **argv);

/* The data file of a command that takes a checkpoint CKPT and an optional --data FILE: when
 * *data is NULL, the data file CKPT records (its run's), copied into recorded[len] with *data
 * pointing there. Every rank reads the file and reaches the same verdict; on failure rank 0
 * prints "CMD: why" on stderr and every rank returns 2 (the exit status), else 0. */
int cmd_resolve_data(const char *cmd, int rank, const char *ckpt, const char **data, char *recorded,
                     size_t len);

#endif
