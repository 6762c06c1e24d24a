# SPDX-License-Identifier: MIT
"""Dependency gating on each readiness kind (none/startsecs, notify, fd:N,
tcp:PORT, exec:CMD) and ready_timeout; reload keeps unchanged services
with the same pid, restarts changed ones, adds and removes, and leaves
everything alone on a bad file; 200,000 lines from four services arrive
whole, prefixed and in per-service order; log files rotate."""
import os
import re
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lib import Services, can_unshare, done, eq, ok, skip, wait_until  # noqa: E402

if not can_unshare():
    skip("pid namespace", "cannot unshare a pid namespace here")
    done()

KINDS = {
    "none": ("sh -c 'sleep 0.3; touch @DIR@/up; exec @HELPER@ pause'", "none\nstartsecs = 600ms"),
    "notify": ("sh -c 'sleep 0.3; touch @DIR@/up; exec @HELPER@ notify-ready'", "notify"),
    "fd": ("sh -c 'sleep 0.3; touch @DIR@/up; echo >&3; exec @HELPER@ pause'", "fd:3"),
    "tcp": ("sh -c 'sleep 0.3; touch @DIR@/up; exec @HELPER@ listen 38471'", "tcp:38471"),
    "exec": ("sh -c 'sleep 0.3; touch @DIR@/up; exec @HELPER@ pause'", "exec:test -f @DIR@/up"),
}
for kind, (cmd, ready) in KINDS.items():
    s = Services(f"""
[service:db]
command = {cmd}
ready = {ready}
ready_timeout = 10s
[service:app]
command = sh -c 'test -f @DIR@/up && echo db-was-ready || echo db-NOT-ready; exec @HELPER@ pause'
depends = db
startsecs = 0
""")
    try:
        line = s.wait_for(lambda ls: next((l for l in ls if "app |" in l), None), 10)
        eq(line, "app | db-was-ready", f"ready = {kind}: the dependent starts only once db is ready")
        ok(s.wait_state("db", "running"), f"ready = {kind}: db shows running")
        s.stop()
    finally:
        s.close()

s = Services("""
[minit]
log_level = info
[service:mute]
command = @HELPER@ pause
ready = notify
ready_timeout = 200ms
startretries = 0
""")
try:
    ok(s.wait_state("mute", "failed", 10), "ready_timeout: never ready -> a failed start", s.status())
    ok(s.wait_text("not ready after", stream="err"), "ready_timeout logged", s.err)
    s.stop()
finally:
    s.close()

# Reload.
CONF1 = """
[service:keep]
command = @HELPER@ pause
startsecs = 0
[service:change]
command = @HELPER@ pause
startsecs = 0
[service:drop]
command = @HELPER@ pause
startsecs = 0
"""
CONF2 = """
[service:keep]
command = @HELPER@ pause
startsecs = 0
[service:change]
command = sh -c 'exec @HELPER@ pause'
startsecs = 0
[service:added]
command = @HELPER@ pause
startsecs = 0
"""
s = Services(CONF1)
try:
    ok(all(s.wait_state(n, "running") for n in ("keep", "change", "drop")), "reload: all up")
    before = s.status()
    s.write(CONF2)
    os.kill(s.pid, signal.SIGHUP)
    ok(s.wait_state("added", "running"), "SIGHUP: a new service starts", s.status())
    ok(wait_until(lambda: "drop" not in s.status(), 10), "SIGHUP: a removed service is gone")
    ok(s.wait_state("change", "running"), "SIGHUP: the changed service runs again")
    after = s.status()
    eq(after["keep"]["pid"], before["keep"]["pid"], "SIGHUP: the unchanged service keeps its pid")
    ok(after["change"]["pid"] != before["change"]["pid"], "SIGHUP: the changed service restarted")
    s.write("[service:broken\ncommand = x\n")
    r = s.ctl("reload")
    eq(r.rc, 1, "ctl reload of a bad file fails")
    ok("minit.ini" in r.err or "minit.ini" in r.out, "and says which file", r)
    eq(s.status()["keep"]["pid"], before["keep"]["pid"], "a bad reload leaves services alone")
    eq(s.stop(), 0, "shutdown after reloads")
finally:
    s.close()

# 200,000 lines from four services at once.
N = 50000
s = Services("".join(f"""
[service:s{i}]
command = @HELPER@ lines {N} s{i}
autorestart = false
""" for i in range(4)))
try:
    ok(s.wait_for(lambda ls: sum(1 for l in ls if " | " in l) >= 4 * N, 60),
       "all 200,000 lines arrive", len(s.out))
    pat = re.compile(r"^(s\d) \| (s\d) (\d+) ([a-z]*)$")
    nxt = {f"s{i}": 0 for i in range(4)}
    bad = []
    for line in s.out:
        m = pat.match(line)
        if not m or m.group(1) != m.group(2) or int(m.group(3)) != nxt[m.group(1)] or \
                len(m.group(4)) != int(m.group(3)) % 61:
            bad.append(line)
            if len(bad) > 5:
                break
            continue
        nxt[m.group(1)] += 1
    ok(not bad and all(v == N for v in nxt.values()),
       "every line whole, prefixed, in per-service order", (bad, nxt))
    s.stop()
finally:
    s.close()

# Log files with rotation, and /dev/stdout meaning minit's stdout.
s = Services("""
[program:filer]
command = @HELPER@ lines 2000 f
stdout_logfile = @DIR@/filer.log
stdout_logfile_maxbytes = 10000
stdout_logfile_backups = 2
autorestart = false
[program:toout]
command = sh -c 'echo via-dev-stdout'
stdout_logfile = /dev/stdout
stdout_logfile_maxbytes = 0
autorestart = false
""")
try:
    ok(s.wait_text("toout | via-dev-stdout"), "stdout_logfile=/dev/stdout goes to minit's stdout")
    ok(s.wait_state("filer", "exited", 10), "filer done", s.status())
    d = s.dir
    ok(os.path.exists(f"{d}/filer.log") and os.path.exists(f"{d}/filer.log.1") and
       os.path.exists(f"{d}/filer.log.2") and not os.path.exists(f"{d}/filer.log.3"),
       "rotated into .1 and .2, no .3", os.listdir(d))
    ok(all(os.path.getsize(f"{d}/{f}") <= 10000 + 200 for f in os.listdir(d) if f.startswith("filer")),
       "each file near maxbytes at most")
    with open(f"{d}/filer.log") as fh:
        last = fh.read().splitlines()[-1]
    ok(last.startswith("f 1999 "), "the newest file ends with the last line", last)
    s.stop()
finally:
    s.close()
done()
