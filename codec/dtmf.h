/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * DTMF detection (ITU-T Q.23/Q.24 tones) and masking for the recording path.
 *
 * Digits are secrets here (card numbers, PINs): the detector hands a digit
 * only to its caller, which passes it to the agent-code matcher and nowhere
 * else; nothing in this module logs or stores one.
 *
 * Analysis frame: 102 samples (12.75 ms), split in two halves of 51.
 * Why 102 and not 80: at 102 samples the bin spacing is 78.4 Hz, so the
 * neighbouring DTMF frequency of each tone (73-89 Hz away within a group)
 * falls near the first null of the Goertzel response; at 80 samples it
 * would leak at -10 dB and eat the margin of the "one tone clearly
 * dominant" test. The worst accepted offset (1.5 % + 2 Hz: 26.5 Hz at
 * 1633 Hz) costs at most 1.7 dB, and is compensated once the offset is
 * measured. A 40 ms tone (320 samples) always contains two whole frames,
 * which is what the "two consecutive analyses" rule needs. Before a digit
 * is declared, the two tones are fitted (least squares) over the two
 * frames: a 20 ms burst fills at most 160 of their 204 samples and leaves a
 * residual no steady tone does, so it is rejected (see dtmf.c).
 *
 * Frequency tolerance needs more than a level test (3.5 % of 697 Hz is only
 * 0.3 bin): the phase advance of each tone between the two halves of a
 * frame gives a coarse offset, the phase advance between two consecutive
 * frames a fine one; a digit is declared only when the fine offset is
 * inside the tolerance.
 *
 * Everything is fixed size and embedded in the caller's struct; nothing
 * allocates, blocks or logs. One detector or masker per direction of a
 * call, used by one thread (the recording worker that owns the call).
 */
#ifndef TRUNKREC_CODEC_DTMF_H
#define TRUNKREC_CODEC_DTMF_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define DTMF_RATE		8000
#define DTMF_BLOCK		160	/* samples per 20 ms engine block */
#define DTMF_FRAME		102	/* analysis frame, see above */
#define DTMF_HALF		(DTMF_FRAME / 2)
#define DTMF_NFREQ		8
/* Silence after a tone's end that is still masked (40 ms). */
#define DTMF_GUARD_SAMPLES	320
/*
 * Masked before the first analysis that saw the tone: the frame in which
 * the tone began only partly, and one more for a first whole frame that
 * noise spoiled (2 frames, 25.5 ms).
 */
#define DTMF_PRE_SAMPLES	(2 * DTMF_FRAME)
/* Blocks the masker holds back: 60 ms covers the detection lag (~38 ms) plus the pre-margin. */
#define DTMF_MASK_DELAY		3

struct dtmf_detector {
	/* constants, per frequency, set by init */
	float coeff[DTMF_NFREQ];		/* 2 cos w */
	float cos_w[DTMF_NFREQ], sin_w[DTMF_NFREQ];
	float rot_half_re[DTMF_NFREQ], rot_half_im[DTMF_NFREQ];	/* e^{-jw(M-1)} */
	float rot_m_re[DTMF_NFREQ], rot_m_im[DTMF_NFREQ];	/* e^{-jwM} */

	int16_t frame[DTMF_FRAME];
	int16_t prev_frame[DTMF_FRAME];		/* for the two-frame fit */
	unsigned int fill;
	uint64_t pos;				/* samples consumed so far */

	/* the previous frame, for the fine frequency estimate */
	float prev_re[DTMF_NFREQ], prev_im[DTMF_NFREQ];
	char prev_hit;				/* digit the previous frame passed as, or 0 */
	/* the last hit's tones and measured offsets (Hz) */
	unsigned int hit_row, hit_col;
	float hit_off_row, hit_off_col;

	/* state machine */
	char run_digit;				/* digit of the current run of hits */
	unsigned int run;			/* consecutive frames with run_digit */
	uint64_t run_start;			/* first sample of the run's first frame */
	char cur;				/* digit being received, 0 when none */
	unsigned int miss;			/* frames without cur since its last hit */

	/* what the masker must silence: [mask_from, mask_until) in samples */
	uint64_t mask_from, mask_until;
	bool mask_valid;
};

/* Reset to "no tone"; sample 0 is the next one pushed. */
void dtmf_detector_init(struct dtmf_detector *d);

/*
 * Feed n samples (any n). Returns the digit ('0'-'9', '*', '#', 'A'-'D')
 * when one was declared within these samples, else 0. At most one digit
 * per 160 samples can be declared; if n is larger, only the last is
 * returned.
 */
char dtmf_detector_push(struct dtmf_detector *d, const int16_t *x, size_t n);

/* True while a declared tone lasts (its end is seen ~3 frames late). */
bool dtmf_detector_active(const struct dtmf_detector *d);

/*
 * The delay line the recorder puts in front of storage: each block comes
 * back DTMF_MASK_DELAY blocks late, replaced by zeros (linear silence) when
 * it overlaps a detected tone, its pre-margin or its guard time.
 */
struct dtmf_masker {
	struct dtmf_detector det;
	int16_t line[DTMF_MASK_DELAY + 1][DTMF_BLOCK];
	bool masked[DTMF_MASK_DELAY + 1];
	uint64_t start[DTMF_MASK_DELAY + 1];	/* first sample of each held block */
	unsigned int head;			/* oldest held block */
	unsigned int count;			/* blocks held */
	uint64_t pushed;			/* blocks pushed so far */
};

void dtmf_masker_init(struct dtmf_masker *m);

/*
 * Push one block. Returns true when out holds a block (every push after
 * the first DTMF_MASK_DELAY): the block pushed DTMF_MASK_DELAY pushes ago,
 * silenced when *ret_masked. *ret_digit is the digit newly detected in
 * this push, else 0. ret_digit and ret_masked may be NULL.
 */
bool dtmf_masker_push(struct dtmf_masker *m, const int16_t in[DTMF_BLOCK],
		      int16_t out[DTMF_BLOCK], char *ret_digit, bool *ret_masked);

/*
 * At the end of a recording: returns 1 and writes the next held block to
 * out (masked as needed), or 0 when the delay line is empty. Call until it
 * returns 0. Fails closed: a tone seen in the last analyses but not yet
 * confirmed is masked too.
 */
int dtmf_masker_flush(struct dtmf_masker *m, int16_t out[DTMF_BLOCK], bool *ret_masked);

#endif
