/*
 * store_sqlite: the embedded SQLite backend, for one vtokend on one
 * machine.  One database file, WAL journal, synchronous=FULL so that a
 * committed change survives power loss, foreign keys on, schema
 * migrations applied in one transaction each at open.  All SQL uses bound
 * parameters.  This file: the connection, migrations, helpers, tokens and
 * their blocks, VMs and assignments; store_sqlite_cluster.c the rest.
 */
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "common/encode.h"
#include "server/store/store_sqlite_impl.h"

/*
 * A lock held by another process (an operator's sqlite3 shell) makes a
 * transaction wait this long before it fails (and is refused, or retried
 * by its caller).  Only the store thread waits, but every store job
 * queues behind it, so keep it short.
 */
#define STORE_SQLITE_BUSY_MS	1000

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
	/*
	 * 3: token content in the database, claims and leases, the change
	 * feed, the node that wrote each audit record.  Image files of
	 * existing tokens are moved into token_blocks by the controller at
	 * its first start on this schema.
	 */
	"ALTER TABLE tokens RENAME COLUMN port TO num;"
	"CREATE TABLE token_blocks(token_id TEXT NOT NULL"
	" REFERENCES tokens(id) ON DELETE CASCADE, idx INTEGER NOT NULL,"
	" data BLOB NOT NULL, PRIMARY KEY(token_id, idx)) WITHOUT ROWID;"
	"DROP TABLE sessions;"
	"CREATE TABLE sessions(token_id TEXT PRIMARY KEY, vm_id TEXT NOT NULL,"
	" node TEXT NOT NULL, peer TEXT NOT NULL, since TEXT NOT NULL,"
	" bytes_in INTEGER NOT NULL DEFAULT 0,"
	" bytes_out INTEGER NOT NULL DEFAULT 0);"
	"CREATE INDEX sessions_node ON sessions(node);"
	"CREATE TABLE nodes(name TEXT PRIMARY KEY, usbip TEXT NOT NULL,"
	" api TEXT NOT NULL, version TEXT NOT NULL, started TEXT NOT NULL,"
	" heartbeat INTEGER NOT NULL, state TEXT NOT NULL);"
	"CREATE TABLE changes(seq INTEGER PRIMARY KEY AUTOINCREMENT,"
	" kind TEXT NOT NULL, key TEXT NOT NULL, node TEXT NOT NULL,"
	" time INTEGER NOT NULL);"
	"ALTER TABLE audit ADD COLUMN node TEXT;"
	"CREATE INDEX assignments_vm ON assignments(vm_id);",
	/* 4: API keys can expire */
	"ALTER TABLE api_keys ADD COLUMN expires TEXT;",
	/* 5: alarms (one active row per rule and key) */
	"CREATE TABLE alarms(id TEXT PRIMARY KEY, rule TEXT NOT NULL,"
	" key TEXT NOT NULL, severity TEXT NOT NULL, state TEXT NOT NULL,"
	" message TEXT NOT NULL, count INTEGER NOT NULL,"
	" first_seen TEXT NOT NULL, last_seen TEXT NOT NULL, cleared TEXT,"
	" acked_by TEXT, acked_at TEXT, node TEXT NOT NULL);"
	"CREATE UNIQUE INDEX alarms_active ON alarms(rule, key)"
	" WHERE state = 'active';"
	"CREATE INDEX alarms_seen ON alarms(last_seen);",
	/* 6: API key rows carry a MAC under the audit key (control_key.c) */
	"ALTER TABLE api_keys ADD COLUMN mac TEXT;",
	/* 7: documents: agent policies, facts, releases (store_sqlite_doc.c) */
	"CREATE TABLE docs(kind TEXT NOT NULL, key TEXT NOT NULL,"
	" body BLOB NOT NULL, updated TEXT NOT NULL,"
	" PRIMARY KEY(kind, key)) WITHOUT ROWID;",
};

int
sq_fail(struct store *st, const char *what)
{
	snprintf(st->err, sizeof(st->err), "%s: %s", what,
	    st->impl ? sqlite3_errmsg(SQ(st)) : "no database");
	return STORE_ERR;
}

int
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
sq_vstmt(struct store *st, const char *sql, const char *fmt, va_list ap)
{
	sqlite3_stmt *s = NULL;
	int col = 1, rc = SQLITE_OK;

	if (sqlite3_prepare_v2(SQ(st), sql, -1, &s, NULL) != SQLITE_OK) {
		sq_fail(st, "prepare");
		return NULL;
	}
	for (const char *f = fmt; *f != '\0' && rc == SQLITE_OK; f++, col++) {
		const char *text;
		const void *blob;
		int len;

		switch (*f) {
		case 's':
			text = va_arg(ap, const char *);
			rc = text != NULL ? sqlite3_bind_text(s, col, text, -1,
			    SQLITE_TRANSIENT) : sqlite3_bind_null(s, col);
			break;
		case 'i':
			rc = sqlite3_bind_int64(s, col, va_arg(ap, int64_t));
			break;
		default:	/* 'b' */
			blob = va_arg(ap, const void *);
			len = va_arg(ap, int);
			rc = sqlite3_bind_blob(s, col, blob, len,
			    SQLITE_TRANSIENT);
			break;
		}
	}
	if (rc != SQLITE_OK) {
		sq_fail(st, "bind");
		sqlite3_finalize(s);
		return NULL;
	}
	return s;
}

sqlite3_stmt *
sq_stmt(struct store *st, const char *sql, const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	s = sq_vstmt(st, sql, fmt, ap);
	va_end(ap);
	return s;
}

int
sq_done(struct store *st, sqlite3_stmt *s, bool need_change)
{
	int rc, ext;

	if (s == NULL)
		return STORE_ERR;
	rc = sqlite3_step(s);
	ext = sqlite3_extended_errcode(SQ(st));
	sqlite3_finalize(s);
	if (rc == SQLITE_DONE || rc == SQLITE_ROW) {
		if (need_change && sqlite3_changes(SQ(st)) == 0)
			return STORE_NOTFOUND;
		return 0;
	}
	if (ext == SQLITE_CONSTRAINT_FOREIGNKEY) {
		/* What the row refers to is gone (deleted meanwhile). */
		snprintf(st->err, sizeof(st->err), "the token or VM it refers "
		    "to no longer exists");
		return STORE_NOTFOUND;
	}
	if (ext == SQLITE_CONSTRAINT_UNIQUE ||
	    ext == SQLITE_CONSTRAINT_PRIMARYKEY) {
		snprintf(st->err, sizeof(st->err), "%s",
		    sqlite3_errmsg(SQ(st)));
		/* The one constraint a retry with another value can pass. */
		return strstr(st->err, "tokens.num") != NULL ?
		    STORE_CONFLICT_NUM : STORE_CONFLICT;
	}
	return sq_fail(st, "step");
}

int
sq_write(struct store *st, bool need_change, const char *sql,
    const char *fmt, ...)
{
	sqlite3_stmt *s;
	va_list ap;

	va_start(ap, fmt);
	s = sq_vstmt(st, sql, fmt, ap);
	va_end(ap);
	return sq_done(st, s, need_change);
}

int
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

void
sq_text(sqlite3_stmt *s, int col, char *dst, size_t len)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	snprintf(dst, len, "%s", t ? (const char *)t : "");
}

const char *
sq_ctext(sqlite3_stmt *s, int col)
{
	const unsigned char *t = sqlite3_column_text(s, col);

	return t ? (const char *)t : "";
}

void
sq_now(char out[STORE_TIME_LEN + 1])
{
	encode_time(time(NULL), out);
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
	if ((s = sq_stmt(st, "SELECT max(version) FROM schema_version", ""))
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
sq_open(struct store *st, const char *path, const char *password)
{
	sqlite3 *db = NULL;

	(void)password;	/* a file's access is its mode */
	if (sqlite3_open_v2(path, &db, SQLITE_OPEN_READWRITE |
	    SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX, NULL) != SQLITE_OK) {
		snprintf(st->err, sizeof(st->err), "%s: %s", path,
		    db ? sqlite3_errmsg(db) : "out of memory");
		sqlite3_close(db);
		return STORE_ERR;
	}
	st->impl = db;
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

/* A file is always there: nothing to reconnect. */
static int
sq_ping(struct store *st)
{
	(void)st;
	return 0;
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
	return sq_write(st, false, "INSERT INTO tokens(id, name, num, size,"
	    " writable, public_key, created, revoked)"
	    " VALUES(?,?,?,?,?,?,?,?)", "ssiiibsi", t->id, t->name,
	    (int64_t)t->num, (int64_t)t->size, (int64_t)t->writable,
	    t->public_key, (int)sizeof(t->public_key), t->created,
	    (int64_t)t->revoked);
}

static int
sq_token_delete(struct store *st, const char *id)
{
	return sq_write(st, true, "DELETE FROM tokens WHERE id = ?", "s", id);
}

static int
sq_token_set_revoked(struct store *st, const char *id, bool revoked)
{
	return sq_write(st, true, "UPDATE tokens SET revoked = ? WHERE id = ?",
	    "is", (int64_t)revoked, id);
}

static int
sq_token_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_token t;
	const void *pk = sqlite3_column_blob(s, 5);

	memset(&t, 0, sizeof(t));
	sq_text(s, 0, t.id, sizeof(t.id));
	sq_text(s, 1, t.name, sizeof(t.name));
	t.num = (uint32_t)sqlite3_column_int64(s, 2);
	t.size = (uint64_t)sqlite3_column_int64(s, 3);
	t.writable = sqlite3_column_int(s, 4) != 0;
	if (pk != NULL && sqlite3_column_bytes(s, 5) == sizeof(t.public_key))
		memcpy(t.public_key, pk, sizeof(t.public_key));
	sq_text(s, 6, t.created, sizeof(t.created));
	t.revoked = sqlite3_column_int(s, 7) != 0;
	return ((store_token_cb *)cb)(arg, &t);
}

#define SQ_TOKEN_COLS "SELECT id, name, num, size, writable, public_key," \
	" created, revoked FROM tokens"

static int
sq_token_get(struct store *st, const char *id, store_token_cb *cb,
    void *arg)
{
	return sq_foreach(st, sq_stmt(st, SQ_TOKEN_COLS " WHERE id = ?", "s",
	    id), sq_token_row, (void *)cb, arg);
}

static int
sq_token_foreach(struct store *st, store_token_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, SQ_TOKEN_COLS " ORDER BY num", ""),
	    sq_token_row, (void *)cb, arg);
}

static bool
sq_is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static int
sq_block_put(struct store *st, const char *token_id, uint32_t idx,
    const uint8_t *data)
{
	if (data == NULL || sq_is_zero(data, STORE_BLOCK_SIZE))
		return sq_write(st, false, "DELETE FROM token_blocks"
		    " WHERE token_id = ? AND idx = ?", "si", token_id,
		    (int64_t)idx);
	return sq_write(st, false, "INSERT INTO token_blocks(token_id, idx,"
	    " data) VALUES(?,?,?) ON CONFLICT(token_id, idx) DO UPDATE"
	    " SET data = excluded.data", "sib", token_id, (int64_t)idx, data,
	    (int)STORE_BLOCK_SIZE);
}

static int
sq_block_row(sqlite3_stmt *s, void *cb, void *arg)
{
	struct store_block b;

	if (sqlite3_column_bytes(s, 1) != STORE_BLOCK_SIZE)
		return 0;	/* never written so; not ours to serve */
	b.idx = (uint32_t)sqlite3_column_int64(s, 0);
	b.data = sqlite3_column_blob(s, 1);
	return ((store_block_cb *)cb)(arg, &b);
}

static int
sq_block_foreach(struct store *st, const char *token_id, store_block_cb *cb,
    void *arg)
{
	return sq_foreach(st, sq_stmt(st, "SELECT idx, data FROM token_blocks"
	    " WHERE token_id = ? ORDER BY idx", "s", token_id), sq_block_row,
	    (void *)cb, arg);
}

static int
sq_vm_insert(struct store *st, const struct store_vm *v)
{
	return sq_write(st, false, "INSERT INTO vms(id, name, addresses,"
	    " created) VALUES(?,?,?,?)", "ssss", v->id, v->name, v->addresses,
	    v->created);
}

static int
sq_vm_delete(struct store *st, const char *id)
{
	return sq_write(st, true, "DELETE FROM vms WHERE id = ?", "s", id);
}

static int
sq_vm_set_addresses(struct store *st, const char *id, const char *addresses)
{
	return sq_write(st, true, "UPDATE vms SET addresses = ? WHERE id = ?",
	    "ss", addresses, id);
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

#define SQ_VM_COLS "SELECT id, name, addresses, created FROM vms"

static int
sq_vm_get(struct store *st, const char *id, store_vm_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, SQ_VM_COLS " WHERE id = ?", "s", id),
	    sq_vm_row, (void *)cb, arg);
}

static int
sq_vm_foreach(struct store *st, store_vm_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, SQ_VM_COLS " ORDER BY name", ""),
	    sq_vm_row, (void *)cb, arg);
}

static int
sq_assignment_insert(struct store *st, const struct store_assignment *a)
{
	return sq_write(st, false, "INSERT INTO assignments(token_id, vm_id,"
	    " created) VALUES(?,?,?)", "sss", a->token_id, a->vm_id,
	    a->created);
}

static int
sq_assignment_delete(struct store *st, const char *token_id)
{
	return sq_write(st, true, "DELETE FROM assignments WHERE token_id = ?",
	    "s", token_id);
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

#define SQ_ASSIGNMENT_COLS "SELECT token_id, vm_id, created FROM assignments"

static int
sq_assignment_get(struct store *st, const char *token_id,
    store_assignment_cb *cb, void *arg)
{
	return sq_foreach(st, sq_stmt(st, SQ_ASSIGNMENT_COLS
	    " WHERE token_id = ?", "s", token_id), sq_assignment_row,
	    (void *)cb, arg);
}

static int
sq_assignment_foreach(struct store *st, const char *vm_id,
    store_assignment_cb *cb, void *arg)
{
	if (vm_id != NULL)
		return sq_foreach(st, sq_stmt(st, SQ_ASSIGNMENT_COLS
		    " WHERE vm_id = ? ORDER BY token_id", "s", vm_id),
		    sq_assignment_row, (void *)cb, arg);
	return sq_foreach(st, sq_stmt(st, SQ_ASSIGNMENT_COLS, ""),
	    sq_assignment_row, (void *)cb, arg);
}

const struct store_ops store_sqlite_ops = {
	.name = "sqlite",
	.open = sq_open,
	.close = sq_close,
	.ping = sq_ping,
	.begin = sq_begin,
	.commit = sq_commit,
	.rollback = sq_rollback,
	.token_insert = sq_token_insert,
	.token_delete = sq_token_delete,
	.token_set_revoked = sq_token_set_revoked,
	.token_get = sq_token_get,
	.token_foreach = sq_token_foreach,
	.block_put = sq_block_put,
	.block_foreach = sq_block_foreach,
	.vm_insert = sq_vm_insert,
	.vm_delete = sq_vm_delete,
	.vm_set_addresses = sq_vm_set_addresses,
	.vm_get = sq_vm_get,
	.vm_foreach = sq_vm_foreach,
	.assignment_insert = sq_assignment_insert,
	.assignment_delete = sq_assignment_delete,
	.assignment_get = sq_assignment_get,
	.assignment_foreach = sq_assignment_foreach,
	.session_claim = sq_session_claim,
	.session_release = sq_session_release,
	.session_clear = sq_session_clear,
	.session_foreach = sq_session_foreach,
	.session_report = sq_session_report,
	.session_check = sq_session_check,
	.node_upsert = sq_node_upsert,
	.node_heartbeat = sq_node_heartbeat,
	.node_foreach = sq_node_foreach,
	.node_expire = sq_node_expire,
	.change_insert = sq_change_insert,
	.change_last = sq_change_last,
	.change_foreach = sq_change_foreach,
	.audit_last = sq_audit_last,
	.audit_insert = sq_audit_insert,
	.audit_foreach = sq_audit_foreach,
	.apikey_insert = sq_apikey_insert,
	.apikey_foreach = sq_apikey_foreach,
	.apikey_delete = sq_apikey_delete,
	.apikey_set_mac = sq_apikey_set_mac,
	.doc_put = sq_doc_put,
	.doc_delete = sq_doc_delete,
	.doc_get = sq_doc_get,
	.doc_foreach = sq_doc_foreach,
	.alarm_raise = sq_alarm_raise,
	.alarm_clear = sq_alarm_clear,
	.alarm_ack = sq_alarm_ack,
	.alarm_get = sq_alarm_get,
	.alarm_foreach = sq_alarm_foreach,
};
