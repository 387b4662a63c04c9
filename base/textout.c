// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/textout.h"

#include <stdarg.h>
#include <stdio.h>

void textout_put(struct textout *o, const char *fmt, ...)
{
	va_list ap;
	int n;

	if (o->len + 1 >= o->size)
		return;
	va_start(ap, fmt);
	n = vsnprintf(o->buf + o->len, o->size - o->len, fmt, ap);
	va_end(ap);
	if (n > 0)
		o->len = o->len + (size_t)n < o->size ? o->len + (size_t)n : o->size - 1;
}

void textout_json_string(struct textout *o, const char *s)
{
	textout_put(o, "\"");
	for (; *s; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			textout_put(o, "\\%c", ch);
		else if (ch < 0x20)
			textout_put(o, "\\u%04x", ch);
		else
			textout_put(o, "%c", ch);
	}
	textout_put(o, "\"");
}
