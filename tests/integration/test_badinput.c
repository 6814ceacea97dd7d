/*
 * test_badinput: the bad-input checklist (docs/PROTOCOL.md, "Bad input",
 * items 1-29) against the real vtokend over loopback, one test per item.
 *
 * Every test starts a daemon serving three pattern images:
 *   1-1 good.img (read-only, seed 1): imported by the "good" client from
 *       127.0.0.1 before anything bad happens;
 *   1-2 bad.img (read-write, 2 MiB, seed 2): for the misbehaving client,
 *       which connects from 127.0.0.2 (another VM);
 *   1-3 ro.img (read-only, seed 3).
 * Whenever the server must close the bad connection, expect_bad_close()
 * checks the close, the one warn line "usbip PEER: closing: REASON" for
 * exactly that peer, and that the good client still reads correct data.
 * bi_finish() then checks that no other connection was closed for bad
 * input, that the daemon reported no sanitizer error, and exits 0.
 *
 * Item 30 (internal allocation or I/O failure) cannot be provoked from
 * the wire and is left to unit tests.
 */
#include <check.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/monotime.h"
#include "../lib/usbip_client.h"
#include "../lib/vtd_spawn.h"

#define GOOD_SECTORS	512
#define BAD_SECTORS	4096
#define RO_SECTORS	256
#define BAD_SRC		"127.0.0.2"
#define CLOSE_MS	5000

/* Short deadlines for items 2 and 23. */
#define CFG_SHORT \
	"usbip:\n" \
	"  handshake_timeout: 1\n" \
	"  pdu_timeout: 1\n" \
	"  tx_timeout: 1\n"

/*
 * Item 23: a tx deadline longer than the PDU deadline, so that requests
 * parked by back-pressure cannot be mistaken for an incomplete message.
 */
#define CFG_TX \
	"usbip:\n" \
	"  pdu_timeout: 1\n" \
	"  tx_timeout: 2\n"

static struct vtd vtd;
static struct usbip_client good;
static int closes;		/* "closing:" lines expected so far */
/*
 * Local addresses of the connections closed so far in this test: the
 * kernel may hand a later connection the same ephemeral port, and its
 * close line then matches the earlier one's pattern too.
 */
static char closed_from[256][64];
static int nclosed_from;
static uint32_t good_lba;

static void
bi_teardown(void)
{
	usbip_client_close(&good);
	vtd_cleanup(&vtd);
}

/* The good client reads 8 blocks of 1-1 and checks them. */
static void
good_check(void)
{
	uint8_t buf[8 * 512];

	good_lba = (good_lba + 37) % (GOOD_SECTORS - 8);
	ck_assert_msg(usbip_client_read10(&good, good_lba, 8, buf) == 0,
	    "good client: %s", good.err);
	ck_assert_int_eq(vtd_pattern_check(1, good_lba, buf, 8), -1);
}

/* Starts the daemon (config yaml may be NULL) and the good client. */
static void
bi_start(const char *yaml)
{
	char img[3][512], cfg[512], spec_rw[600];
	const char *args[10];
	size_t n = 0;

	ck_assert_msg(vtd_init(&vtd) == 0, "%s", vtd.err);
	vtd_path(&vtd, "good.img", img[0], sizeof(img[0]));
	vtd_path(&vtd, "bad.img", img[1], sizeof(img[1]));
	vtd_path(&vtd, "ro.img", img[2], sizeof(img[2]));
	ck_assert_int_eq(vtd_make_pattern_image(img[0], GOOD_SECTORS, 1), 0);
	ck_assert_int_eq(vtd_make_pattern_image(img[1], BAD_SECTORS, 2), 0);
	ck_assert_int_eq(vtd_make_pattern_image(img[2], RO_SECTORS, 3), 0);
	snprintf(spec_rw, sizeof(spec_rw), "%s:rw", img[1]);
	if (yaml != NULL) {
		ck_assert_int_eq(vtd_write_file(&vtd, "vtokend.yaml", yaml), 0);
		args[n++] = "-c";
		args[n++] = vtd_path(&vtd, "vtokend.yaml", cfg, sizeof(cfg));
	}
	args[n++] = "--serve-image";
	args[n++] = img[0];
	args[n++] = "--serve-image";
	args[n++] = spec_rw;
	args[n++] = "--serve-image";
	args[n++] = img[2];
	args[n] = NULL;
	ck_assert_msg(vtd_start(&vtd, args) == 0, "%s", vtd.err);
	closes = 0;
	nclosed_from = 0;
	good_lba = 0;
	usbip_client_init(&good);
	ck_assert_msg(usbip_client_attach(&good, vtd.host, vtd.port, NULL,
	    "1-1") == 0, "good client: %s", good.err);
	good_check();
}

/* Ends a test: the good client works, nothing else closed, clean exit. */
static void
bi_finish(void)
{
	good_check();
	ck_assert_int_eq(vtd_log_count(&vtd, "closing:"), closes);
	usbip_client_close(&good);
	ck_assert_int_eq(vtd_log_count(&vtd, "Sanitizer"), 0);
	ck_assert_int_eq(vtd_log_count(&vtd, "runtime error"), 0);
	ck_assert_int_eq(vtd_stop(&vtd), 0);
}

static void
bad_connect(struct usbip_client *c, const char *src)
{
	struct usbip_client_opts o = { .src_addr = src ? src : BAD_SRC };

	usbip_client_init(c);
	ck_assert_msg(usbip_client_connect(c, vtd.host, vtd.port, &o) == 0,
	    "%s", c->err);
}

/*
 * Imports busid from BAD_SRC, retrying while an earlier session on it is
 * still being torn down; with configure, also enumerates.
 */
static void
bad_import_busid(struct usbip_client *c, const char *busid, bool configure)
{
	uint32_t st = USBIP_ST_DEV_BUSY;

	for (int i = 0; i < 200 && st == USBIP_ST_DEV_BUSY; i++) {
		if (i > 0)
			usleep(10000);
		bad_connect(c, NULL);
		ck_assert_msg(usbip_client_import(c, busid, &st, NULL) == 0,
		    "%s", c->err);
		if (st == USBIP_ST_DEV_BUSY)
			usbip_client_close(c);
	}
	ck_assert_uint_eq(st, USBIP_ST_OK);
	if (configure)
		ck_assert_msg(usbip_client_enumerate(c) == 0, "%s", c->err);
}

static void
bad_import(struct usbip_client *c, bool configure)
{
	bad_import_busid(c, "1-2", configure);
}

/* Counts earlier closes from local and remembers this one. */
static int
closed_before(const char *local)
{
	int i, n = 0;

	for (i = 0; i < nclosed_from; i++)
		if (strcmp(closed_from[i], local) == 0)
			n++;
	ck_assert_int_lt(nclosed_from, 256);
	snprintf(closed_from[nclosed_from++], sizeof(closed_from[0]), "%s",
	    local);
	return n;
}

/*
 * The server must close c after sending exactly `reply` more bytes, log
 * one warn line "usbip PEER: closing: <reason>..." for it and no other,
 * and keep serving the good client.
 */
static void
expect_bad_close(struct usbip_client *c, size_t reply, const char *reason)
{
	char local[64], pat[256], line[512];
	size_t n = 0;
	int before;

	ck_assert(usbip_client_local_addr(c, local, sizeof(local)) == 0);
	ck_assert_msg(usbip_client_expect_closed(c, CLOSE_MS, &n), "%s (%s)",
	    c->err, reason);
	ck_assert_uint_eq(n, reply);
	usbip_client_close(c);
	closes++;
	before = closed_before(local);
	snprintf(pat, sizeof(pat), "usbip %s: closing:", local);
	ck_assert_msg(vtd_log_wait(&vtd, pat, before + 1, 3000), "no log "
	    "line \"%s\"", pat);
	ck_assert_int_eq(vtd_log_count(&vtd, pat), before + 1);
	/* The newest line from this address is a warning with the reason. */
	ck_assert(vtd_log_last(&vtd, pat, line, sizeof(line)));
	snprintf(pat, sizeof(pat), ": warn: usbip %s: closing: %s", local,
	    reason);
	ck_assert_msg(strstr(line, pat) != NULL, "\"%s\" lacks \"%s\"",
	    line, pat);
	ck_assert_int_eq(vtd_log_count(&vtd, "closing:"), closes);
	good_check();
}

/* The server must close c without a warn line (an ordinary close). */
static void
expect_plain_close(struct usbip_client *c, size_t reply)
{
	size_t n = 0;

	ck_assert_msg(usbip_client_expect_closed(c, CLOSE_MS, &n), "%s",
	    c->err);
	ck_assert_uint_eq(n, reply);
	usbip_client_close(c);
	ck_assert_int_eq(vtd_log_count(&vtd, "closing:"), closes);
}

/* The connection stays open and the server sends nothing. */
static void
expect_open(struct usbip_client *c)
{
	ck_assert_msg(usbip_client_expect_quiet(c, 150), "%s", c->err);
}

/* Sends a CMD_SUBMIT; returns its seqnum. */
static uint32_t
submit(struct usbip_client *c, uint32_t ep, uint32_t dir, uint32_t len,
    const uint8_t setup[8], const void *payload, size_t plen)
{
	struct usbip_hdr h;

	usbip_client_hdr_submit(c, &h, ep, dir, len);
	if (setup != NULL)
		memcpy(h.u.submit.setup, setup, 8);
	ck_assert_msg(usbip_client_send_hdr(c, &h, payload, plen) == 0, "%s",
	    c->err);
	return h.seqnum;
}

/* Waits for the RET_SUBMIT of seq; returns its status. */
static int32_t
ret_of(struct usbip_client *c, uint32_t seq, uint32_t *actual, void *buf,
    size_t cap)
{
	struct usbip_ret r;

	ck_assert_msg(usbip_client_wait(c, seq, &r, buf, cap) == 0, "%s",
	    c->err);
	ck_assert_uint_eq(r.hdr.command, USBIP_RET_SUBMIT);
	if (actual != NULL)
		*actual = r.hdr.u.ret_submit.actual;
	return r.hdr.u.ret_submit.status;
}

static void
setup_pkt(uint8_t s[8], uint8_t type, uint8_t req, uint16_t value,
    uint16_t index, uint16_t length)
{
	s[0] = type;
	s[1] = req;
	put_le16(s + 2, value);
	put_le16(s + 4, index);
	put_le16(s + 6, length);
}

/* GET_DESCRIPTOR(DEVICE, 18) must work: the stream is still in sync. */
static void
expect_in_sync(struct usbip_client *c)
{
	uint8_t d[18];
	int32_t st;
	uint32_t n;

	ck_assert_msg(usbip_client_control(c, 0x80, 6, 0x0100, 0, d, 18, &st,
	    &n) == 0, "%s", c->err);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(d[1], 1);
}

static void
expect_sense(struct usbip_client *c, uint8_t key, uint8_t asc, uint8_t ascq)
{
	uint8_t k = 0xff, a = 0xff, q = 0xff;

	ck_assert_msg(usbip_client_request_sense(c, &k, &a, &q) == 0, "%s",
	    c->err);
	ck_assert_uint_eq(k, key);
	ck_assert_uint_eq(a, asc);
	ck_assert_uint_eq(q, ascq);
}

static void
expect_inquiry_ok(struct usbip_client *c)
{
	uint8_t inq[36];

	ck_assert_msg(usbip_client_inquiry(c, inq) == 0, "%s", c->err);
	ck_assert_uint_eq(inq[0], 0);
}

/* --- op phase ------------------------------------------------------------ */

START_TEST(item01_eof_truncated)
{
	struct usbip_client c;
	uint8_t op[12] = { 0x01, 0x11, 0x80, 0x03, 0, 0, 0, 0, '1', '-' };
	uint8_t hdr[USBIP_HDR_SIZE], pay[100];
	struct usbip_hdr h;

	bi_start(NULL);
	/* Half an op_common, then end of stream. */
	bad_connect(&c, NULL);
	ck_assert(usbip_client_send(&c, op, 4) == 0);
	ck_assert(usbip_client_shutdown(&c) == 0);
	expect_bad_close(&c, 0, "connection closed mid-message (4 bytes");
	/* OP_REQ_IMPORT with 2 of 32 busid bytes. */
	bad_connect(&c, NULL);
	ck_assert(usbip_client_send(&c, op, 10) == 0);
	ck_assert(usbip_client_shutdown(&c) == 0);
	expect_bad_close(&c, 0, "connection closed mid-message (10 bytes");
	/* 20 bytes of a usbip_header. */
	bad_import(&c, true);
	usbip_client_hdr_submit(&c, &h, 0, USBIP_DIR_IN, 18);
	usbip_hdr_put(hdr, &h);
	ck_assert(usbip_client_send(&c, hdr, 20) == 0);
	ck_assert(usbip_client_shutdown(&c) == 0);
	expect_bad_close(&c, 0, "connection closed mid-message (20 bytes");
	/* A bulk OUT header and 100 of its 512 payload bytes. */
	bad_import(&c, true);
	usbip_client_hdr_submit(&c, &h, 2, USBIP_DIR_OUT, 512);
	memset(pay, 0xa5, sizeof(pay));
	ck_assert(usbip_client_send_hdr(&c, &h, pay, sizeof(pay)) == 0);
	ck_assert(usbip_client_shutdown(&c) == 0);
	expect_bad_close(&c, 0, "connection closed mid-message (148 bytes");
	/*
	 * A clean end of stream with IN URBs pending: no warning, the device
	 * is released and the pending URBs are dropped (the next session's
	 * INQUIRY would otherwise feed them).
	 */
	bad_import(&c, true);
	for (int i = 0; i < 3; i++)
		submit(&c, 1, USBIP_DIR_IN, 512, NULL, NULL, 0);
	expect_open(&c);
	ck_assert(usbip_client_shutdown(&c) == 0);
	expect_plain_close(&c, 0);
	bad_import(&c, true);
	expect_inquiry_ok(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

START_TEST(item02_slowloris_handshake)
{
	struct usbip_client c;
	uint8_t op[4] = { 0x01, 0x11, 0x80, 0x05 };
	int64_t t0, dt;

	bi_start(CFG_SHORT);
	/* Silent after connect. */
	bad_connect(&c, NULL);
	t0 = monotime_ms();
	expect_open(&c);
	expect_bad_close(&c, 0, "no complete request within 1 s");
	dt = monotime_ms() - t0;
	ck_assert_int_ge(dt, 900);
	ck_assert_int_le(dt, 4000);
	/* Half an op_common, then silence. */
	bad_connect(&c, NULL);
	t0 = monotime_ms();
	ck_assert(usbip_client_send(&c, op, sizeof(op)) == 0);
	expect_open(&c);
	expect_bad_close(&c, 0, "no complete request within 1 s");
	dt = monotime_ms() - t0;
	ck_assert_int_ge(dt, 900);
	ck_assert_int_le(dt, 4000);
	/* The idle good client (well past 1 s) was never at risk. */
	bi_finish();
}
END_TEST

START_TEST(item02_slowloris_pdu)
{
	struct usbip_client c;
	struct usbip_hdr h;
	uint8_t hdr[USBIP_HDR_SIZE], pay[100];
	int64_t t0, dt;
	int i;

	bi_start(CFG_SHORT);
	/* 20 bytes of a header, then silence. */
	bad_import(&c, true);
	usbip_client_hdr_submit(&c, &h, 0, USBIP_DIR_IN, 18);
	usbip_hdr_put(hdr, &h);
	t0 = monotime_ms();
	ck_assert(usbip_client_send(&c, hdr, 20) == 0);
	expect_open(&c);
	expect_bad_close(&c, 0, "message incomplete for");
	dt = monotime_ms() - t0;
	ck_assert_int_ge(dt, 900);
	ck_assert_int_le(dt, 4000);
	/* A whole header and part of its OUT payload. */
	bad_import(&c, true);
	usbip_client_hdr_submit(&c, &h, 2, USBIP_DIR_OUT, 4096);
	memset(pay, 0, sizeof(pay));
	t0 = monotime_ms();
	ck_assert(usbip_client_send_hdr(&c, &h, pay, sizeof(pay)) == 0);
	expect_open(&c);
	expect_bad_close(&c, 0, "message incomplete for");
	dt = monotime_ms() - t0;
	ck_assert_int_ge(dt, 900);
	ck_assert_int_le(dt, 4000);
	/* Trickling a byte every 150 ms does not extend the deadline. */
	bad_import(&c, true);
	usbip_client_hdr_submit(&c, &h, 0, USBIP_DIR_IN, 18);
	usbip_hdr_put(hdr, &h);
	t0 = monotime_ms();
	for (i = 0; i < USBIP_HDR_SIZE - 1; i++) {
		if (usbip_client_send(&c, hdr + i, 1) < 0)
			break;
		if (!usbip_client_expect_quiet(&c, 150))
			break;
	}
	ck_assert_int_lt(i, USBIP_HDR_SIZE - 1);
	expect_bad_close(&c, 0, "message incomplete for");
	dt = monotime_ms() - t0;
	ck_assert_int_le(dt, 4000);
	bi_finish();
}
END_TEST

START_TEST(item03_bad_version)
{
	static const uint16_t versions[] = { 0x0000, 0x0110, 0x0112, 0x1101,
	    0xffff };
	struct usbip_client c;

	bi_start(NULL);
	for (size_t i = 0; i < sizeof(versions) / sizeof(versions[0]); i++) {
		bad_connect(&c, NULL);
		ck_assert(usbip_client_send_op(&c, versions[i],
		    USBIP_OP_REQ_DEVLIST, 0) == 0);
		expect_bad_close(&c, 0, "unsupported USB/IP version");
	}
	bi_finish();
}
END_TEST

START_TEST(item04_request_status)
{
	struct usbip_client c;
	uint8_t req[USBIP_IMPORT_REQ_SIZE] = { 0x01, 0x11, 0x80, 0x03,
	    0x80, 0, 0, 0, '1', '-', '2' };

	bi_start(NULL);
	bad_connect(&c, NULL);
	ck_assert(usbip_client_send_op(&c, USBIP_VERSION,
	    USBIP_OP_REQ_DEVLIST, 1) == 0);
	expect_bad_close(&c, 0, "request status 1 is not 0");
	bad_connect(&c, NULL);
	ck_assert(usbip_client_send(&c, req, sizeof(req)) == 0);
	expect_bad_close(&c, 0, "request status 2147483648 is not 0");
	/* The device was not imported by the refused request. */
	bad_import(&c, true);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

START_TEST(item05_unknown_op)
{
	static const uint16_t codes[] = { 0x8002, 0x8004, 0x8006, 0x8007,
	    0x0005, 0x0003, 0x0000, 0x8000, 0xffff };
	struct usbip_client c;
	struct usbip_hdr h;
	uint8_t hdr[USBIP_HDR_SIZE];

	bi_start(NULL);
	for (size_t i = 0; i < sizeof(codes) / sizeof(codes[0]); i++) {
		bad_connect(&c, NULL);
		ck_assert(usbip_client_send_op(&c, USBIP_VERSION, codes[i],
		    0) == 0);
		expect_bad_close(&c, 0, "unsupported op code");
	}
	/* A usbip_header before any import. */
	bad_connect(&c, NULL);
	memset(&h, 0, sizeof(h));
	h.command = USBIP_CMD_SUBMIT;
	h.seqnum = 1;
	h.devid = 0x00010002;
	h.direction = USBIP_DIR_IN;
	h.u.submit.length = 18;
	usbip_hdr_put(hdr, &h);
	ck_assert(usbip_client_send(&c, hdr, sizeof(hdr)) == 0);
	expect_bad_close(&c, 0, "unsupported USB/IP version 0x0000");
	bi_finish();
}
END_TEST

START_TEST(item06_unknown_busid)
{
	static const char *const busids[] = { "1-9", "2-1", "1-1x", "1-",
	    "", "0123456789abcdef0123456789abcdef" };
	struct usbip_client c;
	uint32_t st;

	bi_start(NULL);
	for (size_t i = 0; i < sizeof(busids) / sizeof(busids[0]); i++) {
		bad_connect(&c, NULL);
		ck_assert_msg(usbip_client_import(&c, busids[i], &st, NULL) ==
		    0, "%s", c.err);
		ck_assert_uint_eq(st, USBIP_ST_NODEV);
		/* Exactly the 8-byte op_common, then close. */
		expect_plain_close(&c, 0);
	}
	ck_assert_int_eq(vtd_log_count(&vtd, "refused: no such device"), 4);
	ck_assert_int_eq(vtd_log_count(&vtd,
	    "refused: busid not NUL-terminated"), 2);
	bi_finish();
}
END_TEST

START_TEST(item07_import_busy)
{
	struct usbip_client c;
	uint32_t st;

	bi_start(NULL);
	/* 1-1 belongs to the good client, also from its own address. */
	for (int i = 0; i < 2; i++) {
		bad_connect(&c, i == 0 ? NULL : "127.0.0.1");
		ck_assert(usbip_client_import(&c, "1-1", &st, NULL) == 0);
		ck_assert_uint_eq(st, USBIP_ST_DEV_BUSY);
		expect_plain_close(&c, 0);
	}
	ck_assert_int_eq(vtd_log_count(&vtd, "refused: already attached"), 2);
	bi_finish();
}
END_TEST

START_TEST(item08_devlist_then_close)
{
	struct usbip_client c;
	struct usbip_dev_info d[4];
	size_t n = 0;
	uint8_t two[16] = { 0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0,
	    0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0 };
	uint8_t hdr[12];

	bi_start(NULL);
	bad_connect(&c, NULL);
	ck_assert_msg(usbip_client_devlist(&c, d, 4, &n) == 0, "%s", c.err);
	ck_assert_uint_eq(n, 3);
	ck_assert_str_eq(d[0].busid, "1-1");
	expect_plain_close(&c, 0);
	/* Two requests in one write: one reply, then close. */
	bad_connect(&c, NULL);
	ck_assert(usbip_client_send(&c, two, sizeof(two)) == 0);
	ck_assert(usbip_client_recv(&c, hdr, sizeof(hdr), NULL) == 0);
	ck_assert_uint_eq(get_be32(hdr + 8), 3);
	expect_plain_close(&c, 3 * (USBIP_DEV_SIZE + USBIP_IFACE_SIZE));
	ck_assert_int_eq(vtd_log_count(&vtd, "device list: 3 device(s)"), 2);
	bi_finish();
}
END_TEST

#define CFG_LIMITS \
	"usbip:\n" \
	"  max_sessions: 4\n" \
	"  max_per_peer: 2\n" \
	"  vm_reserve: 0\n"

/* A connection the server must refuse at accept: one warn line. */
static void
expect_refused(const char *src)
{
	struct usbip_client c;
	char local[64], pat[256];
	size_t n = 0;

	bad_connect(&c, src);
	ck_assert(usbip_client_local_addr(&c, local, sizeof(local)) == 0);
	ck_assert_msg(usbip_client_expect_closed(&c, CLOSE_MS, &n), "%s",
	    c.err);
	ck_assert_uint_eq(n, 0);
	usbip_client_close(&c);
	snprintf(pat, sizeof(pat), ": warn: usbip %s: refused: connection "
	    "limit reached (4 total, 2 per peer)", local);
	ck_assert_msg(vtd_log_wait(&vtd, pat, 1, 3000), "no \"%s\"", pat);
	ck_assert_int_eq(vtd_log_count(&vtd, pat), 1);
	good_check();
}

START_TEST(item09_connection_limits)
{
	struct usbip_client a, b, c, d;
	struct usbip_dev_info devs[4];
	size_t n = 0;

	bi_start(CFG_LIMITS);
	/* Good client + two from VM 2: VM 2 is at its per-peer limit. */
	bad_connect(&a, NULL);
	bad_connect(&b, NULL);
	expect_refused(NULL);
	expect_open(&a);
	expect_open(&b);
	/* VM 3 still gets in: 4 connections in all. */
	bad_connect(&c, "127.0.0.3");
	expect_open(&c);
	/* The global limit now refuses VM 4. */
	expect_refused("127.0.0.4");
	ck_assert_int_eq(vtd_log_count(&vtd, "refused: connection limit"), 2);
	/*
	 * A slot freed by a close is usable again.  A DEVLIST makes the
	 * server close a itself: at our end of stream the slot is free.
	 */
	ck_assert_msg(usbip_client_devlist(&a, devs, 4, &n) == 0, "%s", a.err);
	expect_plain_close(&a, 0);
	bad_connect(&d, "127.0.0.4");
	ck_assert_msg(usbip_client_devlist(&d, devs, 4, &n) == 0, "%s", d.err);
	ck_assert_uint_eq(n, 3);
	usbip_client_close(&d);
	usbip_client_close(&b);
	usbip_client_close(&c);
	ck_assert_int_eq(vtd_log_count(&vtd, "refused: connection limit"), 2);
	bi_finish();
}
END_TEST

/* --- URB phase: framing -------------------------------------------------- */

START_TEST(item10_bad_command)
{
	static const uint32_t cmds[] = { USBIP_RET_SUBMIT, USBIP_RET_UNLINK,
	    0, 5, 0x01118003, 0xffffffff };
	struct usbip_client c;
	uint8_t hdr[USBIP_HDR_SIZE];

	bi_start(NULL);
	for (size_t i = 0; i < sizeof(cmds) / sizeof(cmds[0]); i++) {
		bad_import(&c, true);
		memset(hdr, 0, sizeof(hdr));
		put_be32(hdr, cmds[i]);
		put_be32(hdr + 4, usbip_client_seqnum(&c));
		put_be32(hdr + 8, c.devid);
		ck_assert(usbip_client_send(&c, hdr, sizeof(hdr)) == 0);
		expect_bad_close(&c, 0, "unexpected command");
	}
	bi_finish();
}
END_TEST

START_TEST(item11_wrong_devid)
{
	static const uint32_t devids[] = { 0x00010001, 0x00010003, 0,
	    0x00020002, 0xffffffff };
	struct usbip_client c;
	struct usbip_hdr h;
	uint8_t s[8];

	bi_start(NULL);
	setup_pkt(s, 0x80, 6, 0x0100, 0, 18);
	for (size_t i = 0; i < sizeof(devids) / sizeof(devids[0]); i++) {
		bad_import(&c, false);
		usbip_client_hdr_submit(&c, &h, 0, USBIP_DIR_IN, 18);
		memcpy(h.u.submit.setup, s, 8);
		h.devid = devids[i];
		ck_assert(usbip_client_send_hdr(&c, &h, NULL, 0) == 0);
		expect_bad_close(&c, 0, "devid");
	}
	/* CMD_UNLINK is checked too. */
	bad_import(&c, false);
	memset(&h, 0, sizeof(h));
	h.command = USBIP_CMD_UNLINK;
	h.seqnum = usbip_client_seqnum(&c);
	h.devid = 0x00010001;
	h.u.unlink.seqnum = 1;
	ck_assert(usbip_client_send_hdr(&c, &h, NULL, 0) == 0);
	expect_bad_close(&c, 0, "devid 0x00010001 is not the imported "
	    "0x00010002");
	bi_finish();
}
END_TEST

START_TEST(item12_bad_direction_ep)
{
	struct { uint32_t ep, dir; } cases[] = {
		{ 16, USBIP_DIR_IN }, { 0x81, USBIP_DIR_IN },
		{ 0xffffffff, USBIP_DIR_OUT }, { 0, 2 }, { 1, 2 },
		{ 2, 0xffffffff },
	};
	struct usbip_client c;

	bi_start(NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad_import(&c, true);
		submit(&c, cases[i].ep, cases[i].dir, 0, NULL, NULL, 0);
		expect_bad_close(&c, 0, "bad direction");
	}
	bi_finish();
}
END_TEST

START_TEST(item13_no_such_endpoint)
{
	struct { uint32_t ep, dir; const char *why; } cases[] = {
		{ 3, USBIP_DIR_IN, "no endpoint 3 IN" },
		{ 3, USBIP_DIR_OUT, "no endpoint 3 OUT" },
		{ 1, USBIP_DIR_OUT, "no endpoint 1 OUT" },
		{ 2, USBIP_DIR_IN, "no endpoint 2 IN" },
		{ 15, USBIP_DIR_IN, "no endpoint 15 IN" },
	};
	struct usbip_client c;

	bi_start(NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad_import(&c, true);
		/* An OUT header whose payload never comes: closed at once. */
		submit(&c, cases[i].ep, cases[i].dir, 512, NULL, NULL, 0);
		expect_bad_close(&c, 0, cases[i].why);
	}
	bi_finish();
}
END_TEST

START_TEST(item14_bulk_unconfigured)
{
	struct usbip_client c;
	uint8_t cbw[MSC_CBW_LEN], big[4096];
	const uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint32_t seq, n = 99;

	bi_start(NULL);
	bad_import(&c, false);
	usbip_client_cbw(&c, cbw, 0, 36, true, 0, inq, 6);
	seq = submit(&c, 2, USBIP_DIR_OUT, sizeof(cbw), NULL, cbw,
	    sizeof(cbw));
	ck_assert_int_eq(ret_of(&c, seq, &n, NULL, 0), USBIP_EPIPE);
	ck_assert_uint_eq(n, 0);
	memset(big, 0x5a, sizeof(big));
	seq = submit(&c, 2, USBIP_DIR_OUT, sizeof(big), NULL, big,
	    sizeof(big));
	ck_assert_int_eq(ret_of(&c, seq, &n, NULL, 0), USBIP_EPIPE);
	ck_assert_uint_eq(n, 0);
	seq = submit(&c, 1, USBIP_DIR_IN, 512, NULL, NULL, 0);
	ck_assert_int_eq(ret_of(&c, seq, &n, NULL, 0), USBIP_EPIPE);
	ck_assert_uint_eq(n, 0);
	/* The OUT payloads were consumed: the stream is in sync. */
	expect_in_sync(&c);
	ck_assert(usbip_client_enumerate(&c) == 0);
	expect_inquiry_ok(&c);
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

START_TEST(item15_length_caps)
{
	struct { uint32_t ep, dir, len; const char *why; } cases[] = {
		{ 1, USBIP_DIR_IN, 0x80000000u, "transfer_buffer_length "
		  "2147483648 over the 1048576-byte limit" },
		{ 1, USBIP_DIR_IN, 0xffffffffu, "transfer_buffer_length "
		  "4294967295 over the 1048576-byte limit" },
		{ 2, USBIP_DIR_OUT, (1u << 20) + 1, "transfer_buffer_length "
		  "1048577 over the 1048576-byte limit" },
		{ 2, USBIP_DIR_OUT, 0x80000000u, "transfer_buffer_length "
		  "2147483648 over" },
		{ 0, USBIP_DIR_IN, 65536, "transfer_buffer_length 65536 over "
		  "the 65535-byte limit" },
		{ 0, USBIP_DIR_OUT, 0x80000000u, "transfer_buffer_length "
		  "2147483648 over the 65535-byte limit" },
	};
	struct usbip_client c;
	uint8_t s[8], buf[64];
	uint32_t seq, un, n;
	struct usbip_ret r;

	bi_start(NULL);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		bad_import(&c, true);
		setup_pkt(s, 0x80, 6, 0x0100, 0, 0xffff);
		/* Header only: the server must not wait for the payload. */
		submit(&c, cases[i].ep, cases[i].dir, cases[i].len, s, NULL,
		    0);
		expect_bad_close(&c, 0, cases[i].why);
	}
	/* The limits themselves are accepted. */
	bad_import(&c, true);
	seq = submit(&c, 0, USBIP_DIR_IN, 65535, s, NULL, 0);
	ck_assert_int_eq(ret_of(&c, seq, &n, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(n, 18);
	seq = submit(&c, 1, USBIP_DIR_IN, 1u << 20, NULL, NULL, 0);
	expect_open(&c);
	ck_assert(usbip_client_unlink(&c, seq, &un) == 0);
	ck_assert(usbip_client_wait(&c, un, &r, NULL, 0) == 0);
	ck_assert_int_eq(r.hdr.u.ret_unlink.status, USBIP_ECONNRESET);
	expect_inquiry_ok(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

START_TEST(item16_control_mismatch)
{
	struct usbip_client c;
	uint8_t s[8], pay[64];
	uint32_t seq, n = 99;

	bi_start(NULL);
	bad_import(&c, true);
	memset(pay, 0x33, sizeof(pay));
	/* wLength 18, transfer_buffer_length 64. */
	setup_pkt(s, 0x80, 6, 0x0100, 0, 18);
	seq = submit(&c, 0, USBIP_DIR_IN, 64, s, NULL, 0);
	ck_assert_int_eq(ret_of(&c, seq, &n, pay, sizeof(pay)), USBIP_EPIPE);
	ck_assert_uint_eq(n, 0);
	/* IN request in an OUT URB with data: payload consumed. */
	seq = submit(&c, 0, USBIP_DIR_OUT, 18, s, pay, 18);
	ck_assert_int_eq(ret_of(&c, seq, &n, NULL, 0), USBIP_EPIPE);
	ck_assert_uint_eq(n, 0);
	/* OUT request in an IN URB with data. */
	setup_pkt(s, 0x00, 9, 1, 0, 64);
	seq = submit(&c, 0, USBIP_DIR_IN, 64, s, NULL, 0);
	ck_assert_int_eq(ret_of(&c, seq, &n, pay, sizeof(pay)), USBIP_EPIPE);
	ck_assert_uint_eq(n, 0);
	/* An OUT request with a data stage nobody implements. */
	setup_pkt(s, 0x00, 9, 1, 0, 64);
	seq = submit(&c, 0, USBIP_DIR_OUT, 64, s, pay, 64);
	ck_assert_int_eq(ret_of(&c, seq, &n, NULL, 0), USBIP_EPIPE);
	ck_assert_uint_eq(n, 0);
	/* wLength 0 vs 64 bytes of OUT payload. */
	setup_pkt(s, 0x00, 9, 1, 0, 0);
	seq = submit(&c, 0, USBIP_DIR_OUT, 64, s, pay, 64);
	ck_assert_int_eq(ret_of(&c, seq, &n, NULL, 0), USBIP_EPIPE);
	expect_in_sync(&c);
	expect_inquiry_ok(&c);
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

/* TEST UNIT READY whose CBW URB carries npackets. */
static void
tur_with_npackets(struct usbip_client *c, int32_t npackets)
{
	const uint8_t tur[6] = { 0 };
	uint8_t cbw[MSC_CBW_LEN];
	struct usbip_hdr h;
	struct usbip_ret r;
	struct usbip_csw csw;
	int32_t st;

	usbip_client_hdr_submit(c, &h, 2, USBIP_DIR_OUT, MSC_CBW_LEN);
	h.u.submit.npackets = npackets;
	usbip_client_cbw(c, cbw, 0, 0, false, 0, tur, 6);
	ck_assert(usbip_client_send_hdr(c, &h, cbw, sizeof(cbw)) == 0);
	ck_assert(usbip_client_wait(c, h.seqnum, &r, NULL, 0) == 0);
	ck_assert_int_eq(r.hdr.u.ret_submit.status, 0);
	ck_assert_uint_eq(r.hdr.u.ret_submit.actual, MSC_CBW_LEN);
	ck_assert(usbip_client_read_csw(c, &csw, &st) == 0);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(csw.status, 0);
}

START_TEST(item17_npackets_ignored)
{
	static const uint32_t np[] = { 0x12345678, 0xffffffff, 0x7fffffff,
	    1, 0x80000000 };
	struct usbip_client c;
	struct usbip_hdr h;
	struct usbip_ret r;
	uint8_t d[18];

	bi_start(NULL);
	bad_import(&c, true);
	for (size_t i = 0; i < sizeof(np) / sizeof(np[0]); i++) {
		usbip_client_hdr_submit(&c, &h, 0, USBIP_DIR_IN, 18);
		setup_pkt(h.u.submit.setup, 0x80, 6, 0x0100, 0, 18);
		h.u.submit.npackets = (int32_t)np[i];
		h.u.submit.start_frame = -5;
		h.u.submit.interval = 0x7fffffff;
		ck_assert(usbip_client_send_hdr(&c, &h, NULL, 0) == 0);
		ck_assert_msg(usbip_client_wait(&c, h.seqnum, &r, d,
		    sizeof(d)) == 0, "%s", c.err);
		ck_assert_int_eq(r.hdr.u.ret_submit.status, 0);
		ck_assert_uint_eq(r.hdr.u.ret_submit.actual, 18);
		ck_assert_uint_eq(d[1], 1);
		/* Non-ISO: 0 or 0xffffffff only; no ISO descriptors. */
		ck_assert(r.hdr.u.ret_submit.npackets == 0 ||
		    r.hdr.u.ret_submit.npackets == -1);
		ck_assert_int_eq(r.hdr.u.ret_submit.error_count, 0);
		ck_assert_int_eq(r.hdr.u.ret_submit.start_frame, 0);
	}
	/* A bulk OUT with garbage npackets: no descriptors are read. */
	tur_with_npackets(&c, 3);
	expect_inquiry_ok(&c);
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

/* READ(10) of 8 blocks at LBA 64 with garbage flags on every URB. */
static void
read_with_flags(struct usbip_client *c)
{
	uint8_t cbw[MSC_CBW_LEN], cdb[10] = { 0x28 }, csw[MSC_CSW_LEN];
	uint8_t buf[8 * 512];
	uint32_t seq, n = 0;

	put_be32(cdb + 2, 64);
	put_be16(cdb + 7, 8);
	usbip_client_cbw(c, cbw, 0, sizeof(buf), true, 0, cdb, 10);
	ck_assert(usbip_client_submit(c, 2, false, NULL, cbw, sizeof(cbw),
	    0xfff0fe00, &seq) == 0);
	ck_assert_int_eq(ret_of(c, seq, &n, NULL, 0), 0);
	ck_assert(usbip_client_submit(c, 1, true, NULL, NULL, sizeof(buf),
	    0x7ffffffe, &seq) == 0);
	ck_assert_int_eq(ret_of(c, seq, &n, buf, sizeof(buf)), 0);
	ck_assert_uint_eq(n, sizeof(buf));
	ck_assert_int_eq(vtd_pattern_check(2, 64, buf, 8), -1);
	ck_assert(usbip_client_submit(c, 1, true, NULL, NULL, MSC_CSW_LEN,
	    0x80000000, &seq) == 0);
	ck_assert_int_eq(ret_of(c, seq, &n, csw, sizeof(csw)), 0);
	ck_assert_uint_eq(n, MSC_CSW_LEN);
	ck_assert_uint_eq(csw[12], 0);
}

START_TEST(item18_unknown_flags)
{
	struct usbip_client c;
	uint8_t s[8], d[64];
	uint32_t seq, n = 0;

	bi_start(NULL);
	bad_import(&c, true);
	setup_pkt(s, 0x80, 6, 0x0100, 0, 64);
	/* Every bit but SHORT_NOT_OK: a short reply is status 0. */
	ck_assert(usbip_client_submit(&c, 0, true, s, NULL, 64, 0xfffffffe,
	    &seq) == 0);
	ck_assert_int_eq(ret_of(&c, seq, &n, d, sizeof(d)), 0);
	ck_assert_uint_eq(n, 18);
	/* SHORT_NOT_OK is honoured: -EREMOTEIO with the data. */
	ck_assert(usbip_client_submit(&c, 0, true, s, NULL, 64, 0x00000001,
	    &seq) == 0);
	ck_assert_int_eq(ret_of(&c, seq, &n, d, sizeof(d)), USBIP_EREMOTEIO);
	ck_assert_uint_eq(n, 18);
	ck_assert_uint_eq(d[0], 18);
	read_with_flags(&c);
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

START_TEST(item19_duplicate_seqnum)
{
	struct usbip_client c;
	struct usbip_hdr h;
	uint8_t s[8], d[18];
	uint32_t n;

	bi_start(NULL);
	bad_import(&c, true);
	/* Reusing the seqnum of an answered URB is fine. */
	setup_pkt(s, 0x80, 6, 0x0100, 0, 18);
	for (int i = 0; i < 2; i++) {
		usbip_client_hdr_submit(&c, &h, 0, USBIP_DIR_IN, 18);
		memcpy(h.u.submit.setup, s, 8);
		h.seqnum = 4242;
		ck_assert(usbip_client_send_hdr(&c, &h, NULL, 0) == 0);
		ck_assert_int_eq(ret_of(&c, 4242, &n, d, sizeof(d)), 0);
	}
	/* An outstanding one is not. */
	usbip_client_hdr_submit(&c, &h, 1, USBIP_DIR_IN, 512);
	h.seqnum = 777;
	ck_assert(usbip_client_send_hdr(&c, &h, NULL, 0) == 0);
	expect_open(&c);
	ck_assert(usbip_client_send_hdr(&c, &h, NULL, 0) == 0);
	expect_bad_close(&c, 0, "seqnum 777 is already outstanding");
	/* Also when the duplicate is a control URB. */
	bad_import(&c, true);
	usbip_client_hdr_submit(&c, &h, 1, USBIP_DIR_IN, 512);
	h.seqnum = 778;
	ck_assert(usbip_client_send_hdr(&c, &h, NULL, 0) == 0);
	usbip_client_hdr_submit(&c, &h, 0, USBIP_DIR_IN, 18);
	memcpy(h.u.submit.setup, s, 8);
	h.seqnum = 778;
	ck_assert(usbip_client_send_hdr(&c, &h, NULL, 0) == 0);
	expect_bad_close(&c, 0, "seqnum 778 is already outstanding");
	bi_finish();
}
END_TEST

START_TEST(item20_too_many_urbs)
{
	struct usbip_client c;
	uint8_t st[2];
	int32_t status;
	uint32_t n;

	bi_start(NULL);
	bad_import(&c, true);
	for (int i = 0; i < 64; i++)
		submit(&c, 1, USBIP_DIR_IN, 512, NULL, NULL, 0);
	expect_open(&c);
	/* Control transfers are still answered. */
	ck_assert(usbip_client_control(&c, 0x82, 0, 0, 0x81, st, 2, &status,
	    &n) == 0);
	ck_assert_int_eq(status, 0);
	ck_assert_uint_eq(n, 2);
	submit(&c, 1, USBIP_DIR_IN, 512, NULL, NULL, 0);
	expect_bad_close(&c, 0, "more than 64 URBs outstanding");
	bi_finish();
}
END_TEST

/*
 * Few URBs, but asking for much: waiting bulk-IN URBs may ask for 4 x
 * max_bulk_transfer (4 MiB by default) in all, or one CBW could make
 * 64 MiB of replies at once.
 */
START_TEST(item20_too_many_in_bytes)
{
	struct usbip_client c;

	bi_start(NULL);
	bad_import(&c, true);
	for (int i = 0; i < 4; i++)
		submit(&c, 1, USBIP_DIR_IN, 1u << 20, NULL, NULL, 0);
	expect_open(&c);
	submit(&c, 1, USBIP_DIR_IN, 512, NULL, NULL, 0);
	expect_bad_close(&c, 0, "bulk-IN URBs asking for more than 4194304 "
	    "bytes outstanding");
	bi_finish();
}
END_TEST

START_TEST(item21_unlink_unknown)
{
	struct usbip_client c;
	struct usbip_ret r;
	uint32_t un, seq, n;
	uint8_t s[8], d[18];

	bi_start(NULL);
	bad_import(&c, true);
	ck_assert(usbip_client_unlink(&c, 987654, &un) == 0);
	ck_assert_msg(usbip_client_wait(&c, un, &r, NULL, 0) == 0, "%s",
	    c.err);
	ck_assert_uint_eq(r.hdr.command, USBIP_RET_UNLINK);
	ck_assert_uint_eq(r.hdr.seqnum, un);
	ck_assert_int_eq(r.hdr.u.ret_unlink.status, 0);
	ck_assert_uint_eq(r.hdr.devid, 0);
	ck_assert_uint_eq(r.hdr.ep, 0);
	/* An already answered URB: status 0 as well. */
	setup_pkt(s, 0x80, 6, 0x0100, 0, 18);
	seq = submit(&c, 0, USBIP_DIR_IN, 18, s, NULL, 0);
	ck_assert_int_eq(ret_of(&c, seq, &n, d, sizeof(d)), 0);
	ck_assert(usbip_client_unlink(&c, seq, &un) == 0);
	ck_assert(usbip_client_wait(&c, un, &r, NULL, 0) == 0);
	ck_assert_int_eq(r.hdr.u.ret_unlink.status, 0);
	/* Its own seqnum, even when it equals the target's. */
	ck_assert(usbip_client_unlink(&c, seq, &un) == 0);
	ck_assert(usbip_client_wait(&c, un, &r, NULL, 0) == 0);
	ck_assert_uint_eq(r.hdr.seqnum, un);
	expect_inquiry_ok(&c);
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

START_TEST(item22_unlink_pending)
{
	struct usbip_client c;
	struct usbip_ret r;
	uint32_t seq[64], un, extra;

	bi_start(NULL);
	bad_import(&c, true);
	seq[0] = submit(&c, 1, USBIP_DIR_IN, 512, NULL, NULL, 0);
	expect_open(&c);
	ck_assert(usbip_client_unlink(&c, seq[0], &un) == 0);
	ck_assert_msg(usbip_client_wait(&c, un, &r, NULL, 0) == 0, "%s",
	    c.err);
	ck_assert_uint_eq(r.hdr.command, USBIP_RET_UNLINK);
	ck_assert_int_eq(r.hdr.u.ret_unlink.status, USBIP_ECONNRESET);
	/*
	 * Gone: a second unlink finds nothing, and a full command is not
	 * delivered to it (the client rejects any RET_SUBMIT for it).
	 */
	ck_assert(usbip_client_unlink(&c, seq[0], &un) == 0);
	ck_assert(usbip_client_wait(&c, un, &r, NULL, 0) == 0);
	ck_assert_int_eq(r.hdr.u.ret_unlink.status, 0);
	expect_inquiry_ok(&c);
	/* Unlinked URBs stop counting against the 64-URB limit. */
	for (int i = 0; i < 64; i++)
		seq[i] = submit(&c, 1, USBIP_DIR_IN, 512, NULL, NULL, 0);
	ck_assert(usbip_client_unlink(&c, seq[10], &un) == 0);
	ck_assert(usbip_client_wait(&c, un, &r, NULL, 0) == 0);
	ck_assert_int_eq(r.hdr.u.ret_unlink.status, USBIP_ECONNRESET);
	extra = submit(&c, 1, USBIP_DIR_IN, 512, NULL, NULL, 0);
	expect_open(&c);
	seq[10] = extra;
	for (int i = 0; i < 64; i++) {
		ck_assert(usbip_client_unlink(&c, seq[i], &un) == 0);
		ck_assert(usbip_client_wait(&c, un, &r, NULL, 0) == 0);
		ck_assert_int_eq(r.hdr.u.ret_unlink.status, USBIP_ECONNRESET);
	}
	expect_inquiry_ok(&c);
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

START_TEST(item23_peer_stops_reading)
{
	struct usbip_client c;
	struct usbip_client_opts o = { .src_addr = BAD_SRC, .rcvbuf = 32768 };
	uint8_t batch[16 * (4 * USBIP_HDR_SIZE + MSC_CBW_LEN)], *p = batch;
	uint8_t cdb[10] = { 0x28 };
	struct usbip_hdr h;
	char local[64], pat[160];
	uint32_t st;
	size_t n = 0;

	bi_start(CFG_TX);
	usbip_client_init(&c);
	ck_assert(usbip_client_connect(&c, vtd.host, vtd.port, &o) == 0);
	ck_assert(usbip_client_import(&c, "1-2", &st, NULL) == 0);
	ck_assert_uint_eq(st, USBIP_ST_OK);
	ck_assert(usbip_client_enumerate(&c) == 0);
	ck_assert(usbip_client_local_addr(&c, local, sizeof(local)) == 0);
	/*
	 * 16 READ(10)s of 1 MiB each in one write, never reading a reply:
	 * the server parks most of them behind its tx back-pressure.
	 */
	put_be16(cdb + 7, 2048);
	for (int i = 0; i < 16; i++) {
		usbip_client_hdr_submit(&c, &h, 2, USBIP_DIR_OUT, MSC_CBW_LEN);
		usbip_hdr_put(p, &h);
		usbip_client_cbw(&c, p + USBIP_HDR_SIZE, 0, 1u << 20, true, 0,
		    cdb, 10);
		p += USBIP_HDR_SIZE + MSC_CBW_LEN;
		usbip_client_hdr_submit(&c, &h, 1, USBIP_DIR_IN, 1u << 20);
		usbip_hdr_put(p, &h);
		p += USBIP_HDR_SIZE;
		usbip_client_hdr_submit(&c, &h, 1, USBIP_DIR_IN, MSC_CSW_LEN);
		usbip_hdr_put(p, &h);
		p += USBIP_HDR_SIZE;
	}
	ck_assert(usbip_client_send(&c, batch, (size_t)(p - batch)) == 0);
	/* Reading would unblock the server: watch the log instead. */
	snprintf(pat, sizeof(pat), ": warn: usbip %s: closing: peer stopped "
	    "reading for 2 s", local);
	ck_assert_msg(vtd_log_wait(&vtd, pat, 1, 15000), "no \"%s\"", pat);
	ck_assert_msg(usbip_client_expect_closed(&c, CLOSE_MS, &n), "%s",
	    c.err);
	ck_assert_uint_lt(n, 16u * (1u << 20));
	usbip_client_close(&c);
	closes++;
	ck_assert_int_eq(vtd_log_count(&vtd, pat), 1);
	ck_assert_int_eq(vtd_log_count(&vtd, "closing:"), closes);
	good_check();
	/* The device is free again. */
	bad_import(&c, true);
	expect_inquiry_ok(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

/* --- Bulk-Only Transport and SCSI ---------------------------------------- */

/* An IN URB on ep 1 must fail with -EPIPE (halted). */
static void
expect_in_stalled(struct usbip_client *c)
{
	uint8_t b[MSC_CSW_LEN];
	int32_t st;
	uint32_t n = 99;

	ck_assert(usbip_client_bulk_in(c, b, sizeof(b), &st, &n) == 0);
	ck_assert_int_eq(st, USBIP_EPIPE);
	ck_assert_uint_eq(n, 0);
}

static bool
in_halted(struct usbip_client *c)
{
	uint8_t b[2];
	int32_t st;
	uint32_t n;

	ck_assert(usbip_client_control(c, 0x82, 0, 0, 0x81, b, 2, &st,
	    &n) == 0);
	ck_assert_int_eq(st, 0);
	return (b[0] & 1) != 0;
}

/* Sends raw bytes as one bulk OUT URB; returns status and actual. */
static int32_t
bulk_out_raw(struct usbip_client *c, const void *p, uint32_t len,
    uint32_t *actual)
{
	int32_t st;

	ck_assert(usbip_client_bulk_out(c, p, len, &st, actual) == 0);
	return st;
}

START_TEST(item24_invalid_cbw)
{
	struct usbip_client c;
	const uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t cbw[64];
	uint32_t n;

	bi_start(NULL);
	bad_import(&c, true);
	/* Bad signature: accepted, bulk IN wedged. */
	usbip_client_cbw(&c, cbw, 0, 36, true, 0, inq, 6);
	cbw[0] ^= 0xff;
	ck_assert_int_eq(bulk_out_raw(&c, cbw, MSC_CBW_LEN, &n), 0);
	ck_assert_uint_eq(n, MSC_CBW_LEN);
	expect_in_stalled(&c);
	ck_assert(in_halted(&c));
	/* CLEAR_FEATURE alone does not unwedge it. */
	ck_assert(usbip_client_clear_halt(&c, 0x81) == 0);
	expect_in_stalled(&c);
	/* Reset recovery does. */
	ck_assert_msg(usbip_client_bot_recover(&c) == 0, "%s", c.err);
	ck_assert(!in_halted(&c));
	expect_inquiry_ok(&c);
	/* Wrong length (30, 64 and 0 bytes), good signature. */
	for (int i = 0; i < 3; i++) {
		uint32_t len = i == 0 ? 30 : i == 1 ? 64 : 0;

		memset(cbw, 0, sizeof(cbw));
		usbip_client_cbw(&c, cbw, 0, 36, true, 0, inq, 6);
		ck_assert_int_eq(bulk_out_raw(&c, cbw, len, &n), 0);
		ck_assert_uint_eq(n, len);
		expect_in_stalled(&c);
		ck_assert(usbip_client_clear_halt(&c, 0x81) == 0);
		expect_in_stalled(&c);
		if (i == 0) {
			/* SET_CONFIGURATION also resets the device. */
			int32_t st;

			ck_assert(usbip_client_control(&c, 0x00, 9, 1, 0, NULL,
			    0, &st, &n) == 0);
			ck_assert_int_eq(st, 0);
		} else
			ck_assert(usbip_client_bot_recover(&c) == 0);
		expect_inquiry_ok(&c);
	}
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

START_TEST(item25_meaningless_cbw)
{
	struct usbip_client c;
	const uint8_t inq[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint8_t cbw[MSC_CBW_LEN];
	uint32_t n;

	bi_start(NULL);
	bad_import(&c, true);
	for (int i = 0; i < 5; i++) {
		usbip_client_cbw(&c, cbw, 0, 36, true, 0, inq, 6);
		if (i == 0)
			cbw[13] = 1;		/* LUN 1 */
		else if (i == 1)
			cbw[13] = 15;		/* LUN 15 */
		else if (i == 2)
			cbw[14] = 0;		/* CBLength 0 */
		else if (i == 3)
			cbw[14] = 17;		/* CBLength 17 */
		else
			cbw[12] = 0x80 | 0x40;	/* reserved flag bit */
		ck_assert_int_eq(bulk_out_raw(&c, cbw, sizeof(cbw), &n),
		    USBIP_EPIPE);
		ck_assert_uint_eq(n, 0);
		/* Both directions halted. */
		expect_in_stalled(&c);
		ck_assert_int_eq(bulk_out_raw(&c, cbw, sizeof(cbw), &n),
		    USBIP_EPIPE);
		/* Not wedged: clearing the halts is enough. */
		ck_assert(usbip_client_clear_halt(&c, 0x81) == 0);
		ck_assert(usbip_client_clear_halt(&c, 0x02) == 0);
		expect_inquiry_ok(&c);
	}
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

START_TEST(item26_huge_transfer_length)
{
	static const uint32_t hs[] = { 0xffffffffu, 0x7fffffffu, 1u << 20 };
	struct usbip_client c;
	uint8_t cdb[10] = { 0x28 }, *buf;
	struct usbip_csw csw;
	int32_t st;
	uint32_t n;

	bi_start(NULL);
	bad_import(&c, true);
	buf = malloc(1u << 20);
	ck_assert_ptr_nonnull(buf);
	put_be32(cdb + 2, 5);
	put_be16(cdb + 7, 1);
	for (size_t i = 0; i < sizeof(hs) / sizeof(hs[0]); i++) {
		ck_assert(usbip_client_send_cbw(&c, hs[i], true, 0, cdb, 10,
		    &st) == 0);
		ck_assert_int_eq(st, 0);
		/* One block, then a short packet ends the data phase. */
		ck_assert(usbip_client_bulk_in(&c, buf, 1u << 20, &st,
		    &n) == 0);
		ck_assert_int_eq(st, 0);
		ck_assert_uint_eq(n, 512);
		ck_assert_int_eq(vtd_pattern_check(2, 5, buf, 1), -1);
		ck_assert(usbip_client_read_csw(&c, &csw, &st) == 0);
		ck_assert_int_eq(st, 0);
		ck_assert_uint_eq(csw.tag, c.cbw_tag);
		ck_assert_uint_eq(csw.status, 0);
		ck_assert_uint_eq(csw.residue, hs[i] - 512);
	}
	/* OUT: a 1-block WRITE(10) inside a 64 KiB data phase (case 11). */
	cdb[0] = 0x2a;
	put_be32(cdb + 2, 7);
	ck_assert(usbip_client_send_cbw(&c, 65536, false, 0, cdb, 10,
	    &st) == 0);
	ck_assert_int_eq(st, 0);
	memset(buf, 0, 65536);
	vtd_pattern_fill(42, 0, buf, 1);
	ck_assert(usbip_client_bulk_out(&c, buf, 65536, &st, &n) == 0);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(n, 65536);
	ck_assert(usbip_client_read_csw(&c, &csw, &st) == 0);
	ck_assert_uint_eq(csw.status, 0);
	ck_assert_uint_eq(csw.residue, 65536 - 512);
	ck_assert(usbip_client_read10(&c, 7, 1, buf) == 0);
	ck_assert_int_eq(vtd_pattern_check(42, 0, buf, 1), -1);
	ck_assert(usbip_client_read10(&c, 8, 1, buf) == 0);
	ck_assert_int_eq(vtd_pattern_check(2, 8, buf, 1), -1);
	free(buf);
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

/*
 * Item 26, continued: a data phase spread over several URBs, including
 * zero-length ones, and the usb_sg pattern (docs/PROTOCOL.md, "Bulk-Only
 * Transport"): IN URBs queued with SHORT_NOT_OK, the first ends short
 * (-EREMOTEIO), the host unlinks the rest (-104, never a RET_SUBMIT) and
 * reads the CSW with a new URB.
 */
START_TEST(item26_split_data_phase)
{
	struct usbip_client c;
	uint8_t cdb[10] = { 0x28 }, buf[4096], wr[1024];
	struct usbip_csw csw;
	struct usbip_ret r;
	uint32_t n, a, b, un;
	int32_t st;

	bi_start(NULL);
	bad_import(&c, true);
	put_be32(cdb + 2, 16);
	put_be16(cdb + 7, 8);
	ck_assert(usbip_client_send_cbw(&c, 4096, true, 0, cdb, 10, &st) == 0);
	ck_assert_int_eq(st, 0);
	ck_assert(usbip_client_bulk_in(&c, buf, 0, &st, &n) == 0);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(n, 0);
	ck_assert(usbip_client_bulk_in(&c, buf, 1024, &st, &n) == 0);
	ck_assert_uint_eq(n, 1024);
	ck_assert(usbip_client_bulk_in(&c, buf + 1024, 3072, &st, &n) == 0);
	ck_assert_uint_eq(n, 3072);
	ck_assert_int_eq(vtd_pattern_check(2, 16, buf, 8), -1);
	ck_assert(usbip_client_read_csw(&c, &csw, &st) == 0);
	ck_assert_uint_eq(csw.status, 0);
	ck_assert_uint_eq(csw.residue, 0);
	/* WRITE(10) of 2 blocks as 0 + 512 + 512 bytes. */
	cdb[0] = 0x2a;
	put_be32(cdb + 2, 30);
	put_be16(cdb + 7, 2);
	vtd_pattern_fill(31, 0, wr, 2);
	ck_assert(usbip_client_send_cbw(&c, 1024, false, 0, cdb, 10,
	    &st) == 0);
	ck_assert(usbip_client_bulk_out(&c, wr, 0, &st, &n) == 0);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(n, 0);
	ck_assert(usbip_client_bulk_out(&c, wr, 512, &st, &n) == 0);
	ck_assert_uint_eq(n, 512);
	ck_assert(usbip_client_bulk_out(&c, wr + 512, 512, &st, &n) == 0);
	ck_assert_uint_eq(n, 512);
	ck_assert(usbip_client_read_csw(&c, &csw, &st) == 0);
	ck_assert_uint_eq(csw.status, 0);
	ck_assert(usbip_client_read10(&c, 30, 2, buf) == 0);
	ck_assert_int_eq(vtd_pattern_check(31, 0, buf, 2), -1);
	/*
	 * 1 block into two 2048-byte SHORT_NOT_OK URBs that were waiting in
	 * the device (NAKed) when the CBW came.
	 */
	ck_assert(usbip_client_submit(&c, 1, true, NULL, NULL, 2048,
	    USBIP_URB_SHORT_NOT_OK, &a) == 0);
	ck_assert(usbip_client_submit(&c, 1, true, NULL, NULL, 2048,
	    USBIP_URB_SHORT_NOT_OK, &b) == 0);
	expect_open(&c);
	cdb[0] = 0x28;
	put_be32(cdb + 2, 9);
	put_be16(cdb + 7, 1);
	ck_assert(usbip_client_send_cbw(&c, 4096, true, 0, cdb, 10, &st) == 0);
	ck_assert_int_eq(st, 0);
	ck_assert_int_eq(ret_of(&c, a, &n, buf, sizeof(buf)), USBIP_EREMOTEIO);
	ck_assert_uint_eq(n, 512);
	ck_assert_int_eq(vtd_pattern_check(2, 9, buf, 1), -1);
	expect_open(&c);
	ck_assert(usbip_client_unlink(&c, b, &un) == 0);
	ck_assert_msg(usbip_client_wait(&c, un, &r, NULL, 0) == 0, "%s",
	    c.err);
	ck_assert_int_eq(r.hdr.u.ret_unlink.status, USBIP_ECONNRESET);
	ck_assert(usbip_client_read_csw(&c, &csw, &st) == 0);
	ck_assert_int_eq(st, 0);
	ck_assert_uint_eq(csw.status, 0);
	ck_assert_uint_eq(csw.residue, 4096 - 512);
	expect_inquiry_ok(&c);
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

/* A command whose data phase the device refuses: no data, CSW 1, H. */
static void
expect_failed_cmd(struct usbip_client *c, const uint8_t *cdb, uint8_t len,
    bool in, uint32_t h)
{
	struct usbip_scsi_result res;
	uint8_t *buf = calloc(1, h ? h : 1);

	ck_assert_ptr_nonnull(buf);
	ck_assert_msg(usbip_client_scsi(c, cdb, len, in, buf, h, &res) == 0,
	    "%s", c->err);
	ck_assert_int_eq(res.cbw_status, 0);
	ck_assert_int_eq(res.data_status, 0);
	/* IN: nothing sent; OUT: taken and discarded. */
	ck_assert_uint_eq(res.data_actual, in ? 0 : h);
	ck_assert(res.have_csw);
	ck_assert_uint_eq(res.csw.status, 1);
	ck_assert_uint_eq(res.csw.residue, h);
	free(buf);
}

START_TEST(item27_lba_out_of_range)
{
	struct usbip_client c;
	uint8_t cdb[16], buf[512];

	bi_start(NULL);
	bad_import(&c, true);
	/* Just past the end, straddling it, and 32-bit wrap-around. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x28;
	put_be32(cdb + 2, BAD_SECTORS);
	put_be16(cdb + 7, 1);
	expect_failed_cmd(&c, cdb, 10, true, 512);
	expect_sense(&c, 0x05, 0x21, 0x00);
	put_be32(cdb + 2, BAD_SECTORS - 1);
	put_be16(cdb + 7, 2);
	expect_failed_cmd(&c, cdb, 10, true, 1024);
	expect_sense(&c, 0x05, 0x21, 0x00);
	put_be32(cdb + 2, 0xffffffffu);
	put_be16(cdb + 7, 0xffff);
	expect_failed_cmd(&c, cdb, 10, true, 512);
	expect_sense(&c, 0x05, 0x21, 0x00);
	/* READ(16): 64-bit LBA + count overflow. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x88;
	put_be64(cdb + 2, 0xffffffffffffffffULL);
	put_be32(cdb + 10, 2);
	expect_failed_cmd(&c, cdb, 16, true, 1024);
	expect_sense(&c, 0x05, 0x21, 0x00);
	/* WRITE(10) past the end: data discarded, image untouched. */
	memset(cdb, 0, sizeof(cdb));
	cdb[0] = 0x2a;
	put_be32(cdb + 2, BAD_SECTORS - 1);
	put_be16(cdb + 7, 2);
	expect_failed_cmd(&c, cdb, 10, false, 1024);
	expect_sense(&c, 0x05, 0x21, 0x00);
	ck_assert(usbip_client_read10(&c, BAD_SECTORS - 1, 1, buf) == 0);
	ck_assert_int_eq(vtd_pattern_check(2, BAD_SECTORS - 1, buf, 1), -1);
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

START_TEST(item28_unsupported)
{
	struct usbip_client c;
	const uint8_t log_sense[10] = { 0x4d, 0, 0x40, 0, 0, 0, 0, 0, 64, 0 };
	const uint8_t vendor[10] = { 0xff };
	const uint8_t ata[16] = { 0x85, 0x08, 0x0e };
	const uint8_t vpd_b0[6] = { 0x12, 0x01, 0xb0, 0, 64, 0 };
	const uint8_t std_page[6] = { 0x12, 0x00, 0x80, 0, 36, 0 };
	const uint8_t mode_01[6] = { 0x1a, 0, 0x01, 0, 192, 0 };
	const uint8_t mode_sub[6] = { 0x1a, 0, 0x08, 0x01, 192, 0 };

	bi_start(NULL);
	bad_import(&c, true);
	expect_failed_cmd(&c, log_sense, 10, true, 64);
	expect_sense(&c, 0x05, 0x20, 0x00);
	expect_failed_cmd(&c, vendor, 10, false, 0);
	expect_sense(&c, 0x05, 0x20, 0x00);
	expect_failed_cmd(&c, ata, 16, true, 512);
	expect_sense(&c, 0x05, 0x20, 0x00);
	expect_failed_cmd(&c, vpd_b0, 6, true, 64);
	expect_sense(&c, 0x05, 0x24, 0x00);
	expect_failed_cmd(&c, std_page, 6, true, 36);
	expect_sense(&c, 0x05, 0x24, 0x00);
	expect_failed_cmd(&c, mode_01, 6, true, 192);
	expect_sense(&c, 0x05, 0x24, 0x00);
	expect_failed_cmd(&c, mode_sub, 6, true, 192);
	expect_sense(&c, 0x05, 0x24, 0x00);
	/* The device is fine afterwards; REQUEST SENSE cleared the sense. */
	ck_assert_int_eq(usbip_client_test_unit_ready(&c), 0);
	expect_sense(&c, 0x00, 0x00, 0x00);
	expect_open(&c);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

START_TEST(item29_write_protected)
{
	struct usbip_client c;
	uint8_t data[2 * 512], cdb[10] = { 0x2a };
	bool wp = false;

	bi_start(NULL);
	bad_import_busid(&c, "1-3", true);
	vtd_pattern_fill(9, 0, data, 2);
	ck_assert_int_eq(usbip_client_write10(&c, 4, 2, data), 1);
	expect_sense(&c, 0x07, 0x27, 0x00);
	/* The OUT data phase was discarded, residue H. */
	put_be32(cdb + 2, 4);
	put_be16(cdb + 7, 2);
	expect_failed_cmd(&c, cdb, 10, false, sizeof(data));
	expect_sense(&c, 0x07, 0x27, 0x00);
	ck_assert(usbip_client_mode_sense_wp(&c, &wp) == 0);
	ck_assert(wp);
	ck_assert(usbip_client_read10(&c, 4, 2, data) == 0);
	ck_assert_int_eq(vtd_pattern_check(3, 4, data, 2), -1);
	usbip_client_close(&c);
	/* The writable image reports no write protection. */
	bad_import(&c, true);
	ck_assert(usbip_client_mode_sense_wp(&c, &wp) == 0);
	ck_assert(!wp);
	usbip_client_close(&c);
	bi_finish();
}
END_TEST

/* One TCase per item, so that CK_RUN_CASE=item23 runs just that one. */
static void
bi_add(Suite *s, const char *name, const TTest *t)
{
	TCase *tc = tcase_create(name);

	tcase_add_checked_fixture(tc, NULL, bi_teardown);
	tcase_set_timeout(tc, 60);
	tcase_add_test(tc, t);
	suite_add_tcase(s, tc);
}

static Suite *
badinput_suite(void)
{
	Suite *s = suite_create("badinput");

	bi_add(s, "item01_eof_truncated", item01_eof_truncated);
	bi_add(s, "item02_slowloris_handshake", item02_slowloris_handshake);
	bi_add(s, "item02_slowloris_pdu", item02_slowloris_pdu);
	bi_add(s, "item03_bad_version", item03_bad_version);
	bi_add(s, "item04_request_status", item04_request_status);
	bi_add(s, "item05_unknown_op", item05_unknown_op);
	bi_add(s, "item06_unknown_busid", item06_unknown_busid);
	bi_add(s, "item07_import_busy", item07_import_busy);
	bi_add(s, "item08_devlist_then_close", item08_devlist_then_close);
	bi_add(s, "item09_connection_limits", item09_connection_limits);
	bi_add(s, "item10_bad_command", item10_bad_command);
	bi_add(s, "item11_wrong_devid", item11_wrong_devid);
	bi_add(s, "item12_bad_direction_ep", item12_bad_direction_ep);
	bi_add(s, "item13_no_such_endpoint", item13_no_such_endpoint);
	bi_add(s, "item14_bulk_unconfigured", item14_bulk_unconfigured);
	bi_add(s, "item15_length_caps", item15_length_caps);
	bi_add(s, "item16_control_mismatch", item16_control_mismatch);
	bi_add(s, "item17_npackets_ignored", item17_npackets_ignored);
	bi_add(s, "item18_unknown_flags", item18_unknown_flags);
	bi_add(s, "item19_duplicate_seqnum", item19_duplicate_seqnum);
	bi_add(s, "item20_too_many_urbs", item20_too_many_urbs);
	bi_add(s, "item20_too_many_in_bytes", item20_too_many_in_bytes);
	bi_add(s, "item21_unlink_unknown", item21_unlink_unknown);
	bi_add(s, "item22_unlink_pending", item22_unlink_pending);
	bi_add(s, "item23_peer_stops_reading", item23_peer_stops_reading);
	bi_add(s, "item24_invalid_cbw", item24_invalid_cbw);
	bi_add(s, "item25_meaningless_cbw", item25_meaningless_cbw);
	bi_add(s, "item26_huge_transfer_length", item26_huge_transfer_length);
	bi_add(s, "item26_split_data_phase", item26_split_data_phase);
	bi_add(s, "item27_lba_out_of_range", item27_lba_out_of_range);
	bi_add(s, "item28_unsupported", item28_unsupported);
	bi_add(s, "item29_write_protected", item29_write_protected);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(badinput_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
