// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The synthetic E1 card (docs/synthetic-trunk.md): listening sockets, the
 * tick clock, per-timeslot queues, and the D-channel pump to the far end.
 */
#include "trunks/simcard.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/timerfd.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

/* E1: timeslots 1-15 and 17-31 carry speech, 16 the D-channel. */
#define E1_BMASK	(0xfffffffeu & ~(1u << SIMCARD_DCHANNEL))

/* epoll tags: what became ready. */
enum tag_kind {
	TAG_TIMER = 1,
	TAG_LISTEN,
	TAG_CLIENT,
	TAG_FAR,
};
#define TAG(kind, port, ts)	((uint64_t)(kind) << 32 | (uint64_t)(port) << 8 | (uint64_t)(ts))
#define TAG_KIND(t)		((int)((t) >> 32))
#define TAG_PORT(t)		((int)(((t) >> 8) & 0xff))
#define TAG_TS(t)		((int)((t) & 0xff))

/* Reads per ready fd per dispatch: keeps one chatty client from starving the rest. */
#define READS_PER_EVENT	8
#define EVENTS_PER_WAIT	128
#define WAITS_PER_DISPATCH	8

struct chan {
	int lfd;		/* listening socket, -1 while the port is down */
	int cfd;		/* the client, -1 when none */
	bool primed;		/* the client got a block: from now on it owes one per tick */
	bool awaiting;		/* lock-step: sent this tick, not answered yet */
	unsigned int qhead, qlen;
	uint8_t q[SIMCARD_QUEUE][SIMCARD_BLOCK];
};

struct simport {
	char path[PATH_MAX];
	bool up;
	uint32_t bmask;
	int far_fd;		/* the card's end of the far end's D-channel */
	int far_peer;		/* the far end's end (libpri runs on it) */
	struct chan ch[SIMCARD_TS];	/* ch[16] is the D-channel */
	struct simcard_stats stats;
};

struct simcard {
	struct simcard_ops ops;
	void *userdata;
	bool fast;
	int epfd, tfd;
	uint64_t tick;
	int64_t deadline_ns;	/* next tick at the latest (CLOCK_MONOTONIC) */
	bool clock_held;	/* tests: ticks only from simcard_tick_run() */
	int awaiting;		/* lock-step: channels that still owe an answer */
	int nports;
	uint8_t idle[SIMCARD_BLOCK];
	struct simport port[SIMCARD_MAX_PORTS];
};

static int64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000000000LL + ts.tv_nsec;
}

static int arm_timer(struct simcard *card)
{
	struct itimerspec its = {
		.it_value.tv_sec = card->deadline_ns / 1000000000LL,
		.it_value.tv_nsec = card->deadline_ns % 1000000000LL,
	};

	return timerfd_settime(card->tfd, TFD_TIMER_ABSTIME, &its, NULL) < 0 ? -errno : 0;
}

static int epoll_add(struct simcard *card, int fd, uint64_t tag)
{
	struct epoll_event ev = { .events = EPOLLIN, .data.u64 = tag };

	return epoll_ctl(card->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static int channel_path(const struct simport *p, int ts, struct sockaddr_un *ret_addr)
{
	size_t max = sizeof(ret_addr->sun_path);
	int n;

	memset(ret_addr, 0, sizeof(*ret_addr));
	ret_addr->sun_family = AF_UNIX;
	if (ts == SIMCARD_DCHANNEL)
		n = snprintf(ret_addr->sun_path, max, "%s/d", p->path);
	else
		n = snprintf(ret_addr->sun_path, max, "%s/%d", p->path, ts);
	return n < 0 || (size_t)n >= max ? -ENAMETOOLONG : 0;
}

static void client_close(struct simcard *card, struct chan *ch)
{
	if (ch->cfd < 0)
		return;
	close(ch->cfd);		/* also leaves the epoll set: never dup'ed */
	ch->cfd = -1;
	ch->primed = false;
	ch->qhead = ch->qlen = 0;
	if (ch->awaiting) {
		ch->awaiting = false;
		card->awaiting--;
	}
}

/*
 * A socket file left by a card that died: remove it. One that still answers
 * belongs to a live card, which we must not steal the port from.
 */
static int clear_stale(const struct sockaddr_un *addr)
{
	struct stat st;
	int fd, rc;

	if (lstat(addr->sun_path, &st) < 0)
		return errno == ENOENT ? 0 : -errno;
	if (!S_ISSOCK(st.st_mode))
		return -EEXIST;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	rc = connect(fd, (const struct sockaddr *)addr, sizeof(*addr));
	close(fd);
	if (rc == 0)
		return -EADDRINUSE;
	return unlink(addr->sun_path) < 0 && errno != ENOENT ? -errno : 0;
}

static int listen_channel(struct simcard *card, int index, int ts)
{
	struct simport *p = &card->port[index];
	struct sockaddr_un addr;
	int fd, rc;

	rc = channel_path(p, ts, &addr);
	if (rc)
		return rc;
	rc = clear_stale(&addr);
	if (rc)
		return rc;
	fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (bind(fd, (struct sockaddr *)&addr, sizeof(addr)) < 0 || listen(fd, 4) < 0) {
		rc = -errno;
		close(fd);
		return rc;
	}
	rc = epoll_add(card, fd, TAG(TAG_LISTEN, index, ts));
	if (rc) {
		close(fd);
		unlink(addr.sun_path);
		return rc;
	}
	p->ch[ts].lfd = fd;
	return 0;
}

/* bchannels as ranges: "1-15,17-31". */
static void format_ranges(uint32_t mask, char *buf, size_t size)
{
	size_t used = 0;

	buf[0] = '\0';
	for (int ts = 0; ts < SIMCARD_TS && used < size; ts++) {
		int end = ts;

		if (!(mask & (1u << ts)))
			continue;
		while (end + 1 < SIMCARD_TS && (mask & (1u << (end + 1))))
			end++;
		used += (size_t)snprintf(buf + used, size - used, "%s%d", used ? "," : "", ts);
		if (end > ts && used < size)
			used += (size_t)snprintf(buf + used, size - used, "-%d", end);
		ts = end;
	}
}

/* info goes in by rename, after every socket listens: seeing it means "connect now". */
static int write_info(const struct simport *p)
{
	char tmp[PATH_MAX + 16], final[PATH_MAX + 8], ranges[64];
	FILE *f;
	int rc = 0;

	if ((size_t)snprintf(tmp, sizeof(tmp), "%s/.info.tmp", p->path) >= sizeof(tmp) ||
	    (size_t)snprintf(final, sizeof(final), "%s/info", p->path) >= sizeof(final))
		return -ENAMETOOLONG;
	format_ranges(p->bmask, ranges, sizeof(ranges));
	f = fopen(tmp, "we");
	if (!f)
		return -errno;
	fprintf(f, "type=E1\nlaw=alaw\nbchannels=%s\ndchannel=%d\nblock=%d\n",
		ranges, SIMCARD_DCHANNEL, SIMCARD_BLOCK);
	if (fflush(f) != 0 || ferror(f))
		rc = -EIO;
	if (fclose(f) != 0 && !rc)
		rc = -errno;
	if (!rc && rename(tmp, final) < 0)
		rc = -errno;
	if (rc)
		unlink(tmp);
	return rc;
}

static void remove_info(const struct simport *p)
{
	char path[PATH_MAX + 8];

	snprintf(path, sizeof(path), "%s/info", p->path);
	unlink(path);
}

static void close_listeners(struct simcard *card, struct simport *p)
{
	for (int ts = 0; ts < SIMCARD_TS; ts++) {
		struct chan *ch = &p->ch[ts];
		struct sockaddr_un addr;

		client_close(card, ch);
		if (ch->lfd < 0)
			continue;
		close(ch->lfd);
		ch->lfd = -1;
		if (channel_path(p, ts, &addr) == 0)
			unlink(addr.sun_path);
	}
}

int simcard_port_up(struct simcard *card, int index)
{
	struct simport *p;
	int rc;

	if (index < 0 || index >= card->nports)
		return -EINVAL;
	p = &card->port[index];
	if (p->up)
		return 0;
	rc = listen_channel(card, index, SIMCARD_DCHANNEL);
	for (int ts = 1; !rc && ts < SIMCARD_TS; ts++)
		if (p->bmask & (1u << ts))
			rc = listen_channel(card, index, ts);
	if (!rc)
		rc = write_info(p);
	if (rc) {
		close_listeners(card, p);
		return rc;
	}
	p->up = true;
	return 0;
}

int simcard_port_down(struct simcard *card, int index)
{
	struct simport *p;

	if (index < 0 || index >= card->nports)
		return -EINVAL;
	p = &card->port[index];
	if (!p->up)
		return 0;
	/* info first: a client that looks now sees the line gone, not half of it. */
	remove_info(p);
	close_listeners(card, p);
	p->up = false;
	return 0;
}

int simcard_new(const struct simcard_ops *ops, void *userdata, bool fast, struct simcard **ret_card)
{
	struct simcard *card = calloc(1, sizeof(*card));
	int rc;

	if (!card)
		return -ENOMEM;
	card->ops = *ops;
	card->userdata = userdata;
	card->fast = fast;
	memset(card->idle, SIMCARD_IDLE_ALAW, sizeof(card->idle));
	card->tfd = -1;
	card->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (card->epfd < 0)
		goto fail_errno;
	card->tfd = timerfd_create(CLOCK_MONOTONIC, TFD_NONBLOCK | TFD_CLOEXEC);
	if (card->tfd < 0)
		goto fail_errno;
	rc = epoll_add(card, card->tfd, TAG(TAG_TIMER, 0, 0));
	if (rc)
		goto fail;
	card->deadline_ns = now_ns() + SIMCARD_TICK_NS;
	rc = arm_timer(card);
	if (rc)
		goto fail;
	*ret_card = card;
	return 0;
fail_errno:
	rc = -errno;
fail:
	simcard_free(card);
	return rc;
}

void simcard_free(struct simcard *card)
{
	if (!card)
		return;
	for (int i = 0; i < card->nports; i++) {
		struct simport *p = &card->port[i];

		simcard_port_down(card, i);
		if (p->far_fd >= 0)
			close(p->far_fd);
		if (p->far_peer >= 0)
			close(p->far_peer);
		rmdir(p->path);		/* only if empty: never someone else's files */
	}
	if (card->tfd >= 0)
		close(card->tfd);
	if (card->epfd >= 0)
		close(card->epfd);
	free(card);
}

int simcard_port_add(struct simcard *card, const char *path)
{
	struct sockaddr_un probe;
	struct simport *p;
	int index = card->nports, rc, sv[2];

	if (index >= SIMCARD_MAX_PORTS)
		return -ENOSPC;
	p = &card->port[index];
	memset(p, 0, sizeof(*p));
	p->far_fd = p->far_peer = -1;
	for (int ts = 0; ts < SIMCARD_TS; ts++)
		p->ch[ts].lfd = p->ch[ts].cfd = -1;
	if ((size_t)snprintf(p->path, sizeof(p->path), "%s", path) >= sizeof(p->path))
		return -ENAMETOOLONG;
	/* The longest socket name ("31") must fit a sockaddr_un. */
	rc = channel_path(p, 31, &probe);
	if (rc)
		return rc;
	p->bmask = E1_BMASK;
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		return -errno;
	/* Message boundaries matter: libpri needs one frame per read (notes/libpri.md). */
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	p->far_fd = sv[0];
	p->far_peer = sv[1];
	card->nports++;
	rc = epoll_add(card, p->far_fd, TAG(TAG_FAR, index, 0));
	if (!rc)
		rc = simcard_port_up(card, index);
	if (rc) {
		card->nports--;
		close(p->far_fd);
		close(p->far_peer);
		p->far_fd = p->far_peer = -1;
		return rc;
	}
	return index;
}

int simcard_port_far_fd(const struct simcard *card, int index)
{
	if (index < 0 || index >= card->nports)
		return -EINVAL;
	return card->port[index].far_peer;
}

bool simcard_port_connected(const struct simcard *card, int index)
{
	if (index < 0 || index >= card->nports)
		return false;
	return card->port[index].ch[SIMCARD_DCHANNEL].cfd >= 0;
}

void simcard_port_stats(const struct simcard *card, int index, struct simcard_stats *ret_stats)
{
	if (index < 0 || index >= card->nports) {
		memset(ret_stats, 0, sizeof(*ret_stats));
		return;
	}
	*ret_stats = card->port[index].stats;
}

int simcard_fd(const struct simcard *card)
{
	return card->epfd;
}

uint64_t simcard_tick(const struct simcard *card)
{
	return card->tick;
}

static bool fast_ready(const struct simcard *card)
{
	if (!card->fast || card->awaiting)
		return false;
	/* Only clients set the pace: with nobody connected, fall back to the clock. */
	for (int i = 0; i < card->nports; i++) {
		const struct simport *p = &card->port[i];

		for (int ts = 1; p->up && ts < SIMCARD_TS; ts++)
			if ((p->bmask & (1u << ts)) && p->ch[ts].cfd >= 0)
				return true;
	}
	return false;
}

int simcard_timeout_ms(const struct simcard *card)
{
	int64_t left;

	if (fast_ready(card))
		return 0;
	left = card->deadline_ns - now_ns();
	if (left <= 0)
		return 0;
	/* Round up: waking early only costs a spin; the timerfd wakes us on time anyway. */
	return (int)((left + 999999) / 1000000);
}

static void accept_client(struct simcard *card, int index, int ts)
{
	struct simport *p = &card->port[index];
	struct chan *ch = &p->ch[ts];

	for (int i = 0; i < READS_PER_EVENT; i++) {
		int fd = accept4(ch->lfd, NULL, NULL, SOCK_NONBLOCK | SOCK_CLOEXEC);

		if (fd < 0)
			return;
		if (ch->cfd >= 0) {
			/* One client per channel, as one process per DAHDI channel. */
			close(fd);
			p->stats.refused++;
			continue;
		}
		if (epoll_add(card, fd, TAG(TAG_CLIENT, index, ts))) {
			close(fd);
			continue;
		}
		ch->cfd = fd;
		ch->primed = false;
		ch->qhead = ch->qlen = 0;
	}
}

/* Anything but "nothing to read now" ends the connection. */
static bool read_failed(ssize_t n)
{
	return n == 0 || (n < 0 && errno != EAGAIN && errno != EINTR);
}

static void read_dchannel(struct simcard *card, struct simport *p)
{
	struct chan *ch = &p->ch[SIMCARD_DCHANNEL];
	uint8_t frame[SIMCARD_MAX_FRAME];

	for (int i = 0; i < READS_PER_EVENT && ch->cfd >= 0; i++) {
		ssize_t n = recv(ch->cfd, frame, sizeof(frame), MSG_DONTWAIT);

		if (read_failed(n)) {
			client_close(card, ch);
			return;
		}
		if (n < 0)
			return;
		/* A full far end loses the frame, like a line: Q.921 retransmits. */
		if (send(p->far_fd, frame, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n)
			p->stats.d_to_far++;
		else
			p->stats.d_dropped++;
	}
}

static void read_far(struct simcard *card, struct simport *p)
{
	struct chan *ch = &p->ch[SIMCARD_DCHANNEL];
	uint8_t frame[SIMCARD_MAX_FRAME];

	(void)card;
	for (int i = 0; i < READS_PER_EVENT; i++) {
		ssize_t n = recv(p->far_fd, frame, sizeof(frame), MSG_DONTWAIT);

		if (n <= 0)
			return;
		/* Nobody on the line (or it is down): the frame is lost. */
		if (ch->cfd >= 0 && send(ch->cfd, frame, (size_t)n, MSG_DONTWAIT | MSG_NOSIGNAL) == n)
			p->stats.d_to_client++;
		else
			p->stats.d_dropped++;
	}
}

static void read_bchannel(struct simcard *card, struct simport *p, int ts)
{
	struct chan *ch = &p->ch[ts];

	for (int i = 0; i < READS_PER_EVENT && ch->cfd >= 0; i++) {
		uint8_t buf[SIMCARD_BLOCK + 1];
		ssize_t n = recv(ch->cfd, buf, sizeof(buf), MSG_DONTWAIT);

		if (read_failed(n)) {
			client_close(card, ch);
			return;
		}
		if (n < 0)
			return;
		if (n != SIMCARD_BLOCK) {
			p->stats.bad_blocks++;
			continue;
		}
		if (ch->qlen == SIMCARD_QUEUE) {
			/* Keep the newest: the line is real time, old audio is worthless. */
			ch->qhead = (ch->qhead + 1) % SIMCARD_QUEUE;
			ch->qlen--;
			p->stats.overruns++;
		}
		memcpy(ch->q[(ch->qhead + ch->qlen) % SIMCARD_QUEUE], buf, SIMCARD_BLOCK);
		ch->qlen++;
		if (ch->awaiting) {
			ch->awaiting = false;
			card->awaiting--;
		}
	}
}

static void tick_run(struct simcard *card, bool manual)
{
	uint8_t out[SIMCARD_BLOCK];
	int64_t now = now_ns();

	card->tick++;
	/* A tick restarts the lock-step count: answers owed to the last one are forgiven. */
	for (int i = 0; i < card->nports; i++)
		for (int ts = 0; ts < SIMCARD_TS; ts++)
			card->port[i].ch[ts].awaiting = false;
	card->awaiting = 0;

	/* Line → far end first: what the client answered to the previous tick. */
	for (int i = 0; i < card->nports; i++) {
		struct simport *p = &card->port[i];

		for (int ts = 1; p->up && ts < SIMCARD_TS; ts++) {
			struct chan *ch = &p->ch[ts];
			const uint8_t *in = card->idle;

			if (!(p->bmask & (1u << ts)))
				continue;
			if (ch->cfd >= 0 && ch->qlen) {
				in = ch->q[ch->qhead];
				ch->qhead = (ch->qhead + 1) % SIMCARD_QUEUE;
				ch->qlen--;
			} else if (ch->cfd >= 0 && ch->primed) {
				p->stats.underruns++;
			}
			card->ops.far_receive(card->userdata, i, ts, card->tick, in);
		}
	}
	/* Far end → client, in timeslot order per port. */
	for (int i = 0; i < card->nports; i++) {
		struct simport *p = &card->port[i];

		for (int ts = 1; p->up && ts < SIMCARD_TS; ts++) {
			struct chan *ch = &p->ch[ts];

			if (!(p->bmask & (1u << ts)))
				continue;
			card->ops.far_send(card->userdata, i, ts, card->tick, out);
			if (ch->cfd < 0)
				continue;
			if (send(ch->cfd, out, sizeof(out), MSG_DONTWAIT | MSG_NOSIGNAL) == (ssize_t)sizeof(out)) {
				ch->primed = true;
				if (card->fast) {
					ch->awaiting = true;
					card->awaiting++;
				}
			} else if (errno == EAGAIN) {
				p->stats.send_dropped++;
			} else {
				client_close(card, ch);
			}
		}
	}

	if (card->fast) {
		card->deadline_ns = now + (card->awaiting ? SIMCARD_FAST_TIMEOUT_NS : SIMCARD_TICK_NS);
	} else if (manual) {
		card->deadline_ns = now + SIMCARD_TICK_NS;
	} else {
		card->deadline_ns += SIMCARD_TICK_NS;
		if (card->deadline_ns <= now) {
			/*
			 * A whole tick late (stopped process, overloaded host): the
			 * line slips and the schedule restarts from now. Catching up
			 * with ticks back to back would give the client no time to
			 * answer the blocks just sent and count its "underruns" for
			 * the card's own lateness: in the bench, 14 of 15 unclean
			 * runs were that (bench/results/2026-11-29-relay-priority).
			 * A real card's clock does not stall; a client that is late
			 * still shows as underruns.
			 */
			for (int i = 0; i < card->nports; i++)
				card->port[i].stats.ticks_late++;
			card->deadline_ns = now + SIMCARD_TICK_NS;
		}
	}
	arm_timer(card);
}

void simcard_hold_clock(struct simcard *card)
{
	card->clock_held = true;
}

void simcard_tick_run(struct simcard *card)
{
	tick_run(card, true);
}

static void handle_event(struct simcard *card, uint64_t tag)
{
	int index = TAG_PORT(tag), ts = TAG_TS(tag);
	struct simport *p = &card->port[index];
	uint64_t expirations;

	switch (TAG_KIND(tag)) {
	case TAG_TIMER:
		if (read(card->tfd, &expirations, sizeof(expirations)) < 0)
			return;
		return;
	case TAG_LISTEN:
		if (p->ch[ts].lfd >= 0)
			accept_client(card, index, ts);
		return;
	case TAG_CLIENT:
		if (ts == SIMCARD_DCHANNEL)
			read_dchannel(card, p);
		else
			read_bchannel(card, p, ts);
		return;
	case TAG_FAR:
		read_far(card, p);
		return;
	}
}

int simcard_dispatch(struct simcard *card)
{
	struct epoll_event evs[EVENTS_PER_WAIT];
	int64_t now;

	for (int round = 0; round < WAITS_PER_DISPATCH; round++) {
		int n = epoll_wait(card->epfd, evs, EVENTS_PER_WAIT, 0);

		if (n < 0 && errno != EINTR)
			return -errno;
		/* Tags name channels, not fds: a stale event only costs an EAGAIN. */
		for (int i = 0; i < n; i++)
			handle_event(card, evs[i].data.u64);
		if (n < EVENTS_PER_WAIT)
			break;
	}
	now = now_ns();
	if (card->clock_held)
		return 0;
	if (fast_ready(card) || now >= card->deadline_ns) {
		if (card->fast && card->awaiting && now >= card->deadline_ns)
			for (int i = 0; i < card->nports; i++)
				card->port[i].stats.fast_timeouts++;
		tick_run(card, false);
		return 1;
	}
	return 0;
}
