/* weights.c: write final.h5, read final.h5 / checkpoint files into a GPT (see weights.h). */
#include "weights.h"

#include <errno.h>
#include <fcntl.h>
#include <hdf5.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "check.h"
#include "checkpoint.h"
#include "datafile.h"
#include "h5util.h"
#include "sha256.h"

/* Open a weights file read-only (callers keep HDF5's own error stack quiet: our message says
 * what is wrong in the user's terms). */
static hid_t weights_open(const char *path, char *err, size_t errlen)
{
    if (access(path, R_OK)) {
        snprintf(err, errlen, "%s: no such readable file (give a run's final.h5 or a checkpoint)", path);
        return H5I_INVALID_HID;
    }
    if (H5Fis_hdf5(path) <= 0) {
        snprintf(err, errlen, "%s: not an HDF5 file (give a run's final.h5 or a checkpoint)", path);
        return H5I_INVALID_HID;
    }
    hid_t f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT);
    if (f < 0) { snprintf(err, errlen, "%s: cannot open as HDF5", path); return f; }
    char format[64];
    if (!h5_attr_read_string_buf(f, "format", format, sizeof format) && !strcmp(format, DATAFILE_FORMAT)) {
        snprintf(err, errlen, "%s is a photon data file (photon prep's output), not a weights file: give a run's final.h5 or "
                 "a checkpoint (and the data file with --data)", path);
        H5Fclose(f);
        return H5I_INVALID_HID;
    }
    return f;
}

/* final.h5's root attributes, in the order attrs_sha256 hashes them (h5util.h). */
static const H5AttrSpec weights_root_attrs[] = {
    {"num_layers", H5A_INT}, {"num_heads", H5A_INT}, {"channels", H5A_INT}, {"max_seq_len", H5A_INT},
    {"vocab_size", H5A_INT}, {"bias", H5A_INT}, {"data_file", H5A_STRING},
};

/* Verifies what a weights reader takes from `path` (open as f) before anything is read: a
 * checkpoint's root attributes and /params (checkpoint.h); final.h5's attrs_sha256 (the /params
 * hash is checked once the values are read). A file without a hash (an older photon's final.h5,
 * another tool's) is read with a note on stderr. 0 / -1. */
static int verify_before_read(hid_t f, const char *path, char *err, size_t errlen)
{
    char format[64], msg[512];
    if (!h5_attr_read_string_buf(f, "format", format, sizeof format) && !strcmp(format, CKPT_FORMAT))
        return ckpt_verify_weights(path, err, errlen);
    if (H5Aexists(f, H5_ATTRS_SHA256) <= 0) {
        fprintf(stderr, "photon: note: %s carries no SHA-256 (written by an older photon or another tool): its weights "
                "cannot be verified\n", path);
        return 0;
    }
    if (h5_attrs_check(f, weights_root_attrs, sizeof weights_root_attrs / sizeof *weights_root_attrs, msg, sizeof msg)) {
        snprintf(err, errlen, "%s: %s", path, msg);
        return -1;
    }
    return 0;
}

/* The SHA-256 stored with /params (attribute sha256, uint8 (1, 32)): 1 and md, 0 if none. */
static int params_hash(hid_t ds, unsigned char md[SHA256_LEN])
{
    if (H5Aexists(ds, "sha256") <= 0) return 0;
    hid_t a = H5Aopen(ds, "sha256", H5P_DEFAULT);
    hid_t space = a >= 0 ? H5Aget_space(a) : H5I_INVALID_HID;
    int ok = space >= 0 && H5Sget_simple_extent_npoints(space) == SHA256_LEN && H5Aread(a, H5T_NATIVE_UCHAR, md) >= 0;
    if (space >= 0) H5Sclose(space);
    if (a >= 0) H5Aclose(a);
    return ok ? 1 : -1;
}

static size_t config_parameters(const GPTConfig *c)
{
    size_t sizes[GPT_NUM_TENSORS], n = 0;
    gpt_tensor_sizes(c, sizes);
    for (int i = 0; i < GPT_NUM_TENSORS; i++) n += sizes[i];
    return n;
}

/* The model shape's root attributes, in GPTConfig's order of reading and writing. */
static const char *const shape_attrs[6] = {"num_layers", "num_heads", "channels", "max_seq_len", "vocab_size", "bias"};

static int read_config(hid_t f, const char *path, GPTConfig *c, char *err, size_t errlen)
{
    int *fields[6] = {&c->num_layers, &c->num_heads, &c->channels, &c->max_seq_len, &c->vocab_size, &c->bias};
    char msg[512];
    for (int i = 0; i < 6; i++) {
        int64_t v;
        if (h5_attr_read_int(f, shape_attrs[i], &v, msg, sizeof msg)) {
            snprintf(err, errlen, "%s: %s (not a photon weights file: final.h5 or a checkpoint)", path, msg);
            return -1;
        }
        if (v < 0 || v > INT32_MAX) {
            snprintf(err, errlen, "%s: attribute '%s' = %lld is out of range", path, shape_attrs[i], (long long)v);
            return -1;
        }
        *fields[i] = (int)v;
    }
    if (gpt_config_check(c, msg, sizeof msg)) {
        snprintf(err, errlen, "%s: %s (root attributes)", path, msg);
        return -1;
    }
    return 0;
}

int weights_read_config(const char *path, GPTConfig *c, char *err, size_t errlen)
{
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    int rc = -1;
    hid_t f = weights_open(path, err, errlen);
    if (f < 0) goto done;
    rc = read_config(f, path, c, err, errlen);
    H5Fclose(f);
done:
    h5_quiet_end(&quiet);
    return rc;
}

static int read_data_file(const char *path, char *buf, size_t len, char *err, size_t errlen)
{
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    int rc = -1;
    char *s = NULL, msg[256];
    hid_t f = weights_open(path, err, errlen);
    if (f < 0) goto done;
    if (H5Aexists(f, "data_file") <= 0 || h5_attr_read_string(f, "data_file", &s, msg, sizeof msg)) {
        snprintf(err, errlen, "%s records no data file (written by an older photon): give --data FILE.h5", path);
    } else if (snprintf(buf, len, "%s", s) >= (int)len) {
        snprintf(err, errlen, "%s: the recorded data file name is too long: give --data FILE.h5", path);
    } else {
        rc = 0;
    }
    free(s);
    H5Fclose(f);
done:
    h5_quiet_end(&quiet);
    return rc;
}

int weights_resolve_data_file(const char *path, const char **data, char *buf, size_t len, char *err, size_t errlen)
{
    if (*data) return 0;
    if (read_data_file(path, buf, len, err, errlen)) return -1;
    *data = buf;
    return 0;
}

int weights_load(const char *path, GPT *m, int B, int T, char *err, size_t errlen)
{
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    int rc = -1, built = 0;
    hid_t f = H5I_INVALID_HID, ds = H5I_INVALID_HID, space = H5I_INVALID_HID, type = H5I_INVALID_HID;
    GPTConfig c;
    f = weights_open(path, err, errlen);
    if (f < 0) goto done;
    if (verify_before_read(f, path, err, errlen) || read_config(f, path, &c, err, errlen)) goto done;
    if (T <= 0 || T > c.max_seq_len) T = c.max_seq_len;
    if (H5Lexists(f, "params", H5P_DEFAULT) <= 0 || (ds = H5Dopen2(f, "params", H5P_DEFAULT)) < 0) {
        snprintf(err, errlen, "%s: dataset 'params' is missing (not a photon weights file: final.h5 or a checkpoint)", path);
        goto done;
    }
    space = H5Dget_space(ds);
    type = H5Dget_type(ds);
    hsize_t n = 0;
    if (H5Sget_simple_extent_ndims(space) != 1 || H5Sget_simple_extent_dims(space, &n, NULL) != 1 ||
        H5Tget_class(type) != H5T_FLOAT) {
        snprintf(err, errlen, "%s: dataset 'params' must be a 1-D float array", path);
        goto done;
    }
    /* Before any allocation (gpt_build): the attributes of a damaged or hostile file can describe
     * a model of petabytes (gpt_config_check bounds the count so that it cannot wrap). */
    const size_t want = config_parameters(&c);
    if (n != want) {
        snprintf(err, errlen,
                 "%s: dataset 'params' has %llu values but the attributes (L=%d, NH=%d, C=%d, maxT=%d, V=%d, bias=%d) "
                 "describe a model of %zu parameters",
                 path, (unsigned long long)n, c.num_layers, c.num_heads, c.channels, c.max_seq_len, c.vocab_size,
                 c.bias, want);
        goto done;
    }
    gpt_build(m, &c, B, T);
    built = 1;
    if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, m->params_memory) < 0) {
        snprintf(err, errlen, "%s: cannot read dataset 'params'", path);
        goto done;
    }
    unsigned char stored[SHA256_LEN], got[SHA256_LEN];
    const int has_hash = params_hash(ds, stored);
    if (has_hash < 0) { snprintf(err, errlen, "%s: dataset 'params' has an unreadable sha256 attribute", path); goto done; }
    if (has_hash) {
        sha256_digest(m->params_memory, n * sizeof(float), got);
        if (memcmp(got, stored, SHA256_LEN)) {
            snprintf(err, errlen, "%s: dataset /params does not match its SHA-256 (damaged file)", path);
            goto done;
        }
    }
    size_t bad = 0;
    for (size_t i = 0; i < n; i++) bad += !isfinite(m->params_memory[i]);
    if (bad) {
        snprintf(err, errlen, "%s: dataset /params holds %zu non-finite values (NaN or Inf): these weights are unusable "
                 "(the run diverged: lower optim.lr, or take an earlier checkpoint)", path, bad);
        goto done;
    }
    rc = 0;
done:
    if (rc && built) gpt_free(m);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    if (ds >= 0) H5Dclose(ds);
    if (f >= 0) H5Fclose(f);
    h5_quiet_end(&quiet);
    return rc;
}

int weights_check_vocab(const GPTConfig *c, const char *ckpt, int data_vocab, const char *data, char *err,
                        size_t errlen)
{
    if (c->vocab_size == data_vocab) return 0;
    snprintf(err, errlen,
             "%s: the model's vocab_size is %d but %s has a tokenizer of %d ids: give the data file the "
             "model was trained on (its deck's [data] file)",
             ckpt, c->vocab_size, data, data_vocab);
    return -1;
}

/* 0, or -1 with errno: the file's data reached the disk (a delayed ENOSPC or EIO shows here). */
static int fsync_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd), e = errno;
    if (close(fd) && !rc) { rc = -1; e = errno; }
    errno = e;
    return rc;
}

/* The file as written holds what memory holds: /params against the in-memory digest, the root
 * attributes against attrs_sha256. A full disk can leave a file that HDF5 closed without an error
 * and whose /params reads back as zeros. */
static int verify_written(const char *tmp, const unsigned char md[SHA256_LEN], size_t n, char *msg, size_t len)
{
    int rc = -1;
    hid_t f = H5Fopen(tmp, H5F_ACC_RDONLY, H5P_DEFAULT), ds = H5I_INVALID_HID;
    float *back = NULL;
    unsigned char got[SHA256_LEN];
    if (f < 0 || (ds = H5Dopen2(f, "params", H5P_DEFAULT)) < 0) { snprintf(msg, len, "cannot reopen it"); goto done; }
    back = mallocCheck(n ? n * sizeof(float) : 1);
    if (H5Dread(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, back) < 0) { snprintf(msg, len, "cannot read /params back"); goto done; }
    sha256_digest(back, n * sizeof(float), got);
    if (memcmp(got, md, SHA256_LEN)) { snprintf(msg, len, "/params as read back differs from the weights in memory (a full or failing disk?)"); goto done; }
    if (h5_attrs_check(f, weights_root_attrs, sizeof weights_root_attrs / sizeof *weights_root_attrs, msg, len)) goto done;
    rc = 0;
done:
    free(back);
    if (ds >= 0) H5Dclose(ds);
    if (f >= 0) H5Fclose(f);
    return rc;
}

int weights_write(const char *path, const GPTConfig *c, const float *params, size_t n, const char *data_file,
                  char *err, size_t errlen)
{
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    char tmp[4096], why[512] = "";
    unsigned char md[SHA256_LEN];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    sha256_digest(params, n * sizeof(float), md);
    int rc = -1, e = 0;
    hid_t f = H5I_INVALID_HID, space = H5I_INVALID_HID, ds = H5I_INVALID_HID;
    /* The first failing call's errno names the cause (HDF5's own calls may change it later). */
#define WFAIL(what) do { e = errno; snprintf(why, sizeof why, "%s", what); goto done; } while (0)
    errno = 0;
    if ((f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT)) < 0) WFAIL("cannot create");
    hsize_t dims = n, hdims[2] = {1, SHA256_LEN};
    space = H5Screate_simple(1, &dims, NULL);
    if ((ds = H5Dcreate2(f, "params", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0 ||
        H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, params) < 0)
        WFAIL("cannot write /params");
    /* The same per-row hash as a checkpoint's datasets (one row). */
    hid_t hs = H5Screate_simple(2, hdims, NULL), a = H5Acreate2(ds, "sha256", H5T_STD_U8LE, hs, H5P_DEFAULT, H5P_DEFAULT);
    const int hash_bad = a < 0 || H5Awrite(a, H5T_NATIVE_UCHAR, md) < 0;
    if (a >= 0) H5Aclose(a);
    H5Sclose(hs);
    if (hash_bad) WFAIL("cannot write /params' sha256");
    const int shape[6] = {c->num_layers, c->num_heads, c->channels, c->max_seq_len, c->vocab_size, c->bias};
    for (int i = 0; i < 6; i++) {
        hid_t as = H5Screate(H5S_SCALAR);
        hid_t at = H5Acreate2(f, shape_attrs[i], H5T_STD_I32LE, as, H5P_DEFAULT, H5P_DEFAULT);
        const int bad = at < 0 || H5Awrite(at, H5T_NATIVE_INT, &shape[i]) < 0;
        if (at >= 0) H5Aclose(at);
        H5Sclose(as);
        if (bad) WFAIL("cannot write the root attributes");
    }
    if (h5_attr_write_fixed_string(f, "data_file", data_file) ||
        h5_attrs_seal(f, weights_root_attrs, sizeof weights_root_attrs / sizeof *weights_root_attrs))
        WFAIL("cannot write the root attributes");
    H5Dclose(ds);
    ds = H5I_INVALID_HID;
    errno = 0;
    herr_t closed = H5Fclose(f);
    f = H5I_INVALID_HID;
    if (closed < 0) WFAIL("cannot write (close)");
    errno = 0;
    if (fsync_file(tmp)) WFAIL("cannot write (fsync)");
    errno = 0;
    if (verify_written(tmp, md, n, why, sizeof why)) { e = errno; goto done; }
    if (rename(tmp, path)) { e = errno; snprintf(why, sizeof why, "cannot rename its .tmp file into place"); goto done; }
    rc = 0;
#undef WFAIL
done:
    if (ds >= 0) H5Dclose(ds);
    if (space >= 0) H5Sclose(space);
    if (f >= 0) H5Fclose(f);
    if (rc) {
        remove(tmp);
        if (e) snprintf(err, errlen, "%s: %s: %s (the final weights are not written; the checkpoints are kept)", path, why, strerror(e));
        else snprintf(err, errlen, "%s: %s (the final weights are not written; the checkpoints are kept)", path, why);
    }
    h5_quiet_end(&quiet);
    return rc;
}
