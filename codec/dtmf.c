// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * DTMF detector and masking delay line. See dtmf.h for the frame size and
 * the frequency measurement; the thresholds below say why they are what
 * they are.
 *
 * Thread: all functions run on the recording worker that owns the object.
 */
#include <math.h>
#include <string.h>

#include "codec/dsp.h"
#include "codec/dtmf.h"

static const double dtmf_freq[DTMF_NFREQ] = {
	697.0, 770.0, 852.0, 941.0,		/* rows (low group) */
	1209.0, 1336.0, 1477.0, 1633.0,		/* columns (high group) */
};

static const char dtmf_digit[16] = {
	'1', '2', '3', 'A',
	'4', '5', '6', 'B',
	'7', '8', '9', 'C',
	'*', '0', '#', 'D',
};

/*
 * Two stages. Each frame is screened by the Goertzel bank (cheap, but a
 * 102-sample rectangular window lets the two tones leak into each other's
 * bins by up to +-30 % in power, and an offset tone loses up to 1.7 dB), so
 * the screen has slack on level and twist. A digit is declared only after a
 * least-squares fit of the two tones, at their measured frequencies, over
 * the last two frames (204 samples): leakage-free amplitudes give the exact
 * level and twist, and the residual says whether a steady dual tone filled
 * both frames, which is how a 20 ms burst (at most 160 of 204 samples,
 * residual >= 22 %) is told from a 40 ms tone (residual a few %).
 *
 * Weakest tone accepted, per frequency: -42 dBFS (about -39 dBm0), a few dB
 * under the -36 dBm0 per tone that detectors are asked to accept.
 */
#define DTMF_MIN_POWER		6.3e-5
/*
 * Every other tone of the group at least 6 dB below the strongest (screen).
 * Not more: a column 1.5 % low leaks into the next bin down through the
 * first sidelobe (-13 dB), and the row adds its own leakage on top.
 */
#define DTMF_DOMINANCE		3.98
/* Twist limits of Q.24: normal (low group louder) 8 dB, reverse 4 dB; the screen allows 2 dB more. */
#define DTMF_TWIST_NORMAL	6.31
#define DTMF_TWIST_REVERSE	2.51
#define DTMF_SCREEN_SLACK	1.58
/*
 * The two tones carry at least this share of the frame's energy. A clean
 * dual tone after A-law scores 0.86-1.06 once the offset loss is undone;
 * voiced speech spreads its energy over many harmonics and scores far less.
 */
#define DTMF_MIN_SHARE		0.70
/*
 * Both halves of the frame hold similar energy: a steady tone does (the
 * beat of the two tones moves it by up to +-25 %), a frame the tone covers
 * less than ~3/4 of does not.
 */
#define DTMF_HALF_BALANCE	0.50
/* Residual of the two-tone fit over two frames, relative to their energy: 10 % (-10 dB). */
#define DTMF_MAX_RESIDUAL	0.10
/*
 * Second harmonic of the column tone at least 13 dB down. Only the column:
 * the row tones' harmonics (1394-1882 Hz) fall among the column tones, so
 * at this resolution a row harmonic cannot be told from a column tone.
 */
#define DTMF_HARMONIC2		0.05
/*
 * Frequency tolerance: Q.24 accepts +-(1.5 % + 2 Hz) and rejects beyond
 * +-3.5 %; the line is drawn half way. The coarse (half-frame) estimate is
 * noisier, so a frame judged by it alone passes a loose limit only, and a
 * digit needs a second frame judged by the fine estimate.
 */
#define DTMF_TOL_REL		0.025
#define DTMF_TOL_ABS		2.0
#define DTMF_COARSE_REL		0.05
#define DTMF_COARSE_ABS		20.0
#define DTMF_ACCEPT_REL		0.015
#define DTMF_ACCEPT_ABS		2.0
/* Frames without the digit that end it: 3 (38 ms), so a 10 ms drop-out (2 frames at most) does not. */
#define DTMF_END_MISSES		3

#define FULL_SCALE_SQ		(32768.0 * 32768.0)

void dtmf_detector_init(struct dtmf_detector *d)
{
	memset(d, 0, sizeof(*d));
	for (unsigned int f = 0; f < DTMF_NFREQ; f++) {
		double w = 2.0 * M_PI * dtmf_freq[f] / DTMF_RATE;

		d->coeff[f] = (float)(2.0 * cos(w));
		d->cos_w[f] = (float)cos(w);
		d->sin_w[f] = (float)sin(w);
		d->rot_half_re[f] = (float)cos(w * (DTMF_HALF - 1));
		d->rot_half_im[f] = (float)-sin(w * (DTMF_HALF - 1));
		d->rot_m_re[f] = (float)cos(w * DTMF_HALF);
		d->rot_m_im[f] = (float)-sin(w * DTMF_HALF);
	}
}

bool dtmf_detector_active(const struct dtmf_detector *d)
{
	return d->cur != 0;
}

/*
 * Built for generic x86-64 the eight recurrences take two SSE registers per
 * state; an AVX2/FMA clone holds each in one and fuses the multiply-add,
 * measured ≈ 14 µs vs 34 µs per channel-second (notes/perf.md). The loader
 * picks the clone for the CPU it runs on, so the binary stays portable.
 * GCC only: clang's target_clones came late and differs.
 */
#if defined(__x86_64__) && defined(__GNUC__) && !defined(__clang__)
#define DTMF_CLONES	__attribute__((target_clones("arch=x86-64-v3", "default")))
#else
#define DTMF_CLONES
#endif

/*
 * The DFT of one half at the 8 frequencies, relative to the half's first
 * sample: X = e^{-jw(M-1)} (s1 - e^{-jw} s2). The eight recurrences run
 * side by side so the compiler can keep them in vector registers.
 */
DTMF_CLONES static void dtmf_half_dft(const struct dtmf_detector *d, const int16_t *x,
			  float re[DTMF_NFREQ], float im[DTMF_NFREQ])
{
	float s1[DTMF_NFREQ] = { 0 }, s2[DTMF_NFREQ] = { 0 };

	for (unsigned int i = 0; i < DTMF_HALF; i++) {
		float v = (float)x[i];

		for (unsigned int f = 0; f < DTMF_NFREQ; f++) {
			float s0 = v + d->coeff[f] * s1[f] - s2[f];

			s2[f] = s1[f];
			s1[f] = s0;
		}
	}
	for (unsigned int f = 0; f < DTMF_NFREQ; f++) {
		float yr = s1[f] - d->cos_w[f] * s2[f];
		float yi = d->sin_w[f] * s2[f];

		re[f] = d->rot_half_re[f] * yr - d->rot_half_im[f] * yi;
		im[f] = d->rot_half_re[f] * yi + d->rot_half_im[f] * yr;
	}
}

static double dtmf_wrap(double phi)
{
	phi = fmod(phi + M_PI, 2.0 * M_PI);
	if (phi < 0.0)
		phi += 2.0 * M_PI;
	return phi - M_PI;
}

/* Power lost by an N-sample DFT to a tone delta rad/sample off its bin. */
static double dtmf_offset_gain(double delta)
{
	double den = DTMF_FRAME * sin(delta / 2.0);

	if (fabs(den) < 1e-9)
		return 1.0;
	den = sin(delta * DTMF_FRAME / 2.0) / den;
	return den * den;
}

/*
 * Offset of tone f from its nominal frequency, in Hz: coarse from the phase
 * advance between the halves, refined by the advance since the previous
 * frame when that one saw the same digit (102 samples apart: 4x finer, but
 * ambiguous by 78 Hz, which the coarse value resolves). Sets *fine.
 */
static double dtmf_offset(const struct dtmf_detector *d, unsigned int f,
			  const float h1r[], const float h1i[], const float h2r[], const float h2i[],
			  const float xr[], const float xi[], bool use_prev, bool *fine)
{
	double w = 2.0 * M_PI * dtmf_freq[f] / DTMF_RATE;
	double cr = (double)h2r[f] * h1r[f] + (double)h2i[f] * h1i[f];
	double ci = (double)h2i[f] * h1r[f] - (double)h2r[f] * h1i[f];
	double coarse = dtmf_wrap(atan2(ci, cr) - w * DTMF_HALF) / DTMF_HALF;
	double pr, pi, phi, k;

	*fine = false;
	if (!use_prev)
		return coarse * DTMF_RATE / (2.0 * M_PI);

	pr = (double)xr[f] * d->prev_re[f] + (double)xi[f] * d->prev_im[f];
	pi = (double)xi[f] * d->prev_re[f] - (double)xr[f] * d->prev_im[f];
	phi = dtmf_wrap(atan2(pi, pr) - w * DTMF_FRAME);
	k = round((coarse * DTMF_FRAME - phi) / (2.0 * M_PI));
	*fine = true;
	return (phi + 2.0 * M_PI * k) / DTMF_FRAME * DTMF_RATE / (2.0 * M_PI);
}

static double dtmf_compensate(unsigned int f, double power, double offset_hz)
{
	double lim = dtmf_freq[f] * DTMF_ACCEPT_REL + DTMF_ACCEPT_ABS;

	/* undo only what an accepted offset can cost, so a bad estimate cannot inflate a tone */
	if (offset_hz > lim)
		offset_hz = lim;
	if (offset_hz < -lim)
		offset_hz = -lim;
	return power / dtmf_offset_gain(2.0 * M_PI * offset_hz / DTMF_RATE);
}

/* Judge one full frame: the digit it shows, or 0. Updates prev_*. */
static char dtmf_frame_judge(struct dtmf_detector *d)
{
	float h1r[DTMF_NFREQ], h1i[DTMF_NFREQ], h2r[DTMF_NFREQ], h2i[DTMF_NFREQ];
	float xr[DTMF_NFREQ], xi[DTMF_NFREQ];
	double p[DTMF_NFREQ], e1, e2, energy, off_r, off_c, pr, pc, tol;
	unsigned int row = 0, col = 4;
	bool fine_r, fine_c, use_prev;
	char digit = 0, prev_hit = d->prev_hit;

	dtmf_half_dft(d, d->frame, h1r, h1i);
	dtmf_half_dft(d, d->frame + DTMF_HALF, h2r, h2i);
	for (unsigned int f = 0; f < DTMF_NFREQ; f++) {
		xr[f] = h1r[f] + d->rot_m_re[f] * h2r[f] - d->rot_m_im[f] * h2i[f];
		xi[f] = h1i[f] + d->rot_m_re[f] * h2i[f] + d->rot_m_im[f] * h2r[f];
		p[f] = 2.0 * ((double)xr[f] * xr[f] + (double)xi[f] * xi[f]) /
		       ((double)DTMF_FRAME * DTMF_FRAME) / FULL_SCALE_SQ;
	}

	for (unsigned int f = 1; f < 4; f++)
		if (p[f] > p[row])
			row = f;
	for (unsigned int f = 5; f < 8; f++)
		if (p[f] > p[col])
			col = f;

	/* cheapest rejections first: level, dominance, balance */
	if (p[row] < DTMF_MIN_POWER / 4.0 || p[col] < DTMF_MIN_POWER / 4.0)
		goto out;
	for (unsigned int f = 0; f < DTMF_NFREQ; f++) {
		if (f == row || f == col)
			continue;
		if (p[f] * DTMF_DOMINANCE > (f < 4 ? p[row] : p[col]))
			goto out;
	}
	e1 = dsp_energy(d->frame, DTMF_HALF, 1);
	e2 = dsp_energy(d->frame + DTMF_HALF, DTMF_HALF, 1);
	if (fmin(e1, e2) < DTMF_HALF_BALANCE * fmax(e1, e2))
		goto out;
	energy = (e1 + e2) / 2.0;

	digit = dtmf_digit[row * 4 + (col - 4)];
	use_prev = prev_hit == digit;
	off_r = dtmf_offset(d, row, h1r, h1i, h2r, h2i, xr, xi, use_prev, &fine_r);
	off_c = dtmf_offset(d, col, h1r, h1i, h2r, h2i, xr, xi, use_prev, &fine_c);
	if (fine_r) {
		tol = dtmf_freq[row] * DTMF_TOL_REL + DTMF_TOL_ABS;
		if (fabs(off_r) > tol || fabs(off_c) > dtmf_freq[col] * DTMF_TOL_REL + DTMF_TOL_ABS)
			goto reject;
	} else {
		tol = dtmf_freq[row] * DTMF_COARSE_REL + DTMF_COARSE_ABS;
		if (fabs(off_r) > tol || fabs(off_c) > dtmf_freq[col] * DTMF_COARSE_REL + DTMF_COARSE_ABS)
			goto reject;
	}

	pr = dtmf_compensate(row, p[row], off_r);
	pc = dtmf_compensate(col, p[col], off_c);
	if (pr * DTMF_SCREEN_SLACK < DTMF_MIN_POWER || pc * DTMF_SCREEN_SLACK < DTMF_MIN_POWER)
		goto reject;
	if (pr > pc * DTMF_TWIST_NORMAL * DTMF_SCREEN_SLACK ||
	    pc > pr * DTMF_TWIST_REVERSE * DTMF_SCREEN_SLACK)
		goto reject;
	if (pr + pc < DTMF_MIN_SHARE * energy)
		goto reject;
	if (dsp_goertzel_power(d->frame, DTMF_FRAME, 1, 2.0 * dtmf_freq[col], DTMF_RATE) >
	    DTMF_HARMONIC2 * p[col])
		goto reject;
	d->hit_row = row;
	d->hit_col = col;
	d->hit_off_row = (float)off_r;
	d->hit_off_col = (float)off_c;
	goto out;

reject:
	digit = 0;
out:
	memcpy(d->prev_re, xr, sizeof(xr));
	memcpy(d->prev_im, xi, sizeof(xi));
	d->prev_hit = digit;
	return digit;
}

/* Rotate the two oscillators (cos, sin) one sample on. */
static void dtmf_osc_step(double c[2], double s[2], const double cs[2], const double sn[2])
{
	for (int k = 0; k < 2; k++) {
		double cn = c[k] * cs[k] - s[k] * sn[k];

		s[k] = s[k] * cs[k] + c[k] * sn[k];
		c[k] = cn;
	}
}

/*
 * The least-squares fit of the hit's two tones over the previous and the
 * current frame: amplitudes for the exact level and twist, residual for
 * "a steady dual tone filled both". Runs once per candidate digit.
 */
static bool dtmf_pair_confirm(const struct dtmf_detector *d)
{
	double g[4][5] = { { 0 } }, total = 0.0, res = 0.0, amp2[2], coef[4];
	double c[2] = { 1.0, 1.0 }, s[2] = { 0.0, 0.0 }, cs[2], sn[2];

	cs[0] = cos(2.0 * M_PI * (dtmf_freq[d->hit_row] + d->hit_off_row) / DTMF_RATE);
	sn[0] = sin(2.0 * M_PI * (dtmf_freq[d->hit_row] + d->hit_off_row) / DTMF_RATE);
	cs[1] = cos(2.0 * M_PI * (dtmf_freq[d->hit_col] + d->hit_off_col) / DTMF_RATE);
	sn[1] = sin(2.0 * M_PI * (dtmf_freq[d->hit_col] + d->hit_off_col) / DTMF_RATE);

	/* normal equations of x[n] ~ a cos(w0 n) + b sin(w0 n) + c cos(w1 n) + d sin(w1 n) */
	for (unsigned int n = 0; n < 2 * DTMF_FRAME; n++) {
		double x = n < DTMF_FRAME ? d->prev_frame[n] : d->frame[n - DTMF_FRAME];
		double b[4] = { c[0], s[0], c[1], s[1] };

		for (int i = 0; i < 4; i++) {
			for (int j = i; j < 4; j++)
				g[i][j] += b[i] * b[j];
			g[i][4] += b[i] * x;
		}
		total += x * x;
		dtmf_osc_step(c, s, cs, sn);
	}
	if (total <= 0.0)
		return false;
	for (int i = 0; i < 4; i++)
		for (int j = 0; j < i; j++)
			g[i][j] = g[j][i];
	/* the matrix is symmetric positive definite for two distinct frequencies: no pivoting */
	for (int i = 0; i < 4; i++) {
		if (g[i][i] < 1e-6)
			return false;
		for (int r = i + 1; r < 4; r++) {
			double f = g[r][i] / g[i][i];

			for (int j = i; j < 5; j++)
				g[r][j] -= f * g[i][j];
		}
	}
	for (int i = 3; i >= 0; i--) {
		double v = g[i][4];

		for (int j = i + 1; j < 4; j++)
			v -= g[i][j] * coef[j];
		coef[i] = v / g[i][i];
	}

	c[0] = c[1] = 1.0;
	s[0] = s[1] = 0.0;
	for (unsigned int n = 0; n < 2 * DTMF_FRAME; n++) {
		double x = n < DTMF_FRAME ? d->prev_frame[n] : d->frame[n - DTMF_FRAME];
		double e = x - coef[0] * c[0] - coef[1] * s[0] - coef[2] * c[1] - coef[3] * s[1];

		res += e * e;
		dtmf_osc_step(c, s, cs, sn);
	}
	/* on dsp.h's scale: a sine of amplitude A has power A^2/2 */
	amp2[0] = (coef[0] * coef[0] + coef[1] * coef[1]) / (2.0 * FULL_SCALE_SQ);
	amp2[1] = (coef[2] * coef[2] + coef[3] * coef[3]) / (2.0 * FULL_SCALE_SQ);
	if (res > DTMF_MAX_RESIDUAL * total)
		return false;
	if (amp2[0] < DTMF_MIN_POWER || amp2[1] < DTMF_MIN_POWER)
		return false;
	if (amp2[0] > amp2[1] * DTMF_TWIST_NORMAL || amp2[1] > amp2[0] * DTMF_TWIST_REVERSE)
		return false;
	return true;
}

/* One frame's verdict through the state machine; returns a newly declared digit. */
static char dtmf_frame_step(struct dtmf_detector *d, char hit, uint64_t frame_start)
{
	uint64_t frame_end = frame_start + DTMF_FRAME;
	char declared = 0;

	if (hit && hit == d->run_digit) {
		d->run++;
	} else {
		d->run_digit = hit;
		d->run = hit ? 1 : 0;
		d->run_start = frame_start;
	}

	if (d->cur) {
		if (hit == d->cur) {
			d->miss = 0;
			/* the tone may last into the next frame; then the guard */
			d->mask_until = frame_end + DTMF_FRAME + DTMF_GUARD_SAMPLES;
		} else if (++d->miss >= DTMF_END_MISSES) {
			d->cur = 0;
		}
	}
	if (!d->cur && hit && d->run >= 2 && dtmf_pair_confirm(d)) {
		d->cur = hit;
		d->miss = 0;
		declared = hit;
		d->mask_from = d->run_start > DTMF_PRE_SAMPLES ? d->run_start - DTMF_PRE_SAMPLES : 0;
		d->mask_until = frame_end + DTMF_FRAME + DTMF_GUARD_SAMPLES;
		d->mask_valid = true;
	}
	return declared;
}

char dtmf_detector_push(struct dtmf_detector *d, const int16_t *x, size_t n)
{
	char declared = 0;

	while (n > 0) {
		size_t take = DTMF_FRAME - d->fill;

		if (take > n)
			take = n;
		memcpy(d->frame + d->fill, x, take * sizeof(*x));
		d->fill += take;
		d->pos += take;
		x += take;
		n -= take;
		if (d->fill == DTMF_FRAME) {
			char hit = dtmf_frame_judge(d);
			char got = dtmf_frame_step(d, hit, d->pos - DTMF_FRAME);

			if (got)
				declared = got;
			memcpy(d->prev_frame, d->frame, sizeof(d->frame));
			d->fill = 0;
		}
	}
	return declared;
}

void dtmf_masker_init(struct dtmf_masker *m)
{
	memset(m, 0, sizeof(*m));
	dtmf_detector_init(&m->det);
}

/* Mark every held block that overlaps [from, until). */
static void dtmf_masker_mark(struct dtmf_masker *m, uint64_t from, uint64_t until)
{
	for (unsigned int i = 0; i < m->count; i++) {
		unsigned int slot = (m->head + i) % (DTMF_MASK_DELAY + 1);
		uint64_t s = m->start[slot];

		if (s < until && s + DTMF_BLOCK > from)
			m->masked[slot] = true;
	}
}

static void dtmf_masker_pop(struct dtmf_masker *m, int16_t out[DTMF_BLOCK], bool *ret_masked)
{
	unsigned int slot = m->head;

	if (m->masked[slot])
		memset(out, 0, DTMF_BLOCK * sizeof(*out));
	else
		memcpy(out, m->line[slot], DTMF_BLOCK * sizeof(*out));
	if (ret_masked)
		*ret_masked = m->masked[slot];
	m->head = (m->head + 1) % (DTMF_MASK_DELAY + 1);
	m->count--;
}

bool dtmf_masker_push(struct dtmf_masker *m, const int16_t in[DTMF_BLOCK],
		      int16_t out[DTMF_BLOCK], char *ret_digit, bool *ret_masked)
{
	unsigned int slot = (m->head + m->count) % (DTMF_MASK_DELAY + 1);
	char digit;

	memcpy(m->line[slot], in, DTMF_BLOCK * sizeof(*in));
	m->start[slot] = m->pushed * DTMF_BLOCK;
	m->masked[slot] = false;
	m->count++;
	m->pushed++;

	digit = dtmf_detector_push(&m->det, in, DTMF_BLOCK);
	if (m->det.mask_valid)
		dtmf_masker_mark(m, m->det.mask_from, m->det.mask_until);
	if (ret_digit)
		*ret_digit = digit;

	if (m->count <= DTMF_MASK_DELAY) {
		if (ret_masked)
			*ret_masked = false;
		return false;
	}
	dtmf_masker_pop(m, out, ret_masked);
	return true;
}

int dtmf_masker_flush(struct dtmf_masker *m, int16_t out[DTMF_BLOCK], bool *ret_masked)
{
	struct dtmf_detector *d = &m->det;

	if (m->count == 0)
		return 0;
	/* fail closed: a tone still on, or seen but not yet confirmed, is masked to the end */
	if (d->cur)
		dtmf_masker_mark(m, d->mask_from, UINT64_MAX);
	if (d->run_digit && !d->cur)
		dtmf_masker_mark(m, d->run_start > DTMF_PRE_SAMPLES ? d->run_start - DTMF_PRE_SAMPLES : 0,
				 UINT64_MAX);
	dtmf_masker_pop(m, out, ret_masked);
	return 1;
}
