/*
 * test_kill_storm: SIGKILL at a random moment of an assign/revoke storm
 * leaves a controller that restarts consistent.
 *
 * ITERATIONS times: STORM_THREADS threads send random token create and
 * delete, VM add and delete, assign and revoke requests (names from small
 * pools, so conflicts and misses happen); after a random 0.3..1.5 s the
 * daemon gets SIGKILL mid-storm.  It is restarted on the same data
 * directory, and then:
 *  - GET /v1/audit/verify says ok;
 *  - /v1/tokens, /v1/vms and /v1/assignments agree: every assignment
 *    names an existing token and VM, each token's "vm" is its assignment's
 *    VM (or null), each VM's "tokens" are exactly its assignments;
 *  - the count the daemon logged at start equals the API's count (no
 *    token failed to load);
 *  - every token's disk is in the store, whole: its exported image is of
 *    its size and reads back as that token's disk (token and blocks
 *    commit in one transaction);
 *  - "sqlite3 DB 'PRAGMA integrity_check'" prints ok.
 * During the storm, every answer must be one of the documented statuses
 * for its request (no 5xx, no 400 for well-formed requests).
 * FAULT_SEED=N in the environment repeats a run (the seed is printed).
 */
#include <check.h>
#include <curl/curl.h>
#include <jansson.h>
#include <pthread.h>
#include <signal.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "../lib/vt_http.h"
#include "token/fat.h"
#include "token/token_image.h"
#include "../lib/vt_wait.h"
#include "../lib/vtd_spawn.h"
#include "fault_util.h"

#define ITERATIONS	5
#define STORM_THREADS	4
#define TOKEN_POOL	10
#define VM_POOL		5
#define KILL_MIN_MS	300
#define KILL_SPAN_MS	1200

static struct vtd vtd;

struct storm {
	pthread_t th;
	unsigned seed;
	char key[160];
	uint16_t api_port;
	atomic_bool *stop;
	unsigned requests, answered;
	char bad[512];		/* first unexpected answer, or "" */
};

static void
ks_teardown(void)
{
	vtd_cleanup(&vtd);
}

/* One random request; records an answer no request of its kind may get. */
static void
ks_request(struct storm *s)
{
	char path[128], url[256], body[256];
	const char *method = "POST", *what;
	struct vt_http_resp r;
	unsigned op = (unsigned)rand_r(&s->seed) % 100;
	unsigned t = (unsigned)rand_r(&s->seed) % TOKEN_POOL;
	unsigned v = (unsigned)rand_r(&s->seed) % VM_POOL;
	bool ok;

	body[0] = '\0';
	if (op < 30) {
		what = "create token";
		snprintf(path, sizeof(path), "/v1/tokens");
		snprintf(body, sizeof(body), "{\"name\": \"t%u\", \"size\": "
		    "\"1M\", \"writable\": %s}", t, t % 2 ? "true" : "false");
	} else if (op < 45) {
		what = "delete token";
		method = "DELETE";
		snprintf(path, sizeof(path), "/v1/tokens/t%u", t);
	} else if (op < 70) {
		what = "assign";
		snprintf(path, sizeof(path), "/v1/assignments");
		snprintf(body, sizeof(body), "{\"token\": \"t%u\", \"vm\": "
		    "\"vm%u\"}", t, v);
	} else if (op < 90) {
		what = "revoke";
		method = "DELETE";
		snprintf(path, sizeof(path), "/v1/assignments/t%u", t);
	} else if (op < 95) {
		what = "add vm";
		snprintf(path, sizeof(path), "/v1/vms");
		snprintf(body, sizeof(body), "{\"name\": \"vm%u\", "
		    "\"addresses\": [\"127.0.1.%u/32\"]}", v, v + 1);
	} else {
		what = "delete vm";
		method = "DELETE";
		snprintf(path, sizeof(path), "/v1/vms/vm%u", v);
	}
	snprintf(url, sizeof(url), "http://127.0.0.1:%u%s", s->api_port,
	    path);
	s->requests++;
	if (vt_http(method, url, s->key, body[0] ? body : NULL, &r) < 0 ||
	    r.status == 0) {
		vt_http_resp_free(&r);	/* killed under us */
		return;
	}
	s->answered++;
	ok = r.status == 404 || r.status == 409 ||
	    (strcmp(method, "POST") == 0 && r.status == 201) ||
	    (strcmp(method, "DELETE") == 0 && r.status == 204);
	if (!ok && s->bad[0] == '\0')
		snprintf(s->bad, sizeof(s->bad), "%s %s: %ld %.120s", what,
		    path, r.status, r.body);
	vt_http_resp_free(&r);
}

static void *
ks_thread(void *arg)
{
	struct storm *s = arg;

	while (!atomic_load(s->stop))
		ks_request(s);
	return NULL;
}

static json_t *
ks_get(const char *path, const char *field)
{
	struct vt_http_resp r;
	json_t *v;

	ck_assert_int_eq(vt_api(&vtd, "GET", path, NULL, &r), 0);
	ck_assert_msg(r.status == 200 && r.json != NULL, "GET %s: %ld %s",
	    path, r.status, r.body);
	v = json_incref(json_object_get(r.json, field));
	ck_assert_msg(json_is_array(v), "GET %s: no \"%s\" array", path,
	    field);
	vt_http_resp_free(&r);
	return v;
}

static const char *
ks_str(const json_t *o, const char *k)
{
	const char *s = json_string_value(json_object_get(o, k));

	return s != NULL ? s : "";
}

static json_t *
ks_find(json_t *arr, const char *key, const char *val)
{
	size_t i;
	json_t *o;

	json_array_foreach(arr, i, o)
		if (strcmp(ks_str(o, key), val) == 0)
			return o;
	return NULL;
}

static void
ks_check_audit(void)
{
	struct vt_http_resp r;

	ck_assert_int_eq(vt_api(&vtd, "GET", "/v1/audit/verify", NULL, &r), 0);
	ck_assert_msg(r.status == 200 && json_is_true(json_object_get(r.json,
	    "ok")), "audit verify: %ld %s", r.status, r.body);
	vt_http_resp_free(&r);
}

/*
 * Every token's disk is in the store, whole: its exported image is of
 * its size and reads back as a token disk naming the token.
 */
static void
ks_check_images(json_t *toks)
{
	struct vt_http_resp r;
	struct token_image_info info;
	struct token_cred *cred;
	struct fat_mem mem;
	char path[128], *cause = NULL;
	json_t *o;
	size_t i;

	json_array_foreach(toks, i, o) {
		snprintf(path, sizeof(path), "/v1/tokens/%s/image",
		    ks_str(o, "id"));
		ck_assert_int_eq(vt_api(&vtd, "GET", path, NULL, &r), 0);
		ck_assert_msg(r.status == 200 && (json_int_t)r.len ==
		    json_integer_value(json_object_get(o, "size")),
		    "token %s (%s): image %ld, %zu bytes", ks_str(o, "id"),
		    ks_str(o, "name"), r.status, r.len);
		mem.buf = (const uint8_t *)r.body;
		mem.len = r.len;
		ck_assert_msg(token_image_read(fat_mem_read, &mem, r.len, &info,
		    &cred, &cause) == 0, "token %s: %s", ks_str(o, "id"),
		    cause);
		ck_assert_str_eq(info.token_id, ks_str(o, "id"));
		token_image_info_clear(&info);
		token_cred_free(cred);
		vt_http_resp_free(&r);
	}
}

/* Tokens, VMs and assignments tell the same story. */
static void
ks_check_state(size_t *ntokens)
{
	json_t *toks = ks_get("/v1/tokens", "tokens");
	json_t *vms = ks_get("/v1/vms", "vms");
	json_t *asg = ks_get("/v1/assignments", "assignments");
	json_t *o, *a, *id;
	size_t i, j, n;

	json_array_foreach(asg, i, a) {
		ck_assert_msg(ks_find(toks, "id", ks_str(a, "token")) != NULL,
		    "assignment of missing token %s", ks_str(a, "token"));
		ck_assert_msg(ks_find(vms, "id", ks_str(a, "vm")) != NULL,
		    "assignment to missing VM %s", ks_str(a, "vm"));
		for (j = i + 1; j < json_array_size(asg); j++)
			ck_assert_str_ne(ks_str(a, "token"), ks_str(
			    json_array_get(asg, j), "token"));
	}
	json_array_foreach(toks, i, o) {
		a = ks_find(asg, "token", ks_str(o, "id"));
		if (a == NULL)
			ck_assert_msg(json_is_null(json_object_get(o, "vm")),
			    "token %s has a VM but no assignment",
			    ks_str(o, "id"));
		else
			ck_assert_str_eq(ks_str(o, "vm"), ks_str(a, "vm"));
	}
	json_array_foreach(vms, i, o) {
		json_t *list = json_object_get(o, "tokens");

		n = 0;
		json_array_foreach(asg, j, a)
			if (strcmp(ks_str(a, "vm"), ks_str(o, "id")) == 0)
				n++;
		ck_assert_msg(json_array_size(list) == n, "VM %s lists %zu "
		    "tokens, %zu assignments", ks_str(o, "id"),
		    json_array_size(list), n);
		json_array_foreach(list, j, id) {
			a = ks_find(asg, "token", json_string_value(id));
			ck_assert_msg(a != NULL && strcmp(ks_str(a, "vm"),
			    ks_str(o, "id")) == 0, "VM %s lists token %s "
			    "not assigned to it", ks_str(o, "id"),
			    json_string_value(id));
		}
	}
	ks_check_images(toks);
	*ntokens = json_array_size(toks);
	json_decref(toks);
	json_decref(vms);
	json_decref(asg);
}

/* sqlite3's own check of the database file. */
static void
ks_check_db(void)
{
	char db[512], out[512], cmd[1200], line[256] = "";
	FILE *f;

	vtd_path(&vtd, "var/vtokend.db", db, sizeof(db));
	vtd_path(&vtd, "integrity.txt", out, sizeof(out));
	snprintf(cmd, sizeof(cmd), "sqlite3 '%s' 'PRAGMA integrity_check' "
	    ">'%s' 2>&1", db, out);
	ck_assert_msg(fu_sh("%s", cmd) == 0, "%s failed (sqlite3 missing? "
	    "scripts/deps.sh test)", cmd);
	f = fopen(out, "r");
	ck_assert(f != NULL);
	if (fgets(line, sizeof(line), f) == NULL)
		line[0] = '\0';
	fclose(f);
	ck_assert_msg(strcmp(line, "ok\n") == 0, "integrity_check: %s", line);
}

/* The token count logged at start ("controller: N token(s)"). */
static long
ks_loaded_tokens(void)
{
	char line[512];
	const char *p;

	ck_assert(vtd_log_last(&vtd, "controller: ", line, sizeof(line)));
	p = strstr(line, "controller: ");
	return strtol(p + strlen("controller: "), NULL, 10);
}

/* Runs the storm and kills the daemon after ms; returns answers seen. */
static unsigned
ks_storm(unsigned *seed, int ms)
{
	struct storm st[STORM_THREADS];
	atomic_bool stop = false;
	unsigned answered = 0, requests = 0;
	int rc;

	for (int i = 0; i < STORM_THREADS; i++) {
		memset(&st[i], 0, sizeof(st[i]));
		st[i].seed = (unsigned)rand_r(seed);
		snprintf(st[i].key, sizeof(st[i].key), "%s",
		    vt_admin_key(&vtd));
		st[i].api_port = vtd.api_port;
		st[i].stop = &stop;
		ck_assert_int_eq(pthread_create(&st[i].th, NULL, ks_thread,
		    &st[i]), 0);
	}
	vt_sleep_ms(ms);
	kill(vtd.pid, SIGKILL);
	atomic_store(&stop, true);
	for (int i = 0; i < STORM_THREADS; i++)
		pthread_join(st[i].th, NULL);
	rc = vtd_stop(&vtd);	/* reaps it */
	ck_assert_int_eq(rc, 128 + SIGKILL);
	for (int i = 0; i < STORM_THREADS; i++) {
		ck_assert_msg(st[i].bad[0] == '\0', "unexpected answer: %s",
		    st[i].bad);
		answered += st[i].answered;
		requests += st[i].requests;
	}
	fprintf(stderr, "kill_storm: SIGKILL after %d ms: %u requests, %u "
	    "answered\n", ms, requests, answered);
	return answered;
}

START_TEST(kill_storm)
{
	const char *env = getenv("FAULT_SEED");
	unsigned seed = env != NULL ? (unsigned)strtoul(env, NULL, 10) :
	    (unsigned)time(NULL) ^ (unsigned)getpid();
	size_t ntokens = 0, total = 0;

	fprintf(stderr, "kill_storm: FAULT_SEED=%u\n", seed);
	ck_assert_msg(vtd_init(&vtd) == 0, "%s", vtd.err);
	ck_assert_msg(vtd_start(&vtd, NULL) == 0, "%s", vtd.err);
	for (int i = 0; i < ITERATIONS; i++) {
		int ms = KILL_MIN_MS + (int)((unsigned)rand_r(&seed) %
		    KILL_SPAN_MS);

		ck_assert_uint_gt(ks_storm(&seed, ms), 0);
		ck_assert_msg(vtd_start(&vtd, NULL) == 0, "restart %d: %s", i,
		    vtd.err);
		ks_check_audit();
		ks_check_state(&ntokens);
		ck_assert_int_eq(ks_loaded_tokens(), (long)ntokens);
		ks_check_db();
		total += ntokens;
	}
	fprintf(stderr, "kill_storm: %d kills, %zu tokens checked in all\n",
	    ITERATIONS, total);
	/* The checks above must have had state to check. */
	ck_assert_uint_gt(total, 0);
	ck_assert_int_eq(vtd_log_count(&vtd, "Sanitizer"), 0);
	ck_assert_int_eq(vtd_stop(&vtd), 0);
	ks_check_db();
}
END_TEST

static Suite *
kill_storm_suite(void)
{
	Suite *s = suite_create("kill_storm");
	TCase *tc = tcase_create("kill_storm");

	tcase_add_checked_fixture(tc, NULL, ks_teardown);
	tcase_set_timeout(tc, 120);
	tcase_add_test(tc, kill_storm);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr;
	int failed;

	/* Before any thread: libcurl's global setup is not thread-safe. */
	curl_global_init(CURL_GLOBAL_ALL);
	sr = srunner_create(kill_storm_suite());
	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	curl_global_cleanup();
	return failed == 0 ? 0 : 1;
}
