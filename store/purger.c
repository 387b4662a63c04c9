// SPDX-License-Identifier: GPL-2.0-or-later
#include "store/purger.h"

#include <errno.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/catalog.h"
#include "base/log.h"
#include "store/recovery.h"
#include "store/retention.h"

static void *purger_main(void *arg)
{
	struct purger *p = arg;

	pthread_setname_np(pthread_self(), "trec-purge");
	pthread_mutex_lock(&p->lock);
	while (!p->stopping) {
		int n;

		pthread_mutex_unlock(&p->lock);
		n = retention_purge(p->dir, p->catalog, p->audit, (uint32_t)getuid(), (int64_t)time(NULL), false,
				    NULL, NULL);
		if (n < 0)
			log_err("retention: purge failed: %s; expired recordings stay until the next run", strerror(-n));
		else if (n > 0)
			log_info("retention: %d expired recording(s) deleted", n);
		pthread_mutex_lock(&p->lock);
		p->runs++;
		if (n > 0)
			p->purged += (unsigned long)n;
		if (!p->stopping) {
			struct timespec until;

			clock_gettime(CLOCK_REALTIME, &until);
			until.tv_sec += p->interval_s;
			pthread_cond_timedwait(&p->wake, &p->lock, &until);
		}
	}
	pthread_mutex_unlock(&p->lock);
	return NULL;
}

int purger_start(struct purger *p, const char *dir, const char *catalog_path, struct audit *audit, int interval_s)
{
	int rc;

	memset(p, 0, sizeof(*p));
	p->dir = dir;
	p->audit = audit;
	p->interval_s = interval_s;
	rc = catalog_open(catalog_path, NULL, &p->catalog);
	if (rc < 0)
		return rc;
	pthread_mutex_init(&p->lock, NULL);
	pthread_cond_init(&p->wake, NULL);
	rc = -pthread_create(&p->thread, NULL, purger_main, p);
	if (rc < 0) {
		catalog_close(p->catalog);
		return rc;
	}
	return 0;
}

void purger_stop(struct purger *p)
{
	pthread_mutex_lock(&p->lock);
	p->stopping = true;
	pthread_cond_signal(&p->wake);
	pthread_mutex_unlock(&p->lock);
	pthread_join(p->thread, NULL);
	catalog_close(p->catalog);
	pthread_cond_destroy(&p->wake);
	pthread_mutex_destroy(&p->lock);
}
