#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""Container start: `minit --new-container ROOTFS -- /bin/true` side by
side with bwrap, unshare+chroot, a bare chroot, runc and crun, all in the
same run; and the memory minit holds while a container runs `sleep`.

    python3 bench/container.py [--minit build/minit] [--minit-static build-static/minit]
        [--rootfs build/rootfs] [--runs N] [--quick] [--json OUT]

Markdown tables go to stdout, progress to stderr, every number (the
per-run samples included) to --json (default build/bench-container.json).
bench/CONTAINER.md says what is measured and how to read it. Needs root.
A command that does not run here is reported in one line and left out;
the others are measured anyway. Python 3 standard library, plus hyperfine
when installed (otherwise an interleaved spawn-and-wait loop). Every
process started here is ended (its tree) on the way out, and every
runc/crun container lives in a private state directory (--root) that is
deleted with it; nothing else is ever signalled.
"""

import argparse
import contextlib
import ctypes
import json
import math
import os
import random
import select
import shlex
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
TAG = f"minit-bench-{os.getpid()}"
LIVE = {}  # pid -> Popen, for cleanup
USE_HYPERFINE = True
NOTES = []


def log(msg):
    print(f"[container {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def tool(name):
    return shutil.which(name, path=ENV["PATH"])


# ---------------------------------------------------------------------------
# Processes


def become_subreaper():
    """Orphans of what we start (a container's processes after its monitor
    was killed) come back to this script, to be reaped here."""
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        log(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")


def children(pid):
    kids = []
    with contextlib.suppress(OSError):
        for tid in os.listdir(f"/proc/{pid}/task"):
            with contextlib.suppress(OSError, ValueError):
                with open(f"/proc/{pid}/task/{tid}/children") as f:
                    kids += [int(x) for x in f.read().split()]
    return kids


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        for c in children(todo.pop()):
            out.append(c)
            todo.append(c)
    return out


def kill_tree(pid):
    """SIGKILL the deepest processes first (a container's PID 1 takes its
    namespace with it), then pid itself."""
    for p in reversed(descendants(pid)):
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.kill(pid, signal.SIGKILL)


def reap_strays():
    me = os.getpid()
    for _ in range(500):
        strays = [p for p in children(me) if p not in LIVE]
        if not strays:
            return
        for p in strays:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(p, os.WNOHANG)
        time.sleep(0.01)
    log(f"could not reap {strays}")


def popen(argv):
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=ENV, start_new_session=True)
    LIVE[p.pid] = p
    return p


def stop(p, timeout=10.0):
    """End a Popen's tree: the payload first, then the rest, and reap it."""
    if p.poll() is None:
        kill_tree(p.pid)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        log(f"pid {p.pid} did not die within {timeout}s of SIGKILL")
    if p.stderr:
        p.stderr.close()
    LIVE.pop(p.pid, None)
    reap_strays()


def run_capture(argv, timeout=30.0):
    """(exit code or None on timeout, stderr)."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.DEVNULL,
                         stderr=subprocess.PIPE, env=ENV, start_new_session=True)
    LIVE[p.pid] = p
    try:
        _, err = p.communicate(timeout=timeout)
        code = p.returncode
    except subprocess.TimeoutExpired:
        kill_tree(p.pid)
        _, err = p.communicate(timeout=10)
        code = None
    LIVE.pop(p.pid, None)
    return code, err.decode(errors="replace")


def wait_until(pred, timeout=10.0, interval=0.005):
    end = time.monotonic() + timeout
    while True:
        v = pred()
        if v or time.monotonic() > end:
            return v
        time.sleep(interval)


def cleanup_all():
    for pid, p in list(LIVE.items()):
        kill_tree(pid)
        with contextlib.suppress(subprocess.TimeoutExpired, OSError):
            p.wait(5.0)
        LIVE.pop(pid, None)
    reap_strays()


# ---------------------------------------------------------------------------
# The contenders


class Runtime:
    def __init__(self, name, what, argv_for, after=None):
        self.name = name
        self.what = what  # what it sets up, for the table
        self.argv_for = argv_for  # payload argv -> full argv
        self.after = after  # cleanup after a long-running instance (runc delete)
        self.error = None


def make_bundle(top, rootfs, cid, args):
    """An OCI bundle from `runc spec`, on ROOTFS (read-only, not copied)."""
    bundle = os.path.join(top, f"bundle-{cid}")
    os.makedirs(bundle)
    subprocess.run([tool("runc"), "spec", "--bundle", bundle], check=True, timeout=10,
                   env=ENV, capture_output=True)
    path = os.path.join(bundle, "config.json")
    with open(path) as f:
        c = json.load(f)
    c["process"]["args"] = list(args)
    c["process"]["terminal"] = False
    c["root"] = {"path": rootfs, "readonly": True}
    c["linux"]["cgroupsPath"] = "/" + cid
    with open(path, "w") as f:
        json.dump(c, f, indent=1)
    return bundle


def runtimes(args, top):
    rootfs = args.rootfs
    out = []

    def minit_rt(name, path):
        return Runtime(name, "pid, mount, uts, ipc, cgroup, net ns; /proc, /sys, /dev; "
                       "pivot_root",
                       lambda prog: [path, "--new-container", rootfs, "--", *prog])

    out.append(minit_rt("minit", args.minit))
    # The same without the default seccomp filter: what the filter costs.
    out.append(Runtime("minit --seccomp unconfined", "as minit, no seccomp filter",
                       lambda prog: [args.minit, "--new-container", rootfs, "--seccomp",
                                     "unconfined", "--", *prog]))
    if args.minit_static and os.path.exists(args.minit_static):
        out.append(minit_rt("minit-static", args.minit_static))
    if tool("bwrap"):
        out.append(Runtime("bwrap", "user, pid, mount, ipc, uts, net, cgroup ns; /proc, /dev",
                           lambda prog: [tool("bwrap"), "--unshare-all", "--bind", rootfs, "/",
                                         "--proc", "/proc", "--dev", "/dev", *prog]))
    out.append(Runtime("unshare+chroot", "pid, mount, ipc, uts, net ns; chroot, no /proc",
                       lambda prog: [tool("unshare"), "-fpmiun", tool("chroot"), rootfs, *prog]))
    out.append(Runtime("chroot", "chroot only: fork + exec + chroot(2)",
                       lambda prog: [tool("chroot"), rootfs, *prog]))
    for rt in ("runc", "crun"):
        if not tool(rt):
            continue
        state = os.path.join(top, f"{rt}-state")

        def argv_for(prog, rt=rt, state=state):
            cid = f"{TAG}-{rt}-{'-'.join(os.path.basename(a) for a in prog[:1])}"
            bundle = os.path.join(top, f"bundle-{cid}")
            if not os.path.isdir(bundle):
                make_bundle(top, rootfs, cid, prog)
            return [tool(rt), "--root", state, "run", "--bundle", bundle, cid]

        def after(prog, rt=rt, state=state):
            cid = f"{TAG}-{rt}-{'-'.join(os.path.basename(a) for a in prog[:1])}"
            run_capture([tool(rt), "--root", state, "delete", "-f", cid], 20)

        out.append(Runtime(f"{rt} run", "OCI: pid, mount, ipc, uts, net ns; cgroups; "
                           "mounts, masked paths, caps, seccomp", argv_for, after))
    return out


def preflight(rts):
    """Run each contender once; keep those that exit 0."""
    ok = []
    for r in rts:
        try:
            argv = r.argv_for(["/bin/true"])
            code, err = run_capture(argv, 30)
        except (OSError, subprocess.SubprocessError) as e:
            code, err = None, str(e)
        if code == 0:
            ok.append(r)
            continue
        lines = [ln.strip() for ln in err.splitlines() if ln.strip()]
        reason = lines[-1] if lines else ("timed out" if code is None else "no message")
        r.error = f"does not run here: {reason} (exit {code})"
        if r.after:
            r.after(["/bin/true"])
        print(f"{r.name}: {r.error}", flush=True)
        log(f"{r.name}: {r.error}: {' '.join(argv)}")
    return ok


# ---------------------------------------------------------------------------
# Start time


def hyperfine_round(rts, runs, warmup, top, k):
    out = os.path.join(top, f"hyperfine-{k}.json")
    cmd = [tool("hyperfine"), "-N", "--style", "basic", "--warmup", str(warmup),
           "--runs", str(runs), "--export-json", out]
    for r in rts:
        cmd += ["-n", r.name, shlex.join(r.argv_for(["/bin/true"]))]
    p = subprocess.run(cmd, stdin=subprocess.DEVNULL, stdout=sys.stderr, stderr=sys.stderr,
                       env=ENV, timeout=600)
    if p.returncode != 0:
        raise RuntimeError(f"hyperfine exited {p.returncode}")
    with open(out) as f:
        res = json.load(f)["results"]
    return {x["command"]: [t * 1000.0 for t in x["times"]] for x in res}


def loop_round(rts, runs, warmup):
    """Without hyperfine: spawn + wait, the contenders interleaved."""
    devnull = os.open(os.devnull, os.O_RDWR)
    acts = [(os.POSIX_SPAWN_DUP2, devnull, fd) for fd in (0, 1, 2)]
    times = {r.name: [] for r in rts}
    argvs = {r.name: r.argv_for(["/bin/true"]) for r in rts}
    for i in range(warmup + runs):
        order = list(rts)
        random.shuffle(order)
        for r in order:
            t0 = time.perf_counter_ns()
            pid = os.posix_spawn(argvs[r.name][0], argvs[r.name], ENV, file_actions=acts)
            _, st = os.waitpid(pid, 0)
            dt = time.perf_counter_ns() - t0
            if os.waitstatus_to_exitcode(st) != 0:
                raise RuntimeError(f"{r.name} exited {os.waitstatus_to_exitcode(st)}")
            if i >= warmup:
                times[r.name].append(dt / 1e6)
    os.close(devnull)
    return times


def measure_start(rts, args, top):
    """ROUNDS short rounds, the contenders in a new random order each round
    (so that a busy spell of the machine does not land on one of them)."""
    rounds = 2 if args.quick else 10
    per = max(3, math.ceil(args.runs / rounds))
    warmup = 3
    times = {r.name: [] for r in rts}
    for k in range(rounds):
        order = list(rts)
        random.shuffle(order)
        log(f"start time: round {k + 1}/{rounds}, {per} runs each: "
            + ", ".join(r.name for r in order))
        try:
            got = run_round(order, per, warmup, top, k)
        except (RuntimeError, OSError, subprocess.SubprocessError) as e:
            # One contender failed in the middle: measure them one by one
            # and drop the one that fails, saying so.
            log(f"round {k + 1}: {e}; again one command at a time")
            got = {}
            for r in order:
                try:
                    got.update(run_round([r], per, warmup, top, f"{k}-{r.name}"))
                except (RuntimeError, OSError, subprocess.SubprocessError) as e1:
                    r.error = f"failed during the runs: {e1}"
                    print(f"{r.name}: {r.error}", flush=True)
        for name, ts in got.items():
            times[name] += ts
    for r in rts:
        if r.error:
            times.pop(r.name, None)
    return times


def run_round(rts, per, warmup, top, k):
    if USE_HYPERFINE:
        return hyperfine_round(rts, per, warmup, top, k)
    return loop_round(rts, per, warmup)


def pct(xs, q):
    s = sorted(xs)
    return s[min(len(s) - 1, max(0, int(round(q / 100.0 * (len(s) - 1)))))]


def report_start(rts, times, failed):
    med = {n: statistics.median(ts) for n, ts in times.items() if ts}
    rts = [r for r in rts if r.name in med]
    if not rts:
        print("\nNo start time measured: no command ran.\n")
        return {"median_ms": {}, "verdict": {}}
    base = med.get("minit")
    print("\n## Start and stop a container running /bin/true\n")
    print(f"Median and p90 over {max(len(t) for t in times.values())} runs each "
          f"({'hyperfine -N' if USE_HYPERFINE else 'spawn + waitpid loop, interleaved'}); "
          "x minit = median / minit's median.\n")
    print("| command | sets up | median ms | p90 ms | x minit |")
    print("|---|---|---:|---:|---:|")
    for r in sorted(rts, key=lambda r: med.get(r.name, 1e9)):
        ts = times[r.name]
        ratio = f"{med[r.name] / base:.2f}" if base else "-"
        print(f"| {r.name} | {r.what} | {med[r.name]:.2f} | {pct(ts, 90):.2f} | {ratio} |")
    for r in failed:
        print(f"| {r.name} | {r.what} | - | - | {r.error} |")
    print()
    verdict = {}
    ch = med.get("chroot")
    for m in ("minit", "minit-static"):
        if m not in med:
            continue
        if ch:
            verdict[f"{m}/chroot"] = med[m] / ch
            ok = "meets" if med[m] / ch <= 1.5 else "MISSES"
            print(f"- {m} / chroot = {med[m] / ch:.2f} ({ok} the target of <= 1.5)")
        for peer in ("bwrap", "unshare+chroot"):
            if peer in med:
                verdict[f"{m}/{peer}"] = med[m] / med[peer]
                word = "faster" if med[m] < med[peer] else "NOT faster"
                print(f"- {m} / {peer} = {med[m] / med[peer]:.2f} ({word} than {peer})")
    if "minit" not in med:
        print("- minit --new-container did not run, so there is no ratio to it")
    return {"median_ms": med, "verdict": verdict}


# ---------------------------------------------------------------------------
# Memory


def rollup(pid):
    out = {}
    with open(f"/proc/{pid}/smaps_rollup") as f:
        for ln in f:
            k, _, v = ln.partition(":")
            if k in ("Rss", "Pss", "Private_Clean", "Private_Dirty"):
                out[k] = int(v.split()[0])
    return out


def status_of(pid):
    out = {}
    with open(f"/proc/{pid}/status") as f:
        for ln in f:
            k, _, v = ln.partition(":")
            out[k] = v.strip()
    return out


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def memory_one(rt, settle):
    """Start RT running `sleep 100`; once the sleep runs, read smaps_rollup
    of every process of the tree but the sleep itself, as seen from the
    host. Returns a list of {pid, comm, nspid, role, private_kb, ...}."""
    prog = ["/bin/sleep", "100"]
    p = popen(rt.argv_for(prog))
    try:
        def sleeping():
            if p.poll() is not None:
                raise RuntimeError(f"exited {p.returncode}: "
                                   f"{p.stderr.read().decode(errors='replace').strip()[-300:]}")
            return [d for d in descendants(p.pid) if comm(d) == "sleep"]

        s = wait_until(sleeping, 15)
        if not s:
            raise RuntimeError("no sleep process after 15 s")
        time.sleep(settle)  # let the monitor and init settle into their wait
        rows = []
        tree = [p.pid] + descendants(p.pid)
        for pid in tree:
            if pid in s:
                continue
            st = status_of(pid)
            nspid = st.get("NSpid", "").split()
            roll = rollup(pid)
            if pid == p.pid:
                role = "the command started (host)"
            elif nspid and nspid[-1] == "1":
                role = "PID 1 of the container"
            else:
                role = "in between"
            rows.append({"pid": pid, "comm": comm(pid), "nspid": nspid, "role": role,
                         "private_kb": roll["Private_Clean"] + roll["Private_Dirty"], **roll})
        return rows
    finally:
        stop(p)
        if rt.after:
            rt.after(prog)


def measure_memory(rts, args):
    minit_job1 = Runtime("minit job 1 (`minit -- sleep`, no container)", "",
                         lambda prog: [args.minit, "--", *prog])
    want = [r for r in rts if r.name in ("minit", "minit-static", "bwrap", "runc run")]
    res = {}
    for r in [minit_job1] + want:
        runs = []
        for _ in range(1 if args.quick else 3):
            try:
                runs.append(memory_one(r, 0.2))
            except (OSError, RuntimeError) as e:
                print(f"{r.name}: memory not measured: {e}", flush=True)
                break
        if runs:
            res[r.name] = runs
    return res


def report_memory(res):
    print("\n## Memory the machinery holds while the container runs `sleep`\n")
    print("Private_Clean + Private_Dirty from /proc/PID/smaps_rollup on the host, for "
          "every process of the tree except the `sleep` itself (median of runs, kB). "
          "For minit, PID 1 of the container is the child of the monitor process that "
          "`minit --new-container` leaves on the host.\n")
    print("| runtime | process | role | Private_Dirty | Private_Clean | Private | Pss |")
    print("|---|---|---|---:|---:|---:|---:|")
    summary = {}
    for name, runs in res.items():
        total = []
        for i, row in enumerate(runs[0]):
            vals = [run[i] for run in runs if i < len(run)]

            def m(k, vals=vals):
                return statistics.median(v[k] for v in vals)

            print(f"| {name} | {row['comm']} | {row['role']} | {m('Private_Dirty'):.0f} | "
                  f"{m('Private_Clean'):.0f} | {m('private_kb'):.0f} | {m('Pss'):.0f} |")
            summary.setdefault(name, {})[f"{row['comm']} ({row['role']})"] = m("private_kb")
        total = statistics.median(sum(r["private_kb"] for r in run) for run in runs)
        summary[name]["total"] = total
        if len(runs[0]) > 1:
            print(f"| {name} | all of the above | total | | | {total:.0f} | |")
    print()
    return summary


# ---------------------------------------------------------------------------


def main():
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minit", default=os.path.join(REPO, "build/minit"))
    ap.add_argument("--minit-static", default=os.path.join(REPO, "build-static/minit"),
                    help="measured too when the file exists")
    ap.add_argument("--rootfs", default=os.path.join(REPO, "build/rootfs"))
    ap.add_argument("--runs", type=int, default=None, help="runs per command (300; quick 30)")
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default=os.path.join(REPO, "build/bench-container.json"))
    ap.add_argument("--loop", action="store_true",
                    help="time with our own interleaved spawn+wait loop, not hyperfine")
    args = ap.parse_args()
    global USE_HYPERFINE
    USE_HYPERFINE = bool(tool("hyperfine")) and not args.loop
    if args.runs is None:
        args.runs = 30 if args.quick else 300
    if os.geteuid() != 0:
        sys.exit("bench/container.py needs root (namespaces, chroot, runc)")
    args.rootfs = os.path.abspath(args.rootfs)
    if not os.path.isfile(os.path.join(args.rootfs, "bin", "busybox")):
        sys.exit(f"no rootfs at {args.rootfs}: make rootfs")
    top = tempfile.mkdtemp(prefix="minit-bench-container-")
    # Our own copies of the binaries under test: a rebuild in another shell
    # during the run cannot mix two builds in one report.
    for opt in ("minit", "minit_static"):
        src = getattr(args, opt)
        if src and os.path.exists(src):
            dst = os.path.join(top, opt.replace("_", "-"))
            shutil.copy2(src, dst)
            setattr(args, opt, dst)
    os.sync()
    become_subreaper()

    def on_signal(sig, _):
        raise KeyboardInterrupt(f"signal {sig}")

    signal.signal(signal.SIGTERM, on_signal)
    results = {"host": os.uname().release, "rootfs": args.rootfs, "runs": args.runs}
    rts = runtimes(args, top)
    try:
        print(f"# Container start, {time.strftime('%Y-%m-%d %H:%M')}, kernel "
              f"{os.uname().release}, {os.cpu_count()} CPUs\n", flush=True)
        good = preflight(rts)
        failed = [r for r in rts if r.error]
        results["does_not_run"] = {r.name: r.error for r in failed}
        if good:
            times = measure_start(good, args, top)
            good = [r for r in good if not r.error]
            failed = [r for r in rts if r.error]
            results["does_not_run"] = {r.name: r.error for r in failed}
            results["start_ms"] = times
            results["start"] = report_start(good, times, failed)
        mem = measure_memory(good, args)
        results["memory"] = mem
        results["memory_summary"] = report_memory(mem)
    finally:
        for r in rts:
            if r.after:
                r.after(["/bin/true"])
                r.after(["/bin/sleep"])
        cleanup_all()
        shutil.rmtree(top, ignore_errors=True)
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1)
    log(f"numbers in {args.json}")


if __name__ == "__main__":
    main()
