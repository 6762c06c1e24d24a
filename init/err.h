/* SPDX-License-Identifier: MIT */
/*
 * The one error type of minit (crun's libcrun_error_t contract, with a fixed
 * buffer and no malloc). A function that can fail returns 0 or -1 and takes
 * `struct mi_err *e` as its last parameter; the function that stops
 * propagating an error logs it once with mi_err_log() and clears it.
 * Part of the base: depends on libc only.
 */
#ifndef MINIT_ERR_H
#define MINIT_ERR_H

#include <stdbool.h>

#define MI_ERR_MSG 256

struct mi_err {
    int errnum;           /* errno of the failure, 0 if none applies */
    char msg[MI_ERR_MSG]; /* "unable to <verb> <object>" and its context */
    bool set;
};

/* Fills *e with errnum and a formatted message. Always returns -1. */
int mi_err_set(struct mi_err *e, int errnum, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Like mi_err_set() with the current errno. Always returns -1. */
int mi_err_sys(struct mi_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Prefixes context to the message already in *e ("ctx: old"). Returns -1. */
int mi_err_wrap(struct mi_err *e, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Logs *e at error level (with strerror when errnum != 0) and clears it. */
void mi_err_log(struct mi_err *e);

/* Clears *e. */
void mi_err_clear(struct mi_err *e);

#endif
