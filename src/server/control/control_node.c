/*
 * control_node: this vtokend as one node of a cluster (docs/CLUSTER.md).
 *
 * Lease: every heartbeat_s the node renews its row in the nodes table;
 * a node whose row is older than lease_s is lost, and any node's
 * heartbeat releases the claims a lost node held (audited as a detach
 * "node lost"), so its tokens can be attached elsewhere.  The same
 * heartbeat reports the byte counters of this node's sessions and reads
 * back the claims the store says it holds: a local session whose claim
 * is gone (this node lost its lease while it could not reach the
 * database) is cut, so two nodes never serve one token for long.  A node
 * that has not renewed its lease for longer than the lease cuts its
 * sessions itself (self-fencing): another node may have taken their
 * tokens over by then, and it cannot know.  It judges other nodes lost
 * only after renewing its own lease for a whole lease without a gap, so
 * that after a database outage the first node back does not take the
 * tokens of the others while they reconnect.  A node whose row was deleted
 * behind its back registers again.  One heartbeat is out at a time.
 *
 * Feed: every change commits with a row in the changes table; a node
 * applies the rows after the last one it saw (control_node_poll), on
 * every heartbeat and whenever the store tells it of new rows
 * (PostgreSQL's NOTIFY: store_pg_cluster.c sends it, store_pg_feed.c
 * hears it).  Change rows are numbered in commit
 * order because every changing transaction appends to the audit chain
 * first, which serialises them (store_audit_last).  When the rows a node
 * needs were pruned already, it reloads everything (a resync).  A "key"
 * row (an API key made or deleted) reloads all keys: there are few.
 */
#include <event2/event.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "common/monotime.h"
#include "common/strmap.h"
#include "common/xmalloc.h"
#include "server/control/control_impl.h"
#include "server/export/export.h"

#define NODE_FEED_BATCH		500

struct control_node {
	struct control *ctl;
	struct store_feed *feed;	/* PostgreSQL: the doorbell */
	struct event *ev_beat;
	unsigned heartbeat_s;
	int64_t last_seq;		/* the newest change applied */
	bool polling;			/* a poll job is out */
	bool repoll;			/* poll again when it is back */
	bool stopping;
	bool beating;			/* a heartbeat job is out */
	bool fenced;			/* sessions cut: the lease ran out */
	double last_ok;			/* monotime of the last renewal */
	double up_since;		/* renewing without a gap since */
	struct store_node row;		/* to register again */
	char *usbip, *api;		/* row's strings, owned */
};

/* ---- the feed ---- */

/* One object to refresh, and what the store says of it now. */
struct node_refresh {
	bool vm;			/* a VM, else a token */
	char key[ENCODE_ID_LEN + 1];
	bool present;
	struct store_token tok;
	struct store_assignment asg;
	bool assigned;
	struct store_vm vmrow;		/* the VM, or the token's VM */
	char *addresses;		/* vmrow.addresses, owned */
	bool vm_present;
};

struct node_poll {
	struct control *ctl;
	int64_t after;
	int64_t last;			/* newest seq seen */
	int64_t oldest;			/* oldest seq the table still has */
	bool full;			/* a batch filled up: more to come */
	bool keys;			/* reload the API keys */
	struct control_key_set newkeys;	/* what the store has now */
	size_t ndocs, capdocs;
	struct control_doc_refresh *docs;	/* "doc" rows */
	json_t *alldocs;		/* a resync: every document */
	size_t n, cap;
	struct node_refresh *r;
	struct strmap *seen;		/* kind:key already in r */
};

/* A "doc" row: the document to read again (once per poll). */
static int
node_poll_doc(struct node_poll *p, const char *feedkey)
{
	struct control_doc_refresh r;
	char k[STORE_DOC_KIND_MAX + STORE_DOC_KEY_MAX + 4];

	snprintf(k, sizeof(k), "d:%s", feedkey);
	if (strmap_get(p->seen, k) != NULL ||
	    control_doc_refresh_init(&r, feedkey) < 0)
		return 0;
	if (p->ndocs == p->capdocs) {
		p->capdocs = p->capdocs ? p->capdocs * 2 : 16;
		p->docs = xreallocarray(p->docs, p->capdocs,
		    sizeof(*p->docs));
	}
	p->docs[p->ndocs++] = r;
	(void)strmap_put(p->seen, k, p);
	return 0;
}

static int
node_poll_change(void *arg, const struct store_change *c)
{
	struct node_poll *p = arg;
	char k[ENCODE_ID_LEN + 8];
	bool vm = strcmp(c->kind, "vm") == 0;

	p->last = c->seq;
	if (strcmp(c->kind, "key") == 0) {
		p->keys = true;
		return 0;
	}
	if (strcmp(c->kind, "doc") == 0)
		return node_poll_doc(p, c->key);
	snprintf(k, sizeof(k), "%c:%s", vm ? 'v' : 't', c->key);
	if (strmap_get(p->seen, k) != NULL)
		return 0;
	if (p->n == p->cap) {
		p->cap = p->cap ? p->cap * 2 : 32;
		p->r = xreallocarray(p->r, p->cap, sizeof(*p->r));
	}
	memset(&p->r[p->n], 0, sizeof(p->r[p->n]));
	p->r[p->n].vm = vm;
	snprintf(p->r[p->n].key, sizeof(p->r[p->n].key), "%s", c->key);
	(void)strmap_put(p->seen, k, p);
	p->n++;
	return 0;
}

static int
node_got_token(void *arg, const struct store_token *t)
{
	struct node_refresh *r = arg;

	r->present = true;
	r->tok = *t;
	return 0;
}

static int
node_got_assignment(void *arg, const struct store_assignment *a)
{
	struct node_refresh *r = arg;

	r->assigned = true;
	r->asg = *a;
	return 0;
}

static int
node_got_vm(void *arg, const struct store_vm *v)
{
	struct node_refresh *r = arg;

	r->vm_present = true;
	r->vmrow = *v;
	r->addresses = xstrdup(v->addresses);
	r->vmrow.addresses = r->addresses;
	return 0;
}

/* Store thread: what each changed object is now. */
static int
node_refresh_run(struct store *st, struct node_refresh *r)
{
	int x;

	if (r->vm)
		return store_vm_get(st, r->key, node_got_vm, r);
	if ((x = store_token_get(st, r->key, node_got_token, r)) != 0 ||
	    (x = store_assignment_get(st, r->key, node_got_assignment,
	    r)) != 0)
		return x;
	if (r->assigned)
		return store_vm_get(st, r->asg.vm_id, node_got_vm, r);
	return 0;
}

static int
node_oldest(void *arg, const struct store_change *c)
{
	*(int64_t *)arg = c->seq;
	return 1;	/* the first is enough */
}

static int
node_poll_run(struct store *st, void *arg)
{
	struct node_poll *p = arg;
	int r;

	p->last = p->after;
	r = store_change_foreach(st, 0, 1, node_oldest, &p->oldest);
	if (r < 0)
		return r;
	r = store_change_foreach(st, p->after, NODE_FEED_BATCH,
	    node_poll_change, p);
	if (r < 0)
		return r;
	p->full = p->last - p->after >= NODE_FEED_BATCH;
	for (size_t i = 0; i < p->n; i++)
		if ((r = node_refresh_run(st, &p->r[i])) < 0)
			return r;
	for (size_t i = 0; i < p->ndocs; i++)
		if ((r = control_doc_refresh_run(st, &p->docs[i])) < 0)
			return r;
	if (p->keys) {
		control_key_clear(&p->newkeys);	/* a retried job */
		return control_key_reload_run(st, &p->newkeys);
	}
	return 0;
}

static void
node_apply(struct control *ctl, const struct node_refresh *r)
{
	if (r->vm) {
		if (r->vm_present)
			control_apply_vm(ctl, &r->vmrow);
		else
			control_apply_vm_gone(ctl, r->key);
		return;
	}
	if (!r->present) {
		control_apply_token_gone(ctl, r->key);
		return;
	}
	if (r->assigned && r->vm_present)
		control_apply_vm(ctl, &r->vmrow);
	control_apply_token(ctl, &r->tok);
	control_apply_assignment(ctl, r->key, r->assigned ? r->asg.vm_id :
	    NULL, r->assigned ? r->asg.created : NULL);
}

static void node_resync(struct control *ctl);

static void
node_poll_free(struct node_poll *p)
{
	for (size_t i = 0; i < p->n; i++)
		free(p->r[i].addresses);
	free(p->r);
	for (size_t i = 0; i < p->ndocs; i++)
		json_decref(p->docs[i].doc);
	free(p->docs);
	json_decref(p->alldocs);
	strmap_free(p->seen);
	control_key_clear(&p->newkeys);
	free(p);
}

static void
node_poll_done(void *arg, int result, const char *err)
{
	struct node_poll *p = arg;
	struct control *ctl = p->ctl;
	struct control_node *nd = ctl->node;
	struct vt_error e;

	if (nd == NULL) {		/* shutting down */
		node_poll_free(p);
		return;
	}
	nd->polling = false;
	if (control_op_result(ctl, result, err, "reading the change feed",
	    &e) < 0) {
		node_poll_free(p);
		return;		/* the next heartbeat tries again */
	}
	if (p->after > 0 && p->oldest > p->after + 1) {
		log_warnx("change feed: rows after %lld were pruned; "
		    "reloading the state", (long long)p->after);
		node_poll_free(p);
		node_resync(ctl);
		return;
	}
	for (size_t i = 0; i < p->n; i++)
		node_apply(ctl, &p->r[i]);
	for (size_t i = 0; i < p->ndocs; i++)
		control_doc_refresh_apply(ctl, &p->docs[i]);
	if (p->keys)
		control_key_reload_apply(ctl, &p->newkeys);
	ctl->stats.changes_applied += p->n;
	nd->last_seq = p->last;
	if (p->full || nd->repoll) {
		nd->repoll = false;
		control_node_poll(ctl);
	}
	node_poll_free(p);
}

void
control_node_poll(struct control *ctl)
{
	struct control_node *nd = ctl->node;
	struct node_poll *p;

	if (nd == NULL || nd->stopping)
		return;
	if (nd->polling) {
		nd->repoll = true;
		return;
	}
	p = xcalloc(1, sizeof(*p));
	p->ctl = ctl;
	p->after = nd->last_seq;
	p->seen = strmap_new(NODE_FEED_BATCH * 2, NULL);
	nd->polling = true;
	control_post(ctl, node_poll_run, node_poll_done, p);
}

/* ---- resync: everything, when the feed cannot say what changed ---- */

struct node_resync {
	struct control *ctl;
	int64_t last;
	struct node_poll all;		/* every token and VM as refreshes */
};

static int
node_resync_token(void *arg, const struct store_token *t)
{
	struct store_change c = { 0, "token", t->id, "" };

	return node_poll_change(arg, &c);
}

static int
node_resync_vm(void *arg, const struct store_vm *v)
{
	struct store_change c = { 0, "vm", v->id, "" };

	return node_poll_change(arg, &c);
}

static int
node_resync_run(struct store *st, void *arg)
{
	struct node_resync *x = arg;
	int r;

	control_key_clear(&x->all.newkeys);
	if ((r = store_change_last(st, &x->last)) < 0 ||
	    (r = store_vm_foreach(st, node_resync_vm, &x->all)) < 0 ||
	    (r = store_token_foreach(st, node_resync_token, &x->all)) < 0 ||
	    (r = control_key_reload_run(st, &x->all.newkeys)) < 0)
		return r;
	json_decref(x->all.alldocs);
	x->all.alldocs = NULL;
	if ((r = control_doc_load_run(st, &x->all.alldocs)) < 0)
		return r;
	for (size_t i = 0; i < x->all.n; i++)
		if ((r = node_refresh_run(st, &x->all.r[i])) < 0)
			return r;
	return 0;
}

struct node_sweep {
	struct strmap *keep;
	struct control_token **tok;
	size_t n, cap;
};

static void
node_sweep_token(void *arg, struct control_token *t)
{
	struct node_sweep *s = arg;
	char k[ENCODE_ID_LEN + 8];

	snprintf(k, sizeof(k), "t:%s", t->id);
	if (strmap_get(s->keep, k) != NULL)
		return;
	if (s->n == s->cap) {
		s->cap = s->cap ? s->cap * 2 : 16;
		s->tok = xreallocarray(s->tok, s->cap, sizeof(*s->tok));
	}
	s->tok[s->n++] = t;
}

static void
node_resync_done(void *arg, int result, const char *err)
{
	struct node_resync *x = arg;
	struct control *ctl = x->ctl;
	struct node_sweep s = { x->all.seen, NULL, 0, 0 };
	struct control_vm *vms[256];
	char k[ENCODE_ID_LEN + 8];
	struct vt_error e;
	bool more = true;
	const char *after = NULL;
	char last_vm[STORE_NAME_MAX + 1];

	if (ctl->node != NULL && control_op_result(ctl, result, err,
	    "reloading the state", &e) == 0) {
		for (size_t i = 0; i < x->all.n; i++)
			node_apply(ctl, &x->all.r[i]);
		control_key_reload_apply(ctl, &x->all.newkeys);
		control_doc_load_apply(ctl, x->all.alldocs);
		x->all.alldocs = NULL;
		/* What the store no longer has goes. */
		control_index_tokens_foreach(ctl->ix, node_sweep_token, &s);
		for (size_t i = 0; i < s.n; i++)
			control_apply_token_gone(ctl, s.tok[i]->id);
		while (more) {
			size_t n = control_index_vms_page(ctl->ix, after, vms,
			    256, &more);

			for (size_t i = 0; i < n; i++) {
				snprintf(k, sizeof(k), "v:%s", vms[i]->id);
				snprintf(last_vm, sizeof(last_vm), "%s",
				    vms[i]->name);
				if (strmap_get(x->all.seen, k) == NULL)
					control_apply_vm_gone(ctl, vms[i]->id);
			}
			after = last_vm;
			if (n == 0)
				break;
		}
		ctl->node->last_seq = x->last;
		log_info("change feed: state reloaded (%zu objects)",
		    x->all.n);
	}
	free(s.tok);
	for (size_t i = 0; i < x->all.n; i++)
		free(x->all.r[i].addresses);
	free(x->all.r);
	strmap_free(x->all.seen);
	control_key_clear(&x->all.newkeys);
	json_decref(x->all.alldocs);
	free(x);
}

static void
node_resync(struct control *ctl)
{
	struct node_resync *x = xcalloc(1, sizeof(*x));

	x->ctl = ctl;
	x->all.ctl = ctl;
	x->all.seen = strmap_new((size_t)CONTROL_MAX_TOKENS * 3, NULL);
	control_post(ctl, node_resync_run, node_resync_done, x);
}

/* ---- heartbeat, lease, fencing ---- */

struct node_beat {
	struct control *ctl;
	struct store *st;		/* store thread only */
	const char *node;
	unsigned lease_s;
	size_t n;			/* live sessions whose counters moved */
	struct store_session *mine;	/* their counters, to report */
	uint32_t *gens;			/* their attach_gen */
	size_t nlive;			/* this node's live sessions */
	char (*live)[ENCODE_ID_LEN + 1];	/* their tokens */
	struct strmap *held;		/* claims the store says we hold */
	size_t nlost;			/* claims of lost nodes released */
	struct store_node row;		/* this node, should it be gone */
	bool reregistered;
	bool may_expire;		/* renewing for a lease: judge others */
};

/* Store thread: a lost node's claim is released; on the record. */
static int
node_beat_lost(void *arg, const struct store_session *s)
{
	struct node_beat *b = arg;
	char subject[64];
	json_t *detail = json_pack("{s:s, s:s, s:s}", "reason", "node lost",
	    "node", s->node, "peer", s->peer);
	int r;

	snprintf(subject, sizeof(subject), "token:%s", s->token_id);
	r = control_tx_audit_run(b->st, b->node, "system", "detach", subject,
	    detail);
	json_decref(detail);
	b->nlost++;
	return r;
}

static int
node_beat_held(void *arg, const struct store_session *s)
{
	struct node_beat *b = arg;

	if (strcmp(s->node, b->node) == 0)
		(void)strmap_put(b->held, s->token_id, b);
	return 0;
}

static int
node_beat_body(struct store *st, void *arg)
{
	struct node_beat *b = arg;
	int r = store_node_heartbeat(st, b->node);

	b->reregistered = false;
	if (r == STORE_NOTFOUND) {	/* the row was deleted: come back */
		r = store_node_upsert(st, &b->row);
		b->reregistered = r == 0;
	}
	for (size_t i = 0; r == 0 && i < b->n; i++)
		r = store_session_report(st, &b->mine[i]);
	if (r == 0 && b->may_expire)
		r = store_node_expire(st, b->lease_s, node_beat_lost, b);
	return r;
}

/* Store thread: renew, report, release the lost, read back our claims. */
static int
node_beat_run(struct store *st, void *arg)
{
	struct node_beat *b = arg;
	int r;

	b->st = st;
	if ((r = control_tx_run(st, node_beat_body, b)) != 0)
		return r;
	return store_session_foreach(st, b->node, NULL, 0, node_beat_held, b);
}

static void
node_beat_free(struct node_beat *b)
{
	free(b->mine);
	free(b->gens);
	free(b->live);
	strmap_free(b->held);
	free(b);
}

static void
node_beat_done(void *arg, int result, const char *err)
{
	struct node_beat *b = arg;
	struct control *ctl = b->ctl;
	struct control_token *tok;
	struct vt_error e;

	if (ctl->node != NULL)
		ctl->node->beating = false;
	if (control_op_result(ctl, result, err, "node heartbeat", &e) < 0 ||
	    ctl->node == NULL) {
		node_beat_free(b);
		return;
	}
	if (monotime_sec() - ctl->node->last_ok > 2.0 *
	    (double)ctl->node->heartbeat_s)
		ctl->node->up_since = monotime_sec();	/* after a gap */
	ctl->node->last_ok = monotime_sec();
	if (ctl->node->fenced)
		log_info("node %s: the lease is renewed; imports work again",
		    ctl->node_name);
	ctl->node->fenced = false;
	if (b->reregistered)
		log_warnx("node %s: its row was gone from the store; "
		    "registered again", ctl->node_name);
	if (b->nlost > 0)
		log_warnx("released %zu claim(s) of lost node(s)", b->nlost);
	control_release_retry(ctl);
	/* The store has these counters now, for the session they were of. */
	for (size_t i = 0; i < b->n; i++)
		if ((tok = control_token_by_id(ctl, b->mine[i].token_id)) !=
		    NULL &&
		    tok->attach_gen == b->gens[i]) {
			tok->beat_gen = b->gens[i];
			tok->beat_in = b->mine[i].bytes_in;
			tok->beat_out = b->mine[i].bytes_out;
		}
	/* A session whose claim went to another node is not ours any more. */
	for (size_t i = 0; i < b->nlive; i++)
		if (strmap_get(b->held, b->live[i]) == NULL &&
		    (tok = control_token_by_id(ctl, b->live[i])) != NULL) {
			log_warnx("token %s: this node's claim was taken over "
			    "(its lease ran out); ending the session",
			    tok->id);
			control_kick(ctl, tok, "claim lost");
		}
	node_beat_free(b);
	control_node_poll(ctl);
}

struct node_collect {
	struct node_beat *b;
	size_t cap, cap_live;
};

/*
 * Every live session is checked against the claims read back; only those
 * whose counters moved since the store last took them are written: a
 * fleet of idle sessions costs a heartbeat no row updates.
 */
static void
node_collect(void *arg, struct control_token *tok)
{
	struct node_collect *c = arg;
	struct node_beat *b = c->b;
	const struct export_session *s;

	if (tok->dev == NULL || (s = tok->dev->session) == NULL)
		return;
	if (b->nlive == c->cap_live) {
		c->cap_live = c->cap_live ? c->cap_live * 2 : 16;
		b->live = xreallocarray(b->live, c->cap_live,
		    sizeof(*b->live));
	}
	memcpy(b->live[b->nlive++], tok->id, sizeof(*b->live));
	if (tok->beat_gen == tok->attach_gen && tok->beat_in == s->bytes_in &&
	    tok->beat_out == s->bytes_out)
		return;
	if (b->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		b->mine = xreallocarray(b->mine, c->cap, sizeof(*b->mine));
		b->gens = xreallocarray(b->gens, c->cap, sizeof(*b->gens));
	}
	memset(&b->mine[b->n], 0, sizeof(b->mine[b->n]));
	memcpy(b->mine[b->n].token_id, tok->id, sizeof(tok->id));
	b->mine[b->n].node = b->node;
	b->mine[b->n].bytes_in = s->bytes_in;
	b->mine[b->n].bytes_out = s->bytes_out;
	b->gens[b->n] = tok->attach_gen;
	b->n++;
}

static void
node_fence_one(void *arg, struct control_token *tok)
{
	struct control *ctl = arg;

	if (tok->dev != NULL && tok->dev->session != NULL)
		control_kick(ctl, tok, "this node lost the store for longer "
		    "than its lease");
}

/* The lease ran out without a renewal: end every session here. */
static void
node_fence(struct control *ctl)
{
	struct control_node *nd = ctl->node;

	if (nd->fenced || monotime_sec() - nd->last_ok <= (double)ctl->lease_s)
		return;
	nd->fenced = true;
	log_warnx("node %s: no lease renewal for %u s; ending this node's "
	    "sessions (another node may take their tokens over)",
	    ctl->node_name, ctl->lease_s);
	control_index_tokens_foreach(ctl->ix, node_fence_one, ctl);
}

static void
node_beatcb(evutil_socket_t fd, short what, void *arg)
{
	struct control *ctl = arg;
	struct node_beat *b;
	struct node_collect c;

	(void)fd;
	(void)what;
	node_fence(ctl);
	control_churn_flush(ctl, time(NULL));
	if (ctl->node->beating)
		return;		/* the store is slow: one at a time */
	ctl->node->beating = true;
	b = xcalloc(1, sizeof(*b));
	c.b = b;
	c.cap = c.cap_live = 0;
	b->row = ctl->node->row;
	/*
	 * Another node's stale heartbeat means it is dead only if this one
	 * has been renewing for a whole lease: after an outage of the
	 * database every node is stale, and the first back must not take
	 * the others' tokens while they reconnect.
	 */
	b->may_expire = monotime_sec() - ctl->node->up_since >=
	    (double)ctl->lease_s;
	b->ctl = ctl;
	b->node = ctl->node_name;
	b->lease_s = ctl->lease_s;
	b->held = strmap_new((size_t)CONTROL_MAX_TOKENS, NULL);
	control_index_tokens_foreach(ctl->ix, node_collect, &c);
	control_post(ctl, node_beat_run, node_beat_done, b);
}

/* Another node changed something (or the feed is back): catch up. */
static void
node_feedcb(void *arg)
{
	control_node_poll(arg);
	control_audit_ring(arg);	/* another node's records, maybe */
}

int
control_node_start(struct control *ctl, struct store *st,
    const struct control_params *p)
{
	struct control_node *nd = xcalloc(1, sizeof(*nd));
	struct timeval tv = { (time_t)p->heartbeat_s, 0 };
	struct store_node row;
	int r;

	nd->ctl = ctl;
	nd->heartbeat_s = p->heartbeat_s;
	nd->last_ok = nd->up_since = monotime_sec();
	ctl->node = nd;
	memset(&row, 0, sizeof(row));
	row.name = ctl->node_name;
	row.usbip = nd->usbip = xstrdup(p->usbip_addr);
	row.api = nd->api = xstrdup(p->api_addr);
	row.version = VTOKEN_VERSION;
	encode_time(time(NULL), row.started);
	nd->row = row;
	/* This node's claims from an earlier run are gone with it. */
	r = store_begin(st);
	if (r == 0)
		r = store_node_upsert(st, &row);
	if (r == 0)
		r = store_session_clear(st, p->node);
	if (r == 0)
		r = store_commit(st);
	if (r == 0)
		r = store_change_last(st, &nd->last_seq);
	if (r != 0) {
		store_rollback(st);
		log_error("registering node %s: %s", p->node, store_error(st));
		return -1;
	}
	nd->feed = store_feed_open(ctl->base, p->backend, p->dsn, p->password,
	    node_feedcb, ctl);
	nd->ev_beat = event_new(ctl->base, -1, EV_PERSIST, node_beatcb, ctl);
	if (nd->ev_beat == NULL || event_add(nd->ev_beat, &tv) < 0) {
		log_error("cannot start the node heartbeat");
		return -1;
	}
	return 0;
}

static int
node_leave_run(struct store *st, void *arg)
{
	int r = store_begin(st);

	if (r == 0)
		r = store_session_clear(st, arg);
	if (r == 0)
		r = store_commit(st);
	return r;
}

void
control_node_stop(struct control *ctl)
{
	struct control_node *nd = ctl->node;

	if (nd == NULL)
		return;
	nd->stopping = true;
	store_feed_free(nd->feed);
	if (nd->ev_beat != NULL)
		event_free(nd->ev_beat);
	/* Nothing of ours is attached any more: let others take it now. */
	if (ctl->worker != NULL)
		control_post(ctl, node_leave_run, NULL, ctl->node_name);
	free(nd->usbip);
	free(nd->api);
	free(nd);
	ctl->node = NULL;
}
