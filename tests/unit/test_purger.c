// SPDX-License-Identifier: GPL-2.0-or-later
/* store/purger: the daemon's schedule deletes expired recordings, keeps held and current ones, audits. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "store/audit.h"
#include "store/catalog.h"
#include "store/purger.h"

static char dir[64], dbpath[128], logpath[128];

static void put_recording(struct catalog *c, const char *id, int64_t retention_until, bool held)
{
	struct catalog_row row;
	char path[160];
	FILE *f;

	memset(&row, 0, sizeof(row));
	snprintf(row.id, sizeof(row.id), "%s", id);
	snprintf(row.file, sizeof(row.file), "%s.trec", id);
	snprintf(row.outcome, sizeof(row.outcome), "recorded");
	row.status = CATALOG_COMPLETE;
	row.started = retention_until - 86400;
	row.retention_until = retention_until;
	assert_int_equal(catalog_put(c, &row), 0);
	if (held)
		assert_int_equal(catalog_set_hold(c, id, true, "complaint"), 0);
	snprintf(path, sizeof(path), "%s/%s.trec", dir, id);
	f = fopen(path, "w");
	assert_non_null(f);
	fputs("not a real recording", f);
	fclose(f);
}

static bool exists(const char *id)
{
	char path[160];

	snprintf(path, sizeof(path), "%s/%s.trec", dir, id);
	return access(path, F_OK) == 0;
}

static void schedule_purges_expired_only(void **state)
{
	struct catalog *c;
	struct audit *a;
	struct purger p;
	int64_t now = (int64_t)time(NULL);

	(void)state;
	strcpy(dir, "/tmp/trunkrec-purger.XXXXXX");
	assert_non_null(mkdtemp(dir));
	snprintf(dbpath, sizeof(dbpath), "%s/catalog.db", dir);
	snprintf(logpath, sizeof(logpath), "%s/audit.log", dir);
	assert_int_equal(catalog_open(dbpath, NULL, &c), 0);
	assert_int_equal(audit_open(logpath, &a), 0);
	put_recording(c, "0000000000000000000000000000aaaa", now - 10, false);	/* expired */
	put_recording(c, "0000000000000000000000000000bbbb", now - 10, true);	/* expired, held */
	put_recording(c, "0000000000000000000000000000cccc", now + 86400, false);	/* current */
	assert_int_equal(purger_start(&p, dir, dbpath, a, 3600), 0);
	/* The first run happens at start; wait for it (bounded). */
	for (int i = 0; i < 200; i++) {
		pthread_mutex_lock(&p.lock);
		bool ran = p.runs > 0;

		pthread_mutex_unlock(&p.lock);
		if (ran)
			break;
		usleep(10000);
	}
	purger_stop(&p);
	assert_int_equal(p.runs, 1);
	assert_int_equal(p.purged, 1);
	assert_false(exists("0000000000000000000000000000aaaa"));
	assert_true(exists("0000000000000000000000000000bbbb"));
	assert_true(exists("0000000000000000000000000000cccc"));
	{
		struct catalog_row row;

		assert_int_equal(catalog_get(c, "0000000000000000000000000000aaaa", &row), 0);
		assert_int_equal(row.status, CATALOG_DELETED);
	}
	audit_close(a);
	catalog_close(c);
	{
		FILE *f = fopen(logpath, "r");
		char line[1024];
		int purges = 0;

		assert_non_null(f);
		while (fgets(line, sizeof(line), f))
			purges += strstr(line, "action=purge") != NULL;
		fclose(f);
		assert_int_equal(purges, 1);
	}
	{
		char cmd[128];

		snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
		assert_int_equal(system(cmd), 0);
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(schedule_purges_expired_only),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
