// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Ogg Opus writer: the stream is read back with libogg and libopus written
 * independently here, and checked by opusinfo when it is installed.
 *
 * A different tone on each side catches the encoder folding stereo into mono
 * (notes/perf.md); an exact decoded length catches wrong pre-skip or end
 * trimming; the page walk checks order, granules and header placement.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <errno.h>
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <ogg/ogg.h>
#include <opus/opus.h>

#include "codec/dsp.h"
#include "codec/oggopus.h"

#define SERIAL		0x7472ec01u
#define SECONDS		3
#define FRAMES		(SECONDS * OGGOPUS_RATE / OGGOPUS_FRAME)	/* 150 */
#define TOTAL		(FRAMES * OGGOPUS_FRAME)			/* per channel */
#define FORCE_AT	75	/* frame after which a forced flush is checked */
#define FREQ_L		440.0
#define FREQ_R		1250.0
#define AMP		8000.0	/* about −12 dBFS */

/* What the reader found in a stream. */
struct readback {
	unsigned int pages;
	unsigned int audio_packets;
	uint16_t pre_skip;
	int64_t last_granule;
	bool saw_eos;
	size_t decoded;		/* per channel, before trimming */
	size_t len;		/* per channel, after pre-skip and end trimming */
	int16_t *pcm;		/* interleaved, trimmed */
};

static int16_t input[TOTAL * 2];

static void input_fill(void)
{
	for (size_t i = 0; i < TOTAL; i++) {
		double t = (double)i / OGGOPUS_RATE;

		input[2 * i] = (int16_t)lrint(AMP * sin(2.0 * M_PI * FREQ_L * t));
		input[2 * i + 1] = (int16_t)lrint(AMP * sin(2.0 * M_PI * FREQ_R * t));
	}
}

static uint32_t le32(const unsigned char *p)
{
	return p[0] | p[1] << 8 | p[2] << 16 | (uint32_t)p[3] << 24;
}

static void check_opushead(const ogg_packet *op, struct readback *rb)
{
	const unsigned char *p = op->packet;

	assert_int_equal(op->bytes, 19);
	assert_memory_equal(p, "OpusHead", 8);
	assert_int_equal(p[8], 1);		/* version */
	assert_int_equal(p[9], 2);		/* channels */
	rb->pre_skip = p[10] | p[11] << 8;
	assert_int_equal(le32(p + 12), 8000);	/* input rate */
	assert_int_equal(p[16] | p[17] << 8, 0);	/* gain */
	assert_int_equal(p[18], 0);		/* mapping family */
}

static void check_opustags(const ogg_packet *op)
{
	const char *vendor = opus_get_version_string();
	const unsigned char *p = op->packet;
	size_t vlen = strlen(vendor);

	assert_true(op->bytes >= 8 + 4);
	assert_memory_equal(p, "OpusTags", 8);
	assert_int_equal(le32(p + 8), vlen);
	assert_int_equal(op->bytes, 8 + 4 + vlen + 4 + 4 + strlen("ENCODER=trunkrec"));
	assert_memory_equal(p + 12, vendor, vlen);
	p += 12 + vlen;
	assert_int_equal(le32(p), 1);
	assert_int_equal(le32(p + 4), strlen("ENCODER=trunkrec"));
	assert_memory_equal(p + 8, "ENCODER=trunkrec", strlen("ENCODER=trunkrec"));
}

/*
 * Walk every page and packet: headers alone on their pages, page sequence
 * numbers consecutive, granule of each audio page = 960 × packets so far
 * except the last, which trims; then decode at 8 kHz stereo and trim.
 */
static void stream_read(const uint8_t *data, size_t len, struct readback *rb)
{
	ogg_sync_state oy;
	ogg_stream_state os;
	OpusDecoder *dec;
	int16_t frame[5760 * 2];
	int16_t *all;
	size_t all_cap = 8000 * 60;
	ogg_page og;
	ogg_packet op;
	unsigned int packets = 0;
	int err;
	char *buf;

	memset(rb, 0, sizeof(*rb));
	all = malloc(all_cap * 2 * sizeof(*all));
	assert_non_null(all);
	dec = opus_decoder_create(8000, 2, &err);
	assert_int_equal(err, OPUS_OK);

	ogg_sync_init(&oy);
	buf = ogg_sync_buffer(&oy, len);
	memcpy(buf, data, len);
	ogg_sync_wrote(&oy, len);
	ogg_stream_init(&os, SERIAL);

	while (ogg_sync_pageout(&oy, &og) == 1) {
		int64_t granule = ogg_page_granulepos(&og);
		int completed = ogg_page_packets(&og);

		assert_int_equal(ogg_page_serialno(&og), (int)SERIAL);
		assert_int_equal(ogg_page_pageno(&og), rb->pages);
		assert_false(rb->saw_eos);	/* nothing after end-of-stream */
		assert_int_equal(ogg_page_bos(&og) != 0, rb->pages == 0);	/* the flag bit, not 0/1 */
		if (rb->pages == 0) {
			/* OpusHead alone on the first page */
			assert_int_equal(completed, 1);
			assert_int_equal(granule, 0);
		} else if (rb->pages == 1) {
			/* OpusTags fits on one page here, and shares it with nothing */
			assert_int_equal(completed, 1);
			assert_int_equal(granule, 0);
			assert_false(ogg_page_continued(&og));
		} else {
			assert_false(ogg_page_continued(&og));	/* audio starts on a fresh page */
		}
		if (ogg_page_eos(&og))
			rb->saw_eos = true;
		assert_int_equal(ogg_stream_pagein(&os, &og), 0);

		while (ogg_stream_packetout(&os, &op) == 1) {
			if (packets == 0) {
				check_opushead(&op, rb);
			} else if (packets == 1) {
				check_opustags(&op);
			} else {
				int n = opus_decode(dec, op.packet, op.bytes, frame, 5760, 0);

				assert_int_equal(n, OGGOPUS_FRAME);
				assert_true(rb->decoded + n <= all_cap);
				memcpy(all + 2 * rb->decoded, frame, n * 2 * sizeof(*frame));
				rb->decoded += n;
				rb->audio_packets++;
			}
			packets++;
		}

		if (rb->pages >= 2) {
			if (ogg_page_eos(&og))
				assert_true(granule <= (int64_t)rb->audio_packets * 960);
			else
				assert_int_equal(granule, (int64_t)rb->audio_packets * 960);
		}
		rb->last_granule = granule;
		rb->pages++;
	}
	assert_true(rb->saw_eos);
	assert_true(rb->pages >= 3);

	/* RFC 7845: playable samples = final granule − pre-skip, after dropping pre-skip */
	assert_int_equal(rb->pre_skip % 6, 0);
	assert_true(rb->last_granule >= rb->pre_skip);
	rb->len = (rb->last_granule - rb->pre_skip) / 6;
	assert_true(rb->pre_skip / 6 + rb->len <= rb->decoded);
	memmove(all, all + 2 * (rb->pre_skip / 6), rb->len * 2 * sizeof(*all));
	rb->pcm = all;

	ogg_stream_clear(&os);
	ogg_sync_clear(&oy);
	opus_decoder_destroy(dec);
}

/* Run opusinfo on the stream; skip when it isn't installed. */
static void opusinfo_check(const struct bytebuf *pages)
{
	char path[] = "/tmp/trunkrec-oggopus-XXXXXX";
	char log[sizeof(path) + 4], cmd[256], line[512];
	FILE *f;
	int fd, status;

	if (system("command -v opusinfo >/dev/null 2>&1") != 0) {
		print_message("opusinfo not installed: external check skipped\n");
		skip();
	}
	fd = mkstemp(path);
	assert_true(fd >= 0);
	assert_int_equal(write(fd, pages->data, pages->len), (ssize_t)pages->len);
	close(fd);
	snprintf(log, sizeof(log), "%s.log", path);
	snprintf(cmd, sizeof(cmd), "opusinfo '%s' >'%s' 2>&1", path, log);
	status = system(cmd);

	/* warnings don't change opusinfo's exit status: fail on them too */
	f = fopen(log, "r");
	assert_non_null(f);
	while (fgets(line, sizeof(line), f)) {
		if (strstr(line, "WARNING") || strstr(line, "ERROR") || status != 0)
			print_error("opusinfo: %s", line);
		assert_null(strstr(line, "WARNING"));
		assert_null(strstr(line, "ERROR"));
	}
	fclose(f);
	unlink(path);
	unlink(log);
	assert_int_equal(status, 0);
}

static void stereo_tones_roundtrip(void **state)
{
	struct oggopus_settings s = {
		.bitrate = OGGOPUS_DEFAULT_BITRATE,
		.complexity = OGGOPUS_DEFAULT_COMPLEXITY,
	};
	struct bytebuf pages = { 0 };
	struct readback rb;
	struct oggopus *st;
	size_t skip_n = OGGOPUS_RATE / 10, n;
	double l_l, l_r, r_l, r_r, in_level, err, sig, snr[13];
	int r;

	(void)state;
	input_fill();
	st = oggopus_new(&s, SERIAL, &pages);
	assert_non_null(st);
	assert_true(pages.len > 0);	/* header pages come from oggopus_new */

	for (int k = 0; k < FRAMES; k++) {
		assert_int_equal(oggopus_push(st, input + k * OGGOPUS_FRAME * 2), 0);
		r = oggopus_take_pages(st, &pages, false);
		assert_true(r >= 0);
		if (k + 1 == FORCE_AT) {
			size_t before = pages.len;
			ogg_sync_state oy;
			ogg_page og;
			int64_t last = -1;
			char *b;

			/* a forced flush closes a page holding everything up to now */
			r = oggopus_take_pages(st, &pages, true);
			assert_true(r >= 1);
			ogg_sync_init(&oy);
			b = ogg_sync_buffer(&oy, pages.len - before);
			memcpy(b, pages.data + before, pages.len - before);
			ogg_sync_wrote(&oy, pages.len - before);
			while (ogg_sync_pageout(&oy, &og) == 1)
				last = ogg_page_granulepos(&og);
			ogg_sync_clear(&oy);
			assert_int_equal(last, (int64_t)FORCE_AT * 960);
			/* and nothing is left pending */
			assert_int_equal(oggopus_take_pages(st, &pages, true), 0);
		}
	}
	assert_int_equal(oggopus_samples(st), TOTAL);
	r = oggopus_finish(st, &pages);
	assert_true(r >= 1);
	/* closed: no more audio, no more pages */
	assert_int_equal(oggopus_push(st, input), -EINVAL);
	assert_int_equal(oggopus_finish(st, &pages), -EINVAL);
	assert_int_equal(oggopus_take_pages(st, &pages, true), 0);
	oggopus_free(st);

	stream_read(pages.data, pages.len, &rb);
	assert_int_equal(rb.len, TOTAL);	/* exactly what was pushed */
	assert_true(rb.audio_packets > FRAMES);	/* the lookahead was drained */

	n = TOTAL - skip_n;
	l_l = dsp_db(dsp_goertzel_power(rb.pcm + 2 * skip_n, n, 2, FREQ_L, OGGOPUS_RATE));
	l_r = dsp_db(dsp_goertzel_power(rb.pcm + 2 * skip_n, n, 2, FREQ_R, OGGOPUS_RATE));
	r_l = dsp_db(dsp_goertzel_power(rb.pcm + 2 * skip_n + 1, n, 2, FREQ_L, OGGOPUS_RATE));
	r_r = dsp_db(dsp_goertzel_power(rb.pcm + 2 * skip_n + 1, n, 2, FREQ_R, OGGOPUS_RATE));
	in_level = dsp_db(dsp_energy(input, TOTAL, 2));
	print_message("left: %.1f dB at %.0f Hz, %.1f dB at %.0f Hz; right: %.1f / %.1f; input %.1f dBFS\n",
		      l_l, FREQ_L, l_r, FREQ_R, r_l, r_r, in_level);
	assert_true(l_l > l_r + 20.0);
	assert_true(r_r > r_l + 20.0);
	/* each side's tone survives at about its level: not collapsed, not lost */
	assert_true(fabs(l_l - in_level) < 3.0);
	assert_true(fabs(r_r - in_level) < 3.0);

	/*
	 * Time alignment: with pre-skip removed the output lines up with the
	 * input sample for sample. The codec's waveform SNR on tones is modest
	 * (≈ 9 dB at the defaults), so check that no shift by a few samples
	 * matches better than none, and that lag 0 is clearly correlated.
	 */
	for (int lag = -6; lag <= 6; lag++) {
		err = 0.0;
		sig = 0.0;
		for (size_t i = skip_n; i < TOTAL - 8; i++) {
			for (int c = 0; c < 2; c++) {
				double d = (double)rb.pcm[2 * (i + lag) + c] - input[2 * i + c];

				err += d * d;
				sig += (double)input[2 * i + c] * input[2 * i + c];
			}
		}
		snr[lag + 6] = dsp_db(sig / (err + 1.0));
	}
	print_message("waveform SNR at lag 0: %.1f dB, lag ±1: %.1f / %.1f dB\n", snr[6], snr[5], snr[7]);
	assert_true(snr[6] > 6.0);
	for (int lag = -6; lag <= 6; lag++)
		if (lag)
			assert_true(snr[lag + 6] < snr[6]);

	opusinfo_check(&pages);
	free(rb.pcm);
	bytebuf_free(&pages);
}

static void empty_stream_is_valid(void **state)
{
	struct bytebuf pages = { 0 };
	struct readback rb;
	struct oggopus *st;

	(void)state;
	st = oggopus_new(NULL, SERIAL, &pages);	/* NULL: defaults */
	assert_non_null(st);
	assert_int_equal(oggopus_take_pages(st, &pages, false), 0);
	assert_true(oggopus_finish(st, &pages) >= 1);
	oggopus_free(st);

	stream_read(pages.data, pages.len, &rb);
	assert_int_equal(rb.len, 0);
	assert_int_equal(rb.last_granule, rb.pre_skip);
	opusinfo_check(&pages);
	free(rb.pcm);
	bytebuf_free(&pages);
}

static void bad_settings_rejected(void **state)
{
	static const struct oggopus_settings bad[] = {
		{ .bitrate = 11999, .complexity = 2 },
		{ .bitrate = 128001, .complexity = 2 },
		{ .bitrate = 24000, .complexity = -1 },
		{ .bitrate = 24000, .complexity = 11 },
	};
	static const struct oggopus_settings edges[] = {
		{ .bitrate = 12000, .complexity = 0 },
		{ .bitrate = 128000, .complexity = 10 },
	};
	struct bytebuf pages = { 0 };

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		errno = 0;
		assert_null(oggopus_new(&bad[i], 1, &pages));
		assert_int_equal(errno, EINVAL);
		assert_int_equal(pages.len, 0);	/* untouched on failure */
	}
	assert_null(oggopus_new(&edges[0], 1, NULL));
	for (size_t i = 0; i < sizeof(edges) / sizeof(edges[0]); i++) {
		struct oggopus *st = oggopus_new(&edges[i], 1, &pages);

		assert_non_null(st);
		oggopus_free(st);
		bytebuf_reset(&pages);
	}
	oggopus_free(NULL);
	assert_int_equal(oggopus_push(NULL, input), -EINVAL);
	bytebuf_free(&pages);
}

static void bytebuf_helpers(void **state)
{
	struct bytebuf b = { 0 };
	uint8_t *data;

	(void)state;
	assert_int_equal(bytebuf_append(&b, "abc", 3), 0);
	assert_int_equal(b.len, 3);
	assert_true(b.cap >= 3);
	assert_memory_equal(b.data, "abc", 3);
	for (int i = 0; i < 10000; i++)
		assert_int_equal(bytebuf_append(&b, "x", 1), 0);
	assert_int_equal(b.len, 10003);
	assert_int_equal(b.data[10002], 'x');

	data = b.data;
	bytebuf_reset(&b);
	assert_int_equal(b.len, 0);
	assert_ptr_equal(b.data, data);	/* memory kept */
	assert_int_equal(bytebuf_reserve(&b, 100), 0);
	assert_ptr_equal(b.data, data);	/* already had room: no realloc */
	assert_int_equal(bytebuf_append(&b, "y", 1), 0);
	assert_int_equal(bytebuf_reserve(&b, SIZE_MAX), -ENOMEM);	/* len + extra overflows */
	assert_int_equal(b.len, 1);
	assert_int_equal(bytebuf_append(&b, NULL, 0), 0);

	bytebuf_free(&b);
	assert_null(b.data);
	assert_int_equal(b.cap, 0);
	bytebuf_free(&b);	/* twice is fine */
	bytebuf_free(NULL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(bytebuf_helpers),
		cmocka_unit_test(bad_settings_rejected),
		cmocka_unit_test(empty_stream_is_valid),
		cmocka_unit_test(stereo_tones_roundtrip),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
