/* SPDX-License-Identifier: MIT */
/*
 * Strict value parsers shared by the command line and the config file:
 * durations, booleans, signals, integers, sizes, exit codes. Pure functions
 * on strings (unit-tested); each returns 0, or -1 with a message in *e that
 * names the bad value but not the flag or FILE:LINE (the caller wraps it).
 */
#ifndef MINIT_PARSE_H
#define MINIT_PARSE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "init/err.h"

/* "250ms", "5s", "2m", "1h", "1.5s" or a plain number of seconds, into
 * milliseconds. Negative values, junk and overflow are errors. */
int mi_parse_duration(const char *s, uint64_t *ms, struct mi_err *e);

/* yes/no/true/false/on/off/1/0, any case. */
int mi_parse_bool(const char *s, bool *out, struct mi_err *e);

/* Unsigned decimal in [min, max], no sign, no junk, no overflow. */
int mi_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, struct mi_err *e);

/* "64M", "1G", "512k", "100" (bytes), base 1024; "max" gives UINT64_MAX. */
int mi_parse_size(const char *s, uint64_t *out, struct mi_err *e);

/* A pids limit: 1 or more, or "max" (UINT64_MAX). */
int mi_parse_pids_max(const char *s, uint64_t *out, struct mi_err *e);

/* cgroup v2 cpu.max: "QUOTA PERIOD", "max PERIOD", or QUOTA or max alone,
 * in microseconds (QUOTA >= 1000, PERIOD 1000 to 1000000), normalised to
 * one blank between the two into norm (at least 64 bytes). */
int mi_parse_cpu_max(const char *s, char *norm, size_t size, struct mi_err *e);

/* "TERM", "SIGTERM", "sigterm", "15", "RTMIN+3", "SIGRTMAX-1" into 1..64.
 * With allow_zero, "0" is accepted (meaning "no signal"). */
int mi_parse_signal(const char *s, bool allow_zero, int *sig, struct mi_err *e);

/* "TERM" for 15, "RTMIN+3" for 37; a static string or buf when numeric. */
const char *mi_signal_name(int sig, char *buf, int size);

#endif
