/* SPDX-License-Identifier: MIT */
/*
 * Runs in the child after clone(CLONE_VM|CLONE_VFORK) and before exec: it
 * shares minit's memory while minit waits, so it uses raw syscalls only, no
 * malloc, stdio, logging or libev, and writes nothing of minit's but its
 * own failure report. Not instrumented by sanitizers (it runs on a stack
 * they do not know).
 *
 * Order (STYLE.md): every signal back to SIG_DFL, its own process group, its
 * cgroup leaf (so that no process of a service runs outside it), and
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
#include <fcntl.h>
#include <signal.h>
#include <stdint.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "cgroupfs/cgroupfs.h"
#include "ns/ns.h"

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
    case SV_STEP_CGROUP:
        return "join the cgroup of";
    case SV_STEP_RLIMIT:
        return "set the open-files limit of";
    case SV_STEP_FDS:
        return "set up stdio for";
    case SV_STEP_CWD:
        return "enter the directory of";
    case SV_STEP_GROUPS:
        return "set the supplementary groups of";
    case SV_STEP_GID:
        return "set the group of";
    case SV_STEP_UID:
        return "set the user of";
    case SV_STEP_PRIVS:
        return "drop the privileges of";
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

/* The inherited SIG_IGN set, from the SigIgn line of /proc/self/status
 * (3 syscalls instead of 62 sigaction queries); all ones when /proc is
 * not there, so that every signal is reset. minit installs no handler, so
 * SIG_IGN is the only disposition that can differ from SIG_DFL. */
SV_NOSAN static uint64_t
child_ignored(void)
{
    static const char key[] = "SigIgn:\t";
    char buf[2048];
    uint64_t mask = 0;
    long n;
    long fd = syscall(SYS_openat, AT_FDCWD, "/proc/self/status", O_RDONLY | O_CLOEXEC);

    if (fd < 0) {
        return ~(uint64_t)0;
    }
    n = syscall(SYS_read, fd, buf, sizeof(buf) - 1);
    syscall(SYS_close, fd);
    for (long i = 0; i + 8 + 16 <= n; i++) {
        long k = 0;

        while (k < 8 && buf[i + k] == key[k]) {
            k++;
        }
        if (k < 8) {
            continue;
        }
        for (long j = i + 8; j < i + 24; j++) {
            char c = buf[j];

            mask = (mask << 4) | (uint64_t)(c <= '9' ? c - '0' : c - 'a' + 10);
        }
        return mask;
    }
    return ~(uint64_t)0;
}

SV_NOSAN static void
child_reset_signals(void)
{
    struct sv_ksigaction dfl = {.handler = SIG_DFL};
    uint64_t ign = child_ignored();

    /* Raw syscall: glibc's sigaction refuses its own 32 and 33. */
    for (long s = 1; s <= 64; s++) {
        if (s != SIGKILL && s != SIGSTOP && (ign & (1ULL << (s - 1)))) {
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

/* Puts each fds[i].from on fds[i].to. Every source is first copied above
 * every target (close-on-exec), so that no dup2 overwrites a source still
 * to be used and a source already on its target still loses CLOEXEC. */
SV_NOSAN static int
child_fds(struct sv_child *c)
{
    int tmp[SV_CHILD_MAXFD];
    int top = 0;

    for (int i = 0; i < c->nfds; i++) {
        top = c->fds[i].to > top ? c->fds[i].to : top;
    }
    for (int i = 0; i < c->nfds; i++) {
        tmp[i] = (int)syscall(SYS_fcntl, c->fds[i].from, F_DUPFD_CLOEXEC, top + 1);
        if (tmp[i] < 0) {
            return -1;
        }
    }
    for (int i = 0; i < c->nfds; i++) {
        if (syscall(SYS_dup2, tmp[i], c->fds[i].to) < 0) {
            return -1;
        }
    }
    return 0;
}

SV_NOSAN static int
child_ids(struct sv_child *c)
{
    if (syscall(SYS_setgroups, (long)c->ngroups, c->groups) < 0) {
        return child_fail(c, SV_STEP_GROUPS, errno);
    }
    if (syscall(SYS_setresgid, c->gid, c->gid, c->gid) < 0) {
        return child_fail(c, SV_STEP_GID, errno);
    }
    if (syscall(SYS_setresuid, c->uid, c->uid, c->uid) < 0) {
        return child_fail(c, SV_STEP_UID, errno);
    }
    return 0;
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
    if (c->leaf != NULL && cg_join_in_child(c->leaf, false) < 0) {
        return child_fail(c, SV_STEP_CGROUP, errno);
    }
    if (c->take_terminal) {
        self = (pid_t)syscall(SYS_getpid);
        /* Not fatal: the terminal may have gone away meanwhile. */
        syscall(SYS_ioctl, STDIN_FILENO, TIOCSPGRP, &self);
    }
    if (c->nfds > 0 && child_fds(c) < 0) {
        return child_fail(c, SV_STEP_FDS, errno);
    }
    /* After the dups: minit's own fds (close-on-exec, gone at exec) may
     * sit above the limit the program gets back. */
    if (c->set_nofile && syscall(SYS_prlimit64, 0, RLIMIT_NOFILE, c->nofile, NULL) < 0) {
        return child_fail(c, SV_STEP_RLIMIT, errno);
    }
    if (c->cwd != NULL && syscall(SYS_chdir, c->cwd) < 0) {
        return child_fail(c, SV_STEP_CWD, errno);
    }
    if (c->set_umask) {
        syscall(SYS_umask, c->umask);
    }
    /* The bounding set needs CAP_SETPCAP, which a non-root uid loses; the
     * other sets are final only once the uid is. The seccomp filter comes
     * last: it may deny what the steps before it use. */
    if (c->privs != NULL && ns_bounding_in_child(c->privs) != NS_PRIV_OK) {
        return child_fail(c, SV_STEP_PRIVS, errno);
    }
    if (c->set_ids && child_ids(c) != 0) {
        return 127;
    }
    if (c->privs != NULL &&
        ns_privs_in_child(c->privs, c->set_ids ? c->uid : (uid_t)syscall(SYS_getuid)) !=
                NS_PRIV_OK) {
        return child_fail(c, SV_STEP_PRIVS, errno);
    }
    if (syscall(SYS_rt_sigprocmask, SIG_SETMASK, &empty, NULL, sizeof(empty)) < 0) {
        return child_fail(c, SV_STEP_SIGNALS, errno);
    }
    return child_fail(c, SV_STEP_EXEC, child_exec(c));
}
