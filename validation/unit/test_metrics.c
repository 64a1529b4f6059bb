/* test_metrics.c: every metrics.jsonl line is strict JSON (non-finite numbers become null,
 * strings are escaped), and a resumed run cuts the file back to the checkpoint's offset. */
#include <jansson.h>
#include <math.h>
#include <mpi.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "metrics.h"

#include "test_check.h"

/* Every line of the file parsed by jansson's strict parser; returns the number of lines. */
static int read_lines(const char *path, json_t **lines, int max)
{
    FILE *f = fopen(path, "r");
    if (!f) return -1;
    char buf[4096];
    int n = 0;
    while (n < max && fgets(buf, sizeof buf, f)) {
        json_error_t e;
        lines[n] = json_loads(buf, 0, &e);
        if (!lines[n]) fprintf(stderr, "not JSON: %s (%s)\n", buf, e.text);
        n++;
    }
    fclose(f);
    return n;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    char dir[] = "/tmp/photon-test-metrics-XXXXXX";
    if (!mkdtemp(dir)) { perror("mkdtemp"); return 1; }
    char path[256], err[512];
    snprintf(path, sizeof path, "%s/metrics.jsonl", dir);

    Metrics mx;
    CHECK(metrics_open(&mx, dir, 0, err, sizeof err) == 0, "metrics_open: %s", err);
    char *name = json_quote("a \"quoted\"\\path\n");
    metrics_record(&mx, "\"type\":\"start\",\"deck\":%s,\"x\":%.3f", name, 1.5);
    free(name);
    metrics_record(&mx, "\"type\":\"step\",\"loss\":%.6f,\"lr\":%.3e,\"v\":[%f,%f],\"s\":\"nan inf :nan\"", NAN, -INFINITY, 2.0, NAN);
    long offset = ftell(mx.jsonl);
    metrics_record(&mx, "\"type\":\"eval\",\"val_loss\":%.6f", 3.25);
    metrics_close(&mx);

    json_t *lines[8] = {0};
    CHECK(read_lines(path, lines, 8) == 3, "3 lines, all strict JSON");
    for (int i = 0; i < 3; i++) CHECK(lines[i] != NULL, "line %d is JSON", i);
    if (lines[0] && lines[1]) {
        CHECK(!strcmp(json_string_value(json_object_get(lines[0], "deck")), "a \"quoted\"\\path\n"),
              "a quoted string round-trips");
        CHECK(json_is_null(json_object_get(lines[1], "loss")), "NaN loss is null");
        CHECK(json_is_null(json_object_get(lines[1], "lr")), "-inf lr is null");
        json_t *v = json_object_get(lines[1], "v");
        CHECK(json_real_value(json_array_get(v, 0)) == 2.0 && json_is_null(json_array_get(v, 1)), "array: 2.0 and null");
        CHECK(!strcmp(json_string_value(json_object_get(lines[1], "s")), "nan inf :nan"), "strings keep 'nan inf'");
    }
    for (int i = 0; i < 8; i++) json_decref(lines[i]);

    /* Resume: the record written after the "checkpoint" goes, new records follow. */
    CHECK(metrics_reopen(&mx, dir, 0, offset, err, sizeof err) == 0, "metrics_reopen: %s", err);
    metrics_record(&mx, "\"type\":\"resume\"");
    metrics_close(&mx);
    memset(lines, 0, sizeof lines);
    CHECK(read_lines(path, lines, 8) == 3, "cut back to the offset + the resume line");
    if (lines[2]) CHECK(!strcmp(json_string_value(json_object_get(lines[2], "type")), "resume"),
                        "the line after the cut is the resume record");
    for (int i = 0; i < 8; i++) json_decref(lines[i]);

    remove(path);
    remove(dir);
    MPI_Finalize();
    if (test_failures) fprintf(stderr, "test_metrics: %d failure(s)\n", test_failures);
    else printf("test_metrics: all passed\n");
    return test_failures ? 1 : 0;
}
