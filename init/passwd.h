/* SPDX-License-Identifier: MIT */
/*
 * Users and groups from ROOT/etc/passwd and ROOT/etc/group, read directly
 * rather than through NSS: inside a container the files of the rootfs are
 * what counts, and a static minit must not need glibc's NSS modules (which
 * static getpwnam would dlopen at run time). Part of init/ (config).
 */
#ifndef MINIT_PASSWD_H
#define MINIT_PASSWD_H

#include <stdbool.h>
#include <sys/types.h>

struct mi_pw {
    uid_t uid;
    gid_t gid;
    char name[64];
    char home[256];
};

/* Finds the user named `name` (or, with name NULL, the first with uid) in
 * ROOT/etc/passwd (root "" is /). Returns 1 found, 0 not found or the file
 * is unreadable. */
int mi_passwd_find(const char *root, const char *name, uid_t uid, struct mi_pw *pw);

/* The gid of group `name` in ROOT/etc/group: 1 found, 0 not. */
int mi_group_find(const char *root, const char *name, gid_t *gid);

/* The supplementary groups of user: `primary` first, then every group
 * listing the user as a member. *groups is malloc'ed (caller frees).
 * Returns 0, or -1 when out of memory. */
int mi_group_list(const char *root, const char *user, gid_t primary, gid_t **groups, int *n);

/* Pure parsers on one line (tests): 0 ok, -1 malformed. `line` is
 * modified. */
int mi_passwd_parse_line(char *line, struct mi_pw *pw);

#endif
