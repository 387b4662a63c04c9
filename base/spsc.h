/* SPDX-License-Identifier: GPL-2.0-or-later */
/*
 * Single-producer single-consumer ring of fixed-size messages: how the relay
 * thread hands audio and commands to a recording worker without a lock, a
 * syscall or an allocation per block. The producer never waits: when the ring
 * is full, spsc_claim() returns NULL and the caller counts the loss (recording may
 * lose audio; the call never does).
 */
#ifndef TRUNKREC_BASE_SPSC_H
#define TRUNKREC_BASE_SPSC_H

#include <errno.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

struct spsc {
	_Alignas(64) _Atomic uint32_t head;	/* next slot to fill; written by the producer */
	_Alignas(64) _Atomic uint32_t tail;	/* next slot to drain; written by the consumer */
	_Alignas(64) uint32_t mask;
	size_t size;				/* bytes per message */
	uint8_t *buf;
};

/* count must be a power of two. Returns 0 or -ENOMEM. */
static inline int spsc_init(struct spsc *q, uint32_t count, size_t size)
{
	q->buf = calloc(count, size);
	if (!q->buf)
		return -ENOMEM;
	atomic_init(&q->head, 0);
	atomic_init(&q->tail, 0);
	q->mask = count - 1;
	q->size = size;
	return 0;
}

static inline void spsc_free(struct spsc *q)
{
	free(q->buf);
	q->buf = NULL;
}

/* Producer: a slot to fill, or NULL when full. Publish it with spsc_push(). */
static inline void *spsc_claim(struct spsc *q)
{
	uint32_t head = atomic_load_explicit(&q->head, memory_order_relaxed);
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_acquire);

	if (head - tail > q->mask)
		return NULL;
	return q->buf + (size_t)(head & q->mask) * q->size;
}

static inline void spsc_push(struct spsc *q)
{
	atomic_store_explicit(&q->head, atomic_load_explicit(&q->head, memory_order_relaxed) + 1,
			      memory_order_release);
}

/* Consumer: the oldest message, or NULL when empty. Release it with spsc_pop(). */
static inline void *spsc_peek(struct spsc *q)
{
	uint32_t tail = atomic_load_explicit(&q->tail, memory_order_relaxed);
	uint32_t head = atomic_load_explicit(&q->head, memory_order_acquire);

	if (tail == head)
		return NULL;
	return q->buf + (size_t)(tail & q->mask) * q->size;
}

static inline void spsc_pop(struct spsc *q)
{
	atomic_store_explicit(&q->tail, atomic_load_explicit(&q->tail, memory_order_relaxed) + 1,
			      memory_order_release);
}

#endif
