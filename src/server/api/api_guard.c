/*
 * api_guard: per-request deadlines on the REST API (see api_guard.h).
 */
#include "server/api/api_guard.h"

#include <event2/buffer.h>
#include <event2/bufferevent.h>
#include <event2/bufferevent_ssl.h>
#include <event2/event.h>
#include <event2/http.h>
#include <openssl/ssl.h>
#include <stdbool.h>
#include <stdlib.h>
#include <sys/socket.h>

#include "common/log.h"
#include "server/api/api.h"

struct api_guard {
	struct api_server *api;
	struct bufferevent *bev;	/* referenced; evhttp's connection */
	struct evbuffer_cb_entry *incb;
	struct event *deadline;
	bool busy;			/* dispatched; the reply is going out */
	void (*onclose)(void *);	/* api_guard_on_close */
	void *onclose_arg;
	TAILQ_ENTRY(api_guard) entry;
};

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

static void
api_guard_release(struct api_guard *g)
{
	TAILQ_REMOVE(&g->api->guards, g, entry);
	evbuffer_remove_cb_entry(bufferevent_get_input(g->bev), g->incb);
	event_free(g->deadline);
	bufferevent_decref(g->bev);
	free(g);
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

/* Bytes arrived: the first byte of a request starts its deadline. */
static void
api_guard_input(struct evbuffer *buf, const struct evbuffer_cb_info *info,
    void *arg)
{
	(void)buf;
	if (info->n_added > 0)
		api_guard_arm(arg);
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
}

struct bufferevent *
api_guard_bevcb(struct event_base *base, void *arg)
{
	struct api_server *api = arg;
	struct bufferevent *bev;
	struct api_guard *g;
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
	    (g->incb = evbuffer_add_cb(bufferevent_get_input(bev),
	    api_guard_input, g)) == NULL) {
		if (g != NULL && g->deadline != NULL)
			event_free(g->deadline);
		free(g);
		return bev;	/* serve unguarded rather than not at all */
	}
	g->api = api;
	g->bev = bev;
	bufferevent_incref(bev);
	TAILQ_INSERT_TAIL(&api->guards, g, entry);
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
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) :
	    NULL;
	struct api_guard *g;

	TAILQ_FOREACH(g, &api->guards, entry)
		if (g->bev == bev) {
			g->onclose = fn;
			g->onclose_arg = arg;
			return;
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
	struct evhttp_connection *c = evhttp_request_get_connection(req);
	struct bufferevent *bev = c ? evhttp_connection_get_bufferevent(c) :
	    NULL;
	struct api_guard *g;

	TAILQ_FOREACH(g, &api->guards, entry) {
		if (g->bev != bev)
			continue;
		evtimer_del(g->deadline);
		g->busy = true;
		evhttp_request_set_on_complete_cb(req, api_guard_replied, g);
		evhttp_connection_set_closecb(c, api_guard_closed, g);
		return;
	}
}
