/* SPDX-License-Identifier: MIT */
/*
 * The cgroup.events watch: one epoll fd holding each leaf's cgroup.events
 * fd for EPOLLPRI, edge-triggered. kernfs reports a change of an interface
 * file as POLLPRI|POLLERR and is always "readable", so an ev_io on the file
 * itself would spin; an epoll fd, in turn, is readable exactly when one of
 * its files changed, and that is what the caller's loop watches.
 */
#include "cgroupfs/internal.h"

#include <errno.h>
#include <sys/epoll.h>

#include "init/sys.h"

/* Events taken from the kernel per cg_watch_drain() call. */
#define CG_DRAIN_BATCH 64

int
cg_watch_open(struct cg_watch *w, struct mi_err *e)
{
    w->fd = epoll_create1(EPOLL_CLOEXEC);
    if (w->fd < 0) {
        return mi_err_sys(e, "unable to create the cgroup event watch");
    }
    return 0;
}

int
cg_watch_add(struct cg_watch *w, const struct cg_leaf *l, uint64_t cookie, struct mi_err *e)
{
    struct epoll_event ev = {.events = EPOLLPRI | EPOLLET, .data.u64 = cookie};

    if (l->root == NULL || l->root->mode != CG_MODE_V2) {
        return 0; /* v1 has no cgroup.events: the caller re-checks on a timer */
    }
    if (l->events_fd < 0) {
        return mi_err_set(e, EBADF, "unable to watch cgroup %s: no cgroup.events", l->path);
    }
    if (epoll_ctl(w->fd, EPOLL_CTL_ADD, l->events_fd, &ev) < 0 &&
        (errno != EEXIST || epoll_ctl(w->fd, EPOLL_CTL_MOD, l->events_fd, &ev) < 0)) {
        return mi_err_sys(e, "unable to watch cgroup %s", l->path);
    }
    return 0;
}

void
cg_watch_del(struct cg_watch *w, const struct cg_leaf *l)
{
    if (w->fd >= 0 && l->events_fd >= 0) {
        /* ENOENT (never added) and EBADF are both fine here. */
        epoll_ctl(w->fd, EPOLL_CTL_DEL, l->events_fd, NULL);
    }
}

int
cg_watch_drain(struct cg_watch *w, uint64_t *cookies, int max, struct mi_err *e)
{
    struct epoll_event ev[CG_DRAIN_BATCH];
    int n;

    if (max > CG_DRAIN_BATCH) {
        max = CG_DRAIN_BATCH;
    }
    do {
        n = epoll_wait(w->fd, ev, max, 0);
    } while (n < 0 && errno == EINTR);
    if (n < 0) {
        return mi_err_sys(e, "unable to read the cgroup event watch");
    }
    for (int i = 0; i < n; i++) {
        cookies[i] = ev[i].data.u64;
    }
    return n;
}

void
cg_watch_close(struct cg_watch *w)
{
    sys_close(w->fd);
    w->fd = -1;
}
