/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * A port: one E1/T1 line as the engine sees it, whatever the driver.
 *
 * The contract every driver meets (the engine does not know which it has):
 * - the D-channel is one fd; each read() gives one HDLC frame with 2 FCS
 *   bytes, each write() sends one (trunks/dchan.h runs libpri on it);
 * - each B-channel timeslot is one non-blocking fd; each read() gives one
 *   160-byte block of G.711 in the port's law, each write() sends one;
 * - the line is the clock: a block arrives every 20 ms per timeslot;
 * - end-of-file or an error on the D-channel means the line is down.
 *
 * Drivers: synthetic (a directory of sockets, docs/synthetic-trunk.md).
 * Thread: a port belongs to the relay thread.
 */
#ifndef TRUNKREC_TRUNKS_PORT_H
#define TRUNKREC_TRUNKS_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "engine/g711.h"

#define PORT_MAX_TS	32	/* timeslots 0..31; 0 is framing on E1 */
#define PORT_BLOCK	160	/* bytes per B-channel block */

struct port {
	char name[32];		/* "pair1/A" */
	char path[256];
	enum g711_law law;
	int dchannel;		/* timeslot of the D-channel (16 on E1) */
	int dfd;		/* -1 while down */
	int bfd[PORT_MAX_TS];	/* -1 where no B-channel */
	uint32_t bmask;		/* bit ts set: ts is a B-channel of this line */
	bool up;
};

void port_init(struct port *p, const char *name, const char *path);

/*
 * Connect to every channel of the synthetic port at p->path. Returns 0, or
 * -EAGAIN while the card has not published the port (no info file yet: try
 * again later), or another -errno with the port left closed.
 */
int port_open_synthetic(struct port *p);

void port_close(struct port *p);	/* accepts a half-open port */

/* Lowest/highest free B-channel in mask order; 0 when none. */
int port_first_bchannel(const struct port *p, uint32_t busy, bool from_top);

#endif
