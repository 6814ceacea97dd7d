/*
 * usb_dev: one virtual USB mass-storage device as seen through USB/IP.
 *
 * The USB/IP session hands every validated CMD_SUBMIT to usb_dev_submit()
 * and every CMD_UNLINK to usb_dev_unlink().  The device answers through the
 * session's sink: control and OUT URBs complete at once; bulk-IN URBs that
 * arrive while the Bulk-Only Transport has nothing to send wait in a FIFO
 * (that is a NAK on a real bus) and complete later, in order.
 *
 * The device does not own its image (the registry does) and knows nothing
 * of sockets.  One session at a time: usb_dev_attach()/usb_dev_detach().
 */
#ifndef VTOKEN_USB_DEV_H
#define VTOKEN_USB_DEV_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "server/msc_bot.h"
#include "server/scsi.h"
#include "server/usb_desc.h"

struct image;

/* One URB as the device sees it (decoded from CMD_SUBMIT). */
struct usb_urb {
	uint32_t seqnum;
	uint8_t ep;		/* endpoint number 0..15 */
	bool in;		/* device to host */
	uint32_t flags;		/* USBIP_URB_* wire flags */
	uint32_t length;	/* transfer_buffer_length (capped) */
	uint8_t setup[8];	/* control only */
	int32_t npackets;	/* as received; only echoed */
	bool stale;		/* of a data phase that ended short (msc_bot) */
	TAILQ_ENTRY(usb_urb) entry;
};
TAILQ_HEAD(usb_urb_queue, usb_urb);

/* Where IN payload bytes come from: memory, or a SCSI data phase. */
struct usb_payload {
	const uint8_t *mem;		/* used when non-NULL */
	const struct scsi_lun *lun;	/* else scsi_data_in(lun, cmd, pos) */
	const struct scsi_cmd *cmd;
	uint64_t pos;
};
void usb_payload_copy(const struct usb_payload *p, uint8_t *dst, size_t len);

/*
 * The session side.  complete() must encode RET_SUBMIT for urb with status
 * and actual; for IN URBs it copies `actual` bytes from *data.  It must not
 * call back into the device.
 */
struct usb_sink {
	void (*complete)(void *arg, const struct usb_urb *urb, int32_t status,
	    uint32_t actual, const struct usb_payload *data);
	void *arg;
};

struct usb_dev {
	struct usb_ident ident;		/* strings borrowed from the owner */
	uint8_t config;			/* 0 unconfigured, 1 configured */
	bool halted_in, halted_out;
	bool wedged;			/* IN halt survives CLEAR_FEATURE */
	struct msc_bot bot;
	struct scsi_lun lun;
	struct usb_urb_queue in_queue;	/* waiting bulk-IN URBs */
	unsigned npending;
	unsigned max_pending;
	uint64_t pending_bytes;		/* lengths of the waiting IN URBs */
	uint64_t max_pending_bytes;
	struct usb_sink sink;
	bool attached;
};

/* Initializes dev for img (borrowed) with the given identity. */
void usb_dev_init(struct usb_dev *dev, const struct usb_ident *ident,
    struct image *img);
/*
 * Starts a session: fresh device state, completions go to sink.  At most
 * max_pending bulk-IN URBs may wait, asking for max_pending_bytes in all:
 * one CBW answers every waiting URB at once, so without a byte cap a few
 * bytes of input could make max_pending x max_bulk bytes of output.
 */
void usb_dev_attach(struct usb_dev *dev, const struct usb_sink *sink,
    unsigned max_pending, uint64_t max_pending_bytes);
/* Ends the session: pending URBs are dropped without completion. */
void usb_dev_detach(struct usb_dev *dev);

/* True when (ep, in) names endpoint 0 or one of the bulk endpoints. */
bool usb_dev_has_endpoint(const struct usb_dev *dev, uint8_t ep, bool in);
/* True when seqnum is waiting in the device (for duplicate detection). */
bool usb_dev_is_pending(const struct usb_dev *dev, uint32_t seqnum);

/*
 * Processes one URB; out/out_len is the OUT payload (NULL/0 for IN).
 * Returns 0, USB_DEV_TOO_MANY or USB_DEV_TOO_BIG when the URB cannot be
 * queued (over max_pending or max_pending_bytes): the session must then
 * close.
 */
#define USB_DEV_TOO_MANY	(-1)
#define USB_DEV_TOO_BIG		(-2)
int usb_dev_submit(struct usb_dev *dev, const struct usb_urb *urb,
    const uint8_t *out, uint32_t out_len);
/* Cancels a waiting URB: 1 if it was pending (now dropped), else 0. */
int usb_dev_unlink(struct usb_dev *dev, uint32_t seqnum);

/* Internal to usb_dev.c and msc_bot.c. */
/* Takes u off the IN queue (the caller frees it). */
void usb_dev_dequeue(struct usb_dev *dev, struct usb_urb *u);
void usb_dev_complete(struct usb_dev *dev, const struct usb_urb *urb,
    int32_t status, uint32_t actual, const struct usb_payload *data);
void usb_dev_complete_in(struct usb_dev *dev, const struct usb_urb *urb,
    uint32_t actual, const struct usb_payload *data);
void usb_dev_stall_in(struct usb_dev *dev, bool wedge);
void usb_dev_mark_pending_stale(struct usb_dev *dev);

#endif
