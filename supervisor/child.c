/* SPDX-License-Identifier: MIT */
/*
 * Runs in the child after clone(CLONE_VM|CLONE_VFORK) and before exec: it
 * shares minit's memory while minit waits, so it uses raw syscalls only, no
 * malloc, stdio, logging or libev, and writes nothing of minit's but its
 * own failure report. Not instrumented by sanitizers (it runs on a stack
 * they do not know).
 *
 * Order (STYLE.md): every signal back to SIG_DFL, its own process group and
 * the terminal's foreground, the mask emptied last (while signals are still
 * blocked, tcsetpgrp from the background cannot stop it), then exec.
 *
 * Why not posix_spawn: glibc's child marks its internal signals 32 and 33
 * SIG_IGN, and SIG_IGN survives exec, so every program would start with
 * those two ignored; and services need steps posix_spawn has no attribute
 * for (user, groups, umask, cgroup).
 */
#include "supervisor/internal.h"

#include <errno.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#define SV_NOSAN __attribute__((no_sanitize("address", "undefined")))

/* The kernel's struct sigaction for rt_sigaction(2) on x86-64 and others
 * with SA_RESTORER; handler SIG_DFL needs no restorer. */
struct sv_ksigaction {
    void *handler;
    unsigned long flags;
    void *restorer;
    uint64_t mask;
};

const char *
sv_step_name(enum sv_step step)
{
    switch (step) {
    case SV_STEP_SIGNALS:
        return "reset signals for";
    case SV_STEP_PGROUP:
        return "set the process group of";
    case SV_STEP_TERMINAL:
        return "hand the terminal to";
    case SV_STEP_EXEC:
        return "run";
    case SV_STEP_NONE:
        break;
    }
    return "start";
}

SV_NOSAN static int
child_fail(struct sv_child *c, enum sv_step step, int errnum)
{
    c->fail_step = step;
    c->fail_errno = errnum;
    return 127;
}

SV_NOSAN static void
child_reset_signals(void)
{
    struct sv_ksigaction dfl = {.handler = SIG_DFL};

    /* Raw syscall: glibc's sigaction refuses its own 32 and 33. */
    for (long s = 1; s <= 64; s++) {
        if (s != SIGKILL && s != SIGSTOP) {
            syscall(SYS_rt_sigaction, s, &dfl, NULL, sizeof(uint64_t));
        }
    }
}

/* execvp's search, without malloc: each PATH entry in turn; EACCES is
 * remembered, ENOENT-like errors move on, anything else stops. */
SV_NOSAN static int
child_exec(struct sv_child *c)
{
    const char *file = c->argv[0];
    const char *p = c->path;
    size_t flen = 0;
    bool eacces = false;

    for (const char *q = file; *q; q++) {
        if (*q == '/') {
            syscall(SYS_execve, file, c->argv, c->envp);
            return errno;
        }
        flen++;
    }
    while (p != NULL) {
        const char *end = p;
        size_t dlen;

        while (*end != '\0' && *end != ':') {
            end++;
        }
        dlen = (size_t)(end - p);
        if (dlen + 1 + flen + 1 <= c->pathbuf_size) {
            char *b = c->pathbuf;
            size_t n = 0;

            for (size_t i = 0; i < dlen; i++) {
                b[n++] = p[i];
            }
            if (dlen > 0) {
                b[n++] = '/';
            }
            for (size_t i = 0; i < flen; i++) {
                b[n++] = file[i];
            }
            b[n] = '\0';
            syscall(SYS_execve, b, c->argv, c->envp);
            if (errno == EACCES) {
                eacces = true;
            } else if (errno != ENOENT && errno != ENOTDIR && errno != ESTALE && errno != ENODEV &&
                       errno != ETIMEDOUT) {
                return errno;
            }
        }
        p = *end == ':' ? end + 1 : NULL;
    }
    return eacces ? EACCES : ENOENT;
}

SV_NOSAN int
sv_child_main(void *arg)
{
    struct sv_child *c = arg;
    uint64_t empty = 0;
    pid_t self;

    child_reset_signals();
    if (c->own_pgroup && syscall(SYS_setpgid, 0, 0) < 0) {
        return child_fail(c, SV_STEP_PGROUP, errno);
    }
    if (c->take_terminal) {
        self = (pid_t)syscall(SYS_getpid);
        /* Not fatal: the terminal may have gone away meanwhile. */
        syscall(SYS_ioctl, STDIN_FILENO, TIOCSPGRP, &self);
    }
    if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof(empty)) < 0) {
        return child_fail(c, SV_STEP_SIGNALS, errno);
    }
    return child_fail(c, SV_STEP_EXEC, child_exec(c));
}
