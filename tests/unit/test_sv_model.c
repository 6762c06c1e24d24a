/* SPDX-License-Identifier: MIT */
/* Unit tests: the service model (supervisor/model.c): defaults, free,
 * and the checks across services of sv_config_validate(). */
#include <signal.h>
#include <stdlib.h>
#include <string.h>

#include "supervisor/supervisor.h"
#include "tests/tap.h"

static char **
strv(const char *a, const char *b, const char *c)
{
    const char *in[] = {a, b, c};
    char **v = calloc(4, sizeof(char *));
    int n = 0;

    for (int i = 0; i < 3; i++) {
        if (in[i] != NULL) {
            v[n++] = strdup(in[i]);
        }
    }
    return v;
}

/* Adds service NAME (command "true") depending on d1 and d2. */
static struct sv_conf *
add(struct sv_config *cfg, const char *name, const char *d1, const char *d2)
{
    struct sv_conf *c;

    cfg->services = realloc(cfg->services, (size_t)(cfg->nservices + 1) * sizeof(*c));
    c = &cfg->services[cfg->nservices++];
    sv_conf_defaults(c);
    c->name = strdup(name);
    c->command = strdup("true");
    c->argv = strv("true", NULL, NULL);
    c->file = strdup("/etc/minit.ini");
    c->line = cfg->nservices * 10;
    if (d1 != NULL) {
        c->depends = strv(d1, d2, NULL);
        c->ndepends = d2 != NULL ? 2 : 1;
    }
    return c;
}

static struct sv_config *
new_config(void)
{
    struct sv_config *cfg = calloc(1, sizeof(*cfg));

    cfg->log_level = -1;
    cfg->path = strdup("/etc/minit.ini");
    return cfg;
}

static void
test_defaults(void)
{
    struct sv_conf c;

    memset(&c, 0x5a, sizeof(c));
    sv_conf_defaults(&c);
    TAP_OK(c.name == NULL && c.command == NULL && c.argv == NULL && c.env == NULL,
           "defaults: no strings");
    TAP_OK(c.autostart, "defaults: autostart");
    CHECK_INT(c.autorestart, SV_RESTART_UNEXPECTED, "defaults: autorestart unexpected");
    CHECK_INT(c.startsecs_ms, 1000, "defaults: startsecs 1 s");
    CHECK_INT(c.startretries, 3, "defaults: startretries 3");
    CHECK_INT(c.exitcodes[0], 1, "defaults: exitcodes = 0");
    TAP_OK(c.exitcodes[1] == 0 && c.exitcodes[31] == 0, "defaults: no other exit code");
    CHECK_INT(c.stopsignal, SIGTERM, "defaults: stopsignal TERM");
    CHECK_INT(c.stopwait_ms, 10000, "defaults: stopwaitsecs 10 s");
    CHECK_INT(c.priority, 999, "defaults: priority 999");
    CHECK_INT(c.restart_delay_ms, 100, "defaults: restart_delay 100 ms");
    CHECK_INT(c.restart_delay_max_ms, 30000, "defaults: restart_delay_max 30 s");
    CHECK_INT(c.no_new_privs, -1, "defaults: no_new_privs unset");
    CHECK_INT(c.type, SV_TYPE_SIMPLE, "defaults: simple");
    CHECK_INT(c.ready, SV_READY_NONE, "defaults: ready none");
    CHECK_INT(c.out.kind, SV_LOG_PARENT, "defaults: stdout to minit's");
    CHECK_INT(c.err.kind, SV_LOG_PARENT, "defaults: stderr to minit's");
    CHECK_INT(c.out.maxbytes, 50 << 20, "defaults: maxbytes 50 MB (supervisord's)");
    CHECK_INT(c.out.backups, 10, "defaults: backups 10 (supervisord's)");
    TAP_OK(c.uid == (uid_t)-1 && c.gid == (gid_t)-1, "defaults: uid and gid unchanged (-1)");
    TAP_OK(!c.has_umask && !c.critical && !c.redirect_stderr && !c.stopasgroup,
           "defaults: flags off");
    TAP_OK(c.memory_max == 0 && c.pids_max == 0 && c.cpu_max == NULL, "defaults: no limits");
}

static void
expect_fail(struct sv_config *cfg, const char *want, const char *what)
{
    struct mi_err e = {0};

    CHECK_INT(sv_config_validate(cfg, &e), -1, "%s: rejected", what);
    CHECK_STR(e.msg, want, "%s: message", what);
    sv_config_free(cfg);
}

static void
test_validate(void)
{
    struct mi_err e = {0};
    struct sv_config *cfg = new_config();

    CHECK_INT(sv_config_validate(cfg, &e), 0, "empty config is valid");
    add(cfg, "db", NULL, NULL);
    add(cfg, "web", "db", NULL);
    add(cfg, "worker", "web", "db");
    add(cfg, "cron", NULL, NULL);
    CHECK_INT(sv_config_validate(cfg, &e), 0, "a dependency tree is valid: %s", e.msg);
    sv_config_free(cfg);

    cfg = new_config();
    add(cfg, "web", NULL, NULL);
    add(cfg, "db", NULL, NULL);
    add(cfg, "web", NULL, NULL);
    expect_fail(cfg, "/etc/minit.ini:30: duplicate service name 'web' (first at /etc/minit.ini:10)",
                "duplicate name");

    cfg = new_config();
    add(cfg, "web", "db", NULL);
    expect_fail(cfg, "/etc/minit.ini:10: service 'web' depends on unknown service 'db'",
                "unknown dependency");

    cfg = new_config();
    add(cfg, "a", "b", NULL);
    add(cfg, "b", "c", NULL);
    add(cfg, "c", "a", NULL);
    expect_fail(cfg, "/etc/minit.ini:10: dependency cycle: a -> b -> c -> a", "3-cycle named");

    cfg = new_config();
    add(cfg, "x", NULL, NULL);
    add(cfg, "a", "x", "b");
    add(cfg, "b", "x", "a");
    expect_fail(cfg, "/etc/minit.ini:20: dependency cycle: a -> b -> a", "2-cycle after a tree");

    cfg = new_config();
    add(cfg, "self", "self", NULL);
    expect_fail(cfg, "/etc/minit.ini:10: dependency cycle: self -> self", "self-dependency");
}

static void
test_service_checks(void)
{
    struct sv_config *cfg;
    struct sv_conf *c;

    cfg = new_config();
    c = add(cfg, "web", NULL, NULL);
    c->ready = SV_READY_FD;
    c->ready_fd = 2;
    expect_fail(cfg,
                "/etc/minit.ini:10: service 'web': ready fd must be 3 to 1023 (0-2 are stdin, "
                "stdout, stderr)",
                "ready fd 2");

    cfg = new_config();
    c = add(cfg, "web", NULL, NULL);
    c->ready = SV_READY_TCP;
    c->ready_port = 70000;
    expect_fail(cfg, "/etc/minit.ini:10: service 'web': ready port must be 1 to 65535",
                "ready port");

    cfg = new_config();
    c = add(cfg, "_web", NULL, NULL);
    expect_fail(cfg,
                "/etc/minit.ini:10: service '_web': bad name (A-Z a-z 0-9 _ . -, at most 63, "
                "starting alphanumeric)",
                "bad name");

    cfg = new_config();
    c = add(cfg, "web", NULL, NULL);
    free(c->argv[0]);
    c->argv[0] = NULL;
    expect_fail(cfg, "/etc/minit.ini:10: service 'web': no command", "no command");

    cfg = new_config();
    c = add(cfg, "web", NULL, NULL);
    c->restart_delay_ms = 60000;
    expect_fail(cfg,
                "/etc/minit.ini:10: service 'web': restart_delay is longer than "
                "restart_delay_max",
                "restart_delay > restart_delay_max");
}

int
main(void)
{
    test_defaults();
    test_validate();
    test_service_checks();
    sv_config_free(NULL);
    TAP_OK(1, "sv_config_free(NULL) is fine");
    return done_testing();
}
