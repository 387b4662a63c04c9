/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The adapter between a call and its policy gate (policy/gate.h): the call's
 * life as the policy sees it, what the workers heard, the control thread's
 * commands, and per block whether the audio may be stored.
 *
 * Thread: relay thread only.
 */
#ifndef TRUNKREC_RELAY_CALLPOLICY_H
#define TRUNKREC_RELAY_CALLPOLICY_H

#include "relay/inbox.h"
#include "relay/internal.h"

void call_policy(struct relay *r, struct call *c, enum call_signal sig, const char *number);

/* callpolicy.c: the call's life as the policy sees it. */
void call_policy_setup(struct relay *r, struct call *c);	/* SETUP relayed: rule, gate */
void call_policy_alerting(struct relay *r, struct call *c);
void call_policy_answer(struct relay *r, struct call *c);
void call_policy_hangup(struct relay *r, struct call *c, const char *why);
void call_policy_release(struct relay *r, struct call *c);	/* the call slot is freed */
void call_policy_take_reload(struct relay *r);	/* between blocks: swap in a loaded generation */
void call_policy_free_all(struct relay *r);	/* at exit: every generation (prompts included) */
/* Housekeeping: time passes; what the workers heard (prompt found, tones). */
void call_policy_tick(struct relay *r, uint64_t now_ms);
/* play mode: the next prompt block for the carrier, or NULL when not playing. */
const uint8_t *call_policy_prompt_block(struct call *c);
/* play mode: the tick after the last block was sent: the caller has heard it all. */
void call_policy_prompt_heard(struct relay *r, struct call *c);

/* A command from the control socket: payment pause or resume, mask, unmask (callpolicy.c). */
void call_control(struct relay *r, struct call *c, enum control_verb verb);

/* May this call's audio of the current block be stored? REC_FRAME_* flags (callpolicy.c) */
uint8_t call_store_flags(const struct call *c);

#endif
