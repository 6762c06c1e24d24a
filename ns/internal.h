/* SPDX-License-Identifier: MIT */
/*
 * ns/'s internal interface: the mount steps of the container's child
 * (mounts.c), used by container.c. Nothing outside ns/ includes this.
 */
#ifndef MINIT_NS_INTERNAL_H
#define MINIT_NS_INTERNAL_H

#include "ns/ns.h"

/* Opens `rel` below the rootfs fd `root` as O_PATH, every symlink resolved
 * inside the rootfs (RESOLVE_IN_ROOT); with `nofollow`, no symlink at all
 * (the standard mount points must be real directories). When missing and
 * `create` is S_IFDIR or S_IFREG, creates it (and its parents, as
 * directories) first. Returns the fd or -1 with errno. */
int ns_open_in(int root, const char *rel, int create, bool nofollow);

/* Mounts a fresh `fstype` (fsopen/fsconfig/fsmount/move_mount) with the
 * comma-separated `opts` and MOUNT_ATTR_* `attrs` onto the O_PATH fd
 * `target`. Returns 0 or -1 with errno. */
int ns_mount_fresh(int target, const char *fstype, const char *opts, unsigned attrs);

/* Bind-mounts the tree at fd `src` (recursively) onto `target`, read-only
 * when `ro`, in one step (open_tree, mount_setattr, move_mount). */
int ns_mount_bind(int src, int target, bool ro);

/* Every mount of the container below the rootfs fd `root`: /proc, /dev,
 * /sys (with the cgroup2 view), the spec's binds and tmpfs, the masked and
 * read-only paths. *e names the step and the path. */
int ns_mount_all(int root, const struct ns_spec *s, struct mi_err *e);

#endif
