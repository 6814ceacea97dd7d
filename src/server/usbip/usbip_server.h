/*
 * usbip_server: the USB/IP listener and the set of live connections.
 * Enforces the connection caps at accept, and backs off (listener paused
 * for a second) when the process runs out of file descriptors instead of
 * spinning.
 *
 * Fair shares: an address that is no VM's (export_peer_tokens() < 0)
 * may hold max_per_peer connections, and all such addresses together at
 * most max_sessions - vm_reserve (the reserve is clamped to half of
 * max_sessions), so no number of them can lock a VM out.  A VM's address
 * may hold max_per_peer plus one per token assigned to it (each attached
 * token is one connection).  Refusals are logged at most once a second
 * per cause, with the count of the lines left out.  Devices, sessions and the decisions
 * about them are the export layer's (server/export/export.h); this layer
 * is the wire.
 */
#ifndef VTOKEN_USBIP_SERVER_H
#define VTOKEN_USBIP_SERVER_H

#include <stdbool.h>
#include <sys/queue.h>
#include <sys/socket.h>

#include "common/logrl.h"

struct event_base;
struct export;
struct usbip_conn;
struct strmap;

TAILQ_HEAD(usbip_conn_list, usbip_conn);

/* Limits and deadlines; all reloadable (usbip_server_set_limits). */
struct usbip_limits {
	unsigned max_sessions;		/* connections in all */
	unsigned max_per_peer;		/* per source address (+ its tokens
					   for a VM's address) */
	unsigned vm_reserve;		/* slots only VM addresses may use */
	unsigned handshake_timeout;	/* seconds to the op request */
	unsigned pdu_timeout;		/* seconds a message may stay partial */
	unsigned tx_timeout;		/* seconds a peer may not read */
	unsigned max_urbs;		/* outstanding per session */
	unsigned max_bulk;		/* bytes per bulk URB */
	unsigned max_control;		/* bytes per control URB */
};

struct usbip_server {
	struct event_base *base;
	struct export *exp;		/* borrowed */
	struct usbip_limits lim;
	struct evconnlistener *listener;
	struct event *ev_resume;	/* re-enables accept after EMFILE */
	struct usbip_conn_list conns;
	unsigned nconns;
	struct event *ev_trim;		/* returns freed heap after a burst */
	unsigned trim_hwm;		/* most connections since last trim */
	struct sockaddr_storage bound;	/* actual address (port 0 resolved) */
	struct strmap *peers;		/* numeric address -> unsigned count */
	unsigned nother;		/* connections from non-VM addresses */
	struct logrl rl_total, rl_peer, rl_other, rl_accept;
};

/*
 * Binds and listens on addr (its text form `listen` for messages);
 * NULL after logging.  Without addr (NULL), no listener: the caller hands
 * connections in with usbip_conn_new (the fuzzers do).
 */
struct usbip_server *usbip_server_new(struct event_base *base,
    struct export *exp, const struct sockaddr *addr, socklen_t addrlen,
    const char *listen, const struct usbip_limits *lim);
/* Closes every connection and the listener.  NULL is a no-op. */
void usbip_server_free(struct usbip_server *srv);
/* New limits for new connections and the next messages of live ones. */
void usbip_server_set_limits(struct usbip_server *srv,
    const struct usbip_limits *lim);
/*
 * Called after nconns changed (usbip_conn_new/_free): returns freed heap
 * to the system once a burst of connections has ended.
 */
void usbip_server_conns_changed(struct usbip_server *srv);
/* Number of live connections from the same address as sa. */
unsigned usbip_server_count_peer(const struct usbip_server *srv,
    const struct sockaddr *sa);
/*
 * Accounts c (usbip_conn_new) and forgets it (usbip_conn_free): the
 * per-address counts and the non-VM total.
 */
void usbip_server_peer_add(struct usbip_server *srv, struct usbip_conn *c);
void usbip_server_peer_del(struct usbip_server *srv, struct usbip_conn *c);
/* The reserve in effect: vm_reserve, at most half of max_sessions. */
unsigned usbip_server_reserve(const struct usbip_limits *lim);

#endif
