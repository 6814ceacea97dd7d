/*
 * usbip_conn: one USB/IP connection, from accept to close.
 *
 * Op phase: exactly one OP_REQ_DEVLIST (reply, then close) or
 * OP_REQ_IMPORT (reply; on success the connection becomes a session of
 * that device).  URB phase: CMD_SUBMIT / CMD_UNLINK until either side
 * closes.  Every violation of the bad-input checklist (docs/PROTOCOL.md,
 * "Bad input") closes this connection with one log line; others are
 * unaffected.
 *
 * Closing is always deferred to a fresh event-loop turn (usbip_conn_close),
 * so no callback ever runs on a freed connection.
 */
#ifndef VTOKEN_USBIP_CONN_H
#define VTOKEN_USBIP_CONN_H

#include <stdbool.h>
#include <stdint.h>
#include <sys/queue.h>
#include <sys/socket.h>
#include <time.h>

struct usbip_server;
struct export_session;
struct export_device;
struct bufferevent;
struct event;

enum usbip_conn_state {
	USBIP_CONN_OP = 0,	/* waiting for the op request */
	USBIP_CONN_IMPORT,	/* import asked; the policy decides */
	USBIP_CONN_URB,		/* imported: URB traffic */
	USBIP_CONN_FLUSH,	/* final reply queued; close once written */
	USBIP_CONN_CLOSING,	/* close scheduled */
};

struct usbip_conn {
	struct usbip_server *srv;
	struct bufferevent *bev;
	struct sockaddr_storage peer;
	socklen_t peerlen;
	char peer_str[64];
	enum usbip_conn_state state;
	struct export_session *sess;	/* from the import on; owned */
	struct export_device *dev;	/* attached device, borrowed */
	uint32_t devid;
	char import_busid[32];		/* asked for, printable */
	bool in_import;			/* inside export_import() */
	struct event *ev_timer;		/* handshake / partial PDU deadline */
	struct event *ev_close;		/* deferred close */
	char *close_reason;
	bool close_bad_input;
	bool partial;			/* a PDU has started but not ended */
	struct timespec partial_since;
	bool paused;			/* reading paused: tx backlog */
	bool linked;			/* in srv->conns */
	bool vm_peer;			/* a VM's address when accepted */
	TAILQ_ENTRY(usbip_conn) entry;
};

/* Takes ownership of fd; NULL (fd closed) on allocation failure. */
struct usbip_conn *usbip_conn_new(struct usbip_server *srv, int fd,
    const struct sockaddr *sa, socklen_t salen);
/*
 * Schedules the connection's close with a reason for the log line; safe
 * from any callback, including the connection's own.  Later calls keep
 * the first reason.
 */
void usbip_conn_close(struct usbip_conn *c, bool bad_input,
    const char *fmt, ...) __attribute__((format(printf, 3, 4)));
/* Frees at once (server shutdown only; not from the conn's callbacks). */
void usbip_conn_free(struct usbip_conn *c);

#endif
