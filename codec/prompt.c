// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Announcement fingerprint and streaming matcher; the prompt file loader.
 * See prompt.h for the method and which thread calls what.
 */
#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <sys/stat.h>
#include <unistd.h>

#include "codec/dsp.h"
#include "codec/g711.h"
#include "codec/prompt.h"

#define PROMPT_LO_HZ		300.0
#define PROMPT_HI_HZ		3400.0
/* Band powers below the frame's strongest band by more than 50 dB are floored: quantisation noise is not content. */
#define PROMPT_BAND_FLOOR	1e-5
/* Frames quieter than -55 dBFS carry no fingerprint (idle line, A-law noise). */
#define PROMPT_MIN_DB		-55.0
/* Reference frames more than 30 dB under the prompt's loudest are pauses: not matched, not counted. */
#define PROMPT_PAUSE_DB		30.0
/* The least sound a reference must have: 0.5 s of voiced frames. */
#define PROMPT_MIN_VOICED	50
#define PROMPT_RING		(PROMPT_MAX_HOPS + 2)
/*
 * The end of the span must match as well as the whole (min_ratio of its
 * voiced frames): its last fifth, at most 0.5 s. Without this a prompt cut
 * at 85 % would still pass an 80 % rule, and a prompt cut short must not
 * count as played.
 */
#define PROMPT_TAIL_HOPS	50

void prompt_config_default(struct prompt_config *cfg)
{
	cfg->min_ratio = 0.8;
	cfg->min_corr = 0.6;
	cfg->span_ms = 0;
	cfg->tolerance_ms = 40;
}

static void prompt_tables_init(struct prompt_ref *ref)
{
	unsigned int bits = 0;

	while ((1u << bits) < PROMPT_FFT)
		bits++;
	for (unsigned int i = 0; i < PROMPT_BLOCK; i++)
		ref->window[i] = (float)(0.5 - 0.5 * cos(2.0 * M_PI * (i + 0.5) / PROMPT_BLOCK));
	for (unsigned int k = 0; k < PROMPT_FFT / 2; k++) {
		ref->tw_re[k] = (float)cos(2.0 * M_PI * k / PROMPT_FFT);
		ref->tw_im[k] = (float)-sin(2.0 * M_PI * k / PROMPT_FFT);
	}
	for (unsigned int i = 0; i < PROMPT_FFT; i++) {
		unsigned int r = 0;

		for (unsigned int b = 0; b < bits; b++)
			if (i & (1u << b))
				r |= 1u << (bits - 1 - b);
		ref->bitrev[i] = (uint8_t)r;
	}
	/* log-spaced bands, each at least one bin wide */
	for (unsigned int b = 0; b < PROMPT_NBANDS; b++) {
		double lo = PROMPT_LO_HZ * pow(PROMPT_HI_HZ / PROMPT_LO_HZ, (double)b / PROMPT_NBANDS);
		double hi = PROMPT_LO_HZ * pow(PROMPT_HI_HZ / PROMPT_LO_HZ, (double)(b + 1) / PROMPT_NBANDS);
		double bin = (double)PROMPT_RATE / PROMPT_FFT;

		ref->band_lo[b] = (uint16_t)ceil(lo / bin);
		ref->band_hi[b] = (uint16_t)floor(hi / bin);
		if (b > 0 && ref->band_lo[b] <= ref->band_hi[b - 1])
			ref->band_lo[b] = ref->band_hi[b - 1] + 1;
		if (ref->band_hi[b] < ref->band_lo[b])
			ref->band_hi[b] = ref->band_lo[b];
	}
}

/* In-place radix-2 complex FFT of PROMPT_FFT points. */
static void prompt_fft(const struct prompt_ref *ref, float re[PROMPT_FFT], float im[PROMPT_FFT])
{
	for (unsigned int i = 0; i < PROMPT_FFT; i++) {
		unsigned int r = ref->bitrev[i];

		if (r > i) {
			float t = re[i];

			re[i] = re[r];
			re[r] = t;
			t = im[i];
			im[i] = im[r];
			im[r] = t;
		}
	}
	for (unsigned int len = 2; len <= PROMPT_FFT; len <<= 1) {
		unsigned int half = len / 2, step = PROMPT_FFT / len;

		for (unsigned int i = 0; i < PROMPT_FFT; i += len) {
			for (unsigned int j = 0; j < half; j++) {
				float wr = ref->tw_re[j * step], wi = ref->tw_im[j * step];
				float vr = re[i + j + half] * wr - im[i + j + half] * wi;
				float vi = re[i + j + half] * wi + im[i + j + half] * wr;

				re[i + j + half] = re[i + j] - vr;
				im[i + j + half] = im[i + j] - vi;
				re[i + j] += vr;
				im[i + j] += vi;
			}
		}
	}
}

/*
 * Log band spectrum of one 160-sample frame, its mean over the bands
 * removed. Returns false when the frame is too quiet to say anything.
 */
static bool prompt_logspec(const struct prompt_ref *ref, const int16_t *x, float out[PROMPT_NBANDS],
			   double *ret_db)
{
	float re[PROMPT_FFT], im[PROMPT_FFT];
	double pw[PROMPT_NBANDS], top = 0.0, mean = 0.0, db;

	db = dsp_db(dsp_energy(x, PROMPT_BLOCK, 1));
	if (ret_db)
		*ret_db = db;
	if (db < PROMPT_MIN_DB)
		return false;
	for (unsigned int i = 0; i < PROMPT_BLOCK; i++) {
		re[i] = (float)x[i] * ref->window[i];
		im[i] = 0.0f;
	}
	for (unsigned int i = PROMPT_BLOCK; i < PROMPT_FFT; i++)
		re[i] = im[i] = 0.0f;
	prompt_fft(ref, re, im);

	for (unsigned int b = 0; b < PROMPT_NBANDS; b++) {
		double sum = 0.0;

		for (unsigned int k = ref->band_lo[b]; k <= ref->band_hi[b]; k++)
			sum += (double)re[k] * re[k] + (double)im[k] * im[k];
		pw[b] = sum / (ref->band_hi[b] - ref->band_lo[b] + 1);
		if (pw[b] > top)
			top = pw[b];
	}
	if (top <= 0.0)
		return false;
	for (unsigned int b = 0; b < PROMPT_NBANDS; b++) {
		out[b] = (float)(10.0 * log10(pw[b] + top * PROMPT_BAND_FLOOR));
		mean += out[b];
	}
	mean /= PROMPT_NBANDS;
	for (unsigned int b = 0; b < PROMPT_NBANDS; b++)
		out[b] -= (float)mean;
	return true;
}

/* Remove the prompt's long-term spectrum, scale to unit length. */
static bool prompt_finish(const struct prompt_ref *ref, float v[PROMPT_NBANDS])
{
	double norm = 0.0;

	for (unsigned int b = 0; b < PROMPT_NBANDS; b++) {
		v[b] -= ref->mean[b];
		norm += (double)v[b] * v[b];
	}
	if (norm < 1e-6)
		return false;
	norm = 1.0 / sqrt(norm);
	for (unsigned int b = 0; b < PROMPT_NBANDS; b++)
		v[b] = (float)(v[b] * norm);
	return true;
}

void prompt_ref_free(struct prompt_ref *ref)
{
	if (!ref)
		return;
	free(ref->feat);
	free(ref->voiced);
	memset(ref, 0, sizeof(*ref));
}

int prompt_ref_build(struct prompt_ref *ref, const int16_t *x, size_t n, const struct prompt_config *cfg)
{
	struct prompt_config def;
	float *spec = NULL;
	double *db = NULL, top = -200.0, pause;
	size_t all, first, last, span;
	unsigned int nvoiced = 0;
	int r = -ENOMEM;

	memset(ref, 0, sizeof(*ref));
	if (!cfg) {
		prompt_config_default(&def);
		cfg = &def;
	}
	if (!(cfg->min_ratio > 0.0 && cfg->min_ratio <= 1.0) ||
	    !(cfg->min_corr > -1.0 && cfg->min_corr < 1.0) || cfg->tolerance_ms > 200)
		return -EINVAL;
	if (!x || n < PROMPT_BLOCK)
		return -EINVAL;

	prompt_tables_init(ref);
	all = (n - PROMPT_BLOCK) / PROMPT_HOP + 1;
	spec = malloc(all * PROMPT_NBANDS * sizeof(*spec));
	db = malloc(all * sizeof(*db));
	if (!spec || !db)
		goto fail;

	for (size_t k = 0; k < all; k++) {
		if (!prompt_logspec(ref, x + k * PROMPT_HOP, spec + k * PROMPT_NBANDS, &db[k]))
			db[k] = -200.0;
		if (db[k] > top)
			top = db[k];
	}
	/* pauses: 30 dB under the loudest, or too quiet to fingerprint at all */
	pause = fmax(top - PROMPT_PAUSE_DB, PROMPT_MIN_DB);
	/* trim the pauses at both ends: they cannot be told from a line with nothing on it */
	for (first = 0; first < all && db[first] < pause; first++)
		;
	for (last = all; last > first && db[last - 1] < pause; last--)
		;
	span = last - first;
	if (cfg->span_ms && span > cfg->span_ms / 10)
		span = cfg->span_ms / 10;
	if (span > PROMPT_MAX_HOPS)
		span = PROMPT_MAX_HOPS;

	ref->feat = malloc(span * PROMPT_NBANDS * sizeof(*ref->feat));
	ref->voiced = calloc(span ? span : 1, 1);
	if (!ref->feat || !ref->voiced)
		goto fail;
	ref->nhops = (unsigned int)span;
	ref->tail_start = (unsigned int)(span - (span / 5 < PROMPT_TAIL_HOPS ? span / 5 : PROMPT_TAIL_HOPS));

	for (size_t k = 0; k < span; k++) {
		if (db[first + k] < pause)
			continue;
		ref->voiced[k] = 1;
		nvoiced++;
		for (unsigned int b = 0; b < PROMPT_NBANDS; b++)
			ref->mean[b] += spec[(first + k) * PROMPT_NBANDS + b];
	}
	r = -EINVAL;
	if (nvoiced < PROMPT_MIN_VOICED)
		goto fail;
	for (unsigned int b = 0; b < PROMPT_NBANDS; b++)
		ref->mean[b] /= (float)nvoiced;
	for (size_t k = 0; k < span; k++) {
		float *f = ref->feat + k * PROMPT_NBANDS;

		memcpy(f, spec + (first + k) * PROMPT_NBANDS, PROMPT_NBANDS * sizeof(*f));
		if (ref->voiced[k] && !prompt_finish(ref, f))
			ref->voiced[k] = 0;
		if (ref->voiced[k])
			ref->voiced_total[k & 1]++;
		if (ref->voiced[k] && k >= ref->tail_start)
			ref->voiced_tail[k & 1]++;
	}
	ref->tol_hops = cfg->tolerance_ms / 10;
	ref->min_corr = (float)cfg->min_corr;
	ref->min_ratio = (float)cfg->min_ratio;
	free(spec);
	free(db);
	return 0;

fail:
	free(spec);
	free(db);
	prompt_ref_free(ref);
	return r;
}

float prompt_detector_best(const struct prompt_detector *d)
{
	return d->best;
}

void prompt_detector_init(struct prompt_detector *d, const struct prompt_ref *ref)
{
	d->ref = ref;
	d->t = 0;
	d->detected = false;
	d->best = 0.0f;
	memset(d->count, 0, sizeof(d->count));
	memset(d->count_tail, 0, sizeof(d->count_tail));
}

bool prompt_detector_push(struct prompt_detector *d, const int16_t block[PROMPT_BLOCK])
{
	const struct prompt_ref *ref = d->ref;
	unsigned int nh = ref->nhops, w = ref->tol_hops;
	uint64_t t2 = 2 * d->t;
	float f[PROMPT_NBANDS];
	bool valid;

	if (d->detected || nh == 0) {
		d->t++;
		return d->detected;
	}
	valid = prompt_logspec(ref, block, f, NULL) && prompt_finish(ref, f);
	for (unsigned int k = 0; k < nh; k++) {
		const float *r = ref->feat + (size_t)k * PROMPT_NBANDS;
		float c = 0.0f;

		if (valid)
			for (unsigned int b = 0; b < PROMPT_NBANDS; b++)
				c += f[b] * r[b];
		else
			c = -1.0f;
		d->corr[k] = c;
	}

	/* hypothesis a (prompt began at hop a of the live stream) expects reference frame 2t - a now */
	for (unsigned int k = 0; k < nh && k <= t2; k++) {
		unsigned int idx = (unsigned int)((t2 - k) % PROMPT_RING);

		if (k <= 1) {
			/* a hypothesis starts */
			d->count[idx] = 0;
			d->count_tail[idx] = 0;
		}
		if (ref->voiced[k]) {
			unsigned int lo = k > w ? k - w : 0, hi = k + w < nh ? k + w : nh - 1;
			float m = -1.0f;

			for (unsigned int j = lo; j <= hi; j++)
				if (d->corr[j] > m)
					m = d->corr[j];
			if (m >= ref->min_corr) {
				d->count[idx]++;
				if (k >= ref->tail_start)
					d->count_tail[idx]++;
			}
		}
		if (k + 2 >= nh && ref->voiced_total[k & 1] > 0) {
			/* a hypothesis completes: judged on the weaker of whole and tail */
			float whole = (float)d->count[idx] / (float)ref->voiced_total[k & 1];
			float tail = ref->voiced_tail[k & 1] ?
				     (float)d->count_tail[idx] / (float)ref->voiced_tail[k & 1] : 1.0f;
			float score = whole < tail ? whole : tail;

			if (score > d->best)
				d->best = score;
			if (score >= ref->min_ratio)
				d->detected = true;
		}
	}
	d->t++;
	return d->detected;
}

/* Little-endian readers for the WAV header. */
static unsigned int prompt_le16(const uint8_t *p)
{
	return p[0] | (unsigned int)p[1] << 8;
}

static uint32_t prompt_le32(const uint8_t *p)
{
	return p[0] | (uint32_t)p[1] << 8 | (uint32_t)p[2] << 16 | (uint32_t)p[3] << 24;
}

static int prompt_parse_wav(const char *path, const uint8_t *buf, size_t len, int16_t **ret, size_t *ret_n,
			    char *err, size_t errsize)
{
	size_t pos = 12;
	bool have_fmt = false;

	if (len < 12 || memcmp(buf, "RIFF", 4) != 0 || memcmp(buf + 8, "WAVE", 4) != 0) {
		snprintf(err, errsize, "%s: not a WAV file (no RIFF/WAVE header)", path);
		return -EINVAL;
	}
	while (pos + 8 <= len) {
		const uint8_t *id = buf + pos;
		size_t size = prompt_le32(buf + pos + 4), body = pos + 8;

		if (size > len - body) {
			snprintf(err, errsize, "%s: truncated WAV file (chunk '%.4s' runs past the end)", path,
				 (const char *)id);
			return -EINVAL;
		}
		if (memcmp(id, "fmt ", 4) == 0) {
			unsigned int tag, channels, bits;
			uint32_t rate;

			if (size < 16) {
				snprintf(err, errsize, "%s: WAV 'fmt ' chunk too short", path);
				return -EINVAL;
			}
			tag = prompt_le16(buf + body);
			channels = prompt_le16(buf + body + 2);
			rate = prompt_le32(buf + body + 4);
			bits = prompt_le16(buf + body + 14);
			/* WAVE_FORMAT_EXTENSIBLE: the real format is the sub-format GUID's first two bytes */
			if (tag == 0xFFFE && size >= 26)
				tag = prompt_le16(buf + body + 24);
			if (tag != 1) {
				snprintf(err, errsize, "%s: WAV format %u is not PCM; convert with: "
					 "sox IN -r 8000 -c 1 -b 16 -e signed OUT.wav", path, tag);
				return -EINVAL;
			}
			if (channels != 1) {
				snprintf(err, errsize, "%s: %u channels, need mono (sox IN -c 1 OUT.wav)", path,
					 channels);
				return -EINVAL;
			}
			if (rate != PROMPT_RATE) {
				snprintf(err, errsize, "%s: %u Hz, need 8000 Hz (sox IN -r 8000 OUT.wav)", path,
					 (unsigned int)rate);
				return -EINVAL;
			}
			if (bits != 16) {
				snprintf(err, errsize, "%s: %u-bit samples, need 16-bit (sox IN -b 16 OUT.wav)",
					 path, bits);
				return -EINVAL;
			}
			have_fmt = true;
		} else if (memcmp(id, "data", 4) == 0) {
			size_t n = size / 2;
			int16_t *s;

			if (!have_fmt) {
				snprintf(err, errsize, "%s: WAV 'data' before 'fmt ' chunk", path);
				return -EINVAL;
			}
			if (n == 0) {
				snprintf(err, errsize, "%s: no audio in the WAV file", path);
				return -EINVAL;
			}
			if (n > PROMPT_LOAD_MAX) {
				snprintf(err, errsize, "%s: prompt longer than %u s", path,
					 PROMPT_LOAD_MAX / PROMPT_RATE);
				return -EFBIG;
			}
			s = malloc(n * sizeof(*s));
			if (!s) {
				snprintf(err, errsize, "%s: out of memory", path);
				return -ENOMEM;
			}
			for (size_t i = 0; i < n; i++)
				s[i] = (int16_t)prompt_le16(buf + body + 2 * i);
			*ret = s;
			*ret_n = n;
			return 0;
		}
		pos = body + size + (size & 1);
	}
	snprintf(err, errsize, "%s: WAV file has no 'data' chunk", path);
	return -EINVAL;
}

int prompt_load(const char *path, int16_t **ret, size_t *ret_n, char *err, size_t errsize)
{
	const char *ext = strrchr(path, '.');
	enum { WAV, ALAW, ULAW } kind;
	uint8_t *buf = NULL;
	size_t len = 0, max;
	struct stat st;
	int fd, r;

	if (ext && strcasecmp(ext, ".wav") == 0) {
		kind = WAV;
	} else if (ext && strcasecmp(ext, ".alaw") == 0) {
		kind = ALAW;
	} else if (ext && strcasecmp(ext, ".ulaw") == 0) {
		kind = ULAW;
	} else {
		snprintf(err, errsize, "%s: unknown prompt format: use .wav (PCM 16-bit mono 8 kHz), "
			 ".alaw or .ulaw (raw G.711)", path);
		return -EINVAL;
	}
	max = kind == WAV ? 2 * (size_t)PROMPT_LOAD_MAX + 4096 : PROMPT_LOAD_MAX;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0) {
		r = -errno;
		snprintf(err, errsize, "%s: %s", path, strerror(-r));
		return r;
	}
	if (fstat(fd, &st) < 0) {
		r = -errno;
		snprintf(err, errsize, "%s: %s", path, strerror(-r));
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		r = -EINVAL;
		snprintf(err, errsize, "%s: not a regular file", path);
		goto out;
	}
	if ((size_t)st.st_size > max) {
		r = -EFBIG;
		snprintf(err, errsize, "%s: prompt longer than %u s", path, PROMPT_LOAD_MAX / PROMPT_RATE);
		goto out;
	}
	buf = malloc(st.st_size ? (size_t)st.st_size : 1);
	if (!buf) {
		r = -ENOMEM;
		snprintf(err, errsize, "%s: out of memory", path);
		goto out;
	}
	while (len < (size_t)st.st_size) {
		ssize_t got = read(fd, buf + len, (size_t)st.st_size - len);

		if (got < 0 && errno == EINTR)
			continue;
		if (got < 0) {
			r = -errno;
			snprintf(err, errsize, "%s: %s", path, strerror(-r));
			goto out;
		}
		if (got == 0)
			break;
		len += (size_t)got;
	}

	if (kind == WAV) {
		r = prompt_parse_wav(path, buf, len, ret, ret_n, err, errsize);
	} else if (len == 0) {
		r = -EINVAL;
		snprintf(err, errsize, "%s: empty file", path);
	} else {
		int16_t *s = malloc(len * sizeof(*s));

		if (!s) {
			r = -ENOMEM;
			snprintf(err, errsize, "%s: out of memory", path);
			goto out;
		}
		g711_decode(kind == ALAW ? G711_ALAW : G711_ULAW, buf, s, len);
		*ret = s;
		*ret_n = len;
		r = 0;
	}
out:
	free(buf);
	close(fd);
	return r;
}
