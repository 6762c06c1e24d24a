/* SPDX-License-Identifier: MIT */
/*
 * The control socket server (job 2); see control.h. It accepts `minit ctl`
 * connections (init/ctl.c is the client), checks each peer, reads one
 * request, acts on it through the sv_ctl_* calls or init's hooks, and writes
 * one reply. It runs on the loop init hands down and must never block it:
 * every socket is non-blocking and CLOEXEC, every wait is an ev_io or an
 * ev_timer, and no client, slow or hostile, can stall minit or make it grow
 * without bound (see "Limits").
 *
 * Protocol. One connection carries one request and its reply; then the
 * server closes it.
 *
 * Request: one line of at most 4096 bytes counting its '\n', made of words
 * separated by one or more spaces; at most 256 words. Each word is
 * percent-encoded: a byte from 0x21 to 0x7e other than '%' stands for
 * itself, any other byte is written %HH (two hex digits, either case), and a
 * lone "%" is the empty word. A word may not decode to a NUL byte, and the
 * raw line holds nothing but spaces and bytes 0x21..0x7e. The first word is
 * the command:
 *
 *     status [NAME...]            all services when no NAME is given
 *     start NAME...               also stop and restart
 *     signal SIGNO NAME...        SIGNO in decimal, 1 to 64 (the client
 *                                 turns "TERM" into 15)
 *     pause [NAME...]             also resume: freeze or thaw with the cgroup
 *                                 freezer; the reply comes once the kernel
 *                                 confirms (all services when none is named)
 *     reload
 *     shutdown
 *     wait-ready MS NAME...       MS: how long to wait, in milliseconds
 *
 * Reply: lines whose words are encoded as above, then one final line:
 *
 *     service NAME STATE WANT PID UPTIME_MS RESTARTS LAST_EXIT COMMAND
 *         (status, one per service; WANT is "up" or "down"; PID and
 *         LAST_EXIT are "-" when there is none; numbers in decimal)
 *     failed: MESSAGE             one of several failures, more follow
 *     ok                          final: success
 *     error: MESSAGE              final: failure
 *
 * MESSAGE is plain text, not encoded, with control bytes turned into
 * spaces. An action on several services first checks that every NAME
 * exists, so that a typo acts on none; then it acts on each in order, and a
 * failure does not stop the rest: every failure but the last is a "failed:"
 * line and the last one is the final "error:". Unknown reply lines are to be
 * ignored by clients, so that lines can be added later.
 *
 * Limits. The whole request line must arrive within 5 s of the connect,
 * else "error: no request within 5s". A longer line or more words get
 * "error: request too long". At most 64 connections are served at once;
 * more get "error: too many connections" and are closed, and so are peers
 * whose SO_PEERCRED uid is neither 0 nor minit's euid ("error: permission
 * denied ..."). A reply is buffered up to 1 MiB beyond what the socket
 * takes: past that, or when a pending reply makes no progress for 5 s, the
 * client is dropped. Bytes after the request line are ignored.
 * EOF while a wait-ready is pending means the client gave up: the
 * connection is dropped, so a client must not shut down its writing side
 * before it has read the final line.
 */
#include "supervisor/control.h"

#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include <ev.h>

#include "init/err.h"
#include "init/log.h"
#include "init/sys.h"
#include "supervisor/supervisor.h"

#define CTL_REQ_MAX     4096 /* request line, '\n' included */
#define CTL_ARGS_MAX    256  /* words in a request */
#define CTL_CONNS_MAX   64
#define CTL_ACCEPT_MAX  16   /* accepts per wakeup, so one burst cannot hog the loop */
#define CTL_MSG_MAX     1024 /* an error message */
#define CTL_WAIT_MAX_MS (7ULL * 24 * 3600 * 1000)
#define CTL_OUT_MIN     4096 /* the smallest reply cap (room for one error line) */

/*
 * One client. `busy` counts the callbacks of ours on the stack that use it:
 * ctl_drop() closes at once but frees only when busy is 0 (an action such as
 * shutdown may close the whole server from under the request that asked
 * for it).
 */
#define CTL_FREEZE_MS 10000 /* the supervisor gives up (and thaws) after 5 s */

struct ctl_conn {
    ev_io io;          /* first member: the io callback casts back */
    ev_timer idle;     /* the request deadline, then reply-progress deadline */
    ev_timer deadline; /* wait-ready */
    struct ctl_conn *prev;
    struct ctl_conn *next;
    int fd;
    int events; /* what io watches */
    uid_t uid;
    int busy;
    bool dead;        /* closed, off the list; freed when not busy */
    bool have_req;    /* the request line has arrived */
    bool done;        /* the final line is queued: close once it is sent */
    bool waiting;     /* a wait-ready (or pause/resume) is pending */
    bool freeze_wait; /* ... it is a pause/resume */
    bool freeze_to;   /* ... towards frozen */
    int argc;
    char *argv[CTL_ARGS_MAX]; /* decoded words, pointing into in */
    uint64_t wait_ms;
    size_t inlen;
    char in[CTL_REQ_MAX];
    char *out; /* the reply: out[outoff..outlen) is not sent yet */
    size_t outoff;
    size_t outlen;
    size_t outsize;
};

#define CTL_OF(w, member)                                                                          \
    ((struct ctl_conn *)(void *)((char *)(w)-offsetof(struct ctl_conn, member)))

static struct {
    struct ev_loop *loop;
    ev_io io;         /* the listening socket */
    ev_timer backoff; /* accepting paused after EMFILE and the like */
    int fd;
    bool open;
    struct sv_control_hooks hooks;
    struct ctl_conn *conns;
    int nconns;
    char path[PATH_MAX];
} srv = {.fd = -1};

/* The limits that tests shorten (sv_control_test_limits). */
static double ctl_idle_s = 5.0;
static size_t ctl_out_cap = 1u << 20;

static void ctl_flush(struct ctl_conn *c);

/* ---- connection lifetime ------------------------------------------- */

static void
ctl_free(struct ctl_conn *c)
{
    free(c->out);
    free(c);
}

static void
ctl_hold(struct ctl_conn *c)
{
    c->busy++;
}

static void
ctl_release(struct ctl_conn *c)
{
    if (--c->busy == 0 && c->dead) {
        ctl_free(c);
    }
}

/* Closes c and takes it off the list; frees it unless a callback holds it. */
static void
ctl_drop(struct ctl_conn *c)
{
    if (c->dead) {
        return;
    }
    c->dead = true;
    c->waiting = false;
    c->freeze_wait = false;
    ev_io_stop(srv.loop, &c->io);
    ev_timer_stop(srv.loop, &c->idle);
    ev_timer_stop(srv.loop, &c->deadline);
    sys_close(c->fd);
    c->fd = -1;
    if (c->prev != NULL) {
        c->prev->next = c->next;
    } else {
        srv.conns = c->next;
    }
    if (c->next != NULL) {
        c->next->prev = c->prev;
    }
    srv.nconns--;
    if (c->busy == 0) {
        ctl_free(c);
    }
}

static void
ctl_set_events(struct ctl_conn *c, int events)
{
    if (c->dead || events == c->events) {
        return;
    }
    ev_io_stop(srv.loop, &c->io);
    ev_io_set(&c->io, c->fd, events);
    c->events = events;
    if (events != 0) {
        ev_io_start(srv.loop, &c->io);
    }
}

/* ---- the reply buffer ---------------------------------------------- */

/* Makes room for n more bytes, within the cap: when the unsent part would
 * pass it, tries the socket first, then drops the client. -1 when dropped. */
static int
ctl_reserve(struct ctl_conn *c, size_t n)
{
    size_t pending = c->outlen - c->outoff;
    size_t size;
    char *p;

    if (pending + n > ctl_out_cap) {
        ctl_flush(c);
        pending = c->outlen - c->outoff;
        if (!c->dead && pending + n > ctl_out_cap) {
            mi_log(MI_LOG_WARNING,
                   "control: dropping a client (uid %u) that does not read its reply",
                   (unsigned)c->uid);
            ctl_drop(c);
        }
        if (c->dead) {
            return -1;
        }
    }
    if (c->outlen + n <= c->outsize) {
        return 0;
    }
    if (c->outoff > 0) {
        memmove(c->out, c->out + c->outoff, pending);
        c->outoff = 0;
        c->outlen = pending;
        if (c->outlen + n <= c->outsize) {
            return 0;
        }
    }
    size = c->outsize ? c->outsize : 1024;
    while (size < c->outlen + n) {
        size *= 2;
    }
    if (size > ctl_out_cap) {
        size = ctl_out_cap; /* still enough: pending + n <= ctl_out_cap */
    }
    p = realloc(c->out, size);
    if (p == NULL) {
        mi_log(MI_LOG_ERROR, "control: unable to allocate a reply buffer: out of memory");
        ctl_drop(c);
        return -1;
    }
    c->out = p;
    c->outsize = size;
    return 0;
}

static void
ctl_put(struct ctl_conn *c, const char *s, size_t n)
{
    if (c->dead || n == 0 || ctl_reserve(c, n) < 0) {
        return;
    }
    memcpy(c->out + c->outlen, s, n);
    c->outlen += n;
}

/* One word, percent-encoded (the protocol's encoding), after a space. */
static void
ctl_put_word(struct ctl_conn *c, const char *w)
{
    static const char hex[] = "0123456789ABCDEF";
    char buf[256];
    size_t n = 0;

    buf[n++] = ' ';
    if (*w == '\0') {
        buf[n++] = '%';
    }
    for (const unsigned char *p = (const unsigned char *)w; *p != '\0'; p++) {
        if (n > sizeof(buf) - 3) {
            ctl_put(c, buf, n);
            n = 0;
        }
        if (*p > 0x20 && *p < 0x7f && *p != '%') {
            buf[n++] = (char)*p;
            continue;
        }
        buf[n++] = '%';
        buf[n++] = hex[*p >> 4];
        buf[n++] = hex[*p & 0xf];
    }
    ctl_put(c, buf, n);
}

/* A message line: prefix, then text with control bytes made spaces. */
static void
ctl_put_msg(struct ctl_conn *c, const char *prefix, const char *msg)
{
    char buf[CTL_MSG_MAX + 2];
    size_t n = 0;

    for (const char *p = msg; *p != '\0' && n < CTL_MSG_MAX; p++) {
        unsigned char ch = (unsigned char)*p;

        buf[n++] = (ch < 0x20 || ch == 0x7f) ? ' ' : (char)ch;
    }
    buf[n++] = '\n';
    ctl_put(c, prefix, strlen(prefix));
    ctl_put(c, buf, n);
}

/* Sends what it can without blocking. Once everything is sent: closes the
 * connection if the final line was in it, else waits for the next. */
static void
ctl_flush(struct ctl_conn *c)
{
    while (!c->dead && c->outoff < c->outlen) {
        ssize_t n =
                send(c->fd, c->out + c->outoff, c->outlen - c->outoff, MSG_NOSIGNAL | MSG_DONTWAIT);

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            ctl_set_events(c, EV_WRITE | (c->waiting ? EV_READ : 0));
            /* A stalled reply gets ctl_idle_s to make progress. */
            if (!ev_is_active(&c->idle)) {
                c->idle.repeat = ctl_idle_s;
                ev_timer_again(srv.loop, &c->idle);
            }
            return;
        }
        if (n < 0) {
            ctl_drop(c); /* EPIPE, ECONNRESET: the client is gone */
            return;
        }
        c->outoff += (size_t)n;
        if (ev_is_active(&c->idle)) {
            c->idle.repeat = ctl_idle_s;
            ev_timer_again(srv.loop, &c->idle);
        }
    }
    if (c->dead) {
        return;
    }
    c->outoff = c->outlen = 0;
    ev_timer_stop(srv.loop, &c->idle);
    ctl_set_events(c, c->waiting ? EV_READ : 0);
    if (c->done) {
        ctl_drop(c);
    }
}

/* Queues the final line (errmsg NULL: "ok") and sends it. */
static void
ctl_finish(struct ctl_conn *c, const char *errmsg)
{
    if (c->dead || c->done) {
        return;
    }
    c->waiting = false;
    c->freeze_wait = false;
    ev_timer_stop(srv.loop, &c->deadline);
    ev_timer_stop(srv.loop, &c->idle);
    if (errmsg == NULL) {
        ctl_put(c, "ok\n", 3);
    } else {
        ctl_put_msg(c, "error: ", errmsg);
    }
    c->done = true;
    ctl_set_events(c, 0);
    ctl_flush(c);
}

static void ctl_finishf(struct ctl_conn *c, const char *fmt, ...)
        __attribute__((format(printf, 2, 3)));

static void
ctl_finishf(struct ctl_conn *c, const char *fmt, ...)
{
    char msg[CTL_MSG_MAX];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    ctl_finish(c, msg);
}

/* The text of an error as the client sees it: the message, and strerror
 * when there is an errno, as mi_err_log() would write it. */
static void
ctl_err_text(const struct mi_err *e, char *buf, size_t size)
{
    if (e->errnum != 0) {
        snprintf(buf, size, "%s: %s", e->msg, strerror(e->errnum));
    } else {
        snprintf(buf, size, "%s", e->msg);
    }
}

static void
ctl_finish_err(struct ctl_conn *c, const struct mi_err *e)
{
    char msg[CTL_MSG_MAX];

    ctl_err_text(e, msg, sizeof(msg));
    ctl_finish(c, msg);
}

/* ---- requests ------------------------------------------------------ */

static int
ctl_hexval(char ch)
{
    if (ch >= '0' && ch <= '9') {
        return ch - '0';
    }
    if (ch >= 'a' && ch <= 'f') {
        return ch - 'a' + 10;
    }
    if (ch >= 'A' && ch <= 'F') {
        return ch - 'A' + 10;
    }
    return -1;
}

/* Decodes one percent-encoded word in place. */
int
sv_control_decode(char *w)
{
    char *o = w;
    const char *p = w;

    if (strcmp(w, "%") == 0) {
        *w = '\0';
        return 0;
    }
    while (*p != '\0') {
        int hi;
        int lo;

        if (*p != '%') {
            *o++ = *p++;
            continue;
        }
        hi = ctl_hexval(p[1]);
        lo = hi < 0 ? -1 : ctl_hexval(p[2]);
        if (lo < 0) {
            return -1;
        }
        if (hi == 0 && lo == 0) {
            return -2;
        }
        *o++ = (char)(hi * 16 + lo);
        p += 3;
    }
    *o = '\0';
    return 0;
}

static int
ctl_decode(char *w, struct mi_err *e)
{
    switch (sv_control_decode(w)) {
    case 0:
        return 0;
    case -2:
        return mi_err_set(e, 0, "malformed request: NUL byte");
    default:
        return mi_err_set(e, 0, "malformed request: bad %% escape");
    }
}

/* Splits the request line in[0..len) into decoded words, in place. */
static int
ctl_split(struct ctl_conn *c, size_t len, struct mi_err *e)
{
    char *p = c->in;
    char *end = c->in + len;

    for (size_t i = 0; i < len; i++) {
        unsigned char ch = (unsigned char)c->in[i];

        if (ch != ' ' && (ch < 0x21 || ch > 0x7e)) {
            return mi_err_set(e, 0, "malformed request: byte 0x%02x", ch);
        }
    }
    c->argc = 0;
    while (p < end) {
        char *w;

        if (*p == ' ') {
            p++;
            continue;
        }
        w = p;
        while (p < end && *p != ' ') {
            p++;
        }
        *p++ = '\0'; /* at end, this is where the '\n' was */
        if (c->argc == CTL_ARGS_MAX) {
            return mi_err_set(e, 0, "request too long");
        }
        if (ctl_decode(w, e) < 0) {
            return -1;
        }
        c->argv[c->argc++] = w;
    }
    return 0;
}

/* Strict decimal in [0, max], for SIGNO and MS. */
static int
ctl_parse_num(const char *s, uint64_t max, uint64_t *out)
{
    uint64_t v = 0;

    if (*s == '\0' || strlen(s) > 20) {
        return -1;
    }
    for (; *s != '\0'; s++) {
        if (*s < '0' || *s > '9') {
            return -1;
        }
        v = v * 10 + (uint64_t)(*s - '0');
        if (v > max) {
            return -1;
        }
    }
    *out = v;
    return 0;
}

static void
ctl_nop_status(void *data, const struct sv_status *st)
{
    (void)data;
    (void)st;
}

/* Checks that every name is a service; finishes c with the error if not. */
static int
ctl_check_names(struct ctl_conn *c, int n, char **names)
{
    struct mi_err e = {0};

    for (int i = 0; i < n; i++) {
        if (sv_ctl_status(names[i], ctl_nop_status, NULL, &e) < 0) {
            ctl_finish_err(c, &e);
            return -1;
        }
    }
    return 0;
}

/* ---- commands ------------------------------------------------------ */

enum ctl_op {
    CTL_OP_START = 0,
    CTL_OP_STOP,
    CTL_OP_RESTART,
    CTL_OP_SIGNAL,
};

static int
ctl_do(enum ctl_op op, const char *name, int sig, struct mi_err *e)
{
    switch (op) {
    case CTL_OP_START:
        return sv_ctl_start(name, e);
    case CTL_OP_STOP:
        return sv_ctl_stop(name, e);
    case CTL_OP_RESTART:
        return sv_ctl_restart(name, e);
    case CTL_OP_SIGNAL:
        return sv_ctl_signal(name, sig, e);
    }
    return mi_err_set(e, 0, "internal error: unknown control operation %d", (int)op);
}

/* Acts on each name (all checked first); see "Protocol" for the reply. */
static void
ctl_act(struct ctl_conn *c, enum ctl_op op, int sig, int n, char **names)
{
    char last[CTL_MSG_MAX];
    char text[CTL_MSG_MAX / 2];
    int nfailed = 0;

    if (ctl_check_names(c, n, names) < 0) {
        return;
    }
    for (int i = 0; i < n && !c->dead; i++) {
        struct mi_err e = {0};

        if (ctl_do(op, names[i], sig, &e) == 0) {
            continue;
        }
        if (nfailed++ > 0) {
            ctl_put_msg(c, "failed: ", last);
        }
        ctl_err_text(&e, text, sizeof(text));
        /* Name the service when the supervisor's message does not. */
        if (strstr(text, names[i]) == NULL) {
            snprintf(last, sizeof(last), "service %.100s: %s", names[i], text);
        } else {
            snprintf(last, sizeof(last), "%s", text);
        }
    }
    ctl_finish(c, nfailed > 0 ? last : NULL);
}

static void
ctl_cmd_action(struct ctl_conn *c, int argc, char **argv)
{
    enum ctl_op op = CTL_OP_START;

    if (strcmp(argv[0], "stop") == 0) {
        op = CTL_OP_STOP;
    } else if (strcmp(argv[0], "restart") == 0) {
        op = CTL_OP_RESTART;
    }
    ctl_act(c, op, 0, argc - 1, argv + 1);
}

static void
ctl_cmd_signal(struct ctl_conn *c, int argc, char **argv)
{
    uint64_t sig;

    if (ctl_parse_num(argv[1], 64, &sig) < 0 || sig == 0) {
        ctl_finishf(c, "'%s' is not a signal number (1 to 64)", argv[1]);
        return;
    }
    ctl_act(c, CTL_OP_SIGNAL, (int)sig, argc - 2, argv + 2);
}

/* "stats NAME CGROUP MEM CPU PIDS OOM LASTOOM" after a service line, for a
 * service with a cgroup; "-" for a figure minit does not have. Clients
 * that do not know the line ignore it. */
static void
ctl_put_stats(struct ctl_conn *c, const struct sv_status *st)
{
    char v[4][24];

    if (st->cgroup == NULL && !st->last_oom) {
        return;
    }
    snprintf(v[0], sizeof(v[0]), "%llu", (unsigned long long)st->memory_bytes);
    snprintf(v[1], sizeof(v[1]), "%llu", (unsigned long long)st->cpu_usec);
    snprintf(v[2], sizeof(v[2]), "%llu", (unsigned long long)st->pids);
    snprintf(v[3], sizeof(v[3]), "%llu", (unsigned long long)st->oom_kills);
    ctl_put(c, "stats", 5);
    ctl_put_word(c, st->name ? st->name : "");
    ctl_put_word(c, st->cgroup ? st->cgroup : "-");
    ctl_put_word(c, st->has_memory ? v[0] : "-");
    ctl_put_word(c, st->has_cpu ? v[1] : "-");
    ctl_put_word(c, st->has_pids ? v[2] : "-");
    ctl_put_word(c, v[3]);
    ctl_put_word(c, st->last_oom ? "1" : "0");
    ctl_put(c, "\n", 1);
}

static void
ctl_status_cb(void *data, const struct sv_status *st)
{
    struct ctl_conn *c = data;
    char pid[24];
    char up[24];
    char restarts[24];
    char last[24];

    snprintf(pid, sizeof(pid), "%ld", (long)st->pid);
    snprintf(up, sizeof(up), "%llu", (unsigned long long)st->uptime_ms);
    snprintf(restarts, sizeof(restarts), "%u", st->restarts);
    snprintf(last, sizeof(last), "%d", st->last_status);
    ctl_put(c, "service", 7);
    ctl_put_word(c, st->name ? st->name : "");
    ctl_put_word(c, st->state ? st->state : "");
    ctl_put_word(c, st->want_up ? "up" : "down");
    ctl_put_word(c, st->pid > 0 ? pid : "-");
    ctl_put_word(c, up);
    ctl_put_word(c, restarts);
    ctl_put_word(c, st->last_status >= 0 ? last : "-");
    ctl_put_word(c, st->command ? st->command : "");
    ctl_put(c, "\n", 1);
    ctl_put_stats(c, st);
}

static void
ctl_cmd_status(struct ctl_conn *c, int argc, char **argv)
{
    struct mi_err e = {0};

    if (argc == 1) {
        if (sv_ctl_status(NULL, ctl_status_cb, c, &e) < 0) {
            ctl_finish_err(c, &e);
            return;
        }
        ctl_finish(c, NULL);
        return;
    }
    if (ctl_check_names(c, argc - 1, argv + 1) < 0) {
        return;
    }
    for (int i = 1; i < argc && !c->dead; i++) {
        if (sv_ctl_status(argv[i], ctl_status_cb, c, &e) < 0) {
            ctl_finish_err(c, &e);
            return;
        }
    }
    ctl_finish(c, NULL);
}

/* A pending pause/resume: finished once every named service (all when
 * none is named) is confirmed frozen or thawed, or one failed. */
static bool
ctl_freeze_check(struct ctl_conn *c)
{
    struct mi_err e = {0};
    int all = 1;

    if (c->argc == 1) {
        all = sv_freeze_settled(NULL, c->freeze_to, &e);
    }
    for (int i = 1; i < c->argc && all >= 0; i++) {
        int r = sv_freeze_settled(c->argv[i], c->freeze_to, &e);

        all = r < 0 ? -1 : (all && r == 1);
    }
    if (all < 0) {
        ctl_finish_err(c, &e);
        return true;
    }
    if (all == 1) {
        ctl_finish(c, NULL);
        return true;
    }
    return false;
}

/* pause/resume with the cgroup freezer, never SIGSTOP: a service can
 * observe SIGSTOP, and it misses children forked meanwhile. The reply
 * comes when the kernel says frozen 1 (or 0). */
static void
ctl_cmd_freezer(struct ctl_conn *c, int argc, char **argv)
{
    struct mi_err e = {0};
    bool frozen = strcmp(argv[0], "pause") == 0;

    if (argc > 1 && ctl_check_names(c, argc - 1, argv + 1) < 0) {
        return;
    }
    if (argc == 1 && sv_ctl_freeze(NULL, frozen, &e) < 0) {
        ctl_finish_err(c, &e);
        return;
    }
    for (int i = 1; i < argc; i++) {
        if (sv_ctl_freeze(argv[i], frozen, &e) < 0) {
            ctl_finish_err(c, &e);
            return;
        }
    }
    c->freeze_to = frozen;
    if (ctl_freeze_check(c)) {
        return;
    }
    c->freeze_wait = true;
    c->waiting = true;
    c->wait_ms = CTL_FREEZE_MS;
    ev_timer_set(&c->deadline, (double)CTL_FREEZE_MS / 1000.0, 0.);
    ev_timer_start(srv.loop, &c->deadline);
    ctl_set_events(c, EV_READ);
}

static void
ctl_cmd_reload(struct ctl_conn *c, int argc, char **argv)
{
    struct mi_err e = {0};

    (void)argc;
    (void)argv;
    if (srv.hooks.reload == NULL) {
        ctl_finish(c, "reload is not available");
        return;
    }
    if (srv.hooks.reload(srv.hooks.data, &e) < 0) {
        ctl_finish_err(c, &e);
        return;
    }
    ctl_finish(c, NULL);
}

static void
ctl_cmd_shutdown(struct ctl_conn *c, int argc, char **argv)
{
    (void)argc;
    (void)argv;
    if (srv.hooks.shutdown == NULL) {
        ctl_finish(c, "shutdown is not available");
        return;
    }
    /* Reply first: the shutdown may close this socket before the loop
     * runs again. */
    ctl_finish(c, NULL);
    srv.hooks.shutdown(srv.hooks.data);
}

/* ---- wait-ready ---------------------------------------------------- */

struct ctl_state {
    char state[32];
    bool want_up;
};

static void
ctl_state_cb(void *data, const struct sv_status *st)
{
    struct ctl_state *s = data;

    snprintf(s->state, sizeof(s->state), "%s", st->state ? st->state : "?");
    s->want_up = st->want_up;
}

/* Checks the services a wait-ready names; finishes c when they are all
 * ready or one of them cannot become ready. True when finished. */
static bool
ctl_wait_check(struct ctl_conn *c)
{
    bool pending = false;

    for (int i = 2; i < c->argc; i++) {
        struct ctl_state st = {"?", false};
        struct mi_err e = {0};
        bool failed = false;

        /* A reload may have removed it since the request came. */
        if (sv_ctl_status(c->argv[i], ctl_state_cb, &st, &e) < 0) {
            ctl_finish_err(c, &e);
            return true;
        }
        if (sv_is_ready(c->argv[i], &failed)) {
            continue;
        }
        if (failed) {
            ctl_finishf(c, "service %s will not become ready (state %s, want %s)", c->argv[i],
                        st.state, st.want_up ? "up" : "down");
            return true;
        }
        pending = true;
    }
    if (!pending) {
        ctl_finish(c, NULL);
    }
    return !pending;
}

static void
ctl_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct ctl_conn *c = CTL_OF(w, deadline);
    char msg[CTL_MSG_MAX];
    size_t n;

    (void)loop;
    (void)revents;
    ctl_hold(c);
    if (c->freeze_wait) {
        if (!ctl_freeze_check(c)) {
            ctl_finish(c, "the freezer did not settle in time");
        }
        ctl_release(c);
        return;
    }
    if (!ctl_wait_check(c)) {
        if (c->wait_ms % 1000 == 0) {
            n = (size_t)snprintf(msg, sizeof(msg),
                                 "not ready after %llus:", (unsigned long long)(c->wait_ms / 1000));
        } else {
            n = (size_t)snprintf(msg, sizeof(msg),
                                 "not ready after %llums:", (unsigned long long)c->wait_ms);
        }
        for (int i = 2; i < c->argc && n < sizeof(msg); i++) {
            bool failed;

            if (!sv_is_ready(c->argv[i], &failed)) {
                n += (size_t)snprintf(msg + n, sizeof(msg) - n, " %s", c->argv[i]);
            }
        }
        ctl_finish(c, msg);
    }
    ctl_release(c);
}

static bool
ctl_waits_for(const struct ctl_conn *c, const char *name)
{
    for (int i = 2; i < c->argc; i++) {
        if (strcmp(c->argv[i], name) == 0) {
            return true;
        }
    }
    return false;
}

static void
ctl_cmd_wait(struct ctl_conn *c, int argc, char **argv)
{
    uint64_t ms;

    if (ctl_parse_num(argv[1], CTL_WAIT_MAX_MS, &ms) < 0) {
        ctl_finishf(c, "'%s' is not a timeout in milliseconds", argv[1]);
        return;
    }
    if (ctl_check_names(c, argc - 2, argv + 2) < 0 || ctl_wait_check(c)) {
        return;
    }
    c->wait_ms = ms;
    c->waiting = true;
    ev_timer_set(&c->deadline, (double)ms / 1000.0, 0.);
    ev_timer_start(srv.loop, &c->deadline);
    ctl_set_events(c, EV_READ); /* to see the client give up */
}

/* ---- dispatch ------------------------------------------------------ */

typedef void ctl_cmd_fn(struct ctl_conn *c, int argc, char **argv);

static const struct ctl_cmd {
    const char *name;
    int min; /* words after the command */
    int max;
    bool quiet; /* logged at debug, not info: it changes nothing */
    const char *usage;
    ctl_cmd_fn *fn;
} ctl_cmds[] = {
        {"status", 0, CTL_ARGS_MAX, true, "status [NAME...]", ctl_cmd_status},
        {"start", 1, CTL_ARGS_MAX, false, "start NAME...", ctl_cmd_action},
        {"stop", 1, CTL_ARGS_MAX, false, "stop NAME...", ctl_cmd_action},
        {"restart", 1, CTL_ARGS_MAX, false, "restart NAME...", ctl_cmd_action},
        {"signal", 2, CTL_ARGS_MAX, false, "signal SIGNO NAME...", ctl_cmd_signal},
        {"pause", 0, CTL_ARGS_MAX, false, "pause [NAME...]", ctl_cmd_freezer},
        {"resume", 0, CTL_ARGS_MAX, false, "resume [NAME...]", ctl_cmd_freezer},
        {"reload", 0, 0, false, "reload", ctl_cmd_reload},
        {"shutdown", 0, 0, false, "shutdown", ctl_cmd_shutdown},
        {"wait-ready", 2, CTL_ARGS_MAX, true, "wait-ready MS NAME...", ctl_cmd_wait},
};

/* Logs the request with bytes that could forge log lines made '?'. */
static void
ctl_log_request(const struct ctl_conn *c, bool quiet)
{
    char buf[256];
    size_t n = 0;

    for (int i = 0; i < c->argc && n < sizeof(buf) - 2; i++) {
        if (i > 0) {
            buf[n++] = ' ';
        }
        for (const char *p = c->argv[i]; *p != '\0' && n < sizeof(buf) - 1; p++) {
            unsigned char ch = (unsigned char)*p;

            buf[n++] = (ch < 0x20 || ch == 0x7f) ? '?' : (char)ch;
        }
    }
    buf[n] = '\0';
    mi_log(quiet ? MI_LOG_DEBUG : MI_LOG_INFO, "control: uid %u: %s", (unsigned)c->uid, buf);
}

static void
ctl_request(struct ctl_conn *c, size_t len)
{
    struct mi_err e = {0};
    const struct ctl_cmd *cmd = NULL;

    c->have_req = true;
    ev_timer_stop(srv.loop, &c->idle);
    ctl_set_events(c, 0);
    if (ctl_split(c, len, &e) < 0) {
        ctl_finish(c, e.msg);
        return;
    }
    if (c->argc == 0) {
        ctl_finish(c, "empty request");
        return;
    }
    for (size_t i = 0; i < sizeof(ctl_cmds) / sizeof(ctl_cmds[0]); i++) {
        if (strcmp(c->argv[0], ctl_cmds[i].name) == 0) {
            cmd = &ctl_cmds[i];
        }
    }
    if (cmd == NULL) {
        ctl_finishf(c, "unknown command '%.64s'", c->argv[0]);
        return;
    }
    ctl_log_request(c, cmd->quiet);
    if (c->argc - 1 < cmd->min || c->argc - 1 > cmd->max) {
        ctl_finishf(c, "usage: %s", cmd->usage);
        return;
    }
    cmd->fn(c, c->argc, c->argv);
}

/* After the request: only EOF matters (the client gave up on a wait). */
static void
ctl_read_rest(struct ctl_conn *c)
{
    char scratch[512];
    ssize_t n = recv(c->fd, scratch, sizeof(scratch), 0);

    if (n > 0 || (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))) {
        return;
    }
    if (c->waiting || n < 0) {
        ctl_drop(c);
        return;
    }
    ctl_set_events(c, c->events & ~EV_READ);
}

static void
ctl_read(struct ctl_conn *c)
{
    if (c->have_req) {
        ctl_read_rest(c);
        return;
    }
    for (;;) {
        size_t old = c->inlen;
        ssize_t n = recv(c->fd, c->in + old, sizeof(c->in) - old, 0);
        char *nl;

        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            /* EOF or an error before a whole request: nobody to answer. */
            if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
                ctl_drop(c);
            }
            return;
        }
        c->inlen += (size_t)n;
        nl = memchr(c->in + old, '\n', (size_t)n);
        if (nl != NULL) {
            *nl = '\0';
            ctl_request(c, (size_t)(nl - c->in));
            return;
        }
        if (c->inlen == sizeof(c->in)) {
            c->have_req = true;
            ctl_finish(c, "request too long");
            return;
        }
    }
}

static void
ctl_io_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct ctl_conn *c = (struct ctl_conn *)w;

    (void)loop;
    ctl_hold(c);
    if (revents & EV_READ) {
        ctl_read(c);
    }
    if (!c->dead && (revents & EV_WRITE)) {
        ctl_flush(c);
    }
    ctl_release(c);
}

static void
ctl_idle_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct ctl_conn *c = CTL_OF(w, idle);

    (void)loop;
    (void)revents;
    ctl_hold(c);
    if (c->have_req || c->done) {
        mi_log(MI_LOG_WARNING, "control: dropping a client (uid %u) that stopped reading its reply",
               (unsigned)c->uid);
        ctl_drop(c);
    } else {
        c->have_req = true;
        ctl_finishf(c, "no request within %gs", ctl_idle_s);
    }
    ctl_release(c);
}

/* ---- accepting ----------------------------------------------------- */

/* Best effort: one non-blocking send of a short error, then close. */
static void
ctl_reject(int fd, const char *line)
{
    ssize_t n = send(fd, line, strlen(line), MSG_NOSIGNAL | MSG_DONTWAIT);

    (void)n;
    sys_close(fd);
}

static void
ctl_admit(int fd, uid_t uid)
{
    struct ctl_conn *c = calloc(1, sizeof(*c));

    if (c == NULL) {
        mi_log(MI_LOG_ERROR, "control: unable to accept a client: out of memory");
        ctl_reject(fd, "error: out of memory\n");
        return;
    }
    c->fd = fd;
    c->uid = uid;
    c->events = EV_READ;
    ev_io_init(&c->io, ctl_io_cb, fd, EV_READ);
    ev_timer_init(&c->idle, ctl_idle_cb, ctl_idle_s, 0.);
    ev_timer_init(&c->deadline, ctl_deadline_cb, 0., 0.);
    c->next = srv.conns;
    if (srv.conns != NULL) {
        srv.conns->prev = c;
    }
    srv.conns = c;
    srv.nconns++;
    ev_io_start(srv.loop, &c->io);
    ev_timer_start(srv.loop, &c->idle);
}

/* Checks the peer of a new connection and admits it or turns it away. */
static void
ctl_new_peer(int fd)
{
    struct ucred cr;
    socklen_t len = sizeof(cr);
    char line[128];

    if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cr, &len) < 0) {
        mi_log(MI_LOG_WARNING, "control: unable to read a client's credentials: %s",
               strerror(errno));
        sys_close(fd);
        return;
    }
    if (cr.uid != 0 && cr.uid != geteuid()) {
        mi_log(MI_LOG_WARNING, "control: refusing a client with uid %u (pid %ld)", (unsigned)cr.uid,
               (long)cr.pid);
        snprintf(line, sizeof(line),
                 "error: permission denied: uid %u may not use the control socket\n",
                 (unsigned)cr.uid);
        ctl_reject(fd, line);
        return;
    }
    if (srv.nconns >= CTL_CONNS_MAX) {
        mi_log(MI_LOG_WARNING, "control: refusing a client: %d connections already", CTL_CONNS_MAX);
        ctl_reject(fd, "error: too many connections\n");
        return;
    }
    ctl_admit(fd, cr.uid);
}

static void
ctl_accept_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    (void)w;
    (void)revents;
    for (int i = 0; i < CTL_ACCEPT_MAX; i++) {
        int fd = accept4(srv.fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);

        if (fd >= 0) {
            ctl_new_peer(fd);
            continue;
        }
        if (errno == EINTR || errno == ECONNABORTED) {
            continue;
        }
        if (errno == EAGAIN || errno == EWOULDBLOCK) {
            return;
        }
        /* EMFILE, ENFILE, ENOBUFS, ENOMEM: the connection stays queued and
         * the socket readable, so retrying now would spin. Pause instead. */
        mi_log(MI_LOG_WARNING, "control: unable to accept a connection on %s: %s; retrying in 1s",
               srv.path, strerror(errno));
        ev_io_stop(loop, &srv.io);
        ev_timer_set(&srv.backoff, 1., 0.);
        ev_timer_start(loop, &srv.backoff);
        return;
    }
}

static void
ctl_backoff_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)w;
    (void)revents;
    ev_io_start(loop, &srv.io);
}

/* ---- the listening socket ------------------------------------------ */

/* Removes a socket file left by a minit that died, never a live one. */
static int
ctl_clear_stale(const char *path, const struct sockaddr_un *sa, struct mi_err *e)
{
    MI_CLEANUP_CLOSE int fd = -1;
    struct stat st;

    if (lstat(path, &st) < 0) {
        if (errno == ENOENT) {
            return 0; /* nothing there: the usual case */
        }
        return mi_err_sys(e, "unable to inspect %s", path);
    }
    if (!S_ISSOCK(st.st_mode)) {
        return mi_err_set(e, 0, "%s exists and is not a socket", path);
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return mi_err_sys(e, "unable to create a socket");
    }
    /* EAGAIN: alive, with a full backlog. */
    if (connect(fd, (const struct sockaddr *)sa, sizeof(*sa)) == 0 || errno == EAGAIN) {
        return mi_err_set(e, 0, "another minit is listening on %s", path);
    }
    if (errno != ECONNREFUSED) {
        return mi_err_sys(e, "unable to probe %s", path);
    }
    /* ECONNREFUSED: a socket file nobody listens on. ENOENT: someone else
     * removed it meanwhile, which is as good. */
    if (unlink(path) < 0 && errno != ENOENT) {
        return mi_err_sys(e, "unable to remove the stale socket %s", path);
    }
    return 0;
}

/* Binds with mode 0600 from the start and listens. */
static int
ctl_bind(int fd, const char *path, const struct sockaddr_un *sa, struct mi_err *e)
{
    mode_t old;
    int r;

    /* The file's mode comes from the umask at bind time (a later fchmod()
     * on a socket fd does not reach the file, and chmod() leaves a
     * window). minit is single-threaded, so the umask is safe to swap. */
    old = umask(0177);
    r = bind(fd, (const struct sockaddr *)sa, sizeof(*sa));
    umask(old);
    if (r < 0) {
        return mi_err_sys(e, "unable to bind the control socket %s", path);
    }
    if (listen(fd, SOMAXCONN) < 0) {
        mi_err_sys(e, "unable to listen on %s", path);
        unlink(path);
        return -1;
    }
    return 0;
}

int
sv_control_open(struct ev_loop *loop, const char *path, const struct sv_control_hooks *hooks,
                struct mi_err *e)
{
    struct sockaddr_un sa;
    MI_CLEANUP_CLOSE int dirfd = -1;
    MI_CLEANUP_CLOSE int fd = -1;

    if (srv.open) {
        return mi_err_set(e, 0, "the control socket is already open on %s", srv.path);
    }
    if (strlen(path) >= sizeof(srv.path)) {
        return mi_err_set(e, ENAMETOOLONG, "unable to use %s as the control socket", path);
    }
    if (sys_unix_addr(path, &sa, &dirfd) < 0) {
        return mi_err_sys(e, "unable to use %s as the control socket", path);
    }
    if (ctl_clear_stale(path, &sa, e) < 0) {
        return -1;
    }
    fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (fd < 0) {
        return mi_err_sys(e, "unable to create the control socket");
    }
    if (ctl_bind(fd, path, &sa, e) < 0) {
        return -1;
    }
    snprintf(srv.path, sizeof(srv.path), "%s", path);
    srv.loop = loop;
    srv.hooks = hooks ? *hooks : (struct sv_control_hooks){0};
    srv.fd = mi_steal_fd(&fd);
    srv.open = true;
    ev_io_init(&srv.io, ctl_accept_cb, srv.fd, EV_READ);
    ev_timer_init(&srv.backoff, ctl_backoff_cb, 1., 0.);
    ev_io_start(loop, &srv.io);
    return 0;
}

void
sv_control_close(void)
{
    if (!srv.open) {
        return;
    }
    while (srv.conns != NULL) {
        ctl_drop(srv.conns);
    }
    ev_io_stop(srv.loop, &srv.io);
    ev_timer_stop(srv.loop, &srv.backoff);
    sys_close(srv.fd);
    srv.fd = -1;
    srv.open = false;
    if (unlink(srv.path) < 0 && errno != ENOENT) {
        mi_log(MI_LOG_WARNING, "control: unable to remove %s: %s", srv.path, strerror(errno));
    }
}

void
sv_control_state_changed(const char *name)
{
    struct ctl_conn *next;

    for (struct ctl_conn *c = srv.conns; c != NULL; c = next) {
        next = c->next;
        if (!c->waiting || (!c->freeze_wait && !ctl_waits_for(c, name))) {
            continue;
        }
        ctl_hold(c);
        if (c->freeze_wait) {
            ctl_freeze_check(c);
        } else {
            ctl_wait_check(c);
        }
        ctl_release(c);
    }
}

/*
 * Test seam: shorter limits and a look at the connection count, so that
 * tests drive the loop instead of sleeping. Declared here rather than in
 * control.h because nothing but tests may call them.
 */
void sv_control_test_limits(double idle_s, size_t out_cap);
int sv_control_test_nconns(void);

void
sv_control_test_limits(double idle_s, size_t out_cap)
{
    ctl_idle_s = idle_s > 0 ? idle_s : 5.0;
    ctl_out_cap = out_cap >= CTL_OUT_MIN ? out_cap : CTL_OUT_MIN;
}

int
sv_control_test_nconns(void)
{
    return srv.nconns;
}
