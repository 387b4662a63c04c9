// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * store/catalog and retention: rows round-trip; numbers are stored only
 * blinded and the blind index finds a number's recordings and only those;
 * the queue files recordings from other threads; purge with an injected
 * clock removes what expired and keeps what is held; hold, release, delete
 * and purge are audited before they act. Keys are made at test time;
 * numbers are from reserved fictional ranges.
 */
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
#include <unistd.h>

#include <sodium.h>

#include "store/audit.h"
#include "store/catalog.h"
#include "store/filer.h"
#include "record/recorder.h"
#include "store/recovery.h"
#include "store/retention.h"

#define DAY 86400

static char dir[64], recdir[96], dbpath[128], logpath[128];
static uint8_t key[CATALOG_KEY_BYTES];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	randombytes_buf(key, sizeof(key));
	strcpy(dir, "/tmp/trunkrec-catalog.XXXXXX");
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
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void fresh(void)
{
	char cmd[512];

	snprintf(cmd, sizeof(cmd), "rm -rf %s/rec %s/catalog.db* %s/audit.log && mkdir %s/rec", dir, dir, dir, dir);
	assert_int_equal(system(cmd), 0);
}

static void meta_for(char *buf, size_t size, const char *calling, const char *called, int64_t started,
		     const char *rule)
{
	snprintf(buf, size, "trunk=p1\ndirection=in\ncalling=%s\ncalled=%s\na_ts=3\nb_ts=4\nstarted=%lld\ncall=7\nrule=%s\n",
		 calling, called, (long long)started, rule);
}

/* A fake recording file: only its name matters to retention. */
static void touch(const char *name)
{
	char p[256];
	int fd;

	snprintf(p, sizeof(p), "%s/%s", recdir, name);
	fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, "x", 1), 1);
	close(fd);
}

static bool exists(const char *name)
{
	char p[256];

	snprintf(p, sizeof(p), "%s/%s", recdir, name);
	return access(p, F_OK) == 0;
}

static int put_done(struct catalog *c, const char *file, bool ok, const char *calling, const char *called,
		    int64_t started, const char *rule, const struct policy_rules *rules)
{
	struct catalog_row row;
	char meta[320];

	meta_for(meta, sizeof(meta), calling, called, started, rule);
	catalog_row_from_done(file, ok, 1500, meta, "recorded; hangup", started + 30, key, rules, &row);
	return catalog_put(c, &row);
}

static void row_round_trip(void **state)
{
	struct catalog *c;
	struct catalog_row row, back;
	char meta[320];

	(void)state;
	fresh();
	assert_int_equal(catalog_open(dbpath, key, &c), 0);
	meta_for(meta, sizeof(meta), "+447700900123", "02079460000", 1700000000, "sales");
	catalog_row_from_done("0123456789abcdef0123456789abcdef.trec", true, 1500, meta,
			      "recorded; carrier hung up", 1700000031, key, NULL, &row);
	assert_string_equal(row.id, "0123456789abcdef0123456789abcdef");
	assert_string_equal(row.trunk, "p1");
	assert_string_equal(row.direction, "in");
	assert_string_equal(row.rule, "sales");
	assert_string_equal(row.outcome, "recorded");
	assert_int_equal(row.status, CATALOG_COMPLETE);
	assert_int_equal(row.duration_ms, 30000);
	assert_int_equal(row.retention_until, 1700000000 + 30 * DAY);
	assert_true(row.has_calling && row.has_called);
	assert_int_equal(catalog_put(c, &row), 0);
	assert_int_equal(catalog_get(c, row.id, &back), 0);
	assert_string_equal(back.file, row.file);
	assert_int_equal(back.a_ts, 3);
	assert_int_equal(back.b_ts, 4);
	assert_int_equal(back.started, 1700000000);
	assert_int_equal(back.ended, 1700000031);
	assert_string_equal(back.reason, "recorded; carrier hung up");
	assert_memory_equal(back.calling_bi, row.calling_bi, 32);
	assert_int_equal(catalog_get(c, "nope", &back), -ENOENT);

	/* Not stored: a row with no file. */
	catalog_row_from_done(NULL, false, 0, meta, "not_announced; hangup", 1700000040, key, NULL, &row);
	assert_int_equal(row.status, CATALOG_NOT_STORED);
	assert_string_equal(row.file, "");
	assert_string_equal(row.outcome, "not_announced");
	assert_int_equal(catalog_put(c, &row), 0);
	assert_int_equal(catalog_get(c, row.id, &back), 0);
	assert_int_equal(back.status, CATALOG_NOT_STORED);
	catalog_close(c);
}

static void numbers_never_stored_in_clear(void **state)
{
	struct catalog *c;
	char buf[4096];
	FILE *f;
	size_t n;

	(void)state;
	fresh();
	assert_int_equal(catalog_open(dbpath, key, &c), 0);
	assert_int_equal(put_done(c, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.trec", true, "5550100777", "5550199888",
				  1700000000, "x", NULL), 0);
	catalog_close(c);
	/* Neither the database nor its WAL holds the digits. */
	for (int k = 0; k < 2; k++) {
		char p[160];

		snprintf(p, sizeof(p), "%s%s", dbpath, k ? "-wal" : "");
		f = fopen(p, "rb");
		if (!f)
			continue;
		while ((n = fread(buf, 1, sizeof(buf), f)) > 0)
			assert_null(memmem(buf, n, "5550100777", 10));
		fclose(f);
	}
}

static int count_row(const struct catalog_row *row, void *userdata)
{
	char *ids = userdata;

	strcat(ids, row->id);
	strcat(ids, " ");
	return 0;
}

static void blind_index_finds_only_that_number(void **state)
{
	struct catalog *c, *nokey;
	struct catalog_filter f = { 0 };
	char ids[1024];
	uint8_t other[CATALOG_KEY_BYTES], a[32], b[32];

	(void)state;
	fresh();
	assert_int_equal(catalog_open(dbpath, key, &c), 0);
	assert_int_equal(put_done(c, "11111111111111111111111111111111.trec", true, "5550100001", "5550100900", 1700000000, "x", NULL), 0);
	assert_int_equal(put_done(c, "22222222222222222222222222222222.trec", true, "5550100002", "5550100900", 1700001000, "x", NULL), 0);
	assert_int_equal(put_done(c, "33333333333333333333333333333333.trec", true, "5550100900", "5550100001", 1700002000, "x", NULL), 0);
	assert_int_equal(put_done(c, "44444444444444444444444444444444.trec", true, "55501000011", "5550100999", 1700003000, "x", NULL), 0);

	ids[0] = '\0';
	f.number = "5550100001";
	assert_int_equal(catalog_query(c, &f, count_row, ids), 0);
	assert_string_equal(ids, "11111111111111111111111111111111 33333333333333333333333333333333 ");
	/* Formatting does not matter; dates narrow it. */
	ids[0] = '\0';
	f.number = "555 0100-001";
	f.from = 1700001500;
	assert_int_equal(catalog_query(c, &f, count_row, ids), 0);
	assert_string_equal(ids, "33333333333333333333333333333333 ");
	ids[0] = '\0';
	f = (struct catalog_filter){ .number = "5550100900", .to = 1700001500 };
	assert_int_equal(catalog_query(c, &f, count_row, ids), 0);
	assert_string_equal(ids, "11111111111111111111111111111111 22222222222222222222222222222222 ");
	ids[0] = '\0';
	f = (struct catalog_filter){ .number = "5550109999" };
	assert_int_equal(catalog_query(c, &f, count_row, ids), 0);
	assert_string_equal(ids, "");
	catalog_close(c);

	/* Another key finds nothing; no key refuses. */
	randombytes_buf(other, sizeof(other));
	assert_int_equal(catalog_open(dbpath, other, &nokey), 0);
	ids[0] = '\0';
	f = (struct catalog_filter){ .number = "5550100001" };
	assert_int_equal(catalog_query(nokey, &f, count_row, ids), 0);
	assert_string_equal(ids, "");
	catalog_close(nokey);
	assert_int_equal(catalog_open(dbpath, NULL, &nokey), 0);
	assert_int_equal(catalog_query(nokey, &f, count_row, ids), -ENOKEY);
	catalog_close(nokey);
	assert_int_equal(catalog_blind(key, "5550100001", a), 0);
	assert_int_equal(catalog_blind(other, "5550100001", b), 0);
	assert_memory_not_equal(a, b, 32);
	assert_int_equal(catalog_blind(key, "anonymous", a), -EINVAL);
}

static void queue_files_from_other_threads(void **state)
{
	struct catalog *c;
	struct catalog_queue *q;
	struct catalog_queue_stats st;
	struct audit *a;
	struct catalog_filter f = { 0 };
	char ids[8192] = "", meta[320], name[64];

	(void)state;
	fresh();
	assert_int_equal(catalog_open(dbpath, key, &c), 0);
	assert_int_equal(audit_open(logpath, &a), 0);
	assert_int_equal(catalog_queue_start(c, NULL, a, NULL, 8, &q), 0);
	for (int i = 0; i < 40; i++) {
		struct recording_done d = { .ok = true, .frames = 100, .meta = meta, .reason = "recorded; x" };

		snprintf(name, sizeof(name), "%032x.trec", i + 1);
		meta_for(meta, sizeof(meta), "5550100001", "5550100002", 1700000000 + i, "r");
		d.file = name;
		/* A bounded queue: when full, the post is dropped, never waited for. */
		while (!catalog_post(q, &d))
			usleep(1000);
	}
	catalog_queue_stop(q, &st);
	assert_int_equal(st.written, 40);
	assert_int_equal(st.failed, 0);
	f.number = "5550100002";
	assert_int_equal(catalog_query(c, &f, count_row, ids), 0);
	assert_int_equal(strlen(ids), 40 * 33);
	audit_close(a);
	catalog_close(c);
}

struct seen {
	char ids[1024];
};

static void purge_cb(const char *id, const char *file, int64_t until, int result, void *userdata)
{
	struct seen *s = userdata;

	(void)file;
	(void)until;
	assert_int_equal(result, 0);
	strcat(s->ids, id);
	strcat(s->ids, " ");
}

static char *audit_text(void)
{
	FILE *f = fopen(logpath, "rb");
	static char buf[1 << 16];
	size_t n;

	assert_non_null(f);
	n = fread(buf, 1, sizeof(buf) - 1, f);
	buf[n] = '\0';
	fclose(f);
	return buf;
}

static void retention_with_injected_clock(void **state)
{
	static struct policy_rules rules;
	struct policy_rule *short_rule;
	struct audit_verify_result res;
	struct catalog *c;
	struct catalog_row row;
	struct audit *a;
	struct seen seen = { "" };
	char why[128], *log;
	const int64_t t0 = 1700000000;
	int dirfd;

	(void)state;
	fresh();
	policy_rules_init(&rules, "test.conf");
	short_rule = policy_rules_section(&rules, "short", 1);
	assert_int_equal(policy_rule_set(short_rule, 2, "retention_days", "7", why, sizeof(why)), 0);
	assert_int_equal(catalog_open(dbpath, key, &c), 0);
	assert_int_equal(audit_open(logpath, &a), 0);
	/* A: 7 days; B: 30 days (default); C: 7 days, held; D: 7 days, held then released. */
	assert_int_equal(put_done(c, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.trec", true, "5550100001", "5550100900", t0, "short", &rules), 0);
	assert_int_equal(put_done(c, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.trec", true, "5550100002", "5550100900", t0, "other", &rules), 0);
	assert_int_equal(put_done(c, "cccccccccccccccccccccccccccccccc.trec", true, "5550100003", "5550100900", t0, "short", &rules), 0);
	assert_int_equal(put_done(c, "dddddddddddddddddddddddddddddddd.trec", false, "5550100004", "5550100900", t0, "short", &rules), 0);
	touch("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.trec");
	touch("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.trec");
	touch("cccccccccccccccccccccccccccccccc.trec");
	touch("dddddddddddddddddddddddddddddddd.trec.partial");	/* failed: left as .partial */
	assert_int_equal(catalog_get(c, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", &row), 0);
	assert_int_equal(row.retention_until, t0 + 30 * DAY);

	assert_int_equal(retention_set_hold(c, a, 0, t0, "cccccccccccccccccccccccccccccccc", true, "complaint"), 0);
	assert_int_equal(retention_set_hold(c, a, 0, t0, "dddddddddddddddddddddddddddddddd", true, "sar"), 0);
	assert_int_equal(retention_set_hold(c, a, 0, t0, "dddddddddddddddddddddddddddddddd", false, "sar answered"), 0);
	assert_int_equal(retention_set_hold(c, a, 0, t0, "eeee", true, "x"), -ENOENT);
	/* A hold never shortens retention. */
	assert_int_equal(catalog_get(c, "cccccccccccccccccccccccccccccccc", &row), 0);
	assert_int_equal(row.retention_until, t0 + 7 * DAY);
	assert_true(row.legal_hold);

	/* Day 6: nothing is due. */
	assert_int_equal(retention_purge(recdir, c, a, 0, t0 + 6 * DAY, false, purge_cb, &seen), 0);
	/* Day 8, dry run: A and D listed, nothing touched. */
	assert_int_equal(retention_purge(recdir, c, a, 0, t0 + 8 * DAY, true, purge_cb, &seen), 2);
	assert_string_equal(seen.ids, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa dddddddddddddddddddddddddddddddd ");
	assert_true(exists("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.trec"));
	/* Day 8: A and D go (D's .partial too); C is held; B has 30 days. */
	seen.ids[0] = '\0';
	assert_int_equal(retention_purge(recdir, c, a, 0, t0 + 8 * DAY, false, purge_cb, &seen), 2);
	assert_false(exists("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa.trec"));
	assert_false(exists("dddddddddddddddddddddddddddddddd.trec.partial"));
	assert_true(exists("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb.trec"));
	assert_true(exists("cccccccccccccccccccccccccccccccc.trec"));
	assert_int_equal(catalog_get(c, "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", &row), 0);
	assert_int_equal(row.status, CATALOG_DELETED);
	assert_false(row.has_calling);	/* the number's index is erased with the audio */
	/* Day 31: B goes; C is still held. Day 400: still held. */
	assert_int_equal(retention_purge(recdir, c, a, 0, t0 + 31 * DAY, false, NULL, NULL), 1);
	assert_int_equal(retention_purge(recdir, c, a, 0, t0 + 400 * DAY, false, NULL, NULL), 0);
	assert_true(exists("cccccccccccccccccccccccccccccccc.trec"));
	/* A held recording cannot be deleted early either; released, it can. */
	dirfd = open(recdir, O_RDONLY | O_DIRECTORY);
	assert_int_equal(retention_delete(dirfd, c, a, 0, t0 + 400 * DAY, "cccccccccccccccccccccccccccccccc", "delete", "x"), -EPERM);
	assert_int_equal(retention_set_hold(c, a, 0, t0, "cccccccccccccccccccccccccccccccc", false, "closed"), 0);
	assert_int_equal(retention_purge(recdir, c, a, 0, t0 + 400 * DAY, false, NULL, NULL), 1);
	assert_false(exists("cccccccccccccccccccccccccccccccc.trec"));
	assert_int_equal(retention_delete(dirfd, c, a, 0, t0, "cccccccccccccccccccccccccccccccc", "delete", "x"), -ENOENT);
	close(dirfd);

	log = audit_text();
	assert_non_null(strstr(log, "action=hold object=cccccccccccccccccccccccccccccccc"));
	assert_non_null(strstr(log, "action=hold object=dddddddddddddddddddddddddddddddd"));
	assert_non_null(strstr(log, "action=release object=dddddddddddddddddddddddddddddddd"));
	assert_non_null(strstr(log, "action=release object=cccccccccccccccccccccccccccccccc"));
	assert_non_null(strstr(log, "action=purge object=cccccccccccccccccccccccccccccccc"));
	assert_non_null(strstr(log, "action=purge object=aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"));
	assert_non_null(strstr(log, "action=purge object=dddddddddddddddddddddddddddddddd"));
	assert_non_null(strstr(log, "action=purge object=bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb"));
	assert_int_equal(audit_verify((uint8_t *)log, strlen(log), NULL, NULL, &res), 0);
	assert_int_equal(res.entries, 8);
	audit_close(a);
	catalog_close(c);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(row_round_trip),
		cmocka_unit_test(numbers_never_stored_in_clear),
		cmocka_unit_test(blind_index_finds_only_that_number),
		cmocka_unit_test(queue_files_from_other_threads),
		cmocka_unit_test(retention_with_injected_clock),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
