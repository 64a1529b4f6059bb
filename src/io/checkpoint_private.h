/* checkpoint_private.h: what checkpoint.c, checkpoint_write.c and checkpoint_read.c share (not
 * for other callers): the names and buffers both the writer and the reader derive from the
 * run identity, and the listing of a checkpoint directory. */
#ifndef PHOTON_CHECKPOINT_PRIVATE_H
#define PHOTON_CHECKPOINT_PRIVATE_H

#include <stdio.h>

#include "checkpoint.h"

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

typedef struct { long round; char name[64]; } CkptEntry;

/* The complete checkpoints (ckpt-R.h5) in dir, newest first; *n = count. tmp: list the
 * ckpt-R.h5.tmp files instead. Returns NULL with *n = 0 when dir cannot be read. */
CkptEntry *ckpt_list_files(const char *dir, int tmp, int *n);

#endif
