// SPDX-License-Identifier: GPL-2.0-or-later
#include "base/log.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static enum log_level max_level = LOG_LVL_INFO;

void log_set_level(enum log_level level)
{
	max_level = level;
}

void log_line(enum log_level level, const char *fmt, ...)
{
	static const char *const prefix[] = { "<3>error: ", "<4>warning: ", "<6>", "<7>debug: " };
	char line[512];
	int n;
	va_list ap;

	if (level > max_level)
		return;
	/* The <N> prefix is the syslog priority journald reads from stderr. */
	n = snprintf(line, sizeof(line), "%s", prefix[level]);
	va_start(ap, fmt);
	n += vsnprintf(line + n, sizeof(line) - (size_t)n - 1, fmt, ap);
	va_end(ap);
	if (n > (int)sizeof(line) - 2)
		n = (int)sizeof(line) - 2;
	line[n++] = '\n';
	/* One write per line: lines from several threads stay whole. */
	if (write(STDERR_FILENO, line, (size_t)n) < 0)
		return;
}

const char *log_mask_number(const char *number, char *buf, size_t size)
{
	size_t len = strlen(number);

	if (len <= 4)
		snprintf(buf, size, "…%s", len ? number + len - (len > 2 ? 2 : len) : "");
	else
		snprintf(buf, size, "…%s", number + len - 4);
	return buf;
}
