// SPDX-License-Identifier: GPL-2.0-or-later
#include "relay/callview.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/log.h"
#include "base/textout.h"
#include "relay/internal.h"

int callview_init(struct callview *v)
{
	memset(v, 0, sizeof(*v));
	return -pthread_mutex_init(&v->lock, NULL);
}

void callview_destroy(struct callview *v)
{
	pthread_mutex_destroy(&v->lock);
}

static const char *call_state_word(const struct call *c)
{
	if (c->held)
		return "held";
	switch (c->state) {
	case CALL_SETUP: return "setup";
	case CALL_ALERTING: return "alerting";
	case CALL_ACTIVE: return "active";
	case CALL_CLEARING: return "clearing";
	}
	return "?";
}

/* The recording state in an operator's words; no digit, no number. */
static void policy_words(const struct call *c, char *out, size_t size)
{
	const struct gate *g = &c->gate;

	switch (g->state) {
	case GATE_ALERTING:
		snprintf(out, size, "waiting for answer");
		return;
	case GATE_ANNOUNCING:
		snprintf(out, size, "announcing");
		return;
	case GATE_VERIFYING:
		snprintf(out, size, "verifying announcement");
		return;
	case GATE_NOT_ANNOUNCED:
		snprintf(out, size, "not recorded");
		return;
	case GATE_STOPPED:
		snprintf(out, size, "%s", g->outcome == GATE_OUTCOME_STOPPED_AT_TRANSFER ? "stopped (transfer)"
					  : g->outcome == GATE_OUTCOME_DISCARDED	   ? "discarded"
										   : "stopped");
		return;
	case GATE_ANNOUNCED:
		break;
	}
	if (g->pause & GATE_PAUSE_MASK)
		snprintf(out, size, "masked");
	else if (g->pause & GATE_PAUSE_ANY_HOLD)
		snprintf(out, size, "paused (hold)");
	else if (g->pause)
		snprintf(out, size, "paused (payment)");
	else
		snprintf(out, size, "recording");
}

static void view_of(struct call_view *cv, const struct call *c, uint64_t now_ms)
{
	cv->id = c->serial;
	snprintf(cv->pair, sizeof(cv->pair), "%s", c->pair->cfg->name);
	snprintf(cv->dir, sizeof(cv->dir), "%s", c->dir == CALL_IN ? "in" : "out");
	snprintf(cv->state, sizeof(cv->state), "%s", call_state_word(c));
	cv->ts_a = c->ts[SIDE_A];
	cv->ts_b = c->ts[SIDE_B];
	log_mask_number(c->calling, cv->calling, sizeof(cv->calling));
	log_mask_number(c->called, cv->called, sizeof(cv->called));
	cv->connected_s = c->answered_ms && now_ms > c->answered_ms ? (unsigned)((now_ms - c->answered_ms) / 1000) : 0;
	policy_words(c, cv->policy, sizeof(cv->policy));
}

static void line_of(struct line_view *lv, const char *rule, const struct policy_line_state *s)
{
	snprintf(lv->rule, sizeof(lv->rule), "%s", rule);
	lv->announced = s->announced_total;
	lv->unannounced = s->unannounced_total;
	lv->unannounced_in_a_row = s->unannounced_in_a_row;
	lv->alarm = s->alarm;
}

void callview_publish(struct callview *v, const struct relay *r, uint64_t now_ms)
{
	const struct policy_rules *rules = r->policy ? &r->policy->cfg.rules : NULL;
	int n = 0;

	if ((now_ms < v->published_ms + CALLVIEW_PERIOD_MS && !v->lines_changed) || pthread_mutex_trylock(&v->lock) != 0)
		return;
	v->lines_changed = false;
	for (int i = 0; i < r->ncalls && n < CALLVIEW_MAX; i++)
		if (r->calls[i].used)
			view_of(&v->calls[n++], &r->calls[i], now_ms);
	v->n = n;
	/* The lines of the running generation: counters start again at a reload, as the relay's do. */
	n = 0;
	for (int i = 0; rules && i < rules->n; i++)
		line_of(&v->lines[n++], rules->rule[i].name, &r->lines[i]);
	line_of(&v->lines[n++], "default", &r->lines[POLICY_MAX_RULES]);
	v->nlines = n;
	v->published_ms = now_ms;
	pthread_mutex_unlock(&v->lock);
}

static void render_json(const struct callview *v, struct textout *o)
{
	textout_put(o, "{\"calls\":[");
	for (int i = 0; i < v->n; i++) {
		const struct call_view *c = &v->calls[i];

		textout_put(o, "%s{\"id\":%lu,\"pair\":", i ? "," : "", c->id);
		textout_json_string(o, c->pair);
		textout_put(o, ",\"dir\":\"%s\",\"state\":\"%s\",\"ts_a\":%d,\"ts_b\":%d,\"calling\":\"%s\","
			    "\"called\":\"%s\",\"connected_s\":%u,\"policy\":\"%s\"}",
			    c->dir, c->state, c->ts_a, c->ts_b, c->calling, c->called, c->connected_s, c->policy);
	}
	textout_put(o, "]}\n");
}

static void render_text(const struct callview *v, struct textout *o)
{
	textout_put(o, "%6s %-10s %-3s %-8s %5s %5s %-16s %-16s %8s  %s\n", "call", "pair", "dir", "state", "ts A",
		    "ts B", "calling", "called", "time", "recording");
	for (int i = 0; i < v->n; i++) {
		const struct call_view *c = &v->calls[i];

		textout_put(o, "%6lu %-10.10s %-3s %-8s %5d %5d %-18s %-18s %5u:%02u  %s\n", c->id, c->pair, c->dir,
			    c->state, c->ts_a, c->ts_b, c->calling, c->called,
			    c->connected_s / 60, c->connected_s % 60, c->policy);
	}
}

int callview_lines(struct callview *v, struct line_view *ret)
{
	int n;

	pthread_mutex_lock(&v->lock);
	n = v->nlines;
	memcpy(ret, v->lines, (size_t)n * sizeof(*ret));
	pthread_mutex_unlock(&v->lock);
	return n;
}

/* By pair, then oldest call first: what a person scanning the list expects. */
static int by_pair_then_id(const void *a, const void *b)
{
	const struct call_view *x = a, *y = b;
	int c = strcmp(x->pair, y->pair);

	return c ? c : (x->id > y->id) - (x->id < y->id);
}

size_t callview_render(struct callview *v, enum callview_format format, char *buf, size_t size)
{
	struct textout o = textout_init(buf, size);

	pthread_mutex_lock(&v->lock);
	qsort(v->calls, (size_t)v->n, sizeof(v->calls[0]), by_pair_then_id);	/* here, not on the relay thread */
	if (format == CALLVIEW_JSON)
		render_json(v, &o);
	else
		render_text(v, &o);
	pthread_mutex_unlock(&v->lock);
	return o.len;
}
