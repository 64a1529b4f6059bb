/* gpt_dump.c: the C side of the PyTorch comparison (see torch_gpt.py, test_torch.sh).
 *
 * usage: gpt_dump OUT.h5 BIAS
 *
 * Builds the tiny config (L=2, C=64, NH=4, V=512, maxT=64; batch B=4, T=32) with GPT-2 biases
 * (BIAS=1) or without (BIAS=0) and writes to OUT.h5:
 *   /config                attributes max_seq_len vocab_size num_layers num_heads channels bias
 *   /init/NAME             initial weights, one dataset per non-empty tensor, shaped as torch
 *   /batch/inputs,targets  (B, T) int32
 *   /forward/logits        (B, T, V) and /forward/loss (scalar)
 *   /grads/NAME            d(loss)/d(NAME) at the initial weights
 *   /train/inputs,targets  (STEPS, B, T): the batch of each AdamW step
 *   /train/loss            (STEPS) loss of each step's forward, before its update
 *   /train/grad_norm       (STEPS) global gradient norm before clipping
 *   /train/lr              (STEPS) learning rate used by each step
 *   /train/final/NAME      weights after the last step
 *   /train attributes      lr warmup_steps total_steps final_fraction beta1 beta2 eps
 *                          weight_decay max_norm
 * The steps use the schedule, decay groups and clipping that training uses; max_norm is chosen
 * below the gradient norm so that clipping happens at every step (checked here). */
#include <hdf5.h>
#include <stdio.h>
#include <stdlib.h>

#include "check.h"
#include "gpt.h"
#include "optim.h"

enum { B = 4, T = 32, STEPS = 10 };

/* One dataset of `rank` dims of `type` (a native HDF5 type) holding `data`. */
static void write_array(hid_t loc, const char *name, hid_t type, const void *data, int rank,
                        const hsize_t *dims)
{
    hid_t space = H5Screate_simple(rank, dims, NULL);
    h5Check(space);
    hid_t d = H5Dcreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    h5Check(d);
    h5Check(H5Dwrite(d, type, H5S_ALL, H5S_ALL, H5P_DEFAULT, data));
    h5Check(H5Dclose(d));
    h5Check(H5Sclose(space));
}

static void write_floats(hid_t loc, const char *name, const float *data, int rank,
                         const hsize_t *dims)
{
    write_array(loc, name, H5T_NATIVE_FLOAT, data, rank, dims);
}

static void write_ints(hid_t loc, const char *name, const int *data, int rank, const hsize_t *dims)
{
    write_array(loc, name, H5T_NATIVE_INT, data, rank, dims);
}

static void write_attr(hid_t loc, const char *name, hid_t type, const void *value)
{
    hid_t space = H5Screate(H5S_SCALAR);
    h5Check(space);
    hid_t a = H5Acreate2(loc, name, type, space, H5P_DEFAULT, H5P_DEFAULT);
    h5Check(a);
    h5Check(H5Awrite(a, type, value));
    h5Check(H5Aclose(a));
    h5Check(H5Sclose(space));
}

static hid_t make_group(hid_t loc, const char *name)
{
    hid_t g = H5Gcreate2(loc, name, H5P_DEFAULT, H5P_DEFAULT, H5P_DEFAULT);
    h5Check(g);
    return g;
}

/* Each tensor in its torch shape: (L, out, in) for stacked linear weights, (L, n) for stacked
 * vectors, (V, C) and (maxT, C) for the embeddings, (C) for the final LayerNorm. */
static int tensor_dims(const GPTConfig *c, int i, hsize_t *dims)
{
    const hsize_t L = c->num_layers, C = c->channels;
    switch (i) {
    case 0: dims[0] = c->vocab_size; dims[1] = C; return 2;
    case 1: dims[0] = c->max_seq_len; dims[1] = C; return 2;
    case 4: dims[0] = L; dims[1] = 3 * C; dims[2] = C; return 3;
    case 5: dims[0] = L; dims[1] = 3 * C; return 2;
    case 6: dims[0] = L; dims[1] = C; dims[2] = C; return 3;
    case 10: dims[0] = L; dims[1] = 4 * C; dims[2] = C; return 3;
    case 11: dims[0] = L; dims[1] = 4 * C; return 2;
    case 12: dims[0] = L; dims[1] = C; dims[2] = 4 * C; return 3;
    case 14: case 15: dims[0] = C; return 1;
    default: dims[0] = L; dims[1] = C; return 2; // ln1w ln1b attprojb ln2w ln2b fcprojb
    }
}

static void write_tensors(hid_t loc, const GPT *m, const float *memory)
{
    size_t off = 0;
    for (int i = 0; i < GPT_NUM_TENSORS; i++) {
        hsize_t dims[3];
        int rank = tensor_dims(&m->config, i, dims);
        if (m->tensor_sizes[i]) write_floats(loc, gpt_tensor_name(i), memory + off, rank, dims);
        off += m->tensor_sizes[i];
    }
}

/* Deterministic tokens: a little structure (repeats) so the model has something to learn. */
static void make_batch(int *x, int *y, unsigned seed, int V)
{
    unsigned s = seed * 2654435761u + 12345u;
    int *seq = malloc((size_t)B * (T + 1) * sizeof(int));
    for (int i = 0; i < B * (T + 1); i++) {
        s = s * 1664525u + 1013904223u;
        seq[i] = (i % 5 == 4) ? seq[i - 4] : (int)((s >> 8) % (unsigned)V);
    }
    for (int b = 0; b < B; b++)
        for (int t = 0; t < T; t++) {
            x[b * T + t] = seq[b * (T + 1) + t];
            y[b * T + t] = seq[b * (T + 1) + t + 1];
        }
    free(seq);
}

int main(int argc, char **argv)
{
    if (argc != 3 || (argv[2][0] != '0' && argv[2][0] != '1') || argv[2][1]) {
        fprintf(stderr, "usage: %s OUT.h5 BIAS   (BIAS: 1 = GPT-2 biases, 0 = none)\n", argv[0]);
        return 2;
    }
    const GPTConfig cfg = {.max_seq_len = 64, .vocab_size = 512, .num_layers = 2, .num_heads = 4,
                           .channels = 64, .bias = argv[2][0] - '0'};
    const LRSchedule sched = {.lr = 5e-3f, .warmup_steps = 3, .total_steps = STEPS,
                              .final_fraction = 0.1f};
    const float beta1 = 0.9f, beta2 = 0.95f, eps = 1e-8f, wd = 0.1f;
    const double max_norm = 0.5;

    GPT m;
    gpt_build(&m, &cfg, B, T);
    gpt_init_weights(&m, 1337);
    hid_t f = H5Fcreate(argv[1], H5F_ACC_TRUNC, H5P_DEFAULT, H5P_DEFAULT);
    if (f < 0) {
        fprintf(stderr, "gpt_dump: cannot create %s\n", argv[1]);
        return 2;
    }
    hid_t g = make_group(f, "config");
    write_attr(g, "max_seq_len", H5T_NATIVE_INT, &cfg.max_seq_len);
    write_attr(g, "vocab_size", H5T_NATIVE_INT, &cfg.vocab_size);
    write_attr(g, "num_layers", H5T_NATIVE_INT, &cfg.num_layers);
    write_attr(g, "num_heads", H5T_NATIVE_INT, &cfg.num_heads);
    write_attr(g, "channels", H5T_NATIVE_INT, &cfg.channels);
    write_attr(g, "bias", H5T_NATIVE_INT, &cfg.bias);
    h5Check(H5Gclose(g));
    g = make_group(f, "init");
    write_tensors(g, &m, m.params_memory);
    h5Check(H5Gclose(g));

    // one forward and backward at the initial weights
    int x[B * T], y[B * T];
    make_batch(x, y, 0, cfg.vocab_size);
    hsize_t bt[2] = {B, T}, btv[3] = {B, T, (hsize_t)cfg.vocab_size};
    g = make_group(f, "batch");
    write_ints(g, "inputs", x, 2, bt);
    write_ints(g, "targets", y, 2, bt);
    h5Check(H5Gclose(g));
    gpt_zero_grad(&m);
    gpt_forward(&m, x, y, B, T);
    gpt_backward(&m);
    g = make_group(f, "forward");
    write_floats(g, "logits", gpt_logits(&m), 3, btv);
    write_floats(g, "loss", &m.mean_loss, 0, NULL);
    h5Check(H5Gclose(g));
    g = make_group(f, "grads");
    write_tensors(g, &m, m.grads_memory);
    h5Check(H5Gclose(g));

    // STEPS AdamW steps alternating between two batches, so that the model learns them and the
    // loss moves well away from its starting value
    float *mom = calloc(m.num_parameters, sizeof(float));
    float *var = calloc(m.num_parameters, sizeof(float));
    int *xs = malloc(sizeof(int) * STEPS * B * T), *ys = malloc(sizeof(int) * STEPS * B * T);
    float losses[STEPS], norms[STEPS], lrs[STEPS];
    int unclipped = 0;
    for (int s = 0; s < STEPS; s++) {
        int *xb = xs + s * B * T, *yb = ys + s * B * T;
        make_batch(xb, yb, 100 + s % 2, cfg.vocab_size);
        gpt_zero_grad(&m);
        gpt_forward(&m, xb, yb, B, T);
        gpt_backward(&m);
        double norm = clip_grad_norm(m.grads_memory, m.num_parameters, max_norm);
        unclipped += norm <= max_norm;
        lrs[s] = lr_at(&sched, s);
        gpt_adamw_update(&m, mom, var, lrs[s], beta1, beta2, eps, wd, s + 1);
        losses[s] = m.mean_loss;
        norms[s] = (float)norm;
        printf("step %2d  loss %.6f  grad norm %.4f  lr %.3e\n", s, losses[s], norm, lrs[s]);
    }
    hsize_t sbt[3] = {STEPS, B, T}, sdim[1] = {STEPS};
    g = make_group(f, "train");
    write_ints(g, "inputs", xs, 3, sbt);
    write_ints(g, "targets", ys, 3, sbt);
    write_floats(g, "loss", losses, 1, sdim);
    write_floats(g, "grad_norm", norms, 1, sdim);
    write_floats(g, "lr", lrs, 1, sdim);
    write_attr(g, "lr_peak", H5T_NATIVE_FLOAT, &sched.lr);
    write_attr(g, "warmup_steps", H5T_NATIVE_LONG, &sched.warmup_steps);
    write_attr(g, "total_steps", H5T_NATIVE_LONG, &sched.total_steps);
    write_attr(g, "final_fraction", H5T_NATIVE_FLOAT, &sched.final_fraction);
    write_attr(g, "beta1", H5T_NATIVE_FLOAT, &beta1);
    write_attr(g, "beta2", H5T_NATIVE_FLOAT, &beta2);
    write_attr(g, "eps", H5T_NATIVE_FLOAT, &eps);
    write_attr(g, "weight_decay", H5T_NATIVE_FLOAT, &wd);
    write_attr(g, "max_norm", H5T_NATIVE_DOUBLE, &max_norm);
    hid_t fin = make_group(g, "final");
    write_tensors(fin, &m, m.params_memory);
    h5Check(H5Gclose(fin));
    h5Check(H5Gclose(g));
    h5Check(H5Fclose(f));

    free(mom);
    free(var);
    free(xs);
    free(ys);
    gpt_free(&m);
    if (unclipped) {
        fprintf(stderr, "gpt_dump: clipping did not trigger at %d of %d steps; lower max_norm\n",
                unclipped, STEPS);
        return 1;
    }
    return 0;
}
