// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunks/dahdi: what DAHDI's span alarm bits mean to trunkrecd — which ones
 * take the line down, what operators see (trunkrec spans) and what the ALARM
 * line says. The kernel side is tested in the VM (tests/vm).
 */
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>
#include <string.h>

#include <dahdi/user.h>

#include "trunks/dahdi.h"

static void alarm_bits_to_line_state(void **state)
{
	static const struct {
		unsigned bits;
		bool down;
		enum port_alarm shown;
	} cases[] = {
		{ 0, false, PORT_ALARM_NONE },
		{ DAHDI_ALARM_RED, true, PORT_ALARM_RED },
		{ DAHDI_ALARM_NOTOPEN, true, PORT_ALARM_RED },
		{ DAHDI_ALARM_BLUE, true, PORT_ALARM_BLUE },
		/* Yellow: the far end hears nothing from us, but our receive side still works. */
		{ DAHDI_ALARM_YELLOW, false, PORT_ALARM_YELLOW },
		/* The worst wins: blue (AIS) over red over yellow. */
		{ DAHDI_ALARM_RED | DAHDI_ALARM_YELLOW, true, PORT_ALARM_RED },
		{ DAHDI_ALARM_BLUE | DAHDI_ALARM_RED, true, PORT_ALARM_BLUE },
		{ DAHDI_ALARM_LOOPBACK, false, PORT_ALARM_NONE },
		{ DAHDI_ALARM_RECOVER, false, PORT_ALARM_NONE },
	};

	(void)state;
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		if (dahdi_alarm_is_down(cases[i].bits) != cases[i].down)
			fail_msg("bits 0x%x: down %d, expected %d", cases[i].bits, !cases[i].down, cases[i].down);
		if (dahdi_alarm_state(cases[i].bits) != cases[i].shown)
			fail_msg("bits 0x%x: shown %s, expected %s", cases[i].bits,
				 port_alarm_name(dahdi_alarm_state(cases[i].bits)), port_alarm_name(cases[i].shown));
	}
}

static void alarm_text_names_every_bit(void **state)
{
	char buf[160];

	(void)state;
	assert_string_equal(dahdi_alarm_text(0, buf, sizeof(buf)), "none");
	assert_string_equal(dahdi_alarm_text(DAHDI_ALARM_RED, buf, sizeof(buf)), "RED (loss of signal or framing)");
	dahdi_alarm_text(DAHDI_ALARM_RED | DAHDI_ALARM_YELLOW, buf, sizeof(buf));
	assert_non_null(strstr(buf, "RED"));
	assert_non_null(strstr(buf, " + YELLOW"));
	/* A bit DAHDI may add later is still reported, not shown as "none". */
	assert_string_equal(dahdi_alarm_text(1u << 30, buf, sizeof(buf)), "other alarm");
	/* A short buffer is cut, never overrun. */
	dahdi_alarm_text(DAHDI_ALARM_RED | DAHDI_ALARM_BLUE | DAHDI_ALARM_YELLOW, buf, 12);
	assert_int_equal(strlen(buf), 11);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(alarm_bits_to_line_state),
		cmocka_unit_test(alarm_text_names_every_bit),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
