// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * store/audit: the chain verifies as written and every kind of tampering
 * (edit, delete, reorder, insert, duplicate, forged rewrite behind a signed
 * checkpoint) is caught at the right line. Keys are made at test time.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "store/audit.h"

static char dir[64], path[128];

static int setup(void **state)
{
	(void)state;
	if (sodium_init() < 0)
		return -1;
	strcpy(dir, "/tmp/trunkrec-audit.XXXXXX");
	if (!mkdtemp(dir))
		return -1;
	snprintf(path, sizeof(path), "%s/audit.log", dir);
	return 0;
}

static int teardown(void **state)
{
	char cmd[128];

	(void)state;
	snprintf(cmd, sizeof(cmd), "rm -rf %s", dir);
	return system(cmd);
}

static char *slurp(size_t *len)
{
	FILE *f = fopen(path, "rb");
	char *buf;

	assert_non_null(f);
	fseek(f, 0, SEEK_END);
	*len = (size_t)ftell(f);
	rewind(f);
	buf = malloc(*len + 1);
	assert_int_equal(fread(buf, 1, *len, f), *len);
	buf[*len] = '\0';
	fclose(f);
	return buf;
}

/* A fresh log of n entries with varied content (spaces, '%', '=' and UTF-8 in values). */
static void make_log(int n)
{
	struct audit *a;
	char obj[64], det[128];

	unlink(path);
	assert_int_equal(audit_open(path, &a), 0);
	for (int i = 0; i < n; i++) {
		uint64_t seq;

		snprintf(obj, sizeof(obj), "%032x", i * 7919);
		snprintf(det, sizeof(det), "reason=complaint %d, 100%% sure,name=Zoë", i);
		assert_int_equal(audit_append(a, 1700000000 + i, 1000 + (uint32_t)i,
					      i % 2 ? "hold" : "export", obj, det, &seq), 0);
		assert_int_equal(seq, (uint64_t)i + 1);
	}
	audit_close(a);
}

static int verify_text(const char *text, size_t len, struct audit_verify_result *res)
{
	return audit_verify((const uint8_t *)text, len, NULL, NULL, res);
}

/* Lines of text as an array (pointers into a copy). */
static int split_lines(char *text, char **lines, int max)
{
	int n = 0;

	for (char *p = text; *p && n < max;) {
		char *nl = strchr(p, '\n');

		lines[n++] = p;
		if (!nl)
			break;
		*nl = '\0';
		p = nl + 1;
	}
	return n;
}

static char *join_lines(char **lines, int n, size_t *len)
{
	size_t total = 0;
	char *out;

	for (int i = 0; i < n; i++)
		total += strlen(lines[i]) + 1;
	out = malloc(total + 1);
	*len = 0;
	for (int i = 0; i < n; i++) {
		size_t k = strlen(lines[i]);

		memcpy(out + *len, lines[i], k);
		*len += k;
		out[(*len)++] = '\n';
	}
	out[*len] = '\0';
	return out;
}

static void intact_log_verifies(void **state)
{
	struct audit_verify_result res;
	size_t len;
	char *text;

	(void)state;
	make_log(10);
	text = slurp(&len);
	assert_int_equal(verify_text(text, len, &res), 0);
	assert_int_equal(res.entries, 10);
	assert_int_equal(res.last_seq, 10);
	assert_false(res.torn_tail);
	assert_non_null(strstr(text, "details=reason=complaint%200,%20100%25%20sure,name=Zo%C3%AB"));
	free(text);
}

static void every_byte_edit_is_caught(void **state)
{
	struct audit_verify_result res;
	size_t len;
	char *text;

	(void)state;
	make_log(4);
	text = slurp(&len);
	/* Flip each byte but the newlines: the line holding it is named. */
	for (size_t i = 0; i < len; i++) {
		char *copy;
		uint64_t line = 1;

		if (text[i] == '\n')
			continue;
		for (size_t k = 0; k < i; k++)
			line += text[k] == '\n';
		copy = malloc(len);
		memcpy(copy, text, len);
		copy[i] ^= 0x01;
		if (copy[i] == '\n')
			copy[i] ^= 0x03;
		assert_int_equal(verify_text(copy, len, &res), -EBADMSG);
		assert_int_equal(res.bad_line, line);
		free(copy);
	}
	free(text);
}

static void edit_with_canonical_values_is_caught(void **state)
{
	struct audit_verify_result res;
	size_t len;
	char *text, *p;

	(void)state;
	make_log(5);
	text = slurp(&len);
	/* A plausible edit: another uid, everything else as it was. */
	p = strstr(text, "uid=1002 ");
	assert_non_null(p);
	p[7] = '9';
	assert_int_equal(verify_text(text, len, &res), -EBADMSG);
	assert_int_equal(res.bad_line, 3);
	assert_non_null(strstr(res.why, "edited"));
	free(text);
}

static void deleted_entry_is_caught(void **state)
{
	struct audit_verify_result res;
	char *text, *lines[16], *out;
	size_t len;
	int n;

	(void)state;
	make_log(6);
	text = slurp(&len);
	n = split_lines(text, lines, 16);
	memmove(&lines[2], &lines[3], (size_t)(n - 3) * sizeof(char *));	/* drop line 3 */
	out = join_lines(lines, n - 1, &len);
	assert_int_equal(verify_text(out, len, &res), -EBADMSG);
	assert_int_equal(res.bad_line, 3);
	assert_non_null(strstr(res.why, "deleted"));
	free(out);
	free(text);
}

static void reordered_entries_are_caught(void **state)
{
	struct audit_verify_result res;
	char *text, *lines[16], *out, *t;
	size_t len;
	int n;

	(void)state;
	make_log(6);
	text = slurp(&len);
	n = split_lines(text, lines, 16);
	t = lines[3];
	lines[3] = lines[4];
	lines[4] = t;
	out = join_lines(lines, n, &len);
	assert_int_equal(verify_text(out, len, &res), -EBADMSG);
	assert_int_equal(res.bad_line, 4);
	free(out);
	free(text);
}

static void inserted_entries_are_caught(void **state)
{
	struct audit_verify_result res;
	char *text, *lines[16], *out, forged[AUDIT_LINE_MAX + 1];
	struct audit_entry e;
	size_t len;
	int n;

	(void)state;
	make_log(5);
	text = slurp(&len);
	n = split_lines(text, lines, 16);

	/* A duplicated line. */
	memmove(&lines[3], &lines[2], (size_t)(n - 2) * sizeof(char *));
	out = join_lines(lines, n + 1, &len);
	assert_int_equal(verify_text(out, len, &res), -EBADMSG);
	assert_int_equal(res.bad_line, 4);
	free(out);
	memmove(&lines[2], &lines[3], (size_t)(n - 2) * sizeof(char *));

	/* A forged entry with a valid hash and the right prev: the next line breaks. */
	assert_int_equal(audit_entry_parse(lines[1], strlen(lines[1]), &e, NULL), 0);
	memcpy(e.prev, e.hash, sizeof(e.prev));
	e.seq = 3;
	strcpy(e.action, "delete");
	strcpy(e.details, "forged");
	audit_entry_hash(&e, e.hash);
	assert_true(audit_entry_format(&e, forged, sizeof(forged)) > 0);
	forged[strlen(forged) - 1] = '\0';
	memmove(&lines[3], &lines[2], (size_t)(n - 2) * sizeof(char *));
	lines[2] = forged;
	out = join_lines(lines, n + 1, &len);
	assert_int_equal(verify_text(out, len, &res), -EBADMSG);
	assert_int_equal(res.bad_line, 4);
	free(out);

	/* A forged entry that does not chain. */
	memset(e.prev, 0x11, sizeof(e.prev));
	audit_entry_hash(&e, e.hash);
	assert_true(audit_entry_format(&e, forged, sizeof(forged)) > 0);
	forged[strlen(forged) - 1] = '\0';
	out = join_lines(lines, n + 1, &len);
	assert_int_equal(verify_text(out, len, &res), -EBADMSG);
	assert_int_equal(res.bad_line, 3);
	assert_non_null(strstr(res.why, "chain"));
	free(out);
	free(text);
}

static int note_hash(const struct audit_entry *e, uint64_t line, void *userdata)
{
	uint8_t (*hashes)[AUDIT_HASH_BYTES] = userdata;

	(void)line;
	memcpy(hashes[e->seq], e->hash, AUDIT_HASH_BYTES);
	return 0;
}

/* Rewriting the whole chain from some entry on passes the chain check: a signed checkpoint catches it. */
static void checkpoint_catches_rewritten_chain(void **state)
{
	uint8_t pk[32], sk[64], other_pk[32], other_sk[64];
	uint8_t hashes[16][AUDIT_HASH_BYTES];
	struct audit_verify_result res;
	struct audit_checkpoint cp, back;
	struct audit_entry e;
	char line[512], *text, *lines[16], *out, rebuilt[8][AUDIT_LINE_MAX + 1];
	uint8_t prev[AUDIT_HASH_BYTES];
	size_t len;
	int n, k;

	(void)state;
	crypto_sign_keypair(pk, sk);
	crypto_sign_keypair(other_pk, other_sk);
	make_log(6);
	text = slurp(&len);
	assert_int_equal(audit_verify((uint8_t *)text, len, note_hash, hashes, &res), 0);
	cp = (struct audit_checkpoint){ .seq = 6, .time = 1700000100 };
	memcpy(cp.hash, hashes[6], AUDIT_HASH_BYTES);
	k = audit_checkpoint_sign(&cp, sk, line, sizeof(line));
	assert_true(k > 0);
	assert_int_equal(audit_checkpoint_parse(line, (size_t)k - 1, &back), 0);
	assert_true(audit_checkpoint_valid(&back, pk));
	assert_false(audit_checkpoint_valid(&back, other_pk));
	back.seq = 5;
	assert_false(audit_checkpoint_valid(&back, pk));

	/* Rewrite entry 3 and recompute every hash after it: the chain alone verifies... */
	n = split_lines(text, lines, 16);
	memset(prev, 0, sizeof(prev));
	for (int i = 0; i < n; i++) {
		assert_int_equal(audit_entry_parse(lines[i], strlen(lines[i]), &e, NULL), 0);
		if (i == 2)
			strcpy(e.details, "nothing to see");
		memcpy(e.prev, prev, sizeof(prev));
		audit_entry_hash(&e, e.hash);
		memcpy(prev, e.hash, sizeof(prev));
		assert_true(audit_entry_format(&e, rebuilt[i], sizeof(rebuilt[i])) > 0);
		rebuilt[i][strlen(rebuilt[i]) - 1] = '\0';
		lines[i] = rebuilt[i];
	}
	out = join_lines(lines, n, &len);
	assert_int_equal(audit_verify((uint8_t *)out, len, note_hash, hashes, &res), 0);
	/* ...but not against the checkpoint signed before. */
	assert_memory_not_equal(hashes[6], cp.hash, AUDIT_HASH_BYTES);
	free(out);
	free(text);
}

static void torn_tail_is_cut_by_next_append(void **state)
{
	struct audit_verify_result res;
	struct audit *a;
	size_t len;
	char *text;
	FILE *f;

	(void)state;
	make_log(3);
	f = fopen(path, "ab");
	fputs("seq=4 time=17000", f);	/* a crash in the middle of an append */
	fclose(f);
	text = slurp(&len);
	assert_int_equal(verify_text(text, len, &res), 0);
	assert_true(res.torn_tail);
	assert_int_equal(res.entries, 3);
	free(text);
	assert_int_equal(audit_open(path, &a), 0);
	assert_int_equal(audit_append(a, 1, 0, "purge", "x", "", NULL), 0);
	audit_close(a);
	text = slurp(&len);
	assert_int_equal(verify_text(text, len, &res), 0);
	assert_int_equal(res.entries, 4);
	assert_false(res.torn_tail);
	free(text);
}

static void damaged_log_refuses_appends(void **state)
{
	struct audit *a;
	FILE *f;

	(void)state;
	make_log(2);
	f = fopen(path, "ab");
	fputs("garbage appended by someone\n", f);
	fclose(f);
	assert_int_equal(audit_open(path, &a), 0);
	assert_int_equal(audit_append(a, 1, 0, "purge", "x", "", NULL), -EBADMSG);
	assert_int_equal(audit_append(a, 1, 0, "no_such_action", "x", "", NULL), -EINVAL);
	audit_close(a);
}

struct writer_arg {
	struct audit *a;
	int id;
};

static void *append_many(void *p)
{
	struct writer_arg *w = p;
	char obj[32];

	for (int i = 0; i < 25; i++) {
		snprintf(obj, sizeof(obj), "t%d-%d", w->id, i);
		if (audit_append(w->a, 1700000000, 0, "find", obj, "", NULL) < 0)
			return (void *)1;
	}
	return NULL;
}

static void threads_append_one_chain(void **state)
{
	struct audit_verify_result res;
	struct writer_arg args[4];
	pthread_t th[4];
	struct audit *a, *b;
	size_t len;
	char *text;
	void *rv;

	(void)state;
	unlink(path);
	assert_int_equal(audit_open(path, &a), 0);
	/* A second handle stands for another process (flock, not the mutex, orders them). */
	assert_int_equal(audit_open(path, &b), 0);
	for (int i = 0; i < 4; i++) {
		args[i] = (struct writer_arg){ i % 2 ? b : a, i };
		pthread_create(&th[i], NULL, append_many, &args[i]);
	}
	for (int i = 0; i < 4; i++) {
		pthread_join(th[i], &rv);
		assert_null(rv);
	}
	audit_close(a);
	audit_close(b);
	text = slurp(&len);
	assert_int_equal(verify_text(text, len, &res), 0);
	assert_int_equal(res.entries, 100);
	free(text);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(intact_log_verifies),
		cmocka_unit_test(every_byte_edit_is_caught),
		cmocka_unit_test(edit_with_canonical_values_is_caught),
		cmocka_unit_test(deleted_entry_is_caught),
		cmocka_unit_test(reordered_entries_are_caught),
		cmocka_unit_test(inserted_entries_are_caught),
		cmocka_unit_test(checkpoint_catches_rewritten_chain),
		cmocka_unit_test(torn_tail_is_cut_by_next_append),
		cmocka_unit_test(damaged_log_refuses_appends),
		cmocka_unit_test(threads_append_one_chain),
	};

	return cmocka_run_group_tests(tests, setup, teardown);
}
