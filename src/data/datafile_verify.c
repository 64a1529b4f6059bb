/* datafile_verify.c: the content check of a photon data file on open (see datafile.h):
 * the tokenizer's structure, then each checksummed dataset's SHA-256 and token ids, streamed
 * in chunks so that a file of any size costs one sequential read and no second copy. */
#include "datafile.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "h5util.h"

#define VERIFY_CHUNK ((size_t)1 << 20)   // values per read: 4 MiB of int32

#define NO_CHECKSUM_FIX "re-run photon prep with this photon to add them, or skip the check " \
                        "with --no-verify (photon train: [data] verify = off)"

void datafile_hash_values(Sha256Stream *s, const uint32_t *v, size_t n)
{
    unsigned char buf[4096];
    size_t at = 0;
    for (size_t i = 0; i < n; i++) {
        buf[at++] = (unsigned char)(v[i] & 0xff);
        buf[at++] = (unsigned char)((v[i] >> 8) & 0xff);
        buf[at++] = (unsigned char)((v[i] >> 16) & 0xff);
        buf[at++] = (unsigned char)((v[i] >> 24) & 0xff);
        if (at == sizeof buf) {
            sha256_update(s, buf, at);
            at = 0;
        }
    }
    sha256_update(s, buf, at);
}

// The stored digest of dataset d, or -1 with a message when it has none or a malformed one.
static int stored_digest(hid_t d, const char *path, const char *name, char hex[SHA256_HEX_LEN + 1],
                         char *err, size_t errlen)
{
    char *s = NULL;
    char msg[256];
    if (H5Aexists(d, DATAFILE_SHA256_ATTR) <= 0 ||
        h5_attr_read_string(d, DATAFILE_SHA256_ATTR, &s, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "%s: dataset %s has no '%s' checksum attribute (the file was "
                 "written by a photon before data checksums): %s", path, name,
                 DATAFILE_SHA256_ATTR, NO_CHECKSUM_FIX);
        return -1;
    }
    int ok = strlen(s) == SHA256_HEX_LEN;
    if (ok) memcpy(hex, s, SHA256_HEX_LEN + 1);
    else snprintf(err, errlen, "%s: dataset %s: its '%s' attribute '%.80s' is not a 64-digit "
                  "hex digest: the file is damaged; re-run photon prep", path, name,
                  DATAFILE_SHA256_ATTR, s);
    free(s);
    return ok ? 0 : -1;
}

static int compare_digest(const char *path, const char *name, const char *stored,
                          const char *computed, char *err, size_t errlen)
{
    if (!strcmp(stored, computed)) return 0;
    snprintf(err, errlen, "%s: dataset %s does not match its checksum (sha256 stored %s, "
             "computed %s): the file is damaged or was modified; re-run photon prep (or, at "
             "your own risk, skip the check with --no-verify / [data] verify = off)", path, name,
             stored, computed);
    return -1;
}

// One token dataset: every id in [0, vocab), and its SHA-256 as stored.
static int verify_tokens(hid_t file, const char *path, const char *name, int vocab, char *err,
                         size_t errlen)
{
    int rc = -1;
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT), space = H5I_INVALID_HID;
    hid_t mem = H5I_INVALID_HID;
    int32_t *buf = NULL;
    Sha256Stream *sha = NULL;
    char stored[SHA256_HEX_LEN + 1], computed[SHA256_HEX_LEN + 1], msg[512];
    hsize_t n = 0;
    if (d < 0) {
        snprintf(err, errlen, "%s: dataset %s is missing: the file is damaged; re-run photon "
                 "prep", path, name);
        goto done;
    }
    if (datafile_check_token_type(d, name, &n, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "%s: %s", path, msg);
        goto done;
    }
    if (stored_digest(d, path, name, stored, err, errlen) < 0) goto done;
    space = H5Dget_space(d);
    buf = mallocCheck(VERIFY_CHUNK * sizeof(int32_t));
    sha = sha256_begin();
    for (hsize_t at = 0; at < n; at += VERIFY_CHUNK) {
        hsize_t count[1] = { n - at < VERIFY_CHUNK ? n - at : VERIFY_CHUNK }, start[1] = { at };
        if (mem >= 0) H5Sclose(mem);
        mem = H5Screate_simple(1, count, NULL);
        // Read as int32: a negative id in a signed dataset stays negative (and is refused); an
        // unsigned one above INT32_MAX is clipped by HDF5 to INT32_MAX (and is refused too).
        if (H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) < 0 ||
            H5Dread(d, H5T_NATIVE_INT32, mem, space, H5P_DEFAULT, buf) < 0) {
            snprintf(err, errlen, "%s: cannot read dataset %s at %llu: the file is damaged; "
                     "re-run photon prep", path, name, (unsigned long long)at);
            goto done;
        }
        for (hsize_t i = 0; i < count[0]; i++)
            if (buf[i] < 0 || buf[i] >= vocab) {
                snprintf(err, errlen, "%s: dataset %s: token %llu is %d, outside the vocabulary "
                         "0..%d (vocab_size %d): the file is damaged; re-run photon prep", path,
                         name, (unsigned long long)(at + i), buf[i], vocab - 1, vocab);
                goto done;
            }
        datafile_hash_values(sha, (const uint32_t *)buf, count[0]);
    }
    sha256_end_hex(sha, computed);
    sha = NULL;
    rc = compare_digest(path, name, stored, computed, err, errlen);
done:
    if (sha) sha256_end_hex(sha, computed);
    free(buf);
    if (mem >= 0) H5Sclose(mem);
    if (space >= 0) H5Sclose(space);
    if (d >= 0) H5Dclose(d);
    return rc;
}

// /tokenizer/merges (small: at most 65279 pairs) against its checksum.
static int verify_merges(hid_t file, const char *path, char *err, size_t errlen)
{
    const char *name = "/tokenizer/merges";
    int rc = -1;
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT), space = H5I_INVALID_HID;
    int32_t *buf = NULL;
    char stored[SHA256_HEX_LEN + 1], computed[SHA256_HEX_LEN + 1];
    if (d < 0) {
        snprintf(err, errlen, "%s: dataset %s is missing: re-run photon prep", path, name);
        goto done;
    }
    if (stored_digest(d, path, name, stored, err, errlen) < 0) goto done;
    space = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(space);   // bpe_load_h5 checked (M, 2)
    buf = mallocCheck((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
    if (n > 0 && H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) {
        snprintf(err, errlen, "%s: cannot read dataset %s: re-run photon prep", path, name);
        goto done;
    }
    Sha256Stream *sha = sha256_begin();
    datafile_hash_values(sha, (const uint32_t *)buf, (size_t)(n > 0 ? n : 0));
    sha256_end_hex(sha, computed);
    rc = compare_digest(path, name, stored, computed, err, errlen);
done:
    free(buf);
    if (space >= 0) H5Sclose(space);
    if (d >= 0) H5Dclose(d);
    return rc;
}

int datafile_verify(const char *path, int verify, const char *cmd, char *err, size_t errlen)
{
    DataInfo info;
    if (datafile_read_info(path, &info, err, errlen) != 0) return -1;
    int rc = -1;
    hid_t file = datafile_open(path, H5P_DEFAULT, err, errlen);
    if (file < 0) goto done_info;
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    BPE *bpe = datafile_load_tokenizer(file, path, err, errlen);
    if (!bpe) goto done;
    if (bpe_vocab_size(bpe) != info.vocab_size || bpe_eot(bpe) != info.eot_token) {
        snprintf(err, errlen, "%s: the tokenizer has vocabulary %d (end-of-text %d) but the file "
                 "says vocab_size %d (eot_token %d): the file is damaged; re-run photon prep",
                 path, bpe_vocab_size(bpe), bpe_eot(bpe), info.vocab_size, info.eot_token);
        bpe_free(bpe);
        goto done;
    }
    bpe_free(bpe);
    if (!verify) {
        fprintf(stderr, "%s: warning: %s: checksums and token ids not verified (--no-verify or "
                "[data] verify = off); a damaged file may train on wrong data or stop mid-run\n",
                cmd, path);
        rc = 0;
        goto done;
    }
    if (verify_merges(file, path, err, errlen) < 0) goto done;
    for (int s = 0; s < info.num_silos + info.num_sources; s++) {
        char name[1024];
        if (s < info.num_silos) snprintf(name, sizeof name, "/silos/%d/tokens", s);
        else snprintf(name, sizeof name, "/validation/%s/tokens",
                      info.source_names[s - info.num_silos]);
        if (verify_tokens(file, path, name, info.vocab_size, err, errlen) < 0) goto done;
    }
    rc = 0;
done:
    H5Fclose(file);
    h5_quiet_end(&quiet);
done_info:
    datafile_info_free(&info);
    return rc;
}
