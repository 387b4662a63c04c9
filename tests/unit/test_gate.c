// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy/gate: every event, in every order that matters, including events
 * that arrive while another is pending (hold during the prompt, transfer
 * during hold, payment pause during hold, control lost then timeout, the
 * verify deadline at its exact boundary). Each guarantee in docs/policy.md
 * has a test here. Numbers are fictional 555-01xx ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "policy/gate.h"

static struct policy_rule rule;
static struct gate g;
static struct gate_out out;

static void use_rule(enum policy_announce mode)
{
	policy_rule_defaults(&rule, "desk");
	rule.announce = mode;
	strcpy(rule.prompt, "/etc/trunkrec/prompt.wav");
	rule.recorded_numbers.n = 1;
	strcpy(rule.recorded_numbers.item[0], "555010X");
	rule.payment_ivr.n = 1;
	strcpy(rule.payment_ivr.item[0], "5550199");
	strcpy(rule.payment_pause_code, "*7");
	strcpy(rule.payment_resume_code, "*8");
	gate_init(&g, &rule, 0);
}

/* No timeline line ever holds a number or a digit string beyond its T= stamp. */
static void check_timeline_clean(void)
{
	for (int i = 0; i < out.ntimeline; i++) {
		const char *t = out.timeline[i];

		assert_true(!strncmp(t, "T=", 2));
		assert_null(strstr(t, "555"));
		for (const char *p = strchr(t, ' '); p && *p; p++)
			if (*p >= '0' && *p <= '9')
				fail_msg("digit in timeline \"%s\"", t);
	}
}

static void send(enum gate_event_type type, uint64_t now)
{
	struct gate_event ev = { .type = type, .now_ms = now };

	gate_event(&g, &ev, &out);
	check_timeline_clean();
	assert_int_equal(out.recording, gate_recording(&g));
}

static void send_side(enum gate_event_type type, enum gate_side side, uint64_t now)
{
	struct gate_event ev = { .type = type, .now_ms = now, .side = side };

	gate_event(&g, &ev, &out);
	check_timeline_clean();
}

static void send_xfer(enum gate_transfer_kind kind, const char *number, uint64_t now)
{
	struct gate_event ev = { .type = GATE_EV_TRANSFER, .now_ms = now, .kind = kind, .number = number };

	gate_event(&g, &ev, &out);
	check_timeline_clean();
}

static void send_number(enum gate_event_type type, const char *number, uint64_t now)
{
	struct gate_event ev = { .type = type, .now_ms = now, .number = number };

	gate_event(&g, &ev, &out);
	check_timeline_clean();
}

static void send_pay(enum gate_event_type type, enum gate_pay_source src, uint64_t now)
{
	struct gate_event ev = { .type = type, .now_ms = now, .source = src };

	gate_event(&g, &ev, &out);
	check_timeline_clean();
}

static void prompt_finished(unsigned seq, uint64_t now)
{
	struct gate_event ev = { .type = GATE_EV_PROMPT_FINISHED, .now_ms = now, .prompt_seq = seq };

	gate_event(&g, &ev, &out);
	check_timeline_clean();
}

static bool said(const char *line)
{
	for (int i = 0; i < out.ntimeline; i++)
		if (!strcmp(out.timeline[i], line))
			return true;
	return false;
}

#define assert_said(line) do { if (!said(line)) fail_msg("timeline lacks \"%s\" (has %d: \"%s\")", line, \
				out.ntimeline, out.ntimeline ? out.timeline[0] : ""); } while (0)

/* Answer at 1000, prompt ends at 5120: recording from T=4120. */
static void answer_and_announce(void)
{
	send(GATE_EV_ANSWER, 1000);
	assert_true(out.actions & GATE_ACT_PLAY_PROMPT);
	prompt_finished(out.prompt_seq, 5120);
	assert_true(gate_recording(&g));
}

/* ---- announcement ---- */

static void upstream_records_from_answer_and_still_stops(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_UPSTREAM);
	rule.prompt[0] = '\0';		/* upstream needs no prompt of ours */
	gate_init(&g, &rule, 0);
	send(GATE_EV_ALERTING, 100);
	assert_false(gate_recording(&g));
	send(GATE_EV_ANSWER, 1000);
	assert_true(gate_recording(&g));
	assert_true(out.actions & GATE_ACT_START_RECORDING);
	send_side(GATE_EV_HOLD, GATE_SIDE_PBX, 2000);
	assert_false(gate_recording(&g));
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_PBX, 3000);
	assert_true(gate_recording(&g));
	send_xfer(GATE_XFER_ECT, "5550150", 4000);
	assert_false(gate_recording(&g));
	assert_int_equal(g.outcome, GATE_OUTCOME_STOPPED_AT_TRANSFER);
}

static void none_never_records(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_NONE);
	send(GATE_EV_ALERTING, 10);
	assert_int_equal(out.actions, 0);
	send(GATE_EV_ANSWER, 1000);
	assert_false(out.recording);
	assert_int_equal(out.actions, GATE_ACT_STOP_RECORDING | GATE_ACT_ALARM_UNANNOUNCED);
	assert_int_equal(out.outcome, GATE_OUTCOME_NOT_ANNOUNCED);
	assert_said("T=0 answered rule=desk");
	assert_said("T=0 not announced reason=mode_none");
	assert_int_equal(g.state, GATE_NOT_ANNOUNCED);
	for (int t = GATE_EV_NONE; t < GATE_EV_COUNT; t++) {
		send(t, 2000 + (uint64_t)t);
		assert_false(out.recording);
		assert_int_equal(out.actions, 0);	/* no second STOP, never a START */
	}
	assert_int_equal(out.outcome, GATE_OUTCOME_NOT_ANNOUNCED);
}

static void null_rule_is_none(void **state)
{
	(void)state;
	gate_init(&g, NULL, 0);
	send(GATE_EV_ANSWER, 1);
	assert_int_equal(out.outcome, GATE_OUTCOME_NOT_ANNOUNCED);
	assert_said("T=0 answered rule=none");
	send(GATE_EV_PROMPT_DETECTED, 2);
	assert_false(out.recording);
}

static void play_records_only_after_prompt(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	send(GATE_EV_ALERTING, 500);
	assert_int_equal(out.actions, 0);	/* announce_during_alerting = no */
	send(GATE_EV_ANSWER, 1000);
	assert_int_equal(out.actions, GATE_ACT_PLAY_PROMPT);
	assert_int_equal(out.prompt_seq, 1);
	assert_false(out.recording);
	assert_said("T=0 prompt started");
	send(GATE_EV_TICK, 3000);
	send(GATE_EV_DTMF, 3100);
	send(GATE_EV_PROMPT_DETECTED, 3200);	/* verify's event means nothing to play */
	assert_false(out.recording);
	assert_int_equal(out.ntimeline, 0);
	prompt_finished(1, 5120);
	assert_true(out.recording);
	assert_int_equal(out.actions, GATE_ACT_START_RECORDING);
	assert_said("T=4120 announced mode=play");
	prompt_finished(1, 5200);		/* duplicate: nothing */
	assert_int_equal(out.actions, 0);
	send(GATE_EV_HANGUP, 60000);
	assert_false(out.recording);
	assert_int_equal(out.actions, GATE_ACT_STOP_RECORDING);
	assert_int_equal(out.outcome, GATE_OUTCOME_RECORDED);
	assert_said("T=59000 stopped reason=hangup");
}

static void play_without_prompt_is_unannounced(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	rule.prompt[0] = '\0';
	send(GATE_EV_ANSWER, 1000);
	assert_int_equal(out.outcome, GATE_OUTCOME_NOT_ANNOUNCED);
	assert_true(out.actions & GATE_ACT_ALARM_UNANNOUNCED);
	assert_false(out.actions & GATE_ACT_PLAY_PROMPT);
	assert_said("T=0 not announced reason=no_prompt");
}

static void hold_during_prompt_replays_from_start(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	send(GATE_EV_ANSWER, 1000);
	send_side(GATE_EV_HOLD, GATE_SIDE_PBX, 3000);
	assert_int_equal(out.actions, GATE_ACT_STOP_PROMPT);
	assert_said("T=2000 paused reason=hold side=pbx");
	assert_said("T=2000 prompt interrupted reason=hold");
	prompt_finished(1, 3010);		/* the cut playback's late end: stale */
	assert_false(gate_recording(&g));
	assert_int_equal(out.actions, 0);
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_PBX, 9000);
	assert_int_equal(out.actions, GATE_ACT_PLAY_PROMPT);
	assert_int_equal(out.prompt_seq, 2);
	assert_said("T=8000 resumed reason=hold side=pbx");
	prompt_finished(1, 9500);		/* stale seq again */
	assert_false(gate_recording(&g));
	prompt_finished(2, 13120);
	assert_true(gate_recording(&g));
	assert_said("T=12120 announced mode=play");
}

static void both_holds_must_clear_before_replay(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	send(GATE_EV_ANSWER, 1000);
	send_side(GATE_EV_REMOTE_HOLD, GATE_SIDE_CARRIER, 2000);
	assert_int_equal(out.actions, GATE_ACT_STOP_PROMPT);
	send_side(GATE_EV_HOLD, GATE_SIDE_PBX, 2100);
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_PBX, 3000);
	assert_int_equal(out.actions, 0);	/* still on remote hold */
	assert_said("T=2000 pause ended reason=hold side=pbx");
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_CARRIER, 3100);	/* not the side that held: nothing */
	assert_int_equal(out.actions, 0);
	send_side(GATE_EV_REMOTE_RETRIEVAL, GATE_SIDE_CARRIER, 4000);
	assert_int_equal(out.actions, GATE_ACT_PLAY_PROMPT);
	prompt_finished(out.prompt_seq, 8000);
	assert_true(gate_recording(&g));
}

static void payment_pause_during_prompt_keeps_prompt(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	send(GATE_EV_ANSWER, 1000);
	send_pay(GATE_EV_PAYMENT_PAUSE, GATE_PAY_CONTROL, 2000);
	assert_int_equal(out.actions, 0);	/* the caller still hears it */
	send(GATE_EV_MASK_START, 2500);
	prompt_finished(1, 5120);
	assert_int_equal(out.actions, GATE_ACT_START_RECORDING);
	assert_false(out.recording);		/* announced, but paused */
	send_pay(GATE_EV_PAYMENT_RESUME, GATE_PAY_CONTROL, 6000);
	assert_false(out.recording);
	send(GATE_EV_MASK_END, 7000);
	assert_true(out.recording);
	assert_int_equal(out.actions, 0);	/* START only once */
}

static void transfer_during_prompt_never_records(void **state)
{
	(void)state;
	for (int continue_ = 0; continue_ < 2; continue_++) {
		use_rule(POLICY_ANNOUNCE_PLAY);
		rule.transfer = continue_ ? POLICY_TRANSFER_CONTINUE : POLICY_TRANSFER_STOP;
		send(GATE_EV_ANSWER, 1000);
		send_xfer(GATE_XFER_ECT, "5550101", 2000);	/* inside the recorded set */
		assert_int_equal(out.actions, GATE_ACT_STOP_PROMPT | GATE_ACT_STOP_RECORDING);
		assert_int_equal(out.outcome, GATE_OUTCOME_ENDED_BEFORE_ANNOUNCEMENT);
		assert_said("T=1000 stopped reason=transfer kind=ect before=announcement");
		prompt_finished(1, 5000);
		send(GATE_EV_ANSWER, 5100);
		assert_false(gate_recording(&g));
	}
}

static void hangup_during_prompt(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	send(GATE_EV_ANSWER, 1000);
	send(GATE_EV_HANGUP, 2000);
	assert_int_equal(out.actions, GATE_ACT_STOP_PROMPT | GATE_ACT_STOP_RECORDING);
	assert_int_equal(out.outcome, GATE_OUTCOME_ENDED_BEFORE_ANNOUNCEMENT);
}

static void hangup_before_answer(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	send(GATE_EV_HANGUP, 2000);
	assert_int_equal(out.actions, GATE_ACT_STOP_RECORDING);
	assert_int_equal(out.outcome, GATE_OUTCOME_NOT_ANSWERED);
	assert_said("T=0 stopped reason=hangup phase=alerting");
	send(GATE_EV_ANSWER, 3000);
	assert_false(out.recording);
	assert_int_equal(out.actions, 0);
}

static void prompt_during_alerting(void **state)
{
	(void)state;
	/* finished before answer: recording from the answer */
	use_rule(POLICY_ANNOUNCE_PLAY);
	rule.announce_during_alerting = true;
	send(GATE_EV_ALERTING, 100);
	assert_int_equal(out.actions, GATE_ACT_PLAY_PROMPT);
	assert_said("T=0 prompt started phase=alerting");
	send(GATE_EV_ALERTING, 200);		/* a second ALERTING does not restart it */
	assert_int_equal(out.actions, 0);
	prompt_finished(1, 4000);
	assert_false(out.recording);
	assert_said("T=0 prompt finished phase=alerting");
	send(GATE_EV_ANSWER, 6000);
	assert_true(out.recording);
	assert_int_equal(out.actions, GATE_ACT_START_RECORDING);
	assert_said("T=0 announced mode=play");

	/* still playing at answer: recording once it ends */
	use_rule(POLICY_ANNOUNCE_PLAY);
	rule.announce_during_alerting = true;
	send(GATE_EV_ALERTING, 100);
	send(GATE_EV_ANSWER, 2000);
	assert_int_equal(out.actions, 0);
	assert_false(out.recording);
	prompt_finished(1, 4100);
	assert_true(out.recording);
	assert_said("T=2100 announced mode=play");

	/* cut by a hold before answer: played again from the start at answer */
	use_rule(POLICY_ANNOUNCE_PLAY);
	rule.announce_during_alerting = true;
	send(GATE_EV_ALERTING, 100);
	send_side(GATE_EV_REMOTE_HOLD, GATE_SIDE_PBX, 1000);
	assert_int_equal(out.actions, GATE_ACT_STOP_PROMPT);
	send_side(GATE_EV_REMOTE_RETRIEVAL, GATE_SIDE_PBX, 1500);
	assert_int_equal(out.actions, 0);	/* not answered: wait for it */
	send(GATE_EV_ANSWER, 2000);
	assert_int_equal(out.actions, GATE_ACT_PLAY_PROMPT);
	assert_int_equal(out.prompt_seq, 2);
}

static void verify_detected_in_window(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_VERIFY);
	send(GATE_EV_ANSWER, 1000);
	assert_int_equal(out.actions, 0);
	assert_false(out.recording);
	assert_int_equal(g.state, GATE_VERIFYING);
	send(GATE_EV_TICK, 6000);		/* the last moment of the window */
	assert_int_equal(g.state, GATE_VERIFYING);
	send(GATE_EV_PROMPT_DETECTED, 6000);
	assert_true(out.recording);
	assert_int_equal(out.actions, GATE_ACT_START_RECORDING);
	assert_said("T=5000 announced mode=verify");
	send(GATE_EV_TICK, 99000);		/* the deadline no longer matters */
	assert_true(out.recording);
}

static void verify_window_expires_just_after_boundary(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_VERIFY);
	send(GATE_EV_ANSWER, 1000);
	send(GATE_EV_TICK, 6001);
	assert_int_equal(out.outcome, GATE_OUTCOME_NOT_ANNOUNCED);
	assert_int_equal(out.actions, GATE_ACT_STOP_RECORDING | GATE_ACT_ALARM_UNANNOUNCED);
	assert_said("T=5001 not announced reason=verify_timeout");
	send(GATE_EV_PROMPT_DETECTED, 6002);
	assert_false(out.recording);
	send(GATE_EV_HANGUP, 9000);
	assert_int_equal(out.outcome, GATE_OUTCOME_NOT_ANNOUNCED);
	assert_int_equal(out.actions, 0);

	/* a detection that arrives late is a timeout first */
	use_rule(POLICY_ANNOUNCE_VERIFY);
	rule.verify_window_s = 2;
	send(GATE_EV_ANSWER, 1000);
	send(GATE_EV_PROMPT_DETECTED, 3001);
	assert_false(out.recording);
	assert_int_equal(out.outcome, GATE_OUTCOME_NOT_ANNOUNCED);
}

static void verify_detection_while_held_does_not_count(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_VERIFY);
	send(GATE_EV_ANSWER, 1000);
	send_side(GATE_EV_HOLD, GATE_SIDE_PBX, 2000);
	send(GATE_EV_PROMPT_DETECTED, 3000);
	assert_false(out.recording);
	assert_said("T=2000 prompt ignored reason=hold");
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_PBX, 4000);
	assert_false(out.recording);
	send(GATE_EV_PROMPT_DETECTED, 5000);
	assert_true(out.recording);
}

static void verify_detected_in_early_media(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_VERIFY);
	send(GATE_EV_PROMPT_DETECTED, 500);
	assert_false(out.recording);
	assert_said("T=0 prompt detected phase=alerting");
	send(GATE_EV_ANSWER, 1000);
	assert_true(out.recording);
	assert_int_equal(out.actions, GATE_ACT_START_RECORDING);
}

static void verify_without_prompt_is_unannounced(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_VERIFY);
	rule.prompt[0] = '\0';
	send(GATE_EV_PROMPT_DETECTED, 500);
	send(GATE_EV_ANSWER, 1000);
	assert_int_equal(out.outcome, GATE_OUTCOME_NOT_ANNOUNCED);
	assert_false(out.recording);
}

static void transfer_or_hangup_during_verify(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_VERIFY);
	send(GATE_EV_ANSWER, 1000);
	send_xfer(GATE_XFER_DEFLECTION, "5550301", 2000);
	assert_int_equal(out.outcome, GATE_OUTCOME_ENDED_BEFORE_ANNOUNCEMENT);
	send(GATE_EV_PROMPT_DETECTED, 2500);
	assert_false(out.recording);

	use_rule(POLICY_ANNOUNCE_VERIFY);
	send(GATE_EV_ANSWER, 1000);
	send(GATE_EV_HANGUP, 2000);
	assert_int_equal(out.outcome, GATE_OUTCOME_ENDED_BEFORE_ANNOUNCEMENT);
	assert_int_equal(out.actions, GATE_ACT_STOP_RECORDING);
}

/* ---- hold ---- */

static void hold_and_remote_hold_pause(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	send_side(GATE_EV_HOLD, GATE_SIDE_PBX, 9000);
	assert_false(out.recording);
	assert_int_equal(out.actions, 0);
	assert_said("T=8000 paused reason=hold side=pbx");
	send_side(GATE_EV_HOLD, GATE_SIDE_PBX, 9100);	/* repeated: no new line */
	assert_int_equal(out.ntimeline, 0);
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_PBX, 15000);
	assert_true(out.recording);
	assert_said("T=14000 resumed reason=hold side=pbx");
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_PBX, 15100);	/* without a hold: nothing */
	assert_int_equal(out.ntimeline, 0);
	send_side(GATE_EV_REMOTE_HOLD, GATE_SIDE_CARRIER, 16000);
	assert_false(out.recording);
	assert_said("T=15000 paused reason=remote_hold side=carrier");
	send_side(GATE_EV_REMOTE_RETRIEVAL, GATE_SIDE_PBX, 17000);	/* other side: still held */
	assert_false(gate_recording(&g));
	send_side(GATE_EV_REMOTE_RETRIEVAL, GATE_SIDE_CARRIER, 18000);
	assert_true(gate_recording(&g));
	assert_int_equal(out.actions, 0);	/* no replay once announced */
}

/* ---- transfer ---- */

static void every_transfer_kind_stops_for_good(void **state)
{
	(void)state;
	for (int k = 0; k < GATE_XFER_COUNT; k++) {
		char want[80];
		static const char *const names[] = { "ect", "deflection", "rerouting", "diversion",
						     "connected_line", "transfer_on_disconnect" };

		use_rule(POLICY_ANNOUNCE_PLAY);
		answer_and_announce();
		send_xfer(k, "5550301", 20000);	/* outside the recorded set */
		assert_false(out.recording);
		assert_int_equal(out.actions, GATE_ACT_STOP_RECORDING);
		assert_int_equal(out.outcome, GATE_OUTCOME_STOPPED_AT_TRANSFER);
		snprintf(want, sizeof(want), "T=19000 stopped reason=transfer kind=%s", names[k]);
		assert_said(want);
		/* nothing brings it back */
		send_side(GATE_EV_RETRIEVE, GATE_SIDE_PBX, 21000);
		send_pay(GATE_EV_PAYMENT_RESUME, GATE_PAY_CONTROL, 21100);
		send(GATE_EV_MASK_END, 21200);
		send(GATE_EV_ANSWER, 21300);
		prompt_finished(1, 21400);
		send(GATE_EV_PROMPT_DETECTED, 21500);
		send_xfer(GATE_XFER_CONNECTED_LINE, "5550101", 21600);
		assert_false(gate_recording(&g));
		send(GATE_EV_HANGUP, 30000);
		assert_int_equal(out.actions, 0);
		assert_int_equal(out.outcome, GATE_OUTCOME_STOPPED_AT_TRANSFER);
	}
}

static void transfer_stop_ignores_recorded_set(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);			/* transfer = stop */
	answer_and_announce();
	send_xfer(GATE_XFER_ECT, "5550101", 20000);	/* inside, but stop is stop */
	assert_false(out.recording);
	assert_int_equal(out.outcome, GATE_OUTCOME_STOPPED_AT_TRANSFER);
}

static void connected_line_inside_recorded_set_continues(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	send_xfer(GATE_XFER_CONNECTED_LINE, "5550102", 20000);
	assert_true(out.recording);
	assert_said("T=19000 party changed kind=connected_line inside=yes");
	send_xfer(GATE_XFER_CONNECTED_LINE, "", 21000);	/* unknown party: outside */
	assert_false(out.recording);
	assert_int_equal(out.outcome, GATE_OUTCOME_STOPPED_AT_TRANSFER);
}

static void transfer_continue_inside_only(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	rule.transfer = POLICY_TRANSFER_CONTINUE;
	answer_and_announce();
	send_xfer(GATE_XFER_ECT, "5550105", 20000);
	assert_true(out.recording);
	assert_int_equal(out.actions, 0);
	assert_said("T=19000 transferred kind=ect inside=yes continue=yes");
	send_xfer(GATE_XFER_TRANSFER_ON_DISCONNECT, "5550106", 21000);
	assert_true(out.recording);
	send_xfer(GATE_XFER_ECT, NULL, 22000);			/* unknown party */
	assert_false(out.recording);
	assert_int_equal(out.actions, GATE_ACT_STOP_RECORDING);

	use_rule(POLICY_ANNOUNCE_PLAY);
	rule.transfer = POLICY_TRANSFER_CONTINUE;
	answer_and_announce();
	send_xfer(GATE_XFER_DEFLECTION, "5550110", 20000);	/* 555010X does not take it */
	assert_false(out.recording);
	assert_int_equal(out.outcome, GATE_OUTCOME_STOPPED_AT_TRANSFER);
}

static void transfer_during_hold(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	send_side(GATE_EV_HOLD, GATE_SIDE_PBX, 9000);
	send_xfer(GATE_XFER_ECT, "5550301", 10000);
	assert_int_equal(out.actions, GATE_ACT_STOP_RECORDING);
	assert_int_equal(out.outcome, GATE_OUTCOME_STOPPED_AT_TRANSFER);
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_PBX, 11000);
	assert_false(gate_recording(&g));
	assert_int_equal(out.ntimeline, 0);
}

static void transfer_before_answer(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	send_xfer(GATE_XFER_DIVERSION, "5550301", 500);
	assert_int_equal(out.actions, GATE_ACT_STOP_RECORDING);
	assert_int_equal(out.outcome, GATE_OUTCOME_ENDED_BEFORE_ANNOUNCEMENT);
	send(GATE_EV_ANSWER, 1000);
	assert_int_equal(out.actions, 0);
	assert_false(gate_recording(&g));
}

/* ---- payment ---- */

static void payment_pause_during_hold_then_retrieve(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	send_side(GATE_EV_HOLD, GATE_SIDE_PBX, 9000);
	send_pay(GATE_EV_PAYMENT_PAUSE, GATE_PAY_CONTROL, 9500);
	assert_said("T=8500 paused reason=payment source=control");
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_PBX, 10000);
	assert_false(gate_recording(&g));	/* a retrieve does not end a payment pause */
	assert_said("T=9000 pause ended reason=hold side=pbx");
	send_pay(GATE_EV_PAYMENT_RESUME, GATE_PAY_CONTROL, 40000);
	assert_true(gate_recording(&g));
	assert_said("T=39000 resumed reason=payment source=control");
}

static void payment_sources_are_independent(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	send_pay(GATE_EV_PAYMENT_PAUSE, GATE_PAY_AGENT_CODE, 9000);
	assert_said("T=8000 paused reason=payment source=agent_code");
	send_pay(GATE_EV_PAYMENT_RESUME, GATE_PAY_CONTROL, 9500);
	assert_false(gate_recording(&g));
	assert_int_equal(out.ntimeline, 0);
	send_pay(GATE_EV_PAYMENT_PAUSE, GATE_PAY_CONTROL, 9600);
	send_pay(GATE_EV_PAYMENT_RESUME, GATE_PAY_AGENT_CODE, 10000);
	assert_false(gate_recording(&g));
	send_pay(GATE_EV_PAYMENT_RESUME, GATE_PAY_CONTROL, 11000);
	assert_true(gate_recording(&g));
}

static void payment_ivr_consultation(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	send_side(GATE_EV_HOLD, GATE_SIDE_PBX, 9000);
	send_number(GATE_EV_CONSULT_CALL, "5550301", 9100);	/* not the IVR */
	assert_int_equal(out.ntimeline, 0);
	send_number(GATE_EV_CONSULT_CALL, NULL, 9150);
	assert_int_equal(out.ntimeline, 0);
	send_number(GATE_EV_CONSULT_CALL, "5550199", 9200);
	assert_said("T=8200 paused reason=payment source=ivr");
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_PBX, 60000);
	assert_true(gate_recording(&g));
	assert_said("T=59000 pause ended reason=hold side=pbx");
	assert_said("T=59000 resumed reason=payment source=ivr");

	/* held by NOTIFY: the remote retrieval ends it */
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	send_side(GATE_EV_REMOTE_HOLD, GATE_SIDE_PBX, 9000);
	send_number(GATE_EV_CONSULT_CALL, "5550199", 9200);
	send_side(GATE_EV_REMOTE_RETRIEVAL, GATE_SIDE_PBX, 30000);
	assert_true(gate_recording(&g));
}

static void control_lost_then_timeout(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	send(GATE_EV_CONTROL_LOST, 8000);		/* had not paused: nothing */
	assert_true(gate_recording(&g));
	assert_int_equal(out.ntimeline, 0);
	send_pay(GATE_EV_PAYMENT_PAUSE, GATE_PAY_CONTROL, 10000);
	send(GATE_EV_CONTROL_LOST, 20000);
	assert_false(gate_recording(&g));
	assert_said("T=19000 paused reason=payment source=unknown control=lost");
	send_pay(GATE_EV_PAYMENT_RESUME, GATE_PAY_AGENT_CODE, 25000);	/* not its source */
	send(GATE_EV_TICK, 319999);
	assert_false(gate_recording(&g));
	send(GATE_EV_TICK, 320000);			/* 300 s after the loss */
	assert_true(gate_recording(&g));
	assert_said("T=319000 resumed reason=payment source=unknown mark=payment_timeout");

	/* a client back in time resumes it itself */
	use_rule(POLICY_ANNOUNCE_PLAY);
	rule.payment_timeout_s = 60;
	answer_and_announce();
	send_pay(GATE_EV_PAYMENT_PAUSE, GATE_PAY_CONTROL, 10000);
	send(GATE_EV_CONTROL_LOST, 20000);
	send_pay(GATE_EV_PAYMENT_RESUME, GATE_PAY_CONTROL, 30000);
	assert_true(gate_recording(&g));

	/* the timeout ends only the unknown pause: a hold meanwhile stays */
	use_rule(POLICY_ANNOUNCE_PLAY);
	rule.payment_timeout_s = 60;
	answer_and_announce();
	send_pay(GATE_EV_PAYMENT_PAUSE, GATE_PAY_CONTROL, 10000);
	send(GATE_EV_CONTROL_LOST, 20000);
	send_side(GATE_EV_HOLD, GATE_SIDE_PBX, 30000);
	send(GATE_EV_TICK, 80000);
	assert_false(gate_recording(&g));
	assert_said("T=79000 pause ended reason=payment source=unknown mark=payment_timeout");
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_PBX, 90000);
	assert_true(gate_recording(&g));
}

/* ---- DTMF and mask ---- */

static void dtmf_marks_without_digits(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	send(GATE_EV_DTMF, 8000);
	assert_int_equal(out.ntimeline, 1);
	assert_said("T=7000 dtmf masked");
	assert_true(out.recording);
	send_pay(GATE_EV_PAYMENT_PAUSE, GATE_PAY_AGENT_CODE, 8100);
	send(GATE_EV_DTMF, 8200);			/* paused: nothing stored, nothing said */
	assert_int_equal(out.ntimeline, 0);

	use_rule(POLICY_ANNOUNCE_PLAY);
	rule.dtmf = POLICY_DTMF_KEEP;
	answer_and_announce();
	send(GATE_EV_DTMF, 8000);
	assert_int_equal(out.ntimeline, 0);
}

static void mask_segment(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	send(GATE_EV_MASK_START, 9000);
	assert_false(out.recording);
	assert_said("T=8000 paused reason=mask");
	send_side(GATE_EV_HOLD, GATE_SIDE_CARRIER, 9500);
	send(GATE_EV_MASK_END, 10000);
	assert_false(out.recording);
	assert_said("T=9000 pause ended reason=mask");
	send_side(GATE_EV_RETRIEVE, GATE_SIDE_CARRIER, 11000);
	assert_true(out.recording);
}

/* A supervisor's discard: final, whatever was going on; a later retrieve or hang-up changes nothing. */
static void discard_is_final(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	send(GATE_EV_MASK_START, 9000);
	send(GATE_EV_DISCARD, 9500);
	assert_false(out.recording);
	assert_int_equal(out.actions, GATE_ACT_STOP_RECORDING);
	assert_int_equal(out.outcome, GATE_OUTCOME_DISCARDED);
	assert_said("T=8500 stopped reason=discarded");
	send(GATE_EV_MASK_END, 10000);
	assert_false(out.recording);
	send(GATE_EV_HANGUP, 11000);
	assert_int_equal(out.actions, 0);
	assert_int_equal(g.outcome, GATE_OUTCOME_DISCARDED);

	/* During the announcement: the prompt stops too, nothing was ever stored. */
	use_rule(POLICY_ANNOUNCE_PLAY);
	send(GATE_EV_ANSWER, 1000);
	send(GATE_EV_DISCARD, 2000);
	assert_int_equal(out.actions, GATE_ACT_STOP_PROMPT | GATE_ACT_STOP_RECORDING);
	assert_false(gate_recording(&g));
}

/* ---- time ---- */

static void time_going_backwards_is_no_time(void **state)
{
	(void)state;
	use_rule(POLICY_ANNOUNCE_VERIFY);
	send(GATE_EV_ANSWER, 1000);
	send(GATE_EV_TICK, 500);
	assert_int_equal(g.state, GATE_VERIFYING);
	send(GATE_EV_PROMPT_DETECTED, 400);
	assert_true(out.recording);
	assert_said("T=0 announced mode=verify");
}

/* ---- per line ---- */

static void line_alarm(void **state)
{
	struct policy_line_state s = { 0 };

	(void)state;
	policy_rule_defaults(&rule, "desk");		/* unannounced_alarm_after = 1 */
	assert_true(policy_line_update(&s, &rule, GATE_OUTCOME_NOT_ANNOUNCED));	/* day one, call one */
	assert_true(s.alarm);
	assert_false(policy_line_update(&s, &rule, GATE_OUTCOME_NOT_ANNOUNCED));	/* already up */
	assert_int_equal(s.unannounced_total, 2);
	assert_false(policy_line_update(&s, &rule, GATE_OUTCOME_NOT_ANSWERED));
	assert_false(policy_line_update(&s, &rule, GATE_OUTCOME_ENDED_BEFORE_ANNOUNCEMENT));
	assert_false(policy_line_update(&s, &rule, GATE_OUTCOME_PENDING));
	assert_int_equal(s.unannounced_in_a_row, 2);
	assert_false(policy_line_update(&s, &rule, GATE_OUTCOME_RECORDED));
	assert_false(s.alarm);
	assert_int_equal(s.unannounced_in_a_row, 0);
	assert_true(policy_line_update(&s, &rule, GATE_OUTCOME_NOT_ANNOUNCED));	/* up again */

	memset(&s, 0, sizeof(s));
	rule.unannounced_alarm_after = 3;
	assert_false(policy_line_update(&s, &rule, GATE_OUTCOME_NOT_ANNOUNCED));
	assert_false(policy_line_update(&s, &rule, GATE_OUTCOME_NOT_ANNOUNCED));
	assert_false(policy_line_update(&s, &rule, GATE_OUTCOME_STOPPED_AT_TRANSFER));	/* resets */
	assert_false(policy_line_update(&s, &rule, GATE_OUTCOME_NOT_ANNOUNCED));
	assert_false(policy_line_update(&s, &rule, GATE_OUTCOME_NOT_ANNOUNCED));
	assert_true(policy_line_update(&s, &rule, GATE_OUTCOME_NOT_ANNOUNCED));

	memset(&s, 0, sizeof(s));
	rule.unannounced_alarm_after = 0;
	for (int i = 0; i < 10; i++)
		assert_false(policy_line_update(&s, &rule, GATE_OUTCOME_NOT_ANNOUNCED));
	assert_int_equal(s.unannounced_total, 10);

	memset(&s, 0, sizeof(s));
	assert_true(policy_line_update(&s, NULL, GATE_OUTCOME_NOT_ANNOUNCED));
}

/* The gate's own call-level flow into the line counter: the incident replayed. */
static void unannounced_line_alarms_on_first_call(void **state)
{
	struct policy_line_state s = { 0 };

	(void)state;
	use_rule(POLICY_ANNOUNCE_VERIFY);
	send(GATE_EV_ANSWER, 1000);
	send(GATE_EV_TICK, 6020);
	assert_true(out.actions & GATE_ACT_ALARM_UNANNOUNCED);
	assert_true(policy_line_update(&s, &rule, out.outcome));
}

/* ---- agent codes ---- */

static void code_matcher_codes(void **state)
{
	struct code_matcher m;

	(void)state;
	policy_rule_defaults(&rule, "desk");
	strcpy(rule.payment_pause_code, "*7");
	strcpy(rule.payment_resume_code, "*8");
	code_matcher_init(&m, &rule, CODE_MATCHER_INTERDIGIT_MS);
	assert_int_equal(m.keep, 2);
	assert_int_equal(code_matcher_feed(&m, '1', 0), GATE_EV_NONE);
	assert_int_equal(code_matcher_feed(&m, '*', 100), GATE_EV_NONE);
	assert_int_equal(code_matcher_feed(&m, '7', 200), GATE_EV_PAYMENT_PAUSE);
	assert_int_equal(m.len, 0);			/* forgotten at the match */
	/* card digits stream through: never more than 2 held, never a match */
	for (int i = 0; i < 16; i++) {
		assert_int_equal(code_matcher_feed(&m, (char)('0' + (i * 7) % 10), 300 + 100 * (uint64_t)i),
				 GATE_EV_NONE);
		assert_true(m.len <= m.keep);
		for (size_t k = m.keep; k < sizeof(m.buf); k++)
			assert_int_equal(m.buf[k], 0);
	}
	assert_int_equal(code_matcher_feed(&m, '*', 5000), GATE_EV_NONE);
	assert_int_equal(code_matcher_feed(&m, '8', 5100), GATE_EV_PAYMENT_RESUME);
	/* too slow between keys: not a code */
	assert_int_equal(code_matcher_feed(&m, '*', 6000), GATE_EV_NONE);
	assert_int_equal(code_matcher_feed(&m, '7', 9001), GATE_EV_NONE);
	/* exactly the inter-digit time is still in time */
	assert_int_equal(code_matcher_feed(&m, '*', 20000), GATE_EV_NONE);
	assert_int_equal(code_matcher_feed(&m, '7', 23000), GATE_EV_PAYMENT_PAUSE);
	/* tick forgets */
	code_matcher_feed(&m, '*', 30000);
	code_matcher_tick(&m, 33001);
	assert_int_equal(m.len, 0);
	assert_int_equal(m.buf[0], 0);
	code_matcher_feed(&m, '*', 40000);
	code_matcher_wipe(&m);
	assert_int_equal(m.len, 0);
	assert_int_equal(m.buf[0], 0);
}

static void code_matcher_without_codes_keeps_nothing(void **state)
{
	struct code_matcher m;

	(void)state;
	policy_rule_defaults(&rule, "desk");
	code_matcher_init(&m, &rule, 3000);
	for (int i = 0; i < 10; i++) {
		assert_int_equal(code_matcher_feed(&m, '4', (uint64_t)i), GATE_EV_NONE);
		assert_int_equal(m.len, 0);
	}
	code_matcher_init(&m, NULL, 3000);
	assert_int_equal(code_matcher_feed(&m, '*', 0), GATE_EV_NONE);
	assert_int_equal(m.len, 0);
}

static void code_matcher_feeds_gate(void **state)
{
	struct code_matcher m;
	const char *keys = "*7" "4111" "*8";
	uint64_t t = 8000;

	(void)state;
	use_rule(POLICY_ANNOUNCE_PLAY);
	answer_and_announce();
	code_matcher_init(&m, &rule, CODE_MATCHER_INTERDIGIT_MS);
	for (const char *k = keys; *k; k++, t += 300) {
		enum gate_event_type e = code_matcher_feed(&m, *k, t);

		send(GATE_EV_DTMF, t);
		if (e != GATE_EV_NONE)
			send_pay(e, GATE_PAY_AGENT_CODE, t);
		if (k == keys + 1)
			assert_false(gate_recording(&g));
	}
	assert_true(gate_recording(&g));
}

static void names(void **state)
{
	(void)state;
	assert_string_equal(gate_state_name(GATE_VERIFYING), "verifying");
	assert_string_equal(gate_outcome_name(GATE_OUTCOME_STOPPED_AT_TRANSFER), "stopped_at_transfer");
	assert_string_equal(gate_event_name(GATE_EV_CONTROL_LOST), "control_lost");
	assert_string_equal(gate_event_name(GATE_EV_COUNT), "?");
	assert_string_equal(gate_state_name(99), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(none_never_records),
		cmocka_unit_test(upstream_records_from_answer_and_still_stops),
		cmocka_unit_test(null_rule_is_none),
		cmocka_unit_test(play_records_only_after_prompt),
		cmocka_unit_test(play_without_prompt_is_unannounced),
		cmocka_unit_test(hold_during_prompt_replays_from_start),
		cmocka_unit_test(both_holds_must_clear_before_replay),
		cmocka_unit_test(payment_pause_during_prompt_keeps_prompt),
		cmocka_unit_test(transfer_during_prompt_never_records),
		cmocka_unit_test(hangup_during_prompt),
		cmocka_unit_test(hangup_before_answer),
		cmocka_unit_test(prompt_during_alerting),
		cmocka_unit_test(verify_detected_in_window),
		cmocka_unit_test(verify_window_expires_just_after_boundary),
		cmocka_unit_test(verify_detection_while_held_does_not_count),
		cmocka_unit_test(verify_detected_in_early_media),
		cmocka_unit_test(verify_without_prompt_is_unannounced),
		cmocka_unit_test(transfer_or_hangup_during_verify),
		cmocka_unit_test(hold_and_remote_hold_pause),
		cmocka_unit_test(every_transfer_kind_stops_for_good),
		cmocka_unit_test(transfer_stop_ignores_recorded_set),
		cmocka_unit_test(connected_line_inside_recorded_set_continues),
		cmocka_unit_test(transfer_continue_inside_only),
		cmocka_unit_test(transfer_during_hold),
		cmocka_unit_test(transfer_before_answer),
		cmocka_unit_test(payment_pause_during_hold_then_retrieve),
		cmocka_unit_test(payment_sources_are_independent),
		cmocka_unit_test(payment_ivr_consultation),
		cmocka_unit_test(control_lost_then_timeout),
		cmocka_unit_test(dtmf_marks_without_digits),
		cmocka_unit_test(mask_segment),
		cmocka_unit_test(discard_is_final),
		cmocka_unit_test(time_going_backwards_is_no_time),
		cmocka_unit_test(line_alarm),
		cmocka_unit_test(unannounced_line_alarms_on_first_call),
		cmocka_unit_test(code_matcher_codes),
		cmocka_unit_test(code_matcher_without_codes_keeps_nothing),
		cmocka_unit_test(code_matcher_feeds_gate),
		cmocka_unit_test(names),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
