# SPDX-License-Identifier: MIT
"""Job 3: minit --new-container ROOTFS builds the container and is its
PID 1. Each case runs the real minit on a copy of the busybox rootfs
(examples/mkrootfs.sh) and checks what the payload sees from inside and
what the host sees from outside."""
import hashlib
import os
import shutil
import signal
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.dirname(__file__))
from lib import (HELPER, MINIT, ROOT, Minit, children, done, eq, ok, on_pty, run,  # noqa: E402
                 skip, wait_until)

ROOTFS = os.environ.get("ROOTFS") or os.path.abspath("build/rootfs")
DOCKER_CAPS = 0xa80425fb
CG_BASE = f"minit-test-ct-{os.getpid()}"

if not ROOT:
    skip("container", "job 3 tests run as root (the rootless case is inside)")
    done()
if not os.path.exists(os.path.join(ROOTFS, "bin/busybox")):
    skip("container", f"no rootfs at {ROOTFS} (make rootfs)")
    done()

work = tempfile.mkdtemp(prefix="minit-test-ct-")
os.chmod(work, 0o755)


def rootfs_copy(name):
    """A private copy of the rootfs (tests that change it), with the
    static helper in /bin."""
    dst = os.path.join(work, name)
    shutil.copytree(ROOTFS, dst, symlinks=True)
    shutil.copy(HELPER, os.path.join(dst, "bin/minit-helper"))
    return dst


def ct(args, prog, **kw):
    return run(["--new-container", *args, "--", *prog], pid1=False, **kw)


def sh(rootfs, script, args=(), **kw):
    return ct([rootfs, *args], ["/bin/sh", "-c", script], **kw)


def status_field(text, key):
    for line in text.splitlines():
        if line.startswith(key + ":"):
            return line.split(":", 1)[1].strip()
    return None


R = rootfs_copy("rootfs")
try:
    # PID 1, parent 1, only the container's processes.
    r = sh(R, "echo me=$$ ppid=$PPID; ls -d /proc/[0-9]* | wc -l; cat /proc/1/cmdline | tr '\\0' ' '")
    lines = r.out.splitlines()
    eq(r.rc, 0, "a container runs")
    ok(lines and lines[0] == "me=2 ppid=1", "the program is pid 2, its parent is minit (1)", r)
    # minit, sh, ls and wc.
    ok(len(lines) > 1 and int(lines[1]) <= 4, "only the container's processes are visible", r)
    ok(len(lines) > 2 and "minit" in lines[2], "PID 1 is minit", r)

    # Hostname: the rootfs directory's name by default, or --hostname.
    r = sh(R, "hostname")
    eq(r.out.strip(), "rootfs", "hostname defaults to the rootfs's name")
    r = sh(R, "hostname", ["--hostname", "box1"])
    eq(r.out.strip(), "box1", "--hostname")

    # Host paths invisible: / is the rootfs.
    marker = os.path.join(work, "host-marker")
    open(marker, "w").close()
    r = sh(R, f"ls /; test -e {marker} && echo LEAK; test -e /work && echo LEAK2; true")
    ok("LEAK" not in r.out, "host paths are not visible", r)
    eq(sorted(r.out.split()), sorted(os.listdir(R)), "/ is the rootfs")

    # A mount made inside does not reach the host.
    mnt = os.path.join(R, "mnt")
    os.makedirs(mnt, exist_ok=True)
    r = sh(R, "mount -t tmpfs none /mnt && grep -c ' /mnt ' /proc/self/mountinfo",
           ["--cap-add", "SYS_ADMIN", "--seccomp", "unconfined"])
    eq(r.out.strip(), "1", "a mount inside (with SYS_ADMIN and no filter) works")
    with open("/proc/self/mountinfo") as f:
        ok(mnt not in f.read(), "the mount made inside is not on the host")

    # Network: only lo, and it is up; --net host shares the host's.
    r = sh(R, "cat /proc/net/dev | tail -n +3 | cut -d: -f1 | tr -d ' '; ip link show lo")
    ok(r.out.splitlines()[0:1] == ["lo"] and "UP" in r.out, "only lo, and it is up", r)
    r = sh(R, "tail -n +3 /proc/net/dev | wc -l", ["--net", "host"])
    with open("/proc/net/dev") as f:
        eq(r.out.strip(), str(len(f.read().splitlines()) - 2), "--net host: the host's interfaces")

    # Privileges: Docker's default capabilities, no_new_privs, seccomp.
    r = sh(R, "cat /proc/self/status")
    eq(int(status_field(r.out, "CapBnd") or "0", 16), DOCKER_CAPS, "CapBnd is Docker's default")
    eq(int(status_field(r.out, "CapEff") or "0", 16), DOCKER_CAPS, "CapEff is Docker's default")
    eq(int(status_field(r.out, "CapInh") or "1", 16), 0, "CapInh is empty")
    eq(int(status_field(r.out, "CapAmb") or "1", 16), 0, "CapAmb is empty")
    eq(status_field(r.out, "NoNewPrivs"), "1", "NoNewPrivs 1")
    eq(status_field(r.out, "Seccomp"), "2", "Seccomp 2 (filter)")
    r = sh(R, "grep CapBnd /proc/self/status", ["--cap-drop", "all", "--cap-add", "NET_ADMIN"])
    eq(int(status_field(r.out, "CapBnd") or "0", 16), 1 << 12, "--cap-drop all --cap-add NET_ADMIN")
    r = sh(R, "grep CapBnd /proc/self/status", ["--cap-drop", "chown"])
    eq(int(status_field(r.out, "CapBnd") or "0", 16), DOCKER_CAPS & ~1, "--cap-drop chown")
    r = sh(R, "unshare -m true; echo rc=$?")
    ok("Operation not permitted" in r.err and "rc=1" in r.out, "unshare is denied with EPERM", r)
    r = sh(R, "grep Seccomp: /proc/self/status", ["--seccomp", "unconfined"])
    eq(status_field(r.out, "Seccomp"), "0", "--seccomp unconfined")
    prof = os.path.join(work, "deny-uname.scmp")
    with open(prof, "w") as f:
        f.write("# test profile\ndeny mkdir mkdirat\n")
    r = sh(R, "mkdir /tmp/d; echo rc=$?", ["--seccomp", prof])
    ok("rc=1" in r.out and "not permitted" in r.err, "--seccomp FILE denies what it lists", r)
    with open(prof, "w") as f:
        f.write("deny no_such_call\n")
    r = sh(R, "true", ["--seccomp", prof])
    ok(r.rc == 2 and f"{prof}:1" in r.err, "a bad seccomp FILE: exit 2 naming FILE:LINE", r)

    # minit is out of the payload's reach (CVE-2019-5736, CVE-2024-21626).
    with open(MINIT, "rb") as f:
        before = hashlib.sha256(f.read()).hexdigest()
    r = sh(R, "echo x > /proc/1/exe && echo WROTE; cat /proc/1/fd/0 </dev/null && echo OPENED; "
              "ls /proc/1/root/ && echo ROOT; ls /proc/self/fd")
    ok("WROTE" not in r.out and "OPENED" not in r.out and "ROOT" not in r.out,
       "/proc/1/exe, /proc/1/fd and /proc/1/root are closed to the payload", r)
    with open(MINIT, "rb") as f:
        eq(hashlib.sha256(f.read()).hexdigest(), before, "the host's minit binary is unchanged")
    rfd, wfd = os.pipe()
    r = ct([R], ["/bin/minit-helper", "sigstate"], pass_fds=(rfd, wfd))
    os.close(rfd)
    os.close(wfd)
    ok("fds: 0 1 2\n" in r.out, "the payload starts with fds 0-2 only", r)
    r = sh(R, "pwd; readlink /proc/self/cwd")
    eq(r.out.split(), ["/", "/"], "the payload's cwd is inside the container")
    r = sh(R, "pwd; id -u; id -g; echo $HOME", ["--user", "65534:65534", "--workdir", "/tmp"])
    eq(r.out.split()[:3], ["/tmp", "65534", "65534"], "--user 65534:65534 --workdir /tmp")
    r = sh(R, "id -un; grep CapEff /proc/self/status", ["--user", "nobody"])
    ok(r.out.startswith("nobody") and int(status_field(r.out, "CapEff") or "1", 16) == 0,
       "--user nobody: looked up in the rootfs, no effective capabilities", r)
    r = sh(R, "echo $FOO $HOSTNAME; env | grep -c SECRET_HOST", ["--env", "FOO=bar"],
           env=dict(os.environ, SECRET_HOST="x"))
    eq(r.out.split(), ["bar", "rootfs", "0"], "--env, HOSTNAME, and no host variable")
    r = sh(R, "touch /newfile; echo rc=$?; touch /tmp/ok && echo tmp-ok",
           ["--readonly", "--tmpfs", "/tmp"])
    ok("rc=1" in r.out and "tmp-ok" in r.out, "--readonly root, --tmpfs /tmp writable", r)
    src = os.path.join(work, "bindsrc")
    os.makedirs(src)
    with open(os.path.join(src, "f"), "w") as f:
        f.write("from-host\n")
    r = sh(R, "cat /data/f; echo new > /data/g; echo rc=$?", ["--ro-bind", f"{src}:/data"])
    ok("from-host" in r.out and "rc=1" in r.out, "--ro-bind: visible, read-only", r)
    r = sh(R, "echo new > /data/g", ["--bind", f"{src}:/data"])
    ok(os.path.exists(os.path.join(src, "g")), "--bind: writable", r)

    # Exit status, and signals from the host.
    eq(sh(R, "exit 42").rc, 42, "the payload's exit status reaches the host")
    eq(sh(R, "kill -9 $$").rc, 128 + 9, "death by a signal: 128+N")
    eq(ct([R], ["/nonexistent"]).rc, 127, "program not found: 127")
    m = Minit(["--new-container", R, "--", "/bin/minit-helper", "signals", "15"], pid1=False)
    ok(m.expect("ready", 10), "helper up in the container")
    m.signal(signal.SIGUSR1)
    ok(m.expect("sig 10", 10), "SIGUSR1 to the monitor reaches the payload")
    m.signal(signal.SIGTERM)
    ok(m.expect("sig 15", 10), "SIGTERM reaches the payload")
    eq(m.wait(10), 0, "its exit status comes back")

    # A terminal: the payload gets it as /dev/console and the foreground.
    out, rc = on_pty(MINIT, [MINIT, "--new-container", R, "--", "/bin/sh", "-c",
                             "tty; /bin/minit-helper sigstate; exit 4"])
    ok(out.startswith("/dev/console"), "a terminal is the container's /dev/console", out)
    st = dict(line.split(": ", 1) for line in out.splitlines() if ": " in line)
    ok(st.get("fgpgrp") == st.get("pgid"), "the payload's group is the terminal's foreground", out)
    eq(rc, 4, "on a terminal: the exit status comes back")

    # Orphans are reaped inside.
    r = ct([R], ["/bin/minit-helper", "orphans", "50", "/bin/minit-helper", "zombies-wait", "5000"])
    ok("zombies 0" in r.out, "orphans are reaped by the container's minit", r)
finally:
    pass

# Hostile rootfs: symlinks pointing out of it.
for name, target in (("proc", "/"), ("dev", "/etc"), ("sys", "/tmp")):
    B = rootfs_copy("bad-" + name)
    shutil.rmtree(os.path.join(B, name))
    os.symlink(target, os.path.join(B, name))
    with open("/proc/self/mountinfo") as f:
        before = f.read().count("\n")
    r = ct([B], ["/bin/true"])
    ok(r.rc == 125 and name in r.err, f"ROOTFS/{name} -> {target}: refused with 125", r)
    with open("/proc/self/mountinfo") as f:
        eq(f.read().count("\n"), before, f"ROOTFS/{name} -> {target}: nothing mounted on the host")
ok(not os.path.exists("/etc/null") and not os.path.exists("/etc/pts"), "nothing created in /etc")
B = rootfs_copy("bad-bind")
os.symlink("/etc", os.path.join(B, "escape"))
r = ct([B, "--bind", f"{src}:/escape/minit-test-{os.getpid()}"], ["/bin/true"])
eq(r.rc, 0, "a bind through a symlink to /etc is resolved inside the rootfs")
ok(not os.path.exists(f"/etc/minit-test-{os.getpid()}") and
   os.path.isdir(os.path.join(B, f"etc/minit-test-{os.getpid()}")),
   "the bind target was created in ROOTFS/etc, not the host's /etc")

# Every failing step: 125 and one clear line.
r = ct([os.path.join(work, "missing")], ["/bin/true"])
ok(r.rc == 125 and "cannot find rootfs" in r.err and len(r.err.strip().splitlines()) == 1,
   "missing rootfs: 125, one line", r)
r = ct([marker], ["/bin/true"])
ok(r.rc == 125 and "Not a directory" in r.err, "rootfs is a file: 125", r)
r = ct([R, "--bind", "/nonexistent-src:/x"], ["/bin/true"])
ok(r.rc == 125 and "bind source" in r.err, "a missing bind source: 125", r)
r = run(["--new-container", R, "--cap-add", "bogus", "--", "/bin/true"], pid1=False)
ok(r.rc == 2 and "bogus" in r.err, "an unknown capability: 2", r)
r = run(["--new-container", R, "--net", "weird", "--", "/bin/true"], pid1=False)
ok(r.rc == 2 and "--net" in r.err, "a bad --net: 2", r)
r = run(["--hostname", "x", "--", "/bin/true"], pid1=False)
ok(r.rc == 2 and "--new-container" in r.err, "a container option alone: 2", r)

# Services inside, paused from the host, with the container's cgroup.
cg2 = None
with open("/proc/self/mountinfo") as f:
    for line in f:
        parts = line.split(" - ")
        if len(parts) == 2 and parts[1].startswith("cgroup2 "):
            cg2 = line.split()[4]
            break
S = rootfs_copy("svc")
with open(os.path.join(S, "etc/minit.ini"), "w") as f:
    f.write("""[container]
hostname = svcbox
env = GREETING=hello

[service:spin]
command = /bin/minit-helper signals
[service:hello]
command = sh -c 'echo $GREETING from $(hostname); exec sleep 1000'
""")
cfg = os.path.join(S, "etc/minit.ini")
try:
    m = Minit(["--new-container", S, "--cgroup", CG_BASE, "-c", cfg], pid1=False)
    ok(m.expect("hello | hello from svcbox", 10), "services run inside; [container] applies",
       m.lines)
    sock = os.path.join(S, "run/minit.sock")
    ok(wait_until(lambda: os.path.exists(sock), 5), "the control socket is reachable from the host")
    r = subprocess.run([MINIT, "ctl", "-S", sock, "pause", "spin"], capture_output=True,
                       timeout=20, text=True)
    if cg2 is None:
        skip("pause from the host", "no cgroup2 mount")
    else:
        eq(r.returncode, 0, "pause from the host")
        r = subprocess.run([MINIT, "ctl", "-S", sock, "status", "spin"], capture_output=True,
                           timeout=20, text=True)
        ok("paused" in r.stdout, "status says paused", r.stdout)
        with open(os.path.join(cg2, CG_BASE, "services/spin/cgroup.freeze")) as f:
            eq(f.read().strip(), "1", "the service's cgroup is frozen on the host")
        with open(os.path.join(cg2, CG_BASE, "init/cgroup.freeze")) as f:
            eq(f.read().strip(), "0", "minit's own cgroup is not")
    r = subprocess.run([MINIT, "ctl", "-S", sock, "shutdown"], capture_output=True, timeout=20)
    eq(m.wait(20), 0, "shutdown from the host: exit 0")
    ok(cg2 is None or not os.path.exists(os.path.join(cg2, CG_BASE)),
       "the container's cgroup is removed")
finally:
    if cg2 is not None and os.path.exists(os.path.join(cg2, CG_BASE)):
        subprocess.run(["sh", "-c", f"echo 1 > {cg2}/{CG_BASE}/cgroup.kill; "
                        f"find {cg2}/{CG_BASE} -depth -type d -exec rmdir {{}} \\;"],
                       timeout=10)

# Limits of the whole container, in its cgroup: v2 where the host has the
# controller there, else (this hybrid host: memory, pids, cpu) v1 mirrors
# that the container's PID 1 joins before it is let go.
CG_LIM = CG_BASE + "-lim"


def host_cgroup_file(pid, ctrl, name):
    """The host's path of file `name` of process pid's cgroup for ctrl: v2
    when ctrl is enabled there (the file exists), else its v1 hierarchy."""
    paths, mounts = {}, {}
    with open(f"/proc/{pid}/cgroup") as f:
        for line in f:
            num, ctrls, path = line.rstrip("\n").split(":", 2)
            for c in ctrls.split(",") if ctrls else ["v2"]:
                paths[c] = path
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ")
            fs, _, opts = post.split()[:3]
            if fs == "cgroup2":
                mounts.setdefault("v2", pre.split()[4])
            elif fs == "cgroup":
                for c in opts.split(","):
                    mounts.setdefault(c, pre.split()[4])
    for key in ("v2", ctrl):
        if key in mounts and key in paths:
            f = os.path.join(mounts[key], paths[key].lstrip("/"), name[key == ctrl])
            if os.path.exists(f):
                return f
    return None


def remove_cgroup_everywhere(name):
    with open("/proc/self/mountinfo") as f:
        for line in f:
            pre, post = line.split(" - ")
            if post.startswith("cgroup"):
                subprocess.run(["sh", "-c", f"find {pre.split()[4]} -depth -type d "
                                f"-name '{name}*' -exec rmdir {{}} + 2>/dev/null"], timeout=10)


L = rootfs_copy("limits")
try:
    m = Minit(["--new-container", L, "--cgroup", CG_LIM, "--pids-max", "20",
               "--cpu-max", "20000 100000", "--", "/bin/minit-helper", "forkbomb", "100"],
              pid1=False)
    line = m.expect("forked", 30)
    ok(line is not None and int(line.split()[1]) <= 19 and int(line.split()[3]) >= 81,
       "--pids-max 20: a fork bomb in the container runs into it", line)
    kids = children(m.pid)
    f = host_cgroup_file(kids[0], "cpu", ("cpu.max", "cpu.cfs_quota_us")) if kids else None
    if f is None:
        skip("--cpu-max on the host", "no cpu controller found")
    else:
        with open(f) as fh:
            got = fh.read().split()
        ok(got[0] == "20000", f"--cpu-max 20000 100000: {f} says {got}")
    f = host_cgroup_file(kids[0], "pids", ("pids.max", "pids.max")) if kids else None
    if f is not None:
        with open(f) as fh:
            eq(fh.read().strip(), "20", "pids.max of the container's cgroup")
    m.signal(signal.SIGTERM)
    eq(m.wait(20), 143, "the fork bomb's container ends with SIGTERM: 143")
    ok(f is None or not os.path.exists(os.path.dirname(f)), "its cgroup (v1 mirror too) removed")

    r = ct([L, "--cgroup", CG_LIM, "--memory-max", "32M"],
           ["/bin/sh", "-c", 'x=$(head -c 100000000 /dev/zero | tr "\\0" a); echo ${#x}'],
           timeout=60)
    ok(r.rc == 137 and "OOM killer killed" in r.err,
       "--memory-max 32M: the hog is OOM-killed, 137, and the monitor says so", r)

    with open(os.path.join(work, "lim.ini"), "w") as fh:
        fh.write(f"[container]\ncgroup = {CG_LIM}\npids_max = 5\n"
                 "[service:bomb]\ncommand = /bin/minit-helper forkbomb 20\n")
    m = Minit(["--new-container", L, "-c", os.path.join(work, "lim.ini")], pid1=False)
    line = m.expect("bomb | forked", 30)
    ok(line is not None and int(line.split()[3]) <= 3,
       "[container] pids_max = 5 holds for the services inside (minit counts too)", line)
    m.signal(signal.SIGTERM)
    eq(m.wait(20), 0, "the services' container shuts down: 0")

    r = ct([L, "--memory-max", "64M"], ["/bin/true"])
    ok(r.rc == 2 and "--memory-max needs --cgroup" in r.err, "a limit without --cgroup: 2", r)
    r = ct([L, "--cgroup", CG_LIM, "--pids-max", "lots"], ["/bin/true"])
    ok(r.rc == 2 and "--pids-max lots" in r.err, "a bad --pids-max: 2 naming it", r)
    r = ct([L, "--cgroup", CG_LIM, "--cpu-max", "10 20"], ["/bin/true"])
    ok(r.rc == 2 and "--cpu-max" in r.err, "a bad --cpu-max: 2 naming it", r)
    with open(os.path.join(work, "badlim.ini"), "w") as fh:
        fh.write("[container]\nmemory_max = lots\n[service:x]\ncommand = true\n")
    r = run(["--new-container", L, "-n", "-c", os.path.join(work, "badlim.ini")], pid1=False)
    ok(r.rc == 2 and "badlim.ini:2" in r.err and "memory_max" in r.err,
       "a bad [container] memory_max: 2 naming FILE:LINE", r)
finally:
    remove_cgroup_everywhere(CG_LIM)

r = run(["--new-container", S, "-n", "-c", cfg], pid1=False)
ok(r.rc == 0 and "ok" in r.out, "-n validates the config and the container options", r)
with open(os.path.join(work, "bad.ini"), "w") as f:
    f.write("[container]\nnet = sideways\n[service:x]\ncommand = true\n")
r = run(["--new-container", S, "-n", "-c", os.path.join(work, "bad.ini")], pid1=False)
ok(r.rc == 2 and "bad.ini:2" in r.err, "a bad [container] line: exit 2 naming FILE:LINE", r)

# Rootless: an ordinary user with --userns.
U = rootfs_copy("rootless")
mcopy = os.path.join(work, "minit")
shutil.copy(MINIT, mcopy)
os.chmod(mcopy, 0o755)
r = subprocess.run(["setpriv", "--reuid", "65534", "--regid", "65534", "--clear-groups", mcopy,
                    "--new-container", U, "--userns", "--", "/bin/sh", "-c",
                    "id -u; hostname; cat /proc/self/uid_map; ls /dev/null; exit 3"],
                   capture_output=True, text=True, timeout=30)
out = r.stdout.split()
ok(r.returncode == 3 and out[:2] == ["0", "rootless"] and "65534" in out,
   "rootless --userns: root inside, mapped to the caller, exit status back",
   f"rc={r.returncode} out={r.stdout!r} err={r.stderr!r}")

shutil.rmtree(work, ignore_errors=True)
done()
