// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * policy/rules: [rule NAME] parsing (every key, every bad value), number
 * patterns, first-match-wins with the fail-closed default, and the
 * --check-config report (shadowed rules and conflicts). Numbers are
 * fictional 555-01xx ones.
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <stdio.h>
#include <string.h>

#include "policy/config.h"
#include "policy/rules.h"

#define PAIRS "[pair pbx1]\nport_a=/a1\nport_b=/b1\n[pair pbx2]\nport_a=/a2\nport_b=/b2\n"

static struct config cfg;	/* 70 KB: static, not on the stack */

static int parse(const char *text, char *err, size_t size)
{
	return config_parse(&cfg, "t.conf", text, err, size);
}

/* ---- patterns ---- */

static void pattern_literals_and_classes(void **state)
{
	(void)state;
	assert_true(policy_number_match("5550100", "5550100"));
	assert_false(policy_number_match("5550100", "5550101"));
	assert_false(policy_number_match("5550100", "55501000"));
	assert_false(policy_number_match("5550100", "555010"));
	assert_true(policy_number_match("55501XX", "5550199"));
	assert_true(policy_number_match("55501Zx", "5550190"));
	assert_false(policy_number_match("55501Z0", "5550100"));
	assert_true(policy_number_match("55501N0", "5550120"));
	assert_false(policy_number_match("55501N0", "5550110"));
	assert_true(policy_number_match("555010[1-3,7]", "5550107"));
	assert_true(policy_number_match("555010[1-3,7]", "5550102"));
	assert_false(policy_number_match("555010[1-3,7]", "5550104"));
	assert_true(policy_number_match("_55501XX", "5550142"));	/* Asterisk's '_' is accepted */
	assert_true(policy_number_match("#5*1", "#5*1"));		/* non-final '*' is literal */
	assert_false(policy_number_match("X", "A"));
}

static void pattern_tails(void **state)
{
	(void)state;
	assert_true(policy_number_match("55501.", "555012"));
	assert_true(policy_number_match("55501.", "5550123456"));
	assert_false(policy_number_match("55501.", "55501"));		/* '.' needs one or more */
	assert_true(policy_number_match("55501*", "55501"));		/* '*' zero or more */
	assert_true(policy_number_match("55501*", "55501A#"));	/* tails take anything */
	assert_false(policy_number_match("55501*", "5550"));
	assert_true(policy_number_match("", "5550100"));		/* empty: any */
	assert_true(policy_number_match("", ""));
	assert_true(policy_number_match("*", ""));
	assert_true(policy_number_match(NULL, "5550100"));
	assert_true(policy_number_match("55501*", NULL) == false);
}

static void pattern_malformed_matches_nothing(void **state)
{
	const char *why = NULL;
	static const char *const bad[] = {
		"555.01", "[", "[5-", "[9-1]", "[]", "55a", "5[1-x]", "0123456789012345678901234567890123",
	};

	(void)state;
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		why = NULL;
		assert_false(policy_pattern_valid(bad[i], &why));
		assert_non_null(why);
		assert_false(policy_number_match(bad[i], "5550100"));
	}
	assert_true(policy_pattern_valid("0123456789012345678901234567890", &why));	/* 31 */
}

static void pattern_covers_is_exact(void **state)
{
	(void)state;
	assert_true(policy_pattern_covers("55501.", "555012X"));
	assert_true(policy_pattern_covers("55501.", "55501[1-9]."));
	assert_true(policy_pattern_covers("55501*", "55501."));
	assert_true(policy_pattern_covers("55501*", "55501"));
	assert_true(policy_pattern_covers("", "55501XX"));
	assert_true(policy_pattern_covers("*", ""));
	assert_true(policy_pattern_covers("55501XX", "55501N[0-3]"));
	assert_true(policy_pattern_covers("5550100", "5550100"));
	assert_false(policy_pattern_covers("55501.", "55501"));	/* the exact 5 digits */
	assert_false(policy_pattern_covers("55501.", "55501*"));	/* same: zero more */
	assert_false(policy_pattern_covers("555012X", "55501."));
	assert_false(policy_pattern_covers("55501XX", "55501."));	/* '.' takes 3 digits too */
	assert_false(policy_pattern_covers("55501N", "55501X"));
	assert_false(policy_pattern_covers("55501ZX", "55501XX"));
	assert_false(policy_pattern_covers("5550100", ""));
	assert_false(policy_pattern_covers("55501XX.", "55501."));	/* fixed where the tail is free */
	assert_false(policy_pattern_covers("bad[", "5550100"));
}

/* ---- parsing ---- */

static const char all_keys[] =
	PAIRS
	"[rule desk]\n"
	"trunk = pbx1\n"
	"direction = in\n"
	"number = 55501[0-4]X\n"
	"announcement = play\n"
	"prompt = /etc/trunkrec/prompt.wav\n"
	"verify_window_s = 7\n"
	"announce_during_alerting = yes\n"
	"transfer = continue\n"
	"recorded_numbers = 555010X, 5550110 ,55502.\n"
	"hold = pause\n"
	"payment_pause_code = *7\n"
	"payment_resume_code = *8\n"
	"payment_ivr = 5550199,5550198\n"
	"payment_timeout_s = 120\n"
	"dtmf = keep\n"
	"retention_days = 90\n"
	"unannounced_alarm_after = 3\n"
	"[rule out]\n"
	"direction = out\n"
	"announcement = verify\n"
	"prompt = /etc/trunkrec/pbx-prompt.raw\n"
	"[rule default]\n"
	"announcement = none\n"
	"retention_days = 10\n";

static void parses_every_key(void **state)
{
	char err[512] = "";
	const struct policy_rule *r;

	(void)state;
	assert_int_equal(parse(all_keys, err, sizeof(err)), 0);
	assert_int_equal(cfg.rules.n, 2);
	r = &cfg.rules.rule[0];
	assert_string_equal(r->name, "desk");
	assert_string_equal(r->trunk, "pbx1");
	assert_int_equal(r->direction, POLICY_DIR_IN);
	assert_string_equal(r->number, "55501[0-4]X");
	assert_int_equal(r->announce, POLICY_ANNOUNCE_PLAY);
	assert_string_equal(r->prompt, "/etc/trunkrec/prompt.wav");
	assert_int_equal(r->verify_window_s, 7);
	assert_true(r->announce_during_alerting);
	assert_int_equal(r->transfer, POLICY_TRANSFER_CONTINUE);
	assert_int_equal(r->recorded_numbers.n, 3);
	assert_string_equal(r->recorded_numbers.item[0], "555010X");
	assert_string_equal(r->recorded_numbers.item[1], "5550110");
	assert_string_equal(r->recorded_numbers.item[2], "55502.");
	assert_int_equal(r->hold, POLICY_HOLD_PAUSE);
	assert_string_equal(r->payment_pause_code, "*7");
	assert_string_equal(r->payment_resume_code, "*8");
	assert_int_equal(r->payment_ivr.n, 2);
	assert_string_equal(r->payment_ivr.item[1], "5550198");
	assert_int_equal(r->payment_timeout_s, 120);
	assert_int_equal(r->dtmf, POLICY_DTMF_KEEP);
	assert_int_equal(r->retention_days, 90);
	assert_int_equal(r->unannounced_alarm_after, 3);
	assert_int_equal(r->line, 8);
	assert_int_equal(r->key_line[POLICY_KEY_PAYMENT_IVR], 20);

	r = &cfg.rules.rule[1];
	assert_int_equal(r->direction, POLICY_DIR_OUT);
	assert_int_equal(r->announce, POLICY_ANNOUNCE_VERIFY);
	assert_string_equal(r->trunk, "*");
	/* keys not given take the built-in values, not the [rule default] ones */
	assert_int_equal(r->retention_days, 30);
	assert_int_equal(r->verify_window_s, 5);
	assert_int_equal(r->payment_timeout_s, 300);
	assert_int_equal(r->unannounced_alarm_after, 1);
	assert_int_equal(r->transfer, POLICY_TRANSFER_STOP);
	assert_int_equal(r->dtmf, POLICY_DTMF_MASK);
	assert_false(r->announce_during_alerting);

	assert_int_equal(cfg.rules.deflt.retention_days, 10);
	assert_string_equal(cfg.rules.file, "t.conf");
}

static void builtin_default_fails_closed(void **state)
{
	char err[256] = "";
	const struct policy_rule *r;

	(void)state;
	assert_int_equal(parse(PAIRS, err, sizeof(err)), 0);
	assert_int_equal(cfg.rules.n, 0);
	r = policy_rules_match(&cfg.rules, "pbx1", true, "5550111", "5550100");
	assert_int_equal(r->announce, POLICY_ANNOUNCE_NONE);
	assert_int_equal(r->unannounced_alarm_after, 1);
	assert_int_equal(r->retention_days, 30);
	assert_int_equal(r->transfer, POLICY_TRANSFER_STOP);
	assert_int_equal(r->dtmf, POLICY_DTMF_MASK);
	r = policy_rules_match(NULL, "pbx1", true, "", "");
	assert_non_null(r);
	assert_int_equal(r->announce, POLICY_ANNOUNCE_NONE);
}

static void first_match_wins(void **state)
{
	static const char text[] =
		PAIRS
		"[rule vip]\ntrunk = pbx1\ndirection = in\nnumber = 5550100\nannouncement = play\nprompt = /p\n"
		"[rule sales]\ntrunk = pbx1\nnumber = 55501.\nannouncement = verify\nprompt = /p\n"
		"[rule outbound]\ndirection = out\nnumber = 555020X\nannouncement = play\nprompt = /p\n"
		"[rule default]\nannouncement = play\nprompt = /d\n";
	char err[256] = "";
	const struct policy_rule *r;

	(void)state;
	assert_int_equal(parse(text, err, sizeof(err)), 0);
	r = policy_rules_match(&cfg.rules, "pbx1", true, "5550299", "5550100");
	assert_string_equal(r->name, "vip");
	r = policy_rules_match(&cfg.rules, "pbx1", true, "5550299", "5550101");
	assert_string_equal(r->name, "sales");
	r = policy_rules_match(&cfg.rules, "pbx2", true, "5550299", "5550101");	/* other trunk */
	assert_string_equal(r->name, "default");
	/* outbound: the calling number decides, not the called one */
	r = policy_rules_match(&cfg.rules, "pbx2", false, "5550201", "5550100");
	assert_string_equal(r->name, "outbound");
	r = policy_rules_match(&cfg.rules, "pbx2", false, "5550100", "5550201");
	assert_string_equal(r->name, "default");
	/* direction = in does not match an outbound call with the same number */
	r = policy_rules_match(&cfg.rules, "pbx1", false, "5550100", "5550299");
	assert_string_equal(r->name, "sales");
	r = policy_rules_match(&cfg.rules, NULL, true, NULL, NULL);
	assert_string_equal(r->name, "default");
}

static void sections_accumulate_in_file_order(void **state)
{
	static const char text[] =
		PAIRS
		"[rule a]\nnumber = 5550100\n"
		"[rule b]\nnumber = 5550101\n"
		"[rule a]\nannouncement = play\n";
	char err[256] = "";

	(void)state;
	assert_int_equal(parse(text, err, sizeof(err)), 0);
	assert_int_equal(cfg.rules.n, 2);
	assert_string_equal(cfg.rules.rule[0].name, "a");
	assert_int_equal(cfg.rules.rule[0].announce, POLICY_ANNOUNCE_PLAY);
}

static void at_most_64_rules(void **state)
{
	static char text[8192];
	char err[512] = "";
	size_t used;

	(void)state;
	used = (size_t)snprintf(text, sizeof(text), "%s", PAIRS);
	for (int i = 0; i < POLICY_MAX_RULES; i++)
		used += (size_t)snprintf(text + used, sizeof(text) - used, "[rule r%d]\nnumber = 55501%02d\n", i, i);
	assert_int_equal(parse(text, err, sizeof(err)), 0);
	assert_int_equal(cfg.rules.n, 64);
	snprintf(text + used, sizeof(text) - used, "[rule one_too_many]\nnumber = 5550199\n");
	assert_int_equal(parse(text, err, sizeof(err)), -22);
	assert_non_null(strstr(err, "at most 64"));
	assert_non_null(strstr(err, "one_too_many"));
}

struct bad_case {
	const char *text;
	const char *expect[3];	/* substrings the message must contain */
};

static const struct bad_case bad_cases[] = {
	{ PAIRS "[rule x]\ndirection = both\n", { "t.conf:8:", "direction", "in, out or any" } },
	{ PAIRS "[rule x]\nnumber = 555.01\n", { "t.conf:8:", "number", "'.' may only end" } },
	{ PAIRS "[rule x]\nnumber = 5550100000000000000000000000000000\n", { "t.conf:8:", "number", "31 characters" } },
	{ PAIRS "[rule x]\nannouncement = maybe\n", { "t.conf:8:", "announcement", "play, verify, upstream or none" } },
	{ PAIRS "[rule x]\nverify_window_s = 0\n", { "t.conf:8:", "verify_window_s", "1 to 120" } },
	{ PAIRS "[rule x]\nannounce_during_alerting = sure\n", { "t.conf:8:", "announce_during_alerting", "yes or no" } },
	{ PAIRS "[rule x]\ntransfer = record\n", { "t.conf:8:", "transfer", "stop or continue" } },
	{ PAIRS "[rule x]\nrecorded_numbers = 5550100,,5550101\n", { "t.conf:8:", "recorded_numbers", "empty entry" } },
	{ PAIRS "[rule x]\nrecorded_numbers = 1,2,3,4,5,6,7,8,9\n", { "t.conf:8:", "recorded_numbers", "at most 8" } },
	{ PAIRS "[rule x]\npayment_ivr = 5550199,55501[\n", { "t.conf:8:", "payment_ivr", "entry 2" } },
	{ PAIRS "[rule x]\nhold = record\n", { "t.conf:8:", "hold", "only pause" } },
	{ PAIRS "[rule x]\npayment_pause_code = *7x\n", { "t.conf:8:", "payment_pause_code", "DTMF code" } },
	{ PAIRS "[rule x]\npayment_resume_code = 12345678\n", { "t.conf:8:", "payment_resume_code", "1 to 7 keys" } },
	{ PAIRS "[rule x]\npayment_timeout_s = -1\n", { "t.conf:8:", "payment_timeout_s", "1 to 86400" } },
	{ PAIRS "[rule x]\ndtmf = drop\n", { "t.conf:8:", "dtmf", "mask or keep" } },
	{ PAIRS "[rule x]\nretention_days = 3651\n", { "t.conf:8:", "retention_days", "1 to 3650" } },
	{ PAIRS "[rule x]\nretention_days = 0\n", { "t.conf:8:", "retention_days", "1 to 3650" } },
	{ PAIRS "[rule x]\nunannounced_alarm_after = lots\n", { "t.conf:8:", "unannounced_alarm_after", "0 (never)" } },
	{ PAIRS "[rule x]\nprompt = \n", { "t.conf:8:", "prompt", "WAV or raw G.711" } },
	{ PAIRS "[rule x]\ncolour = red\n", { "t.conf:8:", "colour", "unknown key" } },
	{ PAIRS "[rule default]\nnumber = 5550100\n", { "t.conf:8:", "[rule default]", "no trunk, direction or number" } },
	{ PAIRS "[rule x]\ntrunk = pbx9\n", { "t.conf:8:", "[rule x] trunk = pbx9", "no [pair pbx9]" } },
	{ PAIRS "[rule ]\nnumber = 1\n", { "t.conf:8:", "bad name", "under 32 bytes" } },
};

static void rejects_bad_rules(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		char err[512] = "";

		assert_int_equal(parse(bad_cases[i].text, err, sizeof(err)), -22);
		for (int k = 0; k < 3; k++) {
			if (!strstr(err, bad_cases[i].expect[k]))
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad_cases[i].expect[k]);
		}
	}
}

static void direct_api_validates(void **state)
{
	struct policy_rules rules;
	struct policy_rule *r;
	char why[256];

	(void)state;
	policy_rules_init(&rules, "x.conf");
	r = policy_rules_section(&rules, "a", 3);
	assert_non_null(r);
	assert_int_equal(policy_rule_set(r, 4, "number", "55501X", why, sizeof(why)), 0);
	assert_int_equal(policy_rule_set(r, 5, "number", "55501[", why, sizeof(why)), -22);
	assert_string_equal(r->number, "55501X");	/* untouched on failure */
	assert_int_equal(r->key_line[POLICY_KEY_NUMBER], 4);
	assert_null(policy_rules_section(&rules, "", 6));
	assert_null(policy_rules_section(&rules, "0123456789012345678901234567890123", 6));
	assert_ptr_equal(policy_rules_section(&rules, "default", 7), &rules.deflt);
}

/* ---- --check-config ---- */

static void check_clean_rules(void **state)
{
	char err[512] = "", report[1024];

	(void)state;
	assert_int_equal(parse(all_keys, err, sizeof(err)), 0);
	assert_int_equal(policy_rules_check(&cfg.rules, report, sizeof(report)), 0);
	assert_string_equal(report, "");
}

static void check_finds_shadowed_rules(void **state)
{
	static const char text[] =
		PAIRS
		/* the line of a rule is that of its first key */
		"[rule wide]\ntrunk = *\nnumber = 55501.\nannouncement = play\nprompt = /p\n"			/* 8 */
		"[rule narrow]\ntrunk = pbx1\ndirection = in\nnumber = 555012X\nannouncement = play\nprompt = /p\n"	/* 13 */
		"[rule exact5]\nnumber = 55501\nannouncement = play\nprompt = /p\n"				/* reachable */
		"[rule in1]\ntrunk = pbx2\ndirection = in\nnumber = 5550300\nannouncement = play\nprompt = /p\n"	/* 23 */
		"[rule in2]\ntrunk = pbx2\ndirection = in\nnumber = 5550300\nannouncement = verify\nprompt = /p\n"	/* 29 */
		"[rule out1]\ntrunk = pbx2\ndirection = out\nnumber = 5550300\nannouncement = play\nprompt = /p\n";	/* reachable */
	char err[512] = "", report[2048];

	(void)state;
	assert_int_equal(parse(text, err, sizeof(err)), 0);
	assert_int_equal(policy_rules_check(&cfg.rules, report, sizeof(report)), 2);
	assert_non_null(strstr(report, "t.conf:13: [rule narrow] match: unreachable: [rule wide] (line 8)"));
	assert_non_null(strstr(report, "t.conf:29: [rule in2] match: unreachable: the same match as [rule in1] (line 23)"));
	assert_null(strstr(report, "exact5"));
	assert_null(strstr(report, "out1"));
}

static void check_finds_conflicts(void **state)
{
	static const char text[] =
		PAIRS
		/* line 7 */
		"[rule v]\nnumber = 5550100\nannouncement = verify\n"
		"[rule p]\nnumber = 5550101\nannouncement = play\nprompt = /p\npayment_pause_code = *7\n"
		"[rule r]\nnumber = 5550102\nannouncement = play\nprompt = /p\npayment_resume_code = *8\n"
		"[rule s]\nnumber = 5550103\nannouncement = play\nprompt = /p\npayment_pause_code = 7\npayment_resume_code = *7\n"
		"[rule c]\nnumber = 5550104\nannouncement = play\nprompt = /p\ntransfer = continue\n"
		"[rule a]\nnumber = 5550105\nannouncement = verify\nprompt = /p\nannounce_during_alerting = yes\n"
		"[rule default]\nannouncement = play\n";
	char err[512] = "", report[4096];

	(void)state;
	assert_int_equal(parse(text, err, sizeof(err)), 0);
	assert_int_equal(policy_rules_check(&cfg.rules, report, sizeof(report)), 7);
	assert_non_null(strstr(report, "t.conf:9: [rule v] announcement: verify without a prompt"));
	assert_non_null(strstr(report, "t.conf:14: [rule p] payment_pause_code: a pause code without payment_resume_code"));
	assert_non_null(strstr(report, "t.conf:19: [rule r] payment_resume_code: a resume code without payment_pause_code"));
	assert_non_null(strstr(report, "t.conf:25: [rule s] payment_resume_code: the pause and resume codes"));
	assert_non_null(strstr(report, "t.conf:30: [rule c] transfer: continue without recorded_numbers"));
	assert_non_null(strstr(report, "t.conf:35: [rule a] announce_during_alerting: only announcement = play"));
	assert_non_null(strstr(report, "t.conf:37: [rule default] announcement: play without a prompt"));
}

static void check_report_is_bounded(void **state)
{
	static const char text[] =
		PAIRS
		"[rule a]\nannouncement = verify\n"
		"[rule b]\nannouncement = verify\n"
		"[rule c]\nannouncement = verify\n";
	char err[512] = "", report[40];

	(void)state;
	assert_int_equal(parse(text, err, sizeof(err)), 0);
	memset(report, 'x', sizeof(report));
	/* a, b and c each lack a prompt; b and c repeat a's match */
	assert_int_equal(policy_rules_check(&cfg.rules, report, sizeof(report)), 5);
	assert_true(strlen(report) < sizeof(report));
	assert_int_equal(policy_rules_check(&cfg.rules, report, 0), 5);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(pattern_literals_and_classes),
		cmocka_unit_test(pattern_tails),
		cmocka_unit_test(pattern_malformed_matches_nothing),
		cmocka_unit_test(pattern_covers_is_exact),
		cmocka_unit_test(parses_every_key),
		cmocka_unit_test(builtin_default_fails_closed),
		cmocka_unit_test(first_match_wins),
		cmocka_unit_test(sections_accumulate_in_file_order),
		cmocka_unit_test(at_most_64_rules),
		cmocka_unit_test(rejects_bad_rules),
		cmocka_unit_test(direct_api_validates),
		cmocka_unit_test(check_clean_rules),
		cmocka_unit_test(check_finds_shadowed_rules),
		cmocka_unit_test(check_finds_conflicts),
		cmocka_unit_test(check_report_is_bounded),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
