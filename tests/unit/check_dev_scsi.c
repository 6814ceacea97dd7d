/*
 * check_dev_scsi: the SCSI command set (src/server/device/dev_scsi.c,
 * dev_scsi_info.c) on an
 * in-memory image: identity and capacity reports, CDB decoding of the
 * READ/WRITE/VERIFY families, MODE SENSE pages, medium state, and the
 * sense data each failure leaves behind (docs/PROTOCOL.md, "SCSI").
 */
#include <check.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "server/device/dev_image.h"
#include "server/device/dev_scsi.h"

#define NSECT	1024u		/* 512 KiB image */
#define SECTOR	DEV_IMAGE_SECTOR_SIZE

static struct dev_image *img;
static struct dev_scsi_lun lun;
static struct dev_scsi_cmd cmd;

static void
pattern(uint8_t *p, size_t len, unsigned seed)
{
	for (size_t i = 0; i < len; i++)
		p[i] = (uint8_t)(i * 3 + seed * 29 + 5);
}

static void
lun_setup(void)
{
	uint8_t sect[SECTOR];

	img = dev_image_new((uint64_t)NSECT * SECTOR);
	ck_assert_ptr_nonnull(img);
	/* Recognisable data in a few sectors: seed = LBA. */
	for (unsigned lba = 0; lba < 16; lba++) {
		pattern(sect, sizeof(sect), lba);
		ck_assert_int_eq(dev_image_write(img, (uint64_t)lba * SECTOR, sect,
		    SECTOR), 0);
	}
	pattern(sect, sizeof(sect), NSECT - 1);
	ck_assert_int_eq(dev_image_write(img, (uint64_t)(NSECT - 1) * SECTOR,
	    sect, SECTOR), 0);
	memset(&lun, 0, sizeof(lun));
	lun.img = img;
	lun.vendor = "vtoken";
	lun.product = "Virtual Token";
	lun.revision = "0100";
	lun.serial = "0123456789AB";
	dev_scsi_lun_reset(&lun);
}

static void
lun_teardown(void)
{
	dev_image_free(img);
	img = NULL;
}

static void
run(const uint8_t *cdb, size_t len)
{
	memset(&cmd, 0xcc, sizeof(cmd));
	dev_scsi_exec(&lun, cdb, len, &cmd);
}

#define RUN(...) do {							\
	const uint8_t cdb_[] = { __VA_ARGS__ };				\
	run(cdb_, sizeof(cdb_));					\
} while (0)

#define assert_good() do {						\
	ck_assert_uint_eq(cmd.status, SCSI_STATUS_GOOD);		\
	ck_assert_uint_eq(lun.sense.key, 0);				\
} while (0)

#define assert_sense(k, a, q) do {					\
	ck_assert_uint_eq(cmd.status, SCSI_STATUS_CHECK_CONDITION);	\
	ck_assert_uint_eq(lun.sense.key, (k));				\
	ck_assert_uint_eq(lun.sense.asc, (a));				\
	ck_assert_uint_eq(lun.sense.ascq, (q));				\
} while (0)

/* Copies the whole IN data phase of cmd into out (at most max bytes). */
static size_t
data_in(uint8_t *out, size_t max)
{
	ck_assert_int_eq(cmd.dir, SCSI_DIR_IN);
	ck_assert_uint_le(cmd.dlen, max);
	dev_scsi_data_in(&lun, &cmd, 0, out, (size_t)cmd.dlen);
	return (size_t)cmd.dlen;
}

/* Runs REQUEST SENSE (alloc 18) and returns the 18 sense bytes. */
static void
request_sense(uint8_t s[18])
{
	RUN(0x03, 0, 0, 0, 18, 0);
	ck_assert_uint_eq(cmd.status, SCSI_STATUS_GOOD);
	ck_assert_uint_eq(cmd.dlen, 18);
	data_in(s, 18);
}

/* Feeds len OUT bytes in pieces of `piece` and finishes the phase. */
static void
data_out(const uint8_t *p, size_t len, size_t piece)
{
	ck_assert_int_eq(cmd.dir, SCSI_DIR_OUT);
	ck_assert_uint_eq(cmd.dlen, len);
	for (size_t pos = 0; pos < len; pos += piece) {
		size_t n = len - pos < piece ? len - pos : piece;

		dev_scsi_data_out(&lun, &cmd, pos, p + pos, n);
	}
	dev_scsi_data_out_done(&lun, &cmd);
}

/* --- INQUIRY ------------------------------------------------------------- */

START_TEST(inquiry_standard)
{
	uint8_t b[64];

	RUN(0x12, 0, 0, 0, 36, 0);
	assert_good();
	ck_assert_uint_eq(cmd.dlen, 36);
	data_in(b, sizeof(b));
	ck_assert_uint_eq(b[0], 0x00);		/* direct access */
	ck_assert_uint_eq(b[1], 0x80);		/* RMB */
	ck_assert_uint_ge(b[2], 0x04);		/* SPC-2 or later */
	ck_assert_uint_eq(b[3] & 0x0f, 0x02);	/* response format */
	ck_assert_uint_eq(b[4], 31);		/* additional length */
	ck_assert_mem_eq(b + 8, "vtoken  ", 8);
	ck_assert_mem_eq(b + 16, "Virtual Token   ", 16);
	ck_assert_mem_eq(b + 32, "0100", 4);
}
END_TEST

START_TEST(inquiry_alloc_cuts)
{
	RUN(0x12, 0, 0, 0, 5, 0);
	assert_good();
	ck_assert_uint_eq(cmd.dlen, 5);
	/* A 16-bit allocation length larger than the data: 36 bytes. */
	RUN(0x12, 0, 0, 0x01, 0x00, 0);
	ck_assert_uint_eq(cmd.dlen, 36);
	RUN(0x12, 0, 0, 0, 0, 0);
	assert_good();
	ck_assert_uint_eq(cmd.dlen, 0);
}
END_TEST

START_TEST(inquiry_long_identity_truncated)
{
	uint8_t b[36];

	lun.vendor = "ABCDEFGHIJ";
	lun.product = "0123456789abcdefXYZ";
	lun.revision = "123456";
	RUN(0x12, 0, 0, 0, 36, 0);
	data_in(b, sizeof(b));
	ck_assert_mem_eq(b + 8, "ABCDEFGH0123456789abcdef1234", 28);
}
END_TEST

START_TEST(inquiry_vpd_pages)
{
	static const uint8_t p00[] = { 0x00, 0x00, 0x00, 0x03, 0x00, 0x80,
	    0x83 };
	uint8_t b[SCSI_BUF_MAX];
	size_t n;

	RUN(0x12, 0x01, 0x00, 0, 255, 0);
	assert_good();
	n = data_in(b, sizeof(b));
	ck_assert_uint_eq(n, sizeof(p00));
	ck_assert_mem_eq(b, p00, sizeof(p00));

	RUN(0x12, 0x01, 0x80, 0, 255, 0);
	assert_good();
	n = data_in(b, sizeof(b));
	ck_assert_uint_eq(n, 4 + 12);
	ck_assert_uint_eq(b[1], 0x80);
	ck_assert_uint_eq(b[3], 12);
	ck_assert_mem_eq(b + 4, "0123456789AB", 12);

	RUN(0x12, 0x01, 0x83, 0, 255, 0);
	assert_good();
	n = data_in(b, sizeof(b));
	ck_assert_uint_eq(n, 16 + 12);
	ck_assert_uint_eq(b[1], 0x83);
	ck_assert_uint_eq(b[2] << 8 | b[3], n - 4);	/* page length */
	ck_assert_uint_eq(b[4] & 0x0f, 0x02);		/* ASCII */
	ck_assert_uint_eq(b[5] & 0x0f, 0x01);		/* T10 vendor ID */
	ck_assert_uint_eq(b[7], 8 + 12);
	ck_assert_mem_eq(b + 8, "vtoken  0123456789AB", 20);
}
END_TEST

START_TEST(inquiry_bad_page)
{
	RUN(0x12, 0x01, 0xb0, 0, 255, 0);
	assert_sense(0x05, 0x24, 0x00);
	ck_assert_int_eq(cmd.dir, SCSI_DIR_NONE);
	/* Page code without EVPD. */
	RUN(0x12, 0x00, 0x80, 0, 255, 0);
	assert_sense(0x05, 0x24, 0x00);
	/* CMDDT. */
	RUN(0x12, 0x02, 0x00, 0, 255, 0);
	assert_sense(0x05, 0x24, 0x00);
}
END_TEST

START_TEST(inquiry_keeps_pending_sense)
{
	uint8_t s[18];

	RUN(0xa1, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);	/* ATA PT(12) */
	assert_sense(0x05, 0x20, 0x00);
	RUN(0x12, 0, 0, 0, 36, 0);
	ck_assert_uint_eq(cmd.status, SCSI_STATUS_GOOD);
	/* INQUIRY neither reports nor clears the pending condition. */
	request_sense(s);
	ck_assert_uint_eq(s[2], 0x05);
	ck_assert_uint_eq(s[12], 0x20);
}
END_TEST

/* --- REQUEST SENSE ------------------------------------------------------- */

START_TEST(request_sense_reports_then_clears)
{
	uint8_t s[18];

	RUN(0x28, 0, 0, 0, 0x10, 0x00, 0, 0, 1, 0);	/* LBA 4096 */
	assert_sense(0x05, 0x21, 0x00);
	request_sense(s);
	ck_assert_uint_eq(s[0], 0xf0);		/* INFORMATION valid */
	ck_assert_uint_eq(s[2], 0x05);
	ck_assert_uint_eq(s[3] << 24 | s[4] << 16 | s[5] << 8 | s[6], 4096);
	ck_assert_uint_eq(s[7], 10);
	ck_assert_uint_eq(s[12], 0x21);
	ck_assert_uint_eq(s[13], 0x00);
	ck_assert_uint_eq(lun.sense.key, 0);
	request_sense(s);
	ck_assert_uint_eq(s[0], 0x70);
	ck_assert_uint_eq(s[2], 0x00);
	ck_assert_uint_eq(s[12], 0x00);
	ck_assert_uint_eq(s[13], 0x00);
}
END_TEST

START_TEST(request_sense_alloc_and_desc)
{
	RUN(0x03, 0, 0, 0, 96, 0);	/* SANE_SENSE asks for 96 */
	assert_good();
	ck_assert_uint_eq(cmd.dlen, 18);
	RUN(0x03, 0, 0, 0, 8, 0);
	ck_assert_uint_eq(cmd.dlen, 8);
	/* Windows sends it with a 12-byte CB. */
	RUN(0x03, 0, 0, 0, 18, 0, 0, 0, 0, 0, 0, 0);
	assert_good();
	ck_assert_uint_eq(cmd.dlen, 18);
	/* Descriptor format is not offered. */
	RUN(0x03, 0x01, 0, 0, 18, 0);
	assert_sense(0x05, 0x24, 0x00);
}
END_TEST

/* --- capacity ------------------------------------------------------------ */

START_TEST(read_capacity10)
{
	static const uint8_t want[] = { 0x00, 0x00, 0x03, 0xff,
	    0x00, 0x00, 0x02, 0x00 };
	uint8_t b[8];

	RUN(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good();
	ck_assert_uint_eq(data_in(b, sizeof(b)), 8);
	ck_assert_mem_eq(b, want, sizeof(want));
}
END_TEST

START_TEST(read_capacity16)
{
	uint8_t b[32], zero[20];

	memset(zero, 0, sizeof(zero));
	RUN(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0);
	assert_good();
	ck_assert_uint_eq(data_in(b, sizeof(b)), 32);
	ck_assert_mem_eq(b, "\0\0\0\0\0\0\x03\xff\0\0\x02\0", 12);
	ck_assert_mem_eq(b + 12, zero, 20);
	/* Allocation length cuts. */
	RUN(0x9e, 0x10, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 12, 0, 0);
	ck_assert_uint_eq(cmd.dlen, 12);
	/* Other SERVICE ACTION IN(16) actions are not supported. */
	RUN(0x9e, 0x12, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 32, 0, 0);
	assert_sense(0x05, 0x20, 0x00);
}
END_TEST

START_TEST(read_format_capacities)
{
	static const uint8_t want[] = { 0, 0, 0, 8, 0x00, 0x00, 0x04, 0x00,
	    0x02, 0x00, 0x02, 0x00 };
	uint8_t b[12];

	RUN(0x23, 0, 0, 0, 0, 0, 0, 0, 0xfc, 0);
	assert_good();
	ck_assert_uint_eq(data_in(b, sizeof(b)), 12);
	ck_assert_mem_eq(b, want, sizeof(want));
	RUN(0x23, 0, 0, 0, 0, 0, 0, 0, 4, 0);
	ck_assert_uint_eq(cmd.dlen, 4);
	/* Without medium: descriptor type 3. */
	lun.ejected = true;
	RUN(0x23, 0, 0, 0, 0, 0, 0, 0, 12, 0);
	data_in(b, sizeof(b));
	ck_assert_uint_eq(b[8], 0x03);
}
END_TEST

/* --- READ / WRITE -------------------------------------------------------- */

START_TEST(read10_data)
{
	uint8_t b[2 * SECTOR], want[SECTOR];

	RUN(0x28, 0, 0, 0, 0, 5, 0, 0, 2, 0);
	assert_good();
	ck_assert(cmd.from_image);
	ck_assert_uint_eq(cmd.img_off, 5 * SECTOR);
	ck_assert_uint_eq(cmd.dlen, 2 * SECTOR);
	data_in(b, sizeof(b));
	pattern(want, SECTOR, 5);
	ck_assert_mem_eq(b, want, SECTOR);
	pattern(want, SECTOR, 6);
	ck_assert_mem_eq(b + SECTOR, want, SECTOR);
	/* Partial fetch at an offset, as a later IN URB would do. */
	dev_scsi_data_in(&lun, &cmd, SECTOR + 10, b, 20);
	ck_assert_mem_eq(b, want + 10, 20);
}
END_TEST

START_TEST(read6_decoding)
{
	/* LBA is 21 bits: 0x1f in byte 1 is part of it, the rest is not. */
	RUN(0x08, 0xe0, 0x00, 0x07, 3, 0);
	assert_good();
	ck_assert_uint_eq(cmd.img_off, 7 * SECTOR);
	ck_assert_uint_eq(cmd.dlen, 3 * SECTOR);
	RUN(0x08, 0x01, 0x00, 0x00, 1, 0);	/* LBA 0x10000 */
	assert_sense(0x05, 0x21, 0x00);
	ck_assert_uint_eq(lun.sense.info, 0x10000);
	/* Transfer length 0 means 256 blocks. */
	RUN(0x08, 0, 0x01, 0x00, 0, 0);
	assert_good();
	ck_assert_uint_eq(cmd.img_off, 256 * SECTOR);
	ck_assert_uint_eq(cmd.dlen, 256 * SECTOR);
	ck_assert_int_eq(cmd.dir, SCSI_DIR_IN);
	/* ...which no longer fits near the end. */
	RUN(0x08, 0, 0x03, 0x01, 0, 0);	/* LBA 769 + 256 > 1024 */
	assert_sense(0x05, 0x21, 0x00);
}
END_TEST

START_TEST(read12_read16_decoding)
{
	RUN(0xa8, 0, 0, 0, 0x03, 0xfe, 0, 0, 0, 2, 0, 0);
	assert_good();
	ck_assert_uint_eq(cmd.img_off, 0x3feu * SECTOR);
	ck_assert_uint_eq(cmd.dlen, 2 * SECTOR);
	RUN(0x88, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xff, 0, 0, 0, 1, 0, 0);
	assert_good();
	ck_assert_uint_eq(cmd.img_off, 0x3ffu * SECTOR);
	ck_assert_uint_eq(cmd.dlen, SECTOR);
	/* A 64-bit LBA that would wrap. */
	RUN(0x88, 0, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	    0, 0, 0, 2, 0, 0);
	assert_sense(0x05, 0x21, 0x00);
	ck_assert_int_eq(cmd.dir, SCSI_DIR_NONE);
	/* A 32-bit count that would wrap the byte length. */
	RUN(0xa8, 0, 0, 0, 0, 0, 0xff, 0xff, 0xff, 0xff, 0, 0);
	assert_sense(0x05, 0x21, 0x00);
}
END_TEST

START_TEST(read_zero_length)
{
	RUN(0x28, 0, 0, 0, 0, 1, 0, 0, 0, 0);
	assert_good();
	ck_assert_uint_eq(cmd.dlen, 0);
	ck_assert_int_eq(cmd.dir, SCSI_DIR_NONE);
	/* Zero blocks right after the last one is still in range. */
	RUN(0x28, 0, 0, 0, 0x04, 0x00, 0, 0, 0, 0);
	assert_good();
}
END_TEST

START_TEST(read_out_of_range)
{
	RUN(0x28, 0, 0, 0, 0x03, 0xff, 0, 0, 2, 0);	/* 1023 + 2 */
	assert_sense(0x05, 0x21, 0x00);
	ck_assert(lun.sense.info_valid);
	ck_assert_uint_eq(lun.sense.info, 1023);
	ck_assert_uint_eq(cmd.dlen, 0);
	ck_assert_int_eq(cmd.dir, SCSI_DIR_NONE);
	RUN(0x28, 0, 0, 0, 0x04, 0x00, 0, 0, 1, 0);	/* 1024 */
	assert_sense(0x05, 0x21, 0x00);
	/* Last block itself is fine. */
	RUN(0x28, 0, 0, 0, 0x03, 0xff, 0, 0, 1, 0);
	assert_good();
}
END_TEST

START_TEST(write10_data)
{
	uint8_t in[3 * SECTOR], out[3 * SECTOR];

	pattern(in, sizeof(in), 77);
	RUN(0x2a, 0, 0, 0, 0x01, 0x00, 0, 0, 3, 0);	/* LBA 256 */
	assert_good();
	ck_assert_uint_eq(cmd.img_off, 256 * SECTOR);
	data_out(in, sizeof(in), 500);	/* pieces not sector-sized */
	ck_assert_uint_eq(cmd.status, SCSI_STATUS_GOOD);
	ck_assert_int_eq(dev_image_read(img, 256 * SECTOR, out, sizeof(out)), 0);
	ck_assert_mem_eq(out, in, sizeof(in));
}
END_TEST

START_TEST(write6_12_16_decoding)
{
	uint8_t in[SECTOR];

	pattern(in, sizeof(in), 78);
	RUN(0x0a, 0, 0x02, 0x00, 1, 0);			/* LBA 512 */
	assert_good();
	ck_assert_uint_eq(cmd.img_off, 512 * SECTOR);
	data_out(in, sizeof(in), sizeof(in));
	ck_assert_int_eq(dev_image_compare(img, 512 * SECTOR, in, SECTOR), 0);
	RUN(0x0a, 0, 0x00, 0x00, 0, 0);			/* 256 blocks */
	ck_assert_uint_eq(cmd.dlen, 256 * SECTOR);
	ck_assert_int_eq(cmd.dir, SCSI_DIR_OUT);
	RUN(0xaa, 0, 0, 0, 0x02, 0x01, 0, 0, 0, 4, 0, 0);
	assert_good();
	ck_assert_uint_eq(cmd.img_off, 513 * SECTOR);
	ck_assert_uint_eq(cmd.dlen, 4 * SECTOR);
	ck_assert_int_eq(cmd.dir, SCSI_DIR_OUT);
	RUN(0x8a, 0x08, 0, 0, 0, 0, 0, 0, 0x02, 0x10, 0, 0, 0, 2, 0, 0);
	assert_good();
	ck_assert_uint_eq(cmd.img_off, 528 * SECTOR);
	ck_assert_uint_eq(cmd.dlen, 2 * SECTOR);
	ck_assert(cmd.fua);
	RUN(0x8a, 0, 0, 0, 0, 0, 0, 0, 0x03, 0xff, 0, 0, 0, 2, 0, 0);
	assert_sense(0x05, 0x21, 0x00);
}
END_TEST

START_TEST(write_readonly)
{
	uint8_t out[SECTOR], want[SECTOR];

	dev_image_set_readonly(img, true);
	RUN(0x2a, 0, 0, 0, 0, 3, 0, 0, 1, 0);
	assert_sense(0x07, 0x27, 0x00);
	ck_assert_uint_eq(cmd.dlen, 0);
	ck_assert_int_eq(cmd.dir, SCSI_DIR_NONE);
	RUN(0x0a, 0, 0, 3, 1, 0);
	assert_sense(0x07, 0x27, 0x00);
	ck_assert_int_eq(dev_image_read(img, 3 * SECTOR, out, SECTOR), 0);
	pattern(want, SECTOR, 3);
	ck_assert_mem_eq(out, want, SECTOR);
	/* Reads still work. */
	RUN(0x28, 0, 0, 0, 0, 3, 0, 0, 1, 0);
	assert_good();
}
END_TEST

START_TEST(write_turns_readonly_midway)
{
	uint8_t in[2 * SECTOR], want[SECTOR];

	pattern(in, sizeof(in), 90);
	RUN(0x2a, 0, 0, 0, 0, 3, 0, 0, 2, 0);
	assert_good();
	dev_scsi_data_out(&lun, &cmd, 0, in, SECTOR);
	dev_image_set_readonly(img, true);
	dev_scsi_data_out(&lun, &cmd, SECTOR, in + SECTOR, SECTOR);
	dev_scsi_data_out_done(&lun, &cmd);
	assert_sense(0x07, 0x27, 0x00);
	ck_assert(cmd.failed_io);
	ck_assert_int_eq(dev_image_compare(img, 3 * SECTOR, in, SECTOR), 0);
	pattern(want, SECTOR, 4);
	ck_assert_int_eq(dev_image_compare(img, 4 * SECTOR, want, SECTOR), 0);
}
END_TEST

/* --- VERIFY -------------------------------------------------------------- */

START_TEST(verify_bytchk0)
{
	RUN(0x2f, 0, 0, 0, 0, 0, 0, 0, 8, 0);
	assert_good();
	ck_assert_uint_eq(cmd.dlen, 0);
	ck_assert_int_eq(cmd.dir, SCSI_DIR_NONE);
	RUN(0x2f, 0, 0, 0, 0x03, 0xff, 0, 0, 2, 0);
	assert_sense(0x05, 0x21, 0x00);
}
END_TEST

START_TEST(verify_bytchk1_match)
{
	uint8_t want[2 * SECTOR];

	pattern(want, SECTOR, 2);
	pattern(want + SECTOR, SECTOR, 3);
	RUN(0x2f, 0x02, 0, 0, 0, 2, 0, 0, 2, 0);
	assert_good();
	ck_assert(cmd.verify);
	data_out(want, sizeof(want), 256);
	assert_good();
	/* Nothing was written. */
	ck_assert_int_eq(dev_image_compare(img, 2 * SECTOR, want, sizeof(want)),
	    0);
}
END_TEST

START_TEST(verify_bytchk1_miscompare)
{
	uint8_t data[2 * SECTOR];

	pattern(data, SECTOR, 2);
	pattern(data + SECTOR, SECTOR, 3);
	data[SECTOR + 100] ^= 0x40;
	RUN(0x2f, 0x02, 0, 0, 0, 2, 0, 0, 2, 0);
	data_out(data, sizeof(data), SECTOR);
	assert_sense(0x0e, 0x1d, 0x00);
	ck_assert_int_eq(dev_image_compare(img, 2 * SECTOR, data, sizeof(data)),
	    1);
}
END_TEST

START_TEST(verify_bytchk_pattern_rejected)
{
	RUN(0x2f, 0x04, 0, 0, 0, 2, 0, 0, 1, 0);	/* BYTCHK=2 */
	assert_sense(0x05, 0x24, 0x00);
	RUN(0x8f, 0x02, 0, 0, 0, 0, 0, 0, 0, 4, 0, 0, 0, 1, 0, 0);
	assert_good();
	ck_assert_uint_eq(cmd.img_off, 4 * SECTOR);
	ck_assert_int_eq(cmd.dir, SCSI_DIR_OUT);
}
END_TEST

/* --- MODE SENSE ---------------------------------------------------------- */

START_TEST(mode_sense6_all_pages)
{
	uint8_t b[SCSI_BUF_MAX];
	size_t n;

	RUN(0x1a, 0, 0x3f, 0, 192, 0);
	assert_good();
	n = data_in(b, sizeof(b));
	ck_assert_uint_eq(n, 4 + 20 + 12);
	ck_assert_uint_eq(b[0], n - 1);
	ck_assert_uint_eq(b[2], 0x00);		/* not write protected */
	ck_assert_uint_eq(b[3], 0);		/* no block descriptor */
	ck_assert_uint_eq(b[4], 0x08);
	ck_assert_uint_eq(b[5], 0x12);
	ck_assert_uint_eq(b[6] & 0x04, 0x04);	/* WCE */
	ck_assert_uint_eq(b[24], 0x1c);
	ck_assert_uint_eq(b[25], 0x0a);
	/* Subpage 0xff of 0x3f is "all pages and subpages": same data. */
	RUN(0x1a, 0, 0x3f, 0xff, 192, 0);
	assert_good();
	ck_assert_uint_eq(cmd.dlen, 36);
}
END_TEST

START_TEST(mode_sense6_readonly_wp)
{
	uint8_t b[SCSI_BUF_MAX];

	dev_image_set_readonly(img, true);
	RUN(0x1a, 0, 0x3f, 0, 192, 0);
	assert_good();
	data_in(b, sizeof(b));
	ck_assert_uint_eq(b[2] & 0x80, 0x80);
	ck_assert_uint_eq(b[6] & 0x04, 0);	/* no WCE on read-only */
	RUN(0x1a, 0, 0x08, 0, 4, 0);		/* header only */
	ck_assert_uint_eq(cmd.dlen, 4);
	data_in(b, sizeof(b));
	ck_assert_uint_eq(b[0], 4 + 20 - 1);
	ck_assert_uint_eq(b[2], 0x80);
}
END_TEST

START_TEST(mode_sense10)
{
	uint8_t b[SCSI_BUF_MAX];
	size_t n;

	RUN(0x5a, 0, 0x08, 0, 0, 0, 0, 0, 0xff, 0);
	assert_good();
	n = data_in(b, sizeof(b));
	ck_assert_uint_eq(n, 8 + 20);
	ck_assert_uint_eq(b[0] << 8 | b[1], n - 2);
	ck_assert_uint_eq(b[3], 0x00);
	ck_assert_uint_eq(b[6] << 8 | b[7], 0);	/* block desc length */
	ck_assert_uint_eq(b[8], 0x08);
	ck_assert_uint_eq(b[10] & 0x04, 0x04);	/* WCE on writable */
	dev_image_set_readonly(img, true);
	RUN(0x5a, 0, 0x1c, 0, 0, 0, 0, 0, 0xff, 0);
	assert_good();
	n = data_in(b, sizeof(b));
	ck_assert_uint_eq(n, 8 + 12);
	ck_assert_uint_eq(b[3], 0x80);
	ck_assert_uint_eq(b[8], 0x1c);
}
END_TEST

START_TEST(mode_sense_changeable_no_wce)
{
	uint8_t b[SCSI_BUF_MAX];

	RUN(0x1a, 0, 0x40 | 0x08, 0, 255, 0);	/* PC=1 changeable */
	assert_good();
	data_in(b, sizeof(b));
	ck_assert_uint_eq(b[6] & 0x04, 0);
	RUN(0x1a, 0, 0x80 | 0x08, 0, 255, 0);	/* PC=2 default */
	assert_good();
	data_in(b, sizeof(b));
	ck_assert_uint_eq(b[6] & 0x04, 0x04);
}
END_TEST

START_TEST(mode_sense_saved_and_bad_pages)
{
	RUN(0x1a, 0, 0xc0 | 0x3f, 0, 192, 0);	/* PC=3 saved */
	assert_sense(0x05, 0x39, 0x00);
	RUN(0x5a, 0, 0xc0 | 0x08, 0, 0, 0, 0, 0, 0xff, 0);
	assert_sense(0x05, 0x39, 0x00);
	RUN(0x1a, 0, 0x01, 0, 192, 0);		/* error recovery page */
	assert_sense(0x05, 0x24, 0x00);
	RUN(0x1a, 0, 0x05, 0, 192, 0);
	assert_sense(0x05, 0x24, 0x00);
	RUN(0x1a, 0, 0x08, 0x01, 192, 0);	/* subpage 1 */
	assert_sense(0x05, 0x24, 0x00);
	RUN(0x1a, 0, 0x08, 0xff, 192, 0);
	assert_sense(0x05, 0x24, 0x00);
	ck_assert_int_eq(cmd.dir, SCSI_DIR_NONE);
}
END_TEST

/* --- medium state -------------------------------------------------------- */

START_TEST(tur_and_eject)
{
	uint8_t s[18];

	RUN(0x00, 0, 0, 0, 0, 0);
	assert_good();
	ck_assert_uint_eq(cmd.dlen, 0);
	RUN(0x1b, 0, 0, 0, 0x02, 0);		/* LoEj, stop: eject */
	assert_good();
	ck_assert(lun.ejected);
	RUN(0x00, 0, 0, 0, 0, 0);
	assert_sense(0x02, 0x3a, 0x00);
	RUN(0x28, 0, 0, 0, 0, 0, 0, 0, 1, 0);
	assert_sense(0x02, 0x3a, 0x00);
	ck_assert_uint_eq(cmd.dlen, 0);
	RUN(0x25, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_sense(0x02, 0x3a, 0x00);
	RUN(0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_sense(0x02, 0x3a, 0x00);
	/* REQUEST SENSE keeps saying "no medium" while it is out. */
	request_sense(s);
	ck_assert_uint_eq(s[2], 0x02);
	ck_assert_uint_eq(s[12], 0x3a);
	request_sense(s);
	ck_assert_uint_eq(s[2], 0x02);
	ck_assert_uint_eq(s[12], 0x3a);
	/* INQUIRY still answers. */
	RUN(0x12, 0, 0, 0, 36, 0);
	ck_assert_uint_eq(cmd.status, SCSI_STATUS_GOOD);
	RUN(0x1b, 0, 0, 0, 0x03, 0);		/* LoEj, start: load */
	assert_good();
	ck_assert(!lun.ejected);
	RUN(0x00, 0, 0, 0, 0, 0);
	assert_good();
}
END_TEST

START_TEST(start_stop_without_loej)
{
	RUN(0x1b, 0, 0, 0, 0x00, 0);		/* stop, no LoEj */
	assert_good();
	ck_assert(!lun.ejected);
	RUN(0x1b, 0, 0, 0, 0x01, 0);		/* start */
	assert_good();
	RUN(0x1b, 0, 0, 0, 0x12, 0);		/* power condition */
	assert_good();
	ck_assert(!lun.ejected);
}
END_TEST

START_TEST(prevent_blocks_eject)
{
	RUN(0x1e, 0, 0, 0, 0x01, 0);
	assert_good();
	ck_assert(lun.prevent);
	RUN(0x1b, 0, 0, 0, 0x02, 0);
	assert_sense(0x05, 0x53, 0x02);
	ck_assert(!lun.ejected);
	RUN(0x00, 0, 0, 0, 0, 0);
	assert_good();
	RUN(0x1e, 0, 0, 0, 0x00, 0);		/* allow */
	assert_good();
	RUN(0x1b, 0, 0, 0, 0x02, 0);
	assert_good();
	ck_assert(lun.ejected);
	/* A new session starts with the medium in and removal allowed. */
	lun.prevent = true;
	dev_scsi_lun_reset(&lun);
	ck_assert(!lun.ejected);
	ck_assert(!lun.prevent);
}
END_TEST

START_TEST(sync_cache)
{
	RUN(0x35, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good();
	ck_assert_uint_eq(cmd.dlen, 0);
	RUN(0x91, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good();
}
END_TEST

START_TEST(report_luns)
{
	static const uint8_t want[16] = { 0, 0, 0, 8 };
	uint8_t b[16];

	RUN(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 16, 0, 0);
	assert_good();
	ck_assert_uint_eq(data_in(b, sizeof(b)), 16);
	ck_assert_mem_eq(b, want, sizeof(want));
	RUN(0xa0, 0, 0, 0, 0, 0, 0, 0, 0x01, 0, 0, 0);
	ck_assert_uint_eq(cmd.dlen, 16);
	RUN(0xa0, 0, 0, 0, 0, 0, 0, 0, 0, 8, 0, 0);
	ck_assert_uint_eq(cmd.dlen, 8);
}
END_TEST

/* --- dispatch ------------------------------------------------------------ */

START_TEST(unknown_opcodes)
{
	static const uint8_t ops[] = { 0xa1, 0x85, 0x4d, 0xa3, 0x42, 0x93,
	    0x4a, 0x15, 0x55, 0xff, 0x01 };

	for (size_t i = 0; i < sizeof(ops); i++) {
		uint8_t cdb[16] = { ops[i] };

		run(cdb, sizeof(cdb));
		ck_assert_msg(cmd.status == SCSI_STATUS_CHECK_CONDITION &&
		    lun.sense.key == 0x05 && lun.sense.asc == 0x20 &&
		    lun.sense.ascq == 0x00, "opcode 0x%02x", ops[i]);
		ck_assert_int_eq(cmd.dir, SCSI_DIR_NONE);
		ck_assert_uint_eq(cmd.dlen, 0);
	}
}
END_TEST

START_TEST(short_cdb)
{
	static const uint8_t none[1] = { 0x00 };

	RUN(0x28, 0, 0, 0, 0, 0);		/* READ(10) in 6 bytes */
	assert_sense(0x05, 0x24, 0x00);
	ck_assert_uint_eq(cmd.dlen, 0);
	RUN(0x88, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);	/* READ(16) in 12 */
	assert_sense(0x05, 0x24, 0x00);
	RUN(0x00, 0, 0, 0, 0);			/* TUR in 5 */
	assert_sense(0x05, 0x24, 0x00);
	run(none, 0);				/* CBLength 0 */
	assert_sense(0x05, 0x24, 0x00);
	/* Longer than needed is fine (Windows pads to 12). */
	RUN(0x00, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0);
	assert_good();
}
END_TEST

START_TEST(opcode_names)
{
	ck_assert_str_eq(dev_scsi_opcode_name(0x28), "READ(10)");
	ck_assert_str_eq(dev_scsi_opcode_name(0x00), "TEST UNIT READY");
	ck_assert_str_eq(dev_scsi_opcode_name(0xa1), "unknown");
}
END_TEST

START_TEST(data_in_beyond_buffer_zeroed)
{
	uint8_t b[8];

	RUN(0x12, 0, 0, 0, 36, 0);
	memset(b, 0xff, sizeof(b));
	dev_scsi_data_in(&lun, &cmd, SCSI_BUF_MAX - 4, b, sizeof(b));
	for (size_t i = 0; i < sizeof(b); i++)
		ck_assert_uint_eq(b[i], 0);
}
END_TEST

static Suite *
scsi_suite(void)
{
	Suite *s = suite_create("scsi");
	TCase *info = tcase_create("info");
	TCase *io = tcase_create("io");
	TCase *mode = tcase_create("mode");
	TCase *misc = tcase_create("misc");

	tcase_add_checked_fixture(info, lun_setup, lun_teardown);
	tcase_add_test(info, inquiry_standard);
	tcase_add_test(info, inquiry_alloc_cuts);
	tcase_add_test(info, inquiry_long_identity_truncated);
	tcase_add_test(info, inquiry_vpd_pages);
	tcase_add_test(info, inquiry_bad_page);
	tcase_add_test(info, inquiry_keeps_pending_sense);
	tcase_add_test(info, request_sense_reports_then_clears);
	tcase_add_test(info, request_sense_alloc_and_desc);
	tcase_add_test(info, read_capacity10);
	tcase_add_test(info, read_capacity16);
	tcase_add_test(info, read_format_capacities);
	tcase_add_test(info, report_luns);
	suite_add_tcase(s, info);

	tcase_add_checked_fixture(io, lun_setup, lun_teardown);
	tcase_add_test(io, read10_data);
	tcase_add_test(io, read6_decoding);
	tcase_add_test(io, read12_read16_decoding);
	tcase_add_test(io, read_zero_length);
	tcase_add_test(io, read_out_of_range);
	tcase_add_test(io, write10_data);
	tcase_add_test(io, write6_12_16_decoding);
	tcase_add_test(io, write_readonly);
	tcase_add_test(io, write_turns_readonly_midway);
	tcase_add_test(io, verify_bytchk0);
	tcase_add_test(io, verify_bytchk1_match);
	tcase_add_test(io, verify_bytchk1_miscompare);
	tcase_add_test(io, verify_bytchk_pattern_rejected);
	suite_add_tcase(s, io);

	tcase_add_checked_fixture(mode, lun_setup, lun_teardown);
	tcase_add_test(mode, mode_sense6_all_pages);
	tcase_add_test(mode, mode_sense6_readonly_wp);
	tcase_add_test(mode, mode_sense10);
	tcase_add_test(mode, mode_sense_changeable_no_wce);
	tcase_add_test(mode, mode_sense_saved_and_bad_pages);
	suite_add_tcase(s, mode);

	tcase_add_checked_fixture(misc, lun_setup, lun_teardown);
	tcase_add_test(misc, tur_and_eject);
	tcase_add_test(misc, start_stop_without_loej);
	tcase_add_test(misc, prevent_blocks_eject);
	tcase_add_test(misc, sync_cache);
	tcase_add_test(misc, unknown_opcodes);
	tcase_add_test(misc, short_cdb);
	tcase_add_test(misc, opcode_names);
	tcase_add_test(misc, data_in_beyond_buffer_zeroed);
	suite_add_tcase(s, misc);
	return s;
}

int
main(void)
{
	SRunner *sr = srunner_create(scsi_suite());
	int failed;

	srunner_run_all(sr, CK_NORMAL);
	failed = srunner_ntests_failed(sr);
	srunner_free(sr);
	return failed == 0 ? EXIT_SUCCESS : EXIT_FAILURE;
}
