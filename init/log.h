/* SPDX-License-Identifier: MIT */
/*
 * minit's own messages, on stderr:
 *     minit: <level>: [service <name>: ]<message>[: <strerror>]
 * Each record is built in a stack buffer of at most 4096 bytes (PIPE_BUF, so
 * it is atomic on a pipe) and sent with one write(2); longer records are cut
 * with "...". No malloc, no stdio; errno is preserved.
 *
 * Special problem: minit must never block on a full stderr. The logger writes
 * through its own open file description of a pipe or terminal (re-opened from
 * /proc/self/fd/2 with O_NONBLOCK, so the program's fd 2 keeps its flags); a
 * record that would block is dropped and counted, and the count is reported
 * before the next record that gets through. Regular files never block and are
 * written through fd 2 itself (re-opening would lose O_APPEND and the offset).
 * Part of the base: depends on libc only.
 */
#ifndef MINIT_LOG_H
#define MINIT_LOG_H

#include <stdbool.h>

enum mi_log_level {
    MI_LOG_FATAL = -1, /* setup only, through mi_die() */
    MI_LOG_ERROR = 0,
    MI_LOG_WARNING = 1,
    MI_LOG_INFO = 2,
    MI_LOG_DEBUG = 3,
};

#define MI_LOG_RECORD_MAX 4096

/* Current threshold: records above it are not written. Default WARNING. */
extern int mi_log_level;

/* The name in front of every record ("minit"). */
extern const char *mi_log_name;

/* True when a record at `level` would be written. */
bool mi_log_enabled(int level);

/* Writes one record. */
void mi_log(int level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* Writes one record about a service: "service NAME: ...". */
void mi_log_svc(int level, const char *svc, const char *fmt, ...)
        __attribute__((format(printf, 3, 4)));

/* Setup only: writes "minit: fatal: ..." and exits with `code`. */
void mi_die(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));

/* Formats a record into buf (size >= 8); returns its length. Pure: for tests. */
int mi_log_format(char *buf, int size, int level, const char *svc, const char *fmt, ...)
        __attribute__((format(printf, 5, 6)));

/* Number of records dropped so far because stderr was full. */
unsigned long mi_log_dropped(void);

/* Closes the logger's own descriptor (for a child before exec; never needed
 * since it is CLOEXEC) and forgets it, so it is re-opened on next use. */
void mi_log_reset(void);

#endif
