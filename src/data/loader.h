/* loader.h: training batches from the silos of a photon data file.
 *
 * Sampling rule. The token streams of the listed silos (in the order listed) are cut into
 * windows of T+1 tokens at stride T: window j of a silo of N tokens holds tokens
 * [j*T, j*T + T] (j = 0 .. (N-1)/T - 1), so consecutive windows share one token and windows may
 * cross document boundaries (documents are separated by EOT). Epoch e visits the windows of
 * all listed silos in the order of a permutation drawn by gsl_ran_shuffle from a GSL mt19937
 * seeded from (seed, first listed silo, e). Each step the data-parallel group takes the next
 * nranks*B windows of the permutation and rank r takes windows [r*B, (r+1)*B) of them; inputs
 * are a window's first T tokens and targets its last T. An epoch ends when fewer than nranks*B
 * windows are left (they are skipped); the next epoch reshuffles. Hence ranks see disjoint
 * windows, everything follows from (seed, silos, rank, step), and R ranks with batch B see
 * exactly the windows one rank with batch R*B sees. Reads are independent MPI-IO hyperslab
 * reads of the needed windows only. */
#ifndef PHOTON_LOADER_H
#define PHOTON_LOADER_H

#include <mpi.h>
#include <stddef.h>
#include <stdint.h>

typedef struct { uint64_t epoch, position; } LoaderCursor;  // exact resume point
typedef struct Loader Loader;

// Opens the data file with the MPI-IO driver on comm (COLLECTIVE: all ranks of comm call it,
// with the same arguments but rank) and serves batches from the union of the listed silos.
// rank/nranks: this rank's place in the data-parallel group sharing these silos. Returns NULL
// on every rank of comm, with a message naming the file and what to change, for a missing or
// foreign file, a silo out of range, or silos too small for one step (nranks*B windows).
Loader *loader_open(const char *path, MPI_Comm comm, const int *silos, int num_silos, int rank,
                    int nranks, int B, int T, unsigned long seed, char *err, size_t errlen);
// Next (B, T) inputs and targets (targets = inputs shifted by one), int32 token ids.
void loader_next(Loader *L, int *inputs, int *targets);
LoaderCursor loader_get_cursor(const Loader *L);
void loader_set_cursor(Loader *L, LoaderCursor c);
uint64_t loader_tokens_per_epoch(const Loader *L);   // tokens in the union of its silos
uint64_t loader_windows(const Loader *L);            // windows in the union of its silos
uint64_t loader_steps_per_epoch(const Loader *L);    // windows / (nranks * B)
// COLLECTIVE over the loader's comm (closes the file).
void loader_close(Loader *L);

#endif
