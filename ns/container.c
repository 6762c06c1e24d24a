/* SPDX-License-Identifier: MIT */
/*
 * Building the container (job 3). The parent clones the child straight
 * into its namespaces and its cgroup (clone3 with CLONE_INTO_CGROUP), writes
 * the uid/gid maps of a user namespace, and waits on a socketpair for one
 * message: "built" or the step that failed with its errno. The child makes
 * / private, binds the rootfs onto itself, mounts /proc, /dev, /sys and the
 * rest below it (mounts.c), pivots into it and detaches the host's root,
 * then sets the hostname and brings up loopback. It then returns 0, like
 * fork, to be the container's PID 1.
 *
 * The child is a copy of minit (no CLONE_VM), so it may allocate and format
 * errors; it runs before any loop or thread exists.
 */
#include "ns/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <linux/capability.h>
#include <linux/sched.h>
#include <net/if.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init/log.h"
#include "init/sys.h"

/* What the child sends: errnum -1 means built. */
struct ns_report {
    int errnum;
    char msg[MI_ERR_MSG];
};

void
ns_container_hostname(const struct ns_spec *s, char *buf, size_t size)
{
    char real[PATH_MAX];
    const char *base;
    size_t n;
    size_t start;

    if (s->hostname != NULL) {
        snprintf(buf, size, "%s", s->hostname);
        return;
    }
    base = realpath(s->rootfs, real) != NULL ? real : s->rootfs;
    n = strlen(base);
    while (n > 1 && base[n - 1] == '/') {
        n--;
    }
    start = n;
    while (start > 0 && base[start - 1] != '/') {
        start--;
    }
    if (n - start > 64) {
        n = start + 64;
    }
    if (n == start) {
        snprintf(buf, size, "minit");
    } else {
        snprintf(buf, size, "%.*s", (int)(n - start), base + start);
    }
}

static int
loopback_up(struct mi_err *e)
{
    struct ifreq ifr;
    int fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);

    memset(&ifr, 0, sizeof(ifr));
    memcpy(ifr.ifr_name, "lo", 3);
    if (fd < 0 || ioctl(fd, SIOCGIFFLAGS, &ifr) < 0) {
        mi_err_sys(e, "cannot bring up loopback");
        sys_close(fd);
        return -1;
    }
    ifr.ifr_flags |= IFF_UP | IFF_RUNNING;
    if (ioctl(fd, SIOCSIFFLAGS, &ifr) < 0) {
        mi_err_sys(e, "cannot bring up loopback");
        sys_close(fd);
        return -1;
    }
    sys_close(fd);
    return 0;
}

/* pivot_root(".", ".") stacks the old root on the new one; detaching it
 * leaves only the rootfs (runc's trick: no directory for the old root). */
static int
enter_root(int root, const char *rootfs, struct mi_err *e)
{
    if (fchdir(root) < 0) {
        return mi_err_sys(e, "cannot enter %s", rootfs);
    }
    if (syscall(SYS_pivot_root, ".", ".") < 0) {
        return mi_err_sys(e, "cannot pivot_root into %s", rootfs);
    }
    if (umount2(".", MNT_DETACH) < 0) {
        return mi_err_sys(e, "cannot detach the host's root from %s", rootfs);
    }
    if (chdir("/") < 0) {
        return mi_err_sys(e, "cannot enter / of %s", rootfs);
    }
    return 0;
}

/* A private, writable cgroup2 mount that is never attached anywhere: the
 * container's minit manages its leaves through this fd while the payload
 * sees /sys/fs/cgroup read-only. */
static int
private_cgroup2(int *fd, struct mi_err *e)
{
    int fs = fsopen("cgroup2", FSOPEN_CLOEXEC);

    if (fs < 0 || fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) < 0) {
        mi_err_sys(e, "cannot mount cgroup2 for the container's minit");
        sys_close(fs);
        return -1;
    }
    *fd = fsmount(fs, FSMOUNT_CLOEXEC, MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC);
    if (*fd < 0) {
        mi_err_sys(e, "cannot mount cgroup2 for the container's minit");
    }
    sys_close(fs);
    return *fd < 0 ? -1 : 0;
}

static int
build(const struct ns_spec *s, int *cg2fd, struct mi_err *e)
{
    char real[PATH_MAX];
    char host[65];
    struct mount_attr ro = {.attr_set = MOUNT_ATTR_RDONLY};
    int root;
    int r;

    umask(0);
    if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) < 0) {
        return mi_err_sys(e, "cannot make / private");
    }
    if (realpath(s->rootfs, real) == NULL) {
        return mi_err_sys(e, "cannot find rootfs %s", s->rootfs);
    }
    root = sys_open(real, O_PATH | O_DIRECTORY, 0);
    if (root < 0 || ns_mount_bind(root, root, false) < 0) {
        mi_err_sys(e, "cannot bind rootfs %s", s->rootfs);
        sys_close(root);
        return -1;
    }
    sys_close(root);
    /* Opened again: the path now crosses into the bind mount. */
    root = sys_open(real, O_PATH | O_DIRECTORY, 0);
    if (root < 0) {
        return mi_err_sys(e, "cannot open rootfs %s", s->rootfs);
    }
    r = ns_mount_all(root, s, e);
    if (r == 0 && s->cgroup_fd >= 0) {
        r = private_cgroup2(cg2fd, e);
    }
    if (r == 0) {
        r = enter_root(root, s->rootfs, e);
    }
    sys_close(root);
    if (r < 0) {
        return -1;
    }
    if (s->readonly && mount_setattr(AT_FDCWD, "/", 0, &ro, sizeof(ro)) < 0) {
        return mi_err_sys(e, "cannot make the root of %s read-only", s->rootfs);
    }
    ns_container_hostname(s, host, sizeof(host));
    if (sethostname(host, strlen(host)) < 0) {
        return mi_err_sys(e, "cannot set the hostname to %s", host);
    }
    if (s->net == NS_NET_NEW && loopback_up(e) < 0) {
        return -1;
    }
    umask(022);
    return 0;
}

static void
child_main(const struct ns_spec *s, int sock, bool wait_go, bool late_cgroup, int *cg2fd)
{
    struct ns_report rep = {.errnum = -1};
    struct mi_err e = {0};
    char go;

    /* A container outliving its monitor would be out of every control. */
    prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (wait_go && sys_read(sock, &go, 1) != 1) {
        _exit(125);
    }
    if (late_cgroup && unshare(CLONE_NEWCGROUP) < 0) {
        mi_err_sys(&e, "cannot create the cgroup namespace");
    } else {
        build(s, cg2fd, &e);
    }
    if (e.set) {
        rep.errnum = e.errnum;
        memcpy(rep.msg, e.msg, sizeof(rep.msg));
        sys_write_all(sock, &rep, sizeof(rep));
        _exit(125);
    }
    if (sys_write_all(sock, &rep, sizeof(rep)) < 0) {
        _exit(125);
    }
    sys_close(sock);
}

static int
write_file(pid_t pid, const char *name, const char *text, struct mi_err *e)
{
    char path[64];
    int fd;
    int r;

    snprintf(path, sizeof(path), "/proc/%d/%s", (int)pid, name);
    fd = sys_open(path, O_WRONLY, 0);
    r = fd < 0 ? -1 : sys_write_all(fd, text, strlen(text));
    if (r < 0) {
        mi_err_sys(e, "cannot write %s", path);
    }
    sys_close(fd);
    return r;
}

/* The caller becomes root of the user namespace: one line per map. */
static int
write_maps(pid_t pid, struct mi_err *e)
{
    char map[64];

    if (write_file(pid, "setgroups", "deny", e) < 0) {
        return -1;
    }
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)geteuid());
    if (write_file(pid, "uid_map", map, e) < 0) {
        return -1;
    }
    snprintf(map, sizeof(map), "0 %u 1\n", (unsigned)getegid());
    return write_file(pid, "gid_map", map, e);
}

static pid_t
do_clone(const struct ns_spec *s, uint64_t flags, bool *late_cgroup)
{
    struct clone_args ca;
    pid_t pid;

    memset(&ca, 0, sizeof(ca));
    ca.flags = flags;
    ca.exit_signal = SIGCHLD;
    if (s->cgroup_fd >= 0) {
        ca.flags |= CLONE_INTO_CGROUP;
        ca.cgroup = (uint64_t)s->cgroup_fd;
    }
    *late_cgroup = false;
    pid = (pid_t)syscall(SYS_clone3, &ca, sizeof(ca));
    if (pid < 0 && errno == ENOSYS) {
        /* Before Linux 5.7: clone, and the cgroup namespace is made by
         * the child once the parent has moved it into its cgroup. */
        *late_cgroup = s->cgroup_fd >= 0;
        if (*late_cgroup) {
            flags &= ~(uint64_t)CLONE_NEWCGROUP;
        }
        pid = (pid_t)syscall(SYS_clone, (unsigned long)flags | SIGCHLD, NULL, NULL, NULL, NULL);
    }
    return pid;
}

/* The v1 mirrors of the container's cgroup (its limits on a hybrid host):
 * the child is moved in before it is let go, so all it forks counts. */
static int
join_more(const struct ns_spec *s, pid_t pid, struct mi_err *e)
{
    char buf[16];
    int n = snprintf(buf, sizeof(buf), "%d", (int)pid);

    for (int i = 0; i < s->njoin; i++) {
        if (sys_write_all(s->join_fds[i], buf, (size_t)n) < 0) {
            return mi_err_sys(e, "cannot move the container into its v1 cgroups");
        }
    }
    return 0;
}

static int
late_join(int cgfd, pid_t pid, struct mi_err *e)
{
    char buf[16];
    int fd = openat(cgfd, "cgroup.procs", O_WRONLY | O_CLOEXEC);
    int n = snprintf(buf, sizeof(buf), "%d", (int)pid);
    int r = fd < 0 ? -1 : sys_write_all(fd, buf, (size_t)n);

    if (r < 0) {
        mi_err_sys(e, "cannot move the container into its cgroup");
    }
    sys_close(fd);
    return r;
}

/* The parent's side once the child exists: maps, go, the report. */
static int
parent_steps(const struct ns_spec *s, pid_t pid, int sock, bool late, struct mi_err *e)
{
    struct ns_report rep;
    ssize_t n;

    if ((s->userns && write_maps(pid, e) < 0) || (late && late_join(s->cgroup_fd, pid, e) < 0) ||
        join_more(s, pid, e) < 0) {
        return -1;
    }
    if ((s->userns || late || s->njoin > 0) && sys_write_all(sock, "g", 1) < 0) {
        return mi_err_sys(e, "cannot start the container");
    }
    n = sys_read(sock, &rep, sizeof(rep));
    if (n != (ssize_t)sizeof(rep)) {
        return mi_err_set(e, 0, "the container died while it was being built");
    }
    if (rep.errnum != -1) {
        rep.msg[sizeof(rep.msg) - 1] = '\0';
        return mi_err_set(e, rep.errnum, "%s", rep.msg);
    }
    return 0;
}

pid_t
ns_container_start(const struct ns_spec *s, int *cg2fd, struct mi_err *e)
{
    uint64_t flags = CLONE_NEWPID | CLONE_NEWNS | CLONE_NEWUTS | CLONE_NEWIPC | CLONE_NEWCGROUP;
    bool late;
    int sp[2];
    pid_t pid;

    *cg2fd = -1;
    if (s->net != NS_NET_HOST) {
        flags |= CLONE_NEWNET;
    }
    if (s->userns) {
        flags |= CLONE_NEWUSER;
    }
    if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sp) < 0) {
        return mi_err_sys(e, "cannot create a socketpair");
    }
    pid = do_clone(s, flags, &late);
    if (pid < 0) {
        mi_err_sys(e, "cannot create the container's namespaces");
        sys_close(sp[0]);
        sys_close(sp[1]);
        return -1;
    }
    if (pid == 0) {
        sys_close(sp[0]);
        child_main(s, sp[1], s->userns || late || s->njoin > 0, late, cg2fd);
        return 0;
    }
    sys_close(sp[1]);
    if (parent_steps(s, pid, sp[0], late, e) < 0) {
        kill(pid, SIGKILL);
        sys_close(sp[0]);
        return -1;
    }
    sys_close(sp[0]);
    return pid;
}

int
ns_self_restrict(ns_caps keep, struct mi_err *e)
{
    struct __user_cap_header_struct hdr = {.version = _LINUX_CAPABILITY_VERSION_3};
    struct __user_cap_data_struct data[2];

    /* Dropping a capability already out of the set succeeds: no read. */
    for (int c = 0; c < 64 && ((ns_caps)1 << c) & ns_caps_all(); c++) {
        if (!(keep & ((ns_caps)1 << c)) && prctl(PR_CAPBSET_DROP, c) < 0) {
            return mi_err_sys(e, "cannot drop capability %d from the bounding set", c);
        }
    }
    if (syscall(SYS_capget, &hdr, data) < 0) {
        return mi_err_sys(e, "cannot read minit's capabilities");
    }
    for (int i = 0; i < 2; i++) {
        data[i].permitted &= (uint32_t)(keep >> (32 * i));
        data[i].effective &= (uint32_t)(keep >> (32 * i));
        data[i].inheritable = 0;
    }
    if (syscall(SYS_capset, &hdr, data) < 0) {
        return mi_err_sys(e, "cannot drop minit's capabilities");
    }
    prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0);
    if (prctl(PR_SET_DUMPABLE, 0, 0, 0, 0) < 0) {
        return mi_err_sys(e, "cannot make minit non-dumpable");
    }
    return 0;
}
