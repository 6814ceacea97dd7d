/*
 * test_reload: SIGHUP with a broken configuration file keeps the running
 * configuration and says why; a valid change of reloadable keys is then
 * applied.
 *
 * The daemon starts from a file with log_level: info and
 * usbip.handshake_timeout: 5 (plus the usual --listen/--api-listen/
 * --data-dir/--serve-image options of vtd_spawn, which a reload must keep
 * applying).  Each broken file below is written and SIGHUP sent; the log
 * must name the problem (with FILE:LINE: for parse errors, the key for a
 * restart-only change), and the daemon must keep serving with the old
 * settings: a DEVLIST works, a silent connection is still open after
 * 1.5 s (old handshake_timeout 5 s), no debug lines appear.
 *   syntax      YAML syntax error
 *   unknown     a misspelt key
 *   range       handshake_timeout: 0 (below its minimum)
 *   restart     usb.vendor_id changed (needs a restart), together with
 *               a reloadable key: nothing is applied
 * Then log_level: debug and handshake_timeout: 1: the log says it was
 * applied, a new connection is logged at debug level, and a silent one
 * is closed after 1 s with its one warn line.
 */
#include <check.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

#include "../lib/usbip_client.h"
#include "../lib/vtd_spawn.h"
#include "fault_util.h"

#define CFG_V1 \
	"log_level: info\n" \
	"usbip:\n" \
	"  handshake_timeout: 5\n"

static struct vtd vtd;
static char cfg_path[512];

static void
rl_teardown(void)
{
	vtd_cleanup(&vtd);
}

static void
rl_start(void)
{
	char img[512];
	const char *args[8];
	size_t n = 0;

	ck_assert_msg(vtd_init(&vtd) == 0, "%s", vtd.err);
	ck_assert_int_eq(vtd_write_file(&vtd, "vtokend.yaml", CFG_V1), 0);
	vtd_path(&vtd, "vtokend.yaml", cfg_path, sizeof(cfg_path));
	vtd_path(&vtd, "img.img", img, sizeof(img));
	ck_assert_int_eq(vtd_make_pattern_image(img, 512, 1), 0);
	args[n++] = "-c";
	args[n++] = cfg_path;
	args[n++] = "--serve-image";
	args[n++] = img;
	args[n] = NULL;
	ck_assert_msg(vtd_start(&vtd, args) == 0, "%s", vtd.err);
}

/* Writes text as the configuration, sends SIGHUP, waits for logpat. */
static void
rl_reload(const char *text, const char *logpat)
{
	int before = vtd_log_count(&vtd, logpat);

	ck_assert_int_eq(vtd_write_file(&vtd, "vtokend.yaml", text), 0);
	ck_assert_int_eq(kill(vtd.pid, SIGHUP), 0);
	ck_assert_msg(vtd_log_wait(&vtd, logpat, before + 1, 5000),
	    "after SIGHUP with\n%s\nno log line \"%s\"", text, logpat);
}

static void
rl_devlist(void)
{
	struct usbip_client c;
	struct usbip_dev_info devs[2];
	size_t n = 0;

	usbip_client_init(&c);
	ck_assert_msg(usbip_client_connect(&c, vtd.host, vtd.port, NULL) == 0 &&
	    usbip_client_devlist(&c, devs, 2, &n) == 0, "%s", c.err);
	ck_assert_uint_eq(n, 1);
	ck_assert_uint_eq(devs[0].vendor, 0x1209);
	usbip_client_close(&c);
}

/* Still the old settings: served, 5 s handshake, no debug lines. */
static void
rl_check_old(void)
{
	int fd;

	ck_assert_int_eq(kill(vtd.pid, 0), 0);
	rl_devlist();
	fd = fu_connect(vtd.host, vtd.port, 2000);
	ck_assert(fd >= 0);
	ck_assert_msg(!fu_wait_closed(fd, 1500, NULL), "a silent connection "
	    "was closed within 1.5 s: handshake_timeout changed");
	close(fd);
	ck_assert_int_eq(vtd_log_count(&vtd, ": debug: "), 0);
}

START_TEST(reload_broken_then_valid)
{
	char line[1024], pat[640], peer[64];
	int64_t ms = 0;
	int fd;

	rl_start();
	rl_check_old();
	/* A YAML syntax error: the message names the file and line. */
	rl_reload("usbip:\n  handshake_timeout: [1\n",
	    "reload failed, keeping the running configuration");
	snprintf(pat, sizeof(pat), "%s:", cfg_path);
	ck_assert_msg(vtd_log_last(&vtd, pat, line, sizeof(line)), "no "
	    "FILE:LINE:COL message");
	fprintf(stderr, "reload: syntax: %s\n", line);
	rl_check_old();
	/* A misspelt key. */
	rl_reload("usbip:\n  handshake_timeot: 1\n",
	    "unknown key \"usbip.handshake_timeot\"");
	snprintf(pat, sizeof(pat), "%s:2:", cfg_path);
	ck_assert_int_ge(vtd_log_count(&vtd, pat), 1);
	rl_check_old();
	/* A value out of range. */
	rl_reload("usbip:\n  handshake_timeout: 0\n",
	    "usbip.handshake_timeout: value out of range");
	rl_check_old();
	/*
	 * A key that needs a restart, next to a reloadable one: nothing is
	 * applied.  (Not usbip.listen: vtd_spawn passes --listen, and the
	 * command line wins over the file on reload as at start.)
	 */
	rl_reload("usb:\n  vendor_id: 0x1234\nusbip:\n  handshake_timeout: 1\n",
	    "reload refused, keeping the running configuration: usb.vendor_id "
	    "changed and needs a restart");
	rl_check_old();
	/* Now a valid change of two reloadable keys. */
	rl_reload("log_level: debug\nusbip:\n  handshake_timeout: 1\n",
	    "reload: configuration ");
	ck_assert_int_eq(vtd_log_count(&vtd, "reload refused"), 1);
	fd = fu_connect(vtd.host, vtd.port, 2000);
	ck_assert(fd >= 0);
	ck_assert(fu_local_addr(fd, peer, sizeof(peer)) == 0);
	snprintf(pat, sizeof(pat), ": debug: usbip %s: connected", peer);
	ck_assert_msg(vtd_log_wait(&vtd, pat, 1, 2000), "log_level debug "
	    "not applied: no \"%s\"", pat);
	ck_assert_msg(fu_wait_closed(fd, 3000, &ms), "handshake_timeout 1 "
	    "not applied: silent connection still open after 3 s");
	close(fd);
	fprintf(stderr, "reload: silent connection closed after %lld ms\n",
	    (long long)ms);
	ck_assert_int_le(ms, 2000);
	snprintf(pat, sizeof(pat), ": warn: usbip %s: closing: no complete "
	    "request within 1 s", peer);
	ck_assert(vtd_log_wait(&vtd, pat, 1, 2000));
	rl_devlist();
	ck_assert_int_eq(vtd_stop(&vtd), 0);
}
END_TEST

static Suite *
reload_suite(void)
{
	Suite *s = suite_create("reload");
	TCase *tc = tcase_create("reload");

	tcase_add_checked_fixture(tc, NULL, rl_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, reload_broken_then_valid);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(reload_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
