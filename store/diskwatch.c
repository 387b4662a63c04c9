// SPDX-License-Identifier: GPL-2.0-or-later
#include "store/diskwatch.h"

#include <errno.h>
#include <string.h>
#include <sys/statvfs.h>
#include <time.h>

#include "base/log.h"

bool diskwatch_update(struct diskwatch *w, uint64_t free_bytes)
{
	bool low = atomic_load(&w->low);

	atomic_store(&w->free_bytes, free_bytes);
	if (!w->low_bytes)
		return false;
	if (!low && free_bytes < w->low_bytes) {
		atomic_store(&w->low, true);
		atomic_fetch_add(&w->alarms, 1);
		log_err("ALARM recordings disk %s low: %llu MB free, below disk_low_mb = %llu; free space (trunkrec "
			"purge, move old recordings) before it fills and new calls go unrecorded", w->dir,
			(unsigned long long)(free_bytes >> 20), (unsigned long long)(w->low_bytes >> 20));
		return true;
	}
	if (low && free_bytes > w->low_bytes + w->low_bytes / 10) {
		atomic_store(&w->low, false);
		log_warn("recordings disk %s: %llu MB free again: low-space alarm cleared", w->dir,
			 (unsigned long long)(free_bytes >> 20));
		return true;
	}
	return false;
}

static void *diskwatch_main(void *arg)
{
	struct diskwatch *w = arg;
	bool warned = false;

	pthread_setname_np(pthread_self(), "trec-disk");
	pthread_mutex_lock(&w->lock);
	while (!w->stopping) {
		struct statvfs vfs;
		struct timespec until;

		pthread_mutex_unlock(&w->lock);
		if (statvfs(w->dir, &vfs) == 0) {
			diskwatch_update(w, (uint64_t)vfs.f_bavail * vfs.f_frsize);
			warned = false;
		} else if (!warned) {
			log_warn("recordings disk %s: cannot read its free space: %s", w->dir, strerror(errno));
			warned = true;
		}
		pthread_mutex_lock(&w->lock);
		clock_gettime(CLOCK_REALTIME, &until);
		until.tv_sec += DISKWATCH_PERIOD_S;
		if (!w->stopping)
			pthread_cond_timedwait(&w->wake, &w->lock, &until);
	}
	pthread_mutex_unlock(&w->lock);
	return NULL;
}

int diskwatch_start(struct diskwatch *w, const char *dir, unsigned low_mb)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->dir = dir;
	w->low_bytes = (uint64_t)low_mb << 20;
	pthread_mutex_init(&w->lock, NULL);
	pthread_cond_init(&w->wake, NULL);
	rc = -pthread_create(&w->thread, NULL, diskwatch_main, w);
	if (rc < 0) {
		pthread_cond_destroy(&w->wake);
		pthread_mutex_destroy(&w->lock);
	}
	return rc;
}

void diskwatch_stop(struct diskwatch *w)
{
	pthread_mutex_lock(&w->lock);
	w->stopping = true;
	pthread_cond_signal(&w->wake);
	pthread_mutex_unlock(&w->lock);
	pthread_join(w->thread, NULL);
	pthread_cond_destroy(&w->wake);
	pthread_mutex_destroy(&w->lock);
}
