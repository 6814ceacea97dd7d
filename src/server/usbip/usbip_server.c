/*
 * usbip_server: listener, connection limits (fair shares) and accept
 * back-off (see usbip_server.h).
 */
#include "server/usbip/usbip_server.h"

#include <errno.h>
#include <event2/event.h>
#include <event2/listener.h>
#include <malloc.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "common/log.h"
#include "common/netaddr.h"
#include "common/strmap.h"
#include "common/xmalloc.h"
#include "server/export/export.h"
#include "server/usbip/usbip_conn.h"

unsigned
usbip_server_count_peer(const struct usbip_server *srv,
    const struct sockaddr *sa)
{
	char host[EXPORT_PEER_MAX];
	const unsigned *n;

	netaddr_format_host(sa, host, sizeof(host));
	n = strmap_get(srv->peers, host);
	return n != NULL ? *n : 0;
}

void
usbip_server_peer_add(struct usbip_server *srv, struct usbip_conn *c)
{
	const struct sockaddr *sa = (const struct sockaddr *)&c->peer;
	char host[EXPORT_PEER_MAX];
	unsigned *n;

	c->vm_peer = export_peer_tokens(srv->exp, sa) >= 0;
	if (!c->vm_peer)
		srv->nother++;
	netaddr_format_host(sa, host, sizeof(host));
	if ((n = strmap_get(srv->peers, host)) == NULL) {
		n = xcalloc(1, sizeof(*n));
		if (strmap_put(srv->peers, host, n) < 0) {
			free(n);	/* the map holds every connection's */
			return;
		}
	}
	(*n)++;
}

void
usbip_server_peer_del(struct usbip_server *srv, struct usbip_conn *c)
{
	char host[EXPORT_PEER_MAX];
	unsigned *n;

	if (!c->vm_peer && srv->nother > 0)
		srv->nother--;
	netaddr_format_host((const struct sockaddr *)&c->peer, host,
	    sizeof(host));
	if ((n = strmap_get(srv->peers, host)) != NULL && --*n == 0)
		strmap_del(srv->peers, host);
}

unsigned
usbip_server_reserve(const struct usbip_limits *lim)
{
	return lim->vm_reserve < lim->max_sessions / 2 ? lim->vm_reserve :
	    lim->max_sessions / 2;
}

/* Connections gone since the high-water mark that make a trim worth it. */
#define USBIP_TRIM_MIN		32
#define USBIP_TRIM_DELAY_S	1

/*
 * glibc keeps freed heap in its arenas and gives back only the top of
 * the heap, so after a burst of sessions has ended (their buffers freed
 * in between longer-lived allocations) RSS would stay near the burst's
 * peak: 12 to 22 MiB more for 1,000 sessions in tests/load.  Once
 * USBIP_TRIM_MIN connections have gone since the high-water mark, a trim
 * runs a second later (after the rest of the burst) and malloc_trim(3)
 * returns the free pages.  Steady traffic and DEVLIST churn never reach
 * the mark.
 */
void
usbip_server_conns_changed(struct usbip_server *srv)
{
	struct timeval tv = { USBIP_TRIM_DELAY_S, 0 };

	srv->exp->stats.connections = srv->nconns;
	if (srv->nconns > srv->trim_hwm)
		srv->trim_hwm = srv->nconns;
	if (srv->ev_trim != NULL &&
	    srv->trim_hwm - srv->nconns >= USBIP_TRIM_MIN &&
	    !evtimer_pending(srv->ev_trim, NULL))
		evtimer_add(srv->ev_trim, &tv);
}

static void
usbip_server_trimcb(evutil_socket_t fd, short what, void *arg)
{
	struct usbip_server *srv = arg;

	(void)fd;
	(void)what;
	srv->trim_hwm = srv->nconns;
#ifdef __GLIBC__
	(void)malloc_trim(0);
#endif
}

static void
usbip_server_acceptcb(struct evconnlistener *l, evutil_socket_t fd,
    struct sockaddr *sa, int salen, void *arg)
{
	struct usbip_server *srv = arg;
	const struct usbip_limits *lim = &srv->lim;
	int tokens = export_peer_tokens(srv->exp, sa);
	unsigned cap = lim->max_per_peer, reserve = usbip_server_reserve(lim);
	struct logrl *rl = NULL;
	const char *why = NULL;
	char peer[64];

	(void)l;
	srv->exp->stats.accepted++;
	if (tokens > 0)
		cap += (unsigned)tokens < 1000000 - cap ? (unsigned)tokens :
		    1000000 - cap;
	if (srv->nconns >= lim->max_sessions) {
		rl = &srv->rl_total;
		why = "all connections in use";
	} else if (usbip_server_count_peer(srv, sa) >= cap) {
		rl = &srv->rl_peer;
		why = tokens >= 0 ? "per-address cap of a VM's address" :
		    "per-address cap";
	} else if (tokens < 0 && srv->nother >= lim->max_sessions - reserve) {
		rl = &srv->rl_other;
		why = "the rest is reserved for VM addresses";
	}
	if (rl != NULL) {
		netaddr_format(sa, peer, sizeof(peer));
		logrl_warnx(rl, "usbip %s: refused: connection limit reached "
		    "(%u total, %u per peer): %s (%u kept for VM addresses)",
		    peer, lim->max_sessions, lim->max_per_peer, why, reserve);
		srv->exp->stats.refused++;
		close(fd);
		return;
	}
	if (usbip_conn_new(srv, fd, sa, (socklen_t)salen) == NULL)
		log_warnx("usbip: out of memory for a new connection");
}

static void
usbip_server_resumecb(evutil_socket_t fd, short what, void *arg)
{
	struct usbip_server *srv = arg;

	(void)fd;
	(void)what;
	evconnlistener_enable(srv->listener);
}

/*
 * accept() failed.  Out of descriptors: pause the listener for a second
 * rather than spin on a readable listening socket we cannot drain.
 */
static void
usbip_server_errorcb(struct evconnlistener *l, void *arg)
{
	struct usbip_server *srv = arg;
	int err = EVUTIL_SOCKET_ERROR();
	struct timeval tv = { 1, 0 };

	if (err == EMFILE || err == ENFILE || err == ENOBUFS ||
	    err == ENOMEM) {
		logrl_warnx(&srv->rl_accept, "usbip: accept: %s; pausing new "
		    "connections for 1 s", strerror(err));
		evconnlistener_disable(l);
		evtimer_add(srv->ev_resume, &tv);
		return;
	}
	logrl_warnx(&srv->rl_accept, "usbip: accept: %s", strerror(err));
}

struct usbip_server *
usbip_server_new(struct event_base *base, struct export *exp,
    const struct sockaddr *addr, socklen_t addrlen, const char *listen,
    const struct usbip_limits *lim)
{
	struct usbip_server *srv = xcalloc(1, sizeof(*srv));
	socklen_t len = sizeof(srv->bound);
	char text[64];

	srv->base = base;
	srv->exp = exp;
	srv->lim = *lim;
	TAILQ_INIT(&srv->conns);
	srv->peers = strmap_new(SIZE_MAX, free);
	srv->ev_resume = evtimer_new(base, usbip_server_resumecb, srv);
	srv->ev_trim = evtimer_new(base, usbip_server_trimcb, srv);
	if (srv->ev_resume == NULL || srv->ev_trim == NULL) {
		log_warnx("usbip: out of memory");
		usbip_server_free(srv);
		return NULL;
	}
	if (addr == NULL)
		return srv;
	srv->listener = evconnlistener_new_bind(base, usbip_server_acceptcb,
	    srv, LEV_OPT_CLOSE_ON_FREE | LEV_OPT_CLOSE_ON_EXEC |
	    LEV_OPT_REUSEABLE, 128, addr, (int)addrlen);
	if (srv->listener == NULL) {
		log_warn("usbip: cannot listen on %s", listen);
		usbip_server_free(srv);
		return NULL;
	}
	evconnlistener_set_error_cb(srv->listener, usbip_server_errorcb);
	getsockname(evconnlistener_get_fd(srv->listener),
	    (struct sockaddr *)&srv->bound, &len);
	netaddr_format((struct sockaddr *)&srv->bound, text, sizeof(text));
	log_info("usbip: listening on %s", text);
	return srv;
}

void
usbip_server_set_limits(struct usbip_server *srv,
    const struct usbip_limits *lim)
{
	srv->lim = *lim;
}

void
usbip_server_free(struct usbip_server *srv)
{
	struct usbip_conn *c;

	if (srv == NULL)
		return;
	while ((c = TAILQ_FIRST(&srv->conns)) != NULL)
		usbip_conn_free(c);
	if (srv->listener != NULL)
		evconnlistener_free(srv->listener);
	if (srv->ev_resume != NULL)
		event_free(srv->ev_resume);
	if (srv->ev_trim != NULL)
		event_free(srv->ev_trim);
	strmap_free(srv->peers);
	free(srv);
}
