/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the config loader (init/config*.c). Parses strings (and a
 * few files under a mkdtemp directory) and checks the model and the
 * messages: fd 2 is a temporary file, read back after each parse.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init/config.h"
#include "init/init.h"
#include "init/log.h"
#include "supervisor/supervisor.h"
#include "tests/tap.h"

#define PATH "/t/minit.ini"

static char logs[1 << 16];
static struct mi_err err;

/* Sends minit's log records (fd 2) to an unlinked temporary file. */
static void
log_capture(void)
{
    char path[] = "/tmp/minit-test-log-XXXXXX";
    int fd = mkstemp(path);

    unlink(path);
    dup2(fd, 2);
    close(fd);
    mi_log_level = MI_LOG_WARNING;
}

/* What was logged since the last call. */
static const char *
log_take(void)
{
    off_t end = lseek(2, 0, SEEK_CUR);
    ssize_t n = pread(2, logs, end < (off_t)sizeof(logs) ? (size_t)end : sizeof(logs) - 1, 0);

    logs[n > 0 ? n : 0] = '\0';
    if (ftruncate(2, 0) < 0 || lseek(2, 0, SEEK_SET) < 0) {
        printf("# unable to reset the log file\n");
    }
    return logs;
}

/* A TAP check that shows the summary and the log when it fails. */
#define CHECK_LOADED(cond, ...)                                                                    \
    do {                                                                                           \
        int ok_ = (cond);                                                                          \
        TAP_OK(ok_, __VA_ARGS__);                                                                  \
        if (!ok_) {                                                                                \
            show_logs();                                                                           \
        }                                                                                          \
    } while (0)

static void
show_logs(void)
{
    printf("#   error: %s\n", err.msg);
    for (const char *p = logs; *p != '\0';) {
        size_t n = strcspn(p, "\n");

        printf("#   %.*s\n", (int)n, p);
        p += n + (p[n] == '\n');
    }
}

static struct sv_config *
parse(const char *text)
{
    struct sv_config *cfg;

    mi_err_clear(&err);
    log_take();
    cfg = init_config_parse_string(text, PATH, &err);
    log_take();
    return cfg;
}

static const struct sv_conf *
svc(const struct sv_config *cfg, const char *name)
{
    for (int i = 0; cfg != NULL && i < cfg->nservices; i++) {
        if (strcmp(cfg->services[i].name, name) == 0) {
            return &cfg->services[i];
        }
    }
    return NULL;
}

static bool
has_code(const struct sv_conf *c, int code)
{
    return (c->exitcodes[code / 8] & (1u << (code % 8))) != 0;
}

/* The text must fail with the message want logged (and nerr errors). */
static void
expect_error(const char *text, const char *want, int nerr, const char *what)
{
    struct sv_config *cfg = parse(text);
    char sum[64];

    TAP_OK(cfg == NULL, "%s: rejected", what);
    CHECK_CONTAINS(logs, want, "%s: message", what);
    snprintf(sum, sizeof(sum), "%d error%s in " PATH, nerr, nerr == 1 ? "" : "s");
    CHECK_STR(err.msg, sum, "%s: summary", what);
    sv_config_free(cfg);
}

static void
test_defaults(void)
{
    struct sv_config *cfg = parse("[service:web]\ncommand = /bin/true\n");
    const struct sv_conf *c = svc(cfg, "web");
    struct sv_conf d;

    CHECK_LOADED(cfg != NULL && c != NULL, "minimal service loads");
    if (c == NULL) {
        return;
    }
    CHECK_STR(logs, "", "nothing logged");
    CHECK_INT(cfg->nservices, 1, "one service");
    CHECK_INT(cfg->log_level, -1, "log_level unset");
    TAP_OK(cfg->socket == NULL && cfg->cgroup == NULL && cfg->shutdown_timeout_ms == 0,
           "globals unset");
    CHECK_STR(cfg->path, PATH, "config path");
    CHECK_STR(c->file, PATH, "service file");
    CHECK_INT(c->line, 1, "service line is the section's");
    CHECK_STR(c->command, "/bin/true", "command as written");
    TAP_OK(c->argv[0] && strcmp(c->argv[0], "/bin/true") == 0 && c->argv[1] == NULL, "argv");
    sv_conf_defaults(&d);
    TAP_OK(c->autostart == d.autostart && c->autorestart == d.autorestart &&
                   c->startsecs_ms == d.startsecs_ms && c->startretries == d.startretries &&
                   memcmp(c->exitcodes, d.exitcodes, sizeof(d.exitcodes)) == 0 &&
                   c->stopsignal == d.stopsignal && c->stopwait_ms == d.stopwait_ms &&
                   c->priority == d.priority && c->restart_delay_ms == d.restart_delay_ms &&
                   c->restart_delay_max_ms == d.restart_delay_max_ms &&
                   c->no_new_privs == d.no_new_privs && c->out.kind == SV_LOG_PARENT &&
                   c->err.kind == SV_LOG_PARENT && c->type == SV_TYPE_SIMPLE &&
                   c->ready == SV_READY_NONE && !c->critical && c->uid == (uid_t)-1 &&
                   c->user == NULL && c->env == NULL && c->depends == NULL && c->ndepends == 0,
           "every other field is sv_conf_defaults()'s");
    sv_config_free(cfg);
}

static const char all_keys[] = "[minit]\n"
                               "log_level = debug\n"
                               "socket = /run/x.sock\n"
                               "shutdown_timeout = 20s\n"
                               "cgroup = /minit\n"
                               "[service:a]\n"
                               "command = a\n"
                               "[service:b]\n"
                               "command = b\n"
                               "[service:all]\n"
                               "command = /bin/echo \"hello world\" 'a b' c\\ d\n"
                               "directory = /tmp\n"
                               "user = root\n"
                               "group = 0\n"
                               "umask = 027\n"
                               "environment = A=\"1,2\",B= x y ,C='q'\n"
                               "autostart = no\n"
                               "autorestart = true\n"
                               "startsecs = 250ms\n"
                               "startretries = 7\n"
                               "exitcodes = 2, 255,0\n"
                               "stopsignal = SIGQUIT\n"
                               "stopwaitsecs = 2m\n"
                               "stopasgroup = yes\n"
                               "killasgroup = false\n"
                               "priority = -5\n"
                               "redirect_stderr = true\n"
                               "stdout_logfile = /var/log/all.out\n"
                               "stdout_logfile_maxbytes = 1MB\n"
                               "stdout_logfile_backups = 3\n"
                               "stderr_logfile = NONE\n"
                               "stderr_logfile_maxbytes = 0\n"
                               "stderr_logfile_backups = 0\n"
                               "type = oneshot\n"
                               "depends = a, b\n"
                               "ready = tcp:8080\n"
                               "ready_timeout = 5s\n"
                               "critical = yes\n"
                               "restart_delay = 1s\n"
                               "restart_delay_max = 1m\n"
                               "memory_max = 64M\n"
                               "pids_max = 100\n"
                               "cpu_max = 50000  100000\n"
                               "capabilities = CAP_NET_BIND_SERVICE\n"
                               "no_new_privs = yes\n"
                               "seccomp = default\n";

static void
test_all_keys(void)
{
    struct sv_config *cfg = parse(all_keys);
    const struct sv_conf *c = svc(cfg, "all");

    CHECK_LOADED(c != NULL, "every key loads");
    if (c == NULL) {
        return;
    }
    CHECK_INT(cfg->log_level, MI_LOG_DEBUG, "log_level");
    CHECK_STR(cfg->socket, "/run/x.sock", "socket");
    CHECK_INT(cfg->shutdown_timeout_ms, 20000, "shutdown_timeout");
    CHECK_STR(cfg->cgroup, "/minit", "cgroup");
    CHECK_INT(c->line, 10, "section line");
    TAP_OK(c->argv[4] == NULL && strcmp(c->argv[1], "hello world") == 0 &&
                   strcmp(c->argv[2], "a b") == 0 && strcmp(c->argv[3], "c d") == 0,
           "command split into words");
    CHECK_STR(c->directory, "/tmp", "directory");
    CHECK_STR(c->user, "root", "user");
    TAP_OK(c->uid == 0 && c->gid == 0, "user root, group 0 resolved");
    CHECK_STR(c->home, "/root", "home of root");
    TAP_OK(c->ngroups >= 1 && c->groups[0] == 0, "supplementary groups of root");
    TAP_OK(c->has_umask && c->umask == 027, "umask");
    TAP_OK(c->env && strcmp(c->env[0], "A=1,2") == 0 && strcmp(c->env[1], "B=x y") == 0 &&
                   strcmp(c->env[2], "C=q") == 0 && c->env[3] == NULL,
           "environment");
    TAP_OK(!c->autostart, "autostart");
    CHECK_INT(c->autorestart, SV_RESTART_TRUE, "autorestart");
    CHECK_INT(c->startsecs_ms, 250, "startsecs");
    CHECK_INT(c->startretries, 7, "startretries");
    TAP_OK(has_code(c, 0) && has_code(c, 2) && has_code(c, 255) && !has_code(c, 1), "exitcodes");
    CHECK_INT(c->stopsignal, SIGQUIT, "stopsignal");
    CHECK_INT(c->stopwait_ms, 120000, "stopwaitsecs");
    TAP_OK(c->stopasgroup && c->killasgroup, "stopasgroup implies killasgroup");
    CHECK_INT(c->priority, -5, "priority");
    TAP_OK(c->redirect_stderr, "redirect_stderr");
    TAP_OK(c->out.kind == SV_LOG_FILE && strcmp(c->out.path, "/var/log/all.out") == 0,
           "stdout_logfile");
    CHECK_INT(c->out.maxbytes, 1 << 20, "stdout_logfile_maxbytes");
    CHECK_INT(c->out.backups, 3, "stdout_logfile_backups");
    TAP_OK(c->err.kind == SV_LOG_NONE && c->err.path == NULL, "stderr_logfile NONE");
    TAP_OK(c->err.maxbytes == 0 && c->err.backups == 0, "stderr maxbytes and backups");
    CHECK_INT(c->type, SV_TYPE_ONESHOT, "type");
    TAP_OK(c->ndepends == 2 && strcmp(c->depends[0], "a") == 0 && strcmp(c->depends[1], "b") == 0 &&
                   c->depends[2] == NULL,
           "depends");
    TAP_OK(c->ready == SV_READY_TCP && c->ready_port == 8080, "ready tcp");
    CHECK_INT(c->ready_timeout_ms, 5000, "ready_timeout");
    TAP_OK(c->critical, "critical");
    CHECK_INT(c->restart_delay_ms, 1000, "restart_delay");
    CHECK_INT(c->restart_delay_max_ms, 60000, "restart_delay_max");
    CHECK_INT(c->memory_max, 64 << 20, "memory_max");
    CHECK_INT(c->pids_max, 100, "pids_max");
    CHECK_STR(c->cpu_max, "50000 100000", "cpu_max (normalised)");
    CHECK_STR(c->capabilities, "CAP_NET_BIND_SERVICE", "capabilities");
    CHECK_INT(c->no_new_privs, 1, "no_new_privs");
    CHECK_STR(c->seccomp, "default", "seccomp");
    sv_config_free(cfg);
}

static void
test_value_variants(void)
{
    struct sv_config *cfg = parse("[service:a]\ncommand=a\nready=fd:3\nautorestart=unexpected\n"
                                  "stdout_logfile=/dev/stdout\nstderr_logfile=AUTO\n"
                                  "pids_max=max\ncpu_max=max\nstopsignal=9\n"
                                  "[service:b]\ncommand=b\nready=notify\nautorestart=false\n"
                                  "stdout_logfile=/dev/stderr\nno_new_privs=no\n"
                                  "user=12345\n"
                                  "[service:c]\ncommand=c\nready=exec:sh -c 'exit 0'\n"
                                  "type=simple\nready=none\n");

    TAP_OK(cfg == NULL, "duplicate ready rejected");
    CHECK_CONTAINS(logs,
                   "config " PATH ":21: duplicate key 'ready' in [service:c] (first at "
                   "line 19)",
                   "duplicate key message");
    cfg = parse("[service:a]\ncommand=a\nready=fd:3\nautorestart=unexpected\n"
                "stdout_logfile=/dev/stdout\nstderr_logfile=AUTO\n"
                "pids_max=max\ncpu_max=max\nstopsignal=9\n"
                "[service:b]\ncommand=b\nready=notify\nautorestart=false\n"
                "stdout_logfile=/dev/stderr\nno_new_privs=no\nuser=12345\ngroup=nogroup\n"
                "[service:c]\ncommand=c\nready=exec:sh -c 'exit 0'\ntype=simple\n"
                "[service:d]\ncommand=d\nready=none\nuser=nobody\n");
    CHECK_LOADED(cfg != NULL, "value variants load");
    if (cfg == NULL) {
        return;
    }
    TAP_OK(svc(cfg, "a")->ready == SV_READY_FD && svc(cfg, "a")->ready_fd == 3, "ready fd:3");
    CHECK_INT(svc(cfg, "a")->autorestart, SV_RESTART_UNEXPECTED, "autorestart unexpected");
    CHECK_INT(svc(cfg, "a")->out.kind, SV_LOG_PARENT, "/dev/stdout is minit's own");
    CHECK_INT(svc(cfg, "a")->err.kind, SV_LOG_PARENT, "AUTO is minit's own");
    TAP_OK(svc(cfg, "a")->pids_max == UINT64_MAX, "pids_max max");
    CHECK_STR(svc(cfg, "a")->cpu_max, "max", "cpu_max max");
    CHECK_INT(svc(cfg, "a")->stopsignal, 9, "stopsignal by number");
    CHECK_INT(svc(cfg, "b")->ready, SV_READY_NOTIFY, "ready notify");
    CHECK_INT(svc(cfg, "b")->autorestart, SV_RESTART_FALSE, "autorestart false");
    CHECK_INT(svc(cfg, "b")->out.kind, SV_LOG_PARENT, "/dev/stderr is minit's own");
    CHECK_INT(svc(cfg, "b")->no_new_privs, 0, "no_new_privs no");
    TAP_OK(svc(cfg, "b")->uid == 12345 && svc(cfg, "b")->ngroups == 0 &&
                   strcmp(svc(cfg, "b")->home, "/") == 0,
           "numeric user not in passwd: HOME=/, no groups");
    TAP_OK(svc(cfg, "b")->gid != 0 && svc(cfg, "b")->gid != (gid_t)-1, "group by name");
    TAP_OK(svc(cfg, "c")->ready == SV_READY_EXEC &&
                   strcmp(svc(cfg, "c")->ready_argv[2], "exit 0") == 0,
           "ready exec split");
    TAP_OK(svc(cfg, "d")->uid == 65534 && svc(cfg, "d")->user != NULL, "user nobody");
    sv_config_free(cfg);
}

/* Every parser kind rejects a bad value with FILE:LINE, key and section. */
static void
test_bad_values(void)
{
    static const struct {
        const char *key;
        const char *val;
        const char *msg;
    } bad[] = {
            {"startsecs", "5x", "'5x' is not a duration (e.g. 250ms, 5s, 2m)"},
            {"autostart", "maybe", "'maybe' is not a boolean"},
            {"startretries", "-1", "'-1' is not a number"},
            {"stdout_logfile_backups", "1001", "'1001' is out of range (0 to 1000)"},
            {"memory_max", "12Q", "'12Q' is not a size"},
            {"stopsignal", "SIGFOO", "'SIGFOO' is not a signal name or number"},
            {"priority", "1.5", "'1.5' is not an integer"},
            {"umask", "0999", "'0999' is not an octal umask (e.g. 022)"},
            {"autorestart", "sometimes", "'sometimes' is not true, false or unexpected"},
            {"type", "forking", "'forking' is not simple or oneshot"},
            {"exitcodes", "0,256", "'256' is not an exit code (0 to 255)"},
            {"exitcodes", "0,,1", "'' is not an exit code (0 to 255)"},
            {"ready", "fd:2", "'fd:2': N of fd:N must be 3 to 1023 (0-2 are stdio)"},
            {"ready", "tcp:0", "'tcp:0': PORT of tcp:PORT must be 1 to 65535"},
            {"ready", "http:80", "'http:80' is not none, notify, fd:N, tcp:PORT or exec:CMD"},
            {"ready", "exec:", "exec: empty command"},
            {"stdout_logfile", "out.log", "'out.log' is not an absolute path, NONE, AUTO"},
            {"pids_max", "0", "'0' is not a number of processes (1 or more, or max)"},
            {"cpu_max", "500 100000", "'500 100000' is not QUOTA PERIOD in microseconds"},
            {"cpu_max", "max 100000 x", "'max 100000 x' is not QUOTA PERIOD"},
            {"directory", "tmp", "'tmp' is not an absolute path"},
            {"environment", "=x", "expected NAME=value at '=x'"},
            {"environment", "A=\"x", "unterminated \" quote"},
            {"environment", "A='x' y", "expected ',' after the quoted value at 'y'"},
            {"depends", "a, b!", "'b!' is not a service name"},
            {"command", "", "empty command"},
            {"command", "sh -c 'echo", "unterminated ' quote"},
            {"command", "sh -c 'a ; b'",
             "unterminated ' quote (a ';' after a space starts a comment)"},
            {"command", "echo \"a", "unterminated \" quote"},
            {"command", "echo a\\", "backslash at the end of the value"},
            {"no_new_privs", "perhaps", "'perhaps' is not a boolean"},
            {"user", "no-such-user-x", "unknown user 'no-such-user-x'"},
            {"group", "no-such-group-x", "unknown group 'no-such-group-x'"},
            {"capabilities", "", "empty value"},
            {"numprocs", "0", "'0' is out of range (1 to 1000)"},
    };
    char text[512];
    char want[512];
    const char *cmd;

    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        cmd = strcmp(bad[i].key, "command") == 0 ? "" : "command = true\n";
        snprintf(text, sizeof(text), "[service:web]\n%s%s = %s\n", cmd, bad[i].key, bad[i].val);
        snprintf(want, sizeof(want), "config " PATH ":%d: key '%s' in [service:web]: %s",
                 cmd[0] ? 3 : 2, bad[i].key, bad[i].msg);
        expect_error(text, want, 1, bad[i].key);
    }
}

static void
test_errors(void)
{
    expect_error("[service:web]\ncommand = x\nrestrat = 1\n",
                 "config " PATH ":3: unknown key 'restrat' in [service:web]\n", 1,
                 "unknown key in [service:]");
    expect_error("[minit]\nloglevel = info\n",
                 "config " PATH ":2: unknown key 'loglevel' in [minit]", 1,
                 "unknown key in [minit]");
    expect_error("[minit]\nlog_level = loud\n",
                 "config " PATH ":2: key 'log_level' in [minit]: 'loud' is not error, warning, "
                 "info or debug",
                 1, "bad log_level");
    expect_error("\n[service:web]\ndirectory = /\n",
                 "config " PATH ":2: [service:web] has no command", 1, "missing command");
    expect_error("[service:web]\ncommand=a\n[service:web]\ncommand=b\n",
                 "config " PATH ":3: duplicate section [service:web] (first at " PATH ":1)", 1,
                 "duplicate section");
    expect_error("[service:web]\ncommand=a\n[program:web]\ncommand=b\n",
                 "config " PATH ":3: duplicate service name 'web' (first at " PATH ":1)", 1,
                 "duplicate service across kinds");
    expect_error("[service:-web]\ncommand=a\n",
                 "config " PATH ":1: bad service name '-web' in [service:-web]", 1,
                 "bad section name");
    expect_error("[program:a b]\ncommand=a\n", "config " PATH ":1: bad service name 'a b'", 1,
                 "bad program name");
    expect_error("[servce:web]\ncommand=a\n", "config " PATH ":1: unknown section [servce:web]", 1,
                 "unknown section");
    expect_error("command = a\n", "config " PATH ":1: key 'command' is outside any section", 1,
                 "key outside any section");
    expect_error("[service:web]\ncommand = a\nstartsecs 5\n",
                 "config " PATH ":3: expected 'key = value' or '[section]'", 1, "line without =");
    expect_error("[service:web\ncommand=a\n", "config " PATH ":1: section header without ']'", 1,
                 "unterminated section header");
    expect_error("[service:a]\ncommand=a\ndepends=b\n",
                 "config " PATH ":1: service 'a' depends on unknown service 'b'", 1,
                 "unknown dependency");
    expect_error("[service:a]\ncommand=a\ndepends=b\n[service:b]\ncommand=b\ndepends=c\n"
                 "[service:c]\ncommand=c\ndepends=a\n",
                 "config " PATH ":1: dependency cycle: a -> b -> c -> a", 1, "3-cycle");
    expect_error("[service:web]\ncommand=a\nrestart_delay=1m\n",
                 "restart_delay is longer than restart_delay_max", 1, "delay above max");
    expect_error("[service:web]\ncommand=a\nstartsecs=x\nstopwaitsecs=y\n[bogus]\nk=v\n",
                 "config " PATH ":5: unknown section [bogus]", 3, "errors are counted");
    expect_error("[service:web]\ncommand = a %(nope)s\n",
                 "config " PATH ":2: key 'command' in [service:web]: unknown expansion "
                 "%(nope)s",
                 1, "unknown expansion");
    expect_error("[service:web]\ncommand = date +%s\n",
                 "key 'command' in [service:web]: a '%' must start %(NAME)s (write %% for a "
                 "literal %)",
                 1, "lone %");
}

static void
test_long_lines(void)
{
    char text[1024];
    char name[64];
    struct sv_config *cfg;

    memset(name, 'n', 63);
    name[63] = '\0';
    snprintf(text, sizeof(text), "[service:%s]\ncommand = x\n", name);
    cfg = parse(text);
    CHECK_LOADED(cfg != NULL && svc(cfg, name) != NULL, "63-byte service name kept whole");
    sv_config_free(cfg);

    /* "command = echo " is 15 bytes: 184 digits make a 199-byte line. */
    snprintf(text, sizeof(text), "[service:web]\ncommand = echo %0184d\n", 0);
    TAP_OK(strlen(strchr(text, '\n') + 1) == 200, "a 199-byte line and its newline");
    cfg = parse(text);
    CHECK_LOADED(cfg != NULL && strlen(svc(cfg, "web")->command) == 189, "199 bytes are fine");
    sv_config_free(cfg);
    snprintf(text, sizeof(text), "[service:web]\ncommand = echo %0185d\nbad = 1\n", 0);
    expect_error(text,
                 "config " PATH
                 ":2: line too long (max 199 bytes; continue a long value on indented lines)",
                 3, "200-byte line rejected");
    CHECK_CONTAINS(logs, "config " PATH ":3: unknown key 'bad'", "line count goes on after it");
}

static void
test_container_section(void)
{
    struct sv_config *cfg = parse("[container]\nhostname = box\nnet = none\nuserns = yes\n"
                                  "bind = /a:/b /c:/d:ro\nenv = A=1 B=2\ncap_drop = all\n"
                                  "cap_add = NET_ADMIN\nworkdir = /srv\n"
                                  "[service:x]\ncommand = true\n");

    CHECK_LOADED(cfg != NULL, "[container] loads");
    if (cfg == NULL) {
        return;
    }
    CHECK_INT(cfg->nct, 10, "lists are split into items");
    CHECK_STR(cfg->ct_key[4], "bind", "bind item");
    CHECK_STR(cfg->ct_val[4], "/c:/d:ro", "second bind");
    sv_config_free(cfg);
    expect_error("[container]\nnet = sideways\n[service:x]\ncommand=true\n",
                 "config " PATH ":2: net sideways: expected new, host or none", 1, "bad net");
    expect_error("[container]\nbind = /a\n[service:x]\ncommand=true\n",
                 "config " PATH ":2: bind /a: expected SRC:DST[:ro]", 1, "bad bind");
    expect_error("[container]\ncap_add = CAP_NOPE\n[service:x]\ncommand=true\n",
                 "unknown capability", 1, "bad capability");
    expect_error("[container]\nwhatever = 1\n[service:x]\ncommand=true\n",
                 "config " PATH ":2: unknown container option whatever", 1, "unknown key");
}

static void
test_supervisord_sections(void)
{
    struct sv_config *cfg = parse("[unix_http_server]\nfile=/tmp/s.sock\nchmod=0700\n"
                                  "[supervisord]\nnodaemon=true\nloglevel=warn\nlogfile=/dev/null\n"
                                  "pidfile=/tmp/s.pid\nminfds=1024\nuser=root\n"
                                  "environment=G=1,H=2\n"
                                  "[rpcinterface:supervisor]\nsupervisor.rpcinterface_factory = x\n"
                                  "[supervisorctl]\nserverurl=unix:///tmp/s.sock\n"
                                  "[container]\nhostname=x\n"
                                  "[eventlistener:e]\ncommand=x\n"
                                  "[program:web]\ncommand=x\nrestrat=1\nstdout_events_enabled=1\n"
                                  "Autostart=false\nenvironment=H=3\n");
    const struct sv_conf *c = svc(cfg, "web");

    CHECK_LOADED(c != NULL, "supervisord file loads");
    if (c == NULL) {
        return;
    }
    CHECK_INT(cfg->log_level, MI_LOG_WARNING, "loglevel maps onto log_level");
    CHECK_CONTAINS(logs, "config " PATH ":1: [unix_http_server] is not used by minit; ignored\n",
                   "skipped section warned");
    CHECK_CONTAINS(logs, ":12: [rpcinterface:supervisor] is not used by minit; ignored",
                   "rpcinterface warned");
    CHECK_INT(cfg->nct, 1, "[container] read");
    if (cfg->nct == 1) {
        CHECK_STR(cfg->ct_key[0], "hostname", "[container] key");
        CHECK_STR(cfg->ct_val[0], "x", "[container] value");
    }
    CHECK_CONTAINS(logs, ":18: [eventlistener:e] is not used", "eventlistener warned");
    CHECK_CONTAINS(logs, ":9: key 'minfds' in [supervisord] is not supported by minit; ignored",
                   "minfds warned");
    CHECK_CONTAINS(logs, "config " PATH ":22: unknown key 'restrat' in [program:web]; ignored",
                   "unknown key in [program:] is a warning");
    CHECK_CONTAINS(logs, ":23: key 'stdout_events_enabled' in [program:web] is not supported",
                   "unused supervisord key warned");
    TAP_OK(strstr(logs, "error") == NULL, "no error logged");
    TAP_OK(strstr(logs, "nodaemon") == NULL && strstr(logs, "pidfile") == NULL &&
                   strstr(logs, "chmod") == NULL && strstr(logs, "'user'") == NULL,
           "meaningless keys are silent, skipped sections' keys too");
    TAP_OK(!c->autostart, "supervisord keys are case-insensitive");
    TAP_OK(c->env && strcmp(c->env[0], "G=1") == 0 && strcmp(c->env[1], "H=3") == 0 &&
                   c->env[2] == NULL,
           "[supervisord] environment merged, the program's own winning");
    sv_config_free(cfg);

    cfg = parse("[supervisord]\nuser=www\n[program:a]\ncommand=x\n");
    CHECK_CONTAINS(logs, ":2: key 'user' in [supervisord] is not supported by minit",
                   "[supervisord] user other than root warned");
    sv_config_free(cfg);
}

static void
test_continuation_and_comments(void)
{
    struct sv_config *cfg = parse("; comment\n# comment\n[program:web] ; trailing\n"
                                  "command = sh -c 'echo a; echo b' ; comment\n"
                                  "environment =\n    A=\"1\",\n    B=2, ; note\n\n  C=3\r\n"
                                  "depends: db\r\n"
                                  "[program:db]\ncommand = db\n  --flag\n");
    const struct sv_conf *c = svc(cfg, "web");

    CHECK_LOADED(c != NULL, "continuations and comments load");
    if (c == NULL) {
        return;
    }
    TAP_OK(strcmp(c->argv[2], "echo a; echo b") == 0 && c->argv[3] == NULL,
           "';' without a space before it is not a comment");
    TAP_OK(c->env && strcmp(c->env[0], "A=1") == 0 && strcmp(c->env[1], "B=2") == 0 &&
                   strcmp(c->env[2], "C=3") == 0,
           "multi-line environment, comment cut, blank line kept going, CRLF");
    TAP_OK(c->ndepends == 1 && strcmp(c->depends[0], "db") == 0, "key: value works");
    CHECK_STR(svc(cfg, "db")->command, "db --flag", "continuation joined with a space");
    sv_config_free(cfg);

    /* Python's configparser (supervisord): an indented line is a
     * continuation only when deeper than its key. */
    cfg = parse("[program:web]\n  command = run\n      --flag\n  directory = /tmp ; c\n"
                "\tautostart: no\n");
    c = svc(cfg, "web");
    CHECK_LOADED(c != NULL, "indented keys load");
    if (c != NULL) {
        CHECK_STR(c->command, "run --flag", "deeper line continues the key");
        CHECK_STR(c->directory, "/tmp", "equally indented line is a key, comment cut");
        TAP_OK(!c->autostart, "less indented line is a key");
    }
    sv_config_free(cfg);
    expect_error("[service:web]\n  command = x\n  nonsense\n",
                 "config " PATH ":3: expected 'key = value' or '[section]'", 1,
                 "indented line without = is a syntax error");
    expect_error("[service:web]\n  command = x\n  command = y\n",
                 "config " PATH ":3: duplicate key 'command' in [service:web] (first at line 2)", 1,
                 "indented duplicate key");
}

static void
test_split_words(void)
{
    static const struct {
        const char *in;
        const char *out[5];
    } good[] = {
            {"a b  c", {"a", "b", "c"}},
            {"  sh -c 'echo \"x\" $HOME'", {"sh", "-c", "echo \"x\" $HOME"}},
            {"echo \"a \\\"b\\\" \\$c \\n\"", {"echo", "a \"b\" $c \\n"}},
            {"a\\ b c\\'d", {"a b", "c'd"}},
            {"x'' \"\" ''", {"x", "", ""}},
            {"pre\"mid\"'post'", {"premidpost"}},
            {"\ttab\tsep", {"tab", "sep"}},
    };
    static const char *const bad[] = {"", "   ", "'a", "\"a", "a\\", "a 'b\"'\"c"};
    struct mi_err e = {0};

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        char **v = init_cfg_split_words(good[i].in, &e);
        int ok = v != NULL;

        for (int j = 0; ok && j < 5; j++) {
            ok = good[i].out[j] == NULL ? v[j] == NULL
                                        : v[j] != NULL && strcmp(v[j], good[i].out[j]) == 0;
            if (good[i].out[j] == NULL) {
                break;
            }
        }
        TAP_OK(ok, "words of [%s]", good[i].in);
        init_cfg_strv_free(v);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mi_err_clear(&e);
        TAP_OK(init_cfg_split_words(bad[i], &e) == NULL && e.set, "[%s] rejected: %s", bad[i],
               e.msg);
    }
}

static void
test_environment(void)
{
    static const struct {
        const char *in;
        const char *out[4];
    } good[] = {
            {"A=1,B=2", {"A=1", "B=2"}},
            {"A=\"x,y\", B='p,q' ,C = z ", {"A=x,y", "B=p,q", "C=z"}},
            {"PATH=/usr/bin:/bin,EMPTY=,Q=\"\"", {"PATH=/usr/bin:/bin", "EMPTY=", "Q="}},
            {"A=1,A=2,", {"A=2"}},
            {"JAVA.OPTS=-Xmx1g -Dx=y", {"JAVA.OPTS=-Xmx1g -Dx=y"}},
            {"S=\"a \\\"q\\\" b\"", {"S=a \"q\" b"}},
    };
    static const char *const bad[] = {"A", "1A=2", "A=\"x", "A='x", "A=\"x\"y", "=1", "A B=1"};
    struct mi_err e = {0};
    char **v;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        int ok;

        v = init_cfg_environment(good[i].in, &e);
        ok = v != NULL;
        for (int j = 0; ok && j < 4; j++) {
            ok = good[i].out[j] == NULL ? v[j] == NULL
                                        : v[j] != NULL && strcmp(v[j], good[i].out[j]) == 0;
            if (good[i].out[j] == NULL) {
                break;
            }
        }
        TAP_OK(ok, "environment [%s]", good[i].in);
        init_cfg_strv_free(v);
    }
    mi_err_clear(&e);
    TAP_OK(init_cfg_environment(" ", &e) == NULL && !e.set, "empty environment is no entry");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mi_err_clear(&e);
        TAP_OK(init_cfg_environment(bad[i], &e) == NULL && e.set, "environment [%s] rejected: %s",
               bad[i], e.msg);
    }
}

static void
test_expand(void)
{
    struct cfg_vars v = {"/etc/sv", "web", "grp", "box", 3, 4};
    struct cfg_vars none = {"/etc", NULL, NULL, "box", -1, -1};
    static const struct {
        const char *in;
        const char *out;
    } good[] = {
            {"%(program_name)s-%(group_name)s", "web-grp"},
            {"%(here)s/x", "/etc/sv/x"},
            {"%(host_node_name)s", "box"},
            {"%(process_num)s|%(process_num)02d|%(process_num)3d|%(process_num)-3d|",
             "3|03|  3|3  |"},
            {"%(numprocs)d", "4"},
            {"%(program_name)5s|%(program_name)-5s|", "  web|web  |"},
            {"100%% %%(x)s", "100% %(x)s"},
            {"%(ENV_MINIT_TEST_X)s", "ex"},
            {"no expansion", "no expansion"},
    };
    static const struct {
        const char *in;
        const char *msg;
    } bad[] = {
            {"%(ENV_MINIT_TEST_UNSET)s",
             "environment variable MINIT_TEST_UNSET is not set (in %(ENV_MINIT_TEST_UNSET)s)"},
            {"%(nope)s", "unknown expansion %(nope)s"},
            {"%(program_name)d", "%(program_name)d needs a number"},
            {"%(program_name)x", "bad format after %(program_name)"},
            {"%(program_name", "unterminated %("},
            {"50%", "a '%' must start %(NAME)s"},
            {"%d", "a '%' must start %(NAME)s"},
    };
    struct mi_err e = {0};
    char *s;

    setenv("MINIT_TEST_X", "ex", 1);
    unsetenv("MINIT_TEST_UNSET");
    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        s = init_cfg_expand(&v, good[i].in, &e);
        CHECK_STR(s, good[i].out, "expand [%s]", good[i].in);
        free(s);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mi_err_clear(&e);
        s = init_cfg_expand(&v, bad[i].in, &e);
        TAP_OK(s == NULL, "expand [%s] rejected", bad[i].in);
        CHECK_CONTAINS(e.msg, bad[i].msg, "expand [%s] message", bad[i].in);
        free(s);
    }
    mi_err_clear(&e);
    TAP_OK(init_cfg_expand(&none, "%(program_name)s", &e) == NULL, "no program_name in [minit]");
    CHECK_STR(e.msg, "%(program_name)s is not available in this section", "message");
    TAP_OK(init_cfg_expand(&none, "%(process_num)d", &e) == NULL, "no process_num there");
}

static void
test_expansions_in_config(void)
{
    struct sv_config *cfg;
    const struct sv_conf *c;

    setenv("MINIT_TEST_PORT", "8081", 1);
    cfg = parse("[group:web]\nprograms = db,app\n[program:app]\n"
                "command = serve --port %(ENV_MINIT_TEST_PORT)s --name %(program_name)s "
                "--group %(group_name)s --conf %(here)s/x --host %(host_node_name)s\n"
                "[program:other]\ncommand = x %(group_name)s\n");
    c = svc(cfg, "app");
    CHECK_LOADED(c != NULL, "expansions load");
    if (c == NULL) {
        return;
    }
    CHECK_STR(c->argv[2], "8081", "%%(ENV_X)s");
    CHECK_STR(c->argv[4], "app", "%%(program_name)s");
    CHECK_STR(c->argv[6], "web", "%%(group_name)s from a [group:] (declared before)");
    CHECK_STR(c->argv[8], "/t/x", "%%(here)s");
    TAP_OK(c->argv[10] != NULL && c->argv[10][0] != '\0', "%%(host_node_name)s");
    CHECK_STR(svc(cfg, "other")->argv[1], "other", "%%(group_name)s defaults to the program");
    CHECK_CONTAINS(logs, ":1: [group:web] is not supported", "[group:] warned once");
    sv_config_free(cfg);

    unsetenv("MINIT_TEST_UNSET");
    expect_error("[program:a]\ncommand = x %(ENV_MINIT_TEST_UNSET)s\n",
                 "config " PATH ":2: key 'command' in [program:a]: environment variable "
                 "MINIT_TEST_UNSET is not set",
                 1, "unset ENV_ variable");
}

static void
test_numprocs(void)
{
    struct sv_config *cfg = parse("[program:worker]\n"
                                  "process_name = %(program_name)s_%(process_num)02d\n"
                                  "numprocs = 3\nnumprocs_start = 8\n"
                                  "command = work --id %(process_num)d --of %(numprocs)d\n"
                                  "restrat = 1\n"
                                  "[program:single]\nnumprocs=1\ncommand=x\n");

    CHECK_LOADED(cfg != NULL && cfg->nservices == 4, "numprocs = 3 makes 3 services");
    if (cfg == NULL || cfg->nservices != 4) {
        sv_config_free(cfg);
        return;
    }
    CHECK_STR(cfg->services[0].name, "worker_08", "first name");
    CHECK_STR(cfg->services[2].name, "worker_10", "last name");
    CHECK_STR(cfg->services[1].argv[2], "9", "process_num in command");
    CHECK_STR(cfg->services[1].argv[4], "3", "numprocs in command");
    CHECK_INT(cfg->services[2].line, 1, "each instance points at the section");
    CHECK_STR(cfg->services[3].name, "single", "numprocs = 1 keeps the program name");
    {
        const char *first = strstr(logs, "restrat");
        TAP_OK(first != NULL && strstr(first + 1, "restrat") == NULL,
               "a warning is given once, not per instance");
    }
    sv_config_free(cfg);

    expect_error("[program:w]\nnumprocs = 2\ncommand = x\n",
                 "config " PATH ":2: [program:w]: numprocs > 1 needs process_name with "
                 "%(process_num)s in it",
                 1, "numprocs without process_num");
    expect_error("[program:w]\nnumprocs = 2\nprocess_name = w%(process_num)s\ncommand = x\n"
                 "startsecs = bad\n",
                 "config " PATH ":5: key 'startsecs' in [program:w]", 1,
                 "an error is reported once, not per instance");
    expect_error("[program:w]\nprocess_name = w/%(process_num)s\ncommand = x\n",
                 "config " PATH ":2: key 'process_name' in [program:w]: 'w/0' is not a service "
                 "name",
                 1, "process_name must give a valid name");
}

static char tmpdir[200];

static void
write_file(const char *rel, const char *text)
{
    char path[512];
    int fd;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (fd < 0 || write(fd, text, strlen(text)) != (ssize_t)strlen(text)) {
        printf("# unable to write %s\n", path);
    }
    close(fd);
}

static struct sv_config *
load(const char *rel)
{
    char path[512];
    struct sv_config *cfg;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, rel);
    mi_err_clear(&err);
    log_take();
    cfg = init_config_load(path, &err);
    log_take();
    return cfg;
}

static void
test_includes(void)
{
    const char *base = getenv("TMPDIR");
    struct sv_config *cfg;
    char want[2048];

    snprintf(tmpdir, sizeof(tmpdir), "%s/minit-test-XXXXXX", base != NULL ? base : "/tmp");
    if (mkdtemp(tmpdir) == NULL) {
        TAP_OK(0, "mkdtemp");
        return;
    }
    snprintf(want, sizeof(want), "%s/conf.d", tmpdir);
    mkdir(want, 0755);
    write_file("main.ini", "[supervisord]\nnodaemon=true\n[include]\n"
                           "files = conf.d/*.conf   %(here)s/extra.ini\n"
                           "[program:main]\ncommand=main\n");
    write_file("conf.d/b.conf", "[program:b]\ncommand=b %(here)s\n");
    write_file("conf.d/a.conf", "[program:a]\ncommand=a\n[include]\nfiles=../nested/*.ini\n");
    snprintf(want, sizeof(want), "%s/nested", tmpdir);
    mkdir(want, 0755);
    write_file("nested/n.ini", "[service:n]\ncommand=n\n");
    write_file("extra.ini", "[service:extra]\ncommand=extra\n");
    cfg = load("main.ini");
    CHECK_LOADED(cfg != NULL && cfg->nservices == 5, "includes load");
    if (cfg != NULL && cfg->nservices == 5) {
        CHECK_STR(cfg->services[0].name, "main", "the including file's services first");
        CHECK_STR(cfg->services[1].name, "a", "then the glob, sorted");
        CHECK_STR(cfg->services[2].name, "n", "a nested include after its includer");
        CHECK_STR(cfg->services[3].name, "b", "then the rest of the glob");
        CHECK_STR(cfg->services[4].name, "extra", "then the next pattern");
        snprintf(want, sizeof(want), "%s/conf.d", tmpdir);
        CHECK_STR(cfg->services[3].argv[1], want, "%%(here)s is the included file's dir");
        CHECK_CONTAINS(cfg->services[3].file, "/conf.d/b.conf", "service file is the include");
    }
    sv_config_free(cfg);

    write_file("loop1.ini", "[include]\nfiles = loop2.ini\n[service:x]\ncommand=x\n");
    write_file("loop2.ini", "[service:y]\ncommand=y\n[include]\nfiles = loop1.ini\n");
    cfg = load("loop1.ini");
    TAP_OK(cfg == NULL, "include loop rejected");
    snprintf(want, sizeof(want),
             "%s/loop2.ini:4: include loop: %s/loop1.ini -> %s/loop2.ini -> "
             "%s/loop1.ini",
             tmpdir, tmpdir, tmpdir, tmpdir);
    CHECK_CONTAINS(logs, want, "loop message names the chain");

    write_file("self.ini", "[include]\nfiles = *.ini\n[service:s]\ncommand=s\n");
    cfg = load("self.ini");
    TAP_OK(cfg == NULL, "including oneself by glob is a loop");
    CHECK_CONTAINS(logs, "self.ini -> ", "self loop named");

    write_file("twice.ini", "[include]\nfiles = extra.ini extra.ini nothing-*.ini\n");
    cfg = load("twice.ini");
    CHECK_LOADED(cfg != NULL && cfg->nservices == 1, "a file included twice is read once");
    CHECK_CONTAINS(logs, "extra.ini is already included; skipped", "warned");
    CHECK_CONTAINS(logs, ":2: no file matches", "no match warned");
    sv_config_free(cfg);

    write_file("nofiles.ini", "[include]\nfile = x\n");
    cfg = load("nofiles.ini");
    TAP_OK(cfg == NULL, "[include] without files rejected");
    CHECK_CONTAINS(logs, "nofiles.ini:1: [include] has no files key", "message");
    CHECK_CONTAINS(logs, "nofiles.ini:2: unknown key 'file' in [include]; ignored", "warning");

    write_file("bad.ini", "[include]\nfiles = conf.d\n");
    cfg = load("bad.ini");
    TAP_OK(cfg == NULL, "including a directory rejected");
    CHECK_CONTAINS(logs, "bad.ini:2: unable to read", "message");
}

static void
test_files(void)
{
    struct sv_config *cfg;
    char path[512];
    char *big;
    int fd;

    cfg = init_config_load("/nonexistent/minit.ini", &err);
    TAP_OK(cfg == NULL && err.errnum == ENOENT, "missing file: ENOENT");
    CHECK_STR(err.msg, "config: unable to open /nonexistent/minit.ini", "missing file message");
    cfg = init_config_load("/tmp", &err);
    TAP_OK(cfg == NULL, "a directory is refused: %s", err.msg);

    snprintf(path, sizeof(path), "%s/big.ini", tmpdir);
    big = malloc((1 << 20) + 2);
    memset(big, '\n', (1 << 20) + 1);
    fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
    if (write(fd, big, (1 << 20) + 1) < 0) {
        printf("# unable to write %s\n", path);
    }
    close(fd);
    cfg = init_config_load(path, &err);
    TAP_OK(cfg == NULL, "a file over 1 MiB is refused");
    CHECK_CONTAINS(err.msg, "larger than 1 MiB", "size message");
    if (truncate(path, 1 << 20) == 0) {
        cfg = init_config_load(path, &err);
        TAP_OK(cfg != NULL && cfg->nservices == 0, "exactly 1 MiB is fine");
        sv_config_free(cfg);
    }
    free(big);
}

static void
test_examples(void)
{
    static const char *const files[] = {"examples/services.ini", "examples/supervisord.conf"};
    struct sv_config *cfg;

    setenv("HOME", "/root", 1);
    for (size_t i = 0; i < sizeof(files) / sizeof(files[0]); i++) {
        mi_err_clear(&err);
        log_take();
        cfg = init_config_load(files[i], &err);
        log_take();
        CHECK_LOADED(cfg != NULL && cfg->nservices >= 3, "%s loads", files[i]);
        TAP_OK(strstr(logs, "error") == NULL, "%s: no error", files[i]);
        sv_config_free(cfg);
    }
    cfg = init_config_load("examples/services.ini", &err);
    if (cfg != NULL) {
        const struct sv_conf *web = svc(cfg, "web");

        TAP_OK(web && web->ready == SV_READY_TCP && web->ready_port == 8080, "web is ready on tcp");
        TAP_OK(svc(cfg, "migrate") && svc(cfg, "migrate")->type == SV_TYPE_ONESHOT,
               "migrate is a oneshot");
        TAP_OK(svc(cfg, "worker") && !svc(cfg, "worker")->critical, "worker is not critical");
    }
    sv_config_free(cfg);
}

static int
remove_cb(const char *path, const struct stat *st, int flag, struct FTW *ftw)
{
    (void)st;
    (void)flag;
    (void)ftw;
    return remove(path);
}

int
main(void)
{
    log_capture();
    test_defaults();
    test_all_keys();
    test_value_variants();
    test_bad_values();
    test_errors();
    test_long_lines();
    test_supervisord_sections();
    test_container_section();
    test_continuation_and_comments();
    test_split_words();
    test_environment();
    test_expand();
    test_expansions_in_config();
    test_numprocs();
    test_includes();
    test_files();
    test_examples();
    if (tmpdir[0] != '\0') {
        nftw(tmpdir, remove_cb, 16, FTW_DEPTH | FTW_PHYS);
    }
    return done_testing();
}
