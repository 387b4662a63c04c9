// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunksim: a synthetic network for trunkrecd. A virtual E1 card
 * (trunks/simcard.h) with, behind each port pair, a carrier (libpri NET on
 * port aK) and a PBX (libpri CPE on port bK). It places calls both ways
 * through whatever sits on the card's sockets (trunkrecd), plays a unique
 * tone-plus-noise stream from each far end and checks that each far end hears
 * the other's stream bit-exact. docs/synthetic-trunk.md is the contract.
 *
 * One thread, one poll loop: the card, the far ends' libpri instances and the
 * call logic all run on it.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "tools/trunksim/trunksim.h"
#include "trunks/dchan.h"
#include "trunks/simcard.h"

#define MAX_PAIRS	SIM_MAX_PAIRS
#define CALLS_PER_PAIR	30	/* B-channels of an E1 */
#define MAX_CALLS	9999	/* ids are 4 digits in the numbers */
#define ANSWER_TICKS	5	/* ~100 ms from ALERTING to CONNECT */
#define TS_REST_TICKS	25	/* a released timeslot rests 0.5 s before reuse */
#define CALL_GUARD_MS	20000	/* beyond hold time: a call stuck longer fails */
#define SCEN_GUARD_MS	60000	/* a scenario's script runs up to ~20 s of line time */
#define RELEASE_GRACE_MS 3000	/* after both hung up, how long to wait for RELEASE */
#define TICKS_PER_S	50

const char *const sim_end_name[2] = { "carrier", "pbx" };
#define end_name sim_end_name

static volatile sig_atomic_t stop_signal;

static void on_signal(int sig)
{
	stop_signal = sig;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static bool verbose;

void sim_log(struct sim *sim, const char *fmt, ...)
{
	va_list ap;

	if (!verbose)
		return;
	fprintf(stderr, "trunksim: [tick %" PRIu64 "] ", sim->card ? sim->cardops->tick(sim->card) : 0);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
}
#define logv sim_log

static uint64_t prng_next(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

void sim_set_result(struct simcall *c, const char *fmt, ...)
{
	va_list ap;

	if (c->result[0])
		return;		/* the first reason is the one that explains the rest */
	va_start(ap, fmt);
	vsnprintf(c->result, sizeof(c->result), fmt, ap);
	va_end(ap);
}
#define set_result sim_set_result

/* Append "tick:what" to the call's event trace (report column `events`). */
void sim_event(struct sim *sim, struct simcall *c, const char *fmt, ...)
{
	size_t len = strlen(c->events);
	char what[64];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(what, sizeof(what), fmt, ap);
	va_end(ap);
	logv(sim, "call %d: %s", c->id, what);
	if (len + strlen(what) + 24 < sizeof(c->events))
		snprintf(c->events + len, sizeof(c->events) - len, "%s%" PRIu64 ":%s", len ? "," : "",
			 sim->cardops->tick(sim->card), what);
}

uint64_t sim_tick(struct sim *sim)
{
	return sim->cardops->tick(sim->card);
}

struct pri *sim_pri(struct sim *sim, struct simcall *c, enum sim_end e)
{
	return sim->pairs[c->pair].end[e].d.pri;
}

/* ---- timeslots of a far end ---- */

void sim_leg_bind(struct sim *sim, struct simcall *c, enum sim_end e, int ts)
{
	struct farend *fe = &sim->pairs[c->pair].end[e];
	struct leg *l = &c->leg[e];

	if (l->ts && fe->by_ts[l->ts] == c) {
		fe->by_ts[l->ts] = NULL;
		fe->rest_until[l->ts] = sim->cardops->tick(sim->card) + TS_REST_TICKS;
	}
	l->ts = ts;
	if (ts && !l->first_ts)
		l->first_ts = ts;
	if (ts)
		fe->by_ts[ts] = c;
}
#define leg_bind sim_leg_bind

static void leg_unbind(struct sim *sim, struct simcall *c, enum sim_end e)
{
	struct farend *fe = &sim->pairs[c->pair].end[e];
	int ts = c->leg[e].ts;

	if (ts && fe->by_ts[ts] == c) {
		fe->by_ts[ts] = NULL;
		fe->rest_until[ts] = sim->cardops->tick(sim->card) + TS_REST_TICKS;
	}
}

/* A free B-channel: lowest first (carrier), highest first (PBX). 0 if none. */
static int farend_pick_ts(struct sim *sim, struct farend *fe, bool from_top)
{
	uint64_t tick = sim->cardops->tick(sim->card);

	for (int i = 1; i < SIMCARD_TS; i++) {
		int ts = from_top ? SIMCARD_TS - i : i;

		if (ts == SIMCARD_DCHANNEL || fe->by_ts[ts] || fe->rest_until[ts] > tick)
			continue;
		return ts;
	}
	return 0;
}

int sim_pick_ts(struct sim *sim, struct simcall *c, enum sim_end e)
{
	return farend_pick_ts(sim, &sim->pairs[c->pair].end[e], e == END_PBX);
}

/* ---- the card's callbacks: audio ---- */

static void far_send(void *userdata, int port, int ts, uint64_t tick, uint8_t *ret_block)
{
	struct sim *sim = userdata;
	enum sim_end e = (enum sim_end)(port % 2);
	struct simcall *c = sim->pairs[port / 2].end[e].by_ts[ts];

	if (c && c->leg[e].connected && c->stream[e]) {
		sim_stream_send(c->stream[e], tick, ret_block);
		return;
	}
	memset(ret_block, SIMCARD_IDLE_ALAW, SIMCARD_BLOCK);
}

static void far_receive(void *userdata, int port, int ts, uint64_t tick, const uint8_t *block)
{
	struct sim *sim = userdata;
	enum sim_end e = (enum sim_end)(port % 2);
	struct simcall *c = sim->pairs[port / 2].end[e].by_ts[ts];

	/* Far end e hears what its receiver is attached to (normally the other far end). */
	if (c && c->leg[e].watching)
		sim_rx_receive(&c->leg[e].rx, tick, block);
}

/* ---- calls ---- */

/* Fold a receiver's totals into the call's result for the stream it checked. */
static void rx_close(struct simcall *c, enum sim_end at)
{
	struct sim_rx *rx = &c->leg[at].rx;
	struct sim_stream_result *r = &c->res[!at];

	if (!rx->from)
		return;
	sim_rx_finish(rx);
	r->compared += rx->compared;
	r->mismatch += rx->mismatch;
	r->lost += rx->lost;
	if (rx->delay_min >= 0 && (r->delay_min < 0 || rx->delay_min < r->delay_min))
		r->delay_min = rx->delay_min;
	if (rx->delay_max > r->delay_max)
		r->delay_max = rx->delay_max;
	rx->compared = rx->mismatch = rx->lost = 0;
}

/* After a transfer: far end `at` of c now hears `from` (another call's stream), joined midway. */
void sim_rx_cross(struct simcall *c, enum sim_end at, struct sim_stream *from)
{
	rx_close(c, at);
	sim_rx_attach(&c->leg[at].rx, from, true);
	c->leg[at].watching = true;
}

/* Copy the per-phase pass-through counters out of a stream before it is freed. */
static void stream_keep(struct simcall *c, enum sim_end e)
{
	struct sim_stream *s = c->stream[e];

	for (int i = 0; i < c->nphase; i++) {
		if (c->phase[i].side != (int)e)
			continue;
		c->ph_compared[i] = s->ph_compared[i];
		c->ph_mismatch[i] = s->ph_mismatch[i];
		c->ph_lost[i] = s->ph_lost[i];
	}
}

static void call_release_streams(struct simcall *c)
{
	struct simcall *calls[2] = { c, c->partner };

	/* Receivers may check the partner's streams (after a transfer): close them all first. */
	for (int i = 0; i < 2; i++)
		for (int e = 0; calls[i] && e < 2; e++)
			rx_close(calls[i], (enum sim_end)e);
	for (int i = 0; i < 2; i++) {
		for (int e = 0; calls[i] && e < 2; e++) {
			if (!calls[i]->stream[e])
				continue;
			stream_keep(calls[i], (enum sim_end)e);
			free(calls[i]->stream[e]);
			calls[i]->stream[e] = NULL;
		}
	}
}

/* The verdict on a call whose streams are released. */
static void call_conclude(struct sim *sim, struct simcall *c)
{
	if (!c->connect_optional && (!c->leg[END_CARRIER].ever_connected || !c->leg[END_PBX].ever_connected))
		set_result(c, "failed:not-connected");
	scen_finish(sim, c);
	set_result(c, "ok");
	logv(sim, "call %d done: %s", c->id, c->result);
}

static void call_finish(struct sim *sim, struct simcall *c)
{
	for (int e = 0; e < 2; e++)
		leg_unbind(sim, c, (enum sim_end)e);
	c->state = CALL_DONE;
	sim->active--;
	sim->pairs[c->pair].active--;
	/* Linked calls check each other's streams after a transfer: judge both when both are over. */
	if (c->partner && c->partner->state == CALL_ACTIVE)
		return;
	call_release_streams(c);
	call_conclude(sim, c);
	if (c->partner && c->partner->state == CALL_DONE)
		call_conclude(sim, c->partner);
}

static void leg_stop(struct simcall *c, enum sim_end e)
{
	c->leg[e].ended = true;
	c->leg[e].connected = false;
	c->leg[e].watching = false;
}

/* This far end hangs up (or gives up on) its side of the call. */
void sim_leg_hangup(struct sim *sim, struct simcall *c, enum sim_end e, int cause)
{
	struct leg *l = &c->leg[e];

	if (l->ended && (l->gone || !l->call))
		return;
	if (!l->ended && c->hangup_by < 0) {
		c->hangup_by = e;
		c->hangup_tick = sim->cardops->tick(sim->card);
	}
	leg_stop(c, e);
	if (l->call && !l->gone)
		pri_hangup(sim->pairs[c->pair].end[e].d.pri, l->call, cause);
}
#define leg_hangup sim_leg_hangup

static void call_abort(struct sim *sim, struct simcall *c, const char *why, int cause)
{
	set_result(c, "failed:%s", why);
	for (int e = 0; e < 2; e++) {
		leg_hangup(sim, c, (enum sim_end)e, cause);
		c->leg[e].gone = true;
		c->leg[e].call = NULL;
	}
	call_finish(sim, c);
}

int sim_call_place(struct sim *sim, struct simcall *c)
{
	enum sim_end o = c->outbound ? END_PBX : END_CARRIER;
	struct farend *fe = &sim->pairs[c->pair].end[o];
	struct pri *pri = fe->d.pri;
	struct pri_sr *sr;
	int ts = farend_pick_ts(sim, fe, o == END_PBX);

	if (!ts)
		return -EBUSY;
	for (int e = 0; e < 2; e++) {
		c->stream[e] = malloc(sizeof(*c->stream[e]));
		if (!c->stream[e])
			return -ENOMEM;	/* the caller aborts the call: frees the other */
		/* direction 0 = carrier→PBX (a2b), 1 = PBX→carrier (b2a) */
		sim_stream_init(c->stream[e], sim->opt.seed, c->id, e);
	}
	for (int e = 0; e < 2; e++) {
		struct sim_sound tone = sim_sound_tone(c->freq[e], 0, 0);

		/* basic: the call's own tone from the first block; scenarios change it per phase */
		sim_stream_set(c->stream[e], &tone, -1);
		sim_rx_attach(&c->leg[e].rx, c->stream[!e], false);
	}
	c->state = CALL_ACTIVE;
	c->started_ms = now_ms();
	sim->active++;
	sim->pairs[c->pair].active++;
	c->leg[o].call = pri_new_call(pri);
	sr = pri_sr_new();
	if (!c->leg[o].call || !sr) {
		if (sr)
			pri_sr_free(sr);
		call_abort(sim, c, "setup", PRI_CAUSE_NORMAL_CLEARING);
		return 0;
	}
	/* Carrier (network): exclusive. PBX (user): preferred, the network may move it. */
	pri_sr_set_channel(sr, ts, o == END_CARRIER, 1);
	pri_sr_set_bearer(sr, PRI_TRANS_CAP_SPEECH, PRI_LAYER_1_ALAW);
	pri_sr_set_called(sr, c->called, PRI_UNKNOWN, 1);
	pri_sr_set_caller(sr, c->calling, NULL, PRI_UNKNOWN, PRES_ALLOWED_USER_NUMBER_NOT_SCREENED);
	leg_bind(sim, c, o, ts);
	c->leg[o].watching = true;	/* the answer's first block must be seen */
	if (pri_setup(pri, c->leg[o].call, sr)) {
		pri_sr_free(sr);
		call_abort(sim, c, "setup", PRI_CAUSE_NORMAL_CLEARING);
		return 0;
	}
	pri_sr_free(sr);
	logv(sim, "call %d: %s %s -> %s, %s ts %d", c->id, c->outbound ? "outbound" : "inbound",
	     c->calling, c->called, end_name[o], ts);
	return 0;
}
#define call_place sim_call_place

struct simcall *sim_find_call(struct sim *sim, int pair, enum sim_end e, q931_call *call)
{
	if (!call)
		return NULL;
	for (int ts = 1; ts < SIMCARD_TS; ts++) {
		struct simcall *c = sim->pairs[pair].end[e].by_ts[ts];

		if (c && c->leg[e].call == call)
			return c;
	}
	/* Released or held legs have no timeslot but are still in the call. */
	for (int i = 0; i < sim->ncalls; i++) {
		struct simcall *c = &sim->calls[i];

		if (c->state == CALL_ACTIVE && c->pair == pair && c->leg[e].call == call)
			return c;
	}
	return NULL;
}
#define find_call sim_find_call

/* The call a calling number encodes at this far end, or NULL. */
static struct simcall *parse_call(struct sim *sim, const char *calling, enum sim_end at)
{
	/* Inbound calls ring at the PBX, outbound and consultation calls at the carrier. */
	static const char *const prefixes[2][2] = { { "3", "4" }, { "5550100", NULL } };

	for (int k = 0; k < 2; k++) {
		const char *prefix = prefixes[at][k];
		size_t len = prefix ? strlen(prefix) : 0;
		char *endp;
		long id;

		if (!prefix || strncmp(calling, prefix, len) || strlen(calling) != len + 4)
			continue;
		id = strtol(calling + len, &endp, 10);
		if (*endp || id < 1 || id > sim->opt.calls)
			return NULL;
		if (k == 1)	/* "4" + the main call's id: its consultation call */
			return sim->ncalls > sim->opt.calls ? &sim->calls[sim->opt.calls + id - 1] : NULL;
		return &sim->calls[id - 1];
	}
	return NULL;
}

static void on_ring(struct sim *sim, int pair, enum sim_end e, const pri_event *ev)
{
	/* Copy first: the event dies with the next libpri call on this instance. */
	q931_call *call = ev->ring.call;
	int ts = DCHAN_BCHANNEL(ev->ring.channel);
	struct farend *fe = &sim->pairs[pair].end[e];
	struct pri *pri = fe->d.pri;
	struct simcall *c = parse_call(sim, ev->ring.callingnum, e);

	if (!c || c->state != CALL_ACTIVE || c->pair != pair || c->outbound != (e == END_CARRIER) || c->leg[e].call) {
		logv(sim, "%s %d: unexpected SETUP from %s: rejected", end_name[e], pair + 1, ev->ring.callingnum);
		pri_hangup(pri, call, PRI_CAUSE_UNALLOCATED);
		return;
	}
	c->leg[e].call = call;
	/*
	 * The carrier is the network: a busy or absent channel that the user
	 * side only preferred is replaced by a free one, as a switch does.
	 */
	if (e == END_CARRIER && (!ts || fe->by_ts[ts]) && (ev->ring.flexible || !ts))
		ts = farend_pick_ts(sim, fe, false);
	if (!ts || fe->by_ts[ts]) {
		/*
		 * Still clearing that timeslot: refuse it (cause 44), as a PBX does.
		 * The network may offer the call again on another one; only a
		 * second refusal of the same call fails it.
		 */
		logv(sim, "call %d: %s: timeslot %d unavailable", c->id, end_name[e], ts);
		if (c->refusals++ < 2) {
			sim_event(sim, c, "%s-refused-ts-%d", end_name[e], ts);
			pri_hangup(pri, call, PRI_CAUSE_REQUESTED_CHAN_UNAVAIL);
			c->leg[e].call = NULL;
			return;
		}
		set_result(c, "failed:%s-ts-%d-unavailable", end_name[e], ts);
		leg_hangup(sim, c, e, PRI_CAUSE_REQUESTED_CHAN_UNAVAIL);
		return;
	}
	leg_bind(sim, c, e, ts);
	c->leg[e].watching = true;
	pri_proceeding(pri, call, ts, 0);
	pri_acknowledge(pri, call, ts, 0);
	c->answer_tick = sim->cardops->tick(sim->card) + ANSWER_TICKS;
	logv(sim, "call %d: %s rings on ts %d", c->id, end_name[e], ts);
}

static void on_channel(struct sim *sim, struct simcall *c, enum sim_end e, int channel)
{
	int ts = DCHAN_BCHANNEL(channel);
	struct farend *fe = &sim->pairs[c->pair].end[e];

	if (!ts || ts == c->leg[e].ts || c->leg[e].ended)
		return;
	if (fe->by_ts[ts]) {
		set_result(c, "failed:%s-moved-to-busy-ts-%d", end_name[e], ts);
		leg_hangup(sim, c, e, PRI_CAUSE_REQUESTED_CHAN_UNAVAIL);
		return;
	}
	logv(sim, "call %d: %s moved from ts %d to %d", c->id, end_name[e], c->leg[e].ts, ts);
	leg_bind(sim, c, e, ts);
}

static void on_pair_down(struct sim *sim, int pair, enum sim_end e)
{
	for (int i = 0; i < sim->ncalls; i++) {
		struct simcall *c = &sim->calls[i];

		if (c->state == CALL_ACTIVE && c->pair == pair)
			call_abort(sim, c, e == END_CARRIER ? "carrier-dchan-down" : "pbx-dchan-down",
				   PRI_CAUSE_NETWORK_OUT_OF_ORDER);
	}
}

/* Far end e's leg was cleared by the other side (DISCONNECT or RELEASE it did not ask for). */
static void leg_cleared(struct sim *sim, struct simcall *c, enum sim_end e, int cause)
{
	struct leg *l = &c->leg[e];

	if (l->ended)
		return;
	l->released_by_peer = true;
	/* Cleared before our planned hang-up, and not as the scenario wants: the call failed. */
	if (c->hangup_by < 0 && !l->release_ok)
		set_result(c, "failed:%d", cause);
	leg_stop(c, e);
	scen_leg_released(sim, c, e);
}

static void handle_event(struct sim *sim, int pair, enum sim_end e, const pri_event *ev)
{
	struct farend *fe = &sim->pairs[pair].end[e];
	struct pri *pri = fe->d.pri;
	struct simcall *c;

	switch (ev->e) {
	case PRI_EVENT_DCHAN_UP:
		fe->up = true;
		fe->up_tick = sim->cardops->tick(sim->card);
		logv(sim, "%s %d: D-channel up", end_name[e], pair + 1);
		return;
	case PRI_EVENT_DCHAN_DOWN:
		fe->up = false;
		logv(sim, "%s %d: D-channel down", end_name[e], pair + 1);
		on_pair_down(sim, pair, e);
		return;
	case PRI_EVENT_RING:
		on_ring(sim, pair, e, ev);
		return;
	case PRI_EVENT_PROCEEDING:
		if ((c = find_call(sim, pair, e, ev->proceeding.call)))
			on_channel(sim, c, e, ev->proceeding.channel);
		return;
	case PRI_EVENT_RINGING:
		if ((c = find_call(sim, pair, e, ev->ringing.call)))
			on_channel(sim, c, e, ev->ringing.channel);
		return;
	case PRI_EVENT_ANSWER:
		c = find_call(sim, pair, e, ev->answer.call);
		if (!c)
			return;
		on_channel(sim, c, e, ev->answer.channel);
		if (c->leg[e].ended)
			return;
		c->leg[e].connected = c->leg[e].ever_connected = true;
		logv(sim, "call %d: %s got CONNECT", c->id, end_name[e]);
		scen_connected(sim, c, e);
		return;
	case PRI_EVENT_HANGUP_REQ: {
		q931_call *call = ev->hangup.call;
		int cause = ev->hangup.cause;

		c = find_call(sim, pair, e, call);
		if (!c) {
			pri_hangup(pri, call, cause);
			return;
		}
		logv(sim, "call %d: %s got DISCONNECT cause %d", c->id, end_name[e], cause);
		leg_cleared(sim, c, e, cause);
		pri_hangup(pri, call, cause);
		return;
	}
	case PRI_EVENT_HANGUP:
	case PRI_EVENT_HANGUP_ACK: {
		q931_call *call = ev->hangup.call;
		int cause = ev->hangup.cause, kind = ev->e;

		c = find_call(sim, pair, e, call);
		if (!c) {
			if (kind == PRI_EVENT_HANGUP)
				pri_hangup(pri, call, cause);
			return;
		}
		logv(sim, "call %d: %s got %s cause %d", c->id, end_name[e],
		     kind == PRI_EVENT_HANGUP ? "RELEASE" : "RELEASE ack", cause);
		leg_cleared(sim, c, e, cause);
		c->leg[e].gone = true;
		c->leg[e].call = NULL;
		/* RELEASE: libpri frees the call once we answer it (as Asterisk does). */
		if (kind == PRI_EVENT_HANGUP)
			pri_hangup(pri, call, cause);
		leg_unbind(sim, c, e);
		if (c->leg[!e].gone)
			call_finish(sim, c);
		return;
	}
	default:
		c = NULL;
		switch (ev->e) {
		case PRI_EVENT_HOLD_ACK: c = find_call(sim, pair, e, ev->hold_ack.call); break;
		case PRI_EVENT_HOLD_REJ: c = find_call(sim, pair, e, ev->hold_rej.call); break;
		case PRI_EVENT_RETRIEVE_ACK: c = find_call(sim, pair, e, ev->retrieve_ack.call); break;
		case PRI_EVENT_RETRIEVE_REJ: c = find_call(sim, pair, e, ev->retrieve_rej.call); break;
		case PRI_EVENT_NOTIFY: c = find_call(sim, pair, e, ev->notify.call); break;
		case PRI_EVENT_FACILITY: c = find_call(sim, pair, e, ev->facility.call); break;
		case PRI_EVENT_HOLD: c = find_call(sim, pair, e, ev->hold.call); break;
		case PRI_EVENT_RETRIEVE: c = find_call(sim, pair, e, ev->retrieve.call); break;
		default: break;
		}
		if (scen_event(sim, pair, e, c, ev))
			return;
		logv(sim, "%s %d: %s ignored", end_name[e], pair + 1, pri_event2str(ev->e));
		return;
	}
}

/* ---- per tick ---- */

static bool end_ready(const struct sim *sim, const struct farend *fe)
{
	return fe->up && sim->cardops->tick(sim->card) >= fe->up_tick + sim->cardops->link_settle_ticks;
}

static bool pair_ready(struct sim *sim, int pair)
{
	struct pair *p = &sim->pairs[pair];

	return end_ready(sim, &p->end[END_CARRIER]) && end_ready(sim, &p->end[END_PBX]);
}

/* --line-down: take a port's line away and bring it back, on schedule. */
static void line_down_tick(struct sim *sim, uint64_t tick)
{
	for (int i = 0; i < sim->opt.nline_down; i++) {
		struct sim_line_down *ld = &sim->opt.line_down[i];
		int port = sim->pairs[ld->pair].end[ld->side].port;
		int rc;

		if (!ld->down && !ld->done && tick >= ld->at) {
			rc = sim->cardops->port_down(sim->card, port);
			fprintf(stderr, "trunksim: tick %" PRIu64 ": line of pair %d %s side down%s%s\n", tick,
				ld->pair + 1, end_name[ld->side], rc ? ": " : "", rc ? strerror(-rc) : "");
			ld->down = true;
		} else if (ld->down && tick >= ld->at + ld->ticks) {
			rc = sim->cardops->port_up(sim->card, port);
			fprintf(stderr, "trunksim: tick %" PRIu64 ": line of pair %d %s side up%s%s\n", tick,
				ld->pair + 1, end_name[ld->side], rc ? ": " : "", rc ? strerror(-rc) : "");
			ld->down = false;
			ld->done = true;
		}
	}
}

/* At exit: a line still taken away comes back (a DAHDI span would stay destroyed otherwise). */
static void line_down_restore(struct sim *sim)
{
	for (int i = 0; i < sim->opt.nline_down; i++) {
		struct sim_line_down *ld = &sim->opt.line_down[i];

		if (ld->down) {
			int rc = sim->cardops->port_up(sim->card, sim->pairs[ld->pair].end[ld->side].port);

			fprintf(stderr, "trunksim: at exit: line of pair %d %s side up%s%s\n", ld->pair + 1,
				end_name[ld->side], rc ? ": " : "", rc ? strerror(-rc) : "");
			ld->down = false;
		}
	}
}

static void calls_tick(struct sim *sim)
{
	uint64_t tick = sim->cardops->tick(sim->card);
	int64_t now = now_ms();
	int64_t guard = CALL_GUARD_MS + sim->opt.hold_max + (sim->opt.scenario != SCEN_BASIC ? SCEN_GUARD_MS : 0);

	line_down_tick(sim, tick);
	for (int i = 0; i < sim->ncalls; i++) {
		struct simcall *c = &sim->calls[i];
		enum sim_end a = c->outbound ? END_CARRIER : END_PBX;	/* the answering end */
		struct leg *al = &c->leg[a];

		if (c->state != CALL_ACTIVE)
			continue;
		if (c->answer_tick && tick >= c->answer_tick && al->call && !al->ended) {
			c->answer_tick = 0;
			if (!scen_before_answer(sim, c)) {
				struct pri *pri = sim->pairs[c->pair].end[a].d.pri;

				/*
				 * The PBX names the extension that answers (agent "4NNNN", the
				 * number its consultation calls come from), as PBXs do in CONNECT.
				 */
				if (a == END_PBX) {
					struct pri_party_connected_line agent;

					memset(&agent, 0, sizeof(agent));
					agent.id.number.valid = 1;
					agent.id.number.presentation = PRES_ALLOWED_USER_NUMBER_NOT_SCREENED;
					agent.id.number.plan = PRI_UNKNOWN;
					snprintf(agent.id.number.str, sizeof(agent.id.number.str), "4%04d", c->id);
					pri_connected_line_update(pri, al->call, &agent);
				}
				pri_answer(pri, al->call, al->ts, 1);
				al->connected = al->ever_connected = true;
				c->connect_tick = tick;
				logv(sim, "call %d: %s answers", c->id, end_name[a]);
				scen_connected(sim, c, a);
			}
		}
		if (sim->opt.scenario == SCEN_BASIC) {
			/* Hold time runs from the answer; the hang-up waits until both ends are talking. */
			if (c->hangup_by < 0 && c->connect_tick && tick >= c->connect_tick + (uint64_t)c->hold_ticks &&
			    c->leg[0].connected && c->leg[1].connected) {
				logv(sim, "call %d: %s hangs up", c->id, end_name[c->hangs_up]);
				leg_hangup(sim, c, c->hangs_up, PRI_CAUSE_NORMAL_CLEARING);
			}
		} else {
			scen_tick(sim, c, tick);
			if (c->state != CALL_ACTIVE)
				continue;
		}
		if (c->leg[0].ended && c->leg[1].ended && !c->ended_ms)
			c->ended_ms = now;
		if (c->ended_ms && now - c->ended_ms > RELEASE_GRACE_MS) {
			/* Both sides cleared; a lost RELEASE must not hold the run, but it is counted. */
			sim->clearing_unanswered++;
			logv(sim, "call %d: clearing unanswered after %d ms", c->id, RELEASE_GRACE_MS);
			call_finish(sim, c);
		} else if (now - c->started_ms > guard) {
			call_abort(sim, c, "timeout", PRI_CAUSE_RECOVERY_ON_TIMER_EXPIRE);
		}
	}

	/* New calls: at most rate per second (of line time), concurrency, 30 per pair. */
	for (int n = 0; n < 64 && sim->next_call < sim->opt.calls; n++) {
		struct simcall *c = &sim->calls[sim->next_call];
		int rc;

		if (sim->active >= sim->opt.concurrency || !pair_ready(sim, c->pair) ||
		    sim->pairs[c->pair].active >= CALLS_PER_PAIR)
			break;
		if (sim->next_start_tick < (double)tick - 1.0)
			sim->next_start_tick = (double)tick;	/* no burst for time spent waiting */
		if ((double)tick < sim->next_start_tick)
			break;
		rc = call_place(sim, c);
		if (rc == -EBUSY)
			break;	/* every timeslot busy or resting: try next tick */
		if (rc < 0) {
			for (int e = 0; e < 2; e++) {
				free(c->stream[e]);
				c->stream[e] = NULL;
			}
			snprintf(c->result, sizeof(c->result), "failed:no-memory");
			c->state = CALL_DONE;
		}
		sim->next_call++;
		sim->next_start_tick += TICKS_PER_S / sim->opt.rate;
	}
}

/* ---- set-up, report ---- */

static void calls_plan(struct sim *sim)
{
	uint64_t rng = sim->opt.seed ^ 0x5eed5eed5eed5eedULL;

	for (int i = 0; i < sim->opt.calls; i++) {
		struct simcall *c = &sim->calls[i];
		int id = i + 1;
		int span = sim->opt.hold_max - sim->opt.hold_min;
		int hold = sim->opt.hold_min + (span ? (int)(prng_next(&rng) % (uint64_t)(span + 1)) : 0);

		c->id = id;
		c->pair = i % sim->opt.pairs;
		/* Exactly pct% outbound, spread evenly rather than drawn. */
		c->outbound = (id * sim->opt.outbound_pct) / 100 > ((id - 1) * sim->opt.outbound_pct) / 100;
		c->hold_ticks = (hold + 10) / 20;
		if (sim->opt.hangup == HANG_RANDOM)
			c->hangs_up = (prng_next(&rng) & 1) ? END_PBX : END_CARRIER;
		else
			c->hangs_up = sim->opt.hangup == HANG_PBX ? END_PBX : END_CARRIER;
		c->hangup_by = -1;
		c->freq[END_CARRIER] = sim_call_freq(id, END_CARRIER);
		c->freq[END_PBX] = sim_call_freq(id, END_PBX);
		if (c->outbound) {
			snprintf(c->calling, sizeof(c->calling), "3%04d", id);
			snprintf(c->called, sizeof(c->called), "5550200%04d", id);
		} else {
			snprintf(c->calling, sizeof(c->calling), "5550100%04d", id);
			snprintf(c->called, sizeof(c->called), "2%03d", id % 1000);
		}
		for (int e = 0; e < 2; e++)
			c->res[e].delay_min = c->res[e].delay_max = -1;
		c->cur_phase[0] = c->cur_phase[1] = -1;
		c->expect_recording = "yes";
		scen_plan(sim, c);
	}
}

static void print_delay(FILE *f, int64_t d)
{
	if (d < 0)
		fputs("\t-", f);
	else
		fprintf(f, "\t%" PRId64, d);
}

static int write_report(struct sim *sim)
{
	char path[PATH_MAX];
	FILE *f = fopen(sim->opt.report, "we");
	int rc = 0;

	if (!f)
		return -errno;
	/* The columns after b2a_delay_max are newer: readers of the old ones ignore them. */
	fputs("id\tdir\tpair\ta_ts\tb_ts\tcalling\tcalled\tresult\tconnect_tick\thangup_tick\thangup_by"
	      "\tfreq_carrier\tfreq_pbx\ta2b_compared\ta2b_mismatch\ta2b_lost\ta2b_delay_min\ta2b_delay_max"
	      "\tb2a_compared\tb2a_mismatch\tb2a_lost\tb2a_delay_min\tb2a_delay_max"
	      "\tscenario\texpect_recording\trecord_from_tick\tparent\tevents\n", f);
	for (int i = 0; i < sim->ncalls; i++) {
		const struct simcall *c = &sim->calls[i];

		/* Consultation slots the scenario never used are not calls. */
		if (c->consult && c->state == CALL_UNPLACED && !c->result[0])
			continue;
		fprintf(f, "%d\t%s\t%d\t%d\t%d\t%s\t%s\t%s\t%" PRIu64 "\t%" PRIu64 "\t%s\t%.1f\t%.1f",
			c->id, c->outbound ? "out" : "in", c->pair + 1, c->leg[END_CARRIER].first_ts,
			c->leg[END_PBX].first_ts, c->calling, c->called, c->result, c->connect_tick, c->hangup_tick,
			c->hangup_by < 0 ? "-" : end_name[c->hangup_by], c->freq[END_CARRIER], c->freq[END_PBX]);
		for (int e = 0; e < 2; e++) {
			fprintf(f, "\t%lu\t%lu\t%lu", c->res[e].compared, c->res[e].mismatch, c->res[e].lost);
			print_delay(f, c->res[e].delay_min);
			print_delay(f, c->res[e].delay_max);
		}
		fprintf(f, "\t%s\t%s\t%" PRIu64 "\t%d\t%s\n", scen_name(sim->opt.scenario), c->expect_recording,
			c->record_from_tick, c->consult && c->partner ? c->partner->id : 0, c->events[0] ? c->events : "-");
	}
	if (fclose(f) != 0)
		return -errno;

	if ((size_t)snprintf(path, sizeof(path), "%s.phases", sim->opt.report) >= sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs("id\tphase\tside\tfreq\tstart_tick\tend_tick\texpect\tlevel_db\trelay"
	      "\tpass_compared\tpass_mismatch\tpass_lost\n", f);
	for (int i = 0; i < sim->ncalls; i++) {
		const struct simcall *c = &sim->calls[i];

		for (int k = 0; k < c->nphase; k++) {
			const struct sim_phase *ph = &c->phase[k];
			static const char *const expect[] = { "stored", "absent", "any" };

			if (ph->dtmf)
				fprintf(f, "%d\t%s\t%s\tdtmf", c->id, ph->name, end_name[ph->side]);
			else
				fprintf(f, "%d\t%s\t%s\t%.1f", c->id, ph->name, end_name[ph->side], ph->freq);
			fprintf(f, "\t%" PRIu64 "\t%" PRIu64 "\t%s\t%.1f\t%s\t%lu\t%lu\t%lu\n", ph->start,
				ph->end ? ph->end : (c->hangup_tick ? c->hangup_tick + 1 : ph->start), expect[ph->expect],
				ph->level_db, ph->relay ? "yes" : "no", c->ph_compared[k], c->ph_mismatch[k], c->ph_lost[k]);
		}
	}
	if (fclose(f) != 0)
		return -errno;

	if ((size_t)snprintf(path, sizeof(path), "%s.ports", sim->opt.report) >= sizeof(path))
		return -ENAMETOOLONG;
	f = fopen(path, "we");
	if (!f)
		return -errno;
	fputs("port\tunderruns\toverruns\trefused\tbad_blocks\tsend_dropped\td_dropped\tticks_late\tfast_timeouts\n", f);
	for (int i = 0; i < 2 * sim->opt.pairs; i++) {
		struct simcard_stats st;

		sim->cardops->port_stats(sim->card, i, &st);
		fprintf(f, "%c%d\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\t%lu\n", i % 2 ? 'b' : 'a', i / 2 + 1,
			st.underruns, st.overruns, st.refused, st.bad_blocks, st.send_dropped, st.d_dropped,
			st.ticks_late, st.fast_timeouts);
	}
	if (fclose(f) != 0)
		rc = -errno;
	return rc;
}

/* Summary on stdout; returns the exit status. */
static int summarize(struct sim *sim)
{
	unsigned long ok = 0, compared = 0, mismatch = 0, lost = 0, underruns = 0, overruns = 0;
	int64_t dmin = -1, dmax = -1;

	int ncalls = 0;

	for (int i = 0; i < sim->ncalls; i++) {
		const struct simcall *c = &sim->calls[i];

		if (c->consult && c->state == CALL_UNPLACED && !c->result[0])
			continue;
		ncalls++;
		ok += !strcmp(c->result, "ok");
		for (int e = 0; e < 2; e++) {
			compared += c->res[e].compared;
			mismatch += c->res[e].mismatch;
			lost += c->res[e].lost;
			if (c->res[e].delay_min >= 0 && (dmin < 0 || c->res[e].delay_min < dmin))
				dmin = c->res[e].delay_min;
			if (c->res[e].delay_max > dmax)
				dmax = c->res[e].delay_max;
		}
	}
	for (int i = 0; i < 2 * sim->opt.pairs; i++) {
		struct simcard_stats st;

		sim->cardops->port_stats(sim->card, i, &st);
		underruns += st.underruns;
		overruns += st.overruns;
	}
	printf("trunksim: calls=%d ok=%lu failed=%lu\n", ncalls, ok, (unsigned long)ncalls - ok);
	if (sim->opt.scenario != SCEN_BASIC)
		printf("trunksim: scenario=%s\n", scen_name(sim->opt.scenario));
	if (dmin < 0)
		printf("trunksim: passthrough compared=%lu mismatch=%lu lost=%lu delay_ticks=-..-\n",
		       compared, mismatch, lost);
	else
		printf("trunksim: passthrough compared=%lu mismatch=%lu lost=%lu delay_ticks=%" PRId64 "..%" PRId64 "\n",
		       compared, mismatch, lost, dmin, dmax);
	printf("trunksim: card underruns=%lu overruns=%lu\n", underruns, overruns);
	printf("trunksim: clearing unanswered=%lu\n", sim->clearing_unanswered);
	fflush(stdout);
	/*
	 * basic: every block must pass. Scenarios judge pass-through per phase
	 * (blocks of a held call are not relayed, for one) in each call's result.
	 */
	if (sim->opt.scenario != SCEN_BASIC)
		return ok == (unsigned long)ncalls ? 0 : 1;
	return ok == (unsigned long)ncalls && !mismatch && !lost ? 0 : 1;
}

/* ---- command line ---- */

static void usage(FILE *f)
{
	fputs("usage: trunksim --dir DIR [--pairs N] [--calls TOTAL] [--concurrency C] [--hold MS[-MS]]\n"
	      "                [--rate CALLS_PER_S] [--outbound PCT] [--hangup carrier|pbx|random]\n"
	      "                [--law alaw] [--fast] [--seed S] [--report FILE] [--timeout SEC] [--verbose]\n"
	      "                [--scenario NAME] [--prompt FILE.wav] [--control SOCKET]\n"
	      "                [--line-down PAIR:a|b:AT_TICK:FOR_TICKS]...\n"
	      "       trunksim --dahdi CARRIER_SPAN,PBX_SPAN[,…] [the same options but --dir, --fast, --pairs]\n"
	      "       trunksim --make-prompt OUT.wav\n"
	      "scenarios: basic announce-present announce-absent announce-truncated announce-play hold\n"
	      "           hold-other-ts notify-hold ect transfer-on-disconnect deflect connected-line\n"
	      "           payment-command payment-agent-code payment-ivr card-digits\n",
	      f);
}

static int bad_option(const char *what, const char *arg, const char *fix)
{
	fprintf(stderr, "trunksim: bad %s '%s': %s\n", what, arg, fix);
	return -EINVAL;
}

static bool parse_long(const char *s, long lo, long hi, long *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 10);
	if (errno || end == s || *end || v < lo || v > hi)
		return false;
	*ret = v;
	return true;
}

static int parse_options(int argc, char **argv, struct options *o)
{
	static const struct option longopts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "pairs", required_argument, NULL, 'p' },
		{ "calls", required_argument, NULL, 'n' },
		{ "concurrency", required_argument, NULL, 'c' },
		{ "hold", required_argument, NULL, 'H' },
		{ "rate", required_argument, NULL, 'r' },
		{ "outbound", required_argument, NULL, 'o' },
		{ "hangup", required_argument, NULL, 'u' },
		{ "law", required_argument, NULL, 'l' },
		{ "fast", no_argument, NULL, 'f' },
		{ "seed", required_argument, NULL, 's' },
		{ "report", required_argument, NULL, 'R' },
		{ "timeout", required_argument, NULL, 't' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "scenario", required_argument, NULL, 'S' },
		{ "prompt", required_argument, NULL, 'P' },
		{ "control", required_argument, NULL, 'C' },
		{ "line-down", required_argument, NULL, 'L' },
		{ "dahdi", required_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	bool concurrency_set = false;
	long v;
	int opt;

	*o = (struct options){
		.pairs = 1, .calls = 10, .concurrency = 10, .hold_min = 3000, .hold_max = 3000,
		.rate = 20, .outbound_pct = 50, .hangup = HANG_RANDOM, .seed = 1, .timeout_s = 120,
	};
	while ((opt = getopt_long(argc, argv, "", longopts, NULL)) != -1) {
		switch (opt) {
		case 'd':
			o->dir = optarg;
			break;
		case 'p':
			if (!parse_long(optarg, 1, MAX_PAIRS, &v))
				return bad_option("--pairs", optarg, "give 1 to 8 (the card has 16 ports)");
			o->pairs = (int)v;
			break;
		case 'n':
			if (!parse_long(optarg, 1, MAX_CALLS, &v))
				return bad_option("--calls", optarg, "give 1 to 9999 (ids are 4 digits)");
			o->calls = (int)v;
			break;
		case 'c':
			if (!parse_long(optarg, 1, MAX_PAIRS * CALLS_PER_PAIR, &v))
				return bad_option("--concurrency", optarg, "give 1 to 30 per pair");
			o->concurrency = (int)v;
			concurrency_set = true;
			break;
		case 'H': {
			char *dash = strchr(optarg, '-');
			char lo[32];
			long a, b;

			snprintf(lo, sizeof(lo), "%.*s", dash ? (int)(dash - optarg) : (int)strlen(optarg), optarg);
			if (!parse_long(lo, 20, 3600000, &a) || !parse_long(dash ? dash + 1 : lo, a, 3600000, &b))
				return bad_option("--hold", optarg, "give MS or MIN-MAX in milliseconds, 20 or more, MIN <= MAX");
			o->hold_min = (int)a;
			o->hold_max = (int)b;
			break;
		}
		case 'r': {
			char *end;

			o->rate = strtod(optarg, &end);
			if (end == optarg || *end || !(o->rate > 0 && o->rate <= 1000))
				return bad_option("--rate", optarg, "give calls per second, more than 0, at most 1000");
			break;
		}
		case 'o':
			if (!parse_long(optarg, 0, 100, &v))
				return bad_option("--outbound", optarg, "give a percentage 0 to 100");
			o->outbound_pct = (int)v;
			break;
		case 'u':
			if (!strcmp(optarg, "carrier"))
				o->hangup = HANG_CARRIER;
			else if (!strcmp(optarg, "pbx"))
				o->hangup = HANG_PBX;
			else if (!strcmp(optarg, "random"))
				o->hangup = HANG_RANDOM;
			else
				return bad_option("--hangup", optarg, "give carrier, pbx or random");
			break;
		case 'l':
			if (strcmp(optarg, "alaw"))
				return bad_option("--law", optarg, "only alaw (E1) is simulated");
			break;
		case 'f':
			o->fast = true;
			break;
		case 's': {
			char *end;

			errno = 0;
			o->seed = strtoull(optarg, &end, 0);
			if (errno || end == optarg || *end)
				return bad_option("--seed", optarg, "give an unsigned integer");
			break;
		}
		case 'R':
			o->report = optarg;
			break;
		case 't':
			if (!parse_long(optarg, 1, 86400, &v))
				return bad_option("--timeout", optarg, "give seconds, 1 to 86400");
			o->timeout_s = (int)v;
			break;
		case 'v':
			o->verbose = true;
			break;
		case 'S': {
			int sc = scen_parse(optarg);

			if (sc < 0)
				return bad_option("--scenario", optarg, "see --help for the list");
			o->scenario = (enum sim_scenario)sc;
			break;
		}
		case 'P':
			o->prompt_path = optarg;
			break;
		case 'C':
			o->control_path = optarg;
			break;
		case 'L': {
			struct sim_line_down *ld = &o->line_down[o->nline_down];
			unsigned int pair, at, ticks;
			char side, extra;

			if (o->nline_down == SIM_MAX_LINE_DOWN)
				return bad_option("--line-down", optarg, "give it at most 4 times");
			if (sscanf(optarg, "%u:%c:%u:%u%c", &pair, &side, &at, &ticks, &extra) != 4 ||
			    pair < 1 || pair > MAX_PAIRS || (side != 'a' && side != 'b') || at < 1 || ticks < 1)
				return bad_option("--line-down", optarg,
						  "give PAIR:SIDE:AT_TICK:FOR_TICKS, e.g. 1:a:500:100 (side a = carrier, b = PBX)");
			*ld = (struct sim_line_down){ .pair = (int)pair - 1, .side = side == 'a' ? END_CARRIER : END_PBX,
						      .at = at, .ticks = ticks };
			o->nline_down++;
			break;
		}
		case 'D': {
			char *end = optarg;

			o->ndahdi = 0;
			while (*end && o->ndahdi < 2 * MAX_PAIRS) {
				long span = strtol(end, &end, 10);

				if (span < 1 || span > 128 || (*end && *end != ','))
					break;
				o->dahdi_spans[o->ndahdi++] = (int)span;
				if (*end == ',')
					end++;
			}
			if (*end || o->ndahdi % 2 || !o->ndahdi)
				return bad_option("--dahdi", optarg,
						  "give DAHDI span numbers in pairs, carrier then PBX: CARRIER,PBX[,CARRIER,PBX…], e.g. 1,4");
			break;
		}
		case 'h':
			usage(stdout);
			exit(0);
		default:
			usage(stderr);
			return -EINVAL;
		}
	}
	if (optind < argc) {
		fprintf(stderr, "trunksim: unexpected argument '%s'; every option is --name VALUE\n", argv[optind]);
		return -EINVAL;
	}
	if (o->ndahdi && (o->dir || o->fast)) {
		fprintf(stderr, "trunksim: --dahdi drives DAHDI spans: drop --dir and --fast (the spans are the clock)\n");
		return -EINVAL;
	}
	if (o->ndahdi)
		o->pairs = o->ndahdi / 2;
	else if (!o->dir) {
		fprintf(stderr, "trunksim: no --dir: give the directory to create the card's ports in (or --dahdi SPANS)\n");
		return -EINVAL;
	}
	for (int i = 0; i < o->nline_down; i++)
		if (o->line_down[i].pair >= o->pairs) {
			fprintf(stderr, "trunksim: --line-down names pair %d, but there are %d pair(s)\n",
				o->line_down[i].pair + 1, o->pairs);
			return -EINVAL;
		}
	if (o->scenario == SCEN_PAYMENT_COMMAND && !o->control_path) {
		fprintf(stderr, "trunksim: --scenario payment-command needs --control SOCKET (trunkrecd's control socket)\n");
		return -EINVAL;
	}
	if (o->concurrency > o->pairs * CALLS_PER_PAIR) {
		if (concurrency_set) {
			fprintf(stderr, "trunksim: --concurrency %d is more than 30 calls per pair on %d pair(s); "
				"lower it or add --pairs\n", o->concurrency, o->pairs);
			return -EINVAL;
		}
		o->concurrency = o->pairs * CALLS_PER_PAIR;
	}
	return 0;
}

/* ---- main loop ---- */

static void service_farend(struct sim *sim, int pair, enum sim_end e, bool readable)
{
	struct farend *fe = &sim->pairs[pair].end[e];
	pri_event *ev;

	if (readable) {
		ev = dchan_service(&fe->d, true);
		if (ev)
			handle_event(sim, pair, e, ev);
	}
	/* Due timers raise at most one event per run: run them until none is due. */
	for (int i = 0; i < 32 && dchan_timeout_ms(&fe->d, 1) == 0; i++) {
		ev = dchan_service(&fe->d, false);
		if (ev)
			handle_event(sim, pair, e, ev);
	}
}

static bool all_done(const struct sim *sim)
{
	return sim->next_call == sim->opt.calls && sim->active == 0;
}

static int run(struct sim *sim)
{
	struct pollfd pfd[1 + 2 * MAX_PAIRS];
	int npfd = 1 + 2 * sim->opt.pairs;
	int64_t deadline = sim->start_ms + (int64_t)sim->opt.timeout_s * 1000;

	pfd[0] = (struct pollfd){ .fd = sim->cardops->fd(sim->card), .events = POLLIN };
	for (int i = 0; i < 2 * sim->opt.pairs; i++)
		pfd[1 + i] = (struct pollfd){ .fd = sim->pairs[i / 2].end[i % 2].d.fd, .events = POLLIN };

	while (!all_done(sim)) {
		int timeout = sim->cardops->timeout_ms(sim->card), rc;

		if (stop_signal) {
			fprintf(stderr, "trunksim: %s: stopping\n", strsignal(stop_signal));
			return -EINTR;
		}
		if (now_ms() >= deadline) {
			fprintf(stderr, "trunksim: --timeout %d s reached with %d call(s) unfinished%s\n",
				sim->opt.timeout_s, sim->opt.calls - sim->next_call + sim->active,
				pair_ready(sim, 0) ? "" : "; the D-channels never came up: is trunkrecd connected?");
			return -ETIMEDOUT;
		}
		for (int i = 0; i < 2 * sim->opt.pairs; i++)
			timeout = dchan_timeout_ms(&sim->pairs[i / 2].end[i % 2].d, timeout);
		if (timeout > 100)
			timeout = 100;
		rc = poll(pfd, (nfds_t)npfd, timeout);
		if (rc < 0 && errno != EINTR)
			return -errno;
		rc = sim->cardops->dispatch(sim->card);
		if (rc < 0)
			return rc;
		if (rc > 0)
			calls_tick(sim);
		for (int i = 0; i < 2 * sim->opt.pairs; i++)
			service_farend(sim, i / 2, (enum sim_end)(i % 2), rc >= 0 && (pfd[1 + i].revents & POLLIN));
	}
	return 0;
}

/* Anything still open when the run ends fails, with the reason. */
static void calls_close(struct sim *sim, const char *why)
{
	for (int i = 0; i < sim->ncalls; i++) {
		struct simcall *c = &sim->calls[i];

		if (c->state == CALL_ACTIVE)
			call_abort(sim, c, why, PRI_CAUSE_NORMAL_CLEARING);
		else if (c->state == CALL_UNPLACED && !c->consult)
			set_result(c, "failed:not-placed");
	}
}

/* ---- the synthetic card behind struct sim_card_ops ---- */

static int syn_port_far_fd(const void *card, int port)
{
	return simcard_port_far_fd(card, port);
}

static int syn_port_down(void *card, int port)
{
	return simcard_port_down(card, port);
}

static int syn_port_up(void *card, int port)
{
	return simcard_port_up(card, port);
}

static void syn_port_stats(const void *card, int port, struct simcard_stats *ret_stats)
{
	simcard_port_stats(card, port, ret_stats);
}

static int syn_fd(const void *card)
{
	return simcard_fd(card);
}

static int syn_dispatch(void *card)
{
	return simcard_dispatch(card);
}

static int syn_timeout_ms(const void *card)
{
	return simcard_timeout_ms(card);
}

static uint64_t syn_tick(const void *card)
{
	return simcard_tick(card);
}

static void syn_free(void *card)
{
	simcard_free(card);
}

static const struct sim_card_ops synthetic_ops = {
	.port_far_fd = syn_port_far_fd,
	.port_down = syn_port_down,
	.port_up = syn_port_up,
	.port_stats = syn_port_stats,
	.fd = syn_fd,
	.dispatch = syn_dispatch,
	.timeout_ms = syn_timeout_ms,
	.tick = syn_tick,
	.free = syn_free,
};

static const struct simcard_ops far_ops = { .far_send = far_send, .far_receive = far_receive };

/* The synthetic card: ports DIR/a1, DIR/b1, … Returns 0 or -errno (said on stderr). */
static int card_synthetic(struct sim *sim)
{
	struct simcard *card;
	int rc;

	if (mkdir(sim->opt.dir, 0755) == 0)
		sim->dir_created = true;
	else if (errno != EEXIST) {
		fprintf(stderr, "trunksim: cannot create --dir %s: %s; create its parent or pick another path\n",
			sim->opt.dir, strerror(errno));
		return -errno;
	}
	rc = simcard_new(&far_ops, sim, sim->opt.fast, &card);
	if (rc) {
		fprintf(stderr, "trunksim: cannot create the card: %s\n", strerror(-rc));
		return rc;
	}
	sim->cardops = &synthetic_ops;
	sim->card = card;
	for (int pair = 0; pair < sim->opt.pairs; pair++) {
		for (int e = 0; e < 2; e++) {
			char path[PATH_MAX];

			snprintf(path, sizeof(path), "%s/%c%d", sim->opt.dir, e ? 'b' : 'a', pair + 1);
			rc = simcard_port_add(card, path);
			if (rc < 0) {
				const char *fix = rc == -ENAMETOOLONG ? "use a shorter --dir (socket paths are limited to 107 bytes)" :
						  rc == -EADDRINUSE ? "another trunksim serves it; stop it or use another --dir" :
						  rc == -EEXIST ? "a file that is not a socket is in the way; remove it" :
						  "check the directory";
				fprintf(stderr, "trunksim: cannot create port %s: %s; %s\n", path, strerror(-rc), fix);
				return rc;
			}
			sim->pairs[pair].end[e].port = rc;
		}
	}
	return 0;
}

/* DAHDI spans (--dahdi): carrier span, PBX span, per pair. Returns 0 or -errno (said on stderr). */
static int card_dahdi(struct sim *sim)
{
#ifdef TRUNKREC_HAVE_DAHDI
	int rc = sim_dahdi_new(&far_ops, sim, &sim->card);

	if (rc) {
		fprintf(stderr, "trunksim: cannot create the DAHDI card: %s\n", strerror(-rc));
		return rc;
	}
	sim->cardops = &sim_dahdi_ops;
	sim_rx_set_realign(true);
	for (int i = 0; i < sim->opt.ndahdi; i++) {
		int span = sim->opt.dahdi_spans[i];

		rc = sim_dahdi_port_add(sim->card, span);
		if (rc < 0) {
			const char *fix = rc == -ENOENT ? "is the dahdi module loaded and the span made by dahdi_cfg? (docs/dahdi.md)" :
					  rc == -ENOLINK ? "system.conf must give the span a dchan= and bchan= channels" :
					  rc == -EPROTONOSUPPORT ? "the far ends speak A-law: add the span's channels to alaw= in system.conf" :
					  rc == -EBUSY ? "another program has its channels open" : "see docs/dahdi.md";
			fprintf(stderr, "trunksim: DAHDI span %d (%s of pair %d): %s; %s\n", span,
				end_name[i % 2], i / 2 + 1, strerror(-rc), fix);
			return rc;
		}
		sim->pairs[i / 2].end[i % 2].port = rc;
	}
	return 0;
#else
	(void)sim;
	fprintf(stderr, "trunksim: --dahdi: this build has no DAHDI (install dahdi-source for dahdi/user.h and rebuild)\n");
	return -EPROTONOSUPPORT;
#endif
}

static int setup(struct sim *sim)
{
	int rc = sim->opt.ndahdi ? card_dahdi(sim) : card_synthetic(sim);

	if (rc)
		return rc;
	for (int pair = 0; pair < sim->opt.pairs; pair++) {
		for (int e = 0; e < 2; e++) {
			struct farend *fe = &sim->pairs[pair].end[e];
			char name[32];

			snprintf(name, sizeof(name), "%s%d", end_name[e], pair + 1);
			/* The carrier is the network; the PBX is the user side. */
			rc = dchan_open(&fe->d, sim->cardops->port_far_fd(sim->card, fe->port),
					e == END_CARRIER ? PRI_NETWORK : PRI_CPE, PRI_SWITCH_EUROISDN_E1, name);
			if (rc) {
				fprintf(stderr, "trunksim: libpri failed to start for %s: %s\n", name, strerror(-rc));
				return rc;
			}
			if (getenv("TRUNKSIM_PRI_DEBUG"))
				pri_set_debug(fe->d.pri, PRI_DEBUG_Q931_STATE | PRI_DEBUG_Q931_DUMP);
		}
	}
	return 0;
}

static int make_prompt(const char *path)
{
	int16_t *pcm;
	size_t len;
	int rc = sim_prompt_make(&pcm, &len);

	if (!rc)
		rc = sim_wav_write(path, pcm, len);
	if (rc) {
		fprintf(stderr, "trunksim: cannot write the prompt %s: %s\n", path, strerror(-rc));
		return 2;
	}
	free(pcm);
	printf("trunksim: wrote %s: %zu samples (%.1f s), 8 kHz mono 16 bit\n", path, len, len / 8000.0);
	return 0;
}

/* --prompt FILE, or the synthetic prompt; and the A-law blocks trunkrecd will play of it. */
static int load_prompt(struct sim *sim)
{
	int rc = sim->opt.prompt_path ? sim_wav_read(sim->opt.prompt_path, &sim->prompt, &sim->prompt_len)
				      : sim_prompt_make(&sim->prompt, &sim->prompt_len);

	if (!rc)
		rc = sim_prompt_alaw(sim->prompt, sim->prompt_len, &sim->prompt_alaw, &sim->prompt_blocks);
	if (rc)
		fprintf(stderr, "trunksim: no prompt: %s\n", strerror(-rc));
	return rc;
}

int main(int argc, char **argv)
{
	struct sim sim = { 0 };
	struct sigaction sa = { .sa_handler = on_signal };
	int rc, status;

	if (argc == 3 && !strcmp(argv[1], "--make-prompt"))
		return make_prompt(argv[2]);
	if (parse_options(argc, argv, &sim.opt))
		return 2;
	verbose = sim.opt.verbose;
	dchan_set_logging(sim.opt.verbose);
	/* A consultation-call slot per main call when the scenario places them. */
	sim.ncalls = sim.opt.calls * (scen_needs_consult(sim.opt.scenario) ? 2 : 1);
	sim.calls = calloc((size_t)sim.ncalls, sizeof(*sim.calls));
	if (!sim.calls) {
		fprintf(stderr, "trunksim: out of memory for %d calls\n", sim.opt.calls);
		return 2;
	}
	if ((scen_needs_prompt(sim.opt.scenario) || sim.opt.prompt_path) && load_prompt(&sim)) {
		free(sim.calls);
		return 2;
	}
	calls_plan(&sim);
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	sim.start_ms = now_ms();

	if (setup(&sim)) {
		if (sim.card)
			sim.cardops->free(sim.card);
		if (sim.dir_created)
			rmdir(sim.opt.dir);
		return 2;
	}
	rc = run(&sim);
	line_down_restore(&sim);
	calls_close(&sim, rc == -EINTR ? "interrupted" : rc == -ETIMEDOUT ? "timeout" : "error");
	if (rc && rc != -EINTR && rc != -ETIMEDOUT)
		fprintf(stderr, "trunksim: event loop failed: %s\n", strerror(-rc));
	status = summarize(&sim);
	if (sim.opt.report) {
		int wrc = write_report(&sim);

		if (wrc) {
			fprintf(stderr, "trunksim: cannot write the report %s: %s\n", sim.opt.report, strerror(-wrc));
			status = 1;
		}
	}
	sim.cardops->free(sim.card);
	if (sim.dir_created)
		rmdir(sim.opt.dir);
	free(sim.calls);
	free(sim.prompt);
	free(sim.prompt_alaw);
	return status;
}
