/*
 * test_controller: the controller against the real vtokend over loopback,
 * with different 127.x source addresses posing as different VMs:
 * per-VM listing and import, busy, revoke ending a live session, moving
 * a token between VMs, persistence across restarts, audit tampering.
 */
#include <check.h>
#include <sqlite3.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>

#include "../lib/control_fixture.h"
#include "common/monotime.h"

#define VM_A "127.0.0.2"
#define VM_B "127.0.0.3"
#define NOBODY "127.0.0.4"

static bool
has_busid(char list[][32], size_t n, const char *busid)
{
	for (size_t i = 0; i < n; i++)
		if (strcmp(list[i], busid) == 0)
			return true;
	return false;
}

/* Two VMs, a token each: each sees only its own; others see nothing. */
START_TEST(visibility)
{
	struct vtd d;
	struct fx_token t1, t2;
	struct usbip_client c;
	char list[16][32];
	size_t n;
	int denied0;

	fx_start(&d);
	fx_token(&d, "lic-a", false, &t1);
	fx_token(&d, "lic-b", false, &t2);
	fx_vm(&d, "vm-a", VM_A);
	fx_vm(&d, "vm-b", VM_B);
	/* Unassigned tokens are visible to nobody. */
	ck_assert_uint_eq(fx_devlist(&d, VM_A, list, 16), 0);
	fx_assign(&d, "lic-a", "vm-a");
	fx_assign(&d, t2.id, "vm-b");

	n = fx_devlist(&d, VM_A, list, 16);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0], t1.busid);
	n = fx_devlist(&d, VM_B, list, 16);
	ck_assert_uint_eq(n, 1);
	ck_assert_str_eq(list[0], t2.busid);
	ck_assert_uint_eq(fx_devlist(&d, NOBODY, list, 16), 0);

	/* Import of someone else's token: ST_NODEV, audited. */
	denied0 = vt_audit_count(&d, "attach.denied", NULL);
	ck_assert_uint_eq(fx_import(&d, VM_A, t2.busid, &c), 4);
	ck_assert_uint_eq(fx_import(&d, NOBODY, t1.busid, &c), 4);
	ck_assert_uint_eq(fx_import(&d, VM_A, "1-999", &c), 4);
	ck_assert_int_eq(vt_audit_count(&d, "attach.denied", NULL),
	    denied0 + 3);
	{
		char subject[64];

		snprintf(subject, sizeof(subject), "\"busid:%s\"", t2.busid);
		ck_assert_int_eq(vt_audit_count(&d, "attach.denied", subject),
		    1);
	}

	/* The owner imports and reads its token. */
	ck_assert_uint_eq(fx_import(&d, VM_A, t1.busid, &c), 0);
	ck_assert_int_eq(usbip_client_enumerate(&c), 0);
	{
		uint8_t buf[512];

		ck_assert_int_eq(usbip_client_read10(&c, 0, 1, buf), 0);
		ck_assert_uint_eq(buf[510], 0x55);
		ck_assert_uint_eq(buf[511], 0xaa);
	}
	usbip_client_close(&c);
	n = fx_devlist(&d, VM_A, list, 16);
	ck_assert(has_busid(list, n, t1.busid));
	fx_stop(&d);
}
END_TEST

/* One attached session per token: a second import gets ST_DEV_BUSY. */
START_TEST(busy)
{
	struct vtd d;
	struct fx_token t;
	struct usbip_client c1, c2;

	fx_start(&d);
	fx_token(&d, "lic", false, &t);
	fx_vm(&d, "vm-a", VM_A);
	fx_assign(&d, "lic", "vm-a");
	ck_assert_uint_eq(fx_import(&d, VM_A, t.busid, &c1), 0);
	ck_assert_uint_eq(fx_import(&d, VM_A, t.busid, &c2), 2);
	usbip_client_close(&c1);
	/* Free again once the first session is gone (bounded wait). */
	ck_assert(vtd_log_wait(&d, "detached", 1, 5000));
	ck_assert_uint_eq(fx_import(&d, VM_A, t.busid, &c2), 0);
	usbip_client_close(&c2);
	ck_assert_int_ge(vt_audit_count(&d, "attach", t.id), 2);
	ck_assert_int_ge(vt_audit_count(&d, "detach", t.id), 1);
	fx_stop(&d);
}
END_TEST

/*
 * Revoke closes the live session at once (within 100 ms of the request),
 * and the token can then be assigned to another VM.
 */
START_TEST(revoke_moves_token)
{
	struct vtd d;
	struct fx_token t;
	struct usbip_client c;
	uint8_t buf[512];
	char list[16][32];
	double t0, dt;		/* seconds, then milliseconds */

	fx_start(&d);
	fx_token(&d, "lic", true, &t);
	fx_vm(&d, "vm-a", VM_A);
	fx_vm(&d, "vm-b", VM_B);
	fx_assign(&d, "lic", "vm-a");
	ck_assert_uint_eq(fx_import(&d, VM_A, t.busid, &c), 0);
	ck_assert_int_eq(usbip_client_enumerate(&c), 0);
	ck_assert_int_eq(usbip_client_read10(&c, 0, 1, buf), 0);

	t0 = monotime_sec();
	ck_assert_int_eq(fx_revoke(&d, "lic"), 204);
	ck_assert_msg(usbip_client_expect_closed(&c, 1000, NULL),
	    "session still open after revoke");
	dt = (monotime_sec() - t0) * 1e3;
	printf("revoke -> session closed: %.1f ms\n", dt);
	ck_assert_msg(dt < 100.0, "session closed %.1f ms after revoke", dt);
	usbip_client_close(&c);

	ck_assert_uint_eq(fx_devlist(&d, VM_A, list, 16), 0);
	ck_assert_int_eq(fx_revoke(&d, "lic"), 404);	/* not assigned */
	fx_assign(&d, "lic", "vm-b");
	ck_assert_uint_eq(fx_devlist(&d, VM_B, list, 16), 1);
	ck_assert_uint_eq(fx_import(&d, VM_A, t.busid, &c), 4);
	ck_assert_uint_eq(fx_import(&d, VM_B, t.busid, &c), 0);
	ck_assert_int_eq(usbip_client_enumerate(&c), 0);
	ck_assert_int_eq(usbip_client_read10(&c, 0, 1, buf), 0);
	usbip_client_close(&c);
	ck_assert_int_eq(vt_audit_count(&d, "revoke", t.id), 1);
	ck_assert_int_eq(vt_audit_count(&d, "assign", t.id), 2);
	fx_stop(&d);
}
END_TEST

/* Deleting an attached token or its VM also ends the session. */
START_TEST(delete_ends_session)
{
	struct vtd d;
	struct fx_token t1, t2;
	struct usbip_client c;
	struct vt_http_resp r;
	char path[128];

	fx_start(&d);
	fx_token(&d, "one", false, &t1);
	fx_token(&d, "two", false, &t2);
	fx_vm(&d, "vm-a", VM_A);
	fx_assign(&d, "one", "vm-a");
	fx_assign(&d, "two", "vm-a");

	ck_assert_uint_eq(fx_import(&d, VM_A, t1.busid, &c), 0);
	snprintf(path, sizeof(path), "/v1/tokens/%s", t1.id);
	ck_assert_int_eq(vt_api(&d, "DELETE", path, NULL, &r), 0);
	ck_assert_int_eq(r.status, 204);
	vt_http_resp_free(&r);
	ck_assert(usbip_client_expect_closed(&c, 1000, NULL));
	usbip_client_close(&c);
	ck_assert_int_eq(vt_api(&d, "GET", path, NULL, &r), 0);
	ck_assert_int_eq(r.status, 404);
	vt_http_resp_free(&r);

	ck_assert_uint_eq(fx_import(&d, VM_A, t2.busid, &c), 0);
	ck_assert_int_eq(vt_api(&d, "DELETE", "/v1/vms/vm-a", NULL, &r), 0);
	ck_assert_int_eq(r.status, 204);
	vt_http_resp_free(&r);
	ck_assert(usbip_client_expect_closed(&c, 1000, NULL));
	usbip_client_close(&c);
	ck_assert_int_eq(vt_audit_count(&d, "revoke", t2.id), 1);
	ck_assert_int_eq(vt_audit_count(&d, "vm.delete", NULL), 1);
	ck_assert_int_eq(vt_audit_count(&d, "token.delete", t1.id), 1);
	/* The token survives its VM, unassigned. */
	snprintf(path, sizeof(path), "/v1/tokens/%s", t2.id);
	ck_assert_int_eq(vt_api(&d, "GET", path, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	ck_assert(json_is_null(json_object_get(r.json, "vm")));
	vt_http_resp_free(&r);
	fx_stop(&d);
}
END_TEST

static char *
fetch(struct vtd *d, const char *path, size_t *len)
{
	struct vt_http_resp r;
	char *body;

	ck_assert_int_eq(vt_api(d, "GET", path, NULL, &r), 0);
	ck_assert_int_eq(r.status, 200);
	body = r.body;
	*len = r.len;
	r.body = NULL;
	vt_http_resp_free(&r);
	return body;
}

/* A restart keeps tokens, VMs, assignments, images and the audit chain. */
START_TEST(restart_persists)
{
	struct vtd d;
	struct fx_token t1, t2;
	struct usbip_client c;
	char list[16][32], path[128];
	char *tokens1, *vms1, *asg1, *img1, *tokens2, *vms2, *asg2, *img2;
	size_t l1, l2, l3, l4, m1, m2, m3, m4;
	long long seq1;

	fx_start(&d);
	fx_token(&d, "keep-ro", false, &t1);
	fx_token(&d, "keep-rw", true, &t2);
	fx_vm(&d, "vm-a", VM_A);
	fx_vm(&d, "vm-b", VM_B);
	fx_assign(&d, "keep-rw", "vm-b");
	snprintf(path, sizeof(path), "/v1/tokens/%s/image", t2.id);
	tokens1 = fetch(&d, "/v1/tokens", &l1);
	vms1 = fetch(&d, "/v1/vms", &l2);
	asg1 = fetch(&d, "/v1/assignments", &l3);
	img1 = fetch(&d, path, &l4);
	seq1 = vt_audit_last_seq(&d);

	fx_restart(&d);
	tokens2 = fetch(&d, "/v1/tokens", &m1);
	vms2 = fetch(&d, "/v1/vms", &m2);
	asg2 = fetch(&d, "/v1/assignments", &m3);
	img2 = fetch(&d, path, &m4);
	ck_assert_str_eq(tokens1, tokens2);
	ck_assert_str_eq(vms1, vms2);
	ck_assert_str_eq(asg1, asg2);
	ck_assert_uint_eq(l4, m4);
	ck_assert(memcmp(img1, img2, l4) == 0);
	/* The two image exports are on the record, after the old chain. */
	ck_assert_int_ge(vt_audit_last_seq(&d), seq1 + 1);
	{
		struct vt_http_resp r;

		ck_assert_int_eq(vt_api(&d, "GET", "/v1/audit/verify", NULL,
		    &r), 0);
		ck_assert_msg(r.status == 200, "verify: %s", r.body);
		ck_assert(json_is_true(json_object_get(r.json, "ok")));
		vt_http_resp_free(&r);
	}
	ck_assert_uint_eq(fx_devlist(&d, VM_B, list, 16), 1);
	ck_assert_str_eq(list[0], t2.busid);
	ck_assert_uint_eq(fx_import(&d, VM_B, t2.busid, &c), 0);
	usbip_client_close(&c);
	(void)t1;
	free(tokens1); free(vms1); free(asg1); free(img1);
	free(tokens2); free(vms2); free(asg2); free(img2);
	fx_stop(&d);
}
END_TEST

/* Changing one stored audit row breaks the chain exactly there. */
START_TEST(audit_tamper)
{
	struct vtd d;
	struct fx_token t;
	struct vt_http_resp r;

	fx_start(&d);
	fx_token(&d, "a", false, &t);
	fx_vm(&d, "vm-a", VM_A);
	fx_assign(&d, "a", "vm-a");
	ck_assert_int_eq(fx_revoke(&d, "a"), 204);
	ck_assert_int_ge(vt_audit_last_seq(&d), 5);
	ck_assert_int_eq(vtd_stop(&d), 0);

	ck_assert_int_eq(vtd_sql(&d, "UPDATE audit SET detail = "
	    "'{\"vm\":\"someone-else\"}' WHERE seq = 4"), 1);

	ck_assert_msg(vtd_start(&d, NULL) == 0, "%s", d.err);
	ck_assert_int_eq(vt_api(&d, "GET", "/v1/audit/verify", NULL, &r), 0);
	ck_assert_msg(r.status == 409, "verify: %ld %s", r.status, r.body);
	ck_assert_int_eq(json_integer_value(json_object_get(
	    json_object_get(r.json, "error"), "seq")), 4);
	ck_assert_str_eq(json_string_value(json_object_get(
	    json_object_get(r.json, "error"), "code")), "audit_broken");
	vt_http_resp_free(&r);

	/* vtokenctl names the broken record and exits 1. */
	{
		char cmd[1024], out[512] = "";
		FILE *p;
		size_t n;
		int st;

		snprintf(cmd, sizeof(cmd), "%s/bin/vtokenctl --url "
		    "http://127.0.0.1:%u --api-key-file %s/var/admin.key "
		    "audit verify 2>&1", VT_BINARY_DIR, d.api_port, d.dir);
		p = popen(cmd, "r");
		ck_assert_ptr_nonnull(p);
		n = fread(out, 1, sizeof(out) - 1, p);
		out[n] = '\0';
		st = pclose(p);
		ck_assert_msg(WIFEXITED(st) && WEXITSTATUS(st) == 1,
		    "vtokenctl audit verify: status %d: %s", st, out);
		ck_assert_msg(strstr(out, "record 4") != NULL, "%s", out);
	}
	fx_stop(&d);
}
END_TEST

/*
 * An attach that cannot be recorded is refused: with the database locked
 * by someone else past the store's 1 s busy timeout, the import gets
 * ST_ERROR and no session; once the lock is gone it works again.
 */
START_TEST(unrecorded_attach_refused)
{
	struct vtd d;
	struct fx_token t;
	struct usbip_client c;
	struct usbip_client_opts o = { .src_addr = VM_A, .timeout_ms = 20000 };
	uint32_t status = 99;
	void *lock;

	fx_start(&d);
	fx_token(&d, "lic", false, &t);
	fx_vm(&d, "vm-a", VM_A);
	fx_assign(&d, "lic", "vm-a");
	lock = vtd_lock_store(&d);
	usbip_client_init(&c);
	ck_assert_int_eq(usbip_client_connect(&c, d.host, d.port, &o), 0);
	ck_assert_int_eq(usbip_client_import(&c, t.busid, &status, NULL), 0);
	ck_assert_uint_eq(status, 5);		/* ST_ERROR */
	ck_assert(usbip_client_expect_closed(&c, 5000, NULL));
	usbip_client_close(&c);
	vtd_unlock_store(&d, lock);
	ck_assert(vtd_log_wait(&d, "the attach could not be recorded", 1,
	    5000));
	ck_assert_int_eq(vt_audit_count(&d, "attach", t.id), 0);
	ck_assert_uint_eq(fx_import(&d, VM_A, t.busid, &c), 0);
	usbip_client_close(&c);
	ck_assert_int_eq(vt_audit_count(&d, "attach", t.id), 1);
	fx_stop(&d);
}
END_TEST

static Suite *
controller_suite(void)
{
	Suite *s = suite_create("controller");
	TCase *tc = tcase_create("controller");

	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, visibility);
	tcase_add_test(tc, busy);
	tcase_add_test(tc, revoke_moves_token);
	tcase_add_test(tc, delete_ends_session);
	tcase_add_test(tc, restart_persists);
	tcase_add_test(tc, audit_tamper);
	tcase_add_test(tc, unrecorded_attach_refused);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(controller_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}
