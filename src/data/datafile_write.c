/* datafile_write.c: `photon prep`'s writer of the photon data file (see datafile.h; every
 * group, dataset and attribute is in doc/formats.md). */
#include "datafile.h"

#include "config.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "h5util.h"
#include "partition.h"
#include "sha256.h"

// A 1-D dataset of n elements written from buf (contiguous, so that MPI-IO reads any part).
static int write_dataset_1d(hid_t loc, const char *name, hid_t ftype, hid_t mtype, size_t n,
                            const void *buf)
{
    hsize_t dims[1] = { n };
    hid_t space = H5Screate_simple(1, dims, NULL);
    hid_t d = H5Dcreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    int rc = -1;
    if (d < 0) goto done;
    if (n > 0 && H5Dwrite(d, mtype, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) goto done;
    rc = 0;
done:
    if (d >= 0) H5Dclose(d);
    H5Sclose(space);
    return rc;
}

static int compare_strings(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

// SHA-256 over the sorted hex digests of the documents' files, one per line: names the corpus
// content whatever its paths and order.
static void corpus_digest(const Corpus *c, char hex[65])
{
    char **d = mallocCheck((size_t)c->num_docs * sizeof(char *));
    for (int i = 0; i < c->num_docs; i++) d[i] = (char *)c->docs[i].sha256;
    qsort(d, (size_t)c->num_docs, sizeof(char *), compare_strings);
    char *all = mallocCheck((size_t)c->num_docs * 65 + 1);
    for (int i = 0; i < c->num_docs; i++) {
        memcpy(all + 65 * (size_t)i, d[i], 64);
        all[65 * (size_t)i + 64] = '\n';
    }
    sha256_hex(all, (size_t)c->num_docs * 65, hex);
    free(all);
    free(d);
}

// The checksum attribute of dataset name in loc (see datafile.h, DATAFILE_SHA256_ATTR).
static int set_digest(hid_t loc, const char *name, const char *digest)
{
    hid_t d = H5Dopen2(loc, name, H5P_DEFAULT);
    if (d < 0) return -1;
    int rc = h5_attr_write_string(d, DATAFILE_SHA256_ATTR, digest);
    H5Dclose(d);
    return rc;
}

// /tokenizer/merges as bpe_save_h5 wrote it, read back (at most 65279 pairs) and hashed.
static int set_merges_digest(hid_t tokenizer)
{
    hid_t d = H5Dopen2(tokenizer, "merges", H5P_DEFAULT);
    if (d < 0) return -1;
    hid_t space = H5Dget_space(d);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5Sclose(space);
    int32_t *buf = mallocCheck((size_t)(n > 0 ? n : 1) * sizeof(int32_t));
    int rc = -1;
    if (n > 0 && H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, buf) < 0) goto done;
    char digest[SHA256_HEX_LEN + 1];
    Sha256Stream *sha = sha256_begin();
    datafile_hash_values(sha, (const uint32_t *)buf, (size_t)(n > 0 ? n : 0));
    sha256_end_hex(sha, digest);
    rc = h5_attr_write_string(d, DATAFILE_SHA256_ATTR, digest);
done:
    free(buf);
    H5Dclose(d);
    return rc;
}

// One token stream (a silo, or a source's validation documents): the selected documents in
// document order, each preceded by EOT, with their offsets and indices.
static int write_stream(hid_t group, const DataFileContents *c, int silo, int source,
                        int64_t *doc_offset)
{
    const Corpus *corpus = c->corpus;
    int K = corpus->num_sources;
    size_t ntok = 0, ndoc = 0;
    for (int i = 0; i < corpus->num_docs; i++) {
        if (c->doc_silo[i] != silo || (source >= 0 && corpus->docs[i].source != source)) continue;
        ntok += 1 + c->doc_num_ids[i];
        ndoc++;
    }
    uint32_t *tokens = mallocCheck((ntok ? ntok : 1) * sizeof(uint32_t));
    int64_t *offsets = mallocCheck((ndoc ? ndoc : 1) * sizeof(int64_t));
    int32_t *docs = mallocCheck((ndoc ? ndoc : 1) * sizeof(int32_t));
    int64_t *source_tokens = callocCheck((size_t)K, sizeof(int64_t));
    size_t at = 0, k = 0;
    uint32_t eot = (uint32_t)bpe_eot(c->bpe);
    for (int i = 0; i < corpus->num_docs; i++) {
        if (c->doc_silo[i] != silo || (source >= 0 && corpus->docs[i].source != source)) continue;
        offsets[k] = (int64_t)at;
        docs[k++] = i;
        doc_offset[i] = (int64_t)at;
        tokens[at++] = eot;
        memcpy(tokens + at, c->doc_ids[i], c->doc_num_ids[i] * sizeof(uint32_t));
        at += c->doc_num_ids[i];
        source_tokens[corpus->docs[i].source] += 1 + (int64_t)c->doc_num_ids[i];
    }
    hid_t ftype = bpe_vocab_size(c->bpe) <= 65536 ? H5T_STD_U16LE : H5T_STD_U32LE;
    int rc = -1;
    char digest[SHA256_HEX_LEN + 1];
    Sha256Stream *sha = sha256_begin();
    datafile_hash_values(sha, tokens, ntok);
    sha256_end_hex(sha, digest);
    if (write_dataset_1d(group, "tokens", ftype, H5T_NATIVE_UINT32, ntok, tokens) < 0 ||
        set_digest(group, "tokens", digest) < 0 ||
        write_dataset_1d(group, "doc_offsets", H5T_STD_I64LE, H5T_NATIVE_INT64, ndoc, offsets) < 0 ||
        write_dataset_1d(group, "documents", H5T_STD_I32LE, H5T_NATIVE_INT32, ndoc, docs) < 0 ||
        h5_attr_write_int(group, "num_tokens", (int64_t)ntok) < 0 ||
        h5_attr_write_int(group, "num_documents", (int64_t)ndoc) < 0 ||
        h5_attr_write_int64s(group, "source_tokens", source_tokens, (size_t)K) < 0)
        goto done;
    rc = 0;
done:
    free(tokens);
    free(offsets);
    free(docs);
    free(source_tokens);
    return rc;
}

static int write_contents(hid_t file, const DataFileContents *c)
{
    const Corpus *corpus = c->corpus;
    int D = corpus->num_docs, K = corpus->num_sources;
    int rc = -1;
    hid_t g = H5I_INVALID_HID, sub = H5I_INVALID_HID, strtype = h5_vlen_string_type();
    hid_t hextype = H5Tcopy(H5T_C_S1);
    H5Tset_size(hextype, 64);
    H5Tset_strpad(hextype, H5T_STR_NULLPAD);
    char **paths = mallocCheck((size_t)D * sizeof(char *));
    char *hashes = mallocCheck((size_t)D * 64);
    int32_t *source = mallocCheck((size_t)D * sizeof(int32_t));
    int64_t *tokens = mallocCheck((size_t)D * sizeof(int64_t));
    int64_t *bytes = mallocCheck((size_t)D * sizeof(int64_t));
    int64_t *offset = mallocCheck((size_t)D * sizeof(int64_t));
    int64_t *src_docs = callocCheck((size_t)K, sizeof(int64_t));
    int64_t corpus_bytes = 0;
    for (int i = 0; i < D; i++) {
        paths[i] = corpus->docs[i].path;
        memcpy(hashes + 64 * (size_t)i, corpus->docs[i].sha256, 64);
        source[i] = corpus->docs[i].source;
        tokens[i] = (int64_t)c->doc_num_ids[i];
        bytes[i] = (int64_t)corpus->docs[i].len;
        corpus_bytes += bytes[i];
        src_docs[corpus->docs[i].source]++;
    }

    // root attributes
    char created[32], digest[65];
    time_t now = time(NULL);
    strftime(created, sizeof created, "%Y-%m-%dT%H:%M:%SZ", gmtime(&now));
    corpus_digest(corpus, digest);
    if (h5_attr_write_string(file, "format", DATAFILE_FORMAT) < 0 ||
        h5_attr_write_int(file, "format_version", DATAFILE_FORMAT_VERSION) < 0 ||
        h5_attr_write_int(file, "vocab_size", bpe_vocab_size(c->bpe)) < 0 ||
        h5_attr_write_int(file, "eot_token", bpe_eot(c->bpe)) < 0 ||
        h5_attr_write_int(file, "num_silos", c->num_silos) < 0 ||
        h5_attr_write_int(file, "num_sources", K) < 0 ||
        h5_attr_write_int(file, "num_documents", D) < 0 ||
        h5_attr_write_string(file, "partition", c->partition) < 0 ||
        h5_attr_write_uint(file, "seed", c->seed) < 0 ||
        h5_attr_write_double(file, "val_fraction", c->val_fraction) < 0 ||
        h5_attr_write_string(file, "prep_command", c->prep_command) < 0 ||
        h5_attr_write_string(file, "created", created) < 0 ||
        h5_attr_write_string(file, "photon_version", PACKAGE_VERSION) < 0 ||
        h5_attr_write_string(file, "corpus_sha256", digest) < 0 ||
        h5_attr_write_int(file, "corpus_bytes", corpus_bytes) < 0)
        goto done;

    // /tokenizer
    if ((g = H5Gcreate2(file, "tokenizer", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto done;
    if (bpe_save_h5(c->bpe, g) < 0 || set_merges_digest(g) < 0) goto done;
    H5Gclose(g);

    // /silos/<s> and /validation/<source>: these also fill offset[] for /documents
    if ((g = H5Gcreate2(file, "silos", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto done;
    for (int s = 0; s < c->num_silos; s++) {
        char name[32];
        snprintf(name, sizeof name, "%d", s);
        if ((sub = H5Gcreate2(g, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto done;
        if (write_stream(sub, c, s, -1, offset) < 0) goto done;
        H5Gclose(sub);
        sub = H5I_INVALID_HID;
    }
    H5Gclose(g);
    int64_t *val_tokens = callocCheck((size_t)K, sizeof(int64_t));
    int64_t *val_docs = callocCheck((size_t)K, sizeof(int64_t));
    int64_t *train_tokens = callocCheck((size_t)K, sizeof(int64_t));
    for (int i = 0; i < D; i++) {
        int64_t *t = c->doc_silo[i] < 0 ? val_tokens : train_tokens;
        t[source[i]] += 1 + tokens[i];
        if (c->doc_silo[i] < 0) val_docs[source[i]]++;
    }
    int ok = (g = H5Gcreate2(file, "validation", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0;
    for (int k = 0; ok && k < K; k++) {
        ok = (sub = H5Gcreate2(g, corpus->source_names[k], H5P_DEFAULT, H5P_DEFAULT,
                               H5P_DEFAULT)) >= 0 &&
             write_stream(sub, c, PARTITION_VALIDATION, k, offset) == 0 &&
             h5_attr_write_int(sub, "source", k) == 0;
        if (sub >= 0) H5Gclose(sub);
        sub = H5I_INVALID_HID;
    }
    if (g >= 0) H5Gclose(g);
    g = H5I_INVALID_HID;

    // /sources
    ok = ok && (g = H5Gcreate2(file, "sources", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) >= 0 &&
         write_dataset_1d(g, "names", strtype, strtype, (size_t)K, corpus->source_names) == 0 &&
         write_dataset_1d(g, "documents", H5T_STD_I64LE, H5T_NATIVE_INT64, (size_t)K, src_docs) == 0 &&
         write_dataset_1d(g, "train_tokens", H5T_STD_I64LE, H5T_NATIVE_INT64, (size_t)K,
                          train_tokens) == 0 &&
         write_dataset_1d(g, "val_tokens", H5T_STD_I64LE, H5T_NATIVE_INT64, (size_t)K,
                          val_tokens) == 0 &&
         write_dataset_1d(g, "val_documents", H5T_STD_I64LE, H5T_NATIVE_INT64, (size_t)K,
                          val_docs) == 0;
    free(val_tokens);
    free(val_docs);
    free(train_tokens);
    if (g >= 0) H5Gclose(g);
    g = H5I_INVALID_HID;
    if (!ok) goto done;

    // /documents
    if ((g = H5Gcreate2(file, "documents", H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto done;
    if (write_dataset_1d(g, "path", strtype, strtype, (size_t)D, paths) < 0 ||
        write_dataset_1d(g, "sha256", hextype, hextype, (size_t)D, hashes) < 0 ||
        write_dataset_1d(g, "source", H5T_STD_I32LE, H5T_NATIVE_INT32, (size_t)D, source) < 0 ||
        write_dataset_1d(g, "silo", H5T_STD_I32LE, H5T_NATIVE_INT32, (size_t)D, c->doc_silo) < 0 ||
        write_dataset_1d(g, "tokens", H5T_STD_I64LE, H5T_NATIVE_INT64, (size_t)D, tokens) < 0 ||
        write_dataset_1d(g, "text_bytes", H5T_STD_I64LE, H5T_NATIVE_INT64, (size_t)D, bytes) < 0 ||
        write_dataset_1d(g, "offset", H5T_STD_I64LE, H5T_NATIVE_INT64, (size_t)D, offset) < 0)
        goto done;
    rc = 0;
done:
    if (sub >= 0) H5Gclose(sub);
    if (g >= 0) H5Gclose(g);
    H5Tclose(strtype);
    H5Tclose(hextype);
    free(paths);
    free(hashes);
    free(source);
    free(tokens);
    free(bytes);
    free(offset);
    free(src_docs);
    return rc;
}

int datafile_write(const char *path, const DataFileContents *c, char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp.%ld", path, (long)getpid());
    for (int k = 0; k < c->corpus->num_sources; k++) {
        const char *n = c->corpus->source_names[k];
        if (!n[0] || strchr(n, '/') || !strcmp(n, ".") || !strcmp(n, "..")) {
            snprintf(err, errlen, "source name '%s' cannot name an HDF5 group: rename its "
                     "directory or label it in a --source-map", n);
            return -1;
        }
    }
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    int rc = -1;
    errno = 0;
    hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) {
        snprintf(err, errlen, "cannot create %s: %s (check that its directory exists and is "
                 "writable)", tmp, errno ? strerror(errno) : "HDF5 create failed");
        goto done;
    }
    int wrote = write_contents(file, c);
    if (H5Fclose(file) < 0 || wrote != 0) {
        snprintf(err, errlen, "writing %s failed (disk full?); nothing was written to %s", tmp,
                 path);
        unlink(tmp);
        goto done;
    }
    if (rename(tmp, path) != 0) {
        snprintf(err, errlen, "cannot rename %s to %s: %s", tmp, path, strerror(errno));
        unlink(tmp);
        goto done;
    }
    rc = 0;
done:
    h5_quiet_end(&quiet);
    return rc;
}
