// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Cost of the per-block detectors, in microseconds of CPU per
 * channel-second of audio, against a baseline measured in the same run: a
 * bare pass of 8 Goertzel filters (dsp_goertzel_power) over each 20 ms
 * block, the "DTMF, 8-tone Goertzel per 20 ms block" line of notes/perf.md.
 * Absolute numbers drift on shared machines; the ratios hold.
 *
 * Usage: bench_dtmf [seconds-of-audio-per-run, default 200]
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "codec/dsp.h"
#include "codec/dtmf.h"
#include "codec/g711.h"
#include "codec/prompt.h"

#define RATE		8000
#define SIG_SECONDS	10
#define SIG_N		(SIG_SECONDS * RATE)
#define RUNS		5

static int16_t sig[SIG_N];
static int16_t prompt[3 * RATE];
static volatile double sink;

static const double dtmf_f[8] = { 697, 770, 852, 941, 1209, 1336, 1477, 1633 };

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_THREAD_CPUTIME_ID, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

/* Speech-like harmonics with moving pitch and formant, a DTMF digit every 2 s, through A-law. */
static void make_signal(void)
{
	double ph[40] = { 0 };

	for (size_t i = 0; i < SIG_N; i++) {
		double t = (double)i / RATE, f0 = 120 * (1 + 0.2 * sin(2 * M_PI * 0.7 * t));
		double formant = 800 + 600 * sin(2 * M_PI * 1.3 * t), s = 0;

		for (int h = 1; h < 30 && h * f0 < 3800; h++) {
			double dx = (h * f0 - formant) / 200;

			ph[h] += 2 * M_PI * h * f0 / RATE;
			s += sin(ph[h]) / (1 + dx * dx);
		}
		s *= 3000 * (0.5 + 0.5 * sin(2 * M_PI * 3 * t));
		if (fmod(t, 2.0) > 1.5 && fmod(t, 2.0) < 1.6)
			s = 5000 * (sin(2 * M_PI * 852 * t) + sin(2 * M_PI * 1336 * t));
		sig[i] = g711_alaw_to_linear[g711_linear_to_alaw((int16_t)lrint(s))];
	}
	for (size_t i = 0; i < 3 * RATE; i++) {
		double t = (double)i / RATE, f0 = 150 + 40 * sin(2 * M_PI * 0.9 * t), s = 0;

		for (int h = 1; h * f0 < 3800; h++)
			s += sin(2 * M_PI * h * f0 * t) / (1 + pow((h * f0 - 700 - 500 * sin(2 * M_PI * 2.1 * t)) / 150, 2));
		prompt[i] = (int16_t)lrint(2000 * s * (fmod(t, 0.5) < 0.4));
	}
}

static int cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

enum which { BASELINE, DETECTOR, MASKER, PROMPT };

static struct dtmf_detector det;
static struct dtmf_masker masker;
static struct prompt_detector pdet;
static struct prompt_ref pref;

/* One run over `seconds` channel-seconds; returns microseconds per channel-second. */
static double run(enum which w, unsigned int seconds)
{
	int16_t out[DTMF_BLOCK];
	double t0, acc = 0;
	char c;
	bool m;

	dtmf_detector_init(&det);
	dtmf_masker_init(&masker);
	prompt_detector_init(&pdet, &pref);
	t0 = now();
	for (unsigned int s = 0; s < seconds; s += SIG_SECONDS) {
		for (size_t i = 0; i < SIG_N; i += DTMF_BLOCK) {
			switch (w) {
			case BASELINE:
				for (int f = 0; f < 8; f++)
					acc += dsp_goertzel_power(sig + i, DTMF_BLOCK, 1, dtmf_f[f], RATE);
				break;
			case DETECTOR:
				acc += dtmf_detector_push(&det, sig + i, DTMF_BLOCK);
				break;
			case MASKER:
				acc += dtmf_masker_push(&masker, sig + i, out, &c, &m) ? out[0] : 0;
				break;
			case PROMPT:
				acc += prompt_detector_push(&pdet, sig + i);
				break;
			}
		}
	}
	sink = acc;
	return (now() - t0) * 1e6 / ((seconds + SIG_SECONDS - 1) / SIG_SECONDS * SIG_SECONDS);
}

int main(int argc, char **argv)
{
	static const char *names[] = {
		"baseline: 8 x dsp_goertzel_power per block",
		"dtmf_detector_push",
		"dtmf_masker_push (detector + 60 ms delay line)",
		"prompt_detector_push (3 s prompt)",
	};
	unsigned int seconds = argc > 1 ? (unsigned int)atoi(argv[1]) : 200;
	double med[4];
	int r;

	if (seconds < SIG_SECONDS)
		seconds = SIG_SECONDS;
	make_signal();
	r = prompt_ref_build(&pref, prompt, 3 * RATE, NULL);
	if (r < 0) {
		fprintf(stderr, "bench_dtmf: prompt_ref_build: %s\n", strerror(-r));
		return 1;
	}
	printf("bench_dtmf: %u channel-seconds per run, median of %d runs, CPU time of this thread\n",
	       seconds, RUNS);
	for (int w = 0; w < 4; w++) {
		double t[RUNS];

		run((enum which)w, SIG_SECONDS);	/* warm up */
		for (int k = 0; k < RUNS; k++)
			t[k] = run((enum which)w, seconds);
		qsort(t, RUNS, sizeof(t[0]), cmp);
		med[w] = t[RUNS / 2];
	}
	for (int w = 0; w < 4; w++)
		printf("%-50s %8.2f us/channel-s   x%.2f baseline\n", names[w], med[w], med[w] / med[0]);
	prompt_ref_free(&pref);
	return 0;
}
