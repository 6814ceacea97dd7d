/*
 * dev_usb: URB dispatch, endpoint halts and the bulk-IN wait queue.
 * Control requests are in dev_ctrl.c, the transport in dev_bot.c.
 */
#include "server/device/dev_usb.h"

#include <stdlib.h>
#include <string.h>

#include "server/device/dev_ctrl.h"
#include "server/device/dev_image.h"

void
dev_payload_copy(const struct dev_payload *p, uint8_t *dst, size_t len)
{
	if (p->mem != NULL)
		memcpy(dst, p->mem, len);
	else
		dev_scsi_data_in(p->lun, p->cmd, p->pos, dst, len);
}

void
dev_usb_init(struct dev_usb *dev, const struct dev_ident *ident,
    struct dev_image *img)
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
dev_usb_dequeue(struct dev_usb *dev, struct dev_urb *u)
{
	TAILQ_REMOVE(&dev->in_queue, u, entry);
	dev->npending--;
	dev->pending_bytes -= u->length;
}

static void
dev_usb_drop_pending(struct dev_usb *dev)
{
	struct dev_urb *u;

	while ((u = TAILQ_FIRST(&dev->in_queue)) != NULL) {
		dev_usb_dequeue(dev, u);
		free(u);
	}
}

/* A flush the CSW waits for; dev NULL once the wait was abandoned. */
struct dev_usb_wait {
	struct dev_usb *dev;
};

void
dev_usb_bot_reset(struct dev_usb *dev)
{
	if (dev->wait != NULL) {
		dev->wait->dev = NULL;	/* freed when the sink answers */
		dev->wait = NULL;
	}
	dev_bot_reset(&dev->bot);
}

static void
dev_usb_flushed(void *arg, int err)
{
	struct dev_usb_wait *w = arg;
	struct dev_usb *dev = w->dev;

	free(w);
	if (dev == NULL)
		return;
	dev->wait = NULL;
	dev_scsi_flushed(&dev->lun, &dev->bot.cmd, err);
	dev->bot.state = DEV_BOT_STATUS;
	dev_bot_service_in(dev);
}

bool
dev_usb_flush(struct dev_usb *dev)
{
	struct dev_usb_wait *w = calloc(1, sizeof(*w));
	int r;

	if (w == NULL) {
		dev_scsi_flushed(&dev->lun, &dev->bot.cmd, -1);
		return false;
	}
	w->dev = dev;
	dev->wait = w;
	r = dev_image_flush(dev->lun.img, dev_usb_flushed, w);
	if (r == DEV_IMAGE_PENDING)
		return true;
	dev->wait = NULL;
	free(w);
	dev_scsi_flushed(&dev->lun, &dev->bot.cmd, r);
	return false;
}

void
dev_usb_attach(struct dev_usb *dev, const struct dev_sink *sink,
    unsigned max_pending, uint64_t max_pending_bytes)
{
	dev_usb_drop_pending(dev);
	dev->sink = *sink;
	dev->max_pending = max_pending;
	dev->max_pending_bytes = max_pending_bytes;
	dev->config = 0;
	dev->halted_in = dev->halted_out = dev->wedged = false;
	dev_usb_bot_reset(dev);
	dev_scsi_lun_reset(&dev->lun);
	dev->attached = true;
}

void
dev_usb_detach(struct dev_usb *dev)
{
	dev_usb_drop_pending(dev);
	memset(&dev->sink, 0, sizeof(dev->sink));
	dev->config = 0;
	dev->halted_in = dev->halted_out = dev->wedged = false;
	dev_usb_bot_reset(dev);
	dev_scsi_lun_reset(&dev->lun);
	dev->attached = false;
}

bool
dev_usb_has_endpoint(const struct dev_usb *dev, uint8_t ep, bool in)
{
	(void)dev;
	if (ep == 0)
		return true;
	if (in)
		return ep == (USB_EP_BULK_IN & 0x0f);
	return ep == USB_EP_BULK_OUT;
}

bool
dev_usb_is_pending(const struct dev_usb *dev, uint32_t seqnum)
{
	const struct dev_urb *u;

	TAILQ_FOREACH(u, &dev->in_queue, entry)
		if (u->seqnum == seqnum)
			return true;
	return false;
}

void
dev_usb_complete(struct dev_usb *dev, const struct dev_urb *urb,
    int32_t status, uint32_t actual, const struct dev_payload *data)
{
	dev->sink.complete(dev->sink.arg, urb, status, actual, data);
}

/*
 * Completes an IN URB with `actual` bytes; a short completion of a URB
 * that forbids it becomes -EREMOTEIO, as a real host controller reports.
 */
void
dev_usb_complete_in(struct dev_usb *dev, const struct dev_urb *urb,
    uint32_t actual, const struct dev_payload *data)
{
	int32_t status = 0;

	if (actual < urb->length && (urb->flags & DEV_URB_SHORT_NOT_OK))
		status = DEV_URB_EREMOTEIO;
	dev_usb_complete(dev, urb, status, actual, data);
}

/* Halts bulk IN and fails every waiting URB that is not stale. */
void
dev_usb_stall_in(struct dev_usb *dev, bool wedge)
{
	struct dev_urb *u, *next;

	dev->halted_in = true;
	if (wedge)
		dev->wedged = true;
	for (u = TAILQ_FIRST(&dev->in_queue); u != NULL; u = next) {
		next = TAILQ_NEXT(u, entry);
		if (u->stale)
			continue;
		dev_usb_dequeue(dev, u);
		dev_usb_complete(dev, u, DEV_URB_EPIPE, 0, NULL);
		free(u);
	}
}

void
dev_usb_mark_pending_stale(struct dev_usb *dev)
{
	struct dev_urb *u;

	TAILQ_FOREACH(u, &dev->in_queue, entry)
		u->stale = true;
}

static int
dev_usb_bulk_in(struct dev_usb *dev, const struct dev_urb *urb)
{
	struct dev_urb *copy;

	if (dev->halted_in) {
		dev_usb_complete(dev, urb, DEV_URB_EPIPE, 0, NULL);
		return 0;
	}
	if (dev->npending >= dev->max_pending)
		return DEV_USB_TOO_MANY;
	/* No subtraction: a reload may lower the cap below what waits. */
	if (dev->pending_bytes + urb->length > dev->max_pending_bytes)
		return DEV_USB_TOO_BIG;
	copy = malloc(sizeof(*copy));
	if (copy == NULL)
		return DEV_USB_TOO_MANY;
	*copy = *urb;
	copy->stale = dev_bot_in_stale(&dev->bot, urb);
	TAILQ_INSERT_TAIL(&dev->in_queue, copy, entry);
	dev->npending++;
	dev->pending_bytes += urb->length;
	dev_bot_service_in(dev);
	return 0;
}

int
dev_usb_submit(struct dev_usb *dev, const struct dev_urb *urb,
    const uint8_t *out, uint32_t out_len)
{
	if (urb->ep == 0) {
		dev_ctrl_submit(dev, urb, out, out_len);
		return 0;
	}
	/* Bulk endpoints exist only in the configured state. */
	if (dev->config == 0) {
		dev_usb_complete(dev, urb, DEV_URB_EPIPE, 0, NULL);
		return 0;
	}
	if (urb->in)
		return dev_usb_bulk_in(dev, urb);
	if (dev->halted_out) {
		dev_usb_complete(dev, urb, DEV_URB_EPIPE, 0, NULL);
		return 0;
	}
	dev_bot_out(dev, urb, out, out_len);
	return 0;
}

int
dev_usb_unlink(struct dev_usb *dev, uint32_t seqnum)
{
	struct dev_urb *u;

	TAILQ_FOREACH(u, &dev->in_queue, entry) {
		if (u->seqnum == seqnum) {
			dev_usb_dequeue(dev, u);
			free(u);
			return 1;
		}
	}
	return 0;
}
