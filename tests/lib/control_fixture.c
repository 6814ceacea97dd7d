/*
 * control_fixture: see control_fixture.h.
 */
#include "control_fixture.h"

#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "common/monotime.h"
#include "vt_wait.h"

int
fx_run_suite(Suite *s)
{
	SRunner *sr = srunner_create(s);
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed ? 1 : 0;
}

void
fx_start(struct vtd *d)
{
	memset(d, 0, sizeof(*d));
	ck_assert_msg(vtd_start(d, NULL) == 0, "vtd_start: %s", d->err);
}

void
fx_restart(struct vtd *d)
{
	ck_assert_msg(vtd_stop(d) == 0, "vtd_stop: %s", d->err);
	ck_assert_msg(vtd_start(d, NULL) == 0, "vtd_start: %s", d->err);
}

/*
 * Stops the daemon and requires a clean exit: under ASan, LeakSanitizer
 * reports at exit (status 23), so this is where leaks on the paths a test
 * drove show up.  The log is kept for a failing test.
 */
void
fx_stop(struct vtd *d)
{
	int rc = vtd_stop(d);

	ck_assert_msg(rc == 0, "vtokend exit status %d; log %s", rc, d->log);
	ck_assert_msg(vtd_log_count(d, "Sanitizer") == 0 &&
	    vtd_log_count(d, "runtime error") == 0,
	    "sanitizer report in %s", d->log);
	vtd_cleanup(d);
}

void
fx_node_start(struct vtd *d, const char *name, const struct vtd *first)
{
	const char *args[] = { "--node", name, NULL };
	char src[512], dst[512], cmd[1200];

	ck_assert_msg(vtd_init(d) == 0, "%s", d->err);
	if (first != NULL) {
		snprintf(d->store, sizeof(d->store), "%s", first->store);
		ck_assert_msg(vtd_audit_key_copy(d, first) == 0, "%s",
		    d->err);
	}
	ck_assert_msg(vtd_start(d, args) == 0, "%s", d->err);
	if (first == NULL)
		return;
	/* The admin key is the cluster's: the first node made it. */
	vtd_path(first, "var/admin.key", src, sizeof(src));
	vtd_path(d, "var/admin.key", dst, sizeof(dst));
	snprintf(cmd, sizeof(cmd), "cp '%s' '%s'", src, dst);
	ck_assert_int_eq(system(cmd), 0);
}

void
fx_wait_known(struct vtd *d, const char *path)
{
	int64_t deadline = monotime_ms() + 5000;

	for (;;) {
		struct vt_http_resp r;
		long st;

		ck_assert_int_eq(vt_api(d, "GET", path, NULL, &r), 0);
		st = r.status;
		vt_http_resp_free(&r);
		if (st == 200)
			return;
		ck_assert_msg(monotime_ms() < deadline, "node %s never knew %s",
		    d->log, path);
		vt_sleep_ms(5);
	}
}

void
fx_wait_assigned(struct vtd *d, const char *id, bool assigned)
{
	char path[128];
	int64_t deadline = monotime_ms() + 5000;

	snprintf(path, sizeof(path), "/v1/tokens/%s", id);
	for (;;) {
		struct vt_http_resp r;
		bool is;

		ck_assert_int_eq(vt_api(d, "GET", path, NULL, &r), 0);
		is = r.status == 200 && json_is_string(json_object_get(r.json,
		    "vm"));
		vt_http_resp_free(&r);
		if (is == assigned)
			return;
		ck_assert_msg(monotime_ms() < deadline, "node %s: token %s "
		    "never %s", d->log, id, assigned ? "assigned" :
		    "revoked");
		vt_sleep_ms(5);
	}
}

void
fx_token(struct vtd *d, const char *name, bool writable, struct fx_token *out)
{
	struct vt_http_resp r;
	char body[256];

	snprintf(body, sizeof(body), "{\"name\": \"%s\", \"size\": \"1M\", "
	    "\"writable\": %s}", name, writable ? "true" : "false");
	ck_assert_int_eq(vt_api(d, "POST", "/v1/tokens", body, &r), 0);
	ck_assert_msg(r.status == 201, "create token %s: %ld %s", name,
	    r.status, r.body);
	snprintf(out->id, sizeof(out->id), "%s",
	    json_string_value(json_object_get(r.json, "id")));
	snprintf(out->busid, sizeof(out->busid), "%s",
	    json_string_value(json_object_get(r.json, "busid")));
	vt_http_resp_free(&r);
}

void
fx_vm(struct vtd *d, const char *name, const char *addr)
{
	struct vt_http_resp r;
	char body[256];

	snprintf(body, sizeof(body), "{\"name\": \"%s\", \"addresses\": "
	    "[\"%s\"]}", name, addr);
	ck_assert_int_eq(vt_api(d, "POST", "/v1/vms", body, &r), 0);
	ck_assert_msg(r.status == 201, "create vm %s: %ld %s", name,
	    r.status, r.body);
	vt_http_resp_free(&r);
}

void
fx_assign(struct vtd *d, const char *token, const char *vm)
{
	struct vt_http_resp r;
	char body[256];

	snprintf(body, sizeof(body), "{\"token\": \"%s\", \"vm\": \"%s\"}",
	    token, vm);
	ck_assert_int_eq(vt_api(d, "POST", "/v1/assignments", body, &r), 0);
	ck_assert_msg(r.status == 201, "assign %s %s: %ld %s", token, vm,
	    r.status, r.body);
	vt_http_resp_free(&r);
}

long
fx_revoke(struct vtd *d, const char *token)
{
	struct vt_http_resp r;
	char path[128];
	long status;

	snprintf(path, sizeof(path), "/v1/assignments/%s", token);
	ck_assert_int_eq(vt_api(d, "DELETE", path, NULL, &r), 0);
	status = r.status;
	vt_http_resp_free(&r);
	return status;
}

size_t
fx_devlist(struct vtd *d, const char *src, char busids[][32], size_t max)
{
	struct usbip_client c;
	struct usbip_client_opts o = { .src_addr = src };
	struct usbip_dev_info devs[16];
	size_t n = 0;

	usbip_client_init(&c);
	ck_assert_msg(usbip_client_connect(&c, d->host, d->port, &o) == 0,
	    "connect from %s", src);
	ck_assert_msg(usbip_client_devlist(&c, devs, 16, &n) == 0,
	    "devlist from %s", src);
	for (size_t i = 0; i < n && i < max && i < 16; i++)
		snprintf(busids[i], 32, "%s", devs[i].busid);
	usbip_client_close(&c);
	return n;
}

uint32_t
fx_import(struct vtd *d, const char *src, const char *busid,
    struct usbip_client *c)
{
	struct usbip_client_opts o = { .src_addr = src };
	uint32_t status = 99;

	usbip_client_init(c);
	ck_assert_msg(usbip_client_connect(c, d->host, d->port, &o) == 0,
	    "connect from %s", src);
	ck_assert_msg(usbip_client_import(c, busid, &status, NULL) == 0,
	    "import %s from %s", busid, src);
	if (status != 0)
		usbip_client_close(c);
	return status;
}
