/* SPDX-License-Identifier: MIT */
/*
 * Small-file I/O on cgroup interface files, always relative to a dirfd and
 * always close-on-exec: whole-file reads into caller buffers, one-write
 * writes, mkdir -p, streaming cgroup.procs, and /proc reads for discovery.
 * No stdio for files; errors come back as errno for the caller to name.
 */
#include "cgroupfs/internal.h"

#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "init/sys.h"

/* Largest /proc file read whole: a host with thousands of mounts has a
 * mountinfo of a few hundred kB. */
#define CG_SLURP_MAX (16u << 20)

int
cg_openat(int dirfd, const char *path, int flags)
{
    int fd;

    do {
        fd = openat(dirfd, path, flags | O_CLOEXEC);
    } while (fd < 0 && errno == EINTR);
    return fd;
}

/* Reads until EOF or a full buffer; kernfs may return a file in pieces. */
static ssize_t
read_all(int fd, char *buf, size_t size)
{
    size_t len = 0;

    for (;;) {
        ssize_t n = sys_read(fd, buf + len, size - 1 - len);

        if (n < 0) {
            return -1;
        }
        if (n == 0) {
            break;
        }
        len += (size_t)n;
        if (len == size - 1) {
            errno = EFBIG;
            return -1;
        }
    }
    buf[len] = '\0';
    return (ssize_t)len;
}

ssize_t
cg_read_at(int dirfd, const char *path, char *buf, size_t size)
{
    int fd MI_CLEANUP_CLOSE = cg_openat(dirfd, path, O_RDONLY);

    if (fd < 0) {
        return -1;
    }
    return read_all(fd, buf, size);
}

ssize_t
cg_read_fd(int fd, char *buf, size_t size)
{
    if (lseek(fd, 0, SEEK_SET) < 0) {
        return -1;
    }
    return read_all(fd, buf, size);
}

int
cg_write_at(int dirfd, const char *path, const char *s)
{
    int fd MI_CLEANUP_CLOSE = cg_openat(dirfd, path, O_WRONLY);

    if (fd < 0) {
        return -1;
    }
    /* One write: cgroup files take one value per write(2). */
    return sys_write_all(fd, s, strlen(s));
}

int
cg_mkdir_p(int dirfd, const char *path, bool *created)
{
    char buf[CG_PATH_MAX];
    size_t n = strlen(path);

    *created = false;
    if (n >= sizeof(buf)) {
        errno = ENAMETOOLONG;
        return -1;
    }
    memcpy(buf, path, n + 1);
    for (char *p = buf; n > 0; p++) {
        bool last = *p == '\0';
        int r;

        if (*p != '/' && !last) {
            continue;
        }
        *p = '\0';
        r = mkdirat(dirfd, buf, 0755);
        if (r < 0 && errno != EEXIST) {
            return -1;
        }
        *created = r == 0;
        if (last) {
            break;
        }
        *p = '/';
    }
    return 0;
}

void
cg_fmt(char *buf, size_t size, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vsnprintf(buf, size, fmt, ap);
    va_end(ap);
}

const char *
cg_fullpath(char *buf, size_t size, const struct cg_hier *h, const char *rel, const char *file)
{
    bool r = rel != NULL && rel[0] != '\0';
    bool f = file != NULL && file[0] != '\0';

    cg_fmt(buf, size, "%s%s%s%s%s", h->mnt, r ? "/" : "", r ? rel : "", f ? "/" : "",
           f ? file : "");
    return buf;
}

/* Parses pids out of buf[0..len), keeping a partial last number in *acc. */
static int
pids_chunk(const char *buf, ssize_t len, long *acc, int (*fn)(pid_t, void *), void *arg, int *count)
{
    for (ssize_t i = 0; i < len; i++) {
        if (buf[i] >= '0' && buf[i] <= '9') {
            *acc = *acc * 10 + (buf[i] - '0');
            continue;
        }
        if (*acc > 0) {
            (*count)++;
            if (fn != NULL && fn((pid_t)*acc, arg) != 0) {
                return 1;
            }
        }
        *acc = 0;
    }
    return 0;
}

int
cg_each_pid(int dirfd, int (*fn)(pid_t pid, void *arg), void *arg)
{
    int fd MI_CLEANUP_CLOSE = cg_openat(dirfd, "cgroup.procs", O_RDONLY);
    char buf[1024];
    long acc = 0;
    int count = 0;
    ssize_t n;

    if (fd < 0) {
        return -1;
    }
    while ((n = sys_read(fd, buf, sizeof(buf))) > 0) {
        if (pids_chunk(buf, n, &acc, fn, arg, &count) != 0) {
            return count;
        }
    }
    if (n < 0) {
        return -1;
    }
    pids_chunk("\n", 1, &acc, fn, arg, &count);
    return count;
}

int
cg_slurp(const char *path, char **out, struct mi_err *e)
{
    int fd MI_CLEANUP_CLOSE = sys_open(path, O_RDONLY, 0);
    size_t cap = 16384;
    size_t len = 0;
    char *buf = NULL;
    ssize_t n;

    if (fd < 0) {
        return mi_err_sys(e, "unable to open %s", path);
    }
    do {
        if (len + 1 >= cap || buf == NULL) {
            char *nb = cap <= CG_SLURP_MAX ? realloc(buf, cap *= 2) : NULL;

            if (nb == NULL) {
                free(buf);
                return mi_err_set(e, ENOMEM, "unable to read %s", path);
            }
            buf = nb;
        }
        n = sys_read(fd, buf + len, cap - 1 - len);
        len += n > 0 ? (size_t)n : 0;
    } while (n > 0);
    if (n < 0) {
        free(buf);
        return mi_err_sys(e, "unable to read %s", path);
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}
