// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * dahdi_reads: how should a recorder read hundreds of DAHDI B-channels?
 * Runs inside the DAHDI VM (tests/vm/run.sh BUILD bench; results in
 * docs/dahdi.md). Every clear channel of the given spans is opened like
 * trunkrecd opens them; each method then reads them all for SECONDS:
 *
 *   poll      one poll() over every fd, a read() per ready fd
 *   epoll     level-triggered epoll_wait(), a read() per ready fd (trunkrecd's relay)
 *   uring     io_uring: a read queued per fd (DAHDI's poll wakes it), completions
 *             reaped in batches, reads queued again, one io_uring_enter per batch
 *   epoll-NNN epoll with NNN-byte blocks (320 = 40 ms, 640 = 80 ms)
 *
 * Reported per method: CPU time of the process (user+sys) as a share of one
 * CPU, system calls per second, wake-ups per second, and each channel's
 * bytes per second (8000 when nothing was lost) with DAHDI's overrun events.
 *
 *   dahdi_reads SECONDS SPAN...
 */
#include <errno.h>
#include <fcntl.h>
#include <liburing.h>
#include <poll.h>
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
#define MAX_BLOCK	640

enum method { M_POLL, M_EPOLL, M_URING };

struct chan {
	int channo, fd;
	unsigned long bytes, overruns;
	uint8_t buf[MAX_BLOCK];
};

static struct chan chans[MAX_CHANS];
static int nchans;
static unsigned long syscalls, wakeups;

static double now_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static double cpu_s(void)
{
	struct rusage ru;

	getrusage(RUSAGE_SELF, &ru);
	return (double)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) +
	       (double)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) / 1e6;
}

static int open_all(int block, bool nonblock)
{
	struct dahdi_bufferinfo bi = {
		.txbufpolicy = DAHDI_POLICY_IMMEDIATE, .rxbufpolicy = DAHDI_POLICY_IMMEDIATE,
		.numbufs = DAHDI_PORT_NUMBUFS, .bufsize = block,
	};
	int one = 1;

	for (int i = 0; i < nchans; i++) {
		struct chan *c = &chans[i];

		c->fd = open("/dev/dahdi/channel", O_RDWR | O_CLOEXEC | (nonblock ? O_NONBLOCK : 0));
		if (c->fd < 0 || ioctl(c->fd, DAHDI_SPECIFY, &c->channo) < 0 ||
		    ioctl(c->fd, DAHDI_SET_BLOCKSIZE, &block) < 0 || ioctl(c->fd, DAHDI_SET_BUFINFO, &bi) < 0 ||
		    ioctl(c->fd, DAHDI_BUFFER_EVENTS, &one) < 0) {
			fprintf(stderr, "dahdi_reads: channel %d: %s\n", c->channo, strerror(errno));
			return -1;
		}
		c->bytes = c->overruns = 0;
	}
	return 0;
}

static void close_all(void)
{
	for (int i = 0; i < nchans; i++)
		close(chans[i].fd);
}

/* One ready fd: read until empty; an event in the way is taken and counted. */
static void drain(struct chan *c, int block)
{
	for (;;) {
		ssize_t n = read(c->fd, c->buf, (size_t)block);

		syscalls++;
		if (n > 0) {
			c->bytes += (unsigned long)n;
			continue;
		}
		if (n < 0 && errno == ELAST) {
			int ev = 0;

			ioctl(c->fd, DAHDI_GETEVENT, &ev);
			syscalls++;
			c->overruns += ev == DAHDI_EVENT_READ_OVERRUN;
			continue;
		}
		return;
	}
}

static void run_poll(double secs, int block)
{
	static struct pollfd pf[MAX_CHANS];
	double end = now_s() + secs;

	for (int i = 0; i < nchans; i++)
		pf[i] = (struct pollfd){ .fd = chans[i].fd, .events = POLLIN | POLLPRI };
	while (now_s() < end) {
		int n = poll(pf, (nfds_t)nchans, 100);

		syscalls++;
		wakeups++;
		for (int i = 0; i < nchans && n > 0; i++)
			if (pf[i].revents) {
				drain(&chans[i], block);
				n--;
			}
	}
}

static void run_epoll(double secs, int block)
{
	static struct epoll_event evs[MAX_CHANS];
	int ep = epoll_create1(EPOLL_CLOEXEC);
	double end = now_s() + secs;

	for (int i = 0; i < nchans; i++) {
		struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI, .data.u32 = (uint32_t)i };

		epoll_ctl(ep, EPOLL_CTL_ADD, chans[i].fd, &ev);
	}
	while (now_s() < end) {
		int n = epoll_wait(ep, evs, MAX_CHANS, 100);

		syscalls++;
		wakeups++;
		for (int i = 0; i < n; i++)
			drain(&chans[evs[i].data.u32], block);
	}
	close(ep);
}

static int run_uring(double secs, int block)
{
	struct io_uring ring;
	double end = now_s() + secs;
	int rc = io_uring_queue_init(2 * MAX_CHANS, &ring, 0);

	if (rc < 0) {
		fprintf(stderr, "dahdi_reads: io_uring: %s\n", strerror(-rc));
		return rc;
	}
	for (int i = 0; i < nchans; i++) {
		struct io_uring_sqe *sqe = io_uring_get_sqe(&ring);

		io_uring_prep_read(sqe, chans[i].fd, chans[i].buf, (unsigned)block, 0);
		io_uring_sqe_set_data64(sqe, (uint64_t)i);
	}
	while (now_s() < end) {
		struct io_uring_cqe *cqe;
		unsigned head, seen = 0;
		struct __kernel_timespec ts = { .tv_nsec = 100000000 };

		rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
		syscalls++;
		wakeups++;
		if (rc < 0 && rc != -ETIME && rc != -EINTR)
			break;
		io_uring_for_each_cqe(&ring, head, cqe) {
			struct chan *c = &chans[io_uring_cqe_get_data64(cqe)];
			struct io_uring_sqe *sqe;

			seen++;
			if (cqe->res > 0) {
				c->bytes += (unsigned long)cqe->res;
			} else if (cqe->res == -ELAST) {
				int ev = 0;

				ioctl(c->fd, DAHDI_GETEVENT, &ev);
				syscalls++;
				c->overruns += ev == DAHDI_EVENT_READ_OVERRUN;
			}
			sqe = io_uring_get_sqe(&ring);
			if (!sqe)
				break;
			io_uring_prep_read(sqe, c->fd, c->buf, (unsigned)block, 0);
			io_uring_sqe_set_data64(sqe, (uint64_t)(c - chans));
		}
		io_uring_cq_advance(&ring, seen);
	}
	io_uring_queue_exit(&ring);
	return 0;
}

static void measure(const char *name, enum method m, int block, double secs)
{
	double t0, c0, wall, cpu;
	unsigned long mn = ~0ul, mx = 0, over = 0;

	if (open_all(block, m != M_URING) < 0)
		exit(1);
	usleep(200000);	/* let every channel's first blocks arrive before the clock starts */
	for (int i = 0; i < nchans; i++)
		drain(&chans[i], block);
	for (int i = 0; i < nchans; i++)
		chans[i].bytes = 0;
	syscalls = wakeups = 0;
	t0 = now_s();
	c0 = cpu_s();
	if (m == M_POLL)
		run_poll(secs, block);
	else if (m == M_EPOLL)
		run_epoll(secs, block);
	else if (run_uring(secs, block) < 0)
		exit(1);
	wall = now_s() - t0;
	cpu = cpu_s() - c0;
	for (int i = 0; i < nchans; i++) {
		mn = chans[i].bytes < mn ? chans[i].bytes : mn;
		mx = chans[i].bytes > mx ? chans[i].bytes : mx;
		over += chans[i].overruns;
	}
	printf("dahdi_reads: %-9s chans=%d block=%d secs=%.1f cpu=%.1f%% syscalls/s=%.0f wakeups/s=%.0f "
	       "B/s/chan=%.0f..%.0f overruns=%lu\n",
	       name, nchans, block, wall, 100 * cpu / wall, syscalls / wall, wakeups / wall, mn / wall, mx / wall, over);
	fflush(stdout);
	close_all();
}

int main(int argc, char **argv)
{
	double secs = argc > 1 ? atof(argv[1]) : 0;

	if (argc < 3 || secs <= 0) {
		fprintf(stderr, "usage: dahdi_reads SECONDS SPAN...\n");
		return 2;
	}
	for (int a = 2; a < argc; a++) {
		struct dahdi_span_map map;
		int rc = dahdi_span_map(atoi(argv[a]), &map);

		if (rc) {
			fprintf(stderr, "dahdi_reads: span %s: %s\n", argv[a], strerror(-rc));
			return 1;
		}
		for (int pos = 1; pos <= map.nchans && nchans < MAX_CHANS; pos++)
			if (map.bmask & (1u << pos))
				chans[nchans++].channo = map.basechan + pos - 1;
	}
	measure("poll", M_POLL, PORT_BLOCK, secs);
	measure("epoll", M_EPOLL, PORT_BLOCK, secs);
	measure("uring", M_URING, PORT_BLOCK, secs);
	measure("epoll-320", M_EPOLL, 320, secs);
	measure("epoll-640", M_EPOLL, 640, secs);
	return 0;
}
