/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * What operators see (`trunkrec stats`): a snapshot of the daemon's counters
 * rendered as text, JSON or Prometheus text exposition. Reads only atomics
 * the relay and the workers publish, so any thread may call it without
 * slowing the live path.
 */
#ifndef TRUNKREC_OPS_STATS_H
#define TRUNKREC_OPS_STATS_H

#include <pthread.h>
#include <stddef.h>

#include "record/worker.h"
#include "relay/callview.h"
#include "relay/relay.h"
#include "store/diskwatch.h"

enum stats_format { STATS_TEXT, STATS_JSON, STATS_PROMETHEUS };

struct stats_sources {
	const struct relay_stats *relay;	/* what the relay publishes (relay/relay.h) */
	const struct worker *workers;
	int nworkers;
	struct diskwatch *disk;		/* the recordings disk; may be NULL */
	struct callview *view;		/* the relay's snapshot: per-line policy figures; may be NULL */
	pthread_t relay_thread;		/* for its CPU clock */
	long long retention_backlog;	/* expired recordings not yet purged; < 0: unknown */
};

/* Render into buf (NUL-terminated, truncated at size). Returns the length written. */
size_t stats_render(const struct stats_sources *src, enum stats_format format, char *buf, size_t size);

/* Only the spans (`trunkrec spans`): text or JSON. */
size_t stats_render_spans(const struct stats_sources *src, enum stats_format format, char *buf, size_t size);

#endif
