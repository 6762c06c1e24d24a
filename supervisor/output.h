/* SPDX-License-Identifier: MIT */
/*
 * Service output capture (supervisor-internal). Each service stream
 * (stdout, stderr) is a pipe that minit reads; complete lines go to a sink:
 * minit's own stdout or stderr with a "name | " prefix, a log file with
 * size rotation, or nowhere. A pipe belongs to the service, not to one run,
 * so it survives restarts: minit keeps the write end and hands it to every
 * new child.
 *
 * Guarantees: a line from one service is never interleaved with another's
 * (each prefixed line reaches the sink whole, in one piece, in the order
 * the service wrote it); nothing is dropped while minit runs: when a sink
 * cannot take more (a full stdout pipe), minit stops reading the services
 * feeding it, so their pipes fill and they block in write(2) (backpressure)
 * until the sink drains; the loop itself never blocks.
 */
#ifndef MINIT_SUPERVISOR_OUTPUT_H
#define MINIT_SUPERVISOR_OUTPUT_H

#include <stdbool.h>

#include <ev.h>

#include "init/err.h"
#include "supervisor/supervisor.h"

struct sv_output;

/* Sets up the two parent sinks (minit's fd 1 and fd 2, each through its
 * own non-blocking open file description when it is a pipe or terminal,
 * as init/log.c does for stderr). Call once. */
int sv_output_init(struct ev_loop *loop, struct mi_err *e);

/*
 * Creates the capture for one stream of service `name` (which: 1 stdout,
 * 2 stderr) going to the sink `conf` describes. For SV_LOG_NONE the child
 * fd is /dev/null. Returns NULL with *e on failure. The name is copied.
 */
struct sv_output *sv_output_new(const char *name, int which, const struct sv_log_conf *conf,
                                struct mi_err *e);

/* The fd to dup2 onto 1 or 2 in the child (the pipe's write end, CLOEXEC
 * in minit). Stays valid until sv_output_free(). */
int sv_output_child_fd(const struct sv_output *o);

/* Reads what is already in the pipe (without blocking) and ends a partial
 * last line with a newline: called when the service process has exited so
 * that its last words come out before "exited" is logged. */
void sv_output_flush(struct sv_output *o);

/* Flushes, closes both ends and frees. NULL is fine. */
void sv_output_free(struct sv_output *o);

/* Re-opens every log file (SIGUSR1; after an external logrotate). */
void sv_output_reopen(void);

/* At shutdown: writes out whatever the sinks still hold, blocking at most
 * timeout_ms in total. */
void sv_output_drain(int timeout_ms);

#endif
