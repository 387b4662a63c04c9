// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Applies the recording policy to what the signalling saw (enum call_signal).
 *
 * Thread: relay thread.
 */
#include "engine/log.h"
#include "engine/relay.h"

void call_policy(struct relay *r, struct call *c, enum call_signal sig, const char *number)
{
	(void)number;
	switch (sig) {
	case CSIG_TRANSFER_ECT:
	case CSIG_TRANSFER_ON_DISCONNECT:
	case CSIG_DEFLECTION:
	case CSIG_DIVERSION:
	case CSIG_CONNECTED_LINE:
		/* Default policy: stop at transfer, on the block the signal arrived with. */
		if (c->recording)
			relay_record_stop(r, c, "transfer");
		break;
	default:
		break;
	}
}

void call_payment(struct relay *r, struct call *c, enum control_verb verb)
{
	(void)r;
	c->payment_paused = verb != CTL_RESUME;
}

bool call_may_store(const struct call *c)
{
	return !c->payment_paused && !c->held;
}
