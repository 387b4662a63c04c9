// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunks/simcard: the card side of docs/synthetic-trunk.md as a client sees
 * it: info, one block per tick, exact loopback, underrun and overrun
 * counters, one client per socket, the D-channel pump, loss of signal, and
 * both clocks.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "trunks/simcard.h"

#define MAX_TICKS	512

/* What the far end saw: per timeslot, the block delivered on each tick. */
struct far_log {
	uint8_t rx[SIMCARD_TS][MAX_TICKS][SIMCARD_BLOCK];
	bool got[SIMCARD_TS][MAX_TICKS];
	uint64_t last_tick;
};

struct fixture {
	char dir[64], port[96];
	struct simcard *card;
	struct far_log *log;
	int index;
};

/* The far end sends a block naming its tick and timeslot, never the idle code. */
static void pattern(uint64_t tick, int ts, uint8_t *block)
{
	for (int j = 0; j < SIMCARD_BLOCK; j++)
		block[j] = (uint8_t)(tick * 7 + (uint64_t)ts * 13 + (uint64_t)j) | 0x01;
	block[0] = (uint8_t)tick;
	block[1] = (uint8_t)ts;
	if (block[2] == SIMCARD_IDLE_ALAW)
		block[2] = 0;
}

static void far_send(void *userdata, int port, int ts, uint64_t tick, uint8_t *ret_block)
{
	(void)userdata;
	(void)port;
	pattern(tick, ts, ret_block);
}

static void far_receive(void *userdata, int port, int ts, uint64_t tick, const uint8_t *block)
{
	struct far_log *log = userdata;

	(void)port;
	if (tick >= MAX_TICKS)
		return;
	memcpy(log->rx[ts][tick], block, SIMCARD_BLOCK);
	log->got[ts][tick] = true;
	log->last_tick = tick;
}

static const struct simcard_ops ops = { .far_send = far_send, .far_receive = far_receive };

static int make_card(void **state, bool fast)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f)
		return -1;
	f->log = calloc(1, sizeof(*f->log));
	strcpy(f->dir, "/tmp/trunkrec-simcard.XXXXXX");
	if (!f->log || !mkdtemp(f->dir))
		return -1;
	snprintf(f->port, sizeof(f->port), "%s/a1", f->dir);
	if (simcard_new(&ops, f->log, fast, &f->card))
		return -1;
	f->index = simcard_port_add(f->card, f->port);
	if (f->index < 0)
		return -1;
	*state = f;
	return 0;
}

static int setup(void **state)
{
	return make_card(state, false);
}

/* Ticks only when the test says: a slow machine cannot slip one in between its steps. */
static int setup_manual(void **state)
{
	int rc = make_card(state, false);

	if (!rc)
		simcard_hold_clock(((struct fixture *)*state)->card);
	return rc;
}

static int setup_fast(void **state)
{
	return make_card(state, true);
}

static int teardown(void **state)
{
	struct fixture *f = *state;

	simcard_free(f->card);
	/* The card removed its files and the port directory: the temp dir is empty. */
	rmdir(f->dir);
	free(f->log);
	free(f);
	return 0;
}

static int client_connect(const struct fixture *f, const char *name)
{
	struct sockaddr_un addr = { .sun_family = AF_UNIX };
	struct timeval tv = { .tv_sec = 1 };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	assert_true(fd >= 0);
	snprintf(addr.sun_path, sizeof(addr.sun_path), "%s/%s", f->port, name);
	assert_int_equal(connect(fd, (struct sockaddr *)&addr, sizeof(addr)), 0);
	/* Every read in these tests is bounded. */
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	return fd;
}

/* Let the card accept and read what is pending, without waiting for a tick. */
static void pump(struct fixture *f)
{
	struct pollfd pfd = { .fd = simcard_fd(f->card), .events = POLLIN };

	/* Unix sockets deliver at once: nothing to wait for (and waiting could cross a tick). */
	for (int i = 0; i < 4; i++) {
		poll(&pfd, 1, 0);
		assert_true(simcard_dispatch(f->card) >= 0);
	}
}

static bool is_idle(const uint8_t *block)
{
	for (int j = 0; j < SIMCARD_BLOCK; j++)
		if (block[j] != SIMCARD_IDLE_ALAW)
			return false;
	return true;
}

static void info_is_published(void **state)
{
	struct fixture *f = *state;
	char path[160], buf[256] = { 0 };
	FILE *in;
	struct stat st;

	snprintf(path, sizeof(path), "%s/info", f->port);
	in = fopen(path, "re");
	assert_non_null(in);
	assert_true(fread(buf, 1, sizeof(buf) - 1, in) > 0);
	fclose(in);
	assert_string_equal(buf, "type=E1\nlaw=alaw\nbchannels=1-15,17-31\ndchannel=16\nblock=160\n");
	for (int ts = 1; ts < SIMCARD_TS; ts++) {
		snprintf(path, sizeof(path), "%s/%d", f->port, ts);
		assert_int_equal(stat(path, &st), ts == SIMCARD_DCHANNEL ? -1 : 0);
		if (ts != SIMCARD_DCHANNEL)
			assert_true(S_ISSOCK(st.st_mode));
	}
	snprintf(path, sizeof(path), "%s/d", f->port);
	assert_int_equal(stat(path, &st), 0);
	assert_true(S_ISSOCK(st.st_mode));
}

static void one_block_per_tick_and_exact_loopback(void **state)
{
	struct fixture *f = *state;
	int fd = client_connect(f, "5");
	uint8_t block[SIMCARD_BLOCK + 8], want[SIMCARD_BLOCK];

	pump(f);
	for (int i = 0; i < 5; i++) {
		uint64_t t;

		simcard_tick_run(f->card);
		t = simcard_tick(f->card);
		/* Exactly one block of 160 bytes, the far end's block of this tick. */
		assert_int_equal(recv(fd, block, sizeof(block), 0), SIMCARD_BLOCK);
		pattern(t, 5, want);
		assert_memory_equal(block, want, SIMCARD_BLOCK);
		assert_int_equal(recv(fd, block, sizeof(block), MSG_DONTWAIT), -1);
		/* Answer with it: the line delivers it to the far end on the next tick. */
		assert_int_equal(send(fd, want, SIMCARD_BLOCK, 0), SIMCARD_BLOCK);
		pump(f);
		simcard_tick_run(f->card);
		assert_true(f->log->got[5][t + 1]);
		assert_memory_equal(f->log->rx[5][t + 1], want, SIMCARD_BLOCK);
		assert_int_equal(recv(fd, block, sizeof(block), 0), SIMCARD_BLOCK);
		assert_int_equal(send(fd, block, SIMCARD_BLOCK, 0), SIMCARD_BLOCK);
		pump(f);
	}
	/* A timeslot nobody connected to carries idle to the far end. */
	assert_true(is_idle(f->log->rx[6][simcard_tick(f->card)]));
	close(fd);
}

static void underrun_when_client_is_silent(void **state)
{
	struct fixture *f = *state;
	int fd = client_connect(f, "1");
	uint8_t block[SIMCARD_BLOCK];
	struct simcard_stats st;

	pump(f);
	/* Before the client got anything it owes nothing. */
	simcard_tick_run(f->card);
	simcard_port_stats(f->card, f->index, &st);
	assert_int_equal(st.underruns, 0);
	assert_int_equal(recv(fd, block, sizeof(block), 0), SIMCARD_BLOCK);
	/* No answer: an underrun, and the far end hears idle. */
	simcard_tick_run(f->card);
	simcard_port_stats(f->card, f->index, &st);
	assert_int_equal(st.underruns, 1);
	assert_true(is_idle(f->log->rx[1][simcard_tick(f->card)]));
	close(fd);
}

static void overrun_drops_oldest(void **state)
{
	struct fixture *f = *state;
	int fd = client_connect(f, "2");
	uint8_t block[SIMCARD_BLOCK];
	struct simcard_stats st;
	uint64_t t;

	pump(f);
	for (int i = 0; i < 6; i++) {
		memset(block, 0x10 + i, sizeof(block));
		assert_int_equal(send(fd, block, sizeof(block), 0), SIMCARD_BLOCK);
	}
	pump(f);
	simcard_port_stats(f->card, f->index, &st);
	assert_int_equal(st.overruns, 2);
	/* The four newest go out, one per tick, in order. */
	for (int i = 2; i < 6; i++) {
		simcard_tick_run(f->card);
		t = simcard_tick(f->card);
		memset(block, 0x10 + i, sizeof(block));
		assert_memory_equal(f->log->rx[2][t], block, SIMCARD_BLOCK);
	}
	close(fd);
}

static void second_connection_refused(void **state)
{
	struct fixture *f = *state;
	int first = client_connect(f, "3"), second;
	uint8_t block[SIMCARD_BLOCK];
	struct simcard_stats st;

	pump(f);
	second = client_connect(f, "3");
	pump(f);
	/* The card closed the second one at once: end of file. */
	assert_int_equal(recv(second, block, sizeof(block), 0), 0);
	simcard_port_stats(f->card, f->index, &st);
	assert_int_equal(st.refused, 1);
	/* The first still gets its blocks. */
	simcard_tick_run(f->card);
	assert_int_equal(recv(first, block, sizeof(block), 0), SIMCARD_BLOCK);
	close(second);
	close(first);
}

static void dchannel_frames_pass_unchanged(void **state)
{
	struct fixture *f = *state;
	int far = simcard_port_far_fd(f->card, f->index);
	uint8_t frame[] = { 0x02, 0x01, 0x7f, 0xaa, 0xbb }, buf[SIMCARD_MAX_FRAME];
	uint8_t reply[] = { 0x00, 0x01, 0x73, 0x11, 0x22, 0x33 };
	int fd;
	struct pollfd pfd = { .fd = far, .events = POLLIN };

	/* Nobody connected: frames from the far end are lost, as on a line. */
	assert_int_equal(send(far, reply, sizeof(reply), 0), (ssize_t)sizeof(reply));
	pump(f);
	fd = client_connect(f, "d");
	pump(f);
	assert_true(simcard_port_connected(f->card, f->index));
	assert_int_equal(recv(fd, buf, sizeof(buf), MSG_DONTWAIT), -1);

	assert_int_equal(send(fd, frame, sizeof(frame), 0), (ssize_t)sizeof(frame));
	pump(f);
	assert_int_equal(poll(&pfd, 1, 1000), 1);
	/* Byte for byte, the 2 trailing FCS bytes included, one frame per message. */
	assert_int_equal(recv(far, buf, sizeof(buf), MSG_DONTWAIT), (ssize_t)sizeof(frame));
	assert_memory_equal(buf, frame, sizeof(frame));

	assert_int_equal(send(far, reply, sizeof(reply), 0), (ssize_t)sizeof(reply));
	pump(f);
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), (ssize_t)sizeof(reply));
	assert_memory_equal(buf, reply, sizeof(reply));
	close(fd);
}

static void loss_of_signal_and_back(void **state)
{
	struct fixture *f = *state;
	int fd = client_connect(f, "d"), bfd = client_connect(f, "7");
	char path[160];
	uint8_t buf[SIMCARD_BLOCK];
	struct stat st;

	pump(f);
	assert_int_equal(simcard_port_down(f->card, f->index), 0);
	/* The client sees end of file; info and sockets are gone. */
	assert_int_equal(recv(fd, buf, sizeof(buf), 0), 0);
	assert_int_equal(recv(bfd, buf, sizeof(buf), 0), 0);
	assert_false(simcard_port_connected(f->card, f->index));
	snprintf(path, sizeof(path), "%s/info", f->port);
	assert_int_equal(stat(path, &st), -1);
	snprintf(path, sizeof(path), "%s/d", f->port);
	assert_int_equal(stat(path, &st), -1);
	close(fd);
	close(bfd);

	assert_int_equal(simcard_port_up(f->card, f->index), 0);
	snprintf(path, sizeof(path), "%s/info", f->port);
	assert_int_equal(stat(path, &st), 0);
	fd = client_connect(f, "d");
	pump(f);
	assert_true(simcard_port_connected(f->card, f->index));
	close(fd);
}

/* The real-time clock: ticks every 20 ms, without drift. */
static void realtime_ticks_every_20ms(void **state)
{
	struct fixture *f = *state;
	struct pollfd pfd = { .fd = simcard_fd(f->card), .events = POLLIN };
	struct timespec t0, t1;
	uint64_t start = simcard_tick(f->card);
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 200 && simcard_tick(f->card) < start + 10; i++) {
		poll(&pfd, 1, simcard_timeout_ms(f->card));
		assert_true(simcard_dispatch(f->card) >= 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_int_equal(simcard_tick(f->card), start + 10);
	assert_true(ms >= 180 && ms <= 400);
}

/*
 * A card process that stalls for 5 ticks runs one late tick and then slips:
 * the next one is a whole tick away, not due at once, which would leave its
 * clients no time to answer the blocks just sent.
 */
static void late_card_slips_instead_of_catching_up(void **state)
{
	struct fixture *f = *state;
	struct simcard_stats st;
	uint64_t start;

	while (simcard_dispatch(f->card) == 0)
		;	/* the first tick: the schedule starts from here */
	start = simcard_tick(f->card);
	usleep(100 * 1000);
	assert_int_equal(simcard_dispatch(f->card), 1);
	assert_int_equal(simcard_tick(f->card), start + 1);
	simcard_port_stats(f->card, f->index, &st);
	assert_int_equal(st.ticks_late, 1);
	/* Catching up would make the next tick due now (0 ms). */
	assert_true(simcard_timeout_ms(f->card) > 0);
	assert_int_equal(simcard_dispatch(f->card), 0);
	assert_int_equal(simcard_tick(f->card), start + 1);
}

/* Answer every block waiting on fd; returns how many. */
static int answer_all(int fd)
{
	uint8_t block[SIMCARD_BLOCK];
	int n = 0;

	while (n < 16 && recv(fd, block, sizeof(block), MSG_DONTWAIT) == SIMCARD_BLOCK) {
		assert_int_equal(send(fd, block, sizeof(block), 0), SIMCARD_BLOCK);
		n++;
	}
	return n;
}

/* Lock-step: the next tick comes as soon as every connected channel answered. */
static void fast_ticks_on_answers(void **state)
{
	struct fixture *f = *state;
	int a = client_connect(f, "1"), b = client_connect(f, "31");
	uint8_t block[SIMCARD_BLOCK];
	struct pollfd pfd = { .fd = simcard_fd(f->card), .events = POLLIN };
	struct timespec t0, t1;
	struct simcard_stats st;
	uint64_t start, before;
	long ms;

	/* Accepting both clients starts the first lock-step tick. */
	pump(f);
	start = simcard_tick(f->card);
	assert_true(start >= 1);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (int i = 0; i < 10000 && simcard_tick(f->card) < start + 100; i++) {
		answer_all(a);
		answer_all(b);
		poll(&pfd, 1, simcard_timeout_ms(f->card));
		assert_true(simcard_dispatch(f->card) >= 0);
	}
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	assert_true(simcard_tick(f->card) >= start + 100);
	/* 100 ticks of line time (2 s) in much less real time, none by timeout. */
	assert_true(ms < 1000);
	simcard_port_stats(f->card, f->index, &st);
	assert_int_equal(st.fast_timeouts, 0);
	assert_int_equal(st.underruns, 0);

	/* Only one of two answered: no tick; the second answer releases it. */
	pump(f);
	before = simcard_tick(f->card);
	answer_all(a);
	while (recv(b, block, sizeof(block), MSG_DONTWAIT) == SIMCARD_BLOCK)
		;
	pump(f);
	assert_int_equal(simcard_tick(f->card), before);
	assert_int_equal(send(b, block, sizeof(block), 0), SIMCARD_BLOCK);
	pump(f);
	assert_int_equal(simcard_tick(f->card), before + 1);
	close(a);
	close(b);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(info_is_published, setup, teardown),
		cmocka_unit_test_setup_teardown(one_block_per_tick_and_exact_loopback, setup_manual, teardown),
		cmocka_unit_test_setup_teardown(underrun_when_client_is_silent, setup_manual, teardown),
		cmocka_unit_test_setup_teardown(overrun_drops_oldest, setup_manual, teardown),
		cmocka_unit_test_setup_teardown(second_connection_refused, setup, teardown),
		cmocka_unit_test_setup_teardown(dchannel_frames_pass_unchanged, setup_manual, teardown),
		cmocka_unit_test_setup_teardown(loss_of_signal_and_back, setup_manual, teardown),
		cmocka_unit_test_setup_teardown(realtime_ticks_every_20ms, setup, teardown),
		cmocka_unit_test_setup_teardown(late_card_slips_instead_of_catching_up, setup, teardown),
		cmocka_unit_test_setup_teardown(fast_ticks_on_answers, setup_fast, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
