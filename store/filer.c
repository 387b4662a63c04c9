// SPDX-License-Identifier: GPL-2.0-or-later
/* The filer thread (store/filer.h): the workers' queue into the catalog. */
#include "store/filer.h"

#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "policy/gate.h"
#include "record/recorder.h"
#include "store/audit.h"
#include "store/retention.h"

/* ---- the queue ---------------------------------------------------------- */

struct done_copy {
	bool has_file, ok, started;
	uint64_t frames;
	int64_t now;
	char file[CATALOG_FILE_MAX];
	char meta[CATALOG_META_MAX];	/* SECRET-ish: numbers in clear until blinded */
	char reason[CATALOG_REASON_MAX];
};

struct catalog_queue {
	struct catalog *c;
	const struct policy_rules *rules;
	struct audit *audit;
	int dirfd;			/* the recordings directory; -1: discarded recordings are not deleted */
	pthread_t thread;
	pthread_mutex_t lock;
	pthread_cond_t cond;
	bool stopping;
	unsigned cap, head, count;
	struct done_copy *slots;
	struct catalog_queue_stats stats;	/* under lock */
};

static void copy_n(char *dst, size_t size, const char *src, size_t len)
{
	if (len > size - 1)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static void copy_str(char *dst, size_t size, const char *src)
{
	copy_n(dst, size, src ? src : "", src ? strnlen(src, size - 1) : 0);
}

bool catalog_post(struct catalog_queue *q, const struct recording_done *d)
{
	struct done_copy *s;
	bool ok = false;

	pthread_mutex_lock(&q->lock);
	if (q->count < q->cap && !q->stopping) {
		s = &q->slots[(q->head + q->count) % q->cap];
		s->has_file = d->file != NULL;
		s->ok = d->ok;
		s->started = d->started;
		s->frames = d->frames;
		s->now = (int64_t)time(NULL);
		copy_str(s->file, sizeof(s->file), d->file);
		copy_str(s->meta, sizeof(s->meta), d->meta);
		copy_str(s->reason, sizeof(s->reason), d->reason);
		q->count++;
		q->stats.posted++;
		ok = true;
		pthread_cond_signal(&q->cond);
	} else {
		q->stats.dropped++;
	}
	pthread_mutex_unlock(&q->lock);
	return ok;
}

void catalog_done_hook(void *userdata, const struct recording_done *done)
{
	catalog_post(userdata, done);
}

/* A supervisor discarded it during the call (audited then): now that it is closed, it goes. */
static void delete_discarded(struct catalog_queue *q, const struct catalog_row *row, int64_t now)
{
	int r;

	if (q->dirfd < 0 || !q->audit) {
		fprintf(stderr, "ALARM recording %s was discarded but cannot be deleted here (no directory or audit "
			"log); delete it with trunkrec delete\n", row->id);
		return;
	}
	r = retention_delete(q->dirfd, q->c, q->audit, (uint32_t)getuid(), now, row->id, "delete",
			     "discarded during the call at a supervisor's request");
	if (r == -EPERM)
		fprintf(stderr, "recording %s was discarded during the call but is now under legal hold: kept\n",
			row->id);
	else if (r < 0)
		fprintf(stderr, "ALARM recording %s was discarded but could not be deleted: %s; delete it with "
			"trunkrec delete\n", row->id, strerror(-r));
}

static void write_one(struct catalog_queue *q, struct done_copy *s)
{
	struct catalog_row row;
	char details[AUDIT_DETAILS_MAX / 3];
	int r = 0;

	catalog_row_from_done(s->has_file ? s->file : NULL, s->ok, s->frames, s->meta, s->reason, s->now,
			      catalog_key(q->c), q->rules, &row);
	sodium_memzero(s->meta, sizeof(s->meta));
	if (s->started) {
		/* A recording being written: its end replaces this row. */
		row.status = CATALOG_RECORDING;
		row.ended = 0;
		row.duration_ms = 0;
		copy_n(row.outcome, sizeof(row.outcome), "recording", strlen("recording"));
	}
	if (!s->started) {
		struct catalog_row was;

		/* Filed at its start: a hold or a deletion made meanwhile stands. */
		if (catalog_get(q->c, row.id, &was) == 0) {
			if (was.status == CATALOG_DELETED)
				return;
			row.legal_hold = was.legal_hold;
			memcpy(row.hold_reason, was.hold_reason, sizeof(row.hold_reason));
		}
	}
	if (q->audit && !s->started) {
		snprintf(details, sizeof(details), "status=%s,outcome=%s,duration_ms=%" PRId64 ",rule=%s",
			 catalog_status_name(row.status), row.outcome, row.duration_ms, row.rule);
		r = audit_append(q->audit, s->now, (uint32_t)getuid(), "recording", row.id, details, NULL);
	}
	if (r == 0)
		r = catalog_put(q->c, &row);
	if (r == 0 && !s->started && s->has_file && !strcmp(row.outcome, gate_outcome_name(GATE_OUTCOME_DISCARDED)))
		delete_discarded(q, &row, s->now);
	pthread_mutex_lock(&q->lock);
	if (r < 0)
		q->stats.failed++;
	else
		q->stats.written++;
	pthread_mutex_unlock(&q->lock);
}

static void *catalog_thread(void *arg)
{
	struct catalog_queue *q = arg;
	struct done_copy *s = malloc(sizeof(*s));

	if (!s)
		return NULL;
	pthread_mutex_lock(&q->lock);
	for (;;) {
		while (!q->count && !q->stopping)
			pthread_cond_wait(&q->cond, &q->lock);
		if (!q->count && q->stopping)
			break;
		*s = q->slots[q->head];
		sodium_memzero(q->slots[q->head].meta, sizeof(q->slots[q->head].meta));
		q->head = (q->head + 1) % q->cap;
		q->count--;
		pthread_mutex_unlock(&q->lock);
		write_one(q, s);
		pthread_mutex_lock(&q->lock);
	}
	pthread_mutex_unlock(&q->lock);
	free(s);
	return NULL;
}

int catalog_queue_start(struct catalog *c, const struct policy_rules *rules, struct audit *audit,
			const char *recordings, unsigned capacity, struct catalog_queue **ret)
{
	struct catalog_queue *q = calloc(1, sizeof(*q));
	int rc;

	if (!q)
		return -ENOMEM;
	q->c = c;
	q->rules = rules;
	q->audit = audit;
	q->dirfd = recordings ? open(recordings, O_RDONLY | O_DIRECTORY | O_CLOEXEC) : -1;
	if (recordings && q->dirfd < 0) {
		rc = -errno;
		free(q);
		return rc;
	}
	q->cap = capacity ? capacity : CATALOG_QUEUE_DEFAULT;
	q->slots = calloc(q->cap, sizeof(*q->slots));
	if (!q->slots) {
		if (q->dirfd >= 0)
			close(q->dirfd);
		free(q);
		return -ENOMEM;
	}
	pthread_mutex_init(&q->lock, NULL);
	pthread_cond_init(&q->cond, NULL);
	rc = pthread_create(&q->thread, NULL, catalog_thread, q);
	if (rc) {
		pthread_mutex_destroy(&q->lock);
		pthread_cond_destroy(&q->cond);
		if (q->dirfd >= 0)
			close(q->dirfd);
		free(q->slots);
		free(q);
		return -rc;
	}
	*ret = q;
	return 0;
}

void catalog_queue_stop(struct catalog_queue *q, struct catalog_queue_stats *ret_stats)
{
	if (!q)
		return;
	pthread_mutex_lock(&q->lock);
	q->stopping = true;
	pthread_cond_signal(&q->cond);
	pthread_mutex_unlock(&q->lock);
	pthread_join(q->thread, NULL);
	if (ret_stats)
		*ret_stats = q->stats;
	pthread_mutex_destroy(&q->lock);
	pthread_cond_destroy(&q->cond);
	sodium_memzero(q->slots, (size_t)q->cap * sizeof(*q->slots));
	if (q->dirfd >= 0)
		close(q->dirfd);
	free(q->slots);
	free(q);
}
