/*
 * check_control_audit: the hash-chained audit log (control_audit.[ch]) in
 * a real SQLite store: append and verify, with tampering, deletion and
 * reordering detected at the right record, a consistently forged record
 * caught by its successor, and the canonical form behind the hash.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "server/control/control_audit.h"
#include "server/store/store.h"
#include "../lib/store_fixture.h"

static void
append_n(struct store *st, int n)
{
	for (int i = 0; i < n; i++) {
		json_t *d = json_pack("{s:i, s:s}", "i", i, "note", "x\"y");

		ck_assert_int_eq(store_begin(st), 0);
		ck_assert_int_eq(control_audit_append(st, NULL, "test", "assign",
		    "token:T", d), i + 1);
		ck_assert_int_eq(store_commit(st), 0);
		json_decref(d);
	}
}

static void
sql(const char *stmt)
{
	store_fx_sql(stmt);
}

static int64_t
verify_bad_seq(void)
{
	struct store *st = store_fx_open();
	struct control_audit_result v;

	ck_assert_int_eq(control_audit_verify(st, &v), 0);
	store_close(st);
	return v.bad_seq;
}

START_TEST(audit_chain)
{
	struct store *st = store_fx_open();
	struct control_audit_result v;

	append_n(st, 8);
	ck_assert_int_eq(control_audit_verify(st, &v), 0);
	ck_assert_int_eq(v.bad_seq, 0);
	ck_assert_int_eq(v.records, 8);
	store_close(st);

	sql("UPDATE audit SET actor = 'mallory' WHERE seq = 5");
	ck_assert_int_eq(verify_bad_seq(), 5);
	sql("UPDATE audit SET actor = 'test' WHERE seq = 5");
	ck_assert_int_eq(verify_bad_seq(), 0);

	sql("DELETE FROM audit WHERE seq = 3");
	ck_assert_int_eq(verify_bad_seq(), 4);
}
END_TEST

/* Record 2 with its strings copied into owned buffers. */
struct grabbed {
	struct store_audit rec;
	char actor[64], action[64], subject[64];
};

static int
grab_second(void *arg, const struct store_audit *rec)
{
	struct grabbed *g = arg;

	if (rec->seq != 2)
		return 0;
	g->rec = *rec;
	snprintf(g->actor, sizeof(g->actor), "%s", rec->actor);
	snprintf(g->action, sizeof(g->action), "%s", rec->action);
	snprintf(g->subject, sizeof(g->subject), "%s", rec->subject);
	g->rec.actor = g->actor;
	g->rec.action = g->action;
	g->rec.subject = g->subject;
	return 1;
}

START_TEST(audit_rehash_detected)
{
	struct store *st = store_fx_open();
	struct grabbed g;
	struct store_audit *rec = &g.rec;
	char stmt[256];

	append_n(st, 4);
	/* Forge record 2 consistently: new detail AND its correct hash. */
	memset(&g, 0, sizeof(g));
	/* The callback stops the walk at record 2 (returns 1). */
	ck_assert_int_eq(st->ops->audit_foreach(st, 0, 0, grab_second, &g),
	    1);
	ck_assert_int_eq(rec->seq, 2);
	rec->detail = "{\"i\":9}";
	ck_assert_int_eq(control_audit_hash(rec, rec->hash), 0);
	store_close(st);
	snprintf(stmt, sizeof(stmt), "UPDATE audit SET detail = '%s', "
	    "hash = '%s' WHERE seq = 2", rec->detail, rec->hash);
	sql(stmt);
	/* Record 2 checks out alone; the chain breaks at record 3. */
	ck_assert_int_eq(verify_bad_seq(), 3);
}
END_TEST

START_TEST(audit_hash_canonical)
{
	struct store_audit r;
	char a[STORE_HASH_HEX + 1], b[STORE_HASH_HEX + 1];

	memset(&r, 0, sizeof(r));
	r.seq = 1;
	snprintf(r.time, sizeof(r.time), "2026-11-26T00:00:00Z");
	r.actor = "a";
	r.action = "b";
	r.subject = "c";
	memset(r.prev_hash, '0', STORE_HASH_HEX);
	/* Key order and spacing of the detail do not change the hash. */
	r.detail = "{\"x\":1,\"y\":2}";
	ck_assert_int_eq(control_audit_hash(&r, a), 0);
	r.detail = "{ \"y\" : 2, \"x\" : 1 }";
	ck_assert_int_eq(control_audit_hash(&r, b), 0);
	ck_assert_str_eq(a, b);
	r.detail = "{\"x\":1,\"y\":3}";
	ck_assert_int_eq(control_audit_hash(&r, b), 0);
	ck_assert_str_ne(a, b);
	r.detail = "not json";
	ck_assert_int_eq(control_audit_hash(&r, b), -1);
}
END_TEST

static Suite *
audit_suite(void)
{
	Suite *s = suite_create("control_audit");
	TCase *tc = tcase_create("chain");

	tcase_add_checked_fixture(tc, store_fx_setup, store_fx_teardown);
	tcase_add_test(tc, audit_chain);
	tcase_add_test(tc, audit_rehash_detected);
	tcase_add_test(tc, audit_hash_canonical);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(audit_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
