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
#ifndef TRUNKREC_RELAY_CALLVIEW_H
#define TRUNKREC_RELAY_CALLVIEW_H

#include <pthread.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/config.h"
#include "policy/rules.h"

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

/* A line (a rule of the running configuration, or the default): are its calls announced? */
struct line_view {
	char rule[POLICY_NAME_MAX];
	unsigned long announced, unannounced, unannounced_in_a_row;
	bool alarm;			/* the unannounced-line alarm is up */
};

#define CALLVIEW_LINES	(POLICY_MAX_RULES + 1)

struct callview {
	pthread_mutex_t lock;
	uint64_t published_ms;		/* relay clock; 0 = never */
	int n;
	struct call_view calls[CALLVIEW_MAX];
	int nlines;
	struct line_view lines[CALLVIEW_LINES];
	bool lines_changed;		/* relay thread: publish at the next chance, not a period later */
};

enum callview_format { CALLVIEW_TEXT, CALLVIEW_JSON };

int callview_init(struct callview *v);
void callview_destroy(struct callview *v);

/*
 * Relay thread: take the snapshot every CALLVIEW_PERIOD_MS, or at once after
 * callview_lines_changed(), unless a reader holds the lock (then next time).
 */
void callview_publish(struct callview *v, const struct relay *r, uint64_t now_ms);

/* Relay thread: a line's counters moved (a call's outcome was counted). */
static inline void callview_lines_changed(struct callview *v)
{
	v->lines_changed = true;
}

/* Any thread: the lines of the latest snapshot into ret[CALLVIEW_LINES]. Returns how many. */
int callview_lines(struct callview *v, struct line_view *ret);

/* Any thread: render the latest snapshot into buf (NUL-terminated). Returns the length. */
size_t callview_render(struct callview *v, enum callview_format format, char *buf, size_t size);

#endif
