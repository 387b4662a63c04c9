// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * G.711 A-law and µ-law (ITU-T G.711).
 *
 * The decode tables are literals rather than built at start-up so the hot
 * path reads constant, shareable memory and no initialisation order matters.
 * They were generated once from the G.711 segment/mantissa formulas (the same
 * ones tests/unit/test_g711.c recomputes independently); values are the
 * 13-bit (A-law) or 14-bit (µ-law) G.711 outputs scaled to 16 bits, as in the
 * classic Sun reference implementation.
 *
 * Any thread may call everything here: no state.
 */
#include "codec/g711.h"

const int16_t g711_alaw_to_linear[256] = {
	-5504, -5248, -6016, -5760, -4480, -4224, -4992, -4736,	/* 0x00 */
	-7552, -7296, -8064, -7808, -6528, -6272, -7040, -6784,	/* 0x08 */
	-2752, -2624, -3008, -2880, -2240, -2112, -2496, -2368,	/* 0x10 */
	-3776, -3648, -4032, -3904, -3264, -3136, -3520, -3392,	/* 0x18 */
	-22016, -20992, -24064, -23040, -17920, -16896, -19968, -18944,	/* 0x20 */
	-30208, -29184, -32256, -31232, -26112, -25088, -28160, -27136,	/* 0x28 */
	-11008, -10496, -12032, -11520, -8960, -8448, -9984, -9472,	/* 0x30 */
	-15104, -14592, -16128, -15616, -13056, -12544, -14080, -13568,	/* 0x38 */
	-344, -328, -376, -360, -280, -264, -312, -296,	/* 0x40 */
	-472, -456, -504, -488, -408, -392, -440, -424,	/* 0x48 */
	-88, -72, -120, -104, -24, -8, -56, -40,	/* 0x50 */
	-216, -200, -248, -232, -152, -136, -184, -168,	/* 0x58 */
	-1376, -1312, -1504, -1440, -1120, -1056, -1248, -1184,	/* 0x60 */
	-1888, -1824, -2016, -1952, -1632, -1568, -1760, -1696,	/* 0x68 */
	-688, -656, -752, -720, -560, -528, -624, -592,	/* 0x70 */
	-944, -912, -1008, -976, -816, -784, -880, -848,	/* 0x78 */
	5504, 5248, 6016, 5760, 4480, 4224, 4992, 4736,	/* 0x80 */
	7552, 7296, 8064, 7808, 6528, 6272, 7040, 6784,	/* 0x88 */
	2752, 2624, 3008, 2880, 2240, 2112, 2496, 2368,	/* 0x90 */
	3776, 3648, 4032, 3904, 3264, 3136, 3520, 3392,	/* 0x98 */
	22016, 20992, 24064, 23040, 17920, 16896, 19968, 18944,	/* 0xA0 */
	30208, 29184, 32256, 31232, 26112, 25088, 28160, 27136,	/* 0xA8 */
	11008, 10496, 12032, 11520, 8960, 8448, 9984, 9472,	/* 0xB0 */
	15104, 14592, 16128, 15616, 13056, 12544, 14080, 13568,	/* 0xB8 */
	344, 328, 376, 360, 280, 264, 312, 296,	/* 0xC0 */
	472, 456, 504, 488, 408, 392, 440, 424,	/* 0xC8 */
	88, 72, 120, 104, 24, 8, 56, 40,	/* 0xD0 */
	216, 200, 248, 232, 152, 136, 184, 168,	/* 0xD8 */
	1376, 1312, 1504, 1440, 1120, 1056, 1248, 1184,	/* 0xE0 */
	1888, 1824, 2016, 1952, 1632, 1568, 1760, 1696,	/* 0xE8 */
	688, 656, 752, 720, 560, 528, 624, 592,	/* 0xF0 */
	944, 912, 1008, 976, 816, 784, 880, 848,	/* 0xF8 */
};

const int16_t g711_ulaw_to_linear[256] = {
	-32124, -31100, -30076, -29052, -28028, -27004, -25980, -24956,	/* 0x00 */
	-23932, -22908, -21884, -20860, -19836, -18812, -17788, -16764,	/* 0x08 */
	-15996, -15484, -14972, -14460, -13948, -13436, -12924, -12412,	/* 0x10 */
	-11900, -11388, -10876, -10364, -9852, -9340, -8828, -8316,	/* 0x18 */
	-7932, -7676, -7420, -7164, -6908, -6652, -6396, -6140,	/* 0x20 */
	-5884, -5628, -5372, -5116, -4860, -4604, -4348, -4092,	/* 0x28 */
	-3900, -3772, -3644, -3516, -3388, -3260, -3132, -3004,	/* 0x30 */
	-2876, -2748, -2620, -2492, -2364, -2236, -2108, -1980,	/* 0x38 */
	-1884, -1820, -1756, -1692, -1628, -1564, -1500, -1436,	/* 0x40 */
	-1372, -1308, -1244, -1180, -1116, -1052, -988, -924,	/* 0x48 */
	-876, -844, -812, -780, -748, -716, -684, -652,	/* 0x50 */
	-620, -588, -556, -524, -492, -460, -428, -396,	/* 0x58 */
	-372, -356, -340, -324, -308, -292, -276, -260,	/* 0x60 */
	-244, -228, -212, -196, -180, -164, -148, -132,	/* 0x68 */
	-120, -112, -104, -96, -88, -80, -72, -64,	/* 0x70 */
	-56, -48, -40, -32, -24, -16, -8, 0,	/* 0x78 */
	32124, 31100, 30076, 29052, 28028, 27004, 25980, 24956,	/* 0x80 */
	23932, 22908, 21884, 20860, 19836, 18812, 17788, 16764,	/* 0x88 */
	15996, 15484, 14972, 14460, 13948, 13436, 12924, 12412,	/* 0x90 */
	11900, 11388, 10876, 10364, 9852, 9340, 8828, 8316,	/* 0x98 */
	7932, 7676, 7420, 7164, 6908, 6652, 6396, 6140,	/* 0xA0 */
	5884, 5628, 5372, 5116, 4860, 4604, 4348, 4092,	/* 0xA8 */
	3900, 3772, 3644, 3516, 3388, 3260, 3132, 3004,	/* 0xB0 */
	2876, 2748, 2620, 2492, 2364, 2236, 2108, 1980,	/* 0xB8 */
	1884, 1820, 1756, 1692, 1628, 1564, 1500, 1436,	/* 0xC0 */
	1372, 1308, 1244, 1180, 1116, 1052, 988, 924,	/* 0xC8 */
	876, 844, 812, 780, 748, 716, 684, 652,	/* 0xD0 */
	620, 588, 556, 524, 492, 460, 428, 396,	/* 0xD8 */
	372, 356, 340, 324, 308, 292, 276, 260,	/* 0xE0 */
	244, 228, 212, 196, 180, 164, 148, 132,	/* 0xE8 */
	120, 112, 104, 96, 88, 80, 72, 64,	/* 0xF0 */
	56, 48, 40, 32, 24, 16, 8, 0,	/* 0xF8 */
};

uint8_t g711_idle_code(enum g711_law law)
{
	return law == G711_ULAW ? 0xFF : 0xD5;
}

/*
 * Segment of a magnitude: the number of the first segment whose end is not
 * below it. Eight segments, each twice the width of the one before.
 */
static unsigned int seg_find(int val, int first_end)
{
	unsigned int seg = 0;

	while (seg < 8 && val > first_end) {
		first_end = (first_end << 1) | 1;
		seg++;
	}
	return seg;
}

uint8_t g711_linear_to_alaw(int16_t sample)
{
	int val = sample >> 3;	/* A-law works on 13 bits */
	unsigned int seg;
	uint8_t mask, code;

	if (val >= 0) {
		mask = 0xD5;	/* sign bit set, even bits inverted */
	} else {
		mask = 0x55;
		/* one's complement: -1 (-8 at 16 bits) is the smallest negative level */
		val = -val - 1;
	}

	/* segment ends at 13 bits: 0x1F, 0x3F, … 0xFFF; 16-bit input never exceeds 0xFFF */
	seg = seg_find(val, 0x1F);
	if (seg >= 8)
		return 0x7F ^ mask;

	code = seg << 4;
	/* segments 0 and 1 share a step size (the A-law "13-segment" curve) */
	code |= (seg < 2 ? val >> 1 : val >> seg) & 0x0F;
	return code ^ mask;
}

#define ULAW_BIAS	0x84	/* 33 at 14 bits, scaled by 4 */
#define ULAW_CLIP	8159	/* largest 14-bit magnitude that still fits after the bias */

uint8_t g711_linear_to_ulaw(int16_t sample)
{
	int val = sample >> 2;	/* µ-law works on 14 bits */
	unsigned int seg;
	uint8_t mask, code;

	if (val < 0) {
		val = -val;
		mask = 0x7F;
	} else {
		mask = 0xFF;
	}
	if (val > ULAW_CLIP)
		val = ULAW_CLIP;
	val += ULAW_BIAS >> 2;

	/* biased segment ends at 14 bits: 0x3F, 0x7F, … 0x1FFF */
	seg = seg_find(val, 0x3F);
	if (seg >= 8)
		return 0x7F ^ mask;

	code = (seg << 4) | ((val >> (seg + 1)) & 0x0F);
	return code ^ mask;
}

void g711_decode(enum g711_law law, const uint8_t *codes, int16_t *ret_samples, size_t n)
{
	const int16_t *table = law == G711_ULAW ? g711_ulaw_to_linear : g711_alaw_to_linear;

	for (size_t i = 0; i < n; i++)
		ret_samples[i] = table[codes[i]];
}

void g711_encode(enum g711_law law, const int16_t *samples, uint8_t *ret_codes, size_t n)
{
	if (law == G711_ULAW) {
		for (size_t i = 0; i < n; i++)
			ret_codes[i] = g711_linear_to_ulaw(samples[i]);
	} else {
		for (size_t i = 0; i < n; i++)
			ret_codes[i] = g711_linear_to_alaw(samples[i]);
	}
}
