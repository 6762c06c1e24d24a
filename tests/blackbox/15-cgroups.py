# SPDX-License-Identifier: MIT
"""Cgroups, on this machine's real hierarchies (cleaned up even on
failure): pause freezes a CPU-bound service (its CPU time stops) and
resume thaws it; pause with 500 processes; pause and resume of every
service at once; stopping a paused service; a double-forked daemon killed
at stop; no leaf and no process left after shutdown; a pids limit stops
a fork bomb (through v1 on a hybrid host) and minit survives; an OOM kill
reported; without cgroups, pause says why and exits 1."""
import os
import signal
import sys
import time

sys.path.insert(0, os.path.dirname(__file__))
from lib import HELPER, ROOT, Services, can_unshare, done, eq, ok, skip, wait_until  # noqa: E402


def v2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            parts = line.split()
            sep = parts.index("-")
            if parts[sep + 1] == "cgroup2":
                return parts[4]
    return None


MNT = v2_mount()
if not ROOT or not can_unshare() or MNT is None or not os.access(MNT, os.W_OK):
    skip("cgroups", "needs root and a writable cgroup2 mount")
    done()

BASE = f"minit-test-{os.getpid()}"
V1 = [f"/sys/fs/cgroup/{c}" for c in ("memory", "pids", "cpu,cpuacct", "cpu", "cpuacct", "freezer")]


def rmtree_cgroup(top):
    """rmdir depth-first; kill what is left first (cgroup.kill) so that
    rmdir cannot fail on EBUSY for long."""
    if not os.path.isdir(top):
        return
    for dirpath, dirs, _ in os.walk(top, topdown=False):
        kill = os.path.join(dirpath, "cgroup.kill")
        if os.path.exists(kill):
            try:
                with open(kill, "w") as f:
                    f.write("1")
            except OSError:
                pass
        wait_until(lambda: _try_rmdir(dirpath), 5, 0.01)


def _try_rmdir(d):
    try:
        os.rmdir(d)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def v1_selves():
    """This process's cgroup in each v1 hierarchy: minit puts its v1
    mirrors under its own v1 cgroup when its v2 cgroup is the root."""
    out = {""}
    with open("/proc/self/cgroup") as f:
        for line in f:
            _, ctrls, path = line.rstrip("\n").split(":", 2)
            if ctrls:
                out.add(path.lstrip("/"))
    return out


def cleanup():
    rmtree_cgroup(os.path.join(MNT, BASE))
    for v in V1:
        for self_path in v1_selves():
            rmtree_cgroup(os.path.join(v, self_path, BASE))


def cpu(s, name):
    return s.status().get(name, {}).get("cpu_usec")


HEAD = f"""
[minit]
cgroup = {BASE}
log_level = info
"""

try:
    s = Services(HEAD + """
[service:spin]
command = sh -c 'while :; do :; done'
startsecs = 0
[service:many]
command = sh -c 'for i in $(seq 500); do sleep 1000 & done; echo forked; wait'
startsecs = 0
[service:daemon]
command = sh -c '@HELPER@ daemon /dev/null ignore; exec @HELPER@ pause'
startsecs = 0
""")
    try:
        ok(s.wait_state("spin", "running"), "spin running")
        ok(os.path.isdir(os.path.join(MNT, BASE, "services", "spin")), "spin has its leaf")
        ok(os.path.isdir(os.path.join(MNT, BASE, "init")), "minit sits in L/init")
        procs = open(os.path.join(MNT, BASE, "init", "cgroup.procs")).read().split()
        eq(len(procs), 1, "only minit in L/init")
        r = s.ctl("pause", "spin")
        eq(r.rc, 0, "pause spin: confirmed frozen")
        eq(s.status()["spin"]["state"], "paused", "status says paused")
        events = open(os.path.join(MNT, BASE, "services", "spin", "cgroup.events")).read()
        ok("frozen 1" in events, "cgroup.events says frozen 1", events)
        c1 = cpu(s, "spin")
        time.sleep(1.0)  # measuring that nothing runs, not synchronising
        c2 = cpu(s, "spin")
        ok(c1 is not None and c2 - c1 < 20000, f"paused: CPU time stopped ({c1} -> {c2} usec)")
        eq(s.ctl("resume", "spin").rc, 0, "resume spin")
        c3 = cpu(s, "spin")
        ok(wait_until(lambda: cpu(s, "spin") - c3 > 100000, 5), "resumed: CPU time advances")

        ok(s.wait_text("many | forked", 30), "500 processes forked")
        ok(wait_until(lambda: (s.status()["many"].get("pids") or 0) >= 500 or
                      len(open(os.path.join(MNT, BASE, "services", "many", "cgroup.procs"))
                          .read().split()) >= 500, 20), "500 processes in the leaf")
        r = s.ctl("pause", "many")
        eq(r.rc, 0, "pause with 500 processes reaches frozen 1")

        r = s.ctl("pause")
        eq(r.rc, 0, "pause every service at once")
        st = s.status()
        ok(all(v["state"] == "paused" for v in st.values()), "all paused",
           {k: v["state"] for k, v in st.items()})
        eq(s.ctl("resume").rc, 0, "resume every service")
        ok(all(v["state"] != "paused" for v in s.status().values()), "none paused")

        eq(s.ctl("pause", "spin").rc, 0, "pause spin again")
        eq(s.ctl("stop", "spin").rc, 0, "stop a paused service")
        ok(s.wait_state("spin", "stopped", 10), "a paused service stops", s.status())
        ok(wait_until(lambda: not os.path.exists(os.path.join(MNT, BASE, "services", "spin")), 5),
           "a stopped service's cgroup is removed")

        dpid = None
        for p in open(os.path.join(MNT, BASE, "services", "daemon", "cgroup.procs")).read().split():
            try:
                if "pause" not in open(f"/proc/{p}/cmdline").read():
                    dpid = int(p)
            except OSError:
                pass
        ok(dpid is not None, "the double-forked daemon sits in the service's leaf")
        eq(s.ctl("stop", "daemon").rc, 0, "stop the daemon service")
        ok(s.wait_state("daemon", "stopped", 10), "daemon service stopped")
        ok(wait_until(lambda: not os.path.exists(f"/proc/{dpid}") or
                      open(f"/proc/{dpid}/stat").read().split(")")[1].split()[0] == "Z", 5),
           "the double-forked daemon was killed with its cgroup")
        eq(s.stop(timeout=30), 0, "shutdown")
        svc = os.path.join(MNT, BASE, "services")
        ok(not os.path.exists(svc) or not [d for d in os.listdir(svc)
                                           if os.path.isdir(os.path.join(svc, d))],
           "no service leaf left after shutdown")
    finally:
        s.close()

    # Limits through v1 on a hybrid host (v2 where it has the controller).
    s = Services(HEAD + """
[service:bomb]
command = @HELPER@ forkbomb 100
pids_max = 20
startsecs = 0
[service:hog]
command = python3 -c 'x = bytearray(512 * 1024 * 1024); print(len(x))'
memory_max = 64M
autorestart = false
""")
    try:
        line = s.wait_text("bomb | forked", 30)
        ok(line and int(line.split()[3]) <= 19 and int(line.split()[5]) >= 81,
           "the fork bomb ran into its limit", line)
        n = s.status()["bomb"].get("pids")
        ok(n is not None and n <= 20, f"pids_max = 20 holds (pids {n})")
        ok(s.wait_state("hog", "failed", 30), "the memory hog ends", s.status())
        st = s.status()["hog"]
        ok(st["last_exit"] == 137 and st.get("last_exit_oom"), "OOM kill reported in status", st)
        ok(s.wait_text("OOM killer", stream="err"), "OOM kill logged")
        eq(s.stop(timeout=30), 0, "minit survives and shuts down")
        left = [p for p in [os.path.join(MNT, BASE)] +
                [os.path.join(v, sp, BASE) for v in V1 for sp in v1_selves()]
                if os.path.exists(p)]
        eq(left, [], "minit removed its cgroups at exit, v1 mirrors included")
    finally:
        s.close()

    # Job 1 with --cgroup: the program in PATH/payload, minit in PATH/init.
    from lib import run
    r = run(["--cgroup", BASE, "--", "sh", "-c",
             'grep "^0::" /proc/self/cgroup; grep "^0::" /proc/1/cgroup'])
    eq(r.out.split(), [f"0::/{BASE}/payload", f"0::/{BASE}/init"],
       "job 1 --cgroup: the program in payload, minit in init")
    eq(r.rc, 0, "job 1 --cgroup: exit status")
    ok(not os.path.exists(os.path.join(MNT, BASE)), "job 1 removed its cgroups at exit")

    # Without cgroups: pause says why, exits 1; services run as before.
    s = Services("""
[minit]
cgroup = none
[service:a]
command = @HELPER@ pause
startsecs = 0
""")
    try:
        ok(s.wait_state("a", "running"), "runs without cgroups")
        r = s.ctl("pause", "a")
        ok(r.rc == 1 and "not available" in r.err, "pause without cgroups: exit 1 and why", r)
        s.stop()
    finally:
        s.close()
finally:
    cleanup()
    ok(not os.path.exists(os.path.join(MNT, BASE)), "test cgroups removed")
done()
