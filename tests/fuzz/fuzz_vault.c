// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * libFuzzer harness for the vault reader (record/vault.c).
 *
 * Input byte 0 picks a mode:
 *   0  raw bytes as a whole file;
 *   1  our valid header followed by raw bytes as records;
 *   2  a valid file built from the input (record payloads), then one
 *      mutation driven by the input: truncate, flip, swap, duplicate,
 *      delete, append.
 * Oracles: no crash or sanitizer report; in modes 0 and 1 the callback never
 * runs (that would be a forgery under a key the input cannot know); in
 * mode 2 every callback payload equals the record written at that index, a
 * changed file is never COMPLETE, a pure truncation is always TRUNCATED and
 * an unchanged file reads back exactly as written.
 *
 * SECRET: the keypair is made once per process at startup, never stored.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/vault.h"

#define MAXREC 8

static uint8_t pk[VAULT_PK_BYTES], sk[VAULT_SK_BYTES];
static uint8_t fixed_header[VAULT_HEADER_BYTES];

struct rec {
	enum vault_record_type type;
	const uint8_t *data;
	size_t len;
};

struct expect {
	const struct rec *rec;
	unsigned n;
	unsigned calls;
};

#define CHECK(x) do { if (!(x)) { fprintf(stderr, "fuzz_vault: %s:%d: %s\n", __FILE__, __LINE__, #x); abort(); } } while (0)

static int never_cb(enum vault_record_type type, const uint8_t *plain, size_t len, void *userdata)
{
	(void)type, (void)plain, (void)len, (void)userdata;
	CHECK(!"plaintext released from a file we did not write");
	return 0;
}

static int check_cb(enum vault_record_type type, const uint8_t *plain, size_t len, void *userdata)
{
	struct expect *e = userdata;
	const struct rec *want;

	CHECK(e->calls < e->n);
	want = &e->rec[e->calls];
	CHECK(type == want->type);
	CHECK(len == want->len);
	CHECK(len == 0 || memcmp(plain, want->data, len) == 0);
	e->calls++;
	return 0;
}

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct vault_writer w;

	(void)argc, (void)argv;
	if (sodium_init() < 0)
		abort();
	crypto_box_keypair(pk, sk);
	if (vault_writer_start(&w, pk, 1, fixed_header) != 0)
		abort();
	vault_writer_wipe(&w);
	return 0;
}

static void run_raw(const uint8_t *data, size_t size)
{
	enum vault_status st;
	struct vault_info info;
	int r = vault_read(data, size, pk, sk, never_cb, NULL, &st, &info);

	CHECK(r == 0 || r == -EACCES);
	if (r == 0) {
		CHECK(st != VAULT_COMPLETE);
		CHECK(info.good_bytes <= size);
	}
}

static void run_header_plus(const uint8_t *data, size_t size)
{
	uint8_t *buf = malloc(VAULT_HEADER_BYTES + size);
	enum vault_status st;
	struct vault_info info;
	int r;

	CHECK(buf);
	memcpy(buf, fixed_header, VAULT_HEADER_BYTES);
	memcpy(buf + VAULT_HEADER_BYTES, data, size);
	r = vault_read(buf, VAULT_HEADER_BYTES + size, pk, sk, never_cb, NULL, &st, &info);
	CHECK(r == 0);
	CHECK(st != VAULT_COMPLETE);
	CHECK(info.records == 0);
	CHECK(info.good_bytes == VAULT_HEADER_BYTES);
	free(buf);
}

/* Copy [a,b) of src to dst at *len. */
static void put(uint8_t *dst, size_t *len, const uint8_t *src, size_t a, size_t b)
{
	memcpy(dst + *len, src + a, b - a);
	*len += b - a;
}

static void run_built(const uint8_t *data, size_t size)
{
	struct rec rec[MAXREC];
	size_t off[MAXREC + 1], flen, mlen = 0, cap;
	struct vault_writer w;
	struct expect e = { 0 };
	enum vault_status st;
	struct vault_info info;
	uint8_t *file, *mut;
	unsigned n, op, i, j;
	uint32_t pos;
	bool final, pure_truncation = false;
	int r;

	if (size < 8)
		return;
	n = 1 + data[0] % MAXREC;
	final = data[1] & 1;
	op = data[2] % 8;
	pos = (uint32_t)data[3] | (uint32_t)data[4] << 8 | (uint32_t)data[5] << 16 |
	      (uint32_t)data[6] << 24;
	i = data[7];
	data += 8;
	size -= 8;

	/* Payloads: a length byte, then that many bytes (clamped), per record. */
	for (unsigned k = 0; k < n; k++) {
		size_t l = 0;

		if (size) {
			l = data[0];
			data++;
			size--;
		}
		if (l > size)
			l = size;
		rec[k].data = data;
		rec[k].len = l;
		rec[k].type = final && k == n - 1 ? VAULT_REC_END : k == 0 ? VAULT_REC_META :
			      k % 2 ? VAULT_REC_OGG : VAULT_REC_TIMELINE;
		data += l;
		size -= l;
	}

	cap = VAULT_HEADER_BYTES;
	for (unsigned k = 0; k < n; k++)
		cap += rec[k].len + VAULT_RECORD_OVERHEAD;
	file = malloc(cap);
	mut = malloc(2 * cap + 256);	/* a duplicate, or up to 256 junk bytes */
	CHECK(file && mut);
	CHECK(vault_writer_start(&w, pk, 42, file) == 0);
	flen = VAULT_HEADER_BYTES;
	for (unsigned k = 0; k < n; k++) {
		long got = vault_writer_seal(&w, rec[k].type, rec[k].data, rec[k].len,
					     final && k == n - 1, file + flen);

		CHECK(got == (long)(rec[k].len + VAULT_RECORD_OVERHEAD));
		off[k] = flen;
		flen += (size_t)got;
	}
	off[n] = flen;
	CHECK(flen == cap);
	vault_writer_wipe(&w);

	j = (unsigned)(pos % n);
	switch (op) {
	case 0:	/* unchanged */
		put(mut, &mlen, file, 0, flen);
		break;
	case 1:	/* truncate */
		put(mut, &mlen, file, 0, pos % (flen + 1));
		pure_truncation = true;
		break;
	case 2:	/* flip one bit */
	case 7:
		put(mut, &mlen, file, 0, flen);
		mut[pos % flen] ^= (uint8_t)(1u << (i % 8));
		if (op == 7)	/* and cut */
			mlen = (size_t)(i * 977u) % (flen + 1);
		break;
	case 3:	/* swap records i % n and j */
		i %= n;
		put(mut, &mlen, file, 0, VAULT_HEADER_BYTES);
		for (unsigned k = 0; k < n; k++) {
			unsigned s = k == i ? j : k == j ? i : k;

			put(mut, &mlen, file, off[s], off[s + 1]);
		}
		break;
	case 4:	/* duplicate record j */
		put(mut, &mlen, file, 0, off[j + 1]);
		put(mut, &mlen, file, off[j], flen);
		break;
	case 5:	/* delete record j */
		put(mut, &mlen, file, 0, off[j]);
		put(mut, &mlen, file, off[j + 1], flen);
		break;
	case 6:	/* append i+1 bytes of junk, or a copy of record j */
		put(mut, &mlen, file, 0, flen);
		if (pos & 1) {
			put(mut, &mlen, file, off[j], off[j + 1]);
		} else {
			memset(mut + mlen, 0x5a, i + 1);
			mlen += i + 1;
		}
		break;
	}

	e.rec = rec;
	e.n = n;
	r = vault_read(mut, mlen, pk, sk, check_cb, &e, &st, &info);
	if (mlen == flen && memcmp(mut, file, flen) == 0) {
		CHECK(r == 0);
		CHECK(st == (final ? VAULT_COMPLETE : VAULT_TRUNCATED));
		CHECK(info.records == n);
		CHECK(info.good_bytes == flen);
	} else if (r == 0) {
		/* The one property that matters: a changed file is never whole. */
		CHECK(st != VAULT_COMPLETE);
		CHECK(info.records == e.calls);
		CHECK(info.good_bytes <= mlen);
		if (pure_truncation) {
			CHECK(st == VAULT_TRUNCATED);
			if (mlen >= VAULT_HEADER_BYTES) {
				/* Cut at the last whole record before the tear. */
				unsigned k = 0;

				while (k < n && off[k + 1] <= mlen)
					k++;
				CHECK(info.records == k);
				CHECK(info.good_bytes == off[k]);
			}
		}
	} else {
		/* Only a damaged sealed key (or a header cut before it) says so. */
		CHECK(r == -EACCES);
		CHECK(e.calls == 0);
	}
	free(file);
	free(mut);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	if (size < 1)
		return 0;
	switch (data[0] % 3) {
	case 0:
		run_raw(data + 1, size - 1);
		break;
	case 1:
		run_header_plus(data + 1, size - 1);
		break;
	default:
		run_built(data + 1, size - 1);
		break;
	}
	return 0;
}
