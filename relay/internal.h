/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Inside the relay: calls, pairs and the loop's state, shared by the files of
 * relay/ and by no other folder (relay/relay.h is what main sees).
 *
 * Thread: everything here belongs to the relay thread.
 */
#ifndef TRUNKREC_RELAY_INTERNAL_H
#define TRUNKREC_RELAY_INTERNAL_H

#include <stdbool.h>
#include <stdint.h>

#include "base/log.h"
#include "policy/config.h"
#include "policy/gate.h"
#include "record/worker.h"
#include "relay/relay.h"
#include "trunks/dchan.h"
#include "trunks/port.h"

struct callview;
struct inbox;

#define RELAY_CALLS_PER_PAIR	64
#define RELAY_STAGE		4	/* blocks kept per side while pairing frames */
#define RELAY_SPACE_RESUME_BYTES	(256ull << 20)	/* free space at which recording resumes after ENOSPC */

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
	struct inbox *inbox;		/* commands from the control thread; NULL: none */
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
	struct relay_stats *stats;	/* the caller's: what other threads read */
	struct callview *view;		/* the caller's: the live calls, for operators (calls, top) */
};

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

/* Every log line about a call starts with its pair and serial (Osmocom's per-object log macros). */
#define call_log(level, c, fmt, ...) \
	log_line(level, "%s call %lu: " fmt, (c)->pair->cfg->name, (c)->serial, ##__VA_ARGS__)

#endif
