/*
 * control_alive: agents' latest successes as shared state, so that a
 * quiet agent needs no audit record to be known alive (docs/API.md,
 * "Agent authentication").
 *
 * Every success through this node notes the token (at most once per
 * half agent.record_every: a quiet fleet of 10,000 at the defaults
 * writes 133 rows a second, not 333); every heartbeat
 * (node.heartbeat, 2 s by default) the noted ones are written to the
 * store in one transaction, as documents of kind "alive" (key: the token id;
 * body: {"at", "peer", "node"}), with no audit record and no feed row:
 * nobody needs to be told at once.  The alarm engine reads them before it
 * calls a token's agent silent (control_alive_check), which is what lets
 * a node judge an agent that talks to another node.  A flush that fails
 * keeps its tokens for the next one.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"
#include "common/log.h"
#include "common/strmap.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"

#define ALIVE_KIND	CONTROL_DOC_ALIVE

struct alive_entry {
	char id[ENCODE_ID_LEN + 1];
	time_t at;
	char peer[48];
};

struct control_alive {
	struct control *ctl;
	struct event *ev;
	struct strmap *pending;		/* token id -> alive_entry */
	bool flushing;			/* a flush job is out */
};

/* A flush on the store thread: the entries it took. */
struct alive_flush {
	struct control *ctl;
	const char *node;
	size_t n;
	struct alive_entry *e;
};

static int
alive_flush_body(struct store *st, void *arg)
{
	struct alive_flush *f = arg;
	char when[ENCODE_TIME_LEN + 1], *body;
	int r = 0;

	for (size_t i = 0; r == 0 && i < f->n; i++) {
		json_t *j;

		encode_time(f->e[i].at, when);
		j = json_pack("{s:s, s:s, s:s}", "at", when, "peer",
		    f->e[i].peer, "node", f->node);
		body = json_dumps(j, JSON_COMPACT);
		json_decref(j);
		r = body == NULL ? STORE_ERR : store_doc_put(st, ALIVE_KIND,
		    f->e[i].id, body, strlen(body));
		free(body);
	}
	return r;
}

static void alive_note_entry(struct control_alive *al,
    const struct alive_entry *e);

static void
alive_flush_done(void *arg, int result, const char *err)
{
	struct alive_flush *f = arg;
	struct control_alive *al = f->ctl->alive;
	struct vt_error e;

	if (control_op_result(f->ctl, result, err, "keeping agents' "
	    "successes", &e) < 0 && al != NULL)
		for (size_t i = 0; i < f->n; i++)	/* the next flush */
			alive_note_entry(al, &f->e[i]);
	if (al != NULL)
		al->flushing = false;
	free(f->e);
	free(f);
}

static bool
alive_take(void *v, void *arg)
{
	struct alive_flush *f = arg;

	f->e[f->n++] = *(struct alive_entry *)v;
	return true;		/* out of the map: the flush has it */
}

void
control_alive_flush(struct control *ctl)
{
	struct control_alive *al = ctl->alive;
	struct alive_flush *f;
	size_t n;

	if (al == NULL || al->flushing ||
	    (n = strmap_count(al->pending)) == 0)
		return;
	f = xcalloc(1, sizeof(*f));
	f->ctl = ctl;
	f->node = ctl->node_name;
	f->e = xreallocarray(NULL, n, sizeof(*f->e));
	strmap_prune(al->pending, alive_take, f);
	al->flushing = true;
	control_post_tx(ctl, alive_flush_body, alive_flush_done, f);
}

static void
alive_tick(evutil_socket_t fd, short what, void *arg)
{
	(void)fd;
	(void)what;
	control_alive_flush(arg);
}

static void
alive_note_entry(struct control_alive *al, const struct alive_entry *e)
{
	struct alive_entry *have = strmap_get(al->pending, e->id);

	if (have != NULL) {
		if (e->at >= have->at)
			*have = *e;
		return;
	}
	have = xmalloc(sizeof(*have));
	*have = *e;
	if (strmap_put(al->pending, have->id, have) < 0)
		free(have);	/* full: the next success notes it again */
}

void
control_alive_note(struct control *ctl, struct control_token *tok,
    const char *peer, time_t at)
{
	struct alive_entry e;

	if (ctl->alive == NULL || (tok->alive_noted_at != 0 &&
	    at >= tok->alive_noted_at && at - tok->alive_noted_at <
	    (time_t)ctl->auth_record_every / 2))
		return;
	tok->alive_noted_at = at;
	memset(&e, 0, sizeof(e));
	snprintf(e.id, sizeof(e.id), "%s", tok->id);
	snprintf(e.peer, sizeof(e.peer), "%s", peer);
	e.at = at;
	alive_note_entry(ctl->alive, &e);
}

int
control_alive_start(struct control *ctl, unsigned period_s)
{
	struct control_alive *al = xcalloc(1, sizeof(*al));
	struct timeval tv = { period_s > 0 ? (time_t)period_s : 2, 0 };

	al->ctl = ctl;
	al->pending = strmap_new(CONTROL_MAX_TOKENS, free);
	al->ev = event_new(ctl->base, -1, EV_PERSIST, alive_tick, ctl);
	if (al->ev == NULL || event_add(al->ev, &tv) < 0) {
		if (al->ev != NULL)
			event_free(al->ev);
		strmap_free(al->pending);
		free(al);
		return -1;
	}
	ctl->alive = al;
	return 0;
}

void
control_alive_stop(struct control *ctl)
{
	struct control_alive *al = ctl->alive;

	if (al == NULL)
		return;
	event_free(al->ev);
	al->flushing = false;
	control_alive_flush(ctl);	/* the store thread still runs it */
	strmap_free(al->pending);
	free(al);
	ctl->alive = NULL;
}

/* ---- reading them back (the alarm engine) ---- */

struct alive_check {
	struct control *ctl;
	size_t n;
	char (*ids)[ENCODE_ID_LEN + 1];
	time_t *at;			/* 0: none stored */
	size_t cur;
	control_alive_fn *done;
	void *arg;
};

static int
alive_got(void *arg, const struct store_doc *d)
{
	struct alive_check *c = arg;
	json_t *j = json_loadb((const char *)d->body, d->len, 0, NULL);
	time_t t;

	if (encode_time_parse(json_string_value(json_object_get(j, "at")),
	    &t) == 0)
		c->at[c->cur] = t;
	json_decref(j);
	return 0;
}

static int
alive_check_run(struct store *st, void *arg)
{
	struct alive_check *c = arg;
	int r = 0;

	for (c->cur = 0; r >= 0 && c->cur < c->n; c->cur++) {
		c->at[c->cur] = 0;
		r = store_doc_get(st, ALIVE_KIND, c->ids[c->cur], alive_got, c);
	}
	return r < 0 ? r : 0;
}

static void
alive_check_done(void *arg, int result, const char *err)
{
	struct alive_check *c = arg;
	struct vt_error e;
	bool ok = control_op_result(c->ctl, result, err, "reading agents' "
	    "successes", &e) == 0;

	c->done(c->arg, ok, (const char (*)[ENCODE_ID_LEN + 1])c->ids,
	    c->at, c->n);
	free(c->ids);
	free(c->at);
	free(c);
}

void
control_alive_check(struct control *ctl, const char (*ids)[ENCODE_ID_LEN + 1],
    size_t n, control_alive_fn *done, void *arg)
{
	struct alive_check *c = xcalloc(1, sizeof(*c));

	c->ctl = ctl;
	c->n = n;
	c->ids = xreallocarray(NULL, n ? n : 1, sizeof(*c->ids));
	memcpy(c->ids, ids, n * sizeof(*c->ids));
	c->at = xcalloc(n ? n : 1, sizeof(*c->at));
	c->done = done;
	c->arg = arg;
	control_post(ctl, alive_check_run, alive_check_done, c);
}
