/*
 * usbip_conn: connection lifecycle, socket options, the input loop with
 * back-pressure, the handshake and partial-PDU deadlines, deferred close.
 */
#include "server/usbip/usbip_conn.h"

#include <errno.h>
#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/event.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/monotime.h"
#include "common/netaddr.h"
#include "common/xmalloc.h"
#include "server/usbip/usbip_phase.h"
#include "server/export/export.h"
#include "server/usbip/usbip_server.h"

/* Output backlog (bytes) above which we stop reading new requests. */
#define TX_HIGH		(4u << 20)
#define TX_LOW		(1u << 20)
/* Input buffer cap: one maximal PDU plus slack. */
#define RX_SLACK	(64u << 10)
/* Bytes taken from the socket per read call. */
#define RX_MAX_READ	(256u << 10)

static void usbip_conn_readcb(struct bufferevent *, void *);
static void usbip_conn_writecb(struct bufferevent *, void *);
static void usbip_conn_eventcb(struct bufferevent *, short, void *);
static void usbip_conn_timercb(evutil_socket_t, short, void *);
static void usbip_conn_closecb(evutil_socket_t, short, void *);
static void usbip_conn_pump(struct usbip_conn *c);

/*
 * A vanished peer must free its session within about 30 s.  Keepalive
 * probes an idle connection after 10 s, every 5 s; with TCP_USER_TIMEOUT
 * set, Linux ends the connection when probes (or unacknowledged data)
 * have gone unanswered for 30 s, instead of counting TCP_KEEPCNT probes
 * (measured in tests/fault: about 30.5 s for both).  TCP_NODELAY
 * because every PDU is a request/response step.
 */
static void
usbip_conn_sockopts(int fd)
{
	int on = 1, idle = 10, intvl = 5, cnt = 3;
	unsigned int user_timeout = 30000;

	(void)setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &on, sizeof(on));
	(void)setsockopt(fd, SOL_SOCKET, SO_KEEPALIVE, &on, sizeof(on));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPIDLE, &idle, sizeof(idle));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPINTVL, &intvl,
	    sizeof(intvl));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_KEEPCNT, &cnt, sizeof(cnt));
	(void)setsockopt(fd, IPPROTO_TCP, TCP_USER_TIMEOUT, &user_timeout,
	    sizeof(user_timeout));
}

static const struct usbip_limits *
conn_lim(const struct usbip_conn *c)
{
	return &c->srv->lim;
}

struct usbip_conn *
usbip_conn_new(struct usbip_server *srv, int fd, const struct sockaddr *sa,
    socklen_t salen)
{
	struct event_base *base = srv->base;
	struct usbip_conn *c = calloc(1, sizeof(*c));
	struct timeval tv;

	if (c == NULL) {
		close(fd);
		return NULL;
	}
	c->srv = srv;
	c->peerlen = salen < sizeof(c->peer) ? salen : sizeof(c->peer);
	memcpy(&c->peer, sa, c->peerlen);
	netaddr_format(sa, c->peer_str, sizeof(c->peer_str));
	usbip_conn_sockopts(fd);
	c->bev = bufferevent_socket_new(base, fd, BEV_OPT_CLOSE_ON_FREE);
	c->ev_timer = evtimer_new(base, usbip_conn_timercb, c);
	c->ev_close = event_new(base, -1, 0, usbip_conn_closecb, c);
	if (c->bev == NULL || c->ev_timer == NULL || c->ev_close == NULL) {
		if (c->bev == NULL)
			close(fd);
		usbip_conn_free(c);
		return NULL;
	}
	bufferevent_setcb(c->bev, usbip_conn_readcb, usbip_conn_writecb,
	    usbip_conn_eventcb, c);
	/*
	 * libevent 2.1 moves at most 16 KiB per read/write call by default:
	 * a 1 MiB READ would take 64 writes and as many wakeups.
	 */
	bufferevent_set_max_single_write(c->bev, TX_HIGH);
	bufferevent_set_max_single_read(c->bev, RX_MAX_READ);
	bufferevent_setwatermark(c->bev, EV_READ, 1,
	    conn_lim(c)->max_bulk + 48 + RX_SLACK);
	tv.tv_sec = conn_lim(c)->tx_timeout;
	tv.tv_usec = 0;
	bufferevent_set_timeouts(c->bev, NULL, &tv);
	bufferevent_enable(c->bev, EV_READ);
	tv.tv_sec = conn_lim(c)->handshake_timeout;
	evtimer_add(c->ev_timer, &tv);
	TAILQ_INSERT_TAIL(&srv->conns, c, entry);
	srv->nconns++;
	usbip_server_peer_add(srv, c);
	usbip_server_conns_changed(srv);
	c->linked = true;
	log_debug("usbip %s: connected", c->peer_str);
	return c;
}

void
usbip_conn_free(struct usbip_conn *c)
{
	if (c == NULL)
		return;
	usbip_urb_detach(c);
	export_session_free(c->sess);
	c->sess = NULL;
	if (c->linked) {
		TAILQ_REMOVE(&c->srv->conns, c, entry);
		c->srv->nconns--;
		usbip_server_peer_del(c->srv, c);
		usbip_server_conns_changed(c->srv);
	}
	if (c->bev != NULL)
		bufferevent_free(c->bev);
	if (c->ev_timer != NULL)
		event_free(c->ev_timer);
	if (c->ev_close != NULL)
		event_free(c->ev_close);
	free(c->close_reason);
	free(c);
}

void
usbip_conn_close(struct usbip_conn *c, bool bad_input, const char *fmt, ...)
{
	va_list ap;

	if (c->state == USBIP_CONN_CLOSING)
		return;
	c->state = USBIP_CONN_CLOSING;
	c->close_bad_input = bad_input;
	va_start(ap, fmt);
	if (vasprintf(&c->close_reason, fmt, ap) < 0)
		c->close_reason = NULL;
	va_end(ap);
	bufferevent_disable(c->bev, EV_READ | EV_WRITE);
	event_active(c->ev_close, EV_TIMEOUT, 0);
}

void
usbip_conn_kick(void *arg, const char *why)
{
	struct usbip_conn *c = arg;

	usbip_urb_detach(c);
	usbip_conn_close(c, false, "%s", why);
	log_info("usbip %s: session ended: %s", c->peer_str, why);
}

static void
usbip_conn_closecb(evutil_socket_t fd, short what, void *arg)
{
	struct usbip_conn *c = arg;
	const char *why = c->close_reason ? c->close_reason : "closed";

	(void)fd;
	(void)what;
	if (c->close_bad_input) {
		c->srv->exp->stats.closed_bad_input++;
		log_warnx("usbip %s: closing: %s", c->peer_str, why);
	} else
		log_debug("usbip %s: closing: %s", c->peer_str, why);
	usbip_conn_free(c);
}

/* Arms or clears the partial-PDU deadline after an input pass. */
static void
usbip_conn_track_partial(struct usbip_conn *c, size_t buffered)
{
	struct timeval tv = { 0, 0 };

	if (c->state != USBIP_CONN_URB)
		return;		/* the handshake deadline covers op phase */
	/*
	 * Paused for tx back-pressure, the buffered requests wait on us, not
	 * on the peer; tx_timeout covers a peer that never reads.  Measure
	 * afresh once reading resumes.
	 */
	if (buffered == 0 || c->paused) {
		c->partial = false;
		evtimer_del(c->ev_timer);
		return;
	}
	if (c->partial)
		return;
	c->partial = true;
	clock_gettime(CLOCK_MONOTONIC, &c->partial_since);
	tv.tv_sec = conn_lim(c)->pdu_timeout;
	evtimer_add(c->ev_timer, &tv);
}

/* Runs complete requests from the input buffer while output has room. */
static void
usbip_conn_pump(struct usbip_conn *c)
{
	struct evbuffer *in = bufferevent_get_input(c->bev);
	struct evbuffer *out = bufferevent_get_output(c->bev);
	size_t need = 1;
	int r = 1;

	while (r > 0) {
		if (evbuffer_get_length(out) > TX_HIGH) {
			/* Resumed by the write callback below TX_LOW. */
			c->paused = true;
			bufferevent_disable(c->bev, EV_READ);
			bufferevent_setwatermark(c->bev, EV_WRITE, TX_LOW, 0);
			break;
		}
		if (c->state == USBIP_CONN_OP)
			r = usbip_op_process(c, in, &need);
		else if (c->state == USBIP_CONN_URB) {
			r = usbip_urb_process(c, in, &need);
			if (r > 0)
				c->partial = false;
		} else
			break;
	}
	if (r < 0 || c->state == USBIP_CONN_CLOSING)
		return;
	if (c->state == USBIP_CONN_FLUSH) {
		bufferevent_disable(c->bev, EV_READ);
		return;
	}
	/*
	 * Wake us only when the whole awaited message can be there, except
	 * at a message boundary: there the first byte must wake us, since it
	 * starts the partial-PDU deadline (a header trickled in below the
	 * watermark would otherwise never be noticed).
	 */
	if (r == 0)
		bufferevent_setwatermark(c->bev, EV_READ,
		    evbuffer_get_length(in) == 0 ? 1 : need,
		    conn_lim(c)->max_bulk + 48 + RX_SLACK);
	usbip_conn_track_partial(c, evbuffer_get_length(in));
}

void
usbip_conn_resume(struct usbip_conn *c)
{
	if (c->state == USBIP_CONN_CLOSING)
		return;
	if (c->state != USBIP_CONN_FLUSH)
		bufferevent_enable(c->bev, EV_READ);
	usbip_conn_pump(c);
}

static void
usbip_conn_readcb(struct bufferevent *bev, void *arg)
{
	struct usbip_conn *c = arg;

	(void)bev;
	if (c->state == USBIP_CONN_CLOSING)
		return;
	usbip_conn_pump(c);
}

static void
usbip_conn_writecb(struct bufferevent *bev, void *arg)
{
	struct usbip_conn *c = arg;

	if (c->state == USBIP_CONN_FLUSH &&
	    evbuffer_get_length(bufferevent_get_output(bev)) == 0) {
		usbip_conn_close(c, false, "reply sent");
		return;
	}
	if (c->paused && c->state != USBIP_CONN_CLOSING) {
		c->paused = false;
		bufferevent_setwatermark(bev, EV_WRITE, 0, 0);
		bufferevent_enable(bev, EV_READ);
		usbip_conn_pump(c);
	}
}

static void
usbip_conn_eventcb(struct bufferevent *bev, short what, void *arg)
{
	struct usbip_conn *c = arg;
	size_t left = evbuffer_get_length(bufferevent_get_input(bev));

	if (c->state == USBIP_CONN_CLOSING)
		return;
	if (what & BEV_EVENT_TIMEOUT)
		usbip_conn_close(c, true, "peer stopped reading for %u s",
		    conn_lim(c)->tx_timeout);
	else if ((what & BEV_EVENT_EOF) && left > 0 &&
	    c->state != USBIP_CONN_FLUSH)
		usbip_conn_close(c, true, "connection closed mid-message "
		    "(%zu bytes pending)", left);
	else if (what & BEV_EVENT_EOF)
		usbip_conn_close(c, false, "connection closed by peer");
	else if (what & BEV_EVENT_ERROR)
		usbip_conn_close(c, false, "socket error: %s",
		    evutil_socket_error_to_string(EVUTIL_SOCKET_ERROR()));
}

static void
usbip_conn_timercb(evutil_socket_t fd, short what, void *arg)
{
	struct usbip_conn *c = arg;
	struct timespec now;
	struct timeval tv = { 0, 0 };
	double age, left, limit = conn_lim(c)->pdu_timeout;

	(void)fd;
	(void)what;
	if (c->state == USBIP_CONN_IMPORT)
		return;		/* waiting on us, not on the peer */
	if (c->state == USBIP_CONN_OP || c->state == USBIP_CONN_FLUSH) {
		usbip_conn_close(c, true, "no complete request within %u s",
		    conn_lim(c)->handshake_timeout);
		return;
	}
	if (c->state != USBIP_CONN_URB || !c->partial)
		return;
	clock_gettime(CLOCK_MONOTONIC, &now);
	age = monotime_diff(&c->partial_since, &now);
	if (age >= limit) {
		usbip_conn_close(c, true, "message incomplete for %.0f s",
		    age);
		return;
	}
	/*
	 * Early by our clock: libevent times from its cached (and coarse)
	 * loop time, a little behind partial_since.  Wait exactly for the
	 * rest (plus 1 ms), not a whole second more.
	 */
	left = limit - age;
	tv.tv_sec = (time_t)left;
	tv.tv_usec = (suseconds_t)((left - (double)tv.tv_sec) * 1e6) + 1000;
	evtimer_add(c->ev_timer, &tv);
}
