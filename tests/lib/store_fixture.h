/*
 * store_fixture: a fresh store per test for the unit tests of the store
 * and of what the controller keeps in it (check_store,
 * check_control_audit), on either backend: SQLite in the test's own
 * vt_tmpdir, or, with VT_STORE=postgresql in the environment, a fresh
 * database on the suite's PostgreSQL server (VT_PG_DIR, started by the
 * pg.start test with tests/lib/pg_fixture.sh).  Every helper asserts
 * (Check).
 */
#ifndef VTOKEN_TEST_STORE_FIXTURE_H
#define VTOKEN_TEST_STORE_FIXTURE_H

#include <stdbool.h>

#include "server/store/store.h"

/* Checked fixtures: a new database, then its removal. */
void store_fx_setup(void);
void store_fx_teardown(void);
/* True when the tests run on PostgreSQL. */
bool store_fx_is_pg(void);
/* The test's database: a file path (SQLite) or a DSN (PostgreSQL). */
const char *store_fx_db(void);
/* Opens the test's store, creating it the first time. */
struct store *store_fx_open(void);
/* Runs SQL on the test's database behind the store's back (tampering). */
void store_fx_sql(const char *stmt);
/*
 * The same on any database: where is a file path (SQLite) or a DSN
 * (pg).  Returns the number of rows the statement changed.
 */
long store_fx_sql_on(const char *where, bool pg, const char *stmt);
/*
 * Another process's lock on the database (what an operator's shell or a
 * stuck client would hold): every write of the store waits on it.  Free
 * with store_fx_unlock.
 */
void *store_fx_lock(const char *where, bool pg);
void store_fx_unlock(void *lock, bool pg);
/*
 * A fresh PostgreSQL database on the suite's server (VT_PG_DIR): its
 * DSN into dsn; false when there is no server (VT_PG_DIR unset) or
 * the database could not be made (said on stderr).  No Check assertion.
 */
bool store_fx_pg_createdb(char *dsn, size_t len);

#endif
