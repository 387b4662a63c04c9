// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The vault: encrypted recording files (docs/file-format.md).
 *
 * Layout:
 *   header  = magic(8) | id(16) | created(u64 LE) | sealed key(80) | stream header(24)
 *   record  = clen(u32 LE) | secretstream ciphertext of (type(1) | payload)
 *   AD      = BLAKE2b-256(header) | record number(u64 LE)
 *
 * No I/O here: the writer produces bytes, the reader judges bytes.
 *
 * SECRET: the per-recording key exists only inside vault_writer_start() and
 * vault_read(); both wipe it before returning. The stream states that derive
 * from it are wiped by vault_writer_wipe() and at the end of vault_read().
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "record/vault.h"

#define VAULT_MAGIC_BYTES	8
#define VAULT_OFF_ID		VAULT_MAGIC_BYTES
#define VAULT_OFF_CREATED	(VAULT_OFF_ID + VAULT_ID_BYTES)
#define VAULT_OFF_SEALED	(VAULT_OFF_CREATED + 8)
#define VAULT_OFF_SSHEADER	(VAULT_OFF_SEALED + VAULT_SEALED_KEY_BYTES)

#define VAULT_ABYTES		crypto_secretstream_xchacha20poly1305_ABYTES
/* Smallest ciphertext: the type byte and the stream's own overhead. */
#define VAULT_MIN_CLEN		(1 + VAULT_ABYTES)
#define VAULT_MAX_CLEN		(VAULT_MAX_RECORD + 1 + VAULT_ABYTES)

_Static_assert(VAULT_OFF_SSHEADER + crypto_secretstream_xchacha20poly1305_HEADERBYTES ==
	       VAULT_HEADER_BYTES, "header layout");
_Static_assert(sizeof(VAULT_MAGIC) - 1 == VAULT_MAGIC_BYTES, "magic is 8 bytes");
/* The length prefix is a u32: the largest record must fit it. */
_Static_assert(VAULT_MAX_CLEN < UINT32_MAX, "record length fits u32");

const char *vault_status_name(enum vault_status s)
{
	switch (s) {
	case VAULT_COMPLETE:
		return "COMPLETE";
	case VAULT_TRUNCATED:
		return "TRUNCATED";
	case VAULT_CORRUPT:
		return "CORRUPT";
	}
	return "UNKNOWN";
}

static void put_le32(uint8_t *p, uint32_t v)
{
	for (int i = 0; i < 4; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static void put_le64(uint8_t *p, uint64_t v)
{
	for (int i = 0; i < 8; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

static uint32_t get_le32(const uint8_t *p)
{
	return (uint32_t)p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint64_t get_le64(const uint8_t *p)
{
	uint64_t v = 0;

	for (int i = 7; i >= 0; i--)
		v = v << 8 | p[i];
	return v;
}

static void vault_ad_build(uint8_t ad[VAULT_AD_BYTES], const uint8_t hash[crypto_generichash_BYTES],
			   uint64_t recno)
{
	memcpy(ad, hash, crypto_generichash_BYTES);
	put_le64(ad + crypto_generichash_BYTES, recno);
}

static bool vault_type_valid(unsigned t)
{
	return t >= VAULT_REC_META && t <= VAULT_REC_END;
}

/* ---- writer ---------------------------------------------------------- */

int vault_writer_start(struct vault_writer *w, const uint8_t recipient_pk[VAULT_PK_BYTES],
		       uint64_t created, uint8_t ret_header[VAULT_HEADER_BYTES])
{
	uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];	/* SECRET */
	uint8_t hdr[VAULT_HEADER_BYTES];
	int r = 0;

	if (sodium_init() < 0)
		return -EIO;

	memset(w, 0, sizeof(*w));
	memcpy(hdr, VAULT_MAGIC, VAULT_MAGIC_BYTES);
	randombytes_buf(w->id, VAULT_ID_BYTES);
	memcpy(hdr + VAULT_OFF_ID, w->id, VAULT_ID_BYTES);
	put_le64(hdr + VAULT_OFF_CREATED, created);

	crypto_secretstream_xchacha20poly1305_keygen(key);
	/* Fails only for a public key that is not a usable curve point. */
	if (crypto_box_seal(hdr + VAULT_OFF_SEALED, key, sizeof(key), recipient_pk) != 0) {
		r = -EINVAL;
		goto out;
	}
	if (crypto_secretstream_xchacha20poly1305_init_push(&w->st, hdr + VAULT_OFF_SSHEADER,
							     key) != 0) {
		r = -EIO;
		goto out;
	}
	crypto_generichash(w->header_hash, sizeof(w->header_hash), hdr, sizeof(hdr), NULL, 0);
	memcpy(ret_header, hdr, sizeof(hdr));
out:
	sodium_memzero(key, sizeof(key));
	if (r < 0)
		vault_writer_wipe(w);
	return r;
}

long vault_writer_seal(struct vault_writer *w, enum vault_record_type type,
		       const uint8_t *plain, size_t len, bool final, uint8_t *out)
{
	uint8_t ad[VAULT_AD_BYTES];
	unsigned long long clen;
	uint8_t tag;

	if (w->finished)
		return -EINVAL;
	if (len > VAULT_MAX_RECORD)
		return -EMSGSIZE;
	if (!vault_type_valid(type))
		return -EINVAL;
	/* The reader rejects FINAL on anything but END and END without FINAL. */
	if (final != (type == VAULT_REC_END))
		return -EINVAL;

	/*
	 * Lay the plaintext (type | payload) where its ciphertext goes, just
	 * after the length prefix and the stream's encrypted tag byte, and
	 * encrypt in place: no scratch buffer and no allocation per record.
	 * memmove because a caller may hand us a payload already inside out.
	 */
	if (len)
		memmove(out + 4 + 1 + 1, plain, len);
	out[4 + 1] = (uint8_t)type;

	tag = final ? crypto_secretstream_xchacha20poly1305_TAG_FINAL
		    : crypto_secretstream_xchacha20poly1305_TAG_MESSAGE;
	vault_ad_build(ad, w->header_hash, w->next_record);
	if (crypto_secretstream_xchacha20poly1305_push(&w->st, out + 4, &clen, out + 4 + 1, len + 1,
							ad, sizeof(ad), tag) != 0)
		return -EIO;
	put_le32(out, (uint32_t)clen);

	w->next_record++;
	if (final) {
		w->finished = true;
		/* Nothing more may be sealed: drop the key material now. */
		sodium_memzero(&w->st, sizeof(w->st));
	}
	return (long)(4 + clen);
}

void vault_writer_wipe(struct vault_writer *w)
{
	if (!w)
		return;
	sodium_memzero(w, sizeof(*w));
}

/* ---- reader ---------------------------------------------------------- */

int vault_read_header(const uint8_t *file, size_t len, uint8_t ret_id[VAULT_ID_BYTES],
		      uint64_t *ret_created)
{
	if (len < VAULT_HEADER_BYTES || memcmp(file, VAULT_MAGIC, VAULT_MAGIC_BYTES) != 0)
		return -EBADMSG;
	if (ret_id)
		memcpy(ret_id, file + VAULT_OFF_ID, VAULT_ID_BYTES);
	if (ret_created)
		*ret_created = get_le64(file + VAULT_OFF_CREATED);
	return 0;
}

/* Plaintext buffer of the reader; grows to the largest record seen. */
struct vault_plainbuf {
	uint8_t *data;
	size_t cap;
};

static int vault_plainbuf_reserve(struct vault_plainbuf *b, size_t need)
{
	uint8_t *n;

	if (need <= b->cap)
		return 0;
	/* Fresh allocation rather than realloc so old plaintext can be wiped. */
	n = malloc(need);
	if (!n)
		return -ENOMEM;
	if (b->data) {
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = n;
	b->cap = need;
	return 0;
}

static void vault_plainbuf_free(struct vault_plainbuf *b)
{
	if (b->data) {
		/* Decrypted audio is as sensitive as the key. */
		sodium_memzero(b->data, b->cap);
		free(b->data);
	}
	b->data = NULL;
	b->cap = 0;
}

int vault_read(const uint8_t *file, size_t len, const uint8_t pk[VAULT_PK_BYTES],
	       const uint8_t sk[VAULT_SK_BYTES], vault_record_cb cb, void *userdata,
	       enum vault_status *ret_status, struct vault_info *ret_info)
{
	crypto_secretstream_xchacha20poly1305_state st;	/* SECRET */
	uint8_t key[crypto_secretstream_xchacha20poly1305_KEYBYTES];	/* SECRET */
	uint8_t hash[crypto_generichash_BYTES];
	uint8_t ad[VAULT_AD_BYTES];
	struct vault_plainbuf pb = { 0 };
	struct vault_info info = { 0 };
	enum vault_status status;
	size_t pos;
	int r = 0;

	if (sodium_init() < 0)
		return -EIO;

	/*
	 * A file shorter than the header whose bytes so far match the magic
	 * is a crash during create: torn, nothing in it to keep
	 * (good_bytes 0). Anything else that is not our magic is not ours.
	 */
	if (len < VAULT_HEADER_BYTES) {
		size_t n = len < VAULT_MAGIC_BYTES ? len : VAULT_MAGIC_BYTES;

		status = memcmp(file, VAULT_MAGIC, n) == 0 ? VAULT_TRUNCATED : VAULT_CORRUPT;
		goto judged;
	}
	if (memcmp(file, VAULT_MAGIC, VAULT_MAGIC_BYTES) != 0) {
		status = VAULT_CORRUPT;
		goto judged;
	}
	memcpy(info.id, file + VAULT_OFF_ID, VAULT_ID_BYTES);
	info.created = get_le64(file + VAULT_OFF_CREATED);

	if (crypto_box_seal_open(key, file + VAULT_OFF_SEALED, VAULT_SEALED_KEY_BYTES, pk, sk) != 0) {
		/*
		 * Wrong keypair, or a damaged sealed key: the two cannot be
		 * told apart, and either way nothing can be authenticated.
		 */
		sodium_memzero(key, sizeof(key));
		return -EACCES;
	}
	r = crypto_secretstream_xchacha20poly1305_init_pull(&st, file + VAULT_OFF_SSHEADER, key);
	sodium_memzero(key, sizeof(key));
	if (r != 0) {
		sodium_memzero(&st, sizeof(st));
		return -EIO;
	}
	crypto_generichash(hash, sizeof(hash), file, VAULT_HEADER_BYTES, NULL, 0);

	pos = VAULT_HEADER_BYTES;
	info.good_bytes = pos;
	status = VAULT_TRUNCATED;
	while (pos < len) {
		size_t left = len - pos;
		unsigned long long mlen;
		uint32_t clen;
		uint8_t tag;
		unsigned type;

		/* Torn length prefix: a crash mid-append. */
		if (left < 4)
			break;
		clen = get_le32(file + pos);
		/* Bound the length before it sizes anything. */
		if (clen < VAULT_MIN_CLEN || clen > VAULT_MAX_CLEN) {
			status = VAULT_CORRUPT;
			break;
		}
		/* Record shorter than its length: torn tail. */
		if (left - 4 < clen)
			break;
		r = vault_plainbuf_reserve(&pb, clen - VAULT_ABYTES);
		if (r < 0)
			goto out;

		vault_ad_build(ad, hash, info.records);
		if (crypto_secretstream_xchacha20poly1305_pull(&st, pb.data, &mlen, &tag,
							       file + pos + 4, clen, ad,
							       sizeof(ad)) != 0) {
			status = VAULT_CORRUPT;
			break;
		}
		type = pb.data[0];
		if (!vault_type_valid(type)) {
			status = VAULT_CORRUPT;
			break;
		}
		if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
			/* FINAL goes with END only, and ends the file. */
			if (type != VAULT_REC_END || left - 4 != clen) {
				status = VAULT_CORRUPT;
				break;
			}
		} else if (tag != crypto_secretstream_xchacha20poly1305_TAG_MESSAGE ||
			   type == VAULT_REC_END) {
			/* We never write PUSH or REKEY, nor END without FINAL. */
			status = VAULT_CORRUPT;
			break;
		}

		/* Authentic and well-formed: only now does plaintext leave. */
		if (cb) {
			r = cb((enum vault_record_type)type, pb.data + 1, (size_t)mlen - 1, userdata);
			if (r != 0)
				goto out;
		}
		info.records++;
		pos += 4 + (size_t)clen;
		info.good_bytes = pos;
		if (tag == crypto_secretstream_xchacha20poly1305_TAG_FINAL) {
			info.final_seen = true;
			status = VAULT_COMPLETE;
			break;
		}
	}

judged:
	if (ret_status)
		*ret_status = status;
	if (ret_info)
		*ret_info = info;
	r = 0;
out:
	sodium_memzero(&st, sizeof(st));
	vault_plainbuf_free(&pb);
	return r;
}

/* ---- key files ------------------------------------------------------- */

/*
 * sodium's hex codecs run in constant time: these may be private keys.
 * ret_key is untouched unless the whole text is valid.
 */
int vault_key_parse(const char *text, size_t len, uint8_t ret_key[32])
{
	uint8_t key[32];	/* SECRET: may be a private key */
	const char *end = NULL;
	size_t n = 0;
	int r = 0;

	if (len < 64)
		return -EINVAL;
	for (size_t i = 64; i < len; i++)
		if (text[i] != '\n' && text[i] != '\r' && text[i] != ' ' && text[i] != '\t')
			return -EINVAL;
	if (sodium_hex2bin(key, sizeof(key), text, 64, NULL, &n, &end) != 0 ||
	    n != sizeof(key) || end != text + 64)
		r = -EINVAL;
	else
		memcpy(ret_key, key, sizeof(key));
	sodium_memzero(key, sizeof(key));
	return r;
}

void vault_key_format(const uint8_t key[32], char ret_text[65])
{
	sodium_bin2hex(ret_text, 65, key, 32);
}
