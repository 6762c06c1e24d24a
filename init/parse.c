/* SPDX-License-Identifier: MIT */
/*
 * Value parsers; see parse.h. strtoull with endptr and ERANGE, never atoi.
 */
#include "init/parse.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

static const struct {
    const char *name;
    int sig;
} signal_names[] = {
        {"HUP", SIGHUP},       {"INT", SIGINT},     {"QUIT", SIGQUIT}, {"ILL", SIGILL},
        {"TRAP", SIGTRAP},     {"ABRT", SIGABRT},   {"IOT", SIGIOT},   {"BUS", SIGBUS},
        {"FPE", SIGFPE},       {"KILL", SIGKILL},   {"USR1", SIGUSR1}, {"SEGV", SIGSEGV},
        {"USR2", SIGUSR2},     {"PIPE", SIGPIPE},   {"ALRM", SIGALRM}, {"TERM", SIGTERM},
        {"STKFLT", SIGSTKFLT}, {"CHLD", SIGCHLD},   {"CLD", SIGCHLD},  {"CONT", SIGCONT},
        {"STOP", SIGSTOP},     {"TSTP", SIGTSTP},   {"TTIN", SIGTTIN}, {"TTOU", SIGTTOU},
        {"URG", SIGURG},       {"XCPU", SIGXCPU},   {"XFSZ", SIGXFSZ}, {"VTALRM", SIGVTALRM},
        {"PROF", SIGPROF},     {"WINCH", SIGWINCH}, {"IO", SIGIO},     {"POLL", SIGPOLL},
        {"PWR", SIGPWR},       {"SYS", SIGSYS},
};

/* The kernel's numbering, not glibc's SIGRTMIN (which reserves two). */
#define KERNEL_RTMIN 32
#define KERNEL_RTMAX 64

int
mi_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out, struct mi_err *e)
{
    char *end;
    unsigned long long v;

    if (s == NULL || *s < '0' || *s > '9') {
        return mi_err_set(e, 0, "'%s' is not a number", s ? s : "");
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno == ERANGE || *end != '\0') {
        return mi_err_set(e, 0, "'%s' is not a number", s);
    }
    if (v < min || v > max) {
        return mi_err_set(e, 0, "'%s' is out of range (%llu to %llu)", s, (unsigned long long)min,
                          (unsigned long long)max);
    }
    *out = v;
    return 0;
}

int
mi_parse_duration(const char *s, uint64_t *ms, struct mi_err *e)
{
    char *end;
    double v;
    double scale;

    if (s == NULL || ((*s < '0' || *s > '9') && *s != '.')) {
        return mi_err_set(e, 0, "'%s' is not a duration (e.g. 250ms, 5s, 2m)", s ? s : "");
    }
    errno = 0;
    v = strtod(s, &end);
    if (errno == ERANGE || end == s) {
        return mi_err_set(e, 0, "'%s' is not a duration (e.g. 250ms, 5s, 2m)", s);
    }
    if (*end == '\0' || strcmp(end, "s") == 0) {
        scale = 1000.0;
    } else if (strcmp(end, "ms") == 0) {
        scale = 1.0;
    } else if (strcmp(end, "m") == 0 || strcmp(end, "min") == 0) {
        scale = 60000.0;
    } else if (strcmp(end, "h") == 0) {
        scale = 3600000.0;
    } else {
        return mi_err_set(e, 0, "'%s' is not a duration (e.g. 250ms, 5s, 2m)", s);
    }
    v *= scale;
    /* A week is more than any stop or backoff delay should ever be. */
    if (v > 7.0 * 24 * 3600 * 1000) {
        return mi_err_set(e, 0, "'%s' is too long a duration", s);
    }
    *ms = (uint64_t)(v + 0.5);
    return 0;
}

int
mi_parse_bool(const char *s, bool *out, struct mi_err *e)
{
    static const char *const yes[] = {"yes", "true", "on", "1"};
    static const char *const no[] = {"no", "false", "off", "0"};

    for (size_t i = 0; s != NULL && i < sizeof(yes) / sizeof(yes[0]); i++) {
        if (strcasecmp(s, yes[i]) == 0) {
            *out = true;
            return 0;
        }
        if (strcasecmp(s, no[i]) == 0) {
            *out = false;
            return 0;
        }
    }
    return mi_err_set(e, 0, "'%s' is not a boolean (yes/no/true/false/1/0)", s ? s : "");
}

int
mi_parse_size(const char *s, uint64_t *out, struct mi_err *e)
{
    char *end;
    unsigned long long v;
    uint64_t mult = 1;

    if (s != NULL && strcmp(s, "max") == 0) {
        *out = UINT64_MAX;
        return 0;
    }
    if (s == NULL || *s < '0' || *s > '9') {
        return mi_err_set(e, 0, "'%s' is not a size (e.g. 512k, 64M, 1G, max)", s ? s : "");
    }
    errno = 0;
    v = strtoull(s, &end, 10);
    if (errno == ERANGE) {
        return mi_err_set(e, 0, "'%s' is too large", s);
    }
    switch (*end) {
    case '\0':
        break;
    case 'k':
    case 'K':
        mult = 1ULL << 10;
        break;
    case 'm':
    case 'M':
        mult = 1ULL << 20;
        break;
    case 'g':
    case 'G':
        mult = 1ULL << 30;
        break;
    case 't':
    case 'T':
        mult = 1ULL << 40;
        break;
    default:
        return mi_err_set(e, 0, "'%s' is not a size (e.g. 512k, 64M, 1G, max)", s);
    }
    if (*end != '\0' && end[1] != '\0' && strcasecmp(end + 1, "b") != 0 &&
        strcasecmp(end + 1, "ib") != 0) {
        return mi_err_set(e, 0, "'%s' is not a size (e.g. 512k, 64M, 1G, max)", s);
    }
    if (v > UINT64_MAX / mult) {
        return mi_err_set(e, 0, "'%s' is too large", s);
    }
    *out = v * mult;
    return 0;
}

static int
parse_rt_signal(const char *s, int *sig)
{
    int base;
    char *end;
    long off = 0;

    if (strncasecmp(s, "RTMIN", 5) == 0) {
        base = KERNEL_RTMIN;
    } else if (strncasecmp(s, "RTMAX", 5) == 0) {
        base = KERNEL_RTMAX;
    } else {
        return -1;
    }
    s += 5;
    if (*s != '\0') {
        if ((*s != '+' && *s != '-') || s[1] < '0' || s[1] > '9') {
            return -1;
        }
        errno = 0;
        off = strtol(s, &end, 10);
        if (errno != 0 || *end != '\0') {
            return -1;
        }
    }
    if (base + off < KERNEL_RTMIN || base + off > KERNEL_RTMAX) {
        return -1;
    }
    *sig = (int)(base + off);
    return 0;
}

int
mi_parse_signal(const char *s, bool allow_zero, int *sig, struct mi_err *e)
{
    const char *name = s;
    uint64_t v;

    if (s == NULL || *s == '\0') {
        return mi_err_set(e, 0, "empty signal");
    }
    if (*s >= '0' && *s <= '9') {
        if (mi_parse_uint(s, allow_zero ? 0 : 1, KERNEL_RTMAX, &v, e) < 0) {
            return mi_err_set(e, 0, "'%s' is not a signal number (%d to 64)", s,
                              allow_zero ? 0 : 1);
        }
        *sig = (int)v;
        return 0;
    }
    if (strncasecmp(name, "SIG", 3) == 0) {
        name += 3;
    }
    for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++) {
        if (strcasecmp(name, signal_names[i].name) == 0) {
            *sig = signal_names[i].sig;
            return 0;
        }
    }
    if (parse_rt_signal(name, sig) == 0) {
        return 0;
    }
    return mi_err_set(e, 0, "'%s' is not a signal name or number", s);
}

const char *
mi_signal_name(int sig, char *buf, int size)
{
    for (size_t i = 0; i < sizeof(signal_names) / sizeof(signal_names[0]); i++) {
        if (signal_names[i].sig == sig) {
            return signal_names[i].name;
        }
    }
    if (sig >= KERNEL_RTMIN && sig <= KERNEL_RTMAX) {
        snprintf(buf, (size_t)size, "RTMIN+%d", sig - KERNEL_RTMIN);
    } else {
        snprintf(buf, (size_t)size, "%d", sig);
    }
    return buf;
}

int
mi_parse_pids_max(const char *s, uint64_t *out, struct mi_err *e)
{
    if (strcmp(s, "max") == 0) {
        *out = UINT64_MAX;
        return 0;
    }
    if (mi_parse_uint(s, 1, UINT64_MAX - 1, out, e) < 0) {
        return mi_err_set(e, 0, "'%s' is not a number of processes (1 or more, or max)", s);
    }
    return 0;
}

int
mi_parse_cpu_max(const char *s, char *norm, size_t size, struct mi_err *e)
{
    char quota[32] = "";
    char period[32] = "";
    size_t nq = strcspn(s, " \t");
    const char *p = s + nq + strspn(s + nq, " \t");
    size_t np = strcspn(p, " \t");
    uint64_t v;
    bool ok = nq > 0 && nq < sizeof(quota) && np < sizeof(period) && p[np] == '\0';

    if (ok) {
        memcpy(quota, s, nq);
        memcpy(period, p, np);
        ok = strcmp(quota, "max") == 0 || mi_parse_uint(quota, 1000, 1ULL << 50, &v, e) == 0;
        ok = ok && (np == 0 || mi_parse_uint(period, 1000, 1000000, &v, e) == 0);
    }
    if (!ok) {
        return mi_err_set(e, 0, "'%s' is not QUOTA PERIOD in microseconds (e.g. 50000 100000)", s);
    }
    snprintf(norm, size, "%s%s%s", quota, np > 0 ? " " : "", period);
    return 0;
}
