/*
 * store_fixture: a fresh SQLite store per test, in its own vt_tmpdir, for
 * the unit tests of the store and of what the controller keeps in it
 * (check_store, check_control_audit).  Every helper asserts (Check).
 */
#ifndef VTOKEN_TEST_STORE_FIXTURE_H
#define VTOKEN_TEST_STORE_FIXTURE_H

#include "server/store/store.h"

/* Checked fixtures: a new directory for the database, then its removal. */
void store_fx_setup(void);
void store_fx_teardown(void);
/* The database file of the running test (it may not exist yet). */
const char *store_fx_db(void);
/* Opens the test's store, creating it the first time. */
struct store *store_fx_open(void);

#endif
