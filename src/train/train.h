/* train.h: the `photon train` command. */
#ifndef PHOTON_TRAIN_H
#define PHOTON_TRAIN_H

/* argv[0] = "train"; runs on every rank of MPI_COMM_WORLD. Returns the exit status
 * (0 ok, 2 bad input: deck, data file, rank count). */
int cmd_train(int argc, char **argv);

#endif
