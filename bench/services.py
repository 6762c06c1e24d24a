#!/usr/bin/env python3
# SPDX-License-Identifier: MIT
"""minit job 2 (service supervisor) against runit, s6 and supervisord, all in
the same run, on the same machine.

    python3 bench/services.py --minit build/minit \\
        --helper build/tests/helper/minit-helper [--quick] [--json OUT]

Four measurements (bench/SERVICES.md says how and why):

  1. restart gap of a crashed service that had been up longer than startsecs
  2. idle cost of 100 and 1000 services: wakeups/s, PSS, private memory
  3. time from launch until N services are up
  4. log throughput of 4 services writing as fast as they can

Markdown tables go to stdout, progress to stderr, every number (samples
included) to --json (default build/bench-services.json). Python 3 standard
library only. Needs root (unshare --pid) and cc.

Each supervisor runs as PID 1 of its own PID namespace (`unshare --pid --fork
--mount-proc --kill-child`, in a session of its own), so ending it is
complete: SIGKILL to the namespace's init takes every process in it. The
script is also a child subreaper, and kills and reaps whatever re-parents to
it. Nothing it did not start is ever signalled. All files live in one
mkdtemp() directory, removed at the end.
"""

import argparse
import contextlib
import ctypes
import json
import os
import re
import shutil
import signal
import statistics
import subprocess
import sys
import tempfile
import threading
import time

ENV = {"PATH": "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
       "LANG": "C"}
SUPS = ("minit", "runit", "s6", "supervisord")
PEERS = ("runit", "s6", "supervisord")
# comm of each supervisor's own processes (not the services')
SUP_COMMS = {
    "minit": {"minit"},
    "runit": {"runsvdir", "runsv"},
    "s6": {"s6-svscan", "s6-supervise"},
    "supervisord": {"supervisord"},
}
LIVE = {}        # unshare pid -> Popen; everything this script has running
# If this script is SIGKILLed, the kernel SIGKILLs each unshare (setpriv
# --pdeathsig), and unshare --kill-child takes its namespace down with it.
PDEATH = [shutil.which("setpriv") or "setpriv", "--pdeathsig", "KILL", "--"]
PROBLEMS = []    # measurement problems (peers and harness)
MINIT_ISSUES = []  # what minit did wrong, with a command to reproduce
T0 = time.monotonic()

# The one service program every supervisor execs directly (no shell): the
# same static binary for all four, so that exec cost is equal.
#   benchsvc pause            print "ready PID", then sleep in pause() forever
#   benchsvc probe [LOGFILE]  append "start MONO_NS PID" to LOGFILE, sleep
#                             PROBE_MS (1200) ms, append "exit MONO_NS PID",
#                             exit 1 (the restart-gap probe)
# Run as "run" (runit's and s6's ./run is a symlink to it; s6 passes the
# service name as argv[1]) the mode comes from $BENCH_SVC and the log file
# from $PROBE_LOG.
BENCHSVC_C = r"""
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static long long mono_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (long long)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static void note(int fd, const char *what, long long t)
{
    char b[128];
    int n = snprintf(b, sizeof(b), "%s %lld %d\n", what, t, (int)getpid());
    if (write(fd, b, (size_t)n) != n)
        _exit(3);
}

int main(int argc, char **argv)
{
    long long t0 = mono_ns();
    const char *base = strrchr(argv[0], '/');
    /* runit runs ./run with no argument, s6 with the service name: both
       get their mode from the environment */
    int as_run = strcmp(base ? base + 1 : argv[0], "run") == 0;
    const char *mode = (argc > 1 && !as_run) ? argv[1] : getenv("BENCH_SVC");

    if (mode == NULL)
        mode = "pause";
    if (strcmp(mode, "pause") == 0) {
        char b[64];
        int n = snprintf(b, sizeof(b), "ready %d\n", (int)getpid());
        if (write(1, b, (size_t)n) < 0)
            return 4;
        for (;;)
            pause();
    }
    if (strcmp(mode, "probe") == 0) {
        const char *path = (argc > 2 && !as_run) ? argv[2] : getenv("PROBE_LOG");
        const char *ms_s = getenv("PROBE_MS");
        long ms = ms_s ? atol(ms_s) : 1200;
        struct timespec ts = {ms / 1000, (ms % 1000) * 1000000L};
        int fd;

        if (path == NULL)
            path = "probe.log";
        fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
        if (fd < 0)
            return 2;
        note(fd, "start", t0);
        while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
        }
        note(fd, "exit", mono_ns());
        _exit(1);
    }
    return 64;
}
"""


# The log-throughput reader and checker: reads the supervisor's stdout (its
# stdin) into a buffer it has already touched, so that reading costs little
# and the same for every supervisor; notes CLOCK_MONOTONIC at the first byte
# and at the 4N-th newline; then checks every line against what
# `minit-helper lines N tK` prints ("tK i" + the first i%61 letters of PAD),
# per service, in order; prints one JSON line.
#   logcheck prefixed|raw N CAP_BYTES TIMEOUT_MS QUIET_MS
# prefixed: lines are "logK | tK ..." (minit's stdout); raw: "tK ..." only.
# Ends at 4N lines (+300 ms to catch extra ones), at EOF, after QUIET_MS
# without data once data came, or at TIMEOUT_MS.
LOGCHECK_C = r"""
#define _GNU_SOURCE
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

static const char PAD[] = "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij";

static double now(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

int main(int argc, char **argv)
{
    if (argc != 6)
        return 2;
    int prefixed = strcmp(argv[1], "prefixed") == 0;
    long n = atol(argv[2]);
    size_t cap = strtoull(argv[3], NULL, 10);
    double timeout = atol(argv[4]) / 1000.0, quiet = atol(argv[5]) / 1000.0;
    char *buf = malloc(cap);
    static char scratch[1 << 20];
    if (buf == NULL)
        return 3;
    memset(buf, 1, cap);
    printf("ready\n");
    fflush(stdout);

    size_t off = 0, overflow = 0;
    long lines = 0, target = 4 * n;
    double t0 = now(), t_first = 0, t_last = 0, t_target = 0, end = t0 + timeout;
    int eof = 0, timed_out = 0;
    for (;;) {
        double t = now();
        double wait = end - t;
        if (t_first > 0 && t_target == 0 && t_last + quiet - t < wait)
            wait = t_last + quiet - t;
        if (wait <= 0) {
            timed_out = t_target == 0 && t >= t0 + timeout;
            break;
        }
        struct pollfd pfd = {0, POLLIN, 0};
        int pr = poll(&pfd, 1, (int)(wait * 1000) + 1);
        if (pr == 0)
            continue;
        char *dst = off < cap ? buf + off : scratch;
        size_t room = off < cap ? cap - off : sizeof(scratch);
        if (room > (1 << 20))
            room = 1 << 20;
        ssize_t r = read(0, dst, room);
        t = now();
        if (r <= 0) {
            eof = 1;
            break;
        }
        if (t_first == 0)
            t_first = t;
        t_last = t;
        for (char *q = dst, *e = dst + r; (q = memchr(q, '\n', (size_t)(e - q))) != NULL; q++)
            lines++;
        if (dst == scratch)
            overflow += (size_t)r;
        else
            off += (size_t)r;
        if (t_target == 0 && lines >= target) {
            t_target = t;
            end = t + 0.3;
        }
    }

    long idx[4] = {0, 0, 0, 0};
    long valid = 0, garbled = 0, unattributed = 0, lost = 0, dup = 0, partial = 0;
    long per[4] = {0, 0, 0, 0};
    char *p = buf, *e = buf + off;
    while (p < e) {
        char *nl = memchr(p, '\n', (size_t)(e - p));
        if (nl == NULL) {
            partial = 1;
            break;
        }
        char *l = p;
        size_t len = (size_t)(nl - p);
        int k = -1;
        p = nl + 1;
        if (prefixed) {
            if (len >= 7 && memcmp(l, "log", 3) == 0 && l[3] >= '0' && l[3] <= '3' &&
                memcmp(l + 4, " | ", 3) == 0) {
                k = l[3] - '0';
                l += 7;
                len -= 7;
            } else {
                unattributed++;
                continue;
            }
        }
        if (len < 4 || l[0] != 't' || l[1] < '0' || l[1] > '3' || l[2] != ' ' ||
            (k >= 0 && l[1] - '0' != k)) {
            garbled++;
            continue;
        }
        k = l[1] - '0';
        char *q = l + 3, *le = l + len;
        long i = 0;
        int digits = 0;
        while (q < le && *q >= '0' && *q <= '9' && digits < 12) {
            i = i * 10 + (*q - '0');
            q++;
            digits++;
        }
        if (digits == 0 || (digits > 1 && l[3] == '0') || q >= le + 1 || q == le || *q != ' ' ||
            i >= n) {
            garbled++;
            continue;
        }
        q++;
        size_t padlen = (size_t)(le - q);
        if (padlen != (size_t)(i % 61) || memcmp(q, PAD, padlen) != 0) {
            garbled++;
            continue;
        }
        if (i == idx[k]) {
            valid++;
            per[k]++;
            idx[k]++;
        } else if (i > idx[k]) {
            lost += i - idx[k];
            valid++;
            per[k]++;
            idx[k] = i + 1;
        } else {
            dup++;
        }
    }
    for (int k = 0; k < 4; k++)
        lost += n - idx[k];
    printf("{\"bytes\": %zu, \"overflow_bytes\": %zu, \"lines\": %ld, \"t_first\": %.6f, "
           "\"t_target\": %.6f, \"t_last\": %.6f, \"eof\": %d, \"timed_out\": %d, "
           "\"valid\": %ld, \"garbled\": %ld, \"unattributed\": %ld, \"lost\": %ld, "
           "\"dup_or_reordered\": %ld, \"partial_last_line\": %ld, "
           "\"valid_per_service\": [%ld, %ld, %ld, %ld]}\n",
           off + overflow, overflow, lines, t_first, t_target, t_last, eof, timed_out, valid,
           garbled, unattributed, lost, dup, partial, per[0], per[1], per[2], per[3]);
    return 0;
}
"""


# ---------------------------------------------------------------- plumbing

def log(msg):
    print(f"[services {time.monotonic() - T0:6.1f}s] {msg}", file=sys.stderr, flush=True)


def problem(msg):
    PROBLEMS.append(msg)
    log("PROBLEM: " + msg)


def minit_issue(msg):
    MINIT_ISSUES.append(msg)
    log("MINIT ISSUE: " + msg)


def tool(name):
    return shutil.which(name, path=ENV["PATH"])


def become_subreaper():
    libc = ctypes.CDLL(None, use_errno=True)
    if libc.prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
        log(f"prctl(PR_SET_CHILD_SUBREAPER): {os.strerror(ctypes.get_errno())}")


def children_of(pid):
    kids = []
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return kids
    for tid in tids:
        with contextlib.suppress(OSError, ValueError):
            with open(f"/proc/{pid}/task/{tid}/children") as f:
                kids += [int(x) for x in f.read().split()]
    return kids


def descendants(pid):
    out, todo = [], [pid]
    while todo:
        kids = children_of(todo.pop())
        out += kids
        todo += kids
    return out


def reap_strays(timeout=5.0):
    """Kill and reap children of this script that are not registered: as a
    subreaper, only our own descendants can be re-parented to us."""
    deadline = time.monotonic() + timeout
    while True:
        strays = [p for p in children_of(os.getpid()) if p not in LIVE]
        if not strays:
            return
        for p in strays:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(p, os.WNOHANG)
        if time.monotonic() > deadline:
            log(f"could not reap re-parented pids {strays}")
            return
        time.sleep(0.01)


def comm(pid):
    try:
        with open(f"/proc/{pid}/comm") as f:
            return f.read().strip()
    except OSError:
        return None


def read_status_kv(path):
    out = {}
    try:
        with open(path) as f:
            for line in f:
                k, _, v = line.partition(":")
                out[k] = v.strip()
    except OSError:
        pass
    return out


def ctxt(pid):
    """voluntary + nonvoluntary context switches over all threads of pid."""
    total = 0
    try:
        tids = os.listdir(f"/proc/{pid}/task")
    except OSError:
        return None
    for tid in tids:
        kv = read_status_kv(f"/proc/{pid}/task/{tid}/status")
        with contextlib.suppress(KeyError, ValueError):
            total += int(kv["voluntary_ctxt_switches"]) + int(kv["nonvoluntary_ctxt_switches"])
    return total


def smaps(pid):
    kv = read_status_kv(f"/proc/{pid}/smaps_rollup")

    def kb(k):
        try:
            return int(kv[k].split()[0])
        except (KeyError, ValueError, IndexError):
            return 0
    return {"rss": kb("Rss"), "pss": kb("Pss"),
            "private": kb("Private_Clean") + kb("Private_Dirty")}


def med(xs):
    return statistics.median(xs) if xs else None


class Instance:
    """One supervisor, as PID 1 of a fresh PID namespace, in a session of
    its own. stdout is a pipe read by a thread that counts lines containing
    `needle` (and notes when there are `target` of them), /dev/null
    (stdout="null"), or the given stdout_fd."""

    def __init__(self, kind, argv, workdir, env_extra=None, stdout="count",
                 needle=b"ready", target=0, prefix=(), stdout_fd=None):
        self.kind = kind
        self.argv = argv
        self.workdir = workdir
        self.env = dict(ENV, **(env_extra or {}))
        self.stdout_mode = stdout
        self.needle = needle
        self.target = target
        self.prefix = list(prefix)
        self.stdout_fd = stdout_fd
        self.p = None
        self.init = None
        self.reader = None
        self.err_path = os.path.join(workdir, f"{kind}.stderr")
        # reader state
        self.count = 0
        self.nbytes = 0
        self.t_first = None
        self.t_last = None
        self.t_target = None
        self.eof = False
        self.done = threading.Event()

    def start(self):
        self.t_launch = time.monotonic()
        with open(self.err_path, "wb") as err:
            self.p = subprocess.Popen(
                [*PDEATH, *self.prefix, tool("unshare"), "--pid", "--fork", "--mount-proc",
                 "--kill-child", *self.argv],
                stdin=subprocess.DEVNULL,
                stdout=(self.stdout_fd if self.stdout_fd is not None else
                        subprocess.DEVNULL if self.stdout_mode == "null" else subprocess.PIPE),
                stderr=err, env=self.env, cwd=self.workdir, start_new_session=True)
        LIVE[self.p.pid] = self.p
        if self.stdout_mode != "null" and self.stdout_fd is None:
            self.reader = threading.Thread(target=self._read, daemon=True)
            self.reader.start()
        return self

    def _read(self):
        fd = self.p.stdout.fileno()
        rest = b""
        while True:
            try:
                chunk = os.read(fd, 1 << 16)
            except OSError:
                break
            now = time.monotonic()
            if not chunk:
                break
            if self.t_first is None:
                self.t_first = now
            self.t_last = now
            self.nbytes += len(chunk)
            parts = (rest + chunk).split(b"\n")
            rest = parts.pop()
            self.count += sum(1 for ln in parts if self.needle in ln)
            if self.target and self.t_target is None and self.count >= self.target:
                self.t_target = now
                self.done.set()
        self.eof = True
        self.done.set()

    def ns_init(self, timeout=5.0):
        """Host pid of the namespace's PID 1 (the supervisor)."""
        if self.init is not None:
            return self.init
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            kids = children_of(self.p.pid)
            if kids:
                self.init = kids[0]
                return self.init
            if self.p.poll() is not None:
                break
            time.sleep(0.002)
        raise RuntimeError(f"{self.kind}: no namespace init under unshare pid {self.p.pid}")

    def all_pids(self):
        init = self.ns_init()
        return [init] + descendants(init)

    def sup_pids(self, pids=None):
        names = SUP_COMMS[self.kind]
        return [p for p in (pids or self.all_pids()) if comm(p) in names]

    def alive(self):
        return self.p.poll() is None

    def stderr_tail(self, n=600):
        try:
            with open(self.err_path, "rb") as f:
                data = f.read()
            return data[-n:].decode(errors="replace")
        except OSError:
            return ""

    def stop(self):
        """SIGKILL the namespace init (the kernel then kills everything in
        the namespace), unshare and its process group; reap."""
        if self.p is None:
            return
        if self.p.poll() is None:
            if self.init is None:
                kids = children_of(self.p.pid)
                self.init = kids[0] if kids else None
            if self.init is not None:
                with contextlib.suppress(OSError):
                    os.kill(self.init, signal.SIGKILL)
            with contextlib.suppress(OSError):
                os.kill(self.p.pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.killpg(self.p.pid, signal.SIGKILL)
        try:
            self.p.wait(20)
        except subprocess.TimeoutExpired:
            problem(f"{self.kind}: unshare pid {self.p.pid} did not die within 20 s")
        if self.reader is not None:
            self.reader.join(10)
        if self.p.stdout is not None:
            self.p.stdout.close()
        LIVE.pop(self.p.pid, None)
        reap_strays()


@contextlib.contextmanager
def running(inst):
    try:
        yield inst.start()
    finally:
        inst.stop()


def cleanup_all():
    for pid, p in list(LIVE.items()):
        with contextlib.suppress(OSError):
            for k in children_of(pid):
                os.kill(k, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.kill(pid, signal.SIGKILL)
        with contextlib.suppress(OSError):
            os.killpg(pid, signal.SIGKILL)
        with contextlib.suppress(subprocess.TimeoutExpired):
            p.wait(10)
        LIVE.pop(pid, None)
    reap_strays()


# ------------------------------------------------------------ configurations

class Ctx:
    def __init__(self, minit, helper, tmp, benchsvc, quick):
        self.minit = minit
        self.helper = helper
        self.tmp = tmp
        self.benchsvc = benchsvc
        self.quick = quick
        self.seq = 0

    def newdir(self, name):
        self.seq += 1
        d = os.path.join(self.tmp, f"{self.seq:03d}-{name}")
        os.makedirs(d)
        return d


def minit_ctl(ctx, sock, *args, timeout=10):
    return subprocess.run([ctx.minit, "ctl", "-S", sock, *args], stdin=subprocess.DEVNULL,
                          capture_output=True, env=ENV, timeout=timeout)


def minit_instance(ctx, d, services, **kw):
    """services: list of (name, command, {key: value})."""
    ini = os.path.join(d, "minit.ini")
    with open(ini, "w") as f:
        for name, command, keys in services:
            f.write(f"[service:{name}]\ncommand = {command}\n")
            for k, v in keys.items():
                f.write(f"{k} = {v}\n")
            f.write("\n")
    sock = os.path.join(d, "minit.sock")
    inst = Instance("minit", [ctx.minit, "-S", sock, "-c", ini], d, **kw)
    inst.sock = sock
    with open(ini) as f:
        text = f.read()
    if len(text) > 400:
        text = (f"{len(services)} sections like: " + text[:text.index("\n\n")]).strip()
    inst.repro = ("config " + text.replace("\n", " / ").replace(ctx.tmp, "TMP") +
                  "; run: unshare --pid --fork --mount-proc build/minit -S SOCK -c FILE"
                  " (TMP/benchsvc is the program embedded in bench/services.py)")
    return inst


def supervisord_instance(ctx, d, programs, **kw):
    conf = os.path.join(d, "supervisord.conf")
    sock = os.path.join(d, "supervisord.sock")
    with open(conf, "w") as f:
        f.write(f"""[supervisord]
nodaemon=true
silent=true
user=root
loglevel=warn
logfile={d}/supervisord.log
pidfile={d}/supervisord.pid
childlogdir={d}
minfds=1024
minprocs=200

[unix_http_server]
file={sock}

[rpcinterface:supervisor]
supervisor.rpcinterface_factory = supervisor.rpcinterface:make_main_rpcinterface

[supervisorctl]
serverurl=unix://{sock}

""")
        for name, command, keys in programs:
            f.write(f"[program:{name}]\ncommand={command}\n")
            for k, v in keys.items():
                f.write(f"{k}={v}\n")
            f.write("\n")
    inst = Instance("supervisord", [tool("supervisord"), "-c", conf], d, **kw)
    inst.conf = conf
    return inst


def scandir_instance(ctx, kind, d, names, env_extra, **kw):
    """runit or s6: a scan directory with one service dir per name whose
    ./run is a symlink to benchsvc (exec'd directly, no shell)."""
    scan = os.path.join(d, "scan")
    os.makedirs(scan)
    for name in names:
        sd = os.path.join(scan, name)
        os.makedirs(sd)
        os.symlink(ctx.benchsvc, os.path.join(sd, "run"))
    if kind == "runit":
        argv = [tool("runsvdir"), scan]
    else:
        argv = [tool("s6-svscan"), "-c", str(max(1000, 2 * len(names))), scan]
    return Instance(kind, argv, d, env_extra=env_extra, **kw)


# ------------------------------------------------------- 1. restart gap

def restart_gap_one(ctx, kind, ngaps):
    d = ctx.newdir(f"gap-{kind}")
    plog = os.path.join(d, "probe.log")
    cmd = f"{ctx.benchsvc} probe {plog}"
    if kind == "minit":
        inst = minit_instance(ctx, d, [("probe", cmd, {"startsecs": "1s", "autorestart": "true"})],
                              stdout="null")
    elif kind == "supervisord":
        inst = supervisord_instance(ctx, d, [("probe", cmd, {
            "startsecs": "1", "autorestart": "true", "startretries": "100",
            "stdout_logfile": "NONE", "stderr_logfile": "NONE"})], stdout="null")
    else:
        inst = scandir_instance(ctx, kind, d, ["probe"],
                                {"BENCH_SVC": "probe", "PROBE_LOG": plog}, stdout="null")
    starts, exits = [], []
    timeout = 8.0 + (ngaps + 1) * 2.6
    with running(inst):
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            time.sleep(0.2)
            starts, exits = parse_probe(plog)
            if len(starts) >= ngaps + 1:
                break
            if not inst.alive():
                break
    gaps = []
    for i in range(min(len(starts) - 1, len(exits))):
        if exits[i][1] != starts[i][1]:
            problem(f"{kind}: probe log out of order at run {i}")
            break
        gaps.append((starts[i + 1][0] - exits[i][0]) / 1e6)
    gaps = gaps[:ngaps]
    lived = [(e[0] - s[0]) / 1e6 for s, e in zip(starts, exits)]
    res = {"gaps_ms": gaps, "runs": len(starts), "lived_ms": lived}
    if len(gaps) < ngaps:
        msg = (f"{kind}: only {len(gaps)} of {ngaps} restart gaps within {timeout:.0f} s "
               f"({len(starts)} starts); stderr: {inst.stderr_tail(300)!r}")
        if kind == "minit":
            minit_issue(msg + f"; reproduce: {inst.repro}")
        else:
            problem(msg)
    return res


def parse_probe(path):
    starts, exits = [], []
    try:
        with open(path) as f:
            for line in f:
                parts = line.split()
                if len(parts) != 3:
                    continue
                (starts if parts[0] == "start" else exits).append((int(parts[1]), int(parts[2])))
    except OSError:
        pass
    return starts, exits


def measure_restart(ctx):
    ngaps = 4 if ctx.quick else 10
    res = {}
    for kind in SUPS:
        log(f"restart gap: {kind} ({ngaps} gaps)")
        try:
            res[kind] = restart_gap_one(ctx, kind, ngaps)
        except Exception as e:  # noqa: BLE001 - keep the other supervisors' numbers
            problem(f"restart gap {kind}: {e!r}")
            res[kind] = {"gaps_ms": [], "error": repr(e)}
    return res


# ------------------------------------------- 2 + 3. N services: start, idle

def n_services_instance(ctx, kind, n, d):
    names = [f"s{i:04d}" for i in range(n)]
    cmd = f"{ctx.benchsvc} pause"
    if kind == "minit":
        return minit_instance(ctx, d, [(nm, cmd, {"startsecs": "0"}) for nm in names],
                              target=n)
    if kind == "supervisord":
        return supervisord_instance(ctx, d, [(nm, cmd, {
            "startsecs": "0", "autorestart": "true", "stdout_logfile": "/dev/stdout",
            "stdout_logfile_maxbytes": "0", "stderr_logfile": "NONE"}) for nm in names],
            target=n)
    return scandir_instance(ctx, kind, d, names, {"BENCH_SVC": "pause"}, target=n)


def minit_detail(pid):
    """Where minit's memory is: heap private dirty, VmData, fds."""
    out = {}
    with contextlib.suppress(OSError):
        cur = None
        with open(f"/proc/{pid}/smaps") as f:
            for line in f:
                if re.match(r"^[0-9a-f]+-[0-9a-f]+ ", line):
                    cur = line.split()[-1] if len(line.split()) >= 6 else ""
                elif cur == "[heap]" and line.startswith("Private_Dirty:"):
                    out["heap_private_dirty_kb"] = int(line.split()[1])
        kv = read_status_kv(f"/proc/{pid}/status")
        out["vmdata_kb"] = int(kv.get("VmData", "0 kB").split()[0])
        out["fds"] = len(os.listdir(f"/proc/{pid}/fd"))
    return out


def count_services(pids, benchsvc):
    n = 0
    for p in pids:
        with contextlib.suppress(OSError):
            if os.readlink(f"/proc/{p}/exe") == benchsvc:
                n += 1
    return n


def n_services_run(ctx, kind, n, idle_window, timeout, measure_idle):
    d = ctx.newdir(f"n{n}-{kind}")
    inst = n_services_instance(ctx, kind, n, d)
    r = {"n": n, "loadavg_before": loadavg()}
    with running(inst):
        ctl_polls = 0
        if kind == "minit":
            # Poll `minit ctl status --json` every 20 ms until all N are running.
            deadline = inst.t_launch + timeout
            while time.monotonic() < deadline:
                try:
                    cp = minit_ctl(ctx, inst.sock, "status", "--json")
                except subprocess.TimeoutExpired:
                    cp = None
                now = time.monotonic()
                ctl_polls += 1
                if cp is not None and cp.returncode == 0:
                    try:
                        st = json.loads(cp.stdout)
                        running_n = sum(1 for s in st["services"] if s.get("state") == "running")
                    except (ValueError, KeyError, TypeError) as e:
                        minit_issue(f"ctl status --json unparsable ({e}): "
                                    f"{cp.stdout[:200]!r}; reproduce: {inst.repro}")
                        break
                    if "first_ctl_s" not in r:
                        r["first_ctl_s"] = now - inst.t_launch
                        r["first_ctl_running"] = running_n
                    if running_n >= n:
                        r["t_ctl_s"] = now - inst.t_launch
                        break
                if not inst.alive():
                    break
                time.sleep(0.02)
            r["ctl_polls"] = ctl_polls
            if "t_ctl_s" not in r:
                minit_issue(f"{n} services: ctl status never showed all running within "
                            f"{timeout:.0f} s (alive={inst.alive()}, ready lines={inst.count}); "
                            f"stderr: {inst.stderr_tail(300)!r}; reproduce: {inst.repro}")
        left = inst.t_launch + timeout - time.monotonic()
        inst.done.wait(max(0.0, left))
        if inst.t_first is not None:
            r["t_first_output_s"] = inst.t_first - inst.t_launch
        if inst.t_target is not None:
            r["t_ready_s"] = inst.t_target - inst.t_launch
        else:
            msg = (f"{kind} {n} services: only {inst.count} of {n} ready lines within "
                   f"{timeout:.0f} s; stderr: {inst.stderr_tail(300)!r}")
            r["ready_lines"] = inst.count
            if kind == "minit":
                minit_issue(msg + f"; reproduce: {inst.repro}")
            else:
                problem(msg)
            return r
        if not measure_idle:
            return r
        time.sleep(0.5 if ctx.quick else 1.0)  # settle: let the last startup work finish
        pids = inst.all_pids()
        sup = inst.sup_pids(pids)
        r["services_running"] = count_services(pids, ctx.benchsvc)
        r["sup_procs"] = len(sup)
        if r["services_running"] != n:
            problem(f"{kind}: {r['services_running']} service processes, expected {n}")
        c0 = {p: ctxt(p) for p in sup}
        t0 = time.monotonic()
        time.sleep(idle_window)
        c1 = {p: ctxt(p) for p in sup}
        dt = time.monotonic() - t0
        gone = [p for p in sup if c1[p] is None or c0[p] is None]
        if gone:
            problem(f"{kind}: supervisor processes vanished during the idle window: {gone[:5]}")
        delta = sum(c1[p] - c0[p] for p in sup if c1[p] is not None and c0[p] is not None)
        r["wakeups"] = delta
        r["window_s"] = dt
        r["wakeups_per_s"] = delta / dt
        r["busiest"] = sorted(((c1[p] - c0[p], comm(p)) for p in sup
                               if c1[p] is not None and c0[p] is not None), reverse=True)[:3]
        mem = {"rss": 0, "pss": 0, "private": 0}
        for p in sup:
            m = smaps(p)
            for k in mem:
                mem[k] += m[k]
        r.update({f"{k}_kb": v for k, v in mem.items()})
        if kind == "minit" and inst.alive():
            r.update(minit_detail(sup[0]) if sup else {})
            cp = minit_ctl(ctx, inst.sock, "status", "--json")
            with contextlib.suppress(ValueError, KeyError, TypeError):
                st = json.loads(cp.stdout)
                r["restarts_total"] = sum(s.get("restarts", 0) for s in st["services"])
        if not inst.alive():
            msg = f"{kind} {n} services: supervisor died during the measurement"
            if kind == "minit":
                minit_issue(msg + f"; reproduce: {inst.repro}")
            else:
                problem(msg)
    return r


def spawn_floor(ctx, n):
    """Reference: this script itself posix_spawn()s N `benchsvc pause` in a
    loop (vfork + exec, what a one-process supervisor does at best), stdout
    on one pipe; seconds until N ready lines are read."""
    r, w = os.pipe()
    pids = []
    try:
        t0 = time.monotonic()
        fa = [(os.POSIX_SPAWN_DUP2, w, 1), (os.POSIX_SPAWN_CLOSE, r)]
        for _ in range(n):
            pids.append(os.posix_spawn(ctx.benchsvc, [ctx.benchsvc, "pause"], ENV,
                                       file_actions=fa, setpgroup=0))
        t_loop = time.monotonic() - t0
        os.close(w)
        w = -1
        c, rest = 0, b""
        deadline = time.monotonic() + 60
        while c < n and time.monotonic() < deadline:
            chunk = os.read(r, 1 << 16)
            if not chunk:
                break
            parts = (rest + chunk).split(b"\n")
            rest = parts.pop()
            c += sum(1 for ln in parts if b"ready" in ln)
        return {"t_ready_s": time.monotonic() - t0, "t_spawn_loop_s": t_loop, "ready": c}
    finally:
        for p in pids:
            with contextlib.suppress(OSError):
                os.kill(p, signal.SIGKILL)
        for p in pids:
            with contextlib.suppress(ChildProcessError, OSError):
                os.waitpid(p, 0)
        os.close(r)
        if w >= 0:
            os.close(w)


def nofile_run(ctx, kind, n):
    """N services with the soft RLIMIT_NOFILE at 1024 (hard unchanged), as
    under systemd's and many container runtimes' defaults; how many come
    up? Waits until all are up, or no new one for 4 s (quick: 2.5 s), at
    most 40 s."""
    d = ctx.newdir(f"nofile-{kind}")
    inst = n_services_instance(ctx, kind, n, d)
    inst.prefix = [tool("prlimit"), "--nofile=1024:", "--"]
    r = {"n": n}
    stall = 2.5 if ctx.quick else 4.0
    with running(inst):
        last_c, last_t = 0, time.monotonic()
        while time.monotonic() - inst.t_launch < 40:
            if inst.done.wait(0.25):
                break
            if inst.count != last_c:
                last_c, last_t = inst.count, time.monotonic()
            elif time.monotonic() - last_t > stall and time.monotonic() - inst.t_launch > 4:
                break
        r["up"] = inst.count
        r["seconds"] = (inst.t_target or time.monotonic()) - inst.t_launch
        if kind == "minit":
            try:
                cp = minit_ctl(ctx, inst.sock, "status", "--json", timeout=5)
                r["ctl_rc"] = cp.returncode
                r["ctl_err"] = cp.stderr.decode(errors="replace").strip()[:200]
            except subprocess.TimeoutExpired:
                r["ctl_rc"] = "timeout"
            err = inst.stderr_tail(100000)
            r["stderr_lines"] = err.count("\n")
            r["emfile_errors"] = err.count("Too many open files")
            r["accept_errors"] = err.count("unable to accept")
            r["stderr_sample"] = sorted(set(
                re.sub(r"s\d{4}", "sNNNN", ln) for ln in err.splitlines()))[:4]
            r["fds"] = len(os.listdir(f"/proc/{inst.ns_init()}/fd")) if inst.alive() else None
            r["soft_limit"] = nofile_soft(inst.ns_init())
    return r


def nofile_soft(pid):
    with contextlib.suppress(OSError, ValueError, IndexError):
        with open(f"/proc/{pid}/limits") as f:
            for line in f:
                if line.startswith("Max open files"):
                    return int(line.split()[3])
    return None


def resource_hard_nofile():
    import resource
    return resource.getrlimit(resource.RLIMIT_NOFILE)[1]


def measure_nservices(ctx):
    window = 2.0 if ctx.quick else 5.0
    reps = 1 if ctx.quick else 3
    res = {"window_s": window, "100": {}, "1000": {}, "floor": {}, "nofile": {}}
    # 100 services: all four, one run each (idle + start)
    for kind in SUPS:
        log(f"100 services: {kind}")
        try:
            res["100"][kind] = {"runs": [n_services_run(ctx, kind, 100, window, 60.0, True)]}
        except Exception as e:  # noqa: BLE001
            problem(f"100 services {kind}: {e!r}")
            res["100"][kind] = {"runs": [], "error": repr(e)}
    # 1000 services: minit, runit, s6 interleaved, `reps` runs; idle in the first
    kinds = ["minit", "runit", "s6"]
    for k in kinds:
        res["1000"][k] = {"runs": []}
    for n in (100, 1000):
        res["floor"][str(n)] = []
    for rep in range(reps):
        for n in (100, 1000):
            with contextlib.suppress(Exception):
                res["floor"][str(n)].append(spawn_floor(ctx, n))
        for kind in kinds:
            log(f"1000 services: {kind} run {rep + 1}/{reps}")
            try:
                res["1000"][kind]["runs"].append(
                    n_services_run(ctx, kind, 1000, window, 60.0, rep == 0))
            except Exception as e:  # noqa: BLE001
                problem(f"1000 services {kind}: {e!r}")
    if not ctx.quick:
        log("1000 services: supervisord (one run, given 60 s)")
        try:
            r = n_services_run(ctx, "supervisord", 1000, window, 60.0, True)
            res["1000"]["supervisord"] = {"runs": [r]}
        except Exception as e:  # noqa: BLE001
            problem(f"1000 services supervisord: {e!r}")
    # robustness: 1000 services under a soft open-files limit of 1024
    for kind in (["minit"] if ctx.quick else kinds):
        log(f"1000 services, soft RLIMIT_NOFILE 1024: {kind}")
        try:
            res["nofile"][kind] = nofile_run(ctx, kind, 1000)
        except Exception as e:  # noqa: BLE001
            problem(f"nofile {kind}: {e!r}")
    return res


# ------------------------------------------------------ 4. log throughput

def start_logcheck(ctx, mode, n, cap, timeout_s, quiet_s=2.0):
    """Start logcheck reading from a new pipe; returns (Popen, write end)."""
    r, w = os.pipe()
    try:
        p = subprocess.Popen([ctx.logcheck, mode, str(n), str(cap), str(int(timeout_s * 1000)),
                              str(int(quiet_s * 1000))], stdin=r, stdout=subprocess.PIPE,
                             stderr=subprocess.DEVNULL, env=ENV, start_new_session=True)
    except BaseException:
        os.close(w)
        raise
    finally:
        os.close(r)
    LIVE[p.pid] = p
    line = p.stdout.readline()
    if line.strip() != b"ready":
        finish_logcheck(p, 1)
        os.close(w)
        raise RuntimeError(f"logcheck did not start: {line!r}")
    return p, w


def finish_logcheck(p, timeout):
    try:
        out, _ = p.communicate(timeout=timeout)
    except subprocess.TimeoutExpired:
        with contextlib.suppress(OSError):
            os.killpg(p.pid, signal.SIGKILL)
        out, _ = p.communicate()
        out = b""
    LIVE.pop(p.pid, None)
    try:
        return json.loads(out.decode().strip().splitlines()[-1])
    except (ValueError, IndexError):
        return None


def logcheck_selftest(ctx):
    """The checker must accept exactly what the helper prints."""
    p, w = start_logcheck(ctx, "raw", 1000, 1 << 20, 20.0, 1.0)
    try:
        for t in ("t0", "t1", "t2", "t3"):
            subprocess.run([ctx.helper, "lines", "1000", t], stdout=w, env=ENV, check=True,
                           timeout=20)
    finally:
        os.close(w)
    r = finish_logcheck(p, 30)
    if not r or r["valid"] != 4000 or r["lost"] or r["garbled"]:
        raise RuntimeError(f"logcheck rejects the helper's own output: {r}")


def log_run(ctx, kind, n, timeout):
    d = ctx.newdir(f"log-{kind}")
    tags = ["t0", "t1", "t2", "t3"]
    exp_lines = 4 * n
    line_bytes = sum(len(f"tX {i} ") + i % 61 + 1 for i in range(n))
    exp_payload = 4 * line_bytes
    prefix_bytes = 4 * len("log0 | ") * n if kind == "minit" else 0
    cap = int((exp_payload + prefix_bytes) * 1.1) + (1 << 20)
    r = {"n_per_service": n, "expected_lines": exp_lines, "expected_payload_bytes": exp_payload,
         "loadavg_before": loadavg()}
    lc, w = start_logcheck(ctx, "prefixed" if kind == "minit" else "raw", n, cap,
                           timeout, 2.0)
    try:
        if kind == "minit":
            inst = minit_instance(ctx, d, [(f"log{i}", f"{ctx.helper} lines {n} {t}",
                                            {"startsecs": "0", "autorestart": "false"})
                                           for i, t in enumerate(tags)], stdout_fd=w)
        else:
            inst = supervisord_instance(ctx, d, [(f"log{i}", f"{ctx.helper} lines {n} {t}", {
                "startsecs": "0", "autorestart": "false", "stdout_logfile": "/dev/stdout",
                "stdout_logfile_maxbytes": "0", "stderr_logfile": "NONE"})
                for i, t in enumerate(tags)], stdout_fd=w)
        with running(inst):
            os.close(w)
            w = -1
            res = finish_logcheck(lc, timeout + 10)
            r["supervisor_alive_at_end"] = inst.alive()
            r["stderr_tail"] = inst.stderr_tail(300)
    finally:
        if w >= 0:
            os.close(w)
        if lc.poll() is None:
            with contextlib.suppress(OSError):
                os.killpg(lc.pid, signal.SIGKILL)
            lc.wait(10)
        LIVE.pop(lc.pid, None)
    if res is None:
        raise RuntimeError("logcheck gave no result")
    r.update(res)
    r["received_bytes"] = res["bytes"]
    r["received_lines"] = res["lines"]
    r["lost_lines"] = res["lost"]
    r["garbled_lines"] = res["garbled"] + res["unattributed"]
    last = res["t_target"] or res["t_last"]
    secs = last - res["t_first"] if res["t_first"] else None
    r["seconds"] = secs
    r["payload_bytes"] = res["bytes"] - (res["lines"] * len("log0 | ") if kind == "minit" else 0)
    r["ok"] = (res["valid"] == exp_lines and res["lost"] == 0 and r["garbled_lines"] == 0 and
               res["dup_or_reordered"] == 0 and not res["partial_last_line"] and
               res["lines"] == exp_lines and res["bytes"] == exp_payload + prefix_bytes)
    if secs and secs > 0:
        r["payload_mb_s"] = r["payload_bytes"] / 1e6 / secs
        r["received_mb_s"] = res["bytes"] / 1e6 / secs
        r["lines_per_s"] = res["lines"] / secs
    if kind == "minit" and not r["ok"]:
        minit_issue(f"log throughput: output not exact: {json.dumps(res)}; minit stderr "
                    f"{r['stderr_tail']!r}; reproduce: 4 services `minit-helper lines {n} tK` "
                    f"(startsecs = 0, autorestart = false) under `unshare --pid --fork "
                    f"--mount-proc build/minit -S SOCK -c FILE | wc -l` (expect {exp_lines})")
    return r


def _exe(pid):
    try:
        return os.readlink(f"/proc/{pid}/exe")
    except OSError:
        return ""


def measure_logs(ctx):
    n = 600_000 if ctx.quick else 2_400_000
    rounds = 2 if ctx.quick else 3
    logcheck_selftest(ctx)
    payload = 4 * sum(len(f"tX {i} ") + i % 61 + 1 for i in range(n))
    res = {"n_per_service": n, "rounds": rounds, "expected_payload_mb": payload / 1e6,
           "minit": {"runs": []}, "supervisord": {"runs": []}}
    for rnd in range(rounds):
        for kind in ("minit", "supervisord"):
            log(f"log throughput: {kind} round {rnd + 1}/{rounds} ({payload / 1e6:.0f} MB)")
            try:
                res[kind]["runs"].append(log_run(ctx, kind, n, 60.0 if ctx.quick else 120.0))
            except Exception as e:  # noqa: BLE001
                problem(f"log throughput {kind}: {e!r}")
                res[kind]["runs"].append({"error": repr(e)})
    return res


def loadavg():
    try:
        with open("/proc/loadavg") as f:
            return " ".join(f.read().split()[:3])
    except OSError:
        return "?"


# ---------------------------------------------------------------- report

def fmt(v, digits=2):
    if v is None:
        return "-"
    if isinstance(v, int):
        return f"{v}"
    if abs(v) >= 100:
        return f"{v:.0f}"
    if abs(v) >= 10:
        return f"{v:.1f}"
    return f"{v:.{digits}f}"


def md(headers, rows):
    out = ["| " + " | ".join(headers) + " |",
           "| " + " | ".join("---" for _ in headers) + " |"]
    out += ["| " + " | ".join(str(c) for c in r) + " |" for r in rows]
    return "\n".join(out)


def best_of(vals, higher=False):
    vals = {k: v for k, v in vals.items() if v is not None}
    if not vals:
        return None, None
    k = (max if higher else min)(vals, key=vals.get)
    return k, vals[k]


def ratio(a, b):
    if a is None or b is None:
        return "-"
    if b == 0:
        return "=" if a == 0 else "inf"
    return f"{a / b:.2f}x"


def target_issues(results, args):
    """Turn each missed minit target into a minit problem with the numbers."""
    ns = results.get("nservices", {})
    r = next((x for x in ns.get("1000", {}).get("minit", {}).get("runs", [])
              if "wakeups_per_s" in x), None)
    how = ("python3 bench/services.py --minit build/minit --helper "
           "build/tests/helper/minit-helper --quick --only nservices")
    if r:
        if r["wakeups_per_s"] != 0:
            minit_issue(f"idle with 1000 services: {r['wakeups']} wakeups in "
                        f"{r['window_s']:.1f} s (target 0); reproduce: {how}")
        if r["private_kb"] >= 2048:
            minit_issue(
                f"idle with 1000 services: {r['private_kb']} kB private memory (target < 2048 kB): "
                f"[heap] private dirty {r.get('heap_private_dirty_kb')} kB, VmData "
                f"{r.get('vmdata_kb')} kB, {r.get('fds')} fds open (about "
                f"{(r.get('vmdata_kb') or 0) / 1000:.0f} kB of address space and "
                f"{(r.get('heap_private_dirty_kb') or 0) / 1000:.1f} kB of touched heap per "
                f"service); reproduce: {how}, or run minit on 1000 `[service:sNNNN]` sections "
                f"of `minit-helper pause` and read /proc/PID/smaps_rollup")
    tc = [x["t_ctl_s"] for x in ns.get("1000", {}).get("minit", {}).get("runs", [])
          if "t_ctl_s" in x]
    fl = [x["t_ready_s"] for x in ns.get("floor", {}).get("1000", [])]
    nf = ns.get("nofile", {}).get("minit")
    if nf and nf["up"] < nf["n"]:
        per = (f"; without the limit, minit with 1000 services holds {r['fds']} fds "
               f"({r['fds'] / 1000:.1f} per service)" if r and r.get("fds") else "")
        ctl = ("; `minit ctl status` then " +
               (f"got no answer within 5 s (minit sat at {nf.get('fds')} open fds, soft "
                f"limit {nf.get('soft_limit')}; accepting the ctl connection failed with EMFILE: "
                f"{nf.get('accept_errors')} 'control: unable to accept a connection ... "
                f"retrying in 1s' warnings, so `minit ctl` waits until its own 30 s reply deadline)"
                if nf.get("ctl_rc") == "timeout" else
                f"exited {nf.get('ctl_rc')} {nf.get('ctl_err') or ''}".strip()))
        peers = "".join(f" {k}: {ns['nofile'][k]['up']} of {nf['n']} up under the same limit."
                        for k in ("runit", "s6") if k in ns["nofile"])
        minit_issue(
            f"{nf['n']} services under a soft open-files limit of 1024 (hard limit "
            f"{resource_hard_nofile()}): only {nf['up']} came up; minit's soft limit stayed "
            f"{nf.get('soft_limit')} (it does not raise it toward the hard limit){per}; "
            f"{nf.get('emfile_errors')} 'Too many open files' errors on stderr, e.g. "
            f"{(nf.get('stderr_sample') or ['?'])[0]!r}{ctl}.{peers} Reproduce: write {nf['n']} sections `[service:sNNNN]` "
            f"`command = build/tests/helper/minit-helper pause` `startsecs = 0` to /tmp/n.ini, "
            f"then `prlimit --nofile=1024: -- unshare --pid --fork --mount-proc build/minit "
            f"-S /tmp/n.sock -c /tmp/n.ini`")
    runs = [x for x in ns.get("1000", {}).get("minit", {}).get("runs", []) if "t_ctl_s" in x]
    if tc and med(tc) >= 1.0:
        detail = "; ".join(
            f"run {i + 1}: first service output at {fmt(x.get('t_first_output_s'), 3)} s, "
            f"first ctl answer at {fmt(x.get('first_ctl_s'), 3)} s showing "
            f"{x.get('first_ctl_running')} running, all running at {fmt(x['t_ctl_s'], 3)} s, "
            f"all ready lines at {fmt(x.get('t_ready_s'), 3)} s"
            for i, x in enumerate(runs))
        minit_issue(
            f"start 1000 services: ctl shows all running after {med(tc):.2f} s (median of "
            f"{len(tc)}; target < 1 s); a bare posix_spawn loop of the same 1000 programs "
            f"from this script takes {fmt(med(fl), 2)} s on this machine ({detail}); "
            f"reproduce: {how}")


def pf(v):
    """PASS/FAIL cell."""
    return "PASS" if v else "FAIL"


def report(results, args):
    out = []
    P = out.append
    meta = results.get("meta", {})
    P(f"# minit services benchmark ({'quick' if args.quick else 'full'})\n")
    P(f"minit `{args.minit}` (sha256 {meta.get('minit_sha256', '?')[:16]}); "
      f"runit {meta.get('versions', {}).get('runit')}, "
      f"s6 {meta.get('versions', {}).get('s6')}, "
      f"supervisor {meta.get('versions', {}).get('supervisor')}; "
      f"{os.cpu_count()} CPUs, kernel {os.uname().release}; load average at start "
      f"{meta.get('loadavg_start')}, at end {results.get('loadavg_end')}. "
      "Each supervisor runs as PID 1 of its own PID namespace, one at a time; "
      "ratio = minit / best peer (< 1 is better for minit, except MB/s).\n")
    summary = []

    # 1
    rg = results.get("restart")
    if rg:
        P("## 1. Restart gap after a crash (service up 1.2 s > startsecs, then exit 1)\n")
        P("gap = the next run's first instruction (CLOCK_MONOTONIC read first thing in "
          "main) minus the previous run's last write before `_exit(1)`, in ms. minit "
          "`startsecs = 1s`, supervisord `startsecs = 1`, both `autorestart = true`; "
          "runit and s6 run the same static binary as `./run`.\n")
        meds = {k: med(rg[k].get("gaps_ms")) for k in SUPS if k in rg}
        bk, bv = best_of({k: meds.get(k) for k in PEERS})
        rows = []
        for k in SUPS:
            g = rg.get(k, {}).get("gaps_ms", [])
            rows.append([k, len(g), fmt(med(g), 3), fmt(min(g), 3) if g else "-",
                         fmt(max(g), 3) if g else "-",
                         "best peer" if k == bk else ratio(meds.get(k), bv)])
        P(md(["supervisor", "gaps", "median ms", "min ms", "max ms", "vs best peer"], rows))
        P("")
        summary.append(["restart gap after crash, median ms", fmt(meds.get("minit"), 3),
                        f"{fmt(bv, 3)} ({bk})", ratio(meds.get("minit"), bv),
                        "(none)", "-"])

    # 2 + 3
    ns = results.get("nservices")
    idle_by_n = {}
    if ns:
        for n in ("100", "1000"):
            block = ns.get(n, {})
            if not block:
                continue
            P(f"## 2. Idle with {n} services (window {ns['window_s']:.0f} s)\n")
            P("The supervisor's own processes only (not the services): wakeups = "
              "voluntary + involuntary context switches summed over them during the "
              "window; memory from /proc/PID/smaps_rollup, summed, kB.\n")
            rows = []
            idle = idle_by_n.setdefault(n, {})
            for k in SUPS:
                if k not in block:
                    if n == "1000" and k == "supervisord":
                        rows.append([k, "not run (--quick)" if args.quick else "-",
                                     "", "", "", "", ""])
                    continue
                runs = block[k].get("runs", [])
                r0 = next((r for r in runs if "wakeups_per_s" in r), None)
                if r0 is None:
                    rows.append([k, "no data (did not come up)", "", "", "", "", ""])
                    continue
                idle[k] = r0
                rows.append([k, r0["sup_procs"], r0["services_running"],
                             fmt(r0["wakeups_per_s"]), r0["pss_kb"], r0["private_kb"],
                             r0["rss_kb"]])
            P(md(["supervisor", "own processes", "services up", "wakeups/s", "PSS kB",
                  "private kB", "RSS kB"], rows))
            P("")
            for metric, label, tgt, passf in (
                    ("wakeups_per_s", f"idle wakeups/s, {n} services",
                     "0" if n == "1000" else None, lambda v: v == 0),
                    ("private_kb", f"private memory kB, {n} services",
                     "< 2048 kB" if n == "1000" else None, lambda v: v < 2048),
                    ("pss_kb", f"PSS kB, {n} services", None, None)):
                mv = idle.get("minit", {}).get(metric)
                bk, bv = best_of({k: idle[k].get(metric) for k in PEERS if k in idle})
                summary.append([label, fmt(mv) if isinstance(mv, float) else mv,
                                f"{fmt(bv) if isinstance(bv, float) else bv} ({bk})",
                                ratio(mv, bv), tgt or "(none)",
                                pf(passf(mv)) if (tgt and mv is not None)
                                else ("FAIL (no data)" if tgt else "-")])

            P(f"## 3. Start {n} services until all are up\n")
            P("From launching the supervisor (`unshare ... SUPERVISOR`) until the benchmark "
              "has read N `ready PID` lines (each service prints one right after exec) from "
              "the supervisor's stdout; for minit also until `minit ctl status --json` "
              "(polled every 20 ms; `startsecs = 0`) first shows all N running. Seconds. "
              "\"spawn floor\" is this script posix_spawn()ing the same N programs in a "
              "loop, no supervisor: what one process that forks them one by one needs "
              "on this machine.\n")
            rows = []
            starts = {}
            for k in SUPS:
                if k not in block:
                    continue
                runs = block[k].get("runs", [])
                tr = [r["t_ready_s"] for r in runs if "t_ready_s" in r]
                tc = [r["t_ctl_s"] for r in runs if "t_ctl_s" in r]
                starts[k] = med(tr)
                if k == "minit":
                    starts["minit-ctl"] = med(tc)
                rows.append([k, f"{len(tr)}/{len(runs)}", fmt(med(tr), 3),
                             fmt(min(tr), 3) if tr else "-", fmt(max(tr), 3) if tr else "-",
                             fmt(med(tc), 3) if k == "minit" else "-"])
            fl = [r["t_ready_s"] for r in ns.get("floor", {}).get(n, [])]
            if fl:
                rows.append(["(spawn floor)", f"{len(fl)}/{len(fl)}", fmt(med(fl), 3),
                             fmt(min(fl), 3), fmt(max(fl), 3), "-"])
            P(md(["supervisor", "runs ok", "all ready, median s", "min s", "max s",
                  "minit ctl: all running, median s"], rows))
            P("")
            bk, bv = best_of({k: starts.get(k) for k in PEERS})
            summary.append([f"start {n} services, s (all ready)", fmt(starts.get("minit"), 3),
                            f"{fmt(bv, 3)} ({bk})", ratio(starts.get("minit"), bv),
                            "(none)", "-"])
            if n == "1000":
                mc = starts.get("minit-ctl")
                summary.append([f"start {n} services, s (ctl: all running)", fmt(mc, 3),
                                f"{fmt(bv, 3)} ({bk})", ratio(mc, bv), "< 1 s",
                                pf(mc < 1.0) if mc is not None else "FAIL (no data)"])
                if fl:
                    summary.append([f"start {n} services: spawn floor on this machine, s",
                                    fmt(med(fl), 3), "-", "-", "(reference)", "-"])
        m100 = idle_by_n.get("100", {}).get("minit", {}).get("private_kb")
        m1000 = idle_by_n.get("1000", {}).get("minit", {}).get("private_kb")
        if m100 is not None and m1000 is not None:
            P(f"minit private memory per added service: ({m1000} - {m100}) kB / 900 = "
              f"{(m1000 - m100) / 900:.1f} kB.\n")
        nf = ns.get("nofile", {})
        if nf:
            P("## 3b. 1000 services under a soft open-files limit of 1024\n")
            P("`prlimit --nofile=1024: -- unshare ... SUPERVISOR` (hard limit unchanged, "
              f"{resource_hard_nofile()}): the default soft limit under systemd and several "
              "container runtimes. Services up = ready lines read (waiting until all, or no "
              "new one for 4 s, --quick 2.5 s).\n")
            rows = []
            for k in SUPS:
                if k in nf:
                    r = nf[k]
                    rows.append([k, f"{r['up']}/{r['n']}", fmt(r.get("seconds"), 2),
                                 r.get("fds", "-"), r.get("soft_limit", "-"),
                                 r.get("ctl_rc", "-")])
            P(md(["supervisor", "services up", "seconds", "minit fds", "minit soft limit",
                  "minit ctl exit"], rows))
            P("")
            if "minit" in nf:
                r = nf["minit"]
                summary.append(["1000 services, soft nofile 1024: services up", r["up"],
                                "-" if args.quick else
                                "/".join(str(nf[k]["up"]) for k in ("runit", "s6") if k in nf)
                                + " (runit/s6)", "-", "1000", pf(r["up"] >= 1000)])

    # 4
    lg = results.get("logs")
    if lg:
        P(f"## 4. Log throughput: 4 services x `minit-helper lines {lg['n_per_service']}` "
          f"({lg['expected_payload_mb']:.0f} MB of lines), {lg['rounds']} round(s)\n")
        P("The services' bytes per second (minit's `name | ` prefix not counted) from the "
          "first byte the benchmark reads from the supervisor's stdout (a pipe) to the last "
          "expected line. exact = each service's lines arrived complete, in order, none "
          "lost, none extra, no partial line. supervisord: `stdout_logfile=/dev/stdout`, "
          "`stdout_logfile_maxbytes=0`. Median of the rounds; all rounds in the JSON.\n")
        rows = []
        tp = {}
        oks = {}
        for k in ("minit", "supervisord"):
            runs = [r for r in lg.get(k, {}).get("runs", []) if "received_lines" in r]
            if not runs:
                rows.append([k, "-", "-", "-", "-", "-", "-", "-"])
                continue
            mbs = [r.get("payload_mb_s") for r in runs if r.get("payload_mb_s")]
            tp[k] = med(mbs)
            oks[k] = all(r["ok"] for r in runs)
            worst = max(runs, key=lambda r: (r["lost_lines"], r["garbled_lines"]))
            rows.append([k, f"{worst['received_lines']}/{worst['expected_lines']}",
                         sum(r["lost_lines"] for r in runs),
                         sum(r["garbled_lines"] for r in runs),
                         f"{sum(r['ok'] for r in runs)}/{len(runs)}",
                         fmt(med([r["seconds"] for r in runs if r.get("seconds")]), 2),
                         fmt(tp[k], 1),
                         " / ".join(fmt(x, 0) for x in mbs)])
        P(md(["supervisor", "lines (worst round)", "lost", "garbled/unattributed",
              "exact rounds", "seconds", "MB/s median", "MB/s per round"], rows))
        P("")
        mv = tp.get("minit")
        summary.append(["log throughput MB/s (4 services)", fmt(mv, 1),
                        f"{fmt(tp.get('supervisord'), 1)} (supervisord)",
                        ratio(mv, tp.get("supervisord")), ">= 100 MB/s",
                        pf((mv or 0) >= 100)])
        summary.append(["log lines lost or garbled (all rounds)",
                        sum(r.get("lost_lines", 0) + r.get("garbled_lines", 0)
                            for r in lg.get("minit", {}).get("runs", [])),
                        sum(r.get("lost_lines", 0) + r.get("garbled_lines", 0)
                            for r in lg.get("supervisord", {}).get("runs", [])),
                        "-", "0, exact", pf(oks.get("minit", False))])

    P("## Summary\n")
    P(md(["metric", "minit", "best peer", "ratio", "target", "result"], summary))
    P("")
    if MINIT_ISSUES:
        P("## minit problems seen in this run\n")
        for m in MINIT_ISSUES:
            P(f"- {m}")
        P("")
    if PROBLEMS:
        P("## Measurement problems\n")
        for m in PROBLEMS:
            P(f"- {m}")
        P("")
    return "\n".join(out), summary


# ------------------------------------------------------------------- main

def versions():
    v = {}
    for pkg, name in (("runit", "runit"), ("s6", "s6"), ("supervisor", "supervisor")):
        with contextlib.suppress(Exception):
            cp = subprocess.run(["dpkg-query", "-W", "-f=${Version}", pkg],
                                capture_output=True, text=True, env=ENV, timeout=10)
            v[name] = cp.stdout.strip() or "?"
    return v


def sha256(path):
    import hashlib
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for b in iter(lambda: f.read(1 << 20), b""):
            h.update(b)
    return h.hexdigest()


def parse_args(argv):
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--minit", required=True)
    ap.add_argument("--helper", required=True)
    ap.add_argument("--quick", action="store_true")
    ap.add_argument("--json", default="build/bench-services.json")
    ap.add_argument("--only", default="restart,nservices,logs",
                    help="comma list of restart,nservices,logs")
    return ap.parse_args(argv)


def on_signal(signum, frame):
    raise KeyboardInterrupt(f"signal {signum}")


def main(argv=None):
    args = parse_args(argv)
    want = set(args.only.split(","))
    if os.geteuid() != 0:
        print("services.py needs root (unshare --pid)", file=sys.stderr)
        return 2
    missing = [t for t in ("unshare", "prlimit", "setpriv", "cc", "runsvdir", "runsv", "s6-svscan", "s6-supervise",
                           "supervisord") if tool(t) is None]
    if missing:
        print(f"missing tools: {missing}", file=sys.stderr)
        return 2
    signal.signal(signal.SIGTERM, on_signal)
    become_subreaper()
    tmp = tempfile.mkdtemp(prefix="minit-bench-services-")
    t_start = time.monotonic()
    results = {"quick": args.quick}
    try:
        # Snapshot the binaries: a rebuild elsewhere must not mix two builds.
        minit = os.path.join(tmp, "minit")
        helper = os.path.join(tmp, "minit-helper")
        shutil.copy2(args.minit, minit)
        shutil.copy2(args.helper, helper)
        src = os.path.join(tmp, "benchsvc.c")
        benchsvc = os.path.join(tmp, "benchsvc")
        with open(src, "w") as f:
            f.write(BENCHSVC_C)
        cp = subprocess.run([tool("cc"), "-O2", "-static", "-o", benchsvc, src],
                            capture_output=True, text=True, env=ENV)
        if cp.returncode != 0:
            log(f"cc -static failed ({cp.stderr.strip()[:200]}); building it dynamic")
            subprocess.run([tool("cc"), "-O2", "-o", benchsvc, src], check=True, env=ENV)
        logcheck = os.path.join(tmp, "logcheck")
        with open(logcheck + ".c", "w") as f:
            f.write(LOGCHECK_C)
        subprocess.run([tool("cc"), "-O2", "-o", logcheck, logcheck + ".c"], check=True,
                       env=ENV)
        results["meta"] = {"minit": args.minit, "minit_sha256": sha256(minit),
                           "loadavg_start": loadavg(),
                           "helper_sha256": sha256(helper), "versions": versions(),
                           "cpus": os.cpu_count(), "kernel": os.uname().release}
        ctx = Ctx(minit, helper, tmp, benchsvc, args.quick)
        ctx.logcheck = logcheck
        if "restart" in want:
            results["restart"] = measure_restart(ctx)
        if "nservices" in want:
            results["nservices"] = measure_nservices(ctx)
        if "logs" in want:
            results["logs"] = measure_logs(ctx)
    except KeyboardInterrupt as e:
        problem(f"interrupted: {e}")
    finally:
        cleanup_all()
        shutil.rmtree(tmp, ignore_errors=True)
    results["runtime_s"] = time.monotonic() - t_start
    results["loadavg_end"] = loadavg()
    results["minit_issues"] = MINIT_ISSUES
    results["problems"] = PROBLEMS
    target_issues(results, args)
    text, summary = report(results, args)
    results["summary"] = summary
    print(text)
    print(f"runtime: {results['runtime_s']:.0f} s")
    os.makedirs(os.path.dirname(os.path.abspath(args.json)), exist_ok=True)
    with open(args.json, "w") as f:
        json.dump(results, f, indent=1, default=str)
    log(f"wrote {args.json}")
    return 1 if MINIT_ISSUES else 0


if __name__ == "__main__":
    sys.exit(main())
