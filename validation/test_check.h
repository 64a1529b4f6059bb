/* test_check.h: the one check macro of the C tests (validation/unit, validation/mpi, and the
 * helper programs of validation/tools that check files). CHECK(cond, fmt, ...) counts every check
 * in test_checks; a failing one prints the file, line, the condition as written and the message,
 * and counts in test_failures. main ends with `return test_failures ? 1 : 0` (multi-rank tests
 * first sum test_failures over the ranks). One set of counters per test program (static state). */
#ifndef PHOTON_TEST_CHECK_H
#define PHOTON_TEST_CHECK_H

#include <stdio.h>

static int test_failures = 0, test_checks = 0;

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        test_checks++;                                                                      \
        if (!(cond)) {                                                                      \
            test_failures++;                                                                \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
        }                                                                                   \
    } while (0)

#endif
