/* SPDX-License-Identifier: MIT */
/*
 * orphan-stream: a benchmark payload that makes N orphans one at a time.
 * Each round forks a child that forks a grandchild which exits at once; the
 * child exits too and is reaped here, so the grandchild is re-parented to
 * init, which has to reap it. Then waits, at most TIMEOUT_MS (default
 * 60000) after the last fork, until no zombie is left in /proc (run it with
 * its own /proc: unshare --pid --fork --mount-proc), and prints
 * "orphans N elapsed S rate R zombies Z" (S from the first fork until no
 * zombie was left, R = N / S orphans per second).
 *
 *   orphan-stream N [TIMEOUT_MS]
 *
 * Exit status: 0 if no zombie was left, 1 otherwise, 2 on usage or fork error.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

static double
now(void)
{
    struct timespec ts;

    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int
count_zombies(void)
{
    DIR *d = opendir("/proc");
    struct dirent *de;
    int z = 0;

    while (d != NULL && (de = readdir(d)) != NULL) {
        char path[300];
        char buf[512];
        char *p;
        ssize_t n;
        int fd;

        if (de->d_name[0] < '0' || de->d_name[0] > '9') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/%s/stat", de->d_name);
        fd = open(path, O_RDONLY | O_CLOEXEC);
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
        if (p != NULL && p[1] == ' ' && p[2] == 'Z') {
            z++;
        }
    }
    if (d != NULL) {
        closedir(d);
    }
    return z;
}

int
main(int argc, char **argv)
{
    long n = argc > 1 ? atol(argv[1]) : 0;
    long timeout_ms = argc > 2 ? atol(argv[2]) : 60000;
    double t0;
    double deadline;
    double t1;
    int z;

    if (n <= 0 || timeout_ms <= 0) {
        fprintf(stderr, "usage: orphan-stream N [TIMEOUT_MS]\n");
        return 2;
    }
    t0 = now();
    for (long i = 0; i < n; i++) {
        pid_t child = fork();

        if (child < 0) {
            fprintf(stderr, "orphan-stream: fork failed at %ld: %s\n", i, strerror(errno));
            return 2;
        }
        if (child == 0) {
            if (fork() < 0) {
                _exit(1);
            }
            _exit(0); /* both the child and the grandchild */
        }
        while (waitpid(child, NULL, 0) < 0 && errno == EINTR) {
        }
    }
    deadline = now() + (double)timeout_ms / 1000.0;
    while ((z = count_zombies()) > 0 && now() < deadline) {
        struct timespec ts = {0, 1000000L};

        nanosleep(&ts, NULL);
    }
    t1 = now();
    printf("orphans %ld elapsed %.6f rate %.1f zombies %d\n", n, t1 - t0, (double)n / (t1 - t0), z);
    return z == 0 ? 0 : 1;
}
