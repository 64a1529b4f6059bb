/* test_train_round_plan.c: the round plan (round_plan.h) and the schedules over rounds
 * (run_config.h) against plans worked out by hand, and the adaptive clipping threshold
 * (optim.h) against a hand-computed value. */
#include <math.h>
#include <stdio.h>
#include <string.h>

#include "optim.h"
#include "round_plan.h"
#include "test_check.h"

/* Checks the plan's first steps (want, num + 1 entries ending at the run's steps), its
 * synchronous rounds (sync, num entries) and, where given, its progress values. */
static void check_plan(const char *name, const FedConfig *f, long steps, const long *want, const unsigned char *sync,
                       long num, const double *progress)
{
    RoundPlan p;
    round_plan_build(&p, f, steps);
    CHECK(p.num_rounds == num, "%s: %ld rounds, want %ld", name, p.num_rounds, num);
    for (long r = 0; r <= num && r <= p.num_rounds; r++)
        CHECK(p.first[r] == want[r], "%s: round %ld starts at step %ld, want %ld", name, r, p.first[r], want[r]);
    for (long r = 0; r < num && r < p.num_rounds; r++) {
        CHECK(p.sync[r] == sync[r], "%s: round %ld synchronous %d, want %d", name, r, p.sync[r], sync[r]);
        if (progress) CHECK(fabs(p.progress[r] - progress[r]) < 1e-12, "%s: round %ld progress %.15g, want %.15g", name, r, p.progress[r], progress[r]);
    }
    round_plan_free(&p);
}

static FedConfig fed(RunMode mode, int H, long K, ScheduleShape shape, double end)
{
    FedConfig f;
    memset(&f, 0, sizeof f);
    f.mode = mode;
    f.local_steps = H;
    f.sync_steps = K;
    f.local_steps_schedule = (RoundSchedule){.shape = shape, .start = H, .end = end, .step_at = 0.5};
    return f;
}

int main(void)
{
    static const unsigned char none[32];
    /* The rounds photon always had: [r H, (r + 1) H), the last one cut at run.steps. */
    FedConfig f = fed(MODE_FEDERATED, 20, 0, SCHEDULE_CONSTANT, 20);
    const long constant[] = {0, 20, 40, 60, 80, 100};
    check_plan("constant", &f, 100, constant, none, 5, NULL);
    f = fed(MODE_DDP, 4, 0, SCHEDULE_CONSTANT, 4);
    const long cut[] = {0, 4, 8, 10};
    check_plan("ddp, cut", &f, 10, cut, none, 3, NULL);
    /* sync_steps 30, H 20, 100 steps: synchronous [0,20) and [20,30), then [30,50) ... [90,100);
     * progress (s - 30) / 70. */
    f = fed(MODE_FEDERATED, 20, 30, SCHEDULE_CONSTANT, 20);
    const long warm[] = {0, 20, 30, 50, 70, 90, 100};
    const unsigned char warm_sync[] = {1, 1, 0, 0, 0, 0};
    const double warm_p[] = {0, 0, 0, 20.0 / 70, 40.0 / 70, 60.0 / 70};
    check_plan("sync_steps 30", &f, 100, warm, warm_sync, 6, warm_p);
    /* sync_steps is federated mode's: ddp and centralized keep constant rounds. */
    f = fed(MODE_CENTRALIZED, 20, 30, SCHEDULE_CONSTANT, 20);
    check_plan("centralized ignores sync_steps", &f, 100, constant, none, 5, NULL);
    /* H linear 10 -> 30 over 100 steps: H(p) = 10 + 20 p rounded: s 0 -> 10; 10 (p .1) -> 12;
     * 22 -> 14.4 = 14; 36 -> 17.2 = 17; 53 -> 20.6 = 21; 74 -> 24.8 = 25; 99 -> 29.8 = 30, cut to 1. */
    f = fed(MODE_FEDERATED, 10, 0, SCHEDULE_LINEAR, 30);
    const long linear[] = {0, 10, 22, 36, 53, 74, 99, 100};
    check_plan("H linear 10 -> 30", &f, 100, linear, none, 7, NULL);
    /* H step 10 -> 40 at half of the steps: 10 until p >= 0.5 (step 50), then 40, cut at 100. */
    f = fed(MODE_FEDERATED, 10, 0, SCHEDULE_STEP, 40);
    const long step[] = {0, 10, 20, 30, 40, 50, 90, 100};
    check_plan("H step 10 -> 40", &f, 100, step, none, 7, NULL);
    /* A shrinking H never drops below one step: 4 -> 0 linear. */
    f = fed(MODE_FEDERATED, 4, 0, SCHEDULE_LINEAR, 0);
    RoundPlan p;
    round_plan_build(&p, &f, 12);
    int ok = p.first[p.num_rounds] == 12;
    for (long r = 0; r < p.num_rounds; r++) ok &= round_plan_steps(&p, r) >= 1;
    CHECK(ok, "H 4 -> 0: every round at least one step, ending at step 12");
    round_plan_free(&p);

    /* The schedules' values. */
    const RoundSchedule lin = {SCHEDULE_LINEAR, 0.7, 0.1, 0.5}, stp = {SCHEDULE_STEP, 0.9, 0.5, 0.25},
                        con = {SCHEDULE_CONSTANT, 0.7, 0.1, 0.5};
    CHECK(fabs(round_schedule_at(&lin, 0.25) - 0.55) < 1e-15, "linear 0.7 -> 0.1 at p 0.25: %g", round_schedule_at(&lin, 0.25));
    CHECK(round_schedule_at(&lin, 0) == 0.7, "linear at p 0 is the start");
    CHECK(round_schedule_at(&stp, 0.2) == 0.9 && round_schedule_at(&stp, 0.25) == 0.5, "step switches at step_at 0.25");
    CHECK(round_schedule_at(&con, 0.9) == 0.7, "constant stays at the start");

    /* Adaptive clipping: v = {1, 2, 3, 1}, beta2 0.5, after t = 1 step: sum 7, bias correction
     * 1 - 0.5 = 0.5, RMS norm sqrt(14); factor 2 -> 2 sqrt(14) = 7.48331477... On the first step
     * (t = 0) the threshold is grad_clip; with clip_factor 0, always grad_clip. */
    const float v[] = {1, 2, 3, 1};
    InnerOptConfig o = {.kind = OPTIM_ADAMW, .beta1 = 0.9f, .beta2 = 0.5f, .eps = 1e-8f, .grad_clip = 1.0, .clip_factor = 2.0};
    CHECK(fabs(clip_threshold(&o, v, 4, 1) - 7.483314773547883) < 1e-12, "adaptive threshold %.15g", clip_threshold(&o, v, 4, 1));
    /* t = 2: correction 1 - 0.25 = 0.75, sqrt(7 / 0.75) * 2 = 6.110100926607787 */
    CHECK(fabs(clip_threshold(&o, v, 4, 2) - 6.110100926607787) < 1e-12, "adaptive threshold at t 2: %.15g", clip_threshold(&o, v, 4, 2));
    CHECK(clip_threshold(&o, v, 4, 0) == 1.0, "the first step clips at grad_clip");
    o.clip_factor = 0;
    CHECK(clip_threshold(&o, v, 4, 5) == 1.0, "fixed clipping: grad_clip");

    printf("test_train_round_plan: %d checks, %d failures\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}
