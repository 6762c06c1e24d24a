/* SPDX-License-Identifier: MIT */
/*
 * Live tests of cgroupfs on this machine's real cgroups (root only; exit 77
 * otherwise, or without a writable cgroup2). Everything happens below
 * minit-test-<pid> in cgroup2 and in each v1 hierarchy, under the test's own
 * cgroups; no other cgroup is touched.
 *
 * Shape: the main process is a guard. It forks a runner that runs every
 * test (and forks the children that join test leaves; the test process
 * itself never moves), then, whatever became of the runner, kills and
 * removes the whole minit-test-<pid> tree: cgroup.kill, a bounded wait for
 * "populated 0" on cgroup.events (POLLPRI) or for pidfds to exit (v1),
 * rmdir bottom-up, retried on EBUSY a bounded number of times. Both are
 * child subreapers, so double-forked daemons come back to be reaped. Every
 * wait has a deadline; nothing synchronises with sleep (the two fixed
 * intervals measure CPU time, they wait for nothing).
 */
#include "cgroupfs/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <linux/sched.h>
#include <poll.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/vfs.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "init/sys.h"
#include "tests/tap.h"

/* TAP_OK evaluates its condition twice; these conditions wait and reap. */
#define OK(cond, ...)                                                                              \
    do {                                                                                           \
        bool ok_ = (cond);                                                                         \
        TAP_OK(ok_, __VA_ARGS__);                                                                  \
    } while (0)

#define DEADLINE_MS  10000 /* the kernel selftests' cg_wait_for allows 10 s */
#define INTERVAL_MS  300   /* CPU-time sampling interval */
#define MANY         200
#define RUNNER_LIMIT 240000

static struct cg_root R;
static struct cg_layout LAY;
static struct cg_watch W;
static char BASE[CG_PATH_MAX]; /* minit-test-<pid> below minit's v2 cgroup */
static char NAME[64];          /* minit-test-<pid> */

/* ---- small helpers ---------------------------------------------------- */

static long
now_ms(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* A fixed interval that waits for nothing: poll with no fds. */
static void
interval(int ms)
{
    poll(NULL, 0, ms);
}

static int
read_bytes(int fd, void *buf, size_t n, int timeout_ms)
{
    long end = now_ms() + timeout_ms;
    size_t got = 0;

    while (got < n) {
        struct pollfd p = {fd, POLLIN, 0};
        long left = end - now_ms();
        ssize_t r;

        if (left < 0 || poll(&p, 1, (int)left) <= 0) {
            return -1;
        }
        r = read(fd, (char *)buf + got, n - got);
        if (r <= 0) {
            return -1;
        }
        got += (size_t)r;
    }
    return 0;
}

/* Waits (bounded, through a pidfd) for a child to end and reaps it. */
static int
wait_exit(pid_t pid, int timeout_ms, int *status)
{
    int pfd MI_CLEANUP_CLOSE = (int)syscall(SYS_pidfd_open, pid, 0);
    struct pollfd p = {pfd, POLLIN, 0};

    if (pfd < 0 || poll(&p, 1, timeout_ms) != 1) {
        return -1;
    }
    return waitpid(pid, status, 0) == pid ? 0 : -1;
}

/* Reaps whatever is already dead: children and adopted orphans. */
static void
reap_all(void)
{
    while (waitpid(-1, NULL, WNOHANG) > 0) {
    }
}

/* utime + stime of a process in clock ticks, or -1. */
static long
cputime(pid_t pid)
{
    char path[64];
    char buf[1024];
    unsigned long ut;
    unsigned long st;
    char *p;

    snprintf(path, sizeof(path), "/proc/%d/stat", (int)pid);
    if (cg_read_at(AT_FDCWD, path, buf, sizeof(buf)) < 0 || (p = strrchr(buf, ')')) == NULL) {
        return -1;
    }
    /* After "pid (comm)": state is field 3, utime 14, stime 15. */
    if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %lu %lu", &ut, &st) != 2) {
        return -1;
    }
    return (long)(ut + st);
}

static bool
in_cgroup(pid_t pid, const char *needle)
{
    char path[64];
    char buf[4096];

    snprintf(path, sizeof(path), "/proc/%d/cgroup", (int)pid);
    return cg_read_at(AT_FDCWD, path, buf, sizeof(buf)) >= 0 && strstr(buf, needle) != NULL;
}

/* Waits until cg_events matches (-1: any), on the watch (v2) or a 10 ms
 * re-check (v1, which has no events). Returns 0 or -1 at the deadline. */
static int
wait_events(const struct cg_leaf *l, int want_pop, int want_frozen, int timeout_ms)
{
    long end = now_ms() + timeout_ms;

    for (;;) {
        struct mi_err e = {0};
        bool pop;
        bool frz;
        uint64_t ck[16];
        long left;

        if (cg_events(l, &pop, &frz, &e) < 0) {
            printf("# %s: %s\n", e.msg, strerror(e.errnum));
            return -1;
        }
        if ((want_pop < 0 || pop == want_pop) && (want_frozen < 0 || frz == want_frozen)) {
            return 0;
        }
        left = end - now_ms();
        if (left <= 0) {
            return -1;
        }
        if (l->root->mode != CG_MODE_V2) {
            interval(left < 10 ? (int)left : 10);
            continue;
        }
        struct pollfd p = {W.fd, POLLIN, 0};

        poll(&p, 1, (int)left);
        cg_watch_drain(&W, ck, 16, &e);
    }
}

typedef void child_fn(int out);

/* Forks a child that joins l (every join fd), writes one byte on the
 * ready pipe, then runs fn(out) and never returns. */
static pid_t
spawn_in(const struct cg_leaf *l, child_fn *fn, int out)
{
    int ready[2];
    char c;
    pid_t pid;

    if (pipe(ready) < 0) {
        return -1;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        close(ready[0]);
        if (cg_join_in_child(l, false) < 0) {
            _exit(120);
        }
        if (write(ready[1], "r", 1) != 1) {
            _exit(121);
        }
        close(ready[1]);
        fn(out);
        _exit(0);
    }
    close(ready[1]);
    if (pid > 0 && read_bytes(ready[0], &c, 1, DEADLINE_MS) < 0) {
        printf("# child %d did not join its cgroup\n", (int)pid);
        kill(pid, SIGKILL);
        pid = -1;
    }
    close(ready[0]);
    return pid;
}

static void
spin_fn(int out)
{
    (void)out;
    for (volatile unsigned long i = 0;; i++) {
    }
}

static void
pause_fn(int out)
{
    (void)out;
    for (;;) {
        pause();
    }
}

/* cg_kill, then a bounded wait for populated 0, then reaping. */
static int
kill_and_wait(struct cg_leaf *l)
{
    struct mi_err e = {0};
    int r = cg_kill(l, &e);

    if (r < 0) {
        printf("# %s: %s\n", e.msg, strerror(e.errnum));
    }
    r = r < 0 ? -1 : wait_events(l, 0, -1, DEADLINE_MS);
    reap_all();
    return r;
}

static int
leaf(struct cg_leaf *l, const char *name)
{
    struct mi_err e = {0};

    if (cg_leaf_create(l, &LAY.services, name, &e) < 0 || cg_watch_add(&W, l, 0, &e) < 0) {
        printf("# %s: %s\n", e.msg, strerror(e.errnum));
        return -1;
    }
    return 0;
}

static long
file_u64(int dirfd, const char *file)
{
    char buf[64];

    return cg_read_at(dirfd, file, buf, sizeof(buf)) < 0 ? -1 : strtol(buf, NULL, 10);
}

/* ---- the tests -------------------------------------------------------- */

static bool
is_fs(const char *path, long magic)
{
    struct statfs st;

    return statfs(path, &st) == 0 && (long)st.f_type == magic;
}

static void
test_discover(void)
{
    /* crun's detect_cgroup_mode, as an independent opinion. */
    bool unified = is_fs("/sys/fs/cgroup", 0x63677270);
    bool hybrid = !unified && is_fs("/sys/fs/cgroup/unified", 0x63677270);

    CHECK_INT(R.mode, CG_MODE_V2, "discover: cgroup2 is the primary hierarchy");
    OK(R.v2.fd >= 0 && R.v2.writable, "discover: cgroup2 open and writable");
    printf("# cgroup2 at %s, own cgroup '/%s', v2 controllers 0x%x\n", R.v2.mnt, R.v2.self,
           R.v2_ctrls);
    if (hybrid) {
        CHECK_STR(R.v2.mnt, "/sys/fs/cgroup/unified", "discover: hybrid, unified found");
        OK(R.v1[CG_CTRL_MEMORY].fd >= 0 && R.v1[CG_CTRL_PIDS].fd >= 0 &&
                   R.v1[CG_CTRL_FREEZER].fd >= 0,
           "discover: hybrid, v1 memory, pids and freezer found");
        printf("# v1 memory at %s, own '/%s'\n", R.v1[CG_CTRL_MEMORY].mnt,
               R.v1[CG_CTRL_MEMORY].self);
    } else {
        CHECK_STR(R.v2.mnt, "/sys/fs/cgroup", "discover: unified at /sys/fs/cgroup");
    }
}

/* In a child: build the layout with the move, and check where it landed. */
static void
layout_child(const char *base, const char *want)
{
    struct cg_root r;
    struct cg_layout lay;
    struct mi_err e = {0};
    char buf[4096];

    if (cg_discover(&r, &e) < 0 || cg_layout_create(&lay, &r, base, CG_LAYOUT_PAYLOAD, &e) < 0) {
        printf("# layout child: %s: %s\n", e.msg, strerror(e.errnum));
        fflush(stdout);
        _exit(1);
    }
    if (cg_read_at(AT_FDCWD, "/proc/self/cgroup", buf, sizeof(buf)) < 0 || !strstr(buf, want)) {
        printf("# layout child: /proc/self/cgroup lacks '%s'\n", want);
        fflush(stdout);
        _exit(2);
    }
    _exit(0);
}

static void
test_layout(void)
{
    char want[CG_PATH_MAX + 16];
    struct mi_err e = {0};
    int st = -1;
    pid_t pid;

    snprintf(want, sizeof(want), "0::/%s/init\n", BASE);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        layout_child(BASE, want);
    }
    OK(pid > 0 && wait_exit(pid, DEADLINE_MS, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
       "layout: a child builds L, L/init, L/services, L/payload and lands in L/init");
    CHECK_INT(cg_layout_create(&LAY, &R, BASE, CG_LAYOUT_PAYLOAD | CG_LAYOUT_NO_MOVE, &e), 0,
              "layout: reopened without moving the test process");
    if (e.set) {
        printf("# %s: %s\n", e.msg, strerror(e.errnum));
    }
    OK(LAY.init.dirfd >= 0 && LAY.services.dirfd >= 0 && LAY.payload.dirfd >= 0,
       "layout: init, services, payload open");
    OK(!LAY.base.keep, "layout: an explicit L is minit's to remove");
    CHECK_INT(cg_each_pid(LAY.init.dirfd, NULL, NULL), 0, "layout: L/init empty again");
    unsigned want_ctrls =
            R.v2_ctrls & (CG_MASK(CG_CTRL_MEMORY) | CG_MASK(CG_CTRL_PIDS) | CG_MASK(CG_CTRL_CPU));

    OK((LAY.enabled & want_ctrls) == want_ctrls,
       "layout: every v2 controller on offer (0x%x) enabled for services", want_ctrls);
}

static void
test_auto(void)
{
    struct cg_leaf a;
    struct cg_layout l2;
    struct mi_err e = {0};
    char base[CG_PATH_MAX];
    char want[CG_PATH_MAX + 16];
    int st = -1;
    pid_t pid;

    if (leaf(&a, "auto") < 0) {
        OK(0, "auto: leaf created");
        return;
    }
    cg_join_path(base, sizeof(base), a.path, "minit");
    snprintf(want, sizeof(want), "0::/%s/init\n", base);
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        if (cg_join_in_child(&a, false) < 0) {
            _exit(3);
        }
        layout_child("auto", want); /* not PID 1: auto is own/minit */
    }
    OK(pid > 0 && wait_exit(pid, DEADLINE_MS, &st) == 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
       "auto: from cgroup A, minit lands in A/minit/init");
    CHECK_INT(cg_layout_create(&l2, &R, base, CG_LAYOUT_NO_MOVE | CG_LAYOUT_PAYLOAD, &e), 0,
              "auto: layout reopened");
    CHECK_INT(cg_layout_destroy(&l2, &e), 0, "auto: layout destroyed once empty (%s)", e.msg);
    CHECK_INT(cg_leaf_destroy(&a, &e), 0, "auto: leaf A destroyed");
    OK(faccessat(R.v2.fd, base, F_OK, 0) < 0 && errno == ENOENT, "auto: A/minit is gone");
}

static void
test_freeze_busy(void)
{
    struct cg_leaf l;
    struct mi_err e = {0};
    long t0;
    long t1;
    pid_t pid;

    if (leaf(&l, "busy") < 0 || (pid = spawn_in(&l, spin_fn, -1)) < 0) {
        OK(0, "freeze: busy child started");
        return;
    }
    OK(in_cgroup(pid, l.path), "freeze: the child is in %s", l.path);
    interval(INTERVAL_MS); /* let it run first, so frozen time is not just "not started" */
    CHECK_INT(cg_freeze(&l, true, &e), 0, "freeze: cgroup.freeze written");
    CHECK_INT(wait_events(&l, 1, 1, DEADLINE_MS), 0, "freeze: frozen 1 reached (watch woke us)");
    t0 = cputime(pid);
    interval(INTERVAL_MS);
    t1 = cputime(pid);
    OK(t0 > 0 && t0 == t1, "freeze: CPU time stands still (%ld -> %ld)", t0, t1);
    CHECK_INT(cg_freeze(&l, false, &e), 0, "thaw: cgroup.freeze written");
    CHECK_INT(wait_events(&l, 1, 0, DEADLINE_MS), 0, "thaw: frozen 0 reached");
    t0 = cputime(pid);
    interval(INTERVAL_MS);
    t1 = cputime(pid);
    OK(t1 > t0, "thaw: CPU time advances (%ld -> %ld)", t0, t1);
    CHECK_INT(cg_leaf_destroy(&l, &e), -1, "destroy: refused while populated");
    CHECK_INT(e.errnum, EBUSY, "destroy: EBUSY");
    CHECK_CONTAINS(e.msg, "still populated", "destroy: says still populated (%s)", e.msg);
    CHECK_INT(kill_and_wait(&l), 0, "kill: populated 0");
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "destroy: removed once empty");
}

static void
test_freeze_many(void)
{
    struct cg_leaf l;
    struct mi_err e = {0};
    int started = 0;
    long t0;

    if (leaf(&l, "many") < 0) {
        OK(0, "many: leaf");
        return;
    }
    for (int i = 0; i < MANY; i++) {
        started += spawn_in(&l, pause_fn, -1) > 0;
    }
    CHECK_INT(started, MANY, "many: %d children joined", MANY);
    CHECK_INT(cg_each_pid(l.dirfd, NULL, NULL), MANY, "many: cgroup.procs lists them");
    t0 = now_ms();
    CHECK_INT(cg_freeze(&l, true, &e), 0, "many: freeze written");
    CHECK_INT(wait_events(&l, 1, 1, DEADLINE_MS), 0, "many: frozen 1 reached");
    printf("# %d processes frozen in %ld ms\n", MANY, now_ms() - t0);
    CHECK_INT(kill_and_wait(&l), 0, "many: cgroup.kill empties a frozen cgroup");
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "many: destroyed");
}

/* Keeps forking children that spin, up to 100; says so on `out` after the
 * 10th, and goes on forking. */
static void
forker_fn(int out)
{
    for (int i = 0; i < 100; i++) {
        if (fork() == 0) {
            spin_fn(-1);
        }
        if (i == 10 && out >= 0 && write(out, "f", 1) != 1) {
            _exit(1);
        }
        for (volatile int j = 0; j < 200000; j++) {
        }
    }
    spin_fn(-1);
}

static int
sum_cpu(pid_t pid, void *arg)
{
    long *sum = arg;
    long t = cputime(pid);

    *sum += t > 0 ? t : 0;
    return 0;
}

static void
test_freeze_forking(void)
{
    struct cg_leaf l;
    struct mi_err e = {0};
    long c0 = 0;
    long c1 = 0;
    int p[2];
    char c;
    int n0;
    int n1;

    if (leaf(&l, "forker") < 0 || pipe(p) < 0 || spawn_in(&l, forker_fn, p[1]) < 0) {
        OK(0, "forking: started");
        return;
    }
    close(p[1]);
    OK(read_bytes(p[0], &c, 1, DEADLINE_MS) == 0, "forking: 10 children forked");
    CHECK_INT(cg_freeze(&l, true, &e), 0, "forking: freeze written while it forks");
    CHECK_INT(wait_events(&l, 1, 1, DEADLINE_MS), 0, "forking: frozen 1 reached");
    close(p[0]);
    n0 = cg_each_pid(l.dirfd, sum_cpu, &c0);
    interval(INTERVAL_MS);
    n1 = cg_each_pid(l.dirfd, sum_cpu, &c1);
    OK(n0 > 10 && n0 == n1, "forking: no new process while frozen (%d -> %d)", n0, n1);
    OK(c0 == c1, "forking: nobody runs, children included (%ld -> %ld ticks)", c0, c1);
    CHECK_INT(kill_and_wait(&l), 0, "forking: killed, populated 0");
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "forking: destroyed");
}

/* Double fork: the grandchild reports its pid and waits, its parent exits. */
static void
daemon_fn(int out)
{
    pid_t mid = fork();

    if (mid == 0) {
        setsid();
        if (fork() == 0) {
            pid_t me = getpid();

            if (write(out, &me, sizeof(me)) != sizeof(me)) {
                _exit(1);
            }
            pause_fn(-1);
        }
        _exit(0);
    }
    _exit(0);
}

static void
test_kill_daemon(void)
{
    struct cg_leaf l;
    struct mi_err e = {0};
    int p[2];
    pid_t d = -1;
    int st = 0;

    if (leaf(&l, "daemon") < 0 || pipe(p) < 0 || spawn_in(&l, daemon_fn, p[1]) < 0) {
        OK(0, "daemon: started");
        return;
    }
    close(p[1]);
    OK(read_bytes(p[0], &d, sizeof(d), DEADLINE_MS) == 0, "daemon: grandchild pid %d", (int)d);
    close(p[0]);
    OK(d > 0 && in_cgroup(d, l.path), "daemon: still in the leaf after the double fork");
    CHECK_INT(cg_kill(&l, &e), 0, "daemon: cgroup.kill written");
    CHECK_INT(wait_events(&l, 0, -1, DEADLINE_MS), 0, "daemon: populated 0");
    OK(d > 0 && wait_exit(d, DEADLINE_MS, &st) == 0 && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL,
       "daemon: the orphan died of SIGKILL");
    reap_all();
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "daemon: destroyed");
}

/* Forks until refused; reports {count, errno}. */
static void
bomb_fn(int out)
{
    int r[2] = {0, 0};

    for (; r[0] < 100; r[0]++) {
        pid_t pid = fork();

        if (pid == 0) {
            pause_fn(-1);
        }
        if (pid < 0) {
            r[1] = errno;
            break;
        }
    }
    if (write(out, r, sizeof(r)) != sizeof(r)) {
        _exit(1);
    }
    pause_fn(-1);
}

static void
test_pids_limit(void)
{
    struct cg_leaf l;
    struct cg_limits lim = {.pids_max = 20};
    struct mi_err e = {0};
    int p[2];
    int r[2] = {-1, -1};
    int st = -1;
    pid_t pid;

    if (leaf(&l, "bomb") < 0 || pipe(p) < 0) {
        OK(0, "pids: leaf");
        return;
    }
    CHECK_INT(cg_set_limits(&l, &lim, &e), 0, "pids: pids_max 20 set");
    if (e.set) {
        printf("# %s: %s\n", e.msg, strerror(e.errnum));
    }
    if (!(l.v2_ctrls & CG_MASK(CG_CTRL_PIDS))) {
        OK(l.v1_fd[CG_CTRL_PIDS] >= 0 && l.njoin >= 2, "pids: through a v1 mirror");
        CHECK_INT(file_u64(l.v1_fd[CG_CTRL_PIDS], "pids.max"), 20, "pids: v1 pids.max is 20");
    }
    pid = spawn_in(&l, bomb_fn, p[1]);
    close(p[1]);
    OK(pid > 0 && read_bytes(p[0], r, sizeof(r), DEADLINE_MS) == 0, "pids: bomb reported");
    close(p[0]);
    OK(r[0] >= 15 && r[0] < 20, "pids: forks stop near the limit (%d)", r[0]);
    CHECK_INT(r[1], EAGAIN, "pids: fork fails with EAGAIN");
    pid = fork();
    if (pid == 0) {
        _exit(0);
    }
    OK(pid > 0 && wait_exit(pid, DEADLINE_MS, &st) == 0, "pids: the test itself still forks");
    CHECK_INT(kill_and_wait(&l), 0, "pids: bomb killed");
    lim.pids_max = 0;
    CHECK_INT(cg_set_limits(&l, &lim, &e), 0, "pids: unset again");
    if (l.v1_fd[CG_CTRL_PIDS] >= 0) {
        char buf[32] = "";

        cg_read_at(l.v1_fd[CG_CTRL_PIDS], "pids.max", buf, sizeof(buf));
        CHECK_STR(buf, "max\n", "pids: an unset limit is reset to max");
    }
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "pids: destroyed, v1 mirror too");
}

/* Touches memory until the OOM killer ends it. */
static void
hog_fn(int out)
{
    size_t len = (size_t)1 << 30;
    char *p = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_PRIVATE | MAP_ANONYMOUS | MAP_NORESERVE,
                   -1, 0);

    (void)out;
    if (p == MAP_FAILED) {
        _exit(2);
    }
    for (size_t i = 0; i < len; i += 4096) {
        p[i] = 1;
    }
    _exit(3);
}

static void
test_memory_limit(void)
{
    struct cg_leaf l;
    struct cg_limits lim = {.memory_max = 64u << 20};
    struct cg_stats s;
    struct mi_err e = {0};
    int st = -1;
    pid_t pid;

    if (leaf(&l, "oom") < 0) {
        OK(0, "memory: leaf");
        return;
    }
    CHECK_INT(cg_set_limits(&l, &lim, &e), 0, "memory: memory_max 64 MiB set");
    if (e.set) {
        printf("# %s: %s\n", e.msg, strerror(e.errnum));
    }
    pid = spawn_in(&l, hog_fn, -1);
    OK(pid > 0 && wait_exit(pid, 3 * DEADLINE_MS, &st) == 0 && WIFSIGNALED(st) &&
               WTERMSIG(st) == SIGKILL,
       "memory: the hog is OOM-killed (status 0x%x)", st);
    CHECK_INT(cg_stats(&l, &s, &e), 0, "memory: stats read");
    OK(s.has_oom && s.oom_kills >= 1, "memory: OOM counter %llu", (unsigned long long)s.oom_kills);
    CHECK_INT(kill_and_wait(&l), 0, "memory: empty");
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "memory: destroyed");
}

/* Burns 200 ms of CPU time (not wall time: the machine may be busy),
 * within a 10 s deadline, says so, then waits. */
static void
burn_fn(int out)
{
    long end = now_ms() + DEADLINE_MS;
    struct timespec cpu = {0, 0};

    while (now_ms() < end && cpu.tv_sec * 1000 + cpu.tv_nsec / 1000000 < 200) {
        clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &cpu);
    }
    if (write(out, "b", 1) != 1) {
        _exit(1);
    }
    pause_fn(-1);
}

static void
test_stats(void)
{
    struct cg_leaf l;
    struct cg_stats s;
    struct mi_err e = {0};
    int p[2];
    char c;

    if (leaf(&l, "stats") < 0 || pipe(p) < 0 ||
        cg_leaf_attach(&l, CG_MASK(CG_CTRL_MEMORY) | CG_MASK(CG_CTRL_PIDS), &e) < 0 ||
        spawn_in(&l, burn_fn, p[1]) < 0) {
        OK(0, "stats: started (%s)", e.msg);
        return;
    }
    close(p[1]);
    OK(read_bytes(p[0], &c, 1, DEADLINE_MS) == 0, "stats: child burned CPU");
    close(p[0]);
    CHECK_INT(cg_stats(&l, &s, &e), 0, "stats: read");
    OK(s.has_cpu && s.cpu_usec >= 190000, "stats: cpu %llu us", (unsigned long long)s.cpu_usec);
    OK(s.has_pids && s.pids == 1, "stats: pids %llu", (unsigned long long)s.pids);
    OK(s.has_memory && s.memory_bytes > 0, "stats: memory %llu bytes",
       (unsigned long long)s.memory_bytes);
    OK(s.has_oom && s.oom_kills == 0, "stats: no OOM kill");
    CHECK_INT(kill_and_wait(&l), 0, "stats: killed");
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "stats: destroyed");
}

static void
test_cpu_limit(void)
{
    struct cg_leaf l;
    struct cg_limits lim = {.cpu_max = "20000 100000"};
    struct mi_err e = {0};
    long t0;
    long t1;
    pid_t pid;

    if (leaf(&l, "cpu") < 0 || cg_set_limits(&l, &lim, &e) < 0) {
        OK(0, "cpu: cpu_max set (%s)", e.msg);
        return;
    }
    if (!(l.v2_ctrls & CG_MASK(CG_CTRL_CPU))) {
        CHECK_INT(file_u64(l.v1_fd[CG_CTRL_CPU], "cpu.cfs_quota_us"), 20000, "cpu: v1 quota");
        CHECK_INT(file_u64(l.v1_fd[CG_CTRL_CPU], "cpu.cfs_period_us"), 100000, "cpu: v1 period");
    }
    pid = spawn_in(&l, spin_fn, -1);
    t0 = cputime(pid);
    interval(3 * INTERVAL_MS);
    t1 = cputime(pid);
    /* 20% of 900 ms is 18 ticks at 100 Hz; unthrottled it would be 90. */
    OK(pid > 0 && t1 - t0 > 0 && t1 - t0 <= 40, "cpu: a spinner gets about 20%% (%ld ticks)",
       t1 - t0);
    CHECK_INT(kill_and_wait(&l), 0, "cpu: killed");
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "cpu: destroyed");
}

static void
test_reuse_frozen(void)
{
    struct cg_leaf l;
    struct mi_err e = {0};
    bool frz = false;

    if (leaf(&l, "stale") < 0) {
        OK(0, "reuse: leaf");
        return;
    }
    cg_freeze(&l, true, &e);
    CHECK_INT(wait_events(&l, 0, 1, DEADLINE_MS), 0, "reuse: an empty cgroup freezes at once");
    cg_leaf_close(&l);
    CHECK_INT(leaf(&l, "stale"), 0, "reuse: created again over the old one");
    CHECK_INT(file_u64(l.dirfd, "cgroup.freeze"), 0, "reuse: cgroup.freeze is 0 again");
    CHECK_INT(cg_frozen(&l, &frz, &e), 0, "reuse: cg_frozen reads");
    OK(!frz, "reuse: not frozen");
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "reuse: destroyed");
}

static void
test_clone_into(void)
{
    struct cg_leaf l;
    struct cg_limits lim = {.pids_max = 50};
    struct mi_err e = {0};
    struct clone_args ca = {.flags = CLONE_INTO_CGROUP, .exit_signal = SIGCHLD};
    int st = -1;
    long pid;

    if (leaf(&l, "clone3") < 0 || cg_set_limits(&l, &lim, &e) < 0) {
        OK(0, "clone3: leaf (%s)", e.msg);
        return;
    }
    ca.cgroup = (uint64_t)cg_leaf_clone_fd(&l);
    fflush(stdout);
    pid = syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid == 0) {
        /* Placed by the kernel in v2; v1 mirrors joined by hand. */
        _exit(cg_join_in_child(&l, true) < 0 ? 1 : 0);
    }
    OK(pid > 0 && wait_exit((pid_t)pid, DEADLINE_MS, &st) == 0 && WIFEXITED(st) &&
               WEXITSTATUS(st) == 0,
       "clone3: CLONE_INTO_CGROUP with the leaf's O_PATH fd, then the v1 joins");
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "clone3: destroyed");
}

/* A root that lacks the memory controller everywhere. */
static void
test_missing_controller(void)
{
    struct cg_root r2 = R;
    struct cg_leaf l;
    struct cg_limits lim = {.memory_max = 1u << 30};
    struct mi_err e = {0};
    char path[CG_PATH_MAX];

    r2.v1[CG_CTRL_MEMORY].fd = -1;
    r2.v2_ctrls &= ~CG_MASK(CG_CTRL_MEMORY);
    cg_join_path(path, sizeof(path), LAY.services.path, "nomem");
    if (cg_leaf_open(&l, &r2, path, &e) < 0) {
        OK(0, "missing: leaf");
        return;
    }
    l.v2_ctrls &= ~CG_MASK(CG_CTRL_MEMORY);
    CHECK_INT(cg_set_limits(&l, &lim, &e), -1, "missing: memory_max refused");
    CHECK_CONTAINS(e.msg, "memory_max needs the memory controller: not in ", "missing: message");
    CHECK_CONTAINS(e.msg, "/services/cgroup.subtree_control and no v1 memory hierarchy",
                   "missing: names the file and the v1 fallback");
    printf("# %s\n", e.msg);
    r2.v1[CG_CTRL_MEMORY].fd = R.v1[CG_CTRL_MEMORY].fd; /* rmdir of mirrors needs it */
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "missing: destroyed");
}

static void
test_kill_fallback(void)
{
    struct cg_leaf l;
    struct mi_err e = {0};
    int started = 0;

    if (leaf(&l, "fallback") < 0) {
        OK(0, "fallback: leaf");
        return;
    }
    for (int i = 0; i < 5; i++) {
        started += spawn_in(&l, i == 0 ? forker_fn : pause_fn, -1) > 0;
    }
    CHECK_INT(started, 5, "fallback: 5 children, one forking");
    CHECK_INT(cg_kill_fallback(&l, &e), 0, "fallback: freeze, kill each, thaw");
    CHECK_INT(wait_events(&l, 0, 0, DEADLINE_MS), 0, "fallback: populated 0, left thawed");
    reap_all();
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "fallback: destroyed");
}

/* The v1 freezer as the primary hierarchy: freeze, thaw, kill fallback,
 * cpuacct statistics. */
static void
v1_checks(struct cg_leaf *l, pid_t pid)
{
    struct cg_stats s;
    struct mi_err e = {0};
    long t0;
    long t1;

    interval(INTERVAL_MS);
    CHECK_INT(cg_freeze(l, true, &e), 0, "v1: FROZEN written");
    CHECK_INT(wait_events(l, 1, 1, DEADLINE_MS), 0, "v1: freezer.state FROZEN reached");
    t0 = cputime(pid);
    interval(INTERVAL_MS);
    t1 = cputime(pid);
    OK(t0 > 0 && t0 == t1, "v1: CPU time stands still (%ld -> %ld)", t0, t1);
    CHECK_INT(cg_freeze(l, false, &e), 0, "v1: THAWED written");
    CHECK_INT(wait_events(l, 1, 0, DEADLINE_MS), 0, "v1: thawed");
    t0 = cputime(pid);
    interval(INTERVAL_MS);
    t1 = cputime(pid);
    OK(t1 > t0, "v1: CPU time advances (%ld -> %ld)", t0, t1);
    CHECK_INT(cg_stats(l, &s, &e), 0, "v1: stats read");
    OK(s.has_cpu && s.cpu_usec > 0, "v1: cpuacct usage %llu us", (unsigned long long)s.cpu_usec);
    OK(s.has_pids && s.pids == 1, "v1: pids.current %llu", (unsigned long long)s.pids);
    CHECK_INT(kill_and_wait(l), 0, "v1: kill without cgroup.kill empties the freezer cgroup");
}

static void
test_v1_mode(void)
{
    struct cg_root r1;
    struct cg_layout lay1;
    struct cg_leaf l;
    struct mi_err e = {0};
    char base[CG_PATH_MAX];
    char want[CG_PATH_MAX + 16];
    pid_t pid;

    if (cg_discover(&r1, &e) < 0 || cg_use_v1(&r1, &e) < 0) {
        printf("ok %d - # SKIP v1 mode: %s\n", ++tap_n, e.msg);
        return;
    }
    cg_join_path(base, sizeof(base), r1.v1[CG_CTRL_FREEZER].self, NAME);
    CHECK_INT(cg_layout_create(&lay1, &r1, base, 0, &e), 0, "v1: layout in the freezer hierarchy");
    if (cg_leaf_create(&l, &lay1.services, "v1busy", &e) == 0 &&
        cg_leaf_attach(&l, CG_MASK(CG_CTRL_CPUACCT) | CG_MASK(CG_CTRL_PIDS), &e) == 0 &&
        (pid = spawn_in(&l, spin_fn, -1)) > 0) {
        snprintf(want, sizeof(want), "freezer:/%s\n", l.path);
        OK(in_cgroup(pid, want), "v1: the child is in freezer:/%s", l.path);
        v1_checks(&l, pid);
    } else {
        OK(0, "v1: leaf and child (%s)", e.msg);
    }
    CHECK_INT(cg_leaf_destroy(&l, &e), 0, "v1: leaf destroyed");
    CHECK_INT(cg_layout_destroy(&lay1, &e), 0, "v1: layout destroyed");
    cg_root_close(&r1);
}

static void
run_tests(int out)
{
    struct mi_err e = {0};
    int counts[2];

    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (cg_watch_open(&W, &e) < 0) {
        printf("Bail out! %s\n", e.msg);
        fflush(stdout);
        _exit(1);
    }
    test_discover();
    test_layout();
    if (LAY.services.dirfd >= 0) {
        test_auto();
        test_freeze_busy();
        test_freeze_many();
        test_freeze_forking();
        test_kill_daemon();
        test_pids_limit();
        test_memory_limit();
        test_stats();
        test_cpu_limit();
        test_reuse_frozen();
        test_clone_into();
        test_missing_controller();
        test_kill_fallback();
        test_v1_mode();
        CHECK_INT(cg_layout_destroy(&LAY, &e), 0, "layout: destroyed by the library (%s)", e.msg);
    }
    counts[0] = tap_n;
    counts[1] = tap_failed;
    fflush(stdout);
    _exit(write(out, counts, sizeof(counts)) == sizeof(counts) ? 0 : 1);
}

/* ---- the guard: remove minit-test-<pid> everywhere, whatever happened -- */

/* Waits, bounded, for "populated 0" in mnt/rel/cgroup.events (POLLPRI). */
static void
wait_unpopulated(int mnt, const char *rel)
{
    char path[CG_PATH_MAX + 32];
    char buf[256];
    long end = now_ms() + DEADLINE_MS;
    int fd MI_CLEANUP_CLOSE = -1;

    snprintf(path, sizeof(path), "%s/cgroup.events", rel);
    fd = cg_openat(mnt, path, O_RDONLY);
    while (fd >= 0 && now_ms() < end) {
        struct pollfd p = {fd, POLLPRI, 0};

        if (cg_read_fd(fd, buf, sizeof(buf)) < 0 || strstr(buf, "populated 0") != NULL) {
            return;
        }
        poll(&p, 1, (int)(end - now_ms()));
    }
}

/* v1: thaws mnt/rel, SIGKILLs every pid in it, waits on their pidfds. */
static void
kill_v1_dir(int mnt, const char *rel)
{
    char path[CG_PATH_MAX + 32];
    struct pollfd p[256];
    int n = 0;
    int dfd MI_CLEANUP_CLOSE = cg_openat(mnt, rel, O_PATH | O_DIRECTORY);
    long end = now_ms() + DEADLINE_MS;
    char buf[8192];

    snprintf(path, sizeof(path), "%s/freezer.state", rel);
    cg_write_at(mnt, path, "THAWED");
    if (dfd < 0 || cg_read_at(dfd, "cgroup.procs", buf, sizeof(buf)) < 0) {
        return;
    }
    for (char *s = buf; *s != '\0' && n < 256; s = strchr(s, '\n') + 1) {
        pid_t pid = (pid_t)strtol(s, NULL, 10);
        int pfd = (int)syscall(SYS_pidfd_open, pid, 0);

        if (pfd >= 0) {
            syscall(SYS_pidfd_send_signal, pfd, SIGKILL, NULL, 0);
            p[n++] = (struct pollfd){pfd, POLLIN, 0};
        }
    }
    for (int i = 0; i < n; i++) {
        long left = end - now_ms();

        poll(&p[i], 1, left > 0 ? (int)left : 0);
        close(p[i].fd);
    }
    reap_all();
}

static int
rm_tree(int mnt, const char *rel, bool v2)
{
    char sub[64][CG_PATH_MAX];
    int nsub = 0;
    int dfd = cg_openat(mnt, rel, O_RDONLY | O_DIRECTORY);
    DIR *d = dfd >= 0 ? fdopendir(dfd) : NULL;
    struct dirent *de;

    if (d == NULL) {
        sys_close(dfd);
        return errno == ENOENT ? 0 : -1;
    }
    while ((de = readdir(d)) != NULL && nsub < 64) {
        if (de->d_type == DT_DIR && de->d_name[0] != '.') {
            snprintf(sub[nsub++], CG_PATH_MAX, "%s/%s", rel, de->d_name);
        }
    }
    closedir(d);
    for (int i = 0; i < nsub; i++) {
        rm_tree(mnt, sub[i], v2);
    }
    for (int tries = 0; tries < 5; tries++) {
        if (unlinkat(mnt, rel, AT_REMOVEDIR) == 0 || errno == ENOENT) {
            return 0;
        }
        if (errno != EBUSY) {
            break;
        }
        if (v2) {
            wait_unpopulated(mnt, rel);
        } else {
            kill_v1_dir(mnt, rel);
        }
    }
    printf("# cleanup: unable to remove %s: %s\n", rel, strerror(errno));
    return -1;
}

/* Returns the number of hierarchies where minit-test-<pid> is left. */
static int
cleanup(void)
{
    char path[CG_PATH_MAX + 32];
    int left = 0;

    snprintf(path, sizeof(path), "%s/cgroup.kill", BASE);
    cg_write_at(R.v2.fd, path, "1");
    wait_unpopulated(R.v2.fd, BASE);
    left += rm_tree(R.v2.fd, BASE, true) < 0 || faccessat(R.v2.fd, BASE, F_OK, 0) == 0;
    for (int c = 0; c < CG_CTRL_COUNT; c++) {
        const struct cg_hier *h = &R.v1[c];
        bool seen = false;

        for (int c2 = 0; c2 < c; c2++) {
            seen = seen || (R.v1[c2].fd >= 0 && strcmp(R.v1[c2].mnt, h->mnt) == 0);
        }
        if (h->fd < 0 || seen || cg_join_path(path, sizeof(path), h->self, NAME) < 0) {
            continue;
        }
        left += rm_tree(h->fd, path, false) < 0 || faccessat(h->fd, path, F_OK, 0) == 0;
    }
    reap_all();
    return left;
}

/* A missing precondition: 77, or a failure under MINIT_MUST_WORK=1 (CI). */
static int
skip(const char *reason)
{
    const char *must = getenv("MINIT_MUST_WORK");

    if (must != NULL && strcmp(must, "1") == 0) {
        printf("not ok 1 - skipped but MINIT_MUST_WORK=1: %s\n1..1\n", reason);
        return 1;
    }
    printf("1..0 # SKIP %s\n", reason);
    return 77;
}

int
main(void)
{
    struct mi_err e = {0};
    int res[2];
    int counts[2] = {0, 0};
    int st = 0;
    bool done;
    int left;
    pid_t pid;

    if (geteuid() != 0) {
        return skip("requires root");
    }
    if (cg_discover(&R, &e) < 0 || R.mode != CG_MODE_V2) {
        char why[MI_ERR_MSG + 32];

        snprintf(why, sizeof(why), "no writable cgroup2: %s",
                 e.set                  ? e.msg
                 : R.mode == CG_MODE_V1 ? "only the v1 freezer is writable"
                                        : R.why);
        return skip(why);
    }
    snprintf(NAME, sizeof(NAME), "minit-test-%d", (int)getpid());
    cg_join_path(BASE, sizeof(BASE), R.v2.self, NAME);
    prctl(PR_SET_CHILD_SUBREAPER, 1);
    if (pipe(res) < 0) {
        return 1;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        close(res[0]);
        run_tests(res[1]);
    }
    close(res[1]);
    /* Wait for the runner itself, not for EOF: its children hold the pipe. */
    if (pid > 0 && wait_exit(pid, RUNNER_LIMIT, &st) < 0) {
        kill(pid, SIGKILL);
        wait_exit(pid, DEADLINE_MS, &st);
    }
    done = pid > 0 && read_bytes(res[0], counts, sizeof(counts), 0) == 0;
    left = cleanup();
    tap_n = counts[0];
    tap_failed = counts[1];
    if (!done) {
        printf("Bail out! the test runner died (status 0x%x); cleanup left %d\n", st, left);
        return 1;
    }
    OK(left == 0, "cleanup: %s removed from every hierarchy", NAME);
    return done_testing();
}
