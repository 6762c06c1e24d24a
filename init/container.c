/* SPDX-License-Identifier: MIT */
/*
 * Job 3: `minit --new-container ROOTFS ...`. The container options (from
 * the command line and the [container] section), the payload's privileges,
 * and the two halves after ns_container_start(): the host side stays a
 * small monitor (job 1's forwarding and exit status around the container's
 * PID 1, then removal of the container's cgroup), and the container side
 * drops what minit itself does not need and becomes job 1 or job 2.
 */
#include "init/init.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init/log.h"
#include "init/parse.h"
#include "init/passwd.h"
#include "init/sys.h"
#include "ns/ns.h"
#include "supervisor/supervisor.h"

extern char **environ;

static int
push(char ***list, int *n, const char *v)
{
    char **l = realloc(*list, sizeof(**list) * (size_t)(*n + 2));

    if (l == NULL) {
        return -1;
    }
    *list = l;
    l[(*n)++] = (char *)v;
    l[*n] = NULL;
    return 0;
}

static int
add_mount(struct init_container *c, const char *arg, bool tmpfs, bool ro, const char *flag,
          struct mi_err *e)
{
    struct ns_mount m = {.tmpfs = tmpfs, .ro = ro};
    struct ns_mount *ms;
    char *copy = strdup(arg);
    char *colon;

    if (copy == NULL) {
        return mi_err_set(e, ENOMEM, "%s", flag);
    }
    if (tmpfs) {
        m.dst = copy;
    } else {
        colon = strchr(copy, ':');
        if (colon == NULL || colon == copy || colon[1] == '\0') {
            free(copy);
            return mi_err_set(e, 0, "%s %s: expected SRC:DST[:ro]", flag, arg);
        }
        *colon++ = '\0';
        m.src = copy;
        m.dst = colon;
        colon = strchr(colon, ':');
        if (colon != NULL) {
            *colon++ = '\0';
            if (strcmp(colon, "ro") != 0 && strcmp(colon, "rw") != 0) {
                free(copy);
                return mi_err_set(e, 0, "%s %s: the mode must be ro or rw", flag, arg);
            }
            m.ro = m.ro || strcmp(colon, "ro") == 0;
        }
    }
    if (m.dst[0] != '/') {
        free(copy);
        return mi_err_set(e, 0, "%s %s: the destination must be an absolute path", flag, arg);
    }
    ms = realloc(c->mounts, sizeof(*ms) * (size_t)(c->nmounts + 1));
    if (ms == NULL) {
        free(copy);
        return mi_err_set(e, ENOMEM, "%s", flag);
    }
    c->mounts = ms;
    ms[c->nmounts++] = m;
    return 0;
}

static int
set_caps(struct init_container *c, const char *arg, bool add, const char *flag, struct mi_err *e)
{
    ns_caps caps;

    if (ns_cap_parse(arg, &caps, e) < 0) {
        return mi_err_wrap(e, "%s", flag);
    }
    if (add) {
        c->cap_add |= caps;
        c->cap_drop &= ~caps;
    } else {
        c->cap_drop |= caps;
        c->cap_add &= ~caps;
    }
    return 0;
}

static int
set_net(struct init_container *c, const char *arg, const char *flag, struct mi_err *e)
{
    c->net_set = true;
    if (strcmp(arg, "new") == 0) {
        c->net = NS_NET_NEW;
    } else if (strcmp(arg, "host") == 0) {
        c->net = NS_NET_HOST;
    } else if (strcmp(arg, "none") == 0) {
        c->net = NS_NET_NONE;
    } else {
        return mi_err_set(e, 0, "%s %s: expected new, host or none", flag, arg);
    }
    return 0;
}

static int
set_bool(bool *b, const char *arg, const char *flag, struct mi_err *e)
{
    if (arg == NULL) {
        *b = true;
        return 0;
    }
    if (mi_parse_bool(arg, b, e) < 0) {
        return mi_err_wrap(e, "%s", flag);
    }
    return 0;
}

/* After a limit's parser: wraps its error with the flag, and remembers the
 * first limit's flag for the "needs --cgroup" message. */
static int
set_limit(struct init_container *c, int r, const char *arg, const char *flag, struct mi_err *e)
{
    if (r < 0) {
        return mi_err_wrap(e, "%s %s", flag, arg);
    }
    if (c->limit_flag[0] == '\0') {
        snprintf(c->limit_flag, sizeof(c->limit_flag), "%s", flag);
    }
    return 0;
}

int
init_container_set(struct init_container *c, const char *key, const char *arg, const char *flag,
                   struct mi_err *e)
{
    if (strcmp(key, "hostname") == 0) {
        c->hostname = arg;
    } else if (strcmp(key, "net") == 0) {
        return set_net(c, arg, flag, e);
    } else if (strcmp(key, "userns") == 0) {
        return set_bool(&c->userns, arg, flag, e);
    } else if (strcmp(key, "readonly") == 0) {
        return set_bool(&c->readonly, arg, flag, e);
    } else if (strcmp(key, "bind") == 0 || strcmp(key, "ro-bind") == 0 ||
               strcmp(key, "ro_bind") == 0) {
        return add_mount(c, arg, false, key[0] == 'r', flag, e);
    } else if (strcmp(key, "tmpfs") == 0) {
        return add_mount(c, arg, true, false, flag, e);
    } else if (strcmp(key, "cap-add") == 0 || strcmp(key, "cap_add") == 0) {
        return set_caps(c, arg, true, flag, e);
    } else if (strcmp(key, "cap-drop") == 0 || strcmp(key, "cap_drop") == 0) {
        return set_caps(c, arg, false, flag, e);
    } else if (strcmp(key, "seccomp") == 0) {
        c->seccomp = arg;
    } else if (strcmp(key, "env") == 0) {
        if (strchr(arg, '=') == NULL || arg[0] == '=') {
            return mi_err_set(e, 0, "%s %s: expected K=V", flag, arg);
        }
        if (push(&c->env, &c->nenv, arg) < 0) {
            return mi_err_set(e, ENOMEM, "%s", flag);
        }
    } else if (strcmp(key, "workdir") == 0) {
        if (arg[0] != '/') {
            return mi_err_set(e, 0, "%s %s: must be an absolute path", flag, arg);
        }
        c->workdir = arg;
    } else if (strcmp(key, "user") == 0) {
        c->user = arg;
    } else if (strcmp(key, "cgroup") == 0) {
        c->cgroup = arg;
    } else if (strcmp(key, "memory-max") == 0 || strcmp(key, "memory_max") == 0) {
        return set_limit(c, mi_parse_size(arg, &c->memory_max, e), arg, flag, e);
    } else if (strcmp(key, "pids-max") == 0 || strcmp(key, "pids_max") == 0) {
        return set_limit(c, mi_parse_pids_max(arg, &c->pids_max, e), arg, flag, e);
    } else if (strcmp(key, "cpu-max") == 0 || strcmp(key, "cpu_max") == 0) {
        return set_limit(c, mi_parse_cpu_max(arg, c->cpu_max, sizeof(c->cpu_max), e), arg, flag, e);
    } else {
        return mi_err_set(e, 0, "unknown container option %s", flag);
    }
    return 0;
}

/* ---- the container's side ------------------------------------------- */

/* --user UID[:GID] or NAME[:GROUP], looked up in the container's own
 * /etc/passwd and /etc/group (after pivot_root). */
static int
resolve_user(const char *spec, struct sv_ids *ids, struct mi_err *e)
{
    char user[128];
    const char *grp = strchr(spec, ':');
    struct mi_pw pw;
    uint64_t v;
    struct mi_err tmp = {0};
    bool found;

    snprintf(user, sizeof(user), "%.*s", grp ? (int)(grp - spec) : (int)strlen(spec), spec);
    if (mi_parse_uint(user, 0, 0xfffffffeu, &v, &tmp) == 0) {
        found = mi_passwd_find("", NULL, (uid_t)v, &pw) == 1;
        ids->uid = (uid_t)v;
        ids->gid = found ? pw.gid : (gid_t)v;
    } else if (mi_passwd_find("", user, 0, &pw) == 1) {
        found = true;
        ids->uid = pw.uid;
        ids->gid = pw.gid;
    } else {
        return mi_err_set(e, 0, "--user %s: no user %s in the container's /etc/passwd", spec, user);
    }
    ids->home = found ? strdup(pw.home) : NULL;
    if (grp != NULL) {
        gid_t g;

        if (mi_parse_uint(grp + 1, 0, 0xfffffffeu, &v, &tmp) == 0) {
            ids->gid = (gid_t)v;
        } else if (mi_group_find("", grp + 1, &g) == 1) {
            ids->gid = g;
        } else {
            return mi_err_set(e, 0, "--user %s: no group %s in the container's /etc/group", spec,
                              grp + 1);
        }
    }
    if (mi_group_list("", found ? pw.name : "", ids->gid, &ids->groups, &ids->ngroups) < 0) {
        return mi_err_set(e, ENOMEM, "--user %s", spec);
    }
    ids->set = true;
    return 0;
}

/* A clean environment, as Docker gives: PATH, HOSTNAME, HOME, TERM (from
 * the host), container=minit, then every --env. */
static char **
container_env(const struct init_container *c, const char *host, const char *home)
{
    static char path[] = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";
    static char tag[] = "container=minit";
    char **env = NULL;
    int n = 0;
    const char *term = getenv("TERM");
    char *s;

    push(&env, &n, path);
    push(&env, &n, tag);
    if (asprintf(&s, "HOSTNAME=%s", host) >= 0) {
        push(&env, &n, s);
    }
    if (asprintf(&s, "HOME=%s", home != NULL ? home : "/root") >= 0) {
        push(&env, &n, s);
    }
    if (term != NULL && asprintf(&s, "TERM=%s", term) >= 0) {
        push(&env, &n, s);
    }
    for (int i = 0; i < c->nenv; i++) {
        size_t klen = (size_t)(strchr(c->env[i], '=') - c->env[i]) + 1;
        int j = 0;

        while (j < n && strncmp(env[j], c->env[i], klen) != 0) {
            j++;
        }
        if (j < n) {
            env[j] = c->env[i];
        } else {
            push(&env, &n, c->env[i]);
        }
    }
    return env;
}

/* The capabilities minit keeps for itself: what the payload gets, plus
 * what spawning it needs (dropping the bounding set, switching ids) and
 * signalling services of other users. */
#define KEEP_FOR_MINIT                                                                             \
    (((ns_caps)1 << 8) /* SETPCAP */ | ((ns_caps)1 << 7) /* SETUID */ |                            \
     ((ns_caps)1 << 6) /* SETGID */ | ((ns_caps)1 << 5) /* KILL */)

static void
inside(struct init_opts *o, struct init_container *c, struct sv_payload *pl, int cg2fd)
{
    char host[65];
    struct mi_err e = {0};
    struct ns_spec s = {.rootfs = c->rootfs, .hostname = c->hostname};

    init_self = getpid();
    /* No fd of the host's reaches the payload (CVE-2024-21626's class):
     * only 0-2, and the private cgroup2 mount, which is close-on-exec. */
    o->keep_fd = cg2fd;
    if (cg2fd >= 0) {
        sys_close_range(3, (unsigned)cg2fd - 1, 0);
        sys_close_range((unsigned)cg2fd + 1, ~0U, 0);
        sv_cgroup_use_mount(cg2fd);
        o->cgroup = "auto";
    } else {
        sys_close_range(3, ~0U, 0);
        o->cgroup = "none";
    }
    if (c->user != NULL && resolve_user(c->user, &pl->ids, &e) < 0) {
        mi_die(125, "%s", e.msg);
    }
    ns_container_hostname(&s, host, sizeof(host));
    environ = container_env(c, host, pl->ids.set ? pl->ids.home : NULL);
    pl->cwd = c->workdir;
    pl->privs.bounding_have = pl->privs.caps | KEEP_FOR_MINIT;
    sv_set_payload(pl);
    if (ns_self_restrict(pl->privs.caps | KEEP_FOR_MINIT, &e) < 0) {
        mi_die(125, "%s: %s", e.msg, strerror(e.errnum));
    }
}

/* The payload's privileges: Docker's default capabilities with the
 * --cap-add/--cap-drop changes, no_new_privs, the seccomp filter. */
static int
payload_privs(const struct init_container *c, struct sv_payload *pl, struct mi_err *e)
{
    memset(pl, 0, sizeof(*pl));
    pl->privs.set_caps = true;
    pl->privs.caps = ((ns_caps_default() | c->cap_add) & ~c->cap_drop) & ns_caps_all();
    pl->privs.no_new_privs = true;
    if (ns_seccomp_build(c->seccomp != NULL ? c->seccomp : "default", &pl->privs.filter, e) < 0) {
        return mi_err_wrap(e, "--seccomp");
    }
    return 0;
}

/* ---- the host's side ------------------------------------------------ */

/* [container] under the command line: a scalar given as an option wins,
 * lists add up. The values were checked when the file was loaded. */
static void
apply_config(struct init_container *c, const struct sv_config *cfg)
{
    const struct init_container cli = *c;
    struct mi_err e = {0};

    for (int i = 0; i < cfg->nct; i++) {
        const char *k = cfg->ct_key[i];

        if ((strcmp(k, "hostname") == 0 && cli.hostname != NULL) ||
            (strcmp(k, "cgroup") == 0 && cli.cgroup != NULL) ||
            (strcmp(k, "seccomp") == 0 && cli.seccomp != NULL) ||
            (strcmp(k, "workdir") == 0 && cli.workdir != NULL) ||
            (strcmp(k, "user") == 0 && cli.user != NULL) ||
            (strcmp(k, "net") == 0 && cli.net_set) ||
            (strcmp(k, "memory_max") == 0 && cli.memory_max != 0) ||
            (strcmp(k, "pids_max") == 0 && cli.pids_max != 0) ||
            (strcmp(k, "cpu_max") == 0 && cli.cpu_max[0] != '\0')) {
            continue;
        }
        if (init_container_set(c, k, cfg->ct_val[i], k, &e) < 0) {
            mi_die(2, "%s: [container] %s: %s", cfg->path, k, e.msg);
        }
    }
}

static int
monitor(struct init_opts *o, pid_t pid, int pending_sig)
{
    static struct init_opts m;
    struct ev_loop *loop = init_loop();
    int status;

    /* Only forwarding and the exit status: rewrites, remaps and -g are the
     * container's minit's to apply, once. */
    memcpy(&m, o, sizeof(m));
    m.pgroup = false;
    m.grace_ms = -1;
    memset(m.remap, 0, sizeof(m.remap));
    for (int s = 0; s < INIT_NSIG; s++) {
        m.rewrite[s] = s;
    }
    if (loop == NULL) {
        return 125;
    }
    status = init_pid1_run(loop, &m, pid, pending_sig);
    sv_container_cgroup_remove();
    return status;
}

int
init_container_run(struct init_opts *o, int pending_sig)
{
    struct init_container *c = &o->ct;
    struct sv_config *cfg = NULL;
    struct sv_payload pl;
    struct mi_err e = {0};
    struct ns_spec s = {0};
    int cg2fd = -1;
    pid_t pid;

    if (o->config != NULL) {
        cfg = init_services_load(o);
        apply_config(c, cfg);
    }
    if (payload_privs(c, &pl, &e) < 0) {
        mi_die(2, "%s", e.msg);
    }
    if (c->limit_flag[0] != '\0' && (c->cgroup == NULL || strcmp(c->cgroup, "none") == 0)) {
        mi_die(2, "%s needs --cgroup PATH (or [container] cgroup): limits are set on it",
               c->limit_flag);
    }
    if (o->check) {
        init_services_check_done(o, cfg);
    }
    s.rootfs = c->rootfs;
    s.hostname = c->hostname;
    s.net = c->net;
    s.userns = c->userns;
    s.readonly = c->readonly;
    s.mounts = c->mounts;
    s.nmounts = c->nmounts;
    s.cgroup_fd = -1;
    if (c->cgroup != NULL && strcmp(c->cgroup, "none") != 0) {
        struct sv_ct_cgroup cc = {.base = c->cgroup,
                                  .memory_max = c->memory_max,
                                  .pids_max = c->pids_max,
                                  .cpu_max = c->cpu_max[0] ? c->cpu_max : NULL};

        if (sv_container_cgroup(&cc, &e) < 0) {
            mi_die(125, "--cgroup %s: %s%s%s", c->cgroup, e.msg, e.errnum ? ": " : "",
                   e.errnum ? strerror(e.errnum) : "");
        }
        s.cgroup_fd = cc.fd;
        s.join_fds = cc.join_fds;
        s.njoin = cc.njoin;
    }
    pid = ns_container_start(&s, &cg2fd, &e);
    if (pid < 0) {
        sv_container_cgroup_remove();
        mi_die(125, "%s%s%s", e.msg, e.errnum ? ": " : "", e.errnum ? strerror(e.errnum) : "");
    }
    if (pid > 0) {
        /* s.cgroup_fd is the leaf's own: sv_container_cgroup_remove()
         * still needs it, and closes it. */
        return monitor(o, pid, pending_sig);
    }
    sv_container_cgroup_forget();
    inside(o, c, &pl, cg2fd);
    if (cfg != NULL) {
        return init_services_run(o, cfg);
    }
    return init_run_program(o, 0);
}
