/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The control socket: a local Unix stream socket with a line protocol, for
 * the agent desktop (payment pause) and for operators. One command per line,
 * one answer line starting "ok" or "error". Commands (docs/control.md):
 *
 *   ping
 *   json on|off                  this connection's answers as JSON lines
 *   pause number=N | call=ID     pause recording for a card payment
 *   resume number=N | call=ID
 *   mask number=N | call=ID      store silence from now until unmask
 *   unmask number=N | call=ID
 *   discard number=N | call=ID REASON…  stop this call's recording, delete it
 *   stats [text|json|prometheus] "ok N" then N lines
 *   calls [text|json]            the live calls, numbers masked
 *   spans [text|json]
 *
 * Each client's role comes from its uid/gid (SO_PEERCRED): stats, calls and
 * spans need operator, pause, resume, mask and unmask supervisor; a refusal
 * is audited and answered with the role it needed.
 *
 * A client that vanishes while a pause it asked for is in force does not
 * resume it: the relay is told the pause state is unknown (the policy keeps
 * it paused until its timeout).
 *
 * Thread: the control thread owns the socket and its clients. It talks to the
 * relay only through two rings (commands in, answers out); the relay applies
 * commands between blocks (inbox_poll, relay/inbox.h).
 */
#ifndef TRUNKREC_OPS_CONTROL_H
#define TRUNKREC_OPS_CONTROL_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>

#include "policy/config.h"
#include "relay/inbox.h"

struct audit;
struct manage;

/*
 * Renders a report for the control thread: what is "stats", "calls" or
 * "spans", format one the command allows (ops/stats.c and
 * relay/callview.c, via trunkrecd).
 */
typedef size_t (*control_report_cb)(void *userdata, const char *what, const char *format, char *buf, size_t size);

struct control {
	char path[256];
	const struct config_role_ids *roles;	/* [ROLE_COUNT]; root has every role */
	struct audit *audit;			/* refusals are audited; may be NULL */
	control_report_cb report;	/* may be NULL */
	void *report_userdata;
	struct manage *manage;		/* may be NULL */
	int listen_fd;
	struct inbox inbox;		/* commands to the relay, its answers back */
	pthread_t thread;
	_Atomic bool stopping;
	int wake_fd;			/* wakes the control thread to stop */
};

struct control_opts {
	const char *path;
	unsigned mode;				/* the socket file's permissions */
	const struct config_role_ids *roles;	/* [ROLE_COUNT]; NULL: only root is allowed */
	struct audit *audit;			/* refusals are audited; may be NULL */
	control_report_cb report;		/* may be NULL */
	void *report_userdata;
	struct manage *manage;			/* hold, release, delete, purge, audit; may be NULL */
};

int control_start(struct control *ctl, const struct control_opts *opts);
void control_stop(struct control *ctl);

#endif
