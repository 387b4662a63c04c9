// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DTMF detector and masker against generated tones, speech-like signals and
 * an independent decoder (multimon-ng).
 *
 * Levels here are the peak of the two-tone sum in dBFS (a two-tone signal
 * cannot reach -3 dBFS RMS unclipped); at -30 dBFS peak each tone is at
 * -39 dBFS mean square, about -36 dBm0, the weakest Q.24 detectors must take.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/dsp.h"
#include "codec/dtmf.h"
#include "codec/g711.h"

#define RATE		8000.0
#define MS(x)		((size_t)((x) * 8))
#define MAXN		(70 * 8000)

static double sig[MAXN];
static int16_t pcm[MAXN];
static int16_t outbuf[MAXN + 4 * DTMF_BLOCK];
static bool outmask[MAXN / DTMF_BLOCK + 8];

static const char all_digits[] = "123A456B789C*0#D";
static const double row_f[4] = { 697, 770, 852, 941 };
static const double col_f[4] = { 1209, 1336, 1477, 1633 };

/* xorshift64*: reproducible signals */
static uint64_t rng_s = 0x9E3779B97F4A7C15ull;

static double urand(void)
{
	rng_s ^= rng_s >> 12;
	rng_s ^= rng_s << 25;
	rng_s ^= rng_s >> 27;
	return (double)((rng_s * 0x2545F4914F6CDD1Dull) >> 11) / 9007199254740992.0;
}

static double nrand(void)
{
	double u = urand() + 1e-12, v = urand();

	return sqrt(-2.0 * log(u)) * cos(2.0 * M_PI * v);
}

static void digit_freqs(char digit, double *fr, double *fc)
{
	const char *p = strchr(all_digits, digit);
	int i = (int)(p - all_digits);

	*fr = row_f[i / 4];
	*fc = col_f[i % 4];
}

struct tone {
	char digit;
	double peak_db;		/* peak of the sum */
	double twist_db;	/* > 0: row louder (normal twist), < 0: reverse */
	double row_dev, col_dev;	/* relative frequency deviation */
	double row_abs, col_abs;	/* plus this many Hz */
	size_t len;
};

static void add_tone(double *x, const struct tone *t)
{
	double fr, fc, a, ar, ac, tau, ph_r = urand() * 2 * M_PI, ph_c = urand() * 2 * M_PI;

	digit_freqs(t->digit, &fr, &fc);
	fr = fr * (1.0 + t->row_dev) + t->row_abs;
	fc = fc * (1.0 + t->col_dev) + t->col_abs;
	a = pow(10.0, t->peak_db / 20.0) * 32767.0;
	tau = pow(10.0, t->twist_db / 20.0);
	ac = a / (1.0 + tau);
	ar = a - ac;
	for (size_t i = 0; i < t->len; i++)
		x[i] += ar * sin(2 * M_PI * fr * (double)i / RATE + ph_r) +
			ac * sin(2 * M_PI * fc * (double)i / RATE + ph_c);
}

/* Double to 16 bits, optionally through A-law as the trunk carries it. */
static void to_pcm(const double *x, int16_t *y, size_t n, bool alaw)
{
	for (size_t i = 0; i < n; i++) {
		double v = round(x[i]);

		if (v > 32767)
			v = 32767;
		if (v < -32768)
			v = -32768;
		y[i] = (int16_t)v;
		if (alaw)
			y[i] = g711_alaw_to_linear[g711_linear_to_alaw(y[i])];
	}
}

/* Run the detector block by block; returns the digits declared. */
static size_t detect(const int16_t *x, size_t n, char *digits, size_t max)
{
	struct dtmf_detector d;
	size_t got = 0;

	dtmf_detector_init(&d);
	for (size_t i = 0; i + DTMF_BLOCK <= n; i += DTMF_BLOCK) {
		char c = dtmf_detector_push(&d, x + i, DTMF_BLOCK);

		if (c && got < max)
			digits[got++] = c;
	}
	if (got < max)
		digits[got] = 0;
	return got;
}

/* A digit string with gaps after lead samples of silence; returns the length. */
static size_t build_sequence(const char *seq, size_t lead, size_t len, size_t gap, double peak_db,
			     double twist_db, double row_dev, double col_dev, double row_abs, double col_abs)
{
	size_t pos = lead;

	memset(sig, 0, sizeof(sig));
	for (const char *c = seq; *c; c++) {
		struct tone t = { *c, peak_db, twist_db, row_dev, col_dev, row_abs, col_abs, len };

		add_tone(sig + pos, &t);
		pos += len + gap;
	}
	pos += MS(200);
	return (pos + DTMF_BLOCK - 1) / DTMF_BLOCK * DTMF_BLOCK;
}

static void all_digits_all_levels(void **state)
{
	static const double levels[] = { -3, -6, -10, -15, -20, -25, -30 };
	static const size_t lens[] = { MS(40), MS(100) };
	char got[64];
	unsigned int runs = 0;

	(void)state;
	for (size_t l = 0; l < sizeof(levels) / sizeof(levels[0]); l++) {
		for (size_t d = 0; d < 2; d++) {
			/* several frame alignments of the onsets */
			for (size_t lead = 0; lead < 102; lead += 17) {
				size_t n = build_sequence(all_digits, MS(100) + lead, lens[d], MS(40),
							  levels[l], 0, 0, 0, 0, 0);

				to_pcm(sig, pcm, n, true);
				detect(pcm, n, got, sizeof(got));
				if (strcmp(got, all_digits) != 0)
					print_error("level %.0f dB, %zu ms, lead %zu: got \"%s\"\n",
						    levels[l], lens[d] / 8, lead, got);
				assert_string_equal(got, all_digits);
				runs++;
			}
		}
	}
	print_message("16 digits x %u runs (A-law, -3..-30 dBFS peak, 40/100 ms, 40 ms gaps): all detected once\n",
		      runs);
}

static void ulaw_and_linear_too(void **state)
{
	char got[64];
	size_t n = build_sequence(all_digits, MS(60), MS(40), MS(40), -12, 0, 0, 0, 0, 0);

	(void)state;
	to_pcm(sig, pcm, n, false);
	detect(pcm, n, got, sizeof(got));
	assert_string_equal(got, all_digits);
	for (size_t i = 0; i < n; i++)
		pcm[i] = g711_ulaw_to_linear[g711_linear_to_ulaw(pcm[i])];
	detect(pcm, n, got, sizeof(got));
	assert_string_equal(got, all_digits);
}

static void frequency_tolerance(void **state)
{
	/* Q.24: operate within +-(1.5 % + 2 Hz) */
	static const double in_dev[][4] = {
		{ 0.015, 0.015, 2, 2 }, { -0.015, -0.015, -2, -2 },
		{ 0.015, -0.015, 2, -2 }, { -0.015, 0.015, -2, 2 },
	};
	/* and not at +-3.5 %: either tone, or both */
	static const double out_dev[][2] = {
		{ 0.035, 0 }, { -0.035, 0 }, { 0, 0.035 }, { 0, -0.035 },
		{ 0.035, 0.035 }, { -0.035, -0.035 }, { 0.035, -0.035 }, { -0.035, 0.035 },
	};
	char got[64];

	(void)state;
	for (size_t k = 0; k < 4; k++) {
		for (size_t lead = 0; lead < 102; lead += 34) {
			for (int lv = -6; lv >= -30; lv -= 24) {
				size_t n = build_sequence(all_digits, MS(80) + lead, MS(40), MS(40), lv, 0,
							  in_dev[k][0], in_dev[k][1], in_dev[k][2], in_dev[k][3]);

				to_pcm(sig, pcm, n, true);
				detect(pcm, n, got, sizeof(got));
				if (strcmp(got, all_digits) != 0)
					print_error("dev %g/%g, level %d: got \"%s\"\n",
						    in_dev[k][0], in_dev[k][1], lv, got);
				assert_string_equal(got, all_digits);
			}
		}
	}
	for (size_t k = 0; k < sizeof(out_dev) / sizeof(out_dev[0]); k++) {
		for (int lv = -6; lv >= -24; lv -= 18) {
			size_t n = build_sequence(all_digits, MS(80) + 13 * k, MS(100), MS(40), lv, 0,
						  out_dev[k][0], out_dev[k][1], 0, 0);

			to_pcm(sig, pcm, n, true);
			detect(pcm, n, got, sizeof(got));
			if (got[0])
				print_error("dev %g/%g, level %d: got \"%s\"\n",
					    out_dev[k][0], out_dev[k][1], lv, got);
			assert_string_equal(got, "");
		}
	}
	print_message("+-(1.5 %% + 2 Hz): 16/16 digits in every case; +-3.5 %%: 0 digits\n");
}

static void twist_limits(void **state)
{
	static const double in_twist[] = { 7.0, 4.0, 0.0, -2.0, -3.0 };
	static const double out_twist[] = { 10.0, 12.0, -6.0, -8.0 };
	char got[64];

	(void)state;
	for (size_t k = 0; k < sizeof(in_twist) / sizeof(in_twist[0]); k++) {
		size_t n = build_sequence(all_digits, MS(80) + 7 * k, MS(60), MS(40), -8, in_twist[k],
					  0, 0, 0, 0);

		to_pcm(sig, pcm, n, true);
		detect(pcm, n, got, sizeof(got));
		if (strcmp(got, all_digits) != 0)
			print_error("twist %g dB: got \"%s\"\n", in_twist[k], got);
		assert_string_equal(got, all_digits);
	}
	for (size_t k = 0; k < sizeof(out_twist) / sizeof(out_twist[0]); k++) {
		size_t n = build_sequence(all_digits, MS(80) + 7 * k, MS(100), MS(40), -8, out_twist[k],
					  0, 0, 0, 0);

		to_pcm(sig, pcm, n, true);
		detect(pcm, n, got, sizeof(got));
		if (got[0])
			print_error("twist %g dB: got \"%s\"\n", out_twist[k], got);
		assert_string_equal(got, "");
	}
}

static void short_tones_rejected(void **state)
{
	char got[64];

	(void)state;
	for (size_t lead = 0; lead < 160; lead += 3) {
		for (int ms = 10; ms <= 20; ms += 5) {
			size_t n = build_sequence(all_digits, MS(60) + lead, MS(ms), MS(60), -10, 0,
						  0, 0, 0, 0);

			to_pcm(sig, pcm, n, true);
			detect(pcm, n, got, sizeof(got));
			if (got[0])
				print_error("%d ms, lead %zu: got \"%s\"\n", ms, lead, got);
			assert_string_equal(got, "");
		}
	}
}

/*
 * Random tones inside Q.24's acceptance region (twist -3.5..+7.5 dB, both
 * tones +-(1.5 % + 2 Hz), weaker tone at -40 dBFS or more, any phase and
 * frame alignment) are each detected exactly once at 40 ms; the same tones
 * at 20 ms never.
 */
static void random_tones_in_spec(void **state)
{
	unsigned int hits40 = 0, hits20 = 0, trials = 1500;
	char got[8];

	(void)state;
	for (unsigned int it = 0; it < trials; it++) {
		struct tone t;
		double weak, a, tau;
		size_t lead = MS(40) + (size_t)(urand() * 160);

		t.digit = all_digits[(size_t)(urand() * 16) % 16];
		t.twist_db = -3.5 + urand() * 11.0;
		t.row_dev = (urand() * 2 - 1) * 0.015;
		t.col_dev = (urand() * 2 - 1) * 0.015;
		t.row_abs = t.row_dev > 0 ? 2 : -2;
		t.col_abs = t.col_dev > 0 ? 2 : -2;
		t.peak_db = -3.0 - urand() * 27.0;
		/* keep the weaker tone at -40 dBFS or above */
		a = pow(10.0, t.peak_db / 20.0);
		tau = pow(10.0, fabs(t.twist_db) / 20.0);
		weak = 20.0 * log10(a / (1.0 + tau) / sqrt(2.0));
		if (weak < -40.0)
			t.peak_db += -40.0 - weak;
		for (int pass = 0; pass < 2; pass++) {
			uint64_t seed = rng_s;

			t.len = pass ? MS(20) : MS(40);
			memset(sig, 0, MS(300) * sizeof(sig[0]));
			add_tone(sig + lead, &t);
			rng_s = seed;
			to_pcm(sig, pcm, MS(300), true);
			if (detect(pcm, MS(300), got, sizeof(got)) == 1 && got[0] == t.digit)
				pass ? hits20++ : hits40++;
			else if (!pass)
				print_error("missed %c twist %.1f peak %.1f dev %.4f %.4f\n", t.digit,
					    t.twist_db, t.peak_db, t.row_dev, t.col_dev);
		}
	}
	print_message("random in-spec tones: 40 ms %u/%u detected once, 20 ms %u/%u detected\n",
		      hits40, trials, hits20, trials);
	assert_int_equal(hits40, trials);
	assert_int_equal(hits20, 0);
}

static void dropout_is_one_digit(void **state)
{
	char got[64];
	struct tone t = { '7', -10, 0, 0, 0, 0, 0, MS(200) };

	(void)state;
	/* a 10 ms break inside a tone (Q.24: still one digit) */
	for (size_t lead = 0; lead < 102; lead += 11) {
		memset(sig, 0, MS(600) * sizeof(sig[0]));
		add_tone(sig + MS(50) + lead, &t);
		memset(sig + MS(130) + lead, 0, MS(10) * sizeof(sig[0]));
		to_pcm(sig, pcm, MS(600), true);
		detect(pcm, MS(600), got, sizeof(got));
		assert_string_equal(got, "7");
	}
}

/*
 * Speech-like: harmonics of a gliding pitch shaped by moving formants, in
 * syllables; plus noise and music chords. Adds into x.
 */
static void add_voice(double *x, size_t n, double f0_base, double peak)
{
	static const double vowels[][3] = {
		{ 730, 1090, 2440 }, { 270, 2290, 3010 }, { 300, 870, 2240 },
		{ 530, 1840, 2480 }, { 570, 840, 2410 }, { 660, 1720, 2410 },
		{ 440, 1020, 2240 }, { 390, 1990, 2550 },
	};
	double ph[40] = { 0 }, f[3], tgt[3], f0 = f0_base, env = 0;
	size_t next_vowel = 0, next_syl = 0;
	bool on = false;

	memcpy(f, vowels[0], sizeof(f));
	memcpy(tgt, f, sizeof(f));
	for (size_t i = 0; i < n; i++) {
		if (i >= next_vowel) {
			memcpy(tgt, vowels[(size_t)(urand() * 8) % 8], sizeof(tgt));
			next_vowel = i + MS(80 + urand() * 200);
		}
		if (i >= next_syl) {
			on = urand() < 0.8;
			next_syl = i + MS(120 + urand() * 250);
		}
		for (int k = 0; k < 3; k++)
			f[k] += (tgt[k] - f[k]) * 0.002;
		env += ((on ? 1.0 : 0.0) - env) * 0.003;
		/* pitch glides and wobbles as intonation does */
		f0 = f0_base * (1.0 + 0.25 * sin(2 * M_PI * 0.7 * (double)i / RATE) +
				0.08 * sin(2 * M_PI * 5.3 * (double)i / RATE));
		{
			double s = 0;

			for (int h = 1; h < 40 && h * f0 < 3900; h++) {
				double fh = h * f0, a = 0;

				for (int k = 0; k < 3; k++) {
					double bw = 60 + 0.05 * f[k], dx = (fh - f[k]) / bw;

					a += (k == 0 ? 1.0 : k == 1 ? 0.5 : 0.25) / (1 + dx * dx);
				}
				ph[h] += 2 * M_PI * fh / RATE;
				s += a * sin(ph[h]) / sqrt(h);
			}
			x[i] += peak * env * s * 0.35 + peak * 0.01 * nrand();
		}
	}
}

static void add_noise(double *x, size_t n, double rms, bool pink)
{
	double b = 0;

	for (size_t i = 0; i < n; i++) {
		double w = nrand();

		b = pink ? 0.95 * b + 0.3 * w : w;
		x[i] += rms * b;
	}
}

static void add_music(double *x, size_t n, double peak)
{
	double ph[3][8] = { { 0 } };

	for (size_t start = 0; start < n; start += MS(400)) {
		int root = (int)(urand() * 36) - 12;	/* around A4 */
		int notes[3] = { root, root + ((urand() < 0.5) ? 3 : 4), root + 7 };

		for (size_t i = start; i < n && i < start + MS(400); i++) {
			double t = (double)(i - start) / RATE, s = 0;

			for (int k = 0; k < 3; k++) {
				double fn = 440.0 * pow(2.0, notes[k] / 12.0);

				for (int h = 1; h <= 8 && h * fn < 3900; h++) {
					ph[k][h - 1] += 2 * M_PI * h * fn / RATE;
					s += sin(ph[k][h - 1]) / (h * h) * exp(-t * (1.5 + h));
				}
			}
			x[i] += peak * 0.3 * s;
		}
	}
}

static void no_talk_off(void **state)
{
	size_t n = 60 * 8000, got = 0, masked = 0;
	char digits[64];
	struct dtmf_masker m;
	char c;
	bool mk;

	(void)state;
	memset(sig, 0, n * sizeof(sig[0]));
	/* 36 s of voices (low/high, loud/soft), 10 s noise, 14 s music */
	add_voice(sig, MS(9000), 110, 12000);
	add_voice(sig + MS(9000), MS(9000), 210, 20000);
	add_voice(sig + MS(18000), MS(9000), 95, 3000);
	add_voice(sig + MS(27000), MS(9000), 170, 30000);
	add_noise(sig + MS(36000), MS(5000), 3000, false);
	add_noise(sig + MS(41000), MS(5000), 2000, true);
	add_music(sig + MS(46000), MS(14000), 20000);
	to_pcm(sig, pcm, n, true);
	got = detect(pcm, n, digits, sizeof(digits));
	if (got)
		print_error("false digits: \"%s\"\n", digits);
	assert_int_equal(got, 0);

	dtmf_masker_init(&m);
	for (size_t i = 0; i < n; i += DTMF_BLOCK)
		if (dtmf_masker_push(&m, pcm + i, outbuf, &c, &mk) && mk)
			masked++;
	assert_int_equal(masked, 0);
	print_message("60 s speech-like/noise/music through A-law: 0 false digits, 0 blocks masked\n");
}

struct placed {
	size_t on, off;
};

/*
 * Speech, then digits keyed in the pauses, then speech again: the masker's
 * output against its input.
 */
static size_t build_call(const char *seq, size_t len, size_t gap, struct placed *where)
{
	size_t pos = MS(800), n;
	size_t k = 0;

	memset(sig, 0, sizeof(sig));
	add_voice(sig, MS(700), 130, 15000);
	for (const char *c = seq; *c; c++, k++) {
		struct tone t = { *c, -8, 2, 0, 0, 0, 0, len };

		add_tone(sig + pos, &t);
		where[k].on = pos;
		where[k].off = pos + len;
		pos += len + gap;
		if (k == 2) {
			/* a sentence between the groups */
			add_voice(sig + pos + MS(150), MS(600), 190, 15000);
			pos += MS(900);
		}
	}
	add_voice(sig + pos + MS(150), MS(700), 130, 15000);
	n = pos + MS(1000);
	n = n / DTMF_BLOCK * DTMF_BLOCK;
	to_pcm(sig, pcm, n, true);
	return n;
}

static size_t run_masker(const int16_t *x, size_t n, char *digits, size_t max)
{
	struct dtmf_masker m;
	size_t o = 0, got = 0;
	char c;

	dtmf_masker_init(&m);
	for (size_t i = 0; i < n; i += DTMF_BLOCK) {
		bool mk;

		if (dtmf_masker_push(&m, x + i, outbuf + o, &c, &mk)) {
			outmask[o / DTMF_BLOCK] = mk;
			o += DTMF_BLOCK;
		}
		if (c && got + 1 < max)
			digits[got++] = c;
	}
	for (;;) {
		bool mk;

		if (!dtmf_masker_flush(&m, outbuf + o, &mk))
			break;
		outmask[o / DTMF_BLOCK] = mk;
		o += DTMF_BLOCK;
	}
	digits[got] = 0;
	return o;
}

static void masking_removes_tones_only(void **state)
{
	static const char seq[] = "4929516*";
	struct placed where[8];
	char digits[16];
	size_t n, o, masked = 0;
	double worst = -200.0;

	(void)state;
	for (size_t len = MS(40); len <= MS(100); len += MS(60)) {
		n = build_call(seq, len, MS(40), where);
		o = run_masker(pcm, n, digits, sizeof(digits));
		assert_int_equal(o, n);
		assert_string_equal(digits, seq);

		for (size_t k = 0; k < 8; k++) {
			size_t from = where[k].on, to = where[k].off + DTMF_GUARD_SAMPLES;

			for (size_t b = from / DTMF_BLOCK; b * DTMF_BLOCK < to; b++)
				assert_true(outmask[b]);
			for (int f = 0; f < 4; f++) {
				double pr = dsp_db(dsp_goertzel_power(outbuf + from, to - from, 1, row_f[f], RATE));
				double pc = dsp_db(dsp_goertzel_power(outbuf + from, to - from, 1, col_f[f], RATE));

				worst = fmax(worst, fmax(pr, pc));
				assert_true(pr < -60.0 && pc < -60.0);
			}
		}
		/* bit-exact outside the masked blocks; masking stays near the tones */
		masked = 0;
		for (size_t b = 0; b < n / DTMF_BLOCK; b++) {
			size_t s = b * DTMF_BLOCK;
			bool near = false;

			if (!outmask[b]) {
				assert_memory_equal(outbuf + s, pcm + s, DTMF_BLOCK * sizeof(int16_t));
				continue;
			}
			masked++;
			for (size_t k = 0; k < 8; k++)
				if (s + DTMF_BLOCK + MS(60) > where[k].on &&
				    s < where[k].off + DTMF_GUARD_SAMPLES + MS(40))
					near = true;
			assert_true(near);
		}
		print_message("%zu ms digits: %zu of %zu blocks masked, worst DTMF-frequency level in "
			      "onset..offset+guard %.1f dBFS\n", len / 8, masked, n / DTMF_BLOCK, worst);
	}
}

static void flush_fails_closed(void **state)
{
	struct dtmf_masker m;
	struct tone t = { '8', -10, 0, 0, 0, 0, 0, MS(100) };
	int16_t out[DTMF_BLOCK];
	size_t blocks = 0, masked = 0;
	bool mk;

	(void)state;
	/* a tone still on when the recording ends */
	memset(sig, 0, MS(400) * sizeof(sig[0]));
	add_voice(sig, MS(300), 120, 10000);
	add_tone(sig + MS(300), &t);
	to_pcm(sig, pcm, MS(400), true);
	dtmf_masker_init(&m);
	for (size_t i = 0; i < MS(400); i += DTMF_BLOCK)
		blocks += dtmf_masker_push(&m, pcm + i, out, NULL, &mk);
	assert_int_equal(blocks, MS(400) / DTMF_BLOCK - DTMF_MASK_DELAY);
	while (dtmf_masker_flush(&m, out, &mk)) {
		blocks++;
		masked += mk;
		for (int i = 0; i < DTMF_BLOCK; i++)
			assert_int_equal(out[i], mk ? 0 : out[i]);
	}
	assert_int_equal(blocks, MS(400) / DTMF_BLOCK);
	assert_true(masked >= 2);
	assert_int_equal(dtmf_masker_flush(&m, out, &mk), 0);
}

static bool have_tool(const char *name)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "command -v %s >/dev/null 2>&1", name);
	return system(cmd) == 0;
}

/* Decode x with multimon-ng; returns the digits it printed, repeats collapsed. */
static int multimon_digits(const int16_t *x, size_t n, char *digits, size_t max)
{
	char raw[] = "/tmp/trunkrec-dtmf-XXXXXX", cmd[256], line[256];
	size_t got = 0;
	FILE *f, *p;
	int fd;

	fd = mkstemp(raw);
	if (fd < 0)
		return -1;
	f = fdopen(fd, "wb");
	if (!f || fwrite(x, sizeof(*x), n, f) != n) {
		unlink(raw);
		return -1;
	}
	fclose(f);
	snprintf(cmd, sizeof(cmd),
		 "sox -t raw -r 8000 -e signed -b 16 -c 1 %s -t raw -r 22050 -e signed -b 16 -c 1 - 2>/dev/null"
		 " | multimon-ng -q -a DTMF -t raw - 2>/dev/null", raw);
	p = popen(cmd, "r");
	if (!p) {
		unlink(raw);
		return -1;
	}
	while (fgets(line, sizeof(line), p)) {
		char *d = strstr(line, "DTMF: ");

		if (d && got + 1 < max)
			digits[got++] = d[6];
	}
	pclose(p);
	unlink(raw);
	digits[got] = 0;
	return (int)got;
}

static void independent_decoder_agrees(void **state)
{
	static const char seq[] = "4929516*";
	struct placed where[8];
	char digits[16], mm[64];
	size_t n, o;
	int got;

	(void)state;
	if (!have_tool("multimon-ng") || !have_tool("sox"))
		skip();
	n = build_call(seq, MS(100), MS(100), where);
	o = run_masker(pcm, n, digits, sizeof(digits));
	assert_int_equal(o, n);

	got = multimon_digits(pcm, n, mm, sizeof(mm));
	print_message("multimon-ng, unmasked: \"%s\"\n", mm);
	assert_true(got >= 0);
	assert_string_equal(mm, seq);

	got = multimon_digits(outbuf, o, mm, sizeof(mm));
	print_message("multimon-ng, masked: \"%s\" (%d digits)\n", mm, got);
	assert_int_equal(got, 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(all_digits_all_levels),
		cmocka_unit_test(ulaw_and_linear_too),
		cmocka_unit_test(frequency_tolerance),
		cmocka_unit_test(twist_limits),
		cmocka_unit_test(short_tones_rejected),
		cmocka_unit_test(random_tones_in_spec),
		cmocka_unit_test(dropout_is_one_digit),
		cmocka_unit_test(no_talk_off),
		cmocka_unit_test(masking_removes_tones_only),
		cmocka_unit_test(flush_fails_closed),
		cmocka_unit_test(independent_decoder_agrees),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
