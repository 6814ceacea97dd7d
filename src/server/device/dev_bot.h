/*
 * dev_bot: USB Mass Storage Bulk-Only Transport (BOT 1.0) on top of scsi.
 *
 * States: IDLE (expect a CBW on bulk OUT) -> DATA_IN / DATA_OUT -> STATUS
 * (the CSW is due on bulk IN) -> IDLE.  The thirteen host/device cases of
 * BOT section 6.7 are decided once per CBW in dev_bot_plan(); short
 * completions are preferred to stalls (docs/PROTOCOL.md, "Bulk-Only
 * Transport"), phase errors answer bCSWStatus 2.  Functions take the
 * owning dev_usb because stalls and completions are endpoint matters.
 */
#ifndef VTOKEN_DEV_BOT_H
#define VTOKEN_DEV_BOT_H

#include <stdbool.h>
#include <stdint.h>

#include "server/device/dev_scsi.h"

#define MSC_CBW_SIZE		31
#define MSC_CSW_SIZE		13
#define MSC_CBW_SIGNATURE	0x43425355u	/* "USBC" */
#define MSC_CSW_SIGNATURE	0x53425355u	/* "USBS" */
#define MSC_CSW_PASSED		0
#define MSC_CSW_FAILED		1
#define MSC_CSW_PHASE_ERROR	2

enum dev_bot_state {
	DEV_BOT_IDLE = 0,	/* expecting a CBW */
	DEV_BOT_DATA_IN,	/* device sends `xfer` bytes */
	DEV_BOT_DATA_OUT,	/* host sends `h` bytes, `xfer` of them used */
	DEV_BOT_STATUS,		/* CSW due on the next IN URB */
	DEV_BOT_BUSY,		/* flushing; then STATUS (IN URBs wait) */
};

struct dev_bot {
	enum dev_bot_state state;
	uint32_t tag;		/* dCBWTag, echoed in the CSW */
	uint32_t h;		/* dCBWDataTransferLength */
	uint64_t xfer;		/* bytes the device moves in the data phase */
	uint64_t done;		/* bytes moved so far */
	bool to_scsi;		/* OUT data goes to scsi (else discarded) */
	bool phase_error;
	bool drain;		/* data-IN ended short under SHORT_NOT_OK */
	uint32_t residue;
	struct dev_scsi_cmd cmd;
};

struct dev_usb;
struct dev_urb;

const char *dev_bot_strstate(enum dev_bot_state s);
/* Back to IDLE, command dropped (Bulk-Only Mass Storage Reset, config). */
void dev_bot_reset(struct dev_bot *bot);
/* A bulk-OUT URB with its payload; always completes the URB. */
void dev_bot_out(struct dev_usb *dev, const struct dev_urb *urb,
    const uint8_t *data, uint32_t len);
/*
 * True when a bulk-IN URB that arrives now belongs to a data phase that
 * has already ended short under SHORT_NOT_OK: a host that split the phase
 * into several URBs (Linux before 5.3, or without scatter-gather) had them
 * on the wire before it saw the short one, and unlinks them once it has.
 * Such a URB must wait, unanswered, rather than take the CSW.  The CSW's
 * own URB is told apart by its flags (Linux never sets SHORT_NOT_OK on
 * it) or by its length (13 bytes; data URBs are page-sized).
 */
bool dev_bot_in_stale(const struct dev_bot *bot, const struct dev_urb *urb);
/*
 * Serves waiting bulk-IN URBs from the head of dev->in_queue while the
 * transport has something to send.
 */
void dev_bot_service_in(struct dev_usb *dev);
/*
 * The command's data phase is over: the CSW is due, after the image is
 * flushed if the command asked for it (DEV_BOT_BUSY until then).
 */
void dev_bot_to_status(struct dev_usb *dev);

#endif
