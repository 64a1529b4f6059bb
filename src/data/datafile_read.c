/* datafile_read.c: opening and reading the photon data file (see datafile.h): its format
 * check, the summary (DataInfo), token datasets, validation streams, the tokenizer. */
#include "datafile.h"

#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "check.h"
#include "h5util.h"

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
    // Before any open: opening a FIFO blocks until a writer comes, a device may never end.
    if (!S_ISREG(st.st_mode)) {
        snprintf(err, errlen, "%s is a %s, not a regular file: give a photon data file written "
                 "by photon prep", path,
                 S_ISFIFO(st.st_mode) ? "FIFO (named pipe)" : S_ISCHR(st.st_mode) ? "character device"
                 : S_ISBLK(st.st_mode) ? "block device" : S_ISSOCK(st.st_mode) ? "socket"
                 : "special file");
        return H5I_INVALID_HID;
    }
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
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
    h5_quiet_end(&quiet);
    return file;
fail:
    free(format);
    if (file >= 0) H5Fclose(file);
    h5_quiet_end(&quiet);
    return H5I_INVALID_HID;
}

int datafile_check_token_type(hid_t d, const char *name, hsize_t *n, char *err, size_t errlen)
{
    *n = 0;
    hid_t space = H5Dget_space(d), t = H5Dget_type(d);
    int rc = -1;
    H5T_class_t cls = t >= 0 ? H5Tget_class(t) : H5T_NO_CLASS;
    size_t size = t >= 0 ? H5Tget_size(t) : 0;
    int rank = space >= 0 ? H5Sget_simple_extent_ndims(space) : -1;
    if (cls != H5T_INTEGER || size > 4) {
        snprintf(err, errlen, "dataset %s holds %s%s of %zu bytes, not token ids (integers of "
                 "at most 4 bytes): the file is damaged or not from photon prep; re-run photon "
                 "prep", name, cls == H5T_FLOAT ? "floats" : cls == H5T_STRING ? "strings"
                 : cls == H5T_INTEGER ? "integers" : "values", "", size);
        goto done;
    }
    if (rank != 1 || H5Sget_simple_extent_dims(space, n, NULL) < 0) {
        snprintf(err, errlen, "dataset %s has rank %d, not 1 (a stream of token ids): the file "
                 "is damaged; re-run photon prep", name, rank);
        goto done;
    }
    rc = 0;
done:
    if (t >= 0) H5Tclose(t);
    if (space >= 0) H5Sclose(space);
    return rc;
}

int datafile_read_token_dataset(hid_t file, const char *name, uint32_t **tokens, size_t *n,
                                char *err, size_t errlen)
{
    *tokens = NULL;
    *n = 0;
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    int rc = -1;
    hid_t d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0) {
        snprintf(err, errlen, "dataset %s is missing", name);
        goto done;
    }
    hsize_t dims[1] = { 0 };
    if (datafile_check_token_type(d, name, dims, err, errlen) < 0) goto done;
    *tokens = mallocCheck((dims[0] ? dims[0] : 1) * sizeof(uint32_t));
    // Read as int32 (same width): a negative id of a signed dataset then reads as >= 2^31, and
    // an unsigned one above INT32_MAX is clipped to it, so a range check refuses both.
    if (dims[0] > 0 && H5Dread(d, H5T_NATIVE_INT32, H5S_ALL, H5S_ALL, H5P_DEFAULT, *tokens) < 0) {
        snprintf(err, errlen, "cannot read dataset %s", name);
        free(*tokens);
        *tokens = NULL;
        goto done;
    }
    *n = dims[0];
    rc = 0;
done:
    if (d >= 0) H5Dclose(d);
    h5_quiet_end(&quiet);
    return rc;
}

// The source names, from /sources/names (variable-length strings).
static int read_source_names(hid_t file, int K, char ***names, char *err, size_t errlen)
{
    *names = callocCheck((size_t)(K ? K : 1), sizeof(char *));
    int rc = -1;
    hid_t d = H5Dopen2(file, "/sources/names", H5P_DEFAULT), space = H5I_INVALID_HID;
    hid_t t = h5_vlen_string_type();
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

// A stream group's sizes against its real tokens dataset: num_tokens must be its length (it
// sizes the readers' buffers), the document and per-source counts within it.
static int check_stream(hid_t g, const char *group, int64_t num_tokens, int64_t num_documents,
                        const int64_t *source_tokens, int K, char *err, size_t errlen)
{
    char name[1100], msg[512];
    snprintf(name, sizeof name, "%s/tokens", group);
    hid_t d = H5Dopen2(g, "tokens", H5P_DEFAULT);
    if (d < 0) {
        snprintf(err, errlen, "dataset %s is missing", name);
        return -1;
    }
    hsize_t n = 0;
    int rc = datafile_check_token_type(d, name, &n, msg, sizeof msg);
    H5Dclose(d);
    if (rc < 0) {
        snprintf(err, errlen, "%s", msg);
        return -1;
    }
    if (num_tokens < 0 || (uint64_t)num_tokens != (uint64_t)n) {
        snprintf(err, errlen, "%s: attribute num_tokens = %lld but dataset %s holds %llu tokens",
                 group, (long long)num_tokens, name, (unsigned long long)n);
        return -1;
    }
    if (num_documents < 0 || num_documents > num_tokens) {
        snprintf(err, errlen, "%s: attribute num_documents = %lld is out of range 0..%lld (its "
                 "tokens)", group, (long long)num_documents, (long long)num_tokens);
        return -1;
    }
    for (int k = 0; source_tokens && k < K; k++)
        if (source_tokens[k] < 0 || source_tokens[k] > num_tokens) {
            snprintf(err, errlen, "%s: attribute source_tokens[%d] = %lld is out of range "
                     "0..%lld (its tokens)", group, k, (long long)source_tokens[k],
                     (long long)num_tokens);
            return -1;
        }
    return 0;
}

static int read_info(hid_t file, DataInfo *info, char *err, size_t errlen)
{
    int64_t v = 0;
    if (h5_attr_read_int(file, "format_version", &v, err, errlen) < 0) return -1;
    info->format_version = (int)v;
    // Range checks before any use: these attributes size allocations and loops downstream.
    if (h5_attr_read_int(file, "vocab_size", &v, err, errlen) < 0) return -1;
    if (v < BPE_MIN_VOCAB || v > BPE_MAX_VOCAB) {
        snprintf(err, errlen, "attribute vocab_size = %lld is out of range %d..%d", (long long)v,
                 BPE_MIN_VOCAB, BPE_MAX_VOCAB);
        return -1;
    }
    info->vocab_size = (int)v;
    if (h5_attr_read_int(file, "eot_token", &v, err, errlen) < 0) return -1;
    if (v != info->vocab_size - 1) {
        snprintf(err, errlen, "attribute eot_token = %lld is not vocab_size - 1 = %d",
                 (long long)v, info->vocab_size - 1);
        return -1;
    }
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
        if (rc == 0) rc = check_stream(g, name, s < S ? info->silo_tokens[s]
                                                       : info->val_tokens[s - S],
                                       s < S ? info->silo_documents[s] : info->val_documents[s - S],
                                       s < S ? info->silo_source_tokens + (size_t)s * K : NULL, K,
                                       err, errlen);
        H5Gclose(g);
        if (rc != 0) return -1;
    }
    if (info->num_documents < 0 || info->num_documents > INT32_MAX) {
        snprintf(err, errlen, "attribute num_documents = %lld is out of range",
                 (long long)info->num_documents);
        return -1;
    }
    return 0;
}

int datafile_read_info(const char *path, DataInfo *info, char *err, size_t errlen)
{
    memset(info, 0, sizeof *info);
    hid_t file = datafile_open(path, H5P_DEFAULT, err, errlen);
    if (file < 0) return -1;
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    char msg[1536];
    int rc = read_info(file, info, msg, sizeof msg);
    if (rc != 0) {
        snprintf(err, errlen, "%s: %s: the file is damaged or incomplete; re-run photon prep",
                 path, msg);
        datafile_info_free(info);
    }
    H5Fclose(file);
    h5_quiet_end(&quiet);
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
        for (size_t i = 0; i < m; i++)
            if (part[i] >= (uint32_t)info.vocab_size) {
                snprintf(err, errlen, "%s: dataset %s: token %zu is %u, outside the vocabulary "
                         "0..%d (vocab_size %d): the file is damaged; re-run photon prep", path,
                         name, i, part[i], info.vocab_size - 1, info.vocab_size);
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

int datafile_read_validation_docs(const char *path, int source, int64_t **offsets, size_t *n, char *err,
                                  size_t errlen)
{
    *offsets = NULL;
    *n = 0;
    DataInfo info;
    if (datafile_read_info(path, &info, err, errlen) != 0) return -1;
    int rc = -1;
    hid_t file = H5I_INVALID_HID, d = H5I_INVALID_HID, space = H5I_INVALID_HID;
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    char name[1024];
    if (source < 0 || source >= info.num_sources) {
        snprintf(err, errlen, "%s: source %d is out of range 0..%d", path, source, info.num_sources - 1);
        goto done;
    }
    snprintf(name, sizeof name, "/validation/%s/doc_offsets", info.source_names[source]);
    file = datafile_open(path, H5P_DEFAULT, err, errlen);
    if (file < 0) goto done;
    d = H5Dopen2(file, name, H5P_DEFAULT);
    if (d < 0) {
        snprintf(err, errlen, "%s: dataset %s is missing", path, name);
        goto done;
    }
    space = H5Dget_space(d);
    hsize_t dims[1] = {0};
    if (space < 0 || H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, dims, NULL) != 1) {
        snprintf(err, errlen, "%s: dataset %s is not 1-D", path, name);
        goto done;
    }
    *offsets = mallocCheck((dims[0] ? dims[0] : 1) * sizeof(int64_t));
    if (dims[0] > 0 && H5Dread(d, H5T_NATIVE_INT64, H5S_ALL, H5S_ALL, H5P_DEFAULT, *offsets) < 0) {
        snprintf(err, errlen, "%s: cannot read dataset %s (not integers?)", path, name);
        free(*offsets);
        *offsets = NULL;
        goto done;
    }
    *n = dims[0];
    rc = 0;
done:
    if (space >= 0) H5Sclose(space);
    if (d >= 0) H5Dclose(d);
    if (file >= 0) H5Fclose(file);
    h5_quiet_end(&quiet);
    datafile_info_free(&info);
    return rc;
}

BPE *datafile_load_tokenizer(hid_t file, const char *path, char *err, size_t errlen)
{
    char msg[1024] = "group /tokenizer is missing";
    hid_t g = H5Gopen2(file, "tokenizer", H5P_DEFAULT);
    BPE *bpe = g < 0 ? NULL : bpe_load_h5(g, msg, sizeof msg);
    if (g >= 0) H5Gclose(g);
    if (!bpe) snprintf(err, errlen, "%s: the tokenizer is damaged: %s; re-run photon prep", path, msg);
    return bpe;
}

BPE *datafile_read_tokenizer(const char *path, char *err, size_t errlen)
{
    hid_t file = datafile_open(path, H5P_DEFAULT, err, errlen);
    if (file < 0) return NULL;
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    BPE *bpe = datafile_load_tokenizer(file, path, err, errlen);
    H5Fclose(file);
    h5_quiet_end(&quiet);
    return bpe;
}
