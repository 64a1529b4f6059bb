/* test_check.h: the check macro of the C tests. CHECK(cond, fmt, ...) counts every check, and a
 * failing one prints the file, line, condition and message and counts as a failure; main ends
 * with `return failures ? 1 : 0`. One per test program (static state). */
#ifndef PHOTON_TEST_CHECK_H
#define PHOTON_TEST_CHECK_H

#include <stdio.h>

static int failures = 0, checks = 0;

#define CHECK(cond, ...)                                                                    \
    do {                                                                                    \
        checks++;                                                                           \
        if (!(cond)) {                                                                      \
            failures++;                                                                     \
            fprintf(stderr, "FAIL %s:%d: %s: ", __FILE__, __LINE__, #cond);                 \
            fprintf(stderr, __VA_ARGS__);                                                   \
            fputc('\n', stderr);                                                            \
        }                                                                                   \
    } while (0)

#endif
