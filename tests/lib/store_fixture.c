/*
 * store_fixture: see store_fixture.h.
 */
#include "store_fixture.h"
#include "vt_tmpdir.h"

#include <check.h>
#include <libpq-fe.h>
#include <limits.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static char store_fx_where[PATH_MAX + 512];

bool
store_fx_is_pg(void)
{
	const char *v = getenv("VT_STORE");

	return v != NULL && strcmp(v, "postgresql") == 0;
}

bool
store_fx_pg_createdb(char *dsn, size_t len)
{
	const char *dir = getenv("VT_PG_DIR");
	char cmd[PATH_MAX + 128];
	FILE *p;
	size_t n;

	if (dir == NULL || dir[0] == '\0')
		return false;
	snprintf(cmd, sizeof(cmd), "sh '%s/tests/lib/pg_fixture.sh' createdb "
	    "'%s'", VT_SOURCE_DIR, dir);
	/* No Check here: vtd_init runs outside tests too (the benches). */
	if ((p = popen(cmd, "r")) == NULL)
		return false;
	if (fgets(dsn, (int)len, p) == NULL)
		dsn[0] = '\0';
	if (pclose(p) != 0 || dsn[0] == '\0') {
		fprintf(stderr, "%s: no DSN\n", cmd);
		return false;
	}
	n = strcspn(dsn, "\n");
	dsn[n] = '\0';
	return true;
}

void
store_fx_setup(void)
{
	vt_tmpdir_setup();
	if (!store_fx_is_pg()) {
		snprintf(store_fx_where, sizeof(store_fx_where), "%s/t.db",
		    vt_tmpdir);
		return;
	}
	ck_assert_msg(store_fx_pg_createdb(store_fx_where,
	    sizeof(store_fx_where)), "no database: VT_STORE=postgresql needs VT_PG_DIR and its server");
}

void
store_fx_teardown(void)
{
	vt_tmpdir_teardown();
	store_fx_where[0] = '\0';
}

const char *
store_fx_db(void)
{
	return store_fx_where;
}

struct store *
store_fx_open(void)
{
	char *cause = NULL;
	struct store *st = store_open(store_fx_is_pg() ? "postgresql" :
	    "sqlite", store_fx_where, NULL, &cause);

	ck_assert_msg(st != NULL, "%s", cause ? cause : "?");
	return st;
}

long
store_fx_sql_on(const char *where, bool pg, const char *stmt)
{
	PGconn *c;
	PGresult *r;
	sqlite3 *s;
	long n;

	if (!pg) {
		ck_assert_int_eq(sqlite3_open(where, &s), SQLITE_OK);
		ck_assert_msg(sqlite3_exec(s, stmt, NULL, NULL, NULL) ==
		    SQLITE_OK, "%s", sqlite3_errmsg(s));
		n = sqlite3_changes(s);
		sqlite3_close(s);
		return n;
	}
	c = PQconnectdb(where);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	r = PQexec(c, stmt);
	ck_assert_msg(PQresultStatus(r) == PGRES_COMMAND_OK ||
	    PQresultStatus(r) == PGRES_TUPLES_OK, "%s: %s", stmt,
	    PQerrorMessage(c));
	n = strtol(PQcmdTuples(r), NULL, 10);
	PQclear(r);
	PQfinish(c);
	return n;
}

void
store_fx_sql(const char *stmt)
{
	(void)store_fx_sql_on(store_fx_where, store_fx_is_pg(), stmt);
}

void *
store_fx_lock(const char *where, bool pg)
{
	PGconn *c;
	sqlite3 *s;

	if (!pg) {
		ck_assert_int_eq(sqlite3_open(where, &s), SQLITE_OK);
		ck_assert_int_eq(sqlite3_exec(s, "BEGIN EXCLUSIVE", NULL, NULL,
		    NULL), SQLITE_OK);
		return s;
	}
	c = PQconnectdb(where);
	ck_assert_msg(PQstatus(c) == CONNECTION_OK, "%s", PQerrorMessage(c));
	/* Every change appends to the audit chain through audit_head. */
	PQclear(PQexec(c, "BEGIN"));
	PQclear(PQexec(c, "LOCK TABLE audit_head IN ACCESS EXCLUSIVE MODE"));
	return c;
}

void
store_fx_unlock(void *lock, bool pg)
{
	if (!pg) {
		ck_assert_int_eq(sqlite3_exec(lock, "COMMIT", NULL, NULL, NULL),
		    SQLITE_OK);
		sqlite3_close(lock);
		return;
	}
	PQclear(PQexec(lock, "COMMIT"));
	PQfinish(lock);
}
