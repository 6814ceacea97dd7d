/*
 * test_slowloris: clients that start a message and never finish it are
 * cut off by the configured deadlines on both ports, while other clients
 * are served without delay.
 *
 * The daemon runs with 2-second deadlines (usbip.handshake_timeout,
 * usbip.pdu_timeout, api.timeout) and serves three pattern images.  All
 * slow connections of a test are open at the same time; one loop polls
 * them, trickles bytes where a case trickles, and meanwhile keeps a good
 * client busy (USB/IP: READ(10) with data checks and fresh DEVLIST
 * connections; REST: GET /healthz on fresh connections), each of which
 * must be answered within GOOD_MS.
 *
 * USB/IP (deadline from connect for the op phase, from the first byte of
 * a URB-phase message; both absolute, so trickling does not help):
 *   silent       connects, sends nothing
 *   half_op      4 bytes of an op_common
 *   trickle_op   an OP_REQ_IMPORT, one byte every 300 ms
 *   half_hdr     imported, 20 bytes of a usbip_header
 *   trickle_urb  imported, a bulk-OUT CMD_SUBMIT + 512-byte payload, one
 *                byte every 200 ms
 * each closed after 2 s (+ SLACK_MS) with its one warn line.
 *
 * REST API (evhttp: api.timeout is an inactivity timeout, so each case
 * stalls completely after its last byte):
 *   silent       connects, sends nothing
 *   half_line    "GET /heal"
 *   half_headers a request line and one header, no blank line
 *   part_body    POST with Content-Length: 100 and 4 bytes of body
 * each closed 2 s (+ SLACK_MS) after its last byte.
 */
#include <check.h>
#include <errno.h>
#include <poll.h>
#include <stdio.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "../lib/usbip_client.h"
#include "../lib/vt_http.h"
#include "../lib/vtd_spawn.h"
#include "common/monotime.h"
#include "fault_util.h"

#define DEADLINE_MS	2000
#define EARLY_MS	100	/* timers may round a little early */
#define SLACK_MS	600
#define GOOD_MS		500
#define RUN_MS		(DEADLINE_MS + SLACK_MS + 2000)
#define MAX_SLOW	8
#define GOOD_SECTORS	512

#define CFG_SHORT \
	"usbip:\n" \
	"  handshake_timeout: 2\n" \
	"  pdu_timeout: 2\n" \
	"api:\n" \
	"  timeout: 2\n"

/* One slow client. */
struct slow {
	const char *name;
	int fd;
	char peer[64];
	const uint8_t *trickle;		/* bytes still to send, or NULL */
	size_t tlen, tpos;
	int every_ms;
	int64_t next_ms;
	int64_t start_ms;		/* when its deadline began */
	int64_t closed_ms;		/* -1 while open */
	const char *reason;		/* expected warn line, or NULL */
};

static struct vtd vtd;
static struct slow slows[MAX_SLOW];
static size_t nslow;
static uint8_t import_req[USBIP_IMPORT_REQ_SIZE];
static uint8_t out_urb[USBIP_HDR_SIZE + 512];

static void
sl_teardown(void)
{
	for (size_t i = 0; i < nslow; i++)
		if (slows[i].fd >= 0)
			close(slows[i].fd);
	nslow = 0;
	vtd_cleanup(&vtd);
}

/* The short-timeout config, with the API on TLS when tls is set. */
static void
sl_config(bool tls)
{
	char crt[512], key[512], text[2048];

	if (!tls) {
		ck_assert_int_eq(vtd_write_file(&vtd, "vtokend.yaml",
		    CFG_SHORT), 0);
		return;
	}
	vtd_path(&vtd, "tls.crt", crt, sizeof(crt));
	vtd_path(&vtd, "tls.key", key, sizeof(key));
	ck_assert_msg(fu_sh("openssl req -x509 -newkey ec -pkeyopt "
	    "ec_paramgen_curve:P-256 -nodes -days 2 -subj /CN=127.0.0.1 "
	    "-keyout '%s' -out '%s' 2>/dev/null", key, crt) == 0,
	    "openssl req failed");
	snprintf(text, sizeof(text), CFG_SHORT "  tls:\n    cert: %s\n"
	    "    key: %s\n", crt, key);
	ck_assert_int_eq(vtd_write_file(&vtd, "vtokend.yaml", text), 0);
}

static void
sl_start_tls(bool tls)
{
	char img[3][512], cfg[512];
	const char *args[12];
	size_t n = 0;

	ck_assert_msg(vtd_init(&vtd) == 0, "%s", vtd.err);
	sl_config(tls);
	args[n++] = "-c";
	args[n++] = vtd_path(&vtd, "vtokend.yaml", cfg, sizeof(cfg));
	for (int i = 0; i < 3; i++) {
		char name[16];

		snprintf(name, sizeof(name), "img%d.img", i + 1);
		vtd_path(&vtd, name, img[i], sizeof(img[i]));
		ck_assert_int_eq(vtd_make_pattern_image(img[i], GOOD_SECTORS,
		    (uint32_t)i + 1), 0);
		args[n++] = "--serve-image";
		args[n++] = img[i];
	}
	args[n] = NULL;
	ck_assert_msg(vtd_start(&vtd, args) == 0, "%s", vtd.err);
}

static void
sl_start(void)
{
	sl_start_tls(false);
}

/* Registers fd as slow client name; the deadline starts now. */
static struct slow *
sl_add(const char *name, int fd, const char *reason)
{
	struct slow *s = &slows[nslow++];

	ck_assert_uint_le(nslow, MAX_SLOW);
	ck_assert_msg(fd >= 0, "%s: cannot connect", name);
	memset(s, 0, sizeof(*s));
	s->name = name;
	s->fd = fd;
	s->closed_ms = -1;
	s->start_ms = monotime_ms();
	s->reason = reason;
	ck_assert(fu_local_addr(fd, s->peer, sizeof(s->peer)) == 0);
	return s;
}

static struct slow *
sl_raw(const char *name, uint16_t port, const char *send, size_t len,
    const char *reason)
{
	struct slow *s = sl_add(name, fu_connect(vtd.host, port, 2000),
	    reason);

	if (len > 0) {
		ck_assert_int_eq(fu_send(s->fd, send, len), 0);
		s->start_ms = monotime_ms();
	}
	return s;
}

static void
sl_set_trickle(struct slow *s, const uint8_t *b, size_t len, int every_ms)
{
	s->trickle = b;
	s->tlen = len;
	s->every_ms = every_ms;
	s->next_ms = monotime_ms();
}

/* Sends due trickle bytes; the first one starts a URB-phase deadline. */
static void
sl_trickle(struct slow *s, bool deadline_from_first)
{
	if (s->trickle == NULL || s->closed_ms >= 0 || s->tpos >= s->tlen ||
	    monotime_ms() < s->next_ms)
		return;
	if (send(s->fd, s->trickle + s->tpos, 1, MSG_NOSIGNAL) == 1) {
		if (s->tpos == 0 && deadline_from_first)
			s->start_ms = monotime_ms();
		s->tpos++;
	}
	s->next_ms += s->every_ms;
}

/* Notes slow clients the server has closed; returns how many are open. */
static size_t
sl_poll(int ms)
{
	struct pollfd p[MAX_SLOW];
	size_t open = 0;
	char buf[4096];
	ssize_t r;

	for (size_t i = 0; i < nslow; i++) {
		p[i].fd = slows[i].closed_ms < 0 ? slows[i].fd : -1;
		p[i].events = POLLIN;
		p[i].revents = 0;
	}
	(void)poll(p, nslow, ms);
	for (size_t i = 0; i < nslow; i++) {
		struct slow *s = &slows[i];

		if (s->closed_ms >= 0)
			continue;
		if (p[i].revents != 0) {
			r = recv(s->fd, buf, sizeof(buf), MSG_DONTWAIT);
			if (r == 0 || (r < 0 && errno != EAGAIN &&
			    errno != EINTR)) {
				s->closed_ms = monotime_ms();
				continue;
			}
		}
		open++;
	}
	return open;
}

/* Every slow client was closed within its deadline (and not before). */
static void
sl_check_closed(void)
{
	char pat[160];

	for (size_t i = 0; i < nslow; i++) {
		struct slow *s = &slows[i];
		int64_t dt = s->closed_ms - s->start_ms;

		ck_assert_msg(s->closed_ms >= 0, "%s (%s): still open after "
		    "%d ms", s->name, s->peer, RUN_MS);
		fprintf(stderr, "slowloris: %-12s closed %lld ms after its "
		    "deadline started\n", s->name, (long long)dt);
		ck_assert_msg(dt >= DEADLINE_MS - EARLY_MS &&
		    dt <= DEADLINE_MS + SLACK_MS, "%s: closed after %lld ms, "
		    "want %d..%d", s->name, (long long)dt,
		    DEADLINE_MS - EARLY_MS, DEADLINE_MS + SLACK_MS);
		if (s->reason == NULL)
			continue;
		snprintf(pat, sizeof(pat), ": warn: usbip %s: closing: %s",
		    s->peer, s->reason);
		ck_assert_msg(vtd_log_wait(&vtd, pat, 1, 2000), "no \"%s\"",
		    pat);
		snprintf(pat, sizeof(pat), "usbip %s: closing:", s->peer);
		ck_assert_int_eq(vtd_log_count(&vtd, pat), 1);
	}
}

/* A USB/IP client imported on busid whose fd is handed over as raw. */
static int
sl_imported_fd(const char *busid)
{
	struct usbip_client c;
	int fd;

	usbip_client_init(&c);
	ck_assert_msg(usbip_client_attach(&c, vtd.host, vtd.port, NULL,
	    busid) == 0, "%s", c.err);
	fd = c.fd;
	c.fd = -1;
	return fd;
}

/* One served request of the good USB/IP clients, timed. */
static void
sl_good_usbip(struct usbip_client *good, unsigned round)
{
	struct usbip_client dl;
	struct usbip_dev_info devs[4];
	uint8_t buf[8 * 512];
	uint32_t lba = (round * 37) % (GOOD_SECTORS - 8);
	size_t ndev = 0;
	int64_t t0 = monotime_ms();

	ck_assert_msg(usbip_client_read10(good, lba, 8, buf) == 0, "good: %s",
	    good->err);
	ck_assert_int_eq(vtd_pattern_check(1, lba, buf, 8), -1);
	if (round % 5 == 0) {
		usbip_client_init(&dl);
		ck_assert_msg(usbip_client_connect(&dl, vtd.host, vtd.port,
		    NULL) == 0 && usbip_client_devlist(&dl, devs, 4, &ndev) ==
		    0, "devlist: %s", dl.err);
		ck_assert_uint_eq(ndev, 3);
		usbip_client_close(&dl);
	}
	ck_assert_int_le(monotime_ms() - t0, GOOD_MS);
}

START_TEST(slowloris_usbip)
{
	static const char *const noreq = "no complete request within 2 s";
	static const char *const partial = "message incomplete for 2 s";
	struct usbip_client good;
	struct usbip_hdr h;
	uint8_t hdr[USBIP_HDR_SIZE];
	struct slow *s;
	unsigned round = 0;
	int64_t end, next_good;

	sl_start();
	usbip_client_init(&good);
	ck_assert_msg(usbip_client_attach(&good, vtd.host, vtd.port, NULL,
	    "1-1") == 0, "%s", good.err);
	/* Messages to trickle or cut. */
	memset(import_req, 0, sizeof(import_req));
	import_req[0] = 0x01;
	import_req[1] = 0x11;
	import_req[2] = 0x80;
	import_req[3] = 0x03;
	memcpy(import_req + USBIP_OP_COMMON_SIZE, "1-2", 3);
	memset(&h, 0, sizeof(h));
	h.command = USBIP_CMD_SUBMIT;
	h.seqnum = 1;
	h.devid = 1 << 16 | 3;
	h.direction = USBIP_DIR_OUT;
	h.ep = USBIP_CLIENT_EP_OUT;
	h.u.submit.length = 512;
	usbip_hdr_put(out_urb, &h);
	memset(out_urb + USBIP_HDR_SIZE, 0x5a, 512);
	/* The slow ones. */
	sl_raw("silent", vtd.port, NULL, 0, noreq);
	sl_raw("half_op", vtd.port, (const char *)import_req, 4, noreq);
	s = sl_raw("trickle_op", vtd.port, NULL, 0, noreq);
	sl_set_trickle(s, import_req, sizeof(import_req), 300);
	s = sl_add("half_hdr", sl_imported_fd("1-2"), partial);
	h.devid = 1 << 16 | 2;
	h.direction = USBIP_DIR_IN;
	h.ep = 0;
	h.u.submit.length = 18;
	usbip_hdr_put(hdr, &h);
	ck_assert_int_eq(fu_send(s->fd, hdr, 20), 0);
	s->start_ms = monotime_ms();
	s = sl_add("trickle_urb", sl_imported_fd("1-3"), partial);
	sl_set_trickle(s, out_urb, sizeof(out_urb), 200);
	/* Poll them while the good clients keep working. */
	end = monotime_ms() + RUN_MS;
	next_good = monotime_ms();
	while (monotime_ms() < end) {
		if (sl_poll(20) == 0)
			break;
		sl_trickle(&slows[2], false);
		sl_trickle(&slows[4], true);
		if (monotime_ms() >= next_good) {
			sl_good_usbip(&good, round++);
			next_good += 100;
		}
	}
	sl_check_closed();
	ck_assert_uint_ge(round, 15);
	sl_good_usbip(&good, round);
	usbip_client_close(&good);
	ck_assert_int_eq(vtd_log_count(&vtd, "closing:"), (int)nslow);
	ck_assert_int_eq(vtd_stop(&vtd), 0);
}
END_TEST

START_TEST(slowloris_api)
{
	static const char half_headers[] =
	    "GET /healthz HTTP/1.1\r\nHost: vtokend\r\n";
	/*
	 * With a valid key: a body on a keyed route without one is refused
	 * before it is read (api_gate.h), so only an authenticated client
	 * can start one and stall.
	 */
	char part_body[512];
	/* A byte every 300 ms: never silent long enough for evhttp's own
	 * timeout; only the per-request deadline (api_guard) ends it. */
	static const char trickle_req[] =
	    "GET /healthz HTTP/1.1\r\nHost: vtokend\r\nX-Pad: "
	    "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa\r\n\r\n";
	unsigned round = 0;
	int64_t end, next_good, t0;
	struct slow *tr;

	sl_start();
	snprintf(part_body, sizeof(part_body), "POST /v1/tokens HTTP/1.1\r\n"
	    "Host: vtokend\r\nAuthorization: Bearer %s\r\n"
	    "Content-Type: application/json\r\nContent-Length: 100\r\n\r\n"
	    "{\"na", vt_admin_key(&vtd));
	sl_raw("silent", vtd.api_port, NULL, 0, NULL);
	sl_raw("half_line", vtd.api_port, "GET /heal", 9, NULL);
	sl_raw("half_headers", vtd.api_port, half_headers,
	    sizeof(half_headers) - 1, NULL);
	sl_raw("part_body", vtd.api_port, part_body, strlen(part_body), NULL);
	tr = sl_raw("trickle_http", vtd.api_port, NULL, 0, NULL);
	sl_set_trickle(tr, (const uint8_t *)trickle_req,
	    sizeof(trickle_req) - 1, 300);
	end = monotime_ms() + RUN_MS;
	next_good = monotime_ms();
	while (monotime_ms() < end) {
		if (sl_poll(20) == 0)
			break;
		sl_trickle(tr, true);
		if (monotime_ms() >= next_good) {
			t0 = monotime_ms();
			ck_assert_int_eq(fu_http_status(vtd.host, vtd.api_port,
			    "/healthz", 2000), 200);
			ck_assert_int_le(monotime_ms() - t0, GOOD_MS);
			round++;
			next_good += 100;
		}
	}
	sl_check_closed();
	ck_assert_uint_ge(round, 15);
	ck_assert_int_eq(fu_http_status(vtd.host, vtd.api_port, "/healthz",
	    2000), 200);
	ck_assert_int_eq(vtd_stop(&vtd), 0);
}
END_TEST

/*
 * The API on TLS: a handshake trickled a byte every 300 ms never puts a
 * decrypted byte in the input buffer, so the deadline runs from the
 * accept; a silent TLS client too.  A real client still gets answers.
 */
START_TEST(slowloris_api_tls)
{
	/* A TLS record header announcing 512 bytes, then padding. */
	static uint8_t hello[64] = { 0x16, 0x03, 0x01, 0x02, 0x00, 0x01 };
	char url[128];
	int64_t end;
	struct slow *tr;

	sl_start_tls(true);
	sl_raw("tls_silent", vtd.api_port, NULL, 0, NULL);
	tr = sl_raw("tls_trickle", vtd.api_port, NULL, 0, NULL);
	sl_set_trickle(tr, hello, sizeof(hello), 300);
	end = monotime_ms() + RUN_MS;
	while (monotime_ms() < end) {
		if (sl_poll(20) == 0)
			break;
		sl_trickle(tr, false);
	}
	sl_check_closed();
	ck_assert_uint_lt(tr->tpos, sizeof(hello));	/* cut mid-record */
	snprintf(url, sizeof(url), "https://127.0.0.1:%u/healthz",
	    vtd.api_port);
	ck_assert_msg(fu_sh("curl -sfk --max-time 5 -o /dev/null '%s'",
	    url) == 0, "a real TLS client got no answer");
	ck_assert_int_eq(vtd_stop(&vtd), 0);
}
END_TEST

static Suite *
slowloris_suite(void)
{
	Suite *s = suite_create("slowloris");
	TCase *tc = tcase_create("slowloris");

	tcase_add_checked_fixture(tc, NULL, sl_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, slowloris_usbip);
	tcase_add_test(tc, slowloris_api);
	tcase_add_test(tc, slowloris_api_tls);
	suite_add_tcase(s, tc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(slowloris_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? 0 : 1;
}
