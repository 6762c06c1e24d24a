# SPDX-License-Identifier: MIT
"""Config errors name FILE:LINE and exit 2 with nothing started; -n checks
without starting; the example files load; supervisord files run as they
are; minit ctl: every command, its exit codes (0, 1, 2, 3), the socket's
mode 0600, and peers of another uid refused."""
import json
import os
import signal
import stat
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from lib import MINIT, ROOT, Services, can_unshare, done, eq, ok, run, skip, wait_until  # noqa: E402

if not can_unshare():
    skip("pid namespace", "cannot unshare a pid namespace here")
    done()

HERE = os.path.dirname(os.path.abspath(__file__))
REPO = os.path.dirname(os.path.dirname(HERE))

BAD = [
    ("[service:web]\ncommand = true\nrestrat = yes\n", 3, "restrat"),
    ("[service:web]\ncommand = true\nstartsecs = soon\n", 3, "startsecs"),
    ("[service:web]\nautostart = yes\n", 1, "command"),
    ("[service:web]\ncommand = true\ndepends = nope\n", 1, "nope"),
    ("[service:a]\ncommand = true\ndepends = b\n[service:b]\ncommand = true\ndepends = a\n", None,
     "cycle"),
    ("[service:bad name!]\ncommand = true\n", 1, "name"),
    ("[service:web]\ncommand = 'unterminated\n", 2, "quote"),
    ("[service:web]\ncommand = true\nx = " + "y" * 250 + "\n", 3, "too long"),
    ("[nonsense]\nfoo = bar\n", 1, "nonsense"),
]
with tempfile.TemporaryDirectory() as d:
    f = os.path.join(d, "bad.ini")
    for text, line, word in BAD:
        with open(f, "w") as fh:
            fh.write(text)
        for args in (["-n", "-c", f], ["-S", "none", "-c", f]):
            r = run(args, pid1=False)
            eq(r.rc, 2, f"bad config ({word}) {args[0]}: exit 2")
            where = f"{f}:{line}" if line else f
            ok(where in r.err and word in r.err, f"bad config ({word}): names {where} and '{word}'",
               r.err)
    with open(f, "w") as fh:
        fh.write("[service:web]\ncommand = true\n")
    r = run(["-n", "-c", f], pid1=False)
    ok(r.rc == 0 and "ok" in r.out, "-n on a good file: exit 0", r)
    r = run(["-n", "-c", os.path.join(d, "missing.ini")], pid1=False)
    ok(r.rc == 2 and "missing.ini" in r.err, "missing config file: exit 2 naming it", r)

for ex in ("examples/services.ini", "examples/supervisord.conf"):
    r = run(["-n", "-c", os.path.join(REPO, ex)], pid1=False)
    eq(r.rc, 0, f"{ex} passes -n")

# A supervisord file as found in Docker images runs as it is.
s = Services("""
[supervisord]
nodaemon=true
logfile=/dev/null
pidfile=/tmp/supervisord.pid

[unix_http_server]
file=/tmp/supervisor.sock

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix:///tmp/supervisor.sock

[program:worker]
command=sh -c 'echo worker %(program_name)s home=%(ENV_HOME)s; exec @HELPER@ pause'
autorestart=true
stdout_logfile=/dev/stdout
stdout_logfile_maxbytes=0
redirect_stderr=true
stdout_events_enabled=true
""", name="supervisord.conf")
try:
    ok(s.wait_text(f"worker | worker worker home={os.environ.get('HOME')}"),
       "supervisord file runs, expansions work", s.out)
    ok(s.wait_text("unix_http_server", stream="err"), "skipped sections are warned about", s.err)
    s.stop()
finally:
    s.close()

# minit ctl.
s = Services("""
[service:a]
command = @HELPER@ signals 0
startsecs = 0
[service:b]
command = @HELPER@ pause
autostart = no
startsecs = 0
""")
try:
    ok(s.wait_state("a", "running"), "ctl: a running")
    mode = stat.S_IMODE(os.stat(s.sock).st_mode)
    eq(mode, 0o600, "control socket mode 0600")
    r = s.ctl("status", "--json")
    ok(r.rc == 0 and json.loads(r.out)["services"], "status --json is JSON", r)
    eq(s.status()["b"]["state"], "stopped", "autostart=no stays stopped")
    eq(s.ctl("start", "b").rc, 0, "ctl start b")
    ok(s.wait_state("b", "running"), "b running after start")
    pid = s.status()["b"]["pid"]
    eq(s.ctl("restart", "b").rc, 0, "ctl restart b")
    ok(wait_until(lambda: s.status()["b"].get("pid") not in (None, pid) and
                  s.status()["b"]["state"] == "running", 10), "restart gives a new pid")
    eq(s.ctl("signal", "USR2", "a").rc, 0, "ctl signal USR2 a")
    ok(s.wait_text("a | sig 12"), "the signal reached a", s.out)
    eq(s.ctl("stop", "b").rc, 0, "ctl stop b")
    ok(s.wait_state("b", "stopped"), "b stopped")
    eq(s.ctl("wait-ready", "a", "--timeout", "5s").rc, 0, "wait-ready on a ready service")
    r = s.ctl("wait-ready", "b", "--timeout", "300ms")
    eq(r.rc, 1, "wait-ready on a stopped service fails")
    r = s.ctl("stop", "nosuch")
    ok(r.rc == 1 and "nosuch" in r.err, "unknown service: exit 1 naming it", r)
    r = s.ctl("frobnicate")
    eq(r.rc, 2, "unknown command: exit 2")
    r = s.ctl("signal", "NOTASIG", "a")
    eq(r.rc, 2, "bad signal name: exit 2")
    r = subprocess.run([MINIT, "ctl", "-S", os.path.join(s.dir, "nope.sock"), "status"],
                       capture_output=True)
    eq(r.returncode, 3, "no minit at that socket: exit 3")
    if ROOT:
        r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups",
                            MINIT, "ctl", "-S", s.sock, "status"], capture_output=True)
        ok(r.returncode != 0, "a peer of another uid is refused", r)
    eq(s.ctl("shutdown").rc, 0, "ctl shutdown")
    eq(s.m.wait(15), 0, "minit exits 0 after ctl shutdown")
finally:
    s.close()

# A socket path longer than sun_path's 108 bytes (a rootfs deep in a build
# tree) works for both ends: it is reached through its directory's fd.
s = Services("""
[service:a]
command = @HELPER@ pause
startsecs = 0
""", sock=os.path.join("d" * 60, "e" * 60, "minit.sock"))
try:
    ok(len(s.sock) > 108, "the socket path is longer than sun_path", len(s.sock))
    ok(s.wait_state("a", "running"), "ctl through a long socket path", s.err)
    ok(stat.S_ISSOCK(os.stat(s.sock).st_mode), "the socket is where -S named it")
    eq(s.ctl("shutdown").rc, 0, "ctl shutdown through a long path")
    eq(s.m.wait(15), 0, "minit exits 0")
    ok(not os.path.exists(s.sock), "the long-path socket is removed at exit")
finally:
    s.close()
r = subprocess.run([MINIT, "ctl", "-S", "/nonexistent/" + "x" * 200 + "/minit.sock", "status"],
                   capture_output=True, text=True)
ok(r.returncode == 3 and "No such file" in r.stderr, "a missing long path: exit 3, ENOENT", r)
done()
