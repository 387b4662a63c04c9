// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * trunkrec subcommands that talk to the running daemon: stats, pause, resume.
 */
#include <getopt.h>
#include <stdio.h>
#include <string.h>

#include "tools/cmds.h"
#include "tools/ctlclient.h"

static char answer[65536];

static const char *socket_option(int argc, char **argv)
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
		return 3;
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

int cmd_stats(int argc, char **argv)
{
	const char *format = "text";

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--json"))
			format = "json";
		else if (!strcmp(argv[i], "--prometheus"))
			format = "prometheus";
		else if (!strcmp(argv[i], "--socket"))
			i++;
		else {
			fprintf(stderr, "usage: trunkrec stats [--json|--prometheus] [--socket PATH]\n");
			return 3;
		}
	}
	char cmd[64];

	snprintf(cmd, sizeof(cmd), "stats %s", format);
	return report(ctlclient_call(socket_option(argc, argv), cmd, answer, sizeof(answer)));
}

/* pause|resume number=N | call=ID */
static int pause_resume(const char *verb, int argc, char **argv)
{
	const char *selector = NULL;
	char cmd[160];

	for (int i = 1; i < argc; i++) {
		if (!strcmp(argv[i], "--socket"))
			i++;
		else
			selector = argv[i];
	}
	if (!selector || (strncmp(selector, "number=", 7) && strncmp(selector, "call=", 5))) {
		fprintf(stderr, "usage: trunkrec %s number=N|call=ID [--socket PATH]\n", verb);
		return 3;
	}
	snprintf(cmd, sizeof(cmd), "%s %.100s", verb, selector);
	return report(ctlclient_call(socket_option(argc, argv), cmd, answer, sizeof(answer)));
}

int cmd_pause(int argc, char **argv)
{
	return pause_resume("pause", argc, argv);
}

int cmd_resume(int argc, char **argv)
{
	return pause_resume("resume", argc, argv);
}
