// SPDX-License-Identifier: GPL-2.0-or-later
/* base/latency: every value lands in a bucket whose bounds hold it; quantiles are at most 25 % high. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include "base/latency.h"

static void buckets_hold_their_values(void **state)
{
	(void)state;
	for (uint64_t ns = 0; ns < 7000000000ull; ns = ns < 64 ? ns + 1 : ns + ns / 7) {
		unsigned b = latency_bucket(ns);

		assert_true(b < LATENCY_BUCKETS);
		assert_true(latency_bucket_lo(b) <= ns);
		assert_true(ns < latency_bucket_hi(b));
		assert_true(latency_bucket_hi(b) <= ns + ns / 4 + 1);
	}
	assert_int_equal(latency_bucket(UINT64_MAX), LATENCY_BUCKETS - 1);
}

static void quantiles(void **state)
{
	unsigned long hist[LATENCY_BUCKETS] = { 0 };

	(void)state;
	assert_int_equal(latency_quantile_ns(hist, 0, 0.99), 0);
	for (int i = 0; i < 990; i++)
		hist[latency_bucket(20000)]++;		/* 20 µs */
	for (int i = 0; i < 10; i++)
		hist[latency_bucket(5000000)]++;	/* 5 ms */
	assert_true(latency_quantile_ns(hist, 1000, 0.50) >= 20000);
	assert_true(latency_quantile_ns(hist, 1000, 0.50) <= 25000);
	assert_true(latency_quantile_ns(hist, 1000, 0.99) <= 25000);	/* the 990th of 1000 */
	assert_true(latency_quantile_ns(hist, 1000, 0.999) >= 5000000);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(buckets_hold_their_values),
		cmocka_unit_test(quantiles),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
