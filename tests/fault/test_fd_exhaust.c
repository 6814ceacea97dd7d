/*
 * test_fd_exhaust: vtokend out of file descriptors refuses new
 * connections without spinning, says so, and recovers once descriptors
 * are free again; through the USB/IP port and through the REST port.
 *
 * The daemon first runs unlimited to count the descriptors it needs
 * (database, listeners, event loop, whatever it inherits), then again
 * under "prlimit --nofile=N:N" (the VTD_WRAPPER feature of vtd_spawn)
 * with N = that count + ROOM, and long handshake and API timeouts, so
 * idle connections hold their descriptors.  Each phase opens idle connections
 * to one port until the daemon logs that accept() failed with EMFILE,
 * then checks:
 *  - a further client is not served (it waits in the listen backlog);
 *  - the daemon does not spin: its utime+stime grows by less than
 *    MAX_CPU_MS over SPIN_WINDOW_MS, and it logs at most a few accept
 *    failures in that time (one per back-off second);
 *  - after the test closes its connections, a new client is served
 *    within RECOVER_MS and the daemon's descriptor count is back to where
 *    it was before (nothing leaked).
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/usbip_client.h"
#include "../lib/vt_wait.h"
#include "../lib/vtd_spawn.h"
#include "common/monotime.h"
#include "fault_util.h"

#define ROOM		16	/* descriptors left for connections */
#define MAX_CONNS	200
#define SPIN_WINDOW_MS	3000
#define MAX_CPU_MS	300
#define MAX_ACCEPT_LOGS	8	/* in SPIN_WINDOW_MS, at one per second */
#define RECOVER_MS	5000

/*
 * The connection caps (and the descriptor budget, which leaves them as
 * configured under so low a limit) would refuse before the table is
 * full: lifted, so that accept() itself runs out.
 */
#define CFG_LONG \
	"usbip:\n" \
	"  handshake_timeout: 600\n" \
	"  max_per_peer: 4096\n" \
	"  vm_reserve: 0\n" \
	"api:\n" \
	"  timeout: 600\n" \
	"  max_connections_per_address: 4096\n" \
	"  vm_reserve: 0\n"

static struct vtd vtd;
static int nofile;		/* the daemon's RLIMIT_NOFILE */
static int conns[MAX_CONNS];
static size_t nconns;

static void
fx_close_all(void)
{
	for (size_t i = 0; i < nconns; i++)
		close(conns[i]);
	nconns = 0;
}

static void
fx_teardown(void)
{
	fx_close_all();
	unsetenv("VTD_WRAPPER");
	vtd_cleanup(&vtd);
}

static void
fx_start(void)
{
	char img[512], cfg[512], wrap[64];
	const char *args[8];
	size_t n = 0;
	int need;

	ck_assert_msg(vtd_init(&vtd) == 0, "%s", vtd.err);
	ck_assert_int_eq(vtd_write_file(&vtd, "vtokend.yaml", CFG_LONG), 0);
	vtd_path(&vtd, "img.img", img, sizeof(img));
	ck_assert_int_eq(vtd_make_pattern_image(img, 512, 1), 0);
	args[n++] = "-c";
	args[n++] = vtd_path(&vtd, "vtokend.yaml", cfg, sizeof(cfg));
	args[n++] = "--serve-image";
	args[n++] = img;
	args[n] = NULL;
	ck_assert_msg(vtd_start(&vtd, args) == 0, "%s", vtd.err);
	need = fu_fd_count(vtd.pid);
	ck_assert_int_gt(need, 0);
	ck_assert_int_eq(vtd_stop(&vtd), 0);
	nofile = need + ROOM;
	snprintf(wrap, sizeof(wrap), "prlimit --nofile=%d:%d", nofile,
	    nofile);
	setenv("VTD_WRAPPER", wrap, 1);
	ck_assert_msg(vtd_start(&vtd, args) == 0, "%s", vtd.err);
	unsetenv("VTD_WRAPPER");
}

/* A DEVLIST on a fresh connection answered within ms. */
static bool
fx_usbip_served(int ms)
{
	struct usbip_client c;
	struct usbip_client_opts o = { .timeout_ms = ms };
	struct usbip_dev_info devs[2];
	size_t ndev = 0;
	bool ok;

	usbip_client_init(&c);
	ok = usbip_client_connect(&c, vtd.host, vtd.port, &o) == 0 &&
	    usbip_client_devlist(&c, devs, 2, &ndev) == 0 && ndev == 1;
	usbip_client_close(&c);
	return ok;
}

static bool
fx_api_served(int ms)
{
	return fu_http_status(vtd.host, vtd.api_port, "/healthz", ms) == 200;
}

/*
 * Opens idle connections to port until a log line containing logpat
 * appears; returns how many it took.
 */
static size_t
fx_exhaust(uint16_t port, const char *logpat)
{
	int before = vtd_log_count(&vtd, logpat);
	int fd;

	while (nconns < MAX_CONNS) {
		fd = fu_connect(vtd.host, port, 2000);
		ck_assert_msg(fd >= 0, "connect #%zu failed", nconns + 1);
		conns[nconns++] = fd;
		if (vtd_log_wait(&vtd, logpat, before + 1, 100))
			return nconns;
	}
	ck_abort_msg("no \"%s\" after %d connections (daemon has %d fds)",
	    logpat, MAX_CONNS, fu_fd_count(vtd.pid));
	return 0;
}

/* CPU time and accept-failure lines over SPIN_WINDOW_MS stay small. */
static void
fx_check_no_spin(const char *what, const char *logpat)
{
	int64_t c0, c1;
	int l0, l1;

	c0 = fu_cpu_ms(vtd.pid);
	l0 = vtd_log_count(&vtd, logpat);
	vt_sleep_ms(SPIN_WINDOW_MS);
	c1 = fu_cpu_ms(vtd.pid);
	l1 = vtd_log_count(&vtd, logpat);
	fprintf(stderr, "fd_exhaust: %s: %lld ms CPU and %d accept failures "
	    "logged in %d ms of exhaustion\n", what, (long long)(c1 - c0),
	    l1 - l0, SPIN_WINDOW_MS);
	ck_assert(c0 >= 0 && c1 >= 0);
	ck_assert_msg(c1 - c0 < MAX_CPU_MS, "%s: the daemon used %lld ms CPU "
	    "in %d ms while out of descriptors (spinning?)", what,
	    (long long)(c1 - c0), SPIN_WINDOW_MS);
	ck_assert_int_le(l1 - l0, MAX_ACCEPT_LOGS);
	/* libevent's own complaint would mean an unhandled accept error. */
	ck_assert_int_eq(vtd_log_count(&vtd, "Error from accept"), 0);
}

/* Closes our connections; service and descriptor count come back. */
static void
fx_check_recovery(const char *what, bool (*served)(int), int base_fds)
{
	int64_t t0 = monotime_ms();
	int fds = -1;

	fx_close_all();
	while (!served(1000))
		ck_assert_msg(monotime_ms() - t0 < RECOVER_MS, "%s: not served "
		    "%d ms after the connections were closed", what,
		    RECOVER_MS);
	fprintf(stderr, "fd_exhaust: %s: served again %lld ms after the "
	    "close\n", what, (long long)(monotime_ms() - t0));
	/* Every descriptor the idle connections held is released. */
	for (int i = 0; i < 50; i++) {
		fds = fu_fd_count(vtd.pid);
		if (fds <= base_fds)
			break;
		vt_sleep_ms(100);
	}
	ck_assert_msg(fds <= base_fds, "%s: %d descriptors open, %d before",
	    what, fds, base_fds);
}

START_TEST(fd_exhaust_usbip_and_api)
{
	static const char *const upat =
	    ": warn: usbip: accept: Too many open files; pausing";
	static const char *const apat =
	    ": warn: api: accept: Too many open files; pausing";
	int base;
	size_t n;

	fx_start();
	base = fu_fd_count(vtd.pid);
	ck_assert(fx_usbip_served(2000));
	ck_assert(fx_api_served(2000));
	/* USB/IP port. */
	n = fx_exhaust(vtd.port, upat);
	fprintf(stderr, "fd_exhaust: usbip: %d descriptors at start, limit "
	    "%d, out after %zu connections\n", base, nofile, n);
	ck_assert(!fx_usbip_served(1500));
	fx_check_no_spin("usbip", "accept: Too many open files");
	fx_check_recovery("usbip", fx_usbip_served, base);
	ck_assert(fx_api_served(2000));
	/* REST port. */
	n = fx_exhaust(vtd.api_port, apat);
	fprintf(stderr, "fd_exhaust: api: out after %zu connections\n", n);
	ck_assert(!fx_api_served(1500));
	fx_check_no_spin("api", "accept: Too many open files");
	fx_check_recovery("api", fx_api_served, base);
	ck_assert(fx_usbip_served(2000));
	ck_assert_int_eq(vtd_stop(&vtd), 0);
}
END_TEST

static Suite *
fd_exhaust_suite(void)
{
	Suite *s = suite_create("fd_exhaust");
	TCase *tc = tcase_create("fd_exhaust");

	tcase_add_checked_fixture(tc, NULL, fx_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, fd_exhaust_usbip_and_api);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(fd_exhaust_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
