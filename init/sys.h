/* SPDX-License-Identifier: MIT */
/*
 * The only direct path from minit to the OS for the calls that need care,
 * and the seam unit tests replace. Every fd made here is close-on-exec from
 * birth; reads and writes retry EINTR; close never retries (Linux frees the
 * fd even when close fails with EINTR). Part of the base: libc only.
 */
#ifndef MINIT_SYS_H
#define MINIT_SYS_H

#include <stdbool.h>
#include <stddef.h>
#include <sys/types.h>

/* read(2), retrying EINTR. Returns bytes read, 0 at EOF, -1 with errno. */
ssize_t sys_read(int fd, void *buf, size_t len);

/* Writes all of buf, retrying EINTR and short writes. 0 or -1 with errno. */
int sys_write_all(int fd, const void *buf, size_t len);

/* close(2), never retried; keeps errno. Ignores fd < 0. */
void sys_close(int fd);

/* open(2) with O_CLOEXEC added. */
int sys_open(const char *path, int flags, mode_t mode);

/* pipe2(2) with O_CLOEXEC added. */
int sys_pipe(int fds[2], int flags);

/* Opens /dev/null on each of fds 0-2 that is closed, with one poll(2) to
 * find them (skalibs fd_sanitize). Returns 0 or -1 with errno. Setup only. */
int sys_sanitize_stdio(void);

/* close_range(2) (Linux 5.9); falls back to closing one by one up to the
 * fd limit. `flags` as close_range's. */
int sys_close_range(unsigned int first, unsigned int last, unsigned int flags);

/* True while this process has at least one child, live or zombie, that is
 * not yet reaped. Probes with waitid(WNOWAIT): reaps nothing. */
bool sys_have_children(void);

/* Lists the pids of this process's children (/proc/self/task/TID/children)
 * into pids[0..max); returns how many, or -1 with errno. */
int sys_list_children(pid_t *pids, int max);

struct sockaddr_un;

/* Fills *sa with the Unix socket address of path. A path too long for
 * sun_path (108 bytes: a rootfs deep in a build tree) is reached through
 * its directory: *dirfd gets an O_PATH fd of it and sun_path becomes
 * /proc/self/fd/N/NAME, valid while *dirfd is open; else *dirfd is -1.
 * Returns the address length, or -1 with errno (ENAMETOOLONG, or open's). */
int sys_unix_addr(const char *path, struct sockaddr_un *sa, int *dirfd);

/* Makes a cleanup attribute helper close local fds. */
static inline void
sys_cleanup_close(int *fd)
{
    if (*fd >= 0) {
        sys_close(*fd);
    }
}
#define MI_CLEANUP_CLOSE __attribute__((cleanup(sys_cleanup_close)))

static inline int
mi_steal_fd(int *fd)
{
    int r = *fd;

    *fd = -1;
    return r;
}

#endif
