/* SPDX-License-Identifier: MIT */
/*
 * main(): process setup in a fixed order, options, the one libev loop, and
 * the hand-over to the job. Before ev_run this file may fail fast with
 * mi_die() and DESIGN.md's exit codes; after it, nothing exits but main's
 * return.
 */
#include <errno.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <unistd.h>

#include <ev.h>

#include "init/init.h"
#include "init/log.h"
#include "init/parse.h"
#include "init/sys.h"
#include "supervisor/supervisor.h"

extern char **environ;

/* libev calls this instead of abort() on a failed syscall it cannot handle:
 * log it; the loop goes on, since dying would kill the container. */
static void
loop_syserr_cb(const char *msg)
{
    mi_log(MI_LOG_ERROR, "internal error: event loop: %s: %s", msg, strerror(errno));
}

/*
 * libev's allocator. Its first few blocks (the epoll event array, the fd
 * table) come from a small static arena, so that job 1 never initialises
 * malloc (which costs a getrandom and three brk calls, and thousands of
 * instructions, at the start of every container). Each arena block has a
 * size header; an arena block that must grow moves to the heap. A failed
 * allocation is logged and returned as NULL, for libev to report, instead
 * of libev's abort().
 */
#define ARENA_SIZE 8192
static _Alignas(16) unsigned char arena[ARENA_SIZE];
static size_t arena_used;

static bool
in_arena(const void *p)
{
    return (const unsigned char *)p >= arena && (const unsigned char *)p < arena + ARENA_SIZE;
}

static void *
arena_take(size_t size)
{
    size_t need = ((size + 15) & ~(size_t)15) + 16;
    unsigned char *p;

    if (need > ARENA_SIZE - arena_used) {
        return NULL;
    }
    p = arena + arena_used;
    arena_used += need;
    memcpy(p, &size, sizeof(size));
    return p + 16;
}

static void *
loop_alloc(void *ptr, long size)
{
    void *r;
    size_t old = 0;

    if (size == 0) {
        if (!in_arena(ptr)) {
            free(ptr);
        }
        return NULL;
    }
    if (ptr != NULL && !in_arena(ptr)) {
        r = realloc(ptr, (size_t)size);
    } else {
        if (ptr != NULL) {
            memcpy(&old, (unsigned char *)ptr - 16, sizeof(old));
        }
        r = arena_take((size_t)size);
        if (r == NULL) {
            r = malloc((size_t)size);
        }
        if (r != NULL && ptr != NULL) {
            memcpy(r, ptr, old < (size_t)size ? old : (size_t)size);
        }
    }
    if (r == NULL) {
        mi_log(MI_LOG_ERROR, "internal error: out of memory (%ld bytes)", size);
    }
    return r;
}

/*
 * Steps 1-3 of STYLE.md's setup order: stdio open, SIGCHLD at its default
 * (an inherited SIG_IGN would make the kernel reap for us and waitpid fail),
 * every handled signal blocked. SIGPIPE is among the blocked ones, so a
 * write to a closed pipe returns EPIPE and the signal is dropped as minit's
 * own; the program gets every disposition reset by sv_spawn.
 */
static void
setup_process(void)
{
    struct sigaction sa;

    if (sys_sanitize_stdio() < 0) {
        /* Nothing can even report it. */
        _exit(125);
    }
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = SIG_DFL;
    sigaction(SIGCHLD, &sa, NULL);
    init_signals_block();
}

/* Returns the signal to forward at once if the parent is already gone
 * (its pid before and after arming differ). */
static int
setup_pdeathsig(const struct init_opts *o)
{
    pid_t ppid;

    if (o->pdeathsig == 0) {
        return 0;
    }
    ppid = getppid();
    if (prctl(PR_SET_PDEATHSIG, o->pdeathsig) < 0) {
        mi_die(2, "-p: unable to set the parent-death signal: %s", strerror(errno));
    }
    return getppid() != ppid ? o->pdeathsig : 0;
}

static void
setup_subreaper(const struct init_opts *o)
{
    if (init_self == 1) {
        return;
    }
    if (o->subreaper) {
        if (prctl(PR_SET_CHILD_SUBREAPER, 1) < 0) {
            mi_die(2, "-s: unable to become a child subreaper: %s", strerror(errno));
        }
        return;
    }
    mi_log(MI_LOG_WARNING, "not PID 1 and not a child subreaper: zombie reaping won't work "
                           "for orphans (use -s or MINIT_SUBREAPER=1)");
}

static int
spawn_exit_code(int errnum)
{
    return errnum == ENOENT || errnum == ENOTDIR || errnum == ENAMETOOLONG ? 127 : 126;
}

struct ev_loop *
init_loop(void)
{
    struct ev_loop *loop;

    ev_set_syserr_cb(loop_syserr_cb);
    ev_set_allocator(loop_alloc);
    loop = ev_default_loop(EVFLAG_SIGNALFD | EVFLAG_NOENV | EVBACKEND_EPOLL);
    if (loop == NULL) {
        mi_log(MI_LOG_ERROR, "unable to create the event loop");
    }
    return loop;
}

void
init_close_fds(const struct init_opts *o)
{
    if (o->keep_fd < 3) {
        sys_close_range(3, ~0U, 0);
        return;
    }
    if (o->keep_fd > 3) {
        sys_close_range(3, (unsigned)o->keep_fd - 1, 0);
    }
    sys_close_range((unsigned)o->keep_fd + 1, ~0U, 0);
}

int
init_run_program(struct init_opts *o, int pending_sig)
{
    struct sv_exec x = {.argv = o->argv, .envp = environ, .own_pgroup = true};
    struct ev_loop *loop;
    struct mi_err e = {0};
    pid_t pid;

    /* Hand the terminal to the program's group only when minit holds it:
     * a background minit must not steal the foreground. */
    x.take_terminal = isatty(STDIN_FILENO) && tcgetpgrp(STDIN_FILENO) == getpgrp();
    if (o->cgroup != NULL && strcmp(o->cgroup, "none") != 0) {
        if (sv_payload_cgroup(o->cgroup, &e) == 0) {
            x.payload_cgroup = true;
        } else {
            mi_log(MI_LOG_WARNING, "--cgroup %s: not used: %s", o->cgroup, e.msg);
            mi_err_clear(&e);
        }
    }
    pid = sv_spawn(&x, &e);
    if (pid < 0) {
        int code = spawn_exit_code(e.errnum);

        mi_err_log(&e);
        return code;
    }
    /* The program keeps the cwd it was given; minit lets go of it so it
     * pins no mount (catatonit #28). Inherited fds were the program's to
     * have; minit's own copies could keep a pipe from reaching EOF. */
    if (chdir("/") < 0) {
        mi_log(MI_LOG_DEBUG, "unable to chdir to /: %m");
    }
    mi_log_reset();
    init_close_fds(o);
    loop = init_loop();
    if (loop == NULL) {
        return 125;
    }
    return init_pid1_run(loop, o, pid, pending_sig);
}

int
main(int argc, char **argv)
{
    struct init_opts o;
    struct mi_err e = {0};
    int pending_sig;
    int r;

    setup_process();
    init_self = getpid();
    if (argc > 1 && strcmp(argv[1], "ctl") == 0) {
        return init_ctl_main(argc - 1, argv + 1);
    }
    r = init_opts_parse(&o, argc, argv, &e);
    if (r < 0) {
        mi_die(2, "%s", e.msg);
    }
    if (r != INIT_OPTS_RUN) {
        return 0;
    }
    mi_log_level = init_opts_log_level(&o);
    pending_sig = setup_pdeathsig(&o);
    if (o.ct.rootfs != NULL) {
        return init_container_run(&o, pending_sig);
    }
    if (o.config != NULL) {
        return init_services_run(&o, NULL);
    }
    setup_subreaper(&o);
    return init_run_program(&o, pending_sig);
}
