/* SPDX-License-Identifier: MIT */
/*
 * Unit tests of a payload's privileges (ns/caps.c, ns/seccomp.c): names and
 * lists of capabilities, their formatting, seccomp programs from "default",
 * "unconfined" and FILEs, good and bad. Then the real thing: forked
 * children apply ns_bounding_in_child() and ns_privs_in_child() to
 * themselves, check /proc/self/status and what the filter lets through,
 * and report to the parent through a pipe, one line a check:
 * "<1|0> <name> <detail>". Children never print on stdout (the TAP
 * stream). The parts that need root print "# SKIP" otherwise.
 */
#include "ns/ns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/audit.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/keyctl.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/ptrace.h>
#include <sys/syscall.h>
#include <sys/utsname.h>
#include <sys/wait.h>
#include <unistd.h>

#include "init/sys.h"
#include "tests/tap.h"

#define BIT(c) ((ns_caps)1 << (c))

static char tmpdir[64];

static void
skip(const char *why)
{
    printf("ok %d # SKIP %s\n", ++tap_n, why);
}

/* ---- capabilities ---------------------------------------------------- */

static int
kernel_last_cap(void)
{
    FILE *f = fopen("/proc/sys/kernel/cap_last_cap", "r");
    int last = -1;

    if (f != NULL) {
        if (fscanf(f, "%d", &last) != 1) {
            last = -1;
        }
        fclose(f);
    }
    return last;
}

static void
test_cap_parse(void)
{
    static const char *const spellings[] = {"CAP_NET_ADMIN", "net_admin", "NET_ADMIN",
                                            "cap_net_admin", "Cap_Net_Admin"};
    static const char *const bad[] = {"foo",  "net_admin2",    "",    "12",
                                      "cap_", "CAP_NET ADMIN", "none"};
    struct mi_err e = {0};
    ns_caps m;

    for (size_t i = 0; i < sizeof(spellings) / sizeof(spellings[0]); i++) {
        m = 0;
        CHECK_INT(ns_cap_parse(spellings[i], &m, &e), 0, "cap_parse '%s' ok", spellings[i]);
        CHECK_INT(m, BIT(CAP_NET_ADMIN), "cap_parse '%s' is CAP_NET_ADMIN", spellings[i]);
    }
    CHECK_INT(ns_cap_parse("all", &m, &e), 0, "cap_parse 'all' ok");
    CHECK_INT(m, ns_caps_all(), "cap_parse 'all' is ns_caps_all()");
    CHECK_INT(ns_cap_parse("ALL", &m, &e), 0, "cap_parse 'ALL' ok");
    CHECK_INT(ns_cap_parse("chown", &m, &e), 0, "cap_parse 'chown' ok");
    CHECK_INT(m, 1, "cap_parse 'chown' is bit 0");
    for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
        char want[64];

        mi_err_clear(&e);
        CHECK_INT(ns_cap_parse(bad[i], &m, &e), -1, "cap_parse '%s' fails", bad[i]);
        snprintf(want, sizeof(want), "unknown capability '%s'", bad[i]);
        CHECK_STR(e.msg, want, "cap_parse '%s' message", bad[i]);
    }
}

static void
test_cap_sets(void)
{
    int last = kernel_last_cap();
    ns_caps all = ns_caps_all();
    ns_caps def = ns_caps_default();
    char buf[1024];

    CHECK_INT(__builtin_popcountll(def), 14, "default set has 14 capabilities");
    CHECK_INT(def & (BIT(CAP_SYS_ADMIN) | BIT(CAP_NET_ADMIN) | BIT(CAP_SYS_PTRACE)), 0,
              "default set lacks SYS_ADMIN, NET_ADMIN, SYS_PTRACE");
    ns_caps_format(def, buf, sizeof(buf));
    CHECK_STR(buf,
              "CAP_CHOWN,CAP_DAC_OVERRIDE,CAP_FOWNER,CAP_FSETID,CAP_KILL,CAP_SETGID,CAP_SETUID,"
              "CAP_SETPCAP,CAP_NET_BIND_SERVICE,CAP_NET_RAW,CAP_SYS_CHROOT,CAP_MKNOD,"
              "CAP_AUDIT_WRITE,CAP_SETFCAP",
              "default set formatted");
    if (last < 0) {
        skip("no /proc/sys/kernel/cap_last_cap");
    } else {
        CHECK_INT(all, last >= 63 ? ~(ns_caps)0 : BIT(last + 1) - 1,
                  "ns_caps_all is 0..cap_last_cap (%d)", last);
    }
    CHECK_INT(all & def, def, "default is within all");
    ns_caps_format(0, buf, sizeof(buf));
    CHECK_STR(buf, "none", "empty set formatted as none");
    ns_caps_format(BIT(CAP_SYS_ADMIN) | BIT(CAP_KILL), buf, sizeof(buf));
    CHECK_STR(buf, "CAP_KILL,CAP_SYS_ADMIN", "two caps, in bit order");
    ns_caps_format(def, buf, 20);
    CHECK_STR(buf, "CAP_CHOWN,CAP_DA...", "truncated format ends in ...");
    ns_caps_format(all, buf, sizeof(buf));
    if (last >= CAP_CHECKPOINT_RESTORE) {
        CHECK_CONTAINS(buf, ",CAP_CHECKPOINT_RESTORE", "all formatted names the last cap");
    } else {
        CHECK_CONTAINS(buf, "CAP_CHOWN,", "all formatted starts with CAP_CHOWN");
    }
}

static void
check_list(const char *text, ns_caps base, ns_caps want)
{
    struct mi_err e = {0};
    ns_caps got = 0xdead;

    CHECK_INT(ns_caps_parse_list(text, base, &got, &e), 0, "list '%s' ok", text);
    CHECK_INT(got, want, "list '%s' value", text);
}

static void
test_cap_lists(void)
{
    ns_caps def = ns_caps_default();
    struct mi_err e = {0};
    ns_caps got = 7;

    check_list("", def, def);
    check_list(" , ", def, def);
    check_list("NET_ADMIN", def, def | BIT(CAP_NET_ADMIN));
    check_list("-chown, +sys_ptrace", def, (def & ~BIT(CAP_CHOWN)) | BIT(CAP_SYS_PTRACE));
    check_list("-CAP_CHOWN -CAP_KILL\tCAP_SYS_TIME", def,
               (def & ~(BIT(CAP_CHOWN) | BIT(CAP_KILL))) | BIT(CAP_SYS_TIME));
    check_list("none,KILL", def, BIT(CAP_KILL));
    check_list("none", def, 0);
    check_list("all,-SYS_ADMIN", 0, ns_caps_all() & ~BIT(CAP_SYS_ADMIN));
    check_list("-all", def, 0);
    check_list("+all", 0, ns_caps_all());
    CHECK_INT(ns_caps_parse_list("KILL,foo", def, &got, &e), -1, "list with an unknown name");
    CHECK_STR(e.msg, "unknown capability 'foo'", "list error names it");
    CHECK_INT(got, 7, "failed list leaves *out alone");
    mi_err_clear(&e);
    CHECK_INT(ns_caps_parse_list("-none", def, &got, &e), -1, "'-none' is refused");
    mi_err_clear(&e);
    CHECK_INT(ns_caps_parse_list("+", def, &got, &e), -1, "a bare '+' is refused");
    mi_err_clear(&e);
    CHECK_INT(ns_caps_parse_list("CAP_THIS_IS_A_VERY_LONG_NAME_THAT_DOES_NOT_EXIST_AT_ALL", def,
                                 &got, &e),
              -1, "an overlong name is refused");
}

static void
test_step_names(void)
{
    CHECK_STR(ns_priv_step_name(NS_PRIV_BOUNDING), "drop capabilities from the bounding set",
              "step name: bounding");
    CHECK_STR(ns_priv_step_name(NS_PRIV_CAPS), "set capabilities", "step name: caps");
    CHECK_STR(ns_priv_step_name(NS_PRIV_NNP), "set no_new_privs", "step name: nnp");
    CHECK_STR(ns_priv_step_name(NS_PRIV_SECCOMP), "install the seccomp filter",
              "step name: seccomp");
    TAP_OK(ns_priv_step_name((enum ns_priv_step)99) != NULL, "step name: out of range");
}

/* ---- seccomp programs ------------------------------------------------- */

static const char *
write_tmp_n(const char *name, const char *text, size_t len)
{
    static char path[128];
    FILE *f;

    snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
    f = fopen(path, "w");
    if (f == NULL || fwrite(text, 1, len, f) != len || fclose(f) != 0) {
        printf("# cannot write %s\n", path);
    }
    return path;
}

static const char *
write_tmp(const char *name, const char *text)
{
    return write_tmp_n(name, text, strlen(text));
}

/* Whether some instruction of f has constant k (an architecture's
 * AUDIT_ARCH_* value, the x32 syscall bit). */
static bool
program_has_k(const struct ns_filter *f, uint32_t k)
{
    const struct sock_filter *insns = f->insns;

    for (unsigned i = 0; insns != NULL && i < f->len; i++) {
        if (insns[i].k == k) {
            return true;
        }
    }
    return false;
}

static void
test_seccomp_build(void)
{
    struct ns_filter f = {(void *)1, 3};
    struct mi_err e = {0};

    CHECK_INT(ns_seccomp_build("unconfined", &f, &e), 0, "unconfined builds");
    TAP_OK(f.insns == NULL && f.len == 0, "unconfined has no program");
    ns_filter_free(&f);
    CHECK_INT(ns_seccomp_build("default", &f, &e), 0, "default builds: %s", e.msg);
    TAP_OK(f.insns != NULL && f.len > 20, "default has a program (%u insns)", f.len);
#if defined(__x86_64__)
    TAP_OK(program_has_k(&f, AUDIT_ARCH_X86_64), "default checks for x86_64");
    TAP_OK(program_has_k(&f, AUDIT_ARCH_I386), "default checks for i386");
    TAP_OK(program_has_k(&f, 0x40000000), "default tests the x32 bit");
#endif
    ns_filter_free(&f);
    TAP_OK(f.insns == NULL && f.len == 0, "ns_filter_free resets");
    ns_filter_free(&f);

    CHECK_INT(ns_seccomp_build(write_tmp("good", "# a comment\n\n"
                                                 "default errno 38   # trailing comment\n"
                                                 "allow read write\texecve exit_group\n"
                                                 "deny mount\n"
                                                 "errno 13 uname\n"
                                                 "kill ptrace\n"
                                                 "trap kexec_load\n"
                                                 "log getppid\n"
                                                 "errno 38 getuid\n"
                                                 "allow read\n"
                                                 "allow umount\n"),
                               &f, &e),
              0, "a good file builds: %s", e.msg);
    TAP_OK(f.insns != NULL && f.len > 0, "a good file has a program");
    ns_filter_free(&f);
    CHECK_INT(ns_seccomp_build(write_tmp("empty", "# nothing\n"), &f, &e), 0,
              "an empty file builds");
    TAP_OK(f.insns != NULL, "an empty file has a program (allow all)");
    ns_filter_free(&f);
    CHECK_INT(ns_seccomp_build(write_tmp("noeol", "deny uname"), &f, &e), 0,
              "a file without a final newline builds");
    ns_filter_free(&f);
}

static void
check_bad(const char *name, const char *text, const char *want, int line)
{
    struct ns_filter f = {NULL, 0};
    struct mi_err e = {0};
    char full[256];
    const char *path = write_tmp(name, text);

    snprintf(full, sizeof(full), "%s:%d: %s", path, line, want);
    CHECK_INT(ns_seccomp_build(path, &f, &e), -1, "bad file %s fails", name);
    CHECK_STR(e.msg, full, "bad file %s message", name);
    TAP_OK(f.insns == NULL && f.len == 0, "bad file %s leaves no program", name);
}

static void
test_seccomp_bad(void)
{
    struct ns_filter f = {NULL, 0};
    struct mi_err e = {0};
    char want[256];

    check_bad("syscall", "# x\nallow read\n\ndeny read_the_minds\n",
              "unknown syscall 'read_the_minds'", 4);
    check_bad("action", "allow read\npermit write\n", "unknown action 'permit'", 2);
    check_bad("defaction", "default maybe\n", "unknown action 'maybe'", 1);
    check_bad("errno", "errno EPERM uname\n", "bad errno 'EPERM' (want 0 to 4095)", 1);
    check_bad("errnobig", "\nerrno 4096 uname\n", "bad errno '4096' (want 0 to 4095)", 2);
    check_bad("errnonone", "errno\n", "'errno' needs a number", 1);
    check_bad("late", "deny uname\ndefault kill\n", "'default' must come before every other rule",
              2);
    check_bad("twice", "default allow\ndefault kill\n",
              "'default' must come before every other rule", 2);
    check_bad("extra", "default errno 1 uname\n", "unexpected 'uname' after the default action", 1);
    check_bad("empty", "deny\n", "no syscall after 'deny'", 1);
    check_bad("conflict", "deny uname\nallow getpid\nkill uname\n",
              "syscall 'uname' already has another action (line 1)", 3);
    check_bad("conflictdef", "allow uname\nkill uname\n",
              "syscall 'uname' already has another action (line 1)", 2);
    check_bad("number", "deny 63\n", "unknown syscall '63'", 1);
    mi_err_clear(&e);
    CHECK_INT(ns_seccomp_build(write_tmp_n("nul", "deny uname\n\0x\n", 14), &f, &e), -1,
              "a file with a NUL byte fails");
    snprintf(want, sizeof(want), "%s/nul: not a text file (NUL byte)", tmpdir);
    CHECK_STR(e.msg, want, "NUL byte message");

    snprintf(want, sizeof(want), "%s/missing", tmpdir);
    CHECK_INT(ns_seccomp_build(want, &f, &e), -1, "missing file fails");
    CHECK_INT(e.errnum, ENOENT, "missing file: ENOENT");
    snprintf(want, sizeof(want), "unable to read %s/missing", tmpdir);
    CHECK_STR(e.msg, want, "missing file message");
    CHECK_INT(ns_seccomp_build(tmpdir, &f, &e), -1, "a directory fails");
    CHECK_INT(e.errnum, EISDIR, "a directory: EISDIR");
}

/* ---- applied for real, in forked children ---------------------------- */

/* "ok", or the failed step and errno (read at once after the call). */
static const char *
step_text(enum ns_priv_step step)
{
    static char buf[128];
    int err = errno;

    if (step == NS_PRIV_OK) {
        return "ok";
    }
    snprintf(buf, sizeof(buf), "unable to %s: %s", ns_priv_step_name(step), strerror(err));
    return buf;
}

struct report {
    int fd;
};

/* One line to the parent; ok: 1 pass, 0 fail, 2 skip. */
static void report(struct report *r, int ok, const char *name, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

static void
report(struct report *r, int ok, const char *name, const char *fmt, ...)
{
    char line[256];
    char detail[160];
    va_list ap;
    int n;

    va_start(ap, fmt);
    vsnprintf(detail, sizeof(detail), fmt, ap);
    va_end(ap);
    n = snprintf(line, sizeof(line), "%d %s %s\n", ok, name, detail);
    if (n > 0) {
        sys_write_all(r->fd, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
    }
}

/* The status field `key` ("CapBnd") of this process, as a number (hex for
 * the Cap* fields, decimal otherwise); -1 if missing. */
static long long
status_field(const char *key, int base)
{
    FILE *f = fopen("/proc/self/status", "r");
    char line[256];
    size_t klen = strlen(key);
    long long v = -1;

    if (f == NULL) {
        return -1;
    }
    while (fgets(line, sizeof(line), f) != NULL) {
        if (strncmp(line, key, klen) == 0 && line[klen] == ':') {
            v = strtoll(line + klen + 1, NULL, base);
            break;
        }
    }
    fclose(f);
    return v;
}

/* A syscall expected to fail with want: reports it. */
static void
expect_errno(struct report *r, const char *name, long rc, int err, int want)
{
    report(r, rc == -1 && err == want, name, "rc %ld errno %d (%s), want %d", rc, err,
           strerror(err), want);
}

/* A fork-like raw clone with flags. Should the filter let it through, the
 * new process leaves at once and is reaped. */
static long
clone_flags(unsigned long flags)
{
    long rc = syscall(SYS_clone, flags | SIGCHLD, 0L, 0L, 0L, 0L);
    int saved = errno;

    if (rc == 0) {
        _exit(0);
    }
    if (rc > 0) {
        waitpid((pid_t)rc, NULL, 0);
    }
    errno = saved;
    return rc;
}

static void *
thread_fn(void *arg)
{
    return arg;
}

#if defined(__x86_64__)
/* i386's unshare (310) through int 0x80, in a grandchild since a kernel
 * without ia32 emulation answers with SIGSEGV. 0: EPERM; 1: not EPERM;
 * 2: no ia32 emulation here. */
static int
ia32_unshare(void)
{
    pid_t pid = fork();
    int status;

    if (pid == 0) {
        struct sigaction dfl = {.sa_handler = SIG_DFL};
        long ret;

        sigaction(SIGSEGV, &dfl, NULL); /* not ASan's handler: die of it */
        __asm__ volatile("int $0x80"
                         : "=a"(ret)
                         : "a"(310L), "b"((long)CLONE_NEWNS)
                         : "memory", "r8", "r9", "r10", "r11");
        _exit(ret == -EPERM ? 0 : 1);
    }
    if (pid < 0 || waitpid(pid, &status, 0) != pid) {
        return 1;
    }
    if (WIFSIGNALED(status) && WTERMSIG(status) == SIGSEGV) {
        return 2;
    }
    return WIFEXITED(status) && WEXITSTATUS(status) == 0 ? 0 : 1;
}
#endif

/* The default filter's denials, and that ordinary calls still work. */
static void
check_default_filter(struct report *r)
{
    char dir[96];
    pthread_t th;
    pid_t pid;
    int status = 0;
    long rc;

    snprintf(dir, sizeof(dir), "%s", tmpdir);
    rc = unshare(CLONE_NEWNS);
    expect_errno(r, "unshare(CLONE_NEWNS)", rc, errno, EPERM);
    rc = mount("none", dir, "tmpfs", 0, NULL);
    expect_errno(r, "mount", rc, errno, EPERM);
    rc = umount2(dir, MNT_DETACH);
    expect_errno(r, "umount2", rc, errno, EPERM);
    rc = syscall(SYS_keyctl, KEYCTL_GET_KEYRING_ID, KEY_SPEC_SESSION_KEYRING, 0);
    expect_errno(r, "keyctl", rc, errno, EPERM);
    rc = ptrace(PTRACE_PEEKDATA, 1, NULL, NULL);
    expect_errno(r, "ptrace(PEEKDATA, 1)", rc, errno, EPERM);
    rc = syscall(SYS_ptrace, PTRACE_PEEKDATA, 0x100000001L, 0L, 0L);
    expect_errno(r, "ptrace(PEEKDATA, 0x100000001)", rc, errno, EPERM);
    rc = ptrace(PTRACE_PEEKDATA, getppid(), NULL, NULL);
    expect_errno(r, "ptrace of another pid reaches the kernel", rc, errno, ESRCH);
    rc = syscall(SYS_clone3, NULL, 0UL);
    expect_errno(r, "clone3", rc, errno, ENOSYS);
    rc = clone_flags(CLONE_NEWUTS);
    expect_errno(r, "clone(CLONE_NEWUTS)", rc, errno, EPERM);
    rc = clone_flags(CLONE_NEWUSER);
    expect_errno(r, "clone(CLONE_NEWUSER)", rc, errno, EPERM);
    rc = syscall(SYS_setns, 0, 0);
    expect_errno(r, "setns", rc, errno, EPERM);
#if defined(__x86_64__)
    /* x32's unshare: the x32 bit over x86_64's number. The filter covers
     * x32, so it is denied whether or not the kernel runs x32 code. */
    rc = syscall(0x40000000L | SYS_unshare, (long)CLONE_NEWNS);
    expect_errno(r, "x32 unshare", rc, errno, EPERM);
    status = ia32_unshare();
    report(r, status == 2 ? 2 : status == 0, "i386 unshare (int 0x80)", "%s",
           status == 2 ? "int 0x80 unavailable here (SIGSEGV)" : "");
#endif
    report(r, getpid() == (pid_t)syscall(SYS_getpid) && getpid() > 0, "getpid", "works");
    pid = fork();
    if (pid == 0) {
        _exit(7);
    }
    report(r,
           pid > 0 && waitpid(pid, &status, 0) == pid && WIFEXITED(status) &&
                   WEXITSTATUS(status) == 7,
           "fork", "works (clone without namespaces)");
    report(r, pthread_create(&th, NULL, thread_fn, NULL) == 0 && pthread_join(th, NULL) == 0,
           "pthread_create", "works (clone3 ENOSYS falls back to clone)");
    rc = chroot("/");
    report(r, rc == 0, "chroot", "allowed (rc %ld)", rc);
}

/* In a forked child: the default profile, no_new_privs and a reduced set. */
static void
child_default(struct report *r, ns_caps want, ns_caps bnd0, ns_caps prm0)
{
    struct ns_privs p = {.set_caps = true, .caps = want, .no_new_privs = true};
    struct mi_err e = {0};
    enum ns_priv_step step;

    if (ns_seccomp_build("default", &p.filter, &e) < 0) {
        report(r, 0, "build", "%s", e.msg);
        return;
    }
    step = ns_bounding_in_child(&p);
    report(r, step == NS_PRIV_OK, "ns_bounding_in_child", "%s", step_text(step));
    step = ns_privs_in_child(&p, getuid());
    report(r, step == NS_PRIV_OK, "ns_privs_in_child", "%s", step_text(step));
    if (step != NS_PRIV_OK) {
        return;
    }
    report(r, status_field("CapBnd", 16) == (long long)(want & bnd0), "CapBnd", "%llx",
           status_field("CapBnd", 16));
    report(r, status_field("CapEff", 16) == (long long)(want & prm0), "CapEff", "%llx",
           status_field("CapEff", 16));
    report(r, status_field("CapPrm", 16) == (long long)(want & prm0), "CapPrm", "%llx",
           status_field("CapPrm", 16));
    report(r, status_field("CapInh", 16) == 0, "CapInh", "%llx", status_field("CapInh", 16));
    report(r, status_field("CapAmb", 16) == 0, "CapAmb", "%llx", status_field("CapAmb", 16));
    report(r, status_field("NoNewPrivs", 10) == 1, "NoNewPrivs", "%lld",
           status_field("NoNewPrivs", 10));
    report(r, status_field("Seccomp", 10) == 2, "Seccomp", "%lld", status_field("Seccomp", 10));
    check_default_filter(r);
    ns_filter_free(&p.filter);
}

/* In a forked child: a FILE that fails uname with errno 38. */
static void
child_file(struct report *r, const char *path)
{
    struct ns_privs p = {.set_caps = false, .no_new_privs = true};
    struct mi_err e = {0};
    struct utsname u;
    enum ns_priv_step step;
    int rc;

    if (ns_seccomp_build(path, &p.filter, &e) < 0) {
        report(r, 0, "build", "%s", e.msg);
        return;
    }
    step = ns_privs_in_child(&p, getuid());
    report(r, step == NS_PRIV_OK, "ns_privs_in_child", "%s", step_text(step));
    rc = uname(&u);
    report(r, rc == -1 && errno == 38, "uname fails with errno 38", "rc %d errno %d", rc, errno);
    rc = getuid() == (uid_t)syscall(SYS_getuid);
    report(r, rc, "getuid still works", "%s", "");
    ns_filter_free(&p.filter);
}

/* In a forked child as root: no no_new_privs and no CAP_SYS_ADMIN left, so
 * the kernel refuses the filter (EACCES), as ns.h warns. */
static void
child_eacces(struct report *r)
{
    struct ns_privs p = {.set_caps = true, .caps = ns_caps_default()};
    struct mi_err e = {0};
    enum ns_priv_step step;

    if (ns_seccomp_build("default", &p.filter, &e) < 0) {
        report(r, 0, "build", "%s", e.msg);
        return;
    }
    step = ns_privs_in_child(&p, 0);
    report(r, step == NS_PRIV_SECCOMP && errno == EACCES, "seccomp without nnp or SYS_ADMIN", "%s",
           step_text(step));
    ns_filter_free(&p.filter);
}

/* In a forked child as root: a non-root uid gets empty effective and
 * permitted sets, whatever p->caps says. */
static void
child_nonroot(struct report *r)
{
    struct ns_privs p = {.set_caps = true, .caps = ns_caps_default()};
    enum ns_priv_step step = ns_privs_in_child(&p, 1000);

    report(r, step == NS_PRIV_OK, "ns_privs_in_child(uid 1000)", "%s", step_text(step));
    report(r, status_field("CapEff", 16) == 0 && status_field("CapPrm", 16) == 0,
           "uid 1000: CapEff and CapPrm empty", "%llx %llx", status_field("CapEff", 16),
           status_field("CapPrm", 16));
}

/* In a forked child: a FILE that kills on getppid. */
static void
child_kill(struct report *r, const char *path)
{
    struct ns_privs p = {.no_new_privs = true};
    struct mi_err e = {0};

    if (ns_seccomp_build(path, &p.filter, &e) < 0 || ns_privs_in_child(&p, 0) != NS_PRIV_OK) {
        report(r, 0, "setup", "%s", e.msg);
        return;
    }
    syscall(SYS_getppid);
    report(r, 0, "getppid", "was not killed");
}

enum child_kind {
    CHILD_DEFAULT,
    CHILD_FILE,
    CHILD_EACCES,
    CHILD_NONROOT,
    CHILD_KILL
};

/* Forks a child of kind, relays its report lines as TAP; returns its wait
 * status. */
static int
run_child(enum child_kind kind, const char *path, const char *label)
{
    ns_caps want = ns_caps_default() & ~(BIT(CAP_NET_RAW) | BIT(CAP_MKNOD));
    ns_caps bnd0 = (ns_caps)status_field("CapBnd", 16);
    ns_caps prm0 = (ns_caps)status_field("CapPrm", 16);
    int fds[2];
    char buf[8192];
    size_t len = 0;
    ssize_t n;
    int status = -1;
    pid_t pid;

    if (sys_pipe(fds, 0) < 0) {
        TAP_OK(0, "%s: pipe", label);
        return -1;
    }
    fflush(stdout);
    pid = fork();
    if (pid == 0) {
        struct report r = {fds[1]};

        sys_close(fds[0]);
        switch (kind) {
        case CHILD_DEFAULT:
            child_default(&r, want, bnd0, prm0);
            break;
        case CHILD_FILE:
            child_file(&r, path);
            break;
        case CHILD_EACCES:
            child_eacces(&r);
            break;
        case CHILD_NONROOT:
            child_nonroot(&r);
            break;
        case CHILD_KILL:
            child_kill(&r, path);
            break;
        }
        _exit(0);
    }
    sys_close(fds[1]);
    while (pid > 0 && len < sizeof(buf) - 1 &&
           (n = sys_read(fds[0], buf + len, sizeof(buf) - 1 - len)) > 0) {
        len += (size_t)n;
    }
    buf[len] = '\0';
    sys_close(fds[0]);
    if (pid > 0) {
        waitpid(pid, &status, 0);
    }
    for (char *line = buf, *next; line && *line; line = next) {
        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        if (line[0] == '2') {
            printf("ok %d # SKIP %s: %s\n", ++tap_n, label, line + 2);
            continue;
        }
        TAP_OK(line[0] == '1', "%s: %s", label, line + 2);
    }
    return status;
}

static void
test_apply(void)
{
    const char *path;
    int status;

    if (geteuid() != 0) {
        skip("applying capabilities needs root");
    } else {
        status = run_child(CHILD_DEFAULT, NULL, "default+nnp+caps");
        TAP_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "default child exited 0 (%#x)",
               status);
        run_child(CHILD_EACCES, NULL, "eacces");
        run_child(CHILD_NONROOT, NULL, "nonroot");
    }
    path = write_tmp("uname38", "# uname fails with ENOSYS\nerrno 38 uname\n");
    status = run_child(CHILD_FILE, path, "file");
    TAP_OK(WIFEXITED(status) && WEXITSTATUS(status) == 0, "file child exited 0 (%#x)", status);
    path = write_tmp("kill", "kill getppid\n");
    status = run_child(CHILD_KILL, path, "kill");
    TAP_OK(WIFSIGNALED(status) && WTERMSIG(status) == SIGSYS, "kill: child died of SIGSYS (%#x)",
           status);
}

static void
cleanup_tmp(void)
{
    static const char *const names[] = {
            "good",        "empty",     "noeol", "syscall", "action", "defaction", "errno",
            "errnobig",    "errnonone", "late",  "twice",   "extra",  "empty",     "conflict",
            "conflictdef", "number",    "nul",   "uname38", "kill",
    };
    char path[160];

    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        snprintf(path, sizeof(path), "%s/%s", tmpdir, names[i]);
        unlink(path);
    }
    rmdir(tmpdir);
}

int
main(void)
{
    snprintf(tmpdir, sizeof(tmpdir), "/tmp/minit-test-privs-XXXXXX");
    if (mkdtemp(tmpdir) == NULL) {
        printf("1..0 # SKIP mkdtemp: %s\n", strerror(errno));
        return 77;
    }
    test_cap_parse();
    test_cap_sets();
    test_cap_lists();
    test_step_names();
    test_seccomp_build();
    test_seccomp_bad();
    test_apply();
    cleanup_tmp();
    return done_testing();
}
