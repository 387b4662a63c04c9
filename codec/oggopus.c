// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Ogg Opus writer (RFC 7845): 8 kHz stereo in 20 ms frames, Ogg pages out.
 *
 * Granule positions (RFC 7845 section 4) count every sample the decoder
 * produces at 48 kHz, pre-skip included: after audio packet k (from 0) the
 * position is 960·(k+1), and the playable position is that minus pre-skip.
 * So the encoder's lookahead is not lost at the end, oggopus_finish() pushes
 * enough silent frames to drain it and gives the last page the granule
 * pre_skip + 6·samples, which trims the padding back off (end trimming): a
 * decoder returns exactly the samples that were pushed.
 *
 * Thread: a stream belongs to one recording worker; nothing here locks.
 */
#include <errno.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>

#include <ogg/ogg.h>
#include <opus/opus.h>

#include "codec/oggopus.h"

#define OGGOPUS_GRANULE_RATE	48000
/* 48 kHz granules per 8 kHz sample, and per 20 ms frame */
#define OGGOPUS_UPSAMPLE	(OGGOPUS_GRANULE_RATE / OGGOPUS_RATE)
#define OGGOPUS_FRAME_GRANULES	(OGGOPUS_FRAME * OGGOPUS_UPSAMPLE)

/*
 * One 20 ms frame at 128 kb/s is 320 bytes; an Opus frame can never exceed
 * 1275 bytes plus the TOC, so this can't truncate whatever the settings.
 */
#define OGGOPUS_MAX_PACKET	1500

#define OGGOPUS_BITRATE_MIN	12000
#define OGGOPUS_BITRATE_MAX	128000

/* The one user comment (RFC 7845 section 5.2). */
#define OGGOPUS_COMMENT		"ENCODER=trunkrec"

struct oggopus {
	OpusEncoder *enc;
	ogg_stream_state os;
	int64_t packetno;	/* next Ogg packet number (0, 1 are the headers) */
	uint64_t frames;	/* audio packets submitted, padding included */
	uint64_t samples;	/* 8 kHz samples per channel pushed by the caller */
	uint32_t pre_skip;	/* 48 kHz */
	uint32_t lookahead;	/* 8 kHz */
	bool finished;
	unsigned char packet[OGGOPUS_MAX_PACKET];
};

int bytebuf_reserve(struct bytebuf *b, size_t extra)
{
	size_t need, cap;
	uint8_t *data;

	if (extra > SIZE_MAX - b->len)
		return -ENOMEM;
	need = b->len + extra;
	if (need <= b->cap)
		return 0;

	/* doubling keeps appends amortised O(1) */
	cap = b->cap ? b->cap : 4096;
	while (cap < need)
		cap = cap > SIZE_MAX / 2 ? need : cap * 2;

	data = realloc(b->data, cap);
	if (!data)
		return -ENOMEM;
	b->data = data;
	b->cap = cap;
	return 0;
}

int bytebuf_append(struct bytebuf *b, const void *data, size_t len)
{
	int r;

	if (len == 0)
		return 0;
	r = bytebuf_reserve(b, len);
	if (r < 0)
		return r;
	memcpy(b->data + b->len, data, len);
	b->len += len;
	return 0;
}

void bytebuf_reset(struct bytebuf *b)
{
	b->len = 0;
}

void bytebuf_free(struct bytebuf *b)
{
	if (!b)
		return;
	free(b->data);
	b->data = NULL;
	b->len = 0;
	b->cap = 0;
}

static void put_le16(unsigned char *p, uint16_t v)
{
	p[0] = v & 0xFF;
	p[1] = v >> 8;
}

static void put_le32(unsigned char *p, uint32_t v)
{
	p[0] = v & 0xFF;
	p[1] = (v >> 8) & 0xFF;
	p[2] = (v >> 16) & 0xFF;
	p[3] = v >> 24;
}

/* Move the pages libogg has ready (or, with force, everything) to out. */
static int pages_drain(struct oggopus *st, struct bytebuf *out, bool force)
{
	int count = 0;
	ogg_page og;

	for (;;) {
		/*
		 * Reserve an upper bound of the next page before libogg hands it
		 * over: once taken out of the stream a page that can't be stored
		 * would be lost and the stream corrupt.
		 */
		int r = bytebuf_reserve(out, (size_t)st->os.body_fill + 27 + 255);

		if (r < 0)
			return r;
		if (force ? !ogg_stream_flush(&st->os, &og) : !ogg_stream_pageout(&st->os, &og))
			break;
		/* cannot fail: reserved above */
		bytebuf_append(out, og.header, og.header_len);
		bytebuf_append(out, og.body, og.body_len);
		if (count < INT_MAX)
			count++;
	}
	return count;
}

static int packet_submit(struct oggopus *st, unsigned char *data, long len,
			 int64_t granule, bool bos, bool eos)
{
	ogg_packet op = {
		.packet = data,
		.bytes = len,
		.b_o_s = bos,
		.e_o_s = eos,
		.granulepos = granule,
		.packetno = st->packetno,
	};

	/* libogg fails only when it can't grow its buffers */
	if (ogg_stream_packetin(&st->os, &op) != 0)
		return -ENOMEM;
	st->packetno++;
	return 0;
}

/* OpusHead then OpusTags, each closed into its own page(s) as RFC 7845 requires. */
static int headers_write(struct oggopus *st, struct bytebuf *out)
{
	const char *vendor = opus_get_version_string();
	size_t vendor_len = strlen(vendor);
	size_t comment_len = strlen(OGGOPUS_COMMENT);
	unsigned char head[19];
	unsigned char *tags = st->packet, *p;
	int r;

	memcpy(head, "OpusHead", 8);
	head[8] = 1;				/* version */
	head[9] = OGGOPUS_CHANNELS;
	put_le16(head + 10, st->pre_skip);
	put_le32(head + 12, OGGOPUS_RATE);	/* input rate: informational */
	put_le16(head + 16, 0);			/* output gain */
	head[18] = 0;				/* mapping family 0: mono/stereo */

	r = packet_submit(st, head, sizeof(head), 0, true, false);
	if (r < 0)
		return r;
	r = pages_drain(st, out, true);
	if (r < 0)
		return r;

	/* the packet buffer is free until audio starts; the vendor string is short */
	if (8 + 4 + vendor_len + 4 + 4 + comment_len > sizeof(st->packet))
		return -E2BIG;
	p = tags;
	memcpy(p, "OpusTags", 8);
	p += 8;
	put_le32(p, vendor_len);
	p += 4;
	memcpy(p, vendor, vendor_len);
	p += vendor_len;
	put_le32(p, 1);				/* user comment count */
	p += 4;
	put_le32(p, comment_len);
	p += 4;
	memcpy(p, OGGOPUS_COMMENT, comment_len);
	p += comment_len;

	r = packet_submit(st, tags, p - tags, 0, false, false);
	if (r < 0)
		return r;
	r = pages_drain(st, out, true);
	return r < 0 ? r : 0;
}

static bool settings_valid(const struct oggopus_settings *s)
{
	return s->bitrate >= OGGOPUS_BITRATE_MIN && s->bitrate <= OGGOPUS_BITRATE_MAX &&
	       s->complexity >= 0 && s->complexity <= 10;
}

struct oggopus *oggopus_new(const struct oggopus_settings *s, uint32_t serial,
			    struct bytebuf *ret_pages)
{
	static const struct oggopus_settings defaults = {
		.bitrate = OGGOPUS_DEFAULT_BITRATE,
		.complexity = OGGOPUS_DEFAULT_COMPLEXITY,
	};
	struct oggopus *st;
	size_t len0;
	opus_int32 lookahead;
	int err, r;

	if (!s)
		s = &defaults;
	if (!ret_pages || !settings_valid(s)) {
		errno = EINVAL;
		return NULL;
	}

	st = calloc(1, sizeof(*st));
	if (!st) {
		errno = ENOMEM;
		return NULL;
	}
	if (ogg_stream_init(&st->os, (int)serial) != 0) {
		free(st);
		errno = ENOMEM;
		return NULL;
	}

	st->enc = opus_encoder_create(OGGOPUS_RATE, OGGOPUS_CHANNELS, OPUS_APPLICATION_VOIP, &err);
	if (!st->enc || err != OPUS_OK) {
		r = err == OPUS_ALLOC_FAIL ? -ENOMEM : -EINVAL;
		goto fail;
	}
	/*
	 * Forced stereo: left alone the encoder folds two independent talkers
	 * into mono and one party nearly vanishes (notes/perf.md).
	 */
	if (opus_encoder_ctl(st->enc, OPUS_SET_FORCE_CHANNELS(2)) != OPUS_OK ||
	    opus_encoder_ctl(st->enc, OPUS_SET_BANDWIDTH(OPUS_BANDWIDTH_NARROWBAND)) != OPUS_OK ||
	    opus_encoder_ctl(st->enc, OPUS_SET_BITRATE(s->bitrate)) != OPUS_OK ||
	    opus_encoder_ctl(st->enc, OPUS_SET_COMPLEXITY(s->complexity)) != OPUS_OK ||
	    opus_encoder_ctl(st->enc, OPUS_GET_LOOKAHEAD(&lookahead)) != OPUS_OK ||
	    lookahead < 0 || lookahead > 65535 / OGGOPUS_UPSAMPLE) {
		r = -EINVAL;
		goto fail;
	}
	st->lookahead = lookahead;
	st->pre_skip = lookahead * OGGOPUS_UPSAMPLE;

	/* ret_pages is left as it was if anything below fails */
	len0 = ret_pages->len;
	r = headers_write(st, ret_pages);
	if (r < 0) {
		ret_pages->len = len0;
		goto fail;
	}
	return st;

fail:
	oggopus_free(st);
	errno = -r;
	return NULL;
}

/* Encode one frame; last marks the end of the stream with the trimmed granule. */
static int frame_encode(struct oggopus *st, const int16_t *stereo, bool last)
{
	opus_int32 len;
	int64_t granule;

	len = opus_encode(st->enc, stereo, OGGOPUS_FRAME, st->packet, sizeof(st->packet));
	if (len < 0)
		return len == OPUS_ALLOC_FAIL ? -ENOMEM : -EIO;

	st->frames++;
	granule = (int64_t)st->frames * OGGOPUS_FRAME_GRANULES;
	if (last)
		granule = st->pre_skip + (int64_t)st->samples * OGGOPUS_UPSAMPLE;
	return packet_submit(st, st->packet, len, granule, false, last);
}

int oggopus_push(struct oggopus *st, const int16_t *stereo)
{
	int r;

	if (!st || !stereo || st->finished)
		return -EINVAL;
	r = frame_encode(st, stereo, false);
	if (r < 0)
		return r;
	st->samples += OGGOPUS_FRAME;
	return 0;
}

int oggopus_take_pages(struct oggopus *st, struct bytebuf *out, bool force)
{
	if (!st || !out)
		return -EINVAL;
	return pages_drain(st, out, force);
}

int oggopus_finish(struct oggopus *st, struct bytebuf *out)
{
	static const int16_t silence[OGGOPUS_FRAME * OGGOPUS_CHANNELS];
	uint32_t pad;
	int r;

	if (!st || !out || st->finished)
		return -EINVAL;

	/*
	 * The last `lookahead` samples pushed are still inside the encoder:
	 * drain them with silent frames (at least one, so an empty recording
	 * still has a packet to carry end-of-stream; its granule equals
	 * pre-skip, i.e. zero playable samples).
	 */
	pad = (st->lookahead + OGGOPUS_FRAME - 1) / OGGOPUS_FRAME;
	if (pad == 0)
		pad = 1;
	/* closed even on failure: a retry would pad twice, so the caller must free */
	st->finished = true;
	for (uint32_t i = 0; i < pad; i++) {
		r = frame_encode(st, silence, i + 1 == pad);
		if (r < 0)
			return r;
	}
	return pages_drain(st, out, true);
}

uint64_t oggopus_samples(const struct oggopus *st)
{
	return st ? st->samples : 0;
}

void oggopus_free(struct oggopus *st)
{
	if (!st)
		return;
	if (st->enc)
		opus_encoder_destroy(st->enc);
	/* ogg_stream_clear() accepts a zeroed or initialised state */
	ogg_stream_clear(&st->os);
	free(st);
}
