# SPDX-License-Identifier: MIT
"""minit as the process of an OCI bundle run by runc, as Docker or
Kubernetes start it: exit status, death by signal, `runc kill` forwarded,
orphans of the payload and of `runc exec` reaped, and services (-c) with
prefixed output, `minit ctl` through `runc exec`, and an orderly stop.

Each container gets its own bundle (a copy of $ROOTFS plus $MINIT, the
shared libraries ldd names for it, and the static $HELPER), a unique id and
cgroup path, and runc's state lives in this test's temporary directory
(`runc --root`), so no container this test did not create is ever touched.
Every container is `runc delete -f`-ed in a finally block. Synchronises on
output lines and on `runc state`, with deadlines."""

import copy
import glob
import json
import os
import shutil
import signal
import subprocess
import sys
import tempfile
import threading

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import lib  # noqa: E402
from lib import done, eq, ok, skip, wait_until  # noqa: E402

ROOTFS = os.environ.get("ROOTFS") or os.path.abspath("build/rootfs")
RUNC = shutil.which("runc")
TAG = f"minit-t21-{os.getpid()}"
TOP = None  # temporary directory: runc state and every bundle
SPEC = None  # `runc spec` output, parsed once
_seq = 0


class R:
    def __init__(self, rc, out, err):
        self.rc, self.out, self.err = rc, out, err

    def __repr__(self):
        return f"rc={self.rc}\nstdout={self.out[-2000:]!r}\nstderr={self.err[-2000:]!r}"


def runc(*args, timeout=20, **kw):
    """Runs `runc --root OUR_STATE ARGS`; returns R (rc -1 on timeout)."""
    try:
        p = subprocess.run([RUNC, "--root", os.path.join(TOP, "state"), *args],
                           stdin=subprocess.DEVNULL, capture_output=True, timeout=timeout, **kw)
        return R(p.returncode, p.stdout.decode(errors="replace"), p.stderr.decode(errors="replace"))
    except subprocess.TimeoutExpired as e:
        return R(-1, (e.stdout or b"").decode(errors="replace"),
                 (e.stderr or b"").decode(errors="replace") + "\n[TIMEOUT]")


def shared_libs(binary):
    """The files ldd says BINARY loads (the dynamic loader included); empty
    for a static binary."""
    p = subprocess.run(["ldd", binary], capture_output=True, text=True, timeout=10)
    libs = []
    for line in p.stdout.splitlines():
        line = line.strip()
        if "=>" in line:
            path = line.split("=>", 1)[1].strip().split(" (", 1)[0].strip()
        else:
            path = line.split(" (", 1)[0].strip()
        if path.startswith("/"):
            libs.append(path)
    return libs


def install(src, rootfs, dest):
    """Copies SRC (symlinks followed) to ROOTFS/DEST, making directories."""
    target = os.path.join(rootfs, dest.lstrip("/"))
    os.makedirs(os.path.dirname(target), exist_ok=True)
    shutil.copy2(os.path.realpath(src), target)


class Container(lib.LinePump):
    """One OCI bundle and the container runc makes of it."""

    def __init__(self, args, files=None, mode=None):
        global _seq
        _seq += 1
        self.id = f"{TAG}-{_seq}"
        self.bundle = os.path.join(TOP, self.id)
        os.makedirs(self.bundle)
        self.rootfs = os.path.join(self.bundle, "rootfs")
        subprocess.run(["cp", "-a", ROOTFS, self.rootfs], check=True, timeout=30)
        if args and args[0] == "/minit":
            install(lib.MINIT, self.rootfs, "/minit")
            for so in shared_libs(lib.MINIT):
                install(so, self.rootfs, so)
                real = os.path.realpath(so)
                if real != so:
                    install(so, self.rootfs, real)
        install(lib.HELPER, self.rootfs, "/bin/minit-helper")
        for path, text in (files or {}).items():
            with open(os.path.join(self.rootfs, path.lstrip("/")), "w") as f:
                f.write(text)
        c = copy.deepcopy(SPEC)
        c["process"]["args"] = list(args)
        c["process"]["terminal"] = False
        c["root"] = {"path": "rootfs", "readonly": False}  # minit's socket in /run
        c["linux"]["cgroupsPath"] = "/" + self.id
        if mode:
            mode(c)
        with open(os.path.join(self.bundle, "config.json"), "w") as f:
            json.dump(c, f, indent=1)
        self.p = None
        self.out, self.err = [], []
        self.cond = threading.Condition()
        self.threads = []
        self.rc = None

    # Foreground: `runc run ID` to completion.
    def run(self, timeout=20):
        return runc("run", "--bundle", self.bundle, self.id, timeout=timeout)

    # Background: `runc run ID` with its output read line by line.
    def start(self):
        self.p = subprocess.Popen([RUNC, "--root", os.path.join(TOP, "state"), "run",
                                   "--bundle", self.bundle, self.id],
                                  stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                                  stderr=subprocess.PIPE, start_new_session=True)
        self._start_pump(self.p.stdout, self.p.stderr)
        return self

    def wait(self, timeout=20.0):
        try:
            self.rc = self.p.wait(timeout)
        except subprocess.TimeoutExpired:
            self.rc = -1
        for t in self.threads:
            t.join(5)
        return self.rc

    def output(self):
        with self.cond:
            return "stdout:\n" + "\n".join(self.out[-30:]) + "\nstderr:\n" + "\n".join(self.err[-30:])

    def exec(self, *args, timeout=20):
        return runc("exec", self.id, *args, timeout=timeout)

    def kill(self, sig):
        return runc("kill", self.id, sig)

    def state(self):
        r = runc("state", self.id, timeout=10)
        try:
            return json.loads(r.out).get("status")
        except ValueError:
            return None

    def close(self):
        runc("delete", "-f", self.id, timeout=20)
        if self.p is not None and self.p.poll() is None:
            try:
                self.p.wait(10)
            except subprocess.TimeoutExpired:
                self.p.kill()
                self.p.wait(5)
        shutil.rmtree(self.bundle, ignore_errors=True)


def container_test(fn):
    """Runs FN(make) where make(args, ...) builds a Container; every
    container made is deleted afterwards, whatever happened."""
    made = []

    def make(*a, **kw):
        c = Container(*a, **kw)
        made.append(c)
        return c

    try:
        fn(make)
    except Exception as e:  # one broken case must not hide the others
        ok(False, f"{fn.__name__} raised", repr(e))
    finally:
        for c in made:
            c.close()


# ---------------------------------------------------------------------------


def t_exit_status(make):
    for n in (0, 3, 42):
        r = make(["/minit", "--", "/bin/minit-helper", "exit", str(n)]).run()
        eq(r.rc, n, f"payload exit {n} is runc run's exit status")
        if r.rc != n:
            print(f"# {r!r}")
    r = make(["/minit", "sh", "-c", "exit 7"]).run()
    eq(r.rc, 7, "options end at the program: /minit sh -c 'exit 7' gives 7")


def t_signal_death(make):
    for sig in (9, 15):
        r = make(["/minit", "--", "/bin/minit-helper", "kill-self", str(sig)]).run()
        eq(r.rc, 128 + sig, f"payload killed by signal {sig} gives {128 + sig}")


def t_is_pid1(make):
    c = make(["/minit", "--", "/bin/minit-helper", "sigstate"])
    r = c.run()
    ok(r.rc == 0 and "ppid: 1\n" in r.out, "the payload's parent is minit, PID 1 of the container", r)


def t_kill_forwarded(make):
    c = make(["/minit", "--", "/bin/minit-helper", "signals", "15"]).start()
    if not ok(c.wait_text("ready") is not None, "runc run: payload ready", c.output()):
        return
    cg = [p for p in glob.glob(f"/sys/fs/cgroup/*/{c.id}") + glob.glob(f"/sys/fs/cgroup/{c.id}")
          if os.path.isdir(p)]
    ok(cg, "the container runs in the cgroup given as linux.cgroupsPath", cg)
    r = c.kill("USR1")
    ok(r.rc == 0, "runc kill ID USR1", r)
    ok(c.wait_text("sig 10") is not None, "SIGUSR1 from runc kill reaches the payload", c.output())
    r = c.kill("TERM")
    ok(r.rc == 0, "runc kill ID TERM", r)
    ok(c.wait_text("sig 15") is not None, "SIGTERM from runc kill reaches the payload", c.output())
    eq(c.wait(), 0, "exit status is what the payload returned after SIGTERM (0)")


def t_kill_default_disposition(make):
    c = make(["/minit", "--", "/bin/minit-helper", "pause"]).start()
    if not ok(c.wait_text("ready") is not None, "runc run: pausing payload ready", c.output()):
        return
    c.kill("TERM")
    eq(c.wait(), 143, "payload with default SIGTERM dies of the forwarded TERM: 143")


def t_create_start(make):
    """The runtime-shim way (containerd, CRI-O): create, start, kill, state."""
    c = make(["/minit", "--", "/bin/minit-helper", "signals", "15"])
    outpath = os.path.join(c.bundle, "out.txt")
    with open(outpath, "w") as out:
        p = subprocess.run([RUNC, "--root", os.path.join(TOP, "state"), "create", "--bundle",
                            c.bundle, c.id], stdin=subprocess.DEVNULL, stdout=out, stderr=out,
                           timeout=20)
    if not ok(p.returncode == 0, "runc create", open(outpath).read()):
        return
    eq(c.state(), "created", "runc state: created")
    r = runc("start", c.id)
    ok(r.rc == 0, "runc start", r)

    def has(text):
        with open(outpath) as f:
            return text in f.read()

    ok(wait_until(lambda: has("ready"), 10), "created+started payload ready", open(outpath).read())
    c.kill("TERM")
    ok(wait_until(lambda: has("sig 15"), 10), "runc kill TERM reaches the payload (create+start)",
       open(outpath).read())
    ok(wait_until(lambda: c.state() == "stopped", 10, 0.02), "the container stops after the payload exits",
       c.state())


def t_orphans_payload(make):
    c = make(["/minit", "--", "/bin/minit-helper", "orphans", "20",
              "/bin/minit-helper", "zombies-wait", "5000"])
    r = c.run()
    ok(r.rc == 0 and "zombies 0" in r.out, "20 orphans of the payload are reaped: no zombie left", r)


def t_orphans_exec(make):
    c = make(["/minit", "--", "/bin/minit-helper", "pause"]).start()
    if not ok(c.wait_text("ready") is not None, "runc run: payload ready for runc exec", c.output()):
        return
    r = c.exec("/bin/minit-helper", "orphans", "10")
    ok(r.rc == 0, "runc exec leaves 10 orphans in the container", r)
    r = c.exec("/bin/minit-helper", "zombies-wait", "5000")
    ok(r.rc == 0 and "zombies 0" in r.out, "orphans of runc exec are reaped by minit", r)
    r = c.exec("ps", "-o", "pid,stat,comm")
    zombies = [ln for ln in r.out.splitlines()[1:] if ln.split()[1:2] and ln.split()[1].startswith("Z")]
    ok(r.rc == 0 and not zombies, "ps inside the container shows no zombie", r)
    ok(any(ln.split()[:1] == ["1"] and "minit" in ln for ln in r.out.splitlines()),
       "ps shows minit as PID 1", r)
    c.kill("TERM")
    eq(c.wait(), 143, "and TERM ends it: 143")


SERVICES = """\
[service:alpha]
command = /bin/sh -c 'echo hello from alpha; exec /bin/minit-helper pause'

[service:beta]
command = /bin/minit-helper signals 15
"""


def t_services(make):
    c = make(["/minit", "-c", "/etc/minit.ini"], files={"/etc/minit.ini": SERVICES}).start()
    ok(c.wait_text("alpha | hello from alpha") is not None, "service output is prefixed: 'alpha | '",
       c.output())
    ok(c.wait_text("beta | ready") is not None, "service output is prefixed: 'beta | '", c.output())

    def status():
        r = c.exec("/minit", "ctl", "status", "--json", timeout=10)
        try:
            return r, {s["name"]: s for s in json.loads(r.out)["services"]}
        except (ValueError, KeyError, TypeError):
            return r, {}

    def both_running():
        st = status()[1]
        return all(st.get(n, {}).get("state") == "running" for n in ("alpha", "beta"))

    both = wait_until(both_running, 10, 0.05)
    r, st = status()
    ok(both, "runc exec ID /minit ctl status --json: both services running", f"{r!r}\n{st}")
    r = c.exec("/minit", "ctl", "status")
    ok(r.rc == 0 and "alpha" in r.out and "beta" in r.out, "runc exec ID /minit ctl status", r)
    r = c.kill("TERM")
    ok(r.rc == 0, "runc kill ID TERM", r)
    rc = c.wait(20)
    eq(rc, 0, "services stopped by runc kill TERM: minit exits 0")
    ok(any("beta | sig 15" in ln for ln in c.out), "beta got SIGTERM at shutdown", c.output())
    ok(not any("SIGKILL" in ln for ln in c.err), "every service stopped on SIGTERM, none killed",
       c.output())


def t_no_cgroups_left():
    left = [p for p in glob.glob(f"/sys/fs/cgroup/*/{TAG}-*") + glob.glob(f"/sys/fs/cgroup/{TAG}-*")
            if os.path.isdir(p)]
    ok(not left, "runc delete removed every cgroup of this test's containers", left)
    r = runc("list", "-q")
    eq(r.out.split(), [], "no container of this test is left (runc list)")


def main():
    global TOP, SPEC
    if RUNC is None:
        skip("runc containers", "runc not installed")
        return
    if not lib.ROOT:
        skip("runc containers", "needs root (rootless runc is not set up here)")
        return
    if not os.path.isfile(os.path.join(ROOTFS, "bin", "busybox")):
        skip("runc containers", f"no rootfs at {ROOTFS} (make rootfs)")
        return
    # Killed by tests/run.sh's timeout: still delete our containers.
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(143))
    TOP = tempfile.mkdtemp(prefix="minit-t21-")
    try:
        p = subprocess.run([RUNC, "spec", "--bundle", TOP], capture_output=True, timeout=10)
        if p.returncode != 0:
            skip("runc containers", f"runc spec failed: {p.stderr.decode(errors='replace')[:200]}")
            return
        with open(os.path.join(TOP, "config.json")) as f:
            SPEC = json.load(f)
        os.unlink(os.path.join(TOP, "config.json"))
        # Can runc run anything here? A busybox container without minit.
        probe = Container(["/bin/true"])
        try:
            r = probe.run()
        finally:
            probe.close()
        if r.rc != 0:
            skip("runc containers", f"runc cannot run a container here: {r.err.strip()[:200]}")
            return
        for t in (t_exit_status, t_signal_death, t_is_pid1, t_kill_forwarded,
                  t_kill_default_disposition, t_create_start, t_orphans_payload,
                  t_orphans_exec, t_services):
            container_test(t)
        t_no_cgroups_left()
    finally:
        # Anything still registered in our private state dir is ours.
        if os.path.isdir(os.path.join(TOP, "state")):
            for cid in runc("list", "-q").out.split():
                runc("delete", "-f", cid)
        shutil.rmtree(TOP, ignore_errors=True)


if __name__ == "__main__":
    main()
    done()
