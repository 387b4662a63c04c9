// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunkrec export: decrypt a recording to Ogg Opus, or decode it to WAV.
 *
 * Two passes over the file: the first only judges it (no output exists until
 * we know it is not CORRUPT), the second streams the authenticated Ogg pages
 * to a temporary file beside OUT, which is synced and renamed into place.
 * The output is plaintext audio: created 0600, like the private key.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <unistd.h>

#include <ogg/ogg.h>
#include <opus/opus.h>

#include "tools/trunkrec/export.h"

#define WAV_RATE	8000
#define WAV_CHANNELS	2
#define WAV_HEADER	44
/* The longest Opus packet is 120 ms: 960 sample frames at 8 kHz. */
#define MAX_FRAMES	960
#define OUTBUF		65536

struct outfile {
	int fd;
	uint8_t buf[OUTBUF];
	size_t used;
	uint64_t bytes;		/* written so far, buffered included */
};

static int outfile_flush(struct outfile *o)
{
	size_t off = 0;

	while (off < o->used) {
		ssize_t n = write(o->fd, o->buf + off, o->used - off);

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		off += (size_t)n;
	}
	o->used = 0;
	return 0;
}

static int outfile_write(struct outfile *o, const void *data, size_t len)
{
	const uint8_t *p = data;

	while (len) {
		size_t n = OUTBUF - o->used;
		int r;

		if (n > len)
			n = len;
		memcpy(o->buf + o->used, p, n);
		o->used += n;
		o->bytes += n;
		p += n;
		len -= n;
		if (o->used == OUTBUF) {
			r = outfile_flush(o);
			if (r < 0)
				return r;
		}
	}
	return 0;
}

/* Ogg Opus → PCM, following RFC 7845: pre-skip and the last granule position. */
struct wavdec {
	ogg_stream_state os;
	bool have_stream;
	unsigned packets;	/* packets seen: 0 OpusHead, 1 OpusTags, then audio */
	OpusDecoder *dec;
	uint32_t skip;		/* 8 kHz frames still to drop (pre-skip) */
	int64_t last_granule;	/* 48 kHz, -1 until a page carries one */
	uint32_t pre_skip;	/* 48 kHz */
	uint64_t frames;	/* frames written to the WAV */
	uint64_t src;		/* frames decoded after pre-skip, redacted ones included */
	const struct export_range *redact;	/* sorted, merged; in 8 kHz frames */
	unsigned nredact;
};

/* Frames in redacted ranges below frame end. */
static uint64_t redacted_below(const struct wavdec *wd, uint64_t end)
{
	uint64_t n = 0;

	for (unsigned i = 0; i < wd->nredact; i++) {
		uint64_t a = wd->redact[i].from_ms * 8, b = wd->redact[i].to_ms * 8;

		if (a >= end)
			break;
		n += (b < end ? b : end) - a;
	}
	return n;
}

static bool redacted(const struct wavdec *wd, uint64_t frame)
{
	for (unsigned i = 0; i < wd->nredact; i++)
		if (frame >= wd->redact[i].from_ms * 8 && frame < wd->redact[i].to_ms * 8)
			return true;
	return false;
}

struct export_ctx {
	enum export_format fmt;
	struct outfile out;
	struct wavdec wd;
	bool progress;
	int last_pct;
	uint64_t done, total;	/* file bytes consumed, for progress */
	uint64_t ogg_bytes;
	int err;		/* first error of the second pass */
	ogg_sync_state oy;	/* record payloads → pages */
	uint8_t *pending;	/* Ogg out: the last page seen, not yet written */
	size_t pending_len, pending_cap, pending_hlen;
	uint64_t pages;
	bool eos_added;
};

static void progress_show(struct export_ctx *c)
{
	int pct;

	if (!c->progress || !c->total)
		return;
	pct = (int)(c->done * 100 / c->total);
	if (pct == c->last_pct)
		return;
	c->last_pct = pct;
	fprintf(stderr, "\rtrunkrec: export %3d%%", pct);
	if (pct == 100)
		fputc('\n', stderr);
}

static int wav_put_header(uint8_t h[WAV_HEADER], uint64_t frames)
{
	uint64_t data = frames * WAV_CHANNELS * 2;
	uint32_t v;

	/* RIFF sizes are u32: a 16-bit stereo 8 kHz WAV holds ~37 hours. */
	if (data > UINT32_MAX - 36)
		return -EFBIG;
#define PUT32(off, x) do { v = (uint32_t)(x); h[off] = (uint8_t)v; h[off + 1] = (uint8_t)(v >> 8); \
			   h[off + 2] = (uint8_t)(v >> 16); h[off + 3] = (uint8_t)(v >> 24); } while (0)
#define PUT16(off, x) do { h[off] = (uint8_t)(x); h[off + 1] = (uint8_t)((x) >> 8); } while (0)
	memcpy(h, "RIFF", 4);
	PUT32(4, 36 + data);
	memcpy(h + 8, "WAVEfmt ", 8);
	PUT32(16, 16);
	PUT16(20, 1);			/* PCM */
	PUT16(22, WAV_CHANNELS);
	PUT32(24, WAV_RATE);
	PUT32(28, WAV_RATE * WAV_CHANNELS * 2);
	PUT16(32, WAV_CHANNELS * 2);
	PUT16(34, 16);
	memcpy(h + 36, "data", 4);
	PUT32(40, data);
#undef PUT32
#undef PUT16
	return 0;
}

static int wavdec_head(struct wavdec *wd, const ogg_packet *op)
{
	const uint8_t *p = op->packet;
	int gain, err;

	/* OpusHead: magic, version 0.x, channels, pre-skip, rate, gain, mapping */
	if (op->bytes < 19 || memcmp(p, "OpusHead", 8) != 0 || (p[8] & 0xf0) != 0)
		return -EPROTO;
	if (p[9] < 1 || p[9] > 2 || p[18] != 0)
		return -EPROTO;	/* only mapping family 0 (mono/stereo) */
	wd->pre_skip = (uint32_t)p[10] | (uint32_t)p[11] << 8;
	gain = (int16_t)((uint16_t)p[16] | (uint16_t)p[17] << 8);
	/* Decoding straight to 8 kHz: a 48 kHz frame count becomes 1/6, rounded up. */
	wd->skip = (wd->pre_skip + 5) / 6;
	/* libopus decodes a mono stream to stereo when asked to. */
	wd->dec = opus_decoder_create(WAV_RATE, WAV_CHANNELS, &err);
	if (!wd->dec)
		return err == OPUS_ALLOC_FAIL ? -ENOMEM : -EPROTO;
	if (gain)
		opus_decoder_ctl(wd->dec, OPUS_SET_GAIN(gain));
	return 0;
}

static int wavdec_audio(struct wavdec *wd, struct outfile *o, const ogg_packet *op)
{
	int16_t pcm[MAX_FRAMES * WAV_CHANNELS];
	uint8_t le[MAX_FRAMES * WAV_CHANNELS * 2];
	int n, first = 0;

	n = opus_decode(wd->dec, op->packet, (opus_int32)op->bytes, pcm, MAX_FRAMES, 0);
	if (n < 0)
		return -EPROTO;
	if (wd->skip) {
		first = (uint32_t)n < wd->skip ? n : (int)wd->skip;
		wd->skip -= (uint32_t)first;
	}
	if (wd->nredact) {
		/* Redaction cuts: the frames are gone from the output, not silenced. */
		size_t j = 0;

		for (int f = first; f < n; f++, wd->src++) {
			if (redacted(wd, wd->src))
				continue;
			for (int ch = 0; ch < WAV_CHANNELS; ch++, j += 2) {
				le[j] = (uint8_t)pcm[f * WAV_CHANNELS + ch];
				le[j + 1] = (uint8_t)((uint16_t)pcm[f * WAV_CHANNELS + ch] >> 8);
			}
			wd->frames++;
		}
		sodium_memzero(pcm, sizeof(pcm));
		return outfile_write(o, le, j);
	}
	for (int i = first * WAV_CHANNELS, j = 0; i < n * WAV_CHANNELS; i++, j += 2) {
		le[j] = (uint8_t)pcm[i];
		le[j + 1] = (uint8_t)((uint16_t)pcm[i] >> 8);
	}
	wd->frames += (uint64_t)(n - first);
	wd->src += (uint64_t)(n - first);
	return outfile_write(o, le, (size_t)(n - first) * WAV_CHANNELS * 2);
}

static int wavdec_page(struct wavdec *wd, struct outfile *o, ogg_page *og)
{
	ogg_packet op;
	int r;

	if (!wd->have_stream) {
		if (ogg_stream_init(&wd->os, ogg_page_serialno(og)) != 0)
			return -ENOMEM;
		wd->have_stream = true;
	}
	/* One logical stream per recording: pages of any other are ignored. */
	if (ogg_stream_pagein(&wd->os, og) != 0)
		return 0;
	if (ogg_page_granulepos(og) >= 0)
		wd->last_granule = ogg_page_granulepos(og);
	while ((r = ogg_stream_packetout(&wd->os, &op)) != 0) {
		if (r < 0)
			continue;	/* a gap: decode what follows */
		if (wd->packets == 0)
			r = wavdec_head(wd, &op);
		else if (wd->packets == 1)
			r = op.bytes >= 8 && memcmp(op.packet, "OpusTags", 8) == 0 ? 0 : -EPROTO;
		else
			r = wavdec_audio(wd, o, &op);
		if (r < 0)
			return r;
		wd->packets++;
	}
	return 0;
}

/*
 * Ogg out: pages are passed through as recorded, one page behind, so that
 * the last one can be marked end-of-stream if the recording never got to
 * (a TRUNCATED file): players and opusinfo then see a finished stream.
 */
static int oggout_page(struct export_ctx *c, const ogg_page *og)
{
	size_t need = (size_t)(og->header_len + og->body_len);
	int r;

	if (c->pending_len) {
		r = outfile_write(&c->out, c->pending, c->pending_len);
		if (r < 0)
			return r;
	}
	if (need > c->pending_cap) {
		uint8_t *n = realloc(c->pending, need);

		if (!n)
			return -ENOMEM;
		c->pending = n;
		c->pending_cap = need;
	}
	memcpy(c->pending, og->header, (size_t)og->header_len);
	memcpy(c->pending + og->header_len, og->body, (size_t)og->body_len);
	c->pending_len = need;
	c->pending_hlen = (size_t)og->header_len;
	c->pages++;
	return 0;
}

static int oggout_finish(struct export_ctx *c)
{
	ogg_page og;

	if (!c->pending_len)
		return -EPROTO;
	og.header = c->pending;
	og.header_len = (long)c->pending_hlen;
	og.body = c->pending + c->pending_hlen;
	og.body_len = (long)(c->pending_len - c->pending_hlen);
	if (!ogg_page_eos(&og)) {
		og.header[5] |= 0x04;	/* header_type: end of stream */
		ogg_page_checksum_set(&og);
		c->eos_added = true;
	}
	return outfile_write(&c->out, c->pending, c->pending_len);
}

static int export_feed(struct export_ctx *c, const uint8_t *data, size_t len)
{
	ogg_page og;
	char *buf;
	int r;

	buf = ogg_sync_buffer(&c->oy, (long)len);
	if (!buf)
		return -ENOMEM;
	memcpy(buf, data, len);
	ogg_sync_wrote(&c->oy, (long)len);
	while ((r = ogg_sync_pageout(&c->oy, &og)) != 0) {
		if (r < 0)
			continue;	/* resynced past junk */
		if (c->fmt == EXPORT_OGG)
			r = oggout_page(c, &og);
		else
			r = wavdec_page(&c->wd, &c->out, &og);
		if (r < 0)
			return r;
	}
	return 0;
}

static int export_record_cb(enum vault_record_type type, const uint8_t *plain, size_t len,
			    void *userdata)
{
	struct export_ctx *c = userdata;
	int r = 0;

	if (type == VAULT_REC_OGG) {
		c->ogg_bytes += len;
		r = export_feed(c, plain, len);
	}
	c->done += len + VAULT_RECORD_OVERHEAD;
	progress_show(c);
	if (r < 0) {
		c->err = r;
		return r;
	}
	return 0;
}

int export_format_from_path(const char *path, enum export_format *ret)
{
	const char *dot = strrchr(path, '.');

	if (!dot || strchr(dot, '/'))
		return -EINVAL;
	if (!strcasecmp(dot, ".opus") || !strcasecmp(dot, ".ogg"))
		*ret = EXPORT_OGG;
	else if (!strcasecmp(dot, ".wav"))
		*ret = EXPORT_WAV;
	else
		return -EINVAL;
	return 0;
}

/* Close a WAV: trim to the last granule position, then write real sizes. */
static int export_wav_finish(struct export_ctx *c)
{
	struct wavdec *wd = &c->wd;
	uint8_t h[WAV_HEADER];
	uint64_t frames = wd->frames;
	int r;

	if (wd->packets < 2)
		return -EPROTO;		/* not even the two Opus header packets */
	/*
	 * The last granule position counts 48 kHz samples from the start,
	 * pre-skip included: the decoder's final frame is padded beyond it.
	 */
	if (wd->last_granule >= (int64_t)wd->pre_skip) {
		uint64_t end = ((uint64_t)wd->last_granule + 5) / 6;
		uint64_t start = (wd->pre_skip + 5) / 6;

		/* In source frames: the padding past the last granule goes, redacted frames are already out. */
		if (end - start < wd->src)
			frames = end - start - redacted_below(wd, end - start);
		if (frames > wd->frames)
			frames = wd->frames;
	}
	r = outfile_flush(&c->out);
	if (r < 0)
		return r;
	r = wav_put_header(h, frames);
	if (r < 0)
		return r;
	if (ftruncate(c->out.fd, (off_t)(WAV_HEADER + frames * WAV_CHANNELS * 2)) < 0)
		return -errno;
	if (pwrite(c->out.fd, h, sizeof(h), 0) != (ssize_t)sizeof(h))
		return errno ? -errno : -EIO;
	wd->frames = frames;
	return 0;
}

int export_recording(const uint8_t *file, size_t len, const uint8_t pk[VAULT_PK_BYTES],
		     const uint8_t sk[VAULT_SK_BYTES], const char *out_path,
		     enum export_format fmt, bool progress, struct export_result *ret)
{
	return export_recording_redacted(file, len, pk, sk, out_path, fmt, progress, NULL, 0, ret);
}

static int range_cmp(const void *a, const void *b)
{
	const struct export_range *x = a, *y = b;

	return x->from_ms < y->from_ms ? -1 : x->from_ms > y->from_ms;
}

int export_ranges_parse(const char *text, struct export_range *ret, unsigned max, unsigned *ret_n)
{
	unsigned n = 0, m = 0;
	const char *p = text;

	while (*p) {
		uint64_t t[2];

		for (int k = 0; k < 2; k++) {
			uint64_t v = 0, part;
			int fields = 0;

			/* [[H:]M:]S[.mmm] */
			for (;;) {
				char *end;

				if (*p < '0' || *p > '9')
					return -EINVAL;
				part = strtoull(p, &end, 10);
				if (part > 100000000)
					return -EINVAL;
				p = end;
				v = v * 60 + part;
				if (++fields > 3)
					return -EINVAL;
				if (*p != ':')
					break;
				p++;
			}
			v *= 1000;
			if (*p == '.') {
				uint64_t scale = 100;

				p++;
				if (*p < '0' || *p > '9')
					return -EINVAL;
				while (*p >= '0' && *p <= '9') {
					v += (uint64_t)(*p - '0') * scale;
					scale /= 10;
					p++;
				}
			}
			t[k] = v;
			if (k == 0 && *p++ != '-')
				return -EINVAL;
		}
		if (t[1] <= t[0] || n == max)
			return -EINVAL;
		ret[n].from_ms = t[0];
		ret[n].to_ms = t[1];
		n++;
		if (*p == ',')
			p++;
		else if (*p)
			return -EINVAL;
	}
	if (!n)
		return -EINVAL;
	/* Sorted and merged: overlapping ranges cut once. */
	qsort(ret, n, sizeof(*ret), range_cmp);
	for (unsigned i = 1; i < n; i++) {
		if (ret[i].from_ms <= ret[m].to_ms) {
			if (ret[i].to_ms > ret[m].to_ms)
				ret[m].to_ms = ret[i].to_ms;
		} else {
			ret[++m] = ret[i];
		}
	}
	*ret_n = m + 1;
	return 0;
}

int export_recording_redacted(const uint8_t *file, size_t len, const uint8_t pk[VAULT_PK_BYTES],
			      const uint8_t sk[VAULT_SK_BYTES], const char *out_path,
			      enum export_format fmt, bool progress, const struct export_range *redact,
			      unsigned nredact, struct export_result *ret)
{
	struct export_ctx *c;
	struct vault_info info;
	enum vault_status st;
	char *tmp = NULL;
	int r;

	/* Ogg pages cannot be cut without re-encoding: redaction is for decoded audio. */
	if (nredact && fmt != EXPORT_WAV)
		return -ENOTSUP;
	/* Pass 1: judge. Nothing is created for a file we would refuse. */
	r = vault_read(file, len, pk, sk, NULL, NULL, &st, &info);
	if (r < 0)
		return r;
	if (st == VAULT_CORRUPT)
		return -EBADMSG;

	/* Large buffers: keep them off the stack. */
	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fmt = fmt;
	c->progress = progress;
	c->last_pct = -1;
	c->total = len;
	c->done = VAULT_HEADER_BYTES;
	c->out.fd = -1;
	c->wd.last_granule = -1;
	c->wd.redact = redact;
	c->wd.nredact = nredact;
	ogg_sync_init(&c->oy);

	if (asprintf(&tmp, "%s.tmp-XXXXXX", out_path) < 0) {
		tmp = NULL;
		r = -ENOMEM;
		goto out;
	}
	c->out.fd = mkostemp(tmp, O_CLOEXEC);
	if (c->out.fd < 0) {
		r = -errno;
		free(tmp);
		tmp = NULL;
		goto out;
	}
	if (fmt == EXPORT_WAV) {
		uint8_t h[WAV_HEADER];

		/* Placeholder sizes, rewritten once the length is known. */
		wav_put_header(h, 0);
		r = outfile_write(&c->out, h, sizeof(h));
		if (r < 0)
			goto out;
	}

	/* Pass 2: stream the authenticated pages out. */
	r = vault_read(file, len, pk, sk, export_record_cb, c, &st, &info);
	if (r < 0)
		goto out;
	if (st == VAULT_CORRUPT) {
		r = -EBADMSG;	/* the file changed under us */
		goto out;
	}
	if (fmt == EXPORT_WAV)
		r = export_wav_finish(c);
	else if ((r = oggout_finish(c)) == 0)
		r = outfile_flush(&c->out);
	if (r < 0)
		goto out;
	if (c->ogg_bytes == 0) {
		r = -EPROTO;	/* a recording with no audio at all */
		goto out;
	}
	if (fsync(c->out.fd) < 0) {
		r = -errno;
		goto out;
	}
	if (close(c->out.fd) < 0) {
		c->out.fd = -1;
		r = -errno;
		goto out;
	}
	c->out.fd = -1;
	if (rename(tmp, out_path) < 0) {
		r = -errno;
		goto out;
	}
	free(tmp);
	tmp = NULL;
	c->done = c->total;
	progress_show(c);

	ret->status = st;
	ret->records = info.records;
	ret->ogg_bytes = c->ogg_bytes;
	ret->frames = c->wd.frames;
	ret->eos_added = c->eos_added;
	r = 0;
out:
	if (c->err < 0 && r < 0)
		r = c->err;
	if (c->progress && c->last_pct >= 0 && c->last_pct < 100)
		fputc('\n', stderr);
	if (c->out.fd >= 0)
		close(c->out.fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	/* The output buffer held decrypted audio. */
	sodium_memzero(c->out.buf, sizeof(c->out.buf));
	if (c->wd.have_stream)
		ogg_stream_clear(&c->wd.os);
	ogg_sync_clear(&c->oy);
	if (c->pending) {
		sodium_memzero(c->pending, c->pending_cap);
		free(c->pending);
	}
	if (c->wd.dec)
		opus_decoder_destroy(c->wd.dec);
	free(c);
	return r;
}
