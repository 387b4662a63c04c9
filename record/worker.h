/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A recording worker: a thread that owns some recorders and one io_uring
 * writer. The relay thread feeds it through a lock-free ring (base/spsc.h)
 * and never waits for it: a full ring loses recording audio (counted), not
 * call audio.
 *
 * Thread: worker_claim/commit/wake are for the relay thread only; the rest
 * runs on the worker's own thread, except worker_start/worker_stop (main).
 */
#ifndef TRUNKREC_RECORD_WORKER_H
#define TRUNKREC_RECORD_WORKER_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#include "record/recorder.h"
#include "base/spsc.h"
#include "record/writer.h"

#define WORKER_MAX_SLOTS	1024	/* recording slots = call slots */
#define WORKER_RING		8192	/* messages: ~5 s of audio at 30 calls per worker */
#define REC_META_MAX		320

enum rec_msg_kind { REC_START = 1, REC_FRAME, REC_TIMELINE, REC_STOP };

#define REC_FRAME_STORE	0x01	/* the policy allows this frame on disk */
#define REC_FRAME_IF_VERIFIED	0x02	/* allowed once the worker has found the announcement (verify) */

struct rec_msg {
	uint8_t kind;
	uint8_t law;		/* REC_START */
	uint8_t flags;		/* REC_FRAME: REC_FRAME_* */
	uint16_t slot;
	struct recorder_opts opts;	/* REC_START */
	union {
		struct {
			uint8_t carrier[160];
			uint8_t pbx[160];
		} frame;
		char meta[REC_META_MAX];	/* REC_START */
		char line[REC_META_MAX];	/* REC_TIMELINE */
		char reason[REC_META_MAX];	/* REC_STOP */
	};
};

struct worker {
	int index;
	pthread_t thread;
	struct spsc ring;
	struct spsc events;		/* struct rec_event, worker → relay */
	int efd;			/* wakes the worker: relay messages and io_uring completions */
	_Atomic bool sleeping;
	_Atomic bool stopping;
	bool wake_pending;		/* relay thread: messages pushed since the last wake */
	struct writer writer;
	struct recorder_ctx ctx;
	struct recorder *slots[WORKER_MAX_SLOTS];
	_Atomic unsigned long frames;	/* frames encoded */
};

struct worker_settings {
	_Atomic bool *out_of_space;	/* the writers raise it on ENOSPC */
	recording_done_cb done;		/* the catalog's hook, or NULL */
	void *done_userdata;
	const char *dir;
	const uint8_t *recipient_pk;
	struct oggopus_settings codec;
	int flush_frames;
};

int worker_start(struct worker *wk, int index, const struct worker_settings *s);

/* Relay thread: a message to fill, or NULL when the ring is full. */
struct rec_msg *worker_claim(struct worker *wk);
void worker_commit(struct worker *wk);
/* Relay thread, once per batch: wake the worker if it sleeps and has work. */
void worker_wake(struct worker *wk);

/* Relay thread: the next event from the worker's recorders, or NULL. Release with spsc_pop(&wk->events). */
static inline struct rec_event *worker_event(struct worker *wk)
{
	return spsc_peek(&wk->events);
}

/* Main thread: drain everything, finish every recording, join. */
void worker_stop(struct worker *wk);

#endif
