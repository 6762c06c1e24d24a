/* SPDX-License-Identifier: MIT */
/*
 * Pure parsers of the kernel's cgroup texts: /proc/self/cgroup, cgroup.events, flat-keyed files,
 * controller lists, freezer.state, and the path arithmetic between hierarchies. Strings in, structs
 * out: no I/O, no allocation, so unit tests feed them real texts of every layout (pure v2, hybrid,
 * cgroup namespace, v1 only). mountinfo has its own file.
 */
#include "cgroupfs/internal.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

static const char *const ctrl_names[CG_CTRL_COUNT] = {
        [CG_CTRL_MEMORY] = "memory",   [CG_CTRL_PIDS] = "pids",       [CG_CTRL_CPU] = "cpu",
        [CG_CTRL_CPUACCT] = "cpuacct", [CG_CTRL_FREEZER] = "freezer",
};

const char *
cg_ctrl_name(enum cg_ctrl c)
{
    return (unsigned)c < CG_CTRL_COUNT ? ctrl_names[c] : "?";
}

bool
cg_span_eq(struct span s, const char *lit)
{
    return s.n == strlen(lit) && memcmp(s.p, lit, s.n) == 0;
}

/* The controller named by s, or -1. */
int
cg_ctrl_from_span(struct span s)
{
    for (int c = 0; c < CG_CTRL_COUNT; c++) {
        if (cg_span_eq(s, ctrl_names[c])) {
            return c;
        }
    }
    return -1;
}

/* Splits [p, end) at `sep` into spans; returns the count (at most max). */
int
cg_split(const char *p, const char *end, char sep, struct span *out, int max)
{
    int n = 0;

    while (p < end && n < max) {
        const char *q = memchr(p, sep, (size_t)(end - p));

        if (q == NULL) {
            q = end;
        }
        if (q > p || sep != ' ') {
            out[n++] = (struct span){p, (size_t)(q - p)};
        }
        p = q + 1;
    }
    return n;
}

bool
cg_path_under(const char *path, const char *mnt)
{
    size_t n = strlen(mnt);

    if (n > 0 && mnt[n - 1] == '/') {
        return strncmp(path, mnt, n) == 0; /* "/" holds every absolute path */
    }
    return strncmp(path, mnt, n) == 0 && (path[n] == '\0' || path[n] == '/');
}

static int
copy_cgpath(char *out, struct span s)
{
    if (s.n == 0 || s.p[0] != '/' || s.n >= CG_PATH_MAX) {
        return -1;
    }
    memcpy(out, s.p, s.n);
    out[s.n] = '\0';
    return 0;
}

/* One line: "ID:CONTROLLERS:PATH"; PATH may itself hold ':'. */
static int
proc_cgroup_line(struct cg_self *out, const char *p, const char *end)
{
    const char *c1 = memchr(p, ':', (size_t)(end - p));
    const char *c2 = c1 != NULL ? memchr(c1 + 1, ':', (size_t)(end - c1 - 1)) : NULL;
    struct span path;
    struct span ctl[MI_FIELDS_MAX];
    int n;

    if (c1 == NULL || c2 == NULL || c1 == p || strspn(p, "0123456789") != (size_t)(c1 - p)) {
        return -1;
    }
    path = (struct span){c2 + 1, (size_t)(end - c2 - 1)};
    if (c1 - p == 1 && *p == '0' && c2 == c1 + 1) {
        out->has_v2 = true;
        return copy_cgpath(out->v2, path);
    }
    n = cg_split(c1 + 1, c2, ',', ctl, MI_FIELDS_MAX);
    for (int i = 0; i < n; i++) {
        int c = cg_ctrl_from_span(ctl[i]);

        if (c < 0) {
            continue;
        }
        if (copy_cgpath(out->v1[c], path) < 0) {
            return -1;
        }
        out->has_v1[c] = true;
    }
    return 0;
}

int
cg_parse_proc_cgroup(const char *text, struct cg_self *out, struct mi_err *e)
{
    int line = 0;

    memset(out, 0, sizeof(*out));
    for (const char *p = text; *p != '\0';) {
        const char *end = strchr(p, '\n');

        if (end == NULL) {
            end = p + strlen(p);
        }
        line++;
        if (end > p && proc_cgroup_line(out, p, end) < 0) {
            return mi_err_set(e, 0, "/proc/self/cgroup line %d is malformed", line);
        }
        p = *end != '\0' ? end + 1 : end;
    }
    return 0;
}

/* A decimal number, or "max", filling all of [p, p+n). */
static int
parse_u64_span(struct span s, uint64_t *val)
{
    uint64_t v = 0;

    if (cg_span_eq(s, "max")) {
        *val = UINT64_MAX;
        return 0;
    }
    if (s.n == 0 || s.n > 20) {
        return -1;
    }
    for (size_t i = 0; i < s.n; i++) {
        unsigned d = (unsigned)(s.p[i] - '0');

        if (d > 9 || v > (UINT64_MAX - d) / 10) {
            return -1;
        }
        v = v * 10 + d;
    }
    *val = v;
    return 0;
}

/* Finds the line "key value" and returns the value's span. */
static int
find_key(const char *text, const char *key, struct span *val)
{
    size_t klen = strlen(key);

    for (const char *p = text; *p != '\0';) {
        const char *end = strchr(p, '\n');

        if (end == NULL) {
            end = p + strlen(p);
        }
        if ((size_t)(end - p) > klen && strncmp(p, key, klen) == 0 && p[klen] == ' ') {
            *val = (struct span){p + klen + 1, (size_t)(end - p - (ptrdiff_t)klen - 1)};
            return 0;
        }
        p = *end != '\0' ? end + 1 : end;
    }
    return -1;
}

int
cg_parse_keyed(const char *text, const char *key, uint64_t *val, struct mi_err *e)
{
    struct span v;

    if (find_key(text, key, &v) < 0) {
        return mi_err_set(e, 0, "no '%s' line", key);
    }
    if (parse_u64_span(v, val) < 0) {
        return mi_err_set(e, 0, "'%s' is not followed by a number", key);
    }
    return 0;
}

int
cg_parse_events(const char *text, bool *populated, bool *frozen, struct mi_err *e)
{
    uint64_t p;
    uint64_t f = 0;
    struct span s;

    if (cg_parse_keyed(text, "populated", &p, e) < 0 || p > 1) {
        return mi_err_set(e, 0, "cgroup.events has no valid 'populated' line");
    }
    /* "frozen" appeared in Linux 5.2; without it nothing can be frozen. */
    if (find_key(text, "frozen", &s) == 0 && (parse_u64_span(s, &f) < 0 || f > 1)) {
        return mi_err_set(e, 0, "cgroup.events has an invalid 'frozen' line");
    }
    *populated = p == 1;
    *frozen = f == 1;
    return 0;
}

int
cg_parse_oom_kill(const char *text, uint64_t *oom_kill, struct mi_err *e)
{
    return cg_parse_keyed(text, "oom_kill", oom_kill, e);
}

int
cg_parse_cpu_stat(const char *text, uint64_t *usage_usec, struct mi_err *e)
{
    return cg_parse_keyed(text, "usage_usec", usage_usec, e);
}

int
cg_parse_u64(const char *text, uint64_t *val, struct mi_err *e)
{
    size_t n = strcspn(text, "\n");

    if (text[n] == '\n' && text[n + 1] != '\0') {
        return mi_err_set(e, 0, "more than one line where one number was expected");
    }
    if (parse_u64_span((struct span){text, n}, val) < 0) {
        return mi_err_set(e, 0, "'%.*s' is not a number", (int)(n > 40 ? 40 : n), text);
    }
    return 0;
}

int
cg_parse_cpuacct_usage(const char *text, uint64_t *usage_usec, struct mi_err *e)
{
    uint64_t ns;

    if (cg_parse_u64(text, &ns, e) < 0) {
        return -1;
    }
    *usage_usec = ns / 1000;
    return 0;
}

int
cg_parse_controllers(const char *text, unsigned *mask, struct mi_err *e)
{
    struct span w[MI_FIELDS_MAX];
    size_t len = strcspn(text, "\n");
    int n;

    if (text[len] == '\n' && text[len + 1] != '\0') {
        return mi_err_set(e, 0, "a controller list has more than one line");
    }
    n = cg_split(text, text + len, ' ', w, MI_FIELDS_MAX);
    *mask = 0;
    for (int i = 0; i < n; i++) {
        int c = cg_ctrl_from_span(w[i]);

        if (c >= 0) {
            *mask |= CG_MASK(c);
        }
    }
    return 0;
}

int
cg_parse_freezer_state(const char *text, enum cg_freezer_state *st, struct mi_err *e)
{
    struct span s = {text, strcspn(text, "\n")};

    if (cg_span_eq(s, "THAWED")) {
        *st = CG_FREEZER_THAWED;
    } else if (cg_span_eq(s, "FREEZING")) {
        *st = CG_FREEZER_FREEZING;
    } else if (cg_span_eq(s, "FROZEN")) {
        *st = CG_FREEZER_FROZEN;
    } else {
        return mi_err_set(e, 0, "'%.*s' is not a freezer state", (int)(s.n > 20 ? 20 : s.n), text);
    }
    return 0;
}

int
cg_parse_cpu_max(const char *s, int64_t *quota_us, uint64_t *period_us, struct mi_err *e)
{
    struct span w[3];
    int n = cg_split(s, s + strlen(s), ' ', w, 3);
    uint64_t q;
    uint64_t p = 100000;

    if (n < 1 || n > 2 || (n == 2 && (parse_u64_span(w[1], &p) < 0 || p < 1000 || p > 1000000))) {
        return mi_err_set(e, 0, "cpu_max '%s' is not QUOTA PERIOD in microseconds", s);
    }
    if (cg_span_eq(w[0], "max")) {
        *quota_us = -1;
    } else if (parse_u64_span(w[0], &q) < 0 || q < 1000 || q > (1ULL << 50)) {
        return mi_err_set(e, 0, "cpu_max '%s': QUOTA must be max or 1000 or more", s);
    } else {
        *quota_us = (int64_t)q;
    }
    *period_us = p;
    return 0;
}

int
cg_rel_path(const char *mount_root, const char *path, char *out, size_t size, struct mi_err *e)
{
    const char *rest;

    if (path[0] != '/') {
        return mi_err_set(e, 0, "cgroup path '%s' is not absolute", path);
    }
    if (strcmp(mount_root, "/") == 0) {
        rest = path + 1;
    } else if (cg_path_under(path, mount_root)) {
        rest = path + strlen(mount_root);
        rest += *rest == '/';
    } else {
        return mi_err_set(e, 0, "cgroup %s is outside the mount's root %s", path, mount_root);
    }
    if ((size_t)snprintf(out, size, "%s", rest) >= size) {
        return mi_err_set(e, ENAMETOOLONG, "cgroup path %s is too long", path);
    }
    return 0;
}

int
cg_join_path(char *out, size_t size, const char *a, const char *b)
{
    int n;

    if (a[0] == '\0' || b[0] == '\0') {
        n = snprintf(out, size, "%s", a[0] != '\0' ? a : b);
    } else {
        n = snprintf(out, size, "%s/%s", a, b);
    }
    if (n < 0 || (size_t)n >= size) {
        errno = ENAMETOOLONG;
        return -1;
    }
    return 0;
}

int
cg_mirror_path(const char *primary_self, const char *v1_self, const char *path, char *out,
               size_t size, struct mi_err *e)
{
    const char *rest = NULL;
    size_t n = strlen(primary_self);

    if (n == 0) {
        rest = path;
    } else if (strncmp(path, primary_self, n) == 0 && (path[n] == '\0' || path[n] == '/')) {
        rest = path + n + (path[n] == '/');
    }
    if (rest == NULL ? cg_join_path(out, size, "", path) < 0
                     : cg_join_path(out, size, v1_self, rest) < 0) {
        return mi_err_set(e, ENAMETOOLONG, "v1 mirror of cgroup %s is too long", path);
    }
    return 0;
}

/* Checks an explicit base: components not empty, ".", or "..". */
static bool
base_ok(const char *p)
{
    struct span c[CG_PATH_MAX / 2];
    int n = cg_split(p, p + strlen(p), '/', c, CG_PATH_MAX / 2);

    if (n == 0) {
        return false;
    }
    for (int i = 0; i < n; i++) {
        if (c[i].n == 0 || cg_span_eq(c[i], ".") || cg_span_eq(c[i], "..")) {
            return false;
        }
    }
    return true;
}

int
cg_resolve_base(const char *self, const char *base, bool self_is_ours, char *out, size_t size,
                struct mi_err *e)
{
    char tmp[CG_PATH_MAX];
    size_t n;

    if (strcmp(base, "auto") == 0) {
        if (cg_join_path(out, size, self, self_is_ours ? "" : "minit") < 0) {
            return mi_err_set(e, ENAMETOOLONG, "cgroup path %s/minit is too long", self);
        }
        return 0;
    }
    base += strspn(base, "/");
    n = strlen(base);
    while (n > 0 && base[n - 1] == '/') {
        n--;
    }
    if (n >= sizeof(tmp) || n >= size) {
        return mi_err_set(e, ENAMETOOLONG, "cgroup path '%s' is too long", base);
    }
    memcpy(tmp, base, n);
    tmp[n] = '\0';
    if (!base_ok(tmp)) {
        return mi_err_set(e, 0, "cgroup path '%s' is not a path below the cgroup2 mount", base);
    }
    memcpy(out, tmp, n + 1);
    return 0;
}
