/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trunksim internals shared by its files:
 *  - trunksim_audio.c: what a far end sends (a sound per phase plus noise,
 *    kept in a history) and a receiver's byte-exact check of what arrived;
 *  - trunksim_prompt.c: 8 kHz mono WAV files, the synthetic prompt, the
 *    prompt as trunkrecd sends it (A-law blocks), the control-socket client;
 *  - trunksim_scenario.c: the policy scenarios (docs/synthetic-trunk.md);
 *  - trunksim.c: the card, the far ends' libpri, the calls, the reports.
 *
 * Thread: trunksim has one thread; everything here runs on it.
 */
#ifndef TRUNKREC_TOOLS_TRUNKSIM_TRUNKSIM_H
#define TRUNKREC_TOOLS_TRUNKSIM_TRUNKSIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trunks/dchan.h"
#include "trunks/simcard.h"

#define SIM_RING	256	/* blocks of history the sender keeps for the receiver's check */
#define SIM_MAX_PHASES	12	/* phases per call; index SIM_MAX_PHASES counts blocks of no phase */
#define SIM_DTMF_ON	5	/* ticks a DTMF digit sounds (100 ms) */
#define SIM_DTMF_OFF	5	/* ticks of pause after it */

/* ---- sounds and streams (trunksim_audio.c) ---- */

enum sim_sound_kind {
	SIM_SOUND_NOISE,	/* the noise alone */
	SIM_SOUND_TONE,		/* up to 3 sines (a chord) plus noise */
	SIM_SOUND_DTMF,		/* digits, SIM_DTMF_ON ticks on, SIM_DTMF_OFF off, plus noise */
	SIM_SOUND_PCM,		/* linear samples once (plus noise), then the noise alone */
};

struct sim_sound {
	enum sim_sound_kind kind;
	double freq[3];		/* TONE: 0 = unused component */
	double amp;		/* TONE: amplitude of each component */
	char digits[24];	/* DTMF */
	const int16_t *pcm;	/* PCM: borrowed, lives as long as the run */
	size_t pcm_len;
};

/* What one far end sends on one call. */
struct sim_stream {
	struct sim_sound sound;
	uint32_t sound_start;		/* block index at which the sound began */
	int phase;			/* index in the call's phase table; -1: none */
	uint64_t prng;
	uint32_t sent;			/* blocks sent; block k went out on tx_tick[k % SIM_RING] */
	uint64_t first_tick;
	uint64_t tx_tick[SIM_RING];
	int8_t tx_phase[SIM_RING];
	uint8_t ring[SIM_RING][SIMCARD_BLOCK];
	/* pass-through of this sender's blocks, per phase (receivers add here) */
	unsigned long ph_compared[SIM_MAX_PHASES + 1], ph_mismatch[SIM_MAX_PHASES + 1], ph_lost[SIM_MAX_PHASES + 1];
};

/* One far end's check of what the line delivers from a sender. */
struct sim_rx {
	struct sim_stream *from;	/* NULL: nothing to check */
	bool synced;
	bool sync_any;			/* the first block may be any block from min_index on */
	uint32_t min_index;
	uint32_t next;			/* index of the next block expected */
	int64_t delay;			/* ticks from send to delivery, last seen */
	uint64_t rx_last;		/* last tick the receiver looked at the line */
	unsigned long compared, mismatch, lost;
	int64_t delay_min, delay_max;	/* -1 when nothing matched */
	/* sim_rx_set_realign(): the offset of the sender's blocks in what arrives (-1: not found yet) */
	int offset;
	bool have_prev;
	uint8_t prev[SIMCARD_BLOCK];
	/* blocks expected before the sender's (the prompt trunkrecd plays) */
	const uint8_t *expect;		/* nexpect blocks of SIMCARD_BLOCK bytes */
	uint32_t nexpect, expect_next;
	unsigned long expect_mismatch;
	uint64_t expect_done_tick;	/* tick the last expected block arrived; 0: not yet */
};

/* Tone of far end `end` (0 carrier, 1 PBX) of call id: a 25 Hz grid from 312.5 Hz. */
double sim_call_freq(int id, int end);

/* Sender: seed from (run seed, call id, direction), no blocks yet, no sound (noise). */
void sim_stream_init(struct sim_stream *s, uint64_t seed, int id, int direction);

/* From the next block on, send this sound, counted as phase (-1: none). */
void sim_stream_set(struct sim_stream *s, const struct sim_sound *sound, int phase);

/* The sender's next block, sent on tick; kept in the history. */
void sim_stream_send(struct sim_stream *s, uint64_t tick, uint8_t *ret_block);

/* Receiver: check what arrives from `from` (NULL: stop checking). */
void sim_rx_attach(struct sim_rx *rx, struct sim_stream *from, bool sync_any);

/* The receiver got block on tick while watching its timeslot. */
void sim_rx_receive(struct sim_rx *rx, uint64_t tick, const uint8_t *block);

/* The line re-blocks the byte stream (DAHDI): find the sender's blocks at any byte offset. */
void sim_rx_set_realign(bool on);

/* Over: count the blocks that should have arrived and did not as lost; detach. */
void sim_rx_finish(struct sim_rx *rx);

/* A sound: a tone or a chord of up to 3 frequencies (0 ends the list). */
struct sim_sound sim_sound_tone(double f1, double f2, double f3);
struct sim_sound sim_sound_dtmf(const char *digits);

/* The two frequencies of a DTMF digit; false if it is not one. */
bool sim_dtmf_freqs(char digit, double *ret_row, double *ret_col);

/* ---- prompt files, control socket (trunksim_prompt.c) ---- */

/* Read an 8 kHz mono 16-bit PCM WAV file. Returns 0 or -errno (message on stderr). */
int sim_wav_read(const char *path, int16_t **ret_pcm, size_t *ret_len);

/* Write one. Returns 0 or -errno. */
int sim_wav_write(const char *path, const int16_t *pcm, size_t len);

/* The synthetic prompt: ~3 s of three chords (frequency plan in docs/synthetic-trunk.md). */
int sim_prompt_make(int16_t **ret_pcm, size_t *ret_len);

/*
 * The prompt as trunkrecd plays it towards the carrier: each 160 samples
 * A-law encoded with g711_linear_to_alaw, the last block padded with 0.
 */
int sim_prompt_alaw(const int16_t *pcm, size_t len, uint8_t **ret_blocks, uint32_t *ret_nblocks);

/*
 * Send one command line to trunkrecd's control socket and read the one-line
 * answer (at most timeout_ms). Returns 0 when it starts with "ok", -EPROTO
 * when "error", other -errno when the socket cannot be used; ret_answer gets
 * the answer or the reason.
 */
int sim_control(const char *path, const char *command, int timeout_ms, char *ret_answer, size_t size);

/* ---- phases (trunksim.c writes them, trunksim_scenario.c makes them) ---- */

enum sim_expect { SIM_STORED, SIM_ABSENT, SIM_ANY };

struct sim_phase {
	char name[24];
	int side;		/* 0 carrier (left channel), 1 PBX (right) */
	double freq;		/* the frequency the checker measures; 0 with dtmf */
	bool dtmf;		/* DTMF digits: the checker measures all 8 DTMF frequencies */
	double level_db;	/* level of freq in the source, dBFS (dsp.h scale) */
	uint64_t start, end;	/* first tick of the phase, first tick after it (0: still on) */
	enum sim_expect expect;
	bool relay;		/* its blocks must reach the other far end byte for byte */
};

/* ---- the run (trunksim.c), shared with the scenarios (trunksim_scenario.c) ---- */

#define SIM_MAX_PAIRS	(SIMCARD_MAX_PORTS / 2)
#define SIM_MAX_LINE_DOWN 4

enum sim_end { END_CARRIER = 0, END_PBX = 1 };

enum sim_scenario {
	SCEN_BASIC,
	SCEN_ANNOUNCE_PRESENT, SCEN_ANNOUNCE_ABSENT, SCEN_ANNOUNCE_TRUNCATED, SCEN_ANNOUNCE_PLAY,
	SCEN_HOLD, SCEN_HOLD_OTHER_TS, SCEN_NOTIFY_HOLD,
	SCEN_ECT, SCEN_TRANSFER_ON_DISCONNECT, SCEN_DEFLECT, SCEN_CONNECTED_LINE,
	SCEN_PAYMENT_COMMAND, SCEN_PAYMENT_AGENT_CODE, SCEN_PAYMENT_IVR, SCEN_CARD_DIGITS,
	SCEN_COUNT
};

enum hangup_plan { HANG_CARRIER, HANG_PBX, HANG_RANDOM };

struct sim_line_down {
	int pair;		/* 0-based */
	enum sim_end side;
	uint64_t at, ticks;
	bool down, done;
};

struct options {
	const char *dir;
	int pairs, calls, concurrency;
	int hold_min, hold_max;		/* ms */
	double rate;
	int outbound_pct;
	enum hangup_plan hangup;
	bool fast, verbose;
	uint64_t seed;
	const char *report;
	int timeout_s;
	enum sim_scenario scenario;
	const char *prompt_path;	/* --prompt */
	const char *control_path;	/* --control */
	struct sim_line_down line_down[SIM_MAX_LINE_DOWN];
	int nline_down;
	int dahdi_spans[2 * SIM_MAX_PAIRS];	/* --dahdi: carrier span, PBX span, per pair */
	int ndahdi;
};

/* One far end's side of a call. */
struct leg {
	q931_call *call;	/* libpri's handle, NULL once released */
	int ts;			/* timeslot at this far end; kept for the report */
	int first_ts;		/* the first one it had (report: a_ts/b_ts) */
	bool watching;		/* checking what arrives on ts */
	bool connected;		/* sending its stream */
	bool ever_connected;
	bool ended;		/* hung up, or was hung up on */
	bool gone;		/* libpri released the call */
	bool release_ok;	/* being cleared by the other side is part of the scenario */
	bool released_by_peer;	/* got DISCONNECT or RELEASE it did not ask for */
	struct sim_rx rx;	/* what this far end hears */
};

enum call_state { CALL_UNPLACED, CALL_ACTIVE, CALL_DONE };

struct simcall {
	int id, pair;
	bool outbound;
	bool consult;			/* a consultation call the PBX placed for call `partner` */
	struct simcall *partner;	/* main call <-> its consultation call */
	enum call_state state;
	char calling[24], called[24];
	double freq[2];
	int hold_ticks;
	enum sim_end hangs_up;
	struct leg leg[2];
	struct sim_stream *stream[2];	/* [e]: sent by far end e */
	uint64_t answer_tick;		/* answering end calls pri_answer then; 0: not due */
	uint64_t connect_tick, hangup_tick;
	int hangup_by;			/* enum sim_end, -1 before */
	int64_t started_ms, ended_ms;
	char result[48];
	/* pass-through totals, kept after the receivers are finished: [e] = sent by e */
	struct sim_stream_result {
		unsigned long compared, mismatch, lost;
		int64_t delay_min, delay_max;
	} res[2];
	/* scenario */
	int step;
	uint64_t step_tick;		/* tick the current step began */
	bool connect_optional;		/* the call may end without ever being answered */
	struct sim_phase phase[SIM_MAX_PHASES];
	int nphase;
	int cur_phase[2];		/* each side's phase, -1: none */
	unsigned long ph_compared[SIM_MAX_PHASES], ph_mismatch[SIM_MAX_PHASES], ph_lost[SIM_MAX_PHASES];
	const char *expect_recording;	/* "yes", "no" or "any" */
	uint64_t record_from_tick;	/* tick of the first block a recording should hold; 0: unknown */
	char events[200];		/* what happened, for the report and for people */
	int refusals;			/* SETUPs refused for a busy timeslot (the network may retry) */
};

struct farend {
	struct dchan d;
	int port;			/* card port index */
	bool up;
	uint64_t up_tick;		/* when the D-channel last came up */
	struct simcall *by_ts[SIMCARD_TS];
	uint64_t rest_until[SIMCARD_TS];	/* tick before which a freed ts is not chosen */
};

struct pair {
	struct farend end[2];
	int active;
};

struct sim {
	struct options opt;
	const struct sim_card_ops *cardops;	/* the synthetic card or DAHDI spans */
	void *card;
	struct pair pairs[SIM_MAX_PAIRS];
	struct simcall *calls;		/* opt.calls main calls, then as many consultation slots */
	int ncalls;			/* slots in calls */
	int next_call;			/* index of the next main call to place */
	int active;
	unsigned long clearing_unanswered;	/* calls finished by RELEASE_GRACE_MS: a RELEASE went unanswered */
	double next_start_tick;
	bool dir_created;
	int64_t start_ms;
	int16_t *prompt;		/* --prompt, or the synthetic one */
	size_t prompt_len;
	uint8_t *prompt_alaw;		/* as trunkrecd plays it */
	uint32_t prompt_blocks;
};

extern const char *const sim_end_name[2];

/*
 * The card the far ends sit behind. Every port has the synthetic card's
 * contract (trunks/simcard.h): a far-end D-channel fd that lives as long as
 * the card, far_send/far_receive per block, one tick per 20 ms.
 */
struct sim_card_ops {
	/*
	 * Ticks a D-channel must have been up before calls are placed on it. On
	 * DAHDI the first frame after an open can be lost, so both ends may send
	 * SABME and one of them answer UA while its own SABME was lost: it stays
	 * in awaiting-establishment, drops our I-frames until its T200 (1 s)
	 * runs out, then resets the link, clearing the calls we sent meanwhile
	 * (Q.921 5.5.1.3, collision of SABMEs). Twice T200 covers it.
	 */
	unsigned link_settle_ticks;
	int (*port_far_fd)(const void *card, int port);
	int (*port_down)(void *card, int port);		/* loss of signal */
	int (*port_up)(void *card, int port);
	void (*port_stats)(const void *card, int port, struct simcard_stats *ret_stats);
	int (*fd)(const void *card);			/* POLLIN: dispatch has work */
	int (*dispatch)(void *card);			/* 1 when a tick ran */
	int (*timeout_ms)(const void *card);
	uint64_t (*tick)(const void *card);
	void (*free)(void *card);			/* accepts NULL */
};

/* trunksim_dahdi.c: far ends behind DAHDI spans (--dahdi); NULL ops when built without DAHDI. */
extern const struct sim_card_ops sim_dahdi_ops;
int sim_dahdi_new(const struct simcard_ops *ops, void *userdata, void **ret_card);
/* Add the span as the next port. Returns the port index or -errno. */
int sim_dahdi_port_add(void *card, int span);

/* trunksim.c, for the scenarios */
void sim_log(struct sim *sim, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_set_result(struct simcall *c, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
void sim_event(struct sim *sim, struct simcall *c, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
uint64_t sim_tick(struct sim *sim);
struct pri *sim_pri(struct sim *sim, struct simcall *c, enum sim_end e);
int sim_pick_ts(struct sim *sim, struct simcall *c, enum sim_end e);
void sim_leg_bind(struct sim *sim, struct simcall *c, enum sim_end e, int ts);
void sim_leg_hangup(struct sim *sim, struct simcall *c, enum sim_end e, int cause);
int sim_call_place(struct sim *sim, struct simcall *c);
void sim_rx_cross(struct simcall *c, enum sim_end at, struct sim_stream *from);
struct simcall *sim_find_call(struct sim *sim, int pair, enum sim_end e, q931_call *call);

/* trunksim_scenario.c */
int scen_parse(const char *name);
const char *scen_name(enum sim_scenario s);
bool scen_needs_consult(enum sim_scenario s);
bool scen_needs_prompt(enum sim_scenario s);
/* The plan of a call (calls_plan); consultation slots are planned by the main call. */
void scen_plan(struct sim *sim, struct simcall *c);
/* Both far ends' streams exist; the answering end is about to answer. Returns true to not answer (deflect). */
bool scen_before_answer(struct sim *sim, struct simcall *c);
/* Far end e is connected (answered, or got CONNECT). */
void scen_connected(struct sim *sim, struct simcall *c, enum sim_end e);
/* Once per tick for every active call. */
void scen_tick(struct sim *sim, struct simcall *c, uint64_t tick);
/* An event for call c (NULL if none matched) at far end e; true when handled entirely. */
bool scen_event(struct sim *sim, int pair, enum sim_end e, struct simcall *c, const pri_event *ev);
/* Far end e's leg of c was released (DISCONNECT or RELEASE received). */
void scen_leg_released(struct sim *sim, struct simcall *c, enum sim_end e);
/* Call over: checks that need the whole call (pass-through per phase, prompt). */
void scen_finish(struct sim *sim, struct simcall *c);

#endif
