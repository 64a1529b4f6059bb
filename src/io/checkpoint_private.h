/* checkpoint_private.h: what checkpoint.c, checkpoint_write.c and checkpoint_read.c share (not
 * for other callers): the names and buffers both the writer and the reader derive from the
 * deck, and the listing of a checkpoint directory. */
#ifndef PHOTON_CHECKPOINT_PRIVATE_H
#define PHOTON_CHECKPOINT_PRIVATE_H

#include "checkpoint.h"

static inline const char *optimizer_name(int o) { return o == OPTIM_SGD ? "sgd" : "adamw"; }

/* The outer optimizer's buffers a checkpoint holds: fedmom/nesterov m, fedadam/fedyogi m and v. */
static inline int outer_has_m(const Deck *d) { return d->mode == MODE_FEDERATED && d->outer != OUTER_NAME_FEDAVG; }
static inline int outer_has_v(const Deck *d)
{
    return d->mode == MODE_FEDERATED && (d->outer == OUTER_NAME_FEDADAM || d->outer == OUTER_NAME_FEDYOGI);
}

typedef struct { long round; char name[64]; } CkptEntry;

/* The complete checkpoints (ckpt-R.h5) in dir, newest first; *n = count. tmp: list the
 * ckpt-R.h5.tmp files instead. Returns NULL with *n = 0 when dir cannot be read. */
CkptEntry *ckpt_list_files(const char *dir, int tmp, int *n);

#endif
