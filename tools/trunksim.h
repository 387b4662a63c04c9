/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trunksim internals shared by its files: the per-call audio of one direction
 * (what one far end sends, and the other far end's check of what arrived).
 *
 * Thread: trunksim has one thread; everything here runs on it.
 */
#ifndef TRUNKREC_TOOLS_TRUNKSIM_H
#define TRUNKREC_TOOLS_TRUNKSIM_H

#include <stdbool.h>
#include <stdint.h>

#include "trunks/simcard.h"

#define SIM_RING	256	/* blocks of history the sender keeps for the receiver's check */

/*
 * One direction of one call. The sender appends a block per tick while it is
 * connected; the receiver matches what the line delivers against that history.
 */
struct sim_stream {
	/* sender */
	double freq;
	uint64_t prng;
	uint32_t sent;			/* blocks sent; block k went out on first_tick + k */
	uint64_t first_tick;
	uint64_t tx_tick[SIM_RING];
	uint8_t ring[SIM_RING][SIMCARD_BLOCK];
	/* receiver */
	bool synced;
	uint32_t next;			/* index of the next block expected */
	int64_t delay;			/* ticks from send to delivery, last seen */
	uint64_t rx_last;		/* last tick the receiver looked at the line */
	/* results */
	unsigned long compared, mismatch, lost;
	int64_t delay_min, delay_max;	/* -1 when nothing matched */
};

/* Tone of far end `end` (0 carrier, 1 PBX) of call id: a 25 Hz grid from 312.5 Hz. */
double sim_call_freq(int id, int end);

/* Sender side: seed from (run seed, call id, direction), no blocks yet. */
void sim_stream_init(struct sim_stream *s, uint64_t seed, int id, int direction, double freq);

/* The sender's next block, sent on tick; kept in the history. */
void sim_stream_send(struct sim_stream *s, uint64_t tick, uint8_t *ret_block);

/* The receiver got block on tick while watching its timeslot. */
void sim_stream_receive(struct sim_stream *s, uint64_t tick, const uint8_t *block);

/* Call over: count the blocks that should have arrived and did not as lost. */
void sim_stream_finish(struct sim_stream *s);

#endif
