/*
 * notify_impl: what the delivery core (notify.c) and its destinations
 * (notify_webhook.c, notify_syslog.c) share.  A destination is a send
 * function on its own state; the core owns the thread, the queue and the
 * retries.
 */
#ifndef VTOKEN_NOTIFY_IMPL_H
#define VTOKEN_NOTIFY_IMPL_H

#include <time.h>

#include "server/notify/notify.h"

/* One queued message; the strings are owned copies. */
struct notify_msg {
	struct notify_msg *next;
	int severity;
	char *msgid, *sd, *body;
	time_t when;		/* when it was posted (syslog TIMESTAMP) */
	unsigned attempts;
};

enum notify_result {
	NOTIFY_SENT,
	NOTIFY_RETRY,		/* a transient failure */
	NOTIFY_REJECTED,	/* the receiver refused this message */
};

struct notify_sink {
	const char *what;	/* for log lines: "webhook URL", ... */
	/* Thread of the destination only; why (static or in arg) on failure. */
	enum notify_result (*send)(void *arg, const struct notify_msg *m,
	    unsigned timeout_s, char *why, size_t whylen);
	void (*free)(void *arg);
	void *arg;
};

/* Starts a destination's thread over sink (taken); NULL with *cause. */
struct notify *notify_start(const struct notify_sink *sink,
    const struct notify_limits *lim, char **cause);

#endif
