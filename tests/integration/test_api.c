/*
 * test_api: the REST API's answers to bad input, authentication, and
 * TLS, against the real vtokend.  Every rejected request must leave the
 * state and the audit log untouched (401s add exactly their own
 * api.auth_failed record).
 */
#include <arpa/inet.h>
#include <check.h>
#include <netinet/in.h>
#include <poll.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/control_fixture.h"

/* State fingerprint: audit last_seq plus token and VM listings. */
struct snap {
	long long seq;
	char *tokens, *vms;
};

static char *
get_body(struct vtd *d, const char *path)
{
	struct vt_http_resp r;
	char *b;

	ck_assert_int_eq(vt_api(d, "GET", path, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	b = r.body;
	r.body = NULL;
	vt_http_resp_free(&r);
	return b;
}

static void
snap_take(struct vtd *d, struct snap *s)
{
	s->seq = vt_audit_last_seq(d);
	s->tokens = get_body(d, "/v1/tokens");
	s->vms = get_body(d, "/v1/vms");
}

static void
snap_same(struct vtd *d, const struct snap *s, long long extra_records)
{
	struct snap now;

	snap_take(d, &now);
	ck_assert_int_eq(now.seq, s->seq + extra_records);
	ck_assert_str_eq(now.tokens, s->tokens);
	ck_assert_str_eq(now.vms, s->vms);
	free(now.tokens);
	free(now.vms);
}

/* Expects METHOD path body -> status with error.code. */
static void
expect(struct vtd *d, const char *method, const char *path,
    const char *body, long status, const char *code)
{
	struct vt_http_resp r;

	ck_assert_int_eq(vt_api(d, method, path, body, &r), 0);
	ck_assert_msg(r.status == status, "%s %s %s: got %ld %s", method,
	    path, body ? body : "", r.status, r.body);
	if (code != NULL) {
		const char *got = json_string_value(json_object_get(
		    json_object_get(r.json, "error"), "code"));

		ck_assert_msg(got != NULL && strcmp(got, code) == 0,
		    "%s %s: error code %s, want %s", method, path,
		    got ? got : "(none)", code);
	}
	vt_http_resp_free(&r);
}

/*
 * Walks path (which has ?limit=N) page by page; returns the number of
 * items of member `list`, asserting each page has at most limit items,
 * only the last has no "next", and no page is empty unless all are.
 */
static size_t
walk_pages(struct vtd *d, const char *path, const char *list, size_t limit)
{
	char url[256], next[64] = "";
	size_t total = 0, pages = 0;

	for (;;) {
		struct vt_http_resp r;
		json_t *items, *nx;

		snprintf(url, sizeof(url), "%s%s%s", path, next[0] ?
		    "&after=" : "", next);
		ck_assert_int_eq(vt_api(d, "GET", url, NULL, &r), 0);
		ck_assert_msg(r.status == 200, "%s: %ld %s", url, r.status,
		    r.body);
		items = json_object_get(r.json, list);
		nx = json_object_get(r.json, "next");
		ck_assert_uint_le(json_array_size(items), limit);
		ck_assert_msg(json_array_size(items) > 0 || (total == 0 &&
		    !json_is_string(nx)), "%s: an empty page", url);
		total += json_array_size(items);
		ck_assert_uint_lt(++pages, 100);
		if (!json_is_string(nx)) {
			vt_http_resp_free(&r);
			return total;
		}
		ck_assert_uint_eq(json_array_size(items), limit);
		snprintf(next, sizeof(next), "%s", json_string_value(nx));
		vt_http_resp_free(&r);
	}
}

START_TEST(pagination)
{
	struct vtd d;
	struct usbip_client c[3];
	struct vt_http_resp r;
	char body[128], busid[32];

	fx_start(&d);
	ck_assert_int_eq(vt_api(&d, "POST", "/v1/tokens", "{\"count\": 7, "
	    "\"prefix\": \"pg\", \"size\": \"1M\"}", &r), 0);
	ck_assert_msg(r.status == 201, "%ld %s", r.status, r.body);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json, "count")),
	    7);
	ck_assert_uint_eq(json_array_size(json_object_get(r.json, "tokens")),
	    7);
	vt_http_resp_free(&r);
	fx_vm(&d, "vm-a", "127.0.0.2");
	fx_vm(&d, "vm-b", "127.0.0.3");
	fx_vm(&d, "vm-c", "127.0.0.4");
	for (int i = 1; i <= 3; i++) {
		snprintf(body, sizeof(body), "pg-%04d", 2 * i);
		fx_assign(&d, body, "vm-a");
		snprintf(body, sizeof(body), "/v1/tokens/pg-%04d", 2 * i);
		ck_assert_int_eq(vt_api(&d, "GET", body, NULL, &r), 0);
		snprintf(busid, sizeof(busid), "%s", json_string_value(
		    json_object_get(r.json, "busid")));
		vt_http_resp_free(&r);
		ck_assert_uint_eq(fx_import(&d, "127.0.0.2", busid, &c[i - 1]),
		    0);
	}
	ck_assert_uint_eq(walk_pages(&d, "/v1/tokens?limit=3", "tokens", 3),
	    7);
	ck_assert_uint_eq(walk_pages(&d, "/v1/vms?limit=2", "vms", 2), 3);
	ck_assert_uint_eq(walk_pages(&d, "/v1/assignments?limit=2",
	    "assignments", 2), 3);
	/* A full last page says nothing follows: no empty page. */
	ck_assert_uint_eq(walk_pages(&d, "/v1/assignments?limit=3",
	    "assignments", 3), 3);
	ck_assert_uint_eq(walk_pages(&d, "/v1/sessions?limit=2", "sessions",
	    2), 3);
	ck_assert_uint_eq(walk_pages(&d, "/v1/sessions?limit=3", "sessions",
	    3), 3);
	expect(&d, "GET", "/v1/tokens?after=x", NULL, 400, "bad_request");
	expect(&d, "GET", "/v1/assignments?after=x", NULL, 400,
	    "bad_request");
	expect(&d, "GET", "/v1/sessions?after=x", NULL, 400, "bad_request");
	expect(&d, "GET", "/v1/sessions?limit=0", NULL, 400, "bad_request");
	for (int i = 0; i < 3; i++)
		usbip_client_close(&c[i]);
	fx_stop(&d);
}
END_TEST

START_TEST(bad_bodies)
{
	static const char *const bad_tokens[] = {
		"{",				/* malformed */
		"[]",				/* not an object */
		"{\"name\": 5}",		/* wrong type */
		"{\"name\": \"x\", \"writable\": \"yes\"}",
		"{\"name\": \"x\", \"size\": true}",
		"{\"name\": \"x\", \"size\": \"0\"}",
		"{\"name\": \"x\", \"size\": \"65M\"}",
		"{\"name\": \"x\", \"size\": 1000}",	/* not 512-aligned */
		"{\"name\": \"x\", \"size\": -1048576}",
		"{\"name\": \"x\", \"colour\": \"red\"}",	/* unknown */
		"{\"name\": \"x\", \"name\": \"y\"}",	/* duplicate key */
		"{\"name\": \"\"}",
		"{\"name\": \"x'; DROP TABLE tokens; --\"}",
		"{\"name\": \"a b\"}",
		"{\"name\": \"../etc\"}",
		"{\"name\": \"0123456789ABCDEF\"}",	/* looks like an id */
		"{\"name\": \"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"
		    "aaaaaaaaaaaaaaaaaaaaa\"}",		/* 71 chars */
		NULL,
	};
	static const char *const bad_vms[] = {
		"{\"name\": \"v\"}",
		"{\"name\": \"v\", \"addresses\": \"127.0.0.2\"}",
		"{\"name\": \"v\", \"addresses\": []}",
		"{\"name\": \"v\", \"addresses\": [1]}",
		"{\"name\": \"v\", \"addresses\": [\"10.0.0.1/33\"]}",
		"{\"name\": \"v\", \"addresses\": [\"300.1.1.1\"]}",
		"{\"name\": \"v\", \"addresses\": [\"10.1.2.3/8\"]}",
		"{\"name\": \"v\", \"addresses\": [\"\"]}",
		"{\"name\": \"v\", \"addresses\": [\"host.example\"]}",
		"{\"name\": \"v;--\", \"addresses\": [\"127.0.0.2\"]}",
		NULL,
	};
	struct vtd d;
	struct snap s;

	fx_start(&d);
	snap_take(&d, &s);
	for (int i = 0; bad_tokens[i] != NULL; i++)
		expect(&d, "POST", "/v1/tokens", bad_tokens[i], 400,
		    "bad_request");
	for (int i = 0; bad_vms[i] != NULL; i++)
		expect(&d, "POST", "/v1/vms", bad_vms[i], 400, "bad_request");
	expect(&d, "POST", "/v1/assignments", "{\"token\": 1}", 400,
	    "bad_request");
	expect(&d, "POST", "/v1/assignments", "{\"token\": \"a\", \"vm\": "
	    "\"b\", \"x\": 1}", 400, "bad_request");
	expect(&d, "POST", "/v1/tokens", "", 400, "bad_request");
	snap_same(&d, &s, 0);
	free(s.tokens);
	free(s.vms);
	fx_stop(&d);
}
END_TEST

START_TEST(oversize_body)
{
	struct vtd d;
	struct snap s;
	size_t n = (1u << 20) + 64;
	char *big = malloc(n + 1);

	ck_assert_ptr_nonnull(big);
	memset(big, ' ', n);
	memcpy(big, "{\"name\": \"big\", \"pad\": \"", 24);
	big[n - 2] = '"';
	big[n - 1] = '}';
	big[n] = '\0';
	fx_start(&d);
	snap_take(&d, &s);
	expect(&d, "POST", "/v1/tokens", big, 413, NULL);
	snap_same(&d, &s, 0);
	/* The daemon keeps serving. */
	expect(&d, "GET", "/v1/tokens/nope", NULL, 404, "not_found");
	free(big);
	free(s.tokens);
	free(s.vms);
	fx_stop(&d);
}
END_TEST

START_TEST(duplicates_and_unknowns)
{
	struct vtd d;
	struct fx_token t;
	struct snap s;

	fx_start(&d);
	fx_token(&d, "dup", false, &t);
	fx_vm(&d, "vm", "127.0.0.2");
	fx_assign(&d, "dup", "vm");
	snap_take(&d, &s);
	expect(&d, "POST", "/v1/tokens", "{\"name\": \"dup\"}", 409,
	    "conflict");
	expect(&d, "POST", "/v1/vms", "{\"name\": \"vm\", \"addresses\": "
	    "[\"127.0.0.5\"]}", 409, "conflict");
	expect(&d, "POST", "/v1/assignments", "{\"token\": \"dup\", \"vm\": "
	    "\"vm\"}", 409, "conflict");
	expect(&d, "GET", "/v1/tokens/0000000000000000", NULL, 404,
	    "not_found");
	expect(&d, "DELETE", "/v1/tokens/nope", NULL, 404, "not_found");
	expect(&d, "GET", "/v1/vms/nope", NULL, 404, "not_found");
	expect(&d, "DELETE", "/v1/vms/nope", NULL, 404, "not_found");
	expect(&d, "DELETE", "/v1/assignments/nope", NULL, 404, "not_found");
	expect(&d, "POST", "/v1/assignments", "{\"token\": \"nope\", \"vm\": "
	    "\"vm\"}", 404, "not_found");
	expect(&d, "POST", "/v1/assignments", "{\"token\": \"dup\", \"vm\": "
	    "\"nope\"}", 404, "not_found");
	expect(&d, "GET", "/v1/tokens/x'%3B%20DROP%20TABLE%20tokens%3B--",
	    NULL, 404, "not_found");
	expect(&d, "GET", "/v1/nothing", NULL, 404, "not_found");
	expect(&d, "PUT", "/v1/tokens", "{}", 405, NULL);
	expect(&d, "POST", "/v1/tokens/dup", "{}", 405,
	    "method_not_allowed");
	expect(&d, "GET", "/v1/audit?limit=0", NULL, 400, "bad_request");
	expect(&d, "GET", "/v1/audit?after=x", NULL, 400, "bad_request");
	snap_same(&d, &s, 0);
	free(s.tokens);
	free(s.vms);
	fx_stop(&d);
}
END_TEST

/* Missing or wrong keys: 401, audited, nothing else changes. */
START_TEST(authentication)
{
	struct vtd d;
	struct snap s;
	struct vt_http_resp r;
	char url[256];
	const char *key;

	fx_start(&d);
	key = vt_admin_key(&d);
	ck_assert_uint_ge(strlen(key), 20);
	snap_take(&d, &s);
	vt_api_url(&d, "/v1/tokens", url, sizeof(url));
	ck_assert_int_eq(vt_http("POST", url, NULL, "{\"name\": \"x\"}", &r),
	    0);
	ck_assert_int_eq(r.status, 401);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_http("GET", url, "vtk_wrong", NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	ck_assert_ptr_null(strstr(r.body, "vtk_wrong"));
	vt_http_resp_free(&r);
	snap_same(&d, &s, 2);
	ck_assert_int_eq(vt_audit_count(&d, "api.auth_failed", NULL), 2);
	/* The key never reaches the log. */
	ck_assert_int_eq(vtd_log_count(&d, key), 0);
	/* Health needs no key; metrics do (any role). */
	vt_api_url(&d, "/healthz", url, sizeof(url));
	ck_assert_int_eq(vt_http("GET", url, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	vt_http_resp_free(&r);
	vt_api_url(&d, "/metrics", url, sizeof(url));
	ck_assert_int_eq(vt_http("GET", url, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_api(&d, "GET", "/metrics", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(vt_metric(r.body, "vtoken_api_auth_failed_total"), 3);
	ck_assert_int_eq(vt_metric(r.body, "vtoken_sessions"), 0);
	vt_http_resp_free(&r);
	free(s.tokens);
	free(s.vms);
	fx_stop(&d);
}
END_TEST

START_TEST(tls)
{
	struct vtd d;
	struct vt_http_resp r;
	char cert[512], key[512], conf[1200], url[256], subj[64];
	const char *args[] = { "-c", conf, NULL };

	memset(&d, 0, sizeof(d));
	ck_assert_int_eq(vtd_init(&d), 0);
	vtd_path(&d, "cert.pem", cert, sizeof(cert));
	vtd_path(&d, "key.pem", key, sizeof(key));
	snprintf(subj, sizeof(subj), "/CN=127.0.0.1");
	{
		const char *argv[] = { "openssl", "req", "-x509", "-newkey",
		    "ec", "-pkeyopt", "ec_paramgen_curve:P-256", "-nodes",
		    "-keyout", key, "-out", cert, "-days", "2", "-subj", subj,
		    "-addext", "subjectAltName=IP:127.0.0.1", NULL };

		ck_assert_msg(vtd_run(argv) == 0, "openssl req failed");
	}
	snprintf(conf, sizeof(conf), "api:\n  tls:\n    cert: %s\n"
	    "    key: %s\n", cert, key);
	vtd_path(&d, "tls.yaml", conf + 600, 600);
	ck_assert_int_eq(vtd_write_file(&d, "tls.yaml", conf), 0);
	memmove(conf, conf + 600, strlen(conf + 600) + 1);
	ck_assert_msg(vtd_start(&d, args) == 0, "%s", d.err);
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/v1/tokens",
	    d.api_port);
	ck_assert_int_eq(vt_https("GET", url, vt_admin_key(&d), NULL, cert,
	    &r), 0);
	ck_assert_int_eq(r.status, 200);
	vt_http_resp_free(&r);
	/* Plain HTTP to the TLS port gets no API answer. */
	snprintf(url, sizeof(url), "http://127.0.0.1:%u/v1/tokens",
	    d.api_port);
	vt_http("GET", url, vt_admin_key(&d), NULL, &r);
	ck_assert_int_ne(r.status, 200);
	vt_http_resp_free(&r);
	fx_stop(&d);
}
END_TEST

/* A non-loopback API address without TLS is refused at start. */
START_TEST(refuse_plain_public)
{
	struct vtd d;
	const char *args[] = { "--api-listen", "0.0.0.0:1", NULL };

	memset(&d, 0, sizeof(d));
	ck_assert_int_ne(vtd_start(&d, args), 0);
	ck_assert_int_ge(vtd_log_count(&d, "refusing to serve 0.0.0.0:1 "
	    "without TLS"), 1);
	vtd_cleanup(&d);
}
END_TEST

/*
 * The agent endpoints need no key: they resolve ids only (a token name is
 * not found), issue nonces only to the token's VM (anyone else gets the
 * reason, audited), and probing unknown ids runs into the per-address
 * limit.
 */
START_TEST(agent_no_probe)
{
	struct vtd d;
	struct fx_token t;
	struct vt_http_resp r;
	char url[256], body[128];
	int n404 = 0, n429 = 0;

	fx_start(&d);
	fx_token(&d, "secret-name", false, &t);
	vt_api_url(&d, "/v1/agent/challenge", url, sizeof(url));
	ck_assert_int_eq(vt_http("POST", url, NULL,
	    "{\"token\": \"secret-name\"}", &r), 0);
	ck_assert_int_eq(r.status, 404);
	vt_http_resp_free(&r);
	snprintf(body, sizeof(body), "{\"token\": \"%s\"}", t.id);
	/* No nonce for a token that is not assigned to the asker's VM. */
	ck_assert_int_eq(vt_http("POST", url, NULL, body, &r), 0);
	ck_assert_int_eq(r.status, 403);
	ck_assert_ptr_nonnull(strstr(r.body, "not assigned"));
	ck_assert_ptr_null(json_object_get(r.json, "nonce"));
	vt_http_resp_free(&r);
	fx_vm(&d, "vm-other", "127.0.0.2");
	fx_assign(&d, "secret-name", "vm-other");
	ck_assert_int_eq(vt_http("POST", url, NULL, body, &r), 0);
	ck_assert_int_eq(r.status, 403);
	ck_assert_ptr_nonnull(strstr(r.body, "wrong address"));
	vt_http_resp_free(&r);
	ck_assert_int_eq(fx_revoke(&d, "secret-name"), 204);
	fx_vm(&d, "vm-here", "127.0.0.1");
	fx_assign(&d, "secret-name", "vm-here");
	ck_assert_int_eq(vt_http("POST", url, NULL, body, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_ptr_nonnull(json_object_get(r.json, "nonce"));
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_audit_count(&d, "auth.fail", t.id), 2);
	for (int i = 0; i < 60; i++) {
		snprintf(body, sizeof(body), "{\"token\": \"%016X\"}", i);
		ck_assert_int_eq(vt_http("POST", url, NULL, body, &r), 0);
		n404 += r.status == 404;
		n429 += r.status == 429;
		vt_http_resp_free(&r);
	}
	ck_assert_int_ge(n404, 10);
	ck_assert_int_ge(n429, 20);
	ck_assert_int_eq(n404 + n429, 60);
	fx_stop(&d);
}
END_TEST

/*
 * Refused requests are audited at most 60 a minute per address (a burst
 * of 15): a key-guessing flood cannot grow the database without bound.
 * Every one is still answered 401 and counted; the next record written
 * says how many were not.
 */
START_TEST(auth_failures_throttled)
{
	struct vtd d;
	struct vt_http_resp r;
	char url[256];
	json_t *recs, *rec, *last = NULL;
	long long written, suppressed;
	size_t i;

	fx_start(&d);
	vt_api_url(&d, "/v1/tokens", url, sizeof(url));
	for (int k = 0; k < 50; k++) {
		ck_assert_int_eq(vt_http("GET", url, "vtk_guess", NULL, &r), 0);
		ck_assert_int_eq(r.status, 401);
		vt_http_resp_free(&r);
	}
	written = vt_audit_count(&d, "api.auth_failed", NULL);
	ck_assert_msg(written >= 15 && written <= 20, "%lld written", written);
	ck_assert_int_eq(vt_api(&d, "GET", "/metrics", NULL, &r), 0);
	ck_assert_int_eq(vt_metric(r.body, "vtoken_api_auth_failed_total"),
	    50);
	ck_assert_ptr_nonnull(strstr(r.body, "vtoken_audit_suppressed_total"));
	vt_http_resp_free(&r);
	/* A second later the bucket has one again: that record says so. */
	usleep(1200 * 1000);
	vt_api_url(&d, "/v1/tokens", url, sizeof(url));
	ck_assert_int_eq(vt_http("GET", url, "vtk_guess", NULL, &r), 0);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/audit?after=0&limit=1000",
	    NULL, &r), 0);
	recs = json_object_get(r.json, "records");
	json_array_foreach(recs, i, rec)
		if (strcmp(json_string_value(json_object_get(rec, "action")),
		    "api.auth_failed") == 0)
			last = rec;
	ck_assert_ptr_nonnull(last);
	suppressed = json_integer_value(json_object_get(json_object_get(last,
	    "detail"), "suppressed"));
	ck_assert_int_eq(suppressed, 50 - written);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/audit/verify", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	vt_http_resp_free(&r);
	fx_stop(&d);
}
END_TEST

/*
 * Ids are decoded per segment after the path is split: an encoded '/'
 * cannot reach another route (the key-bearing image export, say), an
 * encoded NUL cannot cut an id short, and nothing is written.
 */
START_TEST(encoded_path_segments)
{
	struct vtd d;
	struct fx_token t;
	struct vt_http_resp r;
	static const char *bad[] = {
		"GET /v1/tokens/web01%2Fimage",
		"DELETE /v1/tokens/web01%2F",
		"DELETE /v1/tokens/web01%00/x",
		"DELETE /v1/tokens/web01%00",
		"DELETE /v1/assignments/web01%2F",
		"GET /v1/tokens/%2E%2E",
	};

	fx_start(&d);
	fx_token(&d, "web01", false, &t);
	fx_vm(&d, "vm-a", "127.0.0.2");
	fx_assign(&d, "web01", "vm-a");
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		char method[16], path[64];

		ck_assert_int_eq(sscanf(bad[i], "%15s %63s", method, path), 2);
		ck_assert_int_eq(vt_api(&d, method, path, NULL, &r), 0);
		ck_assert_msg(r.status == 404, "%s: %ld", bad[i], r.status);
		vt_http_resp_free(&r);
	}
	ck_assert_int_eq(vt_audit_count(&d, "token.export", NULL), 0);
	ck_assert_int_eq(vt_audit_count(&d, "revoke", NULL), 0);
	ck_assert_int_eq(vt_audit_count(&d, "token.delete", NULL), 0);
	/* A plain encoded character still decodes: %77 is 'w'. */
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/tokens/%77eb01", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	vt_http_resp_free(&r);
	fx_stop(&d);
}
END_TEST

/*
 * GET /v1/openapi.json needs no key and answers docs/openapi.json, byte
 * for byte (built into vtokend), as application/json; nothing is audited.
 * tests/openapi/ checks the document itself.
 */
START_TEST(openapi_document)
{
	struct vtd d;
	struct snap s;
	struct vt_http_resp r;
	char url[256], path[1024];
	char *want;
	size_t wantlen;
	FILE *f;

	snprintf(path, sizeof(path), "%s/docs/openapi.json", VT_SOURCE_DIR);
	f = fopen(path, "rb");
	ck_assert_ptr_nonnull(f);
	want = malloc(1 << 20);
	ck_assert_ptr_nonnull(want);
	wantlen = fread(want, 1, 1 << 20, f);
	ck_assert(feof(f));
	fclose(f);
	fx_start(&d);
	snap_take(&d, &s);
	vt_api_url(&d, "/v1/openapi.json", url, sizeof(url));
	ck_assert_int_eq(vt_http("GET", url, NULL, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_uint_eq(r.len, wantlen);
	ck_assert(memcmp(r.body, want, wantlen) == 0);
	ck_assert_ptr_nonnull(r.json);
	ck_assert_str_eq(json_string_value(json_object_get(r.json, "openapi")),
	    "3.1.0");
	vt_http_resp_free(&r);
	expect(&d, "POST", "/v1/openapi.json", "{}", 405,
	    "method_not_allowed");
	snap_same(&d, &s, 0);
	free(s.tokens);
	free(s.vms);
	fx_stop(&d);
	free(want);
}
END_TEST

/* GET path without a key: its status. */
static long
get_status(struct vtd *d, const char *method, const char *path)
{
	struct vt_http_resp r;
	char url[512];
	long st;

	vt_api_url(d, path, url, sizeof(url));
	ck_assert_int_eq(vt_http(method, url, NULL, NULL, &r), 0);
	st = r.status;
	vt_http_resp_free(&r);
	return st;
}

/*
 * The web console's files (src/ui, served by api_ui.c): no key needed,
 * and only plain names inside ui.dir are ever looked up.  The headers
 * and the pages themselves are the browser test's (tests/browser).
 */
START_TEST(console_files)
{
	static const char *const refused[] = {
		"/ui/.hidden.js", "/ui/%2e%2e/README.md", "/ui/..%2fREADME.md",
		"/ui/a/b/c.js", "/ui/index.html%00.js", "/ui/x.sh",
		"/ui//index.html", "/ui/index.html/", "/ui/no-such-file.js",
		"/ui/%69ndex.html",
	};
	struct vtd d;

	fx_start(&d);
	ck_assert_int_eq(get_status(&d, "GET", "/ui/"), 200);
	ck_assert_int_eq(get_status(&d, "GET", "/ui/index.html"), 200);
	ck_assert_int_eq(get_status(&d, "GET", "/"), 302);
	ck_assert_int_eq(get_status(&d, "GET", "/ui"), 302);
	ck_assert_int_eq(get_status(&d, "POST", "/ui/"), 405);
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		ck_assert_msg(get_status(&d, "GET", refused[i]) == 404,
		    "%s not refused", refused[i]);
	ck_assert_int_eq(vtd_log_count(&d, "Sanitizer"), 0);
	fx_stop(&d);
}
END_TEST

/*
 * Sends req as it is to d's API and returns the status of the answer
 * (0: none within 5 s, or the connection closed without one).
 */
static int
raw_status(struct vtd *d, const char *req)
{
	struct sockaddr_in sa = { .sin_family = AF_INET };
	struct pollfd p;
	char buf[512];
	size_t got = 0;
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0), st = 0;

	ck_assert_int_ge(fd, 0);
	sa.sin_port = htons(d->api_port);
	inet_pton(AF_INET, "127.0.0.1", &sa.sin_addr);
	ck_assert_int_eq(connect(fd, (struct sockaddr *)&sa, sizeof(sa)), 0);
	ck_assert_int_eq(send(fd, req, strlen(req), MSG_NOSIGNAL),
	    (ssize_t)strlen(req));
	p.fd = fd;
	p.events = POLLIN;
	while (got < sizeof(buf) - 1 && poll(&p, 1, 5000) == 1) {
		ssize_t n = recv(fd, buf + got, sizeof(buf) - 1 - got, 0);

		if (n <= 0)
			break;
		got += (size_t)n;
		if (memmem(buf, got, "\r\n", 2) != NULL)
			break;
	}
	buf[got] = '\0';
	close(fd);
	if (sscanf(buf, "HTTP/1.%*d %d", &st) != 1)
		st = 0;
	return st;
}

#define BODY	"{\"token\":\"0123456789ABCDEF\"}"	/* 28 bytes */

/*
 * HTTP strictness: what a proxy and vtokend could read differently
 * (request smuggling) is refused with 400 before any body is read.
 */
START_TEST(http_strict)
{
	static const char *const bad[] = {
		"POST /v1/agent/challenge HTTP/1.1\r\nHost: x\r\n"
		"Content-Length: 28\r\nContent-Length: 28\r\n\r\n" BODY,
		"POST /v1/agent/challenge HTTP/1.1\r\nHost: x\r\n"
		"Content-Length: 28x\r\n\r\n" BODY,
		"POST /v1/agent/challenge HTTP/1.1\r\nHost: x\r\n"
		"Content-Length: +28\r\n\r\n" BODY,
		"POST /v1/agent/challenge HTTP/1.1\r\nHost: x\r\n"
		"X-A: 1\r\n folded\r\nContent-Length: 28\r\n\r\n" BODY,
	};
	struct snap s;
	struct vtd d;

	fx_start(&d);
	snap_take(&d, &s);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		ck_assert_msg(raw_status(&d, bad[i]) == 400, "request %zu "
		    "not refused", i);
	/* The same request, well formed: read, and the token unknown. */
	ck_assert_int_eq(raw_status(&d, "POST /v1/agent/challenge HTTP/1.1"
	    "\r\nHost: x\r\nContent-Length: 28\r\n\r\n" BODY), 404);
	ck_assert_int_eq(raw_status(&d, "GET /healthz HTTP/1.1\r\nHost: x"
	    "\r\n\r\n"), 200);
	snap_same(&d, &s, 0);
	free(s.tokens);
	free(s.vms);
	fx_stop(&d);
}
END_TEST

static Suite *
api_suite(void)
{
	Suite *s = suite_create("api");
	TCase *tc = tcase_create("api");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, pagination);
	tcase_add_test(tc, bad_bodies);
	tcase_add_test(tc, oversize_body);
	tcase_add_test(tc, duplicates_and_unknowns);
	tcase_add_test(tc, authentication);
	tcase_add_test(tc, tls);
	tcase_add_test(tc, refuse_plain_public);
	tcase_add_test(tc, agent_no_probe);
	tcase_add_test(tc, auth_failures_throttled);
	tcase_add_test(tc, encoded_path_segments);
	tcase_add_test(tc, openapi_document);
	tcase_add_test(tc, console_files);
	tcase_add_test(tc, http_strict);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(api_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
