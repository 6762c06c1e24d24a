/* SPDX-License-Identifier: MIT */
/*
 * Killing a leaf: cgroup.kill (Linux 5.14+), which the kernel applies to
 * every process in the subtree, forks in flight included. The fallback for
 * older kernels and v1 is crun's shape: freeze so nobody forks, SIGKILL each
 * pid, thaw always (a v1-frozen task dies only once thawed, and a failed
 * kill must never leave the leaf frozen), and a few rounds at most.
 */
#include "cgroupfs/internal.h"

#include <errno.h>
#include <signal.h>
#include <unistd.h>

struct kill_ctx {
    pid_t self;
    int errnum; /* first kill(2) failure other than ESRCH */
};

static int
kill_one(pid_t pid, void *arg)
{
    struct kill_ctx *k = arg;

    /* minit is never in a leaf it kills; if that ever breaks, it must not
     * take minit down with it. */
    if (pid != k->self && kill(pid, SIGKILL) < 0 && errno != ESRCH && k->errnum == 0) {
        k->errnum = errno;
    }
    return 0;
}

/* One round; returns the number of pids signalled or -1 with *e. The thaw
 * uses its own error object so that the first error survives. */
static int
kill_round(struct cg_leaf *l, struct mi_err *e)
{
    struct kill_ctx k = {getpid(), 0};
    struct mi_err e2 = {0};
    char msg[CG_PATH_MAX + 64];
    bool froze = cg_freeze(l, true, &e2) == 0;
    int n = cg_each_pid(l->dirfd, kill_one, &k);
    int saved = errno;

    if (froze && cg_freeze(l, false, &e2) < 0 && n >= 0) {
        *e = e2;
        return -1;
    }
    cg_fullpath(msg, sizeof(msg), l->hier, l->path, NULL);
    if (n < 0) {
        return mi_err_set(e, saved, "unable to read %s/cgroup.procs", msg);
    }
    if (k.errnum != 0) {
        return mi_err_set(e, k.errnum, "unable to kill the processes of cgroup %s", msg);
    }
    return n;
}

int
cg_kill_fallback(struct cg_leaf *l, struct mi_err *e)
{
    for (int i = 0; i < CG_KILL_ROUNDS; i++) {
        int n = kill_round(l, e);

        if (n <= 0) {
            return n;
        }
    }
    return 0;
}

int
cg_kill(struct cg_leaf *l, struct mi_err *e)
{
    if (l->dirfd < 0) {
        return mi_err_set(e, EBADF, "unable to kill cgroup %s: not open", l->path);
    }
    if (l->root->mode == CG_MODE_V2) {
        if (cg_leaf_write(l, -1, "cgroup.kill", "1", e) == 0) {
            return 0;
        }
        /* ENOENT: no cgroup.kill before Linux 5.14. */
        if (e->errnum != ENOENT) {
            return -1;
        }
        mi_err_clear(e);
    }
    return cg_kill_fallback(l, e);
}
