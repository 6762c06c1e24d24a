/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: service output capture (supervisor/output.c) on a real libev
 * loop, with fork()ed writers standing in for services. minit's fd 1 is a
 * pipe whose read end the test watches, so TAP goes to a copy of the
 * original stdout through the small printer below (tests/tap.h prints to
 * stdout). Waits are ev_run() iterations under an ev_timer deadline, never
 * sleeps; alarm() bounds the whole run.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <ev.h>

#include "init/err.h"
#include "init/log.h"
#include "supervisor/output.h"

#define NLINES    50000
#define LINE_CUT  65536 /* output.c's SRC_BUF: the longest line kept whole */
#define TP_LINES  1000000
#define TP_LEN    100
#define LONG_LEN  200000
#define DRAIN_LEN 300000
#define NL_COUNT  (256 * 1024)

/* ---- TAP on a copy of the original stdout ------------------------------ */

static int tap_fd = -1;
static int tap_n;
static int tap_failed;

static void tap_ok(bool cond, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void tap_diag(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
tap_ok(bool cond, const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    tap_n++;
    if (!cond) {
        tap_failed++;
    }
    dprintf(tap_fd, "%sok %d - %s\n", cond ? "" : "not ", tap_n, msg);
}

static void
tap_diag(const char *fmt, ...)
{
    char msg[512];
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(msg, sizeof(msg), fmt, ap);
    va_end(ap);
    dprintf(tap_fd, "# %s\n", msg);
}

/* ---- the loop, the capture of minit's stdout, deadlines --------------- */

static struct ev_loop *loop;

struct capture {
    ev_io w; /* on the read end of the pipe that is minit's fd 1 */
    char *data;
    size_t len;
    size_t size;
    size_t lines;
};
static struct capture cap;

static void
cap_cb(struct ev_loop *l, ev_io *w, int revents)
{
    ssize_t n;

    (void)l;
    (void)revents;
    if (cap.size - cap.len < 256 * 1024) {
        cap.size = cap.size * 2 + 1024 * 1024;
        cap.data = realloc(cap.data, cap.size);
        if (cap.data == NULL) {
            abort();
        }
    }
    n = read(w->fd, cap.data + cap.len, cap.size - cap.len);
    for (ssize_t i = 0; i < n; i++) {
        cap.lines += cap.data[cap.len + (size_t)i] == '\n';
    }
    if (n > 0) {
        cap.len += (size_t)n;
    }
}

static void
cap_reset(void)
{
    cap.len = 0;
    cap.lines = 0;
}

static bool timed_out;

static void
deadline_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    (void)l;
    (void)w;
    (void)revents;
    timed_out = true;
}

/* Iterates the loop until done(arg) or secs have passed. */
static bool
run_until(bool (*done)(const void *), const void *arg, double secs)
{
    ev_timer t;

    ev_now_update(loop);
    timed_out = false;
    ev_timer_init(&t, deadline_cb, secs, 0);
    ev_timer_start(loop, &t);
    while (!done(arg) && !timed_out) {
        ev_run(loop, EVRUN_ONCE);
    }
    ev_timer_stop(loop, &t);
    return done(arg);
}

static bool
cap_has_lines(const void *arg)
{
    return cap.lines >= *(const size_t *)arg;
}

static bool
cap_has(const void *arg)
{
    return cap.len > 0 && memmem(cap.data, cap.len, arg, strlen(arg)) != NULL;
}

static size_t
pipe_bytes(int fd)
{
    int n = 0;

    return ioctl(fd, FIONREAD, &n) == 0 ? (size_t)n : 0;
}

static bool
pipe_empty(const void *arg)
{
    return pipe_bytes(*(const int *)arg) == 0;
}

static bool
pipe_full(int fd)
{
    struct pollfd p = {.fd = fd, .events = POLLOUT};

    return poll(&p, 1, 0) == 0;
}

static double
now_s(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static char *
slurp(const char *path, size_t *len)
{
    static char buf[1 << 16];
    int fd = open(path, O_RDONLY | O_CLOEXEC);
    ssize_t n;

    *len = 0;
    if (fd < 0) {
        return NULL;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    *len = n > 0 ? (size_t)n : 0;
    buf[*len] = '\0';
    return buf;
}

/* ---- writers: fork()ed stand-ins for services ------------------------- */

struct writer {
    ev_io w; /* EOF on this pipe: the writer has exited */
    pid_t pid;
    bool done;
};

static void
writer_cb(struct ev_loop *l, ev_io *w, int revents)
{
    struct writer *wr = (struct writer *)w;
    char c;

    (void)revents;
    if (read(w->fd, &c, 1) <= 0) {
        wr->done = true;
        ev_io_stop(l, w);
        close(w->fd);
    }
}

static bool
writer_done(const void *arg)
{
    return ((const struct writer *)arg)->done;
}

static void
write_all(int fd, const char *p, size_t n)
{
    while (n > 0) {
        ssize_t w = write(fd, p, n);

        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w <= 0) {
            _exit(3);
        }
        p += w;
        n -= (size_t)w;
    }
}

/* "TAG SEQ fff...\n": the filler length and letter depend on SEQ. */
static size_t
fmt_line(char *buf, const char *tag, int seq)
{
    int n = sprintf(buf, "%s %d ", tag, seq);
    int fill = (seq * 37) % 200;

    memset(buf + n, 'a' + seq % 26, (size_t)fill);
    buf[n + fill] = '\n';
    return (size_t)(n + fill + 1);
}

/* Writes n numbered lines in chunks of random size, so that lines are
 * split across writes (and reads). */
static void
write_lines(int fd, const char *tag, int n, unsigned seed)
{
    char buf[8192 + 512];
    size_t len = 0;
    size_t chunk = 1 + (size_t)rand_r(&seed) % 8192;

    for (int i = 0; i < n; i++) {
        len += fmt_line(buf + len, tag, i);
        while (len >= chunk) {
            write_all(fd, buf, chunk);
            memmove(buf, buf + chunk, len - chunk);
            len -= chunk;
            chunk = 1 + (size_t)rand_r(&seed) % 8192;
        }
    }
    write_all(fd, buf, len);
}

enum job {
    JOB_LINES,
    JOB_LONG,
    JOB_TP,
    JOB_DRAIN,
    JOB_NEWLINES,
};

static void
run_job(enum job job, int fd, const char *tag, int n)
{
    static char big[(LONG_LEN > DRAIN_LEN ? LONG_LEN : DRAIN_LEN) + NL_COUNT + 1];

    switch (job) {
    case JOB_LINES:
        write_lines(fd, tag, n, (unsigned)n ^ (unsigned)tag[0]);
        break;
    case JOB_LONG:
        for (int i = 0; i < LONG_LEN; i++) {
            big[i] = (char)('a' + i % 26);
        }
        big[LONG_LEN] = '\n';
        write_all(fd, big, LONG_LEN + 1);
        write_all(fd, "after\n", 6);
        break;
    case JOB_TP:
        for (int i = 0; i < TP_LINES;) {
            char buf[655 * TP_LEN + 1];
            size_t len = 0;

            for (int k = 0; k < 655 && i < TP_LINES; k++, i++) {
                memset(buf + len, 'x', TP_LEN);
                char num[16];

                snprintf(num, sizeof(num), "%07u ", (unsigned)i % 10000000u);
                memcpy(buf + len, num, 8);
                buf[len + TP_LEN - 1] = '\n';
                len += TP_LEN;
            }
            write_all(fd, buf, len);
        }
        break;
    case JOB_NEWLINES:
        memset(big, '\n', NL_COUNT);
        write_all(fd, big, NL_COUNT);
        break;
    case JOB_DRAIN:
        memset(big, 'd', DRAIN_LEN);
        for (int i = 99; i < DRAIN_LEN; i += 100) {
            big[i] = '\n';
        }
        write_all(fd, big, DRAIN_LEN);
        write_all(fd, "tail", 4);
        break;
    }
}

static void
writer_start(struct writer *wr, enum job job, int fd, const char *tag, int n)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0) {
        abort();
    }
    wr->done = false;
    wr->pid = fork();
    if (wr->pid < 0) {
        abort();
    }
    if (wr->pid == 0) {
        close(p[0]);
        if (cap.w.fd >= 0) {
            close(cap.w.fd);
        }
        run_job(job, fd, tag, n);
        _exit(0);
    }
    close(p[1]);
    ev_io_init(&wr->w, writer_cb, p[0], EV_READ);
    ev_io_start(loop, &wr->w);
}

static int
writer_reap(struct writer *wr)
{
    int st = -1;

    run_until(writer_done, wr, 10);
    if (!wr->done) {
        kill(wr->pid, SIGKILL);
        ev_io_stop(loop, &wr->w);
        close(wr->w.fd);
    }
    while (waitpid(wr->pid, &st, 0) < 0 && errno == EINTR) {
    }
    return WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
}

/* ---- a reader process for the capture pipe (throughput, drain) -------- */

struct tally {
    size_t bytes;
    size_t lines;
    size_t bad; /* lines whose length is not the expected one */
};

struct reader {
    ev_io w;
    pid_t pid;
    bool done;
    struct tally t;
};

static void
tally_child(size_t expect, size_t linelen, int out)
{
    static char buf[1 << 20];
    struct tally t = {0};
    size_t cur = 0;

    while (t.bytes < expect) {
        struct pollfd pfd = {.fd = cap.w.fd, .events = POLLIN};
        ssize_t n;

        if (poll(&pfd, 1, -1) < 0 && errno != EINTR) {
            _exit(3);
        }
        n = read(cap.w.fd, buf, sizeof(buf));
        for (char *p = buf, *end = buf + (n > 0 ? n : 0); p < end;) {
            char *nl = memchr(p, '\n', (size_t)(end - p));

            if (nl == NULL) {
                cur += (size_t)(end - p);
                break;
            }
            cur += (size_t)(nl - p) + 1;
            t.lines++;
            t.bad += linelen != 0 && cur != linelen;
            cur = 0;
            p = nl + 1;
        }
        t.bytes += n > 0 ? (size_t)n : 0;
    }
    write_all(out, (const char *)&t, sizeof(t));
    _exit(0);
}

static void
reader_cb(struct ev_loop *l, ev_io *w, int revents)
{
    struct reader *r = (struct reader *)w;

    (void)revents;
    r->done = read(w->fd, &r->t, sizeof(r->t)) == (ssize_t)sizeof(r->t);
    ev_io_stop(l, w);
}

static bool
reader_done(const void *arg)
{
    return ((const struct reader *)arg)->done;
}

static void
reader_start(struct reader *r, size_t expect, size_t linelen)
{
    int p[2];

    if (pipe2(p, O_CLOEXEC) < 0) {
        abort();
    }
    r->done = false;
    memset(&r->t, 0, sizeof(r->t));
    r->pid = fork();
    if (r->pid < 0) {
        abort();
    }
    if (r->pid == 0) {
        close(p[0]);
        tally_child(expect, linelen, p[1]);
    }
    close(p[1]);
    ev_io_init(&r->w, reader_cb, p[0], EV_READ);
    ev_io_start(loop, &r->w);
}

static void
reader_reap(struct reader *r)
{
    if (!r->done) {
        kill(r->pid, SIGKILL);
        ev_io_stop(loop, &r->w);
    }
    close(r->w.fd);
    while (waitpid(r->pid, NULL, 0) < 0 && errno == EINTR) {
    }
}

/* ---- checking captured lines ------------------------------------------ */

struct svc_check {
    const char *name;
    int next; /* the sequence number expected next */
};

/* Checks that each line of data is "NAME | " plus the next line that
 * service wrote, byte for byte. Returns the number of bad lines. */
static int
check_lines(const char *data, size_t len, struct svc_check *svcs, int nsvcs)
{
    const char *end = data + len;
    char want[512];
    int bad = 0;

    for (const char *p = data; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n = nl != NULL ? (size_t)(nl - p) + 1 : (size_t)(end - p);
        int k;

        for (k = 0; k < nsvcs; k++) {
            size_t l = strlen(svcs[k].name);

            if (n > l + 3 && memcmp(p, svcs[k].name, l) == 0 && memcmp(p + l, " | ", 3) == 0) {
                break;
            }
        }
        if (k == nsvcs || n - strlen(svcs[k].name) - 3 >= sizeof(want) ||
            fmt_line(want, svcs[k].name, svcs[k].next) != n - strlen(svcs[k].name) - 3 ||
            memcmp(want, p + strlen(svcs[k].name) + 3, n - strlen(svcs[k].name) - 3) != 0) {
            if (bad++ < 3) {
                tap_diag("bad line: '%.*s'", (int)(n > 120 ? 120 : n), p);
            }
        } else {
            svcs[k].next++;
        }
        p += n;
    }
    return bad;
}

static struct sv_output *
new_output2(const char *name, int which, const struct sv_log_conf *c)
{
    struct mi_err e = {0};
    struct sv_output *o = sv_output_new(name, which, c, &e);

    if (o == NULL) {
        tap_diag("sv_output_new(%s): %s: %s", name, e.msg, strerror(e.errnum));
    }
    return o;
}

static struct sv_output *
new_output(const char *name, const struct sv_log_conf *c)
{
    return new_output2(name, 1, c);
}

/* ---- the tests -------------------------------------------------------- */

/* (1) Two services, 50,000 lines each, into one parent sink. */
static void
test_two_writers(void)
{
    struct sv_log_conf c = {.kind = SV_LOG_PARENT};
    struct sv_output *a = new_output("alpha", &c);
    struct sv_output *b = new_output("beta", &c);
    struct svc_check svcs[] = {{"alpha", 0}, {"beta", 0}};
    struct writer wa;
    struct writer wb;
    size_t want = 2 * NLINES;
    int bad;
    bool ok;

    cap_reset();
    writer_start(&wa, JOB_LINES, sv_output_child_fd(a), "alpha", NLINES);
    writer_start(&wb, JOB_LINES, sv_output_child_fd(b), "beta", NLINES);
    ok = run_until(cap_has_lines, &want, 30);
    tap_ok(ok && cap.lines == want, "two writers: %zu of %zu lines arrived", cap.lines, want);
    bad = check_lines(cap.data, cap.len, svcs, 2);
    tap_ok(bad == 0, "two writers: every line whole, prefixed, in per-service order");
    tap_ok(svcs[0].next == NLINES && svcs[1].next == NLINES, "two writers: none lost (%d, %d)",
           svcs[0].next, svcs[1].next);
    tap_ok(writer_reap(&wa) == 0 && writer_reap(&wb) == 0, "two writers: both exited 0");
    sv_output_free(a);
    sv_output_free(b);
}

/* Spins the loop without blocking until every fd in fds is a full pipe
 * after 100 iterations in a row: a snapshot could catch a pipe that a
 * writer refilled just before minit's next read. */
static bool
spin_until_full(const int *fds, int n, double secs)
{
    double end = now_s() + secs;
    int stable = 0;

    while (now_s() < end && stable < 100) {
        int full = 0;

        for (int i = 0; i < n; i++) {
            full += pipe_full(fds[i]);
        }
        stable = full == n ? stable + 1 : 0;
        ev_run(loop, EVRUN_NOWAIT);
        sched_yield();
    }
    return stable >= 100;
}

/* (2) The test stops reading: sources stop, writers block, loop does not. */
static void
test_backpressure(void)
{
    struct sv_log_conf c = {.kind = SV_LOG_PARENT};
    struct sv_output *a = new_output("alpha", &c);
    struct sv_output *b = new_output("beta", &c);
    struct svc_check svcs[] = {{"alpha", 0}, {"beta", 0}};
    int fds[3] = {sv_output_child_fd(a), sv_output_child_fd(b), STDOUT_FILENO};
    struct writer wa;
    struct writer wb;
    size_t want = 2 * NLINES;
    double t0;
    int bad;
    bool ok;

    cap_reset();
    ev_io_stop(loop, &cap.w);
    writer_start(&wa, JOB_LINES, fds[0], "alpha", NLINES);
    writer_start(&wb, JOB_LINES, fds[1], "beta", NLINES);
    ok = spin_until_full(fds, 3, 10);
    tap_ok(ok, "backpressure: sink pipe and both service pipes fill up");
    tap_ok(!wa.done && !wb.done && waitpid(wa.pid, NULL, WNOHANG) == 0 &&
                   waitpid(wb.pid, NULL, WNOHANG) == 0,
           "backpressure: writers are blocked, not finished");
    t0 = now_s();
    for (int i = 0; i < 1000; i++) {
        ev_run(loop, EVRUN_NOWAIT);
    }
    tap_ok(now_s() - t0 < 2.0, "backpressure: the loop does not block (1000 iterations in %.3f s)",
           now_s() - t0);
    tap_ok(pipe_full(fds[0]) && pipe_full(fds[1]), "backpressure: minit still does not read");
    ev_io_start(loop, &cap.w);
    ok = run_until(cap_has_lines, &want, 30);
    tap_ok(ok && cap.lines == want, "backpressure: %zu of %zu lines arrived after resuming",
           cap.lines, want);
    bad = check_lines(cap.data, cap.len, svcs, 2);
    tap_ok(bad == 0 && svcs[0].next == NLINES && svcs[1].next == NLINES,
           "backpressure: nothing lost, order kept (%d, %d)", svcs[0].next, svcs[1].next);
    tap_ok(writer_reap(&wa) == 0 && writer_reap(&wb) == 0, "backpressure: both writers exited 0");
    sv_output_free(a);
    sv_output_free(b);
}

/* Splits "long | piece\n" lines; true when their pieces rebuild the line. */
static bool
check_long(const char *data, size_t len, int *pieces)
{
    const char *end = data + len;
    long pos = 0;

    *pieces = 0;
    for (const char *p = data; p < end && pos < LONG_LEN;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t n;

        if (nl == NULL || strncmp(p, "long | ", 7) != 0) {
            return false;
        }
        n = (size_t)(nl - p) - 7;
        if (n > LINE_CUT) {
            return false;
        }
        for (size_t i = 0; i < n; i++, pos++) {
            if (p[7 + i] != 'a' + pos % 26) {
                return false;
            }
        }
        (*pieces)++;
        p = nl + 1;
    }
    return pos == LONG_LEN;
}

/* (3) A line longer than the line buffer is cut into prefixed pieces. */
static void
test_long_line(void)
{
    struct sv_log_conf c = {.kind = SV_LOG_PARENT};
    struct sv_output *o = new_output("long", &c);
    struct writer w;
    int pieces = 0;
    bool ok;

    cap_reset();
    writer_start(&w, JOB_LONG, sv_output_child_fd(o), "long", 0);
    ok = run_until(cap_has, "long | after\n", 10);
    tap_ok(ok, "long line: the line after it arrives");
    ok = check_long(cap.data, cap.len, &pieces);
    tap_ok(ok && pieces == (LONG_LEN + LINE_CUT - 1) / LINE_CUT,
           "long line: %d bytes cut into %d prefixed pieces of at most %d, nothing lost", LONG_LEN,
           pieces, LINE_CUT);
    tap_ok(cap.len >= 13 && memcmp(cap.data + cap.len - 13, "long | after\n", 13) == 0 &&
                   cap.lines == (size_t)pieces + 1,
           "long line: the next line is whole");
    tap_ok(writer_reap(&w) == 0, "long line: writer exited 0");
    sv_output_free(o);
}

static void
run_nowait(int n)
{
    for (int i = 0; i < n; i++) {
        ev_run(loop, EVRUN_NOWAIT);
    }
}

/* (4) sv_output_flush() ends a partial last line. */
static void
test_partial_flush(void)
{
    struct sv_log_conf c = {.kind = SV_LOG_PARENT};
    struct sv_output *o = new_output("part", &c);
    int fd = sv_output_child_fd(o);
    const char *want = "part | no newline here\npart | next line\n";

    cap_reset();
    tap_ok(write(fd, "no newline here", 15) == 15, "partial: written");
    run_until(pipe_empty, &fd, 5);
    run_nowait(10);
    tap_ok(cap.len == 0, "partial: a partial line is held back");
    sv_output_flush(o);
    tap_ok(run_until(cap_has, "part | no newline here\n", 5), "partial: flush ends it");
    tap_ok(write(fd, "next line\n", 10) == 10, "partial: next line written");
    run_until(cap_has, "part | next line\n", 5);
    tap_ok(cap.len == strlen(want) && memcmp(cap.data, want, cap.len) == 0,
           "partial: the next line starts fresh");
    sv_output_free(o);
}

/* Collects the lines of service `name` (without prefix), '|'-separated. */
static void
lines_of(const char *name, char *out, size_t size)
{
    size_t l = strlen(name);
    size_t len = 0;

    out[0] = '\0';
    for (const char *p = cap.data, *end = cap.data + cap.len; p < end;) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));

        if (nl == NULL) {
            break;
        }
        if ((size_t)(nl - p) >= l + 3 && memcmp(p, name, l) == 0 && memcmp(p + l, " | ", 3) == 0) {
            len += (size_t)snprintf(out + len, size - len, "%.*s|", (int)(nl - p - (long)l - 3),
                                    p + l + 3);
        }
        p = nl + 1;
        if (len >= size) {
            break;
        }
    }
}

/* sv_output_flush() while the sink is full: the partial line is ended
 * when its turn comes, before what the service writes next. A service with
 * a 63-character name writing only newlines fills the sink in one read. */
static void
test_flush_stalled(void)
{
    static const char fname[] = "fffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff";
    struct sv_log_conf c = {.kind = SV_LOG_PARENT};
    struct sv_output *f = new_output(fname, &c);
    struct sv_output *o = new_output("st", &c);
    int fds[2] = {sv_output_child_fd(f), STDOUT_FILENO};
    int fd = sv_output_child_fd(o);
    size_t want = NL_COUNT + 3;
    /* Longer than the room a full sink can have left (less than a filler
     * line of 67 bytes), so that the flush finds no room. */
    char first[128];
    char expect[128];
    struct writer w;
    char got[512];

    snprintf(first, sizeof(first), "%0100d\npartial", 0);
    snprintf(expect, sizeof(expect), "%0100d|partial|more|", 0);
    cap_reset();
    ev_io_stop(loop, &cap.w);
    writer_start(&w, JOB_NEWLINES, fds[0], fname, 0);
    tap_ok(spin_until_full(fds, 2, 10), "flush stalled: the sink is full");
    tap_ok(write(fd, first, strlen(first)) == (ssize_t)strlen(first), "flush stalled: written");
    sv_output_flush(o);
    tap_ok(write(fd, "more\n", 5) == 5, "flush stalled: next line written");
    ev_io_start(loop, &cap.w);
    run_until(cap_has_lines, &want, 10);
    lines_of("st", got, sizeof(got));
    tap_ok(strcmp(got, expect) == 0, "flush stalled: the partial line is ended in its turn");
    if (strcmp(got, expect) != 0) {
        tap_diag("got '%s'", got);
    }
    tap_ok(cap.lines == want, "flush stalled: %zu of %zu lines", cap.lines, want);
    writer_reap(&w);
    sv_output_free(f);
    sv_output_free(o);
}

static char tmpdir[] = "/tmp/minit-test-output-XXXXXX";

/* Writes text to the output's pipe and lets minit take it all. */
static void
feed(struct sv_output *o, const char *text)
{
    int fd = sv_output_child_fd(o);

    if (write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        tap_diag("short write to the pipe");
    }
    run_until(pipe_empty, &fd, 5);
}

static bool
file_exists(const char *path, off_t *size)
{
    struct stat st;

    *size = 0;
    if (stat(path, &st) < 0) {
        return false;
    }
    *size = st.st_size;
    return true;
}

/* Reads path.2, path.1, path: the lines must be "%04d ..." counting up to
 * 99, each 100 bytes. Returns the first number, or -1. */
static int
check_rotated(const char *path)
{
    char name[300];
    int first = -1;
    int next = -1;

    for (int i = 2; i >= 0; i--) {
        size_t len;
        char *d;

        snprintf(name, sizeof(name), i > 0 ? "%s.%d" : "%s", path, i);
        d = slurp(name, &len);
        if (d == NULL || len % 100 != 0) {
            return -1;
        }
        for (size_t off = 0; off < len; off += 100) {
            int v = atoi(d + off);

            if (first < 0) {
                first = next = v;
            }
            if (v != next++ || d[off + 99] != '\n') {
                return -1;
            }
        }
    }
    return next == 100 ? first : -1;
}

/* (5) Log file rotation: maxbytes 1000, backups 2. */
static void
test_rotation(void)
{
    char path[256];
    char name[300];
    struct sv_log_conf c = {.kind = SV_LOG_FILE, .path = path, .maxbytes = 1000, .backups = 2};
    struct sv_output *o;
    bool ok = true;
    off_t size;

    snprintf(path, sizeof(path), "%s/rot.log", tmpdir);
    o = new_output("rot", &c);
    for (int i = 0; i < 100; i++) {
        char line[128];

        snprintf(line, sizeof(line), "%04u %094u\n", (unsigned)i % 10000u, 0u);
        feed(o, line);
    }
    for (int i = 0; i <= 2; i++) {
        snprintf(name, sizeof(name), i > 0 ? "%s.%d" : "%s", path, i);
        ok = ok && file_exists(name, &size) && size > 0 && size <= 1000;
    }
    tap_ok(ok, "rotation: path, path.1, path.2 exist, each at most maxbytes");
    snprintf(name, sizeof(name), "%s.3", path);
    tap_ok(!file_exists(name, &size), "rotation: path.3 does not exist (backups 2)");
    tap_ok(check_rotated(path) == 70, "rotation: content continuous, the last 30 lines kept");
    sv_output_free(o);
}

/* (6) sv_output_reopen() after a rename writes a new file at the path. */
static void
test_reopen(void)
{
    char path[256];
    char old[300];
    struct sv_log_conf c = {.kind = SV_LOG_FILE, .path = path};
    struct sv_output *o;
    size_t len;
    char *d;

    snprintf(path, sizeof(path), "%s/reopen.log", tmpdir);
    snprintf(old, sizeof(old), "%s.old", path);
    o = new_output("re", &c);
    feed(o, "one\n");
    tap_ok(rename(path, old) == 0, "reopen: log file renamed");
    feed(o, "two\n");
    sv_output_reopen();
    feed(o, "three\n");
    d = slurp(old, &len);
    tap_ok(d != NULL && strcmp(d, "one\ntwo\n") == 0, "reopen: the old file got what came before");
    d = slurp(path, &len);
    tap_ok(d != NULL && strcmp(d, "three\n") == 0, "reopen: a new file at the path gets the rest");
    sv_output_free(o);
}

/* Two services appending to one log file share a sink. */
static void
test_shared_file(void)
{
    char path[256];
    struct sv_log_conf c = {.kind = SV_LOG_FILE, .path = path};
    struct sv_output *a;
    struct sv_output *b;
    size_t len;
    char *d;

    snprintf(path, sizeof(path), "%s/shared.log", tmpdir);
    a = new_output("a", &c);
    b = new_output("b", &c);
    feed(a, "a1\na2\n");
    feed(b, "b1\n");
    sv_output_free(a);
    feed(b, "b2\n");
    sv_output_free(b);
    d = slurp(path, &len);
    tap_ok(d != NULL && strcmp(d, "a1\na2\nb1\nb2\n") == 0, "shared file: raw lines of both");
}

/* (7) SV_LOG_NONE: the child fd is /dev/null, close-on-exec in minit. */
static void
test_none(void)
{
    struct sv_log_conf c = {.kind = SV_LOG_NONE};
    struct sv_output *o = new_output("quiet", &c);
    struct stat a;
    struct stat b;
    int fd;

    if (o == NULL) {
        tap_ok(false, "none: created");
        return;
    }
    fd = sv_output_child_fd(o);
    tap_ok(fstat(fd, &a) == 0 && stat("/dev/null", &b) == 0 && S_ISCHR(a.st_mode) &&
                   a.st_rdev == b.st_rdev,
           "none: child fd is /dev/null");
    tap_ok((fcntl(fd, F_GETFD) & FD_CLOEXEC) != 0, "none: child fd is close-on-exec");
    tap_ok(write(fd, "x\n", 2) == 2, "none: writable");
    sv_output_free(o);
}

static void
test_pipe_fd(void)
{
    struct sv_log_conf c = {.kind = SV_LOG_PARENT};
    struct sv_output *o = new_output("fd", &c);
    struct stat st;
    int fd = sv_output_child_fd(o);

    tap_ok(fstat(fd, &st) == 0 && S_ISFIFO(st.st_mode) && (fcntl(fd, F_GETFD) & FD_CLOEXEC) &&
                   !(fcntl(fd, F_GETFL) & O_NONBLOCK),
           "parent: child fd is a blocking pipe, close-on-exec in minit");
    sv_output_free(o);
}

/* 100 MB of 100-byte lines through one service: a figure, not a check. */
static void
test_throughput(void)
{
    struct sv_log_conf c = {.kind = SV_LOG_PARENT};
    struct sv_output *o = new_output("tp", &c);
    size_t want = (size_t)TP_LINES * (TP_LEN + 5);
    struct reader r;
    struct writer w;
    double t0;
    double dt;

    ev_io_stop(loop, &cap.w);
    reader_start(&r, want, TP_LEN + 5);
    t0 = now_s();
    writer_start(&w, JOB_TP, sv_output_child_fd(o), "tp", 0);
    run_until(reader_done, &r, 40);
    dt = now_s() - t0;
    tap_ok(r.done && r.t.bytes == want && r.t.lines == TP_LINES && r.t.bad == 0,
           "throughput: %zu lines, %zu bytes, %zu bad (want %d lines, %zu bytes)", r.t.lines,
           r.t.bytes, r.t.bad, TP_LINES, want);
    tap_diag("throughput: %.0f MB/s (%d MB of %d-byte lines in %.3f s)",
             (double)TP_LINES * TP_LEN / 1e6 / dt, TP_LINES * TP_LEN / 1000000, TP_LEN, dt);
    writer_reap(&w);
    reader_reap(&r);
    ev_io_start(loop, &cap.w);
    sv_output_free(o);
}

/* sv_output_drain(): what the sink holds is written out at shutdown, and
 * a partial last line is ended. */
static void
test_drain(void)
{
    struct sv_log_conf c = {.kind = SV_LOG_PARENT};
    struct sv_output *o = new_output("dr", &c);
    size_t want = DRAIN_LEN + DRAIN_LEN / 100 * 5 + 10;
    int fd = sv_output_child_fd(o);
    struct reader r;
    struct writer w;

    ev_io_stop(loop, &cap.w);
    writer_start(&w, JOB_DRAIN, fd, "dr", 0);
    run_until(writer_done, &w, 10);
    run_until(pipe_empty, &fd, 5);
    tap_ok(writer_reap(&w) == 0 && pipe_full(STDOUT_FILENO),
           "drain: writer done, the sink pipe is full");
    reader_start(&r, want, 0);
    sv_output_drain(10000);
    run_until(reader_done, &r, 10);
    tap_ok(r.done && r.t.bytes == want && r.t.lines == DRAIN_LEN / 100 + 1,
           "drain: everything written out (%zu of %zu bytes), partial line ended", r.t.bytes, want);
    reader_reap(&r);
    ev_io_start(loop, &cap.w);
    sv_output_free(o);
}

/* A closed stdout (EPIPE) discards; the service is not blocked forever. */
static void
test_epipe(void)
{
    struct sv_log_conf c = {.kind = SV_LOG_PARENT};
    struct sv_output *o = new_output("gone", &c);
    int fd = sv_output_child_fd(o);
    struct writer w;
    int level = mi_log_level;

    ev_io_stop(loop, &cap.w);
    close(cap.w.fd);
    cap.w.fd = -1;
    mi_log_level = MI_LOG_ERROR; /* the expected warning is not TAP */
    writer_start(&w, JOB_LINES, fd, "gone", NLINES);
    tap_ok(run_until(writer_done, &w, 10) && writer_reap(&w) == 0,
           "epipe: the writer finishes although nobody reads minit's stdout");
    run_until(pipe_empty, &fd, 5);
    tap_ok(pipe_bytes(fd) == 0, "epipe: its pipe is drained");
    mi_log_level = level;
    sv_output_free(o);
}

/* stdout and stderr on one pipe (a terminal, 2>&1): one sink, so that a
 * partial write of one never lets the other cut into its line. */
static void
test_one_pipe(void)
{
    struct sv_log_conf c = {.kind = SV_LOG_PARENT};
    struct svc_check svcs[] = {{"alpha", 0}, {"beta", 0}};
    int saved = fcntl(STDERR_FILENO, F_DUPFD_CLOEXEC, 10);
    struct mi_err e = {0};
    struct sv_output *a;
    struct sv_output *b;
    struct writer wa;
    struct writer wb;
    size_t want = 2 * NLINES;
    int p[2];
    int bad;

    if (saved < 0 || pipe2(p, O_CLOEXEC) < 0 || dup2(p[1], STDOUT_FILENO) < 0 ||
        dup2(p[1], STDERR_FILENO) < 0) {
        tap_ok(false, "one pipe: set up the pipe");
        return;
    }
    close(p[1]);
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    ev_io_init(&cap.w, cap_cb, p[0], EV_READ);
    ev_io_start(loop, &cap.w);
    tap_ok(sv_output_init(loop, &e) == 0, "one pipe: set up again, fd 1 and fd 2 one pipe");
    a = new_output2("alpha", 1, &c);
    b = new_output2("beta", 2, &c);
    cap_reset();
    writer_start(&wa, JOB_LINES, sv_output_child_fd(a), "alpha", NLINES);
    writer_start(&wb, JOB_LINES, sv_output_child_fd(b), "beta", NLINES);
    run_until(cap_has_lines, &want, 30);
    bad = check_lines(cap.data, cap.len, svcs, 2);
    tap_ok(bad == 0 && svcs[0].next == NLINES && svcs[1].next == NLINES,
           "one pipe: stdout and stderr lines whole and complete (%d bad, %d, %d)", bad,
           svcs[0].next, svcs[1].next);
    writer_reap(&wa);
    writer_reap(&wb);
    sv_output_free(a);
    sv_output_free(b);
    dup2(saved, STDERR_FILENO);
    close(saved);
}

static int
setup(void)
{
    struct mi_err e = {0};
    sigset_t set;
    int p[2];

    /* minit blocks SIGPIPE (signalfd): writes to a closed pipe give EPIPE. */
    sigemptyset(&set);
    sigaddset(&set, SIGPIPE);
    sigprocmask(SIG_BLOCK, &set, NULL);
    tap_fd = fcntl(STDOUT_FILENO, F_DUPFD_CLOEXEC, 10);
    if (tap_fd < 0 || pipe2(p, O_CLOEXEC) < 0 || dup2(p[1], STDOUT_FILENO) < 0) {
        return -1;
    }
    close(p[1]);
    /* Only the test's read end: minit gets its own description of fd 1. */
    fcntl(p[0], F_SETFL, O_NONBLOCK);
    loop = ev_loop_new(EVFLAG_NOENV);
    ev_io_init(&cap.w, cap_cb, p[0], EV_READ);
    ev_io_start(loop, &cap.w);
    if (mkdtemp(tmpdir) == NULL || sv_output_init(loop, &e) < 0) {
        dprintf(tap_fd, "# setup: %s\n", e.msg);
        return -1;
    }
    return 0;
}

static void
cleanup_tmpdir(void)
{
    static const char *const files[] = {"rot.log",    "rot.log.1",      "rot.log.2",
                                        "reopen.log", "reopen.log.old", "shared.log"};
    char path[300];

    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, files[i]);
        unlink(path);
    }
    if (rmdir(tmpdir) < 0) {
        tap_diag("unable to remove %s: %s", tmpdir, strerror(errno));
    }
}

int
main(void)
{
    alarm(55); /* tests/run.sh gives 60 s */
    if (setup() < 0) {
        dprintf(tap_fd >= 0 ? tap_fd : 2, "Bail out! setup failed\n");
        return 1;
    }
    test_none();
    test_pipe_fd();
    test_partial_flush();
    test_long_line();
    test_two_writers();
    test_backpressure();
    test_throughput();
    test_flush_stalled();
    test_rotation();
    test_reopen();
    test_shared_file();
    test_drain();
    test_epipe();
    test_one_pipe();
    sv_output_drain(100);
    cleanup_tmpdir();
    ev_loop_destroy(loop);
    free(cap.data);
    dprintf(tap_fd, "1..%d\n", tap_n);
    return tap_failed ? 1 : 0;
}
