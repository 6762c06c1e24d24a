/* SPDX-License-Identifier: MIT */
/*
 * Limits and statistics of a leaf. Each controller is used where it reaches
 * the leaf: in cgroup2 when enabled there, else through the leaf's mirror
 * in that controller's v1 hierarchy (hybrid hosts bind memory, pids and cpu
 * to v1). v1 spells the same limits differently: memory.limit_in_bytes,
 * pids.max, cpu.cfs_quota_us with cpu.cfs_period_us.
 */
#include "cgroupfs/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* True when controller c is enabled for l in cgroup2. */
static bool
in_v2(const struct cg_leaf *l, enum cg_ctrl c)
{
    return l->root->mode == CG_MODE_V2 && (l->v2_ctrls & CG_MASK(c));
}

static void
fmt_u64(char *buf, size_t size, uint64_t v, const char *max)
{
    if (v == UINT64_MAX) {
        snprintf(buf, size, "%s", max);
    } else {
        snprintf(buf, size, "%" PRIu64, v);
    }
}

/* One limit: v2 file, else v1 mirror file (attached on demand when set).
 * Unset (0) resets to "max" wherever the controller already reaches. */
static int
set_one(struct cg_leaf *l, enum cg_ctrl c, const char *key, uint64_t v, const char *v2file,
        const char *v1file, const char *v1max, struct mi_err *e)
{
    char buf[32];

    if (in_v2(l, c)) {
        fmt_u64(buf, sizeof(buf), v == 0 ? UINT64_MAX : v, "max");
        return cg_leaf_write(l, -1, v2file, buf, e);
    }
    if (v == 0 && l->v1_fd[c] < 0) {
        return 0;
    }
    if (v != 0 && cg_leaf_attach_for(l, c, key, e) < 0) {
        return -1;
    }
    fmt_u64(buf, sizeof(buf), v == 0 ? UINT64_MAX : v, v1max);
    return cg_leaf_write(l, (int)c, v1file, buf, e);
}

static int
set_cpu(struct cg_leaf *l, const char *cpu_max, struct mi_err *e)
{
    int64_t quota = -1;
    uint64_t period = 100000;
    char buf[64];

    if (cpu_max != NULL && cg_parse_cpu_max(cpu_max, &quota, &period, e) < 0) {
        return -1;
    }
    if (in_v2(l, CG_CTRL_CPU)) {
        if (quota < 0) {
            snprintf(buf, sizeof(buf), "max %" PRIu64, period);
        } else {
            snprintf(buf, sizeof(buf), "%" PRId64 " %" PRIu64, quota, period);
        }
        return cg_leaf_write(l, -1, "cpu.max", buf, e);
    }
    if (cpu_max == NULL && l->v1_fd[CG_CTRL_CPU] < 0) {
        return 0;
    }
    if (cpu_max != NULL && cg_leaf_attach_for(l, CG_CTRL_CPU, "cpu_max", e) < 0) {
        return -1;
    }
    /* The period first: the kernel checks the quota against it. */
    snprintf(buf, sizeof(buf), "%" PRIu64, period);
    if (cg_leaf_write(l, CG_CTRL_CPU, "cpu.cfs_period_us", buf, e) < 0) {
        return -1;
    }
    snprintf(buf, sizeof(buf), "%" PRId64, quota);
    return cg_leaf_write(l, CG_CTRL_CPU, "cpu.cfs_quota_us", buf, e);
}

int
cg_set_limits(struct cg_leaf *l, const struct cg_limits *lim, struct mi_err *e)
{
    if (l->dirfd < 0) {
        return mi_err_set(e, EBADF, "unable to set limits on cgroup %s: not open", l->path);
    }
    if (set_one(l, CG_CTRL_MEMORY, "memory_max", lim->memory_max, "memory.max",
                "memory.limit_in_bytes", "-1", e) < 0 ||
        set_one(l, CG_CTRL_PIDS, "pids_max", lim->pids_max, "pids.max", "pids.max", "max", e) < 0) {
        return -1;
    }
    return set_cpu(l, lim->cpu_max, e);
}

/* Reads file of the leaf (c < 0) or its mirror for c into *val with parse.
 * A missing file leaves *has false and is no error. */
static int
stat_one(const struct cg_leaf *l, int c, const char *file,
         int (*parse)(const char *, uint64_t *, struct mi_err *), bool *has, uint64_t *val,
         struct mi_err *e)
{
    char buf[CG_FILE_MAX];

    *has = false;
    if (c >= 0 && l->v1_fd[c] < 0) {
        return 0;
    }
    if (cg_leaf_read(l, c, file, buf, sizeof(buf), e) < 0) {
        if (e->errnum == ENOENT) {
            mi_err_clear(e);
            return 0;
        }
        return -1;
    }
    if (parse(buf, val, e) < 0) {
        return mi_err_wrap(e, "unable to parse %s of cgroup %s", file, l->path);
    }
    *has = true;
    return 0;
}

int
cg_stats(const struct cg_leaf *l, struct cg_stats *s, struct mi_err *e)
{
    bool mem2 = in_v2(l, CG_CTRL_MEMORY);
    bool v2 = l->root->mode == CG_MODE_V2;
    int r = 0;

    memset(s, 0, sizeof(*s));
    if (l->dirfd < 0) {
        return mi_err_set(e, EBADF, "unable to read the statistics of cgroup %s: not open",
                          l->path);
    }
    r |= stat_one(l, mem2 ? -1 : CG_CTRL_MEMORY, mem2 ? "memory.current" : "memory.usage_in_bytes",
                  cg_parse_u64, &s->has_memory, &s->memory_bytes, e);
    r |= stat_one(l, mem2 ? -1 : CG_CTRL_MEMORY, mem2 ? "memory.events" : "memory.oom_control",
                  cg_parse_oom_kill, &s->has_oom, &s->oom_kills, e);
    r |= stat_one(l, in_v2(l, CG_CTRL_PIDS) ? -1 : CG_CTRL_PIDS, "pids.current", cg_parse_u64,
                  &s->has_pids, &s->pids, e);
    /* cpu.stat's usage_usec is core in every non-root v2 cgroup, with or
     * without the cpu controller. */
    if (v2) {
        r |= stat_one(l, -1, "cpu.stat", cg_parse_cpu_stat, &s->has_cpu, &s->cpu_usec, e);
    }
    if (!s->has_cpu) {
        r |= stat_one(l, CG_CTRL_CPUACCT, "cpuacct.usage", cg_parse_cpuacct_usage, &s->has_cpu,
                      &s->cpu_usec, e);
    }
    return r < 0 ? -1 : 0;
}
