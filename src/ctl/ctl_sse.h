/*
 * ctl_sse: a parser of Server-Sent Events (the WHATWG HTML standard,
 * "Server-sent events", the event stream interpretation), fed the body
 * of a text/event-stream response in pieces of any size as they arrive.
 *
 * Lines end with CRLF, LF or a lone CR, also when a piece ends between
 * the CR and the LF; a UTF-8 byte order mark at the start is skipped.
 * A line starting with ':' is a comment and is ignored (vtokend's
 * keep-alive).  "data" lines are joined with '\n'; "event" names the
 * type; "id" sets the last event ID (kept across events, ignored when it
 * holds a NUL); "retry" and unknown fields are ignored.  A blank line
 * ends an event, which is handed to the callback unless it had no data
 * line.  What is pending when the stream ends is dropped, never handed
 * over: an event is complete or absent.
 *
 * One event (the line being read plus the event's data and type so far)
 * may hold at most max_event bytes; a longer one, or a comment line that
 * long, fails the stream.  Nothing here prints or knows about HTTP.
 *
 * Ownership: the caller owns the parser (ctl_sse_new .. ctl_sse_free);
 * the parser owns its buffers; an event's strings are the parser's and
 * valid only during the callback.
 */
#ifndef VTOKEN_CTL_SSE_H
#define VTOKEN_CTL_SSE_H

#include <stddef.h>

#define CTL_SSE_MAX_EVENT	((size_t)1 << 20)	/* vtokenctl's cap */

/* One dispatched event; every string is NUL-terminated and borrowed. */
struct ctl_sse_event {
	const char *type;	/* the "event" field; "message" when none */
	const char *data;	/* the data lines joined by '\n' */
	size_t data_len;	/* bytes of data, NUL not counted */
	const char *id;		/* the last event ID so far; "" when none */
};

/*
 * Called once per complete event, in stream order.  Returns 0 to go on,
 * or -1 after setting *cause (allocated, as cause_set() does): the
 * parser then fails and ctl_sse_feed() returns -1 with that cause.
 */
typedef int (*ctl_sse_event_fn)(void *arg, const struct ctl_sse_event *ev,
	    char **cause);

struct ctl_sse;

/*
 * A parser at the start of a stream, handing events to fn(arg, ...);
 * arg is borrowed.  max_event is at least 1.  Free with ctl_sse_free().
 */
struct ctl_sse *ctl_sse_new(size_t max_event, ctl_sse_event_fn fn,
	    void *arg);
/* Frees p and what it buffers; NULL is a no-op. */
void ctl_sse_free(struct ctl_sse *p);
/*
 * Parses n bytes of buf (borrowed) and calls the callback for every
 * event they complete.  Returns 0, or -1 with an allocated reason in
 * *cause (NULL: no reason wanted) when an event passed max_event, memory
 * ran out or the callback failed.  After a failure the parser refuses
 * every further piece.
 */
int ctl_sse_feed(struct ctl_sse *p, const void *buf, size_t n,
	    char **cause);

#endif
