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
 * error_feedback, last, only in a federated run with a lossy codec ([compress]). */
static const H5AttrSpec ckpt_root_attrs[] = {
    {"format", H5A_STRING}, {"format_version", H5A_INT}, {"num_layers", H5A_INT}, {"num_heads", H5A_INT},
    {"channels", H5A_INT}, {"max_seq_len", H5A_INT}, {"vocab_size", H5A_INT}, {"bias", H5A_INT},
    {"num_parameters", H5A_INT}, {"mode", H5A_STRING}, {"topology", H5A_STRING}, {"optimizer", H5A_STRING},
    {"outer", H5A_STRING}, {"data_file", H5A_STRING}, {"num_silos", H5A_INT}, {"silo_size", H5A_INT},
    {"world_size", H5A_INT}, {"local_steps", H5A_INT}, {"steps", H5A_INT}, {"round", H5A_INT}, {"step", H5A_INT},
    {"tokens_seen", H5A_DOUBLE}, {"modeled_wall_s", H5A_DOUBLE}, {"inter_bytes_total", H5A_DOUBLE},
    {"compute_s_total", H5A_DOUBLE}, {"last_val_loss", H5A_DOUBLE}, {"metrics_offset", H5A_INT}, {"outer_t", H5A_INT},
    {"codec", H5A_STRING}, {"error_feedback", H5A_INT},
};
static inline size_t ckpt_root_attr_count(int federated, int compressed)
{
    return sizeof ckpt_root_attrs / sizeof *ckpt_root_attrs - (!federated ? 3 : !compressed ? 2 : 0);
}

/* Whether the run compresses (a lossy codec in federated mode): its checkpoints hold the codec
 * and, with error feedback, /compress/residual (S, n: each silo's e_k) and
 * /compress/residual_down (n: the downlink's, from the outer state's holder). */
static inline int ckpt_compressed(const RunIdentity *d)
{
    return d->mode == MODE_FEDERATED && d->codec != CODEC_FP32;
}

typedef struct { long round; char name[64]; } CkptEntry;

/* The complete checkpoints (ckpt-R.h5) in dir, newest first; *n = count. tmp: list the
 * ckpt-R.h5.tmp files instead. Returns NULL with *n = 0 when dir cannot be read. */
CkptEntry *ckpt_list_files(const char *dir, int tmp, int *n);

#endif
