/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The relay: trunkrecd's real-time thread. For every trunk pair it runs libpri
 * on both D-channels (CPE towards the carrier on port A, NET towards the PBX
 * on port B), relays each call between them (relay/call.c), and carries
 * every B-channel block across to the other port before anything else is
 * done with it. Recording work is only handed off (record/worker.h).
 *
 * Thread: everything here belongs to the relay thread, except the counters in
 * struct relay_stats, which other threads may read (relaxed, approximate).
 */
#ifndef TRUNKREC_RELAY_RELAY_H
#define TRUNKREC_RELAY_RELAY_H

#include <signal.h>
#include <stdbool.h>
#include <stdint.h>

#include "relay/callview.h"
#include "ops/control.h"
#include "base/latency.h"
#include "relay/promptlib.h"
#include "record/worker.h"
#include "policy/config.h"
#include "policy/gate.h"
#include "trunks/dchan.h"
#include "trunks/port.h"

#define RELAY_CALLS_PER_PAIR	64
#define RELAY_STAGE		4	/* blocks kept per side while pairing frames */
#define RELAY_SPACE_RESUME_BYTES	(256ull << 20)	/* free space at which recording resumes after ENOSPC */
#define RELAY_BATCH_HIST	LATENCY_BUCKETS	/* buckets of relay_stats.batch_hist */

enum call_dir { CALL_IN, CALL_OUT };	/* IN: carrier → PBX */
enum call_state { CALL_SETUP, CALL_ALERTING, CALL_ACTIVE, CALL_CLEARING };
enum side { SIDE_A = 0, SIDE_B = 1 };	/* A faces the carrier, B the PBX */

/* One side's blocks waiting for the other side's block of the same tick. */
struct stage {
	uint8_t block[RELAY_STAGE][PORT_BLOCK];
	uint8_t store[RELAY_STAGE];	/* REC_FRAME_* flags for each block, taken when it was read */
	unsigned head, count;
};

struct call {
	bool used;
	int slot;			/* index in relay.calls: recording slot too */
	unsigned long serial;		/* for log lines */
	struct relay_pair *pair;
	enum call_dir dir;
	enum call_state state;
	q931_call *leg[2];		/* libpri call on each side; NULL once that side is gone */
	bool disconnecting[2];		/* we sent DISCONNECT on that side: clear_side() only once */
	int ts[2];			/* timeslot on each side; 0 = none yet */
	bool ts_offered[2];		/* we proposed ts[side] in our SETUP; not yet confirmed */
	char calling[40], called[40];	/* E.164 has at most 15 digits */
	char connected[40];		/* who answered (CONNECT's connected line), if said */
	struct {			/* the SETUP as received, to place (again) on the other side */
		int ctype, layer1, calledplan, callingplan, callingpres;
		char callingname[48];
	} setup;
	uint32_t refused_ts[2];		/* timeslots the far end refused for this call (cause 44/34) */
	int retries;
	int cause;
	bool bridged;			/* audio crosses between ts[A] and ts[B] */
	bool held;			/* the PBX holds it (Q.932): no B timeslot meanwhile */
	struct call *joined;		/* after a transfer: the other call whose A leg ours is joined to */
	bool payment_paused;
	bool transferred;		/* its carrier leg was joined to another call's: the PBX legs are done */
	bool recording;			/* a recorder exists for it (REC_START sent, no REC_STOP yet) */
	bool frames_wanted;		/* its recorder needs the audio (not for announcement = none) */
	bool stop_pending;		/* REC_STOP not yet queued (ring was full) */
	char stop_reason[48];
	struct stage stage[2];
	uint64_t answered_ms;

	/* The recording policy of this call (relay/callpolicy.c). */
	const struct policy_rule *rule;
	struct gate gate;
	struct code_matcher codes;	/* SECRET: agent payment codes being keyed */
	bool line_counted;		/* its outcome went into the line's counters */
	bool policy_ended;		/* the gate saw the hang-up */
	bool notify_from_pbx;		/* the NOTIFY being handled came from the PBX side */
	struct policy_set *pset;	/* the policy generation it started under */
	const struct prompt_audio *prompt;	/* play mode: what we play to the carrier */
	size_t prompt_pos;		/* next block of it */
	unsigned prompt_seq;
	bool prompt_playing;
	bool prompt_draining;		/* last block sent; the carrier hears it on the next tick */
};

/*
 * One generation of the recording policy: the rules and their prompts.
 * SIGHUP loads a new one for new calls; a call keeps the generation it
 * started under until it ends (its rule and prompt live there).
 */
struct policy_set {
	struct config cfg;		/* its rules; pairs and paths are the startup ones */
	struct prompt_lib prompts;
	unsigned calls;			/* live calls using it (relay thread) */
	unsigned long generation;
	bool allocated;			/* freed when retired and unused */
	struct policy_set *next_retired;
};

/* Loads and checks a new generation (on a loader thread); NULL with err on refusal. */
typedef struct policy_set *(*relay_policy_loader)(void *userdata, char *err, size_t errsize);

struct relay_pair {
	const struct config_pair *cfg;
	int index;
	struct port port[2];
	struct dchan dchan[2];
	bool dchan_open[2];	/* libpri instance exists (survives line loss) */
	bool link_up[2];	/* layer 2 up */
	bool alarmed[2];	/* the port went down and is not back yet: its alarm is raised */
	uint32_t busy[2];	/* timeslots in use, per side */
	struct call *by_ts[2][PORT_MAX_TS];
	uint64_t next_retry_ms;
};

struct relay_stats {
	_Atomic unsigned long calls_in, calls_out, calls_active, calls_failed;
	_Atomic unsigned long blocks, blocks_dropped_write, frames_dropped_ring;
	_Atomic unsigned long recordings_started;
	_Atomic uint64_t batch_ns_max;	/* worst time from wake-up to last pass-through write */
	_Atomic unsigned long late_batches;	/* batches over 20 ms */
	/* Every batch's time (wake-up to last pass-through write): base/latency.h buckets. */
	_Atomic unsigned long batch_hist[RELAY_BATCH_HIST];
	_Atomic unsigned long calls_at_shutdown;	/* calls still up when the stop came */
	_Atomic unsigned long unannounced, unannounced_alarms;
	_Atomic bool out_of_space;		/* a write hit ENOSPC: no new recordings until space is back */
	_Atomic unsigned long recordings_refused;	/* calls not recorded because the disk was full */
	_Atomic unsigned long stopped_at_transfer, paused_hold, paused_payment, dtmf_masked;
	_Atomic unsigned long span_alarms;	/* a port's line or D-channel went down */
	/* Spans as the relay sees them, published every loop for stats readers. */
	struct {
		_Atomic bool port_up[2], link_up[2];
		_Atomic int alarm[2];		/* enum port_alarm */
		_Atomic unsigned calls;
		/* the driver's counters of each port (struct port_counters) */
		_Atomic unsigned long alarms[2], hdlc_errors[2], read_overruns[2], write_underruns[2];
	} span[CONFIG_MAX_PAIRS];
};

struct relay {
	const struct config *cfg;
	int epfd;
	int npairs;
	struct relay_pair pairs[CONFIG_MAX_PAIRS];
	struct call *calls;		/* npairs * RELAY_CALLS_PER_PAIR */
	int ncalls;
	unsigned long next_serial;
	struct worker *workers;
	int nworkers;
	struct control *control;	/* NULL: no control socket */
	struct policy_set *policy;	/* for new calls */
	struct policy_set *retired;	/* older generations still used by live calls */
	relay_policy_loader loader;
	void *loader_userdata;
	_Atomic(struct policy_set *) incoming;	/* a loaded generation, waiting to be taken */
	_Atomic bool loading;
	struct policy_line_state lines[POLICY_MAX_RULES + 1];	/* per rule; the last: the default */
	bool space_alarmed;
	uint64_t next_space_check_ms;
	uint64_t next_chores_ms;	/* housekeeping and worker wakes: not before then */
	bool chores_owed;		/* a wake-up skipped them: the next epoll_wait ends in time for them */
	struct relay_stats stats;
	struct callview view;		/* the live calls, for operators (calls, top) */
};

int relay_init(struct relay *r, const struct config *cfg, struct worker *workers, int nworkers,
	       struct control *control, struct policy_set *policy);

/* SIGHUP: load the configuration again (loader on its own thread); the relay swaps it in between blocks. */
void relay_set_loader(struct relay *r, relay_policy_loader loader, void *userdata);
void relay_request_reload(struct relay *r);

/* Run until *stop is set; then release every call and stop their recordings. *reload: SIGHUP seen. */
int relay_run(struct relay *r, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

void relay_free(struct relay *r);

/* ---- shared between relay.c and call.c ---------------------------------- */

uint64_t relay_now_ms(void);
void relay_bridge(struct relay *r, struct call *c);	/* both timeslots known: audio flows */
void relay_unbridge(struct relay *r, struct call *c);
void relay_record_start(struct relay *r, struct call *c, const struct recorder_opts *opts);
void relay_record_timeline(struct relay *r, struct call *c, const char *line);
void relay_record_stop(struct relay *r, struct call *c, const char *reason);

/*
 * What the signalling saw that the recording policy must hear about. The
 * relay reports it on the block where it arrives; relay/callpolicy.c decides.
 */
enum call_signal {
	CSIG_HOLD, CSIG_RETRIEVE,			/* Q.932 from the PBX */
	CSIG_REMOTE_HOLD, CSIG_REMOTE_RETRIEVAL,	/* NOTIFY, either side */
	CSIG_TRANSFER_ECT,			/* explicit call transfer executed */
	CSIG_TRANSFER_ON_DISCONNECT,		/* PBX hung up with one call held */
	CSIG_DEFLECTION,				/* call deflection / rerouting */
	CSIG_DIVERSION,				/* the call is being diverted (REDIRECTING) */
	CSIG_CONNECTED_LINE,			/* the connected party changed */
	CSIG_CONSULT,				/* the PBX called number while this call is held */
};

void call_policy(struct relay *r, struct call *c, enum call_signal sig, const char *number);

/* callpolicy.c: the call's life as the policy sees it. */
void call_policy_setup(struct relay *r, struct call *c);	/* SETUP relayed: rule, gate */
void call_policy_alerting(struct relay *r, struct call *c);
void call_policy_answer(struct relay *r, struct call *c);
void call_policy_hangup(struct relay *r, struct call *c, const char *why);
void call_policy_release(struct relay *r, struct call *c);	/* the call slot is freed */
void call_policy_take_reload(struct relay *r);	/* between blocks: swap in a loaded generation */
void call_policy_free_all(struct relay *r);	/* at exit: every generation (prompts included) */
/* Housekeeping: time passes; what the workers heard (prompt found, tones). */
void call_policy_tick(struct relay *r, uint64_t now_ms);
/* play mode: the next prompt block for the carrier, or NULL when not playing. */
const uint8_t *call_policy_prompt_block(struct call *c);
/* play mode: the tick after the last block was sent: the caller has heard it all. */
void call_policy_prompt_heard(struct relay *r, struct call *c);

/* A command from the control socket: payment pause or resume, mask, unmask (callpolicy.c). */
void call_control(struct relay *r, struct call *c, enum control_verb verb);

/* May this call's audio of the current block be stored? REC_FRAME_* flags (callpolicy.c) */
uint8_t call_store_flags(const struct call *c);

/* call.c: one libpri event on one side of a pair. */
void call_handle_event(struct relay *r, struct relay_pair *p, enum side side, pri_event *e);
/*
 * call.c: the line of one side went down: clear every call of the pair; each
 * recording gets a timeline mark saying why, then ends (COMPLETE).
 */
void call_clear_pair(struct relay *r, struct relay_pair *p, enum side lost, int cause, const char *why);

/* relay.c: raise the alarm of one side of a pair (log line, counter) once until it is back. */
void relay_alarm(struct relay *r, struct relay_pair *p, enum side s, const char *why);
/* relay.c: that side's D-channel is up again: the alarm clears (log line). */
void relay_alarm_clear(struct relay *r, struct relay_pair *p, enum side s);

#endif
