/* SPDX-License-Identifier: MIT */
/*
 * minit's layout: L, L/init (minit), L/services (one leaf per service),
 * L/payload (job 1). The order of the steps is the point: minit moves into
 * L/init before it enables controllers in L's cgroup.subtree_control,
 * because the kernel refuses domain controllers below a cgroup that holds
 * processes (the no-internal-processes rule: EBUSY), and so that freezing or
 * killing L/services or L/payload can never reach minit.
 */
#include "cgroupfs/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "init/log.h"
#include "init/sys.h"

/* Controllers minit enables for its services where it can. */
#define CG_WANT (CG_MASK(CG_CTRL_MEMORY) | CG_MASK(CG_CTRL_PIDS) | CG_MASK(CG_CTRL_CPU))

/* Transient EBUSY right after a migration (crun PR #758): a few immediate
 * retries, never a sleep. */
#define CG_ENABLE_TRIES 3

static int
only_pid1(pid_t pid, void *arg)
{
    bool *alone = arg;

    *alone = *alone && pid == 1;
    return *alone ? 0 : 1;
}

/* minit may use its own cgroup as L when it is PID 1 and alone in it: a
 * container whose cgroup is minit's. Anywhere else minit's cgroup belongs
 * to someone else (a login session, a service) and L is a child of it. */
static bool
self_is_ours(const struct cg_hier *h)
{
    int fd MI_CLEANUP_CLOSE = -1;
    bool alone = true;

    if (getpid() != 1) {
        return false;
    }
    fd = cg_openat(h->fd, h->self[0] != '\0' ? h->self : ".", O_PATH | O_DIRECTORY);
    return fd >= 0 && cg_each_pid(fd, only_pid1, &alone) == 1 && alone;
}

int
cg_enable_ctrl(int dirfd, enum cg_ctrl c)
{
    char word[16];
    int r = -1;

    snprintf(word, sizeof(word), "+%s", cg_ctrl_name(c));
    for (int i = 0; i < CG_ENABLE_TRIES && r < 0; i++) {
        r = cg_write_at(dirfd, "cgroup.subtree_control", word);
        if (r < 0 && errno != EBUSY) {
            break;
        }
    }
    return r;
}

/* Enables each controller of mask in dirfd's subtree; failures are only
 * logged, since cg_set_limits() reports a missing controller precisely. */
static void
enable_ctrls(int dirfd, unsigned mask, const char *where)
{
    for (int c = 0; c < CG_CTRL_COUNT; c++) {
        if ((mask & CG_MASK(c)) && cg_enable_ctrl(dirfd, (enum cg_ctrl)c) < 0) {
            mi_log(MI_LOG_DEBUG, "unable to enable the %s controller in %s: %m", cg_ctrl_name(c),
                   where);
        }
    }
}

/* Enables controllers in L, asking minit's own cgroup first when L is its
 * child and lacks them (minit has just left it, so it may be empty now). */
static void
enable_base(struct cg_layout *lay, const struct cg_hier *h, const struct cg_root *r)
{
    struct cg_leaf *b = &lay->base;
    const char *slash = strrchr(b->path, '/');
    size_t plen = slash != NULL ? (size_t)(slash - b->path) : 0;
    unsigned missing = CG_WANT & ~b->v2_ctrls & r->v2_ctrls;
    char msg[CG_PATH_MAX + 64];
    struct mi_err e = {0};

    if (missing != 0 && !b->keep && strlen(h->self) == plen &&
        strncmp(h->self, b->path, plen) == 0) {
        int fd MI_CLEANUP_CLOSE =
                cg_openat(h->fd, h->self[0] != '\0' ? h->self : ".", O_PATH | O_DIRECTORY);

        if (fd >= 0) {
            enable_ctrls(fd, missing, cg_fullpath(msg, sizeof(msg), h, h->self, NULL));
        }
        if (cg_leaf_read_ctrls(b, &e) < 0) {
            mi_err_clear(&e);
        }
    }
    enable_ctrls(b->dirfd, CG_WANT & b->v2_ctrls, cg_fullpath(msg, sizeof(msg), h, b->path, NULL));
}

int
cg_leaf_enable(struct cg_leaf *l, unsigned mask, struct mi_err *e)
{
    const struct cg_hier *h = l->hier;
    char anc[CG_PATH_MAX];
    char msg[CG_PATH_MAX + 64];

    if (l->root->mode == CG_MODE_V2 && (mask & ~l->v2_ctrls) != 0) {
        /* The ancestors: the root (""), then each prefix before a '/'. */
        for (size_t n = 0; l->path[n] != '\0'; n++) {
            int fd MI_CLEANUP_CLOSE = -1;

            if (n != 0 && l->path[n] != '/') {
                continue;
            }
            snprintf(anc, sizeof(anc), "%.*s", (int)n, l->path);
            fd = cg_openat(h->fd, anc[0] != '\0' ? anc : ".", O_PATH | O_DIRECTORY);
            if (fd >= 0) {
                enable_ctrls(fd, mask, cg_fullpath(msg, sizeof(msg), h, anc, NULL));
            }
        }
        if (cg_leaf_read_ctrls(l, e) < 0) {
            return -1;
        }
    }
    return cg_leaf_attach(l, mask, e);
}

static int
move_self(const struct cg_leaf *init, struct mi_err *e)
{
    char msg[CG_PATH_MAX + 64];

    if (sys_write_all(init->join_fd[0], "0", 1) < 0) {
        return mi_err_sys(e, "unable to move minit into cgroup %s",
                          cg_fullpath(msg, sizeof(msg), init->hier, init->path, NULL));
    }
    return 0;
}

static int
layout_steps(struct cg_layout *lay, const struct cg_root *r, const char *base, unsigned flags,
             struct mi_err *e)
{
    const struct cg_hier *h = cg_primary(r);
    bool v2 = r->mode == CG_MODE_V2;
    char path[CG_PATH_MAX];
    char msg[CG_PATH_MAX + 64];

    if (h == NULL) {
        return mi_err_set(e, 0, "unable to set up cgroups: %s", r->why);
    }
    if (cg_resolve_base(h->self, base, self_is_ours(h), path, sizeof(path), e) < 0 ||
        cg_leaf_open(&lay->base, r, path, e) < 0 ||
        cg_leaf_create(&lay->init, &lay->base, "init", e) < 0) {
        return -1;
    }
    lay->base.keep = strcmp(path, h->self) == 0;
    if (v2 && !(flags & CG_LAYOUT_NO_MOVE) && move_self(&lay->init, e) < 0) {
        return -1;
    }
    if (v2) {
        enable_base(lay, h, r);
    }
    if (cg_leaf_create(&lay->services, &lay->base, "services", e) < 0 ||
        ((flags & CG_LAYOUT_PAYLOAD) &&
         cg_leaf_create(&lay->payload, &lay->base, "payload", e) < 0)) {
        return -1;
    }
    if (v2) {
        cg_fullpath(msg, sizeof(msg), h, lay->services.path, NULL);
        enable_ctrls(lay->services.dirfd, CG_WANT & lay->services.v2_ctrls, msg);
        lay->enabled = CG_WANT & lay->services.v2_ctrls;
    }
    return 0;
}

int
cg_layout_create(struct cg_layout *lay, const struct cg_root *r, const char *base, unsigned flags,
                 struct mi_err *e)
{
    cg_leaf_reset(&lay->base, r);
    cg_leaf_reset(&lay->init, r);
    cg_leaf_reset(&lay->services, r);
    cg_leaf_reset(&lay->payload, r);
    lay->enabled = 0;
    if (layout_steps(lay, r, base, flags, e) < 0) {
        cg_layout_close(lay);
        return -1;
    }
    return 0;
}

int
cg_layout_reopen(struct cg_layout *lay, struct cg_root *r, struct mi_err *e)
{
    struct cg_leaf *ls[] = {&lay->base, &lay->init, &lay->services, &lay->payload};
    char self[CG_PATH_MAX];
    enum cg_mode mode = r->mode;

    snprintf(self, sizeof(self), "%s", r->v2.self);
    if (cg_discover(r, e) < 0) {
        cg_root_close(r);
        for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++) {
            cg_leaf_reset(ls[i], NULL);
        }
        return -1;
    }
    snprintf(r->v2.self, sizeof(r->v2.self), "%s", self);
    r->mode = mode;
    for (size_t i = 0; i < sizeof(ls) / sizeof(ls[0]); i++) {
        struct cg_leaf *l = ls[i];
        char path[CG_PATH_MAX];
        bool keep = l->keep;
        bool was_open = l->dirfd >= 0;

        snprintf(path, sizeof(path), "%s", l->path);
        cg_leaf_reset(l, r);
        if (!was_open || l->hier == NULL || l->hier->fd < 0) {
            continue;
        }
        snprintf(l->path, sizeof(l->path), "%s", path);
        l->keep = keep;
        l->dirfd = cg_openat(l->hier->fd, path[0] != '\0' ? path : ".", O_PATH | O_DIRECTORY);
    }
    return 0;
}

int
cg_layout_leave(struct cg_layout *lay, struct mi_err *e)
{
    const struct cg_hier *h = lay->init.hier;
    struct cg_leaf *order[] = {&lay->payload, &lay->services, &lay->init, &lay->base};
    char msg[CG_PATH_MAX + 64];
    int r = 0;

    if (h != NULL && h == &lay->init.root->v2 && lay->init.dirfd >= 0 && !lay->base.keep) {
        int fd MI_CLEANUP_CLOSE =
                cg_openat(h->fd, h->self[0] != '\0' ? h->self : ".", O_PATH | O_DIRECTORY);

        if (fd < 0 || cg_write_at(fd, "cgroup.procs", "0") < 0) {
            r = mi_err_sys(e, "unable to move minit back to %s",
                           cg_fullpath(msg, sizeof(msg), h, h->self, NULL));
        }
    }
    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        struct mi_err tmp = {0};

        if (order[i]->keep || order[i]->dirfd < 0) {
            continue;
        }
        if (cg_leaf_destroy(order[i], r == 0 ? e : &tmp) == 0) {
            continue;
        }
        r = -1;
        /* Left in v2 (minit still in L/init): its v1 mirrors, which
         * minit never joins, can go all the same. */
        for (int c = 0; c < CG_CTRL_COUNT; c++) {
            if (order[i]->root->v1[c].writable) {
                cg_leaf_remove_mirror(order[i], &order[i]->root->v1[c], &tmp);
            }
        }
    }
    cg_layout_close(lay);
    return r;
}

int
cg_layout_destroy(struct cg_layout *lay, struct mi_err *e)
{
    struct cg_leaf *order[] = {&lay->payload, &lay->services, &lay->init, &lay->base};

    for (size_t i = 0; i < sizeof(order) / sizeof(order[0]); i++) {
        if (order[i]->keep) {
            cg_leaf_close(order[i]);
        } else if (cg_leaf_destroy(order[i], e) < 0) {
            return -1;
        }
    }
    return 0;
}

void
cg_layout_close(struct cg_layout *lay)
{
    cg_leaf_close(&lay->payload);
    cg_leaf_close(&lay->services);
    cg_leaf_close(&lay->init);
    cg_leaf_close(&lay->base);
}
