/* datafile.h: the photon data file (HDF5, format "photon-data", version 1), written by
 * `photon prep` and read by `photon info`, the loader, and evaluation. doc/formats.md
 * documents every group, dataset and attribute.
 *
 * Token streams: a silo's (or a source's validation) documents in document order, each one
 * preceded by the end-of-text token, so a stream reads EOT doc EOT doc ... and sampling can
 * start from EOT as training saw documents start. */
#ifndef PHOTON_DATAFILE_H
#define PHOTON_DATAFILE_H

#include <hdf5.h>
#include <stddef.h>
#include <stdint.h>

#include "bpe.h"
#include "corpus.h"
#include "sha256.h"

#define DATAFILE_FORMAT "photon-data"
#define DATAFILE_FORMAT_VERSION 1

// ------------------------------------------------------------------------------------------
// Writing (photon prep)

typedef struct {
    const BPE *bpe;
    const Corpus *corpus;          // documents (path, sha256, source, text length), sources
    const int *doc_silo;           // (num_docs) silo of each document, -1 = validation
    uint32_t *const *doc_ids;      // (num_docs) token ids of each document, without EOT
    const size_t *doc_num_ids;     // (num_docs)
    int num_silos;
    const char *partition;         // e.g. "dirichlet:0.5"
    uint64_t seed;
    double val_fraction;
    const char *prep_command;      // the full command line
} DataFileContents;

// Writes path.tmp.<pid> and renames it to path once complete and closed; on error the
// temporary file is removed and nothing is left at path. 0 / -1 with a message.
int datafile_write(const char *path, const DataFileContents *c, char *err, size_t errlen);

// ------------------------------------------------------------------------------------------
// Reading

typedef struct {
    int format_version, vocab_size, eot_token, num_silos, num_sources;
    char **source_names;            // num_sources
    int64_t *silo_tokens;           // num_silos: tokens in each silo's stream (EOTs included)
    int64_t *val_tokens;            // num_sources: tokens in each validation stream
    char *prep_command;
    // more provenance and statistics
    int64_t num_documents;
    int64_t *silo_documents;        // num_silos
    int64_t *silo_source_tokens;    // (num_silos, num_sources): the silos' source mix
    int64_t *val_documents;         // num_sources
    char *partition, *created, *photon_version, *corpus_sha256;
    uint64_t seed;
    double val_fraction;
    int64_t corpus_bytes;           // bytes of text tokenized (all documents)
} DataInfo;

int datafile_read_info(const char *path, DataInfo *info, char *err, size_t errlen);
void datafile_info_free(DataInfo *info);

// Validation tokens of one source (source >= 0) or of all sources concatenated in source
// order (source = -1), read whole into memory (they are small): returns 0 / -1 with a message.
int datafile_read_validation(const char *path, int source, uint32_t **tokens, size_t *n,
                             char *err, size_t errlen);

// The documents of source `source`'s validation stream: the position of each one's EOT in
// /validation/<source>/tokens (its doc_offsets dataset, as int64), in stream order. 0, or -1
// with a message (missing or unreadable); the caller checks that they fit its stream.
int datafile_read_validation_docs(const char *path, int source, int64_t **offsets, size_t *n, char *err,
                                  size_t errlen);

// The tokenizer stored in the file (for `photon sample` and tests); NULL with a message.
BPE *datafile_read_tokenizer(const char *path, char *err, size_t errlen);
/* The tokenizer of the open data file `path`, checked (bpe_load_h5); NULL with a message naming
 * the file and what is wrong. */
BPE *datafile_load_tokenizer(hid_t file, const char *path, char *err, size_t errlen);

// Opens a photon data file read-only with the given file access property list (H5P_DEFAULT,
// or an MPI-IO one: then collective), after checking that it exists, is HDF5, and has this
// format and version. Returns the file id, or H5I_INVALID_HID with a message naming the file
// and what to do. Call with HDF5's error printing off or on: it prints nothing for user errors.
hid_t datafile_open(const char *path, hid_t fapl, char *err, size_t errlen);

// Reads a whole 1-D integer dataset of tokens (uint16 or uint32 in the file) as uint32.
int datafile_read_token_dataset(hid_t file, const char *name, uint32_t **tokens, size_t *n,
                                char *err, size_t errlen);

// Checks that dataset d (named name in messages) can hold token ids: an integer class (signed
// or unsigned) of at most 4 bytes, rank 1; its length into *n. 0 / -1 with a message.
int datafile_check_token_type(hid_t d, const char *name, hsize_t *n, char *err, size_t errlen);

// ------------------------------------------------------------------------------------------
// Integrity (datafile_verify.c; doc/formats.md, "Checksums")
//
// Every token dataset (/silos/<s>/tokens, /validation/<source>/tokens) and /tokenizer/merges
// carries a string attribute "sha256": the SHA-256 of the dataset's values in storage order,
// each as a 4-byte little-endian integer whatever the width stored (so uint16 and uint32 files
// of the same tokens have the same digest).
#define DATAFILE_SHA256_ATTR "sha256"

// Feeds n 32-bit values (token ids, or merge ids) to s as the checksum defines them.
void datafile_hash_values(Sha256Stream *s, const uint32_t *v, size_t n);

// The content check every reader (train, eval, sample, info) makes on open, after
// datafile_read_info's structural checks. Always: the tokenizer loads (its merges refer to
// defined ids, its vocab_size and eot_token agree with the file's). With verify on, also every
// checksummed dataset against its sha256 attribute and every token id against vocab_size: one
// sequential read of the file in chunks of 1 Mi values (about the speed of the disk, plus
// SHA-256 at several hundred MB/s). verify off: a warning on stderr, "cmd: warning: ...", that
// the contents were not verified. 0 / -1 with a message naming the file, the dataset and the fix.
int datafile_verify(const char *path, int verify, const char *cmd, char *err, size_t errlen);

#endif
