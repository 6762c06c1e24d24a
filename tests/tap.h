/* SPDX-License-Identifier: MIT */
/*
 * A minimal TAP producer for unit tests: ok/not ok lines, CHECK macros,
 * done_testing() prints the plan and returns the exit status (77 = skip).
 */
#ifndef MINIT_TAP_H
#define MINIT_TAP_H

#include <stdio.h>
#include <string.h>

static int tap_n;
static int tap_failed;

#define TAP_OK(cond, ...)                                                                          \
    do {                                                                                           \
        tap_n++;                                                                                   \
        if (cond) {                                                                                \
            printf("ok %d - ", tap_n);                                                             \
        } else {                                                                                   \
            tap_failed++;                                                                          \
            printf("not ok %d - ", tap_n);                                                         \
        }                                                                                          \
        printf(__VA_ARGS__);                                                                       \
        printf("\n");                                                                              \
        if (!(cond)) {                                                                             \
            printf("#   failed at %s:%d: %s\n", __FILE__, __LINE__, #cond);                        \
        }                                                                                          \
    } while (0)

#define CHECK_INT(a, b, ...)                                                                       \
    do {                                                                                           \
        long long tap_a = (long long)(a);                                                          \
        long long tap_b = (long long)(b);                                                          \
        TAP_OK(tap_a == tap_b, __VA_ARGS__);                                                       \
        if (tap_a != tap_b) {                                                                      \
            printf("#   got %lld, want %lld\n", tap_a, tap_b);                                     \
        }                                                                                          \
    } while (0)

#define CHECK_STR(a, b, ...)                                                                       \
    do {                                                                                           \
        const char *tap_a = (a);                                                                   \
        const char *tap_b = (b);                                                                   \
        int tap_eq = tap_a && tap_b && strcmp(tap_a, tap_b) == 0;                                  \
        TAP_OK(tap_eq, __VA_ARGS__);                                                               \
        if (!tap_eq) {                                                                             \
            printf("#   got '%s', want '%s'\n", tap_a ? tap_a : "(null)",                          \
                   tap_b ? tap_b : "(null)");                                                      \
        }                                                                                          \
    } while (0)

#define CHECK_CONTAINS(hay, needle, ...)                                                           \
    do {                                                                                           \
        const char *tap_h = (hay);                                                                 \
        int tap_in = tap_h && strstr(tap_h, (needle)) != NULL;                                     \
        TAP_OK(tap_in, __VA_ARGS__);                                                               \
        if (!tap_in) {                                                                             \
            printf("#   '%s' does not contain '%s'\n", tap_h ? tap_h : "(null)", (needle));        \
        }                                                                                          \
    } while (0)

static inline int
done_testing(void)
{
    printf("1..%d\n", tap_n);
    fflush(stdout);
    return tap_failed ? 1 : 0;
}

#endif
