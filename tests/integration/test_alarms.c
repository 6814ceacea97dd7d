/*
 * test_alarms: alarms against the real vtokend and real receivers
 * written for the test (tests/lib/vt_receivers.c).
 *
 *  - copied_token: agent verifies with a wrong signature (a valid nonce,
 *    a signature of zeros) raise the copied_token alarm; the webhook
 *    receiver, which answers 500 to the first two POSTs, gets it on the
 *    third attempt with a valid HMAC signature; the syslog receiver gets
 *    it as RFC 5424 with its structured data, and the audit forward
 *    destination gets the auth.fail records; GET /v1/alarms lists it and
 *    /metrics counts it; it clears once the window passes (the webhook
 *    hears "cleared"); an operator's acknowledgement is audited (a second
 *    one is a 409) and delivered.
 *  - unreachable webhook: with the webhook pointing at a port that never
 *    answers, an alarm on every VM add leaves the API as fast as a
 *    daemon without a webhook (measured in the same test), and the
 *    queue's drops are counted rather than blocking anything.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/monotime.h"

#include "../lib/control_fixture.h"
#include "../lib/store_fixture.h"
#include "../lib/vt_receivers.h"
#include "../lib/vt_wait.h"

#define SECRET		"test-webhook-secret"
#define COPIED_COUNT	3
#define COPIED_WINDOW	4

/*
 * Starts d with a configuration text (written to DIR/vtokend.yaml; the
 * word SECRETFILE becomes the path of the webhook secret's file).
 */
static void
start_with(struct vtd *d, const char *yaml)
{
	char path[512], secret[512], text[4096];
	const char *args[] = { "-c", path, NULL };
	const char *at = strstr(yaml, "SECRETFILE");

	ck_assert_msg(vtd_init(d) == 0, "%s", d->err);
	vtd_path(d, "webhook.secret", secret, sizeof(secret));
	ck_assert_int_eq(vtd_write_file(d, "webhook.secret", SECRET "\n"), 0);
	if (at != NULL)
		snprintf(text, sizeof(text), "%.*s%s%s", (int)(at - yaml), yaml,
		    secret, at + 10);
	else
		snprintf(text, sizeof(text), "%s", yaml);
	ck_assert_int_eq(vtd_write_file(d, "vtokend.yaml", text), 0);
	vtd_path(d, "vtokend.yaml", path, sizeof(path));
	ck_assert_msg(vtd_start(d, args) == 0, "%s", d->err);
}

/* One verify with a valid nonce and a wrong signature: 403. */
static void
bad_verify(struct vtd *d, const char *token)
{
	struct vt_http_resp r;
	char url[256], body[512], zeros[89];

	/* 64 zero bytes in base64: 86 'A' and "==". */
	memset(zeros, 'A', 86);
	memcpy(zeros + 86, "==", 3);
	vt_api_url(d, "/v1/agent/challenge", url, sizeof(url));
	snprintf(body, sizeof(body), "{\"token\": \"%s\"}", token);
	ck_assert_int_eq(vt_http("POST", url, NULL, body, &r), 0);
	ck_assert_msg(r.status == 200, "challenge: %ld %s", r.status, r.body);
	snprintf(body, sizeof(body), "{\"token\": \"%s\", \"nonce\": \"%s\", "
	    "\"signature\": \"%s\"}", token, json_string_value(
	    json_object_get(r.json, "nonce")), zeros);
	vt_http_resp_free(&r);
	vt_api_url(d, "/v1/agent/verify", url, sizeof(url));
	ck_assert_int_eq(vt_http("POST", url, NULL, body, &r), 0);
	ck_assert_msg(r.status == 403 && strstr(r.body, "bad signature"),
	    "verify: %ld %s", r.status, r.body);
	vt_http_resp_free(&r);
}

/* The one alarm GET /v1/alarms?state=S lists (asserts there is one). */
static json_t *
the_alarm(struct vtd *d, const char *state)
{
	struct vt_http_resp r;
	char path[64];
	json_t *a;

	snprintf(path, sizeof(path), "/v1/alarms?state=%s", state);
	ck_assert_int_eq(vt_api(d, "GET", path, NULL, &r), 0);
	ck_assert_msg(r.status == 200, "%ld %s", r.status, r.body);
	ck_assert_msg(json_array_size(json_object_get(r.json, "alarms")) == 1,
	    "%s alarms: %s", state, r.body);
	a = json_incref(json_array_get(json_object_get(r.json, "alarms"), 0));
	vt_http_resp_free(&r);
	return a;
}

static char *
operator_key(struct vtd *d)
{
	struct vt_http_resp r;
	char *key;

	ck_assert_int_eq(vt_api(d, "POST", "/v1/keys", "{\"name\": \"ops\", "
	    "\"role\": \"operator\"}", &r), 0);
	ck_assert_int_eq(r.status, 201);
	key = strdup(json_string_value(json_object_get(r.json, "key")));
	vt_http_resp_free(&r);
	return key;
}

static void
ack_checks(struct vtd *d, struct vt_webhook *w, const char *id)
{
	struct vt_http_resp r;
	char url[256], path[128], *key = operator_key(d), *m;

	snprintf(path, sizeof(path), "/v1/alarms/%s/ack", id);
	vt_api_url(d, path, url, sizeof(url));
	ck_assert_int_eq(vt_http("POST", url, key, NULL, &r), 0);
	ck_assert_msg(r.status == 200, "ack: %ld %s", r.status, r.body);
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(r.json,
	    "acked_by")), "api:ops/"));
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_http("POST", url, key, NULL, &r), 0);
	ck_assert_int_eq(r.status, 409);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_audit_count(d, "alarm.ack", id), 1);
	m = vt_webhook_wait(w, "\"event\":\"acknowledged\"", 10000);
	ck_assert_msg(m != NULL, "no acknowledged POST");
	free(m);
	snprintf(path, sizeof(path), "/v1/alarms/0000000000000000/ack");
	vt_api_url(d, path, url, sizeof(url));
	ck_assert_int_eq(vt_http("POST", url, key, NULL, &r), 0);
	ck_assert_int_eq(r.status, 404);
	vt_http_resp_free(&r);
	free(key);
}

START_TEST(copied_token)
{
	struct vt_webhook w;
	struct vt_syslog sl, au;
	struct fx_token t;
	struct vt_http_resp r;
	char yaml[2048], *m, id[32];
	json_t *a;
	struct vtd d;

	ck_assert_int_eq(vt_webhook_start(&w, SECRET, 2), 0);
	ck_assert_int_eq(vt_syslog_start(&sl), 0);
	ck_assert_int_eq(vt_syslog_start(&au), 0);
	snprintf(yaml, sizeof(yaml), "alarms:\n"
	    "  copied_token: {count: %d, window: %d}\n"
	    "  webhook: {url: \"http://127.0.0.1:%u/hook\", secret_file: "
	    "SECRETFILE, backoff: 1}\n"
	    "  syslog: \"udp:127.0.0.1:%u\"\n"
	    "audit:\n  forward: \"udp:127.0.0.1:%u\"\n", COPIED_COUNT,
	    COPIED_WINDOW, w.port, sl.port, au.port);
	start_with(&d, yaml);
	fx_token(&d, "dongle", false, &t);
	fx_vm(&d, "vm", "127.0.0.1");
	fx_assign(&d, t.id, "vm");
	for (int i = 0; i < COPIED_COUNT; i++)
		bad_verify(&d, t.id);

	/* Webhook: the third attempt, signed. */
	m = vt_webhook_wait(&w, "\"event\":\"raised\"", 15000);
	ck_assert_msg(m != NULL, "no raised POST (posts %u)", w.posts);
	ck_assert_ptr_nonnull(strstr(m, "\"copied_token\""));
	ck_assert_ptr_nonnull(strstr(m, t.id));
	free(m);
	ck_assert_uint_ge(w.posts, 3);
	ck_assert_uint_eq(w.bad_sigs, 0);
	/* Syslog: RFC 5424 with structured data. */
	m = vt_syslog_wait(&sl, "rule=\"copied_token\"", 5000);
	ck_assert_msg(m != NULL, "no syslog message");
	ck_assert_msg(strncmp(m, "<130>1 ", 7) == 0, "header: %.60s", m);
	ck_assert_ptr_nonnull(strstr(m, " vtokend "));
	ck_assert_ptr_nonnull(strstr(m, "[alarm@32473 id=\""));
	free(m);
	m = vt_syslog_wait(&au, "action=\"auth.fail\"", 5000);
	ck_assert_msg(m != NULL, "no forwarded audit record");
	ck_assert_ptr_nonnull(strstr(m, "[audit@32473 seq=\""));
	free(m);
	/* The API and /metrics. */
	a = the_alarm(&d, "active");
	ck_assert_str_eq(json_string_value(json_object_get(a, "rule")),
	    "copied_token");
	ck_assert_str_eq(json_string_value(json_object_get(a, "severity")),
	    "critical");
	snprintf(id, sizeof(id), "%s", json_string_value(json_object_get(a,
	    "id")));
	json_decref(a);
	ck_assert_int_eq(vt_api(&d, "GET", "/metrics", NULL, &r), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "severity=\"critical\"} 1"));
	vt_http_resp_free(&r);
	/* It clears when the window has passed without more. */
	m = vt_webhook_wait(&w, "\"event\":\"cleared\"",
	    (COPIED_WINDOW + 10) * 1000);
	ck_assert_msg(m != NULL, "not cleared");
	free(m);
	a = the_alarm(&d, "cleared");
	ck_assert_str_eq(json_string_value(json_object_get(a, "id")), id);
	json_decref(a);
	ack_checks(&d, &w, id);
	fx_stop(&d);
	vt_webhook_stop(&w);
	vt_syslog_stop(&sl);
	vt_syslog_stop(&au);
}
END_TEST

/* One VM add on d; its time in ms. */
static double
vm_add_ms(struct vtd *d, const char *tag, int i)
{
	char name[64], addr[32];
	double t0;

	snprintf(name, sizeof(name), "%s-%d", tag, i);
	/* VMs' addresses may not overlap: one each. */
	snprintf(addr, sizeof(addr), "127.0.%d.%d", 4 + i / 250, 1 + i % 250);
	t0 = monotime_sec();
	fx_vm(d, name, addr);
	return (monotime_sec() - t0) * 1e3;
}

/* The q-quantile (0..1) of ms[0..n-1], which it sorts. */
static double
quantile(double *ms, int n, double q)
{
	for (int i = 1; i < n; i++)	/* insertion sort: n is small */
		for (int j = i; j > 0 && ms[j] < ms[j - 1]; j--) {
			double x = ms[j];

			ms[j] = ms[j - 1];
			ms[j - 1] = x;
		}
	return ms[(int)(q * (n - 1))];
}

START_TEST(unreachable_webhook)
{
	static const char rule[] = "  rules:\n    - name: vm-added\n"
	    "      actions: [vm.add]\n      per: vm\n      count: 1\n"
	    "      window: 60\n";
	struct vtd hole, plain;
	struct vt_http_resp r;
	char yaml[2048];
	uint16_t port;
	double with, without, ms_plain[100], ms_hole[100];
	int fd = vt_blackhole_open(&port);

	ck_assert_int_ge(fd, 0);
	snprintf(yaml, sizeof(yaml), "alarms:\n  queue: 10\n  webhook: {url: "
	    "\"http://127.0.0.1:%u/\", secret_file: SECRETFILE}\n%s",
	    port, rule);
	start_with(&hole, yaml);
	start_with(&plain, "alarms:\n" "  queue: 10\n");
	/*
	 * Interleaved, so that whatever else the machine does falls on both
	 * alike; the median is compared (a p99 of 100 samples is one sample,
	 * at the mercy of the scheduler, all the more under sanitizers).
	 */
	for (int i = 0; i < 100; i++) {
		ms_plain[i] = vm_add_ms(&plain, "p", i);
		ms_hole[i] = vm_add_ms(&hole, "h", i);
	}
	without = quantile(ms_plain, 100, 0.5);
	with = quantile(ms_hole, 100, 0.5);
	fprintf(stderr, "alarms: VM add median %.2f ms (p99 %.2f) with a "
	    "black-hole webhook, %.2f ms (p99 %.2f) without\n", with,
	    quantile(ms_hole, 100, 0.99), without,
	    quantile(ms_plain, 100, 0.99));
	ck_assert_msg(with <= 2.0 * without || with - without < 2.0,
	    "%.2f ms vs %.2f ms", with, without);
	/* 100 alarms, a queue of 10 and a receiver that never answers. */
	ck_assert_int_eq(vt_api(&hole, "GET", "/metrics", NULL, &r), 0);
	ck_assert_int_gt(vt_metric(r.body,
	    "vtoken_alarm_deliveries_dropped_total"), 0);
	vt_http_resp_free(&r);
	fx_stop(&plain);
	fx_stop(&hole);
	close(fd);
}
END_TEST

/*
 * disk_low: with a threshold no disk can meet (95 TiB) the alarm is
 * raised within a check (10 s) and names the free space; with the
 * threshold off it never is.
 */
START_TEST(disk_low)
{
	struct vt_http_resp r;
	struct vtd d;
	int64_t deadline;
	json_t *a = NULL;

	if (store_fx_is_pg())
		return;	/* only SQLite's disk is watched: PostgreSQL's is its own */
	start_with(&d, "alarms:\n  disk_low:\n    min_free_mib: 100000000\n");
	deadline = monotime_ms() + 20000;
	while (a == NULL && monotime_ms() < deadline) {
		ck_assert_int_eq(vt_api(&d, "GET", "/v1/alarms?state=active",
		    NULL, &r), 0);
		if (strstr(r.body, "\"disk_low\"") != NULL)
			a = json_incref(json_array_get(json_object_get(r.json,
			    "alarms"), 0));
		vt_http_resp_free(&r);
		if (a == NULL)
			vt_sleep_ms(200);
	}
	ck_assert_msg(a != NULL, "no disk_low alarm");
	ck_assert_str_eq(json_string_value(json_object_get(a, "severity")),
	    "critical");
	ck_assert_ptr_nonnull(strstr(json_string_value(json_object_get(a,
	    "message")), "MiB free for the store"));
	json_decref(a);
	fx_stop(&d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("alarms");
	TCase *tc = tcase_create("alarms");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, copied_token);
	tcase_add_test(tc, unreachable_webhook);
	tcase_add_test(tc, disk_low);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
