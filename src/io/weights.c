/* weights.c: write final.h5, read final.h5 / checkpoint files into a GPT (see weights.h). */
#include "weights.h"

#include <hdf5.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "h5util.h"

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
    if (f < 0) snprintf(err, errlen, "%s: cannot open as HDF5", path);
    return f;
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
    if (read_config(f, path, &c, err, errlen)) goto done;
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
    /* The count is checked before gpt_build: attributes of a hostile or damaged file can
     * describe a model of petabytes, which gpt_build would try to allocate (and die on). */
    size_t sizes[GPT_NUM_TENSORS], want = 0;
    gpt_tensor_sizes(&c, sizes);
    for (int i = 0; i < GPT_NUM_TENSORS; i++) want += sizes[i];
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

int weights_write(const char *path, const GPTConfig *c, const float *params, size_t n, const char *data_file,
                  char *err, size_t errlen)
{
    char tmp[4096];
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    hid_t f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) { snprintf(err, errlen, "%s: cannot create", tmp); return -1; }
    int rc = 0;
    hsize_t dims = n;
    hid_t space = H5Screate_simple(1, &dims, NULL);
    hid_t ds = H5Dcreate2(f, "params", H5T_IEEE_F32LE, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    if (ds < 0 || H5Dwrite(ds, H5T_NATIVE_FLOAT, H5S_ALL, H5S_ALL, H5P_DEFAULT, params) < 0) rc = -1;
    if (ds >= 0) H5Dclose(ds);
    H5Sclose(space);
    const int shape[6] = {c->num_layers, c->num_heads, c->channels, c->max_seq_len, c->vocab_size, c->bias};
    for (int i = 0; i < 6 && rc == 0; i++) {
        hid_t as = H5Screate(H5S_SCALAR);
        hid_t a = H5Acreate2(f, shape_attrs[i], H5T_STD_I32LE, as, H5P_DEFAULT, H5P_DEFAULT);
        if (a < 0 || H5Awrite(a, H5T_NATIVE_INT, &shape[i]) < 0) rc = -1;
        if (a >= 0) H5Aclose(a);
        H5Sclose(as);
    }
    if (rc == 0 && h5_attr_write_fixed_string(f, "data_file", data_file)) rc = -1;
    if (H5Fclose(f) < 0) rc = -1;
    if (rc == 0 && rename(tmp, path)) rc = -1;
    if (rc) { snprintf(err, errlen, "%s: cannot write the final weights", path); remove(tmp); }
    return rc;
}
