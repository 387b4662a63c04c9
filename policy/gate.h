/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The recording gate: one per call. Events and their time in, decisions
 * out (docs/policy.md has the state table and the guarantees).
 *
 * Pure: no I/O, no clock (every event carries now_ms, from any monotonic
 * millisecond clock; time that goes backwards is taken as no time passing),
 * no allocation, no threads. The struct is plain so the engine embeds it in
 * its call; it is used by the one thread that owns the call.
 *
 * Fail closed everywhere: audio may be stored only when gate_recording()
 * says so, which is only after a complete announcement, with no pause reason
 * active, before any final stop.
 *
 * SECRET: no digit and no phone number is ever stored here or written to the
 * timeline. Numbers given with TRANSFER and CONSULT_CALL are matched against
 * the rule while the event is handled and then forgotten. DTMF digits reach
 * only the code_matcher, which keeps no more of them than its longest code.
 */
#ifndef TRUNKREC_POLICY_GATE_H
#define TRUNKREC_POLICY_GATE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/rules.h"

enum gate_event_type {
	GATE_EV_NONE,
	GATE_EV_ALERTING,		/* ringing: play mode with announce_during_alerting starts the prompt */
	GATE_EV_ANSWER,
	GATE_EV_PROMPT_FINISHED,	/* played to its end; prompt_seq from the PLAY_PROMPT it ends */
	GATE_EV_PROMPT_DETECTED,	/* verify: the PBX's whole prompt was found in its audio */
	GATE_EV_TICK,			/* time passes: verify deadline, payment timeout */
	GATE_EV_HOLD,			/* Q.932 HOLD, side says whose */
	GATE_EV_RETRIEVE,
	GATE_EV_REMOTE_HOLD,		/* NOTIFY remote hold, side says whose */
	GATE_EV_REMOTE_RETRIEVAL,
	GATE_EV_TRANSFER,		/* kind, number = the new party (may be empty) */
	GATE_EV_CONSULT_CALL,		/* the PBX called number while this call is held */
	GATE_EV_PAYMENT_PAUSE,		/* source */
	GATE_EV_PAYMENT_RESUME,		/* source */
	GATE_EV_CONTROL_LOST,		/* the control client that paused vanished */
	GATE_EV_DTMF,			/* a tone was detected (and masked); no digit */
	GATE_EV_MASK_START,		/* staff mask a segment live */
	GATE_EV_MASK_END,
	GATE_EV_HANGUP,
	GATE_EV_DISCARD,		/* staff delete this call's recording: final, nothing more is stored */
	GATE_EV_COUNT
};

enum gate_side { GATE_SIDE_PBX, GATE_SIDE_CARRIER };

enum gate_transfer_kind {
	GATE_XFER_ECT,
	GATE_XFER_DEFLECTION,
	GATE_XFER_REROUTING,
	GATE_XFER_DIVERSION,
	GATE_XFER_CONNECTED_LINE,	/* a change after answer, not the CONNECT's own */
	GATE_XFER_TRANSFER_ON_DISCONNECT,
	GATE_XFER_COUNT
};

enum gate_pay_source { GATE_PAY_CONTROL, GATE_PAY_AGENT_CODE };

struct gate_event {
	enum gate_event_type type;
	uint64_t now_ms;
	enum gate_side side;			/* HOLD, RETRIEVE, REMOTE_HOLD, REMOTE_RETRIEVAL */
	enum gate_transfer_kind kind;		/* TRANSFER */
	enum gate_pay_source source;		/* PAYMENT_PAUSE, PAYMENT_RESUME */
	const char *number;			/* TRANSFER, CONSULT_CALL; NULL = unknown; not kept */
	unsigned prompt_seq;			/* PROMPT_FINISHED */
};

/* Why the call is paused: independent bits, each set and cleared by its own events. */
enum gate_pause {
	GATE_PAUSE_HOLD_PBX = 1u << 0,
	GATE_PAUSE_HOLD_CARRIER = 1u << 1,
	GATE_PAUSE_REMOTE_HOLD_PBX = 1u << 2,
	GATE_PAUSE_REMOTE_HOLD_CARRIER = 1u << 3,
	GATE_PAUSE_PAY_CONTROL = 1u << 4,
	GATE_PAUSE_PAY_AGENT = 1u << 5,
	GATE_PAUSE_PAY_IVR = 1u << 6,
	GATE_PAUSE_PAY_UNKNOWN = 1u << 7,	/* control lost mid-payment */
	GATE_PAUSE_MASK = 1u << 8,
};
#define GATE_PAUSE_ANY_HOLD	(GATE_PAUSE_HOLD_PBX | GATE_PAUSE_HOLD_CARRIER | \
				 GATE_PAUSE_REMOTE_HOLD_PBX | GATE_PAUSE_REMOTE_HOLD_CARRIER)

enum gate_state {
	GATE_ALERTING,		/* before answer */
	GATE_ANNOUNCING,	/* play: prompt playing, or waiting to be played again after hold */
	GATE_VERIFYING,		/* verify: waiting for the PBX's prompt until the deadline */
	GATE_ANNOUNCED,		/* may record whenever no pause reason is active */
	GATE_NOT_ANNOUNCED,	/* final: never records */
	GATE_STOPPED,		/* final: never records again */
};

enum gate_outcome {
	GATE_OUTCOME_PENDING,			/* not decided yet */
	GATE_OUTCOME_RECORDED,			/* announced; ended by hang-up */
	GATE_OUTCOME_NOT_ANNOUNCED,		/* none, verify not detected, or no prompt configured */
	GATE_OUTCOME_STOPPED_AT_TRANSFER,	/* announced; stopped at a transfer */
	GATE_OUTCOME_ENDED_BEFORE_ANNOUNCEMENT,	/* hang-up or transfer while the announcement ran */
	GATE_OUTCOME_NOT_ANSWERED,
	GATE_OUTCOME_DISCARDED,			/* staff asked for it to be deleted; the engine deletes what was stored */
};

enum gate_action {
	GATE_ACT_PLAY_PROMPT = 1u << 0,		/* from the start; tag it with out->prompt_seq */
	GATE_ACT_STOP_PROMPT = 1u << 1,
	GATE_ACT_START_RECORDING = 1u << 2,	/* once: open the file; nothing could be stored before */
	GATE_ACT_STOP_RECORDING = 1u << 3,	/* once: final, nothing more is ever stored */
	GATE_ACT_ALARM_UNANNOUNCED = 1u << 4,	/* once: this call is unannounced; feed policy_line_update() */
};

#define GATE_TIMELINE_MAX	6	/* entries one event can produce */
#define GATE_TIMELINE_LEN	80

struct gate_out {
	bool recording;			/* may audio from this block on be stored */
	unsigned actions;		/* enum gate_action bits */
	unsigned prompt_seq;		/* with PLAY_PROMPT */
	enum gate_outcome outcome;
	int ntimeline;
	/* "T=<ms since answer> <event> [key=value...]"; before answer T=0 phase=alerting */
	char timeline[GATE_TIMELINE_MAX][GATE_TIMELINE_LEN];
};

struct gate {
	const struct policy_rule *rule;	/* NULL is taken as announcement = none */
	enum gate_state state;
	enum gate_outcome outcome;
	unsigned pause;			/* enum gate_pause bits */
	uint64_t now_ms;		/* latest time seen */
	uint64_t answer_ms;
	uint64_t verify_deadline_ms;	/* VERIFYING: detection counts up to and at this time */
	uint64_t unknown_deadline_ms;	/* PAY_UNKNOWN: resumes at this time */
	unsigned prompt_seq;		/* of the playback in progress */
	bool answered;
	bool prompt_playing;
	bool prompt_done;		/* played whole during alerting / detected before answer */
	bool started;			/* START_RECORDING given */
	bool stop_given;		/* STOP_RECORDING given */
};

/* A call begins (SETUP) under rule. */
void gate_init(struct gate *g, const struct policy_rule *rule, uint64_t now_ms);

/* Handle one event; out is overwritten with the decisions it leads to. */
void gate_event(struct gate *g, const struct gate_event *ev, struct gate_out *out);

/* May audio of this block be stored? */
bool gate_recording(const struct gate *g);

const char *gate_state_name(enum gate_state s);
const char *gate_outcome_name(enum gate_outcome o);
const char *gate_event_name(enum gate_event_type t);

/*
 * Per line (a rule, or a rule and trunk, as the engine chooses): consecutive
 * unannounced calls. Pure counter, the engine keeps one per line.
 */
struct policy_line_state {
	unsigned long unannounced_in_a_row;
	unsigned long unannounced_total;
	unsigned long announced_total;
	bool alarm;			/* raised and not yet cleared by an announced call */
};

/*
 * Count a call's outcome. Returns true exactly when the alarm goes up: the
 * rule's unannounced_alarm_after-th unannounced call in a row (0 = never).
 * An announced call (RECORDED, STOPPED_AT_TRANSFER) resets the run and clears
 * the alarm; other outcomes (not answered, ended during the announcement,
 * pending) prove nothing and change nothing.
 */
bool policy_line_update(struct policy_line_state *s, const struct policy_rule *rule,
			enum gate_outcome outcome);

/*
 * Agent payment codes (payment_pause_code / payment_resume_code), fed one
 * digit at a time as the engine's detector hears them from the PBX side.
 * Keeps at most the last POLICY_CODE_MAX - 1 digits (never more than the
 * longest code) and forgets them at a match, at a pause longer than
 * interdigit_ms, and on code_matcher_wipe().
 */
#define CODE_MATCHER_INTERDIGIT_MS	3000

struct code_matcher {
	const char *pause, *resume;	/* the rule's codes; "" = none */
	size_t keep;			/* the longest code's length */
	char buf[POLICY_CODE_MAX];	/* SECRET: the last digits, at most keep */
	size_t len;
	uint64_t last_ms;
	unsigned interdigit_ms;
};

void code_matcher_init(struct code_matcher *m, const struct policy_rule *rule, unsigned interdigit_ms);

/*
 * One digit heard at now_ms. Returns GATE_EV_PAYMENT_PAUSE or
 * GATE_EV_PAYMENT_RESUME when a code completes (feed it to the gate with
 * source GATE_PAY_AGENT_CODE), else GATE_EV_NONE.
 */
enum gate_event_type code_matcher_feed(struct code_matcher *m, char digit, uint64_t now_ms);

/* Time passes: forget digits older than the inter-digit timeout. */
void code_matcher_tick(struct code_matcher *m, uint64_t now_ms);

/* Forget every digit held (end of call). */
void code_matcher_wipe(struct code_matcher *m);

#endif
