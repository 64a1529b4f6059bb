/* bench_train.c: training throughput of the CPU GPT model, and how it compares with this
 * machine's sgemm, measured in the same run.
 *
 * usage: bench_train [-L layers] [-H heads] [-C channels] [-V vocab] [-T seq_len] [-B batch]
 *                    [-n steps] [-b bias]
 *   defaults: -L 4 -H 4 -C 256 -V 8192 -T 256 -B 4 -n 10 -b 1 (GPT-2 biases, as llm.c)
 *
 * One step = zero_grad + forward + backward + AdamW over all parameters, on random tokens; one
 * warm-up step is not timed. Reported:
 *   tokens/s           B*T*steps / time of the timed steps
 *   model GFLOP/s      tokens/s * (6N + 6*L*C*T) (the llm.c / PaLM count; N = parameters,
 *                      wpe included; causal attention counted in full)
 *   sgemm GFLOP/s      best of 5 runs of each of the LM head's three products (the model's
 *                      biggest: (BT,C)x(C,V), (BT,V)x(V,C), (V,BT)x(BT,C)), best shape
 *   ratio              model / sgemm
 *   memory             gpt peak_bytes and the process's max RSS
 * Threads: OMP_NUM_THREADS (OpenBLAS's OpenMP build shares the pool). */
#include <cblas.h>
#include <gsl/gsl_rng.h>
#include <omp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include "gpt.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

/* Best-of-reps rate of one sgemm C (M, N) = op(A) op(B), row-major. */
static double sgemm_gflops(int transa, int transb, int M, int N, int K, int reps)
{
    float *A = malloc(sizeof(float) * M * K), *Bm = malloc(sizeof(float) * K * N);
    float *Cm = malloc(sizeof(float) * M * N);
    for (long i = 0; i < (long)M * K; i++) A[i] = 0.001f * (float)(i % 17);
    for (long i = 0; i < (long)K * N; i++) Bm[i] = 0.001f * (float)(i % 13);
    double best = 1e30;
    for (int r = 0; r < reps; r++) {
        double t0 = now();
        cblas_sgemm(CblasRowMajor, transa ? CblasTrans : CblasNoTrans,
                    transb ? CblasTrans : CblasNoTrans, M, N, K, 1.0f, A, transa ? M : K, Bm,
                    transb ? K : N, 0.0f, Cm, N);
        double t = now() - t0;
        if (t < best) best = t;
    }
    free(A);
    free(Bm);
    free(Cm);
    return 2.0 * M * N * K / best / 1e9;
}

static void usage(const char *prog)
{
    fprintf(stderr,
            "usage: %s [-L layers] [-H heads] [-C channels] [-V vocab] [-T seq_len] [-B batch] "
            "[-n steps] [-b bias]\n"
            "defaults: -L 4 -H 4 -C 256 -V 8192 -T 256 -B 4 -n 10 -b 1\n",
            prog);
}

int main(int argc, char **argv)
{
    GPTConfig c = {.max_seq_len = 256, .vocab_size = 8192, .num_layers = 4, .num_heads = 4,
                   .channels = 256, .bias = 1};
    int B = 4, T = 256, steps = 10, opt;
    while ((opt = getopt(argc, argv, "L:H:C:V:T:B:n:b:h")) != -1) {
        switch (opt) {
        case 'L': c.num_layers = atoi(optarg); break;
        case 'H': c.num_heads = atoi(optarg); break;
        case 'C': c.channels = atoi(optarg); break;
        case 'V': c.vocab_size = atoi(optarg); break;
        case 'T': T = atoi(optarg); break;
        case 'B': B = atoi(optarg); break;
        case 'n': steps = atoi(optarg); break;
        case 'b': c.bias = atoi(optarg); break;
        case 'h': usage(argv[0]); return 0;
        default: usage(argv[0]); return 2;
        }
    }
    c.max_seq_len = T;
    char err[256];
    if (gpt_config_check(&c, err, sizeof err)) {
        fprintf(stderr, "bench_train: %s\n", err);
        return 2;
    }
    if (B < 1 || T < 1 || steps < 1) {
        fprintf(stderr, "bench_train: -B, -T and -n must be at least 1\n");
        return 2;
    }

    const char *core = openblas_get_corename();
    printf("bench_train: L=%d NH=%d C=%d V=%d T=%d B=%d bias=%d, %d timed steps\n", c.num_layers,
           c.num_heads, c.channels, c.vocab_size, T, B, c.bias, steps);
    printf("threads: OpenMP %d, OpenBLAS %d (core %s)\n", omp_get_max_threads(),
           openblas_get_num_threads(), core);
    __builtin_cpu_init();
    if (!strcmp(core, "Prescott") && __builtin_cpu_supports("avx512f"))
        printf("note: OpenBLAS did not recognise this AVX-512 CPU and runs its generic SSE3 "
               "kernels;\n      OPENBLAS_CORETYPE=SkylakeX selects the AVX-512 ones "
               "(see doc/performance.md)\n");

    GPT m;
    gpt_build(&m, &c, B, T);
    gpt_init_weights(&m, 1);
    float *mom = calloc(m.num_parameters, sizeof(float));
    float *var = calloc(m.num_parameters, sizeof(float));
    int *x = malloc(sizeof(int) * B * T), *y = malloc(sizeof(int) * B * T);
    gsl_rng *rng = gsl_rng_alloc(gsl_rng_mt19937);
    gsl_rng_set(rng, 1);

    double *t_step = malloc(sizeof(double) * steps);
    double t_fwd = 0, t_bwd = 0, t_upd = 0, total = 0;
    for (int s = -1; s < steps; s++) { // s = -1: warm-up
        for (int i = 0; i < B * T; i++) {
            x[i] = (int)gsl_rng_uniform_int(rng, c.vocab_size);
            y[i] = (int)gsl_rng_uniform_int(rng, c.vocab_size);
        }
        double t0 = now();
        gpt_zero_grad(&m);
        gpt_forward(&m, x, y, B, T);
        double t1 = now();
        gpt_backward(&m);
        double t2 = now();
        gpt_adamw_update(&m, mom, var, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, s + 2);
        double t3 = now();
        if (s < 0) continue;
        t_step[s] = t3 - t0;
        total += t3 - t0;
        t_fwd += t1 - t0;
        t_bwd += t2 - t1;
        t_upd += t3 - t2;
    }
    qsort(t_step, steps, sizeof(double), cmp_double);

    const double N = (double)m.num_parameters;
    const double flops_per_token =
        6.0 * N + 6.0 * c.num_layers * (double)c.channels * (double)T;
    const double tokens_per_s = (double)B * T * steps / total;
    const double model_gflops = tokens_per_s * flops_per_token / 1e9;

    const int BT = B * T, V = c.vocab_size, C = c.channels;
    double g_fwd = sgemm_gflops(0, 1, BT, V, C, 5);  // logits = lnf . wte^T
    double g_dinp = sgemm_gflops(0, 0, BT, C, V, 5); // dlnf = dlogits . wte
    double g_dw = sgemm_gflops(1, 0, V, C, BT, 5);   // dwte = dlogits^T . lnf
    double sgemm = g_fwd > g_dinp ? g_fwd : g_dinp;
    if (g_dw > sgemm) sgemm = g_dw;

    struct rusage ru;
    getrusage(RUSAGE_SELF, &ru);
    printf("parameters          %zu (%.2f M)\n", m.num_parameters, N / 1e6);
    printf("FLOPs per token     %.4g (6N + 6LCT)\n", flops_per_token);
    printf("step time           median %.1f ms, min %.1f ms (forward %.1f, backward %.1f, "
           "AdamW %.1f ms mean)\n",
           1e3 * t_step[steps / 2], 1e3 * t_step[0], 1e3 * t_fwd / steps, 1e3 * t_bwd / steps,
           1e3 * t_upd / steps);
    printf("tokens/s            %.0f\n", tokens_per_s);
    printf("model GFLOP/s       %.1f\n", model_gflops);
    printf("sgemm GFLOP/s       %.1f (LM head shapes: NT %.1f, NN %.1f, TN %.1f)\n", sgemm, g_fwd,
           g_dinp, g_dw);
    printf("ratio               %.1f%% of sgemm\n", 100.0 * model_gflops / sgemm);
    printf("memory              gpt peak_bytes %.1f MiB, max RSS %.1f MiB\n",
           m.peak_bytes / 1048576.0, ru.ru_maxrss / 1024.0);

    gsl_rng_free(rng);
    free(t_step);
    free(x);
    free(y);
    free(mom);
    free(var);
    gpt_free(&m);
    return 0;
}
