/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Latency histograms with a fixed size: log2 buckets with 4 sub-buckets per
 * octave, in ns. Bucket b < 4 holds b ns; above, b holds
 * [(4 + b % 4) << (b / 4 - 1), (5 + b % 4) << (b / 4 - 1)); the last bucket
 * also takes everything longer (≥ 7.5 s). Quantiles come out at most 25 %
 * high. No allocation: a hot path may count into one.
 */
#ifndef TRUNKREC_BASE_LATENCY_H
#define TRUNKREC_BASE_LATENCY_H

#include <stdint.h>

#define LATENCY_BUCKETS	128

static inline unsigned latency_bucket(uint64_t ns)
{
	unsigned b = (unsigned)ns;

	if (ns >= 4) {
		int msb = 63 - __builtin_clzll(ns);

		b = 4 * (unsigned)(msb - 1) + (unsigned)((ns >> (msb - 2)) & 3);
	}
	return b < LATENCY_BUCKETS ? b : LATENCY_BUCKETS - 1;
}

uint64_t latency_bucket_lo(unsigned b);
uint64_t latency_bucket_hi(unsigned b);

/* The q-quantile (0..1) of hist[LATENCY_BUCKETS] holding total samples, as its bucket's upper bound; 0 when empty. */
uint64_t latency_quantile_ns(const unsigned long *hist, unsigned long total, double q);

#endif
