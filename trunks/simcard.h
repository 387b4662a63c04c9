/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The synthetic E1 card: the card side of docs/synthetic-trunk.md.
 *
 * Each port is a directory of listening SOCK_SEQPACKET sockets (`d`, `1`..`31`
 * except 16) plus an `info` file. The card is the line clock: on every tick it
 * takes one block per B-channel from what the client queued (or idle, counting
 * an underrun) and hands it to the far end, then asks the far end for one
 * block per B-channel and sends it to the client.
 *
 * The far end of each port's D-channel is a socketpair: the card pumps frames
 * unchanged (FCS bytes included) between the client and simcard_port_far_fd(),
 * which the far end runs libpri on (trunks/dchan.h). No call logic here.
 *
 * Thread: a card and everything reachable from it belong to the one thread
 * that calls simcard_dispatch(); the callbacks run on that thread, inside it.
 */
#ifndef TRUNKREC_TRUNKS_SIMCARD_H
#define TRUNKREC_TRUNKS_SIMCARD_H

#include <stdbool.h>
#include <stdint.h>

#define SIMCARD_MAX_PORTS	16
#define SIMCARD_TS		32	/* timeslots 0..31; 0 is E1 framing */
#define SIMCARD_DCHANNEL	16	/* E1 */
#define SIMCARD_BLOCK		160	/* bytes per B-channel message: 20 ms */
#define SIMCARD_QUEUE		4	/* blocks kept per channel from the client */
#define SIMCARD_TICK_NS		20000000LL
#define SIMCARD_FAST_TIMEOUT_NS	1000000000LL	/* lock-step waits at most this */
#define SIMCARD_IDLE_ALAW	0xD5
#define SIMCARD_MAX_FRAME	1024	/* D-channel frame, FCS included */

/* Called on the card's thread, once per tick, for every B-channel of every port that is up. */
struct simcard_ops {
	/* Fill the block the far end puts on the line towards the client on this tick. */
	void (*far_send)(void *userdata, int port, int ts, uint64_t tick, uint8_t *ret_block);
	/*
	 * The block the line delivers to the far end on this tick: what the
	 * client answered to the previous tick, or idle when it did not.
	 */
	void (*far_receive)(void *userdata, int port, int ts, uint64_t tick, const uint8_t *block);
};

struct simcard_stats {
	unsigned long underruns;	/* a block was due from the client and none was queued */
	unsigned long overruns;		/* a 5th block arrived: the oldest was dropped */
	unsigned long refused;		/* second connections closed at once */
	unsigned long bad_blocks;	/* messages of the wrong size on a B-channel */
	unsigned long send_dropped;	/* the client's socket was full: block lost */
	unsigned long d_to_far, d_to_client, d_dropped;
	unsigned long ticks_late;	/* real-time mode: deadline missed by a whole tick */
	unsigned long fast_timeouts;	/* lock-step mode: gave up waiting after 1 s */
};

struct simcard;

/*
 * A card with no ports. fast: lock-step ticks (next tick once every connected
 * B-channel answered the previous one, at most 1 s) instead of every 20 ms.
 * Returns 0 or -errno.
 */
int simcard_new(const struct simcard_ops *ops, void *userdata, bool fast, struct simcard **ret_card);

/* Removes every port's sockets, info and (if empty) directory. Accepts NULL. */
void simcard_free(struct simcard *card);

/*
 * Add an E1 port (A-law) at the directory path, created if missing; its
 * sockets listen and its info file is in place when this returns. Returns the
 * port index, or -ENAMETOOLONG (path too long for a socket address),
 * -EADDRINUSE (a live card already serves path), -ENOSPC, other -errno.
 */
int simcard_port_add(struct simcard *card, const char *path);

/*
 * The far end's D-channel fd of a port (non-blocking SOCK_SEQPACKET, one HDLC
 * frame with its 2 FCS bytes per message). Owned by the card; lives as long
 * as the card, across loss of signal.
 */
int simcard_port_far_fd(const struct simcard *card, int port);

/* A client is connected to the port's `d` socket. */
bool simcard_port_connected(const struct simcard *card, int port);

/*
 * Loss of signal: close every client connection and listening socket of the
 * port and remove its files. Frames from the far end are dropped meanwhile.
 */
int simcard_port_down(struct simcard *card, int port);

/* The line is back: recreate the sockets, then info. Returns 0 or -errno. */
int simcard_port_up(struct simcard *card, int port);

void simcard_port_stats(const struct simcard *card, int port, struct simcard_stats *ret_stats);

/* Pollable (POLLIN) when simcard_dispatch() has work: an epoll fd. */
int simcard_fd(const struct simcard *card);

/*
 * Accept, read and pump whatever is ready without blocking, then run at most
 * one tick if one is due. Returns the number of ticks run (0 or 1), or -errno.
 */
int simcard_dispatch(struct simcard *card);

/* Milliseconds until simcard_dispatch() must run again even if simcard_fd() stays quiet. */
int simcard_timeout_ms(const struct simcard *card);

/* Run one tick now, whatever the clock says (tests; the schedule moves on from here). */
void simcard_tick_run(struct simcard *card);

/*
 * Tests: stop the card's own clock; ticks then come only from
 * simcard_tick_run(), so a slow machine cannot slip an extra tick in.
 */
void simcard_hold_clock(struct simcard *card);

/* Ticks run so far; the first tick is number 1. */
uint64_t simcard_tick(const struct simcard *card);

#endif
