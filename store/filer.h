/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The filer: the catalog thread of trunkrecd. Recordings' starts and ends
 * reach it from the workers through a bounded queue (catalog_post copies,
 * never does I/O); it files them in the catalog, and deletes a recording a
 * supervisor discarded once it is closed (store/retention.h).
 *
 * Thread: catalog_queue_start/stop on main; catalog_post and
 * catalog_done_hook on any thread (the workers); the rest on the filer's own.
 */
#ifndef TRUNKREC_STORE_FILER_H
#define TRUNKREC_STORE_FILER_H

#include <stdbool.h>

#include "store/catalog.h"

struct audit;

/* ---- the queue from the recording workers ----------------------------- */

struct recording_done;
struct catalog_queue;
struct audit;

struct catalog_queue_stats {
	unsigned long posted, written, dropped, failed;
};

/*
 * Start the catalog thread. rules (kept, may be NULL) gives retention; audit
 * (may be NULL) gets a 'recording' entry per recording, before its row.
 * recordings (may be NULL) is their directory: a recording that ends with
 * the outcome "discarded" (a supervisor's discard) is deleted from it,
 * audited, once it is filed. capacity bounds the queue (0:
 * CATALOG_QUEUE_DEFAULT).
 */
int catalog_queue_start(struct catalog *c, const struct policy_rules *rules, struct audit *audit,
			const char *recordings, unsigned capacity, struct catalog_queue **ret);

/*
 * Any thread, never blocks on I/O: copy done into the queue. Returns false
 * when the queue is full (counted as dropped; the file is still found by
 * recovery's reconciliation at the next start).
 */
bool catalog_post(struct catalog_queue *q, const struct recording_done *done);

/* The recorder's done hook (userdata: the queue). */
void catalog_done_hook(void *userdata, const struct recording_done *done);

/* Write everything queued, then stop the thread. Accepts NULL. */
void catalog_queue_stop(struct catalog_queue *q, struct catalog_queue_stats *ret_stats);

#endif
