/* datafile.c: writing and reading the photon data file (see datafile.h, doc/formats.md). */
#include "datafile.h"

#include "config.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "partition.h"

// ------------------------------------------------------------------------------------------
// HDF5 helpers

// Reading user files must not spray HDF5's error stack on stderr: our messages say what is
// wrong. ErrorsOff saves the automatic error printing and turns it off until restored.
typedef struct { H5E_auto2_t func; void *data; } ErrorsOff;

static void errors_off(ErrorsOff *e)
{
    H5Eget_auto2(H5E_DEFAULT, &e->func, &e->data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

static void errors_restore(const ErrorsOff *e)
{
    H5Eset_auto2(H5E_DEFAULT, e->func, e->data);
}

static void object_name(hid_t loc, char *buf, size_t n)
{
    if (H5Iget_name(loc, buf, n) <= 0) snprintf(buf, n, "?");
}

static int attr_write(hid_t loc, const char *name, hid_t ftype, hid_t mtype, hid_t space,
                      const void *buf)
{
    hid_t a = H5Acreate2(loc, name, ftype, space, H5P_DEFAULT, H5P_DEFAULT);
    if (a < 0) return -1;
    herr_t rc = H5Awrite(a, mtype, buf);
    H5Aclose(a);
    return rc < 0 ? -1 : 0;
}

static int attr_write_scalar(hid_t loc, const char *name, hid_t ftype, hid_t mtype,
                             const void *buf)
{
    hid_t space = H5Screate(H5S_SCALAR);
    int rc = attr_write(loc, name, ftype, mtype, space, buf);
    H5Sclose(space);
    return rc;
}

int h5_attr_write_int(hid_t loc, const char *name, int64_t v)
{
    return attr_write_scalar(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, &v);
}

int h5_attr_write_uint(hid_t loc, const char *name, uint64_t v)
{
    return attr_write_scalar(loc, name, H5T_STD_U64LE, H5T_NATIVE_UINT64, &v);
}

int h5_attr_write_double(hid_t loc, const char *name, double v)
{
    return attr_write_scalar(loc, name, H5T_IEEE_F64LE, H5T_NATIVE_DOUBLE, &v);
}

// Variable-length UTF-8 strings: h5py reads them as str, h5dump shows them as text.
int h5_attr_write_string(hid_t loc, const char *name, const char *s)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    int rc = attr_write_scalar(loc, name, t, t, &s);
    H5Tclose(t);
    return rc;
}

int h5_attr_write_int64s(hid_t loc, const char *name, const int64_t *v, size_t n)
{
    hsize_t dims[1] = { n };
    hid_t space = H5Screate_simple(1, dims, NULL);
    int rc = attr_write(loc, name, H5T_STD_I64LE, H5T_NATIVE_INT64, space, v);
    H5Sclose(space);
    return rc;
}

static hid_t attr_open(hid_t loc, const char *name, char *err, size_t errlen)
{
    char where[256];
    if (H5Aexists(loc, name) <= 0) {
        object_name(loc, where, sizeof where);
        snprintf(err, errlen, "attribute '%s' of %s is missing", name, where);
        return H5I_INVALID_HID;
    }
    hid_t a = H5Aopen(loc, name, H5P_DEFAULT);
    if (a < 0) {
        object_name(loc, where, sizeof where);
        snprintf(err, errlen, "cannot open attribute '%s' of %s", name, where);
    }
    return a;
}

static int attr_read_number(hid_t loc, const char *name, H5T_class_t cls, hid_t mtype,
                            size_t count, void *out, char *err, size_t errlen)
{
    char where[256];
    hid_t a = attr_open(loc, name, err, errlen);
    if (a < 0) return -1;
    int rc = -1;
    hid_t t = H5Aget_type(a), space = H5Aget_space(a);
    hssize_t n = H5Sget_simple_extent_npoints(space);
    H5T_class_t c = H5Tget_class(t);
    int ok_class = c == cls || (cls == H5T_FLOAT && c == H5T_INTEGER);
    if (!ok_class || n != (hssize_t)count || H5Aread(a, mtype, out) < 0) {
        object_name(loc, where, sizeof where);
        snprintf(err, errlen, "attribute '%s' of %s is not %zu %s", name, where, count,
                 cls == H5T_INTEGER ? "integer(s)" : "number(s)");
        goto done;
    }
    rc = 0;
done:
    H5Tclose(t);
    H5Sclose(space);
    H5Aclose(a);
    return rc;
}

int h5_attr_read_int(hid_t loc, const char *name, int64_t *v, char *err, size_t errlen)
{
    return attr_read_number(loc, name, H5T_INTEGER, H5T_NATIVE_INT64, 1, v, err, errlen);
}

int h5_attr_read_uint(hid_t loc, const char *name, uint64_t *v, char *err, size_t errlen)
{
    return attr_read_number(loc, name, H5T_INTEGER, H5T_NATIVE_UINT64, 1, v, err, errlen);
}

int h5_attr_read_double(hid_t loc, const char *name, double *v, char *err, size_t errlen)
{
    return attr_read_number(loc, name, H5T_FLOAT, H5T_NATIVE_DOUBLE, 1, v, err, errlen);
}

int h5_attr_read_int64s(hid_t loc, const char *name, int64_t *v, size_t n, char *err,
                        size_t errlen)
{
    return attr_read_number(loc, name, H5T_INTEGER, H5T_NATIVE_INT64, n, v, err, errlen);
}

int h5_attr_read_string(hid_t loc, const char *name, char **s, char *err, size_t errlen)
{
    char where[256];
    *s = NULL;
    hid_t a = attr_open(loc, name, err, errlen);
    if (a < 0) return -1;
    int rc = -1;
    hid_t t = H5Aget_type(a), mt = H5I_INVALID_HID;
    if (H5Tget_class(t) != H5T_STRING) {
        object_name(loc, where, sizeof where);
        snprintf(err, errlen, "attribute '%s' of %s is not a string", name, where);
        goto done;
    }
    mt = H5Tcopy(t);
    if (H5Tis_variable_str(t) > 0) {
        char *p = NULL;
        if (H5Aread(a, mt, &p) < 0 || !p) goto read_failed;
        *s = strdup(p);
        H5free_memory(p);
    } else {
        size_t n = H5Tget_size(t);
        char *buf = callocCheck(n + 1, 1);
        if (H5Aread(a, mt, buf) < 0) {
            free(buf);
            goto read_failed;
        }
        *s = buf;
    }
    rc = 0;
    goto done;
read_failed:
    object_name(loc, where, sizeof where);
    snprintf(err, errlen, "cannot read string attribute '%s' of %s", name, where);
done:
    if (mt >= 0) H5Tclose(mt);
    H5Tclose(t);
    H5Aclose(a);
    return rc;
}

int h5_attr_write_fixed_string(hid_t loc, const char *name, const char *s)
{
    int rc = -1;
    hid_t t = H5Tcopy(H5T_C_S1), space = H5Screate(H5S_SCALAR), a = H5I_INVALID_HID;
    if (H5Tset_size(t, strlen(s) + 1) < 0) goto done;
    if ((a = H5Acreate2(loc, name, t, space, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto done;
    if (H5Awrite(a, t, s) < 0) goto done;
    rc = 0;
done:
    if (a >= 0) H5Aclose(a);
    H5Sclose(space);
    H5Tclose(t);
    return rc;
}

static hid_t vlen_string_type(void)
{
    hid_t t = H5Tcopy(H5T_C_S1);
    H5Tset_size(t, H5T_VARIABLE);
    H5Tset_cset(t, H5T_CSET_UTF8);
    return t;
}

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

// ------------------------------------------------------------------------------------------
// Writing

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
    if (write_dataset_1d(group, "tokens", ftype, H5T_NATIVE_UINT32, ntok, tokens) < 0 ||
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
    hid_t g = H5I_INVALID_HID, sub = H5I_INVALID_HID, strtype = vlen_string_type();
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
    if (bpe_save_h5(c->bpe, g) < 0) goto done;
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
    ErrorsOff eo;
    errors_off(&eo);
    int rc = -1;
    hid_t file = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (file < 0) {
        snprintf(err, errlen, "cannot create %s: check that its directory exists and is "
                 "writable", tmp);
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
    errors_restore(&eo);
    return rc;
}

// ------------------------------------------------------------------------------------------
// Reading

hid_t datafile_open(const char *path, hid_t fapl, char *err, size_t errlen)
{
    struct stat st;
    if (stat(path, &st) != 0) {
        snprintf(err, errlen, "%s: %s (make a data file with photon prep)", path, strerror(errno));
        return H5I_INVALID_HID;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is a directory, not a photon data file (make one with "
                 "photon prep)", path);
        return H5I_INVALID_HID;
    }
    ErrorsOff eo;
    errors_off(&eo);
    hid_t file = H5I_INVALID_HID;
    char *format = NULL;
    int64_t version = 0;
    char msg[512];
    if (H5Fis_hdf5(path) <= 0) {
        snprintf(err, errlen, "%s is not an HDF5 file: give a data file written by photon prep",
                 path);
        goto fail;
    }
    file = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (file < 0) {
        snprintf(err, errlen, "cannot open %s with HDF5 (unreadable, or damaged)", path);
        goto fail;
    }
    if (h5_attr_read_string(file, "format", &format, msg, sizeof msg) < 0 ||
        strcmp(format, DATAFILE_FORMAT) != 0) {
        snprintf(err, errlen, "%s is an HDF5 file but not a photon data file (its 'format' "
                 "attribute is %s%s%s, not '%s'): give a file written by photon prep", path,
                 format ? "'" : "", format ? format : "missing", format ? "'" : "",
                 DATAFILE_FORMAT);
        goto fail;
    }
    if (h5_attr_read_int(file, "format_version", &version, msg, sizeof msg) < 0) {
        snprintf(err, errlen, "%s: %s: the file is damaged; re-run photon prep", path, msg);
        goto fail;
    }
    if (version != DATAFILE_FORMAT_VERSION) {
        snprintf(err, errlen, "%s has photon-data format version %lld; this photon reads version "
                 "%d: re-run photon prep with this photon to rebuild it", path, (long long)version,
                 DATAFILE_FORMAT_VERSION);
        goto fail;
    }
    free(format);
    errors_restore(&eo);
    return file;
fail:
    free(format);
    if (file >= 0) H5Fclose(file);
    errors_restore(&eo);
    return H5I_INVALID_HID;
}

int datafile_read_token_dataset(hid_t file, const char *name, uint32_t **tokens, size_t *n,
                                char *err, size_t errlen)
{
    *tokens = NULL;
    *n = 0;
    ErrorsOff eo;
    errors_off(&eo);
    int rc = -1;
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT), space = H5I_INVALID_HID, t = H5I_INVALID_HID;
    if (d < 0) {
        snprintf(err, errlen, "dataset %s is missing", name);
        goto done;
    }
    space = H5Dget_space(d);
    t = H5Dget_type(d);
    hsize_t dims[1] = { 0 };
    if (H5Sget_simple_extent_ndims(space) != 1 || H5Tget_class(t) != H5T_INTEGER) {
        snprintf(err, errlen, "dataset %s is not a 1-D array of token ids", name);
        goto done;
    }
    H5Sget_simple_extent_dims(space, dims, NULL);
    *tokens = mallocCheck((dims[0] ? dims[0] : 1) * sizeof(uint32_t));
    if (dims[0] > 0 && H5Dread(d, H5T_NATIVE_UINT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, *tokens) < 0) {
        snprintf(err, errlen, "cannot read dataset %s", name);
        free(*tokens);
        *tokens = NULL;
        goto done;
    }
    *n = dims[0];
    rc = 0;
done:
    if (t >= 0) H5Tclose(t);
    if (space >= 0) H5Sclose(space);
    if (d >= 0) H5Dclose(d);
    errors_restore(&eo);
    return rc;
}

// The source names, from /sources/names (variable-length strings).
static int read_source_names(hid_t file, int K, char ***names, char *err, size_t errlen)
{
    *names = callocCheck((size_t)(K ? K : 1), sizeof(char *));
    int rc = -1;
    hid_t d = H5Dopen2(file, "/sources/names", H5P_DEFAULT), space = H5I_INVALID_HID;
    hid_t t = vlen_string_type();
    if (d < 0) {
        snprintf(err, errlen, "dataset /sources/names is missing");
        goto done;
    }
    space = H5Dget_space(d);
    if (H5Sget_simple_extent_npoints(space) != K) {
        snprintf(err, errlen, "/sources/names has %lld names, the num_sources attribute says %d",
                 (long long)H5Sget_simple_extent_npoints(space), K);
        goto done;
    }
    char **raw = callocCheck((size_t)(K ? K : 1), sizeof(char *));
    if (K > 0 && H5Dread(d, t, H5S_ALL, H5S_ALL, H5P_DEFAULT, raw) < 0) {
        snprintf(err, errlen, "cannot read /sources/names");
        free(raw);
        goto done;
    }
    for (int k = 0; k < K; k++) (*names)[k] = strdup(raw[k] ? raw[k] : "");
    if (K > 0) H5Dvlen_reclaim(t, space, H5P_DEFAULT, raw);
    free(raw);
    rc = 0;
done:
    H5Tclose(t);
    if (space >= 0) H5Sclose(space);
    if (d >= 0) H5Dclose(d);
    return rc;
}

static int read_info(hid_t file, DataInfo *info, char *err, size_t errlen)
{
    int64_t v = 0;
    if (h5_attr_read_int(file, "format_version", &v, err, errlen) < 0) return -1;
    info->format_version = (int)v;
    if (h5_attr_read_int(file, "vocab_size", &v, err, errlen) < 0) return -1;
    info->vocab_size = (int)v;
    if (h5_attr_read_int(file, "eot_token", &v, err, errlen) < 0) return -1;
    info->eot_token = (int)v;
    if (h5_attr_read_int(file, "num_silos", &v, err, errlen) < 0) return -1;
    if (v < 1 || v > 1000000) {
        snprintf(err, errlen, "attribute num_silos = %lld is out of range", (long long)v);
        return -1;
    }
    info->num_silos = (int)v;
    if (h5_attr_read_int(file, "num_sources", &v, err, errlen) < 0) return -1;
    if (v < 1 || v > 1000000) {
        snprintf(err, errlen, "attribute num_sources = %lld is out of range", (long long)v);
        return -1;
    }
    info->num_sources = (int)v;
    if (h5_attr_read_int(file, "num_documents", &info->num_documents, err, errlen) < 0 ||
        h5_attr_read_int(file, "corpus_bytes", &info->corpus_bytes, err, errlen) < 0 ||
        h5_attr_read_uint(file, "seed", &info->seed, err, errlen) < 0 ||
        h5_attr_read_double(file, "val_fraction", &info->val_fraction, err, errlen) < 0 ||
        h5_attr_read_string(file, "prep_command", &info->prep_command, err, errlen) < 0 ||
        h5_attr_read_string(file, "partition", &info->partition, err, errlen) < 0 ||
        h5_attr_read_string(file, "created", &info->created, err, errlen) < 0 ||
        h5_attr_read_string(file, "photon_version", &info->photon_version, err, errlen) < 0 ||
        h5_attr_read_string(file, "corpus_sha256", &info->corpus_sha256, err, errlen) < 0)
        return -1;
    int S = info->num_silos, K = info->num_sources;
    if (read_source_names(file, K, &info->source_names, err, errlen) < 0) return -1;
    info->silo_tokens = callocCheck((size_t)S, sizeof(int64_t));
    info->silo_documents = callocCheck((size_t)S, sizeof(int64_t));
    info->silo_source_tokens = callocCheck((size_t)S * (size_t)K, sizeof(int64_t));
    info->val_tokens = callocCheck((size_t)K, sizeof(int64_t));
    info->val_documents = callocCheck((size_t)K, sizeof(int64_t));
    for (int s = 0; s < S + K; s++) {
        char name[1024];
        if (s < S) snprintf(name, sizeof name, "/silos/%d", s);
        else snprintf(name, sizeof name, "/validation/%s", info->source_names[s - S]);
        hid_t g = H5Gopen2(file, name, H5P_DEFAULT);
        if (g < 0) {
            snprintf(err, errlen, "group %s is missing", name);
            return -1;
        }
        int rc = s < S
                     ? h5_attr_read_int(g, "num_tokens", &info->silo_tokens[s], err, errlen) ||
                           h5_attr_read_int(g, "num_documents", &info->silo_documents[s], err,
                                            errlen) ||
                           h5_attr_read_int64s(g, "source_tokens",
                                               info->silo_source_tokens + (size_t)s * K,
                                               (size_t)K, err, errlen)
                     : h5_attr_read_int(g, "num_tokens", &info->val_tokens[s - S], err,
                                        errlen) ||
                           h5_attr_read_int(g, "num_documents", &info->val_documents[s - S],
                                            err, errlen);
        H5Gclose(g);
        if (rc != 0) return -1;
    }
    return 0;
}

int datafile_read_info(const char *path, DataInfo *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    hid_t file = datafile_open(path, H5P_DEFAULT, err, errlen);
    if (file < 0) return -1;
    ErrorsOff eo;
    errors_off(&eo);
    char msg[1536];
    int rc = read_info(file, info, msg, sizeof msg);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s: the file is damaged or incomplete; re-run photon prep",
                 path, msg);
        datafile_info_free(info);
    }
    H5Fclose(file);
    errors_restore(&eo);
    return rc;
}

void datafile_info_free(DataInfo *info)
{
    if (info->source_names)
        for (int k = 0; k < info->num_sources; k++) free(info->source_names[k]);
    free(info->source_names);
    free(info->silo_tokens);
    free(info->val_tokens);
    free(info->prep_command);
    free(info->silo_documents);
    free(info->silo_source_tokens);
    free(info->val_documents);
    free(info->partition);
    free(info->created);
    free(info->photon_version);
    free(info->corpus_sha256);
    memset(info, 0, sizeof *info);
}

int datafile_read_validation(const char *path, int source, uint32_t **tokens, size_t *n,
                             char *err, size_t errlen)
{
    *tokens = NULL;
    *n = 0;
    DataInfo info;
    if (datafile_read_info(path, &info, err, errlen) != 0) return -1;
    int rc = -1;
    hid_t file = H5I_INVALID_HID;
    if (source < -1 || source >= info.num_sources) {
        snprintf(err, errlen, "%s: source %d is out of range: the file has %d sources (0..%d), "
                 "or -1 for all", path, source, info.num_sources, info.num_sources - 1);
        goto done;
    }
    file = datafile_open(path, H5P_DEFAULT, err, errlen);
    if (file < 0) goto done;
    size_t total = 0;
    for (int k = 0; k < info.num_sources; k++)
        if (source < 0 || k == source) total += (size_t)info.val_tokens[k];
    *tokens = mallocCheck((total ? total : 1) * sizeof(uint32_t));
    for (int k = 0; k < info.num_sources; k++) {
        if (source >= 0 && k != source) continue;
        char name[1024], msg[512];
        snprintf(name, sizeof name, "/validation/%s/tokens", info.source_names[k]);
        uint32_t *part = NULL;
        size_t m = 0;
        if (datafile_read_token_dataset(file, name, &part, &m, msg, sizeof msg) != 0 ||
            *n + m > total) {
            snprintf(err, errlen, "%s: %s", path, part ? "validation sizes disagree" : msg);
            free(part);
            free(*tokens);
            *tokens = NULL;
            *n = 0;
            goto done;
        }
        memcpy(*tokens + *n, part, m * sizeof(uint32_t));
        *n += m;
        free(part);
    }
    rc = 0;
done:
    if (file >= 0) H5Fclose(file);
    datafile_info_free(&info);
    return rc;
}

BPE *datafile_read_tokenizer(const char *path, char *err, size_t errlen)
{
    hid_t file = datafile_open(path, H5P_DEFAULT, err, errlen);
    if (file < 0) return NULL;
    ErrorsOff eo;
    errors_off(&eo);
    BPE *bpe = NULL;
    char msg[512];
    hid_t g = H5Gopen2(file, "tokenizer", H5P_DEFAULT);
    if (g < 0) snprintf(msg, sizeof msg, "group /tokenizer is missing");
    else bpe = bpe_load_h5(g, msg, sizeof msg);
    if (!bpe) snprintf(err, errlen, "%s: %s: re-run photon prep", path, msg);
    if (g >= 0) H5Gclose(g);
    H5Fclose(file);
    errors_restore(&eo);
    return bpe;
}
