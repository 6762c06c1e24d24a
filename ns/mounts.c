/* SPDX-License-Identifier: MIT */
/*
 * The container's mounts, below the rootfs fd. Every path inside the rootfs
 * is opened with openat2(RESOLVE_IN_ROOT), so a symlink in the rootfs
 * (ROOTFS/proc -> /, ROOTFS/dev -> /etc) resolves inside it, never on the
 * host; the standard mount points refuse symlinks outright. Filesystems
 * are mounted with the new mount API (fsopen, fsmount, open_tree,
 * move_mount onto the opened fd): no path is looked up twice, and a
 * read-only mount is read-only from its first moment.
 */
#include "ns/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <stdio.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/sysmacros.h>
#include <unistd.h>

#include "init/log.h"
#include "init/sys.h"

#define NS_MNT_SAFE (MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | MOUNT_ATTR_NOEXEC)

static int
open_how_at(int root, const char *rel, bool nofollow)
{
    struct open_how how = {.flags = O_PATH | O_CLOEXEC,
                           .resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS};

    if (nofollow) {
        how.resolve |= RESOLVE_NO_SYMLINKS;
    }
    return (int)syscall(SYS_openat2, root, rel, &how, sizeof(how));
}

/* Creates the last component of rel (a directory or an empty file) in
 * its parent, the parents first. */
static int
create_in(int root, const char *rel, int kind, bool nofollow)
{
    char parent[4096];
    const char *name = strrchr(rel, '/');
    int pfd;
    int r;

    if (name == NULL) {
        pfd = fcntl(root, F_DUPFD_CLOEXEC, 0);
        name = rel;
    } else {
        if ((size_t)(name - rel) >= sizeof(parent)) {
            errno = ENAMETOOLONG;
            return -1;
        }
        memcpy(parent, rel, (size_t)(name - rel));
        parent[name - rel] = '\0';
        name++;
        pfd = parent[0] != '\0' ? ns_open_in(root, parent, S_IFDIR, nofollow)
                                : fcntl(root, F_DUPFD_CLOEXEC, 0);
    }
    if (pfd < 0) {
        return -1;
    }
    if (kind == S_IFDIR) {
        r = mkdirat(pfd, name, 0755);
    } else {
        r = openat(pfd, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0644);
        if (r >= 0) {
            sys_close(r);
            r = 0;
        }
    }
    sys_close(pfd);
    return r < 0 && errno != EEXIST ? -1 : 0;
}

int
ns_open_in(int root, const char *rel, int create, bool nofollow)
{
    int fd;

    while (*rel == '/') {
        rel++;
    }
    if (*rel == '\0') {
        return fcntl(root, F_DUPFD_CLOEXEC, 0);
    }
    fd = open_how_at(root, rel, nofollow);
    if (fd >= 0 || errno != ENOENT || create == 0) {
        return fd;
    }
    if (create_in(root, rel, create, nofollow) < 0) {
        return -1;
    }
    return open_how_at(root, rel, nofollow);
}

/* fsconfig for each "k=v" or "k" of a comma-separated list. */
static int
configure(int fs, const char *opts)
{
    char buf[256];
    char *save = NULL;

    if (opts == NULL) {
        return 0;
    }
    if (snprintf(buf, sizeof(buf), "%s", opts) >= (int)sizeof(buf)) {
        errno = E2BIG;
        return -1;
    }
    for (char *kv = strtok_r(buf, ",", &save); kv != NULL; kv = strtok_r(NULL, ",", &save)) {
        char *v = strchr(kv, '=');
        int r;

        if (v != NULL) {
            *v++ = '\0';
            r = fsconfig(fs, FSCONFIG_SET_STRING, kv, v, 0);
        } else {
            r = fsconfig(fs, FSCONFIG_SET_FLAG, kv, NULL, 0);
        }
        if (r < 0) {
            return -1;
        }
    }
    return 0;
}

static int
attach(int mnt, int target)
{
    int r = move_mount(mnt, "", target, "", MOVE_MOUNT_F_EMPTY_PATH | MOVE_MOUNT_T_EMPTY_PATH);
    int saved = errno;

    sys_close(mnt);
    errno = saved;
    return r;
}

int
ns_mount_fresh(int target, const char *fstype, const char *opts, unsigned attrs)
{
    int fs = fsopen(fstype, FSOPEN_CLOEXEC);
    int mnt = -1;
    int saved;

    if (fs < 0) {
        return -1;
    }
    if (configure(fs, opts) == 0 && fsconfig(fs, FSCONFIG_CMD_CREATE, NULL, NULL, 0) == 0) {
        mnt = fsmount(fs, FSMOUNT_CLOEXEC, attrs);
    }
    saved = errno;
    sys_close(fs);
    errno = saved;
    return mnt < 0 ? -1 : attach(mnt, target);
}

int
ns_mount_bind(int src, int target, bool ro)
{
    struct mount_attr attr = {.attr_set = MOUNT_ATTR_RDONLY};
    int t = open_tree(src, "", OPEN_TREE_CLONE | OPEN_TREE_CLOEXEC | AT_EMPTY_PATH | AT_RECURSIVE);

    if (t < 0) {
        return -1;
    }
    if (ro && mount_setattr(t, "", AT_EMPTY_PATH | AT_RECURSIVE, &attr, sizeof(attr)) < 0) {
        int saved = errno;

        sys_close(t);
        errno = saved;
        return -1;
    }
    return attach(t, target);
}

/* Opens rel (a standard mount point: no symlink allowed, created when
 * missing) and mounts a fresh fstype there. */
static int
fresh_at(int root, const char *rel, const char *fstype, const char *opts, unsigned attrs,
         const char *rootfs, struct mi_err *e)
{
    int t = ns_open_in(root, rel, S_IFDIR, true);

    if (t < 0) {
        return mi_err_sys(e, "cannot open %s/%s", rootfs, rel);
    }
    if (ns_mount_fresh(t, fstype, opts, attrs) < 0) {
        mi_err_sys(e, "cannot mount %s on %s/%s", fstype, rootfs, rel);
        sys_close(t);
        return -1;
    }
    sys_close(t);
    return 0;
}

static const struct {
    const char *name;
    unsigned major, minor;
} devices[] = {
        {"null", 1, 3},   {"zero", 1, 5},    {"full", 1, 7},
        {"random", 1, 8}, {"urandom", 1, 9}, {"tty", 5, 0},
};

static const struct {
    const char *name, *to;
} dev_links[] = {
        {"fd", "/proc/self/fd"},       {"stdin", "/proc/self/fd/0"}, {"stdout", "/proc/self/fd/1"},
        {"stderr", "/proc/self/fd/2"}, {"ptmx", "pts/ptmx"},         {"core", "/proc/kcore"},
};

/* A device node: mknod, or (in a user namespace, where mknod is EPERM) a
 * bind mount of the host's node onto an empty file. */
static int
make_device(int dev, const char *name, unsigned major, unsigned minor)
{
    char host[64];
    int src;
    int t;
    int r;

    if (mknodat(dev, name, S_IFCHR | 0666, makedev(major, minor)) == 0) {
        return fchmodat(dev, name, 0666, 0);
    }
    if (errno != EPERM) {
        return -1;
    }
    t = openat(dev, name, O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0666);
    if (t < 0) {
        return -1;
    }
    sys_close(t);
    snprintf(host, sizeof(host), "/dev/%s", name);
    src = sys_open(host, O_PATH, 0);
    t = openat(dev, name, O_PATH | O_NOFOLLOW | O_CLOEXEC);
    r = src < 0 || t < 0 ? -1 : ns_mount_bind(src, t, false);
    sys_close(src);
    sys_close(t);
    return r;
}

/* A terminal on stdin is the container's console: bound onto
 * /dev/console, as runc does, so that ttyname() finds it (the host's
 * /dev/pts is not visible inside). Not fatal. */
static void
bind_console(int dev)
{
    char tty[64];
    ssize_t n;
    int src = -1;
    int t;

    /* By path, in this mount namespace's copy of the host's tree: the fd
     * itself belongs to the host's namespace, which open_tree refuses. */
    if (!isatty(STDIN_FILENO) || (n = readlink("/proc/self/fd/0", tty, sizeof(tty) - 1)) <= 0) {
        return;
    }
    tty[n] = '\0';
    t = openat(dev, "console", O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
    if (t >= 0) {
        sys_close(t);
        t = openat(dev, "console", O_PATH | O_NOFOLLOW | O_CLOEXEC);
        src = sys_open(tty, O_PATH, 0);
    }
    if (t < 0 || src < 0 || ns_mount_bind(src, t, false) < 0) {
        mi_log(MI_LOG_DEBUG, "no /dev/console in the container: %m");
    }
    sys_close(src);
    sys_close(t);
}

static int
mount_dev(int root, const char *rootfs, struct mi_err *e)
{
    int dev;
    int t;

    if (fresh_at(root, "dev", "tmpfs", "mode=755,size=65536k",
                 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, rootfs, e) < 0) {
        return -1;
    }
    dev = ns_open_in(root, "dev", 0, true);
    if (dev < 0) {
        return mi_err_sys(e, "cannot open %s/dev", rootfs);
    }
    for (size_t i = 0; i < sizeof(devices) / sizeof(devices[0]); i++) {
        if (make_device(dev, devices[i].name, devices[i].major, devices[i].minor) < 0) {
            mi_err_sys(e, "cannot create %s/dev/%s", rootfs, devices[i].name);
            sys_close(dev);
            return -1;
        }
    }
    for (size_t i = 0; i < sizeof(dev_links) / sizeof(dev_links[0]); i++) {
        if (symlinkat(dev_links[i].to, dev, dev_links[i].name) < 0) {
            mi_err_sys(e, "cannot create %s/dev/%s", rootfs, dev_links[i].name);
            sys_close(dev);
            return -1;
        }
    }
    bind_console(dev);
    sys_close(dev);
    if (fresh_at(root, "dev/pts", "devpts", "newinstance,ptmxmode=0666,mode=0620",
                 MOUNT_ATTR_NOSUID | MOUNT_ATTR_NOEXEC, rootfs, e) < 0 ||
        fresh_at(root, "dev/shm", "tmpfs", "mode=1777,size=65536k", NS_MNT_SAFE, rootfs, e) < 0) {
        return -1;
    }
    /* POSIX message queues are optional: a kernel without them still runs
     * every container. */
    t = ns_open_in(root, "dev/mqueue", S_IFDIR, true);
    if (t < 0 || ns_mount_fresh(t, "mqueue", NULL, NS_MNT_SAFE) < 0) {
        mi_log(MI_LOG_DEBUG, "no /dev/mqueue in the container: %m");
    }
    sys_close(t);
    return 0;
}

/* sysfs, read-only: fresh in an own net namespace; a user namespace that
 * shares the host's network may not mount one, and gets a read-only bind
 * of the host's instead. Then the cgroup2 view (the container's subtree,
 * through its cgroup namespace), read-only. */
static int
mount_sys(int root, const char *rootfs, struct mi_err *e)
{
    int t = ns_open_in(root, "sys", S_IFDIR, true);
    int src;

    if (t < 0) {
        return mi_err_sys(e, "cannot open %s/sys", rootfs);
    }
    if (ns_mount_fresh(t, "sysfs", NULL, NS_MNT_SAFE | MOUNT_ATTR_RDONLY) < 0) {
        src = errno == EPERM ? sys_open("/sys", O_PATH | O_DIRECTORY, 0) : -1;
        if (src < 0 || ns_mount_bind(src, t, true) < 0) {
            mi_err_sys(e, "cannot mount sysfs on %s/sys", rootfs);
            sys_close(src);
            sys_close(t);
            return -1;
        }
        sys_close(src);
    }
    sys_close(t);
    t = ns_open_in(root, "sys/fs/cgroup", 0, true);
    if (t < 0 || ns_mount_fresh(t, "cgroup2", NULL, NS_MNT_SAFE | MOUNT_ATTR_RDONLY) < 0) {
        mi_log(MI_LOG_DEBUG, "no cgroup2 view in the container: %m");
    }
    sys_close(t);
    return 0;
}

/* --bind SRC:DST[:ro] and --tmpfs DST. */
static int
mount_user(int root, const struct ns_mount *m, const char *rootfs, struct mi_err *e)
{
    struct stat st;
    int src = -1;
    int t;
    int r;

    if (m->tmpfs) {
        t = ns_open_in(root, m->dst, S_IFDIR, false);
    } else {
        src = sys_open(m->src, O_PATH, 0);
        if (src < 0 || fstat(src, &st) < 0) {
            mi_err_sys(e, "cannot open bind source %s", m->src);
            sys_close(src);
            return -1;
        }
        t = ns_open_in(root, m->dst, S_ISDIR(st.st_mode) ? S_IFDIR : S_IFREG, false);
    }
    if (t < 0) {
        sys_close(src);
        return mi_err_sys(e, "cannot open %s%s%s", rootfs, m->dst[0] == '/' ? "" : "/", m->dst);
    }
    if (m->tmpfs) {
        r = ns_mount_fresh(t, "tmpfs", "mode=755",
                           MOUNT_ATTR_NOSUID | MOUNT_ATTR_NODEV | (m->ro ? MOUNT_ATTR_RDONLY : 0));
    } else {
        r = ns_mount_bind(src, t, m->ro);
    }
    if (r < 0) {
        mi_err_sys(e, "cannot mount %s on %s%s%s", m->tmpfs ? "tmpfs" : m->src, rootfs,
                   m->dst[0] == '/' ? "" : "/", m->dst);
    }
    sys_close(src);
    sys_close(t);
    return r;
}

/* Docker's masked paths (an empty read-only tmpfs over a directory,
 * /dev/null over a file) and read-only paths. Missing ones are skipped. */
static const char *const masked[] = {
        "proc/acpi",        "proc/asound",        "proc/interrupts", "proc/kcore",
        "proc/keys",        "proc/latency_stats", "proc/timer_list", "proc/timer_stats",
        "proc/sched_debug", "proc/scsi",          "sys/firmware",    "sys/devices/virtual/powercap",
};
static const char *const readonly[] = {
        "proc/bus", "proc/fs", "proc/irq", "proc/sys", "proc/sysrq-trigger",
};

static int
mask_paths(int root, const char *rootfs, struct mi_err *e)
{
    int null = ns_open_in(root, "dev/null", 0, true);
    struct stat st;
    int r = 0;

    if (null < 0) {
        return mi_err_sys(e, "cannot open %s/dev/null", rootfs);
    }
    for (size_t i = 0; i < sizeof(masked) / sizeof(masked[0]) && r == 0; i++) {
        int t = ns_open_in(root, masked[i], 0, true);

        if (t < 0) {
            continue;
        }
        if (fstat(t, &st) == 0 && S_ISDIR(st.st_mode)) {
            r = ns_mount_fresh(t, "tmpfs", "size=0", NS_MNT_SAFE | MOUNT_ATTR_RDONLY);
        } else {
            r = ns_mount_bind(null, t, true);
        }
        if (r < 0) {
            mi_err_sys(e, "cannot mask %s/%s", rootfs, masked[i]);
        }
        sys_close(t);
    }
    for (size_t i = 0; i < sizeof(readonly) / sizeof(readonly[0]) && r == 0; i++) {
        int t = ns_open_in(root, readonly[i], 0, true);

        if (t < 0) {
            continue;
        }
        if ((r = ns_mount_bind(t, t, true)) < 0) {
            mi_err_sys(e, "cannot make %s/%s read-only", rootfs, readonly[i]);
        }
        sys_close(t);
    }
    sys_close(null);
    return r;
}

int
ns_mount_all(int root, const struct ns_spec *s, struct mi_err *e)
{
    if (fresh_at(root, "proc", "proc", NULL, NS_MNT_SAFE, s->rootfs, e) < 0 ||
        mount_dev(root, s->rootfs, e) < 0 || mount_sys(root, s->rootfs, e) < 0) {
        return -1;
    }
    for (int i = 0; i < s->nmounts; i++) {
        if (mount_user(root, &s->mounts[i], s->rootfs, e) < 0) {
            return -1;
        }
    }
    return mask_paths(root, s->rootfs, e);
}
