/*
 * store_sqlite_cluster: the SQLite backend's claims, nodes, change feed,
 * audit log and API keys (see store.h).  With SQLite there is one node,
 * but the rows are the same as on PostgreSQL, so /v1/nodes, sessions and
 * the feed behave alike on both.  Lease times are this machine's clock.
 */
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/encode.h"
#include "server/store/store_sqlite_impl.h"

/* Change rows older than this are pruned (a node gone longer resyncs). */
#define SQ_CHANGES_KEEP_S	(2 * 86400)
#define SQ_CHANGES_PRUNE_EVERY	1000

static int64_t
sq_epoch(void)
{
	return (int64_t)time(NULL);
}

int
sq_session_claim(struct store *st, const struct store_session *s,
    unsigned lease_s)
{
	sqlite3_stmt *q;
	int r, assigned = 0;

	/* A claim of a node whose lease ran out is no claim. */
	r = sq_write(st, false, "DELETE FROM sessions WHERE token_id = ? AND"
	    " node NOT IN (SELECT name FROM nodes WHERE heartbeat >= ?)",
	    "si", s->token_id, sq_epoch() - (int64_t)lease_s);
	if (r < 0)
		return r;
	q = sq_stmt(st, "SELECT count(*) FROM assignments WHERE token_id = ?"
	    " AND vm_id = ?", "ss", s->token_id, s->vm_id);
	if (q == NULL)
		return STORE_ERR;
	if (sqlite3_step(q) == SQLITE_ROW)
		assigned = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (assigned == 0) {
		snprintf(st->err, sizeof(st->err), "token %s is no longer "
		    "assigned to VM %s", s->token_id, s->vm_id);
		return STORE_NOTFOUND;
	}
	return sq_write(st, false, "INSERT INTO sessions(token_id, vm_id,"
	    " node, peer, since) VALUES(?,?,?,?,?)", "sssss", s->token_id,
	    s->vm_id, s->node, s->peer, s->since);
}

int
sq_session_release(struct store *st, const char *token_id, const char *node)
{
	return sq_write(st, true, "DELETE FROM sessions WHERE token_id = ?"
	    " AND node = ?", "ss", token_id, node);
}

int
sq_session_clear(struct store *st, const char *node)
{
	return sq_write(st, false, "DELETE FROM sessions WHERE node = ?", "s",
	    node);
}

int
sq_session_check(struct store *st, const char *token_id, const char *node)
{
	sqlite3_stmt *q = sq_stmt(st, "SELECT count(*) FROM sessions"
	    " WHERE token_id = ? AND node = ?", "ss", token_id, node);
	int n = 0, rc;

	if (q == NULL)
		return STORE_ERR;
	rc = sqlite3_step(q);
	if (rc == SQLITE_ROW)
		n = sqlite3_column_int(q, 0);
	sqlite3_finalize(q);
	if (rc != SQLITE_ROW)
		return sq_fail(st, "session_check");
	if (n == 0) {
		snprintf(st->err, sizeof(st->err), "this node no longer holds "
		    "token %s", token_id);
		return STORE_NOTFOUND;
	}
	return 0;
}

int
sq_session_report(struct store *st, const struct store_session *s)
{
	return sq_write(st, false, "UPDATE sessions SET bytes_in = ?,"
	    " bytes_out = ? WHERE token_id = ? AND node = ?", "iiss",
	    (int64_t)s->bytes_in, (int64_t)s->bytes_out, s->token_id,
	    s->node);
}

static int
sq_session_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_session x;

	memset(&x, 0, sizeof(x));
	sq_text(s, 0, x.token_id, sizeof(x.token_id));
	sq_text(s, 1, x.vm_id, sizeof(x.vm_id));
	x.node = sq_ctext(s, 2);
	x.peer = sq_ctext(s, 3);
	sq_text(s, 4, x.since, sizeof(x.since));
	x.bytes_in = (uint64_t)sqlite3_column_int64(s, 5);
	x.bytes_out = (uint64_t)sqlite3_column_int64(s, 6);
	return ((store_session_cb *)cb)(arg, &x);
}

#define SQ_SESSION_COLS "SELECT token_id, vm_id, node, peer, since," \
	" bytes_in, bytes_out FROM sessions"

int
sq_session_foreach(struct store *st, const char *node, const char *after,
    unsigned limit, store_session_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, SQ_SESSION_COLS " WHERE (?1 IS NULL"
	    " OR node = ?1) AND token_id > ?2 ORDER BY token_id LIMIT ?3",
	    "ssi", node, after, limit > 0 ? (int64_t)limit : INT64_MAX),
	    sq_session_row, (void *)cb, arg);
}

int
sq_node_upsert(struct store *st, const struct store_node *n)
{
	return sq_write(st, false, "INSERT INTO nodes(name, usbip, api,"
	    " version, started, heartbeat, state) VALUES(?,?,?,?,?,?,'up')"
	    " ON CONFLICT(name) DO UPDATE SET usbip = excluded.usbip,"
	    " api = excluded.api, version = excluded.version,"
	    " started = excluded.started, heartbeat = excluded.heartbeat,"
	    " state = 'up'", "sssssi", n->name, n->usbip, n->api, n->version,
	    n->started, sq_epoch());
}

int
sq_node_heartbeat(struct store *st, const char *name)
{
	return sq_write(st, true, "UPDATE nodes SET heartbeat = ?,"
	    " state = 'up' WHERE name = ?", "is", sq_epoch(), name);
}

static int
sq_node_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_node n;
	int64_t hb = sqlite3_column_int64(s, 5);

	memset(&n, 0, sizeof(n));
	n.name = sq_ctext(s, 0);
	n.usbip = sq_ctext(s, 1);
	n.api = sq_ctext(s, 2);
	n.version = sq_ctext(s, 3);
	sq_text(s, 4, n.started, sizeof(n.started));
	encode_time((time_t)hb, n.heartbeat);
	n.age = sq_epoch() - hb;
	n.sessions = (unsigned)sqlite3_column_int64(s, 6);
	return ((store_node_cb *)cb)(arg, &n);
}

int
sq_node_foreach(struct store *st, store_node_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, "SELECT name, usbip, api, version,"
	    " started, heartbeat, (SELECT count(*) FROM sessions"
	    " WHERE sessions.node = nodes.name) FROM nodes ORDER BY name", ""),
	    sq_node_row, (void *)cb, arg);
}

int
sq_node_expire(struct store *st, unsigned lease_s, store_session_cb *cb,
    void *arg)
{
	int64_t limit = sq_epoch() - (int64_t)lease_s;
	int r;

	r = sq_foreach(st, sq_stmt(st, SQ_SESSION_COLS " WHERE node NOT IN"
	    " (SELECT name FROM nodes WHERE heartbeat >= ?)", "i", limit),
	    sq_session_row, (void *)cb, arg);
	if (r == 0)
		r = sq_write(st, false, "DELETE FROM sessions WHERE node NOT IN"
		    " (SELECT name FROM nodes WHERE heartbeat >= ?)", "i",
		    limit);
	if (r == 0)
		r = sq_write(st, false, "UPDATE nodes SET state = 'lost'"
		    " WHERE heartbeat < ? AND state = 'up'", "i", limit);
	return r;
}

int
sq_change_insert(struct store *st, const char *kind, const char *key,
    const char *node)
{
	int r = sq_write(st, false, "INSERT INTO changes(kind, key, node, time)"
	    " VALUES(?,?,?,?)", "sssi", kind, key, node, sq_epoch());

	if (r == 0 && sqlite3_last_insert_rowid(SQ(st)) %
	    SQ_CHANGES_PRUNE_EVERY == 0)
		r = sq_write(st, false, "DELETE FROM changes WHERE time < ?",
		    "i", sq_epoch() - SQ_CHANGES_KEEP_S);
	return r;
}

int
sq_change_last(struct store *st, int64_t *seq)
{
	sqlite3_stmt *s = sq_stmt(st, "SELECT coalesce(max(seq), 0)"
	    " FROM changes", "");
	int rc;

	if (s == NULL)
		return STORE_ERR;
	*seq = 0;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW)
		*seq = sqlite3_column_int64(s, 0);
	sqlite3_finalize(s);
	return rc == SQLITE_ROW ? 0 : sq_fail(st, "change_last");
}

static int
sq_change_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_change c;

	c.seq = sqlite3_column_int64(s, 0);
	c.kind = sq_ctext(s, 1);
	c.key = sq_ctext(s, 2);
	c.node = sq_ctext(s, 3);
	return ((store_change_cb *)cb)(arg, &c);
}

int
sq_change_foreach(struct store *st, int64_t after, unsigned limit,
    store_change_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, "SELECT seq, kind, key, node"
	    " FROM changes WHERE seq > ? ORDER BY seq LIMIT ?", "ii", after,
	    limit ? (int64_t)limit : (int64_t)-1), sq_change_row, (void *)cb,
	    arg);
}

int
sq_audit_last(struct store *st, int64_t *seq, char hash[STORE_HASH_HEX + 1])
{
	sqlite3_stmt *s = sq_stmt(st, "SELECT seq, hash FROM audit"
	    " ORDER BY seq DESC LIMIT 1", "");
	int rc;

	if (s == NULL)
		return STORE_ERR;
	*seq = 0;
	memset(hash, '0', STORE_HASH_HEX);
	hash[STORE_HASH_HEX] = '\0';
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		*seq = sqlite3_column_int64(s, 0);
		sq_text(s, 1, hash, STORE_HASH_HEX + 1);
	}
	sqlite3_finalize(s);
	return rc == SQLITE_ROW || rc == SQLITE_DONE ? 0 :
	    sq_fail(st, "audit_last");
}

int
sq_audit_insert(struct store *st, const struct store_audit *a)
{
	return sq_write(st, false, "INSERT INTO audit(seq, time, actor,"
	    " action, subject, detail, prev_hash, hash, node)"
	    " VALUES(?,?,?,?,?,?,?,?,?)", "isssssss" "s", a->seq, a->time,
	    a->actor, a->action, a->subject, a->detail, a->prev_hash, a->hash,
	    a->node);
}

static int
sq_audit_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_audit a;

	memset(&a, 0, sizeof(a));
	a.seq = sqlite3_column_int64(s, 0);
	sq_text(s, 1, a.time, sizeof(a.time));
	a.actor = sq_ctext(s, 2);
	a.action = sq_ctext(s, 3);
	a.subject = sq_ctext(s, 4);
	a.detail = sq_ctext(s, 5);
	sq_text(s, 6, a.prev_hash, sizeof(a.prev_hash));
	sq_text(s, 7, a.hash, sizeof(a.hash));
	a.node = sqlite3_column_type(s, 8) == SQLITE_NULL ? NULL :
	    sq_ctext(s, 8);
	return ((store_audit_cb *)cb)(arg, &a);
}

int
sq_audit_foreach(struct store *st, int64_t after, unsigned limit,
    store_audit_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, "SELECT seq, time, actor, action,"
	    " subject, detail, prev_hash, hash, node FROM audit WHERE seq > ?"
	    " ORDER BY seq LIMIT ?", "ii", after, limit ? (int64_t)limit :
	    (int64_t)-1), sq_audit_row, (void *)cb, arg);
}

int
sq_apikey_insert(struct store *st, const struct store_apikey *k)
{
	return sq_write(st, false, "INSERT INTO api_keys(id, name, key_hash,"
	    " role, created, expires, mac) VALUES(?,?,?,?,?,?,?)", "ssbssss",
	    k->id, k->name, k->key_hash, (int)sizeof(k->key_hash), k->role,
	    k->created, k->expires[0] ? k->expires : NULL,
	    k->mac[0] ? k->mac : NULL);
}

int
sq_apikey_set_mac(struct store *st, const char *id, const char *mac)
{
	return sq_write(st, true, "UPDATE api_keys SET mac = ? WHERE id = ?",
	    "ss", mac, id);
}

int
sq_apikey_delete(struct store *st, const char *id)
{
	return sq_write(st, true, "DELETE FROM api_keys WHERE id = ?", "s",
	    id);
}

static int
sq_apikey_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_apikey k;
	const void *h = sqlite3_column_blob(s, 2);

	memset(&k, 0, sizeof(k));
	sq_text(s, 0, k.id, sizeof(k.id));
	sq_text(s, 1, k.name, sizeof(k.name));
	if (h != NULL && sqlite3_column_bytes(s, 2) == sizeof(k.key_hash))
		memcpy(k.key_hash, h, sizeof(k.key_hash));
	k.role = sq_ctext(s, 3);
	sq_text(s, 4, k.created, sizeof(k.created));
	sq_text(s, 5, k.expires, sizeof(k.expires));
	sq_text(s, 6, k.mac, sizeof(k.mac));
	return ((store_apikey_cb *)cb)(arg, &k);
}

int
sq_apikey_foreach(struct store *st, store_apikey_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, "SELECT id, name, key_hash, role,"
	    " created, expires, mac FROM api_keys ORDER BY name", ""),
	    sq_apikey_row,
	    (void *)cb, arg);
}
