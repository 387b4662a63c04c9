// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Vault format: round trips, and every way a file can be damaged or tampered
 * with. Two properties hold throughout: a file that is not byte-for-byte what
 * the writer produced is never COMPLETE, and the reader never hands out a
 * record that differs from the one written at that position.
 *
 * Keys are generated at test time; none are stored.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "record/vault.h"

#define MAXREC 16
/* Header offsets (docs/file-format.md) */
#define VAULT_OFF_SEALED_TEST	(8 + VAULT_ID_BYTES + 8)
#define VAULT_OFF_SSHEADER_TEST	(VAULT_OFF_SEALED_TEST + VAULT_SEALED_KEY_BYTES)

/* SECRET (test-only, generated per run) */
static uint8_t pk1[VAULT_PK_BYTES], sk1[VAULT_SK_BYTES];
static uint8_t pk2[VAULT_PK_BYTES], sk2[VAULT_SK_BYTES];

struct rec {
	enum vault_record_type type;
	uint8_t *data;
	size_t len;
};

/* A file as written, with where each record starts. */
struct vfile {
	uint8_t *data;
	size_t len;
	uint8_t id[VAULT_ID_BYTES];
	unsigned n;
	size_t off[MAXREC + 1];	/* off[n] = len */
	struct rec rec[MAXREC];
	bool final;
};

/* What a read is checked against, and what it delivered. */
struct expect {
	const struct vfile *f;
	unsigned calls;
};

static int check_cb(enum vault_record_type type, const uint8_t *plain, size_t len, void *userdata)
{
	struct expect *e = userdata;
	const struct rec *want;

	/* Any plaintext out must be exactly the record written at this index. */
	assert_true(e->calls < e->f->n);
	want = &e->f->rec[e->calls];
	assert_int_equal(type, want->type);
	assert_int_equal(len, want->len);
	if (len)
		assert_memory_equal(plain, want->data, len);
	e->calls++;
	return 0;
}

static void fill(uint8_t *p, size_t len, uint32_t seed)
{
	for (size_t i = 0; i < len; i++) {
		seed = seed * 1103515245u + 12345u;
		p[i] = (uint8_t)(seed >> 16);
	}
}

/* Build a file of n records from sizes[]; the last one is END+FINAL if final. */
static void vfile_build(struct vfile *f, const uint8_t *pk, const size_t *sizes, unsigned n,
			bool final, uint32_t seed)
{
	struct vault_writer w;
	size_t cap = VAULT_HEADER_BYTES;

	assert_true(n <= MAXREC);
	memset(f, 0, sizeof(*f));
	for (unsigned i = 0; i < n; i++)
		cap += sizes[i] + VAULT_RECORD_OVERHEAD;
	f->data = malloc(cap);
	assert_non_null(f->data);
	assert_int_equal(vault_writer_start(&w, pk, 1700000000u + seed, f->data), 0);
	memcpy(f->id, w.id, VAULT_ID_BYTES);
	f->len = VAULT_HEADER_BYTES;
	for (unsigned i = 0; i < n; i++) {
		struct rec *r = &f->rec[i];
		bool last = final && i == n - 1;
		long got;

		r->type = last ? VAULT_REC_END : i == 0 ? VAULT_REC_META :
			  i % 3 == 2 ? VAULT_REC_TIMELINE : VAULT_REC_OGG;
		r->len = sizes[i];
		r->data = malloc(r->len ? r->len : 1);
		assert_non_null(r->data);
		fill(r->data, r->len, seed * 131u + i);
		f->off[i] = f->len;
		got = vault_writer_seal(&w, r->type, r->data, r->len, last, f->data + f->len);
		assert_int_equal(got, (long)(r->len + VAULT_RECORD_OVERHEAD));
		f->len += (size_t)got;
	}
	f->off[n] = f->len;
	f->n = n;
	f->final = final;
	assert_int_equal(f->len, cap);
	vault_writer_wipe(&w);
}

static void vfile_free(struct vfile *f)
{
	for (unsigned i = 0; i < f->n; i++)
		free(f->rec[i].data);
	free(f->data);
}

/* Read buf against f's records; returns vault_read's result. */
static int read_check(const struct vfile *f, const uint8_t *buf, size_t len, const uint8_t *pk,
		      const uint8_t *sk, enum vault_status *st, struct vault_info *info)
{
	struct expect e = { .f = f };
	struct vault_info tmp;
	int r;

	*st = (enum vault_status)99;
	r = vault_read(buf, len, pk, sk, check_cb, &e, st, &tmp);
	if (r == 0) {
		assert_int_equal(tmp.records, e.calls);
		if (info)
			*info = tmp;
	} else {
		/* Failure leaves the outputs alone. */
		assert_int_equal(*st, 99);
	}
	return r;
}

static const size_t small_sizes[] = { 40, 7, 0, 25, 12 };
#define SMALL_N (sizeof(small_sizes) / sizeof(small_sizes[0]))

static int group_setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_box_keypair(pk1, sk1);
	crypto_box_keypair(pk2, sk2);
	return 0;
}

static int group_teardown(void **state)
{
	(void)state;
	sodium_memzero(sk1, sizeof(sk1));
	sodium_memzero(sk2, sizeof(sk2));
	return 0;
}

/* ---- round trips ------------------------------------------------------ */

static void test_roundtrip(void **state)
{
	/* Includes an empty record and one at the exact size limit. */
	static const size_t sizes[] = { 200, 0, 1, 65536, 3000, VAULT_MAX_RECORD, 17, 300 };
	struct vfile f;
	enum vault_status st;
	struct vault_info info;
	uint8_t id[VAULT_ID_BYTES];
	uint64_t created;

	(void)state;
	vfile_build(&f, pk1, sizes, 8, true, 1);
	assert_int_equal(read_check(&f, f.data, f.len, pk1, sk1, &st, &info), 0);
	assert_int_equal(st, VAULT_COMPLETE);
	assert_int_equal(info.records, 8);
	assert_int_equal(info.good_bytes, f.len);
	assert_true(info.final_seen);
	assert_memory_equal(info.id, f.id, VAULT_ID_BYTES);
	assert_int_equal(info.created, 1700000001u);

	assert_int_equal(vault_read_header(f.data, f.len, id, &created), 0);
	assert_memory_equal(id, f.id, VAULT_ID_BYTES);
	assert_int_equal(created, 1700000001u);
	assert_int_equal(vault_read_header(f.data, VAULT_HEADER_BYTES - 1, id, &created), -EBADMSG);
	f.data[7] ^= 1;	/* version byte */
	assert_int_equal(vault_read_header(f.data, f.len, id, &created), -EBADMSG);
	vfile_free(&f);
}

static void test_header_only_and_unfinished(void **state)
{
	static const size_t sizes[] = { 10, 20, 30 };
	struct vfile f;
	enum vault_status st;
	struct vault_info info;

	(void)state;
	/* A writer that crashed after sealing three MESSAGE records. */
	vfile_build(&f, pk1, sizes, 3, false, 2);
	assert_int_equal(read_check(&f, f.data, f.len, pk1, sk1, &st, &info), 0);
	assert_int_equal(st, VAULT_TRUNCATED);
	assert_int_equal(info.records, 3);
	assert_int_equal(info.good_bytes, f.len);
	assert_false(info.final_seen);
	/* Header alone: still a recording, nothing in it yet. */
	assert_int_equal(read_check(&f, f.data, VAULT_HEADER_BYTES, pk1, sk1, &st, &info), 0);
	assert_int_equal(st, VAULT_TRUNCATED);
	assert_int_equal(info.records, 0);
	assert_int_equal(info.good_bytes, VAULT_HEADER_BYTES);
	vfile_free(&f);
}

static void test_writer_errors(void **state)
{
	struct vault_writer w;
	uint8_t hdr[VAULT_HEADER_BYTES], zero_pk[VAULT_PK_BYTES] = { 0 };
	uint8_t *out = malloc(VAULT_MAX_RECORD + 1 + VAULT_RECORD_OVERHEAD);
	uint8_t *big = calloc(1, VAULT_MAX_RECORD + 1);

	(void)state;
	assert_non_null(out);
	assert_non_null(big);
	/* A public key that is not a usable point cannot receive a key. */
	assert_int_equal(vault_writer_start(&w, zero_pk, 0, hdr), -EINVAL);
	vault_writer_wipe(&w);

	assert_int_equal(vault_writer_start(&w, pk1, 0, hdr), 0);
	assert_int_equal(vault_writer_seal(&w, VAULT_REC_OGG, big, VAULT_MAX_RECORD + 1, false, out),
			 -EMSGSIZE);
	assert_int_equal(vault_writer_seal(&w, VAULT_REC_OGG, big, 1, true, out), -EINVAL);
	assert_int_equal(vault_writer_seal(&w, VAULT_REC_END, big, 1, false, out), -EINVAL);
	assert_int_equal(vault_writer_seal(&w, (enum vault_record_type)9, big, 1, false, out),
			 -EINVAL);
	/* Refused calls consumed no record number. */
	assert_int_equal(w.next_record, 0);
	assert_int_equal(vault_writer_seal(&w, VAULT_REC_END, big, 4, true, out),
			 4 + VAULT_RECORD_OVERHEAD);
	assert_int_equal(vault_writer_seal(&w, VAULT_REC_OGG, big, 4, false, out), -EINVAL);
	vault_writer_wipe(&w);
	vault_writer_wipe(NULL);
	free(out);
	free(big);
}

static void test_wrong_key(void **state)
{
	struct vfile f;
	enum vault_status st;

	(void)state;
	vfile_build(&f, pk1, small_sizes, SMALL_N, true, 3);
	assert_int_equal(read_check(&f, f.data, f.len, pk2, sk2, &st, NULL), -EACCES);
	/* Our public key with another secret key does not open it either. */
	assert_int_equal(read_check(&f, f.data, f.len, pk1, sk2, &st, NULL), -EACCES);
	vfile_free(&f);
}

static int stop_cb(enum vault_record_type type, const uint8_t *plain, size_t len, void *userdata)
{
	unsigned *n = userdata;

	(void)type, (void)plain, (void)len;
	return ++*n == 2 ? -ECANCELED : 0;
}

static void test_callback_stop(void **state)
{
	struct vfile f;
	enum vault_status st = (enum vault_status)99;
	unsigned n = 0;

	(void)state;
	vfile_build(&f, pk1, small_sizes, SMALL_N, true, 4);
	assert_int_equal(vault_read(f.data, f.len, pk1, sk1, stop_cb, &n, &st, NULL), -ECANCELED);
	assert_int_equal(n, 2);
	assert_int_equal(st, 99);
	vfile_free(&f);
}

/* ---- damage ----------------------------------------------------------- */

/* Index of the record containing byte offset pos (n for past the end). */
static unsigned record_at(const struct vfile *f, size_t pos)
{
	unsigned i = 0;

	while (i < f->n && pos >= f->off[i + 1])
		i++;
	return i;
}

static void test_truncate_everywhere(void **state)
{
	struct vfile f;
	enum vault_status st;
	struct vault_info info;

	(void)state;
	vfile_build(&f, pk1, small_sizes, SMALL_N, true, 5);
	for (size_t cut = 0; cut < f.len; cut++) {
		assert_int_equal(read_check(&f, f.data, cut, pk1, sk1, &st, &info), 0);
		/* Every cut is a torn tail: never COMPLETE, never CORRUPT. */
		assert_int_equal(st, VAULT_TRUNCATED);
		assert_false(info.final_seen);
		if (cut < VAULT_HEADER_BYTES) {
			assert_int_equal(info.good_bytes, 0);
			assert_int_equal(info.records, 0);
		} else {
			/* Records wholly before the cut are kept, the rest cut. */
			unsigned k = 0;

			while (k < f.n && f.off[k + 1] <= cut)
				k++;
			assert_int_equal(info.records, k);
			assert_int_equal(info.good_bytes, f.off[k]);
		}
	}
	vfile_free(&f);
}

/* One flipped bit at byte pos: what may the reader say? */
static void check_flip(const struct vfile *f, uint8_t *buf, size_t pos, unsigned bit)
{
	enum vault_status st;
	struct vault_info info;
	int r;

	buf[pos] ^= (uint8_t)(1u << bit);
	r = read_check(f, buf, f->len, pk1, sk1, &st, &info);
	buf[pos] ^= (uint8_t)(1u << bit);

	if (pos >= VAULT_OFF_SEALED_TEST && pos < VAULT_OFF_SSHEADER_TEST) {
		/* The sealed key is authenticated by crypto_box_seal itself. */
		assert_int_equal(r, -EACCES);
		return;
	}
	assert_int_equal(r, 0);
	assert_int_not_equal(st, VAULT_COMPLETE);
	if (pos < 8) {
		assert_int_equal(st, VAULT_CORRUPT);
		assert_int_equal(info.records, 0);
	} else if (pos < VAULT_HEADER_BYTES) {
		/* id, created or stream header: AD or keystream no longer match. */
		assert_int_equal(st, VAULT_CORRUPT);
		assert_int_equal(info.records, 0);
		assert_int_equal(info.good_bytes, VAULT_HEADER_BYTES);
	} else {
		unsigned k = record_at(f, pos);

		assert_int_equal(info.records, k);
		assert_int_equal(info.good_bytes, f->off[k]);
		/*
		 * A flipped length can make a record look longer than the
		 * file (a torn tail); anything else is CORRUPT.
		 */
		if (pos >= f->off[k] + 4)
			assert_int_equal(st, VAULT_CORRUPT);
	}
}

static void test_flip_every_bit(void **state)
{
	struct vfile f;

	(void)state;
	vfile_build(&f, pk1, small_sizes, SMALL_N, true, 6);
	for (size_t pos = 0; pos < f.len; pos++)
		for (unsigned bit = 0; bit < 8; bit++)
			check_flip(&f, f.data, pos, bit);
	vfile_free(&f);
}

static void test_flip_sampled_bits(void **state)
{
	static const size_t sizes[] = { 300, 65536, 1000, 200000, 5000, 64 };
	struct vfile f;

	(void)state;
	vfile_build(&f, pk1, sizes, 6, true, 7);
	/* Every bit of the header and of each length prefix, then a sample. */
	for (size_t pos = 0; pos < VAULT_HEADER_BYTES; pos++)
		for (unsigned bit = 0; bit < 8; bit++)
			check_flip(&f, f.data, pos, bit);
	for (unsigned i = 0; i < f.n; i++)
		for (size_t pos = f.off[i]; pos < f.off[i] + 4; pos++)
			for (unsigned bit = 0; bit < 8; bit++)
				check_flip(&f, f.data, pos, bit);
	for (unsigned s = 0; s < 600; s++) {
		size_t pos = VAULT_HEADER_BYTES + randombytes_uniform((uint32_t)(f.len - VAULT_HEADER_BYTES));

		check_flip(&f, f.data, pos, randombytes_uniform(8));
	}
	vfile_free(&f);
}

/* Concatenate header of a and records of the given files/indices. */
struct piece {
	const struct vfile *f;
	int rec;	/* -1: header */
};

static size_t assemble(uint8_t *out, const struct piece *p, unsigned n)
{
	size_t len = 0;

	for (unsigned i = 0; i < n; i++) {
		size_t a = p[i].rec < 0 ? 0 : p[i].f->off[p[i].rec];
		size_t b = p[i].rec < 0 ? VAULT_HEADER_BYTES : p[i].f->off[p[i].rec + 1];

		memcpy(out + len, p[i].f->data + a, b - a);
		len += b - a;
	}
	return len;
}

static void expect_corrupt_at(const struct vfile *f, const struct piece *p, unsigned n,
			      unsigned good_records)
{
	uint8_t *buf = malloc(f->len * 3 + 64);
	enum vault_status st;
	struct vault_info info;
	size_t len;

	assert_non_null(buf);
	len = assemble(buf, p, n);
	assert_int_equal(read_check(f, buf, len, pk1, sk1, &st, &info), 0);
	assert_int_equal(st, VAULT_CORRUPT);
	assert_int_equal(info.records, good_records);
	assert_int_equal(info.good_bytes, f->off[good_records]);
	free(buf);
}

static void test_reorder_duplicate_delete(void **state)
{
	struct vfile f;
	enum vault_status st;
	struct vault_info info;

	(void)state;
	vfile_build(&f, pk1, small_sizes, SMALL_N, true, 8);
	/* reorder 1 and 2 */
	expect_corrupt_at(&f, (struct piece[]){ { &f, -1 }, { &f, 0 }, { &f, 2 }, { &f, 1 },
					       { &f, 3 }, { &f, 4 } }, 6, 1);
	/* reorder the last two: END moved before an OGG */
	expect_corrupt_at(&f, (struct piece[]){ { &f, -1 }, { &f, 0 }, { &f, 1 }, { &f, 2 },
					       { &f, 4 }, { &f, 3 } }, 6, 3);
	/* duplicate 1 */
	expect_corrupt_at(&f, (struct piece[]){ { &f, -1 }, { &f, 0 }, { &f, 1 }, { &f, 1 },
					       { &f, 2 }, { &f, 3 }, { &f, 4 } }, 7, 2);
	/* duplicate END */
	expect_corrupt_at(&f, (struct piece[]){ { &f, -1 }, { &f, 0 }, { &f, 1 }, { &f, 2 },
					       { &f, 3 }, { &f, 4 }, { &f, 4 } }, 7, 4);
	/* delete 2 */
	expect_corrupt_at(&f, (struct piece[]){ { &f, -1 }, { &f, 0 }, { &f, 1 },
					       { &f, 3 }, { &f, 4 } }, 5, 2);
	/* delete the first */
	expect_corrupt_at(&f, (struct piece[]){ { &f, -1 }, { &f, 1 }, { &f, 2 },
					       { &f, 3 }, { &f, 4 } }, 5, 0);
	/*
	 * Deleting the END record is a cut at a record boundary: only the
	 * missing FINAL tells, so it is TRUNCATED, never COMPLETE.
	 */
	assert_int_equal(read_check(&f, f.data, f.off[4], pk1, sk1, &st, &info), 0);
	assert_int_equal(st, VAULT_TRUNCATED);
	assert_int_equal(info.records, 4);
	assert_int_equal(info.good_bytes, f.off[4]);
	vfile_free(&f);
}

static void test_splice(void **state)
{
	struct vfile a, b, c;

	(void)state;
	/* Same sizes, same seed: b holds the very same plaintexts as a. */
	vfile_build(&a, pk1, small_sizes, SMALL_N, true, 9);
	vfile_build(&b, pk1, small_sizes, SMALL_N, true, 9);
	vfile_build(&c, pk2, small_sizes, SMALL_N, true, 9);

	/* same key, record from another file at the same position */
	expect_corrupt_at(&a, (struct piece[]){ { &a, -1 }, { &a, 0 }, { &b, 1 }, { &a, 2 },
					       { &a, 3 }, { &a, 4 } }, 6, 1);
	/* same key, another file's END */
	expect_corrupt_at(&a, (struct piece[]){ { &a, -1 }, { &a, 0 }, { &a, 1 }, { &a, 2 },
					       { &a, 3 }, { &b, 4 } }, 6, 4);
	/* same key, a's records under b's header (header swapped) */
	expect_corrupt_at(&a, (struct piece[]){ { &b, -1 }, { &a, 0 }, { &a, 1 }, { &a, 2 },
					       { &a, 3 }, { &a, 4 } }, 6, 0);
	/* another key's record */
	expect_corrupt_at(&a, (struct piece[]){ { &a, -1 }, { &a, 0 }, { &c, 1 }, { &a, 2 },
					       { &a, 3 }, { &a, 4 } }, 6, 1);
	expect_corrupt_at(&a, (struct piece[]){ { &a, -1 }, { &a, 0 }, { &a, 1 }, { &a, 2 },
					       { &a, 3 }, { &c, 4 } }, 6, 4);

	/* b's header keeps its own sealed key: wrong for c's key holder */
	{
		uint8_t *buf = malloc(a.len);
		enum vault_status st;
		size_t len;

		assert_non_null(buf);
		len = assemble(buf, (struct piece[]){ { &c, -1 }, { &a, 0 }, { &a, 1 } }, 3);
		assert_int_equal(read_check(&a, buf, len, pk1, sk1, &st, NULL), -EACCES);
		free(buf);
	}
	vfile_free(&a);
	vfile_free(&b);
	vfile_free(&c);
}

static void test_bytes_after_final(void **state)
{
	static const uint8_t junk[] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16,
					17, 18, 19, 20, 21, 22, 23, 24, 25, 26, 27, 28, 29, 30 };
	struct vfile f;
	uint8_t *buf;
	enum vault_status st;
	struct vault_info info;

	(void)state;
	vfile_build(&f, pk1, small_sizes, SMALL_N, true, 10);
	buf = malloc(f.len * 2 + sizeof(junk));
	assert_non_null(buf);
	for (size_t extra = 1; extra <= sizeof(junk); extra++) {
		memcpy(buf, f.data, f.len);
		memcpy(buf + f.len, junk, extra);
		assert_int_equal(read_check(&f, buf, f.len + extra, pk1, sk1, &st, &info), 0);
		assert_int_equal(st, VAULT_CORRUPT);
		/* END is authentic but the file is not: END is not handed out. */
		assert_int_equal(info.records, f.n - 1);
		assert_int_equal(info.good_bytes, f.off[f.n - 1]);
		assert_false(info.final_seen);
	}
	/* A whole authentic-looking record after FINAL */
	expect_corrupt_at(&f, (struct piece[]){ { &f, -1 }, { &f, 0 }, { &f, 1 }, { &f, 2 },
					       { &f, 3 }, { &f, 4 }, { &f, 1 } }, 7, 4);
	free(buf);
	vfile_free(&f);
}

/* ---- records the writer refuses to make, made by hand ---------------- */

/* Seal type + payload with any tag, bypassing the writer's checks. */
static size_t raw_seal(struct vault_writer *w, unsigned type, const uint8_t *p, size_t len,
		       uint8_t tag, bool with_type, uint8_t *out)
{
	uint8_t m[256], ad[VAULT_AD_BYTES];
	unsigned long long clen;
	size_t mlen = 0;

	if (with_type)
		m[mlen++] = (uint8_t)type;
	memcpy(m + mlen, p, len);
	mlen += len;
	memcpy(ad, w->header_hash, 32);
	for (int i = 0; i < 8; i++)
		ad[32 + i] = (uint8_t)(w->next_record >> (8 * i));
	assert_int_equal(crypto_secretstream_xchacha20poly1305_push(&w->st, out + 4, &clen, m, mlen,
								     ad, sizeof(ad), tag), 0);
	for (int i = 0; i < 4; i++)
		out[i] = (uint8_t)(clen >> (8 * i));
	w->next_record++;
	return 4 + (size_t)clen;
}

struct rawcase {
	const char *name;
	unsigned type;
	uint8_t tag;
	bool with_type;
	enum vault_status want;
	unsigned good_records;	/* records delivered */
};

static void test_bad_tags_and_types(void **state)
{
	const uint8_t M = crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
	const uint8_t F = crypto_secretstream_xchacha20poly1305_TAG_FINAL;
	const struct rawcase cases[] = {
		{ "rekey", VAULT_REC_OGG, crypto_secretstream_xchacha20poly1305_TAG_REKEY, true,
		  VAULT_CORRUPT, 1 },
		{ "push", VAULT_REC_OGG, crypto_secretstream_xchacha20poly1305_TAG_PUSH, true,
		  VAULT_CORRUPT, 1 },
		{ "final on OGG", VAULT_REC_OGG, F, true, VAULT_CORRUPT, 1 },
		{ "END without final", VAULT_REC_END, M, true, VAULT_CORRUPT, 1 },
		{ "type 0", 0, M, true, VAULT_CORRUPT, 1 },
		{ "type 5", 5, M, true, VAULT_CORRUPT, 1 },
		{ "type 255 final", 255, F, true, VAULT_CORRUPT, 1 },
		{ "no type byte", 0, M, false, VAULT_CORRUPT, 1 },
		{ "well-formed END", VAULT_REC_END, F, true, VAULT_COMPLETE, 2 },
	};
	static const uint8_t meta[] = "id=x\n";

	(void)state;
	for (size_t c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		struct vault_writer w;
		struct vfile f = { 0 };
		uint8_t buf[1024];
		size_t len = VAULT_HEADER_BYTES;
		enum vault_status st;
		struct vault_info info;
		long got;

		assert_int_equal(vault_writer_start(&w, pk1, 5, buf), 0);
		got = vault_writer_seal(&w, VAULT_REC_META, meta, sizeof(meta) - 1, false, buf + len);
		assert_true(got > 0);
		f.off[0] = len;
		len += (size_t)got;
		f.off[1] = len;
		f.rec[0] = (struct rec){ VAULT_REC_META, (uint8_t *)meta, sizeof(meta) - 1 };
		f.rec[1] = (struct rec){ VAULT_REC_END, (uint8_t *)"bye", 3 };
		f.n = 2;
		len += raw_seal(&w, cases[c].type, (const uint8_t *)"bye", cases[c].with_type ? 3 : 0,
				cases[c].tag, cases[c].with_type, buf + len);
		f.off[2] = len;
		f.len = len;
		vault_writer_wipe(&w);

		assert_int_equal(read_check(&f, buf, len, pk1, sk1, &st, &info), 0);
		if (st != cases[c].want)
			fail_msg("case %s: status %s", cases[c].name, vault_status_name(st));
		assert_int_equal(info.records, cases[c].good_records);
	}
}

static void test_lengths(void **state)
{
	struct vfile f;
	uint8_t *buf;
	enum vault_status st;
	struct vault_info info;
	static const uint32_t bad[] = { 0, 1, 17, VAULT_MAX_RECORD + 1 + 17 + 1, 0x7fffffffu,
					0xffffffffu };

	(void)state;
	vfile_build(&f, pk1, small_sizes, SMALL_N, true, 11);
	buf = malloc(f.len);
	assert_non_null(buf);
	/* Impossible lengths for record 2 are rejected before any allocation. */
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memcpy(buf, f.data, f.len);
		for (int b = 0; b < 4; b++)
			buf[f.off[2] + b] = (uint8_t)(bad[i] >> (8 * b));
		assert_int_equal(read_check(&f, buf, f.len, pk1, sk1, &st, &info), 0);
		assert_int_equal(st, VAULT_CORRUPT);
		assert_int_equal(info.records, 2);
		assert_int_equal(info.good_bytes, f.off[2]);
	}
	/* A plausible length that runs past the end of file reads as a torn tail. */
	memcpy(buf, f.data, f.len);
	buf[f.off[4]] = 0xff;
	buf[f.off[4] + 1] = 0x7f;
	assert_int_equal(read_check(&f, buf, f.len, pk1, sk1, &st, &info), 0);
	assert_int_equal(st, VAULT_TRUNCATED);
	assert_int_equal(info.records, 4);
	assert_int_equal(info.good_bytes, f.off[4]);

	/* Not ours at all, and short garbage. */
	assert_int_equal(read_check(&f, (const uint8_t *)"RIFF1234", 8, pk1, sk1, &st, &info), 0);
	assert_int_equal(st, VAULT_CORRUPT);
	assert_int_equal(read_check(&f, (const uint8_t *)"TRKREC\0\2", 8, pk1, sk1, &st, &info), 0);
	assert_int_equal(st, VAULT_CORRUPT);
	assert_int_equal(read_check(&f, (const uint8_t *)"", 0, pk1, sk1, &st, &info), 0);
	assert_int_equal(st, VAULT_TRUNCATED);
	assert_int_equal(info.good_bytes, 0);
	free(buf);
	vfile_free(&f);
}

/* ---- key text --------------------------------------------------------- */

static void test_key_text(void **state)
{
	uint8_t key[32], back[32], untouched[32];
	char text[65], buf[80];

	(void)state;
	randombytes_buf(key, sizeof(key));
	vault_key_format(key, text);
	assert_int_equal(strlen(text), 64);
	assert_int_equal(vault_key_parse(text, 64, back), 0);
	assert_memory_equal(key, back, 32);
	snprintf(buf, sizeof(buf), "%s\n", text);
	assert_int_equal(vault_key_parse(buf, 65, back), 0);
	snprintf(buf, sizeof(buf), "%s \t\r\n", text);
	assert_int_equal(vault_key_parse(buf, 68, back), 0);
	assert_memory_equal(key, back, 32);
	/* upper case hex is fine too */
	for (int i = 0; i < 64; i++)
		buf[i] = (char)(text[i] >= 'a' ? text[i] - 32 : text[i]);
	assert_int_equal(vault_key_parse(buf, 64, back), 0);
	assert_memory_equal(key, back, 32);

	memset(untouched, 0xa5, sizeof(untouched));
	memcpy(back, untouched, 32);
	assert_int_equal(vault_key_parse(text, 63, back), -EINVAL);
	assert_int_equal(vault_key_parse("", 0, back), -EINVAL);
	snprintf(buf, sizeof(buf), "%sa", text);	/* 65 hex digits */
	assert_int_equal(vault_key_parse(buf, 65, back), -EINVAL);
	snprintf(buf, sizeof(buf), "%s\nx", text);	/* trailing junk */
	assert_int_equal(vault_key_parse(buf, 66, back), -EINVAL);
	snprintf(buf, sizeof(buf), " %s", text);	/* leading space */
	assert_int_equal(vault_key_parse(buf, 65, back), -EINVAL);
	memcpy(buf, text, 65);
	buf[10] = 'g';
	assert_int_equal(vault_key_parse(buf, 64, back), -EINVAL);
	memcpy(buf, text, 65);
	buf[63] = '\0';
	assert_int_equal(vault_key_parse(buf, 64, back), -EINVAL);
	assert_memory_equal(back, untouched, 32);
	assert_string_equal(vault_status_name(VAULT_TRUNCATED), "TRUNCATED");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_roundtrip),
		cmocka_unit_test(test_header_only_and_unfinished),
		cmocka_unit_test(test_writer_errors),
		cmocka_unit_test(test_wrong_key),
		cmocka_unit_test(test_callback_stop),
		cmocka_unit_test(test_truncate_everywhere),
		cmocka_unit_test(test_flip_every_bit),
		cmocka_unit_test(test_flip_sampled_bits),
		cmocka_unit_test(test_reorder_duplicate_delete),
		cmocka_unit_test(test_splice),
		cmocka_unit_test(test_bytes_after_final),
		cmocka_unit_test(test_bad_tags_and_types),
		cmocka_unit_test(test_lengths),
		cmocka_unit_test(test_key_text),
	};

	return cmocka_run_group_tests(tests, group_setup, group_teardown);
}
