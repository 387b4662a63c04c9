// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunksim's call audio: a tone per far end plus noise, so that every block
 * is unique and the far end can align what it receives with what the other
 * far end sent, then check it byte for byte.
 */
#include "tools/trunksim.h"

#include <math.h>
#include <string.h>

#include "engine/g711.h"

#define TONE_AMPLITUDE	6000.0
#define NOISE		200	/* uniform in [-NOISE, NOISE] */

static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

double sim_call_freq(int id, int end)
{
	return 312.5 + 25.0 * ((2 * id + end) % 120);
}

void sim_stream_init(struct sim_stream *s, uint64_t seed, int id, int direction, double freq)
{
	uint64_t mix = seed;

	memset(s, 0, sizeof(*s));
	s->freq = freq;
	/* Mix the three inputs so neighbouring ids or seeds give unrelated noise. */
	mix ^= splitmix64(&mix) + (uint64_t)id * 0xd1b54a32d192ed03ULL;
	mix ^= splitmix64(&mix) + (uint64_t)(direction + 1) * 0x8cb92ba72f3d8dd7ULL;
	s->prng = mix;
	s->delay_min = s->delay_max = -1;
}

void sim_stream_send(struct sim_stream *s, uint64_t tick, uint8_t *ret_block)
{
	uint32_t k = s->sent;
	uint8_t *slot = s->ring[k % SIM_RING];

	if (k == 0)
		s->first_tick = tick;
	for (int j = 0; j < SIMCARD_BLOCK; j++) {
		double n = (double)k * SIMCARD_BLOCK + j;
		int noise = (int)(splitmix64(&s->prng) % (2 * NOISE + 1)) - NOISE;
		long v = lround(TONE_AMPLITUDE * sin(2.0 * M_PI * s->freq * n / 8000.0) + noise);

		slot[j] = g711_linear_to_alaw((int16_t)v);
	}
	s->tx_tick[k % SIM_RING] = tick;
	s->sent++;
	memcpy(ret_block, slot, SIMCARD_BLOCK);
}

static bool block_idle(const uint8_t *block)
{
	for (int j = 0; j < SIMCARD_BLOCK; j++)
		if (block[j] != SIMCARD_IDLE_ALAW)
			return false;
	return true;
}

/* Index of the sender's block equal to block, preferring the one sent on tick want; -1 if none. */
static int64_t history_find(const struct sim_stream *s, const uint8_t *block, int64_t want)
{
	uint32_t oldest = s->sent > SIM_RING ? s->sent - SIM_RING : 0;

	if (want >= (int64_t)s->first_tick && s->sent) {
		int64_t k = want - (int64_t)s->first_tick;

		if (k >= oldest && k < s->sent && s->tx_tick[k % SIM_RING] == (uint64_t)want &&
		    !memcmp(s->ring[k % SIM_RING], block, SIMCARD_BLOCK))
			return k;
	}
	for (uint32_t k = oldest; k < s->sent; k++)
		if (!memcmp(s->ring[k % SIM_RING], block, SIMCARD_BLOCK))
			return k;
	return -1;
}

void sim_stream_receive(struct sim_stream *s, uint64_t tick, const uint8_t *block)
{
	int64_t k, d;

	s->rx_last = tick;
	/*
	 * Idle before the sender starts or after it stops is expected; a gap
	 * in between shows up as a jump in the block index (lost).
	 */
	if (block_idle(block))
		return;
	k = history_find(s, block, s->synced ? (int64_t)tick - s->delay : -1);
	if (k < 0) {
		int64_t expected = (int64_t)tick - s->delay - (int64_t)s->first_tick;

		s->mismatch++;
		/* It stood in for the expected block: count that one once, as a mismatch, not also lost. */
		if (s->synced && expected == s->next && expected < s->sent)
			s->next++;
		return;
	}
	if (k < s->next) {
		/* Already seen, or older than what followed it: duplicated or reordered. */
		s->mismatch++;
		return;
	}
	s->lost += (unsigned long)(k - s->next);	/* the first must be block 0 */
	s->synced = true;
	s->next = (uint32_t)k + 1;
	d = (int64_t)tick - (int64_t)s->tx_tick[k % SIM_RING];
	s->delay = d;
	if (s->delay_min < 0 || d < s->delay_min)
		s->delay_min = d;
	if (d > s->delay_max)
		s->delay_max = d;
	s->compared++;
}

void sim_stream_finish(struct sim_stream *s)
{
	/* Before anything arrived, assume the nominal pass-through delay of one tick. */
	int64_t d = s->synced ? s->delay : 1;
	int64_t due;

	if (!s->sent || !s->rx_last)
		return;
	/* Blocks k with first_tick + k + d <= rx_last had time to arrive. */
	due = (int64_t)s->rx_last - d - (int64_t)s->first_tick + 1;
	if (due > (int64_t)s->sent)
		due = s->sent;
	if (due > (int64_t)s->next)
		s->lost += (unsigned long)(due - s->next);
	s->next = due > (int64_t)s->next ? (uint32_t)due : s->next;
}
