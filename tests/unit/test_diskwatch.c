// SPDX-License-Identifier: GPL-2.0-or-later
/* store/diskwatch: the low-space alarm goes up once below the floor, clears 10 % above it, never flaps. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>
#include <time.h>

#include "store/diskwatch.h"

#define MB(n) ((uint64_t)(n) << 20)

static void alarm_edges_with_hysteresis(void **state)
{
	struct diskwatch w;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.dir = "/recordings";
	w.low_bytes = MB(1000);
	assert_false(diskwatch_update(&w, MB(5000)));
	assert_false(atomic_load(&w.low));
	assert_true(diskwatch_update(&w, MB(999)));		/* below the floor: up */
	assert_true(atomic_load(&w.low));
	assert_false(diskwatch_update(&w, MB(500)));		/* still low: no second alarm */
	assert_false(diskwatch_update(&w, MB(1050)));		/* above the floor, inside the 10 %: stays up */
	assert_true(atomic_load(&w.low));
	assert_true(diskwatch_update(&w, MB(1101)));		/* clear */
	assert_false(atomic_load(&w.low));
	assert_false(diskwatch_update(&w, MB(1000)));		/* at the floor is not below it */
	assert_true(diskwatch_update(&w, MB(10)));
	assert_int_equal(atomic_load(&w.alarms), 2);
	assert_int_equal(atomic_load(&w.free_bytes), MB(10));
}

static void floor_zero_never_alarms(void **state)
{
	struct diskwatch w;

	(void)state;
	memset(&w, 0, sizeof(w));
	w.dir = "/recordings";
	assert_false(diskwatch_update(&w, 0));
	assert_false(atomic_load(&w.low));
	assert_int_equal(atomic_load(&w.alarms), 0);
}

/* The thread looks at once, then every period: the first figure is there right after start. */
static void thread_reads_the_real_disk(void **state)
{
	struct diskwatch w;

	(void)state;
	assert_int_equal(diskwatch_start(&w, "/", 0), 0);
	for (int i = 0; i < 200 && !atomic_load(&w.free_bytes); i++) {
		struct timespec ts = { 0, 10 * 1000 * 1000 };

		nanosleep(&ts, NULL);
	}
	assert_true(atomic_load(&w.free_bytes) > 0);
	diskwatch_stop(&w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alarm_edges_with_hysteresis),
		cmocka_unit_test(floor_zero_never_alarms),
		cmocka_unit_test(thread_reads_the_real_disk),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
