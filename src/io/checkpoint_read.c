/* checkpoint_read.c: verifying a checkpoint against its SHA-256s and reading it back
 * (see checkpoint.h; the layout is in doc/formats.md, "Checkpoint file"). */
#include "checkpoint.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>

#include "check.h"
#include "checkpoint_private.h"
#include "h5util.h"
#include "sha256.h"

/* ---- verification --------------------------------------------------------------------------- */

/* One dataset against its per-row SHA-256, reading one row at a time. */
static int verify_dataset(hid_t f, const char *path, const char *name, char *err, size_t errlen)
{
    int rc = -1, nd = 0;
    hid_t ds = H5I_INVALID_HID, space = H5I_INVALID_HID, type = H5I_INVALID_HID, a = H5I_INVALID_HID, as = H5I_INVALID_HID;
    hid_t mspace = H5I_INVALID_HID;
    unsigned char *want = NULL, *row = NULL, got[SHA256_LEN];
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0 || (ds = H5Dopen2(f, name, H5P_DEFAULT)) < 0) {
        snprintf(err, errlen, "%s: dataset /%s is missing (an incomplete or foreign checkpoint)", path, name);
        goto done;
    }
    space = H5Dget_space(ds);
    type = H5Dget_type(ds);
    nd = H5Sget_simple_extent_ndims(space);
    hsize_t dims[2] = {1, 1};
    if (nd < 0 || nd > 2 || (nd > 0 && H5Sget_simple_extent_dims(space, dims, NULL) < 0)) {
        snprintf(err, errlen, "%s: dataset /%s has an unexpected shape", path, name);
        goto done;
    }
    const hsize_t rows = nd == 2 ? dims[0] : 1, cols = nd == 2 ? dims[1] : nd == 1 ? dims[0] : 1;
    const size_t esize = H5Tget_size(type);
    hsize_t hdims[2] = {0, 0};
    if (H5Aexists(ds, "sha256") <= 0 || (a = H5Aopen(ds, "sha256", H5P_DEFAULT)) < 0 || (as = H5Aget_space(a)) < 0 ||
        H5Sget_simple_extent_ndims(as) != 2 || H5Sget_simple_extent_dims(as, hdims, NULL) < 0 || hdims[0] != rows ||
        hdims[1] != SHA256_LEN) {
        snprintf(err, errlen, "%s: dataset /%s has no valid sha256 attribute", path, name);
        goto done;
    }
    want = mallocCheck((size_t)rows * SHA256_LEN);
    if (H5Aread(a, H5T_NATIVE_UCHAR, want) < 0) { snprintf(err, errlen, "%s: cannot read /%s's sha256", path, name); goto done; }
    row = mallocCheck((size_t)cols * esize + 1);
    if (nd == 0) mspace = H5Screate(H5S_SCALAR);
    else mspace = H5Screate_simple(1, &dims[nd - 1], NULL);
    for (hsize_t r = 0; r < rows; r++) {
        if (nd == 2) {
            hsize_t start[2] = {r, 0}, count[2] = {1, cols};
            H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
        }
        if (H5Dread(ds, type, mspace, space, H5P_DEFAULT, row) < 0) {
            snprintf(err, errlen, "%s: cannot read dataset /%s (damaged file)", path, name);
            goto done;
        }
        sha256_digest(row, (size_t)cols * esize, got);
        if (memcmp(got, want + r * SHA256_LEN, SHA256_LEN)) {
            if (rows > 1) snprintf(err, errlen, "%s: dataset /%s row %llu does not match its SHA-256 (damaged checkpoint)", path, name, (unsigned long long)r);
            else snprintf(err, errlen, "%s: dataset /%s does not match its SHA-256 (damaged checkpoint)", path, name);
            goto done;
        }
    }
    rc = 0;
done:
    free(want);
    free(row);
    if (mspace >= 0) H5Sclose(mspace);
    if (as >= 0) H5Sclose(as);
    if (a >= 0) H5Aclose(a);
    if (type >= 0) H5Tclose(type);
    if (space >= 0) H5Sclose(space);
    if (ds >= 0) H5Dclose(ds);
    return rc;
}

static const char *const required_dsets[] = {"params", "inner/adam_m", "inner/adam_v", "inner/adam_t", "loader/silo_cursor",
                                             "loader/rank_cursor", "deck/text", "deck/overrides", "deck/effective"};

int ckpt_verify(const char *path, char *err, size_t errlen)
{
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    int rc = -1;
    hid_t f = H5I_INVALID_HID;
    char format[64];
    int64_t version = 0;
    char msg[256];
    if (access(path, R_OK)) { snprintf(err, errlen, "%s: no such readable checkpoint file", path); goto done; }
    if (H5Fis_hdf5(path) <= 0 || (f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        snprintf(err, errlen, "%s: not a readable HDF5 file (damaged or incomplete checkpoint)", path);
        goto done;
    }
    if (h5_attr_read_string_buf(f, "format", format, sizeof format) || strcmp(format, CKPT_FORMAT)) {
        snprintf(err, errlen, "%s: not a photon checkpoint (root attribute 'format' is not '%s')", path, CKPT_FORMAT);
        goto done;
    }
    if (h5_attr_read_int(f, "format_version", &version, msg, sizeof msg) || version != CKPT_FORMAT_VERSION) {
        snprintf(err, errlen, "%s: checkpoint format_version %lld; this photon reads version %d", path, (long long)version, CKPT_FORMAT_VERSION);
        goto done;
    }
    for (size_t i = 0; i < sizeof required_dsets / sizeof *required_dsets; i++)
        if (verify_dataset(f, path, required_dsets[i], err, errlen)) goto done;
    /* The outer state: the buffers the file's outer optimizer declares, those present. */
    char outer[64];
    OuterKind kind;
    if (H5Lexists(f, "outer", H5P_DEFAULT) > 0 && !h5_attr_read_string_buf(f, "outer", outer, sizeof outer) &&
        !outer_kind_parse(outer, &kind))
        for (const char *const *st = outer_ops(kind)->state; *st; st++) {
            char name[64];
            outer_dset_name(name, sizeof name, *st);
            if (H5Lexists(f, name, H5P_DEFAULT) > 0 && verify_dataset(f, path, name, err, errlen)) goto done;
        }
    rc = 0;
done:
    if (f >= 0) H5Fclose(f);
    h5_quiet_end(&quiet);
    return rc;
}
/* ---- reading -------------------------------------------------------------------------------- */

/* Row `row` (or the whole of a 1-D dataset, row 0) into buf; the shape must be (rows, cols). */
static int read_row(hid_t f, const char *path, const char *name, hid_t mtype, hsize_t rows, hsize_t cols, hsize_t row, void *buf,
                    char *err, size_t errlen)
{
    int rc = -1;
    hid_t ds = H5I_INVALID_HID, space = H5I_INVALID_HID, mspace = H5I_INVALID_HID;
    if (H5Lexists(f, name, H5P_DEFAULT) <= 0 || (ds = H5Dopen2(f, name, H5P_DEFAULT)) < 0) {
        snprintf(err, errlen, "%s: dataset /%s is missing", path, name);
        goto done;
    }
    space = H5Dget_space(ds);
    int nd = H5Sget_simple_extent_ndims(space);
    hsize_t dims[2] = {0, 0};
    H5Sget_simple_extent_dims(space, dims, NULL);
    const int ok = nd == 1 ? rows == 1 && dims[0] == cols : nd == 2 && dims[0] == rows && dims[1] == cols;
    if (!ok) {
        snprintf(err, errlen, "%s: dataset /%s does not have the shape (%llu, %llu) this run needs", path, name,
                 (unsigned long long)rows, (unsigned long long)cols);
        goto done;
    }
    if (nd == 2) {
        hsize_t start[2] = {row, 0}, count[2] = {1, cols};
        H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL);
    }
    mspace = H5Screate_simple(1, &cols, NULL);
    if (H5Dread(ds, mtype, mspace, space, H5P_DEFAULT, buf) < 0) {
        snprintf(err, errlen, "%s: cannot read dataset /%s", path, name);
        goto done;
    }
    rc = 0;
done:
    if (mspace >= 0) H5Sclose(mspace);
    if (space >= 0) H5Sclose(space);
    if (ds >= 0) H5Dclose(ds);
    return rc;
}

/* The settings a checkpoint cannot be resumed under if they changed. Same verdict on every rank. */
static int check_compatible(hid_t f, const char *path, const CkptView *v, char *err, size_t errlen)
{
    const RunIdentity *d = v->id;
    char msg[256], s[64];
    struct { const char *attr, *key; int64_t want; } ints[] = {
        {"num_layers", "model.layers", d->config.num_layers},
        {"num_heads", "model.heads", d->config.num_heads},
        {"channels", "model.channels", d->config.channels},
        {"max_seq_len", "model.seq_len", d->config.max_seq_len},
        {"vocab_size", "model.vocab_size (or the data file's vocabulary)", d->config.vocab_size},
        {"bias", "model.bias", d->config.bias},
        {"num_silos", "federation.silos", v->topo->num_silos},
        {"local_steps", "federation.local_steps", d->local_steps},
    };
    for (size_t i = 0; i < sizeof ints / sizeof *ints; i++) {
        int64_t have;
        if (h5_attr_read_int(f, ints[i].attr, &have, msg, sizeof msg)) {
            snprintf(err, errlen, "%s: %s", path, msg);
            return -1;
        }
        if (have != ints[i].want) {
            snprintf(err, errlen, "%s: written with %s = %lld, this run has %lld; a resumed run cannot change %s "
                     "(set it back, or start a new run in another [run] dir)", path, ints[i].key, (long long)have,
                     (long long)ints[i].want, ints[i].key);
            return -1;
        }
    }
    struct { const char *attr, *key, *want; } strs[] = {
        {"mode", "federation.mode", run_mode_names[d->mode]},
        {"optimizer", "optim.optimizer", inner_optimizer_names[d->optimizer]},
        {"outer", "federation.outer", outer_kind_name(d->outer)},
    };
    for (size_t i = 0; i < sizeof strs / sizeof *strs; i++) {
        if (h5_attr_read_string_buf(f, strs[i].attr, s, sizeof s)) {
            snprintf(err, errlen, "%s: root attribute '%s' is missing", path, strs[i].attr);
            return -1;
        }
        if (strcmp(s, strs[i].want)) {
            snprintf(err, errlen, "%s: written with %s = %s, this run has %s; a resumed run cannot change %s "
                     "(set it back, or start a new run in another [run] dir)", path, strs[i].key, s, strs[i].want, strs[i].key);
            return -1;
        }
    }
    return 0;
}

static int read_state(hid_t f, const char *path, CkptState *s, int64_t *outer_t, int federated, char *err, size_t errlen)
{
    char msg[256];
    int64_t round, step;
    if (h5_attr_read_int(f, "round", &round, msg, sizeof msg) || h5_attr_read_int(f, "step", &step, msg, sizeof msg) ||
        h5_attr_read_double(f, "tokens_seen", &s->tokens_seen, msg, sizeof msg) ||
        h5_attr_read_double(f, "modeled_wall_s", &s->modeled_wall_s, msg, sizeof msg) ||
        h5_attr_read_double(f, "inter_bytes_total", &s->inter_bytes_total, msg, sizeof msg) ||
        h5_attr_read_double(f, "compute_s_total", &s->compute_s_total, msg, sizeof msg) ||
        h5_attr_read_double(f, "last_val_loss", &s->last_val_loss, msg, sizeof msg) ||
        h5_attr_read_int(f, "metrics_offset", &s->metrics_offset, msg, sizeof msg) ||
        (federated && h5_attr_read_int(f, "outer_t", outer_t, msg, sizeof msg))) {
        snprintf(err, errlen, "%s: %s", path, msg);
        return -1;
    }
    s->round = (long)round;
    s->step = (long)step;
    return 0;
}

int ckpt_read(CkptView *v, const char *path, char *err, size_t errlen)
{
    const RunIdentity *d = v->id;
    const Topology *t = v->topo;
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    int failed = 0, rc = -1;
    hid_t fapl = H5Pcreate(H5P_FILE_ACCESS), f = H5I_INVALID_HID;
    h5Check(H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL));
    f = H5Fopen(path, H5F_ACC_RDONLY, fapl);
    if (f < 0) { snprintf(err, errlen, "%s: cannot open the checkpoint", path); failed = 1; }
    if (photon_any_failed(failed, MPI_COMM_WORLD)) goto done;
    /* Independent reads from here: each rank takes what it holds. */
    int64_t outer_t = 0;
    if (check_compatible(f, path, v, err, errlen) || read_state(f, path, v->state, &outer_t, d->mode == MODE_FEDERATED, err, errlen))
        failed = 1;
    const hsize_t S = (hsize_t)t->num_silos, n = v->n;
    if (!failed && read_row(f, path, "params", H5T_NATIVE_FLOAT, 1, n, 0, v->params, err, errlen)) failed = 1;
    if (!failed && !t->is_server) {
        const hsize_t s = (hsize_t)t->silo;
        int64_t adam_t = 0;
        uint64_t cur[2];
        if (read_row(f, path, "inner/adam_m", H5T_NATIVE_FLOAT, S, n, s, v->adam_m, err, errlen) ||
            read_row(f, path, "inner/adam_v", H5T_NATIVE_FLOAT, S, n, s, v->adam_v, err, errlen) ||
            read_row(f, path, "inner/adam_t", H5T_NATIVE_INT64, S, 1, s, &adam_t, err, errlen) ||
            read_row(f, path, "loader/silo_cursor", H5T_NATIVE_UINT64, S, 2, s, cur, err, errlen)) {
            failed = 1;
        } else {
            *v->adam_t = (long)adam_t;
            v->cursor->epoch = cur[0];
            v->cursor->position = cur[1];
        }
    }
    if (!failed && v->outer && d->mode == MODE_FEDERATED) {
        v->outer->t = (long)outer_t;
        const char *const *outer_states = outer_state_names(d);
        for (int i = 0; !failed && outer_states[i]; i++) {
            char name[64];
            outer_dset_name(name, sizeof name, outer_states[i]);
            if (read_row(f, path, name, H5T_NATIVE_FLOAT, 1, n, 0, outer_state(v->outer, outer_states[i]), err, errlen))
                failed = 1;
        }
    }
    if (photon_any_failed(failed, MPI_COMM_WORLD)) {
        if (!failed) snprintf(err, errlen, "%s: another rank could not read its part of the checkpoint", path);
        goto done;
    }
    rc = 0;
done:
    if (f >= 0) H5Fclose(f);
    H5Pclose(fapl);
    h5_quiet_end(&quiet);
    return rc;
}
