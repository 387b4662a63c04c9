// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Q.931 channel numbers that name no B-channel (issue 2's "Q.931 garbage"):
 * a carrier, as real libpri on a synthetic card, asks trunkrecd for calls on
 * the D-channel's timeslot 16 and on timeslots 45 and 99 (past the line). Each must be refused with cause 82 ("identified channel does not
 * exist") without reaching the PBX, and a call on timeslot 5 afterwards must
 * go through and be answered: nothing was disturbed.
 *
 *   badchan DIR     (trunkrecd runs with port_a = DIR/a1, port_b = DIR/b1)
 *
 * Exit 0 when all of that held; each failure is printed.
 */
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "trunks/dchan.h"
#include "trunks/simcard.h"

#define TIMEOUT_MS	20000

enum step { WAIT_LINKS, BAD_CALLS, GOOD_CALL, DONE };

static const int bad_channels[] = { 16, 45, 99 };	/* the D-channel, past the E1 line, far past it */

struct run {
	struct dchan carrier, pbx;
	bool carrier_up, pbx_up;
	enum step step;
	int bad_index;			/* the bad call under way */
	q931_call *call;		/* the carrier's call under way */
	int failures, refused_82, reached_pbx;
	bool answered;
};

static void far_send(void *userdata, int port, int ts, uint64_t tick, uint8_t *ret_block)
{
	(void)userdata, (void)port, (void)ts, (void)tick;
	memset(ret_block, SIMCARD_IDLE_ALAW, SIMCARD_BLOCK);
}

static void far_receive(void *userdata, int port, int ts, uint64_t tick, const uint8_t *block)
{
	(void)userdata, (void)port, (void)ts, (void)tick, (void)block;
}

static void place(struct run *r, int channel)
{
	struct pri_sr *sr = pri_sr_new();

	r->call = pri_new_call(r->carrier.pri);
	pri_sr_set_channel(sr, channel, 1, 1);	/* exclusive: this timeslot or none */
	pri_sr_set_bearer(sr, PRI_TRANS_CAP_SPEECH, PRI_LAYER_1_ALAW);
	pri_sr_set_called(sr, "5550100", PRI_UNKNOWN, 1);
	pri_sr_set_caller(sr, "5550111", NULL, PRI_UNKNOWN, PRES_ALLOWED_USER_NUMBER_NOT_SCREENED);
	if (pri_setup(r->carrier.pri, r->call, sr)) {
		printf("badchan: FAIL: libpri would not send a SETUP for channel %d\n", channel);
		r->failures++;
	}
	pri_sr_free(sr);
}

static void next_bad(struct run *r)
{
	if (r->bad_index < (int)(sizeof(bad_channels) / sizeof(bad_channels[0]))) {
		place(r, bad_channels[r->bad_index]);
		return;
	}
	r->step = GOOD_CALL;
	place(r, 5);
}

static void carrier_event(struct run *r, pri_event *e)
{
	switch (e->e) {
	case PRI_EVENT_DCHAN_UP:
		r->carrier_up = true;
		break;
	case PRI_EVENT_HANGUP:
	case PRI_EVENT_HANGUP_REQ:
		if (r->step == BAD_CALLS) {
			int cause = e->hangup.cause;

			if (cause == PRI_CAUSE_IDENTIFIED_CHANNEL_NOTEXIST) {
				r->refused_82++;
			} else {
				printf("badchan: FAIL: the call on channel %d was cleared with cause %d, not 82\n",
				       bad_channels[r->bad_index], cause);
				r->failures++;
			}
			if (e->e == PRI_EVENT_HANGUP_REQ)
				pri_hangup(r->carrier.pri, e->hangup.call, cause);
			r->bad_index++;
			next_bad(r);
		} else if (r->step == GOOD_CALL) {
			printf("badchan: FAIL: the good call was cleared (cause %d)\n", e->hangup.cause);
			r->failures++;
			r->step = DONE;
		}
		break;
	case PRI_EVENT_ANSWER:
		if (r->step == GOOD_CALL) {
			r->answered = true;
			pri_hangup(r->carrier.pri, r->call, PRI_CAUSE_NORMAL_CLEARING);
			r->step = DONE;
		}
		break;
	default:
		break;
	}
}

static void pbx_event(struct run *r, pri_event *e)
{
	switch (e->e) {
	case PRI_EVENT_DCHAN_UP:
		r->pbx_up = true;
		break;
	case PRI_EVENT_RING:
		r->reached_pbx++;
		if (r->step != GOOD_CALL) {
			printf("badchan: FAIL: a call on a channel that does not exist reached the PBX\n");
			r->failures++;
		}
		pri_proceeding(r->pbx.pri, e->ring.call, DCHAN_BCHANNEL(e->ring.channel), 0);
		pri_answer(r->pbx.pri, e->ring.call, DCHAN_BCHANNEL(e->ring.channel), 1);
		break;
	case PRI_EVENT_HANGUP_REQ:
		pri_hangup(r->pbx.pri, e->hangup.call, e->hangup.cause);
		break;
	default:
		break;
	}
}

static void service(struct run *r, struct dchan *d, bool readable)
{
	pri_event *e;

	for (int i = 0; i < 64 && (e = dchan_service(d, readable)); i++, readable = false) {
		if (d == &r->carrier)
			carrier_event(r, e);
		else
			pbx_event(r, e);
	}
}

static long long now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (long long)t.tv_sec * 1000 + t.tv_nsec / 1000000;
}

int main(int argc, char **argv)
{
	static const struct simcard_ops ops = { far_send, far_receive };
	static struct run r;
	struct simcard *card;
	char path[512];
	int a, b;
	long long deadline = now_ms() + TIMEOUT_MS;

	if (argc != 2) {
		fprintf(stderr, "usage: badchan DIR\n");
		return 2;
	}
	dchan_set_logging(false);
	snprintf(path, sizeof(path), "%s/a1", argv[1]);
	if (simcard_new(&ops, &r, false, &card) < 0 || (a = simcard_port_add(card, path)) < 0)
		return 2;
	snprintf(path, sizeof(path), "%s/b1", argv[1]);
	if ((b = simcard_port_add(card, path)) < 0 ||
	    dchan_open(&r.carrier, simcard_port_far_fd(card, a), PRI_NETWORK, dchan_switchtype("euroisdn"), "carrier") ||
	    dchan_open(&r.pbx, simcard_port_far_fd(card, b), PRI_CPE, dchan_switchtype("euroisdn"), "pbx"))
		return 2;
	while (r.step != DONE && now_ms() < deadline) {
		struct pollfd pfd[3] = {
			{ .fd = simcard_fd(card), .events = POLLIN },
			{ .fd = r.carrier.fd, .events = POLLIN },
			{ .fd = r.pbx.fd, .events = POLLIN },
		};
		int timeout = simcard_timeout_ms(card);

		if (dchan_timeout_ms(&r.carrier, timeout) < timeout)
			timeout = dchan_timeout_ms(&r.carrier, timeout);
		if (dchan_timeout_ms(&r.pbx, timeout) < timeout)
			timeout = dchan_timeout_ms(&r.pbx, timeout);
		poll(pfd, 3, timeout);
		simcard_dispatch(card);
		service(&r, &r.carrier, pfd[1].revents & POLLIN);
		service(&r, &r.pbx, pfd[2].revents & POLLIN);
		if (r.step == WAIT_LINKS && r.carrier_up && r.pbx_up) {
			r.step = BAD_CALLS;
			next_bad(&r);
		}
	}
	if (r.step != DONE) {
		printf("badchan: FAIL: timed out at step %d (links up: carrier %d, pbx %d)\n", r.step, r.carrier_up,
		       r.pbx_up);
		r.failures++;
	}
	if (r.refused_82 != (int)(sizeof(bad_channels) / sizeof(bad_channels[0]))) {
		printf("badchan: FAIL: %d of %zu bad calls refused with cause 82\n", r.refused_82,
		       sizeof(bad_channels) / sizeof(bad_channels[0]));
		r.failures++;
	}
	if (!r.answered) {
		printf("badchan: FAIL: the call on timeslot 5 afterwards was not answered\n");
		r.failures++;
	}
	printf("badchan: %d bad calls refused with cause 82, %d call(s) reached the PBX, good call %s; %d failures\n",
	       r.refused_82, r.reached_pbx, r.answered ? "answered" : "not answered", r.failures);
	simcard_free(card);
	return r.failures ? 1 : 0;
}
