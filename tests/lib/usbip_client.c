/*
 * usbip_client: the scripted test client (see usbip_client.h).  Every
 * blocking step polls a non-blocking socket against a deadline, so no
 * test can hang on a silent server.
 */
#include "usbip_client.h"
#include "vt_wait.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "common/bytes.h"
#include "common/monotime.h"

#define SCSI_BLOCK	512u
#define MAX_DEVLIST	1024

static int client_fail(struct usbip_client *c, const char *fmt, ...)
    __attribute__((format(printf, 2, 3)));

static int
client_fail(struct usbip_client *c, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(c->err, sizeof(c->err), fmt, ap);
	va_end(ap);
	return -1;
}

void
usbip_client_init(struct usbip_client *c)
{
	memset(c, 0, sizeof(*c));
	c->fd = -1;
	c->timeout_ms = USBIP_CLIENT_TIMEOUT_MS;
	c->next_seqnum = 1;
}

static int
client_bind_src(struct usbip_client *c, int fd, const char *src)
{
	struct sockaddr_in sa;

	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	if (inet_pton(AF_INET, src, &sa.sin_addr) != 1)
		return client_fail(c, "bad source address %s", src);
	if (bind(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0)
		return client_fail(c, "bind %s: %s", src, strerror(errno));
	return 0;
}

/* Completes a non-blocking connect before the deadline. */
static int
client_finish_connect(struct usbip_client *c, int fd)
{
	int err = 0, r;
	socklen_t len = sizeof(err);

	r = vt_wait_fd(fd, POLLOUT, monotime_ms() + c->timeout_ms);
	if (r <= 0)
		return client_fail(c, "connect: %s", r == 0 ? "timed out" :
		    strerror(errno));
	if (getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len) < 0 || err != 0)
		return client_fail(c, "connect: %s", strerror(err ? err :
		    errno));
	return 0;
}

int
usbip_client_connect(struct usbip_client *c, const char *host,
    uint16_t port, const struct usbip_client_opts *opts)
{
	struct sockaddr_in sa;
	int fd, on = 1;

	usbip_client_close(c);
	usbip_client_init(c);
	if (opts != NULL && opts->timeout_ms > 0)
		c->timeout_ms = opts->timeout_ms;
	memset(&sa, 0, sizeof(sa));
	sa.sin_family = AF_INET;
	sa.sin_port = htons(port);
	if (inet_pton(AF_INET, host, &sa.sin_addr) != 1)
		return client_fail(c, "bad server address %s", host);
	fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0)
		return client_fail(c, "socket: %s", strerror(errno));
	if (opts != NULL && opts->rcvbuf > 0)
		(void)setsockopt(fd, SOL_SOCKET, SO_RCVBUF, &opts->rcvbuf,
		    sizeof(opts->rcvbuf));
	if (opts != NULL && opts->reset_on_close) {
		struct linger l = { 1, 0 };

		(void)setsockopt(fd, SOL_SOCKET, SO_LINGER, &l, sizeof(l));
	}
	if (opts != NULL && opts->src_addr != NULL &&
	    client_bind_src(c, fd, opts->src_addr) < 0)
		goto fail;
	if (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0 &&
	    errno != EINPROGRESS) {
		client_fail(c, "connect: %s", strerror(errno));
		goto fail;
	}
	if (client_finish_connect(c, fd) < 0)
		goto fail;
	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	c->fd = fd;
	return 0;
fail:
	close(fd);
	return -1;
}

int
usbip_client_shutdown(struct usbip_client *c)
{
	if (c->fd < 0 || shutdown(c->fd, SHUT_WR) < 0)
		return client_fail(c, "shutdown: %s", c->fd < 0 ?
		    "not connected" : strerror(errno));
	return 0;
}

void
usbip_client_close(struct usbip_client *c)
{
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	memset(c->out, 0, sizeof(c->out));
}

int
usbip_client_local_addr(const struct usbip_client *c, char *buf, size_t len)
{
	struct sockaddr_in sa;
	socklen_t sl = sizeof(sa);
	char host[INET_ADDRSTRLEN];

	if (c->fd < 0 || getsockname(c->fd, (struct sockaddr *)&sa, &sl) < 0 ||
	    inet_ntop(AF_INET, &sa.sin_addr, host, sizeof(host)) == NULL)
		return -1;
	snprintf(buf, len, "%s:%u", host, ntohs(sa.sin_port));
	return 0;
}

int
usbip_client_send(struct usbip_client *c, const void *buf, size_t len)
{
	const uint8_t *p = buf;
	int64_t deadline = monotime_ms() + c->timeout_ms;
	size_t off = 0;
	ssize_t n;

	if (c->fd < 0)
		return client_fail(c, "send: not connected");
	while (off < len) {
		n = send(c->fd, p + off, len - off, MSG_NOSIGNAL);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK)) {
			if (vt_wait_fd(c->fd, POLLOUT, deadline) <= 0)
				return client_fail(c, "send: timed out after "
				    "%zu of %zu bytes", off, len);
			continue;
		}
		return client_fail(c, "send: %s", strerror(errno));
	}
	return 0;
}

int
usbip_client_recv(struct usbip_client *c, void *buf, size_t len, size_t *got)
{
	uint8_t *p = buf;
	int64_t deadline = monotime_ms() + c->timeout_ms;
	size_t off = 0;
	ssize_t n;
	int r = 0;

	c->eof = c->timed_out = false;
	while (off < len && c->fd >= 0) {
		n = recv(c->fd, p + off, len - off, 0);
		if (n > 0) {
			off += (size_t)n;
			continue;
		}
		if (n == 0 || errno == ECONNRESET) {
			c->eof = true;
			r = client_fail(c, "connection closed after %zu of %zu "
			    "bytes", off, len);
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			r = client_fail(c, "recv: %s", strerror(errno));
			break;
		}
		if (vt_wait_fd(c->fd, POLLIN, deadline) <= 0) {
			c->timed_out = true;
			r = client_fail(c, "recv: timed out after %zu of %zu "
			    "bytes", off, len);
			break;
		}
	}
	if (c->fd < 0)
		r = client_fail(c, "recv: not connected");
	if (got != NULL)
		*got = off;
	return r;
}

bool
usbip_client_expect_closed(struct usbip_client *c, int ms, size_t *nbytes)
{
	uint8_t scratch[65536];
	int64_t deadline = monotime_ms() + ms;
	size_t total = 0;
	ssize_t n;
	bool closed = false;

	/* Bounded even against a peer that never stops sending. */
	while (c->fd >= 0 && monotime_ms() < deadline) {
		n = recv(c->fd, scratch, sizeof(scratch), 0);
		if (n > 0) {
			total += (size_t)n;
			continue;
		}
		if (n == 0 || errno == ECONNRESET) {
			closed = true;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK)
			break;
		if (vt_wait_fd(c->fd, POLLIN, deadline) <= 0)
			break;
	}
	if (nbytes != NULL)
		*nbytes = total;
	if (!closed)
		client_fail(c, "still open after %d ms (%zu bytes received)",
		    ms, total);
	return closed;
}

bool
usbip_client_expect_quiet(struct usbip_client *c, int ms)
{
	uint8_t b;
	int r;

	if (c->fd < 0)
		return false;
	r = vt_wait_fd(c->fd, POLLIN, monotime_ms() + ms);
	if (r == 0)
		return true;
	if (r > 0 && recv(c->fd, &b, 1, MSG_PEEK) > 0)
		client_fail(c, "unexpected bytes from the server");
	else
		client_fail(c, "connection closed");
	return false;
}

/* --- op phase ---------------------------------------------------------- */

int
usbip_client_send_op(struct usbip_client *c, uint16_t version, uint16_t code,
    uint32_t status)
{
	struct usbip_op_common op = { version, code, status };
	uint8_t b[USBIP_OP_COMMON_SIZE];

	usbip_op_common_put(b, &op);
	return usbip_client_send(c, b, sizeof(b));
}

/* Reads an op_common reply and checks its version and code. */
static int
client_recv_op(struct usbip_client *c, uint16_t code, uint32_t *status)
{
	uint8_t b[USBIP_OP_COMMON_SIZE];
	struct usbip_op_common op;

	if (usbip_client_recv(c, b, sizeof(b), NULL) < 0)
		return -1;
	usbip_op_common_get(b, sizeof(b), &op);
	if (op.version != USBIP_VERSION || op.code != code)
		return client_fail(c, "op reply version 0x%04x code 0x%04x, "
		    "want 0x%04x 0x%04x", op.version, op.code, USBIP_VERSION,
		    code);
	*status = op.status;
	return 0;
}

/* Reads one device record and its interface triples. */
static int
client_recv_dev(struct usbip_client *c, struct usbip_dev_info *d)
{
	uint8_t rec[USBIP_DEV_SIZE], ifc[USBIP_IFACE_SIZE];

	if (usbip_client_recv(c, rec, sizeof(rec), NULL) < 0)
		return -1;
	usbip_dev_get(rec, sizeof(rec), d);
	for (unsigned i = 0; i < d->num_ifaces; i++) {
		if (usbip_client_recv(c, ifc, sizeof(ifc), NULL) < 0)
			return -1;
		if (i >= USBIP_MAX_IFACES)
			continue;
		d->ifaces[i].cls = ifc[0];
		d->ifaces[i].subcls = ifc[1];
		d->ifaces[i].proto = ifc[2];
	}
	return 0;
}

int
usbip_client_devlist(struct usbip_client *c, struct usbip_dev_info *devs,
    size_t max, size_t *ndev)
{
	struct usbip_dev_info d;
	uint8_t nb[4];
	uint32_t status, n;

	if (usbip_client_send_op(c, USBIP_VERSION, USBIP_OP_REQ_DEVLIST,
	    0) < 0 || client_recv_op(c, USBIP_OP_DEVLIST, &status) < 0)
		return -1;
	if (status != USBIP_ST_OK)
		return client_fail(c, "devlist status %u", status);
	if (usbip_client_recv(c, nb, sizeof(nb), NULL) < 0)
		return -1;
	n = get_be32(nb);
	if (n > MAX_DEVLIST)
		return client_fail(c, "devlist announces %u devices", n);
	for (uint32_t i = 0; i < n; i++) {
		if (client_recv_dev(c, &d) < 0)
			return -1;
		if (i < max)
			devs[i] = d;
	}
	*ndev = n;
	return 0;
}

int
usbip_client_import(struct usbip_client *c, const char *busid,
    uint32_t *status, struct usbip_dev_info *dev)
{
	uint8_t req[USBIP_IMPORT_REQ_SIZE], rec[USBIP_DEV_SIZE];
	struct usbip_op_common op = { USBIP_VERSION, USBIP_OP_REQ_IMPORT, 0 };
	struct usbip_dev_info d;

	memset(req, 0, sizeof(req));
	usbip_op_common_put(req, &op);
	memcpy(req + USBIP_OP_COMMON_SIZE, busid,
	    strnlen(busid, USBIP_BUSID_SIZE));
	if (usbip_client_send(c, req, sizeof(req)) < 0 ||
	    client_recv_op(c, USBIP_OP_IMPORT, status) < 0)
		return -1;
	if (*status != USBIP_ST_OK)
		return 0;
	if (usbip_client_recv(c, rec, sizeof(rec), NULL) < 0)
		return -1;
	usbip_dev_get(rec, sizeof(rec), &d);
	c->devid = d.busnum << 16 | d.devnum;
	if (dev != NULL)
		*dev = d;
	return 0;
}

int
usbip_client_attach(struct usbip_client *c, const char *host, uint16_t port,
    const struct usbip_client_opts *opts, const char *busid)
{
	uint32_t status;

	if (usbip_client_connect(c, host, port, opts) < 0 ||
	    usbip_client_import(c, busid, &status, NULL) < 0)
		return -1;
	if (status != USBIP_ST_OK)
		return client_fail(c, "import of %s: status %u", busid, status);
	return usbip_client_enumerate(c);
}

/* --- URB phase --------------------------------------------------------- */

uint32_t
usbip_client_seqnum(struct usbip_client *c)
{
	return c->next_seqnum++;
}

static struct usbip_client_out *
client_out_find(struct usbip_client *c, uint32_t seqnum, bool unlink)
{
	for (size_t i = 0; i < USBIP_CLIENT_MAX_OUT; i++)
		if (c->out[i].used && c->out[i].seqnum == seqnum &&
		    c->out[i].unlink == unlink)
			return &c->out[i];
	return NULL;
}

static int
client_out_add(struct usbip_client *c, const struct usbip_client_out *o)
{
	for (size_t i = 0; i < USBIP_CLIENT_MAX_OUT; i++) {
		if (!c->out[i].used) {
			c->out[i] = *o;
			c->out[i].used = true;
			return 0;
		}
	}
	return client_fail(c, "more than %d PDUs outstanding",
	    USBIP_CLIENT_MAX_OUT);
}

void
usbip_client_hdr_submit(struct usbip_client *c, struct usbip_hdr *h,
    uint32_t ep, uint32_t dir, uint32_t length)
{
	memset(h, 0, sizeof(*h));
	h->command = USBIP_CMD_SUBMIT;
	h->seqnum = usbip_client_seqnum(c);
	h->devid = c->devid;
	h->direction = dir;
	h->ep = ep;
	h->u.submit.length = length;
}

int
usbip_client_track(struct usbip_client *c, const struct usbip_hdr *h)
{
	struct usbip_client_out o;

	memset(&o, 0, sizeof(o));
	o.seqnum = h->seqnum;
	if (h->command == USBIP_CMD_SUBMIT) {
		o.in = h->direction == USBIP_DIR_IN;
		o.length = h->u.submit.length;
	} else if (h->command == USBIP_CMD_UNLINK) {
		o.unlink = true;
		o.target = h->u.unlink.seqnum;
	} else
		return 0;
	return client_out_add(c, &o);
}

int
usbip_client_send_hdr(struct usbip_client *c, const struct usbip_hdr *h,
    const void *payload, size_t plen)
{
	uint8_t b[USBIP_HDR_SIZE];

	if (usbip_client_track(c, h) < 0)
		return -1;
	usbip_hdr_put(b, h);
	if (usbip_client_send(c, b, sizeof(b)) < 0)
		return -1;
	if (plen > 0 && usbip_client_send(c, payload, plen) < 0)
		return -1;
	return 0;
}

int
usbip_client_submit(struct usbip_client *c, uint32_t ep, bool in,
    const uint8_t setup[8], const void *out, uint32_t length, uint32_t flags,
    uint32_t *seqnum)
{
	struct usbip_hdr h;

	usbip_client_hdr_submit(c, &h, ep, in ? USBIP_DIR_IN : USBIP_DIR_OUT,
	    length);
	h.u.submit.flags = flags;
	if (setup != NULL)
		memcpy(h.u.submit.setup, setup, 8);
	if (seqnum != NULL)
		*seqnum = h.seqnum;
	return usbip_client_send_hdr(c, &h, out, in ? 0 : length);
}

int
usbip_client_unlink(struct usbip_client *c, uint32_t target,
    uint32_t *seqnum)
{
	struct usbip_hdr h;

	memset(&h, 0, sizeof(h));
	h.command = USBIP_CMD_UNLINK;
	h.seqnum = usbip_client_seqnum(c);
	h.devid = c->devid;
	h.u.unlink.seqnum = target;
	if (seqnum != NULL)
		*seqnum = h.seqnum;
	return usbip_client_send_hdr(c, &h, NULL, 0);
}

/* Receives n payload bytes into buf, or discards them. */
static int
client_recv_payload(struct usbip_client *c, uint32_t n, void *buf,
    size_t cap)
{
	uint8_t scratch[4096];
	uint32_t left = n, k;

	if (buf != NULL && n <= cap)
		return usbip_client_recv(c, buf, n, NULL);
	while (left > 0) {
		k = left < sizeof(scratch) ? left : (uint32_t)sizeof(scratch);
		if (usbip_client_recv(c, scratch, k, NULL) < 0)
			return -1;
		left -= k;
	}
	return 0;
}

static int
client_ret_submit(struct usbip_client *c, struct usbip_ret *r, void *buf,
    size_t cap)
{
	const struct usbip_hdr *h = &r->hdr;
	struct usbip_client_out *o = client_out_find(c, h->seqnum, false);

	if (o == NULL)
		return client_fail(c, "RET_SUBMIT for unknown seqnum %u",
		    h->seqnum);
	if (h->devid != 0 || h->direction != 0 || h->ep != 0)
		return client_fail(c, "RET_SUBMIT %u: devid/direction/ep not 0",
		    h->seqnum);
	if (h->u.ret_submit.status > 0)
		return client_fail(c, "RET_SUBMIT %u: positive status %d",
		    h->seqnum, h->u.ret_submit.status);
	if (h->u.ret_submit.actual > o->length)
		return client_fail(c, "RET_SUBMIT %u: actual %u > length %u",
		    h->seqnum, h->u.ret_submit.actual, o->length);
	r->in = o->in;
	r->len = o->in ? h->u.ret_submit.actual : 0;
	o->used = false;
	return client_recv_payload(c, r->len, buf, cap);
}

static int
client_ret_unlink(struct usbip_client *c, struct usbip_ret *r)
{
	const struct usbip_hdr *h = &r->hdr;
	struct usbip_client_out *o = client_out_find(c, h->seqnum, true), *t;

	if (o == NULL)
		return client_fail(c, "RET_UNLINK for unknown seqnum %u",
		    h->seqnum);
	t = client_out_find(c, o->target, false);
	o->used = false;
	if (h->u.ret_unlink.status == USBIP_ECONNRESET) {
		/* The URB is gone: a later RET_SUBMIT for it is an error. */
		if (t == NULL)
			return client_fail(c, "RET_UNLINK -104 for URB %u that "
			    "was already answered", o->target);
		t->used = false;
	} else if (h->u.ret_unlink.status == 0 && t != NULL)
		return client_fail(c, "RET_UNLINK 0 while URB %u is still "
		    "unanswered", o->target);
	return 0;
}

int
usbip_client_read_ret(struct usbip_client *c, struct usbip_ret *r, void *buf,
    size_t cap)
{
	uint8_t b[USBIP_HDR_SIZE];

	memset(r, 0, sizeof(*r));
	if (usbip_client_recv(c, b, sizeof(b), NULL) < 0)
		return -1;
	if (usbip_hdr_get(b, sizeof(b), &r->hdr) < 0)
		return client_fail(c, "unknown command 0x%08x", get_be32(b));
	if (r->hdr.command == USBIP_RET_SUBMIT)
		return client_ret_submit(c, r, buf, cap);
	if (r->hdr.command == USBIP_RET_UNLINK)
		return client_ret_unlink(c, r);
	return client_fail(c, "server sent %s",
	    usbip_command_name(r->hdr.command));
}

int
usbip_client_wait(struct usbip_client *c, uint32_t seqnum,
    struct usbip_ret *r, void *buf, size_t cap)
{
	if (usbip_client_read_ret(c, r, buf, cap) < 0)
		return -1;
	if (r->hdr.seqnum != seqnum)
		return client_fail(c, "%s %u while waiting for %u",
		    usbip_command_name(r->hdr.command), r->hdr.seqnum, seqnum);
	return 0;
}

/*
 * Submits and waits; status and actual come from the RET_SUBMIT.  OUT
 * payload (len bytes) comes from out, IN payload goes to in_buf.
 */
static int
client_xfer(struct usbip_client *c, uint32_t ep, bool in,
    const uint8_t setup[8], const void *out, void *in_buf, uint32_t len,
    int32_t *status, uint32_t *actual)
{
	struct usbip_ret r;
	uint32_t seq;

	if (usbip_client_submit(c, ep, in, setup, out, len, 0, &seq) < 0 ||
	    usbip_client_wait(c, seq, &r, in_buf, len) < 0)
		return -1;
	if (r.hdr.command != USBIP_RET_SUBMIT)
		return client_fail(c, "RET_UNLINK for a submit");
	if (status != NULL)
		*status = r.hdr.u.ret_submit.status;
	if (actual != NULL)
		*actual = r.hdr.u.ret_submit.actual;
	return 0;
}

int
usbip_client_control(struct usbip_client *c, uint8_t type, uint8_t req,
    uint16_t value, uint16_t index, void *data, uint16_t length,
    int32_t *status, uint32_t *actual)
{
	uint8_t setup[8];
	bool in = (type & 0x80) != 0;

	setup[0] = type;
	setup[1] = req;
	put_le16(setup + 2, value);
	put_le16(setup + 4, index);
	put_le16(setup + 6, length);
	return client_xfer(c, 0, in, setup, in ? NULL : data,
	    in ? data : NULL, length, status, actual);
}

int
usbip_client_bulk_out(struct usbip_client *c, const void *data, uint32_t len,
    int32_t *status, uint32_t *actual)
{
	return client_xfer(c, USBIP_CLIENT_EP_OUT, false, NULL, data, NULL,
	    len, status, actual);
}

int
usbip_client_bulk_in(struct usbip_client *c, void *buf, uint32_t len,
    int32_t *status, uint32_t *actual)
{
	return client_xfer(c, USBIP_CLIENT_EP_IN, true, NULL, NULL, buf, len,
	    status, actual);
}

/* A control transfer that must succeed with exactly want bytes. */
static int
client_control_ok(struct usbip_client *c, uint8_t type, uint8_t req,
    uint16_t value, uint16_t index, void *data, uint16_t length,
    uint32_t want)
{
	int32_t status;
	uint32_t actual;

	if (usbip_client_control(c, type, req, value, index, data, length,
	    &status, &actual) < 0)
		return -1;
	if (status != 0 || actual != want)
		return client_fail(c, "control %02x %02x %04x: status %d, "
		    "%u bytes (want %u)", type, req, value, status, actual,
		    want);
	return 0;
}

int
usbip_client_enumerate(struct usbip_client *c)
{
	uint8_t b[255];
	uint16_t total;

	if (client_control_ok(c, 0x80, 0x06, 0x0100, 0, b, 18, 18) < 0)
		return -1;
	if (b[0] != 18 || b[1] != 1)
		return client_fail(c, "bad device descriptor");
	if (client_control_ok(c, 0x80, 0x06, 0x0200, 0, b, 9, 9) < 0)
		return -1;
	total = get_le16(b + 2);
	if (b[1] != 2 || total < 9 || total > sizeof(b))
		return client_fail(c, "bad config descriptor");
	if (client_control_ok(c, 0x80, 0x06, 0x0200, 0, b, total, total) < 0)
		return -1;
	return client_control_ok(c, 0x00, 0x09, 1, 0, NULL, 0, 0);
}

int
usbip_client_clear_halt(struct usbip_client *c, uint8_t ep)
{
	return client_control_ok(c, 0x02, 0x01, 0, ep, NULL, 0, 0);
}

int
usbip_client_bot_recover(struct usbip_client *c)
{
	if (client_control_ok(c, 0x21, 0xff, 0, 0, NULL, 0, 0) < 0 ||
	    usbip_client_clear_halt(c, 0x81) < 0 ||
	    usbip_client_clear_halt(c, 0x02) < 0)
		return -1;
	return 0;
}

/* --- Bulk-Only Transport and SCSI --------------------------------------- */

void
usbip_client_cbw(struct usbip_client *c, uint8_t cbw[MSC_CBW_LEN],
    uint32_t tag, uint32_t dlen, bool in, uint8_t lun, const uint8_t *cdb,
    uint8_t cblen)
{
	memset(cbw, 0, MSC_CBW_LEN);
	if (tag == 0)
		tag = ++c->cbw_tag;
	c->cbw_tag = tag;
	put_le32(cbw, 0x43425355u);
	put_le32(cbw + 4, tag);
	put_le32(cbw + 8, dlen);
	cbw[12] = in ? 0x80 : 0x00;
	cbw[13] = lun;
	cbw[14] = cblen;
	memcpy(cbw + 15, cdb, cblen < 16 ? cblen : 16);
}

int
usbip_client_send_cbw(struct usbip_client *c, uint32_t dlen, bool in,
    uint8_t lun, const uint8_t *cdb, uint8_t cblen, int32_t *status)
{
	uint8_t cbw[MSC_CBW_LEN];
	uint32_t actual;

	usbip_client_cbw(c, cbw, 0, dlen, in, lun, cdb, cblen);
	if (usbip_client_bulk_out(c, cbw, sizeof(cbw), status, &actual) < 0)
		return -1;
	if (*status == 0 && actual != MSC_CBW_LEN)
		return client_fail(c, "CBW: server took %u of 31 bytes",
		    actual);
	return 0;
}

int
usbip_client_read_csw(struct usbip_client *c, struct usbip_csw *csw,
    int32_t *status)
{
	uint8_t b[MSC_CSW_LEN];
	uint32_t actual;

	memset(csw, 0, sizeof(*csw));
	if (usbip_client_bulk_in(c, b, sizeof(b), status, &actual) < 0)
		return -1;
	if (*status != 0)
		return 0;
	if (actual != MSC_CSW_LEN)
		return client_fail(c, "CSW of %u bytes", actual);
	csw->signature = get_le32(b);
	csw->tag = get_le32(b + 4);
	csw->residue = get_le32(b + 8);
	csw->status = b[12];
	return 0;
}

/* The exchange behind usbip_client_scsi(); in_buf == NULL means OUT. */
static int
client_scsi_io(struct usbip_client *c, const uint8_t *cdb, uint8_t cblen,
    const void *out, void *in_buf, uint32_t dlen,
    struct usbip_scsi_result *res)
{
	bool in = in_buf != NULL;
	int r;

	memset(res, 0, sizeof(*res));
	if (usbip_client_send_cbw(c, dlen, in, 0, cdb, cblen,
	    &res->cbw_status) < 0)
		return -1;
	if (res->cbw_status != 0)
		return 0;
	if (dlen > 0) {
		r = in ? usbip_client_bulk_in(c, in_buf, dlen,
		    &res->data_status, &res->data_actual) :
		    usbip_client_bulk_out(c, out, dlen, &res->data_status,
		    &res->data_actual);
		if (r < 0)
			return -1;
		if (res->data_status == USBIP_EPIPE)
			return 0;
	}
	if (usbip_client_read_csw(c, &res->csw, &res->csw_status) < 0)
		return -1;
	if (res->csw_status != 0)
		return 0;
	if (res->csw.signature != 0x53425355u ||
	    res->csw.tag != c->cbw_tag || res->csw.status > 2)
		return client_fail(c, "bad CSW: signature %08x tag %u (want "
		    "%u) status %u", res->csw.signature, res->csw.tag,
		    c->cbw_tag, res->csw.status);
	res->have_csw = true;
	return 0;
}

int
usbip_client_scsi(struct usbip_client *c, const uint8_t *cdb, uint8_t cblen,
    bool in, void *data, uint32_t dlen, struct usbip_scsi_result *res)
{
	static uint8_t none;

	/* A zero-length IN command still needs a non-NULL in_buf. */
	if (in)
		return client_scsi_io(c, cdb, cblen, NULL,
		    data != NULL ? data : &none, dlen, res);
	return client_scsi_io(c, cdb, cblen, data, NULL, dlen, res);
}

/*
 * One command that must complete its transport: 0 passed, 1 failed
 * (CSW status 1), -1 otherwise.  *actual gets the data-phase bytes.
 */
static int
client_scsi_simple(struct usbip_client *c, const uint8_t *cdb, uint8_t cblen,
    const void *out, void *in_buf, uint32_t dlen, uint32_t *actual)
{
	struct usbip_scsi_result res;

	if (client_scsi_io(c, cdb, cblen, out, in_buf, dlen, &res) < 0)
		return -1;
	if (res.cbw_status != 0 || res.data_status != 0 || !res.have_csw)
		return client_fail(c, "SCSI %02x: CBW %d, data %d, CSW %d",
		    cdb[0], res.cbw_status, res.data_status, res.csw_status);
	if (res.csw.status == 2)
		return client_fail(c, "SCSI %02x: phase error", cdb[0]);
	if (actual != NULL)
		*actual = res.data_actual;
	return res.csw.status == 0 ? 0 : 1;
}

int
usbip_client_inquiry(struct usbip_client *c, uint8_t buf[36])
{
	const uint8_t cdb[6] = { 0x12, 0, 0, 0, 36, 0 };
	uint32_t n = 0;
	int r = client_scsi_simple(c, cdb, 6, NULL, buf, 36, &n);

	if (r == 0 && n != 36)
		return client_fail(c, "INQUIRY: %u bytes", n);
	return r;
}

int
usbip_client_test_unit_ready(struct usbip_client *c)
{
	const uint8_t cdb[6] = { 0 };

	return client_scsi_simple(c, cdb, 6, NULL, NULL, 0, NULL);
}

int
usbip_client_read_capacity(struct usbip_client *c, uint32_t *last_lba,
    uint32_t *block_len)
{
	const uint8_t cdb[10] = { 0x25 };
	uint8_t b[8];
	uint32_t n = 0;
	int r = client_scsi_simple(c, cdb, 10, NULL, b, sizeof(b), &n);

	if (r != 0)
		return r;
	if (n != 8)
		return client_fail(c, "READ CAPACITY: %u bytes", n);
	*last_lba = get_be32(b);
	*block_len = get_be32(b + 4);
	return 0;
}

static void
client_rw10_cdb(uint8_t cdb[10], uint8_t op, uint32_t lba, uint16_t n)
{
	memset(cdb, 0, 10);
	cdb[0] = op;
	put_be32(cdb + 2, lba);
	put_be16(cdb + 7, n);
}

int
usbip_client_read10(struct usbip_client *c, uint32_t lba, uint16_t nblocks,
    void *buf)
{
	uint8_t cdb[10];
	uint32_t want = (uint32_t)nblocks * SCSI_BLOCK, n = 0;
	int r;

	client_rw10_cdb(cdb, 0x28, lba, nblocks);
	r = client_scsi_simple(c, cdb, 10, NULL, buf, want, &n);
	if (r == 0 && n != want)
		return client_fail(c, "READ(10): %u of %u bytes", n, want);
	return r;
}

int
usbip_client_write10(struct usbip_client *c, uint32_t lba, uint16_t nblocks,
    const void *buf)
{
	uint8_t cdb[10];

	client_rw10_cdb(cdb, 0x2a, lba, nblocks);
	return client_scsi_simple(c, cdb, 10, buf, NULL,
	    (uint32_t)nblocks * SCSI_BLOCK, NULL);
}

int
usbip_client_sync_cache(struct usbip_client *c)
{
	const uint8_t cdb[10] = { 0x35 };

	return client_scsi_simple(c, cdb, 10, NULL, NULL, 0, NULL);
}

int
usbip_client_request_sense(struct usbip_client *c, uint8_t *key,
    uint8_t *asc, uint8_t *ascq)
{
	const uint8_t cdb[6] = { 0x03, 0, 0, 0, 18, 0 };
	uint8_t b[18];
	uint32_t n = 0;
	int r = client_scsi_simple(c, cdb, 6, NULL, b, sizeof(b), &n);

	if (r != 0)
		return r;
	if (n != 18 || (b[0] & 0x7f) != 0x70)
		return client_fail(c, "REQUEST SENSE: %u bytes, code %02x", n,
		    b[0]);
	*key = b[2] & 0x0f;
	*asc = b[12];
	*ascq = b[13];
	return 0;
}

int
usbip_client_mode_sense_wp(struct usbip_client *c, bool *wp)
{
	const uint8_t cdb[6] = { 0x1a, 0, 0x3f, 0, 192, 0 };
	uint8_t b[192];
	uint32_t n = 0;
	int r = client_scsi_simple(c, cdb, 6, NULL, b, sizeof(b), &n);

	if (r != 0)
		return r;
	if (n < 4 || b[0] + 1u != n)
		return client_fail(c, "MODE SENSE(6): %u bytes, length %u", n,
		    b[0]);
	*wp = (b[2] & 0x80) != 0;
	return 0;
}
