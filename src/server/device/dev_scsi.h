/*
 * dev_scsi: the SCSI block commands a USB stick answers (SBC/SPC subset that
 * Linux and Windows send; see docs/PROTOCOL.md, "SCSI"), on top of
 * one image.  The transport (dev_bot) asks dev_scsi_exec() for a plan: data
 * direction, how many bytes the device intends to move, the status, and
 * where the data lives (a small response buffer or a range of the image).
 * The transport then moves the data with dev_scsi_data_in()/dev_scsi_data_out(),
 * which may still change the status (write errors, miscompares).
 *
 * Sense data lives in the LUN and is reported by REQUEST SENSE.  Nothing
 * here logs or does network I/O.
 */
#ifndef VTOKEN_DEV_SCSI_H
#define VTOKEN_DEV_SCSI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct dev_image;

#define SCSI_STATUS_GOOD		0x00
#define SCSI_STATUS_CHECK_CONDITION	0x02

#define SCSI_KEY_NO_SENSE		0x0
#define SCSI_KEY_NOT_READY		0x2
#define SCSI_KEY_MEDIUM_ERROR		0x3
#define SCSI_KEY_HARDWARE_ERROR		0x4
#define SCSI_KEY_ILLEGAL_REQUEST	0x5
#define SCSI_KEY_UNIT_ATTENTION		0x6
#define SCSI_KEY_DATA_PROTECT		0x7
#define SCSI_KEY_MISCOMPARE		0xe

#define SCSI_BUF_MAX	256	/* largest non-image response we build */

struct dev_scsi_sense {
	uint8_t key, asc, ascq;
	bool info_valid;
	uint32_t info;		/* e.g. the failing LBA */
};

/* Identity strings are borrowed; they must outlive the LUN. */
struct dev_scsi_lun {
	struct dev_image *img;	/* borrowed; owned by the device's owner */
	const char *vendor;	/* INQUIRY vendor, <= 8 chars */
	const char *product;	/* INQUIRY product, <= 16 chars */
	const char *revision;	/* INQUIRY revision, <= 4 chars */
	const char *serial;	/* VPD 0x80 unit serial number */
	bool prevent;		/* PREVENT MEDIUM REMOVAL in force */
	bool ejected;		/* medium unloaded by START STOP UNIT */
	struct dev_scsi_sense sense;
};

enum dev_scsi_dir {
	SCSI_DIR_NONE = 0,
	SCSI_DIR_IN,		/* device to host */
	SCSI_DIR_OUT,		/* host to device */
};

/* The plan for one command; filled by dev_scsi_exec(). */
struct dev_scsi_cmd {
	uint8_t cdb[16];
	uint8_t opcode;
	enum dev_scsi_dir dir;
	uint64_t dlen;		/* bytes the device intends to move */
	uint8_t status;		/* SCSI_STATUS_* after the command */
	bool from_image;	/* data is image bytes at img_off */
	bool verify;		/* OUT data is compared, not written */
	bool fua;		/* flush after the last OUT byte */
	bool flush;		/* the image must be flushed before the
				   status goes out (dev_scsi_flushed) */
	bool failed_io;		/* an OUT chunk failed; ignore the rest */
	uint64_t img_off;
	uint8_t buf[SCSI_BUF_MAX];	/* response when !from_image */
};

/* Resets per-session state (prevent, eject, sense) for a new attach. */
void dev_scsi_lun_reset(struct dev_scsi_lun *lun);

/*
 * Decodes and runs (or prepares) the command in cdb[0..cdb_len).  Commands
 * without data are complete on return; data commands wait for the
 * transport.  Never fails: problems become CHECK CONDITION plus sense.
 */
void dev_scsi_exec(struct dev_scsi_lun *lun, const uint8_t *cdb, size_t cdb_len,
    struct dev_scsi_cmd *cmd);

/* Copies len IN bytes starting at pos (< dlen) into dst. */
void dev_scsi_data_in(const struct dev_scsi_lun *lun, const struct dev_scsi_cmd *cmd,
    uint64_t pos, uint8_t *dst, size_t len);

/*
 * Consumes len OUT bytes at pos.  The transport calls it in order and
 * then calls dev_scsi_data_out_done() once when all dlen bytes have arrived.
 */
void dev_scsi_data_out(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd, uint64_t pos,
    const uint8_t *data, size_t len);
void dev_scsi_data_out_done(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd);
/*
 * The flush cmd asked for (cmd->flush) ended: err 0, or -1, which fails
 * the command (SYNCHRONIZE CACHE: HARDWARE ERROR / 44-00, a FUA write:
 * MEDIUM ERROR / 0C-00).  The transport runs the flush and calls this,
 * right away or when the image's sink answers.
 */
void dev_scsi_flushed(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd,
    int err);

/* Sets the LUN's sense and the command's status to CHECK CONDITION. */
void dev_scsi_fail(struct dev_scsi_lun *lun, struct dev_scsi_cmd *cmd, uint8_t key,
    uint8_t asc, uint8_t ascq);

/* Name of an opcode for logs ("READ(10)"), or "unknown". */
const char *dev_scsi_opcode_name(uint8_t opcode);

#endif
