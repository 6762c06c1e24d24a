/* SPDX-License-Identifier: MIT */
/*
 * Leaves: create or reuse a cgroup in the primary hierarchy, open the fds a
 * child uses to join it, add v1 mirrors for controllers cgroup2 lacks, and
 * remove it again without ever waiting. cg_join_in_child() is the one
 * function here that runs in a child between clone and exec: raw syscalls
 * only, no sanitizer instrumentation.
 */
#include "cgroupfs/internal.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "init/sys.h"

/* Functions that run on a vfork child's borrowed stack. */
#define CG_NOSAN __attribute__((no_sanitize("address", "undefined")))

void
cg_leaf_reset(struct cg_leaf *l, const struct cg_root *r)
{
    l->root = r;
    l->hier = r != NULL ? cg_primary(r) : NULL;
    l->path[0] = '\0';
    l->dirfd = -1;
    l->events_fd = -1;
    for (int i = 0; i < CG_JOIN_MAX; i++) {
        l->join_fd[i] = -1;
        l->join_hier[i] = NULL;
    }
    l->njoin = 0;
    for (int c = 0; c < CG_CTRL_COUNT; c++) {
        l->v1_fd[c] = -1;
    }
    l->v2_ctrls = 0;
    l->keep = false;
}

void
cg_leaf_close(struct cg_leaf *l)
{
    sys_close(l->dirfd);
    sys_close(l->events_fd);
    for (int i = 0; i < l->njoin; i++) {
        sys_close(l->join_fd[i]);
    }
    for (int c = 0; c < CG_CTRL_COUNT; c++) {
        sys_close(l->v1_fd[c]);
    }
    cg_leaf_reset(l, l->root);
}

int
cg_leaf_mirror_path(const struct cg_leaf *l, const struct cg_hier *h, char *out, size_t size,
                    struct mi_err *e)
{
    return cg_mirror_path(l->hier->self, h->self, l->path, out, size, e);
}

/* The dirfd and message path of the primary cgroup (c < 0) or of the v1
 * mirror for controller c. */
static int
leaf_dir(const struct cg_leaf *l, int c, const char *file, char *msg, size_t size)
{
    char mirror[CG_PATH_MAX];
    struct mi_err e = {0};

    if (c < 0) {
        cg_fullpath(msg, size, l->hier, l->path, file);
        return l->dirfd;
    }
    if (cg_leaf_mirror_path(l, &l->root->v1[c], mirror, sizeof(mirror), &e) < 0) {
        snprintf(mirror, sizeof(mirror), "?");
    }
    cg_fullpath(msg, size, &l->root->v1[c], mirror, file);
    return l->v1_fd[c];
}

int
cg_leaf_write(const struct cg_leaf *l, int c, const char *file, const char *val, struct mi_err *e)
{
    char msg[CG_PATH_MAX + 64];
    int dirfd = leaf_dir(l, c, file, msg, sizeof(msg));

    if (cg_write_at(dirfd, file, val) < 0) {
        return mi_err_sys(e, "unable to write '%s' to %s", val, msg);
    }
    return 0;
}

ssize_t
cg_leaf_read(const struct cg_leaf *l, int c, const char *file, char *buf, size_t size,
             struct mi_err *e)
{
    char msg[CG_PATH_MAX + 64];
    int dirfd = leaf_dir(l, c, file, msg, sizeof(msg));
    ssize_t n = cg_read_at(dirfd, file, buf, size);

    if (n < 0) {
        return mi_err_sys(e, "unable to read %s", msg);
    }
    return n;
}

int
cg_leaf_read_ctrls(struct cg_leaf *l, struct mi_err *e)
{
    char buf[CG_FILE_MAX];

    if (cg_leaf_read(l, -1, "cgroup.controllers", buf, sizeof(buf), e) < 0) {
        return -1;
    }
    return cg_parse_controllers(buf, &l->v2_ctrls, e);
}

/* Thaws a reused cgroup: the kernel keeps cgroup.freeze=1 on an emptied
 * cgroup, and a process joining it would stop before its first
 * instruction. ENOENT: the root cgroup, or a kernel before 5.2. */
static int
leaf_thaw(struct cg_leaf *l, struct mi_err *e)
{
    bool v2 = l->root->mode == CG_MODE_V2;

    if (cg_leaf_write(l, -1, v2 ? "cgroup.freeze" : "freezer.state", v2 ? "0" : "THAWED", e) < 0 &&
        e->errnum != ENOENT) {
        return -1;
    }
    mi_err_clear(e);
    return 0;
}

static int
leaf_open_steps(struct cg_leaf *l, const char *path, struct mi_err *e)
{
    const struct cg_hier *h = l->hier;
    char msg[CG_PATH_MAX + 64];
    bool created;

    if (h == NULL) {
        return mi_err_set(e, 0, "unable to create cgroup %s: %s", path, l->root->why);
    }
    if ((size_t)snprintf(l->path, sizeof(l->path), "%s", path) >= sizeof(l->path)) {
        return mi_err_set(e, ENAMETOOLONG, "unable to create cgroup %s", path);
    }
    cg_fullpath(msg, sizeof(msg), h, path, NULL);
    if (cg_mkdir_p(h->fd, path, &created) < 0) {
        return mi_err_sys(e, "unable to create cgroup %s", msg);
    }
    l->dirfd = cg_openat(h->fd, path[0] != '\0' ? path : ".", O_PATH | O_DIRECTORY);
    if (l->dirfd < 0) {
        return mi_err_sys(e, "unable to open cgroup %s", msg);
    }
    if (leaf_thaw(l, e) < 0) {
        return -1;
    }
    l->join_fd[0] = cg_openat(l->dirfd, "cgroup.procs", O_WRONLY);
    if (l->join_fd[0] < 0) {
        return mi_err_sys(e, "unable to open %s/cgroup.procs", msg);
    }
    l->join_hier[0] = h;
    l->njoin = 1;
    if (l->root->mode != CG_MODE_V2) {
        return 0;
    }
    /* The root cgroup has no cgroup.events; a leaf always has one. */
    l->events_fd = cg_openat(l->dirfd, "cgroup.events", O_RDONLY);
    if (l->events_fd < 0 && (errno != ENOENT || path[0] != '\0')) {
        return mi_err_sys(e, "unable to open %s/cgroup.events", msg);
    }
    return cg_leaf_read_ctrls(l, e);
}

int
cg_leaf_open(struct cg_leaf *l, const struct cg_root *r, const char *path, struct mi_err *e)
{
    cg_leaf_reset(l, r);
    if (leaf_open_steps(l, path, e) < 0) {
        cg_leaf_close(l);
        return -1;
    }
    return 0;
}

int
cg_leaf_create(struct cg_leaf *l, const struct cg_leaf *parent, const char *name, struct mi_err *e)
{
    char path[CG_PATH_MAX];

    if (name[0] == '\0' || strchr(name, '/') != NULL || strcmp(name, ".") == 0 ||
        strcmp(name, "..") == 0) {
        cg_leaf_reset(l, parent->root);
        return mi_err_set(e, EINVAL, "unable to create cgroup '%s': not a plain name", name);
    }
    if (cg_join_path(path, sizeof(path), parent->path, name) < 0) {
        cg_leaf_reset(l, parent->root);
        return mi_err_sys(e, "unable to create cgroup %s/%s", parent->path, name);
    }
    return cg_leaf_open(l, parent->root, path, e);
}

/* Why controller c cannot reach l, for messages. */
static int
unavailable(const struct cg_leaf *l, const char *v1why, struct mi_err *e)
{
    const struct cg_root *r = l->root;
    char parent[CG_PATH_MAX];
    char msg[CG_PATH_MAX + 64];
    char *slash;

    if (r->mode != CG_MODE_V2) {
        return mi_err_set(e, 0, "%s", v1why);
    }
    snprintf(parent, sizeof(parent), "%s", l->path);
    slash = strrchr(parent, '/');
    if (slash != NULL) {
        *slash = '\0';
    } else {
        parent[0] = '\0';
    }
    cg_fullpath(msg, sizeof(msg), &r->v2, parent, "cgroup.subtree_control");
    return mi_err_set(e, 0, "not in %s and %s", msg, v1why);
}

/* Adds the join fd of the v1 mount h unless a mirror on it is joined. */
static int
add_join(struct cg_leaf *l, enum cg_ctrl c, const struct cg_hier *h, struct mi_err *e)
{
    char msg[CG_PATH_MAX + 64];
    int fd;

    for (int i = 0; i < l->njoin; i++) {
        if (strcmp(l->join_hier[i]->mnt, h->mnt) == 0) {
            return 0;
        }
    }
    leaf_dir(l, (int)c, "cgroup.procs", msg, sizeof(msg));
    fd = cg_openat(l->v1_fd[c], "cgroup.procs", O_WRONLY);
    if (fd < 0) {
        return mi_err_sys(e, "unable to open %s", msg);
    }
    l->join_fd[l->njoin] = fd;
    l->join_hier[l->njoin++] = h;
    return 0;
}

static int
attach_one(struct cg_leaf *l, enum cg_ctrl c, struct mi_err *e)
{
    const struct cg_hier *h = &l->root->v1[c];
    char mirror[CG_PATH_MAX];
    char why[96];
    char msg[CG_PATH_MAX + 64];
    bool created;
    /* In v2, CPU usage (cpu.stat) and the freezer are core, not controllers. */
    unsigned core = CG_MASK(CG_CTRL_CPUACCT) | CG_MASK(CG_CTRL_FREEZER);

    if ((l->root->mode == CG_MODE_V2 && ((l->v2_ctrls | core) & CG_MASK(c))) || l->v1_fd[c] >= 0 ||
        h == l->hier) {
        return 0;
    }
    if (h->fd < 0 || !h->writable) {
        snprintf(why, sizeof(why), h->fd < 0 ? "no v1 %s hierarchy" : "v1 %s is read-only",
                 cg_ctrl_name(c));
        return unavailable(l, why, e);
    }
    if (cg_leaf_mirror_path(l, h, mirror, sizeof(mirror), e) < 0) {
        return -1;
    }
    cg_fullpath(msg, sizeof(msg), h, mirror, NULL);
    if (cg_mkdir_p(h->fd, mirror, &created) < 0) {
        return mi_err_sys(e, "unable to create cgroup %s", msg);
    }
    l->v1_fd[c] = cg_openat(h->fd, mirror[0] != '\0' ? mirror : ".", O_PATH | O_DIRECTORY);
    if (l->v1_fd[c] < 0) {
        return mi_err_sys(e, "unable to open cgroup %s", msg);
    }
    return add_join(l, c, h, e);
}

int
cg_leaf_attach(struct cg_leaf *l, unsigned mask, struct mi_err *e)
{
    for (int c = 0; c < CG_CTRL_COUNT; c++) {
        if ((mask & CG_MASK(c)) && attach_one(l, (enum cg_ctrl)c, e) < 0) {
            return mi_err_wrap(e, "unable to use the %s controller", cg_ctrl_name(c));
        }
    }
    return 0;
}

int
cg_leaf_attach_for(struct cg_leaf *l, enum cg_ctrl c, const char *key, struct mi_err *e)
{
    if (attach_one(l, c, e) < 0) {
        return mi_err_wrap(e, "%s needs the %s controller", key, cg_ctrl_name(c));
    }
    return 0;
}

CG_NOSAN int
cg_join_in_child(const struct cg_leaf *l, bool primary_done)
{
    for (int i = primary_done ? 1 : 0; i < l->njoin; i++) {
        long n;

        do {
            n = syscall(SYS_write, l->join_fd[i], "0", 1);
        } while (n < 0 && errno == EINTR);
        if (n != 1) {
            return -1;
        }
    }
    return 0;
}

int
cg_leaf_clone_fd(const struct cg_leaf *l)
{
    return l->root != NULL && l->root->mode == CG_MODE_V2 ? l->dirfd : -1;
}

/* True when the cgroup dirfd/path has a child cgroup (a subdirectory). */
static bool
has_subdir(int dirfd, const char *path)
{
    int fd = cg_openat(dirfd, path, O_RDONLY | O_DIRECTORY);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    bool found = false;

    if (d == NULL) {
        sys_close(fd);
        return false;
    }
    while (!found && (de = readdir(d)) != NULL) {
        found = de->d_type == DT_DIR && strcmp(de->d_name, ".") != 0 &&
                strcmp(de->d_name, "..") != 0;
    }
    closedir(d);
    return found;
}

/* rmdir of one cgroup; ENOENT counts as done. */
static int
remove_dir(const struct cg_hier *h, const char *path, struct mi_err *e)
{
    char msg[CG_PATH_MAX + 64];

    if (path[0] == '\0' || unlinkat(h->fd, path, AT_REMOVEDIR) == 0 || errno == ENOENT) {
        return 0;
    }
    cg_fullpath(msg, sizeof(msg), h, path, NULL);
    /* EBUSY: processes left, or a child cgroup (a v2 cgroup with populated
     * 0 can still have one). */
    if (errno == EBUSY) {
        return mi_err_set(e, EBUSY, "unable to remove cgroup %s: still populated%s", msg,
                          has_subdir(h->fd, path) ? " (it has child cgroups)" : "");
    }
    return mi_err_sys(e, "unable to remove cgroup %s", msg);
}

/* Removes every child cgroup below path, deepest first. */
static int
remove_children(const struct cg_hier *h, const char *path, int depth, struct mi_err *e)
{
    int fd = cg_openat(h->fd, path[0] != '\0' ? path : ".", O_RDONLY | O_DIRECTORY);
    DIR *d = fd >= 0 ? fdopendir(fd) : NULL;
    struct dirent *de;
    char sub[CG_PATH_MAX];
    int r = 0;

    if (d == NULL) {
        sys_close(fd);
        return errno == ENOENT ? 0 : mi_err_sys(e, "unable to list cgroup %s", path);
    }
    while (r == 0 && (de = readdir(d)) != NULL) {
        if (de->d_type != DT_DIR || strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0) {
            continue;
        }
        if (depth > 16 || cg_join_path(sub, sizeof(sub), path, de->d_name) < 0) {
            r = mi_err_set(e, ENAMETOOLONG, "unable to remove cgroup %s/%s", path, de->d_name);
            break;
        }
        r = remove_children(h, sub, depth + 1, e);
        if (r == 0) {
            r = remove_dir(h, sub, e);
        }
    }
    closedir(d);
    return r;
}

int
cg_leaf_destroy_tree(struct cg_leaf *l, struct mi_err *e)
{
    if (l->dirfd < 0) {
        return 0;
    }
    if (!l->keep && remove_children(l->hier, l->path, 0, e) < 0) {
        return -1;
    }
    return cg_leaf_destroy(l, e);
}

int
cg_leaf_remove_mirror(const struct cg_leaf *l, const struct cg_hier *h, struct mi_err *e)
{
    char mirror[CG_PATH_MAX];

    if (h->fd < 0 || h == l->hier) {
        return 0;
    }
    if (cg_leaf_mirror_path(l, h, mirror, sizeof(mirror), e) < 0) {
        return -1;
    }
    return remove_dir(h, mirror, e);
}

int
cg_leaf_destroy(struct cg_leaf *l, struct mi_err *e)
{
    const struct cg_root *r = l->root;

    if (l->dirfd < 0) {
        return 0;
    }
    if (!l->keep && remove_dir(l->hier, l->path, e) < 0) {
        return -1;
    }
    /* Every v1 hierarchy, not only the attached ones: an earlier run, or a
     * service below this node, may have left a mirror (mkdir -p). */
    for (int c = 0; c < CG_CTRL_COUNT && !l->keep; c++) {
        if (r->v1[c].writable && cg_leaf_remove_mirror(l, &r->v1[c], e) < 0) {
            return -1;
        }
    }
    cg_leaf_close(l);
    return 0;
}
