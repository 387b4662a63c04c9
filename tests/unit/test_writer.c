// SPDX-License-Identifier: GPL-2.0-or-later
/* record/writer: io_uring appends land in order, durable files are renamed, failed ones never are. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/spsc.h"
#include "record/writer.h"

struct closed_log {
	int calls;
	bool ok;
};

static void on_closed(struct wfile *f, bool ok, void *userdata)
{
	struct closed_log *log = userdata;

	(void)f;
	log->calls++;
	log->ok = ok;
}

static char dir[64];

static int setup(void **state)
{
	(void)state;
	strcpy(dir, "/tmp/trunkrec-writer.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static uint8_t *dup_bytes(const void *p, size_t n)
{
	uint8_t *b = malloc(n);

	memcpy(b, p, n);
	return b;
}

static void appends_in_order_then_renames(void **state)
{
	struct writer w;
	struct closed_log log = { 0 };
	struct wfile *f;
	char path[128], expect[64 * 1024], got[sizeof(expect)];
	size_t off = 6;
	int fd;

	(void)state;
	assert_int_equal(writer_init(&w, dir, -1), 0);
	f = writer_create(&w, "a.trec", "HEADER", 6, on_closed, &log);
	assert_non_null(f);
	memcpy(expect, "HEADER", 6);
	snprintf(path, sizeof(path), "%s/a.trec.partial", dir);
	assert_int_equal(access(path, F_OK), 0);
	/* 300 appends of varying size: more than the ring holds at once. */
	for (int i = 0; i < 300; i++) {
		size_t n = 1 + (size_t)(i * 37) % 180;
		uint8_t chunk[200];

		memset(chunk, 'a' + i % 26, n);
		memcpy(expect + off, chunk, n);
		off += n;
		assert_int_equal(writer_append(&w, f, dup_bytes(chunk, n), n, i % 50 == 49), 0);
		writer_reap(&w, false);
	}
	writer_close(&w, f);
	while (log.calls == 0)
		writer_reap(&w, true);
	assert_true(log.ok);
	assert_int_not_equal(access(path, F_OK), 0);
	snprintf(path, sizeof(path), "%s/a.trec", dir);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(read(fd, got, sizeof(got)), (ssize_t)off);
	assert_memory_equal(got, expect, off);
	close(fd);
	assert_int_equal(w.stats.bytes_written, off - 6);
	assert_true(w.stats.syncs >= 6);
	writer_exit(&w);
}

static void failed_file_is_never_renamed(void **state)
{
	struct writer w;
	struct closed_log log = { 0 };
	struct wfile *f;
	char path[128];

	(void)state;
	assert_int_equal(writer_init(&w, dir, -1), 0);
	f = writer_create(&w, "b.trec", "H", 1, on_closed, &log);
	assert_non_null(f);
	/* The write goes through; its fdatasync fails as after EIO on a bad disk. */
	writer_inject_fault(&w, 2, EIO);
	assert_int_equal(writer_append(&w, f, dup_bytes("xyz", 3), 3, true), 0);
	while (w.inflight)
		writer_reap(&w, true);
	assert_true(wfile_failed(f));
	assert_int_equal(writer_append(&w, f, dup_bytes("more", 4), 4, true), -EIO);
	writer_close(&w, f);
	assert_int_equal(log.calls, 1);
	assert_false(log.ok);
	snprintf(path, sizeof(path), "%s/b.trec", dir);
	assert_int_not_equal(access(path, F_OK), 0);
	assert_true(w.stats.failures >= 1);
	snprintf(path, sizeof(path), "%s/b.trec.partial", dir);
	assert_int_equal(access(path, F_OK), 0);	/* kept for recovery, not renamed */
	writer_exit(&w);
}

static void one_failed_file_does_not_stop_another(void **state)
{
	struct writer w;
	struct closed_log log1 = { 0 }, log2 = { 0 };
	struct wfile *f1, *f2;

	(void)state;
	_Atomic bool out_of_space = false;

	assert_int_equal(writer_init(&w, dir, -1), 0);
	w.out_of_space = &out_of_space;
	f1 = writer_create(&w, "d1.trec", "H", 1, on_closed, &log1);
	f2 = writer_create(&w, "d2.trec", "H", 1, on_closed, &log2);
	writer_inject_fault(&w, 1, ENOSPC);
	assert_int_equal(writer_append(&w, f1, dup_bytes("one", 3), 3, true), 0);
	assert_int_equal(writer_append(&w, f2, dup_bytes("two", 3), 3, true), 0);
	writer_close(&w, f1);
	writer_close(&w, f2);
	while (log1.calls == 0 || log2.calls == 0)
		writer_reap(&w, true);
	assert_false(log1.ok);
	assert_true(log2.ok);
	assert_true(out_of_space);	/* ENOSPC tells the relay to start no new recording */
	writer_exit(&w);
}

static void create_refuses_existing(void **state)
{
	struct writer w;
	struct closed_log log = { 0 };
	struct wfile *f;

	(void)state;

	assert_int_equal(writer_init(&w, dir, -1), 0);
	f = writer_create(&w, "c.trec", "H", 1, on_closed, &log);
	assert_non_null(f);
	assert_null(writer_create(&w, "c.trec", "H", 1, on_closed, &log));
	assert_int_equal(errno, EEXIST);
	writer_close(&w, f);
	assert_int_equal(log.calls, 1);
	writer_exit(&w);
}

static void spsc_keeps_order_and_bounds(void **state)
{
	struct spsc q;
	uint32_t *slot;

	(void)state;
	assert_int_equal(spsc_init(&q, 8, sizeof(uint32_t)), 0);
	for (uint32_t i = 0; i < 8; i++) {
		slot = spsc_claim(&q);
		assert_non_null(slot);
		*slot = i;
		spsc_push(&q);
	}
	assert_null(spsc_claim(&q));	/* full: the producer is told, never blocked */
	for (uint32_t i = 0; i < 8; i++) {
		slot = spsc_peek(&q);
		assert_non_null(slot);
		assert_int_equal(*slot, i);
		spsc_pop(&q);
	}
	assert_null(spsc_peek(&q));
	spsc_free(&q);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(appends_in_order_then_renames),
		cmocka_unit_test(failed_file_is_never_renamed),
		cmocka_unit_test(one_failed_file_does_not_stop_another),
		cmocka_unit_test(create_refuses_existing),
		cmocka_unit_test(spsc_keeps_order_and_bounds),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
