// SPDX-License-Identifier: GPL-2.0-or-later
#include "policy/rules.h"

#include <errno.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ---- number patterns ---- */

/*
 * A pattern compiled to one symbol set per fixed position and a tail.
 * Symbols: bits 0-9 the digits, 10 '*', 11 '#'. Any other character of a
 * number is in no set, so only a tail matches it.
 */
enum pat_tail { TAIL_NONE, TAIL_ONE_OR_MORE, TAIL_ZERO_OR_MORE };

struct pattern {
	int len;
	enum pat_tail tail;
	uint16_t set[POLICY_PATTERN_MAX];
};

#define SYM_STAR	(1u << 10)
#define SYM_HASH	(1u << 11)
#define SET_DIGITS	0x3ffu

static uint16_t sym_bit(char c)
{
	if (c >= '0' && c <= '9')
		return (uint16_t)(1u << (c - '0'));
	if (c == '*')
		return SYM_STAR;
	if (c == '#')
		return SYM_HASH;
	return 0;
}

static int pattern_compile(const char *text, struct pattern *p, const char **ret_why)
{
	const char *why = NULL;
	size_t i = 0;

	memset(p, 0, sizeof(*p));
	if (!text || !*text) {
		p->tail = TAIL_ZERO_OR_MORE;	/* empty: any number */
		return 0;
	}
	if (strlen(text) >= POLICY_PATTERN_MAX) {
		why = "too long; a pattern is at most 31 characters";
		goto bad;
	}
	if (text[0] == '_')
		i = 1;
	for (; text[i]; i++) {
		char c = text[i];
		uint16_t set = 0;

		if (c == '.' || (c == '*' && !text[i + 1])) {
			if (text[i + 1]) {
				why = "'.' may only end a pattern";
				goto bad;
			}
			p->tail = c == '.' ? TAIL_ONE_OR_MORE : TAIL_ZERO_OR_MORE;
			break;
		}
		switch (c) {
		case 'X': case 'x':
			set = SET_DIGITS;
			break;
		case 'Z': case 'z':
			set = SET_DIGITS & ~1u;
			break;
		case 'N': case 'n':
			set = SET_DIGITS & ~3u;
			break;
		case '[':
			for (i++; text[i] && text[i] != ']'; i++) {
				char lo = text[i], hi = lo;

				if (lo == ',')
					continue;
				if (text[i + 1] == '-') {
					hi = text[i + 2];
					i += 2;
				}
				if (lo < '0' || lo > '9' || hi < '0' || hi > '9' || hi < lo) {
					why = "a [set] holds digits and ranges like [1-5]";
					goto bad;
				}
				for (char d = lo; d <= hi; d++)
					set |= sym_bit(d);
			}
			if (text[i] != ']') {
				why = "'[' without ']'";
				goto bad;
			}
			if (!set) {
				why = "empty [set]";
				goto bad;
			}
			break;
		default:
			set = sym_bit(c);
			if (!set) {
				why = "use digits, #, X, Z, N, [1-5], and a final . or *";
				goto bad;
			}
		}
		p->set[p->len++] = set;
	}
	return 0;
bad:
	if (ret_why)
		*ret_why = why;
	return -EINVAL;
}

static bool pattern_match(const struct pattern *p, const char *number)
{
	size_t n = strlen(number);

	switch (p->tail) {
	case TAIL_NONE:
		if (n != (size_t)p->len)
			return false;
		break;
	case TAIL_ONE_OR_MORE:
		if (n < (size_t)p->len + 1)
			return false;
		break;
	case TAIL_ZERO_OR_MORE:
		if (n < (size_t)p->len)
			return false;
		break;
	}
	for (int i = 0; i < p->len; i++)
		if (!(sym_bit(number[i]) & p->set[i]))
			return false;
	return true;
}

bool policy_number_match(const char *pattern, const char *number)
{
	struct pattern p;

	if (pattern_compile(pattern, &p, NULL) < 0)
		return false;	/* fail closed: a bad pattern matches nothing */
	return pattern_match(&p, number ? number : "");
}

bool policy_pattern_valid(const char *pattern, const char **ret_why)
{
	struct pattern p;

	return pattern_compile(pattern, &p, ret_why) == 0;
}

static int min_len(const struct pattern *p)
{
	return p->len + (p->tail == TAIL_ONE_OR_MORE);
}

/*
 * outer covers inner when every string inner accepts, outer accepts. A tail
 * accepts characters no position set holds, so a tail of inner can only be
 * met by a tail of outer, and outer may fix no position that inner leaves to
 * its tail.
 */
bool policy_pattern_covers(const char *outer, const char *inner)
{
	struct pattern o, in;

	if (pattern_compile(outer, &o, NULL) < 0 || pattern_compile(inner, &in, NULL) < 0)
		return false;
	if (in.tail != TAIL_NONE) {
		if (o.tail == TAIL_NONE || o.len > in.len || min_len(&o) > min_len(&in))
			return false;
	} else if (o.tail == TAIL_NONE) {
		if (o.len != in.len)
			return false;
	} else if (min_len(&o) > in.len) {
		return false;
	}
	for (int i = 0; i < o.len; i++)
		if (in.set[i] & ~o.set[i])
			return false;
	return true;
}

/* ---- rules ---- */

/*
 * Built-in values; announcement = none so that a rule (or a line) nobody
 * configured fails closed. The first unannounced call raises the alarm.
 */
static const struct policy_rule builtin_default = {
	.name = POLICY_DEFAULT_NAME,
	.trunk = "*",
	.direction = POLICY_DIR_ANY,
	.announce = POLICY_ANNOUNCE_NONE,
	.verify_window_s = 5,
	.transfer = POLICY_TRANSFER_STOP,
	.hold = POLICY_HOLD_PAUSE,
	.payment_timeout_s = 300,
	.dtmf = POLICY_DTMF_MASK,
	.retention_days = 30,
	.unannounced_alarm_after = 1,
};

void policy_rule_defaults(struct policy_rule *r, const char *name)
{
	*r = builtin_default;
	snprintf(r->name, sizeof(r->name), "%s", name);
}

void policy_rules_init(struct policy_rules *rules, const char *file)
{
	memset(rules, 0, sizeof(*rules));
	snprintf(rules->file, sizeof(rules->file), "%s", file ? file : "");
	policy_rule_defaults(&rules->deflt, POLICY_DEFAULT_NAME);
}

struct policy_rule *policy_rules_section(struct policy_rules *rules, const char *name, int line)
{
	struct policy_rule *r;

	if (!*name || strlen(name) >= POLICY_NAME_MAX)
		return NULL;
	if (!strcmp(name, POLICY_DEFAULT_NAME)) {
		r = &rules->deflt;
		if (!r->line)
			r->line = line;
		return r;
	}
	for (int i = 0; i < rules->n; i++)
		if (!strcmp(rules->rule[i].name, name))
			return &rules->rule[i];
	if (rules->n == POLICY_MAX_RULES)
		return NULL;
	r = &rules->rule[rules->n++];
	policy_rule_defaults(r, name);
	r->line = line;
	return r;
}

static int why(char *buf, size_t size, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(buf, size, fmt, ap);
	va_end(ap);
	return -EINVAL;
}

static int parse_int(const char *value, int min, int max, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < min || v > max)
		return -EINVAL;
	*ret = (int)v;
	return 0;
}

static int parse_choice(const char *value, const char *const *names, int n, int *ret)
{
	for (int i = 0; i < n; i++)
		if (!strcmp(value, names[i])) {
			*ret = i;
			return 0;
		}
	return -EINVAL;
}

/* Comma-separated patterns; spaces around each are dropped. */
static int parse_list(const char *value, struct policy_list *list, char *buf, size_t size)
{
	const char *p = value;

	memset(list, 0, sizeof(*list));
	for (;;) {
		const char *end = strchr(p, ',');
		size_t len = end ? (size_t)(end - p) : strlen(p);
		const char *bad;
		char *item;

		while (len && (*p == ' ' || *p == '\t'))
			p++, len--;
		while (len && (p[len - 1] == ' ' || p[len - 1] == '\t'))
			len--;
		if (!len)
			return why(buf, size, "an empty entry; write patterns separated by commas");
		if (list->n == POLICY_LIST_MAX)
			return why(buf, size, "more than %d entries; at most %d patterns", POLICY_LIST_MAX, POLICY_LIST_MAX);
		if (len >= POLICY_PATTERN_MAX)
			return why(buf, size, "entry %d is too long; a pattern is at most 31 characters", list->n + 1);
		item = list->item[list->n];
		memcpy(item, p, len);
		item[len] = '\0';
		if (!policy_pattern_valid(item, &bad))
			return why(buf, size, "entry %d (%s): %s", list->n + 1, item, bad);
		list->n++;
		if (!end)
			return 0;
		p = end + 1;
	}
}

static int parse_code(const char *value, char *code, char *buf, size_t size)
{
	size_t len = strlen(value);

	if (!len || len >= POLICY_CODE_MAX || strspn(value, "0123456789*#ABCD") != len)
		return why(buf, size, "a DTMF code is 1 to %d keys of 0-9, *, #, A-D, like *7", POLICY_CODE_MAX - 1);
	memcpy(code, value, len + 1);
	return 0;
}

static const char *const directions[] = { "any", "in", "out" };
static const char *const announces[] = { "none", "play", "verify", "upstream" };
static const char *const transfers[] = { "stop", "continue" };
static const char *const dtmfs[] = { "mask", "keep" };
static const char *const yes_no[] = { "no", "yes" };

static int set_key(struct policy_rule *r, enum policy_key k, const char *v, char *buf, size_t size)
{
	const char *bad;
	int i;

	switch (k) {
	case POLICY_KEY_TRUNK:
		if (!*v || strlen(v) >= sizeof(r->trunk))
			return why(buf, size, "give a [pair NAME] (under 32 bytes) or * for every pair");
		strcpy(r->trunk, v);
		return 0;
	case POLICY_KEY_DIRECTION:
		if (parse_choice(v, directions, 3, &i))
			return why(buf, size, "use in, out or any");
		r->direction = i;
		return 0;
	case POLICY_KEY_NUMBER:
		if (!policy_pattern_valid(v, &bad))
			return why(buf, size, "%s", bad);
		strcpy(r->number, v);
		return 0;
	case POLICY_KEY_ANNOUNCEMENT:
		if (parse_choice(v, announces, 4, &i))
			return why(buf, size, "use play, verify, upstream or none");
		r->announce = i;
		return 0;
	case POLICY_KEY_PROMPT:
		if (!*v || strlen(v) >= sizeof(r->prompt))
			return why(buf, size, "give the prompt file (WAV or raw G.711, a path under 256 bytes)");
		strcpy(r->prompt, v);
		return 0;
	case POLICY_KEY_VERIFY_WINDOW_S:
		if (parse_int(v, 1, 120, &r->verify_window_s))
			return why(buf, size, "not a whole number of seconds from 1 to 120");
		return 0;
	case POLICY_KEY_ANNOUNCE_DURING_ALERTING:
		if (parse_choice(v, yes_no, 2, &i))
			return why(buf, size, "use yes or no");
		r->announce_during_alerting = i;
		return 0;
	case POLICY_KEY_TRANSFER:
		if (parse_choice(v, transfers, 2, &i))
			return why(buf, size, "use stop or continue");
		r->transfer = i;
		return 0;
	case POLICY_KEY_RECORDED_NUMBERS:
		return parse_list(v, &r->recorded_numbers, buf, size);
	case POLICY_KEY_HOLD:
		if (strcmp(v, "pause"))
			return why(buf, size, "only pause is supported: held audio is never recorded");
		r->hold = POLICY_HOLD_PAUSE;
		return 0;
	case POLICY_KEY_PAYMENT_PAUSE_CODE:
		return parse_code(v, r->payment_pause_code, buf, size);
	case POLICY_KEY_PAYMENT_RESUME_CODE:
		return parse_code(v, r->payment_resume_code, buf, size);
	case POLICY_KEY_PAYMENT_IVR:
		return parse_list(v, &r->payment_ivr, buf, size);
	case POLICY_KEY_PAYMENT_TIMEOUT_S:
		if (parse_int(v, 1, 86400, &r->payment_timeout_s))
			return why(buf, size, "not a whole number of seconds from 1 to 86400");
		return 0;
	case POLICY_KEY_DTMF:
		if (parse_choice(v, dtmfs, 2, &i))
			return why(buf, size, "use mask or keep");
		r->dtmf = i;
		return 0;
	case POLICY_KEY_RETENTION_DAYS:
		if (parse_int(v, 1, 3650, &r->retention_days))
			return why(buf, size, "not a whole number of days from 1 to 3650");
		return 0;
	case POLICY_KEY_UNANNOUNCED_ALARM_AFTER:
		if (parse_int(v, 0, 1000000, &r->unannounced_alarm_after))
			return why(buf, size, "not a whole number from 0 (never) to 1000000");
		return 0;
	case POLICY_KEY_COUNT:
		break;
	}
	return why(buf, size, "unknown key");
}

static const char *const key_names[POLICY_KEY_COUNT] = {
	[POLICY_KEY_TRUNK] = "trunk",
	[POLICY_KEY_DIRECTION] = "direction",
	[POLICY_KEY_NUMBER] = "number",
	[POLICY_KEY_ANNOUNCEMENT] = "announcement",
	[POLICY_KEY_PROMPT] = "prompt",
	[POLICY_KEY_VERIFY_WINDOW_S] = "verify_window_s",
	[POLICY_KEY_ANNOUNCE_DURING_ALERTING] = "announce_during_alerting",
	[POLICY_KEY_TRANSFER] = "transfer",
	[POLICY_KEY_RECORDED_NUMBERS] = "recorded_numbers",
	[POLICY_KEY_HOLD] = "hold",
	[POLICY_KEY_PAYMENT_PAUSE_CODE] = "payment_pause_code",
	[POLICY_KEY_PAYMENT_RESUME_CODE] = "payment_resume_code",
	[POLICY_KEY_PAYMENT_IVR] = "payment_ivr",
	[POLICY_KEY_PAYMENT_TIMEOUT_S] = "payment_timeout_s",
	[POLICY_KEY_DTMF] = "dtmf",
	[POLICY_KEY_RETENTION_DAYS] = "retention_days",
	[POLICY_KEY_UNANNOUNCED_ALARM_AFTER] = "unannounced_alarm_after",
};

int policy_rule_set(struct policy_rule *r, int line, const char *key, const char *value,
		    char *ret_why, size_t whysize)
{
	for (int k = 0; k < POLICY_KEY_COUNT; k++) {
		if (strcmp(key, key_names[k]))
			continue;
		if (k <= POLICY_KEY_NUMBER && !strcmp(r->name, POLICY_DEFAULT_NAME))
			return why(ret_why, whysize,
				   "[rule default] takes every call no other rule matches; it has no trunk, direction or number");
		if (set_key(r, k, value, ret_why, whysize) < 0)
			return -EINVAL;
		r->key_line[k] = line;
		return 0;
	}
	return why(ret_why, whysize,
		   "unknown key; a [rule NAME] takes trunk, direction, number, announcement, prompt, "
		   "verify_window_s, announce_during_alerting, transfer, recorded_numbers, hold, "
		   "payment_pause_code, payment_resume_code, payment_ivr, payment_timeout_s, dtmf, "
		   "retention_days, unannounced_alarm_after");
}

static bool rule_matches(const struct policy_rule *r, const char *trunk, bool inbound,
			 const char *calling, const char *called)
{
	if (strcmp(r->trunk, "*") && strcmp(r->trunk, trunk ? trunk : ""))
		return false;
	if ((r->direction == POLICY_DIR_IN && !inbound) || (r->direction == POLICY_DIR_OUT && inbound))
		return false;
	return policy_number_match(r->number, inbound ? called : calling);
}

/* No rules at all: the built-in default. */
const struct policy_rule *policy_rules_match(const struct policy_rules *rules, const char *trunk,
					     bool inbound, const char *calling, const char *called)
{
	if (!rules)
		return &builtin_default;
	for (int i = 0; i < rules->n; i++)
		if (rule_matches(&rules->rule[i], trunk, inbound, calling, called))
			return &rules->rule[i];
	return &rules->deflt;
}

/* ---- --check-config ---- */

struct report {
	char *buf;
	size_t size, used;
	int count;
	const char *file;
};

static void finding(struct report *rep, const struct policy_rule *r, enum policy_key k, const char *fmt, ...)
{
	int line = k < POLICY_KEY_COUNT && r->key_line[k] ? r->key_line[k] : r->line;
	va_list ap;
	int n;

	rep->count++;
	if (rep->used + 1 >= rep->size)
		return;
	n = snprintf(rep->buf + rep->used, rep->size - rep->used, "%s:%d: [rule %s] %s: ", rep->file, line,
		     r->name, k < POLICY_KEY_COUNT ? key_names[k] : "match");
	if (n < 0 || (size_t)n >= rep->size - rep->used)
		goto full;
	rep->used += (size_t)n;
	va_start(ap, fmt);
	n = vsnprintf(rep->buf + rep->used, rep->size - rep->used, fmt, ap);
	va_end(ap);
	if (n < 0 || (size_t)n >= rep->size - rep->used)
		goto full;
	rep->used += (size_t)n;
	n = snprintf(rep->buf + rep->used, rep->size - rep->used, "\n");
	if (n < 0 || (size_t)n >= rep->size - rep->used)
		goto full;
	rep->used += (size_t)n;
	return;
full:
	rep->used = rep->size - 1;
	rep->buf[rep->used] = '\0';
}

static bool same_match(const struct policy_rule *a, const struct policy_rule *b)
{
	return !strcmp(a->trunk, b->trunk) && a->direction == b->direction &&
	       policy_pattern_covers(a->number, b->number) && policy_pattern_covers(b->number, a->number);
}

/* Every call later matches, earlier matches too. */
static bool shadows(const struct policy_rule *earlier, const struct policy_rule *later)
{
	if (strcmp(earlier->trunk, "*") && strcmp(earlier->trunk, later->trunk))
		return false;
	if (earlier->direction != POLICY_DIR_ANY && earlier->direction != later->direction)
		return false;
	return policy_pattern_covers(earlier->number, later->number);
}

static bool is_suffix(const char *s, const char *suffix)
{
	size_t n = strlen(s), m = strlen(suffix);

	return m && m <= n && !strcmp(s + n - m, suffix);
}

static void check_rule(struct report *rep, const struct policy_rule *r)
{
	const char *pause = r->payment_pause_code, *resume = r->payment_resume_code;

	if ((r->announce == POLICY_ANNOUNCE_PLAY || r->announce == POLICY_ANNOUNCE_VERIFY) && !*r->prompt)
		finding(rep, r, POLICY_KEY_ANNOUNCEMENT,
			"%s without a prompt: no call of this line would ever be recorded; set prompt = FILE",
			announces[r->announce]);
	if (r->announce_during_alerting && r->announce != POLICY_ANNOUNCE_PLAY)
		finding(rep, r, POLICY_KEY_ANNOUNCE_DURING_ALERTING,
			"only announcement = play plays a prompt; remove it or use play");
	if (*pause && !*resume)
		finding(rep, r, POLICY_KEY_PAYMENT_PAUSE_CODE,
			"a pause code without payment_resume_code pauses for the rest of the call; add payment_resume_code");
	if (!*pause && *resume)
		finding(rep, r, POLICY_KEY_PAYMENT_RESUME_CODE,
			"a resume code without payment_pause_code does nothing; add payment_pause_code or remove it");
	if (*pause && *resume && (is_suffix(pause, resume) || is_suffix(resume, pause)))
		finding(rep, r, POLICY_KEY_PAYMENT_RESUME_CODE,
			"the pause and resume codes are equal or one ends the other; pick codes that differ in their last key");
	if (r->transfer == POLICY_TRANSFER_CONTINUE && !r->recorded_numbers.n)
		finding(rep, r, POLICY_KEY_TRANSFER,
			"continue without recorded_numbers stops at every transfer; list the numbers inside the recorded set");
}

int policy_rules_check(const struct policy_rules *rules, char *report, size_t size)
{
	struct report rep = { .buf = report, .size = size, .file = rules->file };

	if (size)
		report[0] = '\0';
	for (int i = 0; i < rules->n; i++) {
		const struct policy_rule *r = &rules->rule[i];

		for (int j = 0; j < i; j++) {
			const struct policy_rule *e = &rules->rule[j];

			if (same_match(e, r)) {
				finding(&rep, r, POLICY_KEY_COUNT,
					"unreachable: the same match as [rule %s] (line %d); merge the two or remove one",
					e->name, e->line);
				break;
			}
			if (shadows(e, r)) {
				finding(&rep, r, POLICY_KEY_COUNT,
					"unreachable: [rule %s] (line %d) matches every call this rule matches; "
					"move this rule above it or narrow it", e->name, e->line);
				break;
			}
		}
		check_rule(&rep, r);
	}
	if (rules->deflt.line)
		check_rule(&rep, &rules->deflt);
	return rep.count;
}
