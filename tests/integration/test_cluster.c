/*
 * test_cluster: three vtokend nodes on one real PostgreSQL server (the
 * suite's, VT_PG_DIR), real binaries over loopback:
 *  - a token created through node A's API and assigned through node B's
 *    is listed and imported through node C; a second import of it
 *    through A answers busy (one session per token in the cluster);
 *  - the byte counts of A's session reach B with A's heartbeats, each
 *    time they move, and stay when they do not (a heartbeat writes only
 *    the counters that moved);
 *  - a revoke through B cuts the session on C: the time from B's answer
 *    to C closing the client's socket is measured over ROUNDS rounds
 *    (p50/p99 printed; docs/PERFORMANCE.md has the figures) and every
 *    round must cut it; C's device list no longer shows the token;
 *  - after SIGKILL of C, the token can be imported through A within 20 s
 *    (C's lease runs out and its claim is taken over);
 *  - an API key made through A works on B; deleted through B, A refuses
 *    it (the change feed carries keys);
 *  - agent policies, releases and the rollout made through one node are
 *    seen through the others (documents travel on the feed too);
 *  - /v1/nodes shows the three nodes, C lost; audit verify passes over
 *    records written by all three nodes.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotime.h"

#include "../lib/control_fixture.h"
#include "../lib/store_fixture.h"
#include "../lib/vt_wait.h"

#define VM_ADDR		"127.0.0.7"
#define ROUNDS		50
#define TAKEOVER_MS	20000

static struct vtd node[3];	/* A, B, C */

static int
cl_cmp(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return x < y ? -1 : x > y;
}

/* Revokes through B while C holds the session; returns the cut in ms. */
static double
cl_revoke_round(struct fx_token *t)
{
	struct usbip_client c;
	char busids[4][32];
	double t0, ms;

	fx_assign(&node[1], t->id, "vm");
	fx_wait_assigned(&node[2], t->id, true);
	ck_assert_uint_eq(fx_import(&node[2], VM_ADDR, t->busid, &c), 0);
	ck_assert_int_eq(fx_revoke(&node[1], t->id), 204);
	t0 = monotime_sec();
	ck_assert_msg(usbip_client_expect_closed(&c, 5000, NULL),
	    "node C kept the session after the revoke");
	ms = (monotime_sec() - t0) * 1e3;
	usbip_client_close(&c);
	fx_wait_assigned(&node[2], t->id, false);
	ck_assert_uint_eq(fx_devlist(&node[2], VM_ADDR, busids, 4), 0);
	return ms;
}

static void
cl_takeover(struct fx_token *t)
{
	struct usbip_client c, held;
	int64_t t0, waited;
	uint32_t st;

	fx_assign(&node[1], t->id, "vm");
	fx_wait_assigned(&node[2], t->id, true);
	ck_assert_uint_eq(fx_import(&node[2], VM_ADDR, t->busid, &held), 0);
	kill(node[2].pid, SIGKILL);
	ck_assert_int_eq(vtd_stop(&node[2]), 128 + SIGKILL);
	usbip_client_close(&held);
	t0 = monotime_ms();
	for (;;) {
		st = fx_import(&node[0], VM_ADDR, t->busid, &c);
		waited = monotime_ms() - t0;
		if (st == 0)
			break;
		ck_assert_uint_eq(st, 2);	/* busy until the lease ends */
		ck_assert_msg(waited < TAKEOVER_MS, "still busy after %lld ms",
		    (long long)waited);
		vt_sleep_ms(250);
	}
	fprintf(stderr, "cluster: token imported through A %lld ms after "
	    "node C was killed\n", (long long)waited);
	usbip_client_close(&c);
}

/* bytes_out of token id's session as d lists it; *live set; -1: none. */
static long long
cl_session_out(struct vtd *d, const char *id, bool *live)
{
	struct vt_http_resp r;
	json_t *arr, *s;
	size_t i;
	long long out = -1;

	ck_assert_int_eq(vt_api(d, "GET", "/v1/sessions", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	arr = json_object_get(r.json, "sessions");
	json_array_foreach(arr, i, s) {
		if (strcmp(json_string_value(json_object_get(s, "token")),
		    id) != 0)
			continue;
		out = json_integer_value(json_object_get(s, "bytes_out"));
		*live = json_is_true(json_object_get(s, "live"));
	}
	vt_http_resp_free(&r);
	return out;
}

/* Waits (two heartbeats at most) until B lists A's session at want. */
static void
cl_wait_out(const char *id, long long want)
{
	int64_t deadline = monotime_ms() + 12000;
	long long got;
	bool live = true;

	while ((got = cl_session_out(&node[1], id, &live)) != want) {
		ck_assert_msg(monotime_ms() < deadline, "B lists %lld bytes "
		    "out, A's session has %lld", got, want);
		vt_sleep_ms(100);
	}
	ck_assert_msg(!live, "B calls A's session its own");
}

/* A's heartbeat carries its session's counters to B when they move. */
static void
cl_session_counters(struct fx_token *t)
{
	static uint8_t buf[8 * 512];
	struct usbip_client c;
	long long out = 0;
	bool live = false;

	ck_assert_uint_eq(fx_import(&node[0], VM_ADDR, t->busid, &c), 0);
	ck_assert_int_eq(usbip_client_enumerate(&c), 0);
	for (int round = 0; round < 2; round++) {
		ck_assert_int_eq(usbip_client_read10(&c, 0, 8, buf), 0);
		out = cl_session_out(&node[0], t->id, &live);
		ck_assert_msg(live && out > 0, "A: %lld bytes out", out);
		cl_wait_out(t->id, out);
	}
	/* A heartbeat of A without traffic: B's figure stays. */
	vt_sleep_ms(6000);	/* node.heartbeat is 5 s */
	ck_assert_int_eq(cl_session_out(&node[1], t->id, &live), out);
	usbip_client_close(&c);
}

/* GET /v1/tokens on d with key until it answers want (5 s at most). */
static void
cl_wait_key(struct vtd *d, const char *key, long want)
{
	int64_t deadline = monotime_ms() + 5000;
	char url[256];

	vt_api_url(d, "/v1/tokens", url, sizeof(url));
	for (;;) {
		struct vt_http_resp r;
		long st;

		ck_assert_int_eq(vt_http("GET", url, key, NULL, &r), 0);
		st = r.status;
		vt_http_resp_free(&r);
		if (st == want)
			return;
		ck_assert_msg(monotime_ms() < deadline, "node %s: key still "
		    "answered %ld", d->log, st);
		vt_sleep_ms(10);
	}
}

/* A key made through A works on B; deleted through B, A refuses it. */
static void
cl_keys(void)
{
	struct vt_http_resp r;
	char key[160];

	ck_assert_int_eq(vt_api(&node[0], "POST", "/v1/keys", "{\"name\": "
	    "\"ops\", \"role\": \"operator\"}", &r), 0);
	ck_assert_int_eq(r.status, 201);
	snprintf(key, sizeof(key), "%s", json_string_value(json_object_get(
	    r.json, "key")));
	vt_http_resp_free(&r);
	cl_wait_key(&node[1], key, 200);
	ck_assert_int_eq(vt_api(&node[1], "DELETE", "/v1/keys/ops", NULL, &r),
	    0);
	ck_assert_int_eq(r.status, 204);
	vt_http_resp_free(&r);
	cl_wait_key(&node[0], key, 401);
}

/* GET path on n until its body holds want (5 s at most). */
static void
cl_wait_body(struct vtd *n, const char *path, const char *want)
{
	struct vt_http_resp r;
	bool seen = false;

	for (int i = 0; i < 100 && !seen; i++) {
		ck_assert_int_eq(vt_api(n, "GET", path, NULL, &r), 0);
		seen = r.status == 200 && strstr(r.body, want) != NULL;
		vt_http_resp_free(&r);
		if (!seen)
			vt_sleep_ms(50);
	}
	ck_assert_msg(seen, "%s never showed %s", path, want);
}

/*
 * A VM's policy set through A reaches C; the default set through C and a
 * release and rollout made through B reach A (documents and their feed
 * rows: docs/AGENT.md).
 */
static void
cl_agent_docs(void)
{
	struct vt_http_resp r;

	ck_assert_int_eq(vt_api(&node[0], "PUT", "/v1/vms/vm/policy",
	    "{\"interval\": 15, \"grace\": 45, \"action\": "
	    "\"isolate-network\"}", &r), 0);
	ck_assert_int_eq(r.status, 200);
	vt_http_resp_free(&r);
	cl_wait_body(&node[2], "/v1/vms/vm/policy", "isolate-network");
	ck_assert_int_eq(vt_api(&node[2], "PUT", "/v1/policy", "{\"interval\": "
	    "25, \"grace\": 75, \"action\": \"poweroff\"}", &r), 0);
	ck_assert_int_eq(r.status, 200);
	vt_http_resp_free(&r);
	cl_wait_body(&node[0], "/v1/policy", "poweroff");
	ck_assert_int_eq(vt_api(&node[1], "POST", "/v1/agent/releases",
	    "{\"version\": \"9.9\", \"sha256\": \"2cf24dba5fb0a30e26e83b2a"
	    "c5b9e29e1b161e5c1fa7425e73043362938b9824\", \"signature\": \""
	    "AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA"
	    "AAAAAAAAAAAAAAAAAAAAAA==\", \"artifact\": \"aGVsbG8=\"}", &r), 0);
	ck_assert_msg(r.status == 201, "release: %ld %s", r.status, r.body);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_api(&node[1], "PUT", "/v1/agent/rollout",
	    "{\"version\": \"9.9\"}", &r), 0);
	ck_assert_int_eq(r.status, 200);
	vt_http_resp_free(&r);
	cl_wait_body(&node[0], "/v1/agents", "\"target\": \"9.9\"");
}

static void
cl_check_nodes_and_audit(void)
{
	struct vt_http_resp r;
	json_t *n, *o;
	size_t i, lost = 0, up = 0;

	ck_assert_int_eq(vt_api(&node[0], "GET", "/v1/nodes", NULL, &r), 0);
	n = json_object_get(r.json, "nodes");
	ck_assert_uint_eq(json_array_size(n), 3);
	json_array_foreach(n, i, o) {
		const char *s = json_string_value(json_object_get(o, "state"));

		lost += strcmp(s, "lost") == 0;
		up += strcmp(s, "up") == 0;
	}
	ck_assert_uint_eq(up, 2);
	ck_assert_uint_eq(lost, 1);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_api(&node[1], "GET", "/v1/audit/verify", NULL,
	    &r), 0);
	ck_assert_msg(r.status == 200, "verify: %ld %s", r.status, r.body);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_api(&node[0], "GET", "/v1/audit?limit=1000", NULL,
	    &r), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "\"node\": \"a\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"node\": \"b\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"node\": \"c\""));
	vt_http_resp_free(&r);
}

START_TEST(three_nodes)
{
	struct fx_token t;
	struct usbip_client c, busy;
	double cut[ROUNDS];

	ck_assert_msg(store_fx_is_pg(), "run with VT_STORE=postgresql");
	fx_node_start(&node[0], "a", NULL);
	fx_node_start(&node[1], "b", &node[0]);
	fx_node_start(&node[2], "c", &node[0]);

	fx_token(&node[0], "shared", false, &t);
	fx_vm(&node[1], "vm", VM_ADDR);
	/* Made through A: B learns of it through the feed. */
	fx_wait_known(&node[1], "/v1/tokens/shared");
	fx_assign(&node[1], t.id, "vm");
	fx_wait_assigned(&node[2], t.id, true);
	ck_assert_uint_eq(fx_import(&node[2], VM_ADDR, t.busid, &c), 0);
	ck_assert_uint_eq(fx_import(&node[0], VM_ADDR, t.busid, &busy), 2);
	usbip_client_close(&c);
	/* C's detach releases the claim: A may attach it then. */
	vt_sleep_ms(200);
	cl_session_counters(&t);
	vt_sleep_ms(200);
	ck_assert_int_eq(fx_revoke(&node[1], t.id), 204);

	for (int i = 0; i < ROUNDS; i++)
		cut[i] = cl_revoke_round(&t);
	qsort(cut, ROUNDS, sizeof(cut[0]), cl_cmp);
	fprintf(stderr, "cluster: revoke through B to socket closed on C, "
	    "%d rounds: p50 %.2f ms, p99 %.2f ms, max %.2f ms\n", ROUNDS,
	    cut[ROUNDS / 2], cut[ROUNDS * 99 / 100], cut[ROUNDS - 1]);

	cl_keys();
	cl_agent_docs();
	cl_takeover(&t);
	cl_check_nodes_and_audit();
	fx_stop(&node[0]);
	fx_stop(&node[1]);
	vtd_cleanup(&node[2]);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("cluster");
	TCase *tc = tcase_create("cluster");
	SRunner *sr;
	int failed;

	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, three_nodes);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
