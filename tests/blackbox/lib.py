# SPDX-License-Identifier: MIT
"""Black-box test library: runs the real minit binary, as PID 1 of a fresh
pid namespace (unshare --pid --fork --mount-proc) or as an ordinary process,
and reports TAP. Synchronises on pipes and on /proc state with deadlines,
never on bare sleeps. Every process a test starts is killed at the end."""

import os
import pty
import select
import signal
import subprocess
import sys
import time

MINIT = os.environ.get("MINIT") or os.path.abspath("build/minit")
HELPER = os.environ.get("HELPER") or os.path.abspath("build/tests/helper/minit-helper")
MUST_WORK = os.environ.get("MINIT_MUST_WORK") == "1"
ROOT = os.geteuid() == 0

_n = 0
_failed = 0
_live = []


def ok(cond, name, diag=None):
    global _n, _failed
    _n += 1
    if cond:
        print(f"ok {_n} - {name}")
    else:
        _failed += 1
        print(f"not ok {_n} - {name}")
        if diag is not None:
            for line in str(diag).splitlines()[:40]:
                print(f"#   {line}")
    sys.stdout.flush()
    return cond


def eq(got, want, name):
    return ok(got == want, name, f"got {got!r}, want {want!r}")


def skip(name, reason):
    global _n
    if MUST_WORK:
        ok(False, name, f"skipped but MINIT_MUST_WORK=1: {reason}")
        return
    _n += 1
    print(f"ok {_n} - {name} # SKIP {reason}")


def done():
    for p in list(_live):
        p.kill()
    print(f"1..{_n}")
    sys.stdout.flush()
    sys.exit(1 if _failed else 0)


def ns_prefix():
    """unshare prefix that makes the next program PID 1 of a new pid ns."""
    pre = ["unshare", "--pid", "--fork", "--mount-proc"]
    if not ROOT:
        pre += ["--user", "--map-root-user"]
    return pre


def can_unshare():
    try:
        r = subprocess.run(ns_prefix() + ["true"], timeout=10,
                           stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        return r.returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


class Result:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return f"rc={self.rc}\nstdout={self.out[-2000:]!r}\nstderr={self.err[-2000:]!r}"


def run(argv, pid1=True, timeout=30, env=None, stdin=subprocess.DEVNULL,
        input=None, preexec=None, pass_fds=(), cwd=None, minit=None):
    """Runs minit ARGV to completion; returns Result. rc -1 on timeout."""
    cmd = (ns_prefix() if pid1 else []) + [minit or MINIT] + list(argv)

    def pre():
        os.setpgid(0, 0)
        if preexec:
            preexec()

    p = subprocess.Popen(cmd, stdin=subprocess.PIPE if input is not None else stdin,
                         stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env,
                         preexec_fn=pre, pass_fds=pass_fds, cwd=cwd)
    try:
        out, err = p.communicate(input=input.encode() if input is not None else None,
                                 timeout=timeout)
        return Result(p.returncode, out.decode(errors="replace"), err.decode(errors="replace"))
    except subprocess.TimeoutExpired:
        _killpg(p.pid)
        out, err = p.communicate()
        return Result(-1, out.decode(errors="replace"), err.decode(errors="replace") + "\n[TIMEOUT]")


def _killpg(pgid):
    try:
        os.killpg(pgid, signal.SIGKILL)
    except ProcessLookupError:
        pass


def children(pid):
    try:
        with open(f"/proc/{pid}/task/{pid}/children") as f:
            return [int(x) for x in f.read().split()]
    except OSError:
        return []


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        for c in children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


def proc_state(pid):
    try:
        with open(f"/proc/{pid}/stat") as f:
            s = f.read()
        return s[s.rindex(")") + 2]
    except (OSError, ValueError):
        return None


def wait_until(pred, timeout=10.0, interval=0.002):
    """Polls a condition on kernel state (not a sleep for an event) with a
    deadline; returns its last value."""
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(interval)


class Minit:
    """A running minit (as PID 1 by default) whose stdout is a pipe we read
    line by line with deadlines."""

    def __init__(self, argv, pid1=True, env=None, preexec=None, pass_fds=(),
                 stderr=subprocess.PIPE, minit=None, stdin=subprocess.DEVNULL):
        self.cmd = (ns_prefix() if pid1 else []) + [minit or MINIT] + list(argv)
        self.pid1 = pid1

        def pre():
            os.setpgid(0, 0)
            if preexec:
                preexec()

        self.p = subprocess.Popen(self.cmd, stdin=stdin, stdout=subprocess.PIPE,
                                  stderr=stderr, env=env, preexec_fn=pre,
                                  pass_fds=pass_fds)
        self.buf = b""
        self.lines = []
        self.rc = None
        _live.append(self)
        self.pid = self.p.pid if not pid1 else None
        if pid1:
            kids = wait_until(lambda: children(self.p.pid), 10)
            self.pid = kids[0] if kids else None

    def readline(self, timeout=10.0):
        end = time.monotonic() + timeout
        fd = self.p.stdout.fileno()
        while b"\n" not in self.buf:
            left = end - time.monotonic()
            if left <= 0:
                return None
            r, _, _ = select.select([fd], [], [], left)
            if not r:
                return None
            chunk = os.read(fd, 65536)
            if not chunk:
                return None
            self.buf += chunk
        line, self.buf = self.buf.split(b"\n", 1)
        s = line.decode(errors="replace")
        self.lines.append(s)
        return s

    def expect(self, prefix, timeout=10.0):
        """Reads lines until one starts with prefix; returns it or None."""
        end = time.monotonic() + timeout
        while True:
            line = self.readline(max(0.0, end - time.monotonic()))
            if line is None:
                return None
            if line.startswith(prefix):
                return line

    def signal(self, sig):
        os.kill(self.pid, sig)

    def wait(self, timeout=20.0):
        try:
            self.rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.kill()
            self.rc = -1
        return self.rc

    def stderr(self):
        if self.p.stderr is None:
            return ""
        try:
            return self.p.stderr.read().decode(errors="replace") if self.p.poll() is not None else ""
        except OSError:
            return ""

    def kill(self):
        # Not PID 1: the program and its descendants outlive minit unless
        # killed first (as PID 1, killing minit ends the namespace).
        if self.pid and not self.pid1:
            for d in descendants(self.pid):
                try:
                    os.kill(d, signal.SIGKILL)
                except ProcessLookupError:
                    pass
        _killpg(self.p.pid)
        try:
            self.p.wait(5)
        except subprocess.TimeoutExpired:
            pass
        if self in _live:
            _live.remove(self)


class LinePump:
    """Collects a process's stdout and stderr line by line in threads
    (self.out, self.err), so that a test waits for lines with deadlines
    without ever blocking the process on a full pipe."""

    def _start_pump(self, stdout, stderr):
        import threading
        self.out, self.err = [], []
        self.cond = threading.Condition()
        self.threads = [threading.Thread(target=self._pump, args=(stream, into), daemon=True)
                        for stream, into in ((stdout, self.out), (stderr, self.err))]
        for t in self.threads:
            t.start()

    def _pump(self, stream, into):
        for raw in iter(stream.readline, b""):
            with self.cond:
                into.append(raw.decode(errors="replace").rstrip("\n"))
                self.cond.notify_all()
        with self.cond:
            self.cond.notify_all()

    def wait_for(self, pred, timeout=10.0, stream="out"):
        """Waits until pred(lines) is true; returns its value or None."""
        end = time.monotonic() + timeout
        lines = self.out if stream == "out" else self.err
        with self.cond:
            while True:
                v = pred(lines)
                if v:
                    return v
                left = end - time.monotonic()
                if left <= 0:
                    return None
                self.cond.wait(min(left, 0.2))

    def wait_text(self, text, timeout=10.0, stream="out"):
        """Waits for a line containing text; returns it or None."""
        return self.wait_for(lambda ls: next((l for l in ls if text in l), None), timeout, stream)


class Services(LinePump):
    """minit -c CONFIG running (as PID 1 by default) with its control
    socket in a temporary directory; stdout and stderr are collected by
    threads so the test can wait for lines without blocking minit."""

    def __init__(self, config_text, pid1=True, args=(), name="minit.ini", env=None, files=None,
                 sock="minit.sock"):
        import tempfile
        import threading
        self.dir = tempfile.mkdtemp(prefix="minit-test-")
        self.sock = os.path.join(self.dir, sock)
        os.makedirs(os.path.dirname(self.sock), exist_ok=True)
        self.config = os.path.join(self.dir, name)
        # Config lines are at most 199 bytes (inih's limit): the helper is
        # named by a short link, so no line grows with the checkout's path.
        self.helper = os.path.join(self.dir, "helper")
        os.symlink(os.path.abspath(HELPER), self.helper)
        self.write(config_text)
        for fname, text in (files or {}).items():
            with open(os.path.join(self.dir, fname), "w") as f:
                f.write(text)
        os.chmod(self.dir, 0o755)
        self.m = Minit(["-S", self.sock, *args, "-c", self.config], pid1=pid1, env=env)
        self.pid = self.m.pid
        self._start_pump(self.m.p.stdout, self.m.p.stderr)

    def write(self, text):
        with open(self.config, "w") as f:
            f.write(text.replace("@DIR@", self.dir).replace("@HELPER@", self.helper))

    def ctl(self, *args, timeout=20):
        r = subprocess.run([MINIT, "ctl", "-S", self.sock, *args], capture_output=True,
                           timeout=timeout)
        return Result(r.returncode, r.stdout.decode(errors="replace"),
                      r.stderr.decode(errors="replace"))

    def status(self):
        import json
        r = self.ctl("status", "--json")
        try:
            return {s["name"]: s for s in json.loads(r.out)["services"]}
        except (ValueError, KeyError):
            return {}

    def wait_state(self, name, state, timeout=10.0):
        return wait_until(lambda: self.status().get(name, {}).get("state") == state, timeout, 0.02)

    def stop(self, sig=signal.SIGTERM, timeout=20.0):
        if self.m.p.poll() is None:
            try:
                os.kill(self.pid, sig)
            except ProcessLookupError:
                pass
        rc = self.m.wait(timeout)
        for t in self.threads:
            t.join(5)
        return rc

    def close(self):
        import shutil
        self.m.kill()
        shutil.rmtree(self.dir, ignore_errors=True)


def on_pty(path, argv, timeout=10):
    """Runs argv on a fresh pseudo-terminal (its session leader, the
    terminal's foreground); returns (output, exit code), bounded."""
    pid, master = pty.fork()
    if pid == 0:
        try:
            os.execv(path, argv)
        finally:
            os._exit(120)
    buf = b""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        r_, _, _ = select.select([master], [], [], 0.5)
        if not r_:
            continue
        try:
            chunk = os.read(master, 4096)
        except OSError:
            break
        if not chunk:
            break
        buf += chunk
    _, status = os.waitpid(pid, 0)
    os.close(master)
    return buf.decode(errors="replace").replace("\r", ""), os.waitstatus_to_exitcode(status)
