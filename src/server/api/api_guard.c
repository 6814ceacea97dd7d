/*
 * api_guard: per-request deadlines, connection caps and the checks
 * before a body is read on the REST API (see api_guard.h, api_gate.h).
 */
#include "server/api/api_guard.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include "common/log.h"
#include "common/netaddr.h"
#include "common/strmap.h"
#include "server/api/api.h"
#include "server/api/api_gate.h"
#include "server/export/export.h"

/* How long a refused request's answer has before the socket closes. */
#define API_GUARD_LINGER_MS	200

enum api_gate_state {
	API_GATE_HEAD,			/* reading a header block */
	API_GATE_BODY,			/* body_left more bytes are body */
	API_GATE_SHUT,			/* refused: the connection is ours */
};

struct api_guard {
	struct api_server *api;
	struct bufferevent *bev;	/* referenced; evhttp's connection */
	struct evbuffer_cb_entry *incb;
	struct event *deadline;
	struct event *ev_gate;		/* admission, then the close after a
					   refusal */
	bool busy;			/* dispatched; the reply is going out */
	bool admitted;			/* the caps were checked */
	bool counted;			/* holds a slot (api->nconns) */
	bool vm;			/* from a VM's address */
	bool closecb;			/* evhttp's close callback is ours */
	/* The gate: a copy of the header block being read, and the stream
	 * position as evhttp will read it (api_gate.h). */
	enum api_gate_state state;
	struct evbuffer *hdr;
	uint64_t body_left;
	/* evhttp's callbacks while a refused connection is ours. */
	bufferevent_data_cb saved_r, saved_w;
	bufferevent_event_cb saved_e;
	void *saved_arg;
	char peer[64];			/* "addr:port", "?" before known */
	char peer_host[48];
	void (*onclose)(void *);	/* api_guard_on_close */
	void *onclose_arg;
	TAILQ_ENTRY(api_guard) entry;
};

/* The key of a guard in api->guard_of: its bufferevent's address. */
#define API_GUARD_KEY_LEN	(2 * sizeof(void *) + 3)

static const char *
api_guard_key(const struct bufferevent *bev, char key[API_GUARD_KEY_LEN])
{
	snprintf(key, API_GUARD_KEY_LEN, "%p", (const void *)bev);
	return key;
}

/*
 * The guard of req's connection, or NULL.  The guard holds a reference on
 * the bufferevent, so no other connection can have its address meanwhile.
 */
static struct api_guard *
api_guard_of(struct api_server *api, struct evhttp_request *req)
{
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	char key[API_GUARD_KEY_LEN];

	if (c == NULL)
		return NULL;
	return strmap_get(api->guard_of,
	    api_guard_key(evhttp_connection_get_bufferevent(c), key));
}

/* True once evhttp has freed the connection's bufferevent. */
static bool
api_guard_dead(const struct api_guard *g)
{
	bufferevent_data_cb r, w;
	bufferevent_event_cb e;
	void *arg;

	bufferevent_getcb(g->bev, &r, &w, &e, &arg);
	return r == NULL && w == NULL && e == NULL;
}

/* Gives back g's connection slot. */
static void
api_guard_uncount(struct api_guard *g)
{
	struct api_server *api = g->api;
	unsigned *n;

	if (!g->counted)
		return;
	g->counted = false;
	api->nconns--;
	if (!g->vm && api->nother > 0)
		api->nother--;
	if ((n = strmap_get(api->conn_peers, g->peer_host)) != NULL &&
	    --*n == 0)
		strmap_del(api->conn_peers, g->peer_host);
}

static void
api_guard_release(struct api_guard *g)
{
	char key[API_GUARD_KEY_LEN];

	api_guard_uncount(g);
	(void)strmap_del(g->api->guard_of, api_guard_key(g->bev, key));
	TAILQ_REMOVE(&g->api->guards, g, entry);
	evbuffer_remove_cb_entry(bufferevent_get_input(g->bev), g->incb);
	event_free(g->deadline);
	event_free(g->ev_gate);
	if (g->hdr != NULL)
		evbuffer_free(g->hdr);
	bufferevent_decref(g->bev);
	free(g);
}

/*
 * Ends g's connection now: evhttp (its callbacks back if the gate had
 * taken them) sees the end of the stream and frees it, and the guard
 * goes with it, unless evhttp's close callback (ours once a request was
 * dispatched) released it already.
 */
static void
api_guard_kill(struct api_guard *g)
{
	bool released_by_evhttp = g->closecb;

	if (g->saved_e != NULL)
		bufferevent_setcb(g->bev, g->saved_r, g->saved_w, g->saved_e,
		    g->saved_arg);
	g->saved_e = NULL;
	bufferevent_trigger_event(g->bev, BEV_EVENT_EOF | BEV_EVENT_READING,
	    0);
	if (!released_by_evhttp && api_guard_dead(g))
		api_guard_release(g);
}

/* The peer's address from the socket (evhttp sets it after bevcb). */
static bool
api_guard_peer(struct api_guard *g, struct sockaddr_storage *ss)
{
	socklen_t len = sizeof(*ss);
	evutil_socket_t fd = bufferevent_getfd(g->bev);

	if (fd < 0 || getpeername(fd, (struct sockaddr *)ss, &len) < 0)
		return false;
	netaddr_format((struct sockaddr *)ss, g->peer, sizeof(g->peer));
	netaddr_format_host((struct sockaddr *)ss, g->peer_host,
	    sizeof(g->peer_host));
	return true;
}

/*
 * The connection caps, checked on the loop turn of the accept (before
 * anything is read): api.max_connections in all, of which non-VM
 * addresses may hold all but api.vm_reserve (at most half), and
 * api.max_connections_per_address per address (plus one per token for a
 * VM's address).  Over a cap the connection is closed at once.
 */
static void
api_guard_admit(struct api_guard *g)
{
	struct api_server *api = g->api;
	const struct api_params *p = &api->params;
	unsigned reserve = p->vm_reserve < p->max_conns / 2 ? p->vm_reserve :
	    p->max_conns / 2, cap = p->max_per_address, *n;
	struct sockaddr_storage ss;
	const char *why = NULL;
	int tokens;

	g->admitted = true;
	if (!api_guard_peer(g, &ss))
		return;		/* evhttp has failed it already */
	/*
	 * An answer leaves as several writes (TLS records, headers and
	 * body): with Nagle the last one waits for the client's delayed ACK,
	 * some 40 ms a request.
	 */
	(void)setsockopt(bufferevent_getfd(g->bev), IPPROTO_TCP, TCP_NODELAY,
	    &(int){ 1 }, sizeof(int));
	tokens = export_peer_tokens(api->exp, (struct sockaddr *)&ss);
	g->vm = tokens >= 0;
	if (tokens > 0)
		cap += (unsigned)tokens < 1000000 ? (unsigned)tokens : 1000000;
	n = strmap_get(api->conn_peers, g->peer_host);
	if (api->nconns >= p->max_conns)
		why = "all connections in use";
	else if (n != NULL && *n >= cap)
		why = "per-address cap";
	else if (!g->vm && api->nother >= p->max_conns - reserve)
		why = "the rest is reserved for VM addresses";
	if (why != NULL) {
		api->stats.conns_refused++;
		logrl_warnx(&api->rl_conns, "api %s: refused: connection limit "
		    "reached (%u total, %u per address): %s (%u kept for VM "
		    "addresses)", g->peer, p->max_conns, p->max_per_address,
		    why, reserve);
		api_guard_kill(g);
		return;
	}
	if (n == NULL) {
		n = calloc(1, sizeof(*n));
		if (n == NULL || strmap_put(api->conn_peers, g->peer_host,
		    n) < 0) {
			free(n);
			api_guard_kill(g);
			return;
		}
	}
	(*n)++;
	api->nconns++;
	if (!g->vm)
		api->nother++;
	g->counted = true;
}

static void
api_guard_gatecb(evutil_socket_t fd, short what, void *arg)
{
	struct api_guard *g = arg;

	(void)fd;
	(void)what;
	if (!g->admitted)
		api_guard_admit(g);
	else if (g->state == API_GATE_SHUT)
		api_guard_kill(g);
}

/* A refused connection, ours now: its answer is out; close shortly. */
static void
api_guard_hj_write(struct bufferevent *bev, void *arg)
{
	struct api_guard *g = arg;
	struct timeval tv = { 0, API_GUARD_LINGER_MS * 1000 };
	evutil_socket_t fd = bufferevent_getfd(bev);

	if (evtimer_pending(g->ev_gate, NULL))
		return;
	if (fd >= 0)
		(void)shutdown(fd, SHUT_WR);
	evtimer_add(g->ev_gate, &tv);
}

static void
api_guard_hj_read(struct bufferevent *bev, void *arg)
{
	(void)bev;
	(void)arg;	/* reading is off; nothing of it is used */
}

static void
api_guard_hj_event(struct bufferevent *bev, short what, void *arg)
{
	struct api_guard *g = arg;

	(void)bev;
	(void)what;
	event_active(g->ev_gate, EV_TIMEOUT, 1);	/* not from here */
}

/*
 * Answers a request the gate refused.  The connection is taken from
 * evhttp (its callbacks saved): it never sees the rest of the header
 * block nor the body, and gets the connection back only to free it
 * (api_guard_kill).
 */
static void
api_guard_refuse(struct api_guard *g, int status, const char *why)
{
	g->state = API_GATE_SHUT;
	g->api->stats.early_refused++;
	g->api->stats.by_class[status / 100]++;
	if (status != 401 && status != 413)
		logrl_warnx(&g->api->rl_gate_bad, "api %s: %d: %s; closing",
		    g->peer, status, why);
	bufferevent_getcb(g->bev, &g->saved_r, &g->saved_w, &g->saved_e,
	    &g->saved_arg);
	bufferevent_setcb(g->bev, api_guard_hj_read, api_guard_hj_write,
	    api_guard_hj_event, g);
	bufferevent_disable(g->bev, EV_READ);
	evtimer_del(g->deadline);
	api_gate_response(bufferevent_get_output(g->bev), status, why);
	bufferevent_enable(g->bev, EV_WRITE);
}

/*
 * Follows the stream as evhttp will read it, from the bytes just added
 * to the input (at off, n of them), before evhttp's read callback sees
 * them: header blocks are copied and checked when complete, bodies
 * counted.
 */
static void
api_guard_feed(struct api_guard *g, struct evbuffer *in, size_t off,
    size_t n)
{
	struct api_gate_head h;
	struct evbuffer_ptr p;
	const char *why = NULL;
	char chunk[4096];
	size_t had, take;
	int status;

	while (n > 0 && g->state != API_GATE_SHUT) {
		if (g->state == API_GATE_BODY) {
			take = n < g->body_left ? n : (size_t)g->body_left;
			g->body_left -= take;
			off += take;
			n -= take;
			if (g->body_left == 0)
				g->state = API_GATE_HEAD;
			continue;
		}
		if (g->hdr == NULL && (g->hdr = evbuffer_new()) == NULL)
			return;
		had = evbuffer_get_length(g->hdr);
		take = n < sizeof(chunk) ? n : sizeof(chunk);
		if (evbuffer_ptr_set(in, &p, off, EVBUFFER_PTR_SET) < 0 ||
		    evbuffer_copyout_from(in, &p, chunk, take) !=
		    (ev_ssize_t)take)
			return;
		evbuffer_add(g->hdr, chunk, take);
		if (api_gate_parse(g->hdr, &h) == 0) {
			off += take;
			n -= take;
			continue;
		}
		status = api_gate_check(g->api, &h, g->peer_host, g->peer,
		    &why);
		if (status != 0) {
			api_guard_refuse(g, status, why);
			return;
		}
		/* The block ends inside this chunk: the rest is body. */
		off += h.len - had;
		n -= h.len - had;
		evbuffer_drain(g->hdr, evbuffer_get_length(g->hdr));
		if (h.content_length > 0) {
			g->state = API_GATE_BODY;
			g->body_left = h.content_length;
		}
	}
}

static void
api_guard_expired(evutil_socket_t fd, short what, void *arg)
{
	struct api_guard *g = arg;
	evutil_socket_t s;

	(void)fd;
	(void)what;
	if (api_guard_dead(g)) {
		api_guard_release(g);
		return;
	}
	if (g->state == API_GATE_SHUT)
		return;		/* refused; closing already */
	/* Nothing of a request yet: an idle (kept-alive) connection. */
	if (evbuffer_get_length(bufferevent_get_input(g->bev)) == 0)
		log_debug("api: connection idle for %u s; closing",
		    g->api->params.timeout);
	else
		log_warnx("api: request incomplete after %u s; closing",
		    g->api->params.timeout);
	/* evhttp sees the end of the stream and frees the connection. */
	s = bufferevent_getfd(g->bev);
	if (s >= 0)
		(void)shutdown(s, SHUT_RDWR);
}

/* Starts the deadline of the next request unless one is running. */
static void
api_guard_arm(struct api_guard *g)
{
	struct timeval tv = { 0, 0 };

	if (g->busy || evtimer_pending(g->deadline, NULL))
		return;
	tv.tv_sec = g->api->params.timeout;
	evtimer_add(g->deadline, &tv);
}

/*
 * Bytes arrived: the first byte of a request starts its deadline, and
 * the gate reads them before evhttp does (evbuffer callbacks run as the
 * bytes are added, before the bufferevent's read callback).
 */
static void
api_guard_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	struct api_guard *g = arg;

	if (info->n_added == 0 || g->state == API_GATE_SHUT)
		return;
	api_guard_arm(g);
	if (g->peer[0] == '\0') {
		struct sockaddr_storage ss;

		if (!api_guard_peer(g, &ss))
			snprintf(g->peer, sizeof(g->peer), "?");
	}
	api_guard_feed(g, buf, evbuffer_get_length(buf) - info->n_added,
	    info->n_added);
}

static void
api_guard_sweep(evutil_socket_t fd, short what, void *arg)
{
	struct api_server *api = arg;
	struct api_guard *g, *next;

	(void)fd;
	(void)what;
	for (g = TAILQ_FIRST(&api->guards); g != NULL; g = next) {
		next = TAILQ_NEXT(g, entry);
		if (api_guard_dead(g))
			api_guard_release(g);
	}
}

int
api_guard_init(struct api_server *api)
{
	struct timeval tv = { 1, 0 };

	TAILQ_INIT(&api->guards);
	api->conn_peers = strmap_new(SIZE_MAX, free);
	api->guard_of = strmap_new(SIZE_MAX, NULL);
	api->ev_sweep = event_new(api->base, -1, EV_PERSIST,
	    api_guard_sweep, api);
	if (api->ev_sweep == NULL || event_add(api->ev_sweep, &tv) < 0)
		return -1;
	return 0;
}

void
api_guard_clear(struct api_server *api)
{
	struct api_guard *g;

	while ((g = TAILQ_FIRST(&api->guards)) != NULL)
		api_guard_release(g);
	if (api->ev_sweep != NULL)
		event_free(api->ev_sweep);
	api->ev_sweep = NULL;
	strmap_free(api->conn_peers);
	api->conn_peers = NULL;
	strmap_free(api->guard_of);
	api->guard_of = NULL;
}

struct bufferevent *
api_guard_bevcb(struct event_base *base, void *arg)
{
	struct api_server *api = arg;
	struct bufferevent *bev;
	struct api_guard *g;
	char key[API_GUARD_KEY_LEN];
	SSL *ssl;

	if (api->ssl_ctx != NULL) {
		if ((ssl = SSL_new(api->ssl_ctx)) == NULL)
			return NULL;
		bev = bufferevent_openssl_socket_new(base, -1, ssl,
		    BUFFEREVENT_SSL_ACCEPTING, BEV_OPT_CLOSE_ON_FREE);
	} else
		bev = bufferevent_socket_new(base, -1, BEV_OPT_CLOSE_ON_FREE);
	g = calloc(1, sizeof(*g));
	if (bev == NULL || g == NULL ||
	    (g->deadline = evtimer_new(base, api_guard_expired, g)) == NULL ||
	    (g->ev_gate = evtimer_new(base, api_guard_gatecb, g)) == NULL ||
	    strmap_put(api->guard_of, api_guard_key(bev, key), g) < 0 ||
	    (g->incb = evbuffer_add_cb(bufferevent_get_input(bev),
	    api_guard_input, g)) == NULL) {
		if (bev != NULL)
			(void)strmap_del(api->guard_of, api_guard_key(bev,
			    key));
		if (g != NULL && g->deadline != NULL)
			event_free(g->deadline);
		if (g != NULL && g->ev_gate != NULL)
			event_free(g->ev_gate);
		free(g);
		return bev;	/* serve unguarded rather than not at all */
	}
	g->api = api;
	g->bev = bev;
	bufferevent_incref(bev);
	TAILQ_INSERT_TAIL(&api->guards, g, entry);
	/* The caps on this loop turn, once evhttp has given it its socket. */
	event_active(g->ev_gate, EV_TIMEOUT, 1);
	/*
	 * From the accept on: the input buffer sees decrypted bytes only, so
	 * a TLS handshake or record trickled a byte at a time would never
	 * start a deadline there.
	 */
	api_guard_arm(g);
	return bev;
}

/* evhttp is freeing a connection that had a request: release now. */
static void
api_guard_closed(struct evhttp_connection *c, void *arg)
{
	struct api_guard *g = arg;

	(void)c;
	if (g->onclose != NULL)
		g->onclose(g->onclose_arg);
	api_guard_release(g);
}

void
api_guard_on_close(struct api_server *api, struct evhttp_request *req,
    void (*fn)(void *), void *arg)
{
	struct api_guard *g = api_guard_of(api, req);

	if (g != NULL) {
		g->onclose = fn;
		g->onclose_arg = arg;
	}
}

static void
api_guard_replied(struct evhttp_request *req, void *arg)
{
	struct api_guard *g = arg;

	(void)req;
	g->busy = false;
	api_guard_arm(g);	/* the next request on a kept-alive connection */
}

void
api_guard_dispatched(struct api_server *api, struct evhttp_request *req)
{
	struct api_guard *g = api_guard_of(api, req);

	if (g == NULL)
		return;
	evtimer_del(g->deadline);
	g->busy = true;
	evhttp_request_set_on_complete_cb(req, api_guard_replied, g);
	evhttp_connection_set_closecb(evhttp_request_get_connection(req),
	    api_guard_closed, g);
	g->closecb = true;
}
