/* SPDX-License-Identifier: MIT */
/*
 * supervisor/'s private interface: the child side of a spawn.
 */
#ifndef MINIT_SUPERVISOR_INTERNAL_H
#define MINIT_SUPERVISOR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* Where a spawn failed, reported by the child through shared memory. */
enum sv_step {
    SV_STEP_NONE = 0,
    SV_STEP_SIGNALS,
    SV_STEP_PGROUP,
    SV_STEP_TERMINAL,
    SV_STEP_EXEC,
};

/* Everything the child needs, prepared by the parent: the child only
 * applies it (no malloc, no stdio, no logging, no libev). */
struct sv_child {
    char *const *argv;
    char *const *envp;
    const char *path; /* PATH for a bare argv[0] */
    char *pathbuf;    /* room to build "dir/argv0", in the parent's frame */
    size_t pathbuf_size;
    bool own_pgroup;
    bool take_terminal;
    /* Written by the child when it fails, read by the parent after the
     * vfork-style clone returns. */
    enum sv_step fail_step;
    int fail_errno;
};

/* The child's entry point (clone's fn). Runs between clone and exec:
 * async-signal-safe raw syscalls only. Returns only to exit 127. */
int sv_child_main(void *arg);

/* Human name of a step ("exec", "set the process group", ...). */
const char *sv_step_name(enum sv_step step);

#endif
