// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * sock_relay: would io_uring make the relay cheaper on the synthetic card's
 * sockets? The relay's cost on the card is the AF_UNIX SOCK_SEQPACKET path
 * per block (docs/design.md, "Where the time goes"); this measures it alone,
 * without libpri, calls or recording, both ways:
 *
 *   epoll   level-triggered epoll_wait(), one read() per ready socket, the
 *           block written at once to the partner socket (trunkrecd's relay)
 *   uring   io_uring (single issuer, deferred task work): a multishot recv
 *           per socket into a provided-buffer ring, each block copied to a
 *           send slot and sent to the partner, all sends of a batch in the
 *           io_uring_enter that waits for the next completions
 *
 * A "card" process sends one 160-byte block on each of N sockets every 20 ms,
 * GAP_NS apart (trunksim makes each block before it sends it: about 8 us
 * apart on these machines; 0 = all at once, as a card's interrupt would),
 * and reads the answers back. Socket i's partner is i ^ 1 (port A ts n <->
 * port B ts n). The relay process's CPU per block is printed; the card's is
 * not counted.
 *
 *   sock_relay epoll|uring [GAP_NS [N [SECONDS]]]     defaults 8000 480 10
 */
#include <errno.h>
#include <liburing.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#define BLOCK		160
#define MAX_SOCKS	1024
#define NBUF		4096		/* provided buffers: a power of two */
#define SEND_SLOTS	4		/* per socket: blocks in flight to it */
#define IDLE_END_S	1		/* the relay stops after this long without a block */

static int nsocks = 480, seconds = 10;
static long gap_ns = 8000;
static int card_fd[MAX_SOCKS], relay_fd[MAX_SOCKS];

static int64_t now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (int64_t)t.tv_sec * 1000000000 + t.tv_nsec;
}

static double process_cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

/* The card: spins between sends so its own wake-ups do not shape the arrivals. */
static void card(void)
{
	uint8_t b[BLOCK];
	int64_t next = now_ns();
	long ticks = seconds * 50L, answers = 0;

	memset(b, 0xD5, sizeof(b));
	for (long t = 0; t < ticks; t++) {
		while (now_ns() < next)
			;
		for (int i = 0; i < nsocks; i++) {
			int64_t until = now_ns() + gap_ns;

			while (gap_ns && now_ns() < until)
				;
			if (send(card_fd[i], b, BLOCK, MSG_DONTWAIT) != BLOCK)
				fprintf(stderr, "card: send: %s\n", strerror(errno));
		}
		for (int i = 0; i < nsocks; i++)
			while (recv(card_fd[i], b, BLOCK, MSG_DONTWAIT) == BLOCK)
				answers++;
		next += 20000000;
	}
	fprintf(stderr, "card: %ld answers of %ld blocks\n", answers, ticks * nsocks);
}

static long relay_epoll(void)
{
	struct epoll_event evs[512];
	uint8_t b[BLOCK];
	long blocks = 0;
	int ep = epoll_create1(EPOLL_CLOEXEC);

	if (ep < 0)
		return -1;
	for (int i = 0; i < nsocks; i++) {
		struct epoll_event e = { .events = EPOLLIN, .data.u32 = (uint32_t)i };

		if (epoll_ctl(ep, EPOLL_CTL_ADD, relay_fd[i], &e) < 0)
			return -1;
	}
	for (;;) {
		int n = epoll_wait(ep, evs, 512, IDLE_END_S * 1000);

		if (n <= 0)
			break;
		for (int k = 0; k < n; k++) {
			int i = (int)evs[k].data.u32;

			if (read(relay_fd[i], b, BLOCK) == BLOCK && write(relay_fd[i ^ 1], b, BLOCK) == BLOCK)
				blocks++;
		}
	}
	close(ep);
	return blocks;
}

static void arm_recv(struct io_uring *ring, int i)
{
	struct io_uring_sqe *s = io_uring_get_sqe(ring);

	if (!s) {
		io_uring_submit(ring);
		s = io_uring_get_sqe(ring);
	}
	io_uring_prep_recv_multishot(s, relay_fd[i], NULL, 0, 0);
	s->flags |= IOSQE_BUFFER_SELECT;
	s->buf_group = 0;
	io_uring_sqe_set_data64(s, (uint64_t)i);
}

#define SEND_TAG	(1ull << 32)

static long relay_uring(void)
{
	static uint8_t bufs[NBUF][BLOCK], slots[MAX_SOCKS][SEND_SLOTS][BLOCK];
	static unsigned next_slot[MAX_SOCKS];
	struct io_uring_params p = {
		.flags = IORING_SETUP_SINGLE_ISSUER | IORING_SETUP_DEFER_TASKRUN | IORING_SETUP_CQSIZE,
		.cq_entries = 8192,
	};
	struct io_uring ring;
	struct io_uring_buf_ring *br;
	struct io_uring_buf_reg reg = { .ring_entries = NBUF, .bgid = 0 };
	long blocks = 0;
	int rc = io_uring_queue_init_params(2048, &ring, &p);

	if (rc < 0) {
		fprintf(stderr, "sock_relay: io_uring: %s\n", strerror(-rc));
		return -1;
	}
	br = aligned_alloc(4096, NBUF * sizeof(struct io_uring_buf));
	if (!br)
		return -1;
	io_uring_buf_ring_init(br);
	reg.ring_addr = (uintptr_t)br;
	rc = io_uring_register_buf_ring(&ring, &reg, 0);
	if (rc < 0) {
		fprintf(stderr, "sock_relay: provided buffers: %s\n", strerror(-rc));
		return -1;
	}
	for (int i = 0; i < NBUF; i++)
		io_uring_buf_ring_add(br, bufs[i], BLOCK, (unsigned short)i, io_uring_buf_ring_mask(NBUF), i);
	io_uring_buf_ring_advance(br, NBUF);
	for (int i = 0; i < nsocks; i++)
		arm_recv(&ring, i);
	for (;;) {
		struct io_uring_cqe *cqe;
		struct __kernel_timespec ts = { .tv_sec = IDLE_END_S };
		unsigned head, seen = 0, recycled = 0;

		rc = io_uring_submit_and_wait_timeout(&ring, &cqe, 1, &ts, NULL);
		if (rc == -ETIME)
			break;
		io_uring_for_each_cqe(&ring, head, cqe) {
			uint64_t tag = io_uring_cqe_get_data64(cqe);
			int i = (int)tag;

			seen++;
			if (tag & SEND_TAG)
				continue;	/* a failed send (successes post nothing) */
			if (cqe->res == BLOCK && (cqe->flags & IORING_CQE_F_BUFFER)) {
				unsigned id = cqe->flags >> IORING_CQE_BUFFER_SHIFT;
				uint8_t *out = slots[i ^ 1][next_slot[i ^ 1]++ % SEND_SLOTS];
				struct io_uring_sqe *s;

				memcpy(out, bufs[id], BLOCK);
				io_uring_buf_ring_add(br, bufs[id], BLOCK, (unsigned short)id,
						      io_uring_buf_ring_mask(NBUF), (int)recycled++);
				s = io_uring_get_sqe(&ring);
				if (!s) {
					io_uring_submit(&ring);
					s = io_uring_get_sqe(&ring);
				}
				io_uring_prep_send(s, relay_fd[i ^ 1], out, BLOCK, MSG_DONTWAIT);
				s->flags |= IOSQE_CQE_SKIP_SUCCESS;
				io_uring_sqe_set_data64(s, SEND_TAG | (uint64_t)(i ^ 1));
				blocks++;
			}
			if (!(cqe->flags & IORING_CQE_F_MORE))
				arm_recv(&ring, i);	/* the multishot ended (out of buffers): again */
		}
		io_uring_cq_advance(&ring, seen);
		io_uring_buf_ring_advance(br, (int)recycled);
	}
	io_uring_queue_exit(&ring);
	free(br);
	return blocks;
}

int main(int argc, char **argv)
{
	const char *mode = argc > 1 ? argv[1] : "";
	pid_t pid;
	int status;

	if (argc < 2 || argc > 5 || (strcmp(mode, "epoll") && strcmp(mode, "uring"))) {
		fprintf(stderr, "usage: sock_relay epoll|uring [GAP_NS [N [SECONDS]]]\n");
		return 2;
	}
	if (argc > 2)
		gap_ns = atol(argv[2]);
	if (argc > 3)
		nsocks = atoi(argv[3]);
	if (argc > 4)
		seconds = atoi(argv[4]);
	if (nsocks < 2 || nsocks > MAX_SOCKS || nsocks % 2 || seconds < 1 || gap_ns < 0) {
		fprintf(stderr, "sock_relay: N must be even, 2..%d; SECONDS at least 1\n", MAX_SOCKS);
		return 2;
	}
	for (int i = 0; i < nsocks; i++) {
		int sv[2];

		if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_NONBLOCK | SOCK_CLOEXEC, 0, sv) < 0) {
			perror("sock_relay: socketpair");
			return 1;
		}
		card_fd[i] = sv[0];
		relay_fd[i] = sv[1];
	}
	pid = fork();
	if (pid < 0) {
		perror("sock_relay: fork");
		return 1;
	}
	if (pid == 0) {
		double cpu0 = process_cpu_s();
		long blocks = strcmp(mode, "uring") ? relay_epoll() : relay_uring();
		double cpu = process_cpu_s() - cpu0;

		if (blocks <= 0)
			return 1;
		printf("sock_relay: mode=%s gap_ns=%ld sockets=%d blocks=%ld relay_cpu_s=%.3f us_per_block=%.3f\n",
		       mode, gap_ns, nsocks, blocks, cpu, cpu * 1e6 / (double)blocks);
		return 0;
	}
	card();
	if (waitpid(pid, &status, 0) < 0 || !WIFEXITED(status))
		return 1;
	return WEXITSTATUS(status);
}
