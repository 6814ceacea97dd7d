/*
 * test_valgrind_daemon: a representative session against vtokend running
 * under valgrind's memcheck must end with zero errors, leaks of kind
 * definite or indirect included.
 *
 * vtd_spawn runs the daemon through VTD_WRAPPER (VG_CMD below; startup
 * and shutdown under valgrind take seconds, so vtd_spawn allows
 * VTD_WRAPPED_TIMEOUT_MS).  The session, agent-free:
 *  - REST: create a writable token and a VM, assign;
 *  - USB/IP from the VM's address: DEVLIST, import, enumerate, INQUIRY,
 *    READ CAPACITY, MODE SENSE, WRITE(10), SYNCHRONIZE CACHE, READ(10) and
 *    compare, a REQUEST SENSE after an out-of-range READ;
 *  - a second peer's import refused (busy), a slow client cut off by the
 *    handshake deadline, a malformed PDU closing its connection;
 *  - SIGHUP with a broken and then a valid configuration;
 *  - revoke through REST (the session ends), GET the token's image,
 *    sessions, audit and its verification, delete token and VM;
 *  - a --serve-image device imported and read too;
 *  - SIGTERM: the exit status must be 0, not valgrind's 99, and its
 *    summary must say "ERROR SUMMARY: 0 errors".
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/control_fixture.h"
#include "fault_util.h"

#define VG_CMD \
	"valgrind --leak-check=full " \
	"--errors-for-leak-kinds=definite,indirect " \
	"--show-leak-kinds=definite,indirect --error-exitcode=99 " \
	"--num-callers=30"
#define VM_ADDR		"127.0.0.2"
#define RW_SECTORS	256
#define CFG_V1		"usbip:\n  handshake_timeout: 3\n"
#define CFG_V2		"usbip:\n  handshake_timeout: 2\n"

static struct vtd vtd;

static void
vg_teardown(void)
{
	vtd_cleanup(&vtd);
	unsetenv("VTD_WRAPPER");
}

static void
vg_start(void)
{
	char img[512], cfg[512];
	const char *args[8];
	size_t n = 0;

	ck_assert_msg(fu_sh("valgrind --version >/dev/null 2>&1") == 0,
	    "valgrind not found (scripts/deps.sh test installs it)");
	ck_assert_msg(vtd_init(&vtd) == 0, "%s", vtd.err);
	ck_assert_int_eq(vtd_write_file(&vtd, "vtokend.yaml", CFG_V1), 0);
	vtd_path(&vtd, "dev.img", img, sizeof(img));
	ck_assert_int_eq(vtd_make_pattern_image(img, 128, 7), 0);
	args[n++] = "-c";
	args[n++] = vtd_path(&vtd, "vtokend.yaml", cfg, sizeof(cfg));
	args[n++] = "--serve-image";
	args[n++] = img;
	args[n] = NULL;
	setenv("VTD_WRAPPER", VG_CMD, 1);
	ck_assert_msg(vtd_start(&vtd, args) == 0, "%s", vtd.err);
}

/* The USB/IP data path on an imported token. */
static void
vg_scsi(struct usbip_client *c)
{
	static uint8_t wbuf[16 * 512], rbuf[16 * 512];
	uint8_t inq[36], key = 0, asc = 0, ascq = 0;
	uint32_t last = 0, blen = 0;
	bool wp = true;

	ck_assert_int_eq(usbip_client_enumerate(c), 0);
	ck_assert_int_eq(usbip_client_inquiry(c, inq), 0);
	ck_assert_int_eq(usbip_client_test_unit_ready(c), 0);
	ck_assert_int_eq(usbip_client_read_capacity(c, &last, &blen), 0);
	ck_assert_uint_eq(blen, 512);
	ck_assert_int_eq(usbip_client_mode_sense_wp(c, &wp), 0);
	ck_assert(!wp);
	vtd_pattern_fill(3, 100, wbuf, 16);
	ck_assert_int_eq(usbip_client_write10(c, 100, 16, wbuf), 0);
	ck_assert_int_eq(usbip_client_sync_cache(c), 0);
	ck_assert_int_eq(usbip_client_read10(c, 100, 16, rbuf), 0);
	ck_assert_int_eq(memcmp(wbuf, rbuf, sizeof(rbuf)), 0);
	/* Beyond the end: CSW failed, sense 05-21-00. */
	ck_assert_int_eq(usbip_client_read10(c, last + 1, 1, rbuf), 1);
	ck_assert_int_eq(usbip_client_request_sense(c, &key, &asc, &ascq), 0);
	ck_assert_uint_eq(key, 5);
	ck_assert_uint_eq(asc, 0x21);
}

/* Peers misbehaving in small ways, each closed by the daemon. */
static void
vg_bad_peers(const char *busid)
{
	struct usbip_client c;
	uint8_t junk[8] = { 0x01, 0x11, 0x12, 0x34, 0, 0, 0, 0 };
	int fd;

	/* Busy: the token is imported already. */
	ck_assert_uint_eq(fx_import(&vtd, VM_ADDR, busid, &c),
	    USBIP_ST_DEV_BUSY);
	/* Unknown op code. */
	usbip_client_init(&c);
	ck_assert_int_eq(usbip_client_connect(&c, vtd.host, vtd.port, NULL),
	    0);
	ck_assert_int_eq(usbip_client_send(&c, junk, sizeof(junk)), 0);
	ck_assert(usbip_client_expect_closed(&c, 10000, NULL));
	usbip_client_close(&c);
	/* Silent until the handshake deadline. */
	fd = fu_connect(vtd.host, vtd.port, 5000);
	ck_assert(fd >= 0);
	ck_assert(fu_wait_closed(fd, 15000, NULL));
	close(fd);
}

static void
vg_api_get(const char *path, long want)
{
	struct vt_http_resp r;

	ck_assert_int_eq(vt_api(&vtd, "GET", path, NULL, &r), 0);
	ck_assert_msg(r.status == want, "GET %s: %ld %s", path, r.status,
	    r.status >= 400 ? r.body : "");
	vt_http_resp_free(&r);
}

START_TEST(valgrind_session)
{
	struct fx_token t;
	struct usbip_client c, s;
	char path[128], buf[16][32];
	uint8_t data[8 * 512];
	struct vt_http_resp r;
	int rc, before;

	vg_start();
	fx_token(&vtd, "vg-token", true, &t);
	fx_vm(&vtd, "vg-vm", VM_ADDR);
	fx_assign(&vtd, "vg-token", "vg-vm");
	ck_assert_uint_ge(fx_devlist(&vtd, VM_ADDR, buf, 16), 1);
	ck_assert_uint_eq(fx_import(&vtd, VM_ADDR, t.busid, &c), USBIP_ST_OK);
	vg_scsi(&c);
	vg_bad_peers(t.busid);
	/* The development device next to it. */
	usbip_client_init(&s);
	ck_assert_msg(usbip_client_attach(&s, vtd.host, vtd.port, NULL,
	    "1-1") == 0, "%s", s.err);
	ck_assert_int_eq(usbip_client_read10(&s, 8, 8, data), 0);
	ck_assert_int_eq(vtd_pattern_check(7, 8, data, 8), -1);
	usbip_client_close(&s);
	/* Reloads: a broken file, then a valid one. */
	before = vtd_log_count(&vtd, "reload failed");
	ck_assert_int_eq(vtd_write_file(&vtd, "vtokend.yaml", "usbip: [\n"),
	    0);
	ck_assert_int_eq(kill(vtd.pid, SIGHUP), 0);
	ck_assert(vtd_log_wait(&vtd, "reload failed", before + 1, 20000));
	ck_assert_int_eq(vtd_write_file(&vtd, "vtokend.yaml", CFG_V2), 0);
	ck_assert_int_eq(kill(vtd.pid, SIGHUP), 0);
	ck_assert(vtd_log_wait(&vtd, "reload: configuration", 1, 20000));
	/* REST views while the session is live, then revoke. */
	vg_api_get("/v1/sessions", 200);
	vg_api_get("/v1/tokens", 200);
	ck_assert_int_eq(fx_revoke(&vtd, "vg-token"), 204);
	ck_assert(usbip_client_expect_closed(&c, 10000, NULL));
	usbip_client_close(&c);
	snprintf(path, sizeof(path), "/v1/tokens/%s/image", t.id);
	vg_api_get(path, 200);
	vg_api_get("/v1/audit?limit=50", 200);
	vg_api_get("/v1/audit/verify", 200);
	vg_api_get("/metrics", 200);
	vg_api_get("/v1/nowhere", 404);
	ck_assert_int_eq(vt_api(&vtd, "DELETE", "/v1/tokens/vg-token", NULL,
	    &r), 0);
	ck_assert_int_eq(r.status, 204);
	vt_http_resp_free(&r);
	ck_assert_int_eq(vt_api(&vtd, "DELETE", "/v1/vms/vg-vm", NULL, &r), 0);
	ck_assert_int_eq(r.status, 204);
	vt_http_resp_free(&r);
	/* Clean exit: valgrind's status would be 99 on any error. */
	rc = vtd_stop(&vtd);
	ck_assert_msg(rc == 0, "vtokend under valgrind exited %d (99: "
	    "memcheck errors); log: %s", rc, vtd.log);
	ck_assert_int_eq(vtd_log_count(&vtd, "ERROR SUMMARY: 0 errors"), 1);
	ck_assert_int_eq(vtd_log_count(&vtd, "definitely lost"), 0);
	ck_assert_int_eq(vtd_log_count(&vtd, "indirectly lost"), 0);
	ck_assert_int_eq(vtd_log_count(&vtd, "Invalid read"), 0);
	ck_assert_int_eq(vtd_log_count(&vtd, "Invalid write"), 0);
	ck_assert_int_eq(vtd_log_count(&vtd, "uninitialised"), 0);
}
END_TEST

static Suite *
valgrind_suite(void)
{
	Suite *s = suite_create("valgrind_daemon");
	TCase *tc = tcase_create("valgrind_daemon");

	tcase_add_checked_fixture(tc, NULL, vg_teardown);
	tcase_set_timeout(tc, 240);
	tcase_add_test(tc, valgrind_session);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(valgrind_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
