// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The recording policy applied to live calls: the relay's signalling and the
 * workers' detectors become gate events (policy/gate.h); the gate's decisions
 * become what the relay does — store a block or not, play the announcement,
 * write the timeline, stop the recording, raise the unannounced-line alarm.
 *
 * Every decision takes effect on the block it was made on: the relay asks
 * call_store_flags() for each block it hands to a worker, and the frame and any
 * timeline line travel in the same ordered ring.
 *
 * Thread: relay thread.
 */
#include "relay/callpolicy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/clock.h"
#include "base/log.h"
#include "relay/callview.h"
#include "relay/feed.h"

static struct policy_line_state *line_of(struct relay *r, const struct call *c)
{
	const struct policy_rules *rules = &c->pset->cfg.rules;
	ptrdiff_t i = c->rule - rules->rule;

	return i >= 0 && i < rules->n ? &r->lines[i] : &r->lines[POLICY_MAX_RULES];
}

/* Count the call's outcome on its line; the alarm goes up on the line's first day. */
static void count_outcome(struct relay *r, struct call *c, enum gate_outcome outcome)
{
	if (c->line_counted || outcome == GATE_OUTCOME_PENDING || c->pset != r->policy)
		return;		/* a call of an older generation: its lines were reset with the reload */
	c->line_counted = true;
	callview_lines_changed(r->view);
	if (outcome == GATE_OUTCOME_NOT_ANNOUNCED)
		atomic_fetch_add(&r->stats->unannounced, 1);
	else if (outcome == GATE_OUTCOME_STOPPED_AT_TRANSFER)
		atomic_fetch_add(&r->stats->stopped_at_transfer, 1);
	if (policy_line_update(line_of(r, c), c->rule, outcome)) {
		atomic_fetch_add(&r->stats->unannounced_alarms, 1);
		log_err("ALARM %s rule %s: %lu call(s) in a row not announced; nothing of them was recorded. "
			"Check that the announcement plays on this line (rule announcement/prompt)",
			c->pair->cfg->name, c->rule ? c->rule->name : "-",
			line_of(r, c)->unannounced_in_a_row);
	}
}


static void apply(struct relay *r, struct call *c, const struct gate_out *out)
{
	for (int i = 0; i < out->ntimeline; i++)
		feed_timeline(r, c, out->timeline[i]);
	if (out->actions & GATE_ACT_PLAY_PROMPT) {
		c->prompt = c->rule ? prompt_lib_find(&c->pset->prompts, c->rule->prompt) : NULL;
		c->prompt_pos = 0;
		c->prompt_seq = out->prompt_seq;
		c->prompt_draining = false;
		/* No prompt loaded: it never finishes, so nothing is ever recorded (fail closed). */
		c->prompt_playing = c->prompt != NULL;
	}
	if (out->actions & GATE_ACT_STOP_PROMPT)
		c->prompt_playing = c->prompt_draining = false;
	if ((out->actions & GATE_ACT_STOP_RECORDING) && c->recording)
		feed_stop(r, c, gate_outcome_name(out->outcome));
	if (out->actions & GATE_ACT_ALARM_UNANNOUNCED)
		count_outcome(r, c, GATE_OUTCOME_NOT_ANNOUNCED);
}

/* Pauses that began with this event, counted by kind for the operators. */
static void count_pauses(struct relay *r, unsigned before, unsigned after)
{
	unsigned began = after & ~before;

	if (began & GATE_PAUSE_ANY_HOLD)
		atomic_fetch_add_explicit(&r->stats->paused_hold, 1, memory_order_relaxed);
	if (began & (GATE_PAUSE_PAY_CONTROL | GATE_PAUSE_PAY_AGENT | GATE_PAUSE_PAY_IVR))
		atomic_fetch_add_explicit(&r->stats->paused_payment, 1, memory_order_relaxed);
}

static void event(struct relay *r, struct call *c, struct gate_event ev)
{
	struct gate_out out;
	unsigned before = c->gate.pause;

	if (c->policy_ended)
		return;
	ev.now_ms = clock_now_ms();
	gate_event(&c->gate, &ev, &out);
	count_pauses(r, before, c->gate.pause);
	if (ev.type == GATE_EV_DTMF && c->rule && c->rule->dtmf == POLICY_DTMF_MASK)
		atomic_fetch_add_explicit(&r->stats->dtmf_masked, 1, memory_order_relaxed);
	apply(r, c, &out);
}

void call_policy_setup(struct relay *r, struct call *c)
{
	const struct policy_rule *rule;
	struct recorder_opts opts = { 0 };

	c->pset = r->policy;
	c->pset->calls++;
	rule = policy_rules_match(&c->pset->cfg.rules, c->pair->cfg->name, c->dir == CALL_IN, c->calling, c->called);
	c->rule = rule;
	gate_init(&c->gate, rule, clock_now_ms());
	code_matcher_init(&c->codes, rule, CODE_MATCHER_INTERDIGIT_MS);
	if (rule->announce == POLICY_ANNOUNCE_NONE) {
		/*
		 * Never recorded: no worker hears a single frame of it. The recorder
		 * only files the call in the catalog (not stored, not announced).
		 */
		feed_start(r, c, &opts);
		c->frames_wanted = false;
		return;
	}
	if (atomic_load_explicit(&r->stats->out_of_space, memory_order_relaxed)) {
		/* The disk is full: the call goes through, unrecorded; counted and alarmed. */
		atomic_fetch_add(&r->stats->recordings_refused, 1);
		return;
	}
	opts.mask_dtmf = rule->dtmf == POLICY_DTMF_MASK;
	opts.report_digits = true;
	if (rule->announce == POLICY_ANNOUNCE_VERIFY) {
		const struct prompt_audio *p = prompt_lib_find(&c->pset->prompts, rule->prompt);

		opts.verify = p ? &p->ref : NULL;
	}
	feed_start(r, c, &opts);
	c->frames_wanted = true;
}

void call_policy_alerting(struct relay *r, struct call *c)
{
	event(r, c, (struct gate_event){ .type = GATE_EV_ALERTING });
}

void call_policy_answer(struct relay *r, struct call *c)
{
	event(r, c, (struct gate_event){ .type = GATE_EV_ANSWER });
}

/*
 * verify: a call that hangs up before its window ran out, but after the time
 * the whole announcement takes, was not announced either. Counting only calls
 * that outlast the window would miss a line of short calls: the incident this
 * alarm exists for must be caught on its first day, whatever the call lengths.
 */
static enum gate_outcome line_outcome(const struct call *c)
{
	const struct prompt_audio *p;

	if (c->gate.outcome != GATE_OUTCOME_ENDED_BEFORE_ANNOUNCEMENT || c->rule->announce != POLICY_ANNOUNCE_VERIFY ||
	    !c->gate.answered)
		return c->gate.outcome;
	p = prompt_lib_find(&c->pset->prompts, c->rule->prompt);
	if (p && clock_now_ms() - c->gate.answer_ms >= p->nblocks * 20 + 1000)
		return GATE_OUTCOME_NOT_ANNOUNCED;
	return c->gate.outcome;
}

void call_policy_hangup(struct relay *r, struct call *c, const char *why)
{
	if (c->policy_ended || !c->rule)
		return;
	event(r, c, (struct gate_event){ .type = GATE_EV_HANGUP });
	c->policy_ended = true;
	code_matcher_wipe(&c->codes);
	c->prompt_playing = false;
	count_outcome(r, c, line_outcome(c));
	call_log(LOG_LVL_INFO, c, "policy outcome %s (rule %s)",
		 gate_outcome_name(c->gate.outcome), c->rule->name);
	if (c->recording) {
		char reason[48];

		/* outcome first: the catalog files the call by it */
		snprintf(reason, sizeof(reason), "%s; %s", gate_outcome_name(c->gate.outcome), why);
		feed_stop(r, c, reason);
	}
}

void call_policy(struct relay *r, struct call *c, enum call_signal sig, const char *number)
{
	struct gate_event ev = { .number = number && *number ? number : NULL };

	switch (sig) {
	case CSIG_HOLD:
		ev.type = GATE_EV_HOLD;
		ev.side = GATE_SIDE_PBX;
		break;
	case CSIG_RETRIEVE:
		ev.type = GATE_EV_RETRIEVE;
		ev.side = GATE_SIDE_PBX;
		break;
	case CSIG_REMOTE_HOLD:
	case CSIG_REMOTE_RETRIEVAL:
		ev.type = sig == CSIG_REMOTE_HOLD ? GATE_EV_REMOTE_HOLD : GATE_EV_REMOTE_RETRIEVAL;
		/* Who sent the NOTIFY is who put the call on hold. */
		ev.side = c->notify_from_pbx ? GATE_SIDE_PBX : GATE_SIDE_CARRIER;
		break;
	case CSIG_TRANSFER_ECT:
		ev.type = GATE_EV_TRANSFER;
		ev.kind = GATE_XFER_ECT;
		break;
	case CSIG_TRANSFER_ON_DISCONNECT:
		ev.type = GATE_EV_TRANSFER;
		ev.kind = GATE_XFER_TRANSFER_ON_DISCONNECT;
		break;
	case CSIG_DEFLECTION:
		ev.type = GATE_EV_TRANSFER;
		ev.kind = GATE_XFER_DEFLECTION;
		break;
	case CSIG_DIVERSION:
		ev.type = GATE_EV_TRANSFER;
		ev.kind = GATE_XFER_DIVERSION;
		break;
	case CSIG_CONNECTED_LINE:
		ev.type = GATE_EV_TRANSFER;
		ev.kind = GATE_XFER_CONNECTED_LINE;
		break;
	case CSIG_CONSULT:
		ev.type = GATE_EV_CONSULT_CALL;
		break;
	}
	event(r, c, ev);
}

void call_control(struct relay *r, struct call *c, enum control_verb verb)
{
	struct gate_event ev = { .source = GATE_PAY_CONTROL };

	switch (verb) {
	case CTL_PAUSE: ev.type = GATE_EV_PAYMENT_PAUSE; break;
	case CTL_RESUME: ev.type = GATE_EV_PAYMENT_RESUME; break;
	case CTL_LOST: ev.type = GATE_EV_CONTROL_LOST; break;
	case CTL_MASK: ev.type = GATE_EV_MASK_START; break;
	case CTL_UNMASK: ev.type = GATE_EV_MASK_END; break;
	case CTL_DISCARD: ev.type = GATE_EV_DISCARD; break;
	}
	event(r, c, ev);
}

/*
 * While the gate waits for the PBX's announcement (verify) with nothing else
 * holding the call back, the frame may be stored as soon as the worker finds
 * the announcement in it or before it: the worker knows the exact block, the
 * relay hears of it only later.
 */
uint8_t call_store_flags(const struct call *c)
{
	if (!c->rule)
		return 0;
	if (gate_recording(&c->gate))
		return REC_FRAME_STORE;
	if (c->gate.state == GATE_VERIFYING && c->gate.answered && !c->gate.pause)
		return REC_FRAME_IF_VERIFIED;
	return 0;
}

const uint8_t *call_policy_prompt_block(struct call *c)
{
	const struct prompt_audio *p = c->prompt;
	const uint8_t *block;

	if (!c->prompt_playing || !p)
		return NULL;
	block = p->blocks[c->pair->port[SIDE_A].law] + c->prompt_pos * PORT_BLOCK;
	if (++c->prompt_pos == p->nblocks) {
		c->prompt_playing = false;
		c->prompt_draining = true;
	}
	return block;
}

void call_policy_prompt_heard(struct relay *r, struct call *c)
{
	c->prompt_draining = false;
	event(r, c, (struct gate_event){ .type = GATE_EV_PROMPT_FINISHED, .prompt_seq = c->prompt_seq });
}

/* What a worker heard: the announcement, or a tone (whose digit goes only to the code matcher). */
static void worker_heard(struct relay *r, const struct rec_event *ev)
{
	struct call *c = ev->slot < r->ncalls ? &r->calls[ev->slot] : NULL;
	enum gate_event_type pay;

	if (!c || !c->used || c->serial != ev->serial)
		return;		/* the call is gone and its slot reused */
	if (ev->kind == REV_PROMPT_DETECTED) {
		event(r, c, (struct gate_event){ .type = GATE_EV_PROMPT_DETECTED });
		return;
	}
	event(r, c, (struct gate_event){ .type = GATE_EV_DTMF });
	if (ev->side != 1)
		return;		/* agent codes come from the PBX side only */
	pay = code_matcher_feed(&c->codes, ev->digit, clock_now_ms());
	if (pay != GATE_EV_NONE)
		event(r, c, (struct gate_event){ .type = pay, .source = GATE_PAY_AGENT_CODE });
}

void call_policy_tick(struct relay *r, uint64_t now_ms)
{
	struct rec_event *ev;

	for (int w = 0; w < r->nworkers; w++) {
		while ((ev = worker_event(&r->workers[w]))) {
			worker_heard(r, ev);
			ev->digit = 0;
			spsc_pop(&r->workers[w].events);
		}
	}
	for (int i = 0; i < r->ncalls; i++) {
		struct call *c = &r->calls[i];

		if (!c->used || !c->rule || c->policy_ended)
			continue;
		code_matcher_tick(&c->codes, now_ms);
		event(r, c, (struct gate_event){ .type = GATE_EV_TICK });
	}
}

static void policy_set_free(struct policy_set *s)
{
	prompt_lib_free(&s->prompts);
	if (s->allocated)
		free(s);
}

/* The call slot is freed: an older generation goes when its last call does. */
void call_policy_release(struct relay *r, struct call *c)
{
	struct policy_set *s = c->pset, **link;

	c->pset = NULL;
	c->rule = NULL;
	if (!s || --s->calls || s == r->policy)
		return;
	for (link = &r->retired; *link; link = &(*link)->next_retired)
		if (*link == s) {
			*link = s->next_retired;
			break;
		}
	log_info("policy generation %lu: its last call ended; freed", s->generation);
	policy_set_free(s);
}

/* Between blocks: take a generation the loader finished. */
void call_policy_take_reload(struct relay *r)
{
	struct policy_set *s = atomic_exchange(&r->incoming, NULL), *old = r->policy;
	unsigned still;

	if (!s)
		return;
	still = old->calls;

	s->generation = old->generation + 1;
	r->policy = s;
	/* Lines are counted per rule of one generation: a new rule set starts its counts afresh. */
	memset(r->lines, 0, sizeof(r->lines));
	if (still) {
		old->next_retired = r->retired;
		r->retired = old;
	} else {
		policy_set_free(old);
	}
	log_warn("configuration reloaded: policy generation %lu, %d rule(s), for new calls; %u call(s) keep the old rules",
		 s->generation, s->cfg.rules.n, still);
}

void call_policy_free_all(struct relay *r)
{
	struct policy_set *s = atomic_exchange(&r->incoming, NULL);

	if (s)
		policy_set_free(s);
	while ((s = r->retired)) {
		r->retired = s->next_retired;
		policy_set_free(s);
	}
	if (r->policy)
		policy_set_free(r->policy);
	r->policy = NULL;
}
