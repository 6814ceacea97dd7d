/*
 * check_store: the store through its front, on SQLite or (VT_STORE=
 * postgresql, unit.store.pg) a real PostgreSQL server: schema creation
 * and reopen, uniqueness as STORE_CONFLICT (a taken token number as
 * STORE_CONFLICT_NUM), missing rows as STORE_NOTFOUND, rollback, writes
 * outside a transaction refused, token blocks, claims and their
 * take-over from a lost node, leases, the change feed, the audit head.
 * The audit chain kept in it is tested in check_control_audit (it
 * belongs to the controller).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <event2/event.h>

#include "server/store/store.h"
#include "server/store/store_worker.h"
#include "../lib/store_fixture.h"
#include "../lib/vt_wait.h"

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

static void
vm_row(struct store_vm *v, const char *id, const char *name)
{
	memset(v, 0, sizeof(*v));
	snprintf(v->id, sizeof(v->id), "%s", id);
	snprintf(v->name, sizeof(v->name), "%s", name);
	v->addresses = "127.0.0.2/32";
	snprintf(v->created, sizeof(v->created), "2026-11-26T00:00:00Z");
}

/* Commits one token, one VM and the assignment between them. */
static void
seed(struct store *st)
{
	struct store_token t;
	struct store_vm v;
	struct store_assignment a;

	token_row(&t, "00000000000000B1", "tok", 7);
	vm_row(&v, "00000000000000C1", "vm");
	memset(&a, 0, sizeof(a));
	memcpy(a.token_id, t.id, sizeof(a.token_id));
	memcpy(a.vm_id, v.id, sizeof(a.vm_id));
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_token_insert(st, &t), 0);
	ck_assert_int_eq(store_vm_insert(st, &v), 0);
	ck_assert_int_eq(store_assignment_insert(st, &a), 0);
	ck_assert_int_eq(store_commit(st), 0);
}

START_TEST(write_needs_transaction)
{
	struct store *st = store_fx_open();
	struct store_token t;

	token_row(&t, "00000000000000A9", "loose", 9);
	ck_assert_int_eq(store_token_insert(st, &t), STORE_ERR);
	ck_assert_ptr_nonnull(strstr(store_error(st), "not in a transaction"));
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_begin(st), STORE_ERR);	/* no nesting */
	store_rollback(st);
	store_close(st);
}
END_TEST

struct blocks {
	int n;
	uint32_t idx[4];
	uint8_t first[4];
};

static int
block_cb(void *arg, const struct store_block *b)
{
	struct blocks *x = arg;

	ck_assert_int_lt(x->n, 4);
	x->idx[x->n] = b->idx;
	x->first[x->n++] = b->data[0];
	return 0;
}

START_TEST(blocks_put_get_delete)
{
	struct store *st = store_fx_open();
	uint8_t data[STORE_BLOCK_SIZE], zero[STORE_BLOCK_SIZE] = { 0 };
	struct blocks x = { 0 };

	seed(st);
	memset(data, 0xa5, sizeof(data));
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_block_put(st, "00000000000000B1", 3, data), 0);
	data[0] = 0x11;
	ck_assert_int_eq(store_block_put(st, "00000000000000B1", 1, data), 0);
	data[0] = 0x22;		/* an overwrite */
	ck_assert_int_eq(store_block_put(st, "00000000000000B1", 1, data), 0);
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(store_block_foreach(st, "00000000000000B1", block_cb,
	    &x), 0);
	ck_assert_int_eq(x.n, 2);
	ck_assert_uint_eq(x.idx[0], 1);
	ck_assert_uint_eq(x.first[0], 0x22);
	ck_assert_uint_eq(x.idx[1], 3);
	/* An all-zero block is no row. */
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_block_put(st, "00000000000000B1", 3, zero), 0);
	ck_assert_int_eq(store_commit(st), 0);
	memset(&x, 0, sizeof(x));
	ck_assert_int_eq(store_block_foreach(st, "00000000000000B1", block_cb,
	    &x), 0);
	ck_assert_int_eq(x.n, 1);
	/* A block of no token is refused; a token's blocks go with it. */
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_block_put(st, "00000000000000FF", 0, data),
	    STORE_NOTFOUND);
	store_rollback(st);
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_assignment_delete(st, "00000000000000B1"), 0);
	ck_assert_int_eq(store_token_delete(st, "00000000000000B1"), 0);
	ck_assert_int_eq(store_commit(st), 0);
	memset(&x, 0, sizeof(x));
	ck_assert_int_eq(store_block_foreach(st, "00000000000000B1", block_cb,
	    &x), 0);
	ck_assert_int_eq(x.n, 0);
	store_close(st);
}
END_TEST

static void
node(struct store *st, const char *name)
{
	struct store_node n;

	memset(&n, 0, sizeof(n));
	n.name = name;
	n.usbip = "127.0.0.1:1";
	n.api = "127.0.0.1:2";
	n.version = "test";
	snprintf(n.started, sizeof(n.started), "2026-11-26T00:00:00Z");
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_node_upsert(st, &n), 0);
	ck_assert_int_eq(store_commit(st), 0);
}

static int
claim(struct store *st, const char *node_name, const char *vm_id)
{
	struct store_session s;
	int r;

	memset(&s, 0, sizeof(s));
	snprintf(s.token_id, sizeof(s.token_id), "00000000000000B1");
	snprintf(s.vm_id, sizeof(s.vm_id), "%s", vm_id);
	s.node = node_name;
	s.peer = "127.0.0.2:1234";
	snprintf(s.since, sizeof(s.since), "2026-11-26T00:00:00Z");
	ck_assert_int_eq(store_begin(st), 0);
	r = store_session_claim(st, &s, 15);
	if (r == 0)
		ck_assert_int_eq(store_commit(st), 0);
	else
		store_rollback(st);
	return r;
}

static int
lost_cb(void *arg, const struct store_session *s)
{
	ck_assert_str_eq(s->node, "b");
	(*(int *)arg)++;
	return 0;
}

static int
session_count_cb(void *arg, const struct store_session *s)
{
	(void)s;
	(*(int *)arg)++;
	return 0;
}

static int
sessions(struct store *st, const char *node_name, const char *after,
    unsigned limit)
{
	int n = 0;

	ck_assert_int_eq(store_session_foreach(st, node_name, after, limit,
	    session_count_cb, &n), 0);
	return n;
}

START_TEST(claims_and_leases)
{
	struct store *st = store_fx_open();
	int lost = 0;
	char stmt[256];

	seed(st);
	node(st, "a");
	node(st, "b");
	ck_assert_int_eq(claim(st, "b", "00000000000000C1"), 0);
	/* One session per token: node a is refused while b's lease runs. */
	ck_assert_int_eq(claim(st, "a", "00000000000000C1"), STORE_CONFLICT);
	/* Not assigned to that VM (any more): no claim. */
	ck_assert_int_eq(claim(st, "a", "00000000000000C9"), STORE_NOTFOUND);
	ck_assert_int_eq(store_session_check(st, "00000000000000B1", "b"), 0);
	ck_assert_int_eq(store_session_check(st, "00000000000000B1", "a"),
	    STORE_NOTFOUND);
	/* b goes silent for longer than the lease. */
	snprintf(stmt, sizeof(stmt), store_fx_is_pg() ?
	    "UPDATE nodes SET heartbeat = now() - interval '60 seconds' WHERE "
	    "name = 'b'" : "UPDATE nodes SET heartbeat = heartbeat - 60 WHERE "
	    "name = 'b'");
	store_fx_sql(stmt);
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_node_heartbeat(st, "a"), 0);
	ck_assert_int_eq(store_node_expire(st, 15, lost_cb, &lost), 0);
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(lost, 1);
	ck_assert_int_eq(store_session_check(st, "00000000000000B1", "b"),
	    STORE_NOTFOUND);
	ck_assert_int_eq(claim(st, "a", "00000000000000C1"), 0);
	/* Listing: by node, after a token id, limited. */
	ck_assert_int_eq(sessions(st, "a", NULL, 0), 1);
	ck_assert_int_eq(sessions(st, "b", NULL, 0), 0);
	ck_assert_int_eq(sessions(st, NULL, "00000000000000B0", 1), 1);
	ck_assert_int_eq(sessions(st, NULL, "00000000000000B1", 0), 0);
	/* b's claim would also have been taken over at claim time. */
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_session_release(st, "00000000000000B1", "a"),
	    0);
	ck_assert_int_eq(store_session_release(st, "00000000000000B1", "a"),
	    STORE_NOTFOUND);
	ck_assert_int_eq(store_node_heartbeat(st, "nobody"), STORE_NOTFOUND);
	ck_assert_int_eq(store_commit(st), 0);
	store_close(st);
}
END_TEST

struct changes {
	int n;
	int64_t seq[8];
};

static int
change_cb(void *arg, const struct store_change *c)
{
	struct changes *x = arg;

	ck_assert_int_lt(x->n, 8);
	ck_assert_str_eq(c->kind, "token");
	ck_assert_str_eq(c->node, "a");
	x->seq[x->n++] = c->seq;
	return 0;
}

START_TEST(change_feed)
{
	struct store *st = store_fx_open();
	struct changes x = { 0 };
	int64_t last = -1, before;

	ck_assert_int_eq(store_change_last(st, &before), 0);
	for (int i = 0; i < 3; i++) {
		ck_assert_int_eq(store_begin(st), 0);
		ck_assert_int_eq(store_change_insert(st, "token",
		    "00000000000000B1", "a"), 0);
		ck_assert_int_eq(store_commit(st), 0);
	}
	/* One rolled back: never seen. */
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_change_insert(st, "token", "00000000000000B2",
	    "a"), 0);
	store_rollback(st);
	ck_assert_int_eq(store_change_last(st, &last), 0);
	ck_assert_int_eq(store_change_foreach(st, before, 0, change_cb, &x),
	    0);
	ck_assert_int_eq(x.n, 3);
	ck_assert(x.seq[0] < x.seq[1] && x.seq[1] < x.seq[2]);
	ck_assert_int_eq(x.seq[2], last);
	memset(&x, 0, sizeof(x));
	ck_assert_int_eq(store_change_foreach(st, before, 2, change_cb, &x),
	    0);
	ck_assert_int_eq(x.n, 2);
	store_close(st);
}
END_TEST

START_TEST(audit_head_follows)
{
	struct store *st = store_fx_open();
	struct store_audit a;
	char hash[STORE_HASH_HEX + 1];
	int64_t seq = -1;

	ck_assert_int_eq(store_audit_last(st, &seq, hash), 0);
	ck_assert_int_eq(seq, 0);
	ck_assert_uint_eq(strspn(hash, "0"), STORE_HASH_HEX);
	memset(&a, 0, sizeof(a));
	a.seq = 1;
	snprintf(a.time, sizeof(a.time), "2026-11-26T00:00:00Z");
	a.actor = "t";
	a.action = "x";
	a.subject = "s";
	a.detail = "{}";
	a.node = "a";
	memset(a.prev_hash, '0', STORE_HASH_HEX);
	memset(a.hash, 'a', STORE_HASH_HEX);
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_audit_last(st, &seq, hash), 0);
	ck_assert_int_eq(store_audit_insert(st, &a), 0);
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(store_audit_last(st, &seq, hash), 0);
	ck_assert_int_eq(seq, 1);
	ck_assert_str_eq(hash, a.hash);
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_audit_insert(st, &a), STORE_CONFLICT);
	store_rollback(st);
	store_close(st);
}
END_TEST

static int
alarm_count_cb(void *arg, const struct store_alarm *a)
{
	(void)a;
	(*(int *)arg)++;
	return 0;
}

static int
alarms(struct store *st, const char *state)
{
	int n = 0;

	ck_assert_int_eq(store_alarm_foreach(st, state, 0, alarm_count_cb, &n),
	    0);
	return n;
}

/* raise / raise again / clear / raise anew / ack, in transactions. */
START_TEST(alarm_lifecycle)
{
	struct store *st = store_fx_open();
	struct store_alarm a;
	char id1[STORE_ID_LEN + 1], id2[STORE_ID_LEN + 1];
	char id3[STORE_ID_LEN + 1];
	bool inserted;

	memset(&a, 0, sizeof(a));
	snprintf(a.id, sizeof(a.id), "00000000000000A1");
	a.rule = "copied_token";
	a.key = "00000000000000B1";
	a.severity = "critical";
	a.message = "5 auth.fail";
	a.count = 5;
	a.node = "a";
	snprintf(a.first_seen, sizeof(a.first_seen), "2026-12-03T00:00:00Z");
	snprintf(a.last_seen, sizeof(a.last_seen), "2026-12-03T00:00:00Z");
	ck_assert_int_eq(store_begin(st), 0);
	ck_assert_int_eq(store_alarm_raise(st, &a, id1, &inserted), 0);
	ck_assert(inserted);
	a.count = 6;
	snprintf(a.id, sizeof(a.id), "00000000000000A2");
	ck_assert_int_eq(store_alarm_raise(st, &a, id2, &inserted), 0);
	ck_assert(!inserted);
	ck_assert_str_eq(id1, id2);
	ck_assert_int_eq(store_alarm_clear(st, a.rule, a.key,
	    "2026-12-03T00:05:00Z", id3), 0);
	ck_assert_str_eq(id3, id1);
	ck_assert_int_eq(store_alarm_clear(st, a.rule, a.key,
	    "2026-12-03T00:05:00Z", id3), STORE_NOTFOUND);
	ck_assert_int_eq(store_alarm_raise(st, &a, id2, &inserted), 0);
	ck_assert(inserted);
	ck_assert_str_eq(id2, "00000000000000A2");
	ck_assert_int_eq(store_alarm_ack(st, id1, "api:ops/X",
	    "2026-12-03T00:06:00Z"), 0);
	ck_assert_int_eq(store_alarm_ack(st, id1, "api:ops/X",
	    "2026-12-03T00:06:00Z"), STORE_NOTFOUND);
	ck_assert_int_eq(store_commit(st), 0);
	ck_assert_int_eq(alarms(st, "active"), 1);
	ck_assert_int_eq(alarms(st, "cleared"), 1);
	ck_assert_int_eq(alarms(st, NULL), 2);
	store_close(st);
}
END_TEST

/* ---- group commit (store_worker_post_tx) ---- */


#define GROUP_JOBS	40

struct gc_job {
	int i;			/* job number; GROUP_JOBS / 2 fails */
	int runs;		/* how often its body ran */
	int result;		/* its done callback's; 1: not yet */
	int *left;
};

static int
gc_block(struct store *st, void *arg)
{
	(void)st;
	(void)arg;
	vt_sleep_ms(300);	/* the jobs behind it queue up meanwhile */
	return 0;
}

static int
gc_body(struct store *st, void *arg)
{
	struct gc_job *j = arg;
	char key[16];

	j->runs++;
	if (j->i == GROUP_JOBS / 2)
		return STORE_ERR;
	snprintf(key, sizeof(key), "k%02d", j->i);
	return store_doc_put(st, "gc", key, "{}", 2);
}

static void
gc_done(void *arg, int result, const char *err)
{
	struct gc_job *j = arg;

	(void)err;
	j->result = result;
	(*j->left)--;
}

static int
gc_count(void *arg, const struct store_doc *d)
{
	(void)d;
	(*(int *)arg)++;
	return 0;
}

static int
gc_list(struct store *st, void *arg)
{
	return store_doc_foreach(st, "gc", gc_count, arg);
}

/*
 * Transactions queued behind a busy worker share one commit; one that
 * fails sends the group back to one commit each, so only it fails.
 */
START_TEST(group_commit)
{
	struct event_base *base = event_base_new();
	struct store *st = store_fx_open();
	struct store_worker *w;
	struct gc_job jobs[GROUP_JOBS];
	struct store_stats stats;
	char *cause = NULL;
	int left = GROUP_JOBS, n = 0;

	w = store_worker_new(base, st, &cause);
	ck_assert_msg(w != NULL, "%s", cause ? cause : "?");
	store_worker_post(w, gc_block, NULL, NULL);
	for (int i = 0; i < GROUP_JOBS; i++) {
		jobs[i] = (struct gc_job){ i, 0, 1, &left };
		store_worker_post_tx(w, gc_body, gc_done, &jobs[i]);
	}
	for (int t = 0; left > 0 && t < 500; t++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(left, 0);
	for (int i = 0; i < GROUP_JOBS; i++) {
		ck_assert_int_eq(jobs[i].result, i == GROUP_JOBS / 2 ?
		    STORE_ERR : 0);
		ck_assert_int_le(jobs[i].runs, 2);
	}
	stats = store_worker_stats(w);
	ck_assert_uint_eq(stats.tx_groups, 0);	/* the group failed */
	ck_assert_int_eq(store_worker_call(w, gc_list, &n, NULL), 0);
	ck_assert_int_eq(n, GROUP_JOBS - 1);

	/* Without a failure: one commit carries them all. */
	left = GROUP_JOBS - 1;
	store_worker_post(w, gc_block, NULL, NULL);
	for (int i = 0; i < GROUP_JOBS - 1; i++) {
		jobs[i] = (struct gc_job){ i == GROUP_JOBS / 2 ? GROUP_JOBS :
		    i, 0, 1, &left };
		store_worker_post_tx(w, gc_body, gc_done, &jobs[i]);
	}
	for (int t = 0; left > 0 && t < 500; t++)
		event_base_loop(base, EVLOOP_ONCE);
	ck_assert_int_eq(left, 0);
	stats = store_worker_stats(w);
	ck_assert_uint_eq(stats.tx_groups, 1);
	ck_assert_uint_eq(stats.tx_grouped, GROUP_JOBS - 1);
	for (int i = 0; i < GROUP_JOBS - 1; i++)
		ck_assert_int_eq(jobs[i].runs, 1);
	store_worker_free(w);
	event_base_free(base);
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
	tcase_add_test(tc, write_needs_transaction);
	tcase_add_test(tc, blocks_put_get_delete);
	tcase_add_test(tc, claims_and_leases);
	tcase_add_test(tc, alarm_lifecycle);
	tcase_add_test(tc, change_feed);
	tcase_add_test(tc, audit_head_follows);
	tcase_add_test(tc, group_commit);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
