/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The relay's inbox: live-call commands from the control thread (pause,
 * resume, mask, unmask, discard, a lost client) and their answers, through
 * two single-producer single-consumer rings and two eventfds. No lock, no
 * allocation once set up.
 *
 * Thread: inbox_init and inbox_destroy on main (before and after both
 * threads); inbox_send and the answers ring on the control thread (ops/control.c);
 * the commands ring and the answers' producer on the relay thread, between
 * blocks (relay/loop.c).
 */
#ifndef TRUNKREC_RELAY_INBOX_H
#define TRUNKREC_RELAY_INBOX_H

#include <stdbool.h>

#include "base/spsc.h"

#define CONTROL_LINE	256

enum control_verb { CTL_PAUSE = 1, CTL_RESUME, CTL_LOST, CTL_MASK, CTL_UNMASK, CTL_DISCARD };

struct control_cmd {
	enum control_verb verb;
	unsigned id;			/* matches the answer to the command; 0: no answer wanted */
	char selector[CONTROL_LINE];	/* "number=…" or "call=…" */
};

struct control_answer {
	unsigned id;
	char text[CONTROL_LINE];	/* "ok …" or "error …" */
};

struct inbox {
	int relay_efd;			/* wakes the relay: a command is waiting */
	int answer_efd;			/* wakes the control thread: an answer is waiting */
	struct spsc commands;		/* control → relay */
	struct spsc answers;		/* relay → control */
};

/* Rings and eventfds; negative errno, and nothing left to free, on failure. */
int inbox_init(struct inbox *in);
/* After inbox_init, even one that failed half-way; twice is harmless. */
void inbox_destroy(struct inbox *in);

/* Control thread: queue one command and wake the relay. False: the ring is full or the wake failed. */
bool inbox_send(struct inbox *in, enum control_verb verb, unsigned id, const char *selector);

#endif
