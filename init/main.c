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
