// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/rtprio.h"

#include <errno.h>
#include <pthread.h>
#include <sched.h>

int rtprio_enter(int prio)
{
	struct sched_param sp = { .sched_priority = prio };

	if (prio < sched_get_priority_min(SCHED_FIFO) || prio > sched_get_priority_max(SCHED_FIFO))
		return -EINVAL;
	/* Reset-on-fork: a thread (or program) this one starts does not inherit the priority. */
	return -pthread_setschedparam(pthread_self(), SCHED_FIFO | SCHED_RESET_ON_FORK, &sp);
}
