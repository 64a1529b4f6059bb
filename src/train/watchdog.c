/* watchdog.c: see watchdog.h. Heartbeats go through files in the run directory rather than an
 * MPI window: passive-target RMA from a second thread needs MPI_THREAD_MULTIPLE, and a file
 * can still be read when the MPI library itself is what hangs. The decision uses no clock
 * shared between hosts: a peer is silent when its beat count does not change while this rank
 * watches it. */
#include "watchdog.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "check.h"
#include "metrics.h"

#define RECORD_LEN 256

typedef struct { long beat, progress; int silo; long pid; char host[128]; int ok; } Beat;

struct Watchdog {
    atomic_long progress;
    double limit, interval;
    int rank, world, silo, fd;
    char dir[4200], path[4300], host[128];
    pthread_t thread;
    pthread_mutex_t mu;
    pthread_cond_t cv;
    int stopping;
};

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + 1e-9 * (double)ts.tv_nsec;
}

static void beat_path(const Watchdog *w, int rank, char *out, size_t outlen)
{
    snprintf(out, outlen, "%s/rank-%05d", w->dir, rank);
}

/* A fixed-length record rewritten in place: a reader never sees a shorter file. */
static void write_beat(Watchdog *w, long beat)
{
    char rec[RECORD_LEN + 1];
    int len = snprintf(rec, sizeof rec, "rank %d silo %d host %s pid %ld beat %ld progress %ld", w->rank, w->silo,
                       w->host, (long)getpid(), beat, atomic_load_explicit(&w->progress, memory_order_relaxed));
    if (len < 0 || len >= RECORD_LEN) len = RECORD_LEN - 1;
    memset(rec + len, ' ', (size_t)(RECORD_LEN - 1 - len));
    rec[RECORD_LEN - 1] = '\n';
    if (pwrite(w->fd, rec, RECORD_LEN, 0) != RECORD_LEN) { /* a full disk: the peers will call us silent */ }
}

static Beat read_beat(const Watchdog *w, int rank)
{
    Beat b = {.ok = 0, .beat = -1, .progress = -1, .silo = -1, .pid = 0, .host = "?"};
    char path[4400], rec[RECORD_LEN + 1];
    beat_path(w, rank, path, sizeof path);
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    if (fd < 0) return b;
    ssize_t got = pread(fd, rec, RECORD_LEN, 0);
    close(fd);
    if (got <= 0) return b;
    rec[got] = '\0';
    int r;
    if (sscanf(rec, "rank %d silo %d host %127s pid %ld beat %ld progress %ld", &r, &b.silo, b.host, &b.pid, &b.beat,
               &b.progress) == 6 && r == rank)
        b.ok = 1;
    return b;
}

/* The job is stuck: say who is silent, then end this process (see watchdog.h). */
static _Noreturn void fire(Watchdog *w, const Beat *last, const double *beat_t, double now, double stall)
{
    char msg[8192];
    size_t len = 0;
    int silent = 0;
#define ADD(...) do { if (len < sizeof msg) len += (size_t)snprintf(msg + len, sizeof msg - len, __VA_ARGS__); } while (0)
    ADD("photon train: watchdog (run.watchdog_s = %g): world rank %d made no progress for %.0f s and neither did any other rank",
        w->limit, w->rank, stall);
    for (int r = 0; r < w->world; r++) {
        if (r == w->rank || now - beat_t[r] < 2.0 * w->interval) continue;
        if (last[r].ok)
            ADD("; silent: world rank %d (silo %d, host %s, pid %ld): its heartbeat did not move in the %.0f s it was watched (stopped, hung or dead)",
                r, last[r].silo, last[r].host, last[r].pid, now - beat_t[r]);
        else
            ADD("; silent: world rank %d: no readable heartbeat in %s", r, w->dir);
        silent++;
    }
    if (!silent) {
        /* Every watchdog beats, so every process runs: a communication hang. The ranks furthest
         * behind are where to look first. */
        long least = -1;
        for (int r = 0; r < w->world; r++) {
            long p = r == w->rank ? atomic_load(&w->progress) : last[r].progress;
            if (least < 0 || p < least) least = p;
        }
        ADD("; every rank's watchdog still beats (an MPI or network hang); furthest behind:");
        for (int r = 0; r < w->world; r++) {
            long p = r == w->rank ? atomic_load(&w->progress) : last[r].progress;
            if (p == least) ADD(" world rank %d (silo %d, host %s)", r, r == w->rank ? w->silo : last[r].silo,
                                r == w->rank ? w->host : last[r].host);
        }
    }
    ADD(". Stopping the job (exit status %d); resume from the last checkpoint with --resume latest, or raise run.watchdog_s "
        "if a step, evaluation or checkpoint legitimately takes longer\n", WATCHDOG_EXIT);
#undef ADD
    if (write(STDERR_FILENO, msg, len < sizeof msg ? len : sizeof msg - 1) < 0) { /* nowhere else to say it */ }
    _exit(WATCHDOG_EXIT);
}

static void *watch(void *arg)
{
    Watchdog *w = arg;
    long beat = 0, seen = atomic_load(&w->progress);
    double seen_t = now_s(), watch_t = 0, job_t = 0;
    Beat *last = mallocCheck((size_t)w->world * sizeof *last);
    double *beat_t = mallocCheck((size_t)w->world * sizeof *beat_t);
    int watching = 0;
    pthread_mutex_lock(&w->mu);
    while (!w->stopping) {
        struct timespec until;
        clock_gettime(CLOCK_REALTIME, &until);
        double t = (double)until.tv_sec + 1e-9 * (double)until.tv_nsec + w->interval;
        until.tv_sec = (time_t)t;
        until.tv_nsec = (long)((t - (double)until.tv_sec) * 1e9);
        pthread_cond_timedwait(&w->cv, &w->mu, &until);
        if (w->stopping) break;
        write_beat(w, ++beat);
        const double now = now_s();
        const long p = atomic_load_explicit(&w->progress, memory_order_relaxed);
        if (p != seen) {
            seen = p;
            seen_t = now;
            watching = 0;
            continue;
        }
        const double stall = now - seen_t;
        if (stall < 0.5 * w->limit) continue;
        if (!watching) {
            /* Start watching the peers: remember where they are. */
            for (int r = 0; r < w->world; r++) { last[r] = read_beat(w, r); beat_t[r] = now; }
            watch_t = job_t = now;
            watching = 1;
            continue;
        }
        for (int r = 0; r < w->world; r++) {
            if (r == w->rank) { beat_t[r] = now; continue; }
            Beat b = read_beat(w, r);
            if (!b.ok) continue;
            if (b.progress != last[r].progress) job_t = now;
            if (b.beat != last[r].beat || !last[r].ok) beat_t[r] = now;
            last[r] = b;
        }
        if (stall >= w->limit && now - job_t >= 0.5 * w->limit && now - watch_t >= 2.5 * w->interval)
            fire(w, last, beat_t, now, stall);
    }
    pthread_mutex_unlock(&w->mu);
    free(last);
    free(beat_t);
    return NULL;
}

Watchdog *watchdog_start(const char *run_dir, double limit_s, int rank, int world, int silo, char *err, size_t errlen)
{
    Watchdog *w = callocCheck(1, sizeof *w);
    atomic_init(&w->progress, 0);
    w->limit = limit_s;
    w->interval = limit_s / 5 < 0.5 ? 0.5 : limit_s / 5 > 60 ? 60 : limit_s / 5;
    w->rank = rank;
    w->world = world;
    w->silo = silo;
    if (gethostname(w->host, sizeof w->host)) snprintf(w->host, sizeof w->host, "?");
    w->host[sizeof w->host - 1] = '\0';
    for (char *c = w->host; *c; c++) if (*c == ' ') *c = '_';
    snprintf(w->dir, sizeof w->dir, "%s/heartbeat", run_dir);
    beat_path(w, rank, w->path, sizeof w->path);
    if (make_dirs(w->dir) || (w->fd = open(w->path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644)) < 0) {
        snprintf(err, errlen, "%s: cannot write the watchdog's heartbeat: %s (set run.watchdog_s = 0 to run without it)",
                 w->path, strerror(errno));
        free(w);
        return NULL;
    }
    write_beat(w, 0);
    pthread_mutex_init(&w->mu, NULL);
    pthread_cond_init(&w->cv, NULL);
    int e = pthread_create(&w->thread, NULL, watch, w);
    if (e) {
        snprintf(err, errlen, "cannot start the watchdog thread: %s (set run.watchdog_s = 0 to run without it)", strerror(e));
        close(w->fd);
        unlink(w->path);
        pthread_mutex_destroy(&w->mu);
        pthread_cond_destroy(&w->cv);
        free(w);
        return NULL;
    }
    return w;
}

void watchdog_progress(Watchdog *w)
{
    if (w) atomic_fetch_add_explicit(&w->progress, 1, memory_order_relaxed);
}

void watchdog_stop(Watchdog *w)
{
    if (!w) return;
    pthread_mutex_lock(&w->mu);
    w->stopping = 1;
    pthread_cond_signal(&w->cv);
    pthread_mutex_unlock(&w->mu);
    pthread_join(w->thread, NULL);
    close(w->fd);
    unlink(w->path);
    rmdir(w->dir);   /* the last rank out removes the directory; the others' rmdir fails: fine */
    pthread_mutex_destroy(&w->mu);
    pthread_cond_destroy(&w->cv);
    free(w);
}
