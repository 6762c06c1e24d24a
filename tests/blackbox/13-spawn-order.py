# SPDX-License-Identifier: MIT
"""What a service starts with (user, groups, HOME/USER/LOGNAME, umask,
directory, environment, stdin, signal state, no fd of minit's), exec
failures counted as failed starts, start order by priority and
dependencies, stop order reversed, stopasgroup reaching a service's
children, and the total shutdown deadline."""
import os
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lib import ROOT, Services, can_unshare, done, eq, ok, skip, wait_until  # noqa: E402

if not can_unshare():
    skip("pid namespace", "cannot unshare a pid namespace here")
    done()

SCRIPT = """
echo "u=$(id -u) g=$(id -g) gs=$(id -G) home=$HOME user=$USER logname=$LOGNAME"
echo "umask=$(umask) pwd=$(pwd) foo=$FOO bar=$BAR"
exec "$HELPER" sigstate
"""
s = Services("""
[service:env]
command = sh @DIR@/env.sh
directory = /tmp
umask = 027
environment = FOO="a,b", BAR=baz, HELPER="@HELPER@"
autorestart = false
""" + ("user = nobody\n" if ROOT else ""), files={"env.sh": SCRIPT})
try:
    line = s.wait_text("env | u=")
    if ROOT:
        ok(line and "u=65534" in line and "home=/nonexistent" in line and "user=nobody" in line
           and "logname=nobody" in line, "user = nobody: ids and HOME/USER/LOGNAME", line)
    line = s.wait_text("env | umask=")
    eq(line, "env | umask=0027 pwd=/tmp foo=a,b bar=baz", "umask, directory, environment")
    ok(s.wait_text("env | fds: 0 1 2"), "only fds 0-2 in the service", s.out)
    ok(s.wait_text("env | SigBlk:\t0000000000000000"), "empty signal mask", s.out)
    ok(s.wait_text("env | SigIgn:\t0000000000000000"), "no ignored signals", s.out)
    s.stop()
finally:
    s.close()

# Exec failure: a failed start with the step and errno, backoff, then failed.
s = Services("""
[service:ghost]
command = /nonexistent/program
startretries = 2
restart_delay = 20ms
""")
try:
    ok(s.wait_state("ghost", "failed", 10), "exec failure: failed after retries", s.status())
    ok(s.wait_for(lambda ls: any("unable to run '/nonexistent/program'" in l and
                                 "No such file" in l for l in ls), stream="err"),
       "exec failure logged with the step and errno", s.err)
    eq(s.stop(), 0, "minit unharmed by a missing program")
finally:
    s.close()

# Start order: priority among independent services; stop order reversed
# along dependencies.
s = Services("""
[minit]
log_level = info
[service:c]
command = @HELPER@ pause
priority = 30
startsecs = 0
[service:a]
command = @HELPER@ pause
priority = 10
startsecs = 0
[service:b]
command = @HELPER@ pause
priority = 20
startsecs = 0
[service:top]
command = @HELPER@ pause
depends = a
startsecs = 0
""")
try:
    ok(all(s.wait_state(n, "running") for n in "abc"), "all up")
    s.wait_for(lambda ls: sum(": started (pid" in l for l in ls) >= 4, stream="err")
    started = [l.split("service ")[1].split(":")[0] for l in s.err if ": started (pid" in l]
    eq(started[:3], ["a", "b", "c"], "independent services start in priority order")
    eq(s.stop(), 0, "shutdown")
    stopped = [l.split("service ")[1].split(":")[0] for l in s.err
               if "killed by signal" in l or "exited with status" in l]
    ok("top" in stopped and "a" in stopped and stopped.index("top") < stopped.index("a"),
       "a dependent stops before what it depends on", stopped)
finally:
    s.close()

# stopasgroup: the service's children get the stop signal too.
s = Services("""
[service:grp]
command = sh -c '@HELPER@ signals 15 & wait'
stopasgroup = true
startsecs = 0
""")
try:
    ok(s.wait_text("grp | ready"), "group service up")
    eq(s.ctl("stop", "grp").rc, 0, "stop grp")
    ok(s.wait_text("grp | sig 15"), "stopasgroup: the child got SIGTERM", s.out)
    s.stop()
finally:
    s.close()

# Total shutdown deadline: a service with a long stopwaitsecs that ignores
# TERM is killed when shutdown_timeout passes.
s = Services("""
[minit]
shutdown_timeout = 500ms
[service:slow]
command = sh -c 'trap "" TERM; exec @HELPER@ pause'
stopwaitsecs = 60s
startsecs = 0
""")
try:
    ok(s.wait_state("slow", "running"), "slow up")
    import time
    t0 = time.monotonic()
    eq(s.stop(timeout=20), 0, "shutdown ends despite stopwaitsecs = 60s")
    ok(time.monotonic() - t0 < 10, "within the shutdown deadline")
finally:
    s.close()
done()
