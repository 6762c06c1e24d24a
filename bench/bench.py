#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""minit benchmark harness: minit (dynamic and static) against tini,
tini-static, dumb-init and catatonit, all in the same run.

    python3 bench/bench.py --minit build/minit --minit-static build-static/minit \\
        --helper build/tests/helper/minit-helper [--quick] [--json OUT]

Markdown tables go to stdout, progress to stderr, every number to the JSON
file. bench/README.md says what is measured and how to read it. Python 3
standard library only. Every process started here is registered and ended
(its whole tree, its process group) on the way out, on success, error,
timeout or Ctrl-C; nothing else is ever signalled.
"""

import argparse
import concurrent.futures
import contextlib
import ctypes
import hashlib
import json
import os
import platform
import random
import re
import select
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass

REPO = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"}
SIGUSR1 = int(signal.SIGUSR1)
PEERS = (
    ("tini", "/usr/bin/tini"),
    ("tini-static", "/usr/bin/tini-static"),
    ("dumb-init", "/usr/bin/dumb-init"),
    ("catatonit", "/usr/bin/catatonit"),
)


@dataclass
class Init:
    name: str
    path: str
    is_minit: bool
    link: str = "?"  # "static" or "dynamic", from file(1), set by check_inits()
    # All four peers and minit take "--" before the program (dumb-init's
    # own docs use `dumb-init -- cmd`); kept per init in case one does not.
    sep: tuple = ("--",)

    def argv(self, prog):
        return [self.path, *self.sep, *prog]


@dataclass
class Config:
    quick: bool
    start_n: int
    start_warmup: int
    mem_runs: int
    idle_window: float
    orphans_n: int
    stream_n: int
    stream_rounds: int
    stream_budget: float  # seconds; no new round starts once it would overrun
    latency_m: int
    latency_warmup: int


def make_config(quick):
    if quick:
        return Config(True, 60, 5, 3, 2.0, 5000, 3000, 3, 40.0, 1000, 50)
    return Config(False, 300, 15, 3, 5.0, 20000, 20000, 4, 170.0, 5000, 200)


# ---------------------------------------------------------------------------
# Processes: every one is registered in LIVE until reaped.

LIVE = {}  # pid -> subprocess.Popen, or None for os.posix_spawn children
PROBLEMS = []  # human-readable anomalies, printed at the end
NOTES = []  # things about the run itself (e.g. a time budget cut a phase short)
_DEVNULL = os.open(os.devnull, os.O_RDWR | os.O_CLOEXEC)
_NULL_STDIO = [(os.POSIX_SPAWN_DUP2, _DEVNULL, fd) for fd in (0, 1, 2)]


def log(msg):
    print(f"[bench {time.strftime('%H:%M:%S')}] {msg}", file=sys.stderr, flush=True)


def problem(msg):
    PROBLEMS.append(msg)
    log("PROBLEM: " + msg)


def tool(name):
    return shutil.which(name, path=ENV["PATH"])


def become_subreaper():
    """Make orphaned descendants re-parent to this script rather than to the
    machine's init, so that reap_strays() can reap them."""
    pr_set_child_subreaper = 36
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(pr_set_child_subreaper, 1, 0, 0, 0) != 0:
        log(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")


def own_children():
    kids = []
    for tid in os.listdir("/proc/self/task"):
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/self/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
    return kids


def reap_strays(timeout=5.0):
    """Kill and reap every child of this script that is not a registered
    one: only descendants are re-parented to a subreaper, so these are
    processes this script started (e.g. a payload whose init was killed)."""
    deadline = time.monotonic() + timeout
    while True:
        strays = [p for p in own_children() if p not in LIVE]
        if not strays:
            return
        for p in strays:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError):
                os.waitpid(p, os.WNOHANG)
        if time.monotonic() > deadline:
            log(f"could not reap re-parented pids {strays}")
            return
        time.sleep(0.01)


def descendants(pid):
    """Every descendant of pid (host pids), read from /proc children lists."""
    out = []
    todo = [pid]
    while todo:
        p = todo.pop()
        try:
            tids = os.listdir(f"/proc/{p}/task")
        except OSError:
            continue
        for tid in tids:
            try:
                with open(f"/proc/{p}/task/{tid}/children") as f:
                    kids = [int(x) for x in f.read().split()]
            except (OSError, ValueError):
                continue
            out.extend(kids)
            todo.extend(kids)
    return out


def kill_tree(pid):
    """SIGKILL pid, all its descendants and its process group (pid is the
    leader of a group this script created, and not yet reaped, so the
    group id cannot belong to anyone else)."""
    tree = descendants(pid)
    for p in [pid] + tree:
        with contextlib.suppress(OSError):
            os.kill(p, signal.SIGKILL)
    with contextlib.suppress(OSError):
        os.killpg(pid, signal.SIGKILL)


def wait_pid(pid, timeout):
    """Wait for a posix_spawn child with a timeout (pidfd + poll); returns
    its exit code (negative: killed by that signal). On timeout the tree is
    killed and TimeoutError raised."""
    fd = os.pidfd_open(pid)
    try:
        ready = select.select([fd], [], [], timeout)[0]
        if not ready:
            kill_tree(pid)
            if select.select([fd], [], [], 5.0)[0]:
                os.waitpid(pid, 0)
                LIVE.pop(pid, None)
            raise TimeoutError(f"pid {pid} still running after {timeout}s; killed")
        _, status = os.waitpid(pid, 0)
    finally:
        os.close(fd)
    LIVE.pop(pid, None)
    return os.waitstatus_to_exitcode(status)


def spawn_quiet(argv):
    """posix_spawn with stdio on /dev/null, in a new process group."""
    pid = os.posix_spawn(argv[0], argv, ENV, file_actions=_NULL_STDIO, setpgroup=0)
    LIVE[pid] = None
    return pid


def run_timed(argv, timeout=20.0):
    """(nanoseconds from spawn to reap, exit code)."""
    t0 = time.perf_counter_ns()
    pid = spawn_quiet(argv)
    code = wait_pid(pid, timeout)
    return time.perf_counter_ns() - t0, code


def popen(argv, stdout=subprocess.DEVNULL, pass_fds=()):
    """Start a long-running process in its own session, stdin and stderr on
    /dev/null (minit and tini warn there when not PID 1)."""
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=stdout,
                         stderr=subprocess.DEVNULL, pass_fds=pass_fds, env=ENV,
                         start_new_session=True)
    LIVE[p.pid] = p
    return p


def stop(p, timeout=5.0):
    """Kill a Popen's whole tree and reap it."""
    if p.poll() is None:
        kill_tree(p.pid)
    try:
        p.wait(timeout)
    except subprocess.TimeoutExpired:
        problem(f"pid {p.pid} ({p.args[0]}) did not die after SIGKILL within {timeout}s")
        return
    finally:
        for f in (p.stdout, p.stderr):
            if f is not None:
                f.close()
    LIVE.pop(p.pid, None)
    reap_strays()


def run_capture(argv, timeout):
    """Run to completion, capturing stdout and stderr: (code, out, err, secs).
    code is None on timeout (the tree is killed)."""
    t0 = time.perf_counter()
    p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, env=ENV, start_new_session=True)
    LIVE[p.pid] = p
    try:
        out, err = p.communicate(timeout=timeout)
        code = p.returncode
    except subprocess.TimeoutExpired:
        kill_tree(p.pid)
        try:
            out, err = p.communicate(timeout=10)
        except subprocess.TimeoutExpired:
            problem(f"pid {p.pid} ({argv[0]}) survived SIGKILL of its tree")
            out, err = b"", b""
        code = None
    LIVE.pop(p.pid, None)
    return code, out.decode(errors="replace"), err.decode(errors="replace"), \
        time.perf_counter() - t0


def cleanup_all():
    for pid, p in list(LIVE.items()):
        kill_tree(pid)
        try:
            if p is None:
                wait_pid(pid, 5.0)
            else:
                p.wait(5.0)
        except (TimeoutError, subprocess.TimeoutExpired, ChildProcessError, OSError):
            log(f"could not reap pid {pid}")
        LIVE.pop(pid, None)
    reap_strays()


def read_until(fd, needle, timeout):
    """Read from fd until needle appears; raises TimeoutError / EOFError."""
    buf = b""
    deadline = time.monotonic() + timeout
    while needle not in buf:
        left = deadline - time.monotonic()
        if left <= 0:
            raise TimeoutError(f"no {needle!r} after {timeout}s (got {buf[-200:]!r})")
        if select.select([fd], [], [], left)[0]:
            chunk = os.read(fd, 4096)
            if not chunk:
                raise EOFError(f"EOF before {needle!r} (got {buf[-200:]!r})")
            buf += chunk
    return buf


def ns_prefix():
    """A PID namespace with its own /proc, whose PID 1 is killed when
    unshare dies: for the long-running PID 1 measurements."""
    return [tool("unshare"), "--pid", "--fork", "--mount-proc", "--kill-child"]


@contextlib.contextmanager
def pid1_instance(init, payload, ready=b"ready", timeout=15.0):
    """Run `init -- payload` as PID 1 of a new PID namespace; wait for the
    payload's ready line; yield (popen, host pid of the init)."""
    p = popen(ns_prefix() + init.argv(payload), stdout=subprocess.PIPE)
    try:
        read_until(p.stdout.fileno(), ready, timeout)
        with open(f"/proc/{p.pid}/task/{p.pid}/children") as f:
            kids = [int(x) for x in f.read().split()]
        if len(kids) != 1:
            raise RuntimeError(f"unshare {p.pid} has children {kids}, expected one")
        exe = os.readlink(f"/proc/{kids[0]}/exe")
        if os.path.realpath(exe) != os.path.realpath(init.path):
            raise RuntimeError(f"pid {kids[0]} runs {exe}, expected {init.path}")
        yield p, kids[0]
    finally:
        stop(p)


# ---------------------------------------------------------------------------
# Statistics and formatting


def pct(xs, q):
    """q-th percentile (0..100), linear interpolation."""
    s = sorted(xs)
    if not s:
        return None
    k = (len(s) - 1) * q / 100.0
    lo = int(k)
    hi = min(lo + 1, len(s) - 1)
    return s[lo] + (s[hi] - s[lo]) * (k - lo)


def fmt(v, digits=None):
    if v is None:
        return "n/a"
    if isinstance(v, str):
        return v
    if isinstance(v, int):
        return f"{v:,}"
    if digits is None:
        digits = 3 if abs(v) < 10 else 2 if abs(v) < 100 else 1 if abs(v) < 1000 else 0
    return f"{v:,.{digits}f}"


NUMERIC = re.compile(r"^(n/a|-|[-+]?[\d,]*\.?\d+x?|inf)$")


def md_table(headers, rows):
    """Markdown table; columns whose cells are all numbers are right-aligned."""
    cells = [[str(c) for c in r] for r in rows]
    widths = [max(len(h), *(len(r[i]) for r in cells)) if cells else len(h)
              for i, h in enumerate(headers)]
    align = ["r" if i > 0 and cells and all(NUMERIC.match(r[i]) or not r[i] for r in cells)
             else "l" for i in range(len(headers))]

    def line(vals):
        return "| " + " | ".join(v.ljust(w) if a == "l" else v.rjust(w)
                                 for v, w, a in zip(vals, widths, align)) + " |"

    seps = ["-" * (w - 1) + (":" if a == "r" else "-") for w, a in zip(widths, align)]
    return "\n".join([line(headers), "| " + " | ".join(seps) + " |"] + [line(r) for r in cells])


def best_peer(values, inits, higher_better=False):
    """(name, value) of the best peer among values {name: number|None};
    tied peers are named together, joined by "="."""
    cands = [(i.name, values.get(i.name)) for i in inits if not i.is_minit]
    cands = [(n, v) for n, v in cands if isinstance(v, (int, float))]
    if not cands:
        return None, None
    best = (max if higher_better else min)(v for _, v in cands)
    return "=".join(n for n, v in cands if v == best), best


def ratio(v, b):
    """v / b; 1.0 for 0 / 0, inf for x / 0."""
    if not isinstance(v, (int, float)) or not isinstance(b, (int, float)):
        return None
    if b == 0:
        return 1.0 if v == 0 else float("inf")
    return v / b


def fmt_ratio(r):
    if r is None:
        return "n/a"
    return "inf" if r == float("inf") else f"{r:.2f}x"


def table_with_ratio(title, inits, headers, rows_by_init, key, higher_better=False,
                     note="", by_link=False):
    """A markdown table, one row per init, plus "vs best peer" (this init's
    `key` value / the best peer's) and a marker on the best peer (every
    peer tied with it too). With by_link, also the ratio to the best peer
    of the same linkage (static or dynamic)."""
    values = {n: r.get(key) for n, r in rows_by_init.items() if r}
    bname, bval = best_peer(values, inits, higher_better)
    same = {link: best_peer(values, [i for i in inits if i.link == link], higher_better)
            for link in {i.link for i in inits}}
    rows = []
    for i in inits:
        r = rows_by_init.get(i.name)
        if r is None:
            continue
        v = r.get(key)
        mark = "best peer" if not i.is_minit and bval is not None and v == bval else ""
        row = [i.name, i.link] + [fmt(r.get(h[1])) for h in headers] + \
            [fmt_ratio(ratio(v, bval))]
        if by_link:
            row.append(fmt_ratio(ratio(v, same[i.link][1])))
        rows.append(row + [mark])
    hdr = ["init", "linkage"] + [h[0] for h in headers] + ["vs best peer"] + \
        (["vs best same-linkage peer"] if by_link else []) + [""]
    better = "higher is better" if higher_better else "lower is better"
    text = f"### {title}\n\n{md_table(hdr, rows)}\n\n" \
        f"vs best peer = value / best peer's `{key}` ({better})."
    if note:
        text += " " + note
    return text + "\n"


# ---------------------------------------------------------------------------
# 1. Start overhead


def measure_start(inits, cfg, pid1):
    """INIT -- /bin/true vs bare /bin/true, paired per iteration (bare, then
    init, difference recorded), init order shuffled each iteration."""
    true = tool("true")
    prefix = [tool("unshare"), "--pid", "--fork"] if pid1 else []
    bare = prefix + [true]
    cmds = {i.name: prefix + i.argv([true]) for i in inits}
    diffs = {i.name: [] for i in inits}
    bares = {i.name: [] for i in inits}
    fulls = {i.name: [] for i in inits}
    fails = {i.name: 0 for i in inits}
    rng = random.Random(1)
    order = list(inits)
    for it in range(cfg.start_warmup + cfg.start_n):
        rng.shuffle(order)
        for i in order:
            try:
                tb, cb = run_timed(bare)
                ti, ci = run_timed(cmds[i.name])
            except TimeoutError as e:
                problem(f"start ({'pid1' if pid1 else 'process'}): {i.name}: {e}")
                fails[i.name] += 1
                continue
            if cb != 0 or ci != 0:
                if fails[i.name] == 0:
                    problem(f"start ({'pid1' if pid1 else 'process'}): {i.name}: "
                            f"exit code {ci} (bare {cb}) for {' '.join(cmds[i.name])}")
                fails[i.name] += 1
            if it >= cfg.start_warmup:
                diffs[i.name].append((ti - tb) / 1e6)
                bares[i.name].append(tb / 1e6)
                fulls[i.name].append(ti / 1e6)
    res = {}
    for i in inits:
        d = diffs[i.name]
        if not d:
            res[i.name] = {"failures": fails[i.name]}
            continue
        res[i.name] = {
            "n": len(d), "median_ms": statistics.median(d), "p90_ms": pct(d, 90),
            "bare_median_ms": statistics.median(bares[i.name]),
            "init_median_ms": statistics.median(fulls[i.name]),
            "failures": fails[i.name],
        }
    return res


def report_start(res, inits, pid1, cfg):
    mode = "as PID 1 (`unshare --pid --fork INIT -- /bin/true` - " \
        "`unshare --pid --fork /bin/true`)" if pid1 else \
        "as an ordinary process (`INIT -- /bin/true` - `/bin/true`)"
    return table_with_ratio(
        f"Start overhead {mode}", inits,
        [("median ms", "median_ms"), ("p90 ms", "p90_ms"), ("bare median ms", "bare_median_ms"),
         ("with init median ms", "init_median_ms"), ("failures", "failures")],
        res, "median_ms",
        note=f"{cfg.start_n} paired iterations per init after {cfg.start_warmup} warm-up.")


# ---------------------------------------------------------------------------
# 2. Instructions (cachegrind)


def cachegrind_one(init, pid1):
    valgrind = tool("valgrind")
    if valgrind is None:
        return {"irefs": None, "error": "valgrind not installed"}
    argv = [valgrind, "--tool=cachegrind", "--cache-sim=no",
            "--cachegrind-out-file=/dev/null"] + init.argv([tool("true")])
    if pid1:
        argv = [tool("unshare"), "--pid", "--fork"] + argv
    code, _, err, _ = run_capture(argv, timeout=180)
    m = re.search(r"^==\d+==\s+I\s+refs:\s+([\d,]+)", err, re.M)
    if code is None:
        return {"irefs": None, "error": "timed out after 180 s"}
    if m is None or code != 0:
        lines = [ln for ln in err.splitlines() if ln.strip() and not ln.startswith("--")]
        reason = lines[-1] if lines else f"exit code {code}"
        return {"irefs": None, "error": f"exit {code}: {reason.strip()}"}
    return {"irefs": int(m.group(1).replace(",", "")), "error": None}


def measure_instructions(inits):
    """User-space instructions of the init process itself (no
    --trace-children: the program it spawns runs natively), as an ordinary
    process and as PID 1. Deterministic, so the runs go in parallel."""
    jobs = {}
    with concurrent.futures.ThreadPoolExecutor(max_workers=os.cpu_count() or 2) as ex:
        for i in inits:
            for pid1 in (False, True):
                jobs[(i.name, pid1)] = ex.submit(cachegrind_one, i, pid1)
    res = {}
    for i in inits:
        a = jobs[(i.name, False)].result()
        b = jobs[(i.name, True)].result()
        for mode, r in (("process", a), ("pid1", b)):
            if r["error"]:
                problem(f"cachegrind ({mode}): {i.name}: {r['error']}")
        res[i.name] = {"irefs_process": a["irefs"], "irefs_pid1": b["irefs"],
                       "error_process": a["error"], "error_pid1": b["error"]}
    return res


def report_instructions(res, inits):
    text = table_with_ratio(
        "Instructions executed by the init (cachegrind `I refs`, `INIT -- /bin/true`)",
        inits, [("not PID 1", "irefs_process"), ("as PID 1", "irefs_pid1")], res,
        "irefs_process", by_link=True,
        note="Dynamic binaries include ld.so and libc start-up; not PID 1, minit and "
        "tini also format and write a warning.")
    errs = [f"- {n}: {r['error_process'] or r['error_pid1']}" for n, r in res.items()
            if r["error_process"] or r["error_pid1"]]
    if errs:
        text += "\nn/a reasons:\n" + "\n".join(errs) + "\n"
    return text


# ---------------------------------------------------------------------------
# 3. Syscalls (strace -c)


def parse_strace_summary(path):
    """{syscall: calls} and totals from `strace -c -U name,calls,errors`."""
    calls = {}
    total = errors = None
    with open(path) as f:
        for ln in f:
            t = ln.split()
            if len(t) < 2 or t[0].startswith("-") or t[0] == "syscall":
                continue
            if t[0] == "total":
                total = int(t[1])
                errors = int(t[2]) if len(t) > 2 else 0
            elif t[1].isdigit():
                calls[t[0]] = int(t[1])
    return calls, total, errors


def measure_syscalls(inits):
    strace = tool("strace")
    res = {}
    with tempfile.TemporaryDirectory(prefix="minit-bench-") as tmp:
        for i in inits:
            r = {}
            for follow in (False, True):
                out = os.path.join(tmp, f"{i.name}-{int(follow)}.txt")
                argv = [strace, "-c", "-U", "name,calls,errors", "-o", out] + \
                    (["-f"] if follow else []) + i.argv([tool("true")])
                code, _, err, _ = run_capture(argv, timeout=60)
                key = "tree" if follow else "init"
                if code != 0 or not os.path.exists(out):
                    problem(f"strace {'-f ' if follow else ''}{i.name}: exit {code}: "
                            f"{err.strip()[-200:]}")
                    r[key] = None
                    continue
                calls, total, errors = parse_strace_summary(out)
                r[key] = total
                r[key + "_errors"] = errors
                r[key + "_by_syscall"] = calls
            res[i.name] = r
    return res


def report_syscalls(res, inits):
    return table_with_ratio(
        "System calls (`strace -c INIT -- /bin/true`, not PID 1)", inits,
        [("init only", "init"), ("failed", "init_errors"), ("whole tree (-f)", "tree"),
         ("failed (-f)", "tree_errors")], res, "init", by_link=True,
        note="The whole tree adds the spawn and /bin/true itself.")


# ---------------------------------------------------------------------------
# 4. Idle memory, 5. idle wakeups


def read_kv(path):
    out = {}
    with open(path) as f:
        for ln in f:
            k, _, v = ln.partition(":")
            out[k.strip()] = v.strip()
    return out


def kb(s):
    return int(s.split()[0])


def memory_of(pid):
    roll = read_kv(f"/proc/{pid}/smaps_rollup")
    st = read_kv(f"/proc/{pid}/status")
    return {"rss_kb": kb(roll["Rss"]), "pss_kb": kb(roll["Pss"]),
            "private_kb": kb(roll["Private_Clean"]) + kb(roll["Private_Dirty"]),
            "vmrss_kb": kb(st["VmRSS"])}


def ctxt_switches(pid):
    st = read_kv(f"/proc/{pid}/status")
    return int(st["voluntary_ctxt_switches"]) + int(st["nonvoluntary_ctxt_switches"])


def measure_memory(inits, cfg, helper):
    """Each init alone as PID 1 running `HELPER pause`; median of runs."""
    res = {}
    for i in inits:
        runs = []
        for _ in range(cfg.mem_runs):
            try:
                with pid1_instance(i, [helper, "pause"]) as (_, pid):
                    time.sleep(0.2)  # let the init settle into its loop
                    runs.append(memory_of(pid))
            except (OSError, RuntimeError, TimeoutError, EOFError) as e:
                problem(f"memory: {i.name}: {e}")
        if runs:
            res[i.name] = {k: statistics.median(r[k] for r in runs) for k in runs[0]}
            res[i.name]["runs"] = runs
        else:
            res[i.name] = {}
    return res


def report_memory(res, inits):
    return table_with_ratio(
        "Idle memory as PID 1 (`INIT -- HELPER pause`, /proc/PID/smaps_rollup, kB)", inits,
        [("Rss", "rss_kb"), ("Pss", "pss_kb"), ("Private", "private_kb"),
         ("VmRSS", "vmrss_kb")], res, "pss_kb", by_link=True,
        note="Median of runs; Private = Private_Clean + Private_Dirty; Pss of dynamic "
        "binaries shares libc with the rest of the system.")


def measure_wakeups(inits, cfg, helper):
    """All inits at once, each as PID 1 running `HELPER pause`; context
    switches of the init over the same window."""
    res = {}
    with contextlib.ExitStack() as stack:
        pids = {}
        for i in inits:
            try:
                _, pid = stack.enter_context(pid1_instance(i, [helper, "pause"]))
                pids[i.name] = pid
            except (OSError, RuntimeError, TimeoutError, EOFError) as e:
                problem(f"wakeups: {i.name}: {e}")
        time.sleep(0.5)
        before = {n: ctxt_switches(p) for n, p in pids.items()}
        t0 = time.monotonic()
        time.sleep(cfg.idle_window)
        after = {}
        for n, p in pids.items():
            try:
                after[n] = ctxt_switches(p)
            except OSError as e:
                problem(f"wakeups: {n} (pid {p}) died while idle: {e}")
        secs = time.monotonic() - t0
    for i in inits:
        if i.name in after:
            d = after[i.name] - before[i.name]
            res[i.name] = {"switches": d, "seconds": secs, "per_s": d / secs}
        else:
            res[i.name] = {}
    return res


def report_wakeups(res, inits, cfg):
    return table_with_ratio(
        f"Idle wakeups as PID 1 (context switches of the init in {cfg.idle_window:g} s)",
        inits, [("switches", "switches"), ("per second", "per_s")], res, "per_s")


# ---------------------------------------------------------------------------
# 6. Orphan reaping


def build_orphan_stream():
    src = os.path.join(REPO, "bench", "orphan-stream.c")
    out_dir = os.path.join(REPO, "build", "bench")
    out = os.path.join(out_dir, "orphan-stream")
    if os.path.exists(out) and os.path.getmtime(out) >= os.path.getmtime(src):
        return out
    os.makedirs(out_dir, exist_ok=True)
    cc = os.environ.get("CC", "cc")
    code, _, err, _ = run_capture([tool(cc) or cc, "-O2", "-Wall", "-Wextra", "-static",
                                   "-o", out, src], timeout=120)
    if code != 0:
        problem(f"cannot build orphan-stream: {err.strip()[-300:]}")
        return None
    return out


def orphans_burst(init, cfg, helper):
    """N zombies orphaned at once to the init (PID 1), then wait until none
    is left; wall time from start to exit."""
    n = cfg.orphans_n
    argv = ns_prefix() + init.argv([helper, "orphans", str(n), "--", helper,
                                    "zombies-wait", "60000"])
    load = os.getloadavg()[0]
    code, out, _, secs = run_capture(argv, timeout=180)
    ok = code == 0 and "zombies 0" in out
    if not ok:
        problem(f"orphans burst: {init.name}: exit {code}, output {out.strip()[-200:]!r}")
    log(f"  burst  {init.name}: {secs:.2f} s, exit {code}, {out.strip()[-40:]!r}")
    return {"n": n, "seconds": secs, "rate": n / secs if ok else None, "exit": code,
            "zombies_0": "zombies 0" in out, "loadavg": load, "output": out.strip()[-300:]}


def orphans_stream_round(init, n, stream_bin):
    """One orphan-stream run of n orphans under the init (PID 1)."""
    argv = ns_prefix() + init.argv([stream_bin, str(n), "60000"])
    load = os.getloadavg()[0]
    code, out, _, secs = run_capture(argv, timeout=n * 0.01 + 120)
    m = re.search(r"elapsed ([\d.]+) rate ([\d.]+) zombies (\d+)", out)
    ok = code == 0 and m is not None and m.group(3) == "0"
    if not ok:
        problem(f"orphans stream: {init.name}: exit {code}, output {out.strip()!r}")
    return {"n": n, "wall_seconds": secs, "seconds": float(m.group(1)) if m else None,
            "rate": float(m.group(2)) if m else None,
            "zombies_left": int(m.group(3)) if m else None, "ok": ok, "exit": code,
            "loadavg": load, "output": out.strip()[-300:]}


def measure_orphans(inits, cfg, helper, stream_bin):
    """Burst: one run per init. Stream: N orphans per init made in rounds
    of N / rounds, the inits taking turns (order rotated each round), so
    that a change of load on the machine hits every init alike."""
    res = {i.name: {} for i in inits}
    for i in inits:
        res[i.name]["burst"] = orphans_burst(i, cfg, helper)
    if not stream_bin:
        return res
    per = cfg.stream_n // cfg.stream_rounds
    rounds = {i.name: [] for i in inits}
    t0 = time.monotonic()
    for k in range(cfg.stream_rounds):
        spent = time.monotonic() - t0
        if k > 0 and spent + spent / k > cfg.stream_budget:
            NOTES.append(f"orphans stream: stopped after {k} of {cfg.stream_rounds} rounds "
                         f"({spent:.0f} s; budget {cfg.stream_budget:.0f} s): the machine is "
                         f"slower than usual (load average {os.getloadavg()[0]:.1f}); "
                         f"N = {k * per} per init instead of {cfg.stream_n}")
            log("NOTE: " + NOTES[-1])
            break
        for i in inits[k % len(inits):] + inits[:k % len(inits)]:
            r = orphans_stream_round(i, per, stream_bin)
            rounds[i.name].append(r)
            log(f"  stream {i.name} round {k + 1}/{cfg.stream_rounds}: "
                f"{r['seconds'] or 0:.2f} s, exit {r['exit']}")
    for i in inits:
        rs = rounds[i.name]
        good = all(r["ok"] for r in rs)
        n = sum(r["n"] for r in rs)
        secs = sum(r["seconds"] or 0 for r in rs)
        rates = [r["rate"] for r in rs if r["rate"]]
        res[i.name]["stream"] = {
            "n": n, "rounds": len(rs), "seconds": secs,
            "rate": n / secs if good and secs > 0 else None,
            "min_round_rate": min(rates) if rates else None,
            "max_round_rate": max(rates) if rates else None,
            "zombies_left": sum(r["zombies_left"] or 0 for r in rs), "runs": rs}
    return res


def report_orphans(res, inits, cfg):
    rounds = max((r["stream"]["rounds"] for r in res.values() if "stream" in r), default=0)
    rows = {}
    for n, r in res.items():
        b, s = r.get("burst", {}), r.get("stream", {})
        rows[n] = {"burst_n": b.get("n"), "burst_s": b.get("seconds"),
                   "burst_rate": b.get("rate"),
                   "zombies0": "yes" if b.get("zombies_0") else "NO",
                   "stream_n": s.get("n"), "stream_s": s.get("seconds"),
                   "stream_rate": s.get("rate"), "stream_min": s.get("min_round_rate"),
                   "stream_max": s.get("max_round_rate"),
                   "stream_left": s.get("zombies_left")}
    text = table_with_ratio(
        "Orphan reaping as PID 1: burst (`HELPER orphans N -- HELPER zombies-wait 60000`)",
        inits, [("N", "burst_n"), ("wall s", "burst_s"), ("orphans/s", "burst_rate"),
                ("zombies 0", "zombies0")], rows, "burst_rate", higher_better=True,
        note="Wall time from start to exit, including forking the N children.")
    text += "\n" + table_with_ratio(
        "Orphan reaping as PID 1: stream (`orphan-stream N`, one orphan at a time)",
        inits, [("N", "stream_n"), ("s", "stream_s"), ("orphans/s", "stream_rate"),
                ("slowest round /s", "stream_min"), ("fastest round /s", "stream_max"),
                ("zombies left", "stream_left")], rows, "stream_rate", higher_better=True,
        note=f"N orphans per init in {rounds} rounds of {cfg.stream_n // cfg.stream_rounds}, "
        "the inits taking turns; time measured by orphan-stream from its first fork "
        "until no zombie is left; orphans/s = N / total time.")
    return text


# ---------------------------------------------------------------------------
# 7. Signal-forwarding latency


def latency_one(init, cfg, helper, pinned):
    """Round trip: kill(target, SIGUSR1) -> helper writes a byte to the pipe."""
    r, w = os.pipe()
    if w < 3:  # never pass an fd number that is one of the child's stdio
        w2 = os.dup2(w, 10, inheritable=False)
        os.close(w)
        w = w2
    payload = [helper, "ack-signal", str(SIGUSR1), str(w)]
    argv = init.argv(payload) if init else payload
    if pinned:
        argv = [tool("taskset"), "-c", "0"] + argv
    p = None
    try:
        p = popen(argv, stdout=subprocess.PIPE, pass_fds=(w,))
        os.close(w)
        w = -1
        read_until(p.stdout.fileno(), b"ready", 15.0)
        target = p.pid  # taskset execs, so this is the init (or the helper)
        poll = select.poll()
        poll.register(r, select.POLLIN)
        lat = []
        losses = 0
        consecutive = 0
        for k in range(cfg.latency_warmup + cfg.latency_m):
            t0 = time.perf_counter_ns()
            os.kill(target, SIGUSR1)
            if not poll.poll(2000):
                losses += 1
                consecutive += 1
                if consecutive >= 5 or p.poll() is not None:
                    problem(f"latency: {init.name if init else 'direct'}: aborted after "
                            f"{losses} losses (exit status {p.poll()})")
                    break
                continue
            os.read(r, 1)
            t1 = time.perf_counter_ns()
            consecutive = 0
            if k >= cfg.latency_warmup:
                lat.append((t1 - t0) / 1000.0)
            # A late byte from an earlier loss would be read as this ack's.
            while losses and poll.poll(0):
                os.read(r, 4096)
        if losses:
            problem(f"latency ({'pinned' if pinned else 'unpinned'}): "
                    f"{init.name if init else 'direct'}: {losses} signals lost")
        return {"n": len(lat), "losses": losses,
                "median_us": statistics.median(lat) if lat else None,
                "p99_us": pct(lat, 99), "mean_us": statistics.fmean(lat) if lat else None}
    finally:
        if p is not None:
            stop(p)
        os.close(r)
        if w >= 0:
            os.close(w)


def measure_latency(inits, cfg, helper, pinned):
    saved = os.sched_getaffinity(0)
    res = {}
    try:
        if pinned:
            os.sched_setaffinity(0, {0})
        for i in [None] + list(inits):
            name = i.name if i else "direct"
            try:
                res[name] = latency_one(i, cfg, helper, pinned)
            except (OSError, TimeoutError, EOFError) as e:
                problem(f"latency: {name}: {e}")
                res[name] = {}
    finally:
        os.sched_setaffinity(0, saved)
    return res


def report_latency(res, inits, pinned):
    direct = res.get("direct", {}).get("median_us")
    res = {n: dict(r, added_us=r["median_us"] - direct)
           if r and direct is not None and r.get("median_us") is not None else r
           for n, r in res.items()}
    text = table_with_ratio(
        "Signal-forwarding latency, not PID 1, " +
        ("pinned to CPU 0" if pinned else "unpinned") +
        " (`kill(init, SIGUSR1)` -> helper's byte on a pipe, us)", inits,
        [("n", "n"), ("median us", "median_us"), ("p99 us", "p99_us"),
         ("median - direct us", "added_us"), ("lost", "losses")], res, "median_us")
    d = res.get("direct", {})
    text += f"Baseline, helper signalled directly (no init): median " \
        f"{fmt(d.get('median_us'))} us, p99 {fmt(d.get('p99_us'))} us, " \
        f"lost {fmt(d.get('losses'))}.\n"
    return text


# ---------------------------------------------------------------------------
# 8. Binary size


def measure_size(inits):
    res = {}
    strip = tool("strip")
    with tempfile.TemporaryDirectory(prefix="minit-bench-") as tmp:
        for i in inits:
            desc = run_capture([tool("file"), "-b", i.path], timeout=30)[1].strip()
            link = "static-pie" if "static-pie" in desc else \
                "static" if "statically linked" in desc else \
                "dynamic" if "dynamically linked" in desc else "?"
            stripped = None
            if strip:
                out = os.path.join(tmp, i.name)
                if run_capture([strip, "-o", out, i.path], timeout=30)[0] == 0:
                    stripped = os.path.getsize(out)
            res[i.name] = {"bytes": os.path.getsize(i.path), "stripped_bytes": stripped,
                           "link": link, "not_stripped": "not stripped" in desc,
                           "file": desc}
    return res


def report_size(res, inits):
    rows = {n: dict(r, stripped="no" if r["not_stripped"] else "yes")
            for n, r in res.items()}
    return table_with_ratio(
        "Binary size (bytes)", inits,
        [("stripped?", "stripped"), ("size", "bytes"), ("after strip", "stripped_bytes")],
        rows, "stripped_bytes", by_link=True,
        note="Ratios compare sizes after `strip` (the peers ship stripped; minit is built "
        "with -g).")


# ---------------------------------------------------------------------------
# Summary


def summary(results, inits):
    def g(*path):
        def get(name):
            d = results
            for k in path[:-1]:
                d = d.get(k, {}) if isinstance(d, dict) else {}
            d = d.get(name, {}) if isinstance(d, dict) else {}
            return d.get(path[-1]) if isinstance(d, dict) else None
        return get

    def orphans(kind):
        def get(name):
            return results.get("orphans", {}).get(name, {}).get(kind, {}).get("rate")
        return get

    metrics = [
        ("start overhead, process (median ms)", g("start", "process", "median_ms"), False),
        ("start overhead, PID 1 (median ms)", g("start", "pid1", "median_ms"), False),
        ("instructions, not PID 1 (I refs)", g("instructions", "irefs_process"), False),
        ("instructions, PID 1 (I refs)", g("instructions", "irefs_pid1"), False),
        ("syscalls, init only", g("syscalls", "init"), False),
        ("syscalls, whole tree", g("syscalls", "tree"), False),
        ("idle Rss (kB)", g("memory", "rss_kb"), False),
        ("idle Pss (kB)", g("memory", "pss_kb"), False),
        ("idle Private (kB)", g("memory", "private_kb"), False),
        ("idle wakeups (/s)", g("wakeups", "per_s"), False),
        ("orphans burst (/s)", orphans("burst"), True),
        ("orphans stream (/s)", orphans("stream"), True),
        ("signal latency unpinned, median (us)", g("latency", "unpinned", "median_us"), False),
        ("signal latency unpinned, p99 (us)", g("latency", "unpinned", "p99_us"), False),
        ("signal latency pinned, median (us)", g("latency", "pinned", "median_us"), False),
        ("signal latency pinned, p99 (us)", g("latency", "pinned", "p99_us"), False),
        ("binary size, stripped (bytes)", g("size", "stripped_bytes"), False),
    ]
    rows = []
    out = []
    for label, get, higher in metrics:
        vals = {i.name: get(i.name) for i in inits}
        if all(v is None for v in vals.values()):
            continue
        bname, bval = best_peer(vals, inits, higher)
        rm = ratio(vals.get("minit"), bval)
        rs = ratio(vals.get("minit-static"), bval)
        rows.append([label + (" ^" if higher else ""), fmt(vals.get("minit")),
                     fmt(vals.get("minit-static")),
                     f"{bname} {fmt(bval)}" if bname else "n/a",
                     fmt_ratio(rm), fmt_ratio(rs)])
        out.append({"metric": label, "higher_is_better": higher, "values": vals,
                    "best_peer": bname, "best_peer_value": bval,
                    "ratio_minit": rm, "ratio_minit_static": rs})
    text = "## Summary\n\n" + md_table(
        ["metric", "minit", "minit-static", "best peer", "minit / best", "static / best"],
        rows) + "\n\nRatio = minit value / best peer value. Lower is better except " \
        "rows marked ^ (rates), where higher is better.\n"
    return text, out


# ---------------------------------------------------------------------------
# main


def check_inits(inits):
    """Each init must run `INIT -- /bin/true` and exit 0."""
    ok = []
    for i in inits:
        if not os.access(i.path, os.X_OK):
            problem(f"{i.name}: {i.path} is not an executable; skipped")
            continue
        try:
            _, code = run_timed(i.argv([tool("true")]), timeout=10)
        except TimeoutError as e:
            problem(f"{i.name}: `{i.path} -- /bin/true` hung: {e}; skipped")
            continue
        if code != 0:
            problem(f"{i.name}: `{i.path} -- /bin/true` exited {code}; skipped")
            continue
        desc = run_capture([tool("file"), "-b", i.path], timeout=30)[1]
        i.link = "static" if "statically linked" in desc or "static-pie" in desc else \
            "dynamic" if "dynamically linked" in desc else "?"
        ok.append(i)
    return ok


def parse_args(argv):
    ap = argparse.ArgumentParser(description="Benchmark minit against tini, tini-static, "
                                 "dumb-init and catatonit.")
    ap.add_argument("--minit", required=True, help="dynamic minit binary")
    ap.add_argument("--minit-static", required=True, help="static minit binary")
    ap.add_argument("--helper", required=True, help="static minit-helper binary")
    ap.add_argument("--quick", action="store_true", help="fewer iterations (~90 s)")
    ap.add_argument("--json", default="build/bench.json", help="results file")
    ap.add_argument("--only", default="",
                    help="comma list of: start,instructions,syscalls,memory,wakeups,"
                    "orphans,latency,size (default: all)")
    return ap.parse_args(argv)


def snapshot(src, tmp, sub):
    """Copy a binary under test into tmp/sub/ (same base name), so that a
    rebuild in another shell during the run cannot change what is measured."""
    os.makedirs(os.path.join(tmp, sub), exist_ok=True)
    dst = os.path.join(tmp, sub, os.path.basename(src))
    shutil.copy2(src, dst)
    with open(dst, "rb") as f:
        digest = hashlib.sha256(f.read()).hexdigest()
    # Written back before anything is measured: a fresh copy's page-cache
    # pages are dirty until writeback, and smaps would count the whole
    # text of the copy as Private_Dirty (the peers run from clean files).
    os.sync()
    return dst, digest


def run_all(inits, cfg, helper, want, results):
    """Every measurement in turn; returns the markdown sections."""
    sections = []

    def step(name, fn, *a):
        if not want(name):
            return None
        log(f"{name} ...")
        t0 = time.monotonic()
        r = fn(*a)
        reap_strays()
        log(f"{name} done in {time.monotonic() - t0:.1f} s")
        results[name] = r
        return r

    r = step("start", lambda: {"process": measure_start(inits, cfg, False),
                               "pid1": measure_start(inits, cfg, True)})
    if r:
        sections += [report_start(r["process"], inits, False, cfg),
                     report_start(r["pid1"], inits, True, cfg)]
    if step("instructions", measure_instructions, inits):
        sections.append(report_instructions(results["instructions"], inits))
    if step("syscalls", measure_syscalls, inits):
        sections.append(report_syscalls(results["syscalls"], inits))
    if step("memory", measure_memory, inits, cfg, helper):
        sections.append(report_memory(results["memory"], inits))
    if step("wakeups", measure_wakeups, inits, cfg, helper):
        sections.append(report_wakeups(results["wakeups"], inits, cfg))
    if want("orphans"):
        stream_bin = build_orphan_stream()
        if step("orphans", measure_orphans, inits, cfg, helper, stream_bin):
            sections.append(report_orphans(results["orphans"], inits, cfg))
    r = step("latency", lambda: {"unpinned": measure_latency(inits, cfg, helper, False),
                                 "pinned": measure_latency(inits, cfg, helper, True)})
    if r:
        sections += [report_latency(r["unpinned"], inits, False),
                     report_latency(r["pinned"], inits, True)]
    if step("size", measure_size, inits):
        sections.append(report_size(results["size"], inits))
    return sections


def main(argv=None):
    args = parse_args(argv)
    cfg = make_config(args.quick)
    only = set(filter(None, args.only.split(",")))

    def want(name):
        return not only or name in only

    for t in ("true", "unshare", "taskset", "strace", "file"):
        if tool(t) is None:
            sys.exit(f"bench: '{t}' not found in {ENV['PATH']}")
    for what, path in (("--minit", args.minit), ("--minit-static", args.minit_static),
                       ("--helper", args.helper)):
        if not os.access(path, os.X_OK):
            sys.exit(f"bench: {what} {path} is not an executable (run make bench)")

    signal.signal(signal.SIGTERM, lambda s, f: sys.exit(128 + s))
    become_subreaper()
    t_start = time.monotonic()
    meta = {"date": time.strftime("%Y-%m-%dT%H:%M:%S%z"), "quick": cfg.quick,
            "config": cfg.__dict__, "kernel": platform.release(),
            "machine": platform.machine(), "cpus": os.cpu_count(),
            "python": platform.python_version(), "loadavg_start": os.getloadavg(),
            "binaries": {}}
    results = {"meta": meta}
    with tempfile.TemporaryDirectory(prefix="minit-bench-") as tmp:
        copies = {}
        for name, src in (("minit", args.minit), ("minit-static", args.minit_static),
                          ("helper", args.helper)):
            copies[name], digest = snapshot(os.path.abspath(src), tmp, name)
            meta["binaries"][name] = {"path": os.path.abspath(src), "sha256": digest}
        helper = copies["helper"]
        inits = [Init("minit", copies["minit"], True),
                 Init("minit-static", copies["minit-static"], True)] + \
            [Init(n, p, False) for n, p in PEERS]
        try:
            inits = check_inits(inits)
            if not any(i.is_minit for i in inits) or all(i.is_minit for i in inits):
                sys.exit("bench: need at least one minit and one peer that run")
            sections = run_all(inits, cfg, helper, want, results)
        finally:
            cleanup_all()

    text, summ = summary(results, inits)
    results["summary"] = summ
    results["problems"] = PROBLEMS
    results["notes"] = NOTES
    meta["seconds"] = time.monotonic() - t_start
    meta["loadavg_end"] = os.getloadavg()
    print(f"# minit benchmark ({'quick' if cfg.quick else 'full'} run)\n")
    print(f"{meta['date']}, Linux {meta['kernel']}, {meta['cpus']} CPUs, load average "
          f"{meta['loadavg_start'][0]:.2f} at start, {meta['loadavg_end'][0]:.2f} at end. "
          f"minit = {args.minit}, minit-static = {args.minit_static} (copied at start, "
          f"sha256 {meta['binaries']['minit']['sha256'][:12]} and "
          f"{meta['binaries']['minit-static']['sha256'][:12]}); peers: " +
          ", ".join(p for _, p in PEERS) + ".\n")
    for sec in sections:
        print(sec)
    print(text)
    print("## Problems\n")
    print("\n".join(f"- {p}" for p in PROBLEMS) if PROBLEMS else "none")
    if NOTES:
        print("\n## Notes\n\n" + "\n".join(f"- {n}" for n in NOTES))
    print(f"\nTotal run time: {meta['seconds']:.0f} s")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=2)
        f.write("\n")
    log(f"wrote {args.json}")
    return 0


if __name__ == "__main__":
    try:
        sys.exit(main())
    except KeyboardInterrupt:
        cleanup_all()
        sys.exit(130)
