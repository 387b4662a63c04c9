// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The recording gate (docs/policy.md). Every path that could let audio
 * through ends in one predicate, gate_recording(): announced, not final, no
 * pause reason. Everything else only moves the state and the pause bits.
 */
#include "policy/gate.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

static const char *const state_names[] = {
	[GATE_ALERTING] = "alerting",
	[GATE_ANNOUNCING] = "announcing",
	[GATE_VERIFYING] = "verifying",
	[GATE_ANNOUNCED] = "announced",
	[GATE_NOT_ANNOUNCED] = "not_announced",
	[GATE_STOPPED] = "stopped",
};

static const char *const outcome_names[] = {
	[GATE_OUTCOME_PENDING] = "pending",
	[GATE_OUTCOME_RECORDED] = "recorded",
	[GATE_OUTCOME_NOT_ANNOUNCED] = "not_announced",
	[GATE_OUTCOME_STOPPED_AT_TRANSFER] = "stopped_at_transfer",
	[GATE_OUTCOME_ENDED_BEFORE_ANNOUNCEMENT] = "ended_before_announcement",
	[GATE_OUTCOME_NOT_ANSWERED] = "not_answered",
	[GATE_OUTCOME_DISCARDED] = "discarded",
};

static const char *const event_names[] = {
	[GATE_EV_NONE] = "none",
	[GATE_EV_ALERTING] = "alerting",
	[GATE_EV_ANSWER] = "answer",
	[GATE_EV_PROMPT_FINISHED] = "prompt_finished",
	[GATE_EV_PROMPT_DETECTED] = "prompt_detected",
	[GATE_EV_TICK] = "tick",
	[GATE_EV_HOLD] = "hold",
	[GATE_EV_RETRIEVE] = "retrieve",
	[GATE_EV_REMOTE_HOLD] = "remote_hold",
	[GATE_EV_REMOTE_RETRIEVAL] = "remote_retrieval",
	[GATE_EV_TRANSFER] = "transfer",
	[GATE_EV_CONSULT_CALL] = "consult_call",
	[GATE_EV_PAYMENT_PAUSE] = "payment_pause",
	[GATE_EV_PAYMENT_RESUME] = "payment_resume",
	[GATE_EV_CONTROL_LOST] = "control_lost",
	[GATE_EV_DTMF] = "dtmf",
	[GATE_EV_MASK_START] = "mask_start",
	[GATE_EV_MASK_END] = "mask_end",
	[GATE_EV_DISCARD] = "discard",
	[GATE_EV_HANGUP] = "hangup",
};

static const char *const xfer_names[] = {
	[GATE_XFER_ECT] = "ect",
	[GATE_XFER_DEFLECTION] = "deflection",
	[GATE_XFER_REROUTING] = "rerouting",
	[GATE_XFER_DIVERSION] = "diversion",
	[GATE_XFER_CONNECTED_LINE] = "connected_line",
	[GATE_XFER_TRANSFER_ON_DISCONNECT] = "transfer_on_disconnect",
};

const char *gate_state_name(enum gate_state s)
{
	return (unsigned)s < sizeof(state_names) / sizeof(state_names[0]) ? state_names[s] : "?";
}

const char *gate_outcome_name(enum gate_outcome o)
{
	return (unsigned)o < sizeof(outcome_names) / sizeof(outcome_names[0]) ? outcome_names[o] : "?";
}

const char *gate_event_name(enum gate_event_type t)
{
	return (unsigned)t < GATE_EV_COUNT ? event_names[t] : "?";
}

void gate_init(struct gate *g, const struct policy_rule *rule, uint64_t now_ms)
{
	memset(g, 0, sizeof(*g));
	g->rule = rule;
	g->state = GATE_ALERTING;
	g->outcome = GATE_OUTCOME_PENDING;
	g->now_ms = now_ms;
}

bool gate_recording(const struct gate *g)
{
	return g->state == GATE_ANNOUNCED && !g->pause;
}

static bool is_final(const struct gate *g)
{
	return g->state == GATE_NOT_ANNOUNCED || g->state == GATE_STOPPED;
}

/* One timeline line, stamped with the time since answer. Never a digit or a number in it. */
static void timeline(struct gate *g, struct gate_out *out, const char *fmt, ...)
{
	char *line;
	size_t used;
	va_list ap;
	int n;

	if (out->ntimeline == GATE_TIMELINE_MAX)
		return;
	line = out->timeline[out->ntimeline++];
	n = snprintf(line, GATE_TIMELINE_LEN, "T=%llu ",
		     g->answered ? (unsigned long long)(g->now_ms - g->answer_ms) : 0ULL);
	used = n > 0 && n < GATE_TIMELINE_LEN ? (size_t)n : 0;
	va_start(ap, fmt);
	vsnprintf(line + used, GATE_TIMELINE_LEN - used, fmt, ap);
	va_end(ap);
	if (!g->answered) {
		used = strlen(line);
		snprintf(line + used, GATE_TIMELINE_LEN - used, " phase=alerting");
	}
}

static const char *pause_name(unsigned bit)
{
	switch (bit) {
	case GATE_PAUSE_HOLD_PBX: return "hold side=pbx";
	case GATE_PAUSE_HOLD_CARRIER: return "hold side=carrier";
	case GATE_PAUSE_REMOTE_HOLD_PBX: return "remote_hold side=pbx";
	case GATE_PAUSE_REMOTE_HOLD_CARRIER: return "remote_hold side=carrier";
	case GATE_PAUSE_PAY_CONTROL: return "payment source=control";
	case GATE_PAUSE_PAY_AGENT: return "payment source=agent_code";
	case GATE_PAUSE_PAY_IVR: return "payment source=ivr";
	case GATE_PAUSE_PAY_UNKNOWN: return "payment source=unknown";
	case GATE_PAUSE_MASK: return "mask";
	}
	return "?";
}

static void pause_add(struct gate *g, struct gate_out *out, unsigned bit)
{
	if (g->pause & bit)
		return;
	g->pause |= bit;
	timeline(g, out, "paused reason=%s", pause_name(bit));
}

static void pause_clear(struct gate *g, struct gate_out *out, unsigned bit, const char *why)
{
	if (!(g->pause & bit))
		return;
	g->pause &= ~bit;
	timeline(g, out, "%s reason=%s%s", g->pause ? "pause ended" : "resumed", pause_name(bit),
		 why ? why : "");
}

static void play_prompt(struct gate *g, struct gate_out *out)
{
	g->prompt_seq++;
	g->prompt_playing = true;
	out->actions |= GATE_ACT_PLAY_PROMPT;
	out->prompt_seq = g->prompt_seq;
	timeline(g, out, "prompt started");
}

static void stop_prompt(struct gate *g, struct gate_out *out, const char *why)
{
	if (!g->prompt_playing)
		return;
	g->prompt_playing = false;
	out->actions |= GATE_ACT_STOP_PROMPT;
	timeline(g, out, "prompt interrupted reason=%s", why);
}

/* Final: nothing is stored from this block on, ever. */
static void finish(struct gate *g, struct gate_out *out, enum gate_state state, enum gate_outcome outcome)
{
	g->state = state;
	g->outcome = outcome;
	g->prompt_playing = false;	/* the caller stopped it, or the call is gone */
	if (!g->stop_given) {
		g->stop_given = true;
		out->actions |= GATE_ACT_STOP_RECORDING;
	}
}

static void not_announced(struct gate *g, struct gate_out *out, const char *why)
{
	if (g->prompt_playing)
		out->actions |= GATE_ACT_STOP_PROMPT;
	timeline(g, out, "not announced reason=%s", why);
	finish(g, out, GATE_NOT_ANNOUNCED, GATE_OUTCOME_NOT_ANNOUNCED);
	out->actions |= GATE_ACT_ALARM_UNANNOUNCED;
}

static void announced(struct gate *g, struct gate_out *out, const char *mode)
{
	g->state = GATE_ANNOUNCED;
	timeline(g, out, "announced mode=%s", mode);
	if (!g->started) {
		g->started = true;
		out->actions |= GATE_ACT_START_RECORDING;
	}
}

static enum policy_announce mode(const struct gate *g)
{
	return g->rule ? g->rule->announce : POLICY_ANNOUNCE_NONE;
}

static bool in_list(const struct policy_list *l, const char *number)
{
	if (!number || !*number)
		return false;	/* an unknown party is never inside the recorded set */
	for (int i = 0; i < l->n; i++)
		if (policy_number_match(l->item[i], number))
			return true;
	return false;
}

/* Time passes: the verify deadline and the unknown-payment timeout. */
static void advance(struct gate *g, uint64_t now_ms, struct gate_out *out)
{
	if (now_ms > g->now_ms)
		g->now_ms = now_ms;
	if (g->state == GATE_VERIFYING && g->now_ms > g->verify_deadline_ms)
		not_announced(g, out, "verify_timeout");
	if ((g->pause & GATE_PAUSE_PAY_UNKNOWN) && g->now_ms >= g->unknown_deadline_ms)
		pause_clear(g, out, GATE_PAUSE_PAY_UNKNOWN, " mark=payment_timeout");
}

static void on_answer(struct gate *g, struct gate_out *out)
{
	const struct policy_rule *r = g->rule;

	if (g->answered)
		return;
	g->answered = true;
	g->answer_ms = g->now_ms;
	timeline(g, out, "answered rule=%s", r ? r->name : "none");
	switch (mode(g)) {
	case POLICY_ANNOUNCE_NONE:
		not_announced(g, out, "mode_none");
		return;
	case POLICY_ANNOUNCE_PLAY:
		if (!*r->prompt) {
			not_announced(g, out, "no_prompt");
		} else if (g->prompt_done) {
			announced(g, out, "play");
		} else {
			g->state = GATE_ANNOUNCING;
			if (!g->prompt_playing && !(g->pause & GATE_PAUSE_ANY_HOLD))
				play_prompt(g, out);
		}
		return;
	case POLICY_ANNOUNCE_UPSTREAM:
		announced(g, out, "upstream");
		return;
	case POLICY_ANNOUNCE_VERIFY:
		if (!*r->prompt) {
			not_announced(g, out, "no_prompt");
		} else if (g->prompt_done) {
			announced(g, out, "verify");
		} else {
			g->state = GATE_VERIFYING;
			g->verify_deadline_ms = g->now_ms + (uint64_t)r->verify_window_s * 1000;
		}
		return;
	}
}

static void on_hold(struct gate *g, struct gate_out *out, unsigned bit)
{
	pause_add(g, out, bit);
	/* Fail closed: a prompt cut by hold does not count; it plays again from the start. */
	stop_prompt(g, out, "hold");
}

static void on_retrieve(struct gate *g, struct gate_out *out, unsigned bit)
{
	pause_clear(g, out, bit, NULL);
	/* The payment IVR consultation lasts until the call is taken back. */
	pause_clear(g, out, GATE_PAUSE_PAY_IVR, NULL);
	if (g->state == GATE_ANNOUNCING && !g->prompt_playing && !(g->pause & GATE_PAUSE_ANY_HOLD))
		play_prompt(g, out);
}

static void on_transfer(struct gate *g, struct gate_out *out, const struct gate_event *ev)
{
	const struct policy_rule *r = g->rule;
	const char *kind = (unsigned)ev->kind < GATE_XFER_COUNT ? xfer_names[ev->kind] : "unknown";
	bool inside = r && in_list(&r->recorded_numbers, ev->number);

	/* A connected-line update to a party inside the recorded set is not leaving it. */
	if (ev->kind == GATE_XFER_CONNECTED_LINE && inside) {
		timeline(g, out, "party changed kind=%s inside=yes", kind);
		return;
	}
	if (g->state == GATE_ANNOUNCED && r && r->transfer == POLICY_TRANSFER_CONTINUE && inside) {
		timeline(g, out, "transferred kind=%s inside=yes continue=yes", kind);
		return;
	}
	if (g->state == GATE_ANNOUNCED) {
		timeline(g, out, "stopped reason=transfer kind=%s", kind);
		finish(g, out, GATE_STOPPED, GATE_OUTCOME_STOPPED_AT_TRANSFER);
		return;
	}
	/* Before the announcement completed: fail closed, never recorded. */
	stop_prompt(g, out, "transfer");
	timeline(g, out, "stopped reason=transfer kind=%s before=announcement", kind);
	finish(g, out, GATE_STOPPED, GATE_OUTCOME_ENDED_BEFORE_ANNOUNCEMENT);
}

static void on_hangup(struct gate *g, struct gate_out *out)
{
	enum gate_outcome o;

	if (!g->answered)
		o = GATE_OUTCOME_NOT_ANSWERED;
	else if (g->state == GATE_ANNOUNCED)
		o = GATE_OUTCOME_RECORDED;
	else
		o = GATE_OUTCOME_ENDED_BEFORE_ANNOUNCEMENT;
	if (g->prompt_playing)
		out->actions |= GATE_ACT_STOP_PROMPT;
	timeline(g, out, "stopped reason=hangup");
	finish(g, out, GATE_STOPPED, o);
}

void gate_event(struct gate *g, const struct gate_event *ev, struct gate_out *out)
{
	const struct policy_rule *r = g->rule;
	unsigned side_hold, side_remote;

	memset(out, 0, sizeof(*out));
	if (!is_final(g))
		advance(g, ev->now_ms, out);
	else if (ev->now_ms > g->now_ms)
		g->now_ms = ev->now_ms;
	if (is_final(g))
		goto done;	/* final states ignore everything, hang-up included */

	side_hold = ev->side == GATE_SIDE_CARRIER ? GATE_PAUSE_HOLD_CARRIER : GATE_PAUSE_HOLD_PBX;
	side_remote = ev->side == GATE_SIDE_CARRIER ? GATE_PAUSE_REMOTE_HOLD_CARRIER : GATE_PAUSE_REMOTE_HOLD_PBX;

	switch (ev->type) {
	case GATE_EV_ALERTING:
		if (!g->answered && mode(g) == POLICY_ANNOUNCE_PLAY && r->announce_during_alerting &&
		    *r->prompt && !g->prompt_playing && !g->prompt_done && !(g->pause & GATE_PAUSE_ANY_HOLD))
			play_prompt(g, out);
		break;
	case GATE_EV_ANSWER:
		on_answer(g, out);
		break;
	case GATE_EV_PROMPT_FINISHED:
		/* Only the playback we asked for last; a stale one from before a hold is ignored. */
		if (!g->prompt_playing || ev->prompt_seq != g->prompt_seq)
			break;
		g->prompt_playing = false;
		if (g->state == GATE_ANNOUNCING) {
			announced(g, out, "play");
		} else if (!g->answered) {
			g->prompt_done = true;
			timeline(g, out, "prompt finished");
		}
		break;
	case GATE_EV_PROMPT_DETECTED:
		if (mode(g) != POLICY_ANNOUNCE_VERIFY || (g->state != GATE_VERIFYING && g->answered))
			break;
		/* Heard while held, the caller may not have heard it: does not count. */
		if (g->pause & GATE_PAUSE_ANY_HOLD) {
			timeline(g, out, "prompt ignored reason=hold");
			break;
		}
		if (g->state == GATE_VERIFYING) {
			announced(g, out, "verify");
		} else if (!g->prompt_done) {
			g->prompt_done = true;
			timeline(g, out, "prompt detected");
		}
		break;
	case GATE_EV_TICK:
		break;
	case GATE_EV_HOLD:
		on_hold(g, out, side_hold);
		break;
	case GATE_EV_REMOTE_HOLD:
		on_hold(g, out, side_remote);
		break;
	case GATE_EV_RETRIEVE:
		on_retrieve(g, out, side_hold);
		break;
	case GATE_EV_REMOTE_RETRIEVAL:
		on_retrieve(g, out, side_remote);
		break;
	case GATE_EV_TRANSFER:
		on_transfer(g, out, ev);
		break;
	case GATE_EV_CONSULT_CALL:
		if (r && in_list(&r->payment_ivr, ev->number))
			pause_add(g, out, GATE_PAUSE_PAY_IVR);
		break;
	case GATE_EV_PAYMENT_PAUSE:
		pause_add(g, out, ev->source == GATE_PAY_AGENT_CODE ? GATE_PAUSE_PAY_AGENT : GATE_PAUSE_PAY_CONTROL);
		break;
	case GATE_EV_PAYMENT_RESUME:
		/* Each source ends only its own pause; a control client back again settles the unknown one. */
		if (ev->source == GATE_PAY_AGENT_CODE) {
			pause_clear(g, out, GATE_PAUSE_PAY_AGENT, NULL);
		} else {
			pause_clear(g, out, GATE_PAUSE_PAY_CONTROL, NULL);
			pause_clear(g, out, GATE_PAUSE_PAY_UNKNOWN, NULL);
		}
		break;
	case GATE_EV_CONTROL_LOST:
		if (!(g->pause & GATE_PAUSE_PAY_CONTROL))
			break;	/* it had not paused: nothing is unknown */
		g->pause &= ~GATE_PAUSE_PAY_CONTROL;
		g->pause |= GATE_PAUSE_PAY_UNKNOWN;
		g->unknown_deadline_ms = g->now_ms + (uint64_t)(r ? r->payment_timeout_s : 300) * 1000;
		timeline(g, out, "paused reason=%s control=lost", pause_name(GATE_PAUSE_PAY_UNKNOWN));
		break;
	case GATE_EV_DTMF:
		if (gate_recording(g) && r && r->dtmf == POLICY_DTMF_MASK)
			timeline(g, out, "dtmf masked");
		break;
	case GATE_EV_MASK_START:
		pause_add(g, out, GATE_PAUSE_MASK);
		break;
	case GATE_EV_MASK_END:
		pause_clear(g, out, GATE_PAUSE_MASK, NULL);
		break;
	case GATE_EV_HANGUP:
		on_hangup(g, out);
		break;
	case GATE_EV_DISCARD:
		stop_prompt(g, out, "discarded");
		timeline(g, out, "stopped reason=discarded");
		finish(g, out, GATE_STOPPED, GATE_OUTCOME_DISCARDED);
		break;
	case GATE_EV_NONE:
	case GATE_EV_COUNT:
		break;
	}
done:
	out->recording = gate_recording(g);
	out->outcome = g->outcome;
}

bool policy_line_update(struct policy_line_state *s, const struct policy_rule *rule,
			enum gate_outcome outcome)
{
	int after = rule ? rule->unannounced_alarm_after : 1;

	switch (outcome) {
	case GATE_OUTCOME_RECORDED:
	case GATE_OUTCOME_STOPPED_AT_TRANSFER:
		s->announced_total++;
		s->unannounced_in_a_row = 0;
		s->alarm = false;
		return false;
	case GATE_OUTCOME_NOT_ANNOUNCED:
		s->unannounced_total++;
		s->unannounced_in_a_row++;
		if (after > 0 && !s->alarm && s->unannounced_in_a_row >= (unsigned long)after) {
			s->alarm = true;
			return true;
		}
		return false;
	default:
		return false;
	}
}

/* ---- agent payment codes ---- */

void code_matcher_wipe(struct code_matcher *m)
{
	/* volatile: the compiler may not drop the wipe of a secret */
	volatile char *p = m->buf;

	for (size_t i = 0; i < sizeof(m->buf); i++)
		p[i] = 0;
	m->len = 0;
}

void code_matcher_init(struct code_matcher *m, const struct policy_rule *rule, unsigned interdigit_ms)
{
	size_t a, b;

	memset(m, 0, sizeof(*m));
	m->pause = rule ? rule->payment_pause_code : "";
	m->resume = rule ? rule->payment_resume_code : "";
	a = strnlen(m->pause, POLICY_CODE_MAX - 1);
	b = strnlen(m->resume, POLICY_CODE_MAX - 1);
	m->keep = a > b ? a : b;
	m->interdigit_ms = interdigit_ms;
}

static bool ends_with(const char *buf, size_t len, const char *code)
{
	size_t n = strnlen(code, POLICY_CODE_MAX - 1);

	return n && n <= len && !memcmp(buf + len - n, code, n);
}

void code_matcher_tick(struct code_matcher *m, uint64_t now_ms)
{
	if (m->len && now_ms > m->last_ms && now_ms - m->last_ms > m->interdigit_ms)
		code_matcher_wipe(m);
}

enum gate_event_type code_matcher_feed(struct code_matcher *m, char digit, uint64_t now_ms)
{
	if (!m->keep)
		return GATE_EV_NONE;	/* no codes: keep nothing at all */
	code_matcher_tick(m, now_ms);
	if (now_ms > m->last_ms)
		m->last_ms = now_ms;
	if (m->len == m->keep) {
		memmove(m->buf, m->buf + 1, m->len - 1);
		m->len--;
	}
	m->buf[m->len++] = digit;
	if (ends_with(m->buf, m->len, m->pause)) {
		code_matcher_wipe(m);
		return GATE_EV_PAYMENT_PAUSE;
	}
	if (ends_with(m->buf, m->len, m->resume)) {
		code_matcher_wipe(m);
		return GATE_EV_PAYMENT_RESUME;
	}
	return GATE_EV_NONE;
}
