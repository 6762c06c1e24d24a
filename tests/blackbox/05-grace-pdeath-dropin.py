# SPDX-License-Identifier: MIT
"""--grace: what the program leaves behind gets SIGTERM, then SIGKILL when
the grace ends, and is reaped before minit exits (as PID 1 and as a
subreaper); -p: the parent-death signal is forwarded (tini's pdeathsignal
test); drop-in names tini and docker-init; --help and --version; a huge
environment and argv; an inherited blocked mask does not stop forwarding."""
import os
import signal
import subprocess
import sys
import tempfile
import time

sys.path.insert(0, os.path.dirname(__file__))
from lib import (HELPER, MINIT, Minit, can_unshare, done, eq, ok, run, skip,  # noqa: E402
                 wait_until)

if not can_unshare():
    skip("pid namespace", "cannot unshare a pid namespace here")
    done()


def alive(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            return f.read().split(")")[-1].split()[0] != "Z"
    except OSError:
        return False


with tempfile.TemporaryDirectory() as d:
    for pid1, args in ((True, []), (False, ["-s"])):
        where = "as PID 1" if pid1 else "as subreaper"
        f = os.path.join(d, f"term-{pid1}")
        t0 = time.monotonic()
        r = run(args + ["-t", "10s", "--", "sh", "-c", f'"{HELPER}" daemon {f} term; exit 7'],
                pid1=pid1)
        took = time.monotonic() - t0
        eq(r.rc, 7, f"--grace {where}: exit status is the program's")
        ok(os.path.exists(f) and open(f).read() == "term\n",
           f"--grace {where}: the left-over daemon got SIGTERM", r)
        ok(took < 8, f"--grace {where}: minit did not wait the whole grace ({took:.2f}s)")

        r = run(args + ["-t", "300ms", "--", "sh", "-c", f'"{HELPER}" daemon /dev/null ignore; exit 3'],
                pid1=pid1)
        eq(r.rc, 3, f"--grace {where}: a daemon ignoring TERM: exit status kept")
        dpid = int(r.out.split()[-1]) if r.out.startswith("daemon ready") else None
        if not pid1 and dpid:
            ok(not alive(dpid), f"--grace {where}: the TERM-ignoring daemon was SIGKILLed", r)
        if pid1:
            ok("daemon ready" in r.out, f"--grace {where}: SIGKILL after the grace ends it", r)

    # Without --grace, as a subreaper, minit exits at once (tini's behaviour)
    # and the daemon lives on: clean it up ourselves.
    r = run(["-s", "--", "sh", "-c", f'"{HELPER}" daemon /dev/null term; exit 2'], pid1=False)
    eq(r.rc, 2, "without --grace minit exits with the program")
    if r.out.startswith("daemon ready"):
        dpid = int(r.out.split()[-1])
        ok(alive(dpid), "without --grace the daemon is left alone", r)
        os.kill(dpid, signal.SIGKILL)

# -p: minit's parent dies, minit gets USR1 and forwards it.
rfd, wfd = os.pipe()
p = subprocess.Popen(["sh", "-c", f'"{MINIT}" -s -p SIGUSR1 -- "{HELPER}" signals 10 & echo $!; wait'],
                     stdout=wfd, stderr=subprocess.DEVNULL, preexec_fn=lambda: os.setpgid(0, 0))
os.close(wfd)
rf = os.fdopen(rfd)
minit_pid = int(rf.readline())
ready = rf.readline()
ok(ready.startswith("ready"), "-p: program ready", ready)
os.kill(p.pid, signal.SIGKILL)  # the shell, minit's parent
p.wait()
line = rf.readline().strip()
eq(line, "sig 10", "-p SIGUSR1: parent death reaches the program as USR1")
ok(wait_until(lambda: not alive(minit_pid), 10), "-p: minit exits after the program")
rf.close()

# Drop-in names.
with tempfile.TemporaryDirectory() as d:
    for name in ("tini", "docker-init"):
        link = os.path.join(d, name)
        os.symlink(MINIT, link)
        r = run(["--version"], pid1=False, minit=link)
        ok(r.rc == 0 and r.out.startswith("tini version "), f"{name} --version is tini's format",
           r)
        r = run(["-s", "--", HELPER, "exit", "5"], pid1=False, minit=link)
        eq(r.rc, 5, f"{name} -s -- PROG works as docker run --init does")
        r = run(["--", HELPER, "exit", "6"], minit=link)
        eq(r.rc, 6, f"{name} as PID 1")
    r = run(["--", HELPER, "exit", "0"], env={**os.environ, "TINI_VERBOSITY": "3"})
    ok("debug" in r.err, "TINI_VERBOSITY=3 gives debug output", r)

r = run(["--help"], pid1=False)
ok(r.rc == 0 and "Usage" in r.out and all(f in r.out for f in
   ("--subreaper", "--pgroup", "--remap-exit", "--pdeathsig", "--rewrite", "--grace",
    "--verbose", "--warn-reap", "--config", "--check", "--socket")), "--help lists every option", r)
r = run(["--version"], pid1=False)
ok(r.rc == 0 and r.out.startswith("minit version "), "--version", r)
r = run(["-vv", "--", HELPER, "exit", "0"])
ok("minit: debug:" in r.err, "-vv gives debug lines", r)

# Huge environment and argv.
env = dict(os.environ)
for i in range(2000):
    env[f"MINIT_TEST_VAR_{i}"] = "x" * 200
argv = [f"arg{i}" for i in range(20000)]
r = run(["--", "sh", "-c", 'echo "$# ${MINIT_TEST_VAR_1999}"', "sh"] + argv, env=env)
eq(r.out.strip(), "20000 " + "x" * 200, "a huge environment and argv reach the program")


def block_all():
    signal.pthread_sigmask(signal.SIG_BLOCK, set(signal.Signals) - {signal.SIGKILL, signal.SIGSTOP})


m = Minit(["--", HELPER, "signals", "15"], preexec=block_all)
m.expect("ready")
m.signal(signal.SIGTERM)
eq(m.readline(5), "sig 15", "an inherited fully blocked mask does not stop forwarding")
eq(m.wait(10), 0, "and the exit status comes back")
done()
