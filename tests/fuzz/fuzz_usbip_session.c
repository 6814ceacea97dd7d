/*
 * fuzz_usbip_session: a whole USB/IP session through the real server:
 * usbip_conn's input loop, the op phase, the URB phase, the virtual
 * device, BOT and SCSI, on a fresh event loop per input.  The fuzz input
 * is what a client writes into one end of a socketpair; the server owns
 * the other end.  Everything the server sends back is checked by a
 * client-side model of the protocol (docs/PROTOCOL.md, "USB/IP" and "Bad
 * input").  No controller: device 1-1 is open to every peer, and 1-2 and
 * 1-3 belong to a small policy of this harness's own (export hooks that
 * allow one CIDR each), so the refusal paths run too:
 *
 *  - op replies carry version 0x0111 and answer the request that was
 *    sent (DEVLIST: the visible devices; IMPORT: the status the export
 *    implies, then the record of the requested busid); no reply at all to
 *    a malformed request, and nothing after a refusal;
 *  - after an import only 48-byte RET_SUBMIT / RET_UNLINK headers come;
 *    a RET_SUBMIT answers a CMD_SUBMIT the server has taken and not yet
 *    answered or dropped for an unlink, with zeroed devid/direction/ep,
 *    status 0 / -EPIPE / -EOVERFLOW / -EREMOTEIO, actual <= requested,
 *    exactly `actual' payload bytes for IN and none for OUT;
 *  - a RET_UNLINK echoes the UNLINK's own seqnum, in order, with
 *    -ECONNRESET exactly when the target was still outstanding, else 0;
 *  - a request the server must refuse (bad command, devid, endpoint,
 *    length over the cap, duplicate seqnum) closes the connection, and
 *    so does the end of a device list or a refused import;
 *  - control and OUT URBs are answered at once: whenever the loop is
 *    idle and the connection open, only bulk-IN URBs may still wait;
 *  - the server closes its end after the client's, and everything is
 *    freed (LeakSanitizer checks each input).
 *
 * Input layout: byte 0 holds flags (FLAG_*); the rest is the client's
 * byte stream, written in slices cut at each SLICE_SEP, the loop running
 * until idle after each slice.
 */
#include <errno.h>
#include <event2/event.h>
#include <event2/util.h>
#include <netinet/in.h>
#include <signal.h>
#include <stdbool.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/log.h"
#include "fuzz.h"
#include "common/netaddr.h"
#include "server/device/dev_image.h"
#include "server/export/export.h"
#include "server/usbip/usbip_conn.h"
#include "server/usbip/usbip_proto.h"
#include "server/usbip/usbip_server.h"

#define SLICE_SEP	"\xfeSL\xfe"
#define SLICE_SEP_LEN	4

#define FLAG_SECOND	0x01	/* then a second client imports 1-1 */
#define FLAG_CLOSE	0x02	/* end with close(), not shutdown(WR) */
#define FLAG_RO		0x04	/* device 1-1 is read-only */
#define FLAG_BIG	0x08	/* 1 MiB bulk URBs: tx back-pressure */

#define SMALL_BULK	(64u << 10)
#define BIG_BULK	(1u << 20)
#define MAX_URBS	16u
#define MAX_OUT		(MAX_URBS + 2)
#define IDLE_ROUNDS	4
#define MAX_ROUNDS	10000

enum phase {
	PH_REQUEST,		/* nothing received yet */
	PH_DEVLIST,		/* device records follow */
	PH_RECORD,		/* the import record follows */
	PH_URB,			/* imported */
	PH_DONE,		/* nothing may follow */
};

/* One client PDU of the URB phase, framed as the server frames it. */
struct pdu {
	uint32_t command, seqnum, devid, dir, ep, flags, length;
	uint32_t target;	/* UNLINK: the seqnum to cancel */
	size_t size;		/* header and OUT payload */
};

/* A CMD_SUBMIT the server took and has not answered. */
struct outstanding {
	uint32_t seqnum, length, flags;
	uint8_t ep;
	bool in;
};

struct client {
	int fd;
	uint8_t *tx;		/* everything this client will write */
	size_t txlen, txsent, txend;	/* txend: end of the current slice */
	bool tx_dead;		/* the server end is gone */
	uint8_t *rx;		/* received, not yet checked */
	size_t rxlen, rxcap;
	bool eof;		/* the server closed */
	enum phase phase;
	bool must_close;	/* the model saw a request to refuse */
	char busid[USBIP_BUSID_SIZE];	/* imported device */
	uint32_t devid;
	uint32_t ndev_left;	/* DEVLIST records still due */
	size_t cursor;		/* next client PDU the model takes */
	struct outstanding out[MAX_OUT];
	size_t nout;
	unsigned nsubmit, nunlink;	/* RET_* checked, for FUZZ_VERBOSE */
};

/* A device of the harness's policy and the one CIDR that may use it. */
struct owned {
	struct export_device *dev;
	struct netaddr_cidr cidr;
};

#define NOWNED	2

struct session {
	struct event_base *base;
	struct export *exp;
	struct usbip_server *srv;
	struct owned owned[NOWNED];
	struct client c1, c2;
};

static struct usbip_limits fuzz_lim;
static bool fuzz_ready;

static void client_idle(struct client *);

/* The policy: a device is visible to its CIDR only. */
static bool
owned_allows(const struct owned *o, const struct sockaddr *sa)
{
	return netaddr_cidr_match(&o->cidr, sa);
}

static void
policy_devlist(void *arg, const struct sockaddr *sa, export_emit_cb *emit,
    void *emit_arg)
{
	struct session *s = arg;
	struct export_devinfo info;

	for (size_t i = 0; i < NOWNED; i++) {
		if (!owned_allows(&s->owned[i], sa))
			continue;
		export_device_info(s->owned[i].dev, &info);
		emit(emit_arg, &info);
	}
}

static void
policy_import(void *arg, struct export_import *imp, const char *busid,
    struct export_session *es)
{
	struct session *s = arg;

	for (size_t i = 0; i < NOWNED; i++) {
		struct owned *o = &s->owned[i];

		if (strcmp(o->dev->busid, busid) != 0)
			continue;
		if (!owned_allows(o, (const struct sockaddr *)&es->peer))
			break;
		if (o->dev->session != NULL)
			export_import_done(imp, EXPORT_BUSY, NULL, "busy");
		else
			export_import_done(imp, EXPORT_OK, o->dev, NULL);
		return;
	}
	export_import_done(imp, EXPORT_NODEV, NULL, "no such device");
}

static const struct export_hooks policy_hooks = {
	.devlist = policy_devlist,
	.import = policy_import,
};

/* The device at busid and whether the loopback peer may use it. */
static struct export_device *
session_find(struct session *s, const char *busid, bool *allowed)
{
	struct sockaddr_in sin;
	uint32_t bus, port;
	struct export_device *d;

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	*allowed = true;
	if (export_busid_parse(busid, &bus, &port) == 0 &&
	    (d = export_open_find(s->exp, bus, port)) != NULL)
		return d;
	for (size_t i = 0; i < NOWNED; i++) {
		if (strcmp(s->owned[i].dev->busid, busid) != 0)
			continue;
		*allowed = owned_allows(&s->owned[i],
		    (struct sockaddr *)&sin);
		return s->owned[i].dev;
	}
	return NULL;
}

/* FUZZ_LOG=info (or debug...) shows what the server logs. */
static void
fuzz_init(void)
{
	enum log_level level = LOG_LEVEL_ERROR;
	const char *env = getenv("FUZZ_LOG");

	if (fuzz_ready)
		return;
	fuzz_ready = true;
	signal(SIGPIPE, SIG_IGN);
	if (env != NULL)
		(void)log_level_parse(env, &level);
	log_init("fuzz", level);
	/* The daemon's defaults, but small caps keep most runs fast. */
	fuzz_lim.max_sessions = 4096;
	fuzz_lim.max_per_peer = 4096;
	fuzz_lim.handshake_timeout = 10;
	fuzz_lim.pdu_timeout = 30;
	fuzz_lim.tx_timeout = 30;
	fuzz_lim.max_urbs = MAX_URBS;
	fuzz_lim.max_control = 65535;
}

static struct dev_image *
image_pattern(uint64_t size, bool ro)
{
	struct dev_image *img = dev_image_new(size);
	uint8_t sec[DEV_IMAGE_SECTOR_SIZE];

	FUZZ_CHECK(img != NULL);
	for (unsigned s = 0; s < 4; s++) {
		for (size_t i = 0; i < sizeof(sec); i++)
			sec[i] = (uint8_t)(i * 7 + s * 13 + 1);
		FUZZ_CHECK(dev_image_write(img, s * 4096u, sec, sizeof(sec)) == 0);
	}
	dev_image_set_readonly(img, ro);
	return img;
}

/* Devices: 1-1 open to all, 1-2 for 10/8 only, 1-3 for 127/8. */
static void
session_devices(struct session *s, bool ro)
{
	static const char *const cidr[NOWNED] = { "10.0.0.0/8",
	    "127.0.0.0/8" };
	static const char *const id[NOWNED] = { "1111111111111111",
	    "2222222222222222" };
	static const char *const name[NOWNED] = { "other", "local" };
	struct export_device *d;
	const char *why;

	s->exp = export_new(0x1209, 0x0001, "vtoken", "fuzz token");
	d = export_device_new(s->exp, 1, 1, "0123456789ABCDEF", "open",
	    image_pattern(4u << 20, ro));
	FUZZ_CHECK(d != NULL);
	export_publish(s->exp, d);
	for (unsigned i = 0; i < NOWNED; i++) {
		s->owned[i].dev = export_device_new(s->exp, 1, 2 + i, id[i],
		    name[i], dev_image_new(64u << 10));
		FUZZ_CHECK(s->owned[i].dev != NULL);
		FUZZ_CHECK(netaddr_cidr_parse(cidr[i], &s->owned[i].cidr,
		    &why) == 0);
	}
	export_set_hooks(s->exp, &policy_hooks, s);
}

/* What the daemon's listener does: a nonblocking fd to usbip_conn_new. */
static void
client_connect(struct session *s, struct client *c)
{
	struct sockaddr_in sin;
	int sv[2];

	memset(&sin, 0, sizeof(sin));
	sin.sin_family = AF_INET;
	sin.sin_port = htons(40000);
	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	FUZZ_CHECK(socketpair(AF_UNIX, SOCK_STREAM, 0, sv) == 0);
	FUZZ_CHECK(evutil_make_socket_nonblocking(sv[0]) == 0);
	FUZZ_CHECK(evutil_make_socket_nonblocking(sv[1]) == 0);
	FUZZ_CHECK(usbip_conn_new(s->srv, sv[1], (struct sockaddr *)&sin,
	    sizeof(sin)) != NULL);
	c->fd = sv[0];
}

static void
client_free(struct client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	free(c->tx);
	free(c->rx);
}

/* --- the model: client PDUs ------------------------------------------ */

/*
 * Decodes the header of the client PDU at tx[off] among the first lim
 * bytes: true when the 48 bytes are there.  p->size covers the payload
 * the server reads after an acceptable header.
 */
static bool
pdu_at(const struct client *c, size_t off, size_t lim, struct pdu *p)
{
	const uint8_t *b = c->tx + off;

	memset(p, 0, sizeof(*p));
	if (off > lim || lim - off < USBIP_HDR_SIZE)
		return false;
	p->command = get_be32(b);
	p->seqnum = get_be32(b + 0x04);
	p->devid = get_be32(b + 0x08);
	p->dir = get_be32(b + 0x0c);
	p->ep = get_be32(b + 0x10);
	p->size = USBIP_HDR_SIZE;
	if (p->command == USBIP_CMD_UNLINK)
		p->target = get_be32(b + 0x14);
	else if (p->command == USBIP_CMD_SUBMIT) {
		p->flags = get_be32(b + 0x14);
		p->length = get_be32(b + 0x18);
		if (p->dir == USBIP_DIR_OUT)
			p->size += p->length;
	}
	return true;
}

static struct outstanding *
out_find(struct client *c, uint32_t seqnum)
{
	for (size_t i = 0; i < c->nout; i++)
		if (c->out[i].seqnum == seqnum)
			return &c->out[i];
	return NULL;
}

static void
out_remove(struct client *c, struct outstanding *o)
{
	*o = c->out[--c->nout];
}

/*
 * True when the server must take p (docs/PROTOCOL.md, "Bad input" items
 * 10-15).
 */
static bool
pdu_acceptable(struct client *c, const struct pdu *p)
{
	uint32_t cap;

	if (p->command != USBIP_CMD_SUBMIT && p->command != USBIP_CMD_UNLINK)
		return false;
	if (p->devid != c->devid)
		return false;
	if (p->command == USBIP_CMD_UNLINK)
		return true;
	if (p->dir > USBIP_DIR_IN || p->ep > 15)
		return false;
	if (p->ep != 0 && p->ep != (p->dir == USBIP_DIR_IN ? 1u : 2u))
		return false;
	cap = p->ep == 0 ? fuzz_lim.max_control : fuzz_lim.max_bulk;
	return p->length <= cap && out_find(c, p->seqnum) == NULL;
}

/*
 * Moves the model over the next client PDU the server has received in
 * full: 1 with *p, 0 when there is none yet, -1 when the server must
 * have closed the connection at this header instead.
 */
static int
model_take(struct client *c, struct pdu *p)
{
	struct outstanding *o;

	if (c->must_close)
		return -1;
	if (!pdu_at(c, c->cursor, c->txsent, p))
		return 0;
	if (!pdu_acceptable(c, p)) {
		c->must_close = true;
		return -1;
	}
	if (c->txsent - c->cursor < p->size)
		return 0;
	c->cursor += p->size;
	if (p->command == USBIP_CMD_SUBMIT) {
		FUZZ_CHECK(c->nout < MAX_OUT);
		o = &c->out[c->nout++];
		o->seqnum = p->seqnum;
		o->length = p->length;
		o->flags = p->flags;
		o->ep = (uint8_t)p->ep;
		o->in = p->dir == USBIP_DIR_IN;
	}
	return 1;
}

/* --- the model: server messages -------------------------------------- */

static bool
all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i] != 0)
			return false;
	return true;
}

/* The status the export implies for importing busid (item 6, 7). */
static uint32_t
expect_import(struct session *s, const struct client *c, const uint8_t *b)
{
	const struct client *other = c == &s->c1 ? &s->c2 : &s->c1;
	struct export_device *d;
	bool allowed;

	if (memchr(b, '\0', USBIP_BUSID_SIZE) == NULL || b[0] == '\0')
		return USBIP_ST_NODEV;
	d = session_find(s, (const char *)b, &allowed);
	if (d == NULL || !allowed)
		return USBIP_ST_NODEV;
	if (other->phase == PH_URB && !other->eof &&
	    strcmp(other->busid, (const char *)b) == 0)
		return USBIP_ST_DEV_BUSY;
	return USBIP_ST_OK;
}

/* Checks one device record (312 bytes) against the export. */
static void
check_record(struct session *s, const uint8_t *r)
{
	char busid[USBIP_BUSID_SIZE];
	struct export_device *d;
	bool allowed;
	size_t n;

	FUZZ_CHECK(memchr(r + 0x100, '\0', USBIP_BUSID_SIZE) != NULL);
	memcpy(busid, r + 0x100, sizeof(busid));
	n = strlen(busid);
	FUZZ_CHECK(all_zero(r + 0x100 + n, USBIP_BUSID_SIZE - n));
	FUZZ_CHECK((d = session_find(s, busid, &allowed)) != NULL);
	FUZZ_CHECK(allowed);
	FUZZ_CHECK(get_be32(r + 0x120) == d->busnum);
	FUZZ_CHECK(get_be32(r + 0x124) == d->devnum);
	FUZZ_CHECK(get_be32(r + 0x128) == 3);		/* high speed */
	FUZZ_CHECK(memcmp(r, "/vtoken/", 8) == 0);
	FUZZ_CHECK(r[0x136] == 1 && r[0x137] == 1);
}

/* The reply to the op request: bytes consumed, 0 need more. */
static int
check_op_reply(struct session *s, struct client *c)
{
	struct usbip_op_common req, rep;
	uint32_t st;

	/* The server answers only a well-formed request (items 3-5). */
	FUZZ_CHECK(c->txsent >= USBIP_OP_COMMON_SIZE);
	usbip_op_common_get(c->tx, c->txsent, &req);
	FUZZ_CHECK(req.version == USBIP_VERSION && req.status == 0);
	FUZZ_CHECK(req.code == USBIP_OP_REQ_DEVLIST ||
	    req.code == USBIP_OP_REQ_IMPORT);
	if (c->rxlen < USBIP_OP_COMMON_SIZE)
		return 0;
	usbip_op_common_get(c->rx, c->rxlen, &rep);
	FUZZ_CHECK(rep.version == USBIP_VERSION);
	FUZZ_CHECK(rep.code == (req.code & ~USBIP_OP_REQUEST));
	if (req.code == USBIP_OP_REQ_DEVLIST) {
		if (c->rxlen < USBIP_OP_COMMON_SIZE + 4)
			return 0;
		FUZZ_CHECK(rep.status == USBIP_ST_OK);
		c->ndev_left = get_be32(c->rx + USBIP_OP_COMMON_SIZE);
		FUZZ_CHECK(c->ndev_left == 2);	/* 1-1 and 1-3 */
		c->phase = PH_DEVLIST;
		return USBIP_OP_COMMON_SIZE + 4;
	}
	FUZZ_CHECK(c->txsent >= USBIP_IMPORT_REQ_SIZE);
	st = expect_import(s, c, c->tx + USBIP_OP_COMMON_SIZE);
	FUZZ_CHECK(rep.status == st);
	c->phase = st == USBIP_ST_OK ? PH_RECORD : PH_DONE;
	if (st == USBIP_ST_OK)
		memcpy(c->busid, c->tx + USBIP_OP_COMMON_SIZE,
		    USBIP_BUSID_SIZE);
	return USBIP_OP_COMMON_SIZE;
}

/* One RET_SUBMIT with its payload: bytes consumed, 0 need more. */
static size_t
check_ret_submit(struct client *c, const uint8_t *h, size_t avail)
{
	uint32_t seq = get_be32(h + 4), actual = get_be32(h + 0x18);
	int32_t status = (int32_t)get_be32(h + 0x14);
	int32_t npackets = (int32_t)get_be32(h + 0x20);
	struct outstanding *o;
	struct pdu p;
	size_t need;

	/* Take client PDUs until the one answered has been submitted. */
	while ((o = out_find(c, seq)) == NULL) {
		FUZZ_CHECK(model_take(c, &p) == 1);
		/* An UNLINK on the way would have been answered first. */
		FUZZ_CHECK(p.command == USBIP_CMD_SUBMIT);
	}
	FUZZ_CHECK(all_zero(h + 0x08, 12));	/* devid, direction, ep */
	FUZZ_CHECK(status == 0 || status == USBIP_EPIPE ||
	    status == USBIP_EOVERFLOW || status == USBIP_EREMOTEIO);
	FUZZ_CHECK(status != USBIP_EREMOTEIO ||
	    ((o->flags & USBIP_URB_SHORT_NOT_OK) && actual < o->length));
	FUZZ_CHECK(actual <= o->length);	/* CVE-2016-3955 */
	FUZZ_CHECK(get_be32(h + 0x1c) == 0 && get_be32(h + 0x24) == 0);
	FUZZ_CHECK(npackets == 0 || npackets == -1);
	FUZZ_CHECK(all_zero(h + 0x28, 8));
	need = USBIP_HDR_SIZE + (o->in ? actual : 0);
	if (avail < need)
		return 0;
	out_remove(c, o);
	c->nsubmit++;
	return need;
}

static void
check_ret_unlink(struct client *c, const uint8_t *h)
{
	int32_t status = (int32_t)get_be32(h + 0x14);
	struct outstanding *o;
	struct pdu p;

	do
		FUZZ_CHECK(model_take(c, &p) == 1);
	while (p.command != USBIP_CMD_UNLINK);
	FUZZ_CHECK(get_be32(h + 4) == p.seqnum);
	FUZZ_CHECK(all_zero(h + 0x08, 12) && all_zero(h + 0x18, 24));
	o = out_find(c, p.target);
	if (o != NULL) {
		FUZZ_CHECK(status == USBIP_ECONNRESET);
		out_remove(c, o);
	} else
		FUZZ_CHECK(status == 0);
	c->nunlink++;
}

/* One URB-phase message: bytes consumed, 0 need more. */
static size_t
check_urb_reply(struct client *c)
{
	uint32_t cmd;

	if (c->rxlen < USBIP_HDR_SIZE)
		return 0;
	cmd = get_be32(c->rx);
	FUZZ_CHECK(cmd == USBIP_RET_SUBMIT || cmd == USBIP_RET_UNLINK);
	if (cmd == USBIP_RET_SUBMIT)
		return check_ret_submit(c, c->rx, c->rxlen);
	check_ret_unlink(c, c->rx);
	return USBIP_HDR_SIZE;
}

/* One message of any phase: bytes consumed, 0 need more. */
static size_t
check_one(struct session *s, struct client *c)
{
	switch (c->phase) {
	case PH_REQUEST:
		return (size_t)check_op_reply(s, c);
	case PH_DEVLIST:
		if (c->ndev_left == 0) {
			c->phase = PH_DONE;
			return 0;
		}
		if (c->rxlen < USBIP_DEV_SIZE + USBIP_IFACE_SIZE)
			return 0;
		check_record(s, c->rx);
		FUZZ_CHECK(memcmp(c->rx + USBIP_DEV_SIZE, "\x08\x06\x50\x00",
		    4) == 0);
		c->ndev_left--;
		return USBIP_DEV_SIZE + USBIP_IFACE_SIZE;
	case PH_RECORD:
		if (c->rxlen < USBIP_DEV_SIZE)
			return 0;
		check_record(s, c->rx);
		FUZZ_CHECK(strcmp((const char *)c->rx + 0x100, c->busid) == 0);
		c->phase = PH_URB;
		c->devid = get_be32(c->rx + 0x120) << 16 |
		    get_be32(c->rx + 0x124);
		c->cursor = USBIP_IMPORT_REQ_SIZE;
		return USBIP_DEV_SIZE;
	case PH_URB:
		return check_urb_reply(c);
	case PH_DONE:
		FUZZ_CHECK(c->rxlen == 0);
		return 0;
	}
	return 0;
}

/* Checks and drops every complete message received so far. */
static void
client_check(struct session *s, struct client *c)
{
	size_t n;

	while (c->rxlen > 0 || c->phase == PH_DEVLIST) {
		if ((n = check_one(s, c)) == 0)
			break;
		memmove(c->rx, c->rx + n, c->rxlen - n);
		c->rxlen -= n;
	}
}

/* --- driving the loop ------------------------------------------------ */

/* Moves bytes both ways without blocking; true if any moved. */
static bool
client_io(struct client *c)
{
	bool moved = false;
	ssize_t n;

	if (c->fd < 0)
		return false;
	while (!c->tx_dead && c->txsent < c->txend) {
		n = send(c->fd, c->tx + c->txsent, c->txend - c->txsent,
		    MSG_NOSIGNAL);
		if (n < 0) {
			if (errno != EAGAIN && errno != EWOULDBLOCK)
				c->tx_dead = true;
			break;
		}
		c->txsent += (size_t)n;
		moved = true;
	}
	while (!c->eof) {
		if (c->rxcap - c->rxlen < 65536) {
			c->rxcap = c->rxcap * 2 + 65536;
			FUZZ_CHECK((c->rx = realloc(c->rx, c->rxcap)) != NULL);
		}
		n = recv(c->fd, c->rx + c->rxlen, c->rxcap - c->rxlen, 0);
		if (n == 0 || (n < 0 && errno != EAGAIN &&
		    errno != EWOULDBLOCK)) {
			c->eof = true;
			moved = true;
		}
		if (n <= 0)
			break;
		c->rxlen += (size_t)n;
		moved = true;
	}
	return moved;
}

/* Runs the server until nothing moves for a few rounds. */
static void
session_run(struct session *s)
{
	unsigned idle = 0;

	for (unsigned i = 0; i < MAX_ROUNDS && idle < IDLE_ROUNDS; i++) {
		bool moved;

		event_base_loop(s->base, EVLOOP_NONBLOCK);
		moved = client_io(&s->c1);
		moved |= client_io(&s->c2);
		client_check(s, &s->c1);
		client_check(s, &s->c2);
		idle = moved ? 0 : idle + 1;
	}
	client_idle(&s->c1);
	client_idle(&s->c2);
}

/*
 * At idle with the connection still open, all the server's answers are
 * in: a request it must refuse would have closed the connection, a
 * refused import or a device list too, and of the URBs received only
 * bulk-IN ones may still wait (control and OUT are answered at once).
 * After a close nothing of this holds: the server drops unsent replies.
 */
static void
client_idle(struct client *c)
{
	struct usbip_op_common op;
	struct pdu p;
	int r;

	if (c->fd < 0 || c->eof)
		return;
	switch (c->phase) {
	case PH_REQUEST:
		if (usbip_op_common_get(c->tx, c->txsent, &op) == 0)
			break;
		FUZZ_CHECK(op.version == USBIP_VERSION && op.status == 0 &&
		    op.code == USBIP_OP_REQ_IMPORT);
		FUZZ_CHECK(c->txsent < USBIP_IMPORT_REQ_SIZE);
		break;
	case PH_URB:
		while ((r = model_take(c, &p)) == 1)
			;
		FUZZ_CHECK(r == 0);
		for (size_t i = 0; i < c->nout; i++)
			FUZZ_CHECK(c->out[i].in && c->out[i].ep == 1);
		break;
	default:
		/* A device list or refusal is followed by a close. */
		FUZZ_CHECK(false);
	}
}

/* Splits the input into the client's stream and slice ends. */
static void
client_feed(struct session *s, const uint8_t *data, size_t size)
{
	struct client *c = &s->c1;
	const uint8_t *p = data, *end = data + size, *sep;

	c->tx = malloc(size + 1);
	FUZZ_CHECK(c->tx != NULL);
	while (p < end) {
		sep = memmem(p, (size_t)(end - p), SLICE_SEP, SLICE_SEP_LEN);
		if (sep == NULL)
			sep = end;
		memcpy(c->tx + c->txlen, p, (size_t)(sep - p));
		c->txlen += (size_t)(sep - p);
		c->txend = c->txlen;
		session_run(s);
		p = sep == end ? end : sep + SLICE_SEP_LEN;
	}
}

/* A second client importing 1-1 while the first may hold it. */
static void
client_second(struct session *s)
{
	struct client *c = &s->c2;
	static const uint8_t req[USBIP_OP_COMMON_SIZE] = {
		0x01, 0x11, 0x80, 0x03, 0, 0, 0, 0,
	};

	client_connect(s, c);
	c->tx = calloc(1, USBIP_IMPORT_REQ_SIZE);
	FUZZ_CHECK(c->tx != NULL);
	memcpy(c->tx, req, sizeof(req));
	memcpy(c->tx + USBIP_OP_COMMON_SIZE, "1-1", 3);
	c->txlen = c->txend = USBIP_IMPORT_REQ_SIZE;
	session_run(s);
	FUZZ_CHECK(c->phase != PH_REQUEST);
	shutdown(c->fd, SHUT_WR);
}

int
LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct session s;
	uint8_t flags = size > 0 ? data[0] : 0;

	fuzz_init();
	memset(&s, 0, sizeof(s));
	s.c1.fd = s.c2.fd = -1;
	fuzz_lim.max_bulk = flags & FLAG_BIG ? BIG_BULK : SMALL_BULK;
	s.base = event_base_new();
	FUZZ_CHECK(s.base != NULL);
	session_devices(&s, flags & FLAG_RO);
	/* No listener: the harness hands connections in itself. */
	s.srv = usbip_server_new(s.base, s.exp, NULL, 0, NULL, &fuzz_lim);
	FUZZ_CHECK(s.srv != NULL);

	client_connect(&s, &s.c1);
	client_feed(&s, size > 0 ? data + 1 : data, size > 0 ? size - 1 : 0);
	if (flags & FLAG_SECOND)
		client_second(&s);
	if (flags & FLAG_CLOSE) {
		close(s.c1.fd);
		s.c1.fd = -1;
		s.c1.eof = true;
	} else
		shutdown(s.c1.fd, SHUT_WR);
	session_run(&s);
	/* The server closes its end after ours. */
	FUZZ_CHECK(s.c1.eof && (s.c2.fd < 0 || s.c2.eof));
	if (getenv("FUZZ_VERBOSE") != NULL)
		fprintf(stderr, "session: c1 phase %d, %u RET_SUBMIT, %u "
		    "RET_UNLINK, %zu waiting%s; c2 phase %d\n", s.c1.phase,
		    s.c1.nsubmit, s.c1.nunlink, s.c1.nout,
		    s.c1.must_close ? ", refused" : "", s.c2.phase);
	/* Both ends closed: the server has let go of every connection. */
	FUZZ_CHECK(TAILQ_EMPTY(&s.srv->conns) && s.srv->nconns == 0);

	usbip_server_free(s.srv);
	for (size_t i = 0; i < NOWNED; i++)
		export_device_free(s.owned[i].dev);
	export_free(s.exp);
	client_free(&s.c1);
	client_free(&s.c2);
	event_base_free(s.base);
	return 0;
}
