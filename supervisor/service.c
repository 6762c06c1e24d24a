/* SPDX-License-Identifier: MIT */
/*
 * The service table: applying a config (first load and reload), feeding
 * events through the state machine and performing its actions, dependency
 * gating, ordered shutdown, and the control requests. Runs on init's loop;
 * never blocks. The process side (spawn, exit, stop) is in run.c, readiness
 * in ready.c.
 */
#include "supervisor/internal.h"

#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "init/log.h"
#include "supervisor/output.h"

struct ev_loop *sv_loop;
struct sv_service **sv_table;
int sv_count;
bool sv_shutting_down;
pid_t sv_last_reaped;

/* The shortest run after which a crash restarts at once. */
#define SV_STABLE_MIN 1.0

static struct sv_hooks hooks;
static struct sv_cfgref *current;
static ev_timer shutdown_w;
static bool shutdown_forced; /* the deadline passed: stop waiting for leaves */

struct sv_service *
sv_find(const char *name)
{
    for (int i = 0; i < sv_count; i++) {
        if (strcmp(sv_table[i]->conf->name, name) == 0) {
            return sv_table[i];
        }
    }
    return NULL;
}

bool
sv_service_ready(const struct sv_service *s)
{
    if (s->conf->type == SV_TYPE_ONESHOT) {
        return s->state == SV_STATE_EXITED;
    }
    return s->state == SV_STATE_RUNNING || s->state == SV_STATE_PAUSED;
}

bool
sv_deps_ready(const struct sv_service *s)
{
    for (int i = 0; i < s->ndeps; i++) {
        if (!sv_service_ready(s->deps[i])) {
            return false;
        }
    }
    return true;
}

static bool
is_idle(enum sv_state st)
{
    return st == SV_STATE_STOPPED || st == SV_STATE_EXITED || st == SV_STATE_FAILED;
}

static void
cfgref_put(struct sv_cfgref *r)
{
    if (r != NULL && --r->refs <= 0 && !r->current) {
        sv_config_free(r->cfg);
        free(r);
    }
}

static void
service_free(struct sv_service *s)
{
    sv_cgroup_release(s);
    sv_run_stop_watchers(s);
    sv_output_free(s->out);
    sv_output_free(s->err);
    sv_run_privs_free(s);
    cfgref_put(s->ref);
    free(s->deps);
    free(s);
}

/* Restart policy for an exit with wait status ws. */
static void
exit_inputs(struct sv_service *s, int ws, struct sv_fsm_in *in)
{
    const struct sv_conf *c = s->conf;
    bool exited = WIFEXITED(ws);
    int code = exited ? WEXITSTATUS(ws) : -1;

    in->success = exited && (c->exitcodes[code / 8] & (1u << (code % 8)));
    in->restart = c->autorestart == SV_RESTART_TRUE ||
                  (c->autorestart == SV_RESTART_UNEXPECTED && !in->success);
    if (c->type == SV_TYPE_ONESHOT && c->autorestart == SV_RESTART_UNEXPECTED) {
        in->restart = !in->success;
    }
    /* Stable: up for startsecs and for at least SV_STABLE_MIN, so that a
     * service with startsecs = 0 that dies at once backs off instead of
     * spinning (runit's one-second floor). */
    in->stable = ev_now(sv_loop) - s->started_at >= (double)c->startsecs_ms / 1000.0 &&
                 ev_now(sv_loop) - s->started_at >= SV_STABLE_MIN;
    in->retries_left = s->fails < c->startretries;
}

static void
apply_actions(struct sv_service *s, unsigned act, bool quick_failure)
{
    struct mi_err e = {0};

    if (act & SV_ACT_BACKOFF) {
        double d = (double)sv_backoff_ms(s->conf->restart_delay_ms, s->conf->restart_delay_max_ms,
                                         s->fails) /
                   1000.0;

        mi_log_svc(MI_LOG_INFO, s->conf->name, "restarting in %.3f s (failure %u of %u)", d,
                   s->fails, s->conf->startretries);
        ev_timer_stop(sv_loop, &s->timer_w);
        ev_timer_set(&s->timer_w, d, 0.0);
        ev_timer_start(sv_loop, &s->timer_w);
    }
    (void)quick_failure;
    if (act & SV_ACT_STOP) {
        sv_run_stop(s);
    }
    if (act & SV_ACT_KILL) {
        sv_run_kill(s);
    }
    if (act & SV_ACT_READINESS) {
        sv_ready_start(s);
    }
    if (act & SV_ACT_SPAWN) {
        if (sv_run_spawn(s, &e) < 0) {
            mi_log_svc(MI_LOG_ERROR, s->conf->name, "%s%s%s", e.msg, e.errnum ? ": " : "",
                       e.errnum ? strerror(e.errnum) : "");
            mi_err_clear(&e);
            sv_event(s, SV_EV_SPAWN_FAIL);
            return;
        }
        sv_event(s, SV_EV_SPAWN_OK);
    }
}

static void
ended(struct sv_service *s)
{
    if (!s->conf->critical || sv_shutting_down || !s->want_up) {
        return;
    }
    if (s->conf->type == SV_TYPE_ONESHOT && s->state == SV_STATE_EXITED) {
        return;
    }
    mi_log_svc(MI_LOG_WARNING, s->conf->name, "critical service ended (status %d): stopping",
               s->last_status < 0 ? 1 : s->last_status);
    if (hooks.critical_ended != NULL) {
        hooks.critical_ended(hooks.data, s->conf->name, s->last_status < 0 ? 1 : s->last_status);
    }
}

void
sv_event(struct sv_service *s, enum sv_event ev)
{
    struct sv_fsm_in in = {
            .state = s->state,
            .ev = ev,
            .want_up = s->want_up,
            .deps_ready = sv_deps_ready(s),
            .oneshot = s->conf->type == SV_TYPE_ONESHOT,
            .retries_left = s->fails < s->conf->startretries,
            .restart = true,
    };
    struct sv_fsm_out out;
    enum sv_state old = s->state;

    if (ev == SV_EV_EXIT) {
        exit_inputs(s, s->child_w.rstatus, &in);
        if (old == SV_STATE_STOPPING && s->failed_start) {
            in.failed_start = true;
            in.stable = false;
            in.restart = s->conf->autorestart != SV_RESTART_FALSE;
        }
    }
    if (ev == SV_EV_READY_TIMEOUT) {
        s->failed_start = true;
    }
    out = sv_fsm_step(&in);
    if (!out.legal) {
        mi_log_svc(MI_LOG_DEBUG, s->conf->name, "event %s ignored in state %s", sv_event_name(ev),
                   sv_state_name(old));
        return;
    }
    /* Quick failures in a row drive the backoff; a stable run resets. */
    if ((ev == SV_EV_EXIT && (old != SV_STATE_STOPPING || in.failed_start)) ||
        ev == SV_EV_SPAWN_FAIL) {
        s->fails = (ev == SV_EV_EXIT && in.stable) ? 0 : s->fails + 1;
    }
    if (ev == SV_EV_EXIT) {
        s->failed_start = false;
    }
    s->state = out.state;
    if (old != out.state) {
        mi_log_svc(MI_LOG_DEBUG, s->conf->name, "%s -> %s (%s)", sv_state_name(old),
                   sv_state_name(out.state), sv_event_name(ev));
    }
    if (out.act & SV_ACT_ENDED) {
        ended(s);
    }
    apply_actions(s, out.act, false);
    /* Down for good (not restarting): its cgroup goes too, once empty. */
    if (s->pid == 0 && is_idle(s->state)) {
        sv_cgroup_release(s);
    }
    if (s->state != old) {
        sv_changed(s); /* may free s */
    }
}

/* Wakes the services waiting for s (and, at shutdown, those it held). */
static void
wake_waiting(void)
{
    for (int i = 0; i < sv_count; i++) {
        struct sv_service *w = sv_table[i];

        if (w->state == SV_STATE_WAITING && sv_deps_ready(w)) {
            sv_event(w, SV_EV_DEPS_READY);
        }
    }
}

/* A service may stop at shutdown once nothing that depends on it runs. */
static bool
dependents_down(const struct sv_service *s)
{
    for (int i = 0; i < sv_count; i++) {
        const struct sv_service *d = sv_table[i];

        for (int j = 0; j < d->ndeps; j++) {
            if (d->deps[j] == s && !is_idle(d->state)) {
                return false;
            }
        }
    }
    return true;
}

static void
reap_removed(void)
{
    for (int i = 0; i < sv_count; i++) {
        struct sv_service *s = sv_table[i];

        if (s->removed && is_idle(s->state)) {
            mi_log_svc(MI_LOG_INFO, s->conf->name, "removed");
            service_free(s);
            sv_table[i] = sv_table[--sv_count];
            i--;
        }
    }
}

static void
shutdown_progress(void)
{
    bool all_down = true;

    for (int i = 0; i < sv_count; i++) {
        struct sv_service *s = sv_table[i];

        if (is_idle(s->state)) {
            continue;
        }
        all_down = false;
        if (s->state != SV_STATE_STOPPING && dependents_down(s)) {
            sv_event(s, SV_EV_STOP);
        }
    }
    if (all_down && sv_cgroup_shutdown() && !shutdown_forced) {
        return; /* leftovers in a leaf are being killed: wait for empty */
    }
    if (all_down) {
        ev_timer_stop(sv_loop, &shutdown_w);
        if (hooks.all_stopped != NULL) {
            hooks.all_stopped(hooks.data);
        }
    }
}

static bool in_changed;
static bool changed_again;

void
sv_changed(struct sv_service *s)
{
    if (hooks.state_changed != NULL) {
        hooks.state_changed(hooks.data, s->conf->name);
    }
    /* Re-entrant calls (a dependent starting from here) only mark the
     * pass as dirty; the outer call loops until nothing moves. */
    if (in_changed) {
        changed_again = true;
        return;
    }
    in_changed = true;
    do {
        changed_again = false;
        if (!sv_shutting_down) {
            wake_waiting();
        }
        reap_removed();
        for (int i = 0; i < sv_count; i++) {
            struct sv_service *r = sv_table[i];

            if (r->restart_after && is_idle(r->state)) {
                /* Changed by a reload: new pipes for possibly new logs. */
                sv_output_free(r->out);
                sv_output_free(r->err);
                r->out = r->err = NULL;
                r->restart_after = false;
                r->want_up = true;
                r->fails = 0;
                sv_event(r, SV_EV_START);
            }
        }
        if (sv_shutting_down) {
            shutdown_progress();
        }
    } while (changed_again);
    in_changed = false;
}

static void
shutdown_deadline_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    (void)loop;
    (void)w;
    (void)revents;
    mi_log(MI_LOG_WARNING, "shutdown deadline passed: killing what is left");
    shutdown_forced = true;
    for (int i = 0; i < sv_count; i++) {
        if (sv_table[i]->pid > 0) {
            sv_run_kill(sv_table[i]);
        }
    }
    if (sv_count > 0) {
        sv_changed(sv_table[0]);
    }
}

void
sv_shutdown(void)
{
    double deadline = 30.0;

    if (sv_shutting_down) {
        return;
    }
    sv_shutting_down = true;
    if (current != NULL && current->cfg->shutdown_timeout_ms > 0) {
        deadline = (double)current->cfg->shutdown_timeout_ms / 1000.0;
    }
    for (int i = 0; i < sv_count; i++) {
        sv_table[i]->want_up = false;
        sv_table[i]->restart_after = false;
    }
    ev_timer_init(&shutdown_w, shutdown_deadline_cb, deadline, 0.0);
    ev_timer_start(sv_loop, &shutdown_w);
    if (sv_count > 0) {
        sv_changed(sv_table[0]);
    } else if (hooks.all_stopped != NULL) {
        hooks.all_stopped(hooks.data);
    }
}

int
sv_init(struct ev_loop *loop, const struct sv_hooks *h, struct mi_err *e)
{
    sv_loop = loop;
    hooks = *h;
    return sv_output_init(loop, e);
}

/* A digest of everything a reload compares: two services with the same
 * digest are the same service, left running. */
static void
conf_digest(const struct sv_conf *c, char *buf, size_t size)
{
    size_t n = 0;
    int r;

#define DIGEST(...)                                                                                \
    do {                                                                                           \
        r = snprintf(buf + n, size - n, __VA_ARGS__);                                              \
        n += (r > 0 && (size_t)r < size - n) ? (size_t)r : 0;                                      \
    } while (0)
    DIGEST("%s|%s|%s|%s|%d|%o|", c->command, c->directory ? c->directory : "",
           c->user ? c->user : "", c->group ? c->group : "", c->has_umask, (unsigned)c->umask);
    for (char **v = c->env; v && *v; v++) {
        DIGEST("%s,", *v);
    }
    DIGEST("|%d%d|%llu|%u|%d|%llu|%d%d|%d|%d|", c->autostart, c->autorestart,
           (unsigned long long)c->startsecs_ms, c->startretries, c->stopsignal,
           (unsigned long long)c->stopwait_ms, c->stopasgroup, c->killasgroup, c->redirect_stderr,
           c->type);
    for (int i = 0; i < 32; i++) {
        DIGEST("%02x", c->exitcodes[i]);
    }
    DIGEST("|%d:%s:%llu:%u|%d:%s:%llu:%u|", c->out.kind, c->out.path ? c->out.path : "",
           (unsigned long long)c->out.maxbytes, c->out.backups, c->err.kind,
           c->err.path ? c->err.path : "", (unsigned long long)c->err.maxbytes, c->err.backups);
    for (char **v = c->depends; v && *v; v++) {
        DIGEST("%s,", *v);
    }
    DIGEST("|%d:%d:%d|%llu|%d|%llu:%llu|", c->ready, c->ready_fd, c->ready_port,
           (unsigned long long)c->ready_timeout_ms, c->critical,
           (unsigned long long)c->restart_delay_ms, (unsigned long long)c->restart_delay_max_ms);
    for (char **v = c->ready_argv; v && *v; v++) {
        DIGEST("%s ", *v);
    }
#undef DIGEST
}

static bool
conf_same(const struct sv_conf *a, const struct sv_conf *b)
{
    static char da[8192];
    static char db[8192];

    conf_digest(a, da, sizeof(da));
    conf_digest(b, db, sizeof(db));
    return strcmp(da, db) == 0;
}

static struct sv_conf *
conf_in(struct sv_config *cfg, const char *name)
{
    for (int i = 0; i < cfg->nservices; i++) {
        if (strcmp(cfg->services[i].name, name) == 0) {
            return &cfg->services[i];
        }
    }
    return NULL;
}

static void
attach_conf(struct sv_service *s, struct sv_conf *c, struct sv_cfgref *ref)
{
    struct sv_cfgref *old = s->ref;

    s->conf = c;
    s->ref = ref;
    ref->refs++;
    cfgref_put(old);
}

/* Reload: an existing service is kept, restarted or removed. */
static void
reconcile(struct sv_service *s, struct sv_config *cfg, struct sv_cfgref *ref)
{
    struct sv_conf *nc = conf_in(cfg, s->conf->name);

    if (nc == NULL) {
        s->removed = true;
        s->want_up = false;
        free(s->deps);
        s->deps = NULL;
        s->ndeps = 0;
        sv_event(s, SV_EV_STOP);
        return;
    }
    if (conf_same(s->conf, nc)) {
        attach_conf(s, nc, ref);
        return;
    }
    mi_log_svc(MI_LOG_INFO, nc->name, "changed: restarting");
    attach_conf(s, nc, ref);
    if (!is_idle(s->state)) {
        s->restart_after = s->want_up;
        s->want_up = false;
        sv_event(s, SV_EV_STOP);
    } else {
        s->restart_after = nc->autostart;
    }
}

static int
add_service(struct sv_conf *c, struct sv_cfgref *ref, struct mi_err *e)
{
    struct sv_service *s = calloc(1, sizeof(*s));
    struct sv_service **t = realloc(sv_table, sizeof(*t) * (size_t)(sv_count + 1));

    if (s == NULL || t == NULL) {
        free(s);
        if (t != NULL) {
            sv_table = t;
        }
        return mi_err_set(e, ENOMEM, "unable to add service %s", c->name);
    }
    sv_table = t;
    s->last_status = -1;
    s->ready_rfd = -1;
    s->probe_fd = -1;
    attach_conf(s, c, ref);
    sv_run_init_watchers(s);
    s->want_up = c->autostart;
    s->fresh = true;
    sv_table[sv_count++] = s;
    return 0;
}

static int
resolve_deps(struct sv_service *s, struct mi_err *e)
{
    free(s->deps);
    s->deps = NULL;
    s->ndeps = 0;
    if (s->removed || s->conf->ndepends == 0) {
        return 0;
    }
    s->deps = calloc((size_t)s->conf->ndepends, sizeof(*s->deps));
    if (s->deps == NULL) {
        return mi_err_set(e, ENOMEM, "unable to resolve dependencies");
    }
    for (int i = 0; i < s->conf->ndepends; i++) {
        struct sv_service *d = sv_find(s->conf->depends[i]);

        if (d == NULL || d->removed) {
            return mi_err_set(e, 0, "service %s: unknown dependency '%s'", s->conf->name,
                              s->conf->depends[i]);
        }
        s->deps[s->ndeps++] = d;
    }
    return 0;
}

static int
by_priority(const void *a, const void *b)
{
    const struct sv_service *x = *(struct sv_service *const *)a;
    const struct sv_service *y = *(struct sv_service *const *)b;

    if (x->conf->priority != y->conf->priority) {
        return x->conf->priority < y->conf->priority ? -1 : 1;
    }
    return strcmp(x->conf->name, y->conf->name);
}

int
sv_apply(struct sv_config *cfg, struct mi_err *e)
{
    struct sv_cfgref *ref = calloc(1, sizeof(*ref));
    struct sv_cfgref *old = current;
    int first_new = sv_count;

    if (ref == NULL) {
        sv_config_free(cfg);
        return mi_err_set(e, ENOMEM, "unable to apply the config");
    }
    ref->cfg = cfg;
    ref->current = true;
    current = ref;
    ref->refs++; /* held while applying */
    for (int i = 0; i < first_new; i++) {
        reconcile(sv_table[i], cfg, ref);
    }
    for (int i = 0; i < cfg->nservices; i++) {
        struct sv_service *s = sv_find(cfg->services[i].name);

        if ((s == NULL || s->removed) && add_service(&cfg->services[i], ref, e) < 0) {
            return -1;
        }
    }
    for (int i = 0; i < sv_count; i++) {
        if (resolve_deps(sv_table[i], e) < 0) {
            return -1;
        }
    }
    qsort(sv_table, (size_t)sv_count, sizeof(*sv_table), by_priority);
    for (int i = 0; i < sv_count; i++) {
        struct sv_service *s = sv_table[i];

        if (s->fresh) {
            s->fresh = false;
            if (s->want_up) {
                sv_event(s, SV_EV_START);
            }
        }
    }
    if (old != NULL) {
        old->current = false;
        old->refs++;
        cfgref_put(old);
    }
    cfgref_put(ref);
    if (sv_count > 0) {
        sv_changed(sv_table[0]);
    }
    return 0;
}

static int
lookup(const char *name, struct sv_service **s, struct mi_err *e)
{
    *s = sv_find(name);
    if (*s == NULL || (*s)->removed) {
        return mi_err_set(e, 0, "no such service '%s'", name);
    }
    if (sv_shutting_down) {
        return mi_err_set(e, 0, "minit is shutting down");
    }
    return 0;
}

int
sv_ctl_start(const char *name, struct mi_err *e)
{
    struct sv_service *s;

    if (lookup(name, &s, e) < 0) {
        return -1;
    }
    s->want_up = true;
    s->fails = 0;
    if (s->state == SV_STATE_BACKOFF) {
        ev_timer_stop(sv_loop, &s->timer_w);
        sv_event(s, SV_EV_BACKOFF_DONE);
        return 0;
    }
    sv_event(s, SV_EV_START);
    return 0;
}

int
sv_ctl_stop(const char *name, struct mi_err *e)
{
    struct sv_service *s;

    if (lookup(name, &s, e) < 0) {
        return -1;
    }
    s->want_up = false;
    s->restart_after = false;
    sv_event(s, SV_EV_STOP);
    return 0;
}

int
sv_ctl_restart(const char *name, struct mi_err *e)
{
    struct sv_service *s;

    if (lookup(name, &s, e) < 0) {
        return -1;
    }
    s->fails = 0;
    if (is_idle(s->state) || s->state == SV_STATE_WAITING || s->state == SV_STATE_BACKOFF) {
        return sv_ctl_start(name, e);
    }
    s->want_up = true;
    sv_event(s, SV_EV_STOP);
    return 0;
}

int
sv_ctl_signal(const char *name, int sig, struct mi_err *e)
{
    struct sv_service *s = sv_find(name);

    if (s == NULL || s->removed) {
        return mi_err_set(e, 0, "no such service '%s'", name);
    }
    if (s->pid <= 0) {
        return mi_err_set(e, 0, "service '%s' is not running", name);
    }
    if (kill(s->pid, sig) < 0) {
        return mi_err_sys(e, "unable to signal service '%s'", name);
    }
    return 0;
}

static void
fill_status(const struct sv_service *s, struct sv_status *st)
{
    memset(st, 0, sizeof(*st));
    st->name = s->conf->name;
    st->state = s->paused ? "paused" : sv_state_name(s->state);
    st->want_up = s->want_up;
    st->pid = s->pid;
    st->uptime_ms = s->pid > 0 ? (uint64_t)((ev_now(sv_loop) - s->started_at) * 1000.0) : 0;
    st->restarts = s->restarts;
    st->last_status = s->last_status;
    st->last_oom = s->last_oom;
    st->command = s->conf->command;
    sv_cgroup_stats(s, st);
}

int
sv_ctl_status(const char *name, sv_status_fn *fn, void *data, struct mi_err *e)
{
    struct sv_status st;

    if (name != NULL) {
        struct sv_service *s = sv_find(name);

        if (s == NULL || s->removed) {
            return mi_err_set(e, 0, "no such service '%s'", name);
        }
        fill_status(s, &st);
        fn(data, &st);
        return 0;
    }
    for (int i = 0; i < sv_count; i++) {
        fill_status(sv_table[i], &st);
        fn(data, &st);
    }
    return 0;
}

bool
sv_is_ready(const char *name, bool *failed)
{
    struct sv_service *s = sv_find(name);

    bool ready = s != NULL && !s->removed && sv_service_ready(s);

    *failed = !ready && (s == NULL || s->removed || s->state == SV_STATE_FAILED ||
                         (is_idle(s->state) && !s->want_up));
    return ready;
}

bool
sv_owns_pid(pid_t pid)
{
    if (pid == sv_last_reaped) {
        return true;
    }
    for (int i = 0; i < sv_count; i++) {
        if (sv_table[i]->pid == pid || sv_table[i]->probe_pid == pid) {
            return true;
        }
    }
    return false;
}

void
sv_reopen_logs(void)
{
    sv_output_reopen();
}

int
sv_ctl_freeze(const char *name, bool frozen, struct mi_err *e)
{
    struct sv_service *s;

    if (name != NULL) {
        if (lookup(name, &s, e) < 0) {
            return -1;
        }
        return sv_cgroup_freeze(s, frozen, e);
    }
    if (!sv_cgroup_active()) {
        return mi_err_set(e, 0, "%s is not available: %s", frozen ? "pause" : "resume",
                          sv_cgroup_why());
    }
    for (int i = 0; i < sv_count; i++) {
        s = sv_table[i];
        if (s->pid > 0 && !s->removed && sv_cgroup_freeze(s, frozen, e) < 0) {
            return -1;
        }
    }
    return 0;
}

static int
settled(const struct sv_service *s, bool frozen, struct mi_err *e)
{
    if (s->freeze_pending) {
        return 0;
    }
    if (s->freeze_err[0] != '\0') {
        return mi_err_set(e, 0, "service %s: %s", s->conf->name, s->freeze_err);
    }
    if (s->pid > 0 && s->paused != frozen) {
        return mi_err_set(e, 0, "service %s is %s", s->conf->name,
                          s->paused ? "paused" : "not paused");
    }
    return 1;
}

int
sv_freeze_settled(const char *name, bool frozen, struct mi_err *e)
{
    int all = 1;

    for (int i = 0; i < sv_count; i++) {
        struct sv_service *s = sv_table[i];
        int r;

        if (s->removed || (name != NULL && strcmp(s->conf->name, name) != 0)) {
            continue;
        }
        if ((r = settled(s, frozen, e)) < 0) {
            return -1;
        }
        all = all && r == 1;
    }
    return all;
}

int
sv_cgroups(const char *base, struct mi_err *e)
{
    return sv_cgroup_init(sv_loop, base, e);
}
