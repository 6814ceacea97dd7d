/*
 * store_pg_cluster: the PostgreSQL backend's claims, nodes, change feed,
 * audit log and API keys (see store.h).  Lease times are the database
 * server's clock (now()), so the nodes' clocks need not agree.  Every
 * change row is announced with NOTIFY, which PostgreSQL delivers at
 * commit (store_pg_feed.c listens).  Audit appends take the one row of
 * audit_head FOR UPDATE: appends from all nodes queue there, so the
 * chain stays one sequence and so do the change rows written after it.
 */
#include <stdio.h>
#include <string.h>

#include "server/store/store_pg_impl.h"

#define PG_CHANGES_KEEP	"2 days"

int
pg_session_claim(struct store *st, const struct store_session *s,
    unsigned lease_s)
{
	PGresult *res;
	int r;

	/* A claim of a node whose lease ran out is no claim. */
	r = pg_write(st, false, "DELETE FROM sessions WHERE token_id = $1 AND"
	    " node NOT IN (SELECT name FROM nodes WHERE heartbeat >="
	    " now() - make_interval(secs => $2))", "si", s->token_id,
	    (int64_t)lease_s);
	if (r != 0)
		return r;
	res = pg_query(st, &r, "SELECT 1 FROM assignments WHERE token_id = $1"
	    " AND vm_id = $2 FOR SHARE", "ss", s->token_id, s->vm_id);
	if (res == NULL)
		return r;
	r = PQntuples(res) == 0 ? STORE_NOTFOUND : 0;
	PQclear(res);
	if (r != 0) {
		snprintf(st->err, sizeof(st->err), "token %s is no longer "
		    "assigned to VM %s", s->token_id, s->vm_id);
		return r;
	}
	return pg_write(st, false, "INSERT INTO sessions(token_id, vm_id,"
	    " node, peer, since) VALUES($1, $2, $3, $4, $5)", "sssss",
	    s->token_id, s->vm_id, s->node, s->peer, s->since);
}

int
pg_session_release(struct store *st, const char *token_id, const char *node)
{
	return pg_write(st, true, "DELETE FROM sessions WHERE token_id = $1"
	    " AND node = $2", "ss", token_id, node);
}

int
pg_session_clear(struct store *st, const char *node)
{
	return pg_write(st, false, "DELETE FROM sessions WHERE node = $1", "s",
	    node);
}

int
pg_session_report(struct store *st, const struct store_session *s)
{
	return pg_write(st, false, "UPDATE sessions SET bytes_in = $1,"
	    " bytes_out = $2 WHERE token_id = $3 AND node = $4", "iiss",
	    (int64_t)s->bytes_in, (int64_t)s->bytes_out, s->token_id,
	    s->node);
}

int
pg_session_check(struct store *st, const char *token_id, const char *node)
{
	PGresult *res;
	int r;

	res = pg_query(st, &r, "SELECT 1 FROM sessions WHERE token_id = $1"
	    " AND node = $2 FOR SHARE", "ss", token_id, node);
	if (res == NULL)
		return r;
	r = PQntuples(res) == 0 ? STORE_NOTFOUND : 0;
	PQclear(res);
	if (r != 0)
		snprintf(st->err, sizeof(st->err), "this node no longer holds "
		    "token %s", token_id);
	return r;
}

static int
pg_session_row(PGresult *res, int i, void *cb, void *arg)
{
	struct store_session x;

	memset(&x, 0, sizeof(x));
	pg_text(res, i, 0, x.token_id, sizeof(x.token_id));
	pg_text(res, i, 1, x.vm_id, sizeof(x.vm_id));
	x.node = pg_ctext(res, i, 2);
	x.peer = pg_ctext(res, i, 3);
	pg_text(res, i, 4, x.since, sizeof(x.since));
	x.bytes_in = (uint64_t)pg_int(res, i, 5);
	x.bytes_out = (uint64_t)pg_int(res, i, 6);
	return ((store_session_cb *)cb)(arg, &x);
}

#define PG_SESSION_COLS "SELECT token_id, vm_id, node, peer, since," \
	" bytes_in, bytes_out FROM sessions"

int
pg_session_foreach(struct store *st, const char *node, const char *after,
    unsigned limit, store_session_cb *cb, void *arg)
{
	PGresult *res;
	int r;

	res = pg_query(st, &r, PG_SESSION_COLS " WHERE ($1::text IS NULL OR"
	    " node = $1) AND token_id > $2 ORDER BY token_id LIMIT $3", "ssi",
	    node, after, limit > 0 ? (int64_t)limit : INT64_MAX);
	return res == NULL ? r : pg_rows(res, pg_session_row, (void *)cb, arg);
}

int
pg_node_upsert(struct store *st, const struct store_node *n)
{
	return pg_write(st, false, "INSERT INTO nodes(name, usbip, api,"
	    " version, started, heartbeat, state)"
	    " VALUES($1, $2, $3, $4, $5, now(), 'up')"
	    " ON CONFLICT(name) DO UPDATE SET usbip = excluded.usbip,"
	    " api = excluded.api, version = excluded.version,"
	    " started = excluded.started, heartbeat = now(), state = 'up'",
	    "sssss", n->name, n->usbip, n->api, n->version, n->started);
}

int
pg_node_heartbeat(struct store *st, const char *name)
{
	return pg_write(st, true, "UPDATE nodes SET heartbeat = now(),"
	    " state = 'up' WHERE name = $1", "s", name);
}

static int
pg_node_row(PGresult *res, int i, void *cb, void *arg)
{
	struct store_node n;

	memset(&n, 0, sizeof(n));
	n.name = pg_ctext(res, i, 0);
	n.usbip = pg_ctext(res, i, 1);
	n.api = pg_ctext(res, i, 2);
	n.version = pg_ctext(res, i, 3);
	pg_text(res, i, 4, n.started, sizeof(n.started));
	pg_text(res, i, 5, n.heartbeat, sizeof(n.heartbeat));
	n.age = pg_int(res, i, 6);
	n.sessions = (unsigned)pg_int(res, i, 7);
	return ((store_node_cb *)cb)(arg, &n);
}

int
pg_node_foreach(struct store *st, store_node_cb *cb, void *arg)
{
	PGresult *res;
	int r;

	res = pg_query(st, &r, "SELECT name, usbip, api, version, started,"
	    " to_char(heartbeat AT TIME ZONE 'UTC',"
	    " 'YYYY-MM-DD\"T\"HH24:MI:SS\"Z\"'),"
	    " floor(extract(epoch FROM now() - heartbeat))::bigint,"
	    " (SELECT count(*) FROM sessions WHERE sessions.node = nodes.name)"
	    " FROM nodes ORDER BY name", "");
	return res == NULL ? r : pg_rows(res, pg_node_row, (void *)cb, arg);
}

int
pg_node_expire(struct store *st, unsigned lease_s, store_session_cb *cb,
    void *arg)
{
	PGresult *res;
	int r;

	/* Several nodes may sweep at once: the row locks pick one. */
	res = pg_query(st, &r, "DELETE FROM sessions WHERE node NOT IN"
	    " (SELECT name FROM nodes WHERE heartbeat >="
	    " now() - make_interval(secs => $1))"
	    " RETURNING token_id, vm_id, node, peer, since, bytes_in,"
	    " bytes_out", "i", (int64_t)lease_s);
	if (res == NULL)
		return r;
	if ((r = pg_rows(res, pg_session_row, (void *)cb, arg)) != 0)
		return r;
	return pg_write(st, false, "UPDATE nodes SET state = 'lost'"
	    " WHERE heartbeat < now() - make_interval(secs => $1)"
	    " AND state = 'up'", "i", (int64_t)lease_s);
}

int
pg_change_insert(struct store *st, const char *kind, const char *key,
    const char *node)
{
	PGresult *res;
	int64_t seq;
	int r;

	res = pg_query(st, &r, "INSERT INTO changes(kind, key, node)"
	    " VALUES($1, $2, $3) RETURNING seq", "sss", kind, key, node);
	if (res == NULL)
		return r;
	seq = pg_int(res, 0, 0);
	PQclear(res);
	/* Delivered to every listening node when this commits. */
	r = pg_write(st, false, "SELECT pg_notify('" PG_FEED_CHANNEL "', $1)",
	    "i", seq);
	if (r == 0 && seq % 1000 == 0)
		r = pg_write(st, false, "DELETE FROM changes WHERE time <"
		    " now() - interval '" PG_CHANGES_KEEP "'", "");
	return r;
}

int
pg_change_last(struct store *st, int64_t *seq)
{
	PGresult *res;
	int r;

	res = pg_query(st, &r, "SELECT coalesce(max(seq), 0) FROM changes",
	    "");
	if (res == NULL)
		return r;
	*seq = pg_int(res, 0, 0);
	PQclear(res);
	return 0;
}

static int
pg_change_row(PGresult *res, int i, void *cb, void *arg)
{
	struct store_change c;

	c.seq = pg_int(res, i, 0);
	c.kind = pg_ctext(res, i, 1);
	c.key = pg_ctext(res, i, 2);
	c.node = pg_ctext(res, i, 3);
	return ((store_change_cb *)cb)(arg, &c);
}

int
pg_change_foreach(struct store *st, int64_t after, unsigned limit,
    store_change_cb *cb, void *arg)
{
	PGresult *res;
	char n[16];
	int r;

	/* LIMIT NULL is no limit. */
	snprintf(n, sizeof(n), "%u", limit);
	res = pg_query(st, &r, "SELECT seq, kind, key, node FROM changes"
	    " WHERE seq > $1 ORDER BY seq LIMIT $2::bigint", "is", after,
	    limit != 0 ? n : NULL);
	return res == NULL ? r : pg_rows(res, pg_change_row, (void *)cb, arg);
}

int
pg_audit_last(struct store *st, int64_t *seq, char hash[STORE_HASH_HEX + 1])
{
	PGresult *res;
	int r;

	/* In a transaction, the lock serialises appends across nodes. */
	res = pg_query(st, &r, st->in_tx ? "SELECT seq, hash FROM audit_head"
	    " WHERE id = 1 FOR UPDATE" : "SELECT seq, hash FROM audit_head"
	    " WHERE id = 1", "");
	if (res == NULL)
		return r;
	*seq = pg_int(res, 0, 0);
	pg_text(res, 0, 1, hash, STORE_HASH_HEX + 1);
	PQclear(res);
	return 0;
}

int
pg_audit_insert(struct store *st, const struct store_audit *a)
{
	int r = pg_write(st, false, "INSERT INTO audit(seq, time, actor,"
	    " action, subject, detail, prev_hash, hash, node)"
	    " VALUES($1, $2, $3, $4, $5, $6, $7, $8, $9)", "isssssss" "s",
	    a->seq, a->time, a->actor, a->action, a->subject, a->detail,
	    a->prev_hash, a->hash, a->node);

	/* The head moves, and every node's feed hears of it at commit. */
	if (r == 0)
		r = pg_write(st, true, "WITH h AS (UPDATE audit_head SET"
		    " seq = $1, hash = $2 WHERE id = 1 RETURNING seq)"
		    " SELECT pg_notify('" PG_FEED_CHANNEL "', 'audit') FROM h",
		    "is", a->seq, a->hash);
	return r;
}

static int
pg_audit_row(PGresult *res, int i, void *cb, void *arg)
{
	struct store_audit a;

	memset(&a, 0, sizeof(a));
	a.seq = pg_int(res, i, 0);
	pg_text(res, i, 1, a.time, sizeof(a.time));
	a.actor = pg_ctext(res, i, 2);
	a.action = pg_ctext(res, i, 3);
	a.subject = pg_ctext(res, i, 4);
	a.detail = pg_ctext(res, i, 5);
	pg_text(res, i, 6, a.prev_hash, sizeof(a.prev_hash));
	pg_text(res, i, 7, a.hash, sizeof(a.hash));
	a.node = PQgetisnull(res, i, 8) ? NULL : pg_ctext(res, i, 8);
	return ((store_audit_cb *)cb)(arg, &a);
}

/*
 * Walks records in batches (a whole chain need not fit in memory): the
 * callback sees them in order, as with SQLite.
 */
int
pg_audit_foreach(struct store *st, int64_t after, unsigned limit,
    store_audit_cb *cb, void *arg)
{
	unsigned left = limit, batch;
	PGresult *res;
	int n, r;

	for (;;) {
		batch = limit == 0 || left > 1000 ? 1000 : left;
		res = pg_query(st, &r, "SELECT seq, time, actor, action,"
		    " subject, detail, prev_hash, hash, node FROM audit"
		    " WHERE seq > $1 ORDER BY seq LIMIT $2", "ii", after,
		    (int64_t)batch);
		if (res == NULL)
			return r;
		n = PQntuples(res);
		if (n > 0)
			after = pg_int(res, n - 1, 0);
		if ((r = pg_rows(res, pg_audit_row, (void *)cb, arg)) != 0)
			return r;
		if ((unsigned)n < batch)
			return 0;
		if (limit != 0 && (left -= (unsigned)n) == 0)
			return 0;
	}
}

int
pg_apikey_insert(struct store *st, const struct store_apikey *k)
{
	return pg_write(st, false, "INSERT INTO api_keys(id, name, key_hash,"
	    " role, created, expires, mac) VALUES($1, $2, $3, $4, $5, $6, $7)",
	    "ssbssss", k->id, k->name, k->key_hash, (int)sizeof(k->key_hash),
	    k->role, k->created, k->expires[0] ? k->expires : NULL,
	    k->mac[0] ? k->mac : NULL);
}

int
pg_apikey_set_mac(struct store *st, const char *id, const char *mac)
{
	return pg_write(st, true, "UPDATE api_keys SET mac = $1 WHERE id = $2",
	    "ss", mac, id);
}

int
pg_apikey_delete(struct store *st, const char *id)
{
	return pg_write(st, true, "DELETE FROM api_keys WHERE id = $1", "s",
	    id);
}

static int
pg_apikey_row(PGresult *res, int i, void *cb, void *arg)
{
	struct store_apikey k;

	memset(&k, 0, sizeof(k));
	pg_text(res, i, 0, k.id, sizeof(k.id));
	pg_text(res, i, 1, k.name, sizeof(k.name));
	(void)pg_bytea(res, i, 2, k.key_hash, sizeof(k.key_hash));
	k.role = pg_ctext(res, i, 3);
	pg_text(res, i, 4, k.created, sizeof(k.created));
	pg_text(res, i, 5, k.expires, sizeof(k.expires));
	pg_text(res, i, 6, k.mac, sizeof(k.mac));
	return ((store_apikey_cb *)cb)(arg, &k);
}

int
pg_apikey_foreach(struct store *st, store_apikey_cb *cb, void *arg)
{
	PGresult *res;
	int r;

	res = pg_query(st, &r, "SELECT id, name, key_hash, role, created,"
	    " expires, mac FROM api_keys ORDER BY name", "");
	return res == NULL ? r : pg_rows(res, pg_apikey_row, (void *)cb, arg);
}
