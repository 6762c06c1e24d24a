/* SPDX-License-Identifier: MIT */
/*
 * minit-helper: a static multi-call payload for the black-box tests and the
 * benchmarks. Runs inside any rootfs. Every command prints its results on
 * stdout, one line each, with no buffering.
 *
 *   exit N                  exit with status N
 *   kill-self SIG           die of signal SIG (numeric)
 *   sigstate                print SigBlk/SigIgn/SigCgt, pid, ppid, pgid, sid, cwd, fds
 *   signals [EXIT_SIG]      print "ready", then "sig N" for each signal received;
 *                           exit 0 after EXIT_SIG
 *   ack-signal SIG FD       on SIG write one byte to FD (the benchmark's latency probe);
 *                           prints "ready"; exits on SIGTERM
 *   orphans N [CMD...]      leave N zombie orphans for init to reap, then exec CMD
 *   zombies-wait MS [PPID]  wait (bounded) until no zombie is left in the pid namespace
 *                           (with PPID: no zombie child of PPID); print "zombies N"
 *   spawn N                 fork N children that exit at once, reap none, exit 0
 *   daemon FILE MODE        double-fork a long-lived process and exit 0; MODE
 *                           "term": it writes "term" to FILE on SIGTERM and exits;
 *                           "ignore": it ignores SIGTERM (only SIGKILL ends it)
 *   pause                   print "ready" and wait for signals, forever
 *   stop-self               raise SIGSTOP, then exit 0 once continued
 *   sleep MS                sleep MS milliseconds, then exit 0
 *   notify-ready [CMD...]   send READY=1 to $NOTIFY_SOCKET (sd_notify), then exec CMD
 *                           or pause
 *   listen PORT             listen on 127.0.0.1:PORT, print "listening", pause
 *   lines N TAG             print N lines "TAG i <padding>" as fast as possible
 *   forkbomb N              fork N children that pause, print "forked K failed F",
 *                           then pause (a pids limit makes forks fail)
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static void out(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

static void
out(const char *fmt, ...)
{
    char buf[4096];
    va_list ap;
    int n;

    va_start(ap, fmt);
    n = vsnprintf(buf, sizeof(buf), fmt, ap);
    va_end(ap);
    if (n > (int)sizeof(buf) - 1) {
        n = sizeof(buf) - 1;
    }
    if (write(STDOUT_FILENO, buf, (size_t)n) < 0) {
        _exit(99);
    }
}

static void
sleep_ms(long ms)
{
    struct timespec ts = {.tv_sec = ms / 1000, .tv_nsec = (ms % 1000) * 1000000L};

    while (nanosleep(&ts, &ts) < 0 && errno == EINTR) {
    }
}

static int
cmd_sigstate(void)
{
    char buf[8192];
    char cwd[4096];
    int fd = open("/proc/self/status", O_RDONLY);
    ssize_t n;
    DIR *d;
    struct dirent *de;

    if (fd < 0) {
        return 1;
    }
    n = read(fd, buf, sizeof(buf) - 1);
    close(fd);
    if (n <= 0) {
        return 1;
    }
    buf[n] = '\0';
    for (char *line = strtok(buf, "\n"); line; line = strtok(NULL, "\n")) {
        if (strncmp(line, "SigBlk:", 7) == 0 || strncmp(line, "SigIgn:", 7) == 0 ||
            strncmp(line, "SigCgt:", 7) == 0 || strncmp(line, "NoNewPrivs:", 11) == 0) {
            out("%s\n", line);
        }
    }
    out("pid: %d\nppid: %d\npgid: %d\nsid: %d\n", getpid(), getppid(), getpgrp(), getsid(0));
    out("fgpgrp: %d\n", tcgetpgrp(STDIN_FILENO));
    out("cwd: %s\n", getcwd(cwd, sizeof(cwd)) ? cwd : "?");
    d = opendir("/proc/self/fd");
    out("fds:");
    while (d && (de = readdir(d)) != NULL) {
        if (de->d_name[0] != '.' && atoi(de->d_name) != dirfd(d)) {
            out(" %s", de->d_name);
        }
    }
    out("\n");
    if (d) {
        closedir(d);
    }
    return 0;
}

static int
cmd_signals(int exit_sig)
{
    sigset_t all;
    siginfo_t si;

    sigfillset(&all);
    sigprocmask(SIG_BLOCK, &all, NULL);
    out("ready %d\n", getpid());
    for (;;) {
        int s = sigwaitinfo(&all, &si);

        if (s < 0) {
            continue;
        }
        if (s == SIGCHLD) {
            continue;
        }
        out("sig %d\n", s);
        if (s == exit_sig) {
            return 0;
        }
    }
}

static int ack_fd = -1;

static void
ack_handler(int sig)
{
    char c = 'a';

    (void)sig;
    if (write(ack_fd, &c, 1) < 0) {
        _exit(98);
    }
}

static void
term_handler(int sig)
{
    (void)sig;
    _exit(0);
}

static int cmd_ack_signal(int sig, int fd) __attribute__((noreturn));

static int
cmd_ack_signal(int sig, int fd)
{
    struct sigaction sa;

    ack_fd = fd;
    memset(&sa, 0, sizeof(sa));
    sa.sa_handler = ack_handler;
    sa.sa_flags = SA_RESTART;
    sigaction(sig, &sa, NULL);
    sa.sa_handler = term_handler;
    sigaction(SIGTERM, &sa, NULL);
    out("ready %d\n", getpid());
    for (;;) {
        pause();
    }
}

static int
cmd_orphans(int n, char **rest)
{
    pid_t mid = fork();

    if (mid < 0) {
        return 1;
    }
    if (mid == 0) {
        for (int i = 0; i < n; i++) {
            pid_t p = fork();

            if (p == 0) {
                _exit(0);
            }
        }
        /* Leave every grandchild a zombie, then orphan them all at once. */
        _exit(0);
    }
    waitpid(mid, NULL, 0);
    if (rest[0] != NULL) {
        execvp(rest[0], rest);
        return 127;
    }
    return 0;
}

/* Counts zombies in /proc; with ppid > 0, only those whose parent it is. */
static int
count_zombies(int verbose, int ppid)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int z = 0;

    while (d && (de = readdir(d)) != NULL) {
        char path[300];
        char buf[512];
        char *p;
        int fd;
        ssize_t n;

        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        fd = open(path, O_RDONLY);
        if (fd < 0) {
            continue;
        }
        n = read(fd, buf, sizeof(buf) - 1);
        close(fd);
        if (n <= 0) {
            continue;
        }
        buf[n] = '\0';
        p = strrchr(buf, ')');
        if (p && p[1] == ' ' && p[2] == 'Z' && (ppid <= 0 || atoi(p + 4) == ppid)) {
            z++;
            if (verbose) {
                out("zombie %s\n", buf);
            }
        }
    }
    if (d) {
        closedir(d);
    }
    return z;
}

static int
cmd_zombies_wait(long ms, int ppid)
{
    for (long waited = 0; waited < ms; waited += 2) {
        if (count_zombies(0, ppid) == 0) {
            out("zombies 0\n");
            return 0;
        }
        sleep_ms(2);
    }
    out("zombies %d\n", count_zombies(1, ppid));
    return 1;
}

static int
cmd_spawn(int n)
{
    for (int i = 0; i < n; i++) {
        pid_t p = fork();

        if (p == 0) {
            _exit(0);
        }
        if (p < 0) {
            out("fork failed at %d: %s\n", i, strerror(errno));
            return 1;
        }
    }
    out("spawned %d\n", n);
    return 0;
}

static const char *daemon_file;

static void
daemon_term(int sig)
{
    int fd = open(daemon_file, O_WRONLY | O_CREAT | O_TRUNC, 0644);

    (void)sig;
    if (fd >= 0) {
        if (write(fd, "term\n", 5) < 0) {
            _exit(3);
        }
        close(fd);
    }
    _exit(0);
}

static int
cmd_daemon(const char *file, const char *mode)
{
    int pfd[2];
    pid_t p;
    pid_t d;

    if (pipe(pfd) < 0) {
        return 1;
    }
    p = fork();
    if (p == 0) {
        setsid();
        if (fork() != 0) {
            _exit(0);
        }
        daemon_file = file;
        if (strcmp(mode, "ignore") == 0) {
            signal(SIGTERM, SIG_IGN);
        } else {
            signal(SIGTERM, daemon_term);
        }
        close(pfd[0]);
        /* A real daemon lets go of the caller's stdio. */
        int nul = open("/dev/null", O_RDWR);
        dup2(nul, 0);
        dup2(nul, 1);
        dup2(nul, 2);
        pid_t me = getpid();
        if (write(pfd[1], &me, sizeof(me)) < 0) {
            _exit(3);
        }
        close(pfd[1]);
        for (;;) {
            pause();
        }
    }
    close(pfd[1]);
    waitpid(p, NULL, 0);
    /* Return only once the daemon has its handler in place. */
    if (read(pfd[0], &d, sizeof(d)) != (ssize_t)sizeof(d)) {
        return 1;
    }
    out("daemon ready %d\n", (int)d);
    return 0;
}

static int
cmd_notify_ready(char **rest)
{
    const char *path = getenv("NOTIFY_SOCKET");
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    socklen_t len;
    int fd;

    if (path == NULL || strlen(path) >= sizeof(sa.sun_path)) {
        out("no NOTIFY_SOCKET\n");
        return 1;
    }
    strncpy(sa.sun_path, path, sizeof(sa.sun_path) - 1);
    if (sa.sun_path[0] == '@') {
        sa.sun_path[0] = '\0';
    }
    len = (socklen_t)(offsetof(struct sockaddr_un, sun_path) + strlen(path));
    fd = socket(AF_UNIX, SOCK_DGRAM, 0);
    if (fd < 0 || sendto(fd, "STATUS=up\nREADY=1\n", 19, 0, (struct sockaddr *)&sa, len) < 0) {
        out("notify failed: %s\n", strerror(errno));
        return 1;
    }
    close(fd);
    out("notified\n");
    if (rest[0] != NULL) {
        execvp(rest[0], rest);
        return 127;
    }
    for (;;) {
        pause();
    }
}

static int
cmd_listen(int port)
{
    struct sockaddr_in sa = {.sin_family = AF_INET, .sin_port = htons((uint16_t)port)};
    int one = 1;
    int fd = socket(AF_INET, SOCK_STREAM, 0);

    sa.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 || listen(fd, 16) < 0) {
        out("listen failed: %s\n", strerror(errno));
        return 1;
    }
    out("listening %d\n", port);
    for (;;) {
        int c = accept(fd, NULL, NULL);

        if (c >= 0) {
            close(c);
        }
    }
}

static int
cmd_lines(long n, const char *tag)
{
    static char buf[1 << 16];
    size_t used = 0;

    for (long i = 0; i < n; i++) {
        int len = snprintf(buf + used, sizeof(buf) - used, "%s %ld %.*s\n", tag, i, (int)(i % 61),
                           "abcdefghijklmnopqrstuvwxyzabcdefghijklmnopqrstuvwxyzabcdefghij");

        used += (size_t)len;
        if (sizeof(buf) - used < 256) {
            if (write(STDOUT_FILENO, buf, used) != (ssize_t)used) {
                return 1;
            }
            used = 0;
        }
    }
    if (used > 0 && write(STDOUT_FILENO, buf, used) != (ssize_t)used) {
        return 1;
    }
    return 0;
}

int
main(int argc, char **argv)
{
    const char *cmd = argc > 1 ? argv[1] : "";

    if (strcmp(cmd, "exit") == 0 && argc > 2) {
        return atoi(argv[2]);
    }
    if (strcmp(cmd, "kill-self") == 0 && argc > 2) {
        int sig = atoi(argv[2]);
        sigset_t set;

        signal(sig, SIG_DFL);
        sigemptyset(&set);
        sigaddset(&set, sig);
        sigprocmask(SIG_UNBLOCK, &set, NULL);
        kill(getpid(), sig);
        return 100;
    }
    if (strcmp(cmd, "sigstate") == 0) {
        return cmd_sigstate();
    }
    if (strcmp(cmd, "signals") == 0) {
        return cmd_signals(argc > 2 ? atoi(argv[2]) : 0);
    }
    if (strcmp(cmd, "ack-signal") == 0 && argc > 3) {
        return cmd_ack_signal(atoi(argv[2]), atoi(argv[3]));
    }
    if (strcmp(cmd, "orphans") == 0 && argc > 2) {
        return cmd_orphans(atoi(argv[2]), argv + 3 + (argc > 3 && strcmp(argv[3], "--") == 0));
    }
    if (strcmp(cmd, "zombies-wait") == 0 && argc > 2) {
        return cmd_zombies_wait(atol(argv[2]), argc > 3 ? atoi(argv[3]) : 0);
    }
    if (strcmp(cmd, "spawn") == 0 && argc > 2) {
        return cmd_spawn(atoi(argv[2]));
    }
    if (strcmp(cmd, "daemon") == 0 && argc > 3) {
        return cmd_daemon(argv[2], argv[3]);
    }
    if (strcmp(cmd, "pause") == 0) {
        out("ready %d\n", getpid());
        for (;;) {
            pause();
        }
    }
    if (strcmp(cmd, "stop-self") == 0) {
        raise(SIGSTOP);
        return 0;
    }
    if (strcmp(cmd, "sleep") == 0 && argc > 2) {
        sleep_ms(atol(argv[2]));
        return 0;
    }
    if (strcmp(cmd, "notify-ready") == 0) {
        return cmd_notify_ready(argv + 2);
    }
    if (strcmp(cmd, "listen") == 0 && argc > 2) {
        return cmd_listen(atoi(argv[2]));
    }
    if (strcmp(cmd, "forkbomb") == 0 && argc > 2) {
        int n = atoi(argv[2]);
        int k = 0;

        for (int i = 0; i < n; i++) {
            pid_t p = fork();

            if (p == 0) {
                for (;;) {
                    pause();
                }
            }
            k += p > 0;
        }
        out("forked %d failed %d\n", k, n - k);
        for (;;) {
            pause();
        }
    }
    if (strcmp(cmd, "lines") == 0 && argc > 3) {
        return cmd_lines(atol(argv[2]), argv[3]);
    }
    fprintf(stderr, "minit-helper: unknown command '%s'\n", cmd);
    return 64;
}
