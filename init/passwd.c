/* SPDX-License-Identifier: MIT */
/*
 * /etc/passwd and /etc/group readers; see passwd.h. Files are read whole
 * (at most 4 MiB) with the sys_ wrappers; malformed lines are skipped, as
 * glibc's files backend does.
 */
#include "init/passwd.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "init/sys.h"

#define PW_FILE_MAX (4u << 20)

static char *
read_file(const char *root, const char *path)
{
    char full[4096];
    char *buf = NULL;
    size_t len = 0;
    size_t cap = 0;
    int fd;

    if (snprintf(full, sizeof(full), "%s%s", root, path) >= (int)sizeof(full)) {
        return NULL;
    }
    fd = sys_open(full, O_RDONLY, 0);
    if (fd < 0) {
        return NULL;
    }
    for (;;) {
        ssize_t n;

        if (len + 4097 > cap) {
            char *nb = cap + 8192 > PW_FILE_MAX ? NULL : realloc(buf, cap + 8192);

            if (nb == NULL) {
                break;
            }
            buf = nb;
            cap += 8192;
        }
        n = sys_read(fd, buf + len, cap - len - 1);
        if (n <= 0) {
            sys_close(fd);
            buf[len] = '\0';
            return buf;
        }
        len += (size_t)n;
    }
    sys_close(fd);
    free(buf);
    return NULL;
}

/* Splits line at ':' into at most max fields; returns how many. */
static int
split_fields(char *line, char **f, int max)
{
    int n = 0;

    f[n++] = line;
    for (char *p = line; *p && n < max; p++) {
        if (*p == ':') {
            *p = '\0';
            f[n++] = p + 1;
        }
    }
    return n;
}

static int
parse_id(const char *s, unsigned long *out)
{
    char *end;

    if (*s < '0' || *s > '9') {
        return -1;
    }
    errno = 0;
    *out = strtoul(s, &end, 10);
    return (errno != 0 || *end != '\0' || *out >= 0xffffffffUL) ? -1 : 0;
}

int
mi_passwd_parse_line(char *line, struct mi_pw *pw)
{
    char *f[7];
    unsigned long uid;
    unsigned long gid;

    if (split_fields(line, f, 7) < 7 || parse_id(f[2], &uid) < 0 || parse_id(f[3], &gid) < 0 ||
        strlen(f[0]) >= sizeof(pw->name) || strlen(f[5]) >= sizeof(pw->home)) {
        return -1;
    }
    pw->uid = (uid_t)uid;
    pw->gid = (gid_t)gid;
    memcpy(pw->name, f[0], strlen(f[0]) + 1);
    memcpy(pw->home, f[5], strlen(f[5]) + 1);
    return 0;
}

/* Calls fn on each line of ROOT/path until it returns non-zero. */
static int
each_line(const char *root, const char *path, int (*fn)(char *line, void *data), void *data)
{
    char *buf = read_file(root, path);
    char *line;
    char *next;
    int r = 0;

    if (buf == NULL) {
        return 0;
    }
    for (line = buf; line != NULL && r == 0; line = next) {
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        if (*line != '\0' && *line != '#') {
            r = fn(line, data);
        }
    }
    free(buf);
    return r;
}

struct pw_query {
    const char *name;
    uid_t uid;
    struct mi_pw *pw;
};

static int
pw_match(char *line, void *data)
{
    struct pw_query *q = data;
    struct mi_pw pw;

    if (mi_passwd_parse_line(line, &pw) < 0) {
        return 0;
    }
    if (q->name != NULL ? strcmp(pw.name, q->name) == 0 : pw.uid == q->uid) {
        *q->pw = pw;
        return 1;
    }
    return 0;
}

int
mi_passwd_find(const char *root, const char *name, uid_t uid, struct mi_pw *pw)
{
    struct pw_query q = {.name = name, .uid = uid, .pw = pw};

    return each_line(root, "/etc/passwd", pw_match, &q);
}

struct gr_query {
    const char *name;
    gid_t *gid;
};

static int
gr_match(char *line, void *data)
{
    struct gr_query *q = data;
    char *f[4];
    unsigned long gid;

    if (split_fields(line, f, 4) < 3 || parse_id(f[2], &gid) < 0) {
        return 0;
    }
    if (strcmp(f[0], q->name) == 0) {
        *q->gid = (gid_t)gid;
        return 1;
    }
    return 0;
}

int
mi_group_find(const char *root, const char *name, gid_t *gid)
{
    struct gr_query q = {.name = name, .gid = gid};

    return each_line(root, "/etc/group", gr_match, &q);
}

struct gl_query {
    const char *user;
    gid_t *groups;
    int n;
    int cap;
    bool oom;
};

static bool
has_member(char *members, const char *user)
{
    for (char *m = members; m != NULL && *m != '\0';) {
        char *comma = strchr(m, ',');
        size_t len = comma ? (size_t)(comma - m) : strlen(m);

        if (len == strlen(user) && strncmp(m, user, len) == 0) {
            return true;
        }
        m = comma ? comma + 1 : NULL;
    }
    return false;
}

static int
gl_add(char *line, void *data)
{
    struct gl_query *q = data;
    char *f[4];
    unsigned long gid;

    if (split_fields(line, f, 4) < 4 || parse_id(f[2], &gid) < 0 || !has_member(f[3], q->user)) {
        return 0;
    }
    for (int i = 0; i < q->n; i++) {
        if (q->groups[i] == (gid_t)gid) {
            return 0;
        }
    }
    if (q->n == q->cap) {
        gid_t *g = q->cap >= 65536 ? NULL : realloc(q->groups, sizeof(gid_t) * (size_t)q->cap * 2);

        if (g == NULL) {
            q->oom = true;
            return 1;
        }
        q->groups = g;
        q->cap *= 2;
    }
    q->groups[q->n++] = (gid_t)gid;
    return 0;
}

int
mi_group_list(const char *root, const char *user, gid_t primary, gid_t **groups, int *n)
{
    struct gl_query q = {.user = user, .cap = 16};

    q.groups = malloc(sizeof(gid_t) * (size_t)q.cap);
    if (q.groups == NULL) {
        return -1;
    }
    q.groups[q.n++] = primary;
    each_line(root, "/etc/group", gl_add, &q);
    if (q.oom) {
        free(q.groups);
        return -1;
    }
    *groups = q.groups;
    *n = q.n;
    return 0;
}
