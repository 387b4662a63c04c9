// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dahdi_reads: how should a recorder read hundreds of DAHDI B-channels?
 * Runs inside the DAHDI VM (tests/vm/run.sh BUILD bench; results in
 * docs/dahdi.md). Every clear channel of the given spans is opened like
 * trunkrecd opens them (non-blocking, DAHDI_PORT_NUMBUFS buffers, buffer
 * events on, DAHDI_PORT_PRIME idle blocks written ahead) and serviced like
 * trunkrecd's relay does: each block read is answered by one block written
 * (here back to the same channel; trunkrecd writes it to the other port).
 * Methods:
 *
 *   poll       one poll() over every fd; per ready fd one read() + one write()
 *   epoll      level-triggered epoll_wait(); the same per ready fd (trunkrecd's relay)
 *   uring      io_uring: one IORING_OP_READ in flight per channel (DAHDI's poll
 *              wakes it inside the kernel), re-queued with an IORING_OP_WRITE for
 *              each block (no completion unless it fails), one io_uring_enter per
 *              batch that submits and waits
 *   uring-poll io_uring: a multishot IORING_OP_POLL_ADD per channel; each readiness
 *              queues an IORING_OP_READ, each block an IORING_OP_WRITE
 *   uring-wq   as uring, but with blocking fds: io_uring cannot try DAHDI's read
 *              without blocking, so every read goes to an io-wq kernel thread
 *   NAME:BYTES any of these with BYTES-byte blocks (DAHDI_SET_BLOCKSIZE; 160 = 20 ms)
 *
 * Each method first runs WARMUP_S unmeasured (opening 240 channels takes a
 * while under emulation, and the open itself queues an underrun), then
 * SECONDS measured. Reported per method: CPU time of the process (user+sys,
 * all its threads, io-wq workers included) as a share of one CPU, system
 * calls per second, wake-ups (returns from the waiting call) per second,
 * each channel's bytes per second (8000 when nothing was lost), DAHDI's
 * overrun and underrun events, writes that did not fit, reads that found
 * nothing (EAGAIN), the threads the process had at the end (io-wq workers
 * show there), and the latency of one hop through DAHDI (fill_tx(): min/median/max).
 * The spans must be linked in pairs (1-2, 3-4, …) as tests/vm/bench.sh does.
 *
 *   dahdi_reads [-m METHOD[:BYTES],...] SECONDS SPAN...
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#include <dahdi/user.h>

#include "trunks/dahdi.h"
#include "trunks/port.h"

#define MAX_CHANS	1024
#define MAX_BLOCK	1024
#define WARMUP_S	0.5
#define WAIT_MS		100
#define DEFAULT_METHODS	"poll,epoll,uring,uring-poll,epoll:320,epoll:480,epoll:800,uring:800,uring-wq"

enum kind { K_POLL, K_EPOLL, K_URING, K_URING_POLL, K_URING_WQ };

/* io_uring user_data: channel index in the low bits, the operation above. */
enum op { OP_READ = 1, OP_WRITE, OP_POLL };
#define UD(op, i)	(((uint64_t)(op) << 32) | (uint32_t)(i))
#define UD_OP(ud)	((enum op)((ud) >> 32))
#define UD_CHAN(ud)	((int)(uint32_t)(ud))

struct chan {
	int channo, span, pos, peer, fd;
	unsigned long bytes, overruns, underruns, other_events, write_short, empty_reads, errors;
	uint8_t rx[MAX_BLOCK], tx[MAX_BLOCK];
};

static struct chan chans[MAX_CHANS];
static int nchans, block;
static unsigned long syscalls, wakeups, open_events;
static const char *current = "";

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/*
 * Latency: now and then one channel writes a marker block (every byte the same
 * value, not A-law idle) instead of echoing; the time from that write() until
 * the peer channel (the same timeslot of the linked span) reads the marker's
 * first byte is what one hop through DAHDI costs a relay: the transmit queue
 * (DAHDI_PORT_PRIME blocks ahead), the peer's receive block filling, the wake-up.
 */
#define MARK_EVERY_S	0.1
#define MARK_TIMEOUT_S	1.0
#define MAX_MARKS	256
static struct {
	int from, to;		/* channel indexes; from < 0: none in flight */
	uint8_t value;
	double sent, next;
	int n, lost;
	double ms[MAX_MARKS];
} mark = { .from = -1 };

static void mark_reset(double now)
{
	mark.from = -1;
	mark.n = mark.lost = 0;
	mark.next = now + MARK_EVERY_S;
}

/* Channel i is about to write len bytes from its rx: the marker instead, when one is due. */
static void fill_tx(int i, unsigned len)
{
	struct chan *c = &chans[i];
	double now = now_s();

	if (mark.from >= 0 && now - mark.sent > MARK_TIMEOUT_S) {
		mark.lost++;
		mark.from = -1;
	}
	if (mark.from < 0 && now >= mark.next && c->peer >= 0) {
		mark.value = (uint8_t)(mark.value % 0x40 + 1);	/* 0x01..0x40: never idle (0xd5) */
		memset(c->tx, mark.value, len);
		mark.from = i;
		mark.to = c->peer;
		mark.sent = now;
		mark.next = now + MARK_EVERY_S;
		return;
	}
	memcpy(c->tx, c->rx, len);
}

/* Channel i read n bytes: is the marker in them? */
static void check_rx(int i, long n)
{
	if (mark.from < 0 || i != mark.to || !memchr(chans[i].rx, mark.value, (size_t)n))
		return;
	if (mark.n < MAX_MARKS)
		mark.ms[mark.n++] = 1000 * (now_s() - mark.sent);
	mark.from = -1;
}

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int threads(void)
{
	DIR *d = opendir("/proc/self/task");
	struct dirent *e;
	int n = 0;

	if (!d)
		return -1;
	while ((e = readdir(d)))
		n += e->d_name[0] != '.';
	closedir(d);
	return n;
}

/* A method that never returns must not hang the VM run: say which and stop. */
static void watchdog(int sig)
{
	static const char msg[] = "dahdi_reads: stuck in method ";

	(void)sig;
	if (write(2, msg, sizeof(msg) - 1) < 0 || write(2, current, strlen(current)) < 0 || write(2, "\n", 1) < 0)
		_exit(3);
	_exit(3);
}

static int open_all(bool nonblock)
{
	struct dahdi_bufferinfo bi = {
		.txbufpolicy = DAHDI_POLICY_IMMEDIATE, .rxbufpolicy = DAHDI_POLICY_IMMEDIATE,
		.numbufs = DAHDI_PORT_NUMBUFS, .bufsize = block,
	};
	int one = 1;
	uint8_t idle[MAX_BLOCK];

	memset(idle, 0xd5, sizeof(idle));	/* A-law silence */
	for (int i = 0; i < nchans; i++) {
		struct chan *c = &chans[i];
		int bs = block;

		c->fd = open("/dev/dahdi/channel", O_RDWR | O_NONBLOCK | O_CLOEXEC);
		if (c->fd < 0 || ioctl(c->fd, DAHDI_SPECIFY, &c->channo) < 0 ||
		    ioctl(c->fd, DAHDI_SET_BLOCKSIZE, &bs) < 0 || ioctl(c->fd, DAHDI_SET_BUFINFO, &bi) < 0) {
			fprintf(stderr, "dahdi_reads: channel %d: %s\n", c->channo, strerror(errno));
			return -1;
		}
		/*
		 * Idle blocks ahead, as trunkrecd does. A write() fails with ELAST while
		 * an event is queued (dahdi_chan_write), and one can be queued already:
		 * DAHDI keeps DAHDI_FLAGBIT_BUFEVENTS across close and open (close_channel
		 * does not clear it), so on a channel that had buffer events before, the
		 * first tick after open finds the transmit ring empty and queues
		 * WRITE_UNDERRUN. Take such events and write again.
		 */
		for (int k = 0, tries = 0; k < DAHDI_PORT_PRIME; ) {
			if (write(c->fd, idle, (size_t)block) == block) {
				k++;
				continue;
			}
			if (errno == ELAST && tries++ < 8) {
				int ev;

				ioctl(c->fd, DAHDI_GETEVENT, &ev);
				open_events++;
				continue;
			}
			fprintf(stderr, "dahdi_reads: channel %d: prime: %s\n", c->channo, strerror(errno));
			return -1;
		}
		if (ioctl(c->fd, DAHDI_BUFFER_EVENTS, &one) < 0) {
			fprintf(stderr, "dahdi_reads: channel %d: %s\n", c->channo, strerror(errno));
			return -1;
		}
		if (!nonblock && fcntl(c->fd, F_SETFL, 0) < 0)
			return -1;
	}
	return 0;
}

static void close_all(void)
{
	for (int i = 0; i < nchans; i++)
		close(chans[i].fd);
}

static void reset_counts(void)
{
	for (int i = 0; i < nchans; i++) {
		struct chan *c = &chans[i];

		c->bytes = c->overruns = c->underruns = c->other_events = 0;
		c->write_short = c->empty_reads = c->errors = 0;
	}
	syscalls = wakeups = 0;
}

/* Take one queued DAHDI event (a read failed with ELAST, or POLLPRI) and count it. */
static void take_event(struct chan *c)
{
	int ev = 0;

	syscalls++;
	if (ioctl(c->fd, DAHDI_GETEVENT, &ev) < 0) {
		c->errors++;
		return;
	}
	if (ev == DAHDI_EVENT_READ_OVERRUN)
		c->overruns++;
	else if (ev == DAHDI_EVENT_WRITE_UNDERRUN)
		c->underruns++;
	else if (ev != DAHDI_EVENT_NONE)
		c->other_events++;
}

/* poll/epoll: one ready fd, as trunkrecd's relay serves it: one read, one write. */
static void serve(struct chan *c, bool pri)
{
	ssize_t n;

	if (pri)
		take_event(c);
	for (int tries = 0; tries < 4; tries++) {
		n = read(c->fd, c->rx, (size_t)block);
		syscalls++;
		if (n > 0) {
			c->bytes += (unsigned long)n;
			check_rx((int)(c - chans), n);
			fill_tx((int)(c - chans), (unsigned)n);
			syscalls++;
			if (write(c->fd, c->tx, (size_t)n) != n)
				c->write_short++;
			return;
		}
		if (n < 0 && errno == ELAST) {
			take_event(c);
			continue;
		}
		if (n < 0 && errno == EAGAIN)
			c->empty_reads++;
		else
			c->errors++;
		return;
	}
}

static void run_poll(double until)
{
	static struct pollfd pf[MAX_CHANS];

	for (int i = 0; i < nchans; i++)
		pf[i] = (struct pollfd){ .fd = chans[i].fd, .events = POLLIN | POLLPRI };
	while (now_s() < until) {
		int n = poll(pf, (nfds_t)nchans, WAIT_MS);

		syscalls++;
		wakeups++;
		for (int i = 0; i < nchans && n > 0; i++)
			if (pf[i].revents) {
				serve(&chans[i], pf[i].revents & POLLPRI);
				n--;
			}
	}
}

static int ep = -1;

static void setup_epoll(void)
{
	ep = epoll_create1(EPOLL_CLOEXEC);
	for (int i = 0; i < nchans; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI, .data.u32 = (uint32_t)i };

		epoll_ctl(ep, EPOLL_CTL_ADD, chans[i].fd, &ev);
	}
}

static void run_epoll(double until)
{
	static struct epoll_event evs[MAX_CHANS];

	while (now_s() < until) {
		int n = epoll_wait(ep, evs, MAX_CHANS, WAIT_MS);

		syscalls++;
		wakeups++;
		for (int i = 0; i < n; i++)
			serve(&chans[evs[i].data.u32], evs[i].events & EPOLLPRI);
	}
}

static struct io_uring ring;

static struct io_uring_sqe *sqe_get(void)
{
	struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

	if (!sqe) {
		/* The queue is full: submit what is there (one more system call). */
		io_uring_submit(&ring);
		syscalls++;
		sqe = io_uring_get_sqe(&ring);
	}
	return sqe;
}

static void queue_read(int i)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_read(sqe, chans[i].fd, chans[i].rx, (unsigned)block, 0);
	io_uring_sqe_set_data64(sqe, UD(OP_READ, i));
}

static void queue_write(int i, unsigned len)
{
	struct io_uring_sqe *sqe = sqe_get();

	fill_tx(i, len);
	io_uring_prep_write(sqe, chans[i].fd, chans[i].tx, len, 0);
	io_uring_sqe_set_data64(sqe, UD(OP_WRITE, i));
	sqe->flags |= IOSQE_CQE_SKIP_SUCCESS;	/* only a failed write completes */
}

static void queue_poll(int i)
{
	struct io_uring_sqe *sqe = sqe_get();

	io_uring_prep_poll_multishot(sqe, chans[i].fd, POLLIN | POLLPRI);
	io_uring_sqe_set_data64(sqe, UD(OP_POLL, i));
}

static int setup_uring(enum kind k)
{
	int rc = io_uring_queue_init(2 * MAX_CHANS, &ring, 0);

	if (rc < 0) {
		fprintf(stderr, "dahdi_reads: io_uring: %s\n", strerror(-rc));
		return rc;
	}
	for (int i = 0; i < nchans; i++) {
		if (k == K_URING_POLL)
			queue_poll(i);
		else
			queue_read(i);
	}
	return 0;
}

static void uring_completion(enum kind k, struct io_uring_cqe *cqe)
{
	uint64_t ud = io_uring_cqe_get_data64(cqe);
	int i = UD_CHAN(ud);
	struct chan *c = &chans[i];

	switch (UD_OP(ud)) {
	case OP_WRITE:
		c->write_short++;
		break;
	case OP_POLL:
		if (!(cqe->flags & IORING_CQE_F_MORE))
			queue_poll(i);	/* the multishot poll ended: arm it again */
		if (cqe->res < 0) {
			c->errors++;
			break;
		}
		if (cqe->res & POLLPRI)
			take_event(c);
		if (cqe->res & POLLIN)
			queue_read(i);
		break;
	case OP_READ:
		if (cqe->res > 0) {
			c->bytes += (unsigned long)cqe->res;
			check_rx(i, cqe->res);
			queue_write(i, (unsigned)cqe->res);
		} else if (cqe->res == -ELAST) {
			take_event(c);
		} else if (cqe->res == -EAGAIN) {
			c->empty_reads++;
		} else {
			c->errors++;
		}
		if (k != K_URING_POLL)
			queue_read(i);	/* keep one read in flight per channel */
		break;
	}
}

static void run_uring(enum kind k, double until)
{
	while (now_s() < until) {
		struct io_uring_cqe *cqe;
		struct __kernel_timespec ts = { .tv_nsec = WAIT_MS * 1000000L };
		unsigned head, seen = 0;
		int rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);

		syscalls++;
		wakeups++;
		if (rc < 0 && rc != -ETIME && rc != -EINTR) {
			fprintf(stderr, "dahdi_reads: io_uring_enter: %s\n", strerror(-rc));
			return;
		}
		io_uring_for_each_cqe(&ring, head, cqe) {
			uring_completion(k, cqe);
			seen++;
		}
		io_uring_cq_advance(&ring, seen);
	}
}

static void run(enum kind k, double until)
{
	if (k == K_POLL)
		run_poll(until);
	else if (k == K_EPOLL)
		run_epoll(until);
	else
		run_uring(k, until);
}

static const struct {
	const char *name;
	enum kind kind;
} kinds[] = {
	{ "poll", K_POLL }, { "epoll", K_EPOLL }, { "uring", K_URING },
	{ "uring-poll", K_URING_POLL }, { "uring-wq", K_URING_WQ },
};

static int measure(const char *spec, double secs)
{
	char name[32];
	const char *colon = strchr(spec, ':');
	size_t len = colon ? (size_t)(colon - spec) : strlen(spec);
	int k = -1, nthreads;
	double t0, c0, wall, cpu;
	unsigned long mn = ~0ul, mx = 0, over = 0, under = 0, other = 0, wshort = 0, empty = 0, errs = 0;

	for (size_t j = 0; j < sizeof(kinds) / sizeof(kinds[0]); j++)
		if (strlen(kinds[j].name) == len && !strncmp(spec, kinds[j].name, len))
			k = kinds[j].kind;
	block = colon ? atoi(colon + 1) : PORT_BLOCK;
	if (k < 0 || block < 16 || block > MAX_BLOCK || block * DAHDI_PORT_NUMBUFS > DAHDI_MAX_BUF_SPACE) {
		fprintf(stderr, "dahdi_reads: bad method %s\n", spec);
		return -1;
	}
	snprintf(name, sizeof(name), "%.*s-%d", (int)len, spec, block);
	current = name;
	alarm((unsigned)(secs + WARMUP_S) + 30);
	open_events = 0;
	if (open_all(k != K_URING_WQ) < 0)
		exit(1);
	if (k == K_EPOLL)
		setup_epoll();
	else if (k != K_POLL && setup_uring(k) < 0)
		exit(1);
	run(k, now_s() + WARMUP_S);
	reset_counts();
	t0 = now_s();
	mark_reset(t0);
	c0 = cpu_s();
	run(k, t0 + secs);
	wall = now_s() - t0;
	cpu = cpu_s() - c0;
	nthreads = threads();
	for (int i = 0; i < nchans; i++) {
		struct chan *c = &chans[i];

		mn = c->bytes < mn ? c->bytes : mn;
		mx = c->bytes > mx ? c->bytes : mx;
		over += c->overruns;
		under += c->underruns;
		other += c->other_events;
		wshort += c->write_short;
		empty += c->empty_reads;
		errs += c->errors;
	}
	qsort(mark.ms, (size_t)mark.n, sizeof(mark.ms[0]), cmp_double);
	printf("dahdi_reads: %-14s chans=%d secs=%.2f cpu=%.1f%% syscalls/s=%.0f wakeups/s=%.0f "
	       "B/s/chan=%.0f..%.0f overruns=%lu underruns=%lu other_events=%lu short_writes=%lu "
	       "empty_reads/s=%.0f errors=%lu threads=%d open_events=%lu latency_ms=%.1f/%.1f/%.1f(n=%d,lost=%d)\n",
	       name, nchans, wall, 100 * cpu / wall, syscalls / wall, wakeups / wall, mn / wall, mx / wall,
	       over, under, other, wshort, empty / wall, errs, nthreads, open_events,
	       mark.n ? mark.ms[0] : 0, mark.n ? mark.ms[mark.n / 2] : 0, mark.n ? mark.ms[mark.n - 1] : 0,
	       mark.n, mark.lost);
	fflush(stdout);
	if (k == K_EPOLL)
		close(ep);
	else if (k != K_POLL)
		io_uring_queue_exit(&ring);
	close_all();
	alarm(0);
	return 0;
}

int main(int argc, char **argv)
{
	const char *methods = DEFAULT_METHODS;
	char *list, *save = NULL;
	double secs;
	int a = 1, rc = 0;

	if (argc > 2 && !strcmp(argv[1], "-m")) {
		methods = argv[2];
		a = 3;
	}
	secs = argc > a ? atof(argv[a]) : 0;
	if (argc < a + 2 || secs <= 0) {
		fprintf(stderr, "usage: dahdi_reads [-m METHOD[:BYTES],...] SECONDS SPAN...\n"
				"methods: poll epoll uring uring-poll uring-wq (default %s)\n", DEFAULT_METHODS);
		return 2;
	}
	signal(SIGALRM, watchdog);
	for (a++; a < argc; a++) {
		struct dahdi_span_map map;
		int err = dahdi_span_map(atoi(argv[a]), &map);

		if (err) {
			fprintf(stderr, "dahdi_reads: span %s: %s\n", argv[a], strerror(-err));
			return 1;
		}
		for (int pos = 1; pos <= map.nchans && nchans < MAX_CHANS; pos++)
			if (map.bmask & (1u << pos))
				chans[nchans++] = (struct chan){ .channo = map.basechan + pos - 1, .span = map.span,
								 .pos = pos, .peer = -1 };
	}
	/* The VM links spans in pairs (1-2, 3-4, …): a channel's peer is its timeslot on the other. */
	for (int i = 0; i < nchans; i++)
		for (int j = 0; j < nchans; j++)
			if (chans[j].pos == chans[i].pos && chans[j].span == (chans[i].span % 2 ? chans[i].span + 1 : chans[i].span - 1))
				chans[i].peer = j;
	list = strdup(methods);
	for (char *m = strtok_r(list, ",", &save); m; m = strtok_r(NULL, ",", &save))
		if (measure(m, secs) < 0)
			rc = 1;
	free(list);
	return rc;
}
