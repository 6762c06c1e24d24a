# SPDX-License-Identifier: MIT
"""Service keys not covered elsewhere, each with a test that fails without
it: exitcodes, stopsignal, killasgroup, redirect_stderr, stderr_logfile,
restart_delay_max, group, SIGUSR1 re-opening log files, and the warning
for keys whose features are not built yet."""
import os
import signal
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lib import ROOT, Services, can_unshare, done, eq, ok, run, skip, wait_until  # noqa: E402

if not can_unshare():
    skip("pid namespace", "cannot unshare a pid namespace here")
    done()

# exitcodes: 3 is expected, so autorestart=unexpected does not restart it.
s = Services("""
[service:three]
command = sh -c 'exit 3'
exitcodes = 0,3
startsecs = 0
[service:four]
command = sh -c 'exit 4'
exitcodes = 0,3
startsecs = 0
startretries = 1
restart_delay = 10ms
""")
try:
    ok(s.wait_state("three", "exited"), "exitcodes: an expected code is not restarted", s.status())
    eq(s.status()["three"]["restarts"], 0, "exitcodes: no restart")
    ok(s.wait_state("four", "failed"), "exitcodes: an unexpected code is retried, then failed")
    s.stop()
finally:
    s.close()

# stopsignal: the service sees the signal it asked for.
s = Services("""
[service:hup]
command = @HELPER@ signals 1
stopsignal = HUP
startsecs = 0
""")
try:
    ok(s.wait_text("hup | ready"), "stopsignal service up")
    s.ctl("stop", "hup")
    ok(s.wait_text("hup | sig 1"), "stopsignal = HUP is what it gets", s.out)
    s.stop()
finally:
    s.close()

# killasgroup: the SIGKILL after stopwaitsecs reaches a child that ignores
# TERM too, not only the service's main process.
s = Services("""
[service:fam]
command = sh -c 'trap "" TERM; @HELPER@ daemon @DIR@/unused ignore >/dev/null; @HELPER@ pause & wait'
killasgroup = true
stopwaitsecs = 200ms
startsecs = 0
""")
try:
    # The daemon's setsid puts it in a new autogroup, which can starve the
    # rest for seconds on a kernel with sched_autogroup_enabled=1 (seen once
    # in CI): a generous deadline, not a timing assertion.
    ok(s.wait_state("fam", "running", 40), "killasgroup service up",
       (s.m.p.poll(), s.ctl("status"), s.out[-5:], s.err[-5:]))
    s.ctl("stop", "fam")
    ok(s.wait_state("fam", "stopped", 5), "killasgroup: stopped", s.status())
    s.stop()
finally:
    s.close()

# redirect_stderr and stderr_logfile.
s = Services("""
[service:merged]
command = sh -c 'echo to-err >&2; echo to-out'
redirect_stderr = true
autorestart = false
[service:split]
command = sh -c 'echo err-line >&2; echo out-line'
stderr_logfile = @DIR@/split.err
autorestart = false
""")
try:
    ok(s.wait_text("merged | to-err"), "redirect_stderr: stderr arrives on stdout", s.out)
    ok(s.wait_text("split | out-line"), "stdout still prefixed")
    ok(s.wait_state("split", "exited"), "split done")
    with open(os.path.join(s.dir, "split.err")) as fh:
        eq(fh.read(), "err-line\n", "stderr_logfile gets stderr, unprefixed")
    ok(not any("err-line" in l for l in s.err), "and not minit's stderr")
    s.stop()
finally:
    s.close()

# restart_delay_max caps the backoff.
s = Services("""
[minit]
log_level = info
[service:capped]
command = sh -c 'exit 1'
startsecs = 10s
startretries = 5
restart_delay = 20ms
restart_delay_max = 50ms
""")
try:
    ok(s.wait_state("capped", "failed", 10), "capped gives up")
    s.wait_for(lambda ls: sum("restarting in" in l for l in ls) >= 5, stream="err")
    delays = [l.split("restarting in ")[1].split()[0] for l in s.err if "restarting in" in l]
    eq(delays, ["0.020", "0.040", "0.050", "0.050", "0.050"], "restart_delay_max caps the backoff")
    s.stop()
finally:
    s.close()

# group: the service runs with that gid.
if ROOT:
    s = Services("""
[service:grp]
command = sh -c 'echo gid=$(id -g)'
user = nobody
group = nogroup
autorestart = false
""")
    try:
        line = s.wait_text("grp | gid=")
        eq(line, "grp | gid=65534", "group = nogroup")
        s.stop()
    finally:
        s.close()

# SIGUSR1 re-opens log files (after an external rotation).
s = Services("""
[service:talker]
command = sh -c 'while read x; do echo "$x"; done < @DIR@/fifo'
stdout_logfile = @DIR@/talk.log
startsecs = 0
""")
try:
    fifo = os.path.join(s.dir, "fifo")
    os.mkfifo(fifo)
    w = os.open(fifo, os.O_WRONLY)
    os.write(w, b"one\n")
    log = os.path.join(s.dir, "talk.log")
    ok(wait_until(lambda: os.path.exists(log) and open(log).read() == "one\n", 10),
       "first line in the log")
    os.rename(log, log + ".old")
    os.kill(s.pid, signal.SIGUSR1)
    ok(wait_until(lambda: os.path.exists(log), 10), "SIGUSR1: the log file is created again")
    os.write(w, b"two\n")
    ok(wait_until(lambda: open(log).read() == "two\n", 10), "SIGUSR1: new lines go to the new file")
    eq(open(log + ".old").read(), "one\n", "the rotated file keeps the old lines")
    os.close(w)
    s.stop()
finally:
    s.close()

# capabilities, no_new_privs and seccomp, per service.
s = Services("""
[service:priv]
command = sh -c 'grep -E "^(CapBnd|CapEff|NoNewPrivs|Seccomp):" /proc/self/status'
capabilities = none +KILL +CAP_NET_BIND_SERVICE
seccomp = default
autorestart = false
[service:plain]
command = sh -c 'grep -E "^(NoNewPrivs|Seccomp):" /proc/self/status'
no_new_privs = yes
autorestart = false
""")
try:
    ok(s.wait_state("priv", "exited") and s.wait_state("plain", "exited"), "privilege services ran")
    text = "\n".join(s.out)
    ok("priv | CapBnd:\t0000000000000420" in text, "capabilities = none +KILL +NET_BIND_SERVICE", text)
    ok("priv | CapEff:\t0000000000000420" in text, "effective set follows (root)", text)
    ok("priv | NoNewPrivs:\t1" in text and "priv | Seccomp:\t2" in text,
       "seccomp = default installs a filter (with no_new_privs)", text)
    ok("plain | NoNewPrivs:\t1" in text and "plain | Seccomp:\t0" in text,
       "no_new_privs = yes alone", text)
    s.stop()
finally:
    s.close()
import tempfile  # noqa: E402
with tempfile.NamedTemporaryFile("w", suffix=".ini") as f:
    f.write("[service:x]\ncommand = true\ncapabilities = CAP_BOGUS\n")
    f.flush()
    r = run(["-n", "-c", f.name], pid1=False)
ok(r.rc == 2 and ":3" in r.err and "BOGUS" in r.err, "a bad capability: exit 2 with FILE:LINE", r)

# Keys whose features are not built yet are said, not silently dropped.
s = Services("""
[service:limited]
command = @HELPER@ pause
memory_max = 64M
startsecs = 0
""")
try:
    ok(s.wait_text("not applied", stream="err"), "unapplied keys warned about", s.err)
    s.stop()
finally:
    s.close()
done()
