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
#include "server/ctl.h"
#include "server/registry.h"
#include "server/usbip_conn.h"
#include "server/usbip_phase.h"
#include "server/usbip_proto.h"
#include "server/usbip_server.h"
#include "server/vtokend.h"

static void
op_reply_status(struct usbip_conn *c, uint16_t code, uint32_t status)
{
	struct usbip_op_common op = { USBIP_VERSION, code, status };
	uint8_t b[USBIP_OP_COMMON_SIZE];

	usbip_op_common_put(b, &op);
	bufferevent_write(c->bev, b, sizeof(b));
}

static void
op_devlist(struct usbip_conn *c)
{
	struct registry *reg = &c->srv->vtd->reg;
	const struct sockaddr *sa = (const struct sockaddr *)&c->peer;
	struct evbuffer *out = bufferevent_get_output(c->bev);
	struct vt_device *d;
	struct usbip_dev_info info;
	uint8_t rec[USBIP_DEV_SIZE + USBIP_IFACE_SIZE * USBIP_MAX_IFACES];
	uint8_t n[4];
	uint32_t count = 0;
	size_t len;

	TAILQ_FOREACH(d, &reg->devices, entry)
		if (registry_peer_allowed(reg, d, sa))
			count++;
	op_reply_status(c, USBIP_OP_DEVLIST, USBIP_ST_OK);
	put_be32(n, count);
	evbuffer_add(out, n, sizeof(n));
	TAILQ_FOREACH(d, &reg->devices, entry) {
		if (!registry_peer_allowed(reg, d, sa))
			continue;
		registry_dev_info(d, &info);
		usbip_dev_put(rec, &info);
		len = USBIP_DEV_SIZE + usbip_ifaces_put(rec + USBIP_DEV_SIZE,
		    &info);
		evbuffer_add(out, rec, len);
	}
	c->srv->stats.devlists++;
	log_info("usbip %s: device list: %u device(s)", c->peer_str,
	    (unsigned)count);
}

/* Refuses an import: status-only reply, then close once it is sent. */
static void
op_import_refuse(struct usbip_conn *c, uint32_t status, const char *busid,
    const char *why)
{
	char host[INET6_ADDRSTRLEN];

	op_reply_status(c, USBIP_OP_IMPORT, status);
	c->state = USBIP_CONN_FLUSH;
	log_info("usbip %s: import of %s refused: %s", c->peer_str, busid,
	    why);
	netaddr_format_host((const struct sockaddr *)&c->peer, host,
	    sizeof(host));
	ctl_on_denied(c->srv->vtd->ctl, busid, c->peer_str, host, why);
}

/*
 * The busid as the log and the audit show it: the peer chose those
 * bytes, so anything but printable ASCII (a newline forging a log line,
 * invalid UTF-8 the audit's JSON refuses) becomes '?'.
 */
static void
op_busid_printable(const char *busid, char out[USBIP_BUSID_SIZE])
{
	size_t i;

	for (i = 0; i < USBIP_BUSID_SIZE - 1 && busid[i] != '\0'; i++) {
		unsigned char ch = (unsigned char)busid[i];

		out[i] = ch >= 0x20 && ch < 0x7f ? (char)ch : '?';
	}
	out[i] = '\0';
}

static void
op_import(struct usbip_conn *c, const uint8_t *body)
{
	struct registry *reg = &c->srv->vtd->reg;
	const struct sockaddr *sa = (const struct sockaddr *)&c->peer;
	char busid[USBIP_BUSID_SIZE], shown[USBIP_BUSID_SIZE];
	uint8_t rec[USBIP_OP_COMMON_SIZE + USBIP_DEV_SIZE];
	struct usbip_op_common op = { USBIP_VERSION, USBIP_OP_IMPORT, 0 };
	struct usbip_dev_info info;
	struct vt_device *d;

	if (usbip_import_busid_get(body, busid) < 0) {
		op_import_refuse(c, USBIP_ST_NODEV, "(malformed busid)",
		    "busid not NUL-terminated");
		return;
	}
	d = registry_find_busid(reg, busid);
	op_busid_printable(busid, shown);
	/* Never reveal that a device exists to a peer that may not use it. */
	if (d == NULL) {
		op_import_refuse(c, USBIP_ST_NODEV, shown, "no such device");
		return;
	}
	if (!registry_peer_allowed(reg, d, sa)) {
		op_import_refuse(c, USBIP_ST_NODEV, shown,
		    "not assigned to this peer");
		return;
	}
	if (d->session != NULL) {
		op_import_refuse(c, USBIP_ST_DEV_BUSY, shown,
		    "already attached");
		return;
	}
	/* Recorded before it is answered: no unaudited use of a token. */
	if (usbip_urb_attach(c, d) < 0) {
		op_import_refuse(c, USBIP_ST_ERROR, shown,
		    "the attach could not be recorded");
		return;
	}
	registry_dev_info(d, &info);
	usbip_op_common_put(rec, &op);
	usbip_dev_put(rec + USBIP_OP_COMMON_SIZE, &info);
	if (bufferevent_write(c->bev, rec, sizeof(rec)) < 0) {
		usbip_conn_close(c, false, "out of memory for the import reply");
		return;
	}
	c->srv->stats.imports++;
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
