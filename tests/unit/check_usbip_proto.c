/*
 * check_usbip_proto: golden-byte tests of the USB/IP codec
 * (src/server/usbip_proto.[ch]) against the wire layout in
 * docs/PROTOCOL.md, "USB/IP": op_common, OP_REQ_IMPORT busid, the 312-byte
 * device record, interface entries and the four 48-byte URB-phase headers.
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <stdio.h>
#include <string.h>

#include "server/usbip/usbip_proto.h"

/* Byte pattern that must never leak into padding. */
#define JUNK	0xa5

static void
fill_dev(struct usbip_dev_info *d)
{
	memset(d, 0, sizeof(*d));
	snprintf(d->path, sizeof(d->path), "/sys/devices/vtoken/1-3");
	snprintf(d->busid, sizeof(d->busid), "1-3");
	d->busnum = 1;
	d->devnum = 3;
	d->speed = 3;
	d->vendor = 0x1209;
	d->product = 0xabcd;
	d->bcd_device = 0x0100;
	d->dev_class = 0x00;
	d->dev_subclass = 0x00;
	d->dev_proto = 0x00;
	d->config_value = 1;
	d->num_configs = 1;
	d->num_ifaces = 1;
	d->ifaces[0].cls = 0x08;
	d->ifaces[0].subcls = 0x06;
	d->ifaces[0].proto = 0x50;
}

/* Fills a header struct with junk so that unused union bytes are not 0. */
static void
junk_hdr(struct usbip_hdr *h, uint32_t command)
{
	memset(h, JUNK, sizeof(*h));
	h->command = command;
}

/* --- op_common --------------------------------------------------------- */

START_TEST(op_common_put_req_devlist)
{
	static const uint8_t want[] = { 0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0 };
	struct usbip_op_common op = { USBIP_VERSION, USBIP_OP_REQ_DEVLIST, 0 };
	uint8_t out[USBIP_OP_COMMON_SIZE];

	memset(out, JUNK, sizeof(out));
	usbip_op_common_put(out, &op);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(op_common_put_rep_import_status)
{
	static const uint8_t want[] = { 0x01, 0x11, 0x00, 0x03, 0, 0, 0, 4 };
	struct usbip_op_common op = {
		USBIP_VERSION, USBIP_OP_IMPORT, USBIP_ST_NODEV
	};
	uint8_t out[USBIP_OP_COMMON_SIZE];

	usbip_op_common_put(out, &op);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(op_common_get_req_import)
{
	static const uint8_t in[] = { 0x01, 0x11, 0x80, 0x03,
	    0x12, 0x34, 0x56, 0x78 };
	struct usbip_op_common op;

	ck_assert_uint_eq(usbip_op_common_get(in, sizeof(in), &op), 8);
	ck_assert_uint_eq(op.version, 0x0111);
	ck_assert_uint_eq(op.code, USBIP_OP_REQ_IMPORT);
	ck_assert_uint_eq(op.status, 0x12345678);
}
END_TEST

START_TEST(op_common_get_short)
{
	static const uint8_t in[] = { 0x01, 0x11, 0x80, 0x05, 0, 0, 0, 0 };
	struct usbip_op_common op = { 0xdead, 0xbeef, 42 };

	/* A peer split the message: 4 bytes (and 7) are not enough. */
	ck_assert_uint_eq(usbip_op_common_get(in, 4, &op), 0);
	ck_assert_uint_eq(usbip_op_common_get(in, 7, &op), 0);
	ck_assert_uint_eq(usbip_op_common_get(in, 0, &op), 0);
	ck_assert_uint_eq(op.version, 0xdead);
	/* Extra bytes after op_common are not consumed. */
	ck_assert_uint_eq(usbip_op_common_get(in, 100, &op), 8);
	ck_assert_uint_eq(op.code, 0x8005);
}
END_TEST

START_TEST(op_common_roundtrip)
{
	struct usbip_op_common a = { 0x0111, 0x0005, 0xfffffffe }, b;
	uint8_t out[USBIP_OP_COMMON_SIZE];

	usbip_op_common_put(out, &a);
	ck_assert_uint_eq(out[4], 0xff);
	ck_assert_uint_eq(out[7], 0xfe);
	ck_assert_uint_eq(usbip_op_common_get(out, sizeof(out), &b), 8);
	ck_assert_uint_eq(b.version, a.version);
	ck_assert_uint_eq(b.code, a.code);
	ck_assert_uint_eq(b.status, a.status);
}
END_TEST

/* --- OP_REQ_IMPORT busid ----------------------------------------------- */

START_TEST(import_busid_ok)
{
	uint8_t body[USBIP_BUSID_SIZE];
	char busid[USBIP_BUSID_SIZE];

	memset(body, 0, sizeof(body));
	memcpy(body, "1-3", 3);
	memset(busid, 'x', sizeof(busid));
	ck_assert_int_eq(usbip_import_busid_get(body, busid), 0);
	ck_assert_str_eq(busid, "1-3");
}
END_TEST

START_TEST(import_busid_garbage_after_nul)
{
	uint8_t body[USBIP_BUSID_SIZE];
	char busid[USBIP_BUSID_SIZE];

	/* Whatever follows the NUL does not belong to the busid. */
	memset(body, 'Z', sizeof(body));
	memcpy(body, "1-12", 5);
	ck_assert_int_eq(usbip_import_busid_get(body, busid), 0);
	ck_assert_str_eq(busid, "1-12");
}
END_TEST

START_TEST(import_busid_longest)
{
	uint8_t body[USBIP_BUSID_SIZE];
	char busid[USBIP_BUSID_SIZE];

	/* 31 characters and the NUL in the last byte: still acceptable. */
	memset(body, 'a', sizeof(body));
	body[USBIP_BUSID_SIZE - 1] = '\0';
	ck_assert_int_eq(usbip_import_busid_get(body, busid), 0);
	ck_assert_uint_eq(strlen(busid), USBIP_BUSID_SIZE - 1);
}
END_TEST

START_TEST(import_busid_empty)
{
	uint8_t body[USBIP_BUSID_SIZE];
	char busid[USBIP_BUSID_SIZE];

	memset(body, 0, sizeof(body));
	ck_assert_int_eq(usbip_import_busid_get(body, busid), -1);
	/* An empty busid with junk behind the NUL is still empty. */
	memset(body, 'x', sizeof(body));
	body[0] = '\0';
	ck_assert_int_eq(usbip_import_busid_get(body, busid), -1);
}
END_TEST

START_TEST(import_busid_unterminated)
{
	uint8_t body[USBIP_BUSID_SIZE];
	char busid[USBIP_BUSID_SIZE];

	memset(body, '1', sizeof(body));
	ck_assert_int_eq(usbip_import_busid_get(body, busid), -1);
}
END_TEST

/* --- device record and interfaces ------------------------------------- */

START_TEST(dev_put_offsets)
{
	static const uint8_t tail[] = {
		/* 0x120 busnum */ 0x00, 0x00, 0x00, 0x01,
		/* 0x124 devnum */ 0x00, 0x00, 0x00, 0x03,
		/* 0x128 speed */ 0x00, 0x00, 0x00, 0x03,
		/* 0x12c idVendor */ 0x12, 0x09,
		/* 0x12e idProduct */ 0xab, 0xcd,
		/* 0x130 bcdDevice */ 0x01, 0x00,
		/* 0x132 class, subclass, protocol */ 0x00, 0x00, 0x00,
		/* 0x135 config value, nconfigs, nifaces */ 0x01, 0x01, 0x01,
	};
	struct usbip_dev_info d;
	uint8_t out[USBIP_DEV_SIZE];
	uint8_t zero[USBIP_PATH_SIZE];

	ck_assert_uint_eq(sizeof(tail), USBIP_DEV_SIZE - 0x120);
	fill_dev(&d);
	memset(zero, 0, sizeof(zero));
	memset(out, JUNK, sizeof(out));
	usbip_dev_put(out, &d);
	ck_assert_mem_eq(out, "/sys/devices/vtoken/1-3", 23);
	/* path is NUL-padded to 256 bytes */
	ck_assert_mem_eq(out + 23, zero, USBIP_PATH_SIZE - 23);
	ck_assert_mem_eq(out + 0x100, "1-3", 3);
	ck_assert_mem_eq(out + 0x103, zero, USBIP_BUSID_SIZE - 3);
	ck_assert_mem_eq(out + 0x120, tail, sizeof(tail));
}
END_TEST

START_TEST(dev_put_long_strings_truncated)
{
	struct usbip_dev_info d;
	uint8_t out[USBIP_DEV_SIZE];

	fill_dev(&d);
	memset(d.path, 'p', sizeof(d.path));	/* not NUL-terminated */
	memset(d.busid, 'b', sizeof(d.busid));
	memset(out, JUNK, sizeof(out));
	usbip_dev_put(out, &d);
	/* Fields stay NUL-terminated on the wire and do not overlap. */
	ck_assert_uint_eq(out[USBIP_PATH_SIZE - 2], 'p');
	ck_assert_uint_eq(out[USBIP_PATH_SIZE - 1], 0);
	ck_assert_uint_eq(out[0x100], 'b');
	ck_assert_uint_eq(out[0x100 + USBIP_BUSID_SIZE - 2], 'b');
	ck_assert_uint_eq(out[0x100 + USBIP_BUSID_SIZE - 1], 0);
	ck_assert_uint_eq(out[0x120], 0);
	ck_assert_uint_eq(out[0x123], 1);
}
END_TEST

START_TEST(dev_get_roundtrip)
{
	struct usbip_dev_info a, b;
	uint8_t out[USBIP_DEV_SIZE];

	fill_dev(&a);
	a.dev_class = 0xef;
	a.dev_subclass = 0x02;
	a.dev_proto = 0x01;
	a.busnum = 0x01020304;
	usbip_dev_put(out, &a);
	memset(&b, JUNK, sizeof(b));
	ck_assert_int_eq(usbip_dev_get(out, sizeof(out), &b), 0);
	ck_assert_str_eq(b.path, a.path);
	ck_assert_str_eq(b.busid, a.busid);
	ck_assert_uint_eq(b.busnum, 0x01020304);
	ck_assert_uint_eq(b.devnum, 3);
	ck_assert_uint_eq(b.speed, 3);
	ck_assert_uint_eq(b.vendor, 0x1209);
	ck_assert_uint_eq(b.product, 0xabcd);
	ck_assert_uint_eq(b.bcd_device, 0x0100);
	ck_assert_uint_eq(b.dev_class, 0xef);
	ck_assert_uint_eq(b.dev_subclass, 0x02);
	ck_assert_uint_eq(b.dev_proto, 0x01);
	ck_assert_uint_eq(b.config_value, 1);
	ck_assert_uint_eq(b.num_configs, 1);
	ck_assert_uint_eq(b.num_ifaces, 1);
}
END_TEST

START_TEST(dev_get_short_and_unterminated)
{
	struct usbip_dev_info d;
	uint8_t in[USBIP_DEV_SIZE];

	memset(in, 'A', sizeof(in));
	ck_assert_int_eq(usbip_dev_get(in, USBIP_DEV_SIZE - 1, &d), -1);
	/* Unterminated strings from a peer come back NUL-terminated. */
	ck_assert_int_eq(usbip_dev_get(in, sizeof(in), &d), 0);
	ck_assert_uint_eq(strlen(d.path), USBIP_PATH_SIZE - 1);
	ck_assert_uint_eq(strlen(d.busid), USBIP_BUSID_SIZE - 1);
}
END_TEST

START_TEST(ifaces_put_one)
{
	static const uint8_t want[] = { 0x08, 0x06, 0x50, 0x00 };
	struct usbip_dev_info d;
	uint8_t out[4 * USBIP_MAX_IFACES];

	fill_dev(&d);
	memset(out, JUNK, sizeof(out));
	ck_assert_uint_eq(usbip_ifaces_put(out, &d), 4);
	ck_assert_mem_eq(out, want, sizeof(want));
	ck_assert_uint_eq(out[4], JUNK);	/* nothing beyond */
}
END_TEST

START_TEST(ifaces_put_none_and_capped)
{
	struct usbip_dev_info d;
	uint8_t out[4 * USBIP_MAX_IFACES + 4];

	fill_dev(&d);
	d.num_ifaces = 0;
	memset(out, JUNK, sizeof(out));
	ck_assert_uint_eq(usbip_ifaces_put(out, &d), 0);
	ck_assert_uint_eq(out[0], JUNK);

	d.num_ifaces = 200;
	for (int i = 0; i < USBIP_MAX_IFACES; i++) {
		d.ifaces[i].cls = (uint8_t)i;
		d.ifaces[i].subcls = 0x10;
		d.ifaces[i].proto = 0x20;
	}
	ck_assert_uint_eq(usbip_ifaces_put(out, &d), 4 * USBIP_MAX_IFACES);
	ck_assert_uint_eq(out[4 * 7], 7);
	ck_assert_uint_eq(out[4 * 7 + 3], 0);
	ck_assert_uint_eq(out[4 * USBIP_MAX_IFACES], JUNK);
}
END_TEST

/* --- URB-phase headers ------------------------------------------------- */

START_TEST(hdr_put_cmd_submit)
{
	static const uint8_t want[USBIP_HDR_SIZE] = {
		0x00, 0x00, 0x00, 0x01,		/* command */
		0x00, 0x00, 0x01, 0x02,		/* seqnum */
		0x00, 0x01, 0x00, 0x03,		/* devid 1-3 */
		0x00, 0x00, 0x00, 0x01,		/* direction IN */
		0x00, 0x00, 0x00, 0x00,		/* ep 0 */
		0x00, 0x00, 0x02, 0x01,	/* flags DIR_IN | SHORT_NOT_OK */
		0x00, 0x00, 0x00, 0x40,	/* transfer_buffer_length */
		0xff, 0xff, 0xff, 0xff,		/* start_frame -1 */
		0x00, 0x00, 0x00, 0x00,		/* number_of_packets */
		0x00, 0x00, 0x00, 0x08,		/* interval */
		0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00, /* setup */
	};
	static const uint8_t setup[8] = {
		0x80, 0x06, 0x00, 0x01, 0x00, 0x00, 0x40, 0x00
	};
	struct usbip_hdr h;
	uint8_t out[USBIP_HDR_SIZE];

	junk_hdr(&h, USBIP_CMD_SUBMIT);
	h.seqnum = 0x102;
	h.devid = 1 << 16 | 3;
	h.direction = USBIP_DIR_IN;
	h.ep = 0;
	h.u.submit.flags = 0x201;
	h.u.submit.length = 64;
	h.u.submit.start_frame = -1;
	h.u.submit.npackets = 0;
	h.u.submit.interval = 8;
	memcpy(h.u.submit.setup, setup, 8);
	memset(out, JUNK, sizeof(out));
	usbip_hdr_put(out, &h);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(hdr_put_ret_submit_negative_status)
{
	static const uint8_t want[USBIP_HDR_SIZE] = {
		0x00, 0x00, 0x00, 0x03,		/* RET_SUBMIT */
		0xde, 0xad, 0xbe, 0xef,		/* seqnum echoed */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, /* devid, dir, ep */
		0xff, 0xff, 0xff, 0x87,		/* status -121 */
		0x00, 0x00, 0x00, 0x24,		/* actual_length 36 */
		0x00, 0x00, 0x00, 0x00,		/* start_frame */
		0xff, 0xff, 0xff, 0xff,	/* number_of_packets -1 */
		0x00, 0x00, 0x00, 0x00,		/* error_count */
		0, 0, 0, 0, 0, 0, 0, 0,		/* padding */
	};
	struct usbip_hdr h;
	uint8_t out[USBIP_HDR_SIZE];

	junk_hdr(&h, USBIP_RET_SUBMIT);
	h.seqnum = 0xdeadbeef;
	h.devid = h.direction = h.ep = 0;
	h.u.ret_submit.status = USBIP_EREMOTEIO;
	h.u.ret_submit.actual = 36;
	h.u.ret_submit.start_frame = 0;
	h.u.ret_submit.npackets = -1;
	h.u.ret_submit.error_count = 0;
	memset(out, JUNK, sizeof(out));
	usbip_hdr_put(out, &h);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(hdr_put_ret_submit_epipe)
{
	static const uint8_t epipe[] = { 0xff, 0xff, 0xff, 0xe0 };
	struct usbip_hdr h;
	uint8_t out[USBIP_HDR_SIZE];

	memset(&h, 0, sizeof(h));
	h.command = USBIP_RET_SUBMIT;
	h.u.ret_submit.status = USBIP_EPIPE;
	usbip_hdr_put(out, &h);
	ck_assert_mem_eq(out + 0x14, epipe, 4);
}
END_TEST

START_TEST(hdr_put_cmd_unlink)
{
	static const uint8_t want[USBIP_HDR_SIZE] = {
		0x00, 0x00, 0x00, 0x02,
		0x00, 0x00, 0x00, 0x0b,
		0x00, 0x01, 0x00, 0x02,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x00,
		0x00, 0x00, 0x00, 0x07,		/* unlink_seqnum */
		/* 24 bytes of padding */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct usbip_hdr h;
	uint8_t out[USBIP_HDR_SIZE];

	junk_hdr(&h, USBIP_CMD_UNLINK);
	h.seqnum = 11;
	h.devid = 1 << 16 | 2;
	h.direction = 0;
	h.ep = 0;
	h.u.unlink.seqnum = 7;
	memset(out, JUNK, sizeof(out));
	usbip_hdr_put(out, &h);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(hdr_put_ret_unlink_padding)
{
	static const uint8_t want[USBIP_HDR_SIZE] = {
		0x00, 0x00, 0x00, 0x04,
		0x00, 0x00, 0x00, 0x0c,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0xff, 0xff, 0xff, 0x98,		/* status -104 */
		/* 24 bytes of padding, all zero */
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
		0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0,
	};
	struct usbip_hdr h;
	uint8_t out[USBIP_HDR_SIZE];

	junk_hdr(&h, USBIP_RET_UNLINK);
	h.seqnum = 12;
	h.devid = h.direction = h.ep = 0;
	h.u.ret_unlink.status = USBIP_ECONNRESET;
	memset(out, JUNK, sizeof(out));
	usbip_hdr_put(out, &h);
	ck_assert_mem_eq(out, want, sizeof(want));
}
END_TEST

START_TEST(hdr_get_cmd_submit)
{
	static const uint8_t in[USBIP_HDR_SIZE] = {
		0x00, 0x00, 0x00, 0x01,
		0x00, 0x00, 0x00, 0x2a,
		0x00, 0x01, 0x00, 0x03,
		0x00, 0x00, 0x00, 0x00,		/* OUT */
		0x00, 0x00, 0x00, 0x02,		/* ep 2 */
		0x00, 0x00, 0x00, 0x00,
		0x80, 0x00, 0x00, 0x00,		/* length 2^31: raw */
		0xff, 0xff, 0xff, 0xfe,
		0xde, 0xad, 0xbe, 0xef,		/* garbage npackets */
		0x00, 0x00, 0x00, 0x00,
		1, 2, 3, 4, 5, 6, 7, 8,
	};
	static const uint8_t setup[8] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	struct usbip_hdr h;

	ck_assert_int_eq(usbip_hdr_get(in, sizeof(in), &h), USBIP_HDR_SIZE);
	ck_assert_uint_eq(h.command, USBIP_CMD_SUBMIT);
	ck_assert_uint_eq(h.seqnum, 42);
	ck_assert_uint_eq(h.devid, 0x10003);
	ck_assert_uint_eq(h.direction, USBIP_DIR_OUT);
	ck_assert_uint_eq(h.ep, 2);
	ck_assert_uint_eq(h.u.submit.flags, 0);
	ck_assert_uint_eq(h.u.submit.length, 0x80000000u);
	ck_assert_int_eq(h.u.submit.start_frame, -2);
	ck_assert_int_eq(h.u.submit.npackets, (int32_t)0xdeadbeef);
	ck_assert_int_eq(h.u.submit.interval, 0);
	ck_assert_mem_eq(h.u.submit.setup, setup, 8);
}
END_TEST

START_TEST(hdr_get_cmd_unlink)
{
	struct usbip_hdr a, b;
	uint8_t buf[USBIP_HDR_SIZE];

	memset(&a, 0, sizeof(a));
	a.command = USBIP_CMD_UNLINK;
	a.seqnum = 0xfffffffe;
	a.devid = 0x10001;
	a.u.unlink.seqnum = 0xffffffff;
	usbip_hdr_put(buf, &a);
	ck_assert_int_eq(usbip_hdr_get(buf, sizeof(buf), &b), USBIP_HDR_SIZE);
	ck_assert_uint_eq(b.command, USBIP_CMD_UNLINK);
	ck_assert_uint_eq(b.seqnum, 0xfffffffe);
	ck_assert_uint_eq(b.devid, 0x10001);
	ck_assert_uint_eq(b.u.unlink.seqnum, 0xffffffff);
}
END_TEST

START_TEST(hdr_get_ret_roundtrip)
{
	struct usbip_hdr a, b;
	uint8_t buf[USBIP_HDR_SIZE];

	memset(&a, 0, sizeof(a));
	a.command = USBIP_RET_SUBMIT;
	a.seqnum = 5;
	a.u.ret_submit.status = USBIP_EOVERFLOW;
	a.u.ret_submit.actual = 13;
	a.u.ret_submit.start_frame = -7;
	a.u.ret_submit.npackets = -1;
	a.u.ret_submit.error_count = 3;
	usbip_hdr_put(buf, &a);
	ck_assert_int_eq(usbip_hdr_get(buf, sizeof(buf), &b), USBIP_HDR_SIZE);
	ck_assert_int_eq(b.u.ret_submit.status, -75);
	ck_assert_uint_eq(b.u.ret_submit.actual, 13);
	ck_assert_int_eq(b.u.ret_submit.start_frame, -7);
	ck_assert_int_eq(b.u.ret_submit.npackets, -1);
	ck_assert_int_eq(b.u.ret_submit.error_count, 3);

	memset(&a, 0, sizeof(a));
	a.command = USBIP_RET_UNLINK;
	a.seqnum = 6;
	a.u.ret_unlink.status = USBIP_ECONNRESET;
	usbip_hdr_put(buf, &a);
	ck_assert_int_eq(usbip_hdr_get(buf, sizeof(buf), &b), USBIP_HDR_SIZE);
	ck_assert_uint_eq(b.command, USBIP_RET_UNLINK);
	ck_assert_uint_eq(b.seqnum, 6);
	ck_assert_int_eq(b.u.ret_unlink.status, -104);
}
END_TEST

START_TEST(hdr_get_unknown_command)
{
	static const uint32_t bad[] = { 0, 5, 0x8003, 0x01000000, 0xffffffff };
	uint8_t buf[USBIP_HDR_SIZE];
	struct usbip_hdr h;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(buf, 0, sizeof(buf));
		buf[0] = (uint8_t)(bad[i] >> 24);
		buf[1] = (uint8_t)(bad[i] >> 16);
		buf[2] = (uint8_t)(bad[i] >> 8);
		buf[3] = (uint8_t)bad[i];
		ck_assert_msg(usbip_hdr_get(buf, sizeof(buf), &h) == -1,
		    "command 0x%x accepted", bad[i]);
	}
}
END_TEST

START_TEST(hdr_get_short)
{
	uint8_t buf[USBIP_HDR_SIZE];
	struct usbip_hdr h;

	memset(buf, 0, sizeof(buf));
	buf[3] = USBIP_CMD_SUBMIT;
	ck_assert_int_eq(usbip_hdr_get(buf, USBIP_HDR_SIZE - 1, &h), 0);
	ck_assert_int_eq(usbip_hdr_get(buf, 0, &h), 0);
	/* Even an unknown command needs a whole header to be judged. */
	buf[3] = 9;
	ck_assert_int_eq(usbip_hdr_get(buf, 8, &h), 0);
}
END_TEST

START_TEST(command_names)
{
	ck_assert_str_eq(usbip_command_name(USBIP_CMD_SUBMIT), "CMD_SUBMIT");
	ck_assert_str_eq(usbip_command_name(USBIP_CMD_UNLINK), "CMD_UNLINK");
	ck_assert_str_eq(usbip_command_name(USBIP_RET_SUBMIT), "RET_SUBMIT");
	ck_assert_str_eq(usbip_command_name(USBIP_RET_UNLINK), "RET_UNLINK");
	ck_assert_str_eq(usbip_command_name(77), "unknown");
}
END_TEST

static Suite *
usbip_proto_suite(void)
{
	Suite *s = suite_create("usbip_proto");
	TCase *op = tcase_create("op");
	TCase *dev = tcase_create("dev");
	TCase *hdr = tcase_create("hdr");

	tcase_add_test(op, op_common_put_req_devlist);
	tcase_add_test(op, op_common_put_rep_import_status);
	tcase_add_test(op, op_common_get_req_import);
	tcase_add_test(op, op_common_get_short);
	tcase_add_test(op, op_common_roundtrip);
	tcase_add_test(op, import_busid_ok);
	tcase_add_test(op, import_busid_garbage_after_nul);
	tcase_add_test(op, import_busid_longest);
	tcase_add_test(op, import_busid_empty);
	tcase_add_test(op, import_busid_unterminated);
	suite_add_tcase(s, op);

	tcase_add_test(dev, dev_put_offsets);
	tcase_add_test(dev, dev_put_long_strings_truncated);
	tcase_add_test(dev, dev_get_roundtrip);
	tcase_add_test(dev, dev_get_short_and_unterminated);
	tcase_add_test(dev, ifaces_put_one);
	tcase_add_test(dev, ifaces_put_none_and_capped);
	suite_add_tcase(s, dev);

	tcase_add_test(hdr, hdr_put_cmd_submit);
	tcase_add_test(hdr, hdr_put_ret_submit_negative_status);
	tcase_add_test(hdr, hdr_put_ret_submit_epipe);
	tcase_add_test(hdr, hdr_put_cmd_unlink);
	tcase_add_test(hdr, hdr_put_ret_unlink_padding);
	tcase_add_test(hdr, hdr_get_cmd_submit);
	tcase_add_test(hdr, hdr_get_cmd_unlink);
	tcase_add_test(hdr, hdr_get_ret_roundtrip);
	tcase_add_test(hdr, hdr_get_unknown_command);
	tcase_add_test(hdr, hdr_get_short);
	tcase_add_test(hdr, command_names);
	suite_add_tcase(s, hdr);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(usbip_proto_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
