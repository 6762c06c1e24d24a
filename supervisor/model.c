/* SPDX-License-Identifier: MIT */
/*
 * The service model: defaults, freeing, and the checks across services
 * (valid and unique names, known dependencies, no dependency cycle, field
 * ranges). Pure: no I/O, no ini, no logging; the first problem goes back
 * in struct mi_err, prefixed with the service's "FILE:LINE: ".
 */
#include "supervisor/supervisor.h"

#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* supervisord's defaults for a log file it rotates: 50 MB, 10 backups. */
#define SV_LOG_MAXBYTES_DEFAULT (50ULL << 20)
#define SV_LOG_BACKUPS_DEFAULT  10

void
sv_conf_defaults(struct sv_conf *c)
{
    memset(c, 0, sizeof(*c));
    /* -1 is "unchanged" for setresuid/setresgid; user and group are NULL. */
    c->uid = (uid_t)-1;
    c->gid = (gid_t)-1;
    c->autostart = true;
    c->autorestart = SV_RESTART_UNEXPECTED;
    c->startsecs_ms = 1000;
    c->startretries = 3;
    c->exitcodes[0] = 1; /* bit (code % 8) of byte (code / 8): exit code 0 */
    c->stopsignal = SIGTERM;
    c->stopwait_ms = 10000;
    c->priority = 999;
    c->out.kind = SV_LOG_PARENT;
    c->out.maxbytes = SV_LOG_MAXBYTES_DEFAULT;
    c->out.backups = SV_LOG_BACKUPS_DEFAULT;
    c->err = c->out;
    c->type = SV_TYPE_SIMPLE;
    c->ready = SV_READY_NONE;
    c->ready_fd = -1;
    c->restart_delay_ms = 100;
    c->restart_delay_max_ms = 30000;
    c->no_new_privs = -1;
}

static void
free_strv(char **v)
{
    for (char **p = v; p != NULL && *p != NULL; p++) {
        free(*p);
    }
    free(v);
}

static void
conf_free(struct sv_conf *c)
{
    free(c->name);
    free(c->command);
    free_strv(c->argv);
    free(c->directory);
    free(c->user);
    free(c->group);
    free(c->groups);
    free(c->home);
    free_strv(c->env);
    free(c->out.path);
    free(c->err.path);
    free_strv(c->depends);
    free_strv(c->ready_argv);
    free(c->cpu_max);
    free(c->capabilities);
    free(c->seccomp);
    free(c->file);
}

void
sv_config_free(struct sv_config *cfg)
{
    if (cfg == NULL) {
        return;
    }
    for (int i = 0; i < cfg->nservices; i++) {
        conf_free(&cfg->services[i]);
    }
    free(cfg->services);
    for (int i = 0; i < cfg->nct; i++) {
        free(cfg->ct_key[i]);
        free(cfg->ct_val[i]);
    }
    free(cfg->ct_key);
    free(cfg->ct_val);
    free(cfg->socket);
    free(cfg->cgroup);
    free(cfg->path);
    free(cfg);
}

/* [A-Za-z0-9][A-Za-z0-9_.-]{0,62}: the name becomes a cgroup directory. */
static bool
name_ok(const char *s)
{
    size_t n = s != NULL ? strlen(s) : 0;

    if (n == 0 || n > SV_NAME_MAX || strchr("_.-", s[0]) != NULL) {
        return false;
    }
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

static int
conf_fail(const struct sv_conf *c, struct mi_err *e, const char *what)
{
    return mi_err_set(e, 0, "%s:%d: service '%s': %s", c->file ? c->file : "?", c->line,
                      c->name ? c->name : "?", what);
}

/* The checks on one service alone. */
static int
conf_check(const struct sv_conf *c, struct mi_err *e)
{
    if (!name_ok(c->name)) {
        return conf_fail(c, e, "bad name (A-Z a-z 0-9 _ . -, at most 63, starting alphanumeric)");
    }
    if (c->command == NULL || c->argv == NULL || c->argv[0] == NULL || c->argv[0][0] == '\0') {
        return conf_fail(c, e, "no command");
    }
    if (c->ready == SV_READY_FD && (c->ready_fd < 3 || c->ready_fd > 1023)) {
        return conf_fail(c, e, "ready fd must be 3 to 1023 (0-2 are stdin, stdout, stderr)");
    }
    if (c->ready == SV_READY_TCP && (c->ready_port < 1 || c->ready_port > 65535)) {
        return conf_fail(c, e, "ready port must be 1 to 65535");
    }
    if (c->ready == SV_READY_EXEC && (c->ready_argv == NULL || c->ready_argv[0] == NULL)) {
        return conf_fail(c, e, "ready = exec: needs a command");
    }
    if (c->restart_delay_ms > c->restart_delay_max_ms) {
        return conf_fail(c, e, "restart_delay is longer than restart_delay_max");
    }
    if (c->stopsignal < 1 || c->stopsignal > 64) {
        return conf_fail(c, e, "bad stopsignal");
    }
    if (c->ndepends < 0 || (c->ndepends > 0 && c->depends == NULL)) {
        return conf_fail(c, e, "bad depends list");
    }
    return 0;
}

/* Sorting an index by name (then by position, so the first definition
 * sorts first) finds duplicates as neighbours and allows a binary search. */
static int
cmp_index(const void *a, const void *b, void *arg)
{
    const struct sv_config *cfg = arg;
    int ia = *(const int *)a;
    int ib = *(const int *)b;
    int r = strcmp(cfg->services[ia].name, cfg->services[ib].name);

    return r != 0 ? r : (ia > ib) - (ia < ib);
}

static int
find_service(const struct sv_config *cfg, const int *idx, const char *name)
{
    int lo = 0;
    int hi = cfg->nservices - 1;

    while (lo <= hi) {
        int mid = lo + (hi - lo) / 2;
        int r = strcmp(name, cfg->services[idx[mid]].name);

        if (r == 0) {
            return idx[mid];
        }
        if (r < 0) {
            hi = mid - 1;
        } else {
            lo = mid + 1;
        }
    }
    return -1;
}

static int
check_names(const struct sv_config *cfg, const int *idx, struct mi_err *e)
{
    for (int i = 1; i < cfg->nservices; i++) {
        const struct sv_conf *a = &cfg->services[idx[i - 1]];
        const struct sv_conf *b = &cfg->services[idx[i]];

        if (strcmp(a->name, b->name) == 0) {
            return mi_err_set(e, 0, "%s:%d: duplicate service name '%s' (first at %s:%d)",
                              b->file ? b->file : "?", b->line, b->name, a->file ? a->file : "?",
                              a->line);
        }
    }
    return 0;
}

/* Resolves every depends name into deps (per service, in order). */
static int
check_depends(const struct sv_config *cfg, const int *idx, int **deps, struct mi_err *e)
{
    for (int i = 0; i < cfg->nservices; i++) {
        const struct sv_conf *c = &cfg->services[i];

        for (int j = 0; j < c->ndepends; j++) {
            deps[i][j] = find_service(cfg, idx, c->depends[j]);
            if (deps[i][j] < 0) {
                return mi_err_set(e, 0, "%s:%d: service '%s' depends on unknown service '%s'",
                                  c->file ? c->file : "?", c->line, c->name, c->depends[j]);
            }
        }
    }
    return 0;
}

/* Depth-first search state: colour per service and the current path. */
struct dfs {
    const struct sv_config *cfg;
    int **deps;
    char *colour; /* 0 unvisited, 1 on the path, 2 done */
    int *path;
    int depth;
};

static int
report_cycle(const struct dfs *d, int to, struct mi_err *e)
{
    const struct sv_conf *first = &d->cfg->services[to];
    char buf[MI_ERR_MSG];
    size_t len = 0;
    int start = d->depth - 1;

    while (start > 0 && d->path[start] != to) {
        start--;
    }
    for (int i = start; i < d->depth && len < sizeof(buf); i++) {
        int n = snprintf(buf + len, sizeof(buf) - len, "%s -> ", d->cfg->services[d->path[i]].name);
        len += n > 0 ? (size_t)n : 0;
    }
    if (len < sizeof(buf)) {
        snprintf(buf + len, sizeof(buf) - len, "%s", first->name);
    }
    return mi_err_set(e, 0, "%s:%d: dependency cycle: %s", first->file ? first->file : "?",
                      first->line, buf);
}

static int
dfs_visit(struct dfs *d, int i, struct mi_err *e)
{
    const struct sv_conf *c = &d->cfg->services[i];

    d->colour[i] = 1;
    d->path[d->depth++] = i;
    for (int j = 0; j < c->ndepends; j++) {
        int to = d->deps[i][j];

        if (d->colour[to] == 1) {
            return report_cycle(d, to, e);
        }
        if (d->colour[to] == 0 && dfs_visit(d, to, e) < 0) {
            return -1;
        }
    }
    d->depth--;
    d->colour[i] = 2;
    return 0;
}

static int
check_cycles(const struct sv_config *cfg, int **deps, struct mi_err *e)
{
    struct dfs d = {cfg, deps, NULL, NULL, 0};
    int r = 0;

    d.colour = calloc((size_t)cfg->nservices, 1);
    d.path = calloc((size_t)cfg->nservices, sizeof(int));
    if (d.colour == NULL || d.path == NULL) {
        r = mi_err_set(e, 0, "out of memory");
    }
    for (int i = 0; r == 0 && i < cfg->nservices; i++) {
        if (d.colour[i] == 0) {
            r = dfs_visit(&d, i, e);
        }
    }
    free(d.colour);
    free(d.path);
    return r;
}

static int **
deps_alloc(const struct sv_config *cfg)
{
    int **deps = calloc((size_t)cfg->nservices + 1, sizeof(int *));

    for (int i = 0; deps != NULL && i < cfg->nservices; i++) {
        deps[i] = calloc((size_t)cfg->services[i].ndepends + 1, sizeof(int));
        if (deps[i] == NULL) {
            for (int j = 0; j < i; j++) {
                free(deps[j]);
            }
            free(deps);
            return NULL;
        }
    }
    return deps;
}

static void
deps_free(int **deps, int n)
{
    for (int i = 0; deps != NULL && i < n; i++) {
        free(deps[i]);
    }
    free(deps);
}

int
sv_config_validate(const struct sv_config *cfg, struct mi_err *e)
{
    int *idx;
    int **deps;
    int r = 0;

    for (int i = 0; i < cfg->nservices; i++) {
        if (conf_check(&cfg->services[i], e) < 0) {
            return -1;
        }
    }
    idx = calloc((size_t)cfg->nservices + 1, sizeof(int));
    deps = deps_alloc(cfg);
    if (idx == NULL || deps == NULL) {
        free(idx);
        deps_free(deps, cfg->nservices);
        return mi_err_set(e, 0, "out of memory");
    }
    for (int i = 0; i < cfg->nservices; i++) {
        idx[i] = i;
    }
    qsort_r(idx, (size_t)cfg->nservices, sizeof(int), cmp_index, (void *)cfg);
    if (check_names(cfg, idx, e) < 0 || check_depends(cfg, idx, deps, e) < 0 ||
        check_cycles(cfg, deps, e) < 0) {
        r = -1;
    }
    free(idx);
    deps_free(deps, cfg->nservices);
    return r;
}
