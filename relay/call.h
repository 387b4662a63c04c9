/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Calls relayed between the two sides of a pair: Q.931 events from libpri,
 * timeslots, bridging, transfers.
 *
 * Thread: relay thread only.
 */
#ifndef TRUNKREC_RELAY_CALL_H
#define TRUNKREC_RELAY_CALL_H

#include "relay/internal.h"

/* One libpri event about a call on one side of a pair (the link's own are the loop's). */
void call_handle_event(struct relay *r, struct relay_pair *p, enum side side, pri_event *e);
/*
 * The line of one side went down: clear every call of the pair; each
 * recording gets a timeline mark saying why, then ends (COMPLETE).
 */
void call_clear_pair(struct relay *r, struct relay_pair *p, enum side lost, int cause, const char *why);

#endif
