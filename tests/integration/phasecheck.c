// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * phasecheck: did a recording store what it had to, and nothing it must not?
 *
 *   phasecheck REC.wav PHASES.tsv --call ID --start-tick T
 *              [--max-shift-ticks N] [--floor-db DB] [--guard-ms MS] [--verbose]
 *
 * REC.wav is the WAV export of one recording (8 kHz, 16 bit, stereo: left =
 * carrier side, right = PBX side). PHASES.tsv is trunksim's FILE.phases; the
 * rows of call ID are checked. T is the card tick whose block is the
 * recording's first sample: trunksim's record_from_tick, or what the
 * recording's timeline says. Paused audio is assumed to be exported as
 * silence of the same duration, so tick t is at sample (t - T) * 160; a
 * recording whose pauses are cut out instead would shift later phases
 * earlier, which the stored checks notice (they fail) and the whole-channel
 * checks below do not depend on.
 *
 * Alignment: T + d for d in [-N, N] ticks (default 5) is tried; the one with
 * the most evidence of the stored phases (the lowest stored margin highest)
 * wins, the smallest |d| on ties. Absent phases never influence it.
 *
 * Per phase (span = its ticks mapped to samples, shrunk by the guard, 40 ms,
 * at both ends; power by Hann-windowed Goertzel over 200 ms windows, hop
 * 100 ms, on the dsp.h scale: a full-scale sine is -3 dBFS):
 *  - stored: mean power at its frequency over the span >= floor + 10 dB and
 *    >= its source level - 10 dB; at least half the span inside the file.
 *  - absent: (a) the highest window power over the span, and (b) the highest
 *    window power over the whole channel, except windows that touch a stored
 *    or `any` phase of the same side within 250 Hz of the frequency (Opus spreads a strong tone) (or of
 *    unknown content: a prompt), must be below the floor (-50 dBFS) and 30 dB
 *    or more below the source level. (b) needs no alignment at all: a leak
 *    anywhere, even where time mapping is off, is caught. DTMF phases are
 *    measured at all 8 DTMF frequencies. Only a tone counts: power at the
 *    frequency at least 6 dB above the power 30 Hz to either side (the
 *    broadband splash where audio resumes after a pause or a mask is not a
 *    leaked phase; a leaked phase is a pure tone).
 *  - any: not checked.
 *
 * Prints one line per phase and a summary; exit 0 when every check passed,
 * 1 when one failed or the file cannot be used, 2 on bad usage.
 */
#include <errno.h>
#include <math.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define RATE		8000
#define TICK		160	/* samples per card tick (20 ms) */
#define WIN		1600	/* 200 ms analysis window */
#define HOP		400	/* 50 ms: a short leak is always near a window's middle */
#define MAX_PHASES	64
#define MAX_BYTES	(512u << 20)
#define PROBE_HZ	30.0	/* 6 bins of a 200 ms window: the tone's own leakage there is < -50 dB */
#define PROMINENCE_DB	6.0
#define NEAR_HZ		250.0	/* Opus at 24 kb/s spreads a strong tone to about -50 dBFS up to 200 Hz away (seen: 400 Hz talk at 600 Hz) */

static const double dtmf_freqs[8] = { 697, 770, 852, 941, 1209, 1336, 1477, 1633 };

enum expect { STORED, ABSENT, ANY };

struct phase {
	char name[32];
	int side;		/* 0 left (carrier), 1 right (PBX) */
	double freq;		/* 0: DTMF (dtmf set) or unknown content (a prompt) */
	bool dtmf;
	long long start, end;	/* ticks, end exclusive */
	enum expect expect;
	double level_db;
};

struct wav {
	uint8_t *file;
	const int16_t *pcm;	/* interleaved stereo */
	size_t frames;
};

static double hann[WIN];
static double hann_sum;

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static int wav_load(const char *path, struct wav *w)
{
	FILE *f = fopen(path, "rbe");
	long size;
	size_t off;
	bool fmt_ok = false;

	if (!f) {
		fprintf(stderr, "phasecheck: %s: %s\n", path, strerror(errno));
		return -1;
	}
	if (fseek(f, 0, SEEK_END) || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) || (unsigned long)size > MAX_BYTES) {
		fprintf(stderr, "phasecheck: %s: not a regular file of at most 512 MiB\n", path);
		fclose(f);
		return -1;
	}
	w->file = malloc((size_t)size + 1);
	if (!w->file || fread(w->file, 1, (size_t)size, f) != (size_t)size) {
		fprintf(stderr, "phasecheck: %s: cannot read\n", path);
		fclose(f);
		return -1;
	}
	fclose(f);
	if (size < 12 || memcmp(w->file, "RIFF", 4) || memcmp(w->file + 8, "WAVE", 4)) {
		fprintf(stderr, "phasecheck: %s: not a RIFF/WAVE file\n", path);
		return -1;
	}
	for (off = 12; off + 8 <= (size_t)size;) {
		uint32_t csize = le32(w->file + off + 4);
		size_t avail = (size_t)size - off - 8;

		if (!memcmp(w->file + off, "fmt ", 4) && csize >= 16 && csize <= avail) {
			const uint8_t *p = w->file + off + 8;

			if ((le16(p) != 1 && le16(p) != 0xFFFE) || le16(p + 2) != 2 || le32(p + 4) != RATE ||
			    le16(p + 14) != 16) {
				fprintf(stderr, "phasecheck: %s: want 16-bit PCM, stereo, 8000 Hz (trunkrec export -o X.wav)\n",
					path);
				return -1;
			}
			fmt_ok = true;
		} else if (!memcmp(w->file + off, "data", 4)) {
			if (!fmt_ok)
				break;
			if (csize > avail)
				csize = (uint32_t)avail;	/* streaming writers leave 0 or ~0 */
			w->pcm = (const int16_t *)(w->file + off + 8);
			w->frames = csize / 4;
			return 0;
		}
		if ((size_t)csize + (csize & 1) > avail)
			break;
		off += 8 + (size_t)csize + (csize & 1);
	}
	fprintf(stderr, "phasecheck: %s: no usable 'fmt ' and 'data' chunks\n", path);
	return -1;
}

/* Power at freq of window [pos, pos + WIN) of one channel, dBFS (a full-scale sine: -3). */
static double window_db(const struct wav *w, int ch, size_t pos, double freq)
{
	double coeff = 2.0 * cos(2.0 * M_PI * freq / RATE), s1 = 0, s2 = 0, re, im, p;

	for (size_t n = 0; n < WIN; n++) {
		double x = pos + n < w->frames ? w->pcm[(pos + n) * 2 + ch] / 32768.0 : 0;
		double s0 = x * hann[n] + coeff * s1 - s2;

		s2 = s1;
		s1 = s0;
	}
	re = s1 - s2 * cos(2.0 * M_PI * freq / RATE);
	im = s2 * sin(2.0 * M_PI * freq / RATE);
	p = 2.0 * (re * re + im * im) / (hann_sum * hann_sum);
	return p > 1e-20 ? 10.0 * log10(p) : -200.0;
}

/*
 * The windows of [a, b): a, a + HOP, … and one ending exactly at b, so both
 * edges are covered; one window (running past b) if b - a < WIN.
 */
static size_t next_window(size_t pos, size_t a, size_t b)
{
	size_t last = b - a > WIN ? b - WIN : a;

	if (pos >= last)
		return SIZE_MAX;
	return pos + HOP < last ? pos + HOP : last;
}
#define FOR_WINDOWS(pos, a, b) \
	for (size_t pos = (a); pos != SIZE_MAX; pos = next_window(pos, (a), (b)))

/*
 * A tone at freq: its power, when it stands PROMINENCE_DB above the power
 * PROBE_HZ to either side; else -200. A leaked phase is a pure tone; the
 * broadband splash where audio starts again after a pause or a mask is not.
 */
static double tone_db(const struct wav *w, int ch, size_t pos, double freq)
{
	double db = window_db(w, ch, pos, freq);
	double side = fmax(window_db(w, ch, pos, freq - PROBE_HZ), window_db(w, ch, pos, freq + PROBE_HZ));

	return db - side >= PROMINENCE_DB ? db : -200.0;
}

static double phase_freq_db(const struct wav *w, const struct phase *ph, size_t pos)
{
	double best = -200.0;

	if (ph->expect == ABSENT && !ph->dtmf)
		return tone_db(w, ph->side, pos, ph->freq);
	if (!ph->dtmf)
		return window_db(w, ph->side, pos, ph->freq);
	for (int i = 0; i < 8; i++) {
		double db = tone_db(w, ph->side, pos, dtmf_freqs[i]);

		if (db > best)
			best = db;
	}
	return best;
}

/* Sample range of a phase at start tick t0, shrunk by guard; false if empty. */
static bool span(const struct phase *ph, long long t0, size_t guard, size_t frames, size_t *ret_a, size_t *ret_b,
		 double *ret_inside)
{
	long long a = (ph->start - t0) * TICK + (long long)guard, b = (ph->end - t0) * TICK - (long long)guard;
	long long ca = a < 0 ? 0 : a, cb = b > (long long)frames ? (long long)frames : b;

	*ret_inside = b > a ? (double)(cb > ca ? cb - ca : 0) / (double)(b - a) : 0;
	if (cb <= ca)
		return false;
	*ret_a = (size_t)ca;
	*ret_b = (size_t)cb;
	return true;
}

/* Mean power over a stored phase's span (windows averaged in linear power). */
static double stored_db(const struct wav *w, const struct phase *ph, long long t0, size_t guard, double *ret_inside)
{
	size_t a, b, n = 0;
	double sum = 0;

	if (!span(ph, t0, guard, w->frames, &a, &b, ret_inside))
		return -200.0;
	FOR_WINDOWS(pos, a, b) {
		sum += pow(10.0, phase_freq_db(w, ph, pos) / 10.0);
		n++;
	}
	return n ? 10.0 * log10(sum / n + 1e-30) : -200.0;
}

static bool conflicts(const struct phase *ph, const struct phase *other)
{
	if (other == ph || other->side != ph->side || other->expect == ABSENT)
		return false;
	if (!other->dtmf && other->freq <= 0)
		return true;	/* unknown content (a prompt) */
	for (int i = 0; i < (ph->dtmf ? 8 : 1); i++) {
		double f = ph->dtmf ? dtmf_freqs[i] : ph->freq;

		for (int j = 0; j < (other->dtmf ? 8 : 1); j++)
			if (fabs(f - (other->dtmf ? dtmf_freqs[j] : other->freq)) < NEAR_HZ)
				return true;
	}
	return false;
}

static int read_phases(const char *path, const char *call, struct phase *ph, int max)
{
	char line[512];
	int n = 0;
	FILE *f = fopen(path, "re");

	if (!f) {
		fprintf(stderr, "phasecheck: %s: %s\n", path, strerror(errno));
		return -1;
	}
	/* id phase side freq start_tick end_tick expect level_db … */
	while (fgets(line, sizeof(line), f)) {
		char *col[9] = { 0 }, *save = NULL, *tok = strtok_r(line, "\t\n", &save);
		int k = 0;

		for (; tok && k < 9; tok = strtok_r(NULL, "\t\n", &save))
			col[k++] = tok;
		if (k < 7 || strcmp(col[0], call))
			continue;
		if (n == max) {
			fprintf(stderr, "phasecheck: more than %d phases for call %s\n", max, call);
			break;
		}
		snprintf(ph[n].name, sizeof(ph[n].name), "%s", col[1]);
		ph[n].side = !strcmp(col[2], "pbx");
		ph[n].dtmf = !strcmp(col[3], "dtmf");
		ph[n].freq = ph[n].dtmf ? 0 : atof(col[3]);
		ph[n].start = atoll(col[4]);
		ph[n].end = atoll(col[5]);
		ph[n].expect = !strcmp(col[6], "stored") ? STORED : !strcmp(col[6], "absent") ? ABSENT : ANY;
		ph[n].level_db = k > 7 ? atof(col[7]) : -17.8;
		n++;
	}
	fclose(f);
	return n;
}

int main(int argc, char **argv)
{
	const char *wav_path = NULL, *phases_path = NULL, *call = NULL;
	long long t0 = -1, best_t0;
	int max_shift = 5, nph, failed = 0;
	double floor_db = -50.0, guard_ms = 40.0, best_score = -1e9;
	bool verbose = false;
	struct phase ph[MAX_PHASES];
	struct wav w = { 0 };
	size_t guard;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--call") && i + 1 < argc)
			call = argv[++i];
		else if (!strcmp(argv[i], "--start-tick") && i + 1 < argc)
			t0 = atoll(argv[++i]);
		else if (!strcmp(argv[i], "--max-shift-ticks") && i + 1 < argc)
			max_shift = atoi(argv[++i]);
		else if (!strcmp(argv[i], "--floor-db") && i + 1 < argc)
			floor_db = atof(argv[++i]);
		else if (!strcmp(argv[i], "--guard-ms") && i + 1 < argc)
			guard_ms = atof(argv[++i]);
		else if (!strcmp(argv[i], "--verbose"))
			verbose = true;
		else if (argv[i][0] != '-' && !wav_path)
			wav_path = argv[i];
		else if (argv[i][0] != '-' && !phases_path)
			phases_path = argv[i];
		else {
			fprintf(stderr, "phasecheck: unexpected '%s'\n", argv[i]);
			return 2;
		}
	}
	if (!wav_path || !phases_path || !call || t0 < 0 || max_shift < 0 || max_shift > 500 || guard_ms < 0) {
		fprintf(stderr, "usage: phasecheck REC.wav PHASES.tsv --call ID --start-tick T [--max-shift-ticks N]\n"
				"                  [--floor-db DB] [--guard-ms MS] [--verbose]\n");
		return 2;
	}
	guard = (size_t)(guard_ms * RATE / 1000.0);
	nph = read_phases(phases_path, call, ph, MAX_PHASES);
	if (nph < 0 || wav_load(wav_path, &w))
		return 1;
	if (nph == 0) {
		fprintf(stderr, "phasecheck: no phases for call %s in %s\n", call, phases_path);
		return 1;
	}
	hann_sum = 0;
	for (int n = 0; n < WIN; n++) {
		hann[n] = 0.5 - 0.5 * cos(2.0 * M_PI * n / (WIN - 1));
		hann_sum += hann[n];
	}

	/* Alignment from the stored phases only. */
	best_t0 = t0;
	for (int d = 0; d <= 2 * max_shift; d++) {
		long long cand = t0 + (d % 2 ? (d + 1) / 2 : -(d / 2));	/* 0, +1, -1, +2, … */
		double score = 1e9, inside;
		bool any = false;

		if (cand < 0)
			continue;
		for (int i = 0; i < nph; i++) {
			if (ph[i].expect != STORED)
				continue;
			any = true;
			score = fmin(score, stored_db(&w, &ph[i], cand, guard, &inside) - (inside < 0.5 ? 100 : 0));
		}
		if (!any)
			break;
		if (score > best_score + 0.05) {
			best_score = score;
			best_t0 = cand;
		}
	}

	for (int i = 0; i < nph; i++) {
		const struct phase *p = &ph[i];
		const char *side = p->side ? "pbx" : "carrier";
		char freq[16];
		double inside;

		if (p->dtmf)
			snprintf(freq, sizeof(freq), "dtmf");
		else
			snprintf(freq, sizeof(freq), "%.0f", p->freq);
		if (p->expect == ANY) {
			if (verbose)
				printf("phasecheck: call=%s phase=%s side=%s freq=%s expect=any: not checked\n", call, p->name,
				       side, freq);
			continue;
		}
		if (p->expect == STORED) {
			double db = stored_db(&w, p, best_t0, guard, &inside);
			bool ok = inside >= 0.5 && db >= floor_db + 10.0 && db >= p->level_db - 10.0;

			printf("phasecheck: call=%s phase=%s side=%s freq=%s expect=stored level_db=%.1f source_db=%.1f "
			       "inside=%.0f%% %s\n", call, p->name, side, freq, db, p->level_db, inside * 100,
			       ok ? "ok" : "FAIL");
			failed += !ok;
			continue;
		}
		/* absent: (a) over its span */
		{
			double span_max = -200.0, file_max = -200.0;
			size_t a, b, file_at = 0;
			bool in = span(p, best_t0, guard, w.frames, &a, &b, &inside), ok;

			if (in)
				FOR_WINDOWS(pos, a, b)
					span_max = fmax(span_max, phase_freq_db(&w, p, pos));
			/* (b) over the whole channel, except where a phase may legitimately sound there */
			for (size_t pos = 0; pos + WIN / 2 <= w.frames || pos == 0; pos += HOP) {
				bool skip = false;
				double db;

				for (int j = 0; j < nph && !skip; j++) {
					size_t ja, jb;
					double jin;

					if (!conflicts(p, &ph[j]) || !span(&ph[j], best_t0, 0, w.frames, &ja, &jb, &jin))
						continue;
					/* a window touching that span, with the guard and the alignment slack */
					skip = pos < jb + guard + (size_t)max_shift * TICK &&
					       pos + WIN + guard + (size_t)max_shift * TICK > ja;
				}
				if (skip)
					continue;
				db = phase_freq_db(&w, p, pos);
				if (db > file_max) {
					file_max = db;
					file_at = pos;
				}
				if (pos + WIN >= w.frames)
					break;
			}
			ok = span_max < floor_db && span_max <= p->level_db - 30.0 && file_max < floor_db &&
			     file_max <= p->level_db - 30.0;
			printf("phasecheck: call=%s phase=%s side=%s freq=%s expect=absent span_max_db=%.1f%s "
			       "channel_max_db=%.1f at_ms=%zu source_db=%.1f %s\n", call, p->name, side, freq, span_max,
			       in ? "" : "(outside)", file_max, file_at * 1000 / RATE, p->level_db, ok ? "ok" : "FAIL");
			failed += !ok;
		}
	}
	printf("phasecheck: call=%s phases=%d failed=%d start_tick=%lld shift_ticks=%lld samples=%zu\n", call, nph,
	       failed, t0, best_t0 - t0, w.frames);
	free(w.file);
	return failed ? 1 : 0;
}
