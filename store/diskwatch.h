/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The recordings disk, watched: every DISKWATCH_PERIOD_S a thread reads the
 * free space and raises "ALARM recordings disk low" when it falls below the
 * configured floor ([general] disk_low_mb), once, and says when it is clear
 * again (10 % above the floor, so a disk hovering at the line does not
 * flap). Before the disk is full (ENOSPC, relay/loop.c) the operator has
 * time to act. statvfs() can block on a sick filesystem: that is why this
 * is a thread of its own and never the relay.
 */
#ifndef TRUNKREC_STORE_DISKWATCH_H
#define TRUNKREC_STORE_DISKWATCH_H

#include <pthread.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>

#define DISKWATCH_PERIOD_S	10

struct diskwatch {
	const char *dir;
	uint64_t low_bytes;		/* the floor; 0: never low */
	_Atomic bool low;		/* the alarm is up */
	_Atomic unsigned long alarms;	/* times it went up */
	_Atomic uint64_t free_bytes;	/* at the last look */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t wake;
	bool stopping;
};

/* Look at free_bytes now: raise or clear the alarm (log line, counters). Returns true on an edge. */
bool diskwatch_update(struct diskwatch *w, uint64_t free_bytes);

/* low_mb 0: only the free space is watched (for stats), never alarmed. Returns 0 or -errno. */
int diskwatch_start(struct diskwatch *w, const char *dir, unsigned low_mb);
void diskwatch_stop(struct diskwatch *w);

#endif
