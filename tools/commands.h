/* SPDX-License-Identifier: GPL-2.0-or-later */
/* trunkrec subcommands that live in their own files; each takes argv from its own name on. */
#ifndef TRUNKREC_TOOLS_COMMANDS_H
#define TRUNKREC_TOOLS_COMMANDS_H

int cmd_stats(int argc, char **argv);	/* cmd_ops.c: the daemon's counters */
int cmd_pause(int argc, char **argv);	/* cmd_ops.c: payment pause of a live call */
int cmd_resume(int argc, char **argv);

#endif
