/* sha256.h: the one SHA-256 of photon (OpenSSL EVP). It names a corpus file's bytes
 * (Document.sha256), the corpus (the data file's corpus_sha256) and every row of every
 * checkpoint dataset (attribute `sha256`). Deterministic, serial, thread-safe; a digest that
 * OpenSSL cannot compute stops the run (PHOTON_FATAL), since nothing could be verified. */
#ifndef PHOTON_SHA256_H
#define PHOTON_SHA256_H

#include <stddef.h>

#define SHA256_LEN 32        // bytes of a digest
#define SHA256_HEX_LEN 64    // characters of its lower-case hex form (without the NUL)

/* The digest of n bytes into md. */
void sha256_digest(const void *data, size_t n, unsigned char md[SHA256_LEN]);
/* md as lower-case hex into hex (NUL-terminated). */
void sha256_to_hex(const unsigned char md[SHA256_LEN], char hex[SHA256_HEX_LEN + 1]);
/* Both: the hex digest of n bytes. */
void sha256_hex(const void *data, size_t n, char hex[SHA256_HEX_LEN + 1]);

/* Streamed: the digest of data given in pieces (a dataset read chunk by chunk), without a copy
 * of the whole. begin, update any number of times, end (which frees the context). */
typedef struct Sha256Stream Sha256Stream;
Sha256Stream *sha256_begin(void);
void sha256_update(Sha256Stream *s, const void *data, size_t n);
void sha256_end_hex(Sha256Stream *s, char hex[SHA256_HEX_LEN + 1]);

#endif
