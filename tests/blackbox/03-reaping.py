# SPDX-License-Identifier: MIT
"""Reaping: orphans re-parented to minit are reaped at once and none is
left a zombie (tini's test/reaping, dumb-init's test-zombies), as PID 1 and
as a subreaper; -w warns per reap; without PID 1 or -s minit warns that
reaping won't work; a program that forks 10,000 children breaks neither
reaping nor forwarding; an inherited SIGCHLD=SIG_IGN is harmless."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lib import HELPER, Minit, can_unshare, done, eq, ok, run, skip  # noqa: E402

if not can_unshare():
    skip("pid namespace", "cannot unshare a pid namespace here")
    done()

r = run(["--", HELPER, "orphans", "1000", "--", HELPER, "zombies-wait", "20000"])
eq(r.rc, 0, "as PID 1: 1000 orphans reaped")
ok("zombies 0" in r.out, "as PID 1: no zombie left", r)
eq(r.err, "", "as PID 1: quiet by default")

r = run(["--", HELPER, "orphans", "10000", "--", HELPER, "zombies-wait", "30000"], timeout=60)
eq(r.rc, 0, "as PID 1: a burst of 10,000 orphans reaped, none left")

# As a subreaper (not PID 1): the zombies are minit's children; the helper
# counts zombies whose parent is its own parent (minit).
for args, env, name in ((["-s"], None, "-s"),
                        ([], {**os.environ, "MINIT_SUBREAPER": "1"}, "MINIT_SUBREAPER=1"),
                        ([], {**os.environ, "TINI_SUBREAPER": ""}, "TINI_SUBREAPER")):
    r = run(args + ["--", "sh", "-c", f'"{HELPER}" orphans 200; exec "{HELPER}" zombies-wait 20000 $PPID'],
            pid1=False, env=env)
    eq(r.rc, 0, f"{name}: orphans reaped by minit as subreaper")
    ok("zombies 0" in r.out, f"{name}: no zombie child of minit left", r)
    ok("won't work" not in r.err, f"{name}: no reaping warning", r.err)

r = run(["--", HELPER, "exit", "0"], pid1=False)
ok("zombie reaping won't work" in r.err, "not PID 1 and no -s: one warning line", r.err)
eq(r.err.count("\n"), 1, "the warning is one line")

r = run(["-w", "--", HELPER, "orphans", "5", "--", HELPER, "zombies-wait", "20000"])
eq(r.err.count("reaped zombie process with pid="), 5, "-w warns once per orphan reaped")
ok("zombies 0" in r.out, "-w: none left", r)

# 10,000 direct children (left as zombies by the program, then orphaned):
# forwarding still works afterwards.
m = Minit(["--", "sh", "-c", f'"{HELPER}" spawn 10000 && exec "{HELPER}" signals 15'])
ok(m.expect("spawned 10000", 60) is not None, "program forked 10,000 children")
ok(m.expect("ready", 30) is not None, "program ready after the fork storm")
m.signal(signal.SIGTERM)
eq(m.readline(10), "sig 15", "TERM still forwarded after 10,000 reaps")
eq(m.wait(20), 0, "exit status still right")


def ignore_chld():
    signal.signal(signal.SIGCHLD, signal.SIG_IGN)


r = run(["--", HELPER, "orphans", "100", "--", HELPER, "zombies-wait", "20000"],
        preexec=ignore_chld)
eq(r.rc, 0, "inherited SIGCHLD=SIG_IGN: reaping still works")
r = run(["--", HELPER, "exit", "9"], preexec=ignore_chld)
eq(r.rc, 9, "inherited SIGCHLD=SIG_IGN: the exit status is not lost")
r = run(["-s", "--", HELPER, "exit", "9"], pid1=False, preexec=ignore_chld)
eq(r.rc, 9, "inherited SIGCHLD=SIG_IGN, not PID 1: the exit status is not lost")
done()
