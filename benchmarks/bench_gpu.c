/* bench_gpu.c: training throughput, MFU and memory of the CUDA GPT model on one GPU, and the
 * largest GPT-2-shaped model that fits it. Built with ./configure --with-cuda; see
 * doc/performance.md, "GPU".
 *
 * usage: bench_gpu [-L layers] [-H heads] [-C channels] [-V vocab] [-T seq_len] [-B batch]
 *                  [-n steps] [-b bias] [-p fp32|bf16] [--largest]
 *   defaults: GPT-2 124M: -L 12 -H 12 -C 768 -V 50257 -T 1024 -B 16 -n 20 -b 1 -p bf16
 *
 * One step = zero_grad + forward + backward + clip + AdamW over all parameters, on random
 * tokens; 3 warm-up steps are not timed. Reported:
 *   tokens/s      B*T*steps / time of the timed steps
 *   TFLOP/s, MFU  tokens/s * (6N + 6*L*C*T) (llm.c's count, as bench_train), against the dense
 *                 bf16 peak of the GPU, taken from a table by device name (printed)
 *   memory        what the model allocated, and the device memory in use after the steps
 *                 (total - free: the model plus cuBLAS's buffers and the CUDA context)
 * --largest: GPT-2-shaped configurations of growing size (T = 1024, B = 1, bias, bf16) are
 * planned without allocating; the largest whose plan fits in 90% of free memory is built and
 * timed like the default run. */
#include <cuda_runtime.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "check.h"
#include "gpt.h"
#include "gpt_cuda.h"

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec + 1e-9 * ts.tv_nsec;
}

/* Dense (no sparsity) bf16 tensor-core peaks from the vendors' data sheets, by device name. */
static double bf16_peak_flops(const char *name)
{
    static const struct { const char *match; double tflops; } table[] = {
        {"H100 PCIe", 756}, {"H100", 989}, {"H200", 989}, {"H800", 989}, {"A100", 312},
        {"A800", 312},      {"L40S", 362}, {"A10", 125},
    };
    for (size_t i = 0; i < sizeof table / sizeof table[0]; i++)
        if (strstr(name, table[i].match)) return table[i].tflops * 1e12;
    return 0.0;
}

typedef struct { int L, NH, C, V, T, B, bias; } Shape;

/* Time `steps` steps of shape s (after 3 warm-up steps) and print one report. */
static void run(const Shape *s, int steps, PrecisionKind prec, const char *device)
{
    GPTConfig c = {.max_seq_len = s->T, .vocab_size = s->V, .num_layers = s->L,
                   .num_heads = s->NH, .channels = s->C, .bias = s->bias};
    char err[256];
    if (gpt_config_check(&c, err, sizeof err)) {
        fprintf(stderr, "bench_gpu: %s\n", err);
        exit(2);
    }
    GPT host; // the CPU model only for the initial weights and the layout
    gpt_build(&host, &c, 1, 1);
    gpt_init_weights(&host, 42);
    GpuModel *m = gpu_model_build(&c, s->B, s->T, prec);
    gpu_model_upload_params(m, host.params_memory);
    const size_t BT = (size_t)s->B * s->T, N = host.num_parameters;
    int *inp = mallocCheck(BT * sizeof(int)), *tgt = mallocCheck(BT * sizeof(int));
    unsigned state = 1;
    for (size_t i = 0; i < BT; i++) {
        state = state * 1664525u + 1013904223u;
        inp[i] = (int)((state >> 8) % (unsigned)s->V);
        tgt[i] = (int)((state >> 4) % (unsigned)s->V);
    }
    double t0 = 0.0;
    float loss = 0.0f;
    for (int step = 0; step < steps + 3; step++) {
        if (step == 3) {
            gpu_model_synchronize(m);
            t0 = now();
        }
        gpu_model_zero_grad(m);
        loss = gpu_model_forward(m, inp, tgt, s->B, s->T); // waits for the loss: one sync per step
        gpu_model_backward(m);
        gpu_model_clip_grad_norm(m, 1.0);
        gpu_model_adamw_update(m, 1e-4f, 0.9f, 0.95f, 1e-8f, 0.1f, step + 1);
    }
    gpu_model_synchronize(m);
    const double dt = now() - t0;
    size_t free_b, total_b;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) free_b = total_b = 0;
    const double tok_s = (double)BT * steps / dt;
    const double flops_tok = 6.0 * N + 6.0 * s->L * s->C * s->T;
    const double peak = bf16_peak_flops(device);
    printf("model L=%d C=%d NH=%d T=%d V=%d bias=%d: %zu parameters (%.1fM), B=%d, %s\n", s->L,
           s->C, s->NH, s->T, s->V, s->bias, N, N / 1e6, s->B, prec == PRECISION_BF16 ? "bf16" : "fp32");
    printf("  %d steps in %.3f s: %.0f tokens/s, %.1f ms/step, last loss %.4f\n", steps, dt, tok_s,
           1e3 * dt / steps, loss);
    printf("  %.1f TFLOP/s (%.4g FLOP/token)", tok_s * flops_tok / 1e12, flops_tok);
    if (peak > 0) printf(", MFU %.1f%% of %.0f TFLOP/s\n", 100.0 * tok_s * flops_tok / peak, peak / 1e12);
    else printf(", MFU unknown (no bf16 peak on record for this GPU)\n");
    printf("  memory: model %.2f GiB, device in use %.2f of %.2f GiB\n",
           gpu_model_device_bytes(m) / 1073741824.0, (total_b - free_b) / 1073741824.0,
           total_b / 1073741824.0);
    fflush(stdout);
    free(inp);
    free(tgt);
    gpu_model_free(m);
    gpt_free(&host);
}

/* The largest of a ladder of GPT-2-shaped models (GPT-2 124M to 1.5B, then wider) whose plan
 * fits in 90% of the free memory; the rest is left to cuBLAS and the context. */
static int largest_fitting(Shape *out, PrecisionKind prec)
{
    static const Shape ladder[] = {
        {12, 12, 768, 50257, 1024, 1, 1},   {24, 16, 1024, 50257, 1024, 1, 1},
        {36, 20, 1280, 50257, 1024, 1, 1},  {48, 25, 1600, 50257, 1024, 1, 1},
        {32, 32, 2560, 50257, 1024, 1, 1},  {40, 40, 3200, 50257, 1024, 1, 1},
        {32, 32, 4096, 50257, 1024, 1, 1},  {40, 40, 5120, 50257, 1024, 1, 1},
        {48, 48, 6144, 50257, 1024, 1, 1},  {64, 64, 8192, 50257, 1024, 1, 1},
    };
    size_t free_b, total_b;
    if (cudaMemGetInfo(&free_b, &total_b) != cudaSuccess) return -1;
    int found = -1;
    for (size_t i = 0; i < sizeof ladder / sizeof ladder[0]; i++) {
        const Shape *s = &ladder[i];
        GPTConfig c = {.max_seq_len = s->T, .vocab_size = s->V, .num_layers = s->L,
                       .num_heads = s->NH, .channels = s->C, .bias = s->bias};
        size_t need = gpu_model_plan_bytes(&c, s->B, s->T, prec);
        printf("  L=%d C=%d NH=%d: plan %.2f GiB %s\n", s->L, s->C, s->NH, need / 1073741824.0,
               need <= 0.9 * free_b ? "fits" : "does not fit");
        if (need <= 0.9 * free_b) found = (int)i;
    }
    if (found < 0) return -1;
    *out = ladder[found];
    return 0;
}

int main(int argc, char **argv)
{
    Shape s = {12, 12, 768, 50257, 1024, 16, 1};
    int steps = 20, largest = 0;
    PrecisionKind prec = PRECISION_BF16;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (!strcmp(a, "--largest")) { largest = 1; continue; }
        if (i + 1 >= argc || a[0] != '-' || strlen(a) != 2) {
            fprintf(stderr, "usage: bench_gpu [-L layers] [-H heads] [-C channels] [-V vocab] [-T seq_len] "
                            "[-B batch] [-n steps] [-b bias] [-p fp32|bf16] [--largest]\n");
            return 2;
        }
        const char *v = argv[++i];
        switch (a[1]) {
        case 'L': s.L = atoi(v); break;
        case 'H': s.NH = atoi(v); break;
        case 'C': s.C = atoi(v); break;
        case 'V': s.V = atoi(v); break;
        case 'T': s.T = atoi(v); break;
        case 'B': s.B = atoi(v); break;
        case 'n': steps = atoi(v); break;
        case 'b': s.bias = atoi(v); break;
        case 'p': prec = !strcmp(v, "fp32") ? PRECISION_FP32 : PRECISION_BF16; break;
        default: fprintf(stderr, "bench_gpu: unknown option %s\n", a); return 2;
        }
    }
    if (gpu_device_count() == 0) {
        fprintf(stderr, "bench_gpu: no CUDA device visible\n");
        return 77;
    }
    gpu_select_device(0);
    char name[256];
    size_t total;
    gpu_device_info(name, sizeof name, &total);
    double peak = bf16_peak_flops(name);
    printf("device: %s, %.1f GiB; dense bf16 peak assumed: ", name, total / 1073741824.0);
    if (peak > 0) printf("%.0f TFLOP/s (data sheet, by name)\n", peak / 1e12);
    else printf("unknown for this name\n");
    if (steps < 1 || s.B < 1) {
        fprintf(stderr, "bench_gpu: -n and -B must be at least 1\n");
        return 2;
    }
    run(&s, steps, prec, name);
    if (largest) {
        Shape big;
        printf("largest model that fits (T=1024, B=1, %s):\n", prec == PRECISION_BF16 ? "bf16" : "fp32");
        if (largest_fitting(&big, prec)) {
            printf("  none of the ladder fits\n");
            return 1;
        }
        run(&big, steps < 5 ? steps : 5, prec, name);
    }
    return 0;
}
