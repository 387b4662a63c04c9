// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunkrec audit: check and anchor the audit log (docs/storage.md).
 *
 *   trunkrec audit verify [--log FILE | --config CONF] [--pub PUB [--checkpoints FILE]]
 *   trunkrec audit checkpoint --key SIGNKEY [--log FILE | --config CONF] [--checkpoints FILE]
 *   trunkrec audit keygen PUBFILE SECFILE
 *
 * Exit: 0 the chain (and every checkpoint) verifies, 4 it does not (the
 * first bad line is named), 3 usage or I/O error.
 *
 * SECRET: the signing key is read into a stack buffer, wiped before return.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "store/audit.h"
#include "record/vault.h"
#include "tools/trunkrec/cmds.h"

#define AUDIT_LOG_MAX		((size_t)1 << 31)
#define CHECKPOINTS_MAX		((size_t)16 << 20)
#define MAX_CHECKPOINTS		100000

struct cp_check {
	struct audit_checkpoint *cp;
	size_t n;
	size_t matched;
	char why[200];
};

/* Each checkpoint's seq must be in the log with the hash it signed. */
static int cp_entry(const struct audit_entry *e, uint64_t line, void *userdata)
{
	struct cp_check *c = userdata;

	for (size_t i = 0; i < c->n; i++) {
		if (c->cp[i].seq != e->seq)
			continue;
		if (sodium_memcmp(c->cp[i].hash, e->hash, AUDIT_HASH_BYTES) != 0) {
			snprintf(c->why, sizeof(c->why), "line %" PRIu64 " (seq %" PRIu64 ") differs from what checkpoint %zu "
				 "signed: the log was rewritten up to here", line, e->seq, i + 1);
			return -EBADMSG;
		}
		c->matched++;
	}
	return 0;
}

static char *checkpoints_path(const char *log, const char *given)
{
	char *p = NULL;

	if (given)
		return strdup(given);
	if (asprintf(&p, "%s.checkpoints", log) < 0)
		return NULL;
	return p;
}

static int load_checkpoints(const char *path, struct cp_check *c)
{
	uint8_t *text;
	size_t len, pos = 0, line = 0;
	int r;

	r = cli_read_file(path, CHECKPOINTS_MAX, &text, &len);
	if (r < 0) {
		fprintf(stderr, "trunkrec: %s: cannot read the checkpoints: %s\n", path, strerror(-r));
		return r;
	}
	c->cp = calloc(MAX_CHECKPOINTS, sizeof(*c->cp));
	if (!c->cp) {
		free(text);
		return -ENOMEM;
	}
	while (pos < len && c->n < MAX_CHECKPOINTS) {
		uint8_t *nl = memchr(text + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (text + pos)) : len - pos;

		line++;
		if (audit_checkpoint_parse((const char *)text + pos, n, &c->cp[c->n]) < 0) {
			snprintf(c->why, sizeof(c->why), "%s line %zu: not a checkpoint", path, line);
			free(text);
			return -EBADMSG;
		}
		c->n++;
		pos += n + 1;
	}
	free(text);
	return 0;
}

static int audit_verify_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_PATH_OPTIONS,
		{ "pub", required_argument, NULL, 'p' },
		{ "checkpoints", required_argument, NULL, 'k' },
		{ 0 },
	};
	struct cli_paths paths = { 0 };
	const char *pubpath = NULL, *cpgiven = NULL;
	struct audit_verify_result res;
	struct cp_check cc = { 0 };
	uint8_t pk[32], *log = NULL;
	char hex[2 * AUDIT_HASH_BYTES + 1], *cppath = NULL;
	size_t len;
	int c, r, rc = CLI_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (cli_paths_opt(&paths, c, optarg))
			continue;
		if (c == 'p')
			pubpath = optarg;
		else if (c == 'k')
			cpgiven = optarg;
		else
			goto usage;
	}
	if (optind != argc)
		goto usage;
	if (cli_paths_none(&paths) && !pubpath)
		return cli_control_command(paths.socket, "audit verify");
	if (cli_paths_resolve(&paths, NULL) < 0)
		goto usage;
	if (pubpath) {
		if (cli_key_load(pubpath, "checkpoint public key", pk) < 0)
			return CLI_EXIT_ERROR;
		cppath = checkpoints_path(paths.audit, cpgiven);
		if (!cppath)
			return CLI_EXIT_ERROR;
		r = load_checkpoints(cppath, &cc);
		if (r == -EBADMSG) {
			printf("%s: TAMPERED: %s\n", cppath, cc.why);
			rc = CLI_EXIT_TAMPERED;
			goto out;
		}
		if (r < 0)
			goto out;
		for (size_t i = 0; i < cc.n; i++) {
			if (!audit_checkpoint_valid(&cc.cp[i], pk)) {
				printf("%s: TAMPERED: checkpoint %zu (seq %" PRIu64 ") does not verify with %s\n", cppath,
				       i + 1, cc.cp[i].seq, pubpath);
				rc = CLI_EXIT_TAMPERED;
				goto out;
			}
		}
	}
	r = cli_read_file(paths.audit, AUDIT_LOG_MAX, &log, &len);
	if (r < 0) {
		fprintf(stderr, "trunkrec: %s: cannot read the audit log: %s\n", paths.audit, strerror(-r));
		goto out;
	}
	r = audit_verify(log, len, pubpath ? cp_entry : NULL, &cc, &res);
	if (r == -EBADMSG && cc.why[0]) {
		printf("%s: TAMPERED: %s\n", paths.audit, cc.why);
		rc = CLI_EXIT_TAMPERED;
		goto out;
	}
	if (r < 0) {
		printf("%s: TAMPERED: %s\n", paths.audit, res.why);
		rc = CLI_EXIT_TAMPERED;
		goto out;
	}
	for (size_t i = 0; i < cc.n; i++) {
		if (cc.cp[i].seq > res.last_seq) {
			printf("%s: TAMPERED: the log ends at seq %" PRIu64 " but checkpoint %zu signed seq %" PRIu64
			       ": entries were removed from the end\n", paths.audit, res.last_seq, i + 1, cc.cp[i].seq);
			rc = CLI_EXIT_TAMPERED;
			goto out;
		}
	}
	sodium_bin2hex(hex, sizeof(hex), res.last_hash, sizeof(res.last_hash));
	printf("%s: OK, %" PRIu64 " entries, last seq %" PRIu64 " hash %s", paths.audit, res.entries, res.last_seq, hex);
	if (pubpath)
		printf(", %zu checkpoint(s) verified", cc.n);
	printf("\n");
	if (res.torn_tail)
		fprintf(stderr, "trunkrec: warning: %s ends in a torn line (a crash during an append; its action never ran)\n",
			paths.audit);
	rc = 0;
out:
	free(log);
	free(cc.cp);
	free(cppath);
	return rc;
usage:
	fprintf(stderr, "usage: trunkrec audit verify [--socket PATH | --log FILE | --config CONF] [--pub PUBFILE [--checkpoints FILE]]\n"
		"  (without --log or --config the running daemon verifies its log, for an auditor)\n");
	return CLI_EXIT_ERROR;
}

static int audit_checkpoint_cmd(int argc, char **argv)
{
	static const struct option opts[] = {
		CLI_PATH_OPTIONS,
		{ "key", required_argument, NULL, 'K' },
		{ "checkpoints", required_argument, NULL, 'k' },
		{ 0 },
	};
	struct cli_paths paths = { 0 };
	const char *keypath = NULL, *cpgiven = NULL;
	struct audit_verify_result res;
	struct audit_checkpoint cp = { 0 };
	uint8_t seed[32], pk[32], sk[64], *log = NULL;	/* seed, sk: SECRET */
	char line[512], *cppath = NULL;
	size_t len;
	int c, r, n, fd, rc = CLI_EXIT_ERROR;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		if (cli_paths_opt(&paths, c, optarg))
			continue;
		if (c == 'K')
			keypath = optarg;
		else if (c == 'k')
			cpgiven = optarg;
		else
			goto usage;
	}
	if (!keypath || optind != argc || cli_paths_resolve(&paths, NULL) < 0)
		goto usage;
	r = cli_read_file(paths.audit, AUDIT_LOG_MAX, &log, &len);
	if (r < 0) {
		fprintf(stderr, "trunkrec: %s: cannot read the audit log: %s\n", paths.audit, strerror(-r));
		return CLI_EXIT_ERROR;
	}
	/* Never sign a log that does not verify: that would bless the tampering. */
	if (audit_verify(log, len, NULL, NULL, &res) < 0) {
		printf("%s: TAMPERED: %s; not signed\n", paths.audit, res.why);
		free(log);
		return CLI_EXIT_TAMPERED;
	}
	free(log);
	if (!res.entries) {
		fprintf(stderr, "trunkrec: %s is empty: nothing to sign\n", paths.audit);
		return CLI_EXIT_ERROR;
	}
	if (cli_key_load(keypath, "checkpoint signing key", seed) < 0)
		return CLI_EXIT_ERROR;
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(seed, sizeof(seed));
	cp.seq = res.last_seq;
	cp.time = (int64_t)time(NULL);
	memcpy(cp.hash, res.last_hash, sizeof(cp.hash));
	n = audit_checkpoint_sign(&cp, sk, line, sizeof(line));
	sodium_memzero(sk, sizeof(sk));
	if (n < 0)
		goto out;
	cppath = checkpoints_path(paths.audit, cpgiven);
	if (!cppath)
		goto out;
	fd = open(cppath, O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0644);
	if (fd < 0 || write(fd, line, (size_t)n) != n || fsync(fd) < 0) {
		fprintf(stderr, "trunkrec: %s: cannot write the checkpoint: %s\n", cppath, strerror(errno));
		if (fd >= 0)
			close(fd);
		goto out;
	}
	close(fd);
	fputs(line, stdout);
	rc = 0;
out:
	free(cppath);
	return rc;
usage:
	fprintf(stderr, "usage: trunkrec audit checkpoint --key SIGNKEY [--log FILE | --config CONF] [--checkpoints FILE]\n");
	return CLI_EXIT_ERROR;
}

static int audit_keygen_cmd(int argc, char **argv)
{
	uint8_t seed[32], pk[32], sk[64];	/* seed, sk: SECRET */
	char text[66];
	int r;

	if (argc != 3) {
		fprintf(stderr, "usage: trunkrec audit keygen PUBFILE SECFILE\n");
		return CLI_EXIT_ERROR;
	}
	randombytes_buf(seed, sizeof(seed));
	crypto_sign_seed_keypair(pk, sk, seed);
	sodium_memzero(sk, sizeof(sk));
	vault_key_format(seed, text);
	text[64] = '\n';
	r = cli_write_new(argv[2], text, 65, 0600);
	sodium_memzero(text, sizeof(text));
	sodium_memzero(seed, sizeof(seed));
	if (r < 0) {
		fprintf(stderr, "trunkrec: %s: cannot create the signing key: %s\n", argv[2], strerror(-r));
		return CLI_EXIT_ERROR;
	}
	vault_key_format(pk, text);
	text[64] = '\n';
	r = cli_write_new(argv[1], text, 65, 0644);
	if (r < 0) {
		unlink(argv[2]);
		fprintf(stderr, "trunkrec: %s: cannot create the public key: %s\n", argv[1], strerror(-r));
		return CLI_EXIT_ERROR;
	}
	printf("checkpoint signing key %s: keep it off the recorder (or on it, to sign from cron; a thief can then sign too)\n"
	       "public key %s: give it to whoever verifies the log\n", argv[2], argv[1]);
	return 0;
}

int cmd_audit(int argc, char **argv)
{
	if (argc >= 2 && !strcmp(argv[1], "verify"))
		return audit_verify_cmd(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "checkpoint"))
		return audit_checkpoint_cmd(argc - 1, argv + 1);
	if (argc >= 2 && !strcmp(argv[1], "keygen"))
		return audit_keygen_cmd(argc - 1, argv + 1);
	fprintf(stderr, "usage: trunkrec audit verify|checkpoint|keygen …; see 'trunkrec help'\n");
	return CLI_EXIT_ERROR;
}
