/* SPDX-License-Identifier: MIT */
/*
 * Job 2: supervise the services of a config file, as PID 1 or not. Owns
 * what only init may do: the config (load, reload on SIGHUP or `minit ctl
 * reload`), the signals (TERM/INT/PWR shut down, HUP reloads, USR1 re-opens
 * logs), the control socket's life, and the exit status (0, or the status
 * of the critical service that ended).
 */
#include "init/init.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <unistd.h>

#include "init/log.h"
#include "init/parse.h"
#include "init/sys.h"
#include "supervisor/control.h"
#include "supervisor/supervisor.h"

#define DEFAULT_SOCKET "/run/minit.sock"

static struct {
    struct ev_loop *loop;
    const struct init_opts *o;
    ev_child orphans_w;
    int status;
    bool control_open;
} job;

static void
all_stopped_cb(void *data)
{
    (void)data;
    mi_log(MI_LOG_INFO, "every service is down: exiting with status %d", job.status);
    ev_break(job.loop, EVBREAK_ALL);
}

static void
critical_ended_cb(void *data, const char *name, int status)
{
    (void)data;
    (void)name;
    job.status = status;
    sv_shutdown();
}

static void
state_changed_cb(void *data, const char *name)
{
    (void)data;
    if (job.control_open) {
        sv_control_state_changed(name);
    }
}

static int
reload_cb(void *data, struct mi_err *e)
{
    struct sv_config *cfg;

    (void)data;
    cfg = init_config_load(job.o->config, e);
    if (cfg == NULL) {
        return mi_err_wrap(e, "reload failed, the running services are left as they are");
    }
    mi_log(MI_LOG_INFO, "reloading %s", job.o->config);
    return sv_apply(cfg, e);
}

static void
shutdown_cb(void *data)
{
    (void)data;
    mi_log(MI_LOG_INFO, "shutting down");
    sv_shutdown();
}

static void
signal_cb(void *data, int sig, pid_t sender)
{
    struct mi_err e = {0};
    char b[16];

    (void)data;
    switch (init_signal_action_services(sig)) {
    case INIT_SIG_SHUTDOWN:
        mi_log(MI_LOG_INFO, "SIG%s from pid %d", mi_signal_name(sig, b, sizeof(b)), (int)sender);
        shutdown_cb(NULL);
        break;
    case INIT_SIG_RELOAD:
        if (reload_cb(NULL, &e) < 0) {
            mi_err_log(&e);
        }
        break;
    case INIT_SIG_REOPEN:
        sv_reopen_logs();
        break;
    case INIT_SIG_NONE:
    case INIT_SIG_REAP:
    case INIT_SIG_FORWARD:
    case INIT_SIG_FORWARD_STOP:
    case INIT_SIG_IGNORE:
        mi_log(MI_LOG_DEBUG, "SIG%s from pid %d ignored", mi_signal_name(sig, b, sizeof(b)),
               (int)sender);
        break;
    }
}

static void
orphan_cb(struct ev_loop *loop, ev_child *w, int revents)
{
    (void)loop;
    (void)revents;
    if (sv_owns_pid(w->rpid)) {
        return;
    }
    mi_log(job.o->warn_reap ? MI_LOG_WARNING : MI_LOG_DEBUG,
           "reaped zombie process with pid=%d (wait status 0x%x)", (int)w->rpid, w->rstatus);
}

/* The cgroup layout: [minit] cgroup = PATH|auto|none; by default "auto"
 * as PID 1 (a container's own cgroup) and none otherwise (minit does not
 * reorganise a host's cgroups uninvited). Without a usable hierarchy the
 * services run as before; the reason is said once. */
static void
setup_cgroups(const struct sv_config *cfg)
{
    const char *base = job.o->cgroup    ? job.o->cgroup
                       : cfg->cgroup    ? cfg->cgroup
                       : init_self == 1 ? "auto"
                                        : NULL;
    struct mi_err e = {0};

    if (base != NULL && strcmp(base, "none") != 0 && sv_cgroups(base, &e) == 0) {
        return;
    }
    if (base != NULL && strcmp(base, "none") != 0) {
        mi_log(cfg->cgroup ? MI_LOG_WARNING : MI_LOG_INFO,
               "cgroup features (pause, limits, per-service kill) unavailable: %s%s%s", e.msg,
               e.errnum ? ": " : "", e.errnum ? strerror(e.errnum) : "");
    }
    for (int i = 0; i < cfg->nservices; i++) {
        const struct sv_conf *c = &cfg->services[i];

        if (c->memory_max || c->pids_max || c->cpu_max) {
            mi_log_svc(MI_LOG_WARNING, c->name,
                       "memory_max, pids_max and cpu_max are not applied: no cgroups in use (set "
                       "[minit] cgroup = PATH)");
        }
    }
}

static void
open_control(const struct sv_config *cfg)
{
    static const struct sv_control_hooks ch = {.reload = reload_cb, .shutdown = shutdown_cb};
    const char *path = job.o->socket ? job.o->socket : cfg->socket ? cfg->socket : DEFAULT_SOCKET;
    struct mi_err e = {0};

    if (strcmp(path, "none") == 0) {
        return;
    }
    if (sv_control_open(job.loop, path, &ch, &e) < 0) {
        /* A read-only root must not stop the services: say it, go on. */
        mi_log(MI_LOG_WARNING, "no control socket: %s%s%s", e.msg, e.errnum ? ": " : "",
               e.errnum ? strerror(e.errnum) : "");
        return;
    }
    job.control_open = true;
}

void
init_services_check_done(const struct init_opts *o, struct sv_config *cfg)
{
    char buf[256];
    int n = cfg != NULL
                    ? snprintf(buf, sizeof(buf), "%s: ok, %d services\n", o->config, cfg->nservices)
                    : snprintf(buf, sizeof(buf), "ok\n");

    sys_write_all(STDOUT_FILENO, buf, (size_t)n);
    sv_config_free(cfg);
    exit(0);
}

struct sv_config *
init_services_load(const struct init_opts *o)
{
    struct mi_err e = {0};
    struct sv_config *cfg = init_config_load(o->config, &e);

    if (cfg == NULL) {
        mi_die(2, "%s", e.msg);
    }
    if (o->check && o->ct.rootfs == NULL) {
        init_services_check_done(o, cfg);
    }
    if (cfg->log_level >= 0 && getenv("MINIT_LOG_LEVEL") == NULL &&
        getenv("TINI_VERBOSITY") == NULL) {
        mi_log_level = cfg->log_level + o->verbose;
    }
    return cfg;
}

/* Each service holds a few pipe ends in minit: with the usual soft limit
 * of 1024 fds, a thousand services would not fit. The soft limit goes up
 * to the hard one for minit; services get back the soft limit minit was
 * given (programs using select(2) break above 1024), see sv_set_nofile. */
static void
raise_nofile(void)
{
    struct rlimit rl;

    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur >= rl.rlim_max) {
        return;
    }
    sv_set_child_nofile((uint64_t)rl.rlim_cur, (uint64_t)rl.rlim_max);
    rl.rlim_cur = rl.rlim_max;
    if (setrlimit(RLIMIT_NOFILE, &rl) < 0) {
        mi_log(MI_LOG_DEBUG, "unable to raise the open-files limit: %m");
    }
}

int
init_services_run(const struct init_opts *o, struct sv_config *cfg)
{
    static const struct sv_hooks hooks = {.all_stopped = all_stopped_cb,
                                          .critical_ended = critical_ended_cb,
                                          .state_changed = state_changed_cb};
    struct mi_err e = {0};

    if (cfg == NULL) {
        cfg = init_services_load(o);
    }
    job.o = o;
    raise_nofile();
    /* The orphans of services are minit's to reap, PID 1 or not. */
    if (init_self != 1 && prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
        mi_log(MI_LOG_WARNING, "unable to become a child subreaper: %m");
    }
    if (chdir("/") < 0) {
        mi_log(MI_LOG_DEBUG, "unable to chdir to /: %m");
    }
    mi_log_reset();
    init_close_fds(o);
    job.loop = init_loop();
    if (job.loop == NULL) {
        mi_die(125, "unable to create the event loop");
    }
    if (init_signals_start(job.loop, signal_cb, NULL, &e) < 0 ||
        sv_init(job.loop, &hooks, &e) < 0) {
        mi_die(125, "%s: %s", e.msg, strerror(e.errnum));
    }
    ev_child_init(&job.orphans_w, orphan_cb, 0, 0);
    ev_child_start(job.loop, &job.orphans_w);
    setup_cgroups(cfg);
    open_control(cfg);
    if (sv_apply(cfg, &e) < 0) {
        mi_err_log(&e);
        sv_shutdown();
    }
    ev_run(job.loop, 0);
    if (job.control_open) {
        sv_control_close();
    }
    sv_cgroup_exit();
    return job.status;
}
