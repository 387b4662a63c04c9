// SPDX-License-Identifier: GPL-2.0-or-later
#include "engine/recorder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "engine/log.h"

struct recorder {
	struct recorder_ctx *ctx;
	enum g711_law law;
	struct oggopus *enc;
	struct bytebuf pages;		/* Ogg pages not yet sealed */
	struct vault_writer vault;	/* SECRET: holds the stream key state */
	struct wfile *file;
	int frames_since_flush;
	uint64_t frames;
	char name[80];
};

static void recorder_free(struct recorder *r)
{
	vault_writer_wipe(&r->vault);
	oggopus_free(r->enc);
	bytebuf_free(&r->pages);
	free(r);
}

static void on_closed(struct wfile *f, bool ok, void *userdata)
{
	struct recorder *r = userdata;

	(void)f;
	if (ok) {
		r->ctx->completed++;
		log_info("recording %s: complete, %.2f s", r->name, (double)r->frames * 0.02);
	} else {
		r->ctx->failed++;
	}
	recorder_free(r);
}

/* Seal one record of the given type and hand it to the writer. */
static int seal_and_append(struct recorder *r, enum vault_record_type type, const uint8_t *plain,
			   size_t len, bool final, bool sync)
{
	uint8_t *buf = malloc(len + VAULT_RECORD_OVERHEAD);
	long n;

	if (!buf)
		return -ENOMEM;
	n = vault_writer_seal(&r->vault, type, plain, len, final, buf);
	if (n < 0) {
		free(buf);
		return (int)n;
	}
	return writer_append(r->ctx->writer, r->file, buf, (size_t)n, sync);
}

static void flush_pages(struct recorder *r, bool force)
{
	if (oggopus_take_pages(r->enc, &r->pages, force) < 0 || !r->pages.len)
		return;
	seal_and_append(r, VAULT_REC_OGG, r->pages.data, r->pages.len, false, true);
	bytebuf_reset(&r->pages);
}

struct recorder *recorder_start(struct recorder_ctx *ctx, enum g711_law law, const char *meta)
{
	uint8_t header[VAULT_HEADER_BYTES];
	struct recorder *r;
	char hex[2 * VAULT_ID_BYTES + 1];
	int rc;

	r = calloc(1, sizeof(*r));
	if (!r)
		goto fail;
	r->ctx = ctx;
	r->law = law;
	rc = vault_writer_start(&r->vault, ctx->recipient_pk, (uint64_t)time(NULL), header);
	if (rc < 0)
		goto fail;
	sodium_bin2hex(hex, sizeof(hex), r->vault.id, sizeof(r->vault.id));
	snprintf(r->name, sizeof(r->name), "%s.trec", hex);
	/* The Ogg serial only has to differ between streams: take it from the id. */
	r->enc = oggopus_new(&ctx->codec, (uint32_t)r->vault.id[0] | (uint32_t)r->vault.id[1] << 8 |
			     (uint32_t)r->vault.id[2] << 16 | (uint32_t)r->vault.id[3] << 24, &r->pages);
	if (!r->enc)
		goto fail;
	r->file = writer_create(ctx->writer, r->name, header, sizeof(header), on_closed, r);
	if (!r->file) {
		log_err("recording %s: cannot create it in the recordings directory: %s", r->name, strerror(errno));
		goto fail;
	}
	ctx->started++;
	seal_and_append(r, VAULT_REC_META, (const uint8_t *)meta, strlen(meta), false, false);
	/* OpusHead and OpusTags go out with the first audio record. */
	return r;
fail:
	ctx->failed++;
	if (r)
		recorder_free(r);
	return NULL;
}

void recorder_frame(struct recorder *r, const uint8_t *carrier, const uint8_t *pbx)
{
	int16_t left[OGGOPUS_FRAME], right[OGGOPUS_FRAME], stereo[2 * OGGOPUS_FRAME];

	if (wfile_failed(r->file))
		return;		/* nothing more can be kept; do not spend the CPU */
	g711_decode(r->law, carrier, left, OGGOPUS_FRAME);
	g711_decode(r->law, pbx, right, OGGOPUS_FRAME);
	for (int i = 0; i < OGGOPUS_FRAME; i++) {
		stereo[2 * i] = left[i];
		stereo[2 * i + 1] = right[i];
	}
	if (oggopus_push(r->enc, stereo) < 0)
		return;
	r->frames++;
	if (++r->frames_since_flush >= r->ctx->flush_frames) {
		r->frames_since_flush = 0;
		flush_pages(r, true);
	}
}

void recorder_stop(struct recorder *r, const char *reason)
{
	char summary[160];
	int len;

	if (!wfile_failed(r->file)) {
		if (oggopus_finish(r->enc, &r->pages) >= 0 && r->pages.len) {
			seal_and_append(r, VAULT_REC_OGG, r->pages.data, r->pages.len, false, false);
			bytebuf_reset(&r->pages);
		}
		len = snprintf(summary, sizeof(summary), "frames=%llu\nduration_ms=%llu\nreason=%s\n",
			       (unsigned long long)r->frames, (unsigned long long)r->frames * 20, reason);
		seal_and_append(r, VAULT_REC_END, (const uint8_t *)summary, (size_t)len, true, true);
	}
	writer_close(r->ctx->writer, r->file);
}
