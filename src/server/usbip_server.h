/*
 * usbip_server: the USB/IP listener and the set of live connections.
 * Enforces the global and per-peer connection limits at accept, and backs
 * off (listener paused for a second) when the process runs out of file
 * descriptors instead of spinning.
 */
#ifndef VTOKEN_USBIP_SERVER_H
#define VTOKEN_USBIP_SERVER_H

#include <sys/queue.h>
#include <sys/socket.h>

struct vtokend;
struct usbip_conn;

TAILQ_HEAD(usbip_conn_list, usbip_conn);

struct usbip_server_stats {
	unsigned long long accepted, refused, imports, devlists;
	unsigned long long closed_bad_input;
};

struct usbip_server {
	struct vtokend *vtd;
	struct evconnlistener *listener;
	struct event *ev_resume;	/* re-enables accept after EMFILE */
	struct usbip_conn_list conns;
	unsigned nconns;
	struct event *ev_trim;		/* returns freed heap after a burst */
	unsigned trim_hwm;		/* most connections since last trim */
	struct usbip_server_stats stats;
	struct sockaddr_storage bound;	/* actual address (port 0 resolved) */
};

/* Binds and listens on the configured address; NULL after logging. */
struct usbip_server *usbip_server_new(struct vtokend *vtd);
/* Closes every connection and the listener. */
void usbip_server_free(struct usbip_server *srv);
/*
 * Called after nconns changed (usbip_conn_new/_free): returns freed heap
 * to the system once a burst of connections has ended.
 */
void usbip_server_conns_changed(struct usbip_server *srv);
/* Number of live connections from the same address as sa. */
unsigned usbip_server_count_peer(const struct usbip_server *srv,
    const struct sockaddr *sa);

#endif
