/* fuzz_h5.h: structure-aware HDF5 inputs for the fuzz harnesses.
 *
 * Why not mutate HDF5 files byte by byte: libhdf5's own parser is not hardened against
 * malformed files (it has many known crashes on them), so a byte-mutating fuzzer would mostly
 * report libhdf5 bugs that photon cannot fix. Instead the fuzz input is a small description of a
 * WELL-FORMED file: which groups, datasets and attributes exist, their types (integers of 1-8
 * bytes, signed or not, float32/64, fixed or variable-length strings), shapes and values. The
 * harness builds that file with libhdf5 itself (so the file is always valid HDF5) and hands it
 * to photon's real reader, which must then refuse what is wrong with a message, never crash.
 *
 * The description (all integers little-endian; a truncated input reads as zeros):
 *   record := kind:u8 path name type shape values
 *     kind  % 3: 0 group, 1 dataset, 2 attribute (of the object at `path`, named `name`)
 *     path, name := len:u8 bytes      (path relative to the root; "" = the root; name only for
 *                                      attributes; parents are created as groups on demand)
 *     type  := code:u8 [size:u16 for fixed strings]
 *             code % 12: 0-3 int8/16/32/64, 4-7 uint8/16/32/64, 8 float32, 9 float64,
 *                        10 fixed-length string, 11 variable-length string
 *     shape := rank:u8 (% 3) dims:u32 x rank   (the element count is capped: FUZZ_H5_MAX_ELEMS)
 *     values: the elements' bytes in order (fixed types), or len:u16 bytes per string (vlen)
 * The seeds are real photon files turned into this form by validation/fuzz/h5_seed (dump). */
#ifndef PHOTON_FUZZ_H5_H
#define PHOTON_FUZZ_H5_H
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Bounds the memory one input can ask for (a reader given a 1 GiB dataset is not a bug). */
#define FUZZ_H5_MAX_ELEMS (1u << 20)

/* Builds the file that `data` describes at `path` (replaced). 0, or -1 if libhdf5 refused a
 * part of it (an invalid name, ...): the parts it accepted are kept, the file stays valid. */
int fuzz_h5_build(const uint8_t *data, size_t size, const char *path);

/* Writes the description of an existing HDF5 file (the seed corpus). 0 / -1. */
int fuzz_h5_dump(const char *path, FILE *out);

/* A per-process scratch path in /dev/shm (or TMPDIR) for the built file. */
const char *fuzz_h5_scratch(const char *target);
#endif
