/* metrics.h: what a run reports. Rank 0 writes one JSON object per line to
 * RUN_DIR/metrics.jsonl (records "step", "round", "eval", "start", "end") and prints progress
 * lines; every other rank passes NULL and stays quiet. */
#ifndef PHOTON_METRICS_H
#define PHOTON_METRICS_H

#include <stdio.h>

typedef struct {
    FILE *jsonl;      /* NULL on ranks other than 0 */
    double start_s;   /* MPI_Wtime at the start of training */
    char path[4096];  /* RUN_DIR/metrics.jsonl (rank 0) */
    int write_errno;  /* the first failed write's errno (0: none): records are lost from there */
} Metrics;

/* Opens RUN_DIR/metrics.jsonl for writing (truncates) on rank 0. Returns 0 or -1 + message. */
int metrics_open(Metrics *mx, const char *run_dir, int rank, char *err, size_t errlen);
/* Writes one record: `fmt` is the body of a JSON object without braces. */
void metrics_record(Metrics *mx, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* 0, or -1 with a message naming the file and the cause when a record could not be written. */
int metrics_status(const Metrics *mx, char *err, size_t errlen);
/* Flushes and fsyncs metrics.jsonl at the end of a run: 0, or -1 with a message (a write
 * failed, now or earlier). Ranks other than 0: 0. */
int metrics_sync(Metrics *mx, char *err, size_t errlen);
void metrics_close(Metrics *mx);
/* A resumed run: cuts RUN_DIR/metrics.jsonl back to `offset` bytes (where the checkpoint was
 * written, so records written after it by a killed run appear once) and appends, on rank 0. */
int metrics_reopen(Metrics *mx, const char *run_dir, int rank, long long offset, char *err, size_t errlen);
/* `s` as a JSON string literal with its quotes, escaped (jansson); free() it. Never NULL. */
char *json_quote(const char *s);

/* "01:02:03" for a duration in seconds. */
void format_duration(double seconds, char *buf, size_t len);
/* Creates a directory and its parents (mkdir -p). Returns 0 or -1 with errno set. */
int make_dirs(const char *path);

#endif
