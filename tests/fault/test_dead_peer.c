/*
 * test_dead_peer: a USB/IP peer that vanishes without FIN or RST has its
 * session freed within 30 s (usbip_conn.c: keepalive 10 s + 5 s x 3,
 * TCP_USER_TIMEOUT 30 s), and the device can be imported again.
 *
 * The network is three namespaces of our own, never the host's:
 *
 *   client  10.200.1.2/30 --veth-- 10.200.1.1  router  10.200.2.1
 *                                               --veth-- 10.200.2.2/30  server
 *
 * vtokend runs in the server namespace (it inherits ours, set with
 * setns() before the fork) on 10.200.2.2:3240; the test's faulty client
 * connects from the client namespace.  The link "dies" by blackhole
 * routes in the router, one per direction: forwarded packets are dropped
 * silently, no ICMP, no RST, while both endpoints keep their links up,
 * as when a VM host vanishes behind a switch.  (Debian 12's kernel has
 * netem and gact as modules; blackhole routes need neither.)
 *
 * Two sessions run at once against one daemon serving two images:
 *  - 1-1, idle: enumerated, read, then silent -> the keepalive path;
 *  - 1-2, busy: the CBW of a 1 MiB READ(10) is answered, then the
 *    server->client direction is cut, the 1 MiB data URB and the CSW URB
 *    are sent (the server answers into the void: unacknowledged data in
 *    flight), then the client->server direction is cut too -> the
 *    TCP_USER_TIMEOUT path.
 * Both must be logged as detached within 30 s (+ DEAD_SLACK_MS) of the
 * cut, for a timed-out socket, and a healthy client (in the server
 * namespace, the link still dead) must import both busids again.
 *
 * Namespaces are created in the Check parent (unchecked fixture) and
 * deleted there, at exit and on SIGINT/SIGTERM; ones left by a killed
 * earlier run (named vtfPID*, PID gone) are removed first.  Without
 * namespace support the test FAILS and says so.
 */
#include <check.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "../lib/usbip_client.h"
#include "../lib/vt_wait.h"
#include "../lib/vtd_spawn.h"
#include "common/monotime.h"
#include "fault_util.h"

#define CLI_ADDR	"10.200.1.2"
#define RTR_CLI_ADDR	"10.200.1.1"
#define RTR_SRV_ADDR	"10.200.2.1"
#define SRV_ADDR	"10.200.2.2"
#define SRV_PORT	3240
#define DEAD_LIMIT_MS	30000
#define DEAD_SLACK_MS	3000
#define IDLE_SECTORS	512
#define BUSY_SECTORS	4096
#define READ_BLOCKS	2048	/* 1 MiB */

static char ns_cli[32], ns_rtr[32], ns_srv[32];
static char ns_err[512];
static bool ns_made;
static pid_t ns_owner;		/* the Check parent, which made them */

/* Deletes the namespaces of a test process that no longer runs. */
static void
ns_sweep_stale(void)
{
	DIR *d = opendir("/run/netns");
	struct dirent *e;
	int pid;
	char role;

	if (d == NULL)
		return;
	while ((e = readdir(d)) != NULL) {
		if (sscanf(e->d_name, "vtf%d%c", &pid, &role) != 2 ||
		    pid <= 0 || (kill(pid, 0) == 0 || errno != ESRCH))
			continue;
		fprintf(stderr, "dead_peer: removing stale namespace %s\n",
		    e->d_name);
		(void)fu_sh("ip netns del %s", e->d_name);
	}
	closedir(d);
}

static void
ns_delete(void)
{
	if (!ns_made || getpid() != ns_owner)
		return;		/* not in the forked test child */
	ns_made = false;
	(void)fu_sh("ip netns del %s 2>/dev/null", ns_cli);
	(void)fu_sh("ip netns del %s 2>/dev/null", ns_rtr);
	(void)fu_sh("ip netns del %s 2>/dev/null", ns_srv);
}

static void
ns_on_signal(int sig)
{
	ns_delete();
	signal(sig, SIG_DFL);
	raise(sig);
}

/* Runs one setup command; on failure records it and returns -1. */
static int
ns_cmd(const char *cmd)
{
	int st = fu_sh("%s", cmd);

	if (st != 0) {
		snprintf(ns_err, sizeof(ns_err), "\"%.380s\" exited %d "
		    "(needs root: CAP_SYS_ADMIN, CAP_NET_ADMIN)", cmd, st);
		return -1;
	}
	return 0;
}

static void
ns_setup(void)
{
	char c[32][192];
	size_t n = 0;
	int pid = (int)getpid();

	ns_sweep_stale();
	snprintf(ns_cli, sizeof(ns_cli), "vtf%dc", pid);
	snprintf(ns_rtr, sizeof(ns_rtr), "vtf%dr", pid);
	snprintf(ns_srv, sizeof(ns_srv), "vtf%ds", pid);
	if (geteuid() != 0) {
		snprintf(ns_err, sizeof(ns_err), "not root (euid %d): "
		    "network namespaces need CAP_SYS_ADMIN", (int)geteuid());
		return;
	}
	atexit(ns_delete);
	signal(SIGINT, ns_on_signal);
	signal(SIGTERM, ns_on_signal);
	ns_owner = getpid();
	ns_made = true;
#define C(...) snprintf(c[n++], sizeof(c[0]), __VA_ARGS__)
	C("ip netns add %s", ns_cli);
	C("ip netns add %s", ns_rtr);
	C("ip netns add %s", ns_srv);
	C("ip -n %s link add vc type veth peer name vrc netns %s", ns_cli,
	    ns_rtr);
	C("ip -n %s link add vs type veth peer name vrs netns %s", ns_srv,
	    ns_rtr);
	C("ip -n %s addr add %s/30 dev vc", ns_cli, CLI_ADDR);
	C("ip -n %s addr add %s/30 dev vrc", ns_rtr, RTR_CLI_ADDR);
	C("ip -n %s addr add %s/30 dev vrs", ns_rtr, RTR_SRV_ADDR);
	C("ip -n %s addr add %s/30 dev vs", ns_srv, SRV_ADDR);
	C("ip -n %s link set lo up", ns_cli);
	C("ip -n %s link set vc up", ns_cli);
	C("ip -n %s link set lo up", ns_rtr);
	C("ip -n %s link set vrc up", ns_rtr);
	C("ip -n %s link set vrs up", ns_rtr);
	C("ip -n %s link set lo up", ns_srv);
	C("ip -n %s link set vs up", ns_srv);
	C("ip -n %s route add default via %s", ns_cli, RTR_CLI_ADDR);
	C("ip -n %s route add default via %s", ns_srv, RTR_SRV_ADDR);
	C("ip netns exec %s sh -c 'echo 1 > /proc/sys/net/ipv4/ip_forward'",
	    ns_rtr);
#undef C
	for (size_t i = 0; i < n; i++)
		if (ns_cmd(c[i]) < 0)
			return;
}

/* Moves this process (single-threaded) into namespace name. */
static void
ns_enter(const char *name)
{
	char path[128];
	int fd;

	snprintf(path, sizeof(path), "/run/netns/%s", name);
	fd = open(path, O_RDONLY | O_CLOEXEC);
	ck_assert_msg(fd >= 0, "%s: %s", path, strerror(errno));
	ck_assert_msg(setns(fd, CLONE_NEWNET) == 0, "setns %s: %s", name,
	    strerror(errno));
	close(fd);
}

/* Drops forwarded packets towards addr, silently. */
static void
ns_blackhole(const char *addr)
{
	ck_assert_int_eq(fu_sh("ip -n %s route add blackhole %s/32", ns_rtr,
	    addr), 0);
}

static struct vtd vtd;

static void
dp_teardown(void)
{
	vtd_cleanup(&vtd);
}

static void
dp_start_daemon(void)
{
	char img[2][512], listen[64], cfg[512];
	const char *args[12];
	size_t n = 0;

	ck_assert_msg(vtd_init(&vtd) == 0, "%s", vtd.err);
	/*
	 * tx_timeout (an application deadline, also 30 s by default) would
	 * race TCP_USER_TIMEOUT for the busy session: keep it out of the way
	 * so that only the kernel's timers can free the sessions.
	 */
	ck_assert_int_eq(vtd_write_file(&vtd, "vtokend.yaml",
	    "usbip:\n  tx_timeout: 300\n"), 0);
	vtd_path(&vtd, "vtokend.yaml", cfg, sizeof(cfg));
	vtd_path(&vtd, "idle.img", img[0], sizeof(img[0]));
	vtd_path(&vtd, "busy.img", img[1], sizeof(img[1]));
	ck_assert_int_eq(vtd_make_pattern_image(img[0], IDLE_SECTORS, 1), 0);
	ck_assert_int_eq(vtd_make_pattern_image(img[1], BUSY_SECTORS, 2), 0);
	snprintf(listen, sizeof(listen), "%s:%d", SRV_ADDR, SRV_PORT);
	/* -d: the one "closing:" line per connection is at debug level. */
	args[n++] = "-d";
	args[n++] = "-c";
	args[n++] = cfg;
	args[n++] = "--listen";
	args[n++] = listen;
	args[n++] = "--serve-image";
	args[n++] = img[0];
	args[n++] = "--serve-image";
	args[n++] = img[1];
	args[n] = NULL;
	ck_assert_msg(vtd_start(&vtd, args) == 0, "%s", vtd.err);
}

static void
dp_attach(struct usbip_client *c, const char *busid, uint32_t seed,
    char *peer, size_t peerlen)
{
	uint8_t buf[16 * 512];

	usbip_client_init(c);
	ck_assert_msg(usbip_client_attach(c, SRV_ADDR, SRV_PORT, NULL,
	    busid) == 0, "attach %s: %s", busid, c->err);
	ck_assert_msg(usbip_client_read10(c, 8, 16, buf) == 0, "read %s: %s",
	    busid, c->err);
	ck_assert_int_eq(vtd_pattern_check(seed, 8, buf, 16), -1);
	if (peer != NULL)
		ck_assert(usbip_client_local_addr(c, peer, peerlen) == 0);
}

/*
 * Waits until deadline for "usbip PEER: detached 1-1" (idle) and "... 1-2"
 * (busy); sets the times each was first seen, or -1.
 */
static void
dp_wait_both(const char *idle_peer, const char *busy_peer, int64_t deadline,
    int64_t *t_idle, int64_t *t_busy)
{
	char pi[160], pb[160];

	snprintf(pi, sizeof(pi), "usbip %s: detached 1-1 ", idle_peer);
	snprintf(pb, sizeof(pb), "usbip %s: detached 1-2 ", busy_peer);
	*t_idle = *t_busy = -1;
	while (monotime_ms() < deadline && (*t_idle < 0 || *t_busy < 0)) {
		if (*t_idle < 0 && vtd_log_count(&vtd, pi) > 0)
			*t_idle = monotime_ms();
		if (*t_busy < 0 && vtd_log_count(&vtd, pb) > 0)
			*t_busy = monotime_ms();
		vt_sleep_ms(50);
	}
}

/* The session's one closing line names a timed-out socket. */
static void
dp_check_reason(const char *peer)
{
	char pat[160], line[512];

	snprintf(pat, sizeof(pat), "usbip %s: closing:", peer);
	ck_assert_int_eq(vtd_log_count(&vtd, pat), 1);
	ck_assert(vtd_log_last(&vtd, pat, line, sizeof(line)));
	ck_assert_msg(strstr(line, "timed out") != NULL, "%s", line);
}

START_TEST(dead_peer_idle_and_busy)
{
	struct usbip_client idle, busy, healthy;
	char idle_peer[64], busy_peer[64], line[512], pat[160];
	uint8_t cdb[10] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 0, 0 };
	uint8_t buf[16 * 512];
	int64_t t_cut, t_idle, t_busy;
	int32_t st;

	ck_assert_msg(ns_err[0] == '\0', "network namespaces unavailable, "
	    "cannot run the dead-peer test: %s", ns_err);
	ns_enter(ns_srv);
	dp_start_daemon();
	ns_enter(ns_cli);
	dp_attach(&idle, "1-1", 1, idle_peer, sizeof(idle_peer));
	dp_attach(&busy, "1-2", 2, busy_peer, sizeof(busy_peer));
	/* READ(10) of 2048 blocks from LBA 16: the CBW is answered. */
	cdb[7] = READ_BLOCKS >> 8;
	cdb[8] = READ_BLOCKS & 0xff;
	ck_assert_msg(usbip_client_send_cbw(&busy, READ_BLOCKS * 512, true, 0,
	    cdb, sizeof(cdb), &st) == 0, "%s", busy.err);
	ck_assert_int_eq(st, 0);
	/* Cut server->client; the data and CSW requests still get there. */
	ns_blackhole(CLI_ADDR);
	t_cut = monotime_ms();
	ck_assert_msg(usbip_client_submit(&busy, USBIP_CLIENT_EP_IN, true,
	    NULL, NULL, READ_BLOCKS * 512, 0, NULL) == 0, "%s", busy.err);
	ck_assert_msg(usbip_client_submit(&busy, USBIP_CLIENT_EP_IN, true,
	    NULL, NULL, MSC_CSW_LEN, 0, NULL) == 0, "%s", busy.err);
	vt_sleep_ms(300);
	ns_blackhole(SRV_ADDR);
	/* Both sessions end within the bound; neither peer said a word. */
	dp_wait_both(idle_peer, busy_peer,
	    t_cut + DEAD_LIMIT_MS + DEAD_SLACK_MS + 5000, &t_idle, &t_busy);
	fprintf(stderr, "dead_peer: idle session freed after %lld ms, busy "
	    "session after %lld ms\n", (long long)(t_idle - t_cut),
	    (long long)(t_busy - t_cut));
	ck_assert_msg(t_idle > 0, "idle session %s not detached after %d ms",
	    idle_peer, DEAD_LIMIT_MS + DEAD_SLACK_MS + 5000);
	ck_assert_msg(t_busy > 0, "busy session %s not detached after %d ms",
	    busy_peer, DEAD_LIMIT_MS + DEAD_SLACK_MS + 5000);
	ck_assert_int_le(t_idle - t_cut, DEAD_LIMIT_MS + DEAD_SLACK_MS);
	ck_assert_int_le(t_busy - t_cut, DEAD_LIMIT_MS + DEAD_SLACK_MS);
	dp_check_reason(idle_peer);
	dp_check_reason(busy_peer);
	/* The busy session really had its 1 MiB reply queued. */
	snprintf(pat, sizeof(pat), "usbip %s: detached 1-2 ", busy_peer);
	ck_assert(vtd_log_last(&vtd, pat, line, sizeof(line)));
	{
		const char *p = strstr(line, "bytes in, ");
		unsigned long long out = 0;

		ck_assert_msg(p != NULL && sscanf(p, "bytes in, %llu", &out) ==
		    1 && out >= READ_BLOCKS * 512ull, "%s", line);
	}
	/* A healthy client (server side; the link is still dead). */
	ns_enter(ns_srv);
	dp_attach(&healthy, "1-1", 1, NULL, 0);
	usbip_client_close(&healthy);
	dp_attach(&healthy, "1-2", 2, NULL, 0);
	ck_assert_msg(usbip_client_read10(&healthy, 100, 16, buf) == 0, "%s",
	    healthy.err);
	ck_assert_int_eq(vtd_pattern_check(2, 100, buf, 16), -1);
	usbip_client_close(&healthy);
	usbip_client_close(&idle);
	usbip_client_close(&busy);
	ck_assert_int_eq(vtd_log_count(&vtd, "Sanitizer"), 0);
	ck_assert_int_eq(vtd_stop(&vtd), 0);
}
END_TEST

static Suite *
dead_peer_suite(void)
{
	Suite *s = suite_create("dead_peer");
	TCase *tc = tcase_create("dead_peer");

	tcase_add_unchecked_fixture(tc, ns_setup, ns_delete);
	tcase_add_checked_fixture(tc, NULL, dp_teardown);
	tcase_set_timeout(tc, 90);
	tcase_add_test(tc, dead_peer_idle_and_busy);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dead_peer_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
