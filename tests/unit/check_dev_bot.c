/*
 * check_dev_bot: the Bulk-Only Transport (src/server/device/dev_bot.[ch])
 * driven through the virtual device (dev_usb.[ch]) as a USB/IP session
 * would drive it; vt_sink records every completion.  Covers the
 * thirteen host/device cases of BOT 6.7 (docs/PROTOCOL.md, "Bulk-Only
 * Transport"), the NAK queue, invalid and meaningless CBWs, wedge and
 * reset recovery, unlink, the SHORT_NOT_OK "stale URB" rule and multi-URB
 * data phases.
 */
#include <check.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/device/dev_image.h"
#include "server/device/dev_bot.h"
#include "server/device/dev_usb.h"
#include "../lib/vt_sink.h"

#define SECTOR		DEV_IMAGE_SECTOR_SIZE
#define NSECT		64u
#define MAX_LOG		64
#define SNOK		DEV_URB_SHORT_NOT_OK
#define EP_IN		1
#define EP_OUT		2

static struct vt_sink rec;		/* every completion, in order */
static uint32_t next_seq;
static struct dev_image *img;
static struct dev_usb dev;

/*
 * Beyond what vt_sink checks (never more than asked, CVE-2016-3955): a
 * status is never positive.
 */
static void
sink_check(struct vt_sink *s, const struct dev_urb *urb,
    const struct vt_sink_rec *r)
{
	(void)s;
	(void)urb;
	ck_assert_int_le(r->status, 0);
}

static void
pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 5 + seed * 17 + 3);
}

static uint32_t
submit(uint8_t ep, bool in, uint32_t len, uint32_t flags,
    const uint8_t setup[8], const uint8_t *out, int want_rc)
{
	struct dev_urb u;

	vt_sink_urb(&u, ++next_seq, ep, in, flags, len, setup);
	ck_assert_int_eq(dev_usb_submit(&dev, &u, out, in ? 0 : len),
	    want_rc);
	return u.seqnum;
}

static uint32_t
ctrl(uint8_t type, uint8_t req, uint16_t value, uint16_t index,
    uint16_t length)
{
	uint8_t setup[8] = {
		type, req, (uint8_t)value, (uint8_t)(value >> 8),
		(uint8_t)index, (uint8_t)(index >> 8),
		(uint8_t)length, (uint8_t)(length >> 8)
	};

	return submit(0, (type & 0x80) != 0, length, 0, setup, NULL, 0);
}

static uint32_t
bulk_in(uint32_t len, uint32_t flags)
{
	return submit(EP_IN, true, len, flags, NULL, NULL, 0);
}

static uint32_t
bulk_out(const uint8_t *p, uint32_t len)
{
	return submit(EP_OUT, false, len, 0, NULL, p, 0);
}

static const struct vt_sink_rec *
must_find(uint32_t seqnum)
{
	const struct vt_sink_rec *c = vt_sink_find(&rec, seqnum);

	ck_assert_msg(c != NULL, "URB %u did not complete", seqnum);
	return c;
}

static void
expect_status(uint32_t seqnum, int32_t status, uint32_t actual)
{
	const struct vt_sink_rec *c = must_find(seqnum);

	ck_assert_int_eq(c->status, status);
	ck_assert_uint_eq(c->actual, actual);
}

/* Builds a CBW; cdb is cblen bytes (copied up to 16). */
static void
make_cbw(uint8_t cbw[MSC_CBW_SIZE], uint32_t tag, uint32_t h, bool in,
    const uint8_t *cdb, uint8_t cblen)
{
	memset(cbw, 0, MSC_CBW_SIZE);
	cbw[0] = 'U';
	cbw[1] = 'S';
	cbw[2] = 'B';
	cbw[3] = 'C';
	cbw[4] = (uint8_t)tag;
	cbw[5] = (uint8_t)(tag >> 8);
	cbw[6] = (uint8_t)(tag >> 16);
	cbw[7] = (uint8_t)(tag >> 24);
	cbw[8] = (uint8_t)h;
	cbw[9] = (uint8_t)(h >> 8);
	cbw[10] = (uint8_t)(h >> 16);
	cbw[11] = (uint8_t)(h >> 24);
	cbw[12] = in ? 0x80 : 0x00;
	cbw[13] = 0;
	cbw[14] = cblen;
	memcpy(cbw + 15, cdb, cblen > 16 ? 16 : cblen);
}

/* Sends a valid CBW and checks that the OUT URB took all 31 bytes. */
static void
send_cbw(uint32_t tag, uint32_t h, bool in, const uint8_t *cdb,
    uint8_t cblen)
{
	uint8_t cbw[MSC_CBW_SIZE];

	make_cbw(cbw, tag, h, in, cdb, cblen);
	expect_status(bulk_out(cbw, sizeof(cbw)), 0, MSC_CBW_SIZE);
}

#define CBW(tag, h, in, ...) do {					\
	const uint8_t cdb_[] = { __VA_ARGS__ };				\
	send_cbw((tag), (h), (in), cdb_, sizeof(cdb_));			\
} while (0)

/* Checks that URB seqnum received a CSW with tag, residue and status. */
static void
expect_csw(uint32_t seqnum, uint32_t tag, uint32_t residue, uint8_t status)
{
	const struct vt_sink_rec *c = must_find(seqnum);
	const uint8_t *p = c->data;

	ck_assert_int_eq(c->status, 0);
	ck_assert_uint_eq(c->actual, MSC_CSW_SIZE);
	ck_assert_mem_eq(p, "USBS", 4);
	ck_assert_uint_eq((uint32_t)p[4] | (uint32_t)p[5] << 8 |
	    (uint32_t)p[6] << 16 | (uint32_t)p[7] << 24, tag);
	ck_assert_uint_eq((uint32_t)p[8] | (uint32_t)p[9] << 8 |
	    (uint32_t)p[10] << 16 | (uint32_t)p[11] << 24, residue);
	ck_assert_uint_eq(p[12], status);
}

/* Submits a 13-byte IN URB and expects the CSW in it. */
static void
read_csw(uint32_t tag, uint32_t residue, uint8_t status)
{
	expect_csw(bulk_in(MSC_CSW_SIZE, SNOK), tag, residue, status);
}

static void
configure(void)
{
	expect_status(ctrl(0x00, 0x09, 1, 0, 0), 0, 0);
	ck_assert_uint_eq(dev.config, 1);
}

static void
clear_halt(uint16_t ep)
{
	expect_status(ctrl(0x02, 0x01, 0, ep, 0), 0, 0);
}

static void
bot_reset(void)
{
	expect_status(ctrl(0x21, 0xff, 0, 0, 0), 0, 0);
}

/* A full TEST UNIT READY round trip; proves the transport is healthy. */
static void
tur_ok(uint32_t tag)
{
	CBW(tag, 0, false, 0x00, 0, 0, 0, 0, 0);
	read_csw(tag, 0, MSC_CSW_PASSED);
}

static void
dev_setup(void)
{
	uint8_t sect[SECTOR];

	img = dev_image_new((uint64_t)NSECT * SECTOR);
	ck_assert_ptr_nonnull(img);
	for (unsigned lba = 0; lba < NSECT; lba++) {
		pattern(sect, sizeof(sect), lba);
		ck_assert_int_eq(dev_image_write(img, (uint64_t)lba * SECTOR,
		    sect, SECTOR), 0);
	}
	vt_sink_init(&rec, MAX_LOG, sink_check, NULL);
	next_seq = 100;
	dev_usb_init(&dev, &vt_sink_ident, img);
	dev_usb_attach(&dev, &rec.sink, 16, 64u << 20);
	configure();
	vt_sink_clear(&rec);
}

static void
dev_teardown(void)
{
	dev_usb_detach(&dev);
	vt_sink_free(&rec);
	dev_image_free(img);
	img = NULL;
}

/* Checks that sector lba of the image holds pattern seed. */
static void
expect_sector(unsigned lba, unsigned seed)
{
	uint8_t want[SECTOR];

	pattern(want, sizeof(want), seed);
	ck_assert_msg(dev_image_compare(img, (uint64_t)lba * SECTOR, want,
	    SECTOR) == 0, "sector %u", lba);
}

/* --- the thirteen cases -------------------------------------------------- */

START_TEST(case1_hn_dn)
{
	tur_ok(1);
	/* A failing command without data: status 1, residue 0. */
	dev.lun.ejected = true;
	CBW(2, 0, false, 0x00, 0, 0, 0, 0, 0);
	read_csw(2, 0, MSC_CSW_FAILED);
}
END_TEST

START_TEST(case2_hn_lt_di)
{
	CBW(3, 0, true, 0x12, 0, 0, 0, 36, 0);		/* INQUIRY 36 */
	read_csw(3, 0, MSC_CSW_PHASE_ERROR);
	tur_ok(4);
}
END_TEST

START_TEST(case3_hn_lt_do)
{
	CBW(5, 0, false, 0x2a, 0, 0, 0, 0, 7, 0, 0, 1, 0);
	read_csw(5, 0, MSC_CSW_PHASE_ERROR);
	/* The next OUT is a CBW again, not write data. */
	tur_ok(6);
	expect_sector(7, 7);
}
END_TEST

START_TEST(case4_hi_dn_short_not_ok)
{
	uint32_t d;

	CBW(7, 512, true, 0x00, 0, 0, 0, 0, 0);	/* TUR, H=512 IN */
	d = bulk_in(512, SNOK);
	expect_status(d, DEV_URB_EREMOTEIO, 0);
	read_csw(7, 512, MSC_CSW_PASSED);
}
END_TEST

START_TEST(case4_hi_dn_short_ok)
{
	uint32_t d;

	CBW(8, 512, true, 0x00, 0, 0, 0, 0, 0);
	d = bulk_in(512, 0);
	expect_status(d, 0, 0);
	read_csw(8, 512, MSC_CSW_PASSED);
}
END_TEST

START_TEST(case4_failed_read)
{
	/* READ(10) beyond the end: no data, status 1, residue H. */
	CBW(9, 1024, true, 0x28, 0, 0, 0, 0, 0x40, 0, 0, 2, 0);
	expect_status(bulk_in(1024, 0), 0, 0);
	read_csw(9, 1024, MSC_CSW_FAILED);
	ck_assert_uint_eq(dev.lun.sense.key, 0x05);
	ck_assert_uint_eq(dev.lun.sense.asc, 0x21);
}
END_TEST

START_TEST(case5_hi_gt_di)
{
	const struct vt_sink_rec *c;
	uint32_t d;

	CBW(10, 96, true, 0x12, 0, 0, 0, 36, 0);	/* INQUIRY 36 */
	d = bulk_in(96, 0);
	c = must_find(d);
	ck_assert_int_eq(c->status, 0);
	ck_assert_uint_eq(c->actual, 36);
	ck_assert_uint_eq(c->data[1], 0x80);
	ck_assert_mem_eq(c->data + 8, "vtoken  ", 8);
	read_csw(10, 60, MSC_CSW_PASSED);
}
END_TEST

START_TEST(case5_split_urbs)
{
	/* The host's data phase in two URBs; the first is filled exactly. */
	CBW(11, 96, true, 0x12, 0, 0, 0, 36, 0);
	expect_status(bulk_in(36, SNOK), 0, 36);
	expect_status(bulk_in(60, 0), 0, 0);
	read_csw(11, 60, MSC_CSW_PASSED);
}
END_TEST

START_TEST(case6_hi_di)
{
	const struct vt_sink_rec *c;
	uint8_t want[SECTOR];

	CBW(12, 512, true, 0x28, 0, 0, 0, 0, 9, 0, 0, 1, 0);
	c = must_find(bulk_in(512, SNOK));
	ck_assert_int_eq(c->status, 0);
	ck_assert_uint_eq(c->actual, 512);
	pattern(want, sizeof(want), 9);
	ck_assert_mem_eq(c->data, want, SECTOR);
	read_csw(12, 0, MSC_CSW_PASSED);
}
END_TEST

START_TEST(case7_hi_lt_di)
{
	const struct vt_sink_rec *c;
	uint8_t want[SECTOR];

	/* READ(10) of 2 blocks into H=512. */
	CBW(13, 512, true, 0x28, 0, 0, 0, 0, 2, 0, 0, 2, 0);
	c = must_find(bulk_in(512, SNOK));
	ck_assert_int_eq(c->status, 0);
	ck_assert_uint_eq(c->actual, 512);
	pattern(want, sizeof(want), 2);
	ck_assert_mem_eq(c->data, want, SECTOR);
	read_csw(13, 0, MSC_CSW_PHASE_ERROR);
	tur_ok(14);
}
END_TEST

START_TEST(case8_hi_do)
{
	/* WRITE(10) with an IN CBW: nothing moves, phase error. */
	CBW(15, 512, true, 0x2a, 0, 0, 0, 0, 3, 0, 0, 1, 0);
	expect_status(bulk_in(512, 0), 0, 0);
	read_csw(15, 0, MSC_CSW_PHASE_ERROR);
	expect_sector(3, 3);
	tur_ok(16);
}
END_TEST

START_TEST(case9_ho_dn)
{
	uint8_t junk[512];

	memset(junk, 0xab, sizeof(junk));
	CBW(17, 512, false, 0x00, 0, 0, 0, 0, 0);	/* TUR, H=512 OUT */
	expect_status(bulk_out(junk, sizeof(junk)), 0, 512);
	read_csw(17, 512, MSC_CSW_PASSED);
	tur_ok(18);
}
END_TEST

START_TEST(case10_ho_di)
{
	uint8_t junk[512];

	memset(junk, 0xcd, sizeof(junk));
	CBW(19, 512, false, 0x28, 0, 0, 0, 0, 4, 0, 0, 1, 0);	/* READ */
	expect_status(bulk_out(junk, sizeof(junk)), 0, 512);
	read_csw(19, 0, MSC_CSW_PHASE_ERROR);
	expect_sector(4, 4);
	tur_ok(20);
}
END_TEST

START_TEST(case11_ho_gt_do)
{
	uint8_t data[2 * SECTOR];

	pattern(data, sizeof(data), 200);
	/* WRITE(10) 1 block at LBA 5 with H=1024. */
	CBW(21, 1024, false, 0x2a, 0, 0, 0, 0, 5, 0, 0, 1, 0);
	expect_status(bulk_out(data, sizeof(data)), 0, 1024);
	read_csw(21, 512, MSC_CSW_PASSED);
	ck_assert_int_eq(dev_image_compare(img, 5 * SECTOR, data, SECTOR), 0);
	expect_sector(6, 6);	/* the excess was discarded */
}
END_TEST

START_TEST(case12_ho_do)
{
	uint8_t data[2 * SECTOR];

	pattern(data, sizeof(data), 201);
	CBW(22, 1024, false, 0x2a, 0, 0, 0, 0, 5, 0, 0, 2, 0);
	expect_status(bulk_out(data, sizeof(data)), 0, 1024);
	read_csw(22, 0, MSC_CSW_PASSED);
	ck_assert_int_eq(dev_image_compare(img, 5 * SECTOR, data, sizeof(data)),
	    0);
	expect_sector(7, 7);
}
END_TEST

START_TEST(case13_ho_lt_do)
{
	uint8_t data[SECTOR];

	pattern(data, sizeof(data), 202);
	/* WRITE(10) of 2 blocks from H=512. */
	CBW(23, 512, false, 0x2a, 0, 0, 0, 0, 5, 0, 0, 2, 0);
	expect_status(bulk_out(data, sizeof(data)), 0, 512);
	read_csw(23, 0, MSC_CSW_PHASE_ERROR);
	/* A command with a phase error does not half-write. */
	expect_sector(5, 5);
	expect_sector(6, 6);
	tur_ok(24);
}
END_TEST

START_TEST(failed_write_readonly)
{
	uint8_t data[SECTOR];

	/* Ho > Dn after the command failed: data discarded, residue H. */
	dev_image_set_readonly(img, true);
	pattern(data, sizeof(data), 203);
	CBW(25, 512, false, 0x2a, 0, 0, 0, 0, 5, 0, 0, 1, 0);
	expect_status(bulk_out(data, sizeof(data)), 0, 512);
	read_csw(25, 512, MSC_CSW_FAILED);
	ck_assert_uint_eq(dev.lun.sense.key, 0x07);
	ck_assert_uint_eq(dev.lun.sense.asc, 0x27);
	expect_sector(5, 5);
}
END_TEST

/* --- queueing ------------------------------------------------------------ */

START_TEST(in_before_cbw_is_served)
{
	uint32_t csw;

	csw = bulk_in(MSC_CSW_SIZE, SNOK);
	ck_assert_ptr_null(vt_sink_find(&rec, csw));		/* NAK */
	ck_assert(dev_usb_is_pending(&dev, csw));
	CBW(30, 0, false, 0x00, 0, 0, 0, 0, 0);
	expect_csw(csw, 30, 0, MSC_CSW_PASSED);
	ck_assert(!dev_usb_is_pending(&dev, csw));
	ck_assert_uint_eq(dev.npending, 0);
}
END_TEST

START_TEST(fifo_order)
{
	uint8_t cbw[MSC_CBW_SIZE], want[SECTOR];
	static const uint8_t rd[] = { 0x28, 0, 0, 0, 0, 8, 0, 0, 1, 0 };
	uint32_t a, b, o;

	a = bulk_in(512, SNOK);
	b = bulk_in(MSC_CSW_SIZE, SNOK);
	ck_assert_uint_eq(rec.n, 0);
	make_cbw(cbw, 31, 512, true, rd, sizeof(rd));
	o = bulk_out(cbw, sizeof(cbw));
	ck_assert_uint_eq(rec.n, 3);
	ck_assert_uint_eq(rec.log[0].seqnum, o);
	ck_assert_uint_eq(rec.log[1].seqnum, a);
	ck_assert_uint_eq(rec.log[2].seqnum, b);
	pattern(want, sizeof(want), 8);
	ck_assert_uint_eq(rec.log[1].actual, 512);
	ck_assert_mem_eq(rec.log[1].data, want, SECTOR);
	expect_csw(b, 31, 0, MSC_CSW_PASSED);
}
END_TEST

START_TEST(multi_urb_read)
{
	uint8_t cbw[MSC_CBW_SIZE], want[8 * SECTOR];
	static const uint8_t rd[] = { 0x28, 0, 0, 0, 0, 16, 0, 0, 8, 0 };
	const struct vt_sink_rec *c1, *c2;
	uint32_t d1, d2, s;

	for (unsigned i = 0; i < 8; i++)
		pattern(want + i * SECTOR, SECTOR, 16 + i);
	/* Linux < 5.3 queues the whole phase plus the CSW URB up front. */
	d1 = bulk_in(2048, SNOK);
	d2 = bulk_in(2048, SNOK);
	s = bulk_in(MSC_CSW_SIZE, SNOK);
	make_cbw(cbw, 32, 4096, true, rd, sizeof(rd));
	expect_status(bulk_out(cbw, sizeof(cbw)), 0, MSC_CBW_SIZE);
	c1 = must_find(d1);
	c2 = must_find(d2);
	ck_assert_int_eq(c1->status, 0);
	ck_assert_uint_eq(c1->actual, 2048);
	ck_assert_int_eq(c2->status, 0);
	ck_assert_uint_eq(c2->actual, 2048);
	ck_assert_mem_eq(c1->data, want, 2048);
	ck_assert_mem_eq(c2->data, want + 2048, 2048);
	expect_csw(s, 32, 0, MSC_CSW_PASSED);
}
END_TEST

START_TEST(multi_urb_write)
{
	uint8_t data[8 * SECTOR];
	static const uint32_t piece[] = { 1000, 1000, 1000, 1096 };
	uint32_t pos = 0;

	pattern(data, sizeof(data), 204);
	CBW(33, 4096, false, 0x2a, 0, 0, 0, 0, 40, 0, 0, 8, 0);
	for (size_t i = 0; i < 4; i++) {
		expect_status(bulk_out(data + pos, piece[i]), 0, piece[i]);
		pos += piece[i];
	}
	read_csw(33, 0, MSC_CSW_PASSED);
	ck_assert_int_eq(dev_image_compare(img, 40 * SECTOR, data, sizeof(data)),
	    0);
	expect_sector(48, 48);
}
END_TEST

START_TEST(csw_queued_while_writing)
{
	uint8_t data[2 * SECTOR];
	uint32_t s;

	/* The CSW URB may wait while the OUT data phase is running. */
	pattern(data, sizeof(data), 205);
	CBW(34, 1024, false, 0x2a, 0, 0, 0, 0, 50, 0, 0, 2, 0);
	s = bulk_in(MSC_CSW_SIZE, SNOK);
	expect_status(bulk_out(data, 512), 0, 512);
	ck_assert_ptr_null(vt_sink_find(&rec, s));
	expect_status(bulk_out(data + 512, 512), 0, 512);
	expect_csw(s, 34, 0, MSC_CSW_PASSED);
	ck_assert_int_eq(dev_image_compare(img, 50 * SECTOR, data, sizeof(data)),
	    0);
}
END_TEST

START_TEST(stale_after_short_not_ok)
{
	const struct vt_sink_rec *c;
	uint32_t a, b, s;

	a = bulk_in(96, SNOK);
	b = bulk_in(MSC_CSW_SIZE, SNOK);
	CBW(35, 96, true, 0x12, 0, 0, 0, 36, 0);	/* case 5 */
	c = must_find(a);
	ck_assert_int_eq(c->status, DEV_URB_EREMOTEIO);
	ck_assert_uint_eq(c->actual, 36);
	/* b was queued behind the short URB: the host will unlink it. */
	ck_assert_ptr_null(vt_sink_find(&rec, b));
	ck_assert(dev_usb_is_pending(&dev, b));
	s = bulk_in(MSC_CSW_SIZE, SNOK);
	expect_csw(s, 35, 60, MSC_CSW_PASSED);
	ck_assert_ptr_null(vt_sink_find(&rec, b));
	ck_assert_int_eq(dev_usb_unlink(&dev, b), 1);
	ck_assert(!dev_usb_is_pending(&dev, b));
	tur_ok(36);
	ck_assert_ptr_null(vt_sink_find(&rec, b));
}
END_TEST

START_TEST(no_stale_without_short_not_ok)
{
	uint32_t a, b;

	a = bulk_in(96, 0);
	b = bulk_in(MSC_CSW_SIZE, 0);
	CBW(37, 96, true, 0x12, 0, 0, 0, 36, 0);
	expect_status(a, 0, 36);
	expect_csw(b, 37, 60, MSC_CSW_PASSED);
}
END_TEST

START_TEST(stale_urbs_survive_next_commands)
{
	uint32_t a, b, s;

	a = bulk_in(512, SNOK);
	b = bulk_in(MSC_CSW_SIZE, SNOK);
	CBW(38, 512, true, 0x00, 0, 0, 0, 0, 0);	/* case 4 */
	expect_status(a, DEV_URB_EREMOTEIO, 0);
	s = bulk_in(MSC_CSW_SIZE, SNOK);
	expect_csw(s, 38, 512, MSC_CSW_PASSED);
	/* Later commands do not pick the stale URB either. */
	tur_ok(39);
	tur_ok(40);
	ck_assert_ptr_null(vt_sink_find(&rec, b));
	ck_assert(dev_usb_is_pending(&dev, b));
}
END_TEST

/*
 * A host without scatter-gather splits one data phase into page URBs and
 * sends them back to back; those that arrive after the phase ended short
 * under SHORT_NOT_OK belong to it, and must wait for their unlink instead
 * of taking the CSW (which goes to the host's 13-byte CSW URB).
 */
START_TEST(stale_split_phase_arriving_late)
{
	uint32_t first, late[3], s;

	/* READ(10) past the end: CHECK CONDITION with no data (case 4). */
	CBW(70, 16384, true, 0x28, 0, 0x00, 0xff, 0xff, 0xff, 0, 0, 32, 0);
	first = bulk_in(4096, SNOK);
	expect_status(first, DEV_URB_EREMOTEIO, 0);
	for (int i = 0; i < 3; i++)
		late[i] = bulk_in(4096, SNOK);
	for (int i = 0; i < 3; i++) {
		ck_assert_ptr_null(vt_sink_find(&rec, late[i]));
		ck_assert(dev_usb_is_pending(&dev, late[i]));
	}
	s = bulk_in(MSC_CSW_SIZE, 0);
	expect_csw(s, 70, 16384, MSC_CSW_FAILED);
	for (int i = 0; i < 3; i++)
		ck_assert_int_eq(dev_usb_unlink(&dev, late[i]), 1);
	ck_assert_uint_eq(dev.npending, 0);
	/* The next command's SHORT_NOT_OK data URB is served as usual. */
	CBW(71, SECTOR, true, 0x28, 0, 0, 0, 0, 3, 0, 0, 1, 0);
	expect_status(bulk_in(SECTOR, SNOK), 0, SECTOR);
	read_csw(71, 0, MSC_CSW_PASSED);
}
END_TEST

START_TEST(unlink_pending_in)
{
	uint32_t x, y;
	size_t before;

	x = bulk_in(MSC_CSW_SIZE, SNOK);
	ck_assert_int_eq(dev_usb_unlink(&dev, x), 1);
	ck_assert_int_eq(dev_usb_unlink(&dev, x), 0);
	ck_assert_uint_eq(dev.npending, 0);
	CBW(41, 0, false, 0x00, 0, 0, 0, 0, 0);
	before = rec.n;
	ck_assert_ptr_null(vt_sink_find(&rec, x));
	y = bulk_in(MSC_CSW_SIZE, SNOK);
	expect_csw(y, 41, 0, MSC_CSW_PASSED);
	ck_assert_uint_eq(rec.n, before + 1);
	ck_assert_ptr_null(vt_sink_find(&rec, x));
	/* Unknown and already completed seqnums are not pending. */
	ck_assert_int_eq(dev_usb_unlink(&dev, 999999), 0);
	ck_assert_int_eq(dev_usb_unlink(&dev, y), 0);
}
END_TEST

START_TEST(max_pending)
{
	uint32_t a, b;

	dev_usb_attach(&dev, &rec.sink, 2, 64u << 20);
	configure();
	vt_sink_clear(&rec);
	a = bulk_in(MSC_CSW_SIZE, SNOK);
	b = bulk_in(MSC_CSW_SIZE, SNOK);
	/* The third waiting URB is one too many: the session must close. */
	submit(EP_IN, true, MSC_CSW_SIZE, SNOK, NULL, NULL, DEV_USB_TOO_MANY);
	ck_assert_uint_eq(rec.n, 0);
	ck_assert_uint_eq(dev.npending, 2);
	/* The two that were queued still complete, in order. */
	CBW(42, 0, false, 0x00, 0, 0, 0, 0, 0);
	expect_csw(a, 42, 0, MSC_CSW_PASSED);
	ck_assert_ptr_null(vt_sink_find(&rec, b));
	CBW(43, 0, false, 0x00, 0, 0, 0, 0, 0);
	expect_csw(b, 43, 0, MSC_CSW_PASSED);
	ck_assert_uint_eq(dev.npending, 0);
	/* Room again. */
	bulk_in(MSC_CSW_SIZE, SNOK);
	bulk_in(MSC_CSW_SIZE, SNOK);
	ck_assert_uint_eq(dev.npending, 2);
}
END_TEST

/*
 * The waiting IN URBs may ask for max_pending_bytes in all: otherwise one
 * CBW would answer max_pending x max_bulk bytes at once.
 */
START_TEST(max_pending_bytes)
{
	uint32_t a, b, c;

	dev_usb_attach(&dev, &rec.sink, 16, 4 * SECTOR);
	configure();
	vt_sink_clear(&rec);
	a = bulk_in(2 * SECTOR, SNOK);
	b = bulk_in(SECTOR, SNOK);
	submit(EP_IN, true, SECTOR + 1, SNOK, NULL, NULL, DEV_USB_TOO_BIG);
	ck_assert_uint_eq(dev.pending_bytes, 3 * SECTOR);
	c = bulk_in(SECTOR, 0);			/* exactly the budget */
	ck_assert_uint_eq(dev.pending_bytes, 4 * SECTOR);
	submit(EP_IN, true, 1, SNOK, NULL, NULL, DEV_USB_TOO_BIG);
	ck_assert_uint_eq(rec.n, 0);
	/* Served or unlinked URBs give their bytes back. */
	ck_assert_int_eq(dev_usb_unlink(&dev, b), 1);
	CBW(44, 2 * SECTOR, true, 0x28, 0, 0, 0, 0, 1, 0, 0, 2, 0);
	expect_status(a, 0, 2 * SECTOR);
	expect_csw(c, 44, 0, MSC_CSW_PASSED);
	ck_assert_uint_eq(dev.pending_bytes, 0);
	ck_assert_uint_eq(dev.npending, 0);
}
END_TEST

START_TEST(bulk_before_configuration)
{
	uint8_t cbw[MSC_CBW_SIZE];
	static const uint8_t tur[6];
	uint32_t o, i;

	dev_usb_attach(&dev, &rec.sink, 16, 64u << 20);
	ck_assert_uint_eq(dev.config, 0);
	make_cbw(cbw, 43, 0, false, tur, sizeof(tur));
	o = bulk_out(cbw, sizeof(cbw));
	i = bulk_in(MSC_CSW_SIZE, SNOK);
	expect_status(o, DEV_URB_EPIPE, 0);
	expect_status(i, DEV_URB_EPIPE, 0);
	ck_assert_uint_eq(dev.npending, 0);
	ck_assert_int_eq(dev.bot.state, DEV_BOT_IDLE);
	/* SET_CONFIGURATION(0) keeps it unconfigured. */
	expect_status(ctrl(0x00, 0x09, 0, 0, 0), 0, 0);
	expect_status(bulk_in(MSC_CSW_SIZE, 0), DEV_URB_EPIPE, 0);
	configure();
	tur_ok(44);
}
END_TEST

START_TEST(out_while_csw_due)
{
	uint8_t cbw[MSC_CBW_SIZE];
	static const uint8_t tur[6];
	uint32_t o;

	CBW(45, 0, false, 0x00, 0, 0, 0, 0, 0);
	make_cbw(cbw, 46, 0, false, tur, sizeof(tur));
	o = bulk_out(cbw, sizeof(cbw));
	expect_status(o, DEV_URB_EPIPE, 0);
	ck_assert(dev.halted_out);
	/* The owed CSW is still delivered. */
	read_csw(45, 0, MSC_CSW_PASSED);
	clear_halt(0x02);
	tur_ok(47);
}
END_TEST

START_TEST(csw_into_small_urb)
{
	const struct vt_sink_rec *c;

	CBW(48, 0, false, 0x00, 0, 0, 0, 0, 0);
	c = must_find(bulk_in(12, 0));
	ck_assert_int_eq(c->status, DEV_URB_EOVERFLOW);
	ck_assert_uint_eq(c->actual, 12);
	ck_assert_mem_eq(c->data, "USBS", 4);
}
END_TEST

START_TEST(csw_tag_echo)
{
	tur_ok(0xdeadbeef);
	tur_ok(0);
	tur_ok(0xffffffff);
}
END_TEST

/* --- invalid CBWs and recovery ------------------------------------------ */

/* After an invalid CBW: every IN URB fails with -EPIPE until recovery. */
static void
check_wedge_recovery(void)
{
	uint32_t s;

	expect_status(bulk_in(MSC_CSW_SIZE, SNOK), DEV_URB_EPIPE, 0);
	/* GET_STATUS(bulk IN) reports the halt. */
	s = ctrl(0x82, 0x00, 0, 0x81, 2);
	expect_status(s, 0, 2);
	ck_assert_uint_eq(must_find(s)->data[0], 1);
	/* CLEAR_FEATURE(HALT) alone does not clear a wedge. */
	clear_halt(0x81);
	expect_status(bulk_in(MSC_CSW_SIZE, SNOK), DEV_URB_EPIPE, 0);
	/* Reset recovery: BOMSR, then CLEAR_FEATURE on both endpoints. */
	bot_reset();
	expect_status(bulk_in(MSC_CSW_SIZE, SNOK), DEV_URB_EPIPE, 0);
	clear_halt(0x81);
	clear_halt(0x02);
	s = ctrl(0x82, 0x00, 0, 0x81, 2);
	ck_assert_uint_eq(must_find(s)->data[0], 0);
	tur_ok(99);
}

START_TEST(invalid_cbw_length)
{
	uint8_t cbw[MSC_CBW_SIZE + 1];
	static const uint8_t tur[6];
	uint32_t p, o;

	p = bulk_in(MSC_CSW_SIZE, SNOK);	/* waiting before the CBW */
	make_cbw(cbw, 50, 0, false, tur, sizeof(tur));
	o = bulk_out(cbw, MSC_CBW_SIZE - 1);
	expect_status(o, 0, MSC_CBW_SIZE - 1);
	expect_status(p, DEV_URB_EPIPE, 0);
	ck_assert(dev.wedged);
	ck_assert(!dev.halted_out);
	check_wedge_recovery();
}
END_TEST

/* Until reset recovery, OUT is discarded: a WRITE CBW does not run. */
START_TEST(invalid_cbw_discards_out)
{
	uint8_t junk[30], data[SECTOR], cbw[MSC_CBW_SIZE];
	static const uint8_t wr[10] = { 0x2a, 0, 0, 0, 0, 5, 0, 0, 1, 0 };

	memset(junk, 0xa5, sizeof(junk));
	expect_status(bulk_out(junk, sizeof(junk)), 0, sizeof(junk));
	ck_assert(dev.wedged);
	pattern(data, sizeof(data), 77);
	make_cbw(cbw, 60, SECTOR, false, wr, sizeof(wr));
	expect_status(bulk_out(cbw, sizeof(cbw)), 0, MSC_CBW_SIZE);
	expect_status(bulk_out(data, sizeof(data)), 0, SECTOR);
	expect_sector(5, 5);		/* untouched */
	check_wedge_recovery();
	/* After recovery the same write works. */
	CBW(61, SECTOR, false, 0x2a, 0, 0, 0, 0, 5, 0, 0, 1, 0);
	expect_status(bulk_out(data, sizeof(data)), 0, SECTOR);
	read_csw(61, 0, MSC_CSW_PASSED);
	ck_assert_int_eq(dev_image_compare(img, 5 * SECTOR, data, SECTOR), 0);
}
END_TEST

START_TEST(invalid_cbw_too_long)
{
	uint8_t cbw[MSC_CBW_SIZE + 1];
	static const uint8_t tur[6];

	make_cbw(cbw, 51, 0, false, tur, sizeof(tur));
	cbw[MSC_CBW_SIZE] = 0;
	expect_status(bulk_out(cbw, sizeof(cbw)), 0, sizeof(cbw));
	check_wedge_recovery();
}
END_TEST

START_TEST(invalid_cbw_signature)
{
	uint8_t cbw[MSC_CBW_SIZE];
	static const uint8_t tur[6];

	make_cbw(cbw, 52, 0, false, tur, sizeof(tur));
	cbw[3] = 'D';
	expect_status(bulk_out(cbw, sizeof(cbw)), 0, MSC_CBW_SIZE);
	check_wedge_recovery();
}
END_TEST

START_TEST(invalid_cbw_cleared_by_set_configuration)
{
	uint8_t junk[MSC_CBW_SIZE];

	memset(junk, 0, sizeof(junk));
	expect_status(bulk_out(junk, sizeof(junk)), 0, MSC_CBW_SIZE);
	ck_assert(dev.wedged);
	configure();
	ck_assert(!dev.wedged);
	ck_assert(!dev.halted_in);
	tur_ok(53);
}
END_TEST

/* Sends a valid but not meaningful CBW and checks both endpoints stall. */
static void
check_meaningless_cbw(uint8_t cbw[MSC_CBW_SIZE])
{
	uint8_t again[MSC_CBW_SIZE];
	static const uint8_t tur[6];
	uint32_t p, o;

	p = bulk_in(MSC_CSW_SIZE, SNOK);
	o = bulk_out(cbw, MSC_CBW_SIZE);
	expect_status(o, DEV_URB_EPIPE, 0);
	expect_status(p, DEV_URB_EPIPE, 0);
	ck_assert(dev.halted_in);
	ck_assert(dev.halted_out);
	expect_status(bulk_in(MSC_CSW_SIZE, SNOK), DEV_URB_EPIPE, 0);
	make_cbw(again, 60, 0, false, tur, sizeof(tur));
	expect_status(bulk_out(again, sizeof(again)), DEV_URB_EPIPE, 0);
	/* No command ran. */
	ck_assert_int_eq(dev.bot.state, DEV_BOT_IDLE);
	bot_reset();
	clear_halt(0x81);
	clear_halt(0x02);
	tur_ok(61);
}

START_TEST(cbw_lun1)
{
	uint8_t cbw[MSC_CBW_SIZE];
	static const uint8_t tur[6];

	make_cbw(cbw, 62, 0, false, tur, sizeof(tur));
	cbw[13] = 1;
	check_meaningless_cbw(cbw);
}
END_TEST

START_TEST(cbw_cblength_0)
{
	uint8_t cbw[MSC_CBW_SIZE];
	static const uint8_t tur[6];

	make_cbw(cbw, 63, 0, false, tur, sizeof(tur));
	cbw[14] = 0;
	check_meaningless_cbw(cbw);
}
END_TEST

START_TEST(cbw_cblength_17)
{
	uint8_t cbw[MSC_CBW_SIZE];
	static const uint8_t tur[6];

	make_cbw(cbw, 64, 0, false, tur, sizeof(tur));
	cbw[14] = 17;
	check_meaningless_cbw(cbw);
}
END_TEST

START_TEST(cbw_reserved_flags)
{
	uint8_t cbw[MSC_CBW_SIZE];
	static const uint8_t tur[6];

	make_cbw(cbw, 65, 0, false, tur, sizeof(tur));
	cbw[12] = 0x01;
	check_meaningless_cbw(cbw);
}
END_TEST

START_TEST(cblength_12_lenient)
{
	/* Windows pads REQUEST SENSE to a 12-byte CB. */
	CBW(66, 18, true, 0x03, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0);
	expect_status(bulk_in(18, SNOK), 0, 18);
	read_csw(66, 0, MSC_CSW_PASSED);
}
END_TEST

START_TEST(bot_reset_mid_command)
{
	/* READ(10) 4 blocks: take one URB of data, then reset. */
	CBW(67, 2048, true, 0x28, 0, 0, 0, 0, 0, 0, 0, 4, 0);
	expect_status(bulk_in(512, SNOK), 0, 512);
	ck_assert_int_eq(dev.bot.state, DEV_BOT_DATA_IN);
	bot_reset();
	ck_assert_int_eq(dev.bot.state, DEV_BOT_IDLE);
	tur_ok(68);
	/* Likewise in the middle of a WRITE's data phase. */
	CBW(69, 1024, false, 0x2a, 0, 0, 0, 0, 0, 0, 0, 2, 0);
	ck_assert_int_eq(dev.bot.state, DEV_BOT_DATA_OUT);
	bot_reset();
	tur_ok(70);
	expect_sector(0, 0);
}
END_TEST

START_TEST(bot_reset_orphans_waiting_urbs)
{
	uint32_t a, b;

	/* A data phase is running and the host has queued more URBs. */
	CBW(71, 2048, true, 0x28, 0, 0, 0, 0, 0, 0, 0, 4, 0);
	expect_status(bulk_in(512, SNOK), 0, 512);
	bot_reset();
	a = bulk_in(MSC_CSW_SIZE, SNOK);
	ck_assert_ptr_null(vt_sink_find(&rec, a));
	/* a waits for a new command; it did not get old data. */
	CBW(72, 0, false, 0x00, 0, 0, 0, 0, 0);
	expect_csw(a, 72, 0, MSC_CSW_PASSED);
	b = bulk_in(MSC_CSW_SIZE, SNOK);
	ck_assert_ptr_null(vt_sink_find(&rec, b));
	/* Waiting URBs at BOMSR time are the host's to cancel. */
	bot_reset();
	tur_ok(73);
	ck_assert_ptr_null(vt_sink_find(&rec, b));
	ck_assert_int_eq(dev_usb_unlink(&dev, b), 1);
}
END_TEST

START_TEST(detach_drops_pending)
{
	uint32_t a;

	a = bulk_in(MSC_CSW_SIZE, SNOK);
	dev_usb_detach(&dev);
	ck_assert(!dev_usb_is_pending(&dev, a));
	ck_assert_uint_eq(dev.npending, 0);
	ck_assert_uint_eq(rec.n, 0);
	ck_assert(!dev.attached);
}
END_TEST

START_TEST(strstate)
{
	ck_assert_str_eq(dev_bot_strstate(DEV_BOT_IDLE), "idle");
	ck_assert_str_eq(dev_bot_strstate(DEV_BOT_DATA_IN), "data-in");
	ck_assert_str_eq(dev_bot_strstate(DEV_BOT_DATA_OUT), "data-out");
	ck_assert_str_eq(dev_bot_strstate(DEV_BOT_STATUS), "status");
}
END_TEST

static Suite *
dev_bot_suite(void)
{
	Suite *s = suite_create("dev_bot");
	TCase *cases = tcase_create("cases");
	TCase *queue = tcase_create("queue");
	TCase *bad = tcase_create("bad");

	tcase_add_checked_fixture(cases, dev_setup, dev_teardown);
	tcase_add_test(cases, case1_hn_dn);
	tcase_add_test(cases, case2_hn_lt_di);
	tcase_add_test(cases, case3_hn_lt_do);
	tcase_add_test(cases, case4_hi_dn_short_not_ok);
	tcase_add_test(cases, case4_hi_dn_short_ok);
	tcase_add_test(cases, case4_failed_read);
	tcase_add_test(cases, case5_hi_gt_di);
	tcase_add_test(cases, case5_split_urbs);
	tcase_add_test(cases, case6_hi_di);
	tcase_add_test(cases, case7_hi_lt_di);
	tcase_add_test(cases, case8_hi_do);
	tcase_add_test(cases, case9_ho_dn);
	tcase_add_test(cases, case10_ho_di);
	tcase_add_test(cases, case11_ho_gt_do);
	tcase_add_test(cases, case12_ho_do);
	tcase_add_test(cases, case13_ho_lt_do);
	tcase_add_test(cases, failed_write_readonly);
	suite_add_tcase(s, cases);

	tcase_add_checked_fixture(queue, dev_setup, dev_teardown);
	tcase_add_test(queue, in_before_cbw_is_served);
	tcase_add_test(queue, fifo_order);
	tcase_add_test(queue, multi_urb_read);
	tcase_add_test(queue, multi_urb_write);
	tcase_add_test(queue, csw_queued_while_writing);
	tcase_add_test(queue, stale_after_short_not_ok);
	tcase_add_test(queue, no_stale_without_short_not_ok);
	tcase_add_test(queue, stale_urbs_survive_next_commands);
	tcase_add_test(queue, stale_split_phase_arriving_late);
	tcase_add_test(queue, unlink_pending_in);
	tcase_add_test(queue, max_pending);
	tcase_add_test(queue, max_pending_bytes);
	tcase_add_test(queue, bulk_before_configuration);
	tcase_add_test(queue, out_while_csw_due);
	tcase_add_test(queue, csw_into_small_urb);
	tcase_add_test(queue, csw_tag_echo);
	tcase_add_test(queue, detach_drops_pending);
	tcase_add_test(queue, strstate);
	suite_add_tcase(s, queue);

	tcase_add_checked_fixture(bad, dev_setup, dev_teardown);
	tcase_add_test(bad, invalid_cbw_length);
	tcase_add_test(bad, invalid_cbw_discards_out);
	tcase_add_test(bad, invalid_cbw_too_long);
	tcase_add_test(bad, invalid_cbw_signature);
	tcase_add_test(bad, invalid_cbw_cleared_by_set_configuration);
	tcase_add_test(bad, cbw_lun1);
	tcase_add_test(bad, cbw_cblength_0);
	tcase_add_test(bad, cbw_cblength_17);
	tcase_add_test(bad, cbw_reserved_flags);
	tcase_add_test(bad, cblength_12_lenient);
	tcase_add_test(bad, bot_reset_mid_command);
	tcase_add_test(bad, bot_reset_orphans_waiting_urbs);
	suite_add_tcase(s, bad);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(dev_bot_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
