# SPDX-License-Identifier: MIT
"""What the program starts with: an empty signal mask and default
dispositions whatever minit inherited (tini's sigconf-test), its own
process group, the foreground group of a terminal when minit holds it (so
`docker run -it --init sh` keeps job control), the caller's cwd while minit
itself sits in /, no fd of minit's own, and /dev/null for closed stdio."""
import os
import pty
import select
import signal
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from lib import HELPER, MINIT, Minit, can_unshare, done, eq, ok, on_pty, run, skip  # noqa: E402

if not can_unshare():
    skip("pid namespace", "cannot unshare a pid namespace here")
    done()


def parse(out):
    d = {}
    for line in out.splitlines():
        if ":" in line:
            k, v = line.split(":", 1)
            d[k.strip()] = v.strip()
    return d


def dirty():
    for s in (signal.SIGINT, signal.SIGQUIT, signal.SIGUSR1, signal.SIGTTOU, signal.SIGSEGV):
        signal.signal(s, signal.SIG_IGN)
    signal.pthread_sigmask(signal.SIG_BLOCK, {signal.SIGTERM, signal.SIGILL, signal.SIGTTIN,
                                              signal.SIGUSR2, signal.SIGRTMIN})


for pid1 in (True, False):
    where = "as PID 1" if pid1 else "as subreaper"
    r = run(["-s", "--", HELPER, "sigstate"], pid1=pid1, preexec=dirty)
    st = parse(r.out)
    eq(st.get("SigBlk"), "0000000000000000", f"{where}: empty signal mask despite inherited one")
    eq(st.get("SigIgn"), "0000000000000000", f"{where}: no ignored signal despite inherited SIG_IGN")
    eq(st.get("pgid"), st.get("pid"), f"{where}: program leads its own process group")
    eq(st.get("fds"), "0 1 2", f"{where}: only fds 0-2 in the program")
    if pid1:
        eq(st.get("ppid"), "1", "as PID 1: the program's parent is 1")

# Inherited fds without CLOEXEC pass through (socket activation); minit's
# own do not; minit drops its copy of the inherited ones.
rfd, wfd = os.pipe()
os.set_inheritable(wfd, True)
m = Minit(["--", "sh", "-c", f'exec "{HELPER}" sigstate; ', ], pass_fds=(wfd,))
out = []
while True:
    line = m.readline(10)
    if line is None:
        break
    out.append(line)
m.wait(10)
st = parse("\n".join(out))
eq(st.get("fds"), f"0 1 2 {wfd}", "an inherited fd reaches the program, no fd of minit's")
os.close(wfd)
os.close(rfd)

m = Minit(["--", HELPER, "pause"], pass_fds=())
m.expect("ready")
fds = sorted(int(x) for x in os.listdir(f"/proc/{m.pid}/fd"))
ok(len(fds) <= 3 + 3, f"minit itself holds few fds: {fds}")
eq(os.readlink(f"/proc/{m.pid}/cwd"), "/", "minit's own cwd is /")
m.kill()

rfd, wfd = os.pipe()
os.set_inheritable(wfd, True)
m = Minit(["--", HELPER, "pause"], pass_fds=(wfd,))
m.expect("ready")
pipe_name = os.readlink(f"/proc/self/fd/{wfd}")
held = [os.readlink(f"/proc/{m.pid}/fd/{f}") for f in os.listdir(f"/proc/{m.pid}/fd")]
ok(pipe_name not in held, "minit closed its copy of the inherited fd", held)
m.kill()
os.close(wfd)
os.close(rfd)

# cwd: the program keeps the caller's.
with tempfile.TemporaryDirectory() as d:
    r = run(["--", HELPER, "sigstate"], cwd=d)
    eq(parse(r.out).get("cwd"), d, "the program starts in the caller's cwd")

# Closed stdio: minit opens /dev/null in their place.
with tempfile.TemporaryDirectory() as d:
    f = os.path.join(d, "links")

    def close_stdio():
        os.close(0)
        os.close(1)
        os.close(2)

    r = run(["--", "sh", "-c", f"readlink /proc/self/fd/0 /proc/self/fd/2 > {f}"],
            preexec=close_stdio)
    eq(r.rc, 0, "closed fds 0-2: the program runs")
    with open(f) as fh:
        eq(fh.read().split(), ["/dev/null", "/dev/null"], "closed fds 0-2 become /dev/null")

# A terminal: the program's group becomes the foreground group.
out, rc = on_pty(MINIT, [MINIT, "-s", "--", HELPER, "sigstate"])
st = parse(out)
ok(st.get("fgpgrp") == st.get("pgid") and st.get("pgid") == st.get("pid"),
   "on a terminal the program's group is the foreground group", st)
eq(rc, 0, "on a terminal: exit 0")

# In the background of a terminal minit must not take the foreground: run
# it from a shell job in a pty where the shell keeps the foreground.
out, rc = on_pty("/bin/sh", ["sh", "-c", f'"{MINIT}" -s -- "{HELPER}" sigstate > /dev/null & wait;'
                                         f' echo FG=$(ps -o tpgid= -p $$)'])
eq(rc, 0, "background minit on a terminal: the shell is fine")
done()
