/* test_fed_compress.c S SERVER CODEC OUT: federated rounds whose pseudo-gradients travel through a
 * lossy codec ([compress], fedavg.h), on the allreduce (SERVER = 0) or server (SERVER = 1)
 * topology. Checks, on every leader and the server:
 *   - error feedback telescopes: with fedavg lr 1 and constant weights, after R rounds
 *       θ_R = θ_0 − Σ_k p_k Σ_r Δ_{k,r} + Σ_k p_k e_{k,R} + e_down,R
 *     (e: the residuals the federation kept), to float rounding, while the same run without the
 *     residual terms is off by far more than that;
 *   - each silo's payload bytes equal the codec's formula (codec.h), and the round's bytes_total
 *     equals the sum of the phases doc/federation.md lists for the topology;
 *   - every leader and the server end with the same θ, and fed_mean (compressed moments) gives
 *     every one of them the same vector.
 * World rank 0 writes the final θ (fedavg, then nesterov) and the fed_mean results to OUT;
 * test_fed_compress.sh compares topologies and silo sizes byte for byte. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "fedavg.h"
#include "test_fed_util.h"

#define N 1037 // odd, not a multiple of the block: a short last block, an odd int4 tail
#define BLOCK 64
#define ROUNDS 6

// The encoded size codec.h documents, written out again (topk: its bound).
static double payload_formula(const CodecConfig *c, size_t n)
{
    const double nb = (double)((n + (size_t)c->block - 1) / (size_t)c->block);
    const double sb = c->scale == CODEC_SCALE_BF16 ? 2 : 4;
    switch (c->kind) {
    case CODEC_BF16: return 2.0 * (double)n;
    case CODEC_INT8: return (double)n + nb * sb;
    case CODEC_INT4: return (double)((n + 1) / 2) + nb * sb;
    default: return -1;
    }
}

// Every active rank must hold the same n floats as the server (or world rank 0).
static int same_everywhere(const Topology *t, MPI_Comm active_comm, const float *x, size_t n)
{
    float *ref = malloc(n * sizeof(float));
    memcpy(ref, x, n * sizeof(float));
    MPI_Bcast(ref, (int)n, MPI_FLOAT, 0, active_comm);
    int same = memcmp(ref, x, n * sizeof(float)) == 0, all = 0;
    MPI_Allreduce(&same, &all, 1, MPI_INT, MPI_MIN, active_comm);
    free(ref);
    (void)t;
    return all;
}

int main(int argc, char **argv)
{
    MPI_Init(&argc, &argv);
    if (argc != 5) {
        fprintf(stderr, "usage: %s S SERVER CODEC OUT\n", argv[0]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const int S = atoi(argv[1]), server = atoi(argv[2]);
    const Codec *codec = codec_lookup(argv[3]);
    if (!codec || codec->lossless) {
        fprintf(stderr, "%s: not a lossy codec\n", argv[3]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    Topology t;
    char err[512];
    if (topology_create(&t, MPI_COMM_WORLD, S, server, err, sizeof err) != 0) {
        fprintf(stderr, "%s\n", err);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }
    const int active = t.is_leader || t.is_server;
    MPI_Comm active_comm;
    MPI_Comm_split(MPI_COMM_WORLD, active ? 0 : MPI_UNDEFINED, t.world_rank, &active_comm);
    FILE *out = t.world_rank == 0 ? fopen(argv[4], "wb") : NULL;
    if (t.world_rank == 0 && !out) {
        fprintf(stderr, "cannot write %s\n", argv[4]);
        MPI_Abort(MPI_COMM_WORLD, 2);
    }

    CodecKind kind = CODEC_FP32;
    for (int k = 0; k < CODEC_NUM_KINDS; k++)
        if (codec_of((CodecKind)k) == codec) kind = (CodecKind)k;
    CompressConfig cc = {.codec = {.kind = kind,
                                   .block = BLOCK, .scale = CODEC_SCALE_BF16, .topk_fraction = 0.05,
                                   .topk_values = CODEC_INT8, .rounding = CODEC_ROUND_NEAREST, .seed = 5},
                         .error_feedback = 1};
    const OuterConfig configs[] = {{.kind = OUTER_FEDAVG, .lr = 1.0f},
                                   {.kind = OUTER_NESTEROV, .lr = 0.7f, .momentum = 0.9f}};
    DropPolicy drop = {.outlier_factor = 0.0, .min_clients = 1};
    LinkConfig link = {.bandwidth_mbps = 100.0, .latency_ms = 1.0, .emulate = LINK_MODEL};
    float *theta = malloc(N * sizeof(float)), *theta0 = malloc(N * sizeof(float)), *got = malloc(N * sizeof(float));
    double *sum_delta = calloc(N, sizeof(double)); // Σ_k p_k Σ_r Δ_{k,r}
    float *xs[64];
    double w[64], p[64], wsum = 0.0;
    int all[64];
    for (int k = 0; k < S; k++) {
        xs[k] = malloc(N * sizeof(float));
        w[k] = synth_weight(k, 0); // constant over rounds: the identity needs fixed p_k
        wsum += w[k];
        all[k] = 1;
    }
    for (int k = 0; k < S; k++) p[k] = w[k] / wsum;

    for (int c = 0; c < 2; c++) {
        const OuterConfig *oc = &configs[c];
        Federation *f = active ? fed_create(&t, oc, N, &drop, &link) : NULL;
        if (f) fed_set_compress(f, &cc);
        synth_gaussian(theta, N, 7, 0.5);
        memcpy(theta0, theta, N * sizeof(float));
        memset(sum_delta, 0, N * sizeof(double));
        for (long r = 0; r < ROUNDS && active; r++) {
            for (int k = 0; k < S; k++) {
                synth_local(xs[k], theta, N, k, r, 1.0);
                // Δ_{k,r} = θ_r − θ_k: the noise synth_local added, whatever θ_r is.
                for (int i = 0; i < N; i++) sum_delta[i] += p[k] * ((double)theta[i] - (double)xs[k][i]);
            }
            RoundStats st;
            const float *mine = t.is_leader ? xs[t.silo] : NULL;
            int rc = fed_sync(f, r, all, mine, t.is_leader ? w[t.silo] : 0.0, theta, &st);
            CHECK(rc == 0 && !st.skipped && st.survivors == S, "round %ld: rc %d, %d survivors", r, rc, st.survivors);
            CHECK(st.compressed == 1, "round %ld: the compressed path must report itself", r);
            double payload_sum = 0.0;
            for (int k = 0; k < S; k++) {
                CHECK(st.codec[k] == (int)cc.codec.kind, "silo %d codec %d", k, st.codec[k]);
                const double want = payload_formula(&cc.codec, N);
                if (want >= 0)
                    CHECK(st.payload_bytes[k] == want, "silo %d: %.0f payload bytes, formula %.0f", k, st.payload_bytes[k], want);
                else
                    CHECK(st.payload_bytes[k] > 0 && st.payload_bytes[k] <= (double)codec->max_bytes(&cc.codec, N),
                          "silo %d: %.0f topk bytes outside (0, max_bytes]", k, st.payload_bytes[k]);
                CHECK(st.comp_error[k] > 0 && st.comp_error[k] < 1.0, "silo %d: compression error %g", k, st.comp_error[k]);
                CHECK(st.residual_norm[k] > 0, "silo %d: residual norm %g with error feedback", k, st.residual_norm[k]);
                payload_sum += st.payload_bytes[k];
            }
            // The round's phases (doc/federation.md): records, headers, payloads, downlink.
            const double R = 4 * sizeof(double), T = 5 * sizeof(double), H = 4 * sizeof(double);
            double want_total = server ? S * R + S * (S * T) + S * H + S * (S * H) + payload_sum + S * H + S * st.down_bytes
                                       : S * (S - 1.0) * R + S * (S - 1.0) * H + (S - 1.0) * payload_sum;
            CHECK((double)st.bytes_total == want_total, "round %ld: bytes_total %llu, formula %.0f", r,
                  (unsigned long long)st.bytes_total, want_total);
            if (want_total != (double)st.bytes_total) break;
        }
        if (active) {
            CHECK(same_everywhere(&t, active_comm, theta, N), "%s: the leaders and the server hold different θ",
                  outer_kind_name(oc->kind));
            if (oc->kind == OUTER_FEDAVG) {
                // The residuals: every silo's from its leader, the downlink's from its holder.
                float *e = calloc((size_t)S * N, sizeof(float)), *e_down = calloc(N, sizeof(float));
                float *mine = calloc((size_t)S * N, sizeof(float)), *down_mine = calloc(N, sizeof(float));
                if (t.is_leader) memcpy(mine + (size_t)t.silo * N, fed_residual(f), N * sizeof(float));
                if (fed_residual_down(f) && t.world_rank == (server ? t.world_size - 1 : 0))
                    memcpy(down_mine, fed_residual_down(f), N * sizeof(float));
                MPI_Allreduce(mine, e, S * N, MPI_FLOAT, MPI_SUM, active_comm);
                MPI_Allreduce(down_mine, e_down, N, MPI_FLOAT, MPI_SUM, active_comm);
                double err_with = 0, err_without = 0, scale = 0;
                for (int i = 0; i < N; i++) {
                    double plain = (double)theta0[i] - sum_delta[i], corr = 0.0;
                    for (int k = 0; k < S; k++) corr += p[k] * e[(size_t)k * N + i];
                    corr += e_down[i];
                    err_with = fmax(err_with, fabs(theta[i] - (plain + corr)));
                    err_without = fmax(err_without, fabs(theta[i] - plain));
                    scale = fmax(scale, fabs(sum_delta[i]));
                }
                CHECK(err_with <= 1e-5 * scale, "error feedback does not telescope: max |θ_R − formula| %g (scale %g)",
                      err_with, scale);
                CHECK(err_without > 10 * err_with, "the residuals must matter: without them off by %g, with %g",
                      err_without, err_with);
                if (t.world_rank == 0)
                    printf("%s %s: telescoping max error %.3g with the residuals, %.3g without (scale %.3g)\n", argv[3],
                           server ? "server" : "allreduce", err_with, err_without, scale);
                free(e);
                free(e_down);
                free(mine);
                free(down_mine);

                // fed_mean: the moments travel compressed; everyone gets the same vector.
                for (int k = 0; k < S; k++) synth_gaussian(xs[k], N, 500 + (unsigned long)k, 1.0);
                memset(got, 0, N * sizeof(float));
                if (t.is_leader) memcpy(got, xs[t.silo], N * sizeof(float));
                fed_mean(f, t.is_leader ? got : NULL, got, N, NULL);
                CHECK(same_everywhere(&t, active_comm, got, N), "fed_mean: different vectors on different ranks");
                double e_mean = 0;
                for (int i = 0; i < N; i++) {
                    double ref = 0;
                    for (int k = 0; k < S; k++) ref += p[k] * xs[k][i];
                    e_mean = fmax(e_mean, fabs(got[i] - ref));
                }
                // Two quantizations (each silo's, then the mean's downlink) of unit Gaussians: at
                // most s/2 each with s = absmax/qmax of a block of 64 (absmax < 4 here).
                const double bound = cc.codec.kind == CODEC_INT4 ? 4.0 / 7 : cc.codec.kind == CODEC_INT8 ? 4.0 / 127 : 0.05;
                CHECK(cc.codec.kind == CODEC_TOPK || e_mean <= bound, "fed_mean off the exact mean by %g (bound %g)", e_mean, bound);
                if (out) fwrite(got, sizeof(float), N, out);
            }
        }
        if (out) fwrite(theta, sizeof(float), N, out);
        fed_free(f);
    }
    if (out) fclose(out);
    int failures = 0;
    MPI_Allreduce(&test_failures, &failures, 1, MPI_INT, MPI_SUM, MPI_COMM_WORLD);
    if (active_comm != MPI_COMM_NULL) MPI_Comm_free(&active_comm);
    topology_free(&t);
    MPI_Finalize();
    return failures ? 1 : 0;
}
