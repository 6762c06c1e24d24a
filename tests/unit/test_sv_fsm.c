/* SPDX-License-Identifier: MIT */
/* Unit tests: every (state, event) pair of the service state machine, the
 * exit decisions, and the backoff policy. */
#include "supervisor/internal.h"
#include "tests/tap.h"

#define ILLEGAL 0xffu
#define S(x)    SV_STATE_##x

/* Expected result for each pair with the default context: wanted up,
 * dependencies ready, a simple service, restart policy yes, a quick exit,
 * retries left. {state, actions} or ILLEGAL (no change). */
static const struct {
    enum sv_state state;
    unsigned act;
} want[SV_STATE_COUNT][SV_EV_COUNT] =
        {
                [S(STOPPED)] =
                        {
                                [SV_EV_START] = {S(STARTING), SV_ACT_SPAWN},
                                [SV_EV_STOP] = {S(STOPPED), 0},
                                [SV_EV_DEPS_READY] = {S(STOPPED), ILLEGAL},
                                [SV_EV_SPAWN_OK] = {S(STOPPED), ILLEGAL},
                                [SV_EV_SPAWN_FAIL] = {S(STOPPED), ILLEGAL},
                                [SV_EV_READY] = {S(STOPPED), ILLEGAL},
                                [SV_EV_READY_TIMEOUT] = {S(STOPPED), ILLEGAL},
                                [SV_EV_EXIT] = {S(STOPPED), ILLEGAL},
                                [SV_EV_STOP_TIMEOUT] = {S(STOPPED), ILLEGAL},
                                [SV_EV_BACKOFF_DONE] = {S(STOPPED), ILLEGAL},
                        },
                [S(WAITING)] =
                        {
                                [SV_EV_START] = {S(WAITING), 0},
                                [SV_EV_STOP] = {S(STOPPED), 0},
                                [SV_EV_DEPS_READY] = {S(STARTING), SV_ACT_SPAWN},
                                [SV_EV_SPAWN_OK] = {S(WAITING), ILLEGAL},
                                [SV_EV_SPAWN_FAIL] = {S(WAITING), ILLEGAL},
                                [SV_EV_READY] = {S(WAITING), ILLEGAL},
                                [SV_EV_READY_TIMEOUT] = {S(WAITING), ILLEGAL},
                                [SV_EV_EXIT] = {S(WAITING), ILLEGAL},
                                [SV_EV_STOP_TIMEOUT] = {S(WAITING), ILLEGAL},
                                [SV_EV_BACKOFF_DONE] = {S(WAITING), ILLEGAL},
                        },
                [S(STARTING)] =
                        {
                                [SV_EV_START] = {S(STARTING), 0},
                                [SV_EV_STOP] = {S(STOPPING), SV_ACT_STOP},
                                [SV_EV_DEPS_READY] = {S(STARTING), ILLEGAL},
                                [SV_EV_SPAWN_OK] = {S(STARTING), SV_ACT_READINESS},
                                [SV_EV_SPAWN_FAIL] = {S(BACKOFF), SV_ACT_BACKOFF},
                                [SV_EV_READY] = {S(RUNNING), 0},
                                [SV_EV_READY_TIMEOUT] = {S(STOPPING), SV_ACT_STOP},
                                [SV_EV_EXIT] = {S(BACKOFF), SV_ACT_BACKOFF},
                                [SV_EV_STOP_TIMEOUT] = {S(STARTING), ILLEGAL},
                                [SV_EV_BACKOFF_DONE] = {S(STARTING), ILLEGAL},
                        },
                [S(RUNNING)] =
                        {
                                [SV_EV_START] = {S(RUNNING), 0},
                                [SV_EV_STOP] = {S(STOPPING), SV_ACT_STOP},
                                [SV_EV_DEPS_READY] = {S(RUNNING), ILLEGAL},
                                [SV_EV_SPAWN_OK] = {S(RUNNING), ILLEGAL},
                                [SV_EV_SPAWN_FAIL] = {S(RUNNING), ILLEGAL},
                                [SV_EV_READY] = {S(RUNNING), 0},
                                [SV_EV_READY_TIMEOUT] = {S(RUNNING), ILLEGAL},
                                [SV_EV_EXIT] = {S(BACKOFF), SV_ACT_BACKOFF},
                                [SV_EV_STOP_TIMEOUT] = {S(RUNNING), ILLEGAL},
                                [SV_EV_BACKOFF_DONE] = {S(RUNNING), ILLEGAL},
                        },
                [S(STOPPING)] =
                        {
                                [SV_EV_START] = {S(STOPPING), 0},
                                [SV_EV_STOP] = {S(STOPPING), 0},
                                [SV_EV_DEPS_READY] = {S(STOPPING), ILLEGAL},
                                [SV_EV_SPAWN_OK] = {S(STOPPING), ILLEGAL},
                                [SV_EV_SPAWN_FAIL] = {S(STOPPING), ILLEGAL},
                                [SV_EV_READY] = {S(STOPPING), ILLEGAL},
                                [SV_EV_READY_TIMEOUT] = {S(STOPPING), ILLEGAL},
                                [SV_EV_EXIT] = {S(STARTING), SV_ACT_SPAWN},
                                [SV_EV_STOP_TIMEOUT] = {S(STOPPING), SV_ACT_KILL},
                                [SV_EV_BACKOFF_DONE] = {S(STOPPING), ILLEGAL},
                        },
                [S(BACKOFF)] =
                        {
                                [SV_EV_START] = {S(BACKOFF), 0},
                                [SV_EV_STOP] = {S(STOPPED), 0},
                                [SV_EV_DEPS_READY] = {S(BACKOFF), ILLEGAL},
                                [SV_EV_SPAWN_OK] = {S(BACKOFF), ILLEGAL},
                                [SV_EV_SPAWN_FAIL] = {S(BACKOFF), ILLEGAL},
                                [SV_EV_READY] = {S(BACKOFF), ILLEGAL},
                                [SV_EV_READY_TIMEOUT] = {S(BACKOFF), ILLEGAL},
                                [SV_EV_EXIT] = {S(BACKOFF), ILLEGAL},
                                [SV_EV_STOP_TIMEOUT] = {S(BACKOFF), ILLEGAL},
                                [SV_EV_BACKOFF_DONE] = {S(STARTING), SV_ACT_SPAWN},
                        },
                [S(EXITED)] =
                        {
                                [SV_EV_START] = {S(STARTING), SV_ACT_SPAWN},
                                [SV_EV_STOP] = {S(STOPPED), 0},
                                [SV_EV_DEPS_READY] = {S(EXITED), ILLEGAL},
                                [SV_EV_SPAWN_OK] = {S(EXITED), ILLEGAL},
                                [SV_EV_SPAWN_FAIL] = {S(EXITED), ILLEGAL},
                                [SV_EV_READY] = {S(EXITED), ILLEGAL},
                                [SV_EV_READY_TIMEOUT] = {S(EXITED), ILLEGAL},
                                [SV_EV_EXIT] = {S(EXITED), ILLEGAL},
                                [SV_EV_STOP_TIMEOUT] = {S(EXITED), ILLEGAL},
                                [SV_EV_BACKOFF_DONE] = {S(EXITED), ILLEGAL},
                        },
                [S(FAILED)] =
                        {
                                [SV_EV_START] = {S(STARTING), SV_ACT_SPAWN},
                                [SV_EV_STOP] = {S(STOPPED), 0},
                                [SV_EV_DEPS_READY] = {S(FAILED), ILLEGAL},
                                [SV_EV_SPAWN_OK] = {S(FAILED), ILLEGAL},
                                [SV_EV_SPAWN_FAIL] = {S(FAILED), ILLEGAL},
                                [SV_EV_READY] = {S(FAILED), ILLEGAL},
                                [SV_EV_READY_TIMEOUT] = {S(FAILED), ILLEGAL},
                                [SV_EV_EXIT] = {S(FAILED), ILLEGAL},
                                [SV_EV_STOP_TIMEOUT] = {S(FAILED), ILLEGAL},
                                [SV_EV_BACKOFF_DONE] = {S(FAILED), ILLEGAL},
                        },
                [S(PAUSED)] =
                        {
                                [SV_EV_START] = {S(PAUSED), ILLEGAL},
                                [SV_EV_STOP] = {S(PAUSED), ILLEGAL},
                                [SV_EV_DEPS_READY] = {S(PAUSED), ILLEGAL},
                                [SV_EV_SPAWN_OK] = {S(PAUSED), ILLEGAL},
                                [SV_EV_SPAWN_FAIL] = {S(PAUSED), ILLEGAL},
                                [SV_EV_READY] = {S(PAUSED), ILLEGAL},
                                [SV_EV_READY_TIMEOUT] = {S(PAUSED), ILLEGAL},
                                [SV_EV_EXIT] = {S(PAUSED), ILLEGAL},
                                [SV_EV_STOP_TIMEOUT] = {S(PAUSED), ILLEGAL},
                                [SV_EV_BACKOFF_DONE] = {S(PAUSED), ILLEGAL},
                        },
};

static struct sv_fsm_in
base(enum sv_state st, enum sv_event ev)
{
    struct sv_fsm_in in = {.state = st,
                           .ev = ev,
                           .want_up = true,
                           .deps_ready = true,
                           .restart = true,
                           .retries_left = true};

    return in;
}

static void
test_every_pair(void)
{
    for (int st = 0; st < SV_STATE_COUNT; st++) {
        for (int ev = 0; ev < SV_EV_COUNT; ev++) {
            struct sv_fsm_in in = base((enum sv_state)st, (enum sv_event)ev);
            struct sv_fsm_out out = sv_fsm_step(&in);
            bool illegal = want[st][ev].act == ILLEGAL;

            TAP_OK(out.legal == !illegal && out.state == want[st][ev].state &&
                           (illegal || out.act == want[st][ev].act),
                   "%s + %s -> %s%s", sv_state_name(st), sv_event_name(ev),
                   sv_state_name(want[st][ev].state), illegal ? " (illegal)" : "");
        }
    }
}

static void
check(struct sv_fsm_in in, enum sv_state st, unsigned act, const char *what)
{
    struct sv_fsm_out out = sv_fsm_step(&in);

    TAP_OK(out.legal && out.state == st && out.act == act, "%s: got %s/0x%x", what,
           sv_state_name(out.state), out.act);
}

static void
test_decisions(void)
{
    struct sv_fsm_in in;

    in = base(S(WAITING), SV_EV_START);
    check(in, S(WAITING), 0, "start while waiting stays waiting");
    in = base(S(STOPPED), SV_EV_START);
    in.deps_ready = false;
    check(in, S(WAITING), 0, "start with dependencies not ready waits");
    in = base(S(RUNNING), SV_EV_EXIT);
    in.stable = true;
    check(in, S(STARTING), SV_ACT_SPAWN, "exit after a stable run restarts at once");
    in.deps_ready = false;
    check(in, S(WAITING), 0, "... or waits for its dependencies");
    in = base(S(RUNNING), SV_EV_EXIT);
    in.retries_left = false;
    check(in, S(FAILED), SV_ACT_ENDED, "quick exit with no retries left fails");
    in = base(S(RUNNING), SV_EV_EXIT);
    in.restart = false;
    in.success = true;
    check(in, S(EXITED), SV_ACT_ENDED, "expected exit, no restart: exited");
    in.success = false;
    check(in, S(FAILED), SV_ACT_ENDED, "unexpected exit, no restart: failed");
    in = base(S(STARTING), SV_EV_EXIT);
    in.oneshot = true;
    in.success = true;
    check(in, S(EXITED), SV_ACT_ENDED, "oneshot success: exited");
    in.success = false;
    check(in, S(BACKOFF), SV_ACT_BACKOFF, "oneshot failure with retries: backoff");
    in = base(S(STARTING), SV_EV_READY);
    in.oneshot = true;
    check(in, S(STARTING), 0, "oneshot is not ready before it exits");
    in = base(S(STOPPING), SV_EV_EXIT);
    in.want_up = false;
    check(in, S(STOPPED), 0, "exit while stopping, not wanted: stopped");
    in = base(S(RUNNING), SV_EV_EXIT);
    in.want_up = false;
    in.success = true;
    check(in, S(EXITED), SV_ACT_ENDED, "exit when not wanted up: no restart");
    in = base(S(BACKOFF), SV_EV_BACKOFF_DONE);
    in.deps_ready = false;
    check(in, S(WAITING), 0, "backoff done with dependencies down: waiting");
    in = base(S(STOPPING), SV_EV_EXIT);
    in.failed_start = true;
    check(in, S(BACKOFF), SV_ACT_BACKOFF, "exit after a ready timeout: backoff, not a restart");
    in.retries_left = false;
    check(in, S(FAILED), SV_ACT_ENDED, "... or failed when no retries are left");
    in = base(S(STARTING), SV_EV_SPAWN_FAIL);
    in.retries_left = false;
    check(in, S(FAILED), SV_ACT_ENDED, "spawn failure with no retries: failed");
}

static void
test_backoff(void)
{
    CHECK_INT(sv_backoff_ms(100, 30000, 1), 100, "first step");
    CHECK_INT(sv_backoff_ms(100, 30000, 2), 200, "doubles");
    CHECK_INT(sv_backoff_ms(100, 30000, 5), 1600, "5th step");
    CHECK_INT(sv_backoff_ms(100, 30000, 20), 30000, "capped at max");
    CHECK_INT(sv_backoff_ms(100, 30000, 1000), 30000, "no overflow far out");
    CHECK_INT(sv_backoff_ms(0, 30000, 5), 0, "zero first step stays zero");
    CHECK_INT(sv_backoff_ms(5000, 1000, 1), 1000, "max below first wins");
}

int
main(void)
{
    test_every_pair();
    test_decisions();
    test_backoff();
    return done_testing();
}
