/* checkpoint_private.h: what checkpoint.c, checkpoint_write.c and checkpoint_read.c share (not
 * for other callers): the names and buffers both the writer and the reader derive from the
 * run identity, and the listing of a checkpoint directory. */
#ifndef PHOTON_CHECKPOINT_PRIVATE_H
#define PHOTON_CHECKPOINT_PRIVATE_H

#include <stdio.h>

#include "checkpoint.h"
#include "h5util.h"

/* The outer optimizer's state buffers a checkpoint holds: those its table declares (outer.h), as
 * /outer/<name> (fedmom/nesterov /outer/m, fedadam/fedyogi /outer/m and /outer/v); none outside
 * federated mode. NULL-terminated. */
static inline const char *const *outer_state_names(const RunIdentity *d)
{
    static const char *const none[] = {NULL};
    const OuterOps *ops = d->mode == MODE_FEDERATED ? outer_ops((OuterKind)d->outer) : NULL;
    return ops ? ops->state : none;
}
static inline void outer_dset_name(char *buf, size_t len, const char *state) { snprintf(buf, len, "outer/%s", state); }

/* Every root attribute of a checkpoint, in the order of the bytes that attrs_sha256 hashes
 * (h5util.h; doc/formats.md, "Checkpoint file"). outer_t exists in federated mode only; codec and
 * error_feedback only in a federated run with a lossy codec ([compress]); fragments and
 * overlap_steps only with streaming sync (fragments > 1 or overlap_steps > 0); clipped_steps and
 * counted_steps in every file written since they exist (their presence decides: deleting them
 * breaks the seal). */
static const H5AttrSpec ckpt_root_attrs[] = {
    {"format", H5A_STRING}, {"format_version", H5A_INT}, {"num_layers", H5A_INT}, {"num_heads", H5A_INT},
    {"channels", H5A_INT}, {"max_seq_len", H5A_INT}, {"vocab_size", H5A_INT}, {"bias", H5A_INT},
    {"num_parameters", H5A_INT}, {"mode", H5A_STRING}, {"topology", H5A_STRING}, {"optimizer", H5A_STRING},
    {"outer", H5A_STRING}, {"data_file", H5A_STRING}, {"num_silos", H5A_INT}, {"silo_size", H5A_INT},
    {"world_size", H5A_INT}, {"local_steps", H5A_INT}, {"steps", H5A_INT}, {"round", H5A_INT}, {"step", H5A_INT},
    {"tokens_seen", H5A_DOUBLE}, {"modeled_wall_s", H5A_DOUBLE}, {"inter_bytes_total", H5A_DOUBLE},
    {"compute_s_total", H5A_DOUBLE}, {"last_val_loss", H5A_DOUBLE}, {"metrics_offset", H5A_INT},
};
static const H5AttrSpec ckpt_federated_attrs[] = {{"outer_t", H5A_INT}};
static const H5AttrSpec ckpt_compress_attrs[] = {{"codec", H5A_STRING}, {"error_feedback", H5A_INT}};
static const H5AttrSpec ckpt_streaming_attrs[] = {{"fragments", H5A_INT}, {"overlap_steps", H5A_INT}};
/* Written since the clipping counters existed; a file without them (older) reads as 0 and 0. */
static const H5AttrSpec ckpt_clip_attrs[] = {{"clipped_steps", H5A_DOUBLE}, {"counted_steps", H5A_DOUBLE}};
#define CKPT_ATTRS_MAX 40

/* The list a file of this kind seals, into out (CKPT_ATTRS_MAX); returns its length. */
static inline size_t ckpt_root_attr_list(int federated, int compressed, int streaming, int clip_counts, H5AttrSpec *out)
{
    size_t k = 0;
    for (size_t i = 0; i < sizeof ckpt_root_attrs / sizeof *ckpt_root_attrs; i++) out[k++] = ckpt_root_attrs[i];
    if (federated) out[k++] = ckpt_federated_attrs[0];
    for (int i = 0; federated && compressed && i < 2; i++) out[k++] = ckpt_compress_attrs[i];
    for (int i = 0; federated && streaming && i < 2; i++) out[k++] = ckpt_streaming_attrs[i];
    for (int i = 0; clip_counts && i < 2; i++) out[k++] = ckpt_clip_attrs[i];
    return k;
}

/* Whether the run compresses (a lossy codec in federated mode): its checkpoints hold the codec
 * and, with error feedback, /compress/residual (S, n: each silo's e_k) and
 * /compress/residual_down (n: the downlink's, from the outer state's holder). */
static inline int ckpt_compressed(const RunIdentity *d)
{
    return d->mode == MODE_FEDERATED && d->codec != CODEC_FP32;
}

/* Whether the run syncs in fragments: its checkpoints also hold /fragments/local (S, n: each
 * silo's own model; /params is θ_global) and /fragments/state (F, 3: each fragment's pending
 * merge step, last sync step and outer steps). */
static inline int ckpt_streaming(const RunIdentity *d)
{
    return d->mode == MODE_FEDERATED && (d->fragments > 1 || d->overlap_steps > 0);
}

typedef struct { long round; char name[64]; } CkptEntry;

/* The complete checkpoints (ckpt-R.h5) in dir, newest first; *n = count. tmp: list the
 * ckpt-R.h5.tmp files instead. Returns NULL with *n = 0 when dir cannot be read. */
CkptEntry *ckpt_list_files(const char *dir, int tmp, int *n);

#endif
