/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What operators see of the live calls (`trunkrec calls`, `trunkrec top`):
 * a snapshot the relay publishes a few times a second, and its rendering.
 *
 * Numbers are masked when the snapshot is taken, as in log lines
 * (log_mask_number: "…1234"): a whole phone number never leaves the relay
 * thread this way, so it cannot reach a screen or a socket through this view.
 *
 * Threads: the relay publishes with a trylock and skips a turn rather than
 * wait (the live call comes first); any other thread renders under the lock.
 * No allocation on either side.
 */
#ifndef TRUNKREC_ENGINE_CALLVIEW_H
#define TRUNKREC_ENGINE_CALLVIEW_H

#include <pthread.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/config.h"

struct relay;

#define CALLVIEW_MAX		(CONFIG_MAX_PAIRS * 64)
#define CALLVIEW_PERIOD_MS	250	/* how often the relay publishes */

struct call_view {
	unsigned long id;		/* the call id of log lines and metadata (`call=ID`) */
	char pair[32];
	char dir[4];			/* "in" (carrier → PBX) or "out" */
	char state[12];			/* setup, alerting, active, held, clearing */
	int ts_a, ts_b;			/* timeslots; 0 = none */
	char calling[20], called[20];	/* masked */
	unsigned connected_s;		/* since answer; 0 before */
	char policy[32];		/* recording state: recording, paused (hold), not announced, … */
};

struct callview {
	pthread_mutex_t lock;
	uint64_t published_ms;		/* relay clock; 0 = never */
	int n;
	struct call_view calls[CALLVIEW_MAX];
};

enum callview_format { CALLVIEW_TEXT, CALLVIEW_JSON };

int callview_init(struct callview *v);
void callview_destroy(struct callview *v);

/* Relay thread: take the snapshot unless a reader holds the lock. */
void callview_publish(struct callview *v, const struct relay *r, uint64_t now_ms);

/* Any thread: render the latest snapshot into buf (NUL-terminated). Returns the length. */
size_t callview_render(struct callview *v, enum callview_format format, char *buf, size_t size);

#endif
