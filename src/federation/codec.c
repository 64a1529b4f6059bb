/* codec.c: the registry of payload codecs and their settings (codec.h). */
#include "codec.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#define CODEC_NAME_(kind, name, table) name,
const char *const codec_names[] = {CODEC_REGISTRY(CODEC_NAME_) NULL};
#undef CODEC_NAME_
const char *const codec_scale_names[] = {"bf16", "fp32", NULL};
const char *const codec_rounding_names[] = {"nearest", "stochastic", NULL};

#define CODEC_TABLE_(kind, name, table) [kind] = &table,
static const Codec *const codecs[CODEC_NUM_KINDS] = {CODEC_REGISTRY(CODEC_TABLE_)};
#undef CODEC_TABLE_

const Codec *codec_of(CodecKind k)
{
    return ((int)k >= 0 && k < CODEC_NUM_KINDS) ? codecs[k] : NULL;
}

const Codec *codec_lookup(const char *name)
{
    for (int i = 0; i < CODEC_NUM_KINDS; i++)
        if (strcmp(codecs[i]->name, name) == 0) return codecs[i];
    return NULL;
}

int codec_config_check(const CodecConfig *c, char *err, size_t errlen)
{
    if (!codec_of(c->kind)) {
        snprintf(err, errlen, "unknown codec %d", (int)c->kind);
        return -1;
    }
    if (c->block < 1) {
        snprintf(err, errlen, "compress.block must be >= 1 value per scale, got %d", c->block);
        return -1;
    }
    if ((int)c->scale < CODEC_SCALE_BF16 || c->scale > CODEC_SCALE_FP32) {
        snprintf(err, errlen, "unknown scale storage %d (use bf16 or fp32)", (int)c->scale);
        return -1;
    }
    if ((int)c->rounding < CODEC_ROUND_NEAREST || c->rounding > CODEC_ROUND_STOCHASTIC) {
        snprintf(err, errlen, "unknown rounding %d (use nearest or stochastic)", (int)c->rounding);
        return -1;
    }
    if (c->kind == CODEC_TOPK) {
        if (!(c->topk_fraction > 0.0 && c->topk_fraction <= 1.0)) {
            snprintf(err, errlen, "compress.topk_fraction must be in (0, 1], got %g", c->topk_fraction);
            return -1;
        }
        if (c->topk_values == CODEC_TOPK || !codec_of(c->topk_values)) {
            snprintf(err, errlen, "compress.topk_values must be fp32, bf16, int8 or int4");
            return -1;
        }
    }
    return 0;
}

const Codec *codec_for(const CodecConfig *c) { return codec_of(c->kind); }
