/* SPDX-License-Identifier: MIT */
/*
 * The key table of the config file (STYLE.md section 6): one row per key
 * with the sections it is valid in, its parser and the field it fills,
 * and the parsers themselves, strict and built on init/parse.c. Used by
 * config_build.c for every key of every section; each problem is logged
 * with its FILE:LINE.
 */
#include "init/config.h"

#include <ctype.h>
#include <errno.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#include "init/log.h"
#include "init/parse.h"
#include "ns/ns.h"

#define ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

static bool
is_space(char c)
{
    return isspace((unsigned char)c) != 0;
}

static const char *
err_text(const struct mi_err *e, char *buf, size_t size)
{
    if (e->errnum == 0) {
        return e->msg;
    }
    snprintf(buf, size, "%s: %s", e->msg, strerror(e->errnum));
    return buf;
}

struct cfg_key;
typedef int cfg_parse_fn(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
                         struct mi_err *e);

/* One row per key: the sections it is valid in (K_* bits), its parser,
 * the field it fills (in struct sv_conf for services, struct sv_config for
 * [minit] and [supervisord]) and, for integers, the largest value. The
 * defaults are sv_conf_defaults()'s. */
struct cfg_key {
    unsigned kinds;
    const char *key;
    cfg_parse_fn *parse;
    size_t off;
    uint64_t max;
};

#define K_MINIT   (1u << CFG_MINIT)
#define K_SUPD    (1u << CFG_SUPERVISORD)
#define K_SERVICE (1u << CFG_SERVICE)
#define K_PROGRAM (1u << CFG_PROGRAM)
#define K_SVC     (K_SERVICE | K_PROGRAM)
#define SVC(f)    offsetof(struct sv_conf, f)
#define GLB(f)    offsetof(struct sv_config, f)

void
init_cfg_key_error(struct cfg_build *b, const struct cfg_kv *kv, const struct mi_err *e)
{
    char buf[MI_ERR_MSG + 64];

    init_cfg_error(b->x, b->s->src, kv->line, "key '%s' in [%s]: %s%s", kv->key, b->s->head,
                   err_text(e, buf, sizeof(buf)),
                   kv->comment ? " (a ';' after a space starts a comment)" : "");
}

static int
p_string(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
         struct mi_err *e)
{
    char **f = field;

    (void)b;
    (void)k;
    if (val[0] == '\0') {
        return mi_err_set(e, 0, "empty value");
    }
    free(*f);
    if ((*f = strdup(val)) == NULL) {
        return mi_err_set(e, ENOMEM, "unable to store the value");
    }
    return 0;
}

static int
p_path(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field, struct mi_err *e)
{
    if (val[0] != '/') {
        return mi_err_set(e, 0, "'%s' is not an absolute path", val);
    }
    return p_string(b, k, val, field, e);
}

/* user= and group= are resolved once the whole section is read. */
static int
p_user(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field, struct mi_err *e)
{
    if (strcmp(k->key, "user") == 0) {
        b->user = b->kv;
    } else {
        b->group = b->kv;
    }
    return p_string(b, k, val, field, e);
}

static int
p_bool(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field, struct mi_err *e)
{
    (void)b;
    (void)k;
    return mi_parse_bool(val, field, e);
}

/* capabilities: checked now, applied at each spawn. */
static int
p_caps(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field, struct mi_err *e)
{
    ns_caps caps;

    if (ns_caps_parse_list(val, ns_caps_all(), &caps, e) < 0) {
        return -1;
    }
    return p_string(b, k, val, field, e);
}

/* seccomp: default, unconfined or a FILE, which is compiled now so that
 * its errors come with the config's. */
static int
p_seccomp(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
          struct mi_err *e)
{
    struct ns_filter f = {0};

    if (ns_seccomp_build(val, &f, e) < 0) {
        return -1;
    }
    ns_filter_free(&f);
    return p_string(b, k, val, field, e);
}

static int
p_tristate(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
           struct mi_err *e)
{
    bool on;

    (void)b;
    (void)k;
    if (mi_parse_bool(val, &on, e) < 0) {
        return -1;
    }
    *(int *)field = on;
    return 0;
}

static int
p_duration(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
           struct mi_err *e)
{
    (void)b;
    (void)k;
    return mi_parse_duration(val, field, e);
}

static int
p_size(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field, struct mi_err *e)
{
    (void)b;
    (void)k;
    return mi_parse_size(val, field, e);
}

static int
p_unsigned(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
           struct mi_err *e)
{
    uint64_t v;

    (void)b;
    if (mi_parse_uint(val, 0, k->max, &v, e) < 0) {
        return -1;
    }
    *(unsigned *)field = (unsigned)v;
    return 0;
}

static int
p_int(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field, struct mi_err *e)
{
    bool neg = val[0] == '-';
    uint64_t v;

    (void)b;
    (void)k;
    if (mi_parse_uint(val + neg, 0, INT_MAX, &v, e) < 0) {
        return mi_err_set(e, 0, "'%s' is not an integer (%d to %d)", val, -INT_MAX, INT_MAX);
    }
    *(int *)field = neg ? -(int)v : (int)v;
    return 0;
}

static int
p_signal(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
         struct mi_err *e)
{
    (void)b;
    (void)k;
    return mi_parse_signal(val, false, field, e);
}

static int
p_umask(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
        struct mi_err *e)
{
    size_t n = strlen(val);
    unsigned long v;

    (void)k;
    if (n == 0 || n > 4 || strspn(val, "01234567") != n || (v = strtoul(val, NULL, 8)) > 0777) {
        return mi_err_set(e, 0, "'%s' is not an octal umask (e.g. 022)", val);
    }
    *(mode_t *)field = (mode_t)v;
    b->c->has_umask = true;
    return 0;
}

static int
p_environment(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
              struct mi_err *e)
{
    char **env = init_cfg_environment(val, e);

    (void)b;
    (void)k;
    if (env == NULL && e->set) {
        return -1;
    }
    init_cfg_strv_free(*(char ***)field);
    *(char ***)field = env;
    return 0;
}

static int
p_command(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
          struct mi_err *e)
{
    char **argv = init_cfg_split_words(val, e);

    if (argv == NULL) {
        return -1;
    }
    init_cfg_strv_free(b->c->argv);
    b->c->argv = argv;
    return p_string(b, k, val, field, e);
}

static int
p_autorestart(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
              struct mi_err *e)
{
    bool on;

    (void)b;
    (void)k;
    if (strcasecmp(val, "unexpected") == 0) {
        *(enum sv_restart *)field = SV_RESTART_UNEXPECTED;
    } else if (mi_parse_bool(val, &on, e) == 0) {
        *(enum sv_restart *)field = on ? SV_RESTART_TRUE : SV_RESTART_FALSE;
    } else {
        return mi_err_set(e, 0, "'%s' is not true, false or unexpected", val);
    }
    return 0;
}

static int
p_type(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field, struct mi_err *e)
{
    (void)b;
    (void)k;
    if (strcmp(val, "simple") == 0) {
        *(enum sv_type *)field = SV_TYPE_SIMPLE;
    } else if (strcmp(val, "oneshot") == 0) {
        *(enum sv_type *)field = SV_TYPE_ONESHOT;
    } else {
        return mi_err_set(e, 0, "'%s' is not simple or oneshot", val);
    }
    return 0;
}

/* Calls fn on each item of a list separated by seps, items trimmed. An
 * empty item ("0,,1") goes to fn, which rejects it, unless blanks are
 * separators too (depends = a, b), where runs of them make no item. */
static int
for_each_item(const char *s, const char *seps, int (*fn)(void *, const char *, struct mi_err *),
              void *arg, struct mi_err *e)
{
    char item[INIT_CFG_LINE_MAX + 1];
    size_t n;

    for (;;) {
        s += strspn(s, " \t");
        n = strcspn(s, seps);
        while (n > 0 && is_space(s[n - 1])) {
            n--;
        }
        if (n >= sizeof(item)) {
            return mi_err_set(e, 0, "item too long in '%s'", s);
        }
        memcpy(item, s, n);
        item[n] = '\0';
        if ((n > 0 || strchr(seps, ' ') == NULL) && fn(arg, item, e) < 0) {
            return -1;
        }
        s += strcspn(s, seps);
        if (*s == '\0') {
            return 0;
        }
        s++;
    }
}

static int
exitcode_add(void *arg, const char *item, struct mi_err *e)
{
    uint8_t *bits = arg;
    uint64_t v;

    if (mi_parse_uint(item, 0, 255, &v, e) < 0) {
        return mi_err_set(e, 0, "'%s' is not an exit code (0 to 255)", item);
    }
    bits[v / 8] |= (uint8_t)(1u << (v % 8));
    return 0;
}

static int
p_exitcodes(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
            struct mi_err *e)
{
    (void)b;
    (void)k;
    memset(field, 0, sizeof(b->c->exitcodes));
    return for_each_item(val, ",", exitcode_add, field, e);
}

static int
depends_add(void *arg, const char *item, struct mi_err *e)
{
    struct cfg_strv *v = arg;

    if (!init_cfg_name_ok(item)) {
        return mi_err_set(e, 0, "'%s' is not a service name", item);
    }
    for (int i = 0; i < v->n; i++) {
        if (strcmp(v->v[i], item) == 0) {
            return 0;
        }
    }
    init_cfg_strv_push(v, strdup(item));
    return 0;
}

static int
p_depends(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
          struct mi_err *e)
{
    struct cfg_strv v = {0};

    (void)k;
    if (for_each_item(val, ", \t", depends_add, &v, e) < 0) {
        init_cfg_strv_free(v.v);
        return -1;
    }
    b->c->ndepends = v.n;
    init_cfg_strv_free(*(char ***)field);
    return init_cfg_strv_take(&v, (char ***)field, e);
}

static int
p_ready(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
        struct mi_err *e)
{
    struct sv_conf *c = b->c;
    enum sv_ready_kind *r = field;
    uint64_t v;

    (void)k;
    if (strcmp(val, "none") == 0) {
        *r = SV_READY_NONE;
    } else if (strcmp(val, "notify") == 0) {
        *r = SV_READY_NOTIFY;
    } else if (strncmp(val, "fd:", 3) == 0) {
        if (mi_parse_uint(val + 3, 3, 1023, &v, e) < 0) {
            return mi_err_set(e, 0, "'%s': N of fd:N must be 3 to 1023 (0-2 are stdio)", val);
        }
        *r = SV_READY_FD;
        c->ready_fd = (int)v;
    } else if (strncmp(val, "tcp:", 4) == 0) {
        if (mi_parse_uint(val + 4, 1, 65535, &v, e) < 0) {
            return mi_err_set(e, 0, "'%s': PORT of tcp:PORT must be 1 to 65535", val);
        }
        *r = SV_READY_TCP;
        c->ready_port = (int)v;
    } else if (strncmp(val, "exec:", 5) == 0) {
        char **argv = init_cfg_split_words(val + 5, e);

        if (argv == NULL) {
            return mi_err_wrap(e, "exec");
        }
        init_cfg_strv_free(c->ready_argv);
        c->ready_argv = argv;
        *r = SV_READY_EXEC;
    } else {
        return mi_err_set(e, 0, "'%s' is not none, notify, fd:N, tcp:PORT or exec:CMD", val);
    }
    return 0;
}

/* A path, NONE (discard), AUTO or unset (minit's own output), or
 * /dev/stdout and friends: supervisord-in-docker's way to say "mine". */
static int
p_logfile(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
          struct mi_err *e)
{
    static const char *const parent[] = {"/dev/stdout",  "/dev/stderr",     "/dev/fd/1",
                                         "/dev/fd/2",    "/proc/self/fd/1", "/proc/self/fd/2",
                                         "/dev/console", "/dev/tty"};
    struct sv_log_conf *l = field;

    (void)b;
    (void)k;
    free(l->path);
    l->path = NULL;
    l->kind = SV_LOG_PARENT;
    if (strcasecmp(val, "NONE") == 0) {
        l->kind = SV_LOG_NONE;
        return 0;
    }
    for (size_t i = 0; i < ARRAY_LEN(parent); i++) {
        if (strcmp(val, parent[i]) == 0) {
            return 0;
        }
    }
    if (strcasecmp(val, "AUTO") == 0) {
        return 0;
    }
    if (val[0] != '/') {
        return mi_err_set(e, 0, "'%s' is not an absolute path, NONE, AUTO or /dev/stdout", val);
    }
    l->kind = SV_LOG_FILE;
    return p_string(b, k, val, &l->path, e);
}

static int
p_pids_max(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
           struct mi_err *e)
{
    (void)b;
    (void)k;
    return mi_parse_pids_max(val, field, e);
}

static int
p_cpu_max(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
          struct mi_err *e)
{
    char norm[64];

    if (mi_parse_cpu_max(val, norm, sizeof(norm), e) < 0) {
        return -1;
    }
    return p_string(b, k, norm, field, e);
}

/* numprocs, numprocs_start and process_name: read before the instances. */
static int
p_meta(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field, struct mi_err *e)
{
    (void)b;
    (void)k;
    (void)val;
    (void)field;
    (void)e;
    return 0;
}

/* A supervisord key that means nothing in a container (nodaemon=true is
 * what minit does anyway; it logs to stderr, writes no pidfile). */
static int
p_ignore(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
         struct mi_err *e)
{
    return p_meta(b, k, val, field, e);
}

/* A supervisord key that would change behaviour, which minit lacks. */
static int
p_unused(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
         struct mi_err *e)
{
    (void)val;
    (void)field;
    (void)e;
    if (!b->quiet) {
        init_cfg_warn(b->x, b->s->src, b->kv->line,
                      "key '%s' in [%s] is not supported by minit; ignored", k->key, b->s->head);
    }
    return 0;
}

/* [supervisord] user= drops supervisord's own privileges; minit keeps its
 * own, so anything but root deserves a word. */
static int
p_supd_user(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
            struct mi_err *e)
{
    if (strcmp(val, "root") == 0 || strcmp(val, "0") == 0) {
        return 0;
    }
    return p_unused(b, k, val, field, e);
}

static int
p_log_level(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
            struct mi_err *e)
{
    static const struct {
        const char *name;
        int level;
    } levels[] = {
            {"error", MI_LOG_ERROR},  {"critical", MI_LOG_ERROR}, {"warning", MI_LOG_WARNING},
            {"warn", MI_LOG_WARNING}, {"info", MI_LOG_INFO},      {"debug", MI_LOG_DEBUG},
            {"trace", MI_LOG_DEBUG},  {"blather", MI_LOG_DEBUG},
    };

    (void)b;
    (void)k;
    for (size_t i = 0; i < ARRAY_LEN(levels); i++) {
        if (strcasecmp(val, levels[i].name) == 0) {
            *(int *)field = levels[i].level;
            return 0;
        }
    }
    return mi_err_set(e, 0, "'%s' is not error, warning, info or debug", val);
}

/* [supervisord] environment= is in every program's environment. */
static int
p_global_env(struct cfg_build *b, const struct cfg_key *k, const char *val, void *field,
             struct mi_err *e)
{
    (void)field;
    return p_environment(b, k, val, &b->x->genv, e);
}

static const struct cfg_key cfg_keys[] = {
        {K_MINIT, "log_level", p_log_level, GLB(log_level), 0},
        {K_MINIT, "socket", p_string, GLB(socket), 0},
        {K_MINIT, "shutdown_timeout", p_duration, GLB(shutdown_timeout_ms), 0},
        {K_MINIT, "cgroup", p_string, GLB(cgroup), 0},
        {K_SUPD, "loglevel", p_log_level, GLB(log_level), 0},
        {K_SUPD, "environment", p_global_env, 0, 0},
        {K_SUPD, "user", p_supd_user, 0, 0},
        {K_SUPD, "nodaemon", p_ignore, 0, 0},
        {K_SUPD, "silent", p_ignore, 0, 0},
        {K_SUPD, "logfile", p_ignore, 0, 0},
        {K_SUPD, "logfile_maxbytes", p_ignore, 0, 0},
        {K_SUPD, "logfile_backups", p_ignore, 0, 0},
        {K_SUPD, "pidfile", p_ignore, 0, 0},
        {K_SUPD, "childlogdir", p_ignore, 0, 0},
        {K_SUPD, "identifier", p_ignore, 0, 0},
        {K_SUPD, "nocleanup", p_ignore, 0, 0},
        {K_SUPD, "strip_ansi", p_ignore, 0, 0},
        {K_SUPD, "minfds", p_unused, 0, 0},
        {K_SUPD, "minprocs", p_unused, 0, 0},
        {K_SUPD, "umask", p_unused, 0, 0},
        {K_SUPD, "directory", p_unused, 0, 0},
        {K_SVC, "command", p_command, SVC(command), 0},
        {K_SVC, "process_name", p_meta, 0, 0},
        {K_SVC, "numprocs", p_meta, 0, 0},
        {K_SVC, "numprocs_start", p_meta, 0, 0},
        {K_SVC, "directory", p_path, SVC(directory), 0},
        {K_SVC, "user", p_user, SVC(user), 0},
        {K_SVC, "group", p_user, SVC(group), 0},
        {K_SVC, "umask", p_umask, SVC(umask), 0},
        {K_SVC, "environment", p_environment, SVC(env), 0},
        {K_SVC, "autostart", p_bool, SVC(autostart), 0},
        {K_SVC, "autorestart", p_autorestart, SVC(autorestart), 0},
        {K_SVC, "startsecs", p_duration, SVC(startsecs_ms), 0},
        {K_SVC, "startretries", p_unsigned, SVC(startretries), 1000000},
        {K_SVC, "exitcodes", p_exitcodes, SVC(exitcodes), 0},
        {K_SVC, "stopsignal", p_signal, SVC(stopsignal), 0},
        {K_SVC, "stopwaitsecs", p_duration, SVC(stopwait_ms), 0},
        {K_SVC, "stopasgroup", p_bool, SVC(stopasgroup), 0},
        {K_SVC, "killasgroup", p_bool, SVC(killasgroup), 0},
        {K_SVC, "priority", p_int, SVC(priority), 0},
        {K_SVC, "redirect_stderr", p_bool, SVC(redirect_stderr), 0},
        {K_SVC, "stdout_logfile", p_logfile, SVC(out), 0},
        {K_SVC, "stdout_logfile_maxbytes", p_size, SVC(out.maxbytes), 0},
        {K_SVC, "stdout_logfile_backups", p_unsigned, SVC(out.backups), 1000},
        {K_SVC, "stderr_logfile", p_logfile, SVC(err), 0},
        {K_SVC, "stderr_logfile_maxbytes", p_size, SVC(err.maxbytes), 0},
        {K_SVC, "stderr_logfile_backups", p_unsigned, SVC(err.backups), 1000},
        {K_SVC, "type", p_type, SVC(type), 0},
        {K_SVC, "depends", p_depends, SVC(depends), 0},
        {K_SVC, "ready", p_ready, SVC(ready), 0},
        {K_SVC, "ready_timeout", p_duration, SVC(ready_timeout_ms), 0},
        {K_SVC, "critical", p_bool, SVC(critical), 0},
        {K_SVC, "restart_delay", p_duration, SVC(restart_delay_ms), 0},
        {K_SVC, "restart_delay_max", p_duration, SVC(restart_delay_max_ms), 0},
        {K_SVC, "memory_max", p_size, SVC(memory_max), 0},
        {K_SVC, "pids_max", p_pids_max, SVC(pids_max), 0},
        {K_SVC, "cpu_max", p_cpu_max, SVC(cpu_max), 0},
        {K_SVC, "capabilities", p_caps, SVC(capabilities), 0},
        {K_SVC, "no_new_privs", p_tristate, SVC(no_new_privs), 0},
        {K_SVC, "seccomp", p_seccomp, SVC(seccomp), 0},
        {K_PROGRAM, "stdout_capture_maxbytes", p_unused, 0, 0},
        {K_PROGRAM, "stdout_events_enabled", p_unused, 0, 0},
        {K_PROGRAM, "stdout_syslog", p_unused, 0, 0},
        {K_PROGRAM, "stderr_capture_maxbytes", p_unused, 0, 0},
        {K_PROGRAM, "stderr_events_enabled", p_unused, 0, 0},
        {K_PROGRAM, "stderr_syslog", p_unused, 0, 0},
        {K_PROGRAM, "serverurl", p_unused, 0, 0},
};

static const struct cfg_key *
key_find(enum cfg_kind kind, const char *key)
{
    for (size_t i = 0; i < ARRAY_LEN(cfg_keys); i++) {
        if ((cfg_keys[i].kinds & (1u << kind)) && init_cfg_key_eq(kind, cfg_keys[i].key, key)) {
            return &cfg_keys[i];
        }
    }
    return NULL;
}

void
init_cfg_apply(struct cfg_build *b, const struct cfg_kv *kv, void *base)
{
    const struct cfg_key *k = key_find(b->s->kind, kv->key);
    struct mi_err e = {0};
    char *val;

    b->kv = kv;
    if (k == NULL && init_cfg_supervisord_kind(b->s->kind)) {
        if (!b->quiet) {
            init_cfg_warn(b->x, b->s->src, kv->line, "unknown key '%s' in [%s]; ignored", kv->key,
                          b->s->head);
        }
        return;
    }
    if (k == NULL) {
        init_cfg_error(b->x, b->s->src, kv->line, "unknown key '%s' in [%s]", kv->key, b->s->head);
        return;
    }
    if (k->parse == p_meta) {
        return;
    }
    val = init_cfg_expand(&b->vars, kv->val, &e);
    if (val == NULL || k->parse(b, k, val, (char *)base + k->off, &e) < 0) {
        init_cfg_key_error(b, kv, &e);
    }
    free(val);
}
