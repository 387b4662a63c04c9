/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * trunkrec subcommands that live in their own files, and what they share.
 * Exit codes as trunkrec's: 0 ok, 1 truncated, 2 corrupt, 3 usage/IO/key
 * error; the audit commands add 4 for a log that does not verify.
 */
#ifndef TRUNKREC_TOOLS_TRUNKREC_CMDS_H
#define TRUNKREC_TOOLS_TRUNKREC_CMDS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define CLI_EXIT_ERROR		3
#define CLI_CONTROL_LINE	250	/* the control socket takes lines of up to 255 bytes */
#define CLI_EXIT_TAMPERED	4

/* tools/trunkrec/cmd_audit.c */
int cmd_audit(int argc, char **argv);

/* tools/trunkrec/cmd_catalog.c */
int cmd_find(int argc, char **argv);
int cmd_hold(int argc, char **argv);
int cmd_release(int argc, char **argv);
int cmd_delete(int argc, char **argv);
int cmd_purge(int argc, char **argv);
int cmd_sar(int argc, char **argv);
int cmd_catalog(int argc, char **argv);
int cmd_keygen_index(int argc, char **argv);

/* tools/trunkrec/cmd_ops.c: through the daemon's control socket (tools/trunkrec/ctlclient.h). */
int cmd_stats(int argc, char **argv);
int cmd_calls(int argc, char **argv);
int cmd_spans(int argc, char **argv);
int cmd_pause(int argc, char **argv);
int cmd_resume(int argc, char **argv);
int cmd_mask(int argc, char **argv);
int cmd_unmask(int argc, char **argv);
int cmd_discard(int argc, char **argv);
/* --socket PATH among argv, else the default socket. */
const char *cli_socket_option(int argc, char **argv);
/* One command line to the daemon; prints its answer. Returns the exit code. */
int cli_control_command(const char *socket_path, const char *command);

/* tools/trunkrec/cmd_top.c: a live view of spans and calls. */
int cmd_top(int argc, char **argv);

/* tools/trunkrec/cli_util.c: whole files (bounded) and hex key files. */
int cli_read_file(const char *path, size_t max, uint8_t **ret, size_t *ret_len);
/* 32-byte hex key; messages name the file. SECRET: the caller wipes ret_key. */
int cli_key_load(const char *path, const char *what, uint8_t ret_key[32]);
/* Create path (O_EXCL, mode) with data, synced. */
int cli_write_new(const char *path, const void *data, size_t len, unsigned mode);

/*
 * Where the catalog, recordings, audit log and blind index key are: from
 * --config trunkrecd.conf, each overridden by its own option.
 */
struct cli_paths {
	const char *config, *catalog, *recordings, *audit, *index_key;
	const char *socket;	/* --socket: the daemon's control socket */
};

/* No file option given: the command goes to the running daemon (its control socket). */
bool cli_paths_none(const struct cli_paths *p);

/* Common options: --config --catalog --recordings --audit --index-key. */
#define CLI_PATH_OPTIONS \
	{ "config", required_argument, NULL, 'c' }, \
	{ "catalog", required_argument, NULL, 'C' }, \
	{ "recordings", required_argument, NULL, 'D' }, \
	{ "audit", required_argument, NULL, 'A' }, \
	{ "log", required_argument, NULL, 'A' }, \
	{ "index-key", required_argument, NULL, 'I' }, \
	{ "socket", required_argument, NULL, 'S' }

/* Handles one of the common options; false if opt is not one. */
bool cli_paths_opt(struct cli_paths *p, int opt, const char *arg);

/* Fill what is unset from the configuration file, if one was given. 0 or -1 (message printed). */
int cli_paths_resolve(struct cli_paths *p, int *ret_default_retention);

#endif
