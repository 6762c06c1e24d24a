/* SPDX-License-Identifier: MIT */
/* Unit tests: the shared value parsers (init/parse.c). */
#include <signal.h>
#include <stdint.h>
#include <string.h>

#include "init/parse.h"
#include "tests/tap.h"

static void
test_durations(void)
{
    static const struct {
        const char *in;
        uint64_t ms;
    } good[] = {{"250ms", 250}, {"5s", 5000}, {"5", 5000}, {"2m", 120000}, {"1h", 3600000},
                {"1.5s", 1500}, {"0", 0},     {"0ms", 0},  {".5", 500},    {"3min", 180000}};
    static const char *const bad[] = {"",   "abc",  "-1",       "5x", "5 s",
                                      "ms", "1e99", "9999999h", "+5", " 5"};
    struct mi_err e = {0};
    uint64_t ms;

    for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
        ms = 12345;
        CHECK_INT(mi_parse_duration(good[i].in, &ms, &e), 0, "duration '%s' parses", good[i].in);
        CHECK_INT(ms, good[i].ms, "duration '%s' = %llu ms", good[i].in,
                  (unsigned long long)good[i].ms);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        mi_err_clear(&e);
        CHECK_INT(mi_parse_duration(bad[i], &ms, &e), -1, "duration '%s' rejected", bad[i]);
        TAP_OK(e.msg[0] != '\0', "duration '%s' error has a message: %s", bad[i], e.msg);
    }
}

static void
test_bools(void)
{
    static const char *const yes[] = {"yes", "YES", "true", "True", "on", "1"};
    static const char *const no[] = {"no", "false", "FALSE", "off", "0"};
    static const char *const bad[] = {"", "y", "2", "yess", "nope"};
    struct mi_err e = {0};
    bool b;

    for (size_t i = 0; i < sizeof(yes) / sizeof(yes[0]); i++) {
        b = false;
        TAP_OK(mi_parse_bool(yes[i], &b, &e) == 0 && b, "bool '%s' is true", yes[i]);
    }
    for (size_t i = 0; i < sizeof(no) / sizeof(no[0]); i++) {
        b = true;
        TAP_OK(mi_parse_bool(no[i], &b, &e) == 0 && !b, "bool '%s' is false", no[i]);
    }
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        CHECK_INT(mi_parse_bool(bad[i], &b, &e), -1, "bool '%s' rejected", bad[i]);
    }
}

static void
test_uints(void)
{
    struct mi_err e = {0};
    uint64_t v;

    TAP_OK(mi_parse_uint("0", 0, 255, &v, &e) == 0 && v == 0, "uint 0");
    TAP_OK(mi_parse_uint("255", 0, 255, &v, &e) == 0 && v == 255, "uint 255");
    CHECK_INT(mi_parse_uint("256", 0, 255, &v, &e), -1, "uint 256 out of range");
    CHECK_CONTAINS(e.msg, "out of range", "range message");
    CHECK_INT(mi_parse_uint("-1", 0, 255, &v, &e), -1, "uint -1 rejected");
    CHECK_INT(mi_parse_uint("1x", 0, 255, &v, &e), -1, "uint 1x rejected");
    CHECK_INT(mi_parse_uint("", 0, 255, &v, &e), -1, "uint empty rejected");
    CHECK_INT(mi_parse_uint("99999999999999999999999", 0, UINT64_MAX, &v, &e), -1,
              "uint overflow rejected");
    CHECK_INT(mi_parse_uint(NULL, 0, 1, &v, &e), -1, "uint NULL rejected");
}

static void
test_sizes(void)
{
    struct mi_err e = {0};
    uint64_t v;

    TAP_OK(mi_parse_size("100", &v, &e) == 0 && v == 100, "size 100");
    TAP_OK(mi_parse_size("512k", &v, &e) == 0 && v == 512 * 1024, "size 512k");
    TAP_OK(mi_parse_size("64M", &v, &e) == 0 && v == 64ULL << 20, "size 64M");
    TAP_OK(mi_parse_size("64MB", &v, &e) == 0 && v == 64ULL << 20, "size 64MB");
    TAP_OK(mi_parse_size("1GiB", &v, &e) == 0 && v == 1ULL << 30, "size 1GiB");
    TAP_OK(mi_parse_size("max", &v, &e) == 0 && v == UINT64_MAX, "size max");
    CHECK_INT(mi_parse_size("64X", &v, &e), -1, "size 64X rejected");
    CHECK_INT(mi_parse_size("M", &v, &e), -1, "size M rejected");
    CHECK_INT(mi_parse_size("99999999999T", &v, &e), -1, "size overflow rejected");
}

static void
test_limits(void)
{
    struct mi_err e = {0};
    char norm[64];
    uint64_t v;

    TAP_OK(mi_parse_pids_max("20", &v, &e) == 0 && v == 20, "pids 20");
    TAP_OK(mi_parse_pids_max("max", &v, &e) == 0 && v == UINT64_MAX, "pids max");
    CHECK_INT(mi_parse_pids_max("0", &v, &e), -1, "pids 0 rejected");
    CHECK_INT(mi_parse_pids_max("lots", &v, &e), -1, "pids lots rejected");
    TAP_OK(mi_parse_cpu_max("50000", norm, sizeof(norm), &e) == 0 && strcmp(norm, "50000") == 0,
           "cpu 50000");
    TAP_OK(mi_parse_cpu_max("50000 \t 100000", norm, sizeof(norm), &e) == 0 &&
                   strcmp(norm, "50000 100000") == 0,
           "cpu QUOTA PERIOD, normalised");
    TAP_OK(mi_parse_cpu_max("max 200000", norm, sizeof(norm), &e) == 0 &&
                   strcmp(norm, "max 200000") == 0,
           "cpu max PERIOD");
    CHECK_INT(mi_parse_cpu_max("999", norm, sizeof(norm), &e), -1, "quota under 1000 rejected");
    CHECK_INT(mi_parse_cpu_max("5000 2000000", norm, sizeof(norm), &e), -1,
              "period over 1 s rejected");
    CHECK_INT(mi_parse_cpu_max("5000 100000 7", norm, sizeof(norm), &e), -1,
              "a third word rejected");
    CHECK_INT(mi_parse_cpu_max("", norm, sizeof(norm), &e), -1, "empty rejected");
}

static void
test_signals(void)
{
    struct mi_err e = {0};
    char buf[16];
    int s;

    TAP_OK(mi_parse_signal("TERM", false, &s, &e) == 0 && s == SIGTERM, "TERM");
    TAP_OK(mi_parse_signal("SIGTERM", false, &s, &e) == 0 && s == SIGTERM, "SIGTERM");
    TAP_OK(mi_parse_signal("sigusr1", false, &s, &e) == 0 && s == SIGUSR1, "sigusr1");
    TAP_OK(mi_parse_signal("15", false, &s, &e) == 0 && s == 15, "15");
    TAP_OK(mi_parse_signal("RTMIN", false, &s, &e) == 0 && s == 32, "RTMIN is 32");
    TAP_OK(mi_parse_signal("SIGRTMIN+3", false, &s, &e) == 0 && s == 35, "RTMIN+3");
    TAP_OK(mi_parse_signal("RTMAX-1", false, &s, &e) == 0 && s == 63, "RTMAX-1");
    TAP_OK(mi_parse_signal("64", false, &s, &e) == 0 && s == 64, "64");
    TAP_OK(mi_parse_signal("0", true, &s, &e) == 0 && s == 0, "0 allowed when asked");
    CHECK_INT(mi_parse_signal("0", false, &s, &e), -1, "0 rejected by default");
    CHECK_INT(mi_parse_signal("65", false, &s, &e), -1, "65 rejected");
    CHECK_INT(mi_parse_signal("RTMAX+1", false, &s, &e), -1, "RTMAX+1 rejected");
    CHECK_INT(mi_parse_signal("FOO", false, &s, &e), -1, "FOO rejected");
    CHECK_INT(mi_parse_signal("", false, &s, &e), -1, "empty rejected");
    CHECK_INT(mi_parse_signal("SIG", false, &s, &e), -1, "SIG rejected");
    for (int sig = 1; sig <= 64; sig++) {
        const char *name = mi_signal_name(sig, buf, sizeof(buf));
        int back = -1;

        TAP_OK(mi_parse_signal(name, false, &back, &e) == 0 && back == sig,
               "signal %d name '%s' parses back", sig, name);
    }
}

int
main(void)
{
    test_durations();
    test_bools();
    test_uints();
    test_sizes();
    test_limits();
    test_signals();
    return done_testing();
}
