// SPDX-License-Identifier: GPL-2.0-or-later
#include "ops/stats.h"

#include <stdio.h>
#include <time.h>

#include "base/latency.h"
#include "base/textout.h"
#include "trunks/port.h"

/* One figure, described once and rendered in every format. */
struct figure {
	const char *name;	/* snake_case, the JSON key and Prometheus metric (trunkrec_ prefix) */
	const char *help;
	unsigned long long value;
};

#define LOAD(x) atomic_load_explicit(&(x), memory_order_relaxed)

/* CPU a thread has used, in ms (its CPU clock, readable from any thread of the process). */
static unsigned long long thread_cpu_ms(pthread_t t)
{
	clockid_t cid;
	struct timespec ts;

	if (pthread_getcpuclockid(t, &cid) != 0 || clock_gettime(cid, &ts) != 0)
		return 0;
	return (unsigned long long)ts.tv_sec * 1000 + (unsigned long long)ts.tv_nsec / 1000000;
}

/* The q-quantile of a histogram some other thread fills (a plain or atomic array: a torn read blurs it). */
static unsigned long long quantile_us(const unsigned long *hist, double q)
{
	unsigned long total = 0;

	for (unsigned b = 0; b < LATENCY_BUCKETS; b++)
		total += hist[b];
	return latency_quantile_ns(hist, total, q) / 1000;
}

static int collect(const struct stats_sources *src, struct figure *f, int max)
{
	const struct relay_stats *s = src->relay;
	unsigned long rec_started = 0, rec_complete = 0, rec_failed = 0, never = 0, frames = 0;
	unsigned long long written = 0, sync_max = 0, workers_cpu = 0, inflight = 0;
	unsigned long sync_hist[LATENCY_BUCKETS] = { 0 }, batch_hist[LATENCY_BUCKETS];
	int n = 0;

	for (unsigned b = 0; b < LATENCY_BUCKETS; b++)
		batch_hist[b] = LOAD(s->batch_hist[b]);

	for (int i = 0; i < src->nworkers; i++) {
		const struct worker *w = &src->workers[i];

		rec_started += LOAD(w->ctx.started);
		rec_complete += LOAD(w->ctx.completed);
		rec_failed += LOAD(w->ctx.failed);
		never += LOAD(w->ctx.never_stored);
		frames += LOAD(w->frames);
		/* Writer counters are plain: a torn read only blurs a figure. */
		written += w->writer.stats.bytes_written;
		if (w->writer.stats.sync_ns_max > sync_max)
			sync_max = w->writer.stats.sync_ns_max;
		for (unsigned b = 0; b < LATENCY_BUCKETS; b++)
			sync_hist[b] += w->writer.stats.sync_hist[b];
		inflight += w->writer.inflight;
		workers_cpu += thread_cpu_ms(w->thread);
	}
#define FIG(n_, h_, v_) do { if (n < max) f[n++] = (struct figure){ n_, h_, (unsigned long long)(v_) }; } while (0)
	FIG("calls_in", "inbound calls relayed", LOAD(s->calls_in));
	FIG("calls_out", "outbound calls relayed", LOAD(s->calls_out));
	FIG("calls_active", "calls connected now", LOAD(s->calls_active));
	FIG("calls_failed", "calls cleared before answer", LOAD(s->calls_failed));
	FIG("recordings_started", "recording files created", rec_started);
	FIG("recordings_complete", "recordings finished and durable", rec_complete);
	FIG("recordings_failed", "recordings that failed (I/O)", rec_failed);
	FIG("recordings_never_stored", "calls the policy never let store anything", never);
	FIG("recordings_refused_disk_full", "calls not recorded because the disk was full", LOAD(s->recordings_refused));
	FIG("disk_full", "1 while new recordings are refused for lack of space", LOAD(s->out_of_space));
	FIG("policy_unannounced", "calls not announced (nothing stored)", LOAD(s->unannounced));
	FIG("policy_unannounced_alarms", "unannounced-line alarms raised", LOAD(s->unannounced_alarms));
	FIG("policy_stopped_at_transfer", "recordings stopped at a transfer", LOAD(s->stopped_at_transfer));
	FIG("policy_paused_hold", "pauses for hold", LOAD(s->paused_hold));
	FIG("policy_paused_payment", "pauses for card payment", LOAD(s->paused_payment));
	FIG("policy_dtmf_masked", "DTMF tones masked", LOAD(s->dtmf_masked));
	FIG("span_alarms", "alarms raised: a port's line or D-channel went down", LOAD(s->span_alarms));
	{
		unsigned long long hdlc = 0, over = 0, under = 0;

		for (int i = 0; i < src->relay->npairs; i++)
			for (int side = 0; side < 2; side++) {
				hdlc += LOAD(s->span[i].hdlc_errors[side]);
				over += LOAD(s->span[i].read_overruns[side]);
				under += LOAD(s->span[i].write_underruns[side]);
			}
		FIG("line_hdlc_errors", "D-channel frames the card dropped (bad FCS, abort, overrun)", hdlc);
		FIG("line_read_overruns", "B-channel receive overruns reported by the card (audio lost)", over);
		FIG("line_write_underruns", "B-channel transmit underruns reported by the card", under);
	}
	FIG("blocks", "B-channel blocks relayed", LOAD(s->blocks));
	FIG("blocks_write_dropped", "blocks the card did not take", LOAD(s->blocks_dropped_write));
	FIG("frames_encoded", "stereo frames encoded", frames);
	FIG("frames_dropped", "recording frames dropped (worker ring full)", LOAD(s->frames_dropped_ring));
	FIG("late_batches", "relay batches over 20 ms", LOAD(s->late_batches));
	FIG("worst_batch_us", "worst relay batch (wake-up to last pass-through write): the most pass-through delay trunkrecd added",
	    LOAD(s->batch_ns_max) / 1000);
	FIG("batch_p99_us", "relay batch time, 99th percentile (at most 25 % high): pass-through delay trunkrecd adds",
	    quantile_us(batch_hist, 0.99));
	FIG("relay_cpu_ms", "CPU the relay thread used", src->relay_thread ? thread_cpu_ms(src->relay_thread) : 0);
	FIG("encoder_cpu_ms", "CPU the recording workers used (decode, DSP, Opus, sealing)", workers_cpu);
	FIG("io_inflight", "writes and fdatasyncs queued in io_uring now", inflight);
	FIG("bytes_written", "recording bytes written", written);
	FIG("fdatasync_max_us", "slowest fdatasync", sync_max / 1000);
	FIG("fdatasync_p99_us", "fdatasync time, 99th percentile (at most 25 % high)", quantile_us(sync_hist, 0.99));
	if (src->retention_backlog >= 0)
		FIG("retention_backlog", "expired recordings not yet purged (held ones excluded)", src->retention_backlog);
	if (src->disk) {
		/* As the disk watcher last saw it: statvfs() may block, and this is the control thread. */
		FIG("disk_free_bytes", "free space for recordings", LOAD(src->disk->free_bytes));
		FIG("disk_low", "1 while free space is below disk_low_mb", LOAD(src->disk->low));
		FIG("disk_low_alarms", "disk-low alarms raised", LOAD(src->disk->alarms));
	}
#undef FIG
	return n;
}

static const char *port_word(const struct relay_stats *r, int i, int s)
{
	return port_alarm_name((enum port_alarm)LOAD(r->span[i].alarm[s]));
}

static const char *link_word(const struct relay_stats *r, int i, int s)
{
	return LOAD(r->span[i].link_up[s]) ? "up" : "down";
}

/* "[{…},…]": each pair's two ports, their D-channels and its calls. */
static void spans_json(const struct relay_stats *r, struct textout *o)
{
	textout_put(o, "[");
	for (int i = 0; i < r->npairs; i++) {
		textout_put(o, "%s{\"pair\":", i ? "," : "");
		textout_json_string(o, r->span[i].name);
		textout_put(o, ",\"port_a\":\"%s\",\"port_b\":\"%s\",\"dchan_a\":\"%s\",\"dchan_b\":\"%s\",\"calls\":%u}",
			    port_word(r, i, 0), port_word(r, i, 1), link_word(r, i, 0), link_word(r, i, 1),
			    LOAD(r->span[i].calls));
	}
	textout_put(o, "]");
}

static void spans_text(const struct relay_stats *r, struct textout *o)
{
	textout_put(o, "%-10s %-6s %-6s %-8s %-8s %5s\n", "pair", "port A", "port B", "D-chan A", "D-chan B", "calls");
	for (int i = 0; i < r->npairs; i++)
		textout_put(o, "%-10s %-6s %-6s %-8s %-8s %5u\n", r->span[i].name, port_word(r, i, 0),
			    port_word(r, i, 1), link_word(r, i, 0), link_word(r, i, 1), LOAD(r->span[i].calls));
}

size_t stats_render_spans(const struct stats_sources *src, enum stats_format format, char *buf, size_t size)
{
	struct textout o = textout_init(buf, size);

	if (format == STATS_JSON) {
		textout_put(&o, "{\"spans\":");
		spans_json(src->relay, &o);
		textout_put(&o, "}\n");
	} else {
		spans_text(src->relay, &o);
	}
	return o.len;
}

/* Per line (rule): announced and unannounced calls, the alarm. "not announced per line" for operators. */
static void lines_render(const struct stats_sources *src, enum stats_format format, struct textout *o)
{
	static struct line_view lines[CALLVIEW_LINES];	/* the control thread's; too big for its stack */
	int n = src->view ? callview_lines(src->view, lines) : 0;

	switch (format) {
	case STATS_JSON:
		textout_put(o, ",\"lines\":[");
		for (int i = 0; i < n; i++) {
			textout_put(o, "%s{\"rule\":", i ? "," : "");
			textout_json_string(o, lines[i].rule);
			textout_put(o, ",\"announced\":%lu,\"unannounced\":%lu,\"unannounced_in_a_row\":%lu,\"alarm\":%d}",
				    lines[i].announced, lines[i].unannounced, lines[i].unannounced_in_a_row,
				    lines[i].alarm);
		}
		textout_put(o, "]");
		break;
	case STATS_PROMETHEUS:
		textout_put(o, "# HELP trunkrec_line_unannounced calls of this rule not announced (nothing stored)\n"
			       "# TYPE trunkrec_line_unannounced counter\n");
		for (int i = 0; i < n; i++)
			textout_put(o, "trunkrec_line_unannounced{rule=\"%s\"} %lu\n", lines[i].rule, lines[i].unannounced);
		textout_put(o, "# HELP trunkrec_line_alarm 1 while the rule's unannounced-line alarm is up\n"
			       "# TYPE trunkrec_line_alarm gauge\n");
		for (int i = 0; i < n; i++)
			textout_put(o, "trunkrec_line_alarm{rule=\"%s\"} %d\n", lines[i].rule, lines[i].alarm);
		break;
	case STATS_TEXT:
		textout_put(o, "%-20s %10s %12s %9s  %s\n", "line (rule)", "announced", "unannounced", "in a row", "alarm");
		for (int i = 0; i < n; i++)
			textout_put(o, "%-20s %10lu %12lu %9lu  %s\n", lines[i].rule, lines[i].announced,
				    lines[i].unannounced, lines[i].unannounced_in_a_row, lines[i].alarm ? "ALARM" : "-");
		break;
	}
}

size_t stats_render(const struct stats_sources *src, enum stats_format format, char *buf, size_t size)
{
	struct figure f[64];
	struct textout o = textout_init(buf, size);
	int n = collect(src, f, 64);
	const struct relay_stats *r = src->relay;

	switch (format) {
	case STATS_JSON:
		textout_put(&o, "{\"spans\":");
		spans_json(r, &o);
		for (int i = 0; i < n; i++)
			textout_put(&o, ",\"%s\":%llu", f[i].name, f[i].value);
		lines_render(src, format, &o);
		textout_put(&o, "}\n");
		break;
	case STATS_PROMETHEUS:
		for (int i = 0; i < n; i++)
			textout_put(&o, "# HELP trunkrec_%s %s\n# TYPE trunkrec_%s gauge\ntrunkrec_%s %llu\n", f[i].name,
				    f[i].help, f[i].name, f[i].name, f[i].value);
		textout_put(&o, "# HELP trunkrec_span_up port up (1) or in alarm (0)\n# TYPE trunkrec_span_up gauge\n");
		for (int i = 0; i < r->npairs; i++)
			for (int s = 0; s < 2; s++)
				textout_put(&o, "trunkrec_span_up{pair=\"%s\",port=\"%c\"} %d\n", r->span[i].name,
					    s ? 'B' : 'A', LOAD(r->span[i].port_up[s]) ? 1 : 0);
		lines_render(src, format, &o);
		break;
	case STATS_TEXT:
		spans_text(r, &o);
		textout_put(&o, "\n");
		lines_render(src, format, &o);
		textout_put(&o, "\n");
		for (int i = 0; i < n; i++)
			textout_put(&o, "%-28s %14llu  %s\n", f[i].name, f[i].value, f[i].help);
		break;
	}
	return o.len;
}
