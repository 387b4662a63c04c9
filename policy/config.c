// SPDX-License-Identifier: GPL-2.0-or-later
#include "policy/config.h"

#include <ctype.h>
#include <errno.h>
#include <ini.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct parse_state {
	struct config *c;
	const char *next;	/* text not yet handed to inih */
	const char *filename;
	char *err;
	size_t errsize;
	int line;
	bool failed;
};

#define PAIR_PREFIX "pair "
#define RULE_PREFIX "rule "

static int fail(struct parse_state *ps, const char *section, const char *key,
		const char *value, const char *why)
{
	if (!ps->failed)
		snprintf(ps->err, ps->errsize, "%s:%d: [%s] %s = %s: %s", ps->filename,
			 ps->line, section, key, value, why);
	ps->failed = true;
	return 0;	/* inih: stop at the first error */
}

static bool parse_int(const char *value, int min, int max, int *ret)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(value, &end, 10);
	if (errno || end == value || *end || v < min || v > max)
		return false;
	*ret = (int)v;
	return true;
}

static bool copy_string(char *dst, size_t size, const char *value)
{
	if (!*value || strlen(value) >= size)
		return false;
	memcpy(dst, value, strlen(value) + 1);
	return true;
}

struct int_key {
	const char *section, *key;
	size_t offset;
	int min, max;
};

static const struct int_key int_keys[] = {
	{ "general", "workers", offsetof(struct config, workers), 0, 64 },
	{ "general", "flush_interval_ms", offsetof(struct config, flush_interval_ms), 100, 10000 },
	{ "general", "purge_interval_s", offsetof(struct config, purge_interval_s), 0, 86400 },
	{ "general", "disk_low_mb", offsetof(struct config, disk_low_mb), 0, 16 << 20 },
	{ "general", "relay_priority", offsetof(struct config, relay_priority), 0, 99 },
	{ "codec", "bitrate", offsetof(struct config, bitrate), 12000, 128000 },
	{ "codec", "complexity", offsetof(struct config, complexity), 0, 10 },
};

struct string_key {
	const char *section, *key;
	size_t offset, size;
};

static const struct string_key string_keys[] = {
	{ "general", "recordings", offsetof(struct config, recordings), CONFIG_PATH_MAX },
	{ "general", "recipient_key", offsetof(struct config, recipient_key), CONFIG_PATH_MAX },
	{ "general", "control_socket", offsetof(struct config, control_socket), CONFIG_PATH_MAX },
	{ "general", "control_socket_mode", offsetof(struct config, control_socket_mode), 8 },
	{ "general", "catalog", offsetof(struct config, catalog), CONFIG_PATH_MAX },
	{ "general", "audit_log", offsetof(struct config, audit_log), CONFIG_PATH_MAX },
	{ "general", "blind_index_key", offsetof(struct config, blind_index_key), CONFIG_PATH_MAX },
	{ "general", "log_level", offsetof(struct config, log_level), CONFIG_NAME_MAX },
};

static const char *const switchtypes[] = { "euroisdn", "euroisdn_t1", "ni2", "dms100", "4ess", "5ess", "qsig" };
static const char *const log_levels[] = { "error", "warning", "info", "debug" };

static bool one_of(const char *value, const char *const *list, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!strcmp(value, list[i]))
			return true;
	return false;
}

static int handle_pair(struct parse_state *ps, struct config_pair *p, const char *section,
		       const char *key, const char *value)
{
	if (!strcmp(key, "driver")) {
		if (!strcmp(value, "synthetic"))
			p->driver = CONFIG_DRIVER_SYNTHETIC;
		else if (!strcmp(value, "dahdi"))
			p->driver = CONFIG_DRIVER_DAHDI;
		else
			return fail(ps, section, key, value, "unknown driver; use synthetic or dahdi");
	} else if (!strcmp(key, "port_a")) {
		if (!copy_string(p->port_a, sizeof(p->port_a), value))
			return fail(ps, section, key, value, "give the carrier-side port (a path, under 256 bytes)");
	} else if (!strcmp(key, "port_b")) {
		if (!copy_string(p->port_b, sizeof(p->port_b), value))
			return fail(ps, section, key, value, "give the PBX-side port (a path, under 256 bytes)");
	} else if (!strcmp(key, "hold_disconnect_transfer")) {
		if (strcmp(value, "yes") && strcmp(value, "no"))
			return fail(ps, section, key, value, "use yes or no");
		p->hold_disconnect_transfer = !strcmp(value, "yes");
	} else if (!strcmp(key, "switchtype")) {
		if (!one_of(value, switchtypes, sizeof(switchtypes) / sizeof(switchtypes[0])))
			return fail(ps, section, key, value,
				    "unknown switch type; use euroisdn, euroisdn_t1, ni2, dms100, 4ess, 5ess or qsig");
		copy_string(p->switchtype, sizeof(p->switchtype), value);
	} else {
		return fail(ps, section, key, value, "unknown key; a [pair NAME] takes driver, port_a, port_b, switchtype, hold_disconnect_transfer");
	}
	return 1;
}

int config_dahdi_span(const char *spec)
{
	char *end;
	long n;

	/* strtol alone would take "span: 2" and "span:+2". */
	if (strncmp(spec, "span:", 5) || !isdigit((unsigned char)spec[5]))
		return 0;
	n = strtol(spec + 5, &end, 10);
	return !*end && n >= 1 && n <= 128 ? (int)n : 0;
}

static struct config_pair *pair_for_section(struct parse_state *ps, const char *section)
{
	const char *name = section + strlen(PAIR_PREFIX);
	struct config *c = ps->c;
	struct config_pair *p;

	for (int i = 0; i < c->npairs; i++)
		if (!strcmp(c->pairs[i].name, name))
			return &c->pairs[i];
	if (c->npairs == CONFIG_MAX_PAIRS || !*name || strlen(name) >= CONFIG_NAME_MAX)
		return NULL;
	p = &c->pairs[c->npairs++];
	memset(p, 0, sizeof(*p));
	strcpy(p->name, name);
	strcpy(p->switchtype, "euroisdn");
	p->line = ps->line;
	return p;
}

/*
 * Debian's inih is built without line numbers in the handler, so feed it the
 * text a line at a time and count: the handler runs for the line just read.
 */
static char *read_line(char *str, int num, void *stream)
{
	struct parse_state *ps = stream;
	const char *nl;
	size_t len;

	if (!*ps->next)
		return NULL;
	nl = strchr(ps->next, '\n');
	len = nl ? (size_t)(nl - ps->next) + 1 : strlen(ps->next);
	if (len > (size_t)num - 1)
		len = (size_t)num - 1;
	memcpy(str, ps->next, len);
	str[len] = '\0';
	ps->next += len;
	ps->line++;
	return str;
}

static const char *const role_names[ROLE_COUNT] = { "operator", "supervisor", "manager", "auditor" };

const char *config_role_name(enum config_role role)
{
	return (unsigned)role < ROLE_COUNT ? role_names[role] : "?";
}

/* "1001, @1002, 0": uids, and @gids (numbers: the config is parsed without looking users up). */
static int handle_role(struct parse_state *ps, const char *section, const char *key, const char *value)
{
	struct config_role_ids *ids = NULL;
	const char *s = value;

	for (int i = 0; i < ROLE_COUNT; i++)
		if (!strcmp(key, role_names[i]))
			ids = &ps->c->roles[i];
	if (!ids)
		return fail(ps, section, key, value, "unknown role; use operator, supervisor, manager or auditor");
	ids->nuid = ids->ngid = 0;
	while (*s) {
		bool group = false;
		char *end;
		unsigned long id;

		while (*s == ' ' || *s == ',')
			s++;
		if (!*s)
			break;
		if (*s == '@') {
			group = true;
			s++;
		}
		errno = 0;
		id = strtoul(s, &end, 10);
		if (end == s || errno || id > 0xfffffffful || (*end && *end != ',' && *end != ' '))
			return fail(ps, section, key, value,
				    "list numeric uids and @gids separated by commas (id -u NAME, getent group NAME)");
		if ((group ? ids->ngid : ids->nuid) == CONFIG_ROLE_IDS)
			return fail(ps, section, key, value, "at most 16 users and 16 groups per role");
		if (group)
			ids->gid[ids->ngid++] = (unsigned)id;
		else
			ids->uid[ids->nuid++] = (unsigned)id;
		s = end;
	}
	return 1;
}

static int handle(void *user, const char *section, const char *key, const char *value)
{
	struct parse_state *ps = user;
	char *base = (char *)ps->c;

	if (!strcmp(section, "roles"))
		return handle_role(ps, section, key, value);
	if (!strncmp(section, PAIR_PREFIX, strlen(PAIR_PREFIX))) {
		struct config_pair *p = pair_for_section(ps, section);

		if (!p)
			return fail(ps, section, key, value,
				    "too many pairs or a bad name; at most 16 [pair NAME] sections, names under 32 bytes");
		return handle_pair(ps, p, section, key, value);
	}
	if (!strncmp(section, RULE_PREFIX, strlen(RULE_PREFIX))) {
		struct policy_rule *r = policy_rules_section(&ps->c->rules, section + strlen(RULE_PREFIX), ps->line);
		char why[512];

		if (!r)
			return fail(ps, section, key, value,
				    "too many rules or a bad name; at most 64 [rule NAME] sections, names under 32 bytes");
		if (policy_rule_set(r, ps->line, key, value, why, sizeof(why)) < 0)
			return fail(ps, section, key, value, why);
		return 1;
	}
	for (size_t i = 0; i < sizeof(int_keys) / sizeof(int_keys[0]); i++) {
		const struct int_key *k = &int_keys[i];
		char why[96];

		if (strcmp(section, k->section) || strcmp(key, k->key))
			continue;
		if (!parse_int(value, k->min, k->max, (int *)(base + k->offset))) {
			snprintf(why, sizeof(why), "not a whole number from %d to %d", k->min, k->max);
			return fail(ps, section, key, value, why);
		}
		return 1;
	}
	for (size_t i = 0; i < sizeof(string_keys) / sizeof(string_keys[0]); i++) {
		const struct string_key *k = &string_keys[i];

		if (strcmp(section, k->section) || strcmp(key, k->key))
			continue;
		if (!copy_string(base + k->offset, k->size, value))
			return fail(ps, section, key, value, "empty or too long");
		if (!strcmp(key, "control_socket_mode") &&
		    (strlen(value) < 3 || strlen(value) > 4 || strspn(value, "01234567") != strlen(value)))
			return fail(ps, section, key, value, "an octal file mode like 0660");
		if (!strcmp(key, "log_level") &&
		    !one_of(value, log_levels, sizeof(log_levels) / sizeof(log_levels[0])))
			return fail(ps, section, key, value, "use error, warning, info or debug");
		return 1;
	}
	if (strcmp(section, "general") && strcmp(section, "codec"))
		return fail(ps, section, key, value, "unknown section; use [general], [codec], [roles], [pair NAME] or [rule NAME]");
	return fail(ps, section, key, value, "unknown key; see docs/config.md for the keys of each section");
}

/*
 * Unset catalog/audit_log: a file in the recordings directory's parent
 * (/var/lib/trunkrec/catalog.db for the default recordings), so the two
 * follow a test's or an installation's recordings without more keys.
 */
static int config_beside_recordings(char *dst, size_t size, const char *recordings, const char *name)
{
	size_t n = strlen(recordings);
	int len;

	if (*dst)
		return 0;
	while (n > 1 && recordings[n - 1] == '/')
		n--;
	while (n > 0 && recordings[n - 1] != '/')
		n--;
	while (n > 1 && recordings[n - 1] == '/')
		n--;
	if (n == 0)
		len = snprintf(dst, size, "%s", name);
	else if (n == 1 && recordings[0] == '/')
		len = snprintf(dst, size, "/%s", name);
	else
		len = snprintf(dst, size, "%.*s/%s", (int)n, recordings, name);
	return len < 0 || (size_t)len >= size ? -ENAMETOOLONG : 0;
}

void config_defaults(struct config *c)
{
	memset(c, 0, sizeof(*c));
	strcpy(c->recordings, "/var/lib/trunkrec/recordings");
	strcpy(c->recipient_key, "/etc/trunkrec/recipient.pub");
	strcpy(c->control_socket, "/run/trunkrec/control");
	strcpy(c->control_socket_mode, "0660");
	strcpy(c->log_level, "info");
	c->workers = 0;
	c->flush_interval_ms = 1000;
	c->purge_interval_s = 3600;
	c->disk_low_mb = 2048;
	c->relay_priority = 10;
	c->bitrate = 24000;
	c->complexity = 2;
	policy_rules_init(&c->rules, "");
}

int config_parse(struct config *c, const char *filename, const char *text, char *ret_err, size_t errsize)
{
	struct parse_state ps = { .c = c, .next = text, .filename = filename, .err = ret_err, .errsize = errsize };
	int rc;

	config_defaults(c);
	policy_rules_init(&c->rules, filename);
	rc = ini_parse_stream(read_line, &ps, handle, &ps);
	if (ps.failed)
		return -EINVAL;
	if (rc > 0) {
		snprintf(ret_err, errsize, "%s:%d: not an INI line; write [section] or key = value", filename, rc);
		return -EINVAL;
	}
	if (rc < 0) {
		snprintf(ret_err, errsize, "%s: could not be parsed (out of memory?)", filename);
		return -EINVAL;
	}
	if (c->npairs == 0) {
		snprintf(ret_err, errsize, "%s: no [pair NAME] section; add one with port_a (carrier side) and port_b (PBX side)", filename);
		return -EINVAL;
	}
	for (int i = 0; i < c->npairs; i++) {
		struct config_pair *p = &c->pairs[i];

		if (!*p->port_a || !*p->port_b) {
			snprintf(ret_err, errsize, "%s:%d: [pair %s]: port_a and port_b are both required", filename, p->line, p->name);
			return -EINVAL;
		}
		if (p->driver == CONFIG_DRIVER_DAHDI && (!config_dahdi_span(p->port_a) || !config_dahdi_span(p->port_b))) {
			snprintf(ret_err, errsize, "%s:%d: [pair %s]: driver = dahdi names each port span:N, N the span number "
				 "of /etc/dahdi/system.conf and /proc/dahdi (1 to 128), e.g. port_a = span:1",
				 filename, p->line, p->name);
			return -EINVAL;
		}
		if (p->driver == CONFIG_DRIVER_DAHDI && !strcmp(p->port_a, p->port_b)) {
			snprintf(ret_err, errsize, "%s:%d: [pair %s]: port_a and port_b are the same span; a pair is two lines",
				 filename, p->line, p->name);
			return -EINVAL;
		}
	}
	if (config_beside_recordings(c->catalog, sizeof(c->catalog), c->recordings, "catalog.db") < 0 ||
	    config_beside_recordings(c->audit_log, sizeof(c->audit_log), c->recordings, "audit.log") < 0) {
		snprintf(ret_err, errsize, "%s: [general] recordings is too long to put catalog.db and audit.log "
			 "beside it; set catalog and audit_log", filename);
		return -EINVAL;
	}
	/* A rule for a pair that does not exist would silently never match. */
	for (int i = 0; i < c->rules.n; i++) {
		const struct policy_rule *r = &c->rules.rule[i];
		bool known = !strcmp(r->trunk, "*");

		for (int k = 0; k < c->npairs && !known; k++)
			known = !strcmp(r->trunk, c->pairs[k].name);
		if (!known) {
			snprintf(ret_err, errsize, "%s:%d: [rule %s] trunk = %s: no [pair %s]; name a pair or use *",
				 filename, r->key_line[POLICY_KEY_TRUNK] ? r->key_line[POLICY_KEY_TRUNK] : r->line,
				 r->name, r->trunk, r->trunk);
			return -EINVAL;
		}
	}
	return 0;
}
