/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * G.711 A-law and µ-law conversion (ITU-T G.711).
 *
 * Decoding is a 256-entry table lookup (the per-block hot path); encoding is
 * computed, since only the synthetic trunk and the prompt loader need it.
 * Any thread may call these.
 */
#ifndef TRUNKREC_CODEC_G711_H
#define TRUNKREC_CODEC_G711_H

#include <stddef.h>
#include <stdint.h>

enum g711_law {
	G711_ALAW = 0,	/* E1 */
	G711_ULAW = 1,	/* T1 */
};

/* The code a line carries when nothing is said: A-law 0xD5, µ-law 0xFF. */
uint8_t g711_idle_code(enum g711_law law);

/* 16-bit linear value of every code, built from the reference formulas. */
extern const int16_t g711_alaw_to_linear[256];
extern const int16_t g711_ulaw_to_linear[256];

uint8_t g711_linear_to_alaw(int16_t sample);
uint8_t g711_linear_to_ulaw(int16_t sample);

/* Decode n codes of the given law into linear samples (table lookup). */
void g711_decode(enum g711_law law, const uint8_t *codes, int16_t *ret_samples, size_t n);
void g711_encode(enum g711_law law, const int16_t *samples, uint8_t *ret_codes, size_t n);

#endif
