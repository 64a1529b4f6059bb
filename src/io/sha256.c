/* sha256.c: SHA-256 by OpenSSL's EVP interface (see sha256.h). */
#include "sha256.h"

#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"

void sha256_digest(const void *data, size_t n, unsigned char md[SHA256_LEN])
{
    unsigned int len = 0;
    if (!EVP_Digest(data, n, md, &len, EVP_sha256(), NULL) || len != SHA256_LEN)
        PHOTON_FATAL("EVP_Digest(sha256) failed");
}

void sha256_to_hex(const unsigned char md[SHA256_LEN], char hex[SHA256_HEX_LEN + 1])
{
    for (int i = 0; i < SHA256_LEN; i++) snprintf(hex + 2 * i, 3, "%02x", md[i]);
}

void sha256_hex(const void *data, size_t n, char hex[SHA256_HEX_LEN + 1])
{
    unsigned char md[SHA256_LEN];
    sha256_digest(data, n, md);
    sha256_to_hex(md, hex);
}

struct Sha256Stream { EVP_MD_CTX *ctx; };

Sha256Stream *sha256_begin(void)
{
    Sha256Stream *s = mallocCheck(sizeof *s);
    s->ctx = EVP_MD_CTX_new();
    if (!s->ctx || !EVP_DigestInit_ex(s->ctx, EVP_sha256(), NULL))
        PHOTON_FATAL("EVP_DigestInit_ex(sha256) failed");
    return s;
}

void sha256_update(Sha256Stream *s, const void *data, size_t n)
{
    if (n > 0 && !EVP_DigestUpdate(s->ctx, data, n)) PHOTON_FATAL("EVP_DigestUpdate(sha256) failed");
}

void sha256_end_hex(Sha256Stream *s, char hex[SHA256_HEX_LEN + 1])
{
    unsigned char md[SHA256_LEN];
    unsigned int len = 0;
    if (!EVP_DigestFinal_ex(s->ctx, md, &len) || len != SHA256_LEN)
        PHOTON_FATAL("EVP_DigestFinal_ex(sha256) failed");
    EVP_MD_CTX_free(s->ctx);
    free(s);
    sha256_to_hex(md, hex);
}
