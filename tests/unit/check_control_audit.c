/*
 * check_control_audit: the hash-chained audit log (control_audit.[ch]) in
 * a real SQLite store: append and verify, with tampering, deletion and
 * reordering detected at the right record, a consistently forged record
 * caught by its successor, and the canonical form behind the hash.  Then
 * the keyed chain: an unkeyed chain sealed and still verifying, and an
 * attacker who can write the database but not read the audit key, who
 * deletes, inserts or reorders records and recomputes every hash with
 * the public formula, or cuts the tail: each caught and named.
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

	memset(&v, 0, sizeof(v));
	ck_assert_int_eq(control_audit_verify(st, &v), 0);
	store_close(st);
	return v.bad_seq;
}

START_TEST(audit_chain)
{
	struct store *st = store_fx_open();
	struct control_audit_result v;

	append_n(st, 8);
	memset(&v, 0, sizeof(v));
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
	ck_assert_int_eq(control_audit_hash(rec, NULL, rec->hash), 0);
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
	ck_assert_int_eq(control_audit_hash(&r, NULL, a), 0);
	r.detail = "{ \"y\" : 2, \"x\" : 1 }";
	ck_assert_int_eq(control_audit_hash(&r, NULL, b), 0);
	ck_assert_str_eq(a, b);
	r.detail = "{\"x\":1,\"y\":3}";
	ck_assert_int_eq(control_audit_hash(&r, NULL, b), 0);
	ck_assert_str_ne(a, b);
	r.detail = "not json";
	ck_assert_int_eq(control_audit_hash(&r, NULL, b), -1);
}
END_TEST

/* ---- the keyed chain ---- */

static const uint8_t test_key[32] = { 7, 1, 2, 3, 4, 5, 6, 7, 8, 9 };

/* Empties the log (PostgreSQL also keeps the head in a row of its own). */
static void
clear_audit(void)
{
	store_fx_sql("DELETE FROM audit");
	if (store_fx_is_pg())
		store_fx_sql("UPDATE audit_head SET seq = 0, "
		    "hash = repeat('0', 64)");
}

static struct store *
keyed_open(void)
{
	struct store *st = store_fx_open();

	store_set_audit_key(st, test_key);
	return st;
}

/* Appends n records through a keyed store (after its seal). */
static void
keyed_append(struct store *st, int n)
{
	for (int i = 0; i < n; i++) {
		json_t *d = json_pack("{s:i}", "k", i);

		ck_assert_int_eq(store_begin(st), 0);
		ck_assert_int_gt(control_audit_append(st, "n1", "test",
		    "revoke", "token:K", d), 0);
		ck_assert_int_eq(store_commit(st), 0);
		json_decref(d);
	}
}

static struct control_audit_result
keyed_verify(int64_t head_seq, const char *head_hash)
{
	struct store *st = keyed_open();
	struct control_audit_result v;

	memset(&v, 0, sizeof(v));
	v.head_seq = head_seq;
	if (head_hash != NULL)
		snprintf(v.head_hash, sizeof(v.head_hash), "%s", head_hash);
	ck_assert_int_eq(control_audit_verify(st, &v), 0);
	store_close(st);
	return v;
}

/* Every record, with its strings owned, in seq order. */
struct copy {
	struct store_audit rec[64];
	char text[64][4][128];
	int n;
};

static int
copy_row(void *arg, const struct store_audit *rec)
{
	struct copy *c = arg;
	struct store_audit *r = &c->rec[c->n];
	char (*t)[128] = c->text[c->n];

	ck_assert_int_lt(c->n, 64);
	*r = *rec;
	snprintf(t[0], 128, "%s", rec->actor);
	snprintf(t[1], 128, "%s", rec->action);
	snprintf(t[2], 128, "%s", rec->subject);
	snprintf(t[3], 128, "%s", rec->detail);
	r->actor = t[0];
	r->action = t[1];
	r->subject = t[2];
	r->detail = t[3];
	r->node = rec->node != NULL ? "n1" : NULL;
	c->n++;
	return 0;
}

/*
 * The attacker's rewrite: the records in c (already edited) replace the
 * table, numbered 1..n again; from record `from` on every hash is
 * recomputed with the public (unkeyed) formula, as the old documentation
 * describes it.
 */
static void
rewrite_plain(struct copy *c, int from)
{
	struct store *st = store_fx_open();	/* no key: the attacker's */
	char prev[STORE_HASH_HEX + 1];

	clear_audit();
	memset(prev, '0', STORE_HASH_HEX);
	prev[STORE_HASH_HEX] = '\0';
	ck_assert_int_eq(store_begin(st), 0);
	for (int i = 0; i < c->n; i++) {
		struct store_audit *r = &c->rec[i];

		r->seq = i + 1;
		if (r->seq >= from) {
			memcpy(r->prev_hash, prev, sizeof(prev));
			ck_assert_int_eq(control_audit_hash(r, NULL, r->hash),
			    0);
		}
		ck_assert_int_eq(store_audit_insert(st, r), 0);
		memcpy(prev, r->hash, sizeof(prev));
	}
	ck_assert_int_eq(store_commit(st), 0);
	store_close(st);
}

static void
read_all(struct copy *c)
{
	struct store *st = store_fx_open();

	memset(c, 0, sizeof(*c));
	ck_assert_int_eq(store_audit_foreach(st, 0, 0, copy_row, c), 0);
	store_close(st);
}

/* A chain of 3 unkeyed records, sealed (seq 4), then 6 keyed ones. */
static void
sealed_chain(void)
{
	struct store *st = store_fx_open();
	char why[320];

	append_n(st, 3);	/* written before the audit key existed */
	store_close(st);
	st = keyed_open();
	ck_assert_int_eq(control_audit_seal(st, "n1", why, sizeof(why)), 1);
	ck_assert_int_eq(control_audit_seal(st, "n1", why, sizeof(why)), 0);
	keyed_append(st, 6);
	store_close(st);
}

START_TEST(keyed_migration)
{
	struct control_audit_result v;
	struct store *st;
	char why[320];

	sealed_chain();
	v = keyed_verify(0, NULL);
	ck_assert_msg(v.bad_seq == 0, "%s", v.reason);
	ck_assert_int_eq(v.records, 10);
	ck_assert_int_eq(v.seal_seq, 4);
	/* Another key does not continue this chain: refused at start. */
	st = store_fx_open();
	store_set_audit_key(st, (const uint8_t *)"another key, 32 bytes long!!!!!");
	ck_assert_int_eq(control_audit_seal(st, "n2", why, sizeof(why)), -2);
	ck_assert_ptr_nonnull(strstr(why, "audit.key_file"));
	store_close(st);
	/* An empty chain is sealed at once (seq 1). */
	clear_audit();
	st = keyed_open();
	ck_assert_int_eq(control_audit_seal(st, "n1", why, sizeof(why)), 1);
	store_close(st);
	v = keyed_verify(0, NULL);
	ck_assert_int_eq(v.seal_seq, 1);
}
END_TEST

START_TEST(keyed_delete_rechained)
{
	struct control_audit_result v;
	struct copy c;

	sealed_chain();
	read_all(&c);
	/* Delete record 7 and recompute 7.. with the public formula. */
	memmove(&c.rec[6], &c.rec[7], (size_t)(c.n - 7) * sizeof(c.rec[0]));
	memmove(&c.text[6], &c.text[7], (size_t)(c.n - 7) * sizeof(c.text[0]));
	c.n--;
	for (int i = 6; i < c.n; i++) {
		c.rec[i].actor = c.text[i][0];
		c.rec[i].action = c.text[i][1];
		c.rec[i].subject = c.text[i][2];
		c.rec[i].detail = c.text[i][3];
	}
	rewrite_plain(&c, 7);
	v = keyed_verify(0, NULL);
	ck_assert_int_eq(v.bad_seq, 7);
	ck_assert_ptr_nonnull(strstr(v.reason, "MAC mismatch"));
	/* Also unkeying the seal and everything after it: no seal left. */
	read_all(&c);
	snprintf(c.text[3][1], 128, "audit.note");
	rewrite_plain(&c, 4);
	v = keyed_verify(0, NULL);
	ck_assert_int_eq(v.bad_seq, 1);
	ck_assert_ptr_nonnull(strstr(v.reason, "no record is sealed"));
}
END_TEST

START_TEST(keyed_insert_and_reorder)
{
	struct control_audit_result v;
	struct copy c, orig;

	sealed_chain();
	read_all(&orig);
	/* Insert a record after 5 (a copy of 5, new detail). */
	c = orig;
	memmove(&c.rec[6], &c.rec[5], (size_t)(c.n - 5) * sizeof(c.rec[0]));
	memmove(&c.text[6], &c.text[5], (size_t)(c.n - 5) * sizeof(c.text[0]));
	c.n++;
	for (int i = 0; i < c.n; i++) {
		c.rec[i].actor = c.text[i][0];
		c.rec[i].action = c.text[i][1];
		c.rec[i].subject = c.text[i][2];
		c.rec[i].detail = c.text[i][3];
	}
	snprintf(c.text[5][3], 128, "{\"forged\":1}");
	rewrite_plain(&c, 6);
	v = keyed_verify(0, NULL);
	ck_assert_int_eq(v.bad_seq, 6);
	/* Swap records 8 and 9. */
	c = orig;
	c.rec[7] = orig.rec[8];
	c.rec[8] = orig.rec[7];
	for (int i = 0; i < c.n; i++) {
		int from = i == 7 ? 8 : i == 8 ? 7 : i;

		c.rec[i].actor = c.text[from][0];
		c.rec[i].action = c.text[from][1];
		c.rec[i].subject = c.text[from][2];
		c.rec[i].detail = c.text[from][3];
	}
	rewrite_plain(&c, 8);
	v = keyed_verify(0, NULL);
	ck_assert_int_eq(v.bad_seq, 8);
}
END_TEST

START_TEST(keyed_truncated_tail)
{
	struct control_audit_result v;
	char head[STORE_HASH_HEX + 1];

	sealed_chain();
	v = keyed_verify(0, NULL);
	ck_assert_int_eq(v.records, 10);
	snprintf(head, sizeof(head), "%s", v.last_hash);	/* published */
	store_fx_sql("DELETE FROM audit WHERE seq > 7");
	/* Alone, a shorter chain is a valid chain ... */
	v = keyed_verify(0, NULL);
	ck_assert_int_eq(v.bad_seq, 0);
	/* ... but not against the head published before. */
	v = keyed_verify(10, head);
	ck_assert_int_eq(v.bad_seq, 8);
	ck_assert_ptr_nonnull(strstr(v.reason, "before the known head"));
	/* A head that does not match its record is named too. */
	v = keyed_verify(5, head);
	ck_assert_int_eq(v.bad_seq, 5);
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
	tcase_add_test(tc, keyed_migration);
	tcase_add_test(tc, keyed_delete_rechained);
	tcase_add_test(tc, keyed_insert_and_reorder);
	tcase_add_test(tc, keyed_truncated_tail);
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
