/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The relay: trunkrecd's real-time thread. For every trunk pair it runs libpri
 * on both D-channels (CPE towards the carrier on port A, NET towards the PBX
 * on port B), relays each call between them (relay/call.c), and carries
 * every B-channel block across to the other port before anything else is
 * done with it. Recording work is only handed off (relay/feed.c to
 * record/worker.h).
 *
 * This is what main sees of it. Calls, pairs and the loop's own state live in
 * relay/internal.h, which no other folder includes.
 *
 * Thread: relay_new, relay_set_loader and relay_free on main; relay_run is the
 * relay thread; relay_request_reload on the relay thread (SIGHUP is seen in
 * relay_run). The counters in struct relay_stats are written by the relay and
 * read by any thread (relaxed, approximate); out_of_space is set by the workers.
 */
#ifndef TRUNKREC_RELAY_RELAY_H
#define TRUNKREC_RELAY_RELAY_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/latency.h"
#include "policy/config.h"
#include "relay/promptlib.h"

#define RELAY_BATCH_HIST	LATENCY_BUCKETS	/* buckets of relay_stats.batch_hist */

struct callview;
struct inbox;
struct relay;
struct worker;

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

struct relay_stats {
	int npairs;				/* set by relay_new, constant after */
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
		const char *name;		/* the pair's name (its config), constant after relay_new */
		_Atomic bool port_up[2], link_up[2];
		_Atomic int alarm[2];		/* enum port_alarm */
		_Atomic unsigned calls;
		/* the driver's counters of each port (struct port_counters) */
		_Atomic unsigned long alarms[2], hdlc_errors[2], read_overruns[2], write_underruns[2];
	} span[CONFIG_MAX_PAIRS];
};

struct relay_opts {
	const struct config *cfg;
	struct worker *workers;		/* the recording workers, started */
	int nworkers;
	struct inbox *inbox;		/* commands from the control thread; NULL: none */
	struct policy_set *policy;	/* the first generation; the relay owns it from here */
	struct relay_stats *stats;	/* where the relay publishes its counters: the caller's */
	struct callview *view;		/* where it publishes the live calls: the caller's, initialised */
};

/* A relay for opts->cfg's pairs (ports not opened yet: relay_run does). Negative errno, *ret untouched. */
int relay_new(const struct relay_opts *opts, struct relay **ret);

/* SIGHUP: load the configuration again (loader on its own thread); the relay swaps it in between blocks. */
void relay_set_loader(struct relay *r, relay_policy_loader loader, void *userdata);
void relay_request_reload(struct relay *r);

/* Run until *stop is set; then release every call and stop their recordings. *reload: SIGHUP seen. */
int relay_run(struct relay *r, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload);

/* Accepts NULL and a relay relay_new gave up on half-way. */
void relay_free(struct relay *r);

#endif
