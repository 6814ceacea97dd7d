/*
 * api_guard: an absolute deadline for each REST request.
 *
 * evhttp's timeout measures silence only, so a client that trickles a
 * request a byte at a time would hold its connection forever (slowloris).
 * Each API connection's bufferevent gets a guard with a deadline of
 * api.timeout seconds, armed at the accept (so a TLS handshake counts:
 * under TLS the input buffer sees decrypted bytes only) and again when a
 * reply has been written, or by the first byte of a request if neither
 * did; the dispatch of the complete request disarms it until the reply is
 * written.  A connection still without a complete request at its deadline
 * has its socket shut down, which evhttp sees as the end of the
 * connection.
 *
 * evhttp owns the bufferevent, so the guard holds a reference on it.  A
 * connection that has had a request releases its guard from evhttp's
 * close callback, at once.  One that never completed a request has no
 * such hook: a sweep every second reclaims the guards of connections
 * evhttp has freed (bufferevent_free clears all callbacks), and their
 * sockets close then, at most a second late; evhttp has already shut
 * them down.
 */
#ifndef VTOKEN_API_GUARD_H
#define VTOKEN_API_GUARD_H

#include <sys/queue.h>

struct api_server;
struct bufferevent;
struct event_base;
struct evhttp_request;

struct api_guard;
TAILQ_HEAD(api_guard_list, api_guard);

/* Starts the sweep; 0 or -1. */
int api_guard_init(struct api_server *api);
/* Releases every guard; after evhttp_free. */
void api_guard_clear(struct api_server *api);
/*
 * The evhttp_set_bevcb callback: a new connection's bufferevent (TLS when
 * the server has an SSL_CTX) with its guard.
 */
struct bufferevent *api_guard_bevcb(struct event_base *base, void *arg);
/* Marks req's request complete (called by the dispatcher). */
void api_guard_dispatched(struct api_server *api, struct evhttp_request *req);

/*
 * fn(arg) runs when evhttp closes req's connection (the client went
 * away, or the server is stopping), before the guard goes: for replies
 * that stream for as long as the client stays (api_events).
 */
void api_guard_on_close(struct api_server *api, struct evhttp_request *req,
    void (*fn)(void *), void *arg);

#endif
