// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunksim's policy scenarios (docs/synthetic-trunk.md, "Scenarios"): what
 * the carrier and the PBX do on each call, phase by phase, with real Q.931
 * from libpri on both far ends, and which phases a recording must hold
 * (`stored`) or must not (`absent`).
 *
 * Every call of a run follows the same scenario. All scenario calls are
 * inbound (the carrier calls, the PBX answers), except the consultation calls
 * the PBX places itself. Phase boundaries follow causality where trunkrecd
 * gives a signal back (HOLD ACKNOWLEDGE, a relayed NOTIFY, the end of the
 * prompt it plays, the control socket's "ok"): audio that must not be stored
 * starts only once trunkrecd has certainly seen the event. Between an event
 * and that signal both far ends send noise only, in no phase.
 *
 * Thread: trunksim's one thread.
 */
#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "tools/trunksim/trunksim.h"

/*
 * Frequency plan: the same for every call. Multiples of 50 Hz, so 12.5 Hz
 * off the call-identity grid (312.5 + 25k); 40 Hz or more from every DTMF
 * tone; 100 Hz or more apart among the frequencies one side of one call uses.
 */
#define F_TALK_C	400	/* carrier (caller) talk */
#define F_TALK_P	500	/* PBX (agent) talk */
#define F_HELD_C	600	/* caller's side talk while held */
#define F_AFTER_P	1050	/* PBX talk after hold, payment, announcement … */
#define F_AFTER_C	1100	/* caller talk after … */
#define F_UPDATE_P	1550	/* PBX after a connected-line update */
#define F_UPDATE_C	1750	/* caller after a connected-line update */
#define F_MOH1		1800	/* music on hold: a chord */
#define F_MOH2		2300
#define F_MOH3		2900
#define F_PREANN_C	2000	/* caller talking over the announcement */
#define F_REPLACED_P	2100	/* PBX talk that trunkrecd's prompt replaces */
#define F_CONSULT_C	2400	/* third party on the consultation call */
#define F_CONSULT_P	2500	/* agent on the consultation call */
#define F_IVR_C		2600	/* the payment IVR */
#define F_XFER_C	2800	/* caller after the transfer */
#define F_XFER_3P	3000	/* third party after the transfer */
#define F_PAY_C		3200	/* caller speaking during the payment */
#define F_PAY_P		3300	/* agent during the payment */

#define SEG		50	/* ticks: one second of a phase */
#define FALLBACK	50	/* ticks to wait for a relayed signal before going on without it */
#define SETTLE		10	/* ticks of noise after an in-band code, for the detector */
#define ACK_TIMEOUT	250	/* ticks to wait for an acknowledgement (libpri's own timers are 4 s) */
#define CARD_16		"4111111111111111"	/* a well-known test card number */
#define CARD_8		"41111111"
#define NUM_THIRD_PARTY	"5550170"
#define NUM_PAYMENT_IVR	"5550150"
#define NUM_DEFLECT_TO	"5550177"
#define NUM_CONNECTED	"5550199"
#define STEP_DONE	99
#define STEP_PREAMBLE	50	/* the PBX's announcement before the script */
#define STEP_PREAMBLE_DONE 51

static const char *const names[SCEN_COUNT] = {
	[SCEN_BASIC] = "basic",
	[SCEN_ANNOUNCE_PRESENT] = "announce-present",
	[SCEN_ANNOUNCE_ABSENT] = "announce-absent",
	[SCEN_ANNOUNCE_TRUNCATED] = "announce-truncated",
	[SCEN_ANNOUNCE_PLAY] = "announce-play",
	[SCEN_HOLD] = "hold",
	[SCEN_HOLD_OTHER_TS] = "hold-other-ts",
	[SCEN_NOTIFY_HOLD] = "notify-hold",
	[SCEN_ECT] = "ect",
	[SCEN_TRANSFER_ON_DISCONNECT] = "transfer-on-disconnect",
	[SCEN_DEFLECT] = "deflect",
	[SCEN_CONNECTED_LINE] = "connected-line",
	[SCEN_PAYMENT_COMMAND] = "payment-command",
	[SCEN_PAYMENT_AGENT_CODE] = "payment-agent-code",
	[SCEN_PAYMENT_IVR] = "payment-ivr",
	[SCEN_CARD_DIGITS] = "card-digits",
};

int scen_parse(const char *name)
{
	for (int i = 0; i < SCEN_COUNT; i++)
		if (!strcmp(name, names[i]))
			return i;
	return -1;
}

const char *scen_name(enum sim_scenario s)
{
	return s < SCEN_COUNT ? names[s] : "?";
}

bool scen_needs_consult(enum sim_scenario s)
{
	return s == SCEN_ECT || s == SCEN_TRANSFER_ON_DISCONNECT || s == SCEN_PAYMENT_IVR;
}

bool scen_needs_prompt(enum sim_scenario s)
{
	return s == SCEN_ANNOUNCE_PRESENT || s == SCEN_ANNOUNCE_TRUNCATED || s == SCEN_ANNOUNCE_PLAY ||
	       s == SCEN_ANNOUNCE_ABSENT;
}

/* The PBX announces the call before the script (--prompt with a scenario that is not about announcing). */
static bool preamble(struct sim *sim)
{
	return sim->opt.prompt_path && sim->opt.scenario != SCEN_BASIC && !scen_needs_prompt(sim->opt.scenario) &&
	       sim->opt.scenario != SCEN_DEFLECT;
}

/* ---- phases ---- */

static double tone_level_db(double amp)
{
	/* dsp.h's scale: a full-scale sine is -3.01 dBFS */
	return 20.0 * log10(amp / 32768.0) - 3.01;
}

/* Side's phase is over: its stream plays noise, in no phase, from the next block. */
static void phase_close(struct sim *sim, struct simcall *c, enum sim_end side)
{
	static const struct sim_sound noise = { .kind = SIM_SOUND_NOISE };
	int k = c->cur_phase[side];

	if (k >= 0 && !c->phase[k].end)
		c->phase[k].end = sim_tick(sim) + 1;
	c->cur_phase[side] = -1;
	if (c->stream[side])
		sim_stream_set(c->stream[side], &noise, -1);
}

/* From the next block on, side plays snd as phase name. */
static void phase_begin(struct sim *sim, struct simcall *c, enum sim_end side, const char *name,
			const struct sim_sound *snd, enum sim_expect expect, bool relay)
{
	struct sim_phase *ph;

	phase_close(sim, c, side);
	if (c->nphase == SIM_MAX_PHASES) {
		sim_set_result(c, "failed:too-many-phases");
		return;
	}
	ph = &c->phase[c->nphase];
	*ph = (struct sim_phase){ .side = side, .start = sim_tick(sim) + 1, .expect = expect, .relay = relay };
	snprintf(ph->name, sizeof(ph->name), "%s", name);
	if (snd->kind == SIM_SOUND_TONE) {
		ph->freq = snd->freq[0];
		ph->level_db = tone_level_db(snd->amp);
	} else if (snd->kind == SIM_SOUND_DTMF) {
		ph->dtmf = true;
		ph->level_db = tone_level_db(5000.0);
	}
	c->cur_phase[side] = c->nphase;
	if (c->stream[side])
		sim_stream_set(c->stream[side], snd, c->nphase);
	c->nphase++;
}

static void tone(struct sim *sim, struct simcall *c, enum sim_end side, const char *name, double f,
		 enum sim_expect expect, bool relay)
{
	struct sim_sound snd = sim_sound_tone(f, 0, 0);

	phase_begin(sim, c, side, name, &snd, expect, relay);
}

static void dtmf(struct sim *sim, struct simcall *c, enum sim_end side, const char *name, const char *digits)
{
	struct sim_sound snd = sim_sound_dtmf(digits);

	/* DTMF is relayed bit-exact like any audio; it must never reach a recording. */
	phase_begin(sim, c, side, name, &snd, SIM_ABSENT, true);
}

static void settle(struct sim *sim, struct simcall *c)
{
	phase_close(sim, c, END_CARRIER);
	phase_close(sim, c, END_PBX);
}

static void step(struct sim *sim, struct simcall *c, int n)
{
	c->step = n;
	c->step_tick = sim_tick(sim);
}

static uint64_t since(struct sim *sim, struct simcall *c)
{
	return sim_tick(sim) - c->step_tick;
}

/* The script is over: the caller hangs up. */
static void finish(struct sim *sim, struct simcall *c)
{
	settle(sim, c);
	c->hangs_up = END_CARRIER;
	sim_leg_hangup(sim, c, END_CARRIER, PRI_CAUSE_NORMAL_CLEARING);
	step(sim, c, STEP_DONE);
}

static void fail(struct sim *sim, struct simcall *c, const char *why)
{
	sim_event(sim, c, "FAIL %s", why);
	sim_set_result(c, "failed:%s", why);
}

/* Both sides talk, stored: the normal end of most scripts. */
static void talk_after(struct sim *sim, struct simcall *c)
{
	tone(sim, c, END_CARRIER, "talk-after", F_AFTER_C, SIM_STORED, true);
	tone(sim, c, END_PBX, "talk-after", F_AFTER_P, SIM_STORED, true);
}

/* ---- plan ---- */

void scen_plan(struct sim *sim, struct simcall *c)
{
	enum sim_scenario s = sim->opt.scenario;

	if (s == SCEN_BASIC)
		return;
	/* Scenario calls come in from the carrier; the caller hangs up at the end of the script. */
	c->outbound = false;
	snprintf(c->calling, sizeof(c->calling), "5550100%04d", c->id);
	snprintf(c->called, sizeof(c->called), "2%03d", c->id % 1000);
	c->hangs_up = END_CARRIER;
	if (s == SCEN_ANNOUNCE_ABSENT || s == SCEN_ANNOUNCE_TRUNCATED || s == SCEN_DEFLECT)
		c->expect_recording = "no";
	if (s == SCEN_DEFLECT)
		c->connect_optional = true;
	if (s == SCEN_ANNOUNCE_PLAY) {
		/* The caller hears trunkrecd's prompt before anything the PBX says. */
		c->leg[END_CARRIER].rx.expect = sim->prompt_alaw;
		c->leg[END_CARRIER].rx.nexpect = sim->prompt_blocks;
	}
	if (scen_needs_consult(s)) {
		struct simcall *k = &sim->calls[sim->opt.calls + c->id - 1];

		k->id = sim->opt.calls + c->id;
		k->pair = c->pair;
		k->outbound = true;
		k->consult = true;
		k->partner = c;
		c->partner = k;
		k->hold_ticks = c->hold_ticks;
		k->hangs_up = END_CARRIER;
		k->hangup_by = -1;
		k->freq[END_CARRIER] = sim_call_freq(k->id, END_CARRIER);
		k->freq[END_PBX] = sim_call_freq(k->id, END_PBX);
		snprintf(k->calling, sizeof(k->calling), "4%04d", c->id);
		snprintf(k->called, sizeof(k->called), "%s", s == SCEN_PAYMENT_IVR ? NUM_PAYMENT_IVR : NUM_THIRD_PARTY);
		for (int e = 0; e < 2; e++)
			k->res[e].delay_min = k->res[e].delay_max = -1;
		k->cur_phase[0] = k->cur_phase[1] = -1;
		/* Whether the consultation call is recorded is the rules' business; what is absent is checked. */
		k->expect_recording = "any";
	}
}

/* ---- start of the script ---- */

static void start(struct sim *sim, struct simcall *c)
{
	enum sim_scenario s = sim->opt.scenario;
	struct sim_sound snd;

	bool announced = c->step == STEP_PREAMBLE_DONE;

	c->record_from_tick = sim_tick(sim) + 1;
	step(sim, c, 1);
	if (preamble(sim) && !announced) {
		/* The announcement as a verifying trunkrecd wants it; the caller listens (noise only). */
		snd = (struct sim_sound){ .kind = SIM_SOUND_PCM, .pcm = sim->prompt, .pcm_len = sim->prompt_len };
		phase_begin(sim, c, END_PBX, "prompt", &snd, SIM_ANY, true);
		phase_close(sim, c, END_CARRIER);
		c->record_from_tick = 0;
		step(sim, c, STEP_PREAMBLE);
		return;
	}
	switch (s) {
	case SCEN_BASIC:
		tone(sim, c, END_CARRIER, "talk", c->freq[END_CARRIER], SIM_STORED, true);
		tone(sim, c, END_PBX, "talk", c->freq[END_PBX], SIM_STORED, true);
		return;
	case SCEN_ANNOUNCE_PRESENT:
	case SCEN_ANNOUNCE_TRUNCATED:
		snd = (struct sim_sound){ .kind = SIM_SOUND_PCM, .pcm = sim->prompt, .pcm_len = sim->prompt_len };
		if (s == SCEN_ANNOUNCE_TRUNCATED)
			snd.pcm_len = sim->prompt_len * 2 / 5;
		/* Whether the prompt itself is stored is up to trunkrecd. */
		phase_begin(sim, c, END_PBX, s == SCEN_ANNOUNCE_TRUNCATED ? "prompt-truncated" : "prompt", &snd,
			    SIM_ANY, true);
		tone(sim, c, END_CARRIER, "talk-over-prompt", F_PREANN_C, SIM_ABSENT, true);
		c->record_from_tick = 0;
		return;
	case SCEN_ANNOUNCE_ABSENT:
		tone(sim, c, END_CARRIER, "talk", F_TALK_C, SIM_ABSENT, true);
		tone(sim, c, END_PBX, "talk", F_TALK_P, SIM_ABSENT, true);
		c->record_from_tick = 0;
		return;
	case SCEN_ANNOUNCE_PLAY:
		tone(sim, c, END_CARRIER, "talk-over-prompt", F_PREANN_C, SIM_ABSENT, true);
		/* trunkrecd puts its prompt on the caller's line instead: this never reaches the caller. */
		tone(sim, c, END_PBX, "talk-replaced", F_REPLACED_P, SIM_ABSENT, false);
		c->record_from_tick = 0;
		return;
	default:
		tone(sim, c, END_CARRIER, "talk", F_TALK_C, SIM_STORED, true);
		tone(sim, c, END_PBX, "talk", F_TALK_P, SIM_STORED, true);
		if (s == SCEN_DEFLECT)
			c->record_from_tick = 0;
		return;
	}
}

bool scen_before_answer(struct sim *sim, struct simcall *c)
{
	struct pri_party_redirecting d;
	int rc;

	if (sim->opt.scenario != SCEN_DEFLECT || c->consult)
		return false;
	/* The PBX deflects the ringing call to an external number instead of answering. */
	memset(&d, 0, sizeof(d));
	d.to.number.valid = 1;
	d.to.number.plan = PRI_UNKNOWN;
	d.to.number.presentation = PRES_ALLOWED_USER_NUMBER_NOT_SCREENED;
	snprintf(d.to.number.str, sizeof(d.to.number.str), "%s", NUM_DEFLECT_TO);
	d.from.number.valid = 1;
	d.from.number.plan = PRI_UNKNOWN;
	d.from.number.presentation = PRES_ALLOWED_USER_NUMBER_NOT_SCREENED;
	snprintf(d.from.number.str, sizeof(d.from.number.str), "%s", c->called);
	d.count = 1;
	d.reason = PRI_REDIR_DEFLECTION;
	rc = pri_reroute_call(sim_pri(sim, c, END_PBX), c->leg[END_PBX].call, NULL, &d, 2);
	sim_event(sim, c, "pbx-deflects-to-%s%s", NUM_DEFLECT_TO, rc ? "-rc-failed" : "");
	if (rc)
		fail(sim, c, "pri_reroute_call");
	step(sim, c, 10);
	return true;
}

void scen_connected(struct sim *sim, struct simcall *c, enum sim_end e)
{
	struct simcall *m = c->partner;
	enum sim_scenario s = sim->opt.scenario;
	enum sim_end answering = c->outbound ? END_CARRIER : END_PBX;

	if (e != answering)
		return;
	if (!c->consult) {
		start(sim, c);
		return;
	}
	/* The carrier answered the consultation call. */
	c->record_from_tick = sim_tick(sim) + 1;
	sim_event(sim, m, "consultation-answered");
	if (s == SCEN_PAYMENT_IVR) {
		tone(sim, c, END_CARRIER, "ivr", F_IVR_C, SIM_ABSENT, true);
		dtmf(sim, c, END_PBX, "card-digits-to-ivr", CARD_16);
	} else {
		tone(sim, c, END_CARRIER, "consult-third-party", F_CONSULT_C, SIM_ANY, true);
		tone(sim, c, END_PBX, "consult-agent", F_CONSULT_P, SIM_ANY, true);
	}
	if (m->step == 3)
		step(sim, m, 4);
}

/* ---- transitions shared by event and timeout paths ---- */

static void pbx_hold(struct sim *sim, struct simcall *c)
{
	int rc = pri_hold(sim_pri(sim, c, END_PBX), c->leg[END_PBX].call);

	sim_event(sim, c, "pbx-hold%s", rc ? "-rc-failed" : "");
	settle(sim, c);
	step(sim, c, 2);
	if (rc) {
		fail(sim, c, "pri_hold");
		finish(sim, c);
	}
}

static void pbx_retrieve(struct sim *sim, struct simcall *c, int next)
{
	int ts = sim->opt.scenario == SCEN_HOLD_OTHER_TS ? sim_pick_ts(sim, c, END_PBX) : 0;
	int rc;

	if (sim->opt.scenario == SCEN_HOLD_OTHER_TS && (!ts || ts == c->leg[END_PBX].first_ts))
		fail(sim, c, "no-other-ts");
	rc = pri_retrieve(sim_pri(sim, c, END_PBX), c->leg[END_PBX].call, ts);
	sim_event(sim, c, "pbx-retrieve-ts-%d%s", ts, rc ? "-rc-failed" : "");
	settle(sim, c);
	step(sim, c, next);
	if (rc) {
		fail(sim, c, "pri_retrieve");
		finish(sim, c);
	}
}

static void on_hold_ack(struct sim *sim, struct simcall *c)
{
	enum sim_scenario s = sim->opt.scenario;

	/*
	 * HOLD ACKNOWLEDGE frees the PBX's B-channel: it sends and hears nothing
	 * until retrieved. Blocks in flight to it are not lost: its check starts
	 * over, anywhere in the caller's stream, once it has a channel again.
	 */
	sim_leg_bind(sim, c, END_PBX, 0);
	sim_rx_cross(c, END_PBX, c->stream[END_CARRIER]);
	tone(sim, c, END_CARRIER, "held-side-talk", F_HELD_C, SIM_ABSENT, false);
	phase_close(sim, c, END_PBX);
	step(sim, c, 3);
	if (scen_needs_consult(s)) {
		int rc = sim_call_place(sim, c->partner);

		sim_event(sim, c, "consultation-to-%s%s", c->partner->called, rc ? "-failed" : "");
		if (rc) {
			fail(sim, c, rc == -EBUSY ? "no-ts-for-consultation" : "consultation-setup");
			finish(sim, c);
		}
	}
}

static void on_retrieve_ack(struct sim *sim, struct simcall *c, int channel)
{
	int ts = DCHAN_BCHANNEL(channel);

	sim_event(sim, c, "retrieve-ack-ts-%d", ts);
	if (!ts) {
		fail(sim, c, "retrieve-ack-without-channel");
		finish(sim, c);
		return;
	}
	if (sim->pairs[c->pair].end[END_PBX].by_ts[ts]) {
		fail(sim, c, "retrieved-to-busy-ts");
		finish(sim, c);
		return;
	}
	/* The call may come back on another timeslot: the audio follows it. */
	sim_leg_bind(sim, c, END_PBX, ts);
	talk_after(sim, c);
	step(sim, c, c->step + 1);
}

/* NOTIFY remote hold reached trunkrecd: music on hold and the caller's side talk. */
static void notify_held(struct sim *sim, struct simcall *c)
{
	struct sim_sound moh = sim_sound_tone(F_MOH1, F_MOH2, F_MOH3);

	phase_begin(sim, c, END_PBX, "music-on-hold", &moh, SIM_ABSENT, true);
	tone(sim, c, END_CARRIER, "held-side-talk", F_HELD_C, SIM_ABSENT, true);
	step(sim, c, 3);
}

/* ECT or transfer on disconnect was carried out: the caller and the third party talk, unrecorded. */
static void transferred(struct sim *sim, struct simcall *c)
{
	struct simcall *k = c->partner;

	if (c->leg[END_CARRIER].ended || k->leg[END_CARRIER].ended) {
		fail(sim, c, c->leg[END_CARRIER].ended ? "caller-released" : "third-party-released");
		finish(sim, c);
		if (!k->leg[END_CARRIER].ended)
			sim_leg_hangup(sim, k, END_CARRIER, PRI_CAUSE_NORMAL_CLEARING);
		return;
	}
	sim_event(sim, c, "transferred");
	tone(sim, c, END_CARRIER, "post-transfer", F_XFER_C, SIM_ABSENT, true);
	tone(sim, k, END_CARRIER, "post-transfer", F_XFER_3P, SIM_ABSENT, true);
	/* Each hears the other now, byte for byte, through trunkrecd's port A. */
	sim_rx_cross(c, END_CARRIER, k->stream[END_CARRIER]);
	sim_rx_cross(k, END_CARRIER, c->stream[END_CARRIER]);
	step(sim, c, 7);
}

static void hangup_both_carrier_legs(struct sim *sim, struct simcall *c)
{
	struct simcall *k = c->partner;

	/* When one party hangs up, trunkrecd may clear the other: either order is right. */
	c->leg[END_CARRIER].release_ok = k->leg[END_CARRIER].release_ok = true;
	settle(sim, k);
	finish(sim, c);
	k->hangs_up = END_CARRIER;
	sim_leg_hangup(sim, k, END_CARRIER, PRI_CAUSE_NORMAL_CLEARING);
}

/* ---- per tick ---- */

static void tick_consult(struct sim *sim, struct simcall *c, uint64_t t)
{
	enum sim_scenario s = sim->opt.scenario;
	struct simcall *k = c->partner;

	switch (c->step) {
	case 1:
		if (t >= SEG)
			pbx_hold(sim, c);
		return;
	case 2:
		if (t >= ACK_TIMEOUT) {
			fail(sim, c, "no-hold-ack");
			finish(sim, c);
		}
		return;
	case 3:	/* consultation call placed, not answered yet */
		if (t >= ACK_TIMEOUT || k->state == CALL_DONE) {
			fail(sim, c, "consultation-not-answered");
			finish(sim, c);
		}
		return;
	case 4:	/* consultation call up */
		if (s == SCEN_PAYMENT_IVR) {
			if (t < strlen(CARD_16) * (SIM_DTMF_ON + SIM_DTMF_OFF) + SETTLE)
				return;
			/* The payment is done: the PBX clears the IVR call, then takes the caller back. */
			settle(sim, k);
			k->leg[END_CARRIER].release_ok = true;
			k->hangs_up = END_PBX;
			sim_leg_hangup(sim, k, END_PBX, PRI_CAUSE_NORMAL_CLEARING);
			sim_event(sim, c, "ivr-call-cleared");
			step(sim, c, 6);
			return;
		}
		if (t < SEG)
			return;
		settle(sim, c);
		settle(sim, k);
		c->leg[END_PBX].release_ok = k->leg[END_PBX].release_ok = true;
		if (s == SCEN_ECT) {
			int rc = pri_channel_bridge(c->leg[END_PBX].call, k->leg[END_PBX].call);

			sim_event(sim, c, "pbx-ect-request%s", rc ? "-rc-failed" : "");
			if (rc)
				fail(sim, c, "pri_channel_bridge");
		} else {
			/* Transfer on disconnect: hang up the active call while the other is held. */
			sim_event(sim, c, "pbx-hangs-up-active-with-held");
			k->hangs_up = END_PBX;
			sim_leg_hangup(sim, k, END_PBX, PRI_CAUSE_NORMAL_CLEARING);
		}
		step(sim, c, 5);
		return;
	case 5:	/* waiting for trunkrecd to carry the transfer out */
		if (c->leg[END_PBX].released_by_peer && k->leg[END_PBX].ended) {
			transferred(sim, c);
		} else if (t >= ACK_TIMEOUT) {
			fail(sim, c, s == SCEN_ECT ? "ect-not-executed" : "tod-not-executed");
			hangup_both_carrier_legs(sim, c);
		}
		return;
	case 6:	/* IVR call clearing */
		if (k->leg[END_PBX].gone || k->state == CALL_DONE) {
			pbx_retrieve(sim, c, 8);
		} else if (t >= ACK_TIMEOUT) {
			fail(sim, c, "ivr-call-not-cleared");
			finish(sim, c);
		}
		return;
	case 7:
		if (t >= 2 * SEG)
			hangup_both_carrier_legs(sim, c);
		return;
	case 8:
		if (t >= ACK_TIMEOUT) {
			fail(sim, c, "no-retrieve-ack");
			finish(sim, c);
		}
		return;
	case 9:
		if (t >= SEG)
			finish(sim, c);
		return;
	}
}

static void control(struct sim *sim, struct simcall *c, const char *verb)
{
	char cmd[64], answer[128];
	int rc;

	/* The caller's number: the agent desktop knows the call by its external party. */
	snprintf(cmd, sizeof(cmd), "%s number=%s", verb, c->calling);
	rc = sim_control(sim->opt.control_path, cmd, 1000, answer, sizeof(answer));
	sim_event(sim, c, "control-%s-%s", verb, rc ? "failed" : "ok");
	if (rc) {
		fprintf(stderr, "trunksim: call %d: control socket %s: '%s': %s\n", c->id, sim->opt.control_path,
			cmd, answer[0] ? answer : strerror(-rc));
		fail(sim, c, rc == -EPROTO ? "control-error" : "control-socket");
	}
}

void scen_tick(struct sim *sim, struct simcall *c, uint64_t tick)
{
	enum sim_scenario s = sim->opt.scenario;
	uint64_t t;
	size_t digits16 = strlen(CARD_16) * (SIM_DTMF_ON + SIM_DTMF_OFF);

	(void)tick;
	if (c->consult || c->step == 0 || c->step == STEP_DONE)
		return;
	t = since(sim, c);
	if (c->step == STEP_PREAMBLE) {
		if (t >= (sim->prompt_len + SIMCARD_BLOCK - 1) / SIMCARD_BLOCK) {
			step(sim, c, STEP_PREAMBLE_DONE);
			start(sim, c);
		}
		return;
	}
	/* Waiting for the carrier to see the deflection (the PBX never answers). */
	if (c->step == 10) {
		if (t >= ACK_TIMEOUT) {
			fail(sim, c, "deflection-not-forwarded");
			finish(sim, c);
		}
		return;
	}
	switch (s) {
	case SCEN_BASIC:
	case SCEN_DEFLECT:
	case SCEN_COUNT:
		return;
	case SCEN_ANNOUNCE_PRESENT:
	case SCEN_ANNOUNCE_TRUNCATED:
	case SCEN_ANNOUNCE_ABSENT: {
		uint64_t full = (sim->prompt_len + SIMCARD_BLOCK - 1) / SIMCARD_BLOCK, prompt = full;

		if (s == SCEN_ANNOUNCE_TRUNCATED)
			prompt = (sim->prompt_len * 2 / 5 + SIMCARD_BLOCK - 1) / SIMCARD_BLOCK;
		if (c->step == 1 && t >= prompt) {
			enum sim_expect after = s == SCEN_ANNOUNCE_PRESENT ? SIM_STORED : SIM_ABSENT;

			if (s != SCEN_ANNOUNCE_ABSENT) {
				tone(sim, c, END_CARRIER, "talk", F_TALK_C, after, true);
				tone(sim, c, END_PBX, "talk", F_TALK_P, after, true);
			}
			if (s == SCEN_ANNOUNCE_PRESENT)
				c->record_from_tick = sim_tick(sim) + 1;
			step(sim, c, 2);
		} else if (c->step == 2 && t >= 2 * SEG + (s == SCEN_ANNOUNCE_TRUNCATED ? full : 0)) {
			/* A truncated call outlasts the whole prompt: its line must count it unannounced. */
			finish(sim, c);
		}
		return;
	}
	case SCEN_ANNOUNCE_PLAY: {
		const struct sim_rx *rx = &c->leg[END_CARRIER].rx;

		if (c->step == 1 && (rx->expect_done_tick || t >= sim->prompt_blocks + FALLBACK)) {
			/* The caller heard the whole prompt: from now on both talk, recorded. */
			if (!rx->expect_done_tick)
				fail(sim, c, rx->expect_next ? "prompt-incomplete" : "prompt-not-received");
			else
				sim_event(sim, c, "prompt-heard-%u-blocks", rx->nexpect);
			tone(sim, c, END_CARRIER, "talk", F_TALK_C, SIM_STORED, true);
			tone(sim, c, END_PBX, "talk", F_TALK_P, SIM_STORED, true);
			c->record_from_tick = sim_tick(sim) + 1;
			step(sim, c, 2);
		} else if (c->step == 2 && t >= 2 * SEG) {
			finish(sim, c);
		}
		return;
	}
	case SCEN_HOLD:
	case SCEN_HOLD_OTHER_TS:
		if (c->step == 1 && t >= SEG)
			pbx_hold(sim, c);
		else if ((c->step == 2 || c->step == 4) && t >= ACK_TIMEOUT) {
			fail(sim, c, c->step == 2 ? "no-hold-ack" : "no-retrieve-ack");
			finish(sim, c);
		} else if (c->step == 3 && t >= SEG)
			pbx_retrieve(sim, c, 4);
		else if (c->step == 5 && t >= SEG)
			finish(sim, c);
		return;
	case SCEN_NOTIFY_HOLD:
		if (c->step == 1 && t >= SEG) {
			pri_notify(sim_pri(sim, c, END_PBX), c->leg[END_PBX].call, c->leg[END_PBX].ts, PRI_NOTIFY_REMOTE_HOLD);
			sim_event(sim, c, "pbx-notify-remote-hold");
			settle(sim, c);
			step(sim, c, 2);
		} else if (c->step == 2 && t >= FALLBACK) {
			fail(sim, c, "notify-hold-not-relayed");
			notify_held(sim, c);
		} else if (c->step == 3 && t >= SEG) {
			pri_notify(sim_pri(sim, c, END_PBX), c->leg[END_PBX].call, c->leg[END_PBX].ts,
				   PRI_NOTIFY_REMOTE_RETRIEVAL);
			sim_event(sim, c, "pbx-notify-remote-retrieval");
			settle(sim, c);
			step(sim, c, 4);
		} else if (c->step == 4 && t >= FALLBACK) {
			fail(sim, c, "notify-retrieval-not-relayed");
			talk_after(sim, c);
			step(sim, c, 5);
		} else if (c->step == 5 && t >= SEG) {
			finish(sim, c);
		}
		return;
	case SCEN_CONNECTED_LINE:
		if (c->step == 1 && t >= SEG) {
			struct pri_party_connected_line cl;
			int rc;

			memset(&cl, 0, sizeof(cl));
			cl.id.number.valid = 1;
			cl.id.number.plan = PRI_UNKNOWN;
			cl.id.number.presentation = PRES_ALLOWED_USER_NUMBER_NOT_SCREENED;
			snprintf(cl.id.number.str, sizeof(cl.id.number.str), "%s", NUM_CONNECTED);
			rc = pri_connected_line_update(sim_pri(sim, c, END_PBX), c->leg[END_PBX].call, &cl);
			sim_event(sim, c, "pbx-connected-line-%s%s", NUM_CONNECTED, rc ? "-rc-failed" : "");
			if (rc)
				fail(sim, c, "pri_connected_line_update");
			settle(sim, c);
			step(sim, c, 2);
		} else if (c->step == 2 && t >= SETTLE) {
			/* No acknowledgement exists: give trunkrecd SETTLE ticks to see the FACILITY. */
			tone(sim, c, END_CARRIER, "after-update", F_UPDATE_C, SIM_ABSENT, true);
			tone(sim, c, END_PBX, "after-update", F_UPDATE_P, SIM_ABSENT, true);
			step(sim, c, 3);
		} else if (c->step == 3 && t >= 2 * SEG) {
			finish(sim, c);
		}
		return;
	case SCEN_CARD_DIGITS:
		if (c->step == 1 && t >= SEG) {
			/* The agent keeps talking; only the caller's digits must go. */
			dtmf(sim, c, END_CARRIER, "card-digits", CARD_8);
			step(sim, c, 2);
		} else if (c->step == 2 && t >= strlen(CARD_8) * (SIM_DTMF_ON + SIM_DTMF_OFF)) {
			tone(sim, c, END_CARRIER, "talk-after", F_AFTER_C, SIM_STORED, true);
			step(sim, c, 3);
		} else if (c->step == 3 && t >= SEG) {
			finish(sim, c);
		}
		return;
	case SCEN_PAYMENT_COMMAND:
		if (c->step == 1 && t >= SEG) {
			settle(sim, c);
			/* "ok" means the pause is in effect: the digits start after it. */
			control(sim, c, "pause");
			dtmf(sim, c, END_CARRIER, "card-digits", CARD_16);
			tone(sim, c, END_PBX, "agent-during-payment", F_PAY_P, SIM_ABSENT, true);
			step(sim, c, 2);
		} else if (c->step == 2 && t >= digits16) {
			tone(sim, c, END_CARRIER, "payment-speech", F_PAY_C, SIM_ABSENT, true);
			step(sim, c, 3);
		} else if (c->step == 3 && t >= SEG) {
			settle(sim, c);
			control(sim, c, "resume");
			talk_after(sim, c);
			step(sim, c, 4);
		} else if (c->step == 4 && t >= SEG) {
			finish(sim, c);
		}
		return;
	case SCEN_PAYMENT_AGENT_CODE:
		if (c->step == 1 && t >= SEG) {
			phase_close(sim, c, END_CARRIER);
			dtmf(sim, c, END_PBX, "agent-code-pause", "*7");
			step(sim, c, 2);
		} else if (c->step == 2 && t >= 2 * (SIM_DTMF_ON + SIM_DTMF_OFF) + SETTLE) {
			dtmf(sim, c, END_CARRIER, "card-digits", CARD_16);
			tone(sim, c, END_PBX, "agent-during-payment", F_PAY_P, SIM_ABSENT, true);
			step(sim, c, 3);
		} else if (c->step == 3 && t >= digits16) {
			tone(sim, c, END_CARRIER, "payment-speech", F_PAY_C, SIM_ABSENT, true);
			step(sim, c, 4);
		} else if (c->step == 4 && t >= SEG / 2) {
			phase_close(sim, c, END_CARRIER);
			dtmf(sim, c, END_PBX, "agent-code-resume", "*8");
			step(sim, c, 5);
		} else if (c->step == 5 && t >= 2 * (SIM_DTMF_ON + SIM_DTMF_OFF) + SETTLE) {
			talk_after(sim, c);
			step(sim, c, 6);
		} else if (c->step == 6 && t >= SEG) {
			finish(sim, c);
		}
		return;
	case SCEN_ECT:
	case SCEN_TRANSFER_ON_DISCONNECT:
	case SCEN_PAYMENT_IVR:
		tick_consult(sim, c, t);
		return;
	}
}

/* ---- events ---- */

static void carrier_facility(struct sim *sim, struct simcall *c, const pri_event *ev)
{
	const struct pri_subcommands *subs = ev->facility.subcmds;
	q931_call *rsp = ev->facility.subcall ? ev->facility.subcall : ev->facility.call;

	for (int i = 0; subs && i < subs->counter_subcmd && i < PRI_MAX_SUBCOMMANDS; i++) {
		const struct pri_subcommand *sub = &subs->subcmd[i];

		if (sub->cmd == PRI_SUBCMD_CONNECTED_LINE) {
			sim_event(sim, c, "carrier-connected-line-%.16s", sub->u.connected_line.id.number.str);
		} else if (sub->cmd == PRI_SUBCMD_REROUTING) {
			const char *to = sub->u.rerouting.deflection.to.number.str;
			int invoke = sub->u.rerouting.invoke_id;

			sim_event(sim, c, "carrier-rerouting-to-%.16s", to);
			if (strcmp(to, NUM_DEFLECT_TO)) {
				fail(sim, c, "deflected-to-wrong-number");
				pri_rerouting_rsp(sim_pri(sim, c, END_CARRIER), rsp, invoke, PRI_REROUTING_RSP_INVALID_NUMBER);
				finish(sim, c);
				return;
			}
			/*
			 * The network takes the call to the new party (inside the
			 * network: nothing of it crosses the trunk) and clears the
			 * rerouted call towards the trunk.
			 */
			pri_rerouting_rsp(sim_pri(sim, c, END_CARRIER), rsp, invoke, PRI_REROUTING_RSP_OK_CLEAR);
			c->leg[END_PBX].release_ok = true;
			if (c->step == 10)
				finish(sim, c);
		}
	}
}

bool scen_event(struct sim *sim, int pair, enum sim_end e, struct simcall *c, const pri_event *ev)
{
	struct pri *pri = sim->pairs[pair].end[e].d.pri;

	switch (ev->e) {
	case PRI_EVENT_HOLD_ACK:
		if (!c || e != END_PBX)
			return false;
		sim_event(sim, c, "hold-ack");
		if (c->step == 2)
			on_hold_ack(sim, c);
		return true;
	case PRI_EVENT_HOLD_REJ:
		if (!c)
			return false;
		sim_event(sim, c, "hold-rej-%d", ev->hold_rej.cause);
		fail(sim, c, "hold-rejected");
		if (c->step != STEP_DONE)
			finish(sim, c);
		return true;
	case PRI_EVENT_RETRIEVE_ACK:
		if (!c || e != END_PBX)
			return false;
		if (c->step == 4 || c->step == 8)
			on_retrieve_ack(sim, c, ev->retrieve_ack.channel);
		return true;
	case PRI_EVENT_RETRIEVE_REJ:
		if (!c)
			return false;
		sim_event(sim, c, "retrieve-rej-%d", ev->retrieve_rej.cause);
		fail(sim, c, "retrieve-rejected");
		if (c->step != STEP_DONE)
			finish(sim, c);
		return true;
	case PRI_EVENT_NOTIFY:
		if (!c)
			return false;
		sim_event(sim, c, "%s-notify-0x%x", sim_end_name[e], (unsigned)ev->notify.info);
		if (e == END_CARRIER && sim->opt.scenario == SCEN_NOTIFY_HOLD) {
			/* trunkrecd relayed it, so it has seen it: the held audio may start. */
			if (c->step == 2 && ev->notify.info == PRI_NOTIFY_REMOTE_HOLD) {
				notify_held(sim, c);
			} else if (c->step == 4 && ev->notify.info == PRI_NOTIFY_REMOTE_RETRIEVAL) {
				talk_after(sim, c);
				step(sim, c, 5);
			}
		}
		return true;
	case PRI_EVENT_FACILITY:
		if (!c)
			return false;
		if (e == END_CARRIER)
			carrier_facility(sim, c, ev);
		else
			sim_event(sim, c, "pbx-facility");
		return true;
	case PRI_EVENT_HOLD:
		/* trunkrecd chose Q.932 HOLD towards the carrier: the network accepts it. */
		if (!c)
			return false;
		sim_event(sim, c, "%s-got-hold", sim_end_name[e]);
		pri_hold_ack(pri, c->leg[e].call);
		return true;
	case PRI_EVENT_RETRIEVE: {
		int ts = c ? c->leg[e].ts : 0;

		if (!c)
			return false;
		sim_event(sim, c, "%s-got-retrieve", sim_end_name[e]);
		if (ts)
			pri_retrieve_ack(pri, c->leg[e].call, ts);
		else
			pri_retrieve_rej(pri, c->leg[e].call, PRI_CAUSE_REQUESTED_CHAN_UNAVAIL);
		return true;
	}
	default:
		return false;
	}
}

void scen_leg_released(struct sim *sim, struct simcall *c, enum sim_end e)
{
	if (sim->opt.scenario == SCEN_BASIC)
		return;
	phase_close(sim, c, e);
	if (c->consult || c->step == STEP_DONE)
		return;
	sim_event(sim, c, "%s-released", sim_end_name[e]);
	/* The call went away under the script: the rest of it cannot run. */
	if (e == END_CARRIER || !c->leg[END_PBX].release_ok) {
		settle(sim, c);
		step(sim, c, STEP_DONE);
	}
}

/* ---- verdict ---- */

void scen_finish(struct sim *sim, struct simcall *c)
{
	for (int k = 0; k < c->nphase; k++) {
		const struct sim_phase *ph = &c->phase[k];
		uint64_t end = ph->end ? ph->end : c->hangup_tick + 1;

		if (!ph->relay)
			continue;
		if (c->ph_mismatch[k] || c->ph_lost[k])
			sim_set_result(c, "failed:passthrough-%s-%s", sim_end_name[ph->side], ph->name);
		/* A relayed phase of some length must have been heard at all. */
		if (!c->ph_compared[k] && end >= ph->start + 10 && sim->opt.scenario != SCEN_BASIC)
			sim_set_result(c, "failed:not-relayed-%s-%s", sim_end_name[ph->side], ph->name);
	}
	if (sim->opt.scenario == SCEN_ANNOUNCE_PLAY && !c->consult) {
		const struct sim_rx *rx = &c->leg[END_CARRIER].rx;

		if (rx->expect_mismatch)
			sim_set_result(c, "failed:prompt-mismatch");
		else if (rx->expect_next < rx->nexpect)
			sim_set_result(c, "failed:prompt-incomplete");
	}
}
