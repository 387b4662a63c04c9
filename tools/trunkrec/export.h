/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trunkrec export: a vault file's audio out as standard Ogg Opus or as WAV.
 *
 * SECRET: the private key passes through; export_recording() keeps no copy.
 */
#ifndef TRUNKREC_TOOLS_TRUNKREC_EXPORT_H
#define TRUNKREC_TOOLS_TRUNKREC_EXPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "record/vault.h"

enum export_format {
	EXPORT_OGG,	/* the Ogg pages as recorded (.opus, .ogg) */
	EXPORT_WAV,	/* decoded: 16-bit PCM, stereo, 8000 Hz (.wav) */
};

struct export_result {
	enum vault_status status;
	uint64_t records;
	uint64_t ogg_bytes;	/* Ogg Opus bytes in the recording */
	uint64_t frames;	/* WAV: sample frames written (per channel) */
	bool eos_added;		/* Ogg: the last page had no end-of-stream flag; we set it */
};

/* Format from OUT's extension; -EINVAL for anything else. */
int export_format_from_path(const char *path, enum export_format *ret);

/*
 * Export file (a whole vault image) to out_path. The status is judged first:
 * a CORRUPT file returns -EBADMSG and nothing is written. Otherwise OUT is
 * written to a temporary name beside it and renamed into place once complete
 * and synced. Progress percentages go to stderr when progress is set.
 * Returns 0 (see ret->status: TRUNCATED exports what authenticated),
 * -EACCES for a key that does not open the file, -EPROTO when the audio
 * inside is not an Ogg Opus stream we can decode, or another -errno from I/O.
 */
int export_recording(const uint8_t *file, size_t len, const uint8_t pk[VAULT_PK_BYTES],
		     const uint8_t sk[VAULT_SK_BYTES], const char *out_path,
		     enum export_format fmt, bool progress, struct export_result *ret);

/* A time range to cut out of an export, in ms from the start of the recording. */
struct export_range {
	uint64_t from_ms, to_ms;
};

#define EXPORT_MAX_RANGES	64

/*
 * "00:30-00:45,1:02:03.5-1:02:10" ([[H:]M:]S[.mmm] pairs, comma-separated)
 * into at most max ranges, sorted and merged. -EINVAL on anything else.
 */
int export_ranges_parse(const char *text, struct export_range *ret, unsigned max, unsigned *ret_n);

/*
 * As export_recording, with the ranges cut out of the decoded audio (the
 * output is shorter by their length; nothing of them is written). WAV only:
 * -ENOTSUP for Ogg output, as Opus packets cannot be cut without
 * re-encoding.
 */
int export_recording_redacted(const uint8_t *file, size_t len, const uint8_t pk[VAULT_PK_BYTES],
			      const uint8_t sk[VAULT_SK_BYTES], const char *out_path,
			      enum export_format fmt, bool progress, const struct export_range *redact,
			      unsigned nredact, struct export_result *ret);

#endif
