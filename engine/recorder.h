/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One call's recording pipeline, run by a recording worker:
 *   G.711 blocks (carrier side, PBX side) → linear stereo frame (L = carrier,
 *   R = PBX) → Opus → Ogg pages → one sealed vault record per flush interval
 *   → io_uring append + fdatasync.
 *
 * Thread: a recorder belongs to the worker that started it.
 */
#ifndef TRUNKREC_ENGINE_RECORDER_H
#define TRUNKREC_ENGINE_RECORDER_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/g711.h"
#include "engine/oggopus.h"
#include "engine/vault.h"
#include "engine/writer.h"

struct recorder_ctx {
	struct writer *writer;
	uint8_t recipient_pk[VAULT_PK_BYTES];
	struct oggopus_settings codec;
	int flush_frames;	/* 20 ms frames per sealed record */
	/* Counters: written by the worker, read by anyone. */
	unsigned long started, completed, failed;
};

struct recorder;

/* meta: key=value lines for the META record. NULL on failure (logged). */
struct recorder *recorder_start(struct recorder_ctx *ctx, enum g711_law law, const char *meta);

/* One 20 ms block from each side (PORT_BLOCK bytes of G.711 each). */
void recorder_frame(struct recorder *r, const uint8_t *carrier, const uint8_t *pbx);

/* Seal the last record with FINAL and close; the recorder frees itself later. */
void recorder_stop(struct recorder *r, const char *reason);

#endif
