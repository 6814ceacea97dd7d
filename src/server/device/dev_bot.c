/*
 * dev_bot: the Bulk-Only Transport state machine (see dev_bot.h).
 *
 * Case numbers refer to BOT 1.0 section 6.7 (table in docs/PROTOCOL.md,
 * "Bulk-Only Transport"): Hn/Hi/Ho is what the host's CBW expects,
 * Dn/Di/Do what the command wants.  Di is min(allocation length, data
 * available), so a host that asks for more than the device has gets a
 * short data phase (case 5), not a phase error.
 */
#include "server/device/dev_bot.h"

#include <stdlib.h>
#include <string.h>

#include "common/bytes.h"
#include "server/device/dev_usb.h"

const char *
dev_bot_strstate(enum dev_bot_state s)
{
	switch (s) {
	case DEV_BOT_IDLE:
		return "idle";
	case DEV_BOT_DATA_IN:
		return "data-in";
	case DEV_BOT_DATA_OUT:
		return "data-out";
	case DEV_BOT_STATUS:
		return "status";
	case DEV_BOT_BUSY:
		return "busy";
	}
	return "?";
}

void
dev_bot_reset(struct dev_bot *bot)
{
	memset(bot, 0, sizeof(*bot));
	bot->state = DEV_BOT_IDLE;
}

void
dev_bot_to_status(struct dev_usb *dev)
{
	struct dev_bot *bot = &dev->bot;

	bot->state = DEV_BOT_STATUS;
	if (bot->cmd.flush && !bot->phase_error && dev_usb_flush(dev))
		bot->state = DEV_BOT_BUSY;
}

/* Decides the data phase for a decoded CBW and the command's plan. */
static void
dev_bot_plan(struct dev_bot *bot, bool h_in)
{
	const struct dev_scsi_cmd *c = &bot->cmd;
	uint64_t d = c->dir == SCSI_DIR_NONE ? 0 : c->dlen;
	uint32_t h = bot->h;

	bot->xfer = 0;
	bot->done = 0;
	bot->to_scsi = false;
	bot->phase_error = false;
	bot->residue = h;
	if (h == 0) {
		/* case 1 (Hn = Dn) or cases 2/3 (Hn < Di, Hn < Do) */
		bot->phase_error = d > 0;
		bot->residue = 0;
		bot->state = DEV_BOT_STATUS;
		return;
	}
	if (h_in) {
		bot->state = DEV_BOT_DATA_IN;
		if (d == 0)			/* case 4: Hi > Dn */
			return;
		if (c->dir == SCSI_DIR_OUT) {	/* case 8: Hi <> Do */
			bot->phase_error = true;
			return;
		}
		if (d <= h) {			/* cases 5, 6 */
			bot->xfer = d;
			bot->residue = (uint32_t)(h - d);
		} else {			/* case 7: Hi < Di */
			bot->xfer = h;
			bot->phase_error = true;
		}
		return;
	}
	bot->state = DEV_BOT_DATA_OUT;
	if (d == 0)				/* case 9: Ho > Dn */
		return;
	if (c->dir == SCSI_DIR_IN) {		/* case 10: Ho <> Di */
		bot->phase_error = true;
		return;
	}
	if (d <= h) {				/* cases 11, 12 */
		bot->xfer = d;
		bot->to_scsi = true;
		bot->residue = (uint32_t)(h - d);
	} else					/* case 13: Ho < Do */
		bot->phase_error = true;
}

/* Handles a CBW-sized OUT transfer in IDLE. */
static void
dev_bot_cbw(struct dev_usb *dev, const struct dev_urb *urb,
    const uint8_t *p, uint32_t len)
{
	struct dev_bot *bot = &dev->bot;
	uint8_t flags, lun, cblen;

	if (len != MSC_CBW_SIZE || get_le32(p) != MSC_CBW_SIGNATURE) {
		/* Not a valid CBW: accept it, wedge bulk IN (BOT 6.6.1). */
		dev_usb_complete(dev, urb, 0, len, NULL);
		dev_usb_stall_in(dev, true);
		return;
	}
	flags = p[12];
	lun = p[13];
	cblen = p[14];
	if ((flags & 0x7f) != 0 || lun != 0 || cblen == 0 || cblen > 16) {
		/* Valid but not meaningful: stall both directions. */
		dev_usb_complete(dev, urb, DEV_URB_EPIPE, 0, NULL);
		dev->halted_out = true;
		dev_usb_stall_in(dev, false);
		return;
	}
	bot->tag = get_le32(p + 4);
	bot->h = get_le32(p + 8);
	dev_scsi_exec(&dev->lun, p + 15, cblen, &bot->cmd);
	dev_bot_plan(bot, (flags & 0x80) != 0);
	dev_usb_complete(dev, urb, 0, len, NULL);
	if (bot->state == DEV_BOT_STATUS)
		dev_bot_to_status(dev);
}

/* Consumes data-phase OUT bytes; the excess over h is not taken. */
static void
dev_bot_data_out(struct dev_usb *dev, const struct dev_urb *urb,
    const uint8_t *p, uint32_t len)
{
	struct dev_bot *bot = &dev->bot;
	uint64_t left = bot->h - bot->done;
	uint32_t take = len < left ? len : (uint32_t)left;

	if (bot->to_scsi && bot->done < bot->xfer) {
		uint64_t room = bot->xfer - bot->done;
		size_t n = take < room ? take : (size_t)room;

		dev_scsi_data_out(&dev->lun, &bot->cmd, bot->done, p, n);
	}
	bot->done += take;
	dev_usb_complete(dev, urb, 0, take, NULL);
	if (bot->done == bot->h) {
		if (bot->to_scsi)
			dev_scsi_data_out_done(&dev->lun, &bot->cmd);
		dev_bot_to_status(dev);
		dev_bot_service_in(dev);
	}
}

void
dev_bot_out(struct dev_usb *dev, const struct dev_urb *urb,
    const uint8_t *data, uint32_t len)
{
	if (dev->wedged) {
		/*
		 * After an invalid CBW the host is out of step: until reset
		 * recovery, accept and discard OUT (BOT 6.6.1), so data-phase
		 * bytes are never run as a command.
		 */
		dev_usb_complete(dev, urb, 0, len, NULL);
		return;
	}
	switch (dev->bot.state) {
	case DEV_BOT_IDLE:
		dev_bot_cbw(dev, urb, data, len);
		dev_bot_service_in(dev);
		break;
	case DEV_BOT_DATA_OUT:
		dev_bot_data_out(dev, urb, data, len);
		break;
	default:
		/* OUT while the device owes IN data or a CSW. */
		dev_usb_complete(dev, urb, DEV_URB_EPIPE, 0, NULL);
		dev->halted_out = true;
		break;
	}
}

/* Sends data-phase bytes into urb; returns true when the phase ended. */
static bool
dev_bot_data_in(struct dev_usb *dev, const struct dev_urb *urb)
{
	struct dev_bot *bot = &dev->bot;
	uint64_t left = bot->xfer - bot->done;
	uint32_t n = urb->length < left ? urb->length : (uint32_t)left;
	struct dev_payload pl = {
		.lun = &dev->lun, .cmd = &bot->cmd, .pos = bot->done,
	};

	bot->done += n;
	dev_usb_complete_in(dev, urb, n, &pl);
	if (n < urb->length) {
		/*
		 * A short packet ends the data phase.  If the URB forbade it,
		 * the host (usb_sg) unlinks the URBs it queued behind it, so
		 * none of those may receive the CSW.
		 */
		if (urb->flags & DEV_URB_SHORT_NOT_OK) {
			dev_usb_mark_pending_stale(dev);
			bot->drain = true;	/* and the ones still coming */
		}
		return true;
	}
	/* Filled exactly: done unless a short/zero-length end is still due. */
	return bot->done == bot->h;
}

static void
dev_bot_csw(struct dev_usb *dev, const struct dev_urb *urb)
{
	struct dev_bot *bot = &dev->bot;
	uint8_t csw[MSC_CSW_SIZE];
	struct dev_payload pl = { .mem = csw };
	uint32_t n = urb->length < MSC_CSW_SIZE ? urb->length : MSC_CSW_SIZE;

	put_le32(csw, MSC_CSW_SIGNATURE);
	put_le32(csw + 4, bot->tag);
	if (bot->phase_error) {
		put_le32(csw + 8, 0);
		csw[12] = MSC_CSW_PHASE_ERROR;
	} else {
		put_le32(csw + 8, bot->residue);
		csw[12] = bot->cmd.status == SCSI_STATUS_GOOD ?
		    MSC_CSW_PASSED : MSC_CSW_FAILED;
	}
	if (n < MSC_CSW_SIZE)	/* babble: the host's buffer is too small */
		dev_usb_complete(dev, urb, DEV_URB_EOVERFLOW, n, &pl);
	else
		dev_usb_complete_in(dev, urb, n, &pl);
	dev_bot_reset(bot);
}

bool
dev_bot_in_stale(const struct dev_bot *bot, const struct dev_urb *urb)
{
	return bot->drain && bot->state == DEV_BOT_STATUS &&
	    (urb->flags & DEV_URB_SHORT_NOT_OK) &&
	    urb->length != MSC_CSW_SIZE;
}

void
dev_bot_service_in(struct dev_usb *dev)
{
	struct dev_urb *u;

	for (;;) {
		if (dev->bot.state != DEV_BOT_DATA_IN &&
		    dev->bot.state != DEV_BOT_STATUS)
			return;
		TAILQ_FOREACH(u, &dev->in_queue, entry)
			if (!u->stale)
				break;
		if (u == NULL)
			return;
		dev_usb_dequeue(dev, u);
		if (dev->bot.state == DEV_BOT_DATA_IN) {
			if (dev_bot_data_in(dev, u))
				dev_bot_to_status(dev);
		} else
			dev_bot_csw(dev, u);
		free(u);
	}
}
