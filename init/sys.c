/* SPDX-License-Identifier: MIT */
/*
 * Syscall wrappers; see sys.h. No logging here: callers own the errors.
 */
#include "init/sys.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

ssize_t
sys_read(int fd, void *buf, size_t len)
{
    ssize_t n;

    do {
        n = read(fd, buf, len);
    } while (n < 0 && errno == EINTR);
    return n;
}

int
sys_write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;

    while (len > 0) {
        ssize_t n = write(fd, p, len);

        if (n < 0) {
            if (errno == EINTR) {
                continue;
            }
            return -1;
        }
        p += n;
        len -= (size_t)n;
    }
    return 0;
}

void
sys_close(int fd)
{
    int saved = errno;

    if (fd >= 0) {
        close(fd);
    }
    errno = saved;
}

int
sys_open(const char *path, int flags, mode_t mode)
{
    int fd;

    do {
        fd = open(path, flags | O_CLOEXEC, mode);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

int
sys_pipe(int fds[2], int flags)
{
    return pipe2(fds, flags | O_CLOEXEC);
}

int
sys_sanitize_stdio(void)
{
    struct pollfd pfd[3] = {{.fd = 0}, {.fd = 1}, {.fd = 2}};

    if (poll(pfd, 3, 0) < 0) {
        return -1;
    }
    for (int i = 0; i < 3; i++) {
        int fd;

        if (!(pfd[i].revents & POLLNVAL)) {
            continue;
        }
        /* Not CLOEXEC: these become the program's stdio. The lowest free
         * number is i itself, since every lower one is open by now. */
        fd = open("/dev/null", i == 0 ? O_RDONLY : O_WRONLY);
        if (fd < 0) {
            return -1;
        }
        if (fd != i) {
            close(fd);
            errno = EBADF;
            return -1;
        }
    }
    return 0;
}

int
sys_close_range(unsigned int first, unsigned int last, unsigned int flags)
{
    struct rlimit rl;

    if (syscall(SYS_close_range, first, last, flags) == 0) {
        return 0;
    }
    if (errno != ENOSYS || flags != 0) {
        return -1;
    }
    /* Kernel before 5.9: close one by one up to the soft fd limit. */
    if (getrlimit(RLIMIT_NOFILE, &rl) < 0 || rl.rlim_cur == RLIM_INFINITY) {
        rl.rlim_cur = 65536;
    }
    for (unsigned long fd = first; fd <= last && fd < rl.rlim_cur; fd++) {
        close((int)fd);
    }
    return 0;
}

bool
sys_have_children(void)
{
    siginfo_t si;

    si.si_pid = 0;
    if (waitid(P_ALL, 0, &si, WEXITED | WNOHANG | WNOWAIT | __WALL) < 0) {
        /* ECHILD: none left. EINTR cannot happen with WNOHANG. */
        return errno != ECHILD;
    }
    /* Success: either a zombie is waiting (si_pid != 0) or live children
     * exist (si_pid == 0 with WNOHANG). */
    return true;
}

int
sys_list_children(pid_t *pids, int max)
{
    DIR *d;
    struct dirent *de;
    int n = 0;

    d = opendir("/proc/self/task");
    if (d == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL && n < max) {
        char path[300];
        char buf[4096];
        char *p;
        char *end;
        ssize_t len;
        int fd;

        if (de->d_name[0] == '.') {
            continue;
        }
        snprintf(path, sizeof(path), "/proc/self/task/%s/children", de->d_name);
        fd = sys_open(path, O_RDONLY, 0);
        if (fd < 0) {
            continue;
        }
        len = sys_read(fd, buf, sizeof(buf) - 1);
        sys_close(fd);
        if (len <= 0) {
            continue;
        }
        buf[len] = '\0';
        for (p = buf; n < max; p = end) {
            long v = strtol(p, &end, 10);

            if (end == p) {
                break;
            }
            pids[n++] = (pid_t)v;
        }
    }
    closedir(d);
    return n;
}

int
sys_unix_addr(const char *path, struct sockaddr_un *sa, int *dirfd)
{
    size_t len = strlen(path);
    const char *slash = strrchr(path, '/');
    char dir[4096];
    int n;

    *dirfd = -1;
    *sa = (struct sockaddr_un){.sun_family = AF_UNIX};
    if (len == 0) {
        errno = ENOENT;
        return -1;
    }
    if (len < sizeof(sa->sun_path)) {
        memcpy(sa->sun_path, path, len + 1);
        return (int)sizeof(*sa);
    }
    if (slash == NULL || slash[1] == '\0' || (size_t)(slash - path) >= sizeof(dir)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(dir, path, (size_t)(slash - path));
    dir[slash - path] = '\0';
    *dirfd = sys_open(dir[0] != '\0' ? dir : "/", O_PATH | O_DIRECTORY, 0);
    if (*dirfd < 0) {
        return -1;
    }
    n = snprintf(sa->sun_path, sizeof(sa->sun_path), "/proc/self/fd/%d/%s", *dirfd, slash + 1);
    if (n < 0 || (size_t)n >= sizeof(sa->sun_path)) {
        sys_close(*dirfd);
        *dirfd = -1;
        errno = ENAMETOOLONG;
        return -1;
    }
    return (int)sizeof(*sa);
}
