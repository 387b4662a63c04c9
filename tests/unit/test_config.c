// SPDX-License-Identifier: GPL-2.0-or-later
/* policy/config: good files parse to the right values; every bad one names file, line, key and fix. */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include "policy/config.h"

static const char good[] =
	"; two-port card\n"
	"[general]\n"
	"recordings = /srv/rec\n"
	"recipient_key = /etc/trunkrec/r.pub\n"
	"workers = 2\n"
	"flush_interval_ms = 500\n"
	"\n"
	"[codec]\n"
	"bitrate = 32000\n"
	"complexity = 3\n"
	"\n"
	"[pair pbx1]\n"
	"port_a = /run/sim/a1\n"
	"port_b = /run/sim/b1\n"
	"[pair pbx2]\n"
	"driver = synthetic\n"
	"port_a = /run/sim/a2\n"
	"port_b = /run/sim/b2\n"
	"switchtype = qsig\n";

static void parses_good_file(void **state)
{
	struct config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(config_parse(&c, "t.conf", good, err, sizeof(err)), 0);
	assert_string_equal(c.recordings, "/srv/rec");
	assert_string_equal(c.recipient_key, "/etc/trunkrec/r.pub");
	assert_int_equal(c.workers, 2);
	assert_int_equal(c.flush_interval_ms, 500);
	assert_int_equal(c.bitrate, 32000);
	assert_int_equal(c.complexity, 3);
	assert_int_equal(c.npairs, 2);
	assert_string_equal(c.pairs[0].name, "pbx1");
	assert_string_equal(c.pairs[0].port_a, "/run/sim/a1");
	assert_string_equal(c.pairs[0].switchtype, "euroisdn");
	assert_string_equal(c.pairs[1].switchtype, "qsig");
	assert_int_equal(c.pairs[1].driver, CONFIG_DRIVER_SYNTHETIC);
}

static void defaults_apply(void **state)
{
	struct config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(config_parse(&c, "t.conf", "[pair x]\nport_a=/a\nport_b=/b\n", err, sizeof(err)), 0);
	assert_int_equal(c.flush_interval_ms, 1000);
	assert_int_equal(c.bitrate, 24000);
	assert_int_equal(c.complexity, 2);
	assert_int_equal(c.relay_priority, 10);
}

/* A pair on a DAHDI card: each port is a span as system.conf numbers them. */
static void parses_dahdi_pair(void **state)
{
	struct config c;
	char err[256] = "";

	(void)state;
	assert_int_equal(config_parse(&c, "t.conf", "[pair card]\ndriver = dahdi\nport_a = span:1\nport_b = span:128\n",
				      err, sizeof(err)), 0);
	assert_int_equal(c.pairs[0].driver, CONFIG_DRIVER_DAHDI);
	assert_string_equal(c.pairs[0].port_a, "span:1");
}

static void names_dahdi_spans(void **state)
{
	static const struct {
		const char *spec;
		int span;
	} cases[] = {
		{ "span:1", 1 }, { "span:2", 2 }, { "span:128", 128 }, { "span:007", 7 },
		{ "span:0", 0 }, { "span:129", 0 }, { "span:", 0 }, { "span: 2", 0 }, { "span:+2", 0 },
		{ "span:-1", 0 }, { "span:2x", 0 }, { "Span:2", 0 }, { "2", 0 }, { "/dev/dahdi/chan/001/001", 0 },
		{ "", 0 },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++)
		if (config_dahdi_span(cases[i].spec) != cases[i].span)
			fail_msg("\"%s\": %d, expected %d", cases[i].spec, config_dahdi_span(cases[i].spec), cases[i].span);
}

struct bad_case {
	const char *text;
	const char *expect[3];	/* substrings the message must contain */
};

static const struct bad_case bad_cases[] = {
	{ "[general]\nworkerz = 2\n", { "t.conf:2:", "workerz", "unknown key" } },
	{ "[general]\nworkers = two\n", { "t.conf:2:", "workers", "whole number from 0 to 64" } },
	{ "[codec]\n\ncomplexity = 11\n", { "t.conf:3:", "complexity", "0 to 10" } },
	{ "[codec]\nbitrate = 8000\n", { "t.conf:2:", "bitrate", "12000" } },
	{ "[pair x]\nport_a=/a\nport_b=/b\nswitchtype = isdn\n", { "t.conf:4:", "switchtype", "euroisdn" } },
	{ "[pair x]\nport_a=/a\nport_b=/b\ndriver = zaptel\n", { "t.conf:4:", "driver", "synthetic or dahdi" } },
	{ "[pair x]\ndriver = dahdi\nport_a = span:0\nport_b = span:2\n", { "t.conf:2:", "[pair x]", "span:N" } },
	{ "[pair x]\ndriver = dahdi\nport_a = span:1\nport_b = /dev/dahdi/2\n", { "t.conf:2:", "system.conf", "port_a = span:1" } },
	{ "[pair x]\ndriver = dahdi\nport_a = span:3\nport_b = span:3\n", { "t.conf:2:", "same span", "two lines" } },
	{ "[spans]\nx = 1\n", { "t.conf:2:", "[spans]", "unknown section" } },
	{ "[general]\nrecordings = /r\n", { "t.conf", "no [pair NAME]", "port_a" } },
	{ "[pair x]\nport_a=/a\n", { "t.conf:2:", "[pair x]", "port_b" } },
	{ "[general]\nthis line is junk\n", { "t.conf:2:", "INI", "key = value" } },
	{ "[general]\nrelay_priority = 100\n", { "t.conf:2:", "relay_priority", "0 to 99" } },
	{ "[general]\nlog_level = loud\n", { "t.conf:2:", "log_level", "debug" } },
	{ "[rule x]\nannouncement = maybe\n", { "t.conf:2:", "[rule x] announcement", "play, verify, upstream or none" } },
};

static void rejects_bad_files(void **state)
{
	(void)state;
	for (size_t i = 0; i < sizeof(bad_cases) / sizeof(bad_cases[0]); i++) {
		struct config c;
		char err[512] = "";

		assert_int_equal(config_parse(&c, "t.conf", bad_cases[i].text, err, sizeof(err)), -22);
		for (int k = 0; k < 3; k++) {
			if (!strstr(err, bad_cases[i].expect[k]))
				fail_msg("case %zu: \"%s\" lacks \"%s\"", i, err, bad_cases[i].expect[k]);
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(parses_good_file),
		cmocka_unit_test(defaults_apply),
		cmocka_unit_test(rejects_bad_files),
		cmocka_unit_test(parses_dahdi_pair),
		cmocka_unit_test(names_dahdi_spans),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
