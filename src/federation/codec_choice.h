/* codec_choice.h: [compress] codec = auto: which codec a silo's upload takes this round.
 *
 * "auto" is a deck choice, not a codec: CodecKind names the codecs (codec.h) and stays as it is;
 * CODEC_CHOICE_AUTO is the deck's and the checkpoint's value one past them. Each round every
 * leader picks, for its own upload, the least lossy codec in CodecKind order (fp32, bf16, int8,
 * int4, topk: the registry lists them from least to most lossy) whose modeled upload time on its
 * own link,
 *     t(codec) = latency·1e-3 + max_bytes(codec, n)·8 / (bandwidth·1e6)     (link.h's per-rank term)
 * fits comm_budget × the round's compute time; topk when none does. The choice is a pure function
 * of these inputs, so any rank that knows them (the payload header carries the compute time and
 * the bandwidth used) recomputes the same choice and its reason. fedavg.h says which inputs a run
 * uses and when the choice is deterministic. */
#ifndef PHOTON_CODEC_CHOICE_H
#define PHOTON_CODEC_CHOICE_H

#include <stddef.h>

#include "codec.h"

/* The deck's [compress] codec value for "auto", one past the codecs. */
#define CODEC_CHOICE_AUTO CODEC_NUM_KINDS
/* codec_names, then "auto", NULL: the deck's and the checkpoint's names of [compress] codec. */
extern const char *const compress_codec_names[];

/* Room for a reason such as "int4: 0.9 ms <= 5% of 180 ms; int8 would take 1.6 ms". */
#define CODEC_REASON_MAX 112

typedef struct {
    CodecKind kind;
    double seconds;      // its modeled upload time
    double less_lossy_s; // the next less lossy codec's time (the one that did not fit); 0 for fp32
    int fits;            // 0: nothing fits the budget, kind is topk
} CodecChoice;

/* The choice above for n values. base: the [compress] settings every codec uses (block, scale,
 * topk_fraction, topk_values, rounding; its kind is ignored, base checked by
 * codec_config_check). Pure. */
CodecChoice codec_choose(const CodecConfig *base, size_t n, double bandwidth_mbps, double latency_ms,
                         double comm_budget, double compute_s);
/* The choice in words, e.g. "int4: 0.9 ms <= 5% of 180 ms; int8 would take 1.6 ms". */
void codec_choice_reason(const CodecChoice *c, double comm_budget, double compute_s, char *buf, size_t len);

#endif
