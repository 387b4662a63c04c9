/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Text into a fixed buffer, for the reports the control socket serves
 * (stats, calls, spans): bounded, never allocates, truncates quietly (the
 * buffer is sized for the largest report).
 */
#ifndef TRUNKREC_BASE_TEXTOUT_H
#define TRUNKREC_BASE_TEXTOUT_H

#include <stddef.h>

struct textout {
	char *buf;
	size_t size, len;
};

static inline struct textout textout_init(char *buf, size_t size)
{
	if (size)
		buf[0] = '\0';
	return (struct textout){ buf, size, 0 };
}

void textout_put(struct textout *o, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

/* s as a JSON string, quotes included (names come from the configuration file). */
void textout_json_string(struct textout *o, const char *s);

#endif
