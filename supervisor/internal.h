/* SPDX-License-Identifier: MIT */
/*
 * supervisor/'s private interface: the child side of a spawn.
 */
#ifndef MINIT_SUPERVISOR_INTERNAL_H
#define MINIT_SUPERVISOR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <ev.h>

#include "init/err.h"
#include "supervisor/supervisor.h"

/* Where a spawn failed, reported by the child through shared memory. */
enum sv_step {
    SV_STEP_NONE = 0,
    SV_STEP_SIGNALS,
    SV_STEP_PGROUP,
    SV_STEP_CGROUP,
    SV_STEP_TERMINAL,
    SV_STEP_RLIMIT,
    SV_STEP_FDS,
    SV_STEP_CWD,
    SV_STEP_GROUPS,
    SV_STEP_GID,
    SV_STEP_UID,
    SV_STEP_PRIVS,
    SV_STEP_EXEC,
};

struct cg_leaf;

#define SV_CHILD_MAXFD 4

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
    const char *cwd; /* NULL: stay */
    bool set_umask;
    mode_t umask;
    const struct cg_leaf *leaf; /* join it (write "0" to its procs fds) */
    bool set_nofile;            /* put RLIMIT_NOFILE back to nofile[] */
    uint64_t nofile[2];
    bool set_ids; /* setgroups, setgid, setuid */
    uid_t uid;
    gid_t gid;
    const gid_t *groups;
    int ngroups;
    const struct ns_privs *privs; /* capabilities, no_new_privs, seccomp; NULL: none */
    /* dup2(fds[i].from, fds[i].to) in order; from -1: none */
    struct {
        int from;
        int to;
    } fds[SV_CHILD_MAXFD];
    int nfds;
    /* Written by the child when it fails, read by the parent after the
     * vfork-style clone returns. */
    enum sv_step fail_step;
    int fail_errno;
};

/* Spawns with a fully prepared child description (sv_spawn() is the
 * job-1 case of it). Returns the pid or -1 with *e naming the step. */
pid_t sv_spawn_child(struct sv_child *c, struct mi_err *e);

/* The child's entry point (clone's fn). Runs between clone and exec:
 * async-signal-safe raw syscalls only. Returns only to exit 127. */
int sv_child_main(void *arg);

/* Human name of a step ("exec", "set the process group", ...). */
const char *sv_step_name(enum sv_step step);

/*
 * The state machine, as a pure function so that every (state, event) pair
 * is unit-tested from a table (tests/unit/test_sv_fsm.c).
 *
 *   STOPPED  --start-->  WAITING (deps not ready) or STARTING (+spawn)
 *   WAITING  --deps ready-->  STARTING (+spawn)
 *   STARTING --spawn ok-->  STARTING (+arm readiness)
 *   STARTING --ready-->  RUNNING
 *   STARTING|RUNNING --exit--> STARTING (+spawn: stable run, restart now)
 *                             | BACKOFF (+arm backoff: quick failure, retries left)
 *                             | EXITED (expected end) | FAILED (gave up); both +ended
 *   STARTING --spawn failed--> BACKOFF or FAILED, as a quick failure
 *   STARTING --ready timeout--> STOPPING (+stop), a failed start
 *   any running --stop--> STOPPING (+stop signal, +arm stop timer)
 *   STOPPING --stop timeout--> STOPPING (+SIGKILL)
 *   STOPPING --exit--> STARTING (+spawn) when wanted up again, else STOPPED;
 *                      after a ready timeout: as a quick failure
 *   BACKOFF  --backoff done--> STARTING (+spawn) or WAITING
 *   BACKOFF|WAITING --stop--> STOPPED
 *   EXITED|FAILED --start--> as STOPPED
 * Anything else is illegal: no change, logged at debug.
 */
enum sv_event {
    SV_EV_START = 0,
    SV_EV_STOP,
    SV_EV_DEPS_READY,
    SV_EV_SPAWN_OK,
    SV_EV_SPAWN_FAIL,
    SV_EV_READY,
    SV_EV_READY_TIMEOUT,
    SV_EV_EXIT,
    SV_EV_STOP_TIMEOUT,
    SV_EV_BACKOFF_DONE,
    SV_EV_COUNT,
};

#define SV_STATE_COUNT (SV_STATE_PAUSED + 1)

/* Actions the caller performs after the transition. */
#define SV_ACT_SPAWN     0x01u /* start the process */
#define SV_ACT_STOP      0x02u /* send stopsignal, arm the stop timer */
#define SV_ACT_KILL      0x04u /* send SIGKILL */
#define SV_ACT_BACKOFF   0x08u /* arm the backoff timer */
#define SV_ACT_READINESS 0x10u /* start readiness probes and timers */
#define SV_ACT_ENDED     0x20u /* ended for good: critical check */

/* What the caller knows when it feeds an event. */
struct sv_fsm_in {
    enum sv_state state;
    enum sv_event ev;
    bool want_up;    /* the wanted state */
    bool deps_ready; /* every dependency is ready */
    bool oneshot;
    bool restart;      /* SV_EV_EXIT: the restart policy says restart */
    bool success;      /* SV_EV_EXIT: the exit code is in exitcodes */
    bool stable;       /* SV_EV_EXIT: it ran at least startsecs */
    bool retries_left; /* another quick failure is allowed */
    bool failed_start; /* SV_EV_EXIT while stopping: stopped for a ready timeout */
};

struct sv_fsm_out {
    enum sv_state state;
    unsigned act;
    bool legal;
};

struct sv_fsm_out sv_fsm_step(const struct sv_fsm_in *in);

const char *sv_state_name(enum sv_state s);
const char *sv_event_name(enum sv_event ev);

/* Backoff: the delay before restart number n (1-based) of a run of quick
 * failures: first * 2^(n-1), capped at max. Pure. */
uint64_t sv_backoff_ms(uint64_t first_ms, uint64_t max_ms, unsigned n);

/* ---- the running service (service.c, run.c, ready.c) --------------- */

struct sv_output;

/* A config shared by the services that use it; freed when the last one
 * lets go and it is no longer the current config. */
struct sv_cfgref {
    struct sv_config *cfg;
    int refs;
    bool current;
};

struct sv_service {
    ev_child child_w; /* the service process */
    ev_timer timer_w; /* backoff delay or stop timeout */
    ev_timer ready_w; /* startsecs (ready = none) or ready_timeout */
    ev_timer probe_w; /* tcp:/exec: probe ticks */
    ev_io readyfd_w;  /* fd:N readiness pipe */
    ev_child probe_child_w;
    struct sv_conf *conf;
    struct sv_cfgref *ref;
    struct sv_service **deps; /* resolved conf->depends */
    int ndeps;
    enum sv_state state;
    bool want_up;
    bool removed;       /* dropped by a reload: freed once stopped */
    bool restart_after; /* changed by a reload: start again once stopped */
    bool fresh;         /* added by this apply: start it if autostart */
    bool failed_start;  /* stopping because readiness timed out */
    pid_t pid;          /* 0 when not running */
    ev_tstamp started_at;
    unsigned restarts;
    unsigned fails;  /* quick failures in a row */
    int last_status; /* N or 128+N, -1 if none */
    bool last_oom;   /* the last run saw an OOM kill in its cgroup */
    int ready_rfd;   /* fd:N read end in minit, -1 */
    int probe_fd;    /* tcp: connecting socket, -1 */
    pid_t probe_pid; /* exec: running probe, 0 */
    double probe_delay;
    struct sv_output *out;
    struct sv_output *err;
    /* cgroup (cgroup.c); leaf NULL when cgroups are not in use */
    struct cg_leaf *leaf;
    uint64_t cg_id;    /* cookie in the cgroup event watch */
    ev_timer freeze_w; /* pause/resume deadline (v1: re-check ticks) */
    double freeze_started;
    bool paused;         /* frozen, confirmed by the kernel */
    bool freeze_pending; /* a pause or resume is on its way */
    bool freeze_want;    /* ... towards frozen (true) or thawed */
    bool leaf_drop;      /* remove the leaf once it is empty */
    char freeze_err[128];
    uint64_t oom_at_start; /* OOM kills counted in the leaf at spawn */
    /* capabilities, no_new_privs, seccomp of `privs_conf` (run.c) */
    struct ns_privs *privs;
    const struct sv_conf *privs_conf;
    bool privs_own_filter;
};

/* Frees what sv_run_privs() built for s. */
void sv_run_privs_free(struct sv_service *s);

/* The table (service.c). */
extern struct ev_loop *sv_loop;
extern struct sv_service **sv_table;
extern int sv_count;
extern bool sv_shutting_down;
extern pid_t sv_last_reaped; /* the last pid a service watcher collected */

struct sv_service *sv_find(const char *name);
/* Feeds an event to s and performs the resulting actions. */
void sv_event(struct sv_service *s, enum sv_event ev);
/* The caller's context for the pure FSM. */
bool sv_deps_ready(const struct sv_service *s);
bool sv_service_ready(const struct sv_service *s);
/* After any state change: dependents, shutdown progress, hooks. */
void sv_changed(struct sv_service *s);

/* run.c */
int sv_run_spawn(struct sv_service *s, struct mi_err *e);
void sv_run_stop(struct sv_service *s);
void sv_run_kill(struct sv_service *s);
void sv_run_init_watchers(struct sv_service *s);
void sv_run_stop_watchers(struct sv_service *s);
int sv_run_outputs(struct sv_service *s, struct mi_err *e);

/* cgroup.c */
struct sv_status;
int sv_cgroup_init(struct ev_loop *loop, const char *base, struct mi_err *e);
bool sv_cgroup_active(void);
const char *sv_cgroup_why(void);
void sv_cgroup_prepare(struct sv_service *s);
void sv_cgroup_kill(struct sv_service *s);
void sv_cgroup_after_exit(struct sv_service *s);
void sv_cgroup_release(struct sv_service *s);
int sv_cgroup_freeze(struct sv_service *s, bool frozen, struct mi_err *e);
void sv_cgroup_stats(const struct sv_service *s, struct sv_status *st);
uint64_t sv_cgroup_oom_kills(const struct sv_service *s);
/* Removes every leaf; true while some are still populated (killed, and
 * removed as they empty). */
bool sv_cgroup_shutdown(void);
/* Job 1's payload leaf, NULL when --cgroup was not set up. */
const struct cg_leaf *sv_cgroup_payload(void);

/* ready.c */
void sv_ready_start(struct sv_service *s);
void sv_ready_stop(struct sv_service *s);
/* The NOTIFY_SOCKET value ("@minit/notify/...") or NULL if none is open. */
const char *sv_ready_notify_socket(struct mi_err *e);
/* Before spawn: prepare the fd:N pipe; returns the write end or -1. */
int sv_ready_prepare_fd(struct sv_service *s, struct mi_err *e);
void sv_ready_close(void);

#endif
