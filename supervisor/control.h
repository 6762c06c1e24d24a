/* SPDX-License-Identifier: MIT */
/*
 * The control socket (server side, in minit job 2): a Unix stream socket,
 * mode 0600, whose peers are checked with SO_PEERCRED (root or minit's own
 * uid only). Requests and replies are text; see the protocol comment in
 * supervisor/control.c. `minit ctl` (init/ctl.c) is the client.
 */
#ifndef MINIT_SUPERVISOR_CONTROL_H
#define MINIT_SUPERVISOR_CONTROL_H

#include <ev.h>

#include "init/err.h"

/* What only init can do, handed down by init. */
struct sv_control_hooks {
    /* Re-read the config file and apply it; -1 with *e if it is bad (the
     * running set is then left untouched). */
    int (*reload)(void *data, struct mi_err *e);
    /* Start the orderly shutdown. */
    void (*shutdown)(void *data);
    void *data;
};

/* Binds path (replacing a stale socket file, never a live one), listens
 * and watches it on loop. The fd is CLOEXEC. -1 with *e on failure. */
int sv_control_open(struct ev_loop *loop, const char *path, const struct sv_control_hooks *hooks,
                    struct mi_err *e);

/* Closes the socket and every connection, and unlinks the path. */
void sv_control_close(void);

/* Decodes one percent-encoded protocol word in place (%HH; a lone "%" is
 * the empty word); the client uses it on replies too. 0, -1 for a bad
 * escape, -2 for an escaped NUL byte. */
int sv_control_decode(char *w);

/* A service changed state: answer the wait-ready requests it settles. */
void sv_control_state_changed(const char *name);

#endif
