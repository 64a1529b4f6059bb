/* checkpoint.c: parallel HDF5 checkpoints, their verification and the choice of one to resume
 * from (see checkpoint.h; the layout is in doc/formats.md, "Checkpoint file"). */
#include "checkpoint.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <hdf5.h>
#include <openssl/evp.h>

#include "check.h"
#include "datafile.h"
#include "metrics.h"

#define SHA_LEN 32

/* ---- small helpers ------------------------------------------------------------------------- */

static void sha256(const void *buf, size_t n, unsigned char out[SHA_LEN])
{
    unsigned int len = 0;
    if (!EVP_Digest(buf, n, out, &len, EVP_sha256(), NULL) || len != SHA_LEN) PHOTON_FATAL("EVP_Digest(sha256) failed");
}

/* A string attribute into buf (truncated to len); -1 when missing or not a string. */
static int attr_read_string(hid_t loc, const char *name, char *buf, size_t len)
{
    char *s = NULL, msg[256];
    buf[0] = 0;
    if (H5Aexists(loc, name) <= 0 || h5_attr_read_string(loc, name, &s, msg, sizeof msg)) return -1;
    snprintf(buf, len, "%s", s);
    free(s);
    return 0;
}

static void quiet_hdf5(H5E_auto2_t *func, void **data)
{
    H5Eget_auto2(H5E_DEFAULT, func, data);
    H5Eset_auto2(H5E_DEFAULT, NULL, NULL);
}

/* The outer optimizer's buffers a checkpoint holds: fedmom/nesterov m, fedadam/fedyogi m and v. */
static int outer_has_m(const RunIdentity *d) { return d->mode == MODE_FEDERATED && d->outer != OUTER_FEDAVG; }
static int outer_has_v(const RunIdentity *d)
{
    return d->mode == MODE_FEDERATED && (d->outer == OUTER_FEDADAM || d->outer == OUTER_FEDYOGI);
}
/* The rank whose outer optimizer is written: the server, or silo 0's leader (world rank 0) when
 * every leader holds a replica. */
static int outer_owner(const Topology *t) { return t->with_server ? t->world_size - 1 : 0; }

/* ---- collective dataset writes -------------------------------------------------------------- */

/* One dataset: (rows, cols) elements (ndims 2), (cols) (ndims 1, rows = 1) or one fixed-length
 * string of cols bytes (ndims 0, rows = 1). This rank writes row `row` from buf (-1: nothing). */
typedef struct {
    const char *name;
    hid_t ftype, mtype; // file and memory types (a string type for ndims 0)
    size_t esize;       // bytes per element in memory (= in the file: little-endian hosts)
    int ndims;
    hsize_t rows, cols;
    long row;
    const void *buf;
} DsetWrite;

static int dset_write(hid_t file, hid_t dxpl, const DsetWrite *w, char *err, size_t errlen)
{
    int rc = -1;
    hid_t space = H5I_INVALID_HID, mspace = H5I_INVALID_HID, ds = H5I_INVALID_HID, as = H5I_INVALID_HID, a = H5I_INVALID_HID;
    /* The row hashes: each writer hashes its row; a bitwise OR over zeros gathers them. */
    unsigned char *hashes = callocCheck((size_t)w->rows, SHA_LEN);
    if (w->row >= 0) sha256(w->buf, (size_t)w->cols * w->esize, hashes + (size_t)w->row * SHA_LEN);
    mpiCheck(MPI_Allreduce(MPI_IN_PLACE, hashes, (int)(w->rows * SHA_LEN), MPI_UNSIGNED_CHAR, MPI_BOR, MPI_COMM_WORLD));

    hsize_t dims[2] = {w->rows, w->cols};
    if (w->ndims == 2) space = H5Screate_simple(2, dims, NULL);
    else if (w->ndims == 1) space = H5Screate_simple(1, &dims[1], NULL);
    else space = H5Screate(H5S_SCALAR);
    if ((ds = H5Dcreate2(file, w->name, w->ftype, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto done;
    if (w->ndims == 0) mspace = H5Screate(H5S_SCALAR);
    else mspace = H5Screate_simple(1, &dims[1], NULL);
    if (w->row < 0) {
        H5Sselect_none(space);
        H5Sselect_none(mspace);
    } else if (w->ndims == 2) {
        hsize_t start[2] = {(hsize_t)w->row, 0}, count[2] = {1, w->cols};
        if (H5Sselect_hyperslab(space, H5S_SELECT_SET, start, NULL, count, NULL) < 0) goto done;
    }
    /* Ranks with nothing to write still take part in the collective write; HDF5 wants a buffer. */
    static const char dummy[8];
    if (H5Dwrite(ds, w->mtype, mspace, space, dxpl, w->row >= 0 ? w->buf : dummy) < 0) goto done;
    hsize_t hdims[2] = {w->rows, SHA_LEN};
    as = H5Screate_simple(2, hdims, NULL);
    if ((a = H5Acreate2(ds, "sha256", H5T_STD_U8LE, as, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto done;
    if (H5Awrite(a, H5T_NATIVE_UCHAR, hashes) < 0) goto done;
    rc = 0;
done:
    if (rc) snprintf(err, errlen, "cannot write dataset /%s", w->name);
    if (a >= 0) H5Aclose(a);
    if (as >= 0) H5Sclose(as);
    if (ds >= 0) H5Dclose(ds);
    if (mspace >= 0) H5Sclose(mspace);
    if (space >= 0) H5Sclose(space);
    free(hashes);
    return rc;
}

/* ---- the test hook ------------------------------------------------------------------------- */

static void maybe_crash(const char *phase, long round)
{
    const char *spec = getenv("PHOTON_TEST_CRASH_AT");
    int rank;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    if (!spec || rank != 0) return;
    char want[32];
    long at;
    if (sscanf(spec, "%31[a-z]:%ld", want, &at) == 2 && !strcmp(want, phase) && at == round) {
        fprintf(stderr, "photon train: PHOTON_TEST_CRASH_AT=%s: exiting\n", spec);
        _exit(137);
    }
}

/* ---- listing a checkpoint directory --------------------------------------------------------- */

typedef struct { long round; char name[64]; } CkptEntry;

static int entry_cmp_desc(const void *a, const void *b)
{
    long x = ((const CkptEntry *)a)->round, y = ((const CkptEntry *)b)->round;
    return (x < y) - (x > y);
}

/* The complete checkpoints (ckpt-R.h5) in dir, newest first; *n = count. tmp: list the
 * ckpt-R.h5.tmp files instead. Returns NULL with *n = 0 when dir cannot be read. */
static CkptEntry *list_checkpoints(const char *dir, int tmp, int *n)
{
    *n = 0;
    DIR *dh = opendir(dir);
    if (!dh) return NULL;
    int cap = 16;
    CkptEntry *e = mallocCheck((size_t)cap * sizeof *e);
    for (struct dirent *de; (de = readdir(dh));) {
        long r;
        int end = 0;
        if (sscanf(de->d_name, "ckpt-%ld.h5%n", &r, &end) != 1 || end == 0) continue;
        const char *rest = de->d_name + end;
        if (tmp ? strcmp(rest, ".tmp") : rest[0] != 0) continue;
        if (strlen(de->d_name) >= sizeof e->name) continue;
        if (*n == cap) {
            cap *= 2;
            CkptEntry *grown = realloc(e, (size_t)cap * sizeof *e);
            if (!grown) PHOTON_FATAL("out of memory listing %s", dir);
            e = grown;
        }
        e[*n].round = r;
        strcpy(e[*n].name, de->d_name);
        (*n)++;
    }
    closedir(dh);
    qsort(e, (size_t)*n, sizeof *e, entry_cmp_desc);
    return e;
}

int ckpt_clear(const char *dir)
{
    int removed = 0;
    for (int tmp = 0; tmp < 2; tmp++) {
        int n;
        CkptEntry *e = list_checkpoints(dir, tmp, &n);
        char path[CKPT_PATH_MAX];
        for (int i = 0; i < n; i++) {
            snprintf(path, sizeof path, "%s/%s", dir, e[i].name);
            if (!remove(path)) removed++;
        }
        free(e);
    }
    return removed;
}

static void fsync_path(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return;
    fsync(fd);
    close(fd);
}

/* Rank 0, after the rename: keep the newest `keep` complete checkpoints, drop stale .tmp files
 * (left by killed runs). */
static void prune(const char *dir, int keep)
{
    char path[CKPT_PATH_MAX];
    int n;
    CkptEntry *e = list_checkpoints(dir, 0, &n);
    for (int i = keep; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, e[i].name);
        remove(path);
    }
    free(e);
    e = list_checkpoints(dir, 1, &n);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, e[i].name);
        remove(path);
    }
    free(e);
    fsync_path(dir);
}

/* ---- writing -------------------------------------------------------------------------------- */

static int write_attrs(hid_t f, const CkptView *v)
{
    const RunIdentity *d = v->id;
    const CkptState *s = v->state;
    const Topology *t = v->topo;
    int rc = 0;
    rc |= h5_attr_write_fixed_string(f, "format", CKPT_FORMAT);
    rc |= h5_attr_write_int(f, "format_version", CKPT_FORMAT_VERSION);
    /* The model shape, as in final.h5 (weights.h reads either file). */
    rc |= h5_attr_write_int(f, "num_layers", d->config.num_layers);
    rc |= h5_attr_write_int(f, "num_heads", d->config.num_heads);
    rc |= h5_attr_write_int(f, "channels", d->config.channels);
    rc |= h5_attr_write_int(f, "max_seq_len", d->config.max_seq_len);
    rc |= h5_attr_write_int(f, "vocab_size", d->config.vocab_size);
    rc |= h5_attr_write_int(f, "bias", d->config.bias);
    rc |= h5_attr_write_int(f, "num_parameters", (int64_t)v->n);
    /* What a resumed run must share with this one. */
    rc |= h5_attr_write_fixed_string(f, "mode", run_mode_names[d->mode]);
    rc |= h5_attr_write_fixed_string(f, "topology", topology_names[d->topology]);
    rc |= h5_attr_write_fixed_string(f, "optimizer", inner_optimizer_names[d->optimizer]);
    rc |= h5_attr_write_fixed_string(f, "outer", outer_kind_name(d->outer));
    rc |= h5_attr_write_fixed_string(f, "data_file", d->data_file);
    rc |= h5_attr_write_int(f, "num_silos", t->num_silos);
    rc |= h5_attr_write_int(f, "silo_size", t->silo_size > 0 ? t->silo_size : 0);
    rc |= h5_attr_write_int(f, "world_size", t->world_size);
    rc |= h5_attr_write_int(f, "local_steps", d->local_steps);
    rc |= h5_attr_write_int(f, "steps", d->steps);
    /* Where the run stands. */
    rc |= h5_attr_write_int(f, "round", s->round);
    rc |= h5_attr_write_int(f, "step", s->step);
    rc |= h5_attr_write_double(f, "tokens_seen", s->tokens_seen);
    rc |= h5_attr_write_double(f, "modeled_wall_s", s->modeled_wall_s);
    rc |= h5_attr_write_double(f, "inter_bytes_total", s->inter_bytes_total);
    rc |= h5_attr_write_double(f, "compute_s_total", s->compute_s_total);
    rc |= h5_attr_write_double(f, "last_val_loss", s->last_val_loss);
    rc |= h5_attr_write_int(f, "metrics_offset", s->metrics_offset);
    return rc ? -1 : 0;
}

static int write_all(hid_t f, const CkptView *v, char *err, size_t errlen)
{
    const RunIdentity *d = v->id;
    const Topology *t = v->topo;
    const int S = t->num_silos, P = t->world_size, me = t->world_rank;
    const int leader = t->is_leader && !t->is_server;
    int rc = -1;
    hid_t dxpl = H5Pcreate(H5P_DATASET_XFER), str_deck = H5I_INVALID_HID, str_over = H5I_INVALID_HID, str_eff = H5I_INVALID_HID;
    h5Check(H5Pset_dxpl_mpio(dxpl, H5FD_MPIO_COLLECTIVE));
    if (write_attrs(f, v)) { snprintf(err, errlen, "cannot write the root attributes"); goto done; }
    /* The outer optimizer's step count comes from its holder. */
    int64_t outer_t = v->outer ? v->outer->t : 0;
    if (d->mode == MODE_FEDERATED) {
        mpiCheck(MPI_Bcast(&outer_t, 1, MPI_INT64_T, outer_owner(t), MPI_COMM_WORLD));
        if (h5_attr_write_int(f, "outer_t", outer_t)) { snprintf(err, errlen, "cannot write attribute outer_t"); goto done; }
    }
    const char *groups[] = {"inner", "loader", "deck", "outer"};
    for (int i = 0; i < 4; i++) {
        if (i == 3 && !outer_has_m(d)) continue;
        hid_t g = H5Gcreate2(f, groups[i], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) { snprintf(err, errlen, "cannot create group /%s", groups[i]); goto done; }
        H5Gclose(g);
    }
    DsetWrite params = {"params", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 1, 1, v->n, me == 0 ? 0 : -1, v->params};
    if (dset_write(f, dxpl, &params, err, errlen)) goto done;
    /* A crash here leaves a half-written .tmp file (the test of never resuming from one). */
    maybe_crash("write", v->state->round);

    /* Every silo's inner state, one row per silo, written by the S leaders at once. */
    const long my_silo = leader ? t->silo : -1;
    DsetWrite am = {"inner/adam_m", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 2, (hsize_t)S, v->n, my_silo, v->adam_m};
    DsetWrite av = {"inner/adam_v", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 2, (hsize_t)S, v->n, my_silo, v->adam_v};
    int64_t adam_t = v->adam_t ? *v->adam_t : 0;
    DsetWrite at = {"inner/adam_t", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 2, (hsize_t)S, 1, my_silo, &adam_t};
    if (dset_write(f, dxpl, &am, err, errlen) || dset_write(f, dxpl, &av, err, errlen) || dset_write(f, dxpl, &at, err, errlen))
        goto done;

    /* Loader cursors: per silo (what a resume uses) and per rank (all equal inside a silo). */
    uint64_t cur[2] = {0, 0};
    if (v->cursor) { cur[0] = v->cursor->epoch; cur[1] = v->cursor->position; }
    DsetWrite sc = {"loader/silo_cursor", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, 2, (hsize_t)S, 2, my_silo, cur};
    DsetWrite rcur = {"loader/rank_cursor", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, 2, (hsize_t)P, 2, me, cur};
    if (dset_write(f, dxpl, &sc, err, errlen) || dset_write(f, dxpl, &rcur, err, errlen)) goto done;

    if (outer_has_m(d)) {
        const int owner = me == outer_owner(t) && v->outer;
        DsetWrite om = {"outer/m", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 1, 1, v->n, owner ? 0 : -1, owner ? v->outer->m : NULL};
        if (dset_write(f, dxpl, &om, err, errlen)) goto done;
        if (outer_has_v(d)) {
            DsetWrite ov = {"outer/v", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 1, 1, v->n, owner ? 0 : -1, owner ? v->outer->v : NULL};
            if (dset_write(f, dxpl, &ov, err, errlen)) goto done;
        }
    }

    /* Provenance: the deck as given, the overrides, the effective deck (rank 0 writes them). */
    const char *texts[3] = {d->deck_text ? d->deck_text : "", d->overrides ? d->overrides : "",
                            d->effective ? d->effective : ""};
    const char *names[3] = {"deck/text", "deck/overrides", "deck/effective"};
    hid_t *types[3] = {&str_deck, &str_over, &str_eff};
    for (int i = 0; i < 3; i++) {
        size_t len = strlen(texts[i]) + 1;
        *types[i] = H5Tcopy(H5T_C_S1);
        H5Tset_size(*types[i], len);
        DsetWrite w = {names[i], *types[i], *types[i], len, 0, 1, 1, me == 0 ? 0 : -1, texts[i]};
        if (dset_write(f, dxpl, &w, err, errlen)) goto done;
    }
    rc = 0;
done:
    for (int i = 0; i < 3; i++) {
        hid_t ty = i == 0 ? str_deck : i == 1 ? str_over : str_eff;
        if (ty >= 0) H5Tclose(ty);
    }
    H5Pclose(dxpl);
    return rc;
}

int ckpt_write(const CkptView *v, const char *dir, int keep, char *path, size_t pathlen, char *err, size_t errlen)
{
    const int me = v->topo->world_rank;
    const long round = v->state->round;
    char tmp[CKPT_PATH_MAX];
    H5E_auto2_t efunc;
    void *edata;
    quiet_hdf5(&efunc, &edata);
    int failed = 0, rc = -1;
    hid_t fapl = H5I_INVALID_HID, f = H5I_INVALID_HID;
    snprintf(path, pathlen, "%s/ckpt-%06ld.h5", dir, round);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    if (me == 0 && make_dirs(dir)) {
        snprintf(err, errlen, "%s: cannot create the checkpoint directory ([checkpoint] dir): %s", dir, strerror(errno));
        failed = 1;
    }
    if (photon_any_failed(failed, MPI_COMM_WORLD)) goto done;

    fapl = H5Pcreate(H5P_FILE_ACCESS);
    h5Check(H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL));
    /* Collective: every rank gets the same verdict. */
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (f < 0) { snprintf(err, errlen, "%s: cannot create the checkpoint file", tmp); failed = 1; }
    if (photon_any_failed(failed, MPI_COMM_WORLD)) goto done;
    if (write_all(f, v, err, errlen)) failed = 1;
    if (H5Fclose(f) < 0 && !failed) { snprintf(err, errlen, "%s: cannot close (write) the checkpoint file", tmp); failed = 1; }
    f = H5I_INVALID_HID;
    if (photon_any_failed(failed, MPI_COMM_WORLD)) {
        if (!failed) snprintf(err, errlen, "%s: another rank failed to write its part", tmp);
        if (me == 0) remove(tmp);
        goto done;
    }
    maybe_crash("rename", round);
    /* Rank 0 makes it durable, then visible under its final name. */
    if (me == 0) {
        fsync_path(tmp);
        if (rename(tmp, path)) {
            snprintf(err, errlen, "%s: cannot rename to %s: %s", tmp, path, strerror(errno));
            remove(tmp);
            failed = 1;
        } else {
            fsync_path(dir);
        }
    }
    if (photon_any_failed(failed, MPI_COMM_WORLD)) {
        if (!failed) snprintf(err, errlen, "%s: rank 0 could not rename the checkpoint", tmp);
        goto done;
    }
    maybe_crash("prune", round);
    if (me == 0) prune(dir, keep);
    rc = 0;
done:
    if (f >= 0) H5Fclose(f);
    if (fapl >= 0) H5Pclose(fapl);
    H5Eset_auto2(H5E_DEFAULT, efunc, edata);
    return rc;
}

/* ---- verification --------------------------------------------------------------------------- */

/* One dataset against its per-row SHA-256, reading one row at a time. */
static int verify_dataset(hid_t f, const char *path, const char *name, char *err, size_t errlen)
{
    int rc = -1, nd = 0;
    hid_t ds = H5I_INVALID_HID, space = H5I_INVALID_HID, type = H5I_INVALID_HID, a = H5I_INVALID_HID, as = H5I_INVALID_HID;
    hid_t mspace = H5I_INVALID_HID;
    unsigned char *want = NULL, *row = NULL, got[SHA_LEN];
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
        hdims[1] != SHA_LEN) {
        snprintf(err, errlen, "%s: dataset /%s has no valid sha256 attribute", path, name);
        goto done;
    }
    want = mallocCheck((size_t)rows * SHA_LEN);
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
        sha256(row, (size_t)cols * esize, got);
        if (memcmp(got, want + r * SHA_LEN, SHA_LEN)) {
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
static const char *const optional_dsets[] = {"outer/m", "outer/v"};

int ckpt_verify(const char *path, char *err, size_t errlen)
{
    H5E_auto2_t efunc;
    void *edata;
    quiet_hdf5(&efunc, &edata);
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
    if (attr_read_string(f, "format", format, sizeof format) || strcmp(format, CKPT_FORMAT)) {
        snprintf(err, errlen, "%s: not a photon checkpoint (root attribute 'format' is not '%s')", path, CKPT_FORMAT);
        goto done;
    }
    if (h5_attr_read_int(f, "format_version", &version, msg, sizeof msg) || version != CKPT_FORMAT_VERSION) {
        snprintf(err, errlen, "%s: checkpoint format_version %lld; this photon reads version %d", path, (long long)version, CKPT_FORMAT_VERSION);
        goto done;
    }
    for (size_t i = 0; i < sizeof required_dsets / sizeof *required_dsets; i++)
        if (verify_dataset(f, path, required_dsets[i], err, errlen)) goto done;
    for (size_t i = 0; i < sizeof optional_dsets / sizeof *optional_dsets; i++)
        if (H5Lexists(f, "outer", H5P_DEFAULT) > 0 && H5Lexists(f, optional_dsets[i], H5P_DEFAULT) > 0 &&
            verify_dataset(f, path, optional_dsets[i], err, errlen))
            goto done;
    rc = 0;
done:
    if (f >= 0) H5Fclose(f);
    H5Eset_auto2(H5E_DEFAULT, efunc, edata);
    return rc;
}

int ckpt_find(const char *what, const char *dir, char *path, size_t pathlen, char *err, size_t errlen)
{
    if (strcmp(what, "latest")) {
        snprintf(path, pathlen, "%s", what);
        return ckpt_verify(path, err, errlen);
    }
    int n;
    CkptEntry *e = list_checkpoints(dir, 0, &n);
    int rc = 1;
    char why[1024] = "";
    for (int i = 0; i < n; i++) {
        snprintf(path, pathlen, "%s/%s", dir, e[i].name);
        if (!ckpt_verify(path, why, sizeof why)) { rc = 0; break; }
        fprintf(stderr, "photon train: skipping checkpoint: %s\n", why);
        rc = -1;
    }
    if (rc < 0)
        snprintf(err, errlen, "%s: no complete checkpoint to resume from (every ckpt-*.h5 is damaged; newest problem: %s)", dir, why);
    free(e);
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
        if (attr_read_string(f, strs[i].attr, s, sizeof s)) {
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
    H5E_auto2_t efunc;
    void *edata;
    quiet_hdf5(&efunc, &edata);
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
        if (outer_has_m(d) && read_row(f, path, "outer/m", H5T_NATIVE_FLOAT, 1, n, 0, v->outer->m, err, errlen)) failed = 1;
        if (!failed && outer_has_v(d) && read_row(f, path, "outer/v", H5T_NATIVE_FLOAT, 1, n, 0, v->outer->v, err, errlen))
            failed = 1;
    }
    if (photon_any_failed(failed, MPI_COMM_WORLD)) {
        if (!failed) snprintf(err, errlen, "%s: another rank could not read its part of the checkpoint", path);
        goto done;
    }
    rc = 0;
done:
    if (f >= 0) H5Fclose(f);
    H5Pclose(fapl);
    H5Eset_auto2(H5E_DEFAULT, efunc, edata);
    return rc;
}
