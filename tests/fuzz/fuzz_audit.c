// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness for the audit log reader (store/audit.c).
 *
 * Input byte 0 picks a mode:
 *   0  raw bytes as a whole log;
 *   1  a valid log of entries built from the input (action, object and
 *      details from input slices), then one mutation: flip, cut, swap or
 *      duplicate a line;
 *   2  raw bytes as one checkpoint line.
 * Oracles: no crash or sanitizer report; an entry that parses formats back
 * to exactly its line; an unchanged built log verifies with every entry;
 * a mutated one never verifies with the same entries and last hash unless
 * the mutation was a cut at a line end (truncation: only a checkpoint can
 * tell) or changed nothing.
 */
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/audit.h"

static const char *const actions[] = { "find", "export", "hold", "release", "delete", "purge" };

static int check_entry(const struct audit_entry *e, uint64_t line, void *userdata)
{
	char buf[AUDIT_LINE_MAX + 2];
	int n = audit_entry_format(e, buf, sizeof(buf));

	(void)line;
	(void)userdata;
	if (n <= 0)
		abort();
	return 0;
}

static void build_and_mutate(const uint8_t *data, size_t size)
{
	struct audit_verify_result res, res2;
	uint8_t prev[AUDIT_HASH_BYTES] = { 0 };
	char *log = malloc(16 * (AUDIT_LINE_MAX + 1)), *mut;
	size_t len = 0, pos = 0, starts[17];
	unsigned n = 0;

	if (!log)
		return;
	while (pos + 3 <= size && n < 16) {
		struct audit_entry e = { .seq = n + 1, .time = data[pos], .uid = data[pos + 1] };
		size_t olen = data[pos + 2] % 48;
		int k;

		pos += 3;
		if (olen > size - pos)
			olen = size - pos;
		snprintf(e.action, sizeof(e.action), "%s", actions[olen % 6]);
		memcpy(e.object, data + pos, olen);	/* may hold a NUL: the value ends there */
		e.object[olen] = '\0';
		snprintf(e.details, sizeof(e.details), "n=%u", n);
		pos += olen;
		memcpy(e.prev, prev, sizeof(prev));
		audit_entry_hash(&e, e.hash);
		memcpy(prev, e.hash, sizeof(prev));
		starts[n++] = len;
		k = audit_entry_format(&e, log + len, AUDIT_LINE_MAX + 1);
		if (k <= 0)
			abort();
		len += (size_t)k;
	}
	starts[n] = len;
	if (audit_verify((uint8_t *)log, len, check_entry, NULL, &res) != 0 || res.entries != n)
		abort();
	if (!n || pos >= size) {
		free(log);
		return;
	}
	mut = malloc(len + AUDIT_LINE_MAX + 1);
	memcpy(mut, log, len);
	{
		uint8_t op = data[pos] % 4;
		size_t at = size > pos + 1 ? data[pos + 1] : 0, mlen = len;
		unsigned a = (unsigned)(at % n), b = (unsigned)((at / 7) % n);

		switch (op) {
		case 0:	/* flip a byte */
			mut[at * 131 % len] ^= (char)(data[pos] | 1);
			break;
		case 1:	/* cut */
			mlen = at * 131 % len;
			break;
		case 2:	/* swap lines a and b (different lengths are fine: rebuild) */
			if (a != b) {
				size_t la = starts[a + 1] - starts[a], lb = starts[b + 1] - starts[b], o = 0;

				if (a > b) {
					unsigned t = a; a = b; b = t;
					size_t tl = la; la = lb; lb = tl;
				}
				memcpy(mut, log, starts[a]);
				o = starts[a];
				memcpy(mut + o, log + starts[b], lb);
				o += lb;
				memcpy(mut + o, log + starts[a + 1], starts[b] - starts[a + 1]);
				o += starts[b] - starts[a + 1];
				memcpy(mut + o, log + starts[a], la);
				o += la;
				memcpy(mut + o, log + starts[b + 1], len - starts[b + 1]);
			}
			break;
		case 3:	/* duplicate line a at the end */
			memcpy(mut + len, log + starts[a], starts[a + 1] - starts[a]);
			mlen = len + starts[a + 1] - starts[a];
			break;
		}
		if (audit_verify((uint8_t *)mut, mlen, check_entry, NULL, &res2) == 0 && mlen == len &&
		    memcmp(mut, log, len) != 0 && res2.entries == res.entries &&
		    !memcmp(res2.last_hash, res.last_hash, AUDIT_HASH_BYTES))
			abort();	/* a changed log that verifies to the same head */
		if (op == 1 && audit_verify((uint8_t *)mut, mlen, NULL, NULL, &res2) != 0)
			abort();	/* a cut log is a prefix: it verifies (torn tail at worst) */
	}
	free(mut);
	free(log);
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	return sodium_init() < 0 ? 1 : 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct audit_verify_result res;
	struct audit_checkpoint cp;
	struct audit_entry e;

	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		audit_verify(data + 1, size - 1, check_entry, NULL, &res);
		if (size - 1 <= AUDIT_LINE_MAX && audit_entry_parse((const char *)data + 1, size - 1, &e, NULL) == 0) {
			char buf[AUDIT_LINE_MAX + 2];
			int n = audit_entry_format(&e, buf, sizeof(buf));

			if (n != (int)size || memcmp(buf, data + 1, size - 1))
				abort();	/* parse accepted a line that is not canonical */
		}
		break;
	case 1:
		build_and_mutate(data + 1, size - 1);
		break;
	case 2:
		audit_checkpoint_parse((const char *)data + 1, size - 1, &cp);
		break;
	}
	return 0;
}
