/* fedavg_compress.c: the compressed path of a federated round (fedavg.h, "[compress]"): the
 * uplink of encoded pseudo-gradients with error feedback, the outer step on their decoded mean,
 * the encoded downlink, and fed_mean's compressed moments. */
#include "fedavg_private.h"

#include <math.h>
#include <string.h>

#include "check.h"

void fed_set_compress(Federation *f, const CompressConfig *cc)
{
    char err[256];
    CompressConfig plain = {.codec = {.kind = CODEC_FP32, .block = 1}};
    if (!cc) cc = &plain;
    if (codec_config_check(&cc->codec, err, sizeof err) != 0) PHOTON_FATAL("fed_set_compress: %s", err);
    if (cc->adaptive && !(cc->comm_budget > 0.0 && cc->compute_s >= 0.0))
        PHOTON_FATAL("fed_set_compress: codec = auto needs comm_budget > 0 (got %g) and compute_s >= 0 (got %g)",
                     cc->comm_budget, cc->compute_s);
    f->cc = *cc;
    f->codec = codec_for(&cc->codec);
    f->up_cc = f->down_cc = cc->codec;
    f->lossy = !f->codec->lossless || cc->adaptive;
    f->hdr_len = cc->adaptive ? PAYLOAD_HDR_AUTO : PAYLOAD_HDR;
    if (!f->active || !f->lossy || f->u) return;
    const size_t n = f->n, S = (size_t)f->S;
    // Room for the largest payload any codec this run may use.
    size_t cap = 0;
    for (int k = 0; k < CODEC_NUM_KINDS; k++) {
        CodecConfig c = cc->codec;
        c.kind = cc->adaptive ? (CodecKind)k : cc->codec.kind;
        const size_t b = codec_of(c.kind)->max_bytes(&c, n);
        if (b > cap) cap = b;
    }
    transport_check_count(n, cap);
    f->pay_cap = cap ? cap : 1;
    f->pay = mallocCheck(f->pay_cap);
    f->u = mallocCheck(n * sizeof(float));
    f->dec = mallocCheck(n * sizeof(float));
    f->prev = mallocCheck(n * sizeof(float));
    if (cc->error_feedback) {
        if (f->topo.is_leader) f->resid = callocCheck(n, sizeof(float));
        if (f->holds_outer) f->resid_down = callocCheck(n, sizeof(float));
    }
    f->hdrs = callocCheck(S * PAYLOAD_HDR_AUTO, sizeof(double));
    if (cc->adaptive) f->st_reason = callocCheck(S, CODEC_REASON_MAX);
    f->st_codec = mallocCheck(S * sizeof(int));
    f->st_bytes = mallocCheck(S * sizeof(double));
    f->st_err = mallocCheck(S * sizeof(double));
    f->st_res = mallocCheck(S * sizeof(double));
}

void fed_set_round_compute(Federation *f, double seconds) { f->round_compute_s = seconds; }

float *fed_residual(Federation *f) { return f->resid; }
float *fed_residual_down(Federation *f) { return f->resid_down; }

void fed_lossy_stats_reset(Federation *f, RoundStats *st)
{
    st->compressed = 1;
    st->codec = f->st_codec;
    st->payload_bytes = f->st_bytes;
    st->comp_error = f->st_err;
    st->residual_norm = f->st_res;
    st->choice_reason = f->st_reason;
    if (f->st_reason) memset(f->st_reason, 0, (size_t)f->S * CODEC_REASON_MAX);
    for (int k = 0; k < f->S; k++) {
        f->st_codec[k] = -1;
        f->st_bytes[k] = f->st_err[k] = 0.0;
        f->st_res[k] = 0.0; // the survivors' come from their headers
    }
}

void fed_lossy_free(Federation *f)
{
    free(f->resid);
    free(f->resid_down);
    free(f->u);
    free(f->dec);
    free(f->prev);
    free(f->pay);
    free(f->hdrs);
    free(f->st_codec);
    free(f->st_bytes);
    free(f->st_err);
    free(f->st_res);
    free(f->st_reason);
}

// ‖a − b‖ (b NULL: ‖a‖) in double, serially: the same bits for any thread count.
static double diff_norm(const float *a, const float *b, size_t n)
{
    double s = 0.0;
    for (size_t i = 0; i < n; i++) {
        double d = (double)a[i] - (b ? (double)b[i] : 0.0);
        s += d * d;
    }
    return sqrt(s);
}

// Stochastic rounding's stream for (round, who, vector): who = a silo, or S for the downlink.
static uint64_t stream_id(const Federation *f, int who)
{
    return ((uint64_t)f->round * (uint64_t)(f->S + 1) + (uint64_t)who) * 64u + (uint64_t)f->vec;
}

static int is_survivor(const Federation *f, int silo)
{
    for (int j = 0; j < f->last.survivors; j++)
        if (f->last.surv[j] == silo) return 1;
    return 0;
}

// Encode v (n) with cc into f->pay with `stream`, decode it into f->dec; hdr gets bytes, kind, error.
static void encode_checked(Federation *f, const CodecConfig *cc, const float *v, size_t n, uint64_t stream,
                           double hdr[PAYLOAD_HDR])
{
    const Codec *codec = codec_of(cc->kind);
    const size_t b = codec->encode(cc, v, n, stream, f->pay);
    if (b > f->pay_cap || codec->decode(cc, f->pay, b, n, f->dec) != 0)
        PHOTON_FATAL("codec %s: its own payload of %zu values does not decode (a codec bug)", codec->name, n);
    const double norm = diff_norm(v, NULL, n);
    hdr[HDR_BYTES] = (double)b;
    hdr[HDR_CODEC] = (double)cc->kind;
    hdr[HDR_ERROR] = norm > 0.0 ? diff_norm(v, f->dec, n) / norm : 0.0;
    hdr[HDR_RESIDUAL] = 0.0;
}

/* codec = auto's inputs (fedavg.h): the compute time, and this leader's bandwidth. */
static double choice_compute_s(const Federation *f)
{
    return f->cc.compute_s > 0.0 ? f->cc.compute_s : f->round_compute_s;
}

static double choice_bandwidth(const Federation *f)
{
    double bw, lat;
    link_of_rank(&f->link, f->topo.silo, f->S, &bw, &lat);
    return f->link.emulate == LINK_OFF && f->measured_mbps > 0.0 ? f->measured_mbps : bw;
}

// Silo `silo`'s choice from its header's inputs (the same pure function it ran itself).
static CodecChoice choice_of(const Federation *f, int silo, const double *hdr)
{
    double bw, lat;
    link_of_rank(&f->link, silo, f->S, &bw, &lat);
    return codec_choose(&f->cc.codec, f->n, hdr[HDR_BANDWIDTH], lat, f->cc.comm_budget, hdr[HDR_COMPUTE_S]);
}

/* Uplink: each survivor encodes its u (n; a leader's own vector), updating its residual when
 * `feedback`; the mean of the decoded payloads lands in out (n) on the aggregating ranks, every
 * survivor's header in f->hdrs. */
static void lossy_uplink(Federation *f, const float *u, float *out, size_t n, int feedback, Traffic *tr)
{
    const int me = f->topo.is_server ? -1 : f->topo.silo;
    double hdr[PAYLOAD_HDR_AUTO] = {0};
    if (me >= 0 && is_survivor(f, me)) {
        encode_checked(f, &f->up_cc, u, n, stream_id(f, me), hdr);
        if (feedback && f->resid) {
            // e_k <- u_k − decode(encode(u_k)): what this round could not send.
#pragma omp parallel for schedule(static) if (n > 65536)
            for (size_t i = 0; i < n; i++) f->resid[i] = u[i] - f->dec[i];
            hdr[HDR_RESIDUAL] = diff_norm(f->resid, NULL, n);
        }
    }
    if (f->cc.adaptive) {
        hdr[HDR_COMPUTE_S] = choice_compute_s(f);
        hdr[HDR_BANDWIDTH] = choice_bandwidth(f);
    }
    PayloadJob job = {f->last.survivors, f->last.surv, f->last.p, f->hdr_len, hdr, f->pay, &f->cc.codec, f->hdrs, out, n};
    transport_ops(f->tp)->payload_mean(f->tp, &job, tr);
}

/* Downlink: the holder(s) of the outer state encode v (n; + e_down when `feedback`, which v
 * absorbs); every rank gets the decoding in f->dec. Returns the payload's header. */
static void lossy_downlink(Federation *f, float *v, size_t n, int feedback, double hdr[PAYLOAD_HDR], Traffic *tr)
{
    const TransportOps *ops = transport_ops(f->tp);
    memset(hdr, 0, PAYLOAD_HDR * sizeof(double));
    if (f->holds_outer) {
        const int fb = feedback && f->resid_down;
        if (fb) {
#pragma omp parallel for schedule(static) if (n > 65536)
            for (size_t i = 0; i < n; i++) v[i] += f->resid_down[i];
        }
        encode_checked(f, &f->down_cc, v, n, stream_id(f, f->S), hdr);
        if (fb) {
#pragma omp parallel for schedule(static) if (n > 65536)
            for (size_t i = 0; i < n; i++) f->resid_down[i] = v[i] - f->dec[i];
            hdr[HDR_RESIDUAL] = diff_norm(f->resid_down, NULL, n);
        }
    }
    // Server topology: the header, then the payload, to every leader (allreduce: every leader
    // computed the same payload itself; nothing moves).
    ops->broadcast(f->tp, hdr, PAYLOAD_HDR * sizeof(double), tr);
    ops->broadcast(f->tp, f->pay, (size_t)hdr[HDR_BYTES], tr);
    CodecConfig cc = f->cc.codec;
    cc.kind = (CodecKind)hdr[HDR_CODEC]; // the holder's choice (codec = auto: the lossiest uplink's)
    const Codec *codec = codec_of(cc.kind);
    if (!f->holds_outer && (!codec || codec->decode(&cc, f->pay, (size_t)hdr[HDR_BYTES], n, f->dec) != 0))
        PHOTON_FATAL("the downlink payload (%zu bytes, codec %s) does not decode as %zu values",
                     (size_t)hdr[HDR_BYTES], codec ? codec->name : "?", n);
}

// The survivors' headers into the round's stats.
static void stats_from_headers(Federation *f, RoundStats *st)
{
    for (int j = 0; j < f->last.survivors; j++) {
        const int r = f->last.surv[j];
        const double *h = f->hdrs + (size_t)r * f->hdr_len;
        f->st_codec[r] = (int)h[HDR_CODEC];
        f->st_bytes[r] = h[HDR_BYTES];
        f->st_err[r] = h[HDR_ERROR];
        f->st_res[r] = h[HDR_RESIDUAL];
        if (f->cc.adaptive) {
            const CodecChoice c = choice_of(f, r, h);
            codec_choice_reason(&c, f->cc.comm_budget, h[HDR_COMPUTE_S], f->st_reason + (size_t)r * CODEC_REASON_MAX,
                                CODEC_REASON_MAX);
        }
    }
}

/* codec = auto: this leader's uplink codec for the round (before the uplink). */
static void choose_uplink(Federation *f)
{
    if (!f->cc.adaptive || f->topo.is_server) return;
    double bw, lat;
    link_of_rank(&f->link, f->topo.silo, f->S, &bw, &lat);
    f->up_cc = f->cc.codec;
    f->up_cc.kind = codec_choose(&f->cc.codec, f->n, choice_bandwidth(f), lat, f->cc.comm_budget, choice_compute_s(f)).kind;
}

/* codec = auto, after the uplink: the downlink takes the lossiest codec a survivor chose (the
 * holders know every header; the others learn it from the downlink's); and under LINK_OFF this
 * leader's measured upload rate for the next round. */
static void after_uplink(Federation *f)
{
    if (!f->cc.adaptive) return;
    int down = CODEC_FP32;
    for (int j = 0; j < f->last.survivors; j++) {
        const int k = (int)f->hdrs[(size_t)f->last.surv[j] * f->hdr_len + HDR_CODEC];
        if (k > down) down = k;
    }
    f->down_cc = f->cc.codec;
    f->down_cc.kind = (CodecKind)down;
    uint64_t bytes;
    double seconds;
    transport_last_upload(f->tp, &bytes, &seconds);
    if (!f->topo.is_server && bytes > 0 && seconds > 0.0) f->measured_mbps = (double)bytes * 8.0 / seconds / 1e6;
}

void fed_lossy_round(Federation *f, const float *x, float *theta, RoundStats *st, Traffic *tr)
{
    const size_t n = f->n;
    const int me = f->topo.is_server ? -1 : f->topo.silo;
    f->vec = 0;
    if (me >= 0 && is_survivor(f, me)) {
        // u_k = Δ_k + e_k
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) f->u[i] = (theta[i] - x[i]) + (f->resid ? f->resid[i] : 0.0f);
    }
    choose_uplink(f);
    lossy_uplink(f, f->u, f->avg, n, 1, tr); // f->avg = Δ̄ where it aggregates
    after_uplink(f);
    stats_from_headers(f, st);
    if (f->holds_outer) {
        memcpy(f->prev, theta, n * sizeof(float));
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) f->avg[i] = theta[i] - f->avg[i]; // θ̄ = θ − Δ̄
        outer_step(&f->outer, theta, f->avg, n);
#pragma omp parallel for schedule(static) if (n > 65536)
        for (size_t i = 0; i < n; i++) f->u[i] = f->prev[i] - theta[i]; // U = θ − θ'
    }
    double hdr[PAYLOAD_HDR];
    lossy_downlink(f, f->u, n, 1, hdr, tr);
    const float *base = f->holds_outer ? f->prev : theta;
#pragma omp parallel for schedule(static) if (n > 65536)
    for (size_t i = 0; i < n; i++) theta[i] = base[i] - f->dec[i];
    st->down_bytes = hdr[HDR_BYTES];
    st->down_error = hdr[HDR_ERROR];
    st->down_codec = (int)hdr[HDR_CODEC];
}

void fed_lossy_mean(Federation *f, const float *x_local, float *out, size_t n, Traffic *tr)
{
    // The moments themselves travel compressed (no residual), and their mean comes back down
    // through the same codec, so both topologies hold the same bits.
    f->vec++;
    lossy_uplink(f, x_local, f->avg, n, 0, tr);
    double hdr[PAYLOAD_HDR];
    lossy_downlink(f, f->avg, n, 0, hdr, tr);
    if (out) memcpy(out, f->dec, n * sizeof(float));
}
