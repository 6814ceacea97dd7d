/*
 * check_store: the SQLite store behind its ops table: schema creation and
 * reopen, uniqueness as STORE_CONFLICT, deletes of missing rows as
 * STORE_NOTFOUND, and rollback.  The audit chain kept in it is tested in
 * check_control_audit (it belongs to the controller).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/store/store.h"
#include "../lib/store_fixture.h"

static void
token_row(struct store_token *t, const char *id, const char *name,
    unsigned port)
{
	memset(t, 0, sizeof(*t));
	snprintf(t->id, sizeof(t->id), "%s", id);
	snprintf(t->name, sizeof(t->name), "%s", name);
	t->num = port;
	t->size = 1 << 20;
	snprintf(t->created, sizeof(t->created), "2026-11-26T00:00:00Z");
}

static int
count_cb(void *arg, const struct store_token *t)
{
	(void)t;
	(*(int *)arg)++;
	return 0;
}

START_TEST(unknown_backend)
{
	char *cause = NULL;

	ck_assert_ptr_null(store_open("postgres-someday", store_fx_db(), NULL,
	    &cause));
	ck_assert_ptr_nonnull(strstr(cause, "unknown store backend"));
	free(cause);
}
END_TEST

START_TEST(conflicts_and_rollback)
{
	struct store *st = store_fx_open();
	struct store_token t;
	int n = 0;

	token_row(&t, "00000000000000A1", "one", 1);
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(st->ops->token_insert(st, &t), 0);
	ck_assert_int_eq(store_commit(st), 0);
	/* Same name, same port, same id: all conflicts. */
	token_row(&t, "00000000000000A2", "one", 2);
	ck_assert_int_eq(st->ops->token_insert(st, &t), STORE_CONFLICT);
	token_row(&t, "00000000000000A2", "two", 1);
	ck_assert_int_eq(st->ops->token_insert(st, &t), STORE_CONFLICT_NUM);
	token_row(&t, "00000000000000A1", "three", 3);
	ck_assert_int_eq(st->ops->token_insert(st, &t), STORE_CONFLICT);
	ck_assert_int_eq(st->ops->token_delete(st, "nope"), STORE_NOTFOUND);
	/* A rolled-back insert leaves nothing. */
	token_row(&t, "00000000000000A3", "four", 4);
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(st->ops->token_insert(st, &t), 0);
	store_rollback(st);
	ck_assert_int_eq(st->ops->token_foreach(st, count_cb, &n), 0);
	ck_assert_int_eq(n, 1);
	store_close(st);
	/* Reopen: the schema is there, the row too. */
	st = store_fx_open();
	n = 0;
	ck_assert_int_eq(st->ops->token_foreach(st, count_cb, &n), 0);
	ck_assert_int_eq(n, 1);
	store_close(st);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("store");
	TCase *tc = tcase_create("store");
	SRunner *sr;
	int failed;

	tcase_add_checked_fixture(tc, store_fx_setup, store_fx_teardown);
	tcase_add_test(tc, unknown_backend);
	tcase_add_test(tc, conflicts_and_rollback);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
