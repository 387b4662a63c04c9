// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness for the catalog's inputs (store/catalog.c) and the
 * structural recovery walk (store/recovery.c).
 *
 * Input byte 0 picks a mode:
 *   0  META text, reason and file name from the input (as a recording's end
 *      would hand them over) → a row → an in-memory SQLite catalog → read back;
 *   1  raw bytes as a .partial image for recovery_scan;
 *   2  raw bytes as a number for the blind index and a find.
 * Oracles: no crash or sanitizer report; a row reads back as it was put
 * (strings bounded and terminated); the blind index never sees the number in
 * a row; recovery_scan never cuts beyond the input or inside the header.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "store/catalog.h"
#include "store/recovery.h"
#include "record/vault.h"

static struct catalog *cat;
static uint8_t key[CATALOG_KEY_BYTES];

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	if (sodium_init() < 0)
		return 1;
	randombytes_buf(key, sizeof(key));
	return catalog_open(":memory:", key, &cat) < 0;
}

static int nothing(const struct catalog_row *row, void *userdata)
{
	(void)row;
	(void)userdata;
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	char *text;

	if (size < 1)
		return 0;
	text = malloc(size);
	if (!text)
		return 0;
	memcpy(text, data + 1, size - 1);
	text[size - 1] = '\0';
	switch (data[0] % 3) {
	case 0: {
		/* Three NUL-separated strings: meta, reason, file. */
		const char *meta = text, *reason = "", *file = NULL;
		size_t l1 = strlen(meta);
		struct catalog_row row, back;

		if (l1 + 1 < size - 1) {
			reason = text + l1 + 1;
			if (l1 + strlen(reason) + 2 < size - 1)
				file = reason + strlen(reason) + 1;
		}
		catalog_row_from_done(file, data[0] & 0x80, (uint64_t)data[0] * 977, meta, reason, 1700000000, key,
				      NULL, &row);
		if (strnlen(row.id, sizeof(row.id)) == sizeof(row.id) || strnlen(row.trunk, sizeof(row.trunk)) == sizeof(row.trunk) ||
		    strnlen(row.reason, sizeof(row.reason)) == sizeof(row.reason))
			abort();
		if (catalog_put(cat, &row) == 0 && row.id[0]) {
			if (catalog_get(cat, row.id, &back) != 0)
				abort();
			if (strcmp(back.trunk, row.trunk) || strcmp(back.rule, row.rule) || back.started != row.started ||
			    back.status != row.status || back.has_calling != row.has_calling)
				abort();
		}
		break;
	}
	case 1: {
		struct recovery_scan scan;

		recovery_scan(data + 1, size - 1, &scan);
		if (scan.good_bytes > size - 1 || (scan.header_ok && scan.good_bytes < VAULT_HEADER_BYTES))
			abort();
		break;
	}
	case 2: {
		struct catalog_filter f = { .number = text };

		catalog_query(cat, &f, nothing, NULL);
		break;
	}
	}
	free(text);
	return 0;
}
