/* SPDX-License-Identifier: MIT */
/*
 * The error object: formatting into a fixed buffer, never malloc, so that it
 * is usable anywhere after setup (and, without mi_err_log, in tests).
 */
#include "init/err.h"

#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "init/log.h"

int
mi_err_set(struct mi_err *e, int errnum, const char *fmt, ...)
{
    va_list ap;

    e->errnum = errnum;
    e->set = true;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    return -1;
}

int
mi_err_sys(struct mi_err *e, const char *fmt, ...)
{
    int saved = errno;
    va_list ap;

    e->errnum = saved;
    e->set = true;
    va_start(ap, fmt);
    vsnprintf(e->msg, sizeof(e->msg), fmt, ap);
    va_end(ap);
    errno = saved;
    return -1;
}

int
mi_err_wrap(struct mi_err *e, const char *fmt, ...)
{
    char old[MI_ERR_MSG];
    char ctx[MI_ERR_MSG];
    va_list ap;

    memcpy(old, e->msg, sizeof(old));
    va_start(ap, fmt);
    vsnprintf(ctx, sizeof(ctx), fmt, ap);
    va_end(ap);
    /* Truncation keeps the head of the message: context first. */
    if (snprintf(e->msg, sizeof(e->msg), "%s: %s", ctx, old) >= (int)sizeof(e->msg)) {
        memcpy(e->msg + sizeof(e->msg) - 4, "...", 4);
    }
    e->set = true;
    return -1;
}

void
mi_err_log(struct mi_err *e)
{
    if (e->errnum != 0) {
        mi_log(MI_LOG_ERROR, "%s: %s", e->msg, strerror(e->errnum));
    } else {
        mi_log(MI_LOG_ERROR, "%s", e->msg);
    }
    mi_err_clear(e);
}

void
mi_err_clear(struct mi_err *e)
{
    e->errnum = 0;
    e->msg[0] = '\0';
    e->set = false;
}
