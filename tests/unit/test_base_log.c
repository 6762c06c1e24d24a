/* SPDX-License-Identifier: MIT */
/* Unit tests: the log record format and the error object. */
#include <errno.h>
#include <string.h>

#include "init/err.h"
#include "init/log.h"
#include "tests/tap.h"

int
main(void)
{
    char buf[MI_LOG_RECORD_MAX + 1];
    char big[8192];
    struct mi_err e = {0};
    int n;

    n = mi_log_format(buf, MI_LOG_RECORD_MAX, MI_LOG_WARNING, NULL, "hello %d", 42);
    CHECK_STR(buf, "minit: warning: hello 42\n", "plain record");
    CHECK_INT(n, (int)strlen(buf), "length returned");
    mi_log_format(buf, MI_LOG_RECORD_MAX, MI_LOG_ERROR, "web", "unable to start");
    CHECK_STR(buf, "minit: error: service web: unable to start\n", "service record");
    mi_log_format(buf, MI_LOG_RECORD_MAX, MI_LOG_FATAL, NULL, "x");
    CHECK_STR(buf, "minit: fatal: x\n", "fatal record");
    mi_log_format(buf, MI_LOG_RECORD_MAX, MI_LOG_DEBUG, NULL, "d");
    CHECK_STR(buf, "minit: debug: d\n", "debug record");

    memset(big, 'x', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    n = mi_log_format(buf, MI_LOG_RECORD_MAX, MI_LOG_INFO, NULL, "%s", big);
    TAP_OK(n <= MI_LOG_RECORD_MAX, "long record cut to at most %d bytes (got %d)",
           MI_LOG_RECORD_MAX, n);
    TAP_OK(buf[n - 1] == '\n', "cut record still ends in a newline");
    TAP_OK(strstr(buf, "...\n") != NULL, "cut record is marked with ...");

    mi_log_level = MI_LOG_WARNING;
    TAP_OK(mi_log_enabled(MI_LOG_ERROR) && mi_log_enabled(MI_LOG_WARNING) &&
                   !mi_log_enabled(MI_LOG_INFO),
           "default level shows warnings, not info");

    CHECK_INT(mi_err_set(&e, ENOENT, "unable to open %s", "/x"), -1, "mi_err_set returns -1");
    CHECK_INT(e.errnum, ENOENT, "errnum kept");
    CHECK_STR(e.msg, "unable to open /x", "message kept");
    mi_err_wrap(&e, "service %s", "web");
    CHECK_STR(e.msg, "service web: unable to open /x", "wrap prefixes context");
    errno = EACCES;
    mi_err_sys(&e, "unable to read %s", "f");
    CHECK_INT(e.errnum, EACCES, "mi_err_sys takes errno");
    CHECK_INT(errno, EACCES, "mi_err_sys preserves errno");
    mi_err_set(&e, 0, "%s", big);
    TAP_OK(strlen(e.msg) < MI_ERR_MSG, "long error message is bounded");
    mi_err_wrap(&e, "ctx");
    TAP_OK(strncmp(e.msg, "ctx: ", 5) == 0 && strlen(e.msg) < MI_ERR_MSG,
           "wrap of a full message keeps the context first");
    mi_err_clear(&e);
    TAP_OK(!e.set && e.errnum == 0 && e.msg[0] == '\0', "clear");
    return done_testing();
}
