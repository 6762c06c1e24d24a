/* SPDX-License-Identifier: MIT */
/*
 * ns/'s public interface: building a container (namespaces, uid/gid maps,
 * the rootfs and its mounts, pivot_root, hostname, loopback) and the
 * privileges of what runs in it (capabilities with libcap, seccomp with
 * libseccomp, no_new_privs). Everything is prepared in the parent; the
 * *_in_child() functions only apply it with raw syscalls, so that they can
 * run between a vfork-style clone and exec (no malloc, stdio or logging).
 */
#ifndef MINIT_NS_H
#define MINIT_NS_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/types.h>

#include "init/err.h"

/* ---- privileges of a payload --------------------------------------- */

/* A seccomp program, built by libseccomp in the parent. */
struct ns_filter {
    void *insns; /* struct sock_filter[len], malloc'd; NULL: none */
    unsigned short len;
};

/*
 * Builds the filter for spec:
 *   "default"     Docker's default profile in spirit: everything allowed
 *                 except what lets a container reach the host (kexec,
 *                 modules, mount and friends, unshare/setns, namespaces in
 *                 clone, keyctl, bpf, perf_event_open, ptrace of PID 1, ...),
 *                 which fails with EPERM;
 *   "unconfined"  no filter (f->insns NULL);
 *   anything else a FILE in minit's seccomp format (see ns/seccomp.c).
 * Returns 0, or -1 with *e naming FILE:LINE or the libseccomp step (a bad
 * file is a usage error: exit 2).
 */
int ns_seccomp_build(const char *spec, struct ns_filter *f, struct mi_err *e);

/* Frees f->insns. */
void ns_filter_free(struct ns_filter *f);

/* Capability sets are bit masks: bit N is capability N. */
typedef uint64_t ns_caps;

/* Docker's default set: CHOWN DAC_OVERRIDE FSETID FOWNER MKNOD NET_RAW
 * SETGID SETUID SETFCAP SETPCAP NET_BIND_SERVICE SYS_CHROOT KILL
 * AUDIT_WRITE. */
ns_caps ns_caps_default(void);

/* Every capability this kernel knows (0 .. CAP_LAST_CAP). */
ns_caps ns_caps_all(void);

/* One name ("CAP_NET_ADMIN", "net_admin", "NET_ADMIN", or "all") into a
 * mask. -1 with *e naming it when unknown. */
int ns_cap_parse(const char *name, ns_caps *out, struct mi_err *e);

/* A service's `capabilities` value: a list separated by commas or spaces,
 * each "NAME" (add), "+NAME" (add), "-NAME" (drop), starting from `base`;
 * "all" and "none" as names. */
int ns_caps_parse_list(const char *text, ns_caps base, ns_caps *out, struct mi_err *e);

/* "CAP_A,CAP_B" into buf (for status and messages). */
void ns_caps_format(ns_caps caps, char *buf, size_t size);

/* What a payload gets, prepared before the spawn. */
struct ns_privs {
    bool set_caps;           /* apply `caps` (else leave minit's own) */
    ns_caps caps;            /* bounding; also effective+permitted when uid 0 */
    ns_caps bounding_have;   /* what may still be in the bounding set, 0: anything
                                (the child tries to drop only those) */
    bool no_new_privs;       /* PR_SET_NO_NEW_PRIVS */
    struct ns_filter filter; /* installed last, just before exec */
};

/* Steps of ns_privs_in_child, for the parent's error message. */
enum ns_priv_step {
    NS_PRIV_OK = 0,
    NS_PRIV_BOUNDING, /* PR_CAPBSET_DROP */
    NS_PRIV_CAPS,     /* capset */
    NS_PRIV_NNP,      /* PR_SET_NO_NEW_PRIVS */
    NS_PRIV_SECCOMP,  /* seccomp(SECCOMP_SET_MODE_FILTER) */
};

/*
 * In the child, after the uid/gid change (`uid` is the final uid): drops
 * the bounding set to p->caps, clears ambient and inheritable, sets
 * effective and permitted to p->caps for uid 0 (empty otherwise), sets
 * no_new_privs, installs the filter. Raw syscalls only. Returns
 * NS_PRIV_OK or the failing step with errno set.
 */
enum ns_priv_step ns_privs_in_child(const struct ns_privs *p, uid_t uid);

/* The bounding-set drop alone: must run before setresuid (it needs
 * CAP_SETPCAP, which a non-root uid loses). */
enum ns_priv_step ns_bounding_in_child(const struct ns_privs *p);

/* Human name of a step. */
const char *ns_priv_step_name(enum ns_priv_step step);

/* ---- building a container ------------------------------------------ */

enum ns_net {
    NS_NET_NEW = 0, /* own net namespace, loopback up */
    NS_NET_NONE,    /* own net namespace, loopback down */
    NS_NET_HOST,    /* the host's */
};

struct ns_mount {
    char *src; /* host path (bind) or NULL (tmpfs) */
    char *dst; /* path inside the rootfs */
    bool ro;
    bool tmpfs;
};

/* The container, as options and the [container] section say. */
struct ns_spec {
    const char *rootfs;   /* as given */
    const char *hostname; /* NULL: the rootfs directory's name */
    enum ns_net net;
    bool userns;   /* own user namespace, the caller mapped to root */
    bool readonly; /* root read-only */
    struct ns_mount *mounts;
    int nmounts;
    int cgroup_fd;       /* the container's leaf (clone3 CLONE_INTO_CGROUP), -1: none */
    const int *join_fds; /* more cgroup.procs (v1 mirrors) the parent moves the */
    int njoin;           /* child into before it builds anything */
};

/*
 * Creates the container: clone3 into new namespaces (and cgroup_fd), the
 * uid/gid maps when userns, then in the child every mount, pivot_root,
 * hostname and loopback. Like fork: returns the child's pid in the parent
 * once the child has built everything, and 0 in the child, which is then
 * PID 1 of the container with / its rootfs, its cwd /, and nothing of the
 * host's left but inherited fds. A failure in the child is reported by the
 * child on stderr with the step and errno, and the parent returns -1 with
 * *e saying the build failed (exit 125). A failure in the parent returns
 * -1 with *e naming the step. When s->cgroup_fd >= 0, the child also gets
 * in *cg2fd a private writable cgroup2 mount of its cgroup namespace (never
 * attached to the tree: the payload sees /sys/fs/cgroup read-only).
 */
pid_t ns_container_start(const struct ns_spec *s, int *cg2fd, struct mi_err *e);

/* The hostname a spec gets: s->hostname or the rootfs's last component
 * (truncated to 64 bytes); into buf. */
void ns_container_hostname(const struct ns_spec *s, char *buf, size_t size);

/* In the container's PID 1 once it is built: keep only `keep` in every
 * capability set (bounding included) and become non-dumpable, so that
 * the payload cannot reach the host through /proc/1/exe, /proc/1/fd or
 * /proc/1/root. */
int ns_self_restrict(ns_caps keep, struct mi_err *e);

#endif
