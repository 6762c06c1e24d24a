/* SPDX-License-Identifier: MIT */
/*
 * `minit ctl`: the control socket's client. Parses the command line, sends
 * one request, prints the reply (the protocol is described at the top of
 * supervisor/control.c, the server). It runs as a short-lived command, never
 * as PID 1: blocking I/O and stdio are fine here, but every wait has a
 * deadline so that a hung minit cannot hang the caller. Exit status: 0 ok,
 * 1 the request failed, 2 usage error, 3 minit not reachable.
 */
#include "init/init.h"

#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "init/err.h"
#include "init/parse.h"
#include "init/sys.h"
#include "supervisor/control.h"

#define CTL_DEFAULT_SOCKET  "/run/minit.sock"
#define CTL_CONNECT_MS      5000
#define CTL_REPLY_MS        30000 /* any request but wait-ready */
#define CTL_WAIT_DEFAULT_MS 60000
#define CTL_WAIT_MARGIN_MS  5000
#define CTL_REQ_MAX         4096 /* the server's limits */
#define CTL_ARGS_MAX        256
#define CTL_LINE_MAX        (1 << 20)
#define CTL_NFIELDS         8 /* of a "service" reply line */

enum {
    CTL_EXIT_OK = 0,
    CTL_EXIT_FAILED = 1,
    CTL_EXIT_USAGE = 2,
    CTL_EXIT_UNREACHABLE = 3,
    CTL_HELP = -1, /* --help was printed */
};

/* What a command accepts besides service names. */
#define CTL_F_JSON    0x1u /* status --json */
#define CTL_F_SIGNAL  0x2u /* signal SIG first */
#define CTL_F_TIMEOUT 0x4u /* wait-ready --timeout D */

static const struct ctl_cmd {
    const char *name;
    int min; /* service names */
    int max; /* -1: any number */
    unsigned flags;
} ctl_cmds[] = {
        {"status", 0, -1, CTL_F_JSON},
        {"start", 1, -1, 0},
        {"stop", 1, -1, 0},
        {"restart", 1, -1, 0},
        {"signal", 1, -1, CTL_F_SIGNAL},
        {"pause", 0, -1, 0},
        {"resume", 0, -1, 0},
        {"reload", 0, 0, 0},
        {"shutdown", 0, 0, 0},
        {"wait-ready", 1, -1, CTL_F_TIMEOUT},
};

struct ctl_req {
    const char *socket;
    const struct ctl_cmd *cmd;
    bool json;
    int sig;
    uint64_t timeout_ms;
    const char **names;
    int nnames;
};

/* The fields of a "service" line, in order. */
enum {
    F_NAME = 0,
    F_STATE,
    F_WANT,
    F_PID,
    F_UPTIME,
    F_RESTARTS,
    F_LAST,
    F_COMMAND
};

/* The cgroup figures of a "stats NAME CGROUP MEM CPU PIDS OOM LASTOOM" line
 * that follows a service line (when the service has a cgroup). */
enum {
    X_CGROUP = 0,
    X_MEM,
    X_CPU,
    X_PIDS,
    X_OOM,
    X_LASTOOM,
    CTL_NSTATS
};

struct ctl_row {
    char *f[CTL_NFIELDS];
    char *x[CTL_NSTATS]; /* NULL when no stats line came */
};

struct ctl_reply {
    struct ctl_row *rows;
    int nrows;
    int cap;
    bool final;
    bool ok;
    bool malformed;
};

static void
ctl_usage(FILE *f)
{
    fputs("Usage: minit ctl [-S SOCKET] COMMAND [ARGS...]\n"
          "\n"
          "Talks to a running minit through its control socket.\n"
          "\n"
          "Commands:\n"
          "  status [--json] [SERVICE...]   show services (all when none is named)\n"
          "  start SERVICE...               start services\n"
          "  stop SERVICE...                stop services\n"
          "  restart SERVICE...             restart services\n"
          "  signal SIG SERVICE...          send SIG (TERM, SIGHUP, 9, RTMIN+1) to services\n"
          "  pause [SERVICE...]             freeze services (all when none is named)\n"
          "  resume [SERVICE...]            thaw services (all when none is named)\n"
          "  reload                         re-read the config file and apply it\n"
          "  shutdown                       stop every service, then minit\n"
          "  wait-ready SERVICE... [--timeout D]\n"
          "                                 wait until the services are ready\n"
          "                                 (D: 250ms, 5s, 2m; default 60s)\n"
          "\n"
          "Options:\n"
          "  -S, --socket PATH   the control socket (default: $MINIT_SOCKET if set,\n"
          "                      else " CTL_DEFAULT_SOCKET ")\n"
          "  -h, --help          show this help\n"
          "\n"
          "Exit status: 0 success, 1 the request failed, 2 usage error,\n"
          "3 minit not reachable.\n",
          f);
}

static int ctl_usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* One line naming the problem; returns the usage exit status. */
static int
ctl_usage_error(const char *fmt, ...)
{
    va_list ap;

    fputs("minit ctl: ", stderr);
    va_start(ap, fmt);
    vfprintf(stderr, fmt, ap);
    va_end(ap);
    fputs(" (see minit ctl --help)\n", stderr);
    return CTL_EXIT_USAGE;
}

/* ---- the command line ---------------------------------------------- */

/* Service names become cgroup directory names: [A-Za-z0-9][A-Za-z0-9_.-]{0,62}. */
static bool
ctl_valid_name(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > 63) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char ch = s[i];
        bool alnum =
                (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9');

        if (!alnum && (i == 0 || (ch != '_' && ch != '.' && ch != '-'))) {
            return false;
        }
    }
    return true;
}

/* -S PATH, -SPATH, --socket PATH, --socket=PATH, -h, --help, --. Sets *idx
 * to the command's index. 0, CTL_HELP, or the usage exit status. */
static int
ctl_parse_global(int argc, char **argv, struct ctl_req *r, int *idx)
{
    int i = 1;

    for (; i < argc && argv[i][0] == '-'; i++) {
        const char *a = argv[i];

        if (strcmp(a, "--") == 0) {
            i++;
            break;
        }
        if (strcmp(a, "-h") == 0 || strcmp(a, "--help") == 0) {
            ctl_usage(stdout);
            return CTL_HELP;
        }
        if (strcmp(a, "-S") == 0 || strcmp(a, "--socket") == 0) {
            if (i + 1 >= argc) {
                return ctl_usage_error("option %s needs a socket path", a);
            }
            r->socket = argv[++i];
        } else if (strncmp(a, "--socket=", 9) == 0) {
            r->socket = a + 9;
        } else if (strncmp(a, "-S", 2) == 0) {
            r->socket = a + 2;
        } else {
            return ctl_usage_error("unknown option '%s'", a);
        }
        if (r->socket[0] == '\0') {
            return ctl_usage_error("empty socket path");
        }
    }
    *idx = i;
    return 0;
}

/* An option after the command: --json, --timeout D, --timeout=D. */
static int
ctl_parse_option(struct ctl_req *r, int argc, char **argv, int *i)
{
    const char *a = argv[*i];
    const char *val = NULL;
    struct mi_err e = {0};

    if ((r->cmd->flags & CTL_F_JSON) && strcmp(a, "--json") == 0) {
        r->json = true;
        return 0;
    }
    if (!(r->cmd->flags & CTL_F_TIMEOUT)) {
        return ctl_usage_error("%s: unknown option '%s'", r->cmd->name, a);
    }
    if (strcmp(a, "--timeout") == 0) {
        if (*i + 1 >= argc) {
            return ctl_usage_error("%s: --timeout needs a duration", r->cmd->name);
        }
        val = argv[++*i];
    } else if (strncmp(a, "--timeout=", 10) == 0) {
        val = a + 10;
    } else {
        return ctl_usage_error("%s: unknown option '%s'", r->cmd->name, a);
    }
    if (mi_parse_duration(val, &r->timeout_ms, &e) < 0) {
        return ctl_usage_error("%s: --timeout: %s", r->cmd->name, e.msg);
    }
    return 0;
}

/* The words after the command. 0, or the usage exit status. */
static int
ctl_parse_args(struct ctl_req *r, int argc, char **argv, int i)
{
    bool have_sig = !(r->cmd->flags & CTL_F_SIGNAL);
    struct mi_err e = {0};

    for (; i < argc; i++) {
        const char *a = argv[i];

        if (a[0] == '-' && a[1] != '\0') {
            if (ctl_parse_option(r, argc, argv, &i) != 0) {
                return CTL_EXIT_USAGE;
            }
        } else if (!have_sig) {
            if (mi_parse_signal(a, false, &r->sig, &e) < 0) {
                return ctl_usage_error("signal: %s", e.msg);
            }
            have_sig = true;
        } else if (!ctl_valid_name(a)) {
            return ctl_usage_error("%s: '%s' is not a valid service name", r->cmd->name, a);
        } else {
            r->names[r->nnames++] = a;
        }
    }
    if (!have_sig) {
        return ctl_usage_error("signal: missing the signal and the service");
    }
    if (r->nnames < r->cmd->min) {
        return ctl_usage_error("%s: missing the service name", r->cmd->name);
    }
    if (r->cmd->max >= 0 && r->nnames > r->cmd->max) {
        return ctl_usage_error("%s takes no arguments", r->cmd->name);
    }
    return 0;
}

/* Fills *r from argv. 0, CTL_HELP, or the usage exit status. */
static int
ctl_parse(struct ctl_req *r, int argc, char **argv)
{
    const char *env = getenv("MINIT_SOCKET");
    int i = 0;
    int status;

    r->socket = env != NULL && env[0] != '\0' ? env : CTL_DEFAULT_SOCKET;
    r->timeout_ms = CTL_WAIT_DEFAULT_MS;
    status = ctl_parse_global(argc, argv, r, &i);
    if (status != 0) {
        return status;
    }
    if (i >= argc) {
        return ctl_usage_error("missing command");
    }
    if (strcmp(argv[i], "help") == 0) {
        ctl_usage(stdout);
        return CTL_HELP;
    }
    for (size_t k = 0; k < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); k++) {
        if (strcmp(argv[i], ctl_cmds[k].name) == 0) {
            r->cmd = &ctl_cmds[k];
        }
    }
    if (r->cmd == NULL) {
        return ctl_usage_error("unknown command '%s'", argv[i]);
    }
    r->names = calloc((size_t)argc, sizeof(*r->names));
    if (r->names == NULL) {
        fputs("minit ctl: out of memory\n", stderr);
        return CTL_EXIT_FAILED;
    }
    return ctl_parse_args(r, argc, argv, i + 1);
}

/* ---- the request --------------------------------------------------- */

/* Appends " word", percent-encoded; false when it does not fit. */
static bool
ctl_add_word(char *buf, size_t size, size_t *len, const char *w)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t n = *len;

    if (n > 0) {
        if (n + 1 >= size) {
            return false;
        }
        buf[n++] = ' ';
    }
    for (const unsigned char *p = (const unsigned char *)w; *p != '\0'; p++) {
        if (n + 3 >= size) {
            return false;
        }
        if (*p > 0x20 && *p < 0x7f && *p != '%') {
            buf[n++] = (char)*p;
        } else {
            buf[n++] = '%';
            buf[n++] = hex[*p >> 4];
            buf[n++] = hex[*p & 0xf];
        }
    }
    *len = n;
    return true;
}

/* The request line, '\n' included. 0, or the usage exit status. */
static int
ctl_build(const struct ctl_req *r, char *buf, size_t size, size_t *len)
{
    char num[24];
    bool ok = true;

    *len = 0;
    if (r->nnames + 2 > CTL_ARGS_MAX) {
        return ctl_usage_error("too many services in one request (at most %d)", CTL_ARGS_MAX - 2);
    }
    ok = ctl_add_word(buf, size, len, r->cmd->name);
    if (r->cmd->flags & CTL_F_SIGNAL) {
        snprintf(num, sizeof(num), "%d", r->sig);
        ok = ok && ctl_add_word(buf, size, len, num);
    }
    if (r->cmd->flags & CTL_F_TIMEOUT) {
        snprintf(num, sizeof(num), "%llu", (unsigned long long)r->timeout_ms);
        ok = ok && ctl_add_word(buf, size, len, num);
    }
    for (int i = 0; i < r->nnames && ok; i++) {
        ok = ctl_add_word(buf, size, len, r->names[i]);
    }
    if (!ok || *len + 1 > size) {
        return ctl_usage_error("request too long (at most %d bytes)", CTL_REQ_MAX);
    }
    buf[(*len)++] = '\n';
    return 0;
}

/* ---- talking to minit ---------------------------------------------- */

static int64_t
ctl_now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A connected socket, or -1 with *e (exit 3). */
static int
ctl_connect(const char *path, struct mi_err *e)
{
    struct sockaddr_un sa;
    struct timeval tv = {.tv_sec = CTL_CONNECT_MS / 1000};
    MI_CLEANUP_CLOSE int dirfd = -1;
    MI_CLEANUP_CLOSE int fd = -1;

    if (sys_unix_addr(path, &sa, &dirfd) < 0) {
        return mi_err_sys(e, "unable to connect to %s", path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) {
        return mi_err_sys(e, "unable to create a socket");
    }
    /* On a Unix socket, connect() waits while the listen backlog is full,
     * for at most SO_SNDTIMEO; the same bounds the sends. */
    if (setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv)) < 0) {
        return mi_err_sys(e, "unable to set a timeout on the socket");
    }
    if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        return mi_err_sys(e, "unable to connect to %s", path);
    }
    return mi_steal_fd(&fd);
}

static int
ctl_send(int fd, const char *buf, size_t len, struct mi_err *e)
{
    while (len > 0) {
        /* MSG_NOSIGNAL: a minit that went away is an error, not SIGPIPE. */
        ssize_t n = send(fd, buf, len, MSG_NOSIGNAL);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0) {
            return mi_err_sys(e, "unable to send the request");
        }
        buf += n;
        len -= (size_t)n;
    }
    return 0;
}

static bool
ctl_is_num(const char *s, bool dash_ok)
{
    if (dash_ok && strcmp(s, "-") == 0) {
        return true;
    }
    if (*s == '\0' || strlen(s) > 20) {
        return false;
    }
    return strspn(s, "0123456789") == strlen(s);
}

/* Decodes a percent-encoded word in place; false if malformed. */
static bool
ctl_decode(char *w)
{
    return sv_control_decode(w) == 0;
}

/* Parses the words of a "service" line (after "service ") into a row. */
static bool
ctl_add_row(struct ctl_reply *rep, char *words)
{
    struct ctl_row row;
    char *p = words;
    int n = 0;

    while (*p != '\0') {
        char *w = p;

        p += strcspn(p, " ");
        if (*p == ' ') {
            *p++ = '\0';
        }
        if (*w == '\0') {
            continue; /* a run of spaces */
        }
        if (n == CTL_NFIELDS || !ctl_decode(w)) {
            return false;
        }
        row.f[n++] = w;
    }
    if (n != CTL_NFIELDS || !ctl_is_num(row.f[F_PID], true) ||
        !ctl_is_num(row.f[F_UPTIME], false) || !ctl_is_num(row.f[F_RESTARTS], false) ||
        !ctl_is_num(row.f[F_LAST], true)) {
        return false;
    }
    if (rep->nrows == rep->cap) {
        int cap = rep->cap ? rep->cap * 2 : 16;
        struct ctl_row *grown = realloc(rep->rows, (size_t)cap * sizeof(*grown));

        if (grown == NULL) {
            return false;
        }
        rep->rows = grown;
        rep->cap = cap;
    }
    for (int i = 0; i < CTL_NFIELDS; i++) {
        row.f[i] = strdup(row.f[i]);
        if (row.f[i] == NULL) {
            while (i-- > 0) {
                free(row.f[i]);
            }
            return false;
        }
    }
    memset(row.x, 0, sizeof(row.x));
    rep->rows[rep->nrows++] = row;
    return true;
}

/* A "stats" line: attached to the service line just before it. */
static bool
ctl_add_stats(struct ctl_reply *rep, char *words)
{
    struct ctl_row *row = rep->nrows > 0 ? &rep->rows[rep->nrows - 1] : NULL;
    char *w[1 + CTL_NSTATS];
    int n = 0;

    for (char *p = words; *p != '\0' && n < 1 + CTL_NSTATS;) {
        w[n++] = p;
        p += strcspn(p, " ");
        if (*p == ' ') {
            *p++ = '\0';
        }
    }
    if (row == NULL || n != 1 + CTL_NSTATS || !ctl_decode(w[0]) ||
        strcmp(w[0], row->f[F_NAME]) != 0) {
        return false;
    }
    for (int i = 0; i < CTL_NSTATS; i++) {
        if (!ctl_decode(w[1 + i]) || (row->x[i] = strdup(w[1 + i])) == NULL) {
            return false;
        }
    }
    return true;
}

/* One reply line (without its '\n'). Messages go to stderr at once. */
static void
ctl_line(struct ctl_reply *rep, char *line)
{
    if (strcmp(line, "ok") == 0) {
        rep->final = rep->ok = true;
    } else if (strncmp(line, "error: ", 7) == 0) {
        fprintf(stderr, "minit ctl: %s\n", line + 7);
        rep->final = true;
    } else if (strncmp(line, "failed: ", 8) == 0) {
        fprintf(stderr, "minit ctl: %s\n", line + 8);
    } else if (strncmp(line, "service ", 8) == 0) {
        if (!ctl_add_row(rep, line + 8)) {
            rep->malformed = true;
        }
    } else if (strncmp(line, "stats ", 6) == 0) {
        if (!ctl_add_stats(rep, line + 6)) {
            rep->malformed = true;
        }
    }
    /* Anything else is a line from a newer minit: ignored. */
}

/* Hands each complete line in buf[0..*len) to ctl_line and keeps the rest. */
static void
ctl_lines(struct ctl_reply *rep, char *buf, size_t *len)
{
    size_t start = 0;
    char *nl;

    while (!rep->final && (nl = memchr(buf + start, '\n', *len - start)) != NULL) {
        *nl = '\0';
        ctl_line(rep, buf + start);
        start = (size_t)(nl - buf) + 1;
    }
    memmove(buf, buf + start, *len - start);
    *len -= start;
}

/* Waits for readable data until deadline; 0, or -1 with *e. */
static int
ctl_wait_readable(int fd, int64_t deadline, const char *path, struct mi_err *e)
{
    for (;;) {
        struct pollfd pfd = {.fd = fd, .events = POLLIN};
        int64_t left = deadline - ctl_now_ms();
        int r;

        if (left <= 0) {
            return mi_err_set(e, 0, "no reply from minit on %s in time", path);
        }
        r = poll(&pfd, 1, left > 60000 ? 60000 : (int)left);
        if (r > 0) {
            return 0;
        }
        if (r < 0 && errno != EINTR) {
            return mi_err_sys(e, "unable to wait for the reply");
        }
    }
}

/* Reads the reply until its final line. 0, or -1 with *e. */
static int
ctl_read_reply(int fd, int64_t deadline, const char *path, struct ctl_reply *rep, struct mi_err *e)
{
    char *buf = malloc(CTL_LINE_MAX);
    size_t len = 0;
    int r = 0;

    if (buf == NULL) {
        return mi_err_set(e, ENOMEM, "unable to read the reply");
    }
    while (!rep->final && r == 0) {
        ssize_t n;

        if (len == CTL_LINE_MAX) {
            r = mi_err_set(e, 0, "malformed reply from minit: a line is too long");
            break;
        }
        r = ctl_wait_readable(fd, deadline, path, e);
        n = r == 0 ? sys_read(fd, buf + len, CTL_LINE_MAX - len) : 0;
        if (r == 0 && n <= 0) {
            r = n == 0 ? mi_err_set(e, 0, "minit closed the connection before the reply ended")
                       : mi_err_sys(e, "unable to read the reply");
        } else if (r == 0) {
            len += (size_t)n;
            ctl_lines(rep, buf, &len);
        }
    }
    free(buf);
    return r;
}

/* ---- output -------------------------------------------------------- */

/* Length of a valid UTF-8 sequence at p, 0 if there is none. */
static int
ctl_utf8_len(const unsigned char *p)
{
    unsigned cp;
    int n;

    if (*p >= 0xc2 && *p <= 0xdf) {
        n = 2;
        cp = *p & 0x1fu;
    } else if (*p >= 0xe0 && *p <= 0xef) {
        n = 3;
        cp = *p & 0x0fu;
    } else if (*p >= 0xf0 && *p <= 0xf4) {
        n = 4;
        cp = *p & 0x07u;
    } else {
        return 0;
    }
    for (int i = 1; i < n; i++) {
        if ((p[i] & 0xc0) != 0x80) {
            return 0;
        }
        cp = cp << 6 | (p[i] & 0x3fu);
    }
    if ((n == 3 && cp < 0x800) || (n == 4 && (cp < 0x10000 || cp > 0x10ffff)) ||
        (cp >= 0xd800 && cp <= 0xdfff)) {
        return 0;
    }
    return n;
}

/* A JSON string: escapes quotes, backslashes and control bytes, and turns
 * bytes that are not UTF-8 into U+FFFD so that the output stays JSON. */
static char
ctl_json_esc(unsigned char ch)
{
    switch (ch) {
    case '"':
        return '"';
    case '\\':
        return '\\';
    case '\b':
        return 'b';
    case '\f':
        return 'f';
    case '\n':
        return 'n';
    case '\r':
        return 'r';
    case '\t':
        return 't';
    default:
        return 0;
    }
}

static void
ctl_json_str(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;

    fputc('"', f);
    while (*p != '\0') {
        char esc = ctl_json_esc(*p);
        int n;

        if (esc != 0) {
            fprintf(f, "\\%c", esc);
            p++;
        } else if (*p < 0x20 || *p == 0x7f) {
            fprintf(f, "\\u%04x", *p++);
        } else if (*p < 0x80) {
            fputc(*p++, f);
        } else if ((n = ctl_utf8_len(p)) > 0) {
            fwrite(p, 1, (size_t)n, f);
            p += n;
        } else {
            fputs("\\ufffd", f);
            p++;
        }
    }
    fputc('"', f);
}

static bool
ctl_is_dash(const char *s)
{
    return s == NULL || strcmp(s, "-") == 0;
}

/* "cgroup", "memory_bytes", "cpu_usec", "pids", "oom_kills", "last_exit_oom":
 * null where minit has no figure. */
static void
ctl_print_json_stats(char *const *x)
{
    static const char *const keys[] = {"memory_bytes", "cpu_usec", "pids", "oom_kills"};

    fputs(",\"cgroup\":", stdout);
    if (ctl_is_dash(x[X_CGROUP])) {
        fputs("null", stdout);
    } else {
        ctl_json_str(stdout, x[X_CGROUP]);
    }
    for (int k = 0; k < 4; k++) {
        const char *v = x[X_MEM + k];

        printf(",\"%s\":%s", keys[k], ctl_is_dash(v) || !ctl_is_num(v, false) ? "null" : v);
    }
    printf(",\"last_exit_oom\":%s",
           x[X_LASTOOM] && strcmp(x[X_LASTOOM], "1") == 0 ? "true" : "false");
}

static void
ctl_print_json(const struct ctl_reply *rep)
{
    fputs("{\"services\":[", stdout);
    for (int i = 0; i < rep->nrows; i++) {
        char *const *f = rep->rows[i].f;
        bool no_pid = strcmp(f[F_PID], "-") == 0;
        bool no_last = strcmp(f[F_LAST], "-") == 0;

        fputs(i > 0 ? ",{\"name\":" : "{\"name\":", stdout);
        ctl_json_str(stdout, f[F_NAME]);
        fputs(",\"state\":", stdout);
        ctl_json_str(stdout, f[F_STATE]);
        printf(",\"want\":\"%s\"", strcmp(f[F_WANT], "up") == 0 ? "up" : "down");
        printf(",\"pid\":%s,\"uptime_ms\":%s,\"restarts\":%s,\"last_exit\":%s",
               no_pid ? "null" : f[F_PID], f[F_UPTIME], f[F_RESTARTS],
               no_last ? "null" : f[F_LAST]);
        fputs(",\"command\":", stdout);
        ctl_json_str(stdout, f[F_COMMAND]);
        ctl_print_json_stats(rep->rows[i].x);
        fputc('}', stdout);
    }
    fputs("]}\n", stdout);
}

/* "42s", "5m03s", "2h05m", "3d04h"; "-" when not running. */
static void
ctl_fmt_uptime(const char *ms, const char *pid, char *buf, size_t size)
{
    unsigned long long s = strtoull(ms, NULL, 10) / 1000;

    if (strcmp(pid, "-") == 0 && s == 0) {
        snprintf(buf, size, "-");
    } else if (s < 60) {
        snprintf(buf, size, "%llus", s);
    } else if (s < 3600) {
        snprintf(buf, size, "%llum%02llus", s / 60, s % 60);
    } else if (s < 86400) {
        snprintf(buf, size, "%lluh%02llum", s / 3600, s % 3600 / 60);
    } else {
        snprintf(buf, size, "%llud%02lluh", s / 86400, s % 86400 / 3600);
    }
}

/* Writes s padded to width, with control bytes shown as '?' (a command
 * line must not drive the terminal). */
static void
ctl_cell(const char *s, int width)
{
    int n = 0;

    for (; *s != '\0'; s++, n++) {
        unsigned char ch = (unsigned char)*s;

        putchar(ch < 0x20 || ch == 0x7f ? '?' : ch);
    }
    if (width > 0) {
        printf("%*s", width - n + 1, "");
    }
}

/* "12.3M" from bytes, "1.25s" from microseconds; "-" without a figure. */
static void
ctl_fmt_stats(char *const *x, char *mem, char *cpu, size_t size)
{
    double m = ctl_is_dash(x[X_MEM]) ? -1 : strtod(x[X_MEM], NULL);
    double c = ctl_is_dash(x[X_CPU]) ? -1 : strtod(x[X_CPU], NULL);

    if (m < 0) {
        snprintf(mem, size, "-");
    } else if (m < 1024 * 1024) {
        snprintf(mem, size, "%.0fK", m / 1024);
    } else {
        snprintf(mem, size, "%.1fM", m / (1024 * 1024));
    }
    if (c < 0) {
        snprintf(cpu, size, "-");
    } else {
        snprintf(cpu, size, "%.2fs", c / 1e6);
    }
}

static void
ctl_row_cells(const struct ctl_row *row, char cells[9][64])
{
    char *const *f = row->f;
    char *const none[CTL_NSTATS] = {NULL};

    snprintf(cells[0], 64, "%s", f[F_NAME]);
    snprintf(cells[1], 64, "%s", f[F_STATE]);
    snprintf(cells[2], 64, "%s", f[F_PID]);
    ctl_fmt_uptime(f[F_UPTIME], f[F_PID], cells[3], 64);
    snprintf(cells[4], 64, "%s", f[F_RESTARTS]);
    snprintf(cells[5], 64, "%s%s", f[F_LAST],
             row->x[X_LASTOOM] && strcmp(row->x[X_LASTOOM], "1") == 0 ? " (oom)" : "");
    ctl_fmt_stats(row->x[X_CGROUP] ? row->x : none, cells[6], cells[7], 64);
}

static void
ctl_print_table(const struct ctl_reply *rep)
{
    static const char *const head[] = {"NAME",      "STATE", "PID", "UPTIME", "RESTARTS",
                                       "LAST-EXIT", "MEM",   "CPU", "COMMAND"};
    int width[9];
    char cells[9][64];

    for (int c = 0; c < 9; c++) {
        width[c] = (int)strlen(head[c]);
    }
    for (int i = 0; i < rep->nrows; i++) {
        ctl_row_cells(&rep->rows[i], cells);
        for (int c = 0; c < 8; c++) {
            int n = (int)strlen(cells[c]);

            width[c] = n > width[c] ? n : width[c];
        }
    }
    for (int c = 0; c < 9; c++) {
        ctl_cell(head[c], c < 8 ? width[c] : 0);
    }
    putchar('\n');
    for (int i = 0; i < rep->nrows; i++) {
        ctl_row_cells(&rep->rows[i], cells);
        for (int c = 0; c < 8; c++) {
            ctl_cell(cells[c], width[c]);
        }
        ctl_cell(rep->rows[i].f[F_COMMAND], 0);
        putchar('\n');
    }
}

static void
ctl_reply_free(struct ctl_reply *rep)
{
    for (int i = 0; i < rep->nrows; i++) {
        for (int k = 0; k < CTL_NFIELDS; k++) {
            free(rep->rows[i].f[k]);
        }
        for (int k = 0; k < CTL_NSTATS; k++) {
            free(rep->rows[i].x[k]);
        }
    }
    free(rep->rows);
}

/* ---- main ---------------------------------------------------------- */

/* Sends the request and reads the reply. The exit status. */
static int
ctl_exchange(const struct ctl_req *r, const char *req, size_t len, struct ctl_reply *rep)
{
    MI_CLEANUP_CLOSE int fd = -1;
    struct mi_err e = {0};
    struct mi_err send_e = {0};
    int64_t deadline;

    fd = ctl_connect(r->socket, &e);
    if (fd < 0) {
        fprintf(stderr, "minit ctl: %s: %s\n", e.msg, strerror(e.errnum));
        return CTL_EXIT_UNREACHABLE;
    }
    deadline = ctl_now_ms() + (r->cmd->flags & CTL_F_TIMEOUT
                                       ? (int64_t)r->timeout_ms + CTL_WAIT_MARGIN_MS
                                       : CTL_REPLY_MS);
    /* A failed send may still leave a reply to read: minit refuses a peer
     * by writing one line and closing. */
    ctl_send(fd, req, len, &send_e);
    if (ctl_read_reply(fd, deadline, r->socket, rep, &e) < 0) {
        struct mi_err *first = send_e.set ? &send_e : &e;

        if (first->errnum != 0) {
            fprintf(stderr, "minit ctl: %s: %s\n", first->msg, strerror(first->errnum));
        } else {
            fprintf(stderr, "minit ctl: %s\n", first->msg);
        }
        return CTL_EXIT_FAILED;
    }
    if (rep->malformed) {
        fputs("minit ctl: malformed reply from minit\n", stderr);
        return CTL_EXIT_FAILED;
    }
    return rep->ok ? CTL_EXIT_OK : CTL_EXIT_FAILED;
}

int
init_ctl_main(int argc, char **argv)
{
    struct ctl_req r = {0};
    struct ctl_reply rep = {0};
    char req[CTL_REQ_MAX];
    size_t len;
    int status = ctl_parse(&r, argc, argv);

    if (status == 0) {
        status = ctl_build(&r, req, sizeof(req), &len);
    }
    if (status == 0) {
        status = ctl_exchange(&r, req, len, &rep);
    }
    if (status == 0 && strcmp(r.cmd->name, "status") == 0) {
        if (r.json) {
            ctl_print_json(&rep);
        } else {
            ctl_print_table(&rep);
        }
    }
    ctl_reply_free(&rep);
    free(r.names);
    if (status == CTL_HELP) {
        status = CTL_EXIT_OK;
    }
    if (fflush(stdout) != 0 && status == CTL_EXIT_OK) {
        fprintf(stderr, "minit ctl: unable to write the output: %s\n", strerror(errno));
        status = CTL_EXIT_FAILED;
    }
    return status;
}
