/* checkpoint_write.c: writing a checkpoint, collectively, with per-row SHA-256s, atomically
 * renamed and pruned (see checkpoint.h; the layout is in doc/formats.md, "Checkpoint file"). */
#include "checkpoint.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>
#include <unistd.h>

#include <hdf5.h>

#include "check.h"
#include "checkpoint_private.h"
#include "h5util.h"
#include "metrics.h"
#include "sha256.h"

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

static int fail_write_now(const char *name);

static int dset_write(hid_t file, hid_t dxpl, const DsetWrite *w, char *err, size_t errlen)
{
    int rc = -1;
    errno = 0;
    hid_t space = H5I_INVALID_HID, mspace = H5I_INVALID_HID, ds = H5I_INVALID_HID, as = H5I_INVALID_HID, a = H5I_INVALID_HID;
    /* The row hashes: each writer hashes its row; a bitwise OR over zeros gathers them. */
    unsigned char *hashes = callocCheck((size_t)w->rows, SHA256_LEN);
    if (w->row >= 0) sha256_digest(w->buf, (size_t)w->cols * w->esize, hashes + (size_t)w->row * SHA256_LEN);
    mpiCheck(MPI_Allreduce(MPI_IN_PLACE, hashes, (int)(w->rows * SHA256_LEN), MPI_UNSIGNED_CHAR, MPI_BOR, MPI_COMM_WORLD));

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
    /* A failed raw-data write is this rank's alone: it still makes the metadata calls below (the
     * sha256 attribute), which parallel HDF5 needs identical on every rank, and the caller's
     * agreement stops every rank after them. */
    int write_errno = 0;
    if (H5Dwrite(ds, w->mtype, mspace, space, dxpl, w->row >= 0 ? w->buf : dummy) < 0) write_errno = errno ? errno : EIO;
    if (fail_write_now(w->name)) write_errno = ENOSPC;
    hsize_t hdims[2] = {w->rows, SHA256_LEN};
    as = H5Screate_simple(2, hdims, NULL);
    if ((a = H5Acreate2(ds, "sha256", H5T_STD_U8LE, as, H5P_DEFAULT, H5P_DEFAULT)) < 0) goto done;
    if (H5Awrite(a, H5T_NATIVE_UCHAR, hashes) < 0) goto done;
    if (write_errno) errno = write_errno;
    else rc = 0;
done:
    if (rc) snprintf(err, errlen, "cannot write dataset /%s: %s", w->name, errno ? strerror(errno) : "HDF5 write failed");
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

/* Test hook: PHOTON_TEST_FAIL_WRITE=ckpt:ROUND makes the last rank's write of /inner/adam_m in
 * the checkpoint after ROUND rounds fail with ENOSPC (the collective write itself completes on
 * every rank, as a real ENOSPC of one rank's MPI-IO write does), so that the agreement after each
 * collective is tested where no small file system can be mounted. Set by ckpt_write. */
static long fail_round = -1;

static int fail_write_now(const char *name)
{
    int rank, size;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    MPI_Comm_size(MPI_COMM_WORLD, &size);
    if (fail_round < 0 || rank != size - 1 || strcmp(name, "inner/adam_m")) return 0;
    errno = ENOSPC;
    return 1;
}

/* PHOTON_TEST_FAIL_WRITE=reserve:ROUND: the space reservation of that checkpoint finds the disk
 * full (as when another job fills it after the statvfs check). */
static long fail_reserve_round = -1;

static void arm_fail_write(long round)
{
    const char *spec = getenv("PHOTON_TEST_FAIL_WRITE");
    long at;
    fail_round = spec && sscanf(spec, "ckpt:%ld", &at) == 1 && at == round ? round : -1;
    fail_reserve_round = spec && sscanf(spec, "reserve:%ld", &at) == 1 && at == round ? round : -1;
}

/* 0, or -1 with errno: the file's data reached the disk (a delayed ENOSPC or EIO shows here). */
static int fsync_file(const char *path)
{
    int fd = open(path, O_RDONLY);
    if (fd < 0) return -1;
    int rc = fsync(fd);
    int e = errno;
    if (close(fd) && !rc) { rc = -1; e = errno; }
    errno = e;
    return rc;
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
    CkptEntry *e = ckpt_list_files(dir, 0, &n);
    for (int i = keep; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, e[i].name);
        remove(path);
    }
    free(e);
    e = ckpt_list_files(dir, 1, &n);
    for (int i = 0; i < n; i++) {
        snprintf(path, sizeof path, "%s/%s", dir, e[i].name);
        remove(path);
    }
    free(e);
    fsync_path(dir);
}

/* ---- writing -------------------------------------------------------------------------------- */

static int write_attrs(hid_t f, const CkptView *v, int64_t outer_t)
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
    rc |= h5_attr_write_double(f, "clipped_steps", s->clipped_steps);
    rc |= h5_attr_write_double(f, "counted_steps", s->counted_steps);
    if (d->mode == MODE_FEDERATED) rc |= h5_attr_write_int(f, "outer_t", outer_t);
    if (ckpt_compressed(d)) {
        rc |= h5_attr_write_fixed_string(f, "codec", compress_codec_names[d->codec]);
        rc |= h5_attr_write_int(f, "error_feedback", d->error_feedback);
    }
    if (ckpt_streaming(d)) {
        rc |= h5_attr_write_int(f, "fragments", d->fragments);
        rc |= h5_attr_write_int(f, "overlap_steps", d->overlap_steps);
    }
    /* Last: the SHA-256 of every attribute above, as the file holds them. */
    H5AttrSpec list[CKPT_ATTRS_MAX];
    const size_t nlist = ckpt_root_attr_list(d->mode == MODE_FEDERATED, ckpt_compressed(d), ckpt_streaming(d), 1, list);
    if (!rc) rc |= h5_attrs_seal(f, list, nlist);
    return rc ? -1 : 0;
}

/* Every rank's verdict on the collective call just made, before the next one: a rank whose write
 * failed must not leave the others waiting in a collective it skips. */
static int own_failure; /* this rank's own call failed (not only "another rank failed"); ckpt_write resets it */

static int agreed_failure(int failed, char *err, size_t errlen)
{
    failed = failed != 0; /* callers pass -1: MPI_MAX over {-1, 0} would be 0 */
    if (failed) own_failure = 1;
    if (!photon_any_failed(failed, MPI_COMM_WORLD)) return 0;
    if (!failed) snprintf(err, errlen, "another rank failed");
    return 1;
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
    /* The outer optimizer's step count comes from its holder. */
    int64_t outer_t = v->outer ? v->outer->t : 0;
    if (d->mode == MODE_FEDERATED) mpiCheck(MPI_Bcast(&outer_t, 1, MPI_INT64_T, outer_owner(t), MPI_COMM_WORLD));
    int bad = write_attrs(f, v, outer_t);
    if (bad) snprintf(err, errlen, "cannot write the root attributes");
    if (agreed_failure(bad, err, errlen)) goto done;
    const int residuals = ckpt_compressed(d) && d->error_feedback;
    const char *groups[] = {"inner", "loader", "deck", "outer", "compress", "fragments"};
    for (int i = 0; i < 6; i++) {
        if (i == 3 && !outer_state_names(d)[0]) continue;
        if (i == 4 && !residuals) continue;
        if (i == 5 && !ckpt_streaming(d)) continue;
        hid_t g = H5Gcreate2(f, groups[i], H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
        if (g < 0) snprintf(err, errlen, "cannot create group /%s", groups[i]);
        else H5Gclose(g);
        if (agreed_failure(g < 0, err, errlen)) goto done;
    }
    DsetWrite params = {"params", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 1, 1, v->n, me == 0 ? 0 : -1, v->params};
    if (agreed_failure(dset_write(f, dxpl, &params, err, errlen), err, errlen)) goto done;
    /* A crash here leaves a half-written .tmp file (the test of never resuming from one). */
    maybe_crash("write", v->state->round);

    /* Every silo's inner state, one row per silo, written by the S leaders at once. */
    const long my_silo = leader ? t->silo : -1;
    DsetWrite am = {"inner/adam_m", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 2, (hsize_t)S, v->n, my_silo, v->adam_m};
    DsetWrite av = {"inner/adam_v", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 2, (hsize_t)S, v->n, my_silo, v->adam_v};
    int64_t adam_t = v->adam_t ? *v->adam_t : 0;
    DsetWrite at = {"inner/adam_t", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 2, (hsize_t)S, 1, my_silo, &adam_t};
    if (agreed_failure(dset_write(f, dxpl, &am, err, errlen), err, errlen) ||
        agreed_failure(dset_write(f, dxpl, &av, err, errlen), err, errlen) ||
        agreed_failure(dset_write(f, dxpl, &at, err, errlen), err, errlen))
        goto done;

    /* Loader cursors: per silo (what a resume uses) and per rank (all equal inside a silo). */
    uint64_t cur[2] = {0, 0};
    if (v->cursor) { cur[0] = v->cursor->epoch; cur[1] = v->cursor->position; }
    DsetWrite sc = {"loader/silo_cursor", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, 2, (hsize_t)S, 2, my_silo, cur};
    DsetWrite rcur = {"loader/rank_cursor", H5T_STD_U64LE, H5T_NATIVE_UINT64, 8, 2, (hsize_t)P, 2, me, cur};
    if (agreed_failure(dset_write(f, dxpl, &sc, err, errlen), err, errlen) ||
        agreed_failure(dset_write(f, dxpl, &rcur, err, errlen), err, errlen))
        goto done;

    const char *const *outer_states = outer_state_names(d);
    for (int i = 0; outer_states[i]; i++) {
        const int owner = me == outer_owner(t) && v->outer;
        char name[64];
        outer_dset_name(name, sizeof name, outer_states[i]);
        DsetWrite os = {name, H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 1, 1, v->n, owner ? 0 : -1,
                        owner ? outer_state(v->outer, outer_states[i]) : NULL};
        if (agreed_failure(dset_write(f, dxpl, &os, err, errlen), err, errlen)) goto done;
    }

    /* Error feedback's residuals: each silo's row from its leader, the downlink's from the outer
     * state's owner (every holder has the same bits). */
    if (residuals) {
        DsetWrite rs = {"compress/residual", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 2, (hsize_t)S, v->n, my_silo, v->residual};
        const int owner = me == outer_owner(t) && v->residual_down;
        DsetWrite rd = {"compress/residual_down", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 1, 1, v->n, owner ? 0 : -1,
                        owner ? v->residual_down : NULL};
        if (agreed_failure(dset_write(f, dxpl, &rs, err, errlen), err, errlen) ||
            agreed_failure(dset_write(f, dxpl, &rd, err, errlen), err, errlen))
            goto done;
    }

    /* Streaming sync: each silo's own model from its leader, the fragments' state from the outer
     * state's owner (the one rank that knows the outer steps). */
    if (ckpt_streaming(d)) {
        DsetWrite lp = {"fragments/local", H5T_IEEE_F32LE, H5T_NATIVE_FLOAT, 4, 2, (hsize_t)S, v->n, my_silo, v->local_params};
        const int owner = me == outer_owner(t);
        DsetWrite fs = {"fragments/state", H5T_STD_I64LE, H5T_NATIVE_INT64, 8, 1, 1, 3 * (hsize_t)d->fragments,
                        owner ? 0 : -1, owner ? v->frag_state : NULL};
        if (agreed_failure(dset_write(f, dxpl, &lp, err, errlen), err, errlen) ||
            agreed_failure(dset_write(f, dxpl, &fs, err, errlen), err, errlen))
            goto done;
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
        if (agreed_failure(dset_write(f, dxpl, &w, err, errlen), err, errlen)) goto done;
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

/* Bytes the checkpoint will take: every dataset's values and row hashes, and a margin for
 * HDF5's metadata (object headers, the attributes: a few KiB in practice). */
static double ckpt_bytes(const CkptView *v)
{
    const RunIdentity *d = v->id;
    const double n = (double)v->n, S = v->topo->num_silos, P = v->topo->world_size;
    int outer = 0;
    for (const char *const *st = outer_state_names(d); *st; st++) outer++;
    if (ckpt_compressed(d) && d->error_feedback) outer += 1 + (int)S; // the residuals
    if (ckpt_streaming(d)) outer += (int)S;                             // the silos' own models
    double bytes = 4 * n * (1 + 2 * S + outer) + S * (8 + 16) + P * 16 + SHA256_LEN * (2 * S + 3 * S + P + 4 + outer);
    bytes += strlen(d->deck_text ? d->deck_text : "") + strlen(d->overrides ? d->overrides : "") +
             strlen(d->effective ? d->effective : "");
    return bytes * 1.02 + 64 * 1024;
}

/* Rank 0, before the file is created: whether the directory's file system has room for it. A
 * write that fails half way through a parallel HDF5 file can leave the ranks in different
 * collectives of H5Fclose (the metadata flush, the final MPI_File_set_size): failing before the
 * first write is the only clean way out, so a full disk is caught here. */
static int check_free_space(const char *dir, double need, char *err, size_t errlen)
{
    struct statvfs fs;
    if (statvfs(dir, &fs)) {
        snprintf(err, errlen, "%s: cannot stat the checkpoint directory's file system: %s", dir, strerror(errno));
        return -1;
    }
    const double avail = (double)fs.f_bavail * (double)fs.f_frsize;
    if (avail >= need) return 0;
    snprintf(err, errlen, "%s: %s: a checkpoint needs about %.0f KiB, %.0f KiB are free (free some space, or set "
             "[checkpoint] dir elsewhere)", dir, strerror(ENOSPC), need / 1024, avail / 1024);
    return -1;
}

/* Rank 0, once the file exists: reserve its blocks (posix_fallocate), so that a disk filled by
 * someone else between check_free_space and the last write fails HERE, before any collective
 * write, and not inside H5Fclose's collectives where the ranks could part ways. A file system
 * without fallocate support (EOPNOTSUPP, EINVAL) keeps only the statvfs check. */
static int reserve_space(const char *tmp, double bytes, char *err, size_t errlen)
{
    int fd = open(tmp, O_WRONLY | O_CLOEXEC);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot open to reserve its space: %s", tmp, strerror(errno));
        return -1;
    }
    int rc = fail_reserve_round >= 0 ? ENOSPC : posix_fallocate(fd, 0, (off_t)bytes);
    close(fd);
    if (rc == 0 || rc == EOPNOTSUPP || rc == EINVAL) return 0;
    snprintf(err, errlen, "%s: cannot reserve %.0f KiB for the checkpoint: %s (free some space, or set [checkpoint] dir "
             "elsewhere)", tmp, bytes / 1024, strerror(rc));
    return -1;
}

/* After an agreed failure: every rank takes the message of the lowest rank that failed (the
 * others only know that some rank did), so rank 0 reports the real cause. */
static void share_error(int failed, char *err, size_t errlen)
{
    int rank, who;
    MPI_Comm_rank(MPI_COMM_WORLD, &rank);
    int mine = failed ? rank : INT_MAX;
    mpiCheck(MPI_Allreduce(&mine, &who, 1, MPI_INT, MPI_MIN, MPI_COMM_WORLD));
    if (who == INT_MAX) return;
    char *buf = callocCheck(errlen, 1);
    if (rank == who) snprintf(buf, errlen, "%s", err);
    mpiCheck(MPI_Bcast(buf, (int)errlen, MPI_CHAR, who, MPI_COMM_WORLD));
    if (who != 0 && rank == 0) snprintf(err, errlen, "rank %d: %s", who, buf);
    else snprintf(err, errlen, "%s", buf);
    free(buf);
}

int ckpt_write(const CkptView *v, const char *dir, int keep, char *path, size_t pathlen, char *err, size_t errlen)
{
    const int me = v->topo->world_rank;
    const long round = v->state->round;
    char tmp[CKPT_PATH_MAX], why[1536] = "";
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    int failed = 0, rc = -1;
    hid_t fapl = H5I_INVALID_HID, f = H5I_INVALID_HID;
    snprintf(path, pathlen, "%s/ckpt-%06ld.h5", dir, round);
    snprintf(tmp, sizeof tmp, "%s.tmp", path);
    arm_fail_write(round);
    own_failure = 0;
    if (me == 0 && make_dirs(dir)) {
        snprintf(err, errlen, "%s: cannot create the checkpoint directory ([checkpoint] dir): %s", dir, strerror(errno));
        failed = 1;
    }
    if (me == 0 && !failed && check_free_space(dir, ckpt_bytes(v), err, errlen)) failed = 1;
    if (photon_any_failed(failed, MPI_COMM_WORLD)) goto done;

    fapl = H5Pcreate(H5P_FILE_ACCESS);
    h5Check(H5Pset_fapl_mpio(fapl, MPI_COMM_WORLD, MPI_INFO_NULL));
    /* Collective: every rank gets the same verdict. */
    errno = 0;
    f = H5Fcreate(tmp, H5F_ACC_TRUNC, H5P_DEFAULT, fapl);
    if (f < 0) {
        snprintf(err, errlen, "%s: cannot create the checkpoint file: %s", tmp, errno ? strerror(errno) : "HDF5 create failed");
        failed = 1;
    }
    if (me == 0 && !failed && reserve_space(tmp, ckpt_bytes(v), err, errlen)) failed = 1;
    if (photon_any_failed(failed, MPI_COMM_WORLD)) {
        share_error(failed, err, errlen);
        if (f >= 0) H5Fclose(f); // collective, and nothing was written yet
        f = H5I_INVALID_HID;
        if (me == 0) remove(tmp);
        goto done;
    }
    if (write_all(f, v, why, sizeof why)) {
        snprintf(err, errlen, "%s: %s", tmp, why);
        failed = 1;
    }
    /* The close is collective and made by every rank alike, failed or not (write_all agreed on
     * each step, so no rank is still inside a collective the others left). */
    errno = 0;
    if (H5Fclose(f) < 0 && !failed) {
        snprintf(err, errlen, "%s: cannot close (write) the checkpoint file: %s", tmp, errno ? strerror(errno) : "HDF5 close failed");
        failed = own_failure = 1;
    }
    f = H5I_INVALID_HID;
    if (photon_any_failed(failed, MPI_COMM_WORLD)) {
        share_error(own_failure, err, errlen);
        if (me == 0) {
            remove(tmp);
            fsync_path(dir);
        }
        goto done;
    }
    maybe_crash("rename", round);
    /* Rank 0 makes it durable, then visible under its final name. */
    if (me == 0) {
        if (fsync_file(tmp)) {
            snprintf(err, errlen, "%s: cannot write the checkpoint file (fsync): %s", tmp, strerror(errno));
            remove(tmp);
            failed = 1;
        } else if (rename(tmp, path)) {
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
    h5_quiet_end(&quiet);
    return rc;
}
