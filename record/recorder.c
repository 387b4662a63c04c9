// SPDX-License-Identifier: GPL-2.0-or-later
#include "record/recorder.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/log.h"

/*
 * Frames are encoded in runs of this many (100 ms), not one at a time: a
 * worker interleaves over a hundred calls, and an Opus encoder's ≈ 48 KB of
 * state is cold again by the time its call's next frame comes round. Every
 * decision about a frame (store or silence, DTMF masking, the announcement)
 * is taken before it is queued, so the encoder sees exactly the samples it
 * saw unbatched, and the queue is always emptied before a record is sealed:
 * the files are the same, byte for byte, and the flush interval still bounds
 * what a crash can lose.
 */
#define RECORDER_BATCH	5

struct recorder {
	struct recorder_ctx *ctx;
	enum g711_law law;
	struct oggopus *enc;
	struct bytebuf pages;		/* Ogg pages not yet sealed */
	struct bytebuf timeline;	/* timeline lines not yet sealed */
	struct vault_writer vault;	/* SECRET: holds the stream key state */
	struct wfile *file;		/* NULL until the first stored frame */
	bool failed;			/* could not create the file: drop everything */
	int frames_since_flush;		/* encoded since the last sealed record */
	uint64_t frames;
	int queued;			/* frames in queue, not encoded yet */
	int16_t queue[RECORDER_BATCH][2 * OGGOPUS_FRAME];	/* interleaved stereo, policy applied */
	char reason[64];
	struct recorder_opts opts;
	bool prompt_found;
	bool prompt_found_now;
	struct prompt_detector *prompt;		/* verify mode, until found */
	struct dtmf_masker *masker;		/* [0] carrier, [1] PBX: dtmf = mask */
	struct dtmf_detector *detector;		/* [0] carrier, [1] PBX: dtmf = keep, codes still heard */
	bool delayed_store[DTMF_MASK_DELAY + 1];	/* store flags in step with the masker's delay */
	unsigned delayed_head, delayed_count;
	char meta[RECORDER_META_MAX];
	char name[80];
};

static void recorder_free(struct recorder *r)
{
	vault_writer_wipe(&r->vault);
	free(r->prompt);
	if (r->masker)
		sodium_memzero(r->masker, 2 * sizeof(*r->masker));	/* it held digits' audio */
	free(r->masker);
	free(r->detector);
	oggopus_free(r->enc);
	bytebuf_free(&r->pages);
	bytebuf_free(&r->timeline);
	free(r);
}

static void report_done(struct recorder *r, const char *file, bool ok)
{
	struct recording_done d = { .file = file, .ok = ok, .frames = r->frames, .meta = r->meta, .reason = r->reason };

	if (r->ctx->done)
		r->ctx->done(r->ctx->done_userdata, &d);
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
		log_err("ALARM recording %s failed: what was durable is kept; the I/O error is logged before "
			"this line", r->name);
	}
	report_done(r, r->name, ok);
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

/* Timeline first: an auditor reads why before the audio it explains. */
static void flush_records(struct recorder *r, bool force, bool sync)
{
	if (r->timeline.len) {
		seal_and_append(r, VAULT_REC_TIMELINE, r->timeline.data, r->timeline.len, false, false);
		bytebuf_reset(&r->timeline);
	}
	if (oggopus_take_pages(r->enc, &r->pages, force) >= 0 && r->pages.len) {
		seal_and_append(r, VAULT_REC_OGG, r->pages.data, r->pages.len, false, sync);
		bytebuf_reset(&r->pages);
	}
}

struct recorder *recorder_new(struct recorder_ctx *ctx, enum g711_law law, const char *meta,
			      const struct recorder_opts *opts)
{
	struct recorder *r = calloc(1, sizeof(*r));

	if (!r)
		return NULL;
	r->ctx = ctx;
	r->law = law;
	r->opts = *opts;
	snprintf(r->meta, sizeof(r->meta), "%s", meta);
	if (opts->verify) {
		r->prompt = malloc(sizeof(*r->prompt));
		if (!r->prompt)
			goto fail;
		prompt_detector_init(r->prompt, opts->verify);
	}
	if (opts->mask_dtmf) {
		r->masker = malloc(2 * sizeof(*r->masker));
		if (!r->masker)
			goto fail;
		dtmf_masker_init(&r->masker[0]);
		dtmf_masker_init(&r->masker[1]);
	} else if (opts->report_digits) {
		r->detector = malloc(2 * sizeof(*r->detector));
		if (!r->detector)
			goto fail;
		dtmf_detector_init(&r->detector[0]);
		dtmf_detector_init(&r->detector[1]);
	}
	return r;
fail:
	recorder_free(r);
	return NULL;
}

static void tell_relay(struct recorder *r, enum rec_event_kind kind, int side, char digit)
{
	struct rec_event *ev = r->ctx->events ? spsc_claim(r->ctx->events) : NULL;

	if (!ev) {
		r->ctx->events_dropped++;
		return;
	}
	ev->kind = (uint8_t)kind;
	ev->side = (uint8_t)side;
	ev->digit = digit;
	ev->slot = r->opts.slot;
	ev->serial = r->opts.serial;
	spsc_push(r->ctx->events);
}

/* The first frame the policy lets through: create the file, key and stream. */
static int recorder_open(struct recorder *r)
{
	uint8_t header[VAULT_HEADER_BYTES];
	char hex[2 * VAULT_ID_BYTES + 1];
	int rc;

	rc = vault_writer_start(&r->vault, r->ctx->recipient_pk, (uint64_t)time(NULL), header);
	if (rc < 0)
		return rc;
	sodium_bin2hex(hex, sizeof(hex), r->vault.id, sizeof(r->vault.id));
	snprintf(r->name, sizeof(r->name), "%s.trec", hex);
	/* The Ogg serial only has to differ between streams: take it from the id. */
	r->enc = oggopus_new(&r->ctx->codec, (uint32_t)r->vault.id[0] | (uint32_t)r->vault.id[1] << 8 |
			     (uint32_t)r->vault.id[2] << 16 | (uint32_t)r->vault.id[3] << 24, &r->pages);
	if (!r->enc)
		return -ENOMEM;
	r->file = writer_create(r->ctx->writer, r->name, header, sizeof(header), on_closed, r);
	if (!r->file) {
		log_err("ALARM recording %s: cannot create it in the recordings directory: %s", r->name,
			strerror(errno));
		return -errno;
	}
	r->ctx->started++;
	seal_and_append(r, VAULT_REC_META, (const uint8_t *)r->meta, strlen(r->meta), false, false);
	if (r->ctx->done) {
		/* Filed at once: after a crash, find still knows whose call this file holds. */
		struct recording_done d = { .file = r->name, .started = true, .meta = r->meta, .reason = "recording" };

		r->ctx->done(r->ctx->done_userdata, &d);
	}
	/* OpusHead and OpusTags go out with the first audio record. */
	return 0;
}

void recorder_timeline(struct recorder *r, const char *line)
{
	if (r->failed)
		return;
	if (bytebuf_append(&r->timeline, line, strlen(line)) < 0 || bytebuf_append(&r->timeline, "\n", 1) < 0)
		log_warn("recording: timeline line dropped (out of memory)");
}

/* Encode what is queued, back to back; seal a record when the flush interval is full. */
static void encode_queued(struct recorder *r)
{
	int n = r->queued;

	r->queued = 0;
	if (wfile_failed(r->file))
		return;		/* failed meanwhile (an I/O completion): nothing more can be kept */
	for (int i = 0; i < n; i++) {
		if (oggopus_push(r->enc, r->queue[i]) < 0)
			continue;
		r->frames++;
		r->frames_since_flush++;
	}
	if (r->frames_since_flush >= r->ctx->flush_frames) {
		r->frames_since_flush = 0;
		flush_records(r, true, true);
	}
}

/* One frame that is due now (after the masker's delay, if any): queue it for the encoder. */
static void encode_frame(struct recorder *r, const int16_t *left, const int16_t *right, bool store)
{
	int16_t *stereo;

	if (r->failed)
		return;
	if (!r->file) {
		if (!store)
			return;		/* nothing may be stored yet: not even that a file exists */
		if (recorder_open(r) < 0) {
			r->failed = true;
			r->ctx->failed++;
			return;
		}
	}
	if (wfile_failed(r->file))
		return;		/* nothing more can be kept; do not spend the CPU */
	stereo = r->queue[r->queued++];
	if (store) {
		for (int i = 0; i < OGGOPUS_FRAME; i++) {
			stereo[2 * i] = left[i];
			stereo[2 * i + 1] = right[i];
		}
	} else {
		/* Paused: the same length of silence; the audio itself never reaches the encoder. */
		memset(stereo, 0, sizeof(r->queue[0]));
	}
	/* A record holds the same frames as unbatched: the run ends where the interval does. */
	if (r->queued == RECORDER_BATCH || r->frames_since_flush + r->queued >= r->ctx->flush_frames)
		encode_queued(r);
}

void recorder_frame(struct recorder *r, const uint8_t *carrier, const uint8_t *pbx, unsigned flags)
{
	int16_t in[2][OGGOPUS_FRAME], out[2][OGGOPUS_FRAME];
	bool ready = true, masked, store = flags & RECORDER_STORE;

	if (r->failed)
		return;
	if (!store && !r->file && !r->prompt && !r->masker && !r->detector)
		return;		/* nothing to store and nothing to listen for */
	g711_decode(r->law, carrier, in[0], OGGOPUS_FRAME);
	g711_decode(r->law, pbx, in[1], OGGOPUS_FRAME);

	/* verify: is the PBX playing the announcement? Its audio is not stored for this. */
	if (r->prompt && !r->prompt_found && prompt_detector_push(r->prompt, in[1])) {
		r->prompt_found = true;
		r->prompt_found_now = true;	/* this frame is the announcement's end: not stored */
		tell_relay(r, REV_PROMPT_DETECTED, 1, 0);
	}
	/* Found on an earlier frame: this one, after the announcement, may be stored. */
	if ((flags & RECORDER_IF_VERIFIED) && r->prompt_found && !r->prompt_found_now)
		store = true;
	r->prompt_found_now = false;
	if (!r->masker) {
		for (int side = 0; r->detector && side < 2; side++) {
			char digit = dtmf_detector_push(&r->detector[side], in[side], OGGOPUS_FRAME);

			if (digit)
				tell_relay(r, REV_DTMF, side, digit);
		}
		encode_frame(r, in[0], in[1], store);
		return;
	}
	r->delayed_store[(r->delayed_head + r->delayed_count++) % (DTMF_MASK_DELAY + 1)] = store;
	for (int side = 0; side < 2; side++) {
		char digit = 0;

		if (!dtmf_masker_push(&r->masker[side], in[side], out[side], &digit, &masked))
			ready = false;
		if (digit && r->opts.report_digits)
			tell_relay(r, REV_DTMF, side, digit);
	}
	if (!ready)
		return;
	store = r->delayed_store[r->delayed_head];
	r->delayed_head = (r->delayed_head + 1) % (DTMF_MASK_DELAY + 1);
	r->delayed_count--;
	encode_frame(r, out[0], out[1], store);
}

void recorder_stop(struct recorder *r, const char *reason)
{
	char summary[160];
	int len;

	/* The masker still holds the last blocks: they belong to the recording too. */
	if (r->masker) {
		int16_t out[2][OGGOPUS_FRAME];
		bool masked;

		while (r->delayed_count && dtmf_masker_flush(&r->masker[0], out[0], &masked) > 0 &&
		       dtmf_masker_flush(&r->masker[1], out[1], &masked) > 0) {
			bool store = r->delayed_store[r->delayed_head];

			r->delayed_head = (r->delayed_head + 1) % (DTMF_MASK_DELAY + 1);
			r->delayed_count--;
			encode_frame(r, out[0], out[1], store);
		}
	}

	if (r->queued)
		encode_queued(r);

	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	if (!r->file) {
		/* Never allowed to store anything: no file, no trace on disk. */
		if (!r->failed)
			r->ctx->never_stored++;
		report_done(r, NULL, false);
		recorder_free(r);
		return;
	}
	if (!wfile_failed(r->file)) {
		flush_records(r, true, false);
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
