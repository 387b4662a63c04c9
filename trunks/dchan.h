/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * One libpri instance on one D-channel file descriptor: the glue shared by
 * trunkrecd (both sides of each trunk pair) and trunksim (carrier and PBX).
 *
 * The fd carries HDLC frames with their 2 FCS bytes, one frame per read() or
 * write(), as DAHDI's HDLCFCS channels and the synthetic card's `d` socket do.
 *
 * Thread: libpri has no locking. A link and every q931_call of it belong to the
 * thread that calls dchan_service(); nothing else may touch them.
 */
#ifndef TRUNKREC_TRUNKS_DCHAN_H
#define TRUNKREC_TRUNKS_DCHAN_H

#include <stdbool.h>
#include <libpri.h>

struct dchan {
	struct pri *pri;
	int fd;
	bool lost;		/* EOF or a read error on the D-channel: layer 1 gone? */
	int err;		/* the read's errno when lost (0: EOF); the port's driver may know it as an event */
	unsigned long frames_in, frames_out, read_errors;
	char name[32];		/* for log lines: "a1", "carrier1", … */
};

/*
 * Start libpri on fd (non-blocking; the link does not own it). nodetype is
 * PRI_NETWORK or PRI_CPE. Enables hold, transfer and rerouting handling.
 * libpri sends its first SABME from inside this call. Returns 0 or -errno.
 */
int dchan_open(struct dchan *l, int fd, int nodetype, int switchtype, const char *name);

/* Milliseconds until libpri's next timer (0 if due), or cap if sooner / none. */
int dchan_timeout_ms(struct dchan *l, int cap);

/*
 * Feed one received frame (readable) or run due timers. Returns the event
 * libpri raised, valid until the next libpri call on this link, or NULL. Call
 * again while it returns events when not readable (timers run one at a time).
 */
pri_event *dchan_service(struct dchan *l, bool readable);

/* Process-wide: route libpri's messages to stderr with a prefix, or drop them. */
void dchan_set_logging(bool verbose);

/* Switch type by name: "euroisdn" (E1), "ni2", "dms100", "4ess", "5ess", "qsig". */
int dchan_switchtype(const char *name);

/* Helpers for the channel word libpri puts in events (not in libpri.h). */
#define DCHAN_CHANNEL(c)	((c) & 0xff)
#define DCHAN_HELD_CALL	(1 << 18)
/* The B-channel a libpri channel word names, or 0 when none (0xff). */
#define DCHAN_BCHANNEL(c)	((c) > 0 && ((c) & 0xff) != 0xff ? ((c) & 0xff) : 0)

#endif
