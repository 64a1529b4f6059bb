/* codec_choice.c: codec = auto's choice of a silo's upload codec (codec_choice.h). */
#include "codec_choice.h"

#include <stdio.h>

#include "link.h"

#define CODEC_NAME_(kind, name, table) name,
const char *const compress_codec_names[] = {CODEC_REGISTRY(CODEC_NAME_) "auto", NULL};
#undef CODEC_NAME_

CodecChoice codec_choose(const CodecConfig *base, size_t n, double bandwidth_mbps, double latency_ms,
                         double comm_budget, double compute_s)
{
    const double budget = comm_budget * compute_s;
    CodecChoice c = {.kind = CODEC_TOPK};
    double previous = 0.0;
    for (int k = 0; k < CODEC_NUM_KINDS; k++) {
        CodecConfig cc = *base;
        cc.kind = (CodecKind)k;
        const double t = link_transfer_seconds(bandwidth_mbps, latency_ms, (double)codec_of(cc.kind)->max_bytes(&cc, n));
        if (t <= budget) {
            c = (CodecChoice){.kind = cc.kind, .seconds = t, .less_lossy_s = previous, .fits = 1};
            return c;
        }
        previous = t;
    }
    // Nothing fits: the smallest payload, topk (the last codec), and what it takes.
    c.seconds = previous;
    return c;
}

void codec_choice_reason(const CodecChoice *c, double comm_budget, double compute_s, char *buf, size_t len)
{
    const char *name = codec_names[c->kind];
    const double pct = comm_budget * 100.0, ms = compute_s * 1e3;
    if (!c->fits)
        snprintf(buf, len, "%s: nothing fits %.3g%% of %.4g ms (%s takes %.3g ms)", name, pct, ms, name, c->seconds * 1e3);
    else if (c->kind == CODEC_FP32)
        snprintf(buf, len, "%s: %.3g ms <= %.3g%% of %.4g ms", name, c->seconds * 1e3, pct, ms);
    else
        snprintf(buf, len, "%s: %.3g ms <= %.3g%% of %.4g ms; %s would take %.3g ms", name, c->seconds * 1e3, pct, ms,
                 codec_names[c->kind - 1], c->less_lossy_s * 1e3);
}
