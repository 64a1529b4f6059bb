/* test_fed_codec_choice.c: codec = auto's choice (codec_choice.h) as the pure function it is, on a
 * crafted set of links, against times worked out by hand from
 *     t(codec) = latency + max_bytes(codec, n)·8 / bandwidth,   fits when t <= comm_budget × compute
 * with n = 10^6, blocks of 256 with bf16 scales (int8: n + 2⌈n/256⌉ = 1007814 bytes, int4:
 * n/2 + 7814 = 507814), comm_budget 5% of 0.9 s = 45 ms:
 *   10 Gbps, 0 ms:    fp32 3.2 ms fits                                   -> fp32
 *   1 Gbps, 20 ms:    fp32 20 + 32 = 52 ms no; bf16 20 + 16 = 36 ms      -> bf16
 *   100 Mbps, 0 ms:   bf16 160, int8 80.625 ms no; int4 40.625 ms        -> int4
 *   10 Mbps, 0 ms:    int4 406.25 ms, topk (10^4 fp32 values) > 45 ms    -> topk, nothing fits
 * and the reason texts; with a budget of 200 ms the 10 Mbps silo's topk fits. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codec_choice.h"
#include "test_check.h"

static const CodecConfig base = {.kind = CODEC_INT8, .block = 256, .scale = CODEC_SCALE_BF16, .topk_fraction = 0.01,
                                 .topk_values = CODEC_FP32, .rounding = CODEC_ROUND_NEAREST, .seed = 1};

static void expect(double bw, double lat, double compute, CodecKind want, double want_s, double want_prev, int fits,
                   const char *want_reason)
{
    const size_t n = 1000000;
    CodecChoice c = codec_choose(&base, n, bw, lat, 0.05, compute);
    char why[CODEC_REASON_MAX];
    codec_choice_reason(&c, 0.05, compute, why, sizeof why);
    CHECK(c.kind == want && c.fits == fits, "%g Mbps %g ms: chose %s (fits %d), want %s", bw, lat, codec_names[c.kind],
          c.fits, codec_names[want]);
    CHECK(fabs(c.seconds - want_s) <= 1e-12 * want_s, "%g Mbps: %s takes %.12g s, want %.12g", bw, codec_names[c.kind],
          c.seconds, want_s);
    CHECK(fabs(c.less_lossy_s - want_prev) <= 1e-12 * want_prev, "%g Mbps: the less lossy codec takes %.12g s, want %.12g",
          bw, c.less_lossy_s, want_prev);
    CHECK(!strcmp(why, want_reason), "%g Mbps: reason '%s', want '%s'", bw, why, want_reason);
}

int main(void)
{
    expect(10000.0, 0.0, 0.9, CODEC_FP32, 0.0032, 0.0, 1, "fp32: 3.2 ms <= 5% of 900 ms");
    expect(1000.0, 20.0, 0.9, CODEC_BF16, 0.036, 0.052, 1, "bf16: 36 ms <= 5% of 900 ms; fp32 would take 52 ms");
    expect(100.0, 0.0, 0.9, CODEC_INT4, 0.04062512, 0.08062512, 1, "int4: 40.6 ms <= 5% of 900 ms; int8 would take 80.6 ms");

    // topk's bound for these settings, as codec.h defines it (its indices: bitmap or gaps).
    CodecConfig tk = base;
    tk.kind = CODEC_TOPK;
    const double topk_s = (double)codec_of(CODEC_TOPK)->max_bytes(&tk, 1000000) * 8.0 / 10e6;
    CHECK(topk_s > 0.045 && topk_s < 0.2, "topk at 10 Mbps takes %g s: the crafted budgets need 45 ms < it < 200 ms", topk_s);
    char want[CODEC_REASON_MAX];
    snprintf(want, sizeof want, "topk: nothing fits 5%% of 900 ms (topk takes %.3g ms)", topk_s * 1e3);
    expect(10.0, 0.0, 0.9, CODEC_TOPK, topk_s, 0.0, 0, want);
    snprintf(want, sizeof want, "topk: %.3g ms <= 5%% of 4000 ms; int4 would take 406 ms", topk_s * 1e3);
    expect(10.0, 0.0, 4.0, CODEC_TOPK, topk_s, 0.40625120, 1, want);
    // No compute time (none measured yet): no budget, topk.
    CHECK(codec_choose(&base, 1000, 1e6, 0.0, 0.05, 0.0).kind == CODEC_TOPK, "a zero budget takes topk");

    CHECK(!strcmp(compress_codec_names[CODEC_CHOICE_AUTO], "auto") && compress_codec_names[CODEC_CHOICE_AUTO + 1] == NULL &&
              !strcmp(compress_codec_names[CODEC_INT4], "int4"),
          "the deck's names: the codecs, then auto");
    printf("test_fed_codec_choice: %d checks, %s\n", test_checks, test_failures ? "FAIL" : "PASS");
    return test_failures ? 1 : 0;
}
