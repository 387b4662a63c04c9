// SPDX-License-Identifier: GPL-2.0-or-later
#include "trunks/port.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#ifdef TRUNKREC_HAVE_DAHDI
#include "trunks/dahdi.h"
#endif

void port_init(struct port *p, enum port_driver driver, const char *name, const char *path)
{
	struct port_counters counters = p->counters;

	memset(p, 0, sizeof(*p));
	p->counters = counters;
	p->driver = driver;
	snprintf(p->name, sizeof(p->name), "%s", name);
	snprintf(p->path, sizeof(p->path), "%s", path);
	p->dfd = -1;
	for (int ts = 0; ts < PORT_MAX_TS; ts++)
		p->bfd[ts] = -1;
}

static int connect_channel(const struct port *p, const char *channel)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	int fd;

	if ((size_t)snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", p->path, channel) >= sizeof(addr.sun_path))
		return -ENAMETOOLONG;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0) {
		int err = -errno;

		close(fd);
		return err;
	}
	return fd;
}

/* "1-15,17-31" → bit mask of timeslots. */
static int parse_ranges(const char *s, uint32_t *ret_mask)
{
	uint32_t mask = 0;

	while (*s && *s != '\n') {
		char *end;
		long lo = strtol(s, &end, 10), hi = lo;

		if (end == s)
			return -EINVAL;
		if (*end == '-')
			hi = strtol(end + 1, &end, 10);
		if (lo < 1 || hi >= PORT_MAX_TS || lo > hi)
			return -EINVAL;
		for (long ts = lo; ts <= hi; ts++)
			mask |= 1u << ts;
		s = end;
		if (*s == ',')
			s++;
	}
	*ret_mask = mask;
	return mask ? 0 : -EINVAL;
}

static int read_info(struct port *p)
{
	char path[300], line[128];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), "%s/info", p->path);
	f = fopen(path, "re");
	if (!f)
		return errno == ENOENT ? -EAGAIN : -errno;
	p->law = G711_ALAW;
	p->dchannel = 16;
	p->bmask = 0;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, "law=", 4))
			p->law = !strncmp(line + 4, "ulaw", 4) ? G711_ULAW : G711_ALAW;
		else if (!strncmp(line, "dchannel=", 9))
			p->dchannel = atoi(line + 9);
		else if (!strncmp(line, "bchannels=", 10))
			rc = parse_ranges(line + 10, &p->bmask);
		else if (!strncmp(line, "block=", 6) && atoi(line + 6) != PORT_BLOCK)
			rc = -EPROTO;
	}
	fclose(f);
	if (!rc && !p->bmask)
		rc = -EPROTO;
	return rc;
}

int port_open_synthetic(struct port *p)
{
	int rc = read_info(p);

	if (rc)
		return rc;
	rc = connect_channel(p, "d");
	if (rc < 0)
		goto fail;
	p->dfd = rc;
	for (int ts = 1; ts < PORT_MAX_TS; ts++) {
		char name[8];

		if (!(p->bmask & (1u << ts)))
			continue;
		snprintf(name, sizeof(name), "%d", ts);
		rc = connect_channel(p, name);
		if (rc < 0)
			goto fail;
		p->bfd[ts] = rc;
	}
	p->up = true;
	return 0;
fail:
	port_close(p);
	return rc;
}

void port_close(struct port *p)
{
	if (p->dfd >= 0)
		close(p->dfd);
	p->dfd = -1;
	for (int ts = 0; ts < PORT_MAX_TS; ts++) {
		if (p->bfd[ts] >= 0)
			close(p->bfd[ts]);
		p->bfd[ts] = -1;
	}
	p->up = false;
}

int port_first_bchannel(const struct port *p, uint32_t busy, bool from_top)
{
	uint32_t free = p->bmask & ~busy;

	if (!free)
		return 0;
	return from_top ? 31 - __builtin_clz(free) : __builtin_ctz(free);
}

int port_open(struct port *p)
{
	p->down_reason[0] = 0;
	switch (p->driver) {
	case PORT_SYNTHETIC:
		return port_open_synthetic(p);
	case PORT_DAHDI:
#ifdef TRUNKREC_HAVE_DAHDI
		return port_open_dahdi(p);
#else
		return -EPROTONOSUPPORT;
#endif
	}
	return -EINVAL;
}

int port_fd_event(struct port *p, int fd, int err)
{
	switch (p->driver) {
	case PORT_SYNTHETIC:
		/* Sockets have no out-of-band news: any error is the line. */
		(void)fd;
		if (err)
			snprintf(p->down_reason, sizeof(p->down_reason), "%s", strerror(err));
		return err ? -err : 0;
	case PORT_DAHDI:
#ifdef TRUNKREC_HAVE_DAHDI
		return port_dahdi_event(p, fd, err);
#else
		break;
#endif
	}
	return -EINVAL;
}

const char *port_open_hint(const struct port *p, int rc)
{
	if (p->driver == PORT_SYNTHETIC)
		return rc == -EPROTO ? " (the card's info file is not one this version reads)" : "";
	switch (rc) {
	case -EPROTONOSUPPORT:
		return " (this build has no DAHDI driver: install dahdi-source for dahdi/user.h and rebuild)";
	case -EINVAL:
		return " (name the port span:N, N as in /proc/dahdi; see docs/dahdi.md)";
	case -ENOENT:
		return " (is the dahdi module loaded and the span configured with dahdi_cfg? see docs/dahdi.md)";
	case -ENOLINK:
		return " (the span needs dchan= and bchan= lines in /etc/dahdi/system.conf)";
	case -EBUSY:
		return " (another program has the channel open)";
	case -EACCES:
	case -EPERM:
		return " (trunkrecd needs read and write access to /dev/dahdi)";
	default:
		return "";
	}
}

enum port_alarm port_alarm_state(const struct port *p)
{
#ifdef TRUNKREC_HAVE_DAHDI
	if (p->driver == PORT_DAHDI && dahdi_alarm_state(p->alarms) != PORT_ALARM_NONE)
		return dahdi_alarm_state(p->alarms);
#endif
	return p->up ? PORT_ALARM_NONE : PORT_ALARM_RED;
}

const char *port_alarm_name(enum port_alarm a)
{
	switch (a) {
	case PORT_ALARM_NONE: return "up";
	case PORT_ALARM_RED: return "RED";
	case PORT_ALARM_YELLOW: return "YELLOW";
	case PORT_ALARM_BLUE: return "BLUE";
	}
	return "?";
}
