/* test_fed_policy.c: the drop decisions of round_policy.h on crafted records, serially (no MPI):
 *   a non-finite participant is dropped, absent silos are neither kept nor dropped;
 *   the outlier rule drops ‖Δ‖ > factor × median, needs >= 3 finite participants and a positive
 *   median, and is off at factor 0;
 *   too few survivors for min_clients skip the round (values below 1 act as 1);
 *   the survivors come in ascending silo order with p_k = (float)(w_k / Σw), Σw in double;
 *   the reason text names each drop and the skip. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "round_policy.h"
#include "test_fed_util.h"

#define S 5

static double rec[S * REC_LEN];
static int verdict[S];
static int participated[S], dropped[S], surv[S];
static double weight[S], norm[S];
static float p[S];

// Silo k's record: absent (part 0), or its weight and ‖Δ‖ (NAN/INFINITY: non-finite).
static void set(int k, int part, double w, double dnorm)
{
    double *r = rec + k * REC_LEN;
    r[REC_PART] = part;
    r[REC_WEIGHT] = part ? w : 0.0;
    r[REC_FINITE] = part ? (isfinite(dnorm) ? 1.0 : 0.0) : 1.0;
    r[REC_NORM] = part ? dnorm : 0.0;
}

static RoundOutcome decide(double factor, int min_clients)
{
    DropPolicy dp = {.outlier_factor = factor, .min_clients = min_clients};
    RoundOutcome o = {.participated = participated, .dropped = dropped, .weight = weight,
                      .delta_norm = norm, .surv = surv, .p = p};
    policy_decide(&dp, S, rec, REC_LEN, verdict);
    policy_outcome(&dp, S, rec, REC_LEN, verdict, &o);
    return o;
}

int main(void)
{
    // Non-finite: silo 1 is dropped, silo 3 is absent; the rest survive with normalised weights.
    const double w[S] = {30000001.0, 5.0, 30012347.0, 1.0, 777.0};
    set(0, 1, w[0], 1.0);
    set(1, 1, w[1], NAN);
    set(2, 1, w[2], 2.0);
    set(3, 0, 0.0, 0.0);
    set(4, 1, w[4], 1.5);
    RoundOutcome o = decide(0.0, 1);
    CHECK(verdict[1] == VERDICT_NONFINITE && dropped[1] == DROP_NONFINITE, "NaN norm dropped");
    CHECK(verdict[3] == VERDICT_ABSENT && !participated[3] && dropped[3] == DROP_NONE, "absent silo");
    CHECK(o.participants == 4 && o.survivors == 3 && !o.skipped, "4 participants, 3 survivors");
    CHECK(surv[0] == 0 && surv[1] == 2 && surv[2] == 4, "survivors ascending: %d %d %d", surv[0], surv[1], surv[2]);
    double wsum = w[0] + w[2] + w[4]; // ascending, in double
    CHECK(p[0] == (float)(w[0] / wsum) && p[1] == (float)(w[2] / wsum) && p[2] == (float)(w[4] / wsum),
          "p_k = (float)(w_k / sum w)");
    CHECK(fabs((double)p[0] + p[1] + p[2] - 1.0) < 1e-6, "weights sum to 1");
    CHECK(o.median_norm == 1.5, "median of the finite norms 1, 1.5, 2: %g", o.median_norm);
    CHECK(weight[2] == w[2] && norm[2] == 2.0 && isnan(norm[1]), "per-silo weight and norm recorded");
    CHECK(strcmp(o.reason, "silo 1 dropped: non-finite pseudo-gradient") == 0, "reason '%s'", o.reason);
    set(1, 1, w[1], INFINITY);
    o = decide(0.0, 1);
    CHECK(dropped[1] == DROP_NONFINITE && o.survivors == 3, "Inf norm dropped");

    // Outliers: norms 1, 1, 1.2, 10, absent: median 1.1; factor 3 drops silo 3 only.
    set(0, 1, 1.0, 1.0);
    set(1, 1, 1.0, 1.0);
    set(2, 1, 1.0, 1.2);
    set(3, 1, 1.0, 10.0);
    set(4, 0, 0.0, 0.0);
    o = decide(3.0, 1);
    CHECK(dropped[3] == DROP_OUTLIER && o.survivors == 3 && dropped[2] == DROP_NONE, "outlier dropped");
    CHECK(strcmp(o.reason, "silo 3 dropped: outlier, |delta| 10 > 3 x median 1.1") == 0, "reason '%s'", o.reason);
    o = decide(0.0, 1);
    CHECK(o.survivors == 4 && o.reason[0] == 0, "factor 0: no outlier rule");
    // Only 2 finite participants (one NaN): the rule cannot single one out.
    set(0, 0, 0.0, 0.0);
    set(1, 1, 1.0, NAN);
    o = decide(3.0, 1);
    CHECK(dropped[3] == DROP_NONE && dropped[1] == DROP_NONFINITE && o.survivors == 2,
          "fewer than 3 finite: no outlier");
    // A zero median: no outlier rule either.
    set(0, 1, 1.0, 0.0);
    set(1, 1, 1.0, 0.0);
    set(2, 1, 1.0, 0.0);
    o = decide(3.0, 1);
    CHECK(o.median_norm == 0.0 && o.survivors == 4, "zero median: no outlier");

    // min_clients: 4 survivors; 5 needed skips, with a reason after the drops; 0 acts as 1.
    set(0, 1, 1.0, 1.0);
    set(1, 1, 1.0, NAN);
    set(2, 1, 1.0, 1.0);
    set(3, 1, 1.0, 1.0);
    set(4, 1, 1.0, 1.0);
    o = decide(0.0, 5);
    CHECK(o.skipped && o.survivors == 4 && o.participants == 5, "min_clients 5 skips");
    CHECK(strcmp(o.reason, "silo 1 dropped: non-finite pseudo-gradient; round skipped: 4 of 5 participants "
                           "survived, min_clients = 5") == 0, "reason '%s'", o.reason);
    o = decide(0.0, 4);
    CHECK(!o.skipped, "min_clients 4 proceeds");
    for (int k = 0; k < S; k++) set(k, 1, 1.0, NAN);
    o = decide(0.0, 0);
    CHECK(o.skipped && o.survivors == 0 && strstr(o.reason, "min_clients = 1"), "min_clients 0 acts as 1: '%s'",
          o.reason);

    // The leader's record: ‖θ − x‖, finite or not; absent records carry nothing.
    const float theta[3] = {1.0f, 2.0f, 3.0f}, x[3] = {1.0f, 5.0f, 7.0f}, bad[3] = {1.0f, NAN, 3.0f};
    double r[REC_LEN];
    policy_make_record(1, 42.0, theta, x, 3, r);
    CHECK(r[REC_PART] == 1.0 && r[REC_WEIGHT] == 42.0 && r[REC_FINITE] == 1.0 && r[REC_NORM] == 5.0,
          "record of a participant: norm %g", r[REC_NORM]);
    policy_make_record(1, 42.0, theta, bad, 3, r);
    CHECK(r[REC_FINITE] == 0.0, "a NaN makes the record non-finite");
    policy_make_record(0, 42.0, NULL, NULL, 3, r);
    CHECK(r[REC_PART] == 0.0 && r[REC_WEIGHT] == 0.0 && r[REC_FINITE] == 1.0 && r[REC_NORM] == 0.0, "absent record");

    printf("test_fed_policy: %s\n", test_failures ? "FAIL" : "PASS");
    return test_failures ? 1 : 0;
}
