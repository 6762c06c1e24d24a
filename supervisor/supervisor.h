/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's public interface: spawning programs (and, in job 2, the
 * service table). Callers in init/ get errors through struct mi_err.
 */
#ifndef MINIT_SUPERVISOR_H
#define MINIT_SUPERVISOR_H

#include <stdbool.h>
#include <sys/types.h>

#include "init/err.h"

/* What to run and how (job 1's program). */
struct sv_exec {
    char *const *argv;  /* argv[0] is looked up in PATH unless it has a '/' */
    char *const *envp;  /* the environment to pass */
    bool own_pgroup;    /* put it in its own process group */
    bool take_terminal; /* make that group the terminal's foreground group */
};

/*
 * Starts x->argv with an empty signal mask and every signal at its default
 * disposition, and no fd but those minit inherited without close-on-exec.
 * Uses posix_spawn (clone with CLONE_VM|CLONE_VFORK): the parent waits only
 * until the exec has happened, and an exec failure comes back here as an
 * errno, not as a child exit status. Returns the pid, or -1 with e->errnum
 * the exec's errno (ENOENT: not found; EACCES, ENOEXEC: not executable).
 * Opens no fd in the parent.
 */
pid_t sv_spawn(const struct sv_exec *x, struct mi_err *e);

#endif
