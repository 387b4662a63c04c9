/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The recording hand-off: what the relay gives a call's recording worker,
 * through the worker's ring (record/worker.h): start, frames, timeline lines,
 * stop. No lock, no allocation, no syscall; a full ring drops the frame and
 * counts it (frames_dropped_ring), a stop that did not fit is retried.
 *
 * Thread: relay thread only.
 */
#ifndef TRUNKREC_RELAY_FEED_H
#define TRUNKREC_RELAY_FEED_H

#include <stdint.h>

#include "relay/internal.h"

/* Set up the idle blocks (once, before the first call). */
void feed_init(void);
/* The idle block of a law: what a silent or lone side sends. */
const uint8_t *feed_idle_block(enum g711_law law);

void feed_start(struct relay *r, struct call *c, const struct recorder_opts *opts);
void feed_timeline(struct relay *r, struct call *c, const char *line);
void feed_stop(struct relay *r, struct call *c, const char *reason);
/* Housekeeping: stops a full ring refused, queued again. */
void feed_retry_stops(struct relay *r);
/*
 * One block read from side s: paired with the other side's block of the same
 * tick into a frame for the worker. store: REC_FRAME_* flags for this block,
 * decided now (relay/callpolicy.h's call_store_flags), however long it waits here.
 */
void feed_block(struct relay *r, struct call *c, enum side s, const uint8_t *blk, uint8_t store);

#endif
