/* SPDX-License-Identifier: MIT */
/*
 * A fake of the supervisor's control entry points (sv_ctl_* and
 * sv_is_ready from supervisor/supervisor.h) over an in-memory table, for
 * the control socket's tests. Every action is appended to a call log that
 * the test reads back ("start web\n", "signal 15 web\n"). Test-only: no
 * process is started or signalled.
 */
#include "supervisor/supervisor.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "init/err.h"

/* The test's handle on the fake; tests declare the same prototypes. */
void fake_sv_reset(void);
int fake_sv_add(const char *name, const char *state, pid_t pid, const char *command);
void fake_sv_set_ready(const char *name, bool ready, bool failed);
void fake_sv_set_broken(const char *name, bool broken);
void fake_sv_set_stats(const char *name, bool want_up, uint64_t uptime_ms, unsigned restarts,
                       int last_status);
const char *fake_sv_calls(void);
unsigned fake_sv_ready_calls(void);
unsigned fake_sv_status_calls(void);

#define FAKE_SV_MAX 5000

struct fake_svc {
    char name[64];
    char state[16];
    char command[320];
    bool want_up;
    pid_t pid;
    uint64_t uptime_ms;
    unsigned restarts;
    int last_status;
    bool ready;
    bool failed;
    bool broken; /* every action fails */
};

static struct fake_svc fake_tab[FAKE_SV_MAX];
static int fake_n;
static char fake_log[16384];
static size_t fake_loglen;
static unsigned fake_ready_n;
static unsigned fake_status_n;

static struct fake_svc *
fake_find(const char *name)
{
    for (int i = 0; i < fake_n; i++) {
        if (strcmp(fake_tab[i].name, name) == 0) {
            return &fake_tab[i];
        }
    }
    return NULL;
}

static void
fake_record(const char *what, int sig, const char *name)
{
    int n;

    if (sig != 0) {
        n = snprintf(fake_log + fake_loglen, sizeof(fake_log) - fake_loglen, "%s %d %s\n", what,
                     sig, name);
    } else {
        n = snprintf(fake_log + fake_loglen, sizeof(fake_log) - fake_loglen, "%s %s\n", what, name);
    }
    if (n > 0 && (size_t)n < sizeof(fake_log) - fake_loglen) {
        fake_loglen += (size_t)n;
    }
}

void
fake_sv_reset(void)
{
    fake_n = 0;
    fake_loglen = 0;
    fake_log[0] = '\0';
    fake_ready_n = 0;
    fake_status_n = 0;
}

int
fake_sv_add(const char *name, const char *state, pid_t pid, const char *command)
{
    struct fake_svc *s;

    if (fake_n == FAKE_SV_MAX) {
        return -1;
    }
    s = &fake_tab[fake_n];
    memset(s, 0, sizeof(*s));
    snprintf(s->name, sizeof(s->name), "%s", name);
    snprintf(s->state, sizeof(s->state), "%s", state);
    snprintf(s->command, sizeof(s->command), "%s", command);
    s->want_up = true;
    s->pid = pid;
    s->last_status = -1;
    s->ready = strcmp(state, "running") == 0;
    return fake_n++;
}

void
fake_sv_set_ready(const char *name, bool ready, bool failed)
{
    struct fake_svc *s = fake_find(name);

    if (s != NULL) {
        s->ready = ready;
        s->failed = failed;
    }
}

void
fake_sv_set_broken(const char *name, bool broken)
{
    struct fake_svc *s = fake_find(name);

    if (s != NULL) {
        s->broken = broken;
    }
}

void
fake_sv_set_stats(const char *name, bool want_up, uint64_t uptime_ms, unsigned restarts,
                  int last_status)
{
    struct fake_svc *s = fake_find(name);

    if (s != NULL) {
        s->want_up = want_up;
        s->uptime_ms = uptime_ms;
        s->restarts = restarts;
        s->last_status = last_status;
    }
}

const char *
fake_sv_calls(void)
{
    return fake_log;
}

unsigned
fake_sv_ready_calls(void)
{
    return fake_ready_n;
}

unsigned
fake_sv_status_calls(void)
{
    return fake_status_n;
}

/* ---- the fakes of supervisor.h ------------------------------------- */

static int
fake_act(const char *what, int sig, const char *name, struct mi_err *e)
{
    struct fake_svc *s = fake_find(name);

    if (s == NULL) {
        return mi_err_set(e, 0, "no such service '%s'", name);
    }
    if (s->broken) {
        return mi_err_set(e, EPERM, "unable to %s service '%s'", what, name);
    }
    fake_record(what, sig, name);
    return 0;
}

int
sv_ctl_start(const char *name, struct mi_err *e)
{
    return fake_act("start", 0, name, e);
}

int
sv_ctl_stop(const char *name, struct mi_err *e)
{
    return fake_act("stop", 0, name, e);
}

int
sv_ctl_restart(const char *name, struct mi_err *e)
{
    return fake_act("restart", 0, name, e);
}

int
sv_ctl_signal(const char *name, int sig, struct mi_err *e)
{
    return fake_act("signal", sig, name, e);
}

static void
fake_fill(const struct fake_svc *s, struct sv_status *st)
{
    st->name = s->name;
    st->state = s->state;
    st->want_up = s->want_up;
    st->pid = s->pid;
    st->uptime_ms = s->uptime_ms;
    st->restarts = s->restarts;
    st->last_status = s->last_status;
    st->command = s->command;
}

int
sv_ctl_status(const char *name, sv_status_fn *fn, void *data, struct mi_err *e)
{
    struct sv_status st = {0};

    fake_status_n++;
    if (name != NULL) {
        struct fake_svc *s = fake_find(name);

        if (s == NULL) {
            return mi_err_set(e, 0, "no such service '%s'", name);
        }
        fake_fill(s, &st);
        fn(data, &st);
        return 0;
    }
    for (int i = 0; i < fake_n; i++) {
        fake_fill(&fake_tab[i], &st);
        fn(data, &st);
    }
    return 0;
}

bool
sv_is_ready(const char *name, bool *failed)
{
    struct fake_svc *s = fake_find(name);

    fake_ready_n++;
    /* As the real one: an unknown service can never become ready. */
    *failed = s == NULL || (!s->ready && s->failed);
    return s != NULL && s->ready;
}

/* The fake has no cgroups: pause and resume say so, as minit does on a
 * host without a usable hierarchy. */
int
sv_ctl_freeze(const char *name, bool frozen, struct mi_err *e)
{
    (void)name;
    return mi_err_set(e, 0, "%s is not available: no cgroup hierarchy is in use",
                      frozen ? "pause" : "resume");
}

int
sv_freeze_settled(const char *name, bool frozen, struct mi_err *e)
{
    (void)name;
    (void)frozen;
    (void)e;
    return 1;
}
