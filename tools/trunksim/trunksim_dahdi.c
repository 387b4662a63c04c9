// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunksim's DAHDI back end: the far ends (carrier, PBX) behind real DAHDI
 * spans instead of the synthetic card, so that trunkrecd's DAHDI driver is
 * tested against the kernel's DAHDI (tests/vm/, docs/dahdi.md).
 *
 * It offers trunksim what the synthetic card does (struct sim_card_ops):
 * - each far end's D-channel is one end of a socketpair that lives as long
 *   as the card; frames are pumped to and from the span's HDLC channel, so a
 *   span taken away (--line-down) leaves libpri's fd alone, as on a wire;
 * - every block DAHDI delivers on a B-channel goes to far_receive() and is
 *   answered at once by one block from far_send(): DAHDI's clock drives both
 *   directions, and the transmit queue keeps the depth it was primed with;
 * - ticks are 20 ms of the monotonic clock (the DAHDI timer follows it too).
 * --line-down destroys the far end's dynamic span (DAHDI_DYNAMIC_DESTROY) and
 * makes it again with the same channels: loss of signal for trunkrecd.
 *
 * Thread: trunksim's one thread.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <dahdi/user.h>

#include "tools/trunksim/trunksim.h"
#include "trunks/dahdi.h"
#include "trunks/port.h"

#define TAG_FAR		0	/* our end of the far end's socketpair */
#define TAG_DCHAN	SIMCARD_TS	/* the span's HDLC channel */
#define TAG(port, what)	((uint64_t)(port) << 8 | (uint64_t)(what))

struct dport {
	struct dahdi_span_map map;
	char driver[20], addr[40];	/* dynamic span: how to make it again */
	bool dynamic;
	bool up;
	int dfd;			/* -1 while down */
	int far[2];			/* [0] libpri's, [1] ours */
	int bfd[SIMCARD_TS];
	struct simcard_stats st;
	struct port_counters counters;
};

struct dcard {
	const struct simcard_ops *ops;
	void *userdata;
	int epfd;
	int nports;
	struct dport port[SIMCARD_MAX_PORTS];
	uint64_t tick;
	int64_t start_ns;
};

static int64_t mono_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static int watch(struct dcard *d, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI, .data.u64 = tag };

	return epoll_ctl(d->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static void close_channels(struct dport *p)
{
	if (p->dfd >= 0)
		close(p->dfd);
	p->dfd = -1;
	for (int ts = 0; ts < SIMCARD_TS; ts++) {
		if (p->bfd[ts] >= 0)
			close(p->bfd[ts]);
		p->bfd[ts] = -1;
	}
	p->up = false;
}

/* Open the span's channels (the map says which) and watch them. */
static int open_channels(struct dcard *d, int idx)
{
	struct dport *p = &d->port[idx];
	int rc = dahdi_channel_open(p->map.basechan + p->map.dchan_pos - 1, true, SIMCARD_IDLE_ALAW);

	if (rc < 0)
		return rc;
	p->dfd = rc;
	rc = watch(d, p->dfd, TAG(idx, TAG_DCHAN));
	for (int ts = 1; ts < SIMCARD_TS && !rc; ts++) {
		if (!(p->map.bmask & (1u << ts)))
			continue;
		rc = dahdi_channel_open(p->map.basechan + ts - 1, false, SIMCARD_IDLE_ALAW);
		if (rc < 0)
			break;
		p->bfd[ts] = rc;
		rc = watch(d, rc, TAG(idx, ts));
	}
	if (rc < 0) {
		close_channels(p);
		return rc;
	}
	p->up = true;
	return 0;
}

int sim_dahdi_new(const struct simcard_ops *ops, void *userdata, void **ret_card)
{
	struct dcard *d = calloc(1, sizeof(*d));

	if (!d)
		return -ENOMEM;
	d->ops = ops;
	d->userdata = userdata;
	d->start_ns = mono_ns();
	d->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (d->epfd < 0) {
		int err = -errno;

		free(d);
		return err;
	}
	*ret_card = d;
	return 0;
}

int sim_dahdi_port_add(void *card, int span)
{
	struct dcard *d = card;
	struct dport *p;
	int idx = d->nports, rc;

	if (idx == SIMCARD_MAX_PORTS)
		return -ENOSPC;
	p = &d->port[idx];
	memset(p, 0, sizeof(*p));
	p->dfd = p->far[0] = p->far[1] = -1;
	for (int ts = 0; ts < SIMCARD_TS; ts++)
		p->bfd[ts] = -1;
	rc = dahdi_span_map(span, &p->map);
	if (rc)
		return rc;
	if (p->map.law != DAHDI_LAW_ALAW)
		return -EPROTONOSUPPORT;	/* the far ends' audio checks are A-law (E1) */
	/* "DYN/loc/1:0": a dynamic span, which --line-down can take away and bring back. */
	p->dynamic = sscanf(p->map.name, "DYN/%19[^/]/%39s", p->driver, p->addr) == 2;
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, p->far) < 0)
		return -errno;
	rc = watch(d, p->far[1], TAG(idx, TAG_FAR));
	if (!rc)
		rc = open_channels(d, idx);
	if (rc) {
		close(p->far[0]);
		close(p->far[1]);
		return rc;
	}
	d->nports++;
	return idx;
}

/* ---- the line: D-channel frames both ways, B-channel blocks ---- */

static void take_events(struct dcard *d, int idx, int fd)
{
	if (dahdi_take_events(fd, &d->port[idx].counters) == -ENODEV)
		close_channels(&d->port[idx]);
}

static void pump_to_line(struct dcard *d, int idx)
{
	struct dport *p = &d->port[idx];
	uint8_t frame[SIMCARD_MAX_FRAME];

	for (;;) {
		ssize_t n = recv(p->far[1], frame, sizeof(frame), 0);

		if (n <= 0)
			return;
		if (p->up && write(p->dfd, frame, (size_t)n) == n)
			p->st.d_to_client++;
		else
			p->st.d_dropped++;	/* no line: lost like on a wire; Q.921 retransmits */
	}
}

static void pump_from_line(struct dcard *d, int idx)
{
	struct dport *p = &d->port[idx];
	uint8_t frame[SIMCARD_MAX_FRAME];

	while (p->up) {
		ssize_t n = read(p->dfd, frame, sizeof(frame));

		if (n < 0 && errno == ELAST) {
			take_events(d, idx, p->dfd);
			continue;
		}
		if (n <= 0)
			return;
		if (send(p->far[1], frame, (size_t)n, 0) == n)
			p->st.d_to_far++;
		else
			p->st.d_dropped++;
	}
}

static void bchannel(struct dcard *d, int idx, int ts)
{
	struct dport *p = &d->port[idx];
	uint8_t in[SIMCARD_BLOCK], out[SIMCARD_BLOCK];

	for (int i = 0; i < DAHDI_PORT_NUMBUFS && p->up; i++) {
		ssize_t n = read(p->bfd[ts], in, sizeof(in));

		if (n < 0 && errno == ELAST) {
			take_events(d, idx, p->bfd[ts]);
			continue;
		}
		if (n <= 0)
			return;
		if (n != SIMCARD_BLOCK) {
			p->st.bad_blocks++;
			continue;
		}
		d->ops->far_receive(d->userdata, idx, ts, d->tick, in);
		/* One block out for each block in: the line's own clock paces the far end. */
		d->ops->far_send(d->userdata, idx, ts, d->tick, out);
		if (write(p->bfd[ts], out, sizeof(out)) != (ssize_t)sizeof(out))
			p->st.send_dropped++;
	}
}

static int dcard_dispatch(void *card)
{
	struct dcard *d = card;
	struct epoll_event evs[64];
	uint64_t due;
	int n;

	do {
		n = epoll_wait(d->epfd, evs, 64, 0);
		if (n < 0)
			return errno == EINTR ? 0 : -errno;
		for (int i = 0; i < n; i++) {
			int idx = (int)(evs[i].data.u64 >> 8), what = (int)(evs[i].data.u64 & 0xff);
			struct dport *p = &d->port[idx];

			if (what == TAG_FAR) {
				pump_to_line(d, idx);
				continue;
			}
			if (!p->up)
				continue;	/* closed by an earlier event of this batch */
			if (evs[i].events & EPOLLPRI)
				take_events(d, idx, what == TAG_DCHAN ? p->dfd : p->bfd[what]);
			if (what == TAG_DCHAN)
				pump_from_line(d, idx);
			else if (p->up)
				bchannel(d, idx, what);
		}
	} while (n == 64);
	due = (uint64_t)((mono_ns() - d->start_ns) / SIMCARD_TICK_NS) + 1;
	if (d->tick >= due)
		return 0;
	d->tick++;
	return 1;
}

static int dcard_timeout_ms(const void *card)
{
	const struct dcard *d = card;
	int64_t next = d->start_ns + (int64_t)d->tick * SIMCARD_TICK_NS - mono_ns();

	return next <= 0 ? 0 : (int)(next / 1000000) + 1;
}

static uint64_t dcard_tick(const void *card)
{
	return ((const struct dcard *)card)->tick;
}

static int dcard_fd(const void *card)
{
	return ((const struct dcard *)card)->epfd;
}

static int dcard_port_far_fd(const void *card, int port)
{
	return ((const struct dcard *)card)->port[port].far[0];
}

static void dcard_port_stats(const void *card, int port, struct simcard_stats *ret_stats)
{
	const struct dport *p = &((const struct dcard *)card)->port[port];

	*ret_stats = p->st;
	/* What the kernel saw, in the synthetic card's terms. */
	ret_stats->overruns = p->counters.read_overruns;
	ret_stats->underruns = p->counters.write_underruns;
}

static int dynamic_span_ioctl(struct dport *p, unsigned long request, int *ret_span)
{
	struct dahdi_dynamic_span ds;
	int ctl = open("/dev/dahdi/ctl", O_RDWR | O_CLOEXEC), rc = 0;

	if (ctl < 0)
		return -errno;
	memset(&ds, 0, sizeof(ds));
	snprintf(ds.driver, sizeof(ds.driver), "%s", p->driver);
	snprintf(ds.addr, sizeof(ds.addr), "%s", p->addr);
	ds.numchans = p->map.nchans;
	if (ioctl(ctl, request, &ds) < 0)
		rc = -errno;
	else if (ret_span)
		*ret_span = ds.spanno;
	close(ctl);
	return rc;
}

/* Loss of signal: the span goes away; its peer (trunkrecd's) falls into RED alarm. */
static int dcard_port_down(void *card, int port)
{
	struct dport *p = &((struct dcard *)card)->port[port];

	if (!p->dynamic)
		return -EOPNOTSUPP;
	close_channels(p);	/* DAHDI refuses to destroy a span with open channels */
	return dynamic_span_ioctl(p, DAHDI_DYNAMIC_DESTROY, NULL);
}

/* The span comes back as system.conf made it: same address, channel types and law. */
static int dcard_port_up(void *card, int port)
{
	struct dcard *d = card;
	struct dport *p = &d->port[port];
	struct dahdi_span_map was = p->map;
	int span = 0, ctl, rc = dynamic_span_ioctl(p, DAHDI_DYNAMIC_CREATE, &span);

	if (rc)
		return rc;
	/* A new span's channels have no type yet (-ENOLINK): this gives them theirs. */
	rc = dahdi_span_map(span, &p->map);
	if (rc && rc != -ENOLINK)
		return rc;
	rc = 0;
	ctl = open("/dev/dahdi/ctl", O_RDWR | O_CLOEXEC);
	if (ctl < 0)
		return -errno;
	for (int pos = 1; pos <= p->map.nchans && !rc; pos++) {
		struct dahdi_chanconfig cc;

		memset(&cc, 0, sizeof(cc));
		cc.chan = p->map.basechan + pos - 1;
		cc.deflaw = was.law;
		if (pos == was.dchan_pos)
			cc.sigtype = DAHDI_SIG_HDLCFCS;
		else if (was.bmask & (1u << pos))
			cc.sigtype = DAHDI_SIG_CLEAR;
		else
			continue;
		if (ioctl(ctl, DAHDI_CHANCONFIG, &cc) < 0)
			rc = -errno;
	}
	close(ctl);
	if (!rc)
		rc = dahdi_span_map(span, &p->map);
	return rc ? rc : open_channels(d, port);
}

static void dcard_free(void *card)
{
	struct dcard *d = card;

	if (!d)
		return;
	for (int i = 0; i < d->nports; i++) {
		close_channels(&d->port[i]);
		close(d->port[i].far[0]);
		close(d->port[i].far[1]);
	}
	close(d->epfd);
	free(d);
}

const struct sim_card_ops sim_dahdi_ops = {
	.link_settle_ticks = 100,	/* 2 s: 2 x T200 */
	.port_far_fd = dcard_port_far_fd,
	.port_down = dcard_port_down,
	.port_up = dcard_port_up,
	.port_stats = dcard_port_stats,
	.fd = dcard_fd,
	.dispatch = dcard_dispatch,
	.timeout_ms = dcard_timeout_ms,
	.tick = dcard_tick,
	.free = dcard_free,
};
