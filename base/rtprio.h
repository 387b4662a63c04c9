/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * The call comes first, on the CPU too. The relay thread carries live audio
 * with about one block (20 ms) of slack on the synthetic card and four on a
 * DAHDI card; the encoders next to it are CPU-bound for as long as there are
 * calls, and under the fair scheduler a woken relay can wait behind them. So
 * the relay runs SCHED_FIFO at a low real-time priority, as Asterisk does
 * with -p: it preempts the encoders when a block arrives and sleeps again
 * within microseconds. The kernel's real-time throttling (95 % of each
 * second) still bounds a relay gone wrong. On the bench's synthetic card the
 * A/B showed no measurable change either way (docs/design.md, "Threads"):
 * the card's underruns there come from elsewhere.
 */
#ifndef TRUNKREC_BASE_RTPRIO_H
#define TRUNKREC_BASE_RTPRIO_H

/*
 * Make the calling thread SCHED_FIFO at prio (1..99). Threads it starts later
 * (the reload loader) begin at the normal policy. Returns 0, or -errno:
 * -EPERM when the process has neither CAP_SYS_NICE nor an RLIMIT_RTPRIO of
 * at least prio (systemd: LimitRTPRIO=).
 */
int rtprio_enter(int prio);

#endif
