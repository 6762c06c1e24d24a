/* SPDX-License-Identifier: MIT */
/*
 * The service state machine as a pure function (see the diagram in
 * supervisor/internal.h). No I/O, no timers: the caller applies the
 * returned actions, so that tests can walk every (state, event) pair.
 */
#include "supervisor/internal.h"

static const char *const state_names[SV_STATE_COUNT] = {
        [SV_STATE_STOPPED] = "stopped",   [SV_STATE_WAITING] = "waiting",
        [SV_STATE_STARTING] = "starting", [SV_STATE_RUNNING] = "running",
        [SV_STATE_STOPPING] = "stopping", [SV_STATE_BACKOFF] = "backoff",
        [SV_STATE_EXITED] = "exited",     [SV_STATE_FAILED] = "failed",
        [SV_STATE_PAUSED] = "paused",
};

static const char *const event_names[SV_EV_COUNT] = {
        [SV_EV_START] = "start",
        [SV_EV_STOP] = "stop",
        [SV_EV_DEPS_READY] = "deps-ready",
        [SV_EV_SPAWN_OK] = "spawn-ok",
        [SV_EV_SPAWN_FAIL] = "spawn-fail",
        [SV_EV_READY] = "ready",
        [SV_EV_READY_TIMEOUT] = "ready-timeout",
        [SV_EV_EXIT] = "exit",
        [SV_EV_STOP_TIMEOUT] = "stop-timeout",
        [SV_EV_BACKOFF_DONE] = "backoff-done",
};

const char *
sv_state_name(enum sv_state s)
{
    return (unsigned)s < SV_STATE_COUNT ? state_names[s] : "?";
}

const char *
sv_event_name(enum sv_event ev)
{
    return (unsigned)ev < SV_EV_COUNT ? event_names[ev] : "?";
}

static struct sv_fsm_out
to(enum sv_state s, unsigned act)
{
    struct sv_fsm_out o = {.state = s, .act = act, .legal = true};

    return o;
}

static struct sv_fsm_out
start_or_wait(const struct sv_fsm_in *in)
{
    return in->deps_ready ? to(SV_STATE_STARTING, SV_ACT_SPAWN) : to(SV_STATE_WAITING, 0);
}

/* A quick failure (failed spawn, exit before startsecs): retry later or
 * give up. */
static struct sv_fsm_out
quick_failure(const struct sv_fsm_in *in)
{
    if (in->want_up && in->restart && in->retries_left) {
        return to(SV_STATE_BACKOFF, SV_ACT_BACKOFF);
    }
    return to(SV_STATE_FAILED, SV_ACT_ENDED);
}

static struct sv_fsm_out
on_exit_event(const struct sv_fsm_in *in)
{
    if (in->oneshot && in->success) {
        return to(SV_STATE_EXITED, SV_ACT_ENDED);
    }
    if (!in->want_up || !in->restart) {
        return to(in->success ? SV_STATE_EXITED : SV_STATE_FAILED, SV_ACT_ENDED);
    }
    if (in->stable) {
        /* It had been up long enough: restart at once, backoff reset. */
        return start_or_wait(in);
    }
    return quick_failure(in);
}

static struct sv_fsm_out
from_idle(const struct sv_fsm_in *in)
{
    switch (in->ev) {
    case SV_EV_START:
        return start_or_wait(in);
    case SV_EV_STOP:
        return to(SV_STATE_STOPPED, 0);
    case SV_EV_DEPS_READY:
    case SV_EV_SPAWN_OK:
    case SV_EV_SPAWN_FAIL:
    case SV_EV_READY:
    case SV_EV_READY_TIMEOUT:
    case SV_EV_EXIT:
    case SV_EV_STOP_TIMEOUT:
    case SV_EV_BACKOFF_DONE:
    case SV_EV_COUNT:
        break;
    }
    return (struct sv_fsm_out){.state = in->state};
}

static struct sv_fsm_out
from_running(const struct sv_fsm_in *in)
{
    switch (in->ev) {
    case SV_EV_SPAWN_OK:
        return in->state == SV_STATE_STARTING ? to(SV_STATE_STARTING, SV_ACT_READINESS)
                                              : (struct sv_fsm_out){.state = in->state};
    case SV_EV_SPAWN_FAIL:
        return in->state == SV_STATE_STARTING ? quick_failure(in)
                                              : (struct sv_fsm_out){.state = in->state};
    case SV_EV_READY:
        if (in->state == SV_STATE_STARTING && !in->oneshot) {
            return to(SV_STATE_RUNNING, 0);
        }
        return to(in->state, 0);
    case SV_EV_READY_TIMEOUT:
        return in->state == SV_STATE_STARTING ? to(SV_STATE_STOPPING, SV_ACT_STOP)
                                              : (struct sv_fsm_out){.state = in->state};
    case SV_EV_EXIT:
        return on_exit_event(in);
    case SV_EV_STOP:
        return to(SV_STATE_STOPPING, SV_ACT_STOP);
    case SV_EV_START:
        return to(in->state, 0);
    case SV_EV_DEPS_READY:
    case SV_EV_STOP_TIMEOUT:
    case SV_EV_BACKOFF_DONE:
    case SV_EV_COUNT:
        break;
    }
    return (struct sv_fsm_out){.state = in->state};
}

static struct sv_fsm_out
from_stopping(const struct sv_fsm_in *in)
{
    switch (in->ev) {
    case SV_EV_STOP_TIMEOUT:
        return to(SV_STATE_STOPPING, SV_ACT_KILL);
    case SV_EV_EXIT:
        if (in->failed_start) {
            return quick_failure(in);
        }
        return in->want_up ? start_or_wait(in) : to(SV_STATE_STOPPED, 0);
    case SV_EV_STOP:
    case SV_EV_START:
        return to(SV_STATE_STOPPING, 0);
    case SV_EV_DEPS_READY:
    case SV_EV_SPAWN_OK:
    case SV_EV_SPAWN_FAIL:
    case SV_EV_READY:
    case SV_EV_READY_TIMEOUT:
    case SV_EV_BACKOFF_DONE:
    case SV_EV_COUNT:
        break;
    }
    return (struct sv_fsm_out){.state = in->state};
}

struct sv_fsm_out
sv_fsm_step(const struct sv_fsm_in *in)
{
    switch (in->state) {
    case SV_STATE_STOPPED:
    case SV_STATE_EXITED:
    case SV_STATE_FAILED:
        return from_idle(in);
    case SV_STATE_WAITING:
        if (in->ev == SV_EV_DEPS_READY) {
            return to(SV_STATE_STARTING, SV_ACT_SPAWN);
        }
        if (in->ev == SV_EV_STOP) {
            return to(SV_STATE_STOPPED, 0);
        }
        return in->ev == SV_EV_START ? to(SV_STATE_WAITING, 0)
                                     : (struct sv_fsm_out){.state = in->state};
    case SV_STATE_STARTING:
    case SV_STATE_RUNNING:
        return from_running(in);
    case SV_STATE_STOPPING:
        return from_stopping(in);
    case SV_STATE_BACKOFF:
        if (in->ev == SV_EV_BACKOFF_DONE) {
            return start_or_wait(in);
        }
        if (in->ev == SV_EV_STOP) {
            return to(SV_STATE_STOPPED, 0);
        }
        return in->ev == SV_EV_START ? to(SV_STATE_BACKOFF, 0)
                                     : (struct sv_fsm_out){.state = in->state};
    case SV_STATE_PAUSED:
        break;
    }
    return (struct sv_fsm_out){.state = in->state};
}

uint64_t
sv_backoff_ms(uint64_t first_ms, uint64_t max_ms, unsigned n)
{
    uint64_t d = first_ms;

    for (unsigned i = 1; i < n && d < max_ms; i++) {
        d = d > UINT64_MAX / 2 ? UINT64_MAX : d * 2;
    }
    return d < max_ms ? d : max_ms;
}
