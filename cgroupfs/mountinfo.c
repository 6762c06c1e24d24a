/* SPDX-License-Identifier: MIT */
/*
 * /proc/self/mountinfo: where the cgroup hierarchies are mounted, and which
 * of those mounts a path lookup actually reaches. Pure: text in, struct out.
 *
 * A line is "ID PARENT MAJ:MIN ROOT MOUNTPOINT OPTS [OPTIONAL...] - TYPE
 * SOURCE SUPEROPTS". The optional fields vary in number, so the type is read
 * after the "-" separator, never by column.
 *
 * Special problem: a mount can be hidden. Docker puts a tmpfs over
 * /sys/fs/cgroup; a second cgroup2 can be stacked on the first. The file's
 * order is not the mount order either (after a pivot or a move, "/" may come
 * after /proc, as on the hybrid host these tests were written on). So
 * visibility comes from the mount tree: a mount M hides a cgroup mount C when
 * M sits at C's mount point or above it and is not one of C's ancestors (C's
 * PARENT chain), i.e. M was stacked over C or over one of its ancestors.
 */
#include "cgroupfs/internal.h"

#include <stdio.h>
#include <string.h>

/* cgroup mounts considered; a host has about a dozen. */
#define MI_CAND_MAX 32

/* Longest PARENT chain followed (mount nesting depth). */
#define MI_DEPTH_MAX 64

struct mi_line {
    unsigned long id;
    unsigned long parent;
    struct span root;
    struct span path;
    struct span type;
    struct span opts; /* super options */
};

struct mi_cand {
    struct mi_line m;
    bool hidden;
};

static bool
next_line(const char **p, struct span *line)
{
    const char *end;

    if (**p == '\0') {
        return false;
    }
    end = strchr(*p, '\n');
    if (end == NULL) {
        end = *p + strlen(*p);
    }
    *line = (struct span){*p, (size_t)(end - *p)};
    *p = *end != '\0' ? end + 1 : end;
    return true;
}

static bool
span_ulong(struct span s, unsigned long *v)
{
    *v = 0;
    if (s.n == 0 || s.n > 18) {
        return false;
    }
    for (size_t i = 0; i < s.n; i++) {
        if (s.p[i] < '0' || s.p[i] > '9') {
            return false;
        }
        *v = *v * 10 + (unsigned long)(s.p[i] - '0');
    }
    return true;
}

/* Splits one line; -1 when malformed. */
static int
split_line(struct span line, struct mi_line *m)
{
    struct span f[MI_FIELDS_MAX];
    int n = cg_split(line.p, line.p + line.n, ' ', f, MI_FIELDS_MAX);
    int sep = -1;

    for (int i = 6; i < n && sep < 0; i++) {
        if (cg_span_eq(f[i], "-")) {
            sep = i;
        }
    }
    if (sep < 0 || sep + 3 >= n || !span_ulong(f[0], &m->id) || !span_ulong(f[1], &m->parent) ||
        f[3].p[0] != '/' || f[4].p[0] != '/') {
        return -1;
    }
    m->root = f[3];
    m->path = f[4];
    m->type = f[sep + 1];
    m->opts = f[sep + 3];
    return 0;
}

/* path is mnt or below it. Escapes never touch '/', so escaped spans
 * compare as the paths do. */
static bool
span_under(struct span path, struct span mnt)
{
    if (mnt.n == 1) {
        return true; /* "/" */
    }
    return path.n >= mnt.n && memcmp(path.p, mnt.p, mnt.n) == 0 &&
           (path.n == mnt.n || path.p[mnt.n] == '/');
}

static bool
parent_of(const char *text, unsigned long id, unsigned long *parent)
{
    struct span line;
    struct mi_line m;

    while (next_line(&text, &line)) {
        if (line.n > 0 && split_line(line, &m) == 0 && m.id == id) {
            *parent = m.parent;
            return true;
        }
    }
    return false;
}

/* True when mount `anc` is on the PARENT chain of mount c. */
static bool
is_ancestor(const char *text, unsigned long anc, const struct mi_line *c)
{
    unsigned long cur = c->parent;

    for (int depth = 0; depth < MI_DEPTH_MAX; depth++) {
        unsigned long next;

        if (cur == anc) {
            return true;
        }
        if (!parent_of(text, cur, &next) || next == cur) {
            return false;
        }
        cur = next;
    }
    return false;
}

/* Pass 1: every cgroup mount; -1 with the number of a malformed line. */
static int
collect(const char *text, struct mi_cand *cand, int *ncand, int *bad_line)
{
    struct span line;
    int no = 0;

    *ncand = 0;
    while (next_line(&text, &line)) {
        struct mi_line m;

        no++;
        if (line.n == 0) {
            continue;
        }
        if (split_line(line, &m) < 0) {
            *bad_line = no;
            return -1;
        }
        if ((cg_span_eq(m.type, "cgroup2") || cg_span_eq(m.type, "cgroup")) &&
            *ncand < MI_CAND_MAX) {
            cand[(*ncand)++] = (struct mi_cand){m, false};
        }
    }
    return 0;
}

/* Pass 2: marks the candidates some other mount hides. */
static void
hide(const char *text, struct mi_cand *cand, int ncand)
{
    const char *p = text;
    struct span line;
    struct mi_line m;

    while (next_line(&p, &line)) {
        if (line.n == 0 || split_line(line, &m) < 0) {
            continue;
        }
        for (int i = 0; i < ncand; i++) {
            struct mi_cand *c = &cand[i];

            if (!c->hidden && m.id != c->m.id && span_under(c->m.path, m.path) &&
                !is_ancestor(text, m.id, &c->m)) {
                c->hidden = true;
            }
        }
    }
}

/* Copies a field, undoing the kernel's octal escapes (\040 is a space).
 * False when it does not fit. */
static bool
unescape(struct span s, char *out, size_t size)
{
    size_t o = 0;

    for (size_t i = 0; i < s.n; i++) {
        char ch = s.p[i];

        if (ch == '\\' && i + 3 < s.n && s.p[i + 1] >= '0' && s.p[i + 1] <= '3' &&
            s.p[i + 2] >= '0' && s.p[i + 2] <= '7' && s.p[i + 3] >= '0' && s.p[i + 3] <= '7') {
            ch = (char)((s.p[i + 1] - '0') * 64 + (s.p[i + 2] - '0') * 8 + (s.p[i + 3] - '0'));
            i += 3;
        }
        if (o + 1 >= size) {
            return false;
        }
        out[o++] = ch;
    }
    out[o] = '\0';
    return true;
}

static void
take(struct cg_mount *out, const struct mi_line *m)
{
    if (!out->present && unescape(m->path, out->path, sizeof(out->path)) &&
        unescape(m->root, out->root, sizeof(out->root))) {
        out->present = true;
    }
}

/* The first visible mount of each kind wins. */
static void
pick(struct cg_mounts *out, const struct mi_cand *cand, int ncand)
{
    for (int i = 0; i < ncand; i++) {
        const struct mi_line *m = &cand[i].m;
        struct span o[MI_FIELDS_MAX];
        int n;

        if (cand[i].hidden) {
            continue;
        }
        if (cg_span_eq(m->type, "cgroup2")) {
            take(&out->v2, m);
            continue;
        }
        n = cg_split(m->opts.p, m->opts.p + m->opts.n, ',', o, MI_FIELDS_MAX);
        for (int j = 0; j < n; j++) {
            int c = cg_ctrl_from_span(o[j]);

            if (c >= 0) {
                take(&out->v1[c], m);
            }
        }
    }
}

int
cg_parse_mountinfo(const char *text, struct cg_mounts *out, struct mi_err *e)
{
    struct mi_cand cand[MI_CAND_MAX];
    int ncand;
    int bad = 0;

    memset(out, 0, sizeof(*out));
    if (collect(text, cand, &ncand, &bad) < 0) {
        return mi_err_set(e, 0, "mountinfo line %d is malformed", bad);
    }
    hide(text, cand, ncand);
    pick(out, cand, ncand);
    return 0;
}
