// SPDX-License-Identifier: GPL-2.0-or-later
#include "record/worker.h"

#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <string.h>
#include <sys/eventfd.h>
#include <unistd.h>

#include "base/log.h"

struct rec_msg *worker_claim(struct worker *wk)
{
	return spsc_claim(&wk->ring);
}

void worker_commit(struct worker *wk)
{
	spsc_push(&wk->ring);
	wk->wake_pending = true;
}

void worker_wake(struct worker *wk)
{
	uint64_t one = 1;

	if (!wk->wake_pending)
		return;
	wk->wake_pending = false;
	/* seq_cst pairs with the worker's store to sleeping before its last check. */
	if (atomic_load(&wk->sleeping) && write(wk->efd, &one, sizeof(one)) < 0)
		return;	/* the counter cannot overflow here; a failed wake is retried next batch */
}

static void handle(struct worker *wk, const struct rec_msg *m)
{
	struct recorder **slot = &wk->slots[m->slot];

	switch (m->kind) {
	case REC_START:
		if (*slot)
			recorder_stop(*slot, "slot reused");
		*slot = recorder_new(&wk->ctx, (enum g711_law)m->law, m->meta, &m->opts);
		break;
	case REC_FRAME:
		if (*slot) {
			recorder_frame(*slot, m->frame.carrier, m->frame.pbx, m->flags);
			atomic_fetch_add_explicit(&wk->frames, 1, memory_order_relaxed);
		}
		break;
	case REC_TIMELINE:
		if (*slot)
			recorder_timeline(*slot, m->line);
		break;
	case REC_STOP:
		if (*slot)
			recorder_stop(*slot, m->reason);
		*slot = NULL;
		break;
	}
}

static unsigned drain(struct worker *wk)
{
	struct rec_msg *m;
	unsigned n = 0;

	while (n < 512 && (m = spsc_peek(&wk->ring))) {
		handle(wk, m);
		spsc_pop(&wk->ring);
		n++;
	}
	return n;
}

static void *worker_main(void *arg)
{
	struct worker *wk = arg;
	char name[16];

	snprintf(name, sizeof(name), "trec-worker%d", wk->index);
	pthread_setname_np(pthread_self(), name);
	for (;;) {
		unsigned n = drain(wk);

		writer_reap(&wk->writer, false);
		if (n)
			continue;
		atomic_store(&wk->sleeping, true);
		/* Check again after announcing sleep: the relay may have pushed meanwhile. */
		if (spsc_peek(&wk->ring)) {
			atomic_store(&wk->sleeping, false);
			continue;
		}
		if (atomic_load(&wk->stopping))
			break;
		{
			struct pollfd pfd = { .fd = wk->efd, .events = POLLIN };
			uint64_t v;

			/* Bounded wait: a lost wake costs at most 100 ms of latency. */
			if (poll(&pfd, 1, 100) > 0 && read(wk->efd, &v, sizeof(v)) < 0)
				v = 0;
		}
		atomic_store(&wk->sleeping, false);
	}
	for (int i = 0; i < WORKER_MAX_SLOTS; i++) {
		if (wk->slots[i])
			recorder_stop(wk->slots[i], "shutdown");
		wk->slots[i] = NULL;
	}
	writer_exit(&wk->writer);
	return NULL;
}

int worker_start(struct worker *wk, int index, const struct worker_settings *s)
{
	int rc;

	memset(wk, 0, sizeof(*wk));
	wk->index = index;
	wk->efd = eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK);
	if (wk->efd < 0)
		return -errno;
	rc = spsc_init(&wk->ring, WORKER_RING, sizeof(struct rec_msg));
	if (rc < 0)
		goto fail_efd;
	rc = spsc_init(&wk->events, 1024, sizeof(struct rec_event));
	if (rc < 0) {
		spsc_free(&wk->ring);
		goto fail_efd;
	}
	rc = writer_init(&wk->writer, s->dir, wk->efd);
	if (rc < 0)
		goto fail_ring;
	wk->ctx.writer = &wk->writer;
	wk->writer.out_of_space = s->out_of_space;
	wk->ctx.done = s->done;
	wk->ctx.done_userdata = s->done_userdata;
	memcpy(wk->ctx.recipient_pk, s->recipient_pk, VAULT_PK_BYTES);
	wk->ctx.codec = s->codec;
	wk->ctx.flush_frames = s->flush_frames;
	wk->ctx.events = &wk->events;
	rc = -pthread_create(&wk->thread, NULL, worker_main, wk);
	if (rc < 0)
		goto fail_writer;
	return 0;
fail_writer:
	writer_exit(&wk->writer);
fail_ring:
	spsc_free(&wk->ring);
	spsc_free(&wk->events);
fail_efd:
	close(wk->efd);
	return rc;
}

void worker_stop(struct worker *wk)
{
	uint64_t one = 1;

	atomic_store(&wk->stopping, true);
	if (write(wk->efd, &one, sizeof(one)) < 0)
		log_warn("worker %d: wake failed: %s", wk->index, strerror(errno));
	pthread_join(wk->thread, NULL);
	spsc_free(&wk->ring);
	spsc_free(&wk->events);
	close(wk->efd);
}

/* The worker passes REC_FRAME_* flags straight to the recorder. */
_Static_assert(REC_FRAME_STORE == RECORDER_STORE && REC_FRAME_IF_VERIFIED == RECORDER_IF_VERIFIED,
	       "frame flags and recorder flags are one set");
