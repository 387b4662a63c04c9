/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Ogg Opus stream writer (RFC 7845) for one recording: 8 kHz stereo frames in,
 * Ogg pages out. Left = carrier side, right = PBX side.
 *
 * Stereo is forced (OPUS_SET_FORCE_CHANNELS(2)): left to itself the encoder
 * collapses two independent talkers into mono (see docs/design.md).
 *
 * Thread: one stream is owned by one recording worker; no locking inside.
 * Everything is allocated in oggopus_new(); oggopus_push() does not allocate
 * beyond libogg's own page buffer growth.
 */
#ifndef TRUNKREC_CODEC_OGGOPUS_H
#define TRUNKREC_CODEC_OGGOPUS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OGGOPUS_RATE		8000	/* input sample rate, Hz */
#define OGGOPUS_FRAME		160	/* samples per channel per frame (20 ms) */
#define OGGOPUS_CHANNELS	2

struct oggopus_settings {
	int bitrate;		/* bits per second, stereo total */
	int complexity;		/* 0..10 */
};

/* Defaults chosen from measurements in ../shared/notes/perf.md: see docs/design.md. */
#define OGGOPUS_DEFAULT_BITRATE		24000
#define OGGOPUS_DEFAULT_COMPLEXITY	2

/* A growable byte buffer the stream appends finished Ogg pages to. */
struct bytebuf {
	uint8_t *data;
	size_t len;
	size_t cap;
};

int bytebuf_reserve(struct bytebuf *b, size_t extra);	/* -ENOMEM */
int bytebuf_append(struct bytebuf *b, const void *data, size_t len);
void bytebuf_reset(struct bytebuf *b);			/* len = 0, keeps memory */
void bytebuf_free(struct bytebuf *b);

struct oggopus;

/*
 * Start a stream with the given Ogg serial number. Writes the OpusHead and
 * OpusTags pages (each on its own page, as RFC 7845 requires; one comment,
 * ENCODER=trunkrec) to ret_pages. NULL settings means the defaults.
 * Returns NULL (errno EINVAL or ENOMEM) on bad settings or out of memory.
 */
struct oggopus *oggopus_new(const struct oggopus_settings *s, uint32_t serial,
			    struct bytebuf *ret_pages);

/* Encode one 20 ms frame of interleaved stereo (L,R,L,R…; 2*160 samples). */
int oggopus_push(struct oggopus *st, const int16_t *stereo);

/*
 * Move every completed Ogg page to out. With force, the packets pending are
 * closed into a page now (used at each flush interval so a record holds
 * whole pages only).
 */
int oggopus_take_pages(struct oggopus *st, struct bytebuf *out, bool force);

/* Close the stream: last packet flagged end-of-stream, final page to out. */
int oggopus_finish(struct oggopus *st, struct bytebuf *out);

/* Samples per channel at 8 kHz pushed so far (the recording's duration). */
uint64_t oggopus_samples(const struct oggopus *st);

void oggopus_free(struct oggopus *st);	/* accepts NULL */

#endif
