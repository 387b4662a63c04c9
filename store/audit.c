// SPDX-License-Identifier: GPL-2.0-or-later
#include "store/audit.h"

#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/file.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#define AUDIT_DOMAIN		"trunkrec-audit-v1"
#define CHECKPOINT_DOMAIN	"trunkrec-audit-checkpoint-v1"

static const char *const actions[] = {
	"find", "export", "hold", "release", "delete", "purge", "config_load", "recovery", "refused",
	"recording", "sar", "audit_verify",
};

bool audit_action_valid(const char *action)
{
	for (size_t i = 0; i < sizeof(actions) / sizeof(actions[0]); i++)
		if (!strcmp(action, actions[i]))
			return true;
	return false;
}

static void put_le(uint8_t *p, uint64_t v, int n)
{
	for (int i = 0; i < n; i++)
		p[i] = (uint8_t)(v >> (8 * i));
}

/* A length-prefixed field: no two different entries hash the same bytes. */
static void hash_field(crypto_generichash_state *st, const char *s)
{
	uint8_t len[4];
	size_t n = strlen(s);

	put_le(len, n, 4);
	crypto_generichash_update(st, len, sizeof(len));
	crypto_generichash_update(st, (const uint8_t *)s, n);
}

void audit_entry_hash(const struct audit_entry *e, uint8_t ret[AUDIT_HASH_BYTES])
{
	crypto_generichash_state st;
	uint8_t fixed[8 + 8 + 4];

	crypto_generichash_init(&st, NULL, 0, AUDIT_HASH_BYTES);
	crypto_generichash_update(&st, (const uint8_t *)AUDIT_DOMAIN, sizeof(AUDIT_DOMAIN));	/* with its NUL */
	put_le(fixed, e->seq, 8);
	put_le(fixed + 8, (uint64_t)e->time, 8);
	put_le(fixed + 16, e->uid, 4);
	crypto_generichash_update(&st, fixed, sizeof(fixed));
	hash_field(&st, e->action);
	hash_field(&st, e->object);
	hash_field(&st, e->details);
	crypto_generichash_update(&st, e->prev, AUDIT_HASH_BYTES);
	crypto_generichash_final(&st, ret, AUDIT_HASH_BYTES);
}

static bool raw_ok(unsigned char ch)
{
	return ch > 0x20 && ch < 0x7f && ch != '%';
}

/* Escaped s into out; false if it does not fit. */
static bool escape(const char *s, char *out, size_t size, size_t *pos)
{
	static const char hex[] = "0123456789ABCDEF";

	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (raw_ok(ch)) {
			if (*pos + 1 >= size)
				return false;
			out[(*pos)++] = (char)ch;
		} else {
			if (*pos + 3 >= size)
				return false;
			out[(*pos)++] = '%';
			out[(*pos)++] = hex[ch >> 4];
			out[(*pos)++] = hex[ch & 15];
		}
	}
	out[*pos] = '\0';
	return true;
}

static bool append_str(char *out, size_t size, size_t *pos, const char *s)
{
	size_t n = strlen(s);

	if (*pos + n >= size)
		return false;
	memcpy(out + *pos, s, n + 1);
	*pos += n;
	return true;
}

int audit_entry_format(const struct audit_entry *e, char *buf, size_t size)
{
	char head[96], hex[2 * AUDIT_HASH_BYTES + 1];
	size_t pos = 0;

	if (size > AUDIT_LINE_MAX + 1)
		size = AUDIT_LINE_MAX + 1;
	snprintf(head, sizeof(head), "seq=%" PRIu64 " time=%" PRId64 " uid=%" PRIu32 " action=", e->seq, e->time,
		 e->uid);
	if (!append_str(buf, size, &pos, head) || !append_str(buf, size, &pos, e->action) ||
	    !append_str(buf, size, &pos, " object=") || !escape(e->object, buf, size, &pos) ||
	    !append_str(buf, size, &pos, " details=") || !escape(e->details, buf, size, &pos) ||
	    !append_str(buf, size, &pos, " prev="))
		return -ENAMETOOLONG;
	sodium_bin2hex(hex, sizeof(hex), e->prev, AUDIT_HASH_BYTES);
	if (!append_str(buf, size, &pos, hex) || !append_str(buf, size, &pos, " hash="))
		return -ENAMETOOLONG;
	sodium_bin2hex(hex, sizeof(hex), e->hash, AUDIT_HASH_BYTES);
	if (!append_str(buf, size, &pos, hex) || !append_str(buf, size, &pos, "\n"))
		return -ENAMETOOLONG;
	return (int)pos;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	return -1;
}

static bool unescape(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len; i++) {
		int hi, lo;

		if (o + 1 >= size)
			return false;
		if (s[i] != '%') {
			out[o++] = s[i];
			continue;
		}
		if (i + 2 >= len || (hi = hexval(s[i + 1])) < 0 || (lo = hexval(s[i + 2])) < 0)
			return false;
		if (hi == 0 && lo == 0)
			return false;	/* a NUL would end the value early */
		out[o++] = (char)(hi << 4 | lo);
		i += 2;
	}
	out[o] = '\0';
	return true;
}

static bool parse_u64(const char *s, size_t len, uint64_t *ret)
{
	uint64_t v = 0;

	if (len == 0 || len > 20)
		return false;
	for (size_t i = 0; i < len; i++) {
		if (s[i] < '0' || s[i] > '9')
			return false;
		if (v > (UINT64_MAX - (uint64_t)(s[i] - '0')) / 10)
			return false;
		v = v * 10 + (uint64_t)(s[i] - '0');
	}
	*ret = v;
	return true;
}

static bool parse_hex(const char *s, size_t len, uint8_t *out, size_t n)
{
	if (len != 2 * n)
		return false;
	for (size_t i = 0; i < n; i++) {
		int hi = hexval(s[2 * i]), lo = hexval(s[2 * i + 1]);

		if (hi < 0 || lo < 0)
			return false;
		out[i] = (uint8_t)(hi << 4 | lo);
	}
	return true;
}

/* Split line into n "key=value" fields separated by single spaces, keys as given. */
static bool split_fields(const char *line, size_t len, const char *const *keys, int n, const char **val,
			 size_t *vlen)
{
	size_t pos = 0;

	for (int i = 0; i < n; i++) {
		size_t k = strlen(keys[i]), end;

		if (i > 0) {
			if (pos >= len || line[pos] != ' ')
				return false;
			pos++;
		}
		if (len - pos < k + 1 || memcmp(line + pos, keys[i], k) || line[pos + k] != '=')
			return false;
		pos += k + 1;
		end = pos;
		while (end < len && line[end] != ' ')
			end++;
		val[i] = line + pos;
		vlen[i] = end - pos;
		pos = end;
	}
	return pos == len;
}

int audit_entry_parse(const char *line, size_t len, struct audit_entry *ret, const char **ret_why)
{
	static const char *const keys[] = { "seq", "time", "uid", "action", "object", "details", "prev", "hash" };
	const char *val[8], *why = NULL;
	size_t vlen[8];
	struct audit_entry e;
	char canon[AUDIT_LINE_MAX + 2];
	uint64_t u;
	int n;

	memset(&e, 0, sizeof(e));
	if (len > AUDIT_LINE_MAX) {
		why = "longer than any entry";
		goto bad;
	}
	if (memchr(line, '\0', len)) {
		why = "holds a NUL byte";
		goto bad;
	}
	if (!split_fields(line, len, keys, 8, val, vlen)) {
		why = "not 'seq= time= uid= action= object= details= prev= hash=' in that order";
		goto bad;
	}
	if (!parse_u64(val[0], vlen[0], &e.seq)) {
		why = "bad seq";
		goto bad;
	}
	if (vlen[1] && val[1][0] == '-') {
		if (!parse_u64(val[1] + 1, vlen[1] - 1, &u) || u > (uint64_t)INT64_MAX) {
			why = "bad time";
			goto bad;
		}
		e.time = -(int64_t)u;
	} else {
		if (!parse_u64(val[1], vlen[1], &u) || u > (uint64_t)INT64_MAX) {
			why = "bad time";
			goto bad;
		}
		e.time = (int64_t)u;
	}
	if (!parse_u64(val[2], vlen[2], &u) || u > UINT32_MAX) {
		why = "bad uid";
		goto bad;
	}
	e.uid = (uint32_t)u;
	if (vlen[3] >= AUDIT_ACTION_MAX) {
		why = "unknown action";
		goto bad;
	}
	memcpy(e.action, val[3], vlen[3]);
	e.action[vlen[3]] = '\0';
	if (!audit_action_valid(e.action)) {
		why = "unknown action";
		goto bad;
	}
	if (!unescape(val[4], vlen[4], e.object, sizeof(e.object)) ||
	    !unescape(val[5], vlen[5], e.details, sizeof(e.details))) {
		why = "bad escape or too long object/details";
		goto bad;
	}
	if (!parse_hex(val[6], vlen[6], e.prev, AUDIT_HASH_BYTES) || !parse_hex(val[7], vlen[7], e.hash, AUDIT_HASH_BYTES)) {
		why = "prev and hash must be 64 hex digits";
		goto bad;
	}
	/* Canonical: the writer would write exactly these bytes for these values. */
	n = audit_entry_format(&e, canon, sizeof(canon));
	if (n < 0 || (size_t)n != len + 1 || memcmp(canon, line, len)) {
		why = "not in canonical form (a byte was changed)";
		goto bad;
	}
	*ret = e;
	return 0;
bad:
	if (ret_why)
		*ret_why = why;
	return -EBADMSG;
}

int audit_verify(const uint8_t *data, size_t len, audit_entry_cb cb, void *userdata,
		 struct audit_verify_result *ret)
{
	struct audit_entry e;
	uint8_t expect_prev[AUDIT_HASH_BYTES] = { 0 }, h[AUDIT_HASH_BYTES];
	uint64_t expect_seq = 1, line = 0;
	size_t pos = 0;
	const char *why;
	int r;

	memset(ret, 0, sizeof(*ret));
	while (pos < len) {
		const uint8_t *nl = memchr(data + pos, '\n', len - pos);
		size_t n = nl ? (size_t)(nl - (data + pos)) : len - pos;

		line++;
		if (!nl) {
			/* An append that a crash cut short: its action never ran. */
			if (n > AUDIT_LINE_MAX) {
				snprintf(ret->why, sizeof(ret->why), "line %" PRIu64 ": unterminated and too long to be an entry", line);
				ret->bad_line = line;
				return -EBADMSG;
			}
			ret->torn_tail = true;
			break;
		}
		if (audit_entry_parse((const char *)data + pos, n, &e, &why) < 0) {
			snprintf(ret->why, sizeof(ret->why), "line %" PRIu64 ": not an audit entry: %s", line, why);
			ret->bad_line = line;
			return -EBADMSG;
		}
		audit_entry_hash(&e, h);
		if (sodium_memcmp(h, e.hash, sizeof(h)) != 0) {
			snprintf(ret->why, sizeof(ret->why), "line %" PRIu64 " (seq %" PRIu64 "): hash does not match its contents: the entry was edited",
				 line, e.seq);
			ret->bad_line = line;
			return -EBADMSG;
		}
		if (e.seq != expect_seq) {
			if (e.seq > expect_seq)
				snprintf(ret->why, sizeof(ret->why), "line %" PRIu64 ": seq %" PRIu64 " where %" PRIu64 " was due: entries deleted or moved before this line",
					 line, e.seq, expect_seq);
			else
				snprintf(ret->why, sizeof(ret->why), "line %" PRIu64 ": seq %" PRIu64 " where %" PRIu64 " was due: an entry inserted, duplicated or moved here",
					 line, e.seq, expect_seq);
			ret->bad_line = line;
			return -EBADMSG;
		}
		if (sodium_memcmp(e.prev, expect_prev, sizeof(expect_prev)) != 0) {
			snprintf(ret->why, sizeof(ret->why), "line %" PRIu64 " (seq %" PRIu64 "): does not chain to the line before: an entry was inserted, replaced or rewritten",
				 line, e.seq);
			ret->bad_line = line;
			return -EBADMSG;
		}
		if (cb && (r = cb(&e, line, userdata)) != 0)
			return r;
		memcpy(expect_prev, e.hash, sizeof(expect_prev));
		expect_seq = e.seq + 1;
		ret->entries++;
		ret->last_seq = e.seq;
		memcpy(ret->last_hash, e.hash, sizeof(ret->last_hash));
		pos += n + 1;
	}
	return 0;
}

/* ---- checkpoints -------------------------------------------------------- */

static void checkpoint_message(const struct audit_checkpoint *cp, uint8_t msg[sizeof(CHECKPOINT_DOMAIN) + 16 + AUDIT_HASH_BYTES])
{
	memcpy(msg, CHECKPOINT_DOMAIN, sizeof(CHECKPOINT_DOMAIN));
	put_le(msg + sizeof(CHECKPOINT_DOMAIN), cp->seq, 8);
	put_le(msg + sizeof(CHECKPOINT_DOMAIN) + 8, (uint64_t)cp->time, 8);
	memcpy(msg + sizeof(CHECKPOINT_DOMAIN) + 16, cp->hash, AUDIT_HASH_BYTES);
}

static int checkpoint_format(const struct audit_checkpoint *cp, char *buf, size_t size)
{
	char hash[2 * AUDIT_HASH_BYTES + 1], sig[2 * AUDIT_SIG_BYTES + 1];
	int n;

	sodium_bin2hex(hash, sizeof(hash), cp->hash, sizeof(cp->hash));
	sodium_bin2hex(sig, sizeof(sig), cp->sig, sizeof(cp->sig));
	n = snprintf(buf, size, "checkpoint seq=%" PRIu64 " time=%" PRId64 " hash=%s sig=%s\n", cp->seq, cp->time,
		     hash, sig);
	return n < 0 || (size_t)n >= size ? -ENAMETOOLONG : n;
}

int audit_checkpoint_sign(struct audit_checkpoint *cp, const uint8_t sk[64], char *buf, size_t size)
{
	uint8_t msg[sizeof(CHECKPOINT_DOMAIN) + 16 + AUDIT_HASH_BYTES];

	checkpoint_message(cp, msg);
	crypto_sign_detached(cp->sig, NULL, msg, sizeof(msg), sk);
	return checkpoint_format(cp, buf, size);
}

int audit_checkpoint_parse(const char *line, size_t len, struct audit_checkpoint *ret)
{
	static const char *const keys[] = { "seq", "time", "hash", "sig" };
	struct audit_checkpoint cp;
	const char *val[4];
	size_t vlen[4];
	char canon[512];
	uint64_t u;
	int n;

	memset(&cp, 0, sizeof(cp));
	if (len < 11 || len > 400 || memcmp(line, "checkpoint ", 11))
		return -EBADMSG;
	if (!split_fields(line + 11, len - 11, keys, 4, val, vlen) || !parse_u64(val[0], vlen[0], &cp.seq) ||
	    !parse_u64(val[1], vlen[1], &u) || u > (uint64_t)INT64_MAX ||
	    !parse_hex(val[2], vlen[2], cp.hash, sizeof(cp.hash)) || !parse_hex(val[3], vlen[3], cp.sig, sizeof(cp.sig)))
		return -EBADMSG;
	cp.time = (int64_t)u;
	n = checkpoint_format(&cp, canon, sizeof(canon));
	if (n < 0 || (size_t)n != len + 1 || memcmp(canon, line, len))
		return -EBADMSG;
	*ret = cp;
	return 0;
}

bool audit_checkpoint_valid(const struct audit_checkpoint *cp, const uint8_t pk[32])
{
	uint8_t msg[sizeof(CHECKPOINT_DOMAIN) + 16 + AUDIT_HASH_BYTES];

	checkpoint_message(cp, msg);
	return crypto_sign_verify_detached(cp->sig, msg, sizeof(msg), pk) == 0;
}

/* ---- the file ------------------------------------------------------------ */

struct audit {
	pthread_mutex_t lock;
	int fd;
};

int audit_open(const char *path, struct audit **ret)
{
	struct audit *a;
	struct stat sb;
	bool created;
	int r;

	a = calloc(1, sizeof(*a));
	if (!a)
		return -ENOMEM;
	created = stat(path, &sb) < 0;
	a->fd = open(path, O_RDWR | O_CREAT | O_APPEND | O_CLOEXEC, 0640);
	if (a->fd < 0) {
		r = -errno;
		free(a);
		return r;
	}
	if (created) {
		/* A new log must survive a crash as an entry of the directory. */
		char *dir = strdup(path), *slash;
		int dfd;

		if (dir) {
			slash = strrchr(dir, '/');
			if (slash == dir)
				slash[1] = '\0';
			else if (slash)
				*slash = '\0';
			dfd = open(slash ? dir : ".", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
			if (dfd >= 0) {
				fsync(dfd);
				close(dfd);
			}
			free(dir);
		}
	}
	pthread_mutex_init(&a->lock, NULL);
	*ret = a;
	return 0;
}

void audit_close(struct audit *a)
{
	if (!a)
		return;
	close(a->fd);
	pthread_mutex_destroy(&a->lock);
	free(a);
}

/*
 * The chain's head: the last whole line's seq and hash. A torn last line
 * (no '\n': a crash during an append, before its fdatasync returned, so
 * its action never ran) is cut off. Called with the file locked.
 */
static int audit_tail(struct audit *a, uint64_t *ret_seq, uint8_t ret_hash[AUDIT_HASH_BYTES])
{
	static const size_t want = AUDIT_LINE_MAX + 2;
	char *buf;
	off_t size, from;
	ssize_t n;
	size_t end, start;
	struct audit_entry e;
	int r = 0;

	size = lseek(a->fd, 0, SEEK_END);
	if (size < 0)
		return -errno;
	if (size == 0) {
		*ret_seq = 0;
		memset(ret_hash, 0, AUDIT_HASH_BYTES);
		return 0;
	}
	buf = malloc(want);
	if (!buf)
		return -ENOMEM;
	from = size > (off_t)want ? size - (off_t)want : 0;
	n = pread(a->fd, buf, (size_t)(size - from), from);
	if (n != size - from) {
		r = n < 0 ? -errno : -EIO;
		goto out;
	}
	end = (size_t)n;
	if (buf[end - 1] != '\n') {
		char *nl = memrchr(buf, '\n', end);

		if (!nl && from > 0) {
			r = -EBADMSG;	/* more than a line without a newline: not a torn append */
			goto out;
		}
		end = nl ? (size_t)(nl - buf) + 1 : 0;
		if (ftruncate(a->fd, from + (off_t)end) < 0 || fdatasync(a->fd) < 0) {
			r = -errno;
			goto out;
		}
		if (end == 0 && from == 0) {
			*ret_seq = 0;
			memset(ret_hash, 0, AUDIT_HASH_BYTES);
			goto out;
		}
	}
	/* end: just after the last '\n'; the last line starts after the one before. */
	start = end - 1;
	while (start > 0 && buf[start - 1] != '\n')
		start--;
	if (start == 0 && from > 0) {
		r = -EBADMSG;
		goto out;
	}
	if (audit_entry_parse(buf + start, end - 1 - start, &e, NULL) < 0) {
		r = -EBADMSG;
		goto out;
	}
	*ret_seq = e.seq;
	memcpy(ret_hash, e.hash, AUDIT_HASH_BYTES);
out:
	free(buf);
	return r;
}

static void copy_cut(char *dst, size_t size, const char *src)
{
	size_t n = src ? strnlen(src, size - 1) : 0;

	memcpy(dst, src ? src : "", n);
	dst[n] = '\0';
}

int audit_append(struct audit *a, int64_t time, uint32_t uid, const char *action, const char *object,
		 const char *details, uint64_t *ret_seq)
{
	struct audit_entry *e;
	char *line;
	int n, r;

	if (!audit_action_valid(action))
		return -EINVAL;
	e = calloc(1, sizeof(*e));
	line = malloc(AUDIT_LINE_MAX + 1);
	if (!e || !line) {
		free(e);
		free(line);
		return -ENOMEM;
	}
	e->time = time;
	e->uid = uid;
	copy_cut(e->action, sizeof(e->action), action);
	/* Escaping can triple a value: cut so the line always fits. */
	copy_cut(e->object, sizeof(e->object) / 3, object);
	copy_cut(e->details, sizeof(e->details) / 3, details);

	pthread_mutex_lock(&a->lock);
	if (flock(a->fd, LOCK_EX) < 0) {
		r = -errno;
		goto unlock;
	}
	r = audit_tail(a, &e->seq, e->prev);
	if (r < 0)
		goto unflock;
	e->seq++;
	audit_entry_hash(e, e->hash);
	n = audit_entry_format(e, line, AUDIT_LINE_MAX + 1);
	if (n < 0) {
		r = n;
		goto unflock;
	}
	/* One write: a crash leaves a whole line or a torn one, which the next append cuts. */
	if (write(a->fd, line, (size_t)n) != n) {
		r = errno ? -errno : -EIO;
		goto unflock;
	}
	if (fdatasync(a->fd) < 0) {
		r = -errno;
		goto unflock;
	}
	if (ret_seq)
		*ret_seq = e->seq;
	r = 0;
unflock:
	flock(a->fd, LOCK_UN);
unlock:
	pthread_mutex_unlock(&a->lock);
	free(e);
	free(line);
	return r;
}
