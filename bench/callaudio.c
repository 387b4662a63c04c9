// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * callaudio: write the A-law that trunksim's far ends send for calls 1…N of the
 * basic scenario (docs/synthetic-trunk.md, "Audio"): per call and side a tone at
 * the call's frequency plus uniform noise from the same PRNG, so the naive
 * pipeline of bench/run encodes the audio trunkrecd records.
 *
 *   callaudio --dir DIR [--calls N] [--seconds S] [--seed S]
 *
 * Writes DIR/ID.carrier.al and DIR/ID.pbx.al (8 kHz A-law, no header).
 */
#include <errno.h>
#include <getopt.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/g711.h"

#define TONE_AMPLITUDE	6000.0
#define NOISE		200

/* As tools/trunksim/trunksim_audio.c. */
static uint64_t splitmix64(uint64_t *state)
{
	uint64_t z = (*state += 0x9e3779b97f4a7c15ULL);

	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t stream_seed(uint64_t seed, int id, int direction)
{
	uint64_t mix = seed;

	mix ^= splitmix64(&mix) + (uint64_t)id * 0xd1b54a32d192ed03ULL;
	mix ^= splitmix64(&mix) + (uint64_t)(direction + 1) * 0x8cb92ba72f3d8dd7ULL;
	return mix;
}

static int write_side(const char *dir, int id, int direction, int seconds, uint64_t seed)
{
	double f = 312.5 + 25 * ((2 * id + direction) % 120);
	uint64_t prng = stream_seed(seed, id, direction);
	char path[4096];
	FILE *out;

	snprintf(path, sizeof(path), "%s/%d.%s.al", dir, id, direction ? "pbx" : "carrier");
	out = fopen(path, "we");
	if (!out) {
		fprintf(stderr, "callaudio: cannot write %s: %s\n", path, strerror(errno));
		return -1;
	}
	for (long n = 0; n < 8000L * seconds; n++) {
		int noise = (int)(splitmix64(&prng) % (2 * NOISE + 1)) - NOISE;
		long v = lround(TONE_AMPLITUDE * sin(2.0 * M_PI * f * (double)n / 8000.0) + noise);

		v = v > 32767 ? 32767 : v < -32768 ? -32768 : v;
		fputc(g711_linear_to_alaw((int16_t)v), out);
	}
	return fclose(out) ? -1 : 0;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "dir", required_argument, NULL, 'd' },
		{ "calls", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "seed", required_argument, NULL, 'r' },
		{ 0 },
	};
	const char *dir = NULL;
	int calls = 10, seconds = 10, opt;
	uint64_t seed = 1;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'd': dir = optarg; break;
		case 'n': calls = atoi(optarg); break;
		case 's': seconds = atoi(optarg); break;
		case 'r': seed = strtoull(optarg, NULL, 10); break;
		default: dir = NULL; calls = 0; break;
		}
	}
	if (!dir || calls < 1 || seconds < 1) {
		fprintf(stderr, "usage: callaudio --dir DIR [--calls N] [--seconds S] [--seed S]\n");
		return 2;
	}
	for (int id = 1; id <= calls; id++)
		for (int d = 0; d < 2; d++)
			if (write_side(dir, id, d, seconds, seed) < 0)
				return 1;
	return 0;
}
