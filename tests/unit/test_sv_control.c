/* SPDX-License-Identifier: MIT */
/*
 * Unit tests: the control socket server (supervisor/control.c) and the
 * `minit ctl` client (init/ctl.c), against the fake supervisor of
 * tests/fakes/fake_sv.c. The server runs on libev's default loop in this
 * process; each client runs in a forked child while the test drives the
 * loop until the child has exited and its output is read. Nothing sleeps:
 * the few deadlines are libev timers, shortened through the server's test
 * seam.
 */
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <ev.h>

#include "init/init.h"
#include "init/log.h"
#include "supervisor/control.h"
#include "tests/tap.h"

/* tests/fakes/fake_sv.c */
void fake_sv_reset(void);
int fake_sv_add(const char *name, const char *state, pid_t pid, const char *command);
void fake_sv_set_ready(const char *name, bool ready, bool failed);
void fake_sv_set_broken(const char *name, bool broken);
void fake_sv_set_stats(const char *name, bool want_up, uint64_t uptime_ms, unsigned restarts,
                       int last_status);
const char *fake_sv_calls(void);
unsigned fake_sv_ready_calls(void);
unsigned fake_sv_status_calls(void);

/* supervisor/control.c's test seam */
void sv_control_test_limits(double idle_s, size_t out_cap);
int sv_control_test_nconns(void);

/* The first line of s, for test messages. */
#define LINE1(s) line1_len(s), line1_str(s)

#define WEIRD_COMMAND "/bin/echo \"quoted\" back\\slash\ttab \x01 caf\xc3\xa9 100%"

static struct ev_loop *loop;
static char dir[64];
static char sock[100];
static int reloads;
static int shutdowns;
static bool reload_fails;
static bool shutdown_closes; /* the hook closes the server, as init may */

/* ---- hooks --------------------------------------------------------- */

static int
hook_reload(void *data, struct mi_err *e)
{
    (void)data;
    reloads++;
    if (reload_fails) {
        return mi_err_set(e, 0, "config /etc/minit.ini:3: unknown key 'restrat'");
    }
    return 0;
}

static void
hook_shutdown(void *data)
{
    (void)data;
    shutdowns++;
    if (shutdown_closes) {
        sv_control_close();
    }
}

static const struct sv_control_hooks hooks = {hook_reload, hook_shutdown, NULL};

static int
line1_len(const char *s)
{
    return s != NULL ? (int)strcspn(s, "\n") : 0;
}

static const char *
line1_str(const char *s)
{
    return s != NULL ? s : "";
}

static void
setup_fake(void)
{
    fake_sv_reset();
    fake_sv_add("web", "running", 123, "/usr/sbin/nginx -g 'daemon off;'");
    fake_sv_set_stats("web", true, 3723000, 2, 0);
    fake_sv_add("db", "starting", 456, "postgres -D /var/lib/pg");
    fake_sv_add("cron", "stopped", 0, "crond -f");
    fake_sv_set_stats("cron", false, 0, 0, 137);
    fake_sv_add("weird", "running", 789, WEIRD_COMMAND);
    fake_sv_add("latin", "running", 790, "bad\xff byte");
}

/* ---- running a client in a child ----------------------------------- */

struct run {
    int status; /* exit status; -1 if it did not exit */
    char *out;
    size_t outlen;
    char *err;
    size_t errlen;
};

typedef int child_fn(void *arg);
typedef void tick_fn(void *arg);

struct runner {
    ev_child child;
    ev_io io[2];
    ev_timer guard;
    ev_prepare prep;
    struct run *r;
    tick_fn *tick;
    void *tickarg;
    int live;
};

static void
runner_child_cb(struct ev_loop *l, ev_child *w, int revents)
{
    struct runner *rn = w->data;

    (void)revents;
    ev_child_stop(l, w);
    if (WIFEXITED(w->rstatus)) {
        rn->r->status = WEXITSTATUS(w->rstatus);
    } else {
        rn->r->status = 128 + WTERMSIG(w->rstatus);
    }
    rn->live--;
}

static void
runner_io_cb(struct ev_loop *l, ev_io *w, int revents)
{
    struct runner *rn = w->data;
    bool is_out = w == &rn->io[0];
    char **buf = is_out ? &rn->r->out : &rn->r->err;
    size_t *len = is_out ? &rn->r->outlen : &rn->r->errlen;
    char chunk[65536];
    ssize_t n = read(w->fd, chunk, sizeof(chunk));

    (void)revents;
    if (n < 0 && (errno == EAGAIN || errno == EINTR)) {
        return;
    }
    if (n <= 0) {
        ev_io_stop(l, w);
        close(w->fd);
        rn->live--;
        return;
    }
    *buf = realloc(*buf, *len + (size_t)n + 1);
    memcpy(*buf + *len, chunk, (size_t)n);
    *len += (size_t)n;
    (*buf)[*len] = '\0';
}

static void
runner_guard_cb(struct ev_loop *l, ev_timer *w, int revents)
{
    struct runner *rn = w->data;

    (void)l;
    (void)revents;
    printf("# the child did not finish in time: killing it\n");
    kill(rn->child.pid, SIGKILL);
}

static void
runner_prep_cb(struct ev_loop *l, ev_prepare *w, int revents)
{
    struct runner *rn = w->data;

    (void)l;
    (void)revents;
    rn->tick(rn->tickarg);
}

static void
run_free(struct run *r)
{
    free(r->out);
    free(r->err);
    memset(r, 0, sizeof(*r));
}

/* Runs fn(arg) in a child with its stdout and stderr captured, driving
 * the loop (and calling tick before each wait) until it is done. */
static void
run_child(struct run *r, child_fn *fn, void *arg, tick_fn *tick, void *tickarg)
{
    struct runner rn = {.r = r, .tick = tick, .tickarg = tickarg, .live = 3};
    int outp[2];
    int errp[2];
    pid_t pid;

    run_free(r);
    r->status = -1;
    r->out = calloc(1, 1);
    r->err = calloc(1, 1);
    if (pipe2(outp, O_CLOEXEC) < 0 || pipe2(errp, O_CLOEXEC) < 0) {
        perror("pipe2");
        exit(99);
    }
    fflush(stdout);
    fflush(stderr);
    pid = fork();
    if (pid == 0) {
        int rc;

        dup2(outp[1], 1);
        dup2(errp[1], 2);
        rc = fn(arg);
        fflush(stdout);
        fflush(stderr);
        _exit(rc);
    }
    close(outp[1]);
    close(errp[1]);
    fcntl(outp[0], F_SETFL, O_NONBLOCK);
    fcntl(errp[0], F_SETFL, O_NONBLOCK);
    ev_child_init(&rn.child, runner_child_cb, pid, 0);
    ev_io_init(&rn.io[0], runner_io_cb, outp[0], EV_READ);
    ev_io_init(&rn.io[1], runner_io_cb, errp[0], EV_READ);
    ev_timer_init(&rn.guard, runner_guard_cb, 20., 0.);
    ev_prepare_init(&rn.prep, runner_prep_cb);
    rn.child.data = rn.io[0].data = rn.io[1].data = rn.guard.data = rn.prep.data = &rn;
    ev_child_start(loop, &rn.child);
    ev_io_start(loop, &rn.io[0]);
    ev_io_start(loop, &rn.io[1]);
    ev_timer_start(loop, &rn.guard);
    if (tick != NULL) {
        ev_prepare_start(loop, &rn.prep);
    }
    while (rn.live > 0) {
        ev_run(loop, EVRUN_ONCE);
    }
    ev_timer_stop(loop, &rn.guard);
    ev_prepare_stop(loop, &rn.prep);
}

struct ctl_args {
    const char *argv[300];
    int argc;
    const char *env_socket; /* MINIT_SOCKET; NULL: unset */
    bool nobody;            /* run as uid/gid 65534 */
};

static int
ctl_child(void *arg)
{
    struct ctl_args *a = arg;

    if (a->env_socket != NULL) {
        setenv("MINIT_SOCKET", a->env_socket, 1);
    } else {
        unsetenv("MINIT_SOCKET");
    }
    if (a->nobody && (setgroups(0, NULL) < 0 || setgid(65534) < 0 || setuid(65534) < 0)) {
        printf("setuid: %s\n", strerror(errno));
        return 77;
    }
    return init_ctl_main(a->argc, (char **)a->argv);
}

/* Runs `minit ctl -S SOCK ARGS...` (args end with NULL). */
static void
ctl_run(struct run *r, tick_fn *tick, void *tickarg, const char *const *args)
{
    struct ctl_args a = {.argv = {"ctl", "-S", sock}, .argc = 3};

    for (int i = 0; args[i] != NULL && a.argc < 298; i++) {
        a.argv[a.argc++] = args[i];
    }
    run_child(r, ctl_child, &a, tick, tickarg);
}

#define CTL(r, ...)            ctl_run((r), NULL, NULL, (const char *const[]){__VA_ARGS__, NULL})
#define CTL_TICK(r, t, a, ...) ctl_run((r), (t), (a), (const char *const[]){__VA_ARGS__, NULL})

/* ---- raw clients, for what `minit ctl` would never send ------------- */

struct raw_args {
    const char *req; /* NULL: send nothing */
    size_t len;
    bool bytewise; /* one send per byte */
    int go_fd;     /* >= 0: wait for a byte on it before reading */
    bool summary;  /* print "bytes=N last=LINE" instead of the reply */
    bool no_read;  /* send, then exit without reading */
};

static int
raw_connect(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    if (fd < 0 || connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
        printf("connect: %s\n", strerror(errno));
        return -1;
    }
    return fd;
}

static void
raw_print(const char *buf, size_t len, bool summary)
{
    const char *last;
    size_t end = len;

    if (!summary) {
        fwrite(buf, 1, len, stdout);
        return;
    }
    if (end > 0 && buf[end - 1] == '\n') {
        end--;
    }
    last = buf + end;
    while (last > buf && last[-1] != '\n') {
        last--;
    }
    printf("bytes=%zu last=%.*s\n", len, (int)(buf + end - last < 40 ? buf + end - last : 40),
           last);
}

static int
raw_child(void *arg)
{
    struct raw_args *a = arg;
    size_t len = 0;
    size_t size = 1 << 16;
    char *buf = malloc(size);
    char go;
    ssize_t n;
    int fd = raw_connect();

    if (fd < 0) {
        return 3;
    }
    for (size_t off = 0; a->req != NULL && off < a->len;) {
        size_t chunk = a->bytewise ? 1 : a->len - off;

        n = send(fd, a->req + off, chunk, MSG_NOSIGNAL);
        if (n <= 0) {
            break;
        }
        off += (size_t)n;
    }
    if (a->no_read) {
        return 0;
    }
    if (a->go_fd >= 0 && read(a->go_fd, &go, 1) != 1) {
        return 4;
    }
    while ((n = read(fd, buf + len, size - len)) > 0) {
        len += (size_t)n;
        if (len == size) {
            size *= 2;
            buf = realloc(buf, size);
        }
    }
    raw_print(buf, len, a->summary);
    free(buf);
    return 0;
}

static void
raw(struct run *r, const char *req)
{
    struct raw_args a = {.req = req, .len = req ? strlen(req) : 0, .go_fd = -1};

    run_child(r, raw_child, &a, NULL, NULL);
}

/* Drives the loop until the server has n connections (bounded). */
static bool
drive_until_nconns(int n)
{
    for (int i = 0; i < 2000 && sv_control_test_nconns() != n; i++) {
        ev_run(loop, EVRUN_ONCE);
    }
    return sv_control_test_nconns() == n;
}

/* ---- helpers on the output ----------------------------------------- */

/* Copies the line of text that starts with prefix into buf. */
static const char *
find_line(const char *text, const char *prefix, char *buf, size_t size)
{
    size_t plen = strlen(prefix);

    for (const char *p = text; p != NULL && *p != '\0';) {
        const char *nl = strchr(p, '\n');
        size_t n = nl ? (size_t)(nl - p) : strlen(p);

        if (n >= plen && strncmp(p, prefix, plen) == 0) {
            snprintf(buf, size, "%.*s", (int)n, p);
            return buf;
        }
        p = nl ? nl + 1 : NULL;
    }
    return NULL;
}

static int
count_lines(const char *s)
{
    int n = 0;

    for (; *s != '\0'; s++) {
        n += *s == '\n';
    }
    return n;
}

/* Splits a table row on runs of spaces. */
static int
split_words(char *line, char **w, int max)
{
    int n = 0;
    char *save = NULL;

    for (char *t = strtok_r(line, " ", &save); t && n < max; t = strtok_r(NULL, " ", &save)) {
        w[n++] = t;
    }
    return n;
}

/* ---- a minimal JSON reader ----------------------------------------- */

static const char *j_value(const char *p, int depth);

static const char *
j_ws(const char *p)
{
    while (*p == ' ' || *p == '\n' || *p == '\t' || *p == '\r') {
        p++;
    }
    return p;
}

static void
j_put(char *out, size_t size, size_t *n, unsigned cp)
{
    unsigned char b[4];
    int k = 0;

    if (cp < 0x80) {
        b[k++] = (unsigned char)cp;
    } else if (cp < 0x800) {
        b[k++] = (unsigned char)(0xc0 | cp >> 6);
        b[k++] = (unsigned char)(0x80 | (cp & 0x3f));
    } else {
        b[k++] = (unsigned char)(0xe0 | cp >> 12);
        b[k++] = (unsigned char)(0x80 | ((cp >> 6) & 0x3f));
        b[k++] = (unsigned char)(0x80 | (cp & 0x3f));
    }
    for (int i = 0; i < k; i++) {
        if (out != NULL && *n + 1 < size) {
            out[(*n)++] = (char)b[i];
        }
    }
}

/* A string at p (decoded into out when not NULL); the end, or NULL. */
static const char *
j_string(const char *p, char *out, size_t size)
{
    static const char from[] = "\"\\/bfnrt";
    static const char to[] = "\"\\/\b\f\n\r\t";
    size_t n = 0;

    if (*p++ != '"') {
        return NULL;
    }
    while (*p != '"') {
        unsigned cp = (unsigned char)*p;
        const char *e;

        if (cp < 0x20) {
            return NULL;
        }
        if (cp != '\\') {
            if (out != NULL && n + 1 < size) {
                out[n++] = *p; /* UTF-8 bytes pass as they are */
            }
            p++;
            continue;
        }
        p++;
        if (*p == 'u') {
            char hex[5] = {0};

            memcpy(hex, p + 1, 4);
            if (strlen(hex) != 4 || strspn(hex, "0123456789abcdefABCDEF") != 4) {
                return NULL;
            }
            j_put(out, size, &n, (unsigned)strtoul(hex, NULL, 16));
            p += 5;
            continue;
        }
        e = *p ? strchr(from, *p) : NULL;
        if (e == NULL) {
            return NULL;
        }
        j_put(out, size, &n, (unsigned char)to[e - from]);
        p++;
    }
    if (out != NULL) {
        out[n] = '\0';
    }
    return p + 1;
}

static const char *
j_number(const char *p)
{
    const char *start;

    if (*p == '-') {
        p++;
    }
    start = p;
    while (*p >= '0' && *p <= '9') {
        p++;
    }
    return p == start ? NULL : p;
}

/* An object or array at p, whose opening character is open. */
static const char *
j_container(const char *p, char close, int depth)
{
    p = j_ws(p + 1);
    if (*p == close) {
        return p + 1;
    }
    for (;;) {
        if (close == '}') {
            p = j_string(j_ws(p), NULL, 0);
            p = p ? j_ws(p) : NULL;
            if (p == NULL || *p++ != ':') {
                return NULL;
            }
        }
        p = j_value(p, depth + 1);
        if (p == NULL) {
            return NULL;
        }
        p = j_ws(p);
        if (*p == close) {
            return p + 1;
        }
        if (*p++ != ',') {
            return NULL;
        }
    }
}

static const char *
j_value(const char *p, int depth)
{
    p = j_ws(p);
    if (depth > 16) {
        return NULL;
    }
    switch (*p) {
    case '{':
        return j_container(p, '}', depth);
    case '[':
        return j_container(p, ']', depth);
    case '"':
        return j_string(p, NULL, 0);
    case 't':
        return strncmp(p, "true", 4) == 0 ? p + 4 : NULL;
    case 'f':
        return strncmp(p, "false", 5) == 0 ? p + 5 : NULL;
    case 'n':
        return strncmp(p, "null", 4) == 0 ? p + 4 : NULL;
    default:
        return j_number(p);
    }
}

static bool
json_valid(const char *s)
{
    const char *p = j_value(s, 0);

    return p != NULL && *j_ws(p) == '\0';
}

/* The value of key in the service object named name: a decoded string,
 * or the raw token of a number or null. */
static const char *
json_field(const char *doc, const char *name, const char *key, char *out, size_t size)
{
    char pat[128];
    const char *p;

    snprintf(pat, sizeof(pat), "{\"name\":\"%s\"", name);
    p = strstr(doc, pat);
    snprintf(pat, sizeof(pat), "\"%s\":", key);
    p = p ? strstr(p, pat) : NULL;
    if (p == NULL) {
        return NULL;
    }
    p += strlen(pat);
    if (*p == '"') {
        return j_string(p, out, size) ? out : NULL;
    }
    snprintf(out, size, "%.*s", (int)strcspn(p, ",}"), p);
    return out;
}

/* ---- tests --------------------------------------------------------- */

static void
make_socket_file(const char *path, bool listening, int *keep)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);

    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
    if (fd < 0 || bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 ||
        (listening && listen(fd, 1) < 0)) {
        perror("make_socket_file");
        exit(99);
    }
    if (keep != NULL) {
        *keep = fd;
    } else {
        close(fd);
    }
}

static void
test_open_close(void)
{
    struct mi_err e = {0};
    struct stat st;
    char live[160];
    char file[160];
    int live_fd;

    make_socket_file(sock, false, NULL); /* left by a minit that died */
    CHECK_INT(sv_control_open(loop, sock, &hooks, &e), 0, "open replaces a stale socket: %s",
              e.msg);
    TAP_OK(stat(sock, &st) == 0 && S_ISSOCK(st.st_mode), "the socket file exists");
    CHECK_INT(st.st_mode & 07777, 0600, "the socket's mode is 0600");
    CHECK_INT(sv_control_open(loop, sock, &hooks, &e), -1, "a second open is refused");
    sv_control_close();
    TAP_OK(stat(sock, &st) < 0 && errno == ENOENT, "close removes the socket file");

    snprintf(live, sizeof(live), "%s/live.sock", dir);
    make_socket_file(live, true, &live_fd);
    mi_err_clear(&e);
    CHECK_INT(sv_control_open(loop, live, &hooks, &e), -1, "open refuses a live socket");
    CHECK_CONTAINS(e.msg, "another minit is listening on", "and says why: %s", e.msg);
    TAP_OK(stat(live, &st) == 0, "the live socket is left alone");
    close(live_fd);
    unlink(live);

    snprintf(file, sizeof(file), "%s/file.sock", dir);
    close(open(file, O_CREAT | O_WRONLY | O_CLOEXEC, 0644));
    mi_err_clear(&e);
    CHECK_INT(sv_control_open(loop, file, &hooks, &e), -1, "open refuses a non-socket file");
    CHECK_CONTAINS(e.msg, "is not a socket", "and says why: %s", e.msg);
    TAP_OK(stat(file, &st) == 0, "the file is left alone");
    unlink(file);

    mi_err_clear(&e);
    CHECK_INT(sv_control_open(loop, sock, &hooks, &e), 0, "open again: %s", e.msg);
}

static void
check_table_row(const char *out, const char *prefix, const char *const *want, int nwant)
{
    char line[1024];
    char *w[16];
    int n;

    if (find_line(out, prefix, line, sizeof(line)) == NULL) {
        TAP_OK(0, "status has a row for '%s'", prefix);
        return;
    }
    n = split_words(line, w, 16);
    TAP_OK(n >= nwant, "row '%s' has %d columns at least", prefix, nwant);
    for (int i = 0; i < nwant && i < n; i++) {
        CHECK_STR(w[i], want[i], "row '%s' column %d", prefix, i + 1);
    }
}

static void
test_status_table(void)
{
    static const char *const web[] = {"web", "running",         "123", "1h02m",   "2",    "0", "-",
                                      "-",   "/usr/sbin/nginx", "-g",  "'daemon", "off;'"};
    static const char *const cron[] = {"cron", "stopped", "-", "-",     "0",
                                       "137",  "-",       "-", "crond", "-f"};
    struct run r = {0};
    char line[1024];

    setup_fake();
    CTL(&r, "status");
    CHECK_INT(r.status, 0, "status exits 0");
    CHECK_STR(find_line(r.out, "NAME", line, sizeof(line)),
              "NAME  STATE    PID UPTIME RESTARTS LAST-EXIT MEM CPU COMMAND", "status header");
    check_table_row(r.out, "web ", web, 12);
    check_table_row(r.out, "cron ", cron, 10);
    TAP_OK(find_line(r.out, "weird ", line, sizeof(line)) && !strchr(line, '\t') &&
                   !strchr(line, '\x01'),
           "control bytes of a command are not printed raw: %s", line);
    CHECK_INT(count_lines(r.out), 6, "a header and 5 rows");
    CHECK_STR(r.err, "", "nothing on stderr");

    CTL(&r, "status", "db");
    CHECK_INT(r.status, 0, "status db exits 0");
    CHECK_INT(count_lines(r.out), 2, "status db: header and one row");
    TAP_OK(find_line(r.out, "db ", line, sizeof(line)) != NULL, "status db shows db");

    CTL(&r, "status", "web", "nosuch");
    CHECK_INT(r.status, 1, "status of an unknown service exits 1");
    CHECK_STR(r.err, "minit ctl: no such service 'nosuch'\n", "and says which");
    CHECK_STR(r.out, "", "and prints no table");
    run_free(&r);
}

static void
test_status_json(void)
{
    struct run r = {0};
    char v[512];

    setup_fake();
    CTL(&r, "status", "--json");
    CHECK_INT(r.status, 0, "status --json exits 0");
    TAP_OK(json_valid(r.out), "status --json prints valid JSON");
    TAP_OK(strncmp(r.out, "{\"services\":[{", 14) == 0, "one object with a services array");
    CHECK_INT(count_lines(r.out), 1, "on one line");
    CHECK_STR(json_field(r.out, "web", "state", v, sizeof(v)), "running", "web state");
    CHECK_STR(json_field(r.out, "web", "want", v, sizeof(v)), "up", "web want");
    CHECK_STR(json_field(r.out, "web", "pid", v, sizeof(v)), "123", "web pid");
    CHECK_STR(json_field(r.out, "web", "uptime_ms", v, sizeof(v)), "3723000", "web uptime_ms");
    CHECK_STR(json_field(r.out, "web", "restarts", v, sizeof(v)), "2", "web restarts");
    CHECK_STR(json_field(r.out, "web", "last_exit", v, sizeof(v)), "0", "web last_exit");
    CHECK_STR(json_field(r.out, "web", "command", v, sizeof(v)), "/usr/sbin/nginx -g 'daemon off;'",
              "web command");
    CHECK_STR(json_field(r.out, "cron", "pid", v, sizeof(v)), "null", "cron pid is null");
    CHECK_STR(json_field(r.out, "cron", "want", v, sizeof(v)), "down", "cron want");
    CHECK_STR(json_field(r.out, "cron", "last_exit", v, sizeof(v)), "137", "cron last_exit");
    CHECK_STR(json_field(r.out, "db", "last_exit", v, sizeof(v)), "null", "db last_exit null");
    CHECK_STR(json_field(r.out, "weird", "command", v, sizeof(v)), WEIRD_COMMAND,
              "quotes, backslashes, tabs, control bytes and UTF-8 survive the trip");
    CHECK_STR(json_field(r.out, "latin", "command", v, sizeof(v)), "bad\xef\xbf\xbd byte",
              "a byte that is not UTF-8 becomes U+FFFD");

    CTL(&r, "status", "--json", "cron");
    CHECK_INT(r.status, 0, "status --json cron exits 0");
    TAP_OK(json_valid(r.out) && strstr(r.out, "\"web\"") == NULL &&
                   strstr(r.out, "\"cron\"") != NULL,
           "status --json cron lists cron only");
    run_free(&r);
}

static void
test_actions(void)
{
    struct run r = {0};

    setup_fake();
    CTL(&r, "start", "web");
    CHECK_INT(r.status, 0, "start web exits 0");
    CHECK_STR(fake_sv_calls(), "start web\n", "start web reaches the supervisor");
    CTL(&r, "stop", "web", "db");
    CHECK_INT(r.status, 0, "stop web db exits 0");
    CTL(&r, "restart", "cron");
    CHECK_INT(r.status, 0, "restart cron exits 0");
    CTL(&r, "signal", "HUP", "web");
    CHECK_INT(r.status, 0, "signal HUP web exits 0");
    CTL(&r, "signal", "SIGUSR1", "web", "db");
    CHECK_INT(r.status, 0, "signal SIGUSR1 web db exits 0");
    CTL(&r, "signal", "RTMIN+2", "db");
    CHECK_INT(r.status, 0, "signal RTMIN+2 db exits 0");
    CTL(&r, "signal", "9", "db");
    CHECK_INT(r.status, 0, "signal 9 db exits 0");
    CHECK_STR(fake_sv_calls(),
              "start web\nstop web\nstop db\nrestart cron\nsignal 1 web\nsignal 10 web\n"
              "signal 10 db\nsignal 34 db\nsignal 9 db\n",
              "every action reaches the supervisor with its arguments");
    CHECK_STR(r.out, "", "actions print nothing on stdout");
    CHECK_STR(r.err, "", "nor on stderr");

    setup_fake();
    CTL(&r, "start", "nosuch");
    CHECK_INT(r.status, 1, "start of an unknown service exits 1");
    CHECK_STR(r.err, "minit ctl: no such service 'nosuch'\n", "and says which");
    CTL(&r, "stop", "web", "nosuch");
    CHECK_INT(r.status, 1, "stop web nosuch exits 1");
    CHECK_STR(fake_sv_calls(), "", "and stops nothing, not even web");

    fake_sv_set_broken("db", true);
    fake_sv_set_broken("cron", true);
    CTL(&r, "start", "db", "web", "cron");
    CHECK_INT(r.status, 1, "a request where two services fail exits 1");
    CHECK_STR(r.err,
              "minit ctl: unable to start service 'db': Operation not permitted\n"
              "minit ctl: unable to start service 'cron': Operation not permitted\n",
              "each failure is reported once");
    CHECK_STR(fake_sv_calls(), "start web\n", "the others are still acted on");
    run_free(&r);
}

static void
test_usage(void)
{
    static const char *const cases[][5] = {
            {NULL},
            {"bogus", NULL},
            {"start", NULL},
            {"signal", NULL},
            {"signal", "HUP", NULL},
            {"signal", "NOPE", "web", NULL},
            {"signal", "0", "web", NULL},
            {"reload", "web", NULL},
            {"shutdown", "now", NULL},
            {"status", "--bogus", NULL},
            {"start", "--json", "web", NULL},
            {"wait-ready", NULL},
            {"wait-ready", "web", "--timeout", NULL},
            {"wait-ready", "web", "--timeout", "soon", NULL},
            {"wait-ready", "--timeout=5s", NULL},
            {"start", "bad name", NULL},
            {"start", "-web", NULL},
            {"-x", "status", NULL},
    };
    struct ctl_args a = {.argv = {"ctl", "-S"}, .argc = 2};
    struct run r = {0};

    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        const char *const *c = cases[i];

        ctl_run(&r, NULL, NULL, c);
        CHECK_INT(r.status, 2, "usage error %zu (%s %s %s) exits 2", i, c[0] ? c[0] : "",
                  c[0] && c[1] ? c[1] : "", c[0] && c[1] && c[2] ? c[2] : "");
        TAP_OK(strncmp(r.err, "minit ctl: ", 11) == 0 && count_lines(r.err) == 1,
               "one line naming the problem: %.*s", LINE1(r.err));
    }
    run_child(&r, ctl_child, &a, NULL, NULL);
    CHECK_INT(r.status, 2, "-S without a path exits 2");

    a.argv[1] = "--help";
    run_child(&r, ctl_child, &a, NULL, NULL);
    CHECK_INT(r.status, 0, "--help exits 0");
    CHECK_CONTAINS(r.out, "Usage: minit ctl [-S SOCKET] COMMAND", "--help prints the usage");
    CHECK_CONTAINS(r.out, "MINIT_SOCKET", "the usage documents MINIT_SOCKET");

    a.argc = 0;
    a.argv[a.argc++] = "ctl";
    a.argv[a.argc++] = "start";
    for (int i = 0; i < 260; i++) {
        a.argv[a.argc++] = "web";
    }
    run_child(&r, ctl_child, &a, NULL, NULL);
    CHECK_INT(r.status, 2, "260 services in one request exits 2");
    CHECK_CONTAINS(r.err, "too many services", "and says so: %.*s", LINE1(r.err));
    run_free(&r);
}

static void
test_unreachable(void)
{
    struct ctl_args a = {.argv = {"ctl", "status"}, .argc = 2};
    struct run r = {0};
    char nope[160];
    char stale[160];

    snprintf(nope, sizeof(nope), "%s/nope.sock", dir);
    a.env_socket = nope;
    run_child(&r, ctl_child, &a, NULL, NULL);
    CHECK_INT(r.status, 3, "no socket: exit 3");
    CHECK_CONTAINS(r.err, nope, "names the socket: %.*s", LINE1(r.err));
    CHECK_CONTAINS(r.err, "No such file or directory", "and why");

    snprintf(stale, sizeof(stale), "%s/stale.sock", dir);
    make_socket_file(stale, false, NULL);
    a.env_socket = stale;
    run_child(&r, ctl_child, &a, NULL, NULL);
    CHECK_INT(r.status, 3, "nobody listening: exit 3");
    CHECK_CONTAINS(r.err, "Connection refused", "and why: %.*s", LINE1(r.err));
    unlink(stale);

    setup_fake();
    a.env_socket = sock;
    run_child(&r, ctl_child, &a, NULL, NULL);
    CHECK_INT(r.status, 0, "MINIT_SOCKET names the socket when -S is not given");

    a.argv[1] = "-S";
    a.argv[2] = nope;
    a.argv[3] = "status";
    a.argc = 4;
    run_child(&r, ctl_child, &a, NULL, NULL);
    CHECK_INT(r.status, 3, "-S wins over MINIT_SOCKET");
    run_free(&r);
}

static void
test_freezer_and_hooks(void)
{
    struct run r = {0};

    setup_fake();
    CTL(&r, "pause");
    CHECK_INT(r.status, 1, "pause exits 1");
    CHECK_STR(r.err, "minit ctl: pause is not available: no cgroup hierarchy is in use\n",
              "pause without cgroups says why");
    CTL(&r, "resume", "web");
    CHECK_INT(r.status, 1, "resume web exits 1");
    CHECK_CONTAINS(r.err, "resume is not available", "resume without cgroups says why");
    CHECK_STR(fake_sv_calls(), "", "and nothing was done to any service");

    CTL(&r, "reload");
    CHECK_INT(r.status, 0, "reload exits 0");
    CHECK_INT(reloads, 1, "reload calls the reload hook");
    reload_fails = true;
    CTL(&r, "reload");
    reload_fails = false;
    CHECK_INT(r.status, 1, "a failed reload exits 1");
    CHECK_STR(r.err, "minit ctl: config /etc/minit.ini:3: unknown key 'restrat'\n",
              "with the hook's message");
    CTL(&r, "shutdown");
    CHECK_INT(r.status, 0, "shutdown exits 0");
    CHECK_INT(shutdowns, 1, "shutdown calls the shutdown hook");
    run_free(&r);
}

enum flip_mode {
    FLIP_READY,
    FLIP_FAILED
};

struct flip {
    const char *name;
    enum flip_mode mode;
    bool done;
    bool early; /* the wait ended before the service was ready */
};

/* Once the server waits, reports changes that settle nothing, then flips. */
static void
flip_tick(void *arg)
{
    struct flip *f = arg;

    if (f->done || fake_sv_ready_calls() == 0 || sv_control_test_nconns() != 1) {
        return;
    }
    f->done = true;
    sv_control_state_changed("web");
    sv_control_state_changed(f->name);
    f->early = sv_control_test_nconns() != 1;
    fake_sv_set_ready(f->name, f->mode == FLIP_READY, f->mode == FLIP_FAILED);
    sv_control_state_changed(f->name);
}

static void
test_wait_ready(void)
{
    struct flip f = {"db", FLIP_READY, false, false};
    struct raw_args ra = {.req = "wait-ready 60000 db\n", .go_fd = -1, .no_read = true};
    struct run r = {0};

    setup_fake();
    CTL(&r, "wait-ready", "web", "weird");
    CHECK_INT(r.status, 0, "wait-ready on ready services exits 0 at once");

    CTL_TICK(&r, flip_tick, &f, "wait-ready", "web", "db", "--timeout", "10s");
    TAP_OK(f.done && !f.early, "the wait lasted until db was ready");
    CHECK_INT(r.status, 0, "wait-ready exits 0 once db is ready");
    CHECK_STR(r.err, "", "nothing on stderr");

    setup_fake();
    f = (struct flip){"db", FLIP_FAILED, false, false};
    CTL_TICK(&r, flip_tick, &f, "wait-ready", "db", "--timeout=10s");
    CHECK_INT(r.status, 1, "wait-ready exits 1 when db fails");
    CHECK_STR(r.err, "minit ctl: service db will not become ready (state starting, want up)\n",
              "and says so");

    setup_fake();
    CTL(&r, "wait-ready", "db", "web", "cron", "--timeout", "200ms");
    CHECK_INT(r.status, 1, "wait-ready times out with exit 1");
    CHECK_STR(r.err, "minit ctl: not ready after 200ms: db cron\n",
              "and names the services that are not ready");

    CTL(&r, "wait-ready", "nosuch");
    CHECK_INT(r.status, 1, "wait-ready on an unknown service exits 1");
    CHECK_CONTAINS(r.err, "no such service 'nosuch'", "and says which");

    ra.len = strlen(ra.req);
    run_child(&r, raw_child, &ra, NULL, NULL);
    TAP_OK(drive_until_nconns(0), "a client that gives up on a wait is dropped");
    run_free(&r);
}

static void
test_peer_uid(void)
{
    struct ctl_args a = {.argv = {"ctl", "-S", sock, "status"}, .argc = 4, .nobody = true};
    struct run r = {0};

    if (geteuid() != 0) {
        printf("ok %d # SKIP another uid needs root\n", ++tap_n);
        return;
    }
    setup_fake();
    chmod(dir, 0711);
    run_child(&r, ctl_child, &a, NULL, NULL);
    if (r.status == 77) {
        printf("ok %d # SKIP cannot switch to uid 65534: %s", ++tap_n, r.out);
        chmod(dir, 0700);
        run_free(&r);
        return;
    }
    CHECK_INT(r.status, 3, "uid 65534 cannot connect to the 0600 socket");
    CHECK_CONTAINS(r.err, "Permission denied", "the kernel says so: %.*s", LINE1(r.err));

    chmod(sock, 0666);
    run_child(&r, ctl_child, &a, NULL, NULL);
    CHECK_INT(r.status, 1, "with the mode opened up, SO_PEERCRED still refuses uid 65534");
    CHECK_CONTAINS(r.err, "permission denied: uid 65534 may not use the control socket",
                   "and says so: %.*s", LINE1(r.err));
    chmod(sock, 0600);
    chmod(dir, 0700);
    CTL(&r, "status", "web");
    CHECK_INT(r.status, 0, "root still gets an answer");
    run_free(&r);
}

static void
test_malformed(void)
{
    static const struct {
        const char *req;
        const char *want;
    } cases[] = {
            {"\n", "error: empty request\n"},
            {"   \n", "error: empty request\n"},
            {"%zz\n", "error: malformed request: bad % escape\n"},
            {"status web%\n", "error: malformed request: bad % escape\n"},
            {"status %00\n", "error: malformed request: NUL byte\n"},
            {"status\tweb\n", "error: malformed request: byte 0x09\n"},
            {"bogus\n", "error: unknown command 'bogus'\n"},
            {"start\n", "error: usage: start NAME...\n"},
            {"reload now\n", "error: usage: reload\n"},
            {"signal 99 web\n", "error: '99' is not a signal number (1 to 64)\n"},
            {"signal TERM web\n", "error: 'TERM' is not a signal number (1 to 64)\n"},
            {"wait-ready soon web\n", "error: 'soon' is not a timeout in milliseconds\n"},
            {"start %6eosuch\n", "error: no such service 'nosuch'\n"},
            {"status % web\n", "error: no such service ''\n"},
            {"start %0A\n", "error: no such service ' '\n"},
    };
    struct raw_args ra = {.req = "status web\n", .bytewise = true, .go_fd = -1};
    struct run r = {0};

    setup_fake();
    for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
        raw(&r, cases[i].req);
        CHECK_STR(r.out, cases[i].want, "malformed request %zu gets an error", i);
    }
    ra.len = strlen(ra.req);
    run_child(&r, raw_child, &ra, NULL, NULL);
    CHECK_STR(r.out,
              "service web running up 123 3723000 2 0 /usr/sbin/nginx%20-g%20'daemon%20off;'\nok\n",
              "a request sent byte by byte is answered");
    raw(&r, "status weird\n");
    CHECK_STR(r.out,
              "service weird running up 789 0 0 - "
              "/bin/echo%20\"quoted\"%20back\\slash%09tab%20%01%20caf%C3%A9%20100%25\nok\n",
              "reply words are percent-encoded");
    CHECK_STR(fake_sv_calls(), "", "no malformed request did anything");
    run_free(&r);
}

static void
test_limits(void)
{
    char big[5000];
    char words[2048];
    struct run r = {0};
    size_t n = 0;

    setup_fake();
    memset(big, 'a', sizeof(big) - 1);
    big[sizeof(big) - 1] = '\0';
    raw(&r, big);
    CHECK_CONTAINS(r.out, "error: request too long\n", "an oversized request gets an error");
    n = (size_t)snprintf(words, sizeof(words), "status");
    for (int i = 0; i < 256; i++) {
        n += (size_t)snprintf(words + n, sizeof(words) - n, " web");
    }
    snprintf(words + n, sizeof(words) - n, "\n");
    raw(&r, words);
    CHECK_STR(r.out, "error: request too long\n", "257 words get an error");
    CTL(&r, "status", "web");
    CHECK_INT(r.status, 0, "the server survives and answers the next client");

    sv_control_test_limits(0.2, 1u << 20);
    raw(&r, NULL);
    CHECK_STR(r.out, "error: no request within 0.2s\n", "a silent client is told and dropped");
    TAP_OK(drive_until_nconns(0), "no connection is left");
    sv_control_test_limits(5.0, 1u << 20);
    run_free(&r);
}

static void
test_too_many(void)
{
    struct sockaddr_un sa = {.sun_family = AF_UNIX};
    int fds[64];
    struct run r = {0};
    int n = 0;

    setup_fake();
    snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", sock);
    for (int i = 0; i < 64; i++) {
        fds[i] = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
        n += connect(fds[i], (struct sockaddr *)&sa, sizeof(sa)) == 0;
    }
    CHECK_INT(n, 64, "64 clients connect");
    TAP_OK(drive_until_nconns(64), "the server holds 64 connections");
    CTL(&r, "status", "web");
    CHECK_INT(r.status, 1, "the 65th is refused with exit 1");
    CHECK_STR(r.err, "minit ctl: too many connections\n", "and told why");
    for (int i = 0; i < 64; i++) {
        close(fds[i]);
    }
    TAP_OK(drive_until_nconns(0), "clients that leave without a request are dropped");
    CTL(&r, "status", "web");
    CHECK_INT(r.status, 0, "then the server answers again");
    run_free(&r);
}

struct gate {
    int fd; /* the child waits for a byte on the other end */
    bool sent;
};

/* Lets the child read once the server has listed every service and let
 * the connection go. */
static void
gate_tick(void *arg)
{
    struct gate *g = arg;

    if (!g->sent && fake_sv_status_calls() > 0 && sv_control_test_nconns() == 0) {
        g->sent = write(g->fd, "g", 1) == 1;
    }
}

static void
big_table(int n)
{
    char name[32];
    char cmd[300];

    fake_sv_reset();
    memset(cmd, 'x', sizeof(cmd) - 1);
    cmd[sizeof(cmd) - 1] = '\0';
    for (int i = 0; i < n; i++) {
        snprintf(name, sizeof(name), "svc%d", i);
        fake_sv_add(name, "running", 1000 + i, cmd);
    }
}

/* A client that sends "status" and does not read. */
static void
run_non_reader(struct run *r)
{
    struct raw_args ra = {.req = "status\n", .summary = true};
    int go[2];
    struct gate g;

    if (pipe2(go, O_CLOEXEC) < 0) {
        perror("pipe2");
        exit(99);
    }
    ra.len = strlen(ra.req);
    ra.go_fd = go[0];
    g = (struct gate){go[1], false};
    run_child(r, raw_child, &ra, gate_tick, &g);
    close(go[0]);
    close(go[1]);
}

static void
test_slow_readers(void)
{
    struct run r = {0};

    /* 4000 lines of 300+ bytes: more than the socket takes plus 64 KiB. */
    big_table(4000);
    sv_control_test_limits(5.0, 64 * 1024);
    run_non_reader(&r);
    CHECK_INT(r.status, 0, "the non-reading client ran");
    TAP_OK(strstr(r.out, "bytes=") && !strstr(r.out, "last=ok"),
           "a reply past the cap is cut off and the client dropped: %.*s", LINE1(r.out));
    CTL(&r, "status", "svc1");
    CHECK_INT(r.status, 0, "minit still answers");

    /* 2000 lines fit in the cap, but nobody reads them. */
    big_table(2000);
    sv_control_test_limits(0.2, 1u << 20);
    run_non_reader(&r);
    TAP_OK(strstr(r.out, "bytes=") && !strstr(r.out, "last=ok"),
           "a reply that makes no progress is dropped after the idle time: %.*s", LINE1(r.out));
    sv_control_test_limits(5.0, 1u << 20);
    CTL(&r, "status", "--json");
    CHECK_INT(r.status, 0, "a big status is answered to a client that reads");
    TAP_OK(json_valid(r.out) && strstr(r.out, "\"svc1999\""), "all of it, as valid JSON");
    run_free(&r);
}

static void
test_close(void)
{
    struct run r = {0};
    struct stat st;

    shutdown_closes = true;
    CTL(&r, "shutdown");
    CHECK_INT(r.status, 0, "shutdown is answered even when the hook closes the server");
    CHECK_INT(shutdowns, 2, "the hook ran");
    TAP_OK(stat(sock, &st) < 0 && errno == ENOENT, "close removes the socket");
    CTL(&r, "status");
    CHECK_INT(r.status, 3, "after close, minit is not reachable");
    sv_control_state_changed("web"); /* harmless when closed */
    sv_control_close();              /* and so is a second close */
    TAP_OK(1, "state_changed and close after close are harmless");
    run_free(&r);
}

int
main(void)
{
    struct mi_err e = {0};

    /* The server logs refused and dropped clients: keep it quiet here. */
    mi_log_level = MI_LOG_ERROR;
    snprintf(dir, sizeof(dir), "/tmp/minit-ctl-XXXXXX");
    if (mkdtemp(dir) == NULL) {
        perror("mkdtemp");
        return 99;
    }
    snprintf(sock, sizeof(sock), "%s/minit.sock", dir);
    loop = ev_default_loop(0);
    test_open_close();
    test_status_table();
    test_status_json();
    test_actions();
    test_usage();
    test_unreachable();
    test_freezer_and_hooks();
    test_wait_ready();
    test_peer_uid();
    test_malformed();
    test_limits();
    test_too_many();
    test_slow_readers();
    test_close();
    (void)e;
    rmdir(dir);
    return done_testing();
}
