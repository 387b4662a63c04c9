// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunkrec subcommands that talk to the running daemon: the reports (stats,
 * calls, spans) and the live-call commands (pause, resume, mask, unmask).
 */
#include <stdio.h>
#include <string.h>

#include "tools/trunkrec/cmds.h"
#include "tools/trunkrec/ctlclient.h"

static char answer[256 * 1024];

const char *cli_socket_option(int argc, char **argv)
{
	for (int i = 1; i + 1 < argc; i++)
		if (!strcmp(argv[i], "--socket"))
			return argv[i + 1];
	return CTLCLIENT_DEFAULT_SOCKET;
}

static int report(int rc)
{
	if (rc < 0) {
		fprintf(stderr, "trunkrec: %s\n", answer);
		return CLI_EXIT_ERROR;
	}
	if (rc > 0) {
		fprintf(stderr, "trunkrec: trunkrecd says: %s\n", answer);
		return 1;
	}
	fputs(answer, stdout);
	if (*answer && answer[strlen(answer) - 1] != '\n')
		putchar('\n');
	return 0;
}

int cli_control_command(const char *socket_path, const char *command)
{
	return report(ctlclient_call(socket_path ? socket_path : CTLCLIENT_DEFAULT_SOCKET, command, answer,
				     sizeof(answer)));
}

/* stats|calls|spans [--json] [--prometheus (stats only)] [--socket PATH] */
static int report_command(const char *what, bool prometheus_ok, int argc, char **argv)
{
	const char *format = "text";
	char cmd[64];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json")) {
			format = "json";
		} else if (prometheus_ok && !strcmp(argv[i], "--prometheus")) {
			format = "prometheus";
		} else if (!strcmp(argv[i], "--socket") && i + 1 < argc) {
			i++;
		} else {
			fprintf(stderr, "usage: trunkrec %s [--json%s] [--socket PATH]\n", what,
				prometheus_ok ? "|--prometheus" : "");
			return CLI_EXIT_ERROR;
		}
	}
	snprintf(cmd, sizeof(cmd), "%s %s", what, format);
	return report(ctlclient_call(cli_socket_option(argc, argv), cmd, answer, sizeof(answer)));
}

int cmd_stats(int argc, char **argv)
{
	return report_command("stats", true, argc, argv);
}

int cmd_calls(int argc, char **argv)
{
	return report_command("calls", false, argc, argv);
}

int cmd_spans(int argc, char **argv)
{
	return report_command("spans", false, argc, argv);
}

/*
 * verb CALL | number=N | call=ID [--reason TEXT]: a bare CALL is the call id
 * that `trunkrec calls` shows (and the logs and recordings' metadata carry).
 */
static int live_call_command(const char *verb, int argc, char **argv)
{
	const char *selector = NULL, *reason = "";
	char cmd[CLI_CONTROL_LINE];
	int n;

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket") && i + 1 < argc)
			i++;
		else if (!strcmp(argv[i], "--reason") && i + 1 < argc)
			reason = argv[++i];
		else
			selector = argv[i];
	}
	if (!selector || !*selector || strchr(reason, '\n')) {
		fprintf(stderr, "usage: trunkrec %s CALL|number=N|call=ID%s [--socket PATH]\n", verb,
			strcmp(verb, "discard") ? "" : " --reason TEXT");
		return CLI_EXIT_ERROR;
	}
	n = snprintf(cmd, sizeof(cmd), "%s %s%s%s%s", verb,
		     strspn(selector, "0123456789") == strlen(selector) ? "call=" : "", selector, *reason ? " " : "",
		     reason);
	if (n >= (int)sizeof(cmd)) {
		fprintf(stderr, "trunkrec: %s: the call and reason must fit on one line of %d characters\n", verb,
			CLI_CONTROL_LINE - 1);
		return CLI_EXIT_ERROR;
	}
	return report(ctlclient_call(cli_socket_option(argc, argv), cmd, answer, sizeof(answer)));
}

int cmd_pause(int argc, char **argv)
{
	return live_call_command("pause", argc, argv);
}

int cmd_resume(int argc, char **argv)
{
	return live_call_command("resume", argc, argv);
}

int cmd_mask(int argc, char **argv)
{
	return live_call_command("mask", argc, argv);
}

int cmd_unmask(int argc, char **argv)
{
	return live_call_command("unmask", argc, argv);
}

int cmd_discard(int argc, char **argv)
{
	return live_call_command("discard", argc, argv);
}
