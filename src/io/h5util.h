/* h5util.h: the HDF5 helpers every photon file uses (the data file, checkpoints, final.h5,
 * the tokenizer group): scalar and small-array attributes, and keeping HDF5's own error stack
 * off stderr while reading user files. Serial and local: nothing here is collective, except
 * that attribute writes on a file opened with the MPI-IO driver must be made by every rank
 * with the same values (HDF5's rule for metadata), as checkpoint.c does.
 *
 * Writes return 0 / -1. Reads return 0, or -1 with a message naming the object and the
 * attribute ("attribute 'seed' of / is missing"); readers prefix it with the file's path. */
#ifndef PHOTON_H5UTIL_H
#define PHOTON_H5UTIL_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

// ------------------------------------------------------------------------------------------
// Quiet reading: user errors (a missing attribute, a foreign file) must not spray HDF5's
// error stack on stderr; our messages say what is wrong. h5_quiet_begin saves the automatic
// error printing of the default stack and turns it off; h5_quiet_end restores what was saved.
// Pairs nest (each restores what it found).

typedef struct { H5E_auto2_t func; void *data; } H5Quiet;

void h5_quiet_begin(H5Quiet *q);
void h5_quiet_end(const H5Quiet *q);

// ------------------------------------------------------------------------------------------
// Attributes. Integers are stored as little-endian int64 / uint64, doubles as IEEE f64,
// strings as variable-length UTF-8 (h5py reads them as str, h5dump shows them as text).

int h5_attr_write_int(hid_t loc, const char *name, int64_t v);
int h5_attr_write_uint(hid_t loc, const char *name, uint64_t v);
int h5_attr_write_double(hid_t loc, const char *name, double v);
int h5_attr_write_string(hid_t loc, const char *name, const char *s);
/* A fixed-length string: what parallel HDF5 writes collectively (no variable-length heap). */
int h5_attr_write_fixed_string(hid_t loc, const char *name, const char *s);
int h5_attr_write_int64s(hid_t loc, const char *name, const int64_t *v, size_t n);

int h5_attr_read_int(hid_t loc, const char *name, int64_t *v, char *err, size_t errlen);
int h5_attr_read_uint(hid_t loc, const char *name, uint64_t *v, char *err, size_t errlen);
/* A double, or an integer attribute converted to double. */
int h5_attr_read_double(hid_t loc, const char *name, double *v, char *err, size_t errlen);
/* Either kind of string (variable or fixed length); *s is malloc'd (NULL on error). */
int h5_attr_read_string(hid_t loc, const char *name, char **s, char *err, size_t errlen);
/* A string into buf, truncated to len - 1 bytes; -1 (buf = "") when it is missing or not a
 * string, for callers whose own message says what the attribute should be. */
int h5_attr_read_string_buf(hid_t loc, const char *name, char *buf, size_t len);
/* Exactly n integers (a 1-D attribute of n elements, or a scalar when n = 1). */
int h5_attr_read_int64s(hid_t loc, const char *name, int64_t *v, size_t n, char *err,
                        size_t errlen);

// ------------------------------------------------------------------------------------------
// Types

/* A new variable-length UTF-8 string type (the caller closes it with H5Tclose). */
hid_t h5_vlen_string_type(void);

#endif
