/*
 * dev_usb: one virtual USB mass-storage device, as a host controller sees
 * it through a transport (USB/IP, in usbip/).
 *
 * The transport hands every validated URB submission to dev_usb_submit()
 * and every cancellation to dev_usb_unlink().  The device answers through the
 * session's sink: control and OUT URBs complete at once; bulk-IN URBs that
 * arrive while the Bulk-Only Transport has nothing to send wait in a FIFO
 * (that is a NAK on a real bus) and complete later, in order.
 *
 * The device does not own its image (the export layer's device does) and
 * knows nothing of sockets or of any wire format: URB statuses and flags
 * are its own (DEV_URB_*), which the transport maps to its wire.  One session at a time: dev_usb_attach()/dev_usb_detach().
 */
#ifndef VTOKEN_DEV_USB_H
#define VTOKEN_DEV_USB_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>

#include "server/device/dev_bot.h"
#include "server/device/dev_scsi.h"
#include "server/device/dev_desc.h"

struct dev_image;

/*
 * URB completion statuses: 0 or a negative Linux errno, as a real host
 * controller reports them (docs/PROTOCOL.md, "URB status").
 */
#define DEV_URB_OK		0
#define DEV_URB_EPIPE		(-32)	/* endpoint stalled */
#define DEV_URB_EOVERFLOW	(-75)	/* the device sent more than asked */
#define DEV_URB_EREMOTEIO	(-121)	/* short, and SHORT_NOT_OK was set */

/* URB flags the device looks at. */
#define DEV_URB_SHORT_NOT_OK	0x0001	/* a short IN transfer is an error */

/* One URB as the device sees it (decoded from CMD_SUBMIT). */
struct dev_urb {
	uint32_t seqnum;
	uint8_t ep;		/* endpoint number 0..15 */
	bool in;		/* device to host */
	uint32_t flags;		/* DEV_URB_* flags */
	uint32_t length;	/* transfer_buffer_length (capped) */
	uint8_t setup[8];	/* control only */
	int32_t npackets;	/* as received; only echoed */
	bool stale;		/* of a data phase that ended short (dev_bot) */
	TAILQ_ENTRY(dev_urb) entry;
};
TAILQ_HEAD(dev_urb_queue, dev_urb);

/* Where IN payload bytes come from: memory, or a SCSI data phase. */
struct dev_payload {
	const uint8_t *mem;		/* used when non-NULL */
	const struct dev_scsi_lun *lun;	/* else dev_scsi_data_in(lun, cmd, pos) */
	const struct dev_scsi_cmd *cmd;
	uint64_t pos;
};
void dev_payload_copy(const struct dev_payload *p, uint8_t *dst, size_t len);

/*
 * The session side.  complete() must encode RET_SUBMIT for urb with status
 * and actual; for IN URBs it copies `actual` bytes from *data.  It must not
 * call back into the device.
 */
struct dev_sink {
	void (*complete)(void *arg, const struct dev_urb *urb, int32_t status,
	    uint32_t actual, const struct dev_payload *data);
	void *arg;
};

struct dev_usb {
	struct dev_ident ident;		/* strings borrowed from the owner */
	uint8_t config;			/* 0 unconfigured, 1 configured */
	bool halted_in, halted_out;
	bool wedged;			/* IN halt survives CLEAR_FEATURE */
	struct dev_bot bot;
	struct dev_scsi_lun lun;
	struct dev_urb_queue in_queue;	/* waiting bulk-IN URBs */
	unsigned npending;
	unsigned max_pending;
	uint64_t pending_bytes;		/* lengths of the waiting IN URBs */
	uint64_t max_pending_bytes;
	struct dev_sink sink;
	bool attached;
	struct dev_usb_wait *wait;	/* flush the CSW waits for, or NULL */
};

/* Initializes dev for img (borrowed) with the given identity. */
void dev_usb_init(struct dev_usb *dev, const struct dev_ident *ident,
    struct dev_image *img);
/*
 * Starts a session: fresh device state, completions go to sink.  At most
 * max_pending bulk-IN URBs may wait, asking for max_pending_bytes in all:
 * one CBW answers every waiting URB at once, so without a byte cap a few
 * bytes of input could make max_pending x max_bulk bytes of output.
 */
void dev_usb_attach(struct dev_usb *dev, const struct dev_sink *sink,
    unsigned max_pending, uint64_t max_pending_bytes);
/* Ends the session: pending URBs are dropped without completion. */
void dev_usb_detach(struct dev_usb *dev);

/* True when (ep, in) names endpoint 0 or one of the bulk endpoints. */
bool dev_usb_has_endpoint(const struct dev_usb *dev, uint8_t ep, bool in);
/* True when seqnum is waiting in the device (for duplicate detection). */
bool dev_usb_is_pending(const struct dev_usb *dev, uint32_t seqnum);

/*
 * Processes one URB; out/out_len is the OUT payload (NULL/0 for IN).
 * Returns 0, DEV_USB_TOO_MANY or DEV_USB_TOO_BIG when the URB cannot be
 * queued (over max_pending or max_pending_bytes): the session must then
 * close.
 */
#define DEV_USB_TOO_MANY	(-1)
#define DEV_USB_TOO_BIG		(-2)
int dev_usb_submit(struct dev_usb *dev, const struct dev_urb *urb,
    const uint8_t *out, uint32_t out_len);
/* Cancels a waiting URB: 1 if it was pending (now dropped), else 0. */
int dev_usb_unlink(struct dev_usb *dev, uint32_t seqnum);

/* Internal to dev_usb.c and dev_bot.c. */
/* Takes u off the IN queue (the caller frees it). */
void dev_usb_dequeue(struct dev_usb *dev, struct dev_urb *u);
void dev_usb_complete(struct dev_usb *dev, const struct dev_urb *urb,
    int32_t status, uint32_t actual, const struct dev_payload *data);
void dev_usb_complete_in(struct dev_usb *dev, const struct dev_urb *urb,
    uint32_t actual, const struct dev_payload *data);
void dev_usb_stall_in(struct dev_usb *dev, bool wedge);
void dev_usb_mark_pending_stale(struct dev_usb *dev);
/*
 * Flushes the image for the command in progress: false when that is
 * done (dev_scsi_flushed ran), true when the image's sink answers later
 * (then dev_scsi_flushed runs, the CSW becomes due and waiting IN URBs
 * are served).
 */
bool dev_usb_flush(struct dev_usb *dev);
/* Back to "expect a CBW", forgetting a flush still under way. */
void dev_usb_bot_reset(struct dev_usb *dev);

#endif
