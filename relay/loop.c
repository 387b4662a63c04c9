// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * The relay loop: one epoll over every D-channel and B-channel of every pair.
 * Per wake-up, B-channel blocks are carried across first (the live call comes
 * first), then recording frames are handed to the workers, then signalling
 * and timers run, then the workers are woken once each.
 *
 * Thread: relay thread only.
 */
#include "relay/relay.h"

#include <errno.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/statvfs.h>
#include <time.h>
#include <unistd.h>

#include "base/clock.h"
#include "base/log.h"
#include "relay/call.h"
#include "relay/callview.h"
#include "relay/callpolicy.h"
#include "relay/feed.h"
#include "relay/inbox.h"
#include "relay/internal.h"

#define RETRY_MS	1000	/* how often a down line is tried again */
#define MAX_EVENTS	512
/*
 * Housekeeping (timers, the policy tick over every call, worker events) and
 * worker wakes run at most this often, not once per epoll wake-up. A card
 * delivers a tick's blocks spread over a millisecond or two, so the relay
 * wakes tens of times per 20 ms tick; per wake-up, walking every call and
 * waking every worker (eventfd write, then the worker's poll, read and
 * context switch) cost more than carrying the blocks. Workers only need
 * their frames well before the next flush; nothing here is on the
 * pass-through path, which still runs on every wake-up.
 */
#define CHORES_MS	5

/* epoll tag: pair, side, timeslot (0 = the D-channel). */
#define TAG(pair, side, ts)	((uint64_t)(pair) << 16 | (uint64_t)(side) << 8 | (uint64_t)(ts))
#define TAG_PAIR(t)		((int)((t) >> 16))
#define TAG_SIDE(t)		((enum side)(((t) >> 8) & 0xff))
#define TAG_TS(t)		((int)((t) & 0xff))
#define TAG_CONTROL		UINT64_MAX	/* the control socket's eventfd */

static void relay_alarm(struct relay *r, struct relay_pair *p, enum side s, const char *why)
{
	if (p->alarmed[s])
		return;
	p->alarmed[s] = true;
	atomic_fetch_add(&r->stats->span_alarms, 1);
	log_err("ALARM %s: port %s (%s): %s; its calls are released, recordings closed", p->cfg->name,
		s == SIDE_A ? "A" : "B", p->port[s].path, why);
}

static void relay_alarm_clear(struct relay *r, struct relay_pair *p, enum side s)
{
	(void)r;
	if (!p->alarmed[s])
		return;
	p->alarmed[s] = false;
	log_warn("%s: port %s (%s): alarm cleared, D-channel up: the line carries calls again", p->cfg->name,
		 s == SIDE_A ? "A" : "B", p->port[s].path);
}

static void port_lost(struct relay *r, struct relay_pair *p, enum side s)
{
	struct port *port = &p->port[s];
	char why[sizeof(port->down_reason) + 16];

	if (!port->up)
		return;
	snprintf(why, sizeof(why), "line down: %s", port->down_reason[0] ? port->down_reason : "lost");
	relay_alarm(r, p, s, why);
	log_info("%s: port %s: retrying every %d ms", p->cfg->name, s == SIDE_A ? "A" : "B", RETRY_MS);
	p->link_up[s] = false;
	call_clear_pair(r, p, s, PRI_CAUSE_NETWORK_OUT_OF_ORDER, why);
	port_close(port);	/* closing removes the fds from epoll */
	p->next_retry_ms = clock_now_ms() + RETRY_MS;
}

/* The driver has news on fd (err 0) or a read failed (err): is the line still up? */
static bool fd_event(struct relay *r, struct relay_pair *p, enum side s, int fd, int err)
{
	if (port_fd_event(&p->port[s], fd, err) == 0)
		return true;
	port_lost(r, p, s);
	return false;
}

/*
 * One block to a B-channel of side s. DAHDI refuses a write while an event
 * waits on the channel (ELAST, e.g. the underrun that a late block caused):
 * the event is taken and the write tried again, so that the block is not lost
 * with it. Returns false when the error showed the line down: port_lost() ran
 * and the caller's call may be gone.
 */
static bool send_block(struct relay *r, struct relay_pair *p, enum side s, int fd, const uint8_t *blk)
{
	if (write(fd, blk, PORT_BLOCK) == PORT_BLOCK)
		return true;
	if (errno != EAGAIN && errno != EINTR) {
		if (!fd_event(r, p, s, fd, errno))
			return false;
		if (write(fd, blk, PORT_BLOCK) == PORT_BLOCK)
			return true;
	}
	atomic_fetch_add_explicit(&r->stats->blocks_dropped_write, 1, memory_order_relaxed);
	return true;
}

/*
 * One B-channel is readable: carry its block across, then stage it for
 * recording. One read per readiness: the fds are level-triggered, so a
 * timeslot with a backlog is reported again by the next epoll_wait, which
 * returns at once. Reading on until EAGAIN cost a third syscall per block
 * in the steady state of one block per tick.
 */
static void bchannel_ready(struct relay *r, struct relay_pair *p, enum side s, int ts, uint32_t events)
{
	int fd = p->port[s].bfd[ts];
	uint8_t blk[PORT_BLOCK];
	struct call *c = p->by_ts[s][ts];
	int out;
	enum side out_side = s;
	const uint8_t *send;
	ssize_t n;

	if ((events & EPOLLPRI) && !fd_event(r, p, s, fd, 0))
		return;
	n = read(fd, blk, sizeof(blk));
	if (n < 0 && errno != EAGAIN && errno != EINTR) {
		/* An event in the way (DAHDI's ELAST) is taken and the read tried again; else the line is down. */
		if (!fd_event(r, p, s, fd, errno))
			return;
		n = read(fd, blk, sizeof(blk));
	}
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		port_lost(r, p, s);
		return;
	}
	if (n != PORT_BLOCK)
		return;		/* not a block: a broken card; drop it */
	atomic_fetch_add_explicit(&r->stats->blocks, 1, memory_order_relaxed);
	if (c && s == SIDE_B && c->prompt_playing) {
		/* The announcement replaces what the PBX says to the carrier meanwhile. */
		out = -1;
		send = NULL;
	} else if (c && c->joined && c->joined->ts[SIDE_A]) {
		/* Transferred: the two carrier legs talk to each other through us. */
		out = p->port[SIDE_A].bfd[c->joined->ts[SIDE_A]];
		out_side = SIDE_A;
		send = blk;
	} else if (c && c->bridged && p->port[!s].up) {
		out = p->port[!s].bfd[c->ts[!s]];
		out_side = !s;
		send = blk;
	} else {
		/* Nobody to pass it to: keep the line fed with idle. */
		out = fd;
		send = feed_idle_block(p->port[s].law);
	}
	if (out >= 0 && !send_block(r, p, out_side, out, send))
		return;
	/* Staged before the prompt advances: this block was spoken while the prompt still played. */
	if (c && c->recording && c->frames_wanted && c->state == CALL_ACTIVE)
		feed_block(r, c, s, blk, call_store_flags(c));
	if (c && s == SIDE_A && c->prompt_draining) {
		call_policy_prompt_heard(r, c);
	} else if (c && s == SIDE_A && c->prompt_playing) {
		/* play mode: one prompt block to the carrier per block the carrier sends: its clock. */
		const uint8_t *prompt = call_policy_prompt_block(c);

		if (prompt)
			send_block(r, p, s, fd, prompt);
	}
}

/*
 * One libpri event: the link's own (layer 2 up or down) are the loop's, for
 * it owns the pair's alarms; everything else is a call's (relay/call.c).
 */
static void dchannel_event(struct relay *r, struct relay_pair *p, enum side s, pri_event *e)
{
	switch (e->e) {
	case PRI_EVENT_DCHAN_UP:
		p->link_up[s] = true;
		log_info("%s: D-channel %s up", p->cfg->name, s == SIDE_A ? "A" : "B");
		relay_alarm_clear(r, p, s);
		return;
	case PRI_EVENT_DCHAN_DOWN:
		p->link_up[s] = false;
		relay_alarm(r, p, s, "D-channel down (layer 2 lost)");
		call_clear_pair(r, p, s, PRI_CAUSE_NETWORK_OUT_OF_ORDER, "D-channel down");
		return;
	default:
		call_handle_event(r, p, s, e);
	}
}

static void dchannel_ready(struct relay *r, struct relay_pair *p, enum side s, bool readable, uint32_t events)
{
	struct dchan *d = &p->dchan[s];
	pri_event *e;

	if ((events & EPOLLPRI) && !fd_event(r, p, s, d->fd, 0))
		return;
	/* Timers fire one event per call: drain them; a frame gives at most one. */
	for (int i = 0; i < 64; i++) {
		e = dchan_service(d, readable);
		if (d->lost && d->err && fd_event(r, p, s, d->fd, d->err)) {
			d->lost = false;	/* an event, taken: the frame behind it is read next time */
			return;
		}
		if (d->lost) {
			port_lost(r, p, s);
			return;
		}
		if (e)
			dchannel_event(r, p, s, e);
		if (readable || !e)
			return;
	}
}

static int epoll_add(struct relay *r, int fd, uint64_t tag)
{
	/* EPOLLPRI: DAHDI's events (alarms, HDLC errors, overruns); sockets never raise it. */
	struct epoll_event ev = { .events = EPOLLIN | EPOLLPRI, .data.u64 = tag };

	return epoll_ctl(r->epfd, EPOLL_CTL_ADD, fd, &ev) < 0 ? -errno : 0;
}

static enum port_driver port_driver_of(const struct config_pair *cfg)
{
	return cfg->driver == CONFIG_DRIVER_DAHDI ? PORT_DAHDI : PORT_SYNTHETIC;
}

static void try_open_port(struct relay *r, struct relay_pair *p, enum side s)
{
	struct port *port = &p->port[s];
	const char *path = s == SIDE_A ? p->cfg->port_a : p->cfg->port_b;
	int rc;

	port_init(port, port_driver_of(p->cfg), s == SIDE_A ? "A" : "B", path);
	rc = port_open(port);
	if (rc == -ENOLINK && port->down_reason[0]) {
		/* Still in alarm: raised once when it went down; quiet until it is back. */
		relay_alarm(r, p, s, port->down_reason);
		return;
	}
	if (rc < 0) {
		/* A synthetic card that is not there yet is normal; a DAHDI span is named once. */
		bool waiting = rc == -EAGAIN || rc == -ENOENT || rc == -ECONNREFUSED;

		if (!waiting || (port->driver == PORT_DAHDI && !p->alarmed[s]))
			log_warn("%s: port %s at %s: %s%s; retrying every %d ms", p->cfg->name, port->name, path,
				 strerror(-rc), port_open_hint(port, rc), RETRY_MS);
		if (port->driver == PORT_DAHDI)
			relay_alarm(r, p, s, strerror(-rc));
		return;
	}
	epoll_add(r, port->dfd, TAG(p->index, s, 0));
	for (int ts = 1; ts < PORT_MAX_TS; ts++)
		if (port->bfd[ts] >= 0)
			epoll_add(r, port->bfd[ts], TAG(p->index, s, ts));
	{
		/*
		 * A faces the carrier: we are the user side. B faces the PBX: we are
		 * the network. A line that came back gets a fresh layer 2 at once:
		 * the old instance's Q.921 state would take T203 and more to notice
		 * the new peer, and calls in that gap fail. libpri cannot free an
		 * instance, so the old one is left behind (a few KB per line loss).
		 */
		char name[72];

		snprintf(name, sizeof(name), "%s/%s", p->cfg->name, port->name);
		if (dchan_open(&p->dchan[s], port->dfd, s == SIDE_A ? PRI_CPE : PRI_NETWORK,
			       dchan_switchtype(p->cfg->switchtype), name) == 0)
			p->dchan_open[s] = true;
	}
	log_info("%s: port %s connected (%s, %s)", p->cfg->name, port->name, path,
		 port->law == G711_ALAW ? "A-law" : "µ-law");
}

int relay_new(const struct relay_opts *o, struct relay **ret)
{
	struct relay *r;
	int rc;

	if (o->cfg->npairs * RELAY_CALLS_PER_PAIR > WORKER_MAX_SLOTS)
		return -E2BIG;
	r = calloc(1, sizeof(*r));
	if (!r)
		return -ENOMEM;
	r->epfd = -1;
	feed_init();
	r->cfg = o->cfg;
	r->workers = o->workers;
	r->nworkers = o->nworkers;
	r->npairs = o->cfg->npairs;
	r->ncalls = o->cfg->npairs * RELAY_CALLS_PER_PAIR;
	r->inbox = o->inbox;
	r->stats = o->stats;
	r->view = o->view;
	r->stats->npairs = r->npairs;
	for (int i = 0; i < r->npairs; i++) {
		struct relay_pair *p = &r->pairs[i];

		p->cfg = &o->cfg->pairs[i];
		p->index = i;
		r->stats->span[i].name = p->cfg->name;
		port_init(&p->port[SIDE_A], port_driver_of(p->cfg), "A", p->cfg->port_a);
		port_init(&p->port[SIDE_B], port_driver_of(p->cfg), "B", p->cfg->port_b);
	}
	r->calls = calloc((size_t)r->ncalls, sizeof(*r->calls));
	if (!r->calls) {
		rc = -ENOMEM;
		goto fail;
	}
	r->epfd = epoll_create1(EPOLL_CLOEXEC);
	if (r->epfd < 0) {
		rc = -errno;
		goto fail;
	}
	if (r->inbox && (rc = epoll_add(r, r->inbox->relay_efd, TAG_CONTROL)) < 0)
		goto fail;
	r->policy = o->policy;	/* last: a failed relay_new leaves it to the caller */
	*ret = r;
	return 0;
fail:
	relay_free(r);
	return rc;
}

static int next_timeout(struct relay *r, uint64_t now)
{
	int timeout = 1000;

	for (int i = 0; i < r->npairs; i++) {
		struct relay_pair *p = &r->pairs[i];

		for (int s = 0; s < 2; s++) {
			if (p->dchan_open[s])
				timeout = dchan_timeout_ms(&p->dchan[s], timeout);
			if (!p->port[s].up) {
				int wait = p->next_retry_ms > now ? (int)(p->next_retry_ms - now) : 0;

				timeout = wait < timeout ? wait : timeout;
			}
		}
	}
	return timeout;
}

/* What stats readers on other threads see of the spans. */
static void publish_spans(struct relay *r)
{
	for (int i = 0; i < r->npairs; i++) {
		struct relay_pair *p = &r->pairs[i];
		unsigned calls = (unsigned)__builtin_popcount(p->busy[SIDE_A]);

		for (int s = 0; s < 2; s++) {
			atomic_store_explicit(&r->stats->span[i].port_up[s], p->port[s].up, memory_order_relaxed);
			atomic_store_explicit(&r->stats->span[i].alarm[s], (int)port_alarm_state(&p->port[s]),
					      memory_order_relaxed);
			atomic_store_explicit(&r->stats->span[i].link_up[s], p->link_up[s], memory_order_relaxed);
			atomic_store_explicit(&r->stats->span[i].alarms[s], p->port[s].counters.alarms, memory_order_relaxed);
			atomic_store_explicit(&r->stats->span[i].hdlc_errors[s], p->port[s].counters.hdlc_errors,
					      memory_order_relaxed);
			atomic_store_explicit(&r->stats->span[i].read_overruns[s], p->port[s].counters.read_overruns,
					      memory_order_relaxed);
			atomic_store_explicit(&r->stats->span[i].write_underruns[s], p->port[s].counters.write_underruns,
					      memory_order_relaxed);
		}
		atomic_store_explicit(&r->stats->span[i].calls, calls, memory_order_relaxed);
	}
}

/*
 * After ENOSPC no new recording starts (calls go on unrecorded). Every few
 * seconds: is there room again? Then recordings resume; both edges alarm.
 */
static void check_space(struct relay *r, uint64_t now)
{
	struct statvfs vfs;
	bool full = atomic_load(&r->stats->out_of_space);

	if (full && !r->space_alarmed) {
		log_err("ALARM recordings disk %s is full: new calls are not recorded (recordings in progress "
			"are closed as they fail); free space to resume", r->cfg->recordings);
		r->space_alarmed = true;
	}
	if (!full || now < r->next_space_check_ms)
		return;
	r->next_space_check_ms = now + 5000;
	if (statvfs(r->cfg->recordings, &vfs) == 0 &&
	    (uint64_t)vfs.f_bavail * vfs.f_frsize >= RELAY_SPACE_RESUME_BYTES) {
		atomic_store(&r->stats->out_of_space, false);
		r->space_alarmed = false;
		log_warn("recordings disk %s has room again: new calls are recorded", r->cfg->recordings);
	}
}

static void housekeeping(struct relay *r, uint64_t now)
{
	publish_spans(r);
	callview_publish(r->view, r, now);
	check_space(r, now);
	for (int i = 0; i < r->npairs; i++) {
		struct relay_pair *p = &r->pairs[i];
		bool retried = false;

		for (int s = 0; s < 2; s++) {
			if (!p->port[s].up && now >= p->next_retry_ms) {
				try_open_port(r, p, (enum side)s);
				retried = true;
			}
			if (p->dchan_open[s] && p->port[s].up && dchan_timeout_ms(&p->dchan[s], 1) == 0)
				dchannel_ready(r, p, (enum side)s, false, 0);
		}
		if (retried)
			p->next_retry_ms = now + RETRY_MS;
	}
	feed_retry_stops(r);
	call_policy_take_reload(r);
	call_policy_tick(r, now);
}

static bool selector_matches(const struct call *c, const char *selector)
{
	if (!strncmp(selector, "number=", 7))
		return !strcmp(c->calling, selector + 7) || !strcmp(c->called, selector + 7);
	if (!strncmp(selector, "call=", 5))
		return c->serial == strtoul(selector + 5, NULL, 10);
	return false;
}

static const char *done_word(enum control_verb verb)
{
	switch (verb) {
	case CTL_PAUSE: return "paused";
	case CTL_RESUME: return "resumed";
	case CTL_MASK: return "masked";
	case CTL_UNMASK: return "unmasked";
	case CTL_DISCARD: return "discarded";
	case CTL_LOST: break;
	}
	return "lost";
}

/* Commands from the control thread, applied between blocks; each answered. */
static void inbox_poll(struct relay *r)
{
	struct inbox *in = r->inbox;
	struct control_cmd *cmd;
	uint64_t v;

	if (read(in->relay_efd, &v, sizeof(v)) < 0 && errno != EAGAIN)
		return;
	while ((cmd = spsc_peek(&in->commands))) {
		struct control_answer *a;
		int matched = 0;

		for (int i = 0; i < r->ncalls; i++) {
			struct call *c = &r->calls[i];

			if (c->used && c->state != CALL_CLEARING && selector_matches(c, cmd->selector)) {
				call_control(r, c, cmd->verb);
				matched++;
			}
		}
		a = cmd->id ? spsc_claim(&in->answers) : NULL;
		if (a) {
			a->id = cmd->id;
			if (matched)
				snprintf(a->text, sizeof(a->text), "ok %s %d call(s)", done_word(cmd->verb), matched);
			else
				snprintf(a->text, sizeof(a->text), "error no call up with %.64s", cmd->selector);
			spsc_push(&in->answers);
			v = 1;
			if (write(in->answer_efd, &v, sizeof(v)) < 0)
				log_warn("control: answer wake failed");
		}
		spsc_pop(&in->commands);
	}
}

static void wake_workers(struct relay *r)
{
	for (int i = 0; i < r->nworkers; i++)
		worker_wake(&r->workers[i]);
}

static void record_batch_time(struct relay *r, uint64_t t0)
{
	uint64_t dt = clock_now_ns() - t0;
	unsigned b = latency_bucket(dt);

	/* Only this thread writes: a relaxed load + store is an increment. */
	atomic_store_explicit(&r->stats->batch_hist[b],
			      atomic_load_explicit(&r->stats->batch_hist[b], memory_order_relaxed) + 1,
			      memory_order_relaxed);
	if (dt > atomic_load_explicit(&r->stats->batch_ns_max, memory_order_relaxed))
		atomic_store_explicit(&r->stats->batch_ns_max, dt, memory_order_relaxed);
	if (dt > 20000000u)
		atomic_fetch_add_explicit(&r->stats->late_batches, 1, memory_order_relaxed);
}

/* Shutdown: stop every recording cleanly, release every call on both sides. */
static void release_all(struct relay *r)
{
	for (int i = 0; i < r->ncalls; i++) {
		struct call *c = &r->calls[i];

		if (!c->used)
			continue;
		atomic_fetch_add(&r->stats->calls_at_shutdown, 1);
		call_log(LOG_LVL_INFO, c, "up at shutdown (state %d, A/%d %s, B/%d %s)",
			 c->state, c->ts[SIDE_A], c->leg[SIDE_A] ? "leg" : "-", c->ts[SIDE_B], c->leg[SIDE_B] ? "leg" : "-");
		call_policy_hangup(r, c, "shutdown");
		for (int s = 0; s < 2; s++)
			if (c->leg[s] && c->pair->link_up[s])
				pri_hangup(c->pair->dchan[s].pri, c->leg[s], PRI_CAUSE_NORMAL_CLEARING);
	}
}

void relay_set_loader(struct relay *r, relay_policy_loader loader, void *userdata)
{
	r->loader = loader;
	r->loader_userdata = userdata;
}

/* The loader thread: reading files and prompts never happens on the relay thread. */
static void *reload_main(void *arg)
{
	struct relay *r = arg;
	char err[512] = "";
	struct policy_set *s = r->loader(r->loader_userdata, err, sizeof(err));

	if (s)
		atomic_store(&r->incoming, s);
	else
		log_err("configuration reload refused: %s; the running configuration stays", err);
	atomic_store(&r->loading, false);
	return NULL;
}

void relay_request_reload(struct relay *r)
{
	pthread_t t;
	pthread_attr_t attr;

	if (!r->loader || atomic_exchange(&r->loading, true))
		return;		/* one reload at a time; a SIGHUP meanwhile is folded into it */
	pthread_attr_init(&attr);
	pthread_attr_setdetachstate(&attr, PTHREAD_CREATE_DETACHED);
	if (pthread_create(&t, &attr, reload_main, r) != 0) {
		log_err("configuration reload: cannot start the loader thread");
		atomic_store(&r->loading, false);
	}
	pthread_attr_destroy(&attr);
}

int relay_run(struct relay *r, volatile sig_atomic_t *stop, volatile sig_atomic_t *reload)
{
	struct epoll_event evs[MAX_EVENTS];
	uint64_t shutdown_at = 0;

	for (;;) {
		uint64_t now = clock_now_ms();
		int n, timeout;

		if (reload && *reload) {
			*reload = 0;
			relay_request_reload(r);
		}
		if (*stop && !shutdown_at) {
			release_all(r);
			shutdown_at = now + 300;	/* let DISCONNECTs go out */
		}
		if (shutdown_at && now >= shutdown_at)
			break;
		/* D-channel timers run in the chores too: owed chores bound the wait alone. */
		if (r->chores_owed)
			timeout = r->next_chores_ms > now ? (int)(r->next_chores_ms - now) : 0;
		else
			timeout = next_timeout(r, now);
		n = epoll_wait(r->epfd, evs, MAX_EVENTS, timeout);
		if (n < 0 && errno != EINTR)
			return -errno;
		uint64_t t0 = clock_now_ns();

		/* The live call first: every B-channel block crosses before anything else. */
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			struct relay_pair *p;

			if (tag == TAG_CONTROL)
				continue;
			p = &r->pairs[TAG_PAIR(tag)];
			if (TAG_TS(tag) && p->port[TAG_SIDE(tag)].up)
				bchannel_ready(r, p, TAG_SIDE(tag), TAG_TS(tag), evs[i].events);
		}
		if (n > 0)
			record_batch_time(r, t0);
		for (int i = 0; i < n; i++) {
			uint64_t tag = evs[i].data.u64;
			struct relay_pair *p;

			if (tag == TAG_CONTROL) {
				inbox_poll(r);
				continue;
			}
			p = &r->pairs[TAG_PAIR(tag)];
			if (!TAG_TS(tag) && p->port[TAG_SIDE(tag)].up)
				dchannel_ready(r, p, TAG_SIDE(tag), (evs[i].events & EPOLLIN) != 0, evs[i].events);
		}
		now = clock_now_ms();
		r->chores_owed = now < r->next_chores_ms;
		if (!r->chores_owed) {
			housekeeping(r, now);
			wake_workers(r);
			r->next_chores_ms = now + CHORES_MS;
		}
	}
	return 0;
}

void relay_free(struct relay *r)
{
	if (!r)
		return;
	for (int i = 0; i < r->npairs; i++) {
		port_close(&r->pairs[i].port[SIDE_A]);
		port_close(&r->pairs[i].port[SIDE_B]);
	}
	if (r->epfd >= 0)
		close(r->epfd);
	free(r->calls);
	call_policy_free_all(r);
	free(r);
}
