/* bench_codec.c: encode and decode throughput of every payload codec (codec.h), against memcpy.
 * usage: bench_codec [MEBI_FLOATS (default 16)] [SECONDS per measurement (default 0.5)]
 * On a Gaussian vector of MEBI_FLOATS·2^20 floats, for fp32, bf16, int8, int4 (block 32, bf16
 * scales, nearest) and topk 1% with int8 values, with 1 thread and with all of them: GB/s per
 * core (float input bytes per second per thread; decode counts the floats it writes) and the
 * ratio to a memcpy of the same 4n bytes timed in the same run on the same thread count. */
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gsl/gsl_randist.h>
#include <gsl/gsl_rng.h>

#include "check.h"
#include "codec.h"

typedef struct {
    const char *label;
    CodecConfig config;
} Case;

typedef struct {
    const CodecConfig *c;
    const float *x;
    float *y;
    void *payload;
    size_t n, bytes;
} Job;

typedef void (*Op)(Job *j);

static void op_memcpy(Job *j) { memcpy(j->y, j->x, j->n * sizeof(float)); }
static void op_encode(Job *j) { j->bytes = codec_for(j->c)->encode(j->c, j->x, j->n, 1, j->payload); }
static void op_decode(Job *j)
{
    if (codec_for(j->c)->decode(j->c, j->payload, j->bytes, j->n, j->y))
        PHOTON_FATAL("decode refused its own payload");
}

// Seconds per call: the best of repeated runs filling `seconds` (after one warm-up call).
static double time_op(Op op, Job *j, double seconds)
{
    op(j);
    double best = 1e30, start = omp_get_wtime();
    do {
        double t0 = omp_get_wtime();
        op(j);
        double t = omp_get_wtime() - t0;
        best = t < best ? t : best;
    } while (omp_get_wtime() - start < seconds);
    return best;
}

int main(int argc, char **argv)
{
    size_t n = (size_t)(argc > 1 ? atof(argv[1]) : 16) * 1048576;
    double seconds = argc > 2 ? atof(argv[2]) : 0.5;
    CodecConfig base = {.kind = CODEC_FP32, .block = 32, .scale = CODEC_SCALE_BF16,
                        .topk_fraction = 0.01, .topk_values = CODEC_INT8,
                        .rounding = CODEC_ROUND_NEAREST, .seed = 1};
    Case cases[] = {{"fp32", base}, {"bf16", base}, {"int8", base}, {"int4", base}, {"topk1%+int8", base}};
    cases[1].config.kind = CODEC_BF16;
    cases[2].config.kind = CODEC_INT8;
    cases[3].config.kind = CODEC_INT4;
    cases[4].config.kind = CODEC_TOPK;

    float *x = mallocCheck(n * sizeof(float)), *y = mallocCheck(n * sizeof(float));
    gsl_rng *r = gsl_rng_alloc(gsl_rng_mt19937);
    for (size_t i = 0; i < n; i++) x[i] = (float)gsl_ran_gaussian_ziggurat(r, 1e-3);
    gsl_rng_free(r);
    size_t cap = 0;
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        size_t b = codec_for(&cases[k].config)->max_bytes(&cases[k].config, n);
        cap = b > cap ? b : cap;
    }
    void *payload = mallocCheck(cap);
    memset(y, 0, n * sizeof(float));
    memset(payload, 0, cap);

    int all = omp_get_max_threads();
    int counts[2] = {1, all};
    printf("bench_codec: n = %zu floats (%.1f MB), block 32, bf16 scales, nearest; %d thread(s) max\n",
           n, n * 4e-6, all);
    printf("GB/s per core = float bytes (4n) / s / threads; ratio = codec time / memcpy time of 4n bytes\n");
    printf("%-12s %7s %9s %10s %7s %10s %7s %9s\n", "codec", "threads", "bytes/val", "enc GB/s", "ratio",
           "dec GB/s", "ratio", "max|err|");
    for (int t = 0; t < (all > 1 ? 2 : 1); t++) {
        omp_set_num_threads(counts[t]);
        Job mj = {.x = x, .y = y, .n = n};
        double tm = time_op(op_memcpy, &mj, seconds);
        printf("%-12s %7d %9s %10.2f %7s %10s %7s %9s\n", "memcpy", counts[t], "4", 4.0 * n / tm / 1e9 / counts[t],
               "1.00", "", "", "");
        for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
            Job j = {.c = &cases[k].config, .x = x, .y = y, .payload = payload, .n = n};
            double te = time_op(op_encode, &j, seconds), td = time_op(op_decode, &j, seconds);
            float err = 0;
            for (size_t i = 0; i < n; i++) {
                float e = x[i] > y[i] ? x[i] - y[i] : y[i] - x[i];
                err = e > err ? e : err;
            }
            printf("%-12s %7d %9.3f %10.2f %7.2f %10.2f %7.2f %9.2g\n", cases[k].label, counts[t],
                   (double)j.bytes / n, 4.0 * n / te / 1e9 / counts[t], te / tm,
                   4.0 * n / td / 1e9 / counts[t], td / tm, err);
        }
    }
    free(payload);
    free(x);
    free(y);
    return 0;
}
