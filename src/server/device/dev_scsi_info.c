/*
 * dev_scsi_info: commands that describe the device rather than move blocks:
 * INQUIRY (standard and VPD 00/80/83), REQUEST SENSE, MODE SENSE(6/10),
 * READ CAPACITY(10/16), READ FORMAT CAPACITIES and REPORT LUNS.
 */
#include <string.h>

#include "common/bytes.h"
#include "server/device/dev_image.h"
#include "server/device/dev_scsi_impl.h"

/* Copies s into a space-padded fixed field (SPC ASCII fields). */
static void
put_padded(uint8_t *dst, size_t size, const char *s)
{
	size_t n = strnlen(s, size);

	memset(dst, ' ', size);
	memcpy(dst, s, n);
}

static size_t
inquiry_vpd(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd, uint8_t page)
{
	uint8_t *b = cmd->buf;
	size_t sl = strnlen(lun->serial, 64);

	b[0] = 0x00;		/* direct-access block device */
	b[1] = page;
	switch (page) {
	case 0x00:		/* supported pages */
		b[3] = 3;
		b[4] = 0x00;
		b[5] = 0x80;
		b[6] = 0x83;
		return 7;
	case 0x80:		/* unit serial number */
		b[3] = (uint8_t)sl;
		memcpy(b + 4, lun->serial, sl);
		return 4 + sl;
	case 0x83:		/* device identification: T10 vendor ID */
		b[4] = 0x02;	/* code set ASCII */
		b[5] = 0x01;	/* association LUN, type T10 vendor ID */
		b[7] = (uint8_t)(8 + sl);
		put_padded(b + 8, 8, lun->vendor);
		memcpy(b + 16, lun->serial, sl);
		put_be16(b + 2, (uint16_t)(4 + 8 + sl));
		return 16 + sl;
	default:
		return 0;
	}
}

void
dev_scsi_inquiry(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	uint32_t alloc = get_be16(cdb + 3);
	uint8_t *b = cmd->buf;
	size_t n;

	memset(b, 0, sizeof(cmd->buf));
	if (cdb[1] & 0x02) {	/* CMDDT is obsolete */
		dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		return;
	}
	if (cdb[1] & 0x01) {
		n = inquiry_vpd(lun, cmd, cdb[2]);
		if (n == 0) {
			dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x24,
			    0x00);
			return;
		}
	} else {
		if (cdb[2] != 0) {
			dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x24,
			    0x00);
			return;
		}
		b[0] = 0x00;	/* direct-access block device */
		b[1] = 0x80;	/* removable medium, like any USB stick */
		/* SPC-2: keeps usb-storage on 18-byte sense (no SANE_SENSE). */
		b[2] = 0x04;
		b[3] = 0x02;	/* response data format 2 */
		b[4] = 36 - 5;
		put_padded(b + 8, 8, lun->vendor);
		put_padded(b + 16, 16, lun->product);
		put_padded(b + 32, 4, lun->revision);
		n = 36;
	}
	dev_scsi_reply(cmd, n, alloc);
	/* INQUIRY never reports or clears a pending condition. */
	cmd->status = SCSI_STATUS_GOOD;
}

void
dev_scsi_request_sense(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	uint8_t *b = cmd->buf;
	const struct dev_scsi_sense *s = &lun->sense;

	if (cmd->cdb[1] & 0x01) {	/* descriptor format not offered */
		dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		return;
	}
	memset(b, 0, 18);
	b[0] = s->info_valid ? 0xf0 : 0x70;
	b[2] = s->key;
	put_be32(b + 3, s->info);
	b[7] = 10;		/* additional length: 18-byte fixed sense */
	b[12] = s->asc;
	b[13] = s->ascq;
	if (lun->ejected && s->key == SCSI_KEY_NO_SENSE) {
		b[2] = SCSI_KEY_NOT_READY;
		b[12] = 0x3a;
	}
	dev_scsi_reply(cmd, 18, cmd->cdb[4]);
	dev_scsi_good(lun, cmd);	/* reporting clears the sense */
}

/* Appends the caching (08) page; changeable values are all zero. */
static size_t
mode_page_caching(struct dev_scsi_lun *lun, uint8_t *p, unsigned pc)
{
	memset(p, 0, 20);
	p[0] = 0x08;
	p[1] = 0x12;
	/* WCE=1 on writable media: Linux then sends SYNCHRONIZE CACHE. */
	if (pc != 1 && !dev_image_is_readonly(lun->img))
		p[2] = 0x04;
	return 20;
}

static size_t
mode_page_iec(uint8_t *p)
{
	memset(p, 0, 12);
	p[0] = 0x1c;
	p[1] = 0x0a;
	return 12;
}

void
dev_scsi_mode_sense(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	const uint8_t *cdb = cmd->cdb;
	bool ten = cdb[0] == 0x5a;
	unsigned pc = cdb[2] >> 6, page = cdb[2] & 0x3f, sub = cdb[3];
	uint32_t alloc = ten ? get_be16(cdb + 7) : cdb[4];
	size_t hdr = ten ? 8 : 4, n;
	uint8_t *b = cmd->buf;

	memset(b, 0, sizeof(cmd->buf));
	if (pc == 3) {
		dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x39, 0x00);
		return;
	}
	if (!((sub == 0 && (page == 0x08 || page == 0x1c || page == 0x3f)) ||
	    (sub == 0xff && page == 0x3f))) {
		dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		return;
	}
	n = hdr;
	if (page == 0x08 || page == 0x3f)
		n += mode_page_caching(lun, b + n, pc);
	if (page == 0x1c || page == 0x3f)
		n += mode_page_iec(b + n);
	/* Device-specific parameter: bit 7 is write protect. */
	if (ten) {
		put_be16(b, (uint16_t)(n - 2));
		b[3] = dev_image_is_readonly(lun->img) ? 0x80 : 0x00;
	} else {
		b[0] = (uint8_t)(n - 1);
		b[2] = dev_image_is_readonly(lun->img) ? 0x80 : 0x00;
	}
	dev_scsi_reply(cmd, n, alloc);
	dev_scsi_good(lun, cmd);
}

void
dev_scsi_read_capacity10(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	uint64_t last;

	if (dev_scsi_not_ready(lun, cmd))
		return;
	last = dev_image_sectors(lun->img) - 1;
	put_be32(cmd->buf, last > 0xffffffffu ? 0xffffffffu : (uint32_t)last);
	put_be32(cmd->buf + 4, DEV_IMAGE_SECTOR_SIZE);
	dev_scsi_reply(cmd, 8, 8);
	dev_scsi_good(lun, cmd);
}

void
dev_scsi_read_capacity16(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	if ((cmd->cdb[1] & 0x1f) != 0x10) {	/* only READ CAPACITY(16) */
		dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x20, 0x00);
		return;
	}
	if (dev_scsi_not_ready(lun, cmd))
		return;
	memset(cmd->buf, 0, 32);
	put_be64(cmd->buf, dev_image_sectors(lun->img) - 1);
	put_be32(cmd->buf + 8, DEV_IMAGE_SECTOR_SIZE);
	dev_scsi_reply(cmd, 32, get_be32(cmd->cdb + 10));
	dev_scsi_good(lun, cmd);
}

void
dev_scsi_read_format_capacities(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	uint64_t n = dev_image_sectors(lun->img);
	uint8_t *b = cmd->buf;

	memset(b, 0, 12);
	b[3] = 8;		/* capacity list length: one descriptor */
	put_be32(b + 4, n > 0xffffffffu ? 0xffffffffu : (uint32_t)n);
	b[8] = lun->ejected ? 0x03 : 0x02;	/* no medium / formatted */
	b[9] = 0;
	put_be16(b + 10, DEV_IMAGE_SECTOR_SIZE);	/* 24-bit block length */
	dev_scsi_reply(cmd, 12, get_be16(cmd->cdb + 7));
	dev_scsi_good(lun, cmd);
}

void
dev_scsi_report_luns(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	memset(cmd->buf, 0, 16);
	put_be32(cmd->buf, 8);	/* one LUN (0), 8 bytes */
	dev_scsi_reply(cmd, 16, get_be32(cmd->cdb + 6));
	dev_scsi_good(lun, cmd);
}
