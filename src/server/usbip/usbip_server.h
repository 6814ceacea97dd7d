/*
 * usbip_server: the USB/IP listener and the set of live connections.
 * Enforces the global and per-peer connection limits at accept, and backs
 * off (listener paused for a second) when the process runs out of file
 * descriptors instead of spinning.  Devices, sessions and the decisions
 * about them are the export layer's (server/export/export.h); this layer
 * is the wire.
 */
#ifndef VTOKEN_USBIP_SERVER_H
#define VTOKEN_USBIP_SERVER_H

#include <sys/queue.h>
#include <sys/socket.h>

struct event_base;
struct export;
struct usbip_conn;

TAILQ_HEAD(usbip_conn_list, usbip_conn);

/* Limits and deadlines; all reloadable (usbip_server_set_limits). */
struct usbip_limits {
	unsigned max_sessions;		/* connections in all */
	unsigned max_per_peer;		/* connections per source address */
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

#endif
