/* test_fed_sample.c: client sampling and the fault schedule are deterministic functions of
 * (seed, round): k of S silos every round, the same on every call (hence on every rank), varying
 * over rounds and seeds; listed fault rounds always fire, the probability is honoured. */
#include <stdio.h>
#include <string.h>

#include "fedavg.h"
#include "test_fed_util.h"

#define S 8

static int count(const int *p)
{
    int c = 0;
    for (int i = 0; i < S; i++) c += p[i] != 0;
    return c;
}

int main(void)
{
    int a[S], b[S], first[S], chosen[S] = {0};
    int distinct = 0;
    for (long r = 0; r < 50; r++) {
        fed_sample_clients(42, r, S, 3, a);
        fed_sample_clients(42, r, S, 3, b);
        CHECK(count(a) == 3, "round %ld: %d silos sampled, want 3", r, count(a));
        CHECK(memcmp(a, b, sizeof a) == 0, "round %ld: the same (seed, round) gave two sets", r);
        for (int i = 0; i < S; i++) {
            CHECK(a[i] == 0 || a[i] == 1, "flags are 0/1");
            chosen[i] += a[i];
        }
        if (r == 0) memcpy(first, a, sizeof a);
        else distinct += memcmp(first, a, sizeof a) != 0;
    }
    CHECK(distinct >= 40, "sampled sets hardly vary over rounds (%d of 49 differ from round 0)", distinct);
    // 50 rounds x 3 of 8: each silo is expected 18.75 times; never chosen would mean a broken draw.
    for (int i = 0; i < S; i++) CHECK(chosen[i] >= 5, "silo %d chosen only %d times in 50 rounds", i, chosen[i]);
    int seed_differs = 0;
    for (long r = 0; r < 10; r++) {
        fed_sample_clients(42, r, S, 3, a);
        fed_sample_clients(43, r, S, 3, b);
        seed_differs += memcmp(a, b, sizeof a) != 0;
    }
    CHECK(seed_differs > 0, "the seed does not change the sampled sets");
    fed_sample_clients(42, 3, S, 0, a);
    CHECK(count(a) == S, "k = 0 means all silos");
    fed_sample_clients(42, 3, S, S, a);
    CHECK(count(a) == S, "k = S means all silos");
    fed_sample_clients(42, 3, S, S + 5, a);
    CHECK(count(a) == S, "k > S means all silos");
    fed_sample_clients(42, 3, S, 1, a);
    CHECK(count(a) == 1, "k = 1 samples one silo");

    // Fault schedule.
    int rounds[] = {2, 5};
    FaultConfig fc = {.silo = 3, .rounds = rounds, .num_rounds = 2, .prob = 0.0, .seed = 9};
    for (long r = 0; r < 8; r++)
        for (int s = 0; s < S; s++) {
            int want = s == 3 && (r == 2 || r == 5);
            CHECK(fault_fires(&fc, s, r) == want, "listed rounds: silo %d round %ld", s, r);
        }
    CHECK(!fault_fires(NULL, 3, 2), "no config, no fault");
    fc.silo = -1;
    CHECK(!fault_fires(&fc, 3, 2), "silo -1: no fault");
    fc = (FaultConfig){.silo = 1, .prob = 1.0, .seed = 9};
    for (long r = 0; r < 20; r++) CHECK(fault_fires(&fc, 1, r), "prob 1 fires at round %ld", r);
    fc.prob = 0.5;
    int fired = 0, again = 0;
    for (long r = 0; r < 200; r++) {
        int f1 = fault_fires(&fc, 1, r);
        fired += f1;
        again += f1 == fault_fires(&fc, 1, r);
        CHECK(!fault_fires(&fc, 2, r), "only the faulty silo fails");
    }
    CHECK(again == 200, "the fault schedule is not deterministic");
    CHECK(fired >= 70 && fired <= 130, "prob 0.5 fired %d times in 200 rounds", fired);
    // Sampling and faults draw from different streams: with the same seed they are not the same
    // coin (checked over many rounds: equal decisions every time would be a shared stream).
    int sample_first[200], same = 0;
    fc = (FaultConfig){.silo = 0, .prob = 0.5, .seed = 42};
    for (long r = 0; r < 200; r++) {
        fed_sample_clients(42, r, 2, 1, a);
        sample_first[r] = a[0];
        same += sample_first[r] == fault_fires(&fc, 0, r);
    }
    CHECK(same < 200, "sampling and fault injection share a random stream");

    printf("test_fed_sample: %s\n", test_failures ? "FAIL" : "PASS");
    return test_failures ? 1 : 0;
}
