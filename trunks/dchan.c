// SPDX-License-Identifier: GPL-2.0-or-later
#include "trunks/dchan.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/time.h>
#include <unistd.h>

/*
 * libpri uses a non-zero return as the frame length, so a read that found
 * nothing must return 0, not -1 (see ../shared/notes/libpri.md §1).
 */
static int link_read(struct pri *pri, void *buf, int buflen)
{
	struct dchan *l = pri_get_userdata(pri);
	ssize_t n = read(l->fd, buf, (size_t)buflen);

	if (n > 0) {
		l->frames_in++;
		return (int)n;
	}
	if (n == 0 || (errno != EAGAIN && errno != EINTR)) {
		l->lost = true;
		l->err = n == 0 ? 0 : errno;
	}
	return 0;
}

static int link_write(struct pri *pri, void *buf, int buflen)
{
	struct dchan *l = pri_get_userdata(pri);
	ssize_t n = write(l->fd, buf, (size_t)buflen);

	if (n == buflen) {
		l->frames_out++;
		return buflen;
	}
	/*
	 * A full socket or a dead line: the frame is lost like on a wire;
	 * Q.921 retransmits. Report success so libpri does not log "Short
	 * write" for every frame while a span is down.
	 */
	if (n < 0 && errno != EAGAIN && errno != EINTR)
		l->lost = true;
	l->read_errors++;
	return buflen;
}

int dchan_open(struct dchan *l, int fd, int nodetype, int switchtype, const char *name)
{
	memset(l, 0, sizeof(*l));
	l->fd = fd;
	snprintf(l->name, sizeof(l->name), "%s", name);
	/* The callbacks must work before pri_new_cb returns: it sends SABME. */
	l->pri = pri_new_cb(fd, nodetype, switchtype, link_read, link_write, l);
	if (!l->pri)
		return -ENOMEM;
	pri_hold_enable(l->pri, 1);
	pri_transfer_enable(l->pri, 1);
	pri_reroute_enable(l->pri, 1);
	return 0;
}

int dchan_timeout_ms(struct dchan *l, int cap)
{
	struct timeval *next = pri_schedule_next(l->pri);
	struct timeval now;
	long ms;

	if (!next)
		return cap;
	gettimeofday(&now, NULL);
	ms = (next->tv_sec - now.tv_sec) * 1000 + (next->tv_usec - now.tv_usec) / 1000;
	if (ms < 0)
		return 0;
	return ms < cap ? (int)ms : cap;
}

pri_event *dchan_service(struct dchan *l, bool readable)
{
	if (readable)
		return pri_check_event(l->pri);
	return pri_schedule_run(l->pri);
}

static void log_quiet(struct pri *pri, char *s)
{
	(void)pri;
	(void)s;
}

static void log_stderr(struct pri *pri, char *s)
{
	struct dchan *l = pri ? pri_get_userdata(pri) : NULL;

	fprintf(stderr, "libpri[%s]: %s", l ? l->name : "-", s);
}

static void log_errors(struct pri *pri, char *s)
{
	log_stderr(pri, s);
}

void dchan_set_logging(bool verbose)
{
	pri_set_message(verbose ? log_stderr : log_quiet);
	pri_set_error(log_errors);
}

int dchan_switchtype(const char *name)
{
	static const struct {
		const char *name;
		int type;
	} types[] = {
		{ "euroisdn", PRI_SWITCH_EUROISDN_E1 },
		{ "euroisdn_t1", PRI_SWITCH_EUROISDN_T1 },
		{ "ni2", PRI_SWITCH_NI2 },
		{ "dms100", PRI_SWITCH_DMS100 },
		{ "4ess", PRI_SWITCH_ATT4ESS },
		{ "5ess", PRI_SWITCH_LUCENT5E },
		{ "qsig", PRI_SWITCH_QSIG },
	};

	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		if (!strcmp(name, types[i].name))
			return types[i].type;
	return -EINVAL;
}
