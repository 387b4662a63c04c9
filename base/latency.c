// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/latency.h"

uint64_t latency_bucket_lo(unsigned b)
{
	return b < 4 ? b : (uint64_t)(4 + b % 4) << (b / 4 - 1);
}

uint64_t latency_bucket_hi(unsigned b)
{
	return b < 4 ? b + 1 : (uint64_t)(5 + b % 4) << (b / 4 - 1);
}

uint64_t latency_quantile_ns(const unsigned long *hist, unsigned long total, double q)
{
	unsigned long want = (unsigned long)((double)total * q + 0.5), seen = 0;

	if (!total)
		return 0;
	if (want < 1)
		want = 1;
	for (unsigned b = 0; b < LATENCY_BUCKETS; b++) {
		seen += hist[b];
		if (seen >= want)
			return latency_bucket_hi(b);
	}
	return latency_bucket_hi(LATENCY_BUCKETS - 1);
}
