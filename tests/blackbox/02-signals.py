# SPDX-License-Identifier: MIT
"""Signal forwarding: every catchable signal reaches the program (non-
terminal ones and real-time ones included, docker/cli#3909), in order;
--rewrite and dropping; -g and TINI_KILL_PROCESS_GROUP reach the group;
TSTP/TTIN/TTOU stop the program and then minit; CONT resumes both; a
signal minit raises itself (SIGPIPE on a closed stderr) is not forwarded
and causes no livelock."""
import os
import signal
import subprocess
import sys

sys.path.insert(0, os.path.dirname(__file__))
from lib import (HELPER, Minit, can_unshare, done, eq, ok, proc_state, run, skip,  # noqa: E402
                 wait_until)

if not can_unshare():
    skip("pid namespace", "cannot unshare a pid namespace here")
    done()

FORWARDED = [s for s in range(1, 65) if s not in (9, 19, 17, 32, 33)]


def deliver_all(extra_args, pid1, name):
    m = Minit(extra_args + ["--", HELPER, "signals", "0"], pid1=pid1)
    if not ok(m.expect("ready") is not None, f"{name}: program ready"):
        m.kill()
        return
    got = []
    for s in FORWARDED:
        m.signal(s)
        line = m.readline(5)
        got.append(int(line.split()[1]) if line and line.startswith("sig ") else None)
        if not pid1 and s in (20, 21, 22):
            # minit stopped itself after forwarding: continue it.
            wait_until(lambda: proc_state(m.pid) == "T", 5)
            m.signal(signal.SIGCONT)
            line = m.readline(5)
            if line != "sig 18":
                got.append(("after CONT", line))
    eq(got, FORWARDED, f"{name}: each of {len(FORWARDED)} signals delivered, in order")
    m.kill()


deliver_all([], True, "as PID 1")
deliver_all(["-s"], False, "as subreaper")

# --rewrite: TERM becomes QUIT; USR1 is dropped (USR2 arrives next).
m = Minit(["-r", "TERM:QUIT", "-r", "USR1:0", "-r", "SIGRTMIN+2:HUP", "--", HELPER, "signals", "0"])
m.expect("ready")
m.signal(signal.SIGTERM)
eq(m.readline(5), f"sig {int(signal.SIGQUIT)}", "-r TERM:QUIT forwards QUIT")
m.signal(signal.SIGUSR1)
m.signal(signal.SIGUSR2)
eq(m.readline(5), f"sig {int(signal.SIGUSR2)}", "-r USR1:0 drops USR1")
m.signal(34)
eq(m.readline(5), f"sig {int(signal.SIGHUP)}", "-r SIGRTMIN+2:HUP rewrites a real-time signal")
m.kill()

# -g: the shell ignores USR1 and waits; only its process group sees it.
script = f'trap "" USR1; "{HELPER}" signals 10; echo "shell done"'
for args, env, name in ((["-g"], None, "-g"),
                        ([], {**os.environ, "TINI_KILL_PROCESS_GROUP": "1"},
                         "TINI_KILL_PROCESS_GROUP")):
    m = Minit(args + ["--", "sh", "-c", script], env=env)
    m.expect("ready")
    m.signal(signal.SIGUSR1)
    eq(m.readline(5), "sig 10", f"{name}: the grandchild in the group gets USR1")
    eq(m.readline(5), "shell done", f"{name}: the shell ignoring USR1 lives on")
    eq(m.wait(10), 0, f"{name}: minit exits 0")

# Without -g only the program itself is signalled: SIGINT to sh -c 'sleep; ...'
# kills sh's child? No: only sh gets it (sh waits), as tini does.
m = Minit(["--", "sh", "-c", f'"{HELPER}" signals 2; echo after'])
m.expect("ready")
m.signal(signal.SIGUSR2)  # sh dies of USR2 (default action), the helper does not see it
eq(m.wait(10), 128 + signal.SIGUSR2, "without -g the signal goes to the program only")

# Job control (not PID 1: as PID 1 the kernel ignores minit's self-stop).
m = Minit(["-s", "--", HELPER, "pause"], pid1=False)
m.expect("ready")
prog = int(m.lines[-1].split()[1])
for sig, name in ((signal.SIGTSTP, "TSTP"), (signal.SIGTTIN, "TTIN"), (signal.SIGTTOU, "TTOU")):
    m.signal(sig)
    ok(wait_until(lambda: proc_state(prog) == "T", 5), f"{name}: program stopped",
       proc_state(prog))
    ok(wait_until(lambda: proc_state(m.pid) == "T", 5), f"{name}: minit stopped itself",
       proc_state(m.pid))
    m.signal(signal.SIGCONT)
    ok(wait_until(lambda: proc_state(prog) in ("S", "R"), 5), f"{name}: CONT resumes program",
       proc_state(prog))
    ok(wait_until(lambda: proc_state(m.pid) in ("S", "R"), 5), f"{name}: CONT resumes minit",
       proc_state(m.pid))
m.signal(signal.SIGTERM)
eq(m.wait(10), 128 + signal.SIGTERM, "TERM after job control ends the program: 143")

# SIGPIPE minit raises itself on a closed stderr: no forwarding, no livelock
# (dumb-init spins at 100% CPU here).
r_fd, w_fd = os.pipe()
os.close(r_fd)
p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", os.environ.get("MINIT", "build/minit"),
                      "-vvv", "--", HELPER, "signals", "15"],
                     stdout=subprocess.PIPE, stderr=w_fd, preexec_fn=lambda: os.setpgid(0, 0))
os.close(w_fd)
line = p.stdout.readline().decode()
ok(line.startswith("ready"), "with stderr a closed pipe and -vvv the program starts", line)
kids = wait_until(lambda: open(f"/proc/{p.pid}/task/{p.pid}/children").read().split(), 5)
os.kill(int(kids[0]), signal.SIGTERM)
line = p.stdout.readline().decode().strip()
eq(line, "sig 15", "TERM forwarded; minit's own SIGPIPEs were not")
try:
    rc = p.wait(10)
except subprocess.TimeoutExpired:
    os.killpg(p.pid, signal.SIGKILL)
    rc = -1
eq(rc, 0, "minit exits with the program's 0, no livelock")
done()
