/* SPDX-License-Identifier: MIT */
/*
 * The one libev loop (with minit's allocator), fd hygiene, and job 1's
 * spawn: shared by main() and job 3's two halves.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ev.h>

#include "init/init.h"
#include "init/log.h"
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
    int status;
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
    status = init_pid1_run(loop, o, pid, pending_sig);
    sv_payload_cgroup_exit();
    return status;
}
