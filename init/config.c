/* SPDX-License-Identifier: MIT */
/*
 * The config file (DESIGN.md "Config file"): minit's [minit] and
 * [service:NAME], and supervisord's files as they are. The only user of
 * inih. Files are read here (regular files of at most 1 MiB, CLOEXEC), then
 * parsed in two phases; every problem is logged as it is found, as
 * "config FILE:LINE: ...", and nothing is returned unless there is none.
 *
 *   1. (here) ini_parse_stream() on each file, [include] files included,
 *      collects raw sections: {kind, name, FILE:LINE, [key, value, line]}.
 *      Only the shape is checked: syntax, line length, known sections,
 *      duplicate sections and keys.
 *   2. (config_build.c) A static table of keys turns the sections into a
 *      struct sv_config: values are expanded (%(ENV_X)s ...), parsed
 *      strictly, users and groups resolved, numprocs instances made. Then
 *      sv_config_validate() checks across services.
 *
 * Phase 2 waits for the whole of phase 1 because %(group_name)s depends on
 * a [group:*] section that may come later, and numprocs makes one service
 * per process number, each with its own expansions.
 *
 * Special problem: line numbers. Debian's inih (r55) passes no line number
 * to the handler (INI_HANDLER_LINENO would change the prototype, and INI_*
 * macros are ABI, so it stays off). inih reads through our cfg_reader(),
 * which hands it exactly one line per call, so the line being handled is
 * always the one the reader returned last. The reader also enforces the
 * 199-byte limit (r55 would silently cut a longer line in two) and sorts
 * each line as inih will (blank or comment, continuation, section header,
 * key), which lets us (a) report every syntax error with its line, where
 * inih returns only the first, (b) keep section names whole (inih cuts them
 * at 49 bytes, shorter than "service:" and a 63-byte name), and (c) tell a
 * continuation (INI_ALLOW_MULTILINE: an indented line after a key calls the
 * handler again with that key) from a duplicate key. As in Python's
 * configparser, a line is a continuation only when indented deeper than
 * its key (else it is a key: indented_key()); it is appended to the value
 * after one space, once its inline " ;" comment is cut (r55 cuts inline
 * comments on key lines only). Inline comments are
 * inih's: ';' after whitespace; so "sh -c 'a ; b'" loses " ; b'": write
 * "a; b".
 */
#include "init/init.h"

#include <ctype.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <fnmatch.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include <ini.h>

#include "init/config.h"
#include "init/log.h"
#include "init/sys.h"
#include "supervisor/supervisor.h"

#define CFG_MAX_BYTES (1 << 20) /* a config larger than 1 MiB is a mistake */
#define CFG_MAX_DEPTH 8         /* files open at once: [include] nesting */
#define ARRAY_LEN(a)  (sizeof(a) / sizeof((a)[0]))

/* Sections by name: exact, or a prefix ending in ':' followed by NAME. */
static const struct {
    const char *head;
    enum cfg_kind kind;
} cfg_sections[] = {
        {"minit", CFG_MINIT},           {"supervisord", CFG_SUPERVISORD},
        {"service:", CFG_SERVICE},      {"program:", CFG_PROGRAM},
        {"include", CFG_INCLUDE},       {"group:", CFG_GROUP},
        {"container", CFG_CONTAINER},   {"unix_http_server", CFG_SKIP},
        {"inet_http_server", CFG_SKIP}, {"supervisorctl", CFG_SKIP},
        {"rpcinterface:", CFG_SKIP},    {"eventlistener:", CFG_SKIP},
        {"ctlplugin:", CFG_SKIP},
};

/* ---- messages and small helpers ---------------------------------------- */

__attribute__((format(printf, 5, 0))) static void
vreport(struct cfg_ctx *x, int level, int src, int line, const char *fmt, va_list ap)
{
    char msg[1024];

    vsnprintf(msg, sizeof(msg), fmt, ap);
    if (level == MI_LOG_ERROR) {
        x->nerr++;
    }
    if (line > 0) {
        mi_log(level, "config %s:%d: %s", x->srcs[src].path, line, msg);
    } else {
        mi_log(level, "config %s: %s", x->srcs[src].path, msg);
    }
}

void
init_cfg_error(struct cfg_ctx *x, int src, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(x, MI_LOG_ERROR, src, line, fmt, ap);
    va_end(ap);
}

void
init_cfg_warn(struct cfg_ctx *x, int src, int line, const char *fmt, ...)
{
    va_list ap;

    va_start(ap, fmt);
    vreport(x, MI_LOG_WARNING, src, line, fmt, ap);
    va_end(ap);
}

bool
init_cfg_supervisord_kind(enum cfg_kind kind)
{
    return kind != CFG_MINIT && kind != CFG_SERVICE;
}

bool
init_cfg_key_eq(enum cfg_kind kind, const char *a, const char *b)
{
    return (init_cfg_supervisord_kind(kind) ? strcasecmp(a, b) : strcmp(a, b)) == 0;
}

const struct cfg_kv *
init_cfg_kv_find(const struct cfg_sect *s, const char *key)
{
    for (int i = 0; i < s->nkv; i++) {
        if (init_cfg_key_eq(s->kind, s->kv[i].key, key)) {
            return &s->kv[i];
        }
    }
    return NULL;
}

static bool
is_space(char c)
{
    return isspace((unsigned char)c) != 0;
}

/* inih's find_chars_or_comment(): the offset of the first of chars, or of
 * an inline comment (a ';' after whitespace), or of the end of s. */
static size_t
find_sep(const char *s, const char *chars)
{
    bool was_space = false;
    size_t i = 0;

    while (s[i] != '\0' && strchr(chars, s[i]) == NULL && !(was_space && s[i] == ';')) {
        was_space = is_space(s[i++]);
    }
    return i;
}

static void
oom(struct cfg_ctx *x)
{
    init_cfg_error(x, x->src, x->line, "out of memory");
}

/* ---- sections and keys --------------------------------------------------- */

static int
section_kind(const char *head, enum cfg_kind *kind, const char **name)
{
    for (size_t i = 0; i < ARRAY_LEN(cfg_sections); i++) {
        const char *h = cfg_sections[i].head;
        size_t n = strlen(h);
        bool prefix = h[n - 1] == ':';

        if (prefix ? strncmp(head, h, n) == 0 : strcmp(head, h) == 0) {
            *kind = cfg_sections[i].kind;
            *name = prefix ? head + n : head;
            return 0;
        }
    }
    return -1;
}

static struct cfg_sect *
sect_new(struct cfg_ctx *x, enum cfg_kind kind, const char *head, const char *name)
{
    struct cfg_sect **v = realloc(x->sects, (size_t)(x->nsects + 1) * sizeof(*v));
    struct cfg_sect *s;

    if (v == NULL) {
        oom(x);
        return NULL;
    }
    x->sects = v;
    s = calloc(1, sizeof(*s));
    if (s == NULL || (s->head = strdup(head)) == NULL) {
        free(s);
        oom(x);
        return NULL;
    }
    s->kind = kind;
    s->name = s->head + (name - head);
    s->src = x->src;
    s->line = x->line;
    x->sects[x->nsects++] = s;
    return s;
}

/* The one warning of a section whose keys minit does not read. */
static void
section_warn(struct cfg_ctx *x, const struct cfg_sect *s)
{
    if (s->kind == CFG_GROUP) {
        init_cfg_warn(x, x->src, x->line,
                      "[%s] is not supported (its programs run as separate services); ignored",
                      s->head);
    } else if (s->kind == CFG_SKIP) {
        init_cfg_warn(x, x->src, x->line, "[%s] is not used by minit; ignored", s->head);
    }
}

static void
section_open(struct cfg_ctx *x, const char *head)
{
    enum cfg_kind kind;
    const char *name;
    struct cfg_sect *s;

    x->cur = NULL;
    x->cur_bad = true;
    if (section_kind(head, &kind, &name) < 0) {
        init_cfg_error(x, x->src, x->line, "unknown section [%s]", head);
        return;
    }
    if ((kind == CFG_SERVICE || kind == CFG_PROGRAM) && !init_cfg_name_ok(name)) {
        init_cfg_error(x, x->src, x->line,
                       "bad service name '%s' in [%s] (A-Z a-z 0-9 _ . -, at most 63 bytes, "
                       "starting with a letter or digit)",
                       name, head);
        return;
    }
    /* Each file may have its own [include]. */
    for (int i = 0; i < x->nsects; i++) {
        s = x->sects[i];
        if (strcmp(s->head, head) == 0 && (kind != CFG_INCLUDE || s->src == x->src)) {
            init_cfg_error(x, x->src, x->line, "duplicate section [%s] (first at %s:%d)", head,
                           x->srcs[s->src].path, s->line);
            return;
        }
    }
    if ((s = sect_new(x, kind, head, name)) == NULL) {
        return;
    }
    section_warn(x, s);
    x->cur = s;
    x->cur_bad = kind == CFG_SKIP;
}

/* A "[...]" line, found as inih does: the first ']' before any inline
 * comment (a ';' after whitespace); what follows the ']' is ignored. */
static void
section_line(struct cfg_ctx *x, const char *p)
{
    const char *q = p + 1 + find_sep(p + 1, "]");
    char head[INIT_CFG_LINE_MAX + 1];

    if (*q != ']') {
        /* inih keeps the previous section and prev_name: so do we, but
         * the keys that follow are not that section's. */
        init_cfg_error(x, x->src, x->line, "section header without ']'");
        x->syntax = true;
        x->cur_bad = true;
        x->last = -1;
        return;
    }
    for (p++; p < q && is_space(*p); p++) {
    }
    while (q > p && is_space(q[-1])) {
        q--;
    }
    memcpy(head, p, (size_t)(q - p));
    head[q - p] = '\0';
    x->have_key = false;
    x->last = -1;
    section_open(x, head);
}

static void
kv_add(struct cfg_ctx *x, struct cfg_sect *s, const char *key, const char *val)
{
    struct cfg_kv *kv;

    for (int i = 0; i < s->nkv; i++) {
        if (init_cfg_key_eq(s->kind, s->kv[i].key, key)) {
            init_cfg_error(x, x->src, x->line, "duplicate key '%s' in [%s] (first at line %d)", key,
                           s->head, s->kv[i].line);
            return;
        }
    }
    if (s->nkv == s->cap) {
        int cap = s->cap ? s->cap * 2 : 8;

        if ((kv = realloc(s->kv, (size_t)cap * sizeof(*kv))) == NULL) {
            oom(x);
            return;
        }
        s->kv = kv;
        s->cap = cap;
    }
    kv = &s->kv[s->nkv];
    kv->key = strdup(key);
    kv->val = strdup(val);
    kv->line = x->line;
    kv->comment = x->raw[find_sep(x->raw, "")] == ';';
    if (kv->key == NULL || kv->val == NULL) {
        free(kv->key);
        free(kv->val);
        oom(x);
        return;
    }
    x->last = s->nkv++;
}

/* An indented line after a key: " value" appended, inline comment cut. */
static void
cont_append(struct cfg_ctx *x, const char *value)
{
    size_t cut = find_sep(value, "");
    size_t n = cut;
    struct cfg_kv *kv;
    size_t len;
    char *p;

    while (n > 0 && is_space(value[n - 1])) {
        n--;
    }
    if (x->last < 0 || n == 0) {
        return;
    }
    kv = &x->cur->kv[x->last];
    kv->comment |= value[cut] == ';';
    len = strlen(kv->val);
    if ((p = realloc(kv->val, len + n + 2)) == NULL) {
        oom(x);
        return;
    }
    if (len > 0) {
        p[len++] = ' ';
    }
    memcpy(p + len, value, n);
    p[len + n] = '\0';
    kv->val = p;
}

/* ---- the reader and handler given to inih ------------------------------- */

/* Sorts a line as inih r55 will, so that we know what its handler calls
 * mean: blank or comment (';' or '#' first), continuation (indented, after
 * a key), section header, or key. */
static void
line_classify(struct cfg_ctx *x, const char *line)
{
    const char *p = line;

    while (is_space(*p)) {
        p++;
    }
    x->called = false;
    x->cont = false;
    x->indent = (int)(p - line);
    if (*p == '\0' || *p == ';' || *p == '#') {
        return;
    }
    if (p > line && x->have_key) {
        x->cont = true;
        x->want_call = true;
    } else if (*p == '[') {
        section_line(x, p);
    } else {
        x->want_call = true;
    }
}

/* inih calls the handler for a key line unless it has no '=' or ':'. */
static void
line_end(struct cfg_ctx *x)
{
    if (x->want_call && !x->called) {
        init_cfg_error(x, x->src, x->line, "expected 'key = value' or '[section]'");
        x->syntax = true;
    }
    x->want_call = false;
}

/* inih's ini_reader: one line per call, without its newline. */
static char *
cfg_reader(char *str, int num, void *stream)
{
    struct cfg_ctx *x = stream;
    size_t len = strcspn(x->pos, "\n");
    size_t max = num > INIT_CFG_LINE_MAX ? INIT_CFG_LINE_MAX : (size_t)num - 1;

    line_end(x);
    if (*x->pos == '\0' || num < 2) {
        return NULL;
    }
    x->line++;
    if (len > max) {
        init_cfg_error(x, x->src, x->line,
                       "line too long (max %zu bytes; continue a long value on indented lines)",
                       max);
        str[0] = '\0';
    } else {
        memcpy(str, x->pos, len);
        str[len] = '\0';
        memcpy(x->raw, str, len + 1);
        line_classify(x, str);
    }
    x->pos += len + (x->pos[len] == '\n');
    return str;
}

/* A key line, or an indented one that Python's configparser reads as a
 * key (see indented_key()). */
static void
key_line(struct cfg_ctx *x, const char *name, const char *value)
{
    x->last = -1;
    x->key_indent = x->indent;
    if (x->cur_bad) {
        return;
    }
    if (x->cur == NULL) {
        init_cfg_error(x, x->src, x->line, "key '%s' is outside any section", name);
    } else if (name[0] == '\0') {
        init_cfg_error(x, x->src, x->line, "no key before '='");
    } else {
        kv_add(x, x->cur, name, value);
    }
}

/* An indented line no deeper than the key before it. inih r55 calls it a
 * continuation of that key, but Python's configparser, and so supervisord,
 * reads it as a key of its own: files that indent every key run under
 * supervisord, so they must run here. line is inih's, trimmed. */
static void
indented_key(struct cfg_ctx *x, const char *line)
{
    char buf[INIT_CFG_LINE_MAX + 1];
    char *sep;
    char *name = buf;
    char *value;

    snprintf(buf, sizeof(buf), "%s", line);
    sep = buf + find_sep(buf, "=:");
    if (*sep != '=' && *sep != ':') {
        init_cfg_error(x, x->src, x->line, "expected 'key = value' or '[section]'");
        x->syntax = true;
        x->last = -1;
        return;
    }
    *sep = '\0';
    for (value = sep + 1; is_space(*value); value++) {
    }
    value[find_sep(value, "")] = '\0';
    for (char *end = value + strlen(value); end > value && is_space(end[-1]); end--) {
        end[-1] = '\0';
    }
    for (char *end = sep; end > name && is_space(end[-1]); end--) {
        end[-1] = '\0';
    }
    key_line(x, name, value);
}

static int
cfg_handler(void *user, const char *section, const char *name, const char *value)
{
    struct cfg_ctx *x = user;

    /* section is inih's copy, cut at 49 bytes: x->cur has all of it. */
    (void)section;
    x->called = true;
    if (x->cont && x->indent > x->key_indent) {
        cont_append(x, value);
    } else if (x->cont) {
        indented_key(x, value);
    } else {
        x->have_key = name[0] != '\0';
        key_line(x, name, value);
    }
    return 1;
}

/* ---- files and [include] -------------------------------------------------- */

/* Reads a regular file of at most CFG_MAX_BYTES, NUL-terminated. O_NONBLOCK
 * so that a FIFO cannot hang the open; it is then refused as not regular. */
static int
read_text(const char *path, char **out, struct mi_err *e)
{
    MI_CLEANUP_CLOSE int fd = sys_open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK, 0);
    struct stat st;
    size_t len = 0;
    ssize_t n = 0;
    char *buf;

    if (fd < 0 || fstat(fd, &st) < 0) {
        return mi_err_sys(e, "unable to open %s", path);
    }
    if (!S_ISREG(st.st_mode)) {
        return mi_err_set(e, 0, "unable to read %s: not a regular file", path);
    }
    if ((buf = malloc(CFG_MAX_BYTES + 2)) == NULL) {
        return mi_err_set(e, ENOMEM, "unable to read %s", path);
    }
    while (len <= CFG_MAX_BYTES && (n = sys_read(fd, buf + len, CFG_MAX_BYTES + 1 - len)) > 0) {
        len += (size_t)n;
    }
    if (n < 0 || len > CFG_MAX_BYTES || memchr(buf, '\0', len) != NULL) {
        if (n < 0) {
            mi_err_sys(e, "unable to read %s", path);
        } else {
            mi_err_set(e, 0, "unable to read %s: %s", path,
                       len > CFG_MAX_BYTES ? "larger than 1 MiB" : "it holds a NUL byte");
        }
        free(buf);
        return -1;
    }
    buf[len] = '\0';
    *out = buf;
    return 0;
}

/* The directory of path, absolute when it exists (supervisord's %(here)s
 * is os.path.abspath(os.path.dirname(file))). */
static char *
dir_of(const char *path)
{
    const char *slash = strrchr(path, '/');
    char *dir = slash == NULL   ? strdup(".")
                : slash == path ? strdup("/")
                                : strndup(path, (size_t)(slash - path));
    char *abs = dir != NULL ? realpath(dir, NULL) : NULL;

    if (abs != NULL) {
        free(dir);
        return abs;
    }
    return dir;
}

/* Adds a file; id (owned) is its realpath. Returns its index or -1. */
static int
src_add(struct cfg_ctx *x, const char *path, char *id, int parent)
{
    struct cfg_src *v = realloc(x->srcs, (size_t)(x->nsrcs + 1) * sizeof(*v));

    if (v == NULL) {
        free(id);
        return -1;
    }
    x->srcs = v;
    v += x->nsrcs;
    *v = (struct cfg_src){strdup(path), dir_of(path), id, parent, false};
    if (v->path == NULL || v->here == NULL || v->id == NULL) {
        free(v->path);
        free(v->here);
        free(v->id);
        return -1;
    }
    return x->nsrcs++;
}

static void parse_source(struct cfg_ctx *x, const char *text, int src);

/* "include loop: a.ini -> b.ini -> a.ini", from the files open. */
static void
include_loop(struct cfg_ctx *x, int from, int line, int target)
{
    int chain[CFG_MAX_DEPTH + 1];
    int n = 0;
    char buf[1024];
    size_t len = 0;

    for (int i = from; i >= 0 && n < CFG_MAX_DEPTH + 1; i = x->srcs[i].parent) {
        chain[n++] = i;
        if (i == target) {
            break;
        }
    }
    while (n-- > 0 && len < sizeof(buf)) {
        int r = snprintf(buf + len, sizeof(buf) - len, "%s -> ", x->srcs[chain[n]].path);

        len += r > 0 ? (size_t)r : 0;
    }
    if (len < sizeof(buf)) {
        snprintf(buf + len, sizeof(buf) - len, "%s", x->srcs[target].path);
    }
    init_cfg_error(x, from, line, "include loop: %s", buf);
}

static int
open_depth(const struct cfg_ctx *x)
{
    int n = 0;

    for (int i = 0; i < x->nsrcs; i++) {
        n += x->srcs[i].open;
    }
    return n;
}

static void
include_file(struct cfg_ctx *x, int from, int line, const char *path)
{
    char *id = realpath(path, NULL);
    struct mi_err e = {0};
    char *text;
    int n;

    if (id == NULL && (id = strdup(path)) == NULL) {
        oom(x);
        return;
    }
    for (int i = 0; i < x->nsrcs; i++) {
        if (strcmp(x->srcs[i].id, id) != 0) {
            continue;
        }
        if (x->srcs[i].open) {
            include_loop(x, from, line, i);
        } else {
            init_cfg_warn(x, from, line, "%s is already included; skipped", path);
        }
        free(id);
        return;
    }
    if (open_depth(x) >= CFG_MAX_DEPTH || read_text(path, &text, &e) < 0) {
        if (!e.set) {
            mi_err_set(&e, 0, "includes nested more than %d deep at %s", CFG_MAX_DEPTH, path);
        }
        init_cfg_error(x, from, line, "%s%s%s", e.msg, e.errnum ? ": " : "",
                       e.errnum ? strerror(e.errnum) : "");
        free(id);
        return;
    }
    if ((n = src_add(x, path, id, from)) < 0) {
        oom(x);
    } else {
        parse_source(x, text, n);
    }
    free(text);
}

static int
cmp_names(const void *a, const void *b)
{
    return strcmp(*(char *const *)a, *(char *const *)b);
}

/* Matches the last component of full against its directory, sorted as
 * glob(3) sorts. Not glob(3) itself: its ~ expansion pulls in NSS, which
 * a static minit cannot use; wildcards are allowed in the file name only,
 * which is how supervisord's conf.d includes are written. */
static int
match_dir(const char *full, char ***names, size_t *n)
{
    char dir[PATH_MAX];
    const char *slash = strrchr(full, '/');
    const char *base = slash + 1;
    DIR *d;
    struct dirent *de;
    size_t cap = 0;

    memcpy(dir, full, (size_t)(slash - full));
    dir[slash == full ? 1 : slash - full] = '\0';
    if (strpbrk(dir, "*?[") != NULL || (d = opendir(dir)) == NULL) {
        return -1;
    }
    while ((de = readdir(d)) != NULL) {
        char *path;

        if (fnmatch(base, de->d_name, FNM_PERIOD) != 0) {
            continue;
        }
        if (*n == cap) {
            char **nn = realloc(*names, sizeof(char *) * (cap = cap ? cap * 2 : 8));

            if (nn == NULL) {
                break;
            }
            *names = nn;
        }
        if (asprintf(&path, "%s/%s", slash == full ? "" : dir, de->d_name) < 0) {
            break;
        }
        (*names)[(*n)++] = path;
    }
    closedir(d);
    if (*n > 1) {
        qsort(*names, *n, sizeof(char *), cmp_names);
    }
    return 0;
}

/* One pattern of files=, relative to the including file's directory. */
static void
include_glob(struct cfg_ctx *x, int src, int line, const char *pattern)
{
    char full[PATH_MAX];
    char **names = NULL;
    size_t n = 0;
    int r;

    r = pattern[0] == '/' ? snprintf(full, sizeof(full), "%s", pattern)
                          : snprintf(full, sizeof(full), "%s/%s", x->srcs[src].here, pattern);
    if (r < 0 || (size_t)r >= sizeof(full)) {
        init_cfg_error(x, src, line, "include pattern too long: %s", pattern);
        return;
    }
    if (strpbrk(full, "*?[") == NULL) {
        if (access(full, F_OK) < 0) {
            init_cfg_warn(x, src, line, "no file matches %s", full);
        } else {
            include_file(x, src, line, full);
        }
        return;
    }
    if (match_dir(full, &names, &n) < 0) {
        init_cfg_error(x, src, line,
                       "unable to expand %s (wildcards are allowed in the file name only)", full);
        return;
    }
    if (n == 0) {
        init_cfg_warn(x, src, line, "no file matches %s", full);
    }
    for (size_t i = 0; i < n; i++) {
        include_file(x, src, line, names[i]);
        free(names[i]);
    }
    free(names);
}

/* [include] files = PATTERN... (space-separated globs, expanded first). */
static void
include_section(struct cfg_ctx *x, const struct cfg_sect *s)
{
    struct cfg_vars vars = {x->srcs[s->src].here, NULL, NULL, x->host, -1, -1};
    const struct cfg_kv *files = init_cfg_kv_find(s, "files");
    struct mi_err e = {0};
    char pattern[PATH_MAX];
    char *val;

    for (int i = 0; i < s->nkv; i++) {
        if (&s->kv[i] != files) {
            init_cfg_warn(x, s->src, s->kv[i].line, "unknown key '%s' in [include]; ignored",
                          s->kv[i].key);
        }
    }
    if (files == NULL) {
        init_cfg_error(x, s->src, s->line, "[include] has no files key");
        return;
    }
    if ((val = init_cfg_expand(&vars, files->val, &e)) == NULL) {
        init_cfg_error(x, s->src, files->line, "key 'files' in [include]: %s", e.msg);
        return;
    }
    for (const char *p = val + strspn(val, " \t"); *p != '\0'; p += strspn(p, " \t")) {
        size_t n = strcspn(p, " \t");

        snprintf(pattern, sizeof(pattern), "%.*s", (int)n, p);
        include_glob(x, s->src, files->line, pattern);
        p += n;
    }
    free(val);
}

/* Reads one file into raw sections, then the files it includes (after
 * it, as supervisord does). */
static void
parse_source(struct cfg_ctx *x, const char *text, int src)
{
    int r;

    /* inih skips a UTF-8 BOM too; doing it here keeps line 1 ordinary. */
    if (strncmp(text, "\xEF\xBB\xBF", 3) == 0) {
        text += 3;
    }
    x->pos = text;
    x->src = src;
    x->line = 0;
    x->want_call = x->cont = x->have_key = x->syntax = x->cur_bad = false;
    x->indent = x->key_indent = 0;
    x->cur = NULL;
    x->last = -1;
    x->srcs[src].open = true;
    r = ini_parse_stream(cfg_reader, x, cfg_handler, x);
    line_end(x);
    /* Our handler never fails, and line_end() reports syntax errors:
     * this only catches inih disagreeing with line_classify(). */
    if (r != 0 && !x->syntax) {
        init_cfg_error(x, src, r > 0 ? r : 0, "syntax error");
    }
    for (int i = 0; i < x->nsects; i++) {
        if (x->sects[i]->kind == CFG_INCLUDE && x->sects[i]->src == src) {
            include_section(x, x->sects[i]);
        }
    }
    x->srcs[src].open = false;
}

/* ---- entry points ------------------------------------------------------------ */

static void
ctx_free(struct cfg_ctx *x)
{
    for (int i = 0; i < x->nsrcs; i++) {
        free(x->srcs[i].path);
        free(x->srcs[i].here);
        free(x->srcs[i].id);
    }
    free(x->srcs);
    for (int i = 0; i < x->nsects; i++) {
        for (int j = 0; j < x->sects[i]->nkv; j++) {
            free(x->sects[i]->kv[j].key);
            free(x->sects[i]->kv[j].val);
        }
        free(x->sects[i]->kv);
        free(x->sects[i]->head);
        free(x->sects[i]);
    }
    free(x->sects);
    init_cfg_strv_free(x->genv);
    sv_config_free(x->cfg);
}

static int
ctx_init(struct cfg_ctx *x, const char *path, struct mi_err *e)
{
    struct utsname u;
    char *id = realpath(path, NULL);

    if (uname(&u) == 0) {
        snprintf(x->host, sizeof(x->host), "%s", u.nodename);
    }
    if (id == NULL) {
        id = strdup(path);
    }
    if ((x->cfg = calloc(1, sizeof(*x->cfg))) != NULL) {
        x->cfg->log_level = -1;
        x->cfg->path = strdup(path);
    }
    if (id == NULL || x->cfg == NULL || x->cfg->path == NULL) {
        free(id);
        return mi_err_set(e, ENOMEM, "unable to load config %s", path);
    }
    if (src_add(x, path, id, -1) < 0) {
        return mi_err_set(e, ENOMEM, "unable to load config %s", path);
    }
    return 0;
}

struct sv_config *
init_config_parse_string(const char *text, const char *path, struct mi_err *e)
{
    struct cfg_ctx x = {0};
    struct sv_config *cfg = NULL;
    struct mi_err ve = {0};

    if (ctx_init(&x, path, e) < 0) {
        ctx_free(&x);
        return NULL;
    }
    parse_source(&x, text, 0);
    init_cfg_build(&x);
    if (x.nerr == 0 && sv_config_validate(x.cfg, &ve) < 0) {
        mi_log(MI_LOG_ERROR, "config %s", ve.msg);
        x.nerr++;
    }
    if (x.nerr == 0) {
        cfg = x.cfg;
        x.cfg = NULL;
    } else {
        mi_err_set(e, 0, "%d error%s in %s", x.nerr, x.nerr == 1 ? "" : "s", path);
    }
    ctx_free(&x);
    return cfg;
}

struct sv_config *
init_config_load(const char *path, struct mi_err *e)
{
    struct sv_config *cfg;
    char *text;

    if (read_text(path, &text, e) < 0) {
        mi_err_wrap(e, "config");
        return NULL;
    }
    cfg = init_config_parse_string(text, path, e);
    free(text);
    return cfg;
}
