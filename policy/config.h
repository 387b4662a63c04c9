/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trunkrecd's configuration: an INI file (docs/config.md) parsed with inih.
 *
 * Pure: the caller reads the file and hands its text in; parsing does no I/O.
 * Every unknown section or key and every bad value is an error that names the
 * file, the line, the key and the fix.
 */
#ifndef TRUNKREC_POLICY_CONFIG_H
#define TRUNKREC_POLICY_CONFIG_H

#include <stdbool.h>
#include <stddef.h>

#include "policy/rules.h"

#define CONFIG_MAX_PAIRS	16
#define CONFIG_PATH_MAX		256
#define CONFIG_NAME_MAX		32

enum config_driver { CONFIG_DRIVER_SYNTHETIC, CONFIG_DRIVER_DAHDI };

struct config_pair {
	char name[CONFIG_NAME_MAX];
	enum config_driver driver;
	char port_a[CONFIG_PATH_MAX];	/* faces the carrier: trunkrecd is CPE */
	char port_b[CONFIG_PATH_MAX];	/* faces the PBX: trunkrecd is NET */
	char switchtype[CONFIG_NAME_MAX];
	bool hold_disconnect_transfer;	/* PBX hangs up with a call held: join its two calls */
	int line;			/* its first key, for messages */
};

/* Who may do what on the control socket (docs/control.md). */
enum config_role { ROLE_OPERATOR, ROLE_SUPERVISOR, ROLE_MANAGER, ROLE_AUDITOR, ROLE_COUNT };

#define CONFIG_ROLE_IDS	16

struct config_role_ids {
	int nuid, ngid;
	unsigned uid[CONFIG_ROLE_IDS];	/* users with this role */
	unsigned gid[CONFIG_ROLE_IDS];	/* members of these primary groups have it too */
};

struct config {
	char recordings[CONFIG_PATH_MAX];
	char recipient_key[CONFIG_PATH_MAX];
	char control_socket[CONFIG_PATH_MAX];	/* "" = no control socket */
	char catalog[CONFIG_PATH_MAX];		/* SQLite catalog; default: catalog.db beside recordings */
	char audit_log[CONFIG_PATH_MAX];	/* audit log; default: audit.log beside recordings */
	char blind_index_key[CONFIG_PATH_MAX];	/* 32-byte key file (64 hex); "" = numbers not indexed */
	int workers;			/* recording worker threads; 0 = one per core */
	int flush_interval_ms;		/* one sealed, fdatasync'ed record per interval */
	int purge_interval_s;		/* retention runs this often; 0 = never (purge by hand) */
	int relay_priority;		/* SCHED_FIFO priority of the relay thread; 0 = the normal policy */
	int disk_low_mb;		/* free space below this raises the disk-low alarm; 0 = never */
	char log_level[CONFIG_NAME_MAX];
	int bitrate;
	int complexity;
	int npairs;
	struct config_pair pairs[CONFIG_MAX_PAIRS];
	struct config_role_ids roles[ROLE_COUNT];	/* [roles]; root always has every role */
	char control_socket_mode[8];	/* octal, default 0660 */
	struct policy_rules rules;	/* [rule NAME] sections, policy/rules.h */
};

/* Defaults for every key (docs/config.md); no rules: every line fails closed. */
void config_defaults(struct config *c);

/*
 * Parse text (the contents of the file named filename, used in messages).
 * On error returns -EINVAL and writes one message to ret_err:
 * "FILE:LINE: [section] key = value: what is wrong; how to fix it".
 */
int config_parse(struct config *c, const char *filename, const char *text,
		 char *ret_err, size_t errsize);

const char *config_role_name(enum config_role role);

/*
 * A DAHDI port as a [pair] names it: "span:N", N the span number of
 * /etc/dahdi/system.conf and /proc/dahdi (1 to 128, DAHDI_MAX_SPANS).
 * Returns N, or 0 when spec is not that.
 */
int config_dahdi_span(const char *spec);

#endif
