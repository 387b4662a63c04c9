// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * G.711 tables and encoders against the standard's formulas.
 *
 * The reference decoders below are written from G.711's description
 * (sign, 3-bit segment, 4-bit mantissa; A-law even bits inverted, µ-law all
 * bits inverted and biased by 33) rather than copied from codec/g711.c, so a
 * wrong literal in the table can't hide behind the same mistake here.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "codec/g711.h"

/* A-law: 13-bit magnitude is 2m+1 in segment 0, (2m+33)·2^(e-1) above; ×8 to 16 bits. */
static int ref_alaw(unsigned int code)
{
	unsigned int c = code ^ 0x55;
	unsigned int e = (c >> 4) & 7, m = c & 15;
	int mag = e == 0 ? 2 * m + 1 : (2 * m + 33) << (e - 1);

	return (c & 0x80) ? mag * 8 : -mag * 8;
}

/* µ-law: 14-bit magnitude is (2m+33)·2^e − 33; ×4 to 16 bits. */
static int ref_ulaw(unsigned int code)
{
	unsigned int c = ~code & 0xFF;
	unsigned int e = (c >> 4) & 7, m = c & 15;
	int mag = ((2 * m + 33) << e) - 33;

	return (c & 0x80) ? -mag * 4 : mag * 4;
}

static void table_alaw_matches_formula(void **state)
{
	(void)state;
	for (unsigned int c = 0; c < 256; c++)
		assert_int_equal(g711_alaw_to_linear[c], ref_alaw(c));
	/* spot values from the standard's tables */
	assert_int_equal(g711_alaw_to_linear[0xD5], 8);
	assert_int_equal(g711_alaw_to_linear[0x55], -8);
	assert_int_equal(g711_alaw_to_linear[0xAA], 32256);
	assert_int_equal(g711_alaw_to_linear[0x2A], -32256);
}

static void table_ulaw_matches_formula(void **state)
{
	(void)state;
	for (unsigned int c = 0; c < 256; c++)
		assert_int_equal(g711_ulaw_to_linear[c], ref_ulaw(c));
	assert_int_equal(g711_ulaw_to_linear[0xFF], 0);
	assert_int_equal(g711_ulaw_to_linear[0x7F], 0);
	assert_int_equal(g711_ulaw_to_linear[0x80], 32124);
	assert_int_equal(g711_ulaw_to_linear[0x00], -32124);
}

static void alaw_roundtrip_codes(void **state)
{
	(void)state;
	for (unsigned int c = 0; c < 256; c++)
		assert_int_equal(g711_linear_to_alaw(g711_alaw_to_linear[c]), c);
}

static void ulaw_roundtrip_codes(void **state)
{
	(void)state;
	for (unsigned int c = 0; c < 256; c++) {
		/* 0x7F is µ-law's negative zero: zero encodes as positive 0xFF */
		unsigned int want = c == 0x7F ? 0xFF : c;

		assert_int_equal(g711_linear_to_ulaw(g711_ulaw_to_linear[c]), want);
	}
}

/*
 * Over every 16-bit input: the decoded value never decreases as the input
 * grows, stays within one quantisation step of the input, and the encoder
 * picks a code whose value is one of the two levels around the input.
 */
static void check_monotonic(enum g711_law law, int max_err_frac)
{
	const int16_t *table = law == G711_ULAW ? g711_ulaw_to_linear : g711_alaw_to_linear;
	int prev = -32768 * 2;

	for (int x = -32768; x <= 32767; x++) {
		uint8_t code = law == G711_ULAW ? g711_linear_to_ulaw(x) : g711_linear_to_alaw(x);
		int y = table[code];
		int err = y > x ? y - x : x - y;
		int ax = x < 0 ? -x : x;

		assert_true(y >= prev);
		prev = y;
		/* error bounded by the step of the segment: ≤ |x|/16 + a floor (or clipping) */
		if (ax < 32000)
			assert_true(err <= ax / max_err_frac + 16);
	}
}

static void alaw_encode_monotonic(void **state)
{
	(void)state;
	check_monotonic(G711_ALAW, 16);
}

static void ulaw_encode_monotonic(void **state)
{
	(void)state;
	check_monotonic(G711_ULAW, 16);
}

static void idle_codes(void **state)
{
	(void)state;
	assert_int_equal(g711_idle_code(G711_ALAW), 0xD5);
	assert_int_equal(g711_idle_code(G711_ULAW), 0xFF);
	assert_int_equal(g711_linear_to_alaw(0), 0xD5);
	assert_int_equal(g711_linear_to_ulaw(0), 0xFF);
	/* the idle code decodes to (near) silence */
	assert_int_equal(g711_ulaw_to_linear[0xFF], 0);
	assert_true(g711_alaw_to_linear[0xD5] <= 8);
}

static void extremes_clip(void **state)
{
	(void)state;
	assert_int_equal(g711_linear_to_alaw(32767), 0xAA);
	assert_int_equal(g711_linear_to_alaw(-32768), 0x2A);
	assert_int_equal(g711_linear_to_ulaw(32767), 0x80);
	assert_int_equal(g711_linear_to_ulaw(-32768), 0x00);
}

static void block_functions_match_scalar(void **state)
{
	int16_t pcm[512], back[512];
	uint8_t codes[512], again[512];

	(void)state;
	for (int i = 0; i < 512; i++)
		pcm[i] = (int16_t)(i * 128 - 32768);
	for (int law = G711_ALAW; law <= G711_ULAW; law++) {
		g711_encode(law, pcm, codes, 512);
		for (int i = 0; i < 512; i++)
			assert_int_equal(codes[i], law == G711_ULAW ? g711_linear_to_ulaw(pcm[i]) :
						   g711_linear_to_alaw(pcm[i]));
		g711_decode(law, codes, back, 512);
		for (int i = 0; i < 512; i++)
			assert_int_equal(back[i], law == G711_ULAW ? g711_ulaw_to_linear[codes[i]] :
						  g711_alaw_to_linear[codes[i]]);
		/* decoding then re-encoding is stable (tandem G.711 is lossless) */
		g711_encode(law, back, again, 512);
		assert_memory_equal(codes, again, 512);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(table_alaw_matches_formula),
		cmocka_unit_test(table_ulaw_matches_formula),
		cmocka_unit_test(alaw_roundtrip_codes),
		cmocka_unit_test(ulaw_roundtrip_codes),
		cmocka_unit_test(alaw_encode_monotonic),
		cmocka_unit_test(ulaw_encode_monotonic),
		cmocka_unit_test(idle_codes),
		cmocka_unit_test(extremes_clip),
		cmocka_unit_test(block_functions_match_scalar),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
