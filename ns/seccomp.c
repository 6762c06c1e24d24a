/* SPDX-License-Identifier: MIT */
/*
 * Seccomp programs, built in the parent with libseccomp and exported as
 * classic BPF for ns_privs_in_child() to install just before exec. Nothing
 * here runs in the child. libseccomp 2.5.4 (Debian 12) cannot export into
 * memory, so the program goes through a memfd and is read back into a
 * malloc'd buffer that struct ns_filter owns.
 *
 * Every filter covers the native architecture and, on x86_64, i386 and x32
 * too (on aarch64, arm), each with the same rules: a 32-bit entry point
 * follows the filter instead of bypassing it or being killed as a foreign
 * architecture.
 *
 * minit's seccomp FILE format, one rule a line:
 *
 *     # a comment; '#' starts a comment anywhere, blank lines are fine
 *     default ACTION          optional, before every other rule; default: allow
 *     ACTION NAME...          the syscalls NAME... get ACTION
 *
 * where ACTION is one of
 *
 *     allow                   run the syscall
 *     deny                    fail it with EPERM (= errno 1)
 *     errno N                 fail it with errno N, 0 <= N <= 4095
 *     kill                    kill the whole process (SCMP_ACT_KILL_PROCESS)
 *     trap                    send SIGSYS
 *     log                     run it and log it (the kernel's audit log)
 *
 * Words are separated by blanks. NAME is a syscall name as libseccomp
 * knows it ("read", "clone3"), never a number; a name of another
 * architecture applies where it exists ("umount" and "stime" are i386 only
 * on x86_64) and adds nothing where none of the filtered ones has it. A
 * syscall has one action: naming it again with another is an error, again
 * with the same one is not. A rule whose action is the default's changes
 * nothing and is accepted. The payload's exec runs under the filter, so a
 * "default kill" or "default errno" file must allow execve (and what the
 * dynamic loader needs). Example:
 *
 *     default errno 38
 *     allow execve brk mmap munmap read write exit exit_group
 *     kill ptrace
 *
 * Every problem stops the build with "FILE:LINE: unknown syscall 'x'",
 * "FILE:LINE: unknown action 'y'", "FILE:LINE: ..." or "unable to read
 * FILE" (errno) in *e.
 */
#include "ns/ns.h"

#include <errno.h>
#include <fcntl.h>
#include <linux/filter.h>
#include <sched.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <seccomp.h>

#include "init/sys.h"

#define SC_FILE_MAX  (256 * 1024) /* a seccomp FILE larger than this is a mistake */
#define SC_ERRNO_MAX 4095         /* the kernel's MAX_ERRNO */

/* What "default" fails with EPERM: all that lets a payload reach the host
 * or the kernel's global state. Names unknown on this build's architectures
 * are skipped. chroot and name_to_handle_at stay allowed, as in Docker. */
static const char *const default_deny[] = {
        "kexec_load",
        "kexec_file_load",
        "init_module",
        "finit_module",
        "delete_module",
        "create_module",
        "mount",
        "umount2",
        "umount",
        "pivot_root",
        "unshare",
        "setns",
        "fsopen",
        "fsconfig",
        "fsmount",
        "fspick",
        "move_mount",
        "open_tree",
        "mount_setattr",
        "keyctl",
        "add_key",
        "request_key",
        "bpf",
        "perf_event_open",
        "open_by_handle_at",
        "userfaultfd",
        "acct",
        "swapon",
        "swapoff",
        "reboot",
        "settimeofday",
        "clock_settime",
        "clock_adjtime",
        "adjtimex",
        "stime",
        "iopl",
        "ioperm",
        "quotactl",
        "lookup_dcookie",
        "nfsservctl",
        "uselib",
        "_sysctl",
        "vm86",
        "vm86old",
        "kcmp",
        "process_vm_readv",
        "process_vm_writev",
        "get_kernel_syms",
        "query_module",
        "syslog",
};

/* The namespace flags that clone may not carry (Docker's mask). CLONE_NEWTIME
 * is not here: for clone its bit is part of the exit signal; unshare, the
 * only way to ask for it, is denied. */
static const unsigned long default_clone_ns[] = {
        CLONE_NEWNS,  CLONE_NEWUTS, CLONE_NEWIPC,    CLONE_NEWUSER,
        CLONE_NEWPID, CLONE_NEWNET, CLONE_NEWCGROUP,
};

static void
sc_release(scmp_filter_ctx *ctx)
{
    if (*ctx != NULL) {
        seccomp_release(*ctx);
    }
}
#define SC_CLEANUP_CTX __attribute__((cleanup(sc_release)))

static void
sc_free(char **p)
{
    free(*p);
}
#define SC_CLEANUP_FREE __attribute__((cleanup(sc_free)))

/* A filter with default action def over the native architecture and its
 * 32-bit companions. */
static int
sc_new(uint32_t def, scmp_filter_ctx *out, struct mi_err *e)
{
    static const uint32_t extra[] = {
#if defined(__x86_64__)
        SCMP_ARCH_X86,
        SCMP_ARCH_X32,
#elif defined(__aarch64__)
        SCMP_ARCH_ARM,
#endif
        0,
    };
    SC_CLEANUP_CTX scmp_filter_ctx ctx = seccomp_init(def);

    if (ctx == NULL) {
        return mi_err_set(e, EINVAL, "unable to create a seccomp filter");
    }
    for (size_t i = 0; extra[i] != 0; i++) {
        int rc = seccomp_arch_add(ctx, extra[i]);

        /* EEXIST: the architecture is the native one. */
        if (rc < 0 && rc != -EEXIST) {
            return mi_err_set(e, -rc, "unable to add architecture %#x to the seccomp filter",
                              (unsigned)extra[i]);
        }
    }
    *out = ctx;
    ctx = NULL;
    return 0;
}

/* Reads exactly size bytes of fd from offset 0. */
static int
sc_read_back(int fd, void *buf, size_t size, struct mi_err *e)
{
    size_t got = 0;

    if (lseek(fd, 0, SEEK_SET) < 0) {
        return mi_err_sys(e, "unable to read back the seccomp filter");
    }
    while (got < size) {
        ssize_t n = sys_read(fd, (char *)buf + got, size - got);

        if (n < 0) {
            return mi_err_sys(e, "unable to read back the seccomp filter");
        }
        if (n == 0) {
            return mi_err_set(e, EIO, "unable to read back the seccomp filter (short)");
        }
        got += (size_t)n;
    }
    return 0;
}

/* ctx as classic BPF into f: through a memfd, since libseccomp 2.5 only
 * exports to an fd. */
static int
sc_export(scmp_filter_ctx ctx, struct ns_filter *f, struct mi_err *e)
{
    MI_CLEANUP_CLOSE int fd = memfd_create("minit-seccomp", MFD_CLOEXEC);
    SC_CLEANUP_FREE char *buf = NULL;
    struct stat st;
    size_t size;
    int rc;

    if (fd < 0) {
        return mi_err_sys(e, "unable to create a memfd for the seccomp filter");
    }
    rc = seccomp_export_bpf(ctx, fd);
    if (rc < 0) {
        return mi_err_set(e, -rc, "unable to export the seccomp filter");
    }
    if (fstat(fd, &st) < 0) {
        return mi_err_sys(e, "unable to stat the exported seccomp filter");
    }
    size = (size_t)st.st_size;
    if (size == 0 || size % sizeof(struct sock_filter) != 0 ||
        size / sizeof(struct sock_filter) > BPF_MAXINSNS) {
        return mi_err_set(e, E2BIG, "unable to use the seccomp filter: %zu bytes of BPF", size);
    }
    buf = malloc(size);
    if (buf == NULL) {
        return mi_err_sys(e, "unable to allocate the seccomp filter");
    }
    if (sc_read_back(fd, buf, size, e) < 0) {
        return -1;
    }
    f->insns = buf;
    f->len = (unsigned short)(size / sizeof(struct sock_filter));
    buf = NULL;
    return 0;
}

/* ---- "default" ------------------------------------------------------ */

/* Used by the generator build only (see sc_build_default). */
__attribute__((unused)) static int
sc_default_rules(scmp_filter_ctx ctx, struct mi_err *e)
{
    uint32_t eperm = SCMP_ACT_ERRNO(EPERM);
    int rc;

    for (size_t i = 0; i < sizeof(default_deny) / sizeof(default_deny[0]); i++) {
        int nr = seccomp_syscall_resolve_name(default_deny[i]);

        if (nr == __NR_SCMP_ERROR) {
            continue; /* unknown to libseccomp: nothing to deny */
        }
        rc = seccomp_rule_add(ctx, eperm, nr, 0);
        if (rc < 0) {
            return mi_err_set(e, -rc, "unable to add the seccomp rule for %s", default_deny[i]);
        }
    }
    /* ptrace(request, pid): the kernel truncates pid to 32 bits, so the
     * test is on those bits only, or 0x100000001 would pass. */
    rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(ptrace), 1,
                          SCMP_A1(SCMP_CMP_MASKED_EQ, 0xffffffffUL, 1));
    if (rc < 0) {
        return mi_err_set(e, -rc, "unable to add the seccomp rule for ptrace");
    }
    /* One rule per flag: rules of one action on one syscall are or'ed. On
     * s390 the flags are clone's second argument; minit does not target it. */
    for (size_t i = 0; i < sizeof(default_clone_ns) / sizeof(default_clone_ns[0]); i++) {
        unsigned long flag = default_clone_ns[i];

        rc = seccomp_rule_add(ctx, eperm, SCMP_SYS(clone), 1,
                              SCMP_A0(SCMP_CMP_MASKED_EQ, flag, flag));
        if (rc < 0) {
            return mi_err_set(e, -rc, "unable to add the seccomp rule for clone");
        }
    }
    /* clone3 takes its flags in memory, which seccomp cannot read: ENOSYS
     * makes glibc fall back to clone, which the rules above see. */
    rc = seccomp_rule_add(ctx, SCMP_ACT_ERRNO(ENOSYS), SCMP_SYS(clone3), 0);
    if (rc < 0) {
        return mi_err_set(e, -rc, "unable to add the seccomp rule for clone3");
    }
    return 0;
}

#ifdef NS_SECCOMP_GENERATOR
/* tools/gen-seccomp: compile it with libseccomp. */
static int
sc_build_default(struct ns_filter *f, struct mi_err *e)
{
    SC_CLEANUP_CTX scmp_filter_ctx ctx = NULL;

    if (sc_new(SCMP_ACT_ALLOW, &ctx, e) < 0 || sc_default_rules(ctx, e) < 0) {
        return -1;
    }
    return sc_export(ctx, f, e);
}
#else
/* The program tools/gen-seccomp compiled from the rules above at build
 * time: the same bytes, without libseccomp's compiler at each start. */
#    include "ns/seccomp_default.h"

static int
sc_build_default(struct ns_filter *f, struct mi_err *e)
{
    f->insns = malloc(sizeof(ns_default_filter));
    if (f->insns == NULL) {
        return mi_err_set(e, ENOMEM, "unable to build the seccomp filter");
    }
    memcpy(f->insns, ns_default_filter, sizeof(ns_default_filter));
    f->len = (unsigned short)(sizeof(ns_default_filter) / sizeof(ns_default_filter[0]));
    return 0;
}
#endif

/* ---- a FILE --------------------------------------------------------- */

/* A syscall some line gave an action, to refuse another action later
 * (libseccomp 2.5 takes the second silently). */
struct sc_seen {
    int nr;
    uint32_t act;
    int line;
};

struct sc_parse {
    const char *path;
    int line;
    scmp_filter_ctx ctx; /* made by the default rule or before the first rule */
    uint32_t def;
    struct sc_seen *seen; /* malloc'd */
    size_t nseen;
    size_t cap;
};

/* The next blank-separated word of *p, NUL-terminated in place; NULL at
 * the end. */
static char *
sc_next_word(char **p)
{
    char *s = *p + strspn(*p, " \t\r\v\f");
    size_t len = strcspn(s, " \t\r\v\f");

    if (len == 0) {
        *p = s;
        return NULL;
    }
    *p = s + len;
    if (**p != '\0') {
        **p = '\0';
        (*p)++;
    }
    return s;
}

static int
sc_parse_errno(struct sc_parse *st, char **p, uint32_t *act, struct mi_err *e)
{
    char *word = sc_next_word(p);
    char *end;
    long n;

    if (word == NULL) {
        return mi_err_set(e, 0, "%s:%d: 'errno' needs a number", st->path, st->line);
    }
    errno = 0;
    n = strtol(word, &end, 10);
    if (errno != 0 || end == word || *end != '\0' || n < 0 || n > SC_ERRNO_MAX) {
        return mi_err_set(e, 0, "%s:%d: bad errno '%s' (want 0 to %d)", st->path, st->line, word,
                          SC_ERRNO_MAX);
    }
    *act = SCMP_ACT_ERRNO((uint32_t)n);
    return 0;
}

/* The action named by word (and, for errno, the number after it in *p). */
static int
sc_parse_action(struct sc_parse *st, const char *word, char **p, uint32_t *act, struct mi_err *e)
{
    static const struct {
        const char *name;
        uint32_t act;
    } acts[] = {
            {"allow", SCMP_ACT_ALLOW},       {"deny", SCMP_ACT_ERRNO(EPERM)},
            {"kill", SCMP_ACT_KILL_PROCESS}, {"trap", SCMP_ACT_TRAP},
            {"log", SCMP_ACT_LOG},
    };

    if (strcmp(word, "errno") == 0) {
        return sc_parse_errno(st, p, act, e);
    }
    for (size_t i = 0; i < sizeof(acts) / sizeof(acts[0]); i++) {
        if (strcmp(word, acts[i].name) == 0) {
            *act = acts[i].act;
            return 0;
        }
    }
    return mi_err_set(e, 0, "%s:%d: unknown action '%s'", st->path, st->line, word);
}

static int
sc_parse_default(struct sc_parse *st, char **p, struct mi_err *e)
{
    char *word = sc_next_word(p);

    if (st->ctx != NULL) {
        return mi_err_set(e, 0, "%s:%d: 'default' must come before every other rule", st->path,
                          st->line);
    }
    if (word == NULL) {
        return mi_err_set(e, 0, "%s:%d: 'default' needs an action", st->path, st->line);
    }
    if (sc_parse_action(st, word, p, &st->def, e) < 0) {
        return -1;
    }
    word = sc_next_word(p);
    if (word != NULL) {
        return mi_err_set(e, 0, "%s:%d: unexpected '%s' after the default action", st->path,
                          st->line, word);
    }
    if (sc_new(st->def, &st->ctx, e) < 0) {
        return mi_err_wrap(e, "%s:%d", st->path, st->line);
    }
    return 0;
}

/* Records that nr gets act on this line; -1 if an earlier line gave it
 * another action. Linear: a FILE names a few hundred syscalls at most. */
static int
sc_note(struct sc_parse *st, int nr, uint32_t act, const char *name, struct mi_err *e)
{
    for (size_t i = 0; i < st->nseen; i++) {
        if (st->seen[i].nr != nr) {
            continue;
        }
        if (st->seen[i].act == act) {
            return 0;
        }
        return mi_err_set(e, 0, "%s:%d: syscall '%s' already has another action (line %d)",
                          st->path, st->line, name, st->seen[i].line);
    }
    if (st->nseen == st->cap) {
        size_t cap = st->cap ? 2 * st->cap : 64;
        struct sc_seen *seen = reallocarray(st->seen, cap, sizeof(*seen));

        if (seen == NULL) {
            return mi_err_sys(e, "%s:%d: unable to allocate", st->path, st->line);
        }
        st->seen = seen;
        st->cap = cap;
    }
    st->seen[st->nseen++] = (struct sc_seen){.nr = nr, .act = act, .line = st->line};
    return 0;
}

static int
sc_add_rule(struct sc_parse *st, uint32_t act, const char *name, struct mi_err *e)
{
    int nr = seccomp_syscall_resolve_name(name);
    int rc;

    /* A name libseccomp knows only on architectures this filter does not
     * cover resolves (to a negative pseudo number) and adds nothing. */
    if (nr == __NR_SCMP_ERROR) {
        return mi_err_set(e, 0, "%s:%d: unknown syscall '%s'", st->path, st->line, name);
    }
    if (sc_note(st, nr, act, name, e) < 0) {
        return -1;
    }
    if (act == st->def) {
        return 0; /* libseccomp refuses it (EACCES); it would change nothing */
    }
    rc = seccomp_rule_add(st->ctx, act, nr, 0);
    if (rc < 0) {
        return mi_err_set(e, -rc, "%s:%d: unable to add the rule for '%s'", st->path, st->line,
                          name);
    }
    return 0;
}

/* One line, comment already cut. */
static int
sc_parse_line(struct sc_parse *st, char *text, struct mi_err *e)
{
    char *p = text;
    char *word = sc_next_word(&p);
    const char *action;
    uint32_t act;
    int n = 0;

    if (word == NULL) {
        return 0;
    }
    if (strcmp(word, "default") == 0) {
        return sc_parse_default(st, &p, e);
    }
    action = word;
    if (sc_parse_action(st, word, &p, &act, e) < 0) {
        return -1;
    }
    if (st->ctx == NULL && sc_new(st->def, &st->ctx, e) < 0) {
        return mi_err_wrap(e, "%s:%d", st->path, st->line);
    }
    while ((word = sc_next_word(&p)) != NULL) {
        if (sc_add_rule(st, act, word, e) < 0) {
            return -1;
        }
        n++;
    }
    if (n == 0) {
        return mi_err_set(e, 0, "%s:%d: no syscall after '%s'", st->path, st->line, action);
    }
    return 0;
}

/* The whole of path, NUL-terminated, into a malloc'd *out. */
static int
sc_read_file(const char *path, char **out, struct mi_err *e)
{
    MI_CLEANUP_CLOSE int fd = sys_open(path, O_RDONLY, 0);
    SC_CLEANUP_FREE char *buf = NULL;
    size_t len = 0;
    ssize_t n;

    if (fd < 0) {
        return mi_err_sys(e, "unable to read %s", path);
    }
    buf = malloc(SC_FILE_MAX + 1);
    if (buf == NULL) {
        return mi_err_sys(e, "unable to read %s", path);
    }
    while ((n = sys_read(fd, buf + len, SC_FILE_MAX + 1 - len)) > 0) {
        len += (size_t)n;
        if (len > SC_FILE_MAX) {
            return mi_err_set(e, EFBIG, "unable to read %s (over %d bytes)", path, SC_FILE_MAX);
        }
    }
    if (n < 0) {
        return mi_err_sys(e, "unable to read %s", path);
    }
    if (memchr(buf, '\0', len) != NULL) {
        return mi_err_set(e, 0, "%s: not a text file (NUL byte)", path);
    }
    buf[len] = '\0';
    *out = buf;
    buf = NULL;
    return 0;
}

static int
sc_build_file(const char *path, struct ns_filter *f, struct mi_err *e)
{
    SC_CLEANUP_FREE char *text = NULL;
    struct sc_parse st = {.path = path, .def = SCMP_ACT_ALLOW};
    SC_CLEANUP_CTX scmp_filter_ctx ctx = NULL;
    char *line;
    char *next;
    int rc = 0;

    if (sc_read_file(path, &text, e) < 0) {
        return -1;
    }
    for (line = text; line != NULL && rc == 0; line = next) {
        char *hash;

        next = strchr(line, '\n');
        if (next != NULL) {
            *next++ = '\0';
        }
        hash = strchr(line, '#');
        if (hash != NULL) {
            *hash = '\0';
        }
        st.line++;
        rc = sc_parse_line(&st, line, e);
    }
    ctx = st.ctx; /* released on every return */
    free(st.seen);
    if (rc < 0) {
        return -1;
    }
    if (ctx == NULL && sc_new(st.def, &ctx, e) < 0) {
        return -1;
    }
    return sc_export(ctx, f, e);
}

/* ---- public --------------------------------------------------------- */

int
ns_seccomp_build(const char *spec, struct ns_filter *f, struct mi_err *e)
{
    f->insns = NULL;
    f->len = 0;
    if (strcmp(spec, "unconfined") == 0) {
        return 0;
    }
    if (strcmp(spec, "default") == 0) {
        return sc_build_default(f, e);
    }
    return sc_build_file(spec, f, e);
}

void
ns_filter_free(struct ns_filter *f)
{
    free(f->insns);
    f->insns = NULL;
    f->len = 0;
}
