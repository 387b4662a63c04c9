/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The DAHDI driver: a port is one DAHDI span (an E1/T1 line of a card), named
 * the way system.conf numbers it ("span:2"). docs/dahdi.md has the design.
 *
 * What the port contract (trunks/port.h) gets from DAHDI:
 * - the D-channel is the span's HDLCFCS (or HARDHDLC) channel: DAHDI does the
 *   HDLC framing and the FCS; one read() = one frame + 2 FCS bytes;
 * - each B-channel (sigtype CLEAR) is opened through /dev/dahdi/channel with
 *   DAHDI_SPECIFY, 160-byte blocks, raw G.711 in the span's law (curlaw);
 * - DAHDI reports alarms, HDLC errors and overruns as events: a read() fails
 *   with ELAST until DAHDI_GETEVENT takes them (port_dahdi_event()).
 *
 * The helpers below the port functions are shared with trunksim's DAHDI back
 * end (tools/trunksim/trunksim_dahdi.c), which drives the far ends through DAHDI too.
 *
 * Thread: no state of its own; a port belongs to its caller's thread.
 */
#ifndef TRUNKREC_TRUNKS_DAHDI_H
#define TRUNKREC_TRUNKS_DAHDI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trunks/port.h"

/* Blocks per B-channel buffer ring, both ways: 8 × 20 ms of slack for a stalled reader. */
#define DAHDI_PORT_NUMBUFS	8
/*
 * Blocks queued ahead on each B-channel's transmit side. Every block read is
 * answered by one block written, so the queue keeps its depth; a writer that
 * wakes up late lives on it, and a bridged call's writes follow the reads of
 * the other span, whose blocks end at another phase. If it runs dry anyway,
 * a one-for-one writer could never refill it: DAHDI would send idle between
 * every late block from then on. So the transmit side runs DAHDI's
 * half-full policy: after an underrun DAHDI holds the transmitter until
 * half the ring (this depth) is queued again, then carries on with the
 * slack restored. At open the same number of idle blocks starts it. The
 * cost is 80 ms of delay per direction, what chan_dahdi's usual
 * `buffers=4,full` costs (docs/dahdi.md).
 */
#define DAHDI_PORT_PRIME	(DAHDI_PORT_NUMBUFS / 2)

/* A span as system.conf made it: which channel numbers, which is the D-channel. */
struct dahdi_span_map {
	int span;
	int basechan, nchans;	/* global channel numbers basechan .. basechan+nchans-1 */
	int dchan_pos;		/* position (= timeslot) of the HDLC D-channel; 0: none */
	uint32_t bmask;		/* positions of the clear (B) channels */
	int law;		/* DAHDI_LAW_ALAW or DAHDI_LAW_MULAW */
	unsigned alarms;	/* DAHDI_ALARM_* at discovery */
	char name[24];		/* "DYN/loc/1:0", "TE8/0/1" */
};

/*
 * Read the span's layout (sysfs basechan/channels, DAHDI_GET_PARAMS per
 * channel, DAHDI_SPANSTAT). Returns 0; -ENOENT when DAHDI is not loaded or
 * the span does not exist; -ENOLINK when it has no HDLC D-channel or no
 * B-channel (system.conf lacks dchan=/bchan= for it); other -errno.
 */
int dahdi_span_map(int span, struct dahdi_span_map *ret_map);

/*
 * Open one channel by its global number, non-blocking: DAHDI_SPECIFY, then
 * for a B-channel (hdlc false) 160-byte blocks, DAHDI_PORT_NUMBUFS buffers,
 * overrun events on, transmit held until half full, DAHDI_PORT_PRIME idle
 * blocks queued; for a D-channel,
 * frame-sized buffers. Returns the fd or -errno.
 */
int dahdi_channel_open(int channo, bool hdlc, uint8_t idle);

/* The span's alarm bits now (DAHDI_SPANSTAT through any fd of DAHDI). Returns 0 or -errno. */
int dahdi_span_alarms(int fd, int span, unsigned *ret_alarms);

/* "RED (loss of signal)", "YELLOW (remote alarm)", "none", … for log lines. */
const char *dahdi_alarm_text(unsigned alarms, char *buf, size_t size);

/* The alarm bits in operators' words (PORT_ALARM_*), the worst first. */
enum port_alarm dahdi_alarm_state(unsigned alarms);

/* Alarms that mean this line carries nothing: red, blue, not open. */
bool dahdi_alarm_is_down(unsigned alarms);

/*
 * Take every event queued on fd and count it. Returns the last alarm edge
 * seen: 1 an alarm was raised, -1 one cleared, 0 neither; or -ENODEV when the
 * channel was removed (the span is gone), other -errno when the ioctl failed.
 */
int dahdi_take_events(int fd, struct port_counters *counts);

/* ---- the port driver (trunks/port.c dispatches here) ---- */

/* Open every channel of the span at p->path ("span:N"). -ENOLINK: in alarm (p->down_reason says which). */
int port_open_dahdi(struct port *p);

/* An fd of the port had an event (err 0) or a read failed with err; see port_fd_event(). */
int port_dahdi_event(struct port *p, int fd, int err);

#endif
