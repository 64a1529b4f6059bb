/* prep.h: `photon prep`: corpora -> byte-level BPE -> one HDF5 data file of per-silo shards. */
#ifndef PHOTON_PREP_H
#define PHOTON_PREP_H

// argv[0] is "prep". Runs after MPI_Init; on several ranks only rank 0 works and the others
// wait for its exit status: 0 ok, 2 bad input or usage.
int cmd_prep(int argc, char **argv);

#endif
