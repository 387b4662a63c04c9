// SPDX-License-Identifier: GPL-2.0-or-later
/* record/recorder: G.711 in, a COMPLETE vault file of Ogg Opus out; a failed disk never yields a finished file. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <dirent.h>
#include <errno.h>
#include <math.h>
#include <ogg/ogg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "record/recorder.h"

static char dir[64];
static const struct recorder_opts plain;	/* no DTMF work, no verification */
static uint8_t pk[VAULT_PK_BYTES], sk[VAULT_SK_BYTES];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	crypto_box_keypair(pk, sk);	/* generated at test time, never stored */
	strcpy(dir, "/tmp/trunkrec-recorder.XXXXXX");
	return mkdtemp(dir) ? 0 : -1;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	sodium_memzero(sk, sizeof(sk));
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static void tone_block(uint8_t *out, double freq, int block)
{
	for (int i = 0; i < 160; i++) {
		int n = block * 160 + i;

		out[i] = g711_linear_to_alaw((int16_t)(8000 * sin(2 * M_PI * freq * n / 8000)));
	}
}

/* The one file in dir whose name ends with suffix, read whole. */
static uint8_t *read_only_file(const char *suffix, size_t *ret_len, int *ret_count)
{
	DIR *d = opendir(dir);
	struct dirent *de;
	uint8_t *data = NULL;

	*ret_count = 0;
	while ((de = readdir(d))) {
		size_t n = strlen(de->d_name), k = strlen(suffix);
		char path[512];
		FILE *f;

		if (n < k || strcmp(de->d_name + n - k, suffix))
			continue;
		(*ret_count)++;
		snprintf(path, sizeof(path), "%s/%s", dir, de->d_name);
		f = fopen(path, "rb");
		fseek(f, 0, SEEK_END);
		*ret_len = (size_t)ftell(f);
		rewind(f);
		free(data);
		data = malloc(*ret_len);
		assert_int_equal(fread(data, 1, *ret_len, f), *ret_len);
		fclose(f);
	}
	closedir(d);
	return data;
}

struct collected {
	int meta, ogg, end, timeline;
	char timeline_text[256];
	char meta_text[256];
	uint8_t oggdata[1 << 20];
	size_t ogglen;
};

static int collect(enum vault_record_type type, const uint8_t *plain, size_t len, void *userdata)
{
	struct collected *c = userdata;

	switch (type) {
	case VAULT_REC_META:
		c->meta++;
		snprintf(c->meta_text, sizeof(c->meta_text), "%.*s", (int)len, (const char *)plain);
		break;
	case VAULT_REC_OGG:
		c->ogg++;
		assert_true(c->ogglen + len <= sizeof(c->oggdata));
		memcpy(c->oggdata + c->ogglen, plain, len);
		c->ogglen += len;
		break;
	case VAULT_REC_END:
		c->end++;
		break;
	case VAULT_REC_TIMELINE:
		c->timeline++;
		strncat(c->timeline_text, (const char *)plain, len < 255 - strlen(c->timeline_text) ? len : 0);
		break;
	default:
		break;
	}
	return 0;
}

/* Last granule position of the Ogg stream (48 kHz samples, pre-skip included). */
static int64_t last_granule(const uint8_t *data, size_t len)
{
	ogg_sync_state oy;
	ogg_page og;
	int64_t granule = -1;

	ogg_sync_init(&oy);
	memcpy(ogg_sync_buffer(&oy, (long)len), data, len);
	ogg_sync_wrote(&oy, (long)len);
	while (ogg_sync_pageout(&oy, &og) == 1)
		if (ogg_page_eos(&og))
			granule = ogg_page_granulepos(&og);
	ogg_sync_clear(&oy);
	return granule;
}

static void records_a_call(void **state)
{
	static struct collected got;
	struct writer w;
	struct recorder_ctx ctx = { .writer = &w, .codec = { 24000, 2 }, .flush_frames = 50 };
	struct recorder *r;
	enum vault_status status;
	struct vault_info info;
	uint8_t carrier[160], pbx[160], *file;
	size_t len;
	int count;

	(void)state;
	memcpy(ctx.recipient_pk, pk, sizeof(pk));
	assert_int_equal(writer_init(&w, dir, -1), 0);
	r = recorder_new(&ctx, G711_ALAW, "trunk=t\ncalling=5550100\n", &plain);
	assert_non_null(r);
	recorder_timeline(r, "T=0 answered");
	for (int b = 0; b < 150; b++) {		/* 3 s, the middle second paused */
		tone_block(carrier, 500, b);
		tone_block(pbx, 1500, b);
		if (b == 50)
			recorder_timeline(r, "T=1000 paused reason=hold");
		if (b == 100)
			recorder_timeline(r, "T=2000 resumed");
		recorder_frame(r, carrier, pbx, b < 50 || b >= 100 ? RECORDER_STORE : 0);
		writer_reap(&w, false);
	}
	recorder_stop(r, "test");
	while (ctx.completed + ctx.failed == 0)
		writer_reap(&w, true);
	writer_exit(&w);
	assert_int_equal(ctx.completed, 1);

	file = read_only_file(".trec", &len, &count);
	assert_int_equal(count, 1);
	assert_int_equal(vault_read(file, len, pk, sk, collect, &got, &status, &info), 0);
	assert_int_equal(status, VAULT_COMPLETE);
	assert_int_equal(got.meta, 1);
	assert_string_equal(got.meta_text, "trunk=t\ncalling=5550100\n");
	/* One record per second of audio, the closing pages, and END. */
	assert_in_range(got.ogg, 3, 5);
	assert_int_equal(got.end, 1);
	assert_int_equal(got.timeline, 3);	/* sealed with the second of audio they belong to */
	assert_string_equal(got.timeline_text, "T=0 answered\nT=1000 paused reason=hold\nT=2000 resumed\n");
	/* 3 s at 48 kHz after the pre-skip, paused second included as silence: exact. */
	{
		int64_t g = last_granule(got.oggdata, got.ogglen);
		uint16_t pre_skip = (uint16_t)(got.oggdata[28 + 10] | got.oggdata[28 + 11] << 8);

		assert_int_equal(g - pre_skip, 3 * 48000);
	}
	free(file);
	read_only_file(".partial", &len, &count);
	assert_int_equal(count, 0);
}

static void failed_sync_leaves_no_finished_file(void **state)
{
	struct writer w;
	struct recorder_ctx ctx = { .writer = &w, .codec = { 24000, 2 }, .flush_frames = 50 };
	struct recorder *r;
	uint8_t block[160];
	size_t len;
	int before, after;

	(void)state;
	free(read_only_file(".trec", &len, &before));
	memcpy(ctx.recipient_pk, pk, sizeof(pk));
	assert_int_equal(writer_init(&w, dir, -1), 0);
	r = recorder_new(&ctx, G711_ALAW, "trunk=t\n", &plain);
	assert_non_null(r);
	/* Operation 1 is the META write, 2 the first audio write and 3 its fdatasync. */
	writer_inject_fault(&w, 3, EIO);
	memset(block, 0xD5, sizeof(block));
	for (int b = 0; b < 120; b++) {
		recorder_frame(r, block, block, RECORDER_STORE);
		writer_reap(&w, false);
	}
	recorder_stop(r, "test");
	while (ctx.completed + ctx.failed == 0)
		writer_reap(&w, true);
	writer_exit(&w);
	assert_int_equal(ctx.failed, 1);
	assert_int_equal(ctx.completed, 0);
	free(read_only_file(".trec", &len, &after));
	assert_int_equal(after, before);
	free(read_only_file(".partial", &len, &after));
	assert_int_equal(after, 1);	/* left for recovery */
}

static void nothing_stored_leaves_nothing(void **state)
{
	struct writer w;
	struct recorder_ctx ctx = { .writer = &w, .codec = { 24000, 2 }, .flush_frames = 50 };
	struct recorder *r;
	uint8_t block[160];
	size_t len;
	int trec_before, partial_before, trec_after, partial_after;

	(void)state;
	free(read_only_file(".trec", &len, &trec_before));
	free(read_only_file(".partial", &len, &partial_before));
	memcpy(ctx.recipient_pk, pk, sizeof(pk));
	assert_int_equal(writer_init(&w, dir, -1), 0);
	r = recorder_new(&ctx, G711_ALAW, "trunk=t\ncalling=5550100\n", &plain);
	recorder_timeline(r, "T=0 answered");
	memset(block, 0x55, sizeof(block));
	for (int b = 0; b < 200; b++)		/* an unannounced call: never allowed */
		recorder_frame(r, block, block, 0);
	recorder_stop(r, "hangup");
	writer_exit(&w);
	assert_int_equal(ctx.started, 0);
	assert_int_equal(ctx.never_stored, 1);
	free(read_only_file(".trec", &len, &trec_after));
	free(read_only_file(".partial", &len, &partial_after));
	assert_int_equal(trec_after, trec_before);
	assert_int_equal(partial_after, partial_before);
}

/* DTMF digit as A-law: row and column tone, 100 ms = 5 blocks. */
static void dtmf_block(uint8_t *out, double f1, double f2, int block)
{
	for (int i = 0; i < 160; i++) {
		int n = block * 160 + i;

		out[i] = g711_linear_to_alaw((int16_t)(6000 * sin(2 * M_PI * f1 * n / 8000) +
							6000 * sin(2 * M_PI * f2 * n / 8000)));
	}
}

static void masked_digits_reach_the_relay_not_the_disk(void **state)
{
	struct writer w;
	struct spsc events;
	struct recorder_ctx ctx = { .writer = &w, .codec = { 24000, 2 }, .flush_frames = 50, .events = &events };
	struct recorder_opts opts = { .slot = 7, .serial = 42, .mask_dtmf = true, .report_digits = true };
	struct recorder *r;
	struct rec_event *ev;
	uint8_t carrier[160], pbx[160];
	size_t len;
	int count, before;

	(void)state;
	free(read_only_file(".trec", &len, &before));
	assert_int_equal(spsc_init(&events, 16, sizeof(struct rec_event)), 0);
	memcpy(ctx.recipient_pk, pk, sizeof(pk));
	assert_int_equal(writer_init(&w, dir, -1), 0);
	r = recorder_new(&ctx, G711_ALAW, "trunk=dtmf\n", &opts);
	assert_non_null(r);
	for (int b = 0; b < 100; b++) {
		tone_block(pbx, 1500, b);
		if (b >= 40 && b < 45)
			dtmf_block(carrier, 770, 1336, b);	/* '5' keyed by the caller */
		else
			tone_block(carrier, 500, b);
		recorder_frame(r, carrier, pbx, RECORDER_STORE);
	}
	recorder_stop(r, "test");
	while (ctx.completed + ctx.failed == 0)
		writer_reap(&w, true);
	writer_exit(&w);
	ev = spsc_peek(&events);
	assert_non_null(ev);
	assert_int_equal(ev->kind, REV_DTMF);
	assert_int_equal(ev->side, 0);
	assert_int_equal(ev->digit, '5');
	assert_int_equal(ev->slot, 7);
	assert_int_equal(ev->serial, 42);
	spsc_pop(&events);
	assert_null(spsc_peek(&events));
	/* The masker's delay was drained at stop: all 100 frames went into the file. */
	assert_int_equal(ctx.completed, 1);
	free(read_only_file(".trec", &len, &count));
	assert_int_equal(count, before + 1);
	spsc_free(&events);
}

/* The Opus packets of a stream as they came out of the encoder (the two header packets skipped). */
struct packets {
	int n;
	uint8_t data[400][400];
	long len[400];
};

static void ogg_packets(const uint8_t *data, size_t len, struct packets *out)
{
	ogg_sync_state oy;
	ogg_stream_state os;
	ogg_page og;
	ogg_packet op;
	int seen = 0;
	bool started = false;

	ogg_sync_init(&oy);
	memcpy(ogg_sync_buffer(&oy, (long)len), data, len);
	ogg_sync_wrote(&oy, (long)len);
	while (ogg_sync_pageout(&oy, &og) == 1) {
		if (!started) {
			ogg_stream_init(&os, ogg_page_serialno(&og));
			started = true;
		}
		ogg_stream_pagein(&os, &og);
		while (ogg_stream_packetout(&os, &op) == 1) {
			if (seen++ < 2)
				continue;	/* OpusHead, OpusTags */
			assert_true(out->n < 400 && op.bytes <= 400);
			memcpy(out->data[out->n], op.packet, (size_t)op.bytes);
			out->len[out->n++] = op.bytes;
		}
	}
	if (started)
		ogg_stream_clear(&os);
	ogg_sync_clear(&oy);
}

struct by_record {
	struct collected all;
	int64_t record_granule[64];	/* last granule of each OGG record */
	int records;
};

static int collect_by_record(enum vault_record_type type, const uint8_t *plain, size_t len, void *userdata)
{
	struct by_record *c = userdata;

	if (type == VAULT_REC_OGG) {
		ogg_sync_state oy;
		ogg_page og;

		ogg_sync_init(&oy);
		memcpy(ogg_sync_buffer(&oy, (long)len), plain, len);
		ogg_sync_wrote(&oy, (long)len);
		assert_true(c->records < 64);
		c->record_granule[c->records] = -1;
		while (ogg_sync_pageout(&oy, &og) == 1)
			c->record_granule[c->records] = ogg_page_granulepos(&og);
		assert_int_equal(oy.fill - oy.returned, 0);	/* whole pages only */
		ogg_sync_clear(&oy);
		c->records++;
	}
	return collect(type, plain, len, &c->all);
}

static char done_file[128];

static void remember_file(void *userdata, const struct recording_done *d)
{
	(void)userdata;
	if (!d->started && d->ok)
		snprintf(done_file, sizeof(done_file), "%s", d->file);
}

/*
 * The recorder encodes frames in runs (record/recorder.c): what reaches the
 * disk must be exactly what one frame at a time gave, with the store/silence
 * decision of each frame kept, and each record must end on the flush
 * interval. Stores switch on frames that are not multiples of the run, and
 * the flush interval (7) is not one either.
 */
static void batching_changes_nothing(void **state)
{
	static struct by_record got;
	static struct packets file_pk, ref_pk;
	struct writer w;
	struct recorder_ctx ctx = { .writer = &w, .codec = { 24000, 2 }, .flush_frames = 7, .done = remember_file };
	struct oggopus *ref;
	struct bytebuf ref_pages = { 0 };
	struct recorder *r;
	enum vault_status status;
	struct vault_info info;
	uint8_t carrier[160], pbx[160], *file;
	char path[256];
	FILE *f;
	long len;

	(void)state;
	memcpy(ctx.recipient_pk, pk, sizeof(pk));
	assert_int_equal(writer_init(&w, dir, -1), 0);
	r = recorder_new(&ctx, G711_ALAW, "trunk=batch\n", &plain);
	assert_non_null(r);
	ref = oggopus_new(&ctx.codec, 1, &ref_pages);
	assert_non_null(ref);
	for (int b = 0; b < 61; b++) {
		bool store = !((b >= 3 && b < 9) || b == 22 || (b >= 40 && b < 47));
		int16_t stereo[2 * 160] = { 0 };

		tone_block(carrier, 440 + 10 * b, b);
		tone_block(pbx, 1300 - 7 * b, b);
		recorder_frame(r, carrier, pbx, store ? RECORDER_STORE : 0);
		writer_reap(&w, false);
		/* The reference: the same frame, decided the same way, encoded at once. */
		for (int i = 0; store && i < 160; i++) {
			stereo[2 * i] = g711_alaw_to_linear[carrier[i]];
			stereo[2 * i + 1] = g711_alaw_to_linear[pbx[i]];
		}
		assert_int_equal(oggopus_push(ref, stereo), 0);
	}
	recorder_stop(r, "test");
	while (ctx.completed + ctx.failed == 0)
		writer_reap(&w, true);
	writer_exit(&w);
	assert_int_equal(ctx.completed, 1);
	assert_true(oggopus_finish(ref, &ref_pages) >= 0);

	snprintf(path, sizeof(path), "%s/%s", dir, done_file);
	f = fopen(path, "rb");
	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	len = ftell(f);
	rewind(f);
	file = malloc((size_t)len);
	assert_int_equal(fread(file, 1, (size_t)len, f), (size_t)len);
	fclose(f);
	assert_int_equal(vault_read(file, (size_t)len, pk, sk, collect_by_record, &got, &status, &info), 0);
	assert_int_equal(status, VAULT_COMPLETE);

	/* Records end where the flush interval does: 7, 14, … frames (48 kHz granules). */
	for (int i = 0; i < 61 / 7; i++)
		assert_int_equal(got.record_granule[i], (int64_t)(i + 1) * 7 * 960);
	ogg_packets(got.all.oggdata, got.all.ogglen, &file_pk);
	ogg_packets(ref_pages.data, ref_pages.len, &ref_pk);
	assert_int_equal(file_pk.n, ref_pk.n);
	for (int i = 0; i < ref_pk.n; i++) {
		assert_int_equal(file_pk.len[i], ref_pk.len[i]);
		assert_memory_equal(file_pk.data[i], ref_pk.data[i], (size_t)ref_pk.len[i]);
	}
	oggopus_free(ref);
	bytebuf_free(&ref_pages);
	free(file);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(records_a_call),
		cmocka_unit_test(failed_sync_leaves_no_finished_file),
		cmocka_unit_test(nothing_stored_leaves_nothing),
		cmocka_unit_test(masked_digits_reach_the_relay_not_the_disk),
		cmocka_unit_test(batching_changes_nothing),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
