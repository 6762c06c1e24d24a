/* SPDX-License-Identifier: MIT */
/*
 * Job 1: one program. Forward every signal, reap every child, and exit with
 * the program's status once it has exited. With --grace, whatever is left
 * then gets SIGTERM, and SIGKILL when the grace period ends, and all of it
 * is reaped before minit exits.
 *
 * Phases: RUN (program alive) -> TERM (program gone, grace running) -> KILL
 * (grace over) -> loop broken. Without --grace, RUN -> loop broken at once,
 * as tini does; as PID 1 the kernel then kills what is left.
 */
#include "init/init.h"

#include <errno.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/log.h"
#include "init/parse.h"
#include "init/sys.h"

enum pid1_phase {
    PID1_RUN = 0,
    PID1_TERM,
    PID1_KILL,
    PID1_DONE,
};

struct pid1 {
    ev_child main_w; /* the program */
    ev_child any_w;  /* every child libev reaps (orphans) */
    ev_timer grace_w;
    struct ev_loop *loop;
    const struct init_opts *o;
    pid_t pid;
    pid_t self;
    int status; /* exit status minit will return */
    enum pid1_phase phase;
};

int
init_exit_status(const struct init_opts *o, int wstatus)
{
    int code;

    if (WIFEXITED(wstatus)) {
        code = WEXITSTATUS(wstatus);
    } else if (WIFSIGNALED(wstatus)) {
        code = 128 + WTERMSIG(wstatus);
    } else {
        code = 1;
    }
    code &= 0xff;
    if (o->remap[code / 8] & (1u << (code % 8))) {
        code = 0;
    }
    return code;
}

/*
 * Signals everything left: as PID 1, every process in the namespace
 * (kill(-1) spares the caller); otherwise the program's process group and
 * each child of minit, since kill(-1) would reach the host's processes.
 */
static void
signal_rest(struct pid1 *p, int sig)
{
    pid_t kids[1024];
    int n;

    if (p->self == 1) {
        kill(-1, sig);
        return;
    }
    kill(-p->pid, sig);
    n = sys_list_children(kids, (int)(sizeof(kids) / sizeof(kids[0])));
    for (int i = 0; i < n; i++) {
        kill(kids[i], sig);
    }
}

static void
pid1_finish_if_empty(struct pid1 *p)
{
    if (p->phase == PID1_DONE || sys_have_children()) {
        return;
    }
    p->phase = PID1_DONE;
    ev_timer_stop(p->loop, &p->grace_w);
    ev_break(p->loop, EVBREAK_ALL);
}

static void
grace_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct pid1 *p = (struct pid1 *)((char *)w - offsetof(struct pid1, grace_w));

    (void)loop;
    (void)revents;
    mi_log(MI_LOG_INFO, "grace period over: sending SIGKILL to what is left");
    p->phase = PID1_KILL;
    signal_rest(p, SIGKILL);
    pid1_finish_if_empty(p);
}

static void
main_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct pid1 *p = (struct pid1 *)w;

    (void)revents;
    ev_child_stop(loop, w);
    p->status = init_exit_status(p->o, w->rstatus);
    mi_log(MI_LOG_DEBUG, "program (pid %d) ended: wait status 0x%x, exit status %d", (int)w->rpid,
           w->rstatus, p->status);
    if (p->o->grace_ms < 0) {
        p->phase = PID1_DONE;
        ev_break(loop, EVBREAK_ALL);
        return;
    }
    p->phase = PID1_TERM;
    if (!sys_have_children()) {
        pid1_finish_if_empty(p);
        return;
    }
    mi_log(MI_LOG_INFO, "program ended: sending SIGTERM to what is left, grace %lld ms",
           (long long)p->o->grace_ms);
    signal_rest(p, SIGTERM);
    signal_rest(p, SIGCONT); /* a stopped process must be able to die */
    ev_timer_set(&p->grace_w, (double)p->o->grace_ms / 1000.0, 0.0);
    ev_timer_start(loop, &p->grace_w);
}

static void
any_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct pid1 *p = (struct pid1 *)((char *)w - offsetof(struct pid1, any_w));

    (void)loop;
    (void)revents;
    if (w->rpid != p->pid) {
        if (p->o->warn_reap) {
            mi_log(MI_LOG_WARNING, "reaped zombie process with pid=%d (wait status 0x%x)",
                   (int)w->rpid, w->rstatus);
        } else {
            mi_log(MI_LOG_DEBUG, "reaped orphan pid %d (wait status 0x%x)", (int)w->rpid,
                   w->rstatus);
        }
    }
    if (p->phase == PID1_KILL && p->self != 1) {
        /* Grandchildren re-parented to minit after their parent died. */
        signal_rest(p, SIGKILL);
    }
    if (p->phase == PID1_TERM || p->phase == PID1_KILL) {
        pid1_finish_if_empty(p);
    }
}

static void
forward_cb(void *data, int sig, pid_t sender)
{
    struct pid1 *p = data;
    enum init_sig_action a = init_signal_action(sig);
    int to = p->o->rewrite[sig];
    char b1[16];
    char b2[16];

    if (p->phase != PID1_RUN) {
        /* The program is gone; a second TERM or INT cuts the grace short. */
        if (p->phase == PID1_TERM && (sig == SIGTERM || sig == SIGINT)) {
            ev_feed_event(p->loop, &p->grace_w, EV_TIMER);
        }
        return;
    }
    if (to == 0) {
        mi_log(MI_LOG_DEBUG, "dropped SIG%s from pid %d", mi_signal_name(sig, b1, sizeof(b1)),
               (int)sender);
        return;
    }
    mi_log(MI_LOG_DEBUG, "forwarding SIG%s (from pid %d) as SIG%s to %s %d",
           mi_signal_name(sig, b1, sizeof(b1)), (int)sender, mi_signal_name(to, b2, sizeof(b2)),
           p->o->pgroup ? "group" : "pid", (int)p->pid);
    if (kill(p->o->pgroup ? -p->pid : p->pid, to) < 0 && errno != ESRCH) {
        mi_log(MI_LOG_WARNING, "unable to forward SIG%s to %d: %m",
               mi_signal_name(to, b2, sizeof(b2)), (int)p->pid);
    }
    /* Job control: like dumb-init, stop minit too so a shell's fg/bg works
     * on the pair. As PID 1 of a namespace the kernel ignores this. */
    if (a == INIT_SIG_FORWARD_STOP && p->self != 1) {
        kill(p->self, SIGSTOP);
    }
}

int
init_pid1_run(struct ev_loop *loop, const struct init_opts *o, pid_t pid, int pending_sig)
{
    static struct pid1 p;
    struct mi_err e = {0};

    p.loop = loop;
    p.o = o;
    p.pid = pid;
    p.self = init_self;
    p.phase = PID1_RUN;
    ev_child_init(&p.main_w, main_cb, pid, 0);
    ev_child_start(loop, &p.main_w);
    ev_child_init(&p.any_w, any_cb, 0, 0);
    ev_child_start(loop, &p.any_w);
    ev_init(&p.grace_w, grace_cb);
    if (init_signals_start(loop, forward_cb, &p, &e) < 0) {
        /* Without the signalfd minit could still reap; but forwarding is
         * its job, so say it loudly and go on reaping. */
        mi_err_log(&e);
    }
    if (pending_sig != 0) {
        forward_cb(&p, pending_sig, 0);
    }
    ev_run(loop, 0);
    return p.status;
}
