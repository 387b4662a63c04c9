/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The one module through which `trunkrec` reaches the daemon: its control
 * socket (docs/control.md). One command, one answer.
 */
#ifndef TRUNKREC_TOOLS_TRUNKREC_CTLCLIENT_H
#define TRUNKREC_TOOLS_TRUNKREC_CTLCLIENT_H

#include <stddef.h>

#define CTLCLIENT_DEFAULT_SOCKET "/run/trunkrec/control"

/*
 * Send one command line; the answer (without its "ok " head, and with the
 * body lines of a multi-line answer) goes to ret (NUL-terminated). Returns 0
 * for "ok", 1 for "error" (ret holds the daemon's reason), -errno when the
 * daemon cannot be reached (ret says why and what to do).
 */
int ctlclient_call(const char *socket_path, const char *command, char *ret, size_t size);

#endif
