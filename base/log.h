/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Log lines to stderr (journald picks them up), one line per write so lines
 * from several threads do not interleave. Every line names its object first:
 * "pair1 A/5 call 12: …". Never log audio, digits or whole phone numbers:
 * use log_mask_number().
 */
#ifndef TRUNKREC_BASE_LOG_H
#define TRUNKREC_BASE_LOG_H

#include <stddef.h>

enum log_level { LOG_LVL_ERR, LOG_LVL_WARN, LOG_LVL_INFO, LOG_LVL_DEBUG };

void log_set_level(enum log_level level);
void log_line(enum log_level level, const char *fmt, ...) __attribute__((format(printf, 2, 3)));

#define log_err(...)	log_line(LOG_LVL_ERR, __VA_ARGS__)
#define log_warn(...)	log_line(LOG_LVL_WARN, __VA_ARGS__)
#define log_info(...)	log_line(LOG_LVL_INFO, __VA_ARGS__)
#define log_debug(...)	log_line(LOG_LVL_DEBUG, __VA_ARGS__)

/* "…1234": keep only the last 4 digits of a number for log lines. */
const char *log_mask_number(const char *number, char *buf, size_t size);

#endif
