/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One call's recording pipeline, run by a recording worker:
 *   G.711 blocks (carrier side, PBX side) → linear stereo frame (L = carrier,
 *   R = PBX) → Opus → Ogg pages → one sealed vault record per flush interval
 *   → io_uring append + fdatasync.
 *
 * Nothing touches the disk before the policy first allows a frame to be
 * stored: a call that is never allowed (not announced) leaves no file, no
 * metadata, nothing. Once the file exists, frames the policy does not allow
 * (hold, payment, masking) are replaced by silence of the same length, so the
 * recording's time still maps 1:1 to the call's; the timeline records why.
 *
 * Thread: a recorder belongs to the worker that started it.
 */
#ifndef TRUNKREC_RECORD_RECORDER_H
#define TRUNKREC_RECORD_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/dtmf.h"
#include "codec/g711.h"
#include "codec/oggopus.h"
#include "codec/prompt.h"
#include "base/spsc.h"
#include "record/vault.h"
#include "record/writer.h"

#define RECORDER_META_MAX	320

/* What a recorder tells the relay (worker → relay ring). Never a digit to storage or logs. */
enum rec_event_kind { REV_PROMPT_DETECTED = 1, REV_DTMF };

struct rec_event {
	uint8_t kind;
	uint8_t side;		/* REV_DTMF: 0 carrier, 1 PBX */
	char digit;		/* REV_DTMF: only for the agent-code matcher; SECRET */
	uint16_t slot;
	unsigned long serial;	/* the call it belongs to: slots are reused */
};

/* How a recording listens (REC_START). */
struct recorder_opts {
	uint16_t slot;
	unsigned long serial;
	bool mask_dtmf;				/* silence DTMF tones (and their guard) in what is stored */
	bool report_digits;			/* tell the relay about tones (timeline, agent codes) */
	const struct prompt_ref *verify;	/* look for this prompt in the PBX audio; NULL = no */
};

/* A recording's start and end, for the catalog: called on the worker thread, must not block. */
struct recording_done {
	const char *file;		/* "ID.trec" in the recordings directory; NULL if nothing was stored */
	bool started;			/* not the end: the file was just created (catalog status recording) */
	bool ok;			/* durable and renamed (COMPLETE); false: failed, .partial left */
	uint64_t frames;		/* 20 ms frames in the file */
	const char *meta;		/* the META record's text (key=value lines, with numbers) */
	const char *reason;		/* why it ended */
};

typedef void (*recording_done_cb)(void *userdata, const struct recording_done *done);

struct recorder_ctx {
	recording_done_cb done;		/* may be NULL */
	void *done_userdata;
	struct writer *writer;
	uint8_t recipient_pk[VAULT_PK_BYTES];
	struct oggopus_settings codec;
	int flush_frames;	/* 20 ms frames per sealed record */
	struct spsc *events;	/* struct rec_event to the relay; full = dropped, counted */
	_Atomic unsigned long events_dropped;
	/* Counters: written by the worker, read by anyone (stats). */
	_Atomic unsigned long started, completed, failed, never_stored;
};

struct recorder;

/* meta: key=value lines for the META record. NULL when out of memory. */
struct recorder *recorder_new(struct recorder_ctx *ctx, enum g711_law law, const char *meta,
			      const struct recorder_opts *opts);

/*
 * One 20 ms block from each side (160 bytes of G.711 each). flags: the policy
 * allows this frame on disk (RECORDER_STORE), or will once this worker has
 * found the announcement (RECORDER_IF_VERIFIED, verify mode: the frame that
 * completes the prompt is the first that may be stored). The first stored
 * frame creates the file. With
 * DTMF masking, frames reach the encoder DTMF_MASK_DELAY blocks late (the
 * detector needs that long to be sure), each with its own store flag.
 */
void recorder_frame(struct recorder *r, const uint8_t *carrier, const uint8_t *pbx, unsigned flags);

#define RECORDER_STORE		0x01	/* = REC_FRAME_STORE */
#define RECORDER_IF_VERIFIED	0x02	/* = REC_FRAME_IF_VERIFIED: store once the announcement was found */

/* A policy timeline line ("T=<ms> …"), kept in order and sealed with the audio. */
void recorder_timeline(struct recorder *r, const char *line);

/*
 * Seal the last record with FINAL and close; the recorder frees itself once
 * the file is durable (or at once when nothing was ever stored).
 */
void recorder_stop(struct recorder *r, const char *reason);

#endif
