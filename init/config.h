/* SPDX-License-Identifier: MIT */
/*
 * init/'s private interface of the config loader, split by concept:
 *   config.c        files, inih, sections, [include] (phase 1), entry points
 *   config_build.c  raw sections into struct sv_config (phase 2)
 *   config_keys.c   the key table and its value parsers
 *   config_value.c  value syntax: shell words, environment, %(...)s expansions
 * Only config.c includes <ini.h>. Nothing outside init/config*.c and the
 * unit tests includes this header.
 */
#ifndef MINIT_INIT_CONFIG_H
#define MINIT_INIT_CONFIG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/utsname.h>

#include "init/err.h"
#include "supervisor/supervisor.h"

#define INIT_CFG_LINE_MAX 199 /* inih's INI_MAX_LINE (200) less the NUL */

enum cfg_kind {
    CFG_MINIT = 0,   /* [minit] */
    CFG_SUPERVISORD, /* [supervisord], mapped onto [minit] */
    CFG_SERVICE,     /* [service:NAME] */
    CFG_PROGRAM,     /* [program:NAME] */
    CFG_INCLUDE,     /* [include] files = GLOB... */
    CFG_GROUP,       /* [group:NAME]: read for %(group_name)s only */
    CFG_CONTAINER,   /* [container]: job 3's options */
    CFG_SKIP,        /* a section minit does not need: keys ignored */
};

/* One key of a section, as written (continuation lines appended). */
struct cfg_kv {
    char *key;
    char *val;
    int line;
    bool comment; /* an inline " ;" comment was cut from it: said on errors */
};

/* One section, raw. */
struct cfg_sect {
    enum cfg_kind kind;
    char *head;       /* between the brackets: "program:web" */
    const char *name; /* after the ':' (service, program, group), else head */
    int src;          /* index in cfg_ctx.srcs */
    int line;
    struct cfg_kv *kv;
    int nkv;
    int cap;
};

/* A file read (or the top string). */
struct cfg_src {
    char *path; /* as named: in messages */
    char *here; /* its directory, absolute when it exists: %(here)s, includes */
    char *id;   /* realpath: finds loops and files read twice */
    int parent; /* the file that included it, -1 for the top */
    bool open;  /* being read: including it again is a loop */
};

/* One load. Phase 1 fills srcs and sects; phase 2 fills cfg. */
struct cfg_ctx {
    struct cfg_src *srcs;
    int nsrcs;
    struct cfg_sect **sects;
    int nsects;
    int nerr; /* errors logged so far */
    /* Phase 1: the reader's view of the file inih is reading. */
    const char *pos; /* next line */
    int src;
    int line;
    bool want_call;                  /* inih will call the handler for this line */
    bool called;                     /* ... and did */
    bool cont;                       /* this line continues the previous value */
    bool have_key;                   /* inih's prev_name is set: indented lines continue it */
    int indent;                      /* leading blanks of this line */
    int key_indent;                  /* ... of the line of the last key */
    bool syntax;                     /* a syntax error was reported in this file */
    struct cfg_sect *cur;            /* NULL before the first section */
    bool cur_bad;                    /* the section is bad or skipped: ignore its keys */
    int last;                        /* the key of cur a continuation extends, -1 none */
    char raw[INIT_CFG_LINE_MAX + 1]; /* this line as read (inih edits its copy) */
    /* Phase 2. */
    struct sv_config *cfg;
    int cap_services;
    char **genv; /* [supervisord] environment, given to every service */
    char host[sizeof(((struct utsname *)0)->nodename)];
};

/* What %(NAME)s may name in a section. */
struct cfg_vars {
    const char *here;
    const char *program_name; /* NULL outside services */
    const char *group_name;   /* NULL outside services */
    const char *host;
    long process_num; /* -1: not available */
    long numprocs;    /* -1: not available */
};

/* A NULL-terminated vector of owned strings under construction; oom
 * records a failed allocation, reported once by init_cfg_strv_take(). */
struct cfg_strv {
    char **v;
    int n;
    int cap;
    bool oom;
};

/* ---- config.c ---- */

/* Logs "config FILE:LINE: ..." at error level (counted in x->nerr) or at
 * warning level; line 0 leaves the line out. */
void init_cfg_error(struct cfg_ctx *x, int src, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));
void init_cfg_warn(struct cfg_ctx *x, int src, int line, const char *fmt, ...)
        __attribute__((format(printf, 4, 5)));

/* supervisord's sections ([program:*], [supervisord], [include], ...)
 * take keys in any case, as Python's configparser lower-cases them, and
 * only warn about unknown keys; minit's own sections are exact and strict. */
bool init_cfg_supervisord_kind(enum cfg_kind kind);
bool init_cfg_key_eq(enum cfg_kind kind, const char *a, const char *b);
const struct cfg_kv *init_cfg_kv_find(const struct cfg_sect *s, const char *key);

/* One section (one numprocs instance) being built in phase 2. */
struct cfg_build {
    struct cfg_ctx *x;
    const struct cfg_sect *s;
    const struct cfg_kv *kv; /* the key being applied */
    struct sv_conf *c;       /* NULL in [minit] and [supervisord] */
    struct cfg_vars vars;
    const struct cfg_kv *user; /* where user= and group= are */
    const struct cfg_kv *group;
    bool quiet; /* a later numprocs instance: warnings were given once */
};

/* ---- config_build.c ---- */

/* Phase 2: every [minit] and [supervisord] section into x->cfg, then every
 * [service:*] and [program:*] into services. Logs each problem. */
void init_cfg_build(struct cfg_ctx *x);

/* ---- config_keys.c ---- */

/* Looks kv up in the key table for b's section kind, expands its value
 * and parses it into the field at base (struct sv_conf for services,
 * struct sv_config for [minit] and [supervisord]). Unknown keys are errors
 * in minit's sections and warnings in supervisord's (not repeated when
 * b->quiet). Logs each problem. */
void init_cfg_apply(struct cfg_build *b, const struct cfg_kv *kv, void *base);

/* Logs "config FILE:LINE: key 'K' in [SECTION]: <e>" as an error. */
void init_cfg_key_error(struct cfg_build *b, const struct cfg_kv *kv, const struct mi_err *e);

/* ---- config_value.c (pure: strings in, strings out) ---- */

/* [A-Za-z0-9][A-Za-z0-9_.-]{0,62}: a service name becomes a cgroup dir. */
bool init_cfg_name_ok(const char *s);

/* Splits s like a shell's words, without a shell: '...' literal, "..."
 * with backslash escaping only " \ $ `, a backslash outside quotes escaping
 * any character. Returns a NULL-terminated vector (free with
 * init_cfg_strv_free), or NULL with *e: unterminated quote, trailing
 * backslash, no word at all ("empty command"), out of memory. */
char **init_cfg_split_words(const char *s, struct mi_err *e);

/* supervisord's environment syntax, K="v",K2=v2,K3='v' (quoted values may
 * hold commas; bare ones are trimmed and end at a comma) into "K=v"
 * strings; a later K replaces an earlier one. An empty string gives an
 * empty vector (NULL with *e unset). NULL with *e on error. */
char **init_cfg_environment(const char *s, struct mi_err *e);

/* supervisord's expansions: %(NAME)s with NAME one of ENV_X (an error if X
 * is unset), here, program_name, group_name, host_node_name, process_num,
 * numprocs; Python's %(NAME)[-0][WIDTH](s|d|i) format; %% for %. A lone %
 * is an error. Returns a new string, or NULL with *e. */
char *init_cfg_expand(const struct cfg_vars *v, const char *s, struct mi_err *e);

/* String vectors: push takes s (NULL records out of memory); take hands
 * the vector (NULL when empty) to *out and resets v, or fails with *e when
 * an allocation failed; free takes NULL. */
void init_cfg_strv_push(struct cfg_strv *v, char *s);
int init_cfg_strv_take(struct cfg_strv *v, char ***out, struct mi_err *e);
void init_cfg_strv_free(char **v);

#endif
