/* run_lock.c: see run_lock.h. The file is never unlinked: removing it would let a second run
 * lock a fresh inode while a third still holds the old one. A clean exit only empties it. */
#include "run_lock.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

/* The holder's record as its file says, on one line ("pid P on host H since T"), or "". */
static void holder_text(int fd, char *out, size_t outlen)
{
    char buf[512] = "";
    ssize_t got = pread(fd, buf, sizeof buf - 1, 0);
    out[0] = '\0';
    if (got <= 0) return;
    buf[got] = '\0';
    long pid = 0;
    char host[256] = "?", since[64] = "?";
    if (sscanf(buf, "pid %ld host %255s since %63s", &pid, host, since) == 3)
        snprintf(out, outlen, "pid %ld on host %s since %s", pid, host, since);
}

static int write_holder(int fd)
{
    char host[256] = "?", since[64], buf[512];
    if (gethostname(host, sizeof host)) snprintf(host, sizeof host, "?");
    host[sizeof host - 1] = '\0';
    time_t now = time(NULL);
    struct tm tm;
    strftime(since, sizeof since, "%Y-%m-%dT%H:%M:%SZ", gmtime_r(&now, &tm));
    int len = snprintf(buf, sizeof buf, "pid %ld host %s since %s\n", (long)getpid(), host, since);
    if (ftruncate(fd, 0) || pwrite(fd, buf, (size_t)len, 0) != len) return -1;
    fsync(fd);
    return 0;
}

int run_lock_acquire(RunLock *lk, const char *dir, char *note, size_t notelen, char *err, size_t errlen)
{
    lk->fd = -1;
    note[0] = '\0';
    snprintf(lk->path, sizeof lk->path, "%s/photon.lock", dir);
    int fd = open(lk->path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        snprintf(err, errlen, "%s: cannot create the run directory's lock file: %s", lk->path, strerror(errno));
        return -1;
    }
    struct flock fl = {.l_type = F_WRLCK, .l_whence = SEEK_SET, .l_start = 0, .l_len = 0};
    char holder[400];
    if (fcntl(fd, F_SETLK, &fl)) {
        const int e = errno;
        if (e == EACCES || e == EAGAIN) {
            holder_text(fd, holder, sizeof holder);
            snprintf(err, errlen, "run directory %s is in use by %s; wait for it or choose another run.dir (lock file %s)",
                     dir, holder[0] ? holder : "another photon train (it is still writing its lock file)", lk->path);
            close(fd);
            return 1;
        }
        /* ENOLCK and friends: a file system without working fcntl locks (NFS without lockd). */
        snprintf(err, errlen, "%s: cannot lock the run directory: %s (on NFS, fcntl locks need lockd; or choose a run.dir on "
                 "a local or Lustre/GPFS file system)", lk->path, strerror(e));
        close(fd);
        return -1;
    }
    holder_text(fd, holder, sizeof holder);
    if (holder[0])
        snprintf(note, notelen, "run directory %s: took over the stale lock of %s (that process is gone)", dir, holder);
    if (write_holder(fd)) {
        snprintf(err, errlen, "%s: cannot write the lock file: %s", lk->path, strerror(errno));
        close(fd);
        return -1;
    }
    lk->fd = fd;
    return 0;
}

void run_lock_release(RunLock *lk)
{
    if (lk->fd < 0) return;
    if (ftruncate(lk->fd, 0)) { /* the text only names a holder; the lock goes with close anyway */ }
    close(lk->fd);
    lk->fd = -1;
}
