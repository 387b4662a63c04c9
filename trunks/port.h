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
 * - end-of-file or an error on the D-channel means the line is down;
 * - a driver may signal out-of-band news on any fd (poll's POLLPRI, or a
 *   read that fails with a driver's own errno): the owner then calls
 *   port_fd_event(), which takes it and says whether the line is still up.
 *
 * Drivers: synthetic (a directory of sockets, docs/synthetic-trunk.md) and
 * DAHDI (a span of a real card, trunks/dahdi.h, docs/dahdi.md). Which one a
 * port has is decided here, by port_open(), and nowhere else.
 * Thread: a port belongs to the relay thread.
 */
#ifndef TRUNKREC_TRUNKS_PORT_H
#define TRUNKREC_TRUNKS_PORT_H

#include <stdbool.h>
#include <stdint.h>

#include "codec/g711.h"

#define PORT_MAX_TS	32	/* timeslots 0..31; 0 is framing on E1 */
#define PORT_BLOCK	160	/* bytes per B-channel block */

enum port_driver { PORT_SYNTHETIC, PORT_DAHDI };

/* What the driver saw on the line, kept across reopenings of the port. */
struct port_counters {
	unsigned long alarms;		/* alarm raised (DAHDI_EVENT_ALARM) */
	unsigned long hdlc_errors;	/* D-channel frames dropped: bad FCS, abort, too long */
	unsigned long read_overruns;	/* a B-channel's receive ring was full: audio lost */
	unsigned long write_underruns;	/* a B-channel's transmit ran dry: idle was sent */
	unsigned long other_events;
};

struct port {
	char name[32];		/* "pair1/A" */
	char path[256];		/* synthetic: the port directory; DAHDI: "span:N" */
	enum port_driver driver;
	int span;		/* DAHDI span number */
	unsigned alarms;	/* DAHDI_ALARM_* last seen (0: none) */
	char down_reason[192];	/* why the line is down, for the alarm log line */
	struct port_counters counters;
	enum g711_law law;
	int dchannel;		/* timeslot of the D-channel (16 on E1) */
	int dfd;		/* -1 while down */
	int bfd[PORT_MAX_TS];	/* -1 where no B-channel */
	uint32_t bmask;		/* bit ts set: ts is a B-channel of this line */
	bool up;
};

/* Counters survive: a port is initialised again before each reopening. */
void port_init(struct port *p, enum port_driver driver, const char *name, const char *path);

/*
 * Open every channel of the port with its driver. Returns 0, or -EAGAIN
 * while the line is not there yet (synthetic: no info file), -ENOLINK while
 * it is in alarm (p->down_reason says which), -EPROTONOSUPPORT when this
 * build lacks the driver, or another -errno; the port is left closed.
 */
int port_open(struct port *p);

/* What to tell the operator beside strerror(-rc) when port_open() failed: " (is … ?)" or "". */
const char *port_open_hint(const struct port *p, int rc);

/* The synthetic driver (port_open() calls it). */
int port_open_synthetic(struct port *p);

/*
 * fd (one of the port's) signalled an event (err 0), or a read on it failed
 * with err (positive errno, not EAGAIN/EINTR). The driver takes what is
 * pending and counts it. Returns 0 when the line is still up (read again),
 * -ENOLINK when it is down (p->down_reason says why), other -errno on a hard
 * error (line down as well).
 */
int port_fd_event(struct port *p, int fd, int err);

void port_close(struct port *p);	/* accepts a half-open port */

/* A line's alarm in the words E1/T1 people use (what `trunkrec spans` shows). */
enum port_alarm {
	PORT_ALARM_NONE,	/* up, no alarm */
	PORT_ALARM_RED,		/* loss of signal or framing here (or the line is down, whatever the driver) */
	PORT_ALARM_YELLOW,	/* remote alarm: the far end hears nothing from us */
	PORT_ALARM_BLUE,	/* AIS: all ones from upstream */
};

enum port_alarm port_alarm_state(const struct port *p);
const char *port_alarm_name(enum port_alarm a);	/* "up", "RED", "YELLOW", "BLUE" */

/* Lowest/highest free B-channel in mask order; 0 when none. */
int port_first_bchannel(const struct port *p, uint32_t busy, bool from_top);

#endif
