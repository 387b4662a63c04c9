// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The DAHDI driver (trunks/dahdi.h). Facts it relies on, each checked against
 * the kernel's DAHDI 2.11 in a VM (docs/dahdi.md):
 * - DAHDI_SPECIFY must be the first ioctl on a /dev/dahdi/channel fd;
 * - a clear channel is bit-transparent: raw A-law/µ-law, no audio mode;
 * - read() fails with ELAST while an event is queued, until DAHDI_GETEVENT;
 * - an HDLCFCS read gives one frame + 2 FCS bytes, a write takes frame + 2
 *   placeholder bytes (DAHDI fills in the FCS): what libpri reads and writes.
 */
#include "trunks/dahdi.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <unistd.h>

#include <dahdi/user.h>

#include "policy/config.h"
#include "trunks/port.h"

#define DAHDI_CHANNEL_DEV	"/dev/dahdi/channel"
#define DAHDI_CTL_DEV		"/dev/dahdi/ctl"
#define SYSFS_SPAN		"/sys/bus/dahdi_spans/devices/span-%d/%s"
#define DCHAN_NUMBUFS		32	/* frames queued on a D-channel */
#define DCHAN_BUFSIZE		1024	/* a Q.921 frame is at most 260 bytes + FCS */
#define MAX_EVENTS_TAKEN	64	/* per call: a bounded loop even if DAHDI keeps queueing */

static int sysfs_span_int(int span, const char *attr, int *ret)
{
	char path[96], line[32];
	FILE *f;
	int rc = 0;

	snprintf(path, sizeof(path), SYSFS_SPAN, span, attr);
	f = fopen(path, "re");
	if (!f)
		return -errno;
	if (!fgets(line, sizeof(line), f))
		rc = -EIO;
	fclose(f);
	if (!rc)
		*ret = atoi(line);
	return rc;
}

int dahdi_span_alarms(int fd, int span, unsigned *ret_alarms)
{
	struct dahdi_spaninfo si;

	memset(&si, 0, sizeof(si));
	si.spanno = span;
	if (ioctl(fd, DAHDI_SPANSTAT, &si) < 0)
		return -errno;
	*ret_alarms = (unsigned)si.alarms;
	return 0;
}

int dahdi_span_map(int span, struct dahdi_span_map *ret_map)
{
	struct dahdi_span_map m = { .span = span };
	struct dahdi_spaninfo si;
	int ctl, rc;

	/* sysfs says where the span's channels are; system.conf said what they are. */
	rc = sysfs_span_int(span, "basechan", &m.basechan);
	if (!rc)
		rc = sysfs_span_int(span, "channels", &m.nchans);
	if (rc)
		return rc == -ENODEV ? -ENOENT : rc;
	if (m.basechan < 1 || m.nchans < 1 || m.nchans >= PORT_MAX_TS)
		return -ERANGE;
	ctl = open(DAHDI_CTL_DEV, O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	memset(&si, 0, sizeof(si));
	si.spanno = span;
	if (ioctl(ctl, DAHDI_SPANSTAT, &si) < 0) {
		rc = -errno;
		goto out;
	}
	m.alarms = (unsigned)si.alarms;
	snprintf(m.name, sizeof(m.name), "%s", si.name);
	for (int pos = 1; pos <= m.nchans; pos++) {
		struct dahdi_params pa;

		memset(&pa, 0, sizeof(pa));
		pa.channo = m.basechan + pos - 1;
		if (ioctl(ctl, DAHDI_GET_PARAMS, &pa) < 0) {
			rc = -errno;
			goto out;
		}
		if (pa.sigtype == DAHDI_SIG_HDLCFCS || pa.sigtype == DAHDI_SIG_HARDHDLC) {
			m.dchan_pos = pos;
		} else if (pa.sigtype == DAHDI_SIG_CLEAR) {
			m.bmask |= 1u << pos;
			m.law = pa.curlaw;
		}
	}
	rc = m.dchan_pos && m.bmask ? 0 : -ENOLINK;
	*ret_map = m;
out:
	close(ctl);
	return rc;
}

int dahdi_channel_open(int channo, bool hdlc, uint8_t idle)
{
	struct dahdi_bufferinfo bi;
	int fd = open(DAHDI_CHANNEL_DEV, O_RDWR | O_NONBLOCK | O_CLOEXEC);
	int one = 1, bs = PORT_BLOCK;

	if (fd < 0)
		return -errno;
	if (ioctl(fd, DAHDI_SPECIFY, &channo) < 0)
		goto fail;
	memset(&bi, 0, sizeof(bi));
	bi.txbufpolicy = DAHDI_POLICY_IMMEDIATE;
	bi.rxbufpolicy = DAHDI_POLICY_IMMEDIATE;
	if (hdlc) {
		/* A frame goes out as soon as it is written: Q.921's timers count from there. */
		bi.numbufs = DCHAN_NUMBUFS;
		bi.bufsize = DCHAN_BUFSIZE;
		if (ioctl(fd, DAHDI_SET_BUFINFO, &bi) < 0)
			goto fail;
		return fd;
	}
	bi.txbufpolicy = DAHDI_POLICY_HALF_FULL;	/* refills its slack after an underrun: dahdi.h */
	bi.numbufs = DAHDI_PORT_NUMBUFS;
	bi.bufsize = PORT_BLOCK;
	if (ioctl(fd, DAHDI_SET_BLOCKSIZE, &bs) < 0 || ioctl(fd, DAHDI_SET_BUFINFO, &bi) < 0 ||
	    ioctl(fd, DAHDI_BUFFER_EVENTS, &one) < 0)
		goto fail;
	for (int i = 0, tries = 0; i < DAHDI_PORT_PRIME; i++) {
		uint8_t blk[PORT_BLOCK];

		memset(blk, idle, sizeof(blk));
		if (write(fd, blk, sizeof(blk)) == (ssize_t)sizeof(blk))
			continue;
		/*
		 * DAHDI 2.11 keeps a channel's buffer events on across close, so a
		 * reopened channel may already have an underrun queued, and writes
		 * fail with ELAST until it is taken. It is about the previous
		 * owner's stream: taken, not counted.
		 */
		if (errno == ELAST && tries++ < 4) {
			struct port_counters stale = { 0 };

			if (dahdi_take_events(fd, &stale) == -ENODEV)
				goto fail;
			i--;
			continue;
		}
		goto fail;
	}
	return fd;
fail:
	{
		int err = errno ? -errno : -EIO;

		close(fd);
		return err;
	}
}

bool dahdi_alarm_is_down(unsigned alarms)
{
	return alarms & (DAHDI_ALARM_RED | DAHDI_ALARM_BLUE | DAHDI_ALARM_NOTOPEN);
}

enum port_alarm dahdi_alarm_state(unsigned alarms)
{
	/* The worst first: a blue or red line carries nothing; yellow still carries our receive side. */
	if (alarms & DAHDI_ALARM_BLUE)
		return PORT_ALARM_BLUE;
	if (alarms & (DAHDI_ALARM_RED | DAHDI_ALARM_NOTOPEN))
		return PORT_ALARM_RED;
	if (alarms & DAHDI_ALARM_YELLOW)
		return PORT_ALARM_YELLOW;
	return PORT_ALARM_NONE;
}

const char *dahdi_alarm_text(unsigned alarms, char *buf, size_t size)
{
	static const struct {
		unsigned bit;
		const char *text;
	} names[] = {
		{ DAHDI_ALARM_RED, "RED (loss of signal or framing)" },
		{ DAHDI_ALARM_BLUE, "BLUE (AIS: all ones from upstream)" },
		{ DAHDI_ALARM_YELLOW, "YELLOW (remote alarm: the far end hears nothing from us)" },
		{ DAHDI_ALARM_NOTOPEN, "NOTOPEN (span not running)" },
		{ DAHDI_ALARM_LOOPBACK, "LOOPBACK" },
		{ DAHDI_ALARM_RECOVER, "RECOVERING" },
	};
	size_t len = 0;

	buf[0] = 0;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++)
		if (alarms & names[i].bit && len < size)
			len += (size_t)snprintf(buf + len, size - len, "%s%s", len ? " + " : "", names[i].text);
	if (!len)
		snprintf(buf, size, "%s", alarms ? "other alarm" : "none");
	return buf;
}

int dahdi_take_events(int fd, struct port_counters *counts)
{
	int edge = 0;

	for (int i = 0; i < MAX_EVENTS_TAKEN; i++) {
		int ev = 0;

		if (ioctl(fd, DAHDI_GETEVENT, &ev) < 0)
			return -errno;
		switch (ev) {
		case DAHDI_EVENT_NONE:
			return edge;
		case DAHDI_EVENT_ALARM:
			counts->alarms++;
			edge = 1;
			break;
		case DAHDI_EVENT_NOALARM:
			edge = -1;
			break;
		case DAHDI_EVENT_REMOVED:
			return -ENODEV;
		case DAHDI_EVENT_BADFCS:
		case DAHDI_EVENT_ABORT:
		case DAHDI_EVENT_OVERRUN:
			/* A damaged frame was dropped; Q.921 retransmits it. */
			counts->hdlc_errors++;
			break;
		case DAHDI_EVENT_READ_OVERRUN:
			counts->read_overruns++;
			break;
		case DAHDI_EVENT_WRITE_UNDERRUN:
			counts->write_underruns++;
			break;
		default:
			counts->other_events++;
			break;
		}
	}
	return edge;
}

int port_open_dahdi(struct port *p)
{
	struct dahdi_span_map m;
	uint8_t idle;
	int rc;

	p->span = config_dahdi_span(p->path);
	if (!p->span)
		return -EINVAL;
	rc = dahdi_span_map(p->span, &m);
	if (rc)
		return rc;
	p->alarms = m.alarms;
	if (dahdi_alarm_is_down(m.alarms)) {
		char text[160];

		snprintf(p->down_reason, sizeof(p->down_reason), "span %d in alarm: %s", p->span,
			 dahdi_alarm_text(m.alarms, text, sizeof(text)));
		return -ENOLINK;
	}
	p->law = m.law == DAHDI_LAW_MULAW ? G711_ULAW : G711_ALAW;
	p->dchannel = m.dchan_pos;
	p->bmask = m.bmask;
	idle = g711_idle_code(p->law);
	rc = dahdi_channel_open(m.basechan + m.dchan_pos - 1, true, idle);
	if (rc < 0)
		goto fail;
	p->dfd = rc;
	for (int ts = 1; ts < PORT_MAX_TS; ts++) {
		if (!(p->bmask & (1u << ts)))
			continue;
		rc = dahdi_channel_open(m.basechan + ts - 1, false, idle);
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

int port_dahdi_event(struct port *p, int fd, int err)
{
	int edge = dahdi_take_events(fd, &p->counters);
	unsigned alarms = 0;
	char text[160];

	if (edge == -ENODEV) {
		snprintf(p->down_reason, sizeof(p->down_reason), "span %d removed", p->span);
		return -ENOLINK;
	}
	if (edge < 0)
		return edge;
	if (err && err != ELAST)
		return -err;	/* a real read error, not an event */
	if (!edge)
		return 0;
	/* An alarm came or went: the span's state now says which counts. */
	if (dahdi_span_alarms(fd, p->span, &alarms) < 0)
		return -EIO;
	p->alarms = alarms;
	if (!dahdi_alarm_is_down(alarms))
		return 0;
	snprintf(p->down_reason, sizeof(p->down_reason), "span %d alarm %s", p->span,
		 dahdi_alarm_text(alarms, text, sizeof(text)));
	return -ENOLINK;
}
