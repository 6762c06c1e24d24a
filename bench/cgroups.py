#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Cgroup benchmark for minit job 2 (issue 4's targets):
  - pause a service with 1,000 processes until cgroup.events says frozen 1
    (`minit ctl pause` returns only then), and resume it;
  - stop a service with 1,000 processes: all gone and reaped, measured from
    `minit ctl stop` to the service's leaf being empty.
Medians over several rounds. Needs root and a writable cgroup2 mount; uses
a cgroup of its own (minit-bench-PID) and removes it at the end.

    python3 bench/cgroups.py --minit build/minit --helper build/tests/helper/minit-helper
"""
import argparse
import json
import os
import signal
import statistics
import subprocess
import sys
import tempfile
import time


def v2_mount():
    with open("/proc/self/mountinfo") as f:
        for line in f:
            p = line.split()
            if p[p.index("-") + 1] == "cgroup2":
                return p[4]
    return None


def wait_until(pred, timeout, interval=0.002):
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if pred():
            return True
        time.sleep(interval)
    return pred()


def rm_cgroup(top):
    if not os.path.isdir(top):
        return
    for d, _, _ in os.walk(top, topdown=False):
        try:
            with open(os.path.join(d, "cgroup.kill"), "w") as f:
                f.write("1")
        except OSError:
            pass
        wait_until(lambda: _rmdir(d), 5, 0.01)


def _rmdir(d):
    try:
        os.rmdir(d)
        return True
    except FileNotFoundError:
        return True
    except OSError:
        return False


def ctl(minit, sock, *args):
    t0 = time.perf_counter()
    r = subprocess.run([minit, "ctl", "-S", sock, *args], capture_output=True, timeout=60)
    return time.perf_counter() - t0, r


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--minit", default="build/minit")
    ap.add_argument("--helper", default="build/tests/helper/minit-helper")
    ap.add_argument("--procs", type=int, default=1000)
    ap.add_argument("--rounds", type=int, default=7)
    ap.add_argument("--json", default="build/bench-cgroups.json")
    a = ap.parse_args()
    mnt = v2_mount()
    if os.geteuid() != 0 or mnt is None or not os.access(mnt, os.W_OK):
        print("skipped: needs root and a writable cgroup2 mount")
        return 0
    base = f"minit-bench-{os.getpid()}"
    tmp = tempfile.mkdtemp(prefix="minit-bench-cg-")
    sock = os.path.join(tmp, "minit.sock")
    conf = os.path.join(tmp, "bench.ini")
    helper = os.path.abspath(a.helper)
    with open(conf, "w") as f:
        f.write(f"[minit]\ncgroup = {base}\n"
                f"[service:big]\ncommand = {helper} forkbomb {a.procs - 1}\nstartsecs = 0\n"
                f"stopwaitsecs = 30s\nautostart = no\n")
    p = subprocess.Popen(["unshare", "--pid", "--fork", "--mount-proc", "--kill-child",
                          os.path.abspath(a.minit), "-S", sock, "-c", conf],
                         stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                         preexec_fn=os.setpgrp)
    procs_file = os.path.join(mnt, base, "services", "big", "cgroup.procs")
    res = {"pause_ms": [], "resume_ms": [], "stop_ms": [], "procs": a.procs}
    try:
        wait_until(lambda: os.path.exists(sock), 10)
        for _ in range(a.rounds):
            ctl(a.minit, sock, "start", "big")
            if not wait_until(lambda: os.path.exists(procs_file) and
                              len(open(procs_file).read().split()) >= a.procs, 60):
                print("the service did not reach its process count", file=sys.stderr)
                return 1
            t, r = ctl(a.minit, sock, "pause", "big")
            if r.returncode != 0:
                print("pause failed:", r.stderr.decode(), file=sys.stderr)
                return 1
            res["pause_ms"].append(t * 1000)
            t, r = ctl(a.minit, sock, "resume", "big")
            res["resume_ms"].append(t * 1000)
            t0 = time.perf_counter()
            ctl(a.minit, sock, "stop", "big")
            wait_until(lambda: not os.path.exists(procs_file) or
                       not open(procs_file).read().split(), 30, 0.0005)
            res["stop_ms"].append((time.perf_counter() - t0) * 1000)
            wait_until(lambda: json.loads(ctl(a.minit, sock, "status", "--json", "big")[1]
                                          .stdout)["services"][0]["state"] == "stopped", 10)
    finally:
        try:
            os.killpg(p.pid, signal.SIGKILL)
        except ProcessLookupError:
            pass
        p.wait()
        rm_cgroup(os.path.join(mnt, base))
        for c in ("memory", "pids", "cpu,cpuacct", "freezer"):
            rm_cgroup(os.path.join("/sys/fs/cgroup", c, base))
    print(f"# minit cgroup benchmark: a service with {a.procs} processes, {a.rounds} rounds\n")
    print("| operation | median ms | min ms | max ms | target |")
    print("|---|---:|---:|---:|---|")
    targets = {"pause_ms": "< 50 ms", "resume_ms": "< 10 ms", "stop_ms": "< 100 ms after the timeout"}
    names = {"pause_ms": "pause to frozen 1 (ctl round trip)",
             "resume_ms": "resume (ctl round trip)",
             "stop_ms": "stop: all gone and reaped (TERM, no timeout needed)"}
    for k in ("pause_ms", "resume_ms", "stop_ms"):
        v = res[k]
        print(f"| {names[k]} | {statistics.median(v):.1f} | {min(v):.1f} | {max(v):.1f} | {targets[k]} |")
    os.makedirs(os.path.dirname(a.json) or ".", exist_ok=True)
    with open(a.json, "w") as f:
        json.dump(res, f, indent=1)
    return 0


if __name__ == "__main__":
    sys.exit(main())
