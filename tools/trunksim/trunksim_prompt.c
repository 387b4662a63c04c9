// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunksim's prompt and control-socket helpers: 8 kHz mono 16-bit WAV files,
 * the synthetic announcement (no real voice is ever committed), the prompt as
 * trunkrecd puts it on the line, and one request to trunkrecd's control socket.
 */
#include "tools/trunksim/trunksim.h"

#include <errno.h>
#include <fcntl.h>
#include <math.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include "codec/g711.h"

#define WAV_RATE	8000
#define PROMPT_MAX	(WAV_RATE * 60)	/* a prompt of more than a minute is a mistake */

static uint16_t le16(const uint8_t *p)
{
	return (uint16_t)(p[0] | p[1] << 8);
}

static uint32_t le32(const uint8_t *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

int sim_wav_read(const char *path, int16_t **ret_pcm, size_t *ret_len)
{
	uint8_t hdr[8], fmt[16];
	bool have_fmt = false;
	FILE *f = fopen(path, "rbe");
	int rc = -EINVAL;

	if (!f) {
		rc = -errno;
		fprintf(stderr, "trunksim: --prompt %s: %s\n", path, strerror(errno));
		return rc;
	}
	if (fread(hdr, 1, 8, f) != 8 || memcmp(hdr, "RIFF", 4) || fread(hdr, 1, 4, f) != 4 || memcmp(hdr, "WAVE", 4)) {
		fprintf(stderr, "trunksim: --prompt %s: not a RIFF/WAVE file\n", path);
		goto out;
	}
	/* Chunks: fmt before data; anything else is skipped. At most 64 of them. */
	for (int n = 0; n < 64 && fread(hdr, 1, 8, f) == 8; n++) {
		uint32_t size = le32(hdr + 4);

		if (!memcmp(hdr, "fmt ", 4)) {
			if (size < 16 || fread(fmt, 1, 16, f) != 16 || fseek(f, (long)(size - 16 + (size & 1)), SEEK_CUR))
				break;
			if (le16(fmt) != 1 || le16(fmt + 2) != 1 || le32(fmt + 4) != WAV_RATE || le16(fmt + 14) != 16) {
				fprintf(stderr, "trunksim: --prompt %s: want PCM, mono, 8000 Hz, 16 bit; convert with: "
					"sox IN -e signed -b 16 -c 1 -r 8000 OUT.wav\n", path);
				goto out;
			}
			have_fmt = true;
		} else if (!memcmp(hdr, "data", 4)) {
			size_t len = size / 2;
			int16_t *pcm;

			if (!have_fmt)
				break;
			if (len == 0 || len > PROMPT_MAX) {
				fprintf(stderr, "trunksim: --prompt %s: %zu samples; want 1 to %d (a minute)\n",
					path, len, PROMPT_MAX);
				goto out;
			}
			pcm = malloc(len * sizeof(*pcm));
			if (!pcm) {
				rc = -ENOMEM;
				goto out;
			}
			for (size_t i = 0; i < len; i++) {
				uint8_t b[2];

				if (fread(b, 1, 2, f) != 2) {
					fprintf(stderr, "trunksim: --prompt %s: truncated data\n", path);
					free(pcm);
					goto out;
				}
				pcm[i] = (int16_t)le16(b);
			}
			*ret_pcm = pcm;
			*ret_len = len;
			rc = 0;
			goto out;
		} else if (fseek(f, (long)size + (size & 1), SEEK_CUR)) {
			break;
		}
	}
	fprintf(stderr, "trunksim: --prompt %s: no usable 'fmt ' and 'data' chunks\n", path);
out:
	fclose(f);
	return rc;
}

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = v & 0xff;
	p[1] = v >> 8;
}

static void put32(uint8_t *p, uint32_t v)
{
	put16(p, v & 0xffff);
	put16(p + 2, v >> 16);
}

int sim_wav_write(const char *path, const int16_t *pcm, size_t len)
{
	uint8_t h[44];
	FILE *f = fopen(path, "wbe");
	int rc = 0;

	if (!f)
		return -errno;
	memcpy(h, "RIFF", 4);
	put32(h + 4, (uint32_t)(36 + len * 2));
	memcpy(h + 8, "WAVEfmt ", 8);
	put32(h + 16, 16);
	put16(h + 20, 1);
	put16(h + 22, 1);
	put32(h + 24, WAV_RATE);
	put32(h + 28, WAV_RATE * 2);
	put16(h + 32, 2);
	put16(h + 34, 16);
	memcpy(h + 36, "data", 4);
	put32(h + 40, (uint32_t)(len * 2));
	if (fwrite(h, 1, sizeof(h), f) != sizeof(h))
		rc = -EIO;
	for (size_t i = 0; i < len && !rc; i++) {
		uint8_t b[2];

		put16(b, (uint16_t)pcm[i]);
		if (fwrite(b, 1, 2, f) != 2)
			rc = -EIO;
	}
	if (fclose(f) && !rc)
		rc = -errno;
	return rc;
}

int sim_prompt_make(int16_t **ret_pcm, size_t *ret_len)
{
	/*
	 * Three chords of one second each, 10 ms ramps. The frequencies stay
	 * 40 Hz or more from every DTMF tone and 100 Hz or more from the PBX's
	 * phase tones (docs/synthetic-trunk.md, "Frequency plan").
	 */
	static const double chords[3][3] = {
		{ 300, 600, 1400 }, { 350, 1100, 2250 }, { 1900, 2700, 3600 },
	};
	const size_t per = WAV_RATE, ramp = WAV_RATE / 100, len = 3 * per;
	int16_t *pcm = malloc(len * sizeof(*pcm));

	if (!pcm)
		return -ENOMEM;
	for (size_t i = 0; i < len; i++) {
		size_t c = i / per, t = i % per;
		double env = t < ramp ? (double)t / ramp : per - t < ramp ? (double)(per - t) / ramp : 1.0, v = 0;

		for (int h = 0; h < 3; h++)
			v += (3500.0 / (h + 1)) * sin(2.0 * M_PI * chords[c][h] * (double)i / WAV_RATE);
		pcm[i] = (int16_t)lround(env * v);
	}
	*ret_pcm = pcm;
	*ret_len = len;
	return 0;
}

int sim_prompt_alaw(const int16_t *pcm, size_t len, uint8_t **ret_blocks, uint32_t *ret_nblocks)
{
	uint32_t n = (uint32_t)((len + SIMCARD_BLOCK - 1) / SIMCARD_BLOCK);
	uint8_t *b = malloc((size_t)n * SIMCARD_BLOCK);

	if (!b)
		return -ENOMEM;
	for (size_t i = 0; i < (size_t)n * SIMCARD_BLOCK; i++)
		b[i] = g711_linear_to_alaw(i < len ? pcm[i] : 0);
	*ret_blocks = b;
	*ret_nblocks = n;
	return 0;
}

static int64_t mono_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

int sim_control(const char *path, const char *command, int timeout_ms, char *ret_answer, size_t size)
{
	struct sockaddr_un sa = { .sun_family = AF_UNIX };
	int64_t deadline = mono_ms() + timeout_ms;
	size_t got = 0, len = strlen(command);
	int fd, rc;

	ret_answer[0] = '\0';
	if (strlen(path) >= sizeof(sa.sun_path)) {
		snprintf(ret_answer, size, "socket path too long");
		return -ENAMETOOLONG;
	}
	strcpy(sa.sun_path, path);
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa))) {
		rc = -errno;
		snprintf(ret_answer, size, "cannot connect: %s", strerror(errno));
		close(fd);
		return rc;
	}
	/* The command is one short line: one write suffices on a local socket. */
	if (write(fd, command, len) != (ssize_t)len || write(fd, "\n", 1) != 1) {
		rc = -errno;
		snprintf(ret_answer, size, "cannot send: %s", strerror(errno));
		close(fd);
		return rc ? rc : -EIO;
	}
	while (got + 1 < size && !memchr(ret_answer, '\n', got)) {
		struct pollfd p = { .fd = fd, .events = POLLIN };
		int left = (int)(deadline - mono_ms());
		ssize_t n;

		if (left <= 0 || poll(&p, 1, left) <= 0) {
			snprintf(ret_answer, size, "no answer within %d ms", timeout_ms);
			close(fd);
			return -ETIMEDOUT;
		}
		n = read(fd, ret_answer + got, size - 1 - got);
		if (n <= 0)
			break;
		got += (size_t)n;
		ret_answer[got] = '\0';
	}
	close(fd);
	ret_answer[strcspn(ret_answer, "\r\n")] = '\0';
	if (!strncmp(ret_answer, "ok", 2))
		return 0;
	if (!strncmp(ret_answer, "error", 5))
		return -EPROTO;
	if (!got)
		snprintf(ret_answer, size, "connection closed without an answer");
	return -EBADMSG;
}
