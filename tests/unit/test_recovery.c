// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * store/recovery: a .partial torn at every byte of its last record is
 * recovered to a file the key holder reads as TRUNCATED with every earlier
 * record; a torn header leaves nothing; and the fault loop: a short
 * recording with the Nth I/O operation failing, for every N, ends COMPLETE
 * or failed with a .partial that recovery turns into TRUNCATED (or, when
 * only the last fdatasync failed, a file whose records are all there) —
 * never CORRUPT. Keys are made at test time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/catalog.h"
#include "record/recorder.h"
#include "store/recovery.h"

static char dir[64], recdir[96], dbpath[128], logpath[128];
static uint8_t pk[VAULT_PK_BYTES], sk[VAULT_SK_BYTES];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_box_keypair(pk, sk);
	strcpy(dir, "/tmp/trunkrec-recovery.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(recdir, sizeof(recdir), "%s/rec", dir);
	snprintf(dbpath, sizeof(dbpath), "%s/catalog.db", dir);
	snprintf(logpath, sizeof(logpath), "%s/audit.log", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	sodium_memzero(sk, sizeof(sk));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void fresh(void)
{
	char cmd[256];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/rec && mkdir %s/rec", dir, dir);
	assert_int_equal(system(cmd), 0);
}

static void write_file(const char *name, const uint8_t *data, size_t len)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", recdir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, data, len), (ssize_t)len);
	close(fd);
}

static uint8_t *read_file(const char *name, size_t *len)
{
	char p[256];
	uint8_t *buf;
	FILE *f;

	snprintf(p, sizeof(p), "%s/%s", recdir, name);
	f = fopen(p, "rb");
	if (!f)
		return NULL;
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len + 1);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	fclose(f);
	return buf;
}

static int count_suffix(const char *suffix, char *ret_name, size_t size)
{
	DIR *d = opendir(recdir);
	struct dirent *de;
	int n = 0;

	while ((de = readdir(d))) {
		size_t a = strlen(de->d_name), b = strlen(suffix);

		if (a >= b && !strcmp(de->d_name + a - b, suffix)) {
			n++;
			if (ret_name && strlen(de->d_name) < size)
				memcpy(ret_name, de->d_name, strlen(de->d_name) + 1);
		}
	}
	closedir(d);
	return n;
}

/* A recording as the writer leaves it: header, META, 4 OGG records; no END. */
static uint8_t *build(size_t *len, size_t *last_start, uint64_t *records, char ret_name[64])
{
	struct vault_writer w;
	uint8_t *buf = malloc(8192), payload[300];
	char hex[2 * VAULT_ID_BYTES + 1];
	size_t off;
	long n;

	assert_int_equal(vault_writer_start(&w, pk, 1700000000, buf), 0);
	off = VAULT_HEADER_BYTES;
	n = vault_writer_seal(&w, VAULT_REC_META, (const uint8_t *)"trunk=p1\n", 9, false, buf + off);
	off += (size_t)n;
	for (int i = 0; i < 4; i++) {
		randombytes_buf(payload, sizeof(payload));
		if (i == 3)
			*last_start = off;
		n = vault_writer_seal(&w, VAULT_REC_OGG, payload, i == 3 ? 150 : sizeof(payload), false, buf + off);
		off += (size_t)n;
	}
	sodium_bin2hex(hex, sizeof(hex), w.id, sizeof(w.id));
	snprintf(ret_name, 64, "%s.trec", hex);
	vault_writer_wipe(&w);
	*len = off;
	*records = 5;
	return buf;
}

static void torn_last_record_at_every_byte(void **state)
{
	struct catalog *c;
	struct audit *a;
	struct recovery_stats st;
	struct vault_info info;
	enum vault_status status;
	struct catalog_row row;
	struct audit_verify_result res;
	size_t len, last, flen;
	uint64_t records;
	char name[64], partial[80], id[40];
	uint8_t *file = build(&len, &last, &records, name);
	uint8_t *rec;
	int cuts = 0;

	(void)state;
	fresh();
	unlink(dbpath);
	unlink(logpath);
	assert_int_equal(catalog_open(dbpath, NULL, &c), 0);
	assert_int_equal(audit_open(logpath, &a), 0);
	snprintf(partial, sizeof(partial), "%s.partial", name);
	snprintf(id, sizeof(id), "%.32s", name);
	/* Every length from the last record's first byte to one short of its end. */
	for (size_t cut = last; cut < len; cut++) {
		write_file(partial, file, cut);
		assert_int_equal(recovery_run(recdir, c, a, 0, 1700000100, 30, &st), 0);
		assert_int_equal(st.recovered, 1);
		assert_int_equal(count_suffix(".partial", NULL, 0), 0);
		rec = read_file(name, &flen);
		assert_non_null(rec);
		assert_int_equal(flen, last);
		assert_int_equal(vault_read(rec, flen, pk, sk, NULL, NULL, &status, &info), 0);
		assert_int_equal(status, VAULT_TRUNCATED);
		assert_int_equal(info.records, records - 1);
		assert_int_equal(info.good_bytes, last);
		free(rec);
		assert_int_equal(catalog_get(c, id, &row), 0);
		assert_int_equal(row.status, CATALOG_RECOVERED);
		assert_string_equal(row.file, name);
		assert_int_equal(row.started, 1700000000);
		cuts++;
	}
	/* Whole records, then zeros (a file extended by a write that never landed). */
	{
		uint8_t *z = calloc(1, len + 700);

		memcpy(z, file, len);
		write_file(partial, z, len + 700);
		assert_int_equal(recovery_run(recdir, c, a, 0, 1700000100, 30, &st), 0);
		rec = read_file(name, &flen);
		assert_int_equal(flen, len);
		assert_int_equal(vault_read(rec, flen, pk, sk, NULL, NULL, &status, &info), 0);
		assert_int_equal(status, VAULT_TRUNCATED);
		assert_int_equal(info.records, records);
		free(rec);
		free(z);
	}
	/* A torn header: nothing to keep, removed, audited. */
	for (size_t cut = 0; cut < VAULT_HEADER_BYTES; cut += 7) {
		unlink(partial);
		write_file(partial, file, cut);
		assert_int_equal(recovery_run(recdir, c, a, 0, 1700000100, 30, &st), 0);
		assert_int_equal(st.removed, 1);
		assert_int_equal(count_suffix(".partial", NULL, 0), 0);
	}
	/* Not a recording at all: left alone, reported. */
	write_file(partial, (const uint8_t *)"hello, this is not a recording", 30);
	assert_int_equal(recovery_run(recdir, c, a, 0, 1700000100, 30, &st), -EBADMSG);
	assert_int_equal(st.errors, 1);
	unlink(partial);
	{
		size_t llen;
		FILE *f;
		uint8_t *log = malloc(1 << 20);

		f = fopen(logpath, "rb");
		llen = fread(log, 1, 1 << 20, f);
		fclose(f);
		assert_int_equal(audit_verify(log, llen, NULL, NULL, &res), 0);
		assert_true(res.entries >= (uint64_t)cuts + 1);
		free(log);
	}
	audit_close(a);
	catalog_close(c);
	free(file);
}

/* One short recording with I/O operation nth failing (0: none). Returns the writer's operation count. */
static unsigned long record_with_fault(unsigned long nth, int err, struct recorder_ctx *ctx)
{
	struct writer w;
	struct recorder *r;
	uint8_t a[160], b[160];
	unsigned long ops;

	memset(ctx, 0, sizeof(*ctx));
	ctx->writer = &w;
	ctx->codec = (struct oggopus_settings){ 24000, 2 };
	ctx->flush_frames = 10;
	memcpy(ctx->recipient_pk, pk, sizeof(pk));
	assert_int_equal(writer_init(&w, recdir, -1), 0);
	if (nth)
		writer_inject_fault(&w, nth, err);
	r = recorder_new(ctx, G711_ALAW, "trunk=p1\ncalling=5550100001\ncalled=5550100002\n",
			 &(struct recorder_opts){ 0 });
	assert_non_null(r);
	for (int i = 0; i < 60; i++) {
		for (int k = 0; k < 160; k++) {
			a[k] = (uint8_t)(0xD5 ^ ((k * 7 + i) & 0x3f));
			b[k] = (uint8_t)(0x55 ^ ((k * 3 + i) & 0x3f));
		}
		recorder_frame(r, a, b, true);
		writer_reap(&w, false);
	}
	recorder_stop(r, "recorded; test");
	while (ctx->completed + ctx->failed == 0)
		writer_reap(&w, true);
	ops = w.ops;
	writer_exit(&w);
	return ops;
}

static void fault_loop_never_corrupt(void **state)
{
	struct recorder_ctx ctx;
	struct catalog *c;
	struct audit *a;
	struct recovery_stats st;
	unsigned long end;
	int complete = 0, truncated = 0, complete_after_recovery = 0;

	(void)state;
	fresh();
	unlink(dbpath);
	unlink(logpath);
	assert_int_equal(catalog_open(dbpath, NULL, &c), 0);
	assert_int_equal(audit_open(logpath, &a), 0);
	end = record_with_fault(0, 0, &ctx);
	assert_int_equal(ctx.completed, 1);
	assert_true(end >= 6);
	for (unsigned long n = 1; n <= end; n++) {
		char name[80];
		struct vault_info info;
		enum vault_status status;
		uint8_t *file;
		size_t len;

		fresh();
		record_with_fault(n, n % 2 ? EIO : ENOSPC, &ctx);
		if (ctx.completed) {
			assert_int_equal(count_suffix(".partial", NULL, 0), 0);
			assert_int_equal(count_suffix(".trec", name, sizeof(name)), 1);
			file = read_file(name, &len);
			assert_int_equal(vault_read(file, len, pk, sk, NULL, NULL, &status, &info), 0);
			assert_int_equal(status, VAULT_COMPLETE);
			free(file);
			complete++;
			continue;
		}
		/* Failed: never renamed; the .partial is left for recovery. */
		assert_int_equal(ctx.failed, 1);
		assert_int_equal(count_suffix(".trec", NULL, 0), 0);
		assert_int_equal(count_suffix(".partial", NULL, 0), 1);
		assert_int_equal(recovery_run(recdir, c, a, 0, 1700000000, 30, &st), 0);
		assert_int_equal(st.recovered, 1);
		assert_int_equal(count_suffix(".trec", name, sizeof(name)), 1);
		file = read_file(name, &len);
		assert_int_equal(vault_read(file, len, pk, sk, NULL, NULL, &status, &info), 0);
		if (status == VAULT_COMPLETE) {
			/* Only the final fdatasync failed: every record is there, FINAL included, as written. */
			complete_after_recovery++;
		} else {
			assert_int_equal(status, VAULT_TRUNCATED);
			truncated++;
		}
		free(file);
	}
	print_message("fault loop: %lu operations; complete %d, recovered TRUNCATED %d, "
		      "recovered with FINAL (last sync failed) %d, corrupt 0\n",
		      end, complete, truncated, complete_after_recovery);
	assert_true(truncated > 0);
	audit_close(a);
	catalog_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(torn_last_record_at_every_byte),
		cmocka_unit_test(fault_loop_never_corrupt),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
