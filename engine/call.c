// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Calls: a back-to-back relay of Q.931 between the carrier side (A, where
 * trunkrecd is CPE) and the PBX side (B, where trunkrecd is NET).
 *
 * Each call has one libpri call per side. SETUP received on one side is
 * answered with CALL PROCEEDING at once and placed on the other side on the
 * same timeslot when it is free; ALERTING, CONNECT and clearing are carried
 * across with their causes. Audio is bridged as soon as both timeslots are
 * known (early media, ringback) and recorded from CONNECT.
 *
 * Thread: relay thread only (libpri is not thread-safe).
 */
#include <stdio.h>
#include <string.h>

#include "engine/log.h"
#include "engine/relay.h"

#define SIDE_NAME(s) ((s) == SIDE_A ? "A" : "B")

static enum side other(enum side s)
{
	return s == SIDE_A ? SIDE_B : SIDE_A;
}

static struct pri *pri_of(struct relay_pair *p, enum side s)
{
	return p->dchan[s].pri;
}

static struct call *find_call(struct relay *r, struct relay_pair *p, enum side s, q931_call *leg)
{
	if (!leg)
		return NULL;
	for (int i = p->index * RELAY_CALLS_PER_PAIR; i < (p->index + 1) * RELAY_CALLS_PER_PAIR; i++) {
		struct call *c = &r->calls[i];

		if (c->used && c->leg[s] == leg)
			return c;
	}
	return NULL;
}

static struct call *new_call(struct relay *r, struct relay_pair *p)
{
	for (int i = p->index * RELAY_CALLS_PER_PAIR; i < (p->index + 1) * RELAY_CALLS_PER_PAIR; i++) {
		struct call *c = &r->calls[i];

		/* A slot whose REC_STOP has not reached its worker yet stays taken. */
		if (c->used || c->stop_pending)
			continue;
		memset(c, 0, sizeof(*c));
		c->used = true;
		c->slot = i;
		c->pair = p;
		c->serial = ++r->next_serial;
		return c;
	}
	return NULL;
}

static void set_ts(struct relay_pair *p, struct call *c, enum side s, int ts)
{
	if (c->ts[s] == ts)
		return;
	if (c->ts[s]) {
		p->busy[s] &= ~(1u << c->ts[s]);
		p->by_ts[s][c->ts[s]] = NULL;
	}
	c->ts[s] = ts;
	if (ts) {
		p->busy[s] |= 1u << ts;
		p->by_ts[s][ts] = c;
	}
}

/* Both legs gone: the call slot is free (its recording was stopped before). */
static void maybe_free(struct relay *r, struct call *c)
{
	struct relay_pair *p = c->pair;

	if (c->leg[SIDE_A] || c->leg[SIDE_B])
		return;
	relay_unbridge(r, c);
	set_ts(p, c, SIDE_A, 0);
	set_ts(p, c, SIDE_B, 0);
	log_debug("%s call %lu: released (cause %d)", p->cfg->name, c->serial, c->cause);
	c->used = false;
}

/* Start clearing the side s of a call (we send DISCONNECT there). */
static void clear_side(struct relay *r, struct call *c, enum side s, int cause)
{
	struct relay_pair *p = c->pair;

	(void)r;
	if (!c->leg[s])
		return;
	if (p->link_up[s])
		pri_hangup(pri_of(p, s), c->leg[s], cause);
	else
		c->leg[s] = NULL;	/* the line is gone: nothing to tell */
}

/* The call starts clearing: count it out of the active calls, or as failed. */
static void enter_clearing(struct relay *r, struct call *c)
{
	if (c->state == CALL_CLEARING)
		return;
	if (c->state == CALL_ACTIVE)
		atomic_fetch_sub(&r->stats.calls_active, 1);
	else
		atomic_fetch_add(&r->stats.calls_failed, 1);
	c->state = CALL_CLEARING;
}

static void end_recording(struct relay *r, struct call *c, const char *reason)
{
	if (c->recording)
		relay_record_stop(r, c, reason);
}

static int choose_ts(struct relay_pair *p, enum side s, int wanted, bool from_top)
{
	if (wanted && (p->port[s].bmask & (1u << wanted)) && !(p->busy[s] & (1u << wanted)))
		return wanted;
	return port_first_bchannel(&p->port[s], p->busy[s], from_top);
}

static void on_ring(struct relay *r, struct relay_pair *p, enum side s, pri_event *e)
{
	enum side o = other(s);
	int ts = DCHAN_BCHANNEL(e->ring.channel);
	struct pri_sr *sr;
	struct call *c;
	int ots;
	char m1[16], m2[16];

	c = new_call(r, p);
	if (!c || !p->link_up[o]) {
		/* 34: no circuit available; 38: the other side's line is down. */
		pri_hangup(pri_of(p, s), e->ring.call, c ? PRI_CAUSE_NETWORK_OUT_OF_ORDER : PRI_CAUSE_NORMAL_CIRCUIT_CONGESTION);
		if (c)
			c->used = false;
		atomic_fetch_add(&r->stats.calls_failed, 1);
		return;
	}
	c->dir = s == SIDE_A ? CALL_IN : CALL_OUT;
	c->leg[s] = e->ring.call;
	snprintf(c->calling, sizeof(c->calling), "%.39s", e->ring.callingnum);
	snprintf(c->called, sizeof(c->called), "%.39s", e->ring.callednum);
	/*
	 * Glare on the carrier side: the network wins (Q.931 5.3). Our own
	 * outgoing call that only offered this timeslot gives it up and takes
	 * whatever the carrier assigns in its CALL PROCEEDING.
	 */
	if (s == SIDE_A && ts && p->by_ts[s][ts] && p->by_ts[s][ts]->ts_offered[s]) {
		struct call *loser = p->by_ts[s][ts];

		log_info("%s call %lu: glare on A/%d, the carrier's call takes it", p->cfg->name, loser->serial, ts);
		relay_unbridge(r, loser);
		set_ts(p, loser, s, 0);
	}
	/* The requested timeslot, or on our NET side (B) any if the PBX is flexible. */
	if (!ts || (p->busy[s] & (1u << ts)))
		ts = (s == SIDE_B && (e->ring.flexible || !ts)) ? choose_ts(p, s, ts, true) : 0;
	if (!ts) {
		pri_hangup(pri_of(p, s), e->ring.call, PRI_CAUSE_REQUESTED_CHAN_UNAVAIL);
		c->used = false;
		atomic_fetch_add(&r->stats.calls_failed, 1);
		return;
	}
	set_ts(p, c, s, ts);
	pri_proceeding(pri_of(p, s), c->leg[s], ts, 0);

	/* Place it on the other side, on the same timeslot when free. */
	ots = choose_ts(p, o, ts, o == SIDE_A);
	if (!ots) {
		clear_side(r, c, s, PRI_CAUSE_NORMAL_CIRCUIT_CONGESTION);
		return;
	}
	c->leg[o] = pri_new_call(pri_of(p, o));
	sr = pri_sr_new();
	if (!c->leg[o] || !sr) {
		if (sr)
			pri_sr_free(sr);
		c->leg[o] = NULL;
		clear_side(r, c, s, PRI_CAUSE_SWITCH_CONGESTION);
		return;
	}
	set_ts(p, c, o, ots);
	c->ts_offered[o] = true;
	/* Towards the PBX we are the network: the channel is exclusive. Towards the carrier, preferred. */
	pri_sr_set_channel(sr, ots, o == SIDE_B, 1);
	pri_sr_set_bearer(sr, e->ring.ctype, e->ring.layer1);
	pri_sr_set_called(sr, e->ring.callednum, e->ring.calledplan, 1);
	pri_sr_set_caller(sr, e->ring.callingnum, e->ring.callingname[0] ? e->ring.callingname : NULL,
			  e->ring.callingplan, e->ring.callingpres);
	if (pri_setup(pri_of(p, o), c->leg[o], sr)) {
		pri_sr_free(sr);
		c->leg[o] = NULL;
		clear_side(r, c, s, PRI_CAUSE_SWITCH_CONGESTION);
		return;
	}
	pri_sr_free(sr);
	atomic_fetch_add(c->dir == CALL_IN ? &r->stats.calls_in : &r->stats.calls_out, 1);
	relay_bridge(r, c);
	log_info("%s call %lu: %s %s → %s, A/%d ↔ B/%d", p->cfg->name, c->serial,
		 c->dir == CALL_IN ? "inbound" : "outbound",
		 log_mask_number(c->calling, m1, sizeof(m1)), log_mask_number(c->called, m2, sizeof(m2)),
		 c->ts[SIDE_A], c->ts[SIDE_B]);
}

/* The far side confirmed or moved the timeslot (CALL PROCEEDING, ALERTING, CONNECT). */
static void confirm_channel(struct relay *r, struct relay_pair *p, struct call *c, enum side s, int channel)
{
	int ts = DCHAN_BCHANNEL(channel);

	if (!ts)
		return;
	c->ts_offered[s] = false;
	if (ts == c->ts[s])
		return;
	if (p->by_ts[s][ts] && p->by_ts[s][ts] != c) {
		log_warn("%s call %lu: %s side moved it to timeslot %d, which is in use; clearing",
			 p->cfg->name, c->serial, SIDE_NAME(s), ts);
		clear_side(r, c, s, PRI_CAUSE_REQUESTED_CHAN_UNAVAIL);
		return;
	}
	relay_unbridge(r, c);
	set_ts(p, c, s, ts);
	relay_bridge(r, c);
}

static void on_hangup_req(struct relay *r, struct relay_pair *p, struct call *c, enum side s, pri_event *e)
{
	enum side o = other(s);

	/* DISCONNECT from side s: stop recording before anything else, then clear both. */
	end_recording(r, c, s == SIDE_A ? "carrier hung up" : "pbx hung up");
	c->cause = e->hangup.cause;
	enter_clearing(r, c);
	pri_hangup(pri_of(p, s), c->leg[s], e->hangup.cause);
	clear_side(r, c, o, e->hangup.cause);
	relay_unbridge(r, c);
}

static void on_leg_gone(struct relay *r, struct relay_pair *p, struct call *c, enum side s, pri_event *e)
{
	enum side o = other(s);

	end_recording(r, c, s == SIDE_A ? "carrier released" : "pbx released");
	if (e->e == PRI_EVENT_HANGUP) {
		/* RELEASE received: libpri frees the call once we acknowledge it. */
		pri_hangup(pri_of(p, s), c->leg[s], e->hangup.cause);
		if (!c->cause)
			c->cause = e->hangup.cause;
	}
	c->leg[s] = NULL;
	enter_clearing(r, c);
	clear_side(r, c, o, c->cause ? c->cause : PRI_CAUSE_NORMAL_CLEARING);
	relay_unbridge(r, c);
	maybe_free(r, c);
}

void call_handle_event(struct relay *r, struct relay_pair *p, enum side s, pri_event *e)
{
	enum side o = other(s);
	struct call *c;

	switch (e->e) {
	case PRI_EVENT_DCHAN_UP:
		p->link_up[s] = true;
		log_info("%s: D-channel %s up", p->cfg->name, SIDE_NAME(s));
		return;
	case PRI_EVENT_DCHAN_DOWN:
		p->link_up[s] = false;
		log_warn("%s: D-channel %s down", p->cfg->name, SIDE_NAME(s));
		call_clear_pair(r, p, s, PRI_CAUSE_NETWORK_OUT_OF_ORDER);
		return;
	case PRI_EVENT_RING:
		on_ring(r, p, s, e);
		return;
	case PRI_EVENT_PROCEEDING:
		if ((c = find_call(r, p, s, e->proceeding.call)))
			confirm_channel(r, p, c, s, e->proceeding.channel);
		return;
	case PRI_EVENT_RINGING:
		if (!(c = find_call(r, p, s, e->ringing.call)))
			return;
		confirm_channel(r, p, c, s, e->ringing.channel);
		if (c->leg[o] && c->state == CALL_SETUP) {
			c->state = CALL_ALERTING;
			/* In-band ringback may follow from the far side: the audio is bridged. */
			pri_acknowledge(pri_of(p, o), c->leg[o], c->ts[o], 1);
		}
		return;
	case PRI_EVENT_ANSWER:
		if (!(c = find_call(r, p, s, e->answer.call)))
			return;
		confirm_channel(r, p, c, s, e->answer.channel);
		if (!c->leg[o] || c->state == CALL_ACTIVE || c->state == CALL_CLEARING)
			return;
		c->state = CALL_ACTIVE;
		c->answered_ms = relay_now_ms();
		atomic_fetch_add(&r->stats.calls_active, 1);
		/* Record from the block this CONNECT is handled on. */
		relay_record_start(r, c);
		pri_answer(pri_of(p, o), c->leg[o], c->ts[o], 1);
		return;
	case PRI_EVENT_HANGUP_REQ:
		if ((c = find_call(r, p, s, e->hangup.call)))
			on_hangup_req(r, p, c, s, e);
		else
			pri_hangup(pri_of(p, s), e->hangup.call, e->hangup.cause);
		return;
	case PRI_EVENT_HANGUP:
	case PRI_EVENT_HANGUP_ACK:
		if ((c = find_call(r, p, s, e->hangup.call)))
			on_leg_gone(r, p, c, s, e);
		else if (e->e == PRI_EVENT_HANGUP)
			pri_hangup(pri_of(p, s), e->hangup.call, e->hangup.cause);
		return;
	default:
		log_debug("%s: %s event %s ignored", p->cfg->name, SIDE_NAME(s), pri_event2str(e->e));
		return;
	}
}

void call_clear_pair(struct relay *r, struct relay_pair *p, enum side lost, int cause)
{
	for (int i = p->index * RELAY_CALLS_PER_PAIR; i < (p->index + 1) * RELAY_CALLS_PER_PAIR; i++) {
		struct call *c = &r->calls[i];

		if (!c->used)
			continue;
		end_recording(r, c, "line down");
		c->leg[lost] = NULL;	/* that side's libpri call dies with its link */
		c->cause = cause;
		enter_clearing(r, c);
		clear_side(r, c, other(lost), cause);
		relay_unbridge(r, c);
		maybe_free(r, c);
	}
}
