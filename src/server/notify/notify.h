/*
 * notify: delivery of alarms and audit records to processes outside
 * vtokend (the log manager's job of passing records on): a webhook (a
 * JSON POST signed with HMAC-SHA256) or a syslog receiver (RFC 5424 over
 * a local socket, UDP or TCP).
 *
 * Each destination is a struct notify with a thread and a bounded queue
 * of its own, so a receiver that is slow, down or unreachable never
 * blocks the event loop, nor delays another destination.  notify_post
 * copies the message and returns at once; when the queue is full the
 * message is dropped and counted.  A failed delivery is retried with an
 * exponential back-off (limits below) until it works or its attempts are
 * spent (counted as failed, logged); an answer that says the message
 * itself is wrong (HTTP 4xx) is not retried.  Messages to one
 * destination are delivered in order.
 *
 * Ownership: the caller owns the params' strings during notify_*_new
 * only; notify keeps copies.  notify_free drops what is still queued
 * (counted) after giving the thread up to NOTIFY_DRAIN_S to finish.
 */
#ifndef VTOKEN_NOTIFY_H
#define VTOKEN_NOTIFY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOTIFY_DRAIN_S		2

struct notify_limits {
	unsigned queue;		/* messages waiting, at most */
	unsigned attempts;	/* per message, the first included */
	double backoff_min;	/* seconds before the first retry */
	double backoff_max;	/* the back-off doubles up to this */
	unsigned timeout_s;	/* per attempt (HTTP, TCP connect) */
};

struct notify_stats {
	unsigned long long delivered;
	unsigned long long retried;	/* attempts that failed and were retried */
	unsigned long long failed;	/* given up on */
	unsigned long long dropped;	/* the queue was full */
	unsigned queued;		/* waiting now */
};

struct notify;

/*
 * A webhook: POST url with the message as body (application/json) and
 * "X-Vtoken-Signature: sha256=HEX", the HMAC-SHA256 of the body keyed
 * with secret.  NULL with *cause (allocated) on a bad url.
 */
struct notify *notify_webhook_new(const char *url, const uint8_t *secret,
    size_t secret_len, const struct notify_limits *lim, char **cause);
/*
 * A syslog receiver: target "unix:PATH" (a datagram socket such as
 * /dev/log), "udp:HOST:PORT" or "tcp:HOST:PORT" (numeric host; TCP uses
 * octet-counting framing, RFC 6587).  hostname and app fill the RFC 5424
 * header.  NULL with *cause on a bad target.
 */
struct notify *notify_syslog_new(const char *target, const char *hostname,
    const char *app, const struct notify_limits *lim, char **cause);
void notify_free(struct notify *n);

/*
 * Queues one message.  Webhook: body is the JSON, the rest unused.
 * Syslog: severity 0..7 (RFC 5424: 2 critical, 4 warning, 6 info),
 * msgid (e.g. "alarm"), sd one structured-data element already formatted
 * ("[id@32473 k=\"v\"]", or NULL for "-"), body the free-form message.
 * False when the message was dropped (queue full).
 */
bool notify_post(struct notify *n, int severity, const char *msgid,
    const char *sd, const char *body);
struct notify_stats notify_stats(struct notify *n);

/*
 * A structured-data parameter value escaped as RFC 5424 asks ('"', '\'
 * and ']' get a backslash), into out (NUL-terminated, cut to len).
 */
void notify_sd_escape(const char *in, char *out, size_t len);

#endif
