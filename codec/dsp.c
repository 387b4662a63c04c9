// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Goertzel, energy and decibels. See dsp.h for the scale.
 */
#include <math.h>

#include "codec/dsp.h"

/* Full scale squared: normalising here keeps every caller in dBFS. */
#define FULL_SCALE_SQ	(32768.0 * 32768.0)

double dsp_goertzel_power(const int16_t *x, size_t n, size_t stride, double freq, double rate)
{
	double coeff, s1 = 0.0, s2 = 0.0, mag2;

	if (n == 0 || rate <= 0.0)
		return 0.0;
	if (stride == 0)
		stride = 1;

	/*
	 * The generalised Goertzel: the frequency need not fall on a DFT bin,
	 * so a grid of arbitrary test frequencies can be compared directly.
	 */
	coeff = 2.0 * cos(2.0 * M_PI * freq / rate);
	for (size_t i = 0; i < n; i++) {
		double s0 = (double)x[i * stride] + coeff * s1 - s2;

		s2 = s1;
		s1 = s0;
	}
	mag2 = s1 * s1 + s2 * s2 - coeff * s1 * s2;
	if (mag2 < 0.0)	/* rounding on a silent input */
		mag2 = 0.0;

	/*
	 * |X|² of a sine of amplitude A is (A·n/2)²; its mean square is A²/2,
	 * hence 2|X|²/n² to put the tone on dsp_energy()'s scale.
	 */
	return 2.0 * mag2 / ((double)n * (double)n) / FULL_SCALE_SQ;
}

double dsp_energy(const int16_t *x, size_t n, size_t stride)
{
	double sum = 0.0;

	if (n == 0)
		return 0.0;
	if (stride == 0)
		stride = 1;

	for (size_t i = 0; i < n; i++) {
		double v = x[i * stride];

		sum += v * v;
	}
	return sum / (double)n / FULL_SCALE_SQ;
}

double dsp_db(double power)
{
	/* written so NaN falls into the floor too */
	if (!(power > 1e-20))
		return -200.0;
	return 10.0 * log10(power);
}
