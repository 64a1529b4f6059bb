/* test_fed_outer.c: every outer optimizer over 3 rounds on a 3-element vector, against values
 * worked out by hand (and with a 40-digit decimal calculator for the square roots), not by
 * running src/federation/outer.c. Start θ = (1, −2, 0.5); the rounds' means θ̄ are
 *   θ̄1 = (0.5, −1.5, 0.25)   θ̄2 = (0.25, −1, 0.5)   θ̄3 = (0, −1.25, 0.75)
 * Example, fedmom (μ = 0.5, lr = 0.5), round 1: Δ = θ − θ̄1 = (0.5, −0.5, 0.25) = m;
 * θ = θ − 0.5·m = (0.75, −1.75, 0.375). Round 2: Δ = (0.5, −0.75, −0.125),
 * m = 0.5·(0.5, −0.5, 0.25) + Δ = (0.75, −1, 0); θ = (0.375, −1.25, 0.375). Round 3: Δ =
 * (0.375, 0, −0.375), m = (0.75, −0.5, −0.375), θ = (0, −1, 0.5625).
 * fedadam (lr 0.25, β1 0.5, β2 0.75, τ 0.125), round 1: m = 0.5·Δ = (0.25, −0.25, 0.125),
 * v = 0.75·τ² + 0.25·Δ² = (0.07421875, 0.07421875, 0.02734375), θ1 = 1 − 0.25·0.25/(√0.07421875
 * + 0.125) = 0.84274007... . fedyogi round 1: v − Δ² < 0 everywhere, so v = τ² + 0.25·Δ²
 * = (0.078125, 0.078125, 0.03125); in round 2 the third element has v > Δ² and v shrinks. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "outer.h"
#include "test_fed_util.h"

static const float theta0[3] = {1.0f, -2.0f, 0.5f};
static const float avgs[3][3] = {{0.5f, -1.5f, 0.25f}, {0.25f, -1.0f, 0.5f}, {0.0f, -1.25f, 0.75f}};

// float32 arithmetic against exact values: a few ulps per operation over 3 rounds.
static int close(double got, double want) { return fabs(got - want) <= 4e-6 * fmax(1.0, fabs(want)); }

static void run_case(const char *name, OuterConfig cfg, const double want[3][3],
                     const double want_m[3], const double want_v[3])
{
    OuterOpt o;
    outer_init(&o, &cfg, 3);
    float theta[3];
    memcpy(theta, theta0, sizeof theta);
    for (int r = 0; r < 3; r++) {
        outer_step(&o, theta, avgs[r], 3);
        for (int i = 0; i < 3; i++)
            CHECK(close(theta[i], want[r][i]), "%s round %d element %d: got %.9g, want %.9g", name,
                  r + 1, i, theta[i], want[r][i]);
    }
    CHECK(o.t == 3, "%s: t = %ld after 3 steps", name, o.t);
    const float *m = outer_state(&o, "m"), *v = outer_state(&o, "v");
    for (int i = 0; i < 3 && want_m; i++)
        CHECK(close(m[i], want_m[i]), "%s m[%d]: got %.9g, want %.9g", name, i, m[i], want_m[i]);
    for (int i = 0; i < 3 && want_v; i++)
        CHECK(close(v[i], want_v[i]), "%s v[%d]: got %.9g, want %.9g", name, i, v[i], want_v[i]);
    if (cfg.kind == OUTER_FEDAVG) CHECK(m == NULL && v == NULL, "fedavg keeps no state");
    if (cfg.kind == OUTER_FEDMOM || cfg.kind == OUTER_NESTEROV) CHECK(v == NULL, "%s keeps no v", name);
    outer_free(&o);
}

int main(void)
{
    // fedavg, lr 0.5: θ ← θ − 0.5(θ − θ̄). All values are dyadic, so exact in float.
    run_case("fedavg", (OuterConfig){.kind = OUTER_FEDAVG, .lr = 0.5f},
             (const double[3][3]){{0.75, -1.75, 0.375}, {0.5, -1.375, 0.4375}, {0.25, -1.3125, 0.59375}},
             NULL, NULL);
    run_case("fedmom", (OuterConfig){.kind = OUTER_FEDMOM, .lr = 0.5f, .momentum = 0.5f},
             (const double[3][3]){{0.75, -1.75, 0.375}, {0.375, -1.25, 0.375}, {0.0, -1.0, 0.5625}},
             (const double[3]){0.75, -0.5, -0.375}, NULL);
    // nesterov, μ 0.5, lr 0.5: round 1 step = Δ + μ·m = 1.5Δ, θ1 = (0.625, −1.625, 0.3125);
    // round 2: Δ = (0.375, −0.625, −0.1875), m = (0.625, −0.875, −0.0625),
    // step = (0.6875, −1.0625, −0.21875), θ2 = (0.28125, −1.09375, 0.421875); round 3 below.
    run_case("nesterov", (OuterConfig){.kind = OUTER_NESTEROV, .lr = 0.5f, .momentum = 0.5f},
             (const double[3][3]){{0.625, -1.625, 0.3125},
                                  {0.28125, -1.09375, 0.421875},
                                  {-0.0078125, -1.1015625, 0.67578125}},
             (const double[3]){0.59375, -0.28125, -0.359375}, NULL);
    run_case("fedadam",
             (OuterConfig){.kind = OUTER_FEDADAM, .lr = 0.25f, .beta1 = 0.5f, .beta2 = 0.75f, .tau = 0.125f},
             (const double[3][3]){{0.84274007043062176, -1.84274007043062176, 0.39237478148923490},
                                  {0.63364956120747952, -1.61805370426988165, 0.38456188462468230},
                                  {0.40669443172793882, -1.42163080343806122, 0.51171977246951178}},
             (const double[3]){0.52750979821139520, -0.45721186974259627, -0.17837536231535012},
             (const double[3]){0.20800238680975129, 0.20877845911470962, 0.050938961103420365});
    run_case("fedyogi",
             (OuterConfig){.kind = OUTER_FEDYOGI, .lr = 0.25f, .beta1 = 0.5f, .beta2 = 0.75f, .tau = 0.125f},
             (const double[3][3]){{0.84549150281252629, -1.84549150281252629, 0.39644660940672624},
                                  {0.64734827410813515, -1.62874887481596806, 0.38732890294780174},
                                  {0.44031794505420016, -1.43413369132255447, 0.50530719693009206}},
             (const double[3]){0.53504701275719915, -0.46324731311111560, -0.17597389617441757},
             (const double[3]){0.27154247947817557, 0.22097629278845558, 0.061451754983420473});

    // fedavg with lr == 1 copies θ̄: bitwise, including a −0.0 that θ − (θ − θ̄) would turn into +0.
    {
        OuterOpt o;
        OuterConfig c = {.kind = OUTER_FEDAVG, .lr = 1.0f};
        outer_init(&o, &c, 3);
        float theta[3] = {1.0f, 3.0f, 0.1f}, avg[3] = {-0.0f, 0.30000001f, 1e-30f};
        outer_step(&o, theta, avg, 3);
        CHECK(memcmp(theta, avg, sizeof avg) == 0, "fedavg lr 1 must copy theta_avg bitwise");
        CHECK(signbit(theta[0]), "fedavg lr 1 must keep -0.0");
        outer_free(&o);
    }
    // Adam and Yogi start v at τ².
    {
        OuterOpt o;
        OuterConfig c = {.kind = OUTER_FEDYOGI, .lr = 0.1f, .beta1 = 0.9f, .beta2 = 0.99f, .tau = 1e-3f};
        outer_init(&o, &c, 2);
        const float *m = outer_state(&o, "m"), *v = outer_state(&o, "v");
        CHECK(v[0] == 1e-3f * 1e-3f && v[1] == 1e-3f * 1e-3f, "v starts at tau^2, got %g", v[0]);
        CHECK(m[0] == 0.0f && o.t == 0, "m starts at 0");
        outer_free(&o);
    }
    // Names and settings.
    const char *names[] = {"fedavg", "fedmom", "nesterov", "fedadam", "fedyogi"};
    for (int k = 0; k < 5; k++) {
        OuterKind got;
        CHECK(outer_kind_parse(names[k], &got) == 0 && (int)got == k, "parse %s", names[k]);
        CHECK(strcmp(outer_kind_name((OuterKind)k), names[k]) == 0, "name of %d", k);
    }
    OuterKind dummy;
    CHECK(outer_kind_parse("adam", &dummy) == -1, "unknown names are refused");
    char err[256];
    CHECK(outer_config_check(&(OuterConfig){.kind = OUTER_FEDAVG, .lr = -0.5f}, err, sizeof err) == -1 &&
              strstr(err, "learning rate"), "negative lr refused: %s", err);
    CHECK(outer_config_check(&(OuterConfig){.kind = OUTER_NESTEROV, .lr = 0.7f, .momentum = 1.0f}, err,
                             sizeof err) == -1 && strstr(err, "momentum"), "momentum 1 refused: %s", err);
    CHECK(outer_config_check(&(OuterConfig){.kind = OUTER_FEDADAM, .lr = 0.1f, .beta1 = 0.9f,
                                            .beta2 = 0.99f, .tau = 0.0f}, err, sizeof err) == -1 &&
              strstr(err, "tau"), "tau 0 refused: %s", err);
    CHECK(outer_config_check(&(OuterConfig){.kind = OUTER_FEDADAM, .lr = 0.1f, .beta1 = 0.9f,
                                            .beta2 = 0.99f, .tau = 1e-3f}, err, sizeof err) == 0,
          "a good fedadam config passes: %s", err);

    printf("test_fed_outer: %s\n", test_failures ? "FAIL" : "PASS");
    return test_failures ? 1 : 0;
}
