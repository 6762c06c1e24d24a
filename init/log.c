/* SPDX-License-Identifier: MIT */
/*
 * The only writer of minit's own messages. See log.h for the format and for
 * why the descriptor is non-blocking. Never mallocs; preserves errno.
 */
#include "init/log.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

int mi_log_level = MI_LOG_WARNING;
const char *mi_log_name = "minit";

static int log_fd = -1; /* -1: not opened yet */
static bool log_is_socket;
static unsigned long log_dropped;
static unsigned long log_dropped_reported;

static const char *const level_names[] = {"fatal", "error", "warning", "info", "debug"};

bool
mi_log_enabled(int level)
{
    return level <= mi_log_level;
}

/*
 * Opened on first use, so that a quiet run costs no syscall. A pipe or tty
 * gets its own non-blocking open file description; anything else (regular
 * file, /proc not mounted) is written through fd 2.
 */
static void
log_open(void)
{
    struct stat st;
    int fd;

    log_fd = STDERR_FILENO;
    if (fstat(STDERR_FILENO, &st) < 0) {
        return;
    }
    if (S_ISSOCK(st.st_mode)) {
        log_is_socket = true;
        return;
    }
    if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
        return;
    }
    fd = open("/proc/self/fd/2", O_WRONLY | O_NONBLOCK | O_CLOEXEC | O_NOCTTY);
    if (fd >= 0) {
        log_fd = fd;
    }
}

static bool
log_write(const char *buf, size_t len)
{
    ssize_t n;

    do {
        if (log_is_socket) {
            n = send(log_fd, buf, len, MSG_DONTWAIT | MSG_NOSIGNAL);
        } else {
            n = write(log_fd, buf, len);
        }
    } while (n < 0 && errno == EINTR);
    return n == (ssize_t)len;
}

static int
log_vformat(char *buf, int size, int level, const char *svc, const char *fmt, va_list ap)
{
    int len;
    int n;

    if (level < MI_LOG_FATAL || level > MI_LOG_DEBUG) {
        level = MI_LOG_ERROR;
    }
    len = snprintf(buf, (size_t)size, "%s: %s: ", mi_log_name, level_names[level + 1]);
    if (svc != NULL && len < size) {
        n = snprintf(buf + len, (size_t)(size - len), "service %s: ", svc);
        len += n > 0 ? n : 0;
    }
    if (len < size) {
        n = vsnprintf(buf + len, (size_t)(size - len), fmt, ap);
        len += n > 0 ? n : 0;
    }
    /* Cut an over-long record, keeping room for "...\n". */
    if (len > size - 2) {
        memcpy(buf + size - 5, "...", 3);
        len = size - 2;
    }
    buf[len++] = '\n';
    buf[len] = '\0';
    return len;
}

int
mi_log_format(char *buf, int size, int level, const char *svc, const char *fmt, ...)
{
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = log_vformat(buf, size, level, svc, fmt, ap);
    va_end(ap);
    return len;
}

static void
log_report_dropped(void)
{
    char buf[128];
    int len;
    unsigned long n = log_dropped - log_dropped_reported;

    len = snprintf(buf, sizeof(buf), "%s: warning: %lu log records dropped (stderr was full)\n",
                   mi_log_name, n);
    if (log_write(buf, (size_t)len)) {
        log_dropped_reported = log_dropped;
    }
}

static void
log_emit(int level, const char *svc, const char *fmt, va_list ap)
{
    char buf[MI_LOG_RECORD_MAX + 1];
    int saved = errno;
    int len;

    len = log_vformat(buf, MI_LOG_RECORD_MAX, level, svc, fmt, ap);
    if (log_fd < 0) {
        log_open();
    }
    if (log_dropped != log_dropped_reported) {
        log_report_dropped();
    }
    if (!log_write(buf, (size_t)len)) {
        log_dropped++;
    }
    errno = saved;
}

void
mi_log(int level, const char *fmt, ...)
{
    va_list ap;

    if (!mi_log_enabled(level)) {
        return;
    }
    va_start(ap, fmt);
    log_emit(level, NULL, fmt, ap);
    va_end(ap);
}

void
mi_log_svc(int level, const char *svc, const char *fmt, ...)
{
    va_list ap;

    if (!mi_log_enabled(level)) {
        return;
    }
    va_start(ap, fmt);
    log_emit(level, svc, fmt, ap);
    va_end(ap);
}

void
mi_die(int code, const char *fmt, ...)
{
    char buf[MI_LOG_RECORD_MAX + 1];
    va_list ap;
    int len;

    va_start(ap, fmt);
    len = log_vformat(buf, MI_LOG_RECORD_MAX, MI_LOG_FATAL, NULL, fmt, ap);
    va_end(ap);
    /* Setup only, before the loop: a blocking write to fd 2 is fine here. */
    if (write(STDERR_FILENO, buf, (size_t)len) < 0) {
        /* Nothing else can report it. */
    }
    exit(code);
}

unsigned long
mi_log_dropped(void)
{
    return log_dropped;
}

void
mi_log_reset(void)
{
    if (log_fd > STDERR_FILENO) {
        close(log_fd);
    }
    log_fd = -1;
    log_is_socket = false;
}
