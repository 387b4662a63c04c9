// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * toneprobe: which tone is in each channel of a WAV file, and how loud.
 *
 *   toneprobe FILE.wav --grid F0:STEP:COUNT [--skip-ms N]
 *	ch=C best=HZ margin_db=DB level_db=DBFS samples=N	(one line per channel)
 *   toneprobe FILE.wav --freq F [--skip-ms N]
 *	ch=C freq=HZ power_db=DBFS samples=N
 *
 * best is the grid frequency with the most power, margin_db how far it is
 * above the second best, level_db the mean-square level of the analysed part
 * (dsp.h: a full-scale sine is −3 dBFS). samples is the channel's length in
 * the file; analysis starts after --skip-ms (default 100) so a codec's
 * start-up transient doesn't count.
 *
 * Only 16-bit PCM at 8 kHz, mono or stereo, is accepted: integration tests
 * compare recordings against what trunkrec produces, and anything else means
 * the test is looking at the wrong file. Exit 0 on success, 1 when the file
 * can't be used, 2 on bad usage.
 */
#include <errno.h>
#include <math.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "codec/dsp.h"

#define WAV_RATE	8000
#define WAV_MAX_BYTES	(512u << 20)	/* a test recording is far smaller */
#define GRID_MAX	10000

struct wav {
	uint8_t *file;
	unsigned int channels;
	const int16_t *samples;	/* interleaved; the file's bytes, little-endian */
	size_t frames;		/* samples per channel */
};

static uint16_t le16(const uint8_t *p)
{
	return p[0] | p[1] << 8;
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

/* The GUID tail of KSDATAFORMAT_SUBTYPE_PCM in WAVE_FORMAT_EXTENSIBLE. */
static const uint8_t pcm_guid_tail[14] = {
	0x00, 0x00, 0x00, 0x00, 0x10, 0x00, 0x80, 0x00, 0x00, 0xAA, 0x00, 0x38, 0x9B, 0x71,
};

static int fmt_parse(const char *path, const uint8_t *p, uint32_t size, unsigned int *ret_channels)
{
	uint16_t tag, channels, align, bits;
	uint32_t rate;

	if (size < 16) {
		fprintf(stderr, "toneprobe: %s: 'fmt ' chunk too short (%u bytes)\n", path, size);
		return -EINVAL;
	}
	tag = le16(p);
	channels = le16(p + 2);
	rate = le32(p + 4);
	align = le16(p + 12);
	bits = le16(p + 14);

	if (tag == 0xFFFE) {
		/* WAVE_FORMAT_EXTENSIBLE: the real format is in the subformat GUID */
		if (size < 40 || le16(p + 24) != 1 || memcmp(p + 26, pcm_guid_tail, 14) != 0) {
			fprintf(stderr, "toneprobe: %s: extensible WAV whose subformat is not PCM\n", path);
			return -EINVAL;
		}
	} else if (tag != 1) {
		fprintf(stderr, "toneprobe: %s: WAV format tag %u is not PCM (1); convert with: sox IN -e signed -b 16 -r 8000 OUT.wav\n",
			path, tag);
		return -EINVAL;
	}
	if (bits != 16) {
		fprintf(stderr, "toneprobe: %s: %u-bit samples; only 16-bit is supported\n", path, bits);
		return -EINVAL;
	}
	if (rate != WAV_RATE) {
		fprintf(stderr, "toneprobe: %s: sample rate %u Hz; only %u Hz is supported\n", path, rate, WAV_RATE);
		return -EINVAL;
	}
	if (channels != 1 && channels != 2) {
		fprintf(stderr, "toneprobe: %s: %u channels; only mono or stereo is supported\n", path, channels);
		return -EINVAL;
	}
	if (align != channels * 2) {
		fprintf(stderr, "toneprobe: %s: block align %u, expected %u for %u×16 bit\n",
			path, align, channels * 2, channels);
		return -EINVAL;
	}
	*ret_channels = channels;
	return 0;
}

static int wav_load(const char *path, struct wav *ret)
{
	unsigned int channels = 0;
	uint8_t *file = NULL;
	size_t len = 0, off;
	long size;
	FILE *f;
	int r = -EINVAL;

	f = fopen(path, "rbe");
	if (!f) {
		r = -errno;
		fprintf(stderr, "toneprobe: %s: %s\n", path, strerror(errno));
		return r;
	}
	if (fseek(f, 0, SEEK_END) != 0 || (size = ftell(f)) < 0 || fseek(f, 0, SEEK_SET) != 0) {
		r = -errno;
		fprintf(stderr, "toneprobe: %s: not a regular file: %s\n", path, strerror(errno));
		goto out;
	}
	if ((unsigned long)size > WAV_MAX_BYTES) {
		fprintf(stderr, "toneprobe: %s: %ld bytes, more than the %u MiB limit\n",
			path, size, WAV_MAX_BYTES >> 20);
		goto out;
	}
	len = size;
	file = malloc(len ? len : 1);
	if (!file) {
		r = -ENOMEM;
		fprintf(stderr, "toneprobe: %s: out of memory\n", path);
		goto out;
	}
	if (fread(file, 1, len, f) != len) {
		r = -EIO;
		fprintf(stderr, "toneprobe: %s: short read\n", path);
		goto out;
	}

	if (len < 12 || memcmp(file, "RIFF", 4) != 0 || memcmp(file + 8, "WAVE", 4) != 0) {
		fprintf(stderr, "toneprobe: %s: not a RIFF/WAVE file\n", path);
		goto out;
	}

	/* walk the chunks: fmt must precede data; unknown chunks (LIST, fact…) are skipped */
	for (off = 12; off + 8 <= len;) {
		const uint8_t *id = file + off;
		uint32_t csize = le32(file + off + 4);
		size_t avail = len - off - 8;

		if (memcmp(id, "fmt ", 4) == 0) {
			if (csize > avail) {
				fprintf(stderr, "toneprobe: %s: 'fmt ' chunk runs past the end of the file\n", path);
				goto out;
			}
			r = fmt_parse(path, file + off + 8, csize, &channels);
			if (r < 0)
				goto out;
			r = -EINVAL;
		} else if (memcmp(id, "data", 4) == 0) {
			if (!channels) {
				fprintf(stderr, "toneprobe: %s: 'data' chunk before 'fmt '\n", path);
				goto out;
			}
			if (csize > avail) {
				/* 0 and 0xFFFFFFFF are what streaming writers leave behind */
				if (csize != 0xFFFFFFFFu && csize != 0) {
					fprintf(stderr, "toneprobe: %s: truncated: 'data' claims %u bytes, %zu present\n",
						path, csize, avail);
					goto out;
				}
				csize = avail;
			}
			ret->file = file;
			ret->channels = channels;
			ret->samples = (const int16_t *)(file + off + 8);
			/* a trailing partial frame is ignored */
			ret->frames = csize / (2 * channels);
			file = NULL;
			r = 0;
			goto out;
		}
		/* RIFF chunks are padded to even length */
		if ((size_t)csize + (csize & 1) > avail)
			break;
		off += 8 + (size_t)csize + (csize & 1);
	}
	fprintf(stderr, "toneprobe: %s: no 'data' chunk\n", path);

out:
	free(file);
	fclose(f);
	return r;
}

static int number_parse(const char *s, double *ret)
{
	char *end;
	double v;

	errno = 0;
	v = strtod(s, &end);
	if (errno || end == s || *end || !isfinite(v))
		return -EINVAL;
	*ret = v;
	return 0;
}

static void usage(void)
{
	fprintf(stderr,
		"usage: toneprobe FILE.wav --grid F0:STEP:COUNT [--skip-ms N]\n"
		"       toneprobe FILE.wav --freq F [--skip-ms N]\n");
}

int main(int argc, char **argv)
{
	const char *path = NULL, *grid = NULL, *freq_arg = NULL;
	double f0 = 0, step = 0, count_d = 0, freq = 0, skip_ms = 100;
	unsigned int count = 0;
	struct wav w = { 0 };
	size_t skip_n, n;
	char *copy, *a, *b;
	uint8_t *file;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--grid") && i + 1 < argc) {
			grid = argv[++i];
		} else if (!strcmp(argv[i], "--freq") && i + 1 < argc) {
			freq_arg = argv[++i];
		} else if (!strcmp(argv[i], "--skip-ms") && i + 1 < argc) {
			if (number_parse(argv[++i], &skip_ms) < 0 || skip_ms < 0) {
				fprintf(stderr, "toneprobe: --skip-ms '%s': want a number of milliseconds ≥ 0\n", argv[i]);
				return 2;
			}
		} else if (argv[i][0] == '-' && argv[i][1]) {
			fprintf(stderr, "toneprobe: unknown option or missing value: %s\n", argv[i]);
			usage();
			return 2;
		} else if (!path) {
			path = argv[i];
		} else {
			fprintf(stderr, "toneprobe: one file only (got '%s' and '%s')\n", path, argv[i]);
			return 2;
		}
	}
	if (!path || !grid == !freq_arg) {
		fprintf(stderr, "toneprobe: need a file and exactly one of --grid or --freq\n");
		usage();
		return 2;
	}

	if (grid) {
		copy = strdup(grid);
		if (!copy)
			return 1;
		a = strchr(copy, ':');
		b = a ? strchr(a + 1, ':') : NULL;
		if (!b || (*a = *b = '\0', number_parse(copy, &f0) < 0) ||
		    number_parse(a + 1, &step) < 0 || number_parse(b + 1, &count_d) < 0 ||
		    f0 <= 0 || step <= 0 || count_d < 2 || count_d > GRID_MAX ||
		    count_d != floor(count_d) || f0 + step * (count_d - 1) >= WAV_RATE / 2.0) {
			fprintf(stderr,
				"toneprobe: --grid '%s': want F0:STEP:COUNT with F0, STEP > 0, 2 ≤ COUNT ≤ %d "
				"and F0 + STEP·(COUNT−1) below %d Hz\n", grid, GRID_MAX, WAV_RATE / 2);
			free(copy);
			return 2;
		}
		free(copy);
		count = (unsigned int)count_d;
	} else if (number_parse(freq_arg, &freq) < 0 || freq <= 0 || freq >= WAV_RATE / 2.0) {
		fprintf(stderr, "toneprobe: --freq '%s': want a frequency in Hz between 0 and %d\n",
			freq_arg, WAV_RATE / 2);
		return 2;
	}

	if (wav_load(path, &w) < 0)
		return 1;
	file = w.file;

	skip_n = (size_t)llround(skip_ms * WAV_RATE / 1000.0);
	if (skip_n >= w.frames) {
		fprintf(stderr, "toneprobe: %s: %zu samples per channel (%.0f ms), nothing left after --skip-ms %g\n",
			path, w.frames, w.frames * 1000.0 / WAV_RATE, skip_ms);
		free(file);
		return 1;
	}
	n = w.frames - skip_n;

	/* WAV is little-endian; so is every machine we run on */
	for (unsigned int c = 0; c < w.channels; c++) {
		const int16_t *x = w.samples + skip_n * w.channels + c;

		if (grid) {
			double best = -1.0, second = -1.0, best_f = f0;

			for (unsigned int k = 0; k < count; k++) {
				double f = f0 + step * k;
				double p = dsp_goertzel_power(x, n, w.channels, f, WAV_RATE);

				if (p > best) {
					second = best;
					best = p;
					best_f = f;
				} else if (p > second) {
					second = p;
				}
			}
			printf("ch=%u best=%g margin_db=%.1f level_db=%.1f samples=%zu\n", c, best_f,
			       dsp_db(best) - dsp_db(second), dsp_db(dsp_energy(x, n, w.channels)), w.frames);
		} else {
			printf("ch=%u freq=%g power_db=%.1f samples=%zu\n", c, freq,
			       dsp_db(dsp_goertzel_power(x, n, w.channels, freq, WAV_RATE)), w.frames);
		}
	}
	free(file);
	return 0;
}
