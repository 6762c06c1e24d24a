/* SPDX-License-Identifier: MIT */
/*
 * Freezing and the state of a leaf: cgroup.freeze and cgroup.events in v2,
 * freezer.state in v1. Only requests and reads: a freeze completes
 * asynchronously, and waiting for it (with a deadline, thawing again on
 * timeout) is the caller's, in its event loop.
 */
#include "cgroupfs/internal.h"

#include <errno.h>

int
cg_freeze(struct cg_leaf *l, bool frozen, struct mi_err *e)
{
    bool v2 = l->root->mode == CG_MODE_V2;
    const char *val = v2 ? (frozen ? "1" : "0") : (frozen ? "FROZEN" : "THAWED");

    if (l->dirfd < 0) {
        return mi_err_set(e, EBADF, "unable to %s cgroup %s: not open", frozen ? "freeze" : "thaw",
                          l->path);
    }
    if (cg_leaf_write(l, -1, v2 ? "cgroup.freeze" : "freezer.state", val, e) < 0) {
        /* ENOENT in v2: a kernel before 5.2 has no cgroup v2 freezer. */
        return -1;
    }
    return 0;
}

static int
stop_at_first(pid_t pid, void *arg)
{
    (void)pid;
    (void)arg;
    return 1;
}

/* v1: populated from cgroup.procs, frozen from freezer.state. */
static int
events_v1(const struct cg_leaf *l, bool *populated, bool *frozen, struct mi_err *e)
{
    char buf[64];
    enum cg_freezer_state st;
    int n = cg_each_pid(l->dirfd, stop_at_first, NULL);

    if (n < 0) {
        char msg[CG_PATH_MAX + 64];

        return mi_err_sys(e, "unable to read %s",
                          cg_fullpath(msg, sizeof(msg), l->hier, l->path, "cgroup.procs"));
    }
    if (cg_leaf_read(l, -1, "freezer.state", buf, sizeof(buf), e) < 0 ||
        cg_parse_freezer_state(buf, &st, e) < 0) {
        return -1;
    }
    *populated = n > 0;
    *frozen = st == CG_FREEZER_FROZEN;
    return 0;
}

int
cg_events(const struct cg_leaf *l, bool *populated, bool *frozen, struct mi_err *e)
{
    char buf[256];
    char msg[CG_PATH_MAX + 64];

    if (l->dirfd < 0) {
        return mi_err_set(e, EBADF, "unable to read the events of cgroup %s: not open", l->path);
    }
    if (l->root->mode != CG_MODE_V2) {
        return events_v1(l, populated, frozen, e);
    }
    cg_fullpath(msg, sizeof(msg), l->hier, l->path, "cgroup.events");
    if (l->events_fd < 0) {
        return mi_err_set(e, ENOENT, "unable to read %s", msg);
    }
    /* Reading through the fd the watch polls re-arms its POLLPRI. */
    if (cg_read_fd(l->events_fd, buf, sizeof(buf)) < 0) {
        return mi_err_sys(e, "unable to read %s", msg);
    }
    if (cg_parse_events(buf, populated, frozen, e) < 0) {
        return mi_err_wrap(e, "unable to parse %s", msg);
    }
    return 0;
}

int
cg_frozen(const struct cg_leaf *l, bool *frozen, struct mi_err *e)
{
    bool populated;

    return cg_events(l, &populated, frozen, e);
}
