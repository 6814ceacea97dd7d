/*
 * store_pg: the PostgreSQL backend (libpq), for several vtokend nodes on
 * one database.  Replication and failover are the database's: a node
 * follows whatever server its connection string reaches (docs/CLUSTER.md).
 *
 * Connection: one per store (the store thread's).  When the server
 * cannot be reached an operation fails at once with STORE_UNAVAILABLE and
 * the next ones retry the connection with a growing back-off (0.5 s to
 * 2 s), so a dead server costs no connect timeout per request.  The
 * password, when given, is kept only to reconnect and is never in a
 * message.
 *
 * Schema migrations run under an advisory lock, so that nodes starting
 * at once migrate once.  This file: the connection, migrations, helpers,
 * tokens and their blocks, VMs and assignments; store_pg_cluster.c the
 * rest.
 */
#include <arpa/inet.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotime.h"
#include "common/xmalloc.h"
#include "server/store/store_pg_impl.h"

#define PG_CONNECT_TIMEOUT	"5"	/* seconds; the DSN may override */
#define PG_BACKOFF_MIN		0.5
#define PG_BACKOFF_MAX		2.0	/* well inside a lease: see control_node.c */
#define PG_MIGRATE_LOCK		"7631097156"	/* pg_advisory_lock key */
#define PG_MAX_PARAMS		16

struct pg {
	PGconn *conn;
	char *dsn;
	char *password;			/* NULL: libpq's own means */
	double retry_at;		/* monotonic: no attempt before */
	double backoff;
};

#define PG(st) ((struct pg *)(st)->impl)

/* Schema migrations, in order; schema_version holds how many ran. */
static const char *const pg_migrations[] = {
	/* 1: the schema of SQLite's version 3, for a cluster */
	"CREATE TABLE tokens(id text PRIMARY KEY, name text NOT NULL UNIQUE,"
	" num integer NOT NULL CONSTRAINT tokens_num_key UNIQUE,"
	" size bigint NOT NULL, writable boolean NOT NULL,"
	" public_key bytea NOT NULL, created text NOT NULL,"
	" revoked boolean NOT NULL DEFAULT false);"
	"CREATE TABLE token_blocks(token_id text NOT NULL"
	" REFERENCES tokens(id) ON DELETE CASCADE, idx integer NOT NULL,"
	" data bytea NOT NULL, PRIMARY KEY(token_id, idx));"
	"CREATE TABLE vms(id text PRIMARY KEY, name text NOT NULL UNIQUE,"
	" addresses text NOT NULL, created text NOT NULL);"
	"CREATE TABLE assignments(token_id text PRIMARY KEY"
	" REFERENCES tokens(id), vm_id text NOT NULL REFERENCES vms(id),"
	" created text NOT NULL);"
	"CREATE INDEX assignments_vm ON assignments(vm_id);"
	"CREATE TABLE sessions(token_id text PRIMARY KEY, vm_id text NOT NULL,"
	" node text NOT NULL, peer text NOT NULL, since text NOT NULL,"
	" bytes_in bigint NOT NULL DEFAULT 0,"
	" bytes_out bigint NOT NULL DEFAULT 0);"
	"CREATE INDEX sessions_node ON sessions(node);"
	"CREATE TABLE nodes(name text PRIMARY KEY, usbip text NOT NULL,"
	" api text NOT NULL, version text NOT NULL, started text NOT NULL,"
	" heartbeat timestamptz NOT NULL, state text NOT NULL);"
	"CREATE TABLE changes(seq bigserial PRIMARY KEY, kind text NOT NULL,"
	" key text NOT NULL, node text NOT NULL,"
	" time timestamptz NOT NULL DEFAULT now());"
	"CREATE TABLE audit(seq bigint PRIMARY KEY, time text NOT NULL,"
	" actor text NOT NULL, action text NOT NULL, subject text NOT NULL,"
	" detail text NOT NULL, prev_hash text NOT NULL, hash text NOT NULL,"
	" node text);"
	"CREATE TABLE audit_head(id integer PRIMARY KEY CHECK (id = 1),"
	" seq bigint NOT NULL, hash text NOT NULL);"
	"INSERT INTO audit_head VALUES (1, 0, repeat('0', 64));"
	"CREATE TABLE api_keys(id text PRIMARY KEY, name text NOT NULL UNIQUE,"
	" key_hash bytea NOT NULL UNIQUE, role text NOT NULL,"
	" created text NOT NULL);",
	/* 2: API keys can expire */
	"ALTER TABLE api_keys ADD COLUMN expires text;",
	/* 3: alarms (one active row per rule and key) */
	"CREATE TABLE alarms(id text PRIMARY KEY, rule text NOT NULL,"
	" key text NOT NULL, severity text NOT NULL, state text NOT NULL,"
	" message text NOT NULL, count bigint NOT NULL,"
	" first_seen text NOT NULL, last_seen text NOT NULL, cleared text,"
	" acked_by text, acked_at text, node text NOT NULL);"
	"CREATE UNIQUE INDEX alarms_active ON alarms(rule, key)"
	" WHERE state = 'active';"
	"CREATE INDEX alarms_seen ON alarms(last_seen);",
	/* 4: API key rows carry a MAC under the audit key (control_key.c) */
	"ALTER TABLE api_keys ADD COLUMN mac text;",
	/* 5: documents: agent policies, facts, releases (store_pg_doc.c) */
	"CREATE TABLE docs(kind text NOT NULL, key text NOT NULL,"
	" body bytea NOT NULL, updated text NOT NULL,"
	" PRIMARY KEY(kind, key));",
};

/* Whether the connection (still) works. */
static bool
pg_alive(const struct store *st)
{
	return PG(st)->conn != NULL && PQstatus(PG(st)->conn) == CONNECTION_OK;
}

static int
pg_unavailable(struct store *st, const char *what)
{
	const char *msg = PG(st)->conn ? PQerrorMessage(PG(st)->conn) : "";

	snprintf(st->err, sizeof(st->err), "%s: %.*s", what,
	    (int)strcspn(msg, "\n"), msg[0] ? msg : "no connection");
	return STORE_UNAVAILABLE;
}

static void
pg_notice(void *arg, const char *msg)
{
	(void)arg;
	(void)msg;
}

/* Connects (again); 0 or STORE_UNAVAILABLE, with back-off. */
static int
pg_connect(struct store *st)
{
	struct pg *p = PG(st);
	const char *keys[] = { "connect_timeout", "application_name",
	    "dbname", p->password ? "password" : NULL, NULL };
	const char *vals[] = { PG_CONNECT_TIMEOUT, "vtokend", p->dsn,
	    p->password, NULL };
	double now = monotime_sec();

	if (pg_alive(st))
		return 0;
	if (now < p->retry_at) {
		snprintf(st->err, sizeof(st->err), "database unreachable "
		    "(next attempt in %.1f s)", p->retry_at - now);
		return STORE_UNAVAILABLE;
	}
	if (p->conn != NULL)
		PQfinish(p->conn);
	/* Later keywords win: connect_timeout first, so the DSN may set it. */
	p->conn = PQconnectdbParams(keys, vals, 1);
	if (pg_alive(st)) {
		/* Notices ("already exists, skipping") are not errors. */
		PQsetNoticeProcessor(p->conn, pg_notice, NULL);
		/*
		 * A lock held elsewhere fails a transaction after this long,
		 * as SQLite's busy timeout does, rather than queueing every
		 * store job behind it.
		 */
		PQclear(PQexec(p->conn, "SET lock_timeout = '1s'"));
		p->backoff = 0;
		p->retry_at = 0;
		return 0;
	}
	p->backoff = p->backoff == 0 ? PG_BACKOFF_MIN : p->backoff * 2;
	if (p->backoff > PG_BACKOFF_MAX)
		p->backoff = PG_BACKOFF_MAX;
	p->retry_at = now + p->backoff;
	return pg_unavailable(st, "cannot connect");
}

/* The STORE_* code of a failed query, with st->err set. */
static int
pg_classify(struct store *st, PGresult *res)
{
	const char *state = res ? PQresultErrorField(res, PG_DIAG_SQLSTATE) :
	    NULL;
	const char *cons = res ? PQresultErrorField(res,
	    PG_DIAG_CONSTRAINT_NAME) : NULL;
	const char *msg = res ? PQresultErrorMessage(res) : "";

	if (!pg_alive(st) || state == NULL || strncmp(state, "08", 2) == 0 ||
	    strncmp(state, "57P", 3) == 0)
		return pg_unavailable(st, "lost the database");
	snprintf(st->err, sizeof(st->err), "%.*s", (int)strcspn(msg, "\n"),
	    msg);
	if (strcmp(state, "23505") == 0)
		return cons != NULL && strcmp(cons, "tokens_num_key") == 0 ?
		    STORE_CONFLICT_NUM : STORE_CONFLICT;
	if (strcmp(state, "23503") == 0) {
		snprintf(st->err, sizeof(st->err), "the token or VM it refers "
		    "to no longer exists");
		return STORE_NOTFOUND;
	}
	return STORE_ERR;
}

static PGresult *pg_vquery_once(struct store *st, int *result,
    const char *sql, const char *fmt, va_list ap);

/*
 * A connection the server closed while idle (a restart, an idle timeout)
 * is found only by the next statement.  Outside a transaction that
 * statement (a read, or BEGIN) is run again once on a new connection:
 * it changed nothing, so the job does not fail for a reconnect that
 * works at once.  Inside a transaction the job fails, as it must.
 */
static PGresult *
pg_vquery(struct store *st, int *result, const char *sql, const char *fmt,
    va_list ap)
{
	bool was_alive = pg_alive(st);
	PGresult *res;
	va_list again;

	va_copy(again, ap);
	res = pg_vquery_once(st, result, sql, fmt, ap);
	if (res == NULL && *result == STORE_UNAVAILABLE && was_alive &&
	    !st->in_tx && !pg_alive(st)) {
		PG(st)->retry_at = 0;
		res = pg_vquery_once(st, result, sql, fmt, again);
	}
	va_end(again);
	return res;
}

static PGresult *
pg_vquery_once(struct store *st, int *result, const char *sql,
    const char *fmt, va_list ap)
{
	const char *values[PG_MAX_PARAMS];
	int lengths[PG_MAX_PARAMS], formats[PG_MAX_PARAMS];
	char nums[PG_MAX_PARAMS][24];
	int n = 0;
	PGresult *res;
	ExecStatusType s;

	if ((*result = pg_connect(st)) != 0)
		return NULL;
	for (const char *f = fmt; *f != '\0' && n < PG_MAX_PARAMS; f++, n++) {
		lengths[n] = 0;
		formats[n] = 0;
		if (*f == 's')
			values[n] = va_arg(ap, const char *);
		else if (*f == 'i') {
			snprintf(nums[n], sizeof(nums[n]), "%lld",
			    (long long)va_arg(ap, int64_t));
			values[n] = nums[n];
		} else {
			values[n] = va_arg(ap, const char *);
			lengths[n] = va_arg(ap, int);
			formats[n] = 1;
		}
	}
	res = PQexecParams(PG(st)->conn, sql, n, NULL, values, lengths,
	    formats, 0);
	s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	if (s == PGRES_COMMAND_OK || s == PGRES_TUPLES_OK) {
		*result = 0;
		return res;
	}
	*result = pg_classify(st, res);
	PQclear(res);
	return NULL;
}

PGresult *
pg_query(struct store *st, int *result, const char *sql, const char *fmt,
    ...)
{
	PGresult *res;
	va_list ap;

	va_start(ap, fmt);
	res = pg_vquery(st, result, sql, fmt, ap);
	va_end(ap);
	return res;
}

int
pg_write(struct store *st, bool need_change, const char *sql,
    const char *fmt, ...)
{
	PGresult *res;
	va_list ap;
	int r;

	va_start(ap, fmt);
	res = pg_vquery(st, &r, sql, fmt, ap);
	va_end(ap);
	if (res == NULL)
		return r;
	if (need_change && strcmp(PQcmdTuples(res), "0") == 0)
		r = STORE_NOTFOUND;
	PQclear(res);
	return r;
}

int
pg_rows(PGresult *res, int (*row)(PGresult *, int, void *, void *),
    void *cb, void *arg)
{
	int r = 0;

	for (int i = 0; r == 0 && i < PQntuples(res); i++)
		r = row(res, i, cb, arg);
	PQclear(res);
	return r;
}

void
pg_text(PGresult *res, int row, int col, char *dst, size_t len)
{
	snprintf(dst, len, "%s", PQgetvalue(res, row, col));
}

const char *
pg_ctext(PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col);
}

int64_t
pg_int(PGresult *res, int row, int col)
{
	return strtoll(PQgetvalue(res, row, col), NULL, 10);
}

bool
pg_bool(PGresult *res, int row, int col)
{
	return PQgetvalue(res, row, col)[0] == 't';
}

int
pg_bytea(PGresult *res, int row, int col, uint8_t *dst, size_t len)
{
	size_t n = 0;
	unsigned char *b = PQunescapeBytea((const unsigned char *)
	    PQgetvalue(res, row, col), &n);
	int rv = -1;

	if (b != NULL && n == len) {
		memcpy(dst, b, len);
		rv = 0;
	}
	if (b != NULL) {
		explicit_bzero(b, n);	/* may be a token's block */
		PQfreemem(b);
	}
	return rv;
}

/* Runs sql (no parameters, several statements); 0 or a STORE_* code. */
static int
pg_exec(struct store *st, const char *sql)
{
	PGresult *res = PQexec(PG(st)->conn, sql);
	ExecStatusType s = res ? PQresultStatus(res) : PGRES_FATAL_ERROR;
	int r = 0;

	if (s != PGRES_COMMAND_OK && s != PGRES_TUPLES_OK)
		r = pg_classify(st, res);
	PQclear(res);
	return r;
}

static int
pg_migrate_under_lock(struct store *st)
{
	size_t n = sizeof(pg_migrations) / sizeof(pg_migrations[0]);
	PGresult *res;
	int64_t version;
	int r;

	if ((r = pg_exec(st, "CREATE TABLE IF NOT EXISTS schema_version("
	    "version integer NOT NULL)")) != 0)
		return r;
	res = pg_query(st, &r, "SELECT coalesce(max(version), 0) FROM"
	    " schema_version", "");
	if (res == NULL)
		return r;
	version = pg_int(res, 0, 0);
	PQclear(res);
	if (version < 0 || (size_t)version > n) {
		snprintf(st->err, sizeof(st->err), "database schema %lld is "
		    "newer than this vtokend (%zu)", (long long)version, n);
		return STORE_ERR;
	}
	for (size_t v = (size_t)version; v < n && r == 0; v++) {
		char sql[64];

		snprintf(sql, sizeof(sql), "INSERT INTO schema_version "
		    "VALUES(%zu)", v + 1);
		if ((r = pg_exec(st, "BEGIN")) != 0)
			break;
		if ((r = pg_exec(st, pg_migrations[v])) == 0 &&
		    (r = pg_exec(st, sql)) == 0)
			r = pg_exec(st, "COMMIT");
		if (r != 0) {
			char keep[sizeof(st->err)];

			memcpy(keep, st->err, sizeof(keep));
			(void)pg_exec(st, "ROLLBACK");
			memcpy(st->err, keep, sizeof(keep));
		}
	}
	return r;
}

/* Nodes starting at once: the first migrates, the others wait. */
static int
pg_migrate(struct store *st)
{
	int r;

	/*
	 * Another node's migration may take longer than lock_timeout: wait
	 * for it (the lock is a session's, freed if that node dies).
	 */
	r = pg_exec(st, "SET lock_timeout = 0; SELECT pg_advisory_lock("
	    PG_MIGRATE_LOCK "); SET lock_timeout = '1s'");
	if (r != 0)
		return r;
	r = pg_migrate_under_lock(st);
	if (pg_alive(st)) {
		char keep[sizeof(st->err)];

		memcpy(keep, st->err, sizeof(keep));
		(void)pg_exec(st, "SELECT pg_advisory_unlock(" PG_MIGRATE_LOCK
		    ")");
		memcpy(st->err, keep, sizeof(keep));
	}
	return r;
}

static void
pg_free(struct pg *p)
{
	if (p->conn != NULL)
		PQfinish(p->conn);
	if (p->password != NULL) {
		explicit_bzero(p->password, strlen(p->password));
		free(p->password);
	}
	free(p->dsn);
	free(p);
}

static int
pg_open(struct store *st, const char *dsn, const char *password)
{
	struct pg *p = xcalloc(1, sizeof(*p));
	int r;

	p->dsn = xstrdup(dsn);
	p->password = password != NULL ? xstrdup(password) : NULL;
	st->impl = p;
	if ((r = pg_connect(st)) == 0)
		r = pg_migrate(st);
	if (r != 0) {
		pg_free(p);
		st->impl = NULL;
		return STORE_ERR;
	}
	return 0;
}

static void
pg_close(struct store *st)
{
	if (st->impl != NULL)
		pg_free(PG(st));
	st->impl = NULL;
}

static int
pg_ping(struct store *st)
{
	return pg_connect(st);
}

static int
pg_begin(struct store *st)
{
	int r = pg_connect(st);

	if (r != 0)
		return r;
	if ((r = pg_exec(st, "BEGIN")) == STORE_UNAVAILABLE &&
	    !pg_alive(st)) {
		/* Closed while idle: a new connection, once (pg_vquery). */
		PG(st)->retry_at = 0;
		if ((r = pg_connect(st)) == 0)
			r = pg_exec(st, "BEGIN");
	}
	return r;
}

static int
pg_commit(struct store *st)
{
	return pg_exec(st, "COMMIT");
}

static void
pg_rollback(struct store *st)
{
	char keep[sizeof(st->err)];

	/* Keep the error that made the caller roll back. */
	memcpy(keep, st->err, sizeof(keep));
	if (pg_alive(st) && PQtransactionStatus(PG(st)->conn) != PQTRANS_IDLE)
		(void)pg_exec(st, "ROLLBACK");
	memcpy(st->err, keep, sizeof(keep));
}

static int
pg_token_insert(struct store *st, const struct store_token *t)
{
	return pg_write(st, false, "INSERT INTO tokens(id, name, num, size,"
	    " writable, public_key, created, revoked)"
	    " VALUES($1, $2, $3, $4, $5::integer::boolean, $6, $7,"
	    " $8::integer::boolean)", "ssiiibsi", t->id, t->name,
	    (int64_t)t->num, (int64_t)t->size, (int64_t)t->writable,
	    t->public_key, (int)sizeof(t->public_key), t->created,
	    (int64_t)t->revoked);
}

static int
pg_token_delete(struct store *st, const char *id)
{
	return pg_write(st, true, "DELETE FROM tokens WHERE id = $1", "s", id);
}

static int
pg_token_set_revoked(struct store *st, const char *id, bool revoked)
{
	return pg_write(st, true, "UPDATE tokens SET revoked ="
	    " $1::integer::boolean WHERE id = $2", "is", (int64_t)revoked, id);
}

static int
pg_token_row(PGresult *res, int i, void *cb, void *arg)
{
	struct store_token t;

	memset(&t, 0, sizeof(t));
	pg_text(res, i, 0, t.id, sizeof(t.id));
	pg_text(res, i, 1, t.name, sizeof(t.name));
	t.num = (uint32_t)pg_int(res, i, 2);
	t.size = (uint64_t)pg_int(res, i, 3);
	t.writable = pg_bool(res, i, 4);
	(void)pg_bytea(res, i, 5, t.public_key, sizeof(t.public_key));
	pg_text(res, i, 6, t.created, sizeof(t.created));
	t.revoked = pg_bool(res, i, 7);
	return ((store_token_cb *)cb)(arg, &t);
}

#define PG_TOKEN_COLS "SELECT id, name, num, size, writable, public_key," \
	" created, revoked FROM tokens"

/* Runs a SELECT and walks its rows; a STORE_* code or row()'s value. */
static int
pg_select(struct store *st, int (*row)(PGresult *, int, void *, void *),
    void *cb, void *arg, const char *sql, const char *fmt, ...)
{
	PGresult *res;
	va_list ap;
	int r;

	va_start(ap, fmt);
	res = pg_vquery(st, &r, sql, fmt, ap);
	va_end(ap);
	return res == NULL ? r : pg_rows(res, row, cb, arg);
}

static int
pg_token_get(struct store *st, const char *id, store_token_cb *cb, void *arg)
{
	return pg_select(st, pg_token_row, (void *)cb, arg, PG_TOKEN_COLS
	    " WHERE id = $1", "s", id);
}

static int
pg_token_foreach(struct store *st, store_token_cb *cb, void *arg)
{
	return pg_select(st, pg_token_row, (void *)cb, arg, PG_TOKEN_COLS
	    " ORDER BY num", "");
}

static bool
pg_is_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

static int
pg_block_put(struct store *st, const char *token_id, uint32_t idx,
    const uint8_t *data)
{
	if (data == NULL || pg_is_zero(data, STORE_BLOCK_SIZE))
		return pg_write(st, false, "DELETE FROM token_blocks"
		    " WHERE token_id = $1 AND idx = $2", "si", token_id,
		    (int64_t)idx);
	return pg_write(st, false, "INSERT INTO token_blocks(token_id, idx,"
	    " data) VALUES($1, $2, $3) ON CONFLICT(token_id, idx) DO UPDATE"
	    " SET data = excluded.data", "sib", token_id, (int64_t)idx, data,
	    (int)STORE_BLOCK_SIZE);
}

static int
pg_block_row(PGresult *res, int i, void *cb, void *arg)
{
	uint8_t data[STORE_BLOCK_SIZE];
	struct store_block b = { (uint32_t)pg_int(res, i, 0), data };
	int r;

	if (pg_bytea(res, i, 1, data, sizeof(data)) < 0)
		return 0;	/* never written so; not ours to serve */
	r = ((store_block_cb *)cb)(arg, &b);
	explicit_bzero(data, sizeof(data));
	return r;
}

static int
pg_block_foreach(struct store *st, const char *token_id, store_block_cb *cb,
    void *arg)
{
	return pg_select(st, pg_block_row, (void *)cb, arg, "SELECT idx, data"
	    " FROM token_blocks WHERE token_id = $1 ORDER BY idx", "s",
	    token_id);
}

static int
pg_vm_insert(struct store *st, const struct store_vm *v)
{
	return pg_write(st, false, "INSERT INTO vms(id, name, addresses,"
	    " created) VALUES($1, $2, $3, $4)", "ssss", v->id, v->name,
	    v->addresses, v->created);
}

static int
pg_vm_delete(struct store *st, const char *id)
{
	return pg_write(st, true, "DELETE FROM vms WHERE id = $1", "s", id);
}

static int
pg_vm_set_addresses(struct store *st, const char *id, const char *addresses)
{
	return pg_write(st, true, "UPDATE vms SET addresses = $1"
	    " WHERE id = $2", "ss", addresses, id);
}

static int
pg_vm_row(PGresult *res, int i, void *cb, void *arg)
{
	struct store_vm v;

	memset(&v, 0, sizeof(v));
	pg_text(res, i, 0, v.id, sizeof(v.id));
	pg_text(res, i, 1, v.name, sizeof(v.name));
	v.addresses = pg_ctext(res, i, 2);
	pg_text(res, i, 3, v.created, sizeof(v.created));
	return ((store_vm_cb *)cb)(arg, &v);
}

#define PG_VM_COLS "SELECT id, name, addresses, created FROM vms"

static int
pg_vm_get(struct store *st, const char *id, store_vm_cb *cb, void *arg)
{
	return pg_select(st, pg_vm_row, (void *)cb, arg, PG_VM_COLS
	    " WHERE id = $1", "s", id);
}

static int
pg_vm_foreach(struct store *st, store_vm_cb *cb, void *arg)
{
	return pg_select(st, pg_vm_row, (void *)cb, arg, PG_VM_COLS
	    " ORDER BY name", "");
}

static int
pg_assignment_insert(struct store *st, const struct store_assignment *a)
{
	return pg_write(st, false, "INSERT INTO assignments(token_id, vm_id,"
	    " created) VALUES($1, $2, $3)", "sss", a->token_id, a->vm_id,
	    a->created);
}

static int
pg_assignment_delete(struct store *st, const char *token_id)
{
	return pg_write(st, true, "DELETE FROM assignments WHERE token_id ="
	    " $1", "s", token_id);
}

static int
pg_assignment_row(PGresult *res, int i, void *cb, void *arg)
{
	struct store_assignment a;

	memset(&a, 0, sizeof(a));
	pg_text(res, i, 0, a.token_id, sizeof(a.token_id));
	pg_text(res, i, 1, a.vm_id, sizeof(a.vm_id));
	pg_text(res, i, 2, a.created, sizeof(a.created));
	return ((store_assignment_cb *)cb)(arg, &a);
}

#define PG_ASSIGNMENT_COLS "SELECT token_id, vm_id, created FROM assignments"

static int
pg_assignment_get(struct store *st, const char *token_id,
    store_assignment_cb *cb, void *arg)
{
	return pg_select(st, pg_assignment_row, (void *)cb, arg,
	    PG_ASSIGNMENT_COLS " WHERE token_id = $1", "s", token_id);
}

static int
pg_assignment_foreach(struct store *st, const char *vm_id,
    store_assignment_cb *cb, void *arg)
{
	if (vm_id != NULL)
		return pg_select(st, pg_assignment_row, (void *)cb, arg,
		    PG_ASSIGNMENT_COLS " WHERE vm_id = $1 ORDER BY token_id",
		    "s", vm_id);
	return pg_select(st, pg_assignment_row, (void *)cb, arg,
	    PG_ASSIGNMENT_COLS, "");
}

const struct store_ops store_pg_ops = {
	.name = "postgresql",
	.open = pg_open,
	.close = pg_close,
	.ping = pg_ping,
	.begin = pg_begin,
	.commit = pg_commit,
	.rollback = pg_rollback,
	.token_insert = pg_token_insert,
	.token_delete = pg_token_delete,
	.token_set_revoked = pg_token_set_revoked,
	.token_get = pg_token_get,
	.token_foreach = pg_token_foreach,
	.block_put = pg_block_put,
	.block_foreach = pg_block_foreach,
	.vm_insert = pg_vm_insert,
	.vm_delete = pg_vm_delete,
	.vm_set_addresses = pg_vm_set_addresses,
	.vm_get = pg_vm_get,
	.vm_foreach = pg_vm_foreach,
	.assignment_insert = pg_assignment_insert,
	.assignment_delete = pg_assignment_delete,
	.assignment_get = pg_assignment_get,
	.assignment_foreach = pg_assignment_foreach,
	.session_claim = pg_session_claim,
	.session_release = pg_session_release,
	.session_clear = pg_session_clear,
	.session_foreach = pg_session_foreach,
	.session_report = pg_session_report,
	.session_check = pg_session_check,
	.node_upsert = pg_node_upsert,
	.node_heartbeat = pg_node_heartbeat,
	.node_foreach = pg_node_foreach,
	.node_expire = pg_node_expire,
	.change_insert = pg_change_insert,
	.change_last = pg_change_last,
	.change_foreach = pg_change_foreach,
	.audit_last = pg_audit_last,
	.audit_insert = pg_audit_insert,
	.audit_foreach = pg_audit_foreach,
	.apikey_insert = pg_apikey_insert,
	.apikey_foreach = pg_apikey_foreach,
	.apikey_delete = pg_apikey_delete,
	.apikey_set_mac = pg_apikey_set_mac,
	.doc_put = pg_doc_put,
	.doc_delete = pg_doc_delete,
	.doc_get = pg_doc_get,
	.doc_foreach = pg_doc_foreach,
	.alarm_raise = pg_alarm_raise,
	.alarm_clear = pg_alarm_clear,
	.alarm_ack = pg_alarm_ack,
	.alarm_get = pg_alarm_get,
	.alarm_foreach = pg_alarm_foreach,
};
