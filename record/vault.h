/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The vault: trunkrec's encrypted recording file format (docs/file-format.md).
 *
 * A file is a plaintext header followed by length-prefixed records sealed with
 * crypto_secretstream_xchacha20poly1305. Each recording has a fresh random
 * key, sealed with crypto_box_seal to the recipient's X25519 public key; the
 * daemon never holds a private key. Additional data of every record binds the
 * recording id and the record number, so records cannot be moved between
 * files or reordered. The last record of a finished file carries the FINAL
 * tag; a file without one is at best TRUNCATED.
 *
 * This module does no I/O: the writer side turns plaintext into bytes to
 * append, the reader side checks bytes handed to it. SECRET: the file key
 * lives in struct vault_writer and struct vault_reader; both are wiped by
 * their _wipe/_free functions.
 */
#ifndef TRUNKREC_RECORD_VAULT_H
#define TRUNKREC_RECORD_VAULT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sodium.h>

#define VAULT_MAGIC		"TRKREC\x00\x01"	/* 8 bytes, last two = format version 1 */
#define VAULT_ID_BYTES		16
#define VAULT_PK_BYTES		crypto_box_PUBLICKEYBYTES	/* 32 */
#define VAULT_SK_BYTES		crypto_box_SECRETKEYBYTES	/* 32 */
#define VAULT_SEALED_KEY_BYTES	(crypto_secretstream_xchacha20poly1305_KEYBYTES + crypto_box_SEALBYTES)
/* magic 8 + id 16 + created 8 + sealed key 80 + stream header 24 */
#define VAULT_HEADER_BYTES	(8 + VAULT_ID_BYTES + 8 + VAULT_SEALED_KEY_BYTES + \
				 crypto_secretstream_xchacha20poly1305_HEADERBYTES)
#define VAULT_RECORD_OVERHEAD	(4 + 1 + crypto_secretstream_xchacha20poly1305_ABYTES)	/* length + type + MAC/tag */
#define VAULT_MAX_RECORD	(1u << 20)	/* plaintext bytes per record; checked before allocating */
/* Additional data of a record: BLAKE2b-256(header) || record number (u64 LE) */
#define VAULT_AD_BYTES		(crypto_generichash_BYTES + 8)

/* What a record's plaintext holds (first plaintext byte). */
enum vault_record_type {
	VAULT_REC_META = 1,	/* key=value lines describing the call (first record) */
	VAULT_REC_OGG = 2,	/* whole Ogg Opus pages, in order */
	VAULT_REC_TIMELINE = 3,	/* policy timeline entries (text lines) */
	VAULT_REC_END = 4,	/* closing summary; sealed with the FINAL tag */
};

enum vault_status {
	VAULT_COMPLETE = 0,	/* every record authentic, ends with FINAL, nothing after it */
	VAULT_TRUNCATED = 1,	/* every whole record authentic, no FINAL (crash, torn tail) */
	VAULT_CORRUPT = 2,	/* header or a whole record fails, or bytes follow FINAL */
};

const char *vault_status_name(enum vault_status s);

/* ---- writer ---------------------------------------------------------- */

struct vault_writer {
	crypto_secretstream_xchacha20poly1305_state st;	/* SECRET */
	uint8_t id[VAULT_ID_BYTES];
	uint64_t next_record;
	bool finished;
	/* BLAKE2b-256 of the header bytes: first half of every record's AD */
	uint8_t header_hash[crypto_generichash_BYTES];
};

/*
 * Start a recording: fresh id and key, key sealed to recipient_pk. Writes the
 * header to ret_header (VAULT_HEADER_BYTES). created is seconds since the
 * epoch, stored in the header. The key itself is wiped before returning; only
 * the stream state remains. Returns 0 or -errno.
 */
int vault_writer_start(struct vault_writer *w, const uint8_t recipient_pk[VAULT_PK_BYTES],
		       uint64_t created, uint8_t ret_header[VAULT_HEADER_BYTES]);

/*
 * Seal one record (type + plaintext) and append its bytes to out, which must
 * have room for len + VAULT_RECORD_OVERHEAD bytes. final marks the last record
 * (type should be VAULT_REC_END). Returns bytes written or -errno
 * (-EMSGSIZE above VAULT_MAX_RECORD, -EINVAL after final).
 */
long vault_writer_seal(struct vault_writer *w, enum vault_record_type type,
		       const uint8_t *plain, size_t len, bool final, uint8_t *out);

void vault_writer_wipe(struct vault_writer *w);	/* accepts a half-built writer */

/* ---- reader ---------------------------------------------------------- */

struct vault_info {
	uint8_t id[VAULT_ID_BYTES];
	uint64_t created;
	uint64_t records;	/* whole authentic records */
	uint64_t good_bytes;	/* file offset after the last authentic record */
	bool final_seen;
};

/*
 * Called once per authentic record, in order; plaintext is never handed out
 * before it has been authenticated. Return non-zero to stop reading (that
 * value is returned by vault_read).
 */
typedef int (*vault_record_cb)(enum vault_record_type type, const uint8_t *plain,
			       size_t len, void *userdata);

/*
 * Read a whole file image. With the recipient's keypair, authenticates every
 * record and calls cb (may be NULL) for each. ret_status says COMPLETE,
 * TRUNCATED or CORRUPT; ret_info (may be NULL) says how far it got, so that
 * recovery can cut a torn tail at good_bytes. Returns 0 when the file could be
 * judged (whatever the status), -errno for a wrong key (-EACCES: the sealed
 * key does not open with this keypair) or a callback's stop.
 */
int vault_read(const uint8_t *file, size_t len, const uint8_t pk[VAULT_PK_BYTES],
	       const uint8_t sk[VAULT_SK_BYTES], vault_record_cb cb, void *userdata,
	       enum vault_status *ret_status, struct vault_info *ret_info);

/*
 * Parse the plaintext part of a header: id and creation time. Needs no key,
 * so nothing it returns is authenticated. Returns 0, or -EBADMSG when file is
 * shorter than VAULT_HEADER_BYTES or the magic/version does not match.
 */
int vault_read_header(const uint8_t *file, size_t len, uint8_t ret_id[VAULT_ID_BYTES],
		      uint64_t *ret_created);

/* Key files: 32 raw bytes hex-encoded on one line (64 chars + newline). */
int vault_key_parse(const char *text, size_t len, uint8_t ret_key[32]);
void vault_key_format(const uint8_t key[32], char ret_text[65]);

#endif
