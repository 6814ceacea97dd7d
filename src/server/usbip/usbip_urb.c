/*
 * usbip_urb: the URB phase of an imported connection.  Validates each
 * CMD_SUBMIT / CMD_UNLINK header against the bad-input checklist
 * (docs/PROTOCOL.md, "Bad input") before any payload is read or
 * allocated, hands the URB to the device, and encodes the device's
 * completions as RET_SUBMIT.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "common/log.h"
#include "server/export/export.h"
#include "server/usbip/usbip_conn.h"
#include "server/usbip/usbip_phase.h"
#include "server/usbip/usbip_proto.h"
#include "server/usbip/usbip_server.h"

/* The device's statuses are Linux's, which USB/IP carries unchanged. */
_Static_assert(DEV_URB_EPIPE == USBIP_EPIPE, "EPIPE");
_Static_assert(DEV_URB_EOVERFLOW == USBIP_EOVERFLOW, "EOVERFLOW");
_Static_assert(DEV_URB_EREMOTEIO == USBIP_EREMOTEIO, "EREMOTEIO");

/*
 * What the waiting bulk-IN URBs of a session may ask for in all.  A real
 * host keeps one data phase (one URB, or one request split into pages)
 * and the CSW's URB outstanding, so 4 x max_bulk leaves room for stale
 * URBs still to be unlinked, and bounds what a single CBW can produce.
 */
#define URB_IN_BUDGET(max_bulk)	(4 * (uint64_t)(max_bulk))

/* The dev_sink: one RET_SUBMIT, written as one contiguous PDU. */
static void
urb_complete(void *arg, const struct dev_urb *urb, int32_t status,
    uint32_t actual, const struct dev_payload *data)
{
	struct usbip_conn *c = arg;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct usbip_hdr h;
	struct evbuffer_iovec v;
	uint32_t payload;

	memset(&h, 0, sizeof(h));
	h.command = USBIP_RET_SUBMIT;
	h.seqnum = urb->seqnum;
	/* Never more than asked: old vhci overflowed (CVE-2016-3955). */
	if (actual > urb->length)
		actual = urb->length;
	h.u.ret_submit.status = status;
	h.u.ret_submit.actual = actual;
	/* Non-ISO: echo Linux's 0, otherwise the spec's 0xffffffff. */
	h.u.ret_submit.npackets = urb->npackets == 0 ? 0 : -1;
	payload = urb->in && data != NULL ? actual : 0;
	if (payload > 0 && evbuffer_reserve_space(out, USBIP_HDR_SIZE +
	    payload, &v, 1) == 1 && v.iov_len >= USBIP_HDR_SIZE + payload) {
		usbip_hdr_put(v.iov_base, &h);
		dev_payload_copy(data, (uint8_t *)v.iov_base + USBIP_HDR_SIZE,
		    payload);
		v.iov_len = USBIP_HDR_SIZE + payload;
		if (evbuffer_commit_space(out, &v, 1) == 0) {
			c->sess->bytes_out += payload;
			return;
		}
	}
	if (payload > 0) {
		usbip_conn_close(c, false, "out of memory for a %u-byte reply",
		    payload);
		return;
	}
	uint8_t b[USBIP_HDR_SIZE];
	usbip_hdr_put(b, &h);
	/* A lost reply would leave the host's URB waiting forever. */
	if (evbuffer_add(out, b, sizeof(b)) < 0)
		usbip_conn_close(c, false, "out of memory for a reply");
}

void
usbip_urb_attach(struct usbip_conn *c, struct export_device *dev)
{
	struct dev_sink sink = { urb_complete, c };

	c->dev = dev;
	c->devid = dev->busnum << 16 | dev->devnum;
	c->state = USBIP_CONN_URB;
	dev_usb_attach(&dev->usb, &sink, c->srv->lim.max_urbs,
	    URB_IN_BUDGET(c->srv->lim.max_bulk));
	evtimer_del(c->ev_timer);
	log_info("usbip %s: attached %s (%s)", c->peer_str, dev->busid,
	    dev->name);
}

void
usbip_urb_detach(struct usbip_conn *c)
{
	const struct export_session *s = c->sess;

	if (c->dev == NULL)
		return;
	log_info("usbip %s: detached %s after %lld s: %llu bytes in, "
	    "%llu bytes out, %llu URBs", c->peer_str, c->dev->busid,
	    (long long)(time(NULL) - s->since),
	    (unsigned long long)s->bytes_in,
	    (unsigned long long)s->bytes_out, (unsigned long long)s->urbs);
	c->dev = NULL;
	export_session_end(c->sess);
}

static int
urb_unlink(struct usbip_conn *c, struct evbuffer *in,
    const struct usbip_hdr *h)
{
	struct usbip_hdr r;
	uint8_t b[USBIP_HDR_SIZE];

	evbuffer_drain(in, USBIP_HDR_SIZE);
	memset(&r, 0, sizeof(r));
	r.command = USBIP_RET_UNLINK;
	r.seqnum = h->seqnum;	/* vhci matches the UNLINK's own seqnum */
	/* Dropped while pending: -ECONNRESET and never a RET_SUBMIT. */
	r.u.ret_unlink.status = dev_usb_unlink(&c->dev->usb,
	    h->u.unlink.seqnum) ? USBIP_ECONNRESET : 0;
	usbip_hdr_put(b, &r);
	if (bufferevent_write(c->bev, b, sizeof(b)) < 0) {
		usbip_conn_close(c, false, "out of memory for an unlink reply");
		return -1;
	}
	return 1;
}

/* Checks a CMD_SUBMIT header; returns NULL or why it is unacceptable. */
static const char *
urb_check_submit(struct usbip_conn *c, const struct usbip_hdr *h,
    char *why, size_t len)
{
	const struct usbip_limits *lim = &c->srv->lim;
	uint32_t cap;

	if (h->direction > USBIP_DIR_IN || h->ep > 15) {
		snprintf(why, len, "bad direction %u or endpoint %u",
		    h->direction, h->ep);
		return why;
	}
	if (!dev_usb_has_endpoint(&c->dev->usb, (uint8_t)h->ep,
	    h->direction == USBIP_DIR_IN)) {
		snprintf(why, len, "no endpoint %u %s", h->ep,
		    h->direction == USBIP_DIR_IN ? "IN" : "OUT");
		return why;
	}
	cap = h->ep == 0 ? lim->max_control : lim->max_bulk;
	if (h->u.submit.length > cap) {
		snprintf(why, len, "transfer_buffer_length %u over the %u-byte "
		    "limit", h->u.submit.length, cap);
		return why;
	}
	if (dev_usb_is_pending(&c->dev->usb, h->seqnum)) {
		snprintf(why, len, "seqnum %u is already outstanding",
		    h->seqnum);
		return why;
	}
	return NULL;
}

static int
urb_submit(struct usbip_conn *c, struct evbuffer *in,
    const struct usbip_hdr *h, size_t *need)
{
	struct dev_urb urb;
	char why[128];
	uint32_t payload;
	const uint8_t *data = NULL;

	if (urb_check_submit(c, h, why, sizeof(why)) != NULL) {
		usbip_conn_close(c, true, "%s", why);
		return -1;
	}
	/* ISO is impossible here: number_of_packets is ignored (item 17). */
	payload = h->direction == USBIP_DIR_OUT ? h->u.submit.length : 0;
	if (evbuffer_get_length(in) < USBIP_HDR_SIZE + (size_t)payload) {
		*need = USBIP_HDR_SIZE + (size_t)payload;
		return 0;
	}
	if (payload > 0) {
		data = evbuffer_pullup(in, USBIP_HDR_SIZE + (ssize_t)payload);
		if (data == NULL) {
			usbip_conn_close(c, false, "out of memory");
			return -1;
		}
		data += USBIP_HDR_SIZE;
	}
	memset(&urb, 0, sizeof(urb));
	urb.seqnum = h->seqnum;
	urb.ep = (uint8_t)h->ep;
	urb.in = h->direction == USBIP_DIR_IN;
	urb.flags = h->u.submit.flags & USBIP_URB_SHORT_NOT_OK ?
	    DEV_URB_SHORT_NOT_OK : 0;
	urb.length = h->u.submit.length;
	urb.npackets = h->u.submit.npackets;
	memcpy(urb.setup, h->u.submit.setup, sizeof(urb.setup));
	c->sess->bytes_in += payload;
	c->sess->urbs++;
	/* Follows a reload of max_bulk_transfer, like urb_check_submit. */
	c->dev->usb.max_pending_bytes =
	    URB_IN_BUDGET(c->srv->lim.max_bulk);
	switch (dev_usb_submit(&c->dev->usb, &urb, data, payload)) {
	case 0:
		break;
	case DEV_USB_TOO_BIG:
		usbip_conn_close(c, true, "bulk-IN URBs asking for more than "
		    "%llu bytes outstanding",
		    (unsigned long long)c->dev->usb.max_pending_bytes);
		return -1;
	default:
		usbip_conn_close(c, true, "more than %u URBs outstanding",
		    c->srv->lim.max_urbs);
		return -1;
	}
	evbuffer_drain(in, USBIP_HDR_SIZE + (size_t)payload);
	return 1;
}

int
usbip_urb_process(struct usbip_conn *c, struct evbuffer *in, size_t *need)
{
	uint8_t b[USBIP_HDR_SIZE];
	struct usbip_hdr h;

	if (evbuffer_get_length(in) < USBIP_HDR_SIZE) {
		*need = USBIP_HDR_SIZE;
		return 0;
	}
	evbuffer_copyout(in, b, USBIP_HDR_SIZE);
	if (usbip_hdr_get(b, sizeof(b), &h) < 0 ||
	    (h.command != USBIP_CMD_SUBMIT && h.command != USBIP_CMD_UNLINK)) {
		usbip_conn_close(c, true, "unexpected command 0x%08x",
		    h.command);
		return -1;
	}
	if (h.devid != c->devid) {
		usbip_conn_close(c, true, "devid 0x%08x is not the imported "
		    "0x%08x", h.devid, c->devid);
		return -1;
	}
	if (h.command == USBIP_CMD_UNLINK)
		return urb_unlink(c, in, &h);
	return urb_submit(c, in, &h, need);
}
