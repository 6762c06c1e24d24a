/* SPDX-License-Identifier: MIT */
/*
 * The process side of a service: preparing and spawning the child (argv,
 * environment, user, directory, stdio pipes, readiness fd), noticing its
 * exit through libev's reaper, and stopping it (stopsignal, then SIGKILL
 * after stopwaitsecs).
 */
#include "supervisor/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/log.h"
#include "init/sys.h"
#include "supervisor/output.h"

extern char **environ;

static int devnull_fd = -1;
static bool child_nofile_set;
static uint64_t child_nofile[2];

void
sv_set_child_nofile(uint64_t soft, uint64_t hard)
{
    child_nofile[0] = soft;
    child_nofile[1] = hard;
    child_nofile_set = true;
}

static int
status_of(int ws)
{
    if (WIFEXITED(ws)) {
        return WEXITSTATUS(ws);
    }
    return WIFSIGNALED(ws) ? 128 + WTERMSIG(ws) : 1;
}

static void
child_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    struct sv_service *s = (struct sv_service *)((char *)w - offsetof(struct sv_service, child_w));
    int ws = w->rstatus;

    (void)revents;
    sv_last_reaped = w->rpid;
    ev_child_stop(loop, w);
    ev_timer_stop(loop, &s->timer_w);
    sv_ready_stop(s);
    if (s->out != NULL) {
        sv_output_flush(s->out);
    }
    if (s->err != NULL) {
        sv_output_flush(s->err);
    }
    s->pid = 0;
    s->last_status = status_of(ws);
    s->last_oom = s->leaf != NULL && sv_cgroup_oom_kills(s) > s->oom_at_start;
    if (s->last_oom) {
        mi_log_svc(MI_LOG_WARNING, s->conf->name,
                   "the OOM killer struck in its cgroup (memory_max)");
    }
    sv_cgroup_after_exit(s);
    if (WIFSIGNALED(ws)) {
        mi_log_svc(s->state == SV_STATE_STOPPING ? MI_LOG_INFO : MI_LOG_WARNING, s->conf->name,
                   "killed by signal %d", WTERMSIG(ws));
    } else {
        mi_log_svc(MI_LOG_INFO, s->conf->name, "exited with status %d", WEXITSTATUS(ws));
    }
    /* May free s (a service a reload removed): nothing after this. */
    sv_event(s, SV_EV_EXIT);
}

static void
timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct sv_service *s = (struct sv_service *)((char *)w - offsetof(struct sv_service, timer_w));

    (void)loop;
    (void)revents;
    sv_event(s, s->state == SV_STATE_BACKOFF ? SV_EV_BACKOFF_DONE : SV_EV_STOP_TIMEOUT);
}

void
sv_run_init_watchers(struct sv_service *s)
{
    ev_init(&s->child_w, child_cb);
    ev_init(&s->timer_w, timer_cb);
}

void
sv_run_stop_watchers(struct sv_service *s)
{
    ev_child_stop(sv_loop, &s->child_w);
    ev_timer_stop(sv_loop, &s->timer_w);
    sv_ready_stop(s);
}

int
sv_run_outputs(struct sv_service *s, struct mi_err *e)
{
    if (s->out == NULL) {
        s->out = sv_output_new(s->conf->name, 1, &s->conf->out, e);
        if (s->out == NULL) {
            return -1;
        }
    }
    if (s->err == NULL && !s->conf->redirect_stderr) {
        s->err = sv_output_new(s->conf->name, 2, &s->conf->err, e);
        if (s->err == NULL) {
            return -1;
        }
    }
    return 0;
}

static bool
env_overridden(const char *entry, char *const *extra, int nextra)
{
    size_t klen = strcspn(entry, "=");

    for (int i = 0; i < nextra; i++) {
        if (strncmp(extra[i], entry, klen) == 0 && extra[i][klen] == '=') {
            return true;
        }
    }
    return false;
}

/* minit's environment, then HOME/USER/LOGNAME for `user`, NOTIFY_SOCKET,
 * then the service's own `environment` (which wins). */
static char **
build_env(const struct sv_service *s, char *fixed[4], struct mi_err *e)
{
    const struct sv_conf *c = s->conf;
    char *extra[4 + 256];
    int nextra = 0;
    int n = 0;
    size_t total = 0;
    char **envp;

    for (int i = 0; i < 4 && fixed[i] != NULL; i++) {
        extra[nextra++] = fixed[i];
    }
    for (char **v = c->env; v && *v && nextra < (int)(sizeof(extra) / sizeof(extra[0])); v++) {
        extra[nextra++] = *v;
    }
    for (char **v = environ; *v; v++) {
        total++;
    }
    envp = calloc(total + (size_t)nextra + 1, sizeof(*envp));
    if (envp == NULL) {
        mi_err_set(e, ENOMEM, "unable to build the environment");
        return NULL;
    }
    for (char **v = environ; *v; v++) {
        if (!env_overridden(*v, extra, nextra)) {
            envp[n++] = *v;
        }
    }
    for (int i = 0; i < nextra; i++) {
        if (!env_overridden(extra[i], extra + i + 1, nextra - i - 1)) {
            envp[n++] = extra[i];
        }
    }
    return envp;
}

static int
prepare_fixed_env(const struct sv_service *s, char buf[4][512], char *fixed[4], struct mi_err *e)
{
    const struct sv_conf *c = s->conf;
    int n = 0;

    memset(fixed, 0, 4 * sizeof(char *));
    if (c->user != NULL) {
        snprintf(buf[0], 512, "HOME=%s", c->home ? c->home : "/");
        snprintf(buf[1], 512, "USER=%s", c->user);
        snprintf(buf[2], 512, "LOGNAME=%s", c->user);
        fixed[n++] = buf[0];
        fixed[n++] = buf[1];
        fixed[n++] = buf[2];
    }
    if (c->ready == SV_READY_NOTIFY) {
        const char *ns = sv_ready_notify_socket(e);

        if (ns == NULL) {
            return -1;
        }
        snprintf(buf[3], 512, "NOTIFY_SOCKET=%s", ns);
        fixed[n++] = buf[3];
    }
    return 0;
}

void
sv_run_privs_free(struct sv_service *s)
{
    if (s->privs != NULL && s->privs_own_filter) {
        ns_filter_free(&s->privs->filter);
    }
    free(s->privs);
    s->privs = NULL;
    s->privs_conf = NULL;
    s->privs_own_filter = false;
}

/* The service's `capabilities`, `no_new_privs` and `seccomp` over what a
 * container gives every payload (or, outside one, over nothing: a
 * `capabilities` list then starts from every capability). A filter needs
 * no_new_privs unless minit keeps CAP_SYS_ADMIN, so seccomp implies it
 * when the service does not say. Built once per config of the service. */
static int
run_privs(struct sv_service *s, const struct ns_privs **out, struct mi_err *e)
{
    const struct sv_conf *c = s->conf;
    const struct sv_payload *pl = sv_payload();
    struct ns_privs *p;

    if (c->capabilities == NULL && c->no_new_privs < 0 && c->seccomp == NULL) {
        *out = pl != NULL ? &pl->privs : NULL;
        return 0;
    }
    if (s->privs != NULL && s->privs_conf == c) {
        *out = s->privs;
        return 0;
    }
    sv_run_privs_free(s);
    if ((p = calloc(1, sizeof(*p))) == NULL) {
        return mi_err_set(e, ENOMEM, "unable to set up privileges");
    }
    if (pl != NULL) {
        *p = pl->privs; /* the filter stays the container's */
    }
    if (c->capabilities != NULL) {
        if (ns_caps_parse_list(c->capabilities, pl != NULL ? pl->privs.caps : ns_caps_all(),
                               &p->caps, e) < 0) {
            free(p);
            return mi_err_wrap(e, "capabilities");
        }
        p->set_caps = true;
    }
    if (c->seccomp != NULL) {
        if (ns_seccomp_build(c->seccomp, &p->filter, e) < 0) {
            free(p);
            return mi_err_wrap(e, "seccomp");
        }
        s->privs_own_filter = true;
        p->no_new_privs = p->filter.insns != NULL || p->no_new_privs;
    }
    if (c->no_new_privs >= 0) {
        p->no_new_privs = c->no_new_privs == 1;
    }
    s->privs = p;
    s->privs_conf = c;
    *out = p;
    return 0;
}

static void
prepare_child(const struct sv_service *s, struct sv_child *ch, int ready_wfd)
{
    const struct sv_conf *c = s->conf;
    int outfd = sv_output_child_fd(s->out);

    ch->argv = c->argv;
    ch->own_pgroup = true;
    ch->set_nofile = child_nofile_set;
    ch->nofile[0] = child_nofile[0];
    ch->nofile[1] = child_nofile[1];
    ch->cwd = c->directory;
    if (ch->cwd == NULL) {
        ch->cwd = sv_payload() != NULL && sv_payload()->cwd != NULL ? sv_payload()->cwd : "/";
    }
    ch->set_umask = c->has_umask;
    ch->umask = c->umask;
    if (c->user != NULL || c->group != NULL) {
        ch->set_ids = true;
        ch->uid = c->user != NULL ? c->uid : getuid();
        ch->gid = c->gid;
        ch->groups = c->groups;
        ch->ngroups = c->user != NULL ? c->ngroups : 0;
    }
    ch->fds[ch->nfds].from = devnull_fd;
    ch->fds[ch->nfds++].to = 0;
    ch->fds[ch->nfds].from = outfd;
    ch->fds[ch->nfds++].to = 1;
    ch->fds[ch->nfds].from = s->err != NULL ? sv_output_child_fd(s->err) : outfd;
    ch->fds[ch->nfds++].to = 2;
    if (ready_wfd >= 0) {
        ch->fds[ch->nfds].from = ready_wfd;
        ch->fds[ch->nfds++].to = c->ready_fd;
    }
}

int
sv_run_spawn(struct sv_service *s, struct mi_err *e)
{
    struct sv_child ch = {0};
    char fixbuf[4][512];
    char *fixed[4];
    char **envp;
    int ready_wfd = -1;
    pid_t pid;

    if (devnull_fd < 0 && (devnull_fd = sys_open("/dev/null", O_RDWR, 0)) < 0) {
        return mi_err_sys(e, "unable to open /dev/null");
    }
    if (sv_run_outputs(s, e) < 0 || prepare_fixed_env(s, fixbuf, fixed, e) < 0 ||
        run_privs(s, &ch.privs, e) < 0) {
        return -1;
    }
    if (s->conf->ready == SV_READY_FD && (ready_wfd = sv_ready_prepare_fd(s, e)) < 0) {
        return -1;
    }
    envp = build_env(s, fixed, e);
    if (envp == NULL) {
        sys_close(ready_wfd);
        return -1;
    }
    ch.envp = envp;
    prepare_child(s, &ch, ready_wfd);
    sv_cgroup_prepare(s);
    ch.leaf = s->leaf;
    s->oom_at_start = sv_cgroup_oom_kills(s);
    pid = sv_spawn_child(&ch, e);
    free(envp);
    sys_close(ready_wfd);
    if (pid < 0) {
        return -1;
    }
    s->pid = pid;
    s->started_at = ev_now(sv_loop);
    if (s->last_status >= 0 || s->restarts > 0) {
        s->restarts++;
    }
    ev_child_set(&s->child_w, pid, 0);
    ev_child_start(sv_loop, &s->child_w);
    mi_log_svc(MI_LOG_INFO, s->conf->name, "started (pid %d)", (int)pid);
    return 0;
}

static void
send_signal(struct sv_service *s, int sig, bool group)
{
    if (s->pid <= 0) {
        return;
    }
    /* The service leads its own process group (setpgid in the child). */
    if (kill(group ? -s->pid : s->pid, sig) < 0 && errno != ESRCH) {
        mi_log_svc(MI_LOG_WARNING, s->conf->name, "unable to send signal %d: %m", sig);
    }
}

void
sv_run_stop(struct sv_service *s)
{
    struct mi_err e = {0};

    /* A frozen service cannot act on its stop signal: thaw it first. */
    if ((s->paused || s->freeze_pending) && sv_cgroup_freeze(s, false, &e) < 0) {
        mi_err_log(&e);
    }
    s->paused = false;
    send_signal(s, s->conf->stopsignal, s->conf->stopasgroup);
    if (s->conf->stopasgroup) {
        send_signal(s, SIGCONT, true);
    }
    ev_timer_stop(sv_loop, &s->timer_w);
    ev_timer_set(&s->timer_w, (double)s->conf->stopwait_ms / 1000.0, 0.0);
    ev_timer_start(sv_loop, &s->timer_w);
}

void
sv_run_kill(struct sv_service *s)
{
    mi_log_svc(MI_LOG_WARNING, s->conf->name, "did not stop in time: sending SIGKILL");
    send_signal(s, SIGKILL, s->conf->killasgroup || s->conf->stopasgroup);
    /* Everything in its cgroup, double-forked daemons included. */
    sv_cgroup_kill(s);
}
