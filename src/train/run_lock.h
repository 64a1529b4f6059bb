/* run_lock.h: one run directory, one run. `photon train` takes an fcntl write lock on
 * RUN_DIR/photon.lock (world rank 0, before anything in the directory is opened, truncated or
 * pruned) and holds it until the process ends. fcntl locks belong to the process, so the
 * kernel drops the lock however the run ends (exit, crash, SIGKILL): a lock file left behind is
 * stale exactly when its lock is free, and the next run takes it over. The file's text names
 * the holder (host, pid, start time) for the refusal message. Not collective, no MPI. */
#ifndef PHOTON_RUN_LOCK_H
#define PHOTON_RUN_LOCK_H

#include <stddef.h>

typedef struct {
    int fd;             /* -1: not held */
    char path[4200];
} RunLock;

/* Take the lock on dir (which exists). 0: held (note: "" or a line about the stale holder it
 * took over); 1: another live process holds it (err names it and the fix); -1: the lock file
 * cannot be created or locked (err names it). */
int run_lock_acquire(RunLock *lk, const char *dir, char *note, size_t notelen, char *err, size_t errlen);
/* Empty the file (a clean exit leaves no holder to name) and drop the lock. Safe when not held. */
void run_lock_release(RunLock *lk);

#endif
