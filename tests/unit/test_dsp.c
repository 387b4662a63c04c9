// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Goertzel, energy and dB against signals whose answers are known exactly.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>

#include "codec/dsp.h"

#define RATE	8000.0
#define N	8000	/* 1 s: 1 Hz bins, so whole-Hz tones fall on a bin */

static int16_t buf[2 * N];

/* cmocka 1.1.5's assert_near() works in float: compare in double */
#define assert_near(a, b, eps) near_check((a), (b), (eps), __FILE__, __LINE__)

static void near_check(double a, double b, double eps, const char *file, int line)
{
	if (!(fabs(a - b) <= eps)) {
		print_error("%s:%d: %.9g != %.9g (±%g)\n", file, line, a, b, eps);
		fail();
	}
}

static void sine_fill(int16_t *x, size_t n, size_t stride, double freq, double amp)
{
	for (size_t i = 0; i < n; i++)
		x[i * stride] = (int16_t)lrint(amp * sin(2.0 * M_PI * freq * (double)i / RATE));
}

static void db_of_known_powers(void **state)
{
	(void)state;
	assert_near(dsp_db(1.0), 0.0, 1e-12);
	assert_near(dsp_db(0.5), -3.0103, 1e-4);
	assert_near(dsp_db(1e-3), -30.0, 1e-9);
	assert_near(dsp_db(0.0), -200.0, 0.0);
	assert_near(dsp_db(-1.0), -200.0, 0.0);
	assert_near(dsp_db(NAN), -200.0, 0.0);
}

static void energy_of_known_signals(void **state)
{
	(void)state;
	assert_near(dsp_energy(buf, 0, 1), 0.0, 0.0);

	for (size_t i = 0; i < N; i++)
		buf[i] = (i & 1) ? -16384 : 16384;
	/* a half-scale square wave: mean square 1/4 of full scale, −6.02 dBFS */
	assert_near(dsp_energy(buf, N, 1), 0.25, 1e-12);

	/* a full-scale sine reads −3.01 dBFS */
	sine_fill(buf, N, 1, 1000.0, 32767.0);
	assert_near(dsp_db(dsp_energy(buf, N, 1)), -3.01, 0.01);
}

static void goertzel_finds_tone_level(void **state)
{
	double p;

	(void)state;
	/* −20 dBFS-ish sine (amplitude 0.1 of full scale: 0.005 mean square) */
	sine_fill(buf, N, 1, 1000.0, 3276.8);
	p = dsp_goertzel_power(buf, N, 1, 1000.0, RATE);
	assert_near(dsp_db(p), dsp_db(0.005), 0.05);
	/* same scale as energy for a pure tone */
	assert_near(dsp_db(p), dsp_db(dsp_energy(buf, N, 1)), 0.05);
	/* another bin is empty */
	assert_true(dsp_db(dsp_goertzel_power(buf, N, 1, 1100.0, RATE)) < dsp_db(p) - 60.0);
	/* off-bin frequency: the generalised form still measures it */
	sine_fill(buf, N, 1, 697.3, 3276.8);
	assert_near(dsp_db(dsp_goertzel_power(buf, N, 1, 697.3, RATE)), dsp_db(0.005), 0.1);
}

static void goertzel_stride_selects_channel(void **state)
{
	double l440, l1250, r440, r1250;

	(void)state;
	/* interleaved stereo: 440 Hz left, 1250 Hz right */
	sine_fill(buf, N, 2, 440.0, 10000.0);
	sine_fill(buf + 1, N, 2, 1250.0, 10000.0);
	l440 = dsp_db(dsp_goertzel_power(buf, N, 2, 440.0, RATE));
	l1250 = dsp_db(dsp_goertzel_power(buf, N, 2, 1250.0, RATE));
	r440 = dsp_db(dsp_goertzel_power(buf + 1, N, 2, 440.0, RATE));
	r1250 = dsp_db(dsp_goertzel_power(buf + 1, N, 2, 1250.0, RATE));
	assert_true(l440 > l1250 + 60.0);
	assert_true(r1250 > r440 + 60.0);
	assert_near(l440, r1250, 0.01);

	/* energy per channel */
	assert_near(dsp_energy(buf, N, 2), dsp_energy(buf + 1, N, 2), 1e-4);
	/* stride 0 is read as 1 */
	assert_near(dsp_energy(buf, N, 0), dsp_energy(buf, N, 1), 0.0);
}

static void silence_and_empty(void **state)
{
	(void)state;
	for (size_t i = 0; i < N; i++)
		buf[i] = 0;
	assert_near(dsp_goertzel_power(buf, N, 1, 1000.0, RATE), 0.0, 0.0);
	assert_near(dsp_goertzel_power(buf, 0, 1, 1000.0, RATE), 0.0, 0.0);
	assert_near(dsp_energy(buf, N, 1), 0.0, 0.0);
	assert_near(dsp_db(dsp_energy(buf, N, 1)), -200.0, 0.0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(db_of_known_powers),
		cmocka_unit_test(energy_of_known_signals),
		cmocka_unit_test(goertzel_finds_tone_level),
		cmocka_unit_test(goertzel_stride_selects_channel),
		cmocka_unit_test(silence_and_empty),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
