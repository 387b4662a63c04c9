// SPDX-License-Identifier: GPL-2.0-or-later
#include "store/catalog.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <sqlite3.h>

#include "policy/gate.h"

#define NUMBER_MAX		64

static const char *const status_names[] = {
	[CATALOG_RECORDING] = "recording",
	[CATALOG_COMPLETE] = "complete",
	[CATALOG_RECOVERED] = "recovered",
	[CATALOG_FAILED] = "failed",
	[CATALOG_DELETED] = "deleted",
	[CATALOG_NOT_STORED] = "not_stored",
};

const char *catalog_status_name(enum catalog_status s)
{
	return (unsigned)s < CATALOG_STATUS_COUNT ? status_names[s] : "?";
}

static enum catalog_status status_from_name(const char *name)
{
	for (int i = 0; i < CATALOG_STATUS_COUNT; i++)
		if (name && !strcmp(name, status_names[i]))
			return (enum catalog_status)i;
	return CATALOG_FAILED;
}

struct catalog {
	sqlite3 *db;
	sqlite3_stmt *put, *get, *query, *has_file;
	bool have_key;
	uint8_t key[CATALOG_KEY_BYTES];	/* SECRET: whoever has it can look numbers up */
};

static const char schema[] =
	"PRAGMA journal_mode=WAL;"
	"PRAGMA synchronous=FULL;"
	"CREATE TABLE IF NOT EXISTS recordings ("
	" id TEXT PRIMARY KEY,"
	" file TEXT,"
	" trunk TEXT, a_ts INTEGER, b_ts INTEGER, direction TEXT,"
	" started INTEGER NOT NULL, ended INTEGER, duration_ms INTEGER,"
	" rule TEXT, outcome TEXT, reason TEXT,"
	" status TEXT NOT NULL CHECK (status IN ('recording','complete','recovered','failed','deleted','not_stored')),"
	" retention_until INTEGER NOT NULL,"
	" legal_hold INTEGER NOT NULL DEFAULT 0,"
	" hold_reason TEXT,"
	" calling_bi BLOB, called_bi BLOB,"
	" deleted_at INTEGER, delete_reason TEXT);"
	"CREATE INDEX IF NOT EXISTS recordings_calling ON recordings(calling_bi);"
	"CREATE INDEX IF NOT EXISTS recordings_called ON recordings(called_bi);"
	"CREATE INDEX IF NOT EXISTS recordings_retention ON recordings(retention_until);"
	"CREATE INDEX IF NOT EXISTS recordings_file ON recordings(file);"
	"PRAGMA user_version=1;";

#define ROW_COLS "id, file, trunk, a_ts, b_ts, direction, started, ended, duration_ms, rule, outcome, reason, " \
		 "status, retention_until, legal_hold, hold_reason, calling_bi, called_bi"

static int sql_err(int rc)
{
	switch (rc) {
	case SQLITE_OK:
	case SQLITE_DONE:
	case SQLITE_ROW:
		return 0;
	case SQLITE_NOMEM:
		return -ENOMEM;
	case SQLITE_BUSY:
	case SQLITE_LOCKED:
		return -EBUSY;
	case SQLITE_FULL:
		return -ENOSPC;
	case SQLITE_READONLY:
	case SQLITE_PERM:
	case SQLITE_AUTH:
		return -EACCES;
	case SQLITE_CANTOPEN:
		return -ENOENT;
	case SQLITE_CORRUPT:
	case SQLITE_NOTADB:
		return -EBADMSG;
	default:
		return -EIO;
	}
}

const char *catalog_errmsg(struct catalog *c)
{
	return c && c->db ? sqlite3_errmsg(c->db) : "no catalog";
}

const uint8_t *catalog_key(struct catalog *c)
{
	return c->have_key ? c->key : NULL;
}

void catalog_close(struct catalog *c)
{
	if (!c)
		return;
	sqlite3_finalize(c->put);
	sqlite3_finalize(c->get);
	sqlite3_finalize(c->query);
	sqlite3_finalize(c->has_file);
	sqlite3_close(c->db);
	sodium_memzero(c->key, sizeof(c->key));
	free(c);
}

int catalog_open(const char *path, const uint8_t *key, struct catalog **ret)
{
	struct catalog *c = calloc(1, sizeof(*c));
	int rc;

	if (!c)
		return -ENOMEM;
	rc = sqlite3_open_v2(path, &c->db, SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	/* trunkrecd and trunkrec share the file: wait for each other a while. */
	sqlite3_busy_timeout(c->db, 10000);
	rc = sqlite3_exec(c->db, schema, NULL, NULL, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	rc = sqlite3_prepare_v2(c->db,
				"INSERT OR REPLACE INTO recordings (" ROW_COLS ") VALUES "
				"(?1,?2,?3,?4,?5,?6,?7,?8,?9,?10,?11,?12,?13,?14,?15,?16,?17,?18)", -1, &c->put, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->db, "SELECT " ROW_COLS " FROM recordings WHERE id = ?1", -1, &c->get, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->db,
					"SELECT " ROW_COLS " FROM recordings WHERE"
					" (?1 IS NULL OR calling_bi = ?1 OR called_bi = ?1)"
					" AND (?2 IS NULL OR started >= ?2) AND (?3 IS NULL OR started < ?3)"
					" AND (?4 IS NULL OR (status NOT IN ('deleted', 'recording') AND legal_hold = 0"
					"  AND retention_until <= ?4))"
					" AND (?5 IS NULL OR id = ?5)"
					" AND (?6 IS NOT NULL OR status != 'deleted')"
					" ORDER BY started, id", -1, &c->query, NULL);
	if (rc == SQLITE_OK)
		rc = sqlite3_prepare_v2(c->db, "SELECT 1 FROM recordings WHERE file = ?1", -1, &c->has_file, NULL);
	if (rc != SQLITE_OK)
		goto fail;
	if (key) {
		memcpy(c->key, key, sizeof(c->key));
		c->have_key = true;
	}
	*ret = c;
	return 0;
fail:
	rc = sql_err(rc);
	catalog_close(c);
	return rc;
}

int catalog_blind(const uint8_t key[CATALOG_KEY_BYTES], const char *number, uint8_t ret[32])
{
	char norm[NUMBER_MAX];
	size_t n = 0;
	bool digit = false;

	/* "+44 20 7946-0000" and "+442079460000" are the same number. */
	for (const char *p = number; *p && n < sizeof(norm) - 1; p++) {
		if ((*p >= '0' && *p <= '9') || *p == '+' || *p == '*' || *p == '#') {
			norm[n++] = *p;
			digit |= *p >= '0' && *p <= '9';
		}
	}
	if (!digit)
		return -EINVAL;
	crypto_generichash(ret, 32, (const uint8_t *)norm, n, key, CATALOG_KEY_BYTES);
	sodium_memzero(norm, sizeof(norm));
	return 0;
}

int catalog_retention_days(const struct policy_rules *rules, const char *rule)
{
	if (!rules)
		return CATALOG_DEFAULT_RETENTION_DAYS;
	for (int i = 0; rule && i < rules->n; i++)
		if (!strcmp(rules->rule[i].name, rule))
			return rules->rule[i].retention_days;
	return rules->deflt.retention_days;
}

static void copy_n(char *dst, size_t size, const char *src, size_t len)
{
	if (len > size - 1)
		len = size - 1;
	memcpy(dst, src, len);
	dst[len] = '\0';
}

static bool parse_i64(const char *s, size_t len, int64_t *ret)
{
	int64_t v = 0;

	if (len == 0 || len > 18)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		v = v * 10 + (s[i] - '0');
	}
	*ret = v;
	return true;
}

void catalog_row_from_done(const char *file, bool ok, uint64_t frames, const char *meta, const char *reason,
			   int64_t now, const uint8_t *key, const struct policy_rules *rules,
			   struct catalog_row *ret)
{
	struct catalog_row *r = ret;
	char number[NUMBER_MAX];
	const char *p = meta ? meta : "", *end = p + strnlen(p, CATALOG_META_MAX);
	const char *semi;
	int64_t v;

	memset(r, 0, sizeof(*r));
	r->a_ts = r->b_ts = -1;
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p)), *eq;
		size_t len = nl ? (size_t)(nl - p) : (size_t)(end - p);

		eq = memchr(p, '=', len);
		if (eq) {
			size_t klen = (size_t)(eq - p), vlen = len - klen - 1;
			const char *val = eq + 1;

#define KEY(k) (klen == strlen(k) && !memcmp(p, k, klen))
			if (KEY("trunk"))
				copy_n(r->trunk, sizeof(r->trunk), val, vlen);
			else if (KEY("direction") && (vlen == 2 || vlen == 3))
				copy_n(r->direction, sizeof(r->direction), val, vlen);
			else if (KEY("rule"))
				copy_n(r->rule, sizeof(r->rule), val, vlen);
			else if (KEY("started") && parse_i64(val, vlen, &v))
				r->started = v;
			else if (KEY("a_ts") && parse_i64(val, vlen, &v) && v < 1024)
				r->a_ts = (int)v;
			else if (KEY("b_ts") && parse_i64(val, vlen, &v) && v < 1024)
				r->b_ts = (int)v;
			else if ((KEY("calling") || KEY("called")) && key && vlen < sizeof(number)) {
				bool calling = KEY("calling");

				copy_n(number, sizeof(number), val, vlen);
				if (catalog_blind(key, number, calling ? r->calling_bi : r->called_bi) == 0) {
					if (calling)
						r->has_calling = true;
					else
						r->has_called = true;
				}
				sodium_memzero(number, sizeof(number));
			}
#undef KEY
		}
		p += len + (nl ? 1 : 0);
	}
	if (file && *file) {
		const char *dot = strstr(file, ".trec");

		copy_n(r->file, sizeof(r->file), file, strlen(file));
		copy_n(r->id, sizeof(r->id), file, dot ? (size_t)(dot - file) : strlen(file));
		r->status = ok ? CATALOG_COMPLETE : CATALOG_FAILED;
	} else {
		uint8_t rnd[16];

		/* Nothing stored: the call still gets a row, under an id of its own. */
		randombytes_buf(rnd, sizeof(rnd));
		sodium_bin2hex(r->id, sizeof(r->id), rnd, sizeof(rnd));
		r->status = CATALOG_NOT_STORED;
	}
	reason = reason ? reason : "";
	copy_n(r->reason, sizeof(r->reason), reason, strlen(reason));
	semi = strchr(reason, ';');
	copy_n(r->outcome, sizeof(r->outcome), reason, semi ? (size_t)(semi - reason) : strlen(reason));
	if (!r->started)
		r->started = now - (int64_t)(frames / 50);
	r->ended = now;
	r->duration_ms = (int64_t)frames * 20;
	r->retention_until = r->started + (int64_t)catalog_retention_days(rules, r->rule[0] ? r->rule : NULL) * 86400;
}

static void bind_text(sqlite3_stmt *st, int i, const char *s)
{
	if (s && *s)
		sqlite3_bind_text(st, i, s, -1, SQLITE_TRANSIENT);
	else
		sqlite3_bind_null(st, i);
}

int catalog_put(struct catalog *c, const struct catalog_row *row)
{
	sqlite3_stmt *st = c->put;
	int rc;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	sqlite3_bind_text(st, 1, row->id, -1, SQLITE_TRANSIENT);
	bind_text(st, 2, row->file);
	bind_text(st, 3, row->trunk);
	if (row->a_ts >= 0)
		sqlite3_bind_int(st, 4, row->a_ts);
	if (row->b_ts >= 0)
		sqlite3_bind_int(st, 5, row->b_ts);
	bind_text(st, 6, row->direction);
	sqlite3_bind_int64(st, 7, row->started);
	if (row->ended)
		sqlite3_bind_int64(st, 8, row->ended);
	sqlite3_bind_int64(st, 9, row->duration_ms);
	bind_text(st, 10, row->rule);
	bind_text(st, 11, row->outcome);
	bind_text(st, 12, row->reason);
	sqlite3_bind_text(st, 13, catalog_status_name(row->status), -1, SQLITE_STATIC);
	sqlite3_bind_int64(st, 14, row->retention_until);
	sqlite3_bind_int(st, 15, row->legal_hold);
	bind_text(st, 16, row->hold_reason);
	if (row->has_calling)
		sqlite3_bind_blob(st, 17, row->calling_bi, 32, SQLITE_TRANSIENT);
	if (row->has_called)
		sqlite3_bind_blob(st, 18, row->called_bi, 32, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

static void col_text(sqlite3_stmt *st, int i, char *dst, size_t size)
{
	const unsigned char *t = sqlite3_column_text(st, i);

	copy_n(dst, size, t ? (const char *)t : "", t ? (size_t)sqlite3_column_bytes(st, i) : 0);
}

static void row_from_stmt(sqlite3_stmt *st, struct catalog_row *r)
{
	memset(r, 0, sizeof(*r));
	col_text(st, 0, r->id, sizeof(r->id));
	col_text(st, 1, r->file, sizeof(r->file));
	col_text(st, 2, r->trunk, sizeof(r->trunk));
	r->a_ts = sqlite3_column_type(st, 3) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 3);
	r->b_ts = sqlite3_column_type(st, 4) == SQLITE_NULL ? -1 : sqlite3_column_int(st, 4);
	col_text(st, 5, r->direction, sizeof(r->direction));
	r->started = sqlite3_column_int64(st, 6);
	r->ended = sqlite3_column_int64(st, 7);
	r->duration_ms = sqlite3_column_int64(st, 8);
	col_text(st, 9, r->rule, sizeof(r->rule));
	col_text(st, 10, r->outcome, sizeof(r->outcome));
	col_text(st, 11, r->reason, sizeof(r->reason));
	r->status = status_from_name((const char *)sqlite3_column_text(st, 12));
	r->retention_until = sqlite3_column_int64(st, 13);
	r->legal_hold = sqlite3_column_int(st, 14) != 0;
	col_text(st, 15, r->hold_reason, sizeof(r->hold_reason));
	if (sqlite3_column_bytes(st, 16) == 32) {
		memcpy(r->calling_bi, sqlite3_column_blob(st, 16), 32);
		r->has_calling = true;
	}
	if (sqlite3_column_bytes(st, 17) == 32) {
		memcpy(r->called_bi, sqlite3_column_blob(st, 17), 32);
		r->has_called = true;
	}
}

int catalog_get(struct catalog *c, const char *id, struct catalog_row *ret)
{
	sqlite3_stmt *st = c->get;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	if (rc == SQLITE_ROW)
		row_from_stmt(st, ret);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 0;
	return rc == SQLITE_DONE ? -ENOENT : sql_err(rc);
}

int catalog_has_file(struct catalog *c, const char *name)
{
	sqlite3_stmt *st = c->has_file;
	int rc;

	sqlite3_reset(st);
	sqlite3_bind_text(st, 1, name, -1, SQLITE_TRANSIENT);
	rc = sqlite3_step(st);
	sqlite3_reset(st);
	if (rc == SQLITE_ROW)
		return 1;
	return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

int catalog_query(struct catalog *c, const struct catalog_filter *f, catalog_row_cb cb, void *userdata)
{
	sqlite3_stmt *st = c->query;
	struct catalog_row row;
	uint8_t bi[32];
	int rc, r = 0;

	sqlite3_reset(st);
	sqlite3_clear_bindings(st);
	if (f->number) {
		if (!c->have_key)
			return -ENOKEY;
		if (catalog_blind(c->key, f->number, bi) < 0)
			return -EINVAL;
		sqlite3_bind_blob(st, 1, bi, sizeof(bi), SQLITE_TRANSIENT);
	}
	if (f->from)
		sqlite3_bind_int64(st, 2, f->from);
	if (f->to)
		sqlite3_bind_int64(st, 3, f->to);
	if (f->expired_at)
		sqlite3_bind_int64(st, 4, f->expired_at);
	if (f->id)
		sqlite3_bind_text(st, 5, f->id, -1, SQLITE_TRANSIENT);
	if (f->with_deleted)
		sqlite3_bind_int(st, 6, 1);
	while ((rc = sqlite3_step(st)) == SQLITE_ROW) {
		row_from_stmt(st, &row);
		if (cb && (r = cb(&row, userdata)) != 0)
			break;
	}
	sqlite3_reset(st);
	if (r)
		return r;
	return rc == SQLITE_DONE ? 0 : sql_err(rc);
}

static int exec_changes(struct catalog *c, const char *sql, const char *id, int64_t now, const char *text)
{
	sqlite3_stmt *st;
	int rc;

	rc = sqlite3_prepare_v2(c->db, sql, -1, &st, NULL);
	if (rc != SQLITE_OK)
		return sql_err(rc);
	sqlite3_bind_text(st, 1, id, -1, SQLITE_TRANSIENT);
	sqlite3_bind_int64(st, 2, now);
	bind_text(st, 3, text);
	rc = sqlite3_step(st);
	sqlite3_finalize(st);
	if (rc != SQLITE_DONE)
		return sql_err(rc);
	return sqlite3_changes(c->db) ? 0 : -ENOENT;
}

int catalog_set_hold(struct catalog *c, const char *id, bool hold, const char *reason)
{
	/* ?2 is unused here: a hold is independent of time and never moves retention. */
	return exec_changes(c, hold ? "UPDATE recordings SET legal_hold = 1, hold_reason = ?3 "
				      "WHERE id = ?1 AND status != 'deleted' AND ?2 IS NOT NULL"
				    : "UPDATE recordings SET legal_hold = 0, hold_reason = ?3 "
				      "WHERE id = ?1 AND status != 'deleted' AND ?2 IS NOT NULL",
			    id, 0, reason);
}

int catalog_mark_deleted(struct catalog *c, const char *id, int64_t now, const char *reason)
{
	return exec_changes(c, "UPDATE recordings SET status = 'deleted', deleted_at = ?2, delete_reason = ?3, "
			       "calling_bi = NULL, called_bi = NULL, legal_hold = 0 "
			       "WHERE id = ?1 AND status != 'deleted'",
			    id, now, reason);
}

int catalog_mark_recovered(struct catalog *c, const char *id, const char *file, int64_t created,
			   int retention_days)
{
	struct catalog_row row;
	int r = catalog_get(c, id, &row);

	if (r == -ENOENT) {
		memset(&row, 0, sizeof(row));
		copy_n(row.id, sizeof(row.id), id, strlen(id));
		row.a_ts = row.b_ts = -1;
		row.started = created;
		row.retention_until = created + (int64_t)retention_days * 86400;
		copy_n(row.reason, sizeof(row.reason), "closed by recovery", 18);
	} else if (r < 0) {
		return r;
	}
	copy_n(row.file, sizeof(row.file), file, strlen(file));
	row.status = CATALOG_RECOVERED;
	return catalog_put(c, &row);
}
