/* SPDX-License-Identifier: MIT */
/* Unit tests: command-line parsing (init/opts.c) and exit statuses. */
#include <signal.h>
#include <stdlib.h>
#include <sys/wait.h>

#include "init/init.h"
#include "init/log.h"
#include "tests/tap.h"

static int
parse(struct init_opts *o, struct mi_err *e, char **argv)
{
    int argc = 0;

    while (argv[argc] != NULL) {
        argc++;
    }
    mi_err_clear(e);
    return init_opts_parse(o, argc, argv, e);
}

#define ARGV(...) ((char *[]){__VA_ARGS__, NULL})

static void
test_program_and_stop(void)
{
    struct init_opts o;
    struct mi_err e = {0};
    char *a1[] = {"minit", "sh", "-c", "exit 3", NULL};
    char *a2[] = {"minit", "-s", "--", "-x", NULL};
    char *a3[] = {"minit", "--", "--", "true", NULL};

    CHECK_INT(parse(&o, &e, a1), INIT_OPTS_RUN, "options stop at the first operand");
    CHECK_STR(o.argv[0], "sh", "program is sh");
    CHECK_STR(o.argv[1], "-c", "-c belongs to the program");
    CHECK_INT(parse(&o, &e, a2), INIT_OPTS_RUN, "-- ends options");
    CHECK_STR(o.argv[0], "-x", "program after -- may start with -");
    TAP_OK(o.subreaper, "-s sets subreaper");
    CHECK_INT(parse(&o, &e, a3), INIT_OPTS_RUN, "-- --");
    CHECK_STR(o.argv[0], "--", "second -- is the program");
}

static void
test_flags(void)
{
    struct init_opts o;
    struct mi_err e = {0};

    CHECK_INT(parse(&o, &e,
                    ARGV("minit", "-g", "-w", "-vv", "-e", "143", "-e", "3", "-p", "SIGUSR1", "-r",
                         "TERM:QUIT", "-r", "WINCH:0", "-t", "250ms", "true")),
              INIT_OPTS_RUN, "all job-1 flags parse");
    TAP_OK(o.pgroup && o.warn_reap, "-g -w");
    CHECK_INT(o.verbose, 2, "-vv counts twice");
    TAP_OK((o.remap[143 / 8] & (1 << (143 % 8))) && (o.remap[0] & (1 << 3)), "-e 143 -e 3");
    TAP_OK(!(o.remap[0] & (1 << 4)), "-e 4 not set");
    CHECK_INT(o.pdeathsig, SIGUSR1, "-p SIGUSR1");
    CHECK_INT(o.rewrite[SIGTERM], SIGQUIT, "-r TERM:QUIT");
    CHECK_INT(o.rewrite[SIGWINCH], 0, "-r WINCH:0 drops");
    CHECK_INT(o.rewrite[SIGINT], SIGINT, "other signals unchanged");
    CHECK_INT(o.grace_ms, 250, "-t 250ms");
    CHECK_INT(parse(&o, &e,
                    ARGV("minit", "--subreaper", "--pgroup", "--remap-exit=7", "--rewrite", "15:3",
                         "--grace", "2", "--warn-reap", "--verbose", "true")),
              INIT_OPTS_RUN, "long options parse");
    TAP_OK(o.subreaper && o.pgroup && o.warn_reap && o.verbose == 1, "long flags set");
    CHECK_INT(o.rewrite[15], 3, "--rewrite 15:3");
    CHECK_INT(o.grace_ms, 2000, "--grace 2 is seconds");
    {
        char *a[] = {"minit", "-c", "/etc/minit.ini", NULL};

        CHECK_INT(parse(&o, &e, a), INIT_OPTS_RUN, "-c FILE");
        CHECK_STR(o.config, "/etc/minit.ini", "config path");
    }
    CHECK_INT(parse(&o, &e, ARGV("minit", "-n", "-c", "f.ini", "-S", "none")), INIT_OPTS_RUN,
              "-n -c -S");
    TAP_OK(o.check, "-n sets check");
    CHECK_STR(o.socket, "none", "-S none");
}

static void
test_errors(void)
{
    const struct {
        char **argv;
        const char *msg;
    } bad[] = {
            {ARGV("minit"), "no program"},
            {ARGV("minit", "-x", "true"), "'-x'"},
            {ARGV("minit", "--bogus", "true"), "'--bogus'"},
            {ARGV("minit", "-e"), "needs an argument"},
            {ARGV("minit", "-e", "256", "true"), "-e"},
            {ARGV("minit", "-e", "x", "true"), "-e"},
            {ARGV("minit", "-p", "NOPE", "true"), "-p"},
            {ARGV("minit", "-r", "15", "true"), "-r"},
            {ARGV("minit", "-r", "15:99", "true"), "-r"},
            {ARGV("minit", "-r", "KILL:TERM", "true"), "KILL"},
            {ARGV("minit", "-r", ":3", "true"), "-r"},
            {ARGV("minit", "-t", "soon", "true"), "-t"},
            {ARGV("minit", "-c", "f", "true"), "cannot be given together"},
            {ARGV("minit", "-n", "true"), "-n needs -c"},
    };
    struct init_opts o;
    struct mi_err e = {0};

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(parse(&o, &e, bad[i].argv), -1, "bad command line %zu rejected", i);
        CHECK_CONTAINS(e.msg, bad[i].msg, "error %zu names the problem", i);
    }
}

static void
test_env_and_names(void)
{
    struct init_opts o;
    struct mi_err e = {0};

    setenv("TINI_SUBREAPER", "", 1);
    setenv("TINI_KILL_PROCESS_GROUP", "1", 1);
    parse(&o, &e, ARGV("minit", "true"));
    TAP_OK(o.subreaper && o.pgroup, "TINI_SUBREAPER and TINI_KILL_PROCESS_GROUP honoured");
    unsetenv("TINI_SUBREAPER");
    unsetenv("TINI_KILL_PROCESS_GROUP");
    setenv("MINIT_SUBREAPER", "0", 1);
    parse(&o, &e, ARGV("minit", "true"));
    TAP_OK(!o.subreaper && !o.pgroup, "MINIT_SUBREAPER=0 is off");
    setenv("MINIT_SUBREAPER", "1", 1);
    parse(&o, &e, ARGV("minit", "true"));
    TAP_OK(o.subreaper, "MINIT_SUBREAPER=1 is on");
    unsetenv("MINIT_SUBREAPER");

    parse(&o, &e, ARGV("/usr/bin/docker-init", "--", "true"));
    TAP_OK(o.as_tini, "docker-init is tini");
    parse(&o, &e, ARGV("tini", "true"));
    TAP_OK(o.as_tini, "tini is tini");
    parse(&o, &e, ARGV("/sbin/minit", "true"));
    TAP_OK(!o.as_tini, "minit is not tini");

    setenv("TINI_VERBOSITY", "3", 1);
    parse(&o, &e, ARGV("minit", "true"));
    CHECK_INT(init_opts_log_level(&o), MI_LOG_DEBUG, "TINI_VERBOSITY=3 is debug");
    unsetenv("TINI_VERBOSITY");
    setenv("MINIT_LOG_LEVEL", "error", 1);
    parse(&o, &e, ARGV("minit", "-v", "true"));
    CHECK_INT(init_opts_log_level(&o), MI_LOG_WARNING, "MINIT_LOG_LEVEL=error plus -v");
    unsetenv("MINIT_LOG_LEVEL");
    parse(&o, &e, ARGV("minit", "-vvvvv", "true"));
    CHECK_INT(init_opts_log_level(&o), MI_LOG_DEBUG, "level capped at debug");
}

static void
test_exit_status(void)
{
    struct init_opts o;
    struct mi_err e = {0};

    parse(&o, &e, ARGV("minit", "-e", "143", "-e", "5", "true"));
    for (int c = 0; c < 256; c++) {
        int want = (c == 5 || c == 143) ? 0 : c;

        CHECK_INT(init_exit_status(&o, W_EXITCODE(c, 0)), want, "exit %d -> %d", c, want);
    }
    CHECK_INT(init_exit_status(&o, W_EXITCODE(0, SIGKILL)), 137, "SIGKILL -> 137");
    CHECK_INT(init_exit_status(&o, W_EXITCODE(0, SIGTERM)), 0, "SIGTERM -> 143 -> -e 0");
    CHECK_INT(init_exit_status(&o, W_EXITCODE(0, SIGSEGV) | 0x80), 139, "core dump -> 139");
}

static void
test_signal_table(void)
{
    int forwarded = 0;

    CHECK_INT(init_signal_action(SIGKILL), INIT_SIG_NONE, "KILL not caught");
    CHECK_INT(init_signal_action(SIGSTOP), INIT_SIG_NONE, "STOP not caught");
    CHECK_INT(init_signal_action(SIGCHLD), INIT_SIG_REAP, "CHLD reaps");
    CHECK_INT(init_signal_action(SIGTSTP), INIT_SIG_FORWARD_STOP, "TSTP forwarded then stop");
    CHECK_INT(init_signal_action(SIGTTIN), INIT_SIG_FORWARD_STOP, "TTIN forwarded then stop");
    CHECK_INT(init_signal_action(SIGTTOU), INIT_SIG_FORWARD_STOP, "TTOU forwarded then stop");
    CHECK_INT(init_signal_action(32), INIT_SIG_NONE, "glibc's 32 not caught");
    CHECK_INT(init_signal_action(33), INIT_SIG_NONE, "glibc's 33 not caught");
    CHECK_INT(init_signal_action(0), INIT_SIG_NONE, "0 not a signal");
    CHECK_INT(init_signal_action(65), INIT_SIG_NONE, "65 not a signal");
    for (int s = 1; s <= 64; s++) {
        enum init_sig_action a = init_signal_action(s);

        forwarded += a == INIT_SIG_FORWARD || a == INIT_SIG_FORWARD_STOP;
    }
    /* 64 minus KILL, STOP, CHLD, 32, 33. */
    CHECK_INT(forwarded, 59, "59 signals are forwarded");
}

int
main(void)
{
    mi_log_level = -2; /* quiet: --help is not exercised here */
    test_program_and_stop();
    test_flags();
    test_errors();
    test_env_and_names();
    test_exit_status();
    test_signal_table();
    return done_testing();
}
