/*
 * test_roles: API keys and roles against the real vtokend.
 *
 *  - matrix: every route called with a key of every role (admin,
 *    operator, auditor, orchestrator) and with no key; the status of each
 *    cell is asserted from the table below (the same table as
 *    src/server/api/api.c's and docs/API.md's "Roles").  Routes that
 *    change something get objects of their own per cell, made with the
 *    admin key first, so that an allowed call succeeds.  Each 403 is an
 *    api.forbidden record naming the key.
 *  - lifecycle: a key's secret is shown once (not in the list, the log or
 *    the audit); a deleted key fails its holder's next request on the
 *    same kept-alive connection; an expired key is refused; the last
 *    admin key cannot be deleted; every record a key causes names it.
 */
#include <check.h>
#include <curl/curl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/encode.h"

#include "../lib/control_fixture.h"
#include "../lib/vt_sse.h"
#include "../lib/vt_wait.h"

enum { ADMIN, OPERATOR, AUDITOR, ORCHESTRATOR, NONE, NROLES };

static const char *const role_name[NROLES] = {
	"admin", "operator", "auditor", "orchestrator", "none"
};

/* Which roles may call a route (bits by the enum above). */
#define R_ALL	((1 << ADMIN) | (1 << OPERATOR) | (1 << AUDITOR) | \
		    (1 << ORCHESTRATOR))
#define R_READ	R_ALL
#define R_AUDIT	((1 << ADMIN) | (1 << OPERATOR) | (1 << AUDITOR))
#define R_MON	((1 << ADMIN) | (1 << OPERATOR) | (1 << AUDITOR))
#define R_CHG	((1 << ADMIN) | (1 << OPERATOR))
#define R_VM	((1 << ADMIN) | (1 << OPERATOR) | (1 << ORCHESTRATOR))
#define R_ADM	(1 << ADMIN)
#define R_OPEN	(R_ALL | (1 << NONE))	/* no key needed */

/*
 * One route.  path and body may hold "@" (the role's name, for
 * objects of its own); prep (may be NULL) makes what the call needs,
 * with the admin key, for that role.
 */
struct route {
	const char *method, *path, *body;
	unsigned allowed;
	long ok;		/* the status when allowed */
	void (*prep)(struct vtd *d, const char *role);
};

/* A token named PREFIX-ROLE (assigned to vm0 if assign). */
static void
prep_named(struct vtd *d, const char *prefix, const char *role, bool assign)
{
	struct fx_token t;
	char name[64];

	snprintf(name, sizeof(name), "%s-%s", prefix, role);
	fx_token(d, name, false, &t);
	if (assign)
		fx_assign(d, name, "vm0");
}

static void
prep_token(struct vtd *d, const char *role)
{
	prep_named(d, "del", role, false);
}

static void
prep_vm(struct vtd *d, const char *role)
{
	char name[64], addr[32];
	static unsigned n;

	/* VMs' addresses may not overlap: one of its own each. */
	snprintf(name, sizeof(name), "vmdel-%s", role);
	snprintf(addr, sizeof(addr), "127.0.3.%u", 1 + n++ % 250);
	fx_vm(d, name, addr);
}

static void
prep_assignable(struct vtd *d, const char *role)
{
	prep_named(d, "as", role, false);
}

static void
prep_assigned(struct vtd *d, const char *role)
{
	prep_named(d, "rv", role, true);
}

static void
prep_key(struct vtd *d, const char *role)
{
	struct vt_http_resp r;
	char body[128];

	snprintf(body, sizeof(body), "{\"name\": \"kdel-%s\", \"role\": "
	    "\"auditor\"}", role);
	ck_assert_int_eq(vt_api(d, "POST", "/v1/keys", body, &r), 0);
	ck_assert_int_eq(r.status, 201);
	vt_http_resp_free(&r);
}

/* An admin call that must answer want. */
static void
admin_call(struct vtd *d, const char *method, const char *path,
    const char *body, long want)
{
	struct vt_http_resp r;

	ck_assert_int_eq(vt_api(d, method, path, body, &r), 0);
	ck_assert_msg(r.status == want, "%s %s: %ld %s", method, path,
	    r.status, r.body);
	vt_http_resp_free(&r);
}

/* A VM vmp-ROLE with a policy of its own. */
static void
prep_vm_policy(struct vtd *d, const char *role)
{
	char name[64], addr[32], path[128];
	static unsigned n;

	snprintf(name, sizeof(name), "vmp-%s", role);
	snprintf(addr, sizeof(addr), "127.0.4.%u", 1 + n++ % 250);
	fx_vm(d, name, addr);
	snprintf(path, sizeof(path), "/v1/vms/%s/policy", name);
	admin_call(d, "PUT", path, "{\"interval\": 10, \"grace\": 30, "
	    "\"action\": \"log\"}", 200);
}

/* A release (not verified by the controller: agents check signatures). */
#define RELEASE_BODY(v) "{\"version\": \"" v "\", \"sha256\": " \
	"\"2cf24dba5fb0a30e26e83b2ac5b9e29e1b161e5c1fa7425e73043362938b9824\"," \
	" \"signature\": \"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA" \
	"AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA==\", \"artifact\": \"aGVsbG8=\"}"

static void
prep_release(struct vtd *d, const char *role)
{
	char body[512], v[32];

	snprintf(v, sizeof(v), "rd-%s", role);
	snprintf(body, sizeof(body), RELEASE_BODY("%s"), v);
	admin_call(d, "POST", "/v1/agent/releases", body, 201);
}

static const struct route routes[] = {
	{ "GET", "/healthz", NULL, R_OPEN, 200, NULL },
	{ "GET", "/v1/openapi.json", NULL, R_OPEN, 200, NULL },
	{ "GET", "/metrics", NULL, R_MON, 200, NULL },
	{ "GET", "/v1/tokens", NULL, R_READ, 200, NULL },
	{ "POST", "/v1/tokens", "{\"name\": \"new-@\"}", R_CHG, 201,
	  NULL },
	{ "GET", "/v1/tokens/t0", NULL, R_READ, 200, NULL },
	{ "DELETE", "/v1/tokens/del-@", NULL, R_CHG, 204, prep_token },
	{ "GET", "/v1/tokens/t0/image", NULL, R_ADM, 200, NULL },
	{ "GET", "/v1/vms", NULL, R_READ, 200, NULL },
	{ "POST", "/v1/vms", "{\"name\": \"vm-@\", \"addresses\": "
	  "[\"127.0.2.#\"]}", R_VM, 201, NULL },
	{ "GET", "/v1/vms/vm0", NULL, R_READ, 200, NULL },
	{ "PATCH", "/v1/vms/vm0", "{\"addresses\": [\"127.0.0.2\"]}", R_VM,
	  200, NULL },
	{ "DELETE", "/v1/vms/vmdel-@", NULL, R_VM, 204, prep_vm },
	{ "GET", "/v1/assignments", NULL, R_READ, 200, NULL },
	{ "POST", "/v1/assignments", "{\"token\": \"as-@\", \"vm\": "
	  "\"vm0\"}", R_VM, 201, prep_assignable },
	{ "DELETE", "/v1/assignments/rv-@", NULL, R_VM, 204,
	  prep_assigned },
	{ "GET", "/v1/sessions", NULL, R_READ, 200, NULL },
	{ "GET", "/v1/nodes", NULL, R_READ, 200, NULL },
	{ "GET", "/v1/audit", NULL, R_AUDIT, 200, NULL },
	{ "GET", "/v1/audit/verify", NULL, R_AUDIT, 200, NULL },
	{ "GET", "/v1/events", NULL, R_AUDIT, 200, NULL },
	{ "GET", "/v1/alarms", NULL, R_AUDIT, 200, NULL },
	/* Allowed: no such alarm. */
	{ "POST", "/v1/alarms/0000000000000000/ack", "{}", R_CHG, 404, NULL },
	{ "GET", "/v1/keys", NULL, R_ADM, 200, NULL },
	{ "POST", "/v1/keys", "{\"name\": \"k-@\", \"role\": "
	  "\"auditor\"}", R_ADM, 201, NULL },
	{ "DELETE", "/v1/keys/kdel-@", NULL, R_ADM, 204, prep_key },
	{ "GET", "/v1/whoami", NULL, R_ALL, 200, NULL },
	/* Agents managed from the centre (docs/AGENT.md). */
	{ "GET", "/v1/policy", NULL, R_READ, 200, NULL },
	{ "PUT", "/v1/policy", "{\"interval\": 30, \"grace\": 90, "
	  "\"action\": \"log\"}", R_CHG, 200, NULL },
	{ "GET", "/v1/vms/vm0/policy", NULL, R_READ, 200, NULL },
	{ "PUT", "/v1/vms/vm0/policy", "{\"interval\": 20, \"grace\": 60, "
	  "\"action\": \"lock-sessions\"}", R_CHG, 200, NULL },
	{ "DELETE", "/v1/vms/vmp-@/policy", NULL, R_CHG, 200,
	  prep_vm_policy },
	{ "GET", "/v1/agents", NULL, R_READ, 200, NULL },
	{ "GET", "/v1/agent/releases", NULL, R_READ, 200, NULL },
	{ "POST", "/v1/agent/releases", RELEASE_BODY("r-@"), R_ADM, 201,
	  NULL },
	{ "DELETE", "/v1/agent/releases/rd-@", NULL, R_ADM, 204,
	  prep_release },
	/* Allowed: there is no rollout yet. */
	{ "GET", "/v1/agent/rollout", NULL, R_READ, 404, NULL },
	{ "PUT", "/v1/agent/rollout", "{\"version\": \"rr\"}", R_ADM, 200,
	  NULL },
	{ "DELETE", "/v1/agent/rollout", NULL, R_ADM, 204, NULL },
	/* No key: the caller's 127.0.0.1 is VM vmhere's. */
	{ "GET", "/v1/agent/releases/rr/artifact", NULL, R_OPEN, 200, NULL },
	{ "GET", "/v1/agent/bootstrap", NULL, R_OPEN, 200, NULL },
	/* Agent routes take no key: a token not assigned to the caller. */
	{ "POST", "/v1/agent/challenge", "{\"token\": \"t0\"}", R_OPEN, 404,
	  NULL },
};

/* POST /v1/keys as admin; the secret into key (and the id into id). */
static void
make_key(struct vtd *d, const char *name, const char *role,
    const char *expires, char *key, size_t keylen, char *id, size_t idlen)
{
	struct vt_http_resp r;
	char body[256];

	snprintf(body, sizeof(body), "{\"name\": \"%s\", \"role\": \"%s\"%s%s"
	    "%s}", name, role, expires ? ", \"expires\": \"" : "",
	    expires ? expires : "", expires ? "\"" : "");
	ck_assert_int_eq(vt_api(d, "POST", "/v1/keys", body, &r), 0);
	ck_assert_msg(r.status == 201, "make key %s: %ld %s", name, r.status,
	    r.body);
	snprintf(key, keylen, "%s", json_string_value(json_object_get(r.json,
	    "key")));
	if (id != NULL)
		snprintf(id, idlen, "%s", json_string_value(json_object_get(
		    r.json, "id")));
	vt_http_resp_free(&r);
}

static long
call(struct vtd *d, const char *method, const char *path, const char *key,
    const char *body)
{
	struct vt_http_resp r;
	struct vt_sse sse;
	char url[512];
	long st;

	if (strncmp(path, "/v1/events", 10) == 0) {	/* it stays open */
		st = vt_sse_open(&sse, d->api_port, key, path, -1, 0);
		vt_sse_close(&sse);
		return st;
	}

	vt_api_url(d, path, url, sizeof(url));
	ck_assert_int_eq(vt_http(method, url, key, body, &r), 0);
	st = r.status;
	vt_http_resp_free(&r);
	return st;
}

/*
 * tmpl with each '@' replaced by role and each '#' by a number of this
 * call's own (VMs' addresses may not overlap).
 */
static void
fill(char *dst, size_t len, const char *tmpl, const char *role)
{
	static unsigned calls;
	size_t j = 0;

	calls++;
	for (const char *p = tmpl; *p != '\0' && j + 1 < len; p++) {
		if (*p == '#') {
			j += (size_t)snprintf(dst + j, len - j, "%u",
			    1 + calls % 250);
			continue;
		}
		if (*p != '@') {
			dst[j++] = *p;
			continue;
		}
		for (const char *q = role; *q != '\0' && j + 1 < len; q++)
			dst[j++] = *q;
	}
	dst[j] = '\0';
}

static void
setup_objects(struct vtd *d)
{
	struct fx_token t;

	fx_token(d, "t0", false, &t);
	fx_vm(d, "vm0", "127.0.0.2");
	fx_vm(d, "vmhere", "127.0.0.1");
	admin_call(d, "POST", "/v1/agent/releases", RELEASE_BODY("rr"), 201);
}

START_TEST(matrix)
{
	char keys[NROLES][160], path[256], body[512];
	struct vt_http_resp r;
	struct vtd d;
	int forbidden = 0;

	fx_start(&d);
	setup_objects(&d);
	snprintf(keys[ADMIN], sizeof(keys[ADMIN]), "%s", vt_admin_key(&d));
	for (int i = OPERATOR; i < NONE; i++) {
		char name[32];

		snprintf(name, sizeof(name), "%s-key", role_name[i]);
		make_key(&d, name, role_name[i], NULL, keys[i],
		    sizeof(keys[i]), NULL, 0);
	}
	for (size_t k = 0; k < sizeof(routes) / sizeof(routes[0]); k++) {
		const struct route *rt = &routes[k];

		for (int i = 0; i < NROLES; i++) {
			bool ok = rt->allowed & (1u << i);
			long want = ok ? rt->ok : i == NONE ? 401 : 403;
			long got;

			if (rt->prep != NULL)
				rt->prep(&d, role_name[i]);
			fill(path, sizeof(path), rt->path, role_name[i]);
			if (rt->body != NULL)
				fill(body, sizeof(body), rt->body,
				    role_name[i]);
			got = call(&d, rt->method, path, i == NONE ? NULL :
			    keys[i], rt->body ? body : NULL);
			ck_assert_msg(got == want, "%s %s as %s: %ld, want %ld",
			    rt->method, path, role_name[i], got, want);
			forbidden += want == 403;
		}
	}
	/*
	 * Each 403 is counted; the first ones are on the record, naming the
	 * key, the rest suppressed by the per-address limit on refusal
	 * records (which the 401s above share), and counted as such.
	 */
	ck_assert_int_eq(vt_api(&d, "GET", "/metrics", NULL, &r), 0);
	ck_assert_int_eq(vt_metric(r.body, "vtoken_api_forbidden_total"),
	    forbidden);
	ck_assert_int_gt(vt_metric(r.body, "vtoken_audit_suppressed_total"),
	    0);
	vt_http_resp_free(&r);
	ck_assert_int_ge(vt_audit_count(&d, "api.forbidden", NULL), 1);
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/audit?limit=1000", NULL, &r),
	    0);
	ck_assert_ptr_nonnull(strstr(r.body, "\"actor\": \"api:operator-key/"));
	vt_http_resp_free(&r);
	/* A key learns its own role and what it grants, nothing more. */
	vt_api_url(&d, "/v1/whoami", path, sizeof(path));
	ck_assert_int_eq(vt_http("GET", path, keys[AUDITOR], NULL, &r), 0);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "role")),
	    "auditor");
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "name")),
	    "auditor-key");
	ck_assert_ptr_null(strstr(r.body, "\"tokens\""));
	ck_assert_ptr_nonnull(strstr(r.body, "\"audit\""));
	vt_http_resp_free(&r);
	fx_stop(&d);
}
END_TEST

static size_t
curl_sink(char *p, size_t s, size_t n, void *arg)
{
	(void)p;
	(void)arg;
	return s * n;
}

/* GET path on a kept-alive handle; the status. */
static long
keepalive_get(CURL *c, const struct vtd *d, const char *path)
{
	char url[512];
	long st = 0;

	vt_api_url(d, path, url, sizeof(url));
	curl_easy_setopt(c, CURLOPT_URL, url);
	ck_assert_int_eq(curl_easy_perform(c), CURLE_OK);
	curl_easy_getinfo(c, CURLINFO_RESPONSE_CODE, &st);
	return st;
}

START_TEST(lifecycle)
{
	char key[160], id[32], auth[256], actor[96], past[32];
	struct curl_slist *h;
	struct vt_http_resp r;
	struct fx_token t;
	struct vtd d;
	long connects;
	CURL *c;

	fx_start(&d);
	make_key(&d, "help-desk", "operator", "90d", key, sizeof(key), id,
	    sizeof(id));
	/* The secret is nowhere else. */
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/keys", NULL, &r), 0);
	ck_assert_ptr_null(strstr(r.body, key));
	ck_assert_ptr_nonnull(strstr(r.body, "\"help-desk\""));
	vt_http_resp_free(&r);
	ck_assert_int_eq(vtd_log_count(&d, key), 0);
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/audit", NULL, &r), 0);
	ck_assert_ptr_null(strstr(r.body, key));
	vt_http_resp_free(&r);
	/* Records it causes name it: "api:NAME/ID". */
	snprintf(actor, sizeof(actor), "api:help-desk/%s", id);
	ck_assert_int_eq(call(&d, "POST", "/v1/tokens", key,
	    "{\"name\": \"by-help-desk\"}"), 201);
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/audit?limit=1000", NULL, &r),
	    0);
	ck_assert_ptr_nonnull(strstr(r.body, actor));
	vt_http_resp_free(&r);
	/* Deleted while connected: the next request on it fails. */
	c = curl_easy_init();
	snprintf(auth, sizeof(auth), "Authorization: Bearer %s", key);
	h = curl_slist_append(NULL, auth);
	curl_easy_setopt(c, CURLOPT_HTTPHEADER, h);
	curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, curl_sink);
	curl_easy_setopt(c, CURLOPT_TIMEOUT, 10L);
	ck_assert_int_eq(keepalive_get(c, &d, "/v1/tokens"), 200);
	ck_assert_int_eq(call(&d, "DELETE", "/v1/keys/help-desk",
	    vt_admin_key(&d), NULL), 204);
	ck_assert_int_eq(keepalive_get(c, &d, "/v1/tokens"), 401);
	curl_easy_getinfo(c, CURLINFO_NUM_CONNECTS, &connects);
	ck_assert_int_eq(connects, 0);	/* the same connection */
	curl_slist_free_all(h);
	curl_easy_cleanup(c);
	/* Expired: 1 s to live. */
	encode_time(time(NULL) + 2, past);
	make_key(&d, "short", "auditor", past, key, sizeof(key), NULL, 0);
	ck_assert_int_eq(call(&d, "GET", "/v1/tokens", key, NULL), 200);
	vt_sleep_ms(2500);
	ck_assert_int_eq(call(&d, "GET", "/v1/tokens", key, NULL), 401);
	ck_assert_int_ge(vtd_log_count(&d, "expired API key"), 1);
	/* Bad requests. */
	ck_assert_int_eq(call(&d, "POST", "/v1/keys", vt_admin_key(&d),
	    "{\"name\": \"x\", \"role\": \"root\"}"), 400);
	ck_assert_int_eq(call(&d, "POST", "/v1/keys", vt_admin_key(&d),
	    "{\"name\": \"x\", \"role\": \"admin\", \"expires\": \"5y\"}"),
	    400);
	ck_assert_int_eq(call(&d, "POST", "/v1/keys", vt_admin_key(&d),
	    "{\"name\": \"short\", \"role\": \"admin\"}"), 409);
	ck_assert_int_eq(call(&d, "DELETE", "/v1/keys/nobody",
	    vt_admin_key(&d), NULL), 404);
	/* The last admin key stays. */
	ck_assert_int_eq(call(&d, "DELETE", "/v1/keys/admin",
	    vt_admin_key(&d), NULL), 409);
	/* And everything survives a restart. */
	fx_restart(&d);
	ck_assert_int_eq(call(&d, "GET", "/v1/tokens", key, NULL), 401);
	fx_token(&d, "after-restart", false, &t);
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/audit/verify", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	vt_http_resp_free(&r);
	fx_stop(&d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("roles");
	TCase *tc = tcase_create("roles");
	SRunner *sr;
	int failed;

	curl_global_init(CURL_GLOBAL_DEFAULT);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, matrix);
	tcase_add_test(tc, lifecycle);
	suite_add_tcase(s, tc);
	sr = srunner_create(s);
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed ? 1 : 0;
}
