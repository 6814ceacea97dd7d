/*
 * test_agentmgr: agents managed from the centre (docs/AGENT.md), the
 * controller's side, against the real vtokend: an agent's verify (made
 * here with the token's own key, tests/lib/vt_agent.h) carries facts,
 * update results and a policy that fired; the answers carry the policy
 * and the update.
 *
 *  - facts: kept and shown on GET /v1/vms/{id}; recorded as vm.facts
 *    only when they change (the same facts with a later uptime write
 *    nothing); a new machine-id is vm.identity_changed and raises the
 *    identity_changed alarm; they survive a restart;
 *  - policy: the default, then the VM's own, reach the agent in the next
 *    answer; GET /v1/vms/{id}/policy says where it comes from;
 *  - releases and the rollout: a sha256 that is not the artifact's is
 *    refused; the rollout's target is offered to a VM running another
 *    version and not to one running it; a targeted release cannot be
 *    deleted; update reports are recorded once each (agent.update_failed
 *    raises agent_update_failed; GET /v1/agents shows the result);
 *  - artifact and bootstrap: served to the VM's address, 403 elsewhere;
 *  - a deleted VM's documents go with it.
 */
#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"

#include "../lib/control_fixture.h"
#include "../lib/vt_agent.h"
#include "../lib/vt_wait.h"

#define VM_ADDR		"127.0.0.1"
#define OTHER_ADDR	"127.0.0.2"
/* 64 zero bytes: the controller does not check signatures, agents do. */
#define ZERO_SIG	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAA=="
#define HELLO_SHA	"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e7304336" \
	"2938b9824"

static const char *
facts(char *buf, size_t len, const char *machine_id, const char *version,
    long uptime)
{
	snprintf(buf, len, "\"facts\": {\"hostname\": \"guest-1\", \"os\": "
	    "\"Debian GNU/Linux 12 (bookworm)\", \"kernel\": \"6.1.0-test\", "
	    "\"machine_id\": \"%s\", \"dmi_vendor\": \"QEMU\", "
	    "\"dmi_product\": \"Standard PC\", \"dmi_uuid\": "
	    "\"5e0e0e0e-0000-4000-8000-000000000001\", \"agent_version\": "
	    "\"%s\", \"uptime\": %ld, \"future_fact\": \"ignored\"}",
	    machine_id, version, uptime);
	return buf;
}

/* A verify that must succeed; its answer (the caller frees it). */
static json_t *
ok_verify(struct vt_agent *a, struct vtd *d, const char *extra)
{
	struct vt_http_resp r;
	json_t *answer;

	ck_assert_int_eq(vt_agent_verify(a, d, NULL, extra, &r), 200);
	answer = json_incref(r.json);
	vt_http_resp_free(&r);
	return answer;
}

static const char *
str(const json_t *o, const char *k)
{
	const char *v = json_string_value(json_object_get(o, k));

	return v != NULL ? v : "";
}

/* Waits up to 5 s for an active alarm of rule. */
static void
wait_alarm(struct vtd *d, const char *rule)
{
	struct vt_http_resp r;
	char want[96];
	bool seen = false;

	snprintf(want, sizeof(want), "\"rule\": \"%s\"", rule);
	for (int i = 0; i < 100 && !seen; i++) {
		ck_assert_int_eq(vt_api(d, "GET", "/v1/alarms?state=active",
		    NULL, &r), 0);
		seen = strstr(r.body, want) != NULL;
		vt_http_resp_free(&r);
		if (!seen)
			vt_sleep_ms(50);
	}
	ck_assert_msg(seen, "no active %s alarm", rule);
}

static long
call(struct vtd *d, const char *method, const char *path, const char *body)
{
	struct vt_http_resp r;
	long st;

	ck_assert_int_eq(vt_api(d, method, path, body, &r), 0);
	st = r.status;
	vt_http_resp_free(&r);
	return st;
}

static void
check_facts_and_policy(struct vtd *d, struct vt_agent *a)
{
	struct vt_http_resp r;
	char f[1024];
	json_t *ans, *fa;

	ans = ok_verify(a, d, facts(f, sizeof(f), "aaaa", "1.0", 100));
	ck_assert_str_eq(str(json_object_get(ans, "policy"), "action"), "log");
	ck_assert_ptr_null(json_object_get(ans, "update"));
	json_decref(ans);
	ck_assert_int_eq(vt_api(d, "GET", "/v1/vms/vm1", NULL, &r), 0);
	fa = json_object_get(r.json, "facts");
	ck_assert_str_eq(str(fa, "hostname"), "guest-1");
	ck_assert_str_eq(str(fa, "machine_id"), "aaaa");
	ck_assert_str_eq(str(fa, "peer"), VM_ADDR);
	ck_assert_ptr_null(json_object_get(fa, "future_fact"));
	ck_assert(json_integer_value(json_object_get(fa, "uptime")) >= 100);
	ck_assert_str_eq(str(json_object_get(r.json, "policy"), "source"),
	    "default");
	vt_http_resp_free(&r);
	/* The same boot (uptime and clock agree): nothing written. */
	json_decref(ok_verify(a, d, facts(f, sizeof(f), "aaaa", "1.0", 101)));
	ck_assert_int_eq(vt_audit_count(d, "vm.facts", NULL), 1);

	ck_assert_int_eq(call(d, "PUT", "/v1/vms/vm1/policy", "{\"interval\": "
	    "10, \"grace\": 30, \"action\": \"isolate-network\"}"), 200);
	ans = ok_verify(a, d, "");
	ck_assert_str_eq(str(json_object_get(ans, "policy"), "action"),
	    "isolate-network");
	ck_assert_int_eq(json_integer_value(json_object_get(json_object_get(
	    ans, "policy"), "interval")), 10);
	json_decref(ans);
	ck_assert_int_eq(call(d, "PUT", "/v1/vms/vm1/policy", "{\"interval\": "
	    "10, \"grace\": 5, \"action\": \"log\"}"), 400);
	ck_assert_int_eq(call(d, "PUT", "/v1/policy", "{\"interval\": 10, "
	    "\"grace\": 50, \"action\": \"command\"}"), 400);

	/* A clone, or the token in another machine. */
	json_decref(ok_verify(a, d, facts(f, sizeof(f), "bbbb", "1.0", 102)));
	ck_assert_int_eq(vt_audit_count(d, "vm.identity_changed", "aaaa"), 1);
	wait_alarm(d, "identity_changed");
}

static void
check_releases(struct vtd *d, struct vt_agent *a)
{
	struct vt_http_resp r;
	char f[1024];
	json_t *ans, *u;

	ck_assert_int_eq(call(d, "POST", "/v1/agent/releases", "{\"version\": "
	    "\"2.0\", \"sha256\": \"" HELLO_SHA "\", \"signature\": \""
	    ZERO_SIG "\", \"artifact\": \"aGVsbG8=\"}"), 201);
	ck_assert_int_eq(call(d, "POST", "/v1/agent/releases", "{\"version\": "
	    "\"2.1\", \"sha256\": \"" HELLO_SHA "\", \"signature\": \""
	    ZERO_SIG "\", \"artifact\": \"aGVsbG8h\"}"), 400);
	ck_assert_int_eq(call(d, "PUT", "/v1/agent/rollout", "{\"version\": "
	    "\"3.0\"}"), 404);
	ck_assert_int_eq(call(d, "PUT", "/v1/agent/rollout", "{\"version\": "
	    "\"2.0\", \"percent\": 0}"), 400);
	ck_assert_int_eq(call(d, "PUT", "/v1/agent/rollout", "{\"version\": "
	    "\"2.0\", \"vms\": [\"vm1\"]}"), 200);
	ck_assert_int_eq(call(d, "DELETE", "/v1/agent/releases/2.0", NULL),
	    409);

	ans = ok_verify(a, d, facts(f, sizeof(f), "bbbb", "1.0", 103));
	u = json_object_get(ans, "update");
	ck_assert_str_eq(str(u, "version"), "2.0");
	ck_assert_str_eq(str(u, "sha256"), HELLO_SHA);
	ck_assert_str_eq(str(u, "url"), "/v1/agent/releases/2.0/artifact");
	ck_assert_int_eq(json_integer_value(json_object_get(u, "size")), 5);
	json_decref(ans);

	/* A refusal is recorded once, however often it is reported. */
	for (int i = 0; i < 2; i++)
		json_decref(ok_verify(a, d, "\"update\": {\"version\": \"2.0\", "
		    "\"result\": \"refused\", \"reason\": \"bad signature\"}"));
	ck_assert_int_eq(vt_audit_count(d, "agent.update_failed", NULL), 1);
	wait_alarm(d, "agent_update_failed");
	ck_assert_int_eq(vt_api(d, "GET", "/v1/agents", NULL, &r), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "\"result\": \"refused\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"target\": \"2.0\""));
	vt_http_resp_free(&r);

	/* Running the target: no offer; the install is recorded. */
	snprintf(f + strlen(facts(f, sizeof(f), "bbbb", "2.0", 5)),
	    sizeof(f) - strlen(f), ", \"update\": {\"version\": \"2.0\", "
	    "\"result\": \"installed\"}");
	ans = ok_verify(a, d, f);
	ck_assert_ptr_null(json_object_get(ans, "update"));
	json_decref(ans);
	ck_assert_int_eq(vt_audit_count(d, "agent.updated", NULL), 1);
}

/*
 * A release larger than api.max_body (1 MiB) is taken on its route, and
 * a body beyond that route's cap is refused before it is read.
 */
static void
check_big_release(struct vtd *d)
{
	size_t art_len = 1536 * 1024, cap = 23u << 20;
	struct vt_http_resp r;
	char *body = malloc(cap + 1), sha[65];
	uint8_t *art = malloc(art_len), md[32];
	char *b64;
	int n;

	ck_assert_ptr_nonnull(body);
	ck_assert_ptr_nonnull(art);
	for (size_t i = 0; i < art_len; i++)
		art[i] = (uint8_t)(i * 2654435761u >> 13);
	ck_assert_int_eq(EVP_Digest(art, art_len, md, NULL, EVP_sha256(),
	    NULL), 1);
	encode_hex(md, sizeof(md), sha, false);
	b64 = encode_base64(art, art_len);
	n = snprintf(body, cap + 1, "{\"version\": \"big\", \"sha256\": "
	    "\"%s\", \"signature\": \"" ZERO_SIG "\", \"artifact\": "
	    "\"%s\"}", sha, b64);
	ck_assert_int_gt(n, 1 << 20);
	ck_assert_int_eq(vt_api(d, "POST", "/v1/agent/releases", body, &r), 0);
	ck_assert_msg(r.status == 201, "big release: %ld %s", r.status, r.body);
	vt_http_resp_free(&r);
	memset(body, ' ', cap);
	body[cap] = '\0';
	ck_assert_int_eq(call(d, "POST", "/v1/agent/releases", body), 413);
	free(b64);
	free(art);
	free(body);
}

static void
check_served(struct vtd *d, struct vt_agent *a)
{
	struct vt_http_resp r;
	char url[256];

	vt_api_url(d, "/v1/agent/releases/2.0/artifact", url, sizeof(url));
	ck_assert_int_eq(vt_http_from("GET", url, VM_ADDR, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.len, 5);
	ck_assert_int_eq(memcmp(r.body, "hello", 5), 0);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_http_from("GET", url, OTHER_ADDR, NULL, NULL, &r),
	    0);
	ck_assert_int_eq(r.status, 403);
	vt_http_resp_free(&r);
	vt_api_url(d, "/v1/agent/bootstrap", url, sizeof(url));
	ck_assert_int_eq(vt_http_from("GET", url, OTHER_ADDR, NULL, NULL, &r),
	    0);
	ck_assert_int_eq(r.status, 403);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_http_from("GET", url, VM_ADDR, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(strstr(r.body, HELLO_SHA));
	ck_assert_ptr_null(strstr(r.body, "@RELEASE_"));
	vt_http_resp_free(&r);

	/* Reported once each: a policy that ran while locked out. */
	for (int i = 0; i < 2; i++)
		json_decref(ok_verify(a, d, "\"policy_fired\": {\"action\": "
		    "\"isolate-network\", \"reason\": \"revoked\", \"time\": "
		    "\"2026-12-03T10:00:00Z\", \"result\": \"ok\"}"));
	ck_assert_int_eq(vt_audit_count(d, "agent.policy_fired", "revoked"),
	    1);
	ck_assert_int_eq(vt_agent_verify(a, d, NULL, "\"facts\": \"x\"", &r),
	    400);
	vt_http_resp_free(&r);
}

START_TEST(managed)
{
	struct fx_token t;
	struct vt_agent a;
	struct vt_http_resp r;
	struct vtd d;

	fx_start(&d);
	fx_token(&d, "t1", false, &t);
	fx_vm(&d, "vm1", VM_ADDR);
	fx_assign(&d, "t1", "vm1");
	vt_agent_load(&a, &d, t.id);

	check_facts_and_policy(&d, &a);
	check_releases(&d, &a);
	check_served(&d, &a);
	check_big_release(&d);

	/* Kept in the store: the same after a restart. */
	fx_restart(&d);
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/vms/vm1", NULL, &r), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "\"machine_id\": \"bbbb\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"source\": \"vm\""));
	vt_http_resp_free(&r);

	/* A deleted VM's documents go with it. */
	ck_assert_int_eq(call(&d, "DELETE", "/v1/vms/vm1", NULL), 204);
	fx_vm(&d, "vm1", VM_ADDR);
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/vms/vm1", NULL, &r), 0);
	ck_assert_ptr_nonnull(strstr(r.body, "\"facts\": null"));
	ck_assert_ptr_nonnull(strstr(r.body, "\"source\": \"default\""));
	vt_http_resp_free(&r);
	vt_agent_free(&a);
	fx_stop(&d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("agentmgr");
	TCase *tc = tcase_create("agentmgr");

	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, managed);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
