// SPDX-License-Identifier: GPL-2.0-or-later
#include "ops/control.h"

#include <errno.h>
#include <fcntl.h>
#include <sys/time.h>
#include <time.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/eventfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "store/audit.h"
#include "base/log.h"
#include "ops/manage.h"
#include "base/textout.h"

#define MAX_CLIENTS	16
#define MAX_PAUSES	8	/* pauses one client may hold at once */

struct client {
	int fd;
	uid_t uid;
	gid_t gid;
	unsigned roles;			/* 1 << enum config_role */
	char in[CONTROL_LINE];
	size_t len;
	unsigned waiting;		/* id of the command sent to the relay, 0 = none */
	enum control_verb verb;
	char selector[CONTROL_LINE];
	char pauses[MAX_PAUSES][CONTROL_LINE];	/* selectors this client paused */
	bool json;			/* "json on": every answer is one line of JSON */
};

static void say(int fd, const char *text)
{
	char line[CONTROL_LINE + 2];
	int n = snprintf(line, sizeof(line), "%s\n", text);

	/* A client that does not read its answers loses them; we never block. */
	if (send(fd, line, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) < 0)
		return;
}

/*
 * One answer line: "ok …" or "error …", or for a client in JSON mode the
 * same as {"ok":true,"message":"…"} or {"ok":false,"error":"…"}.
 */
static void answer(struct client *cl, const char *text)
{
	char line[2 * CONTROL_LINE + 64];
	bool ok = !strncmp(text, "ok", 2);
	const char *rest = text + (ok ? 2 : strncmp(text, "error", 5) ? 0 : 5);
	struct textout o = textout_init(line, sizeof(line));

	if (!cl->json) {
		say(cl->fd, text);
		return;
	}
	rest += strspn(rest, " ");
	textout_put(&o, "{\"ok\":%s,\"%s\":", ok ? "true" : "false", ok ? "message" : "error");
	textout_json_string(&o, rest);
	textout_put(&o, "}");
	say(cl->fd, line);
}

/*
 * A report: "ok N", then N lines; in JSON mode its one JSON line alone.
 * Blocking is bounded: the socket has a send timeout.
 */
static void send_report(struct control *ctl, struct client *cl, const char *what, const char *format)
{
	static char body[256 * 1024];	/* the largest report: every call of 16 full pairs */
	char head[32];
	size_t len;
	int lines = 0;

	if (!ctl->report) {
		answer(cl, "error no reports from this daemon");
		return;
	}
	if (cl->json && strcmp(format, "json")) {
		answer(cl, "error in JSON mode reports are JSON; send json off for other formats");
		return;
	}
	len = ctl->report(ctl->report_userdata, what, format, body, sizeof(body));
	if (cl->json) {
		if (send(cl->fd, body, len, MSG_NOSIGNAL) < 0)
			return;
		return;
	}
	for (size_t i = 0; i < len; i++)
		lines += body[i] == '\n';
	snprintf(head, sizeof(head), "ok %d\n", lines);
	if (send(cl->fd, head, strlen(head), MSG_NOSIGNAL) < 0 || send(cl->fd, body, len, MSG_NOSIGNAL) < 0)
		return;
}

static void remember_pause(struct client *cl, const char *selector, bool add)
{
	for (int i = 0; i < MAX_PAUSES; i++) {
		if (add && !cl->pauses[i][0]) {
			snprintf(cl->pauses[i], sizeof(cl->pauses[i]), "%s", selector);
			return;
		}
		if (!add && !strcmp(cl->pauses[i], selector))
			cl->pauses[i][0] = '\0';
	}
}

static bool valid_selector(const char *s)
{
	const char *v = strchr(s, '=');

	if (!v || v[1] == '\0' || strlen(s) > 64)
		return false;
	if (strncmp(s, "number=", 7) && strncmp(s, "call=", 5))
		return false;
	for (v++; *v; v++)
		if (!((*v >= '0' && *v <= '9') || *v == '+' || *v == '*' || *v == '#'))
			return false;
	return true;
}

/* The roles a peer has: root all; others by uid or primary gid in [roles]. */
static unsigned peer_roles(const struct control *ctl, uid_t uid, gid_t gid)
{
	unsigned roles = 0;

	if (uid == 0)
		return (1u << ROLE_COUNT) - 1;
	for (int r = 0; ctl->roles && r < ROLE_COUNT; r++) {
		const struct config_role_ids *ids = &ctl->roles[r];

		for (int i = 0; i < ids->nuid; i++)
			if (ids->uid[i] == uid)
				roles |= 1u << r;
		for (int i = 0; i < ids->ngid; i++)
			if (ids->gid[i] == gid)
				roles |= 1u << r;
	}
	/* A manager may do what a supervisor may, a supervisor what an operator may. */
	if (roles & (1u << ROLE_MANAGER))
		roles |= 1u << ROLE_SUPERVISOR;
	if (roles & (1u << ROLE_SUPERVISOR))
		roles |= 1u << ROLE_OPERATOR;
	return roles;
}

/* Allowed, or refused: audited first, then answered with the role it needed. */
static bool allowed(struct control *ctl, struct client *cl, const char *verb, enum config_role need)
{
	char msg[96], details[64];

	if (cl->roles & (1u << need))
		return true;
	snprintf(details, sizeof(details), "gid=%u,needs=%s", (unsigned)cl->gid, config_role_name(need));
	if (ctl->audit && audit_append(ctl->audit, (int64_t)time(NULL), (uint32_t)cl->uid, "refused", verb, details,
				       NULL) < 0)
		log_err("control: could not audit a refused %s from uid %u", verb, (unsigned)cl->uid);
	snprintf(msg, sizeof(msg), "error refused: %s needs the %s role", verb, config_role_name(need));
	answer(cl, msg);
	return false;
}

/* What each command is, who may give it, and what it takes. */
struct command {
	const char *verb;
	enum config_role role;
	enum control_verb relay_verb;	/* live calls: what the relay is told; 0: done on this thread */
	const char *formats;		/* reports: the formats it takes, the first the default; NULL: lifecycle */
};

static const struct command commands[] = {
	{ "stats", ROLE_OPERATOR, 0, "text json prometheus" },
	{ "calls", ROLE_OPERATOR, 0, "text json" },
	{ "spans", ROLE_OPERATOR, 0, "text json" },
	{ "pause", ROLE_SUPERVISOR, CTL_PAUSE, NULL },
	{ "resume", ROLE_SUPERVISOR, CTL_RESUME, NULL },
	{ "mask", ROLE_SUPERVISOR, CTL_MASK, NULL },
	{ "unmask", ROLE_SUPERVISOR, CTL_UNMASK, NULL },
	{ "discard", ROLE_SUPERVISOR, CTL_DISCARD, NULL },
	{ "hold", ROLE_MANAGER, 0, NULL },
	{ "release", ROLE_MANAGER, 0, NULL },
	{ "delete", ROLE_MANAGER, 0, NULL },
	{ "purge", ROLE_MANAGER, 0, NULL },
	{ "audit", ROLE_AUDITOR, 0, NULL },
};

static const struct command *find_command(const char *verb)
{
	for (size_t i = 0; i < sizeof(commands) / sizeof(commands[0]); i++)
		if (!strcmp(commands[i].verb, verb))
			return &commands[i];
	return NULL;
}

/* format is one of the words in formats (space-separated). */
static bool takes_format(const char *formats, const char *format)
{
	size_t len = strlen(format);

	for (const char *p = formats; (p = strstr(p, format)); p += len)
		if ((p == formats || p[-1] == ' ') && (p[len] == ' ' || p[len] == '\0'))
			return true;
	return false;
}

static void handle_report(struct control *ctl, struct client *cl, const struct command *c, const char *arg)
{
	char format[16], msg[96];

	if (!*arg && cl->json) {
		send_report(ctl, cl, c->verb, "json");
	} else if (!*arg) {
		snprintf(format, sizeof(format), "%.*s", (int)strcspn(c->formats, " "), c->formats);
		send_report(ctl, cl, c->verb, format);
	} else if (takes_format(c->formats, arg)) {
		send_report(ctl, cl, c->verb, arg);
	} else {
		snprintf(msg, sizeof(msg), "error %s takes %s", c->verb, c->formats);
		answer(cl, msg);
	}
}

/*
 * discard call=ID REASON…: the request is audited (who, which call, why)
 * before the relay hears of it; by call id only, so no number reaches the
 * log. The file itself is deleted, audited again, once it is closed.
 */
static bool audit_discard(struct control *ctl, struct client *cl, const char *line, const char *selector)
{
	const char *reason = strstr(line, selector) + strlen(selector);
	char details[CONTROL_LINE + 32];

	reason += strspn(reason, " \t");
	if (strncmp(selector, "call=", 5) || !*reason) {
		answer(cl, "error usage: discard call=ID REASON (the reason goes into the audit log)");
		return false;
	}
	snprintf(details, sizeof(details), "request=discard,reason=%s", reason);
	if (!ctl->audit || audit_append(ctl->audit, (int64_t)time(NULL), (uint32_t)cl->uid, "delete", selector, details,
					NULL) < 0) {
		answer(cl, "error the request cannot be audited; nothing done");
		return false;
	}
	return true;
}

static void handle_line(struct control *ctl, struct client *cl, char *line, unsigned *next_id)
{
	char verb[16] = "", arg[CONTROL_LINE] = "";
	const struct command *c;

	if (sscanf(line, "%15s %255s", verb, arg) < 1)
		return;
	if (!strcmp(verb, "ping")) {
		answer(cl, "ok pong");
		return;
	}
	if (!strcmp(verb, "json")) {
		if (*arg && strcmp(arg, "on") && strcmp(arg, "off")) {
			answer(cl, "error json takes on or off");
			return;
		}
		/* Answered in the mode the request was made in, then switched. */
		if (strcmp(arg, "off")) {
			cl->json = true;
			answer(cl, "ok json on");
		} else {
			answer(cl, "ok json off");
			cl->json = false;
		}
		return;
	}
	c = find_command(verb);
	if (!c) {
		answer(cl, "error unknown command; use ping, json, stats, calls, spans, pause, resume, mask, unmask, "
			    "discard, hold, release, delete, purge or audit verify");
		return;
	}
	if (!allowed(ctl, cl, verb, c->role))
		return;
	if (!c->relay_verb && c->formats) {
		handle_report(ctl, cl, c, arg);
		return;
	}
	if (!c->relay_verb) {
		/* Lifecycle: the whole rest of the line (a reason has spaces). */
		const char *rest = line + strspn(line, " \t") + strlen(verb);
		char text[CONTROL_LINE];

		rest += strspn(rest, " \t");
		if (ctl->manage)
			manage_command(ctl->manage, (uint32_t)cl->uid, verb, rest, text, sizeof(text));
		else
			snprintf(text, sizeof(text), "error this daemon has no catalog: lifecycle commands are off");
		answer(cl, text);
		return;
	}
	if (!valid_selector(arg)) {
		answer(cl, "error give the call as number=DIGITS or call=ID");
		return;
	}
	if (cl->waiting) {
		answer(cl, "error one command at a time; wait for the answer");
		return;
	}
	if (c->relay_verb == CTL_DISCARD && !audit_discard(ctl, cl, line, arg))
		return;
	cl->waiting = ++*next_id ? *next_id : ++*next_id;
	cl->verb = c->relay_verb;
	snprintf(cl->selector, sizeof(cl->selector), "%s", arg);
	if (!inbox_send(&ctl->inbox, c->relay_verb, cl->waiting, arg)) {
		cl->waiting = 0;
		answer(cl, "error the daemon is busy; try again");
	}
}

static void client_close(struct control *ctl, struct client *cl)
{
	/* Pauses it held stay in force, but their end is now unknown. */
	for (int i = 0; i < MAX_PAUSES; i++)
		if (cl->pauses[i][0])
			inbox_send(&ctl->inbox, CTL_LOST, 0, cl->pauses[i]);
	close(cl->fd);
	memset(cl, 0, sizeof(*cl));
	cl->fd = -1;
}

static void client_read(struct control *ctl, struct client *cl, unsigned *next_id)
{
	ssize_t n = recv(cl->fd, cl->in + cl->len, sizeof(cl->in) - 1 - cl->len, MSG_DONTWAIT);
	char *nl;

	if (n <= 0) {
		if (n == 0 || (errno != EAGAIN && errno != EINTR))
			client_close(ctl, cl);
		return;
	}
	cl->len += (size_t)n;
	cl->in[cl->len] = '\0';
	while ((nl = strchr(cl->in, '\n'))) {
		*nl = '\0';
		if (nl > cl->in && nl[-1] == '\r')
			nl[-1] = '\0';
		handle_line(ctl, cl, cl->in, next_id);
		cl->len -= (size_t)(nl + 1 - cl->in);
		memmove(cl->in, nl + 1, cl->len + 1);
	}
	if (cl->len == sizeof(cl->in) - 1) {
		answer(cl, "error line too long");
		client_close(ctl, cl);
	}
}

static void deliver_answers(struct control *ctl, struct client *clients)
{
	struct control_answer *a;

	while ((a = spsc_peek(&ctl->inbox.answers))) {
		for (int i = 0; i < MAX_CLIENTS; i++) {
			struct client *cl = &clients[i];

			if (cl->fd < 0 || !a->id || cl->waiting != a->id)
				continue;
			if (!strncmp(a->text, "ok", 2) && (cl->verb == CTL_PAUSE || cl->verb == CTL_RESUME))
				remember_pause(cl, cl->selector, cl->verb == CTL_PAUSE);
			cl->waiting = 0;
			answer(cl, a->text);
		}
		spsc_pop(&ctl->inbox.answers);
	}
}

static void *control_main(void *arg)
{
	struct control *ctl = arg;
	struct client clients[MAX_CLIENTS];
	unsigned next_id = 0;

	pthread_setname_np(pthread_self(), "trec-control");
	for (int i = 0; i < MAX_CLIENTS; i++) {
		memset(&clients[i], 0, sizeof(clients[i]));
		clients[i].fd = -1;
	}
	while (!atomic_load(&ctl->stopping)) {
		struct pollfd pfd[3 + MAX_CLIENTS];
		int map[3 + MAX_CLIENTS];
		int n = 0;
		uint64_t v;

		pfd[n++] = (struct pollfd){ .fd = ctl->listen_fd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ctl->inbox.answer_efd, .events = POLLIN };
		pfd[n++] = (struct pollfd){ .fd = ctl->wake_fd, .events = POLLIN };
		for (int i = 0; i < MAX_CLIENTS; i++) {
			if (clients[i].fd < 0)
				continue;
			map[n] = i;
			pfd[n++] = (struct pollfd){ .fd = clients[i].fd, .events = POLLIN };
		}
		if (poll(pfd, (nfds_t)n, 1000) < 0 && errno != EINTR)
			break;
		if (pfd[1].revents & POLLIN) {
			if (read(ctl->inbox.answer_efd, &v, sizeof(v)) < 0)
				v = 0;
			deliver_answers(ctl, clients);
		}
		for (int k = 3; k < n; k++)
			if (pfd[k].revents & (POLLIN | POLLHUP | POLLERR))
				client_read(ctl, &clients[map[k]], &next_id);
		if (pfd[0].revents & POLLIN) {
			int fd = accept4(ctl->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
			int slot = -1;

			for (int i = 0; i < MAX_CLIENTS && fd >= 0; i++)
				if (clients[i].fd < 0) {
					slot = i;
					break;
				}
			if (fd >= 0 && slot < 0) {
				say(fd, "error too many control clients");
				close(fd);
			} else if (fd >= 0) {
				struct timeval tv = { .tv_sec = 1 };
				struct ucred cred;
				socklen_t len = sizeof(cred);

				/* Who is asking decides what they may ask: the kernel's word, not theirs. */
				if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &len) < 0) {
					close(fd);
					continue;
				}
				clients[slot].uid = cred.uid;
				clients[slot].gid = cred.gid;
				clients[slot].roles = peer_roles(ctl, cred.uid, cred.gid);

				/* Long answers are sent blocking, but never for more than a second. */
				setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof(tv));
				fcntl(fd, F_SETFL, 0);
				clients[slot].fd = fd;
			}
		}
	}
	for (int i = 0; i < MAX_CLIENTS; i++)
		if (clients[i].fd >= 0)
			close(clients[i].fd);
	return NULL;
}

int control_start(struct control *ctl, const struct control_opts *opts)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	const char *path = opts->path;
	size_t len = strlen(path);
	unsigned mode = opts->mode;
	int rc;

	memset(ctl, 0, sizeof(*ctl));
	ctl->listen_fd = ctl->wake_fd = -1;
	ctl->report = opts->report;
	ctl->report_userdata = opts->report_userdata;
	ctl->manage = opts->manage;
	ctl->roles = opts->roles;
	ctl->audit = opts->audit;
	if (len >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	memcpy(ctl->path, path, len + 1);
	memcpy(addr.sun_path, path, len + 1);
	if ((rc = inbox_init(&ctl->inbox)) < 0)
		goto fail;
	ctl->wake_fd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	ctl->listen_fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (ctl->wake_fd < 0 || ctl->listen_fd < 0) {
		rc = -errno;
		goto fail;
	}
	unlink(path);	/* a stale socket from a previous run */
	if (bind(ctl->listen_fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || chmod(path, mode) < 0 ||
	    listen(ctl->listen_fd, 8) < 0) {
		rc = -errno;
		goto fail;
	}
	rc = -pthread_create(&ctl->thread, NULL, control_main, ctl);
	if (rc < 0)
		goto fail;
	return 0;
fail:
	{
		int fds[] = { ctl->listen_fd, ctl->wake_fd };

		for (size_t i = 0; i < sizeof(fds) / sizeof(fds[0]); i++)
			if (fds[i] >= 0)
				close(fds[i]);
	}
	inbox_destroy(&ctl->inbox);
	return rc;
}

void control_stop(struct control *ctl)
{
	uint64_t one = 1;

	atomic_store(&ctl->stopping, true);
	if (write(ctl->wake_fd, &one, sizeof(one)) < 0)
		log_warn("control: wake failed: %s", strerror(errno));
	pthread_join(ctl->thread, NULL);
	close(ctl->listen_fd);
	unlink(ctl->path);
	close(ctl->wake_fd);
	inbox_destroy(&ctl->inbox);
}
