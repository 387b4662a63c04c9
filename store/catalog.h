/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The catalog: an SQLite database (WAL) of recordings (docs/storage.md).
 *
 * Phone numbers never enter it: only a blind index, BLAKE2b-256 keyed with
 * the 32-byte [general] blind_index_key, of each number with everything but
 * digits, '+', '*' and '#' removed. The catalog alone does not say who
 * called; whoever holds the key can look a number up.
 *
 * Catalog writes never happen on the audio path. A recording's end reaches
 * the catalog through catalog_post() (store/filer.h), which only copies into a bounded queue
 * (a mutex held for a memcpy, never for I/O); the catalog thread writes.
 *
 * Thread: a struct catalog is used by one thread at a time (the catalog
 * thread in trunkrecd; the caller in trunkrec). catalog_post may be called
 * from any thread.
 */
#ifndef TRUNKREC_STORE_CATALOG_H
#define TRUNKREC_STORE_CATALOG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "policy/rules.h"

#define CATALOG_KEY_BYTES	32
#define CATALOG_ID_MAX		40	/* 32 hex digits and the NUL */
#define CATALOG_FILE_MAX	96
#define CATALOG_TEXT_MAX	128
#define CATALOG_REASON_MAX	256
#define CATALOG_META_MAX	512	/* a META record is at most RECORDER_META_MAX (320) */
#define CATALOG_DEFAULT_RETENTION_DAYS	30
#define CATALOG_QUEUE_DEFAULT	1024

enum catalog_status {
	CATALOG_RECORDING,	/* being written: filed when its file is created, replaced at its end */
	CATALOG_COMPLETE,	/* ID.trec, finished by its writer */
	CATALOG_RECOVERED,	/* ID.trec, closed by recovery after a crash: TRUNCATED */
	CATALOG_FAILED,		/* a write or fdatasync failed: ID.trec.partial left for recovery */
	CATALOG_DELETED,	/* unlinked (purge or early delete); numbers' index erased */
	CATALOG_NOT_STORED,	/* the policy never allowed a frame (e.g. not announced): no file */
	CATALOG_STATUS_COUNT
};

const char *catalog_status_name(enum catalog_status s);

struct catalog_row {
	char id[CATALOG_ID_MAX];
	char file[CATALOG_FILE_MAX];	/* "" when nothing was stored */
	char trunk[CATALOG_TEXT_MAX];
	int a_ts, b_ts;
	char direction[8];		/* in, out, or "" if unknown */
	int64_t started, ended;		/* seconds since the epoch; ended 0 = unknown */
	int64_t duration_ms;
	char rule[CATALOG_TEXT_MAX];
	char outcome[CATALOG_TEXT_MAX];	/* the policy outcome: recorded, not_announced, … */
	char reason[CATALOG_REASON_MAX];
	enum catalog_status status;
	int64_t retention_until;	/* purge after this (seconds since the epoch) */
	bool legal_hold;
	char hold_reason[CATALOG_REASON_MAX];
	bool has_calling, has_called;	/* a blind index is stored */
	uint8_t calling_bi[32], called_bi[32];
};

struct catalog;

/*
 * Open or create the database at path (":memory:" for tests). key: the blind
 * index key (32 bytes), or NULL: rows then hold no number index and
 * catalog_find refuses (-ENOKEY). The key is copied and wiped on close.
 */
int catalog_open(const char *path, const uint8_t *key, struct catalog **ret);
void catalog_close(struct catalog *c);		/* accepts NULL */
const char *catalog_errmsg(struct catalog *c);	/* SQLite's last message, for the caller's log */
const uint8_t *catalog_key(struct catalog *c);	/* NULL without a key */

/* The blind index of a number. -EINVAL for one with no digits. */
int catalog_blind(const uint8_t key[CATALOG_KEY_BYTES], const char *number, uint8_t ret[32]);

/* Retention days of rule name (the default rule's when unknown; 30 without rules). */
int catalog_retention_days(const struct policy_rules *rules, const char *rule);

/*
 * A row from a recording's end (what struct recording_done carries, copied):
 * META text parsed (bounded; unknown keys ignored), numbers blinded with key
 * (may be NULL), retention from rules (may be NULL). now: when it ended.
 * Pure apart from randomness (an id for a call that stored nothing).
 */
void catalog_row_from_done(const char *file, bool ok, uint64_t frames, const char *meta, const char *reason,
			   int64_t now, const uint8_t *key, const struct policy_rules *rules,
			   struct catalog_row *ret);

/* Insert, or replace the row with the same id. */
int catalog_put(struct catalog *c, const struct catalog_row *row);
/* -ENOENT when there is no such id. */
int catalog_get(struct catalog *c, const char *id, struct catalog_row *ret);

/* The row whose file is name, if any: 1 found, 0 not, -errno. */
int catalog_has_file(struct catalog *c, const char *name);

struct catalog_filter {
	const char *number;		/* only rows with this number (calling or called), or NULL */
	int64_t from, to;		/* started in [from, to); 0 = open */
	int64_t expired_at;		/* only rows purge would take at this time; 0 = no */
	const char *id;			/* only this id, or NULL */
	bool with_deleted;		/* include deleted rows */
};

typedef int (*catalog_row_cb)(const struct catalog_row *row, void *userdata);

/* Rows matching f, oldest first. -ENOKEY for a number without a blind index key. */
int catalog_query(struct catalog *c, const struct catalog_filter *f, catalog_row_cb cb, void *userdata);

/* Legal hold on or off; -ENOENT for an unknown or deleted id. Retention is untouched. */
int catalog_set_hold(struct catalog *c, const char *id, bool hold, const char *reason);

/* Mark deleted and erase the number index; -ENOENT if unknown or already deleted. */
int catalog_mark_deleted(struct catalog *c, const char *id, int64_t now, const char *reason);

/*
 * After recovery closed ID.trec: the row (kept if it exists, e.g. failed)
 * becomes recovered; a new row gets what the header says (created time,
 * unauthenticated) and the default retention.
 */
int catalog_mark_recovered(struct catalog *c, const char *id, const char *file, int64_t created,
			   int retention_days);

#endif
