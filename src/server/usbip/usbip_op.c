/*
 * usbip_op: the op phase.  A connection carries exactly one request, as
 * with usbipd: OP_REQ_DEVLIST is answered and the connection closed after
 * the reply is written; OP_REQ_IMPORT either turns the connection into a
 * session or is refused with a status-only reply and closed.
 */
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <string.h>

#include "common/bytes.h"
#include "common/log.h"
#include "common/text.h"
#include "server/export/export.h"
#include "server/usbip/usbip_conn.h"
#include "server/usbip/usbip_phase.h"
#include "server/usbip/usbip_proto.h"
#include "server/usbip/usbip_server.h"

static void
op_reply_status(struct usbip_conn *c, uint16_t code, uint32_t status)
{
	struct usbip_op_common op = { USBIP_VERSION, code, status };
	uint8_t b[USBIP_OP_COMMON_SIZE];

	usbip_op_common_put(b, &op);
	bufferevent_write(c->bev, b, sizeof(b));
}

/* The wire record of a listed device. */
static void
op_dev_info(const struct export *exp, const struct export_devinfo *d,
    struct usbip_dev_info *info)
{
	memset(info, 0, sizeof(*info));
	snprintf(info->path, sizeof(info->path), "/vtoken/%s", d->name);
	snprintf(info->busid, sizeof(info->busid), "%s", d->busid);
	info->busnum = d->busnum;
	info->devnum = d->devnum;
	info->speed = 3;	/* USB_SPEED_HIGH: vhci's HS root hub */
	info->vendor = exp->ident.vendor;
	info->product = exp->ident.product;
	info->bcd_device = exp->ident.bcd_device;
	info->config_value = 1;
	info->num_configs = 1;
	info->num_ifaces = 1;
	info->ifaces[0].cls = USB_CLASS_MASS_STORAGE;
	info->ifaces[0].subcls = USB_SUBCLASS_SCSI;
	info->ifaces[0].proto = USB_PROTO_BOT;
}

struct op_list {
	const struct export *exp;
	struct evbuffer *recs;
	uint32_t count;
	bool failed;
};

static void
op_devlist_emit(void *arg, const struct export_devinfo *d)
{
	struct op_list *l = arg;
	uint8_t rec[USBIP_DEV_SIZE + USBIP_IFACE_SIZE * USBIP_MAX_IFACES];
	struct usbip_dev_info info;
	size_t len;

	op_dev_info(l->exp, d, &info);
	usbip_dev_put(rec, &info);
	len = USBIP_DEV_SIZE + usbip_ifaces_put(rec + USBIP_DEV_SIZE, &info);
	if (evbuffer_add(l->recs, rec, len) < 0)
		l->failed = true;
	l->count++;
}

static void
op_devlist(struct usbip_conn *c)
{
	struct export *exp = c->srv->exp;
	struct op_list l = { exp, evbuffer_new(), 0, false };
	uint8_t n[4];

	if (l.recs != NULL)
		export_devlist(exp, (const struct sockaddr *)&c->peer,
		    op_devlist_emit, &l);
	if (l.recs == NULL || l.failed) {
		usbip_conn_close(c, false, "out of memory for a device list");
		if (l.recs != NULL)
			evbuffer_free(l.recs);
		return;
	}
	op_reply_status(c, USBIP_OP_DEVLIST, USBIP_ST_OK);
	put_be32(n, l.count);
	bufferevent_write(c->bev, n, sizeof(n));
	bufferevent_write_buffer(c->bev, l.recs);
	evbuffer_free(l.recs);
	c->state = USBIP_CONN_FLUSH;
	exp->stats.devlists++;
	log_info("usbip %s: device list: %u device(s)", c->peer_str,
	    (unsigned)l.count);
}

/* Refuses an import: status-only reply, then close once it is sent. */
static void
op_import_refuse(struct usbip_conn *c, uint32_t status, const char *busid,
    const char *why)
{
	op_reply_status(c, USBIP_OP_IMPORT, status);
	c->state = USBIP_CONN_FLUSH;
	log_info("usbip %s: import of %s refused: %s", c->peer_str, busid,
	    why);
}

/* The export layer's answer to an import (now or later). */
static void
op_import_done(void *arg, struct export_session *s, enum export_status st,
    const char *reason)
{
	static const uint32_t wire[] = {
		[EXPORT_OK] = USBIP_ST_OK,
		[EXPORT_NODEV] = USBIP_ST_NODEV,
		[EXPORT_BUSY] = USBIP_ST_DEV_BUSY,
		[EXPORT_ERROR] = USBIP_ST_ERROR,
	};
	struct usbip_conn *c = arg;
	uint8_t rec[USBIP_OP_COMMON_SIZE + USBIP_DEV_SIZE];
	struct usbip_op_common op = { USBIP_VERSION, USBIP_OP_IMPORT, 0 };
	struct usbip_dev_info info;
	struct export_devinfo d;
	bool late = !c->in_import;

	if (st != EXPORT_OK) {
		op_import_refuse(c, wire[st], c->import_busid, reason);
	} else {
		usbip_urb_attach(c, s->dev);
		export_device_info(s->dev, &d);
		op_dev_info(c->srv->exp, &d, &info);
		usbip_op_common_put(rec, &op);
		usbip_dev_put(rec + USBIP_OP_COMMON_SIZE, &info);
		if (bufferevent_write(c->bev, rec, sizeof(rec)) < 0)
			usbip_conn_close(c, false, "out of memory for the "
			    "import reply");
	}
	if (late)
		usbip_conn_resume(c);
}

static void
op_import(struct usbip_conn *c, const uint8_t *body)
{
	char busid[USBIP_BUSID_SIZE];

	c->sess = export_session_new(c->srv->exp,
	    (const struct sockaddr *)&c->peer, c->peerlen, usbip_conn_kick, c);
	if (usbip_import_busid_get(body, busid) < 0) {
		op_import_refuse(c, USBIP_ST_NODEV, "(malformed busid)",
		    "busid not NUL-terminated");
		export_import_refused(c->sess, "(malformed busid)",
		    "busid not NUL-terminated");
		return;
	}
	/*
	 * The busid as the log and the audit show it: the peer chose those
	 * bytes, so anything but printable ASCII (a newline forging a log
	 * line, invalid UTF-8 the audit's JSON refuses) becomes '?'.
	 */
	text_printable(busid, c->import_busid, sizeof(c->import_busid));
	c->state = USBIP_CONN_IMPORT;
	c->in_import = true;
	export_import(c->sess, busid, op_import_done, c);
	c->in_import = false;
	if (c->state == USBIP_CONN_IMPORT)
		bufferevent_disable(c->bev, EV_READ);	/* answered later */
}

int
usbip_op_process(struct usbip_conn *c, struct evbuffer *in, size_t *need)
{
	uint8_t b[USBIP_IMPORT_REQ_SIZE];
	struct usbip_op_common op;
	size_t len = evbuffer_get_length(in);

	if (len < USBIP_OP_COMMON_SIZE) {
		*need = USBIP_OP_COMMON_SIZE;
		return 0;
	}
	evbuffer_copyout(in, b, USBIP_OP_COMMON_SIZE);
	usbip_op_common_get(b, USBIP_OP_COMMON_SIZE, &op);
	if (op.version != USBIP_VERSION) {
		usbip_conn_close(c, true, "unsupported USB/IP version 0x%04x",
		    op.version);
		return -1;
	}
	if (op.code != USBIP_OP_REQ_DEVLIST && op.code != USBIP_OP_REQ_IMPORT) {
		usbip_conn_close(c, true, "unsupported op code 0x%04x",
		    op.code);
		return -1;
	}
	if (op.status != 0) {
		usbip_conn_close(c, true, "request status %u is not 0",
		    op.status);
		return -1;
	}
	if (op.code == USBIP_OP_REQ_DEVLIST) {
		evbuffer_drain(in, USBIP_OP_COMMON_SIZE);
		op_devlist(c);
		c->state = USBIP_CONN_FLUSH;
		return 1;
	}
	if (len < USBIP_IMPORT_REQ_SIZE) {
		*need = USBIP_IMPORT_REQ_SIZE;
		return 0;
	}
	evbuffer_remove(in, b, USBIP_IMPORT_REQ_SIZE);
	op_import(c, b + USBIP_OP_COMMON_SIZE);
	return 1;
}
