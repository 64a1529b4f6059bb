/* round_plan.c: see round_plan.h. */
#include "round_plan.h"

#include <math.h>
#include <string.h>

#include "check.h"

/* One pass that counts the rounds (out == NULL) or fills them. */
static long plan_pass(const FedConfig *f, long steps, RoundPlan *out)
{
    const long K = f->mode == MODE_FEDERATED ? f->sync_steps : 0;
    const long H0 = f->local_steps;
    long r = 0;
    for (long s = 0; s < steps; r++) {
        long len;
        int sync = s < K;
        double p = 0.0;
        if (sync) {
            len = H0 < K - s ? H0 : K - s;
        } else {
            p = (double)(s - K) / (double)(steps - K);
            double h = f->mode == MODE_FEDERATED ? round_schedule_at(&f->local_steps_schedule, p) : (double)H0;
            len = (long)llround(h);
            if (len < 1) len = 1;
            if (len > steps - s) len = steps - s;
        }
        if (out) {
            out->first[r] = s;
            out->sync[r] = (unsigned char)sync;
            out->progress[r] = p;
        }
        s += len;
    }
    if (out) out->first[r] = steps;
    return r;
}

void round_plan_build(RoundPlan *p, const FedConfig *f, long steps)
{
    memset(p, 0, sizeof *p);
    p->num_rounds = plan_pass(f, steps, NULL);
    p->first = mallocCheck((size_t)(p->num_rounds + 1) * sizeof *p->first);
    p->sync = mallocCheck((size_t)(p->num_rounds > 0 ? p->num_rounds : 1));
    p->progress = mallocCheck((size_t)(p->num_rounds > 0 ? p->num_rounds : 1) * sizeof *p->progress);
    plan_pass(f, steps, p);
}

void round_plan_free(RoundPlan *p)
{
    free(p->first);
    free(p->sync);
    free(p->progress);
    memset(p, 0, sizeof *p);
}
