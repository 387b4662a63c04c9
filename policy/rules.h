/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Line policies: the [rule NAME] sections of trunkrecd.conf (docs/config.md).
 *
 * Pure: text in, rules out; a call's trunk and numbers in, its rule out. No
 * I/O, no clock, no allocation. Everything is bounded: at most
 * POLICY_MAX_RULES rules, patterns under POLICY_PATTERN_MAX bytes, lists of at
 * most POLICY_LIST_MAX entries.
 *
 * First match wins, in file order. A call no rule matches gets the default
 * rule: [rule default] if the file has one, else the built-in default, which
 * is announcement = none. Fail closed: a line nobody configured is never
 * recorded (and its calls raise the unannounced alarm).
 */
#ifndef TRUNKREC_POLICY_RULES_H
#define TRUNKREC_POLICY_RULES_H

#include <stdbool.h>
#include <stddef.h>

#define POLICY_MAX_RULES	64
#define POLICY_PATTERN_MAX	32	/* a pattern is at most 31 characters */
#define POLICY_LIST_MAX		8
#define POLICY_NAME_MAX		32
#define POLICY_PATH_MAX		256
#define POLICY_CODE_MAX		8	/* a DTMF code is at most 7 keys */
#define POLICY_FILE_MAX		128	/* the file name kept for messages */
#define POLICY_DEFAULT_NAME	"default"

enum policy_direction { POLICY_DIR_ANY, POLICY_DIR_IN, POLICY_DIR_OUT };
/*
 * upstream: the caller was told before the call reached this trunk (the
 * carrier's or an IVR's announcement), as the operator attests in the rule;
 * recording starts at answer. The timeline says so.
 */
enum policy_announce { POLICY_ANNOUNCE_NONE, POLICY_ANNOUNCE_PLAY, POLICY_ANNOUNCE_VERIFY, POLICY_ANNOUNCE_UPSTREAM };
enum policy_transfer { POLICY_TRANSFER_STOP, POLICY_TRANSFER_CONTINUE };
enum policy_hold { POLICY_HOLD_PAUSE };
enum policy_dtmf { POLICY_DTMF_MASK, POLICY_DTMF_KEEP };

/* The keys of a [rule NAME] section, in the order of the table in rules.c. */
enum policy_key {
	POLICY_KEY_TRUNK,
	POLICY_KEY_DIRECTION,
	POLICY_KEY_NUMBER,
	POLICY_KEY_ANNOUNCEMENT,
	POLICY_KEY_PROMPT,
	POLICY_KEY_VERIFY_WINDOW_S,
	POLICY_KEY_ANNOUNCE_DURING_ALERTING,
	POLICY_KEY_TRANSFER,
	POLICY_KEY_RECORDED_NUMBERS,
	POLICY_KEY_HOLD,
	POLICY_KEY_PAYMENT_PAUSE_CODE,
	POLICY_KEY_PAYMENT_RESUME_CODE,
	POLICY_KEY_PAYMENT_IVR,
	POLICY_KEY_PAYMENT_TIMEOUT_S,
	POLICY_KEY_DTMF,
	POLICY_KEY_RETENTION_DAYS,
	POLICY_KEY_UNANNOUNCED_ALARM_AFTER,
	POLICY_KEY_COUNT
};

struct policy_list {
	int n;
	char item[POLICY_LIST_MAX][POLICY_PATTERN_MAX];	/* validated patterns */
};

struct policy_rule {
	char name[POLICY_NAME_MAX];
	int line;				/* its first key, for messages */
	int key_line[POLICY_KEY_COUNT];		/* 0 = not set in the file */

	/* match */
	char trunk[POLICY_NAME_MAX];		/* a [pair NAME] or "*" */
	enum policy_direction direction;
	char number[POLICY_PATTERN_MAX];	/* "" = any number */

	/* announcement */
	enum policy_announce announce;
	char prompt[POLICY_PATH_MAX];		/* play: what to play; verify: the reference */
	int verify_window_s;
	bool announce_during_alerting;

	enum policy_transfer transfer;
	struct policy_list recorded_numbers;
	enum policy_hold hold;

	/* payment */
	char payment_pause_code[POLICY_CODE_MAX];
	char payment_resume_code[POLICY_CODE_MAX];
	struct policy_list payment_ivr;
	int payment_timeout_s;

	enum policy_dtmf dtmf;
	int retention_days;
	int unannounced_alarm_after;		/* 0 = never alarm */
};

struct policy_rules {
	char file[POLICY_FILE_MAX];		/* for messages */
	int n;
	struct policy_rule rule[POLICY_MAX_RULES];
	struct policy_rule deflt;		/* [rule default], or the built-in one */
};

/* No rules; the default is the built-in one (announcement = none). */
void policy_rules_init(struct policy_rules *rules, const char *file);

/* The built-in values of every key of a rule named name. */
void policy_rule_defaults(struct policy_rule *rule, const char *name);

/*
 * The rule of the section [rule NAME], made if new (at line, its first key).
 * NULL when NAME is empty or too long, or the 64 rules are used up.
 */
struct policy_rule *policy_rules_section(struct policy_rules *rules, const char *name, int line);

/*
 * Set one key of a rule. On a bad key or value returns -EINVAL and writes
 * what is wrong and how to fix it to ret_why (no file or line: the config
 * parser adds them). line is remembered for policy_rules_check().
 */
int policy_rule_set(struct policy_rule *rule, int line, const char *key, const char *value,
		    char *ret_why, size_t whysize);

/*
 * The rule of a call: the first in file order whose trunk, direction and
 * number match; the number is the called one for inbound calls and the
 * calling one for outbound calls. Never NULL: falls back to the default.
 */
const struct policy_rule *policy_rules_match(const struct policy_rules *rules, const char *trunk,
					     bool inbound, const char *calling, const char *called);

/*
 * Asterisk-style pattern: digits, '#' and a non-final '*' match themselves,
 * X any digit, Z 1-9, N 2-9, [1-5,7] a set, a trailing '.' one or more of
 * anything, a trailing '*' zero or more; a leading '_' is ignored; an empty
 * pattern matches any number. A malformed pattern matches nothing.
 */
bool policy_number_match(const char *pattern, const char *number);

/* Whether the pattern is well formed; if not, why (for messages). */
bool policy_pattern_valid(const char *pattern, const char **ret_why);

/*
 * Whether every number that inner matches is also matched by outer (exact:
 * true only when it is provable from the patterns).
 */
bool policy_pattern_covers(const char *outer, const char *inner);

/*
 * Lists conflicts and unreachable rules into report, one line each,
 * "FILE:LINE: [rule NAME] key: what is wrong; the fix". Returns how many
 * (0: the rules are consistent). report is always terminated; lines that do
 * not fit are counted but cut.
 */
int policy_rules_check(const struct policy_rules *rules, char *report, size_t size);

#endif
