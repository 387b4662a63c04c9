// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunkrecd: the inline recorder daemon. Reads its configuration, connects to
 * the trunk pairs, starts the recording workers and runs the relay until
 * SIGTERM or SIGINT, then finishes every recording before it exits.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "store/audit.h"
#include "base/latency.h"
#include "ops/manage.h"
#include "store/catalog.h"
#include "store/filer.h"
#include "base/log.h"
#include "store/recovery.h"
#include "store/retention.h"
#include "store/purger.h"
#include "ops/control.h"
#include "relay/callview.h"
#include "relay/relay.h"
#include "base/rtprio.h"
#include "ops/stats.h"
#include "record/worker.h"
#include "policy/config.h"
#include "trunks/dchan.h"

static volatile sig_atomic_t stop_requested, reload_requested;

static void on_signal(int sig)
{
	if (sig == SIGHUP)
		reload_requested = 1;
	else
		stop_requested = 1;
}

static char *read_text(const char *path, size_t max)
{
	FILE *f = fopen(path, "re");
	char *buf;
	size_t n;

	if (!f)
		return NULL;
	buf = malloc(max + 1);
	if (!buf) {
		fclose(f);
		return NULL;
	}
	n = fread(buf, 1, max, f);
	buf[n] = '\0';
	if (!feof(f)) {
		/* Larger than any sane file of its kind. */
		free(buf);
		buf = NULL;
		errno = EFBIG;
	}
	fclose(f);
	return buf;
}

static int load_config(const char *path, struct config *cfg)
{
	char err[512];
	char *text = read_text(path, 1 << 20);

	if (!text) {
		fprintf(stderr, "trunkrecd: cannot read the configuration %s: %s; pass the right file with -c\n",
			path, strerror(errno));
		return -1;
	}
	if (config_parse(cfg, path, text, err, sizeof(err)) < 0) {
		fprintf(stderr, "trunkrecd: %s\n", err);
		free(text);
		return -1;
	}
	free(text);
	return 0;
}

static int load_public_key(const char *path, uint8_t pk[VAULT_PK_BYTES])
{
	char *text = read_text(path, 256);
	int rc;

	if (!text) {
		fprintf(stderr, "trunkrecd: cannot read the recipient public key %s: %s; create one with 'trunkrec keygen'\n",
			path, strerror(errno));
		return -1;
	}
	rc = vault_key_parse(text, strlen(text), pk);
	free(text);
	if (rc < 0) {
		fprintf(stderr, "trunkrecd: %s is not a public key (64 hex digits); create one with 'trunkrec keygen'\n", path);
		return -1;
	}
	return 0;
}

/* Batch latency: percentiles, then the non-empty buckets as lo_ns:count for plots (bench/run). */
static void print_batch_latency(const struct relay_stats *r)
{
	unsigned long hist[RELAY_BATCH_HIST], total = 0;

	for (unsigned b = 0; b < RELAY_BATCH_HIST; b++) {
		hist[b] = atomic_load(&r->batch_hist[b]);
		total += hist[b];
	}
	uint64_t max = atomic_load(&r->batch_ns_max), q[3] = {
		latency_quantile_ns(hist, total, 0.50), latency_quantile_ns(hist, total, 0.99),
		latency_quantile_ns(hist, total, 0.999) };

	for (int i = 0; i < 3; i++)
		q[i] = q[i] < max ? q[i] : max;	/* a bucket's bound may pass the true worst */
	printf("trunkrecd: batches=%lu batch_p50_us=%.1f batch_p99_us=%.1f batch_p999_us=%.1f batch_max_us=%.1f\n",
	       total, q[0] / 1e3, q[1] / 1e3, q[2] / 1e3, max / 1e3);
	printf("trunkrecd: batch_hist_ns=");
	for (unsigned b = 0, first = 1; b < RELAY_BATCH_HIST; b++) {
		if (!hist[b])
			continue;
		printf("%s%llu:%lu", first ? "" : ",", (unsigned long long)latency_bucket_lo(b), hist[b]);
		first = 0;
	}
	printf("\n");
}

/* [general] blind_index_key: SECRET, wiped by the caller. "" = no key: numbers are not indexed. */
static int load_index_key(const char *path, uint8_t key[CATALOG_KEY_BYTES], bool *ret_have)
{
	char *text;
	int rc;

	*ret_have = false;
	if (!*path)
		return 0;
	text = read_text(path, 256);
	if (!text) {
		fprintf(stderr, "trunkrecd: cannot read the blind index key %s: %s; create one with "
			"'trunkrec keygen-index FILE' or unset blind_index_key\n", path, strerror(errno));
		return -1;
	}
	rc = vault_key_parse(text, strlen(text), key);
	sodium_memzero(text, strlen(text));
	free(text);
	if (rc < 0) {
		fprintf(stderr, "trunkrecd: %s is not a blind index key (64 hex digits); create one with "
			"'trunkrec keygen-index FILE'\n", path);
		return -1;
	}
	*ret_have = true;
	return 0;
}

/*
 * Before any call: the audit log says which configuration was loaded, every
 * .partial a crash left is recovered, and the catalog thread starts.
 */
static int lifecycle_start(const char *config_path, const struct config *cfg, struct audit **ret_audit,
			   struct catalog **ret_catalog, struct catalog_queue **ret_queue)
{
	uint8_t key[CATALOG_KEY_BYTES], digest[16];
	char details[512], hex[33];
	struct recovery_stats rs;
	bool have_key;
	char *text;
	int rc;

	rc = audit_open(cfg->audit_log, ret_audit);
	if (rc < 0) {
		fprintf(stderr, "trunkrecd: cannot open the audit log %s: %s; set [general] audit_log\n",
			cfg->audit_log, strerror(-rc));
		return -1;
	}
	text = read_text(config_path, 1 << 20);
	crypto_generichash(digest, sizeof(digest), (const uint8_t *)(text ? text : ""), text ? strlen(text) : 0, NULL, 0);
	free(text);
	sodium_bin2hex(hex, sizeof(hex), digest, sizeof(digest));
	snprintf(details, sizeof(details), "blake2b128=%s,pairs=%d,rules=%d,catalog=%s,blind_index=%s", hex,
		 cfg->npairs, cfg->rules.n, cfg->catalog, *cfg->blind_index_key ? "yes" : "no");
	rc = audit_append(*ret_audit, (int64_t)time(NULL), (uint32_t)getuid(), "config_load", config_path, details, NULL);
	if (rc < 0) {
		fprintf(stderr, "trunkrecd: cannot write to the audit log %s: %s; %s\n", cfg->audit_log, strerror(-rc),
			rc == -EBADMSG ? "its last line is not an entry: run 'trunkrec audit verify'" : "check the disk");
		return -1;
	}
	if (load_index_key(cfg->blind_index_key, key, &have_key) < 0)
		return -1;
	if (!have_key)
		log_warn("trunkrecd: no [general] blind_index_key: recordings are catalogued without their numbers "
			 "and 'trunkrec find' cannot find them");
	rc = catalog_open(cfg->catalog, have_key ? key : NULL, ret_catalog);
	sodium_memzero(key, sizeof(key));
	if (rc < 0) {
		fprintf(stderr, "trunkrecd: cannot open the catalog %s: %s; set [general] catalog\n", cfg->catalog,
			strerror(-rc));
		return -1;
	}
	rc = recovery_run(cfg->recordings, *ret_catalog, *ret_audit, (uint32_t)getuid(), (int64_t)time(NULL),
			  catalog_retention_days(&cfg->rules, NULL), &rs);
	if (rs.recovered || rs.removed || rs.orphans || rs.errors)
		log_warn("trunkrecd: recovery in %s: %u recording(s) closed after a crash (TRUNCATED), %u torn "
			 "header(s) removed, %u unfiled recording(s) catalogued, %u not handled%s%s",
			 cfg->recordings, rs.recovered, rs.removed, rs.orphans, rs.errors, rc < 0 ? ": " : "",
			 rc < 0 ? strerror(-rc) : "");
	rc = catalog_queue_start(*ret_catalog, &cfg->rules, *ret_audit, cfg->recordings, 0, ret_queue);
	if (rc < 0) {
		fprintf(stderr, "trunkrecd: cannot start the catalog thread: %s\n", strerror(-rc));
		return -1;
	}
	return 0;
}

static void print_summary(const struct relay_stats *r, struct worker *workers, int nworkers)
{
	unsigned long started = 0, completed = 0, failed = 0, frames = 0, never = 0;

	for (int i = 0; i < nworkers; i++) {
		started += workers[i].ctx.started;
		completed += workers[i].ctx.completed;
		failed += workers[i].ctx.failed;
		never += workers[i].ctx.never_stored;
		frames += atomic_load(&workers[i].frames);
	}
	printf("trunkrecd: calls in=%lu out=%lu failed=%lu up_at_shutdown=%lu\n", atomic_load(&r->calls_in),
	       atomic_load(&r->calls_out), atomic_load(&r->calls_failed),
	       atomic_load(&r->calls_at_shutdown));
	printf("trunkrecd: recordings started=%lu complete=%lu failed=%lu never_stored=%lu frames=%lu dropped=%lu\n",
	       started, completed, failed, never, frames, atomic_load(&r->frames_dropped_ring));
	printf("trunkrecd: policy unannounced=%lu unannounced_alarms=%lu\n", atomic_load(&r->unannounced),
	       atomic_load(&r->unannounced_alarms));
	printf("trunkrecd: disk refused=%lu\n", atomic_load(&r->recordings_refused));
	printf("trunkrecd: span alarms=%lu\n", atomic_load(&r->span_alarms));
	printf("trunkrecd: blocks=%lu write_drops=%lu worst_batch_us=%llu late_batches=%lu\n",
	       atomic_load(&r->blocks), atomic_load(&r->blocks_dropped_write),
	       (unsigned long long)atomic_load(&r->batch_ns_max) / 1000,
	       atomic_load(&r->late_batches));
	print_batch_latency(r);
	fflush(stdout);
}

/* What the control socket's reports read. */
struct report_sources {
	struct stats_sources stats;
	struct callview *calls;
	struct manage *manage;		/* the control thread's catalog connection: the retention backlog */
};

static struct report_sources report_sources;
static _Atomic bool stats_ready;	/* the relay is set up: its counters may be read */

/* Control thread: the operators' view, from what the relay and workers publish. */
static size_t render_report(void *userdata, const char *what, const char *format, char *buf, size_t size)
{
	struct report_sources *src = userdata;
	enum stats_format f = !strcmp(format, "json") ? STATS_JSON : !strcmp(format, "prometheus") ? STATS_PROMETHEUS
												    : STATS_TEXT;

	if (!atomic_load(&stats_ready))
		return (size_t)snprintf(buf, size, "starting\n");
	if (!strcmp(what, "calls"))
		return callview_render(src->calls, f == STATS_JSON ? CALLVIEW_JSON : CALLVIEW_TEXT, buf, size);
	if (!strcmp(what, "spans"))
		return stats_render_spans(&src->stats, f, buf, size);
	src->stats.retention_backlog = src->manage ? manage_retention_backlog(src->manage, (int64_t)time(NULL)) : -1;
	return stats_render(&src->stats, f, buf, size);
}

/* What SIGHUP reloads from: the same file; only the rules take effect without a restart. */
struct reload_source {
	const char *path;
	const struct config *running;
};

static struct reload_source reload_source;

static bool same_pairs(const struct config *a, const struct config *b)
{
	if (a->npairs != b->npairs)
		return false;
	for (int i = 0; i < a->npairs; i++)
		if (strcmp(a->pairs[i].name, b->pairs[i].name) || strcmp(a->pairs[i].port_a, b->pairs[i].port_a) ||
		    strcmp(a->pairs[i].port_b, b->pairs[i].port_b))
			return false;
	return true;
}

/* Loader thread: a new policy generation from the file, or a refusal that names why. */
static struct policy_set *load_policy(void *userdata, char *err, size_t errsize)
{
	const struct reload_source *src = userdata;
	struct policy_set *s = calloc(1, sizeof(*s));
	char *text = read_text(src->path, 1 << 20), report[2048] = "";

	if (!s || !text) {
		snprintf(err, errsize, "cannot read %s: %s", src->path, strerror(errno));
		goto fail;
	}
	if (config_parse(&s->cfg, src->path, text, err, errsize) < 0)
		goto fail;
	if (!same_pairs(&s->cfg, src->running)) {
		snprintf(err, errsize, "%s: the trunk pairs changed; restart trunkrecd to apply that", src->path);
		goto fail;
	}
	if (prompt_lib_load(&s->prompts, &s->cfg.rules, err, errsize) < 0)
		goto fail;
	if (policy_rules_check(&s->cfg.rules, report, sizeof(report)))
		log_warn("reloaded rules have findings (trunkrecd --check-config): %s", report);
	s->allocated = true;
	free(text);
	return s;
fail:
	free(text);
	free(s);
	return NULL;
}

static void usage(void)
{
	fprintf(stderr, "usage: trunkrecd [-c CONFIG] [--check-config] [-v]\n"
			"  -c, --config FILE   configuration (default /etc/trunkrec/trunkrecd.conf)\n"
			"  --check-config      check the configuration and exit\n"
			"  -v, --verbose       debug log lines and libpri messages\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "config", required_argument, NULL, 'c' },
		{ "check-config", no_argument, NULL, 'C' },
		{ "verbose", no_argument, NULL, 'v' },
		{ "help", no_argument, NULL, 'h' },
		{ 0 },
	};
	const char *config_path = "/etc/trunkrec/trunkrecd.conf";
	bool check_only = false, verbose = false;
	static struct config cfg;
	static struct relay_stats relay_stats;
	static struct callview view;
	struct relay *relay = NULL;
	static struct control control;
	static struct manage manage;	/* the control thread's lifecycle commands */
	static struct policy_set policy;
	static struct purger purger;
	static struct diskwatch disk;
	struct worker *workers;
	struct worker_settings ws;
	struct audit *audit = NULL;
	struct catalog *catalog = NULL;
	struct catalog_queue *catq = NULL;
	struct catalog_queue_stats cs = { 0 };
	uint8_t pk[VAULT_PK_BYTES];
	int opt, nworkers, rc;

	while ((opt = getopt_long(argc, argv, "c:vh", opts, NULL)) != -1) {
		switch (opt) {
		case 'c': config_path = optarg; break;
		case 'C': check_only = true; break;
		case 'v': verbose = true; break;
		case 'h': usage(); return 0;
		default: usage(); return 2;
		}
	}
	if (sodium_init() < 0) {
		fprintf(stderr, "trunkrecd: libsodium failed to initialise\n");
		return 1;
	}
	if (load_config(config_path, &cfg) < 0 || load_public_key(cfg.recipient_key, pk) < 0)
		return 2;
	{
		static struct prompt_lib prompts_check;
		char report[4096] = "", err[512] = "";
		int findings = policy_rules_check(&cfg.rules, report, sizeof(report));

		/* Prompts are part of the configuration: one that does not load is a config error. */
		if (prompt_lib_load(&prompts_check, &cfg.rules, err, sizeof(err)) < 0) {
			fprintf(stderr, "trunkrecd: %s; fix the rule's prompt = FILE\n", err);
			return 2;
		}
		prompt_lib_free(&prompts_check);
		if (check_only) {
			fputs(report, stdout);
			printf("%s: %s, %d trunk pair(s), %d rule(s), %d finding(s)\n", config_path,
			       findings ? "CHECK" : "OK", cfg.npairs, cfg.rules.n, findings);
			return findings ? 1 : 0;
		}
		if (findings)
			fprintf(stderr, "trunkrecd: warning: the rules have findings (trunkrecd --check-config):\n%s", report);
	}
	if (verbose || !strcmp(cfg.log_level, "debug"))
		log_set_level(LOG_LVL_DEBUG);
	else if (!strcmp(cfg.log_level, "warning"))
		log_set_level(LOG_LVL_WARN);
	else if (!strcmp(cfg.log_level, "error"))
		log_set_level(LOG_LVL_ERR);
	dchan_set_logging(verbose);
	if (mkdir(cfg.recordings, 0750) < 0 && errno != EEXIST) {
		fprintf(stderr, "trunkrecd: cannot create the recordings directory %s: %s; set [general] recordings\n",
			cfg.recordings, strerror(errno));
		return 2;
	}

	if (lifecycle_start(config_path, &cfg, &audit, &catalog, &catq) < 0)
		return 2;
	if (cfg.purge_interval_s > 0) {
		rc = purger_start(&purger, cfg.recordings, cfg.catalog, audit, cfg.purge_interval_s);
		if (rc < 0) {
			fprintf(stderr, "trunkrecd: cannot start the retention schedule on %s: %s\n", cfg.catalog,
				strerror(-rc));
			return 2;
		}
	}
	rc = diskwatch_start(&disk, cfg.recordings, (unsigned)cfg.disk_low_mb);
	if (rc < 0) {
		fprintf(stderr, "trunkrecd: cannot start watching %s: %s\n", cfg.recordings, strerror(-rc));
		return 2;
	}

	nworkers = cfg.workers ? cfg.workers : (int)sysconf(_SC_NPROCESSORS_ONLN);
	if (nworkers < 1)
		nworkers = 1;
	workers = calloc((size_t)nworkers, sizeof(*workers));
	if (!workers)
		return 1;
	ws = (struct worker_settings){
		.out_of_space = &relay_stats.out_of_space,
		.done = catalog_done_hook,
		.done_userdata = catq,
		.dir = cfg.recordings,
		.recipient_pk = pk,
		.codec = { .bitrate = cfg.bitrate, .complexity = cfg.complexity },
		.flush_frames = cfg.flush_interval_ms / 20,
	};
	for (int i = 0; i < nworkers; i++) {
		rc = worker_start(&workers[i], i, &ws);
		if (rc < 0) {
			fprintf(stderr, "trunkrecd: cannot start recording worker %d: %s (recordings in %s)\n",
				i, strerror(-rc), cfg.recordings);
			return 1;
		}
	}
	if (callview_init(&view) < 0) {
		fprintf(stderr, "trunkrecd: cannot set up the live-call view\n");
		return 1;
	}
	/* Before the control socket opens: its first stats request reads these. */
	report_sources = (struct report_sources){ { &relay_stats, workers, nworkers, &disk, &view, pthread_self(), -1 }, &view,
						  &manage };
	if (cfg.control_socket[0]) {
		char dir[CONFIG_PATH_MAX];
		char *slash;

		/* Its directory (/run/trunkrec by default) may be new after a reboot. */
		snprintf(dir, sizeof(dir), "%s", cfg.control_socket);
		slash = strrchr(dir, '/');
		if (slash && slash != dir) {
			*slash = '\0';
			if (mkdir(dir, 0750) < 0 && errno != EEXIST)
				fprintf(stderr, "trunkrecd: cannot create %s: %s\n", dir, strerror(errno));
		}
		manage = (struct manage){ .recordings = cfg.recordings, .catalog_path = cfg.catalog,
					  .audit_path = cfg.audit_log, .audit = audit };
		rc = control_start(&control, &(struct control_opts){
			.path = cfg.control_socket,
			.mode = (unsigned)strtoul(cfg.control_socket_mode, NULL, 8),
			.roles = cfg.roles,
			.audit = audit,
			.report = render_report,
			.report_userdata = &report_sources,
			.manage = &manage,
		});
		if (rc < 0) {
			fprintf(stderr, "trunkrecd: cannot open the control socket %s: %s; set [general] control_socket "
				"to a writable path (or empty to have none)\n", cfg.control_socket, strerror(-rc));
			return 2;
		}
	}
	{
		char err[512];

		policy.cfg = cfg;
		if (prompt_lib_load(&policy.prompts, &cfg.rules, err, sizeof(err)) < 0) {
			fprintf(stderr, "trunkrecd: %s; fix the rule's prompt = FILE\n", err);
			return 2;
		}
	}
	rc = relay_new(&(struct relay_opts){
		.cfg = &cfg,
		.workers = workers,
		.nworkers = nworkers,
		.inbox = cfg.control_socket[0] ? &control.inbox : NULL,
		.policy = &policy,
		.stats = &relay_stats,
		.view = &view,
	}, &relay);
	if (rc < 0) {
		fprintf(stderr, "trunkrecd: cannot set up the relay: %s\n", strerror(-rc));
		return 1;
	}
	reload_source = (struct reload_source){ config_path, &cfg };
	relay_set_loader(relay, load_policy, &reload_source);
	atomic_store(&stats_ready, true);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGTERM, on_signal);
	signal(SIGINT, on_signal);
	signal(SIGHUP, on_signal);
	log_info("trunkrecd: %d trunk pair(s), %d recording worker(s), recordings in %s",
		 cfg.npairs, nworkers, cfg.recordings);
	/* Last, so that no thread started above inherits it: base/rtprio.h. */
	if (cfg.relay_priority && (rc = rtprio_enter(cfg.relay_priority)) < 0)
		log_warn("relay: cannot run at real-time priority %d (%s): pass-through now competes with the "
			 "encoders for the CPU; give trunkrecd LimitRTPRIO=%d (dist/trunkrecd.service) or CAP_SYS_NICE, "
			 "or set [general] relay_priority = 0 to run without", cfg.relay_priority, strerror(-rc),
			 cfg.relay_priority);
	rc = relay_run(relay, &stop_requested, &reload_requested);
	if (cfg.control_socket[0]) {
		control_stop(&control);
		manage_close(&manage);
	}
	for (int i = 0; i < nworkers; i++)
		worker_stop(&workers[i]);
	/* After the workers: their last recordings are in the queue. */
	catalog_queue_stop(catq, &cs);
	print_summary(&relay_stats, workers, nworkers);
	printf("trunkrecd: catalog written=%lu dropped=%lu failed=%lu\n", cs.written, cs.dropped, cs.failed);
	fflush(stdout);
	if (cfg.purge_interval_s > 0)
		purger_stop(&purger);
	diskwatch_stop(&disk);
	catalog_close(catalog);
	audit_close(audit);
	relay_free(relay);
	callview_destroy(&view);
	free(workers);
	return rc < 0 ? 1 : 0;
}
