# SPDX-License-Identifier: MIT
"""Job 2 lifecycle, with the real minit as PID 1 (and as a subreaper):
prefixed output, status, orderly shutdown; critical exit codes; backoff
read from the event log; immediate restart after a stable run; oneshot
ordering; stop escalation to SIGKILL; orphans of services reaped."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lib import Services, can_unshare, done, eq, ok, skip, wait_until  # noqa: E402

if not can_unshare():
    skip("pid namespace", "cannot unshare a pid namespace here")
    done()

BASIC = """
[service:alpha]
command = sh -c 'echo hello from alpha; echo oops >&2; exec @HELPER@ pause'
startsecs = 0

[service:beta]
command = @HELPER@ pause
depends = alpha
startsecs = 0
"""

for pid1 in (True, False):
    where = "as PID 1" if pid1 else "as subreaper"
    s = Services(BASIC, pid1=pid1)
    try:
        ok(s.wait_text("alpha | hello from alpha"), f"{where}: stdout prefixed with the name", s.out)
        ok(s.wait_text("alpha | oops", stream="err"), f"{where}: stderr prefixed too", s.err)
        ok(s.wait_state("beta", "running"), f"{where}: beta running after alpha", s.status())
        st = s.status()
        ok(st.get("alpha", {}).get("pid") and st.get("beta", {}).get("pid"),
           f"{where}: status shows pids", st)
        r = s.ctl("status")
        ok(r.rc == 0 and "alpha" in r.out and "running" in r.out, f"{where}: human status", r)
        eq(s.stop(), 0, f"{where}: SIGTERM: orderly shutdown, exit 0")
    finally:
        s.close()

# Critical services: the container exits with their status.
for cmd, want, name in (("sh -c 'exit 7'", 7, "exit 7"),
                        ("sh -c 'kill -9 $$'", 137, "SIGKILL: 128+9")):
    s = Services(f"""
[service:main]
command = {cmd}
critical = yes
autorestart = false
[service:side]
command = @HELPER@ pause
""")
    try:
        eq(s.m.wait(15), want, f"critical service {name}: minit exits {want}")
    finally:
        s.close()

# Backoff from the event log: 50, 100, 200 ms, then failed after 3 retries.
s = Services("""
[minit]
log_level = info
[service:crashy]
command = sh -c 'exit 3'
startsecs = 10
startretries = 3
restart_delay = 50ms
restart_delay_max = 10s
""")
try:
    ok(s.wait_state("crashy", "failed", 10), "crash loop ends failed after startretries",
       s.status())
    s.wait_for(lambda ls: sum("restarting in" in l for l in ls) >= 3, stream="err")
    delays = [l.split("restarting in ")[1].split()[0] for l in s.err if "restarting in" in l]
    eq(delays, ["0.050", "0.100", "0.200"], "backoff doubles from restart_delay")
    eq(s.status()["crashy"]["last_exit"], 3, "status shows the last exit status")
    eq(s.stop(), 0, "a failed non-critical service does not fail shutdown")
finally:
    s.close()

# A stable run restarts at once (no backoff), and the restart count grows.
s = Services("""
[minit]
log_level = info
[service:steady]
command = sh -c 'sleep 1.1; exit 1'
startsecs = 100ms
restart_delay = 5s
""")
try:
    ok(wait_until(lambda: s.status().get("steady", {}).get("restarts", 0) >= 2, 15),
       "a service up longer than startsecs restarts at once", s.status())
    ok(not any("restarting in" in l for l in s.err), "no backoff after a stable run", s.err)
    s.stop()
finally:
    s.close()

# Oneshot ordering: web starts only after migrate has exited 0.
s = Services("""
[service:migrate]
type = oneshot
command = sh -c 'sleep 0.3; touch @DIR@/migrated'
[service:web]
command = sh -c 'test -f @DIR@/migrated && echo migrated-before-web; exec @HELPER@ pause'
depends = migrate
startsecs = 0
""")
try:
    ok(s.wait_text("web | migrated-before-web"), "oneshot completes before its dependent starts",
       s.out)
    eq(s.status()["migrate"]["state"], "exited", "oneshot shows exited")
    s.stop()
finally:
    s.close()

# Stop escalation: a service ignoring SIGTERM is SIGKILLed after stopwaitsecs.
s = Services("""
[minit]
log_level = info
[service:stubborn]
command = sh -c 'trap "" TERM; exec @HELPER@ pause'
stopwaitsecs = 300ms
startsecs = 0
""")
try:
    ok(s.wait_state("stubborn", "running"), "stubborn running")
    r = s.ctl("stop", "stubborn")
    eq(r.rc, 0, "ctl stop accepted")
    ok(s.wait_state("stubborn", "stopped", 5), "stopped in the end", s.status())
    ok(s.wait_text("did not stop in time", stream="err"), "SIGKILL after stopwaitsecs logged",
       s.err)
    eq(s.status()["stubborn"]["last_exit"], 137, "it died of SIGKILL")
    eq(s.stop(), 0, "shutdown after")
finally:
    s.close()

# Orphans of services are reaped by minit, PID 1 or not.
for pid1 in (True, False):
    s = Services("""
[service:forker]
command = sh -c '@HELPER@ orphans 50; exec @HELPER@ zombies-wait 20000 $PPID'
autorestart = false
""", pid1=pid1)
    try:
        ok(s.wait_text("forker | zombies 0"), f"orphans of a service reaped ({'PID 1' if pid1 else 'subreaper'})", s.out)
        s.stop()
    finally:
        s.close()
done()
