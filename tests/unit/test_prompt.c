// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Announcement verifier against a synthetic prompt (formant-shaped harmonic
 * chords and pauses, 3 s) played as a PBX would play it, and against what
 * must not pass for it; the prompt loader against good and bad files.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "codec/g711.h"
#include "codec/prompt.h"

#define RATE		8000.0
#define MS(x)		((size_t)((x) * 8))
#define MAXN		(30 * 8000)

static int16_t prompt_a[MS(4000)], prompt_b[MS(4000)];
static size_t prompt_a_n, prompt_b_n;
static size_t prompt_a_sound;	/* where its sound ends (the file has trailing silence) */
static double sig[MAXN];
static int16_t pcm[MAXN];
static struct prompt_ref ref_a, ref_probe;
static struct prompt_detector det;

static uint64_t rng_s;

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

static const double vowels[][3] = {
	{ 730, 1090, 2440 }, { 270, 2290, 3010 }, { 300, 870, 2240 },
	{ 530, 1840, 2480 }, { 570, 840, 2410 }, { 660, 1720, 2410 },
	{ 440, 1020, 2240 }, { 390, 1990, 2550 },
};

/* One "syllable": harmonics of a gliding pitch under three formants. */
static void add_syllable(double *x, size_t len, const double *fmt, double f0a, double f0b, double amp)
{
	double ph[48] = { 0 };

	for (size_t i = 0; i < len; i++) {
		double f0 = f0a + (f0b - f0a) * (double)i / (double)len, s = 0;
		double env = fmin(1.0, fmin((double)i, (double)(len - i)) / MS(15));

		for (int h = 1; h < 48 && h * f0 < 3800; h++) {
			double fh = h * f0, a = 0;

			for (int k = 0; k < 3; k++) {
				double bw = 60 + 0.06 * fmt[k], dx = (fh - fmt[k]) / bw;

				a += (k == 0 ? 1.0 : k == 1 ? 0.6 : 0.35) / (1 + dx * dx);
			}
			ph[h] += 2 * M_PI * fh / RATE;
			s += a * sin(ph[h]);
		}
		x[i] += amp * env * s;
	}
}

/* A 3 s prompt from a seed, peak at -12 dBFS (room for +6 dB). */
static size_t make_prompt(int16_t *out, uint64_t seed)
{
	size_t n = MS(3000), pos = MS(20);
	double peak = 0;

	rng_s = seed;
	memset(sig, 0, n * sizeof(sig[0]));
	while (pos + MS(400) < n) {
		size_t len = MS(120 + urand() * 230);
		const double *v = vowels[(size_t)(urand() * 8) % 8];
		double f0 = 100 + urand() * 120;

		add_syllable(sig + pos, len, v, f0, f0 * (0.8 + urand() * 0.4), 1000);
		pos += len;
		if (urand() < 0.4)
			pos += MS(60 + urand() * 90);
	}
	for (size_t i = 0; i < n; i++)
		peak = fmax(peak, fabs(sig[i]));
	for (size_t i = 0; i < n; i++)
		out[i] = (int16_t)lrint(sig[i] / peak * 32767.0 * pow(10.0, -12.0 / 20.0));
	return n;
}

/* Speech-like babble: the same syllables at random, no fixed order. */
static void add_babble(double *x, size_t n, double amp)
{
	size_t pos = 0;

	while (pos + MS(400) < n) {
		size_t len = MS(100 + urand() * 250);
		double f0 = 90 + urand() * 150;

		add_syllable(x + pos, len, vowels[(size_t)(urand() * 8) % 8], f0, f0 * (0.8 + urand() * 0.4),
			     amp);
		pos += len + (urand() < 0.5 ? MS(30 + urand() * 200) : 0);
	}
}

static void to_line(const double *x, int16_t *y, size_t n)
{
	for (size_t i = 0; i < n; i++) {
		double v = round(x[i]);

		v = fmax(-32768.0, fmin(32767.0, v));
		y[i] = g711_alaw_to_linear[g711_linear_to_alaw((int16_t)v)];
	}
}

static float best_neg = 0.0f;

/* Feed blocks; the sample at whose block end detection came, or -1. */
static long run(const int16_t *x, size_t n)
{
	prompt_detector_init(&det, &ref_a);
	for (size_t i = 0; i + PROMPT_BLOCK <= n; i += PROMPT_BLOCK) {
		if (prompt_detector_push(&det, x + i))
			return (long)(i + PROMPT_BLOCK);
	}
	best_neg = fmaxf(best_neg, prompt_detector_best(&det));
	return -1;
}

static size_t sound_end(const int16_t *x, size_t n)
{
	while (n > 0 && abs(x[n - 1]) < 100)
		n--;
	return n;
}

static int setup(void **state)
{
	(void)state;
	prompt_a_n = make_prompt(prompt_a, 0x1234567ull);
	prompt_b_n = make_prompt(prompt_b, 0xBADC0FFEEull);
	prompt_a_sound = sound_end(prompt_a, prompt_a_n);
	rng_s = 42;
	return prompt_ref_build(&ref_a, prompt_a, prompt_a_n, NULL) == 0 ? 0 : -1;
}

static int teardown(void **state)
{
	(void)state;
	prompt_ref_free(&ref_a);
	return 0;
}

/* The prompt at gain_db after lead samples of silence or noise, with optional noise under it. */
static size_t place(const int16_t *p, size_t pn, size_t lead, double gain_db, double lead_noise_db,
		    double under_noise_db, size_t *ret_end)
{
	size_t n = lead + pn + MS(1000);
	double g = pow(10.0, gain_db / 20.0);

	memset(sig, 0, n * sizeof(sig[0]));
	if (lead_noise_db > -100)
		for (size_t i = 0; i < lead; i++)
			sig[i] += 32768.0 * pow(10.0, lead_noise_db / 20.0) * nrand();
	if (under_noise_db > -100)
		for (size_t i = lead; i < n; i++)
			sig[i] += 32768.0 * pow(10.0, under_noise_db / 20.0) * nrand();
	for (size_t i = 0; i < pn; i++)
		sig[lead + i] += g * p[i];
	to_line(sig, pcm, n);
	*ret_end = lead + sound_end(p, pn);
	return n;
}

static void detected_as_played(void **state)
{
	static const double gains[] = { 0.0, -10.0, 6.0 };
	static const size_t offsets[] = { 0, MS(7), MS(13), MS(30), MS(47), MS(60) };
	static const size_t leads[] = { 0, MS(500), MS(2000) };
	long worst_late = -100000, best_late = 100000;
	unsigned int runs = 0;
	struct prompt_config cfg;
	float weakest = 2.0f;

	(void)state;
	prompt_config_default(&cfg);
	cfg.min_ratio = 1.0;
	assert_int_equal(prompt_ref_build(&ref_probe, prompt_a, prompt_a_n, &cfg), 0);
	for (size_t g = 0; g < 3; g++)
		for (size_t o = 0; o < 6; o++)
			for (size_t l = 0; l < 3; l++)
				for (int noise = 0; noise < 2; noise++) {
					size_t end, n;
					long at, late;

					n = place(prompt_a, prompt_a_n, leads[l] + offsets[o], gains[g],
						  noise ? -40.0 : -200.0, noise ? -50.0 : -200.0, &end);
					at = run(pcm, n);
					if (at < 0)
						print_error("missed: gain %.0f offset %zu ms lead %zu ms noise %d\n",
							    gains[g], offsets[o] / 8, leads[l] / 8, noise);
					assert_true(at >= 0);
					late = at - (long)end;
					/* margin: the best score over the whole signal, with detection out of reach */
					prompt_detector_init(&det, &ref_probe);
					for (size_t i = 0; i + PROMPT_BLOCK <= n; i += PROMPT_BLOCK)
						prompt_detector_push(&det, pcm + i);
					weakest = fminf(weakest, prompt_detector_best(&det));
					worst_late = late > worst_late ? late : worst_late;
					best_late = late < best_late ? late : best_late;
					/* recognised by ~300 ms after it ended, and not before it played out */
					assert_true(late <= (long)MS(300));
					assert_true(late >= -(long)MS(100));
					runs++;
				}
	print_message("prompt at 0/-10/+6 dB, A-law, 0-60 ms offset, 0-2 s silence/noise lead: %u/%u detected, "
		      "%ld..%ld ms after the prompt's end; weakest best-pass score %.2f (threshold 0.80)\n",
		      runs, runs, best_late / 8, worst_late / 8, weakest);
	prompt_ref_free(&ref_probe);
}

static void not_detected_without_prompt(void **state)
{
	size_t n = MS(10000), end;

	(void)state;
	/* idle line */
	memset(sig, 0, n * sizeof(sig[0]));
	to_line(sig, pcm, n);
	assert_int_equal(run(pcm, n), -1);

	/* white and coloured noise at several levels */
	for (int lv = -50; lv <= -10; lv += 20) {
		double b = 0;

		for (size_t i = 0; i < n; i++) {
			b = 0.9 * b + nrand();
			sig[i] = 32768.0 * pow(10.0, lv / 20.0) * ((lv == -30) ? b * 0.3 : nrand());
		}
		to_line(sig, pcm, n);
		assert_int_equal(run(pcm, n), -1);
	}

	/* speech-like babble, 20 s, at three levels */
	for (int lv = 0; lv < 3; lv++) {
		n = MS(20000);
		memset(sig, 0, n * sizeof(sig[0]));
		add_babble(sig, n, 300.0 * (1 + 3 * lv));
		to_line(sig, pcm, n);
		assert_int_equal(run(pcm, n), -1);
	}

	/* a different prompt of the same kind */
	n = place(prompt_b, prompt_b_n, MS(500), 0.0, -200.0, -200.0, &end);
	assert_int_equal(run(pcm, n), -1);
	n = place(prompt_b, prompt_b_n, MS(500), 6.0, -40.0, -50.0, &end);
	assert_int_equal(run(pcm, n), -1);
	print_message("silence, noise (-50..-10 dBFS), 60 s babble, a different prompt: not detected\n");
	print_message("best score without the prompt: %.2f (threshold 0.80)\n", best_neg);
}

static void truncated_prompt_is_not_played(void **state)
{
	size_t end, n;

	(void)state;
	/* cut at 40 % of its sound (and at 70 and 90 %: fail closed), then silence or noise */
	for (int cut = 40; cut <= 90; cut += cut == 40 ? 30 : 20)
		for (int noise = 0; noise < 2; noise++) {
			n = place(prompt_a, prompt_a_sound * cut / 100, MS(300), 0.0, -200.0,
				  noise ? -45.0 : -200.0, &end);
			if (run(pcm, n) != -1)
				print_error("cut at %d %% detected\n", cut);
			assert_int_equal(run(pcm, n), -1);
		}
	/* the first 40 % then babble in place of the rest */
	n = place(prompt_a, prompt_a_sound * 40 / 100, MS(300), 0.0, -200.0, -200.0, &end);
	add_babble(sig + end, MS(2000), 1000);
	to_line(sig, pcm, n);
	assert_int_equal(run(pcm, n), -1);
	print_message("prompt cut at 40/70/90 %% of its sound: not detected; best non-detection %.2f\n",
		      best_neg);
}

static void span_option_checks_first_seconds(void **state)
{
	struct prompt_config cfg;
	struct prompt_ref ref2;
	size_t end, n;
	long at = -1;

	(void)state;
	prompt_config_default(&cfg);
	cfg.span_ms = 2000;
	assert_int_equal(prompt_ref_build(&ref2, prompt_a, prompt_a_n, &cfg), 0);
	assert_true(ref2.nhops <= 200);
	/* recognised after the first 2 s: the rest may be cut */
	n = place(prompt_a, MS(2300), MS(400), -10.0, -200.0, -200.0, &end);
	prompt_detector_init(&det, &ref2);
	for (size_t i = 0; i + PROMPT_BLOCK <= n; i += PROMPT_BLOCK)
		if (prompt_detector_push(&det, pcm + i)) {
			at = (long)(i + PROMPT_BLOCK);
			break;
		}
	assert_true(at > 0 && at <= (long)(MS(400) + MS(2300)));
	/* stays true */
	assert_true(prompt_detector_push(&det, pcm));
	prompt_ref_free(&ref2);

	/* too little sound, bad config */
	memset(pcm, 0, MS(1000) * sizeof(pcm[0]));
	assert_int_equal(prompt_ref_build(&ref2, pcm, MS(1000), NULL), -EINVAL);
	assert_int_equal(prompt_ref_build(&ref2, prompt_a, 100, NULL), -EINVAL);
	cfg.min_ratio = 1.5;
	assert_int_equal(prompt_ref_build(&ref2, prompt_a, prompt_a_n, &cfg), -EINVAL);
	prompt_ref_free(&ref2);
	prompt_ref_free(NULL);
}

/* ---- loader ---- */

static char tmpdir[64];

static void put16(uint8_t *p, unsigned int v)
{
	p[0] = v & 0xFF;
	p[1] = (v >> 8) & 0xFF;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xFFFF);
	put16(p + 2, v >> 16);
}

static void write_file(const char *path, const void *data, size_t len)
{
	FILE *f = fopen(path, "wb");

	assert_non_null(f);
	assert_int_equal(fwrite(data, 1, len, f), len);
	fclose(f);
}

/* A WAV with the given format fields, optionally a LIST chunk first. */
static size_t make_wav(uint8_t *buf, unsigned int tag, unsigned int ch, uint32_t rate, unsigned int bits,
		       const int16_t *s, size_t n, bool list)
{
	size_t pos = 12;

	memcpy(buf, "RIFF", 4);
	memcpy(buf + 8, "WAVE", 4);
	if (list) {
		memcpy(buf + pos, "LIST", 4);
		put32(buf + pos + 4, 5);
		memcpy(buf + pos + 8, "abcde\0", 6);	/* odd size: padded */
		pos += 14;
	}
	memcpy(buf + pos, "fmt ", 4);
	put32(buf + pos + 4, 16);
	put16(buf + pos + 8, tag);
	put16(buf + pos + 10, ch);
	put32(buf + pos + 12, rate);
	put32(buf + pos + 16, rate * ch * bits / 8);
	put16(buf + pos + 20, ch * bits / 8);
	put16(buf + pos + 22, bits);
	pos += 24;
	memcpy(buf + pos, "data", 4);
	put32(buf + pos + 4, (uint32_t)(n * 2));
	for (size_t i = 0; i < n; i++)
		put16(buf + pos + 8 + 2 * i, (uint16_t)s[i]);
	pos += 8 + n * 2;
	put32(buf + 4, (uint32_t)(pos - 8));
	return pos;
}

static int loader_setup(void **state)
{
	(void)state;
	if (!prompt_a_n)
		prompt_a_n = make_prompt(prompt_a, 0x1234567ull);
	strcpy(tmpdir, "/tmp/trunkrec-prompt-XXXXXX");
	return mkdtemp(tmpdir) ? 0 : -1;
}

static int loader_teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", tmpdir);
	return system(cmd) == 0 ? 0 : -1;
}

static void expect_error(const char *name, const void *data, size_t len, int want, const char *needle)
{
	char path[128], err[256] = "";
	int16_t *s = NULL;
	size_t n = 0;
	int r;

	snprintf(path, sizeof(path), "%s/%s", tmpdir, name);
	if (data)
		write_file(path, data, len);
	r = prompt_load(path, &s, &n, err, sizeof(err));
	if (r != want || !strstr(err, needle))
		print_error("%s: r=%d err=\"%s\"\n", name, r, err);
	assert_int_equal(r, want);
	assert_non_null(strstr(err, needle));
	assert_null(s);
}

static void load_good_files(void **state)
{
	static uint8_t buf[2 * MS(4000) + 256];
	uint8_t codes[MS(3000)];
	char path[128], err[256];
	int16_t *s;
	size_t n, len;

	(void)state;
	for (int list = 0; list < 2; list++) {
		len = make_wav(buf, 1, 1, 8000, 16, prompt_a, prompt_a_n, list);
		snprintf(path, sizeof(path), "%s/p%d.WAV", tmpdir, list);
		write_file(path, buf, len);
		assert_int_equal(prompt_load(path, &s, &n, err, sizeof(err)), 0);
		assert_int_equal(n, prompt_a_n);
		assert_memory_equal(s, prompt_a, n * sizeof(*s));
		free(s);
	}
	for (int law = 0; law < 2; law++) {
		g711_encode(law ? G711_ULAW : G711_ALAW, prompt_a, codes, prompt_a_n);
		snprintf(path, sizeof(path), "%s/p.%s", tmpdir, law ? "ulaw" : "alaw");
		write_file(path, codes, prompt_a_n);
		assert_int_equal(prompt_load(path, &s, &n, err, sizeof(err)), 0);
		assert_int_equal(n, prompt_a_n);
		for (size_t i = 0; i < n; i++)
			assert_int_equal(s[i], law ? g711_ulaw_to_linear[codes[i]] : g711_alaw_to_linear[codes[i]]);
		/* and the loaded G.711 prompt still fingerprints */
		{
			struct prompt_ref r;

			assert_int_equal(prompt_ref_build(&r, s, n, NULL), 0);
			prompt_ref_free(&r);
		}
		free(s);
	}
}

static void load_bad_files(void **state)
{
	static uint8_t buf[4096];
	int16_t few[100] = { 0 };
	size_t len;

	(void)state;
	expect_error("missing.wav", NULL, 0, -ENOENT, "No such file");
	expect_error("p.mp3", "x", 1, -EINVAL, "use .wav");
	expect_error("text.wav", "hello, world", 12, -EINVAL, "not a WAV");
	len = make_wav(buf, 1, 2, 8000, 16, few, 100, false);
	expect_error("stereo.wav", buf, len, -EINVAL, "need mono");
	len = make_wav(buf, 1, 1, 16000, 16, few, 100, false);
	expect_error("16k.wav", buf, len, -EINVAL, "need 8000 Hz");
	len = make_wav(buf, 1, 1, 8000, 8, few, 100, false);
	expect_error("8bit.wav", buf, len, -EINVAL, "need 16-bit");
	len = make_wav(buf, 6, 1, 8000, 8, few, 100, false);
	expect_error("alaw-in-wav.wav", buf, len, -EINVAL, "not PCM");
	len = make_wav(buf, 1, 1, 8000, 16, few, 100, false);
	expect_error("short.wav", buf, len - 50, -EINVAL, "truncated");
	expect_error("empty.alaw", "", 0, -EINVAL, "empty");
	memcpy(buf, "RIFF\0\0\0\0WAVEjunk\0\0\0\0", 20);
	expect_error("nodata.wav", buf, 20, -EINVAL, "no 'data'");
}

int main(void)
{
	const struct CMUnitTest verify[] = {
		cmocka_unit_test(detected_as_played),
		cmocka_unit_test(not_detected_without_prompt),
		cmocka_unit_test(truncated_prompt_is_not_played),
		cmocka_unit_test(span_option_checks_first_seconds),
	};
	const struct CMUnitTest loader[] = {
		cmocka_unit_test(load_good_files),
		cmocka_unit_test(load_bad_files),
	};
	int r;

	r = cmocka_run_group_tests(verify, setup, teardown);
	r += cmocka_run_group_tests(loader, loader_setup, loader_teardown);
	return r;
}
