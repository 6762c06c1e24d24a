/* SPDX-License-Identifier: MIT */
/*
 * Phase 2 of the config loader (see config.c): raw sections into struct
 * sv_config. [minit] and [supervisord] first (the latter's environment
 * goes to every service), then each [service:*] and [program:*] as
 * numprocs services (usually one), each key through config_keys.c's
 * table. Users and groups are resolved now (from /etc/passwd and
 * /etc/group, see passwd.h), so that a typo fails at load and not at each spawn. Each
 * problem is logged with its FILE:LINE; x->nerr counts the errors.
 */
#include "init/config.h"
#include "init/init.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "init/parse.h"
#include "init/passwd.h"

#define CFG_MAX_PROCS 1000 /* numprocs */

static int
load_groups(struct sv_conf *c, const char *user)
{
    return mi_group_list("", user, c->gid, &c->groups, &c->ngroups);
}

/* user= by name or number. A number not in /etc/passwd is fine (as with
 * docker run --user): group 0, HOME=/, no supplementary groups. *pwname
 * gets the passwd name (owned), NULL for such a number. */
static int
resolve_user(struct sv_conf *c, char **pwname, struct mi_err *e)
{
    struct mi_err tmp = {0};
    struct mi_pw pw;
    uint64_t id = 0;
    bool numeric = mi_parse_uint(c->user, 0, UINT32_MAX - 1, &id, &tmp) == 0;
    bool found = mi_passwd_find("", numeric ? NULL : c->user, (uid_t)id, &pw) == 1;

    if (!found && !numeric) {
        return mi_err_set(e, 0, "unknown user '%s' (not in /etc/passwd)", c->user);
    }
    c->uid = found ? pw.uid : (uid_t)id;
    c->gid = found ? pw.gid : 0;
    c->home = strdup(found ? pw.home : "/");
    *pwname = found ? strdup(pw.name) : NULL;
    if (c->home == NULL || (found && *pwname == NULL)) {
        return mi_err_set(e, ENOMEM, "unable to store the user");
    }
    return 0;
}

static int
resolve_group(struct sv_conf *c, struct mi_err *e)
{
    struct mi_err tmp = {0};
    uint64_t id;
    gid_t gid;

    if (mi_parse_uint(c->group, 0, UINT32_MAX - 1, &id, &tmp) == 0) {
        c->gid = (gid_t)id;
        return 0;
    }
    if (mi_group_find("", c->group, &gid) != 1) {
        return mi_err_set(e, 0, "unknown group '%s' (not in /etc/group)", c->group);
    }
    c->gid = gid;
    return 0;
}

/* Resolved at load time, so a typo fails now and not at each spawn. The
 * supplementary groups come last: the list starts with the final gid. */
static void
finish_ids(struct cfg_build *b)
{
    struct sv_conf *c = b->c;
    struct mi_err e = {0};
    char *pwname = NULL;

    if (c->user != NULL && resolve_user(c, &pwname, &e) < 0) {
        init_cfg_key_error(b, b->user, &e);
    }
    if (c->group != NULL && resolve_group(c, &e) < 0) {
        init_cfg_key_error(b, b->group, &e);
    }
    if (pwname != NULL && !e.set && load_groups(c, pwname) < 0) {
        mi_err_set(&e, ENOMEM, "unable to list the groups of user '%s'", c->user);
        init_cfg_key_error(b, b->user, &e);
    }
    free(pwname);
}

static bool
env_has(char **env, const char *kv)
{
    size_t n = strcspn(kv, "=") + 1;

    for (char **p = env; p != NULL && *p != NULL; p++) {
        if (strncmp(*p, kv, n) == 0) {
            return true;
        }
    }
    return false;
}

/* [supervisord] environment first, the service's own entries winning. */
static void
merge_env(struct cfg_build *b)
{
    struct sv_conf *c = b->c;
    struct cfg_strv v = {0};
    struct mi_err e = {0};
    char **out = NULL;

    if (b->x->genv == NULL) {
        return;
    }
    for (char **p = b->x->genv; *p != NULL; p++) {
        if (!env_has(c->env, *p)) {
            init_cfg_strv_push(&v, strdup(*p));
        }
    }
    for (char **p = c->env; p != NULL && *p != NULL; p++) {
        init_cfg_strv_push(&v, strdup(*p));
    }
    if (init_cfg_strv_take(&v, &out, &e) < 0) {
        init_cfg_error(b->x, b->s->src, b->s->line, "%s", e.msg);
        return;
    }
    init_cfg_strv_free(c->env);
    c->env = out;
}

static void
finish_instance(struct cfg_build *b)
{
    struct sv_conf *c = b->c;

    /* A command that failed to parse was reported already. */
    if (init_cfg_kv_find(b->s, "command") == NULL) {
        init_cfg_error(b->x, b->s->src, b->s->line, "[%s] has no command", b->s->head);
    }
    if (c->user != NULL || c->group != NULL) {
        finish_ids(b);
    }
    /* supervisord: stopasgroup implies killasgroup. */
    if (c->stopasgroup) {
        c->killasgroup = true;
    }
    merge_env(b);
}

/* A new service at the end of the config, with defaults. */
static struct sv_conf *
conf_new(struct cfg_ctx *x, const struct cfg_sect *s)
{
    struct sv_config *cfg = x->cfg;
    struct sv_conf *c;

    if (cfg->nservices == x->cap_services) {
        int cap = x->cap_services ? x->cap_services * 2 : 8;

        c = realloc(cfg->services, (size_t)cap * sizeof(*c));
        if (c == NULL) {
            init_cfg_error(x, s->src, s->line, "out of memory");
            return NULL;
        }
        cfg->services = c;
        x->cap_services = cap;
    }
    c = &cfg->services[cfg->nservices++];
    sv_conf_defaults(c);
    c->file = strdup(x->srcs[s->src].path);
    c->line = s->line;
    if (c->file == NULL) {
        init_cfg_error(x, s->src, s->line, "out of memory");
        return NULL;
    }
    return c;
}

/* The service name: process_name expanded, or the section's name (checked
 * in phase 1). */
static int
instance_name(struct cfg_build *b, const struct cfg_kv *pn)
{
    struct mi_err e = {0};

    if (pn == NULL) {
        if ((b->c->name = strdup(b->s->name)) == NULL) {
            init_cfg_error(b->x, b->s->src, b->s->line, "out of memory");
            return -1;
        }
        return 0;
    }
    if ((b->c->name = init_cfg_expand(&b->vars, pn->val, &e)) == NULL) {
        init_cfg_key_error(b, pn, &e);
        return -1;
    }
    if (!init_cfg_name_ok(b->c->name)) {
        mi_err_set(&e, 0, "'%s' is not a service name (A-Z a-z 0-9 _ . -, at most 63 bytes)",
                   b->c->name);
        init_cfg_key_error(b, pn, &e);
        return -1;
    }
    return 0;
}

/* One service of a section (one of numprocs). -1 if it had errors. */
static int
build_instance(struct cfg_build *b, const struct cfg_kv *pn)
{
    int before = b->x->nerr;

    b->c = conf_new(b->x, b->s);
    b->user = b->group = NULL;
    if (b->c == NULL) {
        return -1;
    }
    if (instance_name(b, pn) == 0) {
        for (int i = 0; i < b->s->nkv; i++) {
            init_cfg_apply(b, &b->s->kv[i], b->c);
        }
        finish_instance(b);
    }
    return b->x->nerr > before ? -1 : 0;
}

/* The [group:*] whose programs= names the program, as supervisord's
 * %(group_name)s; the program's own name when none does. */
static const char *
group_of(const struct cfg_ctx *x, const char *program)
{
    for (int i = 0; i < x->nsects; i++) {
        const struct cfg_kv *kv =
                x->sects[i]->kind == CFG_GROUP ? init_cfg_kv_find(x->sects[i], "programs") : NULL;
        size_t n = strlen(program);

        for (const char *p = kv != NULL ? kv->val : ""; *p != '\0'; p += strcspn(p, ",")) {
            p += strspn(p, ", \t");
            if (strncmp(p, program, n) == 0 && strchr(", \t", p[n]) != NULL) {
                return x->sects[i]->name;
            }
        }
    }
    return program;
}

static int
meta_uint(struct cfg_build *b, const struct cfg_kv *kv, uint64_t min, uint64_t max, uint64_t *v)
{
    struct mi_err e = {0};
    char *val;
    int r;

    if (kv == NULL) {
        return 0;
    }
    if ((val = init_cfg_expand(&b->vars, kv->val, &e)) == NULL) {
        init_cfg_key_error(b, kv, &e);
        return -1;
    }
    if ((r = mi_parse_uint(val, min, max, v, &e)) < 0) {
        init_cfg_key_error(b, kv, &e);
    }
    free(val);
    return r;
}

/* A [service:*] or [program:*] into numprocs services (usually one). */
static void
build_service(struct cfg_ctx *x, const struct cfg_sect *s)
{
    struct cfg_build b = {.x = x, .s = s};
    const struct cfg_kv *np = init_cfg_kv_find(s, "numprocs");
    const struct cfg_kv *pn = init_cfg_kv_find(s, "process_name");
    uint64_t n = 1;
    uint64_t start = 0;

    b.vars =
            (struct cfg_vars){x->srcs[s->src].here, s->name, group_of(x, s->name), x->host, -1, -1};
    if (meta_uint(&b, np, 1, CFG_MAX_PROCS, &n) < 0 ||
        meta_uint(&b, init_cfg_kv_find(s, "numprocs_start"), 0, 1000000, &start) < 0) {
        return;
    }
    if (n > 1 && (pn == NULL || strstr(pn->val, "%(process_num)") == NULL)) {
        init_cfg_error(x, s->src, np->line,
                       "[%s]: numprocs > 1 needs process_name with %%(process_num)s in it, e.g. "
                       "%%(program_name)s_%%(process_num)02d",
                       s->head);
        return;
    }
    b.vars.numprocs = (long)n;
    for (uint64_t i = 0; i < n; i++) {
        b.vars.process_num = (long)(start + i);
        b.quiet = i > 0;
        if (build_instance(&b, pn) < 0) {
            return;
        }
    }
}

/* [minit] and [supervisord] into the config itself. */
static void
build_global(struct cfg_ctx *x, const struct cfg_sect *s)
{
    struct cfg_build b = {.x = x, .s = s};

    b.vars = (struct cfg_vars){x->srcs[s->src].here, NULL, NULL, x->host, -1, -1};
    for (int i = 0; i < s->nkv; i++) {
        init_cfg_apply(&b, &s->kv[i], x->cfg);
    }
}

/* Keys of [container] whose value is a list (split on blanks). */
static bool
ct_list_key(const char *k)
{
    return strcmp(k, "bind") == 0 || strcmp(k, "ro_bind") == 0 || strcmp(k, "tmpfs") == 0 ||
           strcmp(k, "cap_add") == 0 || strcmp(k, "cap_drop") == 0 || strcmp(k, "env") == 0;
}

static void
ct_item(struct cfg_ctx *x, const struct cfg_sect *s, const struct cfg_kv *kv, const char *val,
        struct init_container *scratch)
{
    struct mi_err e = {0};
    struct sv_config *c = x->cfg;
    char **k;
    char **v;

    if (init_container_set(scratch, kv->key, val, kv->key, &e) < 0) {
        init_cfg_error(x, s->src, kv->line, "%s", e.msg);
        return;
    }
    k = realloc(c->ct_key, sizeof(*k) * (size_t)(c->nct + 1));
    if (k != NULL) {
        c->ct_key = k;
    }
    v = realloc(c->ct_val, sizeof(*v) * (size_t)(c->nct + 1));
    if (v != NULL) {
        c->ct_val = v;
    }
    if (k == NULL || v == NULL) {
        init_cfg_error(x, s->src, kv->line, "out of memory");
        return;
    }
    c->ct_key[c->nct] = strdup(kv->key);
    c->ct_val[c->nct] = strdup(val);
    if (c->ct_key[c->nct] == NULL || c->ct_val[c->nct] == NULL) {
        free(c->ct_key[c->nct]);
        free(c->ct_val[c->nct]);
        init_cfg_error(x, s->src, kv->line, "out of memory");
        return;
    }
    c->nct++;
}

/* [container]: each key checked as the command line's option would be
 * (the scratch struct is thrown away), then kept for job 3. */
static void
build_container(struct cfg_ctx *x, const struct cfg_sect *s)
{
    struct init_container scratch;

    memset(&scratch, 0, sizeof(scratch));
    for (int i = 0; i < s->nkv; i++) {
        const struct cfg_kv *kv = &s->kv[i];
        char *copy;
        char *save = NULL;

        if (!ct_list_key(kv->key)) {
            ct_item(x, s, kv, kv->val, &scratch);
            continue;
        }
        if ((copy = strdup(kv->val)) == NULL) {
            init_cfg_error(x, s->src, kv->line, "out of memory");
            continue;
        }
        for (char *w = strtok_r(copy, " \t", &save); w != NULL; w = strtok_r(NULL, " \t", &save)) {
            ct_item(x, s, kv, w, &scratch);
        }
        free(copy);
    }
    for (int i = 0; i < scratch.nmounts; i++) {
        free(scratch.mounts[i].src != NULL ? scratch.mounts[i].src : scratch.mounts[i].dst);
    }
    free(scratch.mounts);
    free(scratch.env);
}

void
init_cfg_build(struct cfg_ctx *x)
{
    for (int i = 0; i < x->nsects; i++) {
        if (x->sects[i]->kind == CFG_MINIT || x->sects[i]->kind == CFG_SUPERVISORD) {
            build_global(x, x->sects[i]);
        }
    }
    for (int i = 0; i < x->nsects; i++) {
        if (x->sects[i]->kind == CFG_SERVICE || x->sects[i]->kind == CFG_PROGRAM) {
            build_service(x, x->sects[i]);
        } else if (x->sects[i]->kind == CFG_CONTAINER) {
            build_container(x, x->sects[i]);
        }
    }
}
