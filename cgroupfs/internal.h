/* SPDX-License-Identifier: MIT */
/*
 * cgroupfs internals shared by its files: small-file I/O relative to a
 * dirfd, paths for messages, and the pieces of leaves that several files
 * use. These return -1 with errno (an internal channel only); the public
 * functions turn that into a struct mi_err naming the path.
 */
#ifndef MINIT_CGROUPFS_INTERNAL_H
#define MINIT_CGROUPFS_INTERNAL_H

#include "cgroupfs/cgroupfs.h"

#include <stdlib.h>
#include <sys/types.h>

/* Largest cgroup interface file read whole (cpu.stat is ~200 bytes). */
#define CG_FILE_MAX 4096

/* Rounds of freeze, kill each pid, thaw in the cgroup.kill fallback. */
#define CG_KILL_ROUNDS 4

/* Up to this many fields per line are split (a mountinfo line has 10 plus
 * a few optional ones; a controller list has about 12). */
#define MI_FIELDS_MAX 64

/* A piece of a text, not NUL-terminated. */
struct span {
    const char *p;
    size_t n;
};

/* True when s is exactly lit. */
bool cg_span_eq(struct span s, const char *lit);

/* The controller named s, or -1. */
int cg_ctrl_from_span(struct span s);

/* Splits [p, end) at sep into at most max spans; with sep ' ' empty fields
 * are skipped. Returns the count. */
int cg_split(const char *p, const char *end, char sep, struct span *out, int max);

/* True when path is mnt or lies below it. */
bool cg_path_under(const char *path, const char *mnt);

/* Frees a local buffer on scope exit. */
static inline void
cg_cleanup_free(void *p)
{
    free(*(void **)p);
}
#define CG_CLEANUP_FREE __attribute__((cleanup(cg_cleanup_free)))

/* openat(2) with O_CLOEXEC added, retrying EINTR. (init/sys.h has no
 * sys_openat yet; this is its stand-in.) */
int cg_openat(int dirfd, const char *path, int flags);

/* Reads the whole file dirfd/path into buf (NUL-terminated). Returns its
 * length, or -1 with errno (EFBIG when it does not fit). */
ssize_t cg_read_at(int dirfd, const char *path, char *buf, size_t size);

/* Reads an open interface file again from offset 0. As cg_read_at. */
ssize_t cg_read_fd(int fd, char *buf, size_t size);

/* Opens dirfd/path O_WRONLY and writes s in one write. 0 or -1 with errno. */
int cg_write_at(int dirfd, const char *path, const char *s);

/* mkdir -p of path (relative, '/'-separated) under dirfd, mode 0755. 0 or
 * -1 with errno. *created tells whether the last component was new. */
int cg_mkdir_p(int dirfd, const char *path, bool *created);

/* "mnt/rel/file" for messages, cut to size. rel and file may be "" or NULL. */
const char *cg_fullpath(char *buf, size_t size, const struct cg_hier *h, const char *rel,
                        const char *file);

/* snprintf that cuts silently: for messages, where a cut is acceptable. */
void cg_fmt(char *buf, size_t size, const char *fmt, ...) __attribute__((format(printf, 3, 4)));

/* "a/b" from a and b, where an empty a gives b. -1 with ENAMETOOLONG. */
int cg_join_path(char *out, size_t size, const char *a, const char *b);

/* Calls fn for each pid listed in dirfd/cgroup.procs, read in chunks.
 * Stops early when fn returns non-zero. Returns the number of pids seen, or
 * -1 with errno. */
int cg_each_pid(int dirfd, int (*fn)(pid_t pid, void *arg), void *arg);

/* Reads a /proc file whole into a malloc'd, NUL-terminated buffer. */
int cg_slurp(const char *path, char **out, struct mi_err *e);

/* The v1 mirror path of leaf l in hierarchy h. 0 or -1 with *e. */
int cg_leaf_mirror_path(const struct cg_leaf *l, const struct cg_hier *h, char *out, size_t size,
                        struct mi_err *e);

/* Writes val to `file` of the leaf (c < 0) or of its v1 mirror for
 * controller c; *e names the full path. */
int cg_leaf_write(const struct cg_leaf *l, int c, const char *file, const char *val,
                  struct mi_err *e);

/* Reads `file` of the leaf (c < 0) or of its v1 mirror for c, as
 * cg_read_at; -1 with *e (errnum ENOENT when the file does not exist). */
ssize_t cg_leaf_read(const struct cg_leaf *l, int c, const char *file, char *buf, size_t size,
                     struct mi_err *e);

/* cg_leaf_attach() of one controller, with the message a config key
 * needs: "memory_max needs the memory controller: not in ...". */
int cg_leaf_attach_for(struct cg_leaf *l, enum cg_ctrl c, const char *key, struct mi_err *e);

/* rmdir of l's mirror in v1 hierarchy h (ENOENT: done; h absent or the
 * primary: nothing to do). -1 with *e, EBUSY while populated. */
int cg_leaf_remove_mirror(const struct cg_leaf *l, const struct cg_hier *h, struct mi_err *e);

/* Re-reads l's cgroup.controllers into l->v2_ctrls (v2 mode). */
int cg_leaf_read_ctrls(struct cg_leaf *l, struct mi_err *e);

/* Sets every fd of l to -1 and its root to r; touches nothing else. */
void cg_leaf_reset(struct cg_leaf *l, const struct cg_root *r);

/* The primary hierarchy of r, or NULL in mode NONE. */
const struct cg_hier *cg_primary(const struct cg_root *r);

/* The fallback of cg_kill: freeze, SIGKILL each pid, thaw, up to
 * CG_KILL_ROUNDS rounds. Exposed for the live test. */
int cg_kill_fallback(struct cg_leaf *l, struct mi_err *e);

/* Writes one controller "+name" to l's cgroup.subtree_control, retrying a
 * transient EBUSY (seen right after a migration, crun PR #758). */
int cg_enable_ctrl(int dirfd, enum cg_ctrl c);

#endif
