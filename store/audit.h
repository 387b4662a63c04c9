/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The audit log: append-only, hash-chained, one line per entry
 * (docs/storage.md "Audit log").
 *
 *   seq=N time=T uid=U action=A object=O details=D prev=HEX64 hash=HEX64\n
 *
 * hash = BLAKE2b-256("trunkrec-audit-v1\0" | seq u64 | time i64 | uid u32 |
 *                    len u32 | action | len u32 | object | len u32 | details |
 *                    prev 32 bytes), integers little-endian.
 * The first entry has seq 1 and prev = 32 zero bytes. object and details are
 * %XX-escaped (space, '%', controls and bytes >= 0x7f); a line must be exactly
 * what the writer would write for the values it holds, so any byte that
 * changes is caught.
 *
 * An entry is durable (fdatasync) before audit_append() returns: callers
 * append before the action they record and do not act when it fails.
 *
 * Thread-safe: any thread may append (a mutex, then flock for other
 * processes: trunkrecd and trunkrec both append to the same log). Not for the
 * audio path: it syncs.
 */
#ifndef TRUNKREC_STORE_AUDIT_H
#define TRUNKREC_STORE_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define AUDIT_HASH_BYTES	32
#define AUDIT_ACTION_MAX	16	/* including the NUL */
#define AUDIT_OBJECT_MAX	128
#define AUDIT_DETAILS_MAX	1024
#define AUDIT_LINE_MAX		4096	/* a longer line is not an entry */
#define AUDIT_SIG_BYTES		64	/* Ed25519 */

struct audit_entry {
	uint64_t seq;
	int64_t time;
	uint32_t uid;
	char action[AUDIT_ACTION_MAX];
	char object[AUDIT_OBJECT_MAX];
	char details[AUDIT_DETAILS_MAX];
	uint8_t prev[AUDIT_HASH_BYTES];
	uint8_t hash[AUDIT_HASH_BYTES];
};

/* ---- pure: format, parse, hash (no I/O) ----------------------------- */

/* The actions the log knows; anything else is refused on append and on read. */
bool audit_action_valid(const char *action);

void audit_entry_hash(const struct audit_entry *e, uint8_t ret[AUDIT_HASH_BYTES]);

/* The canonical line for e (with its '\n'). Returns its length, or -ENAMETOOLONG. */
int audit_entry_format(const struct audit_entry *e, char *buf, size_t size);

/*
 * Parse one line (without its '\n'). Strict: the line must be canonical.
 * Returns 0 or -EBADMSG; ret_why (may be NULL) says what is wrong. Does not
 * check the hash: audit_verify does.
 */
int audit_entry_parse(const char *line, size_t len, struct audit_entry *ret, const char **ret_why);

struct audit_verify_result {
	uint64_t entries;		/* whole lines that verified */
	uint64_t last_seq;
	uint8_t last_hash[AUDIT_HASH_BYTES];
	uint64_t bad_line;		/* 1-based line of the first problem; 0 = none */
	char why[160];
	bool torn_tail;			/* a last line without '\n': an append cut by a crash */
};

/* Called for each verified entry, in order; non-zero stops (returned as is). */
typedef int (*audit_entry_cb)(const struct audit_entry *e, uint64_t line, void *userdata);

/*
 * Verify a whole log image. Returns 0 when every line verifies (a torn
 * last line is reported in ret->torn_tail, not an error: its action never
 * ran), -EBADMSG at the first line that does not (ret->bad_line, ret->why),
 * or the callback's value.
 */
int audit_verify(const uint8_t *data, size_t len, audit_entry_cb cb, void *userdata,
		 struct audit_verify_result *ret);

/* ---- signed checkpoints --------------------------------------------- */

/*
 * "checkpoint seq=N time=T hash=HEX64 sig=HEX128\n"; sig = Ed25519 over
 * "trunkrec-audit-checkpoint-v1\0" | seq u64 | time i64 | hash.
 */
struct audit_checkpoint {
	uint64_t seq;
	int64_t time;
	uint8_t hash[AUDIT_HASH_BYTES];
	uint8_t sig[AUDIT_SIG_BYTES];
};

/* sk: crypto_sign secret key (64 bytes). SECRET. Returns the line length or -errno. */
int audit_checkpoint_sign(struct audit_checkpoint *cp, const uint8_t sk[64], char *buf, size_t size);
int audit_checkpoint_parse(const char *line, size_t len, struct audit_checkpoint *ret);
bool audit_checkpoint_valid(const struct audit_checkpoint *cp, const uint8_t pk[32]);

/* ---- the log file --------------------------------------------------- */

struct audit;

/* Open (creating, mode 0640) the log at path. Returns 0 or -errno. */
int audit_open(const char *path, struct audit **ret);
void audit_close(struct audit *a);	/* accepts NULL */

/*
 * Append one entry, durable before returning. action must be one of the
 * known actions; object and details are cut at their maximum (never
 * refused for length). Returns 0 (ret_seq, may be NULL, gets the seq) or
 * -errno: -EBADMSG when the log's last line is not an entry (the log was
 * damaged: nothing is appended to it; run 'trunkrec audit verify').
 */
int audit_append(struct audit *a, int64_t time, uint32_t uid, const char *action, const char *object,
		 const char *details, uint64_t *ret_seq);

#endif
