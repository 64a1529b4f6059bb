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

#include "sha256.h"

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
// The SHA-256 of a list of attributes (checkpoints' and final.h5's root attributes, stored in
// the attribute `attrs_sha256`, uint8 (32)). The hashed bytes, for each attribute of `spec` in
// its order: the name's bytes and one 0x00, then the value: an integer as int64 little-endian
// (8 bytes), a double as IEEE-754 binary64 little-endian (8 bytes), a string's bytes and one
// 0x00 (doc/formats.md, "Root attribute checksum"). The values are read back from the file, so
// the writer and the reader hash exactly what the file holds.

typedef enum { H5A_INT, H5A_DOUBLE, H5A_STRING } H5AttrKind;
typedef struct { const char *name; H5AttrKind kind; } H5AttrSpec;
#define H5_ATTRS_SHA256 "attrs_sha256"

/* The digest; -1 with a message naming the first missing or mistyped attribute. */
int h5_attrs_digest(hid_t loc, const H5AttrSpec *spec, size_t n, unsigned char md[SHA256_LEN], char *err, size_t errlen);
/* Writes attrs_sha256 on loc (after the attributes). Every rank, with the same values, on a
 * file opened with the MPI-IO driver. 0 / -1. */
int h5_attrs_seal(hid_t loc, const H5AttrSpec *spec, size_t n);
/* 0 when every attribute of spec is present and attrs_sha256 matches; else -1 with a message
 * (without the file's path: callers prefix it). */
int h5_attrs_check(hid_t loc, const H5AttrSpec *spec, size_t n, char *err, size_t errlen);

// ------------------------------------------------------------------------------------------
// Types

/* A new variable-length UTF-8 string type (the caller closes it with H5Tclose). */
hid_t h5_vlen_string_type(void);

#endif
