// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The recording hand-off (relay/feed.h): each call's start, frames, timeline
 * and stop into its worker's ring, in the order the relay saw them.
 *
 * Thread: relay thread only.
 */
#include "relay/feed.h"

#include <stdio.h>
#include <string.h>
#include <time.h>

static uint8_t idle_block[2][PORT_BLOCK];	/* per law */

void feed_init(void)
{
	memset(idle_block[G711_ALAW], g711_idle_code(G711_ALAW), PORT_BLOCK);
	memset(idle_block[G711_ULAW], g711_idle_code(G711_ULAW), PORT_BLOCK);
}

const uint8_t *feed_idle_block(enum g711_law law)
{
	return idle_block[law];
}

static struct worker *worker_of(struct relay *r, const struct call *c)
{
	return &r->workers[c->slot % r->nworkers];
}

void feed_start(struct relay *r, struct call *c, const struct recorder_opts *opts)
{
	struct worker *wk = worker_of(r, c);
	struct rec_msg *m = worker_claim(wk);

	if (!m) {
		call_log(LOG_LVL_WARN, c, "recording queue full; call not recorded");
		return;
	}
	m->kind = REC_START;
	m->slot = (uint16_t)c->slot;
	m->law = (uint8_t)c->pair->port[SIDE_A].law;
	m->opts = *opts;
	m->opts.slot = (uint16_t)c->slot;
	m->opts.serial = c->serial;
	snprintf(m->meta, sizeof(m->meta),
		 "trunk=%s\ndirection=%s\ncalling=%s\ncalled=%s\na_ts=%d\nb_ts=%d\nstarted=%lld\ncall=%lu\nrule=%s\n",
		 c->pair->cfg->name, c->dir == CALL_IN ? "in" : "out", c->calling, c->called,
		 c->ts[SIDE_A], c->ts[SIDE_B], (long long)time(NULL), c->serial, c->rule ? c->rule->name : "-");
	worker_commit(wk);
	memset(c->stage, 0, sizeof(c->stage));
	c->recording = true;
	atomic_fetch_add(&r->stats->recordings_started, 1);
}

void feed_timeline(struct relay *r, struct call *c, const char *line)
{
	struct worker *wk = worker_of(r, c);
	struct rec_msg *m;

	if (!c->recording)
		return;
	m = worker_claim(wk);
	if (!m) {
		atomic_fetch_add_explicit(&r->stats->frames_dropped_ring, 1, memory_order_relaxed);
		return;
	}
	m->kind = REC_TIMELINE;
	m->slot = (uint16_t)c->slot;
	snprintf(m->line, sizeof(m->line), "%s", line);
	worker_commit(wk);
}

static bool queue_stop(struct relay *r, struct call *c)
{
	struct worker *wk = worker_of(r, c);
	struct rec_msg *m = worker_claim(wk);

	if (!m)
		return false;
	m->kind = REC_STOP;
	m->slot = (uint16_t)c->slot;
	snprintf(m->reason, sizeof(m->reason), "%s", c->stop_reason);
	worker_commit(wk);
	return true;
}

void feed_stop(struct relay *r, struct call *c, const char *reason)
{
	c->recording = false;
	snprintf(c->stop_reason, sizeof(c->stop_reason), "%s", reason);
	/* A full ring: retried every loop; the slot is not reused until it went. */
	c->stop_pending = !queue_stop(r, c);
}

static void push_frame(struct relay *r, struct call *c, const uint8_t *carrier, const uint8_t *pbx, uint8_t flags)
{
	struct worker *wk = worker_of(r, c);
	struct rec_msg *m = worker_claim(wk);

	if (!m) {
		atomic_fetch_add_explicit(&r->stats->frames_dropped_ring, 1, memory_order_relaxed);
		return;
	}
	m->kind = REC_FRAME;
	m->slot = (uint16_t)c->slot;
	m->flags = flags;
	memcpy(m->frame.carrier, carrier, PORT_BLOCK);
	memcpy(m->frame.pbx, pbx, PORT_BLOCK);
	worker_commit(wk);
}

void feed_retry_stops(struct relay *r)
{
	for (int i = 0; i < r->ncalls; i++)
		if (r->calls[i].stop_pending)
			r->calls[i].stop_pending = !queue_stop(r, &r->calls[i]);
}

static void stage_pop(struct stage *st)
{
	st->head = (st->head + 1) % RELAY_STAGE;
	st->count--;
}

/* The oldest block of one side alone, the other side idle (held, or silent for too long). */
static void push_alone(struct relay *r, struct call *c, enum side s)
{
	struct stage *st = &c->stage[s];
	const uint8_t *idle = idle_block[c->pair->port[s].law];
	const uint8_t *blk = st->block[st->head];

	push_frame(r, c, s == SIDE_A ? blk : idle, s == SIDE_B ? blk : idle, st->store[st->head]);
	stage_pop(st);
}

/*
 * Pair this side's block with the other side's block of the same tick. The
 * store decision was taken by the caller for the block being read: a pause or
 * a resume takes effect on the block where its signal arrived, however long a
 * block waits here for its partner. A frame is stored only if both its halves may be.
 */
void feed_block(struct relay *r, struct call *c, enum side s, const uint8_t *blk, uint8_t store)
{
	struct stage *mine = &c->stage[s], *theirs = &c->stage[!s];
	unsigned slot;

	if (mine->count == RELAY_STAGE)
		push_alone(r, c, s);
	slot = (mine->head + mine->count) % RELAY_STAGE;
	memcpy(mine->block[slot], blk, PORT_BLOCK);
	mine->store[slot] = store;
	mine->count++;
	while (mine->count && theirs->count) {
		struct stage *a = &c->stage[SIDE_A], *b = &c->stage[SIDE_B];

		push_frame(r, c, a->block[a->head], b->block[b->head], a->store[a->head] & b->store[b->head]);
		stage_pop(a);
		stage_pop(b);
	}
	/* The other side has no timeslot (held): nothing will pair with this block. */
	if (mine->count && !c->ts[!s])
		push_alone(r, c, s);
}
