// SPDX-License-Identifier: GPL-2.0-or-later
#include "record/writer.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "base/log.h"

#define WRITER_ENTRIES 256

struct wfile {
	int fd;
	uint64_t off;		/* where the next append goes */
	unsigned inflight;
	bool failed, closing;
	wfile_closed_cb closed;
	void *userdata;
	char name[128];		/* final name; the file is name.partial until closed */
};

enum wop_kind { WOP_WRITE, WOP_SYNC };

struct wop {
	enum wop_kind kind;
	struct wfile *f;
	uint8_t *buf;		/* owned */
	size_t len, done;
	uint64_t off;
	bool sync;		/* a linked fdatasync follows this write */
	int injected;		/* fault injection: complete with -injected */
	struct timespec start;
};

static uint64_t elapsed_ns(const struct timespec *t0)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (uint64_t)(t.tv_sec - t0->tv_sec) * 1000000000u + (uint64_t)(t.tv_nsec - t0->tv_nsec);
}

int writer_init(struct writer *w, const char *dir, int eventfd)
{
	int rc;

	memset(w, 0, sizeof(*w));
	w->dirfd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
	if (w->dirfd < 0)
		return -errno;
	rc = io_uring_queue_init(WRITER_ENTRIES, &w->ring, 0);
	if (rc < 0) {
		close(w->dirfd);
		return rc;
	}
	if (eventfd >= 0 && (rc = io_uring_register_eventfd(&w->ring, eventfd)) < 0) {
		io_uring_queue_exit(&w->ring);
		close(w->dirfd);
		return rc;
	}
	return 0;
}

/* An SQE, submitting (and if need be reaping) to make room: never fails. */
static struct io_uring_sqe *get_sqe(struct writer *w)
{
	struct io_uring_sqe *sqe;

	while (!(sqe = io_uring_get_sqe(&w->ring))) {
		io_uring_submit(&w->ring);
		writer_reap(w, false);
	}
	return sqe;
}

/* Fault injection: is this operation the one a test asked to fail? */
static int injected_fault(struct writer *w)
{
	return ++w->ops == w->fail_at ? w->fail_errno : 0;
}

static void submit_write(struct writer *w, struct wop *op)
{
	struct io_uring_sqe *sqe = get_sqe(w);

	op->injected = injected_fault(w);
	if (op->injected)
		io_uring_prep_nop(sqe);
	else
		io_uring_prep_write(sqe, op->f->fd, op->buf + op->done, (unsigned)(op->len - op->done),
				    op->off + op->done);
	io_uring_sqe_set_data(sqe, op);
	w->inflight++;
	op->f->inflight++;
	if (op->sync) {
		/* Linked: the fdatasync starts only after the write completed in full. */
		struct wop *s = calloc(1, sizeof(*s));

		if (s) {
			sqe->flags |= IOSQE_IO_LINK;
			s->kind = WOP_SYNC;
			s->f = op->f;
			clock_gettime(CLOCK_MONOTONIC, &s->start);
			sqe = get_sqe(w);
			s->injected = injected_fault(w);
			if (s->injected)
				io_uring_prep_nop(sqe);
			else
				io_uring_prep_fsync(sqe, op->f->fd, IORING_FSYNC_DATASYNC);
			io_uring_sqe_set_data(sqe, s);
			w->inflight++;
			op->f->inflight++;
		} else {
			op->f->failed = true;	/* cannot promise durability */
		}
	}
	io_uring_submit(&w->ring);
}

static void fail_file(struct writer *w, struct wfile *f, const char *what, int err)
{
	if (err == ENOSPC && w->out_of_space)
		atomic_store(w->out_of_space, true);
	if (!f->failed) {
		log_err("recording %s: %s failed: %s; recording marked failed, other recordings go on",
			f->name, what, strerror(err));
		w->stats.failures++;
	}
	f->failed = true;
}

static void finish_file(struct writer *w, struct wfile *f)
{
	char partial[160];
	bool ok = !f->failed;

	snprintf(partial, sizeof(partial), "%s.partial", f->name);
	if (ok && renameat(w->dirfd, partial, w->dirfd, f->name) < 0) {
		fail_file(w, f, "rename", errno);
		ok = false;
	}
	if (ok && fsync(w->dirfd) < 0) {
		fail_file(w, f, "directory fsync", errno);
		ok = false;
	}
	close(f->fd);
	f->fd = -1;
	if (f->closed)
		f->closed(f, ok, f->userdata);
	free(f);
}

static void complete(struct writer *w, struct wop *op, int res)
{
	struct wfile *f = op->f;

	w->inflight--;
	f->inflight--;
	if (op->injected)
		res = -op->injected;
	if (op->kind == WOP_SYNC) {
		uint64_t ns = elapsed_ns(&op->start);

		if (ns > w->stats.sync_ns_max)
			w->stats.sync_ns_max = ns;
		w->stats.sync_hist[latency_bucket(ns)]++;
		w->stats.syncs++;
		/* -ECANCELED: its write came up short and was resubmitted with a new sync. */
		if (res < 0 && res != -ECANCELED)
			fail_file(w, f, "fdatasync", -res);
		free(op);
	} else if (res < 0) {
		fail_file(w, f, "write", -res);
		free(op->buf);
		free(op);
	} else {
		w->stats.bytes_written += (uint64_t)res;
		w->stats.writes++;
		op->done += (size_t)res;
		if (res == 0 && op->done < op->len) {
			fail_file(w, f, "write (no progress)", EIO);
			free(op->buf);
			free(op);
		} else if (op->done < op->len && !f->failed) {
			submit_write(w, op);	/* short write: the rest, then its sync */
		} else {
			free(op->buf);
			free(op);
		}
	}
	if (f->closing && f->inflight == 0)
		finish_file(w, f);
}

void writer_reap(struct writer *w, bool wait)
{
	struct io_uring_cqe *cqe;
	unsigned head, n = 0;

	if (wait && w->inflight) {
		if (io_uring_wait_cqe(&w->ring, &cqe) < 0)
			return;
	}
	/* Reap every ready completion, then advance the queue once. */
	io_uring_for_each_cqe(&w->ring, head, cqe) {
		struct wop *op = io_uring_cqe_get_data(cqe);

		n++;
		complete(w, op, cqe->res);
	}
	io_uring_cq_advance(&w->ring, n);
}

struct wfile *writer_create(struct writer *w, const char *name, const void *header, size_t len,
			    wfile_closed_cb closed, void *userdata)
{
	char partial[160];
	struct wfile *f;
	int err;

	f = calloc(1, sizeof(*f));
	if (!f)
		return NULL;
	snprintf(f->name, sizeof(f->name), "%s", name);
	snprintf(partial, sizeof(partial), "%s.partial", name);
	f->closed = closed;
	f->userdata = userdata;
	f->fd = openat(w->dirfd, partial, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0640);
	if (f->fd < 0)
		goto fail;
	/*
	 * The header is written synchronously: this runs once per call, in a
	 * worker, and the file must exist durably before audio goes into it.
	 */
	if (pwrite(f->fd, header, len, 0) != (ssize_t)len || fdatasync(f->fd) < 0 || fsync(w->dirfd) < 0) {
		err = errno ? errno : EIO;
		if (err == ENOSPC && w->out_of_space)
			atomic_store(w->out_of_space, true);
		close(f->fd);
		unlinkat(w->dirfd, partial, 0);
		errno = err;
		goto fail;
	}
	f->off = len;
	return f;
fail:
	err = errno;
	free(f);
	errno = err;
	return NULL;
}

int writer_append(struct writer *w, struct wfile *f, uint8_t *buf, size_t len, bool sync)
{
	struct wop *op;

	if (f->failed || f->closing) {
		free(buf);
		return -EIO;
	}
	op = calloc(1, sizeof(*op));
	if (!op) {
		free(buf);
		fail_file(w, f, "append (out of memory)", ENOMEM);
		return -ENOMEM;
	}
	op->kind = WOP_WRITE;
	op->f = f;
	op->buf = buf;
	op->len = len;
	op->off = f->off;
	op->sync = sync;
	f->off += len;
	submit_write(w, op);
	return 0;
}

void writer_close(struct writer *w, struct wfile *f)
{
	f->closing = true;
	if (f->inflight == 0)
		finish_file(w, f);
}

void writer_inject_fault(struct writer *w, unsigned long nth, int err)
{
	w->fail_at = w->ops + nth;
	w->fail_errno = err;
}

bool wfile_failed(const struct wfile *f)
{
	return f->failed;
}

void writer_exit(struct writer *w)
{
	while (w->inflight)
		writer_reap(w, true);
	io_uring_queue_exit(&w->ring);
	close(w->dirfd);
}
