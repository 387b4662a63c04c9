/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Crash recovery and retention: what happens to recording files outside a
 * call (docs/storage.md).
 *
 * Recovery runs at trunkrecd's start, before any call is relayed. trunkrecd
 * holds only the recipient's public key, so it cannot authenticate a record:
 * it recovers structurally. Each ID.trec.partial is walked by its length
 * prefixes; the torn tail (a partial length, a record shorter than its
 * length, or a length out of bounds) is cut at the last whole record, the
 * file is made durable and renamed ID.trec, the catalog says 'recovered' and
 * the audit log says what was cut, before it is cut. No FINAL record is ever
 * added: the key holder's 'trunkrec verify' reports TRUNCATED and
 * authenticates every record before the cut (or CORRUPT if one of them was
 * damaged: structure cannot tell).
 *
 * Thread: the caller's (main, at start; trunkrec).
 */
#ifndef TRUNKREC_STORE_RECOVERY_H
#define TRUNKREC_STORE_RECOVERY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct catalog;
struct audit;

struct recovery_scan {
	bool header_ok;		/* magic and version match, whole header present */
	uint64_t records;	/* whole records by their length prefixes */
	uint64_t good_bytes;	/* where the whole records end: the cut */
	bool bad_length;	/* stopped at a length out of bounds (not a torn write) */
	bool zero_tail;		/* everything after the cut is zero bytes (a torn, extended file) */
};

/* Pure: walk a file image's structure. Never reads beyond len. */
void recovery_scan(const uint8_t *file, size_t len, struct recovery_scan *ret);

struct recovery_stats {
	unsigned recovered;	/* .partial closed and renamed */
	unsigned removed;	/* .partial with not even a whole header: nothing to keep */
	unsigned orphans;	/* .trec with no catalog row: filed as complete */
	unsigned errors;	/* could not be handled (left as they are, reported) */
};

/*
 * Recover every *.trec.partial in dir, then file every *.trec the catalog
 * does not know (a crash between the rename and the catalog write). uid and
 * now go into the audit entries; retention_days is for rows recovery has
 * to create. Returns 0 or the first -errno (the rest are still tried).
 */
int recovery_run(const char *dir, struct catalog *c, struct audit *a, uint32_t uid, int64_t now,
		 int retention_days, struct recovery_stats *ret);

/* Recover one file in dirfd; name ends with .trec.partial. */
int recovery_file(int dirfd, const char *name, struct catalog *c, struct audit *a, uint32_t uid, int64_t now,
		  int retention_days, struct recovery_stats *stats);

#endif
