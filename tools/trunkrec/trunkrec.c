// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunkrec: the operator's tool for recordings. One binary, subcommands in a
 * table (wireguard-tools style):
 *
 *   trunkrec keygen PUBFILE SECFILE
 *   trunkrec verify --key SECFILE FILE…
 *   trunkrec export FILE --key SECFILE -o OUT [--progress]
 *   trunkrec meta FILE --key SECFILE
 *   trunkrec seal --pub PUBFILE [--meta FILE] [--no-final] IN.opus OUT.trec
 *
 * Exit codes: 0 success (all COMPLETE), 1 a recording is TRUNCATED, 2 a
 * recording is CORRUPT, 3 usage, I/O or key error.
 *
 * SECRET: private keys are read into stack buffers that are wiped with
 * sodium_memzero before each command returns.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <ogg/ogg.h>

#include "tools/trunkrec/cmds.h"
#include "record/vault.h"
#include "tools/trunkrec/cmds.h"
#include "tools/trunkrec/export.h"

#define EXIT_TRUNCATED	1
#define EXIT_CORRUPT	2
#define EXIT_ERROR	3

/* A recording of a very long call is tens of MB; refuse absurd inputs. */
#define MAX_FILE_BYTES	((size_t)2 << 30)

static const char *prog = "trunkrec";

/* ---- files and keys ------------------------------------------------- */

static int read_all(const char *path, size_t max, uint8_t **ret, size_t *ret_len)
{
	struct stat sb;
	uint8_t *buf = NULL;
	size_t len = 0, cap;
	int fd, r = 0;

	fd = open(path, O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (fstat(fd, &sb) < 0) {
		r = -errno;
		goto out;
	}
	if (S_ISDIR(sb.st_mode)) {
		r = -EISDIR;
		goto out;
	}
	if ((uint64_t)sb.st_size > max) {
		r = -EFBIG;
		goto out;
	}
	cap = (size_t)sb.st_size + 1;
	buf = malloc(cap);
	if (!buf) {
		r = -ENOMEM;
		goto out;
	}
	for (;;) {
		ssize_t n;

		if (len == cap) {
			/* The file grew while we read it (a live .partial): stop at max. */
			uint8_t *nb;

			if (cap > max) {
				r = -EFBIG;
				goto out;
			}
			nb = realloc(buf, cap * 2);
			if (!nb) {
				r = -ENOMEM;
				goto out;
			}
			buf = nb;
			cap *= 2;
		}
		n = read(fd, buf + len, cap - len);
		if (n < 0) {
			if (errno == EINTR)
				continue;
			r = -errno;
			goto out;
		}
		if (n == 0)
			break;
		len += (size_t)n;
	}
	*ret = buf;
	*ret_len = len;
	buf = NULL;
out:
	free(buf);
	close(fd);
	return r;
}

/* Read a hex key file. SECRET when it is a private key: wiped here. */
static int key_load(const char *path, uint8_t ret_key[32])
{
	uint8_t *text = NULL;
	size_t len = 0;
	int r;

	r = read_all(path, 256, &text, &len);
	if (r < 0) {
		if (r == -EFBIG)
			fprintf(stderr, "%s: %s is not a key file (expected 64 hex digits); create keys with '%s keygen'\n",
				prog, path, prog);
		else
			fprintf(stderr, "%s: %s: cannot read the key: %s\n", prog, path, strerror(-r));
		return r;
	}
	r = vault_key_parse((const char *)text, len, ret_key);
	sodium_memzero(text, len);
	free(text);
	if (r < 0)
		fprintf(stderr, "%s: %s is not a key file (expected 64 hex digits); create keys with '%s keygen'\n",
			prog, path, prog);
	return r;
}

/* Private key file → keypair (the public half is derived, not trusted). */
static int keypair_load(const char *path, uint8_t pk[VAULT_PK_BYTES], uint8_t sk[VAULT_SK_BYTES])
{
	struct stat sb;
	int r;

	r = key_load(path, sk);
	if (r < 0)
		return r;
	if (crypto_scalarmult_base(pk, sk) != 0) {
		sodium_memzero(sk, VAULT_SK_BYTES);
		fprintf(stderr, "%s: %s is not a usable private key; create keys with '%s keygen'\n",
			prog, path, prog);
		return -EINVAL;
	}
	if (stat(path, &sb) == 0 && (sb.st_mode & 077))
		fprintf(stderr, "%s: warning: private key %s is readable by others; chmod 600 %s\n",
			prog, path, path);
	return 0;
}

static void key_error(const char *file, const char *keypath)
{
	fprintf(stderr,
		"%s: %s: the key in %s does not open this recording (wrong private key, or a damaged header)\n",
		prog, file, keypath);
}

/* ---- keygen ----------------------------------------------------------- */

static int cmd_keygen(int argc, char **argv)
{
	uint8_t pk[VAULT_PK_BYTES], sk[VAULT_SK_BYTES];	/* sk: SECRET */
	char text[66];	/* SECRET while it holds sk */
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: %s keygen PUBFILE SECFILE\n", prog);
		return EXIT_ERROR;
	}
	crypto_box_keypair(pk, sk);

	vault_key_format(sk, text);
	text[64] = '\n';
	r = cli_write_new(argv[2], text, 65, 0600);	/* O_EXCL: never overwrite a key */
	sodium_memzero(text, sizeof(text));
	sodium_memzero(sk, sizeof(sk));
	if (r < 0) {
		fprintf(stderr, "%s: %s: cannot create the private key file: %s%s\n", prog, argv[2],
			strerror(-r), r == -EEXIST ? " (refusing to overwrite a key; choose a new name)" : "");
		return EXIT_ERROR;
	}
	vault_key_format(pk, text);
	text[64] = '\n';
	r = cli_write_new(argv[1], text, 65, 0644);
	if (r < 0) {
		/* A private key without its public half is of no use: remove it. */
		unlink(argv[2]);
		fprintf(stderr, "%s: %s: cannot create the public key file: %s%s\n", prog, argv[1],
			strerror(-r), r == -EEXIST ? " (refusing to overwrite a key; choose a new name)" : "");
		return EXIT_ERROR;
	}
	printf("public key %s: give it to trunkrecd (recipient key)\n"
	       "private key %s: keep it off the recorder; it opens every recording\n",
	       argv[1], argv[2]);
	return 0;
}

/* ---- verify ----------------------------------------------------------- */

struct verify_counts {
	uint64_t by_type[5];
	uint64_t audio_bytes;
};

/* Counts only: verify never prints plaintext. */
static int verify_cb(enum vault_record_type type, const uint8_t *plain, size_t len, void *userdata)
{
	struct verify_counts *vc = userdata;

	(void)plain;
	if ((unsigned)type < 5)
		vc->by_type[type]++;
	if (type == VAULT_REC_OGG)
		vc->audio_bytes += len;
	return 0;
}

static const struct option key_opts[] = {
	{ "key", required_argument, NULL, 'k' },
	{ "output", required_argument, NULL, 'o' },
	{ "progress", no_argument, NULL, 'p' },
	{ "redact", required_argument, NULL, 'R' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static int cmd_verify(int argc, char **argv)
{
	uint8_t pk[VAULT_PK_BYTES], sk[VAULT_SK_BYTES];	/* sk: SECRET */
	const char *keypath = NULL;
	int c, worst = 0;

	while ((c = getopt_long(argc, argv, "k:h", key_opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keypath = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (!keypath || optind >= argc)
		goto usage;
	if (keypair_load(keypath, pk, sk) < 0)
		return EXIT_ERROR;

	for (int i = optind; i < argc; i++) {
		const char *path = argv[i];
		struct verify_counts vc = { 0 };
		struct vault_info info;
		enum vault_status st;
		uint8_t *file;
		size_t len;
		int r, code;

		r = read_all(path, MAX_FILE_BYTES, &file, &len);
		if (r < 0) {
			fprintf(stderr, "%s: %s: cannot read: %s\n", prog, path, strerror(-r));
			worst = EXIT_ERROR;
			continue;
		}
		r = vault_read(file, len, pk, sk, verify_cb, &vc, &st, &info);
		free(file);
		if (r == -EACCES) {
			key_error(path, keypath);
			printf("%s: UNREADABLE (key does not open it)\n", path);
			worst = EXIT_ERROR;
			continue;
		} else if (r < 0) {
			fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(-r));
			worst = EXIT_ERROR;
			continue;
		}
		switch (st) {
		case VAULT_COMPLETE:
			printf("%s: COMPLETE (%llu records, %llu bytes of audio)\n", path,
			       (unsigned long long)info.records, (unsigned long long)vc.audio_bytes);
			code = 0;
			break;
		case VAULT_TRUNCATED:
			printf("%s: TRUNCATED (%llu records, %llu bytes of audio; no end record; "
			       "authentic up to byte %llu of %zu)\n",
			       path, (unsigned long long)info.records,
			       (unsigned long long)vc.audio_bytes,
			       (unsigned long long)info.good_bytes, len);
			code = EXIT_TRUNCATED;
			break;
		default:
			printf("%s: CORRUPT (%llu records authentic, damage at byte %llu of %zu)\n",
			       path, (unsigned long long)info.records,
			       (unsigned long long)info.good_bytes, len);
			code = EXIT_CORRUPT;
			break;
		}
		if (code > worst)
			worst = code;
	}
	sodium_memzero(sk, sizeof(sk));
	return worst;
usage:
	fprintf(stderr, "usage: %s verify --key SECFILE FILE...\n", prog);
	return EXIT_ERROR;
}

/* ---- export ----------------------------------------------------------- */

static int cmd_export(int argc, char **argv)
{
	uint8_t pk[VAULT_PK_BYTES], sk[VAULT_SK_BYTES];	/* sk: SECRET */
	const char *keypath = NULL, *out = NULL, *path;
	struct export_result res = { 0 };
	struct export_range ranges[EXPORT_MAX_RANGES];
	unsigned nranges = 0;
	enum export_format fmt;
	bool progress = isatty(STDERR_FILENO);
	uint8_t *file;
	size_t len;
	int c, r;

	while ((c = getopt_long(argc, argv, "k:o:h", key_opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keypath = optarg;
			break;
		case 'o':
			out = optarg;
			break;
		case 'p':
			progress = true;
			break;
		case 'R':
			if (export_ranges_parse(optarg, ranges, EXPORT_MAX_RANGES, &nranges) < 0) {
				fprintf(stderr, "%s: --redact %s: give ranges as MM:SS-MM:SS[,…] (at most %d)\n",
					prog, optarg, EXPORT_MAX_RANGES);
				return EXIT_ERROR;
			}
			break;
		default:
			goto usage;
		}
	}
	if (!keypath || !out || optind != argc - 1)
		goto usage;
	path = argv[optind];
	if (export_format_from_path(out, &fmt) < 0) {
		fprintf(stderr, "%s: %s: unknown output format; name it .opus, .ogg or .wav\n", prog, out);
		return EXIT_ERROR;
	}
	if (nranges && fmt != EXPORT_WAV) {
		fprintf(stderr, "%s: --redact cuts decoded audio and Ogg Opus cannot be cut without re-encoding; "
			"export to OUT.wav\n", prog);
		return EXIT_ERROR;
	}
	r = read_all(path, MAX_FILE_BYTES, &file, &len);
	if (r < 0) {
		fprintf(stderr, "%s: %s: cannot read: %s\n", prog, path, strerror(-r));
		return EXIT_ERROR;
	}
	if (keypair_load(keypath, pk, sk) < 0) {
		free(file);
		return EXIT_ERROR;
	}
	r = export_recording_redacted(file, len, pk, sk, out, fmt, progress, ranges, nranges, &res);
	sodium_memzero(sk, sizeof(sk));
	free(file);
	switch (r) {
	case 0:
		break;
	case -EACCES:
		key_error(path, keypath);
		return EXIT_ERROR;
	case -EBADMSG:
		fprintf(stderr, "%s: %s: CORRUPT, not exported; run '%s verify' to see where the damage is\n",
			prog, path, prog);
		return EXIT_CORRUPT;
	case -EPROTO:
		fprintf(stderr, "%s: %s: the audio inside is not an Ogg Opus stream this tool can decode; "
			"try exporting to .opus\n", prog, path);
		return EXIT_ERROR;
	default:
		fprintf(stderr, "%s: %s: cannot write it: %s\n", prog, out, strerror(-r));
		return EXIT_ERROR;
	}
	if (res.status == VAULT_TRUNCATED)
		fprintf(stderr, "%s: warning: %s is TRUNCATED (no end record): exported the %llu "
			"authentic records; the end of the call is missing\n",
			prog, path, (unsigned long long)res.records);
	return 0;
usage:
	fprintf(stderr, "usage: %s export FILE --key SECFILE -o OUT.{opus,ogg,wav} [--redact MM:SS-MM:SS,…] [--progress]\n", prog);
	return EXIT_ERROR;
}

/* ---- meta ------------------------------------------------------------- */

/* Print text records; non-printable bytes are escaped, never sent raw. */
static void print_text(const char *prefix, const uint8_t *p, size_t len)
{
	bool bol = true;

	for (size_t i = 0; i < len; i++) {
		if (bol && prefix)
			fputs(prefix, stdout);
		bol = p[i] == '\n';
		if (p[i] == '\n' || p[i] == '\t' || (p[i] >= 0x20 && p[i] < 0x7f) || p[i] >= 0x80)
			putchar(p[i]);
		else
			printf("\\x%02x", p[i]);
	}
	if (len && !bol)
		putchar('\n');
}

static int meta_cb(enum vault_record_type type, const uint8_t *plain, size_t len, void *userdata)
{
	(void)userdata;
	switch (type) {
	case VAULT_REC_META:
		print_text(NULL, plain, len);
		break;
	case VAULT_REC_TIMELINE:
		print_text("timeline: ", plain, len);
		break;
	case VAULT_REC_END:
		print_text("end: ", plain, len);
		break;
	default:
		break;
	}
	return 0;
}

static int cmd_meta(int argc, char **argv)
{
	uint8_t pk[VAULT_PK_BYTES], sk[VAULT_SK_BYTES];	/* sk: SECRET */
	const char *keypath = NULL, *path;
	struct vault_info info;
	enum vault_status st;
	uint8_t *file;
	size_t len;
	int c, r;

	while ((c = getopt_long(argc, argv, "k:h", key_opts, NULL)) != -1) {
		switch (c) {
		case 'k':
			keypath = optarg;
			break;
		default:
			goto usage;
		}
	}
	if (!keypath || optind != argc - 1)
		goto usage;
	path = argv[optind];
	r = read_all(path, MAX_FILE_BYTES, &file, &len);
	if (r < 0) {
		fprintf(stderr, "%s: %s: cannot read: %s\n", prog, path, strerror(-r));
		return EXIT_ERROR;
	}
	if (keypair_load(keypath, pk, sk) < 0) {
		free(file);
		return EXIT_ERROR;
	}
	/* Only authentic records are printed, as they come. */
	r = vault_read(file, len, pk, sk, meta_cb, NULL, &st, &info);
	sodium_memzero(sk, sizeof(sk));
	free(file);
	if (r == -EACCES) {
		key_error(path, keypath);
		return EXIT_ERROR;
	} else if (r < 0) {
		fprintf(stderr, "%s: %s: %s\n", prog, path, strerror(-r));
		return EXIT_ERROR;
	}
	if (st == VAULT_TRUNCATED) {
		fprintf(stderr, "%s: warning: %s is TRUNCATED: metadata shown up to the last authentic record\n",
			prog, path);
		return EXIT_TRUNCATED;
	}
	if (st == VAULT_CORRUPT) {
		fprintf(stderr, "%s: %s is CORRUPT at byte %llu: metadata shown up to there only\n",
			prog, path, (unsigned long long)info.good_bytes);
		return EXIT_CORRUPT;
	}
	return 0;
usage:
	fprintf(stderr, "usage: %s meta FILE --key SECFILE\n", prog);
	return EXIT_ERROR;
}

/* ---- seal (tests and imports) ----------------------------------------- */

struct sealer {
	struct vault_writer w;	/* SECRET: stream state */
	int fd;
	uint8_t *rec;		/* sealed record scratch */
};

static int sealer_put(struct sealer *s, enum vault_record_type type, const uint8_t *p, size_t len,
		      bool final)
{
	long n = vault_writer_seal(&s->w, type, p, len, final, s->rec);

	if (n < 0)
		return (int)n;
	if (write(s->fd, s->rec, (size_t)n) != n)
		return errno ? -errno : -EIO;
	return 0;
}

/*
 * Pack an existing Ogg Opus file into a recording, as trunkrecd would have:
 * META, then whole pages grouped into records of about --record-bytes, then
 * END with FINAL (unless --no-final, to make a TRUNCATED file for tests).
 */
static int cmd_seal(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "pub", required_argument, NULL, 'P' },
		{ "meta", required_argument, NULL, 'm' },
		{ "record-bytes", required_argument, NULL, 'r' },
		{ "no-final", no_argument, NULL, 'n' },
		{ NULL, 0, NULL, 0 },
	};
	const char *pubpath = NULL, *metapath = NULL, *in, *out;
	struct sealer s = { .fd = -1 };
	uint8_t pk[VAULT_PK_BYTES], hdr[VAULT_HEADER_BYTES];
	uint8_t *ogg = NULL, *meta = NULL, *group = NULL;
	size_t ogg_len = 0, meta_len = 0, glen = 0, chunk = 8192;
	unsigned long long pages = 0;
	bool final = true;
	ogg_sync_state oy;
	ogg_page og;
	char *tmp = NULL;
	int c, r, rc = EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'P':
			pubpath = optarg;
			break;
		case 'm':
			metapath = optarg;
			break;
		case 'r':
			chunk = strtoul(optarg, NULL, 10);
			if (chunk < 1 || chunk > VAULT_MAX_RECORD / 2)
				goto usage;
			break;
		case 'n':
			final = false;
			break;
		default:
			goto usage;
		}
	}
	if (!pubpath || optind != argc - 2)
		goto usage;
	in = argv[optind];
	out = argv[optind + 1];
	if (key_load(pubpath, pk) < 0)
		return EXIT_ERROR;
	r = read_all(in, MAX_FILE_BYTES, &ogg, &ogg_len);
	if (r < 0) {
		fprintf(stderr, "%s: %s: cannot read: %s\n", prog, in, strerror(-r));
		return EXIT_ERROR;
	}
	if (metapath) {
		r = read_all(metapath, VAULT_MAX_RECORD, &meta, &meta_len);
		if (r < 0) {
			fprintf(stderr, "%s: %s: cannot read: %s\n", prog, metapath, strerror(-r));
			free(ogg);
			return EXIT_ERROR;
		}
	}
	ogg_sync_init(&oy);
	s.rec = malloc(VAULT_MAX_RECORD + VAULT_RECORD_OVERHEAD);
	group = malloc(VAULT_MAX_RECORD);
	if (!s.rec || !group || asprintf(&tmp, "%s.partial", out) < 0) {
		tmp = NULL;
		fprintf(stderr, "%s: out of memory\n", prog);
		goto out;
	}
	s.fd = open(tmp, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (s.fd < 0) {
		fprintf(stderr, "%s: %s: cannot create: %s\n", prog, tmp, strerror(errno));
		free(tmp);
		tmp = NULL;
		goto out;
	}
	r = vault_writer_start(&s.w, pk, (uint64_t)time(NULL), hdr);
	if (r < 0) {
		fprintf(stderr, "%s: %s is not a usable public key\n", prog, pubpath);
		goto out;
	}
	if (write(s.fd, hdr, sizeof(hdr)) != (ssize_t)sizeof(hdr)) {
		r = errno ? -errno : -EIO;
		goto io;
	}
	r = sealer_put(&s, VAULT_REC_META, meta ? meta : (const uint8_t *)"", meta_len, false);
	if (r < 0)
		goto io;

	memcpy(ogg_sync_buffer(&oy, (long)ogg_len), ogg, ogg_len);
	ogg_sync_wrote(&oy, (long)ogg_len);
	while ((r = ogg_sync_pageout(&oy, &og)) != 0) {
		size_t plen = (size_t)(og.header_len + og.body_len);

		if (r < 0)
			continue;
		if (glen && glen + plen > chunk) {
			r = sealer_put(&s, VAULT_REC_OGG, group, glen, false);
			if (r < 0)
				goto io;
			glen = 0;
		}
		memcpy(group + glen, og.header, (size_t)og.header_len);
		memcpy(group + glen + og.header_len, og.body, (size_t)og.body_len);
		glen += plen;
		pages++;
	}
	if (!pages) {
		fprintf(stderr, "%s: %s holds no Ogg pages; give an Ogg Opus file\n", prog, in);
		goto out;
	}
	if (glen) {
		r = sealer_put(&s, VAULT_REC_OGG, group, glen, false);
		if (r < 0)
			goto io;
	}
	if (final) {
		static const char summary[] = "reason=sealed by trunkrec seal\n";

		r = sealer_put(&s, VAULT_REC_END, (const uint8_t *)summary, sizeof(summary) - 1, true);
		if (r < 0)
			goto io;
	}
	if (fsync(s.fd) < 0 || rename(tmp, out) < 0) {
		r = -errno;
		goto io;
	}
	free(tmp);
	tmp = NULL;
	printf("%s: %llu Ogg pages sealed in %llu records%s\n", out, pages,
	       (unsigned long long)s.w.next_record, final ? "" : " (no end record: TRUNCATED)");
	rc = 0;
	goto out;
io:
	fprintf(stderr, "%s: %s: cannot write: %s\n", prog, tmp ? tmp : out, strerror(-r));
out:
	vault_writer_wipe(&s.w);
	if (s.fd >= 0)
		close(s.fd);
	if (tmp) {
		unlink(tmp);
		free(tmp);
	}
	ogg_sync_clear(&oy);
	free(s.rec);
	free(group);
	free(ogg);
	free(meta);
	return rc;
usage:
	fprintf(stderr, "usage: %s seal --pub PUBFILE [--meta FILE] [--record-bytes N] [--no-final] IN.opus OUT.trec\n",
		prog);
	return EXIT_ERROR;
}

/* ---- dispatch --------------------------------------------------------- */

struct subcommand {
	const char *name;
	int (*fn)(int argc, char **argv);
	const char *summary;
};

static const struct subcommand subcommands[] = {
	{ "keygen", cmd_keygen, "keygen PUBFILE SECFILE: make a recipient keypair (hex files)" },
	{ "verify", cmd_verify, "verify --key SECFILE FILE...: authenticate recordings" },
	{ "export", cmd_export, "export FILE --key SECFILE -o OUT.{opus,ogg,wav}: decrypt the audio" },
	{ "meta", cmd_meta, "meta FILE --key SECFILE: print a recording's metadata and timeline" },
	{ "seal", cmd_seal, "seal --pub PUBFILE [--meta FILE] IN.opus OUT.trec: pack Ogg Opus (tests)" },
	{ "stats", cmd_stats, "stats [--json|--prometheus] [--socket PATH]: the running daemon's figures" },
	{ "calls", cmd_calls, "calls [--json] [--socket PATH]: the live calls (numbers masked)" },
	{ "spans", cmd_spans, "spans [--json] [--socket PATH]: the trunk pairs, their ports and D-channels" },
	{ "top", cmd_top, "top [--interval S] [--once] [--socket PATH]: a live view of spans and calls (q quits)" },
	{ "pause", cmd_pause, "pause CALL|number=N [--socket PATH]: pause a live call's recording (payment)" },
	{ "resume", cmd_resume, "resume CALL|number=N [--socket PATH]: end that pause" },
	{ "mask", cmd_mask, "mask CALL|number=N [--socket PATH]: store silence for a live call until unmask" },
	{ "unmask", cmd_unmask, "unmask CALL|number=N [--socket PATH]: end that mask" },
	{ "discard", cmd_discard, "discard CALL --reason TEXT [--socket PATH]: stop a live call's recording and delete it" },
	{ "catalog", cmd_catalog, "catalog [--all] PATHS: list the catalog (audited)" },
	{ "find", cmd_find, "find --number N [--from DATE] [--to DATE] PATHS: a person's recordings (audited)" },
	{ "sar", cmd_sar, "sar --number N --key SECFILE -o DIR [--format opus|wav] PATHS: export them with a manifest (audited)" },
	{ "hold", cmd_hold, "hold ID --reason TEXT PATHS: legal hold, never purged (audited)" },
	{ "release", cmd_release, "release ID --reason TEXT PATHS: end a legal hold (audited)" },
	{ "delete", cmd_delete, "delete ID --reason TEXT PATHS: delete now (audited)" },
	{ "purge", cmd_purge, "purge [--dry-run] [--now DATE] PATHS: delete what retention says is due (audited)" },
	{ "audit", cmd_audit, "audit verify [--log FILE] [--pub PUB] | checkpoint --key SIGNKEY | keygen PUB SEC: the audit log" },
	{ "keygen-index", cmd_keygen_index, "keygen-index FILE: make a blind index key for [general] blind_index_key" },
};

static void usage(FILE *f)
{
	fprintf(f, "usage: %s COMMAND [ARGS]\n", prog);
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		fprintf(f, "  %s %s\n", prog, subcommands[i].summary);
	fprintf(f, "PATHS: --config trunkrecd.conf, or --catalog FILE --recordings DIR --audit FILE [--index-key FILE]\n");
	fprintf(f, "exit: 0 ok, 1 truncated, 2 corrupt, 3 usage/IO/key error, 4 audit log tampered\n");
}

int main(int argc, char **argv)
{
	if (sodium_init() < 0) {
		fprintf(stderr, "%s: libsodium failed to initialise\n", prog);
		return EXIT_ERROR;
	}
	if (argc < 2) {
		usage(stderr);
		return EXIT_ERROR;
	}
	if (!strcmp(argv[1], "help") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(stdout);
		return 0;
	}
	for (size_t i = 0; i < sizeof(subcommands) / sizeof(subcommands[0]); i++)
		if (!strcmp(argv[1], subcommands[i].name))
			return subcommands[i].fn(argc - 1, argv + 1);
	fprintf(stderr, "%s: unknown command '%s'; try '%s help'\n", prog, argv[1], prog);
	return EXIT_ERROR;
}
