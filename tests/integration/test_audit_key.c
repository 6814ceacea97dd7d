/*
 * test_audit_key: the audit key against someone who can write the
 * database but not read vtokend's files (docs/SECURITY.md, "The audit
 * log"), with the real daemon:
 *
 *  - sealed: a new daemon's chain is sealed with the key from its first
 *    record; GET /v1/audit/verify checks it against a known head (the
 *    head it answered before), refuses a head the chain does not reach
 *    and a malformed one;
 *  - inserted_key_row: an API key row written into the database by hand
 *    grants nothing after a restart (refused and logged), while the real
 *    admin key still works;
 *  - unsafe_key_file: start-up refuses an audit key file readable by
 *    others, a symbolic link, and a key other than the one the chain was
 *    sealed with;
 *  - unsafe_data_dir: start-up refuses a data_dir writable by others
 *    (unless --allow-insecure-data-dir, which only warns), and an image
 *    reached through a symbolic link; the database files end up 0600.
 */
#include <check.h>
#include <openssl/evp.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "../lib/control_fixture.h"

#define EVIL_KEY	"vtk_written-into-the-database-by-hand-000000000"

static void
verify_expect(struct vtd *d, const char *query, long status)
{
	struct vt_http_resp r;
	char path[256];

	snprintf(path, sizeof(path), "/v1/audit/verify%s", query);
	ck_assert_int_eq(vt_api(d, "GET", path, NULL, &r), 0);
	ck_assert_msg(r.status == status, "%s: %ld %s", path, r.status,
	    r.body);
	vt_http_resp_free(&r);
}

START_TEST(sealed)
{
	struct vt_http_resp r;
	struct vtd d;
	char q[256], hash[65];
	long long records;

	fx_start(&d);
	{
		struct fx_token t;

		fx_token(&d, "t1", false, &t);
	}
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/audit?limit=1", NULL, &r), 0);
	ck_assert_str_eq(json_string_value(json_object_get(json_array_get(
	    json_object_get(r.json, "records"), 0), "action")),
	    "audit.sealed");
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/audit/verify", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert_int_eq(json_integer_value(json_object_get(r.json,
	    "sealed_at")), 1);
	records = json_integer_value(json_object_get(r.json, "records"));
	snprintf(hash, sizeof(hash), "%s", json_string_value(json_object_get(
	    r.json, "last_hash")));
	vt_http_resp_free(&r);
	snprintf(q, sizeof(q), "?seq=%lld&hash=%s", records, hash);
	verify_expect(&d, q, 200);
	snprintf(q, sizeof(q), "?seq=%lld&hash=%s", records + 3, hash);
	verify_expect(&d, q, 409);
	snprintf(q, sizeof(q), "?seq=1&hash=%s", hash);
	verify_expect(&d, q, records == 1 ? 200 : 409);
	verify_expect(&d, "?seq=1", 400);
	verify_expect(&d, "?seq=1&hash=XYZ", 400);
	fx_stop(&d);
}
END_TEST

START_TEST(inserted_key_row)
{
	uint8_t h[32];
	char hex[65], stmt[512];
	unsigned int n = 0;
	struct vt_http_resp r;
	char url[256];
	struct vtd d;
	bool pg;

	ck_assert(EVP_Digest(EVIL_KEY, strlen(EVIL_KEY), h, &n, EVP_sha256(),
	    NULL) && n == 32);
	for (int i = 0; i < 32; i++)
		snprintf(hex + 2 * i, 3, "%02x", h[i]);
	fx_start(&d);
	pg = d.store[0] != '\0';
	ck_assert_int_eq(vtd_stop(&d), 0);
	snprintf(stmt, sizeof(stmt), "INSERT INTO api_keys(id, name, "
	    "key_hash, role, created) VALUES('00000000000000EE', 'mallory', "
	    "%s%s%s, 'admin', '2026-01-01T00:00:00Z')", pg ? "'\\x" : "X'",
	    hex, pg ? "'::bytea" : "'");
	ck_assert_int_eq(vtd_sql(&d, stmt), 1);
	ck_assert_msg(vtd_start(&d, NULL) == 0, "%s", d.err);
	ck_assert(vtd_log_wait(&d, "not sealed with the audit key", 1, 3000));
	vt_api_url(&d, "/v1/tokens", url, sizeof(url));
	ck_assert_int_eq(vt_http("GET", url, EVIL_KEY, NULL, &r), 0);
	ck_assert_int_eq(r.status, 401);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/tokens", NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	vt_http_resp_free(&r);
	fx_stop(&d);
}
END_TEST

/* Starting d must fail, logging why. */
static void
start_refused_args(struct vtd *d, const char *const *args, const char *why)
{
	ck_assert_int_ne(vtd_start(d, args), 0);
	ck_assert_msg(vtd_log_count(d, why) >= 1, "no \"%s\" in the log", why);
	vtd_stop(d);
}

static void
start_refused(struct vtd *d, const char *why)
{
	start_refused_args(d, NULL, why);
}

START_TEST(unsafe_key_file)
{
	char key[512], other[512];
	struct vtd d;

	fx_start(&d);
	ck_assert_int_eq(vtd_stop(&d), 0);
	vtd_path(&d, "var/audit.key", key, sizeof(key));
	ck_assert_int_eq(chmod(key, 0644), 0);
	start_refused(&d, "readable by vtokend's user only");
	ck_assert_int_eq(chmod(key, 0600), 0);
	vtd_path(&d, "var/audit.key.real", other, sizeof(other));
	ck_assert_int_eq(rename(key, other), 0);
	ck_assert_int_eq(symlink(other, key), 0);
	start_refused(&d, "symbolic link is refused");
	ck_assert_int_eq(unlink(key), 0);
	/* Another key: the chain it sealed is not this one's. */
	ck_assert_int_eq(vtd_audit_key_write(&d, "0123456789abcdef"
	    "0123456789abcdef0123456789abcdef0123456789abcdef"), 0);
	start_refused(&d, "different audit.key_file");
	ck_assert_int_eq(rename(other, key), 0);
	ck_assert_msg(vtd_start(&d, NULL) == 0, "%s", d.err);
	verify_expect(&d, "", 200);
	fx_stop(&d);
}
END_TEST

START_TEST(unsafe_data_dir)
{
	const char *allow[] = { "--allow-insecure-data-dir", NULL };
	char var[512], db[512], img[512], link[512], arg[600];
	const char *serve[] = { "--serve-image", arg, NULL };
	struct stat st;
	struct vtd d;

	fx_start(&d);
	ck_assert_int_eq(vtd_stop(&d), 0);
	vtd_path(&d, "var/vtokend.db", db, sizeof(db));
	if (d.store[0] == '\0') {	/* SQLite: the file is ours */
		ck_assert_int_eq(stat(db, &st), 0);
		ck_assert_int_eq(st.st_mode & 0777, 0600);
	}
	vtd_path(&d, "var", var, sizeof(var));
	ck_assert_int_eq(chmod(var, 0777), 0);
	start_refused(&d, "writable by group or others");
	ck_assert_msg(vtd_start(&d, allow) == 0, "%s", d.err);
	ck_assert_int_ge(vtd_log_count(&d, "allowed by "
	    "--allow-insecure-data-dir"), 1);
	ck_assert_int_eq(vtd_stop(&d), 0);
	ck_assert_int_eq(chmod(var, 0700), 0);
	/* An image through a symbolic link is not served. */
	vtd_path(&d, "real.img", img, sizeof(img));
	vtd_path(&d, "link.img", link, sizeof(link));
	ck_assert_int_eq(vtd_make_pattern_image(img, 2048, 1), 0);
	ck_assert_int_eq(symlink(img, link), 0);
	snprintf(arg, sizeof(arg), "%s", link);
	start_refused_args(&d, serve, "a symbolic link is refused");
	snprintf(arg, sizeof(arg), "%s", img);
	ck_assert_msg(vtd_start(&d, serve) == 0, "%s", d.err);
	ck_assert_int_eq(vtd_stop(&d), 0);
	vtd_cleanup(&d);
}
END_TEST

int
main(void)
{
	Suite *s = suite_create("audit_key");
	TCase *tc = tcase_create("audit_key");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, sealed);
	tcase_add_test(tc, inserted_key_row);
	tcase_add_test(tc, unsafe_key_file);
	tcase_add_test(tc, unsafe_data_dir);
	suite_add_tcase(s, tc);
	return fx_run_suite(s);
}
