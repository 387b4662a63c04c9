// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness for the policy core (policy/gate.c, policy/rules.c,
 * policy/config.c).
 *
 * Input byte 0 picks a mode:
 *   0  a rule built from the input, then random events at random times
 *      through the gate; a shadow model written here, apart from the gate,
 *      checks after every event:
 *        - never recording on announcement = none (or without a prompt);
 *        - never recording before the announcement: play needs the
 *          PROMPT_FINISHED of the latest PLAY_PROMPT with no hold or
 *          transfer since; verify needs a PROMPT_DETECTED not on hold and
 *          not after the window;
 *        - never recording while any pause reason the model sees is active;
 *        - never recording after STOP_RECORDING, a stopping transfer or
 *          HANGUP, and STOP/START each given at most once, START before
 *          any recording;
 *        - timeline lines start "T=" and hold no digit after it (no
 *          number, no DTMF digit ever reaches them);
 *      plus the code matcher fed random digits never holds more than its
 *      longest code.
 *   1  the input as a trunkrecd.conf: parse, --check-config report, match
 *      calls; no crash, report always terminated.
 *   2  two patterns and a number: if the first covers the second and the
 *      second matches the number, the first must match it too (the
 *      unreachable-rule report is never wrong).
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "policy/config.h"
#include "policy/gate.h"

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "fuzz_gate: %s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

struct reader {
	const uint8_t *p;
	size_t n;
};

static uint8_t take(struct reader *r)
{
	uint8_t v;

	if (!r->n)
		return 0;
	v = *r->p++;
	r->n--;
	return v;
}

static const char *const numbers[] = { "5550101", "5550199", "5550301", "", NULL, "55501", "5550109" };
#define NNUMBERS (sizeof(numbers) / sizeof(numbers[0]))

/* What the harness itself believes about the call. */
struct model {
	bool answered;
	uint64_t answer_ms;
	bool announced;			/* a valid completion was seen */
	bool final;			/* a stop, a hangup, or unannounced */
	bool started, stopped;
	unsigned playing_seq;		/* 0: no playback believed valid */
	bool hold[2], remote[2];
	bool pay_control, pay_agent, pay_ivr, pay_unknown, mask;
	uint64_t unknown_deadline;
	uint64_t now;
};

static bool model_paused(const struct model *m)
{
	return m->hold[0] || m->hold[1] || m->remote[0] || m->remote[1] || m->pay_control ||
	       m->pay_agent || m->pay_ivr || m->pay_unknown || m->mask;
}

static bool any_hold(const struct model *m)
{
	return m->hold[0] || m->hold[1] || m->remote[0] || m->remote[1];
}

static void check_timeline(const struct gate_out *out)
{
	CHECK(out->ntimeline >= 0 && out->ntimeline <= GATE_TIMELINE_MAX);
	for (int i = 0; i < out->ntimeline; i++) {
		const char *t = out->timeline[i];
		const char *sp;

		CHECK(memchr(t, '\0', GATE_TIMELINE_LEN));
		CHECK(!strncmp(t, "T=", 2));
		sp = strchr(t, ' ');
		CHECK(sp);
		for (const char *p = sp; *p; p++)
			CHECK(*p < '0' || *p > '9');
	}
}

static bool inside(const struct policy_list *l, const char *number)
{
	if (!number || !*number)
		return false;
	for (int i = 0; i < l->n; i++)
		if (policy_number_match(l->item[i], number))
			return true;
	return false;
}

static void run_gate(struct reader *r)
{
	static struct policy_rule rule;
	struct code_matcher cm;
	struct model m = { 0 };
	struct gate g;
	struct gate_out out;
	uint8_t cfg = take(r), cfg2 = take(r);
	bool has_prompt;

	policy_rule_defaults(&rule, "fz");
	rule.announce = (enum policy_announce)(cfg % 4);
	rule.transfer = (cfg >> 2) & 1 ? POLICY_TRANSFER_CONTINUE : POLICY_TRANSFER_STOP;
	rule.announce_during_alerting = (cfg >> 3) & 1;
	has_prompt = ((cfg >> 4) & 3) != 0;	/* mostly with one */
	if (has_prompt)
		strcpy(rule.prompt, "/p.wav");
	rule.dtmf = (cfg >> 6) & 1 ? POLICY_DTMF_KEEP : POLICY_DTMF_MASK;
	rule.verify_window_s = 1 + cfg2 % 8;
	rule.payment_timeout_s = 1 + (cfg2 >> 3) % 16;
	rule.recorded_numbers.n = 1;
	strcpy(rule.recorded_numbers.item[0], "555010X");
	rule.payment_ivr.n = 1;
	strcpy(rule.payment_ivr.item[0], "5550199");
	strcpy(rule.payment_pause_code, "*7");
	strcpy(rule.payment_resume_code, "#8");

	m.now = take(r);
	gate_init(&g, (cfg >> 7) & 1 && !(cfg2 & 0x80) ? NULL : &rule, m.now);
	code_matcher_init(&cm, g.rule, 500);
	if (!g.rule)
		rule.announce = POLICY_ANNOUNCE_NONE;	/* the model's view of a NULL rule */

	while (r->n >= 3) {
		uint8_t a = take(r), b = take(r), c = take(r);
		struct gate_event ev = { 0 };
		uint64_t dt = b < 200 ? b * 10u : (uint64_t)(b - 199) * 5000u;	/* ms to minutes */
		unsigned side;
		const char *num = numbers[c % NNUMBERS];
		bool was_recording = gate_recording(&g);

		ev.type = (enum gate_event_type)(a % GATE_EV_COUNT);
		ev.now_ms = (a & 0x80) && dt > 20 ? m.now - 20 : m.now + dt;	/* now and then backwards */
		if (ev.now_ms > m.now)
			m.now = ev.now_ms;
		ev.side = (enum gate_side)((c >> 3) & 1);
		side = ev.side == GATE_SIDE_CARRIER;
		ev.kind = (enum gate_transfer_kind)((c >> 4) % GATE_XFER_COUNT);
		ev.source = (enum gate_pay_source)((c >> 7) & 1);
		ev.number = num;
		/* mostly the right sequence number, sometimes a stale or wild one */
		ev.prompt_seq = (c & 0x40) ? (unsigned)(c & 3) : g.prompt_seq;

		/* the model's clocks, before the event like the gate's */
		if (!m.final && m.answered && !m.announced && rule.announce == POLICY_ANNOUNCE_VERIFY &&
		    m.now > m.answer_ms + (uint64_t)rule.verify_window_s * 1000)
			m.final = true;
		if (m.pay_unknown && m.now >= m.unknown_deadline)
			m.pay_unknown = false;

		gate_event(&g, &ev, &out);
		check_timeline(&out);
		CHECK(out.recording == gate_recording(&g));

		/* the model follows the event */
		switch (ev.type) {
		case GATE_EV_ANSWER:
			if (!m.answered && !m.final) {
				m.answered = true;
				m.answer_ms = m.now;
				if (rule.announce == POLICY_ANNOUNCE_UPSTREAM)
					m.announced = true;	/* attested by the rule: from answer */
				else if (rule.announce == POLICY_ANNOUNCE_NONE || !has_prompt)
					m.final = true;
			}
			break;
		case GATE_EV_PROMPT_FINISHED:
			if (rule.announce == POLICY_ANNOUNCE_PLAY && m.playing_seq && ev.prompt_seq == m.playing_seq &&
			    !m.final) {
				m.announced = true;	/* counted at answer if before it */
				m.playing_seq = 0;
			}
			break;
		case GATE_EV_PROMPT_DETECTED:
			if (rule.announce == POLICY_ANNOUNCE_VERIFY && has_prompt && !any_hold(&m) && !m.final &&
			    (!m.answered || m.now <= m.answer_ms + (uint64_t)rule.verify_window_s * 1000))
				m.announced = true;
			break;
		case GATE_EV_HOLD:
			m.hold[side] = true;
			m.playing_seq = 0;
			break;
		case GATE_EV_REMOTE_HOLD:
			m.remote[side] = true;
			m.playing_seq = 0;
			break;
		case GATE_EV_RETRIEVE:
			m.hold[side] = false;
			m.pay_ivr = false;
			break;
		case GATE_EV_REMOTE_RETRIEVAL:
			m.remote[side] = false;
			m.pay_ivr = false;
			break;
		case GATE_EV_TRANSFER: {
			bool in = inside(&rule.recorded_numbers, num);
			bool keeps = g.rule && in && (ev.kind == GATE_XFER_CONNECTED_LINE ||
				(m.announced && m.answered && rule.transfer == POLICY_TRANSFER_CONTINUE));

			if (!keeps) {
				m.final = true;
				m.playing_seq = 0;
			}
			break;
		}
		case GATE_EV_CONSULT_CALL:
			if (g.rule && inside(&rule.payment_ivr, num))
				m.pay_ivr = true;
			break;
		case GATE_EV_PAYMENT_PAUSE:
			if (ev.source == GATE_PAY_CONTROL)
				m.pay_control = true;
			else
				m.pay_agent = true;
			break;
		case GATE_EV_PAYMENT_RESUME:
			if (ev.source == GATE_PAY_CONTROL)
				m.pay_control = m.pay_unknown = false;
			else
				m.pay_agent = false;
			break;
		case GATE_EV_CONTROL_LOST:
			if (m.pay_control) {
				m.pay_control = false;
				m.pay_unknown = true;
				m.unknown_deadline = m.now + (uint64_t)rule.payment_timeout_s * 1000;
			}
			break;
		case GATE_EV_MASK_START:
			m.mask = true;
			break;
		case GATE_EV_MASK_END:
			m.mask = false;
			break;
		case GATE_EV_HANGUP:
		case GATE_EV_DISCARD:
			m.final = true;
			break;
		default:
			break;
		}
		if (out.actions & GATE_ACT_PLAY_PROMPT) {
			CHECK(rule.announce == POLICY_ANNOUNCE_PLAY && has_prompt);
			CHECK(!m.final && !m.stopped);
			CHECK(!any_hold(&m));
			m.playing_seq = out.prompt_seq;
		}
		if (out.actions & GATE_ACT_START_RECORDING) {
			CHECK(!m.started && !m.stopped);
			m.started = true;
		}
		if (out.actions & GATE_ACT_STOP_RECORDING) {
			CHECK(!m.stopped);
			m.stopped = true;
		}
		if (out.actions & GATE_ACT_ALARM_UNANNOUNCED)
			CHECK(out.outcome == GATE_OUTCOME_NOT_ANNOUNCED);

		/* the guarantees */
		if (gate_recording(&g)) {
			CHECK(rule.announce == POLICY_ANNOUNCE_UPSTREAM || (rule.announce != POLICY_ANNOUNCE_NONE && has_prompt));
			CHECK(m.answered && m.announced);
			CHECK(!m.final && !m.stopped);
			CHECK(m.started);
			CHECK(!model_paused(&m));
		}
		if (m.stopped || m.final)
			CHECK(!gate_recording(&g));
		if (ev.type == GATE_EV_HANGUP)
			CHECK(m.stopped && out.outcome != GATE_OUTCOME_PENDING);
		(void)was_recording;

		/* the agent-code matcher, fed the same randomness as digits */
		if (ev.type == GATE_EV_DTMF) {
			static const char keys[] = "0123456789*#ABCD";

			code_matcher_feed(&cm, keys[c % 16], m.now);
			CHECK(cm.len <= cm.keep && cm.keep < POLICY_CODE_MAX);
			for (size_t k = cm.keep; k < sizeof(cm.buf); k++)
				CHECK(cm.buf[k] == 0);
		}
	}
	code_matcher_wipe(&cm);
}

static void run_config(struct reader *r)
{
	static struct config c;
	static char text[4097], report[1024], err[256];
	size_t n = r->n < sizeof(text) - 1 ? r->n : sizeof(text) - 1;
	const struct policy_rule *rule;

	memcpy(text, r->p, n);
	text[n] = '\0';
	if (config_parse(&c, "f.conf", text, err, sizeof(err)) < 0) {
		CHECK(memchr(err, '\0', sizeof(err)));
		return;
	}
	CHECK(c.rules.n >= 0 && c.rules.n <= POLICY_MAX_RULES);
	CHECK(policy_rules_check(&c.rules, report, sizeof(report)) >= 0);
	CHECK(memchr(report, '\0', sizeof(report)));
	for (size_t i = 0; i < NNUMBERS; i++) {
		rule = policy_rules_match(&c.rules, c.pairs[0].name, i & 1, numbers[i], numbers[(i + 1) % NNUMBERS]);
		CHECK(rule);
	}
}

/* Split the input at NULs into up to three strings. */
static void run_patterns(struct reader *r)
{
	char s[3][40] = { "", "", "" };
	size_t k = 0, len = 0;

	while (r->n && k < 3) {
		uint8_t ch = take(r);

		if (!ch || len == sizeof(s[0]) - 1) {
			k++;
			len = 0;
			continue;
		}
		s[k][len++] = (char)ch;
		s[k][len] = '\0';
	}
	if (policy_pattern_covers(s[0], s[1]) && policy_number_match(s[1], s[2]))
		CHECK(policy_number_match(s[0], s[2]));
	/* a pattern covers itself, when it is valid */
	if (policy_pattern_valid(s[0], NULL))
		CHECK(policy_pattern_covers(s[0], s[0]));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct reader r = { data, size };

	switch (take(&r) % 3) {
	case 0:
		run_gate(&r);
		break;
	case 1:
		run_config(&r);
		break;
	default:
		run_patterns(&r);
		break;
	}
	return 0;
}
