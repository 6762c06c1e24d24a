/* SPDX-License-Identifier: MIT */
/*
 * init/'s internal interface: options, the signal table, job 1. Nothing
 * outside init/ includes this header.
 */
#ifndef MINIT_INIT_H
#define MINIT_INIT_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "init/err.h"
#include "ns/ns.h"

#define INIT_NSIG 65 /* signals 1..64 */

/* minit's own pid, read once at start. */
extern pid_t init_self;

enum init_action {
    INIT_OPTS_RUN = 0, /* go on */
    INIT_OPTS_HELP,    /* --help printed: exit 0 */
    INIT_OPTS_VERSION, /* --version printed: exit 0 */
};

/* Job 3's container options (--new-container and [container]). Strings
 * point into argv or the config; lists are malloc'ed. */
struct init_container {
    const char *rootfs; /* --new-container ROOTFS; NULL: not job 3 */
    const char *hostname;
    const char *cgroup; /* the container's cgroup, relative to the v2 root */
    int net;            /* enum ns_net */
    bool net_set;
    bool userns;
    bool readonly;
    struct ns_mount *mounts;
    int nmounts;
    uint64_t cap_add; /* ns_caps */
    uint64_t cap_drop;
    const char *seccomp;
    char **env; /* K=V, NULL-terminated */
    int nenv;
    const char *workdir;
    const char *user;
    uint64_t memory_max; /* the whole container's limits; 0: none */
    uint64_t pids_max;
    char cpu_max[64];    /* "QUOTA PERIOD", "": none */
    char limit_flag[32]; /* the first limit given, for messages */
};

struct init_opts {
    bool subreaper;           /* -s, MINIT_SUBREAPER, TINI_SUBREAPER */
    bool pgroup;              /* -g, TINI_KILL_PROCESS_GROUP */
    bool warn_reap;           /* -w */
    bool check;               /* -n */
    bool as_tini;             /* invoked as tini or docker-init */
    uint8_t remap[32];        /* -e: bitmap of exit codes that become 0 */
    int pdeathsig;            /* -p, 0 = none */
    int rewrite[INIT_NSIG];   /* -r: signal -> signal to send, 0 = drop */
    int64_t grace_ms;         /* -t, -1 = none */
    int verbose;              /* -v count */
    const char *config;       /* -c */
    const char *socket;       /* -S */
    const char *cgroup;       /* --cgroup: job 1's program in PATH/payload */
    char **argv;              /* the program and its arguments */
    struct init_container ct; /* job 3 */
    int keep_fd;              /* an fd of minit's to keep open (job 3), -1: none */
};

/*
 * Parses argv and the environment into *o. Options stop at "--" or at the
 * first non-option. Returns INIT_OPTS_RUN, HELP or VERSION (after printing
 * to stdout), or -1 with a message naming the flag in *e (exit 2).
 */
int init_opts_parse(struct init_opts *o, int argc, char **argv, struct mi_err *e);

/* The usage text, for --help. */
void init_opts_usage(int fd, bool as_tini);

/* Log level from MINIT_LOG_LEVEL / TINI_VERBOSITY and -v. */
int init_opts_log_level(const struct init_opts *o);

/*
 * The signal table (signals.c). What minit does with each signal, per job.
 */
enum init_sig_action {
    INIT_SIG_NONE = 0,     /* not caught (KILL, STOP, glibc's 32 and 33) */
    INIT_SIG_REAP,         /* SIGCHLD: libev's reaper */
    INIT_SIG_FORWARD,      /* job 1: send on to the program */
    INIT_SIG_FORWARD_STOP, /* job 1: send on, then stop minit (job control) */
    INIT_SIG_SHUTDOWN,     /* job 2: orderly shutdown (TERM, INT, PWR) */
    INIT_SIG_RELOAD,       /* job 2: re-read the config (HUP) */
    INIT_SIG_REOPEN,       /* job 2: re-open log files (USR1) */
    INIT_SIG_IGNORE,       /* job 2: logged at debug, nothing else */
};

struct init_signals;
typedef void init_signal_fn(void *data, int sig, pid_t sender);

/* Blocks every signal minit handles (before anything is spawned, so none is
 * lost). Setup only. */
void init_signals_block(void);

/* The table's row for sig in job 1. */
enum init_sig_action init_signal_action(int sig);

/* The table's row for sig in job 2 (services). */
enum init_sig_action init_signal_action_services(int sig);

/* Opens one signalfd for every handled signal but SIGCHLD (which is libev's)
 * and watches it. `fn` is called for each signal read, except signals minit
 * sent itself (a SIGPIPE from its own write to a closed pipe, say). */
int init_signals_start(struct ev_loop *loop, init_signal_fn *fn, void *data, struct mi_err *e);

/*
 * Job 1 (pid1.c): watch the program `pid`, forward signals to it, reap
 * everything, and return minit's exit status once it is gone. A non-zero
 * pending_sig is forwarded first (the parent died before -p was armed).
 */
int init_pid1_run(struct ev_loop *loop, const struct init_opts *o, pid_t pid, int pending_sig);

/* Job 2 (services.c): supervise the services of cfg (NULL: load
 * o->config). Returns minit's exit status. */
struct sv_config;
int init_services_run(const struct init_opts *o, struct sv_config *cfg);

/* Loads o->config or exits 2 with the problems; with -n, prints the
 * verdict and exits 0 unless the caller has more to check
 * (init_services_check_done). */
struct sv_config *init_services_load(const struct init_opts *o);
void init_services_check_done(const struct init_opts *o, struct sv_config *cfg)
        __attribute__((noreturn));

/* Job 1 (main.c): spawn o->argv and be its PID 1. */
int init_run_program(struct init_opts *o, int pending_sig);

/* The one libev loop (main.c), with minit's allocator; NULL on failure
 * (logged). */
struct ev_loop *init_loop(void);

/* Closes every fd from 3 up but o->keep_fd. */
void init_close_fds(const struct init_opts *o);

/* Job 3 (container.c): build the container, then monitor it from the
 * host while its PID 1 runs job 1 or 2 inside. */
int init_container_run(struct init_opts *o, int pending_sig);

/* Sets one container option: `key` as in [container] (hostname, net,
 * userns, readonly, bind, ro_bind, tmpfs, cap_add, cap_drop, seccomp, env,
 * workdir, user, cgroup); `flag` names it in messages ("--bind" or
 * "FILE:LINE: bind"). arg NULL for a boolean flag means true. */
int init_container_set(struct init_container *c, const char *key, const char *arg, const char *flag,
                       struct mi_err *e);

/* Exit status for a wait status, after -e remapping. */
int init_exit_status(const struct init_opts *o, int wstatus);

/*
 * Config (config.c, the only user of inih). Reads FILE (size-capped,
 * lines of 200+ bytes rejected), parses [minit], [service:NAME] and
 * supervisord's sections, validates, and returns a new config. Every
 * problem is logged as it is found, one line each, "config FILE:LINE:
 * ..."; on any error returns NULL with *e summarising ("N errors in FILE").
 * Warnings (supervisord keys minit does not use) are logged and do not fail.
 */
struct sv_config;
struct sv_config *init_config_load(const char *path, struct mi_err *e);

/* The same from a string (tests); path is used in messages and for
 * [include] and %(here)s. */
struct sv_config *init_config_parse_string(const char *text, const char *path, struct mi_err *e);

/* `minit ctl ...` (ctl.c): argv[0] is "ctl". Returns the exit status:
 * 0 ok, 1 request failed, 2 usage error, 3 minit not reachable. */
int init_ctl_main(int argc, char **argv);

#endif
