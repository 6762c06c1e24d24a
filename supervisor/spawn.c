/* SPDX-License-Identifier: MIT */
/*
 * Spawning a program with glibc's posix_spawn: its child runs on its own
 * stack in the parent's memory (CLONE_VM|CLONE_VFORK), applies the
 * attributes below and execs, so there is no copy of minit's page tables and
 * no hand-written code between fork and exec; the exec's errno is returned
 * synchronously.
 */
#include "supervisor/supervisor.h"

#include <errno.h>
#include <signal.h>
#include <spawn.h>
#include <unistd.h>

pid_t
sv_spawn(const struct sv_exec *x, struct mi_err *e)
{
    posix_spawnattr_t attr;
    posix_spawn_file_actions_t fa;
    sigset_t all;
    sigset_t none;
    short flags = POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF;
    pid_t pid = -1;
    int rc;

    sigfillset(&all);
    sigemptyset(&none);
    posix_spawnattr_init(&attr);
    posix_spawn_file_actions_init(&fa);
    /* Every signal back to SIG_DFL, SIG_IGN included: the program must not
     * inherit dispositions the caller of minit happened to have. */
    posix_spawnattr_setsigdefault(&attr, &all);
    posix_spawnattr_setsigmask(&attr, &none);
    if (x->own_pgroup) {
        flags |= POSIX_SPAWN_SETPGROUP;
        posix_spawnattr_setpgroup(&attr, 0);
    }
    posix_spawnattr_setflags(&attr, flags);
    /* Runs in the child before the mask is restored, so SIGTTOU cannot stop
     * it; the caller only asks when minit holds the foreground. */
    if (x->take_terminal) {
        posix_spawn_file_actions_addtcsetpgrp_np(&fa, STDIN_FILENO);
    }
    rc = posix_spawnp(&pid, x->argv[0], &fa, &attr, x->argv, x->envp);
    posix_spawn_file_actions_destroy(&fa);
    posix_spawnattr_destroy(&attr);
    if (rc != 0) {
        return mi_err_set(e, rc, "unable to run '%s'", x->argv[0]);
    }
    return pid;
}
