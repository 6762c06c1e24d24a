/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's use of cgroupfs/: one leaf per service under
 * L/services (created at its first start, with its limits), joined by the
 * child between clone and exec so that no process of a service ever runs
 * outside it; pause and resume with the freezer, confirmed by cgroup.events
 * (v2) or by re-reading freezer.state (v1) within a deadline, thawing
 * again on failure; cgroup.kill when a stop times out and when a service's
 * main process is gone but others remain; leaves removed once empty; and
 * per-service stats for `minit ctl status`.
 *
 * Without a usable hierarchy (rootless, read-only /sys/fs/cgroup) nothing
 * here is active: services run exactly as before, and pause answers why.
 */
#include "supervisor/internal.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cgroupfs/cgroupfs.h"
#include "init/log.h"

#define FREEZE_DEADLINE 5.0 /* seconds to reach frozen 1 before thawing again */
#define V1_RECHECK      0.01

static struct {
    bool active;
    struct cg_root root;
    struct cg_layout lay;
    struct cg_watch watch;
    ev_io io;
    char why[MI_ERR_MSG];
    uint64_t next_id;
} cg = {.watch = {.fd = -1}, .next_id = 1};

bool
sv_cgroup_active(void)
{
    return cg.active;
}

const char *
sv_cgroup_why(void)
{
    return cg.why[0] ? cg.why : "no cgroup hierarchy is in use";
}

static struct sv_service *
by_id(uint64_t id)
{
    for (int i = 0; i < sv_count; i++) {
        if (sv_table[i]->cg_id == id) {
            return sv_table[i];
        }
    }
    return NULL;
}

static void
freeze_finish(struct sv_service *s, const char *err)
{
    ev_timer_stop(sv_loop, &s->freeze_w);
    s->freeze_pending = false;
    snprintf(s->freeze_err, sizeof(s->freeze_err), "%s", err ? err : "");
    if (err == NULL) {
        s->paused = s->freeze_want;
    }
    mi_log_svc(err ? MI_LOG_WARNING : MI_LOG_INFO, s->conf->name, "%s%s%s",
               err ? "" : (s->paused ? "paused" : "resumed"), err ? "" : "", err ? err : "");
    sv_changed(s);
}

/* Re-reads the leaf's freezer state for a pending pause or resume. */
static void
freeze_check(struct sv_service *s)
{
    struct mi_err e = {0};
    bool frozen = false;

    if (!s->freeze_pending || s->leaf == NULL) {
        return;
    }
    if (cg_frozen(s->leaf, &frozen, &e) < 0) {
        freeze_finish(s, e.msg);
        return;
    }
    if (frozen == s->freeze_want) {
        freeze_finish(s, NULL);
    }
}

static void
empty_check(struct sv_service *s)
{
    struct mi_err e = {0};
    bool populated = true;
    bool frozen;

    if (s->leaf == NULL || s->pid > 0 || cg_events(s->leaf, &populated, &frozen, &e) < 0) {
        return;
    }
    if (!populated && s->leaf_drop) {
        sv_cgroup_release(s);
        if (sv_shutting_down) {
            sv_changed(s); /* the shutdown may be waiting for this leaf */
        }
    }
}

static void
watch_cb(struct ev_loop *loop, ev_io *w, int revents)
{
    uint64_t ids[64];
    struct mi_err e = {0};
    int n;

    (void)loop;
    (void)w;
    (void)revents;
    while ((n = cg_watch_drain(&cg.watch, ids, 64, &e)) > 0) {
        for (int i = 0; i < n; i++) {
            struct sv_service *s = by_id(ids[i]);

            if (s != NULL) {
                freeze_check(s);
                empty_check(s);
            }
        }
    }
}

static void
freeze_timer_cb(struct ev_loop *loop, ev_timer *w, int revents)
{
    struct sv_service *s = (struct sv_service *)((char *)w - offsetof(struct sv_service, freeze_w));
    struct mi_err e = {0};

    (void)loop;
    (void)revents;
    freeze_check(s);
    if (!s->freeze_pending) {
        return;
    }
    if (ev_now(sv_loop) - s->freeze_started < FREEZE_DEADLINE) {
        ev_timer_set(w, V1_RECHECK, 0.0);
        ev_timer_start(sv_loop, w);
        return;
    }
    /* Not frozen in time: thaw again rather than leave it half frozen. */
    if (s->freeze_want) {
        cg_freeze(s->leaf, false, &e);
    }
    freeze_finish(s, s->freeze_want ? "not frozen in time; thawed again" : "not thawed in time");
}

/* The kernel's inode number of the initial cgroup namespace. */
#define CG_INIT_NS "cgroup:[4026531835]"

/* In the host's cgroup namespace minit cannot tell its own cgroup from a
 * login session's or a service's (processes outside its pid namespace do
 * not show in cgroup.procs), so "auto" there would reorganise the host's
 * cgroups: v2 needs an explicit path. A container has its own namespace. */
static bool
auto_allowed(const char *base, struct mi_err *e)
{
    char ns[64];
    ssize_t n;

    if (strcmp(base, "auto") != 0 || cg.root.mode != CG_MODE_V2) {
        return true;
    }
    n = readlink("/proc/self/ns/cgroup", ns, sizeof(ns) - 1);
    if (n < 0) {
        return true;
    }
    ns[n] = '\0';
    if (strcmp(ns, CG_INIT_NS) != 0) {
        return true;
    }
    mi_err_set(e, 0,
               "cgroup = auto needs a cgroup namespace (minit is in the host's); set "
               "[minit] cgroup = PATH under %s",
               cg.root.v2.mnt);
    return false;
}

int
sv_cgroup_init(struct ev_loop *loop, const char *base, struct mi_err *e)
{
    struct mi_err tmp = {0};

    if (cg_discover(&cg.root, e) < 0 || cg.root.mode == CG_MODE_NONE) {
        if (!e->set) {
            mi_err_set(e, 0, "%s", cg.root.why);
        }
        snprintf(cg.why, sizeof(cg.why), "%s", e->msg);
        cg_root_close(&cg.root);
        return -1;
    }
    if (!auto_allowed(base, e) || cg_layout_create(&cg.lay, &cg.root, base, 0, e) < 0 ||
        cg_watch_open(&cg.watch, e) < 0) {
        snprintf(cg.why, sizeof(cg.why), "%s", e->msg);
        cg_layout_close(&cg.lay);
        cg_root_close(&cg.root);
        return -1;
    }
    (void)tmp;
    ev_io_init(&cg.io, watch_cb, cg.watch.fd, EV_READ);
    ev_io_start(loop, &cg.io);
    cg.active = true;
    mi_log(MI_LOG_INFO, "cgroups: services under %s/%s", cg.lay.services.hier->mnt,
           cg.lay.services.path);
    return 0;
}

static unsigned
limit_mask(const struct sv_conf *c)
{
    return (c->memory_max ? CG_MASK(CG_CTRL_MEMORY) : 0) |
           (c->pids_max ? CG_MASK(CG_CTRL_PIDS) : 0) | (c->cpu_max ? CG_MASK(CG_CTRL_CPU) : 0);
}

/* Limits that cannot be applied are said once and the service runs
 * without them: the container must not fail to start over a limit. */
static void
apply_limits(struct sv_service *s)
{
    struct cg_limits lim = {s->conf->memory_max, s->conf->pids_max, s->conf->cpu_max};
    struct mi_err e = {0};
    unsigned mask = limit_mask(s->conf);

    if (mask == 0) {
        return;
    }
    if (cg_leaf_attach(s->leaf, mask, &e) < 0 || cg_set_limits(s->leaf, &lim, &e) < 0) {
        mi_log_svc(MI_LOG_WARNING, s->conf->name, "limits not applied: %s%s%s", e.msg,
                   e.errnum ? ": " : "", e.errnum ? strerror(e.errnum) : "");
    }
}

void
sv_cgroup_prepare(struct sv_service *s)
{
    struct mi_err e = {0};

    if (!cg.active) {
        return;
    }
    if (s->leaf != NULL) {
        s->leaf_drop = false; /* started again before it emptied: keep it */
        return;
    }
    s->leaf = calloc(1, sizeof(*s->leaf));
    if (s->leaf == NULL || cg_leaf_create(s->leaf, &cg.lay.services, s->conf->name, &e) < 0) {
        mi_log_svc(MI_LOG_WARNING, s->conf->name, "runs without a cgroup: %s%s%s",
                   s->leaf ? e.msg : "out of memory", e.errnum ? ": " : "",
                   e.errnum ? strerror(e.errnum) : "");
        free(s->leaf);
        s->leaf = NULL;
        return;
    }
    apply_limits(s);
    s->cg_id = cg.next_id++;
    if (cg_watch_add(&cg.watch, s->leaf, s->cg_id, &e) < 0) {
        mi_err_log(&e);
    }
    ev_init(&s->freeze_w, freeze_timer_cb);
}

void
sv_cgroup_kill(struct sv_service *s)
{
    struct mi_err e = {0};

    if (s->leaf != NULL && cg_kill(s->leaf, &e) < 0) {
        mi_log_svc(MI_LOG_WARNING, s->conf->name, "%s", e.msg);
    }
}

/* The main process is gone: kill what it left in the leaf (a daemon that
 * double-forked out of its process group). */
void
sv_cgroup_after_exit(struct sv_service *s)
{
    struct mi_err e = {0};
    bool populated = false;
    bool frozen;

    if (s->leaf == NULL || cg_events(s->leaf, &populated, &frozen, &e) < 0 || !populated) {
        return;
    }
    if (s->paused || s->freeze_pending) {
        cg_freeze(s->leaf, false, &e);
        s->paused = false;
    }
    mi_log_svc(MI_LOG_INFO, s->conf->name, "killing what its main process left behind");
    sv_cgroup_kill(s);
}

void
sv_cgroup_release(struct sv_service *s)
{
    struct mi_err e = {0};

    if (s->leaf == NULL) {
        return;
    }
    s->leaf_drop = true;
    ev_timer_stop(sv_loop, &s->freeze_w);
    if (cg_leaf_destroy(s->leaf, &e) < 0) {
        if (e.errnum == EBUSY) {
            sv_cgroup_kill(s); /* removed once empty: see empty_check */
            return;
        }
        mi_log_svc(MI_LOG_WARNING, s->conf->name, "%s", e.msg);
    }
    cg_watch_del(&cg.watch, s->leaf);
    cg_leaf_close(s->leaf);
    free(s->leaf);
    s->leaf = NULL;
}

int
sv_cgroup_freeze(struct sv_service *s, bool frozen, struct mi_err *e)
{
    if (!cg.active) {
        return mi_err_set(e, 0, "%s is not available: %s", frozen ? "pause" : "resume",
                          sv_cgroup_why());
    }
    if (s->leaf == NULL || s->pid <= 0) {
        if (!frozen && !s->paused) {
            return 0;
        }
        return mi_err_set(e, 0, "service '%s' is not running", s->conf->name);
    }
    if (cg_freeze(s->leaf, frozen, e) < 0) {
        return -1;
    }
    s->freeze_want = frozen;
    s->freeze_pending = true;
    s->freeze_err[0] = '\0';
    s->freeze_started = ev_now(sv_loop);
    ev_timer_set(&s->freeze_w, cg.root.mode == CG_MODE_V1 ? V1_RECHECK : FREEZE_DEADLINE, 0.0);
    ev_timer_start(sv_loop, &s->freeze_w);
    freeze_check(s);
    return 0;
}

void
sv_cgroup_stats(const struct sv_service *s, struct sv_status *st)
{
    struct cg_stats cs = {0};
    struct mi_err e = {0};

    if (s->leaf == NULL || cg_stats(s->leaf, &cs, &e) < 0) {
        return;
    }
    st->cgroup = s->leaf->path;
    st->has_memory = cs.has_memory;
    st->memory_bytes = cs.memory_bytes;
    st->has_cpu = cs.has_cpu;
    st->cpu_usec = cs.cpu_usec;
    st->has_pids = cs.has_pids;
    st->pids = cs.pids;
    st->oom_kills = cs.has_oom ? cs.oom_kills : 0;
}

uint64_t
sv_cgroup_oom_kills(const struct sv_service *s)
{
    struct cg_stats cs = {0};
    struct mi_err e = {0};

    if (s->leaf == NULL || cg_stats(s->leaf, &cs, &e) < 0 || !cs.has_oom) {
        return 0;
    }
    return cs.oom_kills;
}

bool
sv_cgroup_shutdown(void)
{
    bool pending = false;

    for (int i = 0; i < sv_count; i++) {
        sv_cgroup_release(sv_table[i]);
        pending = pending || sv_table[i]->leaf != NULL;
    }
    return pending;
}

static bool payload_ready;

void
sv_cgroup_exit(void)
{
    struct mi_err e = {0};

    if (!cg.active && !payload_ready) {
        return;
    }
    if (cg.active) {
        ev_io_stop(sv_loop, &cg.io);
        cg_watch_close(&cg.watch);
    }
    if (cg_layout_leave(&cg.lay, &e) < 0) {
        mi_log(MI_LOG_DEBUG, "cgroups left in place: %s%s%s", e.msg, e.errnum ? ": " : "",
               e.errnum ? strerror(e.errnum) : "");
    }
    cg_root_close(&cg.root);
    cg.active = false;
    payload_ready = false;
}

int
sv_payload_cgroup(const char *base, struct mi_err *e)
{
    if (cg_discover(&cg.root, e) < 0 || cg.root.mode == CG_MODE_NONE) {
        if (!e->set) {
            mi_err_set(e, 0, "%s", cg.root.why);
        }
        cg_root_close(&cg.root);
        return -1;
    }
    if (!auto_allowed(base, e) ||
        cg_layout_create(&cg.lay, &cg.root, base, CG_LAYOUT_PAYLOAD, e) < 0) {
        cg_root_close(&cg.root);
        return -1;
    }
    payload_ready = true;
    return 0;
}

void
sv_payload_cgroup_exit(void)
{
    struct mi_err e = {0};

    if (!payload_ready) {
        return;
    }
    payload_ready = false;
    if (cg_layout_reopen(&cg.lay, &cg.root, &e) < 0 || cg_layout_leave(&cg.lay, &e) < 0) {
        mi_log(MI_LOG_DEBUG, "cgroups left in place: %s%s%s", e.msg, e.errnum ? ": " : "",
               e.errnum ? strerror(e.errnum) : "");
    }
    cg_root_close(&cg.root);
}

const struct cg_leaf *
sv_cgroup_payload(void)
{
    return payload_ready ? &cg.lay.payload : NULL;
}

/* ---- job 3: the container's cgroup, from the host ------------------- */

static struct {
    struct cg_root root;
    struct cg_leaf leaf;
    bool open;
} ct = {.leaf = {.dirfd = -1}};

void
sv_cgroup_use_mount(int fd)
{
    cg_set_v2_mount(fd, "/sys/fs/cgroup");
}

int
sv_container_cgroup(struct sv_ct_cgroup *c, struct mi_err *e)
{
    struct cg_limits lim = {c->memory_max, c->pids_max, c->cpu_max};
    unsigned mask = (c->memory_max ? CG_MASK(CG_CTRL_MEMORY) : 0) |
                    (c->pids_max ? CG_MASK(CG_CTRL_PIDS) : 0) |
                    (c->cpu_max ? CG_MASK(CG_CTRL_CPU) : 0);
    char path[CG_PATH_MAX];

    c->fd = -1;
    c->join_fds = NULL;
    c->njoin = 0;
    if (cg_discover(&ct.root, e) < 0) {
        cg_root_close(&ct.root);
        return -1;
    }
    if (ct.root.v2.fd < 0 || !ct.root.v2.writable) {
        mi_err_set(e, 0, "needs a writable cgroup2 hierarchy: %s", ct.root.why);
        cg_root_close(&ct.root);
        return -1;
    }
    ct.root.mode = CG_MODE_V2;
    if (strcmp(c->base, "auto") == 0) {
        cg_root_close(&ct.root);
        return mi_err_set(e, 0, "the container's cgroup must be a PATH, not auto");
    }
    if (cg_resolve_base(ct.root.v2.self, c->base, false, path, sizeof(path), e) < 0 ||
        cg_leaf_open(&ct.leaf, &ct.root, path, e) < 0) {
        cg_root_close(&ct.root);
        return -1;
    }
    ct.open = true;
    /* Limits before anything joins: a v1 mirror is joined by the child's
     * pid from the parent, v2 through CLONE_INTO_CGROUP. A reused cgroup
     * keeps no old limit (unset ones are reset to max). */
    if ((mask != 0 && cg_leaf_enable(&ct.leaf, mask, e) < 0) ||
        cg_set_limits(&ct.leaf, &lim, e) < 0) {
        sv_container_cgroup_remove();
        return -1;
    }
    c->fd = cg_leaf_clone_fd(&ct.leaf);
    c->join_fds = ct.leaf.join_fd + 1;
    c->njoin = ct.leaf.njoin - 1;
    return 0;
}

void
sv_container_cgroup_forget(void)
{
    if (ct.open) {
        cg_leaf_close(&ct.leaf);
        cg_root_close(&ct.root);
        ct.open = false;
    }
}

void
sv_container_cgroup_remove(void)
{
    struct mi_err e = {0};
    struct pollfd p;
    struct cg_stats st;
    bool populated = true;
    bool frozen;

    if (!ct.open) {
        return;
    }
    if (cg_stats(&ct.leaf, &st, &e) == 0 && st.has_oom && st.oom_kills > 0) {
        mi_log(MI_LOG_WARNING, "the OOM killer killed %llu process%s in the container's cgroup",
               (unsigned long long)st.oom_kills, st.oom_kills == 1 ? "" : "es");
    }
    mi_err_clear(&e);
    /* The container's PID 1 is gone, so its namespace is empty; anything
     * left was put there from outside. Bounded: 5 s of events. */
    if (cg_events(&ct.leaf, &populated, &frozen, &e) == 0 && populated) {
        cg_kill(&ct.leaf, &e);
        for (int i = 0; i < 50 && populated; i++) {
            p.fd = ct.leaf.events_fd;
            p.events = POLLPRI;
            poll(&p, 1, 100);
            if (cg_events(&ct.leaf, &populated, &frozen, &e) < 0) {
                break;
            }
        }
    }
    mi_err_clear(&e);
    if (cg_leaf_destroy_tree(&ct.leaf, &e) < 0) {
        mi_log(MI_LOG_WARNING, "the container's cgroup was not removed: %s%s%s", e.msg,
               e.errnum ? ": " : "", e.errnum ? strerror(e.errnum) : "");
        cg_leaf_close(&ct.leaf);
    }
    cg_root_close(&ct.root);
    ct.open = false;
}
