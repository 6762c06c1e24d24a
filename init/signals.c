/* SPDX-License-Identifier: MIT */
/*
 * The only code that touches signals. One table says what minit does with
 * each signal; every handled signal is blocked from the start and read from
 * a signalfd, so nothing runs in signal context and nothing is lost between
 * setup and the first loop iteration.
 *
 * Why one signalfd of our own rather than an ev_signal per signal: libev's
 * ev_signal_start() in signalfd mode costs two syscalls per signal (mask and
 * signalfd update), about 120 at start for the ~60 signals job 1 forwards,
 * and its callback does not see the sender, which minit needs to drop the
 * signals it raised itself (dumb-init's SIGPIPE livelock). SIGCHLD stays
 * libev's (its reaper runs the ev_child watchers).
 */
#include "init/init.h"

#include <errno.h>
#include <sys/signalfd.h>
#include <unistd.h>

#include "init/log.h"
#include "init/sys.h"

struct init_signals {
    ev_io io; /* first member: the watcher */
    int fd;
    init_signal_fn *fn;
    void *data;
    pid_t self;
};

pid_t init_self;

static struct init_signals sigs = {.fd = -1};

enum init_sig_action
init_signal_action(int sig)
{
    switch (sig) {
    case SIGKILL:
    case SIGSTOP:
        return INIT_SIG_NONE;
    case SIGCHLD:
        return INIT_SIG_REAP;
    case SIGTSTP:
    case SIGTTIN:
    case SIGTTOU:
        return INIT_SIG_FORWARD_STOP;
    default:
        break;
    }
    /* glibc reserves the kernel's signals 32 and 33 for its threads and
     * refuses to put them in a sigset. */
    if (sig < 1 || sig >= INIT_NSIG || (sig >= 32 && sig < SIGRTMIN)) {
        return INIT_SIG_NONE;
    }
    return INIT_SIG_FORWARD;
}

enum init_sig_action
init_signal_action_services(int sig)
{
    enum init_sig_action a = init_signal_action(sig);

    if (a == INIT_SIG_NONE || a == INIT_SIG_REAP) {
        return a;
    }
    switch (sig) {
    case SIGTERM:
    case SIGINT:
    case SIGPWR:
        return INIT_SIG_SHUTDOWN;
    case SIGHUP:
        return INIT_SIG_RELOAD;
    case SIGUSR1:
        return INIT_SIG_REOPEN;
    default:
        /* Job control and the rest: minit has no terminal job to stop. */
        return INIT_SIG_IGNORE;
    }
}

/* Every handled signal: all of them (glibc's sigfillset leaves out its
 * own 32 and 33, and the kernel drops KILL and STOP from masks), which is
 * what the table says; SIGCHLD is left to libev's signalfd when asked. */
static void
handled_set(sigset_t *set, bool with_chld)
{
    sigfillset(set);
    if (!with_chld) {
        sigdelset(set, SIGCHLD);
    }
}

void
init_signals_block(void)
{
    sigset_t set;

    handled_set(&set, true);
    sigprocmask(SIG_BLOCK, &set, NULL);
}

static void
signals_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    struct init_signals *s = (struct init_signals *)w;
    struct signalfd_siginfo si[16];
    ssize_t n;

    (void)loop;
    (void)revents;
    for (;;) {
        n = sys_read(s->fd, si, sizeof(si));
        if (n <= 0) {
            if (n < 0 && errno != EAGAIN) {
                mi_log(MI_LOG_ERROR, "unable to read signalfd: %m");
            }
            return;
        }
        for (size_t i = 0; i < (size_t)n / sizeof(si[0]); i++) {
            /* A signal minit raised itself (SIGPIPE from writing to a
             * closed pipe) is not the program's business. */
            if ((pid_t)si[i].ssi_pid == s->self && si[i].ssi_code == SI_USER) {
                continue;
            }
            s->fn(s->data, (int)si[i].ssi_signo, (pid_t)si[i].ssi_pid);
        }
    }
}

int
init_signals_start(struct ev_loop *loop, init_signal_fn *fn, void *data, struct mi_err *e)
{
    sigset_t set;

    handled_set(&set, false);
    sigs.fd = signalfd(-1, &set, SFD_NONBLOCK | SFD_CLOEXEC);
    if (sigs.fd < 0) {
        return mi_err_sys(e, "unable to create signalfd");
    }
    sigs.fn = fn;
    sigs.data = data;
    sigs.self = init_self;
    ev_io_init(&sigs.io, signals_cb, sigs.fd, EV_READ);
    ev_set_priority(&sigs.io, EV_MAXPRI);
    ev_io_start(loop, &sigs.io);
    return 0;
}
