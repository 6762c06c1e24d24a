/* SPDX-License-Identifier: MIT */
/*
 * Service output capture; output.h is the contract. Owns the sinks (minit's
 * stdout, minit's stderr, one per log file) and the sources (one pipe per
 * service stream). Runs in the loop: it never blocks there (only
 * sv_output_drain() waits, at shutdown, under a deadline), allocates only
 * in sv_output_init() and sv_output_new(), and reports through init/log.h.
 *
 * Data path: a source's ev_io reads up to SRC_BUF bytes from its pipe into
 * the source buffer, copies each complete line into its sink's buffer (with
 * the "name | " prefix for minit's stdout/stderr, raw for a log file), and
 * the sink writes what it holds with one write(2) per batch: one read and
 * one write for up to 64 KiB of lines, never a syscall per line. A line sits
 * contiguously in one sink buffer that only this module writes from, so two
 * services can never interleave inside a line.
 *
 * Flow control: a sink whose fd would block (EAGAIN) starts an EV_WRITE
 * watcher and keeps its data. Over `high` bytes held, the sink is
 * throttled: every source feeding it stops its read watcher, so the
 * service's pipe fills and the service blocks in write(2). When the sink has
 * written down to `low` it resumes them. A source whose next line does not
 * fit keeps it (it is "stalled") and emits it first on resume, so a read
 * whose many short lines would grow more than the sink can hold loses
 * nothing either.
 *
 * Sink states: throttled (sources stopped, waiting for EV_WRITE); failing
 * (the last write failed with an error other than EAGAIN: the batch is
 * discarded and counted, reported once, and the next batch is tried);
 * broken (EPIPE: the reader is gone for good, everything is discarded and
 * counted from then on, so services never block forever on a dead stdout).
 *
 * Special problem: a line longer than SRC_BUF (64 KiB) cannot be held. It
 * is cut into pieces of SRC_BUF bytes, each emitted as a line of its own
 * (prefixed, newline-terminated); no byte is lost.
 *
 * Special problem: a non-blocking write to a pipe may be partial, ending
 * inside a line. Only this module writes service output to the sink, so
 * the rest of that line comes next; but minit's own log records go to fd 2
 * through init/log.c and can land there, inside a service's stderr line.
 */
#include "supervisor/output.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "init/log.h"
#include "init/sys.h"

#define SRC_BUF   (64 * 1024)   /* source buffer: the longest line kept whole */
#define STD_CAP   (1024 * 1024) /* minit's stdout/stderr: bytes held at most */
#define STD_HIGH  (512 * 1024)  /* throttle the sources above this */
#define STD_LOW   (128 * 1024)  /* resume them at or below this */
#define FILE_CAP  (256 * 1024)  /* log files: a batch (writes never block) */
#define DRAIN_FDS 8             /* sinks sv_output_drain() can wait on at once */

/* How a sink's fd is written. */
enum sink_mode {
    SINK_NONBLOCK, /* own non-blocking description of a pipe/tty: EAGAIN -> EV_WRITE */
    SINK_SHARED,   /* pipe/tty shared with others (no /proc): poll, then <= PIPE_BUF */
    SINK_SOCKET,   /* send(MSG_DONTWAIT | MSG_NOSIGNAL) on the shared socket */
    SINK_REGULAR,  /* regular file: plain write(2), which never blocks */
};

struct sv_sink {
    ev_io wio; /* EV_WRITE while the fd would block; first member */
    enum sink_mode mode;
    int fd;
    bool own_fd;      /* fd is ours to close (not minit's 1 or 2) */
    const char *name; /* "stdout", "stderr" or the path, for messages */
    char *buf;        /* held bytes are buf[off, end) */
    size_t cap, off, end;
    size_t high, low;
    bool throttled;
    bool failing;
    bool broken;
    unsigned long long lost; /* bytes discarded since the last report */
    struct sv_output *srcs;  /* sources feeding this sink */
    /* Log files only. */
    char *path;
    uint64_t maxbytes; /* 0: never rotate */
    uint64_t size;     /* bytes in the current file */
    unsigned backups;
    bool rotate_failed;     /* reported; cleared by a rotation without error */
    unsigned rotate_errors; /* errors so far, to tell whether a rotation had one */
    int refs;
    struct sv_sink *next;
};

struct sv_output {
    ev_io rio;              /* EV_READ on rfd; first member */
    struct sv_sink *sink;   /* NULL for SV_LOG_NONE */
    struct sv_output *next; /* in sink->srcs */
    int rfd;                /* -1 for SV_LOG_NONE */
    int wfd;                /* handed to the child */
    int which;              /* 1 or 2 */
    char *buf;              /* unconsumed bytes are buf[start, end) */
    size_t start, end;
    bool stalled; /* holds a line the sink had no room for */
    bool dead;    /* read error or EOF: no more reads */
    /* sv_output_flush(): once eol_left more bytes are read, end the
     * partial line that was there (the pipe's content at flush time). */
    bool eol_pending;
    size_t eol_left;
    size_t plen;
    char prefix[SV_NAME_MAX + 4]; /* "name | " or "" */
    char name[SV_NAME_MAX + 1];
};

static struct ev_loop *out_loop;
static struct sv_sink std_store[2];
/* The sinks of minit's fd 1 and fd 2: one and the same when both are one
 * file (a terminal, one pipe, one socket), so that two sinks never write
 * into the same pipe and cut each other's lines. */
static struct sv_sink *std_sinks[2];
static struct sv_sink *file_sinks;

static bool src_emit(struct sv_output *o);
static void src_arm(struct sv_output *o);

static const char *
stream_name(int which)
{
    return which == 2 ? "stderr" : "stdout";
}

static size_t
sink_pending(const struct sv_sink *s)
{
    return s->end - s->off;
}

/* ---- sinks: writing -------------------------------------------------- */

static void
sink_watch(struct sv_sink *s, bool on)
{
    if (out_loop == NULL || on == ev_is_active(&s->wio)) {
        return;
    }
    if (on) {
        ev_io_start(out_loop, &s->wio);
    } else {
        ev_io_stop(out_loop, &s->wio);
    }
}

/* One write attempt of at most n bytes; -1 with errno EAGAIN when it would
 * block. A shared pipe or tty is only written after poll(2) says it has
 * room, and at most PIPE_BUF bytes, which a pipe with room takes whole. */
static ssize_t
sink_write1(struct sv_sink *s, const char *p, size_t n)
{
    struct pollfd pfd = {.fd = s->fd, .events = POLLOUT};

    switch (s->mode) {
    case SINK_SOCKET:
        return send(s->fd, p, n, MSG_DONTWAIT | MSG_NOSIGNAL);
    case SINK_SHARED:
        if (poll(&pfd, 1, 0) <= 0) {
            errno = EAGAIN;
            return -1;
        }
        return write(s->fd, p, n < PIPE_BUF ? n : PIPE_BUF);
    case SINK_NONBLOCK:
    case SINK_REGULAR:
        break;
    }
    return write(s->fd, p, n);
}

/* Drops what the sink holds after a failed write, and reports it once per
 * episode (EPIPE: for good). Never retries, so a full disk cannot spin. */
static void
sink_fail(struct sv_sink *s, int errnum)
{
    s->lost += sink_pending(s);
    s->off = s->end = 0;
    sink_watch(s, false);
    if (errnum == EPIPE) {
        s->broken = true;
        mi_log(MI_LOG_WARNING, "unable to write service output to %s: %s; discarding it", s->name,
               strerror(errnum));
        return;
    }
    if (!s->failing) {
        mi_log(MI_LOG_WARNING,
               "unable to write service output to %s: %s; discarding it until a write succeeds",
               s->name, strerror(errnum));
    }
    s->failing = true;
}

static void
sink_recovered(struct sv_sink *s)
{
    mi_log(MI_LOG_INFO, "writing service output to %s again; %llu bytes were discarded", s->name,
           s->lost);
    s->failing = false;
    s->lost = 0;
}

static void file_rotate(struct sv_sink *s);

/* How much of p[0, n) goes into the current log file: whole lines up to
 * maxbytes, rotating first when the next line would not fit. A single line
 * longer than maxbytes goes whole into a fresh file. */
static size_t
file_chunk(struct sv_sink *s, const char *p, size_t n)
{
    const char *nl;
    size_t room;

    if (s->size >= s->maxbytes) {
        file_rotate(s);
    }
    room = (size_t)(s->maxbytes - s->size);
    if (n <= room) {
        return n;
    }
    nl = memrchr(p, '\n', room);
    if (nl != NULL) {
        return (size_t)(nl - p) + 1;
    }
    if (s->size > 0) {
        file_rotate(s);
        return file_chunk(s, p, n);
    }
    nl = memchr(p, '\n', n);
    return nl != NULL ? (size_t)(nl - p) + 1 : n;
}

/* Writes what the sink holds until done or EAGAIN; errors discard. */
static void
sink_write_out(struct sv_sink *s)
{
    while (s->end > s->off) {
        const char *p = s->buf + s->off;
        size_t n = s->end - s->off;
        ssize_t w;

        if (s->maxbytes > 0 && s->mode == SINK_REGULAR) {
            n = file_chunk(s, p, n);
        }
        w = sink_write1(s, p, n);
        if (w > 0) {
            s->off += (size_t)w;
            s->size += (uint64_t)w;
            continue;
        }
        if (w < 0 && errno == EINTR) {
            continue;
        }
        if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
            sink_watch(s, true);
            return;
        }
        sink_fail(s, w < 0 ? errno : EIO);
        return;
    }
    s->off = s->end = 0;
    sink_watch(s, false);
    if (s->failing) {
        sink_recovered(s);
    }
}

/* Makes room for need contiguous bytes: compacts, then tries to write. */
static bool
sink_make_room(struct sv_sink *s, size_t need)
{
    if (s->off > 0) {
        memmove(s->buf, s->buf + s->off, s->end - s->off);
        s->end -= s->off;
        s->off = 0;
    }
    if (s->cap - s->end >= need) {
        return true;
    }
    if (!ev_is_active(&s->wio)) {
        sink_write_out(s);
    }
    if (s->off > 0) {
        memmove(s->buf, s->buf + s->off, s->end - s->off);
        s->end -= s->off;
        s->off = 0;
    }
    return s->cap - s->end >= need;
}

/* Appends prefix, p[0, n) and, if nl, a newline as one contiguous record.
 * False when the sink has no room: the caller keeps the line. */
static bool
sink_put(struct sv_sink *s, const char *pfx, size_t plen, const char *p, size_t n, bool nl)
{
    size_t need = plen + n + (nl ? 1 : 0);
    char *d;

    if (s->broken) {
        s->lost += need;
        return true;
    }
    if (s->cap - s->end < need && !sink_make_room(s, need)) {
        return false;
    }
    d = s->buf + s->end;
    memcpy(d, pfx, plen);
    memcpy(d + plen, p, n);
    if (nl) {
        d[plen + n] = '\n';
    }
    s->end += need;
    return true;
}

/* ---- sinks: flow control --------------------------------------------- */

static bool
sink_any_stalled(const struct sv_sink *s)
{
    for (const struct sv_output *o = s->srcs; o != NULL; o = o->next) {
        if (o->stalled) {
            return true;
        }
    }
    return false;
}

/* Lets stalled sources emit what they hold, now that there is room. */
static void
sink_unstall(struct sv_sink *s)
{
    for (struct sv_output *o = s->srcs; o != NULL; o = o->next) {
        if (o->stalled) {
            o->stalled = !src_emit(o);
        }
    }
}

/* Re-evaluates throttling after the sink wrote or received data. */
static void
sink_throttle(struct sv_sink *s)
{
    bool was = s->throttled;

    if (s->throttled && sink_pending(s) <= s->low) {
        sink_unstall(s);
        if (!ev_is_active(&s->wio)) {
            sink_write_out(s);
        }
        s->throttled = false;
    }
    if (sink_pending(s) > s->high || sink_any_stalled(s)) {
        s->throttled = true;
    }
    if (!was && !s->throttled) {
        return;
    }
    for (struct sv_output *o = s->srcs; o != NULL; o = o->next) {
        src_arm(o);
    }
}

/* After a source added data: write it unless EV_WRITE is pending anyway. */
static void
sink_update(struct sv_sink *s)
{
    if (!ev_is_active(&s->wio)) {
        sink_write_out(s);
    }
    sink_throttle(s);
}

static void
sink_write_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct sv_sink *s = (struct sv_sink *)w;

    (void)loop;
    (void)revents;
    sink_write_out(s);
    sink_throttle(s);
}

/* ---- sinks: minit's stdout and stderr -------------------------------- */

/*
 * Same choice as init/log.c: a pipe or tty gets its own non-blocking open
 * file description from /proc/self/fd/N, so minit never sets O_NONBLOCK on
 * a description it shares with the container runtime; a regular file is
 * written through fd N (re-opening would lose O_APPEND and the offset); a
 * socket through send(MSG_DONTWAIT).
 */
static int
std_sink_open(struct sv_sink *s, int fd, struct mi_err *e)
{
    struct stat st;
    char path[32];
    int nfd;

    s->fd = fd;
    s->own_fd = false;
    s->mode = SINK_REGULAR;
    if (fstat(fd, &st) < 0) {
        return mi_err_sys(e, "unable to inspect minit's %s", s->name);
    }
    if (S_ISSOCK(st.st_mode)) {
        s->mode = SINK_SOCKET;
        return 0;
    }
    if (!S_ISFIFO(st.st_mode) && !S_ISCHR(st.st_mode)) {
        return 0;
    }
    snprintf(path, sizeof(path), "/proc/self/fd/%d", fd);
    nfd = sys_open(path, O_WRONLY | O_NONBLOCK | O_NOCTTY, 0);
    if (nfd < 0) {
        mi_log(MI_LOG_DEBUG,
               "unable to re-open %s: %s; writing service output to fd %d, "
               "at most %d bytes once poll says there is room",
               path, strerror(errno), fd, PIPE_BUF);
        s->mode = SINK_SHARED;
        return 0;
    }
    s->fd = nfd;
    s->own_fd = true;
    s->mode = SINK_NONBLOCK;
    return 0;
}

static void
std_sink_fini(struct sv_sink *s)
{
    sink_watch(s, false);
    if (s->own_fd) {
        sys_close(s->fd);
    }
    free(s->buf);
    memset(s, 0, sizeof(*s));
}

static int
std_sink_init(struct sv_sink *s, int fd, struct mi_err *e)
{
    memset(s, 0, sizeof(*s));
    s->name = stream_name(fd);
    s->cap = STD_CAP;
    s->high = STD_HIGH;
    s->low = STD_LOW;
    s->buf = malloc(s->cap);
    if (s->buf == NULL) {
        return mi_err_set(e, ENOMEM, "unable to allocate the %s buffer", s->name);
    }
    if (std_sink_open(s, fd, e) < 0) {
        std_sink_fini(s);
        return -1;
    }
    ev_io_init(&s->wio, sink_write_cb, s->fd, EV_WRITE);
    return 0;
}

static bool
same_file(int a, int b)
{
    struct stat sa;
    struct stat sb;

    return fstat(a, &sa) == 0 && fstat(b, &sb) == 0 && sa.st_dev == sb.st_dev &&
           sa.st_ino == sb.st_ino;
}

int
sv_output_init(struct ev_loop *loop, struct mi_err *e)
{
    if (out_loop != NULL) {
        /* Tests set up a fresh loop: allowed while nothing is attached. */
        if (std_store[0].srcs != NULL || std_store[1].srcs != NULL || file_sinks != NULL) {
            return mi_err_set(e, EBUSY, "unable to set up output capture again: in use");
        }
        std_sink_fini(&std_store[0]);
        std_sink_fini(&std_store[1]);
        out_loop = NULL;
    }
    if (std_sink_init(&std_store[0], STDOUT_FILENO, e) < 0) {
        return -1;
    }
    std_sinks[0] = std_sinks[1] = &std_store[0];
    if (!same_file(STDOUT_FILENO, STDERR_FILENO)) {
        if (std_sink_init(&std_store[1], STDERR_FILENO, e) < 0) {
            std_sink_fini(&std_store[0]);
            return -1;
        }
        std_sinks[1] = &std_store[1];
    }
    out_loop = loop;
    return 0;
}

/* Every sink in turn: minit's stdout, its stderr unless that is the same
 * sink, then the log files. Start with NULL. */
static struct sv_sink *
sink_next(struct sv_sink *s)
{
    if (s == NULL && std_store[0].buf != NULL) {
        return &std_store[0];
    }
    if ((s == NULL || s == &std_store[0]) && std_store[1].buf != NULL) {
        return &std_store[1];
    }
    if (s == NULL || s == &std_store[0] || s == &std_store[1]) {
        return file_sinks;
    }
    return s->next;
}

/* ---- sinks: log files ------------------------------------------------- */

/* Points the sink at a (new) fd, keeping the EV_WRITE watcher consistent. */
static void
sink_set_fd(struct sv_sink *s, int fd)
{
    bool on = ev_is_active(&s->wio);

    sink_watch(s, false);
    if (s->own_fd) {
        sys_close(s->fd);
    }
    s->fd = fd;
    s->own_fd = true;
    ev_io_set(&s->wio, fd, EV_WRITE);
    sink_watch(s, on);
}

/*
 * Opens (or re-opens) the log file for appending. O_NONBLOCK so that a FIFO
 * without a reader fails instead of blocking the loop, and a terminal or
 * FIFO is then written like minit's stdout; a regular file drops it (writes
 * to it never block) and is the only kind that is rotated.
 */
static int
file_open(struct sv_sink *s, struct mi_err *e)
{
    struct stat st;
    int fd;

    fd = sys_open(s->path, O_WRONLY | O_CREAT | O_APPEND | O_NOCTTY | O_NONBLOCK, 0644);
    if (fd < 0) {
        return mi_err_sys(e, "unable to open log file %s", s->path);
    }
    if (fstat(fd, &st) < 0) {
        mi_err_sys(e, "unable to inspect log file %s", s->path);
        sys_close(fd);
        return -1;
    }
    s->mode = SINK_NONBLOCK;
    s->size = 0;
    if (S_ISREG(st.st_mode)) {
        s->mode = SINK_REGULAR;
        s->size = (uint64_t)st.st_size;
        (void)fcntl(fd, F_SETFL, O_APPEND);
    }
    sink_set_fd(s, fd);
    return 0;
}

static void
file_rotate_failed(struct sv_sink *s, const char *what, const char *path)
{
    if (!s->rotate_failed) {
        mi_log(MI_LOG_WARNING, "unable to %s log file %s: %s", what, path, strerror(errno));
    }
    s->rotate_failed = true;
    s->rotate_errors++;
}

static void
file_rename(struct sv_sink *s, const char *from, const char *to)
{
    /* ENOENT: fewer backups than allowed exist yet. */
    if (rename(from, to) < 0 && errno != ENOENT) {
        file_rotate_failed(s, "rename", from);
    }
}

/*
 * supervisord's rotation: path.N-1 -> path.N ... path -> path.1, then a
 * fresh path; with no backups the file is truncated instead. The size is
 * reset even when this fails, so a failing rotation is retried only after
 * another maxbytes, never on every write.
 */
static void
file_rotate(struct sv_sink *s)
{
    char from[PATH_MAX + 16];
    char to[PATH_MAX + 16];
    unsigned errors = s->rotate_errors;
    struct mi_err e = {0};

    s->size = 0;
    if (s->backups == 0) {
        if (ftruncate(s->fd, 0) < 0) {
            file_rotate_failed(s, "truncate", s->path);
        }
    } else {
        for (unsigned i = s->backups - 1; i >= 1; i--) {
            snprintf(from, sizeof(from), "%s.%u", s->path, i);
            snprintf(to, sizeof(to), "%s.%u", s->path, i + 1);
            file_rename(s, from, to);
        }
        snprintf(to, sizeof(to), "%s.1", s->path);
        file_rename(s, s->path, to);
        if (file_open(s, &e) < 0) {
            file_rotate_failed(s, "re-open", s->path);
        }
        s->size = 0;
    }
    if (s->rotate_errors == errors) {
        s->rotate_failed = false;
    }
}

static struct sv_sink *
file_sink_new(const struct sv_log_conf *conf, struct mi_err *e)
{
    struct sv_sink *s = calloc(1, sizeof(*s));

    if (s == NULL) {
        mi_err_set(e, ENOMEM, "unable to allocate a log file sink");
        return NULL;
    }
    s->fd = -1;
    s->path = strdup(conf->path);
    s->buf = malloc(FILE_CAP);
    if (s->path == NULL || s->buf == NULL) {
        mi_err_set(e, ENOMEM, "unable to allocate a log file sink");
        goto fail;
    }
    s->name = s->path;
    s->cap = FILE_CAP;
    s->high = FILE_CAP / 2;
    s->low = FILE_CAP / 8;
    s->maxbytes = conf->maxbytes;
    s->backups = conf->backups;
    ev_io_init(&s->wio, sink_write_cb, -1, EV_WRITE);
    if (file_open(s, e) < 0) {
        goto fail;
    }
    s->next = file_sinks;
    file_sinks = s;
    return s;
fail:
    free(s->buf);
    free(s->path);
    free(s);
    return NULL;
}

/* Services logging to the same path share one sink (and its rotation,
 * with the maxbytes and backups of the first one). */
static struct sv_sink *
file_sink_get(const struct sv_log_conf *conf, struct mi_err *e)
{
    struct sv_sink *s;

    if (conf->path == NULL || conf->path[0] == '\0') {
        mi_err_set(e, EINVAL, "no log file path");
        return NULL;
    }
    for (s = file_sinks; s != NULL; s = s->next) {
        if (strcmp(s->path, conf->path) == 0) {
            break;
        }
    }
    if (s == NULL) {
        s = file_sink_new(conf, e);
    }
    if (s != NULL) {
        s->refs++;
    }
    return s;
}

static void
file_sink_unref(struct sv_sink *s)
{
    struct sv_sink **pp;

    if (--s->refs > 0) {
        sink_update(s);
        return;
    }
    sink_write_out(s);
    if (sink_pending(s) > 0) {
        mi_log(MI_LOG_WARNING, "%zu bytes of service output for %s lost on close", sink_pending(s),
               s->name);
    }
    for (pp = &file_sinks; *pp != s; pp = &(*pp)->next) {
    }
    *pp = s->next;
    sink_watch(s, false);
    sys_close(s->fd);
    free(s->buf);
    free(s->path);
    free(s);
}

void
sv_output_reopen(void)
{
    for (struct sv_sink *s = file_sinks; s != NULL; s = s->next) {
        struct mi_err e = {0};

        /* What is held belongs to the old file, which logrotate renamed. */
        sink_write_out(s);
        if (file_open(s, &e) < 0) {
            mi_err_log(&e);
            continue;
        }
        s->rotate_failed = false;
        sink_update(s);
    }
}

/* ---- sources ---------------------------------------------------------- */

/* The read watcher runs unless the source holds a line or the sink is
 * throttled (backpressure), or the pipe is finished. */
static void
src_arm(struct sv_output *o)
{
    bool want = !o->dead && !o->stalled && !o->sink->throttled;

    if (want == ev_is_active(&o->rio)) {
        return;
    }
    if (want) {
        ev_io_start(out_loop, &o->rio);
    } else {
        ev_io_stop(out_loop, &o->rio);
    }
}

/* Ends the partial line once the bytes present at sv_output_flush() are in. */
static bool
src_emit_eol(struct sv_output *o)
{
    if (o->end > o->start &&
        !sink_put(o->sink, o->prefix, o->plen, o->buf + o->start, o->end - o->start, true)) {
        return false;
    }
    o->start = o->end = 0;
    o->eol_pending = false;
    return true;
}

/* Copies every complete line into the sink, cutting a full buffer without
 * a newline. False when the sink had no room: the rest stays here. */
static bool
src_emit(struct sv_output *o)
{
    while (o->start < o->end) {
        char *p = o->buf + o->start;
        char *nl = memchr(p, '\n', o->end - o->start);
        size_t n;

        if (nl == NULL) {
            break;
        }
        n = (size_t)(nl - p) + 1;
        if (!sink_put(o->sink, o->prefix, o->plen, p, n, false)) {
            return false;
        }
        o->start += n;
    }
    if (o->start == 0 && o->end == SRC_BUF) {
        if (!sink_put(o->sink, o->prefix, o->plen, o->buf, SRC_BUF, true)) {
            return false;
        }
        o->end = 0;
    }
    if (o->start == o->end) {
        o->start = o->end = 0;
    }
    if (o->eol_pending && o->eol_left == 0) {
        return src_emit_eol(o);
    }
    return true;
}

static void
src_read_failed(struct sv_output *o, ssize_t n)
{
    if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
        return;
    }
    if (n < 0) {
        mi_log_svc(MI_LOG_ERROR, o->name, "unable to read the %s pipe: %s", stream_name(o->which),
                   strerror(errno));
    }
    /* EOF cannot happen while minit holds the write end; either way the
     * pipe is finished: stop watching it rather than spin. */
    o->dead = true;
    o->eol_left = 0;
    src_arm(o);
}

static void
src_emit_or_stall(struct sv_output *o)
{
    if (!src_emit(o)) {
        o->stalled = true;
        src_arm(o);
    }
}

/* One read and emit. False when there is nothing more to do right now. */
static bool
src_pull_once(struct sv_output *o)
{
    size_t want;
    ssize_t n;

    if (o->stalled) {
        return false;
    }
    if (o->eol_pending && (o->eol_left == 0 || o->dead)) {
        o->eol_left = 0;
        src_emit_or_stall(o);
        return false;
    }
    if (o->dead) {
        return false;
    }
    /* The line buffer exists only while the stream is busy: a thousand
     * quiet services must not hold 64 KiB each (and glibc touches pages
     * at both ends of every such block). */
    if (o->buf == NULL && (o->buf = malloc(SRC_BUF)) == NULL) {
        mi_log_svc(MI_LOG_ERROR, o->name, "unable to allocate the %s buffer: out of memory",
                   stream_name(o->which));
        return false;
    }
    if (o->start > 0) {
        memmove(o->buf, o->buf + o->start, o->end - o->start);
        o->end -= o->start;
        o->start = 0;
    }
    want = SRC_BUF - o->end;
    if (o->eol_pending && o->eol_left < want) {
        want = o->eol_left;
    }
    n = sys_read(o->rfd, o->buf + o->end, want);
    if (n <= 0) {
        src_read_failed(o, n);
        return false;
    }
    o->end += (size_t)n;
    if (o->eol_pending) {
        o->eol_left -= (size_t)n;
    }
    src_emit_or_stall(o);
    if (o->start == o->end && !o->stalled && !o->eol_pending && (size_t)n < SRC_BUF / 4) {
        free(o->buf); /* empty and not busy: give it back until next time */
        o->buf = NULL;
        o->start = o->end = 0;
    }
    return !o->stalled;
}

static void
src_read_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct sv_output *o = (struct sv_output *)w;

    (void)loop;
    (void)revents;
    src_pull_once(o);
    sink_update(o->sink);
}

/* Sets the mark for the partial line: what the pipe holds now belongs to
 * the run that just ended. */
static void
src_mark(struct sv_output *o)
{
    int avail = 0;

    if (o->dead || ioctl(o->rfd, FIONREAD, &avail) < 0 || avail < 0) {
        avail = 0;
    }
    o->eol_pending = true;
    o->eol_left = (size_t)avail;
}

void
sv_output_flush(struct sv_output *o)
{
    if (o == NULL || o->sink == NULL) {
        return;
    }
    src_mark(o);
    if (!o->stalled) {
        src_emit_or_stall(o);
    }
    while (o->eol_pending && src_pull_once(o)) {
    }
    src_arm(o);
    sink_update(o->sink);
}

static int
src_open_pipe(struct sv_output *o, struct mi_err *e)
{
    int fds[2];

    if (sys_pipe(fds, 0) < 0) {
        return mi_err_sys(e, "unable to create the %s pipe of service %s", stream_name(o->which),
                          o->name);
    }
    o->rfd = fds[0];
    o->wfd = fds[1];
    /* Only minit's end: the service's end stays blocking, which is the
     * backpressure. */
    if (fcntl(o->rfd, F_SETFL, O_NONBLOCK) < 0) {
        return mi_err_sys(e, "unable to make the %s pipe of service %s non-blocking",
                          stream_name(o->which), o->name);
    }
    return 0;
}

static int
src_attach(struct sv_output *o, const struct sv_log_conf *conf, struct mi_err *e)
{
    if (out_loop == NULL) {
        return mi_err_set(e, EINVAL, "output capture is not set up");
    }
    if (src_open_pipe(o, e) < 0) {
        return -1;
    }
    if (conf->kind == SV_LOG_FILE) {
        o->sink = file_sink_get(conf, e);
        if (o->sink == NULL) {
            return mi_err_wrap(e, "service %s", o->name);
        }
    } else {
        o->sink = std_sinks[o->which - 1];
        o->plen = (size_t)snprintf(o->prefix, sizeof(o->prefix), "%s | ", o->name);
    }
    ev_io_init(&o->rio, src_read_cb, o->rfd, EV_READ);
    o->next = o->sink->srcs;
    o->sink->srcs = o;
    src_arm(o);
    return 0;
}

struct sv_output *
sv_output_new(const char *name, int which, const struct sv_log_conf *conf, struct mi_err *e)
{
    struct sv_output *o;

    if ((which != 1 && which != 2) || strlen(name) > SV_NAME_MAX) {
        mi_err_set(e, EINVAL, "unable to capture output of '%s': bad stream or name", name);
        return NULL;
    }
    o = calloc(1, sizeof(*o));
    if (o == NULL) {
        mi_err_set(e, ENOMEM, "unable to allocate the output of service %s", name);
        return NULL;
    }
    o->rfd = o->wfd = -1;
    o->which = which;
    memcpy(o->name, name, strlen(name) + 1);
    if (conf->kind == SV_LOG_NONE) {
        o->wfd = sys_open("/dev/null", O_WRONLY, 0);
        if (o->wfd < 0) {
            mi_err_sys(e, "unable to open /dev/null");
            free(o);
            return NULL;
        }
        return o;
    }
    if (src_attach(o, conf, e) < 0) {
        sv_output_free(o);
        return NULL;
    }
    return o;
}

int
sv_output_child_fd(const struct sv_output *o)
{
    return o->wfd;
}

/* Flushes what fits, says what did not, and leaves the sink. */
static void
src_detach(struct sv_output *o)
{
    struct sv_sink *s = o->sink;
    struct sv_output **pp;
    int avail = 0;
    size_t lost;

    sv_output_flush(o);
    if (ioctl(o->rfd, FIONREAD, &avail) < 0 || avail < 0) {
        avail = 0;
    }
    lost = o->end - o->start + (size_t)avail;
    if (lost > 0) {
        mi_log_svc(MI_LOG_WARNING, o->name, "%zu bytes of %s output lost: %s is full", lost,
                   stream_name(o->which), s->name);
    }
    ev_io_stop(out_loop, &o->rio);
    for (pp = &s->srcs; *pp != NULL && *pp != o; pp = &(*pp)->next) {
    }
    if (*pp == o) {
        *pp = o->next;
    }
    o->sink = NULL;
    if (s->path != NULL) {
        file_sink_unref(s);
    } else {
        sink_update(s);
    }
}

void
sv_output_free(struct sv_output *o)
{
    if (o == NULL) {
        return;
    }
    if (o->sink != NULL) {
        src_detach(o);
    }
    sys_close(o->rfd);
    sys_close(o->wfd);
    free(o->buf);
    free(o);
}

/* ---- shutdown --------------------------------------------------------- */

static int64_t
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* One round for one sink: stalled sources emit, marked pipes are read up to
 * their mark, the sink writes. True while the sink still has work. */
static bool
sink_drain_step(struct sv_sink *s)
{
    bool busy = false;

    for (struct sv_output *o = s->srcs; o != NULL; o = o->next) {
        if (o->stalled) {
            o->stalled = !src_emit(o);
        }
        while (o->eol_pending && src_pull_once(o)) {
        }
        busy = busy || o->stalled;
    }
    sink_write_out(s);
    return busy || sink_pending(s) > 0;
}

static void
sink_drain_report(struct sv_sink *s)
{
    size_t held = sink_pending(s);

    for (struct sv_output *o = s->srcs; o != NULL; o = o->next) {
        held += o->end - o->start;
    }
    if (held > 0) {
        mi_log(MI_LOG_WARNING, "%zu bytes of service output for %s not written at shutdown", held,
               s->name);
    }
}

/* One round over every sink; fills pfd with those that wait for room. */
static int
drain_round(struct pollfd *pfd, bool *busy)
{
    int n = 0;

    *busy = false;
    for (struct sv_sink *s = sink_next(NULL); s != NULL; s = sink_next(s)) {
        if (!sink_drain_step(s)) {
            continue;
        }
        *busy = true;
        if (n < DRAIN_FDS && s->mode != SINK_REGULAR) {
            pfd[n++] = (struct pollfd){.fd = s->fd, .events = POLLOUT};
        }
    }
    return n;
}

void
sv_output_drain(int timeout_ms)
{
    int64_t deadline = now_ms() + (timeout_ms > 0 ? timeout_ms : 0);
    struct pollfd pfd[DRAIN_FDS];
    struct sv_sink *s;
    bool busy;

    for (s = sink_next(NULL); s != NULL; s = sink_next(s)) {
        for (struct sv_output *o = s->srcs; o != NULL; o = o->next) {
            src_mark(o);
        }
    }
    for (;;) {
        int n = drain_round(pfd, &busy);
        int64_t left = deadline - now_ms();

        /* n == 0 while busy: nothing poll(2) could wait for. */
        if (!busy || n == 0 || left <= 0) {
            break;
        }
        if (poll(pfd, (nfds_t)n, (int)left) < 0 && errno != EINTR) {
            break;
        }
    }
    for (s = sink_next(NULL); s != NULL; s = sink_next(s)) {
        sink_drain_report(s);
    }
}
