/*
 * usb_dev: URB dispatch, endpoint halts and the bulk-IN wait queue.
 * Control requests are in usb_ctrl.c, the transport in msc_bot.c.
 */
#include "server/usb_dev.h"

#include <stdlib.h>
#include <string.h>

#include "server/usb_ctrl.h"
#include "server/usbip_proto.h"

void
usb_payload_copy(const struct usb_payload *p, uint8_t *dst, size_t len)
{
	if (p->mem != NULL)
		memcpy(dst, p->mem, len);
	else
		scsi_data_in(p->lun, p->cmd, p->pos, dst, len);
}

void
usb_dev_init(struct usb_dev *dev, const struct usb_ident *ident,
    struct image *img)
{
	memset(dev, 0, sizeof(*dev));
	dev->ident = *ident;
	dev->lun.img = img;
	dev->lun.vendor = "vtoken";
	dev->lun.product = "Virtual Token";
	dev->lun.revision = "0100";
	dev->lun.serial = ident->serial;
	TAILQ_INIT(&dev->in_queue);
}

void
usb_dev_dequeue(struct usb_dev *dev, struct usb_urb *u)
{
	TAILQ_REMOVE(&dev->in_queue, u, entry);
	dev->npending--;
	dev->pending_bytes -= u->length;
}

static void
usb_dev_drop_pending(struct usb_dev *dev)
{
	struct usb_urb *u;

	while ((u = TAILQ_FIRST(&dev->in_queue)) != NULL) {
		usb_dev_dequeue(dev, u);
		free(u);
	}
}

void
usb_dev_attach(struct usb_dev *dev, const struct usb_sink *sink,
    unsigned max_pending, uint64_t max_pending_bytes)
{
	usb_dev_drop_pending(dev);
	dev->sink = *sink;
	dev->max_pending = max_pending;
	dev->max_pending_bytes = max_pending_bytes;
	dev->config = 0;
	dev->halted_in = dev->halted_out = dev->wedged = false;
	msc_bot_reset(&dev->bot);
	scsi_lun_reset(&dev->lun);
	dev->attached = true;
}

void
usb_dev_detach(struct usb_dev *dev)
{
	usb_dev_drop_pending(dev);
	memset(&dev->sink, 0, sizeof(dev->sink));
	dev->config = 0;
	dev->halted_in = dev->halted_out = dev->wedged = false;
	msc_bot_reset(&dev->bot);
	scsi_lun_reset(&dev->lun);
	dev->attached = false;
}

bool
usb_dev_has_endpoint(const struct usb_dev *dev, uint8_t ep, bool in)
{
	(void)dev;
	if (ep == 0)
		return true;
	if (in)
		return ep == (USB_EP_BULK_IN & 0x0f);
	return ep == USB_EP_BULK_OUT;
}

bool
usb_dev_is_pending(const struct usb_dev *dev, uint32_t seqnum)
{
	const struct usb_urb *u;

	TAILQ_FOREACH(u, &dev->in_queue, entry)
		if (u->seqnum == seqnum)
			return true;
	return false;
}

void
usb_dev_complete(struct usb_dev *dev, const struct usb_urb *urb,
    int32_t status, uint32_t actual, const struct usb_payload *data)
{
	dev->sink.complete(dev->sink.arg, urb, status, actual, data);
}

/*
 * Completes an IN URB with `actual` bytes; a short completion of a URB
 * that forbids it becomes -EREMOTEIO, as a real host controller reports.
 */
void
usb_dev_complete_in(struct usb_dev *dev, const struct usb_urb *urb,
    uint32_t actual, const struct usb_payload *data)
{
	int32_t status = 0;

	if (actual < urb->length && (urb->flags & USBIP_URB_SHORT_NOT_OK))
		status = USBIP_EREMOTEIO;
	usb_dev_complete(dev, urb, status, actual, data);
}

/* Halts bulk IN and fails every waiting URB that is not stale. */
void
usb_dev_stall_in(struct usb_dev *dev, bool wedge)
{
	struct usb_urb *u, *next;

	dev->halted_in = true;
	if (wedge)
		dev->wedged = true;
	for (u = TAILQ_FIRST(&dev->in_queue); u != NULL; u = next) {
		next = TAILQ_NEXT(u, entry);
		if (u->stale)
			continue;
		usb_dev_dequeue(dev, u);
		usb_dev_complete(dev, u, USBIP_EPIPE, 0, NULL);
		free(u);
	}
}

void
usb_dev_mark_pending_stale(struct usb_dev *dev)
{
	struct usb_urb *u;

	TAILQ_FOREACH(u, &dev->in_queue, entry)
		u->stale = true;
}

static int
usb_dev_bulk_in(struct usb_dev *dev, const struct usb_urb *urb)
{
	struct usb_urb *copy;

	if (dev->halted_in) {
		usb_dev_complete(dev, urb, USBIP_EPIPE, 0, NULL);
		return 0;
	}
	if (dev->npending >= dev->max_pending)
		return USB_DEV_TOO_MANY;
	/* No subtraction: a reload may lower the cap below what waits. */
	if (dev->pending_bytes + urb->length > dev->max_pending_bytes)
		return USB_DEV_TOO_BIG;
	copy = malloc(sizeof(*copy));
	if (copy == NULL)
		return USB_DEV_TOO_MANY;
	*copy = *urb;
	copy->stale = msc_bot_in_stale(&dev->bot, urb);
	TAILQ_INSERT_TAIL(&dev->in_queue, copy, entry);
	dev->npending++;
	dev->pending_bytes += urb->length;
	msc_bot_service_in(dev);
	return 0;
}

int
usb_dev_submit(struct usb_dev *dev, const struct usb_urb *urb,
    const uint8_t *out, uint32_t out_len)
{
	if (urb->ep == 0) {
		usb_ctrl_submit(dev, urb, out, out_len);
		return 0;
	}
	/* Bulk endpoints exist only in the configured state. */
	if (dev->config == 0) {
		usb_dev_complete(dev, urb, USBIP_EPIPE, 0, NULL);
		return 0;
	}
	if (urb->in)
		return usb_dev_bulk_in(dev, urb);
	if (dev->halted_out) {
		usb_dev_complete(dev, urb, USBIP_EPIPE, 0, NULL);
		return 0;
	}
	msc_bot_out(dev, urb, out, out_len);
	return 0;
}

int
usb_dev_unlink(struct usb_dev *dev, uint32_t seqnum)
{
	struct usb_urb *u;

	TAILQ_FOREACH(u, &dev->in_queue, entry) {
		if (u->seqnum == seqnum) {
			usb_dev_dequeue(dev, u);
			free(u);
			return 1;
		}
	}
	return 0;
}
