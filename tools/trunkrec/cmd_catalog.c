// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunkrec's catalog commands: find, hold, release, delete, purge, sar,
 * catalog (list), keygen-index. They work on the catalog, the recordings
 * directory and the audit log directly (docs/storage.md); each action is
 * audited before it is taken, and a refused one is audited as 'refused'.
 *
 * Common options: --config trunkrecd.conf, or --catalog FILE --recordings DIR
 * --audit FILE [--index-key FILE] (each overrides the configuration).
 *
 * SECRET: the blind index key and the private key are wiped before return.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "store/audit.h"
#include "store/catalog.h"
#include "store/recovery.h"
#include "store/retention.h"
#include "record/vault.h"
#include "policy/config.h"
#include "tools/trunkrec/cmds.h"
#include "tools/trunkrec/export.h"

#define MAX_RECORDING_BYTES	((size_t)2 << 30)

static struct config cfg;	/* large: not on the stack */

bool cli_paths_opt(struct cli_paths *p, int opt, const char *arg)
{
	switch (opt) {
	case 'c': p->config = arg; return true;
	case 'C': p->catalog = arg; return true;
	case 'D': p->recordings = arg; return true;
	case 'A': p->audit = arg; return true;
	case 'I': p->index_key = arg; return true;
	case 'S': p->socket = arg; return true;
	default: return false;
	}
}

bool cli_paths_none(const struct cli_paths *p)
{
	return !p->config && !p->catalog && !p->recordings && !p->audit;
}

int cli_paths_resolve(struct cli_paths *p, int *ret_default_retention)
{
	char err[512];
	uint8_t *text;
	size_t len;
	int r;

	if (ret_default_retention)
		*ret_default_retention = CATALOG_DEFAULT_RETENTION_DAYS;
	if (p->config) {
		r = cli_read_file(p->config, 1 << 20, &text, &len);
		if (r < 0) {
			fprintf(stderr, "trunkrec: %s: cannot read the configuration: %s\n", p->config, strerror(-r));
			return -1;
		}
		r = config_parse(&cfg, p->config, (const char *)text, err, sizeof(err));
		free(text);
		if (r < 0) {
			fprintf(stderr, "trunkrec: %s\n", err);
			return -1;
		}
		if (!p->catalog)
			p->catalog = cfg.catalog;
		if (!p->recordings)
			p->recordings = cfg.recordings;
		if (!p->audit)
			p->audit = cfg.audit_log;
		if (!p->index_key && *cfg.blind_index_key)
			p->index_key = cfg.blind_index_key;
		if (ret_default_retention)
			*ret_default_retention = cfg.rules.deflt.retention_days;
	}
	if (!p->audit) {
		fprintf(stderr, "trunkrec: where is the audit log? give --config trunkrecd.conf or --audit FILE\n");
		return -1;
	}
	return 0;
}

struct life {
	struct cli_paths paths;
	struct catalog *catalog;
	struct audit *audit;
	uint32_t uid;
};

static int life_open(struct life *l, bool need_key)
{
	uint8_t key[CATALOG_KEY_BYTES];
	bool have_key = false;
	int r;

	l->uid = (uint32_t)getuid();
	if (cli_paths_resolve(&l->paths, NULL) < 0)
		return -1;
	if (!l->paths.catalog || !l->paths.recordings) {
		fprintf(stderr, "trunkrec: give --config trunkrecd.conf, or --catalog FILE and --recordings DIR\n");
		return -1;
	}
	if (l->paths.index_key) {
		if (cli_key_load(l->paths.index_key, "blind index key", key) < 0)
			return -1;
		have_key = true;
	} else if (need_key) {
		fprintf(stderr, "trunkrec: numbers are found through the blind index: give --index-key FILE "
			"(or a --config with blind_index_key)\n");
		return -1;
	}
	r = audit_open(l->paths.audit, &l->audit);
	if (r < 0) {
		fprintf(stderr, "trunkrec: %s: cannot open the audit log: %s\n", l->paths.audit, strerror(-r));
		sodium_memzero(key, sizeof(key));
		return -1;
	}
	r = catalog_open(l->paths.catalog, have_key ? key : NULL, &l->catalog);
	sodium_memzero(key, sizeof(key));
	if (r < 0) {
		fprintf(stderr, "trunkrec: %s: cannot open the catalog: %s\n", l->paths.catalog, strerror(-r));
		return -1;
	}
	return 0;
}

static void life_close(struct life *l)
{
	catalog_close(l->catalog);
	audit_close(l->audit);
}

/* Write the audit entry; an action that cannot be audited is not taken. */
static int life_audit(struct life *l, const char *action, const char *object, const char *details)
{
	int r = audit_append(l->audit, (int64_t)time(NULL), l->uid, action, object, details, NULL);

	if (r < 0)
		fprintf(stderr, "trunkrec: %s: cannot write the audit log (%s); nothing done%s\n", l->paths.audit,
			strerror(-r), r == -EBADMSG ? ": its last line is not an entry, run 'trunkrec audit verify'" : "");
	return r;
}

/* "2024-05-01", "2024-05-01T10:00:00" (UTC) or "@1714557600". end: a bare date means its end. */
static int parse_time(const char *s, bool end, int64_t *ret)
{
	struct tm tm = { 0 };
	const char *rest;
	char *e;

	if (s[0] == '@') {
		long long v = strtoll(s + 1, &e, 10);

		if (e == s + 1 || *e || v < 0)
			return -EINVAL;
		*ret = v;
		return 0;
	}
	rest = strptime(s, "%Y-%m-%d", &tm);
	if (!rest)
		return -EINVAL;
	if (*rest) {
		rest = strptime(rest, "T%H:%M:%S", &tm);
		if (!rest || *rest)
			return -EINVAL;
		end = false;
	}
	*ret = (int64_t)timegm(&tm) + (end ? 86400 : 0);
	return 0;
}

static void format_time(int64_t t, char *buf, size_t size)
{
	time_t tt = (time_t)t;
	struct tm tm;

	if (!gmtime_r(&tt, &tm) || !strftime(buf, size, "%Y-%m-%dT%H:%M:%SZ", &tm))
		snprintf(buf, size, "@%" PRId64, t);
}

static int print_row(const struct catalog_row *row, void *userdata)
{
	char started[32], until[32];

	(void)userdata;
	format_time(row->started, started, sizeof(started));
	format_time(row->retention_until, until, sizeof(until));
	printf("%s\t%s\t%s\t%" PRId64 "\t%s\t%s\t%s\t%s\t%s\t%s\n", row->id, catalog_status_name(row->status), started,
	       row->duration_ms, row->direction[0] ? row->direction : "-", row->trunk[0] ? row->trunk : "-",
	       row->outcome[0] ? row->outcome : "-", row->file[0] ? row->file : "-", until,
	       row->legal_hold ? "held" : "-");
	return 0;
}

static void print_header(void)
{
	printf("id\tstatus\tstarted\tduration_ms\tdirection\ttrunk\toutcome\tfile\tretention_until\thold\n");
}

/* The blind index of a number, as it goes into the audit log (never the number). */
static void number_ref(struct life *l, const char *number, char *buf, size_t size)
{
	uint8_t bi[32];
	char hex[17];

	if (catalog_key(l->catalog) && catalog_blind(catalog_key(l->catalog), number, bi) == 0) {
		sodium_bin2hex(hex, sizeof(hex), bi, 8);
		snprintf(buf, size, "bi:%s", hex);
	} else {
		snprintf(buf, size, "bi:none");
	}
}

/* ---- find ------------------------------------------------------------ */

static const struct option find_opts[] = {
	CLI_PATH_OPTIONS,
	{ "number", required_argument, NULL, 'n' },
	{ "from", required_argument, NULL, 'f' },
	{ "to", required_argument, NULL, 't' },
	{ "key", required_argument, NULL, 'k' },
	{ "output", required_argument, NULL, 'o' },
	{ "format", required_argument, NULL, 'F' },
	{ 0 },
};

struct find_args {
	const char *number, *from_s, *to_s, *key, *out, *format;
	struct catalog_filter f;
};

static int parse_find(struct life *l, int argc, char **argv, struct find_args *a)
{
	int c;

	while ((c = getopt_long(argc, argv, "o:", find_opts, NULL)) != -1) {
		if (cli_paths_opt(&l->paths, c, optarg))
			continue;
		switch (c) {
		case 'n': a->number = optarg; break;
		case 'f': a->from_s = optarg; break;
		case 't': a->to_s = optarg; break;
		case 'k': a->key = optarg; break;
		case 'o': a->out = optarg; break;
		case 'F': a->format = optarg; break;
		default: return -1;
		}
	}
	if (!a->number || optind != argc)
		return -1;
	if ((a->from_s && parse_time(a->from_s, false, &a->f.from) < 0) ||
	    (a->to_s && parse_time(a->to_s, true, &a->f.to) < 0)) {
		fprintf(stderr, "trunkrec: dates are YYYY-MM-DD, YYYY-MM-DDTHH:MM:SS (UTC) or @EPOCH\n");
		return -1;
	}
	a->f.number = a->number;
	return 0;
}

int cmd_find(int argc, char **argv)
{
	struct life l = { 0 };
	struct find_args a = { 0 };
	char ref[32], details[128];
	int r, rc = CLI_EXIT_ERROR;

	if (parse_find(&l, argc, argv, &a) < 0 || a.key || a.out) {
		fprintf(stderr, "usage: trunkrec find --number N [--from DATE] [--to DATE] (--config CONF | --catalog F --recordings D --audit F --index-key K)\n");
		return CLI_EXIT_ERROR;
	}
	if (life_open(&l, true) < 0)
		goto out;
	number_ref(&l, a.number, ref, sizeof(ref));
	snprintf(details, sizeof(details), "from=%" PRId64 ",to=%" PRId64, a.f.from, a.f.to);
	if (life_audit(&l, "find", ref, details) < 0)
		goto out;
	print_header();
	r = catalog_query(l.catalog, &a.f, print_row, NULL);
	if (r < 0) {
		fprintf(stderr, "trunkrec: %s: %s\n", l.paths.catalog, r == -EINVAL ? "that number has no digits" : strerror(-r));
		goto out;
	}
	rc = 0;
out:
	life_close(&l);
	return rc;
}

/* ---- hold, release, delete -------------------------------------------- */

static int id_reason_cmd(int argc, char **argv, const char *what)
{
	static const struct option opts[] = {
		CLI_PATH_OPTIONS,
		{ "reason", required_argument, NULL, 'r' },
		{ 0 },
	};
	struct life l = { 0 };
	const char *reason = NULL, *id;
	char details[512];
	int c, r, dirfd, rc = CLI_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (cli_paths_opt(&l.paths, c, optarg))
			continue;
		if (c == 'r')
			reason = optarg;
		else
			goto usage;
	}
	if (!reason || !*reason || optind != argc - 1)
		goto usage;
	id = argv[optind];
	if (cli_paths_none(&l.paths)) {
		char cmd[CLI_CONTROL_LINE];

		if (snprintf(cmd, sizeof(cmd), "%s %s %s", what, id, reason) >= (int)sizeof(cmd) || strchr(reason, '\n')) {
			fprintf(stderr, "trunkrec: %s: the id and reason must fit on one line of %d characters\n", what,
				CLI_CONTROL_LINE - 1);
			return CLI_EXIT_ERROR;
		}
		return cli_control_command(l.paths.socket, cmd);
	}
	if (life_open(&l, false) < 0)
		goto out;
	if (!strcmp(what, "delete")) {
		dirfd = open(l.paths.recordings, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
		if (dirfd < 0) {
			fprintf(stderr, "trunkrec: %s: %s\n", l.paths.recordings, strerror(errno));
			goto out;
		}
		r = retention_delete(dirfd, l.catalog, l.audit, l.uid, (int64_t)time(NULL), id, "delete", reason);
		close(dirfd);
	} else {
		r = retention_set_hold(l.catalog, l.audit, l.uid, (int64_t)time(NULL), id, !strcmp(what, "hold"), reason);
	}
	if (r == -ENOENT || r == -EPERM) {
		snprintf(details, sizeof(details), "request=%s,why=%s,reason=%s", what,
			 r == -ENOENT ? "no_such_recording" : "legal_hold", reason);
		life_audit(&l, "refused", id, details);
		fprintf(stderr, "trunkrec: %s %s: %s\n", what, id,
			r == -ENOENT ? "no such recording in the catalog (or already deleted)"
				     : "it is under legal hold; 'trunkrec release ID --reason …' first");
		goto out;
	}
	if (r < 0) {
		fprintf(stderr, "trunkrec: %s %s: %s (%s)\n", what, id, strerror(-r), catalog_errmsg(l.catalog));
		goto out;
	}
	printf("%s: %s\n", id, !strcmp(what, "delete") ? "deleted" : !strcmp(what, "hold") ? "held" : "released");
	rc = 0;
out:
	life_close(&l);
	return rc;
usage:
	fprintf(stderr, "usage: trunkrec %s ID --reason TEXT [--socket PATH | --config CONF | --catalog F --recordings D --audit F]\n"
		"  (without file options the running daemon does it, for a manager)\n", what);
	return CLI_EXIT_ERROR;
}

int cmd_hold(int argc, char **argv)
{
	return id_reason_cmd(argc, argv, "hold");
}

int cmd_release(int argc, char **argv)
{
	return id_reason_cmd(argc, argv, "release");
}

int cmd_delete(int argc, char **argv)
{
	return id_reason_cmd(argc, argv, "delete");
}

/* ---- purge ------------------------------------------------------------- */

static void purge_line(const char *id, const char *file, int64_t until, int result, void *userdata)
{
	const bool *dry = userdata;
	char t[32];

	format_time(until, t, sizeof(t));
	if (result < 0)
		printf("%s\t%s\texpired %s\tFAILED: %s\n", id, file[0] ? file : "-", t, strerror(-result));
	else
		printf("%s\t%s\texpired %s\t%s\n", id, file[0] ? file : "-", t, *dry ? "would delete" : "deleted");
}

int cmd_purge(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_PATH_OPTIONS,
		{ "dry-run", no_argument, NULL, 'n' },
		{ "now", required_argument, NULL, 'N' },
		{ 0 },
	};
	struct life l = { 0 };
	bool dry = false, now_given = false;
	int64_t now = (int64_t)time(NULL);
	int c, r, rc = CLI_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (cli_paths_opt(&l.paths, c, optarg))
			continue;
		if (c == 'n')
			dry = true;
		else if (c == 'N' && parse_time(optarg, false, &now) == 0)
			now_given = true;
		else
			goto usage;
	}
	if (optind != argc)
		goto usage;
	if (cli_paths_none(&l.paths)) {
		if (now_given) {
			fprintf(stderr, "trunkrec: purge --now works on the files (--config); the daemon purges at its own time\n");
			return CLI_EXIT_ERROR;
		}
		return cli_control_command(l.paths.socket, dry ? "purge dry-run" : "purge");
	}
	if (life_open(&l, false) < 0)
		goto out;
	r = retention_purge(l.paths.recordings, l.catalog, l.audit, l.uid, now, dry, purge_line, &dry);
	if (r < 0) {
		fprintf(stderr, "trunkrec: purge: %s\n", strerror(-r));
		goto out;
	}
	printf("%d recording(s) %s\n", r, dry ? "would be deleted (dry run)" : "deleted");
	rc = 0;
out:
	life_close(&l);
	return rc;
usage:
	fprintf(stderr, "usage: trunkrec purge [--dry-run] [--socket PATH | [--now DATE|@EPOCH] (--config CONF | --catalog F --recordings D --audit F)]\n"
		"  (without file options the running daemon does it, for a manager)\n");
	return CLI_EXIT_ERROR;
}

/* ---- catalog (list) ---------------------------------------------------- */

int cmd_catalog(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_PATH_OPTIONS,
		{ "all", no_argument, NULL, 'a' },
		{ 0 },
	};
	struct catalog_filter f = { 0 };
	struct life l = { 0 };
	int c, r, rc = CLI_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (cli_paths_opt(&l.paths, c, optarg))
			continue;
		if (c == 'a')
			f.with_deleted = true;
		else
			goto usage;
	}
	if (optind != argc)
		goto usage;
	if (life_open(&l, false) < 0)
		goto out;
	if (life_audit(&l, "find", "catalog", f.with_deleted ? "list=all" : "list") < 0)
		goto out;
	print_header();
	r = catalog_query(l.catalog, &f, print_row, NULL);
	if (r < 0) {
		fprintf(stderr, "trunkrec: %s: %s\n", l.paths.catalog, strerror(-r));
		goto out;
	}
	rc = 0;
out:
	life_close(&l);
	return rc;
usage:
	fprintf(stderr, "usage: trunkrec catalog [--all] (--config CONF | --catalog F --recordings D --audit F)\n");
	return CLI_EXIT_ERROR;
}

/* ---- sar ----------------------------------------------------------------- */

struct sar {
	struct life *l;
	const char *dir;
	enum export_format fmt;
	uint8_t pk[VAULT_PK_BYTES], sk[VAULT_SK_BYTES];	/* sk: SECRET */
	FILE *manifest;
	unsigned exported, failed;
};

static int sar_row(const struct catalog_row *row, void *userdata)
{
	struct sar *s = userdata;
	struct export_result res = { 0 };
	char path[4096], in[4096], started[32], out_name[64];
	const char *result;
	uint8_t *file;
	size_t len;
	int r;

	format_time(row->started, started, sizeof(started));
	if (!row->file[0] || strchr(row->file, '/') ||
	    (row->status != CATALOG_COMPLETE && row->status != CATALOG_RECOVERED)) {
		fprintf(s->manifest, "%s\t%s\t%" PRId64 "\t%s\t%s\t%s\t-\t%s\n", row->id, started, row->duration_ms,
			row->direction[0] ? row->direction : "-", catalog_status_name(row->status),
			row->outcome[0] ? row->outcome : "-", "no audio stored");
		return 0;
	}
	snprintf(out_name, sizeof(out_name), "%s.%s", row->id, s->fmt == EXPORT_WAV ? "wav" : "opus");
	snprintf(path, sizeof(path), "%s/%s", s->dir, out_name);
	snprintf(in, sizeof(in), "%s/%s", s->l->paths.recordings, row->file);
	/* Each file out is an export of its own in the log, before it is written. */
	if (life_audit(s->l, "export", row->id, "for=sar") < 0)
		return -EIO;
	r = cli_read_file(in, MAX_RECORDING_BYTES, &file, &len);
	if (r == 0) {
		r = export_recording(file, len, s->pk, s->sk, path, s->fmt, false, &res);
		free(file);
	}
	if (r == 0) {
		result = res.status == VAULT_TRUNCATED ? "TRUNCATED (end missing)" : "COMPLETE";
		s->exported++;
	} else {
		result = r == -EBADMSG ? "CORRUPT, not exported" : r == -EACCES ? "key does not open it" : strerror(-r);
		s->failed++;
		out_name[0] = '-';
		out_name[1] = '\0';
	}
	fprintf(s->manifest, "%s\t%s\t%" PRId64 "\t%s\t%s\t%s\t%s\t%s\n", row->id, started, row->duration_ms,
		row->direction[0] ? row->direction : "-", catalog_status_name(row->status),
		row->outcome[0] ? row->outcome : "-", out_name, result);
	return 0;
}

int cmd_sar(int argc, char **argv)
{
	struct life l = { 0 };
	struct find_args a = { 0 };
	struct sar *s;
	char ref[32], details[256], mpath[4096], tmp[4200];
	int r, rc = CLI_EXIT_ERROR;

	if (parse_find(&l, argc, argv, &a) < 0 || !a.key || !a.out) {
		fprintf(stderr, "usage: trunkrec sar --number N --key SECFILE -o DIR [--from DATE] [--to DATE] [--format opus|wav] "
			"(--config CONF | --catalog F --recordings D --audit F --index-key K)\n");
		return CLI_EXIT_ERROR;
	}
	s = calloc(1, sizeof(*s));
	if (!s)
		return CLI_EXIT_ERROR;
	s->l = &l;
	s->dir = a.out;
	s->fmt = a.format && !strcmp(a.format, "wav") ? EXPORT_WAV : EXPORT_OGG;
	if (a.format && strcmp(a.format, "wav") && strcmp(a.format, "opus")) {
		fprintf(stderr, "trunkrec: --format is opus or wav\n");
		goto out;
	}
	if (life_open(&l, true) < 0)
		goto out;
	if (cli_key_load(a.key, "private key", s->sk) < 0 || crypto_scalarmult_base(s->pk, s->sk) != 0)
		goto out;
	if (mkdir(a.out, 0700) < 0 && errno != EEXIST) {
		fprintf(stderr, "trunkrec: %s: cannot create: %s\n", a.out, strerror(errno));
		goto out;
	}
	number_ref(&l, a.number, ref, sizeof(ref));
	snprintf(details, sizeof(details), "from=%" PRId64 ",to=%" PRId64 ",out=%s", a.f.from, a.f.to, a.out);
	if (life_audit(&l, "sar", ref, details) < 0)
		goto out;
	snprintf(mpath, sizeof(mpath), "%s/manifest.tsv", a.out);
	snprintf(tmp, sizeof(tmp), "%s.tmp", mpath);
	s->manifest = fopen(tmp, "wxe");
	if (!s->manifest) {
		fprintf(stderr, "trunkrec: %s: cannot create: %s (is there a manifest already? use a new -o DIR)\n", tmp,
			strerror(errno));
		goto out;
	}
	fprintf(s->manifest, "# subject access request: recordings of number %s", a.number);
	if (a.from_s || a.to_s)
		fprintf(s->manifest, " from %s to %s", a.from_s ? a.from_s : "-", a.to_s ? a.to_s : "-");
	fprintf(s->manifest, "\nid\tstarted\tduration_ms\tdirection\tstatus\toutcome\tfile\tresult\n");
	r = catalog_query(l.catalog, &a.f, sar_row, s);
	if (fflush(s->manifest) != 0 || fsync(fileno(s->manifest)) < 0 || r < 0) {
		fprintf(stderr, "trunkrec: sar: %s\n", strerror(r < 0 ? -r : errno));
		goto out;
	}
	fclose(s->manifest);
	s->manifest = NULL;
	if (rename(tmp, mpath) < 0)
		goto out;
	printf("%s: %u recording(s) exported, %u not, manifest %s\n", a.out, s->exported, s->failed, mpath);
	rc = s->failed ? 1 : 0;
out:
	if (s->manifest)
		fclose(s->manifest);
	sodium_memzero(s->sk, sizeof(s->sk));
	free(s);
	life_close(&l);
	return rc;
}

/* ---- keygen-index -------------------------------------------------------- */

int cmd_keygen_index(int argc, char **argv)
{
	uint8_t key[CATALOG_KEY_BYTES];	/* SECRET */
	char text[66];
	int r;

	if (argc != 2) {
		fprintf(stderr, "usage: trunkrec keygen-index FILE\n");
		return CLI_EXIT_ERROR;
	}
	randombytes_buf(key, sizeof(key));
	vault_key_format(key, text);
	text[64] = '\n';
	r = cli_write_new(argv[1], text, 65, 0600);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(key, sizeof(key));
	if (r < 0) {
		fprintf(stderr, "trunkrec: %s: cannot create the key: %s\n", argv[1], strerror(-r));
		return CLI_EXIT_ERROR;
	}
	printf("blind index key %s: set [general] blind_index_key = %s; keep it with the daemon's configuration\n",
	       argv[1], argv[1]);
	return 0;
}
