/* test_gpu.c: the CUDA model (kernels/gpt_cuda.h) against the CPU model (src/model/gpt.h), the oracle,
 * on the same weights and tokens. Run by `make check-gpu`; exits 77 (skipped) where no GPU is
 * visible, so it can run anywhere.
 *
 * For a tiny model (L=2, C=64, NH=4, V=512, T=32, B=4), with and without biases:
 *   fp32: loss, logits and every gradient tensor within a relative error of 1e-4, also for a
 *         forward smaller than the planned batch (B=3, T=20);
 *   bf16: the same within the bf16 tolerances below;
 *   both: 20 AdamW steps (clipping on) follow the CPU's loss curve.
 * Errors are normwise per tensor: max|gpu - cpu| / max|cpu| (an element-wise relative error is
 * meaningless for the many entries near zero).
 *
 * The bf16 tolerances: bf16 keeps 8 significant bits (relative rounding 2^-9 = 0.2%); every
 * activation and the weights the products read are rounded to it, and the errors of L = 2 blocks
 * add up: loss 1e-2, logits 3e-2, gradients 1e-1, 20-step losses 3e-2. */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "gpt.h"
#include "gpt_cuda.h"
#include "optim.h"
#include "test_check.h"

#define TOL_FP32 1e-4
#define TOL_FP32_CURVE 1e-3
#define TOL_BF16_LOSS 1e-2
#define TOL_BF16_LOGITS 3e-2
#define TOL_BF16_GRADS 1e-1
#define TOL_BF16_CURVE 3e-2
#define TRAIN_STEPS 20

/* max|a - b| / max|b|: the normwise relative error of a against the reference b. */
static double rel_error(const float *a, const float *b, size_t n)
{
    double diff = 0.0, ref = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = fabs((double)a[i] - b[i]), r = fabs((double)b[i]);
        if (d > diff || isnan(d)) diff = isnan(d) ? INFINITY : d;
        if (r > ref) ref = r;
    }
    return diff / (ref > 0.0 ? ref : 1.0);
}

static void expect(const char *what, double err, double tol)
{
    int ok = err <= tol;
    printf("  %-4s %-28s rel err %.3e (tol %.0e)\n", ok ? "ok" : "FAIL", what, err, tol);
    CHECK(ok, "%s: rel err %.3e > tol %.0e", what, err, tol);
}

/* Deterministic tokens in [0, V). */
static void fill_tokens(int *tok, size_t n, int V, unsigned *state)
{
    for (size_t i = 0; i < n; i++) {
        *state = *state * 1664525u + 1013904223u;
        tok[i] = (int)((*state >> 8) % (unsigned)V);
    }
}

/* One forward + backward on both models with batch (B, T); compares loss, logits, gradients. */
static void compare_pass(GPT *cpu, GpuModel *gpu, const int *inp, const int *tgt, int B, int T,
                         double tol_loss, double tol_logits, double tol_grads, const char *tag)
{
    const size_t n = cpu->num_parameters, nl = (size_t)B * T * cpu->config.vocab_size;
    char what[64];
    gpt_zero_grad(cpu);
    gpt_forward(cpu, inp, tgt, B, T);
    gpt_backward(cpu);
    gpu_model_zero_grad(gpu);
    float loss = gpu_model_forward(gpu, inp, tgt, B, T);
    gpu_model_backward(gpu);

    snprintf(what, sizeof what, "%s loss", tag);
    expect(what, fabs((double)loss - cpu->mean_loss) / fabs((double)cpu->mean_loss), tol_loss);
    float *logits = mallocCheck(nl * sizeof(float));
    gpu_model_download_logits(gpu, logits);
    snprintf(what, sizeof what, "%s logits", tag);
    expect(what, rel_error(logits, gpt_logits(cpu), nl), tol_logits);
    free(logits);

    float *grads = mallocCheck(n * sizeof(float));
    gpu_model_download_grads(gpu, grads);
    size_t off = 0;
    for (int i = 0; i < GPT_NUM_TENSORS; i++) {
        size_t len = cpu->tensor_sizes[i];
        if (len) {
            snprintf(what, sizeof what, "%s d%s", tag, gpt_tensor_name(i));
            expect(what, rel_error(grads + off, cpu->grads_memory + off, len), tol_grads);
        }
        off += len;
    }
    free(grads);
}

/* TRAIN_STEPS AdamW steps with clipping from the same weights on fresh batches: the GPU's loss
 * at each step against the CPU's. */
static void compare_training(const GPTConfig *c, int B, int T, PrecisionKind precision, double tol)
{
    GPT cpu;
    gpt_build(&cpu, c, B, T);
    gpt_init_weights(&cpu, 1234);
    const size_t n = cpu.num_parameters;
    GpuModel *gpu = gpu_model_build(c, B, T, precision);
    gpu_model_upload_params(gpu, cpu.params_memory);
    float *mom = callocCheck(n, sizeof(float)), *var = callocCheck(n, sizeof(float));
    int *inp = mallocCheck((size_t)B * T * sizeof(int)), *tgt = mallocCheck((size_t)B * T * sizeof(int));
    unsigned state = 99;
    double worst = 0.0;
    for (long t = 1; t <= TRAIN_STEPS; t++) {
        fill_tokens(inp, (size_t)B * T, c->vocab_size, &state);
        fill_tokens(tgt, (size_t)B * T, c->vocab_size, &state);
        gpt_zero_grad(&cpu);
        gpt_forward(&cpu, inp, tgt, B, T);
        gpt_backward(&cpu);
        clip_grad_norm(cpu.grads_memory, n, 1.0);
        gpt_adamw_update(&cpu, mom, var, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
        gpu_model_zero_grad(gpu);
        float loss = gpu_model_forward(gpu, inp, tgt, B, T);
        gpu_model_backward(gpu);
        gpu_model_clip_grad_norm(gpu, 1.0);
        gpu_model_adamw_update(gpu, 1e-3f, 0.9f, 0.95f, 1e-8f, 0.1f, t);
        double e = fabs((double)loss - cpu.mean_loss) / fabs((double)cpu.mean_loss);
        if (e > worst || isnan(e)) worst = isnan(e) ? INFINITY : e;
        if (t == 1 || t == TRAIN_STEPS)
            printf("  step %2ld: loss cpu %.6f gpu %.6f\n", t, cpu.mean_loss, loss);
    }
    char what[64];
    snprintf(what, sizeof what, "%s %d-step loss curve", precision == PRECISION_BF16 ? "bf16" : "fp32",
             TRAIN_STEPS);
    expect(what, worst, tol);
    free(inp);
    free(tgt);
    free(mom);
    free(var);
    gpu_model_free(gpu);
    gpt_free(&cpu);
}

int main(void)
{
    int count = gpu_device_count();
    if (count == 0) {
        printf("test_gpu: no CUDA device visible: skipped\n");
        return 77;
    }
    gpu_select_device(0);
    char name[256];
    size_t total;
    gpu_device_info(name, sizeof name, &total);
    printf("test_gpu: %s, %.1f GiB\n", name, total / 1073741824.0);

    enum { B = 4, T = 32 };
    for (int bias = 1; bias >= 0; bias--) {
        GPTConfig c = {.max_seq_len = T, .vocab_size = 512, .num_layers = 2, .num_heads = 4,
                       .channels = 64, .bias = bias};
        printf("bias = %d\n", bias);
        GPT cpu;
        gpt_build(&cpu, &c, B, T);
        gpt_init_weights(&cpu, 1234);
        int inp[B * T], tgt[B * T];
        unsigned state = 7;
        fill_tokens(inp, B * T, c.vocab_size, &state);
        fill_tokens(tgt, B * T, c.vocab_size, &state);

        GpuModel *g32 = gpu_model_build(&c, B, T, PRECISION_FP32);
        gpu_model_upload_params(g32, cpu.params_memory);
        compare_pass(&cpu, g32, inp, tgt, B, T, TOL_FP32, TOL_FP32, TOL_FP32, "fp32");
        compare_pass(&cpu, g32, inp, tgt, 3, 20, TOL_FP32, TOL_FP32, TOL_FP32, "fp32 B=3 T=20");
        gpu_model_free(g32);

        GpuModel *g16 = gpu_model_build(&c, B, T, PRECISION_BF16);
        gpu_model_upload_params(g16, cpu.params_memory);
        compare_pass(&cpu, g16, inp, tgt, B, T, TOL_BF16_LOSS, TOL_BF16_LOGITS, TOL_BF16_GRADS, "bf16");
        gpu_model_free(g16);
        gpt_free(&cpu);

        compare_training(&c, B, T, PRECISION_FP32, TOL_FP32_CURVE);
        compare_training(&c, B, T, PRECISION_BF16, TOL_BF16_CURVE);
    }
    printf("test_gpu: %s (%d failure%s)\n", test_failures ? "FAILED" : "passed", test_failures,
           test_failures == 1 ? "" : "s");
    return test_failures ? 1 : 0;
}
