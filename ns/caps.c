/* SPDX-License-Identifier: MIT */
/*
 * Capabilities of a payload: names and lists into masks with libcap in the
 * parent, and the two *_in_child() steps that apply a prepared struct
 * ns_privs between a vfork-style clone and exec. Those run on the parent's
 * memory with the parent suspended: raw syscalls only, no malloc, stdio,
 * logging or libcap, and no sanitizer instrumentation (ASan's shadow and
 * UBSan's reports are not safe there). errno is their only output besides
 * the step, as ns.h says.
 */
#include "ns/ns.h"

#include <ctype.h>
#include <errno.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <stdio.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <sys/capability.h>

#define NS_NOSAN __attribute__((no_sanitize("address", "undefined")))

#define NS_BIT(c) ((ns_caps)1 << (c))

/* Longest name we look up, "cap_" included; the longest known is
 * "cap_checkpoint_restore" (22 bytes). */
#define NS_CAP_NAME_MAX 48

ns_caps
ns_caps_default(void)
{
    return NS_BIT(CAP_CHOWN) | NS_BIT(CAP_DAC_OVERRIDE) | NS_BIT(CAP_FSETID) | NS_BIT(CAP_FOWNER) |
           NS_BIT(CAP_MKNOD) | NS_BIT(CAP_NET_RAW) | NS_BIT(CAP_SETGID) | NS_BIT(CAP_SETUID) |
           NS_BIT(CAP_SETFCAP) | NS_BIT(CAP_SETPCAP) | NS_BIT(CAP_NET_BIND_SERVICE) |
           NS_BIT(CAP_SYS_CHROOT) | NS_BIT(CAP_KILL) | NS_BIT(CAP_AUDIT_WRITE);
}

ns_caps
ns_caps_all(void)
{
    /* libcap probes the running kernel (PR_CAPBSET_READ) when it loads;
     * cap_max_bits() is CAP_LAST_CAP + 1 of this kernel, not of the
     * headers minit was built with. */
    cap_value_t n = cap_max_bits();

    if (n <= 0) {
        return 0;
    }
    if (n >= 64) {
        return ~(ns_caps)0;
    }
    return NS_BIT(n) - 1;
}

/*
 * "CAP_NET_ADMIN", "NET_ADMIN" or "net_admin" into "cap_net_admin" in buf.
 * False when name is not letters and underscores (libcap would take a
 * number, or the leading letters of "net_admin2", as a name).
 */
static bool
cap_canonical_name(const char *name, char *buf, size_t size)
{
    size_t len;

    if (strncasecmp(name, "cap_", 4) == 0) {
        name += 4;
    }
    len = strlen(name);
    if (len == 0 || len + 5 > size) {
        return false;
    }
    memcpy(buf, "cap_", 4);
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)name[i];

        if (!isalpha(c) && c != '_') {
            return false;
        }
        buf[4 + i] = (char)tolower(c);
    }
    buf[4 + len] = '\0';
    return true;
}

int
ns_cap_parse(const char *name, ns_caps *out, struct mi_err *e)
{
    char buf[NS_CAP_NAME_MAX];
    cap_value_t v;

    if (strcasecmp(name, "all") == 0) {
        *out = ns_caps_all();
        return 0;
    }
    if (!cap_canonical_name(name, buf, sizeof(buf)) || cap_from_name(buf, &v) < 0 || v < 0 ||
        v >= 64) {
        return mi_err_set(e, 0, "unknown capability '%s'", name);
    }
    *out = NS_BIT(v);
    return 0;
}

/* The next item of a list separated by commas or blanks into buf; false at
 * the end. An item too long for buf is cut, and then unknown. */
static bool
caps_next_item(const char **p, char *buf, size_t size)
{
    const char *s = *p + strspn(*p, ", \t\n");
    size_t len = strcspn(s, ", \t\n");

    if (len == 0) {
        return false;
    }
    *p = s + len;
    if (len >= size) {
        len = size - 1;
    }
    memcpy(buf, s, len);
    buf[len] = '\0';
    return true;
}

int
ns_caps_parse_list(const char *text, ns_caps base, ns_caps *out, struct mi_err *e)
{
    char item[NS_CAP_NAME_MAX + 2];
    ns_caps cur = base;

    while (caps_next_item(&text, item, sizeof(item))) {
        const char *name = item;
        char sign = '+';
        ns_caps mask;

        if (item[0] == '+' || item[0] == '-') {
            sign = item[0];
            name = item + 1;
        }
        if (strcasecmp(name, "none") == 0 && name == item) {
            cur = 0; /* a bare "none" starts again from the empty set */
            continue;
        }
        if (ns_cap_parse(name, &mask, e) < 0) {
            return -1;
        }
        cur = sign == '-' ? cur & ~mask : cur | mask;
    }
    *out = cur;
    return 0;
}

/* Appends s to buf (size > 0, *len bytes used). When it does not fit, the
 * buffer is filled and ends in "..."; false then. */
static bool
caps_append(char *buf, size_t size, size_t *len, const char *s)
{
    size_t n = strlen(s);

    if (*len + n < size) {
        memcpy(buf + *len, s, n + 1);
        *len += n;
        return true;
    }
    memcpy(buf + *len, s, size - 1 - *len);
    buf[size - 1] = '\0';
    if (size >= 4) {
        memcpy(buf + size - 4, "...", 3);
    }
    *len = size - 1;
    return false;
}

/* "CAP_CHOWN" for cap, or "CAP_41" for one libcap does not name. */
static void
cap_upper_name(int cap, char *out, size_t size)
{
    char *name = cap_to_name((cap_value_t)cap);

    if (name == NULL || strncasecmp(name, "cap_", 4) != 0) {
        snprintf(out, size, "CAP_%d", cap);
    } else {
        snprintf(out, size, "%s", name);
        for (char *c = out; *c; c++) {
            *c = (char)toupper((unsigned char)*c);
        }
    }
    cap_free(name);
}

void
ns_caps_format(ns_caps caps, char *buf, size_t size)
{
    size_t len = 0;

    if (size == 0) {
        return;
    }
    buf[0] = '\0';
    if (caps == 0) {
        caps_append(buf, size, &len, "none");
        return;
    }
    for (int c = 0; c < 64; c++) {
        char name[NS_CAP_NAME_MAX];

        if (!(caps & NS_BIT(c))) {
            continue;
        }
        cap_upper_name(c, name, sizeof(name));
        if ((len > 0 && !caps_append(buf, size, &len, ",")) ||
            !caps_append(buf, size, &len, name)) {
            return;
        }
    }
}

/* ---- in the child --------------------------------------------------- */

NS_NOSAN enum ns_priv_step
ns_bounding_in_child(const struct ns_privs *p)
{
    if (!p->set_caps) {
        return NS_PRIV_OK;
    }
    for (int c = 0; c < 64; c++) {
        long r;

        if ((p->caps & NS_BIT(c)) || (p->bounding_have != 0 && !(p->bounding_have & NS_BIT(c)))) {
            continue;
        }
        r = syscall(SYS_prctl, PR_CAPBSET_READ, (unsigned long)c, 0UL, 0UL, 0UL);
        /* EINVAL: c is beyond this kernel's CAP_LAST_CAP, nothing to drop. */
        if (r <= 0) {
            continue;
        }
        if (syscall(SYS_prctl, PR_CAPBSET_DROP, (unsigned long)c, 0UL, 0UL, 0UL) < 0) {
            return NS_PRIV_BOUNDING;
        }
    }
    return NS_PRIV_OK;
}

/*
 * Ambient cleared, inheritable emptied, effective and permitted set to
 * p->caps for uid 0 and emptied otherwise. A capability minit itself lacks
 * in its permitted set cannot be granted (capset would fail with EPERM):
 * it is left out, as the bounding drop leaves out what is not there.
 */
static NS_NOSAN enum ns_priv_step
caps_set_in_child(const struct ns_privs *p, uid_t uid)
{
    struct __user_cap_header_struct hdr = {_LINUX_CAPABILITY_VERSION_3, 0};
    struct __user_cap_data_struct data[2] = {{0, 0, 0}, {0, 0, 0}};
    ns_caps want = uid == 0 ? p->caps : 0;
    ns_caps have;

    /* EINVAL: a kernel before 4.3 has no ambient set to clear. */
    if (syscall(SYS_prctl, PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0UL, 0UL, 0UL) < 0 &&
        errno != EINVAL) {
        return NS_PRIV_CAPS;
    }
    if (syscall(SYS_capget, &hdr, data) < 0) {
        return NS_PRIV_CAPS;
    }
    have = (ns_caps)data[0].permitted | (ns_caps)data[1].permitted << 32;
    want &= have;
    data[0].effective = data[0].permitted = (uint32_t)want;
    data[1].effective = data[1].permitted = (uint32_t)(want >> 32);
    data[0].inheritable = data[1].inheritable = 0;
    hdr.pid = 0;
    if (syscall(SYS_capset, &hdr, data) < 0) {
        return NS_PRIV_CAPS;
    }
    return NS_PRIV_OK;
}

NS_NOSAN enum ns_priv_step
ns_privs_in_child(const struct ns_privs *p, uid_t uid)
{
    if (p->set_caps) {
        enum ns_priv_step step = caps_set_in_child(p, uid);

        if (step != NS_PRIV_OK) {
            return step;
        }
    }
    if (p->no_new_privs && syscall(SYS_prctl, PR_SET_NO_NEW_PRIVS, 1UL, 0UL, 0UL, 0UL) < 0) {
        return NS_PRIV_NNP;
    }
    if (p->filter.insns != NULL) {
        struct sock_fprog prog = {.len = p->filter.len, .filter = p->filter.insns};

        /* Without no_new_privs the kernel wants CAP_SYS_ADMIN here and
         * fails with EACCES otherwise: asking for one is the caller's. */
        if (syscall(SYS_seccomp, SECCOMP_SET_MODE_FILTER, 0U, &prog) < 0) {
            return NS_PRIV_SECCOMP;
        }
    }
    return NS_PRIV_OK;
}

const char *
ns_priv_step_name(enum ns_priv_step step)
{
    switch (step) {
    case NS_PRIV_OK:
        return "apply privileges";
    case NS_PRIV_BOUNDING:
        return "drop capabilities from the bounding set";
    case NS_PRIV_CAPS:
        return "set capabilities";
    case NS_PRIV_NNP:
        return "set no_new_privs";
    case NS_PRIV_SECCOMP:
        return "install the seccomp filter";
    }
    return "apply privileges (unknown step)";
}
