/* checkpoint.c: the checkpoint directory: listing it, clearing it, and choosing the checkpoint
 * to resume from (see checkpoint.h). Writing is in checkpoint_write.c, verification and
 * reading in checkpoint_read.c. */
#include "checkpoint.h"

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "checkpoint_private.h"

static int entry_cmp_desc(const void *a, const void *b)
{
    long x = ((const CkptEntry *)a)->round, y = ((const CkptEntry *)b)->round;
    return (x < y) - (x > y);
}

CkptEntry *ckpt_list_files(const char *dir, int tmp, int *n)
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

int ckpt_clear(const char *dir) { return ckpt_remove_newer(dir, -1); /* rounds are >= 0 */ }

int ckpt_remove_newer(const char *dir, long round)
{
    int removed = 0;
    for (int tmp = 0; tmp < 2; tmp++) {
        int n;
        CkptEntry *e = ckpt_list_files(dir, tmp, &n);
        char path[CKPT_PATH_MAX];
        for (int i = 0; i < n; i++) {
            if (e[i].round <= round) continue;
            snprintf(path, sizeof path, "%s/%s", dir, e[i].name);
            if (!remove(path)) removed++;
        }
        free(e);
    }
    return removed;
}

int ckpt_find(const char *what, const char *dir, char *path, size_t pathlen, char *err, size_t errlen)
{
    if (strcmp(what, "latest")) {
        snprintf(path, pathlen, "%s", what);
        return ckpt_verify(path, err, errlen);
    }
    int n;
    CkptEntry *e = ckpt_list_files(dir, 0, &n);
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
