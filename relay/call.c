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
#include "relay/call.h"

#include <stdio.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "relay/callpolicy.h"
#include "relay/feed.h"

#define SIDE_NAME(s) ((s) == SIDE_A ? "A" : "B")

static enum side other(enum side s)
{
	return s == SIDE_A ? SIDE_B : SIDE_A;
}

/* Both timeslots known: audio flows. */
static void call_bridge(struct call *c)
{
	c->bridged = c->ts[SIDE_A] && c->ts[SIDE_B];
}

static void call_unbridge(struct call *c)
{
	c->bridged = false;
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
	call_policy_hangup(r, c, "released");
	call_policy_release(r, c);
	call_unbridge(c);
	set_ts(p, c, SIDE_A, 0);
	set_ts(p, c, SIDE_B, 0);
	call_log(LOG_LVL_DEBUG, c, "released (cause %d)", c->cause);
	c->used = false;
}

/*
 * Start clearing the side s of a call (we send DISCONNECT there). Once: a
 * second pri_hangup() on a leg in Disconnect Request moves libpri to Release
 * Request without sending RELEASE, and when the far end's RELEASE then comes
 * it sends no RELEASE COMPLETE either (a RELEASE collision, Q.931 5.3.4), so
 * the far end hangs in Release Request until its T308 runs out.
 */
static void clear_side(struct relay *r, struct call *c, enum side s, int cause)
{
	struct relay_pair *p = c->pair;

	(void)r;
	if (!c->leg[s] || c->disconnecting[s])
		return;
	c->disconnecting[s] = true;
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
		atomic_fetch_sub(&r->stats->calls_active, 1);
	else
		atomic_fetch_add(&r->stats->calls_failed, 1);
	c->state = CALL_CLEARING;
}

/* The call ends for the policy: its recording is finished, its outcome counted. */
static void end_recording(struct relay *r, struct call *c, const char *reason)
{
	call_policy_hangup(r, c, reason);
}

static int choose_ts(struct relay_pair *p, enum side s, int wanted, bool from_top, uint32_t avoid)
{
	uint32_t busy = p->busy[s] | avoid;

	if (wanted && (p->port[s].bmask & (1u << wanted)) && !(busy & (1u << wanted)))
		return wanted;
	return port_first_bchannel(&p->port[s], busy, from_top);
}

/*
 * Place the call on side o (the side it did not come from), on timeslot
 * wanted when free. Returns 0, or a cause to clear the caller's leg with.
 */
static int place_leg(struct relay *r, struct relay_pair *p, struct call *c, enum side o, int wanted)
{
	enum side s = other(o);
	struct pri_sr *sr;
	int ots = choose_ts(p, o, wanted, o == SIDE_A, c->refused_ts[o]);

	(void)r;
	if (!ots)
		return PRI_CAUSE_NORMAL_CIRCUIT_CONGESTION;
	c->leg[o] = pri_new_call(pri_of(p, o));
	c->disconnecting[o] = false;
	sr = pri_sr_new();
	if (!c->leg[o] || !sr) {
		if (sr)
			pri_sr_free(sr);
		c->leg[o] = NULL;
		return PRI_CAUSE_SWITCH_CONGESTION;
	}
	set_ts(p, c, o, ots);
	c->ts_offered[o] = true;
	/* Towards the PBX we are the network: the channel is exclusive. Towards the carrier, preferred. */
	pri_sr_set_channel(sr, ots, o == SIDE_B, 1);
	pri_sr_set_bearer(sr, c->setup.ctype, c->setup.layer1);
	pri_sr_set_called(sr, c->called, c->setup.calledplan, 1);
	pri_sr_set_caller(sr, c->calling, c->setup.callingname[0] ? c->setup.callingname : NULL,
			  c->setup.callingplan, c->setup.callingpres);
	if (pri_setup(pri_of(p, o), c->leg[o], sr)) {
		pri_sr_free(sr);
		c->leg[o] = NULL;
		set_ts(p, c, o, 0);
		return PRI_CAUSE_SWITCH_CONGESTION;
	}
	pri_sr_free(sr);
	(void)s;
	return 0;
}

/*
 * A channel number the far end sent, as a B-channel timeslot of this port;
 * 0 when it names none. Whatever arrives in a Q.931 message is checked here
 * before it indexes anything: a timeslot past the line, the D-channel or
 * framing slot 0 names no B-channel.
 */
static int bchannel_of(const struct relay_pair *p, enum side s, int channel)
{
	int ts = DCHAN_BCHANNEL(channel);

	return ts > 0 && ts < PORT_MAX_TS && (p->port[s].bmask & (1u << ts)) ? ts : 0;
}

static void on_ring(struct relay *r, struct relay_pair *p, enum side s, pri_event *e)
{
	enum side o = other(s);
	int asked = DCHAN_BCHANNEL(e->ring.channel), ts = bchannel_of(p, s, e->ring.channel);
	struct call *c;
	int cause;
	char m1[16], m2[16];

	c = new_call(r, p);
	if (!c || !p->link_up[o]) {
		/* 34: no circuit available; 38: the other side's line is down. */
		pri_hangup(pri_of(p, s), e->ring.call, c ? PRI_CAUSE_NETWORK_OUT_OF_ORDER : PRI_CAUSE_NORMAL_CIRCUIT_CONGESTION);
		if (c) {
			log_warn("%s: SETUP on port %s refused (cause 38): port %s's D-channel is down", p->cfg->name,
				 SIDE_NAME(s), SIDE_NAME(o));
			c->used = false;
		}
		atomic_fetch_add(&r->stats->calls_failed, 1);
		return;
	}
	if (asked && !ts && !(s == SIDE_B && e->ring.flexible)) {
		log_warn("%s: SETUP on port %s for timeslot %d, which is no B-channel of this line; refused (cause 82)",
			 p->cfg->name, SIDE_NAME(s), asked);
		pri_hangup(pri_of(p, s), e->ring.call, PRI_CAUSE_IDENTIFIED_CHANNEL_NOTEXIST);
		c->used = false;
		atomic_fetch_add(&r->stats->calls_failed, 1);
		return;
	}
	c->dir = s == SIDE_A ? CALL_IN : CALL_OUT;
	c->leg[s] = e->ring.call;
	/* Copied now: the event dies with our next libpri call. */
	snprintf(c->calling, sizeof(c->calling), "%.39s", e->ring.callingnum);
	snprintf(c->called, sizeof(c->called), "%.39s", e->ring.callednum);
	snprintf(c->setup.callingname, sizeof(c->setup.callingname), "%.47s", e->ring.callingname);
	c->setup.ctype = e->ring.ctype;
	c->setup.layer1 = e->ring.layer1;
	c->setup.calledplan = e->ring.calledplan;
	c->setup.callingplan = e->ring.callingplan;
	c->setup.callingpres = e->ring.callingpres;
	/*
	 * Glare on the carrier side: the network wins (Q.931 5.3). Our own
	 * outgoing call that only offered this timeslot gives it up and takes
	 * whatever the carrier assigns in its CALL PROCEEDING.
	 */
	if (s == SIDE_A && ts && p->by_ts[s][ts] && p->by_ts[s][ts]->ts_offered[s]) {
		struct call *loser = p->by_ts[s][ts];

		call_log(LOG_LVL_INFO, loser, "glare on A/%d, the carrier's call takes it", ts);
		call_unbridge(loser);
		set_ts(p, loser, s, 0);
	}
	/* The requested timeslot, or on our NET side (B) any if the PBX is flexible. */
	if (!ts || (p->busy[s] & (1u << ts)))
		ts = (s == SIDE_B && (e->ring.flexible || !ts)) ? choose_ts(p, s, ts, true, 0) : 0;
	if (!ts) {
		pri_hangup(pri_of(p, s), e->ring.call, PRI_CAUSE_REQUESTED_CHAN_UNAVAIL);
		c->used = false;
		atomic_fetch_add(&r->stats->calls_failed, 1);
		return;
	}
	set_ts(p, c, s, ts);
	pri_proceeding(pri_of(p, s), c->leg[s], ts, 0);
	call_policy_setup(r, c);

	/* Place it on the other side, on the same timeslot when free. */
	cause = place_leg(r, p, c, o, ts);
	if (cause) {
		clear_side(r, c, s, cause);
		return;
	}
	atomic_fetch_add(c->dir == CALL_IN ? &r->stats->calls_in : &r->stats->calls_out, 1);
	call_bridge(c);
	call_log(LOG_LVL_INFO, c, "%s %s → %s, A/%d ↔ B/%d",
		 c->dir == CALL_IN ? "inbound" : "outbound",
		 log_mask_number(c->calling, m1, sizeof(m1)), log_mask_number(c->called, m2, sizeof(m2)),
		 c->ts[SIDE_A], c->ts[SIDE_B]);
}

/* CONNECT's connected line names who answered: the PBX's agent for inbound calls. */
static void remember_connected(struct call *c, const struct pri_subcommands *subcmds)
{
	for (int i = 0; subcmds && i < subcmds->counter_subcmd && i < PRI_MAX_SUBCOMMANDS; i++)
		if (subcmds->subcmd[i].cmd == PRI_SUBCMD_CONNECTED_LINE &&
		    subcmds->subcmd[i].u.connected_line.id.number.valid)
			snprintf(c->connected, sizeof(c->connected), "%.39s",
				 subcmds->subcmd[i].u.connected_line.id.number.str);
}

/*
 * Do these two calls belong to one agent: the held one answered by the
 * extension that placed the other? libpri pairs held and active calls by a
 * weak guess when several agents consult at once; joining the wrong two
 * would connect strangers. Unknown means no.
 */
static bool same_agent(const struct call *held, const struct call *active)
{
	const char *agent = held->dir == CALL_IN ? held->connected : held->calling;
	const char *other = active->dir == CALL_OUT ? active->calling : active->connected;

	return *agent && !strcmp(agent, other);
}

static struct call *held_call_of_agent(struct relay *r, struct relay_pair *p, const struct call *active)
{
	for (int i = p->index * RELAY_CALLS_PER_PAIR; i < (p->index + 1) * RELAY_CALLS_PER_PAIR; i++) {
		struct call *c = &r->calls[i];

		if (c->used && c->held && same_agent(c, active))
			return c;
	}
	return NULL;
}

/* The far side confirmed or moved the timeslot (CALL PROCEEDING, ALERTING, CONNECT). */
static void confirm_channel(struct relay *r, struct relay_pair *p, struct call *c, enum side s, int channel)
{
	int ts = bchannel_of(p, s, channel);

	if (DCHAN_BCHANNEL(channel) && !ts) {
		call_log(LOG_LVL_WARN, c, "%s side gave it timeslot %d, which is no B-channel of this line; clearing",
			 SIDE_NAME(s), DCHAN_BCHANNEL(channel));
		clear_side(r, c, s, PRI_CAUSE_IDENTIFIED_CHANNEL_NOTEXIST);
		return;
	}
	if (!ts)
		return;
	c->ts_offered[s] = false;
	if (ts == c->ts[s])
		return;
	if (p->by_ts[s][ts] && p->by_ts[s][ts] != c) {
		call_log(LOG_LVL_WARN, c, "%s side moved it to timeslot %d, which is in use; clearing",
			 SIDE_NAME(s), ts);
		clear_side(r, c, s, PRI_CAUSE_REQUESTED_CHAN_UNAVAIL);
		return;
	}
	call_unbridge(c);
	set_ts(p, c, s, ts);
	call_bridge(c);
}

static void join_a_legs(struct relay *r, struct call *c1, struct call *c2, enum call_signal why);
static void release_pbx_leg(struct relay_pair *p, struct call *c);

/*
 * A joined call (after a transfer) lost one of its legs: a PBX leg going is
 * expected (we released it); a carrier leg going ends the joined conversation.
 */
static void joined_leg_gone(struct relay *r, struct relay_pair *p, struct call *c, enum side s)
{
	c->leg[s] = NULL;
	if (s == SIDE_B) {
		set_ts(p, c, SIDE_B, 0);
	} else if (c->joined) {
		struct call *peer = c->joined;

		peer->joined = NULL;
		c->joined = NULL;
		clear_side(r, peer, SIDE_A, c->cause ? c->cause : PRI_CAUSE_NORMAL_CLEARING);
	}
	maybe_free(r, c);
}

static void on_hangup_req(struct relay *r, struct relay_pair *p, struct call *c, enum side s, pri_event *e)
{
	enum side o = other(s);

	/*
	 * The PBX hangs up while it holds one call and has another active:
	 * transfer on disconnect. The two carrier legs are joined instead of
	 * being cleared, as a PBX user expects.
	 */
	if (s == SIDE_B && p->cfg->hold_disconnect_transfer && e->hangup.call_held && e->hangup.call_active &&
	    !c->joined) {
		struct call *held = find_call(r, p, SIDE_B, e->hangup.call_held);
		struct call *active = find_call(r, p, SIDE_B, e->hangup.call_active);

		/* libpri's guess names another agent's held call: find this agent's own. */
		if (held && active && !same_agent(held, active))
			held = held_call_of_agent(r, p, active);

		if (held && active && held != active && held->leg[SIDE_A] && active->leg[SIDE_A] &&
		    !held->joined && !active->joined && (c == held || c == active) && same_agent(held, active)) {
			struct call *other_call = c == held ? active : held;

			join_a_legs(r, held, active, CSIG_TRANSFER_ON_DISCONNECT);
			pri_hangup(pri_of(p, s), c->leg[s], e->hangup.cause);
			release_pbx_leg(p, other_call);
			return;
		}
	}
	if (c->transferred) {
		/* Complete the clearing on this side; a carrier leg takes its joined peer along. */
		pri_hangup(pri_of(p, s), c->leg[s], e->hangup.cause);
		c->cause = e->hangup.cause;
		if (s == SIDE_A && c->joined) {
			struct call *peer = c->joined;

			peer->joined = NULL;
			c->joined = NULL;
			clear_side(r, peer, SIDE_A, e->hangup.cause);
		}
		return;
	}

	/* DISCONNECT from side s: stop recording before anything else, then clear both. */
	end_recording(r, c, s == SIDE_A ? "carrier hung up" : "pbx hung up");
	c->cause = e->hangup.cause;
	enter_clearing(r, c);
	pri_hangup(pri_of(p, s), c->leg[s], e->hangup.cause);
	clear_side(r, c, o, e->hangup.cause);
	call_unbridge(c);
}

static void on_leg_gone(struct relay *r, struct relay_pair *p, struct call *c, enum side s, pri_event *e)
{
	enum side o = other(s);
	int ev = e->e, cause = e->hangup.cause;	/* the event dies with our next libpri call */

	if (ev == PRI_EVENT_HANGUP) {
		/* RELEASE received: libpri frees the call once we acknowledge it. */
		pri_hangup(pri_of(p, s), c->leg[s], cause);
		if (!c->cause)
			c->cause = cause;
	}
	if (c->transferred) {
		end_recording(r, c, s == SIDE_A ? "carrier released" : "pbx released");
		joined_leg_gone(r, p, c, s);
		return;
	}
	/*
	 * The far end refused the timeslot we offered (it was still clearing
	 * it): a network tries another one, the caller never notices.
	 */
	if (ev == PRI_EVENT_HANGUP && c->state == CALL_SETUP && c->leg[o] && c->retries < 2 &&
	    s == (c->dir == CALL_IN ? SIDE_B : SIDE_A) &&
	    (cause == PRI_CAUSE_REQUESTED_CHAN_UNAVAIL || cause == PRI_CAUSE_NORMAL_CIRCUIT_CONGESTION)) {
		int refused = c->ts[s];

		c->leg[s] = NULL;
		c->retries++;
		if (refused)
			c->refused_ts[s] |= 1u << refused;
		call_unbridge(c);
		set_ts(p, c, s, 0);
		if (place_leg(r, p, c, s, 0) == 0) {
			call_log(LOG_LVL_INFO, c, "%s refused timeslot %d; offered %d",
				 SIDE_NAME(s), refused, c->ts[s]);
			c->cause = 0;
			call_bridge(c);
			return;
		}
	}
	end_recording(r, c, s == SIDE_A ? "carrier released" : "pbx released");
	c->leg[s] = NULL;
	enter_clearing(r, c);
	clear_side(r, c, o, c->cause ? c->cause : PRI_CAUSE_NORMAL_CLEARING);
	call_unbridge(c);
	maybe_free(r, c);
}

/*
 * Join the carrier legs of two calls back to back (the transfer is executed
 * here, inline) and release their PBX legs. Both recordings stop first, on
 * the block the request arrived with.
 */
static void join_a_legs(struct relay *r, struct call *c1, struct call *c2, enum call_signal why)
{
	struct relay_pair *p = c1->pair;

	call_policy(r, c1, why, c2->dir == CALL_OUT ? c2->called : c2->calling);
	call_policy(r, c2, why, c1->dir == CALL_OUT ? c1->called : c1->calling);
	end_recording(r, c1, "transfer");
	end_recording(r, c2, "transfer");
	call_unbridge(c1);
	call_unbridge(c2);
	c1->joined = c2;
	c2->joined = c1;
	c1->transferred = c2->transferred = true;
	set_ts(p, c1, SIDE_B, 0);
	set_ts(p, c2, SIDE_B, 0);
	log_info("%s calls %lu and %lu: transferred, carrier legs A/%d and A/%d joined", p->cfg->name,
		 c1->serial, c2->serial, c1->ts[SIDE_A], c2->ts[SIDE_A]);
}

static void release_pbx_leg(struct relay_pair *p, struct call *c)
{
	if (c->leg[SIDE_B] && p->link_up[SIDE_B])
		pri_hangup(pri_of(p, SIDE_B), c->leg[SIDE_B], PRI_CAUSE_NORMAL_CLEARING);
}

/* PRI_SUBCMD_TRANSFER_CALL from the PBX: explicit call transfer (ECT). */
static void on_transfer_request(struct relay *r, struct relay_pair *p, const struct pri_subcmd_transfer *t,
				q931_call *subcall)
{
	struct call *c1 = find_call(r, p, SIDE_B, t->call_1);
	struct call *c2 = find_call(r, p, SIDE_B, t->call_2);
	int invoke_id = t->invoke_id;

	if (!c1 || !c2 || c1 == c2 || !c1->leg[SIDE_A] || !c2->leg[SIDE_A] || c1->transferred || c2->transferred) {
		log_warn("%s: transfer request for calls we cannot join; refused", p->cfg->name);
		pri_transfer_rsp(pri_of(p, SIDE_B), subcall, invoke_id, 0);
		return;
	}
	join_a_legs(r, c1, c2, CSIG_TRANSFER_ECT);
	pri_transfer_rsp(pri_of(p, SIDE_B), subcall, invoke_id, 1);
	release_pbx_leg(p, c1);
	release_pbx_leg(p, c2);
}

/* The PBX deflects or reroutes a call: hand it to the carrier, leave the PBX out. */
static void on_rerouting(struct relay *r, struct relay_pair *p, struct call *c, const struct pri_rerouting_data *rr,
			 q931_call *subcall)
{
	call_policy(r, c, CSIG_DEFLECTION, rr->deflection.to.number.str);
	end_recording(r, c, "deflection");
	if (!c->leg[SIDE_A] || pri_reroute_call(pri_of(p, SIDE_A), c->leg[SIDE_A], &rr->caller, &rr->deflection,
						 rr->subscription_option)) {
		pri_rerouting_rsp(pri_of(p, SIDE_B), subcall, rr->invoke_id, PRI_REROUTING_RSP_NOT_AVAILABLE);
		return;
	}
	pri_rerouting_rsp(pri_of(p, SIDE_B), subcall, rr->invoke_id, PRI_REROUTING_RSP_OK_CLEAR);
	/* The carrier now routes the call elsewhere: the PBX leg is done. */
	c->transferred = true;
	call_unbridge(c);
	release_pbx_leg(p, c);
}

static void on_facility(struct relay *r, struct relay_pair *p, enum side s, pri_event *e)
{
	/* Copied: the event and its subcommands die with our next libpri call. */
	struct pri_subcommands subcmds;
	q931_call *subcall = e->facility.subcall;
	struct call *c = find_call(r, p, s, e->facility.call);
	enum side o = other(s);

	if (!e->facility.subcmds)
		return;
	subcmds = *e->facility.subcmds;
	for (int i = 0; i < subcmds.counter_subcmd && i < PRI_MAX_SUBCOMMANDS; i++) {
		const struct pri_subcommand *sub = &subcmds.subcmd[i];

		switch (sub->cmd) {
		case PRI_SUBCMD_TRANSFER_CALL:
			if (s == SIDE_B)
				on_transfer_request(r, p, &sub->u.transfer, subcall);
			break;
		case PRI_SUBCMD_REROUTING:
			if (s == SIDE_B && c)
				on_rerouting(r, p, c, &sub->u.rerouting, subcall);
			else
				pri_rerouting_rsp(pri_of(p, s), subcall, sub->u.rerouting.invoke_id,
						  PRI_REROUTING_RSP_NOT_ALLOWED);
			break;
		case PRI_SUBCMD_CONNECTED_LINE:
			if (!c)
				break;
			call_policy(r, c, CSIG_CONNECTED_LINE, sub->u.connected_line.id.number.str);
			if (c->leg[o] && !c->transferred && p->link_up[o])
				pri_connected_line_update(pri_of(p, o), c->leg[o], &sub->u.connected_line);
			break;
		case PRI_SUBCMD_REDIRECTING:
			if (!c)
				break;
			call_policy(r, c, CSIG_DIVERSION, sub->u.redirecting.to.number.str);
			if (c->leg[o] && !c->transferred && p->link_up[o])
				pri_redirecting_update(pri_of(p, o), c->leg[o], &sub->u.redirecting);
			break;
		default:
			break;
		}
		/* A transfer may have freed c's legs; stop looking at it. */
		if (c && !c->used)
			break;
	}
}

/* Q.932 HOLD from the PBX: acknowledge it ourselves, tell the carrier by NOTIFY. */
static void on_hold(struct relay *r, struct relay_pair *p, enum side s, pri_event *e)
{
	struct call *c = find_call(r, p, s, e->hold.call);

	if (!c || s != SIDE_B || c->state != CALL_ACTIVE || c->held || c->transferred) {
		pri_hold_rej(pri_of(p, s), e->hold.call, PRI_CAUSE_FACILITY_REJECTED);
		return;
	}
	call_policy(r, c, CSIG_HOLD, NULL);
	call_unbridge(c);
	set_ts(p, c, SIDE_B, 0);	/* HOLD ACK frees the PBX's B-channel */
	c->held = true;
	pri_hold_ack(pri_of(p, SIDE_B), c->leg[SIDE_B]);
	if (c->leg[SIDE_A] && p->link_up[SIDE_A])
		pri_notify(pri_of(p, SIDE_A), c->leg[SIDE_A], c->ts[SIDE_A], PRI_NOTIFY_REMOTE_HOLD);
}

/* RETRIEVE: the call may come back on another timeslot; re-bind the audio. */
static void on_retrieve(struct relay *r, struct relay_pair *p, enum side s, pri_event *e)
{
	struct call *c = find_call(r, p, s, e->retrieve.call);
	int want = bchannel_of(p, s, e->retrieve.channel);
	int ts;

	if (!c || s != SIDE_B || !c->held) {
		pri_retrieve_rej(pri_of(p, s), e->retrieve.call, PRI_CAUSE_WRONG_CALL_STATE);
		return;
	}
	ts = (want && !e->retrieve.flexible) ? (p->busy[SIDE_B] & (1u << want) ? 0 : want)
					       : choose_ts(p, SIDE_B, want, false, 0);
	if (!ts) {
		pri_retrieve_rej(pri_of(p, s), e->retrieve.call, PRI_CAUSE_REQUESTED_CHAN_UNAVAIL);
		return;
	}
	set_ts(p, c, SIDE_B, ts);
	c->held = false;
	pri_retrieve_ack(pri_of(p, SIDE_B), c->leg[SIDE_B], ts);
	call_bridge(c);
	call_policy(r, c, CSIG_RETRIEVE, NULL);
	if (c->leg[SIDE_A] && p->link_up[SIDE_A])
		pri_notify(pri_of(p, SIDE_A), c->leg[SIDE_A], c->ts[SIDE_A], PRI_NOTIFY_REMOTE_RETRIEVAL);
}

/* NOTIFY: carried to the other side; remote hold and retrieval also reach the policy. */
static void on_notify(struct relay *r, struct relay_pair *p, enum side s, pri_event *e)
{
	struct call *c = find_call(r, p, s, e->notify.call);
	enum side o = other(s);
	int info = e->notify.info;

	if (!c)
		return;
	c->notify_from_pbx = s == SIDE_B;
	if (info == PRI_NOTIFY_REMOTE_HOLD)
		call_policy(r, c, CSIG_REMOTE_HOLD, NULL);
	else if (info == PRI_NOTIFY_REMOTE_RETRIEVAL)
		call_policy(r, c, CSIG_REMOTE_RETRIEVAL, NULL);
	if (c->leg[o] && !c->transferred && p->link_up[o])
		pri_notify(pri_of(p, o), c->leg[o], c->ts[o], info);
}

/* The PBX places a call while it holds others: a consultation (payment IVR?). */
static void note_consultation(struct relay *r, struct relay_pair *p, const char *called)
{
	for (int i = p->index * RELAY_CALLS_PER_PAIR; i < (p->index + 1) * RELAY_CALLS_PER_PAIR; i++) {
		struct call *c = &r->calls[i];

		if (c->used && c->held)
			call_policy(r, c, CSIG_CONSULT, called);
	}
}

void call_handle_event(struct relay *r, struct relay_pair *p, enum side s, pri_event *e)
{
	enum side o = other(s);
	struct call *c;

	switch (e->e) {
	case PRI_EVENT_RING:
		if (s == SIDE_B)
			note_consultation(r, p, e->ring.callednum);
		on_ring(r, p, s, e);
		return;
	case PRI_EVENT_HOLD:
		on_hold(r, p, s, e);
		return;
	case PRI_EVENT_RETRIEVE:
		on_retrieve(r, p, s, e);
		return;
	case PRI_EVENT_NOTIFY:
		on_notify(r, p, s, e);
		return;
	case PRI_EVENT_FACILITY:
		on_facility(r, p, s, e);
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
			call_policy_alerting(r, c);
			/* In-band ringback may follow from the far side: the audio is bridged. */
			pri_acknowledge(pri_of(p, o), c->leg[o], c->ts[o], 1);
		}
		return;
	case PRI_EVENT_ANSWER:
		if (!(c = find_call(r, p, s, e->answer.call)))
			return;
		remember_connected(c, e->answer.subcmds);
		confirm_channel(r, p, c, s, e->answer.channel);
		if (!c->leg[o] || c->state == CALL_ACTIVE || c->state == CALL_CLEARING)
			return;
		c->state = CALL_ACTIVE;
		c->answered_ms = clock_now_ms();
		atomic_fetch_add(&r->stats->calls_active, 1);
		/* The policy decides from the block this CONNECT is handled on. */
		call_policy_answer(r, c);
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

void call_clear_pair(struct relay *r, struct relay_pair *p, enum side lost, int cause, const char *why)
{
	for (int i = p->index * RELAY_CALLS_PER_PAIR; i < (p->index + 1) * RELAY_CALLS_PER_PAIR; i++) {
		struct call *c = &r->calls[i];

		if (!c->used)
			continue;
		if (c->recording) {
			char mark[REC_META_MAX];

			snprintf(mark, sizeof(mark), "T=%llu alarm: port %s %s; call released",
				 c->answered_ms ? (unsigned long long)(clock_now_ms() - c->answered_ms) : 0ULL,
				 SIDE_NAME(lost), why);
			feed_timeline(r, c, mark);
		}
		end_recording(r, c, "line down");
		c->leg[lost] = NULL;	/* that side's libpri call dies with its link */
		c->cause = cause;
		enter_clearing(r, c);
		clear_side(r, c, other(lost), cause);
		call_unbridge(c);
		maybe_free(r, c);
	}
}
