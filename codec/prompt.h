/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * "Was the announcement played?": recognise the PBX's own prompt in the
 * PBX -> caller audio (announcement = verify).
 *
 * Fingerprint: per 20 ms of audio, the log energies of 12 bands from 300
 * to 3400 Hz (Hann window, 256-point FFT), with the frame's mean removed
 * (level changes vanish), then the prompt's long-term spectrum removed (what
 * every voiced frame shares says nothing about which prompt it is), scaled
 * to unit length so a dot product is a correlation. The reference is
 * fingerprinted every 10 ms, the live stream every 20 ms block, so some
 * reference frame lies within 5 ms of any live framing.
 *
 * Matching: every possible start of the prompt in the live stream (at
 * 10 ms steps) is a hypothesis; each live block adds one to every
 * hypothesis whose expected reference frame (or one within +-tolerance)
 * correlates with it at >= min_corr. Frames where the prompt pauses are
 * not counted. When a hypothesis reaches the end of the prompt's span and
 * matched >= min_ratio of its voiced frames, and as many of those in the
 * span's last fifth (at most 0.5 s), the prompt is DETECTED: one
 * block (20 ms) after the prompt ends, never before it has played to the end
 * of the span (a prompt cut short does not count).
 *
 * Threads: prompt_ref_build/free and prompt_load at configuration load
 * (they allocate, prompt_load reads a file); a built reference is read-only
 * and shared by all calls. A prompt_detector belongs to the worker that
 * owns the call: fixed size, no allocation, no I/O.
 */
#ifndef TRUNKREC_CODEC_PROMPT_H
#define TRUNKREC_CODEC_PROMPT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define PROMPT_RATE		8000
#define PROMPT_BLOCK		160	/* live frame = one 20 ms engine block */
#define PROMPT_HOP		80	/* reference frames every 10 ms */
#define PROMPT_NBANDS		12
#define PROMPT_FFT		256
/* Longest span verified: 15 s (a longer prompt is verified on its first 15 s). */
#define PROMPT_MAX_HOPS		1500
/* Longest prompt file accepted by prompt_load: 5 minutes. */
#define PROMPT_LOAD_MAX		(300 * PROMPT_RATE)

struct prompt_config {
	double min_ratio;		/* share of voiced frames that must match: 0.8 */
	double min_corr;		/* fingerprint correlation that is a match */
	unsigned int span_ms;		/* verify only the first span_ms (0: all, up to 15 s) */
	unsigned int tolerance_ms;	/* a frame may match this far from its place: 40 */
};

void prompt_config_default(struct prompt_config *cfg);

struct prompt_ref {
	/* analysis tables, shared read-only by every detector */
	float window[PROMPT_BLOCK];
	float tw_re[PROMPT_FFT / 2], tw_im[PROMPT_FFT / 2];
	uint8_t bitrev[PROMPT_FFT];
	uint16_t band_lo[PROMPT_NBANDS], band_hi[PROMPT_NBANDS];	/* FFT bins, inclusive */
	float mean[PROMPT_NBANDS];	/* the prompt's long-term spectrum */

	float *feat;			/* nhops x PROMPT_NBANDS */
	uint8_t *voiced;		/* nhops */
	unsigned int nhops;		/* span verified, leading/trailing pauses trimmed */
	unsigned int voiced_total[2];	/* voiced frames of even and odd index */
	unsigned int tail_start;	/* the span's last part, which must match too */
	unsigned int voiced_tail[2];
	unsigned int tol_hops;
	float min_corr, min_ratio;
};

/*
 * Fingerprint n linear 8 kHz samples (allocates). -EINVAL when the prompt
 * is shorter than 0.5 s of sound or cfg is out of range, -ENOMEM.
 * cfg may be NULL for the defaults.
 */
int prompt_ref_build(struct prompt_ref *ref, const int16_t *x, size_t n, const struct prompt_config *cfg);
/* Accepts a zeroed or half-built ref; leaves it zeroed. */
void prompt_ref_free(struct prompt_ref *ref);

struct prompt_detector {
	const struct prompt_ref *ref;
	uint64_t t;			/* blocks pushed */
	bool detected;
	float best;			/* best score of a completed hypothesis */
	/* matches per hypothesis, indexed by start hop modulo the ring size */
	uint16_t count[PROMPT_MAX_HOPS + 2];
	uint16_t count_tail[PROMPT_MAX_HOPS + 2];
	float corr[PROMPT_MAX_HOPS];	/* scratch: this block against every reference frame */
};

/* ref must outlive the detector. */
void prompt_detector_init(struct prompt_detector *d, const struct prompt_ref *ref);

/*
 * One 20 ms block of PBX -> caller audio. Returns true from the block in
 * which the prompt is recognised on (and for every later push).
 */
bool prompt_detector_push(struct prompt_detector *d, const int16_t block[PROMPT_BLOCK]);

/*
 * The best share of matched frames any complete pass of the prompt reached
 * so far (0..1; detection needs min_ratio). For tuning and for the alarm
 * that says how close an unannounced call came; it carries no content.
 */
float prompt_detector_best(const struct prompt_detector *d);

/*
 * Load a prompt as linear 8 kHz samples: a WAV file (PCM, 16-bit, mono,
 * 8000 Hz) or raw G.711 by extension (.alaw, .ulaw). On success *ret
 * (malloc'd, the caller frees) and *ret_n are set and 0 returned; else a
 * negative errno and a message in err saying what was wrong.
 */
int prompt_load(const char *path, int16_t **ret, size_t *ret_n, char *err, size_t errsize);

#endif
