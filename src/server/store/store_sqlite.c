/*
 * store_sqlite: the embedded SQLite backend.  One database file, WAL
 * journal, synchronous=FULL so a committed change survives power loss,
 * foreign keys on, schema migrations applied in one transaction at open.
 * All SQL uses bound parameters; names never reach SQL text.
 */
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store.h"

#define STORE_SQLITE_BUSY_MS	1000

#define SQ(st) ((sqlite3 *)(st)->impl)

/* Schema migrations, in order; schema_version holds how many ran. */
static const char *const sq_migrations[] = {
	/* 1: initial schema */
	"CREATE TABLE tokens(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" port INTEGER NOT NULL UNIQUE, size INTEGER NOT NULL,"
	" writable INTEGER NOT NULL, public_key BLOB NOT NULL,"
	" created TEXT NOT NULL);"
	"CREATE TABLE vms(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" addresses TEXT NOT NULL, created TEXT NOT NULL);"
	"CREATE TABLE assignments(token_id TEXT PRIMARY KEY"
	" REFERENCES tokens(id), vm_id TEXT NOT NULL REFERENCES vms(id),"
	" created TEXT NOT NULL);"
	"CREATE TABLE sessions(token_id TEXT PRIMARY KEY,"
	" peer TEXT NOT NULL, host TEXT NOT NULL, since TEXT NOT NULL);"
	"CREATE TABLE audit(seq INTEGER PRIMARY KEY, time TEXT NOT NULL,"
	" actor TEXT NOT NULL, action TEXT NOT NULL, subject TEXT NOT NULL,"
	" detail TEXT NOT NULL, prev_hash TEXT NOT NULL, hash TEXT NOT NULL);"
	"CREATE TABLE api_keys(id TEXT PRIMARY KEY, name TEXT NOT NULL UNIQUE,"
	" key_hash BLOB NOT NULL UNIQUE, role TEXT NOT NULL,"
	" created TEXT NOT NULL);",
	/* 2: a revoke is remembered (the agent reports "revoked") */
	"ALTER TABLE tokens ADD COLUMN revoked INTEGER NOT NULL DEFAULT 0;",
};

static int
sq_fail(struct store *st, const char *what)
{
	snprintf(st->err, sizeof(st->err), "%s: %s", what,
	    st->impl ? sqlite3_errmsg(SQ(st)) : "no database");
	return STORE_ERR;
}

static int
sq_exec(struct store *st, const char *sql)
{
	char *msg = NULL;

	if (sqlite3_exec(SQ(st), sql, NULL, NULL, &msg) != SQLITE_OK) {
		snprintf(st->err, sizeof(st->err), "%s", msg ? msg : "?");
		sqlite3_free(msg);
		return STORE_ERR;
	}
	return 0;
}

static sqlite3_stmt *
sq_prepare(struct store *st, const char *sql)
{
	sqlite3_stmt *s = NULL;

	if (sqlite3_prepare_v2(SQ(st), sql, -1, &s, NULL) != SQLITE_OK) {
		sq_fail(st, "prepare");
		return NULL;
	}
	return s;
}

/* Steps a write statement to completion and finalizes it. */
static int
sq_done(struct store *st, sqlite3_stmt *s, bool need_row_change)
{
	int rc = sqlite3_step(s), ext = sqlite3_extended_errcode(SQ(st));

	sqlite3_finalize(s);
	if (rc == SQLITE_DONE) {
		if (need_row_change && sqlite3_changes(SQ(st)) == 0)
			return STORE_NOTFOUND;
		return 0;
	}
	if (ext == SQLITE_CONSTRAINT_UNIQUE ||
	    ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
		snprintf(st->err, sizeof(st->err), "%s",
		    sqlite3_errmsg(SQ(st)));
		return STORE_CONFLICT;
	}
	return sq_fail(st, "step");
}

static void
sq_text(sqlite3_stmt *s, int col, char *dst, size_t len)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

static const char *
sq_ctext(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t ? (const char *)t : "";
}

static int
sq_migrate(struct store *st)
{
	sqlite3_stmt *s;
	int version = 0;
	size_t n = sizeof(sq_migrations) / sizeof(sq_migrations[0]);

	if (sq_exec(st, "CREATE TABLE IF NOT EXISTS schema_version("
	    "version INTEGER NOT NULL)") < 0)
		return STORE_ERR;
	if ((s = sq_prepare(st, "SELECT max(version) FROM schema_version"))
	    == NULL)
		return STORE_ERR;
	if (sqlite3_step(s) == SQLITE_ROW)
		version = sqlite3_column_int(s, 0);
	sqlite3_finalize(s);
	if ((size_t)version > n) {
		snprintf(st->err, sizeof(st->err), "database schema %d is "
		    "newer than this vtokend (%zu)", version, n);
		return STORE_ERR;
	}
	for (size_t v = (size_t)version; v < n; v++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "INSERT INTO schema_version "
		    "VALUES(%zu)", v + 1);
		if (sq_exec(st, "BEGIN IMMEDIATE") < 0)
			return STORE_ERR;
		if (sq_exec(st, sq_migrations[v]) < 0 ||
		    sq_exec(st, sql) < 0 || sq_exec(st, "COMMIT") < 0) {
			char keep[sizeof(st->err)];

			memcpy(keep, st->err, sizeof(keep));
			sq_exec(st, "ROLLBACK");
			memcpy(st->err, keep, sizeof(keep));
			return STORE_ERR;
		}
	}
	return 0;
}

static int
sq_open(struct store *st, const char *path)
{
	sqlite3 *db = NULL;

	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_FULLMUTEX, NULL) != SQLITE_OK) {
		snprintf(st->err, sizeof(st->err), "%s",
		    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return STORE_ERR;
	}
	st->impl = db;
	/*
	 * vtokend is the only writer; a lock held by another process (an
	 * operator's sqlite3 shell) stalls the event loop, every session
	 * with it, for as long as this: keep it short, and let the state
	 * change fail (and be retried) instead.
	 */
	sqlite3_busy_timeout(db, STORE_SQLITE_BUSY_MS);
	if (sq_exec(st, "PRAGMA journal_mode=WAL") < 0 ||
	    sq_exec(st, "PRAGMA synchronous=FULL") < 0 ||
	    sq_exec(st, "PRAGMA foreign_keys=ON") < 0 ||
	    sq_migrate(st) < 0) {
		sqlite3_close(db);
		st->impl = NULL;
		return STORE_ERR;
	}
	return 0;
}

static void
sq_close(struct store *st)
{
	if (st->impl != NULL)
		sqlite3_close(SQ(st));
	st->impl = NULL;
}

static int
sq_begin(struct store *st)
{
	return sq_exec(st, "BEGIN IMMEDIATE");
}

static int
sq_commit(struct store *st)
{
	return sq_exec(st, "COMMIT");
}

static void
sq_rollback(struct store *st)
{
	char keep[sizeof(st->err)];

	/* Keep the error that made the caller roll back. */
	memcpy(keep, st->err, sizeof(keep));
	if (!sqlite3_get_autocommit(SQ(st)))
		(void)sq_exec(st, "ROLLBACK");
	memcpy(st->err, keep, sizeof(keep));
}

static int
sq_token_insert(struct store *st, const struct store_token *t)
{
	sqlite3_stmt *s = sq_prepare(st, "INSERT INTO tokens(id, name, port,"
	    " size, writable, public_key, created) VALUES(?,?,?,?,?,?,?)");

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, t->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, t->name, -1, SQLITE_STATIC);
	sqlite3_bind_int(s, 3, (int)t->port);
	sqlite3_bind_int64(s, 4, (sqlite3_int64)t->size);
	sqlite3_bind_int(s, 5, t->writable);
	sqlite3_bind_blob(s, 6, t->public_key, sizeof(t->public_key),
	    SQLITE_STATIC);
	sqlite3_bind_text(s, 7, t->created, -1, SQLITE_STATIC);
	return sq_done(st, s, false);
}

/* DELETE FROM <table> WHERE <col> = ?; NOTFOUND when nothing matched. */
static int
sq_delete_by(struct store *st, const char *sql, const char *key)
{
	sqlite3_stmt *s = sq_prepare(st, sql);

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, key, -1, SQLITE_STATIC);
	return sq_done(st, s, true);
}

static int
sq_token_delete(struct store *st, const char *id)
{
	return sq_delete_by(st, "DELETE FROM tokens WHERE id = ?", id);
}

/* Runs a SELECT and calls row() for each result row. */
static int
sq_foreach(struct store *st, sqlite3_stmt *s,
    int (*row)(sqlite3_stmt *, void *, void *), void *cb, void *arg)
{
	int rc;

	if (s == NULL)
		return STORE_ERR;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		int r = row(s, cb, arg);

		if (r != 0) {
			sqlite3_finalize(s);
			return r;
		}
	}
	sqlite3_finalize(s);
	return rc == SQLITE_DONE ? 0 : sq_fail(st, "select");
}

static int
sq_token_set_revoked(struct store *st, const char *id, bool revoked)
{
	sqlite3_stmt *s = sq_prepare(st, "UPDATE tokens SET revoked = ?"
	    " WHERE id = ?");

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int(s, 1, revoked);
	sqlite3_bind_text(s, 2, id, -1, SQLITE_STATIC);
	return sq_done(st, s, true);
}

static int
sq_token_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_token t;
	const void *pk = sqlite3_column_blob(s, 5);

	memset(&t, 0, sizeof(t));
	sq_text(s, 0, t.id, sizeof(t.id));
	sq_text(s, 1, t.name, sizeof(t.name));
	t.port = (unsigned)sqlite3_column_int(s, 2);
	t.size = (uint64_t)sqlite3_column_int64(s, 3);
	t.writable = sqlite3_column_int(s, 4) != 0;
	if (pk != NULL && sqlite3_column_bytes(s, 5) == sizeof(t.public_key))
		memcpy(t.public_key, pk, sizeof(t.public_key));
	sq_text(s, 6, t.created, sizeof(t.created));
	t.revoked = sqlite3_column_int(s, 7) != 0;
	return ((store_token_cb *)cb)(arg, &t);
}

static int
sq_token_foreach(struct store *st, store_token_cb *cb, void *arg)
{
	return sq_foreach(st, sq_prepare(st, "SELECT id, name, port, size,"
	    " writable, public_key, created, revoked FROM tokens"
	    " ORDER BY port"),
	    sq_token_row, (void *)cb, arg);
}

static int
sq_vm_insert(struct store *st, const struct store_vm *v)
{
	sqlite3_stmt *s = sq_prepare(st, "INSERT INTO vms(id, name,"
	    " addresses, created) VALUES(?,?,?,?)");

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, v->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, v->name, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, v->addresses, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, v->created, -1, SQLITE_STATIC);
	return sq_done(st, s, false);
}

static int
sq_vm_delete(struct store *st, const char *id)
{
	return sq_delete_by(st, "DELETE FROM vms WHERE id = ?", id);
}

static int
sq_vm_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_vm v;

	memset(&v, 0, sizeof(v));
	sq_text(s, 0, v.id, sizeof(v.id));
	sq_text(s, 1, v.name, sizeof(v.name));
	v.addresses = sq_ctext(s, 2);
	sq_text(s, 3, v.created, sizeof(v.created));
	return ((store_vm_cb *)cb)(arg, &v);
}

static int
sq_vm_foreach(struct store *st, store_vm_cb *cb, void *arg)
{
	return sq_foreach(st, sq_prepare(st, "SELECT id, name, addresses,"
	    " created FROM vms ORDER BY created, name"), sq_vm_row,
	    (void *)cb, arg);
}

static int
sq_assignment_insert(struct store *st, const struct store_assignment *a)
{
	sqlite3_stmt *s = sq_prepare(st, "INSERT INTO assignments(token_id,"
	    " vm_id, created) VALUES(?,?,?)");

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, a->token_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, a->vm_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->created, -1, SQLITE_STATIC);
	return sq_done(st, s, false);
}

static int
sq_assignment_delete(struct store *st, const char *token_id)
{
	return sq_delete_by(st, "DELETE FROM assignments WHERE token_id = ?",
	    token_id);
}

static int
sq_assignment_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_assignment a;

	memset(&a, 0, sizeof(a));
	sq_text(s, 0, a.token_id, sizeof(a.token_id));
	sq_text(s, 1, a.vm_id, sizeof(a.vm_id));
	sq_text(s, 2, a.created, sizeof(a.created));
	return ((store_assignment_cb *)cb)(arg, &a);
}

static int
sq_assignment_foreach(struct store *st, store_assignment_cb *cb, void *arg)
{
	return sq_foreach(st, sq_prepare(st, "SELECT token_id, vm_id,"
	    " created FROM assignments"), sq_assignment_row, (void *)cb, arg);
}

static int
sq_session_insert(struct store *st, const struct store_session *x)
{
	sqlite3_stmt *s = sq_prepare(st, "INSERT OR REPLACE INTO"
	    " sessions(token_id, peer, host, since) VALUES(?,?,?,?)");

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, x->token_id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, x->peer, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, x->host, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, x->since, -1, SQLITE_STATIC);
	return sq_done(st, s, false);
}

static int
sq_session_delete(struct store *st, const char *token_id)
{
	int r = sq_delete_by(st, "DELETE FROM sessions WHERE token_id = ?",
	    token_id);

	return r == STORE_NOTFOUND ? 0 : r;
}

static int
sq_session_clear(struct store *st, const char *host)
{
	int r = sq_delete_by(st, "DELETE FROM sessions WHERE host = ?", host);

	return r == STORE_NOTFOUND ? 0 : r;
}

static int
sq_audit_last(struct store *st, int64_t *seq, char hash[STORE_HASH_HEX + 1])
{
	sqlite3_stmt *s = sq_prepare(st, "SELECT seq, hash FROM audit"
	    " ORDER BY seq DESC LIMIT 1");
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

static int
sq_audit_insert(struct store *st, const struct store_audit *a)
{
	sqlite3_stmt *s = sq_prepare(st, "INSERT INTO audit(seq, time, actor,"
	    " action, subject, detail, prev_hash, hash)"
	    " VALUES(?,?,?,?,?,?,?,?)");

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, a->seq);
	sqlite3_bind_text(s, 2, a->time, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 3, a->actor, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 4, a->action, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, a->subject, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 6, a->detail, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 7, a->prev_hash, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 8, a->hash, -1, SQLITE_STATIC);
	return sq_done(st, s, false);
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
	return ((store_audit_cb *)cb)(arg, &a);
}

static int
sq_audit_foreach(struct store *st, int64_t after, unsigned limit,
    store_audit_cb *cb, void *arg)
{
	sqlite3_stmt *s = sq_prepare(st, "SELECT seq, time, actor, action,"
	    " subject, detail, prev_hash, hash FROM audit WHERE seq > ?"
	    " ORDER BY seq LIMIT ?");

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_int64(s, 1, after);
	sqlite3_bind_int64(s, 2, limit ? (sqlite3_int64)limit : -1);
	return sq_foreach(st, s, sq_audit_row, (void *)cb, arg);
}

static int
sq_apikey_insert(struct store *st, const struct store_apikey *k)
{
	sqlite3_stmt *s = sq_prepare(st, "INSERT INTO api_keys(id, name,"
	    " key_hash, role, created) VALUES(?,?,?,?,?)");

	if (s == NULL)
		return STORE_ERR;
	sqlite3_bind_text(s, 1, k->id, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 2, k->name, -1, SQLITE_STATIC);
	sqlite3_bind_blob(s, 3, k->key_hash, sizeof(k->key_hash),
	    SQLITE_STATIC);
	sqlite3_bind_text(s, 4, k->role, -1, SQLITE_STATIC);
	sqlite3_bind_text(s, 5, k->created, -1, SQLITE_STATIC);
	return sq_done(st, s, false);
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
	return ((store_apikey_cb *)cb)(arg, &k);
}

static int
sq_apikey_foreach(struct store *st, store_apikey_cb *cb, void *arg)
{
	return sq_foreach(st, sq_prepare(st, "SELECT id, name, key_hash,"
	    " role, created FROM api_keys"), sq_apikey_row, (void *)cb, arg);
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.token_insert = sq_token_insert,
	.token_delete = sq_token_delete,
	.token_foreach = sq_token_foreach,
	.token_set_revoked = sq_token_set_revoked,
	.vm_insert = sq_vm_insert,
	.vm_delete = sq_vm_delete,
	.vm_foreach = sq_vm_foreach,
	.assignment_insert = sq_assignment_insert,
	.assignment_delete = sq_assignment_delete,
	.assignment_foreach = sq_assignment_foreach,
	.session_insert = sq_session_insert,
	.session_delete = sq_session_delete,
	.session_clear = sq_session_clear,
	.audit_last = sq_audit_last,
	.audit_insert = sq_audit_insert,
	.audit_foreach = sq_audit_foreach,
	.apikey_insert = sq_apikey_insert,
	.apikey_foreach = sq_apikey_foreach,
};
