/* SPDX-License-Identifier: MIT */
/*
 * The supervisor's public interface: the service model that init/config.c
 * fills from the config file, spawning, and the running service table that
 * init/ and the control socket drive. Callers get errors through struct
 * mi_err; the supervisor reports upward through struct sv_hooks.
 */
#ifndef MINIT_SUPERVISOR_H
#define MINIT_SUPERVISOR_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "init/err.h"
#include "ns/ns.h"

/* ---- what every payload of a container gets (job 3) ----------------- */

/* A user to run as, resolved in the container. */
struct sv_ids {
    bool set;
    uid_t uid;
    gid_t gid;
    gid_t *groups; /* malloc'ed */
    int ngroups;
    char *home; /* from the container's /etc/passwd, or NULL */
};

struct sv_payload {
    struct ns_privs privs; /* capabilities, no_new_privs, seccomp */
    struct sv_ids ids;     /* --user: job 1's program, and services without user= */
    const char *cwd;       /* --workdir: job 1, and services without directory=; NULL: / */
};

/* Every later spawn (job 1's program, services, readiness probes) gets *p
 * (kept by pointer: it must live as long as minit). A service's own
 * `user`, `directory`, `capabilities`, `no_new_privs` and `seccomp` win. */
void sv_set_payload(const struct sv_payload *p);

/* The payload settings in force, or NULL outside a container. */
const struct sv_payload *sv_payload(void);

/* Inside the container: cgroups are managed through `fd`, a private
 * writable cgroup2 mount, instead of the read-only /sys/fs/cgroup. */
void sv_cgroup_use_mount(int fd);

/* The container's cgroup: what the host asks for, and what it gets. */
struct sv_ct_cgroup {
    const char *base;    /* relative to the cgroup2 root */
    uint64_t memory_max; /* limits of the whole container; 0: none */
    uint64_t pids_max;   /* UINT64_MAX: "max" */
    const char *cpu_max; /* "QUOTA PERIOD", NULL: none */
    int fd;              /* out: directory fd for clone3's CLONE_INTO_CGROUP */
    const int *join_fds; /* out: cgroup.procs of v1 mirrors the limits needed */
    int njoin;
};

/* On the host, before the container is built: creates the container's
 * cgroup, enables and writes its limits (through v1 where the controller
 * lives there, as runc does), and fills the outputs. -1 with *e, naming
 * the controller and the file it needed when a limit cannot be had. */
int sv_container_cgroup(struct sv_ct_cgroup *c, struct mi_err *e);

/* On the host, once the container is gone: kills what is left in its
 * cgroup and removes it with every child cgroup. No-op without one. */
void sv_container_cgroup_remove(void);

/* In the container's child: forget the host's handle (closes its fds). */
void sv_container_cgroup_forget(void);

/* ---- spawning one program (job 1) ---------------------------------- */

/* What to run and how (job 1's program). */
struct sv_exec {
    bool payload_cgroup; /* join the leaf sv_payload_cgroup() set up */
    char *const *argv;   /* argv[0] is looked up in PATH unless it has a '/' */
    char *const *envp;   /* the environment to pass */
    bool own_pgroup;     /* put it in its own process group */
    bool take_terminal;  /* make that group the terminal's foreground group */
};

/*
 * Starts x->argv with an empty signal mask, every signal at its default
 * disposition, and no fd but those minit inherited without close-on-exec.
 * Uses clone(CLONE_VM|CLONE_VFORK): the parent waits only until the exec has
 * happened, and an exec failure comes back here as an errno, not as a child
 * exit status. Returns the pid, or -1 with e->errnum the exec's errno
 * (ENOENT: not found; EACCES, ENOEXEC: not executable). Opens no fd.
 */
pid_t sv_spawn(const struct sv_exec *x, struct mi_err *e);

/* Job 1 with --cgroup: creates base/init (and moves minit there) and
 * base/payload, which the program joins when x->payload_cgroup. -1 with
 * *e (the reason) when no usable hierarchy exists. */
int sv_payload_cgroup(const char *base, struct mi_err *e);

/* At job 2's exit, once the services are down: leaves its cgroup layout
 * and removes what is empty of it, v1 mirrors included, so that a run on
 * a host leaves no litter. Best effort; logs at debug. */
void sv_cgroup_exit(void);

/* The same at job 1's exit, whose cgroup fds were closed with all the
 * others once the program ran: the layout is found again by its paths. */
void sv_payload_cgroup_exit(void);

/* ---- the service model (what the config file says) ----------------- */

#define SV_NAME_MAX 63

enum sv_type {
    SV_TYPE_SIMPLE = 0, /* runs until stopped; up once ready */
    SV_TYPE_ONESHOT,    /* runs to completion; done when it exits in exitcodes */
};

enum sv_restart {
    SV_RESTART_UNEXPECTED = 0, /* restart unless the exit code is in exitcodes */
    SV_RESTART_FALSE,
    SV_RESTART_TRUE,
};

enum sv_ready_kind {
    SV_READY_NONE = 0, /* ready once running for startsecs (at once if 0) */
    SV_READY_NOTIFY,   /* sd_notify READY=1 on $NOTIFY_SOCKET */
    SV_READY_FD,       /* s6: a newline written to fd ready_fd */
    SV_READY_TCP,      /* a TCP connect to 127.0.0.1:ready_port succeeds */
    SV_READY_EXEC,     /* ready_argv exits 0 */
};

enum sv_log_kind {
    SV_LOG_PARENT = 0, /* minit's own stdout/stderr, each line prefixed "name | " */
    SV_LOG_FILE,       /* a file, appended, rotated at maxbytes */
    SV_LOG_NONE,       /* discarded */
};

struct sv_log_conf {
    enum sv_log_kind kind;
    char *path;        /* SV_LOG_FILE */
    uint64_t maxbytes; /* 0: never rotate */
    unsigned backups;  /* rotated files kept: path.1 .. path.N */
};

/* One service, as configured. Strings and arrays are owned by the struct
 * and freed by sv_config_free(). */
struct sv_conf {
    char *name;      /* [A-Za-z0-9][A-Za-z0-9_.-]{0,62} */
    char *command;   /* as written: compared on reload, shown by status */
    char **argv;     /* command split into words, NULL-terminated */
    char *directory; /* NULL: / */
    char *user;      /* NULL: minit's own */
    char *group;     /* NULL: the user's primary group */
    uid_t uid;       /* resolved from user at load time */
    gid_t gid;
    gid_t *groups; /* supplementary groups from /etc/group */
    int ngroups;
    char *home; /* the user's home directory (HOME) */
    bool has_umask;
    mode_t umask;
    char **env; /* "K=V" entries added to minit's environment, NULL-terminated */
    bool autostart;
    enum sv_restart autorestart;
    uint64_t startsecs_ms;
    unsigned startretries;
    uint8_t exitcodes[32]; /* bitmap of "expected" exit codes (default: 0) */
    int stopsignal;        /* default SIGTERM */
    uint64_t stopwait_ms;  /* default 10 s */
    bool stopasgroup;
    bool killasgroup;
    int priority; /* default 999; lower starts first */
    bool redirect_stderr;
    struct sv_log_conf out;
    struct sv_log_conf err;
    enum sv_type type;
    char **depends; /* names, NULL-terminated */
    int ndepends;
    enum sv_ready_kind ready;
    int ready_fd;
    int ready_port;
    char **ready_argv;         /* exec:CMD, split */
    uint64_t ready_timeout_ms; /* 0: none */
    bool critical;
    uint64_t restart_delay_ms;     /* first backoff step, default 100 ms */
    uint64_t restart_delay_max_ms; /* default 30 s */
    uint64_t memory_max;           /* 0: unset */
    uint64_t pids_max;             /* 0: unset */
    char *cpu_max;                 /* "QUOTA PERIOD" or NULL */
    char *capabilities;            /* NULL: unset */
    int no_new_privs;              /* -1 unset, 0, 1 */
    char *seccomp;                 /* NULL: unset */
    char *file;                    /* where the section is, for messages */
    int line;
};

/* The whole config file. */
struct sv_config {
    struct sv_conf *services;
    int nservices;
    int log_level;                /* -1: unset */
    char *socket;                 /* control socket path, NULL: default */
    uint64_t shutdown_timeout_ms; /* total deadline for stopping everything */
    char *cgroup;                 /* NULL: unset */
    char *path;                   /* the file it came from */
    /* [container], one item per entry (lists split), checked by init */
    char **ct_key;
    char **ct_val;
    int nct;
};

/* Fills c with every default (autostart yes, autorestart unexpected,
 * startsecs 1 s, startretries 3, exitcodes 0, stopsignal TERM, stopwait
 * 10 s, priority 999, restart_delay 100 ms, restart_delay_max 30 s,
 * no_new_privs -1). Does not allocate. */
void sv_conf_defaults(struct sv_conf *c);

/* Frees everything a config owns, then the config itself. NULL is fine. */
void sv_config_free(struct sv_config *cfg);

/* Checks across services: unique names, depends refer to existing
 * services, no dependency cycle (the message names the cycle, e.g.
 * "dependency cycle: a -> b -> a"). Messages start with "FILE:LINE: ". */
int sv_config_validate(const struct sv_config *cfg, struct mi_err *e);

/* ---- the running table (job 2) ------------------------------------- */

/* Upward notifications, handed down by init at sv_init(). */
struct sv_hooks {
    /* Every service is down after sv_shutdown(): init may exit. */
    void (*all_stopped)(void *data);
    /* A critical service ended for good with exit status `status` (N or
     * 128+N): init starts the shutdown and exits with it. */
    void (*critical_ended)(void *data, const char *name, int status);
    /* A service changed state (for the control socket's wait-ready). */
    void (*state_changed)(void *data, const char *name);
    void *data;
};

/* States. `want` (up or down) is kept apart from `state`, as s6 does. */
enum sv_state {
    SV_STATE_STOPPED = 0, /* not running, not wanted or never started */
    SV_STATE_WAITING,     /* wanted up, waiting for its dependencies */
    SV_STATE_STARTING,    /* spawned, not ready yet */
    SV_STATE_RUNNING,     /* up and ready (a oneshot: still running) */
    SV_STATE_STOPPING,    /* stop signal sent, waiting for it to exit */
    SV_STATE_BACKOFF,     /* exited, restart timer armed */
    SV_STATE_EXITED,      /* ended as expected (a oneshot that succeeded) */
    SV_STATE_FAILED,      /* ended for good: retries exhausted or fatal */
    SV_STATE_PAUSED,      /* frozen (cgroup freezer) */
};

/* Status of one service, for `minit ctl status`. */
struct sv_status {
    const char *name;
    const char *state; /* "running", "backoff", ... */
    bool want_up;
    pid_t pid;          /* 0 when not running */
    uint64_t uptime_ms; /* since the last start, 0 when not running */
    unsigned restarts;  /* restarts since minit started it */
    int last_status;    /* last exit status (N or 128+N), -1 if none */
    bool last_oom;      /* the last run ended with an OOM kill in its cgroup */
    const char *command;
    /* cgroup figures, when the service has a leaf */
    const char *cgroup; /* path relative to the hierarchy's mount, NULL: none */
    bool has_memory;
    uint64_t memory_bytes;
    bool has_cpu;
    uint64_t cpu_usec;
    bool has_pids;
    uint64_t pids;
    uint64_t oom_kills;
};

/* Sets up the table on loop. Call once, before sv_apply(). */
int sv_init(struct ev_loop *loop, const struct sv_hooks *hooks, struct mi_err *e);

/* Applies cfg (takes ownership): the first time, starts every autostart
 * service in dependency and priority order; on reload, starts new
 * services, stops removed ones, restarts changed ones and leaves unchanged
 * ones running with the same pid. */
int sv_apply(struct sv_config *cfg, struct mi_err *e);

/* Stops every service in reverse dependency order; hooks->all_stopped is
 * called when the last one is down. */
void sv_shutdown(void);

/* Control requests. Each returns 0 or -1 with a message in *e ("no such
 * service 'x'"). */
int sv_ctl_start(const char *name, struct mi_err *e);
int sv_ctl_stop(const char *name, struct mi_err *e);
int sv_ctl_restart(const char *name, struct mi_err *e);
int sv_ctl_signal(const char *name, int sig, struct mi_err *e);

/* Pause (frozen true) or resume one service, or all when name is NULL,
 * with the cgroup freezer. Starts the change; sv_freeze_settled() tells
 * when the kernel has confirmed it. -1 with *e when cgroups are not in use
 * ("pause is not available: <why>") or the service is not running. */
int sv_ctl_freeze(const char *name, bool frozen, struct mi_err *e);

/* 1 when the pause/resume of name (all when NULL) is confirmed, 0 while on
 * its way, -1 with *e when it failed (not frozen in time: thawed again). */
int sv_freeze_settled(const char *name, bool frozen, struct mi_err *e);

/* Sets up a cgroup leaf per service under base (relative to the cgroup2
 * root, or "auto": under minit's own cgroup), moving minit into base/init.
 * -1 with *e (the reason) when no usable hierarchy exists: services then
 * run without cgroups. Call after sv_init(), before sv_apply(). */
int sv_cgroups(const char *base, struct mi_err *e);

/* Calls fn for each service (all when name is NULL). -1 with *e if name is
 * not a service. */
typedef void sv_status_fn(void *data, const struct sv_status *st);
int sv_ctl_status(const char *name, sv_status_fn *fn, void *data, struct mi_err *e);

/* True when the service is ready (running and ready, or a oneshot that
 * exited successfully); *failed is set when it can no longer become ready. */
bool sv_is_ready(const char *name, bool *failed);

/* True when pid is (or was, in this loop iteration) a service's or a
 * readiness probe's process: init's orphan watcher stays quiet on it. */
bool sv_owns_pid(pid_t pid);

/* The RLIMIT_NOFILE every service starts with (minit raised its own soft
 * limit to the hard one): soft and hard as minit got them. */
void sv_set_child_nofile(uint64_t soft, uint64_t hard);

/* Re-opens log files (SIGUSR1). */
void sv_reopen_logs(void);

#endif
