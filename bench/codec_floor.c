// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The codec floor: bare libopus encoding the audio a recorder must encode,
 * at trunkrecd's settings (8 kHz, stereo forced, narrowband, VOIP, 20 ms
 * frames, bitrate and complexity as given) — the cost no recorder can avoid.
 * No G.711, no Ogg, no crypto, no I/O. Prints CPU per call-second so the
 * load harness can divide the engine's cost by it (bench/run).
 *
 *   codec_floor [--calls N] [--seconds S] [--bitrate B] [--complexity C]
 *
 * The signal matches trunksim's: per call and side a tone at the call's
 * frequency plus uniform noise, both sides talking at once (the worst case
 * for a stereo encoder).
 */
#include <getopt.h>
#include <math.h>
#include <opus.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>

#define RATE	8000
#define FRAME	160

static double thread_cpu_s(void)
{
	struct timespec t;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static uint32_t prng(uint32_t *s)
{
	*s ^= *s << 13;
	*s ^= *s >> 17;
	*s ^= *s << 5;
	return *s;
}

/* One second of one call's stereo audio, as trunksim makes it. */
static void make_call_audio(int call, int16_t *pcm, int seconds)
{
	double fl = 312.5 + 25 * ((2 * call) % 120), fr = 312.5 + 25 * ((2 * call + 1) % 120);
	uint32_t seed = 0x9e3779b9u ^ (uint32_t)call;

	for (long n = 0; n < (long)RATE * seconds; n++) {
		pcm[2 * n] = (int16_t)(6000 * sin(2 * M_PI * fl * (double)n / RATE) + (int)(prng(&seed) % 401) - 200);
		pcm[2 * n + 1] = (int16_t)(6000 * sin(2 * M_PI * fr * (double)n / RATE) + (int)(prng(&seed) % 401) - 200);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "calls", required_argument, NULL, 'n' },
		{ "seconds", required_argument, NULL, 's' },
		{ "bitrate", required_argument, NULL, 'b' },
		{ "complexity", required_argument, NULL, 'c' },
		{ 0 },
	};
	int calls = 20, seconds = 10, bitrate = 24000, complexity = 2, opt;
	long bytes = 0;
	double t0, cpu;

	while ((opt = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (opt) {
		case 'n': calls = atoi(optarg); break;
		case 's': seconds = atoi(optarg); break;
		case 'b': bitrate = atoi(optarg); break;
		case 'c': complexity = atoi(optarg); break;
		default:
			fprintf(stderr, "usage: codec_floor [--calls N] [--seconds S] [--bitrate B] [--complexity C]\n");
			return 2;
		}
	}
	if (calls < 1 || seconds < 1) {
		fprintf(stderr, "codec_floor: --calls and --seconds must be at least 1\n");
		return 2;
	}
	int16_t *pcm = malloc(sizeof(int16_t) * 2 * RATE * (size_t)seconds);
	OpusEncoder **enc = calloc((size_t)calls, sizeof(*enc));

	if (!pcm || !enc)
		return 1;
	for (int c = 0; c < calls; c++) {
		int err;

		enc[c] = opus_encoder_create(RATE, 2, OPUS_APPLICATION_VOIP, &err);
		if (err != OPUS_OK)
			return 1;
		opus_encoder_ctl(enc[c], OPUS_SET_FORCE_CHANNELS(2));
		opus_encoder_ctl(enc[c], OPUS_SET_BANDWIDTH(OPUS_BANDWIDTH_NARROWBAND));
		opus_encoder_ctl(enc[c], OPUS_SET_BITRATE(bitrate));
		opus_encoder_ctl(enc[c], OPUS_SET_COMPLEXITY(complexity));
	}
	cpu = 0;
	for (int c = 0; c < calls; c++) {
		/* Each call's own signal; generating it is not the codec's cost. */
		make_call_audio(c, pcm, seconds);
		t0 = thread_cpu_s();
		for (long f = 0; f < (long)RATE * seconds / FRAME; f++) {
			unsigned char packet[400];
			int n = opus_encode(enc[c], pcm + 2 * FRAME * f, FRAME, packet, sizeof(packet));

			if (n > 0)
				bytes += n;
		}
		cpu += thread_cpu_s() - t0;
		opus_encoder_destroy(enc[c]);
	}
	printf("codec_floor: calls=%d seconds=%d bitrate=%d complexity=%d cpu_s=%.3f "
	       "ms_per_call_second=%.4f kbps=%.1f\n",
	       calls, seconds, bitrate, complexity, cpu, cpu * 1000 / ((double)calls * seconds),
	       (double)bytes * 8 / 1000 / ((double)calls * seconds));
	free(enc);
	free(pcm);
	return 0;
}
