// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunksim's call audio: each far end sends a sound (a tone, a chord, DTMF
 * digits or a prompt) chosen per phase of the call, plus noise, so that every
 * block is unique and the other far end can align what it receives with what
 * was sent, then check it byte for byte.
 */
#include "tools/trunksim/trunksim.h"

#include <math.h>
#include <stdio.h>
#include <string.h>

#include "codec/g711.h"

#define TONE_AMPLITUDE	6000.0
#define DTMF_AMPLITUDE	5000.0	/* each of the two tones */
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

bool sim_dtmf_freqs(char digit, double *ret_row, double *ret_col)
{
	static const char keys[] = "123A456B789C*0#D";
	static const double row[] = { 697, 770, 852, 941 }, col[] = { 1209, 1336, 1477, 1633 };
	const char *p = digit ? strchr(keys, digit) : NULL;

	if (!p)
		return false;
	*ret_row = row[(p - keys) / 4];
	*ret_col = col[(p - keys) % 4];
	return true;
}

struct sim_sound sim_sound_tone(double f1, double f2, double f3)
{
	return (struct sim_sound){ .kind = SIM_SOUND_TONE, .freq = { f1, f2, f3 }, .amp = TONE_AMPLITUDE };
}

struct sim_sound sim_sound_dtmf(const char *digits)
{
	struct sim_sound s = { .kind = SIM_SOUND_DTMF };

	snprintf(s.digits, sizeof(s.digits), "%s", digits);
	return s;
}

void sim_stream_init(struct sim_stream *s, uint64_t seed, int id, int direction)
{
	uint64_t mix = seed;

	memset(s, 0, sizeof(*s));
	s->phase = -1;
	/* Mix the three inputs so neighbouring ids or seeds give unrelated noise. */
	mix ^= splitmix64(&mix) + (uint64_t)id * 0xd1b54a32d192ed03ULL;
	mix ^= splitmix64(&mix) + (uint64_t)(direction + 1) * 0x8cb92ba72f3d8dd7ULL;
	s->prng = mix;
}

void sim_stream_set(struct sim_stream *s, const struct sim_sound *sound, int phase)
{
	s->sound = *sound;
	s->sound_start = s->sent;
	s->phase = phase;
}

/* Sample j of block k, without the noise. */
static double sound_sample(const struct sim_stream *s, uint32_t k, int j)
{
	const struct sim_sound *snd = &s->sound;
	double n = (double)k * SIMCARD_BLOCK + j;	/* phase-continuous across blocks */
	double v = 0;

	switch (snd->kind) {
	case SIM_SOUND_NOISE:
		return 0;
	case SIM_SOUND_TONE:
		for (int i = 0; i < 3; i++)
			if (snd->freq[i] > 0)
				v += snd->amp * sin(2.0 * M_PI * snd->freq[i] * n / 8000.0);
		return v;
	case SIM_SOUND_DTMF: {
		uint32_t rel = k - s->sound_start, per = SIM_DTMF_ON + SIM_DTMF_OFF;
		size_t digit = rel / per;
		double fr, fc;

		if (digit >= strlen(snd->digits) || rel % per >= SIM_DTMF_ON ||
		    !sim_dtmf_freqs(snd->digits[digit], &fr, &fc))
			return 0;
		return DTMF_AMPLITUDE * (sin(2.0 * M_PI * fr * n / 8000.0) + sin(2.0 * M_PI * fc * n / 8000.0));
	}
	case SIM_SOUND_PCM: {
		size_t i = (size_t)(k - s->sound_start) * SIMCARD_BLOCK + (size_t)j;

		return i < snd->pcm_len ? snd->pcm[i] : 0;
	}
	}
	return 0;
}

void sim_stream_send(struct sim_stream *s, uint64_t tick, uint8_t *ret_block)
{
	uint32_t k = s->sent;
	uint8_t *slot = s->ring[k % SIM_RING];

	if (k == 0)
		s->first_tick = tick;
	for (int j = 0; j < SIMCARD_BLOCK; j++) {
		int noise = (int)(splitmix64(&s->prng) % (2 * NOISE + 1)) - NOISE;
		long v = lround(sound_sample(s, k, j) + noise);

		if (v > 32767)
			v = 32767;
		else if (v < -32768)
			v = -32768;
		slot[j] = g711_linear_to_alaw((int16_t)v);
	}
	s->tx_tick[k % SIM_RING] = tick;
	s->tx_phase[k % SIM_RING] = (int8_t)s->phase;
	s->sent++;
	memcpy(ret_block, slot, SIMCARD_BLOCK);
}

static int phase_slot(int phase)
{
	return phase >= 0 && phase < SIM_MAX_PHASES ? phase : SIM_MAX_PHASES;
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

	/* Indices and ticks drift apart when a sender pauses (hold): match the tick. */
	if (want >= (int64_t)s->first_tick)
		for (uint32_t i = oldest; i < s->sent; i++)
			if (s->tx_tick[i % SIM_RING] == (uint64_t)want &&
			    !memcmp(s->ring[i % SIM_RING], block, SIMCARD_BLOCK))
				return i;
	for (uint32_t k = oldest; k < s->sent; k++)
		if (!memcmp(s->ring[k % SIM_RING], block, SIMCARD_BLOCK))
			return k;
	return -1;
}

void sim_rx_attach(struct sim_rx *rx, struct sim_stream *from, bool sync_any)
{
	const uint8_t *expect = rx->expect;
	uint32_t nexpect = rx->nexpect;

	memset(rx, 0, sizeof(*rx));
	rx->from = from;
	rx->sync_any = sync_any;
	rx->min_index = from ? from->sent : 0;
	rx->delay_min = rx->delay_max = -1;
	rx->offset = -1;
	rx->expect = expect;
	rx->nexpect = nexpect;
}

/* The phase the lost blocks k in [from, to) were sent in. */
static void count_lost(struct sim_rx *rx, uint32_t from, uint32_t to)
{
	struct sim_stream *s = rx->from;

	for (uint32_t k = from; k < to; k++) {
		/* Older than the history: charge it to no phase. */
		int slot = s->sent - k <= SIM_RING ? phase_slot(s->tx_phase[k % SIM_RING]) : SIM_MAX_PHASES;

		s->ph_lost[slot]++;
		rx->lost++;
	}
}

/*
 * A line that re-blocks the byte stream (DAHDI: each channel cuts its own
 * 160-byte blocks, in 1 ms steps, wherever its buffer started) delivers the
 * sender's blocks at an offset: the receiver finds it once from the content
 * and reassembles the sender's blocks from two received ones.
 */
static bool realign;

void sim_rx_set_realign(bool on)
{
	realign = on;
}

static void rx_take(struct sim_rx *rx, uint64_t tick, const uint8_t *block);

/* Offset at which prev+cur hold one of the sender's blocks whole; -1 if none. */
static int find_offset(const struct sim_rx *rx, const uint8_t *cur)
{
	uint8_t cand[SIMCARD_BLOCK];

	for (int o = 0; o < SIMCARD_BLOCK; o++) {
		memcpy(cand, rx->prev + o, (size_t)(SIMCARD_BLOCK - o));
		memcpy(cand + SIMCARD_BLOCK - o, cur, (size_t)o);
		if (!block_idle(cand) && history_find(rx->from, cand, -1) >= 0)
			return o;
	}
	return -1;
}

void sim_rx_receive(struct sim_rx *rx, uint64_t tick, const uint8_t *block)
{
	uint8_t whole[SIMCARD_BLOCK];

	if (!realign || !rx->from) {
		rx_take(rx, tick, block);
		return;
	}
	if (rx->have_prev && rx->offset < 0)
		rx->offset = find_offset(rx, block);
	if (rx->have_prev && rx->offset >= 0) {
		memcpy(whole, rx->prev + rx->offset, (size_t)(SIMCARD_BLOCK - rx->offset));
		memcpy(whole + SIMCARD_BLOCK - rx->offset, block, (size_t)rx->offset);
		rx_take(rx, tick, whole);
	} else {
		rx->rx_last = tick;	/* looking for the offset: nothing is owed yet */
	}
	memcpy(rx->prev, block, SIMCARD_BLOCK);
	rx->have_prev = true;
}

static void rx_take(struct sim_rx *rx, uint64_t tick, const uint8_t *block)
{
	struct sim_stream *s = rx->from;
	int64_t k, d;

	if (!s)
		return;
	rx->rx_last = tick;
	/*
	 * Idle before the sender starts or after it stops is expected; a gap
	 * in between shows up as a jump in the block index (lost).
	 */
	if (block_idle(block))
		return;
	/* Blocks that stand in for the sender's first (trunkrecd's prompt) come first. */
	if (rx->expect_next < rx->nexpect && !rx->synced) {
		if (!memcmp(block, rx->expect + (size_t)rx->expect_next * SIMCARD_BLOCK, SIMCARD_BLOCK)) {
			if (++rx->expect_next == rx->nexpect)
				rx->expect_done_tick = tick;
			return;
		}
		if (rx->expect_next > 0 || history_find(s, block, -1) < 0) {
			/* Mid-prompt, or not the sender's either: a wrong block. */
			rx->expect_mismatch++;
			if (rx->expect_next > 0)
				rx->expect_next++;
			if (rx->expect_next >= rx->nexpect)
				rx->expect_done_tick = tick;
			return;
		}
		/* The sender's own audio where the prompt was due: the prompt never came. */
		rx->expect_mismatch += rx->nexpect;
		rx->expect_next = rx->nexpect;
	}
	k = history_find(s, block, rx->synced ? (int64_t)tick - rx->delay : -1);
	if (k < 0) {
		s->ph_mismatch[phase_slot(s->phase)]++;
		rx->mismatch++;
		return;
	}
	/*
	 * A stream joined midway (a transfer): until its first block from
	 * min_index on has come, an older one was in flight when the signalling
	 * told us of the join (the audio path runs a tick or two behind it when
	 * the line is late): neither owed nor wrong. A relay that crossed the
	 * streams early is still caught: its blocks reach us before the join,
	 * while we check the old stream.
	 */
	if (rx->sync_any && !rx->synced && k < rx->min_index)
		return;
	if (k < rx->next || (rx->sync_any && k < rx->min_index)) {
		/* Already seen, or older than what followed it: duplicated or reordered. */
		s->ph_mismatch[phase_slot(s->tx_phase[k % SIM_RING])]++;
		rx->mismatch++;
		return;
	}
	if (!rx->synced && (rx->sync_any || rx->nexpect))
		rx->next = (uint32_t)k;	/* a stream joined (or replaced) midway: nothing before is owed */
	count_lost(rx, rx->next, (uint32_t)k);	/* otherwise the first must be block 0 */
	rx->synced = true;
	rx->next = (uint32_t)k + 1;
	d = (int64_t)tick - (int64_t)s->tx_tick[k % SIM_RING];
	rx->delay = d;
	if (rx->delay_min < 0 || d < rx->delay_min)
		rx->delay_min = d;
	if (d > rx->delay_max)
		rx->delay_max = d;
	s->ph_compared[phase_slot(s->tx_phase[k % SIM_RING])]++;
	rx->compared++;
}

void sim_rx_finish(struct sim_rx *rx)
{
	struct sim_stream *s = rx->from;
	int64_t d = rx->synced ? rx->delay : 1;	/* before anything arrived: the nominal one tick */
	int64_t due;

	/* A re-blocking line's delay wanders by a tick (its blocks and our ticks are not in phase). */
	if (realign)
		d++;
	if (!s)
		return;
	if (!s->sent || !rx->rx_last || (!rx->synced && (rx->sync_any || rx->nexpect))) {
		rx->from = NULL;
		return;
	}
	/* Blocks k sent on tx_tick[k] with tx_tick + d <= rx_last had time to arrive. */
	due = rx->next;
	if (s->sent > SIM_RING && due < (int64_t)(s->sent - SIM_RING)) {
		uint32_t oldest = s->sent - SIM_RING;

		/* Older than the history: due when the oldest block kept was. */
		if ((int64_t)s->tx_tick[oldest % SIM_RING] + d <= (int64_t)rx->rx_last)
			due = oldest;
	}
	while (due < (int64_t)s->sent && s->sent - (uint32_t)due <= SIM_RING &&
	       (int64_t)s->tx_tick[due % SIM_RING] + d <= (int64_t)rx->rx_last)
		due++;
	if (due > (int64_t)rx->next)
		count_lost(rx, rx->next, (uint32_t)due);
	rx->next = (uint32_t)due;
	rx->from = NULL;
}
