/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The monotonic clock every thread reads: milliseconds for timers and the
 * policy, nanoseconds for batch times. Any thread; no syscall where the vDSO
 * serves CLOCK_MONOTONIC.
 */
#ifndef TRUNKREC_BASE_CLOCK_H
#define TRUNKREC_BASE_CLOCK_H

#include <stdint.h>
#include <time.h>

static inline uint64_t clock_now_ns(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000000000u + (uint64_t)t.tv_nsec;
}

static inline uint64_t clock_now_ms(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)t.tv_sec * 1000 + (uint64_t)t.tv_nsec / 1000000;
}

#endif
