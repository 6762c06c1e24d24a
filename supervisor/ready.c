/* SPDX-License-Identifier: MIT */
/*
 * Readiness: when a starting service counts as up.
 *   none     after startsecs (at once if 0), by a timer
 *   notify   sd_notify "READY=1" on NOTIFY_SOCKET: one datagram socket for
 *            all services, in the abstract namespace (works on a read-only
 *            root); the sender is identified by SCM_CREDENTIALS and must
 *            be the service's pid or in its process group
 *   fd:N     s6's protocol: the service writes a newline to its fd N
 *   tcp:PORT a connect to 127.0.0.1:PORT succeeds (probed with backoff)
 *   exec:CMD CMD exits 0 (run again with backoff until it does)
 * ready_timeout (if set) turns a service that is not ready in time into a
 * failed start. Probes run only while a service is starting: an idle
 * minit has no timer armed.
 */
#include "supervisor/internal.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <sys/random.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/log.h"
#include "init/sys.h"
#include "supervisor/output.h"

#define PROBE_FIRST 0.01
#define PROBE_MAX   0.5

static struct {
    ev_io io;
    int fd;
    char name[108]; /* "@minit/notify/..." */
} notify = {.fd = -1};

static void
become_ready(struct sv_service *s)
{
    sv_ready_stop(s);
    sv_event(s, SV_EV_READY);
}

static struct sv_service *
service_of_pid(pid_t pid)
{
    pid_t pgid = getpgid(pid);

    for (int i = 0; i < sv_count; i++) {
        struct sv_service *s = sv_table[i];

        if (s->pid > 0 && (s->pid == pid || s->pid == pgid)) {
            return s;
        }
    }
    return NULL;
}

static bool
has_ready_line(const char *msg, size_t len)
{
    const char *p = msg;
    const char *end = msg + len;

    while (p < end) {
        const char *nl = memchr(p, '\n', (size_t)(end - p));
        size_t l = (size_t)((nl ? nl : end) - p);

        if (l == 7 && memcmp(p, "READY=1", 7) == 0) {
            return true;
        }
        p = nl ? nl + 1 : end;
    }
    return false;
}

static void
notify_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    char buf[4096];
    char cbuf[CMSG_SPACE(sizeof(struct ucred))];
    struct iovec iov = {.iov_base = buf, .iov_len = sizeof(buf) - 1};
    struct msghdr mh = {.msg_iov = &iov, .msg_iovlen = 1};
    struct cmsghdr *cm;
    ssize_t n;

    (void)loop;
    (void)w;
    (void)revents;
    for (;;) {
        struct ucred *cred = NULL;
        struct sv_service *s;

        mh.msg_control = cbuf;
        mh.msg_controllen = sizeof(cbuf);
        n = recvmsg(notify.fd, &mh, MSG_DONTWAIT | MSG_CMSG_CLOEXEC);
        if (n < 0) {
            return;
        }
        for (cm = CMSG_FIRSTHDR(&mh); cm; cm = CMSG_NXTHDR(&mh, cm)) {
            if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_CREDENTIALS) {
                cred = (struct ucred *)CMSG_DATA(cm);
            }
        }
        s = cred ? service_of_pid(cred->pid) : NULL;
        if (s == NULL) {
            mi_log(MI_LOG_DEBUG, "notify: message from unknown pid %d ignored",
                   cred ? (int)cred->pid : 0);
            continue;
        }
        if (s->conf->ready == SV_READY_NOTIFY && s->state == SV_STATE_STARTING &&
            has_ready_line(buf, (size_t)n)) {
            mi_log_svc(MI_LOG_DEBUG, s->conf->name, "READY=1 from pid %d", (int)cred->pid);
            become_ready(s);
        }
    }
}

const char *
sv_ready_notify_socket(struct mi_err *e)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    unsigned int rnd = 0;
    int one = 1;
    socklen_t len;

    if (notify.fd >= 0) {
        return notify.name;
    }
    if (getrandom(&rnd, sizeof(rnd), GRND_NONBLOCK) < 0) {
        rnd = (unsigned)getpid() ^ (unsigned)(uintptr_t)&rnd;
    }
    snprintf(notify.name, sizeof(notify.name), "@minit/notify/%d.%08x", (int)getpid(), rnd);
    notify.fd = socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (notify.fd < 0) {
        mi_err_sys(e, "unable to create the notify socket");
        return NULL;
    }
    /* Abstract address: sun_path[0] = 0, the rest is the name after '@'. */
    len = (socklen_t)strlen(notify.name);
    memcpy(sa.sun_path + 1, notify.name + 1, len - 1);
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + len);
    if (setsockopt(notify.fd, SOL_SOCKET, SO_PASSCRED, &one, sizeof(one)) < 0 ||
        bind(notify.fd, (struct sockaddr *)&sa, len) < 0) {
        mi_err_sys(e, "unable to bind the notify socket %s", notify.name);
        sys_close(notify.fd);
        notify.fd = -1;
        return NULL;
    }
    ev_io_init(&notify.io, notify_cb, notify.fd, EV_READ);
    ev_io_start(sv_loop, &notify.io);
    return notify.name;
}

static void
readyfd_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct sv_service *s =
            (struct sv_service *)((char *)w - offsetof(struct sv_service, readyfd_w));
    char buf[512];
    ssize_t n;

    (void)loop;
    (void)revents;
    n = sys_read(s->ready_rfd, buf, sizeof(buf));
    if (n > 0 && memchr(buf, '\n', (size_t)n) != NULL) {
        become_ready(s);
    } else if (n == 0) {
        /* Every writer closed it without a newline: it will never say. */
        ev_io_stop(sv_loop, &s->readyfd_w);
        sys_close(s->ready_rfd);
        s->ready_rfd = -1;
    }
}

int
sv_ready_prepare_fd(struct sv_service *s, struct mi_err *e)
{
    int p[2];

    sv_ready_stop(s);
    if (sys_pipe(p, O_NONBLOCK) < 0) {
        return mi_err_sys(e, "unable to create the readiness pipe");
    }
    s->ready_rfd = p[0];
    ev_io_init(&s->readyfd_w, readyfd_cb, p[0], EV_READ);
    return p[1];
}

/* tcp: one non-blocking connect per tick; EINPROGRESS is checked on the
 * next tick with SO_ERROR. */
static bool
tcp_probe(struct sv_service *s)
{
    struct sockaddr_in sa = {.sin_family = AF_INET,
                             .sin_port = htons((uint16_t)s->conf->ready_port)};
    int err = 0;
    socklen_t elen = sizeof(err);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (s->probe_fd >= 0) {
        if (getsockopt(s->probe_fd, SOL_SOCKET, SO_ERROR, &err, &elen) == 0 && err == 0 &&
            getpeername(s->probe_fd, (struct sockaddr *)&sa, &elen) == 0) {
            return true;
        }
        if (err == 0) {
            return false; /* still in progress */
        }
        sys_close(s->probe_fd);
        s->probe_fd = -1;
    }
    s->probe_fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
    if (s->probe_fd < 0) {
        return false;
    }
    if (connect(s->probe_fd, (struct sockaddr *)&sa, sizeof(sa)) == 0) {
        return true;
    }
    if (errno != EINPROGRESS) {
        sys_close(s->probe_fd);
        s->probe_fd = -1;
    }
    return false;
}

static void
probe_child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct sv_service *s =
            (struct sv_service *)((char *)w - offsetof(struct sv_service, probe_child_w));

    (void)revents;
    sv_last_reaped = w->rpid;
    ev_child_stop(loop, w);
    s->probe_pid = 0;
    if (WIFEXITED(w->rstatus) && WEXITSTATUS(w->rstatus) == 0 && s->state == SV_STATE_STARTING) {
        become_ready(s);
    }
}

static void
exec_probe(struct sv_service *s)
{
    struct sv_child ch = {0};
    struct mi_err e = {0};
    extern char **environ;
    pid_t pid;

    if (s->probe_pid > 0) {
        return; /* the last one is still running */
    }
    ch.argv = s->conf->ready_argv;
    ch.envp = environ;
    ch.cwd = s->conf->directory != NULL ? s->conf->directory : "/";
    if (s->out != NULL) {
        ch.fds[0].from = sv_output_child_fd(s->out);
        ch.fds[0].to = 1;
        ch.fds[1].from = s->err != NULL ? sv_output_child_fd(s->err) : ch.fds[0].from;
        ch.fds[1].to = 2;
        ch.nfds = 2;
    }
    pid = sv_spawn_child(&ch, &e);
    if (pid < 0) {
        mi_log_svc(MI_LOG_WARNING, s->conf->name, "readiness check: %s: %s", e.msg,
                   strerror(e.errnum));
        return;
    }
    s->probe_pid = pid;
    ev_child_init(&s->probe_child_w, probe_child_cb, pid, 0);
    ev_child_start(sv_loop, &s->probe_child_w);
}

static void
probe_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct sv_service *s = (struct sv_service *)((char *)w - offsetof(struct sv_service, probe_w));

    (void)revents;
    if (s->conf->ready == SV_READY_TCP && tcp_probe(s)) {
        become_ready(s);
        return;
    }
    if (s->conf->ready == SV_READY_EXEC) {
        exec_probe(s);
    }
    s->probe_delay = s->probe_delay * 2 < PROBE_MAX ? s->probe_delay * 2 : PROBE_MAX;
    ev_timer_set(w, s->probe_delay, 0.0);
    ev_timer_start(loop, w);
}

static void
ready_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct sv_service *s = (struct sv_service *)((char *)w - offsetof(struct sv_service, ready_w));

    (void)loop;
    (void)revents;
    if (s->conf->ready == SV_READY_NONE) {
        become_ready(s);
        return;
    }
    mi_log_svc(MI_LOG_WARNING, s->conf->name, "not ready after %.3f s: a failed start",
               (double)s->conf->ready_timeout_ms / 1000.0);
    sv_ready_stop(s);
    sv_event(s, SV_EV_READY_TIMEOUT);
}

void
sv_ready_start(struct sv_service *s)
{
    const struct sv_conf *c = s->conf;
    uint64_t ms = c->ready == SV_READY_NONE ? c->startsecs_ms : c->ready_timeout_ms;

    if (c->type == SV_TYPE_ONESHOT) {
        return; /* ready when it exits successfully */
    }
    if (c->ready == SV_READY_NONE && ms == 0) {
        sv_event(s, SV_EV_READY);
        return;
    }
    if (ms > 0) {
        ev_timer_init(&s->ready_w, ready_timer_cb, (double)ms / 1000.0, 0.0);
        ev_timer_start(sv_loop, &s->ready_w);
    }
    if (c->ready == SV_READY_FD && s->ready_rfd >= 0) {
        ev_io_start(sv_loop, &s->readyfd_w);
    }
    if (c->ready == SV_READY_TCP || c->ready == SV_READY_EXEC) {
        s->probe_delay = PROBE_FIRST;
        ev_timer_init(&s->probe_w, probe_cb, 0.0, 0.0);
        ev_timer_start(sv_loop, &s->probe_w);
    }
}

void
sv_ready_stop(struct sv_service *s)
{
    ev_timer_stop(sv_loop, &s->ready_w);
    ev_timer_stop(sv_loop, &s->probe_w);
    if (s->ready_rfd >= 0) {
        ev_io_stop(sv_loop, &s->readyfd_w);
        sys_close(s->ready_rfd);
        s->ready_rfd = -1;
    }
    if (s->probe_fd >= 0) {
        sys_close(s->probe_fd);
        s->probe_fd = -1;
    }
    if (s->probe_pid > 0) {
        /* Its exit is reaped by the loop; nobody waits for it any more. */
        kill(s->probe_pid, SIGKILL);
        ev_child_stop(sv_loop, &s->probe_child_w);
        s->probe_pid = 0;
    }
}

void
sv_ready_close(void)
{
    if (notify.fd >= 0) {
        ev_io_stop(sv_loop, &notify.io);
        sys_close(notify.fd);
        notify.fd = -1;
    }
}
