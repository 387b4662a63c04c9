// SPDX-License-Identifier: GPL-2.0-or-later
/* base/rtprio: the relay becomes SCHED_FIFO; what it starts afterwards does not. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <sched.h>

#include "base/rtprio.h"

static void *report_policy(void *arg)
{
	*(int *)arg = sched_getscheduler(0);
	return NULL;
}

static void relay_is_realtime_its_threads_are_not(void **state)
{
	pthread_t t;
	int policy = -1, child = -1;
	struct sched_param sp;
	int rc = rtprio_enter(10);

	(void)state;
	if (rc == -EPERM)
		skip();	/* neither root, CAP_SYS_NICE nor RLIMIT_RTPRIO here */
	assert_int_equal(rc, 0);
	assert_int_equal(pthread_getschedparam(pthread_self(), &policy, &sp), 0);
	assert_int_equal(policy & ~SCHED_RESET_ON_FORK, SCHED_FIFO);
	assert_int_equal(sp.sched_priority, 10);
	assert_int_equal(pthread_create(&t, NULL, report_policy, &child), 0);
	pthread_join(t, NULL);
	assert_int_equal(child, SCHED_OTHER);
}

static void refuses_priorities_out_of_range(void **state)
{
	(void)state;
	assert_int_equal(rtprio_enter(0), -EINVAL);
	assert_int_equal(rtprio_enter(100), -EINVAL);
	assert_int_equal(rtprio_enter(-1), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(relay_is_realtime_its_threads_are_not),
		cmocka_unit_test(refuses_priorities_out_of_range),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
