/*
 * dev_ctrl: endpoint-0 request handling (USB 2.0 9.4, BOT 3.1/3.2).
 *
 * vhci answers SET_ADDRESS and port resets itself, so a re-enumeration
 * after usb_reset_device() shows up here only as descriptor reads and
 * SET_CONFIGURATION; that is why SET_CONFIGURATION resets the device.
 */
#include "server/device/dev_ctrl.h"

#include <string.h>

#include "common/bytes.h"
#include "server/device/dev_usb.h"

#define REQ_GET_STATUS		0x00
#define REQ_CLEAR_FEATURE	0x01
#define REQ_SET_FEATURE		0x03
#define REQ_SET_ADDRESS		0x05
#define REQ_GET_DESCRIPTOR	0x06
#define REQ_GET_CONFIGURATION	0x08
#define REQ_SET_CONFIGURATION	0x09
#define REQ_GET_INTERFACE	0x0a
#define REQ_SET_INTERFACE	0x0b
#define REQ_BOT_GET_MAX_LUN	0xfe
#define REQ_BOT_RESET		0xff

#define FEATURE_ENDPOINT_HALT	0
#define FEATURE_REMOTE_WAKEUP	1

struct usb_setup {
	uint8_t type;		/* bmRequestType */
	uint8_t req;		/* bRequest */
	uint16_t value, index, length;
};

/* Result of one request: stall, or reply bytes (IN) / ack (OUT). */
struct ctrl_reply {
	bool stall;
	uint8_t buf[USB_STRING_MAX];
	size_t len;
};

static void
ctrl_data(struct ctrl_reply *r, const void *p, size_t n)
{
	memcpy(r->buf, p, n);
	r->len = n;
}

static void
ctrl_get_descriptor(struct dev_usb *dev, const struct usb_setup *s,
    struct ctrl_reply *r)
{
	uint8_t type = (uint8_t)(s->value >> 8), index = (uint8_t)s->value;

	if (s->type != 0x80) {
		r->stall = true;
		return;
	}
	switch (type) {
	case USB_DESC_DEVICE:
		dev_desc_device(&dev->ident, r->buf);
		r->len = USB_DEVICE_DESC_SIZE;
		break;
	case USB_DESC_CONFIG:
		if (index != 0) {
			r->stall = true;
			return;
		}
		dev_desc_config(r->buf);
		r->len = USB_CONFIG_TOTAL_SIZE;
		break;
	case USB_DESC_DEVICE_QUALIFIER:
		dev_desc_qualifier(r->buf);
		r->len = USB_QUALIFIER_SIZE;
		break;
	case USB_DESC_STRING:
		/* 0xEE is the Windows MS-OS probe: stalling it is expected. */
		r->len = dev_desc_string(&dev->ident, index, r->buf);
		r->stall = r->len == 0;
		break;
	default:	/* OTHER_SPEED_CONFIG, BOS, ...: not a HS-only device's */
		r->stall = true;
		break;
	}
}

/* Resets what a new configuration resets: halts, transport, waiting URBs. */
static void
ctrl_reset_device(struct dev_usb *dev)
{
	dev->halted_in = dev->halted_out = dev->wedged = false;
	dev_usb_bot_reset(dev);
	/* The host flushes its endpoint queues; never answer those URBs. */
	dev_usb_mark_pending_stale(dev);
}

static bool
ctrl_ep_halt(struct dev_usb *dev, uint16_t index, bool set)
{
	switch (index) {
	case 0x00:
		return true;	/* ep0 halts are per request */
	case USB_EP_BULK_IN:
		if (set)
			dev_usb_stall_in(dev, false);
		else if (!dev->wedged)
			dev->halted_in = false;
		return true;
	case USB_EP_BULK_OUT:
		dev->halted_out = set;
		return true;
	default:
		return false;
	}
}

static void
ctrl_standard(struct dev_usb *dev, const struct usb_setup *s,
    struct ctrl_reply *r)
{
	uint8_t st[2] = { 0, 0 };

	switch (s->type << 8 | s->req) {
	case 0x8000 | REQ_GET_STATUS:		/* device: bus powered */
	case 0x8100 | REQ_GET_STATUS:		/* interface */
		r->stall = s->type == 0x81 && s->index != 0;
		ctrl_data(r, st, 2);
		break;
	case 0x8200 | REQ_GET_STATUS:		/* endpoint halt bit */
		if (s->index == USB_EP_BULK_IN)
			st[0] = dev->halted_in;
		else if (s->index == USB_EP_BULK_OUT)
			st[0] = dev->halted_out;
		else if (s->index != 0)
			r->stall = true;
		ctrl_data(r, st, 2);
		break;
	case 0x0200 | REQ_CLEAR_FEATURE:
	case 0x0200 | REQ_SET_FEATURE:
		r->stall = s->value != FEATURE_ENDPOINT_HALT ||
		    !ctrl_ep_halt(dev, s->index, s->req == REQ_SET_FEATURE);
		break;
	case 0x0000 | REQ_CLEAR_FEATURE:
	case 0x0000 | REQ_SET_FEATURE:
		r->stall = s->value != FEATURE_REMOTE_WAKEUP;
		break;
	case 0x0000 | REQ_SET_ADDRESS:
		break;
	case 0x8000 | REQ_GET_DESCRIPTOR:
	case 0x8100 | REQ_GET_DESCRIPTOR:
		ctrl_get_descriptor(dev, s, r);
		break;
	case 0x8000 | REQ_GET_CONFIGURATION:
		ctrl_data(r, &dev->config, 1);
		break;
	case 0x0000 | REQ_SET_CONFIGURATION:
		if (s->value > 1) {
			r->stall = true;
			break;
		}
		dev->config = (uint8_t)s->value;
		ctrl_reset_device(dev);
		break;
	case 0x8100 | REQ_GET_INTERFACE:
		r->stall = dev->config == 0 || s->index != 0;
		ctrl_data(r, st, 1);
		break;
	case 0x0100 | REQ_SET_INTERFACE:
		r->stall = dev->config == 0 || s->index != 0 || s->value != 0;
		if (!r->stall)	/* USB 2.0 9.4.10: clears endpoint halts */
			dev->halted_in = dev->halted_out = dev->wedged = false;
		break;
	default:
		r->stall = true;
		break;
	}
}

static void
ctrl_class(struct dev_usb *dev, const struct usb_setup *s,
    struct ctrl_reply *r)
{
	static const uint8_t max_lun = 0;

	if (s->type == 0xa1 && s->req == REQ_BOT_GET_MAX_LUN &&
	    s->value == 0 && s->index == 0 && s->length == 1) {
		ctrl_data(r, &max_lun, 1);
	} else if (s->type == 0x21 && s->req == REQ_BOT_RESET &&
	    s->value == 0 && s->index == 0 && s->length == 0) {
		/* Back to "expect CBW"; halts stay until CLEAR_FEATURE. */
		dev_usb_bot_reset(dev);
		dev->wedged = false;
		dev_usb_mark_pending_stale(dev);
	} else
		r->stall = true;
}

void
dev_ctrl_submit(struct dev_usb *dev, const struct dev_urb *urb,
    const uint8_t *out, uint32_t out_len)
{
	struct usb_setup s;
	struct ctrl_reply r;
	struct dev_payload pl = { .mem = r.buf };
	bool setup_in;
	uint32_t actual;

	(void)out;
	s.type = urb->setup[0];
	s.req = urb->setup[1];
	s.value = get_le16(urb->setup + 2);
	s.index = get_le16(urb->setup + 4);
	s.length = get_le16(urb->setup + 6);
	setup_in = (s.type & 0x80) != 0;
	memset(&r, 0, sizeof(r));

	/* The SETUP must agree with the URB it travels in. */
	if (s.length != urb->length || (s.length > 0 && setup_in != urb->in)) {
		dev_usb_complete(dev, urb, DEV_URB_EPIPE, 0, NULL);
		return;
	}
	/* No request we implement carries OUT data. */
	if (!setup_in && out_len > 0) {
		dev_usb_complete(dev, urb, DEV_URB_EPIPE, 0, NULL);
		return;
	}
	if ((s.type & 0x60) == 0x00)
		ctrl_standard(dev, &s, &r);
	else if ((s.type & 0x60) == 0x20)
		ctrl_class(dev, &s, &r);
	else
		r.stall = true;

	if (r.stall) {
		dev_usb_complete(dev, urb, DEV_URB_EPIPE, 0, NULL);
		return;
	}
	if (!urb->in) {
		dev_usb_complete(dev, urb, 0, 0, NULL);
		return;
	}
	actual = r.len < urb->length ? (uint32_t)r.len : urb->length;
	dev_usb_complete_in(dev, urb, actual, &pl);
}
