/* SPDX-License-Identifier: MIT */
/*
 * The syntax of config values (see config.h): shell words, supervisord's
 * environment lists and %(NAME)s expansions, service names. Pure: strings
 * in, strings out, no I/O but getenv(); errors go back in struct mi_err.
 */
#include "init/config.h"

#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* A growing string; oom records a failed allocation. */
struct sbuf {
    char *p;
    size_t len;
    size_t cap;
    bool oom;
};

static void
sb_putn(struct sbuf *b, const char *s, size_t n)
{
    char *p;

    if (b->oom) {
        return;
    }
    if (b->len + n + 1 > b->cap) {
        size_t cap = (b->len + n + 1) * 2;

        p = realloc(b->p, cap);
        if (p == NULL) {
            b->oom = true;
            return;
        }
        b->p = p;
        b->cap = cap;
    }
    memcpy(b->p + b->len, s, n);
    b->len += n;
    b->p[b->len] = '\0';
}

static void
sb_putc(struct sbuf *b, char c)
{
    sb_putn(b, &c, 1);
}

/* The string built (an empty one when nothing was put), or NULL when
 * memory ran out. */
static char *
sb_take(struct sbuf *b)
{
    char *p = b->p;

    if (b->oom) {
        free(p);
        p = NULL;
    } else if (p == NULL) {
        p = strdup("");
    }
    *b = (struct sbuf){0};
    return p;
}

void
init_cfg_strv_free(char **v)
{
    for (char **p = v; p != NULL && *p != NULL; p++) {
        free(*p);
    }
    free(v);
}

/* Appends s (owned; NULL means memory ran out). */
void
init_cfg_strv_push(struct cfg_strv *v, char *s)
{
    char **p;

    if (s == NULL || v->oom) {
        v->oom = true;
        free(s);
        return;
    }
    if (v->n + 2 > v->cap) {
        int cap = v->cap ? v->cap * 2 : 8;

        p = realloc(v->v, (size_t)cap * sizeof(char *));
        if (p == NULL) {
            v->oom = true;
            free(s);
            return;
        }
        v->v = p;
        v->cap = cap;
    }
    v->v[v->n++] = s;
    v->v[v->n] = NULL;
}

/* The vector (NULL when empty), or -1 when memory ran out. */
int
init_cfg_strv_take(struct cfg_strv *v, char ***out, struct mi_err *e)
{
    if (v->oom) {
        init_cfg_strv_free(v->v);
        *v = (struct cfg_strv){0};
        return mi_err_set(e, ENOMEM, "unable to store the value");
    }
    *out = v->v;
    *v = (struct cfg_strv){0};
    return 0;
}

static bool
is_space(char c)
{
    return isspace((unsigned char)c) != 0;
}

bool
init_cfg_name_ok(const char *s)
{
    size_t n = strlen(s);

    if (n == 0 || n > SV_NAME_MAX || strchr("_.-", s[0]) != NULL) {
        return false;
    }
    return strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-") == n;
}

/* Inside "...": a backslash escapes only " \ $ ` (POSIX sh). Returns the
 * character after the closing quote, or NULL. */
static const char *
word_dquote(const char *s, struct sbuf *w, struct mi_err *e)
{
    for (; *s != '"'; s++) {
        if (*s == '\0') {
            mi_err_set(e, 0, "unterminated \" quote");
            return NULL;
        }
        if (*s == '\\' && s[1] != '\0' && strchr("\"\\$`", s[1]) != NULL) {
            s++;
        }
        sb_putc(w, *s);
    }
    return s + 1;
}

/* One shell word from *sp into w: 1 when a word was read, 0 at the end,
 * -1 on error. Quotes may join parts ("a"'b'c is one word). */
static int
word_next(const char **sp, struct sbuf *w, struct mi_err *e)
{
    const char *s = *sp;
    const char *q;

    while (is_space(*s)) {
        s++;
    }
    if (*s == '\0') {
        return 0;
    }
    while (*s != '\0' && !is_space(*s)) {
        if (*s == '\'') {
            q = strchr(s + 1, '\'');
            if (q == NULL) {
                return mi_err_set(e, 0, "unterminated ' quote");
            }
            sb_putn(w, s + 1, (size_t)(q - s - 1));
            s = q + 1;
        } else if (*s == '"') {
            if ((s = word_dquote(s + 1, w, e)) == NULL) {
                return -1;
            }
        } else if (*s == '\\') {
            if (s[1] == '\0') {
                return mi_err_set(e, 0, "backslash at the end of the value");
            }
            sb_putc(w, s[1]);
            s += 2;
        } else {
            sb_putc(w, *s++);
        }
    }
    *sp = s;
    return 1;
}

/* Splits s like a shell's words, without the shell: '...', "..." with
 * backslash escapes, a backslash outside quotes. No words is an error. */
char **
init_cfg_split_words(const char *s, struct mi_err *e)
{
    struct cfg_strv v = {0};
    struct sbuf w = {0};
    char **out = NULL;
    int r;

    while ((r = word_next(&s, &w, e)) > 0) {
        init_cfg_strv_push(&v, sb_take(&w));
    }
    free(sb_take(&w));
    if (r == 0 && v.n == 0 && !v.oom) {
        r = mi_err_set(e, 0, "empty command");
    }
    if (r < 0 || init_cfg_strv_take(&v, &out, e) < 0) {
        init_cfg_strv_free(v.v);
        return NULL;
    }
    return out;
}

/* Replaces an entry with the same NAME= in v, or appends kv. */
static void
env_put(struct cfg_strv *v, char *kv)
{
    size_t n = kv != NULL ? strcspn(kv, "=") + 1 : 0;

    for (int i = 0; kv != NULL && i < v->n; i++) {
        if (strncmp(v->v[i], kv, n) == 0) {
            free(v->v[i]);
            v->v[i] = kv;
            return;
        }
    }
    init_cfg_strv_push(v, kv);
}

/* One value of K=v: "..." (backslash escapes), '...', or bare up to the
 * next comma (trimmed). Returns where parsing goes on, or NULL. */
static const char *
env_value(const char *s, struct sbuf *b, struct mi_err *e)
{
    const char *end;

    if (*s == '"' || *s == '\'') {
        end = *s == '"' ? word_dquote(s + 1, b, e) : strchr(s + 1, '\'');
        if (end == NULL) {
            mi_err_set(e, 0, "unterminated %c quote", *s);
            return NULL;
        }
        if (*s == '\'') {
            sb_putn(b, s + 1, (size_t)(end - s - 1));
            end++;
        }
        while (is_space(*end)) {
            end++;
        }
        if (*end != ',' && *end != '\0') {
            mi_err_set(e, 0, "expected ',' after the quoted value at '%s'", end);
            return NULL;
        }
        return end;
    }
    end = s + strcspn(s, ",");
    while (end > s && is_space(end[-1])) {
        end--;
    }
    sb_putn(b, s, (size_t)(end - s));
    return s + strcspn(s, ",");
}

/* supervisord's environment: K="v",K2=v2 (quoted values may hold commas)
 * into "K=v" strings; a later K replaces an earlier one. */
char **
init_cfg_environment(const char *s, struct mi_err *e)
{
    struct cfg_strv v = {0};
    struct sbuf b = {0};
    char **out = NULL;
    size_t n;

    for (;;) {
        while (is_space(*s) || *s == ',') {
            s++;
        }
        if (*s == '\0') {
            break;
        }
        n = strspn(s, "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789_.-");
        if (n == 0 || (*s >= '0' && *s <= '9') || s[n + strspn(s + n, " \t")] != '=') {
            mi_err_set(e, 0, "expected NAME=value at '%s'", s);
            goto fail;
        }
        sb_putn(&b, s, n);
        sb_putc(&b, '=');
        s += n + strspn(s + n, " \t") + 1;
        s += strspn(s, " \t");
        if ((s = env_value(s, &b, e)) == NULL) {
            goto fail;
        }
        env_put(&v, sb_take(&b));
    }
    if (init_cfg_strv_take(&v, &out, e) == 0) {
        return out;
    }
fail:
    free(sb_take(&b));
    init_cfg_strv_free(v.v);
    return NULL;
}

/* The value of NAME into *val (numbers formatted into num). */
static int
var_value(const struct cfg_vars *v, const char *name, char *num, size_t size, const char **val,
          struct mi_err *e)
{
    static const char *const names[] = {"here",       "host_node_name", "program_name",
                                        "group_name", "process_num",    "numprocs"};
    const char *strs[] = {v->here, v->host, v->program_name, v->group_name};
    long nums[] = {v->process_num, v->numprocs};

    if (strncmp(name, "ENV_", 4) == 0) {
        if ((*val = getenv(name + 4)) == NULL) {
            return mi_err_set(e, 0, "environment variable %s is not set (in %%(%s)s)", name + 4,
                              name);
        }
        return 0;
    }
    for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
        if (strcmp(name, names[i]) != 0) {
            continue;
        }
        if (i < 4) {
            *val = strs[i];
        } else if (nums[i - 4] >= 0) {
            snprintf(num, size, "%ld", nums[i - 4]);
            *val = num;
        } else {
            *val = NULL;
        }
        if (*val == NULL) {
            return mi_err_set(e, 0, "%%(%s)s is not available in this section", name);
        }
        return 0;
    }
    return mi_err_set(e, 0, "unknown expansion %%(%s)s", name);
}

/* Expands one %(NAME)FMT at s ('%' '('), FMT being Python's [-0]*WIDTH?[sdi].
 * Returns the character after it, or NULL. */
static const char *
expand_one(const struct cfg_vars *v, const char *s, struct sbuf *b, struct mi_err *e)
{
    const char *close = strchr(s + 2, ')');
    char name[128];
    char num[32];
    const char *val;
    bool left = false;
    bool zero = false;
    long width = 0;
    size_t len;

    if (close == NULL || (size_t)(close - s - 2) >= sizeof(name)) {
        mi_err_set(e, 0, "unterminated %%( in '%s'", s);
        return NULL;
    }
    memcpy(name, s + 2, (size_t)(close - s - 2));
    name[close - s - 2] = '\0';
    for (s = close + 1; *s == '-' || *s == '0'; s++) {
        left |= *s == '-';
        zero |= *s == '0';
    }
    for (; *s >= '0' && *s <= '9' && width < 1000; s++) {
        width = width * 10 + (*s - '0');
    }
    if (*s != 's' && *s != 'd' && *s != 'i') {
        mi_err_set(e, 0, "bad format after %%(%s) (use s or d, e.g. %%(%s)s)", name, name);
        return NULL;
    }
    if (var_value(v, name, num, sizeof(num), &val, e) < 0) {
        return NULL;
    }
    if (*s != 's' && val != num) {
        mi_err_set(e, 0, "%%(%s)%c needs a number", name, *s);
        return NULL;
    }
    zero = zero && !left && *s != 's';
    for (len = strlen(val); !left && (long)len < width; width--) {
        sb_putc(b, zero ? '0' : ' ');
    }
    sb_putn(b, val, len);
    for (; left && (long)len < width; width--) {
        sb_putc(b, ' ');
    }
    return s + 1;
}

/* supervisord's expansions: %(NAME)s, %(process_num)02d, %% for %. */
char *
init_cfg_expand(const struct cfg_vars *v, const char *s, struct mi_err *e)
{
    struct sbuf b = {0};
    const char *pct;
    char *out;

    while ((pct = strchr(s, '%')) != NULL) {
        sb_putn(&b, s, (size_t)(pct - s));
        if (pct[1] == '%') {
            sb_putc(&b, '%');
            s = pct + 2;
        } else if (pct[1] != '(') {
            mi_err_set(e, 0, "a '%%' must start %%(NAME)s (write %%%% for a literal %%)");
            s = NULL;
        } else {
            s = expand_one(v, pct, &b, e);
        }
        if (s == NULL) {
            free(sb_take(&b));
            return NULL;
        }
    }
    sb_putn(&b, s, strlen(s));
    if ((out = sb_take(&b)) == NULL) {
        mi_err_set(e, ENOMEM, "unable to expand the value");
    }
    return out;
}
