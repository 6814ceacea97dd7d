/*
 * dev_scsi: opcode dispatch, sense handling and the block I/O commands.
 * Identity and capacity reports live in scsi_info.c.
 */
#include "server/device/dev_scsi.h"

#include <errno.h>
#include <string.h>

#include "common/bytes.h"
#include "server/device/dev_image.h"
#include "server/device/dev_scsi_impl.h"

typedef void scsi_exec_fn(struct dev_scsi_lun *, struct dev_scsi_cmd *);

struct dev_scsi_op {
	uint8_t opcode;
	const char *name;
	scsi_exec_fn *exec;	/* NULL: known name, not supported */
};

static scsi_exec_fn dev_scsi_tur, dev_scsi_rw, dev_scsi_prevent, dev_scsi_start_stop;
static scsi_exec_fn dev_scsi_sync_cache, dev_scsi_verify, dev_scsi_unsupported;

static const struct dev_scsi_op scsi_ops[] = {
	{ 0x00, "TEST UNIT READY", dev_scsi_tur },
	{ 0x03, "REQUEST SENSE", dev_scsi_request_sense },
	{ 0x08, "READ(6)", dev_scsi_rw },
	{ 0x0a, "WRITE(6)", dev_scsi_rw },
	{ 0x12, "INQUIRY", dev_scsi_inquiry },
	{ 0x15, "MODE SELECT(6)", dev_scsi_unsupported },
	{ 0x1a, "MODE SENSE(6)", dev_scsi_mode_sense },
	{ 0x1b, "START STOP UNIT", dev_scsi_start_stop },
	{ 0x1e, "PREVENT ALLOW MEDIUM REMOVAL", dev_scsi_prevent },
	{ 0x23, "READ FORMAT CAPACITIES", dev_scsi_read_format_capacities },
	{ 0x25, "READ CAPACITY(10)", dev_scsi_read_capacity10 },
	{ 0x28, "READ(10)", dev_scsi_rw },
	{ 0x2a, "WRITE(10)", dev_scsi_rw },
	{ 0x2f, "VERIFY(10)", dev_scsi_verify },
	{ 0x35, "SYNCHRONIZE CACHE(10)", dev_scsi_sync_cache },
	{ 0x55, "MODE SELECT(10)", dev_scsi_unsupported },
	{ 0x5a, "MODE SENSE(10)", dev_scsi_mode_sense },
	{ 0x88, "READ(16)", dev_scsi_rw },
	{ 0x8a, "WRITE(16)", dev_scsi_rw },
	{ 0x8f, "VERIFY(16)", dev_scsi_verify },
	{ 0x91, "SYNCHRONIZE CACHE(16)", dev_scsi_sync_cache },
	{ 0x9e, "SERVICE ACTION IN(16)", dev_scsi_read_capacity16 },
	{ 0xa0, "REPORT LUNS", dev_scsi_report_luns },
	{ 0xa8, "READ(12)", dev_scsi_rw },
	{ 0xaa, "WRITE(12)", dev_scsi_rw },
};

static const struct dev_scsi_op *
dev_scsi_op_find(uint8_t opcode)
{
	for (size_t i = 0; i < sizeof(scsi_ops) / sizeof(scsi_ops[0]); i++)
		if (scsi_ops[i].opcode == opcode)
			return &scsi_ops[i];
	return NULL;
}

const char *
dev_scsi_opcode_name(uint8_t opcode)
{
	const struct dev_scsi_op *op = dev_scsi_op_find(opcode);

	return op != NULL ? op->name : "unknown";
}

/* CDB length implied by the opcode's group code (SPC-4 4.2.5.1). */
static size_t
dev_scsi_cdb_len(uint8_t opcode)
{
	switch (opcode >> 5) {
	case 0:
		return 6;
	case 1:
	case 2:
		return 10;
	case 4:
		return 16;
	case 5:
		return 12;
	default:
		return 0;	/* reserved or vendor groups */
	}
}

void
dev_scsi_lun_reset(struct dev_scsi_lun *lun)
{
	lun->prevent = false;
	lun->ejected = false;
	memset(&lun->sense, 0, sizeof(lun->sense));
}

void
dev_scsi_fail(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd, uint8_t key,
    uint8_t asc, uint8_t ascq)
{
	memset(&lun->sense, 0, sizeof(lun->sense));
	lun->sense.key = key;
	lun->sense.asc = asc;
	lun->sense.ascq = ascq;
	cmd->status = SCSI_STATUS_CHECK_CONDITION;
}

void
dev_scsi_good(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	memset(&lun->sense, 0, sizeof(lun->sense));
	cmd->status = SCSI_STATUS_GOOD;
}

void
dev_scsi_reply(struct dev_scsi_cmd *cmd, size_t len, uint32_t alloc)
{
	cmd->dir = SCSI_DIR_IN;
	cmd->dlen = len < alloc ? len : alloc;
	cmd->from_image = false;
}

bool
dev_scsi_not_ready(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	if (!lun->ejected)
		return false;
	dev_scsi_fail(lun, cmd, SCSI_KEY_NOT_READY, 0x3a, 0x00);
	return true;
}

void
dev_scsi_exec(struct dev_scsi_lun *lun, const uint8_t *cdb, size_t cdb_len,
    struct dev_scsi_cmd *cmd)
{
	const struct dev_scsi_op *op;

	memset(cmd, 0, sizeof(*cmd));
	if (cdb_len > sizeof(cmd->cdb))
		cdb_len = sizeof(cmd->cdb);
	memcpy(cmd->cdb, cdb, cdb_len);
	cmd->opcode = cmd->cdb[0];
	op = dev_scsi_op_find(cmd->opcode);
	if (op == NULL || op->exec == NULL) {
		dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x20, 0x00);
		return;
	}
	/* Hosts may send a longer CB (Windows pads to 12), never shorter. */
	if (cdb_len < dev_scsi_cdb_len(cmd->opcode)) {
		dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		return;
	}
	op->exec(lun, cmd);
}

static void
dev_scsi_unsupported(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x20, 0x00);
}

static void
dev_scsi_tur(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	if (!dev_scsi_not_ready(lun, cmd))
		dev_scsi_good(lun, cmd);
}

static void
dev_scsi_prevent(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	lun->prevent = (cmd->cdb[4] & 0x01) != 0;
	dev_scsi_good(lun, cmd);
}

static void
dev_scsi_start_stop(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	bool start = cmd->cdb[4] & 0x01, loej = cmd->cdb[4] & 0x02;

	/* Power conditions do not apply to memory; accept them. */
	if ((cmd->cdb[4] & 0xf0) != 0 || !loej) {
		dev_scsi_good(lun, cmd);
		return;
	}
	if (start) {
		lun->ejected = false;
		dev_scsi_good(lun, cmd);
	} else if (lun->prevent)
		dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x53, 0x02);
	else {
		lun->ejected = true;
		dev_scsi_good(lun, cmd);
	}
}

static void
dev_scsi_sync_cache(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	if (dev_scsi_not_ready(lun, cmd))
		return;
	dev_scsi_good(lun, cmd);
	cmd->flush = true;
}

/* Decodes LBA and block count of READ/WRITE/VERIFY 6/10/12/16. */
static void
dev_scsi_lba_count(const uint8_t *cdb, uint64_t *lba, uint64_t *count)
{
	switch (cdb[0]) {
	case 0x08:
	case 0x0a:
		*lba = (uint64_t)(cdb[1] & 0x1f) << 16 | get_be16(cdb + 2);
		*count = cdb[4] ? cdb[4] : 256;	/* SBC: 0 means 256 */
		break;
	case 0x28:
	case 0x2a:
	case 0x2f:
		*lba = get_be32(cdb + 2);
		*count = get_be16(cdb + 7);
		break;
	case 0xa8:
	case 0xaa:
		*lba = get_be32(cdb + 2);
		*count = get_be32(cdb + 6);
		break;
	default:	/* 0x88, 0x8a, 0x8f */
		*lba = get_be64(cdb + 2);
		*count = get_be32(cdb + 10);
		break;
	}
}

/* Checks medium and range; sets img_off/dlen.  False after a failure. */
static bool
dev_scsi_plan_range(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	uint64_t lba, count;

	if (dev_scsi_not_ready(lun, cmd))
		return false;
	dev_scsi_lba_count(cmd->cdb, &lba, &count);
	if (!dev_image_range(lun->img, lba, count, &cmd->img_off, &cmd->dlen)) {
		dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x21, 0x00);
		/* INFORMATION is 32 bits in fixed sense: valid only if it fits. */
		lun->sense.info_valid = lba <= 0xffffffffu;
		lun->sense.info = lba <= 0xffffffffu ? (uint32_t)lba : 0;
		return false;
	}
	cmd->from_image = true;
	return true;
}

static void
dev_scsi_rw(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	bool write = (cmd->opcode & 0x02) != 0;	/* 0a/2a/8a/aa */

	if (!dev_scsi_plan_range(lun, cmd))
		return;
	if (write && dev_image_is_readonly(lun->img)) {
		cmd->dlen = 0;
		dev_scsi_fail(lun, cmd, SCSI_KEY_DATA_PROTECT, 0x27, 0x00);
		return;
	}
	if (cmd->dlen > 0)
		cmd->dir = write ? SCSI_DIR_OUT : SCSI_DIR_IN;
	/* FUA lives in byte 1 bit 3 of the 10/12/16-byte forms. */
	cmd->fua = write && cmd->opcode != 0x0a && (cmd->cdb[1] & 0x08);
	dev_scsi_good(lun, cmd);
}

static void
dev_scsi_verify(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	unsigned bytchk = (cmd->cdb[1] >> 1) & 0x03;

	if (bytchk > 1) {	/* byte-pattern modes are not supported */
		dev_scsi_fail(lun, cmd, SCSI_KEY_ILLEGAL_REQUEST, 0x24, 0x00);
		return;
	}
	if (!dev_scsi_plan_range(lun, cmd))
		return;
	if (bytchk == 1 && cmd->dlen > 0) {
		cmd->dir = SCSI_DIR_OUT;
		cmd->verify = true;
	} else
		cmd->dlen = 0;	/* medium verification: memory is fine */
	dev_scsi_good(lun, cmd);
}

void
dev_scsi_data_in(const struct dev_scsi_lun *lun, const struct dev_scsi_cmd *cmd,
    uint64_t pos, uint8_t *dst, size_t len)
{
	if (cmd->from_image) {
		/* The range was checked in dev_scsi_plan_range. */
		if (dev_image_read(lun->img, cmd->img_off + pos, dst, len) < 0)
			memset(dst, 0, len);
	} else if (pos < sizeof(cmd->buf) && len <= sizeof(cmd->buf) - pos)
		memcpy(dst, cmd->buf + pos, len);
	else
		memset(dst, 0, len);
}

void
dev_scsi_data_out(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd, uint64_t pos,
    const uint8_t *data, size_t len)
{
	int r;

	if (cmd->failed_io || !cmd->from_image)
		return;
	if (cmd->verify) {
		r = dev_image_compare(lun->img, cmd->img_off + pos, data, len);
		if (r != 0) {
			dev_scsi_fail(lun, cmd, SCSI_KEY_MISCOMPARE, 0x1d, 0x00);
			cmd->failed_io = true;
		}
		return;
	}
	if (dev_image_write(lun->img, cmd->img_off + pos, data, len) < 0) {
		if (errno == EROFS)
			dev_scsi_fail(lun, cmd, SCSI_KEY_DATA_PROTECT, 0x27, 0x00);
		else
			dev_scsi_fail(lun, cmd, SCSI_KEY_MEDIUM_ERROR, 0x0c, 0x00);
		cmd->failed_io = true;
	}
}

void
dev_scsi_data_out_done(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd)
{
	(void)lun;
	if (!cmd->failed_io && cmd->fua)
		cmd->flush = true;
}

void
dev_scsi_flushed(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd,
    int err)
{
	cmd->flush = false;
	if (err == 0)
		return;
	if (cmd->opcode == 0x35 || cmd->opcode == 0x91)
		dev_scsi_fail(lun, cmd, SCSI_KEY_HARDWARE_ERROR, 0x44, 0x00);
	else
		dev_scsi_fail(lun, cmd, SCSI_KEY_MEDIUM_ERROR, 0x0c, 0x00);
}
