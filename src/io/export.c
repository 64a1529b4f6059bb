/* export.c: llm.c and Hugging Face safetensors exports of a weights file (see export.h). */
#include "export.h"

#include <glib.h>
#include <jansson.h>
#include <mpi.h>
#include <stdint.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "check.h"
#include "weights.h"

/* Write n floats, or n zeros when src is NULL (a tensor the model does not have). */
static int write_floats(FILE *f, const float *src, size_t n)
{
    if (src) return fwrite(src, sizeof(float), n, f) == n ? 0 : -1;
    static const float zeros[1024];
    while (n > 0) {
        size_t k = n < 1024 ? n : 1024;
        if (fwrite(zeros, sizeof(float), k, f) != k) return -1;
        n -= k;
    }
    return 0;
}

/* Commit a file written under tmp: close, then rename onto path; on any error remove tmp. */
static int finish_file(FILE *f, int rc, const char *tmp, const char *path, char *err, size_t errlen)
{
    /* errno of the first failure: a write's (ferror), the close's (a full disk shows there), the rename's. */
    int e = rc ? (errno ? errno : EIO) : 0;
    errno = 0;
    if (fflush(f) != 0 || ferror(f)) { if (!rc) e = errno ? errno : EIO; rc = -1; }
    if (fclose(f) != 0) { if (!rc) e = errno ? errno : EIO; rc = -1; }
    if (rc == 0 && rename(tmp, path) != 0) { e = errno; rc = -1; }
    if (rc) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(e ? e : EIO));
        remove(tmp);
    }
    return rc;
}

int export_llmc(const GPT *m, const char *path, char *err, size_t errlen)
{
    const GPTConfig *c = &m->config;
    const size_t C = (size_t)c->channels, L = (size_t)c->num_layers, V = (size_t)c->vocab_size;
    const size_t Vp = (V + LLMC_VOCAB_ALIGN - 1) / LLMC_VOCAB_ALIGN * LLMC_VOCAB_ALIGN;
    /* llm.c's tensor sizes: every tensor is present (biases included), wte has Vp rows. */
    const size_t sizes[GPT_NUM_TENSORS] = {
        Vp * C, (size_t)c->max_seq_len * C, L * C, L * C, L * 3 * C * C, L * 3 * C, L * C * C, L * C,
        L * C, L * C, L * 4 * C * C, L * 4 * C, L * C * 4 * C, L * C, C, C};
    int32_t header[256] = {0};
    header[0] = LLMC_MAGIC;
    header[1] = LLMC_VERSION_FP32;
    header[2] = c->max_seq_len;
    header[3] = c->vocab_size;
    header[4] = c->num_layers;
    header[5] = c->num_heads;
    header[6] = c->channels;
    header[7] = (int32_t)Vp;
    char *tmp = g_strdup_printf("%s.tmp", path);
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        g_free(tmp);
        return -1;
    }
    /* llm.c reads the file with fread into int and float: little-endian x86/ARM hosts. */
    int rc = fwrite(header, sizeof header, 1, f) == 1 ? 0 : -1;
    const float *p = m->params_memory;
    for (int i = 0; i < GPT_NUM_TENSORS && rc == 0; i++) {
        const size_t have = m->tensor_sizes[i];
        if (i == 0) { // wte (V, C), then Vp - V zero rows llm.c never reads as logits
            rc = write_floats(f, p, have);
            if (rc == 0) rc = write_floats(f, NULL, sizes[0] - have);
        } else if (have == 0) {
            rc = write_floats(f, NULL, sizes[i]); // bias = 0: llm.c always has biases
        } else if (have == sizes[i]) {
            rc = write_floats(f, p, have);
        } else {
            PHOTON_FATAL("export_llmc: tensor %s has %zu elements, llm.c expects %zu", gpt_tensor_name(i), have,
                         sizes[i]);
        }
        p += have;
    }
    rc = finish_file(f, rc, tmp, path, err, errlen);
    g_free(tmp);
    return rc;
}

/* ---- safetensors ---------------------------------------------------------------------------- */

/* One tensor of the Hugging Face layout: a (rows, cols) block of our parameters, transposed or
 * not, or zeros. 1-D tensors have cols = 0. */
typedef struct {
    char name[96];
    const float *src; // NULL: zeros
    size_t rows, cols;
    int transpose;     // Conv1D: HF stores (in, out), we store (out, in)
} SafeTensor;

static void st_add(GArray *a, const char *name, const float *src, size_t rows, size_t cols, int transpose)
{
    SafeTensor t = {.src = src, .rows = rows, .cols = cols, .transpose = transpose};
    snprintf(t.name, sizeof t.name, "%s", name);
    g_array_append_val(a, t);
}

static size_t st_numel(const SafeTensor *t) { return t->rows * (t->cols ? t->cols : 1); }

static GArray *hf_gpt2_tensors(const GPT *m)
{
    const GPTConfig *c = &m->config;
    const GPTParams *p = &m->params;
    const size_t C = (size_t)c->channels, V = (size_t)c->vocab_size, T = (size_t)c->max_seq_len;
    const int b = c->bias;
    GArray *a = g_array_new(FALSE, FALSE, sizeof(SafeTensor));
    char name[96];
    st_add(a, "transformer.wte.weight", p->wte, V, C, 0);
    st_add(a, "transformer.wpe.weight", p->wpe, T, C, 0);
    for (size_t l = 0; l < (size_t)c->num_layers; l++) {
#define H(suffix) (snprintf(name, sizeof name, "transformer.h.%zu.%s", l, suffix), name)
        st_add(a, H("ln_1.weight"), p->ln1w + l * C, C, 0, 0);
        st_add(a, H("ln_1.bias"), b ? p->ln1b + l * C : NULL, C, 0, 0);
        // in the (in, out) shape that HF's Conv1D keeps: our qkvw (3C, C) becomes (C, 3C)
        st_add(a, H("attn.c_attn.weight"), p->qkvw + l * 3 * C * C, 3 * C, C, 1);
        st_add(a, H("attn.c_attn.bias"), b ? p->qkvb + l * 3 * C : NULL, 3 * C, 0, 0);
        st_add(a, H("attn.c_proj.weight"), p->attprojw + l * C * C, C, C, 1);
        st_add(a, H("attn.c_proj.bias"), b ? p->attprojb + l * C : NULL, C, 0, 0);
        st_add(a, H("ln_2.weight"), p->ln2w + l * C, C, 0, 0);
        st_add(a, H("ln_2.bias"), b ? p->ln2b + l * C : NULL, C, 0, 0);
        st_add(a, H("mlp.c_fc.weight"), p->fcw + l * 4 * C * C, 4 * C, C, 1);
        st_add(a, H("mlp.c_fc.bias"), b ? p->fcb + l * 4 * C : NULL, 4 * C, 0, 0);
        st_add(a, H("mlp.c_proj.weight"), p->fcprojw + l * C * 4 * C, C, 4 * C, 1);
        st_add(a, H("mlp.c_proj.bias"), b ? p->fcprojb + l * C : NULL, C, 0, 0);
#undef H
    }
    st_add(a, "transformer.ln_f.weight", p->lnfw, C, 0, 0);
    st_add(a, "transformer.ln_f.bias", b ? p->lnfb : NULL, C, 0, 0);
    return a;
}

/* The safetensors header: {name: {"dtype": "F32", "shape": [...], "data_offsets": [begin, end]}}
 * with offsets relative to the end of the header. */
static char *safetensors_header(GArray *tensors)
{
    json_t *root = json_object();
    json_object_set_new(root, "__metadata__", json_pack("{s:s}", "format", "pt"));
    size_t offset = 0;
    for (guint i = 0; i < tensors->len; i++) {
        const SafeTensor *t = &g_array_index(tensors, SafeTensor, i);
        json_t *shape = t->cols == 0 ? json_pack("[I]", (json_int_t)t->rows)
                        : t->transpose ? json_pack("[I,I]", (json_int_t)t->cols, (json_int_t)t->rows)
                                       : json_pack("[I,I]", (json_int_t)t->rows, (json_int_t)t->cols);
        size_t end = offset + st_numel(t) * sizeof(float);
        json_object_set_new(root, t->name, json_pack("{s:s,s:o,s:[I,I]}", "dtype", "F32", "shape", shape,
                                                     "data_offsets", (json_int_t)offset, (json_int_t)end));
        offset = end;
    }
    char *s = json_dumps(root, JSON_COMPACT | JSON_PRESERVE_ORDER);
    json_decref(root);
    if (!s) PHOTON_FATAL("json_dumps of the safetensors header failed");
    return s;
}

static int write_safetensors(GArray *tensors, const char *path, char *err, size_t errlen)
{
    char *json = safetensors_header(tensors);
    /* Pad the header with spaces (allowed by the format) so the data starts 8-byte aligned,
     * which lets readers map the tensors in place. */
    size_t len = strlen(json), padded = (len + 7) / 8 * 8;
    char *tmp = g_strdup_printf("%s.tmp", path);
    int rc = -1;
    float *buf = NULL;
    FILE *f = fopen(tmp, "wb");
    if (!f) {
        snprintf(err, errlen, "%s: cannot create: %s", tmp, strerror(errno));
        goto done;
    }
    uint8_t n8[8];
    for (int i = 0; i < 8; i++) n8[i] = (uint8_t)((uint64_t)padded >> (8 * i)); // little-endian u64
    rc = fwrite(n8, 1, 8, f) == 8 && fwrite(json, 1, len, f) == len ? 0 : -1;
    for (size_t i = len; i < padded && rc == 0; i++) rc = fputc(' ', f) == ' ' ? 0 : -1;
    for (guint i = 0; i < tensors->len && rc == 0; i++) {
        const SafeTensor *t = &g_array_index(tensors, SafeTensor, i);
        if (!t->transpose || !t->src) {
            rc = write_floats(f, t->src, st_numel(t));
            continue;
        }
        // (rows, cols) -> (cols, rows)
        buf = g_realloc(buf, st_numel(t) * sizeof(float));
        for (size_t r = 0; r < t->rows; r++)
            for (size_t k = 0; k < t->cols; k++) buf[k * t->rows + r] = t->src[r * t->cols + k];
        rc = write_floats(f, buf, st_numel(t));
    }
    rc = finish_file(f, rc, tmp, path, err, errlen);
done:
    g_free(buf);
    g_free(tmp);
    free(json);
    return rc;
}

/* config.json for transformers' GPT2Config. The tokenizer is photon's own byte-level BPE (in the
 * data file), not GPT-2's; its end-of-text token is the last id. */
static int write_hf_config(const GPT *m, const char *path, char *err, size_t errlen)
{
    const GPTConfig *c = &m->config;
    json_t *cfg = json_pack(
        "{s:[s],s:s,s:i,s:i,s:i,s:i,s:i,s:i,s:n,s:s,s:f,s:f,s:f,s:f,s:f,s:i,s:i,s:b,s:s,s:b}",
        "architectures", "GPT2LMHeadModel", "model_type", "gpt2", "vocab_size", c->vocab_size, "n_positions",
        c->max_seq_len, "n_ctx", c->max_seq_len, "n_embd", c->channels, "n_layer", c->num_layers, "n_head",
        c->num_heads, "n_inner", "activation_function", "gelu_new", "layer_norm_epsilon", 1e-5,
        "initializer_range", 0.02, "resid_pdrop", 0.0, "embd_pdrop", 0.0, "attn_pdrop", 0.0, "bos_token_id",
        c->vocab_size - 1, "eos_token_id", c->vocab_size - 1, "tie_word_embeddings", 1, "torch_dtype", "float32",
        "photon_bias", c->bias);
    if (!cfg) PHOTON_FATAL("json_pack of config.json failed");
    char *tmp = g_strdup_printf("%s.tmp", path);
    errno = 0;
    int rc = json_dump_file(cfg, tmp, JSON_INDENT(2) | JSON_PRESERVE_ORDER | JSON_REAL_PRECISION(9)) == 0 && rename(tmp, path) == 0 ? 0 : -1;
    if (rc) {
        snprintf(err, errlen, "%s: cannot write: %s", path, strerror(errno ? errno : EIO));
        remove(tmp);
    }
    g_free(tmp);
    json_decref(cfg);
    return rc;
}

int export_safetensors(const GPT *m, const char *dir, char *err, size_t errlen)
{
    if (g_mkdir_with_parents(dir, 0777) != 0) {
        snprintf(err, errlen, "%s: cannot create the output directory: %s", dir, strerror(errno));
        return -1;
    }
    GArray *tensors = hf_gpt2_tensors(m);
    char *st = g_build_filename(dir, "model.safetensors", NULL);
    char *cfg = g_build_filename(dir, "config.json", NULL);
    int rc = write_safetensors(tensors, st, err, errlen);
    if (rc == 0) rc = write_hf_config(m, cfg, err, errlen);
    g_free(st);
    g_free(cfg);
    g_array_free(tensors, TRUE);
    return rc;
}
