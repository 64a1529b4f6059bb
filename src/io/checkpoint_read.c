/* checkpoint_read.c: verifying a checkpoint against its SHA-256s and reading it back
 * (see checkpoint.h; the layout is in doc/formats.md, "Checkpoint file"). */
#include "checkpoint.h"

#include <stdint.h>
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

/* One dataset against its per-row SHA-256, reading one row at a time. Its shape must be
 * (want_rows, want_cols) (want_nd 2), (want_cols) (1) or a scalar (0): what the reader will take. */
static int verify_dataset(hid_t f, const char *path, const char *name, int want_nd, hsize_t want_rows, hsize_t want_cols,
                          char *err, size_t errlen)
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
    if (nd != want_nd || (nd > 0 && cols != want_cols) || (nd == 2 && rows != want_rows)) {
        if (want_nd == 0) snprintf(err, errlen, "%s: dataset /%s is not a scalar", path, name);
        else if (want_nd == 1) snprintf(err, errlen, "%s: dataset /%s does not have the shape (%llu) that the root attributes imply", path, name, (unsigned long long)want_cols);
        else snprintf(err, errlen, "%s: dataset /%s does not have the shape (%llu, %llu) that the root attributes imply", path, name,
                      (unsigned long long)want_rows, (unsigned long long)want_cols);
        goto done;
    }
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

/* The root attributes: all present, matching attrs_sha256, and in range, so that a reader can
 * trust them (a huge `round` would overflow round * local_steps). Fills the shape of what the
 * datasets must hold. */
typedef struct { int federated, compressed, residuals, streaming; int64_t fragments; OuterKind outer; int64_t n, silos, world; } CkptShape;

static int verify_root(hid_t f, const char *path, CkptShape *sh, char *err, size_t errlen)
{
    char msg[512], mode[64], outer[64];
    int64_t version = 0;
    if (h5_attr_read_int(f, "format_version", &version, msg, sizeof msg) || version != CKPT_FORMAT_VERSION) {
        if (version == 1)
            snprintf(err, errlen, "%s: checkpoint format_version 1 (written by an older photon, without a SHA-256 of its root "
                     "attributes); this photon reads version %d: resume it with the photon that wrote it, or start a new run "
                     "(without --resume, or in another [run] dir)", path, CKPT_FORMAT_VERSION);
        else
            snprintf(err, errlen, "%s: checkpoint format_version %lld; this photon reads version %d", path, (long long)version,
                     CKPT_FORMAT_VERSION);
        return -1;
    }
    if (h5_attr_read_string_buf(f, "mode", mode, sizeof mode)) {
        snprintf(err, errlen, "%s: root attribute 'mode' is missing (an incomplete or damaged checkpoint)", path);
        return -1;
    }
    sh->federated = !strcmp(mode, run_mode_names[MODE_FEDERATED]);
    /* A compressed run's file has the codec attributes, sealed with the rest: deleting them
     * breaks the seal rather than hiding the residuals. */
    sh->compressed = sh->federated && H5Aexists(f, "codec") > 0;
    sh->streaming = sh->federated && H5Aexists(f, "fragments") > 0;
    H5AttrSpec list[CKPT_ATTRS_MAX];
    const size_t nlist = ckpt_root_attr_list(sh->federated, sh->compressed, sh->streaming, H5Aexists(f, "clipped_steps") > 0, list);
    if (h5_attrs_check(f, list, nlist, msg, sizeof msg)) {
        snprintf(err, errlen, "%s: %s (a damaged or edited checkpoint)", path, msg);
        return -1;
    }
    /* Present and hashed: read them for the range checks (no read can fail now). */
    int64_t v[8];
    const char *names[8] = {"num_parameters", "num_silos", "world_size", "local_steps", "steps", "round", "step", "metrics_offset"};
    for (int i = 0; i < 8; i++)
        if (h5_attr_read_int(f, names[i], &v[i], msg, sizeof msg)) { snprintf(err, errlen, "%s: %s", path, msg); return -1; }
    double tokens;
    h5_attr_read_double(f, "tokens_seen", &tokens, msg, sizeof msg);
    GPTConfig c;
    int *fields[6] = {&c.num_layers, &c.num_heads, &c.channels, &c.max_seq_len, &c.vocab_size, &c.bias};
    const char *shape[6] = {"num_layers", "num_heads", "channels", "max_seq_len", "vocab_size", "bias"};
    for (int i = 0; i < 6; i++) {
        int64_t x = 0;
        h5_attr_read_int(f, shape[i], &x, msg, sizeof msg);
        if (x < 0 || x > INT32_MAX) { snprintf(err, errlen, "%s: root attribute '%s' = %lld is out of range", path, shape[i], (long long)x); return -1; }
        *fields[i] = (int)x;
    }
    if (gpt_config_check(&c, msg, sizeof msg)) { snprintf(err, errlen, "%s: %s (root attributes)", path, msg); return -1; }
    size_t sizes[GPT_NUM_TENSORS], want_n = 0;
    gpt_tensor_sizes(&c, sizes);
    for (int i = 0; i < GPT_NUM_TENSORS; i++) want_n += sizes[i];
    const int64_t n = v[0], S = v[1], P = v[2], H = v[3], steps = v[4], round = v[5], step = v[6], offset = v[7];
    const int64_t max_steps = (int64_t)1e18; /* run.steps' bound (deck_keys.c) */
    if (n != (int64_t)want_n) {
        snprintf(err, errlen, "%s: root attribute num_parameters = %lld, but the model shape has %zu parameters", path, (long long)n, want_n);
        return -1;
    }
    if (S < 1 || P < S || P > INT32_MAX || H < 1 || H > INT32_MAX || steps < 1 || steps > max_steps) {
        snprintf(err, errlen, "%s: root attributes num_silos = %lld, world_size = %lld, local_steps = %lld, steps = %lld are out of range",
                 path, (long long)S, (long long)P, (long long)H, (long long)steps);
        return -1;
    }
    /* Every round has at least one step; which step a round starts at depends on the run's round
     * plan (a synchronous start, an H schedule: deck keys), checked against the resuming run's
     * plan by ckpt_read. Here: what any plan allows. */
    if (round < 0 || round > steps || step < round || step > steps) {
        snprintf(err, errlen, "%s: root attributes round = %lld, step = %lld are out of range (0 <= round <= step <= steps = %lld; "
                 "local_steps = %lld)", path, (long long)round, (long long)step, (long long)steps, (long long)H);
        return -1;
    }
    if (offset < 0 || !(tokens >= 0) || tokens > 1e30) {
        snprintf(err, errlen, "%s: root attribute metrics_offset = %lld or tokens_seen = %g is out of range", path, (long long)offset, tokens);
        return -1;
    }
    sh->residuals = 0;
    sh->fragments = 1;
    if (sh->streaming) {
        int64_t tau = 0;
        h5_attr_read_int(f, "fragments", &sh->fragments, msg, sizeof msg);
        h5_attr_read_int(f, "overlap_steps", &tau, msg, sizeof msg);
        if (sh->fragments < 1 || sh->fragments > 64 || tau < 0 || tau >= v[3]) {
            snprintf(err, errlen, "%s: root attributes fragments = %lld, overlap_steps = %lld are out of range", path,
                     (long long)sh->fragments, (long long)tau);
            return -1;
        }
    }
    if (sh->compressed) {
        char codec[64];
        int64_t ef = 0;
        h5_attr_read_string_buf(f, "codec", codec, sizeof codec);
        h5_attr_read_int(f, "error_feedback", &ef, msg, sizeof msg);
        // A compressing run's codec: a lossy one, or auto (which compresses every silo's upload).
        const int is_auto = !strcmp(codec, compress_codec_names[CODEC_CHOICE_AUTO]);
        if ((!is_auto && (!codec_lookup(codec) || codec_lookup(codec)->lossless)) || (ef != 0 && ef != 1)) {
            snprintf(err, errlen, "%s: root attributes codec = '%s', error_feedback = %lld are not a lossy codec (or auto) "
                     "of this photon and 0 or 1", path, codec, (long long)ef);
            return -1;
        }
        sh->residuals = (int)ef;
    }
    sh->n = n;
    sh->silos = S;
    sh->world = P;
    sh->outer = OUTER_FEDAVG;
    if (sh->federated) {
        if (h5_attr_read_string_buf(f, "outer", outer, sizeof outer) || outer_kind_parse(outer, &sh->outer)) {
            snprintf(err, errlen, "%s: root attribute outer = '%s' is not an outer optimizer of this photon", path, outer);
            return -1;
        }
    }
    return 0;
}

/* The checkpoint's format, root attributes and datasets: everything a resume reads (all), or
 * what a weights reader reads (the root attributes and /params). */
static int verify_file(const char *path, int all, char *err, size_t errlen)
{
    H5Quiet quiet;
    h5_quiet_begin(&quiet);
    int rc = -1;
    hid_t f = H5I_INVALID_HID;
    char format[64];
    CkptShape sh;
    if (access(path, R_OK)) { snprintf(err, errlen, "%s: no such readable checkpoint file", path); goto done; }
    if (H5Fis_hdf5(path) <= 0 || (f = H5Fopen(path, H5F_ACC_RDONLY, H5P_DEFAULT)) < 0) {
        snprintf(err, errlen, "%s: not a readable HDF5 file (damaged or incomplete checkpoint)", path);
        goto done;
    }
    if (h5_attr_read_string_buf(f, "format", format, sizeof format) || strcmp(format, CKPT_FORMAT)) {
        snprintf(err, errlen, "%s: not a photon checkpoint (root attribute 'format' is not '%s')", path, CKPT_FORMAT);
        goto done;
    }
    if (verify_root(f, path, &sh, err, errlen)) goto done;
    const hsize_t n = (hsize_t)sh.n, S = (hsize_t)sh.silos, P = (hsize_t)sh.world;
    if (verify_dataset(f, path, "params", 1, 1, n, err, errlen)) goto done;
    if (!all) { rc = 0; goto done; }
    struct { const char *name; int nd; hsize_t rows, cols; } dsets[] = {
        {"inner/adam_m", 2, S, n}, {"inner/adam_v", 2, S, n}, {"inner/adam_t", 2, S, 1}, {"loader/silo_cursor", 2, S, 2},
        {"loader/rank_cursor", 2, P, 2}, {"deck/text", 0, 1, 1}, {"deck/overrides", 0, 1, 1}, {"deck/effective", 0, 1, 1},
    };
    for (size_t i = 0; i < sizeof dsets / sizeof *dsets; i++)
        if (verify_dataset(f, path, dsets[i].name, dsets[i].nd, dsets[i].rows, dsets[i].cols, err, errlen)) goto done;
    /* Every buffer the file's outer optimizer declares (a resume reads them all). */
    if (sh.federated)
        for (const char *const *st = outer_ops(sh.outer)->state; *st; st++) {
            char name[64];
            outer_dset_name(name, sizeof name, *st);
            if (verify_dataset(f, path, name, 1, 1, n, err, errlen)) goto done;
        }
    if (sh.streaming && (verify_dataset(f, path, "fragments/local", 2, S, n, err, errlen) ||
                         verify_dataset(f, path, "fragments/state", 1, 1, 3 * (hsize_t)sh.fragments, err, errlen)))
        goto done;
    if (sh.residuals && (verify_dataset(f, path, "compress/residual", 2, S, n, err, errlen) ||
                         verify_dataset(f, path, "compress/residual_down", 1, 1, n, err, errlen)))
        goto done;
    rc = 0;
done:
    if (f >= 0) H5Fclose(f);
    h5_quiet_end(&quiet);
    return rc;
}

int ckpt_verify(const char *path, char *err, size_t errlen) { return verify_file(path, 1, err, errlen); }
int ckpt_verify_weights(const char *path, char *err, size_t errlen) { return verify_file(path, 0, err, errlen); }

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
    /* Streaming sync: absent in the file means whole rounds (fragments 1, overlap 0). */
    int64_t frag_have = 1, tau_have = 0;
    if (H5Aexists(f, "fragments") > 0) {
        h5_attr_read_int(f, "fragments", &frag_have, msg, sizeof msg);
        h5_attr_read_int(f, "overlap_steps", &tau_have, msg, sizeof msg);
    }
    const int64_t frag_want = ckpt_streaming(d) ? d->fragments : 1, tau_want = ckpt_streaming(d) ? d->overlap_steps : 0;
    if (frag_have != frag_want || tau_have != tau_want) {
        snprintf(err, errlen, "%s: written with federation.fragments = %lld, overlap_steps = %lld, this run has %lld, %lld; a "
                 "resumed run cannot change them (set them back, or start a new run in another [run] dir)", path,
                 (long long)frag_have, (long long)tau_have, (long long)frag_want, (long long)tau_want);
        return -1;
    }
    /* The codec: absent in the file means fp32 (no compression state). */
    const char *codec_have = "fp32";
    char codec_buf[64];
    if (H5Aexists(f, "codec") > 0 && !h5_attr_read_string_buf(f, "codec", codec_buf, sizeof codec_buf)) codec_have = codec_buf;
    const int compressed = ckpt_compressed(d);
    if (strcmp(codec_have, compress_codec_names[d->codec]) && (compressed || strcmp(codec_have, "fp32"))) {
        snprintf(err, errlen, "%s: written with compress.codec = %s, this run has %s; a resumed run cannot change compress.codec "
                 "(set it back, or start a new run in another [run] dir)", path, codec_have, compress_codec_names[d->codec]);
        return -1;
    }
    if (compressed) {
        int64_t ef = -1;
        h5_attr_read_int(f, "error_feedback", &ef, msg, sizeof msg);
        if (ef != d->error_feedback) {
            snprintf(err, errlen, "%s: written with compress.error_feedback = %s, this run has %s; a resumed run cannot change it "
                     "(set it back, or start a new run in another [run] dir)", path, ef ? "on" : "off", d->error_feedback ? "on" : "off");
            return -1;
        }
    }
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
    s->clipped_steps = s->counted_steps = 0;
    if (H5Aexists(f, "clipped_steps") > 0 &&
        (h5_attr_read_double(f, "clipped_steps", &s->clipped_steps, msg, sizeof msg) ||
         h5_attr_read_double(f, "counted_steps", &s->counted_steps, msg, sizeof msg))) {
        snprintf(err, errlen, "%s: %s", path, msg);
        return -1;
    }
    s->round = (long)round;
    s->step = (long)step;
    return 0;
}

/* ckpt_verify checked the round against the file's own steps; this run may have another
 * run.steps, and its round r starts at step round_first[r] of its plan (r * local_steps without
 * one). */
static int check_round(const char *path, const CkptView *v, char *err, size_t errlen)
{
    const RunIdentity *id = v->id;
    const long H = id->local_steps, rounds = id->round_first ? id->num_rounds : (id->steps + H - 1) / H;
    const long r = v->state->round;
    if (r < 0 || r > rounds) {
        snprintf(err, errlen, "%s: the checkpoint is at round %ld, but this run has %ld rounds (run.steps = %ld): raise run.steps, "
                 "or resume from an earlier checkpoint", path, r, rounds, id->steps);
        return -1;
    }
    const long want = id->round_first ? id->round_first[r] : (r * H < id->steps ? r * H : id->steps);
    if (v->state->step == want) return 0;
    snprintf(err, errlen, "%s: the checkpoint is at round %ld after step %ld, but round %ld of this run starts at step %ld "
             "(federation.local_steps, sync_steps and local_steps_schedule must be those of the run that wrote it)",
             path, r, v->state->step, r, want);
    return -1;
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
    if (check_compatible(f, path, v, err, errlen) || read_state(f, path, v->state, &outer_t, d->mode == MODE_FEDERATED, err, errlen) ||
        check_round(path, v, err, errlen))
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
    if (!failed && ckpt_streaming(d)) {
        if (v->local_params && read_row(f, path, "fragments/local", H5T_NATIVE_FLOAT, S, n, (hsize_t)t->silo, v->local_params, err, errlen))
            failed = 1;
        if (!failed && read_row(f, path, "fragments/state", H5T_NATIVE_INT64, 1, 3 * (hsize_t)d->fragments, 0, v->frag_state, err, errlen))
            failed = 1;
    }
    if (!failed && ckpt_compressed(d) && d->error_feedback) {
        if (v->residual && read_row(f, path, "compress/residual", H5T_NATIVE_FLOAT, S, n, (hsize_t)t->silo, v->residual, err, errlen))
            failed = 1;
        if (!failed && v->residual_down &&
            read_row(f, path, "compress/residual_down", H5T_NATIVE_FLOAT, 1, n, 0, v->residual_down, err, errlen))
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
    h5_quiet_end(&quiet);
    return rc;
}
