/* metrics.c: metrics.jsonl and small helpers of the run directory. */
#include "metrics.h"

#include <errno.h>
#include <mpi.h>
#include <stdarg.h>
#include <string.h>
#include <sys/stat.h>

int make_dirs(const char *path)
{
    char buf[4096];
    if (snprintf(buf, sizeof buf, "%s", path) >= (int)sizeof buf) { errno = ENAMETOOLONG; return -1; }
    for (char *p = buf + 1; *p; p++) {
        if (*p != '/') continue;
        *p = 0;
        if (mkdir(buf, 0777) && errno != EEXIST) return -1;
        *p = '/';
    }
    if (mkdir(buf, 0777) && errno != EEXIST) return -1;
    return 0;
}

int metrics_open(Metrics *mx, const char *run_dir, int rank, char *err, size_t errlen)
{
    mx->jsonl = NULL;
    mx->start_s = MPI_Wtime();
    if (rank != 0) return 0;
    char path[4096];
    snprintf(path, sizeof path, "%s/metrics.jsonl", run_dir);
    mx->jsonl = fopen(path, "w");
    if (!mx->jsonl) {
        snprintf(err, errlen, "%s: cannot create: %s (check [run] dir)", path, strerror(errno));
        return -1;
    }
    return 0;
}

void metrics_record(Metrics *mx, const char *fmt, ...)
{
    if (!mx->jsonl) return;
    va_list ap;
    va_start(ap, fmt);
    fputc('{', mx->jsonl);
    vfprintf(mx->jsonl, fmt, ap);
    fputs("}\n", mx->jsonl);
    va_end(ap);
    /* A run that dies keeps every record written so far. */
    fflush(mx->jsonl);
}

void metrics_close(Metrics *mx)
{
    if (mx->jsonl) fclose(mx->jsonl);
    mx->jsonl = NULL;
}

void format_duration(double seconds, char *buf, size_t len)
{
    if (!(seconds >= 0) || seconds > 1e8) { snprintf(buf, len, "--:--:--"); return; }
    long s = (long)(seconds + 0.5);
    snprintf(buf, len, "%02ld:%02ld:%02ld", s / 3600, s / 60 % 60, s % 60);
}
