/* SPDX-License-Identifier: MIT */
/*
 * Discovery: which cgroup hierarchies this process can see (from
 * /proc/self/mountinfo), where minit is in each (/proc/self/cgroup), whether
 * it may create cgroups there, and so which mode minit runs in. Nothing is
 * hard-coded: /sys/fs/cgroup, /sys/fs/cgroup/unified or anything else comes
 * from the mount table. Absence of cgroups is a mode, not an error.
 */
#include "cgroupfs/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/magic.h>
#include <stdio.h>
#include <string.h>
#include <sys/vfs.h>
#include <unistd.h>

#include "init/log.h"
#include "init/sys.h"

static void
hier_reset(struct cg_hier *h)
{
    h->fd = -1;
    h->mnt[0] = '\0';
    h->self[0] = '\0';
    h->writable = false;
}

static void
root_reset(struct cg_root *r)
{
    r->mode = CG_MODE_NONE;
    r->v2_ctrls = 0;
    r->why[0] = '\0';
    hier_reset(&r->v2);
    for (int c = 0; c < CG_CTRL_COUNT; c++) {
        hier_reset(&r->v1[c]);
    }
}

/* Opens the mount point of m and finds minit's cgroup `own` in it. */
static int
hier_open(struct cg_hier *h, const struct cg_mount *m, const char *own, long magic,
          struct mi_err *e)
{
    struct statfs st;

    if (cg_rel_path(m->root, own, h->self, sizeof(h->self), e) < 0) {
        return -1;
    }
    h->fd = sys_open(m->path, O_PATH | O_DIRECTORY, 0);
    if (h->fd < 0) {
        return mi_err_sys(e, "unable to open %s", m->path);
    }
    /* The mount table said so; the filesystem must agree before minit
     * writes anything there. */
    if (fstatfs(h->fd, &st) < 0 || (long)st.f_type != magic) {
        sys_close(h->fd);
        h->fd = -1;
        return mi_err_set(e, 0, "%s is not a cgroup filesystem", m->path);
    }
    snprintf(h->mnt, sizeof(h->mnt), "%s", m->path);
    /* As root on a read-only mount this is EROFS; rootless without a
     * delegated cgroup, EACCES. Either way minit creates nothing there. */
    h->writable = faccessat(h->fd, h->self[0] != '\0' ? h->self : ".", W_OK, AT_EACCESS) == 0;
    return 0;
}

static void
discover_v2(struct cg_root *r, const struct cg_mounts *m, const struct cg_self *s, char *why,
            size_t size)
{
    char buf[CG_FILE_MAX];
    char path[CG_PATH_MAX];
    struct mi_err e = {0};

    if (!m->v2.present) {
        cg_fmt(why, size, "no cgroup2 mount");
        return;
    }
    if (!s->has_v2) {
        cg_fmt(why, size, "no 0:: line in /proc/self/cgroup");
        return;
    }
    if (hier_open(&r->v2, &m->v2, s->v2, CGROUP2_SUPER_MAGIC, &e) < 0) {
        cg_fmt(why, size, "cgroup2 at %s: %s", m->v2.path, e.msg);
        return;
    }
    if (!r->v2.writable) {
        cg_fmt(why, size, "cgroup %s is not writable (read-only mount or not delegated)",
               cg_fullpath(buf, sizeof(buf), &r->v2, r->v2.self, NULL));
    }
    if (cg_join_path(path, sizeof(path), r->v2.self, "cgroup.controllers") == 0 &&
        cg_read_at(r->v2.fd, path, buf, sizeof(buf)) >= 0 &&
        cg_parse_controllers(buf, &r->v2_ctrls, &e) < 0) {
        r->v2_ctrls = 0;
    }
}

static void
discover_v1(struct cg_root *r, const struct cg_mounts *m, const struct cg_self *s)
{
    struct mi_err e = {0};

    for (int c = 0; c < CG_CTRL_COUNT; c++) {
        if (!m->v1[c].present || !s->has_v1[c]) {
            continue;
        }
        if (hier_open(&r->v1[c], &m->v1[c], s->v1[c], CGROUP_SUPER_MAGIC, &e) < 0) {
            mi_log(MI_LOG_DEBUG, "cgroup v1 %s hierarchy unusable: %s", cg_ctrl_name(c), e.msg);
            mi_err_clear(&e);
        }
    }
}

static void
choose_mode(struct cg_root *r, const char *v2why)
{
    const struct cg_hier *fz = &r->v1[CG_CTRL_FREEZER];

    if (r->v2.fd >= 0 && r->v2.writable) {
        r->mode = CG_MODE_V2;
    } else if (fz->fd >= 0 && fz->writable) {
        r->mode = CG_MODE_V1;
    } else {
        cg_fmt(r->why, sizeof(r->why), "%s; %s", v2why,
               fz->fd >= 0 ? "the v1 freezer hierarchy is not writable"
                           : "no v1 freezer hierarchy");
    }
}

static int v2_override = -1;
static const char *v2_label;

void
cg_set_v2_mount(int fd, const char *label)
{
    v2_override = fd;
    v2_label = label;
}

/* The override as a mount of the namespace's root, reached through
 * /proc/self/fd (hier_open opens it again by path). */
static void
apply_override(struct cg_mounts *m)
{
    if (v2_override < 0) {
        return;
    }
    m->v2.present = true;
    snprintf(m->v2.path, sizeof(m->v2.path), "/proc/self/fd/%d", v2_override);
    snprintf(m->v2.root, sizeof(m->v2.root), "/");
}

int
cg_discover(struct cg_root *r, struct mi_err *e)
{
    char *mi CG_CLEANUP_FREE = NULL;
    char *pc CG_CLEANUP_FREE = NULL;
    struct cg_mounts m;
    struct cg_self s;
    char v2why[MI_ERR_MSG] = "";

    root_reset(r);
    if (cg_slurp("/proc/self/mountinfo", &mi, e) < 0 || cg_parse_mountinfo(mi, &m, e) < 0 ||
        cg_slurp("/proc/self/cgroup", &pc, e) < 0 || cg_parse_proc_cgroup(pc, &s, e) < 0) {
        cg_fmt(r->why, sizeof(r->why), "%s", e->msg);
        return mi_err_wrap(e, "unable to discover cgroups");
    }
    apply_override(&m);
    discover_v2(r, &m, &s, v2why, sizeof(v2why));
    if (v2_override >= 0 && r->v2.fd >= 0 && v2_label != NULL) {
        snprintf(r->v2.mnt, sizeof(r->v2.mnt), "%s", v2_label);
    }
    discover_v1(r, &m, &s);
    choose_mode(r, v2why);
    return 0;
}

int
cg_use_v1(struct cg_root *r, struct mi_err *e)
{
    const struct cg_hier *fz = &r->v1[CG_CTRL_FREEZER];

    if (fz->fd < 0 || !fz->writable) {
        return mi_err_set(e, 0, "unable to use cgroup v1: no writable v1 freezer hierarchy");
    }
    r->mode = CG_MODE_V1;
    return 0;
}

void
cg_root_close(struct cg_root *r)
{
    sys_close(r->v2.fd);
    for (int c = 0; c < CG_CTRL_COUNT; c++) {
        sys_close(r->v1[c].fd);
    }
    root_reset(r);
}

const struct cg_hier *
cg_primary(const struct cg_root *r)
{
    switch (r->mode) {
    case CG_MODE_V2:
        return &r->v2;
    case CG_MODE_V1:
        return &r->v1[CG_CTRL_FREEZER];
    case CG_MODE_NONE:
        break;
    }
    return NULL;
}
