/* SPDX-License-Identifier: MIT */
/*
 * cgroupfs: minit's cgroups, reached through directory fds only.
 *
 * Discovery (cg_discover) finds the cgroup2 mount and the v1 hierarchies in
 * /proc/self/mountinfo and minit's own cgroups in /proc/self/cgroup; nothing
 * is hard-coded. The "primary" hierarchy is where leaves live and where
 * freeze and kill act: cgroup2 when minit's own v2 cgroup is writable, else
 * the v1 freezer hierarchy (v1-only hosts), else none (CG_MODE_NONE: rootless,
 * read-only /sys/fs/cgroup) and callers carry on without cgroups.
 *
 * Layout (cg_layout_create): a base L, L/init for minit, L/services/NAME for
 * each service, L/payload for job 1's program. minit leaves L before it
 * enables controllers in L's cgroup.subtree_control, because a cgroup with
 * processes cannot have domain controllers enabled below it (the
 * no-internal-processes rule), and so that freezing or killing services never
 * reaches minit itself.
 *
 * Hybrid hosts: cgroup2 may hold no memory/pids/cpu controller (they are
 * bound to v1). A leaf that needs one then gets a "mirror" cgroup in that v1
 * hierarchy (same relative place, under minit's own v1 cgroup), and one more
 * cgroup.procs fd that a child writes "0" to. A leaf is therefore joined by
 * writing "0" to each of its join fds, primary first (cg_join_in_child).
 *
 * Events: cgroup.events changes are reported through one epoll fd
 * (struct cg_watch) that the caller watches for EV_READ; see there.
 *
 * Errors: functions that can fail return 0 or -1 with *e ("unable to <verb>
 * <object>: <path>", errnum set). Nothing here logs an error; tolerated
 * failures (a controller that cannot be enabled) are logged at debug.
 * Nothing here blocks, sleeps or waits for a cgroup to change state: waits
 * belong to the caller's event loop. Depends on the base only.
 */
#ifndef MINIT_CGROUPFS_H
#define MINIT_CGROUPFS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "init/err.h"

/* Longest cgroup path or mount point handled, NUL included. */
#define CG_PATH_MAX 512

/* Controllers minit uses. CPUACCT and FREEZER exist only in v1: in v2 CPU
 * usage is core (cpu.stat in every non-root cgroup) and so is the freezer. */
enum cg_ctrl {
    CG_CTRL_MEMORY = 0,
    CG_CTRL_PIDS,
    CG_CTRL_CPU,
    CG_CTRL_CPUACCT,
    CG_CTRL_FREEZER,
    CG_CTRL_COUNT,
};

#define CG_MASK(c) (1u << (c))

/* "memory", "pids", "cpu", "cpuacct", "freezer". */
const char *cg_ctrl_name(enum cg_ctrl c);

/* ---- pure parsers: strings in, no I/O, unit-tested ---------------- */

/* One cgroup filesystem mount from /proc/self/mountinfo. */
struct cg_mount {
    bool present;
    char path[CG_PATH_MAX]; /* mount point, unescaped (\040 -> ' ') */
    char root[CG_PATH_MAX]; /* the cgroup mounted there ("/", or "/docker/x") */
};

struct cg_mounts {
    struct cg_mount v2;                /* the cgroup2 mount */
    struct cg_mount v1[CG_CTRL_COUNT]; /* the v1 mount holding each controller */
};

/*
 * Finds the cgroup2 mount and each v1 controller's mount in the text of
 * /proc/self/mountinfo. The filesystem type is read after the " - "
 * separator, so the optional fields never shift it. A later mount on the
 * same or an enclosing mount point (other than "/") hides earlier ones, as
 * in the kernel; of two visible cgroup2 mounts the first is kept. Returns 0,
 * or -1 with *e naming the first malformed line ("mountinfo line 3 is
 * malformed"). Too long mount points are skipped, not errors.
 */
int cg_parse_mountinfo(const char *text, struct cg_mounts *out, struct mi_err *e);

/* A process's cgroups, from /proc/PID/cgroup. Paths start with '/'. */
struct cg_self {
    bool has_v2;
    char v2[CG_PATH_MAX]; /* the "0::/path" line */
    bool has_v1[CG_CTRL_COUNT];
    char v1[CG_CTRL_COUNT][CG_PATH_MAX]; /* "4:memory:/path", "2:cpu,cpuacct:/" */
};

/* Parses /proc/self/cgroup text. Hierarchies minit does not use (name=systemd,
 * devices, ...) are skipped. Returns 0, or -1 with *e on a malformed line. */
int cg_parse_proc_cgroup(const char *text, struct cg_self *out, struct mi_err *e);

/* cgroup.events: "populated 0|1" (required) and "frozen 0|1" (absent before
 * Linux 5.2: false). Returns 0 or -1 with *e. */
int cg_parse_events(const char *text, bool *populated, bool *frozen, struct mi_err *e);

/* A flat-keyed file ("key value" lines): the value of `key`, where "max"
 * reads as UINT64_MAX. Returns 0, or -1 with *e when the key is missing or
 * its value is not a number. */
int cg_parse_keyed(const char *text, const char *key, uint64_t *val, struct mi_err *e);

/* memory.events (v2) and memory.oom_control (v1, Linux 4.13+): "oom_kill N". */
int cg_parse_oom_kill(const char *text, uint64_t *oom_kill, struct mi_err *e);

/* cpu.stat (v2): "usage_usec N". */
int cg_parse_cpu_stat(const char *text, uint64_t *usage_usec, struct mi_err *e);

/* A file holding one number (memory.current, pids.current,
 * memory.usage_in_bytes, cpuacct.usage); "max" reads as UINT64_MAX. */
int cg_parse_u64(const char *text, uint64_t *val, struct mi_err *e);

/* cpuacct.usage (v1, nanoseconds) as microseconds. */
int cg_parse_cpuacct_usage(const char *text, uint64_t *usage_usec, struct mi_err *e);

/* cgroup.controllers or cgroup.subtree_control: the CG_MASK bits of the
 * controllers minit uses (memory, pids, cpu); others are ignored. */
int cg_parse_controllers(const char *text, unsigned *mask, struct mi_err *e);

enum cg_freezer_state {
    CG_FREEZER_THAWED = 0,
    CG_FREEZER_FREEZING, /* on the way; v1 may also stay here (a task in D) */
    CG_FREEZER_FROZEN,
};

/* v1 freezer.state: THAWED, FREEZING or FROZEN. */
int cg_parse_freezer_state(const char *text, enum cg_freezer_state *st, struct mi_err *e);

/* cpu_max as the config gives it ("QUOTA PERIOD", "max PERIOD", "QUOTA" or
 * "max", microseconds): *quota_us = -1 for max; *period_us defaults to
 * 100000. QUOTA >= 1000, PERIOD 1000..1000000 (the kernel's limits). */
int cg_parse_cpu_max(const char *s, int64_t *quota_us, uint64_t *period_us, struct mi_err *e);

/* A cgroup path from /proc/self/cgroup made relative to a mount whose root
 * field is mount_root: ("/", "/a/b") -> "a/b"; ("/a", "/a") -> "". Returns 0,
 * or -1 with *e when the cgroup is not under the mount's root (a mount made
 * outside minit's cgroup namespace) or out is too small. */
int cg_rel_path(const char *mount_root, const char *path, char *out, size_t size, struct mi_err *e);

/* Where a v1 mirror of the primary-hierarchy cgroup `path` goes in a v1
 * hierarchy: with minit's own cgroups primary_self (primary) and v1_self (that
 * v1 hierarchy), all relative to their mounts, a path under primary_self
 * keeps its place under v1_self ("", "x/y" -> "a/x/y" for v1_self "a");
 * any other path is used as it is. -1 with *e if out is too small. */
int cg_mirror_path(const char *primary_self, const char *v1_self, const char *path, char *out,
                   size_t size, struct mi_err *e);

/* The layout base L relative to the mount. "auto" is minit's own cgroup
 * `self` when self_is_ours (minit is PID 1 and alone in it, as in a
 * container), else self/minit. Any other base is a path relative to the
 * mount ("/x/y" and "x/y" alike) without ".", ".." or empty components.
 * Returns 0 or -1 with *e. */
int cg_resolve_base(const char *self, const char *base, bool self_is_ours, char *out, size_t size,
                    struct mi_err *e);

/* ---- discovery -------------------------------------------------------- */

enum cg_mode {
    CG_MODE_NONE = 0, /* no usable hierarchy: run without cgroups */
    CG_MODE_V2,       /* leaves, freeze and kill in cgroup2 */
    CG_MODE_V1,       /* leaves, freeze and kill in the v1 freezer hierarchy */
};

/* One mounted hierarchy. */
struct cg_hier {
    int fd;                 /* O_PATH|O_DIRECTORY|O_CLOEXEC on the mount point, -1: absent */
    char mnt[CG_PATH_MAX];  /* mount point, for messages */
    char self[CG_PATH_MAX]; /* minit's cgroup relative to the mount ("" = its root) */
    bool writable;          /* W_OK on minit's cgroup (EROFS, EACCES: false) */
};

struct cg_root {
    enum cg_mode mode;
    struct cg_hier v2;
    unsigned v2_ctrls;                /* CG_MASK bits in minit's own cgroup.controllers */
    struct cg_hier v1[CG_CTRL_COUNT]; /* fd -1 where that controller has no v1 mount */
    char why[MI_ERR_MSG];             /* mode NONE: why, for one warning */
};

/*
 * Reads /proc/self/mountinfo and /proc/self/cgroup and fills *r: which
 * hierarchies exist, minit's place in each, whether it may create cgroups
 * there, and the mode. "No cgroups" is not a failure: it is mode NONE with
 * r->why saying why ("cgroup2 at /sys/fs/cgroup is read-only"). Returns -1
 * with *e only when those /proc files cannot be read or parsed; *r is then
 * still valid, in mode NONE, so a caller may log *e as a warning and go on.
 * Opens one O_PATH dirfd per hierarchy found (CLOEXEC); cg_root_close()
 * closes them. Parent only (allocates).
 */
int cg_discover(struct cg_root *r, struct mi_err *e);

/* From now on, cg_discover() takes the cgroup2 hierarchy from `fd` (a
 * mount of the cgroup namespace's root, e.g. a private writable one in a
 * container whose /sys/fs/cgroup is read-only) instead of the mount table;
 * `label` names it in messages. fd -1 undoes it. */
void cg_set_v2_mount(int fd, const char *label);

/* Switches the primary hierarchy to the v1 freezer (tests; hosts whose v2
 * is unusable for another reason). Call before creating any leaf. Returns 0,
 * or -1 with *e if there is no writable v1 freezer hierarchy. */
int cg_use_v1(struct cg_root *r, struct mi_err *e);

/* Closes the fds of *r; leaves every cgroup as it is. */
void cg_root_close(struct cg_root *r);

/* ---- leaves ----------------------------------------------------------- */

#define CG_JOIN_MAX (1 + CG_CTRL_COUNT)

/*
 * One cgroup of minit's layout, plus its v1 mirrors. Every fd is CLOEXEC.
 * The struct owns its fds: do not copy it; move it with memcpy and forget the
 * source. A closed or never-created leaf has dirfd -1.
 */
struct cg_leaf {
    const struct cg_root *root;
    const struct cg_hier *hier; /* primary hierarchy: &root->v2 or &root->v1[FREEZER] */
    char path[CG_PATH_MAX];     /* relative to hier's mount */
    int dirfd;                  /* O_PATH|O_DIRECTORY on the cgroup */
    int events_fd;              /* O_RDONLY cgroup.events (v2); -1 in v1 mode */
    int join_fd[CG_JOIN_MAX];   /* O_WRONLY cgroup.procs: [0] primary, then v1 mirrors */
    const struct cg_hier *join_hier[CG_JOIN_MAX];
    int njoin;
    int v1_fd[CG_CTRL_COUNT]; /* O_PATH dirfds of v1 mirrors, -1: none */
    unsigned v2_ctrls;        /* CG_MASK bits in the leaf's cgroup.controllers */
    bool keep;                /* minit's own cgroup used as base: never removed */
};

/*
 * Creates (or reuses) the cgroup `name` under `parent` in the primary
 * hierarchy and opens the leaf: its dirfd, cgroup.events (v2) and its
 * cgroup.procs for joining. A reused leaf left frozen by an earlier run is
 * thawed first (the kernel keeps cgroup.freeze=1 on an emptied cgroup). v1
 * mirrors are added later by cg_leaf_attach() or cg_set_limits(). Returns 0,
 * or -1 with *e ("unable to create cgroup <path>"); on failure *l holds no
 * fd. The fds are closed by cg_leaf_close() or cg_leaf_destroy(). Parent only.
 */
int cg_leaf_create(struct cg_leaf *l, const struct cg_leaf *parent, const char *name,
                   struct mi_err *e);

/* Opens an existing or new cgroup `path` (relative to the primary mount) as
 * a leaf: mkdir -p, dirfd, thaw, cgroup.events, cgroup.procs. */
int cg_leaf_open(struct cg_leaf *l, const struct cg_root *r, const char *path, struct mi_err *e);

/*
 * Makes each controller of `mask` (CG_MASK bits) reach the leaf: nothing to
 * do when it is in the leaf's v2 cgroup.controllers (or, in v2 mode, is
 * CPUACCT or FREEZER, which v2 has as core files); otherwise creates the
 * leaf's mirror in that controller's v1 hierarchy (mkdir -p, under minit's
 * own v1 cgroup) and adds its cgroup.procs to the join fds (one per v1 mount:
 * cpu and cpuacct often share one). Must run before any process joins: a
 * process already in the leaf is not moved. Returns 0, or -1 with *e naming
 * the controller and where it was looked for ("unable to use the memory
 * controller: not in /sys/fs/cgroup/unified/m/services/cgroup.subtree_control
 * and no v1 memory hierarchy"). Opens a dirfd and, per new v1 mount, a join
 * fd, owned by the leaf. Parent only.
 */
int cg_leaf_attach(struct cg_leaf *l, unsigned mask, struct mi_err *e);

/*
 * Moves the calling process into the leaf: writes "0" to each join fd in
 * order (primary first, then v1 mirrors), skipping the primary when
 * primary_done (clone3 CLONE_INTO_CGROUP already placed the process there).
 * Meant for the child between clone and exec, so that no process of a
 * service ever runs outside its leaf: async-signal-safe (raw write(2)
 * syscalls, no malloc, no locks, no sanitizer hooks), safe after
 * CLONE_VM|CLONE_VFORK, and "0" means "me" in any pid namespace. Returns 0,
 * or -1 with errno (EBUSY: controllers enabled below the leaf; EACCES,
 * EPERM). Opens nothing, closes nothing.
 */
int cg_join_in_child(const struct cg_leaf *l, bool primary_done);

/* The dirfd for clone3's CLONE_INTO_CGROUP (an O_PATH dirfd works), or -1 in
 * v1 mode. Owned by the leaf. */
int cg_leaf_clone_fd(const struct cg_leaf *l);

/*
 * Removes the leaf and its v1 mirrors (rmdir). Never blocks or waits: while
 * processes remain it returns -1 with e->errnum EBUSY ("unable to remove
 * cgroup <path>: still populated") and keeps the leaf open, so the caller
 * retries when cg_events() reports populated 0 (cg_kill first to get there).
 * An already removed cgroup (ENOENT) counts as removed. On success the fds
 * are closed. A `keep` leaf is only closed.
 */
int cg_leaf_destroy(struct cg_leaf *l, struct mi_err *e);

/* cg_leaf_destroy() after removing every child cgroup below the leaf
 * (deepest first), as a container's minit leaves them. Same EBUSY rule. */
int cg_leaf_destroy_tree(struct cg_leaf *l, struct mi_err *e);

/*
 * Makes the controllers of `mask` reach a leaf opened with cg_leaf_open()
 * for limits of its own (a container's cgroup): in v2, enables them in
 * the cgroup.subtree_control of each ancestor, the mount's root first
 * (refusals, e.g. EBUSY from an ancestor holding processes, are left for
 * cg_set_limits() to name), then cg_leaf_attach() for what v2 still lacks.
 * Returns 0, or -1 with *e as cg_leaf_attach(). Parent only.
 */
int cg_leaf_enable(struct cg_leaf *l, unsigned mask, struct mi_err *e);

/* Closes the leaf's fds and leaves the cgroup in place. */
void cg_leaf_close(struct cg_leaf *l);

/* ---- the layout ------------------------------------------------------- */

#define CG_LAYOUT_PAYLOAD 0x1u /* also create L/payload (job 1) */
#define CG_LAYOUT_NO_MOVE 0x2u /* do not move the caller into L/init */

struct cg_layout {
    struct cg_leaf base;     /* L: no processes once minit is in L/init */
    struct cg_leaf init;     /* L/init: minit */
    struct cg_leaf services; /* L/services: parent of each service's leaf */
    struct cg_leaf payload;  /* L/payload (CG_LAYOUT_PAYLOAD), else dirfd -1 */
    unsigned enabled;        /* v2 controllers enabled in L/services' subtree */
};

/*
 * Builds L (cg_resolve_base of `base`; "auto" when the config gives none),
 * L/init, L/services and, with CG_LAYOUT_PAYLOAD, L/payload; thaws any of
 * them left frozen; in v2 mode moves the caller into L/init (unless
 * CG_LAYOUT_NO_MOVE), then enables memory, pids and cpu, where L may have
 * them, in L's and L/services' cgroup.subtree_control. With "auto" (L =
 * self/minit), minit's own cgroup is asked for them too, once minit has left
 * it. A controller that cannot be enabled is not an error here (logged at
 * debug); cg_set_limits() names it when a limit needs it. In v1 mode minit
 * stays where it is (v1 has no such rule, and freezing L/services or
 * L/payload never reaches minit). Returns 0, or -1 with *e (mode NONE
 * included); on failure nothing is left open. Parent only; may move the
 * calling process.
 */
int cg_layout_create(struct cg_layout *lay, const struct cg_root *r, const char *base,
                     unsigned flags, struct mi_err *e);

/* Removes L/payload, L/services, L/init and L (unless L is minit's own
 * cgroup), and their v1 mirrors, as cg_leaf_destroy() does: -1 with EBUSY
 * while a process is left, minit included. For tests and for a minit that
 * has moved out. Closes what it removed. */
int cg_layout_destroy(struct cg_layout *lay, struct mi_err *e);

/*
 * At exit, once the layout's leaves are empty: moves the caller from L/init
 * back to the cgroup it was found in (v2; refused with EBUSY where L was
 * made under it with controllers enabled there, and then L/init stays),
 * and removes what it can of the layout, v1 mirrors included, deepest
 * first. Best effort: returns 0 when everything is gone, else -1 with *e
 * for the first thing left. Closes the layout either way.
 */
int cg_layout_leave(struct cg_layout *lay, struct mi_err *e);

/*
 * For a caller that has closed every fd of its own since cg_layout_create()
 * (job 1 closes all but 0-2 once the program runs): forgets the stale fds
 * of *lay and *r without closing them, discovers *r again (keeping the
 * cgroup the caller was found in, not L/init where it is now), and reopens
 * each leaf's directory by its path, enough for cg_layout_leave(). Returns
 * 0, or -1 with *e (then nothing is open).
 */
int cg_layout_reopen(struct cg_layout *lay, struct cg_root *r, struct mi_err *e);

/* Closes every leaf of the layout; removes nothing. */
void cg_layout_close(struct cg_layout *lay);

/* ---- freeze, events, kill ------------------------------------------- */

/*
 * Asks the kernel to freeze (or thaw) the leaf and everything below it:
 * "1"/"0" to cgroup.freeze (v2), "FROZEN"/"THAWED" to freezer.state (v1).
 * Asynchronous: the freeze is complete when cg_frozen() says so. The caller
 * must put a deadline on it and thaw again on timeout (a task in D state or
 * a kernel thread can keep a cgroup from ever reaching frozen). Returns 0 or
 * -1 with *e. May not run in a child.
 */
int cg_freeze(struct cg_leaf *l, bool frozen, struct mi_err *e);

/* Reads whether the freeze has completed: cgroup.events "frozen 1" (v2), or
 * freezer.state FROZEN (v1; FREEZING reads false). 0 or -1 with *e. */
int cg_frozen(const struct cg_leaf *l, bool *frozen, struct mi_err *e);

/* Reads cgroup.events through the leaf's own fd (which also re-arms a
 * POLLPRI wakeup). v1: populated = cgroup.procs not empty, frozen as in
 * cg_frozen(). 0 or -1 with *e. */
int cg_events(const struct cg_leaf *l, bool *populated, bool *frozen, struct mi_err *e);

/*
 * Kills every process in the leaf and below with SIGKILL: "1" to cgroup.kill
 * (Linux 5.14+), which also catches processes forking meanwhile. Without
 * cgroup.kill (older kernels, v1 mode): freeze, SIGKILL each pid in
 * cgroup.procs, thaw (always, even after an error), up to 4 rounds while
 * pids remain; v1 frozen tasks die only once thawed. Never waits: completion
 * is cg_events() populated 0, and the caller calls again if a later check
 * still finds processes. Returns 0 or -1 with *e.
 */
int cg_kill(struct cg_leaf *l, struct mi_err *e);

/*
 * Special problem: cgroup.events cannot be watched for EV_READ (kernfs files
 * are always readable, so the loop would spin); the kernel signals a change
 * with POLLPRI instead. A cg_watch is one epoll fd (EPOLL_CLOEXEC) holding the
 * cgroup.events fd of each added leaf for EPOLLPRI|EPOLLET; the epoll fd
 * itself becomes readable on any change, so the caller gives it to one
 * ev_io(EV_READ), calls cg_watch_drain() in the callback, and re-reads the
 * state of each reported leaf with cg_events(). (POLLPRI wakes earlier than
 * inotify IN_MODIFY, which kernfs sends from a work item.) Edge-triggered: a
 * change is reported once; the state is always read from the file. v1 has
 * no such events: re-check on a timer there.
 */
struct cg_watch {
    int fd; /* epoll fd, -1 when closed */
};

/* Opens the epoll fd (EPOLL_CLOEXEC); closed by cg_watch_close(). */
int cg_watch_open(struct cg_watch *w, struct mi_err *e);

/* Watches the leaf's cgroup.events; `cookie` comes back from drain (use an
 * index or id, not a pointer that may move). In v1 mode does nothing and
 * returns 0. Returns 0 or -1 with *e. Opens nothing (uses l->events_fd). */
int cg_watch_add(struct cg_watch *w, const struct cg_leaf *l, uint64_t cookie, struct mi_err *e);

/* Stops watching the leaf (also implied by closing the leaf). */
void cg_watch_del(struct cg_watch *w, const struct cg_leaf *l);

/* Collects, without blocking, the cookies of the leaves whose cgroup.events
 * changed, up to max. Returns how many (0: none), or -1 with *e. */
int cg_watch_drain(struct cg_watch *w, uint64_t *cookies, int max, struct mi_err *e);

/* Closes the epoll fd. */
void cg_watch_close(struct cg_watch *w);

/* ---- limits and statistics ------------------------------------------ */

/* Resource limits of one leaf; 0 (NULL) means unset, UINT64_MAX "max". */
struct cg_limits {
    uint64_t memory_max; /* bytes */
    uint64_t pids_max;
    const char *cpu_max; /* "QUOTA PERIOD" (see cg_parse_cpu_max) */
};

/*
 * Applies the limits: memory.max, pids.max and cpu.max where the leaf has
 * the controller in v2; else, in the controller's v1 hierarchy, a mirror
 * (cg_leaf_attach) with memory.limit_in_bytes, pids.max, or
 * cpu.cfs_period_us and cpu.cfs_quota_us. An unset limit is reset to "max"
 * where the controller reaches the leaf, so a reused leaf keeps no old
 * limit. Call before any process joins (mirrors add join fds). Returns 0, or
 * -1 with *e naming the key and the controller ("memory_max needs the memory
 * controller: not in /sys/fs/cgroup/unified/m/services/cgroup.subtree_control
 * and no v1 memory hierarchy"). Parent only.
 */
int cg_set_limits(struct cg_leaf *l, const struct cg_limits *lim, struct mi_err *e);

/* Usage of one leaf; each value is valid only when its has_ flag is set. */
struct cg_stats {
    bool has_memory;
    uint64_t memory_bytes; /* memory.current, or v1 memory.usage_in_bytes */
    bool has_cpu;
    uint64_t cpu_usec; /* cpu.stat usage_usec, or v1 cpuacct.usage / 1000 */
    bool has_pids;
    uint64_t pids; /* pids.current (v2 or v1) */
    bool has_oom;
    uint64_t oom_kills; /* memory.events oom_kill, or v1 memory.oom_control */
};

/* Reads what is available: v2 files, else the leaf's v1 mirrors (attach
 * CG_CTRL_MEMORY, PIDS, CPUACCT first to have them on a hybrid or v1 host).
 * A missing source leaves its flag false and is no error. Returns 0, or -1
 * with *e on an unreadable or malformed file. */
int cg_stats(const struct cg_leaf *l, struct cg_stats *s, struct mi_err *e);

#endif
