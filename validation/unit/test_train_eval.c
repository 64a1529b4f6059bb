/* test_train_eval.c: the standard error of the validation loss (eval_ratio_se, the ratio
 * estimator over documents) against vectors worked by hand. */
#include <math.h>
#include <stdio.h>

#include "eval.h"

#include "test_check.h"

static int close_to(double a, double b) { return fabs(a - b) <= 1e-12 * (fabs(b) > 1 ? fabs(b) : 1); }

int main(void)
{
    double mean, se;
    /* L = 2 3 7, N = 1 2 3: mean 12/6 = 2, residuals L - 2N = 0 -1 1, sum of squares 2;
     * se = sqrt(3/2 * 2) / 6 = sqrt(3)/6. */
    const double L1[] = {2, 3, 7}, N1[] = {1, 2, 3};
    size_t k = eval_ratio_se(L1, N1, 3, &mean, &se);
    CHECK(k == 3 && close_to(mean, 2.0) && close_to(se, sqrt(3.0) / 6.0), "k %zu mean %g se %.17g", k, mean, se);
    /* A unit without tokens (a document none of whose windows was scored) is left out. */
    const double L2[] = {2, 0, 3, 7}, N2[] = {1, 0, 2, 3};
    k = eval_ratio_se(L2, N2, 4, &mean, &se);
    CHECK(k == 3 && close_to(mean, 2.0) && close_to(se, sqrt(3.0) / 6.0), "k %zu mean %g se %.17g", k, mean, se);
    /* Two units of one token each, losses 1 and 3: the textbook s / sqrt(n) = sqrt(2) / sqrt(2) = 1. */
    const double L3[] = {1, 3}, N3[] = {1, 1};
    k = eval_ratio_se(L3, N3, 2, &mean, &se);
    CHECK(k == 2 && close_to(mean, 2.0) && close_to(se, 1.0), "k %zu mean %g se %.17g", k, mean, se);
    /* Units of 4 and 12 tokens, mean losses 1 and 2: mean 28/16 = 1.75, residuals 4 - 7 = -3 and
     * 24 - 21 = 3, se = sqrt(2 * 18) / 16 = 6/16 (the larger document weighs more). */
    const double L4[] = {4, 24}, N4[] = {4, 12};
    k = eval_ratio_se(L4, N4, 2, &mean, &se);
    CHECK(k == 2 && close_to(mean, 1.75) && close_to(se, 0.375), "k %zu mean %g se %.17g", k, mean, se);
    /* Every unit at the same mean loss: no spread, se 0. */
    const double L5[] = {1.5, 3, 6}, N5[] = {1, 2, 4};
    k = eval_ratio_se(L5, N5, 3, &mean, &se);
    CHECK(k == 3 && close_to(mean, 1.5) && se == 0.0, "k %zu mean %g se %g", k, mean, se);
    /* One unit: the mean, but no standard error; none: neither. */
    const double L6[] = {0, 5}, N6[] = {0, 2};
    k = eval_ratio_se(L6, N6, 2, &mean, &se);
    CHECK(k == 1 && close_to(mean, 2.5) && isnan(se), "k %zu mean %g se %g", k, mean, se);
    k = eval_ratio_se(L6, N6, 1, &mean, &se);
    CHECK(k == 0 && isnan(mean) && isnan(se), "k %zu mean %g se %g", k, mean, se);
    k = eval_ratio_se(NULL, NULL, 0, &mean, &se);
    CHECK(k == 0 && isnan(mean) && isnan(se), "empty: k %zu mean %g se %g", k, mean, se);
    printf("test_train_eval: %d checks, %d failures\n", test_checks, test_failures);
    return test_failures ? 1 : 0;
}
