/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Durable appends through io_uring, one writer per recording worker.
 *
 * Write order (docs/file-format.md, ../shared/notes/storage.md):
 *   create ID.partial, header, fdatasync, fsync(dir)
 *   each record: write linked (IOSQE_IO_LINK) to an fdatasync
 *   close: after the FINAL record is durable, rename ID.partial → ID.trec,
 *          fsync(dir)
 * A failed write or fdatasync marks that file failed for good: never retried
 * into success (a retried fsync can falsely succeed), never renamed. Other
 * files go on.
 *
 * Thread: a writer and its files belong to one worker thread.
 */
#ifndef TRUNKREC_RECORD_WRITER_H
#define TRUNKREC_RECORD_WRITER_H

#include <liburing.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/latency.h"

struct wfile;

/* Called once a closed file is finished: renamed (ok) or left failed. */
typedef void (*wfile_closed_cb)(struct wfile *f, bool ok, void *userdata);

struct writer_stats {
	uint64_t bytes_written;
	uint64_t writes, syncs;
	uint64_t failures;
	uint64_t sync_ns_max;
	unsigned long sync_hist[LATENCY_BUCKETS];	/* every fdatasync's time (base/latency.h) */
};

struct writer {
	struct io_uring ring;
	int dirfd;
	unsigned inflight;
	struct writer_stats stats;
	_Atomic bool *out_of_space;	/* set on ENOSPC: the relay refuses new recordings (may be NULL) */
	/* Fault injection for tests: operation number fail_at (1-based) fails with fail_errno. */
	unsigned long ops, fail_at;
	int fail_errno;
};

/* dir: the recordings directory. eventfd (or -1) is signalled on completions. */
int writer_init(struct writer *w, const char *dir, int eventfd);
void writer_exit(struct writer *w);	/* waits for everything in flight */

/*
 * Create name.partial with the header durable before returning (header write,
 * fdatasync, directory fsync). Returns NULL with errno set.
 */
struct wfile *writer_create(struct writer *w, const char *name, const void *header, size_t len,
			    wfile_closed_cb closed, void *userdata);

/*
 * Append buf (ownership passes to the writer; freed when written) and make it
 * durable (fdatasync linked behind the write) when sync. Never blocks on the
 * disk. Returns 0, or -EIO if the file already failed (buf is freed).
 */
int writer_append(struct writer *w, struct wfile *f, uint8_t *buf, size_t len, bool sync);

/* No more appends: finish when what is in flight completes (closed cb). */
void writer_close(struct writer *w, struct wfile *f);

bool wfile_failed(const struct wfile *f);

/*
 * Tests: make the nth write or fdatasync from now (1 = the next) complete
 * with -err instead of reaching the disk. io_uring bypasses libc, so this is
 * where faults are injected (../shared/notes/storage.md).
 */
void writer_inject_fault(struct writer *w, unsigned long nth, int err);

/* Reap completions without waiting; with wait, block for at least one. */
void writer_reap(struct writer *w, bool wait);

#endif
