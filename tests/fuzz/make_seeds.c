/*
 * make_seeds: writes the generated seed inputs of every fuzz target into
 * DIR/NAME/seed-*, deterministically (fixed key, serial and time), so
 * that rerunning it changes nothing.  Run through make_seeds.sh, which
 * also copies the YAML seeds of the config target.  Inputs that fuzzing
 * found worth keeping are committed next to these as found-*.
 *
 * The binary layouts follow the targets: fuzz_usbip_session.c (flags
 * byte, then the client's stream cut at SLICE_SEP), fuzz_scsi_bot.c
 * (flags byte, then operations), fuzz_fat.c (mode byte, then the device).
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "common/bytes.h"
#include "server/device/dev_bot.h"
#include "server/usbip/usbip_proto.h"
#include "token/fat.h"
#include "token/token_cred.h"
#include "token/token_image.h"

/* A fixed Ed25519 test key: seeds must not change between runs. */
static const char seed_key_pem[] =
    "-----BEGIN PRIVATE KEY-----\n"
    "MC4CAQAwBQYDK2VwBCIEIJfkzl5EnM/g/j2sH66XDqiXWEGzU5x0seccmhZ8h64Y\n"
    "-----END PRIVATE KEY-----\n";

#define SLICE_SEP	"\xfeSL\xfe"
#define DEVID_1		0x00010001u
#define DEVID_3		0x00010003u

struct buf {
	uint8_t *p;
	size_t len, cap;
};

static const char *outdir;
static int nwritten;

static void
die(const char *what)
{
	fprintf(stderr, "make_seeds: %s: %s\n", what, strerror(errno));
	exit(1);
}

static void
buf_add(struct buf *b, const void *p, size_t len)
{
	if (b->cap - b->len < len) {
		b->cap = (b->len + len) * 2 + 64;
		if ((b->p = realloc(b->p, b->cap)) == NULL)
			die("realloc");
	}
	if (len > 0)
		memcpy(b->p + b->len, p, len);
	b->len += len;
}

static void
buf_u8(struct buf *b, uint8_t v)
{
	buf_add(b, &v, 1);
}

static void
buf_le16(struct buf *b, uint16_t v)
{
	buf_u8(b, (uint8_t)v);
	buf_u8(b, (uint8_t)(v >> 8));
}

static void
buf_zero(struct buf *b, size_t n)
{
	for (size_t i = 0; i < n; i++)
		buf_u8(b, 0);
}

static void
buf_reset(struct buf *b)
{
	b->len = 0;
}

static void
seed_write(const char *target, const char *name, const void *p, size_t len)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	if (mkdir(path, 0755) < 0 && errno != EEXIST)
		die(path);
	snprintf(path, sizeof(path), "%s/%s/seed-%s", outdir, target, name);
	if ((f = fopen(path, "wb")) == NULL)
		die(path);
	if (len > 0 && fwrite(p, 1, len, f) != len)
		die(path);
	if (fclose(f) != 0)
		die(path);
	nwritten++;
}

static void
seed_buf(const char *target, const char *name, const struct buf *b)
{
	seed_write(target, name, b->p, b->len);
}

static void
seed_str(const char *target, const char *name, const char *s)
{
	seed_write(target, name, s, strlen(s));
}

/* --- USB/IP streams -------------------------------------------------- */

static void
op_req(struct buf *b, uint16_t version, uint16_t code, uint32_t status)
{
	struct usbip_op_common op = { version, code, status };
	uint8_t w[USBIP_OP_COMMON_SIZE];

	usbip_op_common_put(w, &op);
	buf_add(b, w, sizeof(w));
}

static void
op_import(struct buf *b, const char *busid)
{
	uint8_t id[USBIP_BUSID_SIZE];

	op_req(b, USBIP_VERSION, USBIP_OP_REQ_IMPORT, 0);
	memset(id, 0, sizeof(id));
	memcpy(id, busid, strnlen(busid, sizeof(id)));
	buf_add(b, id, sizeof(id));
}

static void
hdr(struct buf *b, uint32_t cmd, uint32_t seq, uint32_t devid, uint32_t dir,
    uint32_t ep, uint32_t flags, uint32_t len, const uint8_t *setup)
{
	struct usbip_hdr h;
	uint8_t w[USBIP_HDR_SIZE];

	memset(&h, 0, sizeof(h));
	h.command = cmd;
	h.seqnum = seq;
	h.devid = devid;
	h.direction = dir;
	h.ep = ep;
	if (cmd == USBIP_CMD_UNLINK)
		h.u.unlink.seqnum = flags;
	else {
		h.u.submit.flags = flags;
		h.u.submit.length = len;
		if (setup != NULL)
			memcpy(h.u.submit.setup, setup, 8);
	}
	usbip_hdr_put(w, &h);
	buf_add(b, w, sizeof(w));
}

/* A session stream under construction: seqnums count up by two. */
struct sess {
	struct buf b;
	uint32_t seq, devid;
};

static uint32_t
s_ctrl(struct sess *s, uint8_t type, uint8_t req, uint16_t value,
    uint16_t index, uint16_t length)
{
	uint8_t setup[8] = {
		type, req, (uint8_t)value, (uint8_t)(value >> 8),
		(uint8_t)index, (uint8_t)(index >> 8),
		(uint8_t)length, (uint8_t)(length >> 8)
	};
	bool in = (type & 0x80) != 0;

	s->seq += 2;
	hdr(&s->b, USBIP_CMD_SUBMIT, s->seq, s->devid, in, 0, 0, length,
	    setup);
	if (!in)
		buf_zero(&s->b, length);
	return s->seq;
}

static uint32_t
s_in(struct sess *s, uint32_t len, uint32_t flags)
{
	s->seq += 2;
	hdr(&s->b, USBIP_CMD_SUBMIT, s->seq, s->devid, USBIP_DIR_IN, 1,
	    flags, len, NULL);
	return s->seq;
}

static uint32_t
s_out(struct sess *s, const void *p, uint32_t len)
{
	s->seq += 2;
	hdr(&s->b, USBIP_CMD_SUBMIT, s->seq, s->devid, USBIP_DIR_OUT, 2, 0,
	    len, NULL);
	buf_add(&s->b, p, len);
	return s->seq;
}

static void
s_fill(struct sess *s, uint32_t len)
{
	uint8_t *p = malloc(len > 0 ? len : 1);

	if (p == NULL)
		die("malloc");
	for (uint32_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 11 + 5);
	s_out(s, p, len);
	free(p);
}

static void
s_unlink(struct sess *s, uint32_t target)
{
	s->seq += 2;
	hdr(&s->b, USBIP_CMD_UNLINK, s->seq, s->devid, 0, 0, target, 0, NULL);
}

static void
make_cbw(uint8_t cbw[MSC_CBW_SIZE], uint32_t tag, uint32_t h, bool in,
    const uint8_t *cdb, uint8_t cblen)
{
	memset(cbw, 0, MSC_CBW_SIZE);
	put_le32(cbw, MSC_CBW_SIGNATURE);
	put_le32(cbw + 4, tag);
	put_le32(cbw + 8, h);
	cbw[12] = in ? 0x80 : 0x00;
	cbw[14] = cblen;
	memcpy(cbw + 15, cdb, cblen > 16 ? 16 : cblen);
}

static void
s_cbw(struct sess *s, uint32_t h, bool in, const uint8_t *cdb, uint8_t cblen)
{
	uint8_t cbw[MSC_CBW_SIZE];

	make_cbw(cbw, s->seq + 1000, h, in, cdb, cblen);
	s_out(s, cbw, sizeof(cbw));
}

/* A whole command: CBW, data IN/OUT of h bytes, CSW. */
static void
s_cmd(struct sess *s, uint32_t h, bool in, const uint8_t *cdb,
    uint8_t cblen)
{
	s_cbw(s, h, in, cdb, cblen);
	if (h > 0 && in)
		s_in(s, h, 0);
	else if (h > 0)
		s_fill(s, h);
	s_in(s, MSC_CSW_SIZE, 0);
}

#define CMD(s, h, in, ...) do {						\
	const uint8_t cdb_[] = { __VA_ARGS__ };				\
	s_cmd((s), (h), (in), cdb_, sizeof(cdb_));			\
} while (0)

static void
sep(struct sess *s)
{
	buf_add(&s->b, SLICE_SEP, 4);
}

/*
 * Flags byte and OP_REQ_IMPORT, then a slice end: like a real client,
 * the URBs come after the reply (a refused request discards it).
 */
static void
sess_start(struct sess *s, uint8_t flags, const char *busid)
{
	buf_reset(&s->b);
	s->seq = 0;
	s->devid = strcmp(busid, "1-3") == 0 ? DEVID_3 : DEVID_1;
	buf_u8(&s->b, flags);
	op_import(&s->b, busid);
	sep(s);
}

/*
 * What Linux sends before usb-storage takes over (docs/PROTOCOL.md, "USB
 * device model").
 */
static void
s_enumerate(struct sess *s)
{
	s_ctrl(s, 0x80, 0x06, 0x0100, 0, 64);
	s_ctrl(s, 0x80, 0x06, 0x0100, 0, 18);
	s_ctrl(s, 0x80, 0x06, 0x0200, 0, 9);
	s_ctrl(s, 0x80, 0x06, 0x0200, 0, 32);
	s_ctrl(s, 0x80, 0x06, 0x0300, 0, 255);
	s_ctrl(s, 0x80, 0x06, 0x0302, 0x0409, 255);
	s_ctrl(s, 0x80, 0x06, 0x0301, 0x0409, 255);
	s_ctrl(s, 0x80, 0x06, 0x0303, 0x0409, 255);
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	s_ctrl(s, 0xa1, 0xfe, 0, 0, 1);
}

static void
seeds_session_op(struct sess *s)
{
	const char *t = "usbip_session";

	buf_reset(&s->b);
	buf_u8(&s->b, 0);
	op_req(&s->b, USBIP_VERSION, USBIP_OP_REQ_DEVLIST, 0);
	seed_buf(t, "devlist", &s->b);
	sess_start(s, 0, "1-2");
	seed_buf(t, "import-not-allowed", &s->b);
	sess_start(s, 0, "9-9");
	seed_buf(t, "import-unknown", &s->b);
	/* The busid goes into the log: ctest fuzz.usbip_session_log. */
	sess_start(s, 0, "1-1\nFORGED: \xff\x1b[2J");
	seed_buf(t, "import-busid-newline", &s->b);
	buf_reset(&s->b);
	buf_u8(&s->b, 0);
	op_req(&s->b, USBIP_VERSION, USBIP_OP_REQ_IMPORT, 0);
	for (int i = 0; i < USBIP_BUSID_SIZE; i++)
		buf_u8(&s->b, '1');
	seed_buf(t, "import-busid-unterminated", &s->b);
	buf_reset(&s->b);
	buf_u8(&s->b, 0);
	op_req(&s->b, 0x0106, USBIP_OP_REQ_DEVLIST, 0);
	seed_buf(t, "bad-version", &s->b);
	buf_reset(&s->b);
	buf_u8(&s->b, 0);
	op_req(&s->b, USBIP_VERSION, 0x8002, 0);
	seed_buf(t, "bad-code", &s->b);
	buf_reset(&s->b);
	buf_u8(&s->b, 0);
	op_req(&s->b, USBIP_VERSION, USBIP_OP_REQ_IMPORT, 1);
	seed_buf(t, "bad-status", &s->b);
	/* The request trickles in: 01 11 80 05 | 00 00 00 00. */
	buf_reset(&s->b);
	buf_u8(&s->b, 0);
	buf_add(&s->b, "\x01\x11\x80\x05", 4);
	sep(s);
	buf_add(&s->b, "\x00\x00\x00\x00", 4);
	seed_buf(t, "devlist-split", &s->b);
}

static void
seeds_session_scsi(struct sess *s)
{
	const char *t = "usbip_session";

	sess_start(s, 0, "1-1");
	s_enumerate(s);
	seed_buf(t, "enumerate", &s->b);

	sess_start(s, 0, "1-1");
	s_enumerate(s);
	CMD(s, 36, true, 0x12, 0, 0, 0, 36, 0);
	CMD(s, 0, false, 0x00, 0, 0, 0, 0, 0);
	CMD(s, 8, true, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	CMD(s, 192, true, 0x1a, 0, 0x3f, 0, 192, 0);
	CMD(s, 4096, true, 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0);
	CMD(s, 18, true, 0x03, 0, 0, 0, 18, 0);
	seed_buf(t, "scan", &s->b);

	sess_start(s, 0, "1-1");
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	CMD(s, 2048, false, 0x2a, 0x08, 0, 0, 0, 16, 0, 0, 4, 0);
	CMD(s, 2048, true, 0x28, 0, 0, 0, 0, 16, 0, 0, 4, 0);
	CMD(s, 0, false, 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	seed_buf(t, "write-read", &s->b);

	sess_start(s, 4, "1-1");
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	CMD(s, 512, false, 0x2a, 0, 0, 0, 0, 1, 0, 0, 1, 0);
	CMD(s, 18, true, 0x03, 0, 0, 0, 18, 0);
	seed_buf(t, "write-readonly", &s->b);

	/* IN URBs queued before the CBW (NAK), a READ over several. */
	sess_start(s, 0, "1-1");
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	s_in(s, 1024, USBIP_URB_SHORT_NOT_OK);
	s_in(s, 1024, USBIP_URB_SHORT_NOT_OK);
	s_in(s, 1024, USBIP_URB_SHORT_NOT_OK);
	s_in(s, MSC_CSW_SIZE, 0);
	{
		const uint8_t cdb[] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 3, 0 };

		s_cbw(s, 2048, true, cdb, sizeof(cdb));
	}
	s_unlink(s, s->seq - 6);
	s_in(s, MSC_CSW_SIZE, 0);
	seed_buf(t, "queued-short-unlink", &s->b);

	/* An invalid CBW wedges IN; reset recovery clears it. */
	sess_start(s, 0, "1-1");
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	s_out(s, "garbage", 7);
	s_in(s, MSC_CSW_SIZE, 0);
	s_ctrl(s, 0x21, 0xff, 0, 0, 0);
	s_ctrl(s, 0x02, 0x01, 0, 0x81, 0);
	s_ctrl(s, 0x02, 0x01, 0, 0x02, 0);
	s_ctrl(s, 0x82, 0x00, 0, 0x81, 2);
	CMD(s, 0, false, 0x00, 0, 0, 0, 0, 0);
	seed_buf(t, "wedge-reset", &s->b);
}

static void
seeds_session_bad(struct sess *s)
{
	const char *t = "usbip_session";
	uint8_t setup[8] = { 0x80, 0x06, 0x00, 0x01, 0, 0, 18, 0 };

	sess_start(s, 0, "1-1");
	hdr(&s->b, USBIP_CMD_SUBMIT, 1, 0x00020002, 1, 0, 0, 18, setup);
	seed_buf(t, "bad-devid", &s->b);
	sess_start(s, 0, "1-1");
	hdr(&s->b, USBIP_CMD_SUBMIT, 1, DEVID_1, 1, 3, 0, 18, NULL);
	seed_buf(t, "bad-endpoint", &s->b);
	sess_start(s, 0, "1-1");
	hdr(&s->b, USBIP_CMD_SUBMIT, 1, DEVID_1, 0, 2, 0, 0x7fffffff, NULL);
	seed_buf(t, "bad-length", &s->b);
	sess_start(s, 0, "1-1");
	hdr(&s->b, USBIP_RET_SUBMIT, 1, DEVID_1, 0, 0, 0, 0, NULL);
	seed_buf(t, "bad-command", &s->b);
	sess_start(s, 0, "1-1");
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	sep(s);
	hdr(&s->b, USBIP_CMD_SUBMIT, 77, DEVID_1, 1, 1, 0, 512, NULL);
	hdr(&s->b, USBIP_CMD_SUBMIT, 77, DEVID_1, 1, 1, 0, 512, NULL);
	seed_buf(t, "duplicate-seqnum", &s->b);
	sess_start(s, 0, "1-1");
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	sep(s);
	for (int i = 0; i < 17; i++)
		s_in(s, 512, 0);
	seed_buf(t, "too-many-urbs", &s->b);
	/* Bulk before SET_CONFIGURATION; a header cut in three slices. */
	sess_start(s, 0, "1-1");
	s_in(s, 512, 0);
	s_fill(s, 31);
	sep(s);
	s_ctrl(s, 0x80, 0x06, 0x0100, 0, 18);
	{
		size_t at = s->b.len - USBIP_HDR_SIZE + 20;
		struct buf tail = { NULL, 0, 0 };

		buf_add(&tail, s->b.p + at, s->b.len - at);
		s->b.len = at;
		sep(s);
		buf_add(&s->b, tail.p, 10);
		sep(s);
		buf_add(&s->b, tail.p + 10, tail.len - 10);
		free(tail.p);
	}
	seed_buf(t, "unconfigured-sliced", &s->b);
	/* EOF in the middle of a PDU, then a reset-close. */
	sess_start(s, 2, "1-1");
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	hdr(&s->b, USBIP_CMD_SUBMIT, 99, DEVID_1, 0, 2, 0, 512, NULL);
	buf_zero(&s->b, 100);
	seed_buf(t, "eof-mid-pdu-close", &s->b);
}

static void
seeds_session_multi(struct sess *s)
{
	const char *t = "usbip_session";

	sess_start(s, 1, "1-1");
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	seed_buf(t, "second-busy", &s->b);
	sess_start(s, 1, "1-3");
	s_enumerate(s);
	CMD(s, 36, true, 0x12, 0, 0, 0, 36, 0);
	seed_buf(t, "acl-device-second-ok", &s->b);
	/* Unlink of a completed and of a pending URB. */
	sess_start(s, 0, "1-1");
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	s_unlink(s, s->seq);
	s_in(s, 512, 0);
	s_unlink(s, s->seq);
	s_unlink(s, 12345);
	seed_buf(t, "unlinks", &s->b);
	/* Stall and halt handling through control requests. */
	sess_start(s, 0, "1-1");
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	s_in(s, 512, 0);
	s_ctrl(s, 0x02, 0x03, 0, 0x81, 0);
	s_in(s, 512, 0);
	s_ctrl(s, 0x02, 0x01, 0, 0x81, 0);
	s_ctrl(s, 0x01, 0x0b, 0, 0, 0);
	s_ctrl(s, 0x81, 0x0a, 0, 0, 1);
	s_ctrl(s, 0x80, 0x08, 0, 0, 1);
	s_ctrl(s, 0x80, 0x00, 0, 0, 2);
	s_ctrl(s, 0x81, 0x00, 0, 0, 2);
	s_ctrl(s, 0x00, 0x03, 1, 0, 0);
	s_ctrl(s, 0x00, 0x05, 5, 0, 0);
	s_ctrl(s, 0x80, 0x06, 0x0600, 0, 10);
	s_ctrl(s, 0x80, 0x06, 0x0f00, 0, 5);
	s_ctrl(s, 0x40, 0x01, 0, 0, 4);
	seed_buf(t, "control-halts", &s->b);
}

/* 1 MiB READs until the server's output passes TX_HIGH (4 MiB). */
static void
seeds_session_big(struct sess *s)
{
	const uint8_t cdb[] = { 0x28, 0, 0, 0, 0, 0, 0, 0x08, 0, 0 };

	sess_start(s, 8, "1-1");
	s_ctrl(s, 0x00, 0x09, 1, 0, 0);
	for (int i = 0; i < 6; i++) {
		s_cbw(s, 1u << 20, true, cdb, sizeof(cdb));
		s_in(s, 1u << 20, 0);
		s_in(s, MSC_CSW_SIZE, 0);
	}
	seed_buf("usbip_session", "backpressure", &s->b);
}

static void
seeds_session(void)
{
	struct sess s = { { NULL, 0, 0 }, 0, 0 };

	seeds_session_op(&s);
	seeds_session_scsi(&s);
	seeds_session_bad(&s);
	seeds_session_multi(&s);
	seeds_session_big(&s);
	free(s.b.p);
}

/* --- usbip_proto ----------------------------------------------------- */

static void
seeds_proto(void)
{
	const char *t = "usbip_proto";
	struct buf b = { NULL, 0, 0 };
	struct usbip_dev_info dev;
	uint8_t rec[USBIP_DEV_SIZE + 4];
	uint8_t setup[8] = { 0x80, 0x06, 0x00, 0x01, 0, 0, 64, 0 };

	op_req(&b, USBIP_VERSION, USBIP_OP_REQ_DEVLIST, 0);
	seed_buf(t, "op-devlist", &b);
	buf_reset(&b);
	op_import(&b, "1-1");
	seed_buf(t, "op-import", &b);
	memset(&dev, 0, sizeof(dev));
	snprintf(dev.path, sizeof(dev.path), "/vtoken/token");
	snprintf(dev.busid, sizeof(dev.busid), "1-1");
	dev.busnum = 1;
	dev.devnum = 1;
	dev.speed = 3;
	dev.vendor = 0x1209;
	dev.product = 1;
	dev.bcd_device = 0x100;
	dev.config_value = 1;
	dev.num_configs = 1;
	dev.num_ifaces = 1;
	dev.ifaces[0].cls = 8;
	dev.ifaces[0].subcls = 6;
	dev.ifaces[0].proto = 0x50;
	usbip_dev_put(rec, &dev);
	usbip_ifaces_put(rec + USBIP_DEV_SIZE, &dev);
	seed_write(t, "dev-record", rec, sizeof(rec));
	buf_reset(&b);
	op_req(&b, USBIP_VERSION, USBIP_OP_IMPORT, 0);
	buf_add(&b, rec, USBIP_DEV_SIZE);
	seed_buf(t, "op-import-reply", &b);
	buf_reset(&b);
	hdr(&b, USBIP_CMD_SUBMIT, 1, DEVID_1, 1, 0, 0, 64, setup);
	seed_buf(t, "cmd-submit", &b);
	buf_reset(&b);
	hdr(&b, USBIP_RET_SUBMIT, 1, 0, 0, 0, 0, 0, NULL);
	seed_buf(t, "ret-submit", &b);
	buf_reset(&b);
	hdr(&b, USBIP_CMD_UNLINK, 3, DEVID_1, 0, 0, 1, 0, NULL);
	hdr(&b, USBIP_RET_UNLINK, 3, 0, 0, 0, 0, 0, NULL);
	hdr(&b, USBIP_CMD_SUBMIT, 5, DEVID_1, 0, 2, 1, 31, NULL);
	hdr(&b, 7, 5, DEVID_1, 0, 2, 1, 31, NULL);
	seed_buf(t, "stream", &b);
	free(b.p);
}

/* --- scsi_bot -------------------------------------------------------- */

enum { SB_CBW, SB_OUT, SB_IN, SB_CTRL, SB_UNLINK, SB_FILL, SB_REATTACH,
    SB_NOPS };

/* The opcode byte for kind with the variant bits v (multiples of 8). */
static void
sb_op(struct buf *b, unsigned kind, uint8_t v)
{
	for (unsigned x = 0; x < 8; x++)
		if ((v | x) % SB_NOPS == kind) {
			buf_u8(b, (uint8_t)(v | x));
			return;
		}
	abort();
}

/* A CBW op: h bytes (or sectors with 0x80), IN with 0x40. */
static void
sb_cbw(struct buf *b, uint16_t h, bool sectors, bool in, const uint8_t *cdb,
    uint8_t cblen)
{
	uint8_t c[16];

	sb_op(b, SB_CBW, (uint8_t)((sectors ? 0x80 : 0) | (in ? 0x40 : 0)));
	buf_le16(b, h);
	buf_u8(b, cblen);
	memset(c, 0, sizeof(c));
	memcpy(c, cdb, cblen > 16 ? 16 : cblen);
	buf_add(b, c, sizeof(c));
}

static void
sb_in(struct buf *b, uint16_t len, bool sectors, bool snok)
{
	sb_op(b, SB_IN, (uint8_t)((snok ? 0x80 : 0) | (sectors ? 0x40 : 0)));
	buf_le16(b, len);
}

static void
sb_fill(struct buf *b, uint16_t len, bool sectors)
{
	sb_op(b, SB_FILL, sectors ? 0x80 : 0);
	buf_le16(b, len);
}

static void
sb_ctrl(struct buf *b, uint8_t type, uint8_t req, uint16_t value,
    uint16_t index, uint16_t length)
{
	uint8_t setup[8] = {
		type, req, (uint8_t)value, (uint8_t)(value >> 8),
		(uint8_t)index, (uint8_t)(index >> 8),
		(uint8_t)length, (uint8_t)(length >> 8)
	};

	sb_op(b, SB_CTRL, 0);
	buf_add(b, setup, sizeof(setup));
	if (!(type & 0x80))
		buf_zero(b, length);
}

/* CBW, data phase of h bytes the right way, CSW. */
static void
sb_cmd(struct buf *b, uint16_t h, bool in, const uint8_t *cdb, uint8_t cblen)
{
	sb_cbw(b, h, false, in, cdb, cblen);
	if (h > 0 && in)
		sb_in(b, h, false, false);
	else if (h > 0)
		sb_fill(b, h, false);
	sb_in(b, MSC_CSW_SIZE, false, false);
}

#define SB(b, h, in, ...) do {						\
	const uint8_t cdb_[] = { __VA_ARGS__ };				\
	sb_cmd((b), (h), (in), cdb_, sizeof(cdb_));			\
} while (0)

static void
seeds_scsi_info(struct buf *b)
{
	const char *t = "scsi_bot";

#define ONE(name, h, in, ...) do {					\
	buf_reset(b);							\
	buf_u8(b, 0);							\
	SB(b, h, in, __VA_ARGS__);					\
	seed_buf(t, name, b);						\
} while (0)
	ONE("tur", 0, false, 0x00, 0, 0, 0, 0, 0);
	ONE("inquiry", 36, true, 0x12, 0, 0, 0, 36, 0);
	ONE("inquiry-vpd00", 255, true, 0x12, 1, 0x00, 0, 255, 0);
	ONE("inquiry-vpd80", 255, true, 0x12, 1, 0x80, 0, 255, 0);
	ONE("inquiry-vpd83", 255, true, 0x12, 1, 0x83, 0, 255, 0);
	ONE("inquiry-vpdb0", 255, true, 0x12, 1, 0xb0, 0, 255, 0);
	ONE("request-sense", 18, true, 0x03, 0, 0, 0, 18, 0);
	ONE("mode-sense6", 192, true, 0x1a, 0, 0x3f, 0, 192, 0);
	ONE("mode-sense6-sub", 192, true, 0x1a, 0, 0x3f, 0xff, 192, 0);
	ONE("mode-sense10", 200, true, 0x5a, 0, 0x08, 0, 0, 0, 0, 0, 200, 0);
	ONE("mode-sense10-iec", 200, true, 0x5a, 0, 0x1c, 0, 0, 0, 0, 0, 200,
	    0);
	ONE("mode-sense-saved", 192, true, 0x1a, 0, 0xff, 0, 192, 0);
	ONE("read-capacity10", 8, true, 0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	ONE("read-capacity16", 32, true, 0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 32, 0, 0);
	ONE("read-format-capacities", 252, true, 0x23, 0, 0, 0, 0, 0, 0, 0,
	    252, 0);
	ONE("report-luns", 16, true, 0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0);
	ONE("unknown-opcode", 0, false, 0x4d, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	ONE("mode-select", 0, false, 0x15, 0, 0, 0, 0, 0);
	ONE("short-cdb", 8, true, 0x25, 0, 0, 0, 0, 0);
#undef ONE
}

static void
seeds_scsi_io(struct buf *b)
{
	const char *t = "scsi_bot";

#define ONE(name, flags, h, in, ...) do {				\
	buf_reset(b);							\
	buf_u8(b, flags);						\
	SB(b, h, in, __VA_ARGS__);					\
	SB(b, 18, true, 0x03, 0, 0, 0, 18, 0);				\
	seed_buf(t, name, b);						\
} while (0)
	ONE("read6", 0, 1024, true, 0x08, 0, 0, 1, 2, 0);
	ONE("read10", 0, 4096, true, 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0);
	ONE("read12", 0, 1024, true, 0xa8, 0, 0, 0, 0, 2, 0, 0, 0, 2, 0, 0);
	ONE("read16", 0, 512, true, 0x88, 0, 0, 0, 0, 0, 0, 0, 0, 3, 0, 0, 0,
	    1, 0, 0);
	ONE("read10-out-of-range", 0, 512, true, 0x28, 0, 0, 0, 2, 0, 0, 0,
	    1, 0);
	ONE("write6", 0, 512, false, 0x0a, 0, 0, 4, 1, 0);
	ONE("write10-fua", 0, 1024, false, 0x2a, 0x08, 0, 0, 0, 9, 0, 0, 2,
	    0);
	ONE("write12", 0, 512, false, 0xaa, 0, 0, 0, 0, 7, 0, 0, 0, 1, 0, 0);
	ONE("write16", 0, 512, false, 0x8a, 0, 0, 0, 0, 0, 0, 0, 0, 5, 0, 0,
	    0, 1, 0, 0);
	ONE("write10-readonly", 1, 512, false, 0x2a, 0, 0, 0, 0, 1, 0, 0, 1,
	    0);
	ONE("verify10", 0, 0, false, 0x2f, 0, 0, 0, 0, 0, 0, 0, 4, 0);
	ONE("verify10-bytchk", 0, 512, false, 0x2f, 0x02, 0, 0, 0, 0, 0, 0,
	    1, 0);
	ONE("verify16", 0, 0, false, 0x8f, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    2, 0, 0);
	ONE("sync-cache10", 0, 0, false, 0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	ONE("sync-cache16", 0, 0, false, 0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	    0, 0, 0, 0, 0);
	ONE("eject", 0, 0, false, 0x1b, 0, 0, 0, 0x02, 0);
	ONE("prevent-eject", 0, 0, false, 0x1e, 0, 0, 0, 1, 0);
#undef ONE
	/* Eject refused while prevented; then allowed, and NOT READY. */
	buf_reset(b);
	buf_u8(b, 0);
	SB(b, 0, false, 0x1e, 0, 0, 0, 1, 0);
	SB(b, 0, false, 0x1b, 0, 0, 0, 0x02, 0);
	SB(b, 0, false, 0x1e, 0, 0, 0, 0, 0);
	SB(b, 0, false, 0x1b, 0, 0, 0, 0x02, 0);
	SB(b, 0, false, 0x00, 0, 0, 0, 0, 0);
	SB(b, 18, true, 0x03, 0, 0, 0, 18, 0);
	SB(b, 512, true, 0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	SB(b, 0, false, 0x1b, 0, 0, 0, 0x03, 0);
	seed_buf(t, "prevent-then-eject", b);
}

static void
seeds_scsi_bot(struct buf *b)
{
	const char *t = "scsi_bot";
	const uint8_t read8[] = { 0x28, 0, 0, 0, 0, 0, 0, 0, 8, 0 };
	const uint8_t inq[] = { 0x12, 0, 0, 0, 36, 0 };

	/* Cases 2/3, 5, 7, 8, 9, 10, 11, 13 of BOT 6.7. */
	buf_reset(b);
	buf_u8(b, 0);
	sb_cmd(b, 0, true, read8, sizeof(read8));
	sb_cmd(b, 8192, true, read8, sizeof(read8));
	sb_cmd(b, 1024, true, read8, sizeof(read8));
	sb_cmd(b, 4096, false, read8, sizeof(read8));
	sb_cmd(b, 100, false, inq, sizeof(inq));
	seed_buf(t, "bot-cases", b);
	/* Multi-URB data phase with SHORT_NOT_OK, queued before the CBW. */
	buf_reset(b);
	buf_u8(b, 0);
	sb_in(b, 2, true, true);
	sb_in(b, 2, true, true);
	sb_in(b, 2, true, true);
	sb_cbw(b, 8, true, true, read8, sizeof(read8));
	sb_op(b, SB_UNLINK, 0);
	buf_u8(b, 1);
	sb_in(b, MSC_CSW_SIZE, false, false);
	seed_buf(t, "queued-snok", b);
	/* Invalid CBW (wrong size), meaningless CBW (LUN 1), recovery. */
	buf_reset(b);
	buf_u8(b, 0);
	sb_op(b, SB_OUT, 0);
	buf_le16(b, 5);
	buf_add(b, "USBC!", 5);
	sb_in(b, MSC_CSW_SIZE, false, false);
	sb_ctrl(b, 0x21, 0xff, 0, 0, 0);
	sb_ctrl(b, 0x02, 0x01, 0, 0x81, 0);
	sb_ctrl(b, 0x02, 0x01, 0, 0x02, 0);
	sb_op(b, SB_CBW, 0x10);
	buf_le16(b, 0);
	buf_u8(b, 1);
	buf_u8(b, 6);
	buf_zero(b, 16);
	sb_in(b, MSC_CSW_SIZE, false, false);
	sb_ctrl(b, 0x82, 0x00, 0, 0x81, 2);
	sb_op(b, SB_REATTACH, 0);
	SB(b, 0, false, 0x00, 0, 0, 0, 0, 0);
	seed_buf(t, "invalid-cbw-recovery", b);
	/* Every standard and class control request. */
	buf_reset(b);
	buf_u8(b, 2);
	sb_ctrl(b, 0x80, 0x06, 0x0100, 0, 18);
	sb_ctrl(b, 0x80, 0x06, 0x0200, 0, 32);
	sb_ctrl(b, 0x80, 0x06, 0x0600, 0, 10);
	sb_ctrl(b, 0x80, 0x06, 0x0300, 0, 255);
	sb_ctrl(b, 0x80, 0x06, 0x0303, 0x409, 255);
	sb_ctrl(b, 0x80, 0x06, 0x03ee, 0, 255);
	sb_ctrl(b, 0x80, 0x06, 0x0700, 0, 9);
	sb_ctrl(b, 0x00, 0x09, 1, 0, 0);
	sb_ctrl(b, 0x80, 0x08, 0, 0, 1);
	sb_ctrl(b, 0x80, 0x00, 0, 0, 2);
	sb_ctrl(b, 0x81, 0x00, 0, 0, 2);
	sb_ctrl(b, 0x82, 0x00, 0, 0x02, 2);
	sb_ctrl(b, 0x02, 0x03, 0, 0x02, 0);
	sb_ctrl(b, 0x00, 0x03, 1, 0, 0);
	sb_ctrl(b, 0x00, 0x01, 1, 0, 0);
	sb_ctrl(b, 0x00, 0x05, 3, 0, 0);
	sb_ctrl(b, 0x81, 0x0a, 0, 0, 1);
	sb_ctrl(b, 0x01, 0x0b, 0, 0, 0);
	sb_ctrl(b, 0xa1, 0xfe, 0, 0, 1);
	sb_ctrl(b, 0x21, 0xff, 0, 0, 0);
	sb_ctrl(b, 0x40, 0x01, 0, 0, 8);
	sb_ctrl(b, 0x00, 0x09, 2, 0, 0);
	seed_buf(t, "control", b);
}

static void
seeds_scsi(void)
{
	struct buf b = { NULL, 0, 0 };

	seeds_scsi_info(&b);
	seeds_scsi_io(&b);
	seeds_scsi_bot(&b);
	free(b.p);
}

/* --- api_json -------------------------------------------------------- */

static void
seeds_api(void)
{
	static const char *const bodies[][2] = {
		{ "token", "{\"name\": \"alpha\"}" },
		{ "token-size-int", "{\"name\": \"a\", \"size\": 4194304, "
		    "\"writable\": true}" },
		{ "token-size-str", "{\"name\": \"b\", \"size\": \"4M\"}" },
		{ "token-size-k", "{\"name\": \"b\", \"size\": \"2048K\"}" },
		{ "token-size-bad", "{\"name\": \"c\", \"size\": \"65M\"}" },
		{ "token-writable-bad", "{\"name\": \"c\", \"writable\": 1}" },
		{ "unknown-field", "{\"name\": \"c\", \"x\": null}" },
		{ "duplicate-key", "{\"name\": \"a\", \"name\": \"b\"}" },
		{ "not-object", "[1, 2, 3]" },
		{ "malformed", "{\"name\": " },
		{ "nul-in-string", "{\"name\": \"a\\u0000b\"}" },
		{ "utf8", "{\"name\": \"\xc3\xa9t\xc3\xa9\"}" },
		{ "vm", "{\"name\": \"vm1\", \"addresses\": [\"10.0.0.0/8\", "
		    "\"fd00::/8\", \"192.168.1.7\"]}" },
		{ "vm-v6", "{\"name\": \"vm2\", \"addresses\": "
		    "[\"::ffff:10.0.0.0/104\", \"::1\"]}" },
		{ "vm-empty", "{\"name\": \"v\", \"addresses\": []}" },
		{ "vm-not-string", "{\"name\": \"v\", \"addresses\": [1]}" },
		{ "assign", "{\"token\": \"alpha\", \"vm\": \"vm1\"}" },
		{ "challenge", "{\"token\": \"0123456789ABCDEF\"}" },
		{ "verify", "{\"token\": \"alpha\", \"nonce\": "
		    "\"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwdHh8=\", "
		    "\"signature\": \"AAECAwQFBgcICQoLDA0ODxAREhMUFRYXGBkaGxwd"
		    "Hh8gISIjJCUmJygpKissLS4vMDEyMzQ1Njc4OTo7PD0+Pw==\"}" },
		{ "verify-bad-b64", "{\"token\": \"alpha\", "
		    "\"nonce\": \"AB=C\", \"signature\": \"\"}" },
		{ "cidr4", "10.1.0.0/16" },
		{ "cidr6", "2001:db8::/32" },
		{ "cidr-host-bits", "10.1.2.3/8" },
		{ "b64", "aGVsbG8gd29ybGQ=" },
		{ "b64-pad2", "YQ==" },
		{ "empty", "" },
	};

	for (size_t i = 0; i < sizeof(bodies) / sizeof(bodies[0]); i++)
		seed_str("api_json", bodies[i][0], bodies[i][1]);
}

/* --- fat ------------------------------------------------------------- */

/* Writes mode byte + the device up to its last non-zero byte. */
static void
seed_image(const char *name, uint8_t mode, const uint8_t *img, size_t len)
{
	struct buf b = { NULL, 0, 0 };

	while (len > 0 && img[len - 1] == 0)
		len--;
	buf_u8(&b, mode);
	buf_add(&b, img, len);
	seed_buf("fat", name, &b);
	free(b.p);
}

static int
token_build(uint8_t *img, uint64_t size)
{
	char id[] = "0123456789ABCDEF", name[] = "seed";
	char url[] = "https://vtoken.example:3241";
	struct token_image_info info = { id, name, url, NULL };
	struct token_image_opts opts = { size, 0x1234abcd, 1764187200 };
	struct token_cred *cred;
	char *cause = NULL;
	int rv;

	cred = token_cred_from_pem(seed_key_pem, strlen(seed_key_pem),
	    &cause);
	if (cred == NULL) {
		fprintf(stderr, "make_seeds: key: %s\n", cause);
		exit(1);
	}
	rv = token_image_build(img, &opts, &info, cred, &cause);
	if (rv != 0)
		fprintf(stderr, "make_seeds: token image: %s\n", cause);
	free(cause);
	token_cred_free(cred);
	return rv;
}

/* A 1 MiB token image cut down to its used part, BPB patched. */
static void
seed_small_token(uint8_t *img)
{
	size_t len = 1u << 20;
	struct buf b = { NULL, 0, 0 };

	while (len > 0 && img[len - 1] == 0)
		len--;
	len = (len + 511) / 512 * 512 + 4096;
	put_le16(img + 0x13, (uint16_t)(len / 512));
	/* fat_mem_read on exactly len bytes: the zero tail stays. */
	buf_u8(&b, 0);
	buf_add(&b, img, len);
	seed_buf("fat", "token-small-exact", &b);
	free(b.p);
}

static void
seeds_fat_files(uint8_t *img)
{
	static const char json[] = "{\"version\":1}";
	char *cause = NULL;
	struct fat_file files[] = {
		{ "README.TXT", "hello\n", 6, FAT_ATTR_ARCHIVE },
		{ "a long file name.text", json, sizeof(json) - 1,
		    FAT_ATTR_READONLY },
		{ "EMPTY", NULL, 0, 0 },
		{ "lower.txt", "x", 1, FAT_ATTR_HIDDEN },
	};
	struct fat_build_opts opts = { 1u << 20, "FILES", 7, 1764187200 };

	if (fat_build(img, &opts, files, 4, &cause) != 0) {
		fprintf(stderr, "make_seeds: fat_build: %s\n", cause);
		exit(1);
	}
	seed_image("files", 1, img, opts.size);
}

static void
seeds_fat(void)
{
	static const uint64_t sizes[] = { 1u << 20, 8u << 20, 16u << 20 };
	static const char *const names[] = { "token-1m", "token-8m",
	    "token-16m" };
	uint8_t *img = calloc(1, 16u << 20);

	if (img == NULL)
		die("calloc");
	for (size_t i = 0; i < 3; i++) {
		memset(img, 0, sizes[i]);
		if (token_build(img, sizes[i]) != 0)
			exit(1);
		seed_image(names[i], 1, img, sizes[i]);
	}
	memset(img, 0, 1u << 20);
	token_build(img, 1u << 20);
	seed_small_token(img);
	memset(img, 0, 1u << 20);
	seeds_fat_files(img);
	free(img);
}

int
main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: make_seeds CORPUS_DIR\n");
		return 2;
	}
	outdir = argv[1];
	seeds_proto();
	seeds_session();
	seeds_scsi();
	seeds_api();
	seeds_fat();
	printf("make_seeds: %d seeds written under %s\n", nwritten, outdir);
	return 0;
}
