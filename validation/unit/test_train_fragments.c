/* test_train_fragments.c: the streaming-sync plan (fragments.h) against the layout written out by
 * hand: every parameter in exactly one fragment; layer l of every per-layer tensor in fragment
 * l mod F; wte, wpe, lnf cut into F contiguous near-equal pieces; and the schedule (fragment f's
 * exchange starts after the steps s with s + 1 + τ ≡ f·H/F mod H, and lands τ steps later). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fragments.h"
#include "test_check.h"

static int owner_of(FragRange **r, const int *nr, int F, size_t i)
{
    int who = -1;
    for (int f = 0; f < F; f++)
        for (int j = 0; j < nr[f]; j++)
            if (i >= r[f][j].off && i < r[f][j].off + r[f][j].cnt) who = who < 0 ? f : -2; // -2: twice
    return who;
}

int main(void)
{
    const GPTConfig c = {.max_seq_len = 8, .vocab_size = 10, .num_layers = 4, .num_heads = 2, .channels = 4, .bias = 1};
    size_t sizes[GPT_NUM_TENSORS], off[GPT_NUM_TENSORS], n = 0;
    gpt_tensor_sizes(&c, sizes);
    for (int i = 0; i < GPT_NUM_TENSORS; i++) { off[i] = n; n += sizes[i]; }
    for (int F = 1; F <= 3; F++) {
        FragRange **r;
        int *nr;
        size_t *size;
        fragments_plan(&c, F, &r, &nr, &size);
        size_t total = 0;
        for (int f = 0; f < F; f++) total += size[f];
        CHECK(total == n, "F %d: the fragments hold %zu of %zu values", F, total, n);
        int bad = 0;
        for (size_t i = 0; i < n; i++) bad += owner_of(r, nr, F, i) < 0;
        CHECK(bad == 0, "F %d: %d values in no fragment or in two", F, bad);
        // qkvw (tensor 4): layer l -> fragment l mod F.
        const size_t per = sizes[4] / 4;
        for (int l = 0; l < 4; l++)
            CHECK(owner_of(r, nr, F, off[4] + (size_t)l * per) == l % F && owner_of(r, nr, F, off[4] + (size_t)(l + 1) * per - 1) == l % F,
                  "F %d: layer %d of qkvw in fragment %d", F, l, owner_of(r, nr, F, off[4] + (size_t)l * per));
        // wte (40 values): F contiguous pieces, the first 40 % F one longer.
        const size_t base = sizes[0] / (size_t)F, rem = sizes[0] % (size_t)F;
        size_t o = 0;
        for (int f = 0; f < F; f++) {
            const size_t cnt = base + ((size_t)f < rem);
            CHECK(owner_of(r, nr, F, o) == f && owner_of(r, nr, F, o + cnt - 1) == f, "F %d: wte piece %d", F, f);
            o += cnt;
        }
        CHECK(owner_of(r, nr, F, n - 1) == F - 1, "F %d: the last lnf value in the last fragment", F);
        if (F == 1) CHECK(nr[0] == 1 && r[0][0].off == 0 && r[0][0].cnt == n, "F 1: one range, the whole model");
        for (int f = 0; f < F; f++) free(r[f]);
        free(r);
        free(nr);
        free(size);
    }
    // The schedule: H = 8, F = 4: fragment f's exchange lands after the local steps ≡ 2f (mod 8)
    // (fragment 0 on the boundary) and starts τ steps earlier (τ = 0: after steps 7, 1, 3, 5 of
    // the round; τ = 1: 6, 0, 2, 4).
    for (int tau = 0; tau <= 1; tau++)
        for (int f = 0; f < 4; f++) {
            int k = 0;
            for (long s = 0; s < 24; s++)
                if (fragment_syncs_after(s, 8, 4, tau, f)) {
                    const long want = (f ? 2 * f : 8) - 1 - tau + 8 * k;
                    CHECK(k < 3 && s == want, "tau %d: fragment %d started after step %ld, want %ld", tau, f, s, want);
                    k++;
                }
            CHECK(k == 3, "tau %d: fragment %d started %d times in 24 steps, want 3", tau, f, k);
        }
    for (long s = 0; s < 40; s++)
        CHECK(fragment_syncs_after(s, 10, 1, 0, 0) == ((s + 1) % 10 == 0), "F 1: the plain round boundary at step %ld", s);
    // F = 1 with an overlap of 3: the exchange starts 3 steps before the boundary, lands on it.
    for (long s = 0; s < 40; s++)
        CHECK(fragment_syncs_after(s, 10, 1, 3, 0) == ((s + 4) % 10 == 0), "F 1, tau 3: step %ld", s);
    printf("%d checks, %d failures\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}
