/* SPDX-License-Identifier: MIT */
/*
 * Spawning: clone(CLONE_VM|CLONE_VFORK) into sv_child_main() on a small
 * stack of its own. The child shares minit's memory and minit is suspended
 * until the child has exec'd or exited, so there is no copy of minit's page
 * tables (fork costs ~0.5 ms on a small VM) and the exec's errno comes back
 * synchronously through struct sv_child, with no handshake pipe. minit has
 * every signal it handles blocked and installs no handler, so nothing of
 * minit's runs in the child.
 */
#include "supervisor/supervisor.h"

#include <errno.h>
#include <limits.h>
#include <sched.h>
#include <signal.h>
#include <stdlib.h>

#include "supervisor/internal.h"

/* The child's stack: it only runs sv_child_main's few frames. */
static char child_stack[16384] __attribute__((aligned(64)));

#define SV_DEFAULT_PATH "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"

static const struct sv_payload *payload;

void
sv_set_payload(const struct sv_payload *p)
{
    payload = p;
}

const struct sv_payload *
sv_payload(void)
{
    return payload;
}

pid_t
sv_spawn_child(struct sv_child *c, struct mi_err *e)
{
    char pathbuf[PATH_MAX];
    pid_t pid;

    if (payload != NULL && c->privs == NULL) {
        c->privs = &payload->privs;
    }
    if (payload != NULL && !c->set_ids && payload->ids.set) {
        c->set_ids = true;
        c->uid = payload->ids.uid;
        c->gid = payload->ids.gid;
        c->groups = payload->ids.groups;
        c->ngroups = payload->ids.ngroups;
    }
    if (payload != NULL && c->cwd == NULL) {
        c->cwd = payload->cwd;
    }
    c->pathbuf = pathbuf;
    c->pathbuf_size = sizeof(pathbuf);
    c->fail_step = SV_STEP_NONE;
    c->fail_errno = 0;
    if (c->path == NULL) {
        c->path = getenv("PATH");
    }
    if (c->path == NULL) {
        c->path = SV_DEFAULT_PATH;
    }
    pid = clone(sv_child_main, child_stack + sizeof(child_stack), CLONE_VM | CLONE_VFORK | SIGCHLD,
                c);
    if (pid < 0) {
        return mi_err_sys(e, "unable to fork for '%s'", c->argv[0]);
    }
    if (c->fail_step != SV_STEP_NONE) {
        /* The child has exited 127; the reaper collects it. */
        return mi_err_set(e, c->fail_errno, "unable to %s '%s'", sv_step_name(c->fail_step),
                          c->argv[0]);
    }
    return pid;
}

pid_t
sv_spawn(const struct sv_exec *x, struct mi_err *e)
{
    struct sv_child c = {
            .argv = x->argv,
            .envp = x->envp,
            .own_pgroup = x->own_pgroup,
            .take_terminal = x->take_terminal,
    };

    if (x->payload_cgroup) {
        c.leaf = sv_cgroup_payload();
    }
    return sv_spawn_child(&c, e);
}
