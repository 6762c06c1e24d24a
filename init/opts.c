/* SPDX-License-Identifier: MIT */
/*
 * Command line and environment. Options stop at "--" or at the first
 * argument that is not an option (getopt's "+"), so `minit sh -c 'exit 3'`
 * runs sh: tini and catatonit permute and fail on that (tini #132). Short
 * flags are tini's, so minit linked as tini or docker-init is a drop-in.
 */
#include "init/init.h"

#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "init/log.h"
#include "init/parse.h"
#include "init/sys.h"

enum {
    OPT_NEW_CONTAINER = 1000,
    OPT_CT
};

#ifndef MINIT_VERSION
#    define MINIT_VERSION "0.0.0"
#endif

static const char usage_text[] =
        "Usage:\n"
        "  %1$s [OPTIONS] [--] PROGRAM [ARG...]      run PROGRAM as PID 1 (job 1)\n"
        "  %1$s [OPTIONS] -c FILE                     supervise the services in FILE (job 2)\n"
        "  %1$s --new-container ROOTFS [CONTAINER OPTIONS] [OPTIONS] (-c FILE | [--] PROGRAM...)\n"
        "                                             build a container, run job 1 or 2 in it\n"
        "  %1$s ctl [-S SOCKET] COMMAND [ARGS...]    control a running minit (see ctl --help)\n"
        "  %1$s --version | --help\n"
        "\n"
        "minit is a small init for containers: it reaps every zombie, forwards every\n"
        "signal, and exits with the program's status (128+N when killed by signal N).\n"
        "Options end at -- or at the first argument that is not an option.\n"
        "\n"
        "Options:\n"
        "  -s, --subreaper        register as child subreaper when not PID 1\n"
        "                         (also MINIT_SUBREAPER=1 or TINI_SUBREAPER)\n"
        "  -g, --pgroup           forward signals to the program's process group\n"
        "                         (also TINI_KILL_PROCESS_GROUP)\n"
        "  -e, --remap-exit CODE  exit 0 when the program exits with CODE (repeatable)\n"
        "  -p, --pdeathsig SIG    get SIG (and forward it) when minit's parent dies\n"
        "  -r, --rewrite FROM:TO  forward signal FROM as TO; TO 0 drops it (repeatable)\n"
        "  -t, --grace DURATION   after the program exits, SIGTERM what is left, wait\n"
        "                         DURATION (250ms, 5s, 2m), then SIGKILL and reap\n"
        "  -v, --verbose          more diagnostics on stderr (repeatable; also\n"
        "                         MINIT_LOG_LEVEL=error|warning|info|debug, TINI_VERBOSITY)\n"
        "  -w, --warn-reap        warn for each orphan reaped\n"
        "  -c, --config FILE      supervise the services in FILE\n"
        "  -n, --check            with -c: validate FILE, print problems, start nothing\n"
        "  -S, --socket PATH      control socket path ('none' disables)\n"
        "      --cgroup PATH      job 1: minit in PATH/init, the program in PATH/payload\n"
        "                         (relative to the cgroup2 mount); job 2: as [minit] cgroup\n"
        "\n"
        "Container options (job 3; also the [container] section of FILE):\n"
        "      --new-container ROOTFS  build a container with ROOTFS as its root\n"
        "      --hostname NAME    hostname (default: ROOTFS's directory name)\n"
        "      --net new|host|none  own network namespace with loopback up (new, the\n"
        "                         default), the host's, or own with nothing up\n"
        "      --userns           own user namespace, the caller mapped to root (rootless)\n"
        "      --bind SRC:DST[:ro]  bind-mount host path SRC on DST (--ro-bind: read-only)\n"
        "      --tmpfs DST        a tmpfs on DST\n"
        "      --readonly         make the container's root read-only\n"
        "      --cap-add CAP, --cap-drop CAP|all  change Docker's default capabilities\n"
        "      --seccomp default|unconfined|FILE  the payload's seccomp filter\n"
        "      --env K=V          set K in the payload's clean environment (repeatable)\n"
        "      --workdir DIR      the payload's working directory\n"
        "      --user UID[:GID]   run the payload as UID (or a name from ROOTFS/etc/passwd)\n"
        "      --cgroup PATH      the container's cgroup, relative to the cgroup2 mount\n"
        "      --memory-max SIZE, --pids-max N, --cpu-max 'QUOTA [PERIOD]'  limits of the\n"
        "                         whole container, in its --cgroup (e.g. 512M, 100, 50000)\n"
        "\n"
        "  -h, --help             this text\n"
        "  -V, --version          print the version\n"
        "\n"
        "Exit status: the program's status; 128+N if it was killed by signal N;\n"
        "2 usage or config error; 125 container could not be built; 126 program not\n"
        "executable; 127 program not found.\n";

void
init_opts_usage(int fd, bool as_tini)
{
    char buf[sizeof(usage_text) + 64];
    int n = snprintf(buf, sizeof(buf), usage_text, as_tini ? "tini" : "minit");

    if (n > 0) {
        sys_write_all(fd, buf, (size_t)n < sizeof(buf) ? (size_t)n : sizeof(buf) - 1);
    }
}

static void
print_version(bool as_tini)
{
    char buf[128];
    int n;

    /* Docker's `docker info` parses "tini version X" from docker-init. */
    if (as_tini) {
        n = snprintf(buf, sizeof(buf), "tini version %s_minit\n", MINIT_VERSION);
    } else {
        n = snprintf(buf, sizeof(buf), "minit version %s\n", MINIT_VERSION);
    }
    sys_write_all(STDOUT_FILENO, buf, (size_t)n);
}

extern char **environ;

/* The variables minit reads, found in one pass over the environment (six
 * getenv calls cost more than the rest of option parsing). */
static struct {
    const char *minit_subreaper;
    const char *tini_subreaper;
    const char *tini_kill_process_group;
    const char *minit_log_level;
    const char *tini_verbosity;
} env;

static void
env_scan(void)
{
    static const struct {
        const char *name;
        size_t len;
        const char **slot;
    } want[] = {
            {"MINIT_SUBREAPER=", 16, &env.minit_subreaper},
            {"TINI_SUBREAPER=", 15, &env.tini_subreaper},
            {"TINI_KILL_PROCESS_GROUP=", 24, &env.tini_kill_process_group},
            {"MINIT_LOG_LEVEL=", 16, &env.minit_log_level},
            {"TINI_VERBOSITY=", 15, &env.tini_verbosity},
    };

    memset(&env, 0, sizeof(env));
    for (char **v = environ; v != NULL && *v != NULL; v++) {
        if ((*v)[0] != 'M' && (*v)[0] != 'T') {
            continue;
        }
        for (size_t i = 0; i < sizeof(want) / sizeof(want[0]); i++) {
            if (strncmp(*v, want[i].name, want[i].len) == 0) {
                *want[i].slot = *v + want[i].len;
            }
        }
    }
}

static bool
env_true(const char *v)
{
    bool b;
    struct mi_err e = {0};

    if (v == NULL || *v == '\0') {
        return false;
    }
    return mi_parse_bool(v, &b, &e) < 0 ? true : b;
}

static bool
invoked_as_tini(const char *argv0)
{
    const char *base = strrchr(argv0, '/');

    base = base ? base + 1 : argv0;
    return strcmp(base, "tini") == 0 || strcmp(base, "docker-init") == 0 ||
           strcmp(base, "tini-static") == 0;
}

static int
parse_rewrite(struct init_opts *o, const char *arg, struct mi_err *e)
{
    char from[32];
    const char *colon = strchr(arg, ':');
    int f;
    int t;

    if (colon == NULL || (size_t)(colon - arg) >= sizeof(from) || colon == arg) {
        return mi_err_set(e, 0, "-r: '%s' is not FROM:TO (e.g. TERM:QUIT, 15:3, WINCH:0)", arg);
    }
    memcpy(from, arg, (size_t)(colon - arg));
    from[colon - arg] = '\0';
    if (mi_parse_signal(from, false, &f, e) < 0 || mi_parse_signal(colon + 1, true, &t, e) < 0) {
        return mi_err_wrap(e, "-r %s", arg);
    }
    if (f == SIGKILL || f == SIGSTOP || f == SIGCHLD) {
        return mi_err_set(e, 0, "-r %s: SIG%s cannot be rewritten", arg,
                          f == SIGKILL   ? "KILL"
                          : f == SIGSTOP ? "STOP"
                                         : "CHLD");
    }
    o->rewrite[f] = t;
    return 0;
}

static int
parse_one(struct init_opts *o, int c, const char *arg, struct mi_err *e)
{
    uint64_t v;

    switch (c) {
    case 's':
        o->subreaper = true;
        return 0;
    case 'g':
        o->pgroup = true;
        return 0;
    case 'w':
        o->warn_reap = true;
        return 0;
    case 'v':
        o->verbose++;
        return 0;
    case 'n':
        o->check = true;
        return 0;
    case 'c':
        o->config = arg;
        return 0;
    case 'S':
        o->socket = arg;
        return 0;
    case 'C':
        o->cgroup = arg;
        return 0;
    case 'e':
        if (mi_parse_uint(arg, 0, 255, &v, e) < 0) {
            return mi_err_wrap(e, "-e");
        }
        o->remap[v / 8] |= (uint8_t)(1u << (v % 8));
        return 0;
    case 'p':
        if (mi_parse_signal(arg, false, &o->pdeathsig, e) < 0) {
            return mi_err_wrap(e, "-p");
        }
        return 0;
    case 'r':
        return parse_rewrite(o, arg, e);
    case 't':
        if (mi_parse_duration(arg, &v, e) < 0) {
            return mi_err_wrap(e, "-t");
        }
        o->grace_ms = (int64_t)v;
        return 0;
    default:
        return mi_err_set(e, 0, "internal error: option %d", c);
    }
}

static void
opts_defaults(struct init_opts *o, const char *argv0)
{
    memset(o, 0, sizeof(*o));
    o->keep_fd = -1;
    o->grace_ms = -1;
    for (int s = 0; s < INIT_NSIG; s++) {
        o->rewrite[s] = s;
    }
    o->as_tini = invoked_as_tini(argv0);
    env_scan();
    o->subreaper = env_true(env.minit_subreaper) || env.tini_subreaper != NULL;
    o->pgroup = env.tini_kill_process_group != NULL;
}

int
init_opts_parse(struct init_opts *o, int argc, char **argv, struct mi_err *e)
{
    static const struct option longopts[] = {
            {"subreaper", no_argument, NULL, 's'},
            {"pgroup", no_argument, NULL, 'g'},
            {"remap-exit", required_argument, NULL, 'e'},
            {"pdeathsig", required_argument, NULL, 'p'},
            {"rewrite", required_argument, NULL, 'r'},
            {"grace", required_argument, NULL, 't'},
            {"verbose", no_argument, NULL, 'v'},
            {"warn-reap", no_argument, NULL, 'w'},
            {"config", required_argument, NULL, 'c'},
            {"check", no_argument, NULL, 'n'},
            {"socket", required_argument, NULL, 'S'},
            {"help", no_argument, NULL, 'h'},
            {"version", no_argument, NULL, 'V'},
            {"cgroup", required_argument, NULL, 'C'},
            {"new-container", required_argument, NULL, OPT_NEW_CONTAINER},
            {"hostname", required_argument, NULL, OPT_CT},
            {"net", required_argument, NULL, OPT_CT},
            {"userns", no_argument, NULL, OPT_CT},
            {"bind", required_argument, NULL, OPT_CT},
            {"ro-bind", required_argument, NULL, OPT_CT},
            {"tmpfs", required_argument, NULL, OPT_CT},
            {"readonly", no_argument, NULL, OPT_CT},
            {"cap-add", required_argument, NULL, OPT_CT},
            {"cap-drop", required_argument, NULL, OPT_CT},
            {"seccomp", required_argument, NULL, OPT_CT},
            {"env", required_argument, NULL, OPT_CT},
            {"workdir", required_argument, NULL, OPT_CT},
            {"user", required_argument, NULL, OPT_CT},
            {"memory-max", required_argument, NULL, OPT_CT},
            {"pids-max", required_argument, NULL, OPT_CT},
            {"cpu-max", required_argument, NULL, OPT_CT},
            {NULL, 0, NULL, 0},
    };
    const char *ct_flag = NULL;
    int li = -1;
    int c;

    opts_defaults(o, argc > 0 ? argv[0] : "minit");
    optind = 0; /* full re-initialisation, so tests may parse again */
    opterr = 0;
    while ((c = getopt_long(argc, argv, "+:sge:p:r:t:vwc:nS:hV", longopts, &li)) != -1) {
        switch (c) {
        case OPT_NEW_CONTAINER:
            o->ct.rootfs = optarg;
            break;
        case OPT_CT: {
            char flag[32];

            snprintf(flag, sizeof(flag), "--%s", longopts[li].name);
            ct_flag = longopts[li].name;
            if (init_container_set(&o->ct, longopts[li].name, optarg, flag, e) < 0) {
                return -1;
            }
            break;
        }
        case 'h':
            init_opts_usage(STDOUT_FILENO, o->as_tini);
            return INIT_OPTS_HELP;
        case 'V':
            print_version(o->as_tini);
            return INIT_OPTS_VERSION;
        case ':':
            return mi_err_set(e, 0, "option '%s' needs an argument", argv[optind - 1]);
        case '?':
            if (optopt != 0) {
                return mi_err_set(e, 0, "unknown option '-%c' (see --help)", optopt);
            }
            return mi_err_set(e, 0, "unknown option '%s' (see --help)", argv[optind - 1]);
        default:
            if (parse_one(o, c, optarg, e) < 0) {
                return -1;
            }
        }
    }
    o->argv = argv + optind;
    if (ct_flag != NULL && o->ct.rootfs == NULL) {
        return mi_err_set(e, 0, "--%s needs --new-container ROOTFS", ct_flag);
    }
    if (o->ct.rootfs != NULL && o->cgroup != NULL) {
        o->ct.cgroup = o->cgroup;
    }
    if (o->config != NULL && o->argv[0] != NULL) {
        return mi_err_set(e, 0, "-c FILE and a PROGRAM cannot be given together");
    }
    if (o->config == NULL && o->argv[0] == NULL) {
        return mi_err_set(e, 0, "no program given (see --help)");
    }
    if (o->check && o->config == NULL) {
        return mi_err_set(e, 0, "-n needs -c FILE");
    }
    return INIT_OPTS_RUN;
}

int
init_opts_log_level(const struct init_opts *o)
{
    static const char *const names[] = {"error", "warning", "info", "debug"};
    const char *v = env.minit_log_level;
    int level = MI_LOG_WARNING;
    uint64_t n;
    struct mi_err e = {0};

    if (v == NULL) {
        v = env.tini_verbosity;
    }
    if (v != NULL && mi_parse_uint(v, 0, 10, &n, &e) == 0) {
        level = (int)n;
    } else if (v != NULL) {
        for (int i = 0; i < 4; i++) {
            if (strcasecmp(v, names[i]) == 0) {
                level = i;
            }
        }
    }
    level += o->verbose;
    return level > MI_LOG_DEBUG ? MI_LOG_DEBUG : level;
}
