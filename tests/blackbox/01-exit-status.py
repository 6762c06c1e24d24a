# SPDX-License-Identifier: MIT
"""Exit status as DESIGN.md's table: every code 0-255, 128+N for death by
each signal, -e remapping (inclusive and exclusive, as tini's suite), 126,
127 and 2 with one clear line."""
import os
import signal
import stat
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from lib import HELPER, can_unshare, done, eq, ok, run, skip  # noqa: E402

if not can_unshare():
    skip("pid namespace", "cannot unshare a pid namespace here")
    done()

# Every exit code, as PID 1. One namespace per code, as a user would run it.
bad = []
for code in range(256):
    r = run(["--", HELPER, "exit", str(code)])
    if r.rc != code:
        bad.append((code, r.rc, r.err))
ok(not bad, "every exit code 0-255 comes back as PID 1", bad[:5])

# A few not as PID 1 (with -s so no warning is expected).
for code in (0, 1, 42, 255):
    r = run(["-s", "--", HELPER, "exit", str(code)], pid1=False)
    eq(r.rc, code, f"exit {code} comes back as an ordinary process")
    eq(r.err, "", f"exit {code}: nothing on stderr with -s")

# Death by signal: 128+N, for every signal whose default action kills.
killing = [s for s in range(1, 65) if s not in (
    signal.SIGCHLD, signal.SIGCONT, signal.SIGURG, signal.SIGWINCH,
    signal.SIGSTOP, signal.SIGTSTP, signal.SIGTTIN, signal.SIGTTOU, 32, 33)]
bad = []
for s in killing:
    r = run(["--", HELPER, "kill-self", str(s)])
    if r.rc != 128 + s:
        bad.append((s, r.rc))
ok(not bad, f"death by each of {len(killing)} signals gives 128+N", bad[:5])

# -e: inclusive (the remapped code gives 0) and exclusive (others pass).
bad = []
for code in range(0, 256, 5):
    r = run(["-e", str(code), "--", HELPER, "exit", str(code)])
    if r.rc != 0:
        bad.append(code)
ok(not bad, "-e CODE maps CODE to 0", bad)
others = []
for c in range(256):
    if c != 77:
        others += ["-e", str(c)]
r = run(others + [HELPER, "exit", "77"])
eq(r.rc, 77, "-e for 255 other codes leaves 77 alone (options stop at the program)")
r = run(["-e", "143", "--", HELPER, "kill-self", "15"])
eq(r.rc, 0, "-e 143 maps death by SIGTERM to 0 (the JVM case)")

# exec failures.
r = run(["--", "/nonexistent/prog"])
eq(r.rc, 127, "program not found: 127")
ok("/nonexistent/prog" in r.err and "No such file" in r.err and r.err.count("\n") == 1,
   "not found: one line naming the program", r.err)
r = run(["--", "no-such-program-in-path"])
eq(r.rc, 127, "not found in PATH: 127")
r = run(["--", "/etc"])
eq(r.rc, 126, "a directory: 126")
with tempfile.TemporaryDirectory() as d:
    f = os.path.join(d, "noexec")
    with open(f, "w") as fh:
        fh.write("#!/bin/sh\nexit 0\n")
    os.chmod(f, 0o644)
    r = run(["--", f], pid1=False, env={**os.environ, "MINIT_SUBREAPER": "1"})
    eq(r.rc, 126, "not executable: 126")
    ok("Permission denied" in r.err, "not executable: says why", r.err)
    g = os.path.join(d, "garbage")
    with open(g, "wb") as fh:
        fh.write(b"\x00\x01\x02garbage")
    os.chmod(g, stat.S_IRWXU)
    r = run(["-s", "--", g], pid1=False)
    eq(r.rc, 126, "not a valid executable: 126")

# Usage errors: 2 and one line naming the flag.
for argv, word in ((["-x", "true"], "-x"), (["--nope", "true"], "--nope"),
                   (["-e", "300", "true"], "-e"), (["-r", "TERM", "true"], "-r"),
                   (["-t", "later", "true"], "-t"), (["-p", "SIGNOPE", "true"], "-p"),
                   ([], "no program")):
    r = run(argv, pid1=False)
    eq(r.rc, 2, f"usage error {argv}: exit 2")
    ok(word in r.err and r.err.count("\n") == 1, f"usage error {argv}: one line naming '{word}'",
       r.err)

# stdin passes through.
r = run(["sh"], input="exit 5\n")
eq(r.rc, 5, "stdin reaches the program (echo 'exit 5' | minit sh)")
r = run(["sh", "-c", "exit 3"])
eq(r.rc, 3, "minit sh -c 'exit 3' runs sh -c, no -- needed")
done()
