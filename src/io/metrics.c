/* metrics.c: metrics.jsonl and small helpers of the run directory. */
#include "metrics.h"

#include <errno.h>
#include <glib.h>
#include <jansson.h>
#include <mpi.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

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

/* The state every rank keeps, opened or not: the clock, the path. */
static void metrics_start(Metrics *mx, const char *run_dir)
{
    mx->jsonl = NULL;
    mx->start_s = MPI_Wtime();
    mx->write_errno = 0;
    snprintf(mx->path, sizeof mx->path, "%s/metrics.jsonl", run_dir);
}

int metrics_open(Metrics *mx, const char *run_dir, int rank, char *err, size_t errlen)
{
    metrics_start(mx, run_dir);
    if (rank != 0) return 0;
    const char *path = mx->path;
    mx->jsonl = fopen(path, "w");
    if (!mx->jsonl) {
        snprintf(err, errlen, "%s: cannot create: %s (check [run] dir)", path, strerror(errno));
        return -1;
    }
    return 0;
}

int metrics_reopen(Metrics *mx, const char *run_dir, int rank, long long offset, char *err, size_t errlen)
{
    metrics_start(mx, run_dir);
    if (rank != 0) return 0;
    const char *path = mx->path;
    struct stat sb;
    if (stat(path, &sb) || sb.st_size < offset) {
        fprintf(stderr, "photon train: warning: %s is shorter than when the checkpoint was written; appending to it as it is\n", path);
    } else if (truncate(path, (off_t)offset)) {
        snprintf(err, errlen, "%s: cannot truncate to the checkpoint's %lld bytes: %s", path, offset, strerror(errno));
        return -1;
    }
    mx->jsonl = fopen(path, "a");
    if (!mx->jsonl) {
        snprintf(err, errlen, "%s: cannot append: %s", path, strerror(errno));
        return -1;
    }
    return 0;
}

char *json_quote(const char *s)
{
    json_t *str = json_string(s);   /* NULL for text that is not UTF-8 */
    char *out = str ? json_dumps(str, JSON_ENCODE_ANY) : NULL;
    json_decref(str);
    return out ? out : strdup("\"(not UTF-8)\"");
}

/* printf writes a non-finite double as nan or inf, which JSON does not have: outside string
 * literals, such a token becomes null so that every line stays parseable. */
static void write_json_body(FILE *f, const char *body)
{
    int in_string = 0;
    for (const char *p = body; *p; p++) {
        if (in_string) {
            if (*p == '\\' && p[1]) fputc(*p++, f);
            else if (*p == '"') in_string = 0;
            fputc(*p, f);
            continue;
        }
        if (*p == '"') in_string = 1;
        const char *q = p + (*p == '-');
        size_t skip = 0;
        if (!strncmp(q, "nan", 3)) skip = 3;
        else if (!strncmp(q, "inf", 3)) skip = 3;
        if (skip && (p == body || strchr(":,[", p[-1]))) {
            fputs("null", f);
            p = q + skip - 1;
            continue;
        }
        fputc(*p, f);
    }
}

void metrics_record(Metrics *mx, const char *fmt, ...)
{
    if (!mx->jsonl) return;
    va_list ap;
    va_start(ap, fmt);
    char *body = g_strdup_vprintf(fmt, ap);
    va_end(ap);
    errno = 0;
    fputc('{', mx->jsonl);
    write_json_body(mx->jsonl, body);
    fputs("}\n", mx->jsonl);
    g_free(body);
    /* A run that dies keeps every record written so far; one that cannot write says so. */
    if ((fflush(mx->jsonl) || ferror(mx->jsonl)) && !mx->write_errno) mx->write_errno = errno ? errno : EIO;
}

int metrics_status(const Metrics *mx, char *err, size_t errlen)
{
    if (!mx->write_errno) return 0;
    snprintf(err, errlen, "%s: cannot write: %s (records are missing from there on)", mx->path, strerror(mx->write_errno));
    return -1;
}

int metrics_sync(Metrics *mx, char *err, size_t errlen)
{
    if (!mx->jsonl) return metrics_status(mx, err, errlen);
    errno = 0;
    if ((fflush(mx->jsonl) || ferror(mx->jsonl) || fsync(fileno(mx->jsonl))) && !mx->write_errno)
        mx->write_errno = errno ? errno : EIO;
    return metrics_status(mx, err, errlen);
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
